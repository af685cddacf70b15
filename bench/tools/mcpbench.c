/* mcpbench: what forestall's MCP gateway adds to a tools/call, against calling the same server
 * directly.
 *
 *   build/bench/mcpbench [--calls N] [--rounds R] --tool NAME --via NAME [--args JSON]
 *                        [--http URL] -- DIRECT_ARGV... -- GATEWAY_ARGV...
 *
 * Opens two MCP clients over stdio (mcp/client.h, the same client forestall uses): one to the
 * server itself (DIRECT_ARGV), one to `forestall mcp serve` (GATEWAY_ARGV) in which that server
 * is registered and its tool trusted as read-only, so the gateway's tool --via is the server's
 * tool --tool behind it; with --http, a third to the daemon's /mcp. Each round makes N calls to
 * each, one after the other (direct, gateway, http), so drift on the machine hits all alike;
 * every call is timed with CLOCK_MONOTONIC. Prints each round's medians and, last, one JSON line:
 * {"direct_p50_us", "gateway_p50_us", "overhead_p50_us", ...}. Exit 0 when it ran, 2 when a
 * server could not be opened or a call failed. */
#include "core/common.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "mcp/client.h"

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
    qsort(v, n, sizeof(*v), cmp_double);
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

/* n timed calls of tool; 0, or -1 after printing why. */
static int timed_calls(struct fs_mcp_client *c, const char *tool, const json_t *args, size_t n,
                       double *out, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        struct fs_mcp_result r = {0};
        struct fs_err err = {0};
        double t0 = now_us();
        int rc = fs_mcp_call_tool(c, tool, args, 10000, &r, &err);
        out[i] = now_us() - t0;
        bool bad = rc < 0 || r.is_error;
        if (bad)
            fprintf(stderr, "mcpbench: %s %s: %s\n", what, tool, rc < 0 ? err.msg : r.text);
        fs_mcp_result_release(&r);
        if (bad)
            return -1;
    }
    return 0;
}

static int open_client(const char *name, char **argv, const char *url, struct fs_mcp_client **out)
{
    extern char **environ;
    struct fs_mcp_options o = {.name = name,
                               .transport = url ? FS_MCP_HTTP : FS_MCP_STDIO,
                               .argv = (const char *const *)argv,
                               .env = (const char *const *)environ,
                               .path_env = getenv("PATH"),
                               .url = url};
    struct fs_err err = {0};
    if (fs_mcp_open(&o, out, &err) < 0) {
        fprintf(stderr, "mcpbench: cannot open %s: %s\n", name, err.msg);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    size_t calls = 2000, rounds = 3;
    const char *tool = NULL, *via = NULL, *args_text = "{}", *http = NULL;
    static const struct option longopts[] = {{"calls", required_argument, NULL, 'n'},
                                             {"rounds", required_argument, NULL, 'r'},
                                             {"tool", required_argument, NULL, 't'},
                                             {"via", required_argument, NULL, 'v'},
                                             {"args", required_argument, NULL, 'a'},
                                             {"http", required_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "+n:r:t:v:a:h:", longopts, NULL)) != -1) {
        switch (o) {
        case 'n': calls = strtoul(optarg, NULL, 10); break;
        case 'r': rounds = strtoul(optarg, NULL, 10); break;
        case 't': tool = optarg; break;
        case 'v': via = optarg; break;
        case 'a': args_text = optarg; break;
        case 'h': http = optarg; break;
        default: goto usage;
        }
    }
    /* -- DIRECT... -- GATEWAY... */
    char **direct = argv + optind, **gateway = NULL;
    for (int i = optind; i < argc; i++)
        if (!strcmp(argv[i], "--")) {
            argv[i] = NULL;
            gateway = argv + i + 1;
            break;
        }
    if (!tool || !via || !direct[0] || !gateway || !gateway[0] || calls < 10 || rounds < 1)
        goto usage;
    json_error_t je;
    json_t *args = json_loads(args_text, 0, &je);
    if (!json_is_object(args)) {
        fprintf(stderr, "mcpbench: --args: not a JSON object\n");
        return 2;
    }
    struct fs_mcp_client *cd = NULL, *cg = NULL, *ch = NULL;
    if (open_client("direct", direct, NULL, &cd) < 0 ||
        open_client("gateway", gateway, NULL, &cg) < 0 ||
        (http && open_client("http", NULL, http, &ch) < 0))
        return 2;
    double *td = calloc(calls, sizeof(double)), *tg = calloc(calls, sizeof(double)),
           *th = calloc(calls, sizeof(double));
    double best_d = 1e18, best_g = 1e18, best_h = 1e18, p99_d = 0, p99_g = 0, p99_h = 0;
    /* warm up: first calls start caches, JIT and the store */
    if (!td || !tg || !th || timed_calls(cd, tool, args, 10, td, "direct") < 0 ||
        timed_calls(cg, via, args, 10, tg, "gateway") < 0 ||
        (ch && timed_calls(ch, via, args, 10, th, "http") < 0))
        return 2;
    for (size_t r = 0; r < rounds; r++) {
        if (timed_calls(cd, tool, args, calls, td, "direct") < 0 ||
            timed_calls(cg, via, args, calls, tg, "gateway") < 0 ||
            (ch && timed_calls(ch, via, args, calls, th, "http") < 0))
            return 2;
        double d50 = pct(td, calls, 0.5), g50 = pct(tg, calls, 0.5);
        double h50 = ch ? pct(th, calls, 0.5) : 0;
        printf("round %zu: direct p50 %.1f us, gateway (stdio) p50 %.1f us", r + 1, d50, g50);
        if (ch)
            printf(", gateway (http) p50 %.1f us", h50);
        printf("\n");
        if (d50 < best_d)
            best_d = d50, p99_d = pct(td, calls, 0.99);
        if (g50 < best_g)
            best_g = g50, p99_g = pct(tg, calls, 0.99);
        if (ch && h50 < best_h)
            best_h = h50, p99_h = pct(th, calls, 0.99);
    }
    printf("{\"calls\":%zu,\"rounds\":%zu,\"direct_p50_us\":%.1f,\"direct_p99_us\":%.1f,"
           "\"gateway_p50_us\":%.1f,\"gateway_p99_us\":%.1f,\"overhead_p50_us\":%.1f",
           calls, rounds, best_d, p99_d, best_g, p99_g, best_g - best_d);
    if (ch)
        printf(",\"http_p50_us\":%.1f,\"http_p99_us\":%.1f,\"http_overhead_p50_us\":%.1f", best_h,
               p99_h, best_h - best_d);
    printf("}\n");
    fs_mcp_close(cd);
    fs_mcp_close(cg);
    fs_mcp_close(ch);
    free(td);
    free(tg);
    free(th);
    json_decref(args);
    return 0;
usage:
    fprintf(stderr, "usage: mcpbench [--calls N] [--rounds R] --tool NAME --via NAME [--args JSON] "
                    "[--http URL] -- DIRECT_ARGV... -- GATEWAY_ARGV...\n");
    return 2;
}
