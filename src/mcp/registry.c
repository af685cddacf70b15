/* registry: the MCP server registry's rules and writes (docs/mcp.md). Pure parts: definitions
 * checked and made canonical (the checker itself is core/config.c's, shared with
 * mcp.servers), tool definitions hashed and compared with their pins, the Claude Code mcp.json
 * rendered. Writes: servers and pins in the store, each with its audit record in the caller's
 * transaction, and the configuration's servers loaded into the table. Never starts a server,
 * never speaks MCP, never stores, logs or audits a secret value. */
#include "core/common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "core/config.h"
#include "core/hash.h"
#include "core/json.h"
#include "mcp/registry.h"

#define SECRET_FILE_MAX 8192

/* ---- definitions -------------------------------------------------------------------------- */

struct check_report {
    struct fs_buf *diag;
    struct fs_err *err;
    int n;
};

static void check_problem(void *arg, const char *path, const char *msg)
{
    struct check_report *r = arg;
    if (r->n++ == 0)
        fs_err_set(r->err, FS_E_INVALID, path, "%s: %s", path, msg);
    if (r->diag)
        fs_buf_printf(r->diag, "%s: %s\n", path, msg);
}

int fs_mcp_server_check(const json_t *def, json_t **out, struct fs_buf *diag, struct fs_err *err)
{
    struct check_report r = {diag, err, 0};
    int rc = fs_config_mcp_server_check(def, "", NULL, check_problem, &r, out);
    if (rc < 0)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    return rc > 0 ? -FS_E_INVALID : 0;
}

bool fs_mcp_name_valid(const char *name)
{
    return fs_config_mcp_name_ok(name);
}

/* ---- tool pins ---------------------------------------------------------------------------- */

int fs_mcp_tool_hash(const json_t *tool, char out[65], char **canonical, struct fs_err *err)
{
    if (canonical)
        *canonical = NULL;
    if (!json_is_object(tool))
        return fs_err_set(err, FS_E_PROTOCOL, NULL, "a tool definition is not an object");
    json_t *copy = json_deep_copy(tool);
    if (!copy)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    json_object_del(copy, "_meta"); /* opaque, per listing; not part of what the tool is */
    char *text = fs_json_canonical(copy);
    json_decref(copy);
    if (!text)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    if (fs_sha256_hex(text, strlen(text), out) < 0) {
        free(text);
        return fs_err_set(err, FS_E_SYSTEM, NULL, "cannot hash a tool definition");
    }
    if (canonical)
        *canonical = text;
    else
        free(text);
    return 0;
}

static const json_t *pin_of(const json_t *pins, const char *tool)
{
    size_t i;
    json_t *p;
    json_array_foreach(
        pins, i, p) if (fs_streq(json_string_value(json_object_get(p, "tool")), tool)) return p;
    return NULL;
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

int fs_mcp_pins_compare(const json_t *listed, const json_t *pins, json_t **out, struct fs_err *err)
{
    *out = NULL;
    if (!json_is_array(listed))
        return fs_err_set(err, FS_E_PROTOCOL, NULL, "tools/list: tools is not an array");
    json_t *res = json_array();
    if (!res)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    size_t i, j;
    json_t *t, *prev;
    json_array_foreach(listed, i, t)
    {
        const char *name = json_string_value(json_object_get(t, "name"));
        if (!name) {
            json_decref(res);
            return fs_err_set(err, FS_E_PROTOCOL, NULL, "tools/list: tools[%zu] has no name", i);
        }
        json_array_foreach(
            res, j, prev) if (fs_streq(json_string_value(json_object_get(prev, "tool")), name))
        {
            json_decref(res);
            return fs_err_set(err, FS_E_PROTOCOL, NULL, "tools/list: tool %s is listed twice",
                              name);
        }
        char sha[65];
        int rc = fs_mcp_tool_hash(t, sha, NULL, err);
        if (rc < 0) {
            json_decref(res);
            return rc;
        }
        const json_t *pin = pin_of(pins, name);
        const char *psha = pin ? json_string_value(json_object_get(pin, "sha256")) : NULL;
        const char *change = !pin ? "new" : fs_streq(psha, sha) ? "unchanged" : "changed";
        json_t *row = json_pack("{ss ss ss so so sO}", "tool", name, "change", change, "sha256",
                                sha, "pinned_sha256", str_or_null(psha), "pin_status",
                                pin ? json_deep_copy(json_object_get(pin, "status")) : json_null(),
                                "definition", t);
        if (!row || json_array_append_new(res, row) < 0) {
            json_decref(res);
            return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        }
    }
    json_t *p;
    json_array_foreach(pins, i, p)
    {
        const char *name = json_string_value(json_object_get(p, "tool"));
        bool seen = false;
        json_array_foreach(listed, j, t) seen =
            seen || fs_streq(json_string_value(json_object_get(t, "name")), name);
        if (seen || !name)
            continue;
        json_t *row =
            json_pack("{ss ss so so sO}", "tool", name, "change", "missing", "sha256", json_null(),
                      "pinned_sha256", str_or_null(json_string_value(json_object_get(p, "sha256"))),
                      "pin_status", json_object_get(p, "status"));
        if (!row || json_array_append_new(res, row) < 0) {
            json_decref(res);
            return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        }
    }
    *out = res;
    return 0;
}

/* ---- mcp.json ----------------------------------------------------------------------------- */

static int read_secret_file(const char *path, char **value, struct fs_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return fs_err_set(err, FS_E_IO, NULL, "secret file %s: %s", path, strerror(errno));
    char buf[SECRET_FILE_MAX + 1];
    size_t n = fread(buf, 1, SECRET_FILE_MAX, f);
    bool more = fgetc(f) != EOF;
    fclose(f);
    int rc = 0;
    if (more)
        rc = fs_err_set(err, FS_E_INVALID, NULL, "secret file %s is larger than %d bytes", path,
                        SECRET_FILE_MAX);
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    if (rc == 0 && (n == 0 || strlen(buf) != n))
        rc = fs_err_set(err, FS_E_INVALID, NULL, "secret file %s is empty or contains NUL bytes",
                        path);
    if (rc == 0 && !(*value = fs_strdup(buf)))
        rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    explicit_bzero(buf, sizeof(buf));
    return rc;
}

int fs_mcp_secret_resolve(void *arg, const json_t *ref, char **value, struct fs_err *err)
{
    *value = NULL;
    const char *env = json_string_value(json_object_get(ref, "env"));
    const char *file = json_string_value(json_object_get(ref, "file"));
    if (env) {
        const char *v = getenv(env);
        if (!v || !*v)
            return fs_err_set(err, FS_E_CONFIG, NULL, "environment variable %s is not set", env);
        return (*value = fs_strdup(v)) ? 0 : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    if (file)
        return read_secret_file(file, value, err);
    return fs_err_set(err, FS_E_INVALID, NULL, "not a secret reference");
}

static void secret_free(char *v)
{
    if (v) {
        explicit_bzero(v, strlen(v));
        free(v);
    }
}

/* One reference (or, for headers, a literal) of server.field.key to its value in *out. */
static int resolve_value(const char *server, const char *field, const char *key, const json_t *v,
                         bool header, fs_mcp_secret_fn resolve, void *arg, json_t **out,
                         struct fs_err *err)
{
    char where[400];
    snprintf(where, sizeof(where), "%s.%s.%s", server, field, key);
    *out = NULL;
    if (json_is_string(v)) {
        *out = json_string(json_string_value(v));
        return *out ? 0 : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    char *secret = NULL;
    struct fs_err e;
    if (resolve(arg, v, &secret, &e) < 0)
        return fs_err_set(err, e.code, where, "%s: %s", where, e.msg);
    const char *prefix = json_string_value(json_object_get(v, "prefix"));
    size_t n = strlen(secret) + (prefix ? strlen(prefix) : 0) + 1;
    char *full = fs_malloc(n);
    int rc = 0;
    if (!full) {
        rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    } else {
        snprintf(full, n, "%s%s", prefix ? prefix : "", secret);
        /* a header value with a line break would be a second header */
        for (const char *c = full; header && rc == 0 && *c; c++)
            if ((unsigned char)*c < 0x20 && *c != '\t')
                rc = fs_err_set(err, FS_E_INVALID, where,
                                "%s: the secret contains control characters", where);
        if (rc == 0 && !(*out = json_string(full)))
            rc = fs_err_set(err, FS_E_INVALID, where, "%s: the secret is not valid UTF-8", where);
    }
    secret_free(full);
    secret_free(secret);
    return rc;
}

static int resolve_map(const char *server, const char *field, const json_t *map, bool header,
                       fs_mcp_secret_fn resolve, void *arg, json_t **out, struct fs_err *err)
{
    json_t *o = json_object();
    if (!o)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)map, key, v)
    {
        json_t *val;
        int rc = resolve_value(server, field, key, v, header, resolve, arg, &val, err);
        if (rc < 0) {
            json_decref(o);
            return rc;
        }
        json_object_set_new(o, key, val);
    }
    *out = o;
    return 0;
}

int fs_mcp_config_render(const json_t *servers, const char *self, const json_t *self_args,
                         fs_mcp_secret_fn resolve, void *arg, json_t **out, struct fs_err *err)
{
    *out = NULL;
    json_t *map = json_object();
    if (!map)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    size_t i;
    json_t *s;
    int rc = 0;
    json_array_foreach(servers, i, s)
    {
        const char *name = json_string_value(json_object_get(s, "name"));
        if (!name || json_is_false(json_object_get(s, "enabled")))
            continue;
        if (strcmp(name, FS_MCP_GATEWAY_NAME) == 0) {
            rc = fs_err_set(err, FS_E_INVALID, name, "a server may not be named %s",
                            FS_MCP_GATEWAY_NAME);
            break;
        }
        json_t *entry = NULL, *resolved = NULL;
        if (fs_streq(json_string_value(json_object_get(s, "transport")), "http")) {
            json_t *h = json_object_get(s, "headers");
            rc = resolve_map(name, "headers", h, true, resolve, arg, &resolved, err);
            if (rc == 0)
                entry = json_pack("{ss sO so}", "type", "http", "url", json_object_get(s, "url"),
                                  "headers", resolved);
        } else {
            json_t *e = json_object_get(s, "env");
            json_t *args = json_object_get(s, "args");
            rc = resolve_map(name, "env", e, false, resolve, arg, &resolved, err);
            if (rc == 0)
                entry = json_pack("{sO so so}", "command", json_object_get(s, "command"), "args",
                                  args ? json_deep_copy(args) : json_array(), "env", resolved);
        }
        if (rc < 0)
            break;
        if (!entry || json_object_set_new(map, name, entry) < 0) {
            rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
            break;
        }
    }
    if (rc == 0) {
        json_t *gw =
            json_pack("{ss sO}", "command", self, "args", self_args ? self_args : json_array());
        if (!gw || json_object_set_new(map, FS_MCP_GATEWAY_NAME, gw) < 0 ||
            !(*out = json_pack("{so}", "mcpServers", map)))
            rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        else
            return 0;
    }
    json_decref(map);
    return rc;
}

/* ---- registry writes ---------------------------------------------------------------------- */

static const char *const def_keys[] = {
    "name",    "transport", "command",         "args",         "env", "url", "headers",
    "enabled", "trust",     "read_only_tools", "tool_mappings"};

/* The definition part of a stored row (or of anything in the canonical shape), a new object. */
static json_t *definition_of(const json_t *row)
{
    json_t *d = json_object();
    for (size_t i = 0; d && i < FS_ARRAY_LEN(def_keys); i++) {
        json_t *v = json_object_get(row, def_keys[i]);
        json_object_set_new(d, def_keys[i], v ? json_deep_copy(v) : json_null());
    }
    return d;
}

static char *text_of(const json_t *def, const char *key)
{
    return fs_json_canonical(json_object_get(def, key));
}

int fs_mcp_server_put(struct fs_store *s, const json_t *def, const char *source, const char *actor,
                      int64_t now, enum fs_mcp_change *what, struct fs_err *err)
{
    const char *name = json_string_value(json_object_get(def, "name"));
    if (what)
        *what = FS_MCP_UNCHANGED;
    if (!fs_mcp_name_valid(name))
        return fs_err_set(err, FS_E_INVALID, "name", "name: not a valid server name");
    json_t *old = NULL, *newdef = definition_of(def), *olddef = NULL;
    int rc = fs_store_mcp_server_get(s, name, &old, err);
    if (rc < 0 && rc != -FS_E_NOT_FOUND) {
        json_decref(newdef);
        return rc;
    }
    rc = 0;
    char *ntext = fs_json_canonical(newdef), *otext = NULL;
    if (old) {
        olddef = definition_of(old);
        otext = fs_json_canonical(olddef);
    }
    enum fs_mcp_change change =
        !old ? FS_MCP_ADDED
        : (fs_streq(ntext, otext) &&
           fs_streq(json_string_value(json_object_get(old, "source")), source))
            ? FS_MCP_UNCHANGED
            : FS_MCP_CHANGED;
    char *args = text_of(def, "args"), *env = text_of(def, "env");
    char *headers = text_of(def, "headers"), *ro = text_of(def, "read_only_tools");
    char *maps = text_of(def, "tool_mappings");
    if (!ntext || !args || !env || !headers || !ro || !maps || !newdef) {
        rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        goto out;
    }
    if (change == FS_MCP_UNCHANGED)
        goto out;
    struct fs_mcp_server_row row = {
        .name = name,
        .transport = json_string_value(json_object_get(def, "transport")),
        .command = json_string_value(json_object_get(def, "command")),
        .args = args,
        .env = env,
        .url = json_string_value(json_object_get(def, "url")),
        .headers = headers,
        .enabled = !json_is_false(json_object_get(def, "enabled")),
        .trust = json_string_value(json_object_get(def, "trust")),
        .read_only_tools = ro,
        .tool_mappings = maps,
        .source = source,
    };
    if ((rc = fs_store_mcp_server_upsert(s, &row, now, err)) < 0)
        goto out;
    json_t *data = json_pack("{ss ss ss sO}", "event", change == FS_MCP_ADDED ? "added" : "changed",
                             "server", name, "source", source, "definition", newdef);
    if (data && olddef) {
        json_object_set(data, "previous", olddef);
        json_object_set(data, "previous_source", json_object_get(old, "source"));
    }
    rc = data ? fs_audit_append(s, now, FS_AUDIT_MCP_SERVER, actor, data, NULL, err)
              : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    json_decref(data);
out:
    if (rc == 0 && what)
        *what = change;
    free(args);
    free(env);
    free(headers);
    free(ro);
    free(maps);
    free(ntext);
    free(otext);
    json_decref(newdef);
    json_decref(olddef);
    json_decref(old);
    return rc;
}

int fs_mcp_server_delete(struct fs_store *s, const char *name, const char *actor, int64_t now,
                         struct fs_err *err)
{
    json_t *old = NULL;
    int rc = fs_store_mcp_server_get(s, name, &old, err);
    if (rc < 0)
        return rc;
    int64_t pins = 0;
    if ((rc = fs_store_mcp_server_remove(s, name, &pins, err)) == 0) {
        json_t *def = definition_of(old);
        json_t *data = def ? json_pack("{ss ss sO so sI}", "event", "removed", "server", name,
                                       "source", json_object_get(old, "source"), "definition", def,
                                       "pins_removed", (json_int_t)pins)
                           : NULL;
        rc = data ? fs_audit_append(s, now, FS_AUDIT_MCP_SERVER, actor, data, NULL, err)
                  : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        json_decref(data);
    }
    json_decref(old);
    return rc;
}

static int audit_tool(struct fs_store *s, int64_t now, const char *actor, const char *event,
                      const char *server, const char *tool, const char *sha, const char *previous,
                      struct fs_err *err)
{
    json_t *d =
        json_pack("{ss ss ss ss}", "event", event, "server", server, "tool", tool, "sha256", sha);
    if (d && previous)
        json_object_set_new(d, "previous_sha256", json_string(previous));
    int rc = d ? fs_audit_append(s, now, FS_AUDIT_MCP_TOOL, actor, d, NULL, err)
               : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    json_decref(d);
    return rc;
}

int fs_mcp_pins_record(struct fs_store *s, const char *server, const json_t *listed, int64_t now,
                       json_t **diff, struct fs_err *err)
{
    if (diff)
        *diff = NULL;
    json_t *pins = NULL, *cmp = NULL;
    int rc = fs_store_mcp_pins_get(s, server, &pins, err);
    if (rc == 0)
        rc = fs_mcp_pins_compare(listed, pins, &cmp, err);
    size_t i;
    json_t *c;
    json_array_foreach(cmp, i, c)
    {
        if (rc < 0)
            break;
        const char *change = json_string_value(json_object_get(c, "change"));
        if (strcmp(change, "missing") == 0)
            continue;
        const char *tool = json_string_value(json_object_get(c, "tool"));
        const char *sha = json_string_value(json_object_get(c, "sha256"));
        const char *psha = json_string_value(json_object_get(c, "pinned_sha256"));
        const char *pstatus = json_string_value(json_object_get(c, "pin_status"));
        const json_t *pin = pin_of(pins, tool);
        const char *approved =
            pin ? json_string_value(json_object_get(pin, "approved_sha256")) : NULL;
        /* a changed definition is disabled until approved again, unless it is back to the one
         * that was approved; one never approved stays new */
        const char *status = strcmp(change, "new") == 0         ? "new"
                             : strcmp(change, "unchanged") == 0 ? pstatus
                             : fs_streq(approved, sha)          ? "approved"
                             : fs_streq(pstatus, "new")         ? "new"
                                                                : "changed";
        char *text = fs_json_canonical(json_object_get(c, "definition"));
        struct fs_mcp_pin_row row = {server, tool, sha, status, text};
        rc = text ? fs_store_mcp_pin_put(s, &row, now, err)
                  : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        free(text);
        if (rc == 0 && strcmp(change, "new") == 0)
            rc = audit_tool(s, now, "forestall", "pinned", server, tool, sha, NULL, err);
        else if (rc == 0 && strcmp(change, "changed") == 0)
            rc = audit_tool(s, now, "forestall", "changed", server, tool, sha, psha, err);
    }
    json_decref(pins);
    if (rc < 0 || !diff)
        json_decref(cmp);
    else
        *diff = cmp;
    return rc;
}

int fs_mcp_pin_approve(struct fs_store *s, const char *server, const char *tool, const char *actor,
                       int64_t now, json_t **approved, struct fs_err *err)
{
    if (approved)
        *approved = NULL;
    json_t *pins = NULL, *done = json_array();
    int rc = done ? fs_store_mcp_pins_get(s, server, &pins, err)
                  : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    if (rc == 0 && tool && !pin_of(pins, tool))
        rc = fs_err_set(err, FS_E_NOT_FOUND, NULL, "server %s has no pinned tool %s", server, tool);
    size_t i;
    json_t *p;
    json_array_foreach(pins, i, p)
    {
        if (rc < 0)
            break;
        const char *name = json_string_value(json_object_get(p, "tool"));
        const char *sha = json_string_value(json_object_get(p, "sha256"));
        if (tool && strcmp(name, tool) != 0)
            continue;
        bool changed = false;
        rc = fs_store_mcp_pin_approve(s, server, name, sha, actor, now, &changed, err);
        if (rc == 0 && changed) {
            rc = audit_tool(s, now, actor, "approved", server, name, sha,
                            json_string_value(json_object_get(p, "approved_sha256")), err);
            if (rc == 0)
                json_array_append_new(done, json_string(name));
        }
    }
    json_decref(pins);
    if (rc < 0 || !approved)
        json_decref(done);
    else
        *approved = done;
    return rc;
}

/* ---- the configuration's servers ---------------------------------------------------------- */

struct load_tx {
    const struct fs_config *cfg;
    int64_t now;
    int changed;
};

static int load_fn(struct fs_store *s, void *arg, struct fs_err *err)
{
    struct load_tx *t = arg;
    t->changed = 0; /* the function may run again */
    for (size_t i = 0; i < t->cfg->mcp.servers.n; i++) {
        json_t *def = json_loads(t->cfg->mcp.servers.items[i], 0, NULL);
        if (!def)
            return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        enum fs_mcp_change what;
        int rc = fs_mcp_server_put(s, def, "config", "config", t->now, &what, err);
        json_decref(def);
        if (rc < 0)
            return rc;
        t->changed += what != FS_MCP_UNCHANGED;
    }
    return 0;
}

int fs_mcp_registry_load_config(const struct fs_writer *w, const struct fs_config *cfg, int64_t now,
                                int *changed, struct fs_err *err)
{
    struct load_tx t = {cfg, now, 0};
    int rc = cfg->mcp.servers.n ? fs_writer_run(w, load_fn, &t, err) : 0;
    if (changed)
        *changed = rc == 0 ? t.changed : 0;
    return rc;
}

bool fs_mcp_config_declares(const struct fs_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->mcp.servers.n; i++) {
        json_t *def = json_loads(cfg->mcp.servers.items[i], 0, NULL);
        bool same = fs_streq(json_string_value(json_object_get(def, "name")), name);
        json_decref(def);
        if (same)
            return true;
    }
    return false;
}
