/* cmd_mcp_serve: `forestall mcp serve` — the MCP gateway over stdio (mcp/server.h): one
 * JSON-RPC message per line in, one reply per line out, until stdin closes. It works on the
 * configured store directly, as `forestall investigate` does, and runs what the gate passes in
 * this process through the executor's code. The registered MCP servers' trusted, approved
 * tools join its registry through the MCP hub (mcp/hub.h), which also runs actions whose target
 * kind is mcp. Its diagnostics go to stderr: stdout is the protocol's. */
#include "core/common.h"

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
#include "exec/exec.h"
#include "mcp/hub.h"
#include "mcp/jsonrpc.h"
#include "mcp/server.h"
#include "safety/service.h"
#include "store/store.h"
#include "tools/registry.h"

enum { S_DATA_DIR = 256, S_INCIDENT };

#define MAX_LINE (FS_JSONRPC_DEFAULT_MAX_BYTES + 2)

struct exec_arg {
    struct fs_exec_env env;
};

static int run_now(void *arg, int64_t proposal_id, struct fs_exec_report *rep, struct fs_err *err)
{
    struct exec_arg *x = arg;
    return fs_exec_run_proposal(&x->env, proposal_id, rep, err);
}

int fs_cmd_mcp_serve(int argc, char **argv)
{
    static const struct option opts[] = {{"data-dir", required_argument, NULL, S_DATA_DIR},
                                         {"incident", required_argument, NULL, S_INCIDENT},
                                         {NULL, 0, NULL, 0}};
    const char *config = NULL, *data_dir = NULL, *incident = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case S_DATA_DIR: data_dir = optarg; break;
        case S_INCIDENT: incident = optarg; break;
        default: fs_cli_usage("mcp serve", false); return FS_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fs_cli_usage("mcp serve", false);
        return FS_EXIT_USAGE;
    }
    int64_t inc = 0;
    if (incident && fs_parse_id(incident, "inc", &inc) < 0)
        return fs_cli_fail(FS_EXIT_USAGE, "--incident: expected inc-N");
    fs_log_setup(FS_LOG_WARN, FS_LOG_LOGFMT); /* stderr; stdout carries the protocol */
    struct fs_err err = {0};
    struct fs_config *cfg = NULL;
    struct fs_rules *rules = NULL;
    struct fs_registry *reg = NULL;
    struct fs_store *store = NULL;
    struct fs_mcp_server *srv = NULL;
    struct fs_mcp_hub *hub = NULL;
    char *line = NULL;
    int lockfd = -1, code = FS_EXIT_FAILURE;
    if (fs_cli_load_config(config, NULL, data_dir, &cfg, &err) < 0) {
        fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
        goto out;
    }
    fs_config_register_secrets(cfg);
    if (fs_cli_load_rules(cfg, &rules, &err) < 0 || fs_registry_new(&reg, &err) < 0) {
        fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
        goto out;
    }
    if (fs_cli_lock_data_dir(cfg->data_dir, "forestall.lock",
                             "a forestall daemon runs on it; use its /mcp endpoint instead",
                             &lockfd, &err) < 0 ||
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
    struct exec_arg x = {.env = {.w = &w, .rules = rules, .cfg = cfg, .tools = reg, .mcp = hub}};
    struct fs_mcp_server_opts so2 = {.w = &w,
                                     .cfg = cfg,
                                     .rules = rules,
                                     .tools = reg,
                                     .incident_id = inc,
                                     .execute = cfg->executor.enabled ? run_now : NULL,
                                     .execute_arg = &x};
    if (fs_mcp_server_new(&so2, &srv, &err) < 0 || !(line = malloc(MAX_LINE))) {
        fs_cli_fail(FS_EXIT_FAILURE, "out of memory");
        goto out;
    }
    code = FS_EXIT_OK;
    while (fgets(line, MAX_LINE, stdin)) {
        size_t n = strlen(line);
        if (n == MAX_LINE - 1 && line[n - 1] != '\n') {
            /* longer than any message may be: drop the rest of it and say so */
            int ch;
            while ((ch = getchar()) != EOF && ch != '\n') {
            }
            json_t *e = fs_jsonrpc_error(NULL, FS_JSONRPC_INVALID_REQUEST,
                                         "the message is larger than allowed", NULL);
            char *t = e ? fs_jsonrpc_encode(e, NULL) : NULL;
            if (t)
                printf("%s\n", t);
            free(t);
            json_decref(e);
            fflush(stdout);
            continue;
        }
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (!n)
            continue;
        json_t *reply = NULL;
        if (fs_mcp_server_handle(srv, line, n, &reply, &err) < 0) {
            fprintf(stderr, "forestall: mcp serve: %s\n", err.msg);
            code = FS_EXIT_FAILURE;
            break;
        }
        if (reply) {
            char *t = fs_jsonrpc_encode(reply, NULL);
            if (t)
                printf("%s\n", t);
            free(t);
            json_decref(reply);
            fflush(stdout);
        }
    }
out:
    free(line);
    fs_mcp_server_free(srv);
    fs_mcp_hub_free(hub); /* before the registry it registered tools in */
    fs_cli_close_store(cfg, store);
    fs_registry_free(reg);
    fs_rules_release(rules);
    fs_config_free(cfg);
    if (lockfd >= 0)
        close(lockfd);
    return code;
}
