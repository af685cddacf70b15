/* probe: the executor's read-only checks — an action's preconditions right before it runs and
 * its verify probe afterwards. A probe is the read-only tool the catalog's probe table names
 * for it (fs_catalog_probe: "host.<probe>", or another tool whose arguments and result the
 * derived table below reshapes), called through the registry with arguments rendered from the
 * proposal's params and target; its `expect` is an expression over the tool's structured result
 * plus {param, target}. A probe that cannot run (no tool answers it, unreachable host, bad
 * arguments) counts as failed, never as passed. */
#include "core/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/config.h"
#include "core/expr.h"
#include "core/json.h"
#include "exec/exec_int.h"
#include "tools/registry.h"
#include "tools/route.h"

#define OBSERVED_MAX 4096 /* bytes of a probe's result kept in a step's detail */

void fs_probe_outcome_release(struct fs_probe_outcome *o)
{
    json_decref(o->observed);
    o->observed = NULL;
}

/* params' members at the top (catalog templates say "{path}"), plus param and target (playbook
 * style "{param.path}", "{target.host}"). */
static json_t *args_scope(const json_t *params, const json_t *target)
{
    json_t *scope = json_is_object(params) ? json_deep_copy(params) : json_object();
    if (!scope)
        return NULL;
    if (json_object_set_new(scope, "param", params ? json_deep_copy(params) : json_object()) < 0 ||
        json_object_set_new(scope, "target", target ? json_deep_copy(target) : json_object()) < 0) {
        json_decref(scope);
        return NULL;
    }
    return scope;
}

static int failed(struct fs_probe_outcome *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int failed(struct fs_probe_outcome *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->why, sizeof(o->why), fmt, ap);
    va_end(ap);
    o->ok = false;
    return 0;
}

/* ---- derived probes: a catalog probe answered by another read-only tool ------------------ */

/* k8s_deployment_status {namespace, deployment} → kubernetes.get {kind: deployments, namespace,
 * name}. */
static json_t *k8s_deploy_args(const json_t *a)
{
    return json_pack("{s:s,s:O?,s:O?}", "kind", "deployments", "namespace",
                     json_object_get(a, "namespace"), "name", json_object_get(a, "deployment"));
}

/* The deployment's row as {exists, name, namespace, replicas, ready_replicas, updated_replicas,
 * available_replicas, unavailable_replicas, generation, observed_generation, conditions}; a
 * deployment the API server does not know is {exists: false} (not a probe that cannot run). */
static json_t *k8s_deploy_shape(const struct fs_tool_result *res)
{
    if (res->is_error)
        return res->text && strstr(res->text, "(NotFound)") ? json_pack("{s:b}", "exists", 0)
                                                            : NULL;
    json_t *row = json_array_get(json_object_get(res->structured, "items"), 0);
    if (!json_is_object(row))
        return json_pack("{s:b}", "exists", 0);
    static const char *const keys[][2] = {
        {"name", "name"},
        {"replicas", "desired"},
        {"ready_replicas", "ready"},
        {"updated_replicas", "updated"},
        {"available_replicas", "available"},
        {"unavailable_replicas", "unavailable"},
        {"generation", "generation"},
        {"observed_generation", "observed_generation"},
        {"conditions", "conditions"},
    };
    json_t *o = json_pack("{s:b,s:O?}", "exists", 1, "namespace",
                          json_object_get(res->structured, "namespace"));
    for (size_t i = 0; o && i < FS_ARRAY_LEN(keys); i++) {
        json_t *v = json_object_get(row, keys[i][1]);
        if (v && json_object_set(o, keys[i][0], v) < 0) {
            json_decref(o);
            o = NULL;
        }
    }
    return o;
}

/* The catalog's probe table (fs_catalog_probe) names the tool that answers each probe; these
 * are the probes whose tool is not host.<probe>, and how its arguments and result are
 * reshaped. */
static const struct derived_probe {
    const char *probe; /* the catalog's name */
    json_t *(*args)(const json_t *rendered);
    /* the probe's result (new) from the tool's; NULL = the tool's failure stands */
    json_t *(*shape)(const struct fs_tool_result *res);
} derived[] = {
    {"k8s_deployment_status", k8s_deploy_args, k8s_deploy_shape},
};

static const struct derived_probe *derived_find(const char *name)
{
    for (size_t i = 0; i < FS_ARRAY_LEN(derived); i++)
        if (strcmp(derived[i].probe, name) == 0)
            return &derived[i];
    return NULL;
}

int fs_exec_probe(const struct fs_exec_env *x, const json_t *probe, const json_t *params,
                  const json_t *target, const char *host, struct fs_probe_outcome *o,
                  struct fs_err *err)
{
    memset(o, 0, sizeof(*o));
    const char *name = json_string_value(json_object_get(probe, "probe"));
    const char *expect = json_string_value(json_object_get(probe, "expect"));
    json_t *targs = json_object_get(probe, "args");
    if (!name || !expect)
        return failed(o, "the probe has no name or no expect");
    const struct fs_probe_def *pd = fs_catalog_probe(name);
    const struct derived_probe *dp = derived_find(name);
    snprintf(o->tool, sizeof(o->tool), "%s", pd && pd->tool ? pd->tool : name);
    snprintf(o->expect, sizeof(o->expect), "%s", expect);
    if (!pd || !pd->tool)
        return failed(o, "no tool answers the probe %s", name);

    json_t *scope = args_scope(params, target);
    json_t *args = NULL;
    struct fs_err perr;
    if (!scope)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    int rc = fs_template_render_json(targs ? targs : json_object(), scope, &args, &perr);
    json_decref(scope);
    if (rc == -FS_E_NOMEM)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    if (rc < 0)
        return failed(o, "%s: its arguments do not render: %s", o->tool, perr.msg);
    if (dp) {
        json_t *targs2 = dp->args(args);
        json_decref(args);
        if (!(args = targs2))
            return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }

    struct fs_tool_ctx ctx;
    const char **roots = NULL;
    rc = fs_route_tool_ctx(x->cfg, host && *host ? host : NULL, &ctx, &roots, &perr);
    if (rc == -FS_E_NOMEM) {
        json_decref(args);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    if (rc < 0) {
        json_decref(args);
        free(roots);
        return failed(o, "%s: %s", o->tool, perr.msg);
    }
    struct fs_tool_result res = {0};
    rc = fs_tools_call(x->tools, o->tool, args, &ctx, &res, &perr);
    json_decref(args);
    free(roots);
    if (rc == -FS_E_NOMEM)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    if (rc < 0)
        return failed(o, "%s could not run: %s", o->tool, perr.msg);
    o->ran = true;
    json_t *shaped = dp ? dp->shape(&res) : NULL;
    if (shaped) {
        res.is_error = false;
        json_decref(res.structured);
        res.structured = shaped;
    }
    if (res.is_error) {
        failed(o, "%s reports an error: %.300s", o->tool, res.text ? res.text : "");
        fs_tool_result_release(&res);
        return 0;
    }

    /* what the probe saw, kept (small) in the step log */
    char *text = res.structured ? fs_json_compact(res.structured) : NULL;
    if (text && strlen(text) <= OBSERVED_MAX)
        o->observed = json_incref(res.structured);
    else if (res.structured)
        o->observed = json_pack("{s:b}", "too_large_to_keep", 1);
    free(text);

    json_t *escope =
        json_is_object(res.structured) ? json_deep_copy(res.structured) : json_object();
    if (escope && res.structured && !json_is_object(res.structured))
        json_object_set(escope, "result", res.structured);
    fs_tool_result_release(&res);
    if (!escope ||
        json_object_set_new(escope, "param", params ? json_deep_copy(params) : json_object()) < 0 ||
        json_object_set_new(escope, "target", target ? json_deep_copy(target) : json_object()) <
            0) {
        json_decref(escope);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    json_t *v = NULL;
    rc = fs_expr_eval_str(expect, escope, &v, &perr);
    json_decref(escope);
    if (rc == -FS_E_NOMEM)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    if (rc < 0)
        return failed(o, "%s: expect \"%s\" cannot be evaluated: %s", o->tool, expect, perr.msg);
    o->ok = fs_expr_truthy(v);
    json_decref(v);
    if (!o->ok)
        snprintf(o->why, sizeof(o->why), "%s: \"%s\" is false", o->tool, expect);
    return 0;
}

json_t *fs_probe_outcome_json(const struct fs_probe_outcome *o)
{
    json_t *d = json_pack("{s:s,s:s,s:b}", "probe", o->tool, "expect", o->expect, "passed", o->ok);
    if (d && !o->ok)
        json_object_set_new(d, "why", json_string(o->why));
    if (d && o->observed)
        json_object_set(d, "observed", o->observed);
    return d;
}
