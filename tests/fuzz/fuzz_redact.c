/* fuzz_redact: libFuzzer target for core/redact. Any bytes, sanitized under several caps, must
 * give valid UTF-8 with no control character but \n and \t, no ESC, at most cap + note bytes,
 * and statistics that agree with the output; a second pass over that output must keep the same
 * promises and remove or repair nothing. Bytes that parse as JSON are redacted with fs_redact_json,
 * and the result must still serialise. Never a crash, a leak or undefined behaviour. Test code
 * only; it checks, and does not define, redact behaviour. */
#include "core/common.h"

#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#include "core/redact.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOTE_MAX (sizeof("\n[... 18446744073709551615 bytes left out]") - 1)

/* Valid UTF-8 (no overlongs, surrogates or values past U+10FFFF), and no C0 but \n and \t, no
 * DEL and no C1. */
static void check_clean(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c < 0x80) {
            if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F)
                abort();
            i++;
            continue;
        }
        size_t k;
        uint32_t cp;
        if (c >= 0xC2 && c < 0xE0)
            k = 2, cp = c & 0x1F;
        else if (c >= 0xE0 && c < 0xF0)
            k = 3, cp = c & 0x0F;
        else if (c >= 0xF0 && c < 0xF5)
            k = 4, cp = c & 0x07;
        else
            abort();
        if (i + k > n)
            abort();
        for (size_t j = 1; j < k; j++) {
            if ((p[i + j] & 0xC0) != 0x80)
                abort();
            cp = (cp << 6) | (p[i + j] & 0x3F);
        }
        if ((k == 3 && cp < 0x800) || (k == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF) || (cp >= 0x80 && cp <= 0x9F))
            abort();
        i += k;
    }
}

static void sanitize(const char *in, size_t len, size_t max, bool again)
{
    struct fs_sanitize_stats st;
    char *out = fs_sanitize_text(in, len, max, &st);
    if (!out)
        abort(); /* no allocation fails here */
    size_t n = strlen(out);
    if (n != st.bytes_out || st.bytes_in != len)
        abort();
    check_clean(out, n);
    if (max && n > max + NOTE_MAX)
        abort();
    static const char tail[] = " bytes left out]";
    if (st.truncated && (!max || n < sizeof(tail) - 1 ||
                         memcmp(out + n - (sizeof(tail) - 1), tail, sizeof(tail) - 1) != 0))
        abort();
    if (!max && st.truncated)
        abort();
    /* clean text without secrets comes back unchanged (\r is rewritten without a count) */
    if (!st.truncated && st.secrets == 0 && st.controls == 0 && st.invalid_utf8 == 0 &&
        !memchr(in, '\r', len) && (n != len || memcmp(out, in, len) != 0))
        abort();
    if (again) {
        sanitize(out, n, max, false);
        if (!max) {
            /* Sanitized text is clean: a second pass removes and repairs nothing, and changes
             * nothing unless it redacts (a marker's brackets can make a word boundary where
             * there was none, so it may find what the first pass rightly did not). */
            struct fs_sanitize_stats st2;
            char *out2 = fs_sanitize_text(out, n, 0, &st2);
            if (!out2 || st2.controls || st2.invalid_utf8 ||
                (st2.secrets == 0 && strcmp(out2, out) != 0))
                abort();
            free(out2);
        }
    }
    free(out);
}

static void json_case(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *v = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!v)
        return;
    size_t count = 0;
    if (fs_redact_json(v, &count) < 0)
        abort();
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!s)
        abort();
    /* a second pass works on the result (it may find more: see sanitize) and keeps it JSON */
    size_t again = 0;
    if (fs_redact_json(v, &again) < 0)
        abort();
    char *s2 = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!s2 || (again == 0 && strcmp(s, s2) != 0))
        abort();
    free(s2);
    free(s);
    json_decref(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t caps[] = {0, 1, 7, 64, 4096};
    for (size_t i = 0; i < FS_ARRAY_LEN(caps); i++)
        sanitize((const char *)data, size, caps[i], i == 0);
    json_case(data, size);
    return 0;
}
