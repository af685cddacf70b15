/* fuzz_runner_stream: libFuzzer target for the runner's reader of Claude Code's stream-json
 * output (src/runner/stream.c). The input is split into lines and fed one by one, as the
 * runner does with the child's stdout. Whatever the bytes, every line must be taken (0) — only
 * running out of memory is an error — and what is kept must hold the reader's promises:
 * bounded lists; reasoning, call results and the final text valid UTF-8 without control
 * characters other than newline and tab; every call an object with string id and tool and an
 * object input; proposals "prop-N"; counters and the cost never negative; the fixed-size
 * fields NUL-terminated; everything serialisable — never a crash, a leak or undefined
 * behaviour. */
#include "core/common.h"

#include <stdint.h>
#include <stdlib.h>

#include "runner/runner.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *tools;

static void check_text(const char *s)
{
    if (!s)
        abort();
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f)
            abort();
        int n = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3 : 4;
        if (*p >= 0x80 && ((*p & 0xC0) == 0x80 || *p > 0xF4))
            abort();
        for (int i = 1; i < n; i++)
            if ((p[i] & 0xC0) != 0x80)
                abort();
        p += n;
    }
}

static void check_field(const char *f, size_t size)
{
    if (!memchr(f, '\0', size))
        abort();
    for (const char *c = f; *c; c++)
        if ((unsigned char)*c < 0x20)
            abort();
}

static void check(const struct fs_runner_stream *s)
{
    if (json_array_size(s->reasoning) > 256 || json_array_size(s->calls) > 256 ||
        json_array_size(s->proposals) > 256 || s->turns < 0 || s->num_turns < 0 ||
        s->cost_usd < 0 || s->duration_ms < 0 || s->duration_api_ms < 0 || s->bad_lines > s->lines)
        abort();
    check_field(s->last_message_id, sizeof(s->last_message_id));
    check_field(s->session_id, sizeof(s->session_id));
    check_field(s->model, sizeof(s->model));
    check_field(s->gateway_status, sizeof(s->gateway_status));
    check_field(s->subtype, sizeof(s->subtype));
    size_t i;
    json_t *v;
    json_array_foreach(s->reasoning, i, v) check_text(json_string_value(v));
    json_array_foreach(s->calls, i, v)
    {
        if (!json_is_string(json_object_get(v, "id")) ||
            !json_is_string(json_object_get(v, "tool")) ||
            !json_is_object(json_object_get(v, "input")))
            abort();
        json_t *r = json_object_get(v, "result");
        if (r)
            check_text(json_string_value(r));
        json_t *e = json_object_get(v, "isError");
        if ((r != NULL) != (e != NULL) || (e && !json_is_boolean(e)))
            abort();
    }
    json_array_foreach(s->proposals, i, v)
    {
        const char *p = json_string_value(v);
        if (!p || strncmp(p, "prop-", 5) || !p[5])
            abort();
    }
    if (s->result_text)
        check_text(s->result_text);
    char *a = json_dumps(s->calls, JSON_COMPACT);
    char *b = json_dumps(s->reasoning, JSON_COMPACT);
    if (!a || !b)
        abort();
    free(a);
    free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!tools)
        tools = json_pack("[s,s,s]", "host.fs_usage", "action.journal_vacuum", "a-b.c");
    struct fs_runner_stream s = {.tools = tools};
    if (fs_runner_stream_init(&s) < 0)
        return 0;
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        struct fs_err err = {0};
        if (fs_runner_stream_line(&s, p, n, &err) != 0 && err.code != FS_E_NOMEM)
            abort();
        p += n + (nl ? 1 : 0);
    }
    check(&s);
    fs_runner_stream_release(&s);
    return 0;
}
