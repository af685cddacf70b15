/* cmd_engine: `forestall investigate FILE` — the whole loop for one alert without a daemon (seed
 * 000 Phase 1: an operator hands over an alert): record it, investigate with the playbooks,
 * send the proposal through the gate, hand an approved action to the executor process, and
 * print the trace live, then the post-mortem — and `forestall playbook list|check`. */
#include "core/common.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/json.h"
#include "core/log.h"
#include "core/redact.h"
#include "core/time.h"
#include "incidents/incidents.h"
#include "intake/ingest.h"
#include "mcp/hub.h"
#include "planner/investigate.h"
#include "planner/llm.h"
#include "planner/playbooktest.h"
#include "report/postmortem.h"
#include "safety/service.h"
#include "tools/registry.h"

#define MAX_INPUT (4 << 20)

enum { O_SOURCE = 256, O_NO_EXECUTE, O_DATA_DIR, O_PLAYBOOKS, O_PLANNER };

struct iopts {
    const char *config;
    const char *data_dir;
    const char *source;
    const char *file;
    const char *planner; /* NULL = as dispatch.planner / dispatch.llm_alerts say */
    bool no_execute;
    bool json;
};

/* ---- the live trace ------------------------------------------------------------------------ */

struct tracer {
    bool json;
    int64_t t0;
};

void fs_cli_trace_print(FILE *f, double secs, const char *kind, const char *text)
{
    static const struct {
        const char *kind, *mark;
    } marks[] = {{"reasoning", "  think"}, {"call", "  call "}, {"result", "    ->"},
                 {"decision", "  plan "},  {"gate", "  gate "}, {"state", "  state"}};
    const char *mark = "  ";
    for (size_t i = 0; i < FS_ARRAY_LEN(marks); i++)
        if (strcmp(marks[i].kind, kind) == 0)
            mark = marks[i].mark;
    fprintf(f, "[%6.2fs] %s %s\n", secs, mark, text);
}

static void trace_line(void *arg, const char *kind, const char *text, const json_t *data)
{
    struct tracer *t = arg;
    double secs = (double)(fs_now_ms() - t->t0) / 1000.0;
    if (t->json) {
        json_t *o = json_pack("{s:f,s:s,s:s}", "t", secs, "kind", kind, "text", text);
        if (data)
            json_object_set(o, "data", (json_t *)data);
        char *s = json_dumps(o, JSON_COMPACT);
        if (s)
            printf("%s\n", s);
        free(s);
        json_decref(o);
    } else {
        fs_cli_trace_print(stdout, secs, kind, text);
    }
    fflush(stdout);
}

/* ---- setup ---------------------------------------------------------------------------------- */

static int parse(int argc, char **argv, struct iopts *o)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"source", required_argument, NULL, O_SOURCE},
                                         {"data-dir", required_argument, NULL, O_DATA_DIR},
                                         {"no-execute", no_argument, NULL, O_NO_EXECUTE},
                                         {"planner", required_argument, NULL, O_PLANNER},
                                         {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof(*o));
    int c;
    while ((c = getopt_long(argc, argv, "c:o:", opts, NULL)) != -1) {
        switch (c) {
        case 'c': o->config = optarg; break;
        case 'o':
            if (fs_cli_output_json(optarg, &o->json) < 0)
                return FS_EXIT_USAGE;
            break;
        case O_SOURCE: o->source = optarg; break;
        case O_DATA_DIR: o->data_dir = optarg; break;
        case O_NO_EXECUTE: o->no_execute = true; break;
        case O_PLANNER:
            if (strcmp(optarg, "playbook") != 0 && strcmp(optarg, "llm") != 0)
                return fs_cli_fail(FS_EXIT_USAGE, "--planner: playbook or llm");
            o->planner = optarg;
            break;
        default: fs_cli_usage("investigate", false); return FS_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fs_cli_usage("investigate", false);
        return FS_EXIT_USAGE;
    }
    o->file = argv[optind];
    return FS_EXIT_OK;
}

static int read_input(const char *file, struct fs_buf *b)
{
    FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "rb");
    if (!f)
        return fs_cli_fail(FS_EXIT_FAILURE, "%s: %s", file, strerror(errno));
    char chunk[65536];
    size_t n;
    int rc = FS_EXIT_OK;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (fs_buf_append(b, chunk, n) < 0) {
            rc = fs_cli_fail(FS_EXIT_FAILURE, "%s: larger than %d bytes", file, MAX_INPUT);
            break;
        }
    }
    if (f != stdin)
        fclose(f);
    return rc;
}

/* Which parser: --source, else the document's shape (Alertmanager and Grafana webhooks both
 * carry "alerts"; Grafana's also "orgId"/"state"). */
static int detect_source(const char *opt, const char *body, size_t len, enum fs_alert_source *out)
{
    if (opt) {
        static const struct {
            const char *name;
            enum fs_alert_source src;
        } names[] = {{"alertmanager", FS_SRC_ALERTMANAGER},
                     {"grafana", FS_SRC_GRAFANA},
                     {"event", FS_SRC_EVENT}};
        for (size_t i = 0; i < FS_ARRAY_LEN(names); i++) {
            if (strcmp(opt, names[i].name) == 0) {
                *out = names[i].src;
                return 0;
            }
        }
        return fs_cli_fail(FS_EXIT_USAGE, "--source: expected alertmanager, grafana or event");
    }
    json_t *doc = json_loadb(body, len, 0, NULL);
    if (!doc)
        return fs_cli_fail(FS_EXIT_FAILURE, "the input is not JSON");
    if (!json_object_get(doc, "alerts"))
        *out = FS_SRC_EVENT;
    else if (json_object_get(doc, "orgId") || json_object_get(doc, "state"))
        *out = FS_SRC_GRAFANA;
    else
        *out = FS_SRC_ALERTMANAGER;
    json_decref(doc);
    return 0;
}

struct apply {
    const struct fs_config *cfg;
    const struct fs_alert_batch *batch;
    int64_t now;
    struct fs_apply_stats stats;
};

static int apply_tx(struct fs_store *s, void *arg, struct fs_err *err)
{
    struct apply *a = arg;
    struct fs_incidents_params p;
    fs_incidents_params_from_config(a->cfg, &p);
    memset(&a->stats, 0, sizeof(a->stats));
    return fs_incidents_apply(s, &p, a->batch, a->now, &a->stats, err);
}

/* The incident the alert landed in: a new one, else the most recently updated open one. */
static int64_t incident_of(struct fs_store *s)
{
    int64_t ids[64];
    int n = 0;
    struct fs_err err;
    if (fs_store_incidents_in_state(s, "new", ids, 64, &n, &err) == 0 && n > 0)
        return ids[n - 1];
    struct fs_incident_filter f = {.status = "open", .since_ms = FS_TIME_UNSET, .limit = 1};
    json_t *list = NULL;
    int64_t id = 0;
    if (fs_store_incidents_list(s, &f, &list, &err) == 0)
        fs_parse_id(json_string_value(json_object_get(json_array_get(list, 0), "id")), "inc", &id);
    json_decref(list);
    return id;
}

/* Run the executor as its own process for one proposal, its lines going to our stdout. */
static int run_executor(const struct iopts *o, int64_t proposal_id)
{
    char prop[32];
    snprintf(prop, sizeof(prop), "prop-%" PRId64, proposal_id);
    const char *argv[12];
    int n = 0;
    argv[n++] = "forestall";
    argv[n++] = "executor";
    argv[n++] = "--once";
    argv[n++] = "--proposal";
    argv[n++] = prop;
    if (o->config) {
        argv[n++] = "-c";
        argv[n++] = o->config;
    }
    if (o->data_dir) {
        argv[n++] = "--data-dir";
        argv[n++] = o->data_dir;
    }
    argv[n] = NULL;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return fs_cli_fail(FS_EXIT_FAILURE, "fork: %s", strerror(errno));
    if (pid == 0) {
        execv("/proc/self/exe", (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr, "forestall: the executor process ended with %s %d\n",
                WIFEXITED(status) ? "status" : "signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    return FS_EXIT_OK;
}

/* `investigate -o json`'s last line: {incident, state, outcome, planner (with the model's usage),
 * rootCause, summary, proposals: [{id, action, params, decision, risk, reasons}], executions:
 * [{id, action, outcome, result}]}. */
static json_t *summary_json(struct fs_store *s, int64_t inc, const json_t *usage,
                            const json_t *pmdata)
{
    struct fs_err err;
    json_t *incident = NULL, *execs = NULL;
    if (fs_store_incident_get(s, inc, &incident, &err) < 0)
        return NULL;
    fs_store_executions_list(s, inc, &execs, &err);
    json_t *props = json_array(), *ran = json_array();
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(pmdata, "actions"), i, p) json_array_append_new(
        props,
        json_pack("{s:O?,s:O?,s:O?,s:O?,s:O?,s:O?}", "id", json_object_get(p, "proposal"), "action",
                  json_object_get(p, "action"), "params", json_object_get(p, "params"), "decision",
                  json_object_get(p, "decision"), "risk", json_object_get(p, "risk"), "reasons",
                  json_object_get(p, "reasons")));
    json_array_foreach(execs, i, p) json_array_append_new(
        ran, json_pack("{s:O?,s:O?,s:O?,s:O?}", "id", json_object_get(p, "id"), "action",
                       json_object_get(p, "action"), "outcome", json_object_get(p, "outcome"),
                       "result", json_object_get(p, "result")));
    const json_t *root = json_object_get(pmdata, "rootCause");
    json_t *o = json_pack(
        "{s:O?,s:O?,s:O?,s:O?,s:O?,s:O?,s:o,s:o}", "incident", json_object_get(incident, "id"),
        "state", json_object_get(incident, "state"), "outcome", json_object_get(pmdata, "outcome"),
        "planner", usage, "rootCause", json_object_get(root, "label"), "summary",
        json_object_get(pmdata, "summary"), "proposals", props, "executions", ran);
    json_decref(incident);
    json_decref(execs);
    return o;
}

int fs_cmd_investigate(int argc, char **argv)
{
    if (fs_cli_wants_help(argc, argv, "investigate"))
        return FS_EXIT_OK;
    struct iopts o;
    int code = parse(argc, argv, &o);
    if (code != FS_EXIT_OK)
        return code;
    struct fs_buf input = FS_BUF_INIT(MAX_INPUT);
    if ((code = read_input(o.file, &input)) != FS_EXIT_OK) {
        fs_buf_release(&input);
        return code;
    }
    struct fs_err err = {0};
    struct fs_buf diag = FS_BUF_INIT(1 << 16);
    struct fs_config *cfg = NULL;
    struct fs_rules *rules = NULL;
    struct fs_registry *reg = NULL;
    struct fs_playbooks *pbs = NULL;
    struct fs_store *store = NULL;
    struct fs_mcp_hub *hub = NULL;
    struct fs_alert_batch batch = {0};
    struct fs_llm *model = NULL;
    struct fs_llm_planner planner;
    json_t *usage = NULL;
    int lockfd = -1;
    code = FS_EXIT_FAILURE;
    fs_log_setup(FS_LOG_WARN, FS_LOG_LOGFMT);
    if (fs_cli_load_config(o.config, NULL, o.data_dir, &cfg, &err) < 0) {
        fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
        goto out;
    }
    fs_config_install(cfg);
    cfg = fs_config_acquire();
    fs_config_register_secrets(cfg); /* none of them may reach a model, a log or the trace */
    if (fs_cli_load_rules(cfg, &rules, &err) < 0) {
        fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
        goto out;
    }
    if (fs_registry_new(&reg, &err) < 0 ||
        fs_playbooks_load(cfg->dispatch.playbooks, reg, rules->catalog, &pbs, &diag, &err) < 0) {
        code = fs_cli_diag_fail(&diag, &err);
        goto out;
    }
    /* one writer per data directory: a daemon running on it owns the dispatch */
    char held[600];
    snprintf(held, sizeof(held),
             "a forestall daemon runs on it; send it the alert instead (forestall alert send %s)",
             o.file);
    if (fs_cli_lock_data_dir(cfg->data_dir, "forestall.lock", held, &lockfd, &err) < 0 ||
        fs_cli_open_store(cfg, &store, &err) < 0) {
        fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
        goto out;
    }
    struct fs_writer w;
    fs_store_direct_writer(store, &w);
    if (fs_cli_open_hub(&w, cfg, reg, &hub, &err) < 0) {
        fs_cli_fail(FS_EXIT_FAILURE, "mcp: %s", err.msg);
        goto out;
    }

    /* 1. record the alert */
    enum fs_alert_source src = FS_SRC_ALERTMANAGER;
    if (detect_source(o.source, input.data, input.len, &src) < 0)
        goto out;
    int64_t now = fs_now_ms();
    if (fs_ingest_parse(src, input.data, input.len, now, &batch, &err) < 0) {
        fs_cli_fail(FS_EXIT_FAILURE, "%s: %s%s%s", o.file, err.path[0] ? err.path : "",
                    err.path[0] ? ": " : "", err.msg);
        goto out;
    }
    struct apply ap = {cfg, &batch, now, {0}};
    if (fs_writer_run(&w, apply_tx, &ap, &err) < 0) {
        fs_cli_fail(FS_EXIT_FAILURE, "recording the alert: %s", err.msg);
        goto out;
    }
    int64_t inc = incident_of(store);
    if (!inc) {
        fs_cli_fail(FS_EXIT_FAILURE, "the alert opened no incident (is it resolved already?)");
        goto out;
    }
    struct tracer tr = {o.json, fs_now_ms()};
    char line[512];
    snprintf(line, sizeof(line), "inc-%" PRId64 ": %d alert(s) recorded (%s)", inc, ap.stats.alerts,
             ap.stats.opened ? "new incident" : "existing incident");
    trace_line(&tr, "state", line, NULL);

    /* 2. investigate: the planner the command line names, else the one the config gives */
    bool use_llm = o.planner ? strcmp(o.planner, "llm") == 0 : cfg->llm.provider != NULL;
    if (use_llm && fs_llm_planner_setup(cfg, rules->catalog, pbs, &model, &planner, &err) < 0) {
        fs_cli_fail(FS_EXIT_FAILURE, "--planner llm: %s", err.msg);
        goto out;
    }
    char *tdir = use_llm ? fs_config_data_path(cfg, "transcripts") : NULL;
    struct fs_investigation_opts io = {
        .w = &w,
        .cfg = cfg,
        .rules = rules,
        .tools = reg,
        .playbooks = pbs,
        .trace = trace_line,
        .trace_arg = &tr,
        .llm = use_llm ? &planner : NULL,
        .llm_by_config = !o.planner, /* no --planner: dispatch.planner / llm_alerts decide */
        .llm_fallback = cfg->dispatch.llm_fallback,
        .transcript_dir = tdir,
    };
    struct fs_investigation_outcome out;
    int irc = fs_investigate(&io, inc, &out, &err);
    free(tdir);
    if (irc < 0) {
        fs_cli_fail(FS_EXIT_FAILURE, "investigation: %s", err.msg);
        goto out;
    }
    if (!strcmp(out.planner, "llm") || out.fell_back) {
        snprintf(line, sizeof(line),
                 "model %s: %d call(s), %" PRId64 " input + %" PRId64
                 " output tokens, ~$%.4f, %d refusal(s)%s",
                 out.llm.model[0] ? out.llm.model : "?", out.llm.calls, out.llm.input_tokens,
                 out.llm.output_tokens, out.llm.cost_usd, out.llm.refusals,
                 out.fell_back ? "; the playbook decided (the model was unreachable)" : "");
        trace_line(&tr, "state", line, NULL);
    }
    usage = json_pack("{s:s,s:s,s:i,s:I,s:I,s:f,s:i,s:b}", "planner", out.planner, "model",
                      out.llm.model, "calls", out.llm.calls, "inputTokens",
                      (json_int_t)out.llm.input_tokens, "outputTokens",
                      (json_int_t)out.llm.output_tokens, "costUsd", out.llm.cost_usd, "refusals",
                      out.llm.refusals, "fellBack", out.fell_back);
    if (out.proposal_id) {
        json_t *risk = json_object_get(out.gate, "risk");
        json_t *reasons = json_object_get(out.gate, "reasons");
        snprintf(line, sizeof(line), "prop-%" PRId64 " %s: %s (risk %lld %s)%s%s", out.proposal_id,
                 json_string_value(json_object_get(out.plan.proposal, "action")), out.decision,
                 (long long)json_integer_value(json_object_get(risk, "score")),
                 json_string_value(json_object_get(risk, "level")),
                 json_array_size(reasons) ? " — " : "",
                 json_array_size(reasons) ? json_string_value(json_array_get(reasons, 0)) : "");
        trace_line(&tr, "gate", line, out.gate);
    }
    snprintf(line, sizeof(line), "inc-%" PRId64 " is %s", inc, fs_incident_state_name(out.state));
    trace_line(&tr, "state", line, NULL);

    /* 3. execute (its own process), or say what waits */
    bool run_exec = out.proposal_id && strcmp(out.decision, "execute") == 0;
    if (run_exec && !o.no_execute) {
        fs_cli_close_store(cfg, store);
        store = NULL;
        run_executor(&o, out.proposal_id);
        if (fs_cli_open_store(cfg, &store, &err) < 0) {
            fs_investigation_outcome_release(&out);
            fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
            goto out;
        }
        fs_store_direct_writer(store, &w);
    } else if (out.state == FS_ISTATE_AWAITING_APPROVAL) {
        snprintf(line, sizeof(line),
                 "prop-%" PRId64 " waits for a person: forestall approve prop-%" PRId64
                 " (with a daemon on this data directory, the executor then runs it)",
                 out.proposal_id, out.proposal_id);
        trace_line(&tr, "state", line, NULL);
    }
    enum fs_incident_state final = out.state;
    fs_investigation_outcome_release(&out);
    /* 4. the post-mortem: the executor process wrote it when it ran the action */
    bool executed = run_exec && !o.no_execute;
    if (!executed && fs_incident_state_final(final) &&
        fs_incident_conclude(&w, cfg, inc, fs_now_ms(), &err) < 0)
        fprintf(stderr, "forestall: post-mortem: %s\n", err.msg);
    json_t *pm = NULL;
    if (fs_store_postmortem_get(store, inc, &pm, &err) == 0 && !o.json)
        printf("\n%s\n", json_string_value(json_object_get(pm, "markdown")));
    if (o.json) {
        /* one object at the end: what happened, what was proposed and decided, what ran */
        json_t *sum = summary_json(store, inc, usage, pm ? json_object_get(pm, "data") : NULL);
        char *s = sum ? json_dumps(sum, JSON_COMPACT) : NULL;
        printf("%s\n", s ? s : "null");
        free(s);
        json_decref(sum);
    }
    json_decref(pm);
    code = FS_EXIT_OK;
out:
    json_decref(usage);
    fs_llm_free(model);
    fs_alert_batch_release(&batch);
    fs_mcp_hub_free(hub); /* before the registry it registered tools in */
    fs_cli_close_store(cfg, store);
    fs_playbooks_free(pbs);
    fs_registry_free(reg);
    fs_rules_release(rules);
    fs_config_release(cfg);
    fs_buf_release(&input);
    fs_buf_release(&diag);
    if (lockfd >= 0)
        close(lockfd);
    return code;
}

/* ---- playbook list | check | test ------------------------------------------------------ */

/* The built-in tools, the built-in catalog and the playbooks (dir's over the embedded ones),
 * checked against both. On failure nothing is left to free but diag. */
static int load_playbooks(const char *dir, struct fs_registry **reg, struct fs_rules **rules,
                          struct fs_playbooks **p, struct fs_buf *diag, struct fs_err *err)
{
    *reg = NULL;
    *rules = NULL;
    *p = NULL;
    int rc = fs_registry_new(reg, err);
    if (rc == 0)
        rc = fs_rules_load(NULL, NULL, NULL, rules, diag, err);
    if (rc == 0)
        rc = fs_playbooks_load(dir, *reg, (*rules)->catalog, p, diag, err);
    if (rc < 0) {
        fs_registry_free(*reg);
        fs_rules_release(*rules);
        *reg = NULL;
        *rules = NULL;
    }
    return rc;
}

int fs_cmd_playbook_list(int argc, char **argv)
{
    if (fs_cli_wants_help(argc, argv, "playbook list"))
        return FS_EXIT_OK;
    static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
                                         {"playbooks", required_argument, NULL, O_PLAYBOOKS},
                                         {NULL, 0, NULL, 0}};
    bool json = false;
    const char *dir = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        if (c == 'o')
            json = strcmp(optarg, "json") == 0;
        else if (c == O_PLAYBOOKS)
            dir = optarg;
        else {
            fs_cli_usage("playbook list", false);
            return FS_EXIT_USAGE;
        }
    }
    struct fs_err err;
    struct fs_buf diag = FS_BUF_INIT(1 << 16);
    struct fs_registry *reg = NULL;
    struct fs_playbooks *p = NULL;
    struct fs_rules *rules = NULL;
    if (load_playbooks(dir, &reg, &rules, &p, &diag, &err) < 0)
        return fs_cli_diag_fail(&diag, &err);
    json_t *arr = json_array();
    for (size_t i = 0; i < fs_playbooks_count(p); i++)
        json_array_append_new(arr, fs_playbook_json(p, i));
    if (json) {
        fs_cli_print_json(arr);
    } else {
        printf("%-18s %4s %5s  %s\n", "NAME", "PRIO", "STEPS", "TITLE");
        size_t i;
        json_t *v;
        json_array_foreach(arr, i, v)
        {
            printf("%-18s %4lld %5lld  %s\n", json_string_value(json_object_get(v, "name")),
                   (long long)json_integer_value(json_object_get(v, "priority")),
                   (long long)json_integer_value(json_object_get(v, "steps")),
                   json_string_value(json_object_get(v, "title")));
        }
    }
    json_decref(arr);
    fs_playbooks_free(p);
    fs_registry_free(reg);
    fs_rules_release(rules);
    fs_buf_release(&diag);
    return FS_EXIT_OK;
}

int fs_cmd_playbook_check(int argc, char **argv)
{
    if (fs_cli_wants_help(argc, argv, "playbook check"))
        return FS_EXIT_OK;
    if (argc != 2) {
        fs_cli_usage("playbook check", false);
        return FS_EXIT_USAGE;
    }
    struct stat st;
    if (stat(argv[1], &st) < 0)
        return fs_cli_fail(FS_EXIT_FAILURE, "%s: %s", argv[1], strerror(errno));
    struct fs_err err;
    struct fs_buf diag = FS_BUF_INIT(1 << 16);
    struct fs_registry *reg = NULL;
    struct fs_playbooks *p = NULL;
    struct fs_rules *rules = NULL;
    int rc = fs_registry_new(&reg, &err);
    if (rc == 0)
        rc = fs_rules_load(NULL, NULL, NULL, &rules, &diag, &err);
    if (rc == 0 && S_ISDIR(st.st_mode)) {
        rc = fs_playbooks_load(argv[1], reg, rules->catalog, &p, &diag, &err);
    } else if (rc == 0) {
        struct fs_buf b = FS_BUF_INIT(1 << 20);
        if ((rc = read_input(argv[1], &b)) != FS_EXIT_OK) {
            fs_buf_release(&b);
            fs_buf_release(&diag);
            fs_registry_free(reg);
            fs_rules_release(rules);
            return rc;
        }
        rc = fs_playbooks_load_buf(b.data ? b.data : "", b.len, argv[1], reg, rules->catalog, &p,
                                   &diag, &err);
        fs_buf_release(&b);
    }
    fs_registry_free(reg);
    fs_rules_release(rules);
    if (rc < 0)
        return fs_cli_diag_fail(&diag, &err);
    printf("%s: ok (%zu playbooks with the built-in ones)\n", argv[1], fs_playbooks_count(p));
    fs_playbooks_free(p);
    fs_buf_release(&diag);
    return FS_EXIT_OK;
}

int fs_cmd_playbook_test(int argc, char **argv)
{
    if (fs_cli_wants_help(argc, argv, "playbook test"))
        return FS_EXIT_OK;
    static const struct option opts[] = {{"playbooks", required_argument, NULL, O_PLAYBOOKS},
                                         {"verbose", no_argument, NULL, 'v'},
                                         {"output", required_argument, NULL, 'o'},
                                         {NULL, 0, NULL, 0}};
    bool verbose = false, json = false;
    const char *dir = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "vo:", opts, NULL)) != -1) {
        if (c == 'v')
            verbose = true;
        else if (c == 'o' && (strcmp(optarg, "json") == 0 || strcmp(optarg, "text") == 0))
            json = strcmp(optarg, "json") == 0;
        else if (c == O_PLAYBOOKS)
            dir = optarg;
        else {
            fs_cli_usage("playbook test", false);
            return FS_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fs_cli_usage("playbook test", false);
        return FS_EXIT_USAGE;
    }
    struct fs_err err;
    struct fs_buf diag = FS_BUF_INIT(1 << 16), report = FS_BUF_INIT(1 << 22);
    struct fs_registry *reg = NULL;
    struct fs_playbooks *p = NULL;
    struct fs_rules *rules = NULL;
    if (load_playbooks(dir, &reg, &rules, &p, &diag, &err) < 0)
        return fs_cli_diag_fail(&diag, &err);
    int cases = 0, failures = 0;
    json_t *results = json ? json_array() : NULL;
    int rc = fs_playbook_test_run(p, rules->catalog, argv[optind], verbose, &report, results,
                                  &cases, &failures, &err);
    if (json && rc == 0) {
        json_t *doc =
            json_pack("{s:o,s:i,s:i}", "cases", results, "total", cases, "failed", failures);
        results = NULL;
        fs_cli_print_json(doc);
        json_decref(doc);
    } else if (!json) {
        fputs(fs_buf_str(&report), stdout);
        if (rc == 0)
            printf("%d cases, %d failed\n", cases, failures);
    }
    json_decref(results);
    fs_buf_release(&report);
    fs_buf_release(&diag);
    fs_playbooks_free(p);
    fs_registry_free(reg);
    fs_rules_release(rules);
    if (rc < 0)
        return fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
    return failures || cases == 0 ? FS_EXIT_FAILURE : FS_EXIT_OK;
}
