/* Unit tests for planner/playbook loading that the CLI cannot reach: a playbook that calls a
 * tool which is registered but not read-only (only an MCP server's tools can be, and `playbook
 * check` loads the built-in registry) is refused with file, line and key; the embedded
 * playbooks load cleanly against the built-in tools and catalog. The shipped playbooks' behaviour
 * is tested by their cases (tests/cases/playbooks, tests/integration/test_playbooks.py). */
#include "unit.h"

#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "planner/playbook.h"
#include "safety/catalog.h"
#include "tools/registry.h"

static int write_handler(void *cl, const json_t *args, const struct fs_tool_ctx *ctx,
                         struct fs_tool_result *out, struct fs_err *err)
{
    out->text = strdup("done");
    return out->text ? 0 : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
}

static const char writer_playbook[] = "name: writer\n"
                                      "title: Writes through a tool\n"
                                      "match:\n"
                                      "  - alertname: 'Writer'\n"
                                      "steps:\n"
                                      "  - id: look\n"
                                      "    call: host.fs_usage\n"
                                      "    args: {}\n"
                                      "  - id: wipe\n"
                                      "    call: remote.wipe\n"
                                      "    args: {}\n"
                                      "  - escalate:\n"
                                      "      summary: done\n";

static void test_non_read_only_tool_is_refused(void **state)
{
    struct fs_registry *reg = NULL;
    struct fs_catalog *cat = NULL;
    struct fs_err err = {0};
    assert_int_equal(fs_registry_new(&reg, &err), 0);
    struct fs_buf diag = FS_BUF_INIT(1 << 16);
    assert_int_equal(fs_catalog_load(NULL, &cat, &diag, &err), 0);
    struct fs_tool_annotations ann = {.read_only = false, .destructive = true};
    assert_int_equal(fs_registry_add(reg, "remote.wipe", "Wipe", "Deletes things.",
                                     "{\"type\":\"object\"}", &ann, write_handler, NULL, &err),
                     0);
    struct fs_playbooks *p = (struct fs_playbooks *)1;
    int rc = fs_playbooks_load_buf(writer_playbook, strlen(writer_playbook), "writer.yaml", reg,
                                   cat, &p, &diag, &err);
    assert_int_equal(rc, -FS_E_CONFIG);
    assert_null(p);
    const char *d = fs_buf_str(&diag);
    if (!strstr(d, "writer.yaml:10: steps[1].call: remote.wipe is not read-only"))
        fail_msg("diag: %s", d);
    /* the read-only call above it is fine: one problem only */
    assert_null(strstr(d, "steps[0]"));
    /* the same tool marked read-only is accepted */
    fs_registry_free(reg);
    assert_int_equal(fs_registry_new(&reg, &err), 0);
    ann.read_only = true;
    ann.destructive = false;
    assert_int_equal(fs_registry_add(reg, "remote.wipe", "Wipe", "Reads things.",
                                     "{\"type\":\"object\"}", &ann, write_handler, NULL, &err),
                     0);
    fs_buf_reset(&diag);
    assert_int_equal(fs_playbooks_load_buf(writer_playbook, strlen(writer_playbook), "writer.yaml",
                                           reg, cat, &p, &diag, &err),
                     0);
    fs_playbooks_free(p);
    fs_registry_free(reg);
    fs_catalog_free(cat);
    fs_buf_release(&diag);
}

static void test_embedded_playbooks_load(void **state)
{
    struct fs_registry *reg = NULL;
    struct fs_catalog *cat = NULL;
    struct fs_playbooks *p = NULL;
    struct fs_err err = {0};
    struct fs_buf diag = FS_BUF_INIT(1 << 16);
    assert_int_equal(fs_registry_new(&reg, &err), 0);
    assert_int_equal(fs_catalog_load(NULL, &cat, &diag, &err), 0);
    if (fs_playbooks_load(NULL, reg, cat, &p, &diag, &err) < 0)
        fail_msg("%s", fs_buf_str(&diag));
    static const char *const shipped[] = {"cert_expiry",   "cpu_runaway",      "disk_pressure",
                                          "generic",       "inode_exhaustion", "memory_pressure",
                                          "service_failed"};
    for (size_t i = 0; i < FS_ARRAY_LEN(shipped); i++) {
        bool found = false;
        for (size_t j = 0; j < fs_playbooks_count(p); j++) {
            json_t *o = fs_playbook_json(p, j);
            found |= strcmp(json_string_value(json_object_get(o, "name")), shipped[i]) == 0;
            json_decref(o);
        }
        if (!found)
            fail_msg("%s is not embedded", shipped[i]);
    }
    /* matching: the alert names the shipped cases rely on */
    static const struct {
        const char *alertname, *playbook;
    } m[] = {{"NodeFilesystemSpaceFillingUp", "disk_pressure"},
             {"NodeFilesystemFilesFillingUp", "inode_exhaustion"},
             {"NodeFilesystemAlmostOutOfFiles", "inode_exhaustion"},
             {"HostHighCpuLoad", "cpu_runaway"},
             {"ArtifactDownloadSlow", "generic"},
             {"HostOomKillDetected", "memory_pressure"},
             {"MeetingRoomBookingErrors", "generic"},
             {"SystemdUnitFailed", "service_failed"},
             {"SSLCertExpiringSoon", "cert_expiry"}};
    for (size_t i = 0; i < FS_ARRAY_LEN(m); i++) {
        json_t *labels = json_pack("{s:s}", "alertname", m[i].alertname);
        const char *got = fs_playbooks_match(p, labels);
        if (!got || strcmp(got, m[i].playbook) != 0)
            fail_msg("%s matched %s, want %s", m[i].alertname, got ? got : "(none)", m[i].playbook);
        json_decref(labels);
    }
    fs_playbooks_free(p);
    fs_registry_free(reg);
    fs_catalog_free(cat);
    fs_buf_release(&diag);
}

/* Every call answers at once and slowly enough to watch the clock: a tool of the replayed set. */
static int slow_answer(void *cl, const json_t *args, const struct fs_tool_ctx *ctx,
                       struct fs_tool_result *out, struct fs_err *err)
{
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    out->structured = json_pack("{s:[{s:s,s:i,s:i,s:i,s:i,s:s}]}", "filesystems", "filesystem",
                                "/dev/x", "size_bytes", 1000, "used_bytes", 900, "avail_bytes", 100,
                                "used_percent", 90, "mount", "/");
    out->text = strdup("{}");
    return out->text ? 0 : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
}

static void *no_closure(void *arg, const char *name)
{
    return NULL;
}

/* The budgets of an investigation end it in an escalation that says which budget ran out,
 * after exactly the calls the budget allows. */
static void test_budgets_escalate(void **state)
{
    struct fs_registry *reg = NULL;
    struct fs_catalog *cat = NULL;
    struct fs_playbooks *p = NULL;
    struct fs_err err = {0};
    assert_int_equal(fs_registry_new_replayed(slow_answer, no_closure, NULL, &reg, &err), 0);
    assert_int_equal(fs_catalog_load(NULL, &cat, NULL, &err), 0);
    assert_int_equal(fs_playbooks_load(NULL, reg, cat, &p, NULL, &err), 0);
    json_t *scope = json_pack("{s:{s:s,s:s,s:s},s:{},s:{s:s,s:s}}", "labels", "alertname",
                              "DiskSpaceWarning", "instance", "127.0.0.1:9100", "mountpoint", "/",
                              "annotations", "incident", "id", "inc-1", "severity", "warning");
    struct fs_tool_ctx ctx = {0};
    int calls = 0;
    struct fs_plan_env env = {.tools = reg, .ctx = &ctx, .max_steps = 2};
    struct fs_plan_result r;
    assert_int_equal(fs_playbook_run(p, NULL, scope, &env, &r, &err), 0);
    assert_int_equal(r.outcome, FS_PLAN_ESCALATE);
    assert_int_equal(r.steps, 2);
    assert_string_equal(r.root_cause, "budget_exhausted");
    assert_non_null(strstr(r.summary, "step budget"));
    calls = r.steps;
    fs_plan_result_release(&r);
    /* a deadline already past: not one call */
    env.max_steps = 40;
    env.deadline_ms = 1;
    assert_int_equal(fs_playbook_run(p, NULL, scope, &env, &r, &err), 0);
    assert_int_equal(r.outcome, FS_PLAN_ESCALATE);
    assert_int_equal(r.steps, 0);
    assert_non_null(strstr(r.summary, "time budget"));
    assert_true(calls > r.steps);
    fs_plan_result_release(&r);
    json_decref(scope);
    fs_playbooks_free(p);
    fs_registry_free(reg);
    fs_catalog_free(cat);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_non_read_only_tool_is_refused),
        cmocka_unit_test(test_embedded_playbooks_load),
        cmocka_unit_test(test_budgets_escalate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
