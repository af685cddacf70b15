/* cmd_mcp_probe: `forestall mcp probe` — drive one MCP client (src/mcp/client.h) against one
 * server, by hand or from the integration tests: open it (stdio or Streamable HTTP), run the
 * steps given in order (list, call, ping, wait for list_changed, sleep) on the same client, and
 * print one JSON line per step, then one with the connection's counters. Server text is
 * sanitized before it reaches the terminal. It registers nothing and decides nothing: the tools
 * are called as asked, outside the registry and the gate — an operator's and a test's tool. */
#include "core/common.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cli/cli.h"
#include "core/json.h"
#include "core/redact.h"
#include "core/time.h"
#include "mcp/client.h"

#define CMD "mcp probe"
#define MAX_STEPS 64
#define MAX_ENV 64
#define MAX_PARALLEL 32
#define TEXT_CAP (64 * 1024)

/* The environment variables a stdio server gets from ours when not given explicitly, as the
 * reference SDK passes them. */
static const char *const safe_env[] = {"HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER"};

enum step_kind { S_LIST, S_CALL, S_PING, S_WAIT_CHANGED, S_SLEEP };

struct step {
    enum step_kind kind;
    const char *name;
    json_t *args;
    int64_t ms; /* S_WAIT_CHANGED, S_SLEEP */
    int parallel;
};

static void print_line(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (s) {
        puts(s);
        free(s);
    }
    fflush(stdout);
    json_decref(o);
}

static json_t *safe_str(const char *s)
{
    char *clean = fs_sanitize_text(s ? s : "", s ? strlen(s) : 0, TEXT_CAP, NULL);
    json_t *v = json_string(clean ? clean : "");
    free(clean);
    return v;
}

static json_t *error_obj(int rc, const struct fs_err *e)
{
    return json_pack("{s:s,s:o}", "code", fs_err_name(-rc), "message", safe_str(e->msg));
}

struct call_job {
    struct fs_mcp_client *c;
    const struct step *st;
    int64_t timeout_ms;
    struct fs_mcp_result res;
    struct fs_err err;
    int rc;
};

static void *call_thread(void *arg)
{
    struct call_job *j = arg;
    j->rc = fs_mcp_call_tool(j->c, j->st->name, j->st->args, j->timeout_ms, &j->res, &j->err);
    return NULL;
}

static json_t *call_json(const struct call_job *j)
{
    json_t *o = json_pack("{s:s,s:s,s:b}", "step", "call", "name", j->st->name, "ok", j->rc == 0);
    if (!o)
        return NULL;
    if (j->rc < 0) {
        json_object_set_new(o, "error", error_obj(j->rc, &j->err));
        return o;
    }
    json_object_set_new(o, "isError", json_boolean(j->res.is_error));
    json_object_set_new(o, "text", safe_str(j->res.text));
    json_object_set_new(o, "blocks", json_integer((json_int_t)json_array_size(j->res.content)));
    if (j->res.structured) {
        json_t *sc = json_deep_copy(j->res.structured);
        fs_redact_json(sc, NULL);
        json_object_set_new(o, "structured", sc ? sc : json_null());
    }
    json_object_set_new(o, "durationMs", json_integer(j->res.duration_ms));
    return o;
}

/* Run one step; false when it failed. */
static bool run_step(struct fs_mcp_client *c, const struct step *st, int64_t timeout_ms)
{
    struct fs_err err = {0};
    switch (st->kind) {
    case S_LIST: {
        json_t *tools = NULL;
        size_t pages = 0, skipped = 0;
        int rc = fs_mcp_list_tools(c, timeout_ms, &tools, &pages, &skipped, &err);
        json_t *o = json_pack("{s:s,s:b}", "step", "list", "ok", rc == 0);
        if (rc < 0) {
            json_object_set_new(o, "error", error_obj(rc, &err));
        } else {
            json_t *names = json_array();
            size_t i;
            json_t *t;
            json_array_foreach(tools, i, t) json_array_append_new(
                names, safe_str(json_string_value(json_object_get(t, "name"))));
            json_object_set_new(o, "count", json_integer((json_int_t)json_array_size(tools)));
            json_object_set_new(o, "pages", json_integer((json_int_t)pages));
            json_object_set_new(o, "skipped", json_integer((json_int_t)skipped));
            json_object_set_new(o, "tools", names);
        }
        json_decref(tools);
        print_line(o);
        return rc == 0;
    }
    case S_CALL: {
        int n = st->parallel > 1 ? st->parallel : 1;
        struct call_job jobs[MAX_PARALLEL];
        pthread_t th[MAX_PARALLEL];
        bool ok = true;
        memset(jobs, 0, sizeof(jobs));
        for (int i = 0; i < n; i++) {
            jobs[i] = (struct call_job){.c = c, .st = st, .timeout_ms = timeout_ms};
            if (n == 1 || pthread_create(&th[i], NULL, call_thread, &jobs[i]) != 0) {
                call_thread(&jobs[i]);
                th[i] = 0;
            }
        }
        for (int i = 0; i < n; i++) {
            if (n > 1 && th[i])
                pthread_join(th[i], NULL);
            ok &= jobs[i].rc == 0;
            print_line(call_json(&jobs[i]));
            fs_mcp_result_release(&jobs[i].res);
        }
        return ok;
    }
    case S_PING: {
        int64_t t0 = fs_mono_ns();
        int rc = fs_mcp_ping(c, timeout_ms, &err);
        json_t *o = json_pack("{s:s,s:b,s:I}", "step", "ping", "ok", rc == 0, "durationMs",
                              (json_int_t)((fs_mono_ns() - t0) / 1000000));
        if (rc < 0)
            json_object_set_new(o, "error", error_obj(rc, &err));
        print_line(o);
        return rc == 0;
    }
    case S_WAIT_CHANGED: {
        int64_t end = fs_mono_ns() + st->ms * 1000000;
        bool seen = false;
        while (!(seen = fs_mcp_tools_changed(c)) && fs_mono_ns() < end) {
            struct timespec ts = {0, 20 * 1000000};
            nanosleep(&ts, NULL);
        }
        print_line(json_pack("{s:s,s:b,s:b}", "step", "list_changed", "ok", true, "seen", seen));
        return true;
    }
    case S_SLEEP: {
        struct timespec ts = {st->ms / 1000, (st->ms % 1000) * 1000000};
        nanosleep(&ts, NULL);
        return true;
    }
    }
    return false;
}

static int parse_ms(const char *opt, const char *v, int64_t *out)
{
    if (!v || fs_duration_parse(v, out) < 0 || *out <= 0)
        return fs_cli_fail(FS_EXIT_USAGE, "%s: expected a duration such as 5s or 500ms", opt), -1;
    return 0;
}

static void print_info(struct fs_mcp_client *c)
{
    struct fs_mcp_info in;
    char tail[2048];
    fs_mcp_info(c, &in);
    fs_mcp_stderr_tail(c, tail, sizeof(tail));
    json_t *o =
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o}", "step",
                  "info", "protocolVersion", in.protocol_version, "serverName", in.server_name,
                  "serverVersion", in.server_version, "sessionId", in.session_id,
                  "toolsListChanged", in.tools_list_changed, "listening", in.listening, "starts",
                  (json_int_t)in.starts, "crashes", (json_int_t)in.crashes, "requests",
                  (json_int_t)in.requests, "serverRequests", (json_int_t)in.server_requests,
                  "notifications", (json_int_t)in.notifications, "lateResponses",
                  (json_int_t)in.late_responses, "invalidMessages", (json_int_t)in.invalid_messages,
                  "sseEvents", (json_int_t)in.sse_events, "stderrTail", safe_str(tail));
    if (o)
        print_line(o);
}

int fs_cmd_mcp_probe(int argc, char **argv)
{
    struct fs_mcp_options o = {.name = "probe"};
    struct step steps[MAX_STEPS];
    const char *env[MAX_ENV + FS_ARRAY_LEN(safe_env) + 1];
    const char *headers[FS_MCP_MAX_HEADERS + 1];
    char *env_store[FS_ARRAY_LEN(safe_env)] = {0};
    size_t nsteps = 0, nenv = 0, nhdr = 0;
    int64_t timeout_ms = 0, pending_parallel = 0;
    int rc = FS_EXIT_USAGE;
    bool explicit_env = false;
    struct fs_mcp_client *c = NULL;

    if (fs_cli_wants_help(argc, argv, CMD))
        return FS_EXIT_OK;
    memset(steps, 0, sizeof(steps));
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = true;
        if (!strcmp(a, "--stdio")) {
            if (!v) {
                fs_cli_fail(FS_EXIT_USAGE, "--stdio: expected a command");
                goto out;
            }
            o.transport = FS_MCP_STDIO;
            o.argv = (const char *const *)argv + i + 1;
            break; /* the rest is the server's command line */
        } else if (!strcmp(a, "--url")) {
            o.transport = FS_MCP_HTTP;
            o.url = v;
        } else if (!strcmp(a, "--header")) {
            if (!v || nhdr >= FS_MCP_MAX_HEADERS) {
                fs_cli_fail(FS_EXIT_USAGE, "--header: expected 'Name: value' (at most %d)",
                            FS_MCP_MAX_HEADERS);
                goto out;
            }
            headers[nhdr++] = v;
        } else if (!strcmp(a, "--env")) {
            if (!v || !strchr(v, '=') || nenv >= MAX_ENV) {
                fs_cli_fail(FS_EXIT_USAGE, "--env: expected NAME=value (at most %d)", MAX_ENV);
                goto out;
            }
            env[nenv++] = v;
            explicit_env = true;
        } else if (!strcmp(a, "--cwd")) {
            o.cwd = v;
        } else if (!strcmp(a, "--name")) {
            o.name = v;
        } else if (!strcmp(a, "--timeout") || !strcmp(a, "--connect-timeout") ||
                   !strcmp(a, "--backoff")) {
            int64_t ms;
            if (parse_ms(a, v, &ms) < 0)
                goto out;
            if (!strcmp(a, "--timeout"))
                timeout_ms = ms;
            else if (!strcmp(a, "--connect-timeout"))
                o.connect_timeout_ms = ms;
            else
                o.backoff_ms = ms;
        } else if (!strcmp(a, "--max-message")) {
            uint64_t n;
            if (!v || fs_size_parse(v, &n) < 0 || n == 0) {
                fs_cli_fail(FS_EXIT_USAGE, "--max-message: expected a size such as 64KiB");
                goto out;
            }
            o.max_message = (size_t)n;
        } else if (!strcmp(a, "--parallel")) {
            pending_parallel = v ? atoll(v) : 0;
            if (pending_parallel < 1 || pending_parallel > MAX_PARALLEL) {
                fs_cli_fail(FS_EXIT_USAGE, "--parallel: expected 1..%d", MAX_PARALLEL);
                goto out;
            }
        } else if (nsteps >= MAX_STEPS) {
            fs_cli_fail(FS_EXIT_USAGE, "at most %d steps", MAX_STEPS);
            goto out;
        } else if (!strcmp(a, "--list") || !strcmp(a, "--ping")) {
            steps[nsteps++].kind = a[2] == 'l' ? S_LIST : S_PING;
            takes = false;
        } else if (!strcmp(a, "--call")) {
            if (!v) {
                fs_cli_fail(FS_EXIT_USAGE, "--call: expected a tool name");
                goto out;
            }
            struct step *st = &steps[nsteps++];
            st->kind = S_CALL;
            st->name = v;
            st->parallel = (int)pending_parallel;
            pending_parallel = 0;
            if (i + 2 < argc && !strcmp(argv[i + 2], "--args")) {
                struct fs_err e = {0};
                const char *js = i + 3 < argc ? argv[i + 3] : NULL;
                if (!js || fs_json_parse(js, strlen(js), 64, &st->args, &e) < 0 ||
                    !json_is_object(st->args)) {
                    fs_cli_fail(FS_EXIT_USAGE, "--args: expected a JSON object%s%s",
                                e.msg[0] ? ": " : "", e.msg);
                    goto out;
                }
                i += 2;
            }
        } else if (!strcmp(a, "--wait-list-changed") || !strcmp(a, "--sleep")) {
            struct step *st = &steps[nsteps];
            if (parse_ms(a, v, &st->ms) < 0)
                goto out;
            st->kind = a[2] == 'w' ? S_WAIT_CHANGED : S_SLEEP;
            nsteps++;
        } else {
            fs_cli_usage(CMD, false);
            goto out;
        }
        if (takes) {
            if (!v) {
                fs_cli_fail(FS_EXIT_USAGE, "%s: expected a value", a);
                goto out;
            }
            i++;
        }
    }
    if (!o.argv && !o.url) {
        fs_cli_fail(FS_EXIT_USAGE, "give --stdio CMD [ARGS...] or --url URL");
        goto out;
    }
    if (o.transport == FS_MCP_STDIO) {
        /* the safe subset of our environment, unless the command line gave one */
        if (!explicit_env)
            for (size_t k = 0; k < FS_ARRAY_LEN(safe_env); k++) {
                const char *val = getenv(safe_env[k]);
                if (!val || !strncmp(val, "()", 2))
                    continue;
                size_t len = strlen(safe_env[k]) + strlen(val) + 2;
                if (!(env_store[k] = malloc(len)))
                    continue;
                snprintf(env_store[k], len, "%s=%s", safe_env[k], val);
                env[nenv++] = env_store[k];
            }
        env[nenv] = NULL;
        o.env = env;
    }
    headers[nhdr] = NULL;
    o.headers = headers;
    if (timeout_ms)
        o.timeout_ms = timeout_ms;

    struct fs_err err = {0};
    int orc = fs_mcp_open(&o, &c, &err);
    if (orc < 0) {
        print_line(
            json_pack("{s:s,s:b,s:o}", "step", "open", "ok", false, "error", error_obj(orc, &err)));
        rc = orc == -FS_E_INVALID ? FS_EXIT_USAGE : FS_EXIT_FAILURE;
        goto out;
    }
    struct fs_mcp_info in;
    fs_mcp_info(c, &in);
    print_line(json_pack("{s:s,s:b,s:s,s:s}", "step", "open", "ok", true, "protocolVersion",
                         in.protocol_version, "sessionId", in.session_id));
    rc = FS_EXIT_OK;
    for (size_t i = 0; i < nsteps; i++)
        if (!run_step(c, &steps[i], timeout_ms))
            rc = FS_EXIT_FAILURE;
    print_info(c);
out:
    fs_mcp_close(c);
    for (size_t i = 0; i < MAX_STEPS; i++)
        json_decref(steps[i].args);
    for (size_t k = 0; k < FS_ARRAY_LEN(safe_env); k++)
        free(env_store[k]);
    return rc;
}
