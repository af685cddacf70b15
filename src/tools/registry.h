/* The tool registry: every tool an investigation may call, built-in or registered at run time
 * (remote MCP tools), described the MCP way (architecture.md §3): a name, a title, a
 * description, an input schema (the JSON Schema subset of tools/schema.h), annotations, and a
 * handler that takes a JSON object and returns text and/or structured content.
 *
 * fs_tools_call is the only way a tool runs: it checks the arguments against the schema, runs
 * the handler with a timeout and output cap from the context, and makes the result safe to keep
 * and show (control characters stripped, secrets redacted, size capped) whatever the handler
 * returned. The registry decides nothing about what is allowed: that is the gate's job. */
#ifndef FS_TOOLS_REGISTRY_H
#define FS_TOOLS_REGISTRY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/proc.h"
#include "core/sim.h"

struct fs_graph;
struct fs_store;
struct fs_strlist;

#define FS_TOOL_DEFAULT_TIMEOUT_MS 10000
#define FS_TOOL_DEFAULT_MAX_OUTPUT (64 * 1024)
#define FS_TOOL_MAX_NAME 128 /* MCP: 1..128 of [A-Za-z0-9_.-] */
#define FS_TOOL_MAX_DESCRIPTION 8192
#define FS_TOOL_MAX_SCHEMA 65536 /* bytes of a schema's JSON text */
#define FS_TOOL_MAX_TOOLS 4096

/* MCP tool annotations. For a built-in tool these are facts; for a remote tool they are the
 * server's hints and nothing more (the operator's config decides whether to believe them). */
struct fs_tool_annotations {
    bool read_only;   /* readOnlyHint */
    bool destructive; /* destructiveHint (meaningful only when !read_only) */
    bool idempotent;  /* idempotentHint */
    bool open_world;  /* openWorldHint: talks to things outside the host/system it targets */
};

enum fs_tool_target_kind { FS_TOOL_LOCAL, FS_TOOL_SSH, FS_TOOL_SIM };

/* Where and how a call runs. Zero-initialised = local, defaults for every limit. Borrowed. */
struct fs_tool_ctx {
    enum fs_tool_target_kind target;
    struct fs_ssh_target ssh; /* when target == FS_TOOL_SSH */
    /* when target == FS_TOOL_SIM: the simulated world (core/sim.h) and the host in it ("" =
     * its default host). Programs, HTTP requests and TLS handshakes go to sim instead. */
    const struct fs_sim *sim;
    const char *sim_host;
    int64_t timeout_ms;       /* whole call; 0 = FS_TOOL_DEFAULT_TIMEOUT_MS */
    size_t max_output;        /* bytes of result text; 0 = FS_TOOL_DEFAULT_MAX_OUTPUT */
    /* Wall clock (fs_now_ms) by which the caller's budget ends (an investigation's
     * dispatch.timeout); 0 = none. A call gets min(timeout_ms, what is left); past it the call
     * does not run and reports an error (is_error). */
    int64_t deadline_ms;
    /* Directories host.log_lines may read below; NULL = {"/var/log"}. NULL-terminated list of
     * absolute, normalised paths. Tests point it at a temporary directory; production leaves
     * it NULL or sets it from the configuration. */
    const char *const *log_roots;
    /* Wall clock for computed ages ("days left", "age_s"); 0 = now. For tests. */
    int64_t now_ms;
    /* Observability and cluster endpoints (config tools.*); NULL = that family reports that it
     * is not configured (is_error) rather than guessing. */
    const char *prometheus_url; /* e.g. http://127.0.0.1:9090 */
    const char *loki_url;       /* e.g. http://127.0.0.1:3100 */
    const char *kubectl;        /* program; NULL = "kubectl" found on PATH */
    const char *kubeconfig;     /* NULL = kubectl's default */
    const char *kube_context;   /* NULL = the kubeconfig's current context */
    /* Directories host.fs_usage reports as filesystems of a stated size ("PATH=SIZE", config
     * tools.stated_capacity); NULL = none. */
    const struct fs_strlist *stated_capacity;
    /* Context tools: the knowledge graph (may be NULL = empty) and the store for incident
     * history (may be NULL = no history). Borrowed; the caller keeps both alive. */
    const struct fs_graph *graph;
    struct fs_store *store;
};

/* What a call produced. Zero it before the call; fs_tool_result_release frees it. */
struct fs_tool_result {
    char *text;         /* owned; sanitized, redacted, capped; never NULL after a successful call */
    json_t *structured; /* owned reference (MCP structuredContent) or NULL; redacted */
    bool is_error;      /* the tool ran but reports a failure (MCP isError), e.g. a non-zero exit */
    int64_t duration_ms;
    bool truncated;    /* some output was left out (the program's or the text cap) */
    size_t redactions; /* secrets replaced in text and structured content */
};

void fs_tool_result_release(struct fs_tool_result *r);

/* For handlers: the tool ran and failed — out->text = the message, out->is_error set. Returns
 * 0, or -FS_E_NOMEM. */
int fs_tool_fail(struct fs_tool_result *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A program's stderr as one line for such a message: lines joined by "; ", cut to size with
 * "...", "(no message)" when empty. */
void fs_tool_stderr_line(const struct fs_buf *b, char *dst, size_t size);

/* A handler. args has been validated against the tool's schema (and is an object). Fill out
 * (text and/or structured, is_error, truncated); the registry sanitizes both afterwards, so a
 * handler may store raw output. Return 0 when the tool ran (even if it reports a failure through
 * is_error), or a negative fs_errcode with err filled when it could not run at all (out of
 * memory, a bug); out is released by the caller on failure. */
typedef int (*fs_tool_handler)(void *closure, const json_t *args, const struct fs_tool_ctx *ctx,
                               struct fs_tool_result *out, struct fs_err *err);

/* A built-in tool: one row of a static table (see host.c). */
struct fs_tool_def {
    const char *name;
    const char *title;
    const char *description;
    const char *input_schema; /* JSON text */
    struct fs_tool_annotations annotations;
    fs_tool_handler handler;
};

/* One module's table of built-in tools (host.c, prometheus.c, loki.c, kube.c, context_tools.c). */
struct fs_tool_table {
    const struct fs_tool_def *defs;
    size_t n;
};
extern const struct fs_tool_table fs_host_tools;
extern const struct fs_tool_table fs_prometheus_tools;
extern const struct fs_tool_table fs_loki_tools;
extern const struct fs_tool_table fs_kube_tools;
extern const struct fs_tool_table fs_context_tools;

/* Every built-in tool, in documentation order (module by module, each in its table's order). */
size_t fs_builtin_tools_count(void);
const struct fs_tool_def *fs_builtin_tool(size_t i);

struct fs_registry;

/* A registry holding every built-in tool. Fails only on out of memory, or when a built-in
 * definition is broken (a bug; the message names the tool). */
int fs_registry_new(struct fs_registry **out, struct fs_err *err);
void fs_registry_free(struct fs_registry *r);
/* The same definitions (names, schemas, annotations) with every handler replaced by handler,
 * whose closure for each tool is closure_for(arg, name): for replaying recorded tool results
 * (`forestall playbook test`), so arguments are still checked against the real schemas. */
int fs_registry_new_replayed(fs_tool_handler handler,
                             void *(*closure_for)(void *arg, const char *name), void *arg,
                             struct fs_registry **out, struct fs_err *err);

/* Add a tool at run time (a remote MCP server's tool). Copies every string; schema is parsed and
 * compiled now (a keyword outside the subset is refused, naming it). closure is passed to the
 * handler as is and never freed by the registry. Errors: -FS_E_INVALID (bad name, description
 * too long, schema not an object schema, unsupported keyword), -FS_E_TOO_LARGE (schema text),
 * -FS_E_TOO_LARGE also for more than FS_TOOL_MAX_TOOLS tools, -FS_E_NOMEM. A name already present
 * is -FS_E_INVALID: a tool is never replaced here (fs_registry_update redefines one).
 * Thread-safe with concurrent calls. */
int fs_registry_add(struct fs_registry *r, const char *name, const char *title,
                    const char *description, const char *input_schema_json,
                    const struct fs_tool_annotations *ann, fs_tool_handler handler, void *closure,
                    struct fs_err *err);

/* Replace a tool added at run time by a new definition (same checks and errors as
 * fs_registry_add; its handler and closure are kept) and leave its enabled state as it was. A
 * call in progress finishes with the definition it started with. -FS_E_NOT_FOUND for an
 * unknown name, -FS_E_INVALID for a built-in tool. Thread-safe with concurrent calls. */
int fs_registry_update(struct fs_registry *r, const char *name, const char *title,
                       const char *description, const char *input_schema_json,
                       const struct fs_tool_annotations *ann, struct fs_err *err);

/* Disable or enable a tool (tools are never removed). A disabled tool is absent from
 * fs_tools_list_json and fs_tools_annotations, and fs_tools_call answers it with an is_error
 * result starting "disabled:" that says how it comes back, without running its handler.
 * -FS_E_NOT_FOUND for an unknown name. Thread-safe with concurrent calls. */
int fs_registry_set_enabled(struct fs_registry *r, const char *name, bool enabled,
                            struct fs_err *err);

/* Look up an enabled tool's annotations; false when there is no such tool or it is disabled. */
bool fs_tools_annotations(const struct fs_registry *r, const char *name,
                          struct fs_tool_annotations *out);

/* Run one tool. args NULL means {}. Errors (out left zeroed):
 *   -FS_E_NOT_FOUND        no tool with that name
 *   -FS_E_INVALID_PAYLOAD  args do not match the schema; err->path is the argument's path
 *                          ("limit", "paths[2]") and err->msg starts with it
 *   -FS_E_INVALID          ctx is bad (a relative log root, ...)
 *   anything the handler returns (out of memory, ...)
 * A tool that ran and failed returns 0 with out->is_error and a text saying why; so does a
 * disabled tool (fs_registry_set_enabled), without running. */
int fs_tools_call(const struct fs_registry *r, const char *name, const json_t *args,
                  const struct fs_tool_ctx *ctx, struct fs_tool_result *out, struct fs_err *err);

/* The MCP tools/list result: {"tools":[{name, title, description, inputSchema,
 * annotations:{readOnlyHint, destructiveHint, idempotentHint, openWorldHint}}]}, built-ins first
 * then run-time tools in registration order. New reference, or NULL when out of memory. */
json_t *fs_tools_list_json(const struct fs_registry *r);

/* docs/tools.md: every built-in tool (name, title, description, annotations, arguments with
 * their types and limits), rendered from the built-in tool tables. Appends to b. */
int fs_tools_doc_markdown(struct fs_buf *b);

#endif
