/* replay: shadow replay of recorded investigations (docs/replay.md). Reads what the store
 * recorded for each investigation in a time range, re-creates its incident in a scratch store
 * of its own (its alerts as known when the investigation began, the kill switch and runtime
 * modes, the execution history and the entity history as of the decision), runs the production
 * investigation there against the recorded tool results and the production gate under the new
 * rules, pinned to the original decision's time, and compares. Owns the comparison (pure), the
 * planner table and the scratch stores. Never writes the recorded store, never runs a tool,
 * never starts an executor. */
#include "core/common.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "core/config.h"
#include "core/json.h"
#include "core/time.h"
#include "eval/replay.h"
#include "incidents/alert.h"
#include "incidents/incidents.h"
#include "incidents/state.h"
#include "safety/service.h"
#include "tools/route.h"

#define UNRECORDED_TEXT "not recorded in the original investigation"
#define HISTORY_MAX 5 /* what scope_of (investigate.c) shows the planner */
#define DAY_MS (24 * 3600 * 1000LL)

/* ---- verdicts (pure) ------------------------------------------------------------------------ */

static const struct {
    const char *name, *one, *many;
} k_verdicts[] = {
#define FS_RV_ROW(e, name, one, many) {name, one, many},
    FS_REPLAY_VERDICTS(FS_RV_ROW)
#undef FS_RV_ROW
};

const char *fs_replay_verdict_name(enum fs_replay_verdict v)
{
    return (size_t)v < FS_ARRAY_LEN(k_verdicts) ? k_verdicts[v].name : "?";
}

const char *fs_replay_verdict_label(enum fs_replay_verdict v, int64_t n)
{
    if ((size_t)v >= FS_ARRAY_LEN(k_verdicts))
        return "?";
    return n == 1 ? k_verdicts[v].one : k_verdicts[v].many;
}

/* No params and empty params are the same thing. */
static bool params_equal(const json_t *a, const json_t *b)
{
    bool ea = !a || json_is_null(a) || (json_is_object(a) && json_object_size(a) == 0);
    bool eb = !b || json_is_null(b) || (json_is_object(b) && json_object_size(b) == 0);
    if (ea || eb)
        return ea == eb;
    return json_equal((json_t *)a, (json_t *)b);
}

enum fs_replay_verdict fs_replay_compare(const struct fs_replay_side *rec,
                                         const struct fs_replay_side *rep, bool diverged,
                                         unsigned *changes)
{
    unsigned c = 0;
    if (strcmp(rec->outcome, rep->outcome) != 0)
        c |= FS_RC_OUTCOME;
    if (strcmp(rec->action, rep->action) != 0)
        c |= FS_RC_ACTION;
    else if (rec->action[0] && !params_equal(rec->params, rep->params))
        c |= FS_RC_PARAMS; /* params of two different actions are not comparable */
    if (strcmp(rec->decision, rep->decision) != 0)
        c |= FS_RC_DECISION;
    if (rec->risk_score != rep->risk_score)
        c |= FS_RC_RISK;
    if (changes)
        *changes = c;
    if (diverged)
        return FS_RV_DIVERGED;
    if (c & FS_RC_OUTCOME)
        return FS_RV_OUTCOME_CHANGED;
    if (c & FS_RC_ACTION)
        return FS_RV_ACTION_CHANGED;
    if (c & FS_RC_PARAMS)
        return FS_RV_PARAMS_CHANGED;
    if (c & FS_RC_DECISION)
        return FS_RV_DECISION_FLIPPED;
    return FS_RV_SAME;
}

json_t *fs_replay_changes_json(unsigned changes)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{FS_RC_OUTCOME, "outcome"},
                 {FS_RC_ACTION, "action"},
                 {FS_RC_PARAMS, "params"},
                 {FS_RC_DECISION, "decision"},
                 {FS_RC_RISK, "risk"}};
    json_t *a = json_array();
    for (size_t i = 0; a && i < FS_ARRAY_LEN(names); i++)
        if (changes & names[i].bit)
            json_array_append_new(a, json_string(names[i].name));
    return a;
}

/* ---- recorded tool results ------------------------------------------------------------------ */

struct call {
    char *tool;
    json_t *args;       /* as the planner sent them */
    char *text;         /* the observation's output */
    json_t *structured; /* restored from the text, or NULL */
    bool is_error;      /* from the observation's audit record */
    bool text_only;     /* a result whose structured content could not be restored */
    bool used;
};

struct calls {
    struct call *v;
    size_t n;
    json_t *unrecorded; /* [{tool, args}] the replay asked for and the recording lacks */
};

static void calls_release(struct calls *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].tool);
        json_decref(c->v[i].args);
        free(c->v[i].text);
        json_decref(c->v[i].structured);
    }
    free(c->v);
    json_decref(c->unrecorded);
    memset(c, 0, sizeof(*c));
}

struct tool_closure {
    struct replayer *rp;
    char name[FS_TOOL_MAX_NAME + 1];
};

/* The replay registry's handlers share this; cur is the investigation being replayed. */
struct replayer {
    struct tool_closure **tools;
    size_t ntools;
    struct calls *cur;
};

static void *closure_for(void *arg, const char *name)
{
    struct replayer *rp = arg;
    struct tool_closure **g = fs_realloc(rp->tools, (rp->ntools + 1) * sizeof(*g));
    if (!g)
        return NULL;
    rp->tools = g;
    struct tool_closure *t = fs_calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->rp = rp;
    fs_strlcpy(t->name, name, sizeof(t->name));
    rp->tools[rp->ntools++] = t;
    return t;
}

/* A call whose tool and arguments were recorded gets the recorded result: the first such entry
 * not used yet, else the last one used (a playbook may ask the same twice). Any other call gets
 * an error result and is remembered: the replay diverged from the recording. */
static int replay_handler(void *closure, const json_t *args, const struct fs_tool_ctx *ctx,
                          struct fs_tool_result *out, struct fs_err *err)
{
    struct tool_closure *t = closure;
    if (!t)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    struct calls *cs = t->rp->cur;
    struct call *hit = NULL, *again = NULL;
    for (size_t i = 0; cs && i < cs->n && !hit; i++) {
        struct call *c = &cs->v[i];
        if (strcmp(c->tool, t->name) != 0 || !json_equal(c->args, (json_t *)args))
            continue;
        if (!c->used)
            hit = c;
        else
            again = c;
    }
    if (!hit)
        hit = again;
    if (!hit) {
        if (cs)
            json_array_append_new(cs->unrecorded,
                                  json_pack("{s:s,s:O}", "tool", t->name, "args", args));
        out->is_error = true;
        out->text = fs_strdup(UNRECORDED_TEXT);
        return out->text ? 0 : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    hit->used = true;
    out->is_error = hit->is_error;
    out->text = fs_strdup(hit->text);
    out->structured = hit->structured ? json_incref(hit->structured) : NULL;
    return out->text ? 0 : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
}

/* The store keeps a tool's text, not its structured content. Tools that return only
 * structured content (the host tools) get it back as their text, serialised compactly: such a
 * text parses back to exactly what the planner saw. A text that does not survive the round
 * trip (a summary, a capped output, kubectl's own JSON) stays text only. */
static json_t *restore_structured(const char *text)
{
    if (!text || text[0] != '{')
        return NULL;
    json_t *v = json_loads(text, 0, NULL);
    if (!json_is_object(v)) {
        json_decref(v);
        return NULL;
    }
    static const size_t flags[] = {JSON_COMPACT, JSON_COMPACT | JSON_REAL_PRECISION(10)};
    for (size_t i = 0; i < FS_ARRAY_LEN(flags); i++) {
        char *d = json_dumps(v, flags[i]);
        bool same = d && strcmp(d, text) == 0;
        free(d);
        if (same)
            return v;
    }
    json_decref(v);
    return NULL;
}

/* ---- what the recorded store says ----------------------------------------------------------- */

static int64_t time_of(const json_t *v)
{
    int64_t t;
    const char *s = json_string_value(v);
    if (!s || fs_time_parse_rfc3339(s, (size_t)-1, &t) < 0)
        return FS_TIME_UNSET;
    return t;
}

static bool starts_with(const char *s, const char *prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Facts gathered once per run. */
struct facts {
    json_t *obs;      /* "obs-N" -> {isError, truncated}: observation audit records */
    json_t *controls; /* [{ts, type, actor, data}]: freeze, unfreeze, mode, in chain order */
    json_t *execs;    /* [{action, targetKey, startedAt, finishedAt, outcome}] */
    int64_t obs_since;
};

static int audit_row(const struct fs_audit_row *r, void *arg)
{
    struct facts *f = arg;
    json_t *d = json_loads(r->data ? r->data : "{}", 0, NULL);
    if (!d)
        return 0; /* not ours to judge: audit verify does that */
    int rc = 0;
    if (strcmp(r->type, "observation") == 0) {
        const char *id = json_string_value(json_object_get(d, "observation"));
        if (id && r->ts >= f->obs_since)
            rc = json_object_set_new(
                f->obs, id,
                json_pack("{s:b,s:b}", "isError", json_is_true(json_object_get(d, "isError")),
                          "truncated", json_is_true(json_object_get(d, "truncated"))));
    } else {
        rc = json_array_append_new(
            f->controls, json_pack("{s:I,s:s,s:s,s:O}", "ts", (json_int_t)r->ts, "type", r->type,
                                   "actor", r->actor ? r->actor : "", "data", d));
    }
    json_decref(d);
    return rc < 0 ? -FS_E_NOMEM : 0;
}

/* The controls (kill switch, runtime modes) as they were at t: key -> value object. */
static json_t *controls_at(const json_t *events, int64_t t)
{
    json_t *state = json_object();
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev)
    {
        if (json_integer_value(json_object_get(ev, "ts")) > t)
            break;
        const char *type = json_string_value(json_object_get(ev, "type"));
        json_t *d = json_object_get(ev, "data");
        if (strcmp(type, "freeze") == 0) {
            json_object_set_new(state, "freeze",
                                json_pack("{s:O?,s:O}", "reason", json_object_get(d, "reason"),
                                          "by", json_object_get(ev, "actor")));
        } else if (strcmp(type, "unfreeze") == 0) {
            json_object_del(state, "freeze");
        } else if (strcmp(type, "mode") == 0) {
            json_t *scope = json_object_get(d, "scope");
            const char *svc = json_string_value(json_object_get(scope, "service"));
            const char *env = json_string_value(json_object_get(scope, "env"));
            char key[500];
            snprintf(key, sizeof(key), "mode:%s:%s", svc ? svc : "*", env ? env : "*");
            json_t *to = json_object_get(d, "to");
            if (json_is_string(to))
                json_object_set_new(
                    state, key,
                    json_pack("{s:O,s:O?}", "mode", to, "reason", json_object_get(d, "reason")));
            else
                json_object_del(state, key);
        }
    }
    return state;
}

/* One investigation to replay. */
struct cand {
    int64_t incident_id;
    json_t *inv; /* the investigation (API representation) */
    int64_t started;
};

static int cand_cmp(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    if (x->started != y->started)
        return x->started < y->started ? -1 : 1;
    return x->incident_id < y->incident_id ? -1 : x->incident_id > y->incident_id;
}

/* ---- the scratch store ----------------------------------------------------------------------- */

struct run {
    const struct fs_replay_opts *o;
    struct facts f;
    struct replayer rp;
    struct fs_registry *reg;
    void *planner_state;
    char dir[4096];
    int64_t counts[FS_RV__COUNT];
    int64_t skipped, risk_changed, n;
};

/* Alerts of the incident as they were known when its investigation began. */
struct recreate {
    const struct fs_config *cfg;
    const json_t *episodes; /* the recorded incident's */
    const json_t *timeline;
    int64_t t_start;
};

/* Was the episode closed by something received at or before t? (The timeline records when
 * forestall learnt of each end, which endsAt does not.) */
static bool closed_by(const json_t *timeline, const char *episode_id, int64_t t)
{
    size_t i;
    json_t *ev;
    json_array_foreach(timeline, i, ev)
    {
        if (!fs_streq(json_string_value(json_object_get(ev, "episodeId")), episode_id))
            continue;
        if (time_of(json_object_get(ev, "ts")) <= t &&
            json_object_get(json_object_get(ev, "detail"), "endsAt"))
            return true;
    }
    return false;
}

static int apply_one(struct fs_store *s, const struct fs_config *cfg, const json_t *ep,
                     bool resolved, int64_t now, struct fs_err *err)
{
    enum fs_alert_source src = FS_SRC_ALERTMANAGER;
    const char *sname = json_string_value(json_object_get(ep, "source"));
    for (int k = 0; k < FS_SRC__COUNT; k++)
        if (fs_streq(sname, fs_alert_source_name((enum fs_alert_source)k)))
            src = (enum fs_alert_source)k;
    /* the batch's root owns what the alert borrows */
    json_t *root = json_array();
    static const char *const parts[] = {"labels", "annotations", "extra"};
    for (size_t k = 0; root && k < FS_ARRAY_LEN(parts); k++) {
        json_t *v = json_object_get(ep, parts[k]);
        json_array_append_new(root, json_is_object(v) ? json_incref(v) : json_object());
    }
    struct fs_alert a = {0};
    struct fs_alert_batch b = {.source = src, .root = root, .alerts = &a, .n = 1};
    if (!root || json_array_size(root) != 3 || json_object_size(json_array_get(root, 0)) == 0) {
        json_decref(root);
        return fs_err_set(err, FS_E_INVALID, NULL, "a recorded episode has no labels");
    }
    a.labels = json_array_get(root, 0);
    a.annotations = json_array_get(root, 1);
    a.extra = json_array_get(root, 2);
    const char *fp = json_string_value(json_object_get(ep, "fingerprint"));
    if (fp && strlen(fp) == 16)
        memcpy(a.fingerprint, fp, 17);
    else
        fs_alert_fingerprint(a.labels, a.fingerprint);
    a.starts_at = time_of(json_object_get(ep, "startsAt"));
    a.starts_known = a.starts_at != FS_TIME_UNSET;
    if (!a.starts_known)
        a.starts_at = now;
    a.status = resolved ? FS_ALERT_RESOLVED : FS_ALERT_FIRING;
    a.ends_at = resolved ? time_of(json_object_get(ep, "endsAt")) : FS_TIME_UNSET;
    a.has_severity =
        fs_severity_parse(json_string_value(json_object_get(ep, "severity")), &a.severity);
    struct fs_incidents_params p;
    fs_incidents_params_from_config(cfg, &p);
    struct fs_apply_stats st;
    int rc = fs_incidents_apply(s, &p, &b, now, &st, err);
    json_decref(root);
    return rc;
}

static int recreate_tx(struct fs_store *s, void *arg, struct fs_err *err)
{
    struct recreate *x = arg;
    size_t i;
    json_t *ep;
    int rc = 0, known = 0;
    /* every episode forestall knew of, firing; then those whose end it had learnt, resolved */
    json_array_foreach(x->episodes, i, ep)
    {
        if (rc == 0 && time_of(json_object_get(ep, "createdAt")) <= x->t_start) {
            rc = apply_one(s, x->cfg, ep, false, x->t_start, err);
            known++;
        }
    }
    if (known == 0) { /* clocks disagree: take them all rather than nothing */
        json_array_foreach(x->episodes, i, ep)
        {
            if (rc == 0)
                rc = apply_one(s, x->cfg, ep, false, x->t_start, err);
        }
    }
    json_array_foreach(x->episodes, i, ep)
    {
        if (rc == 0 && (known == 0 || time_of(json_object_get(ep, "createdAt")) <= x->t_start) &&
            closed_by(x->timeline, json_string_value(json_object_get(ep, "id")), x->t_start))
            rc = apply_one(s, x->cfg, ep, true, x->t_start, err);
    }
    return rc;
}

/* The context the gate and the planner read from the store, as of t. */
struct context {
    const struct run *r;
    int64_t t;       /* the decision's time */
    int64_t t_start; /* the investigation's start */
    const json_t *controls;
    const char *host;
    const json_t *history; /* the entity's rows from the recorded store, newest first */
    int64_t recorded_incident;
};

static int context_tx(struct fs_store *s, void *arg, struct fs_err *err)
{
    struct context *x = arg;
    int rc = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)x->controls, key, v)
    {
        char *text = fs_json_canonical(v);
        rc = text ? fs_store_control_put(s, key, text, "replay", x->t, err)
                  : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        free(text);
        if (rc < 0)
            return rc;
    }
    /* executions of any action on any target in the day before the decision, each with the
     * outcome it had then: the gate's rate limit and failure history */
    size_t i;
    json_array_foreach(x->r->f.execs, i, v)
    {
        int64_t started = json_integer_value(json_object_get(v, "startedAt"));
        int64_t finished = json_integer_value(json_object_get(v, "finishedAt"));
        if (started <= x->t - DAY_MS || started > x->t)
            continue;
        bool ended = finished > 0 && finished <= x->t;
        struct fs_execution_row e = {
            .action = json_string_value(json_object_get(v, "action")),
            .target_key = json_string_value(json_object_get(v, "targetKey")),
            .started_at = started,
            .finished_at = ended ? finished : FS_TIME_UNSET,
            .outcome = ended ? json_string_value(json_object_get(v, "outcome")) : "running",
        };
        int64_t id;
        if (e.action && e.target_key && e.outcome &&
            (rc = fs_store_execution_insert(s, &e, &id, err)) < 0)
            return rc;
    }
    /* what happened on the host before, each row under an incident of its own (the history
     * keeps one row per entity and incident) */
    json_t *rows = json_array();
    json_array_foreach(x->history, i, v)
    {
        int64_t inc = 0;
        fs_parse_id(json_string_value(json_object_get(v, "incidentId")), "inc", &inc);
        if (inc == x->recorded_incident || time_of(json_object_get(v, "ts")) >= x->t_start)
            continue;
        if (json_array_size(rows) < HISTORY_MAX)
            json_array_append(rows, v);
    }
    for (size_t k = json_array_size(rows); k-- > 0 && rc == 0;) {
        json_t *h = json_array_get(rows, k);
        int64_t ts = time_of(json_object_get(h, "ts"));
        struct fs_incident placeholder = {
            .group_key = "replay:history",
            .severity = "info",
            .title = "an earlier incident (replay)",
            .labels = "{}",
            .created_at = ts,
            .updated_at = ts,
            .resolved_at = ts,
        };
        fs_strlcpy(placeholder.status, "resolved", sizeof(placeholder.status));
        if ((rc = fs_store_incident_insert(s, &placeholder, err)) < 0)
            break;
        struct fs_entity_history_row row = {
            .entity = x->host,
            .incident_id = placeholder.id,
            .ts = ts,
            .outcome = json_string_value(json_object_get(h, "outcome")),
            .action = json_string_value(json_object_get(h, "action")),
            .root_cause = json_string_value(json_object_get(h, "rootCause")),
            .summary = json_string_value(json_object_get(h, "summary")),
        };
        if (!row.outcome)
            row.outcome = "unknown";
        rc = fs_store_entity_history_insert(s, &row, err);
    }
    json_decref(rows);
    return rc;
}

static void remove_store_files(const char *path)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < FS_ARRAY_LEN(suffixes); i++) {
        char p[4200];
        snprintf(p, sizeof(p), "%s%s", path, suffixes[i]);
        unlink(p);
    }
}

/* ---- one investigation ---------------------------------------------------------------------- */

/* One side as JSON; side->params borrowed. */
static json_t *side_json(const struct fs_replay_side *side, const char *playbook,
                         const char *risk_level, const char *proposal, const char *policy,
                         const char *state)
{
    json_t *o = json_pack("{s:s,s:s?,s:s?,s:O?,s:s?}", "outcome", side->outcome, "playbook",
                          playbook && *playbook ? playbook : NULL, "action",
                          side->action[0] ? side->action : NULL, "params", side->params, "decision",
                          side->decision[0] ? side->decision : NULL);
    if (!o)
        return NULL;
    json_object_set_new(o, "risk",
                        side->risk_score >= 0 ? json_pack("{s:i,s:s}", "score", side->risk_score,
                                                          "level", risk_level ? risk_level : "")
                                              : json_null());
    if (proposal)
        json_object_set_new(o, "proposal", json_string(proposal));
    if (policy)
        json_object_set_new(o, "policyVersion", json_string(policy));
    if (state)
        json_object_set_new(o, "state", json_string(state));
    return o;
}

static void side_from_proposal(struct fs_replay_side *side, const json_t *p)
{
    fs_strlcpy(side->action, json_string_value(json_object_get(p, "action")) ?: "",
               sizeof(side->action));
    side->params = json_object_get(json_object_get(p, "proposal"), "params");
    fs_strlcpy(side->decision, json_string_value(json_object_get(p, "decision")) ?: "",
               sizeof(side->decision));
    json_t *score = json_object_get(json_object_get(p, "risk"), "score");
    side->risk_score = json_is_integer(score) ? (int)json_integer_value(score) : -1;
}

/* The handling state the investigation left the incident in: the last state move recorded at
 * or before its end. */
static const char *state_after(const json_t *timeline, int64_t t_end)
{
    const char *to = NULL;
    size_t i;
    json_t *ev;
    json_array_foreach(timeline, i, ev)
    {
        if (fs_streq(json_string_value(json_object_get(ev, "kind")), "state") &&
            time_of(json_object_get(ev, "ts")) <= t_end)
            to = json_string_value(json_object_get(json_object_get(ev, "detail"), "to"));
    }
    return to;
}

/* Gather the recorded tool calls of the investigation: its observations (by the ids its result
 * lists, else by its time and actor), with error flags from their audit records. */
static int gather_calls(struct run *r, const json_t *obs, const json_t *inv, int64_t t_start,
                        int64_t t_end, struct calls *out, struct fs_err *err)
{
    json_t *result = json_object_get(inv, "result");
    json_t *listed = json_object_get(result, "observations");
    json_t *forecast = json_object_get(result, "forecast");
    size_t i, j;
    json_t *o, *l;
    out->unrecorded = json_array();
    out->v = fs_calloc(json_array_size(obs) + 1, sizeof(*out->v));
    if (!out->v || !out->unrecorded)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    size_t last_forecast = (size_t)-1;
    json_array_foreach(obs, i, o)
    {
        const char *id = json_string_value(json_object_get(o, "id"));
        bool mine = false;
        if (json_array_size(listed) > 0) {
            json_array_foreach(listed, j, l) mine |=
                fs_streq(json_string_value(json_object_get(l, "id")), id);
        } else {
            int64_t ts = time_of(json_object_get(o, "ts"));
            mine = ts >= t_start && ts <= t_end &&
                   starts_with(json_string_value(json_object_get(o, "actor")), "playbook:");
        }
        if (!mine)
            continue;
        struct call *c = &out->v[out->n];
        const char *tool = json_string_value(json_object_get(o, "tool"));
        const char *text = json_string_value(json_object_get(o, "output"));
        json_t *args = json_object_get(o, "input");
        json_t *audit = json_object_get(r->f.obs, id ? id : "");
        c->tool = fs_strdup(tool ? tool : "");
        c->text = fs_strdup(text ? text : "");
        c->args = json_is_object(args) ? json_incref(args) : json_object();
        c->is_error = json_is_true(json_object_get(audit, "isError"));
        if (!c->tool || !c->text || !c->args) {
            out->n++;
            return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        }
        if (!c->is_error) {
            c->structured = restore_structured(c->text);
            c->text_only = c->structured == NULL;
            if (c->text_only && strcmp(c->tool, "prometheus.forecast") == 0)
                last_forecast = out->n;
        }
        out->n++;
    }
    /* a forecast's structured content is lost, but the investigation kept the series that
     * reaches its threshold first: give the last forecast that much back */
    if (last_forecast != (size_t)-1 && json_is_object(forecast))
        out->v[last_forecast].structured = json_pack("{s:O}", "earliest", forecast);
    return 0;
}

/* Replay one investigation; append its entry to incidents. */
static int replay_one(struct run *r, const struct cand *cd, json_t *incidents, struct fs_err *err)
{
    const struct fs_replay_opts *o = r->o;
    json_t *inc = NULL, *obs = NULL, *props = NULL, *history = NULL, *controls = NULL;
    json_t *entry = NULL, *notes = json_array(), *rprop = NULL, *rinvs = NULL;
    struct calls calls = {0};
    struct fs_store *scratch = NULL;
    struct fs_investigation_outcome out = {0};
    bool have_out = false;
    char path[4200] = "", incid[32], invid[32];
    snprintf(incid, sizeof(incid), "inc-%" PRId64, cd->incident_id);
    snprintf(invid, sizeof(invid), "%s", json_string_value(json_object_get(cd->inv, "id")) ?: "");
    int64_t t_start = cd->started;
    int64_t t_end = time_of(json_object_get(cd->inv, "finishedAt"));
    const char *status = json_string_value(json_object_get(cd->inv, "status"));
    int rc = 0;
    if (t_end == FS_TIME_UNSET || !status || strcmp(status, "running") == 0) {
        r->skipped++;
        json_array_append_new(
            incidents,
            json_pack("{s:s,s:s,s:O,s:s,s:[s]}", "incident", incid, "investigation", invid,
                      "startedAt", json_object_get(cd->inv, "startedAt"), "verdict", "skipped",
                      "notes", "the investigation did not finish (a crash interrupted it)"));
        goto out;
    }
    if ((rc = fs_store_incident_get(o->store, cd->incident_id, &inc, err)) < 0 ||
        (rc = fs_store_observations_list(o->store, cd->incident_id, &obs, err)) < 0)
        goto out;
    struct fs_proposal_filter pf = {.incident_id = cd->incident_id};
    if ((rc = fs_store_proposals_list(o->store, &pf, &props, err)) < 0)
        goto out;

    /* recorded */
    const json_t *rec_prop = NULL;
    size_t i;
    json_t *v;
    json_array_foreach(props, i, v)
    {
        int64_t at = time_of(json_object_get(v, "createdAt"));
        if (at >= t_start && at <= t_end &&
            starts_with(json_string_value(json_object_get(v, "proposer")), "playbook:"))
            rec_prop = v; /* newest first: the last match is the earliest */
    }
    int64_t t_decide = rec_prop ? time_of(json_object_get(rec_prop, "createdAt")) : t_end;
    struct fs_replay_side rec = {.risk_score = -1}, rep = {.risk_score = -1};
    fs_strlcpy(rec.outcome, status, sizeof(rec.outcome));
    if (rec_prop)
        side_from_proposal(&rec, rec_prop);
    if ((rc = gather_calls(r, obs, cd->inv, t_start, t_end, &calls, err)) < 0)
        goto out;

    /* the scratch store: the incident as it was, the context as it was */
    snprintf(path, sizeof(path), "%s/%s-%s.db", r->dir, incid, invid);
    remove_store_files(path);
    struct fs_store_options so = {.driver = "sqlite", .path = path, .busy_timeout_ms = 5000};
    if ((rc = fs_store_open(&so, &scratch, err)) < 0)
        goto out;
    struct fs_writer w;
    fs_store_direct_writer(scratch, &w);
    struct recreate rx = {o->cfg, json_object_get(inc, "episodes"),
                          json_object_get(inc, "timeline"), t_start};
    if ((rc = fs_writer_run(&w, recreate_tx, &rx, err)) < 0)
        goto out;
    int64_t ids[16];
    int n = 0;
    if ((rc = fs_store_incidents_in_state(scratch, "new", ids, 16, &n, err)) < 0)
        goto out;
    if (n == 0) {
        rc = fs_err_set(err, FS_E_INVALID, NULL, "%s: its alerts open no incident", incid);
        goto out;
    }
    if (n > 1)
        json_array_append_new(notes, json_string("the configuration's grouping splits the "
                                                 "incident's alerts; the first part is replayed"));
    /* the host the investigation looked at, for its history */
    json_t *labels = json_object_get(inc, "labels");
    const char *instance = json_string_value(json_object_get(labels, "instance"));
    if (!instance)
        instance = json_string_value(json_object_get(
            json_object_get(json_array_get(json_object_get(inc, "episodes"), 0), "labels"),
            "instance"));
    char host[256] = "";
    fs_route_host(instance, host, sizeof(host));
    if (host[0] && (rc = fs_store_entity_history(o->store, host, 50, &history, err)) < 0)
        goto out;
    controls = controls_at(r->f.controls, t_decide);
    struct context cx = {.r = r,
                         .t = t_decide,
                         .t_start = t_start,
                         .controls = controls,
                         .host = host,
                         .history = history,
                         .recorded_incident = cd->incident_id};
    if (!controls || (rc = fs_writer_run(&w, context_tx, &cx, err)) < 0) {
        if (!controls)
            rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        goto out;
    }

    /* the production investigation and gate, against the recorded results */
    r->rp.cur = &calls;
    struct fs_investigation_opts io = {
        .w = &w,
        .cfg = o->cfg,
        .rules = o->rules,
        .tools = r->reg,
        .now_ms = t_decide,
        .batch = true,
    };
    rc = o->planner->investigate(r->planner_state, &io, ids[0], &out, err);
    r->rp.cur = NULL;
    if (rc < 0)
        goto out;
    have_out = true;

    /* replayed */
    if ((rc = fs_store_investigations_list(scratch, ids[0], &rinvs, err)) < 0)
        goto out;
    const char *rstatus = json_string_value(
        json_object_get(json_array_get(rinvs, json_array_size(rinvs) - 1), "status"));
    fs_strlcpy(rep.outcome, rstatus ? rstatus : "failed", sizeof(rep.outcome));
    if (out.proposal_id > 0) {
        if ((rc = fs_store_proposal_get(scratch, out.proposal_id, &rprop, err)) < 0)
            goto out;
        side_from_proposal(&rep, rprop);
    } else if (out.plan.proposal) {
        /* refused before the gate: the action without a decision */
        fs_strlcpy(rep.action,
                   json_string_value(json_object_get(out.plan.proposal, "action")) ?: "",
                   sizeof(rep.action));
        rep.params = json_object_get(out.plan.proposal, "params");
    }
    if (rec_prop == NULL && strcmp(rec.outcome, "proposed") == 0)
        json_array_append_new(notes, json_string("the recorded proposal was refused before the "
                                                 "gate (no decision was stored)"));

    unsigned changes = 0;
    bool diverged = json_array_size(calls.unrecorded) > 0;
    enum fs_replay_verdict verdict = fs_replay_compare(&rec, &rep, diverged, &changes);
    r->counts[verdict]++;
    r->n++;
    if (changes & FS_RC_RISK)
        r->risk_changed++;
    int text_only = 0;
    for (size_t k = 0; k < calls.n; k++)
        text_only += calls.v[k].used && calls.v[k].text_only && !calls.v[k].structured;
    const char *rec_state = state_after(json_object_get(inc, "timeline"), t_end);
    entry = json_pack(
        "{s:s,s:s,s:O,s:s,s:o,s:o,s:o,s:O,s:i,s:i,s:i,s:O}", "incident", incid, "investigation",
        invid, "startedAt", json_object_get(cd->inv, "startedAt"), "verdict",
        fs_replay_verdict_name(verdict), "changes", fs_replay_changes_json(changes), "recorded",
        side_json(&rec, json_string_value(json_object_get(cd->inv, "playbook")),
                  json_string_value(json_object_get(json_object_get(rec_prop, "risk"), "level")),
                  json_string_value(json_object_get(rec_prop, "id")),
                  json_string_value(json_object_get(rec_prop, "policyVersion")), rec_state),
        "replayed",
        side_json(&rep, out.plan.playbook,
                  json_string_value(json_object_get(json_object_get(rprop, "risk"), "level")), NULL,
                  json_string_value(json_object_get(rprop, "policyVersion")),
                  fs_incident_state_name(out.state)),
        "unrecorded", calls.unrecorded, "callsRecorded", (int)calls.n, "callsReplayed",
        out.plan.steps, "textOnly", text_only, "notes", notes);
    if (entry && json_object_get(json_object_get(entry, "recorded"), "state") == NULL)
        json_object_set_new(json_object_get(entry, "recorded"), "state", json_null());
    if (entry)
        json_object_set(json_object_get(entry, "recorded"), "stateNow",
                        json_object_get(inc, "state"));
    if (!entry || json_array_append_new(incidents, entry) < 0)
        rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    entry = NULL;
out:
    if (have_out)
        fs_investigation_outcome_release(&out);
    if (scratch)
        fs_store_close(scratch);
    if (path[0])
        remove_store_files(path);
    if (rc < 0 && rc != -FS_E_NOMEM && rc != -FS_E_FAILSTOP && rc != -FS_E_DISK_FULL) {
        /* this one could not be replayed (a recorded incident the scratch store refuses): say
         * so and go on with the others */
        r->skipped++;
        json_array_append_new(incidents,
                              json_pack("{s:s,s:s,s:s,s:[s]}", "incident", incid, "investigation",
                                        invid, "verdict", "skipped", "notes", err->msg));
        rc = 0;
    }
    calls_release(&calls);
    json_decref(inc);
    json_decref(obs);
    json_decref(props);
    json_decref(history);
    json_decref(controls);
    json_decref(notes);
    json_decref(rprop);
    json_decref(rinvs);
    return rc;
}

/* ---- the run --------------------------------------------------------------------------------- */

/* Every investigation in range, and the executions of the day before it. */
static int gather(struct run *r, struct cand **out, size_t *nout, struct fs_err *err)
{
    const struct fs_replay_opts *o = r->o;
    *out = NULL;
    *nout = 0;
    /* an incident is updated by every move of its handling, so one updated since a day before
     * `since` holds every execution the gate may have counted */
    struct fs_incident_filter f = {.since_ms = o->since_ms - DAY_MS};
    json_t *list = NULL;
    int rc = fs_store_incidents_list(o->store, &f, &list, err);
    if (rc < 0)
        return rc;
    struct cand *c = NULL;
    size_t n = 0, cap = 0;
    size_t i;
    json_t *inc;
    json_array_foreach(list, i, inc)
    {
        int64_t id = 0;
        fs_parse_id(json_string_value(json_object_get(inc, "id")), "inc", &id);
        json_t *ex = NULL, *invs = NULL;
        if ((rc = fs_store_executions_list(o->store, id, &ex, err)) < 0 ||
            (rc = fs_store_investigations_list(o->store, id, &invs, err)) < 0) {
            json_decref(ex);
            break;
        }
        size_t j;
        json_t *e;
        json_array_foreach(ex, j, e)
        {
            int64_t fin = time_of(json_object_get(e, "finishedAt"));
            json_array_append_new(
                r->f.execs,
                json_pack("{s:O,s:O,s:I,s:I,s:O}", "action", json_object_get(e, "action"),
                          "targetKey", json_object_get(e, "targetKey"), "startedAt",
                          (json_int_t)time_of(json_object_get(e, "startedAt")), "finishedAt",
                          (json_int_t)(fin == FS_TIME_UNSET ? 0 : fin), "outcome",
                          json_object_get(e, "outcome")));
        }
        json_decref(ex);
        json_array_foreach(invs, j, e)
        {
            int64_t st = time_of(json_object_get(e, "startedAt"));
            if (st == FS_TIME_UNSET || st < o->since_ms || st >= o->until_ms)
                continue;
            if (n == cap) {
                size_t nc = cap ? cap * 2 : 64;
                struct cand *g = fs_realloc(c, nc * sizeof(*g));
                if (!g) {
                    rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
                    break;
                }
                c = g;
                cap = nc;
            }
            c[n++] = (struct cand){.incident_id = id, .inv = json_incref(e), .started = st};
        }
        json_decref(invs);
        if (rc < 0)
            break;
    }
    json_decref(list);
    if (rc < 0) {
        for (size_t k = 0; k < n; k++)
            json_decref(c[k].inv);
        free(c);
        return rc;
    }
    if (n)
        qsort(c, n, sizeof(*c), cand_cmp);
    *out = c;
    *nout = n;
    return 0;
}

static int make_scratch_dir(const struct fs_replay_opts *o, char *dir, size_t size,
                            struct fs_err *err)
{
    const char *base = o->scratch_dir;
    if (!base)
        base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    snprintf(dir, size, "%s/forestall-replay-XXXXXX", base);
    if (!mkdtemp(dir))
        return fs_err_set(err, FS_E_IO, NULL, "cannot make a scratch directory below %s: %s", base,
                          strerror(errno));
    return 0;
}

int fs_replay_run(const struct fs_replay_opts *o, json_t **report, struct fs_err *err)
{
    *report = NULL;
    struct run r = {.o = o};
    struct cand *cands = NULL;
    size_t ncand = 0;
    json_t *incidents = json_array();
    r.f.obs = json_object();
    r.f.controls = json_array();
    r.f.execs = json_array();
    r.f.obs_since = o->since_ms - 60 * 1000;
    struct fs_buf diag = FS_BUF_INIT(1 << 16);
    int rc = 0;
    if (!incidents || !r.f.obs || !r.f.controls || !r.f.execs) {
        rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        goto out;
    }
    if ((rc = gather(&r, &cands, &ncand, err)) < 0)
        goto out;
    struct fs_audit_filter af = {.since_ms = FS_TIME_UNSET,
                                 .types = "freeze,unfreeze,mode,observation"};
    if ((rc = fs_store_audit_scan(o->store, &af, audit_row, &r.f, err)) < 0) {
        if (rc == -FS_E_NOMEM)
            fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        goto out;
    }
    if ((rc = fs_registry_new_replayed(replay_handler, closure_for, &r.rp, &r.reg, err)) < 0)
        goto out;
    if ((rc = o->planner->open(o->cfg, o->playbooks_dir, r.reg, o->rules->catalog, &r.planner_state,
                               &diag, err)) < 0) {
        if (diag.len) { /* every problem, not only the first */
            snprintf(err->msg, sizeof(err->msg), "%s", fs_buf_str(&diag));
            size_t k = strlen(err->msg);
            while (k && err->msg[k - 1] == '\n')
                err->msg[--k] = '\0';
        }
        goto out;
    }
    if ((rc = make_scratch_dir(o, r.dir, sizeof(r.dir), err)) < 0)
        goto out;
    size_t first = o->limit > 0 && ncand > (size_t)o->limit ? ncand - (size_t)o->limit : 0;
    for (size_t i = first; i < ncand && rc == 0; i++)
        rc = replay_one(&r, &cands[i], incidents, err);
    rmdir(r.dir);
    if (rc < 0)
        goto out;

    char since[40], until[40];
    json_t *summary = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I}", "since",
                                fs_time_format(o->since_ms, since, 40), "until",
                                fs_time_format(o->until_ms, until, 40), "planner", o->planner->name,
                                "policy", o->rules->policy->version, "catalog",
                                o->rules->catalog->version, "replayed", (json_int_t)r.n, "skipped",
                                (json_int_t)r.skipped, "risk_changed", (json_int_t)r.risk_changed);
    for (int v = 0; summary && v < FS_RV__COUNT; v++)
        json_object_set_new(summary, fs_replay_verdict_name((enum fs_replay_verdict)v),
                            json_integer(r.counts[v]));
    *report = json_pack("{s:o,s:O}", "summary", summary, "incidents", incidents);
    if (!*report)
        rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
out:
    fs_buf_release(&diag);
    if (r.planner_state)
        o->planner->close(r.planner_state);
    fs_registry_free(r.reg);
    for (size_t i = 0; i < r.rp.ntools; i++)
        free(r.rp.tools[i]);
    free(r.rp.tools);
    for (size_t i = 0; i < ncand; i++)
        json_decref(cands[i].inv);
    free(cands);
    json_decref(incidents);
    json_decref(r.f.obs);
    json_decref(r.f.controls);
    json_decref(r.f.execs);
    return rc;
}
