/* outbox: the daemon's notifier and delivery workers.
 *
 * The notifier thread reads audit records after its cursor, maps them to notices
 * (fs_notify_map_audit), builds each notice's data from the store (incident, proposal with the
 * gate's explanation, execution, post-mortem) and queues one delivery per channel whose events
 * include it — in one writer transaction with the cursor move, so a crash redoes at most the
 * last batch and the (channel, audit_seq, event) key keeps it from being queued twice.
 * One worker thread per channel sends that channel's due deliveries, an incident's in order;
 * failures retry with exponential backoff and jitter until notify.retry.give_up, permanent
 * ones go dead at once. Nothing here blocks the ingest writer beyond its small transactions,
 * and a channel that hangs only holds its own thread. Secrets are resolved per attempt. */
#include "core/common.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "audit/audit.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/json.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/time.h"
#include "notify/notify.h"
#include "store/store.h"

#define SCAN_BATCH 64
#define POLL_MS 250
#define DUE_BATCH 16
#define PM_GRACE_MS 3000 /* an escalation/resolution waits this long for its post-mortem */

struct channel {
    struct fs_notifier *nf;
    char *name;
    const struct fs_channel_kind *kind;
    json_t *conf; /* with secret references, never values */
    bool events[8];
    pthread_t thread;
    bool started;
};

struct fs_notifier {
    struct fs_store *store;
    struct fs_writer w;
    char *public_url;
    int64_t initial_ms, max_ms, give_up_ms, timeout_ms;
    struct channel *ch;
    size_t nch;
    int64_t cursor;
    pthread_t reader;
    bool reader_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    uint64_t kicks;
    unsigned seed;
};

static const char *const events[] = {
#define EV_NAME(e, name) name,
    FS_NOTIFY_EVENTS(EV_NAME)
#undef EV_NAME
};

static int event_index(const char *e)
{
    for (size_t i = 0; i < FS_ARRAY_LEN(events); i++)
        if (fs_streq(events[i], e))
            return (int)i;
    return -1;
}

/* ---- waiting -------------------------------------------------------------------------------- */

/* Sleep up to ms or until kicked/stopped; returns true when stopping. */
static bool nap(struct fs_notifier *nf, int64_t ms, uint64_t *seen)
{
    pthread_mutex_lock(&nf->mu);
    if (!nf->stop && nf->kicks == *seen && ms > 0) {
        struct timespec ts = fs_deadline_in(CLOCK_REALTIME, ms);
        pthread_cond_timedwait(&nf->cv, &nf->mu, &ts);
    }
    *seen = nf->kicks;
    bool stop = nf->stop;
    pthread_mutex_unlock(&nf->mu);
    return stop;
}

void fs_notifier_kick(struct fs_notifier *nf)
{
    if (!nf)
        return;
    pthread_mutex_lock(&nf->mu);
    nf->kicks++;
    pthread_cond_broadcast(&nf->cv);
    pthread_mutex_unlock(&nf->mu);
}

static bool stopping(struct fs_notifier *nf)
{
    pthread_mutex_lock(&nf->mu);
    bool s = nf->stop;
    pthread_mutex_unlock(&nf->mu);
    return s;
}

/* ---- notices: data from the store ------------------------------------------------------------ */

static json_t *pick(const json_t *o, const char *const *keys, size_t n)
{
    json_t *r = json_object();
    for (size_t i = 0; r && i < n; i++) {
        json_t *v = json_object_get(o, keys[i]);
        if (v)
            json_object_set(r, keys[i], v);
    }
    return r;
}

static json_t *incident_data(struct fs_store *s, int64_t id)
{
    json_t *inc = NULL;
    struct fs_err err;
    if (fs_store_incident_get(s, id, &inc, &err) < 0)
        return NULL;
    static const char *const keys[] = {"id", "title", "severity", "state", "status", "labels"};
    json_t *o = pick(inc, keys, FS_ARRAY_LEN(keys));
    /* the ticket opened for it, if any (the last "ticket" entry of its timeline) */
    const json_t *ticket = NULL;
    size_t k;
    json_t *t;
    json_array_foreach(json_object_get(inc, "timeline"), k, t)
    {
        if (fs_streq(json_string_value(json_object_get(t, "kind")), "ticket"))
            ticket = json_object_get(t, "detail");
    }
    if (o && json_is_object(ticket))
        json_object_set_new(o, "ticket",
                            json_pack("{s:O?,s:O?}", "key", json_object_get(ticket, "key"), "url",
                                      json_object_get(ticket, "url")));
    json_decref(inc);
    json_t *invs = NULL;
    if (o && fs_store_investigations_list(s, id, &invs, &err) == 0) {
        const char *sum = NULL;
        size_t i;
        json_t *v;
        json_array_foreach(invs, i, v)
        {
            const char *x = json_string_value(json_object_get(v, "summary"));
            if (x && *x)
                sum = x;
        }
        if (sum)
            json_object_set_new(o, "summary", json_string(sum));
        json_decref(invs);
    }
    return o;
}

static json_t *proposal_data(struct fs_store *s, int64_t id, int64_t *incident_id)
{
    json_t *p = NULL;
    struct fs_err err;
    if (fs_store_proposal_get(s, id, &p, &err) < 0)
        return NULL;
    const json_t *body = json_object_get(p, "proposal"), *gate = json_object_get(p, "gate");
    const json_t *risk = json_object_get(p, "risk");
    json_t *o = json_object();
    if (o) {
        json_object_set(o, "id", json_object_get(p, "id"));
        json_object_set(o, "action", json_object_get(p, "action"));
        json_object_set(o, "status", json_object_get(p, "status"));
        json_object_set(o, "decision", json_object_get(p, "decision"));
        json_object_set(o, "proposer", json_object_get(p, "proposer"));
        json_object_set(o, "score", json_object_get(risk, "score"));
        json_object_set(o, "level", json_object_get(risk, "level"));
        json_object_set(o, "expiresAt", json_object_get(p, "expiresAt"));
        json_object_set(o, "actionHash", json_object_get(p, "actionHash"));
        static const char *const from_body[] = {"params", "target", "rationale", "evidence",
                                                "confidence"};
        for (size_t i = 0; i < FS_ARRAY_LEN(from_body); i++) {
            json_t *v = json_object_get(body, from_body[i]);
            if (v)
                json_object_set(o, from_body[i], v);
        }
        json_t *contrib = json_object_get(json_object_get(gate, "risk"), "contributions");
        if (contrib)
            json_object_set(o, "contributions", contrib);
        if (json_object_get(gate, "reasons"))
            json_object_set(o, "reasons", json_object_get(gate, "reasons"));
        if (json_object_get(gate, "rule_name"))
            json_object_set(o, "rule", json_object_get(gate, "rule_name"));
    }
    const char *inc = json_string_value(json_object_get(p, "incidentId"));
    if (inc && !strncmp(inc, "inc-", 4) && *incident_id <= 0)
        *incident_id = strtoll(inc + 4, NULL, 10);
    json_decref(p);
    return o;
}

static json_t *postmortem_data(struct fs_store *s, int64_t incident_id)
{
    json_t *pm = NULL;
    struct fs_err err;
    if (incident_id <= 0 || fs_store_postmortem_get(s, incident_id, &pm, &err) < 0)
        return NULL;
    json_t *o =
        json_pack("{s:O?,s:O?}", "summary", json_object_get(json_object_get(pm, "data"), "summary"),
                  "markdown", json_object_get(pm, "markdown"));
    json_decref(pm);
    return o;
}

static const char *decision_word(const char *type)
{
    if (!strcmp(type, "approval"))
        return "approved";
    if (!strcmp(type, "override"))
        return "overridden";
    if (!strcmp(type, "rejection"))
        return "rejected";
    if (!strcmp(type, "expiry"))
        return "expired";
    return NULL;
}

/* The notice data for one event of one audit record; *incident_id may be completed from the
 * proposal. */
static json_t *notice_data(struct fs_store *s, const struct fs_audit_row *r, const json_t *d,
                           const char *event, int64_t *incident_id, int64_t proposal_id)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "auditSeq", json_integer(r->seq));
    char ts[40];
    json_object_set_new(o, "at", json_string(fs_time_format(r->ts, ts, sizeof(ts))));
    if (proposal_id > 0) {
        json_t *p = proposal_data(s, proposal_id, incident_id);
        if (p)
            json_object_set_new(o, "proposal", p);
    }
    if (*incident_id > 0) {
        json_t *i = incident_data(s, *incident_id);
        if (i)
            json_object_set_new(o, "incident", i);
    }
    if (r->actor)
        json_object_set_new(o, "actor", json_string(r->actor));
    const char *ch = json_string_value(json_object_get(d, "channel"));
    if (ch)
        json_object_set_new(o, "channel", json_string(ch));
    if (!strcmp(event, "decision")) {
        json_object_set_new(o, "decision", json_string(decision_word(r->type)));
        const char *why = json_string_value(json_object_get(d, "reason"));
        if (!why)
            why = json_string_value(json_object_get(d, "comment"));
        if (why)
            json_object_set_new(o, "reason", json_string(why));
        if (json_object_get(d, "role"))
            json_object_set(o, "role", json_object_get(d, "role"));
    }
    if (!strcmp(r->type, "execution")) {
        const char *phase = json_string_value(json_object_get(d, "phase"));
        const char *outcome = json_string_value(json_object_get(d, "outcome"));
        if (fs_streq(phase, "verified"))
            outcome = "succeeded";
        else if (fs_streq(phase, "rolled_back"))
            outcome = json_is_false(json_object_get(d, "ok")) ? "failed" : "rolled_back";
        json_t *x =
            json_pack("{s:O?,s:s?,s:s?,s:O?}", "id", json_object_get(d, "execution"), "outcome",
                      outcome, "phase", phase, "reason", json_object_get(d, "reason"));
        if (x && !strcmp(event, "verification_failed"))
            json_object_set_new(x, "outcome", json_string("verification_failed"));
        if (x)
            json_object_set_new(o, "execution", x);
    }
    if (!strcmp(r->type, "incident")) {
        const char *why = json_string_value(json_object_get(d, "reason"));
        if (why)
            json_object_set_new(o, "reason", json_string(why));
        json_object_set(o, "from", json_object_get(d, "from"));
    }
    if (!strcmp(event, "escalation") || !strcmp(event, "resolution")) {
        json_t *pm = postmortem_data(s, *incident_id);
        if (pm)
            json_object_set_new(o, "postmortem", pm);
    }
    return o;
}

/* ---- the notifier ---------------------------------------------------------------------------- */

struct pending {
    struct fs_delivery_row *rows;
    char **texts;
    size_t n, cap;
    int64_t last_seq;
};

static void pending_clear(struct pending *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->texts[i]);
    free(p->rows);
    free(p->texts);
    memset(p, 0, sizeof(*p));
}

struct scan {
    struct fs_notifier *nf;
    struct pending *p;
    int64_t now;
    int rc;
    int rows;
};

static int grow(struct pending *p)
{
    size_t cap = p->cap ? p->cap * 2 : 16;
    struct fs_delivery_row *nr = fs_realloc(p->rows, cap * sizeof(*nr));
    if (!nr)
        return -FS_E_NOMEM;
    p->rows = nr;
    char **nt = fs_realloc(p->texts, cap * sizeof(*nt));
    if (!nt)
        return -FS_E_NOMEM;
    p->texts = nt;
    p->cap = cap;
    return 0;
}

static int scan_row(const struct fs_audit_row *r, void *arg)
{
    struct scan *sc = arg;
    struct fs_notifier *nf = sc->nf;
    sc->p->last_seq = r->seq;
    sc->rows++;
    if (sc->now - r->ts > nf->give_up_ms)
        return 0; /* older than a delivery may live: it would go dead unsent */
    json_t *d = json_loads(r->data ? r->data : "{}", 0, NULL);
    const char *ev[2];
    int64_t inc = 0, prop = 0;
    int n = fs_notify_map_audit(r->type, d, ev, 2, &inc, &prop);
    for (int i = 0; i < n; i++) {
        int ei = event_index(ev[i]);
        bool wanted = false;
        for (size_t c = 0; c < nf->nch && !wanted; c++)
            wanted = nf->ch[c].events[ei];
        if (!wanted)
            continue;
        int64_t incident = inc;
        json_t *data = notice_data(nf->store, r, d, ev[i], &incident, prop);
        char *text = data ? fs_json_compact(data) : NULL;
        json_decref(data);
        if (!text) {
            sc->rc = -FS_E_NOMEM;
            break;
        }
        size_t first = sc->p->n;
        for (size_t c = 0; c < nf->nch; c++) {
            if (!nf->ch[c].events[ei])
                continue;
            if (sc->p->n == sc->p->cap && grow(sc->p) < 0) {
                if (sc->p->n == first)
                    free(text);
                else
                    sc->p->texts[first] = text;
                sc->rc = -FS_E_NOMEM;
                json_decref(d);
                return 1;
            }
            sc->p->texts[sc->p->n] = NULL;
            sc->p->rows[sc->p->n++] = (struct fs_delivery_row){
                .channel = nf->ch[c].name,
                .event = ev[i],
                .audit_seq = r->seq,
                .incident_id = incident,
                .proposal_id = prop,
                .notice = text,
                .created_at = sc->now,
                .next_at = sc->now,
            };
        }
        /* the text is shared by this event's rows, owned by the first of them */
        if (sc->p->n > first)
            sc->p->texts[first] = text;
        else
            free(text);
    }
    json_decref(d);
    return 0;
}

struct enqueue {
    struct fs_notifier *nf;
    struct pending *p;
    int64_t now;
};

static int enqueue_tx(struct fs_store *s, void *arg, struct fs_err *err)
{
    struct enqueue *q = arg;
    for (size_t i = 0; i < q->p->n; i++) {
        int rc = fs_store_delivery_insert(s, &q->p->rows[i], NULL, err);
        if (rc < 0)
            return rc;
    }
    return fs_store_notify_cursor_set(s, q->p->last_seq, q->now, err);
}

struct cursor_init {
    int64_t seq;
};

/* The cursor, or (first start with channels) the current head: history before notifications
 * were configured is not announced. */
static int cursor_tx(struct fs_store *s, void *arg, struct fs_err *err)
{
    struct cursor_init *c = arg;
    int rc = fs_store_notify_cursor_get(s, &c->seq, err);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    char hash[65];
    if ((rc = fs_store_audit_head(s, &c->seq, hash, err)) < 0)
        return rc;
    return fs_store_notify_cursor_set(s, c->seq, fs_now_ms(), err);
}

static void *reader_main(void *arg)
{
    struct fs_notifier *nf = arg;
    uint64_t seen = 0;
    int64_t backoff = POLL_MS;
    while (!stopping(nf)) {
        struct pending p = {0};
        struct scan sc = {nf, &p, fs_now_ms(), 0, 0};
        struct fs_audit_filter f = {
            .after_seq = nf->cursor, .since_ms = FS_TIME_UNSET, .limit = SCAN_BATCH};
        struct fs_err err = {0};
        int rc = fs_store_audit_scan(nf->store, &f, scan_row, &sc, &err);
        if (rc >= 0 && sc.rc < 0)
            rc = fs_err_set(&err, FS_E_NOMEM, NULL, NULL);
        if (rc >= 0 && p.last_seq > nf->cursor) {
            struct enqueue q = {nf, &p, sc.now};
            rc = fs_writer_run(&nf->w, enqueue_tx, &q, &err);
            if (rc == 0) {
                nf->cursor = p.last_seq;
                fs_notifier_kick(nf); /* the workers */
            }
        }
        bool more = rc >= 0 && sc.rows >= SCAN_BATCH;
        pending_clear(&p);
        if (rc < 0) {
            if (rc != -FS_E_SHUTDOWN)
                FS_LOG_WARN("notifications: reading the audit trail failed", "error", err.msg);
            if (nap(nf, backoff, &seen))
                break;
            backoff = FS_MIN(backoff * 2, 10000);
            continue;
        }
        backoff = POLL_MS;
        if (more)
            continue; /* maybe another batch waiting */
        if (nap(nf, POLL_MS, &seen))
            break;
    }
    return NULL;
}

/* ---- the delivery workers ------------------------------------------------------------------- */

struct outcome {
    int64_t id;
    const char *status;
    int64_t attempts, next_at, sent_at;
    const char *error, *ref;
    int64_t incident_id;
    char *ticket; /* a ticket opened by this delivery: the incident timeline's "ticket" detail */
};

static int outcome_tx(struct fs_store *s, void *arg, struct fs_err *err)
{
    struct outcome *o = arg;
    int rc = fs_store_delivery_update(s, o->id, o->status, o->attempts, o->next_at, o->error,
                                      o->ref, o->sent_at, err);
    if (rc == 0 && o->ticket && o->incident_id > 0)
        rc = fs_store_incident_event(s, o->incident_id, o->sent_at, "ticket", 0, o->ticket, err);
    return rc;
}

/* The timeline entry that links a ticket opened for an incident (a Jira issue): system, channel,
 * key, url, the event it documents, the delivery. */
static char *ticket_detail(const struct channel *c, const char *event, int64_t delivery,
                           const char *key)
{
    const char *base = json_string_value(json_object_get(c->conf, "url"));
    char url[1024] = "";
    if (base) {
        size_t n = strlen(base);
        while (n > 0 && base[n - 1] == '/')
            n--;
        snprintf(url, sizeof(url), "%.*s/browse/%s", (int)FS_MIN(n, 900), base, key);
    }
    json_t *d = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "system", c->kind->type, "channel", c->name,
                          "key", key, "url", url, "event", event, "delivery", (json_int_t)delivery);
    char *text = d ? json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(d);
    return text;
}

static double jitter(struct fs_notifier *nf)
{
    pthread_mutex_lock(&nf->mu);
    double j = (double)rand_r(&nf->seed) / ((double)RAND_MAX + 1.0);
    pthread_mutex_unlock(&nf->mu);
    return j;
}

static void deliver_one(struct channel *c, json_t *row)
{
    struct fs_notifier *nf = c->nf;
    int64_t id = json_integer_value(json_object_get(row, "id"));
    const char *event = json_string_value(json_object_get(row, "event"));
    int64_t inc = json_integer_value(json_object_get(row, "incidentId"));
    int64_t attempts = json_integer_value(json_object_get(row, "attempts"));
    int64_t created = json_integer_value(json_object_get(row, "createdAt"));
    json_t *data = json_object_get(row, "notice");
    int64_t now = fs_now_ms();
    struct fs_err err = {0};

    /* an escalation or resolution is worth more with its post-mortem: wait a little for it */
    if ((fs_streq(event, "escalation") || fs_streq(event, "resolution")) &&
        !json_object_get(data, "postmortem")) {
        json_t *pm = postmortem_data(nf->store, inc);
        if (pm)
            json_object_set_new(data, "postmortem", pm);
        else if (attempts == 0 && now < created + PM_GRACE_MS) {
            struct outcome o = {.id = id,
                                .status = "pending",
                                .next_at = created + PM_GRACE_MS,
                                .sent_at = FS_TIME_UNSET};
            if (fs_writer_run(&nf->w, outcome_tx, &o, &err) < 0)
                FS_LOG_WARN("notifications: cannot record a delivery", "error", err.msg);
            return;
        }
    }

    char *ref = NULL;
    if (inc > 0 && fs_store_delivery_ref(nf->store, c->name, inc, &ref, &err) < 0)
        ref = NULL;
    char link[600];
    if (inc > 0)
        snprintf(link, sizeof(link), "%s/ui/#/incidents/inc-%" PRId64, nf->public_url, inc);
    else
        snprintf(link, sizeof(link), "%s/ui/", nf->public_url);
    struct fs_notice n = {
        .id = id,
        .event = event,
        .incident_id = inc,
        .proposal_id = json_integer_value(json_object_get(row, "proposalId")),
        .data = data,
        .link = link,
        .ref = ref,
    };
    struct fs_notify_result res;
    memset(&res, 0, sizeof(res));
    json_t *conf = NULL;
    int rc = fs_notify_resolve_secrets(c->conf, &conf, &err);
    if (rc < 0) {
        snprintf(res.error, sizeof(res.error), "%s", err.msg);
    } else {
        if (!json_object_get(conf, "timeout_ms"))
            json_object_set_new(conf, "timeout_ms", json_integer(nf->timeout_ms));
        rc = c->kind->deliver(conf, &n, &res, &err);
        if (rc < 0 && !res.error[0])
            snprintf(res.error, sizeof(res.error), "%s", err.msg[0] ? err.msg : fs_err_name(rc));
    }
    json_decref(conf); /* values were only in this copy */
    bool had_ref = ref != NULL;
    free(ref);

    now = fs_now_ms();
    struct outcome o = {.id = id, .attempts = attempts + 1, .sent_at = FS_TIME_UNSET};
    if (rc == 0) {
        o.status = "sent";
        o.next_at = now;
        o.sent_at = now;
        o.ref = res.ref[0] ? res.ref : NULL;
        /* a ticket system's first delivery for an incident opened its ticket: link it there */
        if (o.ref && !had_ref && fs_streq(c->kind->type, "jira")) {
            o.incident_id = inc;
            o.ticket = ticket_detail(c, event, id, o.ref);
        }
    } else {
        int64_t delay = fs_notify_backoff_ms((int)FS_MIN(o.attempts, 60), nf->initial_ms,
                                             nf->max_ms, jitter(nf));
        bool give_up = res.permanent || now + delay > created + nf->give_up_ms;
        o.status = give_up ? "dead" : "pending";
        o.next_at = give_up ? now : now + delay;
        o.error = res.error;
        if (give_up)
            FS_LOG_WARN("notification given up", "channel", c->name, "event", event, "delivery",
                        FS_I64(id), "attempts", FS_I64(o.attempts), "permanent",
                        res.permanent ? "true" : "false", "error", res.error);
        else
            FS_LOG_INFO("notification will be retried", "channel", c->name, "event", event,
                        "delivery", FS_I64(id), "attempts", FS_I64(o.attempts), "in_ms",
                        FS_I64(delay), "error", res.error);
    }
    struct fs_err werr = {0};
    if (fs_writer_run(&nf->w, outcome_tx, &o, &werr) < 0)
        FS_LOG_WARN("notifications: cannot record a delivery", "channel", c->name, "delivery",
                    FS_I64(id), "error", werr.msg);
    free(o.ticket);
}

static void *worker_main(void *arg)
{
    struct channel *c = arg;
    struct fs_notifier *nf = c->nf;
    uint64_t seen = 0;
    while (!stopping(nf)) {
        json_t *due = NULL;
        struct fs_err err = {0};
        int64_t now = fs_now_ms();
        if (fs_store_deliveries_due(nf->store, c->name, now, DUE_BATCH, &due, &err) < 0) {
            FS_LOG_WARN("notifications: reading the outbox failed", "channel", c->name, "error",
                        err.msg);
            if (nap(nf, 1000, &seen))
                break;
            continue;
        }
        size_t i;
        json_t *row;
        json_array_foreach(due, i, row)
        {
            if (stopping(nf))
                break;
            deliver_one(c, row);
        }
        size_t got = json_array_size(due);
        json_decref(due);
        if (got > 0)
            continue;
        int64_t next = 0, wait = 1000;
        if (fs_store_delivery_next_at(nf->store, c->name, &next, &err) == 1)
            wait = FS_MAX(FS_MIN(next - fs_now_ms(), 1000), 5);
        if (nap(nf, wait, &seen))
            break;
    }
    return NULL;
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

struct check_report {
    struct fs_err *err;
    int n;
};

static void check_report_fn(void *arg, const char *key, const char *msg)
{
    struct check_report *r = arg;
    if (r->n++ == 0)
        fs_err_set(r->err, FS_E_CONFIG, key, "%s: %s", key, msg);
}

static void notifier_free(struct fs_notifier *nf)
{
    for (size_t i = 0; i < nf->nch; i++) {
        free(nf->ch[i].name);
        json_decref(nf->ch[i].conf);
    }
    free(nf->ch);
    free(nf->public_url);
    pthread_mutex_destroy(&nf->mu);
    pthread_cond_destroy(&nf->cv);
    free(nf);
}

int fs_notifier_start(const struct fs_config *cfg, struct fs_store *store, struct fs_writer *w,
                      const char *base_url, struct fs_notifier **out, struct fs_err *err)
{
    *out = NULL;
    size_t nch = cfg->notify.channels.n;
    if (nch == 0)
        return 0;
    /* the kinds' own checks (the config loader knows only the shape every channel shares) */
    json_t *notify = fs_notify_config_json(cfg);
    if (!notify)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    struct check_report cr = {err, 0};
    fs_notify_check_config(notify, check_report_fn, &cr);
    if (cr.n) {
        json_decref(notify);
        return -FS_E_CONFIG;
    }
    struct fs_notifier *nf = fs_calloc(1, sizeof(*nf));
    if (!nf) {
        json_decref(notify);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    pthread_mutex_init(&nf->mu, NULL);
    pthread_cond_init(&nf->cv, NULL);
    nf->store = store;
    nf->w = *w;
    nf->initial_ms = cfg->notify.retry_initial_ms;
    nf->max_ms = cfg->notify.retry_max_ms;
    nf->give_up_ms = cfg->notify.retry_give_up_ms;
    nf->timeout_ms = cfg->notify.timeout_ms;
    nf->seed = (unsigned)(fs_mono_ns() ^ (uint64_t)fs_now_ms());
    if (cfg->notify.public_url) {
        nf->public_url = fs_strdup(cfg->notify.public_url);
    } else if (base_url && strncmp(base_url, "http://0.0.0.0:", 15) != 0 &&
               strncmp(base_url, "http://[::]:", 12) != 0) {
        nf->public_url = fs_strdup(base_url);
    } else {
        char *u = NULL;
        const char *l = cfg->server.listen ? cfg->server.listen : "127.0.0.1:9797";
        if (!strncmp(l, "0.0.0.0:", 8))
            l += 7, nf->public_url = asprintf(&u, "http://127.0.0.1%s", l) < 0 ? NULL : u;
        else
            nf->public_url = asprintf(&u, "http://%s", l) < 0 ? NULL : u;
    }
    size_t n = strlen(nf->public_url ? nf->public_url : "");
    while (n > 0 && nf->public_url[n - 1] == '/')
        nf->public_url[--n] = '\0';
    nf->ch = fs_calloc(nch, sizeof(*nf->ch));
    int rc = nf->ch && nf->public_url ? 0 : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    for (size_t i = 0; rc == 0 && i < nch; i++) {
        json_t *c = json_array_get(json_object_get(notify, "channels"), i);
        struct channel *ch = &nf->ch[nf->nch++];
        ch->nf = nf;
        ch->name = fs_strdup(json_string_value(json_object_get(c, "name")));
        ch->kind = fs_channel_kind_find(json_string_value(json_object_get(c, "type")));
        ch->conf = json_incref(c);
        json_t *ev = json_object_get(c, "events");
        const char *const *dflt = ch->kind ? ch->kind->default_events : NULL;
        for (size_t e = 0; e < FS_ARRAY_LEN(events); e++)
            ch->events[e] = !ev && !dflt;
        for (size_t e = 0; !ev && dflt && dflt[e]; e++) {
            int k = event_index(dflt[e]);
            if (k >= 0)
                ch->events[k] = true;
        }
        size_t j;
        json_t *x;
        json_array_foreach(ev, j, x)
        {
            int k = event_index(json_string_value(x));
            if (k >= 0)
                ch->events[k] = true;
        }
        if (!ch->name)
            rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    json_decref(notify);
    struct cursor_init ci = {0};
    if (rc == 0 && (rc = fs_writer_run(&nf->w, cursor_tx, &ci, err)) == 0)
        nf->cursor = ci.seq;
    if (rc == 0 && pthread_create(&nf->reader, NULL, reader_main, nf) != 0)
        rc = fs_err_set(err, FS_E_SYSTEM, NULL, "cannot start the notifier thread");
    nf->reader_started = rc == 0;
    for (size_t i = 0; rc == 0 && i < nf->nch; i++) {
        if (pthread_create(&nf->ch[i].thread, NULL, worker_main, &nf->ch[i]) != 0)
            rc = fs_err_set(err, FS_E_SYSTEM, NULL, "cannot start a delivery thread");
        nf->ch[i].started = rc == 0;
    }
    if (rc < 0) {
        fs_notifier_stop(nf);
        return rc;
    }
    FS_LOG_INFO("notifications on", "channels", FS_I64(nf->nch), "cursor", FS_I64(nf->cursor));
    *out = nf;
    return 0;
}

void fs_notifier_stop(struct fs_notifier *nf)
{
    if (!nf)
        return;
    pthread_mutex_lock(&nf->mu);
    nf->stop = true;
    pthread_cond_broadcast(&nf->cv);
    pthread_mutex_unlock(&nf->mu);
    if (nf->reader_started)
        pthread_join(nf->reader, NULL);
    for (size_t i = 0; i < nf->nch; i++)
        if (nf->ch[i].started)
            pthread_join(nf->ch[i].thread, NULL);
    notifier_free(nf);
}

/* ---- metrics -------------------------------------------------------------------------------- */

#define NOTIFY_METRICS(X)                                                                          \
    X("forestall_notifications_total", "counter", "channel, status",                               \
      "Notification deliveries that ended, by channel and status (sent; dead: given up after "     \
      "a permanent failure or notify.retry.give_up), counted in the outbox at scrape time.")       \
    X("forestall_notifications_pending", "gauge", "channel",                                       \
      "Notification deliveries waiting to be sent or retried, by channel.")

int fs_notify_metrics_doc_markdown(struct fs_buf *b)
{
    int rc = 0;
#define DOC_ROW(name, type, labels, help)                                                          \
    rc |= fs_buf_printf(b, "| `%s` | %s | %s | %s |\n", name, type, labels, help);
    NOTIFY_METRICS(DOC_ROW)
#undef DOC_ROW
    return rc < 0 ? rc : 0;
}

int fs_notify_metrics_render(struct fs_buf *b, struct fs_store *store)
{
    json_t *counts = NULL;
    struct fs_err err;
    int rc = fs_store_deliveries_counts(store, &counts, &err);
    if (rc < 0)
        return rc;
    fs_metric_header(b, "forestall_notifications_total", "counter",
                     "Notification deliveries that ended, by channel and status.");
    const char *ch;
    json_t *per;
    json_object_foreach(counts, ch, per)
    {
        char esc[200], lab[300];
        fs_metric_escape(esc, sizeof(esc), ch);
        static const char *const st[] = {"sent", "dead"};
        for (size_t i = 0; i < FS_ARRAY_LEN(st); i++) {
            snprintf(lab, sizeof(lab), "channel=\"%s\",status=\"%s\"", esc, st[i]);
            fs_metric_sample(b, "forestall_notifications_total", lab,
                             (double)json_integer_value(json_object_get(per, st[i])));
        }
    }
    fs_metric_header(b, "forestall_notifications_pending", "gauge",
                     "Notification deliveries waiting to be sent or retried, by channel.");
    json_object_foreach(counts, ch, per)
    {
        char esc[200], lab[300];
        fs_metric_escape(esc, sizeof(esc), ch);
        snprintf(lab, sizeof(lab), "channel=\"%s\"", esc);
        fs_metric_sample(b, "forestall_notifications_pending", lab,
                         (double)json_integer_value(json_object_get(per, "pending")));
    }
    json_decref(counts);
    return 0;
}
