/* gate: the pure decision of architecture.md §5. From a policy, a catalog and a parsed proposal
 * it computes the risk score and the incident risk with every contribution, the verdict of all
 * 13 rules (the first that matches decides) and the effective mode, then renders them as JSON
 * or text. It must not do I/O, read a clock, keep state between calls or allocate while
 * deciding (the forbidden-pattern match data is one per thread, created once). */
#include "core/common.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/regex.h"
#include "safety/gate.h"

#define SCAN_MAX_DEPTH 32

static const char *const rule_names[FS_GATE_RULES] = {
    "kill_switch",       "invalid_proposal",  "forbidden_pattern", "policy_deny",
    "change_freeze",     "evidence",          "rate_limit",        "shadow_mode",
    "critical_severity", "approval_required", "score_threshold",   "supervised_mode",
    "default_execute",
};

#define R_DEFAULT 13 /* the rule that decides when no other does */

static const char *const decision_names[] = {"execute", "needs_approval", "needs_force_override",
                                             "blocked", "shadow"};

const char *fs_decision_name(enum fs_decision d)
{
    return (unsigned)d < FS_ARRAY_LEN(decision_names) ? decision_names[d] : "?";
}

int fs_decision_parse(const char *s, enum fs_decision *out)
{
    for (size_t i = 0; s && i < FS_ARRAY_LEN(decision_names); i++)
        if (strcmp(s, decision_names[i]) == 0) {
            *out = (enum fs_decision)i;
            return 0;
        }
    return -FS_E_INVALID;
}

/* ---- small helpers ---------------------------------------------------------------------- */

static void fmt(char *out, size_t size, const char *f, ...) __attribute__((format(printf, 3, 4)));

static void fmt(char *out, size_t size, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    vsnprintf(out, size, f, ap);
    va_end(ap);
}

static const char *or_none(const char *s)
{
    return s ? s : "(none)";
}

static bool strs_has(const struct fs_strs *s, const char *x)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i], x) == 0)
            return true;
    return false;
}

/* "a, b, c" into out, "…" when it does not fit, "none" when empty. */
static void strs_join(char *out, size_t size, const struct fs_strs *s)
{
    size_t n = 0;
    out[0] = '\0';
    if (s->n == 0) {
        fs_strlcpy(out, "none", size);
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        size_t need = strlen(s->v[i]) + (i ? 2 : 0);
        if (n + need + 4 >= size) {
            fs_strlcpy(out + n, i ? ", ..." : "...", size - n);
            return;
        }
        n += (size_t)snprintf(out + n, size - n, "%s%s", i ? ", " : "", s->v[i]);
    }
}

/* Distinct members of s (the lists are capped by the parser, so pairwise is bounded). */
static size_t strs_distinct(const struct fs_strs *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(s->v[i], s->v[j]) == 0;
        n += !seen;
    }
    return n;
}

static void contrib(struct fs_contribution *c, const char *factor, int points, const char *f, ...)
    __attribute__((format(printf, 4, 5)));

static void contrib(struct fs_contribution *c, const char *factor, int points, const char *f, ...)
{
    c->factor = factor;
    c->points = points;
    va_list ap;
    va_start(ap, f);
    if (vsnprintf(c->detail, sizeof(c->detail), f, ap) >= (int)sizeof(c->detail))
        fs_utf8_cut(c->detail);
    va_end(ap);
}

static void verdict(struct fs_rule_verdict *v, bool matched, const char *f, ...)
    __attribute__((format(printf, 3, 4)));

static void verdict(struct fs_rule_verdict *v, bool matched, const char *f, ...)
{
    v->matched = matched;
    va_list ap;
    va_start(ap, f);
    if (vsnprintf(v->detail, sizeof(v->detail), f, ap) >= (int)sizeof(v->detail))
        fs_utf8_cut(v->detail);
    va_end(ap);
}

/* Points for n dependents at per each, capped; the detail says how it was reached. */
static int dependents_points(int64_t n, int per, int max, char *detail, size_t size)
{
    if (n <= 0) {
        fs_strlcpy(detail, "no dependents", size);
        return 0;
    }
    int64_t capped_n = n > 1000000 ? 1000000 : n; /* no overflow; the cap applies anyway */
    int64_t raw = capped_n * per;
    if (raw > max) {
        fmt(detail, size, "%" PRId64 " dependent%s x %d = %" PRId64 ", capped at %d", n,
            n == 1 ? "" : "s", per, raw, max);
        return max;
    }
    fmt(detail, size, "%" PRId64 " dependent%s x %d", n, n == 1 ? "" : "s", per);
    return (int)raw;
}

static int clamp100(int v)
{
    return v < 0 ? 0 : v > 100 ? 100 : v;
}

/* ---- scores ----------------------------------------------------------------------------- */

static void risk_score(const struct fs_policy *p, const struct fs_action *a,
                       const struct fs_proposal *in, struct fs_gate_result *r)
{
    struct fs_contribution *c = r->contrib;
    char d[160];
    if (a)
        contrib(&c[0], "baseline", a->baseline_risk, "baseline_risk of %s", a->name);
    else
        contrib(&c[0], "baseline", 0, "unknown action %s: no baseline", in->action);

    if (in->t.env && strcmp(in->t.env, "production") == 0)
        contrib(&c[1], "production", p->scores.production, "target env is production");
    else if (in->t.env)
        contrib(&c[1], "production", 0, "target env is %s, not production", in->t.env);
    else
        contrib(&c[1], "production", 0, "target env is not given");

    int dp = dependents_points(in->context.dependents, p->scores.per_dependent,
                               p->scores.dependents_max, d, sizeof(d));
    contrib(&c[2], "dependents", dp, "%s", d);

    if (strcmp(in->incident.severity, "critical") == 0)
        contrib(&c[3], "critical", p->scores.critical, "incident severity is critical");
    else
        contrib(&c[3], "critical", 0, "incident severity is %s, not critical",
                in->incident.severity);

    if (!a)
        contrib(&c[4], "irreversible", 0, "unknown action: reversibility unknown");
    else if (a->reversible == FS_REV_NO)
        contrib(&c[4], "irreversible", p->scores.irreversible, "%s is not reversible", a->name);
    else if (a->reversible == FS_REV_NOTIFICATION)
        contrib(&c[4], "irreversible", 0, "%s only notifies (no state changes)", a->name);
    else
        contrib(&c[4], "irreversible", 0, "%s is reversible", a->name);

    if (in->context.failures_24h > 0)
        contrib(&c[5], "recent_failure", p->scores.recent_failure,
                "failed %" PRId64 " time%s on this target in the last 24 h",
                in->context.failures_24h, in->context.failures_24h == 1 ? "" : "s");
    else
        contrib(&c[5], "recent_failure", 0, "no failure on this target in the last 24 h");

    int sum = 0;
    for (int i = 0; i < FS_GATE_CONTRIBUTIONS; i++)
        sum += c[i].points;
    r->score = clamp100(sum);
    r->level = fs_policy_level(p, r->score);
}

static int weight_of(const json_t *weights, const char *key, int unknown, bool *known)
{
    const json_t *w = key ? json_object_get(weights, key) : NULL;
    *known = w != NULL;
    return w ? (int)json_integer_value(w) : unknown;
}

static void incident_score(const struct fs_policy *p, const struct fs_proposal *in,
                           struct fs_gate_result *r)
{
    struct fs_contribution *c = r->incident_contrib;
    char d[160];
    bool known;
    const char *rc = in->t.resource_class;
    int w = weight_of(p->incident_risk.resource_class, rc, p->incident_risk.resource_class_unknown,
                      &known);
    if (known)
        contrib(&c[0], "resource_class", w, "resource class %s", rc);
    else if (rc)
        contrib(&c[0], "resource_class", w,
                "resource class %s is not listed: weight of an "
                "unknown class",
                rc);
    else
        contrib(&c[0], "resource_class", w,
                "no resource class given: weight of an unknown "
                "class");
    w = weight_of(p->incident_risk.severity, in->incident.severity,
                  p->incident_risk.severity_unknown, &known);
    if (known)
        contrib(&c[1], "severity", w, "incident severity %s", in->incident.severity);
    else
        contrib(&c[1], "severity", w,
                "incident severity %s is not listed: weight of an unknown "
                "severity",
                in->incident.severity);
    int dp = dependents_points(in->context.dependents, p->incident_risk.per_dependent,
                               p->incident_risk.dependents_max, d, sizeof(d));
    contrib(&c[2], "dependents", dp, "%s", d);
    int sum = c[0].points + c[1].points + c[2].points;
    r->incident_score = clamp100(sum);
    r->incident_level = fs_policy_level(p, r->incident_score);
}

/* ---- rule 2: validity and scope --------------------------------------------------------- */

static bool check_scope(const struct fs_proposal *in, char *detail, size_t size)
{
    char list[120];
    const char *host = in->t.host, *svc = in->t.service, *wl = in->t.workload;
    if (!host && !svc && !wl) {
        fmt(detail, size,
            "the target names no host, service or workload, so it cannot be "
            "checked against the incident's scope");
        return false;
    }
    if (host && !strs_has(&in->incident.hosts, host)) {
        strs_join(list, sizeof(list), &in->incident.hosts);
        fmt(detail, size, "target host %s is outside the incident's scope (hosts: %s)", host, list);
        return false;
    }
    if (svc && !strs_has(&in->incident.services, svc)) {
        strs_join(list, sizeof(list), &in->incident.services);
        fmt(detail, size, "target service %s is outside the incident's scope (services: %s)", svc,
            list);
        return false;
    }
    if (wl) {
        bool ok = strs_has(&in->incident.workloads, wl);
        const char *ns = in->t.namespace;
        size_t nl = ns ? strlen(ns) : 0, wll = strlen(wl);
        for (size_t i = 0; ns && !ok && i < in->incident.workloads.n; i++) {
            const char *s = in->incident.workloads.v[i];
            ok = strlen(s) == nl + 1 + wll && memcmp(s, ns, nl) == 0 && s[nl] == '/' &&
                 memcmp(s + nl + 1, wl, wll) == 0;
        }
        if (!ok) {
            strs_join(list, sizeof(list), &in->incident.workloads);
            fmt(detail, size,
                "target workload %s%s%s is outside the incident's scope "
                "(workloads: %s)",
                ns ? ns : "", ns ? "/" : "", wl, list);
            return false;
        }
    }
    return true;
}

static void rule_invalid(const struct fs_proposal *in, const struct fs_action *a,
                         struct fs_rule_verdict *v)
{
    char d[sizeof(v->detail)];
    if (!a) {
        verdict(v, true, "unknown action %s: not in the catalog", in->action);
        return;
    }
    struct fs_err e;
    e.path[0] = e.msg[0] = '\0';
    if (fs_action_check_params(a, in->params, NULL, &e) < 0) {
        if (e.path[0] && strncmp(e.msg, e.path, strlen(e.path)) != 0)
            verdict(v, true, "params not valid for %s: %s: %s", a->name, e.path, e.msg);
        else
            verdict(v, true, "params not valid for %s: %s", a->name, e.msg);
        return;
    }
    if (!check_scope(in, d, sizeof(d))) {
        verdict(v, true, "%s", d);
        return;
    }
    verdict(v, false,
            "%s is in the catalog, its params are valid and the target is within the "
            "incident's scope",
            a->name);
}

/* ---- rule 3: forbidden patterns --------------------------------------------------------- */

struct scan {
    const struct fs_policy *p;
    pcre2_match_data *md;
    char path[128];
    const char *pattern; /* the pattern that matched, or NULL */
    const char *problem; /* why a string could not be checked, or NULL */
};

/* Path "params.a[2].b" grows in place; *len is restored by the caller. */
static size_t path_push_key(struct scan *s, size_t len, const char *key)
{
    size_t kl = strlen(key);
    if (len + 1 + kl + 1 > sizeof(s->path))
        kl = sizeof(s->path) > len + 2 ? sizeof(s->path) - len - 2 : 0;
    if (len + 1 + kl + 1 > sizeof(s->path))
        return len;
    s->path[len] = '.';
    memcpy(s->path + len + 1, key, kl);
    s->path[len + 1 + kl] = '\0';
    fs_utf8_cut(s->path); /* a key cut to fit keeps whole characters */
    return strlen(s->path);
}

static size_t path_push_index(struct scan *s, size_t len, size_t i)
{
    int n = snprintf(s->path + len, sizeof(s->path) - len, "[%zu]", i);
    if (n < 0 || (size_t)n >= sizeof(s->path) - len) {
        s->path[len] = '\0';
        return len;
    }
    return len + (size_t)n;
}

/* True when the string matches a forbidden pattern or cannot be checked (fail closed). */
static bool scan_str(struct scan *s, const char *str, size_t len)
{
    for (size_t i = 0; i < s->p->nforbidden; i++) {
        const struct fs_policy_pattern *pat = &s->p->forbidden[i];
        int rc = pcre2_match(pat->re, (PCRE2_SPTR)str, len, 0, 0, s->md, s->p->match_ctx);
        if (rc == PCRE2_ERROR_NOMATCH)
            continue;
        s->pattern = pat->source;
        if (rc < 0)
            s->problem = rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT
                             ? "the match limit was reached"
                             : "the string could not be matched";
        return true;
    }
    return false;
}

static bool scan_value(struct scan *s, const json_t *v, size_t len, int depth)
{
    if (depth > SCAN_MAX_DEPTH) {
        s->problem = "params are nested too deeply to check";
        return true;
    }
    switch (json_typeof(v)) {
    case JSON_STRING: return scan_str(s, json_string_value(v), json_string_length(v));
    case JSON_OBJECT: {
        const char *key;
        json_t *x;
        json_object_foreach((json_t *)v, key, x)
        {
            size_t l2 = path_push_key(s, len, key);
            if (scan_str(s, key, strlen(key)) || scan_value(s, x, l2, depth + 1))
                return true;
            s->path[len] = '\0';
        }
        return false;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
        {
            size_t l2 = path_push_index(s, len, i);
            if (scan_value(s, x, l2, depth + 1))
                return true;
            s->path[len] = '\0';
        }
        return false;
    }
    default: return false;
    }
}

static void rule_forbidden(const struct fs_policy *p, const struct fs_proposal *in,
                           struct fs_rule_verdict *v)
{
    struct scan s = {.p = p};
    fs_strlcpy(s.path, "params", sizeof(s.path));
    if (p->nforbidden == 0) {
        verdict(v, false, "the policy lists no forbidden patterns");
        return;
    }
    if (!(s.md = fs_re_match_data())) {
        verdict(v, true,
                "params could not be checked against the forbidden patterns (out of "
                "memory)");
        return;
    }
    if (!in->params || !scan_value(&s, in->params, strlen(s.path), 0)) {
        verdict(v, false, "no string in params matches any of the %zu forbidden patterns",
                p->nforbidden);
        return;
    }
    if (s.problem && s.pattern)
        verdict(v, true, "%s could not be checked against forbidden pattern '%s' (%s)", s.path,
                s.pattern, s.problem);
    else if (s.problem)
        verdict(v, true, "%s: %s", s.path, s.problem);
    else
        verdict(v, true, "%s matches forbidden pattern '%s'", s.path, s.pattern);
}

/* ---- rule 4: deny ----------------------------------------------------------------------- */

static void rule_deny(const struct fs_policy *p, const struct fs_proposal *in,
                      const struct fs_match_subject *subj, struct fs_rule_verdict *v)
{
    for (size_t i = 0; i < p->ndeny; i++) {
        const struct fs_policy_deny *d = &p->deny[i];
        if (!fs_match_test(&d->match, subj))
            continue;
        bool listed = d->actions.n == 0;
        for (size_t j = 0; j < d->actions.n && !listed; j++)
            listed = strcmp(d->actions.v[j], in->action) == 0;
        if (!listed)
            continue;
        verdict(v, true, "deny[%zu] (line %d) blocks %s%s: %s", i, d->line, in->action,
                d->actions.n ? "" : " (every action it matches)",
                d->reason ? d->reason : "policy conflict");
        return;
    }
    verdict(v, false, "no deny rule matches (%zu rule%s)", p->ndeny, p->ndeny == 1 ? "" : "s");
}

/* ---- rule 6: evidence ------------------------------------------------------------------- */

static void rule_evidence(const struct fs_policy *p, const struct fs_proposal *in,
                          struct fs_rule_verdict *v)
{
    size_t contra = strs_distinct(&in->evidence.contradicting);
    if (contra > (size_t)p->evidence.max_contradicting) {
        verdict(v, true, "%zu contradicting observations (at most %d allowed)", contra,
                p->evidence.max_contradicting);
        return;
    }
    for (size_t i = 0; i < in->evidence.cited.n; i++)
        if (!strs_has(&in->evidence.trace, in->evidence.cited.v[i])) {
            verdict(v, true, "cited observation %s is not in the trace (fabricated evidence)",
                    in->evidence.cited.v[i]);
            return;
        }
    size_t cited = strs_distinct(&in->evidence.cited);
    if (cited < (size_t)p->evidence.min_cited) {
        verdict(v, true, "%zu cited observation%s (at least %d required)", cited,
                cited == 1 ? "" : "s", p->evidence.min_cited);
        return;
    }
    verdict(v, false, "%zu cited observation%s, all in the trace; %zu contradicting (at most %d)",
            cited, cited == 1 ? "" : "s", contra, p->evidence.max_contradicting);
}

/* ---- rule 10: approval ------------------------------------------------------------------ */

static void describe_values(char *out, size_t size, size_t *n, const char *key,
                            const struct fs_match_values *mv)
{
    if (mv->n == 0 || *n + 8 >= size)
        return;
    *n += (size_t)snprintf(out + *n, size - *n, "%s%s ", *n ? ", " : "", key);
    for (size_t i = 0; i < mv->n && *n < size; i++)
        *n += (size_t)snprintf(out + *n, size - *n, "%s%s", i ? "|" : "", mv->v[i]);
    if (*n >= size)
        *n = size - 1;
}

static void describe_match(char *out, size_t size, const struct fs_match *m)
{
    size_t n = 0;
    out[0] = '\0';
    describe_values(out, size, &n, "category", &m->category);
    describe_values(out, size, &n, "action", &m->action);
    describe_values(out, size, &n, "service", &m->service);
    describe_values(out, size, &n, "env", &m->env);
    describe_values(out, size, &n, "host", &m->host);
    describe_values(out, size, &n, "severity", &m->severity);
    if (n == 0)
        fs_strlcpy(out, "anything", size);
}

static void rule_approval(const struct fs_policy *p, const struct fs_action *a,
                          const struct fs_match_subject *subj, const struct fs_gate_result *r,
                          struct fs_rule_verdict *v)
{
    char d[sizeof(v->detail)], m[120];
    size_t n = 0;
    d[0] = '\0';
    for (size_t i = 0; i < p->nrequire; i++)
        if (fs_match_test(&p->require_approval[i], subj)) {
            describe_match(m, sizeof(m), &p->require_approval[i]);
            n += (size_t)snprintf(d + n, sizeof(d) - n,
                                  "category %s needs approval "
                                  "(require_approval[%zu]: %s)",
                                  or_none(subj->category), i, m);
            break;
        }
    if (a && a->tier >= p->approval_tier && n < sizeof(d))
        n += (size_t)snprintf(d + n, sizeof(d) - n, "%stier %d >= approval_tier %d", n ? "; " : "",
                              a->tier, p->approval_tier);
    if (r->incident_level >= p->approval_incident_risk && n < sizeof(d))
        n += (size_t)snprintf(d + n, sizeof(d) - n, "%sincident risk %s (%d) >= %s", n ? "; " : "",
                              fs_level_name(r->incident_level), r->incident_score,
                              fs_level_name(p->approval_incident_risk));
    if (n) {
        verdict(v, true, "%s", d);
        return;
    }
    if (a)
        verdict(v, false,
                "category %s needs no approval here, tier %d < %d, incident risk %s "
                "(%d) < %s",
                or_none(subj->category), a->tier, p->approval_tier,
                fs_level_name(r->incident_level), r->incident_score,
                fs_level_name(p->approval_incident_risk));
    else
        verdict(v, false, "unknown action (no category or tier); incident risk %s (%d) < %s",
                fs_level_name(r->incident_level), r->incident_score,
                fs_level_name(p->approval_incident_risk));
}

/* ---- the decision ----------------------------------------------------------------------- */

static const enum fs_decision rule_decision[FS_GATE_RULES] = {
    FS_DEC_BLOCKED,        FS_DEC_BLOCKED,        FS_DEC_BLOCKED,
    FS_DEC_BLOCKED,        FS_DEC_BLOCKED,        FS_DEC_BLOCKED,
    FS_DEC_BLOCKED,        FS_DEC_SHADOW,         FS_DEC_NEEDS_FORCE_OVERRIDE,
    FS_DEC_NEEDS_APPROVAL, FS_DEC_NEEDS_APPROVAL, FS_DEC_NEEDS_APPROVAL,
    FS_DEC_EXECUTE,
};

void fs_gate_decide(const struct fs_policy *p, const struct fs_catalog *c,
                    const struct fs_proposal *in, struct fs_gate_result *out)
{
    struct fs_gate_result *r = out;
    /* a proposal filled by hand rather than by the parser may leave these out */
    struct fs_proposal filled;
    if (!in->action || !in->incident.severity) {
        filled = *in;
        if (!filled.action)
            filled.action = "";
        if (!filled.incident.severity)
            filled.incident.severity = "warning";
        in = &filled;
    }
    const struct fs_action *a = c ? fs_catalog_find(c, in->action) : NULL;
    r->action = a;
    for (int i = 0; i < FS_GATE_RULES; i++) {
        r->rules[i].rule = i + 1;
        r->rules[i].name = rule_names[i];
    }
    struct fs_match_subject subj = {
        .service = in->t.service,
        .env = in->t.env,
        .severity = in->incident.severity,
        .host = in->t.host,
        .action = in->action,
        .category = a ? a->category : NULL,
    };
    risk_score(p, a, in, r);
    incident_score(p, in, r);

    /* the effective mode */
    if (in->context.has_mode) {
        r->mode = in->context.mode;
        fs_strlcpy(r->mode_source, "context", sizeof(r->mode_source));
    } else {
        int idx;
        r->mode = fs_policy_mode_for(p, &subj, &idx);
        if (idx >= 0)
            fmt(r->mode_source, sizeof(r->mode_source), "policy modes[%d] (line %d)", idx,
                p->modes[idx].line);
        else
            fs_strlcpy(r->mode_source, "policy default", sizeof(r->mode_source));
    }

    struct fs_rule_verdict *v = r->rules;
    /* 1 */
    if (in->context.frozen)
        verdict(&v[0], true, "the kill switch is on: nothing runs");
    else
        verdict(&v[0], false, "the kill switch is off");
    /* 2, 3, 4 */
    rule_invalid(in, a, &v[1]);
    rule_forbidden(p, in, &v[2]);
    rule_deny(p, in, &subj, &v[3]);
    /* 5 */
    if (in->context.change_freeze)
        verdict(&v[4], true, "the target is inside an active change freeze");
    else
        verdict(&v[4], false, "no active change freeze on the target");
    /* 6 */
    rule_evidence(p, in, &v[5]);
    /* 7 */
    int64_t ex = in->context.executions_1h;
    int lim = p->rate_limit_per_action_target_per_hour;
    verdict(&v[6], ex >= lim,
            "%" PRId64 " execution%s of %s on this target in the last hour (limit %d%s)", ex,
            ex == 1 ? "" : "s", in->action, lim, ex >= lim ? " reached" : "");
    /* 8 */
    if (r->mode == FS_MODE_SHADOW)
        verdict(&v[7], true, "mode shadow (%s): recorded, never executed", r->mode_source);
    else
        verdict(&v[7], false, "mode %s (%s), not shadow", fs_mode_name(r->mode), r->mode_source);
    /* 9 */
    bool force = false;
    for (size_t i = 0; i < p->force_override_severities.n && !force; i++)
        force = strcmp(p->force_override_severities.v[i], in->incident.severity) == 0;
    if (force)
        verdict(&v[8], true,
                "incident severity %s needs FORCE_OVERRIDE (a plain approval is "
                "refused)",
                in->incident.severity);
    else
        verdict(&v[8], false, "incident severity %s does not need FORCE_OVERRIDE",
                in->incident.severity);
    /* 10 */
    rule_approval(p, a, &subj, r, &v[9]);
    /* 11 */
    if (r->score > p->threshold)
        verdict(&v[10], true, "risk score %d > threshold %d", r->score, p->threshold);
    else
        verdict(&v[10], false, "risk score %d <= threshold %d", r->score, p->threshold);
    /* 12 */
    if (r->mode == FS_MODE_SUPERVISED)
        verdict(&v[11], true, "mode supervised (%s): a human approves every action",
                r->mode_source);
    else
        verdict(&v[11], false, "mode %s (%s), not supervised", fs_mode_name(r->mode),
                r->mode_source);

    r->rule = R_DEFAULT;
    for (int i = 0; i < FS_GATE_RULES - 1; i++)
        if (v[i].matched) {
            r->rule = i + 1;
            break;
        }
    /* 13 */
    if (r->rule == R_DEFAULT)
        verdict(&v[12], true, "no earlier rule applies: execute");
    else
        verdict(&v[12], false, "not reached: rule %d %s decided", r->rule, rule_names[r->rule - 1]);
    r->decision = rule_decision[r->rule - 1];
}

/* ---- output ----------------------------------------------------------------------------- */

static json_t *contribs_json(const struct fs_contribution *c, int n)
{
    json_t *arr = json_array();
    for (int i = 0; arr && i < n; i++)
        if (json_array_append_new(arr, json_pack("{s:s, s:i, s:s}", "factor", c[i].factor, "points",
                                                 c[i].points, "detail", c[i].detail)) < 0) {
            json_decref(arr);
            return NULL;
        }
    return arr;
}

static const char *reversible_name(enum fs_reversible r)
{
    switch (r) {
    case FS_REV_NO: return "no";
    case FS_REV_YES: return "yes";
    case FS_REV_NOTIFICATION: return "notification";
    }
    return "?";
}

json_t *fs_gate_result_json(const struct fs_gate_result *r, const struct fs_policy *p,
                            const struct fs_catalog *c)
{
    json_t *reasons = json_array(), *rules = json_array(), *action;
    if (!reasons || !rules)
        goto fail;
    for (int i = 0; i < FS_GATE_RULES; i++) {
        const struct fs_rule_verdict *v = &r->rules[i];
        if (v->matched && json_array_append_new(reasons, json_string(v->detail)) < 0)
            goto fail;
        if (json_array_append_new(rules, json_pack("{s:i, s:s, s:b, s:s}", "rule", v->rule, "name",
                                                   v->name, "matched", v->matched, "detail",
                                                   v->detail)) < 0)
            goto fail;
    }
    const struct fs_action *a = r->action;
    action = a ? json_pack("{s:s, s:s?, s:i, s:i, s:s}", "name", a->name, "category", a->category,
                           "tier", a->tier, "baseline_risk", a->baseline_risk, "reversible",
                           reversible_name(a->reversible))
               : json_null();
    return json_pack(
        "{s:s, s:i, s:s, s:{s:i, s:s, s:o}, s:{s:i, s:s, s:o}, s:o, s:o, s:{s:s, s:s}, s:o, "
        "s:s?, s:s?}",
        "decision", fs_decision_name(r->decision), "rule", r->rule, "rule_name",
        rule_names[r->rule - 1], "risk", "score", r->score, "level", fs_level_name(r->level),
        "contributions", contribs_json(r->contrib, FS_GATE_CONTRIBUTIONS), "incident_risk", "score",
        r->incident_score, "level", fs_level_name(r->incident_level), "contributions",
        contribs_json(r->incident_contrib, FS_GATE_INCIDENT_CONTRIBUTIONS), "reasons", reasons,
        "rules", rules, "mode", "mode", fs_mode_name(r->mode), "source", r->mode_source, "action",
        action, "policy_version", p ? p->version : NULL, "catalog_version", c ? c->version : NULL);
fail:
    json_decref(reasons);
    json_decref(rules);
    return NULL;
}

int fs_gate_result_text(const struct fs_gate_result *r, const struct fs_policy *p, struct fs_buf *b)
{
    int rc = 0;
#define OUT(call)                                                                                  \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        if (rc_ < 0 && rc == 0)                                                                    \
            rc = rc_;                                                                              \
    } while (0)
    const struct fs_action *a = r->action;
    OUT(fs_buf_printf(b, "decision: %s (rule %d %s)\n", fs_decision_name(r->decision), r->rule,
                      rule_names[r->rule - 1]));
    OUT(fs_buf_printf(b, "because:  %s\n", r->rules[r->rule - 1].detail));
    if (a)
        OUT(fs_buf_printf(b, "action:   %s (category %s, tier %d, baseline %d, reversible %s)\n",
                          a->name, or_none(a->category), a->tier, a->baseline_risk,
                          reversible_name(a->reversible)));
    else
        OUT(fs_buf_printf(b, "action:   unknown\n"));
    OUT(fs_buf_printf(b, "mode:     %s (%s)\n", fs_mode_name(r->mode), r->mode_source));
    int sum = 0;
    for (int i = 0; i < FS_GATE_CONTRIBUTIONS; i++)
        sum += r->contrib[i].points;
    OUT(fs_buf_printf(b, "\nrisk score %d %s", r->score, fs_level_name(r->level)));
    if (sum != r->score)
        OUT(fs_buf_printf(b, " (sum %d, clamped to 0-100)", sum));
    OUT(fs_buf_puts(b, "\n"));
    for (int i = 0; i < FS_GATE_CONTRIBUTIONS; i++)
        OUT(fs_buf_printf(b, "  %+4d  %-15s %s\n", r->contrib[i].points, r->contrib[i].factor,
                          r->contrib[i].detail));
    OUT(fs_buf_printf(b, "\nincident risk %d %s\n", r->incident_score,
                      fs_level_name(r->incident_level)));
    for (int i = 0; i < FS_GATE_INCIDENT_CONTRIBUTIONS; i++)
        OUT(fs_buf_printf(b, "  %+4d  %-15s %s\n", r->incident_contrib[i].points,
                          r->incident_contrib[i].factor, r->incident_contrib[i].detail));
    OUT(fs_buf_puts(b, "\nrules ([x] matched, [ ] did not; the first match decides)\n"));
    for (int i = 0; i < FS_GATE_RULES; i++) {
        const struct fs_rule_verdict *v = &r->rules[i];
        OUT(fs_buf_printf(b, "  [%c] %2d %-18s %s%s\n", v->matched ? 'x' : ' ', v->rule, v->name,
                          v->detail, v->rule == r->rule ? "   <== decides" : ""));
    }
    OUT(fs_buf_puts(b, "\nreasons\n"));
    for (int i = 0; i < FS_GATE_RULES; i++)
        if (r->rules[i].matched)
            OUT(fs_buf_printf(b, "  - %s\n", r->rules[i].detail));
    if (p)
        OUT(fs_buf_printf(b, "\npolicy %s from %s\n", p->version, p->source));
#undef OUT
    return rc;
}
