/* Unit tests for the gate policy: the embedded default carries every number of
 * architecture.md §5, an operator file merges over it (objects key by key, lists and scalars
 * replace) and changes the version, every problem names file, line and key, and matching
 * follows its contract (AND across keys, OR within a key, NULL never matches a set key). */
#include "unit.h"

#include <ctype.h>
#include <unistd.h>

#include "core/embed.h"
#include "core/fault.h"
#include "safety/policy.h"

static char tmpdir[] = "/tmp/fs-policy-XXXXXX";

static int setup(void **state)
{
    return mkdtemp(tmpdir) ? 0 : -1;
}

static const char *write_file(const char *name, const char *text)
{
    static char path[512];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static struct fs_policy *load_over(const char *text)
{
    struct fs_policy *p = NULL;
    struct fs_err err;
    struct fs_buf diag = FS_BUF_INIT(0);
    if (fs_policy_load_buf(text, strlen(text), "op.yaml", true, &p, &diag, &err) < 0)
        fail_msg("policy does not load: %s\n%s", err.msg, fs_buf_str(&diag));
    fs_buf_release(&diag);
    return p;
}

static bool values_are(const struct fs_match_values *mv, size_t n, ...)
{
    va_list ap;
    va_start(ap, n);
    bool ok = mv->n == n;
    for (size_t i = 0; ok && i < n; i++)
        ok = strcmp(mv->v[i], va_arg(ap, const char *)) == 0;
    va_end(ap);
    return ok;
}

static json_int_t weight(const json_t *obj, const char *key)
{
    return json_integer_value(json_object_get(obj, key));
}

static void test_default_has_every_number(void **state)
{
    struct fs_policy *p;
    struct fs_err err;
    assert_int_equal(fs_policy_load(NULL, &p, NULL, &err), 0);
    assert_string_equal(p->source, "(embedded)");
    assert_string_equal(p->declared, "1");
    /* "1+" and 12 lowercase hex digits */
    assert_int_equal(strlen(p->version), 14);
    assert_memory_equal(p->version, "1+", 2);
    for (const char *c = p->version + 2; *c; c++)
        assert_true(isxdigit((unsigned char)*c) && !isupper((unsigned char)*c));
    assert_int_equal(p->threshold, 40);
    assert_int_equal(p->mode, FS_MODE_AUTONOMOUS);
    assert_int_equal(p->nmodes, 0);
    assert_int_equal(p->scores.production, 15);
    assert_int_equal(p->scores.per_dependent, 5);
    assert_int_equal(p->scores.dependents_max, 25);
    assert_int_equal(p->scores.critical, 20);
    assert_int_equal(p->scores.irreversible, 15);
    assert_int_equal(p->scores.recent_failure, 20);
    assert_int_equal(p->levels.medium, 30);
    assert_int_equal(p->levels.high, 60);
    assert_int_equal(p->approval_tier, 2);
    assert_int_equal(p->approval_incident_risk, FS_LEVEL_MEDIUM);
    assert_true(values_are(&p->force_override_severities, 1, "critical"));
    assert_int_equal(p->rate_limit_per_action_target_per_hour, 3);
    assert_int_equal(p->evidence.min_cited, 1);
    assert_int_equal(p->evidence.max_contradicting, 1);
    assert_int_equal(weight(p->incident_risk.resource_class, "application"), 0);
    assert_int_equal(weight(p->incident_risk.resource_class, "database"), 20);
    assert_int_equal(weight(p->incident_risk.resource_class, "storage"), 30);
    assert_int_equal(weight(p->incident_risk.resource_class, "network"), 30);
    assert_int_equal(weight(p->incident_risk.resource_class, "hypervisor"), 30);
    assert_int_equal(p->incident_risk.resource_class_unknown, 30);
    assert_int_equal(weight(p->incident_risk.severity, "info"), 0);
    assert_int_equal(weight(p->incident_risk.severity, "warning"), 10);
    assert_int_equal(weight(p->incident_risk.severity, "critical"), 30);
    assert_int_equal(p->incident_risk.per_dependent, 5);
    assert_int_equal(p->incident_risk.dependents_max, 30);
    assert_int_equal(p->approval_ttl_ms, 3600 * 1000);
    /* seed 000 table: service restart in production, package, data deletion, config, security */
    assert_int_equal(p->nrequire, 2);
    assert_true(values_are(&p->require_approval[0].category, 1, "service_restart"));
    assert_true(values_are(&p->require_approval[0].env, 1, "production"));
    assert_true(values_are(&p->require_approval[1].category, 4, "package_change", "data_deletion",
                           "config_change", "security_change"));
    assert_true(p->nforbidden >= 5);
    for (size_t i = 0; i < p->nforbidden; i++)
        assert_non_null(p->forbidden[i].re);
    assert_int_equal(p->ndeny, 2);
    assert_true(p->deny[0].line > 0);
    assert_true(values_are(&p->deny[1].actions, 1, "package_upgrade"));
    assert_non_null(p->doc);
    assert_int_equal(json_integer_value(json_object_get(p->doc, "threshold")), 40);
    /* the same text always gives the same version */
    struct fs_policy *q;
    assert_int_equal(fs_policy_load(NULL, &q, NULL, &err), 0);
    assert_string_equal(p->version, q->version);
    fs_policy_free(q);
    fs_policy_free(p);
    fs_policy_free(NULL);
}

static void test_operator_file_merges_and_changes_version(void **state)
{
    struct fs_policy *def, *p;
    struct fs_err err;
    assert_int_equal(fs_policy_load(NULL, &def, NULL, &err), 0);

    /* scalars replace, objects merge key by key */
    const char *path = write_file("op.yaml", "threshold: 50\n"
                                             "scores: {production: 25}\n"
                                             "incident_risk:\n"
                                             "  resource_class: {cache: 5}\n");
    assert_int_equal(fs_policy_load(path, &p, NULL, &err), 0);
    assert_string_equal(p->source, path);
    assert_int_equal(p->threshold, 50);
    assert_int_equal(p->scores.production, 25);
    assert_int_equal(p->scores.per_dependent, 5);   /* kept from the default */
    assert_int_equal(p->scores.recent_failure, 20); /* kept */
    assert_int_equal(weight(p->incident_risk.resource_class, "cache"), 5);
    assert_int_equal(weight(p->incident_risk.resource_class, "database"), 20); /* kept */
    assert_int_equal(p->nforbidden, def->nforbidden);
    assert_string_not_equal(p->version, def->version);
    assert_memory_equal(p->version, "1+", 2);
    fs_policy_free(p);

    /* lists replace */
    p = load_over("forbidden_patterns: ['(?i)\\bshutdown\\b']\ndeny: []\n"
                  "require_approval: [{category: security_change}]\n");
    assert_int_equal(p->nforbidden, 1);
    assert_string_equal(p->forbidden[0].source, "(?i)\\bshutdown\\b");
    assert_int_equal(p->ndeny, 0);
    assert_int_equal(p->nrequire, 1);
    fs_policy_free(p);

    /* any edit changes the version; an empty file, comments or a restated default do not */
    const char *same[] = {"", "# only a comment\n", "threshold: 40\n", "levels: {high: 60}\n"};
    for (size_t i = 0; i < FS_ARRAY_LEN(same); i++) {
        p = load_over(same[i]);
        assert_string_equal(p->version, def->version);
        fs_policy_free(p);
    }
    const char *edits[] = {"threshold: 41\n", "approval_ttl: 2h\n", "version: 2\n",
                           "modes: [{match: {env: dev}, mode: shadow}]\n",
                           "levels: {medium: 31}\n"};
    for (size_t i = 0; i < FS_ARRAY_LEN(edits); i++) {
        p = load_over(edits[i]);
        assert_string_not_equal(p->version, def->version);
        fs_policy_free(p);
    }
    p = load_over("version: 2\n");
    assert_memory_equal(p->version, "2+", 2);
    assert_string_equal(p->declared, "2");
    fs_policy_free(p);
    p = load_over("version: \"2026.11-a\"\n");
    assert_string_equal(p->declared, "2026.11-a");
    fs_policy_free(p);

    /* the default text alone (with_default false) is the same policy */
    const struct fs_embed_file *f = fs_embed_find("etc/policy.yaml");
    assert_non_null(f);
    assert_int_equal(fs_policy_load_buf((const char *)f->start, fs_embed_len(f), "copy.yaml", false,
                                        &p, NULL, &err),
                     0);
    assert_string_equal(p->version, def->version);
    fs_policy_free(p);
    fs_policy_free(def);

    /* standalone: every key is required */
    struct fs_buf diag = FS_BUF_INIT(0);
    assert_int_equal(
        fs_policy_load_buf("threshold: 40\n", 14, "alone.yaml", false, &p, &diag, &err),
        -FS_E_CONFIG);
    assert_null(p);
    assert_non_null(strstr(fs_buf_str(&diag), "alone.yaml: version: required key is missing"));
    assert_non_null(strstr(fs_buf_str(&diag), "alone.yaml: scores: required key is missing"));
    fs_buf_release(&diag);

    /* a file that does not exist */
    assert_int_equal(fs_policy_load("/nonexistent/policy.yaml", &p, NULL, &err), -FS_E_IO);
}

/* Load text over the default as "bad.yaml"; it must fail with err.path == where and the
 * message (and diag) containing needle. */
static void expect_problem(const char *text, const char *where, const char *needle)
{
    struct fs_policy *p = NULL;
    struct fs_err err;
    struct fs_buf diag = FS_BUF_INIT(0);
    int rc = fs_policy_load_buf(text, strlen(text), "bad.yaml", true, &p, &diag, &err);
    if (rc != -FS_E_CONFIG)
        fail_msg("expected a problem for:\n%s\ngot %d", text, rc);
    assert_null(p);
    if (strcmp(err.path, where) != 0)
        fail_msg("expected the problem at %s, got %s (%s)", where, err.path, err.msg);
    if (!strstr(err.msg, needle) || !strstr(fs_buf_str(&diag), needle))
        fail_msg("\"%s\" lacks \"%s\"\n%s", err.msg, needle, fs_buf_str(&diag));
    /* messages start with file:line */
    assert_memory_equal(err.msg, where, strlen(where));
    fs_buf_release(&diag);
}

static void test_problems_name_file_line_key(void **state)
{
    /* unknown keys */
    expect_problem("threshold: 40\nthresold: 41\n", "bad.yaml:2", "thresold: unknown key");
    expect_problem("scores:\n  production: 10\n  prodution: 1\n", "bad.yaml:3",
                   "scores.prodution: unknown key");
    expect_problem("evidence: {min_cited: 1, max_contradicting: 1, fabricated: 0}\n", "bad.yaml:1",
                   "evidence.fabricated: unknown key");
    expect_problem("modes:\n  - match: {service: a}\n    mode: shadow\n    when: now\n",
                   "bad.yaml:4", "modes[0].when: unknown key");
    /* modes */
    expect_problem("mode: yolo\n", "bad.yaml:1", "mode: expected shadow, supervised or autonomous");
    expect_problem("modes:\n  - match: {service: a}\n    mode: loud\n", "bad.yaml:3",
                   "modes[0].mode: expected shadow");
    expect_problem("modes:\n  - mode: shadow\n", "bad.yaml:2",
                   "modes[0].match: required key is missing");
    /* match keys */
    expect_problem("modes:\n  - match: {servce: billing}\n    mode: shadow\n", "bad.yaml:2",
                   "modes[0].match.servce: unknown key");
    expect_problem("deny:\n  - match:\n      env: production\n      team: x\n", "bad.yaml:4",
                   "deny[0].match.team: unknown key");
    expect_problem("require_approval:\n  - {category: package_changes}\n", "bad.yaml:2",
                   "require_approval[0].category: unknown value \"package_changes\"");
    expect_problem("deny:\n  - match: {severity: [warning, high]}\n", "bad.yaml:2",
                   "deny[0].match.severity[1]: unknown value \"high\"");
    expect_problem("deny:\n  - match: {env: []}\n", "bad.yaml:2",
                   "deny[0].match.env: an empty list matches nothing");
    expect_problem("deny:\n  - match: {env: 3}\n", "bad.yaml:2",
                   "deny[0].match.env: expected a string or a list of strings");
    expect_problem("deny:\n  - match: {env: production}\n    actions: []\n", "bad.yaml:3",
                   "deny[0].actions: an empty list");
    expect_problem("deny:\n  - reason: no\n", "bad.yaml:2", "deny[0]: a deny rule needs match");
    expect_problem("require_approval:\n  - {}\n", "bad.yaml:2", "require_approval[0]: an empty");
    /* regular expressions */
    expect_problem("forbidden_patterns:\n  - 'ok'\n  - '(unclosed'\n", "bad.yaml:3",
                   "forbidden_patterns[1]: not a valid regular expression at offset 9");
    expect_problem("forbidden_patterns: ['']\n", "bad.yaml:1",
                   "forbidden_patterns[0]: expected a non-empty regular expression");
    /* levels and ranges */
    expect_problem("levels:\n  medium: 60\n  high: 60\n", "bad.yaml:2",
                   "levels.medium: must be less than levels.high (60), got 60");
    expect_problem("levels:\n  medium: 70\n", "bad.yaml:2", "levels.medium: must be less than");
    expect_problem("levels: {medium: 0}\n", "bad.yaml:1", "levels.medium: must be between 1");
    expect_problem("threshold: 101\n", "bad.yaml:1", "threshold: must be between 0 and 100");
    expect_problem("threshold: high\n", "bad.yaml:1", "threshold: expected an integer");
    expect_problem("scores:\n  critical: -5\n", "bad.yaml:2", "scores.critical: must be between");
    expect_problem("rate_limit_per_action_target_per_hour: 0\n", "bad.yaml:1",
                   "must be between 1 and");
    expect_problem("approval_tier: 5\n", "bad.yaml:1", "approval_tier: must be between 0 and 4");
    expect_problem("approval_incident_risk: SEVERE\n", "bad.yaml:1",
                   "approval_incident_risk: expected LOW, MEDIUM or HIGH");
    expect_problem("incident_risk:\n  severity: {page: 40}\n", "bad.yaml:2",
                   "incident_risk.severity.page: unknown key");
    expect_problem("incident_risk:\n  resource_class:\n    cache: 500\n", "bad.yaml:3",
                   "incident_risk.resource_class.cache: expected an integer between 0 and 100");
    expect_problem("force_override_severities: [critical, fatal]\n", "bad.yaml:1",
                   "force_override_severities[1]: unknown value \"fatal\"");
    /* durations */
    expect_problem("approval_ttl: 0s\n", "bad.yaml:1", "approval_ttl: must be more than 0s");
    expect_problem("approval_ttl: soon\n", "bad.yaml:1", "approval_ttl: expected a duration");
    expect_problem("approval_ttl: 60d\n", "bad.yaml:1", "at most 30d");
    /* shape */
    expect_problem("- 1\n", "bad.yaml:1", "(top level): expected a mapping");
    expect_problem("scores: 5\n", "bad.yaml:1", "scores: expected a mapping");
    expect_problem("modes: {a: 1}\n", "bad.yaml:1", "modes: expected a list");
    expect_problem("version: 1+x\n", "bad.yaml:1", "version: expected");
    expect_problem("threshold: [\n", "bad.yaml:2", "YAML syntax error");

    /* every problem goes to diag, one line each; err gets the first */
    struct fs_policy *p;
    struct fs_err err;
    struct fs_buf diag = FS_BUF_INIT(0);
    const char *two = "threshold: 200\nmode: loud\n";
    assert_int_equal(fs_policy_load_buf(two, strlen(two), "two.yaml", true, &p, &diag, &err),
                     -FS_E_CONFIG);
    assert_string_equal(err.path, "two.yaml:1");
    assert_non_null(strstr(fs_buf_str(&diag), "two.yaml:1: threshold: must be between"));
    assert_non_null(strstr(fs_buf_str(&diag), "two.yaml:2: mode: expected shadow"));
    fs_buf_release(&diag);

    /* a real file names its path */
    const char *path = write_file("bad.yaml", "# comment\nlevels:\n  medium: 10\n  hihg: 5\n");
    assert_int_equal(fs_policy_load(path, &p, &diag, &err), -FS_E_CONFIG);
    char want[600];
    snprintf(want, sizeof(want), "%s:4", path);
    assert_string_equal(err.path, want);
    assert_non_null(strstr(err.msg, "levels.hihg: unknown key"));
    fs_buf_release(&diag);
}

static void test_match(void **state)
{
    struct fs_policy *p = load_over("modes:\n"
                                    "  - match: {service: [a, b], env: production}\n"
                                    "    mode: supervised\n"
                                    "  - match: {}\n"
                                    "    mode: shadow\n");
    const struct fs_match *m = &p->modes[0].match;
    struct fs_match_subject s = {.service = "a", .env = "production"};
    assert_true(fs_match_test(m, &s)); /* both keys */
    s.service = "b";
    assert_true(fs_match_test(m, &s)); /* OR within a key */
    s.service = "c";
    assert_false(fs_match_test(m, &s));
    s.service = "a";
    s.env = "staging";
    assert_false(fs_match_test(m, &s)); /* AND across keys */
    s.env = NULL;
    assert_false(fs_match_test(m, &s)); /* NULL never matches a set key */
    s.env = "production";
    s.host = "anything"; /* keys the match does not name do not matter */
    s.category = "page";
    assert_true(fs_match_test(m, &s));
    struct fs_match_subject empty = {0};
    assert_true(fs_match_test(&p->modes[1].match, &empty)); /* {} matches everything */
    int idx;
    assert_int_equal(fs_policy_mode_for(p, &s, &idx), FS_MODE_SUPERVISED);
    assert_int_equal(idx, 0);
    assert_int_equal(p->modes[0].line, 2);
    assert_int_equal(fs_policy_mode_for(p, &empty, &idx), FS_MODE_SHADOW);
    assert_int_equal(idx, 1);
    assert_int_equal(p->modes[1].line, 4);
    fs_policy_free(p);
}

static void test_names_and_levels(void **state)
{
    enum fs_mode m;
    enum fs_level l;
    for (int i = FS_MODE_SHADOW; i <= FS_MODE_AUTONOMOUS; i++) {
        assert_int_equal(fs_mode_parse(fs_mode_name(i), &m), 0);
        assert_int_equal(m, i);
    }
    assert_int_equal(fs_mode_parse("Shadow", &m), -FS_E_INVALID);
    assert_int_equal(fs_mode_parse(NULL, &m), -FS_E_INVALID);
    for (int i = FS_LEVEL_LOW; i <= FS_LEVEL_HIGH; i++) {
        assert_int_equal(fs_level_parse(fs_level_name(i), &l), 0);
        assert_int_equal(l, i);
    }
    assert_int_equal(fs_level_parse("medium", &l), 0);
    assert_int_equal(l, FS_LEVEL_MEDIUM);
    assert_int_equal(fs_level_parse("SEVERE", &l), -FS_E_INVALID);
    struct fs_policy *p;
    struct fs_err err;
    assert_int_equal(fs_policy_load(NULL, &p, NULL, &err), 0);
    assert_int_equal(fs_policy_level(p, 0), FS_LEVEL_LOW);
    assert_int_equal(fs_policy_level(p, 29), FS_LEVEL_LOW);
    assert_int_equal(fs_policy_level(p, 30), FS_LEVEL_MEDIUM);
    assert_int_equal(fs_policy_level(p, 59), FS_LEVEL_MEDIUM);
    assert_int_equal(fs_policy_level(p, 60), FS_LEVEL_HIGH);
    assert_int_equal(fs_policy_level(p, 100), FS_LEVEL_HIGH);
    fs_policy_free(p);
}

/* Every allocation of a load may fail: the loader answers out_of_memory, leaks nothing (the
 * sanitizer build checks) and, once enough allocations succeed, gives the same policy. */
static void test_allocation_failures(void **state)
{
    static const char text[] = "threshold: 45\n"
                               "modes: [{match: {service: [a, b]}, mode: shadow}]\n"
                               "deny: [{match: {env: production}, actions: [x], reason: r}]\n"
                               "require_approval: [{category: page}]\n"
                               "force_override_severities: [critical, warning]\n";
    struct fs_policy *p;
    struct fs_err err;
    assert_int_equal(fs_policy_load_buf(text, strlen(text), "op.yaml", true, &p, NULL, &err), 0);
    char want[64];
    fs_strlcpy(want, p->version, sizeof(want));
    fs_policy_free(p);
    int n, failed = 0;
    for (n = 1; n < 100000; n++) {
        char spec[32];
        snprintf(spec, sizeof(spec), "alloc@%dx1", n);
        assert_int_equal(fs_fault_arm(spec), 0);
        p = NULL;
        int rc = fs_policy_load_buf(text, strlen(text), "op.yaml", true, &p, NULL, &err);
        fs_fault_arm(NULL);
        if (rc == 0) {
            assert_string_equal(p->version, want);
            fs_policy_free(p);
            break;
        }
        if (rc != -FS_E_NOMEM)
            fail_msg("allocation %d failed: rc %d (%s), want out_of_memory", n, rc, err.msg);
        assert_null(p);
        failed++;
    }
    assert_int_equal(failed, n - 1);
    assert_true(failed > 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_has_every_number),
        cmocka_unit_test(test_operator_file_merges_and_changes_version),
        cmocka_unit_test(test_problems_name_file_line_key),
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_names_and_levels),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
