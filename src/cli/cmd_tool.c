/* cmd_tool: `forestall tool list` and `forestall tool call NAME [JSON-ARGS]` — run one built-in
 * tool in this process, exactly as an investigation would (fs_tools_call: schema check,
 * timeout, sanitizing, redaction, output cap), with the tool context built from the config's
 * tools.* keys. For operators and tests checking what a tool sees; it decides nothing and
 * bypasses nothing: the tools are read-only and the registry's limits apply. */
#include "core/common.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/cli.h"
#include "context/graph.h"
#include "core/config.h"
#include "core/json.h"
#include "tools/registry.h"
#include "tools/route.h"

#define ARGS_MAX (1 << 20)
/* The tool ran and reported a failure (isError); documented in the command's help. */
#define EXIT_TOOL_ERROR 3

enum { O_HOST = 256 };

struct topts {
    const char *config;
    const char *host;
    bool json;
    int argi;
};

static int parse(int argc, char **argv, const char *cmd, bool host, struct topts *o)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"host", required_argument, NULL, O_HOST},
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
        case O_HOST:
            if (host) {
                o->host = optarg;
                break;
            }
            /* fall through */
        default: fs_cli_usage(cmd, false); return FS_EXIT_USAGE;
        }
    }
    o->argi = optind;
    return FS_EXIT_OK;
}

/* The tool context from the config (and --host), as investigations build it (tools/route.h);
 * borrows from cfg. *roots is allocated. */
static int make_ctx(const struct fs_config *cfg, const char *host, struct fs_tool_ctx *ctx,
                    const char ***roots)
{
    struct fs_err err;
    if (fs_route_tool_ctx(cfg, host, ctx, roots, &err) < 0)
        return fs_cli_fail(err.code == FS_E_NOMEM ? FS_EXIT_FAILURE : FS_EXIT_USAGE, "--host %s",
                           err.msg);
    return FS_EXIT_OK;
}

static int load_config(const char *file, struct fs_config **cfg)
{
    struct fs_buf diag = FS_BUF_INIT(1 << 20);
    struct fs_err err = {0};
    if (fs_config_load(file, cfg, &diag, &err) < 0)
        return fs_cli_diag_fail(&diag, &err);
    fs_buf_release(&diag);
    return FS_EXIT_OK;
}

int fs_cmd_tool_list(int argc, char **argv)
{
    struct topts o;
    int rc = parse(argc, argv, "tool list", false, &o);
    if (rc != FS_EXIT_OK)
        return rc;
    if (o.argi != argc) {
        fs_cli_usage("tool list", false);
        return FS_EXIT_USAGE;
    }
    struct fs_registry *reg = NULL;
    struct fs_err err = {0};
    if (fs_registry_new(&reg, &err) < 0)
        return fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
    json_t *l = fs_tools_list_json(reg);
    fs_registry_free(reg);
    if (!l)
        return fs_cli_fail(FS_EXIT_FAILURE, "out of memory");
    if (o.json) {
        rc = fs_cli_print_json(l);
    } else {
        size_t i;
        json_t *t;
        json_array_foreach(json_object_get(l, "tools"), i, t)
        {
            printf("%-28s %s\n", json_string_value(json_object_get(t, "name")),
                   json_string_value(json_object_get(t, "title")));
        }
    }
    json_decref(l);
    return rc;
}

/* JSON-ARGS: the text itself, or "-" for stdin. */
static int read_args(const char *a, json_t **out)
{
    struct fs_buf b = FS_BUF_INIT(ARGS_MAX);
    struct fs_err err = {0};
    const char *text = a;
    size_t len = strlen(a);
    if (!strcmp(a, "-")) {
        if (fs_read_file("-", ARGS_MAX, &b, &err) < 0) {
            fs_buf_release(&b);
            return fs_cli_fail(FS_EXIT_USAGE, "arguments: %s", err.msg);
        }
        text = fs_buf_str(&b);
        len = b.len;
    }
    int rc = fs_json_parse(text, len, 32, out, &err);
    fs_buf_release(&b);
    if (rc < 0)
        return fs_cli_fail(FS_EXIT_USAGE, "arguments: %s", err.msg);
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return fs_cli_fail(FS_EXIT_USAGE, "arguments: expected a JSON object");
    }
    return FS_EXIT_OK;
}

static int print_result(const struct fs_tool_result *r, bool json)
{
    if (!json) {
        fputs(r->text, stdout);
        if (!*r->text || r->text[strlen(r->text) - 1] != '\n')
            fputc('\n', stdout);
        return FS_EXIT_OK;
    }
    json_t *o =
        json_pack("{s:s,s:O?,s:b,s:I,s:b,s:I}", "text", r->text, "structured", r->structured,
                  "isError", r->is_error, "durationMs", (json_int_t)r->duration_ms, "truncated",
                  r->truncated, "redactions", (json_int_t)r->redactions);
    if (!o)
        return fs_cli_fail(FS_EXIT_FAILURE, "out of memory");
    int rc = fs_cli_print_json(o);
    json_decref(o);
    return rc;
}

int fs_cmd_tool_call(int argc, char **argv)
{
    struct topts o;
    int rc = parse(argc, argv, "tool call", true, &o);
    if (rc != FS_EXIT_OK)
        return rc;
    int left = argc - o.argi;
    if (left < 1 || left > 2) {
        fs_cli_usage("tool call", false);
        return FS_EXIT_USAGE;
    }
    const char *name = argv[o.argi];
    json_t *args = NULL;
    if (left == 2 && (rc = read_args(argv[o.argi + 1], &args)) != FS_EXIT_OK)
        return rc;
    struct fs_config *cfg = NULL;
    struct fs_registry *reg = NULL;
    struct fs_graph *graph = NULL;
    const char **roots = NULL;
    struct fs_tool_ctx ctx;
    struct fs_err err = {0};
    if ((rc = load_config(o.config, &cfg)) != FS_EXIT_OK)
        goto out;
    if ((rc = make_ctx(cfg, o.host, &ctx, &roots)) != FS_EXIT_OK)
        goto out;
    if (cfg->context.graph) {
        struct fs_buf diag = FS_BUF_INIT(1 << 20);
        if (fs_graph_load(cfg->context.graph, &graph, &diag, &err) < 0) {
            rc = fs_cli_diag_fail(&diag, &err);
            goto out;
        }
        fs_buf_release(&diag);
        ctx.graph = graph;
    }
    if (fs_registry_new(&reg, &err) < 0) {
        rc = fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
        goto out;
    }
    struct fs_tool_result res;
    int crc = fs_tools_call(reg, name, args, &ctx, &res, &err);
    if (crc == -FS_E_NOT_FOUND) {
        rc = fs_cli_fail(FS_EXIT_USAGE, "%s (forestall tool list shows them)", err.msg);
    } else if (crc == -FS_E_INVALID_PAYLOAD) {
        rc = fs_cli_fail(FS_EXIT_USAGE, "bad arguments for %s: %s", name, err.msg);
    } else if (crc < 0) {
        rc = fs_cli_fail(FS_EXIT_FAILURE, "%s: %s", name, err.msg[0] ? err.msg : fs_err_name(-crc));
    } else {
        rc = print_result(&res, o.json);
        if (rc == FS_EXIT_OK && res.is_error)
            rc = EXIT_TOOL_ERROR;
        fs_tool_result_release(&res);
    }
out:
    fs_registry_free(reg);
    fs_graph_free(graph);
    free(roots);
    fs_config_free(cfg);
    json_decref(args);
    return rc;
}
