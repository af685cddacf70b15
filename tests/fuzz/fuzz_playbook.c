/* fuzz_playbook: libFuzzer target for the playbook loader. Any bytes, read as an operator's
 * playbook over the embedded ones, must give either a set that runs (a dry run over replayed
 * tools that answer every call with an empty result) or an error naming file:line — never a
 * crash, a leak, unbounded work or undefined behaviour. */
#include "core/common.h"

#include <stdint.h>
#include <stdlib.h>

#include "planner/playbook.h"
#include "safety/catalog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fs_registry *reg;
static struct fs_catalog *catalog;

static int empty_answer(void *closure, const json_t *args, const struct fs_tool_ctx *ctx,
                        struct fs_tool_result *out, struct fs_err *err)
{
    out->structured = json_object();
    out->text = fs_strdup("{}");
    return out->text ? 0 : -FS_E_NOMEM;
}

static void *closure_for(void *arg, const char *name)
{
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fs_err err;
    if (!reg && (fs_registry_new_replayed(empty_answer, closure_for, NULL, &reg, &err) < 0 ||
                 fs_catalog_load(NULL, &catalog, NULL, &err) < 0))
        abort();
    if (size > 1 << 16)
        return 0;
    struct fs_playbooks *p = NULL;
    int rc =
        fs_playbooks_load_buf((const char *)data, size, "fuzz.yaml", reg, catalog, &p, NULL, &err);
    if (rc < 0) {
        if (!err.msg[0])
            abort();
        return 0;
    }
    if (!p || fs_playbooks_count(p) == 0)
        abort();
    /* every playbook that matches this incident runs to an end within its budget */
    json_t *scope = json_pack("{s:{s:s,s:s,s:s},s:{},s:{s:s,s:s}}", "labels", "alertname",
                              "DiskSpaceWarning", "instance", "127.0.0.1:9100", "mountpoint", "/",
                              "annotations", "incident", "id", "inc-1", "severity", "warning");
    struct fs_tool_ctx ctx = {0};
    struct fs_plan_env env = {.tools = reg, .ctx = &ctx, .max_steps = 20};
    struct fs_plan_result res;
    if (fs_playbook_run(p, NULL, scope, &env, &res, &err) == 0) {
        if (res.steps > 20 || (res.outcome == FS_PLAN_PROPOSE && !res.proposal))
            abort();
        fs_plan_result_release(&res);
    }
    json_decref(scope);
    fs_playbooks_free(p);
    return 0;
}
