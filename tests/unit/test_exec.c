/* The executor's pure parts: the resume decision table (every combination of steps and
 * idempotency), the argv a target gets (local, ssh, kubectl, refusals), and the derived probe
 * k8s_deployment_status (kubernetes.get reshaped) over a replayed tool registry. */
#include "unit.h"

#include <jansson.h>

#include "core/config.h"
#include "exec/exec.h"
#include "exec/exec_int.h"
#include "safety/catalog.h"
#include "tools/registry.h"

/* ---- the resume table ----------------------------------------------------------------------- */

static struct fs_resume_plan decide(bool intent, bool started, bool result, bool rb_started,
                                    bool terminal, enum fs_idempotent idem, bool probe,
                                    enum fs_idempotent rb_idem, bool rb_probe)
{
    struct fs_exec_progress p = {intent, started, result, rb_started, terminal};
    struct fs_resume_facts f = {idem, probe, rb_idem, rb_probe};
    return fs_exec_resume_decide(&p, &f);
}

static void test_resume_table(void **state)
{
    static const enum fs_idempotent idems[] = {FS_IDEM_NO, FS_IDEM_ABSOLUTE, FS_IDEM_KEYED};
    for (size_t i = 0; i < FS_ARRAY_LEN(idems); i++) {
        for (int probe = 0; probe < 2; probe++) {
            enum fs_idempotent idem = idems[i];
            struct fs_resume_plan r;
            /* intent, nothing else: it never ran, whatever it is */
            r = decide(true, false, false, false, false, idem, probe, FS_IDEM_NO, false);
            assert_int_equal(r.decision, FS_RESUME_RUN);
            assert_false(r.rollback);
            /* started without a result: only an idempotent action runs again */
            r = decide(true, true, false, false, false, idem, probe, FS_IDEM_NO, false);
            if (idem != FS_IDEM_NO)
                assert_int_equal(r.decision, FS_RESUME_RERUN);
            else
                assert_int_equal(r.decision, probe ? FS_RESUME_PROBE_DECIDES : FS_RESUME_ESCALATE);
            /* a result is never executed again */
            r = decide(true, true, true, false, false, idem, probe, FS_IDEM_ABSOLUTE, true);
            assert_int_equal(r.decision, FS_RESUME_VERIFY_ONLY);
            /* a terminal step: bookkeeping only, even for an idempotent action */
            r = decide(true, true, true, false, true, idem, probe, FS_IDEM_ABSOLUTE, true);
            assert_int_equal(r.decision, FS_RESUME_FINISH);
            r = decide(true, true, true, true, true, idem, probe, FS_IDEM_ABSOLUTE, true);
            assert_int_equal(r.decision, FS_RESUME_FINISH);
            /* the rollback interrupted: the same rule, applied to the rollback action */
            for (size_t j = 0; j < FS_ARRAY_LEN(idems); j++) {
                for (int rbp = 0; rbp < 2; rbp++) {
                    r = decide(true, true, true, true, false, idem, probe, idems[j], rbp);
                    assert_true(r.rollback);
                    if (idems[j] != FS_IDEM_NO)
                        assert_int_equal(r.decision, FS_RESUME_RERUN);
                    else
                        assert_int_equal(r.decision,
                                         rbp ? FS_RESUME_PROBE_DECIDES : FS_RESUME_ESCALATE);
                }
            }
        }
    }
    /* no intent: nothing says what was meant to run */
    struct fs_resume_plan r =
        decide(false, false, false, false, false, FS_IDEM_ABSOLUTE, true, FS_IDEM_NO, false);
    assert_int_equal(r.decision, FS_RESUME_ESCALATE);
    assert_string_equal(fs_resume_decision_name(FS_RESUME_PROBE_DECIDES), "probe_decides");
    assert_string_equal(fs_resume_decision_name(FS_RESUME_VERIFY_ONLY), "verify_only");
}

/* ---- targets --------------------------------------------------------------------------------- */

static const char catalog_yaml[] =
    "version: t\n"
    "actions:\n"
    "  - name: both\n"
    "    description: d\n"
    "    category: log_cleanup\n"
    "    tier: 1\n"
    "    baseline_risk: 5\n"
    "    reversible: true\n"
    "    idempotent: absolute\n"
    "    params:\n"
    "      msg: {type: string, description: m, pattern: \"^[a-z ;/'-]+$\"}\n"
    "    targets:\n"
    "      local: {argv: [/usr/bin/logger, \"--tag=x\", \"{msg}\"]}\n"
    "      ssh: {argv: [logger, \"{msg}\"]}\n"
    "  - name: kube\n"
    "    description: d\n"
    "    category: service_restart\n"
    "    tier: 1\n"
    "    baseline_risk: 5\n"
    "    reversible: true\n"
    "    idempotent: \"no\"\n"
    "    params:\n"
    "      deployment: {type: string, description: d, pattern: '^[a-z]+$'}\n"
    "    targets:\n"
    "      kubectl: {argv: [rollout, restart, \"deployment/{deployment}\", -n, "
    "\"{target.namespace}\"]}\n"
    "      local: {argv: [/bin/true]}\n"
    "  - name: web\n"
    "    description: d\n"
    "    category: cache_cleanup\n"
    "    tier: 1\n"
    "    baseline_risk: 5\n"
    "    reversible: true\n"
    "    idempotent: absolute\n"
    "    targets:\n"
    "      http: {method: POST, path: /flush}\n"
    "  - name: localonly\n"
    "    description: d\n"
    "    category: log_cleanup\n"
    "    tier: 1\n"
    "    baseline_risk: 5\n"
    "    reversible: true\n"
    "    idempotent: absolute\n"
    "    targets:\n"
    "      local: {argv: [/bin/true]}\n";

struct fixture {
    struct fs_catalog *cat;
    struct fs_config *cfg;
};

static int setup(void **state)
{
    static struct fixture f;
    struct fs_err err;
    struct fs_buf diag = FS_BUF_INIT(0);
    if (fs_catalog_load_buf(catalog_yaml, strlen(catalog_yaml), "t.yaml", NULL, &f.cat, &diag,
                            &err) < 0)
        fail_msg("catalog: %s", fs_buf_str(&diag));
    fs_buf_release(&diag);
    if (fs_config_load(NULL, &f.cfg, NULL, &err) < 0)
        fail_msg("config: %s", err.msg);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (!f)
        return 0;
    fs_catalog_free(f->cat);
    fs_config_free(f->cfg);
    return 0;
}

static json_t *argv_of(struct fixture *f, const char *action, const char *params,
                       const char *target, struct fs_exec_plan *plan, int want_rc,
                       const char *want_msg)
{
    const struct fs_action *a = fs_catalog_find(f->cat, action);
    assert_non_null(a);
    json_t *p = json_loads(params, 0, NULL), *t = json_loads(target, 0, NULL);
    assert_non_null(p);
    assert_non_null(t);
    struct fs_err err = {0};
    int rc = fs_exec_plan_build(f->cfg, a, p, t, plan, &err);
    json_decref(p);
    json_decref(t);
    if (rc != want_rc)
        fail_msg("%s: rc %d, want %d (%s)", action, rc, want_rc, err.msg);
    if (want_msg && !strstr(err.msg, want_msg))
        fail_msg("%s: message \"%s\" lacks \"%s\"", action, err.msg, want_msg);
    return rc == 0 ? plan->argv : NULL;
}

static void expect_argv(const json_t *argv, const char *const *want)
{
    size_t n = 0;
    while (want[n])
        n++;
    char *got = json_dumps(argv, JSON_COMPACT);
    if (json_array_size(argv) != n)
        fail_msg("argv %s has %zu elements, want %zu", got, json_array_size(argv), n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(json_string_value(json_array_get(argv, i)), want[i]) != 0)
            fail_msg("argv %s: [%zu] is not \"%s\"", got, i, want[i]);
    free(got);
}

static void test_local_target(void **state)
{
    struct fixture *f = *state;
    struct fs_exec_plan plan;
    /* a value with spaces and shell syntax stays one argument */
    json_t *argv = argv_of(f, "both", "{\"msg\":\"disk full; rm -rf /\"}",
                           "{\"host\":\"localhost\",\"service\":\"api\"}", &plan, 0, NULL);
    expect_argv(argv,
                (const char *const[]){"/usr/bin/logger", "--tag=x", "disk full; rm -rf /", NULL});
    assert_int_equal(plan.kind, FS_TARGET_LOCAL);
    assert_string_equal(plan.host, "");
    char *shown = fs_exec_argv_display(argv);
    assert_string_equal(shown, "/usr/bin/logger --tag=x 'disk full; rm -rf /'");
    free(shown);
    fs_exec_plan_release(&plan);
    /* host:port and 127.x count as this machine too */
    argv = argv_of(f, "both", "{\"msg\":\"x\"}", "{\"host\":\"127.0.0.1:9100\"}", &plan, 0, NULL);
    assert_int_equal(plan.kind, FS_TARGET_LOCAL);
    fs_exec_plan_release(&plan);
}

static void test_ssh_target(void **state)
{
    struct fixture *f = *state;
    struct fs_exec_plan plan;
    struct fs_err err;
    /* another machine and no ssh user: refused, saying why */
    argv_of(f, "both", "{\"msg\":\"x\"}", "{\"host\":\"web-1\"}", &plan, -FS_E_CONNECT,
            "tools.ssh_user is not set");
    argv_of(f, "localonly", "{}", "{\"host\":\"web-1\"}", &plan, -FS_E_CONNECT, "no ssh template");
    assert_int_equal(fs_config_set(f->cfg, "tools.ssh_user", "ops", &err), 0);
    f->cfg->tools.ssh_port = 2222; /* an INT key is not set from a string */
    json_t *argv =
        argv_of(f, "both", "{\"msg\":\"it's full\"}", "{\"host\":\"web-1:9100\"}", &plan, 0, NULL);
    assert_int_equal(plan.kind, FS_TARGET_SSH);
    assert_string_equal(plan.host, "web-1");
    size_t n = json_array_size(argv);
    assert_string_equal(json_string_value(json_array_get(argv, 0)), "ssh");
    assert_string_equal(json_string_value(json_array_get(argv, n - 2)), "web-1");
    /* the remote command is one element, each word quoted for the remote shell */
    assert_string_equal(json_string_value(json_array_get(argv, n - 1)), "'logger' 'it'\\''s full'");
    char *all = json_dumps(argv, JSON_COMPACT);
    assert_non_null(strstr(all, "\"-p\",\"2222\""));
    assert_non_null(strstr(all, "\"-l\",\"ops\""));
    assert_non_null(strstr(all, "BatchMode=yes"));
    free(all);
    fs_exec_plan_release(&plan);
}

static void test_kubectl_target(void **state)
{
    struct fixture *f = *state;
    struct fs_exec_plan plan;
    struct fs_err err;
    /* a namespace in the target picks kubectl, even on this machine */
    json_t *argv = argv_of(f, "kube", "{\"deployment\":\"api\"}",
                           "{\"host\":\"localhost\",\"namespace\":\"shop\"}", &plan, 0, NULL);
    assert_int_equal(plan.kind, FS_TARGET_KUBECTL);
    expect_argv(argv, (const char *const[]){"kubectl", "rollout", "restart", "deployment/api", "-n",
                                            "shop", NULL});
    fs_exec_plan_release(&plan);
    assert_int_equal(fs_config_set(f->cfg, "tools.kubectl", "/opt/bin/kubectl", &err), 0);
    assert_int_equal(fs_config_set(f->cfg, "tools.kubeconfig", "/etc/k.yaml", &err), 0);
    assert_int_equal(fs_config_set(f->cfg, "tools.kube_context", "prod", &err), 0);
    argv =
        argv_of(f, "kube", "{\"deployment\":\"api\"}", "{\"namespace\":\"shop\"}", &plan, 0, NULL);
    expect_argv(argv, (const char *const[]){"/opt/bin/kubectl", "--kubeconfig", "/etc/k.yaml",
                                            "--context", "prod", "rollout", "restart",
                                            "deployment/api", "-n", "shop", NULL});
    fs_exec_plan_release(&plan);
    /* without a namespace or workload the local template is used */
    argv =
        argv_of(f, "kube", "{\"deployment\":\"api\"}", "{\"host\":\"localhost\"}", &plan, 0, NULL);
    assert_int_equal(plan.kind, FS_TARGET_LOCAL);
    fs_exec_plan_release(&plan);
}

static void test_unsupported_targets(void **state)
{
    struct fixture *f = *state;
    struct fs_exec_plan plan;
    argv_of(f, "web", "{}", "{\"host\":\"localhost\",\"service\":\"api\"}", &plan, -FS_E_FORBIDDEN,
            "target kind http is not supported by this executor yet");
    assert_null(plan.argv);
}

/* ---- the derived probe k8s_deployment_status ------------------------------------------------ */

static json_t *probe_args_seen; /* what the replayed kubernetes.get was called with */

/* kubernetes.get as kubectl would answer it: web exists (3 wanted, 2 available), gone does not
 * (NotFound), slow timed out. */
static int kube_get(void *cl, const json_t *args, const struct fs_tool_ctx *ctx,
                    struct fs_tool_result *out, struct fs_err *err)
{
    (void)cl;
    (void)ctx;
    json_decref(probe_args_seen);
    probe_args_seen = json_deep_copy(args);
    const char *name = json_string_value(json_object_get(args, "name"));
    if (fs_streq(name, "gone"))
        return fs_tool_fail(out, "kubectl exited with status 1: Error from server (NotFound): "
                                 "deployments.apps \"gone\" not found");
    if (fs_streq(name, "slow"))
        return fs_tool_fail(out, "kubectl did not finish within 10000 ms and was stopped");
    out->structured =
        json_pack("{s:s,s:i,s:s,s:[{s:s,s:i,s:i,s:i,s:i,s:i}]}", "kind", "deployments", "count", 1,
                  "namespace", "shop", "items", "name", name, "desired", 3, "ready", 2, "updated",
                  3, "available", 2, "unavailable", 1);
    return out->structured ? 0 : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
}

static void *no_closure(void *arg, const char *name)
{
    (void)arg;
    (void)name;
    return NULL;
}

static void test_k8s_deployment_probe(void **state)
{
    struct fixture *f = *state;
    struct fs_registry *reg = NULL;
    struct fs_err err;
    assert_int_equal(fs_registry_new_replayed(kube_get, no_closure, NULL, &reg, &err), 0);
    struct fs_exec_env x = {.cfg = f->cfg, .tools = reg};
    static const struct {
        const char *deployment, *expect;
        bool ran, ok;
        const char *why;
    } cases[] = {
        {"web", "exists", true, true, NULL},
        {"web", "available_replicas == param.replicas", true, false, "is false"},
        {"web", "updated_replicas == replicas && ready_replicas == 2 && unavailable_replicas == 1",
         true, true, NULL},
        /* a deployment the cluster does not have is {exists: false}, not a probe that failed */
        {"gone", "!exists", true, true, NULL},
        {"gone", "exists", true, false, "is false"},
        /* anything else kubectl reports stays a failure, whatever the expect says */
        {"slow", "!exists", true, false, "reports an error"},
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(cases); i++) {
        json_t *probe = json_pack("{s:s,s:{s:s,s:s},s:s}", "probe", "k8s_deployment_status", "args",
                                  "namespace", "{namespace}", "deployment", "{deployment}",
                                  "expect", cases[i].expect);
        json_t *params = json_pack("{s:s,s:s,s:i}", "namespace", "shop", "deployment",
                                   cases[i].deployment, "replicas", 3);
        json_t *target = json_pack("{s:s}", "namespace", "shop");
        struct fs_probe_outcome o;
        assert_int_equal(fs_exec_probe(&x, probe, params, target, NULL, &o, &err), 0);
        if (o.ok != cases[i].ok || o.ran != cases[i].ran)
            fail_msg("%s \"%s\": ok %d ran %d (%s)", cases[i].deployment, cases[i].expect, o.ok,
                     o.ran, o.why);
        if (cases[i].why && !strstr(o.why, cases[i].why))
            fail_msg("%s \"%s\": why \"%s\" lacks \"%s\"", cases[i].deployment, cases[i].expect,
                     o.why, cases[i].why);
        assert_string_equal(o.tool, "kubernetes.get");
        /* the tool was asked for exactly that deployment */
        char *seen = json_dumps(probe_args_seen, JSON_COMPACT | JSON_SORT_KEYS);
        char want[200];
        snprintf(want, sizeof(want),
                 "{\"kind\":\"deployments\",\"name\":\"%s\",\"namespace\":\"shop\"}",
                 cases[i].deployment);
        assert_string_equal(seen, want);
        free(seen);
        if (fs_streq(cases[i].deployment, "web")) {
            assert_true(json_is_true(json_object_get(o.observed, "exists")));
            assert_int_equal(json_integer_value(json_object_get(o.observed, "replicas")), 3);
            assert_int_equal(json_integer_value(json_object_get(o.observed, "available_replicas")),
                             2);
            assert_string_equal(json_string_value(json_object_get(o.observed, "namespace")),
                                "shop");
        }
        fs_probe_outcome_release(&o);
        json_decref(probe);
        json_decref(params);
        json_decref(target);
    }
    json_decref(probe_args_seen);
    probe_args_seen = NULL;
    fs_registry_free(reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resume_table),        cmocka_unit_test(test_local_target),
        cmocka_unit_test(test_ssh_target),          cmocka_unit_test(test_kubectl_target),
        cmocka_unit_test(test_unsupported_targets), cmocka_unit_test(test_k8s_deployment_probe),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
