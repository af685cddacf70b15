/* server: the MCP gateway's protocol side (mcp/server.h) — the lifecycle (initialize, ping),
 * tools/list (the read-only tools and one tool per catalog action) and tools/call (a read-only
 * call recorded as an observation; an action call sent through the gate as a proposal). */
#include "core/common.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/time.h"
#include "exec/exec.h"
#include "mcp/jsonrpc.h"
#include "mcp/server.h"
#include "safety/catalog.h"
#include "safety/service.h"
#include "store/store.h"
#include "tools/registry.h"
#include "tools/route.h"
#include "version.h"

#define ACTION_PREFIX "action."

struct fs_mcp_server {
    struct fs_mcp_server_opts o;
    char principal[96];
    bool initialized;
    char actor[160];  /* "mcp:<clientInfo.name>" */
    json_t *observed; /* observation ids this session recorded */
    char host[256];   /* the bound incident's host ("" = this machine), once looked up */
    bool host_known;
};

int fs_mcp_server_new(const struct fs_mcp_server_opts *o, struct fs_mcp_server **out,
                      struct fs_err *err)
{
    struct fs_mcp_server *s = fs_calloc(1, sizeof(*s));
    if (!s || !(s->observed = json_array())) {
        free(s);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    s->o = *o;
    snprintf(s->principal, sizeof(s->principal), "%s", o->principal ? o->principal : "");
    s->o.principal = NULL; /* borrowed by the caller: the copy above is what stays */
    snprintf(s->actor, sizeof(s->actor), "%s%smcp:client", s->principal,
             s->principal[0] ? " via " : "");
    *out = s;
    return 0;
}

void fs_mcp_server_free(struct fs_mcp_server *s)
{
    if (!s)
        return;
    json_decref(s->observed);
    free(s);
}

void fs_mcp_server_use(struct fs_mcp_server *s, const struct fs_config *cfg,
                       const struct fs_rules *rules)
{
    s->o.cfg = cfg;
    s->o.rules = rules;
}

/* ---- tools/list ------------------------------------------------------------------------- */

static json_t *action_tool(const struct fs_action *a)
{
    json_t *params = fs_action_params_schema(a);
    char desc[2400];
    snprintf(desc, sizeof(desc),
             "Propose the catalog action %s (%s, tier %d) through forestall's safety gate. It runs "
             "only when the gate says execute; otherwise the result says it waits for a "
             "person's approval or was blocked, and why. %s",
             a->name, a->category, a->tier, a->description ? a->description : "");
    char name[160];
    snprintf(name, sizeof(name), ACTION_PREFIX "%s", a->name);
    json_t *schema = json_pack(
        "{s:s,s:{s:o,s:{s:s,s:{s:{s:s},s:{s:s},s:{s:s},s:{s:s}}},s:{s:s,s:s},s:{s:s,s:{s:s},"
        "s:s},s:{s:s}},s:[s],s:b}",
        "type", "object", "properties", "params", params ? params : json_object(), "target", "type",
        "object", "properties", "host", "type", "string", "service", "type", "string", "namespace",
        "type", "string", "workload", "type", "string", "incident", "type", "string", "description",
        "the incident this is for (inc-N); the session's own when bound", "cited", "type", "array",
        "items", "type", "string", "description",
        "observation ids (obs-N) the proposal rests on; default: this session's", "rationale",
        "type", "string", "required", "params", "additionalProperties", 0);
    return json_pack("{s:s,s:s,s:o,s:{s:b,s:b,s:b,s:b}}", "name", name, "description", desc,
                     "inputSchema", schema, "annotations", "readOnlyHint", 0, "destructiveHint", 1,
                     "idempotentHint", 0, "openWorldHint", 1);
}

static json_t *tools_list(struct fs_mcp_server *s)
{
    json_t *all = fs_tools_list_json(s->o.tools), *out = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(
        json_object_get(all, "tools"), i,
        t) if (json_is_true(json_object_get(json_object_get(t, "annotations"), "readOnlyHint")))
        json_array_append(out, t); /* only what only reads is offered as a plain tool */
    json_decref(all);
    const struct fs_catalog *c = s->o.rules ? s->o.rules->catalog : NULL;
    for (size_t k = 0; c && k < c->n; k++)
        json_array_append_new(out, action_tool(&c->actions[k]));
    return json_pack("{s:o}", "tools", out);
}

/* ---- tools/call -------------------------------------------------------------------------- */

static json_t *text_result(const char *text, bool is_error, json_t *structured)
{
    json_t *r = json_pack("{s:[{s:s,s:s}],s:b}", "content", "type", "text", "text",
                          text ? text : "", "isError", is_error);
    if (r && structured)
        json_object_set(r, "structuredContent", structured);
    return r;
}

struct observe_tx {
    struct fs_mcp_server *s;
    json_t *body;
    json_t *result;
};

static int observe_tx(struct fs_store *st, void *arg, struct fs_err *err)
{
    struct observe_tx *x = arg;
    struct fs_identity who = {.name = x->s->actor, .role = FS_ROLE_AGENT, .authenticated = true};
    struct fs_safety_request q = {
        .who = &who, .rules = x->s->o.rules, .now = fs_now_ms(), .body = x->body};
    int rc = fs_safety_observe(st, &q, err);
    if (rc == 0 && q.rc == 0)
        x->result = json_incref(q.result);
    fs_safety_request_reset(&q);
    return rc;
}

/* An incident's labels: its common ones, or else those of its first episode. */
static const json_t *incident_labels(const json_t *inc)
{
    const json_t *l = json_object_get(inc, "labels");
    if (json_object_get(l, "instance"))
        return l;
    return json_object_get(json_array_get(json_object_get(inc, "episodes"), 0), "labels");
}

static int call_read_only(struct fs_mcp_server *s, const char *name, json_t *args, json_t **out,
                          struct fs_err *err)
{
    struct fs_tool_ctx ctx = {0};
    const char **roots = NULL;
    struct fs_err re = {0};
    /* a session bound to an incident looks where an investigation of it would: its host */
    if (s->o.incident_id && !s->host_known && s->o.w) {
        json_t *inc = NULL;
        if (fs_store_incident_get(s->o.w->store, s->o.incident_id, &inc, &re) == 0) {
            fs_route_host(json_string_value(json_object_get(incident_labels(inc), "instance")),
                          s->host, sizeof(s->host));
            s->host_known = true;
        }
        json_decref(inc);
    }
    int rr =
        s->o.cfg ? fs_route_tool_ctx(s->o.cfg, s->host[0] ? s->host : NULL, &ctx, &roots, &re) : 0;
    /* a host forestall cannot reach: host tools say so; the others (metrics, logs, the
     * cluster, the graph) do not run on it and still answer */
    if (rr < 0 && strncmp(name, "host.", 5) != 0) {
        free(roots);
        roots = NULL;
        rr = fs_route_tool_ctx(s->o.cfg, NULL, &ctx, &roots, &re);
    }
    if (rr < 0) {
        free(roots);
        *out = text_result(re.msg, true, NULL);
        return *out ? 0 : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    ctx.graph = s->o.rules ? s->o.rules->graph : NULL;
    ctx.store = s->o.w ? s->o.w->store : NULL;
    struct fs_tool_result r = {0};
    struct fs_err te = {0};
    int rc = fs_tools_call(s->o.tools, name, args, &ctx, &r, &te);
    free(roots);
    if (rc == -FS_E_NOMEM)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    if (rc < 0) {
        *out = text_result(te.msg, true, NULL);
        return *out ? 0 : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    /* a session bound to an incident keeps what it saw as evidence for its proposals */
    char note[96] = "";
    if (s->o.incident_id && s->o.w) {
        char inc[32];
        snprintf(inc, sizeof(inc), "inc-%" PRId64, s->o.incident_id);
        struct observe_tx x = {s,
                               json_pack("{s:s,s:s,s:O,s:s,s:I}", "incident", inc, "tool", name,
                                         "input", args ? args : json_object(), "output",
                                         r.text ? r.text : "", "durationMs",
                                         (json_int_t)r.duration_ms),
                               NULL};
        rc = x.body ? fs_writer_run(s->o.w, observe_tx, &x, err)
                    : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        json_decref(x.body);
        if (rc < 0) {
            fs_tool_result_release(&r);
            return rc;
        }
        const char *obs = json_string_value(json_object_get(x.result, "id"));
        if (obs) {
            json_array_append_new(s->observed, json_string(obs));
            snprintf(note, sizeof(note), "\n[recorded as %s]", obs);
            /* clients that show structured content rather than text (Claude Code does) must
             * see the evidence id too */
            if (json_is_object(r.structured)) {
                json_t *copy = json_copy(r.structured);
                if (copy && json_object_set_new(copy, "recordedAs", json_string(obs)) == 0) {
                    json_decref(r.structured);
                    r.structured = copy;
                } else {
                    json_decref(copy);
                }
            }
        }
        json_decref(x.result);
    }
    char *text = NULL;
    size_t tl = strlen(r.text ? r.text : "") + strlen(note) + 1;
    if ((text = malloc(tl)))
        snprintf(text, tl, "%s%s", r.text ? r.text : "", note);
    *out = text_result(text, r.is_error, r.structured);
    free(text);
    fs_tool_result_release(&r);
    return *out ? 0 : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
}

struct propose_tx {
    struct fs_mcp_server *s;
    json_t *body;
    json_t *result;
    int qrc;
    char qmsg[512];
};

static int propose_tx(struct fs_store *st, void *arg, struct fs_err *err)
{
    struct propose_tx *x = arg;
    struct fs_identity who = {.name = x->s->actor, .role = FS_ROLE_AGENT, .authenticated = true};
    struct fs_safety_request q = {
        .who = &who,
        .rules = x->s->o.rules,
        .defaults = {x->s->o.cfg->safety.default_env, x->s->o.cfg->safety.default_resource_class},
        .now = fs_now_ms(),
        .body = x->body,
    };
    json_decref(x->result);
    x->result = NULL;
    int rc = fs_safety_propose(st, &q, err);
    x->qrc = q.rc;
    snprintf(x->qmsg, sizeof(x->qmsg), "%s", q.err.msg);
    if (rc == 0 && q.rc == 0)
        x->result = json_incref(q.result);
    fs_safety_request_reset(&q);
    return rc;
}

static void reasons_text(const json_t *gate, char *out, size_t size)
{
    out[0] = '\0';
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(gate, "reasons"), i, r)
    {
        size_t n = strlen(out);
        if (n + 4 >= size)
            break;
        snprintf(out + n, size - n, "%s%s", n ? "; " : "", json_string_value(r));
    }
    fs_utf8_cut(out);
}

static int call_action(struct fs_mcp_server *s, const char *action, json_t *args, json_t **out,
                       struct fs_err *err)
{
    if (!s->o.w || !s->o.cfg) {
        *out =
            text_result("refused: this gateway has no store to record a proposal in", true, NULL);
        return *out ? 0 : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    char inc[40];
    const char *named = json_string_value(json_object_get(args, "incident"));
    if (named)
        snprintf(inc, sizeof(inc), "%s", named);
    else if (s->o.incident_id)
        snprintf(inc, sizeof(inc), "inc-%" PRId64, s->o.incident_id);
    else {
        *out = text_result("refused: name the incident this is for (incident: inc-N)", true, NULL);
        return *out ? 0 : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    json_t *cited = json_object_get(args, "cited");
    const char *rationale = json_string_value(json_object_get(args, "rationale"));
    json_t *pv = json_object_get(args, "params"), *tv = json_object_get(args, "target");
    json_t *body = json_pack(
        "{s:s,s:o,s:o,s:s,s:f,s:{s:s},s:{s:O}}", "action", action, "params",
        pv ? json_incref(pv) : json_object(), "target", tv ? json_incref(tv) : json_object(),
        "rationale", rationale ? rationale : "proposed through the MCP gateway", "confidence", 0.5,
        "incident", "id", inc, "evidence", "cited", json_is_array(cited) ? cited : s->observed);
    struct propose_tx x = {.s = s, .body = body};
    int rc =
        body ? fs_writer_run(s->o.w, propose_tx, &x, err) : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    json_decref(body);
    if (rc < 0)
        return rc;
    char text[1600];
    bool is_error = false;
    if (x.qrc < 0) {
        snprintf(text, sizeof(text), "refused: %s", x.qmsg);
        is_error = true;
    } else {
        const char *dec = json_string_value(json_object_get(x.result, "decision"));
        const char *id = json_string_value(json_object_get(x.result, "id"));
        json_t *gate = json_object_get(x.result, "gate");
        char why[1200];
        reasons_text(gate, why, sizeof(why));
        int64_t pid = 0;
        fs_parse_id(id, "prop", &pid);
        if (fs_streq(dec, "execute") && s->o.execute && pid) {
            struct fs_exec_report rep = {0};
            if ((rc = s->o.execute(s->o.execute_arg, pid, &rep, err)) < 0) {
                json_decref(x.result);
                return rc;
            }
            /* queued or running: the daemon's executor has not finished within the wait */
            bool later = fs_streq(rep.outcome, "queued") || fs_streq(rep.outcome, "running");
            is_error = !fs_streq(rep.outcome, "succeeded") && !later;
            snprintf(text, sizeof(text), "%s %s: %s%s%s",
                     later ? "approved by the gate:" : "executed", id,
                     rep.outcome[0] ? rep.outcome : "not run", rep.reason[0] ? " — " : "",
                     rep.reason);
        } else if (fs_streq(dec, "execute")) {
            snprintf(text, sizeof(text), "approved by the gate: %s is queued for the executor", id);
        } else if (fs_streq(dec, "needs_approval") || fs_streq(dec, "needs_force_override")) {
            snprintf(text, sizeof(text), "pending approval %s%s%s", id, why[0] ? ": " : "", why);
        } else if (fs_streq(dec, "shadow")) {
            snprintf(text, sizeof(text), "shadow mode: %s recorded, not run%s%s", id,
                     why[0] ? ": " : "", why);
        } else {
            snprintf(text, sizeof(text), "blocked: %s", why[0] ? why : dec ? dec : "?");
            is_error = true;
        }
    }
    /* the message first in the structured content too: clients that show only structured
     * content (Claude Code does) must read "pending approval" or "blocked", not just JSON */
    json_t *sc = x.result ? json_pack("{s:s,s:O}", "result", text, "proposal", x.result) : NULL;
    *out = text_result(text, is_error, sc);
    json_decref(sc);
    json_decref(x.result);
    return *out ? 0 : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
}

static int tools_call(struct fs_mcp_server *s, const json_t *params, json_t **out,
                      struct fs_err *err)
{
    const char *name = json_string_value(json_object_get(params, "name"));
    json_t *args = json_object_get(params, "arguments");
    if (args && !json_is_object(args))
        args = NULL;
    if (!name) {
        *out = text_result("tools/call needs a tool name", true, NULL);
        return *out ? 0 : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    if (!strncmp(name, ACTION_PREFIX, strlen(ACTION_PREFIX))) {
        const char *action = name + strlen(ACTION_PREFIX);
        if (s->o.rules && fs_catalog_find(s->o.rules->catalog, action)) {
            json_t *none = args ? NULL : json_object();
            int rc = call_action(s, action, args ? args : none, out, err);
            json_decref(none);
            return rc;
        }
    } else {
        struct fs_tool_annotations ann;
        if (fs_tools_annotations(s->o.tools, name, &ann) && ann.read_only)
            return call_read_only(s, name, args, out, err);
    }
    char msg[300];
    snprintf(msg, sizeof(msg), "no tool %.200s on this gateway", name);
    fs_utf8_cut(msg);
    *out = text_result(msg, true, NULL);
    return *out ? 0 : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
}

/* ---- dispatch ---------------------------------------------------------------------------- */

int fs_mcp_server_handle(struct fs_mcp_server *s, const char *buf, size_t len, json_t **reply,
                         struct fs_err *err)
{
    *reply = NULL;
    struct fs_jsonrpc_msg m;
    struct fs_err pe = {0};
    int rc = fs_jsonrpc_parse(buf, len, NULL, &m, &pe);
    if (rc == -FS_E_NOMEM) {
        fs_jsonrpc_msg_release(&m);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    if (rc < 0) {
        if (!m.looks_like_response)
            *reply = fs_jsonrpc_error(m.id, m.rpc_code, pe.msg, NULL);
        fs_jsonrpc_msg_release(&m);
        return 0;
    }
    if (m.kind != FS_JSONRPC_REQUEST) {
        /* notifications (initialized, cancelled) and responses need no answer */
        if (m.kind == FS_JSONRPC_NOTIFICATION && fs_streq(m.method, "notifications/initialized"))
            s->initialized = true;
        fs_jsonrpc_msg_release(&m);
        return 0;
    }
    json_t *result = NULL;
    if (!strcmp(m.method, "initialize")) {
        const char *want = json_string_value(json_object_get(m.params, "protocolVersion"));
        const char *ver = fs_streq(want, "2025-06-18") || fs_streq(want, "2025-03-26")
                              ? want
                              : FS_MCP_PROTOCOL_LATEST;
        const char *client =
            json_string_value(json_object_get(json_object_get(m.params, "clientInfo"), "name"));
        snprintf(s->actor, sizeof(s->actor), "%s%smcp:%.60s", s->principal,
                 s->principal[0] ? " via " : "", client && *client ? client : "client");
        for (char *p = s->actor; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                *p = '_';
        result = json_pack("{s:s,s:{s:{s:b}},s:{s:s,s:s},s:s}", "protocolVersion", ver,
                           "capabilities", "tools", "listChanged", 0, "serverInfo", "name",
                           "forestall", "version", FS_VERSION, "instructions",
                           "forestall's tools: read-only ones run and are recorded as evidence; "
                           "action.* tools are proposals its safety gate decides.");
    } else if (!strcmp(m.method, "ping")) {
        result = json_object();
    } else if (!strcmp(m.method, "tools/list")) {
        result = tools_list(s);
    } else if (!strcmp(m.method, "tools/call")) {
        if ((rc = tools_call(s, m.params, &result, err)) < 0) {
            fs_jsonrpc_msg_release(&m);
            return rc;
        }
    } else {
        *reply = fs_jsonrpc_error(m.id, FS_JSONRPC_METHOD_NOT_FOUND, "Method not found", NULL);
        fs_jsonrpc_msg_release(&m);
        return *reply ? 0 : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    *reply = result ? fs_jsonrpc_result(m.id, result) : NULL;
    fs_jsonrpc_msg_release(&m);
    return *reply ? 0 : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
}
