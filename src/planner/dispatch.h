/* Dispatch: the daemon's investigations. Each incident that enters the "new" handling state
 * (recorded, or reopened after its handling ended) is investigated once, on a bounded pool of
 * worker threads; the queue is the store itself (incidents in state new, oldest first), so
 * nothing is lost across a restart, and incidents a crash left "investigating" are picked up
 * again at start (investigations only read, so redoing one is safe). */
#ifndef FS_DISPATCH_H
#define FS_DISPATCH_H

#include <stdint.h>

#include "core/err.h"
#include "planner/investigate.h"

struct fs_dispatch;

struct fs_dispatch_opts {
    const struct fs_writer *w; /* the ingest writer */
    const struct fs_registry *tools;
    int workers;
    /* Called on the worker thread after each investigation (outcome recorded and committed):
     * the daemon concludes an incident whose handling ended and pokes the executor when the
     * gate said execute. */
    void (*after)(void *arg, int64_t incident_id, const struct fs_investigation_outcome *o);
    /* Called on the scanner thread for each incident whose handling ended without a current
     * post-mortem (a rejection, an expiry, the executor's verdict, a crash before the
     * post-mortem): the daemon writes it. May be NULL. */
    void (*conclude)(void *arg, int64_t incident_id);
    /* dispatch.planner claude_code (docs/runner.md): the MCP gateway Claude Code reaches for
     * one incident — the daemon's /mcp URL and a bearer token bound to the incident, written
     * into url and token (NUL-terminated); returns 0 or a negative fs_err code (the incident
     * then escalates saying why). NULL: Claude Code starts the stdio gateway itself (`forestall
     * mcp serve`), which cannot open a data directory the daemon holds. */
    int (*gateway)(void *arg, int64_t incident_id, char *url, size_t url_size, char *token,
                   size_t token_size, struct fs_err *err);
    void *arg;
};

int fs_dispatch_start(const struct fs_dispatch_opts *opt, const struct fs_playbooks *playbooks,
                      struct fs_dispatch **out, struct fs_err *err);
/* New playbooks (SIGHUP). Takes ownership; the old set is freed once no worker uses it. */
void fs_dispatch_set_playbooks(struct fs_dispatch *d, struct fs_playbooks *p);
/* Look for new incidents now (after a commit that may have opened some). Cheap; any thread. */
void fs_dispatch_kick(struct fs_dispatch *d);
/* Finish the running investigations (no new ones start) and stop the threads. */
void fs_dispatch_stop(struct fs_dispatch *d);

#endif
