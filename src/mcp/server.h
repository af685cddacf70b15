/* The MCP gateway (docs/mcp.md, "The gateway"): forestall as an MCP server, so that any MCP
 * client — Claude Code, an IDE, another agent — works through forestall's tools and gate. It
 * offers forestall's read-only tools, and every catalog action as a tool named
 * "action.<name>" whose input is the action's params, the target, the incident and the cited
 * evidence. A read-only call runs the tool and is recorded as an observation of the incident
 * the session works on; an action call becomes a proposal that goes through the gate: it runs
 * (the executor) when the gate says execute, and otherwise the result says "pending approval
 * prop-N" or, with isError, "blocked: <reasons>". Nothing a client sends decides anything.
 *
 * The server is transport-free: fs_mcp_server_handle takes one message and gives the reply
 * (stdio: `forestall mcp serve`). */
#ifndef FS_MCP_SERVER_H
#define FS_MCP_SERVER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

struct fs_config;
struct fs_registry;
struct fs_rules;
struct fs_writer;
struct fs_exec_report;

#define FS_MCP_PROTOCOL_LATEST "2025-11-25"

struct fs_mcp_server_opts {
    const struct fs_writer *w;
    const struct fs_config *cfg;
    const struct fs_rules *rules;
    const struct fs_registry *tools;
    int64_t incident_id; /* the incident the session works on; 0 = each action call names it */
    /* Who the transport authenticated (an API token's name over HTTP), or NULL: the actor of
     * the session's records is then "PRINCIPAL via mcp:CLIENT" rather than "mcp:CLIENT". */
    const char *principal;
    /* Run a proposal the gate passed (stdio: the executor in this process); NULL = it waits for
     * the daemon's executor. */
    int (*execute)(void *arg, int64_t proposal_id, struct fs_exec_report *rep, struct fs_err *err);
    void *execute_arg;
};

struct fs_mcp_server;

int fs_mcp_server_new(const struct fs_mcp_server_opts *o, struct fs_mcp_server **out,
                      struct fs_err *err);
void fs_mcp_server_free(struct fs_mcp_server *s);
/* Use this configuration and these rules from now on (the daemon passes the snapshot it holds
 * for one request, and NULLs after it). */
void fs_mcp_server_use(struct fs_mcp_server *s, const struct fs_config *cfg,
                       const struct fs_rules *rules);

/* One message of len bytes in; *reply is the message to send back (new reference), or NULL
 * when none is due (a notification). Returns <0 only when out of memory or the store failed;
 * a bad message gets a JSON-RPC error reply. */
int fs_mcp_server_handle(struct fs_mcp_server *s, const char *buf, size_t len, json_t **reply,
                         struct fs_err *err);

#endif
