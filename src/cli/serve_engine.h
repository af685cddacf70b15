/* The daemon's engine: what `forestall serve` adds to intake — the investigation pool
 * (planner/dispatch.h) on the ingest writer, post-mortems for incidents whose handling ended,
 * and the executor process (exec/supervisor.h) poked whenever an action may be ready. */
#ifndef FS_SERVE_ENGINE_H
#define FS_SERVE_ENGINE_H

#include "core/config.h"
#include "core/err.h"
#include "intake/ingest.h"
#include "store/store.h"

struct fs_engine;

/* Start what cfg enables (dispatch.enabled, executor.enabled). config_file/data_dir are passed
 * to the executor process (may be NULL). */
int fs_engine_start(struct fs_store *store, struct fs_ingest *ingest, const struct fs_config *cfg,
                    const char *config_file, const char *data_dir, struct fs_engine **out,
                    struct fs_err *err);
/* After a commit that may have opened incidents or approved proposals (writer thread). */
void fs_engine_kick(struct fs_engine *e);
/* The tools the investigations use (built-in and trusted remote ones), for the MCP gateway. */
struct fs_registry;
const struct fs_registry *fs_engine_tools(struct fs_engine *e);
/* Stop the investigations, then the executor. NULL is a no-op. */
void fs_engine_stop(struct fs_engine *e);
/* SIGHUP: reload the playbooks (the config and rules are reloaded by the caller). */
int fs_engine_reload(struct fs_engine *e, const struct fs_config *cfg, struct fs_err *err);

#endif
