/* sim: the programs of a simulated host (docs/scenarios.md "What the simulator runs"). A tool's
 * or an action's argv arrives here instead of being executed, and is answered from the world
 * the way the real program would answer it — df's columns, du's NUL-separated records, find's
 * -printf, ps, /proc files, systemctl show, journalctl, ss, stat — so the production parsers
 * read it. The write programs of the default catalog change the world: find ... -delete,
 * journalctl --vacuum-size, apt-get clean, systemctl restart, kill, certbot renew. Anything else
 * is "not found" (exit 127), as on a host without that program.
 *
 * Also fs_world_sim, which wires the world into struct fs_sim with its lock. */
#include "core/common.h"

#include <fnmatch.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/time.h"
#include "eval/world.h"

#define DAY_MS (86400LL * 1000)
#define KIB ((uint64_t)1024)

/* ---- one program run ---------------------------------------------------------------------- */

struct prog {
    struct fs_world *w;
    struct fs_sim_host *h;
    struct fs_child *c;
    const char *const *argv;
    int argc;
    int64_t now;
    size_t deleted; /* files this run deleted, and their bytes */
    uint64_t deleted_bytes;
};

static void put(struct prog *p, bool err, const char *s, size_t n)
{
    struct fs_buf *b = err ? &p->c->err : &p->c->out;
    bool *trunc = err ? &p->c->stderr_truncated : &p->c->stdout_truncated;
    size_t room = b->max > b->len ? b->max - b->len : 0;
    if (n > room) {
        *trunc = true;
        n = room;
    }
    if (n)
        fs_buf_append(b, s, n);
}

static void outf(struct prog *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void outf(struct prog *p, const char *fmt, ...)
{
    char tmp[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        put(p, false, tmp, FS_MIN((size_t)n, sizeof(tmp) - 1));
}

static int fail(struct prog *p, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct prog *p, int code, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        put(p, true, tmp, FS_MIN((size_t)n, sizeof(tmp) - 1));
    put(p, true, "\n", 1);
    p->c->exit_code = code;
    return 0;
}

static const char *base(const char *s)
{
    const char *b = strrchr(s, '/');
    return b ? b + 1 : s;
}

/* ---- the file tree ------------------------------------------------------------------------ */

static const char *const std_dirs[] = {"/",
                                       "/etc",
                                       "/etc/letsencrypt",
                                       "/etc/letsencrypt/live",
                                       "/home",
                                       "/opt",
                                       "/proc",
                                       "/root",
                                       "/srv",
                                       "/tmp",
                                       "/usr",
                                       "/var",
                                       "/var/cache",
                                       "/var/cache/apt",
                                       "/var/cache/apt/archives",
                                       "/var/lib",
                                       "/var/lib/systemd",
                                       "/var/lib/systemd/coredump",
                                       "/var/log",
                                       "/var/log/journal",
                                       "/var/tmp",
                                       NULL};

static bool below(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    if (n == 1 && dir[0] == '/')
        return path[0] == '/' && path[1] != '\0';
    return !strncmp(path, dir, n) && path[n] == '/';
}

static bool at_or_below(const char *path, const char *dir)
{
    return !strcmp(path, dir) || below(path, dir);
}

static struct fs_sim_file *file_at(struct fs_sim_host *h, const char *path)
{
    for (size_t i = 0; i < h->nfiles; i++)
        if (!h->files[i].deleted && !strcmp(h->files[i].path, path))
            return &h->files[i];
    return NULL;
}

static bool is_dir(struct fs_sim_host *h, const char *path)
{
    for (size_t i = 0; std_dirs[i]; i++)
        if (!strcmp(std_dirs[i], path))
            return true;
    for (size_t i = 0; i < h->nfs; i++)
        if (at_or_below(h->fs[i].mount, path))
            return true;
    for (size_t i = 0; i < h->ndirs; i++)
        if (at_or_below(h->dirs[i].path, path))
            return true;
    if (h->journal_dir && at_or_below(h->journal_dir, path))
        return true;
    for (size_t i = 0; i < h->nfiles; i++)
        if (!h->files[i].deleted && below(h->files[i].path, path))
            return true;
    return false;
}

static void delete_file(struct prog *p, struct fs_sim_file *f)
{
    f->deleted = true;
    p->deleted++;
    p->deleted_bytes += f->size;
    struct fs_sim_fs *fs = fs_world_fs_of(p->h, f->path);
    if (fs) {
        fs->used -= FS_MIN(fs->used, f->size);
        if (fs->inodes_used)
            fs->inodes_used--;
    }
}

/* ---- df ----------------------------------------------------------------------------------- */

static int df(struct prog *p)
{
    bool inodes = false;
    int i = 1;
    for (; i < p->argc && p->argv[i][0] == '-' && strcmp(p->argv[i], "--"); i++)
        if (!strcmp(p->argv[i], "-i"))
            inodes = true;
    if (i < p->argc && !strcmp(p->argv[i], "--"))
        i++;
    outf(p, inodes
                ? "Filesystem     Type      Inodes  IUsed   IFree IUse%% Mounted on\n"
                : "Filesystem     Type     1-blocks        Used   Available Capacity Mounted on\n");
    struct fs_sim_fs *list[64];
    size_t n = 0;
    if (i >= p->argc) {
        for (size_t k = 0; k < p->h->nfs && n < 64; k++)
            list[n++] = &p->h->fs[k];
    }
    int code = 0;
    for (; i < p->argc && n < 64; i++) {
        const char *path = p->argv[i];
        if (!is_dir(p->h, path) && !file_at(p->h, path)) {
            fail(p, 1, "df: %s: No such file or directory", path);
            code = 1;
            continue;
        }
        list[n++] = fs_world_fs_of(p->h, path);
    }
    for (size_t k = 0; k < n; k++) {
        struct fs_sim_fs *f = list[k];
        if (inodes) {
            if (!f->inodes) {
                outf(p, "%s %s - - - - %s\n", f->device, f->type, f->mount);
                continue;
            }
            uint64_t pct = (f->inodes_used * 100 + f->inodes - 1) / f->inodes;
            outf(p, "%s %s %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "%% %s\n", f->device,
                 f->type, f->inodes, f->inodes_used, f->inodes - f->inodes_used, pct, f->mount);
        } else {
            uint64_t avail = f->size - FS_MIN(f->size, f->used + f->reserved);
            uint64_t denom = f->used + avail;
            uint64_t pct = denom ? (f->used * 100 + denom - 1) / denom : 0;
            outf(p, "%s %s %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "%% %s\n", f->device,
                 f->type, f->size, f->used, avail, pct, f->mount);
        }
    }
    p->c->exit_code = code;
    return 0;
}

/* ---- du ----------------------------------------------------------------------------------- */

/* The directories below root (root included) holding anything, with what they hold. */
struct dent {
    char *path;
    uint64_t size;
};
struct dtree {
    struct dent *v;
    size_t n, cap;
    json_t *index; /* path → position */
};

static int dtree_add(struct dtree *t, const char *path, uint64_t size)
{
    json_t *at = json_object_get(t->index, path);
    if (at) {
        t->v[json_integer_value(at)].size += size;
        return 0;
    }
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 32;
        struct dent *v = realloc(t->v, nc * sizeof(*v));
        if (!v)
            return -FS_E_NOMEM;
        t->v = v;
        t->cap = nc;
    }
    if (!(t->v[t->n].path = fs_strdup(path)) ||
        json_object_set_new(t->index, path, json_integer((json_int_t)t->n)) < 0)
        return -FS_E_NOMEM;
    t->v[t->n++].size = size;
    return 0;
}

static void dtree_release(struct dtree *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].path);
    free(t->v);
    json_decref(t->index);
}

/* Add size to path's parent directories up to root (and path itself when it is a directory). */
static int charge(struct dtree *t, const char *root, const char *path, bool is_directory,
                  uint64_t size)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", path);
    if (!is_directory) {
        char *slash = strrchr(buf, '/');
        if (!slash)
            return 0;
        *(slash == buf ? slash + 1 : slash) = '\0';
    }
    for (;;) {
        int rc = dtree_add(t, buf, size);
        if (rc < 0)
            return rc;
        if (!strcmp(buf, root))
            return 0;
        char *slash = strrchr(buf, '/');
        if (!slash)
            return 0;
        *(slash == buf ? slash + 1 : slash) = '\0';
    }
}

static int depth_of(const char *root, const char *path)
{
    if (!strcmp(root, path))
        return 0;
    int d = 0;
    for (const char *s = path + (strcmp(root, "/") ? strlen(root) : 0); *s; s++)
        d += *s == '/';
    return d;
}

static int build_tree(struct prog *p, const char *root, bool xdev, struct dtree *t)
{
    struct fs_sim_fs *rootfs = fs_world_fs_of(p->h, root);
    if (!(t->index = json_object()) || dtree_add(t, root, 0) < 0)
        return -FS_E_NOMEM;
    for (size_t i = 0; i < p->h->nfiles; i++) {
        struct fs_sim_file *f = &p->h->files[i];
        if (f->deleted || !below(f->path, root) ||
            (xdev && fs_world_fs_of(p->h, f->path) != rootfs))
            continue;
        if (charge(t, root, f->path, false, f->size) < 0)
            return -FS_E_NOMEM;
    }
    for (size_t i = 0; i < p->h->ndirs; i++) {
        struct fs_sim_dir *d = &p->h->dirs[i];
        if (!at_or_below(d->path, root) || (xdev && fs_world_fs_of(p->h, d->path) != rootfs))
            continue;
        if (charge(t, root, d->path, true, d->size) < 0)
            return -FS_E_NOMEM;
    }
    /* empty standard directories and mount points below root exist too */
    for (size_t i = 0; std_dirs[i]; i++)
        if (below(std_dirs[i], root) && (!xdev || fs_world_fs_of(p->h, std_dirs[i]) == rootfs) &&
            charge(t, root, std_dirs[i], true, 0) < 0)
            return -FS_E_NOMEM;
    return 0;
}

static int du(struct prog *p)
{
    bool summary = false, xdev = false, nul = false;
    int maxdepth = -1, i = 1;
    for (; i < p->argc && p->argv[i][0] == '-' && strcmp(p->argv[i], "--"); i++) {
        const char *a = p->argv[i];
        if (!strcmp(a, "-s"))
            summary = true;
        else if (!strcmp(a, "-x"))
            xdev = true;
        else if (!strcmp(a, "-0"))
            nul = true;
        else if (!strncmp(a, "--max-depth=", 12))
            maxdepth = atoi(a + 12);
    }
    if (i < p->argc && !strcmp(p->argv[i], "--"))
        i++;
    if (i >= p->argc)
        return fail(p, 1, "du: missing operand");
    const char *root = p->argv[i];
    if (!is_dir(p->h, root)) {
        struct fs_sim_file *f = file_at(p->h, root);
        if (!f)
            return fail(p, 1, "du: cannot access '%s': No such file or directory", root);
        outf(p, "%" PRIu64 "\t%s%c", f->size, root, nul ? '\0' : '\n');
        return 0;
    }
    struct dtree t = {0};
    int rc = build_tree(p, root, xdev, &t);
    if (rc < 0) {
        dtree_release(&t);
        return rc;
    }
    /* children before their parents, as du walks */
    for (size_t k = t.n; k-- > 0;) {
        int d = depth_of(root, t.v[k].path);
        if (summary ? d != 0 : (maxdepth >= 0 && d > maxdepth))
            continue;
        outf(p, "%" PRIu64 "\t%s%c", t.v[k].size + 4096, t.v[k].path, nul ? '\0' : '\n');
    }
    dtree_release(&t);
    return 0;
}

/* ---- find --------------------------------------------------------------------------------- */

/* One candidate of a find walk: a file, or a directory (f NULL). */
struct cand {
    const char *path;
    struct fs_sim_file *f;
    int depth;
};

struct findx {
    struct prog *p;
    const char *const *tok;
    int n, pos;
    bool bad;
    char why[256];
    bool any_action;
};

/* expr := and ("-o" and)* ; and := not (("-a")? not)* ; not := "!" not | prim */
static bool f_or(struct findx *x, const struct cand *c, bool run);

static bool f_prim(struct findx *x, const struct cand *c, bool run)
{
    if (x->pos >= x->n) {
        x->bad = true;
        snprintf(x->why, sizeof(x->why), "expected an expression");
        return false;
    }
    const char *t = x->tok[x->pos++];
    const char *arg = x->pos < x->n ? x->tok[x->pos] : NULL;
    if (!strcmp(t, "(")) {
        bool v = f_or(x, c, run);
        if (x->pos >= x->n || strcmp(x->tok[x->pos], ")")) {
            x->bad = true;
            snprintf(x->why, sizeof(x->why), "invalid expression; missing ')'");
            return false;
        }
        x->pos++;
        return v;
    }
    if (!strcmp(t, "-xdev") || !strcmp(t, "-print") || !strcmp(t, "-true")) {
        if (!strcmp(t, "-print")) {
            x->any_action = true;
            if (run)
                outf(x->p, "%s\n", c->path);
        }
        return true;
    }
    if (!strcmp(t, "-delete")) {
        x->any_action = true;
        if (run && c->f)
            delete_file(x->p, c->f);
        return true;
    }
    if (!strcmp(t, "-mindepth") || !strcmp(t, "-maxdepth")) {
        x->pos++; /* handled by the walk */
        return true;
    }
    if (!arg) {
        x->bad = true;
        snprintf(x->why, sizeof(x->why), "missing argument to `%s'", t);
        return false;
    }
    x->pos++;
    if (!strcmp(t, "-type"))
        return arg[0] == 'f' ? c->f != NULL : arg[0] == 'd' ? c->f == NULL : false;
    if (!strcmp(t, "-name"))
        return fnmatch(arg, base(c->path), 0) == 0;
    if (!strcmp(t, "-mtime")) {
        if (!c->f)
            return false;
        int64_t days = (x->p->now - c->f->mtime_ms) / DAY_MS;
        long n = strtol(arg + (arg[0] == '+' || arg[0] == '-'), NULL, 10);
        return arg[0] == '+' ? days > n : arg[0] == '-' ? days < n : days == n;
    }
    if (!strcmp(t, "-size")) {
        uint64_t size = c->f ? c->f->size : 4096;
        char *end = NULL;
        unsigned long long n = strtoull(arg + (arg[0] == '+' || arg[0] == '-'), &end, 10);
        uint64_t unit = 512;
        if (end && *end == 'c')
            unit = 1;
        else if (end && *end == 'k')
            unit = 1024;
        else if (end && *end == 'M')
            unit = 1024 * 1024;
        else if (end && *end == 'G')
            unit = 1024 * 1024 * 1024;
        uint64_t units = unit == 1 ? size : (size + unit - 1) / unit;
        return arg[0] == '+' ? units > n : arg[0] == '-' ? units < n : units == n;
    }
    if (!strcmp(t, "-printf")) {
        x->any_action = true;
        if (!run)
            return true;
        for (const char *s = arg; *s; s++) {
            if (*s == '\\' && s[1]) {
                s++;
                char ch = *s == 't' ? '\t' : *s == 'n' ? '\n' : *s == '0' ? '\0' : *s;
                put(x->p, false, &ch, 1);
            } else if (*s == '%' && s[1]) {
                s++;
                if (*s == 's')
                    outf(x->p, "%" PRIu64, c->f ? c->f->size : 4096);
                else if (*s == 'p')
                    outf(x->p, "%s", c->path);
                else if (*s == 'f')
                    outf(x->p, "%s", base(c->path));
                else if (*s == 'T' && s[1] == '@') {
                    s++;
                    int64_t m = c->f ? c->f->mtime_ms : x->p->now;
                    outf(x->p, "%" PRId64 ".%03" PRId64 "0000000", m / 1000, m % 1000);
                } else if (*s == '%')
                    put(x->p, false, "%", 1);
            } else {
                put(x->p, false, s, 1);
            }
        }
        return true;
    }
    x->bad = true;
    snprintf(x->why, sizeof(x->why), "unknown predicate `%s'", t);
    return false;
}

static bool f_not(struct findx *x, const struct cand *c, bool run)
{
    if (x->pos < x->n && (!strcmp(x->tok[x->pos], "!") || !strcmp(x->tok[x->pos], "-not"))) {
        x->pos++;
        return !f_not(x, c, false) ? true : false;
    }
    return f_prim(x, c, run);
}

static bool f_and(struct findx *x, const struct cand *c, bool run)
{
    bool v = f_not(x, c, run);
    while (x->pos < x->n && !x->bad) {
        const char *t = x->tok[x->pos];
        if (!strcmp(t, "-o") || !strcmp(t, "-or") || !strcmp(t, ")"))
            break;
        if (!strcmp(t, "-a") || !strcmp(t, "-and"))
            x->pos++;
        bool r = f_not(x, c, run && v); /* short-circuit: actions run only when reached */
        v = v && r;
    }
    return v;
}

static bool f_or(struct findx *x, const struct cand *c, bool run)
{
    bool v = f_and(x, c, run);
    while (x->pos < x->n && !x->bad &&
           (!strcmp(x->tok[x->pos], "-o") || !strcmp(x->tok[x->pos], "-or"))) {
        x->pos++;
        bool r = f_and(x, c, run && !v);
        v = v || r;
    }
    return v;
}

static void eval_find(struct findx *x, const struct cand *c)
{
    x->pos = 0;
    x->any_action = false;
    bool v = x->n ? f_or(x, c, true) : true;
    if (!x->any_action && v && !x->bad)
        outf(x->p, "%s\n", c->path);
}

static int find(struct prog *p)
{
    int i = 1;
    if (i < p->argc && !strcmp(p->argv[i], "--"))
        i++;
    const char *roots[16];
    int nroots = 0;
    for (; i < p->argc && nroots < 16; i++) {
        const char *a = p->argv[i];
        if (a[0] == '-' || !strcmp(a, "(") || !strcmp(a, "!"))
            break;
        roots[nroots++] = a;
    }
    int mindepth = 0, maxdepth = 1 << 20;
    bool xdev = false;
    for (int k = i; k < p->argc; k++) {
        if (!strcmp(p->argv[k], "-xdev"))
            xdev = true;
        else if (!strcmp(p->argv[k], "-mindepth") && k + 1 < p->argc)
            mindepth = atoi(p->argv[k + 1]);
        else if (!strcmp(p->argv[k], "-maxdepth") && k + 1 < p->argc)
            maxdepth = atoi(p->argv[k + 1]);
    }
    struct findx x = {.p = p, .tok = p->argv + i, .n = p->argc - i};
    /* check the expression once before touching anything */
    struct cand probe = {"/", NULL, 0};
    x.pos = 0;
    if (x.n)
        f_or(&x, &probe, false);
    if (!x.bad && x.pos < x.n)
        snprintf(x.why, sizeof(x.why), "unexpected `%s'", x.tok[x.pos]), x.bad = true;
    if (x.bad)
        return fail(p, 1, "find: %s", x.why);
    int code = 0;
    for (int r = 0; r < nroots; r++) {
        const char *root = roots[r];
        struct fs_sim_file *rf = file_at(p->h, root);
        if (!is_dir(p->h, root) && !rf) {
            fail(p, 1, "find: '%s': No such file or directory", root);
            code = 1;
            continue;
        }
        if (rf) {
            struct cand c = {root, rf, 0};
            if (mindepth <= 0)
                eval_find(&x, &c);
            continue;
        }
        struct dtree t = {0};
        if (build_tree(p, root, xdev, &t) < 0) {
            dtree_release(&t);
            return -FS_E_NOMEM;
        }
        for (size_t k = 0; k < t.n; k++) {
            struct cand c = {t.v[k].path, NULL, depth_of(root, t.v[k].path)};
            if (c.depth >= mindepth && c.depth <= maxdepth)
                eval_find(&x, &c);
        }
        dtree_release(&t);
        struct fs_sim_fs *rootfs = fs_world_fs_of(p->h, root);
        size_t nf = p->h->nfiles; /* -delete does not add files */
        for (size_t k = 0; k < nf; k++) {
            struct fs_sim_file *f = &p->h->files[k];
            if (f->deleted || !below(f->path, root) ||
                (xdev && fs_world_fs_of(p->h, f->path) != rootfs))
                continue;
            struct cand c = {f->path, f, depth_of(root, f->path)};
            if (c.depth >= mindepth && c.depth <= maxdepth)
                eval_find(&x, &c);
        }
    }
    p->c->exit_code = code;
    if (p->deleted)
        fs_world_effect(p->w, p->h->name, "find", "deleted %zu files (%" PRIu64 " bytes) below %s",
                        p->deleted, p->deleted_bytes, nroots ? roots[0] : "?");
    return 0;
}

/* ---- processes, memory, load -------------------------------------------------------------- */

static int cmp_rss(const void *a, const void *b)
{
    const struct fs_sim_proc *x = *(const struct fs_sim_proc *const *)a;
    const struct fs_sim_proc *y = *(const struct fs_sim_proc *const *)b;
    return x->rss < y->rss ? 1 : x->rss > y->rss ? -1 : 0;
}

static int cmp_cpu(const void *a, const void *b)
{
    const struct fs_sim_proc *x = *(const struct fs_sim_proc *const *)a;
    const struct fs_sim_proc *y = *(const struct fs_sim_proc *const *)b;
    return x->cpu_percent < y->cpu_percent ? 1 : x->cpu_percent > y->cpu_percent ? -1 : 0;
}

static void ps_line(struct prog *p, const struct fs_sim_proc *pr, bool probe)
{
    int64_t et = (p->now - pr->start_ms) / 1000;
    if (probe)
        outf(p, "%7" PRId64 " %7" PRId64 " %-12s %c %5.1f %8" PRIu64 " %8" PRId64 " %.15s\n",
             pr->pid, pr->ppid, pr->user, pr->state, pr->cpu_percent, pr->rss / KIB, et,
             pr->command);
    else
        outf(p, "%7" PRId64 " %7" PRId64 " %-12s %5.1f %4.1f %8" PRIu64 " %8" PRId64 " %.15s\n",
             pr->pid, pr->ppid, pr->user, pr->cpu_percent, pr->mem_percent, pr->rss / KIB, et,
             pr->command);
}

static int ps(struct prog *p)
{
    const char *pid = NULL;
    bool by_mem = false;
    for (int i = 1; i < p->argc; i++) {
        if (!strcmp(p->argv[i], "-p") && i + 1 < p->argc)
            pid = p->argv[i + 1];
        if (!strcmp(p->argv[i], "--sort=-rss"))
            by_mem = true;
    }
    if (pid) {
        for (size_t k = 0; k < p->h->nprocs; k++)
            if (!p->h->procs[k].gone && p->h->procs[k].pid == strtoll(pid, NULL, 10)) {
                ps_line(p, &p->h->procs[k], true);
                return 0;
            }
        p->c->exit_code = 1;
        return 0;
    }
    const struct fs_sim_proc **v = calloc(p->h->nprocs + 1, sizeof(*v));
    if (!v)
        return -FS_E_NOMEM;
    size_t n = 0;
    for (size_t k = 0; k < p->h->nprocs; k++)
        if (!p->h->procs[k].gone)
            v[n++] = &p->h->procs[k];
    qsort(v, n, sizeof(*v), by_mem ? cmp_rss : cmp_cpu);
    for (size_t k = 0; k < n; k++)
        ps_line(p, v[k], false);
    free(v);
    return 0;
}

static int cat(struct prog *p)
{
    const char *path = p->argv[p->argc - 1];
    struct fs_sim_host *h = p->h;
    if (!strcmp(path, "/proc/meminfo")) {
        outf(p,
             "MemTotal:       %" PRIu64 " kB\nMemFree:        %" PRIu64
             " kB\nMemAvailable:   %" PRIu64 " kB\nBuffers:        %" PRIu64
             " kB\nCached:         %" PRIu64 " kB\nSwapCached:            0 kB\n"
             "SwapTotal:      %" PRIu64 " kB\nSwapFree:       %" PRIu64 " kB\n",
             h->mem_total / KIB, h->mem_free / KIB, h->mem_available / KIB, h->mem_buffers / KIB,
             h->mem_cached / KIB, h->swap_total / KIB, h->swap_free / KIB);
        return 0;
    }
    if (!strcmp(path, "/proc/loadavg")) {
        size_t running = 0;
        for (size_t k = 0; k < h->nprocs; k++)
            running += !h->procs[k].gone && h->procs[k].state == 'R';
        outf(p, "%.2f %.2f %.2f %zu/%zu 48213\n", h->load[0], h->load[1], h->load[2],
             FS_MAX(running, (size_t)1), h->nprocs + 120);
        return 0;
    }
    for (size_t k = 0; k < h->ncerts; k++)
        if (!strcmp(h->certs[k].path, path) && file_at(h, path)) {
            struct fs_err e;
            int rc = fs_world_pem(p->w, &h->certs[k], &p->c->out, &e);
            if (rc == -FS_E_NOMEM)
                return rc;
            return rc < 0 ? fail(p, 1, "cat: %s: %s", path, e.msg) : 0;
        }
    for (size_t k = 0; k < h->nlogs; k++)
        if (!strcmp(h->logs[k].path, path)) {
            for (size_t j = 0; j < h->logs[k].n; j++)
                outf(p, "%s\n", h->logs[k].lines[j]);
            return 0;
        }
    if (is_dir(h, path))
        return fail(p, 1, "cat: %s: Is a directory", path);
    if (file_at(h, path))
        return fail(p, 1, "cat: %s: binary content is not simulated", path);
    return fail(p, 1, "cat: %s: No such file or directory", path);
}

static int tail(struct prog *p)
{
    long n = 10;
    for (int i = 1; i + 1 < p->argc; i++)
        if (!strcmp(p->argv[i], "-n"))
            n = strtol(p->argv[i + 1], NULL, 10);
    const char *path = p->argv[p->argc - 1];
    for (size_t k = 0; k < p->h->nlogs; k++)
        if (!strcmp(p->h->logs[k].path, path)) {
            size_t from = p->h->logs[k].n > (size_t)n ? p->h->logs[k].n - (size_t)n : 0;
            for (size_t j = from; j < p->h->logs[k].n; j++)
                outf(p, "%s\n", p->h->logs[k].lines[j]);
            return 0;
        }
    if (file_at(p->h, path))
        return 0;
    return fail(p, 1, "tail: cannot open '%s' for reading: No such file or directory", path);
}

/* ---- services, journal ------------------------------------------------------------------- */

static struct fs_sim_service *service(struct fs_sim_host *h, const char *unit)
{
    for (size_t k = 0; k < h->nservices; k++)
        if (!strcmp(h->services[k].unit, unit))
            return &h->services[k];
    return NULL;
}

static void set_str(char **dst, const char *v)
{
    char *d = fs_strdup(v);
    if (d) {
        free(*dst);
        *dst = d;
    }
}

static int systemctl(struct prog *p)
{
    if (p->argc < 3)
        return fail(p, 1, "systemctl: too few arguments");
    const char *verb = p->argv[1], *unit = p->argv[p->argc - 1];
    struct fs_sim_service *s = service(p->h, unit);
    if (!strcmp(verb, "show")) {
        if (!s) {
            outf(p, "LoadState=not-found\nActiveState=inactive\nSubState=dead\nNRestarts=0\n"
                    "ExecMainStatus=0\nActiveEnterTimestamp=\nMemoryCurrent=[not set]\n");
            return 0;
        }
        /* when it last became active (systemd keeps it after the unit fails) */
        char ts[64] = "";
        time_t t = (time_t)(s->active_since_ms / 1000);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(ts, sizeof(ts), "%a %Y-%m-%d %H:%M:%S UTC", &tm);
        outf(p,
             "LoadState=%s\nActiveState=%s\nSubState=%s\nNRestarts=%" PRId64
             "\nExecMainStatus=%" PRId64 "\nActiveEnterTimestamp=%s\n",
             s->load_state, s->active_state, s->sub_state, s->restarts, s->exit_status, ts);
        if (s->memory)
            outf(p, "MemoryCurrent=%" PRIu64 "\n", s->memory);
        else
            outf(p, "MemoryCurrent=[not set]\n");
        return 0;
    }
    if (!strcmp(verb, "restart")) {
        if (!s || strcmp(s->load_state, "loaded"))
            return fail(p, 5, "Failed to restart %s: Unit %s not found.", unit, unit);
        s->restarted++;
        if (s->restart_fails) {
            set_str(&s->active_state, "failed");
            set_str(&s->sub_state, "failed");
            s->exit_status = s->exit_status ? s->exit_status : 1;
            fs_world_effect(p->w, p->h->name, "systemctl", "restart %s: it failed again", unit);
            return fail(p, 1,
                        "Job for %s failed because the control process exited with error "
                        "code.\nSee \"systemctl status %s\" and \"journalctl -xeu %s\" for "
                        "details.",
                        unit, unit, unit);
        }
        set_str(&s->active_state, "active");
        set_str(&s->sub_state, "running");
        s->exit_status = 0;
        s->active_since_ms = fs_now_ms();
        /* its processes start afresh: their memory is what a new process uses */
        uint64_t freed = 0;
        for (size_t k = 0; k < p->h->nprocs; k++) {
            struct fs_sim_proc *pr = &p->h->procs[k];
            if (!pr->service || strcmp(pr->service, unit) || pr->gone)
                continue;
            uint64_t after = (uint64_t)(pr->mem_after / 100.0 * (double)p->h->mem_total);
            freed += pr->rss > after ? pr->rss - after : 0;
            pr->rss = FS_MIN(pr->rss, after);
            pr->mem_percent = pr->mem_after;
            pr->start_ms = fs_now_ms();
            pr->pid += 100000;
        }
        p->h->mem_available = FS_MIN(p->h->mem_total, p->h->mem_available + freed);
        p->h->mem_free = FS_MIN(p->h->mem_total, p->h->mem_free + freed);
        if (s->memory)
            s->memory = s->memory > freed ? s->memory - freed : s->memory / 10;
        fs_world_effect(p->w, p->h->name, "systemctl",
                        "restart %s: active, %" PRIu64 " bytes of memory returned", unit, freed);
        return 0;
    }
    return fail(p, 1, "systemctl %s is not simulated", verb);
}

static bool archived_journal(const char *name)
{
    return strchr(name, '@') || name[strlen(name) - 1] == '~';
}

static int cmp_mtime(const void *a, const void *b)
{
    const struct fs_sim_file *x = *(const struct fs_sim_file *const *)a;
    const struct fs_sim_file *y = *(const struct fs_sim_file *const *)b;
    return x->mtime_ms < y->mtime_ms ? -1 : x->mtime_ms > y->mtime_ms;
}

static void human(uint64_t b, char *out, size_t size)
{
    static const char u[] = "BKMGT";
    double v = (double)b;
    int i = 0;
    while (v >= 1024 && i < 4) {
        v /= 1024;
        i++;
    }
    snprintf(out, size, i ? "%.1f%c" : "%.0f%c", v, u[i]);
}

/* journalctl -p's names, most severe first. */
static int priority_of(const char *s)
{
    static const char *const names[] = {"emerg",   "alert",  "crit", "err",
                                        "warning", "notice", "info", "debug"};
    for (int i = 0; i < (int)FS_ARRAY_LEN(names); i++)
        if (!strcmp(names[i], s))
            return i;
    return -1;
}

/* "-30m", "-6h", "-2d", "-90s": how long ago, in ms; -1 when not that. */
static int64_t since_ago(const char *s)
{
    char *end = NULL;
    if (s[0] != '-' || s[1] < '1' || s[1] > '9')
        return -1;
    long long v = strtoll(s + 1, &end, 10);
    if (!end || !end[0] || end[1] || v > 1000000)
        return -1;
    int64_t unit = end[0] == 's'   ? 1000
                   : end[0] == 'm' ? 60000
                   : end[0] == 'h' ? 3600000
                   : end[0] == 'd' ? DAY_MS
                                   : 0;
    return unit ? v * unit : -1;
}

/* One entry as short-iso prints it (TZ=UTC): "2026-11-21T10:12:03+0000 web-1 nginx[812]: ...";
 * the lines after the first of a multi-line message are indented under its start. */
static void journal_entry(struct prog *p, const struct fs_sim_jentry *e)
{
    time_t t = (time_t)((e->t_ms < 0 ? 0 : e->t_ms) / 1000);
    struct tm tm = {0};
    char d[40] = "1970-01-01T00:00:00";
    if (gmtime_r(&t, &tm))
        strftime(d, sizeof(d), "%Y-%m-%dT%H:%M:%S", &tm);
    char pre[600];
    int n;
    if (!e->ident)
        n = snprintf(pre, sizeof(pre), "%s+0000 %s ", d, p->h->name);
    else if (e->pid)
        n = snprintf(pre, sizeof(pre), "%s+0000 %s %s[%" PRId64 "]: ", d, p->h->name, e->ident,
                     e->pid);
    else
        n = snprintf(pre, sizeof(pre), "%s+0000 %s %s: ", d, p->h->name, e->ident);
    n = n < 0 ? 0 : FS_MIN(n, (int)sizeof(pre) - 1);
    put(p, false, pre, (size_t)n);
    for (const char *m = e->message; *m;) {
        size_t k = strcspn(m, "\n");
        put(p, false, m, k);
        put(p, false, "\n", 1);
        m += k;
        if (*m == '\n') {
            m++;
            for (int i = 0; i < n; i++)
                put(p, false, " ", 1);
        }
    }
    if (!e->message[0])
        put(p, false, "\n", 1);
}

/* What journalctl's selectors let through. */
struct jsel {
    bool kernel;      /* -k: the kernel's messages of the current boot (since boot) */
    const char *unit; /* --unit= */
    int prio;         /* --priority=: this or more severe */
    int64_t since, boot;
};

static bool jselected(const struct jsel *s, const struct fs_sim_jentry *e)
{
    return e->priority <= s->prio && e->t_ms >= s->since &&
           (!s->kernel || (e->kernel && e->t_ms >= s->boot)) &&
           (!s->unit || fs_streq(e->unit, s->unit));
}

/* journalctl --no-pager -q -o short-iso -n N [-k] [--unit=U] [--priority=P] [--since=-AGO]:
 * the last N entries of the host's journal that match, oldest first. */
static int journal_read(struct prog *p)
{
    long n = 10;
    struct jsel sel = {.prio = 7, .since = INT64_MIN, .boot = p->w->now_ms - FS_SIM_UPTIME_MS};
    for (int i = 1; i < p->argc; i++) {
        const char *a = p->argv[i], *v = i + 1 < p->argc ? p->argv[i + 1] : NULL;
        if (!strcmp(a, "--no-pager") || !strcmp(a, "-q") || !strcmp(a, "--quiet"))
            continue;
        if (!strcmp(a, "-o") && v) {
            if (strcmp(v, "short-iso"))
                return fail(p, 1, "journalctl: output mode %s is not simulated", v);
            i++;
        } else if (!strcmp(a, "-n") && v) {
            char *end = NULL;
            n = strtol(v, &end, 10);
            if (!end || *end || n < 0)
                return fail(p, 1, "Failed to parse lines '%s'", v);
            i++;
        } else if (!strcmp(a, "-k") || !strcmp(a, "--dmesg")) {
            sel.kernel = true;
        } else if (!strncmp(a, "--unit=", 7)) {
            sel.unit = a + 7;
        } else if (!strncmp(a, "--priority=", 11)) {
            if ((sel.prio = priority_of(a + 11)) < 0)
                return fail(p, 1, "Unknown log level %s", a + 11);
        } else if (!strncmp(a, "--since=", 8)) {
            int64_t ago = since_ago(a + 8);
            if (ago < 0)
                return fail(p, 1, "Failed to parse timestamp: %s", a + 8);
            sel.since = p->now - ago;
        } else {
            return fail(p, 1, "journalctl: %s is not simulated", a);
        }
    }
    /* walk back to the Nth selected entry from the end, then print forward from there */
    const struct fs_sim_host *h = p->h;
    size_t from = h->njentries, kept = 0;
    while (from > 0 && kept < (size_t)n)
        kept += jselected(&sel, &h->jentries[--from]);
    for (size_t k = from; k < h->njentries; k++)
        if (jselected(&sel, &h->jentries[k]))
            journal_entry(p, &h->jentries[k]);
    return 0;
}

static int journalctl(struct prog *p)
{
    const char *dir = NULL, *vacuum = NULL;
    bool disk_usage = false;
    for (int i = 1; i < p->argc; i++) {
        const char *a = p->argv[i];
        if (!strncmp(a, "--directory=", 12))
            dir = a + 12;
        else if (!strncmp(a, "--vacuum-size=", 14))
            vacuum = a + 14;
        else if (!strcmp(a, "--disk-usage"))
            disk_usage = true;
        else if (!strcmp(a, "-n") || !strcmp(a, "-o"))
            return journal_read(p);
    }
    const char *jd = dir ? dir : p->h->journal_dir;
    uint64_t total = 0;
    size_t n = 0;
    for (size_t k = 0; jd && k < p->h->nfiles; k++) {
        struct fs_sim_file *f = &p->h->files[k];
        if (!f->deleted && below(f->path, jd) && strstr(base(f->path), ".journal")) {
            total += f->size;
            n++;
        }
    }
    if (disk_usage) {
        char hb[32];
        human(total, hb, sizeof(hb));
        outf(p, "Archived and active journals take up %s in the file system.\n", hb);
        return 0;
    }
    if (!vacuum)
        return fail(p, 1, "journalctl: this invocation is not simulated");
    uint64_t limit = 0;
    if (fs_size_parse(vacuum, &limit) < 0) {
        /* journalctl's suffixes are powers of 1024 */
        char *end = NULL;
        unsigned long long v = strtoull(vacuum, &end, 10);
        uint64_t mul = end && *end == 'K'   ? 1024
                       : end && *end == 'M' ? 1024 * 1024
                       : end && *end == 'G' ? 1024ULL * 1024 * 1024
                                            : 0;
        if (!mul)
            return fail(p, 1, "Failed to parse size value: %s", vacuum);
        limit = v * mul;
    } else {
        size_t l = strlen(vacuum);
        char suf = l ? vacuum[l - 1] : 0;
        if (suf == 'K' || suf == 'M' || suf == 'G')
            limit = strtoull(vacuum, NULL, 10) * (suf == 'K'   ? 1024ULL
                                                  : suf == 'M' ? 1024ULL * 1024
                                                               : 1024ULL * 1024 * 1024);
    }
    if (!jd || !is_dir(p->h, jd))
        return fail(p, 1, "Failed to open journal directory %s: No such file or directory",
                    jd ? jd : "/var/log/journal");
    struct fs_sim_file **v = calloc(n + 1, sizeof(*v));
    if (!v)
        return -FS_E_NOMEM;
    size_t m = 0;
    for (size_t k = 0; k < p->h->nfiles; k++) {
        struct fs_sim_file *f = &p->h->files[k];
        if (!f->deleted && below(f->path, jd) && strstr(base(f->path), ".journal") &&
            archived_journal(base(f->path)))
            v[m++] = f;
    }
    qsort(v, m, sizeof(*v), cmp_mtime);
    uint64_t freed = 0;
    size_t removed = 0;
    for (size_t k = 0; k < m && total > limit; k++) {
        outf(p, "Deleted archived journal %s (%" PRIu64 "B).\n", v[k]->path, v[k]->size);
        total -= v[k]->size;
        freed += v[k]->size;
        removed++;
        delete_file(p, v[k]);
    }
    free(v);
    char hb[32];
    human(freed, hb, sizeof(hb));
    outf(p, "Vacuuming done, freed %s of archived journals from %s.\n", hb, jd);
    fs_world_effect(p->w, p->h->name, "journalctl",
                    "vacuumed %s: %zu archived files, %" PRIu64 " bytes freed", jd, removed, freed);
    return 0;
}

/* ---- the rest of the programs ------------------------------------------------------------ */

static int ss(struct prog *p)
{
    for (size_t k = 0; k < p->h->nports; k++) {
        const struct fs_sim_port *pt = &p->h->ports[k];
        bool v6 = strchr(pt->address, ':') != NULL;
        outf(p, "%-5s %-6s 0      4096   %s%s%s:%" PRId64 "   %s:*\n", pt->proto,
             strcmp(pt->proto, "udp") ? "LISTEN" : "UNCONN", v6 ? "[" : "", pt->address,
             v6 ? "]" : "", pt->port, v6 ? "[::]" : "0.0.0.0");
    }
    return 0;
}

static int stat_prog(struct prog *p)
{
    const char *path = p->argv[p->argc - 1];
    struct fs_sim_file *f = file_at(p->h, path);
    int64_t mtime = p->w->now_ms;
    if (f) {
        mtime = f->mtime_ms;
        outf(p, "81a4\t%" PRIu64 "\t644\t%" PRId64 "\troot\n", f->size, mtime / 1000);
        return 0;
    }
    if (is_dir(p->h, path)) {
        outf(p, "41ed\t4096\t755\t%" PRId64 "\troot\n", mtime / 1000 - 86400);
        return 0;
    }
    return fail(p, 1, "stat: cannot statx '%s': No such file or directory", path);
}

static int kill_prog(struct prog *p)
{
    const char *sig = "TERM";
    int i = 1;
    if (i + 1 < p->argc && !strcmp(p->argv[i], "-s")) {
        sig = p->argv[i + 1];
        i += 2;
    }
    if (i >= p->argc)
        return fail(p, 2, "kill: usage: kill [-s sigspec] pid");
    int64_t pid = strtoll(p->argv[i], NULL, 10);
    for (size_t k = 0; k < p->h->nprocs; k++) {
        struct fs_sim_proc *pr = &p->h->procs[k];
        if (pr->gone || pr->pid != pid)
            continue;
        if (strcmp(sig, "KILL") && pr->ignores_term) {
            fs_world_effect(p->w, p->h->name, "kill", "SIG%s to %" PRId64 " (%s): ignored", sig,
                            pid, pr->command);
            return 0;
        }
        pr->gone = true;
        double cores = (double)p->h->cores;
        for (int j = 0; j < 3; j++)
            p->h->load[j] = FS_MAX(0.0, p->h->load[j] - pr->cpu_percent / 100.0 * (j ? 0.3 : 1));
        p->h->mem_available = FS_MIN(p->h->mem_total, p->h->mem_available + pr->rss);
        (void)cores;
        fs_world_effect(p->w, p->h->name, "kill", "SIG%s ended %" PRId64 " (%s)", sig, pid,
                        pr->command);
        return 0;
    }
    return fail(p, 1, "kill: (%" PRId64 ") - No such process", pid);
}

static int apt_get(struct prog *p)
{
    if (p->argc < 2 || strcmp(p->argv[1], "clean"))
        return fail(p, 100, "E: apt-get %s is not simulated", p->argc > 1 ? p->argv[1] : "");
    uint64_t freed = 0;
    for (size_t k = 0; k < p->h->nfiles; k++) {
        struct fs_sim_file *f = &p->h->files[k];
        if (!f->deleted && below(f->path, "/var/cache/apt")) {
            freed += f->size;
            delete_file(p, f);
        }
    }
    for (size_t k = 0; k < p->h->ndirs; k++) {
        struct fs_sim_dir *d = &p->h->dirs[k];
        if (at_or_below(d->path, "/var/cache/apt") && d->size) {
            struct fs_sim_fs *fs = fs_world_fs_of(p->h, d->path);
            if (fs)
                fs->used -= FS_MIN(fs->used, d->size);
            freed += d->size;
            d->size = 0;
        }
    }
    fs_world_effect(p->w, p->h->name, "apt-get", "clean: %" PRIu64 " bytes freed", freed);
    return 0;
}

static int certbot(struct prog *p)
{
    const char *name = NULL;
    for (int i = 1; i + 1 < p->argc; i++)
        if (!strcmp(p->argv[i], "--cert-name"))
            name = p->argv[i + 1];
    if (p->argc < 2 || strcmp(p->argv[1], "renew") || !name)
        return fail(p, 1, "certbot: only `renew --cert-name NAME` is simulated");
    bool found = false;
    for (size_t k = 0; k < p->h->ncerts; k++) {
        struct fs_sim_cert *c = &p->h->certs[k];
        if (!c->certbot_name || strcmp(c->certbot_name, name))
            continue;
        found = true;
        if (c->renew_fails)
            return fail(p, 1,
                        "Failed to renew certificate %s with error: Some challenges have "
                        "failed.",
                        name);
        c->not_before_ms = fs_now_ms();
        c->not_after_ms = c->not_before_ms + 90 * DAY_MS;
    }
    if (!found)
        return fail(p, 1, "No certificate found with name %s", name);
    fs_world_effect(p->w, p->h->name, "certbot", "renewed %s for 90 days", name);
    outf(p,
         "Congratulations, all renewals succeeded:\n  /etc/letsencrypt/live/%s/fullchain.pem "
         "(success)\n",
         name);
    return 0;
}

static int nproc(struct prog *p)
{
    outf(p, "%" PRId64 "\n", p->h->cores);
    return 0;
}

static int kubectl(struct prog *p)
{
    return fail(p, 1, "error: the simulated world has no Kubernetes cluster");
}

static const struct {
    const char *name;
    int (*run)(struct prog *p);
} programs[] = {
    {"df", df},
    {"du", du},
    {"find", find},
    {"ps", ps},
    {"cat", cat},
    {"tail", tail},
    {"nproc", nproc},
    {"systemctl", systemctl},
    {"journalctl", journalctl},
    {"ss", ss},
    {"stat", stat_prog},
    {"kill", kill_prog},
    {"apt-get", apt_get},
    {"certbot", certbot},
    {"kubectl", kubectl},
};

/* ---- the hooks ---------------------------------------------------------------------------- */

static int sim_run(const struct fs_sim *s, const char *host, struct fs_child *c, struct fs_err *err)
{
    struct fs_world *w = s->world;
    size_t max_out = c->max_stdout ? c->max_stdout : FS_CHILD_DEFAULT_MAX_OUTPUT;
    size_t max_err = c->max_stderr ? c->max_stderr : FS_CHILD_DEFAULT_MAX_OUTPUT;
    fs_buf_release(&c->out);
    fs_buf_release(&c->err);
    fs_buf_init(&c->out, 0);
    fs_buf_init(&c->err, 0);
    c->out.max = max_out;
    c->err.max = max_err;
    c->stdout_truncated = c->stderr_truncated = false;
    c->exit_code = 0;
    c->term_signal = 0;
    c->timed_out = false;
    c->duration_ms = 0;
    c->pid = 0;
    if (!c->argv || !c->argv[0])
        return fs_err_set(err, FS_E_INVALID, NULL, "empty argv");
    int argc = 0;
    while (c->argv[argc])
        argc++;
    const char *name = base(c->argv[0]);
    int rc = 0;
    pthread_mutex_lock(&w->mu);
    struct fs_sim_host *h = fs_world_host(w, host);
    struct prog p = {w, h, c, c->argv, argc, fs_now_ms(), 0, 0};
    size_t k = 0;
    for (; k < sizeof(programs) / sizeof(programs[0]); k++)
        if (!strcmp(programs[k].name, name))
            break;
    if (!h) {
        /* what ssh says of a host that does not exist */
        fail(&p, 255, "ssh: Could not resolve hostname %s: Name or service not known",
             host ? host : "");
    } else if (k == sizeof(programs) / sizeof(programs[0])) {
        rc = fs_err_set(err, FS_E_NOT_FOUND, NULL, "%s: not a program of the simulated world",
                        c->argv[0]);
    } else {
        rc = programs[k].run(&p);
    }
    pthread_mutex_unlock(&w->mu);
    /* the parsers expect data to be there, even when empty */
    if (rc == 0 && ((!c->out.data && fs_buf_reserve(&c->out, 1) < 0) ||
                    (!c->err.data && fs_buf_reserve(&c->err, 1) < 0)))
        rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    if (rc == 0) {
        c->out.data[c->out.len] = '\0';
        c->err.data[c->err.len] = '\0';
    } else {
        fs_buf_release(&c->out);
        fs_buf_release(&c->err);
    }
    return rc;
}

static int sim_http(const struct fs_sim *s, const char *url, bool post, const char *form,
                    long *status, struct fs_buf *body, struct fs_err *err)
{
    struct fs_world *w = s->world;
    pthread_mutex_lock(&w->mu);
    int rc = fs_world_http(w, url, post, form, status, body, err);
    pthread_mutex_unlock(&w->mu);
    return rc;
}

static int sim_tls(const struct fs_sim *s, const char *host, int64_t port, struct fs_buf *pem,
                   char *why, size_t why_size)
{
    struct fs_world *w = s->world;
    int rc = 1;
    pthread_mutex_lock(&w->mu);
    snprintf(why, why_size, "TLS handshake with %s:%lld failed: Could not connect to server", host,
             (long long)port);
    for (size_t k = 0; k < w->nendpoints; k++)
        if (!strcmp(w->endpoints[k].host, host) && w->endpoints[k].port == port) {
            struct fs_err e;
            rc = fs_world_pem(w, &w->endpoints[k], pem, &e);
            if (rc < 0 && rc != -FS_E_NOMEM) {
                snprintf(why, why_size, "%s", e.msg);
                rc = 1;
            }
            break;
        }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

void fs_world_sim(struct fs_world *w, struct fs_sim *out)
{
    out->run = sim_run;
    out->http = sim_http;
    out->tls_pem = sim_tls;
    out->world = w;
}
