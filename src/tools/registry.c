/* registry: the tool table (built-ins from fs_builtin_tools plus tools added at run time, which
 * their owner may disable, enable and redefine), the one call path (schema check → handler →
 * sanitize, redact, cap), the MCP tools/list view and the generated tool reference. It must not
 * decide what a caller may run, and it never trusts a handler's output: every string leaves
 * through fs_sanitize_text / fs_redact_json. */
#include "core/common.h"

#include <stdarg.h>

#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/json.h"
#include "core/redact.h"
#include "core/time.h"
#include "tools/registry.h"
#include "tools/schema.h"

struct tool {
    char *name, *title, *description;
    json_t *schema_json;
    struct fs_schema *schema;
    struct fs_tool_annotations ann;
    fs_tool_handler handler;
    void *closure;
    bool builtin;
    atomic_bool disabled; /* the one mutable field (fs_registry_set_enabled) */
    struct tool *retired; /* a definition this one replaced (kept until the registry is freed:
                             a call may still be using it) */
};

struct fs_registry {
    pthread_rwlock_t lock; /* guards tools/n/cap; a definition is immutable once added, and a
                              redefinition replaces the pointer, never the struct */
    struct tool **tools;
    size_t n, cap;
};

void fs_tool_result_release(struct fs_tool_result *r)
{
    if (!r)
        return;
    free(r->text);
    json_decref(r->structured);
    memset(r, 0, sizeof(*r));
}

static void tool_free(struct tool *t)
{
    if (!t)
        return;
    tool_free(t->retired);
    free(t->name);
    free(t->title);
    free(t->description);
    json_decref(t->schema_json);
    fs_schema_free(t->schema);
    free(t);
}

void fs_registry_free(struct fs_registry *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        tool_free(r->tools[i]);
    free(r->tools);
    pthread_rwlock_destroy(&r->lock);
    free(r);
}

static bool name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > FS_TOOL_MAX_NAME)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
            return false;
    return true;
}

static bool text_ok(const char *s, size_t max)
{
    if (!s || strlen(s) > max)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f)
            return false;
    return true;
}

static struct tool *find_locked(const struct fs_registry *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->tools[i]->name, name))
            return r->tools[i];
    return NULL;
}

static struct tool *find(const struct fs_registry *r, const char *name)
{
    pthread_rwlock_t *l = (pthread_rwlock_t *)&r->lock;
    pthread_rwlock_rdlock(l);
    struct tool *t = name ? find_locked(r, name) : NULL;
    pthread_rwlock_unlock(l);
    return t;
}

/* A checked, compiled definition in *out (caller's). */
static int build(const char *name, const char *title, const char *description,
                 const char *schema_text, const struct fs_tool_annotations *ann,
                 fs_tool_handler handler, void *closure, bool builtin, struct tool **out,
                 struct fs_err *err)
{
    *out = NULL;
    char path[FS_TOOL_MAX_NAME + 32];
    if (!name_ok(name))
        return fs_err_set(err, FS_E_INVALID, "name",
                          "name: a tool name is 1 to 128 of [A-Za-z0-9_.-]");
    snprintf(path, sizeof(path), "%s", name);
    if (!text_ok(description, FS_TOOL_MAX_DESCRIPTION) ||
        (title && !text_ok(title, FS_TOOL_MAX_NAME * 2)))
        return fs_err_set(err, FS_E_INVALID, path,
                          "%s: title or description missing, too long or with control characters",
                          name);
    if (!handler)
        return fs_err_set(err, FS_E_INVALID, path, "%s: no handler", name);
    if (!schema_text)
        return fs_err_set(err, FS_E_INVALID, path, "%s: no input schema", name);
    if (strlen(schema_text) > FS_TOOL_MAX_SCHEMA)
        return fs_err_set(err, FS_E_TOO_LARGE, path, "%s: input schema larger than %d bytes", name,
                          FS_TOOL_MAX_SCHEMA);
    struct tool *t = fs_calloc(1, sizeof(*t));
    if (!t)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    struct fs_err e = {0};
    int rc = fs_json_parse(schema_text, strlen(schema_text), 16, &t->schema_json, &e);
    if (rc == 0)
        rc = fs_schema_compile(t->schema_json, &t->schema, &e);
    if (rc == 0 && !fs_streq(fs_schema_type(t->schema), "object")) {
        rc = fs_err_set(&e, FS_E_INVALID, "type", "type: an input schema must be of type object");
    }
    if (rc < 0) {
        tool_free(t);
        if (rc == -FS_E_NOMEM)
            return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        return fs_err_set(err, FS_E_INVALID, path, "%s: inputSchema: %s", name, e.msg);
    }
    t->name = fs_strdup(name);
    t->title = title ? fs_strdup(title) : NULL;
    t->description = fs_strdup(description);
    if (!t->name || (title && !t->title) || !t->description) {
        tool_free(t);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    t->ann = ann ? *ann : (struct fs_tool_annotations){0};
    t->handler = handler;
    t->closure = closure;
    t->builtin = builtin;
    *out = t;
    return 0;
}

static int add(struct fs_registry *r, const char *name, const char *title, const char *description,
               const char *schema_text, const struct fs_tool_annotations *ann,
               fs_tool_handler handler, void *closure, bool builtin, struct fs_err *err)
{
    struct tool *t;
    int rc = build(name, title, description, schema_text, ann, handler, closure, builtin, &t, err);
    if (rc < 0)
        return rc;
    const char *path = name;
    pthread_rwlock_wrlock(&r->lock);
    if (find_locked(r, name)) {
        pthread_rwlock_unlock(&r->lock);
        tool_free(t);
        return fs_err_set(err, FS_E_INVALID, path, "%s: a tool with this name already exists",
                          name);
    }
    if (r->n >= FS_TOOL_MAX_TOOLS) {
        pthread_rwlock_unlock(&r->lock);
        tool_free(t);
        return fs_err_set(err, FS_E_TOO_LARGE, path, "%s: more than %d tools", name,
                          FS_TOOL_MAX_TOOLS);
    }
    if (r->n == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 32;
        struct tool **nt = fs_realloc(r->tools, ncap * sizeof(*nt));
        if (!nt) {
            pthread_rwlock_unlock(&r->lock);
            tool_free(t);
            return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        }
        r->tools = nt;
        r->cap = ncap;
    }
    r->tools[r->n++] = t;
    pthread_rwlock_unlock(&r->lock);
    return 0;
}

/* The modules' tables, in documentation order. */
static const struct fs_tool_table *const builtin_tables[] = {
    &fs_host_tools, &fs_prometheus_tools, &fs_loki_tools, &fs_kube_tools, &fs_context_tools,
};

size_t fs_builtin_tools_count(void)
{
    size_t n = 0;
    for (size_t t = 0; t < FS_ARRAY_LEN(builtin_tables); t++)
        n += builtin_tables[t]->n;
    return n;
}

const struct fs_tool_def *fs_builtin_tool(size_t i)
{
    for (size_t t = 0; t < FS_ARRAY_LEN(builtin_tables); t++) {
        if (i < builtin_tables[t]->n)
            return &builtin_tables[t]->defs[i];
        i -= builtin_tables[t]->n;
    }
    return NULL;
}

int fs_tool_fail(struct fs_tool_result *out, const char *fmt, ...)
{
    struct fs_buf b = FS_BUF_INIT(8192);
    va_list ap;
    va_start(ap, fmt);
    int rc = fs_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (rc == -FS_E_NOMEM)
        return rc;
    free(out->text);
    out->text = fs_buf_detach(&b, NULL);
    out->is_error = true;
    return out->text ? 0 : -FS_E_NOMEM;
}

void fs_tool_stderr_line(const struct fs_buf *b, char *dst, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < b->len && o + 4 < size; i++) {
        char ch = b->data[i];
        if (ch == '\n') {
            if (i + 1 < b->len && o) {
                dst[o++] = ';';
                dst[o++] = ' ';
            }
        } else {
            dst[o++] = ch;
        }
    }
    if (o + 4 >= size && b->len)
        o = FS_MIN(o, size - 4), dst[o++] = '.', dst[o++] = '.', dst[o++] = '.';
    dst[o] = '\0';
    if (!o)
        snprintf(dst, size, "(no message)");
}

int fs_registry_new(struct fs_registry **out, struct fs_err *err)
{
    return fs_registry_new_replayed(NULL, NULL, NULL, out, err);
}

int fs_registry_new_replayed(fs_tool_handler handler,
                             void *(*closure_for)(void *arg, const char *name), void *arg,
                             struct fs_registry **out, struct fs_err *err)
{
    *out = NULL;
    struct fs_registry *r = fs_calloc(1, sizeof(*r));
    if (!r)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    if (pthread_rwlock_init(&r->lock, NULL) != 0) {
        free(r);
        return fs_err_set(err, FS_E_SYSTEM, NULL, "pthread_rwlock_init failed");
    }
    for (size_t i = 0; i < fs_builtin_tools_count(); i++) {
        const struct fs_tool_def *d = fs_builtin_tool(i);
        int rc = add(r, d->name, d->title, d->description, d->input_schema, &d->annotations,
                     handler ? handler : d->handler, handler ? closure_for(arg, d->name) : NULL,
                     true, err);
        if (rc < 0) {
            fs_registry_free(r);
            return rc;
        }
    }
    *out = r;
    return 0;
}

int fs_registry_add(struct fs_registry *r, const char *name, const char *title,
                    const char *description, const char *input_schema_json,
                    const struct fs_tool_annotations *ann, fs_tool_handler handler, void *closure,
                    struct fs_err *err)
{
    if (!r)
        return fs_err_set(err, FS_E_INVALID, NULL, "fs_registry_add: no registry");
    return add(r, name, title, description, input_schema_json, ann, handler, closure, false, err);
}

int fs_registry_update(struct fs_registry *r, const char *name, const char *title,
                       const char *description, const char *input_schema_json,
                       const struct fs_tool_annotations *ann, struct fs_err *err)
{
    const struct tool *old = r ? find(r, name) : NULL;
    if (!old)
        return fs_err_set(err, FS_E_NOT_FOUND, "name", "no tool named \"%.128s\"",
                          name ? name : "(null)");
    if (old->builtin)
        return fs_err_set(err, FS_E_INVALID, "name", "%s is built in: it cannot be redefined",
                          name);
    struct tool *t;
    int rc = build(name, title, description, input_schema_json, ann, old->handler, old->closure,
                   false, &t, err);
    if (rc < 0)
        return rc;
    pthread_rwlock_wrlock(&r->lock);
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->tools[i]->name, name) == 0) {
            atomic_store(&t->disabled, atomic_load(&r->tools[i]->disabled));
            t->retired = r->tools[i]; /* a call in progress may still hold it */
            r->tools[i] = t;
            t = NULL;
            break;
        }
    }
    pthread_rwlock_unlock(&r->lock);
    tool_free(t); /* not NULL only if the tool vanished, which tools never do */
    return 0;
}

int fs_registry_set_enabled(struct fs_registry *r, const char *name, bool enabled,
                            struct fs_err *err)
{
    struct tool *t = r ? find(r, name) : NULL;
    if (!t)
        return fs_err_set(err, FS_E_NOT_FOUND, "name", "no tool named \"%.128s\"",
                          name ? name : "(null)");
    atomic_store(&t->disabled, !enabled);
    return 0;
}

bool fs_tools_annotations(const struct fs_registry *r, const char *name,
                          struct fs_tool_annotations *out)
{
    const struct tool *t = find(r, name);
    if (!t || atomic_load(&((struct tool *)t)->disabled))
        return false;
    if (out)
        *out = t->ann;
    return true;
}

/* The is_error result of a call to a disabled tool. A tool added at run time is a remote MCP
 * server's tool named SERVER.TOOL: say how it comes back. */
static int disabled_result(const char *name, struct fs_tool_result *out)
{
    const char *dot = strchr(name, '.');
    if (!dot)
        return fs_tool_fail(out, "disabled: the tool %s is disabled", name);
    return fs_tool_fail(out,
                        "disabled: %s is not usable now: its definition changed since it was "
                        "approved, it is not approved, its server no longer lists it or no "
                        "longer trusts it as read-only, or the server is disabled; "
                        "`forestall mcp tools %.*s --refresh` shows its pin, and "
                        "`forestall mcp tools %.*s --approve %s --as NAME` approves its "
                        "current definition",
                        name, (int)(dot - name), name, (int)(dot - name), name, dot + 1);
}

/* ---- making results safe ---------------------------------------------------------------- */

/* A copy of v with every string and key through fs_sanitize_text (uncapped: the whole value
 * is capped by size afterwards). NULL when out of memory. */
static json_t *sanitize_json(const json_t *v, size_t *secrets, int depth)
{
    if (depth > 64)
        return json_string("[nested too deep]");
    if (json_is_string(v)) {
        struct fs_sanitize_stats st = {0};
        char *s = fs_sanitize_text(json_string_value(v), json_string_length(v), 0, &st);
        if (!s)
            return NULL;
        *secrets += st.secrets;
        json_t *o = json_string(s);
        free(s);
        return o;
    }
    if (json_is_array(v)) {
        json_t *a = json_array();
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            json_t *c = sanitize_json(e, secrets, depth + 1);
            if (!a || !c || json_array_append_new(a, c) < 0) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    if (json_is_object(v)) {
        json_t *o = json_object();
        const char *k;
        json_t *e;
        json_object_foreach((json_t *)v, k, e)
        {
            struct fs_sanitize_stats st = {0};
            char *key = fs_sanitize_text(k, strlen(k), 256, &st);
            json_t *c = sanitize_json(e, secrets, depth + 1);
            *secrets += st.secrets;
            if (!o || !key || !c || json_object_set_new(o, key, c) < 0) {
                free(key);
                json_decref(c);
                json_decref(o);
                return NULL;
            }
            free(key);
        }
        return o;
    }
    return json_deep_copy(v); /* numbers, booleans, null */
}

static int make_safe(struct fs_tool_result *out, size_t max_output, struct fs_err *err)
{
    if (out->structured) {
        size_t secrets = 0, count = 0;
        json_t *s = sanitize_json(out->structured, &secrets, 0);
        if (!s)
            return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        json_decref(out->structured);
        out->structured = s;
        fs_redact_json(s, &count);
        out->redactions += secrets + count;
        /* structured content larger than four times the text cap is not kept: a planner gets
         * the capped text instead */
        size_t size = json_dumpb(s, NULL, 0, JSON_COMPACT);
        if (size > 4 * max_output) {
            json_decref(out->structured);
            out->structured = NULL;
            out->truncated = true;
        }
    }
    if (!out->text && out->structured) {
        out->text = json_dumps(out->structured, JSON_COMPACT | JSON_REAL_PRECISION(10));
        if (!out->text)
            return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    const char *raw = out->text ? out->text : "";
    struct fs_sanitize_stats st = {0};
    char *clean = fs_sanitize_text(raw, strlen(raw), max_output, &st);
    if (!clean)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    free(out->text);
    out->text = clean;
    out->truncated = out->truncated || st.truncated;
    out->redactions += st.secrets;
    return 0;
}

static int ctx_check(const struct fs_tool_ctx *ctx, struct fs_err *err)
{
    if (ctx->timeout_ms < 0)
        return fs_err_set(err, FS_E_INVALID, "ctx.timeout_ms", "ctx.timeout_ms: negative");
    for (const char *const *p = ctx->log_roots; p && *p; p++)
        if ((*p)[0] != '/')
            return fs_err_set(err, FS_E_INVALID, "ctx.log_roots",
                              "ctx.log_roots: %s is not absolute", *p);
    return 0;
}

int fs_tools_call(const struct fs_registry *r, const char *name, const json_t *args,
                  const struct fs_tool_ctx *ctx, struct fs_tool_result *out, struct fs_err *err)
{
    memset(out, 0, sizeof(*out));
    const struct tool *t = r ? find(r, name) : NULL;
    if (!t)
        return fs_err_set(err, FS_E_NOT_FOUND, "name", "no tool named \"%.128s\"",
                          name ? name : "(null)");
    if (atomic_load(&((struct tool *)t)->disabled)) {
        int rc = disabled_result(t->name, out);
        return rc < 0 ? fs_err_set(err, FS_E_NOMEM, NULL, NULL) : 0;
    }
    struct fs_tool_ctx c = ctx ? *ctx : (struct fs_tool_ctx){0};
    if (c.timeout_ms == 0)
        c.timeout_ms = FS_TOOL_DEFAULT_TIMEOUT_MS;
    if (c.deadline_ms > 0) {
        /* the caller's budget bounds the call: min(timeout, what is left of it) */
        int64_t left = c.deadline_ms - fs_now_ms();
        if (left <= 0) {
            int rc = fs_tool_fail(out, "%s was not run: the caller's time budget ran out", t->name);
            return rc < 0 ? fs_err_set(err, FS_E_NOMEM, NULL, NULL) : 0;
        }
        if (left < c.timeout_ms)
            c.timeout_ms = left;
    }
    if (c.max_output == 0)
        c.max_output = FS_TOOL_DEFAULT_MAX_OUTPUT;
    int rc = ctx_check(&c, err);
    if (rc < 0)
        return rc;

    json_t *empty = NULL;
    if (!args && !(args = empty = json_object()))
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    rc = fs_schema_validate(t->schema, args, "", err);
    if (rc < 0) {
        json_decref(empty);
        return rc;
    }
    int64_t t0 = fs_mono_ns();
    rc = t->handler(t->closure, args, &c, out, err);
    json_decref(empty);
    if (rc == 0)
        rc = make_safe(out, c.max_output, err);
    if (rc < 0) {
        fs_tool_result_release(out);
        return rc;
    }
    out->duration_ms = (fs_mono_ns() - t0) / 1000000;
    return 0;
}

/* ---- listing and docs ------------------------------------------------------------------- */

static json_t *annotations_json(const struct tool *t)
{
    json_t *a = json_object();
    if (a && t->title)
        json_object_set_new(a, "title", json_string(t->title));
    if (a) {
        json_object_set_new(a, "readOnlyHint", json_boolean(t->ann.read_only));
        json_object_set_new(a, "destructiveHint", json_boolean(t->ann.destructive));
        json_object_set_new(a, "idempotentHint", json_boolean(t->ann.idempotent));
        json_object_set_new(a, "openWorldHint", json_boolean(t->ann.open_world));
    }
    return a;
}

json_t *fs_tools_list_json(const struct fs_registry *r)
{
    json_t *res = json_object(), *arr = json_array();
    if (!res || !arr || json_object_set_new(res, "tools", arr) < 0) {
        json_decref(res);
        return NULL;
    }
    pthread_rwlock_t *l = (pthread_rwlock_t *)&r->lock;
    pthread_rwlock_rdlock(l);
    bool ok = true;
    for (size_t i = 0; i < r->n && ok; i++) {
        struct tool *t = r->tools[i];
        if (atomic_load(&t->disabled))
            continue;
        json_t *o = json_object();
        ok = o && json_array_append_new(arr, o) == 0;
        ok = ok && json_object_set_new(o, "name", json_string(t->name)) == 0;
        if (ok && t->title)
            ok = json_object_set_new(o, "title", json_string(t->title)) == 0;
        ok = ok && json_object_set_new(o, "description", json_string(t->description)) == 0;
        ok = ok && json_object_set_new(o, "inputSchema", json_deep_copy(t->schema_json)) == 0;
        ok = ok && json_object_set_new(o, "annotations", annotations_json(t)) == 0;
    }
    pthread_rwlock_unlock(l);
    if (!ok) {
        json_decref(res);
        return NULL;
    }
    return res;
}

static const char *yes(bool b)
{
    return b ? "yes" : "no";
}

/* One argument: "`name` (integer, 1–100, default 20, required): description" */
static int doc_arg(struct fs_buf *b, const char *name, const json_t *p, bool required)
{
    int rc = 0;
    const char *type = json_string_value(json_object_get(p, "type"));
    rc |= fs_buf_printf(b, "- `%s` (%s", name, type ? type : "any");
    json_t *items = json_object_get(p, "items");
    if (items && json_string_value(json_object_get(items, "type")))
        rc |= fs_buf_printf(b, " of %s", json_string_value(json_object_get(items, "type")));
    if (required)
        rc |= fs_buf_puts(b, ", required");
    json_t *mn = json_object_get(p, "minimum"), *mx = json_object_get(p, "maximum");
    if (mn && mx)
        rc |= fs_buf_printf(b, ", %.15g to %.15g", json_number_value(mn), json_number_value(mx));
    else if (mn)
        rc |= fs_buf_printf(b, ", at least %.15g", json_number_value(mn));
    else if (mx)
        rc |= fs_buf_printf(b, ", at most %.15g", json_number_value(mx));
    json_t *v;
    if ((v = json_object_get(p, "maxLength")))
        rc |= fs_buf_printf(b, ", at most %lld characters", (long long)json_integer_value(v));
    if ((v = json_object_get(p, "maxItems")))
        rc |= fs_buf_printf(b, ", at most %lld items", (long long)json_integer_value(v));
    if ((v = json_object_get(p, "default"))) {
        char *d = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        rc |= fs_buf_printf(b, ", default `%s`", d ? d : "?");
        free(d);
    }
    rc |= fs_buf_puts(b, ")");
    if ((v = json_object_get(p, "enum"))) {
        char *d = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        rc |= fs_buf_printf(b, " one of `%s`", d ? d : "?");
        free(d);
    }
    if ((v = json_object_get(p, "pattern")))
        rc |= fs_buf_printf(b, " matching `%s`", json_string_value(v));
    const char *desc = json_string_value(json_object_get(p, "description"));
    if (desc)
        rc |= fs_buf_printf(b, ": %s", desc);
    rc |= fs_buf_puts(b, "\n");
    return rc ? -FS_E_NOMEM : 0;
}

int fs_tools_doc_markdown(struct fs_buf *b)
{
    int rc = 0;
    rc |= fs_buf_puts(
        b, "# Built-in tools\n\n"
           "<!-- generated from the built-in tool tables (src/tools/*.c, listed in "
           "builtin_tables[] of src/tools/registry.c); do not edit -->\n\n"
           "Tools an investigation calls to observe a host and the systems around it. Every one "
           "is read-only, has a timeout and an output cap, and returns structured content plus "
           "a text form. Host tools run one program with an argument vector (never a shell) on "
           "the target, locally or over ssh; the Prometheus and Loki tools make one HTTP "
           "request to the configured endpoint (tools.prometheus_url, tools.loki_url), building "
           "the query from typed arguments. `forestall tool call NAME ARGS` runs one by hand. "
           "Arguments are checked against the input schema before anything runs; output "
           "is data, never instructions: control characters are stripped, secrets redacted and "
           "the text capped before anyone sees it. The same descriptions are served to MCP "
           "clients by `tools/list`.\n\n");
    for (size_t i = 0; i < fs_builtin_tools_count(); i++) {
        const struct fs_tool_def *d = fs_builtin_tool(i);
        json_t *s = json_loads(d->input_schema, 0, NULL);
        if (!s)
            return -FS_E_INVALID;
        rc |= fs_buf_printf(b, "## `%s` — %s\n\n%s\n\n", d->name, d->title, d->description);
        rc |= fs_buf_printf(b,
                            "Annotations: read-only %s, destructive %s, idempotent %s, "
                            "open world %s.\n\n",
                            yes(d->annotations.read_only), yes(d->annotations.destructive),
                            yes(d->annotations.idempotent), yes(d->annotations.open_world));
        json_t *props = json_object_get(s, "properties");
        json_t *req = json_object_get(s, "required");
        if (!props || json_object_size(props) == 0) {
            rc |= fs_buf_puts(b, "Arguments: none.\n\n");
        } else {
            rc |= fs_buf_puts(b, "Arguments (no others are accepted):\n\n");
            const char *k;
            json_t *p;
            json_object_foreach(props, k, p)
            {
                bool r = false;
                size_t j;
                json_t *e;
                json_array_foreach(req, j, e) r = r || fs_streq(json_string_value(e), k);
                rc |= doc_arg(b, k, p, r);
            }
            rc |= fs_buf_puts(b, "\n");
        }
        json_decref(s);
    }
    return rc ? -FS_E_NOMEM : 0;
}
