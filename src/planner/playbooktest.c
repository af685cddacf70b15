/* playbooktest: `forestall playbook test DIR` — run the playbooks against recorded tool results
 * (the YAML cases in tests/cases/playbooks, docs/playbooks.md) and check what they conclude.
 * Each case gives an alert, what each tool returned (structured content, text, or a failure),
 * and the expected end: outcome, action, params, root cause, phrases the summary must hold. The
 * tool arguments a playbook sends are checked against the real tools' schemas; a call the case did
 * not record fails the case, so a case always shows every tool the playbook needed. */
#include "core/common.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "core/yaml.h"
#include "planner/playbooktest.h"
#include "safety/catalog.h"

struct replay_tool {
    struct replay *rp;
    char name[FS_TOOL_MAX_NAME + 1];
};

struct replay {
    struct replay_tool tools[256];
    size_t ntools;
    const json_t *recorded; /* object: tool name -> list of {args?, result?, text?, error?} */
    json_t *used;           /* object: "tool#index" -> true once that entry answered a call */
    char unexpected[512];
};

static void *closure_for(void *arg, const char *name)
{
    struct replay *rp = arg;
    if (rp->ntools >= FS_ARRAY_LEN(rp->tools))
        return NULL;
    struct replay_tool *t = &rp->tools[rp->ntools++];
    t->rp = rp;
    fs_strlcpy(t->name, name, sizeof(t->name));
    return t;
}

/* Does every member of want appear in got with an equal value? */
static bool subset(const json_t *want, const json_t *got)
{
    if (!json_is_object(want))
        return json_equal((json_t *)want, (json_t *)got);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)want, k, v)
    {
        if (!subset(v, json_object_get(got, k)))
            return false;
    }
    return true;
}

/* The recorded answer for one call: the first entry whose args (when given) are a subset of
 * the call's and that is still unused; an entry without `repeat: true` answers once. Entries
 * are used up one by one, so two calls of one tool with different args each find theirs. */
static int replay_handler(void *closure, const json_t *args, const struct fs_tool_ctx *ctx,
                          struct fs_tool_result *out, struct fs_err *err)
{
    struct replay_tool *t = closure;
    struct replay *rp = t->rp;
    json_t *list = json_object_get(rp->recorded, t->name);
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        json_t *want = json_object_get(e, "args");
        if (want && !subset(want, args))
            continue;
        char key[FS_TOOL_MAX_NAME + 32];
        snprintf(key, sizeof(key), "%s#%zu", t->name, i);
        bool repeat = json_is_true(json_object_get(e, "repeat"));
        if (!repeat && json_object_get(rp->used, key))
            continue;
        json_object_set_new(rp->used, key, json_true());
        json_t *res = json_object_get(e, "result");
        const char *text = json_string_value(json_object_get(e, "text"));
        const char *fail = json_string_value(json_object_get(e, "error"));
        if (fail) {
            out->is_error = true;
            out->text = fs_strdup(fail);
        } else {
            out->structured = res ? json_incref(res) : NULL;
            out->text = text ? fs_strdup(text)
                             : json_dumps(res ? res : json_object(), JSON_COMPACT | JSON_SORT_KEYS);
        }
        return out->text ? 0 : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    char *a = json_dumps(args, JSON_COMPACT | JSON_SORT_KEYS);
    if (!rp->unexpected[0])
        snprintf(rp->unexpected, sizeof(rp->unexpected), "unrecorded call %s %s", t->name,
                 a ? a : "");
    free(a);
    out->is_error = true;
    out->text = fs_strdup("no recorded result for this call");
    return 0;
}

/* What one case concluded, for the report line and the JSON record. */
struct verdict {
    const char *file, *name;
    char msg[1024]; /* empty: the case passed */
};

static void fail(struct verdict *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct verdict *v, const char *fmt, ...)
{
    if (v->msg[0])
        return; /* the first failure is the one reported */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->msg, sizeof(v->msg), fmt, ap);
    va_end(ap);
}

/* The rendered text must contain every string of expect.summary_contains. */
static void check_texts(struct verdict *v, const json_t *want, const char *summary)
{
    size_t i;
    json_t *w;
    json_array_foreach(want, i, w)
    {
        const char *needle = json_string_value(w);
        if (needle && !strstr(summary ? summary : "", needle))
            fail(v, "the summary does not say \"%s\": %s", needle, summary ? summary : "");
    }
}

static void check_result(struct verdict *v, const struct fs_catalog *cat, const json_t *expect,
                         const struct fs_plan_result *res)
{
    const char *want_pb = json_string_value(json_object_get(expect, "playbook"));
    const char *want_out = json_string_value(json_object_get(expect, "outcome"));
    const char *want_action = json_string_value(json_object_get(expect, "action"));
    const char *want_cause = json_string_value(json_object_get(expect, "root_cause"));
    json_t *want_params = json_object_get(expect, "params");
    const char *action = json_string_value(json_object_get(res->proposal, "action"));
    if (want_pb && strcmp(want_pb, res->playbook) != 0)
        fail(v, "playbook %s ran, expected %s", res->playbook, want_pb);
    if (want_out && strcmp(want_out, fs_plan_outcome_name(res->outcome)) != 0)
        fail(v, "outcome %s (%s), expected %s", fs_plan_outcome_name(res->outcome),
             res->summary ? res->summary : "", want_out);
    if (want_action && (!action || strcmp(want_action, action) != 0))
        fail(v, "action %s, expected %s", action ? action : "(none)", want_action);
    if (want_params && !subset(want_params, json_object_get(res->proposal, "params"))) {
        char *got = json_dumps(json_object_get(res->proposal, "params"), JSON_COMPACT);
        fail(v, "params %s do not include the expected ones", got ? got : "");
        free(got);
    }
    if (want_cause && (!res->root_cause || strcmp(want_cause, res->root_cause) != 0))
        fail(v, "root cause %s, expected %s", res->root_cause ? res->root_cause : "(none)",
             want_cause);
    check_texts(v, json_object_get(expect, "summary_contains"), res->summary);
    if (action && cat && !v->msg[0]) {
        /* what a playbook proposes must at least fit the action's schema */
        const struct fs_action *a = fs_catalog_find(cat, action);
        struct fs_err perr;
        if (!a)
            fail(v, "proposes %s, which is not in the catalog", action);
        else if (fs_action_check_params(a, json_object_get(res->proposal, "params"), NULL, &perr) <
                 0)
            fail(v, "params do not fit %s: %s", action, perr.msg);
        else if (json_array_size(
                     json_object_get(json_object_get(res->proposal, "evidence"), "cited")) == 0)
            fail(v, "the proposal cites no observation");
    }
}

/* Run one case; its line goes to report (failures always, passes when verbose) and its record
 * to results (may be NULL). Returns 1 when it failed. */
static int run_case(const struct fs_playbooks *pbs, const struct fs_catalog *cat, const char *file,
                    const json_t *c, struct fs_buf *report, bool verbose, json_t *results)
{
    struct verdict v = {.file = file, .name = json_string_value(json_object_get(c, "name"))};
    json_t *alert = json_object_get(c, "alert");
    json_t *expect = json_object_get(c, "expect");
    struct fs_plan_result res = {0};
    struct fs_registry *reg = NULL;
    struct replay rp = {.recorded = json_object_get(c, "tools"), .used = json_object()};
    if (!v.name || !json_is_object(json_object_get(alert, "labels")) || !json_is_object(expect) ||
        !json_is_object(json_object_get(c, "tools"))) {
        fail(&v, "a case needs name, alert.labels, tools and expect");
        goto out;
    }
    struct fs_err err = {0};
    if (fs_registry_new_replayed(replay_handler, closure_for, &rp, &reg, &err) < 0) {
        fail(&v, "%s", err.msg);
        goto out;
    }
    json_t *labels = json_object_get(alert, "labels");
    const char *severity = json_string_value(json_object_get(labels, "severity"));
    json_t *annotations = json_object_get(alert, "annotations");
    json_t *scope =
        json_pack("{s:O,s:o,s:{s:s,s:s,s:s}}", "labels", labels, "annotations",
                  annotations ? json_incref(annotations) : json_object(), "incident", "id", "inc-1",
                  "severity", severity ? severity : "warning", "title", v.name);
    if (json_object_get(c, "context"))
        json_object_set(scope, "context", json_object_get(c, "context"));
    struct fs_tool_ctx ctx = {0};
    struct fs_plan_env env = {.tools = reg, .ctx = &ctx, .max_steps = 40};
    int rc = fs_playbook_run(pbs, NULL, scope, &env, &res, &err);
    json_decref(scope);
    if (rc < 0)
        fail(&v, "the run failed: %s", err.msg);
    else if (rp.unexpected[0])
        fail(&v, "%s", rp.unexpected);
    else
        check_result(&v, cat, expect, &res);
out:;
    const char *action = json_string_value(json_object_get(res.proposal, "action"));
    bool ok = !v.msg[0];
    if (!ok)
        fs_buf_printf(report, "FAIL %s (%s): %s\n", file, v.name ? v.name : "?", v.msg);
    else if (verbose)
        fs_buf_printf(report, "ok   %s (%s): %s%s%s — %s\n", file, v.name,
                      fs_plan_outcome_name(res.outcome), action ? " " : "", action ? action : "",
                      res.summary ? res.summary : "");
    if (results) {
        bool ran = res.reasoning != NULL;
        json_array_append_new(
            results,
            json_pack("{s:s,s:s?,s:b,s:s?,s:s?,s:s?,s:s?,s:O?,s:s?,s:s?}", "file", file, "name",
                      v.name, "ok", ok, "outcome", ran ? fs_plan_outcome_name(res.outcome) : NULL,
                      "action", action, "playbook", ran ? res.playbook : NULL, "root_cause",
                      res.root_cause, "params", json_object_get(res.proposal, "params"), "summary",
                      res.summary, "error", ok ? NULL : v.msg));
    }
    fs_plan_result_release(&res);
    fs_registry_free(reg);
    json_decref(rp.used);
    return ok ? 0 : 1;
}

int fs_playbook_test_dir(const struct fs_playbooks *pbs, const struct fs_catalog *cat,
                         const char *dir, bool verbose, struct fs_buf *report, int *cases,
                         int *failures, struct fs_err *err)
{
    return fs_playbook_test_run(pbs, cat, dir, verbose, report, NULL, cases, failures, err);
}

int fs_playbook_test_run(const struct fs_playbooks *pbs, const struct fs_catalog *cat,
                         const char *dir, bool verbose, struct fs_buf *report, json_t *results,
                         int *cases, int *failures, struct fs_err *err)
{
    *cases = *failures = 0;
    DIR *d = opendir(dir);
    if (!d)
        return fs_err_set(err, FS_E_IO, dir, "%s: %s", dir, strerror(errno));
    char *names[512];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < FS_ARRAY_LEN(names)) {
        size_t l = strlen(e->d_name);
        if (l > 5 && strcmp(e->d_name + l - 5, ".yaml") == 0)
            names[n++] = fs_strdup(e->d_name);
    }
    closedir(d);
    for (size_t i = 0; i + 1 < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (strcmp(names[j], names[i]) < 0) {
                char *t = names[i];
                names[i] = names[j];
                names[j] = t;
            }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        struct fs_yaml_doc doc = {0};
        if (fs_yaml_load_file(path, &doc, err) < 0) {
            fs_buf_printf(report, "FAIL %s: %s\n", path, err->msg);
            if (results)
                json_array_append_new(
                    results, json_pack("{s:s,s:b,s:s}", "file", path, "ok", 0, "error", err->msg));
            (*cases)++;
            (*failures)++;
            continue;
        }
        /* a file holds one case, or `cases: [...]` */
        json_t *list = json_object_get(doc.root, "cases");
        if (list) {
            size_t k;
            json_t *c;
            json_array_foreach(list, k, c)
            {
                (*cases)++;
                *failures += run_case(pbs, cat, path, c, report, verbose, results);
            }
        } else {
            (*cases)++;
            *failures += run_case(pbs, cat, path, doc.root, report, verbose, results);
        }
        fs_yaml_doc_release(&doc);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    return rc;
}
