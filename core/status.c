/* Looking into a store: what a run would reuse and why the rest would
 * run (hd_plan_status), and cleaning it (hd_store_clean). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cachekey.h"
#include "run.h"

struct hd_status {
  hd__plan *plan; /* a reference */
  uint8_t *up;    /* per task */
  char **reason;  /* per task, or NULL */
  size_t nup;
  char *message;
};

static void set_reason(hd_status *st, uint32_t i, const char *fmt, ...)
    HD_PRINTF(3, 4);
static void set_reason(hd_status *st, uint32_t i, const char *fmt, ...) {
  hd__buf b = {0};
  va_list ap;
  va_start(ap, fmt);
  hd__buf_vappendf(&b, fmt, ap);
  va_end(ap);
  hd__free(st->reason[i]);
  st->reason[i] = b.data;
}

/* Why a task whose key has no kept result would run, told from the last
 * run's journal entry of the same name. */
static void explain(hd_status *st, hd__store *s, uint32_t i, hd__key key,
                    const hd__keyparts *now) {
  const hd__plan *p = st->plan;
  const char *name = hd__plan_name(p, i);
  hd__key last;
  hd__keyparts was;
  int found = s != NULL ? hd__store_last(s, name, &last, &was) : 0;
  if (found == 0) {
    set_reason(st, i,
               "no result is kept (the last run did not finish it, or could "
               "not keep it)");
    return;
  }
  if (last.lo == key.lo && last.hi == key.hi) {
    set_reason(st, i, "its kept result is gone (cleaned or damaged)");
    return;
  }
  if (found == 1 || was.def != now->def) {
    set_reason(st, i,
               "its definition changed (command, params, env or files named)");
    return;
  }
  const hd__pio *io = hd__plan_io(p, i);
  if (was.nfiles == now->nfiles)
    for (uint32_t k = 0; k < now->nfiles; k++)
      if (was.files[k] != now->files[k]) {
        set_reason(st, i, "input file '%s' changed",
                   hd__plan_list(p, io->inputs, k));
        return;
      }
  if (was.values != now->values) {
    set_reason(st, i, "its input from the tasks it runs after changed");
    return;
  }
  set_reason(st, i, "no result is kept for it");
}

/* Task i, whose predecessors are up to date with the value hashes in
 * vh: up to date, or why not. *vout receives its own value's hash. */
static int look(hd_status *st, hd__store *s, uint32_t i, const hd__key *vh,
                hd__key *vout) {
  const hd__plan *p = st->plan;
  hd__preds it;
  uint32_t n = hd__preds_begin(p, i, &it);
  hd__key small[8] = {{0, 0}};
  hd__key *in = n <= 8 ? small : hd__calloc(n, sizeof(hd__key));
  if (in == NULL)
    return HD_ENOMEM;
  for (uint32_t k = 0; k < n; k++)
    in[k] = vh[hd__preds_next(&it)];
  hd__key key;
  hd__keyparts parts = {0};
  hd__buf why = {0};
  int rc = hd__task_key(p, i, in, n, &key, &parts, &why);
  if (in != small)
    hd__free(in);
  if (rc == HD_EIO) {
    set_reason(st, i, "%s", why.data ? why.data : "an input file is missing");
    rc = HD_OK;
    goto done;
  }
  if (rc != HD_OK)
    goto done;
  if (!hd__plan_settings(p, i)->cache) {
    set_reason(st, i, "its cache is off (cache: false)");
    goto done;
  }
  if (s == NULL) {
    set_reason(st, i, "nothing is kept yet");
    goto done;
  }
  const hd__pio *io = hd__plan_io(p, i);
  uint32_t want = io != NULL ? io->noutputs : 0;
  hd__key *outs = hd__calloc((size_t)want + 1, sizeof(hd__key));
  hd_value *v = NULL;
  uint32_t nout = 0;
  int got =
      outs != NULL ? hd__store_get(s, key, &v, outs, want, &nout) : HD_ENOMEM;
  if (got == HD_OK && nout == want) {
    hd__buf changed = {0};
    int orc = hd__outputs_check(p, i, outs, &changed);
    if (orc == HD_OK) {
      st->up[i] = 1;
      st->nup++;
      *vout = hd__key_value(v);
    } else if (orc == HD_ETASK) {
      set_reason(st, i, "%s", changed.data);
    } else {
      rc = orc;
    }
    hd__buf_cleanup(&changed);
  } else if (got == HD_ECHECKSUM || got == HD_ECORRUPT) {
    set_reason(st, i, "its kept result is damaged (%s)", hd_strerror(got));
  } else if (got == HD_ENOENT) {
    explain(st, s, i, key, &parts);
  } else if (got == HD_OK) {
    set_reason(st, i, "its outputs changed");
  } else {
    rc = got;
  }
  if (v != NULL)
    hd_value_unref(v);
  hd__free(outs);
done:
  hd__free(parts.files);
  hd__buf_cleanup(&why);
  return rc;
}

int hd_plan_status(hd_plan *p, const char *store, hd_status **out) {
  if (out != NULL)
    *out = NULL;
  if (p == NULL || store == NULL || out == NULL)
    return HD_EINVAL;
  hd_status *st = hd__calloc(1, sizeof(*st));
  if (st == NULL)
    return HD_ENOMEM;
  st->plan = hd__plan_ref(p);
  st->up = hd__calloc(p->count + 1, 1);
  st->reason = hd__calloc(p->count + 1, sizeof(char *));
  hd__key *vh = hd__calloc(p->count + 1, sizeof(hd__key));
  *out = st;
  if (st->up == NULL || st->reason == NULL || vh == NULL) {
    hd__free(vh);
    return HD_ENOMEM;
  }
  hd__store *s = NULL;
  char *message = NULL;
  int rc = hd__store_open(store, HD__STORE_READ, &s, &message);
  if (rc == HD_ENOENT) {
    hd__free(message);
    message = NULL;
    rc = HD_OK; /* nothing kept yet */
  }
  if (rc != HD_OK) {
    st->message = message;
    hd__free(vh);
    return rc;
  }
  for (size_t k = 0; k < p->count && rc == HD_OK; k++) {
    uint32_t i = p->order[k];
    uint32_t blocked = UINT32_MAX;
    hd__preds it;
    for (hd__preds_begin(p, i, &it); it.left > 0;) {
      uint32_t u = hd__preds_next(&it);
      if (!st->up[u]) {
        blocked = u;
        break;
      }
    }
    if (blocked != UINT32_MAX)
      set_reason(st, i, "it runs after '%s', which runs",
                 hd__plan_name(p, blocked));
    else
      rc = look(st, s, i, vh, &vh[i]);
  }
  hd__store_close(s);
  hd__free(vh);
  if (rc != HD_OK && st->message == NULL)
    st->message = hd__strdup(hd_strerror(rc));
  return rc;
}

size_t hd_status_count(const hd_status *s) {
  return s != NULL && s->plan != NULL ? s->plan->count : 0;
}

size_t hd_status_up_to_date(const hd_status *s) { return s ? s->nup : 0; }

const char *hd_status_message(const hd_status *s) {
  return s ? s->message : NULL;
}

int hd_status_task(const hd_status *s, size_t i, hd_task_status *out) {
  if (s == NULL || out == NULL || i >= hd_status_count(s))
    return HD_EINVAL;
  out->name = hd__plan_name(s->plan, i);
  out->up_to_date = s->up[i];
  out->reason = s->reason[i];
  return HD_OK;
}

void hd_status_free(hd_status *s) {
  if (s == NULL)
    return;
  for (size_t i = 0; s->reason != NULL && i < hd_status_count(s); i++)
    hd__free(s->reason[i]);
  hd__free(s->reason);
  hd__free(s->up);
  hd__free(s->message);
  if (s->plan != NULL)
    hd__plan_free(s->plan);
  hd__free(s);
}

/* ---- cleaning ---- */

int hd_store_clean(const char *store, uint64_t max_bytes,
                   hd_clean_result *out) {
  if (store == NULL || out == NULL)
    return HD_EINVAL;
  memset(out, 0, sizeof(*out));
  struct stat sb;
  if (stat(store, &sb) != 0) {
    snprintf(out->message, sizeof(out->message), "no store at %s: %s", store,
             strerror(errno));
    return errno == ENOENT || errno == ENOTDIR ? HD_ENOENT : HD_EIO;
  }
  hd__store *s = NULL;
  char *message = NULL;
  int rc = hd__store_open(store, HD__STORE_CLEAN, &s, &message);
  if (rc == HD_OK)
    rc = hd__store_compact(s, max_bytes, &out->kept, &out->removed,
                           &out->kept_bytes, &out->freed_bytes, &message);
  if (message != NULL)
    snprintf(out->message, sizeof(out->message), "%s", message);
  hd__free(message);
  hd__store_close(s);
  return rc;
}
