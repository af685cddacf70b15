/* policytest: `forestall policy test DIR` — table cases for the gate. Reads every *.yaml file
 * of a directory in name order, runs each case's proposal through the gate and compares the
 * decision with what the case expects, reporting file:line of every failure. It must not
 * decide anything itself (the gate does) nor change the policy or catalog it is given. */
#include "core/common.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/diag.h"
#include "core/json.h"
#include "core/yaml.h"
#include "safety/gate.h"
#include "safety/policytest.h"

#define MAX_FILES 10000

struct run {
    const struct fs_policy *p;
    const struct fs_catalog *c;
    bool verbose;
    struct fs_policy_test_report *rep;
    const struct fs_yaml_doc *doc;
    struct fs_diag d; /* d.out also gets the case results */
};

/* A structural problem in a case file: "file:line: key: message". */
static void problem(struct run *R, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(struct run *R, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fs_diag_vreport(&R->d, R->doc->name, fs_yaml_line(R->doc, path), path, fmt, ap);
    va_end(ap);
}

static bool check_keys(struct run *R, const json_t *obj, const char *base,
                       const char *const *allowed)
{
    const char *key;
    json_t *v;
    bool ok = true;
    json_object_foreach((json_t *)obj, key, v)
    {
        bool known = false;
        for (const char *const *a = allowed; *a && !known; a++)
            known = strcmp(*a, key) == 0;
        if (!known) {
            char path[300], list[200];
            fs_diag_join(list, sizeof(list), allowed);
            fs_jpath_key(path, sizeof(path), base, key);
            problem(R, path, "unknown key (known: %s)", list);
            ok = false;
        }
    }
    return ok;
}

struct expect {
    enum fs_decision decision;
    bool has_score, has_level, has_rule, has_iscore, has_ilevel;
    int score, rule, iscore;
    enum fs_level level, ilevel;
    const json_t *reasons; /* array of strings or NULL */
};

/* `rule:` may name the rule as the gate does (its verdicts carry the same names). */
static int rule_number(const char *name)
{
    static const char *const names[] = {
        "kill_switch",       "invalid_proposal",  "forbidden_pattern", "policy_deny",
        "change_freeze",     "evidence",          "rate_limit",        "shadow_mode",
        "critical_severity", "approval_required", "score_threshold",   "supervised_mode",
        "default_execute"};
    for (size_t i = 0; i < FS_ARRAY_LEN(names); i++)
        if (strcmp(names[i], name) == 0)
            return (int)i + 1;
    return 0;
}

static bool parse_int_key(struct run *R, const json_t *e, const char *base, const char *key,
                          int min, int max, int *out, bool *has)
{
    json_t *v = json_object_get(e, key);
    *has = false;
    if (!v)
        return true;
    char path[300];
    fs_jpath_key(path, sizeof(path), base, key);
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        problem(R, path, "expected an integer from %d to %d", min, max);
        return false;
    }
    *out = (int)json_integer_value(v);
    *has = true;
    return true;
}

static bool parse_level_key(struct run *R, const json_t *e, const char *base, const char *key,
                            enum fs_level *out, bool *has)
{
    json_t *v = json_object_get(e, key);
    *has = false;
    if (!v)
        return true;
    char path[300];
    fs_jpath_key(path, sizeof(path), base, key);
    if (fs_level_parse(json_string_value(v), out) < 0) {
        problem(R, path, "expected LOW, MEDIUM or HIGH");
        return false;
    }
    *has = true;
    return true;
}

static bool parse_expect(struct run *R, const json_t *e, const char *base, struct expect *x)
{
    static const char *const keys[] = {
        "decision",       "score",          "level",           "rule",
        "incident_score", "incident_level", "reasons_include", NULL};
    char path[300];
    memset(x, 0, sizeof(*x));
    if (!json_is_object(e)) {
        problem(R, base,
                "expected a mapping with decision, score, level, rule, incident_score, "
                "incident_level, reasons_include");
        return false;
    }
    bool ok = check_keys(R, e, base, keys);
    json_t *d = json_object_get(e, "decision");
    fs_jpath_key(path, sizeof(path), base, "decision");
    if (!d) {
        problem(R, base, "decision: required key is missing");
        ok = false;
    } else if (fs_decision_parse(json_string_value(d), &x->decision) < 0) {
        problem(R, path,
                "expected execute, needs_approval, needs_force_override, blocked or "
                "shadow");
        ok = false;
    }
    ok &= parse_int_key(R, e, base, "score", 0, 100, &x->score, &x->has_score);
    ok &= parse_int_key(R, e, base, "incident_score", 0, 100, &x->iscore, &x->has_iscore);
    ok &= parse_level_key(R, e, base, "level", &x->level, &x->has_level);
    ok &= parse_level_key(R, e, base, "incident_level", &x->ilevel, &x->has_ilevel);
    json_t *r = json_object_get(e, "rule");
    if (r && json_is_string(r)) {
        fs_jpath_key(path, sizeof(path), base, "rule");
        if (!(x->rule = rule_number(json_string_value(r)))) {
            problem(R, path, "unknown rule name \"%s\"", json_string_value(r));
            ok = false;
        }
        x->has_rule = x->rule > 0;
    } else {
        ok &= parse_int_key(R, e, base, "rule", 1, FS_GATE_RULES, &x->rule, &x->has_rule);
    }
    json_t *ri = json_object_get(e, "reasons_include");
    if (ri) {
        fs_jpath_key(path, sizeof(path), base, "reasons_include");
        bool good = json_is_array(ri);
        size_t i;
        json_t *s;
        json_array_foreach(ri, i, s) good &= json_is_string(s) && *json_string_value(s);
        if (!good) {
            problem(R, path, "expected a list of non-empty strings");
            ok = false;
        }
        x->reasons = ri;
    }
    return ok;
}

static bool reason_present(const struct fs_gate_result *g, const char *needle)
{
    for (int i = 0; i < FS_GATE_RULES; i++)
        if (g->rules[i].matched && strstr(g->rules[i].detail, needle))
            return true;
    return false;
}

/* Compare; mismatches go into why ("; "-separated). */
static bool compare(const struct expect *x, const struct fs_gate_result *g, struct fs_buf *why)
{
    const struct fs_rule_verdict *dv = &g->rules[g->rule - 1];
    size_t before = why->len;
#define SEP (why->len > before ? "; " : "")
    if (x->decision != g->decision)
        fs_buf_printf(why, "%sexpected decision %s, got %s (rule %d %s: %s)", SEP,
                      fs_decision_name(x->decision), fs_decision_name(g->decision), g->rule,
                      dv->name, dv->detail);
    if (x->has_rule && x->rule != g->rule)
        fs_buf_printf(why, "%sexpected rule %d, got rule %d %s (%s)", SEP, x->rule, g->rule,
                      dv->name, dv->detail);
    if (x->has_score && x->score != g->score)
        fs_buf_printf(why, "%sexpected score %d, got %d", SEP, x->score, g->score);
    if (x->has_level && x->level != g->level)
        fs_buf_printf(why, "%sexpected level %s, got %s (score %d)", SEP, fs_level_name(x->level),
                      fs_level_name(g->level), g->score);
    if (x->has_iscore && x->iscore != g->incident_score)
        fs_buf_printf(why, "%sexpected incident_score %d, got %d", SEP, x->iscore,
                      g->incident_score);
    if (x->has_ilevel && x->ilevel != g->incident_level)
        fs_buf_printf(why, "%sexpected incident_level %s, got %s (incident score %d)", SEP,
                      fs_level_name(x->ilevel), fs_level_name(g->incident_level),
                      g->incident_score);
    size_t i;
    json_t *s;
    json_array_foreach(x->reasons, i, s)
    {
        const char *needle = json_string_value(s);
        if (!reason_present(g, needle)) {
            fs_buf_printf(why, "%sno reason contains \"%s\"; reasons:", SEP, needle);
            for (int k = 0; k < FS_GATE_RULES; k++)
                if (g->rules[k].matched)
                    fs_buf_printf(why, " [%d %s: %s]", k + 1, g->rules[k].name, g->rules[k].detail);
        }
    }
#undef SEP
    return why->len == before;
}

static void run_case(struct run *R, const json_t *c, size_t idx)
{
    static const char *const keys[] = {"name", "proposal", "expect", NULL};
    char base[64], path[300];
    fs_jpath_index(base, sizeof(base), "cases", idx);
    if (!json_is_object(c)) {
        problem(R, base, "expected a mapping with name, proposal, expect");
        return;
    }
    bool ok = check_keys(R, c, base, keys);
    const char *name = json_string_value(json_object_get(c, "name"));
    if (!name || !*name) {
        fs_jpath_key(path, sizeof(path), base, "name");
        problem(R, json_object_get(c, "name") ? path : base, "name: expected a non-empty string");
        ok = false;
    }
    json_t *prop = json_object_get(c, "proposal");
    if (!prop) {
        problem(R, base, "proposal: required key is missing");
        ok = false;
    }
    json_t *e = json_object_get(c, "expect");
    struct expect x;
    fs_jpath_key(path, sizeof(path), base, "expect");
    if (!e) {
        problem(R, base, "expect: required key is missing");
        ok = false;
    } else {
        ok &= parse_expect(R, e, path, &x);
    }
    if (!ok)
        return;
    struct fs_proposal in;
    struct fs_err perr;
    if (fs_proposal_from_json(prop, &in, &perr) < 0) {
        /* the parser's path ("target.host") is relative to the proposal */
        char ppath[300];
        fs_jpath_key(ppath, sizeof(ppath), base, "proposal");
        if (perr.path[0]) {
            size_t n = strlen(ppath);
            snprintf(ppath + n, sizeof(ppath) - n, "%s%s", perr.path[0] == '[' ? "" : ".",
                     perr.path);
        }
        /* the most precise path the line table knows; the parser's message is not cut */
        char msg[sizeof(perr.msg) + 32];
        snprintf(msg, sizeof(msg), "invalid proposal: %s", perr.msg);
        fs_diag_put(&R->d, R->doc->name, fs_diag_line(R->doc, ppath, false), ppath, msg);
        return;
    }
    struct fs_gate_result g;
    fs_gate_decide(R->p, R->c, &in, &g);
    fs_proposal_release(&in);
    struct fs_buf why = FS_BUF_INIT(0);
    bool pass = compare(&x, &g, &why);
    int line = fs_yaml_line(R->doc, base);
    R->rep->cases++;
    if (pass) {
        R->rep->passed++;
        if (R->verbose && R->d.out)
            fs_buf_printf(R->d.out, "%s:%d: %s: ok (%s, rule %d %s, score %d %s)\n", R->doc->name,
                          line, name, fs_decision_name(g.decision), g.rule,
                          g.rules[g.rule - 1].name, g.score, fs_level_name(g.level));
    } else {
        R->rep->failed++;
        if (R->d.out)
            fs_buf_printf(R->d.out, "%s:%d: %s: %s\n", R->doc->name, line, name, fs_buf_str(&why));
    }
    fs_buf_release(&why);
}

static void run_file(struct run *R, const char *file)
{
    struct fs_yaml_doc doc;
    struct fs_err e;
    if (fs_yaml_load_file(file, &doc, &e) < 0) {
        if (R->d.out)
            fs_buf_printf(R->d.out, "%s\n", e.msg);
        if (R->d.problems++ == 0 && R->d.err)
            *R->d.err = e;
        return;
    }
    R->doc = &doc;
    R->rep->files++;
    static const char *const keys[] = {"cases", NULL};
    json_t *cases = NULL;
    if (!json_is_object(doc.root)) {
        problem(R, "", "expected a mapping with cases: [...]");
    } else if (check_keys(R, doc.root, "", keys)) {
        cases = json_object_get(doc.root, "cases");
        if (!json_is_array(cases)) {
            problem(R, cases ? "cases" : "", "cases: expected a list of cases");
            cases = NULL;
        }
    }
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) run_case(R, c, i);
    R->doc = NULL;
    fs_yaml_doc_release(&doc);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_case_file(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".yaml") == 0;
}

int fs_policy_test_dir(const char *dir, const struct fs_policy *p, const struct fs_catalog *c,
                       bool verbose, struct fs_buf *out, struct fs_policy_test_report *rep,
                       struct fs_err *err)
{
    memset(rep, 0, sizeof(*rep));
    DIR *d = opendir(dir);
    if (!d)
        return fs_err_set(err, FS_E_IO, dir, "%s: cannot open directory: %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!is_case_file(de->d_name))
            continue;
        if (n == MAX_FILES) {
            rc =
                fs_err_set(err, FS_E_TOO_LARGE, dir, "%s: more than %d case files", dir, MAX_FILES);
            break;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nn = fs_realloc(names, cap * sizeof(*names));
            if (!nn) {
                rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
                break;
            }
            names = nn;
        }
        if (!(names[n] = fs_strdup(de->d_name))) {
            rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
            break;
        }
        n++;
    }
    closedir(d);
    if (rc == 0) {
        qsort(names, n, sizeof(*names), cmp_names);
        struct run R = {.p = p,
                        .c = c,
                        .verbose = verbose,
                        .rep = rep,
                        .d = {.out = out, .err = err, .code = FS_E_CONFIG}};
        for (size_t i = 0; i < n; i++) {
            size_t len = strlen(dir) + strlen(names[i]) + 2;
            char *file = fs_malloc(len);
            if (!file) {
                rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
                break;
            }
            bool slash = *dir && dir[strlen(dir) - 1] == '/';
            snprintf(file, len, "%s%s%s", dir, slash ? "" : "/", names[i]);
            run_file(&R, file);
            free(file);
        }
        if (rc == 0 && R.d.problems)
            rc = err ? -(int)err->code : -FS_E_CONFIG;
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}
