/* investigate: one investigation of one incident — the planner's view of the incident (scope),
 * routing its tool calls, recording each call as an observation, and handing the planner's
 * proposal to the gate; every move of the incident recorded through the caller's writer. */
#include "core/common.h"

#include <inttypes.h>
#include <string.h>

#include "audit/audit.h"
#include "context/graph.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/time.h"
#include "planner/investigate.h"
#include "tools/route.h"

void fs_investigation_outcome_release(struct fs_investigation_outcome *o)
{
    fs_plan_result_release(&o->plan);
    json_decref(o->gate);
    memset(o, 0, sizeof(*o));
}

static int64_t now_of(const struct fs_investigation_opts *o)
{
    return o->now_ms ? o->now_ms : fs_now_ms();
}

/* ---- the planner's view of the incident -------------------------------------------------- */

/* Labels: the incident's common labels over those of its first firing episode (the one that
 * opened it), so a single-alert incident sees every label of its alert. */
static json_t *scope_of(const struct fs_investigation_opts *o, const json_t *inc, int64_t now)
{
    json_t *episodes = json_object_get(inc, "episodes");
    json_t *first = NULL, *ep;
    size_t i;
    json_array_foreach(episodes, i, ep)
    {
        if (!first || strcmp(json_string_value(json_object_get(ep, "status")), "firing") == 0) {
            first = ep;
            if (strcmp(json_string_value(json_object_get(ep, "status")), "firing") == 0)
                break;
        }
    }
    json_t *labels = json_deep_copy(first ? json_object_get(first, "labels") : NULL);
    if (!labels)
        labels = json_object();
    json_object_update(labels, json_object_get(inc, "labels"));
    json_t *ann = json_deep_copy(first ? json_object_get(first, "annotations") : NULL);
    if (!ann)
        ann = json_object();
    json_t *scope = json_pack("{s:o,s:o,s:{s:O,s:O,s:O,s:O?}}", "labels", labels, "annotations",
                              ann, "incident", "id", json_object_get(inc, "id"), "severity",
                              json_object_get(inc, "severity"), "title",
                              json_object_get(inc, "title"), "startsAt",
                              first ? json_object_get(first, "startsAt") : NULL);
    if (!scope)
        return NULL;
    /* context: the knowledge graph's entity for the host or service, and what happened before */
    char host[256];
    fs_route_host(json_string_value(json_object_get(labels, "instance")), host, sizeof(host));
    const char *service = json_string_value(json_object_get(labels, "service"));
    const struct fs_entity *e = NULL;
    if (o->rules && o->rules->graph) {
        if (service)
            e = fs_graph_find(o->rules->graph, service);
        if (!e && host[0])
            e = fs_graph_find(o->rules->graph, host);
    }
    json_t *ctx = json_object();
    json_object_set_new(ctx, "entity",
                        e ? fs_graph_entity_json(o->rules->graph, e, now) : json_null());
    json_t *history = NULL;
    struct fs_err herr;
    if (host[0] && fs_store_entity_history(o->w->store, host, 5, &history, &herr) == 0)
        json_object_set_new(ctx, "history", history);
    else
        json_object_set_new(ctx, "history", json_array());
    json_object_set_new(scope, "context", ctx);
    return scope;
}

/* ---- recording --------------------------------------------------------------------------- */

struct rec {
    const struct fs_investigation_opts *o;
    int64_t incident_id;
    int64_t investigation_id;
    const char *actor;
    /* one observation */
    const char *tool;
    const json_t *args;
    const struct fs_tool_result *r;
    int64_t obs_id;
};

static int record_observation(struct fs_store *s, void *arg, struct fs_err *err)
{
    struct rec *x = arg;
    char *input = json_dumps(x->args, JSON_COMPACT | JSON_SORT_KEYS);
    struct fs_observation_row row = {
        .incident_id = x->incident_id,
        .ts = now_of(x->o),
        .tool = x->tool,
        .input = input,
        .output = x->r->text ? x->r->text : "",
        .duration_ms = x->r->duration_ms,
        .actor = x->actor,
        .investigation_id = x->investigation_id,
    };
    int rc = input ? fs_store_observation_insert(s, &row, &x->obs_id, err)
                   : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    if (rc == 0) {
        char sha[65] = "";
        fs_sha256_hex(row.output, strlen(row.output), sha);
        char inc[32], obs[32];
        snprintf(inc, sizeof(inc), "inc-%" PRId64, x->incident_id);
        snprintf(obs, sizeof(obs), "obs-%" PRId64, x->obs_id);
        json_t *d = json_pack("{s:s,s:s,s:s,s:O,s:I,s:b,s:b,s:I,s:s,s:I}", "incident", inc,
                              "observation", obs, "tool", x->tool, "input", x->args, "durationMs",
                              (json_int_t)x->r->duration_ms, "isError", x->r->is_error,
                              "truncated", x->r->truncated, "outputBytes",
                              (json_int_t)strlen(row.output), "outputSha256", sha, "redactions",
                              (json_int_t)x->r->redactions);
        rc = d ? fs_audit_append(s, row.ts, FS_AUDIT_OBSERVATION, x->actor, d, NULL, err)
               : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        json_decref(d);
    }
    free(input);
    return rc;
}

static int observe(void *arg, const char *tool, const json_t *args, const struct fs_tool_result *r,
                   char obs_id[32], struct fs_err *err)
{
    struct rec *x = arg;
    x->tool = tool;
    x->args = args;
    x->r = r;
    int rc = fs_writer_run(x->o->w, record_observation, x, err);
    if (rc == 0)
        snprintf(obs_id, 32, "obs-%" PRId64, x->obs_id);
    return rc;
}

static void trace_fwd(void *arg, const char *kind, const char *text, const json_t *data)
{
    struct rec *x = arg;
    if (x->o->trace)
        x->o->trace(x->o->trace_arg, kind, text, data);
}

/* ---- the transactions -------------------------------------------------------------------- */

struct start {
    const struct fs_investigation_opts *o;
    int64_t incident_id;
    const char *planner;
    int64_t investigation_id;
};

static int start_tx(struct fs_store *s, void *arg, struct fs_err *err)
{
    struct start *x = arg;
    int64_t now = now_of(x->o);
    json_t *d = json_pack("{s:s}", "planner", x->planner);
    int rc = fs_incident_transition(s, x->incident_id, FS_ISTATE_INVESTIGATING, x->planner, d,
                                    now, err);
    json_decref(d);
    if (rc < 0)
        return rc;
    struct fs_investigation_row row = {.incident_id = x->incident_id,
                                       .planner = "playbook",
                                       .status = "running",
                                       .started_at = now,
                                       .finished_at = FS_TIME_UNSET};
    return fs_store_investigation_insert(s, &row, &x->investigation_id, err);
}

struct finish {
    const struct fs_investigation_opts *o;
    int64_t incident_id;
    int64_t investigation_id;
    const char *actor;
    struct fs_investigation_outcome *out;
    const char *unreachable; /* escalate with this instead of planning */
};

static const char *status_of(enum fs_plan_outcome oc)
{
    switch (oc) {
    case FS_PLAN_PROPOSE: return "proposed";
    case FS_PLAN_ESCALATE: return "escalated";
    case FS_PLAN_NO_ACTION: return "no_action";
    }
    return "failed";
}

static int finish_tx(struct fs_store *s, void *arg, struct fs_err *err)
{
    struct finish *x = arg;
    struct fs_investigation_outcome *out = x->out;
    struct fs_plan_result *p = &out->plan;
    int64_t now = now_of(x->o);
    /* rebuilt on every run of this function (a batch redo runs it again) */
    json_decref(out->gate);
    out->gate = NULL;
    out->proposal_id = 0;
    out->decision[0] = '\0';
    json_t *result = json_pack("{s:O?,s:O,s:O,s:O}", "forecast", p->forecast, "followups",
                               p->followups ? p->followups : json_array(), "reasoning",
                               p->reasoning ? p->reasoning : json_array(), "observations",
                               p->observations ? p->observations : json_array());
    if (p->proposal)
        json_object_set(result, "proposal", p->proposal);
    char *rtext = result ? json_dumps(result, JSON_COMPACT) : NULL;
    json_decref(result);
    struct fs_investigation_row row = {.playbook = p->playbook[0] ? p->playbook : NULL,
                                       .status = status_of(p->outcome),
                                       .finished_at = now,
                                       .steps = p->steps,
                                       .root_cause = p->root_cause,
                                       .summary = p->summary,
                                       .result = rtext};
    int rc = fs_store_investigation_finish(s, x->investigation_id, &row, err);
    free(rtext);
    if (rc < 0)
        return rc;
    json_t *d = json_pack("{s:s,s:s?,s:s?,s:s?}", "planner", x->actor, "summary", p->summary,
                          "root_cause", p->root_cause, "playbook",
                          p->playbook[0] ? p->playbook : NULL);
    enum fs_incident_state to = p->outcome == FS_PLAN_NO_ACTION ? FS_ISTATE_NO_ACTION
                                                                : FS_ISTATE_ESCALATED;
    if (p->outcome == FS_PLAN_PROPOSE) {
        json_t *body = json_deep_copy(p->proposal);
        char inc[32];
        snprintf(inc, sizeof(inc), "inc-%" PRId64, x->incident_id);
        json_object_set_new(body, "incident", json_pack("{s:s}", "id", inc));
        struct fs_identity who = {.name = x->actor, .role = FS_ROLE_AGENT, .authenticated = true};
        struct fs_safety_request q = {
            .who = &who,
            .rules = x->o->rules,
            .defaults = {x->o->cfg->safety.default_env, x->o->cfg->safety.default_resource_class},
            .now = now,
            .body = body,
        };
        if ((rc = fs_incident_transition(s, x->incident_id, FS_ISTATE_PROPOSED, x->actor, d, now,
                                         err)) == 0)
            rc = fs_safety_propose(s, &q, err);
        json_decref(body);
        if (rc < 0) {
            fs_safety_request_reset(&q);
            json_decref(d);
            return rc;
        }
        json_decref(d);
        if (q.rc < 0) {
            /* the service refused the document itself (not the gate): a planner bug */
            d = json_pack("{s:s,s:s}", "reason", "the proposal was refused before the gate",
                          "error", q.err.msg);
            to = FS_ISTATE_ESCALATED;
        } else {
            const char *dec = json_string_value(json_object_get(q.result, "decision"));
            fs_strlcpy(out->decision, dec ? dec : "", sizeof(out->decision));
            fs_parse_id(json_string_value(json_object_get(q.result, "id")), "prop",
                        &out->proposal_id);
            out->gate = json_incref(json_object_get(q.result, "gate"));
            d = json_pack("{s:s,s:s,s:O?}", "proposal", json_string_value(json_object_get(q.result, "id")),
                          "decision", out->decision, "risk",
                          json_object_get(out->gate, "risk"));
            if (strcmp(out->decision, "execute") == 0)
                to = FS_ISTATE_PROPOSED; /* the executor moves it on */
            else if (strcmp(out->decision, "needs_approval") == 0 ||
                     strcmp(out->decision, "needs_force_override") == 0)
                to = FS_ISTATE_AWAITING_APPROVAL;
            else if (strcmp(out->decision, "shadow") == 0)
                to = FS_ISTATE_SHADOWED;
            else
                to = FS_ISTATE_BLOCKED;
        }
        fs_safety_request_reset(&q);
    }
    out->state = to;
    rc = fs_incident_transition(s, x->incident_id, to, x->actor, d, now, err);
    json_decref(d);
    return rc;
}

/* ---- the investigation ------------------------------------------------------------------- */

int fs_investigate(const struct fs_investigation_opts *o, int64_t incident_id,
                   struct fs_investigation_outcome *out, struct fs_err *err)
{
    memset(out, 0, sizeof(*out));
    json_t *inc = NULL;
    int rc = fs_store_incident_get(o->w->store, incident_id, &inc, err);
    if (rc < 0)
        return rc;
    int64_t now = now_of(o);
    json_t *scope = scope_of(o, inc, now);
    json_decref(inc);
    if (!scope)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    const char *pbname = fs_playbooks_match(o->playbooks, json_object_get(scope, "labels"));
    char actor[160];
    snprintf(actor, sizeof(actor), "playbook:%s", pbname ? pbname : "none");
    struct start st = {o, incident_id, actor, 0};
    if ((rc = fs_writer_run(o->w, start_tx, &st, err)) < 0) {
        json_decref(scope);
        return rc;
    }
    out->investigation_id = st.investigation_id;
    struct finish fin = {o, incident_id, st.investigation_id, actor, out, NULL};

    /* route the tool calls to the incident's host */
    char host[256];
    fs_route_host(json_string_value(json_object_get(json_object_get(scope, "labels"), "instance")),
                  host, sizeof(host));
    struct fs_tool_ctx ctx;
    const char **roots = NULL;
    struct fs_err rerr = {0};
    int route = fs_route_tool_ctx(o->cfg, host[0] ? host : NULL, &ctx, &roots, &rerr);
    ctx.graph = o->rules ? o->rules->graph : NULL;
    ctx.store = o->w->store;
    if (!pbname) {
        out->plan.outcome = FS_PLAN_ESCALATE;
        out->plan.summary = fs_strdup("no playbook matches this incident's labels");
        out->plan.root_cause = fs_strdup("unknown");
    } else if (route < 0) {
        out->plan.outcome = FS_PLAN_ESCALATE;
        fs_strlcpy(out->plan.playbook, pbname, sizeof(out->plan.playbook));
        out->plan.summary = fs_strdup(rerr.msg);
        out->plan.root_cause = fs_strdup("host_unreachable");
        if (o->trace)
            o->trace(o->trace_arg, "decision", rerr.msg, NULL);
    } else {
        struct rec x = {.o = o,
                        .incident_id = incident_id,
                        .investigation_id = st.investigation_id,
                        .actor = actor};
        struct fs_plan_env env = {
            .tools = o->tools,
            .ctx = &ctx,
            .max_steps = (int)o->cfg->dispatch.max_steps,
            .deadline_ms = fs_now_ms() + o->cfg->dispatch.timeout_ms,
            .observe = observe,
            .trace = trace_fwd,
            .arg = &x,
        };
        rc = fs_playbook_run(o->playbooks, pbname, scope, &env, &out->plan, err);
        if (rc < 0) {
            /* the store failed under a tool call: leave the incident investigating for a retry */
            free(roots);
            json_decref(scope);
            return rc;
        }
    }
    free(roots);
    json_decref(scope);
    return fs_writer_run(o->w, finish_tx, &fin, err);
}
