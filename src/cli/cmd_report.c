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

enum { R_URL = 1000, R_LOCAL, R_CONFIG, R_SINCE };

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
    fs_config_register_secrets(cfg); /* every secret of the configuration, the model's key too */
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

/* A rate as "12/40 (30.0%)", or "none yet" without a denominator. */
static void print_rate(const char *label, const json_t *o, const char *num, const char *den,
                       const char *rate)
{
    json_t *r = json_object_get(o, rate);
    if (json_is_number(r))
        printf("%-30s %lld/%lld (%.1f%%)\n", label,
               (long long)json_integer_value(json_object_get(o, num)),
               (long long)json_integer_value(json_object_get(o, den)), 100 * json_number_value(r));
    else
        printf("%-30s none yet (0 %s)\n", label, den);
}

int fs_cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {{"url", required_argument, NULL, R_URL},
                                         {"since", required_argument, NULL, R_SINCE},
                                         {NULL, 0, NULL, 0}};
    const char *url = NULL, *since = NULL;
    bool json = false;
    int o;
    while ((o = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        switch (o) {
        case 'o':
            if (fs_cli_output_json(optarg, &json) < 0)
                return FS_EXIT_USAGE;
            break;
        case R_URL: url = optarg; break;
        case R_SINCE: since = optarg; break;
        default: fs_cli_usage("report", false); return FS_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fs_cli_usage("report", false);
        return FS_EXIT_USAGE;
    }
    struct fs_buf path = FS_BUF_INIT(1024);
    fs_buf_puts(&path, "/api/v1/kpis");
    if (since) {
        int64_t t, ago;
        char ts[40];
        if (fs_time_parse_rfc3339(since, (size_t)-1, &t) < 0) {
            if (fs_duration_parse(since, &ago) < 0) {
                fs_buf_release(&path);
                return fs_cli_fail(FS_EXIT_USAGE,
                                   "--since: expected an RFC 3339 time or a duration such as 7d");
            }
            t = fs_now_ms() - ago;
        }
        fs_client_query(&path, "since", fs_time_format(t, ts, sizeof(ts)));
    }
    json_t *k = NULL;
    int rc = fs_cli_get_json(url, fs_buf_str(&path), &k);
    fs_buf_release(&path);
    if (rc != FS_EXIT_OK)
        return rc;
    if (json) {
        rc = fs_cli_print_json(k);
        json_decref(k);
        return rc;
    }
    printf("KPIs of incidents created %s .. %s\n", json_string_value(json_object_get(k, "since")),
           json_string_value(json_object_get(k, "until")));
    json_t *t = json_object_get(k, "timeToFirstUsefulAction");
    if (json_is_number(json_object_get(t, "medianSeconds")))
        printf("%-30s median %.1fs, p90 %.1fs (%lld incidents)\n", "time to first useful action",
               json_number_value(json_object_get(t, "medianSeconds")),
               json_number_value(json_object_get(t, "p90Seconds")),
               (long long)json_integer_value(json_object_get(t, "incidents")));
    else
        printf("%-30s none yet (no action has succeeded)\n", "time to first useful action");
    print_rate("handled without a human", json_object_get(k, "handledWithoutHuman"), "withoutHuman",
               "ended", "rate");
    print_rate("false remediation", json_object_get(k, "falseRemediation"), "failedOrRolledBack",
               "executions", "rate");
    print_rate("escalation precision", json_object_get(k, "escalationPrecision"), "warranted",
               "escalated", "precision");
    print_rate("rollback success", json_object_get(k, "rollbackSuccess"), "rolledBack", "attempted",
               "rate");
    json_decref(k);
    return FS_EXIT_OK;
}
