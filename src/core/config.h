/* Configuration: the key table (types, limits, docs), loading YAML over the embedded default,
 * validation that names file, line and key, secrets from the environment or files, and a
 * reference-counted current config that SIGHUP can swap. */
#ifndef FS_CONFIG_H
#define FS_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

struct fs_strlist {
    char **items;
    size_t n;
};

struct fs_secret {
    char *value;      /* NULL when unset */
    char source[300]; /* "env:FORESTALL_TOKEN" or "file:/etc/forestall/token"; never the value */
    char sha256[65];  /* hex SHA-256 of value ("" when unset): what bearer tokens are compared
                         against, computed once at load rather than on every request */
};

/* One API caller: its name (who approves, in the audit trail), role and bearer token. */
struct fs_token {
    char *name;
    char *role; /* one of FS_CONFIG_ROLES */
    struct fs_secret token;
};

struct fs_tokens {
    struct fs_token *items;
    size_t n;
};

/* Must list the roles of safety/approval.h, in the same order (a unit test checks). */
#define FS_CONFIG_ROLES "viewer|agent|approver|overrider|admin"
/* Must list the provider names of llm/llm.h (FS_LLM_PROVIDERS), in order (a unit test checks). */
#define FS_CONFIG_LLM_PROVIDERS "anthropic|bedrock|openai|ollama|replay"
/* The environment variables applied over the file by fs_config_load: X(variable, key). */
#define FS_CONFIG_ENV_OVERRIDES(X)                                                                 \
    X("FORESTALL_LLM_PROVIDER", "llm.provider")                                                    \
    X("FORESTALL_LLM_BASE_URL", "llm.base_url")                                                    \
    X("FORESTALL_LLM_MODEL", "llm.model")                                                          \
    X("FORESTALL_LLM_API_KEY", "llm.api_key")

struct fs_sim;

struct fs_config {
    /* Not a key: the simulated world every host is reached through (core/sim.h), set only by
     * the evaluation harness; NULL = real machines. Borrowed. */
    const struct fs_sim *sim;
    char *file; /* the file loaded over the defaults, or "(embedded)" */
    char *data_dir;
    struct {
        char *listen;
        int64_t threads;
        int64_t max_connections;
        int64_t connection_timeout_ms;
        uint64_t max_body;
        int64_t max_json_depth;
        int64_t max_alerts;
        int64_t max_pending;
        int64_t drain_timeout_ms;
        bool allow_public_without_token;
    } server;
    struct {
        struct fs_secret token;
        struct fs_tokens tokens;
    } auth;
    struct {
        char *policy;  /* operator policy file, NULL = the embedded default */
        char *catalog; /* operator catalog file merged over the built-in one, or NULL */
        char *default_env;
        char *default_resource_class;
    } safety;
    struct {
        char *graph; /* knowledge graph file (docs/context.md), NULL = none */
    } context;
    struct {
        char *prometheus_url;
        char *loki_url;
        char *kubectl;
        char *kubeconfig;
        char *kube_context;
        int64_t timeout_ms;
        uint64_t max_output;
        struct fs_strlist log_roots;
        struct fs_strlist local_hosts;
        struct fs_strlist stated_capacity; /* "PATH=SIZE" */
        char *ssh_user;
        int64_t ssh_port;
        char *ssh_identity_file;
        char *ssh_known_hosts;
        int64_t ssh_connect_timeout_ms;
    } tools;
    struct {
        bool enabled;
        int64_t workers;
        int64_t max_steps;
        int64_t timeout_ms;
        char *playbooks; /* operator playbook directory over the built-in ones, or NULL */
        char *planner;   /* "playbook" | "llm" */
        struct fs_strlist llm_alerts; /* alertname patterns the LLM planner takes */
        bool llm_fallback;
    } dispatch;
    struct {
        char *provider; /* one of FS_CONFIG_LLM_PROVIDERS; NULL = no LLM (docs/llm.md) */
        char *model;
        char *base_url; /* NULL = the provider's default */
        struct fs_secret api_key;
        char *anthropic_version;
        char *region;
        char *aws_profile;
        char *transcript;  /* replay: the recorded transcript (JSON Lines) */
        char *tool_choice; /* "auto" | "omit" (OpenAI-compatible servers) */
        int64_t timeout_ms;
        int64_t max_retries;
        int64_t max_tokens;
        double temperature; /* < 0 (null in the file) = the provider's default */
        double price_input_per_mtok, price_output_per_mtok; /* USD per million tokens */
        /* the planner's budgets for one investigation */
        int64_t max_steps;
        int64_t max_input_tokens;
        int64_t max_output_tokens;
        int64_t max_wall_ms;
    } llm;
    struct {
        /* mcp.servers: the canonical definition of each server as JSON text (the shape of
         * src/mcp/registry.h), checked by fs_config_mcp_server_check */
        struct fs_strlist servers;
        int64_t refresh_ms; /* mcp.refresh: how often the daemon lists the servers' tools again */
    } mcp;
    struct {
        /* notifications (docs/notifications.md, src/notify/notify.h) */
        char *public_url; /* deep links; NULL = http://<server.listen> */
        int64_t retry_initial_ms, retry_max_ms, retry_give_up_ms;
        int64_t timeout_ms; /* one delivery's HTTP exchange */
        /* notify.channels: each channel's definition as canonical JSON text ({name, type,
         * events, ...}); secret references kept as references, a {file: PATH} made absolute.
         * The kinds' own keys are checked by fs_notify_check_config (src/notify/notify.h). */
        struct fs_strlist channels;
    } notify;
    struct {
        bool enabled;
        int64_t action_timeout_ms;
        uint64_t max_output;
        int64_t max_verify_wait_ms;
        char *postmortem_dir; /* relative to data_dir; NULL = only in the store */
    } executor;
    struct {
        char *checkpoint_file; /* relative to data_dir unless absolute */
        struct fs_secret checkpoint_key;
    } audit;
    struct {
        char *driver;
        char *path; /* relative to data_dir unless absolute; see fs_config_store_path() */
        int64_t busy_timeout_ms;
        int64_t group_commit_max;
        int64_t inbox_retention_ms;
        int64_t dead_letter_retention_ms;
        uint64_t dead_letter_max_body;
    } store;
    struct {
        struct fs_strlist group_by;
        int64_t window_ms;
        int64_t skew_ms;
        char *default_severity;
        int64_t event_ttl_ms;
    } incidents;
    struct {
        char *alertmanager_url;
        int64_t interval_ms;
        char *receiver;
    } reconcile;
    struct {
        char *level;
        char *format;
    } log;
    struct {
        /* the external-agent runner (docs/runner.md): Claude Code headless, with forestall's
         * MCP gateway as its only MCP server */
        char *command;            /* a path, or a name looked up in PATH */
        char *model;              /* NULL = llm.model when llm.provider is anthropic */
        int64_t max_turns;
        int64_t wall_time_ms;
        char *base_url;           /* NULL = llm.base_url when llm.provider is anthropic */
        struct fs_secret api_key; /* unset = llm.api_key */
        struct fs_strlist tools;  /* gateway tools the agent may call; empty = all of them */
        /* `forestall runner manifest`: the Kubernetes Job */
        char *image;
        char *namespace;
        char *service_account;
        char *secret; /* the Secret with the keys anthropic-api-key and gateway-token */
        char *gateway_url; /* NULL = http://forestall.NAMESPACE.svc:9797/mcp */
        int64_t active_deadline_ms;
        int64_t ttl_after_finished_ms;
    } runner;

    int refs; /* owned by config.c */
};

enum fs_config_type {
    FS_CFG_STR,
    FS_CFG_INT,
    FS_CFG_BOOL,
    FS_CFG_DURATION,
    FS_CFG_SIZE,
    FS_CFG_ADDR,
    FS_CFG_URL,
    FS_CFG_PATH,
    FS_CFG_ENUM,
    FS_CFG_STRLIST,
    FS_CFG_SECRET,
    FS_CFG_TOKENS,
    FS_CFG_NUMBER,      /* a double; min/max bound it (max 0 = none); null (if nullable) = -1 */
    FS_CFG_MCP_SERVERS, /* mcp.servers: a list of MCP server definitions (struct fs_strlist) */
    FS_CFG_CHANNELS,    /* notify.channels: a list of channel definitions (struct fs_strlist) */
};

#define FS_CFG_NULLABLE 1u /* may be null (unset) */
#define FS_CFG_RELOAD 2u   /* takes effect on SIGHUP without a restart */

struct fs_config_key {
    const char *path;
    enum fs_config_type type;
    size_t offset;
    int64_t min, max;    /* INT, DURATION (ms), SIZE (bytes); max 0 = none */
    const char *choices; /* ENUM: "a|b|c" */
    unsigned flags;
    const char *doc;
};

/* The table of every key, terminated by {NULL}. */
extern const struct fs_config_key fs_config_keys[];
const char *fs_config_type_name(enum fs_config_type t);

/* Load the embedded default, then file (may be NULL) over it, then the environment overrides
 * (FS_CONFIG_ENV_OVERRIDES: a set, non-empty variable replaces the key; FORESTALL_LLM_PROVIDER
 * "none" unsets llm.provider). diag (may be NULL) receives one line per problem
 * ("file:line: key: message"); err gets the first. */
int fs_config_load(const char *file, struct fs_config **out, struct fs_buf *diag,
                   struct fs_err *err);
void fs_config_free(struct fs_config *cfg);
/* Set one key from a string (command-line overrides such as --listen), validated like the file. */
int fs_config_set(struct fs_config *cfg, const char *path, const char *value, struct fs_err *err);
/* Checks that involve several keys (run again after fs_config_set). */
int fs_config_check(struct fs_config *cfg, struct fs_err *err);
/* The database file: store.path resolved against data_dir. Caller frees. */
char *fs_config_store_path(const struct fs_config *cfg);
/* A path resolved against data_dir (absolute paths unchanged). Caller frees. */
char *fs_config_data_path(const struct fs_config *cfg, const char *p);
/* Register every secret of cfg (each secret key, every auth.tokens token) with
 * fs_redact_register, so none of them reaches a log, a trace or a model's request body. Values
 * shorter than the registry's minimum are skipped. */
void fs_config_register_secrets(const struct fs_config *cfg);
/* Is any API authentication configured (auth.token or auth.tokens)? */
bool fs_config_auth_enabled(const struct fs_config *cfg);

/* MCP server definitions (docs/mcp.md): the one checker, shared by mcp.servers and
 * `forestall mcp add` (src/mcp/registry.h). report(arg, path, message) is called once per
 * problem, path being base plus the field ("mcp.servers[0].url"). basedir resolves a relative
 * {file: PATH} (NULL: the working directory). Returns the number of problems (0: *out is the
 * canonical definition, every field present, the caller's reference) or -FS_E_NOMEM. */
typedef void (*fs_config_mcp_report_fn)(void *arg, const char *path, const char *msg);
int fs_config_mcp_server_check(const json_t *def, const char *base, const char *basedir,
                               fs_config_mcp_report_fn report, void *arg, json_t **out);
/* Must list the events of src/notify/notify.h (FS_NOTIFY_EVENTS) and the channel kinds of
 * src/notify/channels.c, in order (a unit test checks). */
#define FS_CONFIG_NOTIFY_EVENTS                                                                    \
    "proposal_pending|decision|execution|verification_failed|escalation|resolution"
#define FS_CONFIG_NOTIFY_TYPES "webhook|pagerduty|slack|email|jira"

/* A server name: 1-63 of a-z 0-9 _ -, starting with a letter or digit, and not "forestall". */
bool fs_config_mcp_name_ok(const char *name);

/* The daemon's current config, shared: acquire a reference, release it when done. */
void fs_config_install(struct fs_config *cfg); /* takes ownership */
struct fs_config *fs_config_acquire(void);
void fs_config_release(struct fs_config *cfg);

/* Render the key table as Markdown (docs/config.md) into b. */
int fs_config_doc_markdown(struct fs_buf *b);

#endif
