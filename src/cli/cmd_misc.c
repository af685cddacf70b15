/* cmd_misc: commands that need no daemon — config check, version, docs. */
#include "core/common.h"

#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "core/config.h"
#include "intake/http.h"
#include "intake/metrics.h"
#include "version.h"

int fs_cmd_config_check(int argc, char **argv)
{
    if (argc != 2) {
        fs_cli_usage("config check", false);
        return FS_EXIT_USAGE;
    }
    struct fs_buf diag = FS_BUF_INIT(1 << 20);
    struct fs_config *cfg = NULL;
    struct fs_err err;
    int rc = fs_config_load(argv[1], &cfg, &diag, &err);
    if (rc < 0) {
        fputs(diag.len ? fs_buf_str(&diag) : err.msg, stderr);
        if (!diag.len)
            fputc('\n', stderr);
        fs_buf_release(&diag);
        return FS_EXIT_FAILURE;
    }
    printf("%s: ok\n", argv[1]);
    fs_config_free(cfg);
    fs_buf_release(&diag);
    return FS_EXIT_OK;
}

int fs_cmd_version(int argc, char **argv)
{
    printf("forestall %s\n", FS_VERSION);
    return FS_EXIT_OK;
}

int fs_cmd_docs(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(struct fs_buf *);
    } pages[] = {
        {"config", fs_config_doc_markdown},
        {"api", fs_http_doc_markdown},
        {"cli", fs_cli_doc_markdown},
        {"metrics", fs_metrics_doc_markdown},
    };
    if (argc != 2) {
        fs_cli_usage("docs", false);
        return FS_EXIT_USAGE;
    }
    for (size_t i = 0; i < FS_ARRAY_LEN(pages); i++) {
        if (strcmp(argv[1], pages[i].name) == 0) {
            struct fs_buf b = FS_BUF_INIT(0);
            if (pages[i].fn(&b) < 0) {
                fs_buf_release(&b);
                return fs_cli_fail(FS_EXIT_FAILURE, "cannot render %s", argv[1]);
            }
            fputs(fs_buf_str(&b), stdout);
            fs_buf_release(&b);
            return FS_EXIT_OK;
        }
    }
    return fs_cli_fail(FS_EXIT_USAGE, "no reference page \"%s\" (config, api, cli, metrics)",
                       argv[1]);
}
