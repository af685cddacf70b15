/* Shared by the payload-parser fuzz targets: any input must give either a batch whose every
 * alert keeps the normalized model's promises, or an error with a code, a message that starts
 * with its path, and an empty batch — never a crash, a leak or undefined behaviour. Test code
 * only; it checks, and does not define, parser behaviour. */
#ifndef FS_FUZZ_PAYLOAD_H
#define FS_FUZZ_PAYLOAD_H

#include "core/common.h"

#include <stdint.h>
#include <stdlib.h>

#include "core/time.h"
#include "incidents/alert.h"

typedef int (*parse_fn)(const char *body, size_t len, const struct fs_parse_limits *lim,
                        struct fs_alert_batch *out, struct fs_err *err);

static inline void check_str_map(const json_t *m, bool nonempty)
{
    const char *k;
    json_t *v;
    if (!json_is_object(m) || (nonempty && json_object_size(m) == 0))
        abort();
    json_object_foreach((json_t *)m, k, v)
    {
        if (!json_is_string(v))
            abort();
    }
}

static inline void check_alert(const struct fs_alert *a)
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

/* Run one input through a parser and check what it promises. */
static inline int fuzz_payload_parser(parse_fn parse, enum fs_alert_source source,
                                      const uint8_t *data, size_t size)
{
    const struct fs_parse_limits lim = {
        .max_depth = 32, .max_alerts = 1000, .now_ms = 1795258000000LL};
    struct fs_alert_batch b;
    struct fs_err err;
    int rc = parse((const char *)data, size, &lim, &b, &err);
    if (rc < 0) {
        if (rc != -(int)err.code || !err.msg[0] || b.root || b.alerts || b.n)
            abort();
        /* a message about a place starts with that place */
        if (err.path[0] && strncmp(err.msg, err.path, strlen(err.path)) != 0)
            abort();
        return 0;
    }
    if (rc != 0 || !b.root || b.source != source || b.n > lim.max_alerts || b.truncated < 0)
        abort();
    for (size_t i = 0; i < b.n; i++)
        check_alert(&b.alerts[i]);
    fs_alert_batch_release(&b);
    return 0;
}

#endif
