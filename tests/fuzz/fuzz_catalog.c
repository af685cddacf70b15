/* fuzz_catalog: libFuzzer target for the catalog loader, fed each input twice: as a standalone
 * catalog and as an operator file over the built-in one. Any bytes must give either a catalog
 * that keeps the loader's promises (sorted unique names, known categories, ranges, at least one
 * target, "<declared>+<12 hex>" version) and whose every action renders or refuses cleanly, or
 * an error whose message starts with its file:line — never a crash, a leak or undefined
 * behaviour. Test code only; it checks, and does not define, catalog behaviour. */
#include "core/common.h"

#include <stdint.h>
#include <stdlib.h>

#include "core/buf.h"
#include "safety/catalog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Loaded once and kept: still reachable at exit, so never reported as a leak. */
static struct fs_catalog *builtin;

static bool in_categories(const char *s)
{
    for (const char *const *c = fs_categories; *c; c++)
        if (strcmp(*c, s) == 0)
            return true;
    return false;
}

/* A value that fits the param's type (not necessarily its pattern). */
static json_t *sample(const struct fs_param *p)
{
    switch (p->type) {
    case FS_PARAM_STRING: return json_string("a");
    case FS_PARAM_INTEGER: return json_integer(p->has_min ? p->min : p->has_max ? p->max : 0);
    case FS_PARAM_ENUM: return json_string(p->values[0]);
    case FS_PARAM_PATH: return json_string(p->under[0]);
    case FS_PARAM_BOOLEAN: return json_true();
    }
    abort();
}

static void check_action(const struct fs_action *a)
{
    if (!a->name || !a->description || !in_categories(a->category) || a->tier < 0 || a->tier > 3 ||
        a->baseline_risk < 0 || a->baseline_risk > 100)
        abort();
    int kinds = 0;
    for (int k = 0; k < FS_TARGET__COUNT; k++)
        kinds += a->targets[k] != NULL;
    if (kinds == 0)
        abort();
    json_t *j = fs_action_json(a), *s = fs_action_params_schema(a);
    if (!j || !s)
        abort();
    json_decref(j);
    json_decref(s);

    json_t *params = json_object(),
           *target = json_pack("{s:s,s:s,s:s}", "host", "h1", "service", "svc", "namespace", "ns");
    for (size_t i = 0; i < a->nparams; i++)
        if (a->params[i].required)
            json_object_set_new(params, a->params[i].name, sample(&a->params[i]));
    struct fs_err err;
    json_t *norm = NULL;
    if (fs_action_check_params(a, params, &norm, &err) < 0) {
        if (norm || err.code != FS_E_INVALID_PAYLOAD || strncmp(err.path, "params", 6) != 0)
            abort();
    }
    json_decref(norm);
    for (int k = 0; k < FS_TARGET__COUNT; k++) {
        if (!a->targets[k])
            continue;
        json_t *out = NULL;
        if (fs_action_render(a, (enum fs_target_kind)k, params, target, &out, &err) < 0) {
            if (out || !err.msg[0])
                abort();
            continue;
        }
        if (k <= FS_TARGET_KUBECTL) {
            /* one rendered string per template element, never more */
            json_t *argv = json_object_get(a->targets[k], "argv");
            if (!json_is_array(out) || json_array_size(out) != json_array_size(argv))
                abort();
            for (size_t i = 0; i < json_array_size(out); i++)
                if (!json_is_string(json_array_get(out, i)))
                    abort();
        } else if (!json_is_object(out)) {
            abort();
        }
        json_decref(out);
    }
    json_decref(params);
    json_decref(target);
}

static void check_catalog(const struct fs_catalog *c)
{
    const char *plus = strrchr(c->version, '+');
    if (!plus || plus == c->version || strlen(plus + 1) != 12 ||
        strspn(plus + 1, "0123456789abcdef") != 12)
        abort();
    for (size_t i = 0; i < c->n; i++) {
        if (i > 0 && strcmp(c->actions[i - 1].name, c->actions[i].name) >= 0)
            abort();
        if (fs_catalog_find(c, c->actions[i].name) != &c->actions[i])
            abort();
        if (c->actions[i].rollback && !fs_catalog_find(c, c->actions[i].rollback))
            abort();
        check_action(&c->actions[i]);
    }
    struct fs_buf md = FS_BUF_INIT(0);
    if (fs_catalog_doc_markdown(c, &md) < 0)
        abort();
    fs_buf_release(&md);
}

static void run(const uint8_t *data, size_t size, const struct fs_catalog *base)
{
    struct fs_buf diag = FS_BUF_INIT(1u << 20);
    struct fs_err err;
    struct fs_catalog *c = NULL;
    int rc = fs_catalog_load_buf((const char *)data, size, "fuzz.yaml", base, &c, &diag, &err);
    if (rc < 0) {
        if (c || rc != -(int)err.code || !err.msg[0])
            abort();
        /* a message about a place starts with that place */
        if (err.path[0] && strncmp(err.msg, err.path, strlen(err.path)) != 0)
            abort();
    } else {
        if (rc != 0 || !c)
            abort();
        check_catalog(c);
        fs_catalog_free(c);
    }
    fs_buf_release(&diag);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!builtin && fs_catalog_load(NULL, &builtin, NULL, NULL) < 0)
        abort();
    run(data, size, NULL);
    run(data, size, builtin);
    return 0;
}
