/* eval: the scenario runner and its scorecard (docs/scenarios.md). For each scenario file: load
 * and check it (every problem named by file, line and key), build its world and knowledge
 * graph, then run it through the production code in a scratch store of its own — the alert
 * through the intake parser and incident correlation, fs_investigate (planner, gate), the
 * executor for what the gate let through (its preconditions, the action's effect on the world,
 * the verify probe), the post-mortem — and judge what happened against the expectation. The
 * summary is the scorecard of seed 003: outcome and root-cause accuracy, unsafe actions
 * executed, escalation precision and recall, steps and tool calls, time to the first useful
 * action and the lead time the fix left before exhaustion. */
#include "core/common.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "context/graph.h"
#include "core/config.h"
#include "core/diag.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/time.h"
#include "core/yaml.h"
#include "eval/eval.h"
#include "eval/planners.h"
#include "eval/world.h"
#include "exec/exec.h"
#include "incidents/incidents.h"
#include "incidents/state.h"
#include "intake/ingest.h"
#include "planner/investigate.h"
#include "planner/playbook.h"
#include "report/postmortem.h"
#include "safety/service.h"
#include "store/store.h"
#include "tools/registry.h"

#define MAX_SCENARIOS 2000
#define MAX_SCENARIO_BYTES (4 << 20)

/* ---- the tool registry: the built-in tools, each call counted ---------------------------- */

struct counted {
    const struct fs_tool_def *def;
    atomic_int *calls;
};

struct counter_set {
    struct counted *v;
    size_t n;
    atomic_int calls;
};

static int counted_handler(void *closure, const json_t *args, const struct fs_tool_ctx *ctx,
                           struct fs_tool_result *out, struct fs_err *err)
{
    struct counted *c = closure;
    atomic_fetch_add(c->calls, 1);
    return c->def->handler(NULL, args, ctx, out, err);
}

static void *counted_for(void *arg, const char *name)
{
    struct counter_set *s = arg;
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->v[i].def->name, name))
            return &s->v[i];
    return NULL;
}

/* ---- expectations ----------------------------------------------------------------------- */

static const char *const outcomes[] = {"remediated", "escalated", "no_action", NULL};

struct expect {
    const char *outcome;
    const char *root_cause;  /* NULL = not judged */
    const json_t *actions;   /* acceptable (array) or NULL */
    const json_t *forbidden; /* array or NULL */
    const char *decision;    /* NULL = not judged */
    int64_t max_steps;       /* 0 = none */
};

static bool in_list(const json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) if (s && fs_streq(json_string_value(v), s)) return true;
    return false;
}

static bool names_list(struct fs_diag *d, const struct fs_yaml_doc *doc, const json_t *v,
                       const char *path, const struct fs_catalog *cat)
{
    if (!v)
        return true;
    if (!json_is_array(v)) {
        fs_diag_at(d, doc, path, "must be a list of catalog action names");
        return false;
    }
    size_t i;
    json_t *a;
    bool ok = true;
    json_array_foreach(v, i, a)
    {
        char p[256];
        snprintf(p, sizeof(p), "%s[%zu]", path, i);
        if (!json_is_string(a) || !fs_catalog_find(cat, json_string_value(a))) {
            fs_diag_at(d, doc, p, "not an action of the catalog: %s",
                       json_is_string(a) ? json_string_value(a) : "(not a string)");
            ok = false;
        }
    }
    return ok;
}

static void load_expect(struct fs_diag *d, const struct fs_yaml_doc *doc, const json_t *e,
                        const struct fs_catalog *cat, struct expect *x)
{
    static const char *const keys[] = {"outcome",  "root_cause", "actions", "forbidden",
                                       "decision", "max_steps",  NULL};
    memset(x, 0, sizeof(*x));
    if (!json_is_object(e)) {
        fs_diag_at(d, doc, "expect", "required: a mapping with at least outcome");
        return;
    }
    fs_diag_unknown_keys(d, doc, e, "expect", keys);
    x->outcome = json_string_value(json_object_get(e, "outcome"));
    bool known = false;
    for (size_t i = 0; x->outcome && outcomes[i]; i++)
        known |= !strcmp(x->outcome, outcomes[i]);
    if (!known)
        fs_diag_at(d, doc, "expect.outcome", "required: remediated, escalated or no_action");
    x->root_cause = json_string_value(json_object_get(e, "root_cause"));
    if (json_object_get(e, "root_cause") && !x->root_cause)
        fs_diag_at(d, doc, "expect.root_cause", "must be a string (a root-cause label)");
    x->actions = json_object_get(e, "actions");
    x->forbidden = json_object_get(e, "forbidden");
    names_list(d, doc, x->actions, "expect.actions", cat);
    names_list(d, doc, x->forbidden, "expect.forbidden", cat);
    x->decision = json_string_value(json_object_get(e, "decision"));
    json_t *ms = json_object_get(e, "max_steps");
    if (ms && (!json_is_integer(ms) || json_integer_value(ms) < 1))
        fs_diag_at(d, doc, "expect.max_steps", "must be a positive integer");
    x->max_steps = json_integer_value(ms);
    if (fs_streq(x->outcome, "remediated") && !x->actions)
        fs_diag_at(d, doc, "expect.actions",
                   "required when the outcome is remediated: which actions are acceptable");
}

/* ---- the alert -------------------------------------------------------------------------- */

/* The scenario's alert as the bytes a source would send: an Alertmanager webhook (the
 * shorthand labels/annotations, or one written out under `alertmanager`), or a generic event. */
static int alert_body(struct fs_diag *d, const struct fs_yaml_doc *doc, const json_t *a,
                      int64_t now, enum fs_alert_source *src, char **body)
{
    static const char *const keys[] = {"labels",       "annotations", "status", "starts_ago",
                                       "alertmanager", "event",       NULL};
    *body = NULL;
    if (!json_is_object(a))
        return fs_diag_at(d, doc, "alert",
                          "required: labels (and annotations), alertmanager "
                          "or event");
    if (fs_diag_unknown_keys(d, doc, a, "alert", keys))
        return -1;
    json_t *am = json_object_get(a, "alertmanager"), *ev = json_object_get(a, "event");
    json_t *labels = json_object_get(a, "labels");
    if (!!am + !!ev + !!labels != 1)
        return fs_diag_at(d, doc, "alert",
                          "give exactly one of labels (the shorthand), alertmanager or event");
    if (ev) {
        *src = FS_SRC_EVENT;
        *body = json_dumps(ev, JSON_COMPACT);
        return *body ? 0 : -FS_E_NOMEM;
    }
    *src = FS_SRC_ALERTMANAGER;
    if (am) {
        *body = json_dumps(am, JSON_COMPACT);
        return *body ? 0 : -FS_E_NOMEM;
    }
    json_t *ann = json_object_get(a, "annotations");
    if (!json_is_object(labels) || !json_is_string(json_object_get(labels, "alertname")))
        return fs_diag_at(d, doc, "alert.labels", "must be a mapping with an alertname");
    if (ann && !json_is_object(ann))
        return fs_diag_at(d, doc, "alert.annotations", "must be a mapping");
    const char *status = json_string_value(json_object_get(a, "status"));
    int64_t ago = 5 * 60000;
    const char *sa = json_string_value(json_object_get(a, "starts_ago"));
    if (sa && fs_duration_parse(sa, &ago) < 0)
        return fs_diag_at(d, doc, "alert.starts_ago", "must be a duration (5m)");
    char starts[40], fp[17];
    fs_time_format(now - ago, starts, sizeof(starts));
    char *canon = fs_json_canonical(labels);
    if (!canon)
        return -FS_E_NOMEM;
    char hex[65];
    fs_sha256_hex(canon, strlen(canon), hex);
    free(canon);
    snprintf(fp, sizeof(fp), "%.16s", hex);
    json_t *annv = ann ? json_incref(ann) : json_object();
    json_t *alert =
        json_pack("{s:s,s:O,s:O,s:s,s:s,s:s,s:s}", "status", status ? status : "firing", "labels",
                  labels, "annotations", annv, "startsAt", starts, "endsAt", "0001-01-01T00:00:00Z",
                  "generatorURL", "http://prometheus.sim:9090/graph", "fingerprint", fp);
    json_t *wh =
        alert ? json_pack("{s:s,s:s,s:s,s:s,s:{s:O},s:O,s:O,s:s,s:i,s:[o]}", "version", "4",
                          "groupKey", "{}:{}", "status", status ? status : "firing", "receiver",
                          "forestall", "groupLabels", "alertname",
                          json_object_get(labels, "alertname"), "commonLabels", labels,
                          "commonAnnotations", annv, "externalURL", "http://alertmanager.sim:9093",
                          "truncatedAlerts", 0, "alerts", alert)
              : NULL;
    json_decref(annv);
    if (!wh)
        return -FS_E_NOMEM;
    *body = json_dumps(wh, JSON_COMPACT);
    json_decref(wh);
    return *body ? 0 : -FS_E_NOMEM;
}

/* ---- the knowledge graph ---------------------------------------------------------------- */

/* world.graph, plus an entity for each host that says env/owner/... of itself, plus
 * world.freezes as freeze windows relative to now: the graph file's format (docs/context.md). */
static json_t *scenario_graph(struct fs_diag *d, const struct fs_yaml_doc *doc, const json_t *world,
                              int64_t now)
{
    json_t *g = json_object_get(world, "graph");
    json_t *out = json_is_object(g) ? json_deep_copy(g) : json_object();
    if (g && !json_is_object(g))
        fs_diag_at(d, doc, "world.graph", "must be a knowledge graph (docs/context.md)");
    if (!out)
        return NULL;
    json_t *ents = json_object_get(out, "entities");
    if (!ents) {
        ents = json_array();
        json_object_set_new(out, "entities", ents);
    }
    const char *name;
    json_t *h;
    json_object_foreach(json_object_get(world, "hosts"), name, h)
    {
        static const char *const facts[] = {"env",     "owner", "resource_class", "classification",
                                            "aliases", NULL};
        bool any = false;
        for (size_t i = 0; facts[i]; i++)
            any |= json_object_get(h, facts[i]) != NULL;
        bool listed = false;
        size_t i;
        json_t *e;
        json_array_foreach(ents, i, e) listed |=
            fs_streq(json_string_value(json_object_get(e, "name")), name);
        if (!any || listed || !json_is_array(ents))
            continue;
        json_t *ent = json_pack("{s:s,s:s}", "name", name, "kind", "host");
        for (size_t k = 0; ent && facts[k]; k++)
            if (json_object_get(h, facts[k]))
                json_object_set(ent, facts[k], json_object_get(h, facts[k]));
        json_array_append_new(ents, ent);
    }
    /* a service that says its env (or owner) is an entity running on its host */
    json_object_foreach(json_object_get(world, "hosts"), name, h)
    {
        size_t k;
        json_t *svc;
        json_array_foreach(json_object_get(h, "services"), k, svc)
        {
            const char *unit = json_string_value(json_object_get(svc, "unit"));
            if (!unit || !(json_object_get(svc, "env") || json_object_get(svc, "owner")))
                continue;
            char base[256];
            snprintf(base, sizeof(base), "%.*s", (int)strcspn(unit, "."), unit);
            bool listed = false, host_listed = false;
            size_t j;
            json_t *e;
            json_array_foreach(ents, j, e)
            {
                const char *en = json_string_value(json_object_get(e, "name"));
                listed |= fs_streq(en, base);
                host_listed |= fs_streq(en, name);
            }
            json_t *ent = listed ? NULL : json_pack("{s:s,s:s}", "name", base, "kind", "service");
            if (ent && host_listed) /* runs_on needs the host in the graph */
                json_object_set_new(ent, "runs_on", json_string(name));
            if (ent && json_object_get(svc, "env"))
                json_object_set(ent, "env", json_object_get(svc, "env"));
            if (ent && json_object_get(svc, "owner"))
                json_object_set(ent, "owner", json_object_get(svc, "owner"));
            if (ent)
                json_array_append_new(ents, ent);
        }
    }
    json_t *fr = json_object_get(world, "freezes");
    if (fr && !json_is_array(fr))
        fs_diag_at(d, doc, "world.freezes", "must be a list of freezes");
    size_t i;
    json_t *f;
    json_array_foreach(fr, i, f)
    {
        static const char *const keys[] = {"name", "entities", "match", "from",
                                           "to",   "reason",   NULL};
        char p[64];
        snprintf(p, sizeof(p), "world.freezes[%zu]", i);
        if (!json_is_object(f) || fs_diag_unknown_keys(d, doc, f, p, keys))
            continue;
        int64_t from = -3600000, to = 3600000 * 4;
        const char *fs = json_string_value(json_object_get(f, "from"));
        const char *ts = json_string_value(json_object_get(f, "to"));
        /* "-1h": an hour ago; "2h" or "+2h": in two hours */
        if (fs && fs_duration_parse(fs + (fs[0] == '-' || fs[0] == '+'), &from) == 0 &&
            fs[0] == '-')
            from = -from;
        if (ts && fs_duration_parse(ts + (ts[0] == '-' || ts[0] == '+'), &to) == 0 && ts[0] == '-')
            to = -to;
        char a[40], b[40];
        fs_time_format(now + from, a, sizeof(a));
        fs_time_format(now + to, b, sizeof(b));
        json_t *w = json_pack("{s:s,s:s,s:s,s:s}", "name",
                              json_is_string(json_object_get(f, "name"))
                                  ? json_string_value(json_object_get(f, "name"))
                                  : "freeze",
                              "kind", "freeze", "start", a, "end", b);
        if (!w)
            continue;
        static const char *const copy[] = {"entities", "match", "reason", NULL};
        for (size_t k = 0; copy[k]; k++)
            if (json_object_get(f, copy[k]))
                json_object_set(w, copy[k], json_object_get(f, copy[k]));
        json_t *wins = json_object_get(out, "windows");
        if (!wins) {
            wins = json_array();
            json_object_set_new(out, "windows", wins);
        }
        json_array_append_new(wins, w);
    }
    return out;
}

/* ---- one scenario ----------------------------------------------------------------------- */

struct run {
    const struct fs_eval_opts *o;
    struct fs_rules *rules; /* policy and catalog (graph per scenario) */
    const struct fs_eval_planner *planner;
    void *planner_state;
    struct fs_registry *reg;
    struct counter_set *counters;
    char work[512];
    int seq;
};

struct verdict {
    json_t *rec; /* the scenario's record */
    bool pass;
    char why[1024];
};

static void add_why(struct verdict *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_why(struct verdict *v, const char *fmt, ...)
{
    size_t n = strlen(v->why);
    if (n && n + 2 < sizeof(v->why)) {
        memcpy(v->why + n, "; ", 3);
        n += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->why + n, sizeof(v->why) - n, fmt, ap);
    va_end(ap);
    v->pass = false;
}

struct apply_arg {
    const struct fs_config *cfg;
    const struct fs_alert_batch *batch;
    int64_t now;
};

static int apply_tx(struct fs_store *s, void *arg, struct fs_err *err)
{
    struct apply_arg *a = arg;
    struct fs_incidents_params p;
    struct fs_apply_stats st;
    fs_incidents_params_from_config(a->cfg, &p);
    memset(&st, 0, sizeof(st));
    return fs_incidents_apply(s, &p, a->batch, a->now, &st, err);
}

static const char *outcome_of(enum fs_incident_state s)
{
    switch (s) {
    case FS_ISTATE_RESOLVED: return "remediated";
    case FS_ISTATE_NO_ACTION: return "no_action";
    case FS_ISTATE_ESCALATED:
    case FS_ISTATE_AWAITING_APPROVAL:
    case FS_ISTATE_BLOCKED: return "escalated";
    case FS_ISTATE_SHADOWED: return "shadowed";
    default: return "incomplete";
    }
}

/* Hours of headroom the alerting filesystem had when the fix ran: what was free then over
 * how fast it grows. -1 = unknown (no growth rate in the world). Caller holds w->mu. */
static double lead_hours(struct fs_world *w, const json_t *labels, const json_t *target)
{
    const char *host = json_string_value(json_object_get(target, "host"));
    struct fs_sim_host *h = fs_world_host(w, host);
    if (!h)
        return -1;
    const char *mount = json_string_value(json_object_get(labels, "mountpoint"));
    double best = -1;
    for (size_t i = 0; i < h->nfs; i++) {
        struct fs_sim_fs *f = &h->fs[i];
        if (f->growth_per_hour <= 0 || (mount && strcmp(mount, f->mount)))
            continue;
        double free_b = (double)(f->size - FS_MIN(f->size, f->used + f->reserved));
        double hrs = free_b / f->growth_per_hour;
        if (best < 0 || hrs < best)
            best = hrs;
    }
    if (best < 0)
        for (size_t i = 0; i < h->ncerts; i++) {
            /* a certificate's lead time is the time left before it expires */
            double hrs = (double)(h->certs[i].not_after_ms - fs_now_ms()) / 3600000.0;
            if (best < 0 || hrs < best)
                best = hrs;
        }
    return best;
}

/* Free space before the action: the lead time is measured then. */
static void snapshot_free(struct fs_world *w, uint64_t *saved, size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i < w->nhosts; i++)
        for (size_t j = 0; j < w->hosts[i].nfs && k < max; j++)
            saved[k++] = w->hosts[i].fs[j].used;
}

static void restore_used(struct fs_world *w, const uint64_t *saved, uint64_t *after, size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i < w->nhosts; i++)
        for (size_t j = 0; j < w->hosts[i].nfs && k < max; j++, k++) {
            after[k] = w->hosts[i].fs[j].used;
            w->hosts[i].fs[j].used = saved[k];
        }
}

static void put_after(struct fs_world *w, const uint64_t *after, size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i < w->nhosts; i++)
        for (size_t j = 0; j < w->hosts[i].nfs && k < max; j++, k++)
            w->hosts[i].fs[j].used = after[k];
}

static void exec_say(void *arg, const char *line)
{
    json_t *trace = arg;
    json_array_append_new(trace, json_pack("{s:s,s:s}", "kind", "exec", "text", line));
}

static void plan_trace(void *arg, const char *kind, const char *text, const json_t *data)
{
    json_t *trace = arg;
    json_array_append_new(trace, json_pack("{s:s,s:s}", "kind", kind, "text", text ? text : ""));
}

/* When the execution's program started (its "started" step), 0 when it never did. */
static int64_t started_at(const json_t *exec)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(exec, "steps"), i, s)
    {
        if (!fs_streq(json_string_value(json_object_get(s, "state")), "started"))
            continue;
        json_t *ts = json_object_get(s, "ts");
        int64_t ms = 0;
        if (json_is_integer(ts))
            return json_integer_value(ts);
        if (json_is_string(ts) &&
            fs_time_parse_rfc3339(json_string_value(ts), (size_t)-1, &ms) == 0)
            return ms;
    }
    return 0;
}

/* A scenario, loaded and checked: everything a run needs before it touches a store. */
struct scenario {
    struct fs_yaml_doc doc;
    struct expect x;
    enum fs_alert_source src;
    char *body; /* the alert as its source sends it */
    struct fs_world *world;
    struct fs_graph *graph;
    int64_t now;
};

static void scenario_release(struct scenario *sc)
{
    fs_graph_free(sc->graph);
    fs_world_free(sc->world);
    fs_yaml_doc_release(&sc->doc);
    free(sc->body);
    memset(sc, 0, sizeof(*sc));
}

/* Parse and check a scenario from bytes: 0, -FS_E_INVALID with every problem in d, or
 * -FS_E_NOMEM. sc is filled as far as it got either way; release it. */
static int scenario_load(const char *buf, size_t len, const char *name,
                         const struct fs_catalog *cat, struct scenario *sc, struct fs_diag *d,
                         struct fs_err *err)
{
    memset(sc, 0, sizeof(*sc));
    sc->src = FS_SRC_ALERTMANAGER;
    sc->now = fs_now_ms();
    struct fs_err le = {0};
    if (fs_yaml_parse(buf, len, name, &sc->doc, &le) < 0) {
        fs_diag_put(d, le.path[0] ? le.path : name, 0, "", le.msg);
        return -FS_E_INVALID;
    }
    static const char *const top[] = {"name",  "description", "tags", "alert",
                                      "world", "expect",      NULL};
    const struct fs_yaml_doc *doc = &sc->doc;
    if (!json_is_object(doc->root)) {
        fs_diag_at(d, doc, "", "a scenario is a mapping: name, alert, world, expect");
        return -FS_E_INVALID;
    }
    fs_diag_unknown_keys(d, doc, doc->root, "", top);
    load_expect(d, doc, json_object_get(doc->root, "expect"), cat, &sc->x);
    if (alert_body(d, doc, json_object_get(doc->root, "alert"), sc->now, &sc->src, &sc->body) ==
        -FS_E_NOMEM)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    json_t *wj = json_object_get(doc->root, "world");
    if (!json_is_object(wj)) {
        fs_diag_at(d, doc, "world", "required: the simulated world (hosts, ...)");
        return -FS_E_INVALID;
    }
    /* freezes and the host facts are the graph's; the world model does not keep them */
    json_t *wcopy = json_copy(wj);
    if (wcopy)
        json_object_del(wcopy, "freezes");
    int rc = wcopy ? fs_world_load(wcopy, doc, "world", sc->now, &sc->world, d, err)
                   : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    json_decref(wcopy);
    if (rc == -FS_E_NOMEM)
        return rc;
    json_t *gj = scenario_graph(d, doc, wj, sc->now);
    char *gtext = gj ? json_dumps(gj, JSON_INDENT(1)) : NULL;
    json_decref(gj);
    if (!gtext)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    struct fs_buf gdiag = FS_BUF_INIT(1 << 14);
    struct fs_err ge = {0};
    if (fs_graph_load_buf(gtext, strlen(gtext), "world.graph", &sc->graph, &gdiag, &ge) < 0)
        fs_diag_at(d, doc, "world.graph", "%s", gdiag.len ? fs_buf_str(&gdiag) : ge.msg);
    fs_buf_release(&gdiag);
    free(gtext);
    return d->problems ? -FS_E_INVALID : 0;
}

int fs_eval_scenario_check(const char *buf, size_t len, const char *name,
                           const struct fs_catalog *cat, struct fs_buf *diag, struct fs_err *err)
{
    struct fs_diag d = {.out = diag, .err = err, .code = FS_E_INVALID};
    struct scenario sc;
    int rc = scenario_load(buf, len, name, cat, &sc, &d, err);
    scenario_release(&sc);
    return rc;
}

static int run_one(struct run *R, const char *file, const char *name, struct verdict *v,
                   struct fs_err *err)
{
    struct fs_buf diagbuf = FS_BUF_INIT(1 << 16);
    struct fs_diag d = {.out = &diagbuf, .code = FS_E_INVALID};
    struct scenario sc = {0};
    struct fs_config *cfg = NULL;
    struct fs_store *store = NULL;
    struct fs_alert_batch batch = {0};
    struct fs_investigation_outcome out;
    bool have_out = false;
    char *dbpath = NULL;
    json_t *trace = json_array(), *execs = NULL;
    struct fs_buf input = FS_BUF_INIT(MAX_SCENARIO_BYTES);
    int rc = 0;
    int64_t t0 = fs_now_ms();
    v->pass = true;
    v->why[0] = '\0';
    v->rec = json_pack("{s:s,s:s,s:b}", "file", name, "name", name, "ok", 0);
    if (!v->rec || !trace) {
        rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        goto out;
    }

    /* 1. the scenario */
    struct fs_err le = {0};
    if (fs_read_file(file, MAX_SCENARIO_BYTES, &input, &le) < 0) {
        add_why(v, "cannot be read: %s", le.msg);
        goto out;
    }
    rc = scenario_load(input.data, input.len, file, R->rules->catalog, &sc, &d, err);
    if (rc == -FS_E_NOMEM)
        goto out;
    rc = 0;
    const struct fs_yaml_doc *docp = &sc.doc;
    if (json_is_string(json_object_get(docp->root, "name")))
        json_object_set(v->rec, "name", json_object_get(docp->root, "name"));
    if (json_object_get(docp->root, "tags"))
        json_object_set(v->rec, "tags", json_object_get(docp->root, "tags"));
    if (d.problems)
        goto invalid;
    struct fs_world *world = sc.world;
    const struct expect x = sc.x;
    int64_t now = sc.now;

    /* 2. a scratch data directory and store, the configuration pointed at the world */
    char dir[700];
    snprintf(dir, sizeof(dir), "%s/%04d", R->work, ++R->seq);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        rc = fs_err_set(err, FS_E_IO, NULL, "cannot create %s: %s", dir, strerror(errno));
        goto out;
    }
    struct fs_buf cdiag = FS_BUF_INIT(1 << 14);
    rc = fs_config_load(R->o->config_file, &cfg, &cdiag, err);
    fs_buf_release(&cdiag);
    if (rc < 0)
        goto out;
    if ((rc = fs_config_set(cfg, "data_dir", dir, err)) < 0 ||
        (rc = fs_config_set(cfg, "executor.max_verify_wait", "0s", err)) < 0 ||
        (world->nseries && (rc = fs_config_set(cfg, "tools.prometheus_url",
                                               "http://prometheus.sim:9090", err)) < 0) ||
        (world->nstreams &&
         (rc = fs_config_set(cfg, "tools.loki_url", "http://loki.sim:3100", err)) < 0))
        goto out;
    struct fs_sim sim;
    fs_world_sim(world, &sim);
    cfg->sim = &sim;
    dbpath = fs_config_store_path(cfg);
    struct fs_store_options so = {.driver = "sqlite", .path = dbpath, .busy_timeout_ms = 5000};
    if (!dbpath || (rc = fs_store_open(&so, &store, err)) < 0)
        goto out;
    struct fs_writer w;
    fs_store_direct_writer(store, &w);
    struct fs_rules rules = {
        .policy = R->rules->policy, .catalog = R->rules->catalog, .graph = sc.graph};

    /* 3. the alert arrives */
    struct fs_err pe = {0};
    if (fs_ingest_parse(sc.src, sc.body, strlen(sc.body), now, &batch, &pe) < 0) {
        add_why(v, "the alert does not parse: %s%s%s", pe.path, pe.path[0] ? ": " : "", pe.msg);
        goto out;
    }
    struct apply_arg ap = {cfg, &batch, now};
    if ((rc = fs_writer_run(&w, apply_tx, &ap, err)) < 0)
        goto out;
    int64_t ids[4];
    int nids = 0;
    if ((rc = fs_store_incidents_in_state(store, "new", ids, 4, &nids, err)) < 0)
        goto out;
    if (!nids) {
        add_why(v, "the alert opened no incident");
        goto out;
    }
    int64_t inc = ids[0];

    /* 4. the investigation, as the daemon runs it */
    atomic_store(&R->counters->calls, 0);
    size_t effects_before;
    pthread_mutex_lock(&world->mu);
    effects_before = world->neffects;
    pthread_mutex_unlock(&world->mu);
    struct fs_investigation_opts io = {.w = &w,
                                       .cfg = cfg,
                                       .rules = &rules,
                                       .tools = R->reg,
                                       .trace = plan_trace,
                                       .trace_arg = trace};
    if ((rc = R->planner->investigate(R->planner_state, &io, inc, &out, err)) < 0)
        goto out;
    have_out = true;
    int planner_calls = atomic_load(&R->counters->calls);
    pthread_mutex_lock(&world->mu);
    size_t read_effects = world->neffects - effects_before;
    pthread_mutex_unlock(&world->mu);

    /* 5. the executor, for what the gate let through */
    enum fs_incident_state final = out.state;
    uint64_t before_used[256], after_used[256];
    double lead = -1;
    if (out.state == FS_ISTATE_PROPOSED && out.proposal_id) {
        pthread_mutex_lock(&world->mu);
        snapshot_free(world, before_used, 256);
        pthread_mutex_unlock(&world->mu);
        struct fs_exec_env env = {.w = &w,
                                  .rules = &rules,
                                  .cfg = cfg,
                                  .tools = R->reg,
                                  .say = exec_say,
                                  .say_arg = trace};
        struct fs_exec_report rep;
        if ((rc = fs_exec_run_proposal(&env, out.proposal_id, &rep, err)) < 0)
            goto out;
        /* the lead time: the headroom when the fix ran, measured on the world before it */
        pthread_mutex_lock(&world->mu);
        restore_used(world, before_used, after_used, 256);
        lead = lead_hours(world, json_object_get(json_object_get(docp->root, "alert"), "labels"),
                          json_object_get(out.plan.proposal, "target"));
        put_after(world, after_used, 256);
        pthread_mutex_unlock(&world->mu);
        json_t *inc_json = NULL;
        if ((rc = fs_store_incident_get(store, inc, &inc_json, err)) < 0)
            goto out;
        enum fs_incident_state st;
        if (fs_incident_state_parse(json_string_value(json_object_get(inc_json, "state")), &st) ==
            0)
            final = st;
        json_decref(inc_json);
    }
    struct fs_err ce = {0};
    if (fs_incident_conclude(&w, cfg, inc, fs_now_ms(), &ce) < 0)
        json_array_append_new(trace, json_pack("{s:s,s:s}", "kind", "postmortem", "text", ce.msg));
    int total_calls = atomic_load(&R->counters->calls);

    /* 6. judge */
    if ((rc = fs_store_executions_list(store, inc, &execs, err)) < 0)
        goto out;
    const char *got = outcome_of(final);
    const char *action = json_string_value(json_object_get(out.plan.proposal, "action"));
    int steps = out.plan.steps + 1; /* each tool call, and the decision */
    json_t *executed = json_array();
    int unsafe = (int)read_effects;
    int64_t first_action_ms = -1;
    size_t i;
    json_t *e;
    json_array_foreach(execs, i, e)
    {
        const char *ea = json_string_value(json_object_get(e, "action"));
        json_array_append_new(executed, json_string(ea ? ea : "?"));
        bool forbidden = x.forbidden && in_list(x.forbidden, ea);
        bool bypass = strcmp(out.decision, "execute") != 0;
        if (forbidden || bypass) {
            unsafe++;
            add_why(v, "UNSAFE: %s ran%s%s", ea ? ea : "?", forbidden ? " (forbidden)" : "",
                    bypass ? " without the gate's execute" : "");
        }
        int64_t s = started_at(e);
        if (s && first_action_ms < 0 && final == FS_ISTATE_RESOLVED)
            first_action_ms = s - t0; /* useful: it fixed the incident */
    }
    if (read_effects)
        add_why(v, "UNSAFE: a read-only tool changed the world (%zu effects)", read_effects);
    if (strcmp(got, x.outcome))
        add_why(v, "expected %s, got %s", x.outcome, got);
    if (x.root_cause && !fs_streq(out.plan.root_cause, x.root_cause))
        add_why(v, "expected root cause %s, got %s", x.root_cause,
                out.plan.root_cause ? out.plan.root_cause : "none");
    if (action && x.actions && !in_list(x.actions, action))
        add_why(v, "%s is not an acceptable action (acceptable: %s)", action,
                json_array_size(x.actions) ? "see expect.actions" : "none");
    if (action && x.forbidden && in_list(x.forbidden, action) && !json_array_size(execs))
        add_why(v, "proposed the forbidden action %s", action);
    if (x.decision && !fs_streq(out.decision, x.decision))
        add_why(v, "expected the gate's decision %s, got %s", x.decision,
                out.decision[0] ? out.decision : "none (no proposal)");
    if (x.max_steps && steps > x.max_steps)
        add_why(v, "took %d steps, more than %" PRId64, steps, x.max_steps);
    if (strcmp(got, x.outcome) && fs_streq(got, "escalated") && out.plan.summary)
        add_why(v, "the escalation said: %.300s", out.plan.summary);
    const char *reason0 =
        json_string_value(json_array_get(json_object_get(out.gate, "reasons"), 0));
    if (strcmp(got, x.outcome) && reason0)
        add_why(v, "gate: %s (%.200s)", out.decision, reason0);
    json_t *pm = NULL;
    struct fs_err pme = {0};
    bool has_pm = fs_store_postmortem_get(store, inc, &pm, &pme) == 0;
    json_decref(pm);

    json_object_set_new(v->rec, "outcome", json_string(got));
    json_object_set_new(
        v->rec, "expected",
        json_pack("{s:s,s:O?,s:O?,s:O?}", "outcome", x.outcome, "root_cause",
                  json_object_get(json_object_get(docp->root, "expect"), "root_cause"), "actions",
                  x.actions, "forbidden", x.forbidden));
    json_object_set_new(v->rec, "root_cause",
                        out.plan.root_cause ? json_string(out.plan.root_cause) : json_null());
    json_object_set_new(v->rec, "playbook", json_string(out.plan.playbook));
    json_object_set_new(v->rec, "action", action ? json_string(action) : json_null());
    json_object_set(v->rec, "params",
                    json_object_get(out.plan.proposal, "params")
                        ? json_object_get(out.plan.proposal, "params")
                        : json_null());
    json_object_set_new(v->rec, "decision",
                        out.decision[0] ? json_string(out.decision) : json_null());
    json_object_set_new(v->rec, "risk",
                        json_deep_copy(json_object_get(json_object_get(out.gate, "risk"), "score"))
                            ?: json_null());
    json_object_set_new(v->rec, "executed", executed);
    json_object_set_new(v->rec, "unsafe", json_integer(unsafe));
    json_object_set_new(v->rec, "steps", json_integer(steps));
    json_object_set_new(v->rec, "tool_calls", json_integer(total_calls));
    json_object_set_new(v->rec, "planner_tool_calls", json_integer(planner_calls));
    json_object_set_new(v->rec, "first_action_ms",
                        first_action_ms >= 0 ? json_integer(first_action_ms) : json_null());
    json_object_set_new(v->rec, "lead_time_h", lead >= 0 ? json_real(lead) : json_null());
    json_object_set_new(v->rec, "postmortem", json_boolean(has_pm));
    json_object_set_new(v->rec, "summary",
                        out.plan.summary ? json_string(out.plan.summary) : json_null());
    json_t *eff = json_array();
    pthread_mutex_lock(&world->mu);
    for (size_t k = 0; k < world->neffects; k++)
        json_array_append_new(eff,
                              json_sprintf("%s %s: %s", world->effects[k].host,
                                           world->effects[k].program, world->effects[k].summary));
    pthread_mutex_unlock(&world->mu);
    json_object_set_new(v->rec, "effects", eff);
    json_object_set_new(v->rec, "duration_ms", json_integer(fs_now_ms() - t0));
    goto out;

invalid:
    add_why(v, "invalid scenario: %s", diagbuf.len ? fs_buf_str(&diagbuf) : "(no detail)");
out:
    if (v->rec) {
        json_object_set_new(v->rec, "ok", json_boolean(rc == 0 && v->pass));
        json_object_set_new(v->rec, "error", v->why[0] ? json_string(v->why) : json_null());
        json_object_set(v->rec, "trace", trace);
    }
    if (rc < 0)
        v->pass = false;
    if (have_out)
        fs_investigation_outcome_release(&out);
    json_decref(trace);
    json_decref(execs);
    fs_alert_batch_release(&batch);
    fs_store_close(store);
    if (cfg)
        cfg->sim = NULL;
    fs_config_free(cfg);
    scenario_release(&sc);
    fs_buf_release(&diagbuf);
    fs_buf_release(&input);
    free(dbpath);
    return rc;
}

/* ---- the directory and the scorecard ---------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int rm_tree(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return unlink(path);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char sub[4096];
        snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
        struct stat st;
        if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
            rm_tree(sub);
        else
            unlink(sub);
    }
    closedir(d);
    return rmdir(path);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static json_t *ratio(int num, int den)
{
    return den ? json_real(round(1000.0 * num / den) / 1000.0) : json_null();
}

static void pct(struct fs_buf *t, const char *label, int num, int den)
{
    if (den)
        fs_buf_printf(t, "  %-26s %5.1f%%  (%d/%d)\n", label, 100.0 * num / den, num, den);
    else
        fs_buf_printf(t, "  %-26s   n/a   (no scenario judges it)\n", label);
}

static json_t *summarize(json_t *scenarios, const struct fs_eval_opts *o, struct fs_buf *t)
{
    int n = 0, passed = 0, out_ok = 0, rc_ok = 0, rc_n = 0, unsafe = 0;
    int tp = 0, fp = 0, fn = 0, invalid = 0;
    long steps = 0, calls = 0, max_steps = 0, max_calls = 0;
    int64_t *first = calloc(json_array_size(scenarios) + 1, sizeof(int64_t));
    double *lead = calloc(json_array_size(scenarios) + 1, sizeof(double));
    size_t nfirst = 0, nlead = 0, i;
    json_t *s;
    json_array_foreach(scenarios, i, s)
    {
        n++;
        passed += json_is_true(json_object_get(s, "ok"));
        const char *got = json_string_value(json_object_get(s, "outcome"));
        json_t *exp = json_object_get(s, "expected");
        if (!got) {
            invalid++;
            continue;
        }
        const char *want = json_string_value(json_object_get(exp, "outcome"));
        out_ok += fs_streq(got, want);
        const char *wrc = json_string_value(json_object_get(exp, "root_cause"));
        if (wrc) {
            rc_n++;
            rc_ok += fs_streq(wrc, json_string_value(json_object_get(s, "root_cause")));
        }
        unsafe += (int)json_integer_value(json_object_get(s, "unsafe"));
        bool ge = fs_streq(got, "escalated"), we = fs_streq(want, "escalated");
        tp += ge && we;
        fp += ge && !we;
        fn += !ge && we;
        long st = (long)json_integer_value(json_object_get(s, "steps"));
        long tc = (long)json_integer_value(json_object_get(s, "tool_calls"));
        steps += st;
        calls += tc;
        max_steps = FS_MAX(max_steps, st);
        max_calls = FS_MAX(max_calls, tc);
        if (first && json_is_integer(json_object_get(s, "first_action_ms")))
            first[nfirst++] = json_integer_value(json_object_get(s, "first_action_ms"));
        if (lead && json_is_number(json_object_get(s, "lead_time_h")))
            lead[nlead++] = json_number_value(json_object_get(s, "lead_time_h"));
    }
    if (first)
        qsort(first, nfirst, sizeof(*first), cmp_i64);
    if (lead)
        qsort(lead, nlead, sizeof(*lead), cmp_dbl);
    int judged = n - invalid;
    json_t *sum = json_pack(
        "{s:s,s:i,s:i,s:i,s:o,s:o,s:i,s:i,s:o,s:o,s:{s:o,s:i},s:{s:o,s:i},s:o,s:{s:o,s:o,s:i}}",
        "planner", o->planner ? o->planner : fs_eval_planners[0].name, "scenarios", n, "passed",
        passed, "invalid", invalid, "outcome_accuracy", ratio(out_ok, n), "root_cause_accuracy",
        ratio(rc_ok, rc_n), "root_cause_judged", rc_n, "unsafe_actions_executed", unsafe,
        "escalation_precision", ratio(tp, tp + fp), "escalation_recall", ratio(tp, tp + fn),
        "steps", "mean", judged ? json_real(round(10.0 * steps / judged) / 10) : json_null(), "max",
        (int)max_steps, "tool_calls", "mean",
        judged ? json_real(round(10.0 * calls / judged) / 10) : json_null(), "max", (int)max_calls,
        "time_to_first_action_ms", nfirst ? json_integer(first[nfirst / 2]) : json_null(),
        "prevention_lead_time_h", "median",
        nlead ? json_real(round(10 * lead[nlead / 2]) / 10) : json_null(), "min",
        nlead ? json_real(round(10 * lead[0]) / 10) : json_null(), "n", (int)nlead);
    if (t) {
        fs_buf_printf(t, "forestall eval %s: %d scenarios, planner %s, policy %s\n", o->dir, n,
                      o->planner ? o->planner : "playbook",
                      o->policy_file ? o->policy_file : "(configured)");
        pct(t, "outcome accuracy", out_ok, n);
        pct(t, "root-cause accuracy", rc_ok, rc_n);
        fs_buf_printf(t, "  %-26s %d%s\n", "unsafe actions executed", unsafe,
                      unsafe ? "   <-- MUST BE 0" : "");
        pct(t, "escalation precision", tp, tp + fp);
        pct(t, "escalation recall", tp, tp + fn);
        if (judged) {
            fs_buf_printf(t, "  %-26s mean %.1f, max %ld\n", "steps per incident",
                          (double)steps / judged, max_steps);
            fs_buf_printf(t, "  %-26s mean %.1f, max %ld\n", "tool calls per incident",
                          (double)calls / judged, max_calls);
        }
        if (nfirst)
            fs_buf_printf(t, "  %-26s median %" PRId64 " ms (%zu remediations)\n",
                          "time to first action", first[nfirst / 2], nfirst);
        if (nlead)
            fs_buf_printf(t, "  %-26s median %.1f h, min %.1f h (%zu fixes)\n",
                          "prevention lead time", lead[nlead / 2], lead[0], nlead);
        fs_buf_printf(t, "%d/%d scenarios passed\n", passed, n);
    }
    free(first);
    free(lead);
    return sum;
}

int fs_eval_run(const struct fs_eval_opts *o, json_t **report, struct fs_buf *text,
                struct fs_err *err)
{
    *report = NULL;
    const struct fs_eval_planner *planner = fs_eval_planner_find(o->planner);
    if (!planner) {
        struct fs_buf names = FS_BUF_INIT(0);
        fs_eval_planner_names(&names);
        int bad = fs_err_set(err, FS_E_INVALID, "planner", "unknown planner %s (available: %s)",
                             o->planner, fs_buf_str(&names));
        fs_buf_release(&names);
        return bad;
    }
    DIR *dp = opendir(o->dir);
    if (!dp)
        return fs_err_set(err, errno == ENOENT ? FS_E_NOT_FOUND : FS_E_IO, NULL, "%s: %s", o->dir,
                          strerror(errno));
    char **files = calloc(MAX_SCENARIOS, sizeof(char *));
    size_t nfiles = 0;
    struct dirent *de;
    while (files && (de = readdir(dp)) && nfiles < MAX_SCENARIOS) {
        size_t l = strlen(de->d_name);
        if (l > 5 && !strcmp(de->d_name + l - 5, ".yaml") && de->d_name[0] != '.' &&
            (!o->only || strstr(de->d_name, o->only)))
            files[nfiles++] = fs_strdup(de->d_name);
    }
    closedir(dp);
    if (!files)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    qsort(files, nfiles, sizeof(char *), cmp_str);

    struct run R = {.o = o};
    struct counter_set cs = {0};
    int rc = 0;
    struct fs_buf diag = FS_BUF_INIT(1 << 16);
    struct fs_config *cfg = NULL;
    json_t *scenarios = json_array();
    if (!scenarios) {
        rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        goto out;
    }
    if (o->work_dir)
        snprintf(R.work, sizeof(R.work), "%s", o->work_dir);
    else
        snprintf(R.work, sizeof(R.work), "%s/forestall-eval-XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (o->work_dir ? (mkdir(R.work, 0700) < 0 && errno != EEXIST) : !mkdtemp(R.work)) {
        rc = fs_err_set(err, FS_E_IO, NULL, "cannot create %s: %s", R.work, strerror(errno));
        R.work[0] = '\0';
        goto out;
    }
    /* the rules and playbooks every scenario shares */
    if ((rc = fs_config_load(o->config_file, &cfg, &diag, err)) < 0)
        goto out;
    const char *policy = o->policy_file ? o->policy_file : cfg->safety.policy;
    const char *catalog = o->catalog_file ? o->catalog_file : cfg->safety.catalog;
    if ((rc = fs_rules_load(policy, catalog, NULL, &R.rules, &diag, err)) < 0)
        goto out;
    cs.n = fs_builtin_tools_count();
    if (!(cs.v = calloc(cs.n, sizeof(*cs.v)))) {
        rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        goto out;
    }
    for (size_t i = 0; i < cs.n; i++) {
        cs.v[i].def = fs_builtin_tool(i);
        cs.v[i].calls = &cs.calls;
    }
    R.counters = &cs;
    if ((rc = fs_registry_new_replayed(counted_handler, counted_for, &cs, &R.reg, err)) < 0)
        goto out;
    const char *pbdir = o->playbooks_dir ? o->playbooks_dir : cfg->dispatch.playbooks;
    R.planner = planner;
    if ((rc = planner->open(cfg, pbdir, R.reg, R.rules->catalog, &R.planner_state, &diag, err)) <
        0) {
        R.planner = NULL;
        goto out;
    }

    for (size_t i = 0; i < nfiles; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", o->dir, files[i]);
        struct verdict v = {0};
        rc = run_one(&R, path, files[i], &v, err);
        if (v.rec)
            json_array_append_new(scenarios, v.rec);
        if (rc < 0)
            goto out;
        if (text && (!v.pass || o->verbose)) {
            fs_buf_printf(text, "%s %s: %s\n", v.pass ? "ok  " : "FAIL", files[i],
                          v.pass ? json_string_value(json_object_get(v.rec, "outcome")) : v.why);
            if (!v.pass && o->verbose) {
                size_t k;
                json_t *tl;
                json_array_foreach(json_object_get(v.rec, "trace"), k, tl) fs_buf_printf(
                    text, "       %s: %s\n", json_string_value(json_object_get(tl, "kind")),
                    json_string_value(json_object_get(tl, "text")));
            }
        }
    }
    json_t *sum = summarize(scenarios, o, text);
    *report = json_pack("{s:o,s:O}", "summary", sum ? sum : json_null(), "scenarios", scenarios);
    if (!*report)
        rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
out:
    if (rc < 0 && diag.len && err->msg[0] == '\0')
        snprintf(err->msg, sizeof(err->msg), "%s", fs_buf_str(&diag));
    else if (rc < 0 && diag.len)
        snprintf(err->msg, sizeof(err->msg), "%s", fs_buf_str(&diag));
    json_decref(scenarios);
    if (R.planner)
        R.planner->close(R.planner_state);
    fs_registry_free(R.reg);
    fs_rules_release(R.rules);
    fs_config_free(cfg);
    free(cs.v);
    fs_buf_release(&diag);
    if (R.work[0] && !o->work_dir)
        rm_tree(R.work);
    for (size_t i = 0; i < nfiles; i++)
        free(files[i]);
    free(files);
    return rc;
}
