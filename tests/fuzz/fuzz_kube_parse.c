/* fuzz_kube_parse: libFuzzer target for the kubectl JSON parser (src/tools/kube_parse.c). The
 * first byte picks the kind the output is read as, the rest is what kubectl printed. Any input
 * must give either an object {kind, items: [objects], count, unparsed} that serialises (valid
 * UTF-8 everywhere), or an error with a code and a message — never a crash, a leak or
 * undefined behaviour. A configmap row never carries a value, only key names. */
#include "core/common.h"

#include <stdint.h>
#include <stdlib.h>

#include "tools/kube_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const kinds[] = {"pods",        "deployments", "statefulsets", "daemonsets",
                                    "replicasets", "services",    "nodes",        "events",
                                    "jobs",        "cronjobs",    "configmaps",   "widgets"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *kind = kinds[data[0] % FS_ARRAY_LEN(kinds)];
    json_t *out = NULL;
    struct fs_err e = {0};
    int rc = fs_kube_parse((const char *)data + 1, size - 1, kind, 1795258000000LL, &out, &e);
    if (rc < 0) {
        if (out || !e.msg[0] || rc != -(int)e.code)
            abort();
        return 0;
    }
    if (rc != 0 || !json_is_object(out))
        abort();
    json_t *items = json_object_get(out, "items");
    if (!json_is_array(items) ||
        json_integer_value(json_object_get(out, "count")) != (json_int_t)json_array_size(items))
        abort();
    size_t i;
    json_t *row;
    json_array_foreach(items, i, row)
    {
        if (!json_is_object(row))
            abort();
        json_t *keys = json_object_get(row, "keys");
        if (fs_streq(kind, "configmaps") && !json_is_array(keys))
            abort();
    }
    char *s = json_dumps(out, JSON_COMPACT);
    if (!s)
        abort();
    json_t *back = json_loads(s, 0, NULL);
    if (!back)
        abort();
    json_decref(back);
    free(s);
    json_decref(out);
    return 0;
}
