/* fuzz_host_parse: libFuzzer target for the host tool parsers (src/tools/host_parse.c). The
 * first byte picks the parser (modulo the number of slots; a new parser takes the next slot, so
 * the committed seeds, whose first bytes are below the old count, keep their parser), the rest
 * is what the program printed. Any input must give either
 * JSON that serialises (valid UTF-8 everywhere) with the promised top-level shape, or an error
 * with a code and a message — never a crash, a leak or undefined behaviour. */
#include "core/common.h"

#include <stdint.h>
#include <stdlib.h>

#include "tools/host_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int rc, json_t *out, const struct fs_err *e, const char *key)
{
    if (rc < 0) {
        if (out || !e->msg[0] || rc != -(int)e->code)
            abort();
        return;
    }
    if (rc != 0 || !json_is_object(out))
        abort();
    if (key && !json_is_array(json_object_get(out, key)))
        abort();
    char *s = json_dumps(out, JSON_COMPACT);
    if (!s)
        abort();
    /* the output is valid JSON (and so valid UTF-8); NULs stay for the registry to strip */
    json_t *back = json_loads(s, JSON_ALLOW_NUL, NULL);
    if (!back)
        abort();
    json_decref(back);
    free(s);
    json_decref(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *in = (const char *)data + 1;
    size_t n = size - 1;
    json_t *out = NULL;
    struct fs_err e = {0};
    int64_t cores;
    switch (data[0] % 19) {
    case 0: check(fs_hp_df(in, n, false, &out, &e), out, &e, "filesystems"); break;
    case 1: check(fs_hp_df(in, n, true, &out, &e), out, &e, "filesystems"); break;
    case 2: check(fs_hp_du(in, n, &out, &e), out, &e, "entries"); break;
    case 3: check(fs_hp_find(in, n, &out, &e), out, &e, "files"); break;
    case 4: check(fs_hp_ps(in, n, &out, &e), out, &e, "processes"); break;
    case 5: check(fs_hp_meminfo(in, n, &out, &e), out, &e, NULL); break;
    case 6: check(fs_hp_loadavg(in, n, &out, &e), out, &e, NULL); break;
    case 7: check(fs_hp_systemctl_show(in, n, &out, &e), out, &e, NULL); break;
    case 8: check(fs_hp_journal_usage(in, n, &out, &e), out, &e, NULL); break;
    case 13: check(fs_hp_journal_files(in, n, &out, &e), out, &e, NULL); break;
    case 9: check(fs_hp_lines(in, n, n > 2 ? "er" : NULL, &out, &e), out, &e, "lines"); break;
    case 10: check(fs_hp_ss(in, n, &out, &e), out, &e, "sockets"); break;
    case 11: check(fs_hp_pem(in, n, 1795258000000LL, &out, &e), out, &e, "certificates"); break;
    case 12:
        if (fs_hp_nproc(in, n, &cores, &e) == 0 && cores < 1)
            abort();
        break;
    case 14: check(fs_hp_process(in, n, &out, &e), out, &e, NULL); break;
    case 15: check(fs_hp_stat(in, n, &out, &e), out, &e, NULL); break;
    case 16:
        check(fs_hp_journal_lines(in, n, n > 2 ? "Killed" : NULL, &out, &e), out, &e, "lines");
        break;
    case 17: {
        int rc = fs_hp_apt_policy(in, n, "bash", &out, &e);
        if (rc == 0 && !json_is_boolean(json_object_get(out, "upgradable")))
            abort();
        check(rc, out, &e, NULL);
        break;
    }
    case 18: check(fs_hp_config_value(in, n, &out, &e), out, &e, NULL); break;
    }
    return 0;
}
