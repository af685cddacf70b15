/* fuzz_am_api: libFuzzer target for the Alertmanager API parser (fs_parse_am_api_alerts). Any
 * input must give either a batch whose every alert keeps the normalized model's promises, or an
 * error with a code and message and an empty batch — never a crash, a leak or UB. Test code
 * only; it checks, and does not define, parser behaviour. */
#include "core/common.h"

#include <stdint.h>
#include <stdlib.h>

#include "core/time.h"
#include "incidents/alert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str_map(const json_t *m, bool nonempty)
{
    const char *k;
    json_t *v;
    if (!json_is_object(m) || (nonempty && json_object_size(m) == 0))
        abort();
    json_object_foreach((json_t *)m, k, v) {
        if (!json_is_string(v))
            abort();
    }
}

static void check_alert(const struct fs_alert *a)
{
    char fp[17];
    if (strlen(a->fingerprint) != 16 || strspn(a->fingerprint, "0123456789abcdef") != 16)
        abort();
    check_str_map(a->labels, true);
    check_str_map(a->annotations, false);
    if (!json_is_object(a->extra))
        abort();
    if (a->starts_at == FS_TIME_UNSET || (unsigned)a->severity >= FS_SEV__COUNT)
        abort();
    if (a->status == FS_ALERT_RESOLVED && a->ends_at == FS_TIME_UNSET)
        abort();
    fs_alert_fingerprint(a->labels, fp); /* reads every label */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct fs_parse_limits lim = {
        .max_depth = 32, .max_alerts = 1000, .now_ms = 1795258000000LL};
    struct fs_alert_batch b;
    struct fs_err err;
    int rc = fs_parse_am_api_alerts((const char *)data, size, &lim, &b, &err);
    if (rc < 0) {
        if (rc != -(int)err.code || !err.msg[0] || b.root || b.alerts || b.n)
            abort();
        /* a message about a place starts with that place */
        if (err.path[0] && strncmp(err.msg, err.path, strlen(err.path)) != 0)
            abort();
        return 0;
    }
    if (rc != 0 || !b.root || b.source != FS_SRC_RECONCILE || b.n > lim.max_alerts ||
        b.truncated < 0)
        abort();
    for (size_t i = 0; i < b.n; i++)
        check_alert(&b.alerts[i]);
    fs_alert_batch_release(&b);
    return 0;
}
