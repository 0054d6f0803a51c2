/* A plugin: a shared library of task functions that a workflow loads with
 * `plugins:`. When hodos loads it, it calls hodos_plugin_init(), which
 * registers the functions by name; tasks then call them with `fn:`.
 *
 *   wc_total  the number of words in the task's inputs, as an integer
 *   wc_word   how often the param `word` occurs in the inputs (letters
 *             only, case ignored), as the text "WORD COUNT\n"
 *
 * The build makes it as build/examples/libhodos_wordcount.so; outside the
 * build tree:
 *
 *   cc -std=c11 -shared -fPIC -o libhodos_wordcount.so wordcount.c \
 *      $(pkg-config --cflags --libs hodos)
 *   HODOS_PLUGIN_PATH=$PWD hodos run plugin.yaml */
#include <hodos/hodos.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The entry point hodos looks for. It is not static: the library must
 * export it. */
int hodos_plugin_init(void);

static int is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}

static int is_letter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char lower(char c) {
  return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* The content of input i, which must be text or bytes: an integer input
 * holds no words to count. A dependency that failed with allow_failure
 * passes no value, read here as no text. */
static int input_text(hd_task *t, size_t i, const char **data, size_t *len) {
  hd_value *v = hd_task_input(t, i);
  *data = "";
  *len = 0;
  if (v == NULL)
    return HD_OK;
  hd_value_kind kind = hd_value_kind_of(v);
  if (kind != HD_VALUE_TEXT && kind != HD_VALUE_BYTES)
    return hd_task_fail(t, "input %zu is %s, not text", i,
                        hd_value_kind_name(kind));
  *data = hd_value_data(v);
  *len = hd_value_size(v);
  return HD_OK;
}

/* Words are runs of characters other than white space. */
static int wc_total(hd_task *t, void *data) {
  (void)data;
  int64_t words = 0;
  for (size_t i = 0; i < hd_task_input_count(t); i++) {
    const char *p;
    size_t len;
    int rc = input_text(t, i, &p, &len);
    if (rc != HD_OK)
      return rc;
    int in_word = 0;
    for (size_t k = 0; k < len; k++) {
      int space = is_space(p[k]);
      words += !space && !in_word;
      in_word = !space;
    }
  }
  hd_value *out;
  int rc = hd_value_new_int(words, &out);
  return rc != HD_OK ? rc : hd_task_set_output(t, out);
}

/* Here a word is a run of ASCII letters, so "river," and "River" both
 * count as "river". */
static int wc_word(hd_task *t, void *data) {
  (void)data;
  const char *word = hd_task_param(t, "word");
  if (word == NULL)
    return hd_task_fail(t, "the param 'word' is missing");
  size_t wlen = strlen(word);
  if (wlen == 0 || wlen > 64)
    return hd_task_fail(t, "the param 'word' must have 1 to 64 letters");
  for (size_t i = 0; i < wlen; i++)
    if (!is_letter(word[i]))
      return hd_task_fail(t, "the param 'word' must be letters only: '%s'",
                          word);
  int64_t count = 0;
  for (size_t i = 0; i < hd_task_input_count(t); i++) {
    const char *p;
    size_t len;
    int rc = input_text(t, i, &p, &len);
    if (rc != HD_OK)
      return rc;
    size_t k = 0;
    while (k < len) {
      if (!is_letter(p[k])) {
        k++;
        continue;
      }
      size_t start = k;
      while (k < len && is_letter(p[k]))
        k++;
      if (k - start != wlen)
        continue;
      size_t j = 0;
      while (j < wlen && lower(p[start + j]) == lower(word[j]))
        j++;
      count += j == wlen;
    }
  }
  /* 64 letters, a space, up to 20 digits, a newline. */
  char line[96];
  int n = snprintf(line, sizeof(line), "%s %lld\n", word, (long long)count);
  hd_value *out;
  int rc = hd_value_new_text(line, (size_t)n, &out);
  return rc != HD_OK ? rc : hd_task_set_output(t, out);
}

/* Register both functions or neither. A nonzero return makes loading the
 * workflow fail. */
int hodos_plugin_init(void) {
  int rc = hd_fn_register("wc_total", wc_total, NULL);
  if (rc != HD_OK)
    return rc;
  rc = hd_fn_register("wc_word", wc_word, NULL);
  if (rc != HD_OK)
    goto fail;
  return HD_OK;
fail:
  hd_fn_unregister("wc_total");
  return rc;
}
