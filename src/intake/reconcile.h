/* Reconciliation with Alertmanager: poll GET /api/v2/alerts and fold its view into episodes,
 * catching a firing whose webhook was lost and closing episodes whose resolve was lost. */
#ifndef FS_RECONCILE_H
#define FS_RECONCILE_H

#include "core/err.h"

struct fs_ingest;
struct fs_reconciler;

/* Starts a thread that polls while reconcile.alertmanager_url is set (read at every poll, so
 * SIGHUP can turn it on and off). */
int fs_reconcile_start(struct fs_ingest *ingest, struct fs_reconciler **out, struct fs_err *err);
void fs_reconcile_stop(struct fs_reconciler *r);

#endif
