/* The daemon's side of the executor: `forestall serve` runs `forestall executor` as a child
 * process (planner/executor separation, seed 004), restarts it with backoff when it dies, pokes
 * it when something may have become ready to run, and stops it at shutdown. */
#ifndef FS_EXEC_SUPERVISOR_H
#define FS_EXEC_SUPERVISOR_H

#include "core/err.h"

struct fs_executor;

/* Start `self_exe executor [-c config_file] [--data-dir data_dir]` (config_file and data_dir may
 * be NULL) with a pipe on its stdin (a byte = "look now", EOF = "the daemon is gone") and the
 * daemon's stdout and stderr, then keep it running: when it exits it is logged and started
 * again after 1 s, doubling to at most 60 s while it keeps dying within a minute. self_exe is
 * usually "/proc/self/exe" (the very binary that runs, even if the file was replaced since).
 * Returns 0, or -FS_E_SYSTEM / -FS_E_NOMEM with err saying why. */
int fs_executor_start(const char *self_exe, const char *config_file, const char *data_dir,
                      struct fs_executor **out, struct fs_err *err);
/* Wake it: one byte down the pipe, never blocking (a full pipe already says "look"). Any
 * thread; NULL is a no-op. */
void fs_executor_poke(struct fs_executor *ex);
/* The daemon reloaded its configuration (SIGHUP): pass it on, so that the executor judges
 * approvals by the same policy and catalog. NULL is a no-op. */
void fs_executor_reload(struct fs_executor *ex);
/* Close its stdin so it finishes the step in progress and exits; after 10 s SIGTERM, after 10 s
 * more SIGKILL. Then frees ex. NULL is a no-op. */
void fs_executor_stop(struct fs_executor *ex);

#endif
