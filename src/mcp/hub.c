/* hub: the registered MCP servers put to use (mcp/hub.h). It owns the clients it opened (secret
 * references resolved only to open them), the last listing and pins of each server, and the
 * remote tools it registered — enabled only while trusted and approved, disabled the moment
 * either stops being true. It decides nothing about writes (the gate does; fs_mcp_hub_call only
 * refuses a tool whose pin is not approved) and never stores, logs or audits a secret value. */
#include "core/common.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/json.h"
#include "core/log.h"
#include "core/proc.h"
#include "core/redact.h"
#include "core/time.h"
#include "mcp/hub.h"
#include "store/store.h"

#define MAX_PARALLEL_OPEN 16
#define DEFAULT_LIST_TIMEOUT_MS 15000
#define MAX_ENV 64

/* What a stdio server gets from forestall's environment besides its own env (as the reference
 * SDK passes them). */
static const char *const passed_env[] = {"HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER"};

/* One open client. The last of its users closes a retired one. */
struct conn {
    struct fs_mcp_client *c;
    int refs;     /* callers using c (hub mutex) */
    bool retired; /* the server was closed, redefined or removed meanwhile */
};

struct server {
    char name[64];
    json_t *def;         /* the store's row while registered and enabled, else NULL */
    char *conn_key;      /* canonical JSON of what reaching it depends on */
    struct conn *conn;   /* NULL when not open */
    atomic_bool changed; /* notifications/tools/list_changed since the last listing */
    bool listed;         /* listed since conn opened */
    bool failing;        /* the last open or listing failed (logged once per streak) */
    json_t *tools;       /* the last listing; replaced whole, never changed */
    json_t *pins;        /* the server's pins after that listing was recorded */
    struct server *next;
};

/* A remote tool the hub registered: its handler's closure, alive until the hub is freed. */
struct rtool {
    struct fs_mcp_hub *h;
    struct server *srv;
    char tool[FS_TOOL_MAX_NAME + 1];
    char name[FS_TOOL_MAX_NAME + 1];
    char sha[65]; /* the definition the registry holds */
    atomic_bool enabled;
    char why[400]; /* why it is disabled (hub mutex) */
    struct rtool *next;
};

struct fs_mcp_hub {
    struct fs_mcp_hub_opts o;
    pthread_mutex_t mu;         /* servers' fields, the lists, noted, the thread's flags */
    pthread_mutex_t refresh_mu; /* one refresh at a time: listings, pins, the registry */
    struct server *servers;
    struct rtool *rtools;
    json_t *noted; /* things logged once: skipped names, schemas the registry refused */
    pthread_cond_t cv;
    pthread_t thread;
    bool running, stop;
    int64_t period_ms;
};

/* ---- the pure rules ----------------------------------------------------------------------- */

bool fs_mcp_hub_trusted(const json_t *server, const json_t *tool)
{
    const char *trust = json_string_value(json_object_get(server, "trust"));
    const char *name = json_string_value(json_object_get(tool, "name"));
    if (!name)
        return false;
    if (fs_streq(trust, "read_only_hints"))
        return json_is_true(json_object_get(json_object_get(tool, "annotations"), "readOnlyHint"));
    if (fs_streq(trust, "listed")) {
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(server, "read_only_tools"), i, v)
        {
            if (fs_streq(json_string_value(v), name))
                return true;
        }
    }
    return false;
}

bool fs_mcp_hub_pin_usable(const json_t *pin, const char *sha256)
{
    return pin && sha256 &&
           fs_streq(json_string_value(json_object_get(pin, "status")), "approved") &&
           fs_streq(json_string_value(json_object_get(pin, "sha256")), sha256) &&
           fs_streq(json_string_value(json_object_get(pin, "approved_sha256")), sha256);
}

/* A server named like a family of forestall's own tools ("host" of host.df) or its actions. */
static bool reserved_family(const char *server)
{
    if (strcmp(server, "action") == 0)
        return true;
    size_t n = strlen(server);
    for (size_t i = 0; i < fs_builtin_tools_count(); i++) {
        const char *b = fs_builtin_tool(i)->name;
        if (strncmp(b, server, n) == 0 && b[n] == '.')
            return true;
    }
    return false;
}

int fs_mcp_hub_tool_name(const char *server, const char *tool, char out[FS_TOOL_MAX_NAME + 1],
                         struct fs_err *err)
{
    out[0] = '\0';
    if (!server || !tool || !*server || !*tool)
        return fs_err_set(err, FS_E_INVALID, NULL, "a remote tool needs a server and a name");
    if (reserved_family(server))
        return fs_err_set(err, FS_E_INVALID, NULL,
                          "server %s is named like forestall's own %s.* tools: its tools are not "
                          "registered (rename the server)",
                          server, server);
    for (const char *c = tool; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              strchr("_.-", *c)))
            return fs_err_set(err, FS_E_INVALID, NULL,
                              "%s: a tool name is 1 to 128 of [A-Za-z0-9_.-]", server);
    int n = snprintf(out, FS_TOOL_MAX_NAME + 1, "%s.%s", server, tool);
    if (n < 0 || n > FS_TOOL_MAX_NAME) {
        out[0] = '\0';
        return fs_err_set(err, FS_E_INVALID, NULL,
                          "%s.%.40s...: longer than %d characters as a registry name", server, tool,
                          FS_TOOL_MAX_NAME);
    }
    return 0;
}

const char *fs_mcp_hub_mapped_tool(const json_t *server, const char *action, const char *tool)
{
    const char *m =
        action
            ? json_string_value(json_object_get(json_object_get(server, "tool_mappings"), action))
            : NULL;
    return m && *m ? m : tool;
}

/* ---- small helpers ------------------------------------------------------------------------ */

/* The member of an array of objects whose string key equals value, or NULL. */
static const json_t *find_by(const json_t *arr, const char *key, const char *value)
{
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o)
    {
        if (fs_streq(json_string_value(json_object_get(o, key)), value))
            return o;
    }
    return NULL;
}

static const json_t *pin_of(const json_t *pins, const char *tool)
{
    return find_by(pins, "tool", tool);
}

static const json_t *tool_of(const json_t *tools, const char *name)
{
    return find_by(tools, "name", name);
}

static bool def_enabled(const json_t *def)
{
    return def && !json_is_false(json_object_get(def, "enabled"));
}

/* Can the server's trust make any tool read-only? (trust none, or listed with an empty list:
 * its tools run only through catalog actions, so refreshing never opens it) */
static bool may_register(const json_t *def)
{
    const char *trust = json_string_value(json_object_get(def, "trust"));
    return fs_streq(trust, "read_only_hints") ||
           (fs_streq(trust, "listed") && json_array_size(json_object_get(def, "read_only_tools")));
}

/* What reaching a server depends on: a change of any of it means closing and opening again. */
static char *conn_key_of(const json_t *def)
{
    static const char *const keys[] = {"transport", "command", "args", "env", "url", "headers"};
    json_t *o = json_object();
    for (size_t i = 0; o && i < FS_ARRAY_LEN(keys); i++) {
        json_t *v = json_object_get(def, keys[i]);
        json_object_set_new(o, keys[i], v ? json_deep_copy(v) : json_null());
    }
    char *s = o ? fs_json_canonical(o) : NULL;
    json_decref(o);
    return s;
}

/* Log a thing once per hub (a skipped name, a refused schema), then only at debug level. */
static void note_once(struct fs_mcp_hub *h, const char *key, const char *msg, const char *server,
                      const char *tool, const char *why)
{
    pthread_mutex_lock(&h->mu);
    bool seen = json_object_get(h->noted, key) != NULL;
    if (!seen)
        json_object_set_new(h->noted, key, json_true());
    pthread_mutex_unlock(&h->mu);
    if (seen)
        FS_LOG_DEBUG(msg, "server", server, "tool", tool, "why", why);
    else
        FS_LOG_WARN(msg, "server", server, "tool", tool, "why", why);
}

static void on_tools_changed(void *arg)
{
    struct server *srv = arg;
    atomic_store(&srv->changed, true); /* the refresh runs at the next call, never here */
}

/* Take the server's open client for a call (NULL when not open); give it back with conn_put. */
static struct conn *conn_get(struct fs_mcp_hub *h, struct server *srv)
{
    pthread_mutex_lock(&h->mu);
    struct conn *c = srv->conn;
    if (c)
        c->refs++;
    pthread_mutex_unlock(&h->mu);
    return c;
}

static void conn_put(struct fs_mcp_hub *h, struct conn *c)
{
    pthread_mutex_lock(&h->mu);
    bool close = --c->refs == 0 && c->retired;
    pthread_mutex_unlock(&h->mu);
    if (close) {
        fs_mcp_close(c->c);
        free(c);
    }
}

/* Detach the server's client (hub mutex held by the caller); the return value is closed by the
 * caller outside the mutex (NULL when a call still uses it: the call closes it). */
static struct conn *conn_retire_locked(struct server *srv)
{
    struct conn *c = srv->conn;
    srv->conn = NULL;
    srv->listed = false;
    if (!c)
        return NULL;
    c->retired = true;
    return c->refs == 0 ? c : NULL;
}

static void conn_close(struct conn *c)
{
    if (c) {
        fs_mcp_close(c->c);
        free(c);
    }
}

static struct server *server_find_locked(struct fs_mcp_hub *h, const char *name)
{
    for (struct server *s = h->servers; s; s = s->next)
        if (strcmp(s->name, name) == 0)
            return s;
    return NULL;
}

/* The row of a server in the store's list, or NULL. */
static const json_t *row_of(const json_t *rows, const char *name)
{
    return find_by(rows, "name", name);
}

/* ---- opening a server --------------------------------------------------------------------- */

static void secret_free(char *v)
{
    if (v) {
        explicit_bzero(v, strlen(v));
        free(v);
    }
}

struct resolved {
    char *items[MAX_ENV + FS_ARRAY_LEN(passed_env) + 1]; /* "NAME=value" / "Name: value" */
    size_t n;
};

static void resolved_free(struct resolved *r)
{
    for (size_t i = 0; i < r->n; i++)
        secret_free(r->items[i]);
    r->n = 0;
}

/* "NAME<sep>prefix+value" for one reference (or a literal string) of server.field.key. */
static int resolve_one(struct fs_mcp_hub *h, const char *server, const char *field, const char *key,
                       const json_t *v, const char *sep, struct resolved *out, struct fs_err *err)
{
    if (out->n >= MAX_ENV)
        return fs_err_set(err, FS_E_INVALID, NULL, "%s.%s: more than %d entries", server, field,
                          MAX_ENV);
    char *value = NULL;
    const char *prefix = "";
    if (json_is_string(v)) {
        value = fs_strdup(json_string_value(v));
        if (!value)
            return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    } else {
        struct fs_err e = {0};
        fs_mcp_secret_fn resolve = h->o.resolve ? h->o.resolve : fs_mcp_secret_resolve;
        if (resolve(h->o.resolve_arg, v, &value, &e) < 0)
            return fs_err_set(err, e.code ? e.code : FS_E_CONFIG, NULL, "%s.%s.%s: %s", server,
                              field, key, e.msg);
        prefix = json_string_value(json_object_get(v, "prefix")) ?: "";
        fs_redact_register(value, "mcp"); /* never shown again, whatever the server echoes */
    }
    size_t n = strlen(key) + strlen(sep) + strlen(prefix) + strlen(value) + 1;
    char *item = fs_malloc(n);
    if (item)
        snprintf(item, n, "%s%s%s%s", key, sep, prefix, value);
    secret_free(value);
    if (!item)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    out->items[out->n++] = item;
    return 0;
}

/* Start (stdio) or initialize (http) a server from its definition. */
static int open_client(struct fs_mcp_hub *h, struct server *srv, const json_t *def,
                       struct fs_mcp_client **out, struct fs_err *err)
{
    *out = NULL;
    struct resolved res = {0};
    const char *argv[130] = {0};
    struct fs_mcp_options o = {
        .name = srv->name,
        .timeout_ms = h->o.call_timeout_ms,
        .connect_timeout_ms = h->o.connect_timeout_ms,
        .on_tools_changed = on_tools_changed,
        .arg = srv,
    };
    int rc = 0;
    const char *key;
    json_t *v;
    if (fs_streq(json_string_value(json_object_get(def, "transport")), "http")) {
        o.transport = FS_MCP_HTTP;
        o.url = json_string_value(json_object_get(def, "url"));
        json_object_foreach(json_object_get(def, "headers"), key, v)
        {
            if (rc == 0)
                rc = resolve_one(h, srv->name, "headers", key, v, ": ", &res, err);
        }
        o.headers = (const char *const *)res.items;
    } else {
        o.transport = FS_MCP_STDIO;
        json_t *args = json_object_get(def, "args");
        argv[0] = json_string_value(json_object_get(def, "command"));
        if (json_array_size(args) + 2 > FS_ARRAY_LEN(argv))
            rc = fs_err_set(err, FS_E_INVALID, NULL, "%s: too many args", srv->name);
        for (size_t i = 0; rc == 0 && i < json_array_size(args); i++)
            argv[i + 1] = json_string_value(json_array_get(args, i));
        json_t *env = json_object_get(def, "env");
        for (size_t i = 0; rc == 0 && i < FS_ARRAY_LEN(passed_env); i++) {
            const char *val = getenv(passed_env[i]);
            json_t *lit = val && !json_object_get(env, passed_env[i]) ? json_string(val) : NULL;
            if (lit)
                rc = resolve_one(h, srv->name, "env", passed_env[i], lit, "=", &res, err);
            json_decref(lit);
        }
        json_object_foreach(env, key, v)
        {
            if (rc == 0)
                rc = resolve_one(h, srv->name, "env", key, v, "=", &res, err);
        }
        o.argv = argv;
        o.env = (const char *const *)res.items;
        o.path_env = getenv("PATH") ?: FS_CHILD_DEFAULT_PATH;
    }
    if (rc == 0)
        rc = fs_mcp_open(&o, out, err);
    resolved_free(&res);
    return rc;
}

/* ---- the registry --------------------------------------------------------------------------- */

static struct rtool *rtool_find_locked(struct fs_mcp_hub *h, const struct server *srv,
                                       const char *tool)
{
    for (struct rtool *t = h->rtools; t; t = t->next)
        if (t->srv == srv && strcmp(t->tool, tool) == 0)
            return t;
    return NULL;
}

static void rtool_disable(struct fs_mcp_hub *h, struct rtool *t, const char *why)
{
    pthread_mutex_lock(&h->mu);
    snprintf(t->why, sizeof(t->why), "%s", why);
    fs_utf8_cut(t->why);
    bool was = atomic_exchange(&t->enabled, false);
    pthread_mutex_unlock(&h->mu);
    if (was) {
        fs_registry_set_enabled(h->o.tools, t->name, false, NULL);
        FS_LOG_WARN("MCP tool disabled", "tool", t->name, "why", why);
    }
}

static void rtool_enable(struct fs_mcp_hub *h, struct rtool *t)
{
    if (!atomic_exchange(&t->enabled, true)) {
        fs_registry_set_enabled(h->o.tools, t->name, true, NULL);
        FS_LOG_INFO("MCP tool enabled", "tool", t->name);
    }
}

static int remote_handler(void *closure, const json_t *args, const struct fs_tool_ctx *ctx,
                          struct fs_tool_result *out, struct fs_err *err);

/* Text of a listed tool for the registry: sanitized and within its limits. Caller frees. */
static char *clean_text(const char *s, size_t max)
{
    char *c = fs_sanitize_text(s ? s : "", s ? strlen(s) : 0, 0, NULL);
    if (c && strlen(c) > max) {
        c[max] = '\0';
        fs_utf8_cut(c);
    }
    return c;
}

/* Put a usable listed tool into the registry (or its new definition over the old one). */
static void register_tool(struct fs_mcp_hub *h, struct server *srv, const json_t *t,
                          const char *name, const char *sha, struct rtool *existing)
{
    const char *tool = json_string_value(json_object_get(t, "name"));
    const json_t *ann = json_object_get(t, "annotations");
    const char *title = json_string_value(json_object_get(t, "title"));
    if (!title)
        title = json_string_value(json_object_get(ann, "title"));
    char *ctitle = title ? clean_text(title, 2 * FS_TOOL_MAX_NAME) : NULL;
    char *desc =
        clean_text(json_string_value(json_object_get(t, "description")), FS_TOOL_MAX_DESCRIPTION);
    char *schema = json_dumps(json_object_get(t, "inputSchema"), JSON_COMPACT);
    /* read-only because the operator's trust says so; the other hints are passed on */
    struct fs_tool_annotations a = {
        .read_only = true,
        .destructive = false,
        .idempotent = json_is_true(json_object_get(ann, "idempotentHint")),
        .open_world = !json_is_false(json_object_get(ann, "openWorldHint")),
    };
    struct fs_err e = {0};
    int rc = (title && !ctitle) || !desc || !schema ? fs_err_set(&e, FS_E_NOMEM, NULL, NULL) : 0;
    struct rtool *rt = existing;
    if (rc == 0 && !rt) {
        rt = fs_calloc(1, sizeof(*rt));
        if (!rt) {
            rc = fs_err_set(&e, FS_E_NOMEM, NULL, NULL);
        } else {
            rt->h = h;
            rt->srv = srv;
            snprintf(rt->tool, sizeof(rt->tool), "%s", tool);
            snprintf(rt->name, sizeof(rt->name), "%s", name);
            atomic_store(&rt->enabled, true);
            rc =
                fs_registry_add(h->o.tools, name, ctitle, desc, schema, &a, remote_handler, rt, &e);
            if (rc < 0) {
                free(rt);
                rt = NULL;
            } else {
                pthread_mutex_lock(&h->mu);
                rt->next = h->rtools;
                h->rtools = rt;
                pthread_mutex_unlock(&h->mu);
                FS_LOG_INFO("MCP tool registered", "tool", name, "sha256", sha);
            }
        }
    } else if (rc == 0) {
        rc = fs_registry_update(h->o.tools, name, ctitle, desc, schema, &a, &e);
        if (rc == 0)
            FS_LOG_INFO("MCP tool redefined", "tool", name, "sha256", sha);
    }
    if (rc == 0) {
        snprintf(rt->sha, sizeof(rt->sha), "%s", sha);
        rtool_enable(h, rt);
    } else {
        char key[FS_TOOL_MAX_NAME + 80];
        snprintf(key, sizeof(key), "schema %s %s", name, sha);
        note_once(h, key, "MCP tool not registered", srv->name, tool, e.msg);
        if (rt) {
            char why[400];
            snprintf(why, sizeof(why), "its approved definition cannot be registered: %s", e.msg);
            rtool_disable(h, rt, why);
        }
    }
    free(ctitle);
    free(desc);
    free(schema);
}

/* Why a listed tool is not usable, or NULL when it is. */
static const char *unusable(const json_t *def, const json_t *t, const json_t *pin, const char *sha,
                            char *buf, size_t size)
{
    const char *server = json_string_value(json_object_get(def, "name"));
    const char *tool = json_string_value(json_object_get(t, "name"));
    if (!fs_mcp_hub_trusted(def, t)) {
        snprintf(buf, size,
                 "MCP server %s's trust (%s) does not make %s read-only; it runs only through a "
                 "catalog action that maps to it",
                 server, json_string_value(json_object_get(def, "trust")), tool);
        return buf;
    }
    if (fs_mcp_hub_pin_usable(pin, sha))
        return NULL;
    const char *approved = json_string_value(json_object_get(pin, "approved_sha256"));
    snprintf(buf, size, "%s: approve it %swith `forestall mcp tools %s --approve %s --as NAME`",
             approved ? "its definition changed since it was approved" : "it is not approved",
             approved ? "again " : "", server, tool);
    return buf;
}

/* Bring the registry in line with the server's state (refresh mutex held). */
static void sync_server(struct fs_mcp_hub *h, struct server *srv)
{
    if (!h->o.tools)
        return;
    pthread_mutex_lock(&h->mu);
    json_t *def = json_incref(srv->def), *tools = json_incref(srv->tools);
    json_t *pins = json_incref(srv->pins);
    pthread_mutex_unlock(&h->mu);
    char why[400];
    if (!def_enabled(def)) {
        snprintf(why, sizeof(why), "MCP server %s is disabled or no longer registered", srv->name);
        for (struct rtool *t = h->rtools; t; t = t->next)
            if (t->srv == srv)
                rtool_disable(h, t, why);
        goto out;
    }
    if (!tools)
        goto out; /* never listed: nothing registered yet */
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t)
    {
        const char *tool = json_string_value(json_object_get(t, "name"));
        char name[FS_TOOL_MAX_NAME + 1], sha[65];
        struct fs_err e = {0};
        if (!tool || fs_mcp_tool_hash(t, sha, NULL, &e) < 0)
            continue;
        pthread_mutex_lock(&h->mu);
        struct rtool *rt = rtool_find_locked(h, srv, tool);
        pthread_mutex_unlock(&h->mu);
        const char *no = unusable(def, t, pin_of(pins, tool), sha, why, sizeof(why));
        if (no) {
            if (rt)
                rtool_disable(h, rt, no);
            continue;
        }
        if (fs_mcp_hub_tool_name(srv->name, tool, name, &e) < 0) {
            char key[200];
            snprintf(key, sizeof(key), "name %s %.128s", srv->name, tool);
            note_once(h, key, "MCP tool skipped: its name does not fit the registry", srv->name,
                      tool, e.msg);
            continue;
        }
        if (!rt || strcmp(rt->sha, sha) != 0)
            register_tool(h, srv, t, name, sha, rt);
        else
            rtool_enable(h, rt);
    }
    snprintf(why, sizeof(why), "MCP server %s no longer lists it", srv->name);
    for (struct rtool *r = h->rtools; r; r = r->next)
        if (r->srv == srv && !tool_of(tools, r->tool))
            rtool_disable(h, r, why);
out:
    json_decref(def);
    json_decref(tools);
    json_decref(pins);
}

/* ---- listing and pins ---------------------------------------------------------------------- */

struct pins_tx {
    const char *server;
    const json_t *listed;
    json_t *diff, *pins;
    bool gone;
};

static int pins_fn(struct fs_store *s, void *arg, struct fs_err *err)
{
    struct pins_tx *t = arg;
    json_decref(t->diff);
    json_decref(t->pins);
    t->diff = t->pins = NULL;
    json_t *row = NULL;
    int rc = fs_store_mcp_server_get(s, t->server, &row, err);
    json_decref(row);
    t->gone = rc == -FS_E_NOT_FOUND;
    if (t->gone)
        return 0; /* removed meanwhile: nothing to pin */
    if (rc == 0)
        rc = fs_mcp_pins_record(s, t->server, t->listed, fs_now_ms(), &t->diff, err);
    if (rc == 0)
        rc = fs_store_mcp_pins_get(s, t->server, &t->pins, err);
    return rc;
}

/* Record a listing's pins, keep listing and pins, update the registry (refresh mutex held).
 * Only store errors are returned. */
static int record_listing(struct fs_mcp_hub *h, struct server *srv, json_t *tools, json_t **diff,
                          struct fs_err *err)
{
    struct pins_tx t = {srv->name, tools, NULL, NULL, false};
    int rc = fs_writer_run(h->o.w, pins_fn, &t, err);
    if (rc < 0) {
        json_decref(t.diff);
        json_decref(t.pins);
        return rc;
    }
    size_t i;
    json_t *c;
    json_array_foreach(t.diff, i, c)
    {
        const char *change = json_string_value(json_object_get(c, "change"));
        const char *tool = json_string_value(json_object_get(c, "tool"));
        if (fs_streq(change, "new"))
            FS_LOG_INFO("MCP tool pinned; it waits for an approval", "server", srv->name, "tool",
                        tool);
        else if (fs_streq(change, "changed"))
            FS_LOG_WARN("MCP tool definition changed; it waits for a new approval", "server",
                        srv->name, "tool", tool);
    }
    struct conn *dead = NULL;
    pthread_mutex_lock(&h->mu);
    if (t.gone) {
        json_decref(srv->def);
        srv->def = NULL;
        dead = conn_retire_locked(srv);
    }
    json_decref(srv->tools);
    json_decref(srv->pins);
    srv->tools = json_incref(tools);
    srv->pins = t.pins;
    srv->listed = !t.gone;
    pthread_mutex_unlock(&h->mu);
    conn_close(dead);
    sync_server(h, srv);
    if (diff)
        *diff = t.diff;
    else
        json_decref(t.diff);
    if (t.gone)
        return fs_err_set(err, FS_E_NOT_FOUND, NULL, "MCP server %s was removed meanwhile",
                          srv->name);
    return 0;
}

static int64_t list_timeout(const struct fs_mcp_hub *h)
{
    return h->o.list_timeout_ms > 0 ? h->o.list_timeout_ms : DEFAULT_LIST_TIMEOUT_MS;
}

/* List an open server again and record it (refresh mutex held). */
static int relist(struct fs_mcp_hub *h, struct server *srv, json_t **diff, struct fs_err *err)
{
    struct conn *c = conn_get(h, srv);
    if (!c)
        return fs_err_set(err, FS_E_CONNECT, NULL, "MCP server %s is not open", srv->name);
    atomic_store(&srv->changed, false); /* a notification during the listing sets it again */
    json_t *tools = NULL;
    int rc = fs_mcp_list_tools(c->c, list_timeout(h), &tools, NULL, NULL, err);
    conn_put(h, c);
    if (rc == 0)
        rc = record_listing(h, srv, tools, diff, err);
    json_decref(tools);
    return rc;
}

/* ---- the servers ---------------------------------------------------------------------------- */

/* The hub's entry for a store row (created when new), with the row as its definition; a
 * changed way of reaching it closes the old client. Hub mutex not held. */
static struct server *server_update(struct fs_mcp_hub *h, const json_t *row)
{
    const char *name = json_string_value(json_object_get(row, "name"));
    char *key = conn_key_of(row);
    if (!name || !key) {
        free(key);
        return NULL;
    }
    struct conn *dead = NULL;
    pthread_mutex_lock(&h->mu);
    struct server *srv = server_find_locked(h, name);
    if (!srv && (srv = fs_calloc(1, sizeof(*srv)))) {
        snprintf(srv->name, sizeof(srv->name), "%s", name);
        srv->next = h->servers;
        h->servers = srv;
    }
    if (srv) {
        if (!fs_streq(srv->conn_key, key)) {
            dead = conn_retire_locked(srv);
            free(srv->conn_key);
            srv->conn_key = key;
            key = NULL;
        }
        json_decref(srv->def);
        srv->def = def_enabled(row) ? json_deep_copy(row) : NULL;
        if (!srv->def && !dead)
            dead = conn_retire_locked(srv);
    }
    pthread_mutex_unlock(&h->mu);
    conn_close(dead);
    free(key);
    return srv;
}

/* Install a client just opened for srv, unless the server was redefined or dropped while it
 * opened (then it is closed). */
static void conn_install(struct fs_mcp_hub *h, struct server *srv, struct fs_mcp_client *c,
                         const char *key)
{
    struct conn *n = fs_calloc(1, sizeof(*n));
    pthread_mutex_lock(&h->mu);
    bool ok = n && srv->def && !srv->conn && fs_streq(srv->conn_key, key);
    if (ok) {
        n->c = c;
        srv->conn = n;
        srv->listed = false;
    }
    pthread_mutex_unlock(&h->mu);
    if (!ok) {
        free(n);
        fs_mcp_close(c);
    }
}

static void report_failure(struct fs_mcp_hub *h, struct server *srv, const char *what,
                           const struct fs_err *e)
{
    pthread_mutex_lock(&h->mu);
    bool first = !srv->failing;
    srv->failing = true;
    pthread_mutex_unlock(&h->mu);
    if (first)
        FS_LOG_WARN(what, "server", srv->name, "error", e->msg, "retry", "at the next refresh");
    else
        FS_LOG_DEBUG(what, "server", srv->name, "error", e->msg);
}

static void report_ok(struct fs_mcp_hub *h, struct server *srv)
{
    pthread_mutex_lock(&h->mu);
    bool was = srv->failing;
    srv->failing = false;
    pthread_mutex_unlock(&h->mu);
    if (was)
        FS_LOG_INFO("MCP server reachable again", "server", srv->name);
}

/* The enabled row of one server, or an error naming why there is none. *row is the caller's. */
static int load_row(struct fs_mcp_hub *h, const char *server, json_t **row, struct fs_err *err)
{
    json_t *rows = NULL;
    *row = NULL;
    int rc = fs_store_mcp_servers_list(h->o.w->store, &rows, err);
    if (rc < 0)
        return rc;
    const json_t *r = row_of(rows, server);
    if (!r)
        rc = fs_err_set(err, FS_E_NOT_FOUND, NULL,
                        "no MCP server %s is registered (forestall mcp list shows them)", server);
    else if (!def_enabled(r))
        rc = fs_err_set(err, FS_E_FORBIDDEN, NULL,
                        "MCP server %s is disabled (enabled: false): it is not used", server);
    else
        *row = json_incref((json_t *)r);
    json_decref(rows);
    return rc;
}

/* The server open and, when fresh is set or it was never listed or announced a change, listed
 * and recorded (refresh mutex held). */
static int ensure_open(struct fs_mcp_hub *h, const char *server, bool fresh, json_t **diff,
                       struct server **out, struct fs_err *err)
{
    json_t *row = NULL;
    int rc = load_row(h, server, &row, err);
    struct server *srv = rc == 0 ? server_update(h, row) : NULL;
    json_decref(row);
    if (rc < 0)
        return rc;
    if (!srv)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    pthread_mutex_lock(&h->mu);
    bool open = srv->conn != NULL, listed = srv->listed;
    json_t *def = json_incref(srv->def);
    char *key = srv->conn_key ? fs_strdup(srv->conn_key) : NULL;
    pthread_mutex_unlock(&h->mu);
    if (!open) {
        struct fs_mcp_client *c = NULL;
        rc = key ? open_client(h, srv, def, &c, err) : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        if (rc == 0)
            conn_install(h, srv, c, key);
        else if (rc != -FS_E_NOMEM)
            report_failure(h, srv, "MCP server could not be opened", err);
    }
    json_decref(def);
    free(key);
    if (rc == 0 && (fresh || !listed || !open || atomic_load(&srv->changed))) {
        rc = relist(h, srv, diff, err);
        if (rc == 0)
            report_ok(h, srv);
    }
    *out = srv;
    return rc;
}

/* ---- refresh ----------------------------------------------------------------------------------
 */

struct open_job {
    struct fs_mcp_hub *h;
    struct server *srv;
    json_t *def;
    char *key;
    struct conn *existing; /* held (refs) while the job lists through it */
    struct fs_mcp_client *opened;
    json_t *tools;
    int rc;
    bool open_failed;
    struct fs_err err;
};

static void *open_job_run(void *arg)
{
    struct open_job *j = arg;
    struct fs_mcp_client *c = j->existing ? j->existing->c : NULL;
    if (!c) {
        j->rc = open_client(j->h, j->srv, j->def, &j->opened, &j->err);
        j->open_failed = j->rc < 0;
        c = j->opened;
    }
    if (j->rc == 0) {
        atomic_store(&j->srv->changed, false);
        j->rc = fs_mcp_list_tools(c, list_timeout(j->h), &j->tools, NULL, NULL, &j->err);
    }
    return NULL;
}

static void count_stats(struct fs_mcp_hub *h, struct fs_mcp_hub_stats *st)
{
    pthread_mutex_lock(&h->mu);
    for (struct server *s = h->servers; s; s = s->next) {
        st->servers += s->def != NULL;
        st->open += s->def && s->conn;
    }
    for (struct rtool *t = h->rtools; t; t = t->next) {
        bool on = atomic_load(&t->enabled);
        st->registered += on;
        st->disabled += !on;
    }
    pthread_mutex_unlock(&h->mu);
}

int fs_mcp_hub_refresh(struct fs_mcp_hub *h, struct fs_mcp_hub_stats *st, struct fs_err *err)
{
    struct fs_mcp_hub_stats local = {0};
    if (!st)
        st = &local;
    memset(st, 0, sizeof(*st));
    json_t *rows = NULL;
    pthread_mutex_lock(&h->refresh_mu);
    int rc = fs_store_mcp_servers_list(h->o.w->store, &rows, err);
    if (rc < 0) {
        pthread_mutex_unlock(&h->refresh_mu);
        return rc;
    }
    /* servers that went away or were disabled: closed, their tools disabled */
    for (struct server *s = h->servers; s; s = s->next) {
        const json_t *row = row_of(rows, s->name);
        if (!row || !def_enabled(row)) {
            pthread_mutex_lock(&h->mu);
            json_decref(s->def);
            s->def = NULL;
            struct conn *dead = conn_retire_locked(s);
            pthread_mutex_unlock(&h->mu);
            conn_close(dead);
            sync_server(h, s);
        }
    }
    size_t n = 0, i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        n += def_enabled(row);
    }
    struct open_job *jobs = n ? fs_calloc(n, sizeof(*jobs)) : NULL;
    if (n && !jobs) {
        json_decref(rows);
        pthread_mutex_unlock(&h->refresh_mu);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    size_t nj = 0;
    json_array_foreach(rows, i, row)
    {
        if (!def_enabled(row))
            continue;
        struct server *srv = server_update(h, row);
        if (!srv)
            continue;
        if (!may_register(row)) {
            /* its tools run only through actions (opened then): nothing to open here, and
             * whatever it had registered goes */
            sync_server(h, srv);
            continue;
        }
        struct open_job *j = &jobs[nj++];
        j->h = h;
        j->srv = srv;
        pthread_mutex_lock(&h->mu);
        j->def = json_incref(srv->def);
        j->key = srv->conn_key ? fs_strdup(srv->conn_key) : NULL;
        if ((j->existing = srv->conn))
            j->existing->refs++;
        pthread_mutex_unlock(&h->mu);
    }
    /* open and list in parallel: the whole refresh takes about one connect timeout */
    for (size_t b = 0; b < nj; b += MAX_PARALLEL_OPEN) {
        pthread_t th[MAX_PARALLEL_OPEN];
        bool started[MAX_PARALLEL_OPEN] = {0};
        size_t m = FS_MIN(nj - b, (size_t)MAX_PARALLEL_OPEN);
        for (size_t k = 0; k < m; k++)
            started[k] = m > 1 && pthread_create(&th[k], NULL, open_job_run, &jobs[b + k]) == 0;
        for (size_t k = 0; k < m; k++) {
            if (started[k])
                pthread_join(th[k], NULL);
            else
                open_job_run(&jobs[b + k]);
        }
    }
    for (size_t k = 0; k < nj; k++) {
        struct open_job *j = &jobs[k];
        if (j->existing)
            conn_put(h, j->existing);
        if (j->opened)
            conn_install(h, j->srv, j->opened, j->key);
        if (j->rc < 0) {
            st->failed++;
            report_failure(h, j->srv,
                           j->open_failed ? "MCP server could not be opened"
                                          : "MCP server's tools could not be listed",
                           &j->err);
        } else if (rc == 0) {
            struct fs_err e = {0};
            int r = record_listing(h, j->srv, j->tools, NULL, &e);
            if (r < 0 && r != -FS_E_NOT_FOUND)
                rc = fs_err_set(err, -r, NULL, "%s", e.msg);
            else
                report_ok(h, j->srv);
        }
        json_decref(j->tools);
        json_decref(j->def);
        free(j->key);
    }
    free(jobs);
    json_decref(rows);
    count_stats(h, st);
    pthread_mutex_unlock(&h->refresh_mu);
    return rc;
}

int fs_mcp_hub_sync(struct fs_mcp_hub *h, const char *server, json_t **diff, struct fs_err *err)
{
    if (diff)
        *diff = NULL;
    struct server *srv = NULL;
    pthread_mutex_lock(&h->refresh_mu);
    int rc = ensure_open(h, server, true, diff, &srv, err);
    pthread_mutex_unlock(&h->refresh_mu);
    return rc;
}

/* fs_mcp_hub_check with the refresh mutex held. */
static int check_locked(struct fs_mcp_hub *h, const char *server, const char *tool,
                        struct server **out, struct fs_err *err)
{
    int rc = ensure_open(h, server, false, NULL, out, err);
    if (rc < 0)
        return rc;
    struct server *srv = *out;
    pthread_mutex_lock(&h->mu);
    json_t *tools = json_incref(srv->tools), *pins = json_incref(srv->pins);
    pthread_mutex_unlock(&h->mu);
    const json_t *t = tool_of(tools, tool);
    char sha[65];
    if (!t) {
        rc = fs_err_set(err, FS_E_NOT_FOUND, NULL, "MCP server %s does not list a tool %s", server,
                        tool);
    } else if ((rc = fs_mcp_tool_hash(t, sha, NULL, err)) == 0 &&
               !fs_mcp_hub_pin_usable(pin_of(pins, tool), sha)) {
        const char *approved =
            json_string_value(json_object_get(pin_of(pins, tool), "approved_sha256"));
        rc = fs_err_set(err, FS_E_FORBIDDEN, NULL,
                        "MCP tool %s/%s %s: approve it %swith `forestall mcp tools %s --approve "
                        "%s --as NAME`",
                        server, tool,
                        approved ? "changed since it was approved (audited mcp_tool changed)"
                                 : "is not approved",
                        approved ? "again " : "", server, tool);
    }
    json_decref(tools);
    json_decref(pins);
    return rc;
}

int fs_mcp_hub_check(struct fs_mcp_hub *h, const char *server, const char *tool, struct fs_err *err)
{
    struct server *srv;
    pthread_mutex_lock(&h->refresh_mu);
    int rc = check_locked(h, server, tool, &srv, err);
    pthread_mutex_unlock(&h->refresh_mu);
    return rc;
}

int fs_mcp_hub_call(struct fs_mcp_hub *h, const char *server, const char *tool, const json_t *args,
                    int64_t timeout_ms, struct fs_mcp_result *out, struct fs_err *err)
{
    memset(out, 0, sizeof(*out));
    struct server *srv = NULL;
    pthread_mutex_lock(&h->refresh_mu);
    int rc = check_locked(h, server, tool, &srv, err);
    pthread_mutex_unlock(&h->refresh_mu);
    if (rc < 0)
        return rc;
    struct conn *c = conn_get(h, srv);
    if (!c)
        return fs_err_set(err, FS_E_CONNECT, NULL, "MCP server %s is not open", server);
    rc = fs_mcp_call_tool(c->c, tool, args, timeout_ms ? timeout_ms : h->o.call_timeout_ms, out,
                          err);
    conn_put(h, c);
    return rc;
}

/* ---- a registered tool's call ------------------------------------------------------------- */

static int fail(struct fs_tool_result *out, struct fs_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct fs_tool_result *out, struct fs_err *err, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fs_utf8_cut(msg);
    if (fs_tool_fail(out, "%s", msg) < 0)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    return 0;
}

static int remote_handler(void *closure, const json_t *args, const struct fs_tool_ctx *ctx,
                          struct fs_tool_result *out, struct fs_err *err)
{
    struct rtool *rt = closure;
    struct fs_mcp_hub *h = rt->h;
    struct server *srv = rt->srv;
    if (atomic_load(&srv->changed)) {
        /* the server announced a change: list again before trusting the old definition */
        struct fs_err e = {0};
        pthread_mutex_lock(&h->refresh_mu);
        if (atomic_load(&srv->changed) && relist(h, srv, NULL, &e) < 0)
            report_failure(h, srv, "MCP server's tools could not be listed again", &e);
        pthread_mutex_unlock(&h->refresh_mu);
    }
    char why[sizeof(rt->why)];
    pthread_mutex_lock(&h->mu);
    bool on = atomic_load(&rt->enabled);
    snprintf(why, sizeof(why), "%s", rt->why);
    pthread_mutex_unlock(&h->mu);
    if (!on)
        return fail(out, err, "disabled: %s: %s", rt->name, why);
    struct conn *c = conn_get(h, srv);
    if (!c)
        return fail(out, err,
                    "%s: MCP server %s is not connected; it is tried again at the next "
                    "refresh",
                    rt->name, srv->name);
    struct fs_mcp_result r = {0};
    struct fs_err e = {0};
    int rc = fs_mcp_call_tool(c->c, rt->tool, args, ctx->timeout_ms, &r, &e);
    conn_put(h, c);
    if (rc == -FS_E_NOMEM)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    if (rc < 0)
        return fail(out, err, "%s: %s", rt->name, e.msg);
    out->text = r.text;
    out->structured = r.structured;
    out->is_error = r.is_error;
    r.text = NULL;
    r.structured = NULL;
    fs_mcp_result_release(&r);
    return 0;
}

/* ---- the executor's side ------------------------------------------------------------------- */

int fs_mcp_hub_action_request(struct fs_store *s, const char *action, const json_t *rendered,
                              json_t **request, struct fs_err *err)
{
    *request = NULL;
    const char *server = json_string_value(json_object_get(rendered, "server"));
    const char *tool = json_string_value(json_object_get(rendered, "tool"));
    const json_t *args = json_object_get(rendered, "arguments");
    if (!server || !tool)
        return fs_err_set(err, FS_E_INVALID, NULL, "%s: its mcp template names no server or tool",
                          action);
    json_t *rows = NULL;
    int rc = fs_store_mcp_servers_list(s, &rows, err);
    if (rc < 0)
        return rc;
    const json_t *row = row_of(rows, server);
    if (!row)
        rc = fs_err_set(err, FS_E_NOT_FOUND, NULL,
                        "%s runs %s on the MCP server %s, which is not registered (forestall mcp "
                        "add %s ...)",
                        action, tool, server, server);
    else if (!def_enabled(row))
        rc = fs_err_set(err, FS_E_FORBIDDEN, NULL,
                        "%s runs on the MCP server %s, which is disabled (enabled: false)", action,
                        server);
    if (rc == 0) {
        const char *mapped = fs_mcp_hub_mapped_tool(row, action, tool);
        *request = json_pack("{s:s,s:s,s:O}", "server", server, "tool", mapped, "arguments",
                             json_is_object(args) ? (json_t *)args : json_object());
        if (*request && strcmp(mapped, tool) != 0)
            json_object_set_new(*request, "template_tool", json_string(tool));
        if (!*request)
            rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    json_decref(rows);
    return rc;
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

int fs_mcp_hub_new(const struct fs_mcp_hub_opts *o, struct fs_mcp_hub **out, struct fs_err *err)
{
    *out = NULL;
    if (!o || !o->w)
        return fs_err_set(err, FS_E_INVALID, NULL, "an MCP hub needs a store writer");
    struct fs_mcp_hub *h = fs_calloc(1, sizeof(*h));
    if (!h || !(h->noted = json_object())) {
        free(h);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    h->o = *o;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&h->mu, NULL);
    pthread_mutex_init(&h->refresh_mu, NULL);
    *out = h;
    return 0;
}

static void *refresher(void *arg)
{
    struct fs_mcp_hub *h = arg;
    pthread_mutex_lock(&h->mu);
    while (!h->stop) {
        pthread_mutex_unlock(&h->mu);
        struct fs_mcp_hub_stats st;
        struct fs_err e = {0};
        if (fs_mcp_hub_refresh(h, &st, &e) < 0)
            FS_LOG_WARN("MCP refresh failed", "error", e.msg);
        else if (st.servers)
            FS_LOG_DEBUG("MCP refresh", "servers", FS_I64(st.servers), "open", FS_I64(st.open),
                         "tools", FS_I64(st.registered), "disabled", FS_I64(st.disabled));
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += h->period_ms / 1000;
        ts.tv_nsec += (h->period_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&h->mu);
        while (!h->stop && pthread_cond_timedwait(&h->cv, &h->mu, &ts) == 0) {
        }
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

int fs_mcp_hub_start(struct fs_mcp_hub *h, int64_t period_ms, struct fs_err *err)
{
    if (h->running)
        return 0;
    h->period_ms = period_ms > 0 ? period_ms : 60000;
    if (pthread_create(&h->thread, NULL, refresher, h) != 0)
        return fs_err_set(err, FS_E_SYSTEM, NULL, "cannot start the MCP refresh thread");
    h->running = true;
    return 0;
}

void fs_mcp_hub_free(struct fs_mcp_hub *h)
{
    if (!h)
        return;
    if (h->running) {
        pthread_mutex_lock(&h->mu);
        h->stop = true;
        pthread_cond_broadcast(&h->cv);
        pthread_mutex_unlock(&h->mu);
        pthread_join(h->thread, NULL);
    }
    for (struct rtool *t = h->rtools, *next; t; t = next) {
        next = t->next;
        if (h->o.tools)
            fs_registry_set_enabled(h->o.tools, t->name, false, NULL);
        free(t);
    }
    for (struct server *s = h->servers, *next; s; s = next) {
        next = s->next;
        conn_close(conn_retire_locked(s));
        json_decref(s->def);
        json_decref(s->tools);
        json_decref(s->pins);
        free(s->conn_key);
        free(s);
    }
    json_decref(h->noted);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    pthread_mutex_destroy(&h->refresh_mu);
    free(h);
}
