/* fuzz_policy: libFuzzer target for the policy loader. Any bytes, read over the embedded
 * default and alone, must give either a policy that keeps the loader's promises (ranges,
 * compiled patterns, a version) and that the gate can use, or an error whose message starts
 * with the file:line it names — never a crash, a leak or undefined behaviour. */
#include "core/common.h"

#include <stdint.h>
#include <stdlib.h>

#include "safety/catalog.h"
#include "safety/gate.h"
#include "safety/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fs_catalog *catalog;
static struct fs_proposal proposal;

static void check(const struct fs_policy *p)
{
    if (!p->version || !p->declared || !p->source || !p->doc || !p->match_ctx)
        abort();
    if (p->threshold < 0 || p->threshold > 100 || p->levels.medium < 1 ||
        p->levels.medium >= p->levels.high || p->levels.high > 100 || p->approval_ttl_ms <= 0)
        abort();
    for (size_t i = 0; i < p->nforbidden; i++)
        if (!p->forbidden[i].re || !p->forbidden[i].source)
            abort();
    struct fs_match_subject s = {.service = "a", .env = "production", .severity = "critical"};
    int idx;
    enum fs_mode m = fs_policy_mode_for(p, &s, &idx);
    if ((unsigned)m > FS_MODE_AUTONOMOUS || idx < -1 || idx >= (int)p->nmodes)
        abort();
    struct fs_gate_result r;
    fs_gate_decide(p, catalog, &proposal, &r);
    if (r.rule < 1 || r.rule > FS_GATE_RULES || r.score < 0 || r.score > 100)
        abort();
}

static void one(const uint8_t *data, size_t size, bool with_default)
{
    struct fs_policy *p = NULL;
    struct fs_err err;
    struct fs_buf diag = FS_BUF_INIT(1 << 20);
    int rc =
        fs_policy_load_buf((const char *)data, size, "fuzz.yaml", with_default, &p, &diag, &err);
    if (rc < 0) {
        if (p || rc != -(int)err.code || !err.msg[0])
            abort();
        if (err.path[0] && strncmp(err.msg, err.path, strlen(err.path)) != 0)
            abort();
    } else {
        check(p);
        fs_policy_free(p);
    }
    fs_buf_release(&diag);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!catalog) {
        struct fs_err err;
        static const char text[] =
            "{\"action\":\"page_oncall\",\"params\":{\"summary\":\"drop table x; rm -rf /\"},"
            "\"target\":{\"host\":\"h\",\"service\":\"a\",\"env\":\"production\"},"
            "\"incident\":{\"severity\":\"critical\",\"scope\":{\"hosts\":[\"h\"]}},"
            "\"evidence\":{\"cited\":[\"o\"],\"trace\":[\"o\"]}}";
        if (fs_catalog_load(NULL, &catalog, NULL, &err) < 0 ||
            fs_proposal_parse(text, sizeof(text) - 1, &proposal, &err) < 0)
            abort();
    }
    one(data, size, true);
    one(data, size, false);
    return 0;
}
