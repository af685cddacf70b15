/* kpi: the seed 003 KPIs from the store's facts (fs_store_kpi_facts): percentiles of the time
 * to the first useful action and the four rates, each with its numerator and denominator so a
 * reader sees how much evidence a number rests on. */
#include "core/common.h"

#include <stdlib.h>

#include "core/time.h"
#include "report/kpi.h"

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of n sorted values, in seconds. */
static double pct_s(const int64_t *v, size_t n, double p)
{
    size_t rank = (size_t)(p * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return (double)v[rank - 1] / 1000.0;
}

static json_t *rate(const char *num_key, json_int_t num, const char *den_key, json_int_t den,
                    const char *rate_key)
{
    return json_pack("{s:I,s:I,s:o}", den_key, den, num_key, num, rate_key,
                     den > 0 ? json_real((double)num / (double)den) : json_null());
}

static json_int_t geti(const json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

int fs_kpis_compute(struct fs_store *s, int64_t since, int64_t now, json_t **out,
                    struct fs_err *err)
{
    *out = NULL;
    json_t *f = NULL;
    int rc = fs_store_kpi_facts(s, since, now, FS_KPI_SETTLE_MS, &f, err);
    if (rc < 0)
        return rc;
    json_t *deltas = json_object_get(f, "first_action_ms");
    size_t n = json_array_size(deltas);
    int64_t *v = n ? fs_calloc(n, sizeof(*v)) : NULL;
    if (n && !v) {
        json_decref(f);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    for (size_t i = 0; i < n; i++)
        v[i] = json_integer_value(json_array_get(deltas, i));
    if (n)
        qsort(v, n, sizeof(*v), cmp64);
    json_t *first = json_pack("{s:I,s:o,s:o}", "incidents", (json_int_t)n, "medianSeconds",
                              n ? json_real(pct_s(v, n, 0.5)) : json_null(), "p90Seconds",
                              n ? json_real(pct_s(v, n, 0.9)) : json_null());
    free(v);
    json_t *ex = json_object_get(f, "executions");
    json_int_t finished = 0;
    const char *k;
    json_t *c;
    json_object_foreach(ex, k, c)
    {
        if (strcmp(k, "refused") != 0) /* a refusal ran nothing: not a remediation */
            finished += json_integer_value(c);
    }
    json_int_t bad = geti(ex, "failed") + geti(ex, "rolled_back") + geti(ex, "unknown");
    char a[40], b[40];
    *out = json_pack(
        "{s:s,s:s,s:o,s:o,s:o,s:o,s:o}", "since", fs_time_format(since, a, sizeof(a)), "until",
        fs_time_format(now, b, sizeof(b)), "timeToFirstUsefulAction", first, "handledWithoutHuman",
        rate("withoutHuman", geti(f, "autonomous"), "ended", geti(f, "ended"), "rate"),
        "falseRemediation", rate("failedOrRolledBack", bad, "executions", finished, "rate"),
        "escalationPrecision",
        rate("warranted", geti(f, "escalated_warranted"), "escalated", geti(f, "escalated"),
             "precision"),
        "rollbackSuccess",
        rate("rolledBack", geti(f, "rolled_back"), "attempted", geti(f, "rollback_started"),
             "rate"));
    json_decref(f);
    return *out ? 0 : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
}
