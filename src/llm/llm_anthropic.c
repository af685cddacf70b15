/* llm_anthropic: the Anthropic Messages API (POST /v1/messages, x-api-key, anthropic-version):
 * the neutral conversation rendered as Messages (it is already that shape: tool names mapped,
 * turns merged with tool results first, unknown blocks dropped) and a Message parsed back
 * (text and tool_use kept, thinking and server-tool blocks skipped, stop reasons normalized).
 * The renderer and parser are pure; llm.c does the exchange. */
#include "core/common.h"

#include <stdlib.h>

#include "core/json.h"
#include "llm/llm_int.h"

#define WHO "anthropic"

static int init(struct fs_llm *m, struct fs_err *err)
{
    if (!m->cfg.base_url && (!m->cfg.api_key || !*m->cfg.api_key))
        return fs_err_set(err, FS_E_CONFIG, "llm.api_key",
                          WHO ": llm.api_key is not set (or FORESTALL_LLM_API_KEY): "
                              "api.anthropic.com needs a key");
    return 0;
}

static json_t *render_block(const json_t *tools, const json_t *b)
{
    const char *type = json_string_value(json_object_get(b, "type"));
    if (!strcmp(type, "text"))
        return json_pack("{s:s s:O}", "type", "text", "text", json_object_get(b, "text"));
    if (!strcmp(type, "tool_use")) {
        char name[72];
        fs_llm_tool_name_map(tools, json_string_value(json_object_get(b, "name")), name,
                             sizeof(name));
        json_t *in = json_object_get(b, "input");
        return in ? json_pack("{s:s s:O s:s s:O}", "type", "tool_use", "id",
                              json_object_get(b, "id"), "name", name, "input", in)
                  : json_pack("{s:s s:O s:s s:{}}", "type", "tool_use", "id",
                              json_object_get(b, "id"), "name", name, "input");
    }
    char *text = fs_llm_result_text(json_object_get(b, "content"));
    json_t *r = text ? json_pack("{s:s s:O s:s s:b}", "type", "tool_result", "tool_use_id",
                                 json_object_get(b, "tool_use_id"), "content", text, "is_error",
                                 json_is_true(json_object_get(b, "is_error")))
                     : NULL;
    free(text);
    return r;
}

int fs_llm_anthropic_render(const struct fs_llm_config *cfg, const struct fs_llm_request *rq,
                            json_t **out, struct fs_err *err)
{
    json_t *msgs = fs_llm_block_messages(rq->messages, rq->tools, render_block);
    json_t *body = json_pack("{s:s s:I}", "model", cfg->model ? cfg->model : "", "max_tokens",
                             fs_llm_max_tokens(cfg));
    bool ok = msgs && body;
    if (ok && rq->system && *rq->system)
        ok = json_object_set_new(body, "system", json_string(rq->system)) == 0;
    if (ok && json_array_size(rq->tools) > 0) {
        json_t *tools = fs_llm_tool_defs(rq->tools, "input_schema", NULL, NULL);
        ok = tools && json_object_set_new(body, "tools", tools) == 0 &&
             json_object_set_new(body, "tool_choice", json_pack("{s:s}", "type", "auto")) == 0;
    }
    if (ok && cfg->temperature >= 0)
        ok = json_object_set_new(body, "temperature", json_real(cfg->temperature)) == 0;
    if (ok)
        ok = json_object_set(body, "messages", msgs) == 0;
    json_decref(msgs);
    return fs_llm_render_done(ok, body, out, err);
}

static int prepare(const struct fs_llm *m, struct fs_llm_http *h, struct fs_err *err)
{
    if (fs_llm_http_url(h, m->base_url, "/v1/messages") < 0 ||
        (m->cfg.api_key && *m->cfg.api_key &&
         fs_llm_http_header(h, "x-api-key", m->cfg.api_key) < 0) ||
        fs_llm_http_header(h, "anthropic-version",
                           m->cfg.anthropic_version ? m->cfg.anthropic_version : "2023-06-01") < 0)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    return 0;
}

/* stop_reason; pause_turn and what comes later are "other" */
static const struct fs_llm_stop stops[] = {
    {"end_turn", "end_turn"},
    {"stop_sequence", "end_turn"},
    {"tool_use", "tool_use"},
    {"max_tokens", "max_tokens"},
    {"model_context_window_exceeded", "max_tokens"},
    {"refusal", "refusal"},
};

int fs_llm_anthropic_parse(const struct fs_llm_parse_ctx *px, const char *body, size_t len,
                           struct fs_llm_response *rs, struct fs_err *err)
{
    json_t *doc;
    int rc = fs_llm_parse_body(WHO, body, len, &doc, err);
    if (rc < 0)
        return rc;
    json_t *content = json_object_get(doc, "content");
    if (!json_is_array(content)) {
        /* an error in a 2xx body is the provider's text: sanitized like every other */
        rc = fs_llm_error_in_body(WHO, doc, err);
        if (rc == 0)
            rc = fs_err_set(err, FS_E_PROTOCOL, "content",
                            WHO ": content: expected an array of blocks, got %s",
                            fs_json_type_name(content));
        json_decref(doc);
        return rc;
    }
    json_t *out = json_array();
    rc = out ? fs_llm_add_blocks(px, out, content) : -FS_E_NOMEM;
    const char *stop = json_string_value(json_object_get(doc, "stop_reason"));
    rc = fs_llm_take_content(rs, out, rc, fs_llm_stop_map(stops, FS_ARRAY_LEN(stops), stop), err);
    if (rc == 0) {
        json_t *u = json_object_get(doc, "usage");
        rs->input_tokens = fs_llm_tokens(u, "input_tokens") +
                           fs_llm_tokens(u, "cache_creation_input_tokens") +
                           fs_llm_tokens(u, "cache_read_input_tokens");
        rs->output_tokens = fs_llm_tokens(u, "output_tokens");
        fs_llm_set_model(rs, json_string_value(json_object_get(doc, "model")), px->model);
    }
    json_decref(doc);
    return rc;
}

const struct fs_llm_ops fs_llm_anthropic_ops = {
    .init = init,
    .render = fs_llm_anthropic_render,
    .prepare = prepare,
    .parse = fs_llm_anthropic_parse,
};
