/* cmd_replay: `forestall replay --since T` — re-run the investigations recorded since T in
 * shadow (eval/replay.h: scratch stores, recorded tool results, the production planner and
 * gate) under another policy, catalog or planner, and print what would have changed. Reads the
 * configured store without taking the data directory's lock: a daemon may be running on it. */
#include "core/common.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/json.h"
#include "core/log.h"
#include "core/time.h"
#include "eval/replay.h"
#include "safety/service.h"
#include "store/store.h"

enum {
    R_SINCE = 256,
    R_UNTIL,
    R_POLICY,
    R_CATALOG,
    R_PLAYBOOKS,
    R_PLANNER,
    R_DATA_DIR,
    R_LIMIT,
};

struct ropts {
    const char *since, *until, *policy, *catalog, *playbooks, *planner, *config, *data_dir;
    bool json;
    int limit;
};

/* --since/--until: an RFC 3339 time or a duration back from now, as `forestall report`. */
static int parse_time(const char *opt, const char *s, int64_t now, int64_t *out)
{
    int64_t ago;
    if (fs_time_parse_rfc3339(s, (size_t)-1, out) == 0 && *out != FS_TIME_UNSET)
        return 0;
    if (fs_duration_parse(s, &ago) == 0) {
        *out = now - ago;
        return 0;
    }
    return fs_cli_fail(FS_EXIT_USAGE, "%s: expected an RFC 3339 time or a duration such as 7d",
                       opt);
}

static int parse(int argc, char **argv, struct ropts *o)
{
    static const struct option opts[] = {{"since", required_argument, NULL, R_SINCE},
                                         {"until", required_argument, NULL, R_UNTIL},
                                         {"policy", required_argument, NULL, R_POLICY},
                                         {"catalog", required_argument, NULL, R_CATALOG},
                                         {"playbooks", required_argument, NULL, R_PLAYBOOKS},
                                         {"planner", required_argument, NULL, R_PLANNER},
                                         {"config", required_argument, NULL, 'c'},
                                         {"data-dir", required_argument, NULL, R_DATA_DIR},
                                         {"output", required_argument, NULL, 'o'},
                                         {"limit", required_argument, NULL, R_LIMIT},
                                         {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof(*o));
    o->planner = "playbook";
    int c;
    while ((c = getopt_long(argc, argv, "c:o:", opts, NULL)) != -1) {
        switch (c) {
        case R_SINCE: o->since = optarg; break;
        case R_UNTIL: o->until = optarg; break;
        case R_POLICY: o->policy = optarg; break;
        case R_CATALOG: o->catalog = optarg; break;
        case R_PLAYBOOKS: o->playbooks = optarg; break;
        case R_PLANNER: o->planner = optarg; break;
        case 'c': o->config = optarg; break;
        case R_DATA_DIR: o->data_dir = optarg; break;
        case 'o':
            if (fs_cli_output_json(optarg, &o->json) < 0)
                return FS_EXIT_USAGE;
            break;
        case R_LIMIT: {
            char *end = NULL;
            errno = 0;
            long n = strtol(optarg, &end, 10);
            if (errno || !*optarg || *end || n < 0 || n > 1000000)
                return fs_cli_fail(FS_EXIT_USAGE, "--limit: expected a number from 0 (all)");
            o->limit = (int)n;
            break;
        }
        default: fs_cli_usage("replay", false); return FS_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fs_cli_usage("replay", false);
        return FS_EXIT_USAGE;
    }
    if (!o->since)
        return fs_cli_fail(FS_EXIT_USAGE, "--since is required (an RFC 3339 time or a "
                                          "duration such as 7d)");
    if (!fs_eval_planner_find(o->planner)) {
        struct fs_buf names = FS_BUF_INIT(4096);
        fs_eval_planner_names(&names);
        fs_cli_fail(FS_EXIT_USAGE, "--planner: no planner \"%s\" (available: %s)", o->planner,
                    fs_buf_str(&names));
        fs_buf_release(&names);
        return FS_EXIT_USAGE;
    }
    return FS_EXIT_OK;
}

/* ---- printing -------------------------------------------------------------------------------- */

/* "journal_vacuum execute (risk 35)", "escalated", "proposed journal_vacuum (refused)". */
static void side_text(struct fs_buf *b, const json_t *s)
{
    const char *outcome = json_string_value(json_object_get(s, "outcome"));
    const char *action = json_string_value(json_object_get(s, "action"));
    const char *decision = json_string_value(json_object_get(s, "decision"));
    json_t *score = json_object_get(json_object_get(s, "risk"), "score");
    if (!action) {
        fs_buf_puts(b, outcome ? outcome : "?");
        return;
    }
    fs_buf_printf(b, "%s %s", action, decision ? decision : "(no decision)");
    if (json_is_integer(score))
        fs_buf_printf(b, " (risk %" JSON_INTEGER_FORMAT ")", json_integer_value(score));
}

static void print_text(const json_t *rep)
{
    json_t *sum = json_object_get(rep, "summary");
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(rep, "incidents"), i, e)
    {
        const char *verdict = json_string_value(json_object_get(e, "verdict"));
        if (fs_streq(verdict, "same"))
            continue;
        struct fs_buf b = FS_BUF_INIT(1 << 16);
        fs_buf_printf(&b, "%s %s: ", json_string_value(json_object_get(e, "incident")),
                      verdict ? verdict : "?");
        if (fs_streq(verdict, "skipped")) {
            fs_buf_puts(&b, json_string_value(json_array_get(json_object_get(e, "notes"), 0)));
        } else {
            side_text(&b, json_object_get(e, "recorded"));
            fs_buf_puts(&b, " -> ");
            side_text(&b, json_object_get(e, "replayed"));
            if (fs_streq(verdict, "params_changed")) {
                char *p1 =
                    fs_json_compact(json_object_get(json_object_get(e, "recorded"), "params"));
                char *p2 =
                    fs_json_compact(json_object_get(json_object_get(e, "replayed"), "params"));
                fs_buf_printf(&b, "; params %s -> %s", p1 ? p1 : "?", p2 ? p2 : "?");
                free(p1);
                free(p2);
            }
            json_t *un = json_object_get(e, "unrecorded");
            if (json_array_size(un) > 0) {
                json_t *first = json_array_get(un, 0);
                char *args = fs_json_compact(json_object_get(first, "args"));
                fs_buf_printf(&b, "; %zu call(s) not recorded, first %s %s", json_array_size(un),
                              json_string_value(json_object_get(first, "tool")),
                              args ? args : "{}");
                free(args);
            }
        }
        printf("%s\n", fs_buf_str(&b));
        fs_buf_release(&b);
    }
    int64_t n = json_integer_value(json_object_get(sum, "replayed"));
    printf("replayed %" PRId64 " incident%s since %s", n, n == 1 ? "" : "s",
           json_string_value(json_object_get(sum, "since")));
    static const enum fs_replay_verdict order[] = {
        FS_RV_SAME,           FS_RV_DECISION_FLIPPED, FS_RV_ACTION_CHANGED,
        FS_RV_PARAMS_CHANGED, FS_RV_OUTCOME_CHANGED,  FS_RV_DIVERGED};
    for (size_t k = 0; k < FS_ARRAY_LEN(order); k++) {
        int64_t c = json_integer_value(json_object_get(sum, fs_replay_verdict_name(order[k])));
        printf("%s %" PRId64 " %s", k == 0 ? ":" : ",", c, fs_replay_verdict_label(order[k], c));
    }
    int64_t skipped = json_integer_value(json_object_get(sum, "skipped"));
    if (skipped)
        printf(", %" PRId64 " skipped", skipped);
    printf(" (policy %s, planner %s)\n", json_string_value(json_object_get(sum, "policy")),
           json_string_value(json_object_get(sum, "planner")));
}

/* ---- the command ----------------------------------------------------------------------------- */

int fs_cmd_replay(int argc, char **argv)
{
    struct ropts o;
    int code = parse(argc, argv, &o);
    if (code != FS_EXIT_OK)
        return code;
    int64_t now = fs_now_ms(), since, until = now;
    if (parse_time("--since", o.since, now, &since) != 0 ||
        (o.until && parse_time("--until", o.until, now, &until) != 0))
        return FS_EXIT_USAGE;
    if (until <= since)
        return fs_cli_fail(FS_EXIT_USAGE, "--until must be later than --since");
    fs_log_setup(FS_LOG_WARN, FS_LOG_LOGFMT);
    struct fs_err err = {0};
    struct fs_config *cfg = NULL;
    struct fs_rules *rules = NULL;
    struct fs_store *store = NULL;
    json_t *report = NULL;
    char *path = NULL;
    code = FS_EXIT_FAILURE;
    if (fs_cli_load_config(o.config, NULL, o.data_dir, &cfg, &err) < 0) {
        fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
        goto out;
    }
    struct fs_buf diag = FS_BUF_INIT(1 << 16);
    if (fs_rules_load(o.policy ? o.policy : cfg->safety.policy,
                      o.catalog ? o.catalog : cfg->safety.catalog, cfg->context.graph, &rules,
                      &diag, &err) < 0) {
        code = fs_cli_diag_fail(&diag, &err);
        goto out;
    }
    fs_buf_release(&diag);
    /* the recorded store: read only, no lock (a daemon may own it); never create one */
    path = fs_config_store_path(cfg);
    struct stat st;
    if (!path || stat(path, &st) < 0) {
        fs_cli_fail(FS_EXIT_FAILURE, "no store at %s (see data_dir, --data-dir, -c)",
                    path ? path : "?");
        goto out;
    }
    struct fs_store_options so = {
        .driver = cfg->store.driver, .path = path, .busy_timeout_ms = cfg->store.busy_timeout_ms};
    if (fs_store_open(&so, &store, &err) < 0) {
        fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
        goto out;
    }
    struct fs_replay_opts ro = {
        .store = store,
        .cfg = cfg,
        .rules = rules,
        .planner = fs_eval_planner_find(o.planner),
        .playbooks_dir = o.playbooks ? o.playbooks : cfg->dispatch.playbooks,
        .since_ms = since,
        .until_ms = until,
        .limit = o.limit,
    };
    if (fs_replay_run(&ro, &report, &err) < 0) {
        fs_cli_fail(FS_EXIT_FAILURE, "replay: %s", err.msg);
        goto out;
    }
    if (o.json)
        fs_cli_print_json(report);
    else
        print_text(report);
    code = FS_EXIT_OK;
out:
    json_decref(report);
    if (store)
        fs_store_close(store);
    free(path);
    if (rules)
        fs_rules_release(rules);
    fs_config_free(cfg);
    return code;
}
