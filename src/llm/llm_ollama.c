/* llm_ollama: Ollama's native chat API (POST /api/chat with "stream": false — its default is
 * streaming NDJSON) — the neutral conversation as Ollama messages (tool calls with arguments as
 * objects, tool results as "tool" messages naming the tool and the call), and the one answer
 * parsed back (tool calls found by message.tool_calls: done_reason does not say). The renderer
 * and parser are pure; llm.c does the exchange. */
#include "core/common.h"

#include <stdlib.h>

#include "core/json.h"
#include "llm/llm_int.h"

#define WHO "ollama"

/* The name of the tool a call id belongs to, among the assistant turns before; NULL if none. */
static const char *call_name(const json_t *turns, size_t upto, const char *id)
{
    for (size_t i = 0; i < upto; i++) {
        size_t j;
        const json_t *b;
        json_array_foreach(json_object_get(json_array_get(turns, i), "content"), j, b)
        {
            if (fs_streq(json_string_value(json_object_get(b, "type")), "tool_use") &&
                fs_streq(json_string_value(json_object_get(b, "id")), id))
                return json_string_value(json_object_get(b, "name"));
        }
    }
    return NULL;
}

static int render_turn(const json_t *tools, const json_t *turns, size_t ti, json_t *msgs)
{
    const json_t *turn = json_array_get(turns, ti);
    bool user = fs_streq(json_string_value(json_object_get(turn, "role")), "user");
    const json_t *content = json_object_get(turn, "content"), *b;
    struct fs_buf text = FS_BUF_INIT(0);
    json_t *calls = json_array();
    int rc = calls ? fs_buf_puts(&text, "") : -FS_E_NOMEM;
    size_t i;
    json_array_foreach(content, i, b)
    {
        if (rc < 0)
            break;
        const char *type = json_string_value(json_object_get(b, "type"));
        char name[72];
        if (!strcmp(type, "text")) {
            rc = fs_buf_printf(&text, "%s%s", text.len ? "\n" : "",
                               json_string_value(json_object_get(b, "text")));
        } else if (!strcmp(type, "tool_result")) {
            const char *id = json_string_value(json_object_get(b, "tool_use_id"));
            const char *n = call_name(turns, ti, id);
            fs_llm_tool_name_map(tools, n ? n : "", name, sizeof(name));
            char *r = fs_llm_result_text(json_object_get(b, "content"));
            struct fs_buf t = FS_BUF_INIT(0);
            bool bad = json_is_true(json_object_get(b, "is_error"));
            rc = r ? fs_buf_printf(&t, "%s%s", bad ? "ERROR: " : "", r) : -FS_E_NOMEM;
            json_t *m =
                rc == 0 ? json_pack("{s:s s:s s:s s:s}", "role", "tool", "content", fs_buf_str(&t),
                                    "tool_call_id", id, "tool_name", n ? name : "")
                        : NULL;
            if (!m || json_array_append_new(msgs, m) < 0)
                rc = -FS_E_NOMEM;
            fs_buf_release(&t);
            free(r);
        } else if (!strcmp(type, "tool_use")) {
            fs_llm_tool_name_map(tools, json_string_value(json_object_get(b, "name")), name,
                                 sizeof(name));
            json_t *in = json_object_get(b, "input");
            json_t *args = in ? json_incref(in) : json_object();
            json_t *c = args ? json_pack("{s:O s:{s:s s:o}}", "id", json_object_get(b, "id"),
                                         "function", "name", name, "arguments", args)
                             : NULL;
            if (!c || json_array_append_new(calls, c) < 0)
                rc = -FS_E_NOMEM;
        }
    }
    if (rc == 0 && (text.len || !user)) {
        json_t *m = json_pack("{s:s s:s}", "role", user ? "user" : "assistant", "content",
                              fs_buf_str(&text));
        if (m && json_array_size(calls) && json_object_set(m, "tool_calls", calls) < 0)
            json_decref(m), m = NULL;
        if (!m || json_array_append_new(msgs, m) < 0)
            rc = -FS_E_NOMEM;
    }
    json_decref(calls);
    fs_buf_release(&text);
    return rc;
}

int fs_llm_ollama_render(const struct fs_llm_config *cfg, const struct fs_llm_request *rq,
                         json_t **out, struct fs_err *err)
{
    json_t *msgs = fs_llm_chat_messages(rq, render_turn);
    json_t *opts = json_pack("{s:I}", "num_predict", fs_llm_max_tokens(cfg));
    json_t *body = json_pack("{s:s s:b}", "model", cfg->model ? cfg->model : "", "stream", 0);
    bool ok = msgs && opts && body;
    if (ok)
        ok = json_object_set(body, "messages", msgs) == 0;
    if (ok && json_array_size(rq->tools) > 0) {
        json_t *tools = fs_llm_function_tools(rq->tools);
        ok = tools && json_object_set_new(body, "tools", tools) == 0;
    }
    if (ok && cfg->temperature >= 0)
        ok = json_object_set_new(opts, "temperature", json_real(cfg->temperature)) == 0;
    if (ok)
        ok = json_object_set(body, "options", opts) == 0;
    json_decref(msgs);
    json_decref(opts);
    return fs_llm_render_done(ok, body, out, err);
}

static int prepare(const struct fs_llm *m, struct fs_llm_http *h, struct fs_err *err)
{
    int rc = fs_llm_http_url(h, m->base_url, "/api/chat");
    if (rc == 0 && m->cfg.api_key && *m->cfg.api_key) /* for a proxy in front of it */
        rc = fs_llm_http_bearer(h, m->cfg.api_key);
    return rc < 0 ? fs_err_set(err, FS_E_NOMEM, NULL, NULL) : 0;
}

/* done_reason (none: it stopped) */
static const struct fs_llm_stop stops[] = {{"stop", "end_turn"}, {"length", "max_tokens"}};

int fs_llm_ollama_parse(const struct fs_llm_parse_ctx *px, const char *body, size_t len,
                        struct fs_llm_response *rs, struct fs_err *err)
{
    json_t *doc;
    int rc = fs_llm_parse_body(WHO, body, len, &doc, err);
    if (rc < 0)
        return rc;
    json_t *msg = json_object_get(doc, "message");
    if (!json_is_object(msg)) {
        rc = fs_llm_missing(WHO, doc, "message", "an object", err);
        json_decref(doc);
        return rc;
    }
    json_t *out = json_array();
    rc = out ? fs_llm_add_text(out, json_string_value(json_object_get(msg, "content")))
             : -FS_E_NOMEM;
    size_t i;
    json_t *call;
    json_array_foreach(json_object_get(msg, "tool_calls"), i, call)
    {
        if (rc < 0)
            break;
        json_t *fn = json_object_get(call, "function");
        if (json_is_object(fn))
            rc = fs_llm_add_tool_use(px, out, json_string_value(json_object_get(call, "id")),
                                     json_string_value(json_object_get(fn, "name")),
                                     json_object_get(fn, "arguments"));
    }
    const char *dr = json_string_value(json_object_get(doc, "done_reason"));
    rc = fs_llm_take_content(rs, out, rc,
                             fs_llm_stop_map(stops, FS_ARRAY_LEN(stops), dr ? dr : "stop"), err);
    if (rc == 0) {
        rs->input_tokens = fs_llm_tokens(doc, "prompt_eval_count");
        rs->output_tokens = fs_llm_tokens(doc, "eval_count");
        fs_llm_set_model(rs, json_string_value(json_object_get(doc, "model")), px->model);
    }
    json_decref(doc);
    return rc;
}

const struct fs_llm_ops fs_llm_ollama_ops = {
    .render = fs_llm_ollama_render,
    .prepare = prepare,
    .parse = fs_llm_ollama_parse,
};
