/* Unit tests for the action catalog: the built-in catalog has the actions the design names with
 * their risk numbers; params are refused with the right err.path for every kind of bad value;
 * rendering fills placeholders without ever splitting or injecting an argument; an operator
 * file replaces, adds and removes actions and changes the version; every broken document is
 * reported with file:line and key. */
#include "unit.h"

#include <unistd.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/embed.h"
#include "core/fault.h"
#include "core/json.h"
#include "core/time.h"
#include "safety/catalog.h"
#include "tools/registry.h"

static char tmpdir[] = "/tmp/fs-catalog-XXXXXX";
static struct fs_catalog *def; /* the built-in catalog, loaded once */

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

static int setup(void **state)
{
    struct fs_err err;
    struct fs_buf diag = FS_BUF_INIT(0);
    if (!mkdtemp(tmpdir))
        return -1;
    if (fs_catalog_load(NULL, &def, &diag, &err) < 0) {
        fprintf(stderr, "the built-in catalog does not load:\n%s", fs_buf_str(&diag));
        return -1;
    }
    fs_buf_release(&diag);
    return 0;
}

static int teardown(void **state)
{
    fs_catalog_free(def);
    return 0;
}

/* Load a catalog from text (no base) that must be valid. */
static struct fs_catalog *load_text(const char *yaml, const struct fs_catalog *base)
{
    struct fs_catalog *c = NULL;
    struct fs_err err;
    struct fs_buf diag = FS_BUF_INIT(0);
    if (fs_catalog_load_buf(yaml, strlen(yaml), "t.yaml", base, &c, &diag, &err) < 0)
        fail_msg("catalog does not load:\n%s", fs_buf_str(&diag));
    fs_buf_release(&diag);
    return c;
}

static const struct fs_action *action(const char *name)
{
    const struct fs_action *a = fs_catalog_find(def, name);
    if (!a)
        fail_msg("the built-in catalog has no action %s", name);
    return a;
}

static json_t *js(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
    if (!v)
        fail_msg("bad JSON in test: %s: %s", text, e.text);
    return v;
}

/* v (consumed) equals the JSON text want, key order aside. */
static void assert_json(json_t *v, const char *want)
{
    assert_non_null(v);
    json_t *w = js(want);
    char *a = fs_json_canonical(v), *b = fs_json_canonical(w);
    if (strcmp(a, b) != 0)
        fail_msg("got  %s\nwant %s", a, b);
    free(a);
    free(b);
    json_decref(v);
    json_decref(w);
}

/* ---- the built-in catalog ---------------------------------------------------------------- */

static const struct {
    const char *name, *category;
    int tier, baseline;
    enum fs_reversible rev;
    const char *params;  /* declared param names, in order */
    const char *example; /* params that must pass and render for every target */
} table[] = {
    {"journal_vacuum", "log_cleanup", 1, 5, FS_REV_NO, "max_size directory below_pct",
     "{\"max_size\":\"1G\"}"},
    {"logs_cleanup_rotated", "log_cleanup", 1, 5, FS_REV_NO, "path older_than_days below_pct",
     "{\"path\":\"/var/log/nginx\",\"older_than_days\":14}"},
    {"tmp_cleanup", "log_cleanup", 1, 10, FS_REV_NO, "path older_than_days below_pct",
     "{\"path\":\"/var/tmp\",\"older_than_days\":3}"},
    {"package_cache_clean", "cache_cleanup", 1, 5, FS_REV_YES, "below_pct", "{}"},
    {"cache_flush", "cache_cleanup", 1, 20, FS_REV_YES, "name", "{\"name\":\"sessions\"}"},
    {"core_dump_cleanup", "data_deletion", 2, 30, FS_REV_NO, "older_than_days below_pct",
     "{\"older_than_days\":30}"},
    {"service_restart", "service_restart", 1, 20, FS_REV_YES, "unit",
     "{\"unit\":\"nginx.service\"}"},
    {"k8s_rollout_restart", "service_restart", 1, 25, FS_REV_YES, "namespace deployment",
     "{\"namespace\":\"prod\",\"deployment\":\"api\"}"},
    {"k8s_scale", "scale", 1, 25, FS_REV_YES, "namespace deployment replicas",
     "{\"namespace\":\"prod\",\"deployment\":\"api\",\"replicas\":4}"},
    {"process_kill", "process_kill", 2, 35, FS_REV_NO, "pid signal", "{\"pid\":4242}"},
    {"cert_renew", "config_change", 2, 30, FS_REV_YES, "name", "{\"name\":\"example.com\"}"},
    {"config_set", "config_change", 2, 40, FS_REV_YES, "file key value",
     "{\"file\":\"/etc/app/app.conf\",\"key\":\"workers\",\"value\":\"8\"}"},
    {"package_upgrade", "package_change", 2, 50, FS_REV_NO, "package", "{\"package\":\"openssl\"}"},
    {"circuit_break_provider", "circuit_break", 1, 15, FS_REV_YES, "provider duration_s",
     "{\"provider\":\"openai\",\"duration_s\":120}"},
    {"reroute_model_group", "reroute", 1, 25, FS_REV_YES, "model_group to_provider",
     "{\"model_group\":\"gpt-4o\",\"to_provider\":\"azure\"}"},
    {"raise_rate_limit", "rate_limit", 1, 30, FS_REV_YES, "team percent",
     "{\"team\":\"search\",\"percent\":20}"},
    {"page_oncall", "page", 1, 35, FS_REV_NOTIFICATION, "summary",
     "{\"summary\":\"disk on db1 will be full in 2h; cleanup failed\"}"},
    {"disable_guardrail_rule", "guardrail", 2, 60, FS_REV_YES, "rule", "{\"rule\":\"pii-email\"}"},
    {"bump_budget_cap", "budget", 2, 75, FS_REV_YES, "scope amount",
     "{\"scope\":\"team:search\",\"amount\":500}"},
    {"disable_sla_contract", "sla", 2, 85, FS_REV_YES, "contract", "{\"contract\":\"acme-gold\"}"},
};

static void test_default_has_the_design_actions(void **state)
{
    const json_t *target = js("{\"host\":\"db1.example.com\",\"service\":\"api\"}");
    for (size_t i = 0; i < FS_ARRAY_LEN(table); i++) {
        const struct fs_action *a = action(table[i].name);
        if (strcmp(a->category, table[i].category) != 0 || a->tier != table[i].tier ||
            a->baseline_risk != table[i].baseline || a->reversible != table[i].rev)
            fail_msg("%s: got %s/tier %d/risk %d/rev %d", a->name, a->category, a->tier,
                     a->baseline_risk, (int)a->reversible);
        char names[256] = "";
        for (size_t p = 0; p < a->nparams; p++) {
            size_t n = strlen(names);
            snprintf(names + n, sizeof(names) - n, "%s%s", p ? " " : "", a->params[p].name);
            assert_non_null(a->params[p].description);
            /* every free-text param is constrained by an anchored pattern */
            if (a->params[p].type == FS_PARAM_STRING)
                assert_non_null(a->params[p].pattern);
        }
        if (strcmp(names, table[i].params) != 0)
            fail_msg("%s: params \"%s\", want \"%s\"", a->name, names, table[i].params);
        assert_true(strlen(a->description) > 20);
        assert_non_null(strstr(a->source, "etc/catalog.yaml:"));
        if (a->rollback)
            assert_non_null(fs_catalog_find(def, a->rollback));

        /* the example passes and renders for every target kind the action offers */
        json_t *params = js(table[i].example);
        struct fs_err err;
        if (fs_action_check_params(a, params, NULL, &err) < 0)
            fail_msg("%s: example refused: %s", a->name, err.msg);
        int kinds = 0;
        for (int k = 0; k < FS_TARGET__COUNT; k++) {
            if (!a->targets[k])
                continue;
            kinds++;
            json_t *out = NULL;
            if (fs_action_render(a, (enum fs_target_kind)k, params, target, &out, &err) < 0)
                fail_msg("%s: %s: %s", a->name, fs_target_kind_name(k), err.msg);
            if (k <= FS_TARGET_KUBECTL)
                assert_int_equal(json_array_size(out),
                                 json_array_size(json_object_get(a->targets[k], "argv")));
            json_decref(out);
        }
        assert_true(kinds >= 1);
        json_decref(params);
    }
    json_decref((json_t *)target);
}

static void test_default_invariants(void **state)
{
    assert_true(def->n >= FS_ARRAY_LEN(table));
    for (size_t i = 0; i < def->n; i++) {
        const struct fs_action *a = &def->actions[i];
        if (i > 0)
            assert_true(strcmp(def->actions[i - 1].name, a->name) < 0); /* sorted */
        assert_ptr_equal(fs_catalog_find(def, a->name), a);
        json_t *s = fs_action_params_schema(a), *j = fs_action_json(a);
        assert_non_null(s);
        assert_non_null(j);
        json_decref(s);
        json_decref(j);
    }
    assert_null(fs_catalog_find(def, "rm_rf"));
    assert_null(fs_catalog_find(def, ""));
    assert_null(fs_catalog_find(NULL, "journal_vacuum"));
    /* host actions run locally or over ssh; traffic actions are admin API calls */
    assert_non_null(action("journal_vacuum")->targets[FS_TARGET_SSH]);
    assert_non_null(action("k8s_scale")->targets[FS_TARGET_KUBECTL]);
    assert_non_null(action("disable_sla_contract")->targets[FS_TARGET_HTTP]);
    assert_string_equal(action("circuit_break_provider")->rollback, "circuit_restore_provider");
    assert_null(action("k8s_scale")->rollback);
}

static bool is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789abcdef", s[i]))
            return false;
    return s[n] == '\0';
}

static void test_version(void **state)
{
    /* "<declared>+<12 hex of the canonical catalog's SHA-256>" */
    assert_int_equal(strncmp(def->version, "2026.11+", 8), 0);
    assert_true(is_hex(def->version + 8, 12));

    /* the same bytes give the same version; from bytes or from the embedded file alike */
    const struct fs_embed_file *f = fs_embed_find("etc/catalog.yaml");
    struct fs_catalog *c = load_text((const char *)f->start, NULL);
    assert_string_equal(c->version, def->version);
    fs_catalog_free(c);

    /* order, comments and flow style do not change it; a value does */
    const char *one = "version: 3\n"
                      "actions:\n"
                      "  - {name: a, description: d, category: page, tier: 0, baseline_risk: 1,\n"
                      "     reversible: notification, idempotent: keyed,\n"
                      "     targets: {http: {method: POST, path: /p}}}\n"
                      "  - {name: b, description: d, category: page, tier: 0, baseline_risk: 1,\n"
                      "     reversible: notification, idempotent: keyed,\n"
                      "     targets: {http: {method: POST, path: /q}}}\n";
    const char *two = "# the same actions, the other way round\n"
                      "version: 3\n"
                      "actions:\n"
                      "  - name: b\n"
                      "    description: d\n"
                      "    idempotent: keyed\n"
                      "    category: page\n"
                      "    tier: 0\n"
                      "    baseline_risk: 1\n"
                      "    reversible: notification\n"
                      "    targets:\n"
                      "      http: {path: /q, method: POST}\n"
                      "  - {name: a, description: d, category: page, tier: 0, baseline_risk: 1,\n"
                      "     reversible: notification, idempotent: keyed,\n"
                      "     targets: {http: {method: POST, path: /p}}}\n";
    struct fs_catalog *c1 = load_text(one, NULL), *c2 = load_text(two, NULL);
    assert_int_equal(strncmp(c1->version, "3+", 2), 0);
    assert_true(is_hex(c1->version + 2, 12));
    assert_string_equal(c1->version, c2->version);
    fs_catalog_free(c2);
    const char *changed =
        "version: 3\n"
        "actions:\n"
        "  - {name: a, description: d, category: page, tier: 0, baseline_risk: 1,\n"
        "     reversible: notification, idempotent: keyed,\n"
        "     targets: {http: {method: POST, path: /p}}}\n"
        "  - {name: b, description: d, category: page, tier: 0, baseline_risk: 1,\n"
        "     reversible: notification, idempotent: keyed,\n"
        "     targets: {http: {method: POST, path: /r}}}\n";
    c2 = load_text(changed, NULL);
    assert_string_not_equal(c1->version, c2->version);
    assert_int_equal(strncmp(c2->version, "3+", 2), 0);
    fs_catalog_free(c1);
    fs_catalog_free(c2);

    /* a number is written in its shortest form; a string as it is */
    c = load_text("version: 2026.10\nactions: []\n", NULL);
    assert_int_equal(strncmp(c->version, "2026.1+", 7), 0);
    assert_int_equal(c->n, 0);
    fs_catalog_free(c);
    c = load_text("version: \"2026.10-rc1\"\nactions: []\n", NULL);
    assert_int_equal(strncmp(c->version, "2026.10-rc1+", 12), 0);
    fs_catalog_free(c);
}

static void test_target_kinds(void **state)
{
    for (int k = 0; k < FS_TARGET__COUNT; k++) {
        enum fs_target_kind got;
        assert_int_equal(fs_target_kind_parse(fs_target_kind_name(k), &got), 0);
        assert_int_equal(got, k);
    }
    enum fs_target_kind got;
    assert_int_equal(fs_target_kind_parse("shell", &got), -FS_E_INVALID);
    assert_int_equal(fs_target_kind_parse(NULL, &got), -FS_E_INVALID);
    assert_string_equal(fs_target_kind_name(FS_TARGET__COUNT), "?");
    int n = 0;
    while (fs_categories[n])
        n++;
    assert_int_equal(n, 17);
}

/* ---- params ------------------------------------------------------------------------------ */

static const struct {
    const char *action, *params;
    const char *path; /* NULL: accepted */
    const char *msg;  /* substring of the message */
} pcases[] = {
    /* unknown, missing, not an object */
    {"journal_vacuum", "{\"max_size\":\"1G\",\"force\":true}", "params.force", "unknown parameter"},
    {"journal_vacuum", "{\"max size\":\"1G\"}", "params[\"max size\"]", "unknown parameter"},
    {"journal_vacuum", "{}", "params.max_size", "required"},
    {"journal_vacuum", "[]", "params", "expected object"},
    {"journal_vacuum", "\"1G\"", "params", "expected object"},
    {"package_cache_clean", "{}", NULL, NULL},
    /* strings: type, pattern (whole value), control characters, length */
    {"journal_vacuum", "{\"max_size\":\"1G\"}", NULL, NULL},
    {"journal_vacuum", "{\"max_size\":\"500M\"}", NULL, NULL},
    {"journal_vacuum", "{\"max_size\":5}", "params.max_size", "expected string, got number"},
    {"journal_vacuum", "{\"max_size\":null}", "params.max_size", "expected string, got null"},
    {"journal_vacuum", "{\"max_size\":\"1T\"}", "params.max_size", "does not match"},
    /* the spec's pattern, ^[0-9]+[KMG]$: any number of units, bounded by max_length 8 */
    {"journal_vacuum", "{\"max_size\":\"0M\"}", NULL, NULL},
    {"journal_vacuum", "{\"max_size\":\"0001024K\"}", NULL, NULL},
    {"journal_vacuum", "{\"max_size\":\"G\"}", "params.max_size", "does not match"},
    {"journal_vacuum", "{\"max_size\":\"1.5G\"}", "params.max_size", "does not match"},
    {"journal_vacuum", "{\"max_size\":\"x1G\"}", "params.max_size", "does not match"},
    {"journal_vacuum", "{\"max_size\":\"1Gx\"}", "params.max_size", "does not match"},
    {"journal_vacuum", "{\"max_size\":\"1G\\n\"}", "params.max_size", "control characters"},
    {"journal_vacuum", "{\"max_size\":\"123456789G\"}", "params.max_size", "at most 8"},
    {"service_restart", "{\"unit\":\"nginx.service\"}", NULL, NULL},
    {"service_restart", "{\"unit\":\"getty@tty1.service\"}", NULL, NULL},
    {"service_restart", "{\"unit\":\"nginx\"}", "params.unit", "does not match"},
    /* the spec's pattern, ^[A-Za-z0-9@._-]+\.service$, lets a name start with "-"; rendering
     * refuses it (test_render_argv), so systemctl never reads it as an option */
    {"service_restart", "{\"unit\":\"-H.service\"}", NULL, NULL},
    {"service_restart", "{\"unit\":\".service\"}", "params.unit", "does not match"},
    {"service_restart", "{\"unit\":\"a=b.service\"}", "params.unit", "does not match"},
    {"service_restart", "{\"unit\":\"a.service b.service\"}", "params.unit", "does not match"},
    {"service_restart", "{\"unit\":\"nginx.service; reboot\"}", "params.unit", "does not match"},
    {"page_oncall", "{\"summary\":\"disk full\\tsoon\"}", "params.summary", "control characters"},
    {"page_oncall", "{\"summary\":\"disk full\\u0085soon\"}", "params.summary", "control"},
    {"page_oncall", "{\"summary\":\"d\\u00efsk full\"}", NULL, NULL},
    {"k8s_scale", "{\"namespace\":\"Prod\",\"deployment\":\"a\",\"replicas\":1}",
     "params.namespace", "does not match"},
    {"package_upgrade", "{\"package\":\"libc6\"}", NULL, NULL},
    {"package_upgrade", "{\"package\":\"g++\"}", NULL, NULL},
    {"package_upgrade", "{\"package\":\"-y\"}", "params.package", "does not match"},
    {"bump_budget_cap", "{\"scope\":\"galaxy:x\",\"amount\":1}", "params.scope", "does not match"},
    /* integers: JSON integers only; range edges min-1/min/max/max+1 */
    {"k8s_scale", "{\"namespace\":\"p\",\"deployment\":\"a\",\"replicas\":0}", "params.replicas",
     "between 1 and 100, got 0"},
    {"k8s_scale", "{\"namespace\":\"p\",\"deployment\":\"a\",\"replicas\":1}", NULL, NULL},
    {"k8s_scale", "{\"namespace\":\"p\",\"deployment\":\"a\",\"replicas\":100}", NULL, NULL},
    {"k8s_scale", "{\"namespace\":\"p\",\"deployment\":\"a\",\"replicas\":101}", "params.replicas",
     "between 1 and 100, got 101"},
    {"k8s_scale", "{\"namespace\":\"p\",\"deployment\":\"a\",\"replicas\":2.0}", "params.replicas",
     "expected integer"},
    {"k8s_scale", "{\"namespace\":\"p\",\"deployment\":\"a\",\"replicas\":\"2\"}",
     "params.replicas", "expected integer, got string"},
    {"k8s_scale", "{\"namespace\":\"p\",\"deployment\":\"a\",\"replicas\":true}", "params.replicas",
     "expected integer, got boolean"},
    {"process_kill", "{\"pid\":1}", "params.pid", "between 2 and 4194304"},
    {"process_kill", "{\"pid\":2}", NULL, NULL},
    {"process_kill", "{\"pid\":4194304}", NULL, NULL},
    {"process_kill", "{\"pid\":4194305}", "params.pid", "between 2 and 4194304"},
    {"process_kill", "{\"pid\":-1}", "params.pid", "between 2"},
    {"logs_cleanup_rotated", "{\"path\":\"/var/log\",\"older_than_days\":0}",
     "params.older_than_days", "between 1 and 365"},
    {"logs_cleanup_rotated", "{\"path\":\"/var/log\",\"older_than_days\":1}", NULL, NULL},
    {"logs_cleanup_rotated", "{\"path\":\"/var/log\",\"older_than_days\":365}", NULL, NULL},
    {"logs_cleanup_rotated", "{\"path\":\"/var/log\",\"older_than_days\":366}",
     "params.older_than_days", "between 1 and 365"},
    {"circuit_break_provider", "{\"provider\":\"x\",\"duration_s\":301}", "params.duration_s",
     "between 1 and 300"},
    /* enums: exact strings */
    {"process_kill", "{\"pid\":99,\"signal\":\"KILL\"}", NULL, NULL},
    {"process_kill", "{\"pid\":99,\"signal\":\"HUP\"}", "params.signal",
     "expected one of TERM, KILL; got \"HUP\""},
    {"process_kill", "{\"pid\":99,\"signal\":\"term\"}", "params.signal", "expected one of"},
    {"process_kill", "{\"pid\":99,\"signal\":\"TERM \"}", "params.signal", "expected one of"},
    {"process_kill", "{\"pid\":99,\"signal\":15}", "params.signal", "expected string"},
    /* paths: absolute, normalised, under a root on a component boundary */
    {"logs_cleanup_rotated", "{\"path\":\"/var/log\"}", NULL, NULL},
    {"logs_cleanup_rotated", "{\"path\":\"/var/log/nginx\"}", NULL, NULL},
    {"logs_cleanup_rotated", "{\"path\":\"/var/log/..x/y\"}", NULL, NULL},
    {"logs_cleanup_rotated", "{\"path\":\"/var/log/../etc\"}", "params.path", ".. components"},
    {"logs_cleanup_rotated", "{\"path\":\"/var/log/..\"}", "params.path", ".. components"},
    {"logs_cleanup_rotated", "{\"path\":\"/var/log/./nginx\"}", "params.path", ".. components"},
    {"logs_cleanup_rotated", "{\"path\":\"/var/logx\"}", "params.path",
     "\"/var/logx\" is not /var/log or below"},
    {"logs_cleanup_rotated", "{\"path\":\"/var/lo\"}", "params.path", "is not /var/log or below"},
    {"logs_cleanup_rotated", "{\"path\":\"/var/log//a\"}", "params.path", "must not contain //"},
    {"logs_cleanup_rotated", "{\"path\":\"/var/log/\"}", "params.path", "must not end with /"},
    {"logs_cleanup_rotated", "{\"path\":\"var/log/a\"}", "params.path", "absolute"},
    {"logs_cleanup_rotated", "{\"path\":\"\"}", "params.path", "absolute"},
    {"logs_cleanup_rotated", "{\"path\":\"/etc/passwd\"}", "params.path", "or below"},
    {"logs_cleanup_rotated", "{\"path\":\"/var/log/a\\u0001b\"}", "params.path", "control"},
    {"logs_cleanup_rotated", "{\"path\":\"/var/log/a\\nb\"}", "params.path", "control"},
    {"logs_cleanup_rotated", "{\"path\":7}", "params.path", "expected a path (string)"},
    {"tmp_cleanup", "{\"path\":\"/tmp\"}", NULL, NULL},
    {"tmp_cleanup", "{\"path\":\"/var/tmp/build\"}", NULL, NULL},
    {"tmp_cleanup", "{\"path\":\"/tmpfoo\"}", "params.path", "is not /tmp or /var/tmp or below"},
    {"tmp_cleanup", "{\"path\":\"/\"}", "params.path", "or below"},
    {"config_set", "{\"file\":\"/etc/app.conf\",\"key\":\"k\",\"value\":\"v\"}", NULL, NULL},
    {"config_set", "{\"file\":\"/etc/shadow\",\"key\":\"k\",\"value\":\"v\"}", "params.file",
     "does not match"},
    {"config_set", "{\"file\":\"/etcx/app.conf\",\"key\":\"k\",\"value\":\"v\"}", "params.file",
     "or below"},
};

static void test_params(void **state)
{
    for (size_t i = 0; i < FS_ARRAY_LEN(pcases); i++) {
        json_t *p = js(pcases[i].params);
        struct fs_err err;
        memset(&err, 0, sizeof(err));
        json_t *norm = NULL;
        int rc = fs_action_check_params(action(pcases[i].action), p, &norm, &err);
        if (!pcases[i].path) {
            if (rc != 0)
                fail_msg("case %zu %s %s: refused: %s", i, pcases[i].action, pcases[i].params,
                         err.msg);
            assert_non_null(norm);
        } else {
            if (rc != -FS_E_INVALID_PAYLOAD || err.code != FS_E_INVALID_PAYLOAD)
                fail_msg("case %zu %s %s: rc %d, want invalid_payload", i, pcases[i].action,
                         pcases[i].params, rc);
            if (strcmp(err.path, pcases[i].path) != 0 || !strstr(err.msg, pcases[i].msg) ||
                strncmp(err.msg, err.path, strlen(err.path)) != 0)
                fail_msg("case %zu %s %s: got %s / %s; want %s / %s", i, pcases[i].action,
                         pcases[i].params, err.path, err.msg, pcases[i].path, pcases[i].msg);
            assert_null(norm);
        }
        json_decref(norm);
        json_decref(p);
    }
    /* service_restart.unit keeps a length bound through max_length: systemd's 255 */
    char unit[300];
    memset(unit, 'a', sizeof(unit));
    for (size_t n = 254; n <= 256; n++) {
        memcpy(unit + n - 8, ".service", 9); /* n characters in all */
        json_t *p = json_pack("{s:s}", "unit", unit);
        struct fs_err err;
        int rc = fs_action_check_params(action("service_restart"), p, NULL, &err);
        if (n <= 255)
            assert_int_equal(rc, 0);
        else {
            assert_int_equal(rc, -FS_E_INVALID_PAYLOAD);
            assert_non_null(strstr(err.msg, "at most 255 characters"));
        }
        json_decref(p);
        memset(unit, 'a', sizeof(unit));
    }
}

static void test_params_defaults_and_null(void **state)
{
    struct fs_err err;
    json_t *norm;
    json_t *p = js("{\"path\":\"/var/log/nginx\"}");
    assert_int_equal(fs_action_check_params(action("logs_cleanup_rotated"), p, &norm, &err), 0);
    assert_json(norm, "{\"path\":\"/var/log/nginx\",\"older_than_days\":7,\"below_pct\":80}");
    json_decref(p);
    p = js("{\"pid\":77}");
    assert_int_equal(fs_action_check_params(action("process_kill"), p, &norm, &err), 0);
    assert_json(norm, "{\"pid\":77,\"signal\":\"TERM\"}");
    json_decref(p);
    /* NULL means {} */
    assert_int_equal(fs_action_check_params(action("package_cache_clean"), NULL, &norm, &err), 0);
    assert_json(norm, "{\"below_pct\":80}");
    assert_int_equal(fs_action_check_params(action("journal_vacuum"), NULL, NULL, &err),
                     -FS_E_INVALID_PAYLOAD);
    assert_string_equal(err.path, "params.max_size");
    assert_string_equal(err.msg, "params.max_size: required");
    /* a NUL byte inside a string (not from fs_json_parse, which refuses it) */
    p = json_object();
    json_object_set_new(p, "max_size", json_stringn("1G\0x", 4));
    assert_int_equal(fs_action_check_params(action("journal_vacuum"), p, NULL, &err),
                     -FS_E_INVALID_PAYLOAD);
    assert_string_equal(err.path, "params.max_size");
    json_decref(p);
}

/* A catalog for the cases the built-in one does not cover. */
static const char *const custom =
    "version: t1\n"
    "actions:\n"
    "  - name: echo\n"
    "    description: Prints things.\n"
    "    category: read_only\n"
    "    tier: 0\n"
    "    baseline_risk: 0\n"
    "    reversible: true\n"
    "    idempotent: absolute\n"
    "    params:\n"
    "      msg: {type: string, description: Free text., max_length: 5}\n"
    "      n: {type: integer, description: A number., min: -5}\n"
    "      flag: {type: boolean, description: A switch., required: false}\n"
    "      note: {type: string, description: Optional., required: false}\n"
    "      dir: {type: path, description: Anywhere., under: [/], default: /}\n"
    "    targets:\n"
    "      local: {argv: [echo, \"{msg}\", \"x-{msg}-y\", \"{target.host}:{n}\", \"{{{dir}}}\"]}\n"
    "      ssh: {argv: [/bin/echo, \"{msg}{n}\"]}\n"
    "      kubectl: {argv: [annotate, \"ns/{target.namespace}\", \"note={msg}\"]}\n"
    "      http:\n"
    "        method: PUT\n"
    "        path: \"/things/{msg}/{dir}/{target.service}\"\n"
    "        body: {msg: \"{msg}\", n: \"{n}\", flag: \"{flag}\", note: \"{note}\",\n"
    "               text: \"n={n} dir={dir}\", list: [\"{n}\", \"{{lit}}\"], fixed: 3}\n"
    "      mcp: {server: tools, tool: echo, arguments: {m: \"{msg}\", nested: {n: \"{n}\"}}}\n";

static void test_params_custom_types(void **state)
{
    struct fs_catalog *c = load_text(custom, NULL);
    const struct fs_action *a = fs_catalog_find(c, "echo");
    struct fs_err err;
    json_t *norm;
    json_t *p = js("{\"msg\":\"héllo\",\"n\":-5,\"flag\":false}"); /* 5 characters, 6 bytes */
    assert_int_equal(fs_action_check_params(a, p, &norm, &err), 0);
    assert_json(norm, "{\"msg\":\"héllo\",\"n\":-5,\"flag\":false,\"dir\":\"/\"}");
    json_decref(p);
    static const struct {
        const char *params, *path, *msg;
    } bad[] = {
        {"{\"msg\":\"hello!\",\"n\":1}", "params.msg", "at most 5 characters, got 6"},
        {"{\"msg\":\"h\",\"n\":-6}", "params.n", "at least -5, got -6"},
        {"{\"msg\":\"h\",\"n\":1,\"flag\":\"yes\"}", "params.flag", "expected true or false"},
        {"{\"msg\":\"h\",\"n\":1,\"flag\":1}", "params.flag", "expected true or false"},
        {"{\"msg\":\"h\",\"n\":1,\"dir\":\"/a/../b\"}", "params.dir", ".. components"},
        {"{\"msg\":\"h\",\"n\":1,\"dir\":\"//\"}", "params.dir", "end with /"},
        {"{\"msg\":\"h\",\"n\":1e3}", "params.n", "fraction or exponent"},
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(bad); i++) {
        p = js(bad[i].params);
        assert_int_equal(fs_action_check_params(a, p, NULL, &err), -FS_E_INVALID_PAYLOAD);
        if (strcmp(err.path, bad[i].path) != 0 || !strstr(err.msg, bad[i].msg))
            fail_msg("%s: got %s / %s", bad[i].params, err.path, err.msg);
        json_decref(p);
    }
    fs_catalog_free(c);
}

/* ---- rendering --------------------------------------------------------------------------- */

static json_t *render(const struct fs_action *a, enum fs_target_kind k, const char *params,
                      const char *target)
{
    json_t *p = js(params), *t = target ? js(target) : NULL, *out = NULL;
    struct fs_err err;
    if (fs_action_render(a, k, p, t, &out, &err) < 0)
        fail_msg("%s/%s: %s", a->name, fs_target_kind_name(k), err.msg);
    json_decref(p);
    json_decref(t);
    return out;
}

static void render_fails(const struct fs_action *a, enum fs_target_kind k, const char *params,
                         const char *target, int code, const char *path)
{
    json_t *p = js(params), *t = target ? js(target) : NULL, *out = (json_t *)1;
    struct fs_err err;
    memset(&err, 0, sizeof(err));
    int rc = fs_action_render(a, k, p, t, &out, &err);
    if (rc != -code || (path && strcmp(err.path, path) != 0))
        fail_msg("%s %s: rc %d path %s (%s); want -%d %s", a->name, params, rc, err.path, err.msg,
                 code, path ? path : "");
    assert_null(out);
    json_decref(p);
    json_decref(t);
}

static void test_render_argv(void **state)
{
    assert_json(render(action("journal_vacuum"), FS_TARGET_LOCAL, "{\"max_size\":\"1G\"}", NULL),
                "[\"journalctl\",\"--directory=/var/log/journal\",\"--vacuum-size=1G\"]");
    assert_json(render(action("journal_vacuum"), FS_TARGET_SSH, "{\"max_size\":\"500M\"}", NULL),
                "[\"journalctl\",\"--directory=/var/log/journal\",\"--vacuum-size=500M\"]");
    assert_json(render(action("logs_cleanup_rotated"), FS_TARGET_SSH,
                       "{\"path\":\"/var/log/nginx\",\"older_than_days\":14}", NULL),
                "[\"find\",\"/var/log/nginx\",\"-xdev\",\"-type\",\"f\",\"(\",\"-name\",\"*.gz\","
                "\"-o\",\"-name\",\"*.[0-9]\",\"-o\",\"-name\",\"*.old\",\")\",\"-mtime\",\"+14\","
                "\"-delete\"]");
    assert_json(render(action("tmp_cleanup"), FS_TARGET_LOCAL, "{\"path\":\"/tmp\"}", NULL),
                "[\"find\",\"/tmp\",\"-xdev\",\"-mindepth\",\"1\",\"-type\",\"f\",\"-mtime\","
                "\"+10\",\"-delete\"]");
    assert_json(render(action("process_kill"), FS_TARGET_LOCAL, "{\"pid\":1234}", NULL),
                "[\"kill\",\"-s\",\"TERM\",\"1234\"]");
    assert_json(
        render(action("service_restart"), FS_TARGET_SSH, "{\"unit\":\"nginx.service\"}", NULL),
        "[\"systemctl\",\"restart\",\"nginx.service\"]");
    assert_json(render(action("package_cache_clean"), FS_TARGET_LOCAL, "{}", NULL),
                "[\"apt-get\",\"clean\"]");
    assert_json(render(action("k8s_scale"), FS_TARGET_KUBECTL,
                       "{\"namespace\":\"prod\",\"deployment\":\"web.v2\",\"replicas\":3}", NULL),
                "[\"scale\",\"deployment/web.v2\",\"--replicas=3\",\"-n\",\"prod\"]");
    assert_json(render(action("k8s_rollout_restart"), FS_TARGET_KUBECTL,
                       "{\"namespace\":\"prod\",\"deployment\":\"web\"}", NULL),
                "[\"rollout\",\"restart\",\"deployment/web\",\"-n\",\"prod\"]");
    /* a value with spaces stays one argument */
    assert_json(render(action("config_set"), FS_TARGET_LOCAL,
                       "{\"file\":\"/etc/app/app.conf\",\"key\":\"banner\",\"value\":\"a b  c\"}",
                       NULL),
                "[\"crudini\",\"--set\",\"/etc/app/app.conf\",\"\",\"banner\",\"a b  c\"]");
    /* the params are checked again: nothing unchecked is ever rendered */
    render_fails(action("journal_vacuum"), FS_TARGET_LOCAL, "{\"max_size\":\"1G --rotate\"}", NULL,
                 FS_E_INVALID_PAYLOAD, "params.max_size");
    render_fails(action("journal_vacuum"), FS_TARGET_LOCAL, "{}", NULL, FS_E_INVALID_PAYLOAD,
                 "params.max_size");
    /* a unit name the spec's pattern accepts but that would read as an option (-H: another
     * host) never reaches systemctl */
    render_fails(action("service_restart"), FS_TARGET_SSH, "{\"unit\":\"-H.service\"}", NULL,
                 FS_E_INVALID_PAYLOAD, "params.unit");
    /* a kind the action does not offer */
    render_fails(action("journal_vacuum"), FS_TARGET_KUBECTL, "{\"max_size\":\"1G\"}", NULL,
                 FS_E_INVALID, NULL);
    render_fails(action("journal_vacuum"), FS_TARGET__COUNT, "{\"max_size\":\"1G\"}", NULL,
                 FS_E_INVALID, NULL);
}

static void test_render_never_splits_or_injects(void **state)
{
    struct fs_catalog *c = load_text(custom, NULL);
    const struct fs_action *a = fs_catalog_find(c, "echo");
    const char *host = "{\"host\":\"db1.example.com\",\"namespace\":\"prod\"}";
    assert_json(render(a, FS_TARGET_LOCAL, "{\"msg\":\"a b;c\",\"n\":7}", host),
                "[\"echo\",\"a b;c\",\"x-a b;c-y\",\"db1.example.com:7\",\"{/}\"]");
    assert_json(render(a, FS_TARGET_LOCAL, "{\"msg\":\"$(x)\",\"n\":0,\"dir\":\"/a b\"}", host),
                "[\"echo\",\"$(x)\",\"x-$(x)-y\",\"db1.example.com:0\",\"{/a b}\"]");
    assert_json(render(a, FS_TARGET_SSH, "{\"msg\":\"a\",\"n\":-5}", NULL),
                "[\"/bin/echo\",\"a-5\"]");
    /* a value where an argument starts may not look like an option; inside one it may */
    render_fails(a, FS_TARGET_LOCAL, "{\"msg\":\"-rf\",\"n\":1}", host, FS_E_INVALID_PAYLOAD,
                 "params.msg");
    render_fails(a, FS_TARGET_LOCAL, "{\"msg\":\"\",\"n\":1}", host, FS_E_INVALID_PAYLOAD,
                 "params");
    /* target fields: needed when named, and shaped like names */
    render_fails(a, FS_TARGET_LOCAL, "{\"msg\":\"a\",\"n\":1}", NULL, FS_E_INVALID_PAYLOAD,
                 "target.host");
    render_fails(a, FS_TARGET_LOCAL, "{\"msg\":\"a\",\"n\":1}", "{\"host\":\"-oProxyCommand=x\"}",
                 FS_E_INVALID_PAYLOAD, "target.host");
    render_fails(a, FS_TARGET_LOCAL, "{\"msg\":\"a\",\"n\":1}", "{\"host\":\"a b\"}",
                 FS_E_INVALID_PAYLOAD, "target.host");
    render_fails(a, FS_TARGET_LOCAL, "{\"msg\":\"a\",\"n\":1}", "{\"host\":7}",
                 FS_E_INVALID_PAYLOAD, "target.host");
    render_fails(a, FS_TARGET_LOCAL, "{\"msg\":\"a\",\"n\":1}", "[]", FS_E_INVALID_PAYLOAD,
                 "target");
    assert_json(render(a, FS_TARGET_LOCAL, "{\"msg\":\"a\",\"n\":1}", "{\"host\":\"::1\"}"),
                "[\"echo\",\"a\",\"x-a-y\",\"::1:1\",\"{/}\"]");
    assert_json(render(a, FS_TARGET_KUBECTL, "{\"msg\":\"-a\",\"n\":1}", host),
                "[\"annotate\",\"ns/prod\",\"note=-a\"]");
    fs_catalog_free(c);
}

static void test_render_http_and_mcp(void **state)
{
    /* path values are percent-encoded; a body string that is exactly {x} keeps x's type */
    assert_json(render(action("bump_budget_cap"), FS_TARGET_HTTP,
                       "{\"scope\":\"team:search\",\"amount\":500}", NULL),
                "{\"method\":\"POST\",\"path\":\"/admin/budgets/team%3Asearch/cap/bump\","
                "\"body\":{\"amount_usd\":500}}");
    assert_json(render(action("circuit_break_provider"), FS_TARGET_HTTP,
                       "{\"provider\":\"openai\",\"duration_s\":60}", NULL),
                "{\"method\":\"POST\",\"path\":\"/admin/providers/openai/circuit-break\","
                "\"body\":{\"duration_s\":60}}");
    assert_json(render(action("disable_sla_contract"), FS_TARGET_HTTP,
                       "{\"contract\":\"acme-gold\"}", NULL),
                "{\"method\":\"POST\",\"path\":\"/admin/sla/contracts/acme-gold/disable\"}");
    assert_json(
        render(action("page_oncall"), FS_TARGET_HTTP, "{\"summary\":\"db1: disk 95%\"}", NULL),
        "{\"method\":\"POST\",\"path\":\"/api/v1/pages\","
        "\"body\":{\"summary\":\"db1: disk 95%\"}}");
    assert_json(
        render(action("page_oncall"), FS_TARGET_MCP, "{\"summary\":\"db1: disk 95%\"}", NULL),
        "{\"server\":\"pager\",\"tool\":\"create_page\","
        "\"arguments\":{\"summary\":\"db1: disk 95%\"}}");

    struct fs_catalog *c = load_text(custom, NULL);
    const struct fs_action *a = fs_catalog_find(c, "echo");
    const char *svc = "{\"service\":\"api\"}";
    /* everything outside the unreserved set is escaped, "/" and "%" included */
    assert_json(render(a, FS_TARGET_HTTP,
                       "{\"msg\":\"a/?#%\",\"n\":2,\"flag\":true,"
                       "\"note\":\"hi\",\"dir\":\"/x y\"}",
                       svc),
                "{\"method\":\"PUT\",\"path\":\"/things/a%2F%3F%23%25/%2Fx%20y/api\","
                "\"body\":{\"msg\":\"a/?#%\",\"n\":2,\"flag\":true,\"note\":\"hi\","
                "\"text\":\"n=2 dir=/x y\",\"list\":[2,\"{lit}\"],\"fixed\":3}}");
    /* an optional param without a value drops its member; a default fills in */
    assert_json(render(a, FS_TARGET_HTTP, "{\"msg\":\"a~b.c\",\"n\":2,\"flag\":false}", svc),
                "{\"method\":\"PUT\",\"path\":\"/things/a~b.c/%2F/api\","
                "\"body\":{\"msg\":\"a~b.c\",\"n\":2,\"flag\":false,"
                "\"text\":\"n=2 dir=/\",\"list\":[2,\"{lit}\"],\"fixed\":3}}");
    assert_json(render(a, FS_TARGET_HTTP, "{\"msg\":\"a\",\"n\":2}", svc),
                "{\"method\":\"PUT\",\"path\":\"/things/a/%2F/api\","
                "\"body\":{\"msg\":\"a\",\"n\":2,"
                "\"text\":\"n=2 dir=/\",\"list\":[2,\"{lit}\"],\"fixed\":3}}");
    render_fails(a, FS_TARGET_HTTP, "{\"msg\":\"a\",\"n\":2,\"flag\":false}", NULL,
                 FS_E_INVALID_PAYLOAD, "target.service");
    assert_json(render(a, FS_TARGET_MCP, "{\"msg\":\"é\",\"n\":-1}", NULL),
                "{\"server\":\"tools\",\"tool\":\"echo\","
                "\"arguments\":{\"m\":\"é\",\"nested\":{\"n\":-1}}}");
    fs_catalog_free(c);
}

/* ---- operator files ---------------------------------------------------------------------- */

static const char *const operator_file =
    "# site catalog\n"
    "actions:\n"
    "  - name: journal_vacuum\n" /* line 3: replaces the built-in one */
    "    description: Vacuum the journal, gently.\n"
    "    category: log_cleanup\n"
    "    tier: 1\n"
    "    baseline_risk: 7\n"
    "    reversible: false\n"
    "    idempotent: absolute\n"
    "    params:\n"
    "      max_size: {type: enum, description: Size., values: [1G, 2G]}\n"
    "    targets:\n"
    "      local: {argv: [/usr/bin/journalctl, \"--vacuum-size={max_size}\"]}\n"
    "  - name: nginx_reload\n" /* line 14: a new action */
    "    description: Reload nginx's configuration.\n"
    "    category: service_restart\n"
    "    tier: 1\n"
    "    baseline_risk: 10\n"
    "    reversible: true\n"
    "    idempotent: absolute\n"
    "    targets:\n"
    "      ssh: {argv: [systemctl, reload, nginx.service]}\n"
    "    rollback: service_restart\n"
    "remove: [tmp_cleanup, core_dump_cleanup]\n";

static void test_operator_file(void **state)
{
    const char *file = write_file("site.yaml", operator_file);
    struct fs_catalog *c;
    struct fs_err err;
    struct fs_buf diag = FS_BUF_INIT(0);
    if (fs_catalog_load(file, &c, &diag, &err) < 0)
        fail_msg("%s", fs_buf_str(&diag));
    assert_int_equal(c->n, def->n + 1 - 2);
    const struct fs_action *jv = fs_catalog_find(c, "journal_vacuum");
    assert_int_equal(jv->baseline_risk, 7);
    assert_int_equal(jv->params[0].type, FS_PARAM_ENUM);
    assert_null(jv->targets[FS_TARGET_SSH]);
    char want[600];
    snprintf(want, sizeof(want), "%s:3", file);
    assert_string_equal(jv->source, want);
    const struct fs_action *nr = fs_catalog_find(c, "nginx_reload");
    assert_non_null(nr);
    snprintf(want, sizeof(want), "%s:14", file);
    assert_string_equal(nr->source, want);
    assert_null(fs_catalog_find(c, "tmp_cleanup"));
    assert_null(fs_catalog_find(c, "core_dump_cleanup"));
    /* untouched built-ins are kept, whole */
    const struct fs_action *pk = fs_catalog_find(c, "process_kill");
    assert_non_null(pk);
    assert_string_equal(pk->source, action("process_kill")->source);
    json_t *p = js("{\"pid\":5,\"signal\":\"HUP\"}");
    assert_int_equal(fs_action_check_params(pk, p, NULL, &err), -FS_E_INVALID_PAYLOAD);
    json_decref(p);
    for (size_t i = 1; i < c->n; i++)
        assert_true(strcmp(c->actions[i - 1].name, c->actions[i].name) < 0);
    /* the declared version is kept, the hash is not */
    assert_int_equal(strncmp(c->version, "2026.11+", 8), 0);
    assert_string_not_equal(c->version, def->version);
    assert_json(render(jv, FS_TARGET_LOCAL, "{\"max_size\":\"2G\"}", NULL),
                "[\"/usr/bin/journalctl\",\"--vacuum-size=2G\"]");
    fs_catalog_free(c);

    /* a declared version replaces the built-in one */
    c = load_text("version: site-7\nremove: [tmp_cleanup]\n", def);
    assert_int_equal(strncmp(c->version, "site-7+", 7), 0);
    assert_int_equal(c->n, def->n - 1);
    fs_catalog_free(c);
    /* an empty operator file changes nothing */
    c = load_text("# nothing here\n", def);
    assert_string_equal(c->version, def->version);
    assert_int_equal(c->n, def->n);
    fs_catalog_free(c);
    fs_buf_release(&diag);
}

static void expect_bad(const char *name, const char *yaml, const struct fs_catalog *base,
                       const char *where, const char *needle)
{
    struct fs_catalog *c = (struct fs_catalog *)1;
    struct fs_err err;
    struct fs_buf diag = FS_BUF_INIT(0);
    memset(&err, 0, sizeof(err));
    int rc = fs_catalog_load_buf(yaml, strlen(yaml), name, base, &c, &diag, &err);
    if (rc != -FS_E_CONFIG || err.code != FS_E_CONFIG)
        fail_msg("rc %d (want invalid_config) for:\n%s", rc, yaml);
    assert_null(c);
    if (strcmp(err.path, where) != 0)
        fail_msg("err.path %s, want %s (%s)", err.path, where, err.msg);
    /* the message starts with file:line, diag has the same line */
    assert_int_equal(strncmp(err.msg, where, strlen(where)), 0);
    if (!strstr(fs_buf_str(&diag), needle) || !strstr(fs_buf_str(&diag), err.msg))
        fail_msg("diagnostics lack \"%s\":\n%s", needle, fs_buf_str(&diag));
    fs_buf_release(&diag);
}

static void test_operator_file_problems(void **state)
{
    expect_bad("op.yaml", "remove:\n  - tmp_cleanup\n  - nope\n", def, "op.yaml:3",
               "op.yaml:3: remove[1]: no built-in action named \"nope\"");
    expect_bad("op.yaml", "remove: [enable_sla_contract]\n", def, "op.yaml:1",
               "remove[0]: cannot remove enable_sla_contract: it is the rollback of "
               "disable_sla_contract");
    expect_bad("op.yaml", "remove: [tmp_cleanup, tmp_cleanup]\n", def, "op.yaml:1",
               "tmp_cleanup is listed twice");
    expect_bad("op.yaml", "remove: tmp_cleanup\n", def, "op.yaml:1",
               "remove: expected a list of action names");
    expect_bad("op.yaml",
               "actions:\n"
               "  - name: tmp_cleanup\n"
               "    description: x\n"
               "    category: log_cleanup\n"
               "    tier: 1\n"
               "    baseline_risk: 1\n"
               "    reversible: false\n"
               "    idempotent: \"no\"\n"
               "    targets: {local: {argv: [du]}}\n"
               "remove: [tmp_cleanup]\n",
               def, "op.yaml:10", "remove[0]: tmp_cleanup is also defined in this file (line 2)");
    /* remove without a base: nothing to remove */
    expect_bad("t.yaml", "version: 1\nactions: []\nremove: [journal_vacuum]\n", NULL, "t.yaml:3",
               "no built-in action named \"journal_vacuum\"");

    /* through fs_catalog_load: the file's name, its line, and I/O errors */
    const char *file = write_file("bad.yaml", "actions:\n  - name: x\n    tier: 9\n");
    struct fs_catalog *c;
    struct fs_err err;
    struct fs_buf diag = FS_BUF_INIT(0);
    assert_int_equal(fs_catalog_load(file, &c, &diag, &err), -FS_E_CONFIG);
    assert_null(c);
    char want[600];
    snprintf(want, sizeof(want), "%s:3: actions[0].tier: must be between 0 and 3, got 9", file);
    if (!strstr(fs_buf_str(&diag), want))
        fail_msg("diag lacks %s:\n%s", want, fs_buf_str(&diag));
    fs_buf_release(&diag);
    snprintf(want, sizeof(want), "%s/missing.yaml", tmpdir);
    assert_int_equal(fs_catalog_load(want, &c, NULL, &err), -FS_E_IO);
    assert_null(c);
    assert_int_equal(fs_catalog_load(want, &c, NULL, NULL), -FS_E_IO);
}

/* ---- broken documents -------------------------------------------------------------------- */

/* Lines 1-9 of every broken document; each case continues at line 10. */
#define HEAD                                                                                       \
    "version: \"1\"\n"                                                                             \
    "actions:\n"                                                                                   \
    "  - name: act\n"                                                                              \
    "    description: Does a thing.\n"                                                             \
    "    category: log_cleanup\n"                                                                  \
    "    tier: 1\n"                                                                                \
    "    baseline_risk: 5\n"                                                                       \
    "    reversible: false\n"                                                                      \
    "    idempotent: absolute\n"

static const struct {
    const char *yaml;
    const char *where; /* exact err.path */
    const char *needle;
} bad_docs[] = {
    {HEAD "    params:\n"
          "      size:\n"
          "        type: string\n"
          "        description: Size.\n"
          "        patern: '^[0-9]+$'\n"
          "    targets: {local: {argv: [du, \"{size}\"]}}\n",
     "t.yaml:14", "t.yaml:14: actions[0].params.size.patern: unknown key (did you mean pattern?)"},
    {HEAD "    colour: blue\n"
          "    targets: {local: {argv: [du]}}\n",
     "t.yaml:10", "t.yaml:10: actions[0].colour: unknown key"},
    {"version: \"1\"\n"
     "actions:\n"
     "  - name: act\n"
     "    description: Does a thing.\n"
     "    category: log_cleanup\n"
     "    tier: 4\n"
     "    baseline_risk: 5\n"
     "    reversible: false\n"
     "    idempotent: absolute\n"
     "    targets: {local: {argv: [du]}}\n",
     "t.yaml:6", "t.yaml:6: actions[0].tier: must be between 0 and 3, got 4"},
    {"version: \"1\"\n"
     "actions:\n"
     "  - name: act\n"
     "    description: Does a thing.\n"
     "    category: log_cleanup\n"
     "    tier: one\n"
     "    baseline_risk: 101\n"
     "    reversible: false\n"
     "    idempotent: absolute\n"
     "    targets: {local: {argv: [du]}}\n",
     "t.yaml:6", "t.yaml:7: actions[0].baseline_risk: must be between 0 and 100, got 101"},
    {HEAD "    params:\n"
          "      size: {type: string, description: Size., pattern: '[0-9]+'}\n"
          "    targets: {local: {argv: [du, \"{size}\"]}}\n",
     "t.yaml:11", "actions[0].params.size.pattern: must start with ^ and end with $"},
    {HEAD "    params:\n"
          "      size: {type: string, description: Size., pattern: '^[0-9]+\\$'}\n"
          "    targets: {local: {argv: [du, \"{size}\"]}}\n",
     "t.yaml:11", "actions[0].params.size.pattern: must start with ^ and end with $"},
    {HEAD "    params:\n"
          "      size:\n"
          "        type: string\n"
          "        description: Size.\n"
          "        pattern: '^([0-9]+$'\n"
          "    targets: {local: {argv: [du, \"{size}\"]}}\n",
     "t.yaml:14", "actions[0].params.size.pattern: not a valid regular expression at offset"},
    {HEAD "    params:\n"
          "      size: {type: string, description: Size.}\n"
          "    targets:\n"
          "      local: {argv: [du, \"{size}\"]}\n"
          "      ssh: {argv: [du, \"{sise}\"]}\n",
     "t.yaml:14", "t.yaml:14: actions[0].targets.ssh.argv[1]: unknown placeholder {sise}"},
    {HEAD "    targets:\n"
          "      http: {method: POST, path: \"/x/{target.hostname}\"}\n",
     "t.yaml:11", "actions[0].targets.http.path: unknown placeholder {target.hostname}"},
    {HEAD "    targets: {local: {argv: [du]}}\n"
          "  - name: other\n"
          "    description: Another.\n"
          "    category: page\n"
          "    tier: 0\n"
          "    baseline_risk: 0\n"
          "    reversible: notification\n"
          "    idempotent: \"no\"\n"
          "    targets: {local: {argv: [du]}}\n"
          "  - name: act\n"
          "    description: Again.\n"
          "    category: page\n"
          "    tier: 0\n"
          "    baseline_risk: 0\n"
          "    reversible: notification\n"
          "    idempotent: \"no\"\n"
          "    targets: {local: {argv: [du]}}\n",
     "t.yaml:19",
     "t.yaml:19: actions[2].name: duplicate action name act (first defined at line 3)"},
    {HEAD "    targets: {local: {argv: [du]}}\n"
          "    rollback: undo_act\n",
     "t.yaml:11", "t.yaml:11: actions[0].rollback: no action named \"undo_act\""},
    {"version: \"1\"\n"
     "actions:\n"
     "  - name: act\n"
     "    description: Does a thing.\n"
     "    category: log_rotation\n"
     "    tier: 1\n"
     "    baseline_risk: 5\n"
     "    reversible: false\n"
     "    idempotent: absolute\n"
     "    targets: {local: {argv: [du]}}\n",
     "t.yaml:5", "t.yaml:5: actions[0].category: unknown category \"log_rotation\""},
    {HEAD "    targets: {local: {argv: [\"{x}\"]}}\n"
          "    params: {x: {type: string, description: X.}}\n",
     "t.yaml:10", "actions[0].targets.local.argv[0]: must be fixed text: no placeholders"},
    {HEAD "    targets: {local: {argv: [\"du -sh\"]}}\n", "t.yaml:10",
     "actions[0].targets.local.argv[0]: expected a program name"},
    {HEAD "    targets: {local: {argv: [/usr/../bin/du]}}\n", "t.yaml:10",
     "actions[0].targets.local.argv[0]: the program must not contain . or .. components"},
    {HEAD "    targets: {local: {argv: []}}\n", "t.yaml:10",
     "actions[0].targets.local.argv: expected a list of 1 to 64 strings"},
    {HEAD "    targets: {local: {argv: [find, -mindepth, 1]}}\n", "t.yaml:10",
     "actions[0].targets.local.argv[2]: expected a string (quote numbers), got number"},
    {HEAD "    targets: {local: {cmd: \"du -sh /\"}}\n", "t.yaml:10",
     "actions[0].targets.local.cmd: unknown key"},
    {HEAD "    targets: {shell: {argv: [du]}}\n", "t.yaml:10",
     "actions[0].targets.shell: unknown target kind"},
    {HEAD "    targets: {}\n", "t.yaml:10",
     "actions[0].targets: expected a mapping with at least one"},
    {HEAD "    params: {x: {type: string, description: X.}}\n", "t.yaml:3",
     "t.yaml:3: actions[0].targets: required"},
    {HEAD "    params: {x: {type: float, description: X.}}\n"
          "    targets: {local: {argv: [du]}}\n",
     "t.yaml:10", "actions[0].params.x.type: expected string, integer, enum, path or boolean"},
    {HEAD "    params: {x: {type: integer, description: X., min: 5, max: 1}}\n"
          "    targets: {local: {argv: [du, \"{x}\"]}}\n",
     "t.yaml:10", "actions[0].params.x.max: max (1) is less than min (5)"},
    {HEAD "    params: {x: {type: integer, description: X., max: 5, default: 6}}\n"
          "    targets: {local: {argv: [du, \"{x}\"]}}\n",
     "t.yaml:10", "actions[0].params.x.default: must be at most 5, got 6"},
    {HEAD "    params: {x: {type: integer, description: X., pattern: '^1$'}}\n"
          "    targets: {local: {argv: [du, \"{x}\"]}}\n",
     "t.yaml:10", "actions[0].params.x.pattern: not allowed for a parameter of type integer"},
    {HEAD "    params: {x: {type: enum, description: X.}}\n"
          "    targets: {local: {argv: [du, \"{x}\"]}}\n",
     "t.yaml:10", "actions[0].params.x.values: required for an enum"},
    {HEAD "    params: {x: {type: path, description: X., under: [var/log]}}\n"
          "    targets: {local: {argv: [du, \"{x}\"]}}\n",
     "t.yaml:10", "actions[0].params.x.under[0]: must be an absolute path"},
    {HEAD "    params: {x: {type: path, description: X.}}\n"
          "    targets: {local: {argv: [du, \"{x}\"]}}\n",
     "t.yaml:10", "actions[0].params.x.under: required for a path"},
    {HEAD "    params: {Big: {type: string, description: X.}}\n"
          "    targets: {local: {argv: [du]}}\n",
     "t.yaml:10", "actions[0].params.Big: parameter names are lowercase identifiers"},
    {HEAD "    params: {x: {type: string, description: X., required: false}}\n"
          "    targets: {local: {argv: [du, \"{x}\"]}}\n",
     "t.yaml:11", "actions[0].targets.local.argv[1]: {x} names an optional parameter"},
    {HEAD "    targets: {local: {argv: [du, \"{x\"]}}\n", "t.yaml:10",
     "actions[0].targets.local.argv[1]: unterminated placeholder"},
    {HEAD "    targets: {local: {argv: [du, \"x}\"]}}\n", "t.yaml:10",
     "actions[0].targets.local.argv[1]: a lone }"},
    {HEAD "    targets: {local: {argv: [du, \"{a b}\"]}}\n", "t.yaml:10", "malformed placeholder"},
    {HEAD "    targets: {http: {method: POST, path: admin/x}}\n", "t.yaml:10",
     "actions[0].targets.http.path: must start with /"},
    {HEAD "    targets: {http: {method: POST, path: \"/x?y=1\"}}\n", "t.yaml:10",
     "actions[0].targets.http.path: '?' is not allowed in an http path"},
    {HEAD "    targets: {http: {method: FETCH, path: /x}}\n", "t.yaml:10",
     "actions[0].targets.http.method: expected GET, POST, PUT, PATCH or DELETE"},
    {HEAD "    targets: {http: {method: POST, path: /x, body: {\"{k}\": 1}}}\n", "t.yaml:10",
     "placeholders are not allowed in keys"},
    {HEAD "    targets: {mcp: {server: \"{s}\", tool: t}}\n", "t.yaml:10",
     "actions[0].targets.mcp.server: must be fixed text"},
    {"version: \"1\"\n"
     "actions:\n"
     "  - name: act\n"
     "    description: Does a thing.\n"
     "    category: log_cleanup\n"
     "    tier: 1\n"
     "    baseline_risk: 5\n"
     "    reversible: yes\n"
     "    idempotent: sometimes\n"
     "    targets: {local: {argv: [du]}}\n",
     "t.yaml:8", "t.yaml:9: actions[0].idempotent: expected absolute, keyed or no"},
    {HEAD "    targets: {local: {argv: [du]}}\n"
          "    verify: {probe: fs_usage, expect: ok, wait: soon}\n",
     "t.yaml:11", "actions[0].verify.wait: expected a duration"},
    {HEAD "    targets: {local: {argv: [du]}}\n"
          "    preconditions: [{probe: fs_usage, args: {p: \"{nope}\"}, expect: ok}]\n",
     "t.yaml:11", "actions[0].preconditions[0].args.p: unknown placeholder {nope}"},
    {HEAD "    targets: {local: {argv: [du]}}\n"
          "    preconditions: [{probe: fs_usage}]\n",
     "t.yaml:11", "actions[0].preconditions[0].expect: required"},
    /* no shell, no inline code, no wrapper hiding either (docs/decisions/0003) */
    {HEAD "    targets: {ssh: {argv: [sh, \"-c\", \"{s}\"]}}\n"
          "    params: {s: {type: string, description: S.}}\n",
     "t.yaml:10", "actions[0].targets.ssh.argv[0]: sh is a shell"},
    {HEAD "    targets: {local: {argv: [/bin/bash, \"-c\", \"du -sh /var/log\"]}}\n", "t.yaml:10",
     "actions[0].targets.local.argv[0]: bash is a shell"},
    {HEAD "    targets: {local: {argv: [python3, \"-c\", \"import shutil\"]}}\n", "t.yaml:10",
     "actions[0].targets.local.argv[1]: python3 -c runs code given inline"},
    {HEAD "    targets: {local: {argv: [/usr/bin/python3.11, -B, \"-c\", \"{s}\"]}}\n"
          "    params: {s: {type: string, description: S.}}\n",
     "t.yaml:10", "actions[0].targets.local.argv[2]: python3.11 -c runs code given inline"},
    {HEAD "    targets: {local: {argv: [python3, -Bc, \"{s}\"]}}\n"
          "    params: {s: {type: string, description: S.}}\n",
     "t.yaml:10", "argv[1]: python3 -Bc runs code given inline"},
    {HEAD "    targets: {local: {argv: [perl, -ne, \"print\", /var/log/syslog]}}\n", "t.yaml:10",
     "argv[1]: perl -ne runs code given inline"},
    {HEAD "    targets: {local: {argv: [perl, -E, \"say 1\"]}}\n", "t.yaml:10",
     "argv[1]: perl -E runs code given inline"},
    {HEAD "    targets: {local: {argv: [ruby, -e, \"{s}\"]}}\n"
          "    params: {s: {type: string, description: S.}}\n",
     "t.yaml:10", "argv[1]: ruby -e runs code given inline"},
    {HEAD "    targets: {local: {argv: [node, --eval, \"{s}\"]}}\n"
          "    params: {s: {type: string, description: S.}}\n",
     "t.yaml:10", "argv[1]: node --eval runs code given inline"},
    {HEAD "    targets: {local: {argv: [lua5.4, -e, \"{s}\"]}}\n"
          "    params: {s: {type: string, description: S.}}\n",
     "t.yaml:10", "argv[1]: lua5.4 -e runs code given inline"},
    {HEAD "    targets: {local: {argv: [php, -r, \"{s}\"]}}\n"
          "    params: {s: {type: string, description: S.}}\n",
     "t.yaml:10", "argv[1]: php -r runs code given inline"},
    {HEAD "    targets: {local: {argv: [awk, \"length > 80\", /var/log/syslog]}}\n", "t.yaml:10",
     "argv[1]: awk with a program text runs code given inline"},
    {HEAD "    targets: {local: {argv: [mawk, -F, \":\", \"{s}\", /etc/passwd]}}\n"
          "    params: {s: {type: string, description: S.}}\n",
     "t.yaml:10", "argv[3]: mawk with a program text"},
    {HEAD "    targets: {local: {argv: [gawk, -e, \"{s}\"]}}\n"
          "    params: {s: {type: string, description: S.}}\n",
     "t.yaml:10", "argv[1]: gawk with a program text"},
    {HEAD "    targets: {local: {argv: [env, FOO=1, sh, \"-c\", \"{s}\"]}}\n"
          "    params: {s: {type: string, description: S.}}\n",
     "t.yaml:10", "actions[0].targets.local.argv[2]: sh is a shell"},
    {HEAD "    targets: {local: {argv: [env, -S, \"sh -c {s}\"]}}\n"
          "    params: {s: {type: string, description: S.}}\n",
     "t.yaml:10", "argv[1]: env -S runs a shell"},
    {HEAD "    targets: {local: {argv: [timeout, \"10\", python3, \"-c\", \"{s}\"]}}\n"
          "    params: {s: {type: string, description: S.}}\n",
     "t.yaml:10", "argv[3]: python3 -c runs code given inline"},
    {HEAD "    targets: {ssh: {argv: [sudo, -u, bob, /usr/bin/dash]}}\n", "t.yaml:10",
     "actions[0].targets.ssh.argv[3]: dash is a shell"},
    {HEAD "    targets: {local: {argv: [sudo, -i]}}\n", "t.yaml:10",
     "argv[1]: sudo -i runs a shell"},
    {HEAD "    targets: {local: {argv: [sudo, -Es, /usr/bin/id]}}\n", "t.yaml:10",
     "argv[1]: sudo -Es runs a shell"},
    {HEAD "    targets: {local: {argv: [xargs, \"-0\", bash]}}\n", "t.yaml:10",
     "argv[2]: bash is a shell"},
    {HEAD "    targets: {local: {argv: [su, \"-c\", \"systemctl restart x\"]}}\n", "t.yaml:10",
     "argv[1]: su -c runs a shell"},
    {HEAD "    targets: {local: {argv: [su, postgres]}}\n", "t.yaml:10",
     "argv[0]: su runs a shell"},
    {HEAD "    targets: {local: {argv: [nice, -n, \"5\", busybox, sh]}}\n", "t.yaml:10",
     "argv[3]: busybox is a shell"},
    {HEAD "    targets: {local: {argv: [find, /tmp, -exec, sh, \"-c\", \"{s}\", \";\"]}}\n"
          "    params: {s: {type: string, description: S.}}\n",
     "t.yaml:10", "argv[3]: sh is a shell"},
    {HEAD "    targets: {local: {argv: [stdbuf, -oL, ksh]}}\n", "t.yaml:10",
     "argv[2]: ksh is a shell"},
    {HEAD "    targets: {local: {argv: [nohup, setsid, zsh]}}\n", "t.yaml:10",
     "argv[2]: zsh is a shell"},
    {HEAD "    targets: {local: {argv: [setsid, fish]}}\n", "t.yaml:10",
     "argv[1]: fish is a shell"},
    {HEAD "    targets: {local: {argv: [mksh]}}\n", "t.yaml:10", "argv[0]: mksh is a shell"},
    {HEAD "    targets: {local: {argv: [tcsh, -f]}}\n", "t.yaml:10", "argv[0]: tcsh is a shell"},
    {HEAD "    targets: {local: {argv: [csh]}}\n", "t.yaml:10", "argv[0]: csh is a shell"},
    {HEAD "    targets: {local: {argv: [ash]}}\n", "t.yaml:10", "argv[0]: ash is a shell"},
    /* probes: every one is a probe some read-only tool answers, with that tool's arguments */
    {HEAD
     "    params: {namespace: {type: string, description: N.}}\n"
     "    targets: {kubectl: {argv: [rollout, restart, deployment/web, -n, \"{namespace}\"]}}\n"
     "    verify: {probe: k8s_deploy_status, args: {namespace: \"{namespace}\"}, expect: ok}\n",
     "t.yaml:12",
     "t.yaml:12: actions[0].verify.probe: unknown probe \"k8s_deploy_status\" (did "
     "you mean k8s_deployment_status?)"},
    {HEAD "    targets: {local: {argv: [du]}}\n"
          "    preconditions: [{probe: frobnicate, expect: ok}]\n",
     "t.yaml:11",
     "actions[0].preconditions[0].probe: unknown probe \"frobnicate\": a probe is a "
     "read-only tool the executor calls (cert_expiry, config_get, dir_sizes, file_stat, "},
    {HEAD "    targets: {local: {argv: [du]}}\n"
          "    verify: {probe: fs_usage, args: {path: /var/log}, expect: ok}\n",
     "t.yaml:11",
     "actions[0].verify.args.path: probe fs_usage has no argument path (it takes "
     "mount, include_pseudo)"},
    {HEAD "    targets: {local: {argv: [du]}}\n"
          "    verify: {probe: file_stat, args: {pth: /var/log}, expect: exists}\n",
     "t.yaml:11",
     "actions[0].verify.args.pth: probe file_stat has no argument pth (did you mean "
     "path?)"},
    {HEAD "    targets: {local: {argv: [du]}}\n"
          "    preconditions:\n"
          "      - {probe: service_status, args: {}, expect: \"load_state == 'loaded'\"}\n",
     "t.yaml:12",
     "t.yaml:12: actions[0].preconditions[0].args.unit: required by probe "
     "service_status"},
    {HEAD "    targets: {local: {argv: [du]}}\n"
          "    verify: {probe: memory, args: {unit: x}, expect: ok}\n",
     "t.yaml:11", "actions[0].verify.args.unit: probe memory takes no arguments"},
    {HEAD "    targets: {local: {argv: [du]}}\n"
          "    verify: {probe: file_stat, args: {path: \"{nope}\"}, expect: exists}\n",
     "t.yaml:11", "actions[0].verify.args.path: unknown placeholder {nope}"},
    /* a param never chooses the program: not as argv[0] of any kind ... */
    {HEAD "    params: {p: {type: string, description: P.}}\n"
          "    targets: {ssh: {argv: [\"/usr/bin/{p}\"]}}\n",
     "t.yaml:11", "actions[0].targets.ssh.argv[0]: must be fixed text: no placeholders"},
    {HEAD "    params: {p: {type: string, description: P.}}\n"
          "    targets: {kubectl: {argv: [\"{p}\", deployment/web]}}\n",
     "t.yaml:11", "actions[0].targets.kubectl.argv[0]: must be fixed text: no placeholders"},
    /* ... nor as the program a wrapper runs */
    {HEAD "    params: {p: {type: string, description: P.}}\n"
          "    targets: {local: {argv: [env, \"{p}\"]}}\n",
     "t.yaml:11",
     "actions[0].targets.local.argv[1]: env runs this argument as its program: a "
     "param must never choose which program runs"},
    {HEAD "    params: {p: {type: string, description: P.}}\n"
          "    targets: {ssh: {argv: [sudo, \"{p}\", restart]}}\n",
     "t.yaml:11", "actions[0].targets.ssh.argv[1]: sudo runs this argument as its program"},
    {HEAD "    params: {p: {type: string, description: P.}}\n"
          "    targets: {local: {argv: [sudo, -u, \"{p}\", \"{p}\"]}}\n",
     "t.yaml:11", "argv[3]: sudo runs this argument as its program"},
    {HEAD "    params: {p: {type: string, description: P.}}\n"
          "    targets: {local: {argv: [timeout, \"{p}\", \"/usr/sbin/{p}\"]}}\n",
     "t.yaml:11", "argv[2]: timeout runs this argument as its program"},
    {HEAD "    params: {p: {type: string, description: P.}}\n"
          "    targets: {local: {argv: [nice, -n, \"5\", \"{p}\", --force]}}\n",
     "t.yaml:11", "argv[3]: nice runs this argument as its program"},
    {HEAD "    params: {p: {type: string, description: P.}}\n"
          "    targets: {local: {argv: [xargs, \"-0\", -n, \"1\", \"{p}\"]}}\n",
     "t.yaml:11", "argv[4]: xargs runs this argument as its program"},
    {HEAD "    params: {p: {type: string, description: P.}}\n"
          "    targets: {local: {argv: [env, FOO=1, \"{p}\"]}}\n",
     "t.yaml:11", "argv[2]: env runs this argument as its program"},
    {HEAD "    params: {p: {type: string, description: P.}}\n"
          "    targets: {local: {argv: [nohup, stdbuf, -oL, env, \"{p}\"]}}\n",
     "t.yaml:11", "argv[4]: env runs this argument as its program"},
    {HEAD "    params: {p: {type: string, description: P.}}\n"
          "    targets: {local: {argv: [find, /tmp, -name, \"*.x\", -exec, \"{p}\", \"{{}}\", "
          "\";\"]}}\n",
     "t.yaml:11", "argv[5]: find runs this argument as its program"},
    {HEAD "    targets: {local: {argv: [find, /tmp, -type, f, -exec, \"{{}}\", \";\"]}}\n",
     "t.yaml:10", "argv[5]: expected a program name"},
    {HEAD "    targets: {local: {argv: [env, bin/fix]}}\n", "t.yaml:10",
     "argv[1]: expected a program name (letters, digits, ._+-) or an absolute path"},
    /* ... nor spells an option, a variable or a root that decides it */
    {HEAD "    params: {p: {type: string, description: P.}}\n"
          "    targets: {local: {argv: [find, /tmp, \"-{p}\", /usr/bin/id, \";\"]}}\n",
     "t.yaml:11", "argv[2]: find -{p}: a param must not spell a find predicate"},
    {HEAD "    params: {p: {type: string, description: P.}}\n"
          "    targets: {local: {argv: [env, \"-{p}\", /usr/bin/id]}}\n",
     "t.yaml:11", "argv[1]: a param must not choose an option of env"},
    {HEAD "    params: {p: {type: string, description: P.}}\n"
          "    targets: {local: {argv: [timeout, \"--{p}=KILL\", \"5\", /usr/bin/id]}}\n",
     "t.yaml:11", "argv[1]: a param must not choose an option of timeout"},
    {HEAD "    params: {p: {type: string, description: P.}}\n"
          "    targets: {local: {argv: [env, \"{p}=1\", /usr/bin/id]}}\n",
     "t.yaml:11", "argv[1]: env {p}=1: a param must not name an environment variable"},
    {HEAD "    params: {p: {type: string, description: P.}}\n"
          "    targets: {local: {argv: [env, \"PATH=/opt/{p}/bin\", fix]}}\n",
     "t.yaml:11", "argv[1]: env PATH: a param must not fill PATH or LD_*"},
    {HEAD "    params: {p: {type: path, description: P., under: [/opt]}}\n"
          "    targets: {ssh: {argv: [sudo, \"LD_PRELOAD={p}\", /usr/bin/id]}}\n",
     "t.yaml:11", "ssh.argv[1]: sudo LD_PRELOAD: a param must not fill PATH or LD_*"},
    {HEAD "    params: {p: {type: path, description: P., under: [/srv]}}\n"
          "    targets: {local: {argv: [chroot, \"{p}\", /bin/fix]}}\n",
     "t.yaml:11", "argv[1]: chroot: the root a program is found below must be fixed text"},
    {HEAD "    params: {p: {type: path, description: P., under: [/srv]}}\n"
          "    targets: {local: {argv: [sudo, -R, \"{p}\", /bin/fix]}}\n",
     "t.yaml:11", "argv[2]: sudo -R: the root a program is found below must be fixed text"},
    {HEAD "    params: {p: {type: path, description: P., under: [/srv]}}\n"
          "    targets: {local: {argv: [unshare, -m, \"--root={p}\", /bin/fix]}}\n",
     "t.yaml:11", "argv[2]: unshare --root: the root a program is found below"},
    /* programs that hand a command line to a shell of their own or of another host */
    {HEAD "    params: {unit: {type: string, description: U.}}\n"
          "    targets: {local: {argv: [ssh, db-1, \"systemctl restart {unit}\"]}}\n",
     "t.yaml:11",
     "actions[0].targets.local.argv[0]: ssh runs its command line through a shell "
     "on the far side: use an ssh target"},
    {HEAD "    targets: {ssh: {argv: [/usr/bin/ssh, -T, db-2, uptime]}}\n", "t.yaml:10",
     "actions[0].targets.ssh.argv[0]: ssh runs its command line through a shell"},
    {HEAD "    targets: {local: {argv: [watch, -n, \"5\", df]}}\n", "t.yaml:10",
     "actions[0].targets.local.argv[0]: watch runs its command through sh -c"},
    {HEAD "    targets: {local: {argv: [sudo, -u, ops, ssh, db-1, uptime]}}\n", "t.yaml:10",
     "argv[3]: ssh runs its command line through a shell"},
    {HEAD "    targets: {local: {argv: [timeout, \"60\", /usr/bin/watch, -x, df]}}\n", "t.yaml:10",
     "argv[2]: watch runs its command through sh -c"},
    /* kubectl: typed changes, never a command in a pod or a tunnel */
    {HEAD "    params: {pod: {type: string, description: P.}}\n"
          "    targets: {kubectl: {argv: [exec, \"{pod}\", --, kill, \"1\"]}}\n",
     "t.yaml:11",
     "actions[0].targets.kubectl.argv[0]: kubectl exec runs a command in a pod or "
     "opens a tunnel"},
    {HEAD "    targets: {kubectl: {argv: [alpha, debug, pod/web, --image=busybox]}}\n", "t.yaml:10",
     "actions[0].targets.kubectl.argv[1]: kubectl debug runs a command in a pod"},
    {HEAD "    params: {v: {type: string, description: V.}}\n"
          "    targets: {kubectl: {argv: [alpha, \"{v}\", pod/web]}}\n",
     "t.yaml:11", "kubectl.argv[1]: kubectl alpha: a param must not choose the subcommand"},
    {"actions: []\n", "t.yaml:1", "t.yaml:1: version: required"},
    {"version: [1]\nactions: []\n", "t.yaml:1", "version: expected a string"},
    {"version: \"1 2\"\nactions: []\n", "t.yaml:1", "version: expected 1 to 64 letters"},
    {"version: 1\nactions: {}\n", "t.yaml:2", "t.yaml:2: actions: expected a list"},
    {"version: 1\nactions:\n  - 7\n", "t.yaml:3", "t.yaml:3: actions[0]: expected a mapping"},
    {"version: 1\nactoins: []\n", "t.yaml:2", "actoins: unknown key (did you mean actions?)"},
    {"- 1\n- 2\n", "t.yaml:1", "t.yaml:1: (top level): expected a mapping"},
    {"", "t.yaml", "t.yaml: (top level): empty catalog"},
    {"version: 1\nactions: [\n", "t.yaml:3", "YAML syntax error"},
    {"version: &v 1\nactions: []\n", "t.yaml:1", "anchors"},
};

static void test_broken_documents(void **state)
{
    for (size_t i = 0; i < FS_ARRAY_LEN(bad_docs); i++) {
        struct fs_catalog *c = (struct fs_catalog *)1;
        struct fs_err err;
        struct fs_buf diag = FS_BUF_INIT(0);
        memset(&err, 0, sizeof(err));
        int rc = fs_catalog_load_buf(bad_docs[i].yaml, strlen(bad_docs[i].yaml), "t.yaml", NULL, &c,
                                     &diag, &err);
        if (rc != -FS_E_CONFIG || c)
            fail_msg("case %zu: rc %d, want invalid_config:\n%s", i, rc, bad_docs[i].yaml);
        if (strcmp(err.path, bad_docs[i].where) != 0 ||
            strncmp(err.msg, bad_docs[i].where, strlen(bad_docs[i].where)) != 0)
            fail_msg("case %zu: err.path \"%s\" msg \"%s\", want %s", i, err.path, err.msg,
                     bad_docs[i].where);
        if (!strstr(fs_buf_str(&diag), bad_docs[i].needle))
            fail_msg("case %zu: diagnostics lack \"%s\":\n%s", i, bad_docs[i].needle,
                     fs_buf_str(&diag));
        fs_buf_release(&diag);
    }
}

/* What the shell check must not refuse: programs with fixed arguments, scripts named as the
 * program, awk with its program in a file, wrappers around ordinary programs. */
static void test_programs_that_are_not_shells_pass(void **state)
{
    static const char *const argvs[] = {
        "[python3, /usr/local/lib/fix/rotate.py, \"-c\", /etc/fix.conf]",
        "[python3, -m, fixtool, --dry-run]",
        "[python3, -W, ignore, /opt/fix.py]",
        "[gawk, -f, /usr/local/share/trim.awk, /var/log/syslog]",
        "[env, LC_ALL=C, /usr/local/bin/fix, \"{s}\"]",
        "[timeout, 30s, systemctl, restart, \"--\", \"{s}\"]",
        "[nice, -n, \"10\", find, /var/log, -name, \"*.gz\", -delete]",
        "[sudo, -u, postgres, /usr/lib/postgresql/bin/vacuumdb, --all]",
        "[perl5.36doc]",
        "[/usr/bin/shred, -u, \"{s}\"]",
        "[bashtop]",
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(argvs); i++) {
        char yaml[1024];
        snprintf(yaml, sizeof(yaml),
                 HEAD "    targets: {local: {argv: %s}, ssh: {argv: %s}}\n"
                      "    params: {s: {type: string, description: S.}}\n",
                 argvs[i], argvs[i]);
        struct fs_catalog *c = NULL;
        struct fs_err err;
        struct fs_buf diag = FS_BUF_INIT(0);
        if (fs_catalog_load_buf(yaml, strlen(yaml), "t.yaml", NULL, &c, &diag, &err) < 0)
            fail_msg("case %zu %s: %s", i, argvs[i], fs_buf_str(&diag));
        fs_catalog_free(c);
        fs_buf_release(&diag);
    }
}

/* What the program checks must not refuse: a param filling an option's value, an operand, a
 * variable's value, an integer after "-", or an argument of the wrapped program; kubectl's
 * typed changes. */
static void test_params_that_do_not_choose_the_program_pass(void **state)
{
    static const char *const argvs[] = {
        "[timeout, \"{s}\", systemctl, restart, ssh.service]",
        "[sudo, -u, \"{s}\", systemctl, restart, ssh]",
        "[sudo, \"--user={s}\", /usr/local/bin/fix]",
        "[env, \"LANG={s}\", /usr/local/bin/fix, watch]",
        "[nice, \"-{n}\", /usr/local/bin/fix]",
        "[stdbuf, \"-o{s}\", /usr/local/bin/fix]",
        "[find, \"{s}\", -xdev, -mtime, \"-{n}\", -delete]",
        "[find, /tmp, -exec, /bin/rm, --, \"{{}}\", \"+\", -name, \"{s}\"]",
        "[flock, /run/fix.lock, /usr/local/bin/fix, \"{s}\"]",
        "[chroot, /srv/jail, /bin/fix, \"{s}\"]",
        "[xargs, -n, \"{n}\", /usr/local/bin/fix, \"-{s}\"]",
        "[setsid, -w, /usr/local/bin/fix, \"{s}\"]",
        "[/usr/bin/systemctl, restart, \"{s}\"]",
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(argvs); i++) {
        char yaml[1024];
        snprintf(yaml, sizeof(yaml),
                 HEAD "    targets: {local: {argv: %s}, ssh: {argv: %s}}\n"
                      "    params:\n"
                      "      s: {type: string, description: S.}\n"
                      "      n: {type: integer, description: N., min: 1, max: 30}\n",
                 argvs[i], argvs[i]);
        struct fs_catalog *c = NULL;
        struct fs_err err;
        struct fs_buf diag = FS_BUF_INIT(0);
        if (fs_catalog_load_buf(yaml, strlen(yaml), "t.yaml", NULL, &c, &diag, &err) < 0)
            fail_msg("case %zu %s: %s", i, argvs[i], fs_buf_str(&diag));
        fs_catalog_free(c);
        fs_buf_release(&diag);
    }
    static const char *const kube[] = {
        "[rollout, restart, \"deployment/{s}\"]",
        "[scale, \"deployment/{s}\", --replicas=2]",
        "[annotate, \"deployment/{s}\", x=y]",
        "[alpha, events]",
        "[cordon, \"{s}\"]",
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(kube); i++) {
        char yaml[1024];
        snprintf(yaml, sizeof(yaml),
                 HEAD "    targets: {kubectl: {argv: %s}}\n"
                      "    params: {s: {type: string, description: S.}}\n",
                 kube[i]);
        struct fs_catalog *c = NULL;
        struct fs_buf diag = FS_BUF_INIT(0);
        if (fs_catalog_load_buf(yaml, strlen(yaml), "t.yaml", NULL, &c, &diag, NULL) < 0)
            fail_msg("kubectl case %zu %s: %s", i, kube[i], fs_buf_str(&diag));
        fs_catalog_free(c);
        fs_buf_release(&diag);
    }
}

/* A chain of wrappers is followed to its end in linear-ish time: a scan of every later
 * argument at every level took 2^n steps (23 nohups: about 4 s; as many as an argv may hold:
 * forever). The short chain fails in seconds should that come back; the long one must still
 * find the shell at its end. */
static void check_chain(int len, const char *last, int64_t max_ms)
{
    char yaml[2048], argv[1024];
    size_t n = 0;
    for (int i = 0; i < len; i++)
        n += (size_t)snprintf(argv + n, sizeof(argv) - n, "%s", i % 3 == 2 ? "env, " : "nohup, ");
    snprintf(yaml, sizeof(yaml), HEAD "    targets: {local: {argv: [%s%s]}}\n", argv, last);
    struct fs_catalog *c = NULL;
    struct fs_buf diag = FS_BUF_INIT(0);
    int64_t t0 = fs_mono_ns();
    int rc = fs_catalog_load_buf(yaml, strlen(yaml), "t.yaml", NULL, &c, &diag, NULL);
    int64_t ms = (fs_mono_ns() - t0) / 1000000;
    if (ms > max_ms)
        fail_msg("a chain of %d wrappers took %lld ms to check", len, (long long)ms);
    char want[64];
    snprintf(want, sizeof(want), "argv[%d]: sh is a shell", len);
    if (strcmp(last, "sh") == 0 && (rc != -FS_E_CONFIG || !strstr(fs_buf_str(&diag), want)))
        fail_msg("a shell after %d wrappers is not refused: %s", len, fs_buf_str(&diag));
    if (strcmp(last, "sh") != 0 && rc < 0)
        fail_msg("a chain of wrappers around %s is refused: %s", last, fs_buf_str(&diag));
    fs_catalog_free(c);
    fs_buf_release(&diag);
}

static void test_wrapper_chain_is_followed_quickly(void **state)
{
    check_chain(23, "/usr/bin/id", 500);
    check_chain(63, "/usr/bin/id", 1000);
    check_chain(63, "sh", 1000);
}

/* Every kubectl subcommand that runs a command in a pod or opens a tunnel is refused. */
static void test_kubectl_commands_and_tunnels_refused(void **state)
{
    static const char *const subs[] = {"exec",  "debug",        "attach", "run",
                                       "proxy", "port-forward", "cp"};
    for (size_t i = 0; i < FS_ARRAY_LEN(subs); i++) {
        char yaml[1024], needle[200];
        snprintf(yaml, sizeof(yaml), HEAD "    targets: {kubectl: {argv: [%s, pod/web]}}\n",
                 subs[i]);
        snprintf(needle, sizeof(needle),
                 "t.yaml:10: actions[0].targets.kubectl.argv[0]: kubectl %s runs a command in a "
                 "pod or opens a tunnel",
                 subs[i]);
        expect_bad("t.yaml", yaml, NULL, "t.yaml:10", needle);
    }
}

/* The probe table is the executor's: every probe's tool is a built-in read-only tool, a
 * host.<probe> probe takes exactly its tool's arguments and needs the ones it requires, every
 * read-only host tool is a probe, and a probe no tool answers is one the built-in catalog
 * names (so the list only shrinks) and the docs say so. */
static bool in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return true;
    return false;
}

static const struct fs_tool_def *builtin_tool(const char *name)
{
    for (size_t i = 0; i < fs_builtin_tools_count(); i++)
        if (strcmp(fs_builtin_tool(i)->name, name) == 0)
            return fs_builtin_tool(i);
    return NULL;
}

static bool same_names(const char *const *list, const json_t *names)
{
    size_t n = 0;
    for (; list[n]; n++) {
        bool found = false;
        size_t i;
        json_t *v;
        if (json_is_object(names))
            found = json_object_get(names, list[n]) != NULL;
        else
            json_array_foreach(names, i, v) found |= fs_streq(json_string_value(v), list[n]);
        if (!found)
            return false;
    }
    return n == (json_is_object(names) ? json_object_size(names) : json_array_size(names));
}

static bool builtin_names_probe(const char *name)
{
    for (size_t i = 0; i < def->n; i++) {
        const struct fs_action *a = &def->actions[i];
        if (a->verify && fs_streq(json_string_value(json_object_get(a->verify, "probe")), name))
            return true;
        size_t j;
        json_t *p;
        json_array_foreach(
            a->preconditions, j,
            p) if (fs_streq(json_string_value(json_object_get(p, "probe")), name)) return true;
    }
    return false;
}

static void test_probe_table_is_the_tools(void **state)
{
    size_t n;
    const struct fs_probe_def *probes = fs_catalog_probes(&n);
    assert_true(n > 0);
    struct fs_buf md = FS_BUF_INIT(0);
    assert_int_equal(fs_catalog_doc_markdown(def, &md), 0);
    for (size_t i = 0; i < n; i++) {
        const struct fs_probe_def *p = &probes[i];
        if (i > 0 && strcmp(probes[i - 1].name, p->name) >= 0)
            fail_msg("the probe table is not sorted at %s", p->name);
        assert_ptr_equal(fs_catalog_probe(p->name), p);
        for (const char *const *r = p->required; *r; r++)
            if (!in_list(*r, p->args))
                fail_msg("probe %s requires %s, which it does not take", p->name, *r);
        char row[200];
        snprintf(row, sizeof(row), "| `%s` | %s%s%s |", p->name, p->tool ? "`" : "",
                 p->tool ? p->tool : "none yet: always fails", p->tool ? "`" : "");
        if (!strstr(md.data, row))
            fail_msg("docs/catalog.md lacks the row %s", row);
        if (!p->tool) {
            if (!builtin_names_probe(p->name))
                fail_msg("no tool answers probe %s and no built-in action names it: drop it",
                         p->name);
            continue;
        }
        const struct fs_tool_def *t = builtin_tool(p->tool);
        if (!t || !t->annotations.read_only)
            fail_msg("probe %s: %s is not a built-in read-only tool", p->name, p->tool);
        char host[128];
        snprintf(host, sizeof(host), "host.%s", p->name);
        if (strcmp(p->tool, host) != 0)
            continue; /* a derived probe: exec/probe.c reshapes its arguments (test_exec.c) */
        json_t *schema = js(t->input_schema);
        json_t *req = json_object_get(schema, "required");
        if (!same_names(p->args, json_object_get(schema, "properties")))
            fail_msg("probe %s: its arguments are not %s's", p->name, p->tool);
        json_t *none = json_array();
        if (!same_names(p->required, req ? req : none))
            fail_msg("probe %s: its required arguments are not %s's", p->name, p->tool);
        json_decref(none);
        json_decref(schema);
    }
    fs_buf_release(&md);
    for (size_t i = 0; i < fs_builtin_tools_count(); i++) {
        const struct fs_tool_def *t = fs_builtin_tool(i);
        if (strncmp(t->name, "host.", 5) == 0 && t->annotations.read_only) {
            const struct fs_probe_def *p = fs_catalog_probe(t->name + 5);
            if (!p || !fs_streq(p->tool, t->name))
                fail_msg("the read-only tool %s is not the probe %s", t->name, t->name + 5);
        }
    }
    assert_null(fs_catalog_probe("k8s_deploy_status"));
    assert_null(fs_catalog_probe(NULL));
    assert_string_equal(fs_catalog_probe("k8s_deployment_status")->tool, "kubernetes.get");
}

/* An operator file is held to the same probes as the built-in one. */
static void test_operator_probe(void **state)
{
    expect_bad("op.yaml",
               "actions:\n"
               "  - name: tmp_cleanup\n"
               "    description: x\n"
               "    category: log_cleanup\n"
               "    tier: 1\n"
               "    baseline_risk: 1\n"
               "    reversible: false\n"
               "    idempotent: \"no\"\n"
               "    targets: {local: {argv: [du]}}\n"
               "    verify: {probe: disk_usage, args: {mount: /tmp}, expect: ok}\n",
               def, "op.yaml:10",
               "op.yaml:10: actions[0].verify.probe: unknown probe \"disk_usage\" (did you mean "
               "fs_usage?)");
}

static void test_every_problem_is_collected(void **state)
{
    const char *yaml = "version: 1\n"
                       "actions:\n"
                       "  - name: a\n"
                       "    description: d\n"
                       "    category: nope\n" /* 5 */
                       "    tier: 7\n"        /* 6 */
                       "    baseline_risk: 5\n"
                       "    reversible: false\n"
                       "    idempotent: absolute\n"
                       "    targets: {local: {argv: [du, \"{x}\"]}}\n" /* 10 */
                       "  - name: B\n"                                 /* 11 */
                       "    description: d\n"
                       "    category: page\n"
                       "    tier: 0\n"
                       "    baseline_risk: 0\n"
                       "    reversible: notification\n"
                       "    idempotent: keyed\n"
                       "    targets: {http: {method: POST, path: /p}}\n"
                       "    rollback: zz\n"; /* 19 */
    struct fs_catalog *c;
    struct fs_err err;
    struct fs_buf diag = FS_BUF_INIT(0);
    assert_int_equal(fs_catalog_load_buf(yaml, strlen(yaml), "m.yaml", NULL, &c, &diag, &err),
                     -FS_E_CONFIG);
    static const char *const lines[] = {
        "m.yaml:5: actions[0].category: unknown category",
        "m.yaml:6: actions[0].tier: must be between 0 and 3",
        "m.yaml:10: actions[0].targets.local.argv[1]: unknown placeholder {x}",
        "m.yaml:11: actions[1].name: expected a lowercase identifier",
        "m.yaml:19: actions[1].rollback: no action named \"zz\"",
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(lines); i++)
        if (!strstr(fs_buf_str(&diag), lines[i]))
            fail_msg("diagnostics lack \"%s\":\n%s", lines[i], fs_buf_str(&diag));
    /* one line per problem; err is the first */
    size_t n = 0;
    for (const char *p = fs_buf_str(&diag); (p = strchr(p, '\n')); p++)
        n++;
    assert_int_equal(n, FS_ARRAY_LEN(lines));
    assert_string_equal(err.path, "m.yaml:5");
    fs_buf_release(&diag);
    /* no diag, no err: still refused */
    assert_int_equal(fs_catalog_load_buf(yaml, strlen(yaml), "m.yaml", NULL, &c, NULL, NULL),
                     -FS_E_CONFIG);
    assert_null(c);
}

/* ---- JSON, schema and docs --------------------------------------------------------------- */

static void test_action_json(void **state)
{
    json_t *j = fs_action_json(action("journal_vacuum"));
    assert_string_equal(json_string_value(json_object_get(j, "name")), "journal_vacuum");
    assert_true(json_is_false(json_object_get(j, "reversible")));
    assert_string_equal(json_string_value(json_object_get(j, "idempotent")), "absolute");
    assert_int_equal(json_integer_value(json_object_get(j, "tier")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "verify"), "wait_ms")),
                     2000);
    assert_json(
        json_incref(json_object_get(json_object_get(j, "targets"), "local")),
        "{\"argv\":[\"journalctl\",\"--directory={directory}\",\"--vacuum-size={max_size}\"]}");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(j, "params"), "max_size"), "pattern")),
                        "^[0-9]+[KMG]$");
    assert_int_equal(
        strncmp(json_string_value(json_object_get(j, "source")), "(embedded)etc/catalog.yaml:", 27),
        0);
    assert_true(json_is_null(json_object_get(j, "rollback")));
    json_decref(j);
    j = fs_action_json(action("page_oncall"));
    assert_string_equal(json_string_value(json_object_get(j, "reversible")), "notification");
    json_decref(j);
    j = fs_action_json(action("disable_guardrail_rule"));
    assert_string_equal(json_string_value(json_object_get(j, "rollback")), "enable_guardrail_rule");
    assert_true(json_is_true(json_object_get(j, "reversible")));
    json_decref(j);
}

static void test_params_schema(void **state)
{
    json_t *s = fs_action_params_schema(action("process_kill"));
    assert_string_equal(json_string_value(json_object_get(s, "$schema")),
                        "https://json-schema.org/draft/2020-12/schema");
    assert_true(json_is_false(json_object_get(s, "additionalProperties")));
    assert_json(json_incref(json_object_get(s, "required")), "[\"pid\"]");
    json_t *props = json_object_get(s, "properties");
    json_t *pid = json_object_get(props, "pid"), *sig = json_object_get(props, "signal");
    assert_string_equal(json_string_value(json_object_get(pid, "type")), "integer");
    assert_int_equal(json_integer_value(json_object_get(pid, "minimum")), 2);
    assert_int_equal(json_integer_value(json_object_get(pid, "maximum")), 4194304);
    assert_json(json_incref(json_object_get(sig, "enum")), "[\"TERM\",\"KILL\"]");
    assert_string_equal(json_string_value(json_object_get(sig, "default")), "TERM");
    json_decref(s);

    s = fs_action_params_schema(action("journal_vacuum"));
    json_t *ms = json_object_get(json_object_get(s, "properties"), "max_size");
    assert_string_equal(json_string_value(json_object_get(ms, "pattern")), "^(?:^[0-9]+[KMG]$)$");
    assert_int_equal(json_integer_value(json_object_get(ms, "maxLength")), 8);
    json_decref(s);

    /* the schema's path pattern agrees with the checker on every case */
    s = fs_action_params_schema(action("tmp_cleanup"));
    const char *pat = json_string_value(
        json_object_get(json_object_get(json_object_get(s, "properties"), "path"), "pattern"));
    assert_non_null(pat);
    int ec;
    PCRE2_SIZE off;
    pcre2_code *re =
        pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &ec, &off, NULL);
    assert_non_null(re);
    pcre2_match_data *md = pcre2_match_data_create(4, NULL);
    static const char *const paths[] = {
        "/tmp",  "/var/tmp", "/tmp/a",    "/tmp/a/b.c", "/tmp/..a", "/tmp/.a",    "/tmpx",
        "/tmp/", "/tmp//a",  "/tmp/../",  "/tmp/..",    "/tmp/./a", "/var/tmpx",  "tmp/a",
        "/",     "/var",     "/tmp/a\tb", "/var/tmp/.", "/tmp/...", "/tmp/a/..b", "",
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(paths); i++) {
        json_t *p = json_pack("{s:s}", "path", paths[i]);
        bool ok = fs_action_check_params(action("tmp_cleanup"), p, NULL, NULL) == 0;
        bool sok = pcre2_match(re, (PCRE2_SPTR)paths[i], strlen(paths[i]), 0, 0, md, NULL) >= 0;
        if (ok != sok)
            fail_msg("%s: checker %d, schema pattern %d", paths[i], ok, sok);
        json_decref(p);
    }
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    json_decref(s);

    /* only an optional verification threshold, with its default */
    s = fs_action_params_schema(action("package_cache_clean"));
    assert_int_equal(json_object_size(json_object_get(s, "properties")), 1);
    assert_int_equal(
        json_integer_value(json_object_get(
            json_object_get(json_object_get(s, "properties"), "below_pct"), "default")),
        80);
    assert_int_equal(json_array_size(json_object_get(s, "required")), 0);
    json_decref(s);
}

static void test_doc_markdown(void **state)
{
    struct fs_buf b = FS_BUF_INIT(0);
    assert_int_equal(fs_catalog_doc_markdown(def, &b), 0);
    for (size_t i = 0; i < def->n; i++) {
        const struct fs_action *a = &def->actions[i];
        char needle[200];
        snprintf(needle, sizeof(needle), "\n## %s\n", a->name);
        if (!strstr(b.data, needle))
            fail_msg("docs/catalog.md has no section for %s", a->name);
        snprintf(needle, sizeof(needle), "| [`%s`](#%s) | %s | %d | %d |", a->name, a->name,
                 a->category, a->tier, a->baseline_risk);
        if (!strstr(b.data, needle))
            fail_msg("docs/catalog.md has no row %s", needle);
    }
    assert_non_null(strstr(b.data, def->version));
    assert_non_null(strstr(
        b.data, "`[\"journalctl\",\"--directory={directory}\",\"--vacuum-size={max_size}\"]`"));
    /* | inside a table cell is escaped */
    assert_non_null(strstr(b.data, "`^(org\\|team\\|project\\|key):"));
    assert_non_null(strstr(b.data, "`POST /admin/budgets/{scope}/cap/bump`"));
    /* appended after what is already there */
    size_t len = b.len;
    assert_int_equal(fs_catalog_doc_markdown(def, &b), 0);
    assert_int_equal(b.len, 2 * len);
    fs_buf_release(&b);
    /* a capped buffer that is too small fails and is left as it was */
    struct fs_buf small = FS_BUF_INIT(100);
    assert_true(fs_catalog_doc_markdown(def, &small) < 0);
    assert_int_equal(small.len, 0);
    fs_buf_release(&small);
    assert_int_equal(fs_catalog_doc_markdown(NULL, &small), -FS_E_INVALID);
}

/* ---- allocation failures ----------------------------------------------------------------- */

/* Each scenario returns 0 and a summary of its result (caller frees), or an error code. */
static int scenario_custom(char **out)
{
    struct fs_catalog *c;
    int rc = fs_catalog_load_buf(custom, strlen(custom), "t.yaml", NULL, &c, NULL, NULL);
    if (rc == 0) {
        *out = strdup(c->version);
        fs_catalog_free(c);
    }
    return rc;
}

static int scenario_operator(char **out)
{
    struct fs_catalog *c;
    struct fs_buf diag = FS_BUF_INIT(0);
    int rc =
        fs_catalog_load_buf(operator_file, strlen(operator_file), "op.yaml", def, &c, &diag, NULL);
    if (rc == 0) {
        *out = strdup(c->version);
        fs_catalog_free(c);
    }
    fs_buf_release(&diag);
    return rc;
}

static int scenario_render(char **out)
{
    json_t *p = js("{\"path\":\"/var/log/nginx\"}"), *r = NULL;
    int rc = fs_action_render(action("logs_cleanup_rotated"), FS_TARGET_SSH, p, NULL, &r, NULL);
    if (rc == 0)
        *out = fs_json_canonical(r);
    json_decref(r);
    json_decref(p);
    return rc;
}

static int scenario_schema(char **out)
{
    json_t *s = fs_action_params_schema(action("config_set"));
    if (!s)
        return -FS_E_NOMEM;
    *out = fs_json_canonical(s);
    json_decref(s);
    return 0;
}

static int scenario_doc(char **out)
{
    struct fs_buf b = FS_BUF_INIT(0);
    int rc = fs_catalog_doc_markdown(def, &b);
    if (rc == 0)
        *out = fs_buf_detach(&b, NULL);
    fs_buf_release(&b);
    return rc;
}

/* Fail the n-th allocation for n = 1, 2, ... until the scenario no longer fails: every failure
 * is out_of_memory and leaks nothing (see `make asan`), and a success is the whole result,
 * never a part of it. */
static void test_allocation_failures(void **state)
{
    static const struct {
        const char *name;
        int (*fn)(char **out);
    } scenarios[] = {
        {"custom catalog", scenario_custom}, {"operator file", scenario_operator},
        {"render", scenario_render},         {"schema", scenario_schema},
        {"markdown", scenario_doc},
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(scenarios); i++) {
        char *want = NULL;
        assert_int_equal(scenarios[i].fn(&want), 0);
        int n, failed = 0;
        for (n = 1; n < 100000; n++) {
            char spec[32], *got = NULL;
            snprintf(spec, sizeof(spec), "alloc@%dx1", n);
            assert_int_equal(fs_fault_arm(spec), 0);
            int rc = scenarios[i].fn(&got);
            fs_fault_arm(NULL);
            if (rc == 0) {
                if (!got || strcmp(got, want) != 0)
                    fail_msg("%s: allocation %d failed, and the result is different",
                             scenarios[i].name, n);
                free(got);
                break;
            }
            if (rc != -FS_E_NOMEM)
                fail_msg("%s: allocation %d failed: rc %d, want out_of_memory", scenarios[i].name,
                         n, rc);
            failed++;
        }
        assert_int_equal(failed, n - 1); /* every allocation up to the last one was checked */
        assert_true(failed > 0);
        free(want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_has_the_design_actions),
        cmocka_unit_test(test_default_invariants),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_target_kinds),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_params_defaults_and_null),
        cmocka_unit_test(test_params_custom_types),
        cmocka_unit_test(test_render_argv),
        cmocka_unit_test(test_render_never_splits_or_injects),
        cmocka_unit_test(test_render_http_and_mcp),
        cmocka_unit_test(test_operator_file),
        cmocka_unit_test(test_operator_file_problems),
        cmocka_unit_test(test_broken_documents),
        cmocka_unit_test(test_programs_that_are_not_shells_pass),
        cmocka_unit_test(test_params_that_do_not_choose_the_program_pass),
        cmocka_unit_test(test_kubectl_commands_and_tunnels_refused),
        cmocka_unit_test(test_wrapper_chain_is_followed_quickly),
        cmocka_unit_test(test_probe_table_is_the_tools),
        cmocka_unit_test(test_operator_probe),
        cmocka_unit_test(test_every_problem_is_collected),
        cmocka_unit_test(test_action_json),
        cmocka_unit_test(test_params_schema),
        cmocka_unit_test(test_doc_markdown),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
