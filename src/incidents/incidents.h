/* Episodes and incidents: folding normalized alerts into episodes (one per firing of a
 * fingerprint) and correlating episodes into incidents. Runs inside the caller's store
 * transaction; every function here is deterministic given the store contents, the alert and
 * `now`, so replays and shuffled deliveries converge on the same state.
 *
 * Episode identity is (fingerprint, startsAt) with startsAt compared within `skew`:
 *  - a notification whose startsAt falls in an existing episode's window is that episode
 *    (duplicates, repeats, HA peers); a firing for an already resolved episode is a stale
 *    replay and never reopens it;
 *  - a startsAt newer than every episode's window starts a new episode (closing an open older
 *    one, whose resolve was missed, with an inferred end);
 *  - a startsAt older than a later episode records that older episode as closed.
 * Alerts that do not know when their condition began (generic events without started_at)
 * continue the open episode of their fingerprint, whatever their time. */
#ifndef FS_INCIDENTS_H
#define FS_INCIDENTS_H

#include <jansson.h>
#include <stdint.h>

#include "core/config.h"
#include "incidents/alert.h"
#include "store/store.h"

struct fs_episode_cache;

struct fs_incidents_params {
    const struct fs_strlist *group_by;
    int64_t window_ms;
    int64_t skew_ms;
    int64_t event_ttl_ms;
    enum fs_severity default_severity;
    /* Optional: remembers the latest episode of recently seen fingerprints so that repeats
     * (most of what Alertmanager sends) are recognised without touching the store. */
    struct fs_episode_cache *cache;
};

/* A bounded cache of each fingerprint's latest episode. Owned by the one writer thread. It
 * mirrors uncommitted writes, so the owner must clear it whenever a transaction is rolled
 * back. */
struct fs_episode_cache *fs_episode_cache_new(size_t max_entries);
void fs_episode_cache_free(struct fs_episode_cache *c);
void fs_episode_cache_clear(struct fs_episode_cache *c);

/* Fill p from the config; p->cache is left NULL. */
void fs_incidents_params_from_config(const struct fs_config *cfg, struct fs_incidents_params *p);

struct fs_apply_stats {
    int alerts;       /* alerts looked at */
    int changed;      /* alerts that changed an episode or created one */
    int deduplicated; /* alerts that changed nothing (repeats, duplicates, stale replays) */
    int opened;       /* incidents created */
    int resolved;     /* incidents that became resolved */
};

/* Apply a batch inside the current transaction. */
int fs_incidents_apply(struct fs_store *s, const struct fs_incidents_params *p,
                       const struct fs_alert_batch *b, int64_t now, struct fs_apply_stats *st,
                       struct fs_err *err);

/* Close firing episodes whose expiry passed (events without a resolve). *closed counts them. */
int fs_incidents_expire(struct fs_store *s, const struct fs_incidents_params *p, int64_t now,
                        int *closed, struct fs_err *err);

/* Reconciliation: close firing Alertmanager episodes whose fingerprint Alertmanager no longer
 * has. present is a JSON object whose keys are the fingerprints Alertmanager reported. */
int fs_incidents_close_missing(struct fs_store *s, const struct fs_incidents_params *p,
                               const json_t *present, int64_t now, int *closed, struct fs_err *err);

#endif
