/* cmd_llm: `forestall llm check` — the operator's way to test an LLM configuration (and the
 * integration tests' way to drive a provider): one small request through the configured
 * provider (llm.*, with the FORESTALL_LLM_* overrides), offering one harmless tool, and what
 * came back — provider, model, stop reason, tokens, attempts, latency and the answer — or the
 * error. It runs nothing the model asks for: a tool call is only printed. */
#include "core/common.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/redact.h"
#include "core/time.h"
#include "llm/llm.h"
#include "tools/registry.h"

#define CHECK_TOOL "host.fs_usage"
#define DEFAULT_PROMPT                                                                             \
    "This is a connectivity check from forestall. Reply with one short sentence, or call the "     \
    "host.fs_usage tool for the path /."

enum { O_PROMPT = 256 };

/* The one tool offered: host.fs_usage as the registry defines it (read-only; its name needs
 * mapping, which is part of what is checked). Never run here. */
static json_t *check_tools(void)
{
    for (size_t i = 0; i < fs_builtin_tools_count(); i++) {
        const struct fs_tool_def *d = fs_builtin_tool(i);
        if (strcmp(d->name, CHECK_TOOL) != 0)
            continue;
        json_t *schema = json_loads(d->input_schema, 0, NULL);
        return schema ? json_pack("[{s:s s:s s:o}]", "name", d->name, "description", d->description,
                                  "input_schema", schema)
                      : NULL;
    }
    FS_BUG("the built-in tool %s is missing", CHECK_TOOL);
}

/* Model text made safe for a terminal. */
static void print_safe(const char *prefix, const char *s)
{
    char *clean = fs_sanitize_text(s ? s : "", s ? strlen(s) : 0, 4096, NULL);
    printf("%s%s\n", prefix, clean ? clean : "");
    free(clean);
}

static void print_text(const struct fs_llm *m, const struct fs_llm_config *lc,
                       const struct fs_llm_response *rs, int64_t ms)
{
    printf("provider:    %s\n", fs_llm_provider_name(lc->provider));
    printf("endpoint:    %s\n", fs_llm_endpoint(m));
    printf("model:       %s\n", rs->model[0] ? rs->model : (lc->model ? lc->model : ""));
    printf("stop reason: %s\n", rs->stop_reason);
    printf("tokens:      %lld in, %lld out\n", (long long)rs->input_tokens,
           (long long)rs->output_tokens);
    printf("attempts:    %d\n", rs->attempts);
    printf("latency:     %lld ms\n", (long long)ms);
    printf("answer:\n");
    size_t i;
    json_t *b;
    json_array_foreach(rs->content, i, b)
    {
        const char *type = json_string_value(json_object_get(b, "type"));
        if (fs_streq(type, "text")) {
            print_safe("  ", json_string_value(json_object_get(b, "text")));
        } else if (fs_streq(type, "tool_use")) {
            char *args = json_dumps(json_object_get(b, "input"), JSON_COMPACT);
            struct fs_buf line = FS_BUF_INIT(0);
            fs_buf_printf(&line, "tool call %s %s (id %s)%s%s",
                          json_string_value(json_object_get(b, "name")), args ? args : "{}",
                          json_string_value(json_object_get(b, "id")),
                          json_object_get(b, "input_error") ? ": " : "",
                          json_object_get(b, "input_error")
                              ? json_string_value(json_object_get(b, "input_error"))
                              : "");
            print_safe("  ", fs_buf_str(&line));
            fs_buf_release(&line);
            free(args);
        }
    }
    if (!json_array_size(rs->content))
        printf("  (nothing)\n");
}

int fs_cmd_llm_check(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"prompt", required_argument, NULL, O_PROMPT},
                                         {NULL, 0, NULL, 0}};
    const char *file = NULL, *prompt = DEFAULT_PROMPT;
    bool json = false;
    int c;
    while ((c = getopt_long(argc, argv, "c:o:", opts, NULL)) != -1) {
        switch (c) {
        case 'c': file = optarg; break;
        case 'o':
            if (fs_cli_output_json(optarg, &json) < 0)
                return FS_EXIT_USAGE;
            break;
        case O_PROMPT: prompt = optarg; break;
        default: fs_cli_usage("llm check", false); return FS_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fs_cli_usage("llm check", false);
        return FS_EXIT_USAGE;
    }
    struct fs_buf diag = FS_BUF_INIT(1 << 20);
    struct fs_config *cfg = NULL;
    struct fs_err err = {0};
    if (fs_config_load(file, &cfg, &diag, &err) < 0)
        return fs_cli_diag_fail(&diag, &err);
    fs_buf_release(&diag);
    fs_config_register_secrets(cfg); /* none of them may reach the model */

    struct fs_llm_config lc;
    struct fs_llm *m = NULL;
    int rc = FS_EXIT_OK;
    if (fs_llm_config_from(cfg, &lc, &err) < 0 || fs_llm_new(&lc, &m, &err) < 0) {
        rc = fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
        goto out;
    }
    json_t *tools = check_tools();
    json_t *msgs = json_pack("[{s:s s:[{s:s s:s}]}]", "role", "user", "content", "type", "text",
                             "text", prompt);
    if (!tools || !msgs) {
        json_decref(tools);
        json_decref(msgs);
        rc = fs_cli_fail(FS_EXIT_FAILURE, "out of memory");
        goto out;
    }
    struct fs_llm_request rq = {
        .system = "You are being checked by `forestall llm check`, a connectivity test. Keep "
                  "the answer short.",
        .messages = msgs,
        .tools = tools,
    };
    struct fs_llm_response rs = {0};
    int64_t t0 = fs_mono_ns();
    int crc = fs_llm_complete(m, &rq, &rs, &err);
    int64_t ms = (fs_mono_ns() - t0) / 1000000;
    if (json) {
        json_t *o =
            crc == 0
                ? json_pack("{s:b s:s s:s s:s s:s s:I s:I s:i s:I s:O}", "ok", 1, "provider",
                            fs_llm_provider_name(lc.provider), "endpoint", fs_llm_endpoint(m),
                            "model", rs.model, "stop_reason", rs.stop_reason, "input_tokens",
                            (json_int_t)rs.input_tokens, "output_tokens",
                            (json_int_t)rs.output_tokens, "attempts", rs.attempts, "latency_ms",
                            (json_int_t)ms, "content", rs.content)
                : json_pack("{s:b s:s s:s s:s? s:i s:I s:{s:s s:s}}", "ok", 0, "provider",
                            fs_llm_provider_name(lc.provider), "endpoint", fs_llm_endpoint(m),
                            "model", lc.model, "attempts", rs.attempts, "latency_ms",
                            (json_int_t)ms, "error", "code", fs_err_name(-crc), "message", err.msg);
        if (!o || fs_cli_print_json(o) != FS_EXIT_OK)
            rc = FS_EXIT_FAILURE;
        json_decref(o);
    } else if (crc == 0) {
        print_text(m, &lc, &rs, ms);
    }
    if (crc < 0) /* with -o json too: stdout has the JSON, stderr the message */
        rc = fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
    fs_llm_response_release(&rs);
    json_decref(tools);
    json_decref(msgs);
out:
    fs_llm_free(m);
    fs_config_free(cfg);
    return rc;
}
