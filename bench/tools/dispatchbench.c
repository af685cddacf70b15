/* dispatchbench: forestall's own cost of a playbook investigation, with the tools' run time
 * taken out, against a baseline measured in the same run.
 *
 *   dispatchbench [--investigations N] [--dir DIR]
 *
 * In a fresh store (SQLite, WAL, synchronous=FULL, under $BENCH_TMPDIR or /tmp) it records N
 * disk-pressure alerts (each its own incident) and runs the real investigation of each
 * (fs_investigate as the daemon runs it: incident read, scope, routing, the disk_pressure
 * playbook's expressions and templates, the observations and their audit records written in a
 * batch, the proposal through the gate, all in one durable transaction) with the tools replaced by
 * handlers that answer at once with recorded results — so what is measured is forestall, not df or
 * du. The time inside the tool handlers is measured and subtracted. Reported per investigation:
 * time to the first tool call (from the start of fs_investigate) and the whole overhead, p50 and
 * p99.
 *
 * Baseline: one durable write transaction of the same store (an observation insert and
 * commit), the unit every recorded step costs; the ratio says how many such commits an
 * investigation costs in all.
 *
 *   investigation overhead: p50 9.8 ms, p99 14.1 ms (12 tool calls); first tool call p50 1.2 ms
 *   baseline durable commit: p50 0.71 ms; ratio overhead/commit 13.8
 *
 * Exit status: 0 when the measurements ran, 2 on usage or setup errors. */
#include "core/common.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/time.h"
#include "incidents/incidents.h"
#include "intake/ingest.h"
#include "planner/investigate.h"
#include "safety/service.h"
#include "store/store.h"
#include "tools/registry.h"

/* What the recorded tools answer: a 32 MiB filesystem 84% full, most of it archived journal. */
static const char *answer(const char *tool)
{
    if (!strcmp(tool, "host.fs_usage"))
        return "{\"filesystems\":[{\"filesystem\":\"tmpfs\",\"type\":\"tmpfs\",\"size_bytes\":"
               "33554432,\"used_bytes\":28311552,\"avail_bytes\":5242880,\"used_percent\":85,"
               "\"mount\":\"/var/log/demo\"}]}";
    if (!strcmp(tool, "host.dir_sizes"))
        return "{\"entries\":[{\"path\":\"/var/log/demo/journal\",\"size_bytes\":27262976}],"
               "\"path\":\"/var/log/demo\",\"total_bytes\":28311552,\"entries_total\":1}";
    if (!strcmp(tool, "host.journal_disk_usage"))
        return "{\"bytes\":27262976,\"archived_bytes\":27262976,\"active_bytes\":0,\"files\":7,"
               "\"archived_files\":7,\"directory\":\"/var/log/demo/journal\"}";
    if (!strcmp(tool, "host.largest_files"))
        return "{\"files\":[],\"path\":\"/var/log/demo\",\"files_matched\":0}";
    if (!strcmp(tool, "prometheus.forecast"))
        return "{\"series\":[],\"earliest\":{\"summary\":\"95% in ~2h 10m\","
               "\"seconds_to_threshold\":7800}}";
    return "{}";
}

struct clock {
    int64_t in_tools_ns;
    int64_t first_call_ns; /* mono time of the first call of the current investigation */
};

static struct clock clk;

static int replay(void *closure, const json_t *args, const struct fs_tool_ctx *ctx,
                  struct fs_tool_result *out, struct fs_err *err)
{
    int64_t t0 = fs_mono_ns();
    if (!clk.first_call_ns)
        clk.first_call_ns = t0;
    json_t *v = json_loads(answer(closure), 0, NULL);
    out->structured = v;
    out->text = json_dumps(v, JSON_COMPACT);
    clk.in_tools_ns += fs_mono_ns() - t0;
    return 0;
}

static void *closure_for(void *arg, const char *name)
{
    return (void *)name;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_ms(int64_t *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof(*v), cmp64);
    int i = (int)(p * (n - 1) + 0.5);
    return (double)v[i] / 1e6;
}

static void die(const char *what, const struct fs_err *err)
{
    fprintf(stderr, "dispatchbench: %s%s%s\n", what, err ? ": " : "", err ? err->msg : "");
    exit(2);
}

struct apply {
    const struct fs_config *cfg;
    struct fs_alert_batch batch;
};

static int apply_tx(struct fs_store *s, void *arg, struct fs_err *err)
{
    struct apply *a = arg;
    struct fs_incidents_params p;
    fs_incidents_params_from_config(a->cfg, &p);
    struct fs_apply_stats st;
    return fs_incidents_apply(s, &p, &a->batch, fs_now_ms(), &st, err);
}

struct obs_tx {
    int64_t incident;
};

static int obs_tx(struct fs_store *s, void *arg, struct fs_err *err)
{
    struct obs_tx *o = arg;
    struct fs_observation_row row = {.incident_id = o->incident,
                                     .ts = fs_now_ms(),
                                     .tool = "bench.baseline",
                                     .input = "{}",
                                     .output = "{\"bytes\":1}",
                                     .actor = "bench"};
    return fs_store_observation_insert(s, &row, NULL, err);
}

int main(int argc, char **argv)
{
    int n = 200;
    const char *base = getenv("BENCH_TMPDIR") ? getenv("BENCH_TMPDIR") : "/tmp";
    static const struct option opts[] = {{"investigations", required_argument, NULL, 'n'},
                                         {"dir", required_argument, NULL, 'd'},
                                         {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "n:d:", opts, NULL)) != -1) {
        if (c == 'n')
            n = atoi(optarg);
        else if (c == 'd')
            base = optarg;
        else
            die("usage: dispatchbench [--investigations N] [--dir DIR]", NULL);
    }
    if (n < 10)
        die("--investigations must be at least 10", NULL);
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/dispatchbench.XXXXXX", base);
    if (!mkdtemp(dir))
        die("mkdtemp failed", NULL);
    struct fs_err err;
    struct fs_config *cfg = NULL;
    if (fs_config_load(NULL, &cfg, NULL, &err) < 0 || fs_config_set(cfg, "data_dir", dir, &err) < 0)
        die("config", &err);
    fs_config_install(cfg);
    cfg = fs_config_acquire();
    struct fs_rules *rules = NULL;
    if (fs_rules_load(NULL, NULL, NULL, &rules, NULL, &err) < 0)
        die("rules", &err);
    struct fs_registry *reg = NULL;
    struct fs_playbooks *pbs = NULL;
    if (fs_registry_new_replayed(replay, closure_for, NULL, &reg, &err) < 0 ||
        fs_playbooks_load(NULL, reg, rules->catalog, &pbs, NULL, &err) < 0)
        die("playbooks", &err);
    char db[4200];
    snprintf(db, sizeof(db), "%s/bench.db", dir);
    struct fs_store_options so = {.driver = "sqlite", .path = db, .busy_timeout_ms = 5000};
    struct fs_store *store = NULL;
    if (fs_store_open(&so, &store, &err) < 0)
        die("store", &err);
    struct fs_writer w;
    fs_store_direct_writer(store, &w);

    int64_t *overhead = calloc((size_t)n, sizeof(int64_t));
    int64_t *first = calloc((size_t)n, sizeof(int64_t));
    int64_t *commit = calloc((size_t)n, sizeof(int64_t));
    int calls = 0;
    for (int i = 0; i < n; i++) {
        char body[1024];
        snprintf(body, sizeof(body),
                 "{\"receiver\":\"forestall\",\"status\":\"firing\",\"alerts\":[{\"status\":"
                 "\"firing\",\"labels\":{\"alertname\":\"DiskSpaceWarning\",\"instance\":"
                 "\"127.0.0.1:9100\",\"mountpoint\":\"/var/log/demo\",\"severity\":\"warning\","
                 "\"service\":\"bench-%d\"},\"annotations\":{\"summary\":\"disk 85%%\"},"
                 "\"startsAt\":\"2026-11-21T10:00:00Z\",\"endsAt\":\"0001-01-01T00:00:00Z\"}],"
                 "\"groupLabels\":{},\"commonLabels\":{},\"commonAnnotations\":{},"
                 "\"externalURL\":\"http://am\",\"version\":\"4\",\"groupKey\":\"g%d\"}",
                 i, i);
        struct apply ap = {.cfg = cfg};
        if (fs_ingest_parse(FS_SRC_ALERTMANAGER, body, strlen(body), fs_now_ms(), &ap.batch, &err) <
                0 ||
            fs_writer_run(&w, apply_tx, &ap, &err) < 0)
            die("recording the alert", &err);
        fs_alert_batch_release(&ap.batch);
        int64_t ids[8];
        int k = 0;
        if (fs_store_incidents_in_state(store, "new", ids, 8, &k, &err) < 0 || k != 1)
            die("no new incident", k ? NULL : &err);
        struct fs_investigation_opts io = {
            .w = &w, .cfg = cfg, .rules = rules, .tools = reg, .playbooks = pbs, .batch = true};
        struct fs_investigation_outcome out;
        clk = (struct clock){0, 0};
        int64_t t0 = fs_mono_ns();
        if (fs_investigate(&io, ids[0], &out, &err) < 0)
            die("investigation", &err);
        int64_t t1 = fs_mono_ns();
        if (out.plan.outcome != FS_PLAN_PROPOSE || !out.proposal_id)
            die("the investigation did not propose (the recorded answers are stale)", NULL);
        calls = out.plan.steps;
        overhead[i] = (t1 - t0) - clk.in_tools_ns;
        first[i] = clk.first_call_ns - t0;
        fs_investigation_outcome_release(&out);
        /* baseline, interleaved: one durable transaction of the same store */
        struct obs_tx ot = {ids[0]};
        int64_t b0 = fs_mono_ns();
        if (fs_writer_run(&w, obs_tx, &ot, &err) < 0)
            die("baseline commit", &err);
        commit[i] = fs_mono_ns() - b0;
    }
    double o50 = pct_ms(overhead, n, 0.5), o99 = pct_ms(overhead, n, 0.99);
    double f50 = pct_ms(first, n, 0.5), f99 = pct_ms(first, n, 0.99);
    double c50 = pct_ms(commit, n, 0.5);
    printf("investigations: %d (disk_pressure, %d tool calls each, tools replayed)\n", n, calls);
    printf("investigation overhead (tools excluded): p50 %.2f ms, p99 %.2f ms (target < 20 ms)\n",
           o50, o99);
    printf("first tool call after the investigation starts: p50 %.2f ms, p99 %.2f ms\n", f50, f99);
    printf("baseline durable commit (one observation): p50 %.2f ms; ratio overhead/commit %.1f\n",
           c50, c50 > 0 ? o50 / c50 : 0.0);
    free(overhead);
    free(first);
    free(commit);
    fs_store_close(store);
    fs_playbooks_free(pbs);
    fs_registry_free(reg);
    fs_rules_release(rules);
    fs_config_release(cfg);
    /* the store and its WAL files, then the directory */
    static const char *const files[] = {"bench.db", "bench.db-wal", "bench.db-shm",
                                        "forestall.lock"};
    for (size_t i = 0; i < FS_ARRAY_LEN(files); i++) {
        char p[4300];
        snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
        unlink(p);
    }
    if (rmdir(dir) < 0)
        fprintf(stderr, "dispatchbench: could not remove %s\n", dir);
    return 0;
}
