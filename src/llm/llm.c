/* llm: the provider-neutral side of the language-model clients — the provider table, the
 * client (fs_llm_new: configuration checks; fs_llm_complete: redaction of the request, then
 * render → one HTTP exchange over libcurl with retries, backoff and jitter → parse), the error
 * mapping every provider shares, tool-name mapping, and the helpers the renderers and parsers
 * in llm_*.c share. It never executes anything a model says, never logs, and never puts a
 * secret into an error message: provider messages are sanitized and redacted first. */
#include "core/common.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/curl.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/redact.h"
#include "core/time.h"
#include "llm/llm_int.h"
#include "version.h"

/* ---- providers ---------------------------------------------------------------------------- */

static const struct {
    const char *name, *url;
} providers[] = {
#define FS_LLM_P_ROW(e, name, url) {name, url},
    FS_LLM_PROVIDERS(FS_LLM_P_ROW)
#undef FS_LLM_P_ROW
};

static const struct fs_llm_ops *ops_of(enum fs_llm_provider p)
{
    switch (p) {
    case FS_LLM_ANTHROPIC: return &fs_llm_anthropic_ops;
    case FS_LLM_BEDROCK: return &fs_llm_bedrock_ops;
    case FS_LLM_OPENAI: return &fs_llm_openai_ops;
    case FS_LLM_OLLAMA: return &fs_llm_ollama_ops;
    case FS_LLM_REPLAY: return &fs_llm_replay_ops;
    case FS_LLM__COUNT: break;
    }
    return NULL;
}

const char *fs_llm_provider_name(enum fs_llm_provider p)
{
    return (unsigned)p < FS_LLM__COUNT ? providers[p].name : "unknown";
}

int fs_llm_provider_parse(const char *s, enum fs_llm_provider *out)
{
    for (int i = 0; s && i < FS_LLM__COUNT; i++)
        if (!strcmp(s, providers[i].name)) {
            *out = (enum fs_llm_provider)i;
            return 0;
        }
    return -FS_E_INVALID;
}

int fs_llm_config_from(const struct fs_config *cfg, struct fs_llm_config *out, struct fs_err *err)
{
    memset(out, 0, sizeof(*out));
    if (!cfg->llm.provider)
        return fs_err_set(err, FS_E_CONFIG, "llm.provider",
                          "no LLM is configured: set llm.provider (or FORESTALL_LLM_PROVIDER) to "
                          "one of " FS_CONFIG_LLM_PROVIDERS);
    if (fs_llm_provider_parse(cfg->llm.provider, &out->provider) < 0)
        return fs_err_set(err, FS_E_CONFIG, "llm.provider", "llm.provider: unknown provider %s",
                          cfg->llm.provider);
    out->model = cfg->llm.model;
    out->base_url = cfg->llm.base_url;
    out->api_key = cfg->llm.api_key.value;
    out->anthropic_version = cfg->llm.anthropic_version;
    out->region = cfg->llm.region;
    out->aws_profile = cfg->llm.aws_profile;
    out->transcript = cfg->llm.transcript;
    out->timeout_ms = cfg->llm.timeout_ms;
    out->max_retries = (int)cfg->llm.max_retries;
    out->max_tokens = cfg->llm.max_tokens;
    out->temperature = cfg->llm.temperature;
    out->omit_tool_choice = fs_streq(cfg->llm.tool_choice, "omit");
    return 0;
}

/* ---- the client --------------------------------------------------------------------------- */

/* base without trailing slashes, "{region}" replaced. */
static char *resolve_base(const char *base, const char *region)
{
    struct fs_buf b = FS_BUF_INIT(0);
    const char *r = strstr(base, "{region}");
    int rc = r ? fs_buf_append(&b, base, (size_t)(r - base)) : fs_buf_puts(&b, base);
    if (rc == 0 && r)
        rc = fs_buf_printf(&b, "%s%s", region ? region : "", r + 8);
    if (rc < 0) {
        fs_buf_release(&b);
        return NULL;
    }
    while (b.len > 0 && b.data[b.len - 1] == '/')
        b.data[--b.len] = '\0';
    return fs_buf_detach(&b, NULL);
}

int fs_llm_new(const struct fs_llm_config *cfg, struct fs_llm **out, struct fs_err *err)
{
    *out = NULL;
    const struct fs_llm_ops *ops = ops_of(cfg->provider);
    if (!ops)
        return fs_err_set(err, FS_E_CONFIG, "llm.provider", "llm.provider: unknown provider");
    const char *pname = fs_llm_provider_name(cfg->provider);
    if (cfg->provider != FS_LLM_REPLAY && (!cfg->model || !*cfg->model))
        return fs_err_set(err, FS_E_CONFIG, "llm.model",
                          "%s: llm.model is not set (or FORESTALL_LLM_MODEL): say which model "
                          "to use",
                          pname);
    if (cfg->base_url && strncmp(cfg->base_url, "http://", 7) &&
        strncmp(cfg->base_url, "https://", 8))
        return fs_err_set(err, FS_E_CONFIG, "llm.base_url",
                          "%s: llm.base_url must be an http:// or https:// URL", pname);
    struct fs_llm *m = fs_calloc(1, sizeof(*m));
    if (!m)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    m->cfg = *cfg;
    m->ops = ops;
    pthread_mutex_init(&m->mu, NULL);
    if (cfg->api_key && *cfg->api_key)
        fs_redact_register(cfg->api_key, "llm_api_key"); /* shorter than 8 bytes: refused, fine */
    int rc = ops->init ? ops->init(m, err) : 0;
    if (rc == 0 && !m->base_url && cfg->provider != FS_LLM_REPLAY) {
        m->base_url =
            resolve_base(cfg->base_url ? cfg->base_url : providers[cfg->provider].url, m->region);
        if (!m->base_url)
            rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    if (rc < 0) {
        fs_llm_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

void fs_llm_free(struct fs_llm *m)
{
    if (!m)
        return;
    if (m->ops && m->ops->fini)
        m->ops->fini(m);
    free(m->base_url);
    free(m->region);
    fs_llm_secret_free(m->bearer);
    json_decref(m->transcript);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

enum fs_llm_provider fs_llm_kind(const struct fs_llm *m)
{
    return m->cfg.provider;
}

const char *fs_llm_endpoint(const struct fs_llm *m)
{
    return m->base_url ? m->base_url : (m->cfg.transcript ? m->cfg.transcript : "");
}

void fs_llm_response_release(struct fs_llm_response *r)
{
    if (!r)
        return;
    json_decref(r->content);
    free(r->request_body);
    free(r->response_body);
    r->content = NULL;
    r->request_body = r->response_body = NULL;
}

json_t *fs_llm_response_json(const struct fs_llm_response *r)
{
    json_t *c = r->content ? json_deep_copy(r->content) : json_array();
    return json_pack("{s:o s:s s:{s:I s:I} s:s}", "content", c, "stop_reason", r->stop_reason,
                     "usage", "input_tokens", (json_int_t)r->input_tokens, "output_tokens",
                     (json_int_t)r->output_tokens, "model", r->model);
}

/* ---- tool names --------------------------------------------------------------------------- */

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* [A-Za-z][A-Za-z0-9_]{0,63}: other bytes become '_', a name not starting with a letter gets
 * "t_" in front, cut to 64. */
static void sanitize_name(const char *name, char out[65])
{
    size_t o = 0;
    char c0 = name[0];
    if (!((c0 >= 'a' && c0 <= 'z') || (c0 >= 'A' && c0 <= 'Z'))) {
        out[o++] = 't';
        out[o++] = '_';
    }
    for (size_t i = 0; name[i] && o < 64; i++)
        out[o++] = name_char(name[i]) ? name[i] : '_';
    out[o] = '\0';
}

static const char *tool_name(const json_t *t)
{
    return json_string_value(json_object_get(t, "name"));
}

void fs_llm_tool_name_map(const json_t *tools, const char *name, char *out, size_t size)
{
    char base[65], other[65];
    sanitize_name(name ? name : "", base);
    bool clash = false;
    if (name && strcmp(base, name) != 0) {
        size_t i;
        const json_t *t;
        json_array_foreach(tools, i, t)
        {
            const char *n2 = tool_name(t);
            if (!n2 || !strcmp(n2, name))
                continue;
            sanitize_name(n2, other);
            if (!strcmp(other, base)) {
                clash = true;
                break;
            }
        }
    }
    if (clash) {
        uint64_t h = fs_fnv64a_add(FS_FNV64_OFFSET, name, strlen(name));
        snprintf(out, size, "%.55s_%08x", base, (unsigned)((h >> 32) ^ h));
    } else {
        snprintf(out, size, "%s", base);
    }
}

const char *fs_llm_tool_name_unmap(const json_t *tools, const char *mapped)
{
    char buf[72];
    size_t i;
    const json_t *t;
    if (!mapped)
        return NULL;
    json_array_foreach(tools, i, t)
    {
        const char *n = tool_name(t);
        if (!n)
            continue;
        fs_llm_tool_name_map(tools, n, buf, sizeof(buf));
        if (!strcmp(buf, mapped))
            return n;
    }
    json_array_foreach(tools, i, t)
    {
        const char *n = tool_name(t);
        if (n && !strcmp(n, mapped))
            return n; /* the model used forestall's own name */
    }
    return NULL;
}

/* ---- what the renderers share -------------------------------------------------------------- */

const json_t *fs_llm_blocks(const json_t *content, json_t **tmp)
{
    *tmp = NULL;
    if (json_is_array(content))
        return content;
    if (json_is_string(content)) {
        *tmp = json_pack("[{s:s s:O}]", "type", "text", "text", content);
        return *tmp;
    }
    return NULL;
}

char *fs_llm_result_text(const json_t *content)
{
    if (json_is_string(content))
        return fs_strdup(json_string_value(content));
    struct fs_buf b = FS_BUF_INIT(0);
    size_t i;
    const json_t *blk;
    int rc = fs_buf_puts(&b, "");
    json_array_foreach(content, i, blk)
    {
        const char *t = json_string_value(json_object_get(blk, "text"));
        if (t && rc == 0)
            rc = fs_buf_printf(&b, "%s%s", b.len ? "\n" : "", t);
    }
    if (rc < 0) {
        fs_buf_release(&b);
        return NULL;
    }
    return fs_buf_detach(&b, NULL);
}

static int check_block(const json_t *blk, const char *path, struct fs_err *err)
{
    char p[300];
    if (!json_is_object(blk))
        return fs_err_at(err, FS_E_INVALID, path, "expected a content block (object)");
    const char *type = json_string_value(json_object_get(blk, "type"));
    if (!type) {
        fs_jpath_key(p, sizeof(p), path, "type");
        return fs_err_at(err, FS_E_INVALID, p, "expected a string");
    }
    if (!strcmp(type, "text")) {
        fs_jpath_key(p, sizeof(p), path, "text");
        if (!json_is_string(json_object_get(blk, "text")))
            return fs_err_at(err, FS_E_INVALID, p, "expected a string");
    } else if (!strcmp(type, "tool_use")) {
        static const char *const keys[] = {"id", "name"};
        for (size_t k = 0; k < FS_ARRAY_LEN(keys); k++)
            if (!json_is_string(json_object_get(blk, keys[k]))) {
                fs_jpath_key(p, sizeof(p), path, keys[k]);
                return fs_err_at(err, FS_E_INVALID, p, "expected a string");
            }
        json_t *in = json_object_get(blk, "input");
        if (in && !json_is_object(in)) {
            fs_jpath_key(p, sizeof(p), path, "input");
            return fs_err_at(err, FS_E_INVALID, p, "expected an object");
        }
    } else if (!strcmp(type, "tool_result")) {
        json_t *c = json_object_get(blk, "content"), *e = json_object_get(blk, "is_error");
        if (!json_is_string(json_object_get(blk, "tool_use_id"))) {
            fs_jpath_key(p, sizeof(p), path, "tool_use_id");
            return fs_err_at(err, FS_E_INVALID, p, "expected a string");
        }
        if (c && !json_is_string(c) && !json_is_array(c)) {
            fs_jpath_key(p, sizeof(p), path, "content");
            return fs_err_at(err, FS_E_INVALID, p, "expected a string or an array of blocks");
        }
        if (e && !json_is_boolean(e)) {
            fs_jpath_key(p, sizeof(p), path, "is_error");
            return fs_err_at(err, FS_E_INVALID, p, "expected true or false");
        }
    }
    return 0; /* other types are skipped by the renderers */
}

int fs_llm_request_check(const struct fs_llm_request *rq, struct fs_err *err)
{
    char p[300], q[300];
    if (!json_is_array(rq->messages))
        return fs_err_at(err, FS_E_INVALID, "messages", "expected an array");
    size_t i, j;
    const json_t *msg, *blk;
    json_array_foreach(rq->messages, i, msg)
    {
        fs_jpath_index(p, sizeof(p), "messages", i);
        if (!json_is_object(msg))
            return fs_err_at(err, FS_E_INVALID, p, "expected a message (object)");
        const char *role = json_string_value(json_object_get(msg, "role"));
        if (!role || (strcmp(role, "user") && strcmp(role, "assistant"))) {
            fs_jpath_key(q, sizeof(q), p, "role");
            return fs_err_at(err, FS_E_INVALID, q, "expected user or assistant");
        }
        const json_t *c = json_object_get(msg, "content");
        fs_jpath_key(q, sizeof(q), p, "content");
        if (json_is_string(c))
            continue;
        if (!json_is_array(c))
            return fs_err_at(err, FS_E_INVALID, q, "expected a string or an array of blocks");
        json_array_foreach(c, j, blk)
        {
            char b[300];
            fs_jpath_index(b, sizeof(b), q, j);
            int rc = check_block(blk, b, err);
            if (rc < 0)
                return rc;
        }
    }
    if (!rq->tools)
        return 0;
    if (!json_is_array(rq->tools))
        return fs_err_at(err, FS_E_INVALID, "tools", "expected an array");
    const json_t *t;
    json_array_foreach(rq->tools, i, t)
    {
        fs_jpath_index(p, sizeof(p), "tools", i);
        const char *n = tool_name(t);
        fs_jpath_key(q, sizeof(q), p, "name");
        if (!n || !*n)
            return fs_err_at(err, FS_E_INVALID, q, "expected a non-empty string");
        for (j = 0; j < i; j++)
            if (fs_streq(tool_name(json_array_get(rq->tools, j)), n))
                return fs_err_at(err, FS_E_INVALID, q, "%s is offered twice", n);
        json_t *d = json_object_get(t, "description"), *s = json_object_get(t, "input_schema");
        fs_jpath_key(q, sizeof(q), p, d && !json_is_string(d) ? "description" : "input_schema");
        if (d && !json_is_string(d))
            return fs_err_at(err, FS_E_INVALID, q, "expected a string");
        if (s && !json_is_object(s))
            return fs_err_at(err, FS_E_INVALID, q, "expected an object");
    }
    return 0;
}

static bool block_is(const json_t *b, const char *type)
{
    return fs_streq(json_string_value(json_object_get(b, "type")), type);
}

json_t *fs_llm_turns(const json_t *messages)
{
    json_t *turns = json_array();
    size_t i, j;
    const json_t *msg, *b;
    json_array_foreach(messages, i, msg)
    {
        if (!turns)
            return NULL;
        const char *role = json_string_value(json_object_get(msg, "role"));
        bool user = fs_streq(role, "user");
        json_t *tmp = NULL;
        const json_t *blocks = fs_llm_blocks(json_object_get(msg, "content"), &tmp);
        json_t *last = json_array_get(turns, json_array_size(turns) - 1);
        json_t *content = last && fs_streq(json_string_value(json_object_get(last, "role")), role)
                              ? json_object_get(last, "content")
                              : NULL;
        json_t *fresh = content ? NULL : json_array();
        if (!content)
            content = fresh;
        size_t results = 0; /* tool_result blocks go first in a user turn */
        json_array_foreach(content, j, b) results += block_is(b, "tool_result");
        bool ok = content != NULL;
        json_array_foreach(blocks, j, b)
        {
            if (!ok)
                break;
            if (block_is(b, "text")) {
                const char *t = json_string_value(json_object_get(b, "text"));
                if (t && *t)
                    ok = json_array_append(content, (json_t *)b) == 0;
            } else if (block_is(b, "tool_use") && !user) {
                ok = json_array_append(content, (json_t *)b) == 0;
            } else if (block_is(b, "tool_result") && user) {
                ok = json_array_insert(content, results++, (json_t *)b) == 0;
            }
        }
        json_decref(tmp);
        if (ok && fresh && json_array_size(fresh) > 0)
            ok = json_array_append_new(turns,
                                       json_pack("{s:s s:O}", "role", role, "content", fresh)) == 0;
        json_decref(fresh);
        if (!ok) {
            json_decref(turns);
            return NULL;
        }
    }
    return turns;
}

int fs_llm_count_calls(const json_t *messages)
{
    int n = 0;
    size_t i, j;
    const json_t *msg, *b;
    json_array_foreach(messages, i, msg)
    {
        if (!fs_streq(json_string_value(json_object_get(msg, "role")), "assistant"))
            continue;
        json_array_foreach(json_object_get(msg, "content"), j, b) n += block_is(b, "tool_use");
    }
    return n;
}

json_int_t fs_llm_max_tokens(const struct fs_llm_config *cfg)
{
    return (json_int_t)(cfg->max_tokens > 0 ? cfg->max_tokens : 2048);
}

json_t *fs_llm_tool_defs(const json_t *tools, const char *schema_key, const char *schema_in,
                         json_t *(*wrap)(json_t *def))
{
    json_t *out = json_array();
    size_t i;
    const json_t *t;
    json_array_foreach(tools, i, t)
    {
        if (!out)
            return NULL;
        char name[72];
        fs_llm_tool_name_map(tools, tool_name(t), name, sizeof(name));
        json_t *schema = json_object_get(t, "input_schema");
        json_t *sch =
            schema ? json_incref(schema) : json_pack("{s:s s:{}}", "type", "object", "properties");
        if (sch && schema_in)
            sch = json_pack("{s:o}", schema_in, sch);
        json_t *d = sch ? json_pack("{s:s s:o}", "name", name, schema_key, sch) : NULL;
        const char *desc = json_string_value(json_object_get(t, "description"));
        if (d && desc && *desc && json_object_set_new(d, "description", json_string(desc)) < 0) {
            json_decref(d);
            d = NULL;
        }
        if (d && wrap)
            d = wrap(d);
        if (!d || json_array_append_new(out, d) < 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

json_t *fs_llm_block_messages(const json_t *messages, const json_t *tools,
                              json_t *(*block)(const json_t *tools, const json_t *b))
{
    json_t *turns = fs_llm_turns(messages), *msgs = json_array();
    bool ok = turns && msgs;
    size_t i, j;
    const json_t *turn, *b;
    json_array_foreach(turns, i, turn)
    {
        json_t *content = json_array();
        ok = ok && content;
        json_array_foreach(json_object_get(turn, "content"), j, b)
        {
            if (ok)
                ok = json_array_append_new(content, block(tools, b)) == 0;
        }
        if (ok)
            ok = json_array_append_new(msgs,
                                       json_pack("{s:O s:o}", "role", json_object_get(turn, "role"),
                                                 "content", content)) == 0;
        else
            json_decref(content);
    }
    json_decref(turns);
    if (!ok) {
        json_decref(msgs);
        return NULL;
    }
    return msgs;
}

json_t *fs_llm_chat_messages(const struct fs_llm_request *rq,
                             int (*turn)(const json_t *tools, const json_t *turns, size_t ti,
                                         json_t *msgs))
{
    json_t *turns = fs_llm_turns(rq->messages), *msgs = json_array();
    bool ok = turns && msgs;
    if (ok && rq->system && *rq->system)
        ok = json_array_append_new(
                 msgs, json_pack("{s:s s:s}", "role", "system", "content", rq->system)) == 0;
    for (size_t i = 0; ok && i < json_array_size(turns); i++)
        ok = turn(rq->tools, turns, i, msgs) == 0;
    json_decref(turns);
    if (!ok) {
        json_decref(msgs);
        return NULL;
    }
    return msgs;
}

int fs_llm_render_done(bool ok, json_t *body, json_t **out, struct fs_err *err)
{
    *out = ok ? body : NULL;
    if (ok)
        return 0;
    json_decref(body);
    return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
}

/* ---- what the parsers share ---------------------------------------------------------------- */

int fs_llm_parse_body(const char *who, const char *body, size_t len, json_t **out,
                      struct fs_err *err)
{
    struct fs_err e = {0};
    *out = NULL;
    int rc = fs_json_parse(body ? body : "", body ? len : 0, FS_LLM_JSON_DEPTH, out, &e);
    if (rc == -FS_E_NOMEM)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    if (rc < 0)
        return fs_err_set(err, FS_E_PROTOCOL, NULL, "%s: the response is not valid JSON: %s", who,
                          e.msg);
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return fs_err_set(err, FS_E_PROTOCOL, NULL, "%s: the response is not a JSON object", who);
    }
    return 0;
}

int fs_llm_add_text(json_t *content, const char *text)
{
    if (!text || !*text)
        return 0;
    json_t *b = json_pack("{s:s s:s}", "type", "text", "text", text);
    return b && json_array_append_new(content, b) == 0 ? 0 : -FS_E_NOMEM;
}

static size_t count_tool_uses(const json_t *content)
{
    size_t n = 0, i;
    const json_t *b;
    json_array_foreach(content, i, b)
    {
        n += fs_streq(json_string_value(json_object_get(b, "type")), "tool_use");
    }
    return n;
}

int fs_llm_add_tool_use(const struct fs_llm_parse_ctx *px, json_t *content, const char *id,
                        const char *name, const json_t *args)
{
    char idbuf[32];
    if (!id || !*id) {
        snprintf(idbuf, sizeof(idbuf), "call_%zu",
                 (size_t)(px->first_call > 0 ? px->first_call : 0) + count_tool_uses(content) + 1);
        id = idbuf;
    }
    const char *fname = fs_llm_tool_name_unmap(px->tools, name);
    json_t *input = NULL;
    char note[600] = "";
    if (!args || json_is_null(args) || (json_is_string(args) && !*json_string_value(args))) {
        input = json_object();
    } else if (json_is_object(args)) {
        input = json_deep_copy(args);
    } else if (json_is_string(args)) {
        struct fs_err e = {0};
        const char *s = json_string_value(args);
        json_t *v = NULL;
        int rc = fs_json_parse(s, json_string_length(args), FS_LLM_JSON_DEPTH, &v, &e);
        if (rc == -FS_E_NOMEM)
            return rc;
        if (rc == 0 && json_is_object(v)) {
            input = v;
        } else {
            char *snip = fs_sanitize_text(s, json_string_length(args), 200, NULL);
            snprintf(note, sizeof(note), "the arguments are not a JSON object (%s): %s",
                     rc < 0 ? e.msg : fs_json_type_name(v), snip ? snip : "");
            fs_utf8_cut(note);
            free(snip);
            json_decref(v);
            input = json_object();
        }
    } else {
        snprintf(note, sizeof(note), "the arguments are a JSON %s, not an object",
                 fs_json_type_name(args));
        input = json_object();
    }
    if (!input)
        return -FS_E_NOMEM;
    json_t *b = json_pack("{s:s s:s s:s s:o}", "type", "tool_use", "id", id, "name",
                          fname ? fname : (name ? name : ""), "input", input);
    if (b && *note && json_object_set_new(b, "input_error", json_string(note)) < 0) {
        json_decref(b);
        b = NULL;
    }
    return b && json_array_append_new(content, b) == 0 ? 0 : -FS_E_NOMEM;
}

const char *fs_llm_stop_map(const struct fs_llm_stop *map, size_t n, const char *s)
{
    for (size_t i = 0; s && i < n; i++)
        if (!strcmp(s, map[i].wire))
            return map[i].neutral;
    return "other";
}

void fs_llm_set_stop(struct fs_llm_response *rs, const char *normalized)
{
    if ((!strcmp(normalized, "end_turn") || !strcmp(normalized, "other")) && rs->content &&
        count_tool_uses(rs->content) > 0)
        normalized = "tool_use";
    snprintf(rs->stop_reason, sizeof(rs->stop_reason), "%s", normalized);
}

int64_t fs_llm_tokens(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_integer(v) && json_integer_value(v) > 0 ? (int64_t)json_integer_value(v) : 0;
}

int fs_llm_add_blocks(const struct fs_llm_parse_ctx *px, json_t *content, const json_t *blocks)
{
    int rc = 0;
    size_t i;
    const json_t *b;
    json_array_foreach(blocks, i, b)
    {
        if (rc < 0)
            break;
        if (block_is(b, "text"))
            rc = fs_llm_add_text(content, json_string_value(json_object_get(b, "text")));
        else if (block_is(b, "tool_use"))
            rc = fs_llm_add_tool_use(px, content, json_string_value(json_object_get(b, "id")),
                                     tool_name(b), json_object_get(b, "input"));
        /* thinking, redacted_thinking, server_tool_use, ...: not ours to act on */
    }
    return rc;
}

int fs_llm_missing(const char *who, const json_t *doc, const char *path, const char *what,
                   struct fs_err *err)
{
    int rc = fs_llm_error_in_body(who, doc, err);
    return rc < 0 ? rc
                  : fs_err_set(err, FS_E_PROTOCOL, path, "%s: %s: expected %s", who, path, what);
}

int fs_llm_take_content(struct fs_llm_response *rs, json_t *content, int rc, const char *stop,
                        struct fs_err *err)
{
    if (rc < 0) {
        json_decref(content);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    rs->content = content;
    fs_llm_set_stop(rs, stop);
    return 0;
}

void fs_llm_set_model(struct fs_llm_response *rs, const char *model, const char *fallback)
{
    snprintf(rs->model, sizeof(rs->model), "%s", model ? model : (fallback ? fallback : ""));
    fs_utf8_cut(rs->model);
}

/* ---- errors and retries --------------------------------------------------------------------- */

bool fs_llm_too_long(const char *text)
{
    static const char *const phrases[] = {
        "too long",       "context_length_exceeded", "maximum context length",
        "context length", "context window",          "context size",
        "too many tokens"};
    for (size_t i = 0; text && i < FS_ARRAY_LEN(phrases); i++)
        if (strcasestr(text, phrases[i]))
            return true;
    return false;
}

bool fs_llm_retryable(long status, int should_retry)
{
    if (should_retry == 1)
        return true;
    if (should_retry == 0)
        return false;
    return status == 408 || status == 409 || status == 429 || status >= 500;
}

int64_t fs_llm_backoff_ms(int retry, int64_t base_ms, int64_t max_ms, int64_t retry_after_ms,
                          double jitter)
{
    if (retry_after_ms >= 0)
        return FS_MIN(retry_after_ms, max_ms);
    double d = (double)base_ms;
    for (int i = 1; i < retry && d < (double)max_ms; i++)
        d *= 2;
    if (d > (double)max_ms)
        d = (double)max_ms;
    if (jitter < 0 || jitter >= 1 || isnan(jitter))
        jitter = 0;
    return (int64_t)(d * (1.0 - jitter / 4.0));
}

/* A decimal number of units ("1", "1.5") as milliseconds (scale 1000 for seconds), or -1. */
static int64_t decimal_ms(const char *s, double scale)
{
    while (*s == ' ' || *s == '\t')
        s++;
    if (!isdigit((unsigned char)*s))
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    while (*end == ' ' || *end == '\t')
        end++;
    if (errno || *end || !isfinite(v) || v < 0 || v > 1e9)
        return -1;
    return (int64_t)(v * scale);
}

int64_t fs_llm_retry_after_ms(const char *retry_after, const char *retry_after_ms, int64_t now_ms)
{
    int64_t v;
    if (retry_after_ms && *retry_after_ms && (v = decimal_ms(retry_after_ms, 1)) >= 0)
        return v;
    if (!retry_after || !*retry_after)
        return -1;
    if ((v = decimal_ms(retry_after, 1000)) >= 0)
        return v;
    time_t t = curl_getdate(retry_after, NULL);
    if (t < 0)
        return -1;
    int64_t at = (int64_t)t * 1000;
    return at > now_ms ? at - now_ms : 0;
}

static const char *str_at(const json_t *o, const char *k1, const char *k2)
{
    json_t *v = json_object_get(o, k1);
    if (k2)
        v = json_object_get(v, k2);
    return json_string_value(v);
}

int fs_llm_map_error(enum fs_llm_provider p, long status, const char *body, size_t len,
                     const char *type_hdr, struct fs_err *err)
{
    const char *pname = fs_llm_provider_name(p);
    json_t *doc = NULL;
    struct fs_err ignored;
    if (body && len && fs_json_parse(body, len, 32, &doc, &ignored) < 0)
        doc = NULL;
    const char *msg = NULL, *type = NULL, *code = NULL;
    if (json_is_object(doc)) {
        msg = str_at(doc, "error", "message");
        if (!msg)
            msg = str_at(doc, "error", NULL); /* Ollama: {"error": "..."} */
        if (!msg)
            msg = str_at(doc, "message", NULL);
        if (!msg)
            msg = str_at(doc, "Message", NULL);
        if (!msg)
            msg = str_at(doc, "detail", NULL);
        type = str_at(doc, "error", "type");
        code = str_at(doc, "error", "code");
        if (!type && !fs_streq(str_at(doc, "type", NULL), "error"))
            type = str_at(doc, "type", NULL);
        if (!type)
            type = str_at(doc, "__type", NULL);
    }
    char tbuf[96] = "";
    if (type_hdr && *type_hdr) { /* "ValidationException:http://internal..." */
        size_t n = strcspn(type_hdr, ":");
        snprintf(tbuf, sizeof(tbuf), "%.*s", (int)FS_MIN(n, sizeof(tbuf) - 1), type_hdr);
    } else if (type) {
        snprintf(tbuf, sizeof(tbuf), "%s", type);
    }
    for (char *c = tbuf; *c; c++)
        if (!name_char(*c) && *c != '.' && *c != '-')
            *c = '_';
    /* the provider's words, made safe: one line, capped, secrets redacted */
    const char *raw = msg ? msg : (doc ? "" : body);
    size_t rawlen = msg ? strlen(msg) : (doc || !body ? 0 : len);
    char *clean = fs_sanitize_text(raw ? raw : "", rawlen, 300, NULL);
    if (clean)
        for (char *c = clean; *c; c++)
            if (*c == '\n' || *c == '\t')
                *c = ' ';
    bool too_long = fs_llm_too_long(clean) || fs_llm_too_long(code) || fs_llm_too_long(tbuf);
    json_decref(doc);

    enum fs_errcode ec;
    const char *hint = "";
    if (status == 401 || status == 403) {
        ec = FS_E_UNAUTHORIZED;
        hint = p == FS_LLM_BEDROCK ? " (check the AWS credentials or Bedrock API key, and model "
                                     "access in the region)"
                                   : " (check llm.api_key)";
    } else if (status == 404) {
        ec = FS_E_NOT_FOUND;
        hint = " (check llm.model and llm.base_url)";
    } else if (status == 413 || ((status == 400 || status == 422) && too_long)) {
        ec = FS_E_TOO_LARGE;
        hint = " (the context is too long for the model)";
    } else if (status == 408) {
        ec = FS_E_TIMEOUT;
    } else if (status == 409 || status == 429 || status >= 500) {
        ec = FS_E_OVERLOADED;
    } else if (status >= 400) {
        ec = FS_E_INVALID;
    } else {
        ec = FS_E_PROTOCOL;
        hint = status >= 300 && status < 400 ? " (redirects are not followed)" : "";
    }
    const char *text = clean && *clean ? clean : "(no message)";
    int rc = fs_err_set(err, ec, NULL, "%s: HTTP %ld%s%s: %s%s", pname, status, *tbuf ? " " : "",
                        tbuf, text, hint);
    free(clean);
    if (err)
        fs_utf8_cut(err->msg);
    return rc;
}

/* ---- redaction --------------------------------------------------------------------------------
 */

static int sanitize_strings(json_t *v, int depth);

/* A member of a container at depth: a string gives its sanitized copy in *fresh (the caller
 * puts it in place), anything else has its own strings sanitized (*fresh NULL). -FS_E_NOMEM. */
static int sanitize_member(json_t *x, int depth, json_t **fresh)
{
    *fresh = NULL;
    if (!json_is_string(x))
        return sanitize_strings(x, depth + 1) < 0 ? -FS_E_NOMEM : 0;
    char *s = fs_sanitize_text(json_string_value(x), json_string_length(x), 0, NULL);
    *fresh = s ? json_string(s) : NULL;
    free(s);
    return *fresh ? 0 : -FS_E_NOMEM;
}

/* Every string value (not the keys) through fs_sanitize_text: registered secrets and secret
 * patterns redacted, control characters removed. */
static int sanitize_strings(json_t *v, int depth)
{
    if (depth > FS_LLM_JSON_DEPTH * 2)
        return 0;
    json_t *x, *fresh;
    if (json_is_object(v)) {
        const char *k;
        void *tmp;
        json_object_foreach_safe(v, tmp, k, x)
        {
            if (sanitize_member(x, depth, &fresh) < 0 ||
                (fresh && json_object_set_new(v, k, fresh) < 0))
                return -FS_E_NOMEM;
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_array_foreach(v, i, x)
        {
            if (sanitize_member(x, depth, &fresh) < 0 ||
                (fresh && json_array_set_new(v, i, fresh) < 0))
                return -FS_E_NOMEM;
        }
    }
    return 0;
}

struct redacted {
    struct fs_llm_request rq;
    char *system;
    json_t *messages, *tools;
};

static void redacted_release(struct redacted *r)
{
    free(r->system);
    json_decref(r->messages);
    json_decref(r->tools);
}

/* The request as it may leave: the conversation through fs_redact_json (tool output, the
 * model's own earlier words and tool arguments: patterns, registered values and values under
 * secret-named keys), the system prompt and the tool definitions through fs_sanitize_text
 * (their keys are forestall's own schema words and stay). */
static int redact_request(const struct fs_llm_request *in, struct redacted *out)
{
    memset(out, 0, sizeof(*out));
    if (in->system) {
        out->system = fs_sanitize_text(in->system, strlen(in->system), 0, NULL);
        if (!out->system)
            return -FS_E_NOMEM;
    }
    out->messages = json_deep_copy(in->messages);
    if (!out->messages || fs_redact_json(out->messages, NULL) < 0)
        return -FS_E_NOMEM;
    if (in->tools) {
        out->tools = json_deep_copy(in->tools);
        if (!out->tools || sanitize_strings(out->tools, 0) < 0)
            return -FS_E_NOMEM;
    }
    out->rq.system = out->system;
    out->rq.messages = out->messages;
    out->rq.tools = out->tools;
    return 0;
}

/* ---- HTTP -------------------------------------------------------------------------------------
 */

void fs_llm_http_release(struct fs_llm_http *h)
{
    free(h->url);
    free(h->target);
    curl_slist_free_all(h->headers);
    fs_llm_secret_free(h->aws_secret);
    free(h->aws_key_id);
    memset(h, 0, sizeof(*h));
}

int fs_llm_http_header(struct fs_llm_http *h, const char *name, const char *value)
{
    struct fs_buf b = FS_BUF_INIT(0);
    if (fs_buf_printf(&b, "%s: %s", name, value) < 0) {
        fs_buf_release(&b);
        return -FS_E_NOMEM;
    }
    struct curl_slist *l = curl_slist_append(h->headers, fs_buf_str(&b));
    explicit_bzero(b.data, b.len);
    fs_buf_release(&b);
    if (!l)
        return -FS_E_NOMEM;
    h->headers = l;
    return 0;
}

int fs_llm_http_url(struct fs_llm_http *h, const char *base, const char *path)
{
    struct fs_buf url = FS_BUF_INIT(0);
    int rc = fs_buf_printf(&url, "%s%s", base, path);
    h->url = rc == 0 ? fs_buf_detach(&url, NULL) : NULL;
    fs_buf_release(&url);
    return h->url ? 0 : -FS_E_NOMEM;
}

int fs_llm_http_bearer(struct fs_llm_http *h, const char *token)
{
    struct fs_buf b = FS_BUF_INIT(0);
    int rc = fs_buf_printf(&b, "Bearer %s", token);
    if (rc == 0)
        rc = fs_llm_http_header(h, "Authorization", fs_buf_str(&b));
    if (b.data)
        explicit_bzero(b.data, b.len);
    fs_buf_release(&b);
    return rc < 0 ? -FS_E_NOMEM : 0;
}

void fs_llm_secret_free(char *s)
{
    if (!s)
        return;
    explicit_bzero(s, strlen(s));
    free(s);
}

bool fs_llm_url_is_loopback(const char *url)
{
    CURLU *u = curl_url();
    char *host = NULL;
    bool lo = false;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
        struct in_addr a;
        lo = !strcasecmp(host, "localhost") || !strcmp(host, "[::1]") ||
             (inet_pton(AF_INET, host, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127);
    }
    curl_free(host);
    curl_url_cleanup(u);
    return lo;
}

struct reply {
    long status;
    struct fs_buf body;
    bool too_large;
    char retry_after[64], retry_after_ms[32], should_retry[8], error_type[128];
};

static size_t on_data(char *ptr, size_t size, size_t n, void *arg)
{
    struct reply *r = arg;
    if (fs_buf_append(&r->body, ptr, size * n) < 0) {
        r->too_large = r->body.max && r->body.len + size * n > r->body.max;
        return 0;
    }
    return size * n;
}

static void keep_header(const char *v, size_t n, char *dst, size_t size)
{
    while (n && (v[0] == ' ' || v[0] == '\t'))
        v++, n--;
    while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    snprintf(dst, size, "%.*s", (int)FS_MIN(n, size - 1), v);
}

static size_t on_header(char *buf, size_t size, size_t n, void *arg)
{
    struct reply *r = arg;
    size_t len = size * n;
    if (len >= 5 && !strncmp(buf, "HTTP/", 5)) { /* a new response (after 100 Continue) */
        r->retry_after[0] = r->retry_after_ms[0] = r->should_retry[0] = r->error_type[0] = '\0';
        return len;
    }
    static const struct {
        const char *name;
        size_t off, size;
    } keep[] = {
        {"retry-after", offsetof(struct reply, retry_after),
         sizeof(((struct reply *)0)->retry_after)},
        {"retry-after-ms", offsetof(struct reply, retry_after_ms),
         sizeof(((struct reply *)0)->retry_after_ms)},
        {"x-should-retry", offsetof(struct reply, should_retry),
         sizeof(((struct reply *)0)->should_retry)},
        {"x-amzn-errortype", offsetof(struct reply, error_type),
         sizeof(((struct reply *)0)->error_type)},
    };
    const char *colon = memchr(buf, ':', len);
    if (!colon)
        return len;
    size_t nl = (size_t)(colon - buf);
    for (size_t i = 0; i < FS_ARRAY_LEN(keep); i++)
        if (strlen(keep[i].name) == nl && !strncasecmp(buf, keep[i].name, nl))
            keep_header(colon + 1, len - nl - 1, (char *)r + keep[i].off, keep[i].size);
    return len;
}

/* Loopback endpoints never go through a proxy (a stand-in, a local vLLM or Ollama); other
 * endpoints honour https_proxy / no_proxy as libcurl does. */
static void no_proxy_list(char *dst, size_t size)
{
    const char *env = getenv("no_proxy");
    if (!env || !*env)
        env = getenv("NO_PROXY");
    snprintf(dst, size, "localhost,127.0.0.1,::1%s%s", env && *env ? "," : "", env ? env : "");
}

struct presign {
    char *authz;
    bool nomem;
};

static int on_debug(CURL *c, curl_infotype type, char *data, size_t size, void *arg)
{
    struct presign *p = arg;
    for (size_t i = 0; type == CURLINFO_HEADER_OUT && !p->authz && !p->nomem && i < size;) {
        const char *eol = memchr(data + i, '\n', size - i);
        size_t n = eol ? (size_t)(eol - (data + i)) : size - i;
        if (n > 14 && !strncasecmp(data + i, "Authorization:", 14)) {
            size_t v = i + 14, e = i + n;
            while (v < e && data[v] == ' ')
                v++;
            while (e > v && (data[e - 1] == '\r' || data[e - 1] == ' '))
                e--;
            p->authz = fs_strndup(data + v, e - v);
            p->nomem = !p->authz;
        }
        i += n + 1;
    }
    return 0;
}

/* stop as soon as the headers are out */
static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    const struct presign *p = arg;
    return p->authz || p->nomem;
}

int fs_llm_presign(const struct fs_llm_http *h, const char *body, size_t len, char **out,
                   struct fs_err *err)
{
    *out = NULL;
    /* A listener of ours that never accepts: the connection completes in its backlog, the
     * request goes into kernel buffers, and the transfer is stopped once the headers are out.
     * (libcurl 7.88 ignores CURL_SOCKOPT_ALREADY_CONNECTED, so a socket pair cannot do it.) */
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0 ||
        getsockname(l, (struct sockaddr *)&a, &al) < 0) {
        int e = errno;
        if (l >= 0)
            close(l);
        return fs_err_set(err, FS_E_SYSTEM, NULL, "a loopback listener for signing: %s",
                          strerror(e));
    }
    char to[64];
    snprintf(to, sizeof(to), "::127.0.0.1:%d", ntohs(a.sin_port));
    struct curl_slist *connect_to = curl_slist_append(NULL, to);
    struct presign p = {0};
    CURL *c = connect_to ? curl_easy_init() : NULL;
    if (!c) {
        curl_slist_free_all(connect_to);
        close(l);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    curl_easy_setopt(c, CURLOPT_URL, h->url);
    if (h->target)
        curl_easy_setopt(c, CURLOPT_REQUEST_TARGET, h->target);
    curl_easy_setopt(c, CURLOPT_CONNECT_TO, connect_to);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->headers);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_AWS_SIGV4, h->sigv4);
    curl_easy_setopt(c, CURLOPT_USERNAME, h->aws_key_id);
    curl_easy_setopt(c, CURLOPT_PASSWORD, h->aws_secret);
    curl_easy_setopt(c, CURLOPT_VERBOSE, 1L); /* the debug callback needs it; it prints nothing */
    curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, on_debug);
    curl_easy_setopt(c, CURLOPT_DEBUGDATA, &p);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &p);
    curl_easy_perform(c); /* aborted by on_progress; what counts is what it sent */
    curl_easy_cleanup(c);
    curl_slist_free_all(connect_to);
    close(l);
    if (p.nomem)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    if (!p.authz)
        return fs_err_set(err, FS_E_SYSTEM, NULL, "libcurl computed no SigV4 Authorization");
    *out = p.authz;
    return 0;
}

/* One exchange: 0 with r->status set when any HTTP answer arrived; -FS_E_CONNECT,
 * -FS_E_TIMEOUT, -FS_E_PROTOCOL (a body over FS_LLM_MAX_RESPONSE), -FS_E_NOMEM. */
static int exchange(const struct fs_llm *m, const char *body, size_t len, struct reply *r,
                    struct fs_err *err)
{
    const char *pname = fs_llm_provider_name(m->cfg.provider);
    struct fs_llm_http h = {0};
    int rc = m->ops->prepare(m, &h, err);
    if (rc == 0 && ((rc = fs_llm_http_header(&h, "Content-Type", "application/json")) < 0 ||
                    (rc = fs_llm_http_header(&h, "Accept", "application/json")) < 0))
        fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    if (rc == 0 && h.sigv4[0] && h.presign) {
        char *authz = NULL;
        if ((rc = fs_llm_presign(&h, body, len, &authz, err)) == 0) {
            if ((rc = fs_llm_http_header(&h, "Authorization", authz)) < 0)
                fs_err_set(err, FS_E_NOMEM, NULL, NULL);
            h.sigv4[0] = '\0'; /* signed already */
            free(authz);
        }
    }
    if (rc < 0) {
        fs_llm_http_release(&h);
        return rc;
    }
    int64_t timeout = m->cfg.timeout_ms > 0 ? m->cfg.timeout_ms : 120000;
    char ua[64], noproxy[1024], ebuf[CURL_ERROR_SIZE] = "";
    snprintf(ua, sizeof(ua), "forestall/%s", FS_VERSION);
    no_proxy_list(noproxy, sizeof(noproxy));
    r->status = 0;
    r->too_large = false;
    fs_buf_reset(&r->body);
    r->retry_after[0] = r->retry_after_ms[0] = r->should_retry[0] = r->error_type[0] = '\0';

    CURL *c = curl_easy_init();
    if (!c) {
        fs_llm_http_release(&h);
        return fs_err_set(err, FS_E_NOMEM, NULL, "cannot initialise libcurl");
    }
    curl_easy_setopt(c, CURLOPT_URL, h.url);
    if (h.target)
        curl_easy_setopt(c, CURLOPT_REQUEST_TARGET, h.target);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)FS_MIN(timeout, 10000));
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, noproxy);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h.headers);
    curl_easy_setopt(c, CURLOPT_USERAGENT, ua);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)FS_LLM_MAX_RESPONSE);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    if (h.sigv4[0]) {
        /* the payload hash is of CURLOPT_POSTFIELDS; every CURLOPT_HTTPHEADER header is signed */
        curl_easy_setopt(c, CURLOPT_AWS_SIGV4, h.sigv4);
        curl_easy_setopt(c, CURLOPT_USERNAME, h.aws_key_id);
        curl_easy_setopt(c, CURLOPT_PASSWORD, h.aws_secret);
    }
    CURLcode cc = curl_easy_perform(c);
    if (cc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_cleanup(c);
    fs_llm_http_release(&h);
    if (cc == CURLE_OK)
        return 0;
    const char *why = ebuf[0] ? ebuf : curl_easy_strerror(cc);
    if (r->too_large || cc == CURLE_FILESIZE_EXCEEDED)
        return fs_err_set(err, FS_E_PROTOCOL, NULL, "%s: the response is larger than %u MiB", pname,
                          FS_LLM_MAX_RESPONSE >> 20);
    if (cc == CURLE_OPERATION_TIMEDOUT)
        return fs_err_set(err, FS_E_TIMEOUT, NULL,
                          "%s: timed out: no answer from %s within %lld ms", pname, m->base_url,
                          (long long)timeout);
    if (cc == CURLE_OUT_OF_MEMORY)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    return fs_err_set(err, FS_E_CONNECT, NULL, "%s: cannot reach %s: %s", pname, m->base_url, why);
}

static double jitter(void)
{
    uint32_t v = 0;
    if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v))
        v = (uint32_t)fs_mono_ns();
    return (double)v / 4294967296.0;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

static int complete_http(struct fs_llm *m, const struct fs_llm_request *rq, int first_call,
                         struct fs_llm_response *rs, struct fs_err *err)
{
    const char *pname = fs_llm_provider_name(m->cfg.provider);
    json_t *doc = NULL;
    int rc = m->ops->render(&m->cfg, rq, &doc, err);
    if (rc < 0)
        return rc;
    char *body = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (!body)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    size_t len = strlen(body);
    rs->request_body = body;
    if (len > FS_LLM_MAX_REQUEST)
        return fs_err_set(err, FS_E_TOO_LARGE, NULL,
                          "%s: the request is %zu bytes, more than the %u MiB allowed", pname, len,
                          FS_LLM_MAX_REQUEST >> 20);

    if (fs_curl_init(err) < 0)
        return -FS_E_SYSTEM;
    int retries = m->cfg.max_retries < 0 ? 2 : m->cfg.max_retries;
    int64_t base = m->cfg.backoff_base_ms > 0 ? m->cfg.backoff_base_ms : 500;
    int64_t max = m->cfg.backoff_max_ms > 0 ? m->cfg.backoff_max_ms : 8000;
    struct reply r = {.body = FS_BUF_INIT(FS_LLM_MAX_RESPONSE)};
    for (int attempt = 1;; attempt++) {
        rs->attempts = attempt;
        rc = exchange(m, body, len, &r, err);
        if (rc == 0 && r.status >= 200 && r.status < 300) {
            struct fs_llm_parse_ctx px = {rq->tools, first_call, m->cfg.model};
            rc = m->ops->parse(&px, fs_buf_str(&r.body), r.body.len, rs, err);
            if (rc == 0)
                rs->response_body = fs_buf_detach(&r.body, NULL);
            break;
        }
        int should = r.should_retry[0] ? !strcasecmp(r.should_retry, "true") : -1;
        bool retry = rc == 0 ? fs_llm_retryable(r.status, should)
                             : (rc == -FS_E_CONNECT || rc == -FS_E_TIMEOUT);
        if (retry && attempt <= retries) {
            int64_t ra =
                rc == 0 ? fs_llm_retry_after_ms(r.retry_after, r.retry_after_ms, fs_now_ms()) : -1;
            sleep_ms(fs_llm_backoff_ms(attempt, base, max, ra, jitter()));
            continue;
        }
        if (rc == 0) {
            rc = fs_llm_map_error(m->cfg.provider, r.status, fs_buf_str(&r.body), r.body.len,
                                  r.error_type, err);
            /* kept for the trace, made safe like any text from outside */
            rs->response_body = fs_sanitize_text(fs_buf_str(&r.body), r.body.len, 65536, NULL);
        }
        if (rc < 0 && attempt > 1 && err) {
            char tail[48];
            snprintf(tail, sizeof(tail), " (after %d attempts)", attempt);
            size_t n = strlen(err->msg);
            if (n + strlen(tail) < sizeof(err->msg))
                memcpy(err->msg + n, tail, strlen(tail) + 1);
        }
        break;
    }
    fs_buf_release(&r.body);
    return rc;
}

int fs_llm_complete(struct fs_llm *m, const struct fs_llm_request *rq, struct fs_llm_response *rs,
                    struct fs_err *err)
{
    rs->content = NULL;
    rs->request_body = rs->response_body = NULL;
    rs->stop_reason[0] = rs->model[0] = '\0';
    rs->input_tokens = rs->output_tokens = 0;
    rs->attempts = 0;
    int rc = fs_llm_request_check(rq, err);
    if (rc < 0)
        return rc;
    struct redacted red;
    if ((rc = redact_request(rq, &red)) < 0) {
        redacted_release(&red);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    int first_call = fs_llm_count_calls(rq->messages);
    if (m->ops->complete)
        rc = m->ops->complete(m, &red.rq, rs, err);
    else
        rc = complete_http(m, &red.rq, first_call, rs, err);
    redacted_release(&red);
    if (rc < 0) {
        json_decref(rs->content);
        rs->content = NULL;
    }
    return rc;
}
