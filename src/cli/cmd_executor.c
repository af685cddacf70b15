/* cmd_executor: `forestall executor` — the process that runs what the gate passed or a person
 * approved (docs/executor.md). It opens the store and the rules itself, resumes what a crash
 * interrupted, then runs ready proposals whenever poked (a byte on stdin) or every second, until
 * stdin ends (the daemon is gone) or SIGTERM/SIGINT, finishing the step in progress first. One
 * executor per data directory (executor.lock). It never investigates and never proposes. */
#include "core/common.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/fault.h"
#include "core/log.h"
#include "core/redact.h"
#include "core/time.h"
#include "exec/exec.h"
#include "report/postmortem.h"
#include "safety/service.h"
#include "store/store.h"
#include "tools/registry.h"

static volatile sig_atomic_t got_stop, got_reload;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        got_reload = 1;
    else
        got_stop = 1;
}

struct xopts {
    const char *file;
    const char *data_dir;
    bool once;
    int64_t proposal; /* 0 = every ready one */
};

struct xstate {
    struct xopts o;
    struct fs_config *cfg;
    struct fs_rules *rules;
    struct fs_writer w;
    bool watch_stdin; /* the daemon's pipe: EOF means stop */
    bool eof;
};

/* Only the executor's crash points: a daemon's store or allocation faults are inherited through
 * the environment but are not meant for this process. */
static int arm_faults(const char *spec)
{
    if (!spec || !*spec)
        return 0;
    char mine[512] = "";
    char buf[512];
    if (fs_strlcpy(buf, spec, sizeof(buf)) < 0)
        return -FS_E_INVALID;
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (strncmp(t, "exec.", 5) == 0)
            snprintf(mine + strlen(mine), sizeof(mine) - strlen(mine), "%s%s", *mine ? "," : "", t);
    return fs_fault_arm(mine);
}

static int load_config(const struct xopts *o, struct fs_config **out, struct fs_err *err)
{
    return fs_cli_load_config(o->file, NULL, o->data_dir, out, err);
}

static void setup_process(const struct fs_config *cfg)
{
    enum fs_log_level lvl = FS_LOG_INFO;
    fs_log_level_parse(cfg->log.level, &lvl);
    fs_log_setup(lvl, strcmp(cfg->log.format, "json") == 0 ? FS_LOG_JSON : FS_LOG_LOGFMT);
    fs_redact_clear_registered();
    fs_config_register_secrets(cfg); /* every secret of the configuration, the model's key too */
}

/* SIGHUP (the daemon reloaded): the config and rules now in force, or keep the old ones. */
static void reload(struct xstate *st)
{
    struct fs_config *cfg = NULL;
    struct fs_rules *rules = NULL;
    struct fs_err err;
    if (load_config(&st->o, &cfg, &err) < 0 || fs_cli_load_rules(cfg, &rules, &err) < 0) {
        FS_LOG_ERROR("executor: reload failed; keeping the running config and rules", "error",
                     err.msg);
        fs_config_free(cfg);
        return;
    }
    fs_rules_release(st->rules);
    fs_config_free(st->cfg);
    st->rules = rules;
    st->cfg = cfg;
    setup_process(cfg);
    FS_LOG_INFO("executor: rules reloaded", "policy", rules->policy->version, "catalog",
                rules->catalog->version);
}

/* Drain pokes from stdin; false once it reached EOF. */
static bool drain_stdin(struct xstate *st, int timeout_ms)
{
    struct pollfd p = {.fd = 0, .events = POLLIN};
    int n = poll(&p, 1, timeout_ms);
    if (n <= 0)
        return true;
    char buf[256];
    ssize_t r = read(0, buf, sizeof(buf));
    if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
        st->eof = true;
    return !st->eof;
}

static bool should_stop(void *arg)
{
    struct xstate *st = arg;
    if (got_stop)
        return true;
    if (st->watch_stdin && !st->eof)
        drain_stdin(st, 0);
    return st->eof;
}

static void say(void *arg, const char *line)
{
    printf("%s\n", line);
    fflush(stdout);
}

/* After a terminal state: the post-mortem and the knowledge write-back. */
static void finished(void *arg, int64_t incident_id, int64_t execution_id, const char *outcome)
{
    struct xstate *st = arg;
    struct fs_err err;
    if (incident_id > 0 &&
        fs_incident_conclude(&st->w, st->cfg, incident_id, fs_now_ms(), &err) < 0)
        FS_LOG_WARN("executor: the post-mortem could not be written", "incident",
                    FS_I64(incident_id), "execution", FS_I64(execution_id), "error", err.msg);
}

enum { OPT_DATA_DIR = 1000, OPT_ONCE, OPT_PROPOSAL };

int fs_cmd_executor(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"data-dir", required_argument, NULL, OPT_DATA_DIR},
                                         {"once", no_argument, NULL, OPT_ONCE},
                                         {"proposal", required_argument, NULL, OPT_PROPOSAL},
                                         {NULL, 0, NULL, 0}};
    struct xstate st = {0};
    int o;
    while ((o = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        switch (o) {
        case 'c': st.o.file = optarg; break;
        case OPT_DATA_DIR: st.o.data_dir = optarg; break;
        case OPT_ONCE: st.o.once = true; break;
        case OPT_PROPOSAL:
            if (fs_parse_id(optarg, "prop", &st.o.proposal) < 0)
                return fs_cli_fail(FS_EXIT_USAGE, "--proposal: expected prop-N, got \"%s\"",
                                   optarg);
            break;
        default: fs_cli_usage("executor", false); return FS_EXIT_USAGE;
        }
    }
    if (optind != argc || (st.o.proposal && !st.o.once)) {
        fs_cli_usage("executor", false);
        return FS_EXIT_USAGE;
    }
    if (arm_faults(getenv("FORESTALL_FAULT")) < 0)
        return fs_cli_fail(FS_EXIT_USAGE, "FORESTALL_FAULT: invalid fault specification");

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct fs_err err;
    if (load_config(&st.o, &st.cfg, &err) < 0)
        return fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
    setup_process(st.cfg);

    int code = FS_EXIT_FAILURE, lockfd = -1;
    struct fs_store *store = NULL;
    struct fs_registry *reg = NULL;
    char *dbpath = fs_config_store_path(st.cfg);
    if (!dbpath) {
        fs_cli_fail(FS_EXIT_FAILURE, "out of memory");
        goto out;
    }
    if (fs_cli_lock_data_dir(st.cfg->data_dir, "executor.lock",
                             "another executor runs on it; one at a time, so that no action "
                             "runs twice",
                             &lockfd, &err) < 0) {
        fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
        goto out;
    }
    struct fs_store_options so = {.driver = st.cfg->store.driver,
                                  .path = dbpath,
                                  .busy_timeout_ms = st.cfg->store.busy_timeout_ms};
    if (fs_store_open(&so, &store, &err) < 0 || fs_cli_load_rules(st.cfg, &st.rules, &err) < 0 ||
        fs_registry_new(&reg, &err) < 0) {
        fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
        goto out;
    }
    fs_store_direct_writer(store, &st.w);
    st.watch_stdin = !st.o.once;
    struct fs_exec_env x = {.w = &st.w,
                            .tools = reg,
                            .finished = finished,
                            .finished_arg = &st,
                            .say = say,
                            .should_stop = should_stop,
                            .stop_arg = &st};

    /* 1. what a crash interrupted */
    x.rules = st.rules;
    x.cfg = st.cfg;
    int n = 0;
    if (fs_exec_resume_all(&x, &n, &err) < 0) {
        fs_cli_fail(FS_EXIT_FAILURE, "resume: %s", err.msg);
        goto out;
    }
    if (n)
        FS_LOG_INFO("executor: resumed interrupted executions", "count", FS_I64(n));

    /* 2. what is ready */
    code = FS_EXIT_OK;
    while (!should_stop(&st)) {
        if (got_reload) {
            got_reload = 0;
            reload(&st);
            x.rules = st.rules;
            x.cfg = st.cfg;
        }
        int ran = 0, held = 0;
        int rc;
        if (st.o.proposal) {
            struct fs_exec_report rep;
            rc = fs_exec_run_proposal(&x, st.o.proposal, &rep, &err);
            if (rc == 0 && (rep.status == FS_EXEC_SKIPPED || rep.status == FS_EXEC_HELD))
                printf("prop-%" PRId64 ": nothing run: %s\n", st.o.proposal, rep.reason);
        } else {
            rc = fs_exec_run_ready(&x, &ran, &held, &err);
            if (rc == 0 && st.o.once && held)
                printf("%d approved proposal(s) wait: the kill switch is on\n", held);
        }
        fflush(stdout);
        if (rc < 0) {
            /* the store is in trouble: exit, and let the supervisor start a fresh process */
            fs_cli_fail(FS_EXIT_FAILURE, "executor: %s", err.msg);
            code = FS_EXIT_FAILURE;
            break;
        }
        if (st.o.once)
            break;
        drain_stdin(&st, 1000);
    }
out:
    fs_registry_free(reg);
    fs_store_close(store);
    fs_rules_release(st.rules);
    fs_config_free(st.cfg);
    if (lockfd >= 0)
        close(lockfd);
    free(dbpath);
    return code;
}
