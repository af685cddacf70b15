/* runtime: what the commands that run forestall itself (serve, executor, investigate) share —
 * the configuration with its command-line overrides, and the safety rules it names, each with
 * every problem collected into one message. */
#include "core/common.h"

#include "cli/cli.h"
#include "core/config.h"
#include "safety/service.h"

int fs_cli_load_config(const char *file, const char *listen, const char *data_dir,
                       struct fs_config **out, struct fs_err *err)
{
    struct fs_buf diag = FS_BUF_INIT(1 << 16);
    int rc = fs_config_load(file, out, &diag, err);
    if (rc < 0)
        fs_cli_diag_into(&diag, err);
    fs_buf_release(&diag);
    if (rc < 0)
        return rc;
    if ((listen && (rc = fs_config_set(*out, "server.listen", listen, err)) < 0) ||
        (data_dir && (rc = fs_config_set(*out, "data_dir", data_dir, err)) < 0) ||
        (rc = fs_config_check(*out, err)) < 0) {
        fs_config_free(*out);
        *out = NULL;
    }
    return rc;
}

int fs_cli_load_rules(const struct fs_config *cfg, struct fs_rules **out, struct fs_err *err)
{
    struct fs_buf diag = FS_BUF_INIT(1 << 16);
    int rc =
        fs_rules_load(cfg->safety.policy, cfg->safety.catalog, cfg->context.graph, out, &diag, err);
    if (rc < 0)
        fs_cli_diag_into(&diag, err);
    fs_buf_release(&diag);
    return rc;
}
