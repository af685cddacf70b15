/* exec: the run of one approved proposal, step by step — load, target, preflight, intent (the
 * approval consumed in the same transaction), started, the program (or, for an mcp target, the
 * remote tool through the MCP hub), result, verification, rollback or escalation, and the
 * bookkeeping (execution outcome, incident state, finished hook). Each transition is committed
 * through the caller's writer before the next begins, and nothing runs before its intent is
 * durable; a rollback is a new action and, like one, never starts while the kill switch is on.
 * Decides nothing the gate or the catalog did not: what runs is the catalog template for
 * the proposal's action, params and target. */
#include "core/common.h"

#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "core/config.h"
#include "core/fault.h"
#include "core/json.h"
#include "core/proc.h"
#include "core/redact.h"
#include "core/sim.h"
#include "core/time.h"
#include "exec/exec_int.h"
#include "incidents/state.h"
#include "mcp/hub.h"
#include "safety/approval.h"
#include "safety/service.h"
#include "store/store.h"

#define READY_BATCH 64
#define VERIFY_RETRY_MS 1000
#define VERIFY_MAX_ATTEMPTS 30
#define CHILD_FAULT_DELAY_MS 200

static const struct fs_identity executor_who = {"executor", FS_ROLE_ADMIN, true};

/* ---- small helpers ------------------------------------------------------------------------ */

static json_t *idj(const char *prefix, int64_t id)
{
    char b[48];
    snprintf(b, sizeof(b), "%s-%" PRId64, prefix, id);
    return json_string(b);
}

static void crash_point(enum fs_fault_point p)
{
    if (fs_fault_check(p)) {
        fflush(stdout);
        fflush(stderr);
        kill(getpid(), SIGKILL);
    }
}

static void *child_killer(void *arg)
{
    struct timespec ts = {0, CHILD_FAULT_DELAY_MS * 1000000L};
    nanosleep(&ts, NULL);
    fflush(stdout);
    kill(getpid(), SIGKILL);
    return NULL;
}

void fs_exec_run_release(struct fs_exec_run *r)
{
    json_decref(r->params);
    json_decref(r->target);
    json_decref(r->argv);
    free(r->target_key);
    fs_mcp_hub_free(r->own_hub);
    r->params = r->target = r->argv = NULL;
    r->target_key = NULL;
    r->own_hub = NULL;
}

void fs_exec_run_label(struct fs_exec_run *r)
{
    char e[40] = "";
    if (r->execution_id)
        snprintf(e, sizeof(e), "exec-%" PRId64 " ", r->execution_id);
    snprintf(r->label, sizeof(r->label), "%sprop-%" PRId64 " %s", e, r->proposal_id,
             r->action_name);
}

void fs_exec_say(const struct fs_exec_run *r, const char *fmt, ...)
{
    if (!r->x->say)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    char line[1300];
    snprintf(line, sizeof(line), "%s: %s", r->label, msg);
    r->x->say(r->x->say_arg, line);
}

static bool stopping(const struct fs_exec_env *x)
{
    return x->should_stop && x->should_stop(x->stop_arg);
}

static void report(struct fs_exec_run *r, enum fs_exec_status st, const char *outcome,
                   const char *reason)
{
    r->rep->status = st;
    r->rep->execution_id = r->execution_id;
    snprintf(r->rep->outcome, sizeof(r->rep->outcome), "%s", outcome ? outcome : "");
    if (reason)
        snprintf(r->rep->reason, sizeof(r->rep->reason), "%s", reason);
}

/* Sleep ms in slices, giving up early when asked to stop; false when stopped. */
static bool nap(const struct fs_exec_env *x, int64_t ms)
{
    int64_t end = fs_mono_ns() + ms * 1000000;
    for (;;) {
        if (stopping(x))
            return false;
        int64_t left = (end - fs_mono_ns()) / 1000000;
        if (left <= 0)
            return true;
        struct timespec ts = {0, (long)FS_MIN(left, 100) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static json_t *run_json(const struct fs_exec_run *r)
{
    json_t *o = json_object();
    if (o && r->execution_id)
        json_object_set_new(o, "execution", idj("exec", r->execution_id));
    if (o)
        json_object_set_new(o, "proposal", idj("prop", r->proposal_id));
    if (o)
        json_object_set_new(o, "action", json_string(r->action_name));
    return o;
}

/* ---- the incident's state ------------------------------------------------------------------ */

/* Move the incident along the shortest legal path to `to`. A proposal that arrived from outside
 * the dispatcher (an external agent, a person with `forestall propose`) finds its incident still
 * new or investigating: the path then passes through investigating and proposed, which is what
 * happened. Where no legal path exists (someone else moved the incident meanwhile) the incident
 * is left as it is: the step log is the executor's record. */
static int incident_move(struct fs_store *s, const struct fs_exec_run *r, enum fs_incident_state to,
                         const char *reason, int64_t now, struct fs_err *err)
{
    if (!r->incident_id)
        return 0;
    struct fs_incident inc = {0};
    int rc = fs_store_incident_load(s, r->incident_id, &inc, err);
    if (rc <= 0)
        return rc;
    enum fs_incident_state from = FS_ISTATE_NEW;
    if (inc.state[0] && fs_incident_state_parse(inc.state, &from) < 0)
        from = FS_ISTATE_NEW;
    fs_incident_clear(&inc);
    rc = 0;
    if (from == to)
        return 0;
    static const int paths[][3] = {
        {-1, -1, -1},
        {FS_ISTATE_PROPOSED, -1, -1},
        {FS_ISTATE_INVESTIGATING, -1, -1},
        {FS_ISTATE_INVESTIGATING, FS_ISTATE_PROPOSED, -1},
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(paths); i++) {
        enum fs_incident_state hops[4];
        int n = 0;
        for (int j = 0; j < 3 && paths[i][j] >= 0; j++)
            hops[n++] = (enum fs_incident_state)paths[i][j];
        hops[n++] = to;
        bool ok = true;
        enum fs_incident_state at = from;
        for (int j = 0; j < n && ok; j++) {
            ok = fs_incident_transition_allowed(at, hops[j]);
            at = hops[j];
        }
        if (!ok)
            continue;
        for (int j = 0; j < n && rc == 0; j++) {
            json_t *d = run_json(r);
            if (!d)
                return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
            if (j < n - 1)
                json_object_set_new(d, "reason",
                                    json_string("the executor took up a proposal that arrived "
                                                "from outside the dispatcher"));
            else if (reason)
                json_object_set_new(d, "reason", json_string(reason));
            rc = fs_incident_transition(s, r->incident_id, hops[j], "executor", d, now, err);
            json_decref(d);
        }
        return rc;
    }
    return 0;
}

/* ---- one transaction: a step, an audit record, the outcome, the incident ------------------- */

struct rec {
    struct fs_exec_run *r;
    const char *step;     /* append this step, or NULL */
    const json_t *detail; /* its detail (borrowed), NULL = {} */
    const char *phase;    /* audit record (type execution) with this phase, or NULL */
    const json_t *audit;  /* merged into the audit data (borrowed), may be NULL */
    const char *outcome;  /* finish the execution with it, or NULL */
    const json_t *result; /* the execution's result JSON (borrowed), may be NULL */
    int to;               /* incident state to move to, -1 = none */
    const char *reason;   /* for the incident's timeline */
};

static int rec_tx(struct fs_store *s, void *arg, struct fs_err *err)
{
    struct rec *c = arg;
    struct fs_exec_run *r = c->r;
    int64_t now = fs_now_ms();
    int rc = 0;
    if (c->step) {
        char *d = c->detail ? fs_json_compact(c->detail) : fs_strdup("{}");
        if (!d)
            return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        rc = fs_store_exec_step_insert(s, r->execution_id, now, c->step, d, err);
        free(d);
        if (rc < 0)
            return rc;
    }
    if (c->phase) {
        json_t *a = run_json(r);
        if (!a)
            return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        json_object_set_new(a, "phase", json_string(c->phase));
        json_object_set_new(a, "execution", json_integer(r->execution_id));
        if (c->audit)
            json_object_update(a, (json_t *)c->audit);
        rc = fs_audit_append(s, now, FS_AUDIT_EXECUTION, "executor", a, NULL, err);
        json_decref(a);
        if (rc < 0)
            return rc;
    }
    if (c->outcome) {
        char *res = c->result ? fs_json_compact(c->result) : NULL;
        rc = fs_store_execution_finish(s, r->execution_id, c->outcome, now, res, err);
        free(res);
        if (rc < 0)
            return rc;
    }
    if (c->to >= 0)
        rc = incident_move(s, r, (enum fs_incident_state)c->to, c->reason, now, err);
    return rc;
}

static int record(struct fs_exec_run *r, struct rec *c, struct fs_err *err)
{
    c->r = r;
    return fs_writer_run(r->x->w, rec_tx, c, err);
}

struct frozen_q {
    bool frozen;
};

static int frozen_tx(struct fs_store *s, void *arg, struct fs_err *err)
{
    struct frozen_q *q = arg;
    char *v = NULL;
    int rc = fs_store_control_get(s, "freeze", &v, err);
    free(v);
    q->frozen = rc == 1;
    return rc < 0 ? rc : 0;
}

int fs_exec_frozen(const struct fs_exec_env *x, bool *frozen, struct fs_err *err)
{
    struct frozen_q q = {0};
    int rc = fs_writer_run(x->w, frozen_tx, &q, err);
    *frozen = q.frozen;
    return rc;
}

/* ---- running a program --------------------------------------------------------------------- */

static json_t *sanitized(const struct fs_buf *b, size_t max)
{
    char *t = fs_sanitize_text(b->data ? b->data : "", b->len, max, NULL);
    if (!t)
        return NULL;
    json_t *j = json_string(t);
    free(t);
    return j;
}

/* ---- running a remote tool (target kind mcp) ---------------------------------------------- */

/* The hub that runs this execution's remote tools: the environment's, or one of its own. */
static struct fs_mcp_hub *hub_of(struct fs_exec_run *r, struct fs_err *err)
{
    if (r->x->mcp)
        return r->x->mcp;
    if (!r->own_hub) {
        struct fs_mcp_hub_opts o = {.w = r->x->w,
                                    .call_timeout_ms = r->x->cfg->executor.action_timeout_ms};
        if (fs_mcp_hub_new(&o, &r->own_hub, err) < 0)
            return NULL;
    }
    return r->own_hub;
}

int fs_exec_mcp_prepare(struct fs_exec_run *r, const char *action, json_t **req, char *why,
                        size_t why_size, struct fs_err *err)
{
    json_t *final = NULL;
    struct fs_err e = {0};
    int rc = fs_mcp_hub_action_request(r->x->w->store, action, *req, &final, &e);
    struct fs_mcp_hub *h = rc == 0 ? hub_of(r, &e) : NULL;
    if (rc == 0 && !h)
        rc = -FS_E_NOMEM;
    if (rc == 0)
        rc = fs_mcp_hub_check(h, json_string_value(json_object_get(final, "server")),
                              json_string_value(json_object_get(final, "tool")), &e);
    if (rc == -FS_E_NOMEM) {
        json_decref(final);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    if (rc < 0) {
        json_decref(final);
        snprintf(why, why_size, "%s", e.msg);
        return 0;
    }
    json_decref(*req);
    *req = final;
    return 1;
}

/* Call the remote tool of req ({server, tool, arguments}) within the action timeout. *detail
 * (new) is the result step's detail: {server, tool, is_error, text, duration_ms} (the text
 * sanitized and capped like a program's output; structured content is not kept) or {server,
 * tool, error, code, reached}; *ok = it answered without isError; *spawned = the request may
 * have reached the server. */
static int run_mcp(struct fs_exec_run *r, const json_t *req, json_t **detail, bool *ok,
                   bool *spawned, char *summary, size_t summary_size, struct fs_err *err)
{
    const struct fs_config *cfg = r->x->cfg;
    const char *server = json_string_value(json_object_get(req, "server"));
    const char *tool = json_string_value(json_object_get(req, "tool"));
    struct fs_mcp_result res = {0};
    struct fs_err e = {0};
    struct fs_mcp_hub *h = hub_of(r, &e);
    int rc = !h ? -FS_E_NOMEM
             : !server || !tool
                 ? fs_err_set(&e, FS_E_INVALID, NULL, "the mcp request names no server or tool")
                 : fs_mcp_hub_call(h, server, tool, json_object_get(req, "arguments"),
                                   cfg->executor.action_timeout_ms, &res, &e);
    if (rc == -FS_E_NOMEM)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    if (rc < 0) {
        /* a timeout or a broken stream may have reached the server: it may have acted */
        *spawned = rc == -FS_E_TIMEOUT || rc == -FS_E_IO;
        *detail = json_pack("{s:s?,s:s?,s:s,s:s,s:b}", "server", server, "tool", tool, "error",
                            e.msg, "code", fs_err_name(-rc), "reached", *spawned);
        snprintf(summary, summary_size, "%s", e.msg);
        return *detail ? 0 : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    size_t max = (size_t)cfg->executor.max_output;
    char *text =
        fs_sanitize_text(res.text ? res.text : "", res.text ? strlen(res.text) : 0, max, NULL);
    json_t *d =
        text ? json_pack("{s:s,s:s,s:b,s:s,s:I}", "server", server, "tool", tool, "is_error",
                         res.is_error, "text", text, "duration_ms", (json_int_t)res.duration_ms)
             : NULL;
    *spawned = true;
    *ok = !res.is_error;
    if (text) {
        size_t n = strcspn(text, "\n");
        snprintf(summary, summary_size, "%s.%s %s in %" PRId64 " ms%s%.*s", server, tool,
                 res.is_error ? "reported an error" : "answered", res.duration_ms,
                 res.is_error ? ": " : "", res.is_error ? (int)FS_MIN(n, 300) : 0, text);
        fs_utf8_cut(summary);
    }
    free(text);
    fs_mcp_result_release(&res);
    if (!d)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    *detail = d;
    return 0;
}

/* The result's audit summary: what a program's exit says, or what a remote tool answered. */
static json_t *result_audit(const json_t *res)
{
    if (json_object_get(res, "exit_code") || !json_object_get(res, "tool")) {
        json_t *a = json_pack("{s:O,s:O,s:O,s:O}", "exit_code",
                              json_object_get(res, "exit_code") ?: json_null(), "signal",
                              json_object_get(res, "signal") ?: json_null(), "timed_out",
                              json_object_get(res, "timed_out") ?: json_false(), "duration_ms",
                              json_object_get(res, "duration_ms") ?: json_null());
        if (a && json_object_get(res, "error"))
            json_object_set(a, "error", json_object_get(res, "error"));
        return a;
    }
    static const char *const keys[] = {"server", "tool", "is_error", "duration_ms",
                                       "error",  "code", "reached"};
    json_t *a = json_object();
    for (size_t i = 0; a && i < FS_ARRAY_LEN(keys); i++)
        if (json_object_get(res, keys[i]))
            json_object_set(a, keys[i], json_object_get(res, keys[i]));
    return a;
}

/* Run argv with a clean environment, cwd "/", the action timeout and the output cap (or, when
 * argv is an mcp request object, call the remote tool). *detail (new) is the result step's
 * detail; *ok = it exited 0; *spawned = it started at all. child_fault is the crash point that
 * fires while the program runs (the action's or the rollback's). */
static int run_argv(struct fs_exec_run *r, const json_t *argv, enum fs_fault_point child_fault,
                    json_t **detail, bool *ok, bool *spawned, char *summary, size_t summary_size,
                    struct fs_err *err)
{
    const struct fs_config *cfg = r->x->cfg;
    /* kubectl finds its cache and credential plugins through HOME (and its kubeconfig through
     * KUBECONFIG when tools.kubeconfig names none), as the kubernetes.* tools do; without HOME it
     * writes its cache below the working directory "/". Nothing else is passed on. */
    char home[PATH_MAX + 8], kcfg[PATH_MAX + 16];
    const char *env[5] = {"PATH=" FS_CHILD_DEFAULT_PATH, "LANG=C.UTF-8"};
    size_t ne = 2;
    const char *h = getenv("HOME"), *k = getenv("KUBECONFIG");
    if (r->kind == FS_TARGET_KUBECTL && h && *h && strlen(h) < PATH_MAX) {
        snprintf(home, sizeof(home), "HOME=%s", h);
        env[ne++] = home;
    }
    if (r->kind == FS_TARGET_KUBECTL && !(cfg->tools.kubeconfig && *cfg->tools.kubeconfig) && k &&
        *k && strlen(k) < PATH_MAX) {
        snprintf(kcfg, sizeof(kcfg), "KUBECONFIG=%s", k);
        env[ne++] = kcfg;
    }
    env[ne] = NULL;
    *detail = NULL;
    *ok = *spawned = false;
    if (json_is_object(argv))
        return run_mcp(r, argv, detail, ok, spawned, summary, summary_size, err);
    const char **v = fs_exec_cstrings(argv);
    if (!v || !v[0]) {
        free(v);
        *detail = json_pack("{s:s,s:s}", "error", "no argv to run", "code", "invalid_argument");
        snprintf(summary, summary_size, "nothing to run");
        return *detail ? 0 : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    size_t max = (size_t)cfg->executor.max_output;
    struct fs_child c = {
        .argv = v,
        .env = env,
        .path_env = FS_CHILD_DEFAULT_PATH,
        .cwd = "/",
        .timeout_ms = cfg->executor.action_timeout_ms,
        .max_stdout = max,
        .max_stderr = max,
    };
    if (fs_fault_check(child_fault)) {
        pthread_t t;
        if (pthread_create(&t, NULL, child_killer, NULL) == 0)
            pthread_detach(t);
    }
    struct fs_err cerr;
    int rc = cfg->sim ? cfg->sim->run(cfg->sim, r->host, &c, &cerr) : fs_child_run(&c, &cerr);
    free(v);
    if (rc == -FS_E_NOMEM)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    if (rc < 0) {
        *detail = json_pack("{s:s,s:s}", "error", cerr.msg, "code", fs_err_name(rc));
        snprintf(summary, summary_size, "could not start: %s", cerr.msg);
        return *detail ? 0 : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    *spawned = true;
    *ok = c.exit_code == 0 && !c.timed_out && c.term_signal == 0;
    json_t *d = json_object();
    json_t *out = sanitized(&c.out, max), *errt = sanitized(&c.err, max);
    if (!d || !out || !errt ||
        json_object_set_new(d, "exit_code",
                            c.exit_code >= 0 ? json_integer(c.exit_code) : json_null()) < 0 ||
        json_object_set_new(d, "signal", json_integer(c.term_signal)) < 0 ||
        json_object_set_new(d, "timed_out", json_boolean(c.timed_out)) < 0 ||
        json_object_set_new(d, "duration_ms", json_integer(c.duration_ms)) < 0 ||
        json_object_set_new(d, "stdout", out) < 0 || json_object_set_new(d, "stderr", errt) < 0 ||
        json_object_set_new(d, "stdout_truncated", json_boolean(c.stdout_truncated)) < 0 ||
        json_object_set_new(d, "stderr_truncated", json_boolean(c.stderr_truncated)) < 0) {
        json_decref(d);
        fs_child_release(&c);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    if (c.timed_out)
        snprintf(summary, summary_size, "timed out after %" PRId64 " ms (killed)", c.duration_ms);
    else if (c.term_signal)
        snprintf(summary, summary_size, "killed by signal %d after %" PRId64 " ms", c.term_signal,
                 c.duration_ms);
    else
        snprintf(summary, summary_size, "exit %d in %" PRId64 " ms", c.exit_code, c.duration_ms);
    fs_child_release(&c);
    *detail = d;
    return 0;
}

/* ---- the steps --------------------------------------------------------------------------- */

int fs_exec_conclude(struct fs_exec_run *r, const char *outcome, const char *reason)
{
    struct fs_err err;
    json_t *res = json_pack("{s:s}", "outcome", outcome);
    if (res && reason)
        json_object_set_new(res, "reason", json_string(reason));
    bool good = strcmp(outcome, "succeeded") == 0;
    struct rec c = {.outcome = outcome,
                    .result = res,
                    .to = good ? FS_ISTATE_RESOLVED : FS_ISTATE_ESCALATED,
                    .reason = reason};
    int rc = res ? record(r, &c, &err) : -FS_E_NOMEM;
    json_decref(res);
    if (rc < 0) {
        report(r, FS_EXEC_INTERRUPTED, NULL, err.msg);
        return rc;
    }
    crash_point(FS_FAULT_EXEC_CONCLUDED);
    fs_exec_say(r, "%s; %s inc-%" PRId64, outcome, good ? "resolved" : "escalated", r->incident_id);
    report(r, FS_EXEC_DONE, outcome, reason);
    if (r->x->finished)
        r->x->finished(r->x->finished_arg, r->incident_id, r->execution_id, outcome);
    return 0;
}

int fs_exec_escalate(struct fs_exec_run *r, const char *reason, const char *outcome)
{
    struct fs_err err;
    json_t *d = json_pack("{s:s,s:s}", "reason", reason, "outcome", outcome);
    struct rec c = {
        .step = FS_STEP_ESCALATED, .detail = d, .phase = "escalated", .audit = d, .to = -1};
    int rc = d ? record(r, &c, &err) : -FS_E_NOMEM;
    json_decref(d);
    if (rc < 0) {
        report(r, FS_EXEC_INTERRUPTED, NULL, "the store failed");
        return rc;
    }
    crash_point(FS_FAULT_EXEC_ESCALATED);
    fs_exec_say(r, "escalated → %s", reason);
    return fs_exec_conclude(r, outcome, reason);
}

static int verified(struct fs_exec_run *r, json_t *probe_json)
{
    struct fs_err err;
    json_t *d = json_pack("{s:s}", "outcome", "succeeded");
    if (d && probe_json)
        json_object_set(d, "probe", probe_json);
    else if (d)
        json_object_set_new(d, "note",
                            json_string(json_is_object(r->argv)
                                            ? "the action has no verify probe; the remote "
                                              "tool's answer is the only evidence"
                                            : "the action has no verify probe; its exit "
                                              "status is the only evidence"));
    struct rec c = {.step = FS_STEP_VERIFIED, .detail = d, .phase = "verified", .to = -1};
    int rc = d ? record(r, &c, &err) : -FS_E_NOMEM;
    json_decref(d);
    if (rc < 0)
        return rc;
    fs_exec_say(r, "verified");
    crash_point(FS_FAULT_EXEC_VERIFIED);
    return fs_exec_conclude(r, "succeeded", "verified");
}

/* Wait min(verify.wait, executor.max_verify_wait), probe, and retry every second until twice
 * the wait: 1 passed, 0 failed (o says why), 2 interrupted. */
static int probe_with_wait(struct fs_exec_run *r, const json_t *probe, const json_t *params,
                           struct fs_probe_outcome *o, struct fs_err *err)
{
    int64_t wait = json_integer_value(json_object_get(probe, "wait_ms"));
    wait = FS_MIN(wait, r->x->cfg->executor.max_verify_wait_ms);
    if (wait < 0)
        wait = 0;
    memset(o, 0, sizeof(*o));
    if (!nap(r->x, wait))
        return 2;
    int64_t start = fs_mono_ns();
    for (int attempt = 1;; attempt++) {
        fs_probe_outcome_release(o);
        int rc = fs_exec_probe(r->x, probe, params, r->target, r->host, o, err);
        if (rc < 0)
            return rc;
        if (o->ok)
            return 1;
        if (attempt >= VERIFY_MAX_ATTEMPTS ||
            (fs_mono_ns() - start) / 1000000 + VERIFY_RETRY_MS > wait)
            return 0;
        if (!nap(r->x, VERIFY_RETRY_MS))
            return 2;
    }
}

int fs_exec_verify(struct fs_exec_run *r)
{
    struct fs_err err;
    const json_t *probe = r->a ? r->a->verify : NULL;
    int64_t wait = probe ? json_integer_value(json_object_get(probe, "wait_ms")) : 0;
    wait = FS_MIN(wait, r->x->cfg->executor.max_verify_wait_ms);
    /* the incident's move is the transition (no step: the log's vocabulary is the schema's);
     * moving again after a restart is a no-op */
    struct rec c = {.to = FS_ISTATE_VERIFYING,
                    .reason = "the action ran; checking its verify probe"};
    int rc = record(r, &c, &err);
    if (rc < 0)
        return rc;
    crash_point(FS_FAULT_EXEC_VERIFYING);
    if (!probe) {
        fs_exec_say(r, "verifying → no probe");
        return verified(r, NULL);
    }
    fs_exec_say(r, "verifying → host.%s \"%s\" after %" PRId64 " ms",
                json_string_value(json_object_get(probe, "probe")),
                json_string_value(json_object_get(probe, "expect")), wait);
    struct fs_probe_outcome o;
    rc = probe_with_wait(r, probe, r->params, &o, &err);
    if (rc < 0) {
        fs_probe_outcome_release(&o);
        return rc;
    }
    if (rc == 2) {
        fs_probe_outcome_release(&o);
        fs_exec_say(r, "interrupted while verifying (resumes at the next start)");
        report(r, FS_EXEC_INTERRUPTED, NULL, "stopped while verifying");
        return 0;
    }
    json_t *pj = fs_probe_outcome_json(&o);
    char why[700];
    snprintf(why, sizeof(why), "verification failed: %s", o.why);
    fs_probe_outcome_release(&o);
    if (!pj)
        return -FS_E_NOMEM;
    if (rc == 1) {
        rc = verified(r, pj);
    } else {
        fs_exec_say(r, "%s", why);
        rc = fs_exec_after_result(r, false, true, why);
    }
    json_decref(pj);
    return rc;
}

int fs_exec_after_result(struct fs_exec_run *r, bool ok, bool spawned, const char *why)
{
    if (ok)
        return fs_exec_verify(r);
    /* a program that never started changed nothing: there is nothing to roll back */
    if (spawned && r->a && r->a->rollback)
        return fs_exec_rollback(r, why, r->a->rollback, NULL, false);
    return fs_exec_escalate(r, why, "failed");
}

int fs_exec_start_and_run(struct fs_exec_run *r, bool resumed)
{
    struct fs_err err;
    r->attempts++;
    json_t *d = json_pack("{s:i,s:b}", "attempt", r->attempts, "resumed", resumed);
    struct rec c = {.step = FS_STEP_STARTED, .detail = d, .to = -1};
    int rc = d ? record(r, &c, &err) : -FS_E_NOMEM;
    json_decref(d);
    if (rc < 0)
        return rc;
    crash_point(FS_FAULT_EXEC_STARTED);
    fs_exec_say(r, "started%s", resumed ? " (resumed after a restart)" : "");

    json_t *res = NULL;
    bool ok = false, spawned = false;
    char summary[600];
    if ((rc = run_argv(r, r->argv, FS_FAULT_EXEC_CHILD, &res, &ok, &spawned, summary,
                       sizeof(summary), &err)) < 0)
        return rc;
    if (resumed)
        json_object_set_new(res, "resumed", json_true());
    json_t *a = result_audit(res);
    struct rec c2 = {
        .step = FS_STEP_RESULT, .detail = res, .phase = "result", .audit = a, .to = -1};
    rc = a ? record(r, &c2, &err) : -FS_E_NOMEM;
    json_decref(res);
    json_decref(a);
    if (rc < 0)
        return rc;
    crash_point(FS_FAULT_EXEC_RESULT);
    fs_exec_say(r, "result → %s", summary);
    if (stopping(r->x)) {
        report(r, FS_EXEC_INTERRUPTED, NULL, "stopped after the result");
        return 0;
    }
    char why[700];
    snprintf(why, sizeof(why), "the action failed: %s", summary);
    return fs_exec_after_result(r, ok, spawned, why);
}

int fs_exec_probe_decides(struct fs_exec_run *r)
{
    struct fs_err err;
    const json_t *probe = r->a ? r->a->verify : NULL;
    if (!probe)
        return fs_exec_escalate(r,
                                "interrupted after it started; the action is not idempotent and "
                                "has no probe that could tell whether it took effect",
                                "unknown");
    fs_exec_say(r, "interrupted after it started; not idempotent: its probe decides");
    struct fs_probe_outcome o;
    int rc = probe_with_wait(r, probe, r->params, &o, &err);
    if (rc < 0 || rc == 2) {
        fs_probe_outcome_release(&o);
        if (rc == 2)
            report(r, FS_EXEC_INTERRUPTED, NULL, "stopped while probing");
        return rc < 0 ? rc : 0;
    }
    json_t *pj = fs_probe_outcome_json(&o);
    char why[800];
    snprintf(why, sizeof(why),
             "interrupted after it started; the action is not idempotent, so it is not run "
             "again, and its probe says it did not take effect (%s)",
             o.why);
    fs_probe_outcome_release(&o);
    if (!pj)
        return -FS_E_NOMEM;
    if (rc == 0) {
        json_decref(pj);
        return fs_exec_escalate(r, why, "unknown");
    }
    json_t *d = json_pack("{s:b,s:b,s:O}", "unknown", 1, "resumed", 1, "probe", pj);
    json_t *a = json_pack("{s:b}", "unknown", 1);
    struct rec c = {.step = FS_STEP_RESULT, .detail = d, .phase = "result", .audit = a, .to = -1};
    rc = d && a ? record(r, &c, &err) : -FS_E_NOMEM;
    json_decref(d);
    json_decref(a);
    if (rc < 0) {
        json_decref(pj);
        return rc;
    }
    fs_exec_say(r, "result → unknown; the probe shows it took effect");
    /* the probe already passed: the verification, without waiting again */
    struct rec c2 = {.to = FS_ISTATE_VERIFYING, .reason = "resumed: the action's probe decides"};
    rc = record(r, &c2, &err);
    if (rc == 0)
        rc = verified(r, pj);
    json_decref(pj);
    return rc;
}

/* The rollback action's params: the proposal's params it declares. */
static json_t *rollback_params(const struct fs_action *rb, const json_t *params)
{
    json_t *p = json_object();
    for (size_t i = 0; p && i < rb->nparams; i++) {
        json_t *v = json_object_get(params, rb->params[i].name);
        if (v)
            json_object_set(p, rb->params[i].name, v);
    }
    return p;
}

/* The start of a rollback, decided and recorded in one transaction so that a freeze cannot slip
 * in between: the kill switch off → step rollback_started (audited), and the rollback may run;
 * on → nothing runs ("once frozen, no new action starts"): step rollback_skipped and the
 * terminal step escalated, each audited, with a summary saying what a person should run. */
struct rb_begin {
    struct fs_exec_run *r;
    const json_t *started; /* rollback_started's detail */
    const json_t *argv;    /* what the rollback would run */
    const char *rb_action, *shown, *reason;
    bool resumed;
    /* out */
    bool frozen;
    const char *outcome;
    char why[2048];
};

static int rb_begin_tx(struct fs_store *s, void *arg, struct fs_err *err)
{
    struct rb_begin *b = arg;
    b->frozen = false;
    char *fz = NULL;
    int rc = fs_store_control_get(s, "freeze", &fz, err);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        struct rec c = {.r = b->r,
                        .step = FS_STEP_ROLLBACK_STARTED,
                        .detail = b->started,
                        .phase = "rollback_started",
                        .audit = b->started,
                        .to = -1};
        return rec_tx(s, &c, err);
    }
    json_t *f = fz ? json_loads(fz, 0, NULL) : NULL;
    free(fz);
    b->frozen = true;
    /* a rollback that had started before a crash may have done part of its work */
    b->outcome = b->resumed ? "unknown" : "failed";
    const char *by = json_string_value(json_object_get(f, "by"));
    const char *fwhy = json_string_value(json_object_get(f, "reason"));
    snprintf(b->why, sizeof(b->why),
             "%s; its rollback %s was not run because the kill switch is on (%s, by %s): once "
             "frozen, no new action starts. A person should check the target and, if the failed "
             "action must be undone, run by hand: %.700s",
             b->reason, b->rb_action, fwhy ? fwhy : "no reason given", by ? by : "?", b->shown);
    fs_utf8_cut(b->why);
    json_t *skip =
        json_pack("{s:s,s:O,s:s,s:s,s:b,s:{s:s?,s:s?,s:O?}}", "action", b->rb_action, "argv",
                  b->argv, "reason", b->reason, "skipped", "the kill switch is on", "resumed",
                  b->resumed, "freeze", "by", by, "reason", fwhy, "at", json_object_get(f, "at"));
    json_t *esc = json_pack("{s:s,s:s,s:s}", "reason", b->why, "outcome", b->outcome, "rollback",
                            "skipped_frozen");
    json_decref(f);
    struct rec c1 = {.r = b->r,
                     .step = FS_STEP_ROLLBACK_SKIPPED,
                     .detail = skip,
                     .phase = "rollback_skipped",
                     .audit = skip,
                     .to = -1};
    struct rec c2 = {.r = b->r,
                     .step = FS_STEP_ESCALATED,
                     .detail = esc,
                     .phase = "escalated",
                     .audit = esc,
                     .to = -1};
    rc = skip && esc ? rec_tx(s, &c1, err) : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    if (rc == 0)
        rc = rec_tx(s, &c2, err);
    json_decref(skip);
    json_decref(esc);
    return rc;
}

int fs_exec_rollback(struct fs_exec_run *r, const char *reason, const char *rb_action,
                     const json_t *rb_argv, bool resumed)
{
    struct fs_err err, perr;
    const struct fs_action *rb = fs_catalog_find(r->x->rules->catalog, rb_action);
    char why[1200];
    json_t *argv = rb_argv ? json_incref((json_t *)rb_argv) : NULL;
    if (!argv) {
        if (!rb) {
            snprintf(why, sizeof(why), "%s; its rollback %s is not in the catalog in force", reason,
                     rb_action);
            return fs_exec_escalate(r, why, "failed");
        }
        json_t *p = rollback_params(rb, r->params), *norm = NULL;
        struct fs_exec_plan plan = {0};
        int prc = !p ? -FS_E_NOMEM : fs_action_check_params(rb, p, &norm, &perr);
        json_decref(p);
        if (prc == 0)
            prc = fs_exec_plan_build(r->x->cfg, rb, norm, r->target, &plan, &perr);
        json_decref(norm);
        if (prc == 0 && plan.kind == FS_TARGET_MCP) {
            char mwhy[512];
            prc = fs_exec_mcp_prepare(r, rb_action, &plan.argv, mwhy, sizeof(mwhy), &perr);
            if (prc == 0)
                prc = fs_err_set(&perr, FS_E_FORBIDDEN, NULL, "%s", mwhy);
            else if (prc == 1)
                prc = 0;
            if (prc < 0)
                fs_exec_plan_release(&plan);
        }
        if (prc == -FS_E_NOMEM)
            return prc;
        if (prc < 0) {
            snprintf(why, sizeof(why), "%s; its rollback %s cannot run: %s", reason, rb_action,
                     perr.msg);
            return fs_exec_escalate(r, why, "failed");
        }
        argv = plan.argv;
        plan.argv = NULL;
    }
    char *shown = fs_exec_argv_display(argv);
    json_t *d = json_pack("{s:s,s:O,s:s,s:b}", "action", rb_action, "argv", argv, "reason", reason,
                          "resumed", resumed);
    struct rb_begin b = {.r = r,
                         .started = d,
                         .argv = argv,
                         .rb_action = rb_action,
                         .shown = shown,
                         .reason = reason,
                         .resumed = resumed};
    int rc = d && shown ? fs_writer_run(r->x->w, rb_begin_tx, &b, &err) : -FS_E_NOMEM;
    json_decref(d);
    if (rc < 0 || b.frozen) {
        free(shown);
        json_decref(argv);
    }
    if (rc < 0)
        return rc;
    if (b.frozen) {
        crash_point(FS_FAULT_EXEC_ESCALATED);
        fs_exec_say(r, "rollback_skipped → the kill switch is on; %s was not run", rb_action);
        fs_exec_say(r, "escalated → %s", b.why);
        return fs_exec_conclude(r, b.outcome, b.why);
    }
    crash_point(FS_FAULT_EXEC_ROLLBACK);
    fs_exec_say(r, "rollback_started → running %s (%s)", shown, rb_action);
    free(shown);

    json_t *res = NULL;
    bool ok = false, spawned = false;
    char summary[600];
    rc = run_argv(r, argv, FS_FAULT_EXEC_ROLLBACK_CHILD, &res, &ok, &spawned, summary,
                  sizeof(summary), &err);
    json_decref(argv);
    if (rc < 0)
        return rc;
    const char *outcome = ok ? "rolled_back" : "failed";
    json_object_set_new(res, "action", json_string(rb_action));
    json_object_set_new(res, "ok", json_boolean(ok));
    json_object_set_new(res, "outcome", json_string(outcome));
    if (resumed)
        json_object_set_new(res, "resumed", json_true());
    json_t *a = json_pack("{s:s,s:b,s:s}", "rollback", rb_action, "ok", ok, "summary", summary);
    struct rec c2 = {
        .step = FS_STEP_ROLLED_BACK, .detail = res, .phase = "rolled_back", .audit = a, .to = -1};
    rc = a ? record(r, &c2, &err) : -FS_E_NOMEM;
    json_decref(res);
    json_decref(a);
    if (rc < 0)
        return rc;
    crash_point(FS_FAULT_EXEC_ROLLED_BACK);
    fs_exec_say(r, "rolled_back → %s", summary);
    snprintf(why, sizeof(why), "%s; %s %s", reason,
             ok ? "rolled back with" : "the rollback failed too:", ok ? rb_action : summary);
    return fs_exec_conclude(r, outcome, why);
}

int fs_exec_rollback_probe_decides(struct fs_exec_run *r, const char *reason, const char *rb_action)
{
    struct fs_err err;
    const struct fs_action *rb = fs_catalog_find(r->x->rules->catalog, rb_action);
    char why[1400];
    if (!rb || !rb->verify) {
        snprintf(why, sizeof(why),
                 "%s; the rollback %s was interrupted after it started, is not idempotent and "
                 "has no probe that could tell whether it took effect",
                 reason, rb_action);
        return fs_exec_escalate(r, why, "unknown");
    }
    json_t *p = rollback_params(rb, r->params);
    struct fs_probe_outcome o;
    int rc = p ? probe_with_wait(r, rb->verify, p, &o, &err) : -FS_E_NOMEM;
    json_decref(p);
    if (rc < 0 || rc == 2) {
        if (rc == 2) {
            fs_probe_outcome_release(&o);
            report(r, FS_EXEC_INTERRUPTED, NULL, "stopped while probing");
        }
        return rc < 0 ? rc : 0;
    }
    json_t *pj = fs_probe_outcome_json(&o);
    snprintf(why, sizeof(why), "%s; the rollback %s was interrupted and its probe says %s", reason,
             rb_action, rc == 1 ? "it took effect" : o.why);
    fs_probe_outcome_release(&o);
    if (!pj)
        return -FS_E_NOMEM;
    if (rc == 0) {
        json_decref(pj);
        return fs_exec_escalate(r, why, "unknown");
    }
    json_t *d = json_pack("{s:s,s:b,s:b,s:b,s:s,s:o}", "action", rb_action, "unknown", 1, "resumed",
                          1, "ok", 1, "outcome", "rolled_back", "probe", pj);
    json_t *a = json_pack("{s:s,s:b,s:b}", "rollback", rb_action, "ok", 1, "unknown", 1);
    struct rec c = {
        .step = FS_STEP_ROLLED_BACK, .detail = d, .phase = "rolled_back", .audit = a, .to = -1};
    rc = d && a ? record(r, &c, &err) : -FS_E_NOMEM;
    json_decref(d);
    json_decref(a);
    if (rc < 0)
        return rc;
    crash_point(FS_FAULT_EXEC_ROLLED_BACK);
    return fs_exec_conclude(r, "rolled_back", why);
}

/* ---- before anything runs: load, refuse, intent ---------------------------------------------- */

struct load {
    int64_t pid;
    bool found, frozen;
    int64_t existing;
    struct fs_proposal_row p;
};

static int load_tx(struct fs_store *s, void *arg, struct fs_err *err)
{
    struct load *l = arg;
    fs_proposal_row_clear(&l->p);
    memset(&l->p, 0, sizeof(l->p));
    l->found = l->frozen = false;
    l->existing = 0;
    int64_t e = 0;
    int rc = fs_store_execution_of_proposal(s, l->pid, &e, err);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        l->existing = e;
        return 0;
    }
    char *fz = NULL;
    if ((rc = fs_store_control_get(s, "freeze", &fz, err)) < 0)
        return rc;
    free(fz);
    l->frozen = rc == 1;
    if ((rc = fs_store_proposal_load(s, l->pid, &l->p, err)) < 0)
        return rc;
    l->found = rc == 1;
    return 0;
}

/* The refusal of a proposal nothing was run for: an execution row "refused" (so it is never
 * picked up again), its one step, the audit record and the incident escalated. */
static int write_refusal(struct fs_store *s, struct fs_exec_run *r, const char *phase,
                         const char *reason, const json_t *extra, int64_t *eid, struct fs_err *err)
{
    int64_t now = fs_now_ms();
    json_t *spec = json_pack("{s:s,s:O,s:O}", "action", r->action_name, "params",
                             r->params ? r->params : json_null(), "target",
                             r->target ? r->target : json_null());
    char *spectext = spec ? fs_json_compact(spec) : NULL;
    json_decref(spec);
    if (!spectext)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    struct fs_execution_row e = {
        .proposal_id = r->proposal_id,
        .action = r->action_name,
        .target_key = r->target_key ? r->target_key : "",
        .started_at = now,
        .finished_at = now,
        .outcome = "refused",
        .incident_id = r->incident_id,
        .target_kind = r->argv ? fs_target_kind_name(r->kind) : NULL,
        .spec = spectext,
    };
    int rc = fs_store_execution_insert(s, &e, eid, err);
    free(spectext);
    if (rc < 0)
        return rc;
    r->execution_id = *eid;
    json_t *d = json_pack("{s:s,s:s,s:s}", "phase", phase, "reason", reason, "outcome", "refused");
    if (d && extra)
        json_object_update(d, (json_t *)extra);
    struct rec c = {.r = r,
                    .step = FS_STEP_REFUSED,
                    .detail = d,
                    .phase = phase,
                    .audit = d,
                    .to = FS_ISTATE_ESCALATED,
                    .reason = reason};
    rc = d ? rec_tx(s, &c, err) : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    json_decref(d);
    return rc;
}

struct refusal {
    struct fs_exec_run *r;
    const char *phase, *reason;
    const json_t *extra;
    int64_t eid;
    bool skipped;
};

static int refuse_tx(struct fs_store *s, void *arg, struct fs_err *err)
{
    struct refusal *f = arg;
    f->eid = 0;
    f->skipped = false;
    f->r->execution_id = 0;
    int64_t e = 0;
    int rc = fs_store_execution_of_proposal(s, f->r->proposal_id, &e, err);
    if (rc != 0) {
        f->skipped = rc == 1;
        return rc < 0 ? rc : 0;
    }
    return write_refusal(s, f->r, f->phase, f->reason, f->extra, &f->eid, err);
}

static int refuse(struct fs_exec_run *r, const char *phase, const char *reason, const json_t *extra,
                  struct fs_err *err)
{
    struct refusal f = {.r = r, .phase = phase, .reason = reason, .extra = extra};
    int rc = fs_writer_run(r->x->w, refuse_tx, &f, err);
    if (rc < 0)
        return rc;
    if (f.skipped) {
        report(r, FS_EXEC_SKIPPED, NULL, "another executor took it up meanwhile");
        return 0;
    }
    r->execution_id = f.eid;
    fs_exec_run_label(r);
    fs_exec_say(r, "%s → %s", phase, reason);
    report(r, FS_EXEC_REFUSED, "refused", reason);
    if (r->x->finished)
        r->x->finished(r->x->finished_arg, r->incident_id, r->execution_id, "refused");
    return 0;
}

struct intent {
    struct fs_exec_run *r;
    const char *body;        /* the proposal body the plan was built from */
    const json_t *preflight; /* probe outcomes */
    /* out */
    int64_t eid;
    bool skipped, frozen, refused;
    char reason[512];
};

static int intent_tx(struct fs_store *s, void *arg, struct fs_err *err)
{
    struct intent *it = arg;
    struct fs_exec_run *r = it->r;
    it->eid = 0;
    it->skipped = it->frozen = it->refused = false;
    it->reason[0] = '\0';
    r->execution_id = 0;
    int64_t now = fs_now_ms(), e = 0;
    int rc = fs_store_execution_of_proposal(s, r->proposal_id, &e, err);
    if (rc != 0) {
        it->skipped = rc == 1;
        return rc < 0 ? rc : 0;
    }
    struct fs_proposal_row p = {0};
    if ((rc = fs_store_proposal_load(s, r->proposal_id, &p, err)) < 0)
        return rc;
    if (rc == 0 || !fs_streq(p.body, it->body)) {
        fs_proposal_row_clear(&p);
        it->refused = true;
        snprintf(it->reason, sizeof(it->reason),
                 "the proposal changed while the executor prepared it; nothing ran");
        return write_refusal(s, r, "refused", it->reason, NULL, &it->eid, err);
    }
    struct fs_safety_request q = {
        .who = &executor_who, .rules = r->x->rules, .now = now, .id = r->proposal_id};
    rc = fs_safety_begin_execution(s, &q, err);
    if (rc < 0) {
        fs_safety_request_reset(&q);
        fs_proposal_row_clear(&p);
        return rc;
    }
    if (q.rc) {
        snprintf(it->reason, sizeof(it->reason), "%s", q.err.msg);
        json_t *x = json_pack("{s:s}", "code", fs_err_name(q.rc));
        if (q.rc == -FS_E_FROZEN) {
            it->frozen = true; /* its refusal record stays; the proposal stays queued */
        } else {
            it->refused = true;
            rc = x ? write_refusal(s, r, "refused", it->reason, x, &it->eid, err)
                   : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        }
        json_decref(x);
        fs_safety_request_reset(&q);
        fs_proposal_row_clear(&p);
        return rc;
    }
    it->eid = json_integer_value(json_object_get(q.result, "execution"));
    fs_safety_request_reset(&q);
    r->execution_id = it->eid;

    /* who allowed it: the approval just consumed, or the policy */
    json_t *approval = NULL;
    if (strcmp(p.decision, "execute") == 0) {
        approval = json_pack("{s:s,s:s}", "by", "policy", "decision", p.decision);
    } else {
        struct fs_approval_row a = {0};
        if ((rc = fs_store_approval_latest(s, p.id, &a, err)) < 0) {
            fs_proposal_row_clear(&p);
            return rc;
        }
        approval = rc == 1 ? json_pack("{s:o,s:s,s:s,s:s}", "id", idj("apr", a.id), "by", a.actor,
                                       "kind", a.kind, "decision", p.decision)
                           : json_null();
        fs_approval_row_clear(&a);
    }
    json_t *spec =
        json_pack("{s:s,s:s,s:s?,s:O,s:O,s:O,s:s,s:o}", "action", r->action_name, "kind",
                  fs_target_kind_name(r->kind), "host", r->host[0] ? r->host : NULL, "argv",
                  r->argv, "params", r->params, "target", r->target, "idempotent",
                  r->a->idempotent == FS_IDEM_NO         ? "no"
                  : r->a->idempotent == FS_IDEM_ABSOLUTE ? "absolute"
                                                         : "keyed",
                  "proposal", idj("prop", r->proposal_id));
    json_t *intent = spec ? json_deep_copy(spec) : NULL;
    if (intent) {
        json_object_set_new(intent, "approval", approval ? approval : json_null());
        json_object_set_new(intent, "action_hash", json_string(p.action_hash));
        json_object_set(intent, "preflight", (json_t *)it->preflight);
        approval = NULL;
    }
    json_decref(approval);
    char *spectext = spec ? fs_json_compact(spec) : NULL;
    json_decref(spec);
    fs_proposal_row_clear(&p);
    if (!intent || !spectext) {
        json_decref(intent);
        free(spectext);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    rc = fs_store_execution_describe(s, it->eid, r->incident_id, fs_target_kind_name(r->kind),
                                     spectext, err);
    free(spectext);
    struct rec c = {.r = r,
                    .step = FS_STEP_INTENT,
                    .detail = intent,
                    .to = FS_ISTATE_EXECUTING,
                    .reason = "the executor recorded its intent"};
    if (rc == 0)
        rc = rec_tx(s, &c, err);
    json_decref(intent);
    return rc;
}

/* Preconditions, each re-checked right before running. 1 all passed, 0 one failed (why). */
static int preflight(struct fs_exec_run *r, json_t *outcomes, char *why, size_t why_size,
                     struct fs_err *err)
{
    size_t i;
    json_t *pre;
    json_array_foreach(r->a->preconditions, i, pre)
    {
        struct fs_probe_outcome o;
        int rc = fs_exec_probe(r->x, pre, r->params, r->target, r->host, &o, err);
        if (rc < 0)
            return rc;
        json_t *pj = fs_probe_outcome_json(&o);
        if (!pj || json_array_append_new(outcomes, pj) < 0) {
            fs_probe_outcome_release(&o);
            return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        }
        bool ok = o.ok;
        if (!ok)
            snprintf(why, why_size, "precondition %zu failed: %s", i + 1, o.why);
        fs_probe_outcome_release(&o);
        if (!ok)
            return 0;
    }
    return 1;
}

int fs_exec_run_proposal(const struct fs_exec_env *x, int64_t proposal_id,
                         struct fs_exec_report *rep, struct fs_err *err)
{
    struct fs_exec_report local;
    if (!rep)
        rep = &local;
    memset(rep, 0, sizeof(*rep));
    struct fs_exec_run r = {.x = x, .rep = rep, .proposal_id = proposal_id};
    struct load ld = {.pid = proposal_id};
    json_t *body = NULL, *outcomes = NULL;
    struct fs_err perr;
    char why[1024];
    int rc = fs_writer_run(x->w, load_tx, &ld, err);
    if (rc < 0)
        goto out;
    if (ld.existing) {
        snprintf(rep->reason, sizeof(rep->reason), "prop-%" PRId64 " has exec-%" PRId64,
                 proposal_id, ld.existing);
        rep->execution_id = ld.existing;
        rep->status = FS_EXEC_SKIPPED;
        goto out;
    }
    if (!ld.found || strcmp(ld.p.status, "approved") != 0) {
        snprintf(rep->reason, sizeof(rep->reason), "prop-%" PRId64 " is %s, not approved",
                 proposal_id, ld.found ? ld.p.status : "not there");
        rep->status = FS_EXEC_SKIPPED;
        goto out;
    }
    snprintf(r.action_name, sizeof(r.action_name), "%s", ld.p.action);
    r.incident_id = ld.p.incident_id;
    fs_exec_run_label(&r);
    if (ld.frozen) {
        snprintf(rep->reason, sizeof(rep->reason), "the kill switch is on; it waits");
        rep->status = FS_EXEC_HELD;
        goto out;
    }
    if (!(r.target_key = fs_strdup(ld.p.target_key ? ld.p.target_key : ""))) {
        rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        goto out;
    }
    body = ld.p.body ? json_loads(ld.p.body, 0, NULL) : NULL;
    r.params = json_incref(json_object_get(body, "params"));
    r.target = json_incref(json_object_get(body, "target"));
    if (!r.target)
        r.target = json_object();
    r.a = fs_catalog_find(x->rules->catalog, r.action_name);
    if (!body || !json_is_object(r.target)) {
        rc = refuse(&r, "refused", "the proposal's stored body cannot be read", NULL, err);
        goto out;
    }
    if (!r.a) {
        snprintf(why, sizeof(why), "%s is not in the catalog in force (%s)", r.action_name,
                 x->rules->catalog->version);
        rc = refuse(&r, "refused", why, NULL, err);
        goto out;
    }
    json_t *norm = NULL;
    if ((rc = fs_action_check_params(r.a, r.params, &norm, &perr)) < 0) {
        if (rc == -FS_E_NOMEM)
            goto out;
        snprintf(why, sizeof(why), "its params no longer fit %s: %s", r.action_name, perr.msg);
        rc = refuse(&r, "refused", why, NULL, err);
        goto out;
    }
    json_decref(r.params);
    r.params = norm;
    struct fs_exec_plan plan;
    if ((rc = fs_exec_plan_build(x->cfg, r.a, r.params, r.target, &plan, &perr)) < 0) {
        if (rc == -FS_E_NOMEM)
            goto out;
        rc = refuse(&r, "refused", perr.msg, NULL, err);
        goto out;
    }
    r.argv = plan.argv;
    r.kind = plan.kind;
    snprintf(r.host, sizeof(r.host), "%s", plan.host);
    if (r.kind == FS_TARGET_MCP) {
        /* the server's tool_mappings, and the tool's pin approved — before anything runs */
        if ((rc = fs_exec_mcp_prepare(&r, r.action_name, &r.argv, why, sizeof(why), err)) < 0)
            goto out;
        if (rc == 0) {
            rc = refuse(&r, "refused", why, NULL, err);
            goto out;
        }
    }

    if (!(outcomes = json_array())) {
        rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        goto out;
    }
    if ((rc = preflight(&r, outcomes, why, sizeof(why), err)) < 0)
        goto out;
    if (rc == 0) {
        json_t *extra = json_pack("{s:O}", "preflight", outcomes);
        rc = extra ? refuse(&r, "preflight_failed", why, extra, err) : -FS_E_NOMEM;
        json_decref(extra);
        goto out;
    }
    crash_point(FS_FAULT_EXEC_PREFLIGHT);
    if (stopping(x)) {
        report(&r, FS_EXEC_INTERRUPTED, NULL, "stopped before the intent; it stays queued");
        rc = 0;
        goto out;
    }

    struct intent it = {.r = &r, .body = ld.p.body, .preflight = outcomes};
    if ((rc = fs_writer_run(x->w, intent_tx, &it, err)) < 0)
        goto out;
    r.execution_id = it.eid;
    fs_exec_run_label(&r);
    if (it.skipped) {
        report(&r, FS_EXEC_SKIPPED, NULL, "another executor took it up meanwhile");
        goto out;
    }
    if (it.frozen) {
        report(&r, FS_EXEC_HELD, NULL, it.reason);
        goto out;
    }
    if (it.refused) {
        fs_exec_say(&r, "refused → %s", it.reason);
        report(&r, FS_EXEC_REFUSED, "refused", it.reason);
        if (x->finished)
            x->finished(x->finished_arg, r.incident_id, r.execution_id, "refused");
        goto out;
    }
    crash_point(FS_FAULT_EXEC_INTENT);
    char *shown = fs_exec_argv_display(r.argv);
    fs_exec_say(&r, "intent → running %s (%s%s%s)", shown ? shown : "?",
                fs_target_kind_name(r.kind), r.host[0] ? " " : "", r.host);
    free(shown);
    rc = fs_exec_start_and_run(&r, false);
out:
    json_decref(body);
    json_decref(outcomes);
    fs_proposal_row_clear(&ld.p);
    fs_exec_run_release(&r);
    return rc;
}

/* ---- the queue --------------------------------------------------------------------------- */

struct ready {
    int64_t ids[READY_BATCH];
    int n;
};

static int ready_tx(struct fs_store *s, void *arg, struct fs_err *err)
{
    struct ready *q = arg;
    q->n = 0;
    return fs_store_proposals_ready(s, q->ids, READY_BATCH, &q->n, err);
}

int fs_exec_run_ready(const struct fs_exec_env *x, int *ran, int *held, struct fs_err *err)
{
    int nran = 0, nheld = 0, rc = 0;
    int64_t *seen = NULL;
    size_t nseen = 0;
    for (bool fresh = true; fresh && rc == 0 && !stopping(x);) {
        struct ready q;
        if ((rc = fs_writer_run(x->w, ready_tx, &q, err)) < 0)
            break;
        fresh = false;
        for (int i = 0; i < q.n && rc == 0 && !stopping(x); i++) {
            bool done = false;
            for (size_t j = 0; j < nseen && !done; j++)
                done = seen[j] == q.ids[i];
            if (done)
                continue;
            int64_t *grown = fs_realloc(seen, (nseen + 1) * sizeof(*seen));
            if (!grown) {
                rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
                break;
            }
            seen = grown;
            seen[nseen++] = q.ids[i];
            fresh = true;
            struct fs_exec_report rep;
            if ((rc = fs_exec_run_proposal(x, q.ids[i], &rep, err)) < 0)
                break;
            if (rep.status == FS_EXEC_HELD)
                nheld++;
            else if (rep.status == FS_EXEC_DONE || rep.status == FS_EXEC_REFUSED)
                nran++;
        }
    }
    free(seen);
    if (ran)
        *ran = nran;
    if (held)
        *held = nheld;
    return rc;
}
