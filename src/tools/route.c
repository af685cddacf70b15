/* route: which machine an alert's host is (this one, another over ssh, or unreachable) and the
 * tool-call context for it, built from the configuration's tools.* keys. */
#include "core/common.h"

#include <string.h>
#include <unistd.h>

#include "tools/route.h"

char *fs_route_host(const char *instance, char *out, size_t size)
{
    if (!size)
        return out;
    out[0] = '\0';
    if (!instance)
        return out;
    const char *start = instance, *end = instance + strlen(instance);
    if (*start == '[') {
        const char *close = strchr(start, ']');
        if (close) {
            start++;
            end = close;
        }
    } else {
        const char *colon = strrchr(start, ':');
        /* one colon: host:port; several: a bare IPv6 address */
        if (colon && colon == strchr(start, ':'))
            end = colon;
    }
    size_t n = (size_t)(end - start);
    if (n >= size)
        n = size - 1;
    memcpy(out, start, n);
    out[n] = '\0';
    return out;
}

bool fs_route_is_local(const char *host, const struct fs_strlist *local_hosts)
{
    if (!host || !*host || strcmp(host, "localhost") == 0 || strcmp(host, "::1") == 0 ||
        strcmp(host, "127.0.0.1") == 0 || strcmp(host, "localhost.localdomain") == 0)
        return true;
    for (size_t i = 0; local_hosts && i < local_hosts->n; i++)
        if (strcmp(host, local_hosts->items[i]) == 0)
            return true;
    char me[256];
    if (gethostname(me, sizeof(me)) == 0) {
        me[sizeof(me) - 1] = '\0';
        if (strcmp(host, me) == 0)
            return true;
        size_t shortlen = strcspn(me, ".");
        if (strlen(host) == shortlen && strncmp(host, me, shortlen) == 0)
            return true;
        size_t hshort = strcspn(host, ".");
        if (hshort == shortlen && strncmp(host, me, shortlen) == 0 && host[hshort] == '.' &&
            me[shortlen] == '\0')
            return true;
    }
    return false;
}

int fs_route_tool_ctx(const struct fs_config *cfg, const char *host, struct fs_tool_ctx *ctx,
                      const char ***roots_out, struct fs_err *err)
{
    memset(ctx, 0, sizeof(*ctx));
    *roots_out = NULL;
    ctx->timeout_ms = cfg->tools.timeout_ms;
    ctx->max_output = (size_t)cfg->tools.max_output;
    ctx->prometheus_url = cfg->tools.prometheus_url;
    ctx->loki_url = cfg->tools.loki_url;
    ctx->kubectl = cfg->tools.kubectl;
    ctx->kubeconfig = cfg->tools.kubeconfig;
    ctx->kube_context = cfg->tools.kube_context;
    ctx->stated_capacity = &cfg->tools.stated_capacity;
    if (cfg->tools.log_roots.n) {
        const char **roots = fs_calloc(cfg->tools.log_roots.n + 1, sizeof(*roots));
        if (!roots)
            return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        for (size_t i = 0; i < cfg->tools.log_roots.n; i++)
            roots[i] = cfg->tools.log_roots.items[i];
        ctx->log_roots = roots;
        *roots_out = roots;
    }
    if (cfg->sim) {
        ctx->target = FS_TOOL_SIM;
        ctx->sim = cfg->sim;
        ctx->sim_host = host ? host : "";
        return 0;
    }
    if (fs_route_is_local(host, &cfg->tools.local_hosts)) {
        ctx->target = FS_TOOL_LOCAL;
        return 0;
    }
    if (!cfg->tools.ssh_user)
        return fs_err_set(err, FS_E_CONNECT, NULL,
                          "%s is not this machine and tools.ssh_user is not set, so forestall "
                          "cannot look at it",
                          host);
    ctx->target = FS_TOOL_SSH;
    ctx->ssh.host = host;
    ctx->ssh.user = cfg->tools.ssh_user;
    ctx->ssh.port = (int)cfg->tools.ssh_port;
    ctx->ssh.identity_file = cfg->tools.ssh_identity_file;
    ctx->ssh.known_hosts = cfg->tools.ssh_known_hosts;
    ctx->ssh.connect_timeout_s = (int)((cfg->tools.ssh_connect_timeout_ms + 999) / 1000);
    return 0;
}
