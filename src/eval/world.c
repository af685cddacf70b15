/* world: the simulated world of a scenario — loading the `world:` section of a scenario file
 * (docs/scenarios.md) into the model of world.h with every problem named by file, line and
 * key, freeing it, and the bookkeeping the simulator shares (hosts by name, the effect log).
 * What the programs and servers answer is in sim.c and sim_net.c. */
#include "core/common.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/diag.h"
#include "core/json.h"
#include "core/time.h"
#include "core/yaml.h"
#include "eval/world.h"
#include "tools/route.h"

#define DAY_MS (86400LL * 1000)
#define MAX_SERIES_FILES 200000 /* files one `count:` entry may stand for */
#define MAX_WORLD_FILES 400000

/* ---- loading ------------------------------------------------------------------------------ */

struct ld {
    const struct fs_yaml_doc *doc;
    struct fs_diag *d;
    int64_t now;
    bool nomem;
};

static int bad(struct ld *l, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad(struct ld *l, const char *path, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fs_diag_at(l->d, l->doc, path, "%s", msg);
    return -1;
}

static char *dup_or_flag(struct ld *l, const char *s)
{
    char *d = s ? fs_strdup(s) : NULL;
    if (s && !d)
        l->nomem = true;
    return d;
}

static void keypath(char *out, size_t size, const char *base, const char *key)
{
    fs_jpath_key(out, size, base, key);
}

static const char *get_str(struct ld *l, const json_t *o, const char *key, const char *base,
                           bool required)
{
    json_t *v = json_object_get(o, key);
    char p[512];
    keypath(p, sizeof(p), base, key);
    if (!v || json_is_null(v)) {
        if (required)
            bad(l, p, "required");
        return NULL;
    }
    if (json_is_string(v))
        return json_string_value(v);
    bad(l, p, "must be a string");
    return NULL;
}

static bool get_num(struct ld *l, const json_t *o, const char *key, const char *base, double *out)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return false;
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return true;
    }
    char p[512];
    keypath(p, sizeof(p), base, key);
    bad(l, p, "must be a number");
    return false;
}

static bool get_int(struct ld *l, const json_t *o, const char *key, const char *base, int64_t min,
                    int64_t max, int64_t *out)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return false;
    char p[512];
    keypath(p, sizeof(p), base, key);
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        bad(l, p, "must be an integer from %" PRId64 " to %" PRId64, min, max);
        return false;
    }
    *out = json_integer_value(v);
    return true;
}

static bool get_bool(struct ld *l, const json_t *o, const char *key, const char *base)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return false;
    if (json_is_boolean(v))
        return json_is_true(v);
    char p[512];
    keypath(p, sizeof(p), base, key);
    bad(l, p, "must be true or false");
    return false;
}

/* A size: a non-negative integer (bytes) or "10G", "512MiB" (core/time.h fs_size_parse). */
static bool size_of(struct ld *l, const json_t *v, const char *p, uint64_t *out)
{
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (uint64_t)json_integer_value(v);
        return true;
    }
    if (json_is_string(v) && fs_size_parse(json_string_value(v), out) == 0)
        return true;
    bad(l, p,
        "must be a size: bytes, or a number with K, M, G, T (powers of 1000) or KiB, MiB, "
        "GiB, TiB");
    return false;
}

static bool get_size(struct ld *l, const json_t *o, const char *key, const char *base,
                     uint64_t *out)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return false;
    char p[512];
    keypath(p, sizeof(p), base, key);
    return size_of(l, v, p, out);
}

/* An age or a duration: "3d", "90m", "1h30m" or seconds. */
static bool dur_of(struct ld *l, const json_t *v, const char *p, int64_t *ms)
{
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *ms = json_integer_value(v) * 1000;
        return true;
    }
    if (json_is_string(v) && fs_duration_parse(json_string_value(v), ms) == 0)
        return true;
    bad(l, p, "must be a duration such as 90s, 30m, 6h, 3d (or seconds)");
    return false;
}

static bool get_dur(struct ld *l, const json_t *o, const char *key, const char *base, int64_t *ms)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return false;
    char p[512];
    keypath(p, sizeof(p), base, key);
    return dur_of(l, v, p, ms);
}

/* An age range "2d..40d" (or one age): the oldest and youngest. */
static bool age_range(struct ld *l, const json_t *v, const char *p, int64_t *lo, int64_t *hi)
{
    const char *s = json_string_value(v);
    const char *dots = s ? strstr(s, "..") : NULL;
    if (!dots)
        return dur_of(l, v, p, lo) && ((*hi = *lo), true);
    char a[64];
    size_t n = (size_t)(dots - s);
    if (n >= sizeof(a) || fs_duration_parse(strncpy(a, s, n) ? (a[n] = '\0', a) : a, lo) < 0 ||
        fs_duration_parse(dots + 2, hi) < 0 || *hi < *lo) {
        bad(l, p, "must be an age (3d) or a range of ages, youngest first (2d..40d)");
        return false;
    }
    return true;
}

static bool abs_path(struct ld *l, const char *s, const char *p)
{
    if (!s || s[0] != '/' || strstr(s, "//") || strstr(s, "/./") || strstr(s, "/../") ||
        (strlen(s) > 1 && s[strlen(s) - 1] == '/')) {
        bad(l, p, "must be an absolute, normalised path");
        return false;
    }
    return true;
}

static bool check_keys(struct ld *l, const json_t *o, const char *p, const char *const *allowed)
{
    if (!json_is_object(o)) {
        bad(l, p, "must be a mapping");
        return false;
    }
    return fs_diag_unknown_keys(l->d, l->doc, o, p, allowed) == 0;
}

static void *grow(struct ld *l, void *arr, size_t n, size_t *cap, size_t elem)
{
    if (n < *cap)
        return arr;
    size_t nc = *cap ? *cap * 2 : 16;
    void *p = realloc(arr, nc * elem);
    if (!p) {
        l->nomem = true;
        return NULL;
    }
    memset((char *)p + *cap * elem, 0, (nc - *cap) * elem);
    *cap = nc;
    return p;
}

/* The start of a list section: arr must be a list (else a problem naming what it holds); an
 * array of its size (+1, zeroed) for the loaded items, or NULL (a problem, or out of memory). */
static void *list_begin(struct ld *l, const json_t *arr, const char *base, const char *what,
                        size_t elem)
{
    if (!json_is_array(arr)) {
        bad(l, base, "must be a list of %s", what);
        return NULL;
    }
    void *v = calloc(json_array_size(arr) + 1, elem);
    if (!v)
        l->nomem = true;
    return v;
}

/* The next element of a list section whose keys are all known (the others are reported and
 * skipped), with its path in p: for (size_t i = 0; list_next(...);). */
static bool list_next(struct ld *l, const json_t *arr, size_t *i, const char *base,
                      const char *const *keys, char *p, size_t psize, json_t **o)
{
    for (; *i < json_array_size(arr); (*i)++) {
        *o = json_array_get(arr, *i);
        snprintf(p, psize, "%s[%zu]", base, *i);
        if (check_keys(l, *o, p, keys)) {
            (*i)++;
            return true;
        }
    }
    return false;
}

static bool add_file(struct ld *l, struct fs_sim_host *h, const char *path, uint64_t size,
                     int64_t mtime)
{
    if (h->nfiles >= MAX_WORLD_FILES) {
        bad(l, "world", "more than %d files in one host", MAX_WORLD_FILES);
        return false;
    }
    void *p = grow(l, h->files, h->nfiles, &h->capfiles, sizeof(*h->files));
    if (!p)
        return false;
    h->files = p;
    struct fs_sim_file *f = &h->files[h->nfiles];
    if (!(f->path = dup_or_flag(l, path)))
        return false;
    f->size = size;
    f->mtime_ms = mtime;
    h->nfiles++;
    return true;
}

static void load_fs(struct ld *l, struct fs_sim_host *h, const json_t *arr, const char *base)
{
    static const char *const keys[] = {
        "mount",       "device",          "type", "size", "used", "reserved", "inodes",
        "inodes_used", "growth_per_hour", NULL};
    if (!(h->fs = list_begin(l, arr, base, "filesystems", sizeof(*h->fs))))
        return;
    char p[512];
    json_t *o;
    for (size_t i = 0; list_next(l, arr, &i, base, keys, p, sizeof(p), &o);) {
        struct fs_sim_fs *f = &h->fs[h->nfs++];
        const char *m = get_str(l, o, "mount", p, true);
        char mp[520];
        keypath(mp, sizeof(mp), p, "mount");
        if (m && !abs_path(l, m, mp))
            m = NULL;
        f->mount = dup_or_flag(l, m ? m : "/");
        const char *dev = get_str(l, o, "device", p, false);
        char defdev[32];
        snprintf(defdev, sizeof(defdev), "/dev/vd%c", (char)('a' + ((i - 1) % 26)));
        f->device = dup_or_flag(l, dev ? dev : defdev);
        const char *type = get_str(l, o, "type", p, false);
        f->type = dup_or_flag(l, type ? type : "ext4");
        char sp[520];
        keypath(sp, sizeof(sp), p, "size");
        bool sized = get_size(l, o, "size", p, &f->size);
        if (!json_object_get(o, "size"))
            bad(l, sp, "required");
        get_size(l, o, "used", p, &f->used);
        get_size(l, o, "reserved", p, &f->reserved);
        int64_t v = 0;
        if (get_int(l, o, "inodes", p, 0, INT64_MAX, &v))
            f->inodes = (uint64_t)v;
        if (get_int(l, o, "inodes_used", p, 0, INT64_MAX, &v))
            f->inodes_used = (uint64_t)v;
        uint64_t g = 0;
        if (get_size(l, o, "growth_per_hour", p, &g))
            f->growth_per_hour = (double)g;
        if (sized && f->used + f->reserved > f->size)
            bad(l, sp, "used + reserved is more than the size");
        if (f->inodes_used > f->inodes)
            bad(l, p, "inodes_used is more than inodes");
        for (size_t k = 0; k + 1 < h->nfs; k++)
            if (f->mount && h->fs[k].mount && !strcmp(f->mount, h->fs[k].mount))
                bad(l, mp, "%s is mounted twice", f->mount);
    }
}

static void load_files(struct ld *l, struct fs_sim_host *h, const json_t *arr, const char *base)
{
    static const char *const keys[] = {"path", "size", "age", "dir", "name", "count", NULL};
    if (!json_is_array(arr)) {
        bad(l, base, "must be a list of files");
        return;
    }
    char p[512];
    json_t *o;
    for (size_t i = 0; list_next(l, arr, &i, base, keys, p, sizeof(p), &o);) {
        char kp[520];
        uint64_t size = 0;
        get_size(l, o, "size", p, &size);
        if (!json_object_get(o, "size")) {
            keypath(kp, sizeof(kp), p, "size");
            bad(l, kp, "required");
        }
        int64_t lo = DAY_MS, hi = DAY_MS;
        json_t *age = json_object_get(o, "age");
        keypath(kp, sizeof(kp), p, "age");
        if (age && !age_range(l, age, kp, &lo, &hi))
            continue;
        const char *path = get_str(l, o, "path", p, false);
        if (path) {
            keypath(kp, sizeof(kp), p, "path");
            if (json_object_get(o, "dir") || json_object_get(o, "count"))
                bad(l, kp, "give either path (one file) or dir, name and count (a series)");
            else if (abs_path(l, path, kp))
                add_file(l, h, path, size, l->now - lo);
            continue;
        }
        const char *dir = get_str(l, o, "dir", p, true);
        const char *name = get_str(l, o, "name", p, true);
        int64_t count = 1;
        get_int(l, o, "count", p, 1, MAX_SERIES_FILES, &count);
        keypath(kp, sizeof(kp), p, "dir");
        if (!dir || !name || !abs_path(l, dir, kp))
            continue;
        if (strchr(name, '/') || (count > 1 && !strstr(name, "{i}"))) {
            keypath(kp, sizeof(kp), p, "name");
            bad(l, kp,
                "must be a file name without '/', with {i} where the number goes when "
                "count > 1");
            continue;
        }
        for (int64_t k = 0; k < count && !l->nomem; k++) {
            char fname[512], full[1100];
            const char *at = strstr(name, "{i}");
            if (at)
                snprintf(fname, sizeof(fname), "%.*s%" PRId64 "%s", (int)(at - name), name, k + 1,
                         at + 3);
            else
                snprintf(fname, sizeof(fname), "%s", name);
            snprintf(full, sizeof(full), "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", fname);
            /* ages spread evenly from the youngest (first) to the oldest (last) */
            int64_t a = count > 1 ? lo + (hi - lo) * k / (count - 1) : lo;
            if (!add_file(l, h, full, size, l->now - a))
                break;
        }
    }
}

static void load_dirs(struct ld *l, struct fs_sim_host *h, const json_t *arr, const char *base)
{
    static const char *const keys[] = {"path", "size", NULL};
    if (!(h->dirs = list_begin(l, arr, base, "directories", sizeof(*h->dirs))))
        return;
    char p[512];
    json_t *o;
    for (size_t i = 0; list_next(l, arr, &i, base, keys, p, sizeof(p), &o);) {
        char kp[520];
        const char *path = get_str(l, o, "path", p, true);
        keypath(kp, sizeof(kp), p, "path");
        if (!path || !abs_path(l, path, kp))
            continue;
        struct fs_sim_dir *d = &h->dirs[h->ndirs++];
        d->path = dup_or_flag(l, path);
        get_size(l, o, "size", p, &d->size);
    }
}

/* journal: {directory, archived, active, files, oldest} → the files journald keeps */
static void load_journal(struct ld *l, struct fs_sim_host *h, const json_t *o, const char *base)
{
    static const char *const keys[] = {"directory", "archived", "active", "files", "oldest", NULL};
    if (!check_keys(l, o, base, keys))
        return;
    const char *dir = get_str(l, o, "directory", base, false);
    char kp[520];
    keypath(kp, sizeof(kp), base, "directory");
    if (dir && !abs_path(l, dir, kp))
        return;
    h->journal_dir = dup_or_flag(l, dir ? dir : "/var/log/journal");
    uint64_t archived = 0, active = 128ULL << 20;
    int64_t files = 0, oldest = 30 * DAY_MS;
    get_size(l, o, "archived", base, &archived);
    get_size(l, o, "active", base, &active);
    get_int(l, o, "files", base, 0, 10000, &files);
    get_dur(l, o, "oldest", base, &oldest);
    if (archived && !files)
        files = (int64_t)FS_MAX(1, archived / (128ULL << 20));
    if (files && !archived)
        bad(l, base, "files without archived: how large are they?");
    /* journald keeps them in a directory named after the machine id */
    static const char mid[] = "4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a99";
    char path[1200];
    for (int64_t k = 0; k < files && !l->nomem; k++) {
        snprintf(path, sizeof(path), "%s/%s/system@8e1f0c5a%024" PRIx64 "-%016" PRIx64 ".journal",
                 h->journal_dir, mid, (uint64_t)k + 1, (uint64_t)k * 4096 + 1);
        int64_t age = files > 1 ? oldest - (oldest - DAY_MS) * k / (files - 1) : oldest;
        uint64_t sz = archived / (uint64_t)files + ((uint64_t)k < archived % (uint64_t)files);
        add_file(l, h, path, sz, l->now - age);
    }
    snprintf(path, sizeof(path), "%s/%s/system.journal", h->journal_dir, mid);
    add_file(l, h, path, active, l->now - 60000);
}

static void load_procs(struct ld *l, struct fs_sim_host *h, const json_t *arr, const char *base)
{
    static const char *const keys[] = {
        "pid",   "ppid",    "user",         "command",           "cpu", "mem", "rss", "age",
        "state", "service", "ignores_term", "mem_after_restart", NULL};
    if (!(h->procs = list_begin(l, arr, base, "processes", sizeof(*h->procs))))
        return;
    char p[512];
    json_t *o;
    for (size_t i = 0; list_next(l, arr, &i, base, keys, p, sizeof(p), &o);) {
        struct fs_sim_proc *pr = &h->procs[h->nprocs++];
        pr->pid = 1000 + (int64_t)i - 1; /* i is past this element */
        pr->ppid = 1;
        get_int(l, o, "pid", p, 1, 4194304, &pr->pid);
        get_int(l, o, "ppid", p, 0, 4194304, &pr->ppid);
        const char *user = get_str(l, o, "user", p, false);
        pr->user = dup_or_flag(l, user ? user : "root");
        pr->command = dup_or_flag(l, get_str(l, o, "command", p, true));
        get_num(l, o, "cpu", p, &pr->cpu_percent);
        get_num(l, o, "mem", p, &pr->mem_percent);
        uint64_t rss = 0;
        if (get_size(l, o, "rss", p, &rss))
            pr->rss = rss;
        else
            pr->rss = (uint64_t)(pr->mem_percent / 100.0 * (double)h->mem_total);
        int64_t age = DAY_MS;
        get_dur(l, o, "age", p, &age);
        pr->start_ms = l->now - age;
        const char *st = get_str(l, o, "state", p, false);
        pr->state =
            st && strchr("RSDZTI", st[0]) && st[0] ? st[0] : (pr->cpu_percent >= 50 ? 'R' : 'S');
        pr->service = dup_or_flag(l, get_str(l, o, "service", p, false));
        pr->ignores_term = get_bool(l, o, "ignores_term", p);
        pr->mem_after = pr->mem_percent / 10;
        get_num(l, o, "mem_after_restart", p, &pr->mem_after);
        for (size_t k = 0; k + 1 < h->nprocs; k++)
            if (h->procs[k].pid == pr->pid)
                bad(l, p, "pid %" PRId64 " is used twice", pr->pid);
    }
}

static const char *sub_state_for(const char *active)
{
    if (!strcmp(active, "active"))
        return "running";
    if (!strcmp(active, "failed"))
        return "failed";
    if (!strcmp(active, "activating"))
        return "auto-restart";
    return "dead";
}

static void load_services(struct ld *l, struct fs_sim_host *h, const json_t *arr, const char *base)
{
    static const char *const keys[] = {"unit",          "state",       "sub_state", "load_state",
                                       "restarts",      "exit_status", "memory",    "since",
                                       "restart_fails", "env",         "owner",     NULL};
    static const char *const states[] = {"active",       "failed",    "inactive", "activating",
                                         "deactivating", "reloading", NULL};
    if (!(h->services = list_begin(l, arr, base, "services", sizeof(*h->services))))
        return;
    char p[512];
    json_t *o;
    for (size_t i = 0; list_next(l, arr, &i, base, keys, p, sizeof(p), &o);) {
        char kp[520];
        struct fs_sim_service *s = &h->services[h->nservices++];
        const char *unit = get_str(l, o, "unit", p, true);
        s->unit = dup_or_flag(l, unit ? unit : "unknown.service");
        const char *st = get_str(l, o, "state", p, false);
        bool known = !st;
        for (size_t k = 0; st && states[k]; k++)
            known |= !strcmp(st, states[k]);
        keypath(kp, sizeof(kp), p, "state");
        if (!known)
            bad(l, kp,
                "must be one of active, failed, inactive, activating, deactivating, "
                "reloading");
        s->active_state = dup_or_flag(l, st && known ? st : "active");
        const char *sub = get_str(l, o, "sub_state", p, false);
        s->sub_state = dup_or_flag(l, sub ? sub : sub_state_for(s->active_state));
        const char *ls = get_str(l, o, "load_state", p, false);
        s->load_state = dup_or_flag(l, ls ? ls : "loaded");
        get_int(l, o, "restarts", p, 0, INT32_MAX, &s->restarts);
        get_int(l, o, "exit_status", p, 0, 255, &s->exit_status);
        get_size(l, o, "memory", p, &s->memory);
        int64_t since = 2 * DAY_MS;
        get_dur(l, o, "since", p, &since);
        s->active_since_ms = l->now - since;
        s->restart_fails = get_bool(l, o, "restart_fails", p);
    }
}

/* a certificate: on a host (path) or a TLS endpoint (host, port) */
static bool load_cert(struct ld *l, struct fs_sim_cert *c, const json_t *o, const char *p,
                      bool endpoint)
{
    static const char *const file_keys[] = {"path",    "subject",     "issuer", "days_left",
                                            "certbot", "renew_fails", NULL};
    static const char *const ep_keys[] = {"host", "port", "subject", "issuer", "days_left", NULL};
    if (!check_keys(l, o, p, endpoint ? ep_keys : file_keys))
        return false;
    char kp[520];
    if (endpoint) {
        c->host = dup_or_flag(l, get_str(l, o, "host", p, true));
        c->port = 443;
        get_int(l, o, "port", p, 1, 65535, &c->port);
    } else {
        const char *path = get_str(l, o, "path", p, true);
        keypath(kp, sizeof(kp), p, "path");
        if (!path || !abs_path(l, path, kp))
            return false;
        c->path = dup_or_flag(l, path);
        const char *cb = get_str(l, o, "certbot", p, false);
        const char *live = "/etc/letsencrypt/live/";
        char name[256] = "";
        if (!strncmp(path, live, strlen(live)))
            snprintf(name, sizeof(name), "%.*s", (int)strcspn(path + strlen(live), "/"),
                     path + strlen(live));
        c->certbot_name = dup_or_flag(l, cb ? cb : (name[0] ? name : NULL));
        c->renew_fails = get_bool(l, o, "renew_fails", p);
    }
    const char *subj = get_str(l, o, "subject", p, false);
    char defsubj[300];
    snprintf(defsubj, sizeof(defsubj), "CN=%s",
             endpoint ? (c->host ? c->host : "localhost")
                      : (c->certbot_name ? c->certbot_name : "localhost"));
    c->subject = dup_or_flag(l, subj ? subj : defsubj);
    const char *iss = get_str(l, o, "issuer", p, false);
    c->issuer = dup_or_flag(l, iss ? iss : "C=US, O=Let's Encrypt, CN=R11");
    double days = 60;
    keypath(kp, sizeof(kp), p, "days_left");
    if (!get_num(l, o, "days_left", p, &days))
        bad(l, kp, "required");
    c->not_after_ms = l->now + (int64_t)llround(days * (double)DAY_MS);
    c->not_before_ms = c->not_after_ms - 90 * DAY_MS;
    return true;
}

static void load_certs(struct ld *l, struct fs_sim_host *h, const json_t *v, const char *kp)
{
    if ((h->certs = list_begin(l, v, kp, "certificates", sizeof(*h->certs)))) {
        size_t i;
        json_t *c;
        json_array_foreach(v, i, c)
        {
            char cp[560];
            snprintf(cp, sizeof(cp), "%s[%zu]", kp, i);
            if (load_cert(l, &h->certs[h->ncerts], c, cp, false)) {
                add_file(l, h, h->certs[h->ncerts].path, 1900, l->now - 30 * DAY_MS);
                h->ncerts++;
            }
        }
    }
}

/* ---- logs and the kernel's OOM kills ----------------------------------------------------- */

/* The log at path on h, made empty when it is not there yet; NULL when out of memory. */
static struct fs_sim_log *log_at(struct ld *l, struct fs_sim_host *h, const char *path)
{
    for (size_t k = 0; k < h->nlogs; k++)
        if (!strcmp(h->logs[k].path, path))
            return &h->logs[k];
    void *p = grow(l, h->logs, h->nlogs, &h->caplogs, sizeof(*h->logs));
    if (!p)
        return NULL;
    h->logs = p;
    struct fs_sim_log *g = &h->logs[h->nlogs];
    if (!(g->path = dup_or_flag(l, path)))
        return NULL;
    h->nlogs++;
    return g;
}

/* Append one formatted line to g. */
static void log_add(struct ld *l, struct fs_sim_log *g, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void log_add(struct ld *l, struct fs_sim_log *g, const char *fmt, ...)
{
    void *p = grow(l, g->lines, g->n, &g->cap, sizeof(*g->lines));
    if (!p)
        return;
    g->lines = p;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *line = n >= 0 ? fs_malloc((size_t)n + 1) : NULL;
    if (!line) {
        l->nomem = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(line, (size_t)n + 1, fmt, ap);
    va_end(ap);
    g->lines[g->n++] = line;
}

/* journalctl -p's names, most severe first: a priority is its index. */
static const char *const prio_names[] = {"emerg",   "alert",  "crit", "err",
                                         "warning", "notice", "info", "debug"};
#define PRIO_NOTICE 5
#define PRIO_INFO 6

/* One entry for h's journal (ident: identn bytes, or NULL). */
static void jentry_add(struct ld *l, struct fs_sim_host *h, int64_t t_ms, const char *ident,
                       size_t identn, int64_t pid, const char *unit, int prio, bool kernel,
                       const char *message)
{
    void *p = grow(l, h->jentries, h->njentries, &h->capjentries, sizeof(*h->jentries));
    if (!p)
        return;
    h->jentries = p;
    struct fs_sim_jentry *e = &h->jentries[h->njentries];
    e->t_ms = t_ms;
    e->ident = ident ? fs_strndup(ident, identn) : NULL;
    e->unit = dup_or_flag(l, unit);
    e->message = dup_or_flag(l, message);
    if ((ident && !e->ident) || !e->message) {
        l->nomem = true;
        free(e->ident);
        free(e->unit);
        free(e->message);
        return;
    }
    e->pid = pid;
    e->priority = prio;
    e->kernel = kernel;
    e->seq = h->njentries++;
}

/* A syslog line's text after the host name, as a journal entry: "IDENT[PID]: MESSAGE",
 * "IDENT: MESSAGE", or a MESSAGE without an identifier. The kernel's lines ("kernel: [ 2.1]
 * ...") lose the kernel's clock, which the journal keeps in a field of its own. */
static void journal_text(struct ld *l, struct fs_sim_host *h, int64_t t_ms, const char *unit,
                         int prio, const char *text)
{
    size_t n = strcspn(text, " :");
    const char *ident = NULL, *msg = text;
    size_t identn = 0;
    int64_t pid = 0;
    if (n > 0 && text[n] == ':' && (text[n + 1] == ' ' || !text[n + 1])) {
        ident = text;
        identn = n;
        msg = text + n + (text[n + 1] ? 2 : 1);
        const char *lb = memchr(text, '[', n);
        if (lb && lb > text && text[n - 1] == ']') {
            char *end = NULL;
            long long v = strtoll(lb + 1, &end, 10);
            if (end == text + n - 1 && v > 0) {
                pid = v;
                identn = (size_t)(lb - text);
            }
        }
    }
    bool kernel = ident && identn == 6 && !memcmp(ident, "kernel", 6);
    if (kernel && msg[0] == '[' && strchr(msg, ']')) {
        msg = strchr(msg, ']') + 1;
        while (*msg == ' ')
            msg++;
    }
    jentry_add(l, h, t_ms, ident, identn, pid, unit, prio, kernel, msg);
}

static int jentry_by_time(const void *a, const void *b)
{
    const struct fs_sim_jentry *x = a, *y = b;
    if (x->t_ms != y->t_ms)
        return x->t_ms < y->t_ms ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* What rsyslog writes before a message in its file format (Debian's default), in UTC:
 * "2026-11-21T10:12:03.123456+00:00 web-1 ". */
static void syslog_stamp(char *out, size_t size, int64_t t_ms, const char *host)
{
    if (t_ms < 0) /* an age from before 1970: the epoch will do */
        t_ms = 0;
    time_t t = (time_t)(t_ms / 1000);
    struct tm tm = {0};
    char d[32] = "1970-01-01T00:00:00";
    if (gmtime_r(&t, &tm))
        strftime(d, sizeof(d), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, size, "%s.%06d+00:00 %s ", d, (int)(t_ms % 1000) * 1000, host);
}

/* logs: path → [line, ...]; a line is text as tail prints it, or {ago, text, unit, priority}:
 * text logged that long ago, after the timestamp and host name rsyslog writes, and an entry of
 * the journal too (unit and priority are the journal's fields). The path "journal" is the
 * journal alone: entries no file holds. */
static void load_logs(struct ld *l, struct fs_sim_host *h, const json_t *v, const char *kp)
{
    static const char *const lkeys[] = {"ago", "text", "unit", "priority", NULL};
    if (!json_is_object(v)) {
        bad(l, kp, "must be a mapping of log file path → list of lines");
        return;
    }
    const char *path;
    json_t *lines;
    json_object_foreach((json_t *)v, path, lines)
    {
        char lp[1100];
        fs_jpath_key(lp, sizeof(lp), kp, path);
        bool journal_only = !strcmp(path, "journal");
        if (!journal_only && !abs_path(l, path, lp))
            continue;
        if (!json_is_array(lines)) {
            bad(l, lp, "must be a list of lines (text, or {ago, text})");
            continue;
        }
        struct fs_sim_log *g = journal_only ? NULL : log_at(l, h, path);
        if (!journal_only && !g)
            return;
        size_t k;
        json_t *line;
        json_array_foreach(lines, k, line)
        {
            char ep[1120];
            snprintf(ep, sizeof(ep), "%s[%zu]", lp, k);
            if (json_is_string(line) && !journal_only) {
                log_add(l, g, "%s", json_string_value(line));
                continue;
            }
            if (journal_only && !json_is_object(line)) {
                bad(l, ep, "must be {ago, text}: a journal entry has a time");
                continue;
            }
            if (!json_is_object(line)) {
                bad(l, ep, "must be a string or {ago, text}");
                continue;
            }
            if (!check_keys(l, line, ep, lkeys))
                continue;
            int64_t ago = 0;
            if (!get_dur(l, line, "ago", ep, &ago) && !json_object_get(line, "ago")) {
                char ap[1140];
                keypath(ap, sizeof(ap), ep, "ago");
                bad(l, ap, "required");
            }
            const char *text = get_str(l, line, "text", ep, true);
            const char *unit = get_str(l, line, "unit", ep, false);
            const char *prio = get_str(l, line, "priority", ep, false);
            int pr = PRIO_INFO;
            if (prio) {
                for (pr = 0; pr < (int)FS_ARRAY_LEN(prio_names); pr++)
                    if (!strcmp(prio_names[pr], prio))
                        break;
                if (pr == (int)FS_ARRAY_LEN(prio_names)) {
                    char pp[1140];
                    keypath(pp, sizeof(pp), ep, "priority");
                    bad(l, pp,
                        "must be one of emerg, alert, crit, err, warning, notice, info, "
                        "debug");
                    continue;
                }
            }
            if (!text)
                continue;
            char stamp[400];
            syslog_stamp(stamp, sizeof(stamp), l->now - ago, h->name);
            if (g)
                log_add(l, g, "%s%s", stamp, text);
            journal_text(l, h, l->now - ago, unit, pr, text);
        }
    }
}

struct oom_kill {
    int64_t t_ms, pid, uid;
    uint64_t rss, limit; /* limit 0: the host ran out of memory, not a cgroup */
    const char *process, *log;
    char cgroup[300];
};

static int oom_by_time(const void *a, const void *b)
{
    const struct oom_kill *x = a, *y = b;
    return x->t_ms < y->t_ms ? -1 : x->t_ms > y->t_ms;
}

/* One line of an OOM report: in the log file g (after the stamp and the kernel's clock, kp) when
 * there is one, and as the kernel's entry in the journal. */
static void oom_line(struct ld *l, struct fs_sim_host *h, struct fs_sim_log *g, const char *kp,
                     int64_t t_ms, int prio, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
static void oom_line(struct ld *l, struct fs_sim_host *h, struct fs_sim_log *g, const char *kp,
                     int64_t t_ms, int prio, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (g)
        log_add(l, g, "%s %s", kp, msg);
    jentry_add(l, h, t_ms, "kernel", 6, 0, NULL, prio, true, msg);
}

/* The lines a Linux 6.1 kernel logs for one OOM kill, as rsyslog writes them to kern.log (and
 * journald keeps them, without the kernel's clock): who invoked the killer, the cgroup's usage
 * and limit (a memory cgroup's kill) or Mem-Info (the host's), the task table, the oom-kill
 * summary and the "Killed process" line; then, for a unit's process, what systemd logs about
 * the unit (journal only). */
static void oom_emit(struct ld *l, struct fs_sim_host *h, const struct oom_kill *k)
{
    struct fs_sim_log *g = NULL;
    if (strcmp(k->log, "journal") && !(g = log_at(l, h, k->log)))
        return;
    char pre[600];
    syslog_stamp(pre, sizeof(pre), k->t_ms, h->name);
    /* the kernel's own clock: seconds since a boot 40 days before the scenario */
    int64_t up = k->t_ms - (l->now - FS_SIM_UPTIME_MS);
    char kp[700];
    snprintf(kp, sizeof(kp), "%skernel: [%6" PRId64 ".%06d]", pre, up / 1000,
             (int)(up % 1000) * 1000);
    uint64_t rss_kb = k->rss / 1024, vm_kb = rss_kb * 2 + 65536, file_kb = rss_kb / 50;
    uint64_t pgt_kb = rss_kb / 500 + 4;
    bool memcg = k->limit > 0;
    int64_t t = k->t_ms;
    oom_line(l, h, g, kp, t, 4,
             "%s invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), "
             "order=0, oom_score_adj=0",
             k->process);
    oom_line(l, h, g, kp, t, 4,
             "CPU: 1 PID: %" PRId64 " Comm: %s Not tainted 6.1.0-28-amd64 #1 Debian 6.1.119-1",
             k->pid, k->process);
    if (memcg)
        oom_line(l, h, g, kp, t, PRIO_INFO,
                 "memory: usage %" PRIu64 "kB, limit %" PRIu64 "kB, failcnt 1873", k->limit / 1024,
                 k->limit / 1024);
    else
        oom_line(l, h, g, kp, t, PRIO_INFO, "Mem-Info:");
    oom_line(l, h, g, kp, t, PRIO_INFO, "Tasks state (memory values in pages):");
    oom_line(l, h, g, kp, t, PRIO_INFO,
             "[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj "
             "name");
    oom_line(l, h, g, kp, t, PRIO_INFO,
             "[%7" PRId64 "] %5" PRId64 " %5" PRId64 " %8" PRIu64 " %8" PRIu64 " %14" PRIu64
             "        0             0 %s",
             k->pid, k->uid, k->pid, vm_kb / 4, (rss_kb + file_kb) / 4, pgt_kb * 1024, k->process);
    if (memcg)
        oom_line(l, h, g, kp, t, PRIO_INFO,
                 "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
                 "oom_memcg=%s,task_memcg=%s,task=%s,pid=%" PRId64 ",uid=%" PRId64,
                 k->cgroup, k->cgroup, k->process, k->pid, k->uid);
    else
        oom_line(l, h, g, kp, t, PRIO_INFO,
                 "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,"
                 "global_oom,task_memcg=%s,task=%s,pid=%" PRId64 ",uid=%" PRId64,
                 k->cgroup, k->process, k->pid, k->uid);
    oom_line(l, h, g, kp, t, 3,
             "%s: Killed process %" PRId64 " (%s) total-vm:%" PRIu64 "kB, anon-rss:%" PRIu64
             "kB, file-rss:%" PRIu64 "kB, shmem-rss:0kB, UID:%" PRId64 " pgtables:%" PRIu64
             "kB oom_score_adj:0",
             memcg ? "Memory cgroup out of memory" : "Out of memory", k->pid, k->process, vm_kb,
             rss_kb, file_kb, k->uid, pgt_kb);
    /* systemd notices the kill in the unit's cgroup: a line about the unit, from PID 1 */
    static const char slice[] = "/system.slice/";
    const char *unit = k->cgroup + sizeof(slice) - 1;
    if (!strncmp(k->cgroup, slice, sizeof(slice) - 1) && !strchr(unit, '/') && *unit) {
        char msg[400];
        snprintf(msg, sizeof(msg), "%s: A process of this unit has been killed by the OOM killer.",
                 unit);
        jentry_add(l, h, t + 1, "systemd", 7, 1, unit, PRIO_NOTICE, false, msg);
    }
}

/* oom_kills: [{ago, process, pid, uid, rss, service | cgroup, limit, log}] → the kernel's lines
 * for each kill in its log (kern.log by default; "journal": in no file) and the journal, after
 * the lines `logs` gives it, oldest first. Only the logs say so: the processes are what
 * `processes` lists. */
static void load_ooms(struct ld *l, struct fs_sim_host *h, const json_t *arr, const char *base)
{
    static const char *const keys[] = {"ago",     "process", "pid",   "uid", "rss",
                                       "service", "cgroup",  "limit", "log", NULL};
    struct oom_kill *ks = list_begin(l, arr, base, "OOM kills", sizeof(*ks));
    if (!ks)
        return;
    size_t n = 0;
    char p[512];
    json_t *o;
    for (size_t i = 0; list_next(l, arr, &i, base, keys, p, sizeof(p), &o);) {
        struct oom_kill *k = &ks[n];
        char kp[520];
        int64_t ago = 10 * 60000;
        get_dur(l, o, "ago", p, &ago);
        k->t_ms = l->now - ago;
        if (ago > FS_SIM_UPTIME_MS) {
            keypath(kp, sizeof(kp), p, "ago");
            bad(l, kp, "at most 40d (the simulated host booted 40 days ago)");
        }
        k->process = get_str(l, o, "process", p, true);
        keypath(kp, sizeof(kp), p, "process");
        if (k->process && (!*k->process || strlen(k->process) > 15 || strpbrk(k->process, "\n\r")))
            bad(l, kp, "must be a command name of 1 to 15 characters (the kernel's comm)");
        k->pid = 30000 + (int64_t)n;
        get_int(l, o, "pid", p, 1, 4194304, &k->pid);
        k->uid = 0;
        get_int(l, o, "uid", p, 0, 4294967294LL, &k->uid);
        k->rss = 1ULL << 30;
        get_size(l, o, "rss", p, &k->rss);
        get_size(l, o, "limit", p, &k->limit);
        const char *svc = get_str(l, o, "service", p, false);
        const char *cg = get_str(l, o, "cgroup", p, false);
        keypath(kp, sizeof(kp), p, "cgroup");
        if (svc && cg)
            bad(l, p, "give service (its cgroup is /system.slice/UNIT) or cgroup, not both");
        else if (cg && abs_path(l, cg, kp))
            snprintf(k->cgroup, sizeof(k->cgroup), "%s", cg);
        else if (svc)
            snprintf(k->cgroup, sizeof(k->cgroup), "/system.slice/%s", svc);
        else
            snprintf(k->cgroup, sizeof(k->cgroup), "/");
        k->log = get_str(l, o, "log", p, false);
        keypath(kp, sizeof(kp), p, "log");
        if (k->log && strcmp(k->log, "journal") && !abs_path(l, k->log, kp))
            continue;
        if (!k->log)
            k->log = "/var/log/kern.log";
        if (k->process)
            n++;
    }
    qsort(ks, n, sizeof(*ks), oom_by_time);
    for (size_t i = 0; i < n && !l->nomem; i++)
        oom_emit(l, h, &ks[i]);
    free(ks);
}

static void load_ports(struct ld *l, struct fs_sim_host *h, const json_t *v, const char *kp)
{
    static const char *const pkeys[] = {"proto", "address", "port", NULL};
    if ((h->ports = list_begin(l, v, kp, "listening sockets", sizeof(*h->ports)))) {
        size_t i;
        json_t *s;
        json_array_foreach(v, i, s)
        {
            char sp[560];
            snprintf(sp, sizeof(sp), "%s[%zu]", kp, i);
            if (!check_keys(l, s, sp, pkeys))
                continue;
            struct fs_sim_port *pt = &h->ports[h->nports++];
            const char *proto = get_str(l, s, "proto", sp, false);
            const char *addr = get_str(l, s, "address", sp, false);
            pt->proto = dup_or_flag(l, proto ? proto : "tcp");
            pt->address = dup_or_flag(l, addr ? addr : "0.0.0.0");
            get_int(l, s, "port", sp, 1, 65535, &pt->port);
        }
    }
}

/* The sections of a host after its filesystems, in load order (files need the mounts). */
static const struct {
    const char *key;
    void (*load)(struct ld *l, struct fs_sim_host *h, const json_t *v, const char *path);
} host_sections[] = {
    {"directories", load_dirs}, {"files", load_files},       {"journal", load_journal},
    {"processes", load_procs},  {"services", load_services}, {"certificates", load_certs},
    {"logs", load_logs},        {"oom_kills", load_ooms},    {"ports", load_ports},
};

static void load_host(struct ld *l, struct fs_sim_host *h, const char *name, const json_t *o,
                      const char *p)
{
    static const char *const keys[] = {
        "cores",          "load",           "memory",    "filesystems", "directories",
        "files",          "journal",        "processes", "services",    "certificates",
        "logs",           "oom_kills",      "ports",     "env",         "owner",
        "resource_class", "classification", "aliases",   NULL};
    static const char *const mem_keys[] = {"total",  "available",  "free",      "buffers",
                                           "cached", "swap_total", "swap_used", NULL};
    h->name = dup_or_flag(l, name);
    if (!check_keys(l, o, p, keys))
        return;
    char kp[520];
    h->cores = 4;
    get_int(l, o, "cores", p, 1, 4096, &h->cores);
    json_t *load = json_object_get(o, "load");
    keypath(kp, sizeof(kp), p, "load");
    if (load &&
        (!json_is_array(load) || json_array_size(load) != 3 ||
         !json_is_number(json_array_get(load, 0)) || !json_is_number(json_array_get(load, 1)) ||
         !json_is_number(json_array_get(load, 2))))
        bad(l, kp, "must be [load1, load5, load15]");
    for (size_t k = 0; k < 3; k++)
        h->load[k] = load ? json_number_value(json_array_get(load, k)) : 0.3 * (double)h->cores;
    if (!load)
        h->load[0] = h->load[1] = h->load[2] = 0.2 * (double)h->cores;
    h->mem_total = 16ULL << 30;
    h->mem_available = 10ULL << 30;
    json_t *mem = json_object_get(o, "memory");
    keypath(kp, sizeof(kp), p, "memory");
    if (mem && check_keys(l, mem, kp, mem_keys)) {
        get_size(l, mem, "total", kp, &h->mem_total);
        if (!get_size(l, mem, "available", kp, &h->mem_available))
            h->mem_available = h->mem_total / 2;
        uint64_t swap_used = 0;
        get_size(l, mem, "swap_total", kp, &h->swap_total);
        get_size(l, mem, "swap_used", kp, &swap_used);
        if (h->mem_available > h->mem_total || swap_used > h->swap_total)
            bad(l, kp, "available must be at most total, swap_used at most swap_total");
        h->swap_free = h->swap_total - FS_MIN(swap_used, h->swap_total);
    } else if (!mem) {
        h->mem_available = h->mem_total * 6 / 10;
    }
    h->mem_free = h->mem_available / 3;
    h->mem_buffers = h->mem_available / 20;
    h->mem_cached = h->mem_available / 2;
    if (mem) {
        get_size(l, mem, "free", kp, &h->mem_free);
        get_size(l, mem, "buffers", kp, &h->mem_buffers);
        get_size(l, mem, "cached", kp, &h->mem_cached);
    }

    json_t *v;
    if ((v = json_object_get(o, "filesystems"))) {
        keypath(kp, sizeof(kp), p, "filesystems");
        load_fs(l, h, v, kp);
    }
    if (!h->nfs) {
        /* a host always has a root filesystem */
        struct fs_sim_fs *f = realloc(h->fs, sizeof(*f));
        if (!f) {
            l->nomem = true;
            return;
        }
        h->fs = f;
        memset(f, 0, sizeof(*f));
        f->mount = dup_or_flag(l, "/");
        f->device = dup_or_flag(l, "/dev/vda1");
        f->type = dup_or_flag(l, "ext4");
        f->size = 100ULL * 1000 * 1000 * 1000;
        f->used = f->size * 4 / 10;
        f->inodes = 6553600;
        f->inodes_used = 250000;
        h->nfs = 1;
    }
    for (size_t k = 0; k < sizeof(host_sections) / sizeof(host_sections[0]); k++)
        if ((v = json_object_get(o, host_sections[k].key))) {
            keypath(kp, sizeof(kp), p, host_sections[k].key);
            host_sections[k].load(l, h, v, kp);
        }
    /* the journal in time order; lines of one time keep the order they were given in */
    if (h->njentries)
        qsort(h->jentries, h->njentries, sizeof(*h->jentries), jentry_by_time);
    /* each log is a file of what its lines add up to */
    for (size_t k = 0; k < h->nlogs && !l->nomem; k++) {
        uint64_t bytes = 0;
        for (size_t j = 0; j < h->logs[k].n; j++)
            bytes += strlen(h->logs[k].lines[j]) + 1;
        add_file(l, h, h->logs[k].path, bytes, l->now - 5000);
    }
    /* what the files add up to on each filesystem must fit in what it uses */
    for (size_t k = 0; k < h->nfs; k++) {
        uint64_t sum = 0;
        for (size_t j = 0; j < h->nfiles; j++)
            if (fs_world_fs_of(h, h->files[j].path) == &h->fs[k])
                sum += h->files[j].size;
        for (size_t j = 0; j < h->ndirs; j++)
            if (fs_world_fs_of(h, h->dirs[j].path) == &h->fs[k])
                sum += h->dirs[j].size;
        char fp[560];
        snprintf(fp, sizeof(fp), "%s.filesystems[%zu].used", p, k);
        if (!json_object_get(json_array_get(json_object_get(o, "filesystems"), k), "used"))
            h->fs[k].used = FS_MIN(sum, h->fs[k].size);
        else if (sum > h->fs[k].used)
            bad(l, fp,
                "the files and directories on %s add up to %" PRIu64 " bytes, more than used",
                h->fs[k].mount, sum);
    }
}

static void load_series(struct ld *l, struct fs_world *w, const json_t *arr, const char *base)
{
    static const char *const keys[] = {"match", "labels", "value", "per_hour", "points", NULL};
    if (!(w->series = list_begin(l, arr, base, "series", sizeof(*w->series))))
        return;
    char p[512];
    json_t *o;
    for (size_t i = 0; list_next(l, arr, &i, base, keys, p, sizeof(p), &o);) {
        char kp[520];
        struct fs_sim_series *s = &w->series[w->nseries++];
        s->match = dup_or_flag(l, get_str(l, o, "match", p, true));
        json_t *labels = json_object_get(o, "labels");
        keypath(kp, sizeof(kp), p, "labels");
        s->labels = json_is_object(labels) ? json_deep_copy(labels) : json_object();
        if (labels && !json_is_object(labels))
            bad(l, kp, "must be a mapping of label → value");
        const char *k;
        json_t *lv;
        json_object_foreach(s->labels, k, lv) if (!json_is_string(lv))
        {
            json_object_set_new(s->labels, k, json_string(""));
            bad(l, kp, "label %s: quote the value (labels are strings)", k);
        }
        json_t *pts = json_object_get(o, "points");
        bool linear = json_object_get(o, "value") != NULL;
        if (pts && linear)
            bad(l, p, "give either value (and per_hour) or points, not both");
        if (!pts && !linear)
            bad(l, p, "give value (and per_hour) or points");
        get_num(l, o, "value", p, &s->value);
        get_num(l, o, "per_hour", p, &s->per_hour);
        if (pts) {
            keypath(kp, sizeof(kp), p, "points");
            if (!json_is_array(pts) || !json_array_size(pts)) {
                bad(l, kp, "must be a list of {ago, value}");
                continue;
            }
            s->points = calloc(json_array_size(pts), sizeof(*s->points));
            if (!s->points) {
                l->nomem = true;
                continue;
            }
            size_t j;
            json_t *pt;
            json_array_foreach(pts, j, pt)
            {
                static const char *const ptkeys[] = {"ago", "value", NULL};
                char pp[560];
                snprintf(pp, sizeof(pp), "%s[%zu]", kp, j);
                if (!check_keys(l, pt, pp, ptkeys))
                    continue;
                int64_t ago = 0;
                get_dur(l, pt, "ago", pp, &ago);
                double v = 0;
                if (!get_num(l, pt, "value", pp, &v))
                    bad(l, pp, "value is required");
                s->points[s->npoints].t_ms = l->now - ago;
                s->points[s->npoints].v = v;
                if (s->npoints && s->points[s->npoints].t_ms <= s->points[s->npoints - 1].t_ms)
                    bad(l, pp, "points must go from the oldest (largest ago) to the newest");
                s->npoints++;
            }
        }
    }
}

static void load_streams(struct ld *l, struct fs_world *w, const json_t *arr, const char *base)
{
    static const char *const keys[] = {"labels", "lines", NULL};
    if (!(w->streams = list_begin(l, arr, base, "streams", sizeof(*w->streams))))
        return;
    char p[512];
    json_t *o;
    for (size_t i = 0; list_next(l, arr, &i, base, keys, p, sizeof(p), &o);) {
        char kp[520];
        struct fs_sim_stream *s = &w->streams[w->nstreams++];
        json_t *labels = json_object_get(o, "labels");
        keypath(kp, sizeof(kp), p, "labels");
        if (!json_is_object(labels) || !json_object_size(labels))
            bad(l, kp, "required: a mapping of label → value");
        s->labels = json_is_object(labels) ? json_deep_copy(labels) : json_object();
        json_t *lines = json_object_get(o, "lines");
        keypath(kp, sizeof(kp), p, "lines");
        if (!json_is_array(lines)) {
            bad(l, kp, "required: a list of lines (text, or {ago, text})");
            continue;
        }
        size_t n = json_array_size(lines);
        s->lines = calloc(n + 1, sizeof(*s->lines));
        if (!s->lines) {
            l->nomem = true;
            continue;
        }
        size_t j;
        json_t *ln;
        json_array_foreach(lines, j, ln)
        {
            char lp[560];
            snprintf(lp, sizeof(lp), "%s[%zu]", kp, j);
            /* plain lines are a minute apart, the last one a second ago */
            int64_t ago = 1000 + (int64_t)(n - 1 - j) * 60000;
            const char *text = json_string_value(ln);
            if (json_is_object(ln)) {
                static const char *const lkeys[] = {"ago", "text", NULL};
                if (!check_keys(l, ln, lp, lkeys))
                    continue;
                get_dur(l, ln, "ago", lp, &ago);
                text = get_str(l, ln, "text", lp, true);
            } else if (!text) {
                bad(l, lp, "must be a string or {ago, text}");
            }
            if (!text)
                continue;
            s->lines[s->n].t_ms = l->now - ago;
            s->lines[s->n].text = dup_or_flag(l, text);
            s->n++;
        }
    }
}

int fs_world_load(const json_t *world, const struct fs_yaml_doc *doc, const char *base_path,
                  int64_t now_ms, struct fs_world **out, struct fs_diag *d, struct fs_err *err)
{
    static const char *const keys[] = {"hosts", "metrics", "loki", "endpoints", "graph", NULL};
    *out = NULL;
    struct ld l = {doc, d, now_ms, false};
    int before = d->problems;
    struct fs_world *w = calloc(1, sizeof(*w));
    if (!w)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    pthread_mutex_init(&w->mu, NULL);
    w->now_ms = now_ms;
    char p[512];
    if (!check_keys(&l, world, base_path, keys))
        goto done;
    json_t *hosts = json_object_get(world, "hosts");
    keypath(p, sizeof(p), base_path, "hosts");
    if (!json_is_object(hosts) || !json_object_size(hosts)) {
        bad(&l, p, "required: a mapping of host name → host");
    } else if (!(w->hosts = calloc(json_object_size(hosts), sizeof(*w->hosts)))) {
        l.nomem = true;
    } else {
        const char *name;
        json_t *h;
        json_object_foreach(hosts, name, h)
        {
            char hp[800];
            fs_jpath_key(hp, sizeof(hp), p, name);
            load_host(&l, &w->hosts[w->nhosts++], name, h, hp);
        }
    }
    json_t *v;
    if ((v = json_object_get(world, "metrics"))) {
        keypath(p, sizeof(p), base_path, "metrics");
        load_series(&l, w, v, p);
    }
    if ((v = json_object_get(world, "loki"))) {
        keypath(p, sizeof(p), base_path, "loki");
        load_streams(&l, w, v, p);
    }
    if ((v = json_object_get(world, "endpoints"))) {
        keypath(p, sizeof(p), base_path, "endpoints");
        if ((w->endpoints = list_begin(&l, v, p, "TLS endpoints", sizeof(*w->endpoints)))) {
            size_t i;
            json_t *c;
            json_array_foreach(v, i, c)
            {
                char cp[560];
                snprintf(cp, sizeof(cp), "%s[%zu]", p, i);
                if (load_cert(&l, &w->endpoints[w->nendpoints], c, cp, true))
                    w->nendpoints++;
            }
        }
    }
    if ((v = json_object_get(world, "graph")))
        w->graph = json_incref(v);
done:
    if (l.nomem) {
        fs_world_free(w);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    if (d->problems > before) {
        fs_world_free(w);
        return -FS_E_INVALID;
    }
    *out = w;
    return 0;
}

void fs_world_free(struct fs_world *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->nhosts; i++) {
        struct fs_sim_host *h = &w->hosts[i];
        free(h->name);
        free(h->journal_dir);
        for (size_t k = 0; k < h->nfs; k++) {
            free(h->fs[k].mount);
            free(h->fs[k].device);
            free(h->fs[k].type);
        }
        free(h->fs);
        for (size_t k = 0; k < h->nfiles; k++)
            free(h->files[k].path);
        free(h->files);
        for (size_t k = 0; k < h->ndirs; k++)
            free(h->dirs[k].path);
        free(h->dirs);
        for (size_t k = 0; k < h->nprocs; k++) {
            free(h->procs[k].user);
            free(h->procs[k].command);
            free(h->procs[k].service);
        }
        free(h->procs);
        for (size_t k = 0; k < h->nservices; k++) {
            struct fs_sim_service *s = &h->services[k];
            free(s->unit);
            free(s->load_state);
            free(s->active_state);
            free(s->sub_state);
        }
        free(h->services);
        for (size_t k = 0; k < h->ncerts; k++) {
            struct fs_sim_cert *c = &h->certs[k];
            free(c->path);
            free(c->host);
            free(c->subject);
            free(c->issuer);
            free(c->certbot_name);
        }
        free(h->certs);
        for (size_t k = 0; k < h->nlogs; k++) {
            for (size_t j = 0; j < h->logs[k].n; j++)
                free(h->logs[k].lines[j]);
            free(h->logs[k].lines);
            free(h->logs[k].path);
        }
        free(h->logs);
        for (size_t k = 0; k < h->njentries; k++) {
            free(h->jentries[k].ident);
            free(h->jentries[k].unit);
            free(h->jentries[k].message);
        }
        free(h->jentries);
        for (size_t k = 0; k < h->nports; k++) {
            free(h->ports[k].proto);
            free(h->ports[k].address);
        }
        free(h->ports);
    }
    free(w->hosts);
    for (size_t i = 0; i < w->nseries; i++) {
        free(w->series[i].match);
        json_decref(w->series[i].labels);
        free(w->series[i].points);
    }
    free(w->series);
    for (size_t i = 0; i < w->nstreams; i++) {
        json_decref(w->streams[i].labels);
        for (size_t k = 0; k < w->streams[i].n; k++)
            free(w->streams[i].lines[k].text);
        free(w->streams[i].lines);
    }
    free(w->streams);
    for (size_t k = 0; k < w->nendpoints; k++) {
        free(w->endpoints[k].host);
        free(w->endpoints[k].subject);
        free(w->endpoints[k].issuer);
    }
    free(w->endpoints);
    json_decref(w->graph);
    free(w->effects);
    fs_world_pem_release(w);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

/* ---- shared by the simulator ------------------------------------------------------------- */

struct fs_sim_host *fs_world_host(struct fs_world *w, const char *name)
{
    if (!w->nhosts)
        return NULL;
    if (!name || !*name)
        return &w->hosts[0];
    char h[256];
    fs_route_host(name, h, sizeof(h));
    for (size_t i = 0; i < w->nhosts; i++)
        if (!strcmp(w->hosts[i].name, h))
            return &w->hosts[i];
    return NULL;
}

struct fs_sim_fs *fs_world_fs_of(struct fs_sim_host *h, const char *path)
{
    struct fs_sim_fs *best = NULL;
    size_t bestlen = 0;
    for (size_t i = 0; i < h->nfs; i++) {
        const char *m = h->fs[i].mount;
        size_t n = strlen(m);
        bool under =
            !strcmp(m, "/") || (!strncmp(path, m, n) && (path[n] == '\0' || path[n] == '/'));
        if (under && (!best || n > bestlen)) {
            best = &h->fs[i];
            bestlen = n;
        }
    }
    return best;
}

void fs_world_effect(struct fs_world *w, const char *host, const char *program, const char *fmt,
                     ...)
{
    if (w->neffects == w->capeffects) {
        size_t nc = w->capeffects ? w->capeffects * 2 : 8;
        struct fs_sim_effect *e = realloc(w->effects, nc * sizeof(*e));
        if (!e)
            return;
        w->effects = e;
        w->capeffects = nc;
    }
    struct fs_sim_effect *e = &w->effects[w->neffects++];
    memset(e, 0, sizeof(*e));
    snprintf(e->host, sizeof(e->host), "%s", host ? host : "");
    snprintf(e->program, sizeof(e->program), "%s", program);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->summary, sizeof(e->summary), fmt, ap);
    va_end(ap);
    e->at_ms = fs_now_ms();
}
