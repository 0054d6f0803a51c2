/* Templates: strings with placeholders in braces, shared by the plan
 * (params, files) and by shell tasks at run time ({after.TASK}).
 *
 *   {name}        a param          {name:raw}   the same, never quoted
 *   {inputs}      every input      {inputs.N}   the N-th (from 0)
 *   {outputs}     every output     {outputs.N}  the N-th
 *   {after.TASK}  the file holding that upstream task's result
 *
 * {{ and }} are literal braces; ${...} belongs to the shell and is left
 * alone, as is any brace that does not enclose a placeholder (awk's
 * '{print $1}', a shell group { a; b; }, brace expansion {a,b}). */
#ifndef HODOS_CORE_TEMPLATE_H
#define HODOS_CORE_TEMPLATE_H

#include "internal.h"

typedef enum hd__ph_kind {
  HD__PH_PARAM = 1,
  HD__PH_INPUTS,
  HD__PH_OUTPUTS,
  HD__PH_AFTER,
  HD__PH_BAD, /* shaped like a placeholder, but none we know */
} hd__ph_kind;

typedef struct hd__ph {
  hd__ph_kind kind;
  const char *name; /* the param, the task of after.TASK, or the whole */
  size_t len;
  long index;      /* N of inputs.N and outputs.N; -1 for all */
  int raw;         /* :raw */
  const char *mod; /* a modifier other than raw, or NULL */
  size_t modlen;
  size_t start, end; /* offsets of '{' and just past '}' */
} hd__ph;

/* Call cb for each placeholder of s, in order. Stops and returns the first
 * nonzero value cb returns. */
HD__INTERNAL int hd__template_each(const char *s,
                                   int (*cb)(const hd__ph *ph, void *ctx),
                                   void *ctx);

/* Append v to b as one shell word, quoted when it needs to be. */
HD__INTERNAL int hd__shell_quote(hd__buf *b, const char *v);

/* How a value is put in: quoted for the shell (unless the placeholder is
 * raw), and with its braces doubled when the result is a template again. */
typedef struct hd__tput {
  int quote;
  int escape;
} hd__tput;

/* Append v to b as a placeholder's value. */
HD__INTERNAL int hd__template_put(hd__buf *b, const char *v, const hd__ph *ph,
                                  const hd__tput *how);

/* Append the value of ph to b (with hd__template_put()); returns HD_OK,
 * HD_ENOENT (no such value) or HD_ENOMEM. */
typedef int (*hd__ph_value)(hd__buf *b, const hd__ph *ph, const hd__tput *how,
                            void *ctx);

/* Append s to b with its placeholders replaced. quote: values are quoted
 * for the shell. keep_after: {after.TASK} is kept as written and the
 * result is itself a template (literal braces stay doubled), to be
 * rendered again when the task runs. Returns HD_OK, HD_ENOENT or
 * HD_ENOMEM. */
HD__INTERNAL int hd__template_render(hd__buf *b, const char *s, int quote,
                                     int keep_after, hd__ph_value value,
                                     void *ctx);

/* Whether s holds an {after.TASK} placeholder. */
HD__INTERNAL int hd__template_has_after(const char *s);

/* The name an output file is written under until its task succeeds:
 * DIR/.hodos-part.BASE for DIR/BASE (the extension kept, for tools that
 * go by it; the folder kept, so that the rename is atomic). Appended to
 * b. */
HD__INTERNAL int hd__staged_path(hd__buf *b, const char *path);

#endif
