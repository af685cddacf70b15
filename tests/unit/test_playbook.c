/* Unit tests for planner/playbook loading that the CLI cannot reach: a playbook that calls a
 * tool which is registered but not read-only (only an MCP server's tools can be, and `playbook
 * check` loads the built-in registry) is refused with file, line and key; the embedded
 * playbooks load cleanly against the built-in tools and catalog. The shipped playbooks' behaviour
 * is tested by their cases (tests/cases/playbooks, tests/integration/test_playbooks.py). */
#include "unit.h"

#include <string.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_non_read_only_tool_is_refused),
        cmocka_unit_test(test_embedded_playbooks_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
