/* alert: helpers around the normalized alert — label fingerprints compatible with
 * Alertmanager's, severity words, names. No parsing of outside bytes here. */
#include "core/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "core/hash.h"
#include "incidents/alert.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static uint64_t add_label(uint64_t h, const char *name, const json_t *labels)
{
    const char *val = json_string_value(json_object_get(labels, name));
    h = fs_fnv64a_add(h, name, strlen(name));
    h = fs_fnv64a_add_byte(h, 0xff);
    if (val)
        h = fs_fnv64a_add(h, val, strlen(val));
    return fs_fnv64a_add_byte(h, 0xff);
}

void fs_alert_fingerprint(const json_t *labels, char out[17])
{
    uint64_t h = FS_FNV64_OFFSET;
    size_t n = json_object_size(labels);
    const char *k;
    json_t *v;
    if (n <= 64) {
        const char *names[64];
        size_t i = 0;
        json_object_foreach((json_t *)labels, k, v) names[i++] = k;
        qsort(names, n, sizeof(*names), cmp_str);
        for (i = 0; i < n; i++)
            h = add_label(h, names[i], labels);
    } else {
        /* Many labels: visit them in order by repeated selection, without allocating (an
         * allocation failure must never produce a wrong fingerprint). */
        const char *prev = NULL;
        for (size_t i = 0; i < n; i++) {
            const char *next = NULL;
            json_object_foreach((json_t *)labels, k, v)
            {
                if ((!prev || strcmp(k, prev) > 0) && (!next || strcmp(k, next) < 0))
                    next = k;
            }
            h = add_label(h, next, labels);
            prev = next;
        }
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

bool fs_severity_parse(const char *s, enum fs_severity *out)
{
    static const struct {
        const char *word;
        enum fs_severity sev;
    } words[] = {
        {"critical", FS_SEV_CRITICAL},
        {"crit", FS_SEV_CRITICAL},
        {"fatal", FS_SEV_CRITICAL},
        {"emergency", FS_SEV_CRITICAL},
        {"page", FS_SEV_CRITICAL},
        {"p1", FS_SEV_CRITICAL},
        {"high", FS_SEV_CRITICAL},
        {"error", FS_SEV_CRITICAL},
        {"warning", FS_SEV_WARNING},
        {"warn", FS_SEV_WARNING},
        {"medium", FS_SEV_WARNING},
        {"p2", FS_SEV_WARNING},
        {"p3", FS_SEV_WARNING},
        {"info", FS_SEV_INFO},
        {"informational", FS_SEV_INFO},
        {"notice", FS_SEV_INFO},
        {"low", FS_SEV_INFO},
        {"none", FS_SEV_INFO},
        {"p4", FS_SEV_INFO},
        {"p5", FS_SEV_INFO},
    };
    if (!s)
        return false;
    for (size_t i = 0; i < FS_ARRAY_LEN(words); i++) {
        if (strcasecmp(s, words[i].word) == 0) {
            *out = words[i].sev;
            return true;
        }
    }
    return false;
}

const char *fs_severity_name(enum fs_severity s)
{
    static const char *const names[] = {"info", "warning", "critical"};
    return (unsigned)s < FS_ARRAY_LEN(names) ? names[s] : "unknown";
}

const char *fs_alert_source_name(enum fs_alert_source s)
{
    static const char *const names[] = {"alertmanager", "grafana", "event", "reconcile"};
    return (unsigned)s < FS_ARRAY_LEN(names) ? names[s] : "unknown";
}

void fs_alert_batch_release(struct fs_alert_batch *b)
{
    if (!b)
        return;
    free(b->alerts);
    json_decref(b->root);
    b->alerts = NULL;
    b->root = NULL;
    b->n = 0;
}
