/* fuzz_loki_parse: libFuzzer target for the Loki log-stream response parser
 * (src/tools/loki_parse.c). The first byte picks the line cap (1..256 bytes, or 4096), the rest
 * is the body. Any body must give either streams whose labels are strings and whose lines
 * carry an RFC 3339 nanosecond timestamp and a line no longer than the cap (cut on a UTF-8
 * boundary, counted), or an error with a code and a message — never a crash, a leak or
 * undefined behaviour. */
#include "core/common.h"

#include <stdint.h>
#include <stdlib.h>

#include "tools/obs_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t max = data[0] == 0 ? 4096 : data[0];
    json_t *out = NULL;
    size_t cut = 12345;
    struct fs_err e = {0};
    int rc = fs_loki_parse((const char *)data + 1, size - 1, max, &out, &cut, &e);
    if (rc < 0) {
        if (out || !e.msg[0] || rc != -(int)e.code)
            abort();
        return 0;
    }
    if (rc != 0 || !json_is_object(out) || !json_is_array(json_object_get(out, "streams")))
        abort();
    size_t seen_cut = 0, i, j;
    json_t *st, *l, *v;
    const char *k;
    json_array_foreach(json_object_get(out, "streams"), i, st)
    {
        json_object_foreach(json_object_get(st, "labels"), k, v)
        {
            if (!json_is_string(v))
                abort();
        }
        if (!json_is_array(json_object_get(st, "lines")))
            abort();
        json_array_foreach(json_object_get(st, "lines"), j, l)
        {
            const char *ts = json_string_value(json_object_get(l, "ts"));
            json_t *line = json_object_get(l, "line");
            if (!ts || strlen(ts) != 30 || ts[29] != 'Z' || ts[10] != 'T' || !json_is_string(line))
                abort();
            if (json_string_length(line) > max)
                abort();
            json_t *c = json_object_get(l, "cut_bytes");
            if (c) {
                if (json_integer_value(c) <= 0)
                    abort();
                seen_cut++;
            }
        }
    }
    if (seen_cut != cut)
        abort();
    char *txt = json_dumps(out, JSON_COMPACT);
    if (!txt)
        abort();
    free(txt);
    json_decref(out);
    return 0;
}
