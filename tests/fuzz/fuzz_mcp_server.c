/* fuzz_mcp_server: libFuzzer target for the MCP gateway's message dispatch
 * (fs_mcp_server_handle): any bytes, as one message from a client, get a well-formed JSON-RPC
 * reply or none (a notification) — never a crash, a leak or undefined behaviour. The tools are
 * the built-in definitions answering with an empty result (nothing runs), the catalog is the
 * built-in one, and there is no store: action calls are refused before the gate. */
#include "core/common.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mcp/jsonrpc.h"
#include "mcp/server.h"
#include "safety/catalog.h"
#include "safety/service.h"
#include "tools/registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fs_registry *reg;
static struct fs_rules rules;

static int empty_answer(void *closure, const json_t *args, const struct fs_tool_ctx *ctx,
                        struct fs_tool_result *out, struct fs_err *err)
{
    out->structured = json_object();
    out->text = fs_strdup("{}");
    return out->text ? 0 : -FS_E_NOMEM;
}

static void *closure_for(void *arg, const char *name)
{
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fs_err err;
    if (!reg && (fs_registry_new_replayed(empty_answer, closure_for, NULL, &reg, &err) < 0 ||
                 fs_catalog_load(NULL, &rules.catalog, NULL, &err) < 0))
        abort();
    if (size > 1 << 16)
        return 0;
    struct fs_mcp_server_opts o = {.rules = &rules, .tools = reg};
    struct fs_mcp_server *s = NULL;
    if (fs_mcp_server_new(&o, &s, &err) < 0)
        abort();
    json_t *reply = NULL;
    if (fs_mcp_server_handle(s, (const char *)data, size, &reply, &err) < 0)
        abort(); /* no store, so nothing can fail but memory */
    if (reply) {
        /* the reply is a valid JSON-RPC message the gateway would send */
        char *text = fs_jsonrpc_encode(reply, NULL);
        struct fs_jsonrpc_msg m;
        if (!text || fs_jsonrpc_parse(text, strlen(text), NULL, &m, &err) < 0 ||
            (m.kind != FS_JSONRPC_RESPONSE && m.kind != FS_JSONRPC_ERROR))
            abort();
        fs_jsonrpc_msg_release(&m);
        free(text);
        json_decref(reply);
    }
    fs_mcp_server_free(s);
    return 0;
}
