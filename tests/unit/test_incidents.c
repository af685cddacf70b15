/* Unit tests for episodes and incidents, against a real SQLite store in a temporary directory:
 * duplicates, HA skew, stale replays, missed resolves, out-of-order history, correlation,
 * event continuation and expiry, and the latest-episode cache staying truthful. */
#include "unit.h"

#include <unistd.h>

#include "core/json.h"
#include "core/time.h"
#include "incidents/incidents.h"
#include "store/store.h"

#define T0 1795257600000LL /* 2026-11-21T10:40:00Z */
#define MIN 60000LL

struct fx {
    char dir[64];
    struct fs_store *s;
    struct fs_strlist group_by;
    char *gb[2];
    struct fs_incidents_params p;
    struct fs_episode_cache *cache;
    int64_t now;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/fs-inc-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    char path[128];
    snprintf(path, sizeof(path), "%s/t.db", f->dir);
    struct fs_store_options o = {.driver = "sqlite", .path = path, .busy_timeout_ms = 1000};
    struct fs_err err;
    if (fs_store_open(&o, &f->s, &err) < 0)
        return -1;
    f->gb[0] = "instance";
    f->gb[1] = "service";
    f->group_by = (struct fs_strlist){f->gb, 2};
    f->cache = fs_episode_cache_new(1024);
    f->p = (struct fs_incidents_params){.group_by = &f->group_by,
                                        .window_ms = 5 * MIN,
                                        .skew_ms = MIN,
                                        .event_ttl_ms = 60 * MIN,
                                        .default_severity = FS_SEV_WARNING,
                                        .cache = f->cache};
    f->now = T0 + 60 * MIN;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    fs_store_close(f->s);
    fs_episode_cache_free(f->cache);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "%s/t.db", f->dir);
    unlink(cmd);
    snprintf(cmd, sizeof(cmd), "%s/t.db-wal", f->dir);
    unlink(cmd);
    snprintf(cmd, sizeof(cmd), "%s/t.db-shm", f->dir);
    unlink(cmd);
    rmdir(f->dir);
    free(f);
    return 0;
}

static char *iso(int64_t ms, char *buf)
{
    return fs_time_format(ms, buf, 40);
}

/* One Alertmanager alert: fingerprint label fp, firing at start or resolved at end. */
static struct fs_apply_stats send_src(struct fx *f, enum fs_alert_source src, const char *body)
{
    struct fs_alert_batch b;
    struct fs_err err;
    struct fs_parse_limits lim = {.max_depth = 32, .max_alerts = 100, .now_ms = f->now};
    int rc = src == FS_SRC_EVENT ? fs_parse_event(body, strlen(body), &lim, &b, &err)
                                 : fs_parse_alertmanager(body, strlen(body), &lim, &b, &err);
    if (rc < 0)
        fail_msg("parse: %s\n%s", err.msg, body);
    struct fs_apply_stats st = {0};
    assert_int_equal(fs_store_begin(f->s, &err), 0);
    if (fs_incidents_apply(f->s, &f->p, &b, f->now, &st, &err) < 0)
        fail_msg("apply: %s", err.msg);
    assert_int_equal(fs_store_commit(f->s, &err), 0);
    fs_alert_batch_release(&b);
    return st;
}

static struct fs_apply_stats am(struct fx *f, const char *name, const char *instance,
                                const char *severity, int64_t start, int64_t end,
                                const char *summary)
{
    char body[1024], s[40], e[40];
    snprintf(body, sizeof(body),
             "{\"version\":\"4\",\"alerts\":[{\"status\":\"%s\",\"labels\":{\"alertname\":\"%s\","
             "\"instance\":\"%s\",\"severity\":\"%s\"},\"annotations\":{\"summary\":\"%s\"},"
             "\"startsAt\":\"%s\",\"endsAt\":\"%s\"}]}",
             end ? "resolved" : "firing", name, instance, severity, summary ? summary : "s",
             iso(start, s), end ? iso(end, e) : "0001-01-01T00:00:00Z");
    return send_src(f, FS_SRC_ALERTMANAGER, body);
}

static json_t *incidents(struct fx *f)
{
    struct fs_incident_filter filt = {.since_ms = FS_TIME_UNSET};
    json_t *arr;
    struct fs_err err;
    assert_int_equal(fs_store_incidents_list(f->s, &filt, &arr, &err), 0);
    return arr;
}

static size_t count_episodes(struct fx *f, const char *status)
{
    json_t *arr = incidents(f);
    size_t n = 0, i, j;
    json_t *inc, *ep;
    json_array_foreach(arr, i, inc) json_array_foreach(json_object_get(inc, "episodes"), j, ep)
    {
        if (!status || strcmp(json_string_value(json_object_get(ep, "status")), status) == 0)
            n++;
    }
    json_decref(arr);
    return n;
}

static void test_repeats_are_one_episode(void **state)
{
    struct fx *f = *state;
    struct fs_apply_stats st = am(f, "Disk", "a", "warning", T0, 0, NULL);
    assert_int_equal(st.changed, 1);
    assert_int_equal(st.opened, 1);
    for (int i = 0; i < 5; i++) {
        st = am(f, "Disk", "a", "warning", T0, 0, NULL);
        assert_int_equal(st.deduplicated, 1);
    }
    assert_int_equal(count_episodes(f, NULL), 1);
    /* an annotation change is a new snapshot of the same episode, not a new episode */
    st = am(f, "Disk", "a", "warning", T0, 0, "now 91%");
    assert_int_equal(st.changed, 1);
    assert_int_equal(count_episodes(f, "firing"), 1);
}

static void test_skewed_peer_is_the_same_episode(void **state)
{
    struct fx *f = *state;
    am(f, "Disk", "a", "warning", T0, 0, NULL);
    am(f, "Disk", "a", "warning", T0 + 30000, 0, NULL);
    am(f, "Disk", "a", "warning", T0 - 30000, 0, NULL);
    assert_int_equal(count_episodes(f, NULL), 1);
    am(f, "Disk", "a", "warning", T0 + 25000, T0 + 10 * MIN, NULL); /* skewed resolve */
    assert_int_equal(count_episodes(f, "resolved"), 1);
    assert_int_equal(count_episodes(f, NULL), 1);
}

static void test_stale_firing_never_reopens(void **state)
{
    struct fx *f = *state;
    am(f, "Disk", "a", "warning", T0, 0, NULL);
    am(f, "Disk", "a", "warning", T0, T0 + 10 * MIN, NULL);
    struct fs_apply_stats st = am(f, "Disk", "a", "warning", T0, 0, NULL);
    assert_int_equal(st.deduplicated, 1);
    assert_int_equal(count_episodes(f, "firing"), 0);
    /* a genuinely newer firing is a new episode, and reopens the incident within the window */
    st = am(f, "Disk", "a", "warning", T0 + 12 * MIN, 0, NULL);
    assert_int_equal(st.changed, 1);
    assert_int_equal(count_episodes(f, "firing"), 1);
    assert_int_equal(count_episodes(f, NULL), 2);
    json_t *arr = incidents(f);
    assert_int_equal(json_array_size(arr), 1);
    json_decref(arr);
}

static void test_missed_resolve_is_inferred(void **state)
{
    struct fx *f = *state;
    am(f, "Disk", "a", "warning", T0, 0, NULL);
    am(f, "Disk", "a", "warning", T0 + 30 * MIN, 0, NULL); /* the resolve in between was lost */
    assert_int_equal(count_episodes(f, "firing"), 1);
    assert_int_equal(count_episodes(f, "resolved"), 1);
    /* the lost resolve shows up late: it replaces the inferred end */
    am(f, "Disk", "a", "warning", T0, T0 + 20 * MIN, NULL);
    json_t *arr = incidents(f);
    json_t *eps = json_object_get(json_array_get(arr, 0), "episodes");
    json_t *first = json_array_get(eps, 0);
    assert_false(json_is_true(json_object_get(first, "endInferred")));
    assert_string_equal(json_string_value(json_object_get(first, "endsAt")),
                        "2026-11-21T11:00:00.000Z");
    json_decref(arr);
}

static void test_out_of_order_history(void **state)
{
    struct fx *f = *state;
    am(f, "Disk", "a", "warning", T0 + 60 * MIN, 0, NULL);  /* newest first */
    am(f, "Disk", "a", "warning", T0, T0 + 10 * MIN, NULL); /* an old resolve */
    am(f, "Disk", "a", "warning", T0, 0, NULL);             /* its firing, late */
    am(f, "Disk", "a", "warning", T0 + 30 * MIN, 0, NULL);  /* a middle episode */
    am(f, "Disk", "a", "warning", T0 + 30 * MIN, T0 + 40 * MIN, NULL);
    assert_int_equal(count_episodes(f, NULL), 3);
    assert_int_equal(count_episodes(f, "firing"), 1);
}

static void test_correlation(void **state)
{
    struct fx *f = *state;
    am(f, "Disk", "web-1", "warning", T0, 0, NULL);
    am(f, "HighCPU", "web-1", "critical", T0 + MIN, 0, NULL);
    am(f, "Disk", "web-2", "info", T0, 0, NULL);
    json_t *arr = incidents(f);
    assert_int_equal(json_array_size(arr), 2);
    json_t *web1 = json_array_get(arr, 1); /* newest first: web-2 is inc-2 */
    assert_string_equal(json_string_value(json_object_get(web1, "severity")), "critical");
    json_t *labels = json_object_get(web1, "labels");
    assert_string_equal(json_string_value(json_object_get(labels, "instance")), "web-1");
    assert_null(json_object_get(labels, "alertname")); /* not common to both episodes */
    json_decref(arr);
    /* resolve both: the incident resolves only when its last episode does */
    am(f, "Disk", "web-1", "warning", T0, T0 + 5 * MIN, NULL);
    arr = incidents(f);
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 1), "status")),
                        "open");
    json_decref(arr);
    am(f, "HighCPU", "web-1", "critical", T0 + MIN, T0 + 6 * MIN, NULL);
    arr = incidents(f);
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 1), "status")),
                        "resolved");
    json_decref(arr);
    /* long after the window: a new incident, not a reopen */
    am(f, "Disk", "web-1", "warning", T0 + 120 * MIN, 0, NULL);
    arr = incidents(f);
    assert_int_equal(json_array_size(arr), 3);
    json_decref(arr);
}

static void test_no_group_labels_get_their_own_incident(void **state)
{
    struct fx *f = *state;
    const char *b1 = "{\"alerts\":[{\"status\":\"firing\",\"labels\":{\"alertname\":\"X\"},"
                     "\"startsAt\":\"2026-11-21T10:00:00Z\"}]}";
    const char *b2 = "{\"alerts\":[{\"status\":\"firing\",\"labels\":{\"alertname\":\"Y\"},"
                     "\"startsAt\":\"2026-11-21T10:00:00Z\"}]}";
    send_src(f, FS_SRC_ALERTMANAGER, b1);
    send_src(f, FS_SRC_ALERTMANAGER, b2);
    json_t *arr = incidents(f);
    assert_int_equal(json_array_size(arr), 2);
    json_decref(arr);
}

static void test_events_continue_and_expire(void **state)
{
    struct fx *f = *state;
    const char *ev = "{\"type\":\"provider.unhealthy\",\"data\":{\"provider\":\"openai\","
                     "\"error_rate\":0.3}}";
    struct fs_apply_stats st = send_src(f, FS_SRC_EVENT, ev);
    assert_int_equal(st.changed, 1);
    f->now += 5 * MIN; /* a repeat minutes later continues the open episode */
    send_src(f, FS_SRC_EVENT, ev);
    assert_int_equal(count_episodes(f, NULL), 1);
    /* nothing repeats it for longer than event_ttl: housekeeping closes it */
    int closed = 0;
    struct fs_err err;
    assert_int_equal(fs_store_begin(f->s, &err), 0);
    assert_int_equal(fs_incidents_expire(f->s, &f->p, f->now + 30 * MIN, &closed, &err), 0);
    assert_int_equal(closed, 0);
    assert_int_equal(fs_incidents_expire(f->s, &f->p, f->now + 61 * MIN, &closed, &err), 0);
    assert_int_equal(closed, 1);
    assert_int_equal(fs_store_commit(f->s, &err), 0);
    assert_int_equal(count_episodes(f, "resolved"), 1);
    /* and an idempotency key makes a redelivery a no-op */
    const char *idev = "{\"type\":\"latency.spike\",\"id\":\"evt-1\",\"data\":{\"provider\":"
                       "\"p\",\"observed_ms\":900,\"baseline_ms\":200}}";
    st = send_src(f, FS_SRC_EVENT, idev);
    assert_int_equal(st.changed, 1);
    st = send_src(f, FS_SRC_EVENT, idev);
    assert_int_equal(st.deduplicated, 1);
}

static void test_cache_survives_rollback(void **state)
{
    struct fx *f = *state;
    am(f, "Disk", "a", "warning", T0, 0, NULL); /* cached: firing */
    /* resolve inside a transaction that is rolled back: the cache must not keep "resolved" */
    char body[512], s[40], e[40];
    snprintf(body, sizeof(body),
             "{\"alerts\":[{\"status\":\"resolved\",\"labels\":{\"alertname\":\"Disk\","
             "\"instance\":\"a\",\"severity\":\"warning\"},\"annotations\":{\"summary\":\"s\"},"
             "\"startsAt\":\"%s\",\"endsAt\":\"%s\"}]}",
             iso(T0, s), iso(T0 + MIN, e));
    struct fs_alert_batch b;
    struct fs_err err;
    struct fs_parse_limits lim = {.max_depth = 32, .max_alerts = 10, .now_ms = f->now};
    assert_int_equal(fs_parse_alertmanager(body, strlen(body), &lim, &b, &err), 0);
    struct fs_apply_stats st = {0};
    assert_int_equal(fs_store_begin(f->s, &err), 0);
    assert_int_equal(fs_incidents_apply(f->s, &f->p, &b, f->now, &st, &err), 0);
    fs_store_rollback(f->s);
    fs_episode_cache_clear(f->cache); /* what the writer does after any rollback */
    fs_alert_batch_release(&b);
    /* the repeat of the resolve must be applied again, not taken as a duplicate */
    st = am(f, "Disk", "a", "warning", T0, T0 + MIN, NULL);
    assert_int_equal(st.changed, 1);
    assert_int_equal(count_episodes(f, "resolved"), 1);
}

static void test_close_missing(void **state)
{
    struct fx *f = *state;
    am(f, "Disk", "a", "warning", T0, 0, NULL);
    am(f, "Disk", "b", "warning", T0, 0, NULL);
    json_t *arr = incidents(f);
    const char *fp_b = json_string_value(json_object_get(
        json_array_get(json_object_get(json_array_get(arr, 0), "episodes"), 0), "fingerprint"));
    json_t *present = json_object();
    json_object_set_new(present, fp_b, json_true());
    json_decref(arr);
    int closed = 0;
    struct fs_err err;
    assert_int_equal(fs_store_begin(f->s, &err), 0);
    assert_int_equal(fs_incidents_close_missing(f->s, &f->p, present, f->now, &closed, &err), 0);
    assert_int_equal(fs_store_commit(f->s, &err), 0);
    json_decref(present);
    assert_int_equal(closed, 1);
    assert_int_equal(count_episodes(f, "firing"), 1);
}

static void test_inferred_end_does_not_swallow_a_late_middle_episode(void **state)
{
    struct fx *f = *state;
    am(f, "Disk", "a", "warning", T0, 0, NULL);
    am(f, "Disk", "a", "warning", T0 + 60 * MIN, 0, NULL); /* T0 closed, end guessed */
    am(f, "Disk", "a", "warning", T0 + 30 * MIN, 0, NULL); /* a middle episode, late */
    am(f, "Disk", "a", "warning", T0 + 30 * MIN, T0 + 40 * MIN, NULL);
    assert_int_equal(count_episodes(f, NULL), 3);
    /* the guessed end of the first moved back to where the middle one began */
    json_t *arr = incidents(f);
    json_t *first = json_array_get(json_object_get(json_array_get(arr, 0), "episodes"), 0);
    assert_string_equal(json_string_value(json_object_get(first, "endsAt")),
                        "2026-11-21T11:10:00.000Z");
    json_decref(arr);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_repeats_are_one_episode),
        T(test_skewed_peer_is_the_same_episode),
        T(test_stale_firing_never_reopens),
        T(test_missed_resolve_is_inferred),
        T(test_out_of_order_history),
        T(test_correlation),
        T(test_no_group_labels_get_their_own_incident),
        T(test_events_continue_and_expire),
        T(test_cache_survives_rollback),
        T(test_close_missing),
        T(test_inferred_end_does_not_swallow_a_late_middle_episode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
