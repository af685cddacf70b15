/* The action catalog: every write forestall can ever perform, as data. A built-in catalog
 * (etc/catalog.yaml) is embedded in the binary; an operator file may add actions, replace
 * built-in ones by name, or remove them. The LLM or a playbook can only name an action and fill
 * its typed params; the command that runs comes from the action's argv template for the target
 * kind, never from the proposer.
 *
 * Thread safety: a loaded catalog is immutable and may be shared by any number of threads. */
#ifndef FS_CATALOG_H
#define FS_CATALOG_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

enum fs_param_type {
    FS_PARAM_STRING,  /* optional anchored `pattern`, `max_length` (default 256) */
    FS_PARAM_INTEGER, /* optional `min`, `max` */
    FS_PARAM_ENUM,    /* `values`: list of strings */
    FS_PARAM_PATH,    /* absolute, normalised (no "..", ".", "//"), inside one of `under` */
    FS_PARAM_BOOLEAN,
};

struct fs_param {
    char *name;
    enum fs_param_type type;
    bool required; /* default true */
    char *description;
    char *pattern;         /* STRING, PATH: PCRE2 source, must start with ^ and end with $ */
    void *re;              /* compiled pcre2_code, owned */
    int64_t min, max;      /* INTEGER */
    bool has_min, has_max; /* INTEGER */
    char **values;         /* ENUM */
    size_t nvalues;        /* ENUM */
    char **under;          /* PATH: allowed roots, e.g. "/var/log" */
    size_t nunder;         /* PATH */
    size_t max_length;     /* STRING, PATH */
    json_t *default_value; /* used when absent and not required; NULL = none */
};

enum fs_target_kind {
    FS_TARGET_LOCAL,   /* argv: [program, args...] run on the forestall host */
    FS_TARGET_SSH,     /* argv: the remote command; the executor adds ssh and quotes each arg */
    FS_TARGET_KUBECTL, /* argv: kubectl arguments (the executor adds kubectl and --context) */
    FS_TARGET_HTTP,    /* {method, path, body}: a request to the target's configured endpoint */
    FS_TARGET_MCP,     /* {server, tool, arguments}: a tools/call on a registered MCP server */
    FS_TARGET__COUNT
};

/* Does the action change state in a way that can be undone? */
enum fs_reversible {
    FS_REV_NO,
    FS_REV_YES,
    FS_REV_NOTIFICATION, /* changes no state (paging): no irreversibility penalty */
};

enum fs_idempotent {
    FS_IDEM_NO,       /* running twice may do twice the work */
    FS_IDEM_ABSOLUTE, /* sets an absolute state: safe to re-run */
    FS_IDEM_KEYED,    /* the target deduplicates by a key derived from the params */
};

struct fs_action {
    char *name;
    char *description;
    char *category; /* one of fs_categories[] */
    int tier;       /* 0..3 */
    int baseline_risk;
    enum fs_reversible reversible;
    enum fs_idempotent idempotent;
    struct fs_param *params;
    size_t nparams;
    json_t *targets[FS_TARGET__COUNT]; /* template per kind, NULL when the kind is not offered */
    json_t *preconditions;             /* array of {probe, args, expect}; may be NULL */
    json_t *verify;                    /* {probe, args, expect, wait_ms}; may be NULL */
    char *rollback;                    /* name of another action, or NULL */
    char source[300];                  /* "file:line" where it was defined */
};

struct fs_catalog {
    char *version; /* "<declared version>+<first 12 hex of SHA-256 of the canonical catalog>" */
    struct fs_action *actions; /* sorted by name */
    size_t n;
};

/* Known categories (seed 000 table plus the seed 001 traffic actions), NULL-terminated. */
extern const char *const fs_categories[];

/* A probe an action's preconditions or verify may name, and what answers it. The catalog owns
 * this vocabulary so that a load can refuse an unknown probe without depending on the
 * executor or the tools: the executor (exec/probe.c) calls `tool` for a probe, and a unit test
 * holds the table to the tool registry (every tool exists and is read-only, its arguments are
 * the tool's, every read-only host tool is a probe). */
struct fs_probe_def {
    const char *name;
    /* the read-only tool that answers it: "host.<name>", or another tool whose result the
     * executor reshapes (k8s_deployment_status → kubernetes.get); NULL = a probe the built-in
     * catalog names that no tool answers yet: it always fails (docs/catalog.md says so) */
    const char *tool;
    const char *const *args;     /* the argument names it takes, NULL-terminated */
    const char *const *required; /* those it needs, NULL-terminated */
};

/* The probe named name, or NULL when there is none. */
const struct fs_probe_def *fs_catalog_probe(const char *name);
/* Every probe, sorted by name; *n gets how many. */
const struct fs_probe_def *fs_catalog_probes(size_t *n);

const char *fs_target_kind_name(enum fs_target_kind k);
int fs_target_kind_parse(const char *s, enum fs_target_kind *out);

/* Load the embedded catalog, then the operator file (may be NULL) over it. The operator file
 * has the same shape; an action with an existing name replaces it, `remove: [names]` drops
 * built-in ones. Every problem goes to diag as "file:line: key: message"; err gets the first
 * (err.path = "file:line"). */
int fs_catalog_load(const char *file, struct fs_catalog **out, struct fs_buf *diag,
                    struct fs_err *err);
/* The same from bytes (name is used in messages); base may be NULL (no built-in actions). */
int fs_catalog_load_buf(const char *buf, size_t len, const char *name,
                        const struct fs_catalog *base, struct fs_catalog **out, struct fs_buf *diag,
                        struct fs_err *err);
void fs_catalog_free(struct fs_catalog *c);

/* Binary search by name; NULL when there is none. */
const struct fs_action *fs_catalog_find(const struct fs_catalog *c, const char *name);

/* Validate params (a JSON object; NULL means {}) against the action's schema: unknown fields,
 * missing required fields, wrong types, values outside enum/range/pattern/roots are errors with
 * err.path "params.NAME". On success, if normalized is not NULL, *normalized is a new object
 * with defaults filled in and paths normalised. */
int fs_action_check_params(const struct fs_action *a, const json_t *params, json_t **normalized,
                           struct fs_err *err);

/* Render the action's template for a target kind with (already checked) params: {name}
 * placeholders in argv elements, http path/body and mcp arguments are replaced by the param's
 * value; {target.host}, {target.service}, {target.namespace} by the target's fields. Each
 * placeholder yields part of one argv element: a value can never become two arguments.
 * *out is a new reference: an array of strings (local, ssh, kubectl) or an object (http, mcp). */
int fs_action_render(const struct fs_action *a, enum fs_target_kind kind, const json_t *params,
                     const json_t *target, json_t **out, struct fs_err *err);

/* JSON Schema (draft 2020-12) of the action's params, for tools and the API. New reference. */
json_t *fs_action_params_schema(const struct fs_action *a);
/* The action as JSON (API, `forestall catalog show`). New reference. */
json_t *fs_action_json(const struct fs_action *a);

/* docs/catalog.md: every action of the catalog, its params and templates. */
int fs_catalog_doc_markdown(const struct fs_catalog *c, struct fs_buf *b);

#endif
