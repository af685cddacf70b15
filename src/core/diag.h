/* Problems found while validating a document (the configuration, the action catalog, the gate
 * policy, gate test cases), each named "file:line: path: message", and the "did you mean"
 * suggestions for unknown keys. The validators decide where a path was written (which file,
 * which line); this module formats, collects and counts. */
#ifndef FS_DIAG_H
#define FS_DIAG_H

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

struct fs_yaml_doc;

struct fs_diag {
    struct fs_buf *out;   /* every problem, one line each; may be NULL */
    struct fs_err *err;   /* the first problem (err.path = "file:line"); may be NULL */
    enum fs_errcode code; /* what a problem is, e.g. FS_E_CONFIG */
    int problems;         /* counted so far, including any the caller counts itself */
};

/* Report one problem at path ("" is written "(top level)") of file, line (0 or less: the file
 * alone is named). The first problem fills err with d->code. Returns -d->code. */
int fs_diag_vreport(struct fs_diag *d, const char *file, int line, const char *path,
                    const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));
/* The same with the message formatted already; fs_diag_vreport cuts it to 399 bytes, this
 * does not. */
int fs_diag_put(struct fs_diag *d, const char *file, int line, const char *path, const char *msg);

/* The line of path in doc or, when a missing key has no line of its own, of its nearest
 * ancestor that has one. to_root: the document itself is the last ancestor; otherwise a
 * top-level key is (an empty path still names the document). 0 when none is known. */
int fs_diag_line(const struct fs_yaml_doc *doc, const char *path, bool to_root);

/* Report a problem at path of doc, at the line of path or of its nearest known ancestor (the
 * document itself last): the rule of loaders whose every key lives in one document. */
int fs_diag_at(struct fs_diag *d, const struct fs_yaml_doc *doc, const char *path, const char *fmt,
               ...) __attribute__((format(printf, 4, 5)));

/* Every key of obj (an object at path of doc) that is not in allowed (NULL-terminated) is a
 * problem: "unknown key (did you mean X?)" when one is close, else "unknown key (known: a, b,
 * c)". Returns how many there were. */
int fs_diag_unknown_keys(struct fs_diag *d, const struct fs_yaml_doc *doc, const json_t *obj,
                         const char *path, const char *const *allowed);

/* "a, b, c" from a NULL-terminated list, cut to size. */
void fs_diag_join(char *out, size_t size, const char *const *list);

/* Levenshtein distance between a and b; 99 when either is longer than 63 bytes. */
size_t fs_edit_distance(const char *a, const char *b);

/* "Did you mean": offer every candidate; the first of the closest ones is suggested when it is
 * fewer than `below` edits away from word. */
struct fs_suggest {
    const char *word;
    size_t dist; /* a candidate must come closer than this */
    bool found;
    char best[128];
};

void fs_suggest_init(struct fs_suggest *s, const char *word, size_t below);
void fs_suggest_offer(struct fs_suggest *s, const char *cand, size_t len); /* cand[0..len) */
const char *fs_suggest_best(const struct fs_suggest *s);                   /* NULL: none */

#endif
