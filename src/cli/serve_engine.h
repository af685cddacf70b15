/* The daemon's engine: what `forestall serve` adds to intake — the investigation pool
 * (planner/dispatch.h) on the ingest writer, post-mortems for incidents whose handling ended,
 * the executor process (exec/supervisor.h) poked whenever an action may be ready, and the MCP
 * hub (mcp/hub.h) that keeps the registered servers' trusted tools in the tool registry,
 * refreshed every mcp.refresh. */
#ifndef FS_SERVE_ENGINE_H
#define FS_SERVE_ENGINE_H

#include "core/config.h"
#include "core/err.h"
#include "intake/ingest.h"
#include "store/store.h"

struct fs_engine;
struct fs_server;

/* Start what cfg enables (dispatch.enabled, executor.enabled). config_file/data_dir are passed
 * to the executor process (may be NULL). srv (may be NULL) gets the MCP gateway at /mcp, which
 * the Claude Code runner (dispatch.planner claude_code) also reaches. */
int fs_engine_start(struct fs_store *store, struct fs_ingest *ingest, struct fs_server *srv,
                    const struct fs_config *cfg, const char *config_file, const char *data_dir,
                    struct fs_engine **out, struct fs_err *err);
/* After a commit that may have opened incidents or approved proposals (writer thread). */
void fs_engine_kick(struct fs_engine *e);
/* Stop the investigations, then the executor. NULL is a no-op. */
void fs_engine_stop(struct fs_engine *e);
/* SIGHUP: reload the playbooks (the config and rules are reloaded by the caller). */
int fs_engine_reload(struct fs_engine *e, const struct fs_config *cfg, struct fs_err *err);

#endif
