/* yaml: libyaml's event stream folded into jansson values, with a path->line side table.
 * Bounded: nesting depth and document size are capped because configuration files may come
 * from places an operator does not fully control (ConfigMaps, generated files). */
#include "core/common.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <yaml.h>

#include "core/json.h"
#include "core/yaml.h"

#define YAML_MAX_DEPTH 64
#define YAML_MAX_BYTES (16u << 20)

struct yctx {
    yaml_parser_t parser;
    struct fs_yaml_doc *doc;
    struct fs_err *err;
    int depth;
};

static int yerr(struct yctx *c, size_t line, const char *fmt, const char *detail)
{
    char where[300];
    snprintf(where, sizeof(where), "%s:%zu", c->doc->name, line);
    return fs_err_set(c->err, FS_E_CONFIG, where, "%s:%zu: %s%s", c->doc->name, line, fmt,
                      detail ? detail : "");
}

static int next_event(struct yctx *c, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&c->parser, ev)) {
        char where[300];
        size_t line = c->parser.problem_mark.line + 1;
        snprintf(where, sizeof(where), "%s:%zu", c->doc->name, line);
        return fs_err_set(c->err, FS_E_CONFIG, where, "%s:%zu: YAML syntax error: %s%s%s",
                          c->doc->name, line, c->parser.problem ? c->parser.problem : "unknown",
                          c->parser.context ? " " : "", c->parser.context ? c->parser.context : "");
    }
    return 0;
}

static json_t *scalar_value(const yaml_event_t *ev)
{
    const char *s = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || ev->data.scalar.tag)
        return json_stringn(s, len);
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
        return json_true();
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
        return json_false();
    if (!strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL") || !strcmp(s, "~") ||
        len == 0)
        return json_null();
    /* integers: [-+]?[0-9]+ */
    const char *p = s;
    if (*p == '-' || *p == '+')
        p++;
    if (*p) {
        const char *q = p;
        while (*q >= '0' && *q <= '9')
            q++;
        if (!*q) {
            errno = 0;
            long long v = strtoll(s, NULL, 10);
            if (errno == 0)
                return json_integer(v);
            return json_stringn(s, len);
        }
        /* floats: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
        char *end = NULL;
        bool has_digit = false;
        for (q = p; *q; q++)
            if (*q >= '0' && *q <= '9')
                has_digit = true;
        if (has_digit && (*p == '.' || (*p >= '0' && *p <= '9'))) {
            errno = 0;
            double d = strtod(s, &end);
            if (end && !*end && errno == 0 && isfinite(d))
                return json_real(d);
        }
    }
    return json_stringn(s, len);
}

static int set_line(struct yctx *c, const char *path, size_t line)
{
    if (json_object_set_new(c->doc->lines, path, json_integer((json_int_t)line)) < 0)
        return fs_err_set(c->err, FS_E_NOMEM, NULL, NULL);
    return 0;
}

/* Build the node whose first event is ev (consumed). */
static int build_node(struct yctx *c, yaml_event_t *ev, const char *path, json_t **out)
{
    int rc = 0;
    size_t line = ev->start_mark.line + 1;
    *out = NULL;
    if ((rc = set_line(c, path, line)) < 0)
        return rc;
    switch (ev->type) {
    case YAML_ALIAS_EVENT: return yerr(c, line, "aliases (*name) are not supported", NULL);
    case YAML_SCALAR_EVENT:
        if (ev->data.scalar.anchor)
            return yerr(c, line, "anchors (&name) are not supported", NULL);
        if (!(*out = scalar_value(ev)))
            return fs_err_set(c->err, FS_E_INVALID, NULL, "%s:%zu: invalid string", c->doc->name,
                              line);
        return 0;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        bool map = ev->type == YAML_MAPPING_START_EVENT;
        if ((map && ev->data.mapping_start.anchor) || (!map && ev->data.sequence_start.anchor))
            return yerr(c, line, "anchors (&name) are not supported", NULL);
        if (++c->depth > YAML_MAX_DEPTH)
            return yerr(c, line, "nesting too deep", NULL);
        json_t *node = map ? json_object() : json_array();
        if (!node)
            return fs_err_set(c->err, FS_E_NOMEM, NULL, NULL);
        for (size_t idx = 0;; idx++) {
            yaml_event_t e;
            if ((rc = next_event(c, &e)) < 0)
                break;
            if (e.type == YAML_SEQUENCE_END_EVENT || e.type == YAML_MAPPING_END_EVENT) {
                yaml_event_delete(&e);
                break;
            }
            char child[512];
            if (map) {
                size_t kline = e.start_mark.line + 1;
                if (e.type != YAML_SCALAR_EVENT) {
                    yaml_event_delete(&e);
                    rc = yerr(c, kline, "mapping keys must be plain strings", NULL);
                    break;
                }
                char *key = fs_strndup((const char *)e.data.scalar.value, e.data.scalar.length);
                yaml_event_delete(&e);
                if (!key) {
                    rc = fs_err_set(c->err, FS_E_NOMEM, NULL, NULL);
                    break;
                }
                fs_jpath_key(child, sizeof(child), path, key);
                if (json_object_get(node, key)) {
                    char msg[300];
                    snprintf(msg, sizeof(msg), "%s: duplicate key", child);
                    rc = yerr(c, kline, msg, NULL);
                    free(key);
                    break;
                }
                yaml_event_t ve;
                if ((rc = next_event(c, &ve)) < 0) {
                    free(key);
                    break;
                }
                json_t *val = NULL;
                rc = build_node(c, &ve, child, &val);
                yaml_event_delete(&ve);
                if (rc == 0) {
                    /* the key's own line is the one people look for */
                    set_line(c, child, kline);
                    if (json_object_set_new(node, key, val) < 0)
                        rc = fs_err_set(c->err, FS_E_INVALID, NULL,
                                        "%s:%zu: key is not valid UTF-8", c->doc->name, kline);
                }
                free(key);
                if (rc < 0)
                    break;
            } else {
                fs_jpath_index(child, sizeof(child), path, idx);
                json_t *val = NULL;
                rc = build_node(c, &e, child, &val);
                yaml_event_delete(&e);
                if (rc < 0)
                    break;
                json_array_append_new(node, val);
            }
        }
        c->depth--;
        if (rc < 0) {
            json_decref(node);
            return rc;
        }
        *out = node;
        return 0;
    }
    default: return yerr(c, line, "unexpected YAML event", NULL);
    }
}

int fs_yaml_parse(const char *buf, size_t len, const char *name, struct fs_yaml_doc *doc,
                  struct fs_err *err)
{
    memset(doc, 0, sizeof(*doc));
    snprintf(doc->name, sizeof(doc->name), "%s", name ? name : "<input>");
    if (len > YAML_MAX_BYTES)
        return fs_err_set(err, FS_E_TOO_LARGE, doc->name, "%s: file larger than %u bytes",
                          doc->name, YAML_MAX_BYTES);
    if (!(doc->lines = json_object()))
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    struct yctx c = {.doc = doc, .err = err};
    if (!yaml_parser_initialize(&c.parser))
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    yaml_parser_set_input_string(&c.parser, (const unsigned char *)buf, len);
    int rc = 0, docs = 0;
    for (;;) {
        yaml_event_t ev;
        if ((rc = next_event(&c, &ev)) < 0)
            break;
        yaml_event_type_t t = ev.type;
        if (t == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (t == YAML_DOCUMENT_START_EVENT && ++docs > 1) {
            rc = yerr(&c, ev.start_mark.line + 1, "only one YAML document is allowed", NULL);
            yaml_event_delete(&ev);
            break;
        }
        if (t == YAML_SCALAR_EVENT || t == YAML_SEQUENCE_START_EVENT ||
            t == YAML_MAPPING_START_EVENT || t == YAML_ALIAS_EVENT) {
            rc = build_node(&c, &ev, "", &doc->root);
        }
        yaml_event_delete(&ev);
        if (rc < 0)
            break;
    }
    yaml_parser_delete(&c.parser);
    if (rc < 0)
        fs_yaml_doc_release(doc);
    return rc;
}

int fs_yaml_load_file(const char *file, struct fs_yaml_doc *doc, struct fs_err *err)
{
    memset(doc, 0, sizeof(*doc));
    FILE *f = fopen(file, "rb");
    if (!f)
        return fs_err_set(err, FS_E_IO, file, "%s: cannot open: %s", file, strerror(errno));
    char *data = NULL;
    size_t len = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (len + 65536 > cap) {
            cap = cap ? cap * 2 : 65536;
            if (cap > YAML_MAX_BYTES + 65536u) {
                rc = fs_err_set(err, FS_E_TOO_LARGE, file, "%s: file larger than %u bytes", file,
                                YAML_MAX_BYTES);
                break;
            }
            char *p = fs_realloc(data, cap);
            if (!p) {
                rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
                break;
            }
            data = p;
        }
        size_t n = fread(data + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            if (ferror(f))
                rc = fs_err_set(err, FS_E_IO, file, "%s: read error", file);
            break;
        }
    }
    fclose(f);
    if (rc == 0)
        rc = fs_yaml_parse(data ? data : "", len, file, doc, err);
    free(data);
    return rc;
}

void fs_yaml_doc_release(struct fs_yaml_doc *doc)
{
    json_decref(doc->root);
    json_decref(doc->lines);
    doc->root = doc->lines = NULL;
}

int fs_yaml_line(const struct fs_yaml_doc *doc, const char *path)
{
    json_t *v = doc->lines ? json_object_get(doc->lines, path) : NULL;
    return v ? (int)json_integer_value(v) : 0;
}
