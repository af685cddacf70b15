/* resume: crash recovery (architecture.md §7). At start the executor replays the step log of
 * every execution still "running" and continues it by one table, fs_exec_resume_decide (pure):
 * what never started runs now, what may have run is run again only when idempotent and is
 * otherwise judged by its probe or escalated, a result is never executed again, and a terminal
 * step without its bookkeeping only gets the bookkeeping. */
#include "core/common.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/json.h"
#include "exec/exec_int.h"
#include "safety/service.h"
#include "store/store.h"

struct fs_resume_plan fs_exec_resume_decide(const struct fs_exec_progress *p,
                                            const struct fs_resume_facts *f)
{
    struct fs_resume_plan r = {FS_RESUME_ESCALATE, false};
    if (p->terminal) {
        r.decision = FS_RESUME_FINISH;
    } else if (!p->intent) {
        r.decision = FS_RESUME_ESCALATE; /* no record of what was meant to run */
    } else if (p->rollback_started) {
        r.rollback = true;
        r.decision = f->rollback_idempotent != FS_IDEM_NO ? FS_RESUME_RERUN
                     : f->rollback_has_probe              ? FS_RESUME_PROBE_DECIDES
                                                          : FS_RESUME_ESCALATE;
    } else if (p->result) {
        r.decision = FS_RESUME_VERIFY_ONLY;
    } else if (p->started) {
        r.decision = f->idempotent != FS_IDEM_NO ? FS_RESUME_RERUN
                     : f->has_probe              ? FS_RESUME_PROBE_DECIDES
                                                 : FS_RESUME_ESCALATE;
    } else {
        r.decision = FS_RESUME_RUN;
    }
    return r;
}

const char *fs_resume_decision_name(enum fs_resume_decision d)
{
    switch (d) {
    case FS_RESUME_RUN: return "run";
    case FS_RESUME_RERUN: return "rerun";
    case FS_RESUME_VERIFY_ONLY: return "verify_only";
    case FS_RESUME_PROBE_DECIDES: return "probe_decides";
    case FS_RESUME_ESCALATE: return "escalate";
    case FS_RESUME_FINISH: return "finish";
    }
    return "?";
}

struct open_q {
    json_t *list;
};

static int open_tx(struct fs_store *s, void *arg, struct fs_err *err)
{
    struct open_q *q = arg;
    json_decref(q->list);
    q->list = NULL;
    return fs_store_executions_open(s, &q->list, err);
}

static int64_t id_of(const json_t *o, const char *key, const char *prefix)
{
    int64_t id = 0;
    const json_t *v = json_object_get(o, key);
    if (json_is_integer(v))
        return json_integer_value(v);
    if (fs_parse_id(json_string_value(v), prefix, &id) < 0)
        return 0;
    return id;
}

static const char *outcome_of_terminal(const json_t *step)
{
    const char *state = json_string_value(json_object_get(step, "state"));
    const char *o = json_string_value(json_object_get(json_object_get(step, "detail"), "outcome"));
    if (o)
        return o;
    if (fs_streq(state, FS_STEP_VERIFIED))
        return "succeeded";
    if (fs_streq(state, FS_STEP_ROLLED_BACK))
        return "rolled_back";
    if (fs_streq(state, FS_STEP_REFUSED))
        return "refused";
    return "failed";
}

static bool result_ok(const json_t *res, bool *spawned, char *why, size_t size)
{
    /* a remote tool's call that failed on the way may still have reached the server */
    *spawned = !json_object_get(res, "error") || json_is_true(json_object_get(res, "reached"));
    if (json_is_true(json_object_get(res, "unknown")))
        return true;                        /* its probe already said it took effect */
    if (json_object_get(res, "is_error")) { /* a remote tool answered (target kind mcp) */
        bool ok = json_is_false(json_object_get(res, "is_error"));
        if (!ok)
            snprintf(why, size, "the action failed: the remote tool reported an error");
        return ok;
    }
    if (json_object_get(res, "reached")) {
        snprintf(why, size, "the action failed: %s",
                 json_string_value(json_object_get(res, "error")));
        return false;
    }
    if (!*spawned) {
        snprintf(why, size, "the action failed: could not start: %s",
                 json_string_value(json_object_get(res, "error")));
        return false;
    }
    json_t *code = json_object_get(res, "exit_code");
    bool timed_out = json_is_true(json_object_get(res, "timed_out"));
    json_int_t sig = json_integer_value(json_object_get(res, "signal"));
    bool ok = json_is_integer(code) && json_integer_value(code) == 0 && !timed_out && sig == 0;
    if (ok)
        return true;
    if (timed_out)
        snprintf(why, size, "the action failed: timed out (killed)");
    else if (sig)
        snprintf(why, size, "the action failed: killed by signal %" JSON_INTEGER_FORMAT, sig);
    else
        snprintf(why, size, "the action failed: exit %" JSON_INTEGER_FORMAT,
                 json_integer_value(code));
    return ok;
}

/* Continue one interrupted execution. */
static int resume_one(const struct fs_exec_env *x, const json_t *e, struct fs_exec_report *rep,
                      struct fs_err *err)
{
    memset(rep, 0, sizeof(*rep));
    struct fs_exec_run r = {.x = x, .rep = rep};
    r.execution_id = id_of(e, "id", "exec");
    r.proposal_id = id_of(e, "proposalId", "prop");
    r.incident_id = id_of(e, "incidentId", "inc");
    snprintf(r.action_name, sizeof(r.action_name), "%s",
             json_string_value(json_object_get(e, "action")) ?: "?");
    fs_exec_run_label(&r);
    const json_t *spec = json_object_get(e, "spec");
    r.params = json_incref(json_object_get(spec, "params"));
    r.target = json_incref(json_object_get(spec, "target"));
    if (!r.target)
        r.target = json_object();
    r.argv = json_incref(json_object_get(spec, "argv"));
    snprintf(r.host, sizeof(r.host), "%s", json_string_value(json_object_get(spec, "host")) ?: "");
    fs_target_kind_parse(json_string_value(json_object_get(e, "targetKind")), &r.kind);
    r.a = fs_catalog_find(x->rules->catalog, r.action_name);

    struct fs_exec_progress p = {0};
    const json_t *steps = json_object_get(e, "steps"), *terminal = NULL, *result = NULL,
                 *rb_started = NULL;
    size_t i;
    json_t *st;
    json_array_foreach(steps, i, st)
    {
        const char *s = json_string_value(json_object_get(st, "state"));
        if (fs_streq(s, FS_STEP_INTENT)) {
            p.intent = true;
            if (!r.argv) /* older rows: the intent holds the argv too */
                r.argv = json_incref(json_object_get(json_object_get(st, "detail"), "argv"));
        } else if (fs_streq(s, FS_STEP_STARTED)) {
            p.started = true;
            r.attempts++;
        } else if (fs_streq(s, FS_STEP_RESULT)) {
            p.result = true;
            result = json_object_get(st, "detail");
        } else if (fs_streq(s, FS_STEP_ROLLBACK_STARTED)) {
            p.rollback_started = true;
            rb_started = json_object_get(st, "detail");
        } else if (fs_streq(s, FS_STEP_VERIFIED) || fs_streq(s, FS_STEP_ROLLED_BACK) ||
                   fs_streq(s, FS_STEP_ESCALATED) || fs_streq(s, FS_STEP_REFUSED)) {
            p.terminal = true;
            terminal = st;
        }
    }
    const char *rb_name = json_string_value(json_object_get(rb_started, "action"));
    if (!rb_name && r.a)
        rb_name = r.a->rollback;
    const struct fs_action *rb = rb_name ? fs_catalog_find(x->rules->catalog, rb_name) : NULL;
    struct fs_resume_facts f = {
        .idempotent = r.a ? r.a->idempotent : FS_IDEM_NO,
        .has_probe = r.a && r.a->verify,
        .rollback_idempotent = rb ? rb->idempotent : FS_IDEM_NO,
        .rollback_has_probe = rb && rb->verify,
    };
    struct fs_resume_plan plan = fs_exec_resume_decide(&p, &f);
    fs_exec_say(&r, "resume → %s%s", fs_resume_decision_name(plan.decision),
                plan.rollback ? " (the rollback)" : "");

    int rc = 0;
    bool frozen = false;
    bool starts = plan.decision == FS_RESUME_RUN || plan.decision == FS_RESUME_RERUN;
    if (starts && (rc = fs_exec_frozen(x, &frozen, err)) < 0)
        goto out;
    if (frozen) {
        fs_exec_say(&r, "held: the kill switch is on; it continues once unfrozen");
        rep->status = FS_EXEC_HELD;
        rep->execution_id = r.execution_id;
        snprintf(rep->reason, sizeof(rep->reason), "the kill switch is on");
        goto out;
    }
    const char *rb_reason = json_string_value(json_object_get(rb_started, "reason"));
    if (!rb_reason)
        rb_reason = "the action failed";
    char why[1024];
    switch (plan.decision) {
    case FS_RESUME_FINISH:
        rc = fs_exec_conclude(
            &r, outcome_of_terminal(terminal),
            json_string_value(json_object_get(json_object_get(terminal, "detail"), "reason"))
                ?: "finished after a restart");
        break;
    case FS_RESUME_ESCALATE:
        if (!p.intent)
            rc = fs_exec_escalate(&r, "interrupted before its intent was recorded", "unknown");
        else if (plan.rollback)
            rc = fs_exec_rollback_probe_decides(&r, rb_reason, rb_name ? rb_name : "?");
        else
            rc = fs_exec_probe_decides(&r); /* escalates: no probe */
        break;
    case FS_RESUME_RUN:
    case FS_RESUME_RERUN:
        if (plan.rollback) {
            rc = fs_exec_rollback(&r, rb_reason, rb_name ? rb_name : "?",
                                  json_object_get(rb_started, "argv"), true);
        } else if (!r.a || !(json_is_array(r.argv) || json_is_object(r.argv))) {
            snprintf(why, sizeof(why), "%s is no longer in the catalog in force; not run again",
                     r.action_name);
            rc = fs_exec_escalate(&r, why, p.started ? "unknown" : "failed");
        } else {
            rc = fs_exec_start_and_run(&r, true);
        }
        break;
    case FS_RESUME_PROBE_DECIDES:
        rc = plan.rollback ? fs_exec_rollback_probe_decides(&r, rb_reason, rb_name)
                           : fs_exec_probe_decides(&r);
        break;
    case FS_RESUME_VERIFY_ONLY: {
        bool spawned = true;
        why[0] = '\0';
        bool ok = result_ok(result, &spawned, why, sizeof(why));
        if (ok && !r.a) {
            snprintf(why, sizeof(why),
                     "%s is no longer in the catalog in force: it cannot be "
                     "verified",
                     r.action_name);
            rc = fs_exec_escalate(&r, why, "unknown");
        } else {
            rc = ok ? fs_exec_verify(&r) : fs_exec_after_result(&r, false, spawned, why);
        }
        break;
    }
    }
out:
    fs_exec_run_release(&r);
    return rc;
}

int fs_exec_resume_all(const struct fs_exec_env *x, int *n, struct fs_err *err)
{
    struct open_q q = {0};
    int rc = fs_writer_run(x->w, open_tx, &q, err);
    int done = 0;
    size_t i;
    json_t *e;
    json_array_foreach(q.list, i, e)
    {
        if (rc < 0 || (x->should_stop && x->should_stop(x->stop_arg)))
            break;
        struct fs_exec_report rep;
        rc = resume_one(x, e, &rep, err);
        if (rc == 0 && rep.status != FS_EXEC_HELD && rep.status != FS_EXEC_INTERRUPTED)
            done++;
    }
    json_decref(q.list);
    if (n)
        *n = done;
    return rc;
}
