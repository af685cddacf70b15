/* cmd_report: the reporting commands — `forestall postmortem`, which prints an incident's
 * post-mortem from the daemon's API, or with --local straight from the configured store (after
 * `forestall investigate`, which runs without a daemon). Printing only: the post-mortem itself
 * is built by report/postmortem.c, the same code the daemon runs. */
#include "core/common.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/redact.h"
#include "core/time.h"
#include "report/postmortem.h"
#include "safety/service.h"
#include "store/store.h"

enum { R_URL = 1000, R_LOCAL, R_CONFIG };

/* Print pm ({"incidentId","createdAt","markdown","data",...}) as Markdown or JSON. */
static int print_pm(const json_t *pm, bool json)
{
    if (json)
        return fs_cli_print_json(pm);
    const char *md = json_string_value(json_object_get(pm, "markdown"));
    fputs(md ? md : "", stdout);
    return FS_EXIT_OK;
}

/* The stored post-mortem, else one built now (not stored), read from the configured store. */
static int local_pm(const char *config, int64_t id, json_t **out)
{
    struct fs_err err;
    struct fs_config *cfg = NULL;
    struct fs_buf diag = FS_BUF_INIT(1 << 16);
    if (fs_config_load(config, &cfg, &diag, &err) < 0)
        return fs_cli_diag_fail(&diag, &err);
    fs_buf_release(&diag);
    /* what the daemon would redact, this process redacts too */
    if (cfg->auth.token.value)
        fs_redact_register(cfg->auth.token.value, "forestall_token");
    for (size_t i = 0; i < cfg->auth.tokens.n; i++)
        if (cfg->auth.tokens.items[i].token.value)
            fs_redact_register(cfg->auth.tokens.items[i].token.value, "forestall_token");
    if (cfg->audit.checkpoint_key.value)
        fs_redact_register(cfg->audit.checkpoint_key.value, "audit_key");
    char *path = fs_config_store_path(cfg);
    struct stat st;
    if (!path || stat(path, &st) < 0) {
        fs_cli_fail(FS_EXIT_FAILURE, "no store at %s (see data_dir, store.path, -c)",
                    path ? path : "?");
        free(path);
        fs_config_free(cfg);
        return FS_EXIT_FAILURE;
    }
    struct fs_store_options so = {
        .driver = cfg->store.driver, .path = path, .busy_timeout_ms = cfg->store.busy_timeout_ms};
    struct fs_store *s = NULL;
    int rc = fs_store_open(&so, &s, &err);
    free(path);
    fs_config_free(cfg);
    if (rc < 0)
        return fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
    rc = fs_store_postmortem_get(s, id, out, &err);
    if (rc == 0) {
        json_object_set_new(*out, "stored", json_true());
    } else if (rc == -FS_E_NOT_FOUND) {
        json_t *data;
        char *md;
        int64_t now = fs_now_ms();
        rc = fs_postmortem_build(s, id, now, &data, &md, &err);
        if (rc == 0) {
            char ts[40], idbuf[32];
            snprintf(idbuf, sizeof(idbuf), "inc-%lld", (long long)id);
            *out = json_pack("{s:s,s:s,s:s,s:o,s:b}", "incidentId", idbuf, "createdAt",
                             fs_time_format(now, ts, sizeof(ts)), "markdown", md, "data", data,
                             "stored", false);
            free(md);
            if (!*out)
                rc = fs_err_set(&err, FS_E_NOMEM, NULL, NULL);
        }
    }
    fs_store_close(s);
    if (rc < 0)
        return fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
    return FS_EXIT_OK;
}

int fs_cmd_postmortem(int argc, char **argv)
{
    static const struct option opts[] = {{"url", required_argument, NULL, R_URL},
                                         {"local", no_argument, NULL, R_LOCAL},
                                         {"config", required_argument, NULL, R_CONFIG},
                                         {NULL, 0, NULL, 0}};
    const char *url = NULL, *config = NULL;
    bool local = false, json = false;
    int o;
    while ((o = getopt_long(argc, argv, "o:c:", opts, NULL)) != -1) {
        switch (o) {
        case 'o':
            if (strcmp(optarg, "json") == 0)
                json = true;
            else if (strcmp(optarg, "md") != 0)
                return fs_cli_fail(FS_EXIT_USAGE, "-o: expected md or json");
            break;
        case 'c':
        case R_CONFIG: config = optarg; break;
        case R_URL: url = optarg; break;
        case R_LOCAL: local = true; break;
        default: fs_cli_usage("postmortem", false); return FS_EXIT_USAGE;
        }
    }
    if (argc - optind != 1) {
        fs_cli_usage("postmortem", false);
        return FS_EXIT_USAGE;
    }
    if ((url && local) || (config && !local))
        return fs_cli_fail(FS_EXIT_USAGE, "--url talks to the daemon; -c goes with --local");
    const char *arg = argv[optind];
    int64_t id;
    if (fs_parse_id(arg, "inc", &id) < 0)
        return fs_cli_fail(FS_EXIT_USAGE, "not an incident id: %s (expected inc-42 or 42)", arg);
    json_t *pm = NULL;
    int rc;
    if (local) {
        rc = local_pm(config, id, &pm);
    } else {
        char path[96];
        snprintf(path, sizeof(path), "/api/v1/incidents/inc-%lld/postmortem", (long long)id);
        rc = fs_cli_get_json(url, path, &pm);
    }
    if (rc != FS_EXIT_OK)
        return rc;
    rc = print_pm(pm, json);
    json_decref(pm);
    return rc;
}
