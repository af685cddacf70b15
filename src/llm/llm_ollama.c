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
    *out = NULL;
    json_t *turns = fs_llm_turns(rq->messages), *msgs = json_array();
    json_t *opts = json_pack("{s:I}", "num_predict",
                             (json_int_t)(cfg->max_tokens > 0 ? cfg->max_tokens : 2048));
    json_t *body = json_pack("{s:s s:b}", "model", cfg->model ? cfg->model : "", "stream", 0);
    bool ok = turns && msgs && opts && body;
    if (ok && rq->system && *rq->system)
        ok = json_array_append_new(
                 msgs, json_pack("{s:s s:s}", "role", "system", "content", rq->system)) == 0;
    for (size_t i = 0; ok && i < json_array_size(turns); i++)
        ok = render_turn(rq->tools, turns, i, msgs) == 0;
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
    json_decref(turns);
    json_decref(msgs);
    json_decref(opts);
    if (!ok) {
        json_decref(body);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    *out = body;
    return 0;
}

static int prepare(const struct fs_llm *m, struct fs_llm_http *h, struct fs_err *err)
{
    struct fs_buf url = FS_BUF_INIT(0), auth = FS_BUF_INIT(0);
    int rc = fs_buf_printf(&url, "%s/api/chat", m->base_url);
    h->url = rc == 0 ? fs_buf_detach(&url, NULL) : NULL;
    if (h->url && m->cfg.api_key && *m->cfg.api_key) { /* for a proxy in front of it */
        rc = fs_buf_printf(&auth, "Bearer %s", m->cfg.api_key);
        if (rc == 0)
            rc = fs_llm_http_header(h, "Authorization", fs_buf_str(&auth));
        explicit_bzero(auth.data, auth.len);
    }
    fs_buf_release(&url);
    fs_buf_release(&auth);
    return !h->url || rc < 0 ? fs_err_set(err, FS_E_NOMEM, NULL, NULL) : 0;
}

int fs_llm_ollama_parse(const struct fs_llm_parse_ctx *px, const char *body, size_t len,
                        struct fs_llm_response *rs, struct fs_err *err)
{
    json_t *doc;
    int rc = fs_llm_parse_body(WHO, body, len, &doc, err);
    if (rc < 0)
        return rc;
    json_t *msg = json_object_get(doc, "message");
    if (!json_is_object(msg)) {
        rc = fs_llm_error_in_body(WHO, doc, err);
        if (rc == 0)
            rc = fs_err_set(err, FS_E_PROTOCOL, "message", WHO ": message: expected an object");
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
    if (rc < 0) {
        json_decref(out);
        json_decref(doc);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    rs->content = out;
    const char *dr = json_string_value(json_object_get(doc, "done_reason"));
    fs_llm_set_stop(rs, !dr || !strcmp(dr, "stop") ? "end_turn"
                        : !strcmp(dr, "length")    ? "max_tokens"
                                                   : "other");
    rs->input_tokens = fs_llm_tokens(doc, "prompt_eval_count");
    rs->output_tokens = fs_llm_tokens(doc, "eval_count");
    const char *model = json_string_value(json_object_get(doc, "model"));
    snprintf(rs->model, sizeof(rs->model), "%s", model ? model : (px->model ? px->model : ""));
    fs_utf8_cut(rs->model);
    json_decref(doc);
    return 0;
}

const struct fs_llm_ops fs_llm_ollama_ops = {
    .render = fs_llm_ollama_render,
    .prepare = prepare,
    .parse = fs_llm_ollama_parse,
};
