/* Unit tests for incidents/state.c, the incident handling state machine: the table of allowed
 * moves is exactly the documented one (escalated → executing included: a person approves a
 * proposal after the escalation), every other move is refused, and a refused move against a real
 * store changes nothing — no state, no timeline entry, no audit record — while an allowed one
 * writes all three. */
#include "unit.h"

#include <unistd.h>

#include "core/time.h"
#include "incidents/state.h"
#include "store/store.h"

#define T0 1795255200000LL /* 2026-11-21T10:00:00Z */
#define S(x) FS_ISTATE_##x

/* The moves docs/states.md and docs/engine.md describe, and no others. */
static const struct {
    enum fs_incident_state from, to;
} legal[] = {
    {S(NEW), S(INVESTIGATING)},
    {S(NEW), S(ESCALATED)},
    {S(NEW), S(NO_ACTION)},
    {S(INVESTIGATING), S(INVESTIGATING)}, /* a crash left it investigating: investigated again */
    {S(INVESTIGATING), S(PROPOSED)},
    {S(INVESTIGATING), S(ESCALATED)},
    {S(INVESTIGATING), S(NO_ACTION)},
    {S(PROPOSED), S(AWAITING_APPROVAL)},
    {S(PROPOSED), S(EXECUTING)},
    {S(PROPOSED), S(ESCALATED)},
    {S(PROPOSED), S(SHADOWED)},
    {S(PROPOSED), S(BLOCKED)},
    {S(AWAITING_APPROVAL), S(EXECUTING)},
    {S(AWAITING_APPROVAL), S(ESCALATED)},
    {S(EXECUTING), S(VERIFYING)},
    {S(EXECUTING), S(ESCALATED)},
    {S(VERIFYING), S(RESOLVED)},
    {S(VERIFYING), S(ESCALATED)},
    {S(RESOLVED), S(INVESTIGATING)},
    {S(ESCALATED), S(INVESTIGATING)},
    {S(ESCALATED), S(EXECUTING)}, /* a person approved a proposal after the escalation */
    {S(NO_ACTION), S(INVESTIGATING)},
    {S(SHADOWED), S(INVESTIGATING)},
    {S(BLOCKED), S(INVESTIGATING)},
    {S(BLOCKED), S(ESCALATED)},
};

static bool is_legal(enum fs_incident_state from, enum fs_incident_state to)
{
    for (size_t i = 0; i < FS_ARRAY_LEN(legal); i++)
        if (legal[i].from == from && legal[i].to == to)
            return true;
    return false;
}

static void test_table_is_exactly_the_documented_moves(void **state)
{
    (void)state;
    int allowed = 0;
    for (int from = 0; from < FS_ISTATE__COUNT; from++) {
        for (int to = 0; to < FS_ISTATE__COUNT; to++) {
            bool want = is_legal(from, to);
            bool got = fs_incident_transition_allowed(from, to);
            if (want != got)
                fail_msg("%s → %s: the table says %s, the documented machine %s",
                         fs_incident_state_name(from), fs_incident_state_name(to),
                         got ? "allowed" : "refused", want ? "allows it" : "does not");
            allowed += got;
        }
    }
    assert_int_equal(allowed, (int)FS_ARRAY_LEN(legal));
    /* a few illegal moves spelled out: nothing skips verification, nothing runs unproposed,
     * nothing leaves an ending state except to be investigated again (or run, once approved) */
    assert_false(fs_incident_transition_allowed(S(EXECUTING), S(RESOLVED)));
    assert_false(fs_incident_transition_allowed(S(NEW), S(EXECUTING)));
    assert_false(fs_incident_transition_allowed(S(INVESTIGATING), S(EXECUTING)));
    assert_false(fs_incident_transition_allowed(S(NO_ACTION), S(EXECUTING)));
    assert_false(fs_incident_transition_allowed(S(SHADOWED), S(EXECUTING)));
    assert_false(fs_incident_transition_allowed(S(BLOCKED), S(EXECUTING)));
    assert_false(fs_incident_transition_allowed(S(RESOLVED), S(EXECUTING)));
    assert_false(fs_incident_transition_allowed(S(RESOLVED), S(ESCALATED)));
    assert_false(fs_incident_transition_allowed(S(AWAITING_APPROVAL), S(RESOLVED)));
    assert_false(fs_incident_transition_allowed(S(VERIFYING), S(EXECUTING)));
    /* out of range either way */
    assert_false(fs_incident_transition_allowed(FS_ISTATE__COUNT, S(NEW)));
    assert_false(fs_incident_transition_allowed(S(NEW), FS_ISTATE__COUNT));
    assert_false(fs_incident_transition_allowed((enum fs_incident_state) - 1, S(NEW)));
}

static void test_names_round_trip(void **state)
{
    (void)state;
    for (int i = 0; i < FS_ISTATE__COUNT; i++) {
        enum fs_incident_state back;
        assert_int_equal(fs_incident_state_parse(fs_incident_state_name(i), &back), 0);
        assert_int_equal(back, i);
    }
    enum fs_incident_state x;
    assert_int_equal(fs_incident_state_parse("done", &x), -FS_E_INVALID);
    assert_int_equal(fs_incident_state_parse(NULL, &x), -FS_E_INVALID);
    assert_string_equal(fs_incident_state_name(FS_ISTATE__COUNT), "?");
}

/* ---- against a store ------------------------------------------------------------------------ */

struct fx {
    char dir[64], path[128];
    struct fs_store *s;
    int64_t inc;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/fs-state-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
    struct fs_store_options o = {.driver = "sqlite", .path = f->path, .busy_timeout_ms = 1000};
    struct fs_err err;
    if (fs_store_open(&o, &f->s, &err) < 0)
        return -1;
    struct fs_incident i = {.group_key = "{alertname=DiskSpaceWarning,instance=web-1:9100}",
                            .title = "DiskSpaceWarning on web-1:9100",
                            .labels = "{\"alertname\":\"DiskSpaceWarning\"}",
                            .open_episodes = 1,
                            .created_at = T0,
                            .updated_at = T0,
                            .resolved_at = FS_TIME_UNSET};
    fs_strlcpy(i.status, "open", sizeof(i.status));
    fs_strlcpy(i.severity, "warning", sizeof(i.severity));
    if (fs_store_begin(f->s, &err) < 0 || fs_store_incident_insert(f->s, &i, &err) < 0 ||
        fs_store_commit(f->s, &err) < 0)
        return -1;
    f->inc = i.id;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    fs_store_close(f->s);
    char p[160];
    static const char *const suffix[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < FS_ARRAY_LEN(suffix); i++) {
        snprintf(p, sizeof(p), "%s%s", f->path, suffix[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* What a move may change: the state, the number of timeline entries, the audit chain's head. */
struct snap {
    char state[24];
    size_t timeline;
    int64_t audit_seq;
};

static struct snap snap_of(struct fx *f)
{
    struct snap sn = {0};
    struct fs_err err;
    struct fs_incident inc = {0};
    assert_int_equal(fs_store_incident_load(f->s, f->inc, &inc, &err), 1);
    fs_strlcpy(sn.state, inc.state[0] ? inc.state : "new", sizeof(sn.state));
    fs_incident_clear(&inc);
    json_t *j = NULL;
    assert_int_equal(fs_store_incident_get(f->s, f->inc, &j, &err), 0);
    sn.timeline = json_array_size(json_object_get(j, "timeline"));
    json_decref(j);
    char hash[65];
    assert_int_equal(fs_store_audit_head(f->s, &sn.audit_seq, hash, &err), 0);
    return sn;
}

/* Move in one transaction; the transition's return code. */
static int move(struct fx *f, enum fs_incident_state to, struct fs_err *err)
{
    struct fs_err e;
    assert_int_equal(fs_store_begin(f->s, &e), 0);
    int rc = fs_incident_transition(f->s, f->inc, to, "test", NULL, T0 + 1000, err);
    if (rc < 0)
        fs_store_rollback(f->s);
    else
        assert_int_equal(fs_store_commit(f->s, &e), 0);
    return rc;
}

static void refused(struct fx *f, enum fs_incident_state to)
{
    struct snap before = snap_of(f);
    struct fs_err err = {0};
    /* the refusal itself, before anything is written (checked inside the transaction) */
    assert_int_equal(fs_store_begin(f->s, &err), 0);
    assert_int_equal(fs_incident_transition(f->s, f->inc, to, "test", NULL, T0 + 1000, &err),
                     -FS_E_INVALID);
    assert_non_null(strstr(err.msg, "cannot move from"));
    assert_non_null(strstr(err.msg, fs_incident_state_name(to)));
    struct snap during = snap_of(f);
    assert_string_equal(during.state, before.state);
    assert_int_equal(during.timeline, before.timeline);
    assert_int_equal(during.audit_seq, before.audit_seq);
    fs_store_rollback(f->s);
    struct snap after = snap_of(f);
    assert_string_equal(after.state, before.state);
    assert_int_equal(after.timeline, before.timeline);
    assert_int_equal(after.audit_seq, before.audit_seq);
}

static void allowed(struct fx *f, enum fs_incident_state to)
{
    struct snap before = snap_of(f);
    struct fs_err err = {0};
    if (move(f, to, &err) < 0)
        fail_msg("%s → %s refused: %s", before.state, fs_incident_state_name(to), err.msg);
    struct snap after = snap_of(f);
    assert_string_equal(after.state, fs_incident_state_name(to));
    assert_int_equal(after.timeline, before.timeline + 1);
    assert_int_equal(after.audit_seq, before.audit_seq + 1);
}

static void test_illegal_moves_change_nothing(void **state)
{
    struct fx *f = *state;
    /* new: nothing runs, resolves or verifies before an investigation and a proposal */
    refused(f, S(EXECUTING));
    refused(f, S(RESOLVED));
    refused(f, S(VERIFYING));
    refused(f, S(PROPOSED));
    allowed(f, S(INVESTIGATING));
    allowed(f, S(PROPOSED));
    refused(f, S(RESOLVED));
    allowed(f, S(EXECUTING));
    refused(f, S(RESOLVED)); /* never resolved without verifying */
    refused(f, S(PROPOSED));
    allowed(f, S(VERIFYING));
    refused(f, S(EXECUTING));
    allowed(f, S(ESCALATED));
    /* escalated: a person approves a proposal after the escalation → the executor runs it */
    refused(f, S(RESOLVED));
    refused(f, S(VERIFYING));
    refused(f, S(PROPOSED));
    allowed(f, S(EXECUTING));
    allowed(f, S(VERIFYING));
    allowed(f, S(RESOLVED));
    refused(f, S(EXECUTING));
    refused(f, S(ESCALATED));
    /* the same state again is a no-op that writes nothing (investigating excepted: it is
     * recorded as a new investigation) */
    struct snap before = snap_of(f);
    struct fs_err err;
    assert_int_equal(move(f, S(RESOLVED), &err), 0);
    struct snap after = snap_of(f);
    assert_int_equal(after.timeline, before.timeline);
    assert_int_equal(after.audit_seq, before.audit_seq);
    allowed(f, S(INVESTIGATING));
    allowed(f, S(INVESTIGATING));
}

static void test_unknown_incident(void **state)
{
    struct fx *f = *state;
    struct fs_err err;
    assert_int_equal(fs_store_begin(f->s, &err), 0);
    assert_int_equal(
        fs_incident_transition(f->s, f->inc + 100, S(INVESTIGATING), "test", NULL, T0, &err),
        -FS_E_NOT_FOUND);
    fs_store_rollback(f->s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_is_exactly_the_documented_moves),
        cmocka_unit_test(test_names_round_trip),
        cmocka_unit_test_setup_teardown(test_illegal_moves_change_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_incident, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
