/* Routing: which machine a host named by an alert is, and how to reach it. The planner's tool
 * calls and the executor's actions both go through this, so that "web-1:9100" in an alert means
 * the same machine to both: this one (local), another one over ssh, or none (escalate). */
#ifndef FS_TOOLS_ROUTE_H
#define FS_TOOLS_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"
#include "tools/registry.h"

/* The host part of an instance label: "web-1:9100" → "web-1", "[::1]:9100" → "::1",
 * "web-1" → "web-1". Writes at most size bytes (NUL included); returns out. */
char *fs_route_host(const char *instance, char *out, size_t size);

/* Is host (already without a port) this machine: localhost, 127.0.0.1, ::1, the machine's
 * hostname (short or full), or one of tools.local_hosts? NULL or "" counts as local. Other
 * loopback addresses (127.0.0.2) are not: tests reach a real sshd there as another host. */
bool fs_route_is_local(const char *host, const struct fs_strlist *local_hosts);

/* Fill ctx for calls about host (NULL = this machine) from the configuration: limits,
 * endpoints, log roots and — for another machine — the ssh target (which borrows host and
 * cfg's strings: keep both alive while ctx is used). Returns 0, or -FS_E_CONNECT with err
 * saying why the host cannot be reached (another machine and tools.ssh_user unset).
 * log_roots points into a static-lifetime copy of cfg->tools.log_roots owned by *roots_out,
 * which the caller frees with free() after use (may be NULL when there are none). */
int fs_route_tool_ctx(const struct fs_config *cfg, const char *host, struct fs_tool_ctx *ctx,
                      const char ***roots_out, struct fs_err *err);

#endif
