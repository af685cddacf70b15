/* incidents: the episode state machine and incident correlation described in incidents.h.
 * Reads and writes only through the store interface, inside the caller's transaction; never
 * calls tools, never talks to the network. */
#include "core/common.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/json.h"
#include "core/time.h"
#include "incidents/incidents.h"
#include "incidents/state.h"

struct ctx {
    struct fs_store *s;
    const struct fs_incidents_params *p;
    const struct fs_alert_batch *b;
    int64_t now;
    struct fs_apply_stats *st;
    struct fs_err *err;
};

/* ---- the latest-episode cache ------------------------------------------------------------- */

struct cent {
    bool used;
    uint64_t key; /* the fingerprint as a number */
    int64_t starts_at, starts_at_max, ends_at, expires_at;
    uint64_t ann_hash, extra_hash;
    bool firing, end_inferred;
};

struct fs_episode_cache {
    struct cent *slots;
    size_t cap; /* power of two */
    size_t used, max;
};

struct fs_episode_cache *fs_episode_cache_new(size_t max_entries)
{
    struct fs_episode_cache *c = fs_calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->max = max_entries ? max_entries : 1;
    c->cap = 16;
    while (c->cap < c->max * 2)
        c->cap *= 2;
    if (!(c->slots = fs_calloc(c->cap, sizeof(*c->slots)))) {
        free(c);
        return NULL;
    }
    return c;
}

void fs_episode_cache_free(struct fs_episode_cache *c)
{
    if (c) {
        free(c->slots);
        free(c);
    }
}

void fs_episode_cache_clear(struct fs_episode_cache *c)
{
    if (c && c->used) {
        memset(c->slots, 0, c->cap * sizeof(*c->slots));
        c->used = 0;
    }
}

static uint64_t fp_key(const char *fp)
{
    return strtoull(fp, NULL, 16); /* fingerprints are exactly 16 hex digits */
}

static struct cent *cache_slot(struct fs_episode_cache *c, uint64_t key)
{
    size_t i = (size_t)(key * 0x9E3779B97F4A7C15ULL) & (c->cap - 1);
    while (c->slots[i].used && c->slots[i].key != key)
        i = (i + 1) & (c->cap - 1);
    return &c->slots[i];
}

static struct cent *cache_find(struct fs_episode_cache *c, const char *fp)
{
    if (!c)
        return NULL;
    struct cent *e = cache_slot(c, fp_key(fp));
    return e->used ? e : NULL;
}

/* Open addressing without tombstones: removing means rebuilding the probe chain, so instead an
 * entry is invalidated by being overwritten, and the whole table is dropped when full. */
static void cache_put(struct fs_episode_cache *c, const struct fs_episode *e)
{
    if (!c)
        return;
    uint64_t key = fp_key(e->fingerprint);
    struct cent *slot = cache_slot(c, key);
    if (!slot->used) {
        if (c->used >= c->max) {
            fs_episode_cache_clear(c);
            slot = cache_slot(c, key);
        }
        c->used++;
    }
    json_t *ann = json_loads(e->annotations, 0, NULL), *extra = json_loads(e->extra, 0, NULL);
    *slot = (struct cent){
        .used = true,
        .key = key,
        .starts_at = e->starts_at,
        .starts_at_max = e->starts_at_max,
        .ends_at = e->ends_at,
        .expires_at = e->expires_at,
        .ann_hash = fs_json_hash(ann),
        .extra_hash = fs_json_hash(extra),
        .firing = e->status == FS_EP_FIRING,
        .end_inferred = e->end_inferred,
    };
    json_decref(ann);
    json_decref(extra);
}

/* After the slow path changed something about fp, remember its latest episode again. */
static int cache_refresh(struct fs_episode_cache *c, struct fs_store *s, const char *fp,
                         struct fs_err *err)
{
    if (!c)
        return 0;
    struct fs_episode e;
    int found = fs_store_episode_at_or_before(s, fp, INT64_MAX, &e, err);
    if (found < 0)
        return found;
    if (found) {
        cache_put(c, &e);
        fs_episode_clear(&e);
    }
    return 0;
}

void fs_incidents_params_from_config(const struct fs_config *cfg, struct fs_incidents_params *p)
{
    p->cache = NULL;
    p->group_by = &cfg->incidents.group_by;
    p->window_ms = cfg->incidents.window_ms;
    p->skew_ms = cfg->incidents.skew_ms;
    p->event_ttl_ms = cfg->incidents.event_ttl_ms;
    if (!fs_severity_parse(cfg->incidents.default_severity, &p->default_severity))
        p->default_severity = FS_SEV_WARNING;
}

static enum fs_severity sev_of(const char *name)
{
    enum fs_severity s = FS_SEV_INFO;
    fs_severity_parse(name, &s);
    return s;
}

static const char *episode_source(enum fs_alert_source src)
{
    /* Alertmanager's API and its webhook describe the same alert stream. */
    return fs_alert_source_name(src == FS_SRC_RECONCILE ? FS_SRC_ALERTMANAGER : src);
}

/* ---- incident side ------------------------------------------------------------------------ */

/* "instance=a,service=b"; an alert carrying none of the group-by labels gets "fingerprint=X" so
 * that unrelated label-less alerts are not lumped together. */
static char *group_key(const struct fs_incidents_params *p, const json_t *labels, const char *fp)
{
    struct fs_buf b = FS_BUF_INIT(0);
    bool any = false;
    for (size_t i = 0; i < p->group_by->n; i++) {
        const char *name = p->group_by->items[i];
        const char *v = json_string_value(json_object_get(labels, name));
        if (v)
            any = true;
        fs_buf_printf(&b, "%s%s=%s", i ? "," : "", name, v ? v : "");
    }
    if (!any) {
        fs_buf_reset(&b);
        fs_buf_printf(&b, "fingerprint=%s", fp);
    }
    return fs_buf_detach(&b, NULL);
}

static char *make_title(const struct fs_incidents_params *p, const json_t *labels,
                        const char *alertname)
{
    struct fs_buf b = FS_BUF_INIT(0);
    fs_buf_puts(&b, alertname ? alertname : "alert");
    const char *sep = " on ";
    for (size_t i = 0; i < p->group_by->n; i++) {
        const char *v = json_string_value(json_object_get(labels, p->group_by->items[i]));
        if (v) {
            fs_buf_printf(&b, "%s%s", sep, v);
            sep = ", ";
        }
    }
    return fs_buf_detach(&b, NULL);
}

static int timeline(struct ctx *c, int64_t incident_id, const char *kind,
                    const struct fs_episode *e, json_t *detail)
{
    if (!detail)
        detail = json_object();
    if (e) {
        json_object_set_new(detail, "fingerprint", json_string(e->fingerprint));
        if (e->alertname)
            json_object_set_new(detail, "alertname", json_string(e->alertname));
        char t[40];
        json_object_set_new(detail, "startsAt", json_string(fs_time_format(e->starts_at, t, 40)));
        if (e->ends_at != FS_TIME_UNSET)
            json_object_set_new(detail, "endsAt", json_string(fs_time_format(e->ends_at, t, 40)));
    }
    char *text = fs_json_canonical(detail);
    json_decref(detail);
    if (!text)
        return fs_err_set(c->err, FS_E_NOMEM, NULL, NULL);
    int rc = fs_store_incident_event(c->s, incident_id, c->now, kind, e ? e->id : 0, text, c->err);
    free(text);
    return rc;
}

/* Labels common to the incident's labels and the new episode's labels. */
static char *intersect_labels(const char *inc_labels, const char *ep_labels)
{
    json_t *a = json_loads(inc_labels, 0, NULL), *b = json_loads(ep_labels, 0, NULL);
    char *out = NULL;
    if (a && b) {
        const char *k;
        json_t *v;
        void *tmp;
        json_object_foreach_safe(a, tmp, k, v)
        {
            if (!json_equal(v, json_object_get(b, k)))
                json_object_del(a, k);
        }
        out = fs_json_canonical(a);
    }
    json_decref(a);
    json_decref(b);
    return out;
}

/* Put a new episode (not yet inserted) into an incident: the latest one with its group key if
 * that is still open or the episode started within `window` of its resolution, else a new
 * incident. Sets e->incident_id and keeps the incident's counters. */
static int attach(struct ctx *c, struct fs_episode *e, const json_t *labels)
{
    int rc;
    char *key = group_key(c->p, labels, e->fingerprint);
    if (!key)
        return fs_err_set(c->err, FS_E_NOMEM, NULL, NULL);
    struct fs_incident inc;
    int found = fs_store_incident_latest(c->s, key, &inc, c->err);
    if (found < 0) {
        free(key);
        return found;
    }
    bool firing = e->status == FS_EP_FIRING;
    bool join = found && (strcmp(inc.status, "resolved") != 0 || inc.resolved_at == FS_TIME_UNSET ||
                          e->starts_at <= inc.resolved_at + c->p->window_ms);
    if (join) {
        bool reopened = false, raised = false;
        char *nl = intersect_labels(inc.labels, e->labels);
        if (nl) {
            free(inc.labels);
            inc.labels = nl;
        }
        if (sev_of(e->severity) > sev_of(inc.severity)) {
            fs_strlcpy(inc.severity, e->severity, sizeof(inc.severity));
            raised = true;
        }
        if (firing) {
            inc.open_episodes++;
            if (strcmp(inc.status, "resolved") == 0) {
                fs_strlcpy(inc.status, "open", sizeof(inc.status));
                inc.resolved_at = FS_TIME_UNSET;
                reopened = true;
            }
        }
        inc.updated_at = c->now;
        e->incident_id = inc.id;
        rc = fs_store_incident_update(c->s, &inc, c->err);
        if (rc == 0 && reopened)
            rc = timeline(c, inc.id, "incident.reopened", NULL, NULL);
        /* handling had ended: the reopened incident is new work for dispatch */
        enum fs_incident_state hs;
        if (rc == 0 && reopened && fs_incident_state_parse(inc.state, &hs) == 0 &&
            fs_incident_state_final(hs))
            rc = fs_store_incident_set_state(c->s, inc.id, "new", c->now, c->err);
        if (rc == 0 && raised) {
            json_t *d = json_object();
            json_object_set_new(d, "severity", json_string(inc.severity));
            rc = timeline(c, inc.id, "incident.severity_raised", NULL, d);
        }
    } else {
        struct fs_incident n = {0};
        n.group_key = key;
        key = NULL;
        fs_strlcpy(n.status, firing ? "open" : "resolved", sizeof(n.status));
        fs_strlcpy(n.severity, e->severity, sizeof(n.severity));
        n.title = make_title(c->p, labels, e->alertname);
        n.labels = fs_strdup(e->labels);
        n.open_episodes = firing ? 1 : 0;
        n.created_at = n.updated_at = c->now;
        n.resolved_at = firing ? FS_TIME_UNSET : e->ends_at;
        if (!n.title || !n.labels) {
            fs_incident_clear(&n);
            return fs_err_set(c->err, FS_E_NOMEM, NULL, NULL);
        }
        rc = fs_store_incident_insert(c->s, &n, c->err);
        if (rc == 0) {
            e->incident_id = n.id;
            c->st->opened++;
            json_t *d = json_object();
            json_object_set_new(d, "title", json_string(n.title));
            json_object_set_new(d, "groupKey", json_string(n.group_key));
            rc = timeline(c, n.id, "incident.created", NULL, d);
            if (rc == 0 && !firing) {
                c->st->resolved++;
                rc = timeline(c, n.id, "incident.resolved", NULL, NULL);
            }
        }
        fs_incident_clear(&n);
    }
    if (found)
        fs_incident_clear(&inc);
    free(key);
    return rc;
}

/* An episode of the incident stopped firing. */
static int incident_episode_closed(struct ctx *c, const struct fs_episode *e)
{
    struct fs_incident inc;
    int found = fs_store_incident_load(c->s, e->incident_id, &inc, c->err);
    if (found <= 0)
        return found < 0 ? found
                         : fs_err_set(c->err, FS_E_STORE, NULL, "episode ep-%lld has no incident",
                                      (long long)e->id);
    int rc = 0;
    if (inc.open_episodes > 0)
        inc.open_episodes--;
    inc.updated_at = c->now;
    bool resolved = false;
    if (inc.open_episodes == 0 && strcmp(inc.status, "resolved") != 0) {
        fs_strlcpy(inc.status, "resolved", sizeof(inc.status));
        inc.resolved_at = e->ends_at;
        resolved = true;
    }
    rc = fs_store_incident_update(c->s, &inc, c->err);
    if (rc == 0 && resolved) {
        c->st->resolved++;
        rc = timeline(c, inc.id, "incident.resolved", NULL, NULL);
    }
    fs_incident_clear(&inc);
    return rc;
}

/* ---- episode side ------------------------------------------------------------------------- */

static int fill_from_alert(struct ctx *c, const struct fs_alert *a, struct fs_episode *e)
{
    memset(e, 0, sizeof(*e));
    memcpy(e->fingerprint, a->fingerprint, sizeof(e->fingerprint));
    fs_strlcpy(e->source, episode_source(c->b->source), sizeof(e->source));
    fs_strlcpy(e->severity,
               fs_severity_name(a->has_severity ? a->severity : c->p->default_severity),
               sizeof(e->severity));
    const char *an = json_string_value(json_object_get(a->labels, "alertname"));
    e->alertname = an ? fs_strdup(an) : NULL;
    e->labels = fs_json_canonical(a->labels);
    e->annotations = a->annotations ? fs_json_canonical(a->annotations) : fs_strdup("{}");
    e->extra = a->extra ? fs_json_canonical(a->extra) : fs_strdup("{}");
    e->ends_at = FS_TIME_UNSET;
    e->expires_at = FS_TIME_UNSET;
    e->created_at = e->updated_at = c->now;
    if (!e->labels || !e->annotations || !e->extra || (an && !e->alertname)) {
        fs_episode_clear(e);
        return fs_err_set(c->err, FS_E_NOMEM, NULL, NULL);
    }
    return 0;
}

static int64_t event_expiry(struct ctx *c, const struct fs_alert *a)
{
    if (c->b->source != FS_SRC_EVENT)
        return FS_TIME_UNSET;
    return a->ends_at != FS_TIME_UNSET ? a->ends_at : c->now + c->p->event_ttl_ms;
}

static int create_episode(struct ctx *c, const struct fs_alert *a, bool firing, int64_t start,
                          int64_t end, bool inferred)
{
    struct fs_episode e;
    int rc = fill_from_alert(c, a, &e);
    if (rc < 0)
        return rc;
    e.status = firing ? FS_EP_FIRING : FS_EP_RESOLVED;
    e.starts_at = e.starts_at_max = start;
    e.ends_at = firing ? FS_TIME_UNSET : end;
    e.end_inferred = !firing && inferred;
    e.expires_at = firing ? event_expiry(c, a) : FS_TIME_UNSET;
    if ((rc = attach(c, &e, a->labels)) == 0 &&
        (rc = fs_store_episode_insert(c->s, &e, c->err)) == 0)
        rc = timeline(c, e.incident_id, firing ? "episode.firing" : "episode.recorded", &e, NULL);
    fs_episode_clear(&e);
    if (rc == 0)
        c->st->changed++;
    return rc;
}

static int close_episode(struct ctx *c, struct fs_episode *e, int64_t end, bool inferred,
                         const char *reason)
{
    e->status = FS_EP_RESOLVED;
    e->ends_at = end;
    e->end_inferred = inferred;
    e->expires_at = FS_TIME_UNSET;
    e->updated_at = c->now;
    int rc = fs_store_episode_update(c->s, e, c->err);
    if (rc == 0) {
        json_t *d = json_object();
        json_object_set_new(d, "reason", json_string(reason));
        rc = timeline(c, e->incident_id, "episode.resolved", e, d);
    }
    if (rc == 0)
        rc = incident_episode_closed(c, e);
    if (rc == 0)
        rc = cache_refresh(c->p->cache, c->s, e->fingerprint, c->err);
    return rc;
}

/* The alert repeats a firing episode: keep its latest annotations; count a duplicate when
 * nothing changed. */
static int refresh_snapshot(struct ctx *c, struct fs_episode *e, const struct fs_alert *a,
                            bool window_changed)
{
    if (c->b->source == FS_SRC_RECONCILE && !window_changed) {
        /* Alertmanager's API describes the alert differently from its webhooks (state,
         * receivers): reconciliation fills gaps, it does not rewrite what webhooks said. */
        c->st->deduplicated++;
        return 0;
    }
    char *ann = a->annotations ? fs_json_canonical(a->annotations) : fs_strdup("{}");
    char *extra = a->extra ? fs_json_canonical(a->extra) : fs_strdup("{}");
    int64_t exp = event_expiry(c, a);
    int rc = 0;
    if (!ann || !extra) {
        rc = fs_err_set(c->err, FS_E_NOMEM, NULL, NULL);
    } else if (window_changed || strcmp(ann, e->annotations) != 0 || strcmp(extra, e->extra) != 0 ||
               exp != e->expires_at) {
        free(e->annotations);
        free(e->extra);
        e->annotations = ann;
        e->extra = extra;
        ann = extra = NULL;
        e->expires_at = exp;
        e->updated_at = c->now;
        rc = fs_store_episode_update(c->s, e, c->err);
        if (rc == 0)
            c->st->changed++;
    } else {
        c->st->deduplicated++;
    }
    free(ann);
    free(extra);
    return rc;
}

/* Events that do not say when their condition began continue the open episode. */
static int apply_continuation(struct ctx *c, const struct fs_alert *a)
{
    struct fs_episode e;
    int found = fs_store_episode_open(c->s, a->fingerprint, &e, c->err);
    if (found < 0)
        return found;
    int rc;
    if (a->status == FS_ALERT_FIRING) {
        rc = found ? refresh_snapshot(c, &e, a, false)
                   : create_episode(c, a, true, a->starts_at, FS_TIME_UNSET, false);
    } else if (found) {
        int64_t end = a->ends_at != FS_TIME_UNSET ? a->ends_at : a->starts_at;
        rc = close_episode(c, &e, FS_MAX(end, e.starts_at), false, "resolved");
        if (rc == 0)
            c->st->changed++;
    } else {
        c->st->deduplicated++; /* nothing open to resolve */
        rc = 0;
    }
    if (found)
        fs_episode_clear(&e);
    return rc;
}

/* Latest startsAt that still belongs to an episode. A firing one reaches the latest startsAt
 * seen plus the skew. A resolved one also covers everything up to its reported end (episodes
 * of one fingerprint never overlap), but not up to an inferred end: that end is only a guess
 * and must not swallow an episode that started before it. */
static int64_t window_end(bool firing, bool end_inferred, int64_t starts_max, int64_t ends_at,
                          int64_t skew)
{
    if (firing || end_inferred)
        return starts_max + skew;
    return FS_MAX(starts_max + skew, ends_at);
}

static bool in_window(const struct fs_episode *e, int64_t s, int64_t skew)
{
    return s >= e->starts_at - skew && s <= window_end(e->status == FS_EP_FIRING, e->end_inferred,
                                                       e->starts_at_max, e->ends_at, skew);
}

static int64_t event_expiry(struct ctx *c, const struct fs_alert *a);

/* The common case, answered from the cache: the alert repeats what its fingerprint's latest
 * episode already says. True when nothing needs to be written. */
static bool unchanged(struct ctx *c, const struct fs_alert *a)
{
    const struct cent *e = cache_find(c->p->cache, a->fingerprint);
    const int64_t skew = c->p->skew_ms, s = a->starts_at;
    if (!e || e->starts_at > s + skew) /* not known, or an older episode is meant */
        return false;
    if (c->b->source == FS_SRC_RECONCILE && e->firing && a->status == FS_ALERT_FIRING &&
        s >= e->starts_at - skew && s <= e->starts_at_max + skew)
        return true; /* reconciliation only fills gaps; the webhooks own the snapshot */
    if (s < e->starts_at || s > e->starts_at_max) /* would widen the window */
        return false;
    if (a->status == FS_ALERT_FIRING) {
        if (!e->firing) /* stale replay of a resolved episode (in its window) */
            return s <= window_end(false, e->end_inferred, e->starts_at_max, e->ends_at, skew);
        return fs_json_hash(a->annotations) == e->ann_hash &&
               fs_json_hash(a->extra) == e->extra_hash && event_expiry(c, a) == e->expires_at;
    }
    /* a repeated resolve of an episode that is already resolved with a reported end */
    return !e->firing && !e->end_inferred &&
           s <= window_end(false, false, e->starts_at_max, e->ends_at, skew);
}

static int apply_windowed(struct ctx *c, const struct fs_alert *a);

static int apply_one(struct ctx *c, const struct fs_alert *a)
{
    if (a->starts_known && unchanged(c, a)) {
        c->st->deduplicated++;
        return 0;
    }
    int rc = a->starts_known ? apply_windowed(c, a) : apply_continuation(c, a);
    if (rc == 0)
        rc = cache_refresh(c->p->cache, c->s, a->fingerprint, c->err);
    return rc;
}

static int apply_windowed(struct ctx *c, const struct fs_alert *a)
{
    const int64_t skew = c->p->skew_ms, s = a->starts_at;
    const bool firing = a->status == FS_ALERT_FIRING;
    struct fs_episode cand;
    int rc, found = fs_store_episode_at_or_before(c->s, a->fingerprint, s + skew, &cand, c->err);
    if (found < 0)
        return found;

    if (found && in_window(&cand, s, skew)) {
        /* An open episode learns the startsAt spread of its senders; a resolved one is never
         * stretched by replays (that is how windows would creep over later episodes). */
        bool widened = false;
        if (cand.status == FS_EP_FIRING && s < cand.starts_at) {
            cand.starts_at = s;
            widened = true;
        }
        if (cand.status == FS_EP_FIRING && s > cand.starts_at_max) {
            cand.starts_at_max = s;
            widened = true;
        }
        if (firing) {
            if (cand.status == FS_EP_FIRING) {
                rc = refresh_snapshot(c, &cand, a, widened);
            } else { /* a stale replay: never reopens */
                c->st->deduplicated++;
                rc = 0;
            }
        } else {
            int64_t end = a->ends_at != FS_TIME_UNSET ? a->ends_at : c->now;
            if (cand.status == FS_EP_FIRING) {
                rc = close_episode(c, &cand, FS_MAX(end, cand.starts_at), false, "resolved");
                c->st->changed++;
            } else if (cand.end_inferred) { /* the real resolve arrived after we inferred one */
                cand.ends_at = FS_MAX(end, cand.starts_at);
                cand.end_inferred = false;
                cand.updated_at = c->now;
                rc = fs_store_episode_update(c->s, &cand, c->err);
                c->st->changed++;
            } else {
                c->st->deduplicated++;
                rc = 0;
            }
        }
        fs_episode_clear(&cand);
        return rc;
    }

    /* A new episode. Does a later one exist? Then this one is history, closed by that one. */
    struct fs_episode next;
    int has_next = fs_store_episode_after(c->s, a->fingerprint, s + skew, &next, c->err);
    if (has_next < 0) {
        if (found)
            fs_episode_clear(&cand);
        return has_next;
    }
    rc = 0;
    /* An older episode still open must have ended before this one started; one whose end we
     * only guessed cannot have ended after it either. */
    if (found && cand.status == FS_EP_FIRING) {
        rc = close_episode(c, &cand, FS_MAX(s, cand.starts_at), true, "superseded");
    } else if (found && cand.end_inferred && cand.ends_at > s) {
        cand.ends_at = FS_MAX(s, cand.starts_at);
        cand.updated_at = c->now;
        rc = fs_store_episode_update(c->s, &cand, c->err);
    }
    if (rc == 0) {
        if (firing && !has_next) {
            rc = create_episode(c, a, true, s, FS_TIME_UNSET, false);
        } else if (firing) {
            rc = create_episode(c, a, false, s, FS_MAX(next.starts_at, s), true);
        } else {
            int64_t end = a->ends_at != FS_TIME_UNSET ? a->ends_at : c->now;
            rc = create_episode(c, a, false, s, FS_MAX(end, s), false);
        }
    }
    if (found)
        fs_episode_clear(&cand);
    if (has_next)
        fs_episode_clear(&next);
    return rc;
}

int fs_incidents_apply(struct fs_store *s, const struct fs_incidents_params *p,
                       const struct fs_alert_batch *b, int64_t now, struct fs_apply_stats *st,
                       struct fs_err *err)
{
    struct ctx c = {s, p, b, now, st, err};
    if (b->event_id[0]) {
        bool seen = false;
        int rc = fs_store_event_id_claim(s, b->event_id, now, &seen, err);
        if (rc < 0)
            return rc;
        if (seen) {
            st->alerts += (int)b->n;
            st->deduplicated += (int)b->n;
            return 0;
        }
    }
    for (size_t i = 0; i < b->n; i++) {
        st->alerts++;
        int rc = apply_one(&c, &b->alerts[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int fs_incidents_expire(struct fs_store *s, const struct fs_incidents_params *p, int64_t now,
                        int *closed, struct fs_err *err)
{
    struct fs_apply_stats st = {0};
    struct fs_alert_batch none = {0};
    struct ctx c = {s, p, &none, now, &st, err};
    struct fs_episode eps[64];
    int n = 0;
    *closed = 0;
    int rc = fs_store_episodes_expired(s, now, eps, (int)FS_ARRAY_LEN(eps), &n, err);
    for (int i = 0; i < n; i++) {
        if (rc == 0) {
            rc = close_episode(&c, &eps[i], FS_MAX(eps[i].expires_at, eps[i].starts_at), true,
                               "expired");
            if (rc == 0)
                (*closed)++;
        }
        fs_episode_clear(&eps[i]);
    }
    return rc;
}

int fs_incidents_close_missing(struct fs_store *s, const struct fs_incidents_params *p,
                               const json_t *present, int64_t now, int *closed, struct fs_err *err)
{
    struct fs_apply_stats st = {0};
    struct fs_alert_batch none = {0};
    struct ctx c = {s, p, &none, now, &st, err};
    json_t *fps = NULL;
    *closed = 0;
    int rc = fs_store_episodes_firing_fps(s, "alertmanager", &fps, err);
    if (rc < 0)
        return rc;
    size_t i;
    json_t *fpv;
    json_array_foreach(fps, i, fpv)
    {
        const char *fp = json_string_value(fpv);
        if (json_object_get(present, fp))
            continue;
        struct fs_episode e;
        int found = fs_store_episode_open(s, fp, &e, err);
        if (found < 0) {
            rc = found;
            break;
        }
        if (!found)
            continue;
        rc = close_episode(&c, &e, FS_MAX(now, e.starts_at), true,
                           "no longer active in Alertmanager (reconciliation)");
        fs_episode_clear(&e);
        if (rc < 0)
            break;
        (*closed)++;
    }
    json_decref(fps);
    return rc;
}
