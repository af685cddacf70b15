/* investigate: one investigation of one incident — the planner's view of the incident (scope),
 * routing its tool calls, recording each call as an observation, and handing the planner's
 * proposal to the gate; every move of the incident recorded through the caller's writer. */
#include "core/common.h"

#include <sys/stat.h>

#include <inttypes.h>
#include <string.h>

#include "audit/audit.h"
#include "context/graph.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/time.h"
#include "planner/investigate.h"
#include "runner/runner.h"
#include "tools/route.h"

void fs_investigation_outcome_release(struct fs_investigation_outcome *o)
{
    fs_plan_result_release(&o->plan);
    json_decref(o->gate);
    json_decref(o->runner);
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
    json_t *scope =
        json_pack("{s:o,s:o,s:{s:O,s:O,s:O,s:O?}}", "labels", labels, "annotations", ann,
                  "incident", "id", json_object_get(inc, "id"), "severity",
                  json_object_get(inc, "severity"), "title", json_object_get(inc, "title"),
                  "startsAt", first ? json_object_get(first, "startsAt") : NULL);
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

json_t *fs_investigation_scope(const struct fs_investigation_opts *o, int64_t incident_id,
                               struct fs_err *err)
{
    json_t *inc = NULL;
    if (fs_store_incident_get(o->w->store, incident_id, &inc, err) < 0)
        return NULL;
    json_t *scope = scope_of(o, inc, now_of(o));
    json_decref(inc);
    if (!scope)
        fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    return scope;
}

/* ---- recording ----------------------------------------------------------------------------
 * Every tool call becomes an observation (and an audit record). In batch mode (the daemon) they
 * are kept in memory and written together — with the investigation's start when that is not
 * written yet — when 16 are waiting, a second has passed, or the investigation ends: one durable
 * commit instead of one per call. An investigation only reads, so a crash that loses a batch
 * loses nothing but work that is redone (the incident is still new or investigating). Until
 * written, an observation's id is a placeholder ("pending-K"), replaced in the proposal's
 * evidence when the batch is written. */

#define BATCH_MAX 16
#define BATCH_AGE_MS 1000

struct pending {
    char *tool;
    json_t *args;
    char *text;
    int64_t ts, duration_ms;
    bool is_error, truncated;
    size_t redactions;
    int64_t id; /* once written */
    char placeholder[32];
};

struct rec {
    const struct fs_investigation_opts *o;
    int64_t incident_id;
    const char *actor;
    const char *planner; /* "playbook" | "llm" */
    bool batch;
    int64_t t0; /* when it began */
    /* written state (changed only after a successful commit) */
    bool started;
    int64_t investigation_id;
    size_t flushed;
    int64_t last_flush_ms;
    /* in the transaction being written */
    int64_t tx_investigation_id;
    struct pending *p;
    size_t n, cap;
};

static int start_in_tx(struct fs_store *s, struct rec *x, struct fs_err *err)
{
    int64_t now = x->t0; /* when the investigation began, even when written later */
    json_t *d = json_pack("{s:s}", "planner", x->actor);
    int rc =
        fs_incident_transition(s, x->incident_id, FS_ISTATE_INVESTIGATING, x->actor, d, now, err);
    json_decref(d);
    if (rc < 0)
        return rc;
    struct fs_investigation_row row = {.incident_id = x->incident_id,
                                       .planner = x->planner,
                                       .status = "running",
                                       .started_at = now,
                                       .finished_at = FS_TIME_UNSET};
    return fs_store_investigation_insert(s, &row, &x->tx_investigation_id, err);
}

/* Inside a transaction: the start when not written yet, then every observation not written. */
static int write_pending(struct fs_store *s, struct rec *x, struct fs_err *err)
{
    int rc = 0;
    x->tx_investigation_id = x->investigation_id;
    if (!x->started && (rc = start_in_tx(s, x, err)) < 0)
        return rc;
    char inc[32];
    snprintf(inc, sizeof(inc), "inc-%" PRId64, x->incident_id);
    for (size_t i = x->flushed; i < x->n && rc == 0; i++) {
        struct pending *pd = &x->p[i];
        char *input = json_dumps(pd->args, JSON_COMPACT | JSON_SORT_KEYS);
        struct fs_observation_row row = {
            .incident_id = x->incident_id,
            .ts = pd->ts,
            .tool = pd->tool,
            .input = input,
            .output = pd->text ? pd->text : "",
            .duration_ms = pd->duration_ms,
            .actor = x->actor,
            .investigation_id = x->tx_investigation_id,
        };
        rc = input ? fs_store_observation_insert(s, &row, &pd->id, err)
                   : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        if (rc == 0) {
            char sha[65] = "", obs[32];
            fs_sha256_hex(row.output, strlen(row.output), sha);
            snprintf(obs, sizeof(obs), "obs-%" PRId64, pd->id);
            json_t *d =
                json_pack("{s:s,s:s,s:s,s:O,s:I,s:b,s:b,s:I,s:s,s:I}", "incident", inc,
                          "observation", obs, "tool", pd->tool, "input", pd->args, "durationMs",
                          (json_int_t)pd->duration_ms, "isError", pd->is_error, "truncated",
                          pd->truncated, "outputBytes", (json_int_t)strlen(row.output),
                          "outputSha256", sha, "redactions", (json_int_t)pd->redactions);
            rc = d ? fs_audit_append(s, row.ts, FS_AUDIT_OBSERVATION, x->actor, d, NULL, err)
                   : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
            json_decref(d);
        }
        free(input);
    }
    return rc;
}

/* After a commit that ran write_pending. */
static void written(struct rec *x)
{
    x->started = true;
    x->investigation_id = x->tx_investigation_id;
    x->flushed = x->n;
    x->last_flush_ms = fs_now_ms();
}

static int flush_tx(struct fs_store *s, void *arg, struct fs_err *err)
{
    return write_pending(s, arg, err);
}

static int flush(struct rec *x, struct fs_err *err)
{
    int rc = fs_writer_run(x->o->w, flush_tx, x, err);
    if (rc == 0)
        written(x);
    return rc;
}

static void pending_release(struct rec *x)
{
    for (size_t i = 0; i < x->n; i++) {
        free(x->p[i].tool);
        json_decref(x->p[i].args);
        free(x->p[i].text);
    }
    free(x->p);
    x->p = NULL;
    x->n = x->cap = 0;
}

/* The written id of a placeholder or id the planner used; the string itself when unknown. */
static const char *real_id(const struct rec *x, const char *id, char buf[32])
{
    for (size_t i = 0; id && i < x->n; i++) {
        if (strcmp(x->p[i].placeholder, id) == 0 && x->p[i].id) {
            snprintf(buf, 32, "obs-%" PRId64, x->p[i].id);
            return buf;
        }
    }
    return id;
}

static void remap_ids(const struct rec *x, json_t *arr, const char *key)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        json_t *target = key ? json_object_get(v, key) : v;
        char buf[32];
        const char *r = real_id(x, json_string_value(target), buf);
        if (r && target && r != json_string_value(target)) {
            if (key)
                json_object_set_new(v, key, json_string(r));
            else
                json_array_set_new(arr, i, json_string(r));
        }
    }
}

static int observe(void *arg, const char *tool, const json_t *args, const struct fs_tool_result *r,
                   char obs_id[32], struct fs_err *err)
{
    struct rec *x = arg;
    if (x->n == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 16;
        struct pending *g = fs_realloc(x->p, cap * sizeof(*g));
        if (!g)
            return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        x->p = g;
        x->cap = cap;
    }
    struct pending *pd = &x->p[x->n];
    memset(pd, 0, sizeof(*pd));
    pd->tool = fs_strdup(tool);
    pd->args = json_deep_copy(args);
    pd->text = fs_strdup(r->text ? r->text : "");
    pd->duration_ms = r->duration_ms;
    pd->ts = now_of(x->o) - r->duration_ms; /* when the call started */
    pd->is_error = r->is_error;
    pd->truncated = r->truncated;
    pd->redactions = r->redactions;
    snprintf(pd->placeholder, sizeof(pd->placeholder), "pending-%zu", x->n + 1);
    if (!pd->tool || !pd->args || !pd->text) {
        free(pd->tool);
        json_decref(pd->args);
        free(pd->text);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    x->n++;
    int rc = 0;
    if (!x->batch || x->n - x->flushed >= BATCH_MAX ||
        fs_now_ms() - x->last_flush_ms >= BATCH_AGE_MS)
        rc = flush(x, err);
    if (rc < 0)
        return rc;
    if (pd - x->p < (ptrdiff_t)x->flushed || x->flushed == x->n)
        snprintf(obs_id, 32, "obs-%" PRId64, x->p[x->n - 1].id);
    else
        snprintf(obs_id, 32, "%s", x->p[x->n - 1].placeholder);
    return 0;
}

static void trace_fwd(void *arg, const char *kind, const char *text, const json_t *data)
{
    struct rec *x = arg;
    if (x->o->trace)
        x->o->trace(x->o->trace_arg, kind, text, data);
}

/* ---- the end of an investigation ------------------------------------------------------------ */

struct finish {
    const struct fs_investigation_opts *o;
    int64_t incident_id;
    struct rec *x;
    const char *actor;
    struct fs_investigation_outcome *out;
    const char *transcript;          /* the LLM transcript file, or NULL */
    json_t *proposal, *observations; /* the plan's, with written observation ids */
    const json_t *made; /* claude_code: the proposal it made through the gateway, or NULL */
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

/* The end of a claude_code investigation whose agent made a proposal through the gateway: it
 * went through the gate when it was made, so the incident follows that decision — unless
 * something moved the incident on meanwhile (the stdio gateway's executor ran it), which
 * stands. */
static int finish_made(struct fs_store *s, struct finish *x, int64_t now, struct fs_err *err)
{
    struct fs_investigation_outcome *out = x->out;
    const char *id = json_string_value(json_object_get(x->made, "id"));
    const char *dec = json_string_value(json_object_get(x->made, "decision"));
    fs_strlcpy(out->decision, dec ? dec : "", sizeof(out->decision));
    fs_parse_id(id, "prop", &out->proposal_id);
    out->gate = json_incref(json_object_get(x->made, "gate"));
    struct fs_incident inc = {0};
    int rc = fs_store_incident_load(s, x->incident_id, &inc, err);
    if (rc < 0)
        return rc;
    enum fs_incident_state at = FS_ISTATE_INVESTIGATING;
    if (rc > 0 && inc.state[0] && fs_incident_state_parse(inc.state, &at) < 0)
        at = FS_ISTATE_INVESTIGATING;
    fs_incident_clear(&inc);
    out->state = at;
    if (at != FS_ISTATE_INVESTIGATING)
        return 0;
    enum fs_incident_state to = FS_ISTATE_BLOCKED;
    if (fs_streq(dec, "execute"))
        to = FS_ISTATE_PROPOSED; /* the executor moves it on */
    else if (fs_streq(dec, "needs_approval") || fs_streq(dec, "needs_force_override"))
        to = FS_ISTATE_AWAITING_APPROVAL;
    else if (fs_streq(dec, "shadow"))
        to = FS_ISTATE_SHADOWED;
    json_t *d = json_pack("{s:s,s:s?,s:s?,s:s?,s:O?}", "planner", x->actor, "summary",
                          out->plan.summary, "proposal", id, "decision", dec, "risk",
                          json_object_get(json_object_get(x->made, "risk"), "level"));
    if (!d)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    rc = fs_incident_transition(s, x->incident_id, FS_ISTATE_PROPOSED, x->actor, d, now, err);
    if (rc == 0 && to != FS_ISTATE_PROPOSED)
        rc = fs_incident_transition(s, x->incident_id, to, x->actor, d, now, err);
    json_decref(d);
    if (rc == 0)
        out->state = to;
    return rc;
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
    json_decref(x->proposal);
    json_decref(x->observations);
    x->proposal = x->observations = NULL;
    int rc = write_pending(s, x->x, err);
    if (rc < 0)
        return rc;
    /* the observations have their ids now: put them where the planner had placeholders */
    x->proposal = p->proposal ? json_deep_copy(p->proposal) : NULL;
    x->observations = p->observations ? json_deep_copy(p->observations) : json_array();
    if (x->proposal)
        remap_ids(x->x, json_object_get(json_object_get(x->proposal, "evidence"), "cited"), NULL);
    remap_ids(x->x, x->observations, "id");
    json_t *result = json_pack("{s:O?,s:o,s:o,s:O}", "forecast", p->forecast, "followups",
                               p->followups ? json_incref(p->followups) : json_array(), "reasoning",
                               p->reasoning ? json_incref(p->reasoning) : json_array(),
                               "observations", x->observations);
    if (x->proposal)
        json_object_set(result, "proposal", x->proposal);
    if (result && out->runner)
        json_object_set(result, "runner", out->runner);
    if (result && x->made)
        json_object_set_new(result, "proposal",
                            json_pack("{s:O,s:O,s:O?}", "id", json_object_get(x->made, "id"),
                                      "decision", json_object_get(x->made, "decision"), "action",
                                      json_object_get(x->made, "action")));
    if (result && !strcmp(x->x->planner, "llm"))
        json_object_set_new(result, "llm",
                            json_pack("{s:s,s:i,s:I,s:I,s:f,s:i,s:b,s:s?}", "model", out->llm.model,
                                      "calls", out->llm.calls, "inputTokens",
                                      (json_int_t)out->llm.input_tokens, "outputTokens",
                                      (json_int_t)out->llm.output_tokens, "costUsd",
                                      out->llm.cost_usd, "refusals", out->llm.refusals, "fellBack",
                                      out->fell_back, "transcript", x->transcript));
    char *rtext = result ? json_dumps(result, JSON_COMPACT) : NULL;
    json_decref(result);
    struct fs_investigation_row row = {.playbook = p->playbook[0] ? p->playbook : NULL,
                                       .status = status_of(p->outcome),
                                       .finished_at = now,
                                       .steps = p->steps,
                                       .root_cause = p->root_cause,
                                       .summary = p->summary,
                                       .result = rtext};
    rc = fs_store_investigation_finish(s, x->x->tx_investigation_id, &row, err);
    free(rtext);
    if (rc < 0)
        return rc;
    if (x->made)
        return finish_made(s, x, now, err);
    json_t *d =
        json_pack("{s:s,s:s?,s:s?,s:s?}", "planner", x->actor, "summary", p->summary, "root_cause",
                  p->root_cause, "playbook", p->playbook[0] ? p->playbook : NULL);
    enum fs_incident_state to =
        p->outcome == FS_PLAN_NO_ACTION ? FS_ISTATE_NO_ACTION : FS_ISTATE_ESCALATED;
    if (p->outcome == FS_PLAN_PROPOSE) {
        json_t *body = json_deep_copy(x->proposal);
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
            d = json_pack("{s:s,s:s,s:O?}", "proposal",
                          json_string_value(json_object_get(q.result, "id")), "decision",
                          out->decision, "risk", json_object_get(out->gate, "risk"));
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

/* ---- the LLM planner ----------------------------------------------------------------------- */

struct refusal {
    struct rec *x;
    const json_t *data;
};

static int refusal_tx(struct fs_store *s, void *arg, struct fs_err *err)
{
    struct refusal *r = arg;
    json_t *d = json_deep_copy(r->data);
    char inc[32];
    snprintf(inc, sizeof(inc), "inc-%" PRId64, r->x->incident_id);
    int rc = d && json_object_set_new(d, "incident", json_string(inc)) == 0
                 ? fs_audit_append(s, now_of(r->x->o), FS_AUDIT_REFUSAL, r->x->actor, d, NULL, err)
                 : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    json_decref(d);
    return rc;
}

/* What the model asked for and was refused goes into the audit chain at once. */
static int record_refusal(void *arg, const json_t *data, struct fs_err *err)
{
    struct refusal r = {arg, data};
    return fs_writer_run(((struct rec *)arg)->o->w, refusal_tx, &r, err);
}

/* The LLM planner over scope; a model that cannot be used falls back to the playbook (when
 * configured and one matches) or escalates saying why. */
static int llm_investigation(const struct fs_investigation_opts *o, struct rec *x,
                             const json_t *scope, const char *pbname, const struct fs_plan_env *env,
                             struct fs_investigation_outcome *out, char *transcript,
                             struct fs_err *err)
{
    struct fs_llm_planner p = *o->llm;
    p.refused = record_refusal;
    p.refused_arg = x;
    transcript[0] = '\0';
    if (o->transcript_dir) {
        (void)mkdir(o->transcript_dir, 0700); /* may be there already */
        snprintf(transcript, 1024, "%s/inc-%" PRId64 "-%" PRId64 ".jsonl", o->transcript_dir,
                 x->incident_id, x->t0);
        p.transcript_path = transcript;
    }
    struct fs_err me = {0};
    int rc = fs_llm_plan(&p, scope, env, &out->plan, &out->llm, &me);
    if (rc == -FS_E_NOMEM || (rc < 0 && !fs_llm_plan_model_failed(rc))) {
        *err = me;
        return rc;
    }
    if (rc == 0)
        return 0;
    char why[700];
    snprintf(why, sizeof(why), "the model could not be used: %s", me.msg);
    if (o->llm_fallback && pbname) {
        char line[900];
        snprintf(line, sizeof(line), "%s; the playbook %s decides instead", why, pbname);
        if (o->trace)
            o->trace(o->trace_arg, "reasoning", line, NULL);
        out->fell_back = true;
        fs_strlcpy(out->planner, "playbook", sizeof(out->planner));
        x->planner = out->planner;
        return fs_playbook_run(o->playbooks, pbname, scope, env, &out->plan, err);
    }
    out->plan.outcome = FS_PLAN_ESCALATE;
    out->plan.summary = fs_strdup(why);
    out->plan.root_cause = fs_strdup("model_unreachable");
    if (o->trace)
        o->trace(o->trace_arg, "decision", why, NULL);
    return 0;
}

/* ---- the external-agent runner ------------------------------------------------------------ */

/* The newest proposal for the incident with an id above after (0: any), as the store lists it;
 * NULL when none. */
static int newest_proposal(struct fs_store *s, int64_t incident_id, int64_t after, json_t **out,
                           int64_t *newest_id, struct fs_err *err)
{
    *out = NULL;
    json_t *list = NULL;
    struct fs_proposal_filter f = {.incident_id = incident_id, .limit = 1};
    int rc = fs_store_proposals_list(s, &f, &list, err);
    if (rc < 0)
        return rc;
    json_t *first = json_array_get(list, 0);
    int64_t id = 0;
    if (first)
        fs_parse_id(json_string_value(json_object_get(first, "id")), "prop", &id);
    if (newest_id)
        *newest_id = id;
    if (first && id > after)
        *out = json_incref(first);
    json_decref(list);
    return 0;
}

/* The observations of the incident with an id above after, as [{id, tool}]; *max_id gets the
 * highest id of them all. */
static int observations_after(struct fs_store *s, int64_t incident_id, int64_t after, json_t **out,
                              int64_t *max_id, struct fs_err *err)
{
    json_t *list = NULL;
    int rc = fs_store_observations_list(s, incident_id, &list, err);
    if (rc < 0)
        return rc;
    *out = json_array();
    *max_id = after;
    size_t i;
    json_t *o;
    json_array_foreach(list, i, o)
    {
        int64_t id = 0;
        const char *ids = json_string_value(json_object_get(o, "id"));
        if (fs_parse_id(ids, "obs", &id) < 0 || id <= after)
            continue;
        if (id > *max_id)
            *max_id = id;
        json_array_append_new(
            *out, json_pack("{s:s,s:O?}", "id", ids, "tool", json_object_get(o, "tool")));
    }
    json_decref(list);
    return *out ? 0 : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
}

static char *join_summary(const char *head, const char *text)
{
    struct fs_buf b = FS_BUF_INIT(0);
    fs_buf_puts(&b, head);
    if (text && *text)
        fs_buf_printf(&b, "%sClaude Code's last words: %s", head[0] ? "\n" : "", text);
    return fs_buf_detach(&b, NULL);
}

/* Claude Code through the gateway (runner/runner.h); *made gets the proposal it made. */
static int runner_investigation(const struct fs_investigation_opts *o, struct rec *x,
                                const json_t *scope, struct fs_investigation_outcome *out,
                                json_t **made, struct fs_err *err)
{
    *made = NULL;
    int64_t before = 0, obs_before = 0;
    json_t *old = NULL;
    int rc = newest_proposal(o->w->store, x->incident_id, 0, &old, &before, err);
    json_decref(old);
    old = NULL;
    if (rc == 0)
        rc = observations_after(o->w->store, x->incident_id, 0, &old, &obs_before, err);
    json_decref(old);
    if (rc < 0)
        return rc;
    struct fs_runner_opts ro = *o->runner;
    if (!ro.trace) {
        ro.trace = o->trace;
        ro.trace_arg = o->trace_arg;
    }
    struct fs_runner_result r;
    struct fs_err re = {0};
    rc = fs_runner_exec(&ro, scope, x->incident_id, &r, &re);
    struct fs_plan_result *p = &out->plan;
    if (rc == -FS_E_NOMEM) {
        *err = re;
        return rc;
    }
    if (rc < 0) {
        char why[700];
        snprintf(why, sizeof(why), "Claude Code could not be started: %s", re.msg);
        p->outcome = FS_PLAN_ESCALATE;
        p->summary = fs_strdup(why);
        p->root_cause = fs_strdup("runner_failed");
        out->runner = json_pack("{s:b,s:s}", "started", 0, "error", re.msg);
        if (o->trace)
            o->trace(o->trace_arg, "decision", why, NULL);
        return 0;
    }
    struct fs_runner_stream *st = &r.stream;
    /* what the gateway recorded for the incident while it ran: its observations (the gateway
     * wrote them; they are not written again) and the proposal it made */
    int64_t ignored;
    if ((rc = newest_proposal(o->w->store, x->incident_id, before, made, NULL, err)) < 0 ||
        (rc = observations_after(o->w->store, x->incident_id, obs_before, &p->observations,
                                 &ignored, err)) < 0) {
        fs_runner_result_release(&r);
        return rc;
    }
    p->steps = (int)json_array_size(st->calls);
    p->reasoning = json_incref(st->reasoning);
    out->llm.calls = st->turns;
    out->llm.cost_usd = st->cost_usd;
    fs_strlcpy(out->llm.model, st->model, sizeof(out->llm.model));
    out->runner = json_pack(
        "{s:b,s:s,s:i,s:i,s:i,s:f,s:I,s:I,s:s,s:b,s:b,s:b,s:i,s:i,s:I,s:I,s:s,s:s,s:O,s:O,s:O,"
        "s:I,s:I}",
        "started", 1, "gateway", r.gateway, "turns", st->turns, "numTurns", st->num_turns,
        "maxTurns", r.max_turns, "costUsd", st->cost_usd, "durationMs", (json_int_t)st->duration_ms,
        "durationApiMs", (json_int_t)st->duration_api_ms, "subtype", st->subtype, "isError",
        st->is_error, "timedOut", r.timed_out, "turnsExceeded", r.turns_exceeded, "exitCode",
        r.exit_code, "signal", r.term_signal, "wallMs", (json_int_t)r.wall_ms, "budgetMs",
        (json_int_t)r.budget_ms, "model", st->model, "gatewayStatus", st->gateway_status, "calls",
        st->calls, "proposals", st->proposals, "allowedTools", r.allowed, "lines",
        (json_int_t)st->lines, "badLines", (json_int_t)st->bad_lines);
    if (out->runner && st->result_text)
        json_object_set_new(out->runner, "result", json_string(st->result_text));
    char head[900] = "";
    const char *cause = "agent_summary";
    if (r.timed_out) {
        snprintf(head, sizeof(head),
                 "Claude Code did not finish within its wall-time budget of %" PRId64
                 " s: its process group was killed.",
                 r.budget_ms / 1000);
        cause = "runner_timeout";
    } else if (r.turns_exceeded || fs_streq(st->subtype, "error_max_turns")) {
        snprintf(head, sizeof(head), "Claude Code used its %d turns without finishing.",
                 r.max_turns);
        cause = "runner_budget";
    } else if (!st->has_result) {
        snprintf(head, sizeof(head), "Claude Code ended without a result (%s %d)%s%s",
                 r.term_signal ? "signal" : "exit code",
                 r.term_signal ? r.term_signal : r.exit_code, r.stderr_tail[0] ? ": " : ".",
                 r.stderr_tail);
        fs_utf8_cut(head);
        cause = "runner_failed";
    } else if (st->is_error) {
        snprintf(head, sizeof(head), "Claude Code ended in an error (%s).",
                 st->subtype[0] ? st->subtype : "error");
        cause = "runner_failed";
    } else if (st->gateway_status[0] && strcmp(st->gateway_status, "connected") != 0) {
        snprintf(head, sizeof(head), "forestall's gateway was not available to Claude Code (%s).",
                 st->gateway_status);
        cause = "runner_failed";
    }
    const char *last = st->result_text;
    if (!last && json_array_size(st->reasoning))
        last = json_string_value(json_array_get(st->reasoning, json_array_size(st->reasoning) - 1));
    if (*made) {
        p->outcome = FS_PLAN_PROPOSE;
        p->summary = join_summary(head, last);
        p->root_cause = fs_strdup("claude_code");
    } else {
        p->outcome = FS_PLAN_ESCALATE;
        p->summary = join_summary(head[0] ? head : "Claude Code proposed nothing.", last);
        p->root_cause = fs_strdup(cause);
    }
    if (o->trace) {
        char line[1200];
        if (*made)
            snprintf(line, sizeof(line), "the agent's proposal %s: the gate said %s",
                     json_string_value(json_object_get(*made, "id")),
                     json_string_value(json_object_get(*made, "decision")));
        else
            snprintf(line, sizeof(line), "escalate: %s", p->summary ? p->summary : "");
        fs_utf8_cut(line);
        o->trace(o->trace_arg, "decision", line, NULL);
    }
    fs_runner_result_release(&r);
    if (!p->summary || !p->root_cause || !out->runner)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    return 0;
}

/* ---- the investigation ------------------------------------------------------------------- */

int fs_investigate(const struct fs_investigation_opts *o, int64_t incident_id,
                   struct fs_investigation_outcome *out, struct fs_err *err)
{
    memset(out, 0, sizeof(*out));
    char transcript[1024] = "";
    json_t *inc = NULL, *made = NULL;
    int rc = fs_store_incident_get(o->w->store, incident_id, &inc, err);
    if (rc < 0)
        return rc;
    int64_t now = now_of(o);
    bool resolved = fs_streq(json_string_value(json_object_get(inc, "status")), "resolved");
    json_t *scope = scope_of(o, inc, now);
    json_decref(inc);
    if (!scope)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    const char *pbname = fs_playbooks_match(o->playbooks, json_object_get(scope, "labels"));
    const struct fs_llm_planner *llm = o->runner ? NULL : o->llm;
    if (llm && o->llm_by_config && !fs_llm_planner_wanted(o->cfg, json_object_get(scope, "labels")))
        llm = NULL; /* this incident stays with the playbooks */
    char actor[160];
    if (o->runner)
        snprintf(actor, sizeof(actor), "claude_code");
    else if (llm)
        snprintf(actor, sizeof(actor), "llm:%s", o->cfg->llm.model ? o->cfg->llm.model : "model");
    else
        snprintf(actor, sizeof(actor), "playbook:%s", pbname ? pbname : "none");
    fs_strlcpy(out->planner,
               o->runner ? "claude_code"
               : llm     ? "llm"
                         : "playbook",
               sizeof(out->planner));
    struct rec x = {.o = o,
                    .incident_id = incident_id,
                    .actor = actor,
                    .planner = out->planner,
                    /* a model cites the ids it was shown: give it written ones (a model call
                     * takes far longer than a commit anyway) */
                    .batch = o->batch && !llm && !o->runner,
                    .t0 = now,
                    .last_flush_ms = fs_now_ms()};
    /* without batching the start is written before the first call, so the trace shows it */
    if (!x.batch && (rc = flush(&x, err)) < 0) {
        json_decref(scope);
        pending_release(&x);
        return rc;
    }

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
    if (resolved) {
        out->plan.outcome = FS_PLAN_NO_ACTION;
        out->plan.summary = fs_strdup("the alert resolved before it was investigated");
        out->plan.root_cause = fs_strdup("recovered");
    } else if (!pbname && !llm && !o->runner) {
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
        struct fs_plan_env env = {
            .tools = o->tools,
            .ctx = &ctx,
            .max_steps = (int)o->cfg->dispatch.max_steps,
            .deadline_ms = fs_now_ms() + o->cfg->dispatch.timeout_ms,
            .observe = observe,
            .trace = trace_fwd,
            .arg = &x,
        };
        /* every tool call gets min(tools.timeout, what is left of dispatch.timeout): a slow
         * call is cut at the deadline, not tools.timeout after it */
        ctx.deadline_ms = env.deadline_ms;
        if (o->runner)
            rc = runner_investigation(o, &x, scope, out, &made, err);
        else if (llm)
            rc = llm_investigation(o, &x, scope, pbname, &env, out, transcript, err);
        else
            rc = fs_playbook_run(o->playbooks, pbname, scope, &env, &out->plan, err);
    }
    free(roots);
    json_decref(scope);
    if (rc == 0) {
        struct finish fin = {o,    incident_id, &x,  actor, out, transcript[0] ? transcript : NULL,
                             NULL, NULL,        made};
        rc = fs_writer_run(o->w, finish_tx, &fin, err);
        if (rc == 0) {
            written(&x);
            out->investigation_id = x.investigation_id;
            json_decref(out->plan.proposal);
            json_decref(out->plan.observations);
            out->plan.proposal = fin.proposal;
            out->plan.observations = fin.observations;
        } else {
            json_decref(fin.proposal);
            json_decref(fin.observations);
        }
    }
    /* on failure the store is in trouble: the incident stays new or investigating and the
     * dispatcher runs the investigation again; the caller gets nothing to release */
    pending_release(&x);
    json_decref(made);
    if (rc < 0)
        fs_investigation_outcome_release(out);
    return rc;
}
