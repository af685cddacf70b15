/* fuzz_sim_net: libFuzzer target for the simulated Prometheus and Loki servers and certificates
 * (src/eval/sim_net.c) on a small fixed world. The first byte picks what the rest is: a
 * Prometheus form as sent (0: instant, 2: range) or just its query (1, 3), a Loki query string as
 * sent (4) or just its LogQL (5; the second byte sets limit and direction), a URL path (6), or a
 * certificate's "subject|issuer" (7). Every request must be answered — 200 with a body
 * forestall's own parsers accept, 400 with Prometheus's bad_data body or Loki's one-line text,
 * or 404 — and every certificate either made and read back by fs_hp_pem or refused by OpenSSL;
 * never a crash, a leak, undefined behaviour or a runaway. */
#include "core/common.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "eval/world.h"
#include "tools/host_int.h"
#include "tools/obs_int.h"

#define NOW 1722506400123LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fs_world *world(void)
{
    static struct fs_world w;
    static struct fs_sim_series series[3];
    static struct fs_sim_point points[] = {{NOW - 600000, 1}, {NOW - 300000, 6}, {NOW, 0}};
    static struct fs_sim_line api[] = {{NOW - 3000000, "GET /health 200"},
                                       {NOW - 1200000, "error: db \"connection\" refused"},
                                       {NOW - 600000, "warn: slow query\t2.5s"}};
    static struct fs_sim_line worker[] = {{NOW - 2700000, "job 1 done"},
                                          {NOW - 900000, "error: job 2 failed \xc3\xa9"}};
    static struct fs_sim_stream streams[2];
    if (w.now_ms)
        return &w;
    pthread_mutex_init(&w.mu, NULL);
    w.now_ms = NOW;
    series[0] = (struct fs_sim_series){
        "disk_used_percent",
        json_pack("{s:s,s:s}", "__name__", "disk_used_percent", "instance", "web-1:9100"),
        80,
        1,
        NULL,
        0};
    series[1] = (struct fs_sim_series){
        "req_rate", json_pack("{s:s}", "job", "api"), 0, 0, points, FS_ARRAY_LEN(points)};
    series[2] = (struct fs_sim_series){"", json_pack("{s:s}", "x", "\"\\\n"), 1e-7, -3e21, NULL,
                                       0}; /* matches every query */
    streams[0] = (struct fs_sim_stream){json_pack("{s:s,s:s}", "app", "api", "env", "prod"), api,
                                        FS_ARRAY_LEN(api)};
    streams[1] =
        (struct fs_sim_stream){json_pack("{s:s}", "app", "worker"), worker, FS_ARRAY_LEN(worker)};
    w.series = series;
    w.nseries = FS_ARRAY_LEN(series);
    w.streams = streams;
    w.nstreams = FS_ARRAY_LEN(streams);
    return &w;
}

/* A 200 from Prometheus or Loki reads as such; a 400 is bad_data or one line of text. */
static void check_answer(long status, const struct fs_buf *b)
{
    const char *s = b->data ? b->data : "";
    json_t *out = NULL;
    struct fs_prom_error pe;
    struct fs_err e = {0};
    if (status == 404) {
        if (strcmp(s, "404 page not found\n"))
            abort();
        return;
    }
    int prc = fs_prom_parse(s, b->len, &out, &pe, &e);
    json_decref(out);
    out = NULL;
    if (status == 200) {
        if (prc == 0)
            return;
        if (fs_loki_parse(s, b->len, 4096, &out, NULL, &e) != 0)
            abort();
        json_decref(out);
        return;
    }
    if (status != 400)
        abort();
    if (prc == 1) {
        if (strcmp(pe.type, "bad_data") || !pe.msg[0])
            abort();
        return;
    }
    /* Loki's text: one line, ending in a newline */
    if (b->len < 2 || s[b->len - 1] != '\n' || memchr(s, '\n', b->len) != s + b->len - 1)
        abort();
}

static void request(const char *url, bool post, const char *form)
{
    long status = -1;
    struct fs_buf body = FS_BUF_INIT(FS_OBS_MAX_BODY);
    struct fs_err e = {0};
    struct fs_world *w = world();
    pthread_mutex_lock(&w->mu);
    int rc = fs_world_http(w, url, post, form, &status, &body, &e);
    pthread_mutex_unlock(&w->mu);
    if (rc != 0)
        abort();
    check_answer(status, &body);
    fs_buf_release(&body);
}

static void certificate(char *text)
{
    char *bar = strchr(text, '|');
    if (bar)
        *bar = '\0';
    /* an empty name is left out: fs_hp_pem cannot read one yet (json_stringn(NULL, 0) in its
     * name_json), which is the reader's limit, not this file's */
    if (!*text || (bar && !bar[1]))
        return;
    struct fs_sim_cert c = {.subject = text,
                            .issuer = bar ? bar + 1 : NULL,
                            .not_after_ms = NOW + 86400000LL * (int64_t)(strlen(text) % 400) -
                                            86400000LL * 200};
    struct fs_buf pem = FS_BUF_INIT(1 << 20);
    struct fs_err e = {0};
    struct fs_world *w = world();
    int rc = fs_world_pem(w, &c, &pem, &e);
    if (rc == 0) {
        json_t *out = NULL;
        if (fs_hp_pem(pem.data, pem.len, NOW, &out, &e) != 0)
            abort();
        json_decref(out);
    } else if (rc != -FS_E_SYSTEM || !e.msg[0]) {
        abort();
    }
    fs_buf_release(&pem);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    int mode = data[0] % 8;
    int knob = data[1];
    char *rest = strndup((const char *)data + 2, size - 2); /* up to a NUL, as a C string */
    struct fs_buf f = FS_BUF_INIT(0), url = FS_BUF_INIT(0);
    char lim[16];
    if (!rest)
        return 0;
    switch (mode) {
    case 0: request("http://prometheus.sim:9090/api/v1/query", true, rest); break;
    case 1:
        fs_obs_form_add(&f, "query", rest);
        request("http://prometheus.sim:9090/api/v1/query", true, fs_buf_str(&f));
        break;
    case 2: request("http://prometheus.sim:9090/api/v1/query_range", true, rest); break;
    case 3:
        fs_obs_form_add(&f, "query", rest);
        fs_obs_form_add(&f, "start", "1722502800.123");
        fs_obs_form_add(&f, "end", "1722506400.123");
        fs_obs_form_add(&f, "step", knob & 1 ? "15s" : "1");
        request("http://prometheus.sim:9090/api/v1/query_range", true, fs_buf_str(&f));
        break;
    case 4:
        fs_buf_printf(&url, "http://loki.sim:3100/loki/api/v1/query_range?%s", rest);
        request(fs_buf_str(&url), false, NULL);
        break;
    case 5:
        snprintf(lim, sizeof(lim), "%d", knob >> 1);
        fs_obs_form_add(&f, "query", rest);
        fs_obs_form_add(&f, "start", "1722502800123000000");
        fs_obs_form_add(&f, "end", "1722506400123000000");
        fs_obs_form_add(&f, "limit", lim);
        fs_obs_form_add(&f, "direction", knob & 1 ? "forward" : "backward");
        fs_buf_printf(&url, "http://loki.sim:3100/loki/api/v1/query_range?%s", fs_buf_str(&f));
        request(fs_buf_str(&url), false, NULL);
        break;
    case 6:
        fs_buf_printf(&url, "http://sim:1%s", rest);
        request(fs_buf_str(&url), knob & 1, knob & 2 ? "query=up&start=1&end=2&step=1" : NULL);
        break;
    default: certificate(rest); break;
    }
    fs_buf_release(&f);
    fs_buf_release(&url);
    free(rest);
    return 0;
}
