/* llm_replay: the `replay` provider — answers from a recorded transcript instead of a model,
 * so an investigation can be re-run deterministically. The transcript is JSON Lines: line N
 * (blank lines aside) is the answer to call N, an object whose "response" member is a neutral
 * response {"content": [...], "stop_reason", "usage": {"input_tokens", "output_tokens"},
 * "model"}; a "request" member (what was asked, for people) is ignored. Past the last line the
 * call fails. The neutral parser here also checks what a transcript says, as strictly as the
 * providers' parsers check theirs. */
#include "core/common.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/json.h"
#include "llm/llm_int.h"

#define WHO "replay"

int fs_llm_transcript_load(const char *path, json_t **out, struct fs_err *err)
{
    *out = NULL;
    struct fs_buf b = FS_BUF_INIT(0);
    struct fs_err re = {0};
    int rc = fs_read_file(path, FS_LLM_MAX_TRANSCRIPT, &b, &re);
    if (rc < 0) {
        fs_buf_release(&b);
        if (rc == -FS_E_NOMEM)
            return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        return fs_err_set(err, FS_E_CONFIG, "llm.transcript", WHO ": llm.transcript: %s", re.msg);
    }
    json_t *lines = json_array();
    rc = lines ? 0 : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    const char *p = fs_buf_str(&b), *end = p + b.len;
    for (int lineno = 1; rc == 0 && p < end; lineno++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        size_t k = 0;
        while (k < n && (p[k] == ' ' || p[k] == '\t' || p[k] == '\r'))
            k++;
        if (k < n) {
            json_t *v = NULL;
            struct fs_err e = {0};
            if (fs_json_parse(p, n, FS_LLM_JSON_DEPTH, &v, &e) < 0)
                rc = fs_err_set(err, FS_E_CONFIG, "llm.transcript", WHO ": %s:%d: %s", path, lineno,
                                e.msg);
            else if (!json_is_object(json_object_get(v, "response")))
                rc = fs_err_set(err, FS_E_CONFIG, "llm.transcript",
                                WHO ": %s:%d: expected an object with a \"response\" object", path,
                                lineno);
            else if (json_array_append(lines, json_object_get(v, "response")) < 0)
                rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
            json_decref(v);
        }
        p += n + 1;
    }
    fs_buf_release(&b);
    if (rc < 0) {
        json_decref(lines);
        return rc;
    }
    *out = lines;
    return 0;
}

/* the neutral stop reasons themselves */
static const struct fs_llm_stop stops[] = {
    {"end_turn", "end_turn"}, {"tool_use", "tool_use"}, {"max_tokens", "max_tokens"},
    {"refusal", "refusal"},   {"other", "other"},
};

static int neutral_from(const struct fs_llm_parse_ctx *px, const json_t *doc,
                        struct fs_llm_response *rs, struct fs_err *err)
{
    json_t *content = json_object_get(doc, "content");
    if (!json_is_array(content))
        return fs_err_set(err, FS_E_PROTOCOL, "content",
                          WHO ": content: expected an array of blocks, got %s",
                          fs_json_type_name(content));
    json_t *out = json_array();
    int rc = out ? fs_llm_add_blocks(px, out, content) : -FS_E_NOMEM;
    const char *stop = json_string_value(json_object_get(doc, "stop_reason"));
    rc = fs_llm_take_content(rs, out, rc, fs_llm_stop_map(stops, FS_ARRAY_LEN(stops), stop), err);
    if (rc == 0) {
        json_t *u = json_object_get(doc, "usage");
        rs->input_tokens = fs_llm_tokens(u, "input_tokens");
        rs->output_tokens = fs_llm_tokens(u, "output_tokens");
        fs_llm_set_model(rs, json_string_value(json_object_get(doc, "model")),
                         px->model ? px->model : "replay");
    }
    return rc;
}

int fs_llm_neutral_parse(const struct fs_llm_parse_ctx *px, const char *body, size_t len,
                         struct fs_llm_response *rs, struct fs_err *err)
{
    json_t *doc;
    int rc = fs_llm_parse_body(WHO, body, len, &doc, err);
    if (rc < 0)
        return rc;
    rc = neutral_from(px, doc, rs, err);
    json_decref(doc);
    return rc;
}

static int init(struct fs_llm *m, struct fs_err *err)
{
    if (!m->cfg.transcript || !*m->cfg.transcript)
        return fs_err_set(err, FS_E_CONFIG, "llm.transcript",
                          WHO ": llm.transcript is not set: the replay provider answers from a "
                              "recorded transcript");
    return fs_llm_transcript_load(m->cfg.transcript, &m->transcript, err);
}

static int complete(struct fs_llm *m, const struct fs_llm_request *rq, struct fs_llm_response *rs,
                    struct fs_err *err)
{
    pthread_mutex_lock(&m->mu);
    size_t n = m->next_call++;
    pthread_mutex_unlock(&m->mu);
    rs->attempts = 1;
    json_t *asked = json_pack("{s:s? s:O s:O?}", "system", rq->system, "messages", rq->messages,
                              "tools", rq->tools);
    rs->request_body = asked ? json_dumps(asked, JSON_COMPACT) : NULL;
    json_decref(asked);
    if (!rs->request_body)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    const json_t *doc = json_array_get(m->transcript, n);
    if (!doc)
        return fs_err_set(err, FS_E_PROTOCOL, NULL,
                          WHO ": the transcript has no answer for call %zu (it holds %zu)", n + 1,
                          json_array_size(m->transcript));
    struct fs_llm_parse_ctx px = {rq->tools, fs_llm_count_calls(rq->messages), m->cfg.model};
    int rc = neutral_from(&px, doc, rs, err);
    if (rc == 0 && !(rs->response_body = json_dumps(doc, JSON_COMPACT)))
        rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    return rc;
}

const struct fs_llm_ops fs_llm_replay_ops = {
    .init = init,
    .complete = complete,
};
