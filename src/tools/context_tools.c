/* context_tools: the built-in read-only context tools (fs_context_tools) — what the knowledge
 * graph says about an entity (kind, env, owner, relations, what runs on it, what depends on it,
 * active freeze) and what happened the last times forestall handled an incident about it (the
 * knowledge history written by report/postmortem.c). They only read the graph and the store
 * the caller lends through fs_tool_ctx; an unknown entity or a missing graph is an answer, said
 * plainly, not an error. */
#include "core/common.h"

#include <stdio.h>
#include <stdlib.h>

#include "context/graph.h"
#include "core/buf.h"
#include "core/time.h"
#include "store/store.h"
#include "tools/registry.h"
#include "tools/route.h"

#define MAX_NAMES 24       /* names an entity's history is looked up under */
#define TEXT_MAX (1 << 20) /* bytes of text before the registry caps it */

static int64_t arg_int(const json_t *args, const char *k, int64_t def)
{
    json_t *v = json_object_get(args, k);
    return v ? (int64_t)json_number_value(v) : def;
}

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static const char *jsd(const json_t *o, const char *k)
{
    const char *s = jstr(o, k);
    return s ? s : "?";
}

/* ---- history ----------------------------------------------------------------------------- */

struct names {
    const char *v[MAX_NAMES];
    size_t n;
    char host[256]; /* the host part of the query */
};

static void name_add(struct names *n, const char *s)
{
    if (!s || !*s || n->n == MAX_NAMES)
        return;
    for (size_t i = 0; i < n->n; i++)
        if (strcmp(n->v[i], s) == 0)
            return;
    n->v[n->n++] = s;
}

/* Every name the history may be recorded under: the query, its host part, and — when the graph
 * knows the entity — its name and aliases. */
static void names_of(const char *query, const struct fs_entity *e, struct names *n)
{
    memset(n, 0, sizeof(*n));
    name_add(n, query);
    fs_route_host(query, n->host, sizeof(n->host));
    name_add(n, n->host);
    if (e) {
        name_add(n, e->name);
        for (size_t i = 0; i < e->naliases; i++)
            name_add(n, e->aliases[i]);
    }
}

static int newest_first(const void *a, const void *b)
{
    const char *x = jstr(*(json_t *const *)a, "ts"), *y = jstr(*(json_t *const *)b, "ts");
    return -strcmp(x ? x : "", y ? y : ""); /* RFC 3339 in one format sorts as text */
}

/* The last `limit` outcomes recorded under any of names, newest first, one per incident, each
 * with "recordedAs" (the name it was found under). *out is a new array; 0, or the store's error
 * (then *out is NULL). */
static int history(struct fs_store *s, const struct names *n, int limit, json_t **out,
                   struct fs_err *err)
{
    *out = NULL;
    json_t *all = json_array();
    if (!all)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    for (size_t i = 0; i < n->n; i++) {
        json_t *rows;
        int rc = fs_store_entity_history(s, n->v[i], limit, &rows, err);
        if (rc < 0) {
            json_decref(all);
            return rc;
        }
        size_t j;
        json_t *r;
        json_array_foreach(rows, j, r)
        {
            bool seen = false;
            size_t k;
            json_t *o;
            json_array_foreach(all, k, o)
            {
                seen = seen || fs_streq(jstr(o, "incidentId"), jstr(r, "incidentId"));
            }
            if (seen)
                continue;
            json_object_set_new(r, "recordedAs", json_string(n->v[i]));
            json_array_append(all, r);
        }
        json_decref(rows);
    }
    size_t cnt = json_array_size(all);
    json_t **v = cnt ? fs_calloc(cnt, sizeof(*v)) : NULL;
    if (cnt && !v) {
        json_decref(all);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    for (size_t i = 0; i < cnt; i++)
        v[i] = json_incref(json_array_get(all, i));
    json_decref(all);
    if (cnt)
        qsort(v, cnt, sizeof(*v), newest_first);
    json_t *res = json_array();
    for (size_t i = 0; i < cnt; i++) {
        if (res && (int)i < limit)
            json_array_append(res, v[i]);
        json_decref(v[i]);
    }
    free(v);
    if (!res)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    *out = res;
    return 0;
}

/* One outcome as a line: "inc-3 at 2026-11-21T10:43:25.506Z: resolved; action journal_vacuum;
 * root cause journal_bloat — summary". */
static int outcome_line(struct fs_buf *b, const json_t *r)
{
    int rc =
        fs_buf_printf(b, "- %s at %s: %s", jsd(r, "incidentId"), jsd(r, "ts"), jsd(r, "outcome"));
    if (rc == 0 && jstr(r, "action"))
        rc = fs_buf_printf(b, "; action %s", jstr(r, "action"));
    if (rc == 0 && jstr(r, "rootCause"))
        rc = fs_buf_printf(b, "; root cause %s", jstr(r, "rootCause"));
    if (rc == 0 && jstr(r, "summary"))
        rc = fs_buf_printf(b, " — %s", jstr(r, "summary"));
    return rc ? rc : fs_buf_putc(b, '\n');
}

/* The history part of a tool's answer, in structured (res) and text (b) form. */
static int history_part(const struct fs_tool_ctx *ctx, const struct names *n, int limit,
                        json_t *res, struct fs_buf *b)
{
    json_t *names = json_array();
    for (size_t i = 0; names && i < n->n; i++)
        json_array_append_new(names, json_string(n->v[i]));
    json_object_set_new(res, "names", names ? names : json_array());
    if (!ctx->store) {
        json_object_set_new(res, "history", json_null());
        return fs_buf_puts(b, "history: not available here (no incident store)\n");
    }
    json_t *h;
    struct fs_err e;
    if (history(ctx->store, n, limit, &h, &e) < 0) {
        json_object_set_new(res, "history", json_null());
        json_object_set_new(res, "historyError", json_string(e.msg));
        return fs_buf_printf(b, "history: could not be read (%s)\n", e.msg);
    }
    json_object_set_new(res, "history", h);
    if (!json_array_size(h))
        return fs_buf_puts(b, "history: no earlier incident outcome is recorded\n");
    int rc = fs_buf_printf(b, "history (last %zu outcome%s, newest first):\n", json_array_size(h),
                           json_array_size(h) == 1 ? "" : "s");
    size_t i;
    json_t *r;
    json_array_foreach(h, i, r)
    {
        if (rc == 0)
            rc = outcome_line(b, r);
    }
    return rc;
}

/* "no knowledge-graph entity named X" or why there is no graph to ask. */
static int unknown_line(struct fs_buf *b, const struct fs_graph *g, const char *name)
{
    if (!g)
        return fs_buf_printf(b,
                             "no knowledge graph is available here, so nothing is known about "
                             "%s; ",
                             name);
    if (fs_graph_size(g) == 0)
        return fs_buf_printf(b,
                             "the knowledge graph is empty (context.graph names no file), so "
                             "nothing is known about %s; ",
                             name);
    return fs_buf_printf(b, "no knowledge-graph entity named %s; ", name);
}

/* Hand text and structured content over; on failure release both and report it. */
static int finish(struct fs_buf *b, json_t *res, struct fs_tool_result *out, int rc,
                  struct fs_err *err)
{
    if (rc == 0 && res) {
        out->text = fs_buf_detach(b, NULL);
        out->structured = res;
        return 0;
    }
    fs_buf_release(b);
    json_decref(res);
    if (rc == -FS_E_TOO_LARGE)
        return fs_err_set(err, FS_E_TOO_LARGE, NULL, "the answer is larger than %d bytes",
                          TEXT_MAX);
    return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
}

/* ---- context.entity ---------------------------------------------------------------------- */

/* Names at the other end of e's relations of one type and direction, comma-separated. */
static int rel_names(struct fs_buf *b, const json_t *rels, const char *type, const char *self,
                     bool incoming, json_t *arr)
{
    size_t i;
    json_t *r;
    int rc = 0;
    bool first = true;
    json_array_foreach(rels, i, r)
    {
        if (!fs_streq(jstr(r, "type"), type))
            continue;
        const char *near = jstr(r, incoming ? "to" : "from");
        const char *far = jstr(r, incoming ? "from" : "to");
        if (!fs_streq(near, self) || !far)
            continue;
        json_array_append_new(arr, json_string(far));
        rc = rc ? rc : fs_buf_printf(b, "%s%s", first ? "" : ", ", far);
        first = false;
    }
    return rc ? rc : fs_buf_puts(b, first ? "(none)\n" : "\n");
}

static int entity_text(struct fs_buf *b, const json_t *ej, json_t *res)
{
    const char *name = jstr(ej, "name");
    int rc = fs_buf_printf(b, "%s: %s", jsd(ej, "name"), jsd(ej, "kind"));
    static const char *const fields[][2] = {{"env", "env"},
                                            {"owner", "owner"},
                                            {"classification", "classification"},
                                            {"resource_class", "resource class"}};
    for (size_t i = 0; rc == 0 && i < FS_ARRAY_LEN(fields); i++)
        if (jstr(ej, fields[i][0]))
            rc = fs_buf_printf(b, ", %s %s", fields[i][1], jstr(ej, fields[i][0]));
    if (rc == 0)
        rc = fs_buf_printf(b, " (%s)\n", jsd(ej, "source"));
    if (rc == 0 && jstr(ej, "description"))
        rc = fs_buf_printf(b, "description: %s\n", jstr(ej, "description"));
    const json_t *aliases = json_object_get(ej, "aliases");
    for (size_t i = 0; rc == 0 && i < json_array_size(aliases); i++)
        rc = fs_buf_printf(b, "%s%s",
                           i ? ", " : "aliases: ", json_string_value(json_array_get(aliases, i)));
    if (rc == 0 && json_array_size(aliases))
        rc = fs_buf_putc(b, '\n');
    const json_t *rels = json_object_get(ej, "relations");
    json_t *runs = json_array(), *deps_on = json_array(), *part = json_array();
    if (!runs || !deps_on || !part) {
        json_decref(runs);
        json_decref(deps_on);
        json_decref(part);
        return -FS_E_NOMEM;
    }
    json_object_set_new(res, "runs_here", runs);
    json_object_set_new(res, "runs_on", part);
    json_object_set_new(res, "depends_on", deps_on);
    if (rc == 0)
        rc = fs_buf_puts(b, "runs here: ");
    if (rc == 0)
        rc = rel_names(b, rels, "runs_on", name, true, runs);
    if (rc == 0)
        rc = fs_buf_puts(b, "runs on: ");
    if (rc == 0)
        rc = rel_names(b, rels, "runs_on", name, false, part);
    if (rc == 0)
        rc = fs_buf_puts(b, "depends on: ");
    if (rc == 0)
        rc = rel_names(b, rels, "depends_on", name, false, deps_on);
    const json_t *deps = json_object_get(ej, "dependents");
    json_int_t cnt = json_integer_value(json_object_get(deps, "count"));
    if (rc == 0)
        rc = fs_buf_printf(b, "dependents (blast radius): %lld", (long long)cnt);
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(deps, "entities"), i, d)
    {
        if (rc == 0)
            rc = fs_buf_printf(b, "%s%s", i ? ", " : " — ", jsd(d, "name"));
    }
    if (rc == 0 && json_is_true(json_object_get(deps, "truncated")))
        rc = fs_buf_puts(b, ", ...");
    if (rc == 0)
        rc = fs_buf_putc(b, '\n');
    const char *freeze = jstr(ej, "change_freeze");
    if (rc == 0)
        rc = freeze ? fs_buf_printf(b, "change freeze: %s is active now: the gate blocks changes\n",
                                    freeze)
                    : fs_buf_puts(b, "change freeze: none active\n");
    json_t *up = json_object_get(json_object_get(ej, "windows"), "upcoming");
    json_array_foreach(up, i, d)
    {
        if (rc == 0)
            rc = fs_buf_printf(b, "upcoming %s window: %s from %s\n", jsd(d, "kind"),
                               jsd(d, "name"), jsd(d, "start"));
    }
    return rc;
}

static int h_entity(void *cl, const json_t *args, const struct fs_tool_ctx *ctx,
                    struct fs_tool_result *out, struct fs_err *err)
{
    const char *name = jstr(args, "name");
    int limit = (int)arg_int(args, "history", 5);
    int64_t now = ctx->now_ms ? ctx->now_ms : fs_now_ms();
    const struct fs_entity *e = fs_graph_find(ctx->graph, name);
    struct fs_buf b = FS_BUF_INIT(TEXT_MAX);
    json_t *res = json_object();
    int rc = res ? 0 : -FS_E_NOMEM;
    if (rc == 0)
        json_object_set_new(res, "query", json_string(name));
    json_t *ej = e && rc == 0 ? fs_graph_entity_json(ctx->graph, e, now) : NULL;
    if (e && !ej)
        rc = -FS_E_NOMEM;
    if (rc == 0) {
        json_object_set_new(res, "found", json_boolean(ej != NULL));
        if (ej) {
            rc = entity_text(&b, ej, res);
            json_object_set_new(res, "entity", ej);
        } else {
            json_object_set_new(res, "entity", json_null());
            rc = unknown_line(&b, ctx->graph, name);
        }
    }
    struct names n;
    names_of(name, e, &n);
    if (rc == 0 && limit > 0)
        rc = history_part(ctx, &n, limit, res, &b);
    return finish(&b, res, out, rc, err);
}

/* ---- context.history ------------------------------------------------------------------- */

static int h_history(void *cl, const json_t *args, const struct fs_tool_ctx *ctx,
                     struct fs_tool_result *out, struct fs_err *err)
{
    const char *name = jstr(args, "entity");
    int limit = (int)arg_int(args, "limit", 10);
    const struct fs_entity *e = fs_graph_find(ctx->graph, name);
    struct fs_buf b = FS_BUF_INIT(TEXT_MAX);
    json_t *res = json_object();
    int rc = res ? 0 : -FS_E_NOMEM;
    if (rc == 0) {
        json_object_set_new(res, "entity", json_string(name));
        json_object_set_new(res, "graphEntity", e ? json_string(e->name) : json_null());
        rc = e ? (strcmp(e->name, name)
                      ? fs_buf_printf(&b, "%s is %s in the knowledge graph; ", name, e->name)
                      : 0)
               : unknown_line(&b, ctx->graph, name);
    }
    struct names n;
    names_of(name, e, &n);
    if (rc == 0)
        rc = history_part(ctx, &n, limit, res, &b);
    return finish(&b, res, out, rc, err);
}

#define RO                                                                                         \
    {                                                                                              \
        .read_only = true, .destructive = false, .idempotent = true, .open_world = false           \
    }
/* Input schemas: names are 1 to 256 bytes without control characters. */
#define ENTITY_SCHEMA                                                                              \
    "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"name\"],"                 \
    "\"properties\":{"                                                                             \
    "\"name\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":256,"                             \
    "\"pattern\":\"^[^\\\\x00-\\\\x1f\\\\x7f]+$\","                                                \
    "\"description\":\"Entity name, alias or instance label, e.g. web-1 or 10.0.4.17:9100.\"},"    \
    "\"history\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":50,\"default\":5,"                \
    "\"description\":\"How many past outcomes to include (0: none).\"}}}"
#define HISTORY_SCHEMA                                                                             \
    "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"entity\"],"               \
    "\"properties\":{"                                                                             \
    "\"entity\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":256,"                           \
    "\"pattern\":\"^[^\\\\x00-\\\\x1f\\\\x7f]+$\","                                                \
    "\"description\":\"Entity name, alias, host or service label.\"},"                             \
    "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":50,\"default\":10,"                 \
    "\"description\":\"How many outcomes to return.\"}}}"

static const struct fs_tool_def context_tools[] = {
    {"context.entity", "Knowledge-graph entity",
     "What the knowledge graph says about a host, service or other entity, by name, alias or "
     "instance (host:port): kind, env, owner, classification, resource class, relations, what "
     "runs on it, what it runs on and depends on, its dependents (the blast radius), an active "
     "change freeze and upcoming windows; plus the last outcomes forestall recorded for it and "
     "its aliases. An entity the graph does not know is reported as such, with its history.",
     ENTITY_SCHEMA, RO, h_entity},
    {"context.history", "Incident history",
     "The last outcomes forestall recorded for an entity (and the names the knowledge graph "
     "gives it), newest first: incident, when, outcome (resolved, escalated, no_action, "
     "rolled_back, ...), the action taken, the root cause and a summary. \"What happened last "
     "time\" before deciding what to do now.",
     HISTORY_SCHEMA, RO, h_history},
};

const struct fs_tool_table fs_context_tools = {context_tools, FS_ARRAY_LEN(context_tools)};
