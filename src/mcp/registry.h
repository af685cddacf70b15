/* The MCP server registry (docs/mcp.md): which remote tool servers forestall knows, how to reach
 * them and how far to trust them (the mcp_servers table, filled by `forestall mcp add` and the
 * configuration's mcp.servers), the pinned definition of every tool they offer
 * (mcp_tool_pins), and the Claude Code mcp.json rendered from them.
 *
 * A definition is a JSON object in one canonical shape, the same in the config file, the store
 * and the audit trail:
 *   {"name", "transport": "stdio"|"http", "command", "args": [..], "env": {NAME: REF},
 *    "url", "headers": {NAME: TEXT|REF}, "enabled", "trust": "none"|"read_only_hints"|"listed",
 *    "read_only_tools": [..], "tool_mappings": {ACTION: TOOL}}
 * where REF is {"env": "FORESTALL_X"} or {"file": "/abs/path"} (headers: optionally with
 * "prefix"). Secret values are never stored, logged or audited: references are resolved only
 * where a value is needed (mcp.json, and the MCP client starting a server).
 *
 * This module speaks no MCP and starts nothing; src/mcp/client.c does. */
#ifndef FS_MCP_REGISTRY_H
#define FS_MCP_REGISTRY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "store/store.h"

struct fs_config;

/* The name of forestall's own gateway entry in mcp.json; no registered server may take it. */
#define FS_MCP_GATEWAY_NAME "forestall"

/* ---- definitions (pure) ------------------------------------------------------------------- */

/* Check a definition (the shape above; transport, enabled, trust and the lists may be left
 * out) and make it canonical: *out gets every field, relative {file:} paths made absolute
 * against the working directory. On a problem: -FS_E_INVALID, err->path the field
 * ("url", "headers.Authorization", "env.TOKEN.env") and err->msg "FIELD: what is wrong"; every
 * problem, one line each, is appended to diag when it is not NULL. */
int fs_mcp_server_check(const json_t *def, json_t **out, struct fs_buf *diag, struct fs_err *err);
/* 1-63 characters of a-z 0-9 _ -, starting with a letter or digit, not "forestall". */
bool fs_mcp_name_valid(const char *name);

/* ---- tool pins (pure) --------------------------------------------------------------------- */

/* SHA-256 (hex) of a tool definition as a server lists it (tools/list item): the canonical JSON
 * (sorted keys, compact) of the whole definition without "_meta" — name, title, description,
 * schemas and annotations all count. *canonical (may be NULL) gets that text (caller frees). */
int fs_mcp_tool_hash(const json_t *tool, char out[65], char **canonical, struct fs_err *err);

/* Compare a fetched tools/list (array of tool definitions) with a server's pins (the array
 * fs_store_mcp_pins_get returns). *out (caller's) is an array, listed tools first in their
 * order, then pinned tools no longer listed:
 *   {"tool", "change": "new"|"changed"|"unchanged"|"missing", "sha256" (listed; null when
 *    missing), "pinned_sha256" (null when new), "pin_status" (the pin's status; null when new),
 *    "definition" (listed; absent when missing)}
 * A listed item without a string name, or a name listed twice, is -FS_E_PROTOCOL. */
int fs_mcp_pins_compare(const json_t *listed, const json_t *pins, json_t **out, struct fs_err *err);

/* ---- mcp.json (pure but for the resolver) ------------------------------------------------- */

/* Resolve one secret reference to its value (*value: caller frees, zeroing it first is kind). */
typedef int (*fs_mcp_secret_fn)(void *arg, const json_t *ref, char **value, struct fs_err *err);
/* The real resolver: {"env": NAME} from this process's environment (set and not empty),
 * {"file": PATH} from the file (at most 8 KiB, trailing newlines removed, no NUL). */
int fs_mcp_secret_resolve(void *arg, const json_t *ref, char **value, struct fs_err *err);

/* A Claude Code compatible mcp.json (protocols.md §2.1) for the enabled servers among
 * `servers` (definitions, e.g. fs_store_mcp_servers_list's rows):
 *   {"mcpServers": {NAME: {"command", "args", "env"}          stdio, env values resolved
 *                   NAME: {"type": "http", "url", "headers"}  header references resolved
 *                   "forestall": {"command": self, "args": self_args}}}
 * self_args is a JSON array of strings (e.g. ["mcp", "serve"]). An unresolvable reference is an
 * error naming the server and field. *out is the caller's and holds secret values. */
int fs_mcp_config_render(const json_t *servers, const char *self, const json_t *self_args,
                         fs_mcp_secret_fn resolve, void *arg, json_t **out, struct fs_err *err);

/* ---- registry writes: inside the caller's store transaction, each with its audit record ---- */

enum fs_mcp_change { FS_MCP_UNCHANGED, FS_MCP_ADDED, FS_MCP_CHANGED };

/* Insert or replace a server from a canonical definition (fs_mcp_server_check's *out); source
 * is "cli" or "config". Writes and audits (mcp_server added/changed) only when the definition
 * or its source differs from the stored one; *what (may be NULL) says which happened. */
int fs_mcp_server_put(struct fs_store *s, const json_t *def, const char *source, const char *actor,
                      int64_t now, enum fs_mcp_change *what, struct fs_err *err);
/* Remove a server and its pins (audited: mcp_server removed); -FS_E_NOT_FOUND. */
int fs_mcp_server_delete(struct fs_store *s, const char *name, const char *actor, int64_t now,
                         struct fs_err *err);

/* What the MCP client calls after each tools/list of a server: compare with the pins, record
 * new tools (status new, audited "pinned") and changed definitions (status changed, audited
 * "changed"; a definition that returns to the approved one is approved again), refresh
 * last_seen. *diff (may be NULL; caller's) is fs_mcp_pins_compare's result. A tool may be used
 * only while its pin is approved and its listed sha256 equals the pin's. */
int fs_mcp_pins_record(struct fs_store *s, const char *server, const json_t *listed, int64_t now,
                       json_t **diff, struct fs_err *err);
/* Approve a server's pin (tool), or every pin not approved yet (tool NULL), for the definition
 * it holds now; each approval audited (mcp_tool approved, with the sha256). *approved (may be
 * NULL; caller's) is the array of tool names approved. -FS_E_NOT_FOUND for an unknown tool. */
int fs_mcp_pin_approve(struct fs_store *s, const char *server, const char *tool, const char *actor,
                       int64_t now, json_t **approved, struct fs_err *err);

/* Load the configuration's mcp.servers into the table through w, in one transaction (actor
 * "config"): each named server is written as the configuration says (source config); servers
 * the configuration does not name are left as they are. *changed (may be NULL): how many
 * servers were added or changed. The daemon calls this at start; so does every `forestall mcp`
 * command. */
int fs_mcp_registry_load_config(const struct fs_writer *w, const struct fs_config *cfg, int64_t now,
                                int *changed, struct fs_err *err);
/* Does the configuration's mcp.servers name this server? */
bool fs_mcp_config_declares(const struct fs_config *cfg, const char *name);

#endif
