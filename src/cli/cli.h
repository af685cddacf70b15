/* The command table and what commands share: exit codes, option parsing help, output format,
 * and the HTTP client used by commands that talk to a running daemon. */
#ifndef FS_CLI_H
#define FS_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "core/buf.h"
#include "core/err.h"

/* X(ENUM, value, "meaning") — documented in docs/cli.md */
#define FS_EXIT_CODES(X)                                                                           \
    X(OK, 0, "success")                                                                            \
    X(FAILURE, 1,                                                                                  \
      "the command failed (invalid config, not found, startup error); the message "                \
      "says why")                                                                                  \
    X(USAGE, 2, "invalid command line")                                                            \
    X(UNREACHABLE, 3, "could not connect to the daemon (--url / FORESTALL_URL)")                   \
    X(REJECTED, 4, "the daemon rejected the request (HTTP 4xx: invalid payload, auth, ...)")       \
    X(UNAVAILABLE, 5, "the daemon could not take the request now (HTTP 5xx); retry later")         \
    X(FAILSTOP, 6, "serve: stopped because a durable write failed (fail-stop)")

enum fs_exit {
#define FS_EXIT_ENUM(e, v, doc) FS_EXIT_##e = v,
    FS_EXIT_CODES(FS_EXIT_ENUM)
#undef FS_EXIT_ENUM
};

struct fs_command {
    const char *name; /* "incidents list" */
    int (*fn)(int argc, char **argv);
    const char *usage; /* after the name */
    const char *summary;
    const char *help; /* options, one per line */
};

extern const struct fs_command fs_commands[];

int fs_cli_main(int argc, char **argv);
/* Print "usage: forestall NAME USAGE" and the help of the command to f. */
void fs_cli_usage(const char *name, bool full);
/* Print "forestall: msg" to stderr and return code. */
int fs_cli_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* -h/--help as argv[1]: print help, return true. */
bool fs_cli_wants_help(int argc, char **argv, const char *name);

/* ---- client ----------------------------------------------------------------------------- */

struct fs_client {
    char url[512]; /* --url, FORESTALL_URL, or http://127.0.0.1:9797 */
    char *token;   /* FORESTALL_TOKEN, or NULL */
    long timeout_ms;
};

struct fs_http_reply {
    long status; /* 0 when no reply */
    struct fs_buf body;
    char error[256]; /* transport error */
};

void fs_client_init(struct fs_client *c, const char *url_opt);
void fs_client_release(struct fs_client *c);
/* method "GET"/"POST"; body may be NULL. Returns an exit code for transport failures
 * (FS_EXIT_UNREACHABLE) or FS_EXIT_OK when an HTTP reply arrived (any status). */
int fs_client_request(struct fs_client *c, const char *method, const char *path, const char *body,
                      size_t len, struct fs_http_reply *out);
void fs_http_reply_release(struct fs_http_reply *r);
/* Append "?key=value" or "&key=value" to a path, URL-escaping value; NULL value adds nothing. */
int fs_client_query(struct fs_buf *path, const char *key, const char *value);
/* Exit code for an HTTP status; prints the daemon's error message for non-2xx. */
int fs_client_check(const struct fs_http_reply *r);

/* A load that failed: print every problem collected in diag (or err's message when there are
 * none) to stderr, release diag, return FS_EXIT_FAILURE. */
int fs_cli_diag_fail(struct fs_buf *diag, const struct fs_err *err);
/* The same problems as one message in err (the daemon logs it once). Releases diag. */
void fs_cli_diag_into(struct fs_buf *diag, struct fs_err *err);

/* runtime.c: the configuration (file NULL = the embedded default) with the command line's
 * --listen / --data-dir (each may be NULL) and the cross-key checks; the safety rules it names
 * (policy, catalog, knowledge graph). Every problem ends up in err's message. */
struct fs_config;
struct fs_rules;
int fs_cli_load_config(const char *file, const char *listen, const char *data_dir,
                       struct fs_config **out, struct fs_err *err);
int fs_cli_load_rules(const struct fs_config *cfg, struct fs_rules **out, struct fs_err *err);
/* Create dir (and its parents) and take the lock file name in it for as long as *fd stays
 * open: one daemon (forestall.lock), one executor (executor.lock) per data directory. When
 * another process holds it: -FS_E_BUSY, the message naming dir, the lock and then `held`
 * (what to do instead). */
int fs_cli_lock_data_dir(const char *dir, const char *name, const char *held, int *fd,
                         struct fs_err *err);
/* The configured store (store.driver, the store's path, its busy timeout), opened. */
struct fs_store;
struct fs_config;
int fs_cli_open_store(const struct fs_config *cfg, struct fs_store **store, struct fs_err *err);
/* Close a store a command wrote to itself, after anchoring its audit chain with a checkpoint
 * (audit.checkpoint_file, signed with the audit key, created if missing), as the daemon does at
 * its stop; a failure to write it is reported on stderr. NULL is a no-op. */
void fs_cli_close_store(const struct fs_config *cfg, struct fs_store *store);
/* For commands that work on the store themselves (investigate, mcp serve): the configuration's
 * MCP servers loaded into the registry table, and a hub whose trusted, approved read-only tools
 * join reg (servers opened in parallel; one that cannot be reached is logged, its tools absent). */
struct fs_writer;
struct fs_config;
struct fs_registry;
struct fs_mcp_hub;
int fs_cli_open_hub(const struct fs_writer *w, const struct fs_config *cfg, struct fs_registry *reg,
                    struct fs_mcp_hub **hub, struct fs_err *err);

/* An API timestamp for a table column: "2026-11-21T10:43:25.506Z" -> "2026-11-21 10:43:25". */
void fs_cli_short_time(const char *rfc, char *out, size_t size);

/* Pretty-print a JSON value on stdout. */
int fs_cli_print_json(const json_t *v);
/* One line of a live investigation trace: "[  1.23s]   call  host.fs_usage ..." (kind picks
 * the mark: reasoning, call, result, decision, gate, state). */
void fs_cli_trace_print(FILE *f, double secs, const char *kind, const char *text);
/* GET (or method with a JSON body) a daemon path; on success *out is the parsed reply. Prints
 * the daemon's error and returns the exit code otherwise. */
int fs_cli_get_json(const char *url, const char *path, json_t **out);
int fs_cli_call_json(const char *url, const char *method, const char *path, const json_t *body,
                     json_t **out);

struct fs_config;
/* The audit checkpoint key: audit.checkpoint_key, or data_dir/audit.key (created with a random
 * key when create is true and it does not exist). */
int fs_cli_audit_key(const struct fs_config *cfg, bool create, unsigned char *key, size_t size,
                     size_t *len, struct fs_err *err);

/* -o text|json: *json = (arg is "json"); 0, or -1 after printing the usage error. */
int fs_cli_output_json(const char *arg, bool *json);

/* Command implementations */
int fs_cmd_serve(int argc, char **argv);
int fs_cmd_alert_send(int argc, char **argv);
int fs_cmd_incidents_list(int argc, char **argv);
int fs_cmd_incidents_show(int argc, char **argv);
int fs_cmd_postmortem(int argc, char **argv);
int fs_cmd_dead_letters(int argc, char **argv);
int fs_cmd_status(int argc, char **argv);
int fs_cmd_config_check(int argc, char **argv);
int fs_cmd_version(int argc, char **argv);
int fs_cmd_docs(int argc, char **argv);
int fs_cmd_help(int argc, char **argv);
int fs_cmd_gate_explain(int argc, char **argv);
int fs_cmd_policy_test(int argc, char **argv);
int fs_cmd_policy_check(int argc, char **argv);
int fs_cmd_catalog_list(int argc, char **argv);
int fs_cmd_catalog_check(int argc, char **argv);
int fs_cmd_propose(int argc, char **argv);
int fs_cmd_proposals_list(int argc, char **argv);
int fs_cmd_proposals_show(int argc, char **argv);
int fs_cmd_approve(int argc, char **argv);
int fs_cmd_reject(int argc, char **argv);
int fs_cmd_freeze(int argc, char **argv);
int fs_cmd_unfreeze(int argc, char **argv);
int fs_cmd_mode_set(int argc, char **argv);
int fs_cmd_mode_show(int argc, char **argv);
int fs_cmd_audit_verify(int argc, char **argv);
int fs_cmd_audit_export(int argc, char **argv);
int fs_cmd_tool_list(int argc, char **argv);
int fs_cmd_tool_call(int argc, char **argv);
int fs_cmd_investigate(int argc, char **argv);
int fs_cmd_executor(int argc, char **argv);
int fs_cmd_playbook_list(int argc, char **argv);
int fs_cmd_playbook_check(int argc, char **argv);
int fs_cmd_playbook_test(int argc, char **argv);
int fs_cmd_report(int argc, char **argv);
int fs_cmd_replay(int argc, char **argv);
int fs_cmd_eval(int argc, char **argv);
int fs_cmd_llm_check(int argc, char **argv);
int fs_cmd_mcp_probe(int argc, char **argv);
int fs_cmd_mcp_serve(int argc, char **argv);
int fs_cmd_mcp_add(int argc, char **argv);
int fs_cmd_mcp_list(int argc, char **argv);
int fs_cmd_mcp_remove(int argc, char **argv);
int fs_cmd_mcp_tools(int argc, char **argv);
int fs_cmd_mcp_config(int argc, char **argv);
int fs_cmd_runner_run(int argc, char **argv);
int fs_cmd_runner_manifest(int argc, char **argv);

int fs_cli_doc_markdown(struct fs_buf *b);

#endif
