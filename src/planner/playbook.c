/* playbook: the playbook planner — loading and checking playbook files (embedded ones first,
 * then the operator's directory), choosing the playbook for an incident, and running it: tool
 * calls through the registry, values and conditions in the expression language, and the end
 * of every run (a proposal, an escalation, or nothing to do) with the evidence it cites. */
#include "core/common.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/diag.h"
#include "core/embed.h"
#include "core/expr.h"
#include "core/json.h"
#include "core/regex.h"
#include "core/time.h"
#include "core/yaml.h"
#include "planner/playbook.h"
#include "safety/catalog.h"

#define EMBED_PREFIX "etc/playbooks/"
#define MAX_TRACE_TEXT 240
#define DEFAULT_MAX_STEPS 40
/* a call that failed this close to the deadline was cut by it (ctx.deadline_ms) */
#define DEADLINE_SLACK_MS 50

enum step_kind { STEP_CALL, STEP_SET, STEP_PROPOSE, STEP_ESCALATE, STEP_RESOLVE };

struct setter {
    char *name;
    struct fs_expr *e;
};

struct step {
    char *id;
    int line;
    enum step_kind kind;
    struct fs_expr *when;    /* NULL = always */
    struct fs_template *say; /* NULL = silent */
    char *tool;              /* CALL */
    json_t *args;            /* CALL: templates */
    bool optional;           /* CALL: a failure does not end the run */
    struct setter *set;      /* after the call (CALL) or alone (SET) */
    size_t nset;
    char *action;              /* PROPOSE */
    json_t *params;            /* PROPOSE: templates */
    json_t *target;            /* PROPOSE: templates over the playbook's target; may be NULL */
    double confidence;         /* PROPOSE */
    struct fs_template *text;  /* PROPOSE rationale, ESCALATE/RESOLVE summary */
    struct fs_template *cause; /* root cause label (all three ends) */
    char **cite;               /* PROPOSE: step ids */
    size_t ncite;
    json_t *followups; /* array of templates (all three ends); may be NULL */
};

struct matcher {
    char *label;
    pcre2_code *re;
};

struct alternative {
    struct matcher *m;
    size_t n;
};

struct playbook {
    char *name, *title, *description, *source;
    int priority;
    struct alternative *match;
    size_t nmatch;
    json_t *target; /* object of templates */
    struct setter *vars;
    size_t nvars;
    struct step *steps;
    size_t nsteps;
    json_t *doc; /* the document as loaded, for fs_playbook_json */
};

struct fs_playbooks {
    struct playbook *items;
    size_t n;
};

/* ---- freeing ---------------------------------------------------------------------------------
 */

static void setters_free(struct setter *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(s[i].name);
        fs_expr_free(s[i].e);
    }
    free(s);
}

static void step_free(struct step *s)
{
    free(s->id);
    fs_expr_free(s->when);
    fs_template_free(s->say);
    free(s->tool);
    json_decref(s->args);
    setters_free(s->set, s->nset);
    free(s->action);
    json_decref(s->params);
    json_decref(s->target);
    fs_template_free(s->text);
    fs_template_free(s->cause);
    for (size_t i = 0; i < s->ncite; i++)
        free(s->cite[i]);
    free(s->cite);
    json_decref(s->followups);
}

static void playbook_free(struct playbook *p)
{
    free(p->name);
    free(p->title);
    free(p->description);
    free(p->source);
    for (size_t i = 0; i < p->nmatch; i++) {
        for (size_t j = 0; j < p->match[i].n; j++) {
            free(p->match[i].m[j].label);
            pcre2_code_free(p->match[i].m[j].re);
        }
        free(p->match[i].m);
    }
    free(p->match);
    json_decref(p->target);
    setters_free(p->vars, p->nvars);
    for (size_t i = 0; i < p->nsteps; i++)
        step_free(&p->steps[i]);
    free(p->steps);
    json_decref(p->doc);
    memset(p, 0, sizeof(*p));
}

void fs_playbooks_free(struct fs_playbooks *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        playbook_free(&p->items[i]);
    free(p->items);
    free(p);
}

/* ---- loading ---------------------------------------------------------------------------------
 */

struct loader {
    const struct fs_yaml_doc *doc;
    struct fs_diag d;
    const struct fs_registry *reg;
    const struct fs_catalog *catalog;
};

#define problem(L, path, ...) fs_diag_at(&(L)->d, (L)->doc, (path), __VA_ARGS__)

static bool only_keys(struct loader *L, const json_t *o, const char *base,
                      const char *const *allowed)
{
    return fs_diag_unknown_keys(&L->d, L->doc, o, base, allowed) == 0;
}

static char *str_at(struct loader *L, const json_t *o, const char *key, const char *base,
                    bool required)
{
    json_t *v = json_object_get(o, key);
    char path[256];
    fs_jpath_key(path, sizeof(path), base, key);
    if (!v || json_is_null(v)) {
        if (required)
            problem(L, path, "required");
        return NULL;
    }
    if (!json_is_string(v)) {
        problem(L, path, "expected a string, got %s", fs_json_type_name(v));
        return NULL;
    }
    return fs_strdup(json_string_value(v));
}

static struct fs_expr *expr_at(struct loader *L, const json_t *v, const char *path)
{
    if (json_is_boolean(v) || json_is_number(v)) {
        /* a literal: write it as an expression */
        char *txt = json_dumps(v, JSON_ENCODE_ANY);
        struct fs_expr *e = NULL;
        struct fs_err err;
        if (txt && fs_expr_compile(txt, &e, &err) < 0)
            e = NULL;
        free(txt);
        return e;
    }
    if (!json_is_string(v)) {
        problem(L, path, "expected an expression (a string), got %s", fs_json_type_name(v));
        return NULL;
    }
    struct fs_expr *e = NULL;
    struct fs_err err;
    if (fs_expr_compile(json_string_value(v), &e, &err) < 0) {
        problem(L, path, "%s", err.msg);
        return NULL;
    }
    return e;
}

static struct fs_template *template_at(struct loader *L, const json_t *o, const char *key,
                                       const char *base, bool required)
{
    char path[256];
    fs_jpath_key(path, sizeof(path), base, key);
    json_t *v = json_object_get(o, key);
    if (!v) {
        if (required)
            problem(L, path, "required");
        return NULL;
    }
    if (!json_is_string(v)) {
        problem(L, path, "expected a string, got %s", fs_json_type_name(v));
        return NULL;
    }
    struct fs_template *t = NULL;
    struct fs_err err;
    if (fs_template_compile(json_string_value(v), &t, &err) < 0) {
        problem(L, path, "%s", err.msg);
        return NULL;
    }
    return t;
}

static json_t *templates_at(struct loader *L, const json_t *o, const char *key, const char *base,
                            bool object)
{
    char path[256];
    fs_jpath_key(path, sizeof(path), base, key);
    json_t *v = json_object_get(o, key);
    if (!v)
        return NULL;
    if (object ? !json_is_object(v) : !json_is_array(v)) {
        problem(L, path, "expected a %s, got %s", object ? "mapping" : "list",
                fs_json_type_name(v));
        return NULL;
    }
    struct fs_err err;
    if (fs_template_check_json(v, &err) < 0) {
        char p2[300];
        snprintf(p2, sizeof(p2), "%s%s%s", path, err.path[0] == '[' ? "" : ".", err.path);
        problem(L, err.path[0] ? p2 : path, "%s", err.msg);
        return NULL;
    }
    return json_incref(v);
}

static int setters_at(struct loader *L, const json_t *o, const char *key, const char *base,
                      struct setter **out, size_t *n)
{
    char path[256];
    fs_jpath_key(path, sizeof(path), base, key);
    json_t *v = json_object_get(o, key);
    *out = NULL;
    *n = 0;
    if (!v)
        return 0;
    if (!json_is_object(v) || json_object_size(v) == 0) {
        problem(L, path, "expected a mapping of name: expression");
        return -1;
    }
    *out = fs_calloc(json_object_size(v), sizeof(**out));
    if (!*out)
        return -1;
    const char *k;
    json_t *e;
    json_object_foreach(v, k, e)
    {
        char p2[300];
        fs_jpath_key(p2, sizeof(p2), path, k);
        struct setter *s = &(*out)[(*n)++];
        s->name = fs_strdup(k);
        s->e = expr_at(L, e, p2);
    }
    return 0;
}

static bool valid_id(const char *s)
{
    if (!s || !*s || !(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z')))
        return false;
    for (const char *c = s; *c; c++)
        if (!(*c == '_' || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')))
            return false;
    return strlen(s) < 64;
}

static const char *const reserved_names[] = {"labels",  "annotations", "incident", "target",
                                             "context", "steps",       "alert",    NULL};

static bool reserved(const char *s)
{
    for (const char *const *r = reserved_names; *r; r++)
        if (strcmp(*r, s) == 0)
            return true;
    return false;
}

static void load_end(struct loader *L, const json_t *o, const char *base, struct step *s,
                     const char *text_key, bool text_required)
{
    s->text = template_at(L, o, text_key, base, text_required);
    s->cause = template_at(L, o, "root_cause", base, false);
    s->followups = templates_at(L, o, "followups", base, false);
}

static void load_step(struct loader *L, struct playbook *pb, const json_t *o, size_t idx,
                      struct step *s)
{
    char base[64];
    snprintf(base, sizeof(base), "steps[%zu]", idx);
    s->line = fs_diag_line(L->doc, base, true);
    static const char *const keys[] = {"id",  "say",     "when",     "call",    "args", "optional",
                                       "set", "propose", "escalate", "resolve", NULL};
    if (!json_is_object(o)) {
        problem(L, base, "expected a mapping (a step)");
        return;
    }
    only_keys(L, o, base, keys);
    char path[128];
    s->id = str_at(L, o, "id", base, false);
    if (s->id && (!valid_id(s->id) || reserved(s->id))) {
        fs_jpath_key(path, sizeof(path), base, "id");
        problem(L, path,
                "\"%s\" is not a usable id (lower-case letters, digits and _, not one of "
                "labels, annotations, incident, target, context, steps, alert)",
                s->id);
    }
    if (!s->id) {
        char auto_id[32];
        snprintf(auto_id, sizeof(auto_id), "step%zu", idx + 1);
        s->id = fs_strdup(auto_id);
    }
    for (size_t i = 0; i < idx; i++) {
        if (pb->steps[i].id && s->id && strcmp(pb->steps[i].id, s->id) == 0) {
            fs_jpath_key(path, sizeof(path), base, "id");
            problem(L, path, "duplicate step id \"%s\" (also steps[%zu])", s->id, i);
        }
    }
    json_t *when = json_object_get(o, "when");
    if (when) {
        fs_jpath_key(path, sizeof(path), base, "when");
        s->when = expr_at(L, when, path);
    }
    s->say = template_at(L, o, "say", base, false);
    setters_at(L, o, "set", base, &s->set, &s->nset);
    int kinds = 0;
    if (json_object_get(o, "call")) {
        kinds++;
        s->kind = STEP_CALL;
        s->tool = str_at(L, o, "call", base, true);
        fs_jpath_key(path, sizeof(path), base, "call");
        struct fs_tool_annotations ann;
        if (s->tool && L->reg && !fs_tools_annotations(L->reg, s->tool, &ann))
            problem(L, path, "no tool named %s (forestall tool list)", s->tool);
        else if (s->tool && L->reg && !ann.read_only)
            problem(L, path,
                    "%s is not read-only: a playbook may only observe (writes are "
                    "catalog actions, proposed)",
                    s->tool);
        s->args = templates_at(L, o, "args", base, true);
        json_t *opt = json_object_get(o, "optional");
        if (opt && !json_is_boolean(opt)) {
            fs_jpath_key(path, sizeof(path), base, "optional");
            problem(L, path, "expected true or false");
        }
        s->optional = json_is_true(opt);
    } else {
        static const char *const call_only[] = {"args", "optional", NULL};
        for (const char *const *k = call_only; *k; k++) {
            if (json_object_get(o, *k)) {
                fs_jpath_key(path, sizeof(path), base, *k);
                problem(L, path, "only a step with call takes %s", *k);
            }
        }
    }
    json_t *end;
    if ((end = json_object_get(o, "propose"))) {
        kinds++;
        s->kind = STEP_PROPOSE;
        fs_jpath_key(path, sizeof(path), base, "propose");
        static const char *const pkeys[] = {"action",    "params",     "target",
                                            "rationale", "root_cause", "cite",
                                            "followups", "confidence", NULL};
        if (!json_is_object(end)) {
            problem(L, path, "expected a mapping");
        } else {
            only_keys(L, end, path, pkeys);
            s->action = str_at(L, end, "action", path, true);
            char apath[160];
            fs_jpath_key(apath, sizeof(apath), path, "action");
            if (s->action && L->catalog && !fs_catalog_find(L->catalog, s->action))
                problem(L, apath, "no catalog action named %s (forestall catalog list)", s->action);
            s->params = templates_at(L, end, "params", path, true);
            if (!s->params)
                s->params = json_object();
            s->target = templates_at(L, end, "target", path, true);
            load_end(L, end, path, s, "rationale", true);
            json_t *conf = json_object_get(end, "confidence");
            s->confidence = conf ? json_number_value(conf) : 0.8;
            if (conf && (!json_is_number(conf) || s->confidence < 0 || s->confidence > 1)) {
                fs_jpath_key(apath, sizeof(apath), path, "confidence");
                problem(L, apath, "expected a number between 0 and 1");
            }
            json_t *cite = json_object_get(end, "cite");
            fs_jpath_key(apath, sizeof(apath), path, "cite");
            if (!json_is_array(cite) || json_array_size(cite) == 0) {
                problem(L, apath,
                        "expected a non-empty list of the step ids whose observations "
                        "support the proposal");
            } else {
                s->cite = fs_calloc(json_array_size(cite), sizeof(*s->cite));
                size_t i;
                json_t *c;
                json_array_foreach(cite, i, c)
                {
                    const char *id = json_string_value(c);
                    bool known = false;
                    for (size_t j = 0; id && j < idx; j++)
                        known |= pb->steps[j].kind == STEP_CALL && pb->steps[j].id &&
                                 strcmp(pb->steps[j].id, id) == 0;
                    if (!known) {
                        char cp[200];
                        fs_jpath_index(cp, sizeof(cp), apath, i);
                        problem(L, cp, "not the id of an earlier step that calls a tool");
                    } else if (s->cite) {
                        s->cite[s->ncite++] = fs_strdup(id);
                    }
                }
            }
        }
    }
    if ((end = json_object_get(o, "escalate")) || (end = json_object_get(o, "resolve"))) {
        bool esc = json_object_get(o, "escalate") == end;
        kinds++;
        s->kind = esc ? STEP_ESCALATE : STEP_RESOLVE;
        fs_jpath_key(path, sizeof(path), base, esc ? "escalate" : "resolve");
        static const char *const ekeys[] = {"summary", "root_cause", "followups", NULL};
        if (!json_is_object(end)) {
            problem(L, path, "expected a mapping with summary");
        } else {
            only_keys(L, end, path, ekeys);
            load_end(L, end, path, s, "summary", true);
        }
        if (json_object_get(o, "escalate") && json_object_get(o, "resolve"))
            problem(L, base, "a step either escalates or resolves, not both");
    }
    if (kinds == 0) {
        if (s->nset == 0 && !s->say)
            problem(L, base, "a step needs call, set, propose, escalate or resolve");
        s->kind = STEP_SET;
    } else if (kinds > 1) {
        problem(L, base, "a step does one of call, propose, escalate, resolve");
    } else if (s->kind != STEP_CALL && s->nset) {
        fs_jpath_key(path, sizeof(path), base, "set");
        problem(L, path, "set belongs to a call step or a step of its own");
    }
}

static void load_match(struct loader *L, struct playbook *pb, const json_t *m)
{
    if (!json_is_array(m) || json_array_size(m) == 0) {
        problem(L, "match",
                "expected a list of label matchers, e.g. [{alertname: 'Disk.*'}] ([{}] matches "
                "every incident)");
        return;
    }
    pb->match = fs_calloc(json_array_size(m), sizeof(*pb->match));
    if (!pb->match)
        return;
    size_t i;
    json_t *alt;
    json_array_foreach(m, i, alt)
    {
        char base[64];
        fs_jpath_index(base, sizeof(base), "match", i);
        if (!json_is_object(alt)) {
            problem(L, base, "expected a mapping of label: regular expression");
            continue;
        }
        struct alternative *a = &pb->match[pb->nmatch++];
        a->m = fs_calloc(json_object_size(alt) + 1, sizeof(*a->m));
        const char *k;
        json_t *re;
        json_object_foreach(alt, k, re)
        {
            char path[160];
            fs_jpath_key(path, sizeof(path), base, k);
            if (!json_is_string(re)) {
                problem(L, path, "expected a regular expression (a string)");
                continue;
            }
            char msg[200];
            pcre2_code *c = fs_re_compile_checked(json_string_value(re), json_string_length(re),
                                                  msg, sizeof(msg));
            if (!c) {
                problem(L, path, "%s", msg);
                continue;
            }
            if (a->m) {
                a->m[a->n].label = fs_strdup(k);
                a->m[a->n++].re = c;
            } else {
                pcre2_code_free(c);
            }
        }
    }
}

static int load_doc(struct loader *L, const json_t *root, const char *source, struct playbook *pb)
{
    static const char *const keys[] = {"name",   "title", "description", "priority", "match",
                                       "target", "vars",  "steps",       NULL};
    if (!json_is_object(root))
        return problem(L, "", "expected a mapping (one playbook per file)");
    only_keys(L, root, "", keys);
    pb->source = fs_strdup(source);
    pb->doc = json_incref((json_t *)root);
    pb->name = str_at(L, root, "name", "", true);
    if (pb->name && !valid_id(pb->name))
        problem(L, "name", "\"%s\": lower-case letters, digits and _", pb->name);
    pb->title = str_at(L, root, "title", "", true);
    pb->description = str_at(L, root, "description", "", false);
    json_t *prio = json_object_get(root, "priority");
    if (prio &&
        (!json_is_integer(prio) || json_integer_value(prio) < 0 || json_integer_value(prio) > 1000))
        problem(L, "priority", "expected an integer 0..1000 (higher is tried first)");
    pb->priority = prio ? (int)json_integer_value(prio) : 100;
    load_match(L, pb, json_object_get(root, "match"));
    pb->target = templates_at(L, root, "target", "", true);
    if (!pb->target)
        pb->target = json_pack("{s:s}", "host", "{host(labels.instance)}");
    setters_at(L, root, "vars", "", &pb->vars, &pb->nvars);
    for (size_t i = 0; i < pb->nvars; i++) {
        if (reserved(pb->vars[i].name) || !valid_id(pb->vars[i].name)) {
            char path[160];
            fs_jpath_key(path, sizeof(path), "vars", pb->vars[i].name);
            problem(L, path, "not a usable variable name");
        }
    }
    json_t *steps = json_object_get(root, "steps");
    if (!json_is_array(steps) || json_array_size(steps) == 0 ||
        json_array_size(steps) > FS_PLAYBOOK_MAX_STEPS)
        return problem(L, "steps", "expected a list of 1 to %d steps", FS_PLAYBOOK_MAX_STEPS);
    pb->steps = fs_calloc(json_array_size(steps), sizeof(*pb->steps));
    if (!pb->steps)
        return -FS_E_NOMEM;
    size_t i;
    json_t *st;
    json_array_foreach(steps, i, st)
    {
        load_step(L, pb, st, i, &pb->steps[i]);
        pb->nsteps = i + 1;
    }
    bool ends = false;
    for (i = 0; i < pb->nsteps; i++)
        ends |= pb->steps[i].kind >= STEP_PROPOSE && !pb->steps[i].when;
    if (!ends)
        problem(L, "steps",
                "the last resort is missing: add a final step that escalates (or resolves) "
                "without a condition, so every run ends in a decision");
    return 0;
}

/* One playbook document (buf, or the file name when buf is NULL) into set; its problems are
 * counted in *problems and collected in diag, and only out of memory is an error. */
static int add_source(struct fs_playbooks *set, const char *buf, size_t len, const char *name,
                      const struct fs_registry *reg, const struct fs_catalog *catalog,
                      struct fs_buf *diag, struct fs_err *err, int *problems)
{
    struct fs_yaml_doc doc = {0};
    int rc = buf ? fs_yaml_parse(buf, len, name, &doc, err) : fs_yaml_load_file(name, &doc, err);
    if (rc < 0) {
        bool named = strncmp(err->msg, err->path, strlen(err->path)) == 0;
        if (diag)
            fs_buf_printf(diag, "%s%s%s\n", named ? "" : err->path, named ? "" : ": ", err->msg);
        (*problems)++;
        return 0;
    }
    struct loader L = {.doc = &doc,
                       .d = {.out = diag, .err = *problems ? NULL : err, .code = FS_E_CONFIG},
                       .reg = reg,
                       .catalog = catalog};
    struct playbook pb = {0};
    if (!doc.root)
        problem(&L, "", "empty playbook file");
    else
        load_doc(&L, doc.root, name, &pb);
    fs_yaml_doc_release(&doc);
    if (L.d.problems) {
        *problems += L.d.problems;
        playbook_free(&pb);
        return 0;
    }
    for (size_t i = 0; i < set->n; i++) {
        if (strcmp(set->items[i].name, pb.name) == 0) { /* same name replaces */
            playbook_free(&set->items[i]);
            set->items[i] = pb;
            return 0;
        }
    }
    struct playbook *grown = fs_realloc(set->items, (set->n + 1) * sizeof(*grown));
    if (!grown) {
        playbook_free(&pb);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    set->items = grown;
    set->items[set->n++] = pb;
    return 0;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int load_dir(struct fs_playbooks *set, const char *dir, const struct fs_registry *reg,
                    const struct fs_catalog *catalog, struct fs_buf *diag, struct fs_err *err,
                    int *problems)
{
    DIR *d = opendir(dir);
    if (!d)
        return fs_err_set(err, FS_E_CONFIG, dir, "cannot read playbook directory %s: %s", dir,
                          strerror(errno));
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] == '.' || l < 6 || strcmp(e->d_name + l - 5, ".yaml") != 0)
            continue;
        char **g = fs_realloc(names, (n + 1) * sizeof(*names));
        if (!g) {
            rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
            break;
        }
        names = g;
        names[n++] = fs_strdup(e->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof(*names), cmp_name);
    for (size_t i = 0; i < n && rc == 0; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        rc = add_source(set, NULL, 0, path, reg, catalog, diag, err, problems);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

static int load_common(const char *dir, const char *buf, size_t len, const char *name,
                       const struct fs_registry *reg, const struct fs_catalog *catalog,
                       struct fs_playbooks **out, struct fs_buf *diag, struct fs_err *err)
{
    *out = NULL;
    struct fs_playbooks *set = fs_calloc(1, sizeof(*set));
    if (!set)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    int problems = 0, rc = 0;
    for (const struct fs_embed_file *f = fs_embed_files; f->name && rc == 0; f++) {
        if (strncmp(f->name, EMBED_PREFIX, strlen(EMBED_PREFIX)) == 0)
            rc = add_source(set, (const char *)f->start, fs_embed_len(f), f->name, reg, catalog,
                            diag, err, &problems);
    }
    if (rc == 0 && dir)
        rc = load_dir(set, dir, reg, catalog, diag, err, &problems);
    if (rc == 0 && buf)
        rc = add_source(set, buf, len, name, reg, catalog, diag, err, &problems);
    if (rc == 0 && problems)
        rc = -FS_E_CONFIG;
    if (rc < 0) {
        fs_playbooks_free(set);
        return rc;
    }
    *out = set;
    return 0;
}

int fs_playbooks_load(const char *dir, const struct fs_registry *reg,
                      const struct fs_catalog *catalog, struct fs_playbooks **out,
                      struct fs_buf *diag, struct fs_err *err)
{
    return load_common(dir, NULL, 0, NULL, reg, catalog, out, diag, err);
}

int fs_playbooks_load_buf(const char *buf, size_t len, const char *name,
                          const struct fs_registry *reg, const struct fs_catalog *catalog,
                          struct fs_playbooks **out, struct fs_buf *diag, struct fs_err *err)
{
    return load_common(NULL, buf, len, name, reg, catalog, out, diag, err);
}

size_t fs_playbooks_count(const struct fs_playbooks *p)
{
    return p ? p->n : 0;
}

json_t *fs_playbook_json(const struct fs_playbooks *p, size_t i)
{
    if (i >= p->n)
        return NULL;
    const struct playbook *pb = &p->items[i];
    json_t *o =
        json_pack("{s:s,s:s,s:s?,s:i,s:s,s:O?,s:I}", "name", pb->name, "title", pb->title,
                  "description", pb->description, "priority", pb->priority, "source", pb->source,
                  "match", json_object_get(pb->doc, "match"), "steps", (json_int_t)pb->nsteps);
    return o;
}

/* ---- matching --------------------------------------------------------------------------------
 */

static bool alternative_matches(const struct alternative *a, const json_t *labels)
{
    for (size_t i = 0; i < a->n; i++) {
        const char *v = json_string_value(json_object_get(labels, a->m[i].label));
        if (!v)
            v = "";
        if (fs_re_full_match(a->m[i].re, v, strlen(v)) != 1)
            return false;
    }
    return true;
}

static const struct playbook *match(const struct fs_playbooks *p, const json_t *labels)
{
    const struct playbook *best = NULL;
    for (size_t i = 0; i < p->n; i++) {
        const struct playbook *pb = &p->items[i];
        bool hit = false;
        for (size_t j = 0; j < pb->nmatch && !hit; j++)
            hit = alternative_matches(&pb->match[j], labels);
        if (hit && (!best || pb->priority > best->priority ||
                    (pb->priority == best->priority && strcmp(pb->name, best->name) < 0)))
            best = pb;
    }
    return best;
}

const char *fs_playbooks_match(const struct fs_playbooks *p, const json_t *labels)
{
    const struct playbook *pb = match(p, labels);
    return pb ? pb->name : NULL;
}

/* ---- running ---------------------------------------------------------------------------------
 */

const char *fs_plan_outcome_name(enum fs_plan_outcome o)
{
    switch (o) {
    case FS_PLAN_PROPOSE: return "propose";
    case FS_PLAN_ESCALATE: return "escalate";
    case FS_PLAN_NO_ACTION: return "no_action";
    }
    return "?";
}

void fs_plan_result_release(struct fs_plan_result *r)
{
    json_decref(r->proposal);
    free(r->summary);
    free(r->root_cause);
    json_decref(r->followups);
    json_decref(r->forecast);
    json_decref(r->reasoning);
    json_decref(r->observations);
    memset(r, 0, sizeof(*r));
}

struct run {
    const struct playbook *pb;
    const struct fs_plan_env *env;
    json_t *scope; /* owned */
    struct fs_plan_result *out;
    int local_ids;
};

static void trace(struct run *r, const char *kind, const char *text, const json_t *data)
{
    if (r->env->trace)
        r->env->trace(r->env->arg, kind, text, data);
}

/* A template rendered to text ("" when it renders to null). Caller frees. */
static char *render_text(const struct fs_template *t, const json_t *scope)
{
    if (!t)
        return NULL;
    json_t *v = NULL;
    struct fs_err err;
    if (fs_template_render(t, scope, &v, &err) < 0)
        return fs_strdup("");
    char *s;
    if (json_is_string(v))
        s = fs_strdup(json_string_value(v));
    else if (json_is_null(v))
        s = fs_strdup("");
    else
        s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    json_decref(v);
    return s;
}

static int apply_setters(struct run *r, const struct setter *set, size_t n, struct fs_err *err)
{
    for (size_t i = 0; i < n; i++) {
        json_t *v = NULL;
        int rc = fs_expr_eval(set[i].e, r->scope, &v, err);
        if (rc < 0)
            return rc;
        json_object_set_new(r->scope, set[i].name, v);
    }
    return 0;
}

/* Drop empty strings and nulls from a rendered target: a label the incident lacks is absent. */
static void prune_empty(json_t *o)
{
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(o, tmp, k, v)
    {
        if (json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0))
            json_object_del(o, k);
    }
}

static char *first_line(const char *text, char *buf, size_t size)
{
    size_t n = strcspn(text ? text : "", "\n");
    if (n >= size)
        n = size - 4;
    snprintf(buf, size, "%.*s%s", (int)n, text ? text : "", n == size - 4 ? "..." : "");
    return buf;
}

/* End the run in an escalation that says which budget ran out: what is "step" or "time";
 * during (may be NULL) the call the deadline cut. */
static void budget_end(struct run *r, const char *what, const char *during)
{
    char why[600], budget[120];
    if (strcmp(what, "step") == 0)
        snprintf(budget, sizeof(budget), "step budget (dispatch.max_steps: %d tool calls)",
                 r->env->max_steps > 0 ? r->env->max_steps : DEFAULT_MAX_STEPS);
    else
        snprintf(budget, sizeof(budget), "time budget (dispatch.timeout)");
    snprintf(why, sizeof(why),
             "the %s ran out before the playbook reached a decision%s%s%s; a person should look "
             "(evidence so far is in the trace)",
             budget, during ? " (" : "", during ? during : "",
             during ? " was cut at the deadline)" : "");
    fs_utf8_cut(why);
    free(r->out->summary);
    free(r->out->root_cause);
    r->out->outcome = FS_PLAN_ESCALATE;
    r->out->summary = fs_strdup(why);
    r->out->root_cause = fs_strdup("budget_exhausted");
}

static int do_call(struct run *r, const struct step *s, bool *stop, struct fs_err *err)
{
    json_t *args = NULL;
    int rc = fs_template_render_json(s->args ? s->args : json_object(), r->scope, &args, err);
    if (rc < 0)
        return rc;
    char line[MAX_TRACE_TEXT + 64];
    char *argtext = json_dumps(args, JSON_COMPACT | JSON_SORT_KEYS);
    snprintf(line, sizeof(line), "%s %.*s", s->tool, MAX_TRACE_TEXT, argtext ? argtext : "{}");
    free(argtext);
    trace(r, "call", line, args);
    struct fs_tool_result res = {0};
    struct fs_err terr = {0};
    rc = fs_tools_call(r->env->tools, s->tool, args, r->env->ctx, &res, &terr);
    bool ok = rc == 0 && !res.is_error;
    if (rc < 0 && rc != -FS_E_INVALID_PAYLOAD && rc != -FS_E_NOT_FOUND && rc != -FS_E_INVALID) {
        json_decref(args);
        *err = terr;
        return rc;
    }
    if (rc < 0) { /* the playbook asked for something the tool refuses: recorded as a failure */
        res.text = fs_strdup(terr.msg);
        res.is_error = true;
    }
    r->out->steps++;
    char obs[32] = "";
    if (r->env->observe) {
        rc = r->env->observe(r->env->arg, s->tool, args, &res, obs, err);
        if (rc < 0) {
            json_decref(args);
            fs_tool_result_release(&res);
            return rc;
        }
    } else {
        snprintf(obs, sizeof(obs), "local-%d", ++r->local_ids);
    }
    json_decref(args);
    json_array_append_new(r->out->observations, json_pack("{s:s,s:s}", "id", obs, "tool", s->tool));
    char fl[MAX_TRACE_TEXT];
    snprintf(line, sizeof(line), "%s%s: %s", ok ? "" : "failed ", obs,
             first_line(res.text, fl, sizeof(fl)));
    trace(r, "result", line, res.structured);
    json_t *steps = json_object_get(r->scope, "steps");
    json_object_set_new(steps, s->id,
                        json_pack("{s:b,s:s,s:s,s:I}", "ok", ok, "obs", obs, "text",
                                  res.text ? res.text : "", "durationMs",
                                  (json_int_t)res.duration_ms));
    json_t *value = ok ? (res.structured ? json_incref(res.structured)
                                         : json_pack("{s:s}", "text", res.text ? res.text : ""))
                       : json_null();
    json_object_set_new(r->scope, s->id, value);
    if (ok && strcmp(s->tool, "prometheus.forecast") == 0 && res.structured) {
        /* the series that reaches its threshold first: {summary, seconds_to_threshold, ...} */
        json_t *earliest = json_object_get(res.structured, "earliest");
        if (json_is_object(earliest)) {
            json_decref(r->out->forecast);
            r->out->forecast = json_incref(earliest);
        }
    }
    if (!ok && r->env->deadline_ms && fs_now_ms() + DEADLINE_SLACK_MS >= r->env->deadline_ms) {
        /* the registry cut the call at the investigation's deadline (ctx.deadline_ms): that
         * is the time budget running out, whatever the step's `optional` says */
        snprintf(line, sizeof(line), "%s (%s)", s->tool, obs);
        budget_end(r, "time", line);
        *stop = true;
    } else if (!ok && !s->optional) {
        char why[600];
        snprintf(why, sizeof(why), "%s failed (%s), so the playbook cannot go on: %s", s->tool, obs,
                 first_line(res.text, fl, sizeof(fl)));
        r->out->outcome = FS_PLAN_ESCALATE;
        r->out->summary = fs_strdup(why);
        r->out->root_cause = fs_strdup("investigation_failed");
        *stop = true;
    }
    fs_tool_result_release(&res);
    if (ok && !*stop)
        return apply_setters(r, s->set, s->nset, err);
    return 0;
}

static json_t *render_followups(const json_t *list, const json_t *scope)
{
    json_t *out = json_array();
    if (!list)
        return out;
    json_t *rendered = NULL;
    struct fs_err err;
    if (fs_template_render_json(list, scope, &rendered, &err) < 0)
        return out;
    size_t i;
    json_t *v;
    json_array_foreach(rendered, i, v)
    {
        if (json_is_string(v) && json_string_length(v) > 0)
            json_array_append(out, v);
    }
    json_decref(rendered);
    return out;
}

static int do_end(struct run *r, const struct step *s, struct fs_err *err)
{
    struct fs_plan_result *o = r->out;
    char *cause = render_text(s->cause, r->scope);
    o->root_cause = cause && *cause ? cause : (free(cause), NULL);
    json_decref(o->followups);
    o->followups = render_followups(s->followups, r->scope);
    if (s->kind != STEP_PROPOSE) {
        o->outcome = s->kind == STEP_ESCALATE ? FS_PLAN_ESCALATE : FS_PLAN_NO_ACTION;
        o->summary = render_text(s->text, r->scope);
        return 0;
    }
    json_t *params = NULL, *target = NULL;
    int rc = fs_template_render_json(s->params, r->scope, &params, err);
    if (rc == 0) {
        json_t *base = json_deep_copy(json_object_get(r->scope, "target"));
        if (s->target) {
            json_t *over = NULL;
            if ((rc = fs_template_render_json(s->target, r->scope, &over, err)) == 0)
                json_object_update(base, over);
            json_decref(over);
        }
        target = base;
        prune_empty(target);
    }
    if (rc < 0) {
        json_decref(params);
        json_decref(target);
        return rc;
    }
    json_t *cited = json_array();
    json_t *steps = json_object_get(r->scope, "steps");
    for (size_t i = 0; i < s->ncite; i++) {
        json_t *st = json_object_get(steps, s->cite[i]);
        if (st && json_is_true(json_object_get(st, "ok")))
            json_array_append(cited, json_object_get(st, "obs"));
    }
    char *rationale = render_text(s->text, r->scope);
    o->outcome = FS_PLAN_PROPOSE;
    o->summary = fs_strdup(rationale);
    o->proposal = json_pack("{s:s,s:o,s:o,s:s,s:f,s:{s:o}}", "action", s->action, "params", params,
                            "target", target, "rationale", rationale ? rationale : "", "confidence",
                            s->confidence, "evidence", "cited", cited);
    free(rationale);
    return o->proposal ? 0 : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
}

int fs_playbook_run(const struct fs_playbooks *p, const char *name, const json_t *scope,
                    const struct fs_plan_env *env, struct fs_plan_result *out, struct fs_err *err)
{
    memset(out, 0, sizeof(*out));
    const struct playbook *pb = NULL;
    if (name) {
        for (size_t i = 0; i < p->n && !pb; i++)
            if (strcmp(p->items[i].name, name) == 0)
                pb = &p->items[i];
        if (!pb)
            return fs_err_set(err, FS_E_NOT_FOUND, NULL, "no playbook named %s", name);
    } else {
        pb = match(p, json_object_get(scope, "labels"));
        if (!pb)
            return fs_err_set(err, FS_E_NOT_FOUND, NULL, "no playbook matches the incident");
    }
    out->reasoning = json_array();
    out->observations = json_array();
    out->followups = json_array();
    struct run r = {.pb = pb, .env = env, .scope = json_deep_copy(scope), .out = out};
    if (!r.scope || !out->reasoning || !out->observations)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    fs_strlcpy(out->playbook, pb->name, sizeof(out->playbook));
    if (!json_is_object(json_object_get(r.scope, "labels")))
        json_object_set_new(r.scope, "labels", json_object());
    if (!json_is_object(json_object_get(r.scope, "annotations")))
        json_object_set_new(r.scope, "annotations", json_object());
    json_object_set_new(r.scope, "steps", json_object());
    char line[600];
    snprintf(line, sizeof(line), "playbook %s: %s", pb->name, pb->title);
    trace(&r, "reasoning", line, NULL);
    json_array_append_new(out->reasoning, json_string(line));
    /* what happened last time on this entity (the knowledge history), said before anything */
    json_t *last =
        json_array_get(json_object_get(json_object_get(r.scope, "context"), "history"), 0);
    if (json_is_object(last)) {
        const char *act = json_string_value(json_object_get(last, "action"));
        const char *cause = json_string_value(json_object_get(last, "rootCause"));
        snprintf(line, sizeof(line), "last time here: %s at %s ended %s%s%s%s%s",
                 json_string_value(json_object_get(last, "incidentId")),
                 json_string_value(json_object_get(last, "ts")),
                 json_string_value(json_object_get(last, "outcome")), act ? " after " : "",
                 act ? act : "", cause ? ", root cause " : "", cause ? cause : "");
        trace(&r, "reasoning", line, last);
        json_array_append_new(out->reasoning, json_string(line));
    }
    int rc = 0;
    /* the playbook's target, then its variables */
    json_t *given = json_object_get(r.scope, "target");
    json_t *target = NULL;
    if ((rc = fs_template_render_json(pb->target, r.scope, &target, err)) < 0)
        goto out;
    prune_empty(target);
    if (json_is_object(given))
        json_object_update_missing(target, given);
    json_object_set_new(r.scope, "target", target);
    if ((rc = apply_setters(&r, pb->vars, pb->nvars, err)) < 0)
        goto out;
    int max_steps = env->max_steps > 0 ? env->max_steps : DEFAULT_MAX_STEPS;
    bool stop = false;
    for (size_t i = 0; i < pb->nsteps && !stop; i++) {
        const struct step *s = &pb->steps[i];
        if (s->when) {
            bool yes = false;
            if ((rc = fs_expr_test(s->when, r.scope, &yes, err)) < 0)
                goto out;
            if (!yes)
                continue;
        }
        if (s->say) {
            char *text = render_text(s->say, r.scope);
            if (text && *text) {
                trace(&r, "reasoning", text, NULL);
                json_array_append_new(out->reasoning, json_string(text));
            }
            free(text);
        }
        switch (s->kind) {
        case STEP_CALL:
            if (out->steps >= max_steps) {
                budget_end(&r, "step", NULL);
                stop = true;
                break;
            }
            if (env->deadline_ms && fs_now_ms() >= env->deadline_ms) {
                budget_end(&r, "time", NULL);
                stop = true;
                break;
            }
            rc = do_call(&r, s, &stop, err);
            break;
        case STEP_SET: rc = apply_setters(&r, s->set, s->nset, err); break;
        default:
            rc = do_end(&r, s, err);
            stop = true;
            break;
        }
        if (rc < 0)
            goto out;
    }
    if (!stop) {
        out->outcome = FS_PLAN_ESCALATE;
        out->summary = fs_strdup("no step of the playbook reached a decision");
    }
    snprintf(line, sizeof(line), "%s: %s", fs_plan_outcome_name(out->outcome),
             out->summary ? out->summary : "");
    trace(&r, "decision", line, out->proposal);
out:
    json_decref(r.scope);
    return rc;
}
