/* Unit tests for src/mcp: JSON-RPC parsing (a table of valid and invalid messages: kinds, ids
 * kept exactly, the error code that answers each invalid one), the builders and the one-line
 * encoding, the route and dispatch of server messages (pings answered, other server requests
 * refused with -32601, answers landing in the right waiting slot once), the stdio line framer
 * and the SSE parser (every message fed whole and byte by byte), and the client's failures
 * against scripted /bin/sh servers (unsupported version, exit or silence during initialize,
 * an overlong line, bad options, an unreachable URL). The reference servers are in
 * tests/integration/test_mcp_client.py. */
#include "unit.h"

#include <sys/wait.h>

#include "core/time.h"
#include "mcp/client.h"
#include "mcp/jsonrpc.h"

#define ARGV(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ---- parse ------------------------------------------------------------------------------- */

struct parse_case {
    const char *in;
    int rc;                    /* 0 or -FS_E_* */
    enum fs_jsonrpc_kind kind; /* when rc == 0 */
    int rpc_code;              /* when rc < 0 */
    const char *id;            /* the id as JSON text, NULL = none */
    const char *method;
};

static void test_parse_table(void **state)
{
    static const struct parse_case cases[] = {
        /* the four kinds, ids as sent */
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{}}", 0,
         FS_JSONRPC_REQUEST, 0, "1", "initialize"},
        {"{\"jsonrpc\":\"2.0\",\"id\":\"123\",\"method\":\"ping\"}", 0, FS_JSONRPC_REQUEST, 0,
         "\"123\"", "ping"},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\"}", 0,
         FS_JSONRPC_NOTIFICATION, 0, NULL, "notifications/tools/list_changed"},
        {"{\"result\":{\"tools\":[]},\"jsonrpc\":\"2.0\",\"id\":2}", 0, FS_JSONRPC_RESPONSE, 0, "2",
         NULL},
        {"{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":-32602,\"message\":\"Unknown tool\"}}",
         0, FS_JSONRPC_ERROR, 0, "3", NULL},
        {"{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"Parse\"}}", 0,
         FS_JSONRPC_ERROR, 0, NULL, NULL},
        {"  {\"jsonrpc\":\"2.0\",\"id\":-7,\"result\":{}}\r\n", 0, FS_JSONRPC_RESPONSE, 0, "-7",
         NULL},
        /* an integer beyond doubles' exact range stays exact */
        {"{\"jsonrpc\":\"2.0\",\"id\":9007199254740993,\"result\":{}}", 0, FS_JSONRPC_RESPONSE, 0,
         "9007199254740993", NULL},
        {"{\"jsonrpc\":\"2.0\",\"id\":\"\",\"method\":\"x\"}", 0, FS_JSONRPC_REQUEST, 0, "\"\"",
         "x"},
        /* not JSON */
        {"", -FS_E_INVALID_JSON, 0, FS_JSONRPC_PARSE_ERROR, NULL, NULL},
        {"{\"jsonrpc\":\"2.0\",", -FS_E_INVALID_JSON, 0, FS_JSONRPC_PARSE_ERROR, NULL, NULL},
        {"\xff\xfe", -FS_E_INVALID_UTF8, 0, FS_JSONRPC_PARSE_ERROR, NULL, NULL},
        {"{\"id\":1,\"id\":2}", -FS_E_INVALID_JSON, 0, FS_JSONRPC_PARSE_ERROR, NULL, NULL},
        /* JSON, not JSON-RPC */
        {"[{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1}]", -FS_E_PROTOCOL, 0,
         FS_JSONRPC_INVALID_REQUEST, NULL, NULL},
        {"\"ping\"", -FS_E_PROTOCOL, 0, FS_JSONRPC_INVALID_REQUEST, NULL, NULL},
        {"{\"id\":1,\"method\":\"ping\"}", -FS_E_PROTOCOL, 0, FS_JSONRPC_INVALID_REQUEST, "1",
         NULL},
        {"{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}", -FS_E_PROTOCOL, 0,
         FS_JSONRPC_INVALID_REQUEST, "1", NULL},
        {"{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}", -FS_E_PROTOCOL, 0,
         FS_JSONRPC_INVALID_REQUEST, NULL, NULL},
        {"{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}", -FS_E_PROTOCOL, 0,
         FS_JSONRPC_INVALID_REQUEST, NULL, NULL},
        {"{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"ping\"}", -FS_E_PROTOCOL, 0,
         FS_JSONRPC_INVALID_REQUEST, NULL, NULL},
        {"{\"jsonrpc\":\"2.0\",\"id\":{},\"result\":{}}", -FS_E_PROTOCOL, 0,
         FS_JSONRPC_INVALID_REQUEST, NULL, NULL},
        {"{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"\"}", -FS_E_PROTOCOL, 0,
         FS_JSONRPC_INVALID_REQUEST, "4", NULL},
        {"{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":5}", -FS_E_PROTOCOL, 0,
         FS_JSONRPC_INVALID_REQUEST, "4", NULL},
        {"{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"m\",\"params\":[1]}", -FS_E_PROTOCOL, 0,
         FS_JSONRPC_INVALID_REQUEST, "4", NULL},
        {"{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"m\",\"result\":{}}", -FS_E_PROTOCOL, 0,
         FS_JSONRPC_INVALID_REQUEST, "5", NULL},
        {"{\"jsonrpc\":\"2.0\",\"id\":6,\"result\":{},\"error\":{\"code\":1,\"message\":\"\"}}",
         -FS_E_PROTOCOL, 0, FS_JSONRPC_INVALID_REQUEST, "6", NULL},
        {"{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":[]}", -FS_E_PROTOCOL, 0,
         FS_JSONRPC_INVALID_REQUEST, "7", NULL},
        {"{\"jsonrpc\":\"2.0\",\"id\":8,\"error\":{\"code\":1.5,\"message\":\"x\"}}",
         -FS_E_PROTOCOL, 0, FS_JSONRPC_INVALID_REQUEST, "8", NULL},
        {"{\"jsonrpc\":\"2.0\",\"id\":8,\"error\":{\"code\":1}}", -FS_E_PROTOCOL, 0,
         FS_JSONRPC_INVALID_REQUEST, "8", NULL},
        {"{\"jsonrpc\":\"2.0\",\"id\":9}", -FS_E_PROTOCOL, 0, FS_JSONRPC_INVALID_REQUEST, "9",
         NULL},
        {"{\"jsonrpc\":\"2.0\",\"result\":{}}", -FS_E_PROTOCOL, 0, FS_JSONRPC_INVALID_REQUEST, NULL,
         NULL},
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(cases); i++) {
        const struct parse_case *t = &cases[i];
        struct fs_jsonrpc_msg m;
        struct fs_err e = {0};
        int rc = fs_jsonrpc_parse(t->in, strlen(t->in), NULL, &m, &e);
        if (rc != t->rc)
            fail_msg("case %zu (%s): rc %d (%s), want %d", i, t->in, rc, e.msg, t->rc);
        if (rc == 0) {
            assert_int_equal(m.kind, t->kind);
        } else {
            assert_int_equal(m.kind, FS_JSONRPC_INVALID);
            assert_int_equal(m.rpc_code, t->rpc_code);
            assert_int_equal(e.code, -rc);
            assert_true(e.msg[0] != '\0');
        }
        if (t->id) {
            assert_non_null(m.id);
            char *s = json_dumps(m.id, JSON_ENCODE_ANY);
            if (strcmp(s, t->id))
                fail_msg("case %zu: id %s, want %s", i, s, t->id);
            free(s);
        } else {
            assert_null(m.id);
        }
        if (t->method)
            assert_string_equal(m.method, t->method);
        fs_jsonrpc_msg_release(&m);
        assert_null(m.root);
    }
}

static void test_parse_fields_and_limits(void **state)
{
    struct fs_jsonrpc_msg m;
    struct fs_err e = {0};
    const char *err = "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"error\":{\"code\":-32001,\"message\":"
                      "\"Session not found\",\"data\":{\"x\":1}}}";
    assert_int_equal(fs_jsonrpc_parse(err, strlen(err), NULL, &m, &e), 0);
    assert_int_equal(m.error_code, -32001);
    assert_string_equal(m.error_message, "Session not found");
    assert_true(json_is_object(m.error_data));
    fs_jsonrpc_msg_release(&m);

    /* size: over the limit is refused before parsing */
    const char *ok = "{\"jsonrpc\":\"2.0\",\"method\":\"m\"}";
    struct fs_jsonrpc_limits lim = {.max_bytes = strlen(ok)};
    assert_int_equal(fs_jsonrpc_parse(ok, strlen(ok), &lim, &m, &e), 0);
    fs_jsonrpc_msg_release(&m);
    lim.max_bytes = strlen(ok) - 1;
    assert_int_equal(fs_jsonrpc_parse(ok, strlen(ok), &lim, &m, &e), -FS_E_TOO_LARGE);
    assert_int_equal(m.rpc_code, FS_JSONRPC_INVALID_REQUEST);
    fs_jsonrpc_msg_release(&m);

    /* depth: params nested past the limit */
    char deep[512];
    int n = snprintf(deep, sizeof(deep), "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":");
    for (int i = 0; i < 10; i++)
        n += snprintf(deep + n, sizeof(deep) - (size_t)n, "{\"a\":");
    n += snprintf(deep + n, sizeof(deep) - (size_t)n, "1");
    for (int i = 0; i < 11; i++)
        n += snprintf(deep + n, sizeof(deep) - (size_t)n, "}");
    lim = (struct fs_jsonrpc_limits){.max_depth = 8};
    assert_int_equal(fs_jsonrpc_parse(deep, (size_t)n, &lim, &m, &e), -FS_E_TOO_DEEP);
    fs_jsonrpc_msg_release(&m);
    lim.max_depth = 20;
    assert_int_equal(fs_jsonrpc_parse(deep, (size_t)n, &lim, &m, &e), 0);
    fs_jsonrpc_msg_release(&m);

    /* a string id longer than 256 bytes is not an id */
    char longid[400];
    n = snprintf(longid, sizeof(longid), "{\"jsonrpc\":\"2.0\",\"id\":\"%0300d\",\"result\":{}}",
                 0);
    assert_int_equal(fs_jsonrpc_parse(longid, (size_t)n, NULL, &m, &e), -FS_E_PROTOCOL);
    assert_null(m.id);
    fs_jsonrpc_msg_release(&m);
    /* error messages quote no input bytes (only the method, cut and made printable) */
    const char *nasty = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\\u001b[31mx\",\"params\":7}";
    assert_int_equal(fs_jsonrpc_parse(nasty, strlen(nasty), NULL, &m, &e), -FS_E_PROTOCOL);
    for (const char *p = e.msg; *p; p++)
        assert_true((unsigned char)*p >= 0x20);
    fs_jsonrpc_msg_release(&m);
    fs_jsonrpc_msg_release(NULL);
}

static void expect_text(json_t *msg, const char *want)
{
    assert_non_null(msg);
    size_t len = 0;
    char *s = fs_jsonrpc_encode(msg, &len);
    assert_non_null(s);
    if (strcmp(s, want))
        fail_msg("encoded %s, want %s", s, want);
    assert_int_equal(len, strlen(want));
    free(s);
    json_decref(msg);
}

static void test_builders(void **state)
{
    json_t *one = json_integer(1), *sid = json_string("srv-1"), *real = json_real(1.5);
    expect_text(fs_jsonrpc_request(one, "ping", NULL),
                "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}");
    expect_text(
        fs_jsonrpc_request(sid, "tools/call", json_pack("{s:s}", "name", "echo")),
        "{\"jsonrpc\":\"2.0\",\"id\":\"srv-1\",\"method\":\"tools/call\",\"params\":{\"name\":"
        "\"echo\"}}");
    expect_text(fs_jsonrpc_notification("notifications/initialized", NULL),
                "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
    expect_text(fs_jsonrpc_result(sid, NULL),
                "{\"jsonrpc\":\"2.0\",\"id\":\"srv-1\",\"result\":{}}");
    expect_text(fs_jsonrpc_error(sid, FS_JSONRPC_METHOD_NOT_FOUND, NULL, NULL),
                "{\"jsonrpc\":\"2.0\",\"id\":\"srv-1\",\"error\":{\"code\":-32601,\"message\":"
                "\"Method not found\"}}");
    expect_text(fs_jsonrpc_error(NULL, FS_JSONRPC_PARSE_ERROR, "bad", json_true()),
                "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"bad\","
                "\"data\":true}}");
    /* a newline inside a string never reaches the line */
    expect_text(fs_jsonrpc_notification("m", json_pack("{s:s}", "t", "a\nb")),
                "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":{\"t\":\"a\\nb\"}}");
    /* refusals (stolen arguments are freed: the leak checker would see them otherwise) */
    assert_null(fs_jsonrpc_request(NULL, "ping", json_object()));
    assert_null(fs_jsonrpc_request(real, "ping", NULL));
    assert_null(fs_jsonrpc_request(one, "", NULL));
    assert_null(fs_jsonrpc_request(one, "m", json_array()));
    assert_null(fs_jsonrpc_result(real, json_object()));
    assert_null(fs_jsonrpc_result(one, json_array()));
    assert_null(fs_jsonrpc_error(real, 1, "x", json_null()));
    /* the codes' names */
    assert_string_equal(fs_jsonrpc_code_name(-32601), "Method not found");
    assert_string_equal(fs_jsonrpc_code_name(-32042), "URL elicitation required");
    assert_string_equal(fs_jsonrpc_code_name(-32050), "Server error");
    assert_string_equal(fs_jsonrpc_code_name(7), "Error");
    /* ids compare by kind and value */
    json_t *s1 = json_string("1");
    assert_false(fs_jsonrpc_id_equal(one, s1));
    assert_true(fs_jsonrpc_id_equal(one, one));
    assert_true(fs_jsonrpc_id_equal(sid, sid));
    json_decref(s1);
    json_decref(one);
    json_decref(sid);
    json_decref(real);
}

/* ---- route and dispatch ------------------------------------------------------------------- */

static void route_of(const char *in, struct fs_mcp_route *r)
{
    struct fs_jsonrpc_msg m;
    fs_jsonrpc_parse(in, strlen(in), NULL, &m, NULL);
    assert_int_equal(fs_mcp_route(&m, r), 0);
    fs_jsonrpc_msg_release(&m);
}

static void expect_reply(const char *in, const char *want)
{
    struct fs_mcp_route r;
    route_of(in, &r);
    assert_int_equal(r.kind, FS_MCP_ROUTE_REPLY);
    expect_text(r.reply, want);
    r.reply = NULL;
    fs_mcp_route_release(&r);
}

static void test_route(void **state)
{
    /* the server's ping is answered with {}; every other server request with -32601, the id
     * echoed exactly */
    expect_reply("{\"jsonrpc\":\"2.0\",\"id\":\"123\",\"method\":\"ping\"}",
                 "{\"jsonrpc\":\"2.0\",\"id\":\"123\",\"result\":{}}");
    expect_reply("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"ping\",\"params\":{}}",
                 "{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{}}");
    static const char *const refused[] = {"sampling/createMessage", "roots/list",
                                          "elicitation/create", "tasks/get", "x"};
    for (size_t i = 0; i < FS_ARRAY_LEN(refused); i++) {
        char in[200];
        snprintf(in, sizeof(in), "{\"jsonrpc\":\"2.0\",\"id\":\"s%zu\",\"method\":\"%s\"}", i,
                 refused[i]);
        char want[200];
        snprintf(want, sizeof(want),
                 "{\"jsonrpc\":\"2.0\",\"id\":\"s%zu\",\"error\":{\"code\":-32601,\"message\":"
                 "\"Method not found\"}}",
                 i);
        expect_reply(in, want);
    }
    /* an invalid request with a readable id gets -32600 */
    expect_reply("{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"m\",\"params\":[1]}",
                 "{\"jsonrpc\":\"2.0\",\"id\":9,\"error\":{\"code\":-32600,\"message\":"
                 "\"Invalid Request\"}}");

    static const struct {
        const char *in;
        enum fs_mcp_route_kind kind;
        int64_t call_id;
    } cases[] = {
        {"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\"}",
         FS_MCP_ROUTE_TOOLS_CHANGED, 0},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"info\","
         "\"data\":\"x\"}}",
         FS_MCP_ROUTE_LOG, 0},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{}}",
         FS_MCP_ROUTE_IGNORE, 0},
        /* a notification is never answered, even an unknown or ping-named one */
        {"{\"jsonrpc\":\"2.0\",\"method\":\"ping\"}", FS_MCP_ROUTE_IGNORE, 0},
        {"{\"jsonrpc\":\"2.0\",\"id\":42,\"result\":{}}", FS_MCP_ROUTE_RESPONSE, 42},
        {"{\"jsonrpc\":\"2.0\",\"id\":43,\"error\":{\"code\":-1,\"message\":\"m\"}}",
         FS_MCP_ROUTE_RESPONSE, 43},
        /* our ids are integers: a string id cannot be ours */
        {"{\"jsonrpc\":\"2.0\",\"id\":\"42\",\"result\":{}}", FS_MCP_ROUTE_IGNORE, 0},
        {"{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"x\"}}",
         FS_MCP_ROUTE_IGNORE, 0},
        /* a broken answer to our request fails that call */
        {"{\"jsonrpc\":\"2.0\",\"id\":44,\"result\":[]}", FS_MCP_ROUTE_BAD_RESPONSE, 44},
        {"{\"jsonrpc\":\"1.0\",\"id\":45,\"result\":{}}", FS_MCP_ROUTE_BAD_RESPONSE, 45},
        /* bytes we cannot read are never answered */
        {"not json", FS_MCP_ROUTE_IGNORE, 0},
        {"[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]", FS_MCP_ROUTE_IGNORE, 0},
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(cases); i++) {
        struct fs_mcp_route r;
        route_of(cases[i].in, &r);
        if (r.kind != cases[i].kind)
            fail_msg("case %zu (%s): route %d, want %d", i, cases[i].in, r.kind, cases[i].kind);
        assert_int_equal(r.call_id, cases[i].call_id);
        assert_null(r.reply);
        fs_mcp_route_release(&r);
    }
}

static void test_dispatch_slots(void **state)
{
    struct fs_mcp_slot s3 = {.id = 3}, s2 = {.id = 2, .next = &s3}, s1 = {.id = 1, .next = &s2};
    s2.done = true; /* timed out earlier */
    struct fs_mcp_route r;
    struct fs_mcp_slot *done;

    const char *res = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[]}}";
    assert_int_equal(fs_mcp_dispatch(&s1, res, strlen(res), NULL, &r, &done), 0);
    assert_ptr_equal(done, &s1);
    assert_true(s1.done);
    assert_int_equal(s1.rc, 0);
    assert_true(json_is_array(json_object_get(s1.result, "content")));
    json_decref(s1.result);
    s1.result = NULL;
    /* a second answer for the same id lands nowhere */
    assert_int_equal(fs_mcp_dispatch(&s1, res, strlen(res), NULL, &r, &done), 0);
    assert_null(done);
    assert_int_equal(r.kind, FS_MCP_ROUTE_RESPONSE);
    /* a late answer to a call that gave up */
    const char *late = "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{}}";
    assert_int_equal(fs_mcp_dispatch(&s1, late, strlen(late), NULL, &r, &done), 0);
    assert_null(done);
    assert_null(s2.result);
    /* an error answer: code kept, message sanitized (escape sequences and newlines gone) */
    const char *e = "{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":-32602,\"message\":"
                    "\"Unknown \\u001b[31mtool\\nx\"}}";
    assert_int_equal(fs_mcp_dispatch(&s1, e, strlen(e), NULL, &r, &done), 0);
    assert_ptr_equal(done, &s3);
    assert_int_equal(s3.rc, -FS_E_PROTOCOL);
    assert_int_equal(s3.rpc_code, -32602);
    assert_null(s3.result);
    assert_string_equal(s3.message, "error -32602 (Invalid params): Unknown tool x");

    /* a broken answer fails the waiting call, and says so */
    struct fs_mcp_slot s7 = {.id = 7};
    const char *bad = "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":\"ok\"}";
    assert_int_equal(fs_mcp_dispatch(&s7, bad, strlen(bad), NULL, &r, &done), 0);
    assert_ptr_equal(done, &s7);
    assert_int_equal(s7.rc, -FS_E_PROTOCOL);
    assert_non_null(strstr(s7.message, "invalid response"));
    /* a message over the limit that carried our id cannot be read: the call is not completed
     * (it times out) and nothing is answered */
    struct fs_mcp_slot s8 = {.id = 8};
    const char *big = "{\"jsonrpc\":\"2.0\",\"id\":8,\"result\":{\"x\":\"0123456789\"}}";
    struct fs_jsonrpc_limits lim = {.max_bytes = 20};
    assert_int_equal(fs_mcp_dispatch(&s8, big, strlen(big), &lim, &r, &done), 0);
    assert_null(done);
    assert_int_equal(r.kind, FS_MCP_ROUTE_IGNORE);
    /* a server request passes through to a reply, touching no slot */
    const char *ping = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}";
    s8.done = false;
    struct fs_mcp_slot s1b = {.id = 1};
    assert_int_equal(fs_mcp_dispatch(&s1b, ping, strlen(ping), NULL, &r, &done), 0);
    assert_null(done);
    assert_false(s1b.done);
    assert_int_equal(r.kind, FS_MCP_ROUTE_REPLY);
    fs_mcp_route_release(&r);
    /* with no slots at all */
    assert_int_equal(fs_mcp_dispatch(NULL, res, strlen(res), NULL, &r, &done), 0);
    assert_null(done);
}

/* ---- stdio lines -------------------------------------------------------------------------- */

static int collect_line(void *arg, const char *line, size_t len)
{
    struct fs_buf *b = arg;
    fs_buf_append(b, line, len);
    fs_buf_putc(b, '|');
    return 0;
}

static int stop_at_second(void *arg, const char *line, size_t len)
{
    int *n = arg;
    return ++*n == 2 ? 77 : 0;
}

static void test_lines(void **state)
{
    static const struct {
        const char *in;
        size_t max;
        const char *want;
        int rc;
    } cases[] = {
        {"{\"a\":1}\n{\"b\":2}\n", 64, "{\"a\":1}|{\"b\":2}|", 0},
        {"one\r\n\ntwo\r\n\r\n", 64, "one|two|", 0},
        {"no end yet", 64, "", 0},
        /* a line over the cap is dropped whole; the next one still arrives */
        {"short\n0123456789abcdef\nnext\n", 10, "short|next|", -FS_E_TOO_LARGE},
        {"0123456789\n", 10, "0123456789|", 0},
        {"0123456789a\n", 10, "", -FS_E_TOO_LARGE},
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(cases); i++) {
        /* whole, then one byte at a time: the same lines */
        for (int bytewise = 0; bytewise < 2; bytewise++) {
            struct fs_mcp_lines l;
            struct fs_buf got = FS_BUF_INIT(0);
            fs_mcp_lines_init(&l, cases[i].max);
            int rc = 0;
            size_t n = strlen(cases[i].in);
            if (!bytewise) {
                rc = fs_mcp_lines_feed(&l, cases[i].in, n, collect_line, &got);
            } else {
                for (size_t k = 0; k < n; k++) {
                    int r = fs_mcp_lines_feed(&l, cases[i].in + k, 1, collect_line, &got);
                    if (r)
                        rc = r;
                }
            }
            if (strcmp(fs_buf_str(&got), cases[i].want) || rc != cases[i].rc)
                fail_msg("case %zu bytewise=%d: got '%s' rc %d", i, bytewise, fs_buf_str(&got), rc);
            fs_buf_release(&got);
            fs_mcp_lines_release(&l);
        }
    }
    /* a callback's non-zero return stops at once */
    struct fs_mcp_lines l;
    int count = 0;
    fs_mcp_lines_init(&l, 0);
    assert_int_equal(fs_mcp_lines_feed(&l, "a\nb\nc\n", 6, stop_at_second, &count), 77);
    assert_int_equal(count, 2);
    fs_mcp_lines_release(&l);
}

/* ---- SSE ---------------------------------------------------------------------------------- */

static int collect_event(void *arg, const struct fs_sse_event *ev)
{
    struct fs_buf *b = arg;
    fs_buf_printf(b, "[%s|%s|%s]", ev->type, ev->data, ev->id);
    assert_int_equal(strlen(ev->data), ev->len);
    return 0;
}

static void test_sse(void **state)
{
    static const struct {
        const char *in;
        const char *want;
    } cases[] = {
        /* as the TypeScript SDK writes them: a priming event, then the answer */
        {"id: p1\nretry: 1000\ndata: \n\nid: e1\nevent: message\ndata: {\"id\":2}\n\n",
         "[message||p1][message|{\"id\":2}|e1]"},
        /* multi-line data joined with \n; CRLF and bare CR line ends */
        {"data: {\"a\":\r\ndata: 1}\r\n\r\n", "[message|{\"a\":\n1}|]"},
        {"data:x\rdata:  y\r\r", "[message|x\n y|]"},
        /* comments, unknown fields, a field without a colon */
        {": keep-alive\nfoo: bar\ndata\n\n", "[message||]"},
        /* the event type applies to one event; the id persists */
        {"event: other\nid: 7\ndata: a\n\ndata: b\n\n", "[other|a|7][message|b|7]"},
        /* no data: no event; an event cut off before its blank line: no event */
        {"event: message\nid: 9\n\ndata: never", ""},
        /* an id that cannot go back in a header is ignored; retry must be digits */
        {"id: ok\n\nid: bad\x01id\ndata: x\n\n", "[message|x|ok]"},
        /* a byte order mark at the start */
        {"\xEF\xBB\xBF"
         "data: bom\n\n",
         "[message|bom|]"},
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(cases); i++)
        for (int bytewise = 0; bytewise < 2; bytewise++) {
            struct fs_sse s;
            struct fs_buf got = FS_BUF_INIT(0);
            fs_sse_init(&s, 1024);
            size_t n = strlen(cases[i].in);
            if (!bytewise)
                assert_int_equal(fs_sse_feed(&s, cases[i].in, n, collect_event, &got), 0);
            else
                for (size_t k = 0; k < n; k++)
                    assert_int_equal(fs_sse_feed(&s, cases[i].in + k, 1, collect_event, &got), 0);
            if (strcmp(fs_buf_str(&got), cases[i].want))
                fail_msg("case %zu bytewise=%d: got '%s', want '%s'", i, bytewise, fs_buf_str(&got),
                         cases[i].want);
            fs_buf_release(&got);
            fs_sse_release(&s);
        }
    /* retry */
    struct fs_sse s;
    struct fs_buf got = FS_BUF_INIT(0);
    fs_sse_init(&s, 64);
    assert_int_equal(fs_sse_feed(&s, "retry: 1x\nretry: 250\n", 21, collect_event, &got), 0);
    assert_int_equal(s.retry_ms, 250);
    /* caps: a line or an event's data beyond max */
    char big[100];
    memset(big, 'x', sizeof(big));
    assert_int_equal(fs_sse_feed(&s, big, sizeof(big), collect_event, &got), -FS_E_TOO_LARGE);
    fs_sse_release(&s);
    fs_sse_init(&s, 64);
    for (int i = 0; i < 3; i++) {
        int rc = fs_sse_feed(&s, "data: 0123456789012345678901234\n", 32, collect_event, &got);
        assert_int_equal(rc, i < 2 ? 0 : -FS_E_TOO_LARGE);
    }
    fs_sse_release(&s);
    fs_buf_release(&got);
}

/* ---- the client against scripted servers -------------------------------------------------- */

/* A stdio "server" that reads the initialize request and answers with the given result. */
static int open_scripted(const char *script, int64_t connect_ms, size_t max_message,
                         struct fs_mcp_client **c, struct fs_err *e)
{
    struct fs_mcp_options o = {
        .name = "scripted",
        .argv = ARGV("/bin/sh", "-c", script),
        .connect_timeout_ms = connect_ms,
        .timeout_ms = 2000,
        .max_message = max_message,
        .backoff_ms = 50,
    };
    return fs_mcp_open(&o, c, e);
}

#define INIT_REPLY(ver)                                                                            \
    "read l; echo '{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"protocolVersion\":\"" ver           \
    "\",\"capabilities\":{},\"serverInfo\":{\"name\":\"sh\\u001b[2J\",\"version\":\"1\"}}}'; "

static void test_client_handshake_failures(void **state)
{
    struct fs_mcp_client *c = NULL;
    struct fs_err e = {0};
    /* a version this client does not speak */
    assert_int_equal(open_scripted(INIT_REPLY("1999-01-01") "read l; read l", 3000, 0, &c, &e),
                     -FS_E_PROTOCOL);
    assert_null(c);
    assert_non_null(strstr(e.msg, "1999-01-01"));
    assert_non_null(strstr(e.msg, "'scripted'"));
    /* the server exits during initialize: its stderr is quoted */
    assert_int_equal(open_scripted("read l; echo 'no such module' >&2; exit 4", 3000, 0, &c, &e),
                     -FS_E_CONNECT);
    assert_non_null(strstr(e.msg, "exit code 4"));
    assert_non_null(strstr(e.msg, "no such module"));
    /* silence: the connect timeout */
    int64_t t0 = fs_mono_ns();
    assert_int_equal(open_scripted("sleep 5", 300, 0, &c, &e), -FS_E_TIMEOUT);
    assert_true((fs_mono_ns() - t0) / 1000000 < 2500); /* 300 ms + the stop's grace */
    /* not a program */
    struct fs_mcp_options o = {.name = "x", .argv = ARGV("/nonexistent/server")};
    assert_int_equal(fs_mcp_open(&o, &c, &e), -FS_E_NOT_FOUND);
    /* the previous version is accepted; the server's name is sanitized */
    assert_int_equal(open_scripted(INIT_REPLY("2025-06-18") "read l; read l", 3000, 0, &c, &e), 0);
    struct fs_mcp_info in;
    fs_mcp_info(c, &in);
    assert_string_equal(in.protocol_version, "2025-06-18");
    assert_string_equal(in.server_name, "sh");
    assert_int_equal(in.starts, 1);
    assert_true(in.pid > 0);
    fs_mcp_close(c);
    fs_mcp_close(NULL);
    assert_true(waitpid(-1, NULL, WNOHANG) < 0); /* every server reaped */
}

static void test_client_overlong_line(void **state)
{
    /* after initialize, a line over max_message: the call fails at once, saying why, and the
     * server is stopped */
    struct fs_mcp_client *c = NULL;
    struct fs_err e = {0};
    const char *script = INIT_REPLY("2025-11-25") "read l; read l; "
                                                  "head -c 5000 /dev/zero | tr '\\0' x; echo; "
                                                  "sleep 10";
    assert_int_equal(open_scripted(script, 3000, 1024, &c, &e), 0);
    int64_t t0 = fs_mono_ns();
    assert_int_equal(fs_mcp_ping(c, 5000, &e), -FS_E_IO);
    assert_non_null(strstr(e.msg, "longer than 1024 bytes"));
    assert_true((fs_mono_ns() - t0) / 1000000 < 4000);
    struct fs_mcp_info in;
    fs_mcp_info(c, &in);
    assert_int_equal(in.crashes, 1);
    fs_mcp_close(c);
}

static void test_client_options(void **state)
{
    struct fs_mcp_client *c = NULL;
    struct fs_err e = {0};
    const struct {
        struct fs_mcp_options o;
        const char *field;
    } bad[] = {
        {{.argv = ARGV("/bin/true")}, "name"},
        {{.name = "a\nb", .argv = ARGV("/bin/true")}, "name"},
        {{.name = "s"}, "command"},
        {{.name = "h", .transport = FS_MCP_HTTP, .url = "ftp://x/mcp"}, "url"},
        {{.name = "h", .transport = FS_MCP_HTTP, .url = "http://x/ mcp"}, "url"},
        {{.name = "h",
          .transport = FS_MCP_HTTP,
          .url = "http://127.0.0.1:1/mcp",
          .headers = ARGV("X-Ok: 1", "Injected: a\r\nHost: evil")},
         "headers"},
        {{.name = "h",
          .transport = FS_MCP_HTTP,
          .url = "http://127.0.0.1:1/mcp",
          .headers = ARGV("no colon")},
         "headers"},
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(bad); i++) {
        assert_int_equal(fs_mcp_open(&bad[i].o, &c, &e), -FS_E_INVALID);
        assert_string_equal(e.path, bad[i].field);
        assert_null(c);
    }
    /* nothing listens: a connection error, promptly */
    struct fs_mcp_options o = {.name = "h",
                               .transport = FS_MCP_HTTP,
                               .url = "http://127.0.0.1:1/mcp",
                               .connect_timeout_ms = 2000};
    assert_int_equal(fs_mcp_open(&o, &c, &e), -FS_E_CONNECT);
    assert_non_null(strstr(e.msg, "'h'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_table),
        cmocka_unit_test(test_parse_fields_and_limits),
        cmocka_unit_test(test_builders),
        cmocka_unit_test(test_route),
        cmocka_unit_test(test_dispatch_slots),
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_sse),
        cmocka_unit_test(test_client_handshake_failures),
        cmocka_unit_test(test_client_overlong_line),
        cmocka_unit_test(test_client_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
