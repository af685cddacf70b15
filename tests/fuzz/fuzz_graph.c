/* fuzz_graph: libFuzzer target for the knowledge-graph loader. Any bytes must give either a
 * graph that keeps the loader's promises (every name and alias finds its entity, blast radii
 * exclude the entity itself and list each dependent once, freeze answers are freeze windows,
 * the entity JSON builds, the version is "empty" or 16 hex digits) or an error whose message
 * starts with the file:line it names — never a crash, a hang on a cycle, a leak or undefined
 * behaviour. Test code only; it checks, and does not define, graph behaviour. */
#include "core/common.h"

#include <stdint.h>
#include <stdlib.h>

#include "context/graph.h"
#include "core/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_CHECKED 64 /* entities whose radius and JSON are checked, per input */

static const char *const classes[] = {"application", "database",   "storage",
                                      "network",     "hypervisor", NULL};

static void check_radius(const struct fs_graph *g, const struct fs_entity *e)
{
    static const struct fs_entity *out[4096];
    size_t n, n2;
    if (fs_graph_dependents(g, e, out, FS_ARRAY_LEN(out), &n) < 0)
        abort();
    if (n >= fs_graph_size(g))
        abort();
    size_t listed = FS_MIN(n, FS_ARRAY_LEN(out));
    for (size_t i = 0; i < listed; i++) {
        if (out[i] == e || !out[i] || fs_graph_find(g, out[i]->name) != out[i])
            abort();
        for (size_t j = 0; j < i && listed <= 256; j++)
            if (out[j] == out[i])
                abort();
    }
    /* a shorter array gets a prefix of the same answer */
    const struct fs_entity *few[2] = {NULL, NULL};
    if (fs_graph_dependents(g, e, few, 2, &n2) < 0 || n2 != n)
        abort();
    for (size_t i = 0; i < FS_MIN(n, 2); i++)
        if (few[i] != out[i])
            abort();
}

static void check_graph(const struct fs_graph *g, const uint8_t *data, size_t size)
{
    const char *v = fs_graph_version(g);
    size_t n = fs_graph_size(g);
    if (strcmp(v, "empty") != 0 && (strlen(v) != 16 || strspn(v, "0123456789abcdef") != 16))
        abort();
    if (strcmp(v, "empty") == 0 && n > 0)
        abort();
    /* times from the input's bytes, and a few fixed ones */
    int64_t times[4] = {0, 1795737600000LL, INT64_MIN, INT64_MAX};
    if (size >= 8)
        memcpy(&times[0], data + size - 8, 8);
    for (size_t i = 0; i < n; i++) {
        const struct fs_entity *e = fs_graph_entity_at(g, i);
        if (!e || !e->name || fs_graph_find(g, e->name) != e || e->line <= 0 ||
            (unsigned)e->kind >= FS_KIND__COUNT)
            abort();
        for (size_t a = 0; a < e->naliases; a++)
            if (fs_graph_find(g, e->aliases[a]) != e)
                abort();
        for (size_t k = 1; k < e->nlabels; k++)
            if (strcmp(e->labels[k - 1].key, e->labels[k].key) >= 0)
                abort();
        if (i >= MAX_CHECKED)
            continue;
        check_radius(g, e);
        for (size_t t = 0; t < FS_ARRAY_LEN(times); t++) {
            const struct fs_window *w = fs_graph_freeze_at(g, e, times[t]);
            if (w && (w->kind != FS_WINDOW_FREEZE || !w->name))
                abort();
            json_t *j = fs_graph_entity_json(g, e, times[t]);
            if (!j)
                abort();
            const char *cf = json_string_value(json_object_get(j, "change_freeze"));
            /* the JSON's freeze and freeze_at agree on whether there is one */
            if ((cf != NULL) != (w != NULL))
                abort();
            json_decref(j);
        }
    }
    for (size_t i = 0; i < fs_graph_window_count(g); i++) {
        const struct fs_window *w = fs_graph_window_at(g, i);
        if (!w || !w->name || w->line <= 0)
            abort();
    }
    (void)fs_graph_freeze_at(g, NULL, times[0]);
    /* lookups of arbitrary strings from the input never misbehave */
    char probe[96];
    size_t len = FS_MIN(size, sizeof(probe) - 1);
    memcpy(probe, data, len);
    probe[len] = '\0';
    const struct fs_entity *e = fs_graph_find(g, probe);
    if (e && fs_graph_find(g, e->name) != e)
        abort();
    struct fs_buf diag = FS_BUF_INIT(1 << 20);
    struct fs_err err;
    if (fs_graph_check_resource_classes(g, classes, &diag, &err) < 0 &&
        strncmp(err.msg, err.path, strlen(err.path)) != 0)
        abort();
    fs_buf_release(&diag);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fs_buf diag = FS_BUF_INIT(1 << 20);
    struct fs_err err;
    struct fs_graph *g = NULL;
    int rc = fs_graph_load_buf((const char *)data, size, "fuzz.yaml", &g, &diag, &err);
    if (rc < 0) {
        if (g || rc != -(int)err.code || !err.msg[0])
            abort();
        /* a message about a place starts with that place */
        if (err.path[0] && strncmp(err.msg, err.path, strlen(err.path)) != 0)
            abort();
    } else {
        if (rc != 0 || !g)
            abort();
        check_graph(g, data, size);
        fs_graph_free(g);
    }
    fs_buf_release(&diag);
    return 0;
}
