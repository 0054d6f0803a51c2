/* A plugin for the ssh tests: `hang` never returns by itself, as a
 * function stuck in a loop or a system call would. Only ending its
 * process stops it. */
#include <hodos/hodos.h>
#include <unistd.h>

int hodos_plugin_init(void);

static int hang(hd_task *t, void *data) {
  (void)t;
  (void)data;
  for (;;)
    pause();
  return HD_OK;
}

int hodos_plugin_init(void) { return hd_fn_register("hang", hang, NULL); }
