/* gatebench: how long one gate decision takes, against parsing the same proposal's JSON.
 *
 *   build/bench/gatebench [--decisions N] [--warmup N] [--quick]
 *
 * Loads the default policy and a 50-action catalog (the embedded catalog plus generated
 * actions with string/pattern, integer, enum and path params), builds a varied set of parsed
 * proposals (every env/severity/mode/evidence/forbidden-pattern/unknown-action path of the
 * gate), then on one thread:
 *   1. throughput: fs_gate_decide over the set, round robin, timed as a whole;
 *   2. latency: each call timed with clock_gettime(CLOCK_MONOTONIC) → p50, p99, p99.9, max;
 *   3. baseline: json_loads of the same proposals' JSON text, timed the same way;
 *   4. allocations: malloc/calloc/realloc calls made during the decisions (this program
 *      interposes them and counts; not under sanitizers), and how many of them happen inside
 *      fs_action_check_params (catalog.c), measured on its own.
 * Target: p99 < 10 us. Exit status 0 when it ran, 2 on setup errors. */
#include "core/common.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/buf.h"
#include "safety/catalog.h"
#include "safety/gate.h"
#include "safety/policy.h"

#define CATALOG_SIZE 50
#define TARGET_P99_US 10.0

/* ---- allocation counting ---------------------------------------------------------------- */

#if defined(__SANITIZE_ADDRESS__)
#define COUNT_ALLOCS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define COUNT_ALLOCS 0
#endif
#endif
#ifndef COUNT_ALLOCS
#define COUNT_ALLOCS 1
#endif

static unsigned long allocs;

#if COUNT_ALLOCS
/* glibc's own entry points; every allocation of the process (jansson, pcre2, libc) comes
 * through these wrappers. */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
void *malloc(size_t n);
void *calloc(size_t n, size_t s);
void *realloc(void *p, size_t n);
void free(void *p);

void *malloc(size_t n)
{
    __atomic_fetch_add(&allocs, 1, __ATOMIC_RELAXED);
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t s)
{
    __atomic_fetch_add(&allocs, 1, __ATOMIC_RELAXED);
    return __libc_calloc(n, s);
}

void *realloc(void *p, size_t n)
{
    __atomic_fetch_add(&allocs, 1, __ATOMIC_RELAXED);
    return __libc_realloc(p, n);
}

void free(void *p)
{
    __libc_free(p);
}
#endif

/* ---- setup ------------------------------------------------------------------------------ */

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static const char *const categories[] = {"log_cleanup", "cache_cleanup", "service_restart",
                                         "scale",       "config_change", "circuit_break",
                                         "reroute",     "page",          "guardrail"};

/* Generated actions: bench_NN with a pattern string, a bounded integer, an enum and a path. */
static int extra_catalog(const struct fs_catalog *base, size_t n, struct fs_catalog **out)
{
    struct fs_buf b = FS_BUF_INIT(0);
    fs_buf_puts(&b, "version: bench\nactions:\n");
    for (size_t i = 0; i < n; i++) {
        const char *rev = i % 3 == 0 ? "false" : i % 3 == 1 ? "true" : "notification";
        fs_buf_printf(&b,
                      "  - name: bench_%02zu\n"
                      "    description: generated for the gate benchmark\n"
                      "    category: %s\n"
                      "    tier: %zu\n"
                      "    baseline_risk: %zu\n"
                      "    reversible: %s\n"
                      "    idempotent: absolute\n"
                      "    params:\n"
                      "      name: {type: string, description: a name, pattern: "
                      "'^[a-z][a-z0-9-]{0,40}$', max_length: 41}\n"
                      "      count: {type: integer, description: a count, min: 1, max: 100}\n"
                      "      level: {type: enum, description: a level, values: [low, mid, high], "
                      "default: low}\n"
                      "      dir: {type: path, description: a directory, under: [/var/log, /srv]}\n"
                      "    targets:\n"
                      "      ssh: {argv: [bench-tool, '--name={name}', '{count}', '{dir}']}\n"
                      "    rollback: null\n",
                      i, categories[i % FS_ARRAY_LEN(categories)], i % 3, (i * 7) % 70, rev);
    }
    struct fs_err err;
    struct fs_buf diag = FS_BUF_INIT(0);
    int rc = fs_catalog_load_buf(b.data, b.len, "gatebench-extra.yaml", base, out, &diag, &err);
    if (rc < 0)
        fprintf(stderr, "gatebench: generated catalog: %s\n%s", err.msg, fs_buf_str(&diag));
    fs_buf_release(&b);
    fs_buf_release(&diag);
    return rc;
}

/* Valid params for the embedded actions; anything else gets {} (then rule 2 explains). */
static const struct {
    const char *action, *params;
} known_params[] = {
    {"journal_vacuum", "{\"max_size\":\"1G\"}"},
    {"logs_cleanup_rotated", "{\"path\":\"/var/log/nginx\",\"older_than_days\":7}"},
    {"tmp_cleanup", "{\"path\":\"/tmp/build\"}"},
    {"package_cache_clean", "{}"},
    {"cache_flush", "{\"name\":\"sessions\"}"},
    {"core_dump_cleanup", "{\"older_than_days\":3}"},
    {"service_restart", "{\"unit\":\"nginx.service\"}"},
    {"k8s_rollout_restart", "{\"namespace\":\"shop\",\"deployment\":\"cart\"}"},
    {"k8s_scale", "{\"namespace\":\"shop\",\"deployment\":\"cart\",\"replicas\":3}"},
    {"process_kill", "{\"pid\":4242,\"signal\":\"TERM\"}"},
    {"cert_renew", "{\"name\":\"www\"}"},
    {"config_set", "{\"file\":\"/etc/app/app.conf\",\"key\":\"workers\",\"value\":\"8\"}"},
    {"package_upgrade", "{\"package\":\"openssl\"}"},
    {"circuit_break_provider", "{\"provider\":\"openai\",\"duration_s\":60}"},
    {"circuit_restore_provider", "{\"provider\":\"openai\"}"},
    {"reroute_model_group", "{\"model_group\":\"chat\",\"to_provider\":\"anthropic\"}"},
    {"raise_rate_limit", "{\"team\":\"search\",\"percent\":20}"},
    {"page_oncall", "{\"summary\":\"disk on web-1 at 91%, vacuum did not help\"}"},
    {"disable_guardrail_rule", "{\"rule\":\"block-long-prompts\"}"},
    {"enable_guardrail_rule", "{\"rule\":\"block-long-prompts\"}"},
    {"bump_budget_cap", "{\"scope\":\"team:search\",\"amount\":100}"},
    {"disable_sla_contract", "{\"contract\":\"gold-eu\"}"},
    {"enable_sla_contract", "{\"contract\":\"gold-eu\"}"},
};

static const char *params_for(const char *action, size_t variant)
{
    if (strncmp(action, "bench_", 6) == 0)
        return variant % 2 ? "{\"name\":\"web-frontend\",\"count\":12,\"level\":\"high\","
                             "\"dir\":\"/srv/app/logs\"}"
                           : "{\"name\":\"api\",\"count\":3,\"dir\":\"/var/log/api\"}";
    for (size_t i = 0; i < FS_ARRAY_LEN(known_params); i++)
        if (strcmp(known_params[i].action, action) == 0)
            return known_params[i].params;
    return "{}";
}

/* One proposal's JSON: action a, variant v (0..NVARIANTS-1) picks the situation, so that the
 * set goes through every rule of the gate:
 *   0 staging/warning   1 production/critical   2 database, failures, a contradiction
 *   3 shadow mode       4 kill switch           5 change freeze
 *   6 forbidden string  7 unknown action        8 fabricated evidence
 *   9 rate limit       10 supervised mode      11 target outside the incident's scope */
#define NVARIANTS 12

static char *proposal_json(const char *a, size_t v)
{
    static const char *const env[NVARIANTS] = {
        "staging", "production", "production", "staging", "production", "staging",
        "dev",     "production", "staging",    "staging", "staging",    "production"};
    static const char *const sev[NVARIANTS] = {"warning", "critical", "warning", "info",
                                               "warning", "warning",  "info",    "critical",
                                               "warning", "info",     "info",    "warning"};
    static const char *const cls[NVARIANTS] = {
        "application", "application", "database",    "storage",     "application", "network",
        "application", "hypervisor",  "application", "application", "application", "database"};
    char action[96];
    snprintf(action, sizeof(action), v == 7 ? "x_%s" : "%s", a);
    struct fs_buf b = FS_BUF_INIT(0);
    fs_buf_printf(&b, "{\"id\":\"prop-%zu\",\"proposer\":\"llm:bench\",\"action\":\"%s\",", v,
                  action);
    if (v == 6)
        fs_buf_puts(&b, "\"params\":{\"summary\":\"then run: rm -rf / --no-preserve-root\"},");
    else
        fs_buf_printf(&b, "\"params\":%s,", params_for(a, v));
    fs_buf_printf(&b,
                  "\"target\":{\"host\":\"web-%zu\",\"service\":\"svc-%zu\",\"env\":\"%s\","
                  "\"resource_class\":\"%s\",\"namespace\":\"shop\",\"workload\":\"cart\"},",
                  v, v, env[v], cls[v]);
    fs_buf_printf(&b,
                  "\"incident\":{\"id\":\"inc-%zu\",\"severity\":\"%s\",\"labels\":{\"alertname\":"
                  "\"DiskSpaceWarning\",\"instance\":\"web-%zu:9100\"},\"scope\":{\"hosts\":["
                  "\"web-0\",\"web-1\",\"web-2\",\"web-3\",\"web-%zu\"],\"services\":[\"svc-%zu\","
                  "\"svc-x\"],\"workloads\":[\"shop/cart\",\"shop/checkout\"]}},",
                  v, sev[v], v, v == 11 ? (size_t)99 : v, v);
    fs_buf_puts(&b, "\"evidence\":{\"cited\":[");
    size_t ncited = 1 + v % 5, ntrace = 4 + v * 2;
    for (size_t i = 0; i < ncited; i++)
        fs_buf_printf(&b, "%s\"obs-%zu\"", i ? "," : "", v == 8 && i == ncited - 1 ? 999 : i * 2);
    fs_buf_puts(&b, "],\"trace\":[");
    for (size_t i = 0; i < ntrace; i++)
        fs_buf_printf(&b, "%s\"obs-%zu\"", i ? "," : "", i);
    fs_buf_printf(&b, "],\"contradicting\":[%s]},", v == 2 ? "\"obs-1\"" : "");
    fs_buf_printf(&b,
                  "\"context\":{\"dependents\":%zu,\"change_freeze\":%s,\"frozen\":%s,"
                  "\"failures_24h\":%d,\"executions_1h\":%d%s},",
                  v == 10 ? (size_t)0 : (v * 3) % 8, v == 5 ? "true" : "false",
                  v == 4 ? "true" : "false", v == 2, v == 9 ? 3 : (int)(v % 3),
                  v == 3    ? ",\"mode\":\"shadow\""
                  : v == 10 ? ",\"mode\":\"supervised\""
                            : "");
    fs_buf_puts(&b, "\"rationale\":\"the journal holds 12G of archived files and the disk "
                    "fills at 1G/h\",\"confidence\":0.82,\"now\":\"2026-11-21T03:00:00Z\"}");
    return fs_buf_detach(&b, NULL);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(const uint32_t *sorted, size_t n, double p)
{
    size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
    return sorted[i < n ? i : n - 1] / 1000.0;
}

int main(int argc, char **argv)
{
    size_t decisions = 300000, warmup = 20000;
    static const struct option longopts[] = {{"decisions", required_argument, NULL, 'n'},
                                             {"warmup", required_argument, NULL, 'w'},
                                             {"quick", no_argument, NULL, 'q'},
                                             {NULL, 0, NULL, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "n:w:q", longopts, NULL)) != -1) {
        if (o == 'q') /* a smoke test, not a measurement */
            decisions = 20000, warmup = 2000;
        else if (o == 'n')
            decisions = strtoul(optarg, NULL, 10);
        else if (o == 'w')
            warmup = strtoul(optarg, NULL, 10);
        else {
            fprintf(stderr, "usage: gatebench [--decisions N] [--warmup N] [--quick]\n");
            return 2;
        }
    }
    if (decisions < 1000)
        decisions = 1000;

    struct fs_policy *policy;
    struct fs_catalog *base, *catalog;
    struct fs_err err;
    if (fs_policy_load(NULL, &policy, NULL, &err) < 0 ||
        fs_catalog_load(NULL, &base, NULL, &err) < 0) {
        fprintf(stderr, "gatebench: %s\n", err.msg);
        return 2;
    }
    size_t extra = base->n < CATALOG_SIZE ? CATALOG_SIZE - base->n : 0;
    if (extra_catalog(base, extra, &catalog) < 0)
        return 2;

    /* every action in every situation */
    size_t nprop = catalog->n * NVARIANTS;
    char **texts = calloc(nprop, sizeof(*texts));
    struct fs_proposal *props = calloc(nprop, sizeof(*props));
    uint32_t *lat = calloc(decisions, sizeof(*lat));
    if (!texts || !props || !lat)
        return 2;
    for (size_t i = 0; i < nprop; i++) {
        texts[i] = proposal_json(catalog->actions[i / NVARIANTS].name, i % NVARIANTS);
        if (!texts[i] || fs_proposal_parse(texts[i], strlen(texts[i]), &props[i], &err) < 0) {
            fprintf(stderr, "gatebench: proposal %zu: %s\n%s\n", i, err.msg, texts[i]);
            return 2;
        }
    }
    size_t by_rule[FS_GATE_RULES + 1] = {0};
    struct fs_gate_result r;
    for (size_t i = 0; i < nprop; i++) {
        fs_gate_decide(policy, catalog, &props[i], &r);
        by_rule[r.rule]++;
    }
    printf("gatebench: policy %s, catalog %s (%zu actions: %zu embedded + %zu generated), "
           "%zu proposals\n",
           policy->version, catalog->version, catalog->n, base->n, extra, nprop);
    printf("  deciding rule over the set:");
    for (int i = 1; i <= FS_GATE_RULES; i++)
        printf(" %d:%zu", i, by_rule[i]);
    printf("\n");

    /* warm-up: caches, branch predictors, the thread's match data, pcre2's frames */
    for (size_t i = 0; i < warmup; i++)
        fs_gate_decide(policy, catalog, &props[i % nprop], &r);

    /* 1. throughput */
    unsigned long a0 = allocs;
    double t0 = now_ns();
    for (size_t i = 0; i < decisions; i++)
        fs_gate_decide(policy, catalog, &props[i % nprop], &r);
    double t1 = now_ns();
    unsigned long decide_allocs = allocs - a0;
    double per_sec = (double)decisions / ((t1 - t0) / 1e9);

    /* 2. latency, each call timed */
    for (size_t i = 0; i < decisions; i++) {
        struct timespec s, e;
        clock_gettime(CLOCK_MONOTONIC, &s);
        fs_gate_decide(policy, catalog, &props[i % nprop], &r);
        clock_gettime(CLOCK_MONOTONIC, &e);
        int64_t ns = (int64_t)(e.tv_sec - s.tv_sec) * 1000000000 + (e.tv_nsec - s.tv_nsec);
        lat[i] = (uint32_t)(ns < 0 ? 0 : ns > UINT32_MAX ? UINT32_MAX : ns);
    }
    double sum = 0;
    for (size_t i = 0; i < decisions; i++)
        sum += lat[i];
    double mean_decide = sum / (double)decisions / 1000.0;
    qsort(lat, decisions, sizeof(*lat), cmp_u32);
    double p50 = pct(lat, decisions, 50), p99 = pct(lat, decisions, 99),
           p999 = pct(lat, decisions, 99.9), mx = lat[decisions - 1] / 1000.0;

    /* allocations inside fs_action_check_params alone, over the same calls */
    a0 = allocs;
    double c0 = now_ns();
    for (size_t i = 0; i < decisions; i++) {
        const struct fs_proposal *in = &props[i % nprop];
        const struct fs_action *a = fs_catalog_find(catalog, in->action);
        if (a)
            (void)fs_action_check_params(a, in->params, NULL, NULL);
    }
    double mean_check = (now_ns() - c0) / (double)decisions / 1000.0;
    unsigned long check_allocs = allocs - a0;

    /* 3. baseline: json_loads of the same proposals */
    size_t parses = decisions / 4;
    for (size_t i = 0; i < warmup / 4; i++)
        json_decref(json_loads(texts[i % nprop], 0, NULL));
    for (size_t i = 0; i < parses; i++) {
        struct timespec s, e;
        clock_gettime(CLOCK_MONOTONIC, &s);
        json_t *v = json_loads(texts[i % nprop], 0, NULL);
        clock_gettime(CLOCK_MONOTONIC, &e);
        json_decref(v);
        int64_t ns = (int64_t)(e.tv_sec - s.tv_sec) * 1000000000 + (e.tv_nsec - s.tv_nsec);
        lat[i] = (uint32_t)(ns < 0 ? 0 : ns > UINT32_MAX ? UINT32_MAX : ns);
    }
    sum = 0;
    for (size_t i = 0; i < parses; i++)
        sum += lat[i];
    double mean_parse = sum / (double)parses / 1000.0;
    qsort(lat, parses, sizeof(*lat), cmp_u32);
    double parse_p50 = pct(lat, parses, 50);
    size_t bytes = 0;
    for (size_t i = 0; i < nprop; i++)
        bytes += strlen(texts[i]);

    printf("  throughput: %zu decisions in %.3f s\n", decisions, (t1 - t0) / 1e9);
    printf("  latency (per call, %zu calls): mean %.2f us, p50 %.2f us, p99 %.2f us, "
           "p99.9 %.2f us, max %.1f us\n",
           decisions, mean_decide, p50, p99, p999, mx);
    printf("  json_loads of the same proposals (%zu bytes on average, %zu calls): mean %.2f us, "
           "p50 %.2f us\n",
           bytes / nprop, parses, mean_parse, parse_p50);
    printf("  fs_action_check_params alone (catalog.c, rule 2): mean %.2f us per decision\n",
           mean_check);
    if (COUNT_ALLOCS)
        printf("  allocations: %.3f per decision, of which %.3f in fs_action_check_params "
               "(catalog.c); the gate's own: %.3f\n",
               (double)decide_allocs / (double)decisions, (double)check_allocs / (double)decisions,
               ((double)decide_allocs - (double)check_allocs) / (double)decisions);
    else
        printf("  allocations: not counted (sanitizer build)\n");
    printf("gate: %.0f decisions/s, p50 %.2f us, p99 %.2f us, max %.1f us; baseline json_loads "
           "of the same proposal: %.2f us; ratio decide/parse = %.2f\n",
           per_sec, p50, p99, mx, mean_parse, mean_decide / mean_parse);
    printf("gate latency: p99 %.2f us (target < %.0f us): %s\n", p99, TARGET_P99_US,
           p99 < TARGET_P99_US ? "target met" : "target NOT met");

    for (size_t i = 0; i < nprop; i++) {
        fs_proposal_release(&props[i]);
        free(texts[i]);
    }
    free(props);
    free(texts);
    free(lat);
    fs_catalog_free(catalog);
    fs_catalog_free(base);
    fs_policy_free(policy);
    return 0;
}
