/* fuzz_scenario: libFuzzer target for scenario files (docs/scenarios.md). Any bytes must give
 * either a scenario that loads — and whose world then answers the host tools (df, du, find,
 * ps, systemctl) through the simulator — or problems naming file:line: never a crash, a leak,
 * unbounded work or undefined behaviour. */
#include "core/common.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "core/time.h"
#include "core/yaml.h"
#include "eval/eval.h"
#include "eval/world.h"
#include "safety/catalog.h"
#include "tools/registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fs_catalog *catalog;
static struct fs_registry *reg;

static void exercise(const char *text, size_t len)
{
    struct fs_yaml_doc doc = {0};
    struct fs_err err;
    if (fs_yaml_parse(text, len, "fuzz.yaml", &doc, &err) < 0)
        return;
    struct fs_diag d = {.code = FS_E_INVALID};
    struct fs_world *w = NULL;
    json_t *wj = json_object_get(doc.root, "world");
    if (json_is_object(wj) && fs_world_load(wj, &doc, "world", fs_now_ms(), &w, &d, &err) == 0) {
        struct fs_sim sim;
        fs_world_sim(w, &sim);
        struct fs_tool_ctx ctx = {.target = FS_TOOL_SIM, .sim = &sim, .sim_host = ""};
        static const char *const calls[][2] = {
            {"host.fs_usage", "{}"},
            {"host.inode_usage", "{}"},
            {"host.dir_sizes", "{\"path\":\"/\",\"depth\":3}"},
            {"host.largest_files", "{\"path\":\"/var/log\",\"limit\":5}"},
            {"host.top_processes", "{\"sort\":\"memory\"}"},
            {"host.memory", "{}"},
            {"host.load", "{}"},
            {"host.journal_disk_usage", "{\"directory\":\"/var/log/journal\"}"},
            {"host.service_status", "{\"unit\":\"app.service\"}"},
            {"host.listening_ports", "{}"},
        };
        for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
            json_t *args = json_loads(calls[i][1], 0, NULL);
            struct fs_tool_result r = {0};
            if (fs_tools_call(reg, calls[i][0], args, &ctx, &r, &err) == 0)
                fs_tool_result_release(&r);
            json_decref(args);
        }
        /* the effects: a cleanup and a vacuum over whatever the world holds */
        const char *find[] = {"find", "/", "-xdev", "-type", "f", "-mtime", "+1", "-delete", NULL};
        const char *vac[] = {"journalctl", "--directory=/var/log/journal", "--vacuum-size=1M",
                             NULL};
        const char *const *progs[] = {find, vac};
        for (size_t i = 0; i < 2; i++) {
            struct fs_child c = {.argv = progs[i]};
            if (sim.run(&sim, "", &c, &err) == 0)
                fs_child_release(&c);
        }
    }
    fs_world_free(w);
    fs_yaml_doc_release(&doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fs_err err;
    if (!catalog &&
        (fs_catalog_load(NULL, &catalog, NULL, &err) < 0 || fs_registry_new(&reg, &err) < 0))
        abort();
    if (size > 1 << 16)
        return 0;
    struct fs_buf diag = FS_BUF_INIT(1 << 16);
    err.msg[0] = '\0';
    int rc = fs_eval_scenario_check((const char *)data, size, "fuzz.yaml", catalog, &diag, &err);
    if (rc == -FS_E_INVALID && diag.len == 0)
        abort(); /* a refusal always says why */
    fs_buf_release(&diag);
    exercise((const char *)data, size);
    return 0;
}
