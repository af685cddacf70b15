/* fuzz_llm_parse: libFuzzer target for the language-model response parsers (src/llm). The first
 * byte picks the parser — Anthropic Messages, Bedrock Converse, OpenAI Chat Completions, Ollama
 * /api/chat or the neutral replay response — and the second a status for the error mapper; the
 * rest is the body. A parse must give either the neutral response (content an array of text
 * blocks with non-empty text and tool_use blocks with a non-empty id, a name, an object input
 * and an optional string input_error; a known stop reason; tokens >= 0; JSON that serialises
 * and reads back) or -FS_E_PROTOCOL / -FS_E_NOMEM with a message naming the provider and no
 * content. The error mapper must give a code llm.h documents and a one-line message with no
 * control characters — never a crash, a leak or undefined behaviour. */
#include "core/common.h"

#include <stdint.h>
#include <stdlib.h>

#include "llm/llm_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *tools;

static void check_block(const json_t *b)
{
    const char *type = json_string_value(json_object_get(b, "type"));
    if (!type)
        abort();
    if (!strcmp(type, "text")) {
        const char *t = json_string_value(json_object_get(b, "text"));
        if (!t || !*t)
            abort();
        return;
    }
    if (strcmp(type, "tool_use"))
        abort();
    const char *id = json_string_value(json_object_get(b, "id"));
    json_t *e = json_object_get(b, "input_error");
    if (!id || !*id || !json_is_string(json_object_get(b, "name")) ||
        !json_is_object(json_object_get(b, "input")) || (e && !json_is_string(e)))
        abort();
    if (e && json_object_size(json_object_get(b, "input")))
        abort(); /* bad arguments give {} */
}

static void check_response(const struct fs_llm_response *rs)
{
    static const char *const stops[] = {"end_turn", "tool_use", "max_tokens", "refusal", "other"};
    bool known = false;
    for (size_t i = 0; i < FS_ARRAY_LEN(stops); i++)
        known |= !strcmp(rs->stop_reason, stops[i]);
    if (!known || !json_is_array(rs->content) || rs->input_tokens < 0 || rs->output_tokens < 0 ||
        !memchr(rs->model, '\0', sizeof(rs->model)))
        abort();
    size_t i;
    json_t *b;
    json_array_foreach(rs->content, i, b) check_block(b);
    json_t *j = fs_llm_response_json(rs);
    char *txt = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_t *back = txt ? json_loads(txt, 0, NULL) : NULL;
    if (!back)
        abort();
    json_decref(back);
    free(txt);
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    if (!tools)
        tools = json_loads("[{\"name\":\"host.fs_usage\"},{\"name\":\"prometheus.query\"},"
                           "{\"name\":\"a-b\"},{\"name\":\"a.b\"},{\"name\":\"a_b\"}]",
                           0, NULL);
    static const struct {
        const char *who;
        int (*fn)(const struct fs_llm_parse_ctx *, const char *, size_t, struct fs_llm_response *,
                  struct fs_err *);
    } parsers[] = {{"anthropic", fs_llm_anthropic_parse},
                   {"bedrock", fs_llm_bedrock_parse},
                   {"openai", fs_llm_openai_parse},
                   {"ollama", fs_llm_ollama_parse},
                   {"replay", fs_llm_neutral_parse}};
    size_t which = data[0] % FS_ARRAY_LEN(parsers);
    long status = 300 + data[1] % 300; /* 300..599 */
    const char *body = (const char *)data + 2;
    size_t len = size - 2;

    struct fs_llm_parse_ctx px = {tools, data[1] % 4, "fuzz-model"};
    struct fs_llm_response rs;
    memset(&rs, 0, sizeof(rs));
    struct fs_err e = {0};
    int rc = parsers[which].fn(&px, body, len, &rs, &e);
    if (rc == 0)
        check_response(&rs);
    else if (rs.content || (rc != -FS_E_PROTOCOL && rc != -FS_E_NOMEM) || rc != -(int)e.code ||
             (rc == -FS_E_PROTOCOL &&
              strncmp(e.msg, parsers[which].who, strlen(parsers[which].who))))
        abort();
    fs_llm_response_release(&rs);

    /* the same bytes as an error body */
    enum fs_llm_provider p = (enum fs_llm_provider)(data[0] % FS_LLM_REPLAY);
    struct fs_err me = {0};
    int code =
        -fs_llm_map_error(p, status, body, len, (data[1] & 1) ? "ValidationException" : NULL, &me);
    if (code != FS_E_UNAUTHORIZED && code != FS_E_NOT_FOUND && code != FS_E_TOO_LARGE &&
        code != FS_E_INVALID && code != FS_E_OVERLOADED && code != FS_E_TIMEOUT &&
        code != FS_E_PROTOCOL)
        abort();
    if (strncmp(me.msg, fs_llm_provider_name(p), strlen(fs_llm_provider_name(p))))
        abort();
    for (const char *c = me.msg; *c; c++)
        if ((unsigned char)*c < 0x20)
            abort();
    return 0;
}
