/* cmd_runner: `forestall runner run inc-N` — Claude Code investigates one recorded incident
 * through the stdio gateway, without a daemon (the live trace on stderr, the outcome on
 * stdout) — and `forestall runner manifest inc-N`, the Kubernetes Job that would do the same
 * in a cluster (docs/runner.md). */
#include "core/common.h"

#include <sys/resource.h>

#include <ctype.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/log.h"
#include "core/time.h"
#include "planner/investigate.h"
#include "report/postmortem.h"
#include "runner/runner.h"
#include "safety/service.h"
#include "store/store.h"
#include "tools/registry.h"

enum { R_DATA_DIR = 256, R_MAX_TURNS, R_WALL_TIME };

struct ropts {
    const char *config, *data_dir, *incident;
    int max_turns;
    int64_t wall_ms;
    const char *output;
};

static int parse(int argc, char **argv, const char *name, bool run, struct ropts *o)
{
    static const struct option opts[] = {{"data-dir", required_argument, NULL, R_DATA_DIR},
                                         {"max-turns", required_argument, NULL, R_MAX_TURNS},
                                         {"wall-time", required_argument, NULL, R_WALL_TIME},
                                         {"config", required_argument, NULL, 'c'},
                                         {"output", required_argument, NULL, 'o'},
                                         {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof(*o));
    int c;
    while ((c = getopt_long(argc, argv, "c:o:", opts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'c': o->config = optarg; break;
        case 'o': o->output = optarg; break;
        case R_DATA_DIR: o->data_dir = optarg; break;
        case R_MAX_TURNS:
            if (!run)
                goto usage;
            o->max_turns = (int)strtol(optarg, &end, 10);
            if (!*optarg || *end || o->max_turns < 1 || o->max_turns > 200)
                return fs_cli_fail(FS_EXIT_USAGE, "--max-turns: expected 1 to 200");
            break;
        case R_WALL_TIME: {
            if (!run)
                goto usage;
            long secs = strtol(optarg, &end, 10);
            if (*optarg && !*end && secs > 0)
                o->wall_ms = secs * 1000; /* a bare number is seconds */
            else if (fs_duration_parse(optarg, &o->wall_ms) < 0 || o->wall_ms < 1000)
                return fs_cli_fail(FS_EXIT_USAGE,
                                   "--wall-time: expected seconds or a duration such as 90s, 5m");
            break;
        }
        default: goto usage;
        }
    }
    if (optind + 1 != argc)
        goto usage;
    o->incident = argv[optind];
    if (o->output && strcmp(o->output, "json") != 0 &&
        strcmp(o->output, run ? "text" : "yaml") != 0)
        goto usage;
    return FS_EXIT_OK;
usage:
    fs_cli_usage(name, false);
    return FS_EXIT_USAGE;
}

/* ---- the live trace (stderr) ------------------------------------------------------------- */

static void trace_line(void *arg, const char *kind, const char *text, const json_t *data)
{
    (void)data;
    int64_t *t0 = arg;
    fs_cli_trace_print(stderr, (double)(fs_now_ms() - *t0) / 1000.0, kind, text);
    fflush(stderr);
}

/* ---- what both commands load ---------------------------------------------------------------- */

struct env {
    struct fs_config *cfg;
    struct fs_rules *rules;
    struct fs_registry *reg;
    struct fs_store *store;
    struct fs_writer w;
    int64_t incident;
};

static void env_release(struct env *e)
{
    fs_cli_close_store(e->cfg, e->store);
    fs_registry_free(e->reg);
    fs_rules_release(e->rules);
    fs_config_free(e->cfg);
}

static int env_open(const struct ropts *o, bool run, struct env *e)
{
    memset(e, 0, sizeof(*e));
    struct fs_err err = {0};
    if (fs_parse_id(o->incident, "inc", &e->incident) < 0)
        return fs_cli_fail(FS_EXIT_USAGE, "%s: expected an incident id such as inc-12",
                           o->incident);
    if (fs_cli_load_config(o->config, NULL, o->data_dir, &e->cfg, &err) < 0)
        return fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
    fs_config_register_secrets(e->cfg); /* none of them may reach the trace or the record */
    if (fs_cli_load_rules(e->cfg, &e->rules, &err) < 0 || fs_registry_new(&e->reg, &err) < 0)
        return fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
    if (run) {
        /* Claude Code's stdio gateway (`forestall mcp serve`) takes the data directory's lock
         * for the run: a daemon holding it dispatches Claude Code itself */
        int fd = -1;
        if (fs_cli_lock_data_dir(e->cfg->data_dir, "forestall.lock",
                                 "a forestall daemon runs on it; set dispatch.planner: "
                                 "claude_code there instead",
                                 &fd, &err) < 0)
            return fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
        close(fd);
    }
    if (fs_cli_open_store(e->cfg, &e->store, &err) < 0)
        return fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
    fs_store_direct_writer(e->store, &e->w);
    return FS_EXIT_OK;
}

/* ---- runner run --------------------------------------------------------------------------- */

int fs_cmd_runner_run(int argc, char **argv)
{
    if (fs_cli_wants_help(argc, argv, "runner run"))
        return FS_EXIT_OK;
    struct ropts o;
    int code = parse(argc, argv, "runner run", true, &o);
    if (code != FS_EXIT_OK)
        return code;
    fs_log_setup(FS_LOG_WARN, FS_LOG_LOGFMT);
    struct env e;
    if ((code = env_open(&o, true, &e)) != FS_EXIT_OK) {
        env_release(&e);
        return code;
    }
    code = FS_EXIT_FAILURE;
    struct fs_err err = {0};
    struct fs_playbooks *pbs = NULL;
    struct fs_buf diag = FS_BUF_INIT(1 << 16);
    if (fs_playbooks_load(e.cfg->dispatch.playbooks, e.reg, e.rules->catalog, &pbs, &diag, &err) <
        0) {
        code = fs_cli_diag_fail(&diag, &err);
        env_release(&e);
        return code;
    }
    fs_buf_release(&diag);
    int64_t t0 = fs_now_ms();
    struct fs_runner_opts ro = {.cfg = e.cfg,
                                .tools = e.reg,
                                .catalog = e.rules->catalog,
                                .max_turns = o.max_turns,
                                .wall_ms = o.wall_ms};
    struct fs_investigation_opts io = {.w = &e.w,
                                       .cfg = e.cfg,
                                       .rules = e.rules,
                                       .tools = e.reg,
                                       .playbooks = pbs,
                                       .trace = trace_line,
                                       .trace_arg = &t0,
                                       .runner = &ro};
    struct fs_investigation_outcome out;
    if (fs_investigate(&io, e.incident, &out, &err) < 0) {
        fs_cli_fail(FS_EXIT_FAILURE, "inc-%" PRId64 ": %s", e.incident, err.msg);
        goto done;
    }
    /* Claude Code and what it started were reaped: the largest of them is its peak */
    struct rusage ru;
    long max_rss_kb = getrusage(RUSAGE_CHILDREN, &ru) == 0 ? ru.ru_maxrss : 0;
    if (fs_incident_state_final(out.state) &&
        fs_incident_conclude(&e.w, e.cfg, e.incident, fs_now_ms(), &err) < 0)
        fprintf(stderr, "forestall: post-mortem: %s\n", err.msg);
    char prop[32] = "";
    if (out.proposal_id)
        snprintf(prop, sizeof(prop), "prop-%" PRId64, out.proposal_id);
    if (o.output && !strcmp(o.output, "json")) {
        char inc[32];
        snprintf(inc, sizeof(inc), "inc-%" PRId64, e.incident);
        json_t *j = json_pack(
            "{s:s,s:s,s:s,s:s?,s:s?,s:s?,s:s?,s:O?,s:I,s:I}", "incident", inc, "state",
            fs_incident_state_name(out.state), "planner", out.planner, "proposal",
            prop[0] ? prop : NULL, "decision", out.decision[0] ? out.decision : NULL, "rootCause",
            out.plan.root_cause, "summary", out.plan.summary, "runner", out.runner, "childMaxRssKb",
            (json_int_t)max_rss_kb, "wallMs", (json_int_t)(fs_now_ms() - t0));
        fs_cli_print_json(j);
        json_decref(j);
    } else {
        json_t *r = out.runner;
        printf("inc-%" PRId64 ": %s (claude_code: %lld turns, $%.4f, %.1f s, peak RSS %ld MiB)\n",
               e.incident, fs_incident_state_name(out.state),
               (long long)json_integer_value(json_object_get(r, "turns")),
               json_number_value(json_object_get(r, "costUsd")),
               (double)json_integer_value(json_object_get(r, "wallMs")) / 1000.0,
               max_rss_kb / 1024);
        if (prop[0])
            printf("proposal: %s, the gate said %s\n", prop, out.decision);
        if (out.plan.summary)
            printf("summary: %s\n", out.plan.summary);
    }
    code = FS_EXIT_OK;
    fs_investigation_outcome_release(&out);
done:
    fs_playbooks_free(pbs);
    env_release(&e);
    return code;
}

/* ---- runner manifest --------------------------------------------------------------------- */

/* YAML for a JSON value, block style; every string double-quoted JSON-style (valid YAML). */
static void yaml_scalar(const json_t *v)
{
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    fputs(s ? s : "null", stdout);
    free(s);
}

static bool plain_key(const char *k)
{
    if (!*k)
        return false;
    for (const char *c = k; *c; c++)
        if (!isalnum((unsigned char)*c) && !strchr("_-./", *c))
            return false;
    return true;
}

static bool empty_container(const json_t *v)
{
    return (json_is_object(v) && !json_object_size(v)) || (json_is_array(v) && !json_array_size(v));
}

static void yaml_value(const json_t *v, int indent);

static void yaml_key(const char *k)
{
    if (plain_key(k)) {
        fputs(k, stdout);
    } else {
        json_t *s = json_string(k);
        yaml_scalar(s);
        json_decref(s);
    }
    fputc(':', stdout);
}

static void yaml_value(const json_t *v, int indent)
{
    if (json_is_object(v) && json_object_size(v)) {
        const char *k;
        json_t *e;
        bool first = true;
        json_object_foreach((json_t *)v, k, e)
        {
            if (!first)
                printf("%*s", indent, "");
            first = false;
            yaml_key(k);
            if ((json_is_object(e) || json_is_array(e)) && !empty_container(e)) {
                printf("\n%*s", indent + 2, "");
                yaml_value(e, indent + 2);
            } else {
                fputc(' ', stdout);
                yaml_value(e, indent + 2);
            }
        }
        return;
    }
    if (json_is_array(v) && json_array_size(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            if (i)
                printf("%*s", indent, "");
            fputs("- ", stdout);
            yaml_value(e, indent + 2);
        }
        return;
    }
    if (json_is_object(v))
        fputs("{}\n", stdout);
    else if (json_is_array(v))
        fputs("[]\n", stdout);
    else {
        yaml_scalar(v);
        fputc('\n', stdout);
    }
}

int fs_cmd_runner_manifest(int argc, char **argv)
{
    if (fs_cli_wants_help(argc, argv, "runner manifest"))
        return FS_EXIT_OK;
    struct ropts o;
    int code = parse(argc, argv, "runner manifest", false, &o);
    if (code != FS_EXIT_OK)
        return code;
    fs_log_setup(FS_LOG_WARN, FS_LOG_LOGFMT);
    struct env e;
    if ((code = env_open(&o, false, &e)) != FS_EXIT_OK) {
        env_release(&e);
        return code;
    }
    struct fs_err err = {0};
    struct fs_investigation_opts io = {.w = &e.w, .cfg = e.cfg, .rules = e.rules};
    json_t *scope = fs_investigation_scope(&io, e.incident, &err);
    json_t *allowed = fs_runner_allowed_tools(e.cfg, e.reg, e.rules->catalog);
    json_t *job = scope && allowed ? fs_runner_manifest(e.cfg, scope, e.incident, allowed) : NULL;
    if (!scope)
        code = fs_cli_fail(FS_EXIT_FAILURE, "%s: %s", o.incident, err.msg);
    else if (!job)
        code = fs_cli_fail(FS_EXIT_FAILURE, "out of memory");
    else if (o.output && !strcmp(o.output, "json"))
        fs_cli_print_json(job);
    else
        yaml_value(job, 0);
    json_decref(job);
    json_decref(allowed);
    json_decref(scope);
    env_release(&e);
    return code;
}
