/* Building the compact tree from libyaml's events. */
#include <string.h>

#include "ytree.h"

typedef struct builder {
  hd__ytree *t;
  uint32_t *scratch; /* children of the open collections, in order */
  size_t nscratch, capscratch;
  struct open {
    uint32_t id;
    size_t from; /* its children start at scratch[from] */
  } * open;
  size_t nopen, capopen;
  hd__strmap anchors; /* anchor -> node id */
  const char *text;   /* the document */
  size_t len;
  size_t at;        /* a line's first byte in text (for note_block()) */
  uint32_t at_line; /* and its number, from 0 */
} builder;

/* Arrays of a large document are reserved (hd__big_reserve) for one node
 * per 4 bytes of text, and their pages populated this far ahead of use:
 * a first guess populated at once cost as much as parsing when it was
 * too large, and faulting pages one by one more. */
#define POPULATE_STEP (8u << 20)

/* Grow an array that may have been reserved (*big its count then):
 * within the reservation its pages are populated ahead (*done bytes so
 * far); past it, it moves to the heap and grows there. */
static int grow(void **a, size_t *cap, size_t *big, size_t *done, size_t need,
                size_t elem) {
  if (need <= *cap) {
    if (*big != 0 && need * elem > *done) {
      size_t to = *done + POPULATE_STEP;
      if (to < need * elem)
        to = need * elem;
      if (to > *big * elem)
        to = *big * elem;
      hd__big_populate(*a, *done, to);
      *done = to;
    }
    return HD_OK;
  }
  if (*big == 0)
    return hd__grow(a, cap, need, elem) ? HD_ENOMEM : HD_OK;
  size_t ncap = 2 * *cap > need ? 2 * *cap : need;
  void *p = hd__malloc(ncap * elem);
  if (p == NULL)
    return HD_ENOMEM;
  memcpy(p, *a, *cap * elem);
  hd__big_free(*a, *big, elem);
  *a = p;
  *cap = ncap;
  *big = 0;
  return HD_OK;
}

/* An array reserved for up to most elements, or else one of guess on the
 * heap. */
static void *reserve(size_t *cap, size_t *big, size_t most, size_t guess,
                     size_t elem) {
  void *p = hd__big_reserve(most, elem);
  if (p != NULL) {
    *cap = *big = most;
    return p;
  }
  p = hd__calloc(guess, elem);
  *cap = p != NULL ? guess : 0;
  return p;
}

static int push_u32(uint32_t **a, size_t *n, size_t *cap, uint32_t v) {
  if (hd__grow((void **)a, cap, *n + 1, sizeof(uint32_t)))
    return HD_ENOMEM;
  (*a)[(*n)++] = v;
  return HD_OK;
}

/* A new node, and its place as a child of the open collection (or as the
 * root). */
static int add_node(builder *b, uint8_t type, const yaml_event_t *e,
                    uint32_t *id) {
  hd__ytree *t = b->t;
  if (t->count >= UINT32_MAX - 1)
    return HD_ETOOBIG;
  if (grow((void **)&t->nodes, &t->cap, &t->big_nodes, &t->done_nodes,
           t->count + 1, sizeof(hd__ynode)))
    return HD_ENOMEM;
  hd__ynode *n = &t->nodes[t->count];
  memset(n, 0, sizeof(*n));
  n->type = type;
  n->line = (uint32_t)e->start_mark.line;
  n->column = (uint32_t)e->start_mark.column;
  n->multiline = e->end_mark.line != e->start_mark.line;
  *id = (uint32_t)++t->count;
  return HD_OK;
}

static int add_child(builder *b, uint32_t id) {
  if (b->nopen == 0) {
    b->t->root = id;
    return HD_OK;
  }
  return push_u32(&b->scratch, &b->nscratch, &b->capscratch, id);
}

static int remember_anchor(builder *b, const yaml_char_t *anchor, uint32_t id) {
  if (anchor == NULL)
    return HD_OK;
  return hd__strmap_put(&b->anchors, (const char *)anchor, id);
}

/* The first byte of line (from 0) in b's text, or b->len. Lines are asked
 * for in increasing order: the search goes on from the last. */
static size_t line_start(builder *b, uint32_t line) {
  while (b->at_line < line && b->at < b->len) {
    const char *nl = memchr(b->text + b->at, '\n', b->len - b->at);
    b->at = nl != NULL ? (size_t)(nl - b->text) + 1 : b->len;
    b->at_line++;
  }
  return b->at_line == line ? b->at : b->len;
}

/* Note node id, a literal block scalar made by e, in t->blocks when its
 * value is its lines as written (indented alike: no indentation
 * indicator that cuts into them, no tab), so that a place in the value can
 * be told as a line and column of the file. */
static int note_block(builder *b, uint32_t id, const yaml_event_t *e) {
  const char *s = b->text, *v = (const char *)e->data.scalar.value;
  size_t end = b->len, vlen = e->data.scalar.length;
  size_t q = line_start(b, (uint32_t)e->start_mark.line + 1);
  /* Its indentation: that of its first line that is not blank. */
  size_t indent = SIZE_MAX;
  for (size_t r = q; r < end && indent == SIZE_MAX;) {
    size_t k = 0;
    while (r + k < end && s[r + k] == ' ')
      k++;
    if (r + k < end && s[r + k] != '\n' && s[r + k] != '\r')
      indent = k;
    const char *nl = memchr(s + r, '\n', end - r);
    r = nl != NULL ? (size_t)(nl - s) + 1 : end;
  }
  if (indent == SIZE_MAX || indent > UINT32_MAX)
    return HD_OK;
  for (size_t i = 0; i < vlen;) {
    const char *vnl = memchr(v + i, '\n', vlen - i);
    size_t vl = vnl != NULL ? (size_t)(vnl - v) - i : vlen - i;
    if (q >= end)
      return HD_OK;
    const char *nl = memchr(s + q, '\n', end - q);
    size_t ql = nl != NULL ? (size_t)(nl - s) - q : end - q;
    if (ql > 0 && s[q + ql - 1] == '\r')
      ql--;
    if (vl == 0) {
      for (size_t k = 0; k < ql; k++)
        if (s[q + k] != ' ')
          return HD_OK;
    } else {
      if (ql != indent + vl || memcmp(s + q + indent, v + i, vl) != 0)
        return HD_OK;
      for (size_t k = 0; k < indent; k++)
        if (s[q + k] != ' ')
          return HD_OK;
    }
    i += vl + 1;
    q = nl != NULL ? (size_t)(nl - s) + 1 : end;
  }
  hd__ytree *t = b->t;
  if (hd__grow((void **)&t->blocks, &t->capblocks, t->nblocks + 1,
               sizeof(hd__yblock)))
    return HD_ENOMEM;
  t->blocks[t->nblocks++] =
      (hd__yblock){id, (uint32_t)e->start_mark.line + 1, (uint32_t)indent};
  return HD_OK;
}

const hd__yblock *hd__ytree_block(const hd__ytree *t, uint32_t id) {
  size_t lo = 0, hi = t->nblocks;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (t->blocks[mid].id < id)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < t->nblocks && t->blocks[lo].id == id ? &t->blocks[lo] : NULL;
}

static int on_scalar(builder *b, const yaml_event_t *e) {
  hd__ytree *t = b->t;
  uint32_t id;
  size_t len = e->data.scalar.length;
  int rc = add_node(b, YAML_SCALAR_NODE, e, &id);
  if (rc == HD_OK && grow((void **)&t->text, &t->captext, &t->big_text,
                          &t->done_text, t->len + len + 1, 1))
    rc = HD_ENOMEM;
  if (rc != HD_OK)
    return rc;
  hd__ynode *n = &t->nodes[id - 1];
  n->style = (uint8_t)e->data.scalar.style;
  n->verbatim = (n->style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                 n->style == YAML_DOUBLE_QUOTED_SCALAR_STYLE) &&
                e->end_mark.index - e->start_mark.index == len + 2;
  n->first = (uint32_t)t->len; /* an offset until the text stops moving */
  n->count = (uint32_t)len;
  memcpy(t->text + t->len, e->data.scalar.value, len);
  t->text[t->len + len] = '\0';
  t->len += len + 1;
  if ((rc = remember_anchor(b, e->data.scalar.anchor, id)) != HD_OK)
    return rc;
  if (n->style == YAML_LITERAL_SCALAR_STYLE && n->multiline &&
      (rc = note_block(b, id, e)) != HD_OK)
    return rc;
  return add_child(b, id);
}

static int on_start(builder *b, const yaml_event_t *e, uint8_t type,
                    const yaml_char_t *anchor) {
  uint32_t id;
  int rc = add_node(b, type, e, &id);
  if (rc == HD_OK)
    rc = remember_anchor(b, anchor, id);
  if (rc == HD_OK)
    rc = add_child(b, id);
  if (rc == HD_OK &&
      hd__grow((void **)&b->open, &b->capopen, b->nopen + 1, sizeof(*b->open)))
    rc = HD_ENOMEM;
  if (rc == HD_OK)
    b->open[b->nopen++] = (struct open){id, b->nscratch};
  return rc;
}

static int on_end(builder *b, const yaml_event_t *e) {
  hd__ytree *t = b->t;
  struct open o = b->open[--b->nopen];
  size_t n = b->nscratch - o.from;
  if (grow((void **)&t->kids, &t->capkids, &t->big_kids, &t->done_kids,
           t->nkids + n + 1, sizeof(uint32_t)))
    return HD_ENOMEM;
  hd__ynode *node = &t->nodes[o.id - 1];
  node->first = (uint32_t)t->nkids;
  node->count = (uint32_t)(node->type == YAML_MAPPING_NODE ? n / 2 : n);
  node->multiline = e->end_mark.line != node->line;
  memcpy(t->kids + t->nkids, b->scratch + o.from, n * sizeof(uint32_t));
  t->nkids += n;
  b->nscratch = o.from;
  return HD_OK;
}

static void set_error(hd__yerror *err, const yaml_parser_t *p) {
  err->problem = p->problem;
  err->context = p->context;
  err->problem_mark = p->problem_mark;
  err->context_mark = p->context_mark;
  err->nomem = p->error == YAML_MEMORY_ERROR;
  err->reader = p->error == YAML_READER_ERROR;
  err->offset = p->problem_offset;
}

int hd__ytree_parse(hd__ytree *t, const char *text, size_t len,
                    hd__yerror *err) {
  memset(t, 0, sizeof(*t));
  memset(err, 0, sizeof(*err));
  t->extra_line = t->extra_column = -1;
  builder b;
  memset(&b, 0, sizeof(b));
  b.t = t;
  b.text = text;
  b.len = len;
  /* Room for a typical document (about a node per 8 bytes of text) on the
     heap, or for one per 4 bytes reserved in address space. */
  size_t guess = len / 8 + 16, most = len / 4 + 16;
  t->nodes = reserve(&t->cap, &t->big_nodes, most, guess, sizeof(hd__ynode));
  t->kids = reserve(&t->capkids, &t->big_kids, most, guess, sizeof(uint32_t));
  t->text = reserve(&t->captext, &t->big_text, len + 16, len / 2 + 16, 1);
  if (t->nodes == NULL || t->kids == NULL || t->text == NULL) {
    hd__ytree_free(t);
    return HD_ENOMEM;
  }
  yaml_parser_t p;
  if (!yaml_parser_initialize(&p))
    return HD_ENOMEM;
  yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
  int rc = HD_OK, docs = 0, done = 0;
  while (rc == HD_OK && !done) {
    yaml_event_t e;
    if (!yaml_parser_parse(&p, &e)) {
      set_error(err, &p);
      rc = err->nomem ? HD_ENOMEM : HD_ESYNTAX;
      break;
    }
    switch (e.type) {
    case YAML_STREAM_END_EVENT:
      done = 1;
      break;
    case YAML_DOCUMENT_START_EVENT:
      if (++docs > 1) {
        /* One document per file: note where the second starts, and stop
           (unless it is empty, which is harmless). */
        yaml_event_t next;
        if (yaml_parser_parse(&p, &next)) {
          if (next.type != YAML_DOCUMENT_END_EVENT) {
            t->extra_line = (int)next.start_mark.line;
            t->extra_column = (int)next.start_mark.column;
          }
          yaml_event_delete(&next);
        }
        done = 1;
      }
      break;
    case YAML_SCALAR_EVENT:
      if (memchr(e.data.scalar.value, '\0', e.data.scalar.length) != NULL) {
        /* The tree's strings end at a NUL: what follows it would be lost
           without a word (a command cut short, two names made one). */
        err->problem = "a string holds a NUL character (\\0), which hodos "
                       "cannot pass on";
        err->context = NULL;
        err->problem_mark = e.start_mark;
        rc = HD_ESYNTAX;
      } else {
        rc = on_scalar(&b, &e);
      }
      break;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
      if (b.nopen >= HD__YAML_MAX_DEPTH) {
        /* libyaml's time per token grows with the depth: a file of a
           hundred thousand '[' took minutes. */
        _Static_assert(HD__YAML_MAX_DEPTH == 1000, "the message says 1000");
        err->problem = "collections are nested more than 1000 deep";
        err->problem_mark = e.start_mark;
        rc = HD_ESYNTAX;
      } else if (e.type == YAML_SEQUENCE_START_EVENT) {
        rc = on_start(&b, &e, YAML_SEQUENCE_NODE, e.data.sequence_start.anchor);
      } else {
        rc = on_start(&b, &e, YAML_MAPPING_NODE, e.data.mapping_start.anchor);
      }
      break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
      rc = on_end(&b, &e);
      break;
    case YAML_ALIAS_EVENT: {
      size_t id;
      if (!hd__strmap_get(&b.anchors, (const char *)e.data.alias.anchor, &id)) {
        err->problem = "found an alias to an anchor that is not defined";
        err->context = NULL;
        err->problem_mark = e.start_mark;
        rc = HD_ESYNTAX;
      } else {
        rc = add_child(&b, (uint32_t)id);
      }
      break;
    }
    default:
      break;
    }
    yaml_event_delete(&e);
  }
  yaml_parser_delete(&p);
  hd__free(b.scratch);
  hd__free(b.open);
  hd__strmap_cleanup(&b.anchors);
  if (rc != HD_OK) {
    hd__ytree_free(t);
    t->extra_line = t->extra_column = -1;
    return rc;
  }
  for (size_t i = 0; i < t->count; i++)
    if (t->nodes[i].type == YAML_SCALAR_NODE) {
      uint32_t off = t->nodes[i].first;
      t->nodes[i].value = t->text + off;
    }
  return HD_OK;
}

void hd__ytree_free(hd__ytree *t) {
  if (t->big_nodes)
    hd__big_free(t->nodes, t->big_nodes, sizeof(hd__ynode));
  else
    hd__free(t->nodes);
  if (t->big_kids)
    hd__big_free(t->kids, t->big_kids, sizeof(uint32_t));
  else
    hd__free(t->kids);
  if (t->big_text)
    hd__big_free(t->text, t->big_text, 1);
  else
    hd__free(t->text);
  hd__free(t->blocks);
  memset(t, 0, sizeof(*t));
}
