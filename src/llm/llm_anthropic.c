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

/* tools as Messages tool definitions, names mapped */
static json_t *render_tools(const json_t *tools)
{
    json_t *out = json_array();
    size_t i;
    const json_t *t;
    json_array_foreach(tools, i, t)
    {
        if (!out)
            return NULL;
        char name[72];
        fs_llm_tool_name_map(tools, json_string_value(json_object_get(t, "name")), name,
                             sizeof(name));
        json_t *schema = json_object_get(t, "input_schema");
        json_t *sch =
            schema ? json_incref(schema) : json_pack("{s:s s:{}}", "type", "object", "properties");
        json_t *d = sch ? json_pack("{s:s s:o}", "name", name, "input_schema", sch) : NULL;
        const char *desc = json_string_value(json_object_get(t, "description"));
        if (d && desc && *desc && json_object_set_new(d, "description", json_string(desc)) < 0) {
            json_decref(d);
            d = NULL;
        }
        if (!d || json_array_append_new(out, d) < 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
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
    *out = NULL;
    json_t *turns = fs_llm_turns(rq->messages), *msgs = json_array();
    json_t *body = json_pack("{s:s s:I}", "model", cfg->model ? cfg->model : "", "max_tokens",
                             (json_int_t)(cfg->max_tokens > 0 ? cfg->max_tokens : 2048));
    bool ok = turns && msgs && body;
    size_t i, j;
    const json_t *turn, *b;
    json_array_foreach(turns, i, turn)
    {
        json_t *content = json_array();
        ok = ok && content;
        json_array_foreach(json_object_get(turn, "content"), j, b)
        {
            if (ok)
                ok = json_array_append_new(content, render_block(rq->tools, b)) == 0;
        }
        if (ok)
            ok = json_array_append_new(msgs,
                                       json_pack("{s:O s:o}", "role", json_object_get(turn, "role"),
                                                 "content", content)) == 0;
        else
            json_decref(content);
    }
    if (ok && rq->system && *rq->system)
        ok = json_object_set_new(body, "system", json_string(rq->system)) == 0;
    if (ok && json_array_size(rq->tools) > 0) {
        json_t *tools = render_tools(rq->tools);
        ok = tools && json_object_set_new(body, "tools", tools) == 0 &&
             json_object_set_new(body, "tool_choice", json_pack("{s:s}", "type", "auto")) == 0;
    }
    if (ok && cfg->temperature >= 0)
        ok = json_object_set_new(body, "temperature", json_real(cfg->temperature)) == 0;
    if (ok)
        ok = json_object_set(body, "messages", msgs) == 0;
    json_decref(turns);
    json_decref(msgs);
    if (!ok) {
        json_decref(body);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    *out = body;
    return 0;
}

static int prepare(const struct fs_llm *m, struct fs_llm_http *h, struct fs_err *err)
{
    struct fs_buf url = FS_BUF_INIT(0);
    int rc = fs_buf_printf(&url, "%s/v1/messages", m->base_url);
    h->url = rc == 0 ? fs_buf_detach(&url, NULL) : NULL;
    fs_buf_release(&url);
    if (!h->url ||
        (m->cfg.api_key && *m->cfg.api_key &&
         fs_llm_http_header(h, "x-api-key", m->cfg.api_key) < 0) ||
        fs_llm_http_header(h, "anthropic-version",
                           m->cfg.anthropic_version ? m->cfg.anthropic_version : "2023-06-01") < 0)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    return 0;
}

static const char *stop_of(const char *s)
{
    if (!s)
        return "other";
    if (!strcmp(s, "end_turn") || !strcmp(s, "stop_sequence"))
        return "end_turn";
    if (!strcmp(s, "tool_use"))
        return "tool_use";
    if (!strcmp(s, "max_tokens") || !strcmp(s, "model_context_window_exceeded"))
        return "max_tokens";
    if (!strcmp(s, "refusal"))
        return "refusal";
    return "other"; /* pause_turn and what comes later */
}

int fs_llm_anthropic_parse(const struct fs_llm_parse_ctx *px, const char *body, size_t len,
                           struct fs_llm_response *rs, struct fs_err *err)
{
    json_t *doc;
    int rc = fs_llm_parse_body(WHO, body, len, &doc, err);
    if (rc < 0)
        return rc;
    json_t *content = json_object_get(doc, "content");
    if (!json_is_array(content)) {
        const char *emsg =
            json_string_value(json_object_get(json_object_get(doc, "error"), "message"));
        rc = emsg ? fs_err_set(err, FS_E_PROTOCOL, NULL, WHO ": an error in a 2xx response: %.300s",
                               emsg)
                  : fs_err_set(err, FS_E_PROTOCOL, "content",
                               WHO ": content: expected an array of blocks, got %s",
                               fs_json_type_name(content));
        json_decref(doc);
        if (err)
            fs_utf8_cut(err->msg);
        return rc;
    }
    json_t *out = json_array();
    rc = out ? 0 : -FS_E_NOMEM;
    size_t i;
    json_t *b;
    json_array_foreach(content, i, b)
    {
        if (rc < 0)
            break;
        const char *type = json_string_value(json_object_get(b, "type"));
        if (fs_streq(type, "text"))
            rc = fs_llm_add_text(out, json_string_value(json_object_get(b, "text")));
        else if (fs_streq(type, "tool_use"))
            rc = fs_llm_add_tool_use(px, out, json_string_value(json_object_get(b, "id")),
                                     json_string_value(json_object_get(b, "name")),
                                     json_object_get(b, "input"));
        /* thinking, redacted_thinking, server_tool_use, ...: not ours to act on */
    }
    if (rc < 0) {
        json_decref(out);
        json_decref(doc);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    rs->content = out;
    fs_llm_set_stop(rs, stop_of(json_string_value(json_object_get(doc, "stop_reason"))));
    json_t *u = json_object_get(doc, "usage");
    rs->input_tokens = fs_llm_tokens(u, "input_tokens") +
                       fs_llm_tokens(u, "cache_creation_input_tokens") +
                       fs_llm_tokens(u, "cache_read_input_tokens");
    rs->output_tokens = fs_llm_tokens(u, "output_tokens");
    const char *model = json_string_value(json_object_get(doc, "model"));
    snprintf(rs->model, sizeof(rs->model), "%s", model ? model : (px->model ? px->model : ""));
    fs_utf8_cut(rs->model);
    json_decref(doc);
    return 0;
}

const struct fs_llm_ops fs_llm_anthropic_ops = {
    .init = init,
    .render = fs_llm_anthropic_render,
    .prepare = prepare,
    .parse = fs_llm_anthropic_parse,
};
