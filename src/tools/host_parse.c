/* host_parse: the parsers behind the host tools (host_int.h): bytes a program printed → JSON.
 * Pure functions — no clock, files, environment or processes — so local and remote runs share
 * them and the fuzzer can drive them. They must not trust the bytes: every number is range
 * checked, every line bounded, and a parse error never quotes the input. */
#include "core/common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "core/time.h"
#include "tools/host_int.h"

#define MAX_TOKENS 64

/* ---- strings and numbers ---------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    if (s[0] < 0x80)
        return 1;
    size_t need;
    uint32_t cp;
    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        need = 2, cp = s[0] & 0x1F;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF)
        need = 3, cp = s[0] & 0x0F;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4)
        need = 4, cp = s[0] & 0x07;
    else
        return 0;
    if (n < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((need == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (need == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return need;
}

json_t *fs_hp_string(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t k = utf8_seq(u + i, n - i);
        if (!k)
            break;
        i += k;
    }
    if (i == n)
        return json_stringn(s, n);
    char *fixed = fs_malloc(n * 3 + 1);
    if (!fixed)
        return NULL;
    size_t o = 0;
    for (i = 0; i < n;) {
        size_t k = utf8_seq(u + i, n - i);
        if (k) {
            memcpy(fixed + o, s + i, k);
            o += k;
            i += k;
        } else {
            memcpy(fixed + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    json_t *j = json_stringn(fixed, o);
    free(fixed);
    return j;
}

static bool parse_u64(const char *s, size_t n, uint64_t *out)
{
    if (n == 0 || n > 20)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* A non-negative integer that fits a JSON integer (int64). */
static bool parse_i64(const char *s, size_t n, int64_t *out)
{
    uint64_t v;
    if (!parse_u64(s, n, &v) || v > (uint64_t)INT64_MAX)
        return false;
    *out = (int64_t)v;
    return true;
}

/* A plain decimal ("12.5", "0", "-3.25" when neg): no exponent, no hex, no inf/nan. */
static bool parse_dec(const char *s, size_t n, bool neg, double *out)
{
    char tmp[48];
    if (n == 0 || n >= sizeof(tmp))
        return false;
    size_t dots = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.')
            dots++;
        else if (!(s[i] >= '0' && s[i] <= '9') && !(neg && i == 0 && s[i] == '-'))
            return false;
    }
    if (dots > 1 || s[0] == '.' || s[n - 1] == '.' || (n == 1 && s[0] == '-'))
        return false;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *end;
    double d = strtod(tmp, &end);
    if (*end || !isfinite(d))
        return false;
    *out = d;
    return true;
}

struct tok {
    const char *s;
    size_t n;
};

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* Split [s, s+n) on runs of spaces and tabs; at most max tokens (the rest ignored). */
static size_t tokenize(const char *s, size_t n, struct tok *t, size_t max)
{
    size_t k = 0, i = 0;
    while (i < n && k < max) {
        while (i < n && is_space(s[i]))
            i++;
        if (i == n)
            break;
        size_t b = i;
        while (i < n && !is_space(s[i]))
            i++;
        t[k].s = s + b;
        t[k].n = i - b;
        k++;
    }
    return k;
}

/* Iterate lines: *line and *n: the next line without its terminator; false at the end. */
static bool next_rec(const char *buf, size_t len, size_t *pos, char sep, const char **line,
                     size_t *n)
{
    if (*pos >= len)
        return false;
    const char *b = buf + *pos;
    const char *e = memchr(b, sep, len - *pos);
    size_t l = e ? (size_t)(e - b) : len - *pos;
    *pos += l + (e ? 1 : 0);
    if (sep == '\n' && l > 0 && b[l - 1] == '\r')
        l--;
    *line = b;
    *n = l;
    return true;
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_space(s[i]))
            return false;
    return true;
}

static int nomem(json_t *a, json_t *b, struct fs_err *err)
{
    json_decref(a);
    json_decref(b);
    return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
}

static int bad_output(json_t *a, json_t *b, struct fs_err *err, const char *what)
{
    json_decref(a);
    json_decref(b);
    return fs_err_set(err, FS_E_INVALID_PAYLOAD, NULL, "unexpected output: %s", what);
}

/* Set helpers that swallow allocation failures into one flag. */
static bool put(json_t *o, const char *k, json_t *v, bool ok)
{
    if (!ok || !o) {
        json_decref(v);
        return false;
    }
    return v && json_object_set_new(o, k, v) == 0;
}

/* ---- df ----------------------------------------------------------------------------------- */

static bool df_percent(const struct tok *t, json_t **out)
{
    if (t->n == 1 && t->s[0] == '-') {
        *out = json_null();
        return true;
    }
    int64_t v;
    if (t->n < 2 || t->s[t->n - 1] != '%' || !parse_i64(t->s, t->n - 1, &v) || v > 100000)
        return false;
    *out = json_integer(v);
    return true;
}

static json_t *df_line(const char *line, size_t n, bool inodes)
{
    struct tok t[MAX_TOKENS];
    size_t nt = tokenize(line, n, t, MAX_TOKENS);
    for (size_t k = 1; k + 5 < nt; k++) {
        int64_t a, b, c;
        json_t *pct;
        if (!parse_i64(t[k + 1].s, t[k + 1].n, &a) || !parse_i64(t[k + 2].s, t[k + 2].n, &b) ||
            !parse_i64(t[k + 3].s, t[k + 3].n, &c) || !df_percent(&t[k + 4], &pct))
            continue;
        const char *fs_end = t[k - 1].s + t[k - 1].n;
        const char *mnt = t[k + 5].s;
        size_t mnt_n = (size_t)(line + n - mnt);
        json_t *o = json_object();
        bool ok = o != NULL;
        ok = put(o, "filesystem", fs_hp_string(line, (size_t)(fs_end - line)), ok);
        ok = put(o, "type", fs_hp_string(t[k].s, t[k].n), ok);
        ok = put(o, inodes ? "inodes_total" : "size_bytes", json_integer(a), ok);
        ok = put(o, inodes ? "inodes_used" : "used_bytes", json_integer(b), ok);
        ok = put(o, inodes ? "inodes_free" : "avail_bytes", json_integer(c), ok);
        ok = put(o, inodes ? "inodes_used_percent" : "used_percent", pct, ok);
        ok = put(o, "mount", fs_hp_string(mnt, mnt_n), ok);
        if (!ok) {
            json_decref(o);
            return NULL;
        }
        return o;
    }
    return json_null(); /* not a filesystem line */
}

int fs_hp_df(const char *buf, size_t len, bool inodes, json_t **out, struct fs_err *err)
{
    *out = NULL;
    size_t pos = 0, n;
    const char *line;
    if (!next_rec(buf, len, &pos, '\n', &line, &n) || n < 10 || memcmp(line, "Filesystem", 10))
        return bad_output(NULL, NULL, err, "df printed no \"Filesystem\" header");
    json_t *res = json_object(), *arr = json_array();
    if (!res || !arr || json_object_set_new(res, "filesystems", arr) < 0)
        return nomem(res, res ? NULL : arr, err);
    int64_t unparsed = 0;
    while (next_rec(buf, len, &pos, '\n', &line, &n)) {
        if (blank(line, n))
            continue;
        json_t *fs = df_line(line, n, inodes);
        if (!fs)
            return nomem(res, NULL, err);
        if (json_is_null(fs)) {
            unparsed++;
            continue;
        }
        if (json_array_append_new(arr, fs) < 0)
            return nomem(res, NULL, err);
    }
    if (json_object_set_new(res, "unparsed_lines", json_integer(unparsed)) < 0)
        return nomem(res, NULL, err);
    *out = res;
    return 0;
}

/* ---- du and find -------------------------------------------------------------------------- */

static int cmp_size_desc(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    json_int_t sx = json_integer_value(json_object_get(x, "size_bytes"));
    json_int_t sy = json_integer_value(json_object_get(y, "size_bytes"));
    if (sx != sy)
        return sx < sy ? 1 : -1;
    return strcmp(json_string_value(json_object_get(x, "path")),
                  json_string_value(json_object_get(y, "path")));
}

/* Sort an array of {size_bytes, path} objects, largest first (stable order for equal sizes). */
static int sort_by_size(json_t *arr)
{
    size_t n = json_array_size(arr);
    if (n < 2)
        return 0;
    json_t **v = fs_malloc(n * sizeof(*v));
    if (!v)
        return -FS_E_NOMEM;
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(arr, i));
    qsort(v, n, sizeof(*v), cmp_size_desc);
    json_array_clear(arr);
    int rc = 0;
    for (size_t i = 0; i < n; i++)
        if (json_array_append_new(arr, v[i]) < 0)
            rc = -FS_E_NOMEM;
    free(v);
    return rc;
}

/* Records: NUL-terminated when the output holds a NUL, else newline-terminated. */
static char rec_sep(const char *buf, size_t len)
{
    return memchr(buf, '\0', len) ? '\0' : '\n';
}

static int sized_list(const char *buf, size_t len, bool with_mtime, const char *key, json_t **out,
                      struct fs_err *err)
{
    *out = NULL;
    char sep = rec_sep(buf, len);
    json_t *res = json_object(), *arr = json_array();
    if (!res || !arr || json_object_set_new(res, key, arr) < 0)
        return nomem(res, res ? NULL : arr, err);
    size_t pos = 0, n;
    const char *line;
    int64_t unparsed = 0;
    while (next_rec(buf, len, &pos, sep, &line, &n)) {
        if (n == 0 || (sep == '\n' && blank(line, n)))
            continue;
        const char *tab = memchr(line, '\t', n);
        int64_t size;
        double mtime = 0;
        const char *p = tab ? tab + 1 : NULL;
        size_t rest = tab ? n - (size_t)(p - line) : 0;
        bool ok = tab && parse_i64(line, (size_t)(tab - line), &size);
        if (ok && with_mtime) {
            const char *tab2 = memchr(p, '\t', rest);
            ok = tab2 && parse_dec(p, (size_t)(tab2 - p), true, &mtime) && fabs(mtime) < 1e15;
            if (ok) {
                rest -= (size_t)(tab2 + 1 - p);
                p = tab2 + 1;
            }
        }
        if (!ok || rest == 0) {
            unparsed++;
            continue;
        }
        json_t *o = json_object();
        bool good = o != NULL;
        good = put(o, "path", fs_hp_string(p, rest), good);
        good = put(o, "size_bytes", json_integer(size), good);
        if (with_mtime)
            good = put(o, "mtime_s", json_integer((json_int_t)floor(mtime)), good);
        if (!good || json_array_append_new(arr, o) < 0) {
            json_decref(o);
            return nomem(res, NULL, err);
        }
    }
    if (sort_by_size(arr) < 0 || json_object_set_new(res, "unparsed", json_integer(unparsed)) < 0)
        return nomem(res, NULL, err);
    *out = res;
    return 0;
}

int fs_hp_du(const char *buf, size_t len, json_t **out, struct fs_err *err)
{
    int rc = sized_list(buf, len, false, "entries", out, err);
    if (rc == 0 && json_array_size(json_object_get(*out, "entries")) == 0) {
        json_decref(*out);
        *out = NULL;
        return bad_output(NULL, NULL, err, "du printed no sizes");
    }
    return rc;
}

int fs_hp_find(const char *buf, size_t len, json_t **out, struct fs_err *err)
{
    return sized_list(buf, len, true, "files", out, err);
}

/* ---- ps ----------------------------------------------------------------------------------- */

int fs_hp_ps(const char *buf, size_t len, json_t **out, struct fs_err *err)
{
    *out = NULL;
    json_t *res = json_object(), *arr = json_array();
    if (!res || !arr || json_object_set_new(res, "processes", arr) < 0)
        return nomem(res, res ? NULL : arr, err);
    size_t pos = 0, n;
    const char *line;
    int64_t unparsed = 0;
    while (next_rec(buf, len, &pos, '\n', &line, &n)) {
        if (blank(line, n))
            continue;
        struct tok t[8];
        size_t nt = tokenize(line, n, t, 8);
        int64_t pid, ppid, rss, et;
        double cpu, mem;
        if (nt < 8 || !parse_i64(t[0].s, t[0].n, &pid) || !parse_i64(t[1].s, t[1].n, &ppid) ||
            !parse_dec(t[3].s, t[3].n, false, &cpu) || !parse_dec(t[4].s, t[4].n, false, &mem) ||
            !parse_i64(t[5].s, t[5].n, &rss) || rss > INT64_MAX / 1024 ||
            !parse_i64(t[6].s, t[6].n, &et)) {
            unparsed++;
            continue;
        }
        const char *cmd = t[7].s;
        size_t cmd_n = (size_t)(line + n - cmd);
        json_t *o = json_object();
        bool ok = o != NULL;
        ok = put(o, "pid", json_integer(pid), ok);
        ok = put(o, "ppid", json_integer(ppid), ok);
        ok = put(o, "user", fs_hp_string(t[2].s, t[2].n), ok);
        ok = put(o, "cpu_percent", json_real(cpu), ok);
        ok = put(o, "mem_percent", json_real(mem), ok);
        ok = put(o, "rss_bytes", json_integer(rss * 1024), ok);
        ok = put(o, "elapsed_s", json_integer(et), ok);
        ok = put(o, "command", fs_hp_string(cmd, cmd_n), ok);
        if (!ok || json_array_append_new(arr, o) < 0) {
            json_decref(o);
            return nomem(res, NULL, err);
        }
    }
    if (json_array_size(arr) == 0)
        return bad_output(res, NULL, err, "ps printed no processes");
    if (json_object_set_new(res, "unparsed", json_integer(unparsed)) < 0)
        return nomem(res, NULL, err);
    *out = res;
    return 0;
}

/* ---- /proc/meminfo, /proc/loadavg, nproc -------------------------------------------------- */

int fs_hp_meminfo(const char *buf, size_t len, json_t **out, struct fs_err *err)
{
    *out = NULL;
    static const char *const keys[] = {"MemTotal", "MemFree",   "MemAvailable", "Buffers",
                                       "Cached",   "SwapTotal", "SwapFree"};
    enum { TOTAL, FREE, AVAIL, BUFFERS, CACHED, SWAPT, SWAPF, NKEYS };
    int64_t v[NKEYS] = {0};
    bool have[NKEYS] = {0};
    size_t pos = 0, n;
    const char *line;
    while (next_rec(buf, len, &pos, '\n', &line, &n)) {
        const char *colon = memchr(line, ':', n);
        if (!colon)
            continue;
        size_t kn = (size_t)(colon - line);
        for (int k = 0; k < NKEYS; k++) {
            if (have[k] || strlen(keys[k]) != kn || memcmp(line, keys[k], kn))
                continue;
            struct tok t[3];
            size_t nt = tokenize(colon + 1, n - kn - 1, t, 3);
            int64_t x;
            if (nt < 1 || nt > 2 || !parse_i64(t[0].s, t[0].n, &x))
                break;
            if (nt == 2) {
                if (t[1].n != 2 || memcmp(t[1].s, "kB", 2) || x > INT64_MAX / 1024)
                    break;
                x *= 1024;
            }
            v[k] = x;
            have[k] = true;
        }
    }
    if (!have[TOTAL] || v[TOTAL] == 0)
        return bad_output(NULL, NULL, err, "no MemTotal in /proc/meminfo");
    bool estimated = !have[AVAIL];
    if (estimated) { /* kernels before 3.14 */
        int64_t a = v[FREE];
        a = a > INT64_MAX - v[BUFFERS] ? INT64_MAX : a + v[BUFFERS];
        a = a > INT64_MAX - v[CACHED] ? INT64_MAX : a + v[CACHED];
        v[AVAIL] = a;
    }
    int64_t avail = FS_MIN(v[AVAIL], v[TOTAL]);
    int64_t used = v[TOTAL] - avail;
    int64_t swap_used = v[SWAPT] >= v[SWAPF] ? v[SWAPT] - v[SWAPF] : 0;
    json_t *o = json_object();
    bool ok = o != NULL;
    ok = put(o, "total_bytes", json_integer(v[TOTAL]), ok);
    ok = put(o, "available_bytes", json_integer(avail), ok);
    ok = put(o, "used_bytes", json_integer(used), ok);
    ok =
        put(o, "used_percent", json_real(round(1000.0 * (double)used / (double)v[TOTAL]) / 10), ok);
    ok = put(o, "free_bytes", json_integer(v[FREE]), ok);
    ok = put(o, "buffers_bytes", json_integer(v[BUFFERS]), ok);
    ok = put(o, "cached_bytes", json_integer(v[CACHED]), ok);
    ok = put(o, "swap_total_bytes", json_integer(v[SWAPT]), ok);
    ok = put(o, "swap_free_bytes", json_integer(v[SWAPF]), ok);
    ok = put(o, "swap_used_bytes", json_integer(swap_used), ok);
    ok = put(o, "available_estimated", json_boolean(estimated), ok);
    if (!ok)
        return nomem(o, NULL, err);
    *out = o;
    return 0;
}

int fs_hp_loadavg(const char *buf, size_t len, json_t **out, struct fs_err *err)
{
    *out = NULL;
    struct tok t[6];
    size_t nt = tokenize(buf, len && buf[len - 1] == '\n' ? len - 1 : len, t, 6);
    double l1, l5, l15;
    int64_t run, tasks, last;
    const char *slash = nt >= 4 ? memchr(t[3].s, '/', t[3].n) : NULL;
    if (nt != 5 || !parse_dec(t[0].s, t[0].n, false, &l1) ||
        !parse_dec(t[1].s, t[1].n, false, &l5) || !parse_dec(t[2].s, t[2].n, false, &l15) ||
        !slash || !parse_i64(t[3].s, (size_t)(slash - t[3].s), &run) ||
        !parse_i64(slash + 1, t[3].n - (size_t)(slash + 1 - t[3].s), &tasks) ||
        !parse_i64(t[4].s, t[4].n, &last))
        return bad_output(NULL, NULL, err, "/proc/loadavg is not \"L1 L5 L15 R/T PID\"");
    json_t *o = json_object();
    bool ok = o != NULL;
    ok = put(o, "load1", json_real(l1), ok);
    ok = put(o, "load5", json_real(l5), ok);
    ok = put(o, "load15", json_real(l15), ok);
    ok = put(o, "runnable", json_integer(run), ok);
    ok = put(o, "tasks", json_integer(tasks), ok);
    ok = put(o, "last_pid", json_integer(last), ok);
    if (!ok)
        return nomem(o, NULL, err);
    *out = o;
    return 0;
}

int fs_hp_nproc(const char *buf, size_t len, int64_t *cores, struct fs_err *err)
{
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
        len--;
    if (!parse_i64(buf, len, cores) || *cores < 1 || *cores > 1000000)
        return bad_output(NULL, NULL, err, "nproc did not print a count");
    return 0;
}

/* ---- systemctl show ----------------------------------------------------------------------- */

int fs_hp_systemctl_show(const char *buf, size_t len, json_t **out, struct fs_err *err)
{
    *out = NULL;
    static const struct {
        const char *key, *field;
        bool number;
    } map[] = {
        {"LoadState", "load_state", false},
        {"ActiveState", "active_state", false},
        {"SubState", "sub_state", false},
        {"NRestarts", "n_restarts", true},
        {"ExecMainStatus", "exec_main_status", true},
        {"ActiveEnterTimestamp", "active_enter_timestamp", false},
        {"MemoryCurrent", "memory_current_bytes", true},
    };
    json_t *o = json_object();
    if (!o)
        return nomem(NULL, NULL, err);
    bool ok = true;
    for (size_t i = 0; i < FS_ARRAY_LEN(map); i++)
        ok = put(o, map[i].field, json_null(), ok);
    size_t pos = 0, n;
    const char *line;
    while (ok && next_rec(buf, len, &pos, '\n', &line, &n)) {
        const char *eq = memchr(line, '=', n);
        if (!eq)
            continue;
        size_t kn = (size_t)(eq - line), vn = n - kn - 1;
        const char *val = eq + 1;
        for (size_t i = 0; i < FS_ARRAY_LEN(map); i++) {
            if (strlen(map[i].key) != kn || memcmp(line, map[i].key, kn))
                continue;
            json_t *j;
            int64_t x;
            if (map[i].number) /* "[not set]", "" and UINT64_MAX (infinity) stay null */
                j = parse_i64(val, vn, &x) ? json_integer(x) : json_null();
            else
                j = vn ? fs_hp_string(val, vn) : json_null();
            ok = put(o, map[i].field, j, ok);
        }
    }
    if (!ok)
        return nomem(o, NULL, err);
    if (!json_is_string(json_object_get(o, "active_state")))
        return bad_output(o, NULL, err, "systemctl show printed no ActiveState");
    const char *ls = json_string_value(json_object_get(o, "load_state"));
    if (json_object_set_new(o, "found", json_boolean(!fs_streq(ls, "not-found"))) < 0)
        return nomem(o, NULL, err);
    *out = o;
    return 0;
}

/* ---- journalctl --disk-usage -------------------------------------------------------------- */

int fs_hp_journal_usage(const char *buf, size_t len, json_t **out, struct fs_err *err)
{
    *out = NULL;
    static const char marker[] = "take up ";
    const char *m = memmem(buf, len, marker, sizeof(marker) - 1);
    if (!m)
        return bad_output(NULL, NULL, err, "journalctl --disk-usage printed no \"take up\"");
    const char *p = m + sizeof(marker) - 1, *end = buf + len;
    const char *q = p;
    while (q < end && ((*q >= '0' && *q <= '9') || *q == '.'))
        q++;
    double num;
    if (q == end || !parse_dec(p, (size_t)(q - p), false, &num))
        return bad_output(NULL, NULL, err, "journalctl --disk-usage printed no size");
    static const char units[] = "BKMGTPE";
    const char *u = memchr(units, *q, sizeof(units) - 1);
    if (!u)
        return bad_output(NULL, NULL, err, "journalctl --disk-usage printed an unknown unit");
    double bytes = num * pow(1024.0, (double)(u - units));
    if (bytes > 9.2e18)
        return bad_output(NULL, NULL, err, "journalctl --disk-usage printed an absurd size");
    json_t *o = json_object();
    bool ok = o != NULL;
    ok = put(o, "bytes", json_integer((json_int_t)llround(bytes)), ok);
    ok = put(o, "human", fs_hp_string(p, (size_t)(q - p) + 1), ok);
    if (!ok)
        return nomem(o, NULL, err);
    *out = o;
    return 0;
}

/* ---- log lines ---------------------------------------------------------------------------- */

/* n bytes of s as a JSON string, cut at FS_HP_MAX_LINE bytes (on a UTF-8 boundary, so the kept
 * part stays whole characters) with a marker saying how much went; *cut says whether it was.
 * Reads at most FS_HP_MAX_LINE + 1 bytes of s. */
static json_t *capped_string(const char *s, size_t n, bool *cut)
{
    *cut = n > FS_HP_MAX_LINE;
    if (!*cut)
        return fs_hp_string(s, n);
    size_t k = FS_HP_MAX_LINE;
    while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
        k--;
    char tmp[FS_HP_MAX_LINE + 64];
    memcpy(tmp, s, k);
    int m = snprintf(tmp + k, sizeof(tmp) - k, " [... %zu bytes cut]", n - k);
    return fs_hp_string(tmp, k + (size_t)m);
}

/* The counts every log-lines result carries, then the result handed over. */
static int finish_lines(json_t *res, int64_t read, int64_t matched, int64_t cut, json_t **out,
                        struct fs_err *err)
{
    bool ok = true;
    ok = put(res, "lines_read", json_integer(read), ok);
    ok = put(res, "lines_matched", json_integer(matched), ok);
    ok = put(res, "lines_cut", json_integer(cut), ok);
    if (!ok)
        return nomem(res, NULL, err);
    *out = res;
    return 0;
}

int fs_hp_lines(const char *buf, size_t len, const char *filter, json_t **out, struct fs_err *err)
{
    *out = NULL;
    size_t fl = filter ? strlen(filter) : 0;
    json_t *res = json_object(), *arr = json_array();
    if (!res || !arr || json_object_set_new(res, "lines", arr) < 0)
        return nomem(res, res ? NULL : arr, err);
    size_t pos = 0, n;
    const char *line;
    int64_t read = 0, matched = 0, cut = 0;
    while (next_rec(buf, len, &pos, '\n', &line, &n)) {
        read++;
        if (fl && !memmem(line, n, filter, fl))
            continue;
        matched++;
        bool was_cut;
        json_t *s = capped_string(line, n, &was_cut);
        cut += was_cut;
        if (!s || json_array_append_new(arr, s) < 0)
            return nomem(res, NULL, err);
    }
    return finish_lines(res, read, matched, cut, out, err);
}

/* ---- journalctl -o short-iso -------------------------------------------------------------- */

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* Length of the ISO 8601 stamp short-iso prints at the start of s ("2026-11-21T10:12:03+0000";
 * also a fraction, "+00:00" or "Z"), or 0. */
static size_t iso_stamp(const char *s, size_t n)
{
    if (n < 20 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
        !digits(s + 8, 2) || s[10] != 'T' || !digits(s + 11, 2) || s[13] != ':' ||
        !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2))
        return 0;
    size_t i = 19;
    if (i < n && s[i] == '.') {
        size_t f = ++i;
        while (i < n && i - f < 9 && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == f)
            return 0;
    }
    if (i < n && s[i] == 'Z')
        return i + 1;
    if (i + 5 <= n && (s[i] == '+' || s[i] == '-') && digits(s + i + 1, 2)) {
        if (digits(s + i + 3, 2))
            return i + 5;
        if (i + 6 <= n && s[i + 3] == ':' && digits(s + i + 4, 2))
            return i + 6;
    }
    return 0;
}

/* One journal entry as it is read: its first line's fields, its message growing by the
 * continuation lines journalctl indents below it. */
struct jentry {
    bool open;      /* an entry is being read */
    bool match;     /* one of its lines holds the filter */
    json_t *fields; /* {time, host, ident, pid} of a parsed line, NULL for a raw one */
    size_t indent;  /* where the message starts on the first line: continuation indentation */
    char text[FS_HP_MAX_LINE + 1]; /* the message (or the raw line), its first bytes */
    size_t n; /* its whole length, of which text holds the first FS_HP_MAX_LINE + 1 */
};

static void jentry_add(struct jentry *e, const char *s, size_t n)
{
    if (e->n < sizeof(e->text))
        memcpy(e->text + e->n, s, FS_MIN(n, sizeof(e->text) - e->n));
    e->n += n;
}

/* The fields of a short-iso line: "TIME HOST IDENT[PID]: MESSAGE", "TIME HOST IDENT: MESSAGE"
 * (the kernel's), or "TIME HOST MESSAGE" when the entry has no identifier. NULL when the line
 * is not one (or out of memory: *nomem). *msg is where the message starts. */
static json_t *jfields(const char *line, size_t n, size_t *msg, bool *oom)
{
    size_t t = iso_stamp(line, n);
    if (!t || t >= n || line[t] != ' ')
        return NULL;
    size_t h = t + 1, he = h;
    while (he < n && line[he] != ' ')
        he++;
    if (he == h || he >= n)
        return NULL;
    size_t r = he + 1, ie = r, is = n, ps = 0, pe = 0;
    /* the identifier: no space before the first ": " (or a final ":") */
    while (ie < n && line[ie] != ' ' && !(line[ie] == ':' && (ie + 1 == n || line[ie + 1] == ' ')))
        ie++;
    bool has_ident = ie < n && line[ie] == ':' && ie > r;
    int64_t pid = -1;
    if (has_ident) {
        is = ie;
        const char *lb = memchr(line + r, '[', ie - r);
        if (lb && line[ie - 1] == ']' && lb > line + r) {
            ps = (size_t)(lb - line) + 1;
            pe = ie - 1;
            if (parse_i64(line + ps, pe - ps, &pid))
                is = ps - 1;
            else
                pid = -1;
        }
        *msg = ie + 1 < n ? ie + 2 : n;
    } else {
        *msg = r;
    }
    json_t *o = json_object();
    bool ok = o != NULL;
    ok = put(o, "time", fs_hp_string(line, t), ok);
    ok = put(o, "host", fs_hp_string(line + h, he - h), ok);
    ok = put(o, "ident", has_ident ? fs_hp_string(line + r, is - r) : json_null(), ok);
    ok = put(o, "pid", pid >= 0 ? json_integer(pid) : json_null(), ok);
    if (!ok) {
        json_decref(o);
        *oom = true;
        return NULL;
    }
    return o;
}

/* Append e to arr when it matched; close it. <0 when out of memory. */
static int jentry_flush(struct jentry *e, json_t *arr, int64_t *matched, int64_t *cut)
{
    if (!e->open)
        return 0;
    e->open = false;
    json_t *o = e->fields ? e->fields : json_object();
    e->fields = NULL;
    if (!o)
        return -FS_E_NOMEM;
    if (!e->match) {
        json_decref(o);
        return 0;
    }
    bool was_cut;
    json_t *s = capped_string(e->text, e->n, &was_cut);
    if (!s || json_object_set_new(o, json_object_size(o) ? "message" : "raw", s) < 0 ||
        json_array_append_new(arr, o) < 0) {
        json_decref(o);
        return -FS_E_NOMEM;
    }
    (*matched)++;
    *cut += was_cut;
    return 0;
}

int fs_hp_journal_lines(const char *buf, size_t len, const char *filter, json_t **out,
                        struct fs_err *err)
{
    *out = NULL;
    size_t fl = filter ? strlen(filter) : 0;
    json_t *res = json_object(), *arr = json_array();
    if (!res || !arr || json_object_set_new(res, "lines", arr) < 0)
        return nomem(res, res ? NULL : arr, err);
    struct jentry *e = fs_calloc(1, sizeof(*e));
    if (!e)
        return nomem(res, NULL, err);
    size_t pos = 0, n;
    const char *line;
    int64_t read = 0, matched = 0, cut = 0;
    int rc = 0;
    while (rc == 0 && next_rec(buf, len, &pos, '\n', &line, &n)) {
        bool hit = !fl || memmem(line, n, filter, fl);
        if (e->open && n > 0 && line[0] == ' ') {
            /* a continuation of a multi-line message, indented under its first line */
            size_t k = 0;
            while (k < n && k < e->indent && line[k] == ' ')
                k++;
            jentry_add(e, "\n", 1);
            jentry_add(e, line + k, n - k);
            e->match = e->match || hit;
            continue;
        }
        rc = jentry_flush(e, arr, &matched, &cut);
        /* journalctl's own notes: "-- No entries --", "-- Boot 1f2e... --" */
        if (rc < 0 || (n >= 6 && !memcmp(line, "-- ", 3) && !memcmp(line + n - 3, " --", 3)) ||
            blank(line, n))
            continue;
        read++;
        bool oom = false;
        size_t msg = 0;
        e->fields = jfields(line, n, &msg, &oom);
        if (oom) {
            rc = -FS_E_NOMEM;
            break;
        }
        if (!e->fields)
            msg = 0;
        e->open = true;
        e->match = hit;
        e->indent = msg;
        e->n = 0;
        jentry_add(e, line + msg, n - msg);
    }
    if (rc == 0)
        rc = jentry_flush(e, arr, &matched, &cut);
    json_decref(e->fields);
    free(e);
    if (rc < 0)
        return nomem(res, NULL, err);
    return finish_lines(res, read, matched, cut, out, err);
}

/* ---- ss ----------------------------------------------------------------------------------- */

static bool is_state(const struct tok *t)
{
    static const char *const states[] = {"LISTEN", "UNCONN", "ESTAB", NULL};
    for (const char *const *s = states; *s; s++)
        if (t->n == strlen(*s) && !memcmp(t->s, *s, t->n))
            return true;
    return false;
}

/* "0.0.0.0:22", "[::]:22", "127.0.0.53%lo:53", "*:68", "[fe80::1]%eth0:546" */
static json_t *ss_sock(const struct tok *proto, const struct tok *state, const struct tok *local)
{
    const char *s = local->s;
    size_t n = local->n;
    const char *colon = NULL;
    for (size_t i = n; i > 0; i--)
        if (s[i - 1] == ':') {
            colon = s + i - 1;
            break;
        }
    if (!colon || colon == s)
        return json_null();
    const char *ps = colon + 1;
    size_t pn = (size_t)(s + n - ps);
    int64_t port = -1;
    if (!(pn == 1 && ps[0] == '*') && (!parse_i64(ps, pn, &port) || port > 65535))
        return json_null();
    size_t an = (size_t)(colon - s);
    const char *pct = memchr(s, '%', an);
    const char *ifname = NULL;
    size_t ifn = 0;
    if (pct) {
        ifname = pct + 1;
        ifn = an - (size_t)(pct + 1 - s);
        an = (size_t)(pct - s);
    }
    const char *a = s;
    if (an >= 2 && a[0] == '[' && a[an - 1] == ']') {
        a++;
        an -= 2;
    }
    if (an == 0)
        return json_null();
    json_t *o = json_object();
    bool ok = o != NULL;
    ok = put(o, "proto", proto ? fs_hp_string(proto->s, proto->n) : json_null(), ok);
    ok = put(o, "state", fs_hp_string(state->s, state->n), ok);
    ok = put(o, "address", fs_hp_string(a, an), ok);
    ok = put(o, "port", port >= 0 ? json_integer(port) : json_null(), ok);
    if (ifname && ifn)
        ok = put(o, "interface", fs_hp_string(ifname, ifn), ok);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int fs_hp_ss(const char *buf, size_t len, json_t **out, struct fs_err *err)
{
    *out = NULL;
    json_t *res = json_object(), *arr = json_array();
    if (!res || !arr || json_object_set_new(res, "sockets", arr) < 0)
        return nomem(res, res ? NULL : arr, err);
    size_t pos = 0, n;
    const char *line;
    int64_t unparsed = 0;
    while (next_rec(buf, len, &pos, '\n', &line, &n)) {
        struct tok t[8];
        size_t nt = tokenize(line, n, t, 8);
        if (nt == 0)
            continue;
        if ((t[0].n == 5 && !memcmp(t[0].s, "Netid", 5)) ||
            (t[0].n == 5 && !memcmp(t[0].s, "State", 5)))
            continue; /* a header from an ss without -H */
        json_t *o;
        if (nt >= 6 && is_state(&t[1]))
            o = ss_sock(&t[0], &t[1], &t[4]);
        else if (nt >= 5 && is_state(&t[0]))
            o = ss_sock(NULL, &t[0], &t[3]);
        else
            o = json_null();
        if (!o)
            return nomem(res, NULL, err);
        if (json_is_null(o)) {
            unparsed++;
            continue;
        }
        if (json_array_append_new(arr, o) < 0)
            return nomem(res, NULL, err);
    }
    if (json_object_set_new(res, "unparsed", json_integer(unparsed)) < 0)
        return nomem(res, NULL, err);
    *out = res;
    return 0;
}

/* ---- PEM certificates --------------------------------------------------------------------- */

static json_t *name_json(const X509_NAME *nm)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (!b)
        return NULL;
    X509_NAME_print_ex(b, nm, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    char *p;
    long n = BIO_get_mem_data(b, &p);
    json_t *j =
        n > 0 ? fs_hp_string(p, (size_t)FS_MIN(n, 1024)) : json_string(""); /* empty: p is NULL */
    BIO_free(b);
    return j;
}

static bool asn1_ms(const ASN1_TIME *t, int64_t *ms)
{
    struct tm tm;
    if (!t || !ASN1_TIME_to_tm(t, &tm))
        return false;
    time_t s = timegm(&tm);
    if (s == (time_t)-1 && tm.tm_year != 69)
        return false;
    *ms = (int64_t)s * 1000;
    return true;
}

static json_t *cert_json(X509 *x, int64_t now_ms, int64_t *not_after)
{
    int64_t nb, na;
    if (!asn1_ms(X509_get0_notBefore(x), &nb) || !asn1_ms(X509_get0_notAfter(x), &na))
        return json_null();
    char tb[40], ta[40], serial[80] = "";
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    if (hex)
        snprintf(serial, sizeof(serial), "%s", hex);
    OPENSSL_free(hex);
    BN_free(bn);
    /* whole days left, rounded down; negative once expired */
    int64_t left_ms = na - now_ms;
    int64_t days = left_ms >= 0 ? left_ms / 86400000 : -((-left_ms + 86399999) / 86400000);
    json_t *o = json_object();
    bool ok = o != NULL;
    ok = put(o, "subject", name_json(X509_get_subject_name(x)), ok);
    ok = put(o, "issuer", name_json(X509_get_issuer_name(x)), ok);
    ok = put(o, "serial", json_string(serial), ok);
    ok = put(o, "not_before", json_string(fs_time_format(nb, tb, sizeof(tb))), ok);
    ok = put(o, "not_after", json_string(fs_time_format(na, ta, sizeof(ta))), ok);
    ok = put(o, "days_left", json_integer(days), ok);
    ok = put(o, "expired", json_boolean(na <= now_ms), ok);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    *not_after = na;
    return o;
}

int fs_hp_pem(const char *buf, size_t len, int64_t now_ms, json_t **out, struct fs_err *err)
{
    *out = NULL;
    if (len > INT32_MAX)
        return bad_output(NULL, NULL, err, "PEM input too large");
    BIO *bio = BIO_new_mem_buf(buf, (int)len);
    json_t *res = json_object(), *arr = json_array();
    if (!bio || !res || !arr || json_object_set_new(res, "certificates", arr) < 0) {
        BIO_free(bio);
        return nomem(res, res ? NULL : arr, err);
    }
    int64_t earliest = INT64_MAX;
    int64_t unreadable = 0;
    for (int i = 0; i < FS_HP_MAX_CERTS; i++) {
        X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        if (!x)
            break;
        int64_t na = 0;
        json_t *c = cert_json(x, now_ms, &na);
        X509_free(x);
        if (!c) {
            BIO_free(bio);
            return nomem(res, NULL, err);
        }
        if (json_is_null(c)) {
            unreadable++;
            continue;
        }
        if (json_array_append_new(arr, c) < 0) {
            BIO_free(bio);
            return nomem(res, NULL, err);
        }
        earliest = FS_MIN(earliest, na);
    }
    BIO_free(bio);
    ERR_clear_error(); /* the end of the input is reported as an error; it is not one */
    if (json_array_size(arr) == 0)
        return bad_output(res, NULL, err, "no PEM certificate found");
    char te[40];
    int64_t left_ms = earliest - now_ms;
    int64_t days = left_ms >= 0 ? left_ms / 86400000 : -((-left_ms + 86399999) / 86400000);
    bool ok = true;
    ok = put(res, "min_days_left", json_integer(days), ok);
    ok = put(res, "earliest_not_after", json_string(fs_time_format(earliest, te, sizeof(te))), ok);
    ok = put(res, "unreadable", json_integer(unreadable), ok);
    if (!ok)
        return nomem(res, NULL, err);
    *out = res;
    return 0;
}

/* ---- probes: one process, one file -------------------------------------------------------- */

static const char *state_name(char s)
{
    switch (s) {
    case 'R': return "running";
    case 'S': return "sleeping";
    case 'D': return "disk_sleep";
    case 'Z': return "zombie";
    case 'T': return "stopped";
    case 't': return "tracing_stop";
    case 'I': return "idle";
    case 'X': return "dead";
    case 'W': return "paging";
    default: return "unknown";
    }
}

int fs_hp_process(const char *buf, size_t len, json_t **out, struct fs_err *err)
{
    *out = NULL;
    size_t pos = 0, n;
    const char *line = NULL;
    bool found = false;
    while (next_rec(buf, len, &pos, '\n', &line, &n))
        if (!blank(line, n)) {
            found = true;
            break;
        }
    json_t *res = json_object();
    if (!res)
        return nomem(NULL, NULL, err);
    if (!found) { /* ps printed nothing: there is no such process */
        if (!put(res, "exists", json_false(), true))
            return nomem(res, NULL, err);
        *out = res;
        return 0;
    }
    struct tok t[8];
    size_t nt = tokenize(line, n, t, 8);
    int64_t pid, ppid, rss, et;
    double cpu;
    if (nt < 8 || !parse_i64(t[0].s, t[0].n, &pid) || !parse_i64(t[1].s, t[1].n, &ppid) ||
        t[3].n != 1 || !parse_dec(t[4].s, t[4].n, false, &cpu) ||
        !parse_i64(t[5].s, t[5].n, &rss) || rss > INT64_MAX / 1024 ||
        !parse_i64(t[6].s, t[6].n, &et))
        return bad_output(res, NULL, err,
                          "ps printed no \"pid ppid user state %cpu rss "
                          "etimes comm\" line");
    const char *cmd = t[7].s;
    bool ok = true;
    ok = put(res, "exists", json_true(), ok);
    ok = put(res, "pid", json_integer(pid), ok);
    ok = put(res, "ppid", json_integer(ppid), ok);
    ok = put(res, "user", fs_hp_string(t[2].s, t[2].n), ok);
    ok = put(res, "state", fs_hp_string(t[3].s, 1), ok);
    ok = put(res, "state_name", json_string(state_name(t[3].s[0])), ok);
    ok = put(res, "cmd", fs_hp_string(cmd, (size_t)(line + n - cmd)), ok);
    ok = put(res, "cpu_pct", json_real(cpu), ok);
    ok = put(res, "rss_bytes", json_integer(rss * 1024), ok);
    ok = put(res, "age_s", json_integer(et), ok);
    if (!ok)
        return nomem(res, NULL, err);
    *out = res;
    return 0;
}

/* Hex digits of a raw st_mode ("81a4"). */
static bool parse_hex_mode(const char *s, size_t n, unsigned *out)
{
    if (n == 0 || n > 8)
        return false;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                            : 16u;
        if (d > 15)
            return false;
        v = v << 4 | d;
    }
    *out = v;
    return true;
}

int fs_hp_stat(const char *buf, size_t len, json_t **out, struct fs_err *err)
{
    *out = NULL;
    size_t pos = 0, n;
    const char *line;
    if (!next_rec(buf, len, &pos, '\n', &line, &n))
        return bad_output(NULL, NULL, err, "stat printed nothing");
    /* tab-separated: raw mode (hex), size, permissions (octal), mtime (s), owner */
    struct tok t[5];
    size_t nt = 0, b = 0;
    for (size_t i = 0; i <= n && nt < 5; i++) {
        if (i == n || (line[i] == '\t' && nt < 4)) {
            t[nt].s = line + b;
            t[nt].n = i - b;
            nt++;
            b = i + 1;
        }
    }
    if (nt < 5)
        return bad_output(NULL, NULL, err, "stat printed no \"mode size perm mtime owner\" line");
    unsigned raw;
    int64_t size, mtime;
    uint64_t perm = 0;
    bool perm_ok = t[2].n >= 1 && t[2].n <= 4;
    for (size_t i = 0; perm_ok && i < t[2].n; i++) {
        perm_ok = t[2].s[i] >= '0' && t[2].s[i] <= '7';
        perm = perm * 8 + (uint64_t)(t[2].s[i] - '0');
    }
    if (!parse_hex_mode(t[0].s, t[0].n, &raw) || !parse_i64(t[1].s, t[1].n, &size) || !perm_ok ||
        !parse_i64(t[3].s, t[3].n, &mtime) || mtime > INT64_MAX / 1000)
        return bad_output(NULL, NULL, err, "stat printed no \"mode size perm mtime owner\" line");
    unsigned fmt = raw & 0170000;
    const char *type = fmt == 0100000   ? "file"
                       : fmt == 0040000 ? "dir"
                       : fmt == 0120000 ? "link"
                                        : "other";
    char mode[8];
    snprintf(mode, sizeof(mode), "%04o", (unsigned)perm);
    json_t *res = json_object();
    bool ok = res != NULL;
    ok = put(res, "exists", json_true(), ok);
    ok = put(res, "type", json_string(type), ok);
    ok = put(res, "size", json_integer(size), ok);
    ok = put(res, "mode", json_string(mode), ok);
    ok = put(res, "mtime_s", json_integer(mtime), ok);
    ok = put(res, "owner", fs_hp_string(t[4].s, t[4].n), ok);
    if (!ok)
        return nomem(res, NULL, err);
    *out = res;
    return 0;
}

int fs_hp_journal_files(const char *buf, size_t len, json_t **out, struct fs_err *err)
{
    *out = NULL;
    int64_t bytes = 0, archived = 0, files = 0, archived_files = 0;
    const char *p = buf, *end = buf + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *tab = memchr(p, '\t', (size_t)(le - p));
        uint64_t size;
        if (!tab || !parse_u64(p, (size_t)(tab - p), &size) || size > (uint64_t)INT64_MAX / 4)
            return bad_output(NULL, NULL, err, "find printed a line without \"size<TAB>name\"");
        const char *name = tab + 1;
        size_t nlen = (size_t)(le - name);
        /* archived: system@...journal or a damaged file renamed *.journal~ */
        bool arch = memchr(name, '@', nlen) != NULL || (nlen && name[nlen - 1] == '~');
        bytes += (int64_t)size;
        files++;
        if (arch) {
            archived += (int64_t)size;
            archived_files++;
        }
        p = nl ? nl + 1 : end;
    }
    json_t *o = json_object();
    bool ok = o != NULL;
    ok = put(o, "bytes", json_integer(bytes), ok);
    ok = put(o, "archived_bytes", json_integer(archived), ok);
    ok = put(o, "active_bytes", json_integer(bytes - archived), ok);
    ok = put(o, "files", json_integer(files), ok);
    ok = put(o, "archived_files", json_integer(archived_files), ok);
    if (!ok)
        return nomem(o, NULL, err);
    *out = o;
    return 0;
}

/* ---- apt-cache policy, crudini --get ------------------------------------------------------- */

/* A Debian version as dpkg accepts it: [epoch:]upstream[-revision], alphanumerics and . + - ~ :
 * only, at most 128 bytes. */
static bool deb_version(const char *s, size_t n)
{
    if (n == 0 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '.' || c == '+' || c == '-' || c == '~' || c == ':'))
            return false;
    }
    return true;
}

/* 2 when line is the header of package's own block ("bash:"), 1 when of the same name in
 * another architecture ("bash:i386:"), 0 otherwise. */
static int policy_header(const char *line, size_t n, const char *pkg, size_t pn)
{
    if (n < pn + 1 || memcmp(line, pkg, pn) != 0 || line[pn] != ':')
        return 0;
    if (n == pn + 1)
        return 2;
    if (n < pn + 3 || line[n - 1] != ':')
        return 0;
    for (size_t i = pn + 1; i < n - 1; i++)
        if (!((line[i] >= 'a' && line[i] <= 'z') || (line[i] >= '0' && line[i] <= '9') ||
              line[i] == '-'))
            return 0;
    return 1;
}

/* The value of an "  Installed: V" line of a block, as JSON (null for "(none)"). Returns 0, 1
 * when V is not a version, -FS_E_NOMEM. */
static int policy_version(const char *v, size_t n, json_t **out)
{
    while (n && is_space(*v))
        v++, n--;
    while (n && is_space(v[n - 1]))
        n--;
    if (n == 6 && memcmp(v, "(none)", 6) == 0) {
        *out = json_null();
        return 0;
    }
    if (!deb_version(v, n))
        return 1;
    *out = json_stringn(v, n);
    return *out ? 0 : -FS_E_NOMEM;
}

int fs_hp_apt_policy(const char *buf, size_t len, const char *package, json_t **out,
                     struct fs_err *err)
{
    *out = NULL;
    size_t pn = package ? strlen(package) : 0;
    if (pn == 0)
        return fs_err_set(err, FS_E_INVALID, NULL, "no package name");
    /* the best block: the native one, else one of another architecture */
    const char *blk = NULL;
    size_t blen = 0;
    int best = 0;
    size_t pos = 0, n;
    const char *line;
    const char *cur = NULL;
    int cur_rank = 0;
    while (next_rec(buf, len, &pos, '\n', &line, &n)) {
        if (n && !is_space(line[0])) {
            /* a header, or one of apt's notes ("N: ...", "W: ...", "E: ...") */
            if (cur && cur_rank > best) {
                best = cur_rank;
                blk = cur;
                blen = (size_t)(line - cur);
            }
            cur = NULL;
            cur_rank = policy_header(line, n, package, pn);
            if (cur_rank)
                cur = line + n;
        }
    }
    if (cur && cur_rank > best) {
        best = cur_rank;
        blk = cur;
        blen = (size_t)(buf + len - cur);
    }
    json_t *inst = NULL, *cand = NULL;
    if (best) {
        size_t bpos = 0;
        while (next_rec(blk, blen, &bpos, '\n', &line, &n)) {
            size_t i = 0;
            while (i < n && is_space(line[i]))
                i++;
            static const char ik[] = "Installed:", ck[] = "Candidate:";
            json_t **slot = NULL;
            size_t kl = 0;
            if (n - i >= sizeof(ik) - 1 && memcmp(line + i, ik, sizeof(ik) - 1) == 0)
                slot = &inst, kl = sizeof(ik) - 1;
            else if (n - i >= sizeof(ck) - 1 && memcmp(line + i, ck, sizeof(ck) - 1) == 0)
                slot = &cand, kl = sizeof(ck) - 1;
            if (!slot || *slot)
                continue; /* the version table, or a repeated line: the first one counts */
            int rc = policy_version(line + i + kl, n - i - kl, slot);
            if (rc == -FS_E_NOMEM)
                return nomem(inst, cand, err);
            if (rc > 0)
                return bad_output(inst, cand, err,
                                  "apt-cache policy printed a version that is not a Debian "
                                  "version");
        }
        if (!inst || !cand)
            return bad_output(inst, cand, err,
                              "apt-cache policy printed no \"Installed:\" and \"Candidate:\" "
                              "lines for the package");
    } else {
        inst = json_null();
        cand = json_null();
    }
    bool upgradable = json_is_string(inst) && json_is_string(cand) &&
                      strcmp(json_string_value(inst), json_string_value(cand)) != 0;
    json_t *o = json_object();
    bool ok = o != NULL;
    ok = put(o, "known", json_boolean(best != 0), ok);
    ok = put(o, "installed", inst, ok);
    ok = put(o, "candidate", cand, ok);
    ok = put(o, "upgradable", json_boolean(upgradable), ok);
    if (!ok)
        return nomem(o, NULL, err);
    *out = o;
    return 0;
}

int fs_hp_config_value(const char *buf, size_t len, json_t **out, struct fs_err *err)
{
    *out = NULL;
    if (len == 0)
        return bad_output(NULL, NULL, err, "crudini --get printed nothing");
    if (buf[len - 1] == '\n')
        len--;
    json_t *o = json_object();
    bool ok = o != NULL;
    ok = put(o, "exists", json_true(), ok);
    ok = put(o, "value", fs_hp_string(buf, len), ok);
    if (!ok)
        return nomem(o, NULL, err);
    *out = o;
    return 0;
}
