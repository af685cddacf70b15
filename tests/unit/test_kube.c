/* Unit tests for the kubernetes.* tools: the kubectl JSON parser against real-shaped output
 * (PodList, DeploymentList, EventList, a single object, nodes, configmaps, a Status error,
 * garbage), and the tools run against a fake kubectl (a shell script that records its argv and
 * environment and prints a canned reply) to pin the exact argument vector: one element per
 * value, --flag=value for configured strings, no secrets kind, hostile values refused by the
 * schema before anything runs. The real kubectl is exercised in
 * tests/integration/test_kube_standin.py. */
#include "unit.h"

#include "tools_unit.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/time.h"
#include "tools/kube_int.h"
#include "tools/registry.h"

static char tmpdir[256];
static char fake[300], argv_file[300], env_file[300], reply_file[300], status_file[300];
static struct fs_registry *reg;

/* 2026-11-21T12:00:00Z */
#define NOW 1795262400000LL

static void write_text(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    assert_true(fd >= 0);
    size_t n = strlen(text);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
    chmod(path, mode);
}

static char *read_text(const char *path)
{
    struct fs_buf b = FS_BUF_INIT(0);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    char chunk[4096];
    ssize_t r;
    while ((r = read(fd, chunk, sizeof(chunk))) > 0)
        assert_int_equal(fs_buf_append(&b, chunk, (size_t)r), 0);
    close(fd);
    return fs_buf_detach(&b, NULL);
}

static int setup(void **state)
{
    if (tools_setup("fs-kube") < 0)
        return -1;
    snprintf(fake, sizeof(fake), "%s/kubectl", tmpdir);
    snprintf(argv_file, sizeof(argv_file), "%s/argv", tmpdir);
    snprintf(env_file, sizeof(env_file), "%s/env", tmpdir);
    snprintf(reply_file, sizeof(reply_file), "%s/reply", tmpdir);
    snprintf(status_file, sizeof(status_file), "%s/status", tmpdir);
    char script[2048];
    /* records argv (one per line) and the environment, prints the reply, exits with status */
    snprintf(script, sizeof(script),
             "#!/bin/sh\n"
             "printf '%%s\\n' \"$@\" > '%s'\n"
             "env > '%s'\n"
             "cat '%s'\n"
             "st=$(cat '%s' 2>/dev/null)\n"
             "if [ -n \"$st\" ] && [ \"$st\" != 0 ]; then echo \"error: boom $st\" >&2; "
             "exit \"$st\"; fi\n",
             argv_file, env_file, reply_file, status_file);
    write_text(fake, script, 0755);
    return 0;
}

static void expect_at(json_t *root, const char *path, const char *want)
{
    json_t *v = jget(root, path);
    char *got = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    if (!got || strcmp(got, want)) {
        char *all = json_dumps(root, JSON_COMPACT);
        fail_msg("%s = %s, want %s\n%s", path, got ? got : "(missing)", want, all);
    }
    free(got);
}

static json_t *parse_ok(const char *text, const char *kind)
{
    json_t *out = NULL;
    struct fs_err e = {0};
    int rc = fs_kube_parse(text, strlen(text), kind, NOW, &out, &e);
    if (rc != 0)
        fail_msg("%s: %s: %s", kind, fs_err_name(rc), e.msg);
    return out;
}

/* ---- parser ------------------------------------------------------------------------------- */

static const char pod_list[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"metadata\":{\"resourceVersion\":\"\"},\"items\":["
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web-1\",\"namespace\":"
    "\"shop\",\"creationTimestamp\":\"2026-11-21T11:00:00Z\"},\"spec\":{\"nodeName\":\"node-2\","
    "\"containers\":[{\"name\":\"app\"},{\"name\":\"sidecar\"}]},\"status\":{\"phase\":"
    "\"Running\",\"podIP\":\"10.244.1.7\",\"containerStatuses\":["
    "{\"name\":\"app\",\"ready\":false,\"restartCount\":12,\"state\":{\"waiting\":{\"reason\":"
    "\"CrashLoopBackOff\"}},\"lastState\":{\"terminated\":{\"exitCode\":137,\"reason\":"
    "\"OOMKilled\"}}},"
    "{\"name\":\"sidecar\",\"ready\":true,\"restartCount\":1,\"state\":{\"running\":{}}}]}},"
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"init-1\",\"namespace\":"
    "\"shop\",\"creationTimestamp\":\"2026-11-21T11:59:00Z\",\"deletionTimestamp\":null},"
    "\"spec\":{\"initContainers\":[{\"name\":\"i1\"},{\"name\":\"i2\"}],\"containers\":[{\"name\":"
    "\"c\"}]},\"status\":{\"phase\":\"Pending\",\"initContainerStatuses\":["
    "{\"name\":\"i1\",\"state\":{\"terminated\":{\"exitCode\":0}}},"
    "{\"name\":\"i2\",\"state\":{\"running\":{}}}]}},"
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"gone\",\"namespace\":"
    "\"shop\",\"deletionTimestamp\":\"2026-11-21T11:59:59Z\"},\"status\":{\"phase\":\"Running\"}},"
    "7]}";

static void test_parse_pods(void **state)
{
    json_t *o = parse_ok(pod_list, "pods");
    expect_at(o, "kind", "\"pods\"");
    expect_at(o, "count", "3");
    expect_at(o, "unparsed", "1");
    expect_at(o, "items[0].name", "\"web-1\"");
    expect_at(o, "items[0].phase", "\"Running\"");
    expect_at(o, "items[0].status", "\"CrashLoopBackOff\"");
    expect_at(o, "items[0].ready", "\"1/2\"");
    expect_at(o, "items[0].restarts", "13");
    expect_at(o, "items[0].node", "\"node-2\"");
    expect_at(o, "items[0].age_s", "3600");
    expect_at(o, "items[0].containers[0].last_reason", "\"OOMKilled\"");
    expect_at(o, "items[0].containers[0].last_exit_code", "137");
    expect_at(o, "items[0].containers[1].state", "\"running\"");
    expect_at(o, "items[1].status", "\"Init:1/2\"");
    expect_at(o, "items[1].ready", "\"0/1\"");
    expect_at(o, "items[2].status", "\"Terminating\"");
    expect_at(o, "items[2].age_s", "null");
    json_decref(o);
}

static void test_parse_deployments_and_single_object(void **state)
{
    const char *d =
        "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\","
        "\"namespace\":\"shop\",\"generation\":4,\"creationTimestamp\":\"2026-11-20T12:00:00Z\"},"
        "\"spec\":{\"replicas\":3,\"template\":{\"spec\":{\"containers\":[{\"name\":\"app\","
        "\"image\":\"nginx:1.25\"}]}}},\"status\":{\"observedGeneration\":4,\"replicas\":3,"
        "\"updatedReplicas\":3,\"readyReplicas\":2,\"availableReplicas\":2,"
        "\"unavailableReplicas\":1,\"conditions\":[{\"type\":\"Available\",\"status\":\"False\","
        "\"reason\":\"MinimumReplicasUnavailable\",\"message\":\"Deployment does not have "
        "minimum availability.\"}]}}";
    json_t *o = parse_ok(d, "deployments");
    expect_at(o, "count", "1");
    expect_at(o, "items[0].desired", "3");
    expect_at(o, "items[0].ready", "2");
    expect_at(o, "items[0].updated", "3");
    expect_at(o, "items[0].available", "2");
    expect_at(o, "items[0].unavailable", "1");
    expect_at(o, "items[0].age_s", "86400");
    expect_at(o, "items[0].conditions[0].reason", "\"MinimumReplicasUnavailable\"");
    expect_at(o, "items[0].images", "[\"nginx:1.25\"]");
    json_decref(o);
    /* a deployment without replicas defaults to 1, without status to zeros */
    o = parse_ok("{\"kind\":\"DeploymentList\",\"items\":[{\"metadata\":{\"name\":\"x\"}}]}",
                 "deployments");
    expect_at(o, "items[0].desired", "1");
    expect_at(o, "items[0].ready", "0");
    json_decref(o);
}

static void test_parse_events_newest_first(void **state)
{
    const char *ev =
        "{\"kind\":\"List\",\"items\":["
        "{\"kind\":\"Event\",\"metadata\":{\"name\":\"a\",\"namespace\":\"shop\"},"
        "\"involvedObject\":{\"kind\":\"Pod\",\"name\":\"web-1\"},\"reason\":\"Scheduled\","
        "\"type\":\"Normal\",\"message\":\"assigned\",\"count\":1,"
        "\"firstTimestamp\":\"2026-11-21T10:00:00Z\",\"lastTimestamp\":\"2026-11-21T10:00:00Z\","
        "\"source\":{\"component\":\"default-scheduler\"}},"
        "{\"kind\":\"Event\",\"metadata\":{\"name\":\"b\",\"namespace\":\"shop\"},"
        "\"involvedObject\":{\"kind\":\"Pod\",\"name\":\"web-1\"},\"reason\":\"BackOff\","
        "\"type\":\"Warning\",\"message\":\"Back-off restarting failed container\",\"count\":57,"
        "\"firstTimestamp\":\"2026-11-21T10:01:00Z\",\"lastTimestamp\":\"2026-11-21T11:59:30Z\"},"
        "{\"kind\":\"Event\",\"metadata\":{\"name\":\"c\",\"namespace\":\"shop\"},"
        "\"involvedObject\":{\"kind\":\"Deployment\",\"name\":\"web\"},\"reason\":\"Updated\","
        "\"type\":\"Normal\",\"message\":\"x\",\"eventTime\":\"2026-11-21T11:00:00.123456Z\","
        "\"series\":{\"count\":4,\"lastObservedTime\":\"2026-11-21T11:30:00.5Z\"},"
        "\"firstTimestamp\":null,\"lastTimestamp\":null,"
        "\"reportingComponent\":\"deployment-controller\"}]}";
    json_t *o = parse_ok(ev, "events");
    expect_at(o, "count", "3");
    expect_at(o, "items[0].reason", "\"BackOff\"");
    expect_at(o, "items[0].object", "\"Pod/web-1\"");
    expect_at(o, "items[0].count", "57");
    expect_at(o, "items[0].last_time", "\"2026-11-21T11:59:30.000Z\"");
    expect_at(o, "items[0].age_s", "30");
    expect_at(o, "items[1].reason", "\"Updated\"");
    expect_at(o, "items[1].count", "4");
    expect_at(o, "items[1].source", "\"deployment-controller\"");
    expect_at(o, "items[1].first_time", "\"2026-11-21T11:00:00.123Z\"");
    expect_at(o, "items[2].reason", "\"Scheduled\"");
    expect_at(o, "items[2].source", "\"default-scheduler\"");
    json_decref(o);
}

static void test_parse_other_kinds(void **state)
{
    json_t *o = parse_ok(
        "{\"kind\":\"List\",\"items\":[{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"cfg\"},"
        "\"data\":{\"z.conf\":\"password=hunter2\",\"a\":\"1\"},\"binaryData\":{\"m\":\"AA==\"}}]}",
        "configmaps");
    expect_at(o, "items[0].keys", "[\"a\",\"m\",\"z.conf\"]");
    char *all = json_dumps(o, JSON_COMPACT);
    assert_null(strstr(all, "hunter2")); /* values never leave */
    free(all);
    json_decref(o);

    o = parse_ok("{\"kind\":\"List\",\"items\":[{\"kind\":\"Node\",\"metadata\":{\"name\":"
                 "\"node-1\",\"labels\":{\"node-role.kubernetes.io/control-plane\":\"\"}},"
                 "\"spec\":{\"unschedulable\":true},\"status\":{\"conditions\":["
                 "{\"type\":\"MemoryPressure\",\"status\":\"True\"},"
                 "{\"type\":\"DiskPressure\",\"status\":\"False\"},"
                 "{\"type\":\"Ready\",\"status\":\"False\"}],\"capacity\":{\"cpu\":\"4\"}}}]}",
                 "nodes");
    expect_at(o, "items[0].status", "\"NotReady,SchedulingDisabled\"");
    expect_at(o, "items[0].pressure", "[\"MemoryPressure\"]");
    expect_at(o, "items[0].roles", "[\"control-plane\"]");
    expect_at(o, "items[0].cpu_capacity", "\"4\"");
    json_decref(o);

    o = parse_ok("{\"kind\":\"Service\",\"metadata\":{\"name\":\"web\"},\"spec\":{\"type\":"
                 "\"NodePort\",\"clusterIP\":\"10.0.0.1\",\"ports\":[{\"port\":80,\"nodePort\":"
                 "30080,\"protocol\":\"TCP\"},{\"port\":53,\"protocol\":\"UDP\"}],"
                 "\"selector\":{\"app\":\"web\"}}}",
                 "services");
    expect_at(o, "items[0].ports", "[\"80:30080/TCP\",\"53/UDP\"]");
    expect_at(o, "items[0].selector", "{\"app\":\"web\"}");
    json_decref(o);

    o = parse_ok("{\"kind\":\"Job\",\"metadata\":{\"name\":\"j\"},\"spec\":{\"completions\":3},"
                 "\"status\":{\"succeeded\":2,\"failed\":1,\"startTime\":"
                 "\"2026-11-21T11:00:00Z\",\"completionTime\":\"2026-11-21T11:01:30Z\"}}",
                 "jobs");
    expect_at(o, "items[0].completions", "\"2/3\"");
    expect_at(o, "items[0].duration_s", "90");
    json_decref(o);

    /* a long event message is cut at a character boundary */
    struct fs_buf b = FS_BUF_INIT(0);
    fs_buf_puts(&b, "{\"kind\":\"Event\",\"metadata\":{\"name\":\"e\"},\"message\":\"");
    for (int i = 0; i < 2000; i++)
        fs_buf_puts(&b, "\xc3\xa9");
    fs_buf_puts(&b, "\"}");
    o = parse_ok(b.data, "events");
    const char *m = json_string_value(jget(o, "items[0].message"));
    assert_non_null(m);
    assert_true(strlen(m) <= FS_KUBE_MAX_MESSAGE);
    assert_string_equal(m + strlen(m) - 3, "...");
    json_decref(o);
    fs_buf_release(&b);
}

static void test_parse_errors(void **state)
{
    json_t *o = NULL;
    struct fs_err e = {0};
    const char *st = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
                     "\"Failure\",\"message\":\"pods \\\"nope\\\" not found\",\"reason\":"
                     "\"NotFound\",\"details\":{\"name\":\"nope\",\"kind\":\"pods\"},\"code\":404}";
    assert_int_equal(fs_kube_parse(st, strlen(st), "pods", NOW, &o, &e), -FS_E_PROTOCOL);
    assert_null(o);
    assert_non_null(strstr(e.msg, "NotFound (404)"));
    assert_non_null(strstr(e.msg, "pods \"nope\" not found"));
    static const char *const bad[] = {"",
                                      "not json",
                                      "[1,2]",
                                      "{\"items\":{}}",
                                      "{\"a\":1}",
                                      "\"x\"",
                                      "{\"kind\":\"List\",\"items\":"};
    for (size_t i = 0; i < FS_ARRAY_LEN(bad); i++) {
        memset(&e, 0, sizeof(e));
        int rc = fs_kube_parse(bad[i], strlen(bad[i]), "pods", NOW, &o, &e);
        if (rc != -FS_E_INVALID_PAYLOAD || o || !e.msg[0])
            fail_msg("%s: rc %d", bad[i], rc);
    }
    /* wrong types everywhere are tolerated, not trusted */
    o = parse_ok("{\"items\":[{\"metadata\":{\"name\":7,\"creationTimestamp\":\"yesterday\"},"
                 "\"spec\":{\"containers\":\"x\"},\"status\":{\"containerStatuses\":[1,{\"ready\":"
                 "\"yes\",\"restartCount\":-5}]}}]}",
                 "pods");
    expect_at(o, "items[0].name", "null");
    expect_at(o, "items[0].restarts", "0");
    expect_at(o, "items[0].age_s", "null");
    json_decref(o);
}

/* ---- the tools against a fake kubectl ----------------------------------------------------- */

static struct fs_tool_ctx fake_ctx(void)
{
    return (struct fs_tool_ctx){.kubectl = fake, .timeout_ms = 10000, .now_ms = NOW};
}

static void reply(const char *text, int status)
{
    write_text(reply_file, text, 0644);
    char s[16];
    snprintf(s, sizeof(s), "%d", status);
    write_text(status_file, s, 0644);
}

static void call(const char *name, const char *args, const struct fs_tool_ctx *ctx,
                 struct fs_tool_result *r)
{
    json_t *a = J(args);
    struct fs_err e = {0};
    unlink(argv_file);
    int rc = fs_tools_call(reg, name, a, ctx, r, &e);
    json_decref(a);
    if (rc != 0)
        fail_msg("%s %s: %s: %s", name, args, fs_err_name(rc), e.msg);
}

static void expect_argv(const char *want)
{
    char *got = read_text(argv_file);
    if (!got || strcmp(got, want))
        fail_msg("argv:\n%s\nwant:\n%s", got ? got : "(kubectl did not run)", want);
    free(got);
}

static void test_get_argv_and_result(void **state)
{
    struct fs_tool_ctx ctx = fake_ctx();
    struct fs_tool_result r = {0};
    reply(pod_list, 0);
    call("kubernetes.get",
         "{\"kind\":\"pods\",\"namespace\":\"shop\",\"label_selector\":\"app=web,tier in (a, b)\","
         "\"limit\":2}",
         &ctx, &r);
    assert_false(r.is_error);
    expect_argv("--request-timeout=9s\nget\npods\n--namespace=shop\n"
                "--selector=app=web,tier in (a, b)\n--output=json\n");
    expect_at(r.structured, "returned", "2");
    expect_at(r.structured, "count", "3");
    expect_at(r.structured, "truncated", "true");
    expect_at(r.structured, "namespace", "\"shop\"");
    assert_true(r.truncated);
    fs_tool_result_release(&r);

    /* configured kubeconfig and context travel as --flag=value; no namespace = all; a name */
    ctx.kubeconfig = "/etc/forestall/kube config";
    ctx.kube_context = "-prod";
    ctx.timeout_ms = 500;
    call("kubernetes.get", "{\"kind\":\"nodes\",\"name\":\"node-1\",\"namespace\":\"ignored\"}",
         &ctx, &r);
    expect_argv("--kubeconfig=/etc/forestall/kube config\n--context=-prod\n"
                "--request-timeout=1s\nget\nnodes\nnode-1\n--output=json\n");
    fs_tool_result_release(&r);
    ctx = fake_ctx();
    call("kubernetes.get", "{\"kind\":\"deployments\"}", &ctx, &r);
    expect_argv("--request-timeout=9s\nget\ndeployments\n--all-namespaces\n--output=json\n");
    fs_tool_result_release(&r);

    /* the environment is fixed: no daemon variables beyond HOME/KUBECONFIG */
    setenv("FS_KUBE_TEST_SECRET", "s3cret", 1);
    call("kubernetes.get", "{\"kind\":\"pods\",\"namespace\":\"shop\"}", &ctx, &r);
    char *env = read_text(env_file);
    assert_non_null(env);
    assert_null(strstr(env, "FS_KUBE_TEST_SECRET"));
    assert_non_null(strstr(env, "LC_ALL=C"));
    free(env);
    unsetenv("FS_KUBE_TEST_SECRET");
    fs_tool_result_release(&r);

    /* kubectl failing is a tool failure with its message */
    reply("", 1);
    call("kubernetes.get", "{\"kind\":\"pods\",\"namespace\":\"shop\",\"name\":\"x\"}", &ctx, &r);
    assert_true(r.is_error);
    assert_non_null(strstr(r.text, "boom 1"));
    fs_tool_result_release(&r);
    /* output that is not JSON too */
    reply("No resources found\n", 0);
    call("kubernetes.get", "{\"kind\":\"pods\",\"namespace\":\"shop\"}", &ctx, &r);
    assert_true(r.is_error);
    assert_non_null(strstr(r.text, "could not read"));
    fs_tool_result_release(&r);
}

static void test_other_tools_argv(void **state)
{
    struct fs_tool_ctx ctx = fake_ctx();
    struct fs_tool_result r = {0};
    reply("Name: web\nNamespace: shop\n", 0);
    call("kubernetes.describe",
         "{\"kind\":\"deployments\",\"name\":\"web\",\"namespace\":"
         "\"shop\"}",
         &ctx, &r);
    expect_argv("--request-timeout=9s\ndescribe\ndeployments\nweb\n--namespace=shop\n");
    assert_string_equal(r.text, "Name: web\nNamespace: shop\n");
    expect_at(r.structured, "kind", "\"deployments\"");
    fs_tool_result_release(&r);

    reply("line one\nline two\n", 0);
    call("kubernetes.logs",
         "{\"pod\":\"web-1\",\"namespace\":\"shop\",\"container\":\"app\",\"tail_lines\":50,"
         "\"since\":\"1h30m\",\"previous\":true}",
         &ctx, &r);
    expect_argv("--request-timeout=9s\nlogs\nweb-1\n--namespace=shop\n--container=app\n"
                "--tail=50\n--since=1h30m\n--previous\n");
    expect_at(r.structured, "lines", "[\"line one\",\"line two\"]");
    expect_at(r.structured, "previous", "true");
    fs_tool_result_release(&r);

    reply("{\"kind\":\"List\",\"items\":[]}", 0);
    call("kubernetes.events",
         "{\"namespace\":\"shop\",\"object_name\":\"web-1.abc\",\"type\":\"Warning\"}", &ctx, &r);
    expect_argv("--request-timeout=9s\nget\nevents\n--namespace=shop\n"
                "--field-selector=involvedObject.name=web-1.abc,type=Warning\n--output=json\n");
    expect_at(r.structured, "count", "0");
    fs_tool_result_release(&r);

    reply("Waiting for deployment \"web\" rollout to finish: 2 of 3 updated replicas are "
          "available...\n",
          0);
    call("kubernetes.rollout_status",
         "{\"kind\":\"deployment\",\"name\":\"web\",\"namespace\":\"shop\"}", &ctx, &r);
    expect_argv("--request-timeout=9s\nrollout\nstatus\ndeployment/web\n--namespace=shop\n"
                "--watch=false\n");
    expect_at(r.structured, "done", "false");
    expect_at(r.structured, "failed", "false");
    fs_tool_result_release(&r);
    reply("deployment \"web\" successfully rolled out\n", 0);
    call("kubernetes.rollout_status",
         "{\"kind\":\"deployment\",\"name\":\"web\",\"namespace\":\"shop\"}", &ctx, &r);
    expect_at(r.structured, "done", "true");
    expect_at(r.structured, "message", "\"deployment \\\"web\\\" successfully rolled out\"");
    fs_tool_result_release(&r);
}

static void test_hostile_arguments_refused(void **state)
{
    struct fs_tool_ctx ctx = fake_ctx();
    static const struct {
        const char *tool, *args, *path;
    } cases[] = {
        {"kubernetes.get", "{\"kind\":\"secrets\",\"namespace\":\"shop\"}", "kind"},
        {"kubernetes.get", "{\"kind\":\"pods\",\"namespace\":\"-oyaml\"}", "namespace"},
        {"kubernetes.get", "{\"kind\":\"pods\",\"namespace\":\"Shop\"}", "namespace"},
        {"kubernetes.get", "{\"kind\":\"pods\",\"namespace\":\"a\",\"name\":\"--raw=/x\"}", "name"},
        {"kubernetes.get", "{\"kind\":\"pods\",\"namespace\":\"a\",\"name\":\"a..b\"}", "name"},
        {"kubernetes.get", "{\"kind\":\"pods\",\"label_selector\":\"app=web;id\"}",
         "label_selector"},
        {"kubernetes.get", "{\"kind\":\"pods\",\"label_selector\":\"-l\"}", "label_selector"},
        {"kubernetes.get", "{\"kind\":\"pods\",\"label_selector\":\"app=$(id)\"}",
         "label_selector"},
        {"kubernetes.get", "{\"kind\":\"pods\",\"name\":\"x\"}", "namespace"},
        {"kubernetes.get",
         "{\"kind\":\"pods\",\"namespace\":\"a\",\"name\":\"x\","
         "\"label_selector\":\"a=b\"}",
         "label_selector"},
        {"kubernetes.logs", "{\"pod\":\"p\",\"namespace\":\"a\",\"tail_lines\":5000}",
         "tail_lines"},
        {"kubernetes.logs", "{\"pod\":\"p\",\"namespace\":\"a\",\"since\":\"1d\"}", "since"},
        {"kubernetes.logs", "{\"pod\":\"p\",\"namespace\":\"a\",\"container\":\"--x\"}",
         "container"},
        {"kubernetes.describe", "{\"kind\":\"pods\",\"name\":\"p\"}", "namespace"},
        {"kubernetes.rollout_status", "{\"kind\":\"pods\",\"name\":\"p\",\"namespace\":\"a\"}",
         "kind"},
        {"kubernetes.events", "{\"object_name\":\"x,involvedObject.kind=Pod\"}", "object_name"},
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(cases); i++) {
        json_t *a = J(cases[i].args);
        struct fs_tool_result r = {0};
        struct fs_err e = {0};
        unlink(argv_file);
        int rc = fs_tools_call(reg, cases[i].tool, a, &ctx, &r, &e);
        json_decref(a);
        if (rc != -FS_E_INVALID_PAYLOAD || strcmp(e.path, cases[i].path))
            fail_msg("%s %s: rc %s path %s (%s)", cases[i].tool, cases[i].args, fs_err_name(rc),
                     e.path, e.msg);
        assert_int_equal(access(argv_file, F_OK), -1); /* kubectl never ran */
    }
    /* secrets are not even a kind the docs offer */
    struct fs_buf b = FS_BUF_INIT(0);
    assert_int_equal(fs_tools_doc_markdown(&b), 0);
    assert_null(strstr(b.data, "\"secrets\""));
    fs_buf_release(&b);
}

static void test_kubectl_missing(void **state)
{
    struct fs_tool_ctx ctx = fake_ctx();
    ctx.kubectl = "/nonexistent/kubectl";
    struct fs_tool_result r = {0};
    call("kubernetes.get", "{\"kind\":\"pods\",\"namespace\":\"a\"}", &ctx, &r);
    assert_true(r.is_error);
    assert_non_null(strstr(r.text, "not available"));
    fs_tool_result_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_pods),
        cmocka_unit_test(test_parse_deployments_and_single_object),
        cmocka_unit_test(test_parse_events_newest_first),
        cmocka_unit_test(test_parse_other_kinds),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_get_argv_and_result),
        cmocka_unit_test(test_other_tools_argv),
        cmocka_unit_test(test_hostile_arguments_refused),
        cmocka_unit_test(test_kubectl_missing),
    };
    return cmocka_run_group_tests(tests, setup, tools_teardown);
}
