/* Unit tests for the language-model providers (src/llm): each provider's rendering of one
 * neutral conversation (tool names mapped, tool results grouped, stop reasons, tool_choice) and
 * parsing of fixed bodies (text, several tool calls, unknown blocks and tools, bad arguments,
 * malformed bodies, errors in a 2xx); error mapping to codes (context too long, auth, unknown
 * model) with no secret in a message; tool-name mapping round trip and collisions; backoff and
 * Retry-After; the replay transcript; the configuration (llm.* keys and the FORESTALL_LLM_*
 * overrides); and the HTTP exchange against a small libmicrohttpd server in this process:
 * retries, x-should-retry, timeouts, a refused port, redaction of registered and pattern
 * secrets from the body actually sent, and Bedrock's SigV4 — libcurl's signer reproducing AWS's
 * published example, and the provider's signature (fixed credentials, date and body) equal to
 * an independent computation from the AWS spec with the double-encoded path. The stand-in for
 * whole conversations is tests/integration/standin_llm.py. */
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <microhttpd.h>

#include "core/config.h"
#include "core/hash.h"
#include "core/redact.h"
#include "llm/llm_int.h"

static char tmpdir[] = "/tmp/fs-llm-test-XXXXXX";

static json_t *J(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &je);
    if (!j)
        fail_msg("bad test JSON %s: %s", text, je.text);
    return j;
}

static const char *write_file(const char *name, const char *text)
{
    static char path[8][512];
    static int k;
    char *p = path[k++ % 8];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

/* ---- the in-process server ----------------------------------------------------------------- */

struct step {
    unsigned status;
    const char *body;
    const char *hname, *hvalue; /* one extra response header, or NULL */
    int delay_ms;
};

#define MAX_SEEN 16
struct seen {
    char uri[1024];
    char method[16];
    char *body;
    int nh;
    char hk[32][64];
    char hv[32][2048];
};

static struct MHD_Daemon *mhd;
static int port;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct step script[MAX_SEEN];
static int nscript;
static struct seen seen[MAX_SEEN];
static int nseen;

struct upload {
    char uri[1024];
    struct fs_buf body;
    bool started;
};

static void serve(const struct step *steps, int n)
{
    pthread_mutex_lock(&mu);
    for (int i = 0; i < nseen; i++)
        free(seen[i].body);
    memset(seen, 0, sizeof(seen));
    nseen = 0;
    nscript = n;
    if (n)
        memcpy(script, steps, sizeof(*steps) * (size_t)n);
    pthread_mutex_unlock(&mu);
}

static void *uri_log(void *cls, const char *uri, struct MHD_Connection *c)
{
    struct upload *u = calloc(1, sizeof(*u));
    snprintf(u->uri, sizeof(u->uri), "%s", uri); /* as it travelled, not unescaped */
    fs_buf_init(&u->body, 1 << 22);
    return u;
}

static enum MHD_Result keep_header(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
    struct seen *s = cls;
    if (s->nh < 32) {
        snprintf(s->hk[s->nh], sizeof(s->hk[0]), "%s", k);
        snprintf(s->hv[s->nh], sizeof(s->hv[0]), "%s", v ? v : "");
        s->nh++;
    }
    return MHD_YES;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *size, void **state)
{
    struct upload *u = *state;
    if (!u->started) {
        u->started = true;
        return MHD_YES;
    }
    if (*size) {
        fs_buf_append(&u->body, data, *size);
        *size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&mu);
    int k = nseen < MAX_SEEN ? nseen++ : MAX_SEEN - 1;
    struct seen *s = &seen[k];
    snprintf(s->uri, sizeof(s->uri), "%s", u->uri);
    snprintf(s->method, sizeof(s->method), "%s", method);
    s->body = strdup(fs_buf_str(&u->body));
    MHD_get_connection_values(c, MHD_HEADER_KIND, keep_header, s);
    struct step st =
        nscript ? script[k < nscript ? k : nscript - 1] : (struct step){404, "{}", NULL, NULL, 0};
    pthread_mutex_unlock(&mu);
    if (st.delay_ms)
        usleep((useconds_t)st.delay_ms * 1000);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(st.body), (void *)st.body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (st.hname)
        MHD_add_response_header(r, st.hname, st.hvalue);
    enum MHD_Result ret = MHD_queue_response(c, st.status, r);
    MHD_destroy_response(r);
    return ret;
}

static void done(void *cls, struct MHD_Connection *c, void **state,
                 enum MHD_RequestTerminationCode toe)
{
    struct upload *u = *state;
    if (u) {
        fs_buf_release(&u->body);
        free(u);
    }
    *state = NULL;
}

/* the value of a header the server saw in request k (first of its name), or NULL */
static const char *hdr(int k, const char *name)
{
    for (int i = 0; i < seen[k].nh; i++)
        if (!strcasecmp(seen[k].hk[i], name))
            return seen[k].hv[i];
    return NULL;
}

static int hdr_count(int k, const char *name)
{
    int n = 0;
    for (int i = 0; i < seen[k].nh; i++)
        n += !strcasecmp(seen[k].hk[i], name);
    return n;
}

static int setup(void **state)
{
    if (!mkdtemp(tmpdir))
        return -1;
    static struct sockaddr_in lo = {.sin_family = AF_INET};
    lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL,
                           NULL, handle, NULL, MHD_OPTION_NOTIFY_COMPLETED, done, NULL,
                           MHD_OPTION_URI_LOG_CALLBACK, uri_log, NULL, MHD_OPTION_SOCK_ADDR,
                           (struct sockaddr *)&lo, MHD_OPTION_END);
    if (!mhd)
        return -1;
    port = MHD_get_daemon_info(mhd, MHD_DAEMON_INFO_BIND_PORT)->port;
    /* no AWS or LLM settings of the machine running the tests */
    static const char *const vars[] = {"AWS_ACCESS_KEY_ID",
                                       "AWS_SECRET_ACCESS_KEY",
                                       "AWS_SESSION_TOKEN",
                                       "AWS_PROFILE",
                                       "AWS_REGION",
                                       "AWS_DEFAULT_REGION",
                                       "AWS_BEARER_TOKEN_BEDROCK",
                                       "AWS_SHARED_CREDENTIALS_FILE",
                                       "AWS_CONFIG_FILE",
                                       "FORESTALL_LLM_PROVIDER",
                                       "FORESTALL_LLM_MODEL",
                                       "FORESTALL_LLM_BASE_URL",
                                       "FORESTALL_LLM_API_KEY",
                                       "FORESTALL_TEST_AWS_DATE",
                                       "http_proxy",
                                       "https_proxy",
                                       "HTTP_PROXY",
                                       "HTTPS_PROXY"};
    for (size_t i = 0; i < FS_ARRAY_LEN(vars); i++)
        unsetenv(vars[i]);
    setenv("HOME", tmpdir, 1);
    return 0;
}

static int teardown(void **state)
{
    MHD_stop_daemon(mhd);
    serve(NULL, 0);
    return 0;
}

static char *base_url(void)
{
    static char b[64];
    snprintf(b, sizeof(b), "http://127.0.0.1:%d", port);
    return b;
}

/* ---- a conversation every provider renders --------------------------------------------------- */

static json_t *conv_tools(void)
{
    return J("[{\"name\":\"host.fs_usage\",\"description\":\"Disk usage\",\"input_schema\":"
             "{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"}}}},"
             "{\"name\":\"prometheus.query\",\"description\":\"PromQL\",\"input_schema\":"
             "{\"type\":\"object\",\"properties\":{\"query\":{\"type\":\"string\"}}}}]");
}

static json_t *conv_messages(void)
{
    return J("[{\"role\":\"user\",\"content\":\"Disk alert on node1\"},"
             "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"Checking.\"},"
             "{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"host.fs_usage\","
             "\"input\":{\"path\":\"/\"}},"
             "{\"type\":\"tool_use\",\"id\":\"toolu_2\",\"name\":\"prometheus.query\","
             "\"input\":{\"query\":\"up\"}}]},"
             "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":"
             "\"toolu_1\",\"content\":\"91% used\"}]},"
             "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Also note X\"},"
             "{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_2\",\"content\":[{\"type\":"
             "\"text\",\"text\":\"up=1\"}],\"is_error\":true},{\"type\":\"thinking\"}]}]");
}

static struct fs_llm_config conf(enum fs_llm_provider p)
{
    struct fs_llm_config c = {.provider = p,
                              .model = "m-1",
                              .max_tokens = 321,
                              .temperature = -1,
                              .max_retries = 2,
                              .backoff_base_ms = 1,
                              .backoff_max_ms = 5,
                              .timeout_ms = 5000};
    return c;
}

static json_t *render(int (*fn)(const struct fs_llm_config *, const struct fs_llm_request *,
                                json_t **, struct fs_err *),
                      const struct fs_llm_config *c)
{
    json_t *msgs = conv_messages(), *tools = conv_tools(), *out = NULL;
    struct fs_llm_request rq = {"You are an SRE agent.", msgs, tools};
    struct fs_err err = {0};
    assert_int_equal(fs_llm_request_check(&rq, &err), 0);
    assert_int_equal(fn(c, &rq, &out, &err), 0);
    json_decref(msgs);
    json_decref(tools);
    return out;
}

static const char *jstr(const json_t *v, const char *path)
{
    /* "a.b[2].c" */
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    const json_t *cur = v;
    for (char *save = NULL, *p = strtok_r(buf, ".", &save); p && cur;
         p = strtok_r(NULL, ".", &save)) {
        char *br = strchr(p, '[');
        if (br)
            *br = '\0';
        if (*p)
            cur = json_object_get(cur, p);
        while (br && cur) {
            cur = json_array_get(cur, strtoul(br + 1, NULL, 10));
            br = strchr(br + 1, '[');
        }
    }
    if (!cur)
        return NULL;
    if (json_is_string(cur))
        return json_string_value(cur);
    static char num[64];
    if (json_is_integer(cur)) {
        snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(cur));
        return num;
    }
    if (json_is_boolean(cur))
        return json_is_true(cur) ? "true" : "false";
    if (json_is_null(cur))
        return "null";
    return "(container)";
}

static void test_render_anthropic(void **state)
{
    struct fs_llm_config c = conf(FS_LLM_ANTHROPIC);
    c.temperature = 0.5;
    json_t *b = render(fs_llm_anthropic_render, &c);
    assert_string_equal(jstr(b, "model"), "m-1");
    assert_string_equal(jstr(b, "max_tokens"), "321");
    assert_string_equal(jstr(b, "system"), "You are an SRE agent.");
    assert_string_equal(jstr(b, "tools[0].name"), "host_fs_usage");
    assert_string_equal(jstr(b, "tools[1].name"), "prometheus_query");
    assert_string_equal(jstr(b, "tools[0].input_schema.type"), "object");
    assert_string_equal(jstr(b, "tool_choice.type"), "auto");
    assert_true(json_real_value(json_object_get(b, "temperature")) == 0.5);
    json_t *m = json_object_get(b, "messages");
    assert_int_equal(json_array_size(m), 3); /* the two user turns merged */
    assert_string_equal(jstr(m, "[0].content[0].text"), "Disk alert on node1");
    assert_string_equal(jstr(m, "[1].content[1].name"), "host_fs_usage");
    assert_string_equal(jstr(m, "[1].content[2].input.query"), "up");
    /* every result first, in one user message; then the text; unknown blocks dropped */
    assert_string_equal(jstr(m, "[2].role"), "user");
    assert_int_equal(json_array_size(json_object_get(json_array_get(m, 2), "content")), 3);
    assert_string_equal(jstr(m, "[2].content[0].tool_use_id"), "toolu_1");
    assert_string_equal(jstr(m, "[2].content[0].is_error"), "false");
    assert_string_equal(jstr(m, "[2].content[1].tool_use_id"), "toolu_2");
    assert_string_equal(jstr(m, "[2].content[1].content"), "up=1");
    assert_string_equal(jstr(m, "[2].content[1].is_error"), "true");
    assert_string_equal(jstr(m, "[2].content[2].type"), "text");
    json_decref(b);
}

static void test_render_bedrock(void **state)
{
    struct fs_llm_config c = conf(FS_LLM_BEDROCK);
    json_t *b = render(fs_llm_bedrock_render, &c);
    assert_null(json_object_get(b, "model")); /* the model is in the path */
    assert_string_equal(jstr(b, "system[0].text"), "You are an SRE agent.");
    assert_string_equal(jstr(b, "inferenceConfig.maxTokens"), "321");
    assert_null(json_object_get(json_object_get(b, "inferenceConfig"), "temperature"));
    assert_string_equal(jstr(b, "toolConfig.tools[0].toolSpec.name"), "host_fs_usage");
    assert_string_equal(jstr(b, "toolConfig.tools[0].toolSpec.inputSchema.json.type"), "object");
    assert_non_null(
        json_object_get(json_object_get(json_object_get(b, "toolConfig"), "toolChoice"), "auto"));
    json_t *m = json_object_get(b, "messages");
    assert_int_equal(json_array_size(m), 3);
    assert_string_equal(jstr(m, "[0].content[0].text"), "Disk alert on node1");
    assert_string_equal(jstr(m, "[1].content[0].text"), "Checking.");
    assert_string_equal(jstr(m, "[1].content[1].toolUse.toolUseId"), "toolu_1");
    assert_string_equal(jstr(m, "[1].content[1].toolUse.name"), "host_fs_usage");
    assert_string_equal(jstr(m, "[1].content[2].toolUse.input.query"), "up");
    assert_string_equal(jstr(m, "[2].content[0].toolResult.toolUseId"), "toolu_1");
    assert_string_equal(jstr(m, "[2].content[0].toolResult.content[0].text"), "91% used");
    assert_string_equal(jstr(m, "[2].content[0].toolResult.status"), "success");
    assert_string_equal(jstr(m, "[2].content[1].toolResult.status"), "error");
    assert_string_equal(jstr(m, "[2].content[2].text"), "Also note X");
    json_decref(b);
}

static void test_render_openai(void **state)
{
    struct fs_llm_config c = conf(FS_LLM_OPENAI);
    json_t *b = render(fs_llm_openai_render, &c);
    assert_string_equal(jstr(b, "model"), "m-1");
    assert_string_equal(jstr(b, "max_tokens"), "321");
    assert_string_equal(jstr(b, "stream"), "false");
    assert_string_equal(jstr(b, "tool_choice"), "auto");
    assert_string_equal(jstr(b, "tools[0].type"), "function");
    assert_string_equal(jstr(b, "tools[0].function.name"), "host_fs_usage");
    assert_string_equal(jstr(b, "tools[1].function.parameters.type"), "object");
    json_t *m = json_object_get(b, "messages");
    assert_int_equal(json_array_size(m), 6);
    assert_string_equal(jstr(m, "[0].role"), "system");
    assert_string_equal(jstr(m, "[1].content"), "Disk alert on node1");
    assert_string_equal(jstr(m, "[2].role"), "assistant");
    assert_string_equal(jstr(m, "[2].content"), "Checking.");
    assert_string_equal(jstr(m, "[2].tool_calls[0].id"), "toolu_1");
    assert_string_equal(jstr(m, "[2].tool_calls[0].function.name"), "host_fs_usage");
    json_t *args = J(jstr(m, "[2].tool_calls[1].function.arguments"));
    assert_string_equal(jstr(args, "query"), "up"); /* arguments: a JSON string */
    json_decref(args);
    assert_string_equal(jstr(m, "[3].role"), "tool");
    assert_string_equal(jstr(m, "[3].tool_call_id"), "toolu_1");
    assert_string_equal(jstr(m, "[3].content"), "91% used");
    assert_string_equal(jstr(m, "[4].tool_call_id"), "toolu_2");
    assert_string_equal(jstr(m, "[4].content"), "ERROR: up=1");
    assert_string_equal(jstr(m, "[5].role"), "user");
    assert_string_equal(jstr(m, "[5].content"), "Also note X");
    json_decref(b);
    /* tool_choice: omitted when configured off, and for Ollama's port */
    c.omit_tool_choice = true;
    b = render(fs_llm_openai_render, &c);
    assert_null(json_object_get(b, "tool_choice"));
    assert_non_null(json_object_get(b, "tools"));
    json_decref(b);
    c.omit_tool_choice = false;
    c.base_url = "http://gpu-box:11434/v1";
    b = render(fs_llm_openai_render, &c);
    assert_null(json_object_get(b, "tool_choice"));
    json_decref(b);
}

static void test_render_ollama(void **state)
{
    struct fs_llm_config c = conf(FS_LLM_OLLAMA);
    c.temperature = 0;
    json_t *b = render(fs_llm_ollama_render, &c);
    assert_string_equal(jstr(b, "stream"), "false");
    assert_string_equal(jstr(b, "options.num_predict"), "321");
    assert_true(json_is_real(json_object_get(json_object_get(b, "options"), "temperature")));
    assert_null(json_object_get(b, "tool_choice"));
    json_t *m = json_object_get(b, "messages");
    assert_int_equal(json_array_size(m), 6);
    assert_string_equal(jstr(m, "[2].tool_calls[0].function.name"), "host_fs_usage");
    assert_string_equal(jstr(m, "[2].tool_calls[0].function.arguments.path"), "/");
    assert_string_equal(jstr(m, "[3].role"), "tool");
    assert_string_equal(jstr(m, "[3].tool_name"), "host_fs_usage");
    assert_string_equal(jstr(m, "[3].tool_call_id"), "toolu_1");
    assert_string_equal(jstr(m, "[4].tool_name"), "prometheus_query");
    assert_string_equal(jstr(m, "[4].content"), "ERROR: up=1");
    assert_string_equal(jstr(m, "[5].content"), "Also note X");
    json_decref(b);
}

static void test_request_check(void **state)
{
    struct fs_err err = {0};
    json_t *bad = J("[{\"role\":\"system\",\"content\":\"x\"}]");
    struct fs_llm_request rq = {NULL, bad, NULL};
    assert_int_equal(fs_llm_request_check(&rq, &err), -FS_E_INVALID);
    assert_string_equal(err.path, "messages[0].role");
    json_decref(bad);
    bad = J("[{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"a\"}]}]");
    rq.messages = bad;
    assert_int_equal(fs_llm_request_check(&rq, &err), -FS_E_INVALID);
    assert_string_equal(err.path, "messages[0].content[0].name");
    json_decref(bad);
    json_t *ok = J("[]"), *tools = J("[{\"name\":\"a.b\"},{\"name\":\"a.b\"}]");
    rq.messages = ok;
    rq.tools = tools;
    assert_int_equal(fs_llm_request_check(&rq, &err), -FS_E_INVALID);
    assert_non_null(strstr(err.msg, "offered twice"));
    json_decref(ok);
    json_decref(tools);
}

/* ---- parsing ------------------------------------------------------------------------------ */

static struct fs_llm_parse_ctx px_for(json_t *tools, int first)
{
    struct fs_llm_parse_ctx px = {tools, first, "asked-model"};
    return px;
}

typedef int (*parse_fn)(const struct fs_llm_parse_ctx *, const char *, size_t,
                        struct fs_llm_response *, struct fs_err *);

static int parse(parse_fn fn, json_t *tools, int first, const char *body,
                 struct fs_llm_response *rs, struct fs_err *err)
{
    memset(rs, 0, sizeof(*rs));
    struct fs_llm_parse_ctx px = px_for(tools, first);
    return fn(&px, body, strlen(body), rs, err);
}

static void test_parse_anthropic(void **state)
{
    json_t *tools = conv_tools();
    struct fs_llm_response rs;
    struct fs_err err = {0};
    assert_int_equal(
        parse(
            fs_llm_anthropic_parse, tools, 0,
            "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-x\","
            "\"content\":[{\"type\":\"thinking\",\"thinking\":\"hmm\",\"signature\":\"s\"},"
            "{\"type\":\"text\",\"text\":\"Looking.\"},"
            "{\"type\":\"tool_use\",\"id\":\"toolu_A\",\"name\":\"host_fs_usage\",\"input\":"
            "{\"path\":\"/var\"}},"
            "{\"type\":\"tool_use\",\"id\":\"toolu_B\",\"name\":\"prometheus_query\",\"input\":"
            "{\"query\":\"up\"}},"
            "{\"type\":\"tool_use\",\"id\":\"toolu_C\",\"name\":\"shell_exec\",\"input\":{}},"
            "{\"type\":\"server_tool_use\",\"id\":\"x\"}],"
            "\"stop_reason\":\"tool_use\",\"usage\":{\"input_tokens\":100,"
            "\"cache_read_input_tokens\":20,\"output_tokens\":7}}",
            &rs, &err),
        0);
    assert_int_equal(json_array_size(rs.content), 4);
    assert_string_equal(jstr(rs.content, "[0].text"), "Looking.");
    assert_string_equal(jstr(rs.content, "[1].name"), "host.fs_usage");
    assert_string_equal(jstr(rs.content, "[1].id"), "toolu_A");
    assert_string_equal(jstr(rs.content, "[1].input.path"), "/var");
    assert_string_equal(jstr(rs.content, "[2].name"), "prometheus.query");
    assert_string_equal(jstr(rs.content, "[3].name"), "shell_exec"); /* not offered: raw */
    assert_string_equal(rs.stop_reason, "tool_use");
    assert_int_equal(rs.input_tokens, 120);
    assert_int_equal(rs.output_tokens, 7);
    assert_string_equal(rs.model, "claude-x");
    fs_llm_response_release(&rs);

    static const char *const stops[][2] = {
        {"end_turn", "end_turn"},     {"stop_sequence", "end_turn"},
        {"max_tokens", "max_tokens"}, {"refusal", "refusal"},
        {"pause_turn", "other"},      {"model_context_window_exceeded", "max_tokens"}};
    for (size_t i = 0; i < FS_ARRAY_LEN(stops); i++) {
        char body[256];
        snprintf(body, sizeof(body),
                 "{\"content\":[{\"type\":\"text\",\"text\":\"x\"}],\"stop_reason\":\"%s\"}",
                 stops[i][0]);
        assert_int_equal(parse(fs_llm_anthropic_parse, tools, 0, body, &rs, &err), 0);
        assert_string_equal(rs.stop_reason, stops[i][1]);
        assert_string_equal(rs.model, "asked-model");
        fs_llm_response_release(&rs);
    }
    /* malformed */
    assert_int_equal(parse(fs_llm_anthropic_parse, tools, 0, "{\"content\":", &rs, &err),
                     -FS_E_PROTOCOL);
    assert_non_null(strstr(err.msg, "anthropic: the response is not valid JSON"));
    assert_null(rs.content);
    assert_int_equal(parse(fs_llm_anthropic_parse, tools, 0, "{\"content\":{}}", &rs, &err),
                     -FS_E_PROTOCOL);
    assert_non_null(strstr(err.msg, "content: expected an array"));
    assert_int_equal(parse(fs_llm_anthropic_parse, tools, 0, "[]", &rs, &err), -FS_E_PROTOCOL);
    assert_int_equal(parse(fs_llm_anthropic_parse, tools, 0,
                           "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
                           "\"message\":\"Overloaded\"}}",
                           &rs, &err),
                     -FS_E_PROTOCOL);
    assert_non_null(strstr(err.msg, "Overloaded"));
    json_decref(tools);
}

static void test_parse_bedrock(void **state)
{
    json_t *tools = conv_tools();
    struct fs_llm_response rs;
    struct fs_err err = {0};
    assert_int_equal(
        parse(fs_llm_bedrock_parse, tools, 0,
              "{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":["
              "{\"reasoningContent\":{\"reasoningText\":{\"text\":\"r\"}}},"
              "{\"text\":\"Let me check.\"},"
              "{\"toolUse\":{\"toolUseId\":\"tooluse_1\",\"name\":\"host_fs_usage\","
              "\"input\":{\"path\":\"/\"}}},"
              "{\"toolUse\":{\"name\":\"prometheus_query\",\"input\":{\"query\":\"up\"}}}]}},"
              "\"stopReason\":\"tool_use\",\"usage\":{\"inputTokens\":100,\"outputTokens\":20,"
              "\"totalTokens\":120},\"metrics\":{\"latencyMs\":812}}",
              &rs, &err),
        0);
    assert_int_equal(json_array_size(rs.content), 3);
    assert_string_equal(jstr(rs.content, "[1].name"), "host.fs_usage");
    assert_string_equal(jstr(rs.content, "[1].id"), "tooluse_1");
    assert_string_equal(jstr(rs.content, "[2].id"), "call_2"); /* synthesized */
    assert_string_equal(rs.stop_reason, "tool_use");
    assert_int_equal(rs.input_tokens, 100);
    assert_int_equal(rs.output_tokens, 20);
    assert_string_equal(rs.model, "asked-model");
    fs_llm_response_release(&rs);
    static const char *const stops[][2] = {{"guardrail_intervened", "refusal"},
                                           {"content_filtered", "refusal"},
                                           {"max_tokens", "max_tokens"},
                                           {"end_turn", "end_turn"},
                                           {"something_new", "other"}};
    for (size_t i = 0; i < FS_ARRAY_LEN(stops); i++) {
        char body[256];
        snprintf(body, sizeof(body),
                 "{\"output\":{\"message\":{\"content\":[{\"text\":\"x\"}]}},\"stopReason\":"
                 "\"%s\"}",
                 stops[i][0]);
        assert_int_equal(parse(fs_llm_bedrock_parse, tools, 0, body, &rs, &err), 0);
        assert_string_equal(rs.stop_reason, stops[i][1]);
        fs_llm_response_release(&rs);
    }
    assert_int_equal(parse(fs_llm_bedrock_parse, tools, 0, "{\"output\":{}}", &rs, &err),
                     -FS_E_PROTOCOL);
    assert_non_null(strstr(err.msg, "bedrock: output.message.content"));
    json_decref(tools);
}

static void test_parse_openai(void **state)
{
    json_t *tools = conv_tools();
    struct fs_llm_response rs;
    struct fs_err err = {0};
    assert_int_equal(
        parse(fs_llm_openai_parse, tools, 3,
              "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"model\":\"qwen\","
              "\"choices\":[{\"index\":0,\"finish_reason\":\"stop\",\"message\":{"
              "\"role\":\"assistant\",\"content\":null,\"reasoning_content\":\"...\","
              "\"tool_calls\":["
              "{\"id\":\"call_abc\",\"type\":\"function\",\"function\":{\"name\":\"host_fs_usage\","
              "\"arguments\":\"{\\\"path\\\":\\\"/srv\\\"}\"}},"
              "{\"type\":\"function\",\"function\":{\"name\":\"prometheus_query\","
              "\"arguments\":\"{\\\"query\\\": \"}},"
              "{\"id\":\"c3\",\"type\":\"function\",\"function\":{\"name\":\"host_fs_usage\","
              "\"arguments\":\"[1,2]\"}},"
              "{\"id\":\"c4\",\"type\":\"function\",\"function\":{\"name\":\"host_fs_usage\","
              "\"arguments\":\"\"}},"
              "{\"id\":\"c5\",\"type\":\"function\",\"function\":{\"name\":\"host_fs_usage\","
              "\"arguments\":{\"path\":\"/obj\"}}}]}}],"
              "\"usage\":{\"prompt_tokens\":50,\"completion_tokens\":9,\"total_tokens\":59}}",
              &rs, &err),
        0);
    assert_int_equal(json_array_size(rs.content), 5);
    assert_string_equal(jstr(rs.content, "[0].name"), "host.fs_usage");
    assert_string_equal(jstr(rs.content, "[0].input.path"), "/srv");
    assert_null(json_object_get(json_array_get(rs.content, 0), "input_error"));
    /* invalid JSON arguments: input {} and a note; a missing id numbered after the history */
    assert_string_equal(jstr(rs.content, "[1].id"), "call_5");
    assert_int_equal(json_object_size(json_object_get(json_array_get(rs.content, 1), "input")), 0);
    assert_non_null(strstr(jstr(rs.content, "[1].input_error"), "not a JSON object"));
    assert_non_null(strstr(jstr(rs.content, "[2].input_error"), "array"));
    assert_null(json_object_get(json_array_get(rs.content, 3), "input_error")); /* "" = {} */
    assert_string_equal(jstr(rs.content, "[4].input.path"), "/obj");
    assert_string_equal(rs.stop_reason, "tool_use"); /* tool calls whatever finish_reason says */
    assert_int_equal(rs.input_tokens, 50);
    assert_int_equal(rs.output_tokens, 9);
    assert_string_equal(rs.model, "qwen");
    fs_llm_response_release(&rs);

    assert_int_equal(parse(fs_llm_openai_parse, tools, 0,
                           "{\"choices\":[{\"finish_reason\":\"length\",\"message\":{\"content\":"
                           "[{\"type\":\"text\",\"text\":\"part one\"}]}}]}",
                           &rs, &err),
                     0);
    assert_string_equal(jstr(rs.content, "[0].text"), "part one");
    assert_string_equal(rs.stop_reason, "max_tokens");
    fs_llm_response_release(&rs);
    assert_int_equal(parse(fs_llm_openai_parse, tools, 0,
                           "{\"choices\":[{\"finish_reason\":\"content_filter\",\"message\":{"
                           "\"content\":\"no\"}}]}",
                           &rs, &err),
                     0);
    assert_string_equal(rs.stop_reason, "refusal");
    fs_llm_response_release(&rs);
    assert_int_equal(parse(fs_llm_openai_parse, tools, 0, "{\"choices\":[]}", &rs, &err),
                     -FS_E_PROTOCOL);
    assert_non_null(strstr(err.msg, "choices[0].message"));
    assert_int_equal(parse(fs_llm_openai_parse, tools, 0,
                           "{\"object\":\"error\",\"error\":{\"message\":\"server busy\"}}", &rs,
                           &err),
                     -FS_E_PROTOCOL);
    assert_non_null(strstr(err.msg, "server busy"));
    json_decref(tools);
}

static void test_parse_ollama(void **state)
{
    json_t *tools = conv_tools();
    struct fs_llm_response rs;
    struct fs_err err = {0};
    assert_int_equal(
        parse(fs_llm_ollama_parse, tools, 0,
              "{\"model\":\"qwen3\",\"created_at\":\"2026-08-01T10:00:00Z\",\"message\":{"
              "\"role\":\"assistant\",\"content\":\"\",\"thinking\":\"t\",\"tool_calls\":["
              "{\"function\":{\"index\":0,\"name\":\"host_fs_usage\",\"arguments\":{\"path\":"
              "\"/\"}}},"
              "{\"id\":\"o2\",\"function\":{\"index\":1,\"name\":\"prometheus_query\","
              "\"arguments\":\"{\\\"query\\\":\\\"up\\\"}\"}}]},"
              "\"done\":true,\"done_reason\":\"stop\",\"prompt_eval_count\":33,"
              "\"eval_count\":4}",
              &rs, &err),
        0);
    assert_int_equal(json_array_size(rs.content), 2); /* the empty text is dropped */
    assert_string_equal(jstr(rs.content, "[0].id"), "call_1");
    assert_string_equal(jstr(rs.content, "[0].name"), "host.fs_usage");
    assert_string_equal(jstr(rs.content, "[1].input.query"), "up");
    assert_string_equal(rs.stop_reason, "tool_use");
    assert_int_equal(rs.input_tokens, 33);
    assert_int_equal(rs.output_tokens, 4);
    assert_string_equal(rs.model, "qwen3");
    fs_llm_response_release(&rs);
    assert_int_equal(parse(fs_llm_ollama_parse, tools, 0,
                           "{\"message\":{\"content\":\"cut\"},\"done_reason\":\"length\"}", &rs,
                           &err),
                     0);
    assert_string_equal(rs.stop_reason, "max_tokens");
    fs_llm_response_release(&rs);
    assert_int_equal(parse(fs_llm_ollama_parse, tools, 0,
                           "{\"error\":\"model \\\"x\\\" not found\"}", &rs, &err),
                     -FS_E_PROTOCOL);
    assert_non_null(strstr(err.msg, "not found"));
    json_decref(tools);
}

/* ---- errors and retries ------------------------------------------------------------------- */

static int map(enum fs_llm_provider p, long status, const char *body, const char *type_hdr,
               struct fs_err *err)
{
    return fs_llm_map_error(p, status, body, strlen(body), type_hdr, err);
}

static void test_error_mapping(void **state)
{
    struct fs_err err = {0};
    assert_int_equal(map(FS_LLM_ANTHROPIC, 401,
                         "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\","
                         "\"message\":\"invalid x-api-key\"},\"request_id\":\"req_1\"}",
                         NULL, &err),
                     -FS_E_UNAUTHORIZED);
    assert_non_null(strstr(err.msg, "anthropic: HTTP 401 authentication_error: invalid x-api-key"));
    assert_int_equal(map(FS_LLM_ANTHROPIC, 400,
                         "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\","
                         "\"message\":\"prompt is too long: 210000 tokens > 200000 maximum\"}}",
                         NULL, &err),
                     -FS_E_TOO_LARGE);
    assert_int_equal(map(FS_LLM_ANTHROPIC, 400,
                         "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\","
                         "\"message\":\"messages: roles must alternate\"}}",
                         NULL, &err),
                     -FS_E_INVALID);
    assert_non_null(strstr(err.msg, "roles must alternate"));
    assert_int_equal(map(FS_LLM_OPENAI, 400,
                         "{\"error\":{\"message\":\"This model's maximum context length is 8192 "
                         "tokens\",\"type\":\"invalid_request_error\",\"code\":"
                         "\"context_length_exceeded\"}}",
                         NULL, &err),
                     -FS_E_TOO_LARGE);
    assert_int_equal(map(FS_LLM_OPENAI, 400,
                         "{\"object\":\"error\",\"message\":\"bad\",\"type\":\"BadRequestError\","
                         "\"code\":400}",
                         NULL, &err),
                     -FS_E_INVALID);
    assert_non_null(strstr(err.msg, "BadRequestError: bad"));
    assert_int_equal(map(FS_LLM_BEDROCK, 400,
                         "{\"message\":\"Input is too long for requested "
                         "model.\"}",
                         "ValidationException:http://internal.amazon.com/coral/", &err),
                     -FS_E_TOO_LARGE);
    assert_non_null(strstr(err.msg, "bedrock: HTTP 400 ValidationException: Input is too long"));
    assert_int_equal(map(FS_LLM_BEDROCK, 400, "{\"message\":\"Malformed input request\"}",
                         "ValidationException", &err),
                     -FS_E_INVALID);
    assert_int_equal(
        map(FS_LLM_BEDROCK, 403, "{\"Message\":\"denied\"}", "AccessDeniedException", &err),
        -FS_E_UNAUTHORIZED);
    assert_int_equal(map(FS_LLM_OLLAMA, 404,
                         "{\"error\":\"model \\\"llama9\\\" not found, try "
                         "pulling it first\"}",
                         NULL, &err),
                     -FS_E_NOT_FOUND);
    assert_non_null(strstr(err.msg, "llama9"));
    assert_int_equal(map(FS_LLM_ANTHROPIC, 413, "too big", NULL, &err), -FS_E_TOO_LARGE);
    assert_int_equal(map(FS_LLM_ANTHROPIC, 429, "{}", NULL, &err), -FS_E_OVERLOADED);
    assert_int_equal(map(FS_LLM_ANTHROPIC, 529, "{}", NULL, &err), -FS_E_OVERLOADED);
    assert_int_equal(map(FS_LLM_OPENAI, 408, "", NULL, &err), -FS_E_TIMEOUT);
    assert_int_equal(map(FS_LLM_OPENAI, 302, "", NULL, &err), -FS_E_PROTOCOL);
    assert_int_equal(
        map(FS_LLM_OPENAI, 502, "<html><body>502 Bad\nGateway\x1b[31m</body></html>", NULL, &err),
        -FS_E_OVERLOADED);
    assert_non_null(strstr(err.msg, "502 Bad Gateway"));
    assert_null(strchr(err.msg, '\x1b'));
    assert_null(strchr(err.msg, '\n'));
    /* a provider echoing the key: redacted (registered, and by its pattern) */
    const char *key = "sk-ant-api03-registeredKEY0123456789abcdefXYZ";
    assert_int_equal(fs_redact_register(key, "llm_api_key"), 0);
    char body[512];
    snprintf(body, sizeof(body),
             "{\"error\":{\"message\":\"Incorrect API key provided: %s and sk-proj-"
             "unregistered0123456789abcdefgh\"}}",
             key);
    assert_int_equal(map(FS_LLM_OPENAI, 401, body, NULL, &err), -FS_E_UNAUTHORIZED);
    assert_null(strstr(err.msg, "registeredKEY"));
    assert_null(strstr(err.msg, "unregistered0123456789"));
    assert_non_null(strstr(err.msg, "[REDACTED:"));
    fs_redact_clear_registered();
    /* too long: the phrases */
    assert_true(fs_llm_too_long("Prompt is too long"));
    assert_true(fs_llm_too_long("exceeds the available context size"));
    assert_false(fs_llm_too_long("rate limited"));
    assert_false(fs_llm_too_long(NULL));
}

static void test_backoff_and_retry_after(void **state)
{
    assert_int_equal(fs_llm_backoff_ms(1, 500, 8000, -1, 0), 500);
    assert_int_equal(fs_llm_backoff_ms(2, 500, 8000, -1, 0), 1000);
    assert_int_equal(fs_llm_backoff_ms(3, 500, 8000, -1, 0), 2000);
    assert_int_equal(fs_llm_backoff_ms(5, 500, 8000, -1, 0), 8000);
    assert_int_equal(fs_llm_backoff_ms(60, 500, 8000, -1, 0), 8000);
    int64_t j = fs_llm_backoff_ms(2, 500, 8000, -1, 0.999);
    assert_true(j >= 750 && j < 1000); /* jitter takes off at most a quarter */
    assert_int_equal(fs_llm_backoff_ms(1, 500, 8000, -1, 5.0), 500); /* out of range: none */
    assert_int_equal(fs_llm_backoff_ms(1, 500, 8000, 1000, 0.5), 1000);
    assert_int_equal(fs_llm_backoff_ms(1, 500, 8000, 0, 0.5), 0);
    assert_int_equal(fs_llm_backoff_ms(1, 500, 8000, 30000, 0), 8000); /* capped at the max */

    assert_int_equal(fs_llm_retry_after_ms("1", NULL, 0), 1000);
    assert_int_equal(fs_llm_retry_after_ms(" 1.5 ", NULL, 0), 1500);
    assert_int_equal(fs_llm_retry_after_ms("7", "250", 0), 250); /* retry-after-ms wins */
    assert_int_equal(fs_llm_retry_after_ms(NULL, NULL, 0), -1);
    assert_int_equal(fs_llm_retry_after_ms("soon", NULL, 0), -1);
    assert_int_equal(fs_llm_retry_after_ms("-3", NULL, 0), -1);
    int64_t at = 1445412480000LL; /* Wed, 21 Oct 2015 07:28:00 GMT */
    assert_int_equal(fs_llm_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", NULL, at - 3000), 3000);
    assert_int_equal(fs_llm_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", NULL, at + 5000), 0);

    long yes[] = {408, 409, 429, 500, 502, 503, 504, 529};
    long no[] = {400, 401, 403, 404, 413, 422};
    for (size_t i = 0; i < FS_ARRAY_LEN(yes); i++)
        assert_true(fs_llm_retryable(yes[i], -1));
    for (size_t i = 0; i < FS_ARRAY_LEN(no); i++)
        assert_false(fs_llm_retryable(no[i], -1));
    assert_false(fs_llm_retryable(500, 0));
    assert_true(fs_llm_retryable(400, 1));
}

/* ---- tool names ----------------------------------------------------------------------------- */

static bool valid_name(const char *s)
{
    if (!*s || strlen(s) > 64 || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return false;
    return true;
}

static void test_tool_names(void **state)
{
    char long1[80], long2[80];
    memset(long1, 'x', 70);
    long1[70] = '\0';
    memcpy(long2, long1, 71);
    long1[69] = '1';
    long2[69] = '2';
    json_t *tools = json_pack("[{ss}{ss}{ss}{ss}{ss}{ss}{ss}{ss}{ss}{ss}]", "name", "host.fs_usage",
                              "name", "prometheus.query", "name", "kubernetes.get", "name", "a-b",
                              "name", "a.b", "name", "a_b", "name", "1abc", "name", long1, "name",
                              long2, "name", "h\xc3\xa9llo");
    char mapped[10][72];
    size_t n = json_array_size(tools);
    for (size_t i = 0; i < n; i++) {
        const char *name = json_string_value(json_object_get(json_array_get(tools, i), "name"));
        fs_llm_tool_name_map(tools, name, mapped[i], sizeof(mapped[i]));
        if (!valid_name(mapped[i]))
            fail_msg("%s mapped to %s, not [A-Za-z][A-Za-z0-9_]{0,63}", name, mapped[i]);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(mapped[i], mapped[j]))
                fail_msg("%s and its predecessor %zu both map to %s", name, j, mapped[i]);
        const char *back = fs_llm_tool_name_unmap(tools, mapped[i]);
        assert_non_null(back);
        assert_string_equal(back, name);
        /* the model may also use forestall's own name */
        assert_string_equal(fs_llm_tool_name_unmap(tools, name), name);
    }
    assert_string_equal(mapped[0], "host_fs_usage");
    assert_string_equal(mapped[5], "a_b"); /* already valid: kept; the others get a suffix */
    assert_int_equal(strncmp(mapped[3], "a_b_", 4), 0);
    assert_int_equal(strncmp(mapped[4], "a_b_", 4), 0);
    assert_string_equal(mapped[6], "t_1abc");
    assert_int_equal(strlen(mapped[7]), 64);
    assert_null(fs_llm_tool_name_unmap(tools, "shell_exec"));
    assert_null(fs_llm_tool_name_unmap(tools, NULL));
    assert_null(fs_llm_tool_name_unmap(NULL, "a_b"));
    /* the same name maps the same every time (the conversation is re-rendered each call) */
    char again[72];
    fs_llm_tool_name_map(tools, "a.b", again, sizeof(again));
    assert_string_equal(again, mapped[4]);
    json_decref(tools);
}

static void test_turns(void **state)
{
    json_t *m = J("[{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"\"}]},"
                  "{\"role\":\"user\",\"content\":\"a\"},"
                  "{\"role\":\"user\",\"content\":[{\"type\":\"tool_use\",\"id\":\"x\","
                  "\"name\":\"n\"},{\"type\":\"tool_result\",\"tool_use_id\":\"t\"}]},"
                  "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_result\","
                  "\"tool_use_id\":\"t\"},{\"type\":\"text\",\"text\":\"b\"}]}]");
    json_t *t = fs_llm_turns(m);
    assert_int_equal(json_array_size(t), 2); /* the empty assistant turn is dropped */
    assert_string_equal(jstr(t, "[0].role"), "user");
    assert_string_equal(jstr(t, "[0].content[0].type"), "tool_result"); /* results first */
    assert_string_equal(jstr(t, "[0].content[1].text"), "a");
    assert_int_equal(json_array_size(json_object_get(json_array_get(t, 0), "content")), 2);
    assert_int_equal(json_array_size(json_object_get(json_array_get(t, 1), "content")), 1);
    assert_int_equal(fs_llm_count_calls(m), 0);
    json_decref(t);
    json_decref(m);
    m = conv_messages();
    assert_int_equal(fs_llm_count_calls(m), 2);
    json_decref(m);
}

/* ---- replay --------------------------------------------------------------------------------- */

static void test_replay(void **state)
{
    const char *path = write_file(
        "t.jsonl",
        "{\"request\":{\"ignored\":true},\"response\":{\"content\":[{\"type\":\"text\",\"text\":"
        "\"first\"},{\"type\":\"tool_use\",\"id\":\"r1\",\"name\":\"host.fs_usage\",\"input\":"
        "{\"path\":\"/\"}}],\"stop_reason\":\"tool_use\",\"usage\":{\"input_tokens\":11,"
        "\"output_tokens\":2},\"model\":\"recorded\"}}\n"
        "\n"
        "{\"response\":{\"content\":[{\"type\":\"text\",\"text\":\"second\"}],\"stop_reason\":"
        "\"end_turn\"}}\n");
    struct fs_llm_config c = {.provider = FS_LLM_REPLAY, .transcript = path, .temperature = -1};
    struct fs_llm *m = NULL;
    struct fs_err err = {0};
    assert_int_equal(fs_llm_new(&c, &m, &err), 0);
    assert_string_equal(fs_llm_endpoint(m), path);
    json_t *msgs = J("[{\"role\":\"user\",\"content\":\"go\"}]"), *tools = conv_tools();
    struct fs_llm_request rq = {"sys", msgs, tools};
    struct fs_llm_response rs = {0};
    assert_int_equal(fs_llm_complete(m, &rq, &rs, &err), 0);
    assert_string_equal(jstr(rs.content, "[0].text"), "first");
    assert_string_equal(jstr(rs.content, "[1].name"), "host.fs_usage");
    assert_string_equal(rs.stop_reason, "tool_use");
    assert_int_equal(rs.input_tokens, 11);
    assert_string_equal(rs.model, "recorded");
    assert_int_equal(rs.attempts, 1);
    assert_non_null(strstr(rs.request_body, "\"go\""));
    json_t *back = fs_llm_response_json(&rs);
    assert_string_equal(jstr(back, "usage.input_tokens"), "11");
    assert_string_equal(jstr(back, "content[1].input.path"), "/");
    json_decref(back);
    fs_llm_response_release(&rs);
    assert_int_equal(fs_llm_complete(m, &rq, &rs, &err), 0);
    assert_string_equal(jstr(rs.content, "[0].text"), "second");
    assert_string_equal(rs.model, "replay");
    fs_llm_response_release(&rs);
    assert_int_equal(fs_llm_complete(m, &rq, &rs, &err), -FS_E_PROTOCOL);
    assert_non_null(strstr(err.msg, "the transcript has no answer for call 3"));
    assert_null(rs.content);
    fs_llm_response_release(&rs);
    fs_llm_free(m);

    /* a bad line is named; a missing transcript is a config error */
    c.transcript = write_file("bad.jsonl", "{\"response\":{\"content\":[]}}\n{\"request\":{}}\n");
    assert_int_equal(fs_llm_new(&c, &m, &err), -FS_E_CONFIG);
    assert_non_null(strstr(err.msg, "bad.jsonl:2: expected an object with a \"response\""));
    c.transcript = write_file("bad2.jsonl", "{\"response\":\n");
    assert_int_equal(fs_llm_new(&c, &m, &err), -FS_E_CONFIG);
    assert_non_null(strstr(err.msg, "bad2.jsonl:1"));
    c.transcript = "/nonexistent/t.jsonl";
    assert_int_equal(fs_llm_new(&c, &m, &err), -FS_E_CONFIG);
    c.transcript = NULL;
    assert_int_equal(fs_llm_new(&c, &m, &err), -FS_E_CONFIG);
    assert_non_null(strstr(err.msg, "llm.transcript"));
    /* the neutral parser on its own */
    struct fs_llm_response r2;
    assert_int_equal(parse(fs_llm_neutral_parse, tools, 0,
                           "{\"content\":[{\"type\":\"tool_use\",\"name\":\"prometheus.query\"}],"
                           "\"stop_reason\":\"weird\"}",
                           &r2, &err),
                     0);
    assert_string_equal(jstr(r2.content, "[0].id"), "call_1");
    assert_string_equal(r2.stop_reason, "tool_use");
    fs_llm_response_release(&r2);
    json_decref(msgs);
    json_decref(tools);
}

/* ---- configuration -------------------------------------------------------------------------- */

static void test_config(void **state)
{
    /* the config's provider choices are the provider table */
    char names[128] = "";
    for (int i = 0; i < FS_LLM__COUNT; i++) {
        enum fs_llm_provider p;
        snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", i ? "|" : "",
                 fs_llm_provider_name((enum fs_llm_provider)i));
        assert_int_equal(fs_llm_provider_parse(fs_llm_provider_name((enum fs_llm_provider)i), &p),
                         0);
        assert_int_equal(p, i);
    }
    assert_string_equal(names, FS_CONFIG_LLM_PROVIDERS);
    enum fs_llm_provider p;
    assert_int_equal(fs_llm_provider_parse("gpt", &p), -FS_E_INVALID);

    struct fs_config *cfg = NULL;
    struct fs_err err = {0};
    struct fs_llm_config lc;
    assert_int_equal(fs_config_load(NULL, &cfg, NULL, &err), 0);
    assert_null(cfg->llm.provider);
    assert_int_equal(cfg->llm.max_steps, 12);
    assert_int_equal(cfg->llm.max_input_tokens, 200000);
    assert_int_equal(cfg->llm.max_output_tokens, 20000);
    assert_int_equal(cfg->llm.max_wall_ms, 300000);
    assert_true(cfg->llm.temperature < 0);
    assert_int_equal(fs_llm_config_from(cfg, &lc, &err), -FS_E_CONFIG);
    assert_non_null(strstr(err.msg, "no LLM is configured"));
    fs_config_free(cfg);

    const char *file = write_file("llm.yaml", "llm:\n  provider: anthropic\n  model: file-model\n"
                                              "  temperature: 0.2\n  tool_choice: omit\n"
                                              "  price_input_per_mtok: 3\n  max_retries: 4\n");
    setenv("FORESTALL_LLM_PROVIDER", "openai", 1);
    setenv("FORESTALL_LLM_MODEL", "env-model", 1);
    setenv("FORESTALL_LLM_BASE_URL", "http://127.0.0.1:9/v1", 1);
    setenv("FORESTALL_LLM_API_KEY", "env-key-0123456789", 1);
    assert_int_equal(fs_config_load(file, &cfg, NULL, &err), 0);
    assert_int_equal(fs_llm_config_from(cfg, &lc, &err), 0);
    assert_int_equal(lc.provider, FS_LLM_OPENAI);
    assert_string_equal(lc.model, "env-model");
    assert_string_equal(lc.base_url, "http://127.0.0.1:9/v1");
    assert_string_equal(lc.api_key, "env-key-0123456789");
    assert_string_equal(cfg->llm.api_key.source, "env:FORESTALL_LLM_API_KEY");
    assert_true(lc.temperature > 0.19 && lc.temperature < 0.21);
    assert_true(lc.omit_tool_choice);
    assert_int_equal(lc.max_retries, 4);
    assert_true(cfg->llm.price_input_per_mtok == 3.0);
    /* every secret of the configuration can be registered for redaction at once */
    fs_config_register_secrets(cfg);
    char *red = fs_sanitize_text("key env-key-0123456789 here", 27, 0, NULL);
    assert_string_equal(red, "key [REDACTED:llm.api_key] here");
    free(red);
    fs_redact_clear_registered();
    fs_config_free(cfg);
    setenv("FORESTALL_LLM_PROVIDER", "none", 1);
    assert_int_equal(fs_config_load(file, &cfg, NULL, &err), 0);
    assert_null(cfg->llm.provider);
    fs_config_free(cfg);
    setenv("FORESTALL_LLM_PROVIDER", "gpt", 1);
    assert_int_equal(fs_config_load(file, &cfg, NULL, &err), -FS_E_CONFIG);
    assert_non_null(strstr(err.msg, "environment FORESTALL_LLM_PROVIDER: llm.provider"));
    unsetenv("FORESTALL_LLM_PROVIDER");
    unsetenv("FORESTALL_LLM_MODEL");
    unsetenv("FORESTALL_LLM_BASE_URL");
    unsetenv("FORESTALL_LLM_API_KEY");
    file = write_file("llm2.yaml", "llm:\n  temperature: 3\n");
    assert_int_equal(fs_config_load(file, &cfg, NULL, &err), -FS_E_CONFIG);
    assert_non_null(strstr(err.msg, "llm.temperature: must be between 0 and 2"));
    file = write_file("llm3.yaml", "llm:\n  api_key: sk-in-the-file\n");
    assert_int_equal(fs_config_load(file, &cfg, NULL, &err), -FS_E_CONFIG);
    assert_null(strstr(err.msg, "sk-in-the-file"));
}

static void test_new_checks(void **state)
{
    struct fs_llm *m = NULL;
    struct fs_err err = {0};
    struct fs_llm_config c = conf(FS_LLM_ANTHROPIC);
    c.model = NULL;
    assert_int_equal(fs_llm_new(&c, &m, &err), -FS_E_CONFIG);
    assert_non_null(strstr(err.msg, "llm.model"));
    c.model = "claude";
    assert_int_equal(fs_llm_new(&c, &m, &err), -FS_E_CONFIG); /* api.anthropic.com needs a key */
    assert_non_null(strstr(err.msg, "llm.api_key"));
    c.base_url = "ftp://x";
    assert_int_equal(fs_llm_new(&c, &m, &err), -FS_E_CONFIG);
    c.base_url = NULL;
    c.api_key = "sk-ant-test-key-0123456789";
    assert_int_equal(fs_llm_new(&c, &m, &err), 0);
    assert_string_equal(fs_llm_endpoint(m), "https://api.anthropic.com");
    assert_int_equal(fs_llm_kind(m), FS_LLM_ANTHROPIC);
    fs_llm_free(m);
    fs_llm_free(NULL);
    c = conf(FS_LLM_OPENAI);
    c.base_url = "http://127.0.0.1:8000/v1///";
    assert_int_equal(fs_llm_new(&c, &m, &err), 0); /* no key needed */
    assert_string_equal(fs_llm_endpoint(m), "http://127.0.0.1:8000/v1");
    fs_llm_free(m);
    c = conf(FS_LLM_OLLAMA);
    assert_int_equal(fs_llm_new(&c, &m, &err), 0);
    assert_string_equal(fs_llm_endpoint(m), "http://127.0.0.1:11434");
    fs_llm_free(m);
    /* Bedrock: a region and credentials, or it says what is missing */
    c = conf(FS_LLM_BEDROCK);
    assert_int_equal(fs_llm_new(&c, &m, &err), -FS_E_CONFIG);
    assert_non_null(strstr(err.msg, "no AWS credentials"));
    setenv("AWS_BEARER_TOKEN_BEDROCK", "bedrock-api-key-0123456789", 1);
    assert_int_equal(fs_llm_new(&c, &m, &err), -FS_E_CONFIG);
    assert_non_null(strstr(err.msg, "no region"));
    setenv("AWS_REGION", "eu-west-3", 1);
    assert_int_equal(fs_llm_new(&c, &m, &err), 0);
    assert_string_equal(fs_llm_endpoint(m), "https://bedrock-runtime.eu-west-3.amazonaws.com");
    fs_llm_free(m);
    c.region = "Bad Region";
    assert_int_equal(fs_llm_new(&c, &m, &err), -FS_E_CONFIG);
    unsetenv("AWS_BEARER_TOKEN_BEDROCK");
    unsetenv("AWS_REGION");
}

/* ---- AWS credentials and paths ----------------------------------------------------------------
 */

static void test_aws_credentials(void **state)
{
    const char *cred = write_file(
        "aws-credentials", "[default]\naws_access_key_id = AKIADEFAULT000000001\n"
                           "aws_secret_access_key = default/secret/key0123456789abcdefghij\n\n"
                           "[prod]\n# a comment\naws_access_key_id=ASIAPROD000000000002\n"
                           "aws_secret_access_key=prod/secret/key0123456789abcdefghijkl\n"
                           "aws_session_token = prodSessionToken0123456789==\n"
                           "[assume]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = prod\n");
    const char *conf_file =
        write_file("aws-config", "[default]\nregion = us-east-1\n[profile prod]\nregion=eu-west-3\n"
                                 "[profile sso]\nsso_session = corp\n");
    setenv("AWS_SHARED_CREDENTIALS_FILE", cred, 1);
    setenv("AWS_CONFIG_FILE", conf_file, 1);
    struct fs_aws_creds c;
    struct fs_err err = {0};
    assert_int_equal(fs_aws_creds_load(NULL, &c, &err), 0);
    assert_string_equal(c.key_id, "AKIADEFAULT000000001");
    assert_string_equal(c.secret, "default/secret/key0123456789abcdefghij");
    assert_null(c.token);
    assert_string_equal(c.region, "us-east-1");
    assert_non_null(strstr(c.source, "profile default"));
    fs_aws_creds_release(&c);
    setenv("AWS_PROFILE", "prod", 1);
    assert_int_equal(fs_aws_creds_load(NULL, &c, &err), 0);
    assert_string_equal(c.key_id, "ASIAPROD000000000002");
    assert_string_equal(c.token, "prodSessionToken0123456789==");
    assert_string_equal(c.region, "eu-west-3");
    fs_aws_creds_release(&c);
    unsetenv("AWS_PROFILE");
    /* the environment's keys before a profile, unless llm.aws_profile names one */
    setenv("AWS_ACCESS_KEY_ID", "AKIAENV0000000000003", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "env/secret/key0123456789abcdefghijklmn", 1);
    setenv("AWS_SESSION_TOKEN", "envSessionToken0123456789", 1);
    assert_int_equal(fs_aws_creds_load(NULL, &c, &err), 0);
    assert_string_equal(c.key_id, "AKIAENV0000000000003");
    assert_string_equal(c.token, "envSessionToken0123456789");
    assert_string_equal(c.region, "us-east-1"); /* still the profile's region */
    fs_aws_creds_release(&c);
    assert_int_equal(fs_aws_creds_load("prod", &c, &err), 0);
    assert_string_equal(c.key_id, "ASIAPROD000000000002");
    fs_aws_creds_release(&c);
    unsetenv("AWS_SECRET_ACCESS_KEY");
    assert_int_equal(fs_aws_creds_load(NULL, &c, &err), -FS_E_CONFIG);
    assert_non_null(strstr(err.msg, "AWS_SECRET_ACCESS_KEY is not"));
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SESSION_TOKEN");
    /* what cannot work is named */
    assert_int_equal(fs_aws_creds_load("nosuch", &c, &err), -FS_E_CONFIG);
    assert_non_null(strstr(err.msg, "AWS profile nosuch is not in"));
    assert_int_equal(fs_aws_creds_load("assume", &c, &err), -FS_E_CONFIG);
    assert_non_null(strstr(err.msg, "uses role_arn"));
    assert_int_equal(fs_aws_creds_load("sso", &c, &err), -FS_E_CONFIG);
    assert_non_null(strstr(err.msg, "uses sso_session"));
    assert_null(strstr(err.msg, "secret/key"));
    unsetenv("AWS_SHARED_CREDENTIALS_FILE");
    unsetenv("AWS_CONFIG_FILE");
    assert_int_equal(fs_aws_creds_load(NULL, &c, &err), -FS_E_CONFIG);
    assert_non_null(strstr(err.msg, "no AWS credentials"));
}

static void test_bedrock_urls_and_test_date(void **state)
{
    char *url, *sign, *target;
    assert_int_equal(fs_llm_bedrock_urls("https://bedrock-runtime.us-east-1.amazonaws.com",
                                         "anthropic.claude-3-5-sonnet-20240620-v1:0", false, &url,
                                         &sign, &target),
                     0);
    assert_string_equal(url, "https://bedrock-runtime.us-east-1.amazonaws.com/model/"
                             "anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse");
    assert_string_equal(sign, "https://bedrock-runtime.us-east-1.amazonaws.com/model/"
                              "anthropic.claude-3-5-sonnet-20240620-v1%253A0/converse");
    assert_string_equal(target, "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse");
    free(url), free(sign), free(target);
    assert_int_equal(fs_llm_bedrock_urls("http://127.0.0.1:9/prefix/",
                                         "arn:aws:bedrock:us-east-1:1:inference-profile/us.x", true,
                                         &url, &sign, &target),
                     0);
    assert_string_equal(url,
                        "http://127.0.0.1:9/prefix/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3A"
                        "inference-profile%2Fus.x/converse");
    assert_null(sign);
    assert_null(target);
    free(url);

    setenv("FORESTALL_TEST_AWS_DATE", "20260102T030405Z", 1);
    assert_string_equal(fs_llm_bedrock_test_date("http://127.0.0.1:8080"), "20260102T030405Z");
    assert_string_equal(fs_llm_bedrock_test_date("http://localhost:8080/x"), "20260102T030405Z");
    assert_null(fs_llm_bedrock_test_date("https://bedrock-runtime.us-east-1.amazonaws.com"));
    assert_null(fs_llm_bedrock_test_date("http://10.0.0.1:8080"));
    setenv("FORESTALL_TEST_AWS_DATE", "2026-01-02T03:04:05Z", 1);
    assert_null(fs_llm_bedrock_test_date("http://127.0.0.1:8080"));
    unsetenv("FORESTALL_TEST_AWS_DATE");
    assert_null(fs_llm_bedrock_test_date("http://127.0.0.1:8080"));
    assert_true(fs_llm_url_is_loopback("http://[::1]:80/"));
    assert_true(fs_llm_url_is_loopback("http://127.8.9.10"));
    assert_false(fs_llm_url_is_loopback("http://128.0.0.1"));
    assert_false(fs_llm_url_is_loopback("not a url"));
}

/* ---- SigV4, from the spec, for checking libcurl and the provider ------------------------------
 */

static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

/* Authorization signature per the AWS SigV4 spec: canonical URI = the path as it travelled,
 * URI-encoded once more (non-S3); canonical headers = the signed names, lower-case, values
 * trimmed; hdrs holds "name" "value" pairs. */
static void spec_sign(const char *method, const char *path, const char *const (*hdrs)[2], int nh,
                      const char *signed_headers, const char *body, const char *secret,
                      const char *date, const char *region, const char *service, char out[65])
{
    struct fs_buf cr = FS_BUF_INIT(0);
    fs_buf_printf(&cr, "%s\n", method);
    for (const char *p = path; *p; p++)
        if (unreserved((unsigned char)*p) || *p == '/')
            fs_buf_putc(&cr, *p);
        else
            fs_buf_printf(&cr, "%%%02X", (unsigned char)*p);
    fs_buf_puts(&cr, "\n\n");
    char names[512];
    snprintf(names, sizeof(names), "%s", signed_headers);
    for (char *save = NULL, *n = strtok_r(names, ";", &save); n; n = strtok_r(NULL, ";", &save)) {
        const char *v = NULL;
        for (int i = 0; i < nh && !v; i++)
            if (!strcasecmp(hdrs[i][0], n))
                v = hdrs[i][1];
        fs_buf_printf(&cr, "%s:%s\n", n, v ? v : "");
    }
    char hash[65];
    fs_sha256_hex(body, strlen(body), hash);
    fs_buf_printf(&cr, "\n%s\n%s", signed_headers, hash);
    char crh[65], scope[128];
    fs_sha256_hex(cr.data, cr.len, crh);
    snprintf(scope, sizeof(scope), "%.8s/%s/%s/aws4_request", date, region, service);
    struct fs_buf sts = FS_BUF_INIT(0);
    fs_buf_printf(&sts, "AWS4-HMAC-SHA256\n%s\n%s\n%s", date, scope, crh);
    unsigned char k[32], k2[32];
    char key[256], day[9];
    snprintf(key, sizeof(key), "AWS4%s", secret);
    snprintf(day, sizeof(day), "%.8s", date);
    fs_hmac_sha256(key, strlen(key), day, 8, k);
    fs_hmac_sha256(k, 32, region, strlen(region), k2);
    fs_hmac_sha256(k2, 32, service, strlen(service), k);
    fs_hmac_sha256(k, 32, "aws4_request", 12, k2);
    fs_hmac_sha256(k2, 32, sts.data, sts.len, k);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", k[i]);
    fs_buf_release(&cr);
    fs_buf_release(&sts);
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
    return size * n;
}

#define AKID "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

static void test_sigv4_spec_and_libcurl_match_aws_examples(void **state)
{
    /* AWS's published examples (get-vanilla, post-vanilla) check the signer above */
    static const char *const h[][2] = {{"host", "example.amazonaws.com"},
                                       {"x-amz-date", "20150830T123600Z"}};
    char sig[65];
    spec_sign("GET", "/", h, 2, "host;x-amz-date", "", SECRET, "20150830T123600Z", "us-east-1",
              "service", sig);
    assert_string_equal(sig, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    spec_sign("POST", "/", h, 2, "host;x-amz-date", "", SECRET, "20150830T123600Z", "us-east-1",
              "service", sig);
    assert_string_equal(sig, "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");

    /* and this machine's libcurl signs get-vanilla the same (its date from our header) */
    struct step ok = {200, "{}", NULL, NULL, 0};
    serve(&ok, 1);
    CURL *c = curl_easy_init();
    char url[64];
    snprintf(url, sizeof(url), "%s/", base_url());
    struct curl_slist *l = curl_slist_append(NULL, "Host: example.amazonaws.com");
    l = curl_slist_append(l, "X-Amz-Date: 20150830T123600Z");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, l);
    curl_easy_setopt(c, CURLOPT_AWS_SIGV4, "aws:amz:us-east-1:service");
    curl_easy_setopt(c, CURLOPT_USERNAME, AKID);
    curl_easy_setopt(c, CURLOPT_PASSWORD, SECRET);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_cleanup(c);
    curl_slist_free_all(l);
    assert_string_equal(
        hdr(0, "Authorization"),
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
        "aws4_request, SignedHeaders=host;x-amz-date, "
        "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

static void test_bedrock_sigv4_request(void **state)
{
    struct step ok = {200,
                      "{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[{\"text\":"
                      "\"fine\"}]}},\"stopReason\":\"end_turn\",\"usage\":{\"inputTokens\":5,"
                      "\"outputTokens\":1}}",
                      NULL, NULL, 0};
    serve(&ok, 1);
    setenv("AWS_ACCESS_KEY_ID", AKID, 1);
    setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
    setenv("AWS_SESSION_TOKEN", "SessionTokenForTheTest0123456789==", 1);
    setenv("FORESTALL_TEST_AWS_DATE", "20260102T030405Z", 1);
    struct fs_llm_config c = conf(FS_LLM_BEDROCK);
    c.model = "anthropic.claude-3-5-sonnet-20240620-v1:0";
    c.base_url = base_url();
    c.region = "eu-west-3";
    struct fs_llm *m = NULL;
    struct fs_err err = {0};
    assert_int_equal(fs_llm_new(&c, &m, &err), 0);
    json_t *msgs = J("[{\"role\":\"user\",\"content\":\"fixed body\"}]"), *tools = conv_tools();
    struct fs_llm_request rq = {"sys", msgs, tools};
    struct fs_llm_response rs = {0};
    assert_int_equal(fs_llm_complete(m, &rq, &rs, &err), 0);
    assert_string_equal(jstr(rs.content, "[0].text"), "fine");
    assert_string_equal(rs.model, c.model);
    /* the path travelled encoded once */
    assert_string_equal(seen[0].uri, "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse");
    assert_string_equal(seen[0].body, rs.request_body);
    assert_string_equal(hdr(0, "x-amz-security-token"), "SessionTokenForTheTest0123456789==");
    assert_string_equal(hdr(0, "X-Amz-Date"), "20260102T030405Z");
    assert_int_equal(hdr_count(0, "X-Amz-Date"), 1); /* libcurl 7.88 would add a second one */
    const char *authz = hdr(0, "Authorization");
    assert_non_null(authz);
    const char *want_prefix = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260102/eu-west-3/bedrock/"
                              "aws4_request, SignedHeaders=";
    assert_int_equal(strncmp(authz, want_prefix, strlen(want_prefix)), 0);
    char signed_headers[256];
    snprintf(signed_headers, sizeof(signed_headers), "%.*s",
             (int)strcspn(authz + strlen(want_prefix), ","), authz + strlen(want_prefix));
    assert_string_equal(signed_headers, "accept;content-type;host;x-amz-date;x-amz-security-token");
    /* the signature AWS would compute: over the path encoded once more (%253A) */
    char hostv[64];
    snprintf(hostv, sizeof(hostv), "127.0.0.1:%d", port);
    const char *const h[][2] = {{"accept", "application/json"},
                                {"content-type", "application/json"},
                                {"host", hostv},
                                {"x-amz-date", "20260102T030405Z"},
                                {"x-amz-security-token", "SessionTokenForTheTest0123456789=="}};
    char sig[65];
    spec_sign("POST", seen[0].uri, h, 5, signed_headers, seen[0].body, SECRET, "20260102T030405Z",
              "eu-west-3", "bedrock", sig);
    const char *got = strstr(authz, "Signature=");
    assert_non_null(got);
    assert_string_equal(got + 10, sig);
    /* never the secret key on the wire */
    for (int i = 0; i < seen[0].nh; i++)
        assert_null(strstr(seen[0].hv[i], SECRET));
    assert_null(strstr(seen[0].body, SECRET));
    fs_llm_response_release(&rs);

    /* production: libcurl's own clock, one X-Amz-Date, the same signature rules */
    unsetenv("FORESTALL_TEST_AWS_DATE");
    serve(&ok, 1);
    assert_int_equal(fs_llm_complete(m, &rq, &rs, &err), 0);
    assert_int_equal(hdr_count(0, "X-Amz-Date"), 1);
    char date[32];
    snprintf(date, sizeof(date), "%s", hdr(0, "X-Amz-Date"));
    assert_int_equal(strlen(date), 16);
    const char *const h2[][2] = {{"accept", "application/json"},
                                 {"content-type", "application/json"},
                                 {"host", hostv},
                                 {"x-amz-date", date},
                                 {"x-amz-security-token", "SessionTokenForTheTest0123456789=="}};
    spec_sign("POST", seen[0].uri, h2, 5, signed_headers, seen[0].body, SECRET, date, "eu-west-3",
              "bedrock", sig);
    got = strstr(hdr(0, "Authorization"), "Signature=");
    assert_non_null(got);
    assert_string_equal(got + 10, sig);
    fs_llm_response_release(&rs);

    /* a bearer API key instead: no SigV4 at all, the path as is */
    setenv("AWS_BEARER_TOKEN_BEDROCK", "bedrock-api-key-abcdef012345", 1);
    fs_llm_free(m);
    assert_int_equal(fs_llm_new(&c, &m, &err), 0);
    serve(&ok, 1);
    assert_int_equal(fs_llm_complete(m, &rq, &rs, &err), 0);
    assert_string_equal(hdr(0, "Authorization"), "Bearer bedrock-api-key-abcdef012345");
    assert_null(hdr(0, "X-Amz-Date"));
    assert_string_equal(seen[0].uri, "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse");
    fs_llm_response_release(&rs);
    fs_llm_free(m);
    static const char *const vars[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                       "AWS_SESSION_TOKEN", "FORESTALL_TEST_AWS_DATE",
                                       "AWS_BEARER_TOKEN_BEDROCK"};
    for (size_t i = 0; i < FS_ARRAY_LEN(vars); i++)
        unsetenv(vars[i]);
    json_decref(msgs);
    json_decref(tools);
}

/* ---- the exchange --------------------------------------------------------------------------- */

static struct fs_llm *client(enum fs_llm_provider p, const char *key)
{
    struct fs_llm_config c = conf(p);
    c.base_url = base_url();
    c.api_key = key;
    struct fs_llm *m = NULL;
    struct fs_err err = {0};
    if (fs_llm_new(&c, &m, &err) < 0)
        fail_msg("fs_llm_new: %s", err.msg);
    return m;
}

static const char *ANTHROPIC_OK =
    "{\"type\":\"message\",\"model\":\"claude-t\",\"content\":[{"
    "\"type\":\"text\",\"text\":\"ok\"}],\"stop_reason\":"
    "\"end_turn\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}";

static int ask(struct fs_llm *m, struct fs_llm_response *rs, struct fs_err *err)
{
    json_t *msgs = conv_messages(), *tools = conv_tools();
    struct fs_llm_request rq = {"sys", msgs, tools};
    memset(rs, 0, sizeof(*rs));
    int rc = fs_llm_complete(m, &rq, rs, err);
    json_decref(msgs);
    json_decref(tools);
    return rc;
}

static void test_exchange_anthropic_and_retries(void **state)
{
    struct fs_llm *m = client(FS_LLM_ANTHROPIC, "sk-ant-exchange-key-0123456789");
    struct fs_llm_response rs;
    struct fs_err err = {0};
    struct step s1[] = {{429,
                         "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\","
                         "\"message\":\"slow down\"}}",
                         "retry-after-ms", "20", 0},
                        {529, "{}", NULL, NULL, 0},
                        {200, ANTHROPIC_OK, NULL, NULL, 0}};
    serve(s1, 3);
    assert_int_equal(ask(m, &rs, &err), 0);
    assert_int_equal(rs.attempts, 3);
    assert_int_equal(nseen, 3);
    assert_string_equal(seen[0].uri, "/v1/messages");
    assert_string_equal(hdr(0, "x-api-key"), "sk-ant-exchange-key-0123456789");
    assert_string_equal(hdr(0, "anthropic-version"), "2023-06-01");
    assert_string_equal(hdr(0, "content-type"), "application/json");
    assert_null(strstr(seen[0].body, "sk-ant-exchange-key")); /* the key only in its header */
    assert_string_equal(rs.model, "claude-t");
    assert_non_null(rs.response_body);
    fs_llm_response_release(&rs);

    /* still failing after the retries: overloaded, saying how many attempts */
    struct step s2[] = {{500,
                         "{\"type\":\"error\",\"error\":{\"type\":\"api_error\","
                         "\"message\":\"boom\"}}",
                         NULL, NULL, 0}};
    serve(s2, 1);
    assert_int_equal(ask(m, &rs, &err), -FS_E_OVERLOADED);
    assert_int_equal(rs.attempts, 3);
    assert_non_null(strstr(err.msg, "anthropic: HTTP 500 api_error: boom (after 3 attempts)"));
    assert_null(rs.content);
    fs_llm_response_release(&rs);

    /* x-should-retry: false wins over the status */
    struct step s3[] = {{503, "{}", "x-should-retry", "false", 0}};
    serve(s3, 1);
    assert_int_equal(ask(m, &rs, &err), -FS_E_OVERLOADED);
    assert_int_equal(rs.attempts, 1);
    fs_llm_response_release(&rs);

    /* a 401 is not retried, and the key it echoes is not repeated */
    struct step s4[] = {{401,
                         "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\","
                         "\"message\":\"invalid x-api-key sk-ant-exchange-key-0123456789\"}}",
                         NULL, NULL, 0}};
    serve(s4, 1);
    assert_int_equal(ask(m, &rs, &err), -FS_E_UNAUTHORIZED);
    assert_int_equal(rs.attempts, 1);
    assert_null(strstr(err.msg, "exchange-key"));
    assert_null(strstr(rs.response_body, "exchange-key"));
    fs_llm_response_release(&rs);

    /* a malformed 200: a protocol error, not retried */
    struct step s5[] = {{200, "{\"content\": [", NULL, NULL, 0}};
    serve(s5, 1);
    assert_int_equal(ask(m, &rs, &err), -FS_E_PROTOCOL);
    assert_int_equal(rs.attempts, 1);
    fs_llm_response_release(&rs);

    /* context too long */
    struct step s6[] = {{400,
                         "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\","
                         "\"message\":\"prompt is too long: 250000 tokens > 200000\"}}",
                         NULL, NULL, 0}};
    serve(s6, 1);
    assert_int_equal(ask(m, &rs, &err), -FS_E_TOO_LARGE);
    fs_llm_response_release(&rs);
    fs_llm_free(m);
}

static void test_exchange_timeout_and_refused(void **state)
{
    struct fs_llm_config c = conf(FS_LLM_OPENAI);
    c.base_url = base_url();
    c.timeout_ms = 1000; /* libcurl's own floor for connect and transfer checks is coarse */
    c.max_retries = 0;
    struct fs_llm *m = NULL;
    struct fs_err err = {0};
    assert_int_equal(fs_llm_new(&c, &m, &err), 0);
    struct step slow[] = {{200, "{}", NULL, NULL, 2000}};
    serve(slow, 1);
    struct fs_llm_response rs;
    assert_int_equal(ask(m, &rs, &err), -FS_E_TIMEOUT);
    assert_non_null(strstr(err.msg, "timed out"));
    fs_llm_response_release(&rs);
    fs_llm_free(m);

    /* a port nobody listens on: connect error, after the retries */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    getsockname(s, (struct sockaddr *)&a, &al);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(a.sin_port));
    close(s);
    c.base_url = url;
    c.max_retries = 1;
    assert_int_equal(fs_llm_new(&c, &m, &err), 0);
    assert_int_equal(ask(m, &rs, &err), -FS_E_CONNECT);
    assert_int_equal(rs.attempts, 2);
    assert_non_null(strstr(err.msg, "openai: cannot reach"));
    fs_llm_response_release(&rs);
    fs_llm_free(m);
}

static void test_exchange_openai_ollama_paths(void **state)
{
    struct step ok[] = {{200,
                         "{\"choices\":[{\"finish_reason\":\"stop\",\"message\":{\"content\":"
                         "\"hi\"}}],\"model\":\"served\"}",
                         NULL, NULL, 0}};
    serve(ok, 1);
    struct fs_llm *m = client(FS_LLM_OPENAI, "openai-bearer-key-0123456789");
    struct fs_llm_response rs;
    struct fs_err err = {0};
    assert_int_equal(ask(m, &rs, &err), 0);
    assert_string_equal(seen[0].uri, "/v1/chat/completions");
    assert_string_equal(hdr(0, "Authorization"), "Bearer openai-bearer-key-0123456789");
    assert_string_equal(rs.model, "served");
    fs_llm_response_release(&rs);
    fs_llm_free(m);
    struct step ook[] = {
        {200, "{\"model\":\"q\",\"message\":{\"content\":\"hi\"},\"done\":true}", NULL, NULL, 0}};
    serve(ook, 1);
    m = client(FS_LLM_OLLAMA, NULL);
    assert_int_equal(ask(m, &rs, &err), 0);
    assert_string_equal(seen[0].uri, "/api/chat");
    assert_null(hdr(0, "Authorization"));
    assert_non_null(strstr(seen[0].body, "\"stream\":false"));
    assert_string_equal(rs.stop_reason, "end_turn");
    fs_llm_response_release(&rs);
    fs_llm_free(m);
}

static void test_request_body_is_redacted(void **state)
{
    const char *canary = "canary-registered-secret-7f3a91c2";
    assert_int_equal(fs_redact_register(canary, "canary"), 0);
    struct step ok[] = {{200, ANTHROPIC_OK, NULL, NULL, 0}};
    serve(ok, 1);
    struct fs_llm *m = client(FS_LLM_ANTHROPIC, "sk-ant-redaction-key-0123456789");
    char sys[256], out[512], desc[256];
    snprintf(sys, sizeof(sys), "You are an agent. The config said %s.", canary);
    snprintf(out, sizeof(out),
             "log line: password: hunter2hunter2 token=%s\nAKIAIOSFODNN7EXAMPLE ok", canary);
    snprintf(desc, sizeof(desc), "Disk usage (%s)", canary);
    json_t *msgs =
        json_pack("[{s:s s:s} {s:s s:[{s:s s:s s:s s:{s:s}}]} {s:s s:[{s:s s:s s:s}]}]", "role",
                  "user", "content", "disk?", "role", "assistant", "content", "type", "tool_use",
                  "id", "t1", "name", "host.fs_usage", "input", "path", canary, "role", "user",
                  "content", "type", "tool_result", "tool_use_id", "t1", "content", out);
    json_t *tools = json_pack("[{s:s s:s s:{s:s}}]", "name", "host.fs_usage", "description", desc,
                              "input_schema", "type", "object");
    char *before = json_dumps(msgs, JSON_COMPACT);
    struct fs_llm_request rq = {sys, msgs, tools};
    struct fs_llm_response rs = {0};
    struct fs_err err = {0};
    assert_int_equal(fs_llm_complete(m, &rq, &rs, &err), 0);
    const char *sent = seen[0].body;
    assert_null(strstr(sent, canary));
    assert_null(strstr(sent, "hunter2hunter2"));
    assert_null(strstr(sent, "AKIAIOSFODNN7EXAMPLE"));
    assert_non_null(strstr(sent, "[REDACTED:canary]"));
    assert_non_null(strstr(sent, "log line:")); /* the rest of the text is kept */
    assert_non_null(strstr(sent, "\"host_fs_usage\""));
    assert_string_equal(sent, rs.request_body);
    /* the caller's conversation is not modified */
    char *after = json_dumps(msgs, JSON_COMPACT);
    assert_string_equal(before, after);
    free(before);
    free(after);
    fs_llm_response_release(&rs);
    fs_llm_free(m);
    json_decref(msgs);
    json_decref(tools);
    fs_redact_clear_registered();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_anthropic),
        cmocka_unit_test(test_render_bedrock),
        cmocka_unit_test(test_render_openai),
        cmocka_unit_test(test_render_ollama),
        cmocka_unit_test(test_request_check),
        cmocka_unit_test(test_parse_anthropic),
        cmocka_unit_test(test_parse_bedrock),
        cmocka_unit_test(test_parse_openai),
        cmocka_unit_test(test_parse_ollama),
        cmocka_unit_test(test_error_mapping),
        cmocka_unit_test(test_backoff_and_retry_after),
        cmocka_unit_test(test_tool_names),
        cmocka_unit_test(test_turns),
        cmocka_unit_test(test_replay),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_new_checks),
        cmocka_unit_test(test_aws_credentials),
        cmocka_unit_test(test_bedrock_urls_and_test_date),
        cmocka_unit_test(test_sigv4_spec_and_libcurl_match_aws_examples),
        cmocka_unit_test(test_bedrock_sigv4_request),
        cmocka_unit_test(test_exchange_anthropic_and_retries),
        cmocka_unit_test(test_exchange_timeout_and_refused),
        cmocka_unit_test(test_exchange_openai_ollama_paths),
        cmocka_unit_test(test_request_body_is_redacted),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
