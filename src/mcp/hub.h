/* The MCP hub (docs/mcp.md, "Remote tools in investigations", "Actions on remote servers"):
 * the registered servers of the store's mcp_servers table, opened with the MCP client, their
 * tools listed and pinned, and each remote tool the operator trusts as read-only registered
 * into a tool registry as SERVER.TOOL — so investigations, the gateway and the daemon call it
 * like a built-in tool. Writes (a catalog action whose target kind is mcp) go through
 * fs_mcp_hub_call, never through the registry.
 *
 * A remote tool is registered (annotated read-only: the operator's decision, not the server's
 * hint) only while all of these hold:
 *   - its server is enabled;
 *   - its server's trust makes it read-only: trust read_only_hints and the server says
 *     readOnlyHint true, or trust listed and it is in read_only_tools (trust none: never);
 *   - its pin is approved and the definition listed now has the approved SHA-256.
 * A refresh (fs_mcp_hub_refresh, the next call after notifications/tools/list_changed, or
 * fs_mcp_hub_call) lists again and records the pins (new and changed definitions audited by
 * fs_mcp_pins_record); a tool that no longer passes is disabled in the registry at once
 * (fs_registry_set_enabled), one that passes again is enabled (and redefined when its approved
 * definition is another).
 *
 * Secret references of a server are resolved only when it is opened; values are handed to the
 * client and never logged, stored or kept. A server that cannot be opened is logged, its tools
 * stay absent, and it is tried again at the next refresh. Opening never takes longer than the
 * connect timeout: servers are opened in parallel. Thread-safe: the registry's handlers,
 * fs_mcp_hub_call and the refresh may run at once on any threads; the writer must then be one
 * that may be used from several threads (the daemon's ingest writer), or be used by one thread
 * at a time (a CLI's direct writer, with no refresh thread). */
#ifndef FS_MCP_HUB_H
#define FS_MCP_HUB_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "mcp/client.h"
#include "mcp/registry.h"
#include "tools/registry.h"

struct fs_writer;

struct fs_mcp_hub_opts {
    const struct fs_writer *w;  /* servers read from w->store, pins recorded through w */
    struct fs_registry *tools;  /* where trusted remote tools go; NULL = none (the executor) */
    int64_t connect_timeout_ms; /* start + initialize of one server; 0 = 15 s */
    int64_t list_timeout_ms;    /* one tools/list (all its pages); 0 = 15 s */
    int64_t call_timeout_ms;    /* fs_mcp_hub_call's default; 0 = the client's (30 s) */
    fs_mcp_secret_fn resolve;   /* NULL = fs_mcp_secret_resolve */
    void *resolve_arg;
};

struct fs_mcp_hub;

/* A hub that has opened nothing yet (free of any cost: the first refresh or call opens what it
 * needs). Borrowed options must outlive the hub. */
int fs_mcp_hub_new(const struct fs_mcp_hub_opts *o, struct fs_mcp_hub **out, struct fs_err *err);

/* Stop the refresh thread, disable every tool the hub registered, close every server, free.
 * No call through the hub may be in progress; free the hub before the registry. NULL: no-op. */
void fs_mcp_hub_free(struct fs_mcp_hub *h);

struct fs_mcp_hub_stats {
    int servers;    /* enabled servers in the store */
    int open;       /* of them connected after the refresh */
    int failed;     /* that could not be opened or listed (logged) */
    int registered; /* remote tools enabled in the registry */
    int disabled;   /* remote tools the registry holds disabled */
};

/* Read the store's servers; close those removed, disabled or redefined; open the enabled ones
 * not open whose trust can make a tool read-only (in parallel, each within the connect
 * timeout; trust none, or listed with an empty list, is opened only by fs_mcp_hub_sync, _check
 * and _call); list each such server's tools, record the pins, and bring the registry in line
 * (add, enable, redefine, disable). A server
 * that fails is logged and left for the next refresh: only the store failing or memory running
 * out is an error. st may be NULL. */
int fs_mcp_hub_refresh(struct fs_mcp_hub *h, struct fs_mcp_hub_stats *st, struct fs_err *err);

/* Refresh every period_ms on a thread of the hub's own (the first refresh at once), until
 * fs_mcp_hub_free. The writer must be usable from that thread while others use it. */
int fs_mcp_hub_start(struct fs_mcp_hub *h, int64_t period_ms, struct fs_err *err);

/* One server, now, whatever the refresh period: open it if needed, list its tools, record the
 * pins (and update the registry). *diff (may be NULL; caller's) is fs_mcp_pins_compare's
 * result. Errors: -FS_E_NOT_FOUND (no such server), -FS_E_FORBIDDEN (disabled), the client's
 * errors (the message names the server), store errors. */
int fs_mcp_hub_sync(struct fs_mcp_hub *h, const char *server, json_t **diff, struct fs_err *err);

/* Whether SERVER's TOOL may be called now as a write (fs_mcp_hub_call): the server registered
 * and enabled, opened, the tool listed, and its pin approved for the definition listed now (the
 * server's list is fetched first when it was never listed or announced a change). 0, or
 * -FS_E_NOT_FOUND (no such server or tool), -FS_E_FORBIDDEN (the server is disabled, the tool
 * not approved or changed since its approval: the message says how to approve it), the
 * client's errors. Trust plays no part: a write goes through the gate, not the registry. */
int fs_mcp_hub_check(struct fs_mcp_hub *h, const char *server, const char *tool,
                     struct fs_err *err);

/* fs_mcp_hub_check, then tools/call TOOL with args (borrowed; NULL = {}) within timeout_ms (0 =
 * the hub's default). 0 when the server answered (out->is_error says whether the tool failed;
 * release out with fs_mcp_result_release; its text is raw server text), or the errors of
 * fs_mcp_hub_check and fs_mcp_call_tool. */
int fs_mcp_hub_call(struct fs_mcp_hub *h, const char *server, const char *tool, const json_t *args,
                    int64_t timeout_ms, struct fs_mcp_result *out, struct fs_err *err);

/* ---- the executor's side ----------------------------------------------------------------- */

/* What an action's mcp template (rendered: {server, tool, arguments}) calls: the server must be
 * registered and enabled; its tool_mappings entry for the action, when there is one, names the
 * tool instead of the template. *request (caller's) = {server, tool, arguments}, plus
 * "template_tool" when a mapping replaced it. -FS_E_NOT_FOUND, -FS_E_FORBIDDEN, store errors.
 * Reads s from any thread. */
int fs_mcp_hub_action_request(struct fs_store *s, const char *action, const json_t *rendered,
                              json_t **request, struct fs_err *err);

/* ---- the pure rules, for tests ----------------------------------------------------------- */

/* Does server (a definition: trust, read_only_tools) make tool (a tools/list item) read-only?
 * trust read_only_hints: annotations.readOnlyHint is true; listed: its name is in
 * read_only_tools; none (or anything else): never. */
bool fs_mcp_hub_trusted(const json_t *server, const json_t *tool);

/* Is pin (a row of fs_store_mcp_pins_get; NULL = none) approved for a definition of this
 * sha256: status approved, and both its current and its approved sha256 equal to it? */
bool fs_mcp_hub_pin_usable(const json_t *pin, const char *sha256);

/* The registry name of a remote tool: "SERVER.TOOL", at most FS_TOOL_MAX_NAME bytes of
 * [A-Za-z0-9_.-]; a server named like a family of built-in tools (host, prometheus, loki,
 * kubernetes, context) or like the gateway's actions (action) is refused, so that a remote
 * tool never passes for forestall's own. 0, or -FS_E_INVALID with err saying why. */
int fs_mcp_hub_tool_name(const char *server, const char *tool, char out[FS_TOOL_MAX_NAME + 1],
                         struct fs_err *err);

/* The tool an action calls on server (a definition): its tool_mappings entry for action when
 * there is one, else tool (the template's). Borrowed from server or tool. */
const char *fs_mcp_hub_mapped_tool(const json_t *server, const char *action, const char *tool);

#endif
