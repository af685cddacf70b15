/* postmortem: the post-mortem of an incident, built from what the store recorded (incident,
 * timeline, investigations, observations, proposals with the gate's decision and approvals,
 * executions with their step logs), in Markdown and JSON; and fs_incident_conclude, which
 * stores it, writes the outcome back to the knowledge history and drops the files. It reads and
 * records; it never changes the state of an incident or of the world, and it invents nothing:
 * a section with nothing recorded says so. */
#include "core/common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "context/forecast.h"
#include "context/graph.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/json.h"
#include "core/redact.h"
#include "core/time.h"
#include "incidents/state.h"
#include "report/postmortem.h"
#include "safety/service.h"
#include "tools/route.h"

#define MD_MAX ((size_t)8 << 20) /* bytes of Markdown */
#define EXCERPT_LINES 8          /* lines of a tool's output shown as evidence */
#define EXCERPT_LINE_BYTES 200   /* each cut here */
#define TIMELINE_OBSERVATIONS 40 /* tool calls listed one by one in the timeline */
#define REASONING_LINES 20       /* reasoning lines shown under the root cause */

/* ---- small helpers --------------------------------------------------------------------------- */

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* For display: the string, or "?" when absent. */
static const char *jsd(const json_t *o, const char *k)
{
    const char *s = jstr(o, k);
    return s ? s : "?";
}

static int64_t jtime(const json_t *o, const char *k)
{
    int64_t ms;
    const char *s = jstr(o, k);
    if (!s || fs_time_parse_rfc3339(s, (size_t)-1, &ms) < 0)
        return FS_TIME_UNSET;
    return ms;
}

/* "2026-11-21 10:43:25" (UTC), or "-" when unset. */
static char *utc(int64_t ms, char *buf, size_t size)
{
    if (ms == FS_TIME_UNSET) {
        snprintf(buf, size, "-");
        return buf;
    }
    char t[40];
    fs_time_format(ms, t, sizeof(t));
    /* "2026-11-21T10:43:25.506Z" → "2026-11-21 10:43:25" */
    snprintf(buf, size, "%.10s %.8s", t, t + 11);
    return buf;
}

static json_t *time_json(int64_t ms)
{
    if (ms == FS_TIME_UNSET)
        return json_null();
    char t[40];
    return json_string(fs_time_format(ms, t, sizeof(t)));
}

static json_t *str_json(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* An integer from the first of keys found in o (exit codes have several spellings). */
static bool jint_any(const json_t *o, const char *const *keys, json_int_t *out)
{
    for (; json_is_object(o) && *keys; keys++) {
        json_t *v = json_object_get(o, *keys);
        if (json_is_integer(v)) {
            *out = json_integer_value(v);
            return true;
        }
    }
    return false;
}

/* A short human sentence from a step's or result's detail: the first string among the usual
 * keys, else NULL. */
static const char *detail_text(const json_t *d)
{
    static const char *const keys[] = {"message", "summary", "reason", "detail", "observed",
                                       "error",   "text",    "output", NULL};
    for (const char *const *k = keys; json_is_object(d) && *k; k++) {
        const char *s = jstr(d, *k);
        if (s && *s)
            return s;
    }
    return NULL;
}

/* Longest run of c in s. */
static size_t longest_run(const char *s, char c)
{
    size_t best = 0, run = 0;
    for (; s && *s; s++) {
        run = *s == c ? run + 1 : 0;
        if (run > best)
            best = run;
    }
    return best;
}

/* Inline text: newlines become spaces, '<' is escaped (no raw HTML reaches a renderer), and in
 * table cells '|' too. */
static int md_text(struct fs_buf *b, const char *s, bool cell)
{
    int rc = 0;
    for (; s && *s && rc == 0; s++) {
        if (*s == '\n' || *s == '\r' || *s == '\t')
            rc = fs_buf_putc(b, ' ');
        else if (*s == '<')
            rc = fs_buf_puts(b, "&lt;");
        else if (*s == '|' && cell)
            rc = fs_buf_puts(b, "\\|");
        else
            rc = fs_buf_putc(b, *s);
    }
    return rc;
}

/* An inline code span that survives any backticks inside. */
static int md_code(struct fs_buf *b, const char *s)
{
    size_t n = longest_run(s, '`') + 1;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = fs_buf_putc(b, '`');
    bool pad = s && (s[0] == '`' || (*s && s[strlen(s) - 1] == '`'));
    if (rc == 0 && pad)
        rc = fs_buf_putc(b, ' ');
    for (const char *p = s; p && *p && rc == 0; p++)
        rc = fs_buf_putc(b, (*p == '\n' || *p == '\r') ? ' ' : *p);
    if (rc == 0 && pad)
        rc = fs_buf_putc(b, ' ');
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = fs_buf_putc(b, '`');
    return rc;
}

/* A fenced code block whose fence is longer than any backtick run inside. */
static int md_block(struct fs_buf *b, const char *text)
{
    size_t n = FS_MAX(longest_run(text, '`') + 1, (size_t)3);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = fs_buf_putc(b, '`');
    rc = rc ? rc
            : fs_buf_printf(b, "\n%s%s", text,
                            (*text && text[strlen(text) - 1] == '\n') ? "" : "\n");
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = fs_buf_putc(b, '`');
    return rc ? rc : fs_buf_puts(b, "\n\n");
}

/* Compact JSON text of v (caller frees), cut at max bytes with "…". */
static char *json_short(const json_t *v, size_t max)
{
    char *t = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    if (t && strlen(t) > max) {
        size_t cut = max;
        while (cut > 0 && ((unsigned char)t[cut] & 0xC0) == 0x80)
            cut--;
        memcpy(t + cut, "...", 4);
    }
    return t;
}

/* The first EXCERPT_LINES lines of text, each cut at EXCERPT_LINE_BYTES (on a UTF-8 boundary),
 * with a note of what was left out. Caller frees. */
static char *excerpt(const char *text)
{
    struct fs_buf b = FS_BUF_INIT(0);
    size_t lines = 0, more = 0;
    const char *p = text ? text : "";
    int rc = 0;
    while (*p && rc == 0) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (lines < EXCERPT_LINES) {
            size_t keep = len;
            if (keep > EXCERPT_LINE_BYTES) {
                keep = EXCERPT_LINE_BYTES;
                while (keep > 0 && ((unsigned char)p[keep] & 0xC0) == 0x80)
                    keep--;
            }
            rc = fs_buf_append(&b, p, keep);
            if (rc == 0 && keep < len)
                rc = fs_buf_puts(&b, " ...");
            if (rc == 0)
                rc = fs_buf_putc(&b, '\n');
            lines++;
        } else {
            more++;
        }
        p = nl ? nl + 1 : p + len;
    }
    if (rc == 0 && more)
        rc = fs_buf_printf(&b, "[... %zu more line%s]\n", more, more == 1 ? "" : "s");
    if (rc < 0) {
        fs_buf_release(&b);
        return NULL;
    }
    return fs_buf_detach(&b, NULL);
}

static char *dur_text(int64_t ms, char *buf, size_t size)
{
    return fs_fc_format_duration(ms / 1000.0, buf, size);
}

/* ---- the timeline ---------------------------------------------------------------------------- */

struct ev {
    int64_t ms;
    int rank;     /* at the same ms: alerts first, then what forestall did, then state moves */
    size_t order; /* insertion order: remaining ties keep it */
    char kind[32];
    char *text;
};

struct evs {
    struct ev *v;
    size_t n, cap;
};

static int ev_add(struct evs *e, int64_t ms, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int ev_add(struct evs *e, int64_t ms, const char *kind, const char *fmt, ...)
{
    if (ms == FS_TIME_UNSET)
        return 0;
    if (e->n == e->cap) {
        size_t ncap = e->cap ? e->cap * 2 : 32;
        struct ev *nv = fs_realloc(e->v, ncap * sizeof(*nv));
        if (!nv)
            return -FS_E_NOMEM;
        e->v = nv;
        e->cap = ncap;
    }
    va_list ap;
    va_start(ap, fmt);
    char *text = NULL;
    int n = vasprintf(&text, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -FS_E_NOMEM;
    struct ev *x = &e->v[e->n];
    x->ms = ms;
    x->rank = strcmp(kind, "state") == 0                                      ? 2
              : (strcmp(kind, "incident") == 0 || strcmp(kind, "alert") == 0) ? 0
                                                                              : 1;
    x->order = e->n++;
    fs_strlcpy(x->kind, kind, sizeof(x->kind));
    x->text = text;
    return 0;
}

static void evs_free(struct evs *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->v[i].text);
    free(e->v);
}

static int ev_cmp(const void *a, const void *b)
{
    const struct ev *x = a, *y = b;
    if (x->ms != y->ms)
        return x->ms < y->ms ? -1 : 1;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* ---- what was gathered ----------------------------------------------------------------------- */

struct pm {
    struct fs_store *s;
    int64_t id;
    char idstr[32];
    int64_t now;
    json_t *inc;   /* fs_store_incident_get */
    json_t *invs;  /* investigations, in order */
    json_t *obs;   /* observations, in order */
    json_t *props; /* proposals (each with approvals), oldest first */
    json_t *execs; /* executions with steps */
    json_t *data;  /* the JSON form being built */
    const json_t *labels;
    char host[256]; /* from the instance label, or "" */
    const char *service, *env, *alertname;
    const json_t *main_inv; /* the investigation the root cause comes from, or NULL */
    json_t *forecast;       /* borrowed from an investigation's result, or NULL */
    int64_t audit_first, audit_last, audit_n;
    struct fs_err *err;
};

static int gather(struct pm *p)
{
    struct fs_err *err = p->err;
    int rc = fs_store_incident_get(p->s, p->id, &p->inc, err);
    if (rc < 0)
        return rc;
    if ((rc = fs_store_investigations_list(p->s, p->id, &p->invs, err)) < 0 ||
        (rc = fs_store_observations_list(p->s, p->id, &p->obs, err)) < 0 ||
        (rc = fs_store_executions_list(p->s, p->id, &p->execs, err)) < 0)
        return rc;
    json_t *list;
    struct fs_proposal_filter f = {.incident_id = p->id};
    if ((rc = fs_store_proposals_list(p->s, &f, &list, err)) < 0)
        return rc;
    if (!(p->props = json_array())) {
        json_decref(list);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    /* the list is newest first; the post-mortem tells the story in order */
    for (size_t i = json_array_size(list); i > 0 && rc == 0; i--) {
        const char *pid = jstr(json_array_get(list, i - 1), "id");
        int64_t id;
        json_t *one;
        if (fs_parse_id(pid, "prop", &id) < 0)
            continue;
        rc = fs_store_proposal_get(p->s, id, &one, err);
        if (rc == -FS_E_NOT_FOUND) {
            rc = 0;
            continue;
        }
        if (rc == 0 && json_array_append_new(p->props, one) < 0)
            rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    json_decref(list);
    return rc;
}

struct audit_scan {
    const char *incident;
    const json_t *props;
    int64_t first, last, n;
};

static bool is_ours(const struct audit_scan *a, const json_t *d)
{
    if (fs_streq(jstr(d, "incident"), a->incident))
        return true;
    const char *prop = jstr(d, "proposal");
    size_t i;
    json_t *p;
    json_array_foreach(a->props, i, p)
    {
        if (prop && fs_streq(jstr(p, "id"), prop))
            return true;
    }
    return false;
}

static int audit_row(const struct fs_audit_row *r, void *arg)
{
    struct audit_scan *a = arg;
    json_t *d = r->data ? json_loads(r->data, 0, NULL) : NULL;
    if (d && is_ours(a, d)) {
        if (!a->n)
            a->first = r->seq;
        a->last = r->seq;
        a->n++;
    }
    json_decref(d);
    return 0;
}

/* The audit records about this incident: its state moves, observations, and everything about
 * its proposals (decisions, approvals, executions). */
static int audit_range(struct pm *p)
{
    struct audit_scan a = {.incident = p->idstr, .props = p->props};
    int64_t since = jtime(p->inc, "createdAt");
    struct fs_audit_filter f = {.since_ms = since};
    int rc = fs_store_audit_scan(p->s, &f, audit_row, &a, p->err);
    if (rc < 0)
        return rc;
    p->audit_first = a.first;
    p->audit_last = a.last;
    p->audit_n = a.n;
    return 0;
}

/* Facts derived before writing. */
static void derive(struct pm *p)
{
    p->labels = json_object_get(p->inc, "labels");
    const char *inst = jstr(p->labels, "instance");
    if (!inst)
        inst = jstr(p->labels, "host");
    if (inst)
        fs_route_host(inst, p->host, sizeof(p->host));
    p->service = jstr(p->labels, "service");
    p->env = jstr(p->labels, "env");
    p->alertname = jstr(p->labels, "alertname");
    if (!p->alertname) {
        json_t *ep = json_array_get(json_object_get(p->inc, "episodes"), 0);
        p->alertname = jstr(ep, "alertname");
    }
    size_t i;
    json_t *inv;
    json_array_foreach(p->invs, i, inv)
    {
        if (jstr(inv, "rootCause") || jstr(inv, "summary") || !p->main_inv)
            p->main_inv = inv;
        json_t *fc = json_object_get(json_object_get(inv, "result"), "forecast");
        if (json_is_object(fc) || json_is_string(fc))
            p->forecast = fc;
    }
}

/* ---- per-action facts ------------------------------------------------------------------------ */

struct exec_facts {
    bool verified, rolled_back, escalated, have_exit;
    json_int_t exit_code;
    int64_t verified_at, rolled_back_at;
    const char *verify_text; /* borrowed */
    const json_t *verify_detail;
};

/* The spellings of an exit code in a step's detail or an execution's result. */
static const char *const exit_keys[] = {"exit_code",  "exitCode", "exit_status",
                                        "exitStatus", "exit",     NULL};

static void exec_facts(const json_t *x, struct exec_facts *f)
{
    memset(f, 0, sizeof(*f));
    f->verified_at = f->rolled_back_at = FS_TIME_UNSET;
    size_t i;
    json_t *st;
    json_array_foreach(json_object_get(x, "steps"), i, st)
    {
        const char *state = jstr(st, "state");
        const json_t *d = json_object_get(st, "detail");
        if (fs_streq(state, "result") && !f->have_exit)
            f->have_exit = jint_any(d, exit_keys, &f->exit_code);
        if (fs_streq(state, "verified")) {
            f->verified = true;
            f->verified_at = jtime(st, "ts");
            f->verify_text = detail_text(d);
            f->verify_detail = d;
        }
        if (fs_streq(state, "rolled_back")) {
            f->rolled_back = true;
            f->rolled_back_at = jtime(st, "ts");
            if (!f->verify_text)
                f->verify_text = detail_text(d);
        }
        if (fs_streq(state, "escalated"))
            f->escalated = true;
    }
    const json_t *res = json_object_get(x, "result");
    if (!f->have_exit)
        f->have_exit = jint_any(res, exit_keys, &f->exit_code);
    const char *outcome = jstr(x, "outcome");
    if (fs_streq(outcome, "rolled_back"))
        f->rolled_back = true;
    if (fs_streq(outcome, "escalated"))
        f->escalated = true;
}

/* The executions of one proposal. */
static void execs_of(const struct pm *p, const char *prop_id, json_t *out /* borrowed refs */)
{
    size_t i;
    json_t *x;
    json_array_foreach(p->execs, i, x)
    {
        if (fs_streq(jstr(x, "proposalId"), prop_id))
            json_array_append(out, x);
    }
}

/* "host=web-1,service=api" or the target object as text. */
static const char *target_text(const json_t *prop)
{
    const char *t = jstr(prop, "targetKey");
    return t && *t ? t : "(no target)";
}

static const char *decision_words(const char *d)
{
    if (fs_streq(d, "execute"))
        return "may run on its own";
    if (fs_streq(d, "needs_approval"))
        return "needs a person's approval";
    if (fs_streq(d, "needs_force_override"))
        return "needs a FORCE_OVERRIDE";
    if (fs_streq(d, "blocked"))
        return "refused";
    if (fs_streq(d, "shadow"))
        return "recorded only (shadow mode)";
    return "decided";
}

/* ---- the JSON form --------------------------------------------------------------------------- */

static json_t *approvals_json(const json_t *prop)
{
    json_t *arr = json_array();
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(prop, "approvals"), i, a)
    {
        json_array_append_new(
            arr, json_pack("{s:o,s:o,s:o,s:o,s:o}", "actor", str_json(jstr(a, "actor")), "role",
                           str_json(jstr(a, "role")), "kind", str_json(jstr(a, "kind")), "at",
                           str_json(jstr(a, "createdAt")), "comment", str_json(jstr(a, "reason"))));
    }
    return arr;
}

static json_t *execution_json(const json_t *x)
{
    struct exec_facts f;
    exec_facts(x, &f);
    json_t *steps = json_array();
    size_t i;
    json_t *st;
    json_array_foreach(json_object_get(x, "steps"), i, st)
    {
        json_array_append_new(steps,
                              json_pack("{s:o,s:o,s:o}", "state", str_json(jstr(st, "state")), "ts",
                                        str_json(jstr(st, "ts")), "summary",
                                        str_json(detail_text(json_object_get(st, "detail")))));
    }
    return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:b,s:b,s:o}", "id", str_json(jstr(x, "id")),
                     "outcome", str_json(jstr(x, "outcome")), "targetKind",
                     str_json(jstr(x, "targetKind")), "startedAt", str_json(jstr(x, "startedAt")),
                     "finishedAt", str_json(jstr(x, "finishedAt")), "exitCode",
                     f.have_exit ? json_integer(f.exit_code) : json_null(), "verified", f.verified,
                     "rolledBack", f.rolled_back, "escalated", f.escalated, "steps", steps);
}

static json_t *action_json(const struct pm *p, const json_t *prop)
{
    const json_t *gate = json_object_get(prop, "gate");
    const json_t *body = json_object_get(prop, "proposal");
    json_t *execs = json_array(), *xs = json_array();
    execs_of(p, jstr(prop, "id"), xs);
    size_t i;
    json_t *x;
    json_array_foreach(xs, i, x) json_array_append_new(execs, execution_json(x));
    json_decref(xs);
    json_t *contribs =
        json_deep_copy(json_object_get(json_object_get(gate, "risk"), "contributions"));
    json_t *reasons = json_deep_copy(json_object_get(gate, "reasons"));
    json_t *params = json_deep_copy(json_object_get(body, "params"));
    json_t *target = json_deep_copy(json_object_get(body, "target"));
    const json_t *risk = json_object_get(prop, "risk");
    return json_pack(
        "{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:{s:O,s:O},s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
        "proposal", str_json(jstr(prop, "id")), "action", str_json(jstr(prop, "action")), "params",
        params ? params : json_object(), "target", target ? target : json_null(), "targetKey",
        str_json(jstr(prop, "targetKey")), "proposer", str_json(jstr(prop, "proposer")),
        "rationale", str_json(jstr(body, "rationale")), "status", str_json(jstr(prop, "status")),
        "decision", str_json(jstr(prop, "decision")), "risk", "score",
        json_object_get(risk, "score") ? json_object_get(risk, "score") : json_null(), "level",
        json_object_get(risk, "level") ? json_object_get(risk, "level") : json_null(), "rule",
        json_object_get(gate, "rule") ? json_deep_copy(json_object_get(gate, "rule")) : json_null(),
        "contributions", contribs ? contribs : json_array(), "reasons",
        reasons ? reasons : json_array(), "decidedBy", str_json(jstr(prop, "decidedBy")),
        "decidedAt", str_json(jstr(prop, "decidedAt")), "approvals", approvals_json(prop),
        "proposedAt", str_json(jstr(prop, "createdAt")), "executions", execs);
}

/* ---- sentences ------------------------------------------------------------------------------- */

/* The forecast as one sentence fragment ("95% in ~5d 2h"), or NULL. buf holds it when made
 * from seconds. */
static const char *forecast_text(const json_t *fc, char *buf, size_t size, json_int_t *seconds,
                                 bool *have_seconds)
{
    static const char *const skeys[] = {"seconds_to_threshold", "secondsToThreshold", "eta_seconds",
                                        NULL};
    *have_seconds = false;
    if (json_is_string(fc))
        return json_string_value(fc);
    if (!json_is_object(fc))
        return NULL;
    *have_seconds = jint_any(fc, skeys, seconds);
    if (!*have_seconds) {
        for (const char *const *k = skeys; *k; k++) {
            json_t *v = json_object_get(fc, *k);
            if (json_is_real(v)) {
                *seconds = (json_int_t)json_real_value(v);
                *have_seconds = true;
                break;
            }
        }
    }
    const char *s = jstr(fc, "summary");
    if (s && *s)
        return s;
    if (*have_seconds) {
        char d[48];
        snprintf(buf, size, "the threshold in ~%s",
                 fs_fc_format_duration((double)*seconds, d, sizeof(d)));
        return buf;
    }
    return NULL;
}

struct verification {
    const char *result; /* verified | rolled_back | failed | escalated | pending | not_run */
    char text[1024];
};

static void verification(const struct pm *p, struct verification *v)
{
    const char *state = jstr(p->inc, "state");
    v->result = "not_run";
    v->text[0] = '\0';
    bool any = false, running = false;
    size_t i;
    json_t *x;
    json_array_foreach(p->execs, i, x)
    {
        struct exec_facts f;
        exec_facts(x, &f);
        any = true;
        char t[32];
        if (f.verified) {
            v->result = "verified";
            snprintf(v->text, sizeof(v->text),
                     "The verification probe of %s (%s) confirmed recovery at %s UTC%s%s.",
                     jsd(x, "id"), jsd(x, "action"), utc(f.verified_at, t, sizeof(t)),
                     f.verify_text ? ": " : "", f.verify_text ? f.verify_text : "");
        } else if (f.rolled_back) {
            v->result = "rolled_back";
            snprintf(v->text, sizeof(v->text),
                     "Recovery was not confirmed after %s (%s), so it was rolled back at %s "
                     "UTC%s%s.",
                     jsd(x, "id"), jsd(x, "action"), utc(f.rolled_back_at, t, sizeof(t)),
                     f.verify_text ? ": " : "", f.verify_text ? f.verify_text : "");
        } else if (f.escalated) {
            v->result = "escalated";
            snprintf(v->text, sizeof(v->text),
                     "%s (%s) did not end in a confirmed recovery; it was handed to a person "
                     "(outcome %s).",
                     jsd(x, "id"), jsd(x, "action"), jsd(x, "outcome"));
        } else if (fs_streq(jstr(x, "outcome"), "failed")) {
            v->result = "failed";
            snprintf(v->text, sizeof(v->text), "%s (%s) failed; recovery was not verified.",
                     jsd(x, "id"), jsd(x, "action"));
        } else if (fs_streq(jstr(x, "outcome"), "running") ||
                   fs_streq(jstr(x, "outcome"), "queued")) {
            running = true;
        }
    }
    if (v->text[0])
        return;
    if (running) {
        v->result = "pending";
        snprintf(v->text, sizeof(v->text),
                 "An action is still running; its verification has not been recorded yet.");
        return;
    }
    if (any) {
        v->result = "failed";
        snprintf(v->text, sizeof(v->text),
                 "The action ran, but no verification of recovery was recorded.");
        return;
    }
    if (fs_streq(state, "shadowed"))
        snprintf(v->text, sizeof(v->text),
                 "Nothing ran: shadow mode recorded the decision only, so there was nothing to "
                 "verify.");
    else if (fs_streq(state, "blocked"))
        snprintf(v->text, sizeof(v->text),
                 "Nothing ran: the gate refused the proposal, so there was nothing to verify.");
    else if (fs_streq(state, "no_action"))
        snprintf(v->text, sizeof(v->text),
                 "Nothing ran: the evidence showed nothing to do, so there was nothing to "
                 "verify.");
    else if (fs_streq(state, "escalated"))
        snprintf(v->text, sizeof(v->text),
                 "Nothing ran: the incident was handed to a person before any action.");
    else
        snprintf(v->text, sizeof(v->text), "Nothing has run for this incident yet.");
}

/* Follow-ups: every investigation's, in order, each once; plus one when an action had to be
 * rolled back. */
static json_t *followups(const struct pm *p)
{
    json_t *out = json_array();
    size_t i, j;
    json_t *inv, *f;
    json_array_foreach(p->invs, i, inv)
    {
        json_array_foreach(json_object_get(json_object_get(inv, "result"), "followups"), j, f)
        {
            const char *s = json_string_value(f);
            bool seen = false;
            size_t k;
            json_t *g;
            json_array_foreach(out, k, g) seen = seen || fs_streq(json_string_value(g), s);
            if (s && *s && !seen)
                json_array_append_new(out, json_string(s));
        }
    }
    json_t *x;
    json_array_foreach(p->execs, i, x)
    {
        struct exec_facts ef;
        exec_facts(x, &ef);
        if (ef.rolled_back) {
            char t[512];
            snprintf(t, sizeof(t),
                     "Find out why %s on %s did not bring recovery (%s was rolled back).",
                     jstr(x, "action") ? jstr(x, "action") : "the action",
                     jstr(x, "targetKey") ? jstr(x, "targetKey") : "the target", jsd(x, "id"));
            json_array_append_new(out, json_string(t));
        }
    }
    return out;
}

static int64_t ended_at(const struct pm *p)
{
    enum fs_incident_state st;
    if (fs_incident_state_parse(jstr(p->inc, "state"), &st) == 0 && fs_incident_state_final(st))
        return jtime(p->inc, "stateAt");
    return FS_TIME_UNSET;
}

static const char *where_text(const struct pm *p, char *buf, size_t size)
{
    const char *title = jstr(p->inc, "title");
    if (p->host[0] && p->service)
        snprintf(buf, size, "host %s (service %s%s%s)", p->host, p->service, p->env ? ", env " : "",
                 p->env ? p->env : "");
    else if (p->host[0])
        snprintf(buf, size, "host %s%s%s%s", p->host, p->env ? " (env " : "", p->env ? p->env : "",
                 p->env ? ")" : "");
    else if (p->service)
        snprintf(buf, size, "service %s%s%s%s", p->service, p->env ? " (env " : "",
                 p->env ? p->env : "", p->env ? ")" : "");
    else
        snprintf(buf, size, "%s", title && *title ? title : "an unnamed target");
    return buf;
}

/* ---- building -------------------------------------------------------------------------------- */

struct out {
    struct fs_buf md;
    struct evs ev;
    int rc;
};

#define PUT(o, call)                                                                               \
    do {                                                                                           \
        if ((o)->rc == 0) {                                                                        \
            int rc_ = (call);                                                                      \
            if (rc_ < 0)                                                                           \
                (o)->rc = rc_;                                                                     \
        }                                                                                          \
    } while (0)

static void collect_timeline(struct pm *p, struct out *o)
{
    size_t i, j;
    json_t *e;
    json_array_foreach(json_object_get(p->inc, "timeline"), i, e)
    {
        const char *kind = jstr(e, "kind");
        const json_t *d = json_object_get(e, "detail");
        int64_t ms = jtime(e, "ts");
        const char *an = jstr(d, "alertname") ? jstr(d, "alertname") : "(unnamed)";
        if (fs_streq(kind, "incident.created"))
            PUT(o, ev_add(&o->ev, ms, "incident", "Incident %s opened: %s", p->idstr,
                          jstr(d, "title") ? jstr(d, "title") : jstr(p->inc, "title")));
        else if (fs_streq(kind, "episode.firing"))
            PUT(o, ev_add(&o->ev, ms, "alert", "Alert %s firing%s%s%s", an,
                          jstr(d, "startsAt") ? " (since " : "",
                          jstr(d, "startsAt") ? jstr(d, "startsAt") : "",
                          jstr(d, "startsAt") ? ")" : ""));
        else if (fs_streq(kind, "episode.recorded"))
            PUT(o, ev_add(&o->ev, ms, "alert", "Alert %s recorded", an));
        else if (fs_streq(kind, "episode.resolved"))
            PUT(o, ev_add(&o->ev, ms, "alert", "Alert %s resolved", an));
        else if (fs_streq(kind, "incident.resolved"))
            PUT(o, ev_add(&o->ev, ms, "incident", "All alerts of the incident resolved"));
        else if (fs_streq(kind, "incident.reopened"))
            PUT(o, ev_add(&o->ev, ms, "incident", "Incident reopened: an alert fired again"));
        else if (fs_streq(kind, "incident.severity_raised"))
            PUT(o, ev_add(&o->ev, ms, "incident", "Severity raised to %s", jsd(d, "severity")));
        else if (fs_streq(kind, "state")) {
            const char *why = detail_text(d);
            PUT(o, ev_add(&o->ev, ms, "state", "Handling: %s → %s%s%s", jsd(d, "from"),
                          jsd(d, "to"), why ? " — " : "", why ? why : ""));
        } else
            PUT(o, ev_add(&o->ev, ms, "other", "%s", kind ? kind : "event"));
    }
    json_t *inv;
    json_array_foreach(p->invs, i, inv)
    {
        const char *pb = jstr(inv, "playbook");
        PUT(o, ev_add(&o->ev, jtime(inv, "startedAt"), "investigation",
                      "Investigation %s started (planner %s%s%s)", jsd(inv, "id"),
                      jsd(inv, "planner"), pb ? ", playbook " : "", pb ? pb : ""));
        json_int_t steps = json_integer_value(json_object_get(inv, "steps"));
        PUT(o, ev_add(&o->ev, jtime(inv, "finishedAt"), "investigation",
                      "Investigation %s ended: %s after %lld tool call%s", jsd(inv, "id"),
                      jsd(inv, "status"), (long long)steps, steps == 1 ? "" : "s"));
    }
    size_t nobs = json_array_size(p->obs);
    json_array_foreach(p->obs, i, e)
    {
        if (i == TIMELINE_OBSERVATIONS) {
            PUT(o, ev_add(&o->ev, jtime(e, "ts"), "observation",
                          "... and %zu more tool calls (see Evidence)", nobs - i));
            break;
        }
        PUT(o, ev_add(&o->ev, jtime(e, "ts"), "observation", "Tool call %s: %s (%lld ms)",
                      jsd(e, "id"), jsd(e, "tool"),
                      (long long)json_integer_value(json_object_get(e, "durationMs"))));
    }
    json_t *prop;
    json_array_foreach(p->props, i, prop)
    {
        int64_t at = jtime(prop, "createdAt");
        const json_t *risk = json_object_get(prop, "risk");
        PUT(o, ev_add(&o->ev, at, "proposal", "Proposed %s: %s on %s (by %s)", jsd(prop, "id"),
                      jsd(prop, "action"), target_text(prop), jsd(prop, "proposer")));
        PUT(o, ev_add(&o->ev, at, "decision", "Gate: %s — %s (risk %lld/100, %s)",
                      jsd(prop, "decision"), decision_words(jstr(prop, "decision")),
                      (long long)json_integer_value(json_object_get(risk, "score")),
                      jsd(risk, "level")));
        json_t *a;
        json_array_foreach(json_object_get(prop, "approvals"), j, a)
        {
            const char *kind = jstr(a, "kind");
            PUT(o, ev_add(&o->ev, jtime(a, "createdAt"), "approval", "%s %s by %s (%s)",
                          fs_streq(kind, "reject")           ? "Rejected"
                          : fs_streq(kind, "force_override") ? "FORCE_OVERRIDE of"
                                                             : "Approved",
                          jsd(prop, "id"), jsd(a, "actor"), jsd(a, "role")));
        }
        const char *status = jstr(prop, "status");
        if (fs_streq(status, "expired"))
            PUT(o, ev_add(&o->ev, jtime(prop, "decidedAt"), "proposal",
                          "%s expired without a decision", jsd(prop, "id")));
    }
    json_t *x;
    json_array_foreach(p->execs, i, x)
    {
        json_t *st;
        json_array_foreach(json_object_get(x, "steps"), j, st)
        {
            const char *state = jstr(st, "state");
            const json_t *d = json_object_get(st, "detail");
            const char *why = detail_text(d);
            json_int_t code;
            char extra[64] = "";
            if (fs_streq(state, "result") && jint_any(d, exit_keys, &code))
                snprintf(extra, sizeof(extra), " (exit code %lld)", (long long)code);
            PUT(o, ev_add(&o->ev, jtime(st, "ts"), "execution", "%s %s: %s%s%s%s", jsd(x, "id"),
                          jstr(x, "action") ? jstr(x, "action") : "", state ? state : "?", extra,
                          why && !fs_streq(state, "result") ? " — " : "",
                          why && !fs_streq(state, "result") ? why : ""));
        }
    }
    if (o->rc == 0 && o->ev.n)
        qsort(o->ev.v, o->ev.n, sizeof(o->ev.v[0]), ev_cmp);
}

/* What every section of the document reads. */
struct doc {
    struct pm *p;
    struct out *o;
    const char *title, *severity, *state;
    int64_t detected, ended;
    char where[600];
    const json_t *last_prop; /* the latest proposal, or NULL */
    const json_t *inv;       /* the investigation the root cause comes from, or NULL */
    struct verification v;
};

static void doc_header(struct doc *d)
{
    struct pm *p = d->p;
    struct out *o = d->o;
    struct fs_buf *b = &o->md;
    char t1[32];
    char t2[32];
    char dur[48];
    PUT(o, fs_buf_printf(b, "# Post-mortem: %s — ", p->idstr));
    PUT(o, md_text(b, d->title, false));
    PUT(o, fs_buf_printf(b, "\n\nSeverity **%s** · handling ended as **%s** · detected %s UTC",
                         d->severity, d->state, utc(d->detected, t1, sizeof(t1))));
    if (d->ended != FS_TIME_UNSET)
        PUT(o, fs_buf_printf(b, " · ended %s UTC (%s)", utc(d->ended, t2, sizeof(t2)),
                             dur_text(d->ended - d->detected, dur, sizeof(dur))));
    PUT(o, fs_buf_puts(b, "\n\n"));
}

static void doc_summary(struct doc *d)
{
    struct pm *p = d->p;
    struct out *o = d->o;
    struct fs_buf *b = &o->md;
    json_t *data = p->data;
    char dur[48];
    struct fs_buf sum = FS_BUF_INIT(0);
    PUT(o, fs_buf_printf(&sum, "%s fired on %s at severity %s.",
                         p->alertname ? p->alertname : "An alert", d->where, d->severity));
    if (d->inv) {
        json_int_t steps = json_integer_value(json_object_get(d->inv, "steps"));
        const char *pb = jstr(d->inv, "playbook");
        if (pb)
            PUT(o, fs_buf_printf(&sum,
                                 " forestall investigated it with the %s playbook (%lld tool "
                                 "call%s)",
                                 pb, (long long)steps, steps == 1 ? "" : "s"));
        else
            PUT(o, fs_buf_printf(&sum,
                                 " forestall investigated it with the %s planner (%lld tool "
                                 "call%s)",
                                 jsd(d->inv, "planner"), (long long)steps, steps == 1 ? "" : "s"));
        const char *rc = jstr(d->inv, "rootCause");
        PUT(o, rc ? fs_buf_printf(&sum, " and found the root cause: %s.", rc)
                  : fs_buf_puts(&sum, " but recorded no root cause."));
    } else {
        PUT(o, fs_buf_puts(&sum, " No investigation was recorded."));
    }
    if (d->last_prop) {
        const json_t *risk = json_object_get(d->last_prop, "risk");
        PUT(o, fs_buf_printf(&sum, " It proposed %s on %s; the gate decided %s (risk %lld/100, %s)",
                             jstr(d->last_prop, "action"), target_text(d->last_prop),
                             jstr(d->last_prop, "decision"),
                             (long long)json_integer_value(json_object_get(risk, "score")),
                             jsd(risk, "level")));
        const json_t *a =
            json_array_get(json_object_get(d->last_prop, "approvals"),
                           json_array_size(json_object_get(d->last_prop, "approvals")) - 1);
        if (a && !fs_streq(jstr(a, "kind"), "reject"))
            PUT(o,
                fs_buf_printf(&sum, " and %s (%s) approved it", jstr(a, "actor"), jstr(a, "role")));
        else if (a)
            PUT(o, fs_buf_printf(&sum, " and %s rejected it", jstr(a, "actor")));
        PUT(o, fs_buf_puts(&sum, "."));
        if (fs_streq(d->v.result, "verified"))
            PUT(o, fs_buf_puts(&sum, " The action ran and recovery was verified."));
        else if (fs_streq(d->v.result, "rolled_back"))
            PUT(o, fs_buf_puts(&sum, " The action ran but recovery was not confirmed; it was "
                                     "rolled back."));
        else if (!fs_streq(d->v.result, "not_run"))
            PUT(o, fs_buf_printf(&sum, " Verification: %s.", d->v.result));
        else
            PUT(o, fs_buf_puts(&sum, " Nothing ran."));
    }
    if (d->ended != FS_TIME_UNSET)
        PUT(o, fs_buf_printf(&sum, " Handling ended as %s after %s.", d->state,
                             dur_text(d->ended - d->detected, dur, sizeof(dur))));
    else
        PUT(o, fs_buf_printf(&sum, " Handling has not ended: the incident is %s.", d->state));
    json_object_set_new(data, "summary", json_string(fs_buf_str(&sum)));
    PUT(o, fs_buf_puts(b, "## Summary\n\n"));
    PUT(o, md_text(b, fs_buf_str(&sum), false));
    PUT(o, fs_buf_puts(b, "\n\n"));
    fs_buf_release(&sum);
}

static void doc_impact(struct doc *d)
{
    struct pm *p = d->p;
    struct out *o = d->o;
    struct fs_buf *b = &o->md;
    json_t *data = p->data;
    struct fs_buf imp = FS_BUF_INIT(0);
    if (fs_streq(d->severity, "critical"))
        PUT(o, fs_buf_printf(&imp,
                             "A critical alert on %s: the condition it watches had "
                             "reached its critical threshold.",
                             d->where));
    else
        PUT(o, fs_buf_printf(&imp,
                             "A %s alert on %s: a warning threshold was crossed, which is "
                             "a report of risk, not of an outage.",
                             d->severity, d->where));
    json_t *eps = json_object_get(p->inc, "episodes");
    const char *ann = jstr(json_object_get(json_array_get(eps, 0), "annotations"), "summary");
    if (!ann)
        ann = jstr(json_object_get(json_array_get(eps, 0), "annotations"), "description");
    if (ann)
        PUT(o, fs_buf_printf(&imp, " The alert said: \"%s\".", ann));
    size_t nep = json_array_size(eps);
    json_int_t open = json_integer_value(json_object_get(p->inc, "openEpisodes"));
    PUT(o, fs_buf_printf(&imp, " %zu alert episode%s belonged to the incident; %s.", nep,
                         nep == 1 ? "" : "s",
                         open > 0 ? "at least one was still firing when this was written"
                                  : "none was firing any more when this was written"));
    char fcbuf[128];
    json_int_t fc_s = 0;
    bool fc_have_s = false;
    const char *fc = forecast_text(p->forecast, fcbuf, sizeof(fcbuf), &fc_s, &fc_have_s);
    json_object_set_new(data, "impact", json_string(fs_buf_str(&imp)));
    json_object_set_new(data, "forecast",
                        fc || fc_have_s
                            ? json_pack("{s:o,s:o}", "summary", str_json(fc), "secondsToThreshold",
                                        fc_have_s ? json_integer(fc_s) : json_null())
                            : json_null());
    PUT(o, fs_buf_puts(b, "## Impact\n\n"));
    PUT(o, md_text(b, fs_buf_str(&imp), false));
    PUT(o, fs_buf_puts(b, "\n\n"));
    fs_buf_release(&imp);
    if (fc) {
        PUT(o, fs_buf_puts(b, "**Time to exhaustion when acted:** "));
        PUT(o, md_text(b, fc, false));
        PUT(o, fs_buf_puts(b, ".\n\n"));
    } else {
        PUT(o, fs_buf_puts(b, "**Time to exhaustion when acted:** no forecast was recorded.\n\n"));
    }
}

static void doc_timeline(struct doc *d)
{
    struct pm *p = d->p;
    struct out *o = d->o;
    struct fs_buf *b = &o->md;
    json_t *data = p->data;
    char t1[32];
    json_t *tl = json_array();
    PUT(o, fs_buf_puts(b, "## Timeline\n\n"));
    if (!o->ev.n)
        PUT(o, fs_buf_puts(b, "Nothing was recorded.\n\n"));
    else
        PUT(o, fs_buf_puts(b, "| Time (UTC) | Event |\n|---|---|\n"));
    for (size_t i = 0; i < o->ev.n; i++) {
        const struct ev *e = &o->ev.v[i];
        json_array_append_new(tl, json_pack("{s:o,s:s,s:s}", "ts", time_json(e->ms), "kind",
                                            e->kind, "event", e->text));
        PUT(o, fs_buf_printf(b, "| %s | ", utc(e->ms, t1, sizeof(t1))));
        PUT(o, md_text(b, e->text, true));
        PUT(o, fs_buf_puts(b, " |\n"));
    }
    if (o->ev.n)
        PUT(o, fs_buf_puts(b, "\n"));
    json_object_set_new(data, "timeline", tl);
}

static void doc_evidence(struct doc *d)
{
    struct pm *p = d->p;
    struct out *o = d->o;
    struct fs_buf *b = &o->md;
    json_t *data = p->data;
    json_t *evidence = json_array();
    PUT(o, fs_buf_puts(b, "## Evidence\n\n"));
    if (!json_array_size(p->obs))
        PUT(o, fs_buf_puts(b, "No tool calls or observations were recorded.\n\n"));
    else
        PUT(o, fs_buf_puts(b, "What the investigation looked at, in order, with the first lines "
                              "each tool returned (secrets redacted).\n\n"));
    size_t i;
    json_t *ob;
    json_array_foreach(p->obs, i, ob)
    {
        char *ex = excerpt(jstr(ob, "output"));
        char *in = json_short(json_object_get(ob, "input"), 300);
        json_int_t ms = json_integer_value(json_object_get(ob, "durationMs"));
        json_array_append_new(
            evidence,
            json_pack("{s:o,s:o,s:O,s:o,s:I,s:o,s:o}", "id", str_json(jstr(ob, "id")), "tool",
                      str_json(jstr(ob, "tool")), "input",
                      json_object_get(ob, "input") ? json_object_get(ob, "input") : json_null(),
                      "excerpt", str_json(ex), "durationMs", ms, "ts", str_json(jstr(ob, "ts")),
                      "actor", str_json(jstr(ob, "actor"))));
        PUT(o, fs_buf_printf(b, "### %s · ", jsd(ob, "id")));
        PUT(o, md_text(b, jsd(ob, "tool"), false));
        PUT(o, fs_buf_printf(b, " · %lld ms\n\n", (long long)ms));
        if (in && strcmp(in, "null") && strcmp(in, "{}")) {
            PUT(o, fs_buf_puts(b, "Input: "));
            PUT(o, md_code(b, in));
            PUT(o, fs_buf_puts(b, "\n\n"));
        }
        PUT(o, md_block(b, ex && *ex ? ex : "(no output)\n"));
        free(ex);
        free(in);
    }
    json_object_set_new(data, "evidence", evidence);
}

static void doc_root_cause(struct doc *d)
{
    struct pm *p = d->p;
    struct out *o = d->o;
    struct fs_buf *b = &o->md;
    json_t *data = p->data;
    size_t i;
    PUT(o, fs_buf_puts(b, "## Root cause\n\n"));
    const char *rcause = d->inv ? jstr(d->inv, "rootCause") : NULL;
    const char *rsum = d->inv ? jstr(d->inv, "summary") : NULL;
    json_t *reasoning = json_array();
    if (rcause) {
        PUT(o, md_code(b, rcause));
        PUT(o, fs_buf_puts(b, rsum ? " — " : "\n\n"));
    } else {
        PUT(o, fs_buf_puts(b, "No root cause was recorded"));
        PUT(o, fs_buf_puts(b, rsum ? ". The investigation's summary: " : ".\n\n"));
    }
    if (rsum) {
        PUT(o, md_text(b, rsum, false));
        PUT(o, fs_buf_puts(b, "\n\n"));
    }
    json_t *lines = d->inv ? json_object_get(json_object_get(d->inv, "result"), "reasoning") : NULL;
    json_t *ln;
    json_array_foreach(lines, i, ln)
    {
        if (json_is_string(ln))
            json_array_append(reasoning, ln);
    }
    size_t nr = json_array_size(reasoning);
    if (nr)
        PUT(o, fs_buf_puts(b, "How it was found:\n\n"));
    for (i = 0; i < nr && i < REASONING_LINES; i++) {
        PUT(o, fs_buf_puts(b, "- "));
        PUT(o, md_text(b, json_string_value(json_array_get(reasoning, i)), false));
        PUT(o, fs_buf_puts(b, "\n"));
    }
    if (nr > REASONING_LINES)
        PUT(o, fs_buf_printf(b, "- ... %zu more lines in the JSON form\n", nr - REASONING_LINES));
    if (nr)
        PUT(o, fs_buf_puts(b, "\n"));
    json_object_set_new(data, "rootCause",
                        json_pack("{s:o,s:o,s:o,s:o}", "label", str_json(rcause), "summary",
                                  str_json(rsum), "investigation",
                                  str_json(d->inv ? jstr(d->inv, "id") : NULL), "reasoning",
                                  reasoning));
    json_t *invs = json_array();
    json_t *iv;
    json_array_foreach(p->invs, i, iv)
    {
        json_array_append_new(
            invs,
            json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:O,s:o,s:o}", "id", str_json(jstr(iv, "id")),
                      "planner", str_json(jstr(iv, "planner")), "playbook",
                      str_json(jstr(iv, "playbook")), "status", str_json(jstr(iv, "status")),
                      "rootCause", str_json(jstr(iv, "rootCause")), "summary",
                      str_json(jstr(iv, "summary")), "steps",
                      json_object_get(iv, "steps") ? json_object_get(iv, "steps") : json_null(),
                      "startedAt", str_json(jstr(iv, "startedAt")), "finishedAt",
                      str_json(jstr(iv, "finishedAt"))));
    }
    json_object_set_new(data, "investigations", invs);
}

static void doc_actions(struct doc *d)
{
    struct pm *p = d->p;
    struct out *o = d->o;
    struct fs_buf *b = &o->md;
    json_t *data = p->data;
    char t1[32];
    char t2[32];
    size_t i;
    json_t *actions = json_array();
    PUT(o, fs_buf_puts(b, "## Actions\n\n"));
    if (!json_array_size(p->props))
        PUT(o, fs_buf_puts(b, "No action was proposed.\n\n"));
    json_t *prop;
    json_array_foreach(p->props, i, prop)
    {
        json_t *aj = action_json(p, prop);
        const json_t *gate = json_object_get(prop, "gate");
        const json_t *risk = json_object_get(prop, "risk");
        const json_t *body = json_object_get(prop, "proposal");
        PUT(o, fs_buf_printf(b, "### %s · ", jsd(prop, "id")));
        PUT(o, md_code(b, jsd(prop, "action")));
        PUT(o, fs_buf_puts(b, " on "));
        PUT(o, md_text(b, target_text(prop), false));
        PUT(o, fs_buf_puts(b, "\n\n"));
        char *params = json_short(json_object_get(body, "params"), 300);
        if (params) {
            PUT(o, fs_buf_puts(b, "- Parameters: "));
            PUT(o, md_code(b, params));
            PUT(o, fs_buf_puts(b, "\n"));
        }
        free(params);
        PUT(o, fs_buf_puts(b, "- Proposed by "));
        PUT(o, md_text(b, jsd(prop, "proposer"), false));
        PUT(o, fs_buf_printf(b, " at %s UTC", utc(jtime(prop, "createdAt"), t1, sizeof(t1))));
        if (jstr(body, "rationale")) {
            PUT(o, fs_buf_puts(b, ": "));
            PUT(o, md_text(b, jstr(body, "rationale"), false));
        }
        PUT(o, fs_buf_puts(b, "\n"));
        PUT(o, fs_buf_printf(b, "- Gate decision: **%s** (%s) — risk score %lld/100, %s",
                             jsd(prop, "decision"), decision_words(jstr(prop, "decision")),
                             (long long)json_integer_value(json_object_get(risk, "score")),
                             jsd(risk, "level")));
        if (json_integer_value(json_object_get(gate, "rule")))
            PUT(o, fs_buf_printf(b, "; rule %lld (%s)",
                                 (long long)json_integer_value(json_object_get(gate, "rule")),
                                 jsd(gate, "rule_name")));
        PUT(o, fs_buf_puts(b, "\n"));
        size_t k;
        json_t *r;
        json_array_foreach(json_object_get(gate, "reasons"), k, r)
        {
            PUT(o, fs_buf_puts(b, "  - Why: "));
            PUT(o, md_text(b, json_string_value(r), false));
            PUT(o, fs_buf_puts(b, "\n"));
        }
        const json_t *contribs = json_object_get(json_object_get(gate, "risk"), "contributions");
        bool first = true;
        json_array_foreach(contribs, k, r)
        {
            json_int_t pts = json_integer_value(json_object_get(r, "points"));
            if (!pts)
                continue;
            PUT(o, fs_buf_puts(b, first ? "- Score: " : ", "));
            PUT(o, md_text(b, jsd(r, "factor"), false));
            PUT(o, fs_buf_printf(b, " %+lld", (long long)pts));
            first = false;
        }
        if (!first)
            PUT(o, fs_buf_puts(b, "\n"));
        const json_t *apps = json_object_get(prop, "approvals");
        json_t *a;
        json_array_foreach(apps, k, a)
        {
            const char *kind = jstr(a, "kind");
            PUT(o, fs_buf_printf(b, "- %s by ",
                                 fs_streq(kind, "reject")           ? "Rejected"
                                 : fs_streq(kind, "force_override") ? "FORCE_OVERRIDE"
                                                                    : "Approved"));
            PUT(o, md_text(b, jsd(a, "actor"), false));
            PUT(o, fs_buf_printf(b, " (role %s) at %s UTC", jsd(a, "role"),
                                 utc(jtime(a, "createdAt"), t1, sizeof(t1))));
            if (jstr(a, "reason")) {
                PUT(o, fs_buf_puts(b, ": "));
                PUT(o, md_text(b, jstr(a, "reason"), false));
            }
            PUT(o, fs_buf_puts(b, "\n"));
        }
        const char *status = jstr(prop, "status");
        if (!json_array_size(apps)) {
            if (fs_streq(jstr(prop, "decision"), "execute"))
                PUT(o, fs_buf_puts(b, "- Approval: none needed — the policy let it run on its "
                                      "own.\n"));
            else if (fs_streq(status, "pending"))
                PUT(o, fs_buf_puts(b, "- Approval: still waiting for a person.\n"));
            else if (fs_streq(status, "expired"))
                PUT(o, fs_buf_puts(b, "- Approval: none; the approval window closed.\n"));
            else if (fs_streq(status, "blocked") || fs_streq(status, "shadow"))
                PUT(o, fs_buf_puts(b, "- Approval: not applicable; nothing could run.\n"));
        }
        json_t *xs = json_object_get(aj, "executions");
        json_t *x;
        if (!json_array_size(xs))
            PUT(o, fs_buf_puts(b, "- Execution: it did not run.\n"));
        json_array_foreach(xs, k, x)
        {
            PUT(o, fs_buf_printf(b, "- Execution %s: outcome **%s**, started %s UTC", jsd(x, "id"),
                                 jsd(x, "outcome"), utc(jtime(x, "startedAt"), t1, sizeof(t1))));
            if (jstr(x, "finishedAt"))
                PUT(o, fs_buf_printf(b, ", finished %s UTC",
                                     utc(jtime(x, "finishedAt"), t2, sizeof(t2))));
            if (json_is_integer(json_object_get(x, "exitCode")))
                PUT(o,
                    fs_buf_printf(b, ", exit code %lld",
                                  (long long)json_integer_value(json_object_get(x, "exitCode"))));
            if (json_is_true(json_object_get(x, "verified")))
                PUT(o, fs_buf_puts(b, "; verified"));
            if (json_is_true(json_object_get(x, "rolledBack")))
                PUT(o, fs_buf_puts(b, "; rolled back"));
            if (json_is_true(json_object_get(x, "escalated")))
                PUT(o, fs_buf_puts(b, "; escalated"));
            PUT(o, fs_buf_puts(b, "\n"));
            size_t m;
            json_t *st;
            json_array_foreach(json_object_get(x, "steps"), m, st)
            {
                PUT(o, fs_buf_printf(b, "  - %s UTC %s", utc(jtime(st, "ts"), t1, sizeof(t1)),
                                     jsd(st, "state")));
                if (jstr(st, "summary")) {
                    PUT(o, fs_buf_puts(b, ": "));
                    PUT(o, md_text(b, jstr(st, "summary"), false));
                }
                PUT(o, fs_buf_puts(b, "\n"));
            }
        }
        PUT(o, fs_buf_puts(b, "\n"));
        json_array_append_new(actions, aj);
    }
    json_object_set_new(data, "actions", actions);
}

static void doc_verification(struct doc *d)
{
    struct pm *p = d->p;
    struct out *o = d->o;
    struct fs_buf *b = &o->md;
    json_t *data = p->data;
    PUT(o, fs_buf_puts(b, "## Verification\n\n"));
    PUT(o, fs_buf_printf(b, "**%s** — ", d->v.result));
    PUT(o, md_text(b, d->v.text, false));
    PUT(o, fs_buf_puts(b, "\n\n"));
    json_object_set_new(data, "verification",
                        json_pack("{s:s,s:s}", "result", d->v.result, "detail", d->v.text));
}

static void doc_follow_ups(struct doc *d)
{
    struct pm *p = d->p;
    struct out *o = d->o;
    struct fs_buf *b = &o->md;
    json_t *data = p->data;
    size_t i;
    json_t *fu = followups(p);
    PUT(o, fs_buf_puts(b, "## Follow-ups\n\n"));
    if (!json_array_size(fu))
        PUT(o, fs_buf_puts(b, "None were recorded.\n\n"));
    else
        PUT(o, fs_buf_puts(b, "The permanent fix, so this does not come back:\n\n"));
    json_t *f;
    json_array_foreach(fu, i, f)
    {
        PUT(o, fs_buf_puts(b, "- [ ] "));
        PUT(o, md_text(b, json_string_value(f), false));
        PUT(o, fs_buf_puts(b, "\n"));
    }
    if (json_array_size(fu))
        PUT(o, fs_buf_puts(b, "\n"));
    json_object_set_new(data, "followups", fu);
}

static void doc_duration_audit_footer(struct doc *d)
{
    struct pm *p = d->p;
    struct out *o = d->o;
    struct fs_buf *b = &o->md;
    json_t *data = p->data;
    char t1[32];
    char dur[48];
    json_object_set_new(
        data, "duration",
        json_pack("{s:o,s:o,s:o,s:o}", "detectedAt", time_json(d->detected), "endedAt",
                  time_json(d->ended), "seconds",
                  d->ended != FS_TIME_UNSET && d->detected != FS_TIME_UNSET
                      ? json_integer((d->ended - d->detected) / 1000)
                      : json_null(),
                  "text",
                  d->ended != FS_TIME_UNSET && d->detected != FS_TIME_UNSET
                      ? json_string(dur_text(d->ended - d->detected, dur, sizeof(dur)))
                      : json_null()));
    json_object_set_new(data, "audit",
                        json_pack("{s:o,s:o,s:I}", "firstSeq",
                                  p->audit_n ? json_integer(p->audit_first) : json_null(),
                                  "lastSeq", p->audit_n ? json_integer(p->audit_last) : json_null(),
                                  "records", (json_int_t)p->audit_n));
    PUT(o, fs_buf_puts(b, "---\n\n"));
    if (p->audit_n)
        PUT(o, fs_buf_printf(b,
                             "Audit trail: %lld record%s about this incident, seq %lld–%lld "
                             "(`forestall audit export`, `forestall audit verify`). ",
                             (long long)p->audit_n, p->audit_n == 1 ? "" : "s",
                             (long long)p->audit_first, (long long)p->audit_last));
    else
        PUT(o, fs_buf_puts(b, "Audit trail: no record names this incident. "));
    PUT(o, fs_buf_printf(b, "Written by forestall at %s UTC from what the store recorded.\n",
                         utc(p->now, t1, sizeof(t1))));
}

static void write_doc(struct pm *p, struct out *o)
{
    struct doc d = {.p = p, .o = o, .inv = p->main_inv};
    d.title = jstr(p->inc, "title") ? jstr(p->inc, "title") : "";
    d.severity = jsd(p->inc, "severity");
    d.state = jstr(p->inc, "state") ? jstr(p->inc, "state") : "new";
    d.detected = jtime(p->inc, "createdAt");
    d.ended = ended_at(p);
    d.last_prop = json_array_get(p->props, json_array_size(p->props) - 1);
    where_text(p, d.where, sizeof(d.where));
    verification(p, &d.v);
    doc_header(&d);
    doc_summary(&d);
    doc_impact(&d);
    doc_timeline(&d);
    doc_evidence(&d);
    doc_root_cause(&d);
    doc_actions(&d);
    doc_verification(&d);
    doc_follow_ups(&d);
    doc_duration_audit_footer(&d);
}

static void pm_release(struct pm *p)
{
    json_decref(p->inc);
    json_decref(p->invs);
    json_decref(p->obs);
    json_decref(p->props);
    json_decref(p->execs);
    json_decref(p->data);
}

int fs_postmortem_build(struct fs_store *s, int64_t incident_id, int64_t now, json_t **data,
                        char **markdown, struct fs_err *err)
{
    *data = NULL;
    *markdown = NULL;
    struct pm p = {.s = s, .id = incident_id, .now = now, .err = err};
    snprintf(p.idstr, sizeof(p.idstr), "inc-%lld", (long long)incident_id);
    struct out o = {.md = FS_BUF_INIT(MD_MAX)};
    int rc = gather(&p);
    if (rc == 0)
        rc = audit_range(&p);
    if (rc < 0)
        goto out;
    derive(&p);
    p.data = json_object();
    if (!p.data) {
        rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        goto out;
    }
    const json_t *inc = p.inc;
    json_object_set_new(p.data, "version", json_integer(FS_POSTMORTEM_VERSION));
    json_object_set_new(p.data, "generatedAt", time_json(now));
    json_object_set_new(
        p.data, "incident",
        json_pack("{s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "id", p.idstr, "title",
                  str_json(jstr(inc, "title")), "severity", str_json(jstr(inc, "severity")),
                  "status", str_json(jstr(inc, "status")), "state", str_json(jstr(inc, "state")),
                  "labels", p.labels ? json_incref((json_t *)p.labels) : json_object(), "host",
                  str_json(p.host[0] ? p.host : NULL), "service", str_json(p.service), "createdAt",
                  str_json(jstr(inc, "createdAt")), "resolvedAt", str_json(jstr(inc, "resolvedAt")),
                  "stateAt", str_json(jstr(inc, "stateAt"))));
    json_object_set_new(p.data, "outcome", str_json(jstr(inc, "state")));
    collect_timeline(&p, &o);
    if (o.rc == 0)
        write_doc(&p, &o);
    if (o.rc < 0) {
        rc = fs_err_set(err, o.rc == -FS_E_TOO_LARGE ? FS_E_TOO_LARGE : FS_E_NOMEM, NULL,
                        o.rc == -FS_E_TOO_LARGE ? "the post-mortem is larger than 8 MiB" : NULL);
        goto out;
    }
    /* a value that could not be made (out of memory) leaves its key out: refuse the whole */
    static const char *const keys[] = {
        "version",        "generatedAt", "incident",     "outcome",   "summary",
        "impact",         "forecast",    "timeline",     "evidence",  "rootCause",
        "investigations", "actions",     "verification", "followups", "duration",
        "audit",          NULL};
    for (const char *const *k = keys; *k; k++) {
        if (!json_object_get(p.data, *k)) {
            rc = fs_err_set(err, FS_E_NOMEM, NULL, "post-mortem: could not build \"%s\"", *k);
            goto out;
        }
    }
    /* the store's outputs are redacted already; this catches whatever else slipped in */
    char *md = fs_sanitize_text(fs_buf_str(&o.md), o.md.len, 0, NULL);
    if (!md || fs_redact_json(p.data, NULL) < 0) {
        free(md);
        rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        goto out;
    }
    *markdown = md;
    *data = p.data;
    p.data = NULL;
out:
    fs_buf_release(&o.md);
    evs_free(&o.ev);
    pm_release(&p);
    return rc;
}

/* ---- conclude: store, write back, files ------------------------------------------------------ */

#define MAX_ENTITIES 8

struct conclude {
    int64_t id, now;
    const char *markdown, *data;
    const char *entities[MAX_ENTITIES];
    size_t n;
    struct fs_entity_history_row row;
};

static void add_entity(struct conclude *c, const char *name)
{
    if (!name || !*name || c->n == MAX_ENTITIES)
        return;
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->entities[i], name) == 0)
            return;
    c->entities[c->n++] = name;
}

static int conclude_tx(struct fs_store *s, void *arg, struct fs_err *err)
{
    struct conclude *c = arg;
    int rc = fs_store_postmortem_put(s, c->id, c->now, c->markdown, c->data, err);
    for (size_t i = 0; i < c->n && rc == 0; i++) {
        struct fs_entity_history_row r = c->row;
        r.entity = c->entities[i];
        rc = fs_store_entity_history_insert(s, &r, err);
    }
    return rc;
}

/* mkdir -p with mode for the missing parts. */
static int mkdirs(const char *path, mode_t mode, struct fs_err *err)
{
    char *p = fs_strdup(path);
    if (!p)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    int rc = 0;
    for (char *q = p + 1; rc == 0; q++) {
        if (*q != '/' && *q != '\0')
            continue;
        char c = *q;
        *q = '\0';
        if (mkdir(p, mode) < 0 && errno != EEXIST)
            rc = fs_err_set(err, FS_E_IO, NULL, "mkdir %s: %s", p, strerror(errno));
        *q = c;
        if (c == '\0')
            break;
    }
    free(p);
    return rc;
}

/* Write text to dir/name through a temporary file, synced, then renamed over. */
static int write_atomic(const char *dir, const char *name, const char *text, struct fs_err *err)
{
    char path[4096], tmp[4096];
    if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) ||
        snprintf(tmp, sizeof(tmp), "%s/.%s.%ld.tmp", dir, name, (long)getpid()) >= (int)sizeof(tmp))
        return fs_err_set(err, FS_E_IO, NULL, "%s: path too long", dir);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0)
        return fs_err_set(err, FS_E_IO, NULL, "%s: %s", tmp, strerror(errno));
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return fs_err_set(err, FS_E_IO, NULL, "%s: %s", tmp, strerror(e));
        }
        off += (size_t)n;
    }
    if (fsync(fd) < 0 || close(fd) < 0) {
        int e = errno;
        unlink(tmp);
        return fs_err_set(err, FS_E_IO, NULL, "%s: %s", tmp, strerror(e));
    }
    if (rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return fs_err_set(err, FS_E_IO, NULL, "rename %s: %s", path, strerror(e));
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    return 0;
}

static int write_files(const struct fs_config *cfg, int64_t id, const char *markdown,
                       const json_t *data, struct fs_err *err)
{
    if (!cfg || !cfg->executor.postmortem_dir || !*cfg->executor.postmortem_dir)
        return 0;
    char *dir = fs_config_data_path(cfg, cfg->executor.postmortem_dir);
    char *json = json_dumps(data, JSON_INDENT(2) | JSON_SORT_KEYS);
    int rc = (!dir || !json) ? fs_err_set(err, FS_E_NOMEM, NULL, NULL) : mkdirs(dir, 0750, err);
    char name[64];
    if (rc == 0) {
        snprintf(name, sizeof(name), "inc-%lld.md", (long long)id);
        rc = write_atomic(dir, name, markdown, err);
    }
    if (rc == 0) {
        size_t n = strlen(json);
        char *withnl = realloc(json, n + 2);
        if (withnl) {
            json = withnl;
            memcpy(json + n, "\n", 2);
        }
        snprintf(name, sizeof(name), "inc-%lld.json", (long long)id);
        rc = write_atomic(dir, name, json, err);
    }
    free(dir);
    free(json);
    return rc;
}

/* The outcome written to the knowledge history: the handling state, except that an action
 * that had to be rolled back is what the next investigation most needs to know. */
static const char *history_outcome(const json_t *data)
{
    const char *v = jstr(json_object_get(data, "verification"), "result");
    if (fs_streq(v, "rolled_back"))
        return "rolled_back";
    const char *o = jstr(data, "outcome");
    return o ? o : "unknown";
}

/* The action the incident ended with: the last one that ran, else the last proposed. */
static const char *history_action(const json_t *data)
{
    const char *proposed = NULL, *ran = NULL;
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(data, "actions"), i, a)
    {
        proposed = jstr(a, "action");
        if (json_array_size(json_object_get(a, "executions")))
            ran = proposed;
    }
    return ran ? ran : proposed;
}

int fs_incident_conclude(const struct fs_writer *w, const struct fs_config *cfg,
                         int64_t incident_id, int64_t now, struct fs_err *err)
{
    json_t *data = NULL;
    char *md = NULL, *text = NULL;
    struct fs_rules *rules = NULL;
    struct fs_graph *own = NULL;
    int rc = fs_postmortem_build(w->store, incident_id, now, &data, &md, err);
    if (rc < 0)
        return rc;
    text = fs_json_canonical(data);
    if (!text) {
        rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        goto out;
    }
    struct conclude c = {.id = incident_id, .now = now, .markdown = md, .data = text};
    const json_t *inc = json_object_get(data, "incident");
    const char *host = jstr(inc, "host"), *service = jstr(inc, "service");
    add_entity(&c, host);
    add_entity(&c, service);
    /* the graph in force (the daemon's), else the configured file (the CLI) */
    const struct fs_graph *g = NULL;
    if ((rules = fs_rules_acquire()))
        g = rules->graph;
    else if (cfg && cfg->context.graph && fs_graph_load(cfg->context.graph, &own, NULL, NULL) == 0)
        g = own;
    const struct fs_entity *he = fs_graph_find(g, host), *se = fs_graph_find(g, service);
    const char *inst = jstr(json_object_get(inc, "labels"), "instance");
    if (!he && inst)
        he = fs_graph_find(g, inst);
    add_entity(&c, he ? he->name : NULL);
    add_entity(&c, se ? se->name : NULL);
    const json_t *root = json_object_get(data, "rootCause");
    c.row = (struct fs_entity_history_row){.incident_id = incident_id,
                                           .ts = now,
                                           .outcome = history_outcome(data),
                                           .action = history_action(data),
                                           .root_cause = jstr(root, "label"),
                                           .summary = jstr(data, "summary")};
    rc = fs_writer_run(w, conclude_tx, &c, err);
    if (rc == 0)
        rc = write_files(cfg, incident_id, md, data, err);
out:
    fs_rules_release(rules);
    fs_graph_free(own);
    json_decref(data);
    free(md);
    free(text);
    return rc;
}
