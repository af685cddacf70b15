/* YAML (libyaml) to JSON values, keeping the source line of every node so that errors found
 * later (by config, catalog or policy validation) can name file, line and key.
 *
 * Scalars follow the YAML 1.2 core schema: plain true/false, null/~, integers and floats become
 * JSON booleans, null and numbers; anything quoted, and every other plain scalar, is a string.
 * Anchors and aliases are refused (no entity-expansion tricks), as are duplicate keys,
 * non-scalar keys and more than one document. */
#ifndef FS_YAML_H
#define FS_YAML_H

#include <jansson.h>

#include "core/err.h"

struct fs_yaml_doc {
    json_t *root;   /* the document (NULL for an empty file) */
    json_t *lines;  /* object: JSON path ("server.listen", "alerts[0]") -> line number */
    char name[256]; /* file name used in messages */
};

/* Parse len bytes. name is used in messages ("forestall.yaml:12: ..."). On failure err.path is
 * "name:line" and the message says what is wrong. */
int fs_yaml_parse(const char *buf, size_t len, const char *name, struct fs_yaml_doc *doc,
                  struct fs_err *err);
int fs_yaml_load_file(const char *file, struct fs_yaml_doc *doc, struct fs_err *err);
void fs_yaml_doc_release(struct fs_yaml_doc *doc);
/* Line of a JSON path in the document, or 0 when unknown. */
int fs_yaml_line(const struct fs_yaml_doc *doc, const char *path);

#endif
