/* Unit tests for the pure part of eval/replay.c: what differs between a recorded and a replayed
 * investigation (outcome, action, params, decision, risk), the one verdict that names it (in
 * precedence order: diverged, outcome, action, params, decision), params compared as JSON values
 * whatever their key order, the names and labels of verdicts and changes, and the planner
 * table. */
#include "unit.h"

#include <jansson.h>

#include "eval/replay.h"

static struct fs_replay_side proposed(const char *action, const json_t *params,
                                      const char *decision, int risk)
{
    struct fs_replay_side s = {.params = params, .risk_score = risk};
    snprintf(s.outcome, sizeof(s.outcome), "proposed");
    snprintf(s.action, sizeof(s.action), "%s", action);
    snprintf(s.decision, sizeof(s.decision), "%s", decision);
    return s;
}

static struct fs_replay_side ended(const char *outcome)
{
    struct fs_replay_side s = {.risk_score = -1};
    snprintf(s.outcome, sizeof(s.outcome), "%s", outcome);
    return s;
}

static void test_identical_sides_are_same(void **state)
{
    json_t *p = json_pack("{s:s,s:i}", "directory", "/var/log/journal", "below_pct", 80);
    json_t *q = json_pack("{s:i,s:s}", "below_pct", 80, "directory", "/var/log/journal");
    struct fs_replay_side a = proposed("journal_vacuum", p, "execute", 35);
    struct fs_replay_side b = proposed("journal_vacuum", q, "execute", 35);
    unsigned c = 99;
    assert_int_equal(fs_replay_compare(&a, &b, false, &c), FS_RV_SAME);
    assert_int_equal(c, 0);
    struct fs_replay_side e1 = ended("escalated"), e2 = ended("escalated");
    assert_int_equal(fs_replay_compare(&e1, &e2, false, &c), FS_RV_SAME);
    assert_int_equal(c, 0);
    json_decref(p);
    json_decref(q);
}

static void test_decision_flip_with_same_risk_is_decision_flipped(void **state)
{
    json_t *p = json_pack("{s:s}", "directory", "/var/log/journal");
    struct fs_replay_side a = proposed("journal_vacuum", p, "execute", 35);
    struct fs_replay_side b = proposed("journal_vacuum", p, "needs_approval", 35);
    unsigned c = 0;
    assert_int_equal(fs_replay_compare(&a, &b, false, &c), FS_RV_DECISION_FLIPPED);
    assert_int_equal(c, FS_RC_DECISION);
    json_decref(p);
}

static void test_risk_change_alone_stays_same_but_is_reported(void **state)
{
    struct fs_replay_side a = proposed("service_restart", NULL, "execute", 20);
    struct fs_replay_side b = proposed("service_restart", NULL, "execute", 30);
    unsigned c = 0;
    assert_int_equal(fs_replay_compare(&a, &b, false, &c), FS_RV_SAME);
    assert_int_equal(c, FS_RC_RISK);
    json_t *names = fs_replay_changes_json(c);
    assert_int_equal(json_array_size(names), 1);
    assert_string_equal(json_string_value(json_array_get(names, 0)), "risk");
    json_decref(names);
}

static void test_params_change_beats_decision_flip(void **state)
{
    json_t *p = json_pack("{s:s}", "max_size", "22M");
    json_t *q = json_pack("{s:s}", "max_size", "10M");
    struct fs_replay_side a = proposed("journal_vacuum", p, "execute", 35);
    struct fs_replay_side b = proposed("journal_vacuum", q, "needs_approval", 45);
    unsigned c = 0;
    assert_int_equal(fs_replay_compare(&a, &b, false, &c), FS_RV_PARAMS_CHANGED);
    assert_int_equal(c, FS_RC_PARAMS | FS_RC_DECISION | FS_RC_RISK);
    json_decref(p);
    json_decref(q);
}

static void test_empty_and_missing_params_are_equal(void **state)
{
    json_t *empty = json_object();
    struct fs_replay_side a = proposed("cache_drop", NULL, "execute", 10);
    struct fs_replay_side b = proposed("cache_drop", empty, "execute", 10);
    assert_int_equal(fs_replay_compare(&a, &b, false, NULL), FS_RV_SAME);
    json_t *one = json_pack("{s:i}", "n", 1);
    struct fs_replay_side d = proposed("cache_drop", one, "execute", 10);
    assert_int_equal(fs_replay_compare(&a, &d, false, NULL), FS_RV_PARAMS_CHANGED);
    json_decref(empty);
    json_decref(one);
}

static void test_other_action_is_action_changed_not_params(void **state)
{
    json_t *p = json_pack("{s:s}", "directory", "/var/log/journal");
    json_t *q = json_pack("{s:s}", "path", "/var/log");
    struct fs_replay_side a = proposed("journal_vacuum", p, "execute", 35);
    struct fs_replay_side b = proposed("log_cleanup", q, "execute", 35);
    unsigned c = 0;
    assert_int_equal(fs_replay_compare(&a, &b, false, &c), FS_RV_ACTION_CHANGED);
    assert_int_equal(c, FS_RC_ACTION); /* params of different actions are not compared */
    json_decref(p);
    json_decref(q);
}

static void test_proposal_against_escalation_is_outcome_changed(void **state)
{
    struct fs_replay_side a = proposed("journal_vacuum", NULL, "execute", 35);
    struct fs_replay_side b = ended("escalated");
    unsigned c = 0;
    assert_int_equal(fs_replay_compare(&a, &b, false, &c), FS_RV_OUTCOME_CHANGED);
    assert_int_equal(c, FS_RC_OUTCOME | FS_RC_ACTION | FS_RC_DECISION | FS_RC_RISK);
    struct fs_replay_side n = ended("no_action");
    assert_int_equal(fs_replay_compare(&n, &b, false, &c), FS_RV_OUTCOME_CHANGED);
    assert_int_equal(c, FS_RC_OUTCOME);
}

static void test_diverged_beats_every_other_verdict(void **state)
{
    struct fs_replay_side a = proposed("journal_vacuum", NULL, "execute", 35);
    struct fs_replay_side b = ended("escalated");
    unsigned c = 0;
    assert_int_equal(fs_replay_compare(&a, &b, true, &c), FS_RV_DIVERGED);
    assert_true(c & FS_RC_OUTCOME); /* the changes are still all reported */
    assert_int_equal(fs_replay_compare(&a, &a, true, &c), FS_RV_DIVERGED);
    assert_int_equal(c, 0);
}

static void test_names_labels_and_planner_table(void **state)
{
    assert_string_equal(fs_replay_verdict_name(FS_RV_SAME), "same");
    assert_string_equal(fs_replay_verdict_name(FS_RV_DECISION_FLIPPED), "decision_flipped");
    assert_string_equal(fs_replay_verdict_name(FS_RV_DIVERGED), "diverged");
    assert_string_equal(fs_replay_verdict_label(FS_RV_DECISION_FLIPPED, 1), "decision flipped");
    assert_string_equal(fs_replay_verdict_label(FS_RV_DECISION_FLIPPED, 2), "decisions flipped");
    assert_string_equal(fs_replay_verdict_label(FS_RV_ACTION_CHANGED, 0), "actions changed");
    assert_string_equal(fs_replay_verdict_name(FS_RV__COUNT), "?");
    json_t *all = fs_replay_changes_json(FS_RC_OUTCOME | FS_RC_ACTION | FS_RC_PARAMS |
                                         FS_RC_DECISION | FS_RC_RISK);
    char *text = json_dumps(all, JSON_COMPACT);
    assert_string_equal(text, "[\"outcome\",\"action\",\"params\",\"decision\",\"risk\"]");
    free(text);
    json_decref(all);
    assert_non_null(fs_eval_planner_find("playbook"));
    assert_non_null(fs_eval_planner_find("llm"));
    assert_null(fs_eval_planner_find("oracle"));
    assert_ptr_equal(fs_eval_planner_find(NULL), &fs_eval_planners[0]); /* the default */
    struct fs_buf b = FS_BUF_INIT(256);
    fs_eval_planner_names(&b);
    assert_string_equal(fs_buf_str(&b), "playbook, llm");
    fs_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identical_sides_are_same),
        cmocka_unit_test(test_decision_flip_with_same_risk_is_decision_flipped),
        cmocka_unit_test(test_risk_change_alone_stays_same_but_is_reported),
        cmocka_unit_test(test_params_change_beats_decision_flip),
        cmocka_unit_test(test_empty_and_missing_params_are_equal),
        cmocka_unit_test(test_other_action_is_action_changed_not_params),
        cmocka_unit_test(test_proposal_against_escalation_is_outcome_changed),
        cmocka_unit_test(test_diverged_beats_every_other_verdict),
        cmocka_unit_test(test_names_labels_and_planner_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
