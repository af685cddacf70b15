/* diag: the one way a validator (config, catalog, policy, policy test cases) reports problems
 * in a document: "file:line: path: message" appended to the caller's buffer, the first one in
 * struct fs_err with the caller's error code, and a count. Also the nearest known line of a
 * path and the "did you mean" suggestion for an unknown key. It never decides which file or
 * line a path belongs to (the validators know), and never logs or exits. */
#include "core/common.h"

#include <stdio.h>

#include "core/diag.h"
#include "core/json.h"
#include "core/yaml.h"

int fs_diag_put(struct fs_diag *d, const char *file, int line, const char *path, const char *msg)
{
    char where[300];
    if (line > 0)
        snprintf(where, sizeof(where), "%s:%d", file, line);
    else
        snprintf(where, sizeof(where), "%s", file);
    const char *key = *path ? path : "(top level)";
    if (d->out)
        fs_buf_printf(d->out, "%s: %s: %s\n", where, key, msg);
    if (d->problems++ == 0)
        fs_err_set(d->err, d->code, where, "%s: %s: %s", where, key, msg);
    return -(int)d->code;
}

int fs_diag_vreport(struct fs_diag *d, const char *file, int line, const char *path,
                    const char *fmt, va_list ap)
{
    char msg[400];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    return fs_diag_put(d, file, line, path, msg);
}

int fs_diag_at(struct fs_diag *d, const struct fs_yaml_doc *doc, const char *path, const char *fmt,
               ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = fs_diag_vreport(d, doc->name, fs_diag_line(doc, path, true), path, fmt, ap);
    va_end(ap);
    return rc;
}

int fs_diag_line(const struct fs_yaml_doc *doc, const char *path, bool to_root)
{
    char p[512];
    int line;
    fs_strlcpy(p, path, sizeof(p));
    while ((line = fs_yaml_line(doc, p)) == 0 && *p) {
        char *dot = strrchr(p, '.'), *br = strrchr(p, '[');
        char *cut = dot > br ? dot : br;
        if (!cut || cut == p) {
            if (!to_root)
                break;
            cut = p;
        }
        *cut = '\0';
    }
    return line;
}

void fs_diag_join(char *out, size_t size, const char *const *list)
{
    size_t n = 0;
    out[0] = '\0';
    for (const char *const *a = list; *a && n < size; a++)
        n += (size_t)snprintf(out + n, size - n, "%s%s", a == list ? "" : ", ", *a);
}

size_t fs_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 99;
    size_t d[64][64];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            c = FS_MIN(c, d[i - 1][j] + 1);
            d[i][j] = FS_MIN(c, d[i][j - 1] + 1);
        }
    return d[la][lb];
}

void fs_suggest_init(struct fs_suggest *s, const char *word, size_t below)
{
    s->word = word;
    s->dist = below;
    s->found = false;
    s->best[0] = '\0';
}

void fs_suggest_offer(struct fs_suggest *s, const char *cand, size_t len)
{
    char c[sizeof(s->best)];
    snprintf(c, sizeof(c), "%.*s", (int)len, cand);
    size_t d = fs_edit_distance(s->word, c);
    if (d < s->dist) {
        s->dist = d;
        fs_strlcpy(s->best, c, sizeof(s->best));
        s->found = true;
    }
}

const char *fs_suggest_best(const struct fs_suggest *s)
{
    return s->found ? s->best : NULL;
}

int fs_diag_unknown_keys(struct fs_diag *d, const struct fs_yaml_doc *doc, const json_t *obj,
                         const char *path, const char *const *allowed)
{
    int n = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        bool known = false;
        for (const char *const *k = allowed; *k && !known; k++)
            known = strcmp(*k, key) == 0;
        if (known)
            continue;
        n++;
        char child[512], list[400];
        fs_jpath_key(child, sizeof(child), path, key);
        struct fs_suggest s;
        fs_suggest_init(&s, key, 3);
        for (const char *const *k = allowed; *k; k++)
            fs_suggest_offer(&s, *k, strlen(*k));
        const char *best = fs_suggest_best(&s);
        if (best) {
            fs_diag_at(d, doc, child, "unknown key (did you mean %s?)", best);
        } else {
            fs_diag_join(list, sizeof(list), allowed);
            fs_diag_at(d, doc, child, "unknown key (known: %s)", list);
        }
    }
    return n;
}
