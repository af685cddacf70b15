/* cmd_client: the commands that talk to a running daemon — alert send, incidents list/show,
 * deadletters list, status. Each is a thin view over an HTTP API route. */
#include "core/common.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "core/time.h"

#define PAYLOAD_MAX (64u << 20)

enum { OPT_URL = 1000, OPT_SOURCE, OPT_STATUS, OPT_SEVERITY, OPT_LIMIT, OPT_BODY };

/* The options of the client commands, parsed in one place. Each command says which it takes
 * (a mask of 1u << option) and what -o may be. */
struct copts {
    const char *url, *source, *status, *severity, *limit;
    bool body;
    int second_format; /* -o chose the second format (json) */
    int argi;          /* first positional argument */
};

#define O_BIT(o) (1u << ((o)-OPT_URL))

static int parse_copts(int argc, char **argv, const char *cmd, unsigned allowed, const char *fmt1,
                       const char *fmt2, int positional, struct copts *c)
{
    static const struct option opts[] = {{"url", required_argument, NULL, OPT_URL},
                                         {"source", required_argument, NULL, OPT_SOURCE},
                                         {"status", required_argument, NULL, OPT_STATUS},
                                         {"severity", required_argument, NULL, OPT_SEVERITY},
                                         {"limit", required_argument, NULL, OPT_LIMIT},
                                         {"body", no_argument, NULL, OPT_BODY},
                                         {NULL, 0, NULL, 0}};
    memset(c, 0, sizeof(*c));
    int o;
    allowed |= O_BIT(OPT_URL);
    while ((o = getopt_long(argc, argv, fmt1 ? "o:" : "", opts, NULL)) != -1) {
        if (o == 'o') {
            if (strcmp(optarg, fmt1) == 0)
                c->second_format = 0;
            else if (strcmp(optarg, fmt2) == 0)
                c->second_format = 1;
            else
                return fs_cli_fail(FS_EXIT_USAGE, "-o: expected %s or %s", fmt1, fmt2);
            continue;
        }
        if (o < OPT_URL || !(allowed & O_BIT(o))) {
            if (o >= OPT_URL)
                fprintf(stderr, "forestall: %s does not take that option\n", cmd);
            fs_cli_usage(cmd, false);
            return FS_EXIT_USAGE;
        }
        switch (o) {
        case OPT_URL: c->url = optarg; break;
        case OPT_SOURCE: c->source = optarg; break;
        case OPT_STATUS: c->status = optarg; break;
        case OPT_SEVERITY: c->severity = optarg; break;
        case OPT_LIMIT: c->limit = optarg; break;
        case OPT_BODY: c->body = true; break;
        default: break;
        }
    }
    if (argc - optind != positional) {
        fs_cli_usage(cmd, false);
        return FS_EXIT_USAGE;
    }
    c->argi = optind;
    return FS_EXIT_OK;
}

int fs_cli_print_json(const json_t *v)
{
    char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!s)
        return FS_EXIT_FAILURE;
    puts(s);
    free(s);
    return FS_EXIT_OK;
}

int fs_cli_get_json(const char *url, const char *path, json_t **out)
{
    return fs_cli_call_json(url, "GET", path, NULL, out);
}

int fs_cli_call_json(const char *url, const char *method, const char *path, const json_t *body,
                     json_t **out)
{
    struct fs_client c;
    struct fs_http_reply r;
    fs_client_init(&c, url);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    if (body && !text) {
        fs_client_release(&c);
        return fs_cli_fail(FS_EXIT_FAILURE, "out of memory");
    }
    int rc = fs_client_request(&c, method, path, text, text ? strlen(text) : 0, &r);
    free(text);
    fs_client_release(&c);
    if (rc != FS_EXIT_OK) {
        fs_cli_fail(rc, "%s", r.error);
        fs_http_reply_release(&r);
        return rc;
    }
    if ((rc = fs_client_check(&r)) != FS_EXIT_OK) {
        fs_http_reply_release(&r);
        return rc;
    }
    json_error_t je;
    *out = json_loads(fs_buf_str(&r.body), 0, &je);
    fs_http_reply_release(&r);
    if (!*out)
        return fs_cli_fail(FS_EXIT_FAILURE, "the daemon's reply is not JSON: %s", je.text);
    return FS_EXIT_OK;
}

static const char *detect_source(const char *body, size_t len)
{
    json_t *v = json_loadb(body, len, 0, NULL);
    const char *src = "alertmanager";
    if (json_is_object(v)) {
        const char *ver = json_string_value(json_object_get(v, "version"));
        if ((ver && strcmp(ver, "1") == 0) || json_object_get(v, "orgId"))
            src = "grafana";
        else if (json_object_get(v, "type") || json_object_get(v, "events"))
            src = "event";
    }
    json_decref(v);
    return src;
}

int fs_cmd_alert_send(int argc, char **argv)
{
    struct copts c;
    int rc = parse_copts(argc, argv, "alert send", O_BIT(OPT_SOURCE), NULL, NULL, 1, &c);
    if (rc != FS_EXIT_OK)
        return rc;
    const char *source = c.source, *url = c.url;
    struct fs_buf body;
    struct fs_err err;
    if (fs_read_file(argv[c.argi], PAYLOAD_MAX, &body, &err) < 0)
        return fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
    if (!source)
        source = detect_source(fs_buf_str(&body), body.len);
    const char *path;
    if (strcmp(source, "alertmanager") == 0)
        path = "/api/v1/alerts/alertmanager";
    else if (strcmp(source, "grafana") == 0)
        path = "/api/v1/alerts/grafana";
    else if (strcmp(source, "event") == 0)
        path = "/api/v1/events";
    else {
        fs_buf_release(&body);
        return fs_cli_fail(FS_EXIT_USAGE, "--source: expected alertmanager, grafana or event");
    }
    struct fs_client cl;
    struct fs_http_reply r;
    fs_client_init(&cl, url);
    rc = fs_client_request(&cl, "POST", path, fs_buf_str(&body), body.len, &r);
    fs_client_release(&cl);
    fs_buf_release(&body);
    if (rc != FS_EXIT_OK) {
        fs_http_reply_release(&r);
        return fs_cli_fail(rc, "%s", r.error);
    }
    printf("HTTP %ld\n%s", r.status, fs_buf_str(&r.body));
    rc = fs_client_check(&r);
    fs_http_reply_release(&r);
    return rc;
}

void fs_cli_short_time(const char *rfc, char *out, size_t size)
{
    /* "2026-11-21T10:43:25.506Z" -> "2026-11-21 10:43:25" */
    snprintf(out, size, "%.10s %.8s", rfc ? rfc : "", rfc && strlen(rfc) > 11 ? rfc + 11 : "");
}

int fs_cmd_incidents_list(int argc, char **argv)
{
    struct copts c;
    int rc = parse_copts(argc, argv, "incidents list",
                         O_BIT(OPT_STATUS) | O_BIT(OPT_SEVERITY) | O_BIT(OPT_LIMIT), "table",
                         "json", 0, &c);
    if (rc != FS_EXIT_OK)
        return rc;
    const char *status = c.status, *severity = c.severity, *limit = c.limit, *url = c.url;
    int json = c.second_format;
    struct fs_buf q = FS_BUF_INIT(4096);
    fs_buf_puts(&q, "/api/v1/incidents");
    if (fs_client_query(&q, "limit", limit ? limit : "100") < 0 ||
        fs_client_query(&q, "status", status) < 0 ||
        fs_client_query(&q, "severity", severity) < 0) {
        fs_buf_release(&q);
        return fs_cli_fail(FS_EXIT_USAGE, "options too long");
    }
    json_t *arr;
    rc = fs_cli_get_json(url, fs_buf_str(&q), &arr);
    fs_buf_release(&q);
    if (rc != FS_EXIT_OK)
        return rc;
    if (json) {
        rc = fs_cli_print_json(arr);
    } else {
        printf("%-10s %-9s %-9s %-8s %-20s %s\n", "ID", "STATUS", "SEVERITY", "EPISODES", "UPDATED",
               "TITLE");
        size_t i;
        json_t *inc;
        json_array_foreach(arr, i, inc)
        {
            char t[40];
            fs_cli_short_time(json_string_value(json_object_get(inc, "updatedAt")), t, sizeof(t));
            char eps[24];
            snprintf(eps, sizeof(eps), "%lld/%zu",
                     (long long)json_integer_value(json_object_get(inc, "openEpisodes")),
                     json_array_size(json_object_get(inc, "episodes")));
            printf("%-10s %-9s %-9s %-8s %-20s %s\n", json_string_value(json_object_get(inc, "id")),
                   json_string_value(json_object_get(inc, "status")),
                   json_string_value(json_object_get(inc, "severity")), eps, t,
                   json_string_value(json_object_get(inc, "title")));
        }
        if (json_array_size(arr) == 0)
            printf("(no incidents)\n");
    }
    json_decref(arr);
    return rc;
}

static void print_map(const char *title, const json_t *m, const char *indent)
{
    if (!json_object_size(m))
        return;
    printf("%s%s:\n", indent, title);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)m, k, v)
    {
        char *s = json_is_string(v) ? NULL : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        printf("%s  %s: %s\n", indent, k, s ? s : json_string_value(v));
        free(s);
    }
}

/* What forestall did about the incident: tool calls, proposals with the gate's decision,
 * executions with their step log (GET .../trace). Nothing when the daemon has none. */
static void print_trace(const char *url, const char *id)
{
    char path[160];
    snprintf(path, sizeof(path), "/api/v1/incidents/%s/trace", id ? id : "");
    json_t *t = NULL;
    if (fs_cli_get_json(url, path, &t) != FS_EXIT_OK || !t)
        return;
    size_t i;
    json_t *v;
    if (json_array_size(json_object_get(t, "observations")))
        printf("observations:\n");
    json_array_foreach(json_object_get(t, "observations"), i, v)
    {
        printf("  %-7s %-26s %5lld ms\n", json_string_value(json_object_get(v, "id")),
               json_string_value(json_object_get(v, "tool")),
               (long long)json_integer_value(json_object_get(v, "durationMs")));
    }
    if (json_array_size(json_object_get(t, "proposals")))
        printf("proposals:\n");
    json_array_foreach(json_object_get(t, "proposals"), i, v)
    {
        printf("  %-7s %-22s %-20s %s\n", json_string_value(json_object_get(v, "id")),
               json_string_value(json_object_get(v, "action")),
               json_string_value(json_object_get(v, "decision")),
               json_string_value(json_object_get(v, "status")));
    }
    if (json_array_size(json_object_get(t, "executions")))
        printf("executions:\n");
    json_array_foreach(json_object_get(t, "executions"), i, v)
    {
        printf("  %-7s %-22s %-12s", json_string_value(json_object_get(v, "id")),
               json_string_value(json_object_get(v, "action")),
               json_string_value(json_object_get(v, "outcome")));
        size_t k;
        json_t *st;
        json_array_foreach(json_object_get(v, "steps"), k, st)
            printf("%s%s", k ? " → " : " ", json_string_value(json_object_get(st, "state")));
        printf("\n");
    }
    json_decref(t);
}

int fs_cmd_incidents_show(int argc, char **argv)
{
    struct copts c;
    int rc = parse_copts(argc, argv, "incidents show", 0, "text", "json", 1, &c);
    if (rc != FS_EXIT_OK)
        return rc;
    const char *url = c.url;
    int json = c.second_format;
    const char *id = argv[c.argi];
    for (const char *p = id; *p; p++)
        if (!((*p >= '0' && *p <= '9') || *p == '-' || (*p >= 'a' && *p <= 'z')))
            return fs_cli_fail(FS_EXIT_USAGE, "not an incident id: %s (expected inc-42 or 42)", id);
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/incidents/%s", id);
    json_t *inc;
    if ((rc = fs_cli_get_json(url, path, &inc)) != FS_EXIT_OK)
        return rc;
    if (json) {
        rc = fs_cli_print_json(inc);
        json_decref(inc);
        return rc;
    }
    printf("%s  %s  [%s]  %s\n", json_string_value(json_object_get(inc, "id")),
           json_string_value(json_object_get(inc, "status")),
           json_string_value(json_object_get(inc, "severity")),
           json_string_value(json_object_get(inc, "title")));
    printf("created %s, updated %s", json_string_value(json_object_get(inc, "createdAt")),
           json_string_value(json_object_get(inc, "updatedAt")));
    const char *res = json_string_value(json_object_get(inc, "resolvedAt"));
    printf("%s%s\n", res ? ", resolved " : "", res ? res : "");
    const char *sat = json_string_value(json_object_get(inc, "stateAt"));
    printf("handling: %s%s%s\n", json_string_value(json_object_get(inc, "state")) ?: "new",
           sat ? " since " : "", sat ? sat : "");
    print_map("labels", json_object_get(inc, "labels"), "");
    size_t i;
    json_t *ep;
    printf("episodes:\n");
    json_array_foreach(json_object_get(inc, "episodes"), i, ep)
    {
        const char *ends = json_string_value(json_object_get(ep, "endsAt"));
        printf("  %s %s %s %s  %s → %s%s\n", json_string_value(json_object_get(ep, "id")),
               json_string_value(json_object_get(ep, "fingerprint")),
               json_string_value(json_object_get(ep, "status")),
               json_string_value(json_object_get(ep, "alertname")) ?: "-",
               json_string_value(json_object_get(ep, "startsAt")), ends ? ends : "now",
               json_is_true(json_object_get(ep, "endInferred")) ? " (inferred)" : "");
        print_map("annotations", json_object_get(ep, "annotations"), "    ");
    }
    print_trace(url, json_string_value(json_object_get(inc, "id")));
    printf("timeline:\n");
    json_t *ev;
    json_array_foreach(json_object_get(inc, "timeline"), i, ev)
    {
        char *d = json_dumps(json_object_get(ev, "detail"), JSON_COMPACT);
        printf("  %s  %-26s %s\n", json_string_value(json_object_get(ev, "ts")),
               json_string_value(json_object_get(ev, "kind")), d ? d : "");
        free(d);
    }
    json_decref(inc);
    return FS_EXIT_OK;
}

int fs_cmd_dead_letters(int argc, char **argv)
{
    struct copts c;
    int rc = parse_copts(argc, argv, "deadletters list", O_BIT(OPT_LIMIT) | O_BIT(OPT_BODY),
                         "table", "json", 0, &c);
    if (rc != FS_EXIT_OK)
        return rc;
    const char *limit = c.limit ? c.limit : "100", *url = c.url;
    int json = c.second_format, body = c.body;
    struct fs_buf q = FS_BUF_INIT(4096);
    fs_buf_puts(&q, "/api/v1/dead-letters");
    if (fs_client_query(&q, "limit", limit) < 0 || fs_client_query(&q, "body", body ? "1" : NULL)) {
        fs_buf_release(&q);
        return fs_cli_fail(FS_EXIT_USAGE, "options too long");
    }
    json_t *arr;
    rc = fs_cli_get_json(url, fs_buf_str(&q), &arr);
    fs_buf_release(&q);
    if (rc != FS_EXIT_OK)
        return rc;
    if (json) {
        rc = fs_cli_print_json(arr);
    } else {
        printf("%-8s %-20s %-12s %-4s %-16s %s\n", "ID", "RECEIVED", "SOURCE", "HTTP", "CODE",
               "MESSAGE");
        size_t i;
        json_t *d;
        json_array_foreach(arr, i, d)
        {
            char t[40];
            fs_cli_short_time(json_string_value(json_object_get(d, "receivedAt")), t, sizeof(t));
            printf("%-8s %-20s %-12s %-4lld %-16s %s\n",
                   json_string_value(json_object_get(d, "id")), t,
                   json_string_value(json_object_get(d, "source")),
                   (long long)json_integer_value(json_object_get(d, "httpStatus")),
                   json_string_value(json_object_get(d, "code")),
                   json_string_value(json_object_get(d, "message")));
        }
    }
    json_decref(arr);
    return rc;
}

int fs_cmd_status(int argc, char **argv)
{
    struct copts c;
    int rc = parse_copts(argc, argv, "status", 0, "text", "json", 0, &c);
    if (rc != FS_EXIT_OK)
        return rc;
    const char *url = c.url;
    int json = c.second_format;
    json_t *st;
    if ((rc = fs_cli_get_json(url, "/api/v1/status", &st)) != FS_EXIT_OK)
        return rc;
    if (json) {
        rc = fs_cli_print_json(st);
    } else {
        printf("forestall %s, up %llds, %s (%s)\nconfig: %s\nstore: %s\n",
               json_string_value(json_object_get(st, "version")),
               (long long)json_integer_value(json_object_get(st, "uptimeSeconds")),
               json_is_true(json_object_get(st, "ready")) ? "ready" : "NOT READY",
               json_string_value(json_object_get(st, "readiness")),
               json_string_value(json_object_get(st, "config")),
               json_string_value(json_object_get(st, "storeDriver")));
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(st, "store"), k, v)
            printf("  %-16s %lld\n", k, (long long)json_integer_value(v));
    }
    json_decref(st);
    return rc;
}
