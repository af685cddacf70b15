/* graph: the knowledge graph the operator writes down (entities, relations, change windows).
 * It owns loading and validating that file (every problem named file:line: key), the name and
 * alias index, the reverse adjacency behind the blast radius, and window arithmetic. It must
 * not execute anything, call the network or write the store: it only answers questions about
 * what it loaded. A loaded graph is never modified (threads share it); its strings borrow from
 * the parsed document it keeps. */
#include "core/common.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "context/graph.h"
#include "core/diag.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/time.h"
#include "core/yaml.h"

/* Limits on what a graph file may declare: far above a real estate, low enough that a broken
 * or hostile file cannot make the daemon allocate without bound. */
#define MAX_ENTITIES 100000
#define MAX_RELATIONS 500000
#define MAX_WINDOWS 10000
#define MAX_NAME 253
#define MAX_ALIASES 64
#define MAX_LABELS 64
#define MAX_LABEL_KEY 128
#define MAX_TEXT 256
#define MAX_DESCRIPTION 2000
#define MAX_URL 2048
#define MAX_CLASS 64
#define MAX_VALUES 1000
#define MAX_SUGGESTIONS 20 /* "did you mean" passes over every name: only for the first few */
#define JSON_DEPENDENTS 100

#define MIN_MS 60000LL
#define DAY_MS 86400000LL
#define HORIZON_MS (7 * DAY_MS)
#define NOW_LIMIT (1LL << 62) /* clamp: keeps day arithmetic far from overflow */

static const char *const kind_names[FS_KIND__COUNT] = {
    "host", "service", "database", "cluster", "queue", "storage", "network", "other",
};
static const char *const rel_names[FS_REL__COUNT] = {"depends_on", "runs_on", "part_of"};
static const char *const window_kind_names[] = {"freeze", "maintenance"};
static const char *const day_names[7] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
static const char *const day_long[7] = {"sunday",   "monday", "tuesday", "wednesday",
                                        "thursday", "friday", "saturday"};

const char *fs_entity_kind_name(enum fs_entity_kind k)
{
    return (unsigned)k < FS_KIND__COUNT ? kind_names[k] : "?";
}

const char *fs_relation_type_name(enum fs_relation_type t)
{
    return (unsigned)t < FS_REL__COUNT ? rel_names[t] : "?";
}

const char *fs_window_kind_name(enum fs_window_kind k)
{
    return (unsigned)k < FS_ARRAY_LEN(window_kind_names) ? window_kind_names[k] : "?";
}

/* ---- the loaded graph ------------------------------------------------------------------- */

struct ent {
    struct fs_entity pub; /* first: an fs_entity of this graph is a struct ent */
    int class_line;       /* line of resource_class, or of kind when implied by it */
    bool class_implied;
    bool aliases_scalar; /* aliases: one-name (not a list) */
};

struct rel {
    uint32_t from, to;
    enum fs_relation_type type;
    int line;
    /* where it was written, to name it in messages: relations[item], or entities[owner].<type>
     * ([item] unless it was a single string) */
    uint32_t owner, item;
    bool in_list, scalar;
};

struct strvals {
    const char **v; /* borrowed strings; n == 0: any value */
    size_t n;
};

struct label_match {
    const char *key;
    struct strvals vals;
};

struct win {
    struct fs_window pub; /* first: an fs_window of this graph is a struct win */
    bool all;
    uint32_t *ents; /* the entities listed by name, sorted, unique */
    size_t nents;
    bool has_match;
    struct strvals env, owner, classification, resource_class;
    unsigned kinds; /* bit per enum fs_entity_kind; 0: any */
    struct label_match *labels;
    size_t nlabels;
    int class_line;
    int64_t start, end; /* bounds in ms, end exclusive; FS_TIME_UNSET: open (recurring only) */
    bool every;
    unsigned days;        /* bit per weekday, bit 0 = Sunday */
    int from_min, to_min; /* minutes of the day; to is inclusive (the whole minute) */
};

struct slot {
    const char *key; /* NULL: empty */
    uint32_t len;
    uint32_t ent;
};

struct fs_graph {
    json_t *root; /* the parsed file: every string of the graph borrows from it */
    char *source;
    char version[24];
    struct ent *ents;
    size_t n;
    struct rel *rels;
    size_t nrels;
    /* CSR adjacency over relation indices, in file order: out_rel[out_start[i]..out_start[i+1])
     * are the relations from entity i, in_rel[...] those to it */
    uint32_t *out_start, *out_rel, *in_start, *in_rel;
    struct slot *index; /* names and aliases, open addressing */
    size_t mask;
    struct win *wins;
    size_t nwins;
};

static bool in_graph(const struct fs_graph *g, const struct fs_entity *e)
{
    const struct ent *x = (const struct ent *)e;
    return g && e && g->n && x >= g->ents && x < g->ents + g->n;
}

static uint32_t ent_index(const struct fs_graph *g, const struct fs_entity *e)
{
    return (uint32_t)((const struct ent *)e - g->ents);
}

static void strvals_free(struct strvals *s)
{
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

static void win_release(struct win *w)
{
    free(w->ents);
    strvals_free(&w->env);
    strvals_free(&w->owner);
    strvals_free(&w->classification);
    strvals_free(&w->resource_class);
    for (size_t i = 0; i < w->nlabels; i++)
        strvals_free(&w->labels[i].vals);
    free(w->labels);
}

void fs_graph_free(struct fs_graph *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n; i++) {
        free((void *)g->ents[i].pub.aliases);
        free((void *)g->ents[i].pub.labels);
        free((void *)g->ents[i].pub.links);
    }
    free(g->ents);
    free(g->rels);
    free(g->out_start);
    free(g->out_rel);
    free(g->in_start);
    free(g->in_rel);
    free(g->index);
    for (size_t i = 0; i < g->nwins; i++)
        win_release(&g->wins[i]);
    free(g->wins);
    free(g->source);
    json_decref(g->root);
    free(g);
}

const char *fs_graph_version(const struct fs_graph *g)
{
    return g ? g->version : "empty";
}

const char *fs_graph_source(const struct fs_graph *g)
{
    return g && g->source ? g->source : "";
}

size_t fs_graph_size(const struct fs_graph *g)
{
    return g ? g->n : 0;
}

const struct fs_entity *fs_graph_entity_at(const struct fs_graph *g, size_t i)
{
    return g && i < g->n ? &g->ents[i].pub : NULL;
}

size_t fs_graph_window_count(const struct fs_graph *g)
{
    return g ? g->nwins : 0;
}

const struct fs_window *fs_graph_window_at(const struct fs_graph *g, size_t i)
{
    return g && i < g->nwins ? &g->wins[i].pub : NULL;
}

/* ---- the name index --------------------------------------------------------------------- */

static uint64_t hash_bytes(const char *s, size_t len)
{
    uint64_t h = fs_fnv64a_add(FS_FNV64_OFFSET, s, len);
    return h ^ (h >> 29); /* FNV's low bits mix poorly; the mask keeps only those */
}

/* The slot holding s[0..len), or the empty slot where it would go. */
static struct slot *index_slot(const struct fs_graph *g, const char *s, size_t len)
{
    size_t i = (size_t)hash_bytes(s, len) & g->mask;
    for (;; i = (i + 1) & g->mask) {
        struct slot *sl = &g->index[i];
        if (!sl->key || (sl->len == len && memcmp(sl->key, s, len) == 0))
            return sl;
    }
}

static const struct fs_entity *lookup(const struct fs_graph *g, const char *s, size_t len)
{
    if (!g->index || len == 0 || len > MAX_NAME)
        return NULL;
    const struct slot *sl = index_slot(g, s, len);
    return sl->key ? &g->ents[sl->ent].pub : NULL;
}

static bool all_digits(const char *s, size_t len)
{
    if (len == 0 || len > 5)
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

const struct fs_entity *fs_graph_find(const struct fs_graph *g, const char *s)
{
    if (!g || !s)
        return NULL;
    size_t len = strlen(s);
    const struct fs_entity *e = lookup(g, s, len);
    if (e)
        return e;
    /* an instance label: "[v6]:port" or "host:port" (a host part with another ':' is an IPv6
     * address without brackets, whose last group is not a port) */
    if (s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (close &&
            (close[1] == '\0' || (close[1] == ':' && all_digits(close + 2, strlen(close + 2)))))
            return lookup(g, s + 1, (size_t)(close - s - 1));
        return NULL;
    }
    const char *colon = strrchr(s, ':');
    if (!colon || !all_digits(colon + 1, strlen(colon + 1)) || memchr(s, ':', (size_t)(colon - s)))
        return NULL;
    return lookup(g, s, (size_t)(colon - s));
}

/* ---- time arithmetic -------------------------------------------------------------------- */

static int64_t floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

static int weekday(int64_t day) /* day 0 = 1970-01-01, a Thursday; 0 = Sunday */
{
    int64_t w = (day + 4) % 7;
    return (int)(w < 0 ? w + 7 : w);
}

static int64_t clamp_now(int64_t now)
{
    return now < -NOW_LIMIT ? -NOW_LIMIT : now > NOW_LIMIT ? NOW_LIMIT : now;
}

struct occ {
    int64_t s, e; /* [s, e) */
};

/* The occurrence of a weekly window that starts on day d, clipped to the window's bounds;
 * false when there is none (not one of its days, or outside the bounds). */
static bool occurrence(const struct win *w, int64_t d, struct occ *o)
{
    if (!(w->days & (1u << weekday(d))))
        return false;
    o->s = d * DAY_MS + w->from_min * MIN_MS;
    o->e = (w->from_min <= w->to_min ? d : d + 1) * DAY_MS + (w->to_min + 1) * MIN_MS;
    if (w->start != FS_TIME_UNSET && o->s < w->start)
        o->s = w->start;
    if (w->end != FS_TIME_UNSET && o->e > w->end)
        o->e = w->end;
    return o->s < o->e;
}

static bool win_active(const struct win *w, int64_t now)
{
    if (!w->every)
        return w->start <= now && now < w->end;
    int64_t d = floordiv(now, DAY_MS);
    struct occ o;
    for (int64_t k = d - 1; k <= d; k++)
        if (occurrence(w, k, &o) && o.s <= now && now < o.e)
            return true;
    return false;
}

/* The run of back-to-back occurrences containing now (cur) and the first one starting in
 * (now, now + HORIZON_MS] (next). A start or end of FS_TIME_UNSET: the run goes on beyond the
 * days looked at (a window every day from 00:00 to 23:59 never ends). */
static void win_spans(const struct win *w, int64_t now, bool *has_cur, struct occ *cur,
                      bool *has_next, struct occ *next)
{
    *has_cur = *has_next = false;
    if (!w->every) {
        if (w->start <= now && now < w->end) {
            *has_cur = true;
            *cur = (struct occ){w->start, w->end};
        } else if (now < w->start && w->start <= now + HORIZON_MS) {
            *has_next = true;
            *next = (struct occ){w->start, w->end};
        }
        return;
    }
    int64_t d0 = floordiv(now, DAY_MS) - 1, dlast = d0 + 9;
    struct occ runs[12], o;
    size_t nr = 0;
    for (int64_t d = d0; d <= dlast; d++) {
        if (!occurrence(w, d, &o))
            continue;
        if (nr && o.s <= runs[nr - 1].e)
            runs[nr - 1].e = FS_MAX(runs[nr - 1].e, o.e);
        else
            runs[nr++] = o;
    }
    if (nr == 0)
        return;
    bool open_start = occurrence(w, d0 - 1, &o) && o.e >= runs[0].s;
    bool open_end = occurrence(w, dlast + 1, &o) && o.s <= runs[nr - 1].e;
    for (size_t i = 0; i < nr; i++) {
        struct occ r = runs[i];
        bool last = i == nr - 1;
        if (r.s <= now && (now < r.e || (last && open_end))) {
            *has_cur = true;
            *cur = r;
            if (i == 0 && open_start)
                cur->s = FS_TIME_UNSET;
            if (last && open_end)
                cur->e = FS_TIME_UNSET;
        } else if (now < r.s && r.s <= now + HORIZON_MS && !*has_next) {
            *has_next = true;
            *next = r;
            if (last && open_end)
                next->e = FS_TIME_UNSET;
        }
    }
}

/* ---- window coverage -------------------------------------------------------------------- */

static bool in_vals(const struct strvals *sv, const char *s)
{
    if (sv->n == 0)
        return true;
    if (!s)
        return false;
    for (size_t i = 0; i < sv->n; i++)
        if (strcmp(sv->v[i], s) == 0)
            return true;
    return false;
}

static const char *label_of(const struct fs_entity *e, const char *key)
{
    for (size_t i = 0; i < e->nlabels; i++)
        if (e->labels[i].key && strcmp(e->labels[i].key, key) == 0)
            return e->labels[i].value;
    return NULL;
}

static bool match_entity(const struct win *w, const struct fs_entity *e)
{
    if (!in_vals(&w->env, e->env) || !in_vals(&w->owner, e->owner) ||
        !in_vals(&w->classification, e->classification) ||
        !in_vals(&w->resource_class, e->resource_class))
        return false;
    if (w->kinds && ((unsigned)e->kind >= FS_KIND__COUNT || !(w->kinds & (1u << e->kind))))
        return false;
    for (size_t i = 0; i < w->nlabels; i++)
        if (!in_vals(&w->labels[i].vals, label_of(e, w->labels[i].key)))
            return false;
    return true;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static bool win_covers(const struct fs_graph *g, const struct win *w, const struct fs_entity *e)
{
    if (w->all)
        return true;
    if (!e)
        return false;
    if (w->nents && in_graph(g, e)) {
        uint32_t i = ent_index(g, e);
        if (bsearch(&i, w->ents, w->nents, sizeof(uint32_t), cmp_u32))
            return true;
    }
    return w->has_match && match_entity(w, e);
}

const struct fs_window *fs_graph_freeze_at(const struct fs_graph *g, const struct fs_entity *e,
                                           int64_t now_ms)
{
    if (!g)
        return NULL;
    now_ms = clamp_now(now_ms);
    for (size_t i = 0; i < g->nwins; i++) {
        const struct win *w = &g->wins[i];
        if (w->pub.kind == FS_WINDOW_FREEZE && win_covers(g, w, e) && win_active(w, now_ms))
            return &w->pub;
    }
    return NULL;
}

/* ---- blast radius ----------------------------------------------------------------------- */

struct step {
    uint32_t ent, parent, dist;
    enum fs_relation_type type; /* ent <type> parent */
};

/* Breadth-first over reverse depends_on and runs_on. The queue and the visited set start in
 * the struct itself and move to the heap only for large radii, so that the common query does
 * not allocate and the time is linear in what is reached, never in the size of the graph. */
struct walk {
    struct step *q;
    size_t n, cap;
    uint32_t *set; /* open addressing, UINT32_MAX: empty */
    size_t mask, used;
    struct step qbuf[64];
    uint32_t sbuf[256];
};

static void walk_release(struct walk *w)
{
    if (w->q != w->qbuf)
        free(w->q);
    if (w->set != w->sbuf)
        free(w->set);
}

static size_t set_pos(const uint32_t *set, size_t mask, uint32_t x)
{
    size_t i = ((size_t)x * 2654435761u) & mask;
    while (set[i] != UINT32_MAX && set[i] != x)
        i = (i + 1) & mask;
    return i;
}

/* 1: added, 0: already there, -FS_E_NOMEM */
static int set_add(struct walk *w, uint32_t x)
{
    if ((w->used + 1) * 2 > w->mask + 1) {
        size_t cap = (w->mask + 1) * 2;
        uint32_t *set = fs_malloc(cap * sizeof(*set));
        if (!set)
            return -FS_E_NOMEM;
        memset(set, 0xff, cap * sizeof(*set));
        for (size_t i = 0; i <= w->mask; i++)
            if (w->set[i] != UINT32_MAX)
                set[set_pos(set, cap - 1, w->set[i])] = w->set[i];
        if (w->set != w->sbuf)
            free(w->set);
        w->set = set;
        w->mask = cap - 1;
    }
    size_t i = set_pos(w->set, w->mask, x);
    if (w->set[i] == x)
        return 0;
    w->set[i] = x;
    w->used++;
    return 1;
}

static int push(struct walk *w, struct step s)
{
    if (w->n == w->cap) {
        size_t cap = w->cap * 2;
        struct step *q = fs_malloc(cap * sizeof(*q));
        if (!q)
            return -FS_E_NOMEM;
        memcpy(q, w->q, w->n * sizeof(*q));
        if (w->q != w->qbuf)
            free(w->q);
        w->q = q;
        w->cap = cap;
    }
    w->q[w->n++] = s;
    return 0;
}

static int walk_run(const struct fs_graph *g, uint32_t start, struct walk *w)
{
    w->q = w->qbuf;
    w->n = 0;
    w->cap = FS_ARRAY_LEN(w->qbuf);
    w->set = w->sbuf;
    w->mask = FS_ARRAY_LEN(w->sbuf) - 1;
    w->used = 0;
    memset(w->sbuf, 0xff, sizeof(w->sbuf));
    int rc = set_add(w, start);
    for (size_t head = 0; rc >= 0; head++) {
        uint32_t x = head == 0 ? start : w->q[head - 1].ent;
        uint32_t dist = head == 0 ? 0 : w->q[head - 1].dist;
        for (uint32_t k = g->in_start[x]; k < g->in_start[x + 1] && rc >= 0; k++) {
            const struct rel *r = &g->rels[g->in_rel[k]];
            if (r->type == FS_REL_PART_OF)
                continue;
            if ((rc = set_add(w, r->from)) == 1)
                rc = push(w, (struct step){r->from, x, dist + 1, r->type});
        }
        if (head == w->n)
            break;
    }
    return rc < 0 ? rc : 0;
}

int fs_graph_dependents(const struct fs_graph *g, const struct fs_entity *e,
                        const struct fs_entity **out, size_t max, size_t *count)
{
    *count = 0;
    if (!in_graph(g, e))
        return 0;
    struct walk w;
    int rc = walk_run(g, ent_index(g, e), &w);
    if (rc == 0) {
        *count = w.n;
        for (size_t i = 0; out && i < w.n && i < max; i++)
            out[i] = &g->ents[w.q[i].ent].pub;
    }
    walk_release(&w);
    return rc;
}

/* ---- loading: problems ------------------------------------------------------------------ */

struct loader {
    const struct fs_yaml_doc *doc;
    struct fs_diag d;
    bool oom;
    int suggestions;
    struct fs_graph *g;
};

/* Every problem names the line of its key, or of the nearest ancestor the document knows. */
#define problem(L, path, ...) fs_diag_at(&(L)->d, (L)->doc, (path), __VA_ARGS__)
#define line_of(doc, path) fs_diag_line((doc), (path), true)

static void nomem(struct loader *L, const char *path)
{
    L->oom = true;
    problem(L, path, "out of memory");
}

/* A value quoted for a message: printable ASCII kept, anything else \xNN, cut at 60 bytes. */
static const char *quoted(const char *s, char *buf, size_t size)
{
    size_t j = 0;
    buf[j++] = '"';
    for (size_t i = 0; s[i] && j + 8 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i >= 60) {
            j += (size_t)snprintf(buf + j, size - j, "...");
            break;
        }
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            buf[j++] = (char)c;
        else
            j += (size_t)snprintf(buf + j, size - j, "\\x%02x", c);
    }
    buf[j++] = '"';
    buf[j] = '\0';
    return buf;
}

static bool in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

static size_t count_of(const char *const *list)
{
    size_t n = 0;
    while (list[n])
        n++;
    return n;
}

/* "unknown key", with a suggestion when one of allowed is close. */
static void check_keys(struct loader *L, const json_t *obj, const char *path,
                       const char *const *allowed)
{
    fs_diag_unknown_keys(&L->d, L->doc, obj, path, allowed);
}

/* C0 controls, DEL, C1 controls (UTF-8 C2 80..9F); allow_ws lets \n and \t through. */
static bool has_ctrl(const char *s, size_t len, bool allow_ws)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < 0x20 || p[i] == 0x7f) {
            if (allow_ws && (p[i] == '\n' || p[i] == '\t'))
                continue;
            return true;
        }
        if (p[i] == 0xc2 && i + 1 < len && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f)
            return true;
    }
    return false;
}

/* Why v is not acceptable text of at most max bytes, or NULL. */
static const char *text_problem(const json_t *v, size_t max, bool multiline, char *buf, size_t size)
{
    if (!json_is_string(v)) {
        snprintf(buf, size, "expected a string%s, got %s",
                 json_is_number(v) || json_is_boolean(v) ? " (quote it)" : "",
                 fs_json_type_name(v));
        return buf;
    }
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len == 0)
        return "must not be empty";
    if (len > max) {
        snprintf(buf, size, "longer than %zu bytes", max);
        return buf;
    }
    if (strlen(s) != len || has_ctrl(s, len, multiline))
        return "must not contain control characters";
    return NULL;
}

/* ^[A-Za-z0-9][A-Za-z0-9._:@/-]*$, at most MAX_NAME bytes: entity names, aliases, windows. */
static bool is_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > MAX_NAME)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || !strchr("._:@/-", c)))
            return false;
    }
    return true;
}

/* ^[A-Za-z_][A-Za-z0-9_./-]*$ (Prometheus and Kubernetes label names), at most 128 bytes. */
static bool is_label_key(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > MAX_LABEL_KEY)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  (i > 0 && ((c >= '0' && c <= '9') || c == '.' || c == '/' || c == '-'));
        if (!ok)
            return false;
    }
    return true;
}

/* ^[a-z][a-z0-9_]*$, at most 64 bytes: the policy's class keys. */
static bool is_class(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > MAX_CLASS || s[0] < 'a' || s[0] > 'z')
        return false;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

/* Optional text member: NULL when absent or wrong (reported). */
static const char *get_text(struct loader *L, const json_t *obj, const char *key, const char *base,
                            bool required, size_t max, bool multiline)
{
    char path[512], buf[160];
    json_t *v = json_object_get(obj, key);
    const char *why = v ? text_problem(v, max, multiline, buf, sizeof(buf)) : NULL;
    if ((v && !why) || (!v && !required))
        return v ? json_string_value(v) : NULL;
    fs_jpath_key(path, sizeof(path), base, key);
    problem(L, path, "%s", v ? why : "required");
    return NULL;
}

/* A string or a list of strings (each checked by ok, named by what in messages). *out gets the
 * values (borrowed; the array is allocated unless empty). false when absent or broken. */
static bool get_strings(struct loader *L, const json_t *v, const char *path, size_t maxn,
                        size_t maxlen, bool (*ok)(const char *), const char *what,
                        struct strvals *out)
{
    char ipath[512], buf[160], q[200];
    out->v = NULL;
    out->n = 0;
    if (json_is_string(v) || json_is_array(v)) {
        size_t n = json_is_string(v) ? 1 : json_array_size(v);
        if (n == 0) {
            problem(L, path, "expected %s or a non-empty list of them", what);
            return false;
        }
        if (n > maxn) {
            problem(L, path, "more than %zu values", maxn);
            return false;
        }
        if (!(out->v = fs_calloc(n, sizeof(*out->v)))) {
            nomem(L, path);
            return false;
        }
        bool good = true;
        for (size_t i = 0; i < n; i++) {
            const json_t *item = json_is_string(v) ? v : json_array_get(v, i);
            if (json_is_string(v))
                fs_strlcpy(ipath, path, sizeof(ipath));
            else
                fs_jpath_index(ipath, sizeof(ipath), path, i);
            const char *why = text_problem(item, maxlen, false, buf, sizeof(buf));
            if (!why && ok && !ok(json_string_value(item))) {
                snprintf(buf, sizeof(buf), "%s is not a valid %s",
                         quoted(json_string_value(item), q, sizeof(q)), what);
                why = buf;
            }
            if (why) {
                problem(L, ipath, "%s", why);
                good = false;
                continue;
            }
            out->v[out->n++] = json_string_value(item);
        }
        if (good)
            return true;
        strvals_free(out);
        return false;
    }
    problem(L, path, "expected %s or a list of them, got %s", what, fs_json_type_name(v));
    return false;
}

static int cmp_label(const void *a, const void *b)
{
    return strcmp(((const struct fs_label *)a)->key, ((const struct fs_label *)b)->key);
}

/* labels / links: a mapping of key → string. */
static void get_pairs(struct loader *L, const json_t *obj, const char *key, const char *base,
                      bool urls, const struct fs_label **out, size_t *nout)
{
    char path[512], kpath[512], buf[160];
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    *nout = 0;
    if (!v)
        return;
    fs_jpath_key(path, sizeof(path), base, key);
    if (!json_is_object(v)) {
        problem(L, path, "expected a mapping of %s, got %s", urls ? "names to URLs" : "labels",
                fs_json_type_name(v));
        return;
    }
    size_t n = json_object_size(v);
    if (n == 0)
        return;
    if (n > MAX_LABELS) {
        problem(L, path, "more than %d entries", MAX_LABELS);
        return;
    }
    struct fs_label *pairs = fs_calloc(n, sizeof(*pairs));
    if (!pairs) {
        nomem(L, path);
        return;
    }
    size_t k = 0;
    const char *name;
    json_t *val;
    json_object_foreach(v, name, val)
    {
        fs_jpath_key(kpath, sizeof(kpath), path, name);
        if (!is_label_key(name)) {
            problem(L, kpath, "%s names are letters, digits, _ . / - (not first), at most %d bytes",
                    urls ? "link" : "label", MAX_LABEL_KEY);
            continue;
        }
        const char *why = text_problem(val, urls ? MAX_URL : MAX_TEXT, false, buf, sizeof(buf));
        if (!why && urls) {
            const char *u = json_string_value(val);
            if ((strncmp(u, "https://", 8) != 0 && strncmp(u, "http://", 7) != 0) || strchr(u, ' '))
                why = "expected an http:// or https:// URL without spaces";
        }
        if (why) {
            problem(L, kpath, "%s", why);
            continue;
        }
        pairs[k].key = name;
        pairs[k].value = json_string_value(val);
        k++;
    }
    qsort(pairs, k, sizeof(*pairs), cmp_label);
    *out = pairs;
    *nout = k;
}

/* An enum value: index into names, or -1 (reported, with a suggestion). */
static int get_enum(struct loader *L, const json_t *v, const char *path, const char *what,
                    const char *const *names, size_t n)
{
    char list[300], q[200];
    if (json_is_string(v))
        for (size_t i = 0; i < n; i++)
            if (strcmp(json_string_value(v), names[i]) == 0)
                return (int)i;
    fs_diag_join(list, sizeof(list), names);
    if (!json_is_string(v)) {
        problem(L, path, "expected %s (%s), got %s", what, list, fs_json_type_name(v));
        return -1;
    }
    const char *s = json_string_value(v);
    struct fs_suggest sg;
    fs_suggest_init(&sg, s, 3);
    for (size_t i = 0; i < n; i++)
        fs_suggest_offer(&sg, names[i], strlen(names[i]));
    const char *best = fs_suggest_best(&sg);
    if (best)
        problem(L, path, "unknown %s %s (did you mean %s?)", what, quoted(s, q, sizeof(q)), best);
    else
        problem(L, path, "unknown %s %s (expected %s)", what, quoted(s, q, sizeof(q)), list);
    return -1;
}

/* ---- loading: entities ------------------------------------------------------------------ */

static const char *const entity_keys[] = {
    "name",   "kind",  "aliases",     "env",        "owner",   "classification", "resource_class",
    "labels", "links", "description", "depends_on", "runs_on", "part_of",        NULL,
};
static const char *const kind_list[] = {"host",    "service", "database", "cluster", "queue",
                                        "storage", "network", "other",    NULL};
static const char *const rel_list[] = {"depends_on", "runs_on", "part_of", NULL};

static bool ok_name(const char *s)
{
    return is_name(s);
}

static void parse_entity(struct loader *L, const json_t *obj, const char *base, struct ent *x)
{
    char path[512], q[200];
    struct fs_entity *e = &x->pub;
    e->line = line_of(L->doc, base);
    if (!json_is_object(obj)) {
        problem(L, base, "expected a mapping with name and kind, got %s", fs_json_type_name(obj));
        return;
    }
    check_keys(L, obj, base, entity_keys);
    const char *name = get_text(L, obj, "name", base, true, MAX_NAME, false);
    fs_jpath_key(path, sizeof(path), base, "name");
    if (name && !is_name(name))
        problem(L, path,
                "%s is not a valid name: letters, digits and . _ : @ / - (not first), at most %d "
                "bytes",
                quoted(name, q, sizeof(q)), MAX_NAME);
    else
        e->name = name;

    json_t *kind = json_object_get(obj, "kind");
    fs_jpath_key(path, sizeof(path), base, "kind");
    int k = -1;
    if (!kind)
        problem(L, path,
                "required (one of host, service, database, cluster, queue, storage, "
                "network, other)");
    else if ((k = get_enum(L, kind, path, "kind", kind_list, FS_KIND__COUNT)) >= 0)
        e->kind = (enum fs_entity_kind)k;

    json_t *aliases = json_object_get(obj, "aliases");
    if (aliases) {
        struct strvals sv;
        fs_jpath_key(path, sizeof(path), base, "aliases");
        if (get_strings(L, aliases, path, MAX_ALIASES, MAX_NAME, ok_name, "alias", &sv)) {
            e->aliases = sv.v;
            e->naliases = sv.n;
            x->aliases_scalar = json_is_string(aliases);
        }
    }
    e->env = get_text(L, obj, "env", base, false, MAX_TEXT, false);
    e->owner = get_text(L, obj, "owner", base, false, MAX_TEXT, false);
    e->classification = get_text(L, obj, "classification", base, false, MAX_TEXT, false);
    e->description = get_text(L, obj, "description", base, false, MAX_DESCRIPTION, true);
    const char *rc = get_text(L, obj, "resource_class", base, false, MAX_CLASS, false);
    fs_jpath_key(path, sizeof(path), base, "resource_class");
    if (rc && !is_class(rc)) {
        problem(L, path,
                "%s: expected a class such as application, database, storage, network or "
                "hypervisor (lowercase letters, digits, _)",
                quoted(rc, q, sizeof(q)));
    } else if (rc) {
        e->resource_class = rc;
        x->class_line = line_of(L->doc, path);
    } else if (!json_object_get(obj, "resource_class") && k >= 0) {
        /* the kinds that are a class of their own imply it */
        if (k == FS_KIND_DATABASE || k == FS_KIND_STORAGE || k == FS_KIND_NETWORK) {
            e->resource_class = kind_names[k];
            x->class_implied = true;
            fs_jpath_key(path, sizeof(path), base, "kind");
            x->class_line = line_of(L->doc, path);
        }
    }
    get_pairs(L, obj, "labels", base, false, &e->labels, &e->nlabels);
    get_pairs(L, obj, "links", base, true, &e->links, &e->nlinks);
}

/* Put every name, then every alias, into the index; duplicates are problems. */
static void build_index(struct loader *L)
{
    struct fs_graph *g = L->g;
    char path[512], q[200];
    size_t keys = 0;
    for (size_t i = 0; i < g->n; i++)
        keys += 1 + g->ents[i].pub.naliases;
    size_t cap = 16;
    while (cap < keys * 2)
        cap *= 2;
    if (!(g->index = fs_calloc(cap, sizeof(*g->index)))) {
        nomem(L, "entities");
        return;
    }
    g->mask = cap - 1;
    for (size_t i = 0; i < g->n; i++) {
        const char *name = g->ents[i].pub.name;
        if (!name)
            continue;
        struct slot *sl = index_slot(g, name, strlen(name));
        if (sl->key) {
            snprintf(path, sizeof(path), "entities[%zu].name", i);
            problem(L, path, "duplicate name %s (first defined at line %d)",
                    quoted(name, q, sizeof(q)), g->ents[sl->ent].pub.line);
            continue;
        }
        *sl = (struct slot){name, (uint32_t)strlen(name), (uint32_t)i};
    }
    for (size_t i = 0; i < g->n; i++) {
        const struct fs_entity *e = &g->ents[i].pub;
        for (size_t a = 0; e->name && a < e->naliases; a++) {
            const char *s = e->aliases[a];
            if (g->ents[i].aliases_scalar)
                snprintf(path, sizeof(path), "entities[%zu].aliases", i);
            else
                snprintf(path, sizeof(path), "entities[%zu].aliases[%zu]", i, a);
            if (e->name && strcmp(s, e->name) == 0) {
                problem(L, path, "%s is the entity's own name", quoted(s, q, sizeof(q)));
                continue;
            }
            struct slot *sl = index_slot(g, s, strlen(s));
            if (!sl->key) {
                *sl = (struct slot){s, (uint32_t)strlen(s), (uint32_t)i};
                continue;
            }
            const struct fs_entity *o = &g->ents[sl->ent].pub;
            if (strcmp(o->name, s) == 0)
                problem(L, path, "%s is the name of another entity (line %d)",
                        quoted(s, q, sizeof(q)), o->line);
            else if (sl->ent == i)
                problem(L, path, "%s is listed twice", quoted(s, q, sizeof(q)));
            else
                problem(L, path, "%s is already an alias of %s (line %d)", quoted(s, q, sizeof(q)),
                        o->name, o->line);
        }
    }
}

/* The entity named s (by its name, not an alias), or -1 with the problem reported. */
static int64_t resolve(struct loader *L, const json_t *v, const char *path, const char *what)
{
    char q[200], buf[160];
    const char *why = text_problem(v, MAX_NAME, false, buf, sizeof(buf));
    if (why) {
        problem(L, path, "%s", why);
        return -1;
    }
    const char *s = json_string_value(v);
    const struct fs_graph *g = L->g;
    const struct fs_entity *e = g->index ? lookup(g, s, strlen(s)) : NULL;
    if (e && strcmp(e->name, s) == 0)
        return ent_index(g, e);
    if (e) {
        problem(L, path, "%s is an alias of %s; %s name entities by their name",
                quoted(s, q, sizeof(q)), e->name, what);
        return -1;
    }
    const char *best = NULL;
    struct fs_suggest sg;
    if (L->suggestions < MAX_SUGGESTIONS) {
        L->suggestions++;
        size_t len = strlen(s); /* a short name is close to every other short name */
        fs_suggest_init(&sg, s, len <= 2 ? 1 : len <= 4 ? 2 : 3);
        for (size_t i = 0; i < g->n; i++)
            if (g->ents[i].pub.name)
                fs_suggest_offer(&sg, g->ents[i].pub.name, strlen(g->ents[i].pub.name));
        best = fs_suggest_best(&sg);
    }
    if (best)
        problem(L, path, "no entity named %s (did you mean %s?)", quoted(s, q, sizeof(q)), best);
    else
        problem(L, path, "no entity named %s", quoted(s, q, sizeof(q)));
    return -1;
}

/* ---- loading: relations ----------------------------------------------------------------- */

static void rel_path(const struct rel *r, char *out, size_t size)
{
    if (r->in_list)
        snprintf(out, size, "relations[%" PRIu32 "]", r->item);
    else if (r->scalar)
        snprintf(out, size, "entities[%" PRIu32 "].%s", r->owner, rel_names[r->type]);
    else
        snprintf(out, size, "entities[%" PRIu32 "].%s[%" PRIu32 "]", r->owner, rel_names[r->type],
                 r->item);
}

static bool add_rel(struct loader *L, size_t *cap, struct rel r)
{
    struct fs_graph *g = L->g;
    if (g->nrels == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        struct rel *p = fs_realloc(g->rels, ncap * sizeof(*p));
        if (!p) {
            nomem(L, "relations");
            return false;
        }
        g->rels = p;
        *cap = ncap;
    }
    g->rels[g->nrels++] = r;
    return true;
}

static const char *const relation_keys[] = {"from", "type", "to", NULL};

static void collect_relations(struct loader *L, const json_t *ents, const json_t *list)
{
    struct fs_graph *g = L->g;
    char path[512], ipath[512];
    size_t cap = 0, total = 0;
    /* written inside the entities: depends_on: [a, b] */
    for (size_t i = 0; i < g->n && !L->oom; i++) {
        const json_t *obj = json_array_get(ents, i);
        if (!json_is_object(obj) || !g->ents[i].pub.name)
            continue;
        for (int t = 0; t < FS_REL__COUNT; t++) {
            json_t *v = json_object_get(obj, rel_names[t]);
            if (!v)
                continue;
            snprintf(path, sizeof(path), "entities[%zu].%s", i, rel_names[t]);
            if (!json_is_string(v) && !json_is_array(v)) {
                problem(L, path, "expected an entity name or a list of them, got %s",
                        fs_json_type_name(v));
                continue;
            }
            size_t n = json_is_string(v) ? 1 : json_array_size(v);
            for (size_t k = 0; k < n && !L->oom; k++) {
                if (++total > MAX_RELATIONS) {
                    problem(L, path, "more than %d relations in all", MAX_RELATIONS);
                    return;
                }
                const json_t *item = json_is_string(v) ? v : json_array_get(v, k);
                if (json_is_string(v))
                    fs_strlcpy(ipath, path, sizeof(ipath));
                else
                    fs_jpath_index(ipath, sizeof(ipath), path, k);
                int64_t to = resolve(L, item, ipath, "relations");
                if (to < 0)
                    continue;
                add_rel(L, &cap,
                        (struct rel){(uint32_t)i, (uint32_t)to, (enum fs_relation_type)t,
                                     line_of(L->doc, ipath), (uint32_t)i, (uint32_t)k, false,
                                     json_is_string(v)});
            }
        }
    }
    if (!list || json_is_null(list))
        return;
    if (!json_is_array(list)) {
        problem(L, "relations", "expected a list of {from, type, to}, got %s",
                fs_json_type_name(list));
        return;
    }
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item)
    {
        if (L->oom)
            return;
        fs_jpath_index(path, sizeof(path), "relations", i);
        if (++total > MAX_RELATIONS) {
            problem(L, path, "more than %d relations in all", MAX_RELATIONS);
            return;
        }
        if (!json_is_object(item)) {
            problem(L, path, "expected a mapping {from, type, to}, got %s",
                    fs_json_type_name(item));
            continue;
        }
        check_keys(L, item, path, relation_keys);
        int64_t from = -1, to = -1;
        int t = -1;
        const char *const names[] = {"from", "type", "to"};
        for (int k = 0; k < 3; k++) {
            json_t *v = json_object_get(item, names[k]);
            fs_jpath_key(ipath, sizeof(ipath), path, names[k]);
            if (!v)
                problem(L, ipath, "required");
            else if (k == 1)
                t = get_enum(L, v, ipath, "relation type", rel_list, FS_REL__COUNT);
            else if (k == 0)
                from = resolve(L, v, ipath, "relations");
            else
                to = resolve(L, v, ipath, "relations");
        }
        if (from >= 0 && to >= 0 && t >= 0)
            add_rel(L, &cap,
                    (struct rel){(uint32_t)from, (uint32_t)to, (enum fs_relation_type)t,
                                 line_of(L->doc, path), 0, (uint32_t)i, true, false});
    }
}

struct relkey {
    uint64_t key; /* 0: empty */
    uint32_t rel;
};

/* Self-relations and the same relation written twice. */
static void check_duplicates(struct loader *L)
{
    struct fs_graph *g = L->g;
    char path[512], q[200];
    size_t cap = 16;
    while (cap < g->nrels * 2)
        cap *= 2;
    struct relkey *set = fs_calloc(cap, sizeof(*set));
    if (!set) {
        nomem(L, "relations");
        return;
    }
    for (size_t i = 0; i < g->nrels; i++) {
        const struct rel *r = &g->rels[i];
        rel_path(r, path, sizeof(path));
        if (r->from == r->to) {
            problem(L, path, "%s %s %s: an entity cannot be related to itself",
                    quoted(g->ents[r->from].pub.name, q, sizeof(q)), rel_names[r->type],
                    g->ents[r->from].pub.name);
            continue;
        }
        uint64_t key = ((uint64_t)(r->from + 1) << 33) | ((uint64_t)r->to << 2) | r->type;
        size_t h = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 17) & (cap - 1);
        while (set[h].key && set[h].key != key)
            h = (h + 1) & (cap - 1);
        if (set[h].key) {
            problem(L, path, "%s %s %s is already written at line %d", g->ents[r->from].pub.name,
                    rel_names[r->type], g->ents[r->to].pub.name, g->rels[set[h].rel].line);
            continue;
        }
        set[h].key = key;
        set[h].rel = (uint32_t)i;
    }
    free(set);
}

/* CSR adjacency: counts, prefix sums, then fill in relation order. */
static int build_adjacency(struct fs_graph *g)
{
    size_t n = g->n;
    g->out_start = fs_calloc(n + 1, sizeof(uint32_t));
    g->in_start = fs_calloc(n + 1, sizeof(uint32_t));
    g->out_rel = fs_calloc(g->nrels, sizeof(uint32_t));
    g->in_rel = fs_calloc(g->nrels, sizeof(uint32_t));
    uint32_t *fill = fs_calloc(n + 1, sizeof(uint32_t));
    if (!g->out_start || !g->in_start || !g->out_rel || !g->in_rel || !fill) {
        free(fill);
        return -FS_E_NOMEM;
    }
    for (size_t i = 0; i < g->nrels; i++) {
        g->out_start[g->rels[i].from + 1]++;
        g->in_start[g->rels[i].to + 1]++;
    }
    for (size_t i = 0; i < n; i++) {
        g->out_start[i + 1] += g->out_start[i];
        g->in_start[i + 1] += g->in_start[i];
    }
    for (size_t i = 0; i < g->nrels; i++) {
        uint32_t f = g->rels[i].from;
        g->out_rel[g->out_start[f] + fill[f]++] = (uint32_t)i;
    }
    memset(fill, 0, (n + 1) * sizeof(uint32_t));
    for (size_t i = 0; i < g->nrels; i++) {
        uint32_t t = g->rels[i].to;
        g->in_rel[g->in_start[t] + fill[t]++] = (uint32_t)i;
    }
    free(fill);
    return 0;
}

/* A runs_on cycle (a runs on b runs on a) cannot exist: report each one found. Iterative
 * depth-first search (no recursion, whatever the depth). */
static void check_runs_on_cycles(struct loader *L)
{
    struct fs_graph *g = L->g;
    size_t n = g->n;
    unsigned char *color = fs_calloc(n ? n : 1, 1); /* 0 new, 1 on the stack, 2 done */
    struct frame {
        uint32_t ent, next;
    } *stack = fs_calloc(n ? n : 1, sizeof(*stack));
    if (!color || !stack) {
        free(color);
        free(stack);
        nomem(L, "relations");
        return;
    }
    int reported = 0;
    for (size_t root = 0; root < n; root++) {
        if (color[root])
            continue;
        size_t depth = 0;
        stack[depth++] = (struct frame){(uint32_t)root, g->out_start[root]};
        color[root] = 1;
        while (depth) {
            struct frame *f = &stack[depth - 1];
            if (f->next == g->out_start[f->ent + 1]) {
                color[f->ent] = 2;
                depth--;
                continue;
            }
            uint32_t ri = g->out_rel[f->next++];
            const struct rel *r = &g->rels[ri];
            if (r->type != FS_REL_RUNS_ON || r->from == r->to)
                continue;
            if (color[r->to] == 0) {
                color[r->to] = 1;
                stack[depth++] = (struct frame){r->to, g->out_start[r->to]};
            } else if (color[r->to] == 1 && reported++ < 10) {
                char path[512], cyc[400];
                size_t k = depth, len = 0;
                while (k > 0 && stack[k - 1].ent != r->to)
                    k--;
                cyc[0] = '\0';
                for (size_t j = k - 1; j < depth && len < sizeof(cyc); j++)
                    len += (size_t)snprintf(cyc + len, sizeof(cyc) - len, "%s -> ",
                                            g->ents[stack[j].ent].pub.name);
                if (len < sizeof(cyc))
                    snprintf(cyc + len, sizeof(cyc) - len, "%s", g->ents[r->to].pub.name);
                rel_path(r, path, sizeof(path));
                problem(L, path, "runs_on cycle: %s", cyc);
            }
        }
    }
    free(color);
    free(stack);
}

/* ---- loading: windows ------------------------------------------------------------------- */

static const char *const window_keys[] = {"name", "kind",  "reason", "entities", "match",
                                          "all",  "start", "end",    "every",    NULL};
static const char *const match_keys[] = {
    "env", "owner", "classification", "kind", "resource_class", "labels", NULL};
static const char *const every_keys[] = {"days", "from", "to", NULL};
static const char *const window_kind_list[] = {"freeze", "maintenance", NULL};

static bool ok_class(const char *s)
{
    return is_class(s);
}

static bool ok_any(const char *s)
{
    FS_UNUSED(s);
    return true;
}

/* An RFC 3339 time or a date (YYYY-MM-DD, midnight UTC). *unit: the precision written (a day, a
 * second, a millisecond), so that an end covers the whole last unit it names. */
static int parse_when(const char *s, int64_t *ms, int64_t *unit)
{
    size_t len = strlen(s);
    if (len == 10) {
        char full[32];
        snprintf(full, sizeof(full), "%sT00:00:00Z", s);
        *unit = DAY_MS;
        if (fs_time_parse_rfc3339(full, (size_t)-1, ms) < 0 || *ms == FS_TIME_UNSET)
            return -FS_E_INVALID;
        return 0;
    }
    if (fs_time_parse_rfc3339(s, len, ms) < 0 || *ms == FS_TIME_UNSET)
        return -FS_E_INVALID;
    *unit = strchr(s, '.') ? 1 : 1000;
    return 0;
}

static bool get_when(struct loader *L, const json_t *w, const char *key, const char *base,
                     int64_t *ms, int64_t *unit)
{
    char path[512];
    json_t *v = json_object_get(w, key);
    fs_jpath_key(path, sizeof(path), base, key);
    if (!json_is_string(v) || parse_when(json_string_value(v), ms, unit) < 0) {
        problem(L, path,
                "expected an RFC 3339 time such as 2026-11-27T00:00:00Z or a date such "
                "as 2026-11-27");
        return false;
    }
    return true;
}

/* "HH:MM" → minutes, or -1. */
static int parse_hhmm(const json_t *v)
{
    const char *s = json_string_value(v);
    if (!s || strlen(s) != 5 || s[2] != ':')
        return -1;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (s[i] < '0' || s[i] > '9'))
            return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    return h < 24 && m < 60 ? h * 60 + m : -1;
}

static void parse_every(struct loader *L, const json_t *v, const char *base, struct win *w)
{
    char path[512], ipath[512], q[200];
    fs_jpath_key(path, sizeof(path), base, "every");
    if (!json_is_object(v)) {
        problem(L, path, "expected a mapping {days, from, to}, got %s", fs_json_type_name(v));
        return;
    }
    check_keys(L, v, path, every_keys);
    bool good = true;
    json_t *days = json_object_get(v, "days");
    w->days = 0x7f;
    if (days) {
        fs_jpath_key(ipath, sizeof(ipath), path, "days");
        if (!json_is_array(days) || json_array_size(days) == 0 || json_array_size(days) > 7) {
            problem(L, ipath, "expected a list of 1 to 7 days (mon, tue, wed, thu, fri, sat, sun)");
            good = false;
        } else {
            w->days = 0;
            size_t i;
            json_t *d;
            json_array_foreach(days, i, d)
            {
                char dpath[512];
                fs_jpath_index(dpath, sizeof(dpath), ipath, i);
                const char *s = json_string_value(d);
                int found = -1;
                for (int k = 0; s && k < 7; k++)
                    if (strcasecmp(s, day_names[k]) == 0 || strcasecmp(s, day_long[k]) == 0)
                        found = k;
                if (found < 0) {
                    problem(L, dpath,
                            "unknown day %s (expected mon, tue, wed, thu, fri, sat or sun)",
                            s ? quoted(s, q, sizeof(q)) : fs_json_type_name(d));
                    good = false;
                } else if (w->days & (1u << found)) {
                    problem(L, dpath, "%s is listed twice", day_names[found]);
                    good = false;
                } else {
                    w->days |= 1u << found;
                }
            }
        }
    }
    const char *const ends[] = {"from", "to"};
    int mins[2] = {-1, -1};
    for (int k = 0; k < 2; k++) {
        json_t *t = json_object_get(v, ends[k]);
        fs_jpath_key(ipath, sizeof(ipath), path, ends[k]);
        if (!t) {
            problem(L, ipath, "required (a time of day such as \"16:00\", UTC)");
            good = false;
        } else if ((mins[k] = parse_hhmm(t)) < 0) {
            problem(L, ipath, "expected a time of day such as \"16:00\" (HH:MM, UTC)");
            good = false;
        }
    }
    if (mins[0] >= 0 && mins[0] == mins[1]) {
        fs_jpath_key(ipath, sizeof(ipath), path, "to");
        problem(L, ipath, "equals from; for the whole day write from: \"00:00\", to: \"23:59\"");
        good = false;
    }
    if (good) {
        w->every = true;
        w->from_min = mins[0];
        w->to_min = mins[1];
    }
}

static void parse_match(struct loader *L, const json_t *m, const char *base, struct win *w)
{
    char path[512], kpath[512];
    fs_jpath_key(path, sizeof(path), base, "match");
    if (!json_is_object(m)) {
        problem(L, path,
                "expected a mapping (env, owner, classification, kind, resource_class, "
                "labels), got %s",
                fs_json_type_name(m));
        return;
    }
    if (json_object_size(m) == 0) {
        problem(L, path, "an empty match would select every entity; write all: true for that");
        return;
    }
    check_keys(L, m, path, match_keys);
    bool good = true;
    struct {
        const char *key;
        struct strvals *out;
        bool (*ok)(const char *);
        size_t max;
        const char *what;
    } fields[] = {
        {"env", &w->env, ok_any, MAX_TEXT, "env"},
        {"owner", &w->owner, ok_any, MAX_TEXT, "owner"},
        {"classification", &w->classification, ok_any, MAX_TEXT, "classification"},
        {"resource_class", &w->resource_class, ok_class, MAX_CLASS, "resource class"},
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(fields); i++) {
        json_t *v = json_object_get(m, fields[i].key);
        if (!v)
            continue;
        fs_jpath_key(kpath, sizeof(kpath), path, fields[i].key);
        if (!get_strings(L, v, kpath, MAX_VALUES, fields[i].max, fields[i].ok, fields[i].what,
                         fields[i].out))
            good = false;
        else if (fields[i].out == &w->resource_class)
            w->class_line = line_of(L->doc, kpath);
    }
    json_t *kinds = json_object_get(m, "kind");
    if (kinds) {
        fs_jpath_key(kpath, sizeof(kpath), path, "kind");
        size_t n = json_is_array(kinds) ? json_array_size(kinds) : 1;
        if (json_is_array(kinds) && n == 0) {
            problem(L, kpath, "expected a kind or a non-empty list of them");
            good = false;
        }
        for (size_t i = 0; i < n && n <= FS_KIND__COUNT * 2; i++) {
            char ipath[512];
            const json_t *v = json_is_array(kinds) ? json_array_get(kinds, i) : kinds;
            if (json_is_array(kinds))
                fs_jpath_index(ipath, sizeof(ipath), kpath, i);
            else
                fs_strlcpy(ipath, kpath, sizeof(ipath));
            int k = get_enum(L, v, ipath, "kind", kind_list, FS_KIND__COUNT);
            if (k < 0)
                good = false;
            else
                w->kinds |= 1u << k;
        }
        if (n > FS_KIND__COUNT * 2) {
            problem(L, kpath, "more than %d kinds", FS_KIND__COUNT * 2);
            good = false;
        }
    }
    json_t *labels = json_object_get(m, "labels");
    if (labels) {
        fs_jpath_key(kpath, sizeof(kpath), path, "labels");
        size_t n = json_is_object(labels) ? json_object_size(labels) : 0;
        if (!json_is_object(labels) || n == 0 || n > MAX_LABELS) {
            problem(L, kpath, "expected a mapping of 1 to %d labels to a value or a list of values",
                    MAX_LABELS);
            good = false;
        } else if (!(w->labels = fs_calloc(n, sizeof(*w->labels)))) {
            nomem(L, kpath);
            good = false;
        } else {
            const char *key;
            json_t *v;
            json_object_foreach(labels, key, v)
            {
                char lpath[512];
                fs_jpath_key(lpath, sizeof(lpath), kpath, key);
                if (!is_label_key(key)) {
                    problem(L, lpath, "label names are letters, digits, _ . / - (not first)");
                    good = false;
                    continue;
                }
                struct label_match *lm = &w->labels[w->nlabels];
                if (!get_strings(L, v, lpath, MAX_VALUES, MAX_TEXT, ok_any, "label value",
                                 &lm->vals)) {
                    good = false;
                    continue;
                }
                lm->key = key;
                w->nlabels++;
            }
        }
    }
    if (good)
        w->has_match = true;
}

static void parse_window(struct loader *L, const json_t *obj, const char *base, struct win *w)
{
    char path[512], ipath[512], q[200], t1[40], t2[40];
    w->pub.line = line_of(L->doc, base);
    w->start = w->end = FS_TIME_UNSET;
    if (!json_is_object(obj)) {
        problem(L, base, "expected a mapping with name, kind and when, got %s",
                fs_json_type_name(obj));
        return;
    }
    check_keys(L, obj, base, window_keys);
    const char *name = get_text(L, obj, "name", base, true, MAX_NAME, false);
    fs_jpath_key(path, sizeof(path), base, "name");
    if (name && !is_name(name))
        problem(L, path, "%s is not a valid name: letters, digits and . _ : @ / - (not first)",
                quoted(name, q, sizeof(q)));
    else
        w->pub.name = name;
    json_t *kind = json_object_get(obj, "kind");
    fs_jpath_key(path, sizeof(path), base, "kind");
    if (!kind)
        problem(L, path, "required (freeze or maintenance)");
    else {
        int k = get_enum(L, kind, path, "window kind", window_kind_list, 2);
        if (k >= 0)
            w->pub.kind = (enum fs_window_kind)k;
    }
    w->pub.reason = get_text(L, obj, "reason", base, false, MAX_DESCRIPTION, true);

    /* what it covers */
    json_t *all = json_object_get(obj, "all"), *list = json_object_get(obj, "entities"),
           *match = json_object_get(obj, "match");
    fs_jpath_key(path, sizeof(path), base, "all");
    if (all && !json_is_boolean(all))
        problem(L, path, "expected true or false, got %s", fs_json_type_name(all));
    else if (json_is_true(all) && (list || match))
        problem(L, path, "all: true covers every entity; entities and match add nothing");
    else
        w->all = json_is_true(all);
    if (!all && !list && !match)
        problem(L, base, "says nothing about what it covers: give entities, match or all: true");
    if (list) {
        fs_jpath_key(path, sizeof(path), base, "entities");
        size_t n = json_is_array(list) ? json_array_size(list) : 0;
        if (!json_is_array(list) || n == 0 || n > MAX_ENTITIES) {
            problem(L, path, "expected a non-empty list of entity names");
        } else if (!(w->ents = fs_calloc(n, sizeof(uint32_t)))) {
            nomem(L, path);
        } else {
            for (size_t i = 0; i < n; i++) {
                fs_jpath_index(ipath, sizeof(ipath), path, i);
                int64_t e = resolve(L, json_array_get(list, i), ipath, "windows");
                if (e >= 0)
                    w->ents[w->nents++] = (uint32_t)e;
            }
            qsort(w->ents, w->nents, sizeof(uint32_t), cmp_u32);
            size_t k = 0;
            for (size_t i = 0; i < w->nents; i++)
                if (k == 0 || w->ents[k - 1] != w->ents[i])
                    w->ents[k++] = w->ents[i];
            if (k != w->nents)
                problem(L, path, "an entity is listed twice");
            w->nents = k;
        }
    }
    if (match)
        parse_match(L, match, base, w);

    /* when */
    json_t *every = json_object_get(obj, "every");
    int64_t us = 0, ue = 0;
    bool has_s = json_object_get(obj, "start") != NULL, has_e = json_object_get(obj, "end") != NULL;
    bool ok_s = has_s && get_when(L, obj, "start", base, &w->start, &us);
    bool ok_e = has_e && get_when(L, obj, "end", base, &w->end, &ue);
    if (every)
        parse_every(L, every, base, w);
    else if (!has_s || !has_e)
        problem(L, base, "needs start and end (a one-off window) or every (a weekly one)");
    if (ok_s && ok_e) {
        fs_jpath_key(path, sizeof(path), base, "end");
        if (w->end < w->start)
            problem(L, path, "%s is before start (%s)", fs_time_format(w->end, t1, sizeof(t1)),
                    fs_time_format(w->start, t2, sizeof(t2)));
    }
    if (ok_e)
        w->end += ue; /* inclusive as written: the whole last second (day, ms) */
}

/* ---- loading: the document -------------------------------------------------------------- */

static const char *const top_keys[] = {"entities", "relations", "windows", NULL};

static int set_version(struct fs_graph *g, const json_t *root)
{
    if (g->n == 0 && g->nrels == 0 && g->nwins == 0) {
        fs_strlcpy(g->version, "empty", sizeof(g->version));
        return 0;
    }
    char *canon = fs_json_canonical(root), hex[FS_SHA256_HEX_LEN + 1];
    int rc = canon && fs_sha256_hex(canon, strlen(canon), hex) == 0 ? 0 : -FS_E_NOMEM;
    free(canon);
    if (rc == 0)
        snprintf(g->version, sizeof(g->version), "%.16s", hex);
    return rc;
}

static int load_doc(struct fs_yaml_doc *doc, struct fs_graph **out, struct fs_buf *diag,
                    struct fs_err *err)
{
    struct fs_graph *g = fs_calloc(1, sizeof(*g));
    if (!g || !(g->source = fs_strdup(doc->name))) {
        free(g);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    struct loader L = {.doc = doc, .d = {.out = diag, .err = err, .code = FS_E_CONFIG}, .g = g};
    char path[512];
    json_t *root = doc->root;
    if (root && !json_is_null(root) && !json_is_object(root)) {
        problem(&L, "", "expected a mapping with entities, relations and windows, got %s",
                fs_json_type_name(root));
    } else if (root && json_is_object(root)) {
        check_keys(&L, root, "", top_keys);
        json_t *ents = json_object_get(root, "entities");
        if (ents && !json_is_null(ents) &&
            (!json_is_array(ents) || json_array_size(ents) > MAX_ENTITIES)) {
            problem(&L, "entities", "expected a list of at most %d entities, got %s", MAX_ENTITIES,
                    json_is_array(ents) ? "more" : fs_json_type_name(ents));
        } else if (json_array_size(ents) > 0) {
            if (!(g->ents = fs_calloc(json_array_size(ents), sizeof(*g->ents)))) {
                nomem(&L, "entities");
            } else {
                g->n = json_array_size(ents);
                for (size_t i = 0; i < g->n; i++) {
                    fs_jpath_index(path, sizeof(path), "entities", i);
                    parse_entity(&L, json_array_get(ents, i), path, &g->ents[i]);
                }
            }
        }
        if (!L.oom)
            build_index(&L);
        if (!L.oom)
            collect_relations(&L, ents, json_object_get(root, "relations"));
        if (!L.oom)
            check_duplicates(&L);
        if (!L.oom && build_adjacency(g) < 0)
            nomem(&L, "relations");
        if (!L.oom)
            check_runs_on_cycles(&L);

        json_t *wins = json_object_get(root, "windows");
        if (wins && !json_is_null(wins) &&
            (!json_is_array(wins) || json_array_size(wins) > MAX_WINDOWS)) {
            problem(&L, "windows", "expected a list of at most %d windows, got %s", MAX_WINDOWS,
                    json_is_array(wins) ? "more" : fs_json_type_name(wins));
        } else if (!L.oom && json_array_size(wins) > 0) {
            if (!(g->wins = fs_calloc(json_array_size(wins), sizeof(*g->wins)))) {
                nomem(&L, "windows");
            } else {
                g->nwins = json_array_size(wins);
                for (size_t i = 0; i < g->nwins; i++) {
                    fs_jpath_index(path, sizeof(path), "windows", i);
                    parse_window(&L, json_array_get(wins, i), path, &g->wins[i]);
                    for (size_t j = 0; g->wins[i].pub.name && j < i; j++)
                        if (fs_streq(g->wins[j].pub.name, g->wins[i].pub.name)) {
                            char npath[512];
                            fs_jpath_key(npath, sizeof(npath), path, "name");
                            problem(&L, npath, "duplicate window name %s (first at line %d)",
                                    g->wins[i].pub.name, g->wins[j].pub.line);
                            break;
                        }
                }
            }
        }
    }
    if (!L.d.problems && set_version(g, root) < 0)
        nomem(&L, "");
    if (L.d.problems) {
        int rc = L.oom ? fs_err_set(err, FS_E_NOMEM, NULL, NULL) : -FS_E_CONFIG;
        fs_graph_free(g);
        return rc;
    }
    g->root = json_incref(root);
    *out = g;
    return 0;
}

int fs_graph_load_buf(const char *buf, size_t len, const char *name, struct fs_graph **out,
                      struct fs_buf *diag, struct fs_err *err)
{
    struct fs_yaml_doc doc;
    struct fs_err local;
    *out = NULL;
    if (!err)
        err = &local;
    int rc = fs_yaml_parse(buf ? buf : "", buf ? len : 0, name ? name : "graph", &doc, err);
    if (rc < 0) {
        if (diag)
            fs_buf_printf(diag, "%s\n", err->msg);
        return rc;
    }
    rc = load_doc(&doc, out, diag, err);
    fs_yaml_doc_release(&doc);
    return rc;
}

int fs_graph_load(const char *file, struct fs_graph **out, struct fs_buf *diag, struct fs_err *err)
{
    struct fs_err local;
    *out = NULL;
    if (!err)
        err = &local;
    if (!file)
        return fs_graph_load_buf("", 0, "", out, diag, err);
    struct fs_yaml_doc doc;
    int rc = fs_yaml_load_file(file, &doc, err);
    if (rc < 0) {
        if (diag)
            fs_buf_printf(diag, "%s\n", err->msg);
        return rc;
    }
    rc = load_doc(&doc, out, diag, err);
    fs_yaml_doc_release(&doc);
    return rc;
}

/* ---- checks against a policy ------------------------------------------------------------ */

int fs_graph_check_resource_classes(const struct fs_graph *g, const char *const *known,
                                    struct fs_buf *diag, struct fs_err *err)
{
    struct fs_diag d = {.out = diag, .err = err, .code = FS_E_CONFIG};
    char path[128], list[400], msg[600], q[200];
    size_t nk = count_of(known);
    fs_diag_join(list, sizeof(list), known);
    for (size_t i = 0; g && i < g->n; i++) {
        const struct ent *x = &g->ents[i];
        const char *c = x->pub.resource_class;
        if (!c || in_list(c, known, nk))
            continue;
        snprintf(path, sizeof(path), "entities[%zu].%s", i,
                 x->class_implied ? "kind" : "resource_class");
        if (x->class_implied)
            snprintf(msg, sizeof(msg),
                     "the kind implies resource_class %s, which the policy does not weigh "
                     "(known: %s)",
                     quoted(c, q, sizeof(q)), list);
        else
            snprintf(msg, sizeof(msg), "%s is not a class the policy weighs (known: %s)",
                     quoted(c, q, sizeof(q)), list);
        fs_diag_put(&d, g->source, x->class_line, path, msg);
    }
    for (size_t i = 0; g && i < g->nwins; i++) {
        const struct win *w = &g->wins[i];
        for (size_t k = 0; k < w->resource_class.n; k++) {
            if (in_list(w->resource_class.v[k], known, nk))
                continue;
            snprintf(path, sizeof(path), "windows[%zu].match.resource_class", i);
            snprintf(msg, sizeof(msg), "%s is not a class the policy weighs (known: %s)",
                     quoted(w->resource_class.v[k], q, sizeof(q)), list);
            fs_diag_put(&d, g->source, w->class_line, path, msg);
        }
    }
    return d.problems ? -FS_E_CONFIG : 0;
}

/* ---- JSON for planners ------------------------------------------------------------------ */

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *time_or_null(int64_t ms)
{
    char buf[40];
    return ms == FS_TIME_UNSET ? json_null() : json_string(fs_time_format(ms, buf, sizeof(buf)));
}

static json_t *pairs_json(const struct fs_label *p, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < n; i++)
        if (json_object_set_new(o, p[i].key, json_string(p[i].value)) < 0) {
            json_decref(o);
            return NULL;
        }
    return o;
}

static json_t *window_json(const struct win *w, const struct occ *o)
{
    json_t *j =
        json_pack("{s:s,s:s,s:o,s:o,s:o,s:b}", "name", w->pub.name, "kind",
                  fs_window_kind_name(w->pub.kind), "reason", str_or_null(w->pub.reason), "start",
                  time_or_null(o->s), "end", time_or_null(o->e), "recurring", w->every);
    if (j && w->every) {
        json_t *days = json_array();
        for (int k = 1; days && k <= 7; k++) /* monday first */
            if (w->days & (1u << (k % 7)))
                json_array_append_new(days, json_string(day_names[k % 7]));
        char from[8], to[8];
        snprintf(from, sizeof(from), "%02d:%02d", w->from_min / 60, w->from_min % 60);
        snprintf(to, sizeof(to), "%02d:%02d", w->to_min / 60, w->to_min % 60);
        if (!days ||
            json_object_set_new(
                j, "every", json_pack("{s:o,s:s,s:s}", "days", days, "from", from, "to", to)) < 0) {
            json_decref(j);
            return NULL;
        }
    }
    return j;
}

/* Upcoming windows are listed soonest first (file order among equal starts). Their starts are
 * never null and format to the same width, so the text orders like the time. */
static int insert_by_start(json_t *list, json_t *item)
{
    if (!item)
        return -1;
    const char *s = json_string_value(json_object_get(item, "start"));
    size_t i = json_array_size(list);
    while (i > 0 && s) {
        const char *p = json_string_value(json_object_get(json_array_get(list, i - 1), "start"));
        if (!p || strcmp(p, s) <= 0)
            break;
        i--;
    }
    return json_array_insert_new(list, i, item);
}

static json_t *dependents_json(const struct fs_graph *g, uint32_t idx)
{
    struct walk w;
    if (walk_run(g, idx, &w) < 0) {
        walk_release(&w);
        return NULL;
    }
    json_t *list = json_array();
    for (size_t i = 0; list && i < w.n && i < JSON_DEPENDENTS; i++) {
        const struct step *s = &w.q[i];
        const struct fs_entity *e = &g->ents[s->ent].pub;
        json_t *item = json_pack("{s:s,s:s,s:o,s:o,s:i,s:s,s:s}", "name", e->name, "kind",
                                 kind_names[e->kind], "env", str_or_null(e->env), "owner",
                                 str_or_null(e->owner), "distance", (int)s->dist, "via",
                                 g->ents[s->parent].pub.name, "relation", rel_names[s->type]);
        if (!item || json_array_append_new(list, item) < 0) {
            json_decref(list);
            list = NULL;
        }
    }
    json_t *out = list ? json_pack("{s:I,s:o,s:b}", "count", (json_int_t)w.n, "entities", list,
                                   "truncated", w.n > JSON_DEPENDENTS)
                       : NULL;
    walk_release(&w);
    return out;
}

json_t *fs_graph_entity_json(const struct fs_graph *g, const struct fs_entity *e, int64_t now_ms)
{
    if (!in_graph(g, e))
        return NULL;
    now_ms = clamp_now(now_ms);
    uint32_t idx = ent_index(g, e);
    char src[300];
    snprintf(src, sizeof(src), "%s:%d", g->source, e->line);
    json_t *aliases = json_array(), *rels = json_array(), *active = json_array(),
           *upcoming = json_array();
    bool ok = aliases && rels && active && upcoming;
    for (size_t i = 0; ok && i < e->naliases; i++)
        ok = json_array_append_new(aliases, json_string(e->aliases[i])) == 0;
    for (int dir = 0; ok && dir < 2; dir++) {
        const uint32_t *start = dir ? g->in_start : g->out_start,
                       *list = dir ? g->in_rel : g->out_rel;
        for (uint32_t k = start[idx]; ok && k < start[idx + 1]; k++) {
            const struct rel *r = &g->rels[list[k]];
            ok = json_array_append_new(
                     rels, json_pack("{s:s,s:s,s:s}", "from", g->ents[r->from].pub.name, "type",
                                     rel_names[r->type], "to", g->ents[r->to].pub.name)) == 0;
        }
    }
    const char *freeze = NULL;
    for (size_t i = 0; ok && i < g->nwins; i++) {
        const struct win *w = &g->wins[i];
        if (!win_covers(g, w, e))
            continue;
        bool has_cur, has_next;
        struct occ cur, next;
        win_spans(w, now_ms, &has_cur, &cur, &has_next, &next);
        if (has_cur) {
            ok = json_array_append_new(active, window_json(w, &cur)) == 0;
            if (!freeze && w->pub.kind == FS_WINDOW_FREEZE)
                freeze = w->pub.name;
        }
        if (ok && has_next)
            ok = insert_by_start(upcoming, window_json(w, &next)) == 0;
    }
    json_t *deps = ok ? dependents_json(g, idx) : NULL;
    json_t *labels = pairs_json(e->labels, e->nlabels), *links = pairs_json(e->links, e->nlinks);
    if (!ok || !deps || !labels || !links) {
        json_decref(aliases);
        json_decref(rels);
        json_decref(active);
        json_decref(upcoming);
        json_decref(deps);
        json_decref(labels);
        json_decref(links);
        return NULL;
    }
    return json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:s,s:o,s:o,s:{s:o,s:o},s:o,s:s}",
                     "name", e->name, "kind", kind_names[e->kind], "aliases", aliases, "env",
                     str_or_null(e->env), "owner", str_or_null(e->owner), "classification",
                     str_or_null(e->classification), "resource_class",
                     str_or_null(e->resource_class), "description", str_or_null(e->description),
                     "labels", labels, "links", links, "source", src, "relations", rels,
                     "dependents", deps, "windows", "active", active, "upcoming", upcoming,
                     "change_freeze", str_or_null(freeze), "graph_version", g->version);
}
