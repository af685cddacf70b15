/* fault: the test-only failure injection behind fs_fault_check(). Counting is atomic so that
 * fault points may be hit from any thread. */
#include "core/common.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/fault.h"

static const char *const fault_names[] = {
#define FS_FAULT_NAME(e, name, doc) name,
    FS_FAULT_POINTS(FS_FAULT_NAME)
#undef FS_FAULT_NAME
};

struct fault_slot {
    atomic_long hits;
    long first; /* 0 = disarmed */
    long count; /* 0 = forever */
};

static atomic_bool fault_armed;
static struct fault_slot fault_slots[FS_FAULT__COUNT];

int fs_fault_arm(const char *spec)
{
    atomic_store(&fault_armed, false);
    for (int i = 0; i < FS_FAULT__COUNT; i++) {
        atomic_store(&fault_slots[i].hits, 0);
        fault_slots[i].first = 0;
        fault_slots[i].count = 0;
    }
    if (!spec || !*spec)
        return 0;

    char buf[512];
    if (fs_strlcpy(buf, spec, sizeof(buf)) < 0)
        return -FS_E_INVALID;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *at = strchr(tok, '@');
        if (!at)
            return -FS_E_INVALID;
        *at = '\0';
        int idx = -1;
        for (int i = 0; i < FS_FAULT__COUNT; i++)
            if (strcmp(tok, fault_names[i]) == 0)
                idx = i;
        if (idx < 0)
            return -FS_E_INVALID;
        char *end = NULL;
        long first = strtol(at + 1, &end, 10);
        long count = 0;
        if (first < 1)
            return -FS_E_INVALID;
        if (*end == 'x') {
            count = strtol(end + 1, &end, 10);
            if (count < 1)
                return -FS_E_INVALID;
        }
        if (*end)
            return -FS_E_INVALID;
        fault_slots[idx].first = first;
        fault_slots[idx].count = count;
    }
    atomic_store(&fault_armed, true);
    return 0;
}

bool fs_fault_check(enum fs_fault_point p)
{
    if (!atomic_load_explicit(&fault_armed, memory_order_relaxed))
        return false;
    struct fault_slot *s = &fault_slots[p];
    if (s->first == 0)
        return false;
    long hit = atomic_fetch_add(&s->hits, 1) + 1;
    if (hit < s->first)
        return false;
    return s->count == 0 || hit < s->first + s->count;
}
