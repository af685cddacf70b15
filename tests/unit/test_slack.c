/* Slack: request signatures (Slack's documented example), the timestamp window, the replay
 * guard, form decoding, interactivity and Events API payloads, thread reply words, the Block Kit
 * message of each notice and the channel's config check. */
#include "unit.h"

#include <string.h>

#include "core/buf.h"
#include "notify/slack.h"

/* Slack's documented example ("Verifying requests from Slack"). */
static const char *DOC_SECRET = "8f742231b10e8888abcd99yyyzzz85a5";
static const char *DOC_TS = "1531420618";
static const char *DOC_BODY =
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
    "G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-"
    "collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%"
    "2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121."
    "803a0bc887a14d10d2c447fce8b6703c";
static const char *DOC_SIG = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

static int verify(const char *ts, const char *sig, const char *body, int64_t now)
{
    struct fs_err err;
    return fs_slack_verify(DOC_SECRET, strlen(DOC_SECRET), ts, sig, body, strlen(body), now, &err);
}

static void test_documented_example(void **state)
{
    (void)state;
    char sig[80];
    assert_int_equal(fs_slack_sign(DOC_SECRET, strlen(DOC_SECRET), DOC_TS, DOC_BODY,
                                   strlen(DOC_BODY), sig, sizeof(sig)),
                     0);
    assert_string_equal(sig, DOC_SIG);
    assert_int_equal(verify(DOC_TS, DOC_SIG, DOC_BODY, 1531420618), 0);
}

static void test_wrong_signatures(void **state)
{
    (void)state;
    int64_t now = 1531420618;
    char sig[80];
    snprintf(sig, sizeof(sig), "%s", DOC_SIG);
    sig[10] = sig[10] == 'a' ? 'b' : 'a'; /* one digit off */
    assert_int_equal(verify(DOC_TS, sig, DOC_BODY, now), -FS_E_UNAUTHORIZED);
    assert_int_equal(verify(DOC_TS, "v0=abc", DOC_BODY, now), -FS_E_UNAUTHORIZED);
    assert_int_equal(verify(DOC_TS, "", DOC_BODY, now), -FS_E_UNAUTHORIZED);
    assert_int_equal(verify(DOC_TS, NULL, DOC_BODY, now), -FS_E_UNAUTHORIZED);
    assert_int_equal(verify(NULL, DOC_SIG, DOC_BODY, now), -FS_E_UNAUTHORIZED);
    /* the body as signed, byte for byte: one more byte, or the decoded form, fails */
    char body[1024];
    snprintf(body, sizeof(body), "%s ", DOC_BODY);
    assert_int_equal(verify(DOC_TS, DOC_SIG, body, now), -FS_E_UNAUTHORIZED);
    /* another secret */
    struct fs_err err;
    assert_int_equal(
        fs_slack_verify("another", 7, DOC_TS, DOC_SIG, DOC_BODY, strlen(DOC_BODY), now, &err),
        -FS_E_UNAUTHORIZED);
    assert_non_null(strstr(err.msg, "does not match"));
}

static void test_timestamp_window(void **state)
{
    (void)state;
    int64_t ts = 1531420618;
    assert_int_equal(verify(DOC_TS, DOC_SIG, DOC_BODY, ts + 300), 0);
    assert_int_equal(verify(DOC_TS, DOC_SIG, DOC_BODY, ts - 300), 0);
    assert_int_equal(verify(DOC_TS, DOC_SIG, DOC_BODY, ts + 301), -FS_E_UNAUTHORIZED);
    assert_int_equal(verify(DOC_TS, DOC_SIG, DOC_BODY, ts - 301), -FS_E_UNAUTHORIZED);
    /* a timestamp must be plain digits: no sign, space or exponent to play with */
    assert_int_equal(verify("+1531420618", DOC_SIG, DOC_BODY, ts), -FS_E_UNAUTHORIZED);
    assert_int_equal(verify("1531420618 ", DOC_SIG, DOC_BODY, ts), -FS_E_UNAUTHORIZED);
    assert_int_equal(verify("", DOC_SIG, DOC_BODY, ts), -FS_E_UNAUTHORIZED);
    assert_int_equal(verify("99999999999999999999", DOC_SIG, DOC_BODY, ts), -FS_E_UNAUTHORIZED);
}

static struct fs_slack_seen seen = FS_SLACK_SEEN_INIT;

static void test_replay_guard(void **state)
{
    (void)state;
    memset(seen.e, 0, sizeof(seen.e));
    assert_true(fs_slack_seen_add(&seen, "v0=aaa", 1000, 600));
    assert_false(fs_slack_seen_add(&seen, "v0=aaa", 1001, 600));
    assert_false(fs_slack_seen_add(&seen, "v0=aaa", 1600, 600));
    assert_true(fs_slack_seen_add(&seen, "v0=bbb", 1001, 600));
    /* remembered as long as the window; a timestamp that old is refused anyway */
    assert_true(fs_slack_seen_add(&seen, "v0=aaa", 1601, 600));
    /* bounded: the set never grows beyond its size, the oldest goes first */
    memset(seen.e, 0, sizeof(seen.e));
    char key[32];
    for (int i = 0; i <= FS_SLACK_SEEN_MAX; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        assert_true(fs_slack_seen_add(&seen, key, 5000, 600));
    }
    assert_false(fs_slack_seen_add(&seen, "k4000", 5000, 600));
    assert_false(fs_slack_seen_add(&seen, key, 5000, 600));
}

static void test_form_decoding(void **state)
{
    (void)state;
    char *s = fs_form_decode("a+b%20c%2Fd%7b", 14);
    assert_string_equal(s, "a b c/d{");
    free(s);
    assert_null(fs_form_decode("%4", 2));
    assert_null(fs_form_decode("%zz", 3));
    assert_null(fs_form_decode("a%00b", 5));
    const char *body = "token=x&payload=%7B%22a%22%3A1%7D&payload2=no";
    s = fs_form_field(body, strlen(body), "payload");
    assert_string_equal(s, "{\"a\":1}");
    free(s);
    assert_null(fs_form_field(body, strlen(body), "payloa"));
    assert_null(fs_form_field(body, strlen(body), "missing"));
}

/* payload=<form-encoded JSON> */
static char *form_payload(const char *json)
{
    struct fs_buf b = FS_BUF_INIT(0);
    fs_buf_puts(&b, "payload=");
    for (const unsigned char *c = (const unsigned char *)json; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            *c == '-' || *c == '_' || *c == '.')
            fs_buf_putc(&b, (char)*c);
        else if (*c == ' ')
            fs_buf_putc(&b, '+');
        else
            fs_buf_printf(&b, "%%%02X", *c);
    }
    size_t n;
    return fs_buf_detach(&b, &n);
}

static int interaction(const char *json, struct fs_slack_action *a)
{
    char *body = form_payload(json);
    struct fs_err err;
    int rc = fs_slack_parse_interaction(body, strlen(body), a, &err);
    free(body);
    return rc;
}

static void test_interaction_payloads(void **state)
{
    (void)state;
    struct fs_slack_action a;
    assert_int_equal(
        interaction("{\"type\":\"block_actions\",\"user\":{\"id\":\"U1\",\"username\":\"alice\"},"
                    "\"team\":{\"id\":\"T1\"},\"channel\":{\"id\":\"C1\"},"
                    "\"container\":{\"type\":\"message\",\"message_ts\":\"1700000000.000100\"},"
                    "\"response_url\":\"https://hooks.slack.com/actions/T1/1/abc\","
                    "\"actions\":[{\"type\":\"button\",\"action_id\":\"approve\",\"block_id\":"
                    "\"prop-7\",\"value\":\"prop-7\",\"action_ts\":\"1700000001.1\"}]}",
                    &a),
        0);
    assert_int_equal(a.verb, FS_SLACK_APPROVE);
    assert_int_equal(a.proposal_id, 7);
    assert_string_equal(a.user_id, "U1");
    assert_string_equal(a.user_name, "alice");
    assert_string_equal(a.channel_id, "C1");
    assert_string_equal(a.message_ts, "1700000000.000100");
    assert_string_equal(a.response_url, "https://hooks.slack.com/actions/T1/1/abc");
    assert_int_equal(interaction("{\"type\":\"block_actions\",\"user\":{\"id\":\"U1\"},"
                                 "\"actions\":[{\"action_id\":\"force_override\",\"value\":"
                                 "\"prop-12\"}]}",
                                 &a),
                     0);
    assert_int_equal(a.verb, FS_SLACK_FORCE);
    assert_int_equal(a.proposal_id, 12);
    assert_int_equal(interaction("{\"type\":\"block_actions\",\"user\":{\"id\":\"U1\"},"
                                 "\"actions\":[{\"action_id\":\"reject\",\"value\":\"prop-3\"}]}",
                                 &a),
                     0);
    assert_int_equal(a.verb, FS_SLACK_REJECT);
    /* the link button decides nothing; neither does another kind of interaction */
    assert_int_equal(interaction("{\"type\":\"block_actions\",\"user\":{\"id\":\"U1\"},"
                                 "\"actions\":[{\"action_id\":\"open\",\"value\":\"prop-3\"}]}",
                                 &a),
                     0);
    assert_int_equal(a.verb, FS_SLACK_NONE);
    assert_int_equal(interaction("{\"type\":\"view_submission\"}", &a), 0);
    assert_int_equal(a.verb, FS_SLACK_NONE);
    /* malformed: no user, a value that is not prop-N, not JSON, no payload field */
    assert_int_equal(interaction("{\"type\":\"block_actions\",\"actions\":[{\"action_id\":"
                                 "\"approve\",\"value\":\"prop-3\"}]}",
                                 &a),
                     -FS_E_INVALID_PAYLOAD);
    static const char *const bad_values[] = {"prop-", "prop-0", "prop-3x", "3", "prop--3", "inc-3"};
    for (size_t i = 0; i < FS_ARRAY_LEN(bad_values); i++) {
        char json[300];
        snprintf(json, sizeof(json),
                 "{\"type\":\"block_actions\",\"user\":{\"id\":\"U1\"},\"actions\":[{"
                 "\"action_id\":\"approve\",\"value\":\"%s\"}]}",
                 bad_values[i]);
        assert_int_equal(interaction(json, &a), -FS_E_INVALID_PAYLOAD);
    }
    assert_true(interaction("{not json", &a) < 0);
    struct fs_err err;
    assert_int_equal(fs_slack_parse_interaction("a=b", 3, &a, &err), -FS_E_INVALID_PAYLOAD);
}

static int event(const char *json, struct fs_slack_event *ev)
{
    struct fs_err err;
    return fs_slack_parse_event(json, strlen(json), ev, &err);
}

#define REPLY(text, extra)                                                                         \
    "{\"type\":\"event_callback\",\"event_id\":\"Ev1\",\"event\":{\"type\":\"message\","           \
    "\"channel\":\"C1\",\"user\":\"U2\",\"text\":\"" text "\",\"ts\":\"1700000005.000200\","       \
    "\"thread_ts\":\"1700000000.000100\"" extra "}}"

static void test_events(void **state)
{
    (void)state;
    struct fs_slack_event ev;
    assert_int_equal(event("{\"token\":\"t\",\"challenge\":\"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALW"
                           "MmHkvFXO7tYXAYM8P\",\"type\":\"url_verification\"}",
                           &ev),
                     0);
    assert_int_equal(ev.kind, FS_SLACK_EV_CHALLENGE);
    assert_string_equal(ev.challenge, "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P");
    assert_int_equal(event(REPLY("APPROVE", ""), &ev), 0);
    assert_int_equal(ev.kind, FS_SLACK_EV_REPLY);
    assert_int_equal(ev.verb, FS_SLACK_APPROVE);
    assert_string_equal(ev.event_id, "Ev1");
    assert_string_equal(ev.user_id, "U2");
    assert_string_equal(ev.channel_id, "C1");
    assert_string_equal(ev.thread_ts, "1700000000.000100");
    assert_int_equal(event(REPLY(" FORCE_OVERRIDE\\n", ""), &ev), 0);
    assert_int_equal(ev.verb, FS_SLACK_FORCE);
    assert_int_equal(event(REPLY("APPROVE", ",\"subtype\":\"thread_broadcast\""), &ev), 0);
    assert_int_equal(ev.kind, FS_SLACK_EV_REPLY);
    /* ignored: bots (ourselves), edits, other words, conversation, top-level messages */
    assert_int_equal(event(REPLY("APPROVE", ",\"bot_id\":\"B1\""), &ev), 0);
    assert_int_equal(ev.kind, FS_SLACK_EV_IGNORE);
    assert_int_equal(event(REPLY("APPROVE", ",\"subtype\":\"message_changed\""), &ev), 0);
    assert_int_equal(ev.kind, FS_SLACK_EV_IGNORE);
    assert_int_equal(event(REPLY("approve", ""), &ev), 0);
    assert_int_equal(ev.kind, FS_SLACK_EV_IGNORE);
    assert_int_equal(event(REPLY("I would not APPROVE this", ""), &ev), 0);
    assert_int_equal(ev.kind, FS_SLACK_EV_IGNORE);
    assert_int_equal(event("{\"type\":\"event_callback\",\"event\":{\"type\":\"message\","
                           "\"user\":\"U2\",\"text\":\"APPROVE\",\"ts\":\"1.1\"}}",
                           &ev),
                     0);
    assert_int_equal(ev.kind, FS_SLACK_EV_IGNORE);
    assert_int_equal(event("{\"type\":\"event_callback\",\"event\":{\"type\":\"message\","
                           "\"user\":\"U2\",\"text\":\"APPROVE\",\"ts\":\"1.1\",\"thread_ts\":"
                           "\"1.1\"}}",
                           &ev),
                     0);
    assert_int_equal(ev.kind, FS_SLACK_EV_IGNORE);
    assert_int_equal(event("{\"type\":\"app_rate_limited\"}", &ev), 0);
    assert_int_equal(ev.kind, FS_SLACK_EV_IGNORE);
    assert_true(event("[]", &ev) < 0);
    assert_true(event("{\"type\":\"url_verification\"}", &ev) < 0);
    assert_int_equal(fs_slack_reply_verb("APPROVE"), FS_SLACK_APPROVE);
    assert_int_equal(fs_slack_reply_verb("\t APPROVE \r\n"), FS_SLACK_APPROVE);
    assert_int_equal(fs_slack_reply_verb("APPROVED"), FS_SLACK_NONE);
    assert_int_equal(fs_slack_reply_verb("force_override"), FS_SLACK_NONE);
    assert_int_equal(fs_slack_reply_verb(NULL), FS_SLACK_NONE);
}

/* The elements of the actions block of a message, or NULL. */
static json_t *actions_of(json_t *msg)
{
    size_t i;
    json_t *b;
    json_array_foreach(json_object_get(msg, "blocks"), i, b)
    {
        if (!strcmp(json_string_value(json_object_get(b, "type")), "actions"))
            return json_object_get(b, "elements");
    }
    return NULL;
}

static json_t *button_of(json_t *msg, const char *action_id)
{
    size_t i;
    json_t *e;
    json_array_foreach(actions_of(msg), i, e)
    {
        if (!strcmp(json_string_value(json_object_get(e, "action_id")), action_id))
            return e;
    }
    return NULL;
}

static json_t *pending_notice_data(const char *decision)
{
    return json_pack(
        "{s:{s:s,s:s,s:s,s:s,s:s},s:{s:s,s:s,s:{s:s},s:{s:s},s:s,s:i,s:[{s:s,s:i,s:s}],s:[s],"
        "s:s,s:f,s:{s:[s,s],s:[]}},s:{s:s,s:s}}",
        "incident", "id", "inc-3", "title", "Disk <!channel> filling & more", "severity", "warning",
        "state", "awaiting_approval", "summary", "95% in ~4h", "proposal", "id", "prop-9", "action",
        "journal_vacuum", "params", "max_size", "100M", "target", "host", "node1", "decision",
        decision, "score", 35, "contributions", "factor", "baseline", "points", 20, "detail",
        "tier 1 action", "reasons", "mode supervised: a person decides", "rationale",
        "the journal holds 3 GiB", "confidence", 0.82, "evidence", "cited", "obs-1", "obs-2",
        "contradicting", "ticket", "key", "OPS-12", "url", "https://jira.example/browse/OPS-12");
}

static void test_block_kit_pending(void **state)
{
    (void)state;
    json_t *data = pending_notice_data("needs_approval");
    struct fs_notice n = {.id = 1,
                          .event = "proposal_pending",
                          .incident_id = 3,
                          .proposal_id = 9,
                          .data = data,
                          .link = "https://forestall.example/ui/#/incidents/inc-3"};
    json_t *msg = fs_slack_message(&n);
    assert_non_null(msg);
    /* a fallback text, blocks of known types, each section within Slack's limit */
    assert_true(strlen(json_string_value(json_object_get(msg, "text"))) > 0);
    size_t i;
    json_t *b;
    char *all = json_dumps(msg, 0);
    json_array_foreach(json_object_get(msg, "blocks"), i, b)
    {
        const char *t = json_string_value(json_object_get(b, "type"));
        assert_true(!strcmp(t, "header") || !strcmp(t, "section") || !strcmp(t, "actions"));
        const char *text = json_string_value(json_object_get(json_object_get(b, "text"), "text"));
        if (!strcmp(t, "section"))
            assert_true(text && strlen(text) <= 3000);
    }
    /* the content: action, params, score and contributions, reasons, evidence, confidence,
     * ticket, deep link; untrusted text escaped (no mention, no injected link) */
    const char *want[] = {
        "journal_vacuum", "max_size",        "Risk score 35",
        "tier 1 action",  "mode supervised", "0.82",
        "OPS-12",         "inc-3",           "&lt;!channel&gt; filling &amp; more"};
    for (size_t k = 0; k < FS_ARRAY_LEN(want); k++)
        assert_non_null(strstr(all, want[k]));
    assert_null(strstr(all, "<!channel>"));
    assert_non_null(strstr(all, "2 cited"));
    free(all);
    json_t *ap = button_of(msg, "approve"), *rj = button_of(msg, "reject");
    assert_non_null(ap);
    assert_non_null(rj);
    assert_string_equal(json_string_value(json_object_get(ap, "value")), "prop-9");
    assert_string_equal(json_string_value(json_object_get(ap, "style")), "primary");
    assert_string_equal(json_string_value(json_object_get(rj, "value")), "prop-9");
    assert_null(button_of(msg, "force_override"));
    json_t *open = button_of(msg, "open");
    assert_string_equal(json_string_value(json_object_get(open, "url")), n.link);
    json_decref(msg);
    json_decref(data);

    /* critical: Force override (with a confirmation), no Approve */
    data = pending_notice_data("needs_force_override");
    n.data = data;
    msg = fs_slack_message(&n);
    assert_null(button_of(msg, "approve"));
    json_t *fo = button_of(msg, "force_override");
    assert_non_null(fo);
    assert_string_equal(json_string_value(json_object_get(fo, "value")), "prop-9");
    assert_non_null(json_object_get(fo, "confirm"));
    assert_non_null(button_of(msg, "reject"));
    json_decref(msg);
    json_decref(data);
}

static void test_block_kit_other_events(void **state)
{
    (void)state;
    json_t *data =
        json_pack("{s:{s:s,s:s},s:{s:s,s:s,s:s},s:s,s:s}", "incident", "id", "inc-3", "title",
                  "Disk filling", "proposal", "id", "prop-9", "action", "journal_vacuum",
                  "decision", "needs_approval", "actor", "alice", "channel", "slack");
    struct fs_notice n = {.event = "decision",
                          .incident_id = 3,
                          .proposal_id = 9,
                          .data = data,
                          .link = "http://127.0.0.1:9797/ui/#/incidents/inc-3"};
    json_t *msg = fs_slack_message(&n);
    assert_null(button_of(msg, "approve"));
    assert_null(button_of(msg, "reject"));
    assert_non_null(button_of(msg, "open"));
    char *all = json_dumps(msg, 0);
    assert_non_null(strstr(all, "alice"));
    free(all);
    json_decref(msg);
    json_decref(data);
}

static int problems;
static void count_problem(void *arg, const char *key, const char *msg)
{
    (void)arg;
    (void)key;
    (void)msg;
    problems++;
}

static int check_conf(const char *yamlish_json)
{
    json_t *c = json_loads(yamlish_json, 0, NULL);
    assert_non_null(c);
    problems = 0;
    int n = fs_channel_slack.check(c, count_problem, NULL);
    json_decref(c);
    assert_int_equal(n, problems);
    return n;
}

static void test_config_check(void **state)
{
    (void)state;
    assert_string_equal(fs_channel_slack.type, "slack");
    assert_int_equal(check_conf("{\"name\":\"s\",\"type\":\"slack\",\"webhook_url\":{\"env\":"
                                "\"FORESTALL_SLACK_HOOK\"}}"),
                     0);
    assert_int_equal(check_conf("{\"name\":\"s\",\"type\":\"slack\",\"bot_token\":{\"file\":"
                                "\"/etc/forestall/slack\"},\"channel\":\"C1\",\"signing_secret\":"
                                "{\"env\":\"FORESTALL_SLACK_SIGNING\"},\"users\":{\"U1\":"
                                "\"alice\"},\"api_url\":\"http://127.0.0.1:1/api\"}"),
                     0);
    /* a secret written in the file, both ways of sending, neither, a token without a channel,
     * a typo, a user mapped to nothing */
    assert_true(check_conf("{\"webhook_url\":\"https://hooks.slack.com/services/x\"}") > 0);
    assert_true(check_conf("{\"webhook_url\":{\"env\":\"FORESTALL_A\"},\"bot_token\":{\"env\":"
                           "\"FORESTALL_B\"},\"channel\":\"C1\"}") > 0);
    assert_true(check_conf("{\"name\":\"s\"}") > 0);
    assert_true(check_conf("{\"bot_token\":{\"env\":\"FORESTALL_B\"}}") > 0);
    assert_true(check_conf("{\"webhook_url\":{\"env\":\"FORESTALL_A\"},\"singing_secret\":"
                           "{\"env\":\"FORESTALL_S\"}}") > 0);
    assert_true(check_conf("{\"webhook_url\":{\"env\":\"FORESTALL_A\"},\"signing_secret\":"
                           "{\"env\":\"FORESTALL_S\"},\"users\":{\"U1\":\"\"}}") > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_documented_example),
        cmocka_unit_test(test_wrong_signatures),
        cmocka_unit_test(test_timestamp_window),
        cmocka_unit_test(test_replay_guard),
        cmocka_unit_test(test_form_decoding),
        cmocka_unit_test(test_interaction_payloads),
        cmocka_unit_test(test_events),
        cmocka_unit_test(test_block_kit_pending),
        cmocka_unit_test(test_block_kit_other_events),
        cmocka_unit_test(test_config_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
