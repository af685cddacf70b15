/* Unit tests for the gate: the table cases in tests/cases/gate (every rule, every score
 * contribution, precedence) run through fs_policy_test_dir against the default policy and
 * catalog; then what the tables cannot say: exact ties at every threshold (with a test catalog
 * and policy), mode resolution, the JSON shape and text explanation, determinism across
 * threads, proposal parse errors with their paths, and the policy test runner's own errors. */
#include "unit.h"

#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fault.h"
#include "safety/catalog.h"
#include "safety/gate.h"
#include "safety/policy.h"
#include "safety/policytest.h"

static struct fs_policy *policy;
static struct fs_catalog *catalog;
static char tmpdir[] = "/tmp/fs-gate-XXXXXX";

static int setup(void **state)
{
    struct fs_err err;
    struct fs_buf diag = FS_BUF_INIT(0);
    if (fs_policy_load(NULL, &policy, &diag, &err) < 0 ||
        fs_catalog_load(NULL, &catalog, &diag, &err) < 0) {
        fprintf(stderr, "cannot load the defaults: %s\n%s", err.msg, fs_buf_str(&diag));
        return -1;
    }
    fs_buf_release(&diag);
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    fs_policy_free(policy);
    fs_catalog_free(catalog);
    return 0;
}

static const char *cases_dir(void)
{
    const char *src = getenv("FORESTALL_SRCDIR");
    static char dir[512];
    snprintf(dir, sizeof(dir), "%s/tests/cases/gate", src ? src : ".");
    return dir;
}

/* Decide a proposal given as JSON text; fails the test when it does not parse. */
static void decide_with(const struct fs_policy *p, const struct fs_catalog *c, const char *json,
                        struct fs_gate_result *r)
{
    struct fs_proposal in;
    struct fs_err err;
    if (fs_proposal_parse(json, strlen(json), &in, &err) < 0)
        fail_msg("proposal does not parse: %s\n%s", err.msg, json);
    fs_gate_decide(p, c, &in, r);
    fs_proposal_release(&in);
}

static void decide(const char *json, struct fs_gate_result *r)
{
    decide_with(policy, catalog, json, r);
}

/* A proposal that passes every rule and executes; fragments replace parts of it. */
#define P_BEGIN "{\"action\":\"journal_vacuum\",\"params\":{\"max_size\":\"1G\"},"
#define P_TARGET                                                                                   \
    "\"target\":{\"host\":\"web-1\",\"service\":\"monitoring\",\"env\":\"staging\","               \
    "\"resource_class\":\"application\"},"
#define P_INCIDENT                                                                                 \
    "\"incident\":{\"id\":\"inc-1\",\"severity\":\"warning\",\"scope\":{\"hosts\":[\"web-1\"],"    \
    "\"services\":[\"monitoring\"]}},"
#define P_EVIDENCE "\"evidence\":{\"cited\":[\"obs-1\"],\"trace\":[\"obs-1\",\"obs-2\"]}"
#define P_END "}"
static const char *const good = P_BEGIN P_TARGET P_INCIDENT P_EVIDENCE P_END;

/* ---- the table cases -------------------------------------------------------------------- */

static void test_case_files(void **state)
{
    struct fs_buf out = FS_BUF_INIT(0);
    struct fs_policy_test_report rep;
    struct fs_err err;
    int rc = fs_policy_test_dir(cases_dir(), policy, catalog, false, &out, &rep, &err);
    if (rc < 0)
        fail_msg("%s: %s\n%s", cases_dir(), err.msg, fs_buf_str(&out));
    printf("gate cases: %d files, %d cases, %d passed, %d failed\n", rep.files, rep.cases,
           rep.passed, rep.failed);
    if (rep.failed)
        fail_msg("%d gate case(s) failed:\n%s", rep.failed, fs_buf_str(&out));
    assert_true(rep.files >= 13);
    assert_true(rep.cases >= 80);
    assert_int_equal(rep.passed, rep.cases);
    fs_buf_release(&out);
}

/* Each of the 13 rules decides at least one proposal (the YAML files have more). */
static void test_every_rule_decides(void **state)
{
    static const char *const props[FS_GATE_RULES] = {
        P_BEGIN P_TARGET P_INCIDENT P_EVIDENCE ",\"context\":{\"frozen\":true}" P_END,
        "{\"action\":\"nope\"," P_TARGET P_INCIDENT P_EVIDENCE P_END,
        "{\"action\":\"page_oncall\",\"params\":{\"summary\":\"mkfs /dev/sda\"}," P_TARGET
            P_INCIDENT P_EVIDENCE P_END,
        "{\"action\":\"package_upgrade\",\"params\":{\"package\":\"vim\"},\"target\":{\"host\":"
        "\"web-1\",\"env\":\"production\"},\"incident\":{\"severity\":\"critical\",\"scope\":{"
        "\"hosts\":[\"web-1\"]}}," P_EVIDENCE P_END,
        P_BEGIN P_TARGET P_INCIDENT P_EVIDENCE ",\"context\":{\"change_freeze\":true}" P_END,
        P_BEGIN P_TARGET P_INCIDENT
        "\"evidence\":{\"cited\":[\"obs-3\"],\"trace\":[\"obs-1\"]}" P_END,
        P_BEGIN P_TARGET P_INCIDENT P_EVIDENCE ",\"context\":{\"executions_1h\":3}" P_END,
        P_BEGIN P_TARGET P_INCIDENT P_EVIDENCE ",\"context\":{\"mode\":\"shadow\"}" P_END,
        P_BEGIN P_TARGET "\"incident\":{\"severity\":\"critical\",\"scope\":{\"hosts\":[\"web-1\"],"
                         "\"services\":[\"monitoring\"]}}," P_EVIDENCE P_END,
        "{\"action\":\"cert_renew\",\"params\":{\"name\":\"www\"}," P_TARGET P_INCIDENT P_EVIDENCE
            P_END,
        "{\"action\":\"reroute_model_group\",\"params\":{\"model_group\":\"chat\","
        "\"to_provider\":\"b\"}," P_TARGET P_INCIDENT P_EVIDENCE ",\"context\":{"
        "\"failures_24h\":1}" P_END,
        P_BEGIN P_TARGET P_INCIDENT P_EVIDENCE ",\"context\":{\"mode\":\"supervised\"}" P_END,
        good,
    };
    static const enum fs_decision want[FS_GATE_RULES] = {
        FS_DEC_BLOCKED,        FS_DEC_BLOCKED,        FS_DEC_BLOCKED,
        FS_DEC_BLOCKED,        FS_DEC_BLOCKED,        FS_DEC_BLOCKED,
        FS_DEC_BLOCKED,        FS_DEC_SHADOW,         FS_DEC_NEEDS_FORCE_OVERRIDE,
        FS_DEC_NEEDS_APPROVAL, FS_DEC_NEEDS_APPROVAL, FS_DEC_NEEDS_APPROVAL,
        FS_DEC_EXECUTE,
    };
    for (int i = 0; i < FS_GATE_RULES; i++) {
        struct fs_gate_result r;
        decide(props[i], &r);
        if (r.rule != i + 1 || r.decision != want[i])
            fail_msg("proposal %d: expected rule %d (%s), got rule %d %s: %s", i, i + 1,
                     fs_decision_name(want[i]), r.rule, fs_decision_name(r.decision),
                     r.rules[r.rule - 1].detail);
        assert_true(r.rules[i].matched);
        for (int k = 0; k < i; k++)
            assert_false(r.rules[k].matched);
    }
}

/* ---- scores ----------------------------------------------------------------------------- */

static void test_contributions_always_listed(void **state)
{
    struct fs_gate_result r;
    decide("{\"action\":\"package_cache_clean\"," P_TARGET P_INCIDENT P_EVIDENCE P_END, &r);
    static const char *const factors[] = {"baseline", "production",   "dependents",
                                          "critical", "irreversible", "recent_failure"};
    for (int i = 0; i < FS_GATE_CONTRIBUTIONS; i++) {
        assert_string_equal(r.contrib[i].factor, factors[i]);
        assert_true(strlen(r.contrib[i].detail) > 5);
    }
    assert_int_equal(r.contrib[0].points, 5);
    assert_string_equal(r.contrib[0].detail, "baseline_risk of package_cache_clean");
    assert_int_equal(r.contrib[1].points, 0);
    assert_string_equal(r.contrib[1].detail, "target env is staging, not production");
    assert_int_equal(r.contrib[2].points, 0);
    assert_string_equal(r.contrib[2].detail, "no dependents");
    assert_int_equal(r.contrib[3].points, 0);
    assert_string_equal(r.contrib[3].detail, "incident severity is warning, not critical");
    assert_int_equal(r.contrib[4].points, 0);
    assert_string_equal(r.contrib[4].detail, "package_cache_clean is reversible");
    assert_int_equal(r.contrib[5].points, 0);
    assert_string_equal(r.contrib[5].detail, "no failure on this target in the last 24 h");
    assert_int_equal(r.score, 5);
    static const char *const ifactors[] = {"resource_class", "severity", "dependents"};
    for (int i = 0; i < FS_GATE_INCIDENT_CONTRIBUTIONS; i++)
        assert_string_equal(r.incident_contrib[i].factor, ifactors[i]);
    assert_string_equal(r.incident_contrib[0].detail, "resource class application");
    assert_int_equal(r.incident_contrib[1].points, 10);

    /* every factor on */
    decide("{\"action\":\"journal_vacuum\",\"params\":{\"max_size\":\"1G\"},\"target\":{\"host\":"
           "\"db-1\",\"env\":\"production\",\"resource_class\":\"database\"},\"incident\":{"
           "\"severity\":\"critical\",\"scope\":{\"hosts\":[\"db-1\"]}}," P_EVIDENCE
           ",\"context\":{\"dependents\":7,\"failures_24h\":1}}",
           &r);
    int want[] = {5, 15, 25, 20, 15, 20};
    for (int i = 0; i < FS_GATE_CONTRIBUTIONS; i++)
        assert_int_equal(r.contrib[i].points, want[i]);
    assert_string_equal(r.contrib[2].detail, "7 dependents x 5 = 35, capped at 25");
    assert_string_equal(r.contrib[4].detail, "journal_vacuum is not reversible");
    assert_string_equal(r.contrib[5].detail, "failed 1 time on this target in the last 24 h");
    assert_int_equal(r.score, 100);
    assert_int_equal(r.level, FS_LEVEL_HIGH);
    assert_int_equal(r.incident_score, 20 + 30 + 30);
    assert_string_equal(r.incident_contrib[2].detail, "7 dependents x 5 = 35, capped at 30");

    /* notification: no irreversibility penalty; unknown action: no baseline */
    decide("{\"action\":\"page_oncall\",\"params\":{\"summary\":\"x\"}," P_TARGET P_INCIDENT
               P_EVIDENCE P_END,
           &r);
    assert_int_equal(r.contrib[4].points, 0);
    assert_string_equal(r.contrib[4].detail, "page_oncall only notifies (no state changes)");
    decide("{\"action\":\"make_coffee\",\"target\":{\"host\":\"web-1\",\"env\":\"production\"},"
           "\"context\":{\"dependents\":1}}",
           &r);
    assert_null(r.action);
    assert_int_equal(r.contrib[0].points, 0);
    assert_string_equal(r.contrib[0].detail, "unknown action make_coffee: no baseline");
    assert_int_equal(r.score, 20);
    assert_int_equal(r.rule, 2);
    assert_string_equal(r.incident_contrib[0].detail,
                        "no resource class given: weight of an unknown class");
}

/* A catalog with one action per baseline of interest (reversible, tier 1, cache_cleanup:
 * score = baseline in staging), and a policy with odd resource-class weights. */
static const char *const tie_catalog =
    "version: ties\n"
    "actions:\n"
    "  - {name: b29, description: tie, category: cache_cleanup, tier: 1, baseline_risk: 29,\n"
    "     reversible: true, idempotent: absolute, targets: {local: {argv: ['true']}}}\n"
    "  - {name: b30, description: tie, category: cache_cleanup, tier: 1, baseline_risk: 30,\n"
    "     reversible: true, idempotent: absolute, targets: {local: {argv: ['true']}}}\n"
    "  - {name: b40, description: tie, category: cache_cleanup, tier: 1, baseline_risk: 40,\n"
    "     reversible: true, idempotent: absolute, targets: {local: {argv: ['true']}}}\n"
    "  - {name: b41, description: tie, category: cache_cleanup, tier: 1, baseline_risk: 41,\n"
    "     reversible: true, idempotent: absolute, targets: {local: {argv: ['true']}}}\n"
    "  - {name: b59, description: tie, category: cache_cleanup, tier: 1, baseline_risk: 59,\n"
    "     reversible: true, idempotent: absolute, targets: {local: {argv: ['true']}}}\n"
    "  - {name: b60, description: tie, category: cache_cleanup, tier: 1, baseline_risk: 60,\n"
    "     reversible: true, idempotent: absolute, targets: {local: {argv: ['true']}}}\n"
    "  - {name: b96, description: tie, category: cache_cleanup, tier: 0, baseline_risk: 96,\n"
    "     reversible: false, idempotent: absolute, targets: {local: {argv: ['true']}}}\n";

static const char *const tie_policy = "incident_risk:\n  resource_class: {r19: 19, r20: 20}\n";

static void tie_case(const struct fs_policy *p, const struct fs_catalog *c, const char *action,
                     const char *rclass, int score, enum fs_level level, int iscore,
                     enum fs_level ilevel, enum fs_decision d, int rule)
{
    char json[600];
    snprintf(json, sizeof(json),
             "{\"action\":\"%s\",\"target\":{\"host\":\"h\",\"env\":\"staging\","
             "\"resource_class\":\"%s\"},\"incident\":{\"scope\":{\"hosts\":[\"h\"]}},"
             "\"evidence\":{\"cited\":[\"o\"],\"trace\":[\"o\"]}}",
             action, rclass);
    struct fs_gate_result r;
    decide_with(p, c, json, &r);
    if (r.score != score || r.level != level || r.incident_score != iscore ||
        r.incident_level != ilevel || r.decision != d || r.rule != rule)
        fail_msg("%s/%s: got score %d %s, incident %d %s, %s rule %d (%s)", action, rclass, r.score,
                 fs_level_name(r.level), r.incident_score, fs_level_name(r.incident_level),
                 fs_decision_name(r.decision), r.rule, r.rules[r.rule - 1].detail);
}

static void test_ties_at_every_threshold(void **state)
{
    struct fs_catalog *c;
    struct fs_policy *p;
    struct fs_err err;
    struct fs_buf diag = FS_BUF_INIT(0);
    if (fs_catalog_load_buf(tie_catalog, strlen(tie_catalog), "ties.yaml", catalog, &c, &diag,
                            &err) < 0)
        fail_msg("%s\n%s", err.msg, fs_buf_str(&diag));
    assert_int_equal(fs_policy_load_buf(tie_policy, strlen(tie_policy), "ties-policy.yaml", true,
                                        &p, &diag, &err),
                     0);
    const enum fs_level L = FS_LEVEL_LOW, M = FS_LEVEL_MEDIUM, H = FS_LEVEL_HIGH;
    /* risk levels: 29 LOW, 30 MEDIUM, 59 MEDIUM, 60 HIGH (incident risk 10, LOW) */
    tie_case(p, c, "b29", "application", 29, L, 10, L, FS_DEC_EXECUTE, 13);
    tie_case(p, c, "b30", "application", 30, M, 10, L, FS_DEC_EXECUTE, 13);
    /* threshold 40: equal executes, one above needs approval by rule 11 */
    tie_case(p, c, "b40", "application", 40, M, 10, L, FS_DEC_EXECUTE, 13);
    tie_case(p, c, "b41", "application", 41, M, 10, L, FS_DEC_NEEDS_APPROVAL, 11);
    tie_case(p, c, "b59", "application", 59, M, 10, L, FS_DEC_NEEDS_APPROVAL, 11);
    tie_case(p, c, "b60", "application", 60, H, 10, L, FS_DEC_NEEDS_APPROVAL, 11);
    /* incident risk: 19 + warning 10 = 29 LOW executes, 20 + 10 = 30 MEDIUM needs approval */
    tie_case(p, c, "b29", "r19", 29, L, 29, L, FS_DEC_EXECUTE, 13);
    tie_case(p, c, "b29", "r20", 29, L, 30, M, FS_DEC_NEEDS_APPROVAL, 10);
    /* the clamp: 96 + 15 irreversible = 111 -> 100 (tier 0 needs no approval by tier) */
    tie_case(p, c, "b96", "application", 100, H, 10, L, FS_DEC_NEEDS_APPROVAL, 11);
    struct fs_gate_result r;
    decide_with(p, c,
                "{\"action\":\"b96\",\"target\":{\"host\":\"h\",\"env\":\"staging\"},"
                "\"incident\":{\"scope\":{\"hosts\":[\"h\"]}}}",
                &r);
    struct fs_buf b = FS_BUF_INIT(0);
    assert_int_equal(fs_gate_result_text(&r, p, &b), 0);
    assert_non_null(strstr(fs_buf_str(&b), "risk score 100 HIGH (sum 111, clamped to 0-100)"));
    fs_buf_release(&b);

    /* the same with a stricter policy: the threshold and levels are the policy's numbers */
    struct fs_policy *strict;
    const char *sp = "threshold: 29\nlevels: {medium: 29, high: 41}\n";
    assert_int_equal(fs_policy_load_buf(sp, strlen(sp), "strict.yaml", true, &strict, &diag, &err),
                     0);
    tie_case(strict, c, "b29", "application", 29, M, 10, L, FS_DEC_EXECUTE, 13);
    tie_case(strict, c, "b30", "application", 30, M, 10, L, FS_DEC_NEEDS_APPROVAL, 11);
    tie_case(strict, c, "b41", "application", 41, H, 10, L, FS_DEC_NEEDS_APPROVAL, 11);
    fs_policy_free(strict);
    fs_policy_free(p);
    fs_catalog_free(c);
    fs_buf_release(&diag);
}

/* ---- modes ------------------------------------------------------------------------------ */

static void test_mode_resolution(void **state)
{
    const char *text = "mode: autonomous\n"
                       "modes:\n"
                       "  - match: {service: billing, env: production}\n"
                       "    mode: supervised\n"
                       "  - match: {service: billing}\n"
                       "    mode: shadow\n"
                       "  - match: {env: [staging, dev], category: log_cleanup}\n"
                       "    mode: shadow\n";
    struct fs_policy *p;
    struct fs_err err;
    assert_int_equal(fs_policy_load_buf(text, strlen(text), "modes.yaml", true, &p, NULL, &err), 0);
    struct {
        const char *service, *env, *ctxmode;
        enum fs_mode mode;
        const char *source;
        enum fs_decision decision;
    } cases[] = {
        /* first match wins: billing/production matches rules 0 and 1 */
        {"billing", "production", NULL, FS_MODE_SUPERVISED, "policy modes[0] (line 3)",
         FS_DEC_NEEDS_APPROVAL},
        {"billing", "staging", NULL, FS_MODE_SHADOW, "policy modes[1] (line 5)", FS_DEC_SHADOW},
        {"web", "dev", NULL, FS_MODE_SHADOW, "policy modes[2] (line 7)", FS_DEC_SHADOW},
        {"web", "production", NULL, FS_MODE_AUTONOMOUS, "policy default", FS_DEC_EXECUTE},
        /* the context beats the policy */
        {"billing", "staging", "autonomous", FS_MODE_AUTONOMOUS, "context", FS_DEC_EXECUTE},
        {"web", "production", "shadow", FS_MODE_SHADOW, "context", FS_DEC_SHADOW},
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(cases); i++) {
        char json[800], ctx[80] = "";
        if (cases[i].ctxmode)
            snprintf(ctx, sizeof(ctx), ",\"context\":{\"mode\":\"%s\"}", cases[i].ctxmode);
        snprintf(json, sizeof(json),
                 "{\"action\":\"journal_vacuum\",\"params\":{\"max_size\":\"1G\"},\"target\":{"
                 "\"service\":\"%s\",\"env\":\"%s\",\"resource_class\":\"application\"},"
                 "\"incident\":{\"scope\":{\"services\":[\"%s\"]}}," P_EVIDENCE "%s}",
                 cases[i].service, cases[i].env, cases[i].service, ctx);
        struct fs_gate_result r;
        decide_with(p, catalog, json, &r);
        assert_int_equal(r.mode, cases[i].mode);
        assert_string_equal(r.mode_source, cases[i].source);
        if (r.decision != cases[i].decision)
            fail_msg("case %zu: %s (rule %d: %s)", i, fs_decision_name(r.decision), r.rule,
                     r.rules[r.rule - 1].detail);
    }
    /* fs_policy_mode_for directly */
    struct fs_match_subject s = {.service = "billing", .env = "production"};
    int idx;
    assert_int_equal(fs_policy_mode_for(p, &s, &idx), FS_MODE_SUPERVISED);
    assert_int_equal(idx, 0);
    s.service = "other";
    assert_int_equal(fs_policy_mode_for(p, &s, &idx), FS_MODE_AUTONOMOUS);
    assert_int_equal(idx, -1);
    fs_policy_free(p);
}

/* A deny rule and a require_approval rule from an operator policy, with and without actions. */
static void test_operator_deny(void **state)
{
    const char *text = "deny:\n"
                       "  - match: {service: payments, severity: critical}\n"
                       "    actions: [service_restart, k8s_rollout_restart]\n"
                       "    reason: payments restarts go through the change board\n"
                       "  - match: {host: db-primary}\n";
    struct fs_policy *p;
    struct fs_err err;
    assert_int_equal(fs_policy_load_buf(text, strlen(text), "deny.yaml", true, &p, NULL, &err), 0);
    struct fs_gate_result r;
    decide_with(p, catalog,
                "{\"action\":\"service_restart\",\"params\":{\"unit\":\"pay.service\"},\"target\":"
                "{\"host\":\"pay-1\",\"service\":\"payments\",\"env\":\"staging\"},\"incident\":{"
                "\"severity\":\"critical\",\"scope\":{\"hosts\":[\"pay-1\"],\"services\":["
                "\"payments\"]}}," P_EVIDENCE "}",
                &r);
    assert_int_equal(r.rule, 4);
    assert_string_equal(r.rules[3].detail, "deny[0] (line 2) blocks service_restart: payments "
                                           "restarts go through the change board");
    /* the same restart for a warning is not denied */
    decide_with(p, catalog,
                "{\"action\":\"service_restart\",\"params\":{\"unit\":\"pay.service\"},\"target\":"
                "{\"host\":\"pay-1\",\"service\":\"payments\",\"env\":\"staging\","
                "\"resource_class\":\"application\"},\"incident\":{\"scope\":{\"hosts\":["
                "\"pay-1\"],\"services\":[\"payments\"]}}," P_EVIDENCE "}",
                &r);
    assert_int_equal(r.rule, 13);
    assert_false(r.rules[3].matched);
    assert_string_equal(r.rules[3].detail, "no deny rule matches (2 rules)");
    /* without actions: every action on the host */
    decide_with(p, catalog,
                "{\"action\":\"package_cache_clean\",\"target\":{\"host\":\"db-primary\"},"
                "\"incident\":{\"scope\":{\"hosts\":[\"db-primary\"]}}," P_EVIDENCE "}",
                &r);
    assert_int_equal(r.rule, 4);
    assert_string_equal(r.rules[3].detail, "deny[1] (line 5) blocks package_cache_clean (every "
                                           "action it matches): policy conflict");
    fs_policy_free(p);
}

/* ---- output ----------------------------------------------------------------------------- */

static void test_json_shape(void **state)
{
    struct fs_gate_result r;
    decide("{\"action\":\"service_restart\",\"params\":{\"unit\":\"nginx.service\"},\"target\":{"
           "\"host\":\"web-1\",\"env\":\"production\",\"resource_class\":\"application\"},"
           "\"incident\":{\"scope\":{\"hosts\":[\"web-1\"]}}," P_EVIDENCE "}",
           &r);
    json_t *j = fs_gate_result_json(&r, policy, catalog);
    assert_non_null(j);
    static const char *const keys[] = {"decision",      "rule",           "rule_name",      "risk",
                                       "incident_risk", "reasons",        "rules",          "mode",
                                       "action",        "policy_version", "catalog_version"};
    assert_int_equal(json_object_size(j), FS_ARRAY_LEN(keys));
    size_t k = 0;
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v) assert_string_equal(key, keys[k++]); /* in this order */
    assert_string_equal(json_string_value(json_object_get(j, "decision")), "needs_approval");
    assert_int_equal(json_integer_value(json_object_get(j, "rule")), 10);
    assert_string_equal(json_string_value(json_object_get(j, "rule_name")), "approval_required");
    json_t *risk = json_object_get(j, "risk");
    assert_int_equal(json_integer_value(json_object_get(risk, "score")), 35);
    assert_string_equal(json_string_value(json_object_get(risk, "level")), "MEDIUM");
    json_t *cs = json_object_get(risk, "contributions");
    assert_int_equal(json_array_size(cs), 6);
    json_t *c0 = json_array_get(cs, 1);
    assert_int_equal(json_object_size(c0), 3);
    assert_string_equal(json_string_value(json_object_get(c0, "factor")), "production");
    assert_int_equal(json_integer_value(json_object_get(c0, "points")), 15);
    assert_string_equal(json_string_value(json_object_get(c0, "detail")),
                        "target env is production");
    json_t *ir = json_object_get(j, "incident_risk");
    assert_int_equal(json_integer_value(json_object_get(ir, "score")), 10);
    assert_string_equal(json_string_value(json_object_get(ir, "level")), "LOW");
    assert_int_equal(json_array_size(json_object_get(ir, "contributions")), 3);
    json_t *reasons = json_object_get(j, "reasons");
    assert_int_equal(json_array_size(reasons), 1);
    assert_string_equal(json_string_value(json_array_get(reasons, 0)),
                        "category service_restart needs approval (require_approval[0]: category "
                        "service_restart, env production)");
    json_t *rules = json_object_get(j, "rules");
    assert_int_equal(json_array_size(rules), 13);
    for (size_t i = 0; i < 13; i++) {
        json_t *x = json_array_get(rules, i);
        assert_int_equal(json_integer_value(json_object_get(x, "rule")), (json_int_t)i + 1);
        assert_non_null(json_string_value(json_object_get(x, "name")));
        assert_true(json_is_boolean(json_object_get(x, "matched")));
        assert_true(strlen(json_string_value(json_object_get(x, "detail"))) > 5);
        assert_int_equal(json_is_true(json_object_get(x, "matched")), i == 9);
    }
    assert_string_equal(json_string_value(json_object_get(json_array_get(rules, 12), "detail")),
                        "not reached: rule 10 approval_required decided");
    json_t *mode = json_object_get(j, "mode");
    assert_string_equal(json_string_value(json_object_get(mode, "mode")), "autonomous");
    assert_string_equal(json_string_value(json_object_get(mode, "source")), "policy default");
    json_t *a = json_object_get(j, "action");
    assert_string_equal(json_string_value(json_object_get(a, "name")), "service_restart");
    assert_string_equal(json_string_value(json_object_get(a, "category")), "service_restart");
    assert_int_equal(json_integer_value(json_object_get(a, "tier")), 1);
    assert_int_equal(json_integer_value(json_object_get(a, "baseline_risk")), 20);
    assert_string_equal(json_string_value(json_object_get(a, "reversible")), "yes");
    assert_string_equal(json_string_value(json_object_get(j, "policy_version")), policy->version);
    assert_string_equal(json_string_value(json_object_get(j, "catalog_version")), catalog->version);
    json_decref(j);

    /* unknown action: "action": null; reasons in rule order, the deciding rule first */
    decide("{\"action\":\"nope\",\"target\":{\"host\":\"x\"},\"context\":{\"frozen\":true,"
           "\"change_freeze\":true}}",
           &r);
    j = fs_gate_result_json(&r, policy, catalog);
    assert_true(json_is_null(json_object_get(j, "action")));
    reasons = json_object_get(j, "reasons");
    assert_true(json_array_size(reasons) >= 4);
    assert_string_equal(json_string_value(json_array_get(reasons, 0)),
                        "the kill switch is on: nothing runs");
    assert_string_equal(json_string_value(json_array_get(reasons, 1)),
                        "unknown action nope: not in the catalog");
    assert_string_equal(json_string_value(json_array_get(reasons, 2)),
                        "the target is inside an active change freeze");
    json_decref(j);
}

static void test_text_output(void **state)
{
    struct fs_gate_result r;
    decide("{\"action\":\"package_upgrade\",\"params\":{\"package\":\"nginx\"},\"target\":{"
           "\"host\":\"web-1\",\"env\":\"staging\",\"resource_class\":\"application\"},"
           "\"incident\":{\"scope\":{\"hosts\":[\"web-1\"]}}," P_EVIDENCE "}",
           &r);
    struct fs_buf b = FS_BUF_INIT(0);
    assert_int_equal(fs_gate_result_text(&r, policy, &b), 0);
    const char *t = fs_buf_str(&b);
    static const char *const needles[] = {
        "decision: needs_approval (rule 10 approval_required)\n",
        "action:   package_upgrade (category package_change, tier 2, baseline 50, reversible no)",
        "mode:     autonomous (policy default)",
        "risk score 65 HIGH\n",
        "   +50  baseline        baseline_risk of package_upgrade\n",
        "    +0  production      target env is staging, not production\n",
        "   +15  irreversible    package_upgrade is not reversible\n",
        "incident risk 10 LOW\n",
        "  [ ]  1 kill_switch        the kill switch is off\n",
        "  [x] 10 approval_required  category package_change needs approval",
        "<== decides",
        "  [x] 11 score_threshold    risk score 65 > threshold 40\n",
        "  [ ] 13 default_execute    not reached: rule 10 approval_required decided\n",
        "reasons\n  - category package_change needs approval",
        "  - risk score 65 > threshold 40\n",
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(needles); i++)
        if (!strstr(t, needles[i]))
            fail_msg("text output lacks \"%s\":\n%s", needles[i], t);
    /* ASCII only */
    for (const unsigned char *c = (const unsigned char *)t; *c; c++)
        assert_true(*c < 0x80);
    fs_buf_release(&b);
}

/* ---- determinism ------------------------------------------------------------------------ */

static char *decide_dump(const char *json)
{
    struct fs_gate_result r;
    memset(&r, 0xa5, sizeof(r)); /* nothing may depend on what was there before */
    decide(json, &r);
    json_t *j = fs_gate_result_json(&r, policy, catalog);
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

static const char *const det_inputs[] = {
    good,
    "{\"action\":\"page_oncall\",\"params\":{\"summary\":\"x\",\"n\":{\"a\":[\"DROP TABLE t\"]}},"
    "\"target\":{\"host\":\"h\"}}",
    "{\"action\":\"disable_sla_contract\",\"params\":{\"contract\":\"c\"},\"target\":{"
    "\"service\":\"gw\",\"env\":\"production\"},\"incident\":{\"severity\":\"critical\","
    "\"scope\":{\"services\":[\"gw\"]}},\"context\":{\"dependents\":100,\"failures_24h\":3}}",
};

static void *det_thread(void *arg)
{
    char **out = arg;
    for (size_t i = 0; i < FS_ARRAY_LEN(det_inputs); i++)
        out[i] = decide_dump(det_inputs[i]);
    return NULL;
}

static void test_determinism(void **state)
{
    char *first[FS_ARRAY_LEN(det_inputs)], *other[FS_ARRAY_LEN(det_inputs)];
    for (size_t i = 0; i < FS_ARRAY_LEN(det_inputs); i++) {
        first[i] = decide_dump(det_inputs[i]);
        assert_non_null(first[i]);
        char *again = decide_dump(det_inputs[i]);
        assert_string_equal(first[i], again);
        free(again);
    }
    /* another thread (its own match data) says exactly the same */
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, det_thread, other), 0);
    pthread_join(t, NULL);
    for (size_t i = 0; i < FS_ARRAY_LEN(det_inputs); i++) {
        assert_string_equal(first[i], other[i]);
        free(first[i]);
        free(other[i]);
    }
    /* key order in the proposal does not matter */
    char *a = decide_dump("{\"target\":{\"env\":\"staging\",\"host\":\"web-1\"},\"action\":"
                          "\"journal_vacuum\",\"params\":{\"max_size\":\"1G\"}}");
    char *b = decide_dump("{\"action\":\"journal_vacuum\",\"params\":{\"max_size\":\"1G\"},"
                          "\"target\":{\"host\":\"web-1\",\"env\":\"staging\"}}");
    assert_string_equal(a, b);
    free(a);
    free(b);
}

static void test_forbidden_nested_detail(void **state)
{
    struct fs_gate_result r;
    decide("{\"action\":\"page_oncall\",\"params\":{\"summary\":\"ok\",\"a\":{\"b\":[1,\"x\","
           "{\"c\":\"please TRUNCATE it\"}]}},\"target\":{\"host\":\"h\"},\"incident\":{\"scope\":"
           "{\"hosts\":[\"h\"]}}," P_EVIDENCE "}",
           &r);
    assert_int_equal(r.rule, 2);
    assert_true(r.rules[2].matched);
    assert_string_equal(r.rules[2].detail,
                        "params.a.b[2].c matches forbidden pattern '(?i)\\btruncate\\b'");
    /* a pathological pattern fails closed instead of hanging the gate */
    const char *text = "forbidden_patterns: ['^(a+)+$']\n";
    struct fs_policy *p;
    struct fs_err err;
    assert_int_equal(fs_policy_load_buf(text, strlen(text), "slow.yaml", true, &p, NULL, &err), 0);
    char json[400];
    snprintf(json, sizeof(json),
             "{\"action\":\"page_oncall\",\"params\":{\"summary\":\"%s\"},\"target\":{\"host\":"
             "\"h\"},\"incident\":{\"scope\":{\"hosts\":[\"h\"]}}," P_EVIDENCE "}",
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab");
    decide_with(p, catalog, json, &r);
    assert_int_equal(r.rule, 3);
    assert_non_null(strstr(r.rules[2].detail, "could not be checked"));
    fs_policy_free(p);
}

/* ---- proposal parsing ------------------------------------------------------------------- */

static void expect_parse_error(const char *json, int code, const char *path, const char *msg)
{
    struct fs_proposal in;
    struct fs_err err;
    int rc = fs_proposal_parse(json, strlen(json), &in, &err);
    if (rc != -code)
        fail_msg("%s: expected %s, got %d (%s)", json, fs_err_name(code), rc,
                 rc < 0 ? err.msg : "ok");
    assert_string_equal(err.path, path);
    if (msg && !strstr(err.msg, msg))
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, msg);
    assert_null(in.root);
}

static void test_proposal_parse_errors(void **state)
{
    const int P = FS_E_INVALID_PAYLOAD;
    expect_parse_error("{\"action\":1,\"target\":{}}", P, "action", "expected string");
    expect_parse_error("{\"target\":{}}", P, "action", "required");
    expect_parse_error("{\"action\":\"\",\"target\":{}}", P, "action", "must not be empty");
    expect_parse_error("{\"action\":\"a\"}", P, "target", "required");
    expect_parse_error("{\"action\":\"a\",\"target\":[]}", P, "target", "expected object");
    expect_parse_error("{\"action\":\"a\",\"target\":{\"host\":7}}", P, "target.host",
                       "target.host: expected string, got number");
    expect_parse_error("{\"action\":\"a\",\"target\":{\"host\":null}}", P, "target.host", NULL);
    expect_parse_error("{\"action\":\"a\",\"target\":{\"cluster\":\"x\"}}", P, "target.cluster",
                       "unknown field");
    expect_parse_error("{\"action\":\"a\",\"target\":{},\"command\":\"rm\"}", P, "command",
                       "command: unknown field");
    expect_parse_error("{\"action\":\"a\",\"target\":{},\"params\":[1]}", P, "params",
                       "expected object");
    expect_parse_error("{\"action\":\"a\",\"target\":{},\"evidence\":{\"cited\":[\"a\",\"b\",3]}}",
                       P, "evidence.cited[2]", "evidence.cited[2]: expected string, got number");
    expect_parse_error("{\"action\":\"a\",\"target\":{},\"evidence\":{\"trace\":\"x\"}}", P,
                       "evidence.trace", "expected array");
    expect_parse_error("{\"action\":\"a\",\"target\":{},\"evidence\":{\"cites\":[]}}", P,
                       "evidence.cites", "unknown field");
    expect_parse_error("{\"action\":\"a\",\"target\":{},\"incident\":{\"severity\":\"high\"}}", P,
                       "incident.severity", "expected info, warning or critical");
    expect_parse_error(
        "{\"action\":\"a\",\"target\":{},\"incident\":{\"scope\":{\"hosts\":[\"a\",{}]}}}", P,
        "incident.scope.hosts[1]", NULL);
    expect_parse_error("{\"action\":\"a\",\"target\":{},\"incident\":{\"scope\":{\"pods\":[]}}}", P,
                       "incident.scope.pods", "unknown field");
    expect_parse_error("{\"action\":\"a\",\"target\":{},\"incident\":{\"labels\":{\"x\":1}}}", P,
                       "incident.labels.x", NULL);
    expect_parse_error("{\"action\":\"a\",\"target\":{},\"context\":{\"mode\":\"yolo\"}}", P,
                       "context.mode", "expected shadow, supervised or autonomous");
    expect_parse_error("{\"action\":\"a\",\"target\":{},\"context\":{\"dependents\":-1}}", P,
                       "context.dependents", "must not be negative");
    expect_parse_error("{\"action\":\"a\",\"target\":{},\"context\":{\"frozen\":\"yes\"}}", P,
                       "context.frozen", "expected true or false");
    expect_parse_error("{\"action\":\"a\",\"target\":{},\"context\":{\"executions_1h\":1.5}}", P,
                       "context.executions_1h", "expected integer");
    expect_parse_error("{\"action\":\"a\",\"target\":{},\"now\":\"yesterday\"}", P, "now",
                       "RFC 3339");
    expect_parse_error("{\"action\":\"a\",\"target\":{},\"confidence\":1.5}", P, "confidence",
                       "between 0 and 1");
    expect_parse_error("[1]", P, "", "expected a proposal object");
    expect_parse_error("{\"action\":", FS_E_INVALID_JSON, "", NULL);
    expect_parse_error("", FS_E_INVALID_JSON, "", NULL);

    /* defaults */
    struct fs_proposal in;
    struct fs_err err;
    const char *min = "{\"action\":\"a\",\"target\":{\"host\":\"h\"}}";
    assert_int_equal(fs_proposal_parse(min, strlen(min), &in, &err), 0);
    assert_string_equal(in.action, "a");
    assert_true(json_is_object(in.params));
    assert_int_equal(json_object_size(in.params), 0);
    assert_string_equal(in.t.host, "h");
    assert_null(in.t.env);
    assert_string_equal(in.incident.severity, "warning");
    assert_int_equal(in.incident.hosts.n, 0);
    assert_int_equal(in.evidence.cited.n, 0);
    assert_false(in.context.has_mode);
    assert_false(in.context.frozen);
    assert_int_equal(in.context.dependents, 0);
    assert_int_equal(in.now_ms, 0);
    fs_proposal_release(&in);
    fs_proposal_release(&in); /* released twice is harmless */

    /* from a value: the caller's value is not modified */
    json_t *v = json_loads(min, 0, NULL);
    assert_int_equal(fs_proposal_from_json(v, &in, &err), 0);
    assert_null(json_object_get(v, "params"));
    assert_true(json_is_object(in.params));
    fs_proposal_release(&in);
    json_decref(v);

    const char *full = "{\"id\":\"p\",\"proposer\":\"me\",\"rationale\":\"r\",\"confidence\":1,"
                       "\"action\":\"a\",\"params\":{\"k\":[1]},\"target\":{\"host\":\"h\","
                       "\"service\":\"s\",\"env\":\"e\",\"resource_class\":\"database\","
                       "\"namespace\":\"n\",\"workload\":\"w\"},\"incident\":{\"id\":\"i\","
                       "\"severity\":\"critical\",\"labels\":{\"a\":\"b\"},\"scope\":{\"hosts\":"
                       "[\"h\"],\"services\":[\"s\"],\"workloads\":[\"n/w\"]}},\"evidence\":{"
                       "\"cited\":[\"o1\"],\"trace\":[\"o1\",\"o2\"],\"contradicting\":[\"o2\"]},"
                       "\"context\":{\"dependents\":3,\"change_freeze\":true,\"frozen\":false,"
                       "\"mode\":\"supervised\",\"failures_24h\":1,\"executions_1h\":2},"
                       "\"now\":\"2026-11-21T03:00:00Z\"}";
    assert_int_equal(fs_proposal_parse(full, strlen(full), &in, &err), 0);
    assert_string_equal(in.id, "p");
    assert_string_equal(in.proposer, "me");
    assert_string_equal(in.rationale, "r");
    assert_string_equal(in.t.workload, "w");
    assert_string_equal(in.t.namespace, "n");
    assert_string_equal(in.incident.severity, "critical");
    assert_string_equal(in.incident.workloads.v[0], "n/w");
    assert_int_equal(in.evidence.trace.n, 2);
    assert_int_equal(in.context.dependents, 3);
    assert_true(in.context.change_freeze);
    assert_true(in.context.has_mode);
    assert_int_equal(in.context.mode, FS_MODE_SUPERVISED);
    assert_int_equal(in.context.executions_1h, 2);
    assert_int_equal(in.now_ms, 1795230000000LL);
    fs_proposal_release(&in);
}

/* ---- the policy test runner ------------------------------------------------------------- */

static const char *write_case(const char *dir, const char *name, const char *text)
{
    static char path[600];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_policytest_reports(void **state)
{
    char dir[600];
    snprintf(dir, sizeof(dir), "%s/cases", tmpdir);
    assert_int_equal(mkdir(dir, 0700), 0);
    write_case(dir, "b.yaml",
               "cases:\n"
               "  - name: passes\n"
               "    proposal: {action: package_cache_clean, target: {host: h, resource_class: "
               "application}, incident: {scope: {hosts: [h]}}, evidence: {cited: [o], trace: "
               "[o]}}\n"
               "    expect: {decision: execute, rule: 13, score: 5}\n"
               "  - name: fails on purpose\n"
               "    proposal: {action: package_cache_clean, target: {host: h}, incident: {scope: "
               "{hosts: [h]}}, evidence: {cited: [o], trace: [o]}}\n"
               "    expect: {decision: execute, score: 7, reasons_include: [nothing like this]}\n");
    write_case(dir, "a.yaml", "cases: []\n");
    write_case(dir, "notes.txt", "not a case file\n");
    struct fs_buf out = FS_BUF_INIT(0);
    struct fs_policy_test_report rep;
    struct fs_err err;
    assert_int_equal(fs_policy_test_dir(dir, policy, catalog, true, &out, &rep, &err), 0);
    assert_int_equal(rep.files, 2);
    assert_int_equal(rep.cases, 2);
    assert_int_equal(rep.passed, 1);
    assert_int_equal(rep.failed, 1);
    const char *t = fs_buf_str(&out);
    char want[800];
    snprintf(want, sizeof(want), "%s/b.yaml:2: passes: ok (execute, rule 13", dir);
    if (!strstr(t, want))
        fail_msg("lacks \"%s\":\n%s", want, t);
    snprintf(want, sizeof(want),
             "%s/b.yaml:5: fails on purpose: expected decision execute, got needs_approval "
             "(rule 10 approval_required: incident risk MEDIUM (40) >= MEDIUM); expected score "
             "7, got 5; no reason contains \"nothing like this\"",
             dir);
    if (!strstr(t, want))
        fail_msg("lacks \"%s\":\n%s", want, t);
    fs_buf_release(&out);

    /* structural problems name file:line and key */
    write_case(dir, "c.yaml",
               "cases:\n"
               "  - name: x\n"
               "    proposal: {action: a, target: {host: h}}\n"
               "    expect: {decision: execute, scor: 5}\n");
    assert_int_equal(fs_policy_test_dir(dir, policy, catalog, false, &out, &rep, &err),
                     -FS_E_CONFIG);
    snprintf(want, sizeof(want), "%s/c.yaml:4", dir);
    assert_string_equal(err.path, want);
    assert_non_null(strstr(err.msg, "cases[0].expect.scor: unknown key"));
    assert_int_equal(rep.failed, 1); /* b.yaml still ran */
    fs_buf_release(&out);
    write_case(dir, "c.yaml",
               "cases:\n"
               "  - name: x\n"
               "    proposal:\n"
               "      action: a\n"
               "      target: {host: 3}\n"
               "    expect: {decision: maybe}\n");
    assert_int_equal(fs_policy_test_dir(dir, policy, catalog, false, &out, &rep, &err),
                     -FS_E_CONFIG);
    snprintf(want, sizeof(want), "%s/c.yaml:6: cases[0].expect.decision: expected execute", dir);
    assert_non_null(strstr(fs_buf_str(&out), want));
    fs_buf_release(&out);
    write_case(dir, "c.yaml",
               "cases:\n"
               "  - name: x\n"
               "    proposal:\n"
               "      action: a\n"
               "      target: {host: 3}\n"
               "    expect: {decision: blocked}\n");
    assert_int_equal(fs_policy_test_dir(dir, policy, catalog, false, &out, &rep, &err),
                     -FS_E_CONFIG);
    snprintf(want, sizeof(want),
             "%s/c.yaml:5: cases[0].proposal.target.host: invalid proposal: target.host: "
             "expected string, got number",
             dir);
    if (!strstr(fs_buf_str(&out), want))
        fail_msg("lacks \"%s\":\n%s", want, fs_buf_str(&out));
    fs_buf_release(&out);
    write_case(dir, "c.yaml", "case:\n  - name: x\n");
    assert_int_equal(fs_policy_test_dir(dir, policy, catalog, false, &out, &rep, &err),
                     -FS_E_CONFIG);
    snprintf(want, sizeof(want), "%s/c.yaml:1", dir);
    assert_string_equal(err.path, want);
    fs_buf_release(&out);
    unlink(write_case(dir, "c.yaml", ""));
    assert_int_equal(
        fs_policy_test_dir("/nonexistent/dir", policy, catalog, false, &out, &rep, &err), -FS_E_IO);
}

/* Every allocation of parsing may fail (out_of_memory, nothing leaked); deciding allocates
 * nothing of forestall's own, so a proposal that parsed is decided the same way regardless. */
static void test_allocation_failures(void **state)
{
    const char *text = P_BEGIN P_TARGET P_INCIDENT
        "\"evidence\":{\"cited\":[\"a\"],\"trace\":[\"a\",\"b\"],\"contradicting\":[\"b\"]}}";
    int n, failed = 0;
    for (n = 1; n < 1000; n++) {
        char spec[32];
        snprintf(spec, sizeof(spec), "alloc@%dx1", n);
        struct fs_proposal in;
        struct fs_err err;
        assert_int_equal(fs_fault_arm(spec), 0);
        int rc = fs_proposal_parse(text, strlen(text), &in, &err);
        fs_fault_arm(NULL);
        if (rc == 0) {
            fs_proposal_release(&in);
            break;
        }
        assert_int_equal(rc, -FS_E_NOMEM);
        assert_null(in.root);
        failed++;
    }
    assert_int_equal(failed, n - 1);
    assert_true(failed >= 3); /* the three evidence lists */
    /* with every fs_ allocation failing, a parsed proposal is still decided identically */
    struct fs_proposal in;
    struct fs_err err;
    assert_int_equal(fs_proposal_parse(good, strlen(good), &in, &err), 0);
    struct fs_gate_result r;
    assert_int_equal(fs_fault_arm("alloc@1"), 0);
    fs_gate_decide(policy, catalog, &in, &r);
    fs_fault_arm(NULL);
    assert_int_equal(r.rule, 13);
    fs_proposal_release(&in);
}

/* An explanation cut at its buffer's size never ends in half a UTF-8 character: the decision of
 * a proposal naming a long unknown action in multibyte letters still renders as JSON. */
static void test_long_multibyte_detail_stays_valid_text(void **state)
{
    struct fs_buf name = FS_BUF_INIT(0);
    fs_buf_putc(&name, 'x'); /* shift the cut into the middle of a character */
    for (int i = 0; i < 300; i++)
        fs_buf_puts(&name, "\xc3\xa9");
    char json[2048];
    snprintf(json, sizeof(json), "{\"action\":\"%s\",\"target\":{\"host\":\"h\"}}",
             fs_buf_str(&name));
    struct fs_gate_result r;
    decide(json, &r);
    assert_int_equal(r.rule, 2);
    json_t *j = fs_gate_result_json(&r, policy, catalog);
    assert_non_null(j);
    json_decref(j);
    fs_buf_release(&name);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_case_files),
        cmocka_unit_test(test_every_rule_decides),
        cmocka_unit_test(test_contributions_always_listed),
        cmocka_unit_test(test_ties_at_every_threshold),
        cmocka_unit_test(test_mode_resolution),
        cmocka_unit_test(test_operator_deny),
        cmocka_unit_test(test_json_shape),
        cmocka_unit_test(test_text_output),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_forbidden_nested_detail),
        cmocka_unit_test(test_proposal_parse_errors),
        cmocka_unit_test(test_policytest_reports),
        cmocka_unit_test(test_allocation_failures),
        cmocka_unit_test(test_long_multibyte_detail_stays_valid_text),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
