/* The external-agent runner (docs/runner.md, seed 000's "Phase 2"): Claude Code run headless
 * for one incident, with forestall's MCP gateway as its only MCP server and its only tools —
 *
 *   claude -p PROMPT --bare --mcp-config F --strict-mcp-config --tools "" --allowedTools ...
 *          --permission-mode dontAsk --output-format stream-json --verbose --max-turns N
 *
 * so every read it makes is one of forestall's read-only tools (recorded by the gateway as an
 * observation of the incident) and every change it wants is an action.* tool call the gateway
 * turns into a proposal that forestall's gate decides. Nothing the agent says decides anything.
 *
 * The child gets argv only (no shell), a private temporary HOME and working directory (so it
 * reads none of the operator's settings, CLAUDE.md or MCP servers), and an environment of only
 * what it needs: PATH, HOME, ANTHROPIC_BASE_URL / ANTHROPIC_API_KEY from runner.* (else llm.*),
 * the variables that switch off its retries, telemetry and background traffic, and the
 * FORESTALL_* variables the gateway's configuration refers to. Its stream-json output is
 * parsed as untrusted bytes (bounded lines, sanitized text) into the live trace and the
 * investigation's record. Budgets: wall time (its process group is killed at the deadline) and
 * turns (--max-turns, and a stream that goes past it is stopped).
 *
 * fs_investigate (planner/investigate.h) runs it as the planner "claude_code" and records its
 * outcome like any planner's; this module only runs the agent and reads what it says. */
#ifndef FS_RUNNER_H
#define FS_RUNNER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "planner/playbook.h" /* fs_trace_fn */

struct fs_config;
struct fs_registry;
struct fs_catalog;

/* The MCP server name the agent sees the gateway under: its tools are mcp__forestall__NAME. */
#define FS_RUNNER_SERVER "forestall"
/* The environment variable that carries the gateway's bearer token to Claude Code, which puts
 * it in the Authorization header of the generated mcp.json ("Bearer ${...}"). */
#define FS_RUNNER_TOKEN_ENV "FORESTALL_GATEWAY_TOKEN"
#define FS_RUNNER_MAX_LINE (4u << 20)    /* one stream-json line; longer ones are skipped */
#define FS_RUNNER_MAX_PROMPT (96u << 10) /* one argv element stays well under 128 KiB */

/* The gateway over HTTP for one incident: the daemon's /mcp URL and a bearer token bound to the
 * incident (written into url and token, NUL-terminated). Returns 0 or a negative fs_err code. */
typedef int (*fs_runner_gateway_fn)(void *arg, int64_t incident_id, char *url, size_t url_size,
                                    char *token, size_t token_size, struct fs_err *err);

struct fs_runner_opts {
    const struct fs_config *cfg; /* runner.*, llm.*, data_dir, file */
    /* The tools to allow when runner.tools is empty: the registry's read-only tools and one
     * action.NAME per catalog action (what the gateway offers). Either may be NULL. */
    const struct fs_registry *tools;
    const struct fs_catalog *catalog;
    /* The gateway over HTTP (the daemon), or NULL: the stdio gateway, this program run as
     * `SELF mcp serve [-c FILE] --data-dir DIR --incident inc-N` by Claude Code. */
    fs_runner_gateway_fn gateway;
    void *gateway_arg;
    const char *self_exe; /* the stdio gateway's program; NULL = /proc/self/exe */
    int max_turns;        /* 0 = runner.max_turns */
    int64_t wall_ms;      /* 0 = runner.wall_time */
    const char *command;  /* NULL = runner.command */
    fs_trace_fn trace;    /* the live trace; may be NULL */
    void *trace_arg;
};

/* ---- the stream: Claude Code's --output-format stream-json, one JSON object per line ------- */

struct fs_runner_stream {
    /* --- in --- */
    const json_t *tools; /* gateway tool names (strings), to name calls as forestall does; NULL */
    fs_trace_fn trace;
    void *trace_arg;
    /* --- out (owned; fs_runner_stream_release) --- */
    json_t *reasoning; /* the agent's text, sanitized, one string per block */
    json_t *calls;     /* [{id, tool, input, isError?, result?}] in order */
    json_t *proposals; /* ["prop-N"] the gateway's answers to action calls named */
    int turns;         /* assistant messages (model calls) seen */
    char last_message_id[128];
    char session_id[80];
    char model[128];
    char gateway_status[32]; /* the init message's status of the gateway ("connected", ...) */
    bool has_result, is_error;
    char subtype[48]; /* the result's: "success", "error_max_turns", ... */
    int num_turns;
    double cost_usd;
    int64_t duration_ms, duration_api_ms;
    char *result_text; /* the result's text, sanitized and capped; NULL when none */
    size_t lines, bad_lines;
};

int fs_runner_stream_init(struct fs_runner_stream *s);
/* One line (without its newline) of the stream. Bytes that are not a JSON object, or an object
 * of a kind this does not know, are counted and skipped: only running out of memory is an
 * error (-FS_E_NOMEM). Every text kept is sanitized (fs_sanitize_text) and capped; the number
 * of entries kept is capped too. */
int fs_runner_stream_line(struct fs_runner_stream *s, const char *line, size_t len,
                          struct fs_err *err);
void fs_runner_stream_release(struct fs_runner_stream *s);

/* A tool name as Claude Code calls it (mcp__forestall__host_fs_usage) as forestall names it
 * (host.fs_usage), found in tools (the gateway's names) by Claude Code's rule (every byte
 * outside [A-Za-z0-9_-] becomes '_'); else the name without the mcp__forestall__ prefix, or
 * as given. Writes at most size bytes. */
void fs_runner_tool_name(const char *claude_name, const json_t *tools, char *out, size_t size);
/* ... and the other way: "mcp__forestall__" + the name with Claude Code's rule applied. */
void fs_runner_claude_tool_name(const char *name, char *out, size_t size);

/* ---- one run --------------------------------------------------------------------------- */

struct fs_runner_result {
    struct fs_runner_stream stream; /* what the agent said and did */
    bool started;                   /* the program ran (else see the returned error) */
    bool timed_out;                 /* the wall-time budget killed it */
    bool turns_exceeded;            /* the stream went past max_turns and was stopped */
    int exit_code, term_signal;
    int64_t wall_ms;
    int max_turns;
    int64_t budget_ms;
    char gateway[8];       /* "stdio" | "http" */
    char stderr_tail[600]; /* the end of its stderr, sanitized, for a failed run */
    json_t *allowed;       /* the --allowedTools names (strings) */
};
void fs_runner_result_release(struct fs_runner_result *r);

/* Run Claude Code for the incident incident_id whose planner's view is scope (the object
 * fs_investigate builds: labels, annotations, incident, context). Returns 0 when the program
 * ran, whatever it did (look at r; fs_runner_result_release it); or -FS_E_CONFIG (no API key),
 * -FS_E_NOT_FOUND / -FS_E_FORBIDDEN / -FS_E_INVALID (the program cannot be started),
 * -FS_E_NOMEM, -FS_E_SYSTEM / -FS_E_IO (temporary files, pipes), or what the gateway hook
 * returned — with r empty. Either way nothing of the run is left running or on disk. */
int fs_runner_exec(const struct fs_runner_opts *o, const json_t *scope, int64_t incident_id,
                   struct fs_runner_result *r, struct fs_err *err);

/* ---- the pieces, for tests and the manifest ---------------------------------------------- */

/* The prompt for an incident: the rules, the budget, and the incident as untrusted data. */
char *fs_runner_prompt(const struct fs_config *cfg, const json_t *scope, int max_turns,
                       int64_t wall_ms);
/* The --allowedTools names (mcp__forestall__...): runner.tools, else every read-only tool of
 * reg and one action.NAME per catalog action. New array. */
json_t *fs_runner_allowed_tools(const struct fs_config *cfg, const struct fs_registry *reg,
                                const struct fs_catalog *cat);
/* The mcp.json document: {"mcpServers": {"forestall": ...}} — the http server with the
 * Authorization header "Bearer ${FORESTALL_GATEWAY_TOKEN}" when url is given, else the stdio
 * gateway (self mcp serve ...). Never holds a secret's value. New reference. */
json_t *fs_runner_mcp_config(const struct fs_config *cfg, const char *url, const char *self_exe,
                             int64_t incident_id);
/* Claude Code's argv: NULL-terminated, argv[0] = runner.command, each string its own
 * allocation; the caller frees it with fs_runner_strv_free. */
int fs_runner_argv(const struct fs_config *cfg, const char *prompt, const char *mcp_config,
                   const json_t *allowed, int max_turns, char ***argv, struct fs_err *err);
/* Its environment ("NAME=value" strings, NULL-terminated):
 * PATH, HOME=home, ANTHROPIC_BASE_URL (when configured), ANTHROPIC_API_KEY, the switches, the
 * gateway token (when given) and the FORESTALL_* variables of the config's secret references
 * (stdio gateway: its configuration needs them). Freed with fs_runner_strv_free. -FS_E_CONFIG
 * when there is no API key. */
int fs_runner_env(const struct fs_config *cfg, const char *home, const char *token, bool stdio,
                  char ***env, struct fs_err *err);
void fs_runner_strv_free(char **v);

/* `forestall runner manifest`: the Kubernetes batch/v1 Job that runs the same agent for the
 * incident in a cluster (the Secret's keys by reference, never their values). New reference. */
json_t *fs_runner_manifest(const struct fs_config *cfg, const json_t *scope, int64_t incident_id,
                           const json_t *allowed);

#endif
