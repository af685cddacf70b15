/* KPIs (seed 003): whether forestall earns trust — time to first useful action, the share of
 * incidents handled without a person, the false remediation rate, escalation precision and
 * rollback success, computed from what the store recorded (docs/kpis.md). Read-only. */
#ifndef FS_KPI_H
#define FS_KPI_H

#include <jansson.h>
#include <stdint.h>

#include "core/err.h"
#include "store/store.h"

/* An escalation is judged this long after it was made (docs/kpis.md). */
#define FS_KPI_SETTLE_MS (15 * 60 * 1000)

/* The KPIs of incidents created in [since, now) as JSON (keys in docs/kpis.md). A rate whose
 * denominator is 0 is null, never 0 or 1. */
int fs_kpis_compute(struct fs_store *s, int64_t since, int64_t now, json_t **out,
                    struct fs_err *err);

#endif
