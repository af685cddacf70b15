/* target: which kind of target an action runs on for a proposal's target (kubectl, local, ssh,
 * mcp), and the exact argv that runs there — the catalog template rendered with the params, plus
 * the ssh or kubectl prefix built from the configuration (for mcp: the rendered request). Never
 * adds anything the catalog or the operator's configuration did not say; never runs anything. */
#include "core/common.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/json.h"
#include "core/proc.h"
#include "exec/exec_int.h"
#include "tools/route.h"

void fs_exec_plan_release(struct fs_exec_plan *p)
{
    if (!p)
        return;
    json_decref(p->argv);
    p->argv = NULL;
}

static const char *tstr(const json_t *target, const char *key)
{
    const char *v = json_string_value(json_object_get(target, key));
    return v && *v ? v : NULL;
}

const char **fs_exec_cstrings(const json_t *arr)
{
    size_t n = json_array_size(arr);
    const char **v = fs_calloc(n + 1, sizeof(*v));
    if (!v)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        v[i] = json_string_value(json_array_get(arr, i));
        if (!v[i]) {
            free(v);
            return NULL;
        }
    }
    return v;
}

static int append(json_t *arr, const char *s, struct fs_err *err)
{
    if (json_array_append_new(arr, json_string(s)) < 0)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    return 0;
}

static int build_kubectl(const struct fs_config *cfg, const json_t *rendered, json_t *argv,
                         struct fs_err *err)
{
    const char *prog = cfg->tools.kubectl && *cfg->tools.kubectl ? cfg->tools.kubectl : "kubectl";
    int rc = append(argv, prog, err);
    if (rc == 0 && cfg->tools.kubeconfig)
        rc = append(argv, "--kubeconfig", err) ?: append(argv, cfg->tools.kubeconfig, err);
    if (rc == 0 && cfg->tools.kube_context)
        rc = append(argv, "--context", err) ?: append(argv, cfg->tools.kube_context, err);
    size_t i;
    json_t *v;
    json_array_foreach(rendered, i, v) if (rc == 0) rc = append(argv, json_string_value(v), err);
    return rc;
}

static int build_ssh(const struct fs_config *cfg, const char *host, const json_t *rendered,
                     json_t *argv, struct fs_err *err)
{
    struct fs_ssh_target t = {
        .host = host,
        .user = cfg->tools.ssh_user,
        .port = (int)cfg->tools.ssh_port,
        .identity_file = cfg->tools.ssh_identity_file,
        .known_hosts = cfg->tools.ssh_known_hosts,
        .connect_timeout_s = (int)((cfg->tools.ssh_connect_timeout_ms + 999) / 1000),
    };
    const char **remote = fs_exec_cstrings(rendered);
    if (!remote)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    char **sargv = NULL;
    int rc = fs_ssh_argv(&t, remote, &sargv, err);
    free(remote);
    for (size_t i = 0; rc == 0 && sargv[i]; i++)
        rc = append(argv, sargv[i], err);
    free(sargv);
    return rc;
}

int fs_exec_plan_build(const struct fs_config *cfg, const struct fs_action *a, const json_t *params,
                       const json_t *target, struct fs_exec_plan *out, struct fs_err *err)
{
    memset(out, 0, sizeof(*out));
    const char *host = tstr(target, "host");
    if (host)
        fs_route_host(host, out->host, sizeof(out->host));
    /* in a simulated world every host runs the local template, as the host itself would */
    bool local =
        cfg->sim || fs_route_is_local(out->host[0] ? out->host : NULL, &cfg->tools.local_hosts);
    bool kube = tstr(target, "namespace") || tstr(target, "workload");

    enum fs_target_kind kind;
    if (kube && a->targets[FS_TARGET_KUBECTL]) {
        kind = FS_TARGET_KUBECTL;
    } else if (local && a->targets[FS_TARGET_LOCAL]) {
        kind = FS_TARGET_LOCAL;
    } else if (cfg->tools.ssh_user && a->targets[FS_TARGET_SSH] && out->host[0]) {
        kind = FS_TARGET_SSH;
    } else if (a->targets[FS_TARGET_MCP]) {
        if (cfg->sim)
            return fs_err_set(err, FS_E_FORBIDDEN, NULL,
                              "%s: an mcp target does not run in a simulated world", a->name);
        kind = FS_TARGET_MCP;
    } else if (a->targets[FS_TARGET_HTTP]) {
        return fs_err_set(err, FS_E_FORBIDDEN, NULL,
                          "target kind http is not supported by this executor yet (%s offers no "
                          "local, ssh, kubectl or mcp template it could use)",
                          a->name);
    } else if (!local && (a->targets[FS_TARGET_SSH] || a->targets[FS_TARGET_LOCAL])) {
        return fs_err_set(err, FS_E_CONNECT, NULL,
                          "%s is not this machine and %s, so %s cannot run there",
                          out->host[0] ? out->host : "the target",
                          !a->targets[FS_TARGET_SSH] ? "the action has no ssh template"
                          : !cfg->tools.ssh_user     ? "tools.ssh_user is not set"
                                                     : "the target names no host",
                          a->name);
    } else {
        return fs_err_set(err, FS_E_FORBIDDEN, NULL,
                          "%s has no template for this target (local: %s, kubectl: %s)", a->name,
                          local ? "this machine" : "another machine",
                          kube ? "named" : "no namespace or workload named");
    }

    json_t *rendered = NULL;
    int rc = fs_action_render(a, kind, params, target, &rendered, err);
    if (rc < 0)
        return rc;
    if (kind == FS_TARGET_MCP) {
        /* the request itself: the executor maps and checks it against the registry */
        out->kind = kind;
        out->argv = rendered;
        out->host[0] = '\0'; /* probes of a remote tool's action run here */
        return 0;
    }
    if (!json_is_array(rendered) || json_array_size(rendered) == 0) {
        json_decref(rendered);
        return fs_err_set(err, FS_E_INVALID, NULL, "%s: the %s template rendered no argv", a->name,
                          fs_target_kind_name(kind));
    }
    out->kind = kind;
    if (kind == FS_TARGET_LOCAL) {
        out->argv = rendered;
        if (!cfg->sim)
            out->host[0] = '\0';
        return 0;
    }
    out->argv = json_array();
    rc = out->argv ? 0 : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    if (rc == 0)
        rc = kind == FS_TARGET_KUBECTL ? build_kubectl(cfg, rendered, out->argv, err)
                                       : build_ssh(cfg, out->host, rendered, out->argv, err);
    json_decref(rendered);
    if (rc < 0)
        fs_exec_plan_release(out);
    if (kind == FS_TARGET_KUBECTL)
        out->host[0] = '\0'; /* probes of a cluster action run here */
    return rc;
}

/* Characters that never need quoting for a POSIX shell. */
static bool plain(const char *s)
{
    if (!*s)
        return false;
    for (const char *c = s; *c; c++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+%@", *c))
            return false;
    return true;
}

char *fs_exec_argv_display(const json_t *argv)
{
    if (json_is_object(argv)) {
        /* an mcp request: "mcp SERVER.TOOL {arguments}" */
        char *args = fs_json_compact(json_object_get(argv, "arguments"));
        struct fs_buf m = FS_BUF_INIT(256 * 1024);
        int rc = fs_buf_printf(
            &m, "mcp %s.%s %s", json_string_value(json_object_get(argv, "server")) ?: "?",
            json_string_value(json_object_get(argv, "tool")) ?: "?", args ? args : "{}");
        free(args);
        if (rc < 0 || fs_buf_puts(&m, "") < 0) {
            fs_buf_release(&m);
            return NULL;
        }
        return fs_buf_detach(&m, NULL);
    }
    struct fs_buf b = FS_BUF_INIT(256 * 1024);
    size_t i;
    json_t *v;
    int rc = 0;
    json_array_foreach(argv, i, v)
    {
        const char *s = json_string_value(v);
        if (!s)
            continue;
        if (i)
            rc |= fs_buf_putc(&b, ' ');
        rc |= plain(s) ? fs_buf_puts(&b, s) : fs_shell_quote(&b, s);
    }
    if (rc < 0 || fs_buf_puts(&b, "") < 0) {
        fs_buf_release(&b);
        return NULL;
    }
    return fs_buf_detach(&b, NULL);
}
