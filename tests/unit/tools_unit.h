/* What the tool tests share: a temporary directory and a registry per test file, removed and
 * freed by tools_teardown; JSON from literal text; a value at a path of a result. Include after
 * unit.h. */
#ifndef FS_TOOLS_UNIT_H
#define FS_TOOLS_UNIT_H

#include <stdlib.h>
#include <string.h>

#include "core/proc.h"
#include "tools/registry.h"

static char tmpdir[256];
static struct fs_registry *reg;

/* mkdtemp(/tmp/<prefix>-XXXXXX) into tmpdir, and the built-in registry into reg. */
static int tools_setup(const char *prefix)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/%s-XXXXXX", prefix);
    if (!mkdtemp(tmpdir))
        return -1;
    struct fs_err e = {0};
    if (fs_registry_new(&reg, &e) != 0) {
        fprintf(stderr, "registry: %s\n", e.msg);
        return -1;
    }
    return 0;
}

static int tools_teardown(void **state)
{
    (void)state;
    fs_registry_free(reg);
    char *const argv[] = {"rm", "-rf", "--", tmpdir, NULL};
    struct fs_child c = {.argv = (const char *const *)argv, .timeout_ms = 10000};
    fs_child_run(&c, NULL);
    fs_child_release(&c);
    return 0;
}

static inline json_t *J(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &je);
    if (!j)
        fail_msg("bad test JSON %s: %s", text, je.text);
    return j;
}

/* "a.b[2].c" → the value there, or NULL. */
static inline json_t *jget(json_t *v, const char *path)
{
    char key[128];
    const char *p = path;
    while (*p && v) {
        if (*p == '.')
            p++;
        if (*p == '[') {
            v = json_array_get(v, strtoul(p + 1, NULL, 10));
            p = strchr(p, ']') + 1;
            continue;
        }
        size_t n = strcspn(p, ".[");
        snprintf(key, sizeof(key), "%.*s", (int)n, p);
        v = json_object_get(v, key);
        p += n;
    }
    return v;
}

#endif
