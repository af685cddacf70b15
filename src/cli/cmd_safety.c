/* cmd_safety: the safety core's commands. Local ones judge files with the same code the daemon
 * runs (gate explain, policy test/check, catalog list/check, audit verify/export read the store
 * directly); the others are thin views over the daemon's API (propose, proposals, approve,
 * reject, freeze, unfreeze, mode). */
#include "core/common.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "cli/cli.h"
#include "core/config.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/time.h"
#include "safety/gate.h"
#include "safety/policytest.h"
#include "safety/service.h"
#include "store/store.h"

#define PROPOSAL_MAX (4u << 20)

enum {
    S_URL = 1000,
    S_AS,
    S_REASON,
    S_COMMENT,
    S_FORCE,
    S_POLICY,
    S_CATALOG,
    S_CONFIG,
    S_STATUS,
    S_INCIDENT,
    S_LIMIT,
    S_SERVICE,
    S_ENV,
    S_FORMAT,
    S_SINCE,
    S_TYPE,
    S_ACTOR,
    S_OUTPUT,
    S_VERBOSE,
    S_NO_CHECKPOINT,
};
#define S_BIT(o) (1u << ((o)-S_URL))

struct sopts {
    const char *url, *as, *reason, *comment, *policy, *catalog, *config, *status, *incident, *limit,
        *service, *env, *format, *since, *type, *actor, *output;
    bool force, verbose, no_checkpoint;
    bool json; /* -o json */
    int argi;
};

static int parse(int argc, char **argv, const char *cmd, unsigned allowed, bool has_o,
                 int positional, struct sopts *s)
{
    static const struct option opts[] = {{"url", required_argument, NULL, S_URL},
                                         {"as", required_argument, NULL, S_AS},
                                         {"reason", required_argument, NULL, S_REASON},
                                         {"comment", required_argument, NULL, S_COMMENT},
                                         {"force-override", no_argument, NULL, S_FORCE},
                                         {"policy", required_argument, NULL, S_POLICY},
                                         {"catalog", required_argument, NULL, S_CATALOG},
                                         {"config", required_argument, NULL, S_CONFIG},
                                         {"status", required_argument, NULL, S_STATUS},
                                         {"incident", required_argument, NULL, S_INCIDENT},
                                         {"limit", required_argument, NULL, S_LIMIT},
                                         {"service", required_argument, NULL, S_SERVICE},
                                         {"env", required_argument, NULL, S_ENV},
                                         {"format", required_argument, NULL, S_FORMAT},
                                         {"since", required_argument, NULL, S_SINCE},
                                         {"type", required_argument, NULL, S_TYPE},
                                         {"actor", required_argument, NULL, S_ACTOR},
                                         {"output", required_argument, NULL, S_OUTPUT},
                                         {"verbose", no_argument, NULL, S_VERBOSE},
                                         {"no-checkpoint", no_argument, NULL, S_NO_CHECKPOINT},
                                         {NULL, 0, NULL, 0}};
    memset(s, 0, sizeof(*s));
    int o;
    char shorts[8];
    snprintf(shorts, sizeof(shorts), "%s%s%s", has_o ? "o:" : "",
             (allowed & S_BIT(S_CONFIG)) ? "c:" : "", (allowed & S_BIT(S_VERBOSE)) ? "v" : "");
    while ((o = getopt_long(argc, argv, shorts, opts, NULL)) != -1) {
        if (o == 'o') {
            if (fs_cli_output_json(optarg, &s->json) < 0)
                return FS_EXIT_USAGE;
            continue;
        }
        if (o == 'c')
            o = S_CONFIG;
        if (o == 'v')
            o = S_VERBOSE;
        if (o < S_URL || !(allowed & S_BIT(o))) {
            if (o >= S_URL)
                fprintf(stderr, "forestall: %s does not take that option\n", cmd);
            fs_cli_usage(cmd, false);
            return FS_EXIT_USAGE;
        }
        switch (o) {
        case S_URL: s->url = optarg; break;
        case S_AS: s->as = optarg; break;
        case S_REASON: s->reason = optarg; break;
        case S_COMMENT: s->comment = optarg; break;
        case S_FORCE: s->force = true; break;
        case S_POLICY: s->policy = optarg; break;
        case S_CATALOG: s->catalog = optarg; break;
        case S_CONFIG: s->config = optarg; break;
        case S_STATUS: s->status = optarg; break;
        case S_INCIDENT: s->incident = optarg; break;
        case S_LIMIT: s->limit = optarg; break;
        case S_SERVICE: s->service = optarg; break;
        case S_ENV: s->env = optarg; break;
        case S_FORMAT: s->format = optarg; break;
        case S_SINCE: s->since = optarg; break;
        case S_TYPE: s->type = optarg; break;
        case S_ACTOR: s->actor = optarg; break;
        case S_OUTPUT: s->output = optarg; break;
        case S_VERBOSE: s->verbose = true; break;
        case S_NO_CHECKPOINT: s->no_checkpoint = true; break;
        default: break;
        }
    }
    if (positional >= 0 && argc - optind != positional) {
        fs_cli_usage(cmd, false);
        return FS_EXIT_USAGE;
    }
    s->argi = optind;
    return FS_EXIT_OK;
}

/* ---- local: rules -------------------------------------------------------------------------- */

/* Policy and catalog: --policy/--catalog, else the config's (-c), else the embedded ones; the
 * config's knowledge graph too (checked against the policy's resource classes). */
static int load_rules(const struct sopts *s, struct fs_rules **out)
{
    struct fs_config *cfg = NULL;
    struct fs_err err;
    struct fs_buf diag = FS_BUF_INIT(1 << 16);
    if (s->config && fs_config_load(s->config, &cfg, &diag, &err) < 0)
        return fs_cli_diag_fail(&diag, &err);
    const char *pol = s->policy ? s->policy : cfg ? cfg->safety.policy : NULL;
    const char *cat = s->catalog ? s->catalog : cfg ? cfg->safety.catalog : NULL;
    int rc = fs_rules_load(pol, cat, cfg ? cfg->context.graph : NULL, out, &diag, &err);
    fs_config_free(cfg);
    if (rc < 0)
        return fs_cli_diag_fail(&diag, &err);
    fs_buf_release(&diag);
    return FS_EXIT_OK;
}

int fs_cmd_gate_explain(int argc, char **argv)
{
    struct sopts s;
    int rc = parse(argc, argv, "gate explain", S_BIT(S_POLICY) | S_BIT(S_CATALOG) | S_BIT(S_CONFIG),
                   true, 1, &s);
    if (rc != FS_EXIT_OK)
        return rc;
    struct fs_buf in;
    struct fs_err err;
    if (fs_read_file(argv[s.argi], PROPOSAL_MAX, &in, &err) < 0)
        return fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
    struct fs_proposal p;
    rc = fs_proposal_parse(fs_buf_str(&in), in.len, &p, &err);
    fs_buf_release(&in);
    if (rc < 0) {
        /* the message starts with the path of the problem ("target.host: expected string")
         * when there is one (docs/proposals.md, "Errors"): say it once */
        size_t pl = strlen(err.path);
        bool named = pl == 0 || (strncmp(err.msg, err.path, pl) == 0 && err.msg[pl] == ':');
        return fs_cli_fail(FS_EXIT_FAILURE, "%s: %s%s%s", argv[s.argi], named ? "" : err.path,
                           named ? "" : ": ", err.msg);
    }
    struct fs_rules *rules = NULL;
    if ((rc = load_rules(&s, &rules)) != FS_EXIT_OK) {
        fs_proposal_release(&p);
        return rc;
    }
    struct fs_gate_result g;
    fs_gate_decide(rules->policy, rules->catalog, &p, &g);
    if (s.json) {
        json_t *j = fs_gate_result_json(&g, rules->policy, rules->catalog);
        rc = j ? fs_cli_print_json(j) : FS_EXIT_FAILURE;
        json_decref(j);
    } else {
        struct fs_buf b = FS_BUF_INIT(0);
        fs_gate_result_text(&g, rules->policy, &b);
        fputs(fs_buf_str(&b), stdout);
        fs_buf_release(&b);
    }
    fs_proposal_release(&p);
    fs_rules_release(rules);
    return rc; /* whatever the decision: the explanation is the result */
}

int fs_cmd_policy_test(int argc, char **argv)
{
    struct sopts s;
    int rc = parse(argc, argv, "policy test",
                   S_BIT(S_POLICY) | S_BIT(S_CATALOG) | S_BIT(S_CONFIG) | S_BIT(S_VERBOSE), false,
                   1, &s);
    if (rc != FS_EXIT_OK)
        return rc;
    struct fs_rules *rules = NULL;
    if ((rc = load_rules(&s, &rules)) != FS_EXIT_OK)
        return rc;
    struct fs_buf out = FS_BUF_INIT(0);
    struct fs_policy_test_report rep = {0};
    struct fs_err err;
    rc = fs_policy_test_dir(argv[s.argi], rules->policy, rules->catalog, s.verbose, &out, &rep,
                            &err);
    fputs(fs_buf_str(&out), stdout);
    fs_buf_release(&out);
    if (rc < 0) {
        fs_rules_release(rules);
        return fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
    }
    printf("policy %s, catalog %s: %d/%d cases passed in %d files%s\n", rules->policy->version,
           rules->catalog->version, rep.passed, rep.cases, rep.files,
           rep.failed ? " — FAIL" : " — PASS");
    fs_rules_release(rules);
    return rep.failed || rep.cases == 0 ? FS_EXIT_FAILURE : FS_EXIT_OK;
}

int fs_cmd_policy_check(int argc, char **argv)
{
    struct sopts s;
    int rc = parse(argc, argv, "policy check", S_BIT(S_CATALOG), true, 1, &s);
    if (rc != FS_EXIT_OK)
        return rc;
    s.policy = argv[s.argi];
    struct fs_rules *rules = NULL;
    if ((rc = load_rules(&s, &rules)) != FS_EXIT_OK)
        return rc;
    if (s.json)
        fs_cli_print_json(rules->policy->doc);
    else
        printf("%s: valid (version %s)\n", s.policy, rules->policy->version);
    fs_rules_release(rules);
    return FS_EXIT_OK;
}

int fs_cmd_catalog_check(int argc, char **argv)
{
    struct sopts s;
    int rc = parse(argc, argv, "catalog check", 0, false, 1, &s);
    if (rc != FS_EXIT_OK)
        return rc;
    s.catalog = argv[s.argi];
    struct fs_rules *rules = NULL;
    if ((rc = load_rules(&s, &rules)) != FS_EXIT_OK)
        return rc;
    printf("%s: valid; the merged catalog has %zu actions (version %s)\n", s.catalog,
           rules->catalog->n, rules->catalog->version);
    fs_rules_release(rules);
    return FS_EXIT_OK;
}

int fs_cmd_catalog_list(int argc, char **argv)
{
    struct sopts s;
    int rc = parse(argc, argv, "catalog list", S_BIT(S_CATALOG) | S_BIT(S_CONFIG), true, 0, &s);
    if (rc != FS_EXIT_OK)
        return rc;
    struct fs_rules *rules = NULL;
    if ((rc = load_rules(&s, &rules)) != FS_EXIT_OK)
        return rc;
    const struct fs_catalog *c = rules->catalog;
    if (s.json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < c->n; i++)
            json_array_append_new(arr, fs_action_json(&c->actions[i]));
        json_t *o = json_pack("{s:s,s:o}", "version", c->version, "actions", arr);
        fs_cli_print_json(o);
        json_decref(o);
    } else {
        printf("catalog %s\n%-26s %-16s %4s %8s %-12s %s\n", c->version, "ACTION", "CATEGORY",
               "TIER", "BASELINE", "REVERSIBLE", "PARAMS");
        for (size_t i = 0; i < c->n; i++) {
            const struct fs_action *a = &c->actions[i];
            char params[200] = "";
            for (size_t k = 0; k < a->nparams; k++)
                snprintf(params + strlen(params), sizeof(params) - strlen(params), "%s%s",
                         k ? "," : "", a->params[k].name);
            printf("%-26s %-16s %4d %8d %-12s %s\n", a->name, a->category, a->tier,
                   a->baseline_risk,
                   a->reversible == FS_REV_YES  ? "yes"
                   : a->reversible == FS_REV_NO ? "no"
                                                : "notification",
                   *params ? params : "-");
        }
    }
    fs_rules_release(rules);
    return FS_EXIT_OK;
}

/* ---- through the daemon -----------------------------------------------------------------------
 */

/* POST body to path and print the reply (JSON, or summary()). */
static int post(const struct sopts *s, const char *path, json_t *body,
                void (*summary)(const json_t *reply))
{
    json_t *reply = NULL;
    int rc = fs_cli_call_json(s->url, "POST", path, body, &reply);
    json_decref(body);
    if (rc != FS_EXIT_OK)
        return rc;
    if (s->json || !summary)
        fs_cli_print_json(reply);
    else
        summary(reply);
    json_decref(reply);
    return FS_EXIT_OK;
}

static json_t *with_as(const struct sopts *s, json_t *body)
{
    if (body && s->as)
        json_object_set_new(body, "as", json_string(s->as));
    return body;
}

static void print_decision(const json_t *g)
{
    const json_t *risk = json_object_get(g, "risk");
    printf("decision: %s (rule %lld %s)\n", json_string_value(json_object_get(g, "decision")),
           (long long)json_integer_value(json_object_get(g, "rule")),
           json_string_value(json_object_get(g, "rule_name")));
    printf("risk:     %lld %s\n", (long long)json_integer_value(json_object_get(risk, "score")),
           json_string_value(json_object_get(risk, "level")));
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(risk, "contributions"), i, c)
        printf("  %+4lld  %-15s %s\n", (long long)json_integer_value(json_object_get(c, "points")),
               json_string_value(json_object_get(c, "factor")),
               json_string_value(json_object_get(c, "detail")));
    const json_t *ir = json_object_get(g, "incident_risk");
    printf("incident risk: %lld %s\n", (long long)json_integer_value(json_object_get(ir, "score")),
           json_string_value(json_object_get(ir, "level")));
    json_array_foreach(json_object_get(g, "reasons"), i, c)
        printf("  reason: %s\n", json_string_value(c));
}

static void print_proposed(const json_t *r)
{
    printf("%s: %s\n", json_string_value(json_object_get(r, "id")),
           json_string_value(json_object_get(r, "status")));
    print_decision(json_object_get(r, "gate"));
    printf("action hash: %s\nexpires:     %s\n",
           json_string_value(json_object_get(r, "actionHash")),
           json_string_value(json_object_get(r, "expiresAt")));
}

int fs_cmd_propose(int argc, char **argv)
{
    struct sopts s;
    int rc = parse(argc, argv, "propose", S_BIT(S_URL) | S_BIT(S_AS), true, 1, &s);
    if (rc != FS_EXIT_OK)
        return rc;
    struct fs_buf in;
    struct fs_err err;
    if (fs_read_file(argv[s.argi], PROPOSAL_MAX, &in, &err) < 0)
        return fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
    json_error_t je;
    json_t *body = json_loadb(fs_buf_str(&in), in.len, JSON_REJECT_DUPLICATES, &je);
    fs_buf_release(&in);
    if (!json_is_object(body)) {
        json_decref(body);
        return fs_cli_fail(FS_EXIT_FAILURE, "%s: not a JSON object (%s)", argv[s.argi], je.text);
    }
    return post(&s, "/api/v1/proposals", with_as(&s, body), print_proposed);
}

int fs_cmd_proposals_list(int argc, char **argv)
{
    struct sopts s;
    int rc =
        parse(argc, argv, "proposals list",
              S_BIT(S_URL) | S_BIT(S_STATUS) | S_BIT(S_INCIDENT) | S_BIT(S_LIMIT), true, 0, &s);
    if (rc != FS_EXIT_OK)
        return rc;
    struct fs_buf q = FS_BUF_INIT(4096);
    fs_buf_puts(&q, "/api/v1/proposals");
    fs_client_query(&q, "status", s.status);
    fs_client_query(&q, "incident", s.incident);
    fs_client_query(&q, "limit", s.limit);
    json_t *arr = NULL;
    rc = fs_cli_get_json(s.url, fs_buf_str(&q), &arr);
    fs_buf_release(&q);
    if (rc != FS_EXIT_OK)
        return rc;
    if (s.json) {
        fs_cli_print_json(arr);
    } else {
        printf("%-10s %-9s %-21s %-22s %-10s %-11s %-19s %s\n", "ID", "STATUS", "DECISION",
               "ACTION", "RISK", "INCIDENT", "CREATED", "PROPOSER");
        size_t i;
        json_t *p;
        json_array_foreach(arr, i, p)
        {
            char created[32], risk[24];
            fs_cli_short_time(json_string_value(json_object_get(p, "createdAt")), created,
                              sizeof(created));
            const json_t *rk = json_object_get(p, "risk");
            snprintf(risk, sizeof(risk), "%lld %s",
                     (long long)json_integer_value(json_object_get(rk, "score")),
                     json_string_value(json_object_get(rk, "level")));
            const char *inc = json_string_value(json_object_get(p, "incidentId"));
            printf("%-10s %-9s %-21s %-22s %-10s %-11s %-19s %s\n",
                   json_string_value(json_object_get(p, "id")),
                   json_string_value(json_object_get(p, "status")),
                   json_string_value(json_object_get(p, "decision")),
                   json_string_value(json_object_get(p, "action")), risk, inc ? inc : "-", created,
                   json_string_value(json_object_get(p, "proposer")));
        }
    }
    json_decref(arr);
    return FS_EXIT_OK;
}

int fs_cmd_proposals_show(int argc, char **argv)
{
    struct sopts s;
    int rc = parse(argc, argv, "proposals show", S_BIT(S_URL), true, 1, &s);
    if (rc != FS_EXIT_OK)
        return rc;
    struct fs_buf q = FS_BUF_INIT(4096);
    int64_t n; /* the id is a path segment: only ids are accepted */
    if (fs_parse_id(argv[s.argi], "prop", &n) < 0) {
        fs_buf_release(&q);
        return fs_cli_fail(FS_EXIT_USAGE, "%s: expected a proposal id like prop-7", argv[s.argi]);
    }
    fs_buf_printf(&q, "/api/v1/proposals/prop-%lld", (long long)n);
    json_t *p = NULL;
    rc = fs_cli_get_json(s.url, fs_buf_str(&q), &p);
    fs_buf_release(&q);
    if (rc != FS_EXIT_OK)
        return rc;
    if (s.json) {
        fs_cli_print_json(p);
    } else {
        const json_t *body = json_object_get(p, "proposal");
        char *params = fs_json_canonical(json_object_get(body, "params"));
        char *target = fs_json_canonical(json_object_get(body, "target"));
        printf("%s  %s  %s\n", json_string_value(json_object_get(p, "id")),
               json_string_value(json_object_get(p, "status")),
               json_string_value(json_object_get(p, "action")));
        printf("params:   %s\ntarget:   %s\nincident: %s\nproposer: %s\n", params ? params : "{}",
               target ? target : "{}", json_string_value(json_object_get(p, "incidentId")),
               json_string_value(json_object_get(p, "proposer")));
        const char *why = json_string_value(json_object_get(body, "rationale"));
        if (why)
            printf("rationale: %s\n", why);
        free(params);
        free(target);
        print_decision(json_object_get(p, "gate"));
        printf("action hash: %s\ncatalog %s, policy %s\nexpires: %s\n",
               json_string_value(json_object_get(p, "actionHash")),
               json_string_value(json_object_get(p, "catalogVersion")),
               json_string_value(json_object_get(p, "policyVersion")),
               json_string_value(json_object_get(p, "expiresAt")));
        const char *by = json_string_value(json_object_get(p, "decidedBy"));
        if (by)
            printf("decided by %s at %s%s%s\n", by,
                   json_string_value(json_object_get(p, "decidedAt")),
                   json_string_value(json_object_get(p, "reason")) ? ": " : "",
                   json_string_value(json_object_get(p, "reason"))
                       ? json_string_value(json_object_get(p, "reason"))
                       : "");
    }
    json_decref(p);
    return FS_EXIT_OK;
}

static int proposal_path(const char *id, const char *verb, char *out, size_t size)
{
    int64_t n;
    if (fs_parse_id(id, "prop", &n) < 0)
        return fs_cli_fail(FS_EXIT_USAGE, "%s: expected a proposal id like prop-7", id);
    snprintf(out, size, "/api/v1/proposals/prop-%lld/%s", (long long)n, verb);
    return FS_EXIT_OK;
}

static void print_decided(const json_t *r)
{
    const char *st = json_string_value(json_object_get(r, "status"));
    printf("%s: %s by %s\n", json_string_value(json_object_get(r, "id")), st,
           json_string_value(
               json_object_get(r, strcmp(st, "rejected") == 0 ? "rejectedBy" : "approvedBy")));
}

int fs_cmd_approve(int argc, char **argv)
{
    struct sopts s;
    int rc = parse(argc, argv, "approve",
                   S_BIT(S_URL) | S_BIT(S_AS) | S_BIT(S_FORCE) | S_BIT(S_COMMENT), true, 1, &s);
    if (rc != FS_EXIT_OK)
        return rc;
    if (!s.as)
        return fs_cli_fail(FS_EXIT_USAGE, "approve: --as NAME is required");
    char path[200];
    if ((rc = proposal_path(argv[s.argi], "approve", path, sizeof(path))) != FS_EXIT_OK)
        return rc;
    json_t *body = json_pack("{s:b}", "force_override", s.force);
    if (s.comment)
        json_object_set_new(body, "comment", json_string(s.comment));
    return post(&s, path, with_as(&s, body), print_decided);
}

int fs_cmd_reject(int argc, char **argv)
{
    struct sopts s;
    int rc = parse(argc, argv, "reject", S_BIT(S_URL) | S_BIT(S_AS) | S_BIT(S_REASON), true, 1, &s);
    if (rc != FS_EXIT_OK)
        return rc;
    if (!s.as || !s.reason)
        return fs_cli_fail(FS_EXIT_USAGE, "reject: --as NAME and --reason TEXT are required");
    char path[200];
    if ((rc = proposal_path(argv[s.argi], "reject", path, sizeof(path))) != FS_EXIT_OK)
        return rc;
    return post(&s, path, with_as(&s, json_pack("{s:s}", "reason", s.reason)), print_decided);
}

static void print_frozen(const json_t *r)
{
    if (json_is_true(json_object_get(r, "alreadyFrozen")))
        printf("already frozen by %s since %s: %s — that freeze stays in force; yours is recorded "
               "in the audit trail\n",
               json_string_value(json_object_get(r, "by")),
               json_string_value(json_object_get(r, "at")),
               json_string_value(json_object_get(r, "reason")));
    else if (json_is_true(json_object_get(r, "frozen")))
        printf("frozen by %s: %s — no new action will start until `forestall unfreeze`\n",
               json_string_value(json_object_get(r, "by")),
               json_string_value(json_object_get(r, "reason")));
    else
        printf("unfrozen by %s\n", json_string_value(json_object_get(r, "by")));
}

int fs_cmd_freeze(int argc, char **argv)
{
    struct sopts s;
    int rc = parse(argc, argv, "freeze", S_BIT(S_URL) | S_BIT(S_AS) | S_BIT(S_REASON), true, 0, &s);
    if (rc != FS_EXIT_OK)
        return rc;
    if (!s.reason)
        return fs_cli_fail(FS_EXIT_USAGE, "freeze: --reason TEXT is required");
    return post(&s, "/api/v1/freeze", with_as(&s, json_pack("{s:s}", "reason", s.reason)),
                print_frozen);
}

int fs_cmd_unfreeze(int argc, char **argv)
{
    struct sopts s;
    int rc =
        parse(argc, argv, "unfreeze", S_BIT(S_URL) | S_BIT(S_AS) | S_BIT(S_REASON), true, 0, &s);
    if (rc != FS_EXIT_OK)
        return rc;
    json_t *body = json_object();
    if (s.reason)
        json_object_set_new(body, "reason", json_string(s.reason));
    return post(&s, "/api/v1/unfreeze", with_as(&s, body), print_frozen);
}

static void print_mode(const json_t *r)
{
    const char *m = json_string_value(json_object_get(r, "mode"));
    printf("%s: %s\n", json_string_value(json_object_get(r, "key")),
           m ? m : "cleared (the policy decides)");
}

int fs_cmd_mode_set(int argc, char **argv)
{
    struct sopts s;
    int rc = parse(argc, argv, "mode set",
                   S_BIT(S_URL) | S_BIT(S_AS) | S_BIT(S_REASON) | S_BIT(S_SERVICE) | S_BIT(S_ENV),
                   true, 1, &s);
    if (rc != FS_EXIT_OK)
        return rc;
    if (!s.reason)
        return fs_cli_fail(FS_EXIT_USAGE, "mode set: --reason TEXT is required");
    const char *m = argv[s.argi];
    json_t *body = json_pack("{s:s}", "reason", s.reason);
    json_object_set_new(body, "mode", strcmp(m, "clear") == 0 ? json_null() : json_string(m));
    if (s.service)
        json_object_set_new(body, "service", json_string(s.service));
    if (s.env)
        json_object_set_new(body, "env", json_string(s.env));
    return post(&s, "/api/v1/modes", with_as(&s, body), print_mode);
}

int fs_cmd_mode_show(int argc, char **argv)
{
    struct sopts s;
    int rc = parse(argc, argv, "mode show", S_BIT(S_URL), true, 0, &s);
    if (rc != FS_EXIT_OK)
        return rc;
    json_t *c = NULL;
    if ((rc = fs_cli_get_json(s.url, "/api/v1/controls", &c)) != FS_EXIT_OK)
        return rc;
    if (s.json) {
        fs_cli_print_json(c);
    } else {
        const json_t *f = json_object_get(c, "freeze");
        if (json_is_true(json_object_get(c, "frozen")))
            printf("kill switch: ON (frozen by %s at %s: %s)\n",
                   json_string_value(json_object_get(f, "by")),
                   json_string_value(json_object_get(f, "at")),
                   json_string_value(json_object_get(f, "reason")));
        else
            printf("kill switch: off\n");
        const json_t *pol = json_object_get(c, "policy");
        printf("policy %s (%s): default mode %s, plus its modes rules\n",
               json_string_value(json_object_get(pol, "version")),
               json_string_value(json_object_get(pol, "source")),
               json_string_value(json_object_get(pol, "mode")));
        size_t i;
        json_t *m;
        json_array_foreach(json_object_get(c, "modes"), i, m)
        {
            const char *svc = json_string_value(json_object_get(m, "service"));
            const char *env = json_string_value(json_object_get(m, "env"));
            printf("override service=%s env=%s: %s (by %s: %s)\n", svc ? svc : "*", env ? env : "*",
                   json_string_value(json_object_get(m, "mode")),
                   json_string_value(json_object_get(m, "by")),
                   json_string_value(json_object_get(m, "reason")));
        }
    }
    json_decref(c);
    return FS_EXIT_OK;
}

/* ---- audit (reads the store directly: works while the daemon is down) ------------------------ */

int fs_cli_audit_key(const struct fs_config *cfg, bool create, unsigned char *key, size_t size,
                     size_t *len, struct fs_err *err)
{
    if (cfg->audit.checkpoint_key.value) {
        size_t n = strlen(cfg->audit.checkpoint_key.value);
        if (n < 16 || n > size)
            return fs_err_set(err, FS_E_CONFIG, "audit.checkpoint_key",
                              "audit.checkpoint_key: expected 16 to %zu bytes", size);
        memcpy(key, cfg->audit.checkpoint_key.value, n);
        *len = n;
        return 0;
    }
    char *path = fs_config_data_path(cfg, "audit.key");
    if (!path)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    int rc = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
        unsigned char raw[32];
        char hex[65];
        if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
            rc = fs_err_set(err, FS_E_SYSTEM, NULL, "getrandom: %s", strerror(errno));
            goto out;
        }
        for (size_t i = 0; i < sizeof(raw); i++)
            snprintf(hex + 2 * i, 3, "%02x", raw[i]);
        int w = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (w < 0 || write(w, hex, 64) != 64 || fsync(w) < 0) {
            rc = fs_err_set(err, FS_E_IO, NULL, "cannot write %s: %s", path, strerror(errno));
            if (w >= 0)
                close(w);
            goto out;
        }
        close(w);
        explicit_bzero(raw, sizeof(raw));
        explicit_bzero(hex, sizeof(hex));
        fd = open(path, O_RDONLY | O_CLOEXEC);
    }
    if (fd < 0) {
        rc = fs_err_set(err, FS_E_IO, NULL,
                        "cannot read the audit checkpoint key %s: %s (set audit.checkpoint_key)",
                        path, strerror(errno));
        goto out;
    }
    ssize_t n = read(fd, key, size);
    close(fd);
    while (n > 0 && (key[n - 1] == '\n' || key[n - 1] == '\r'))
        n--;
    if (n < 16) {
        rc = fs_err_set(err, FS_E_IO, NULL, "%s: the key is shorter than 16 bytes", path);
        goto out;
    }
    *len = (size_t)n;
out:
    free(path);
    return rc;
}

/* Open the configured store (read side) for the audit commands. */
static int open_store(const struct sopts *s, struct fs_config **cfg, struct fs_store **store)
{
    struct fs_err err;
    struct fs_buf diag = FS_BUF_INIT(1 << 16);
    if (fs_config_load(s->config, cfg, &diag, &err) < 0)
        return fs_cli_diag_fail(&diag, &err);
    fs_buf_release(&diag);
    char *path = fs_config_store_path(*cfg);
    struct stat st;
    if (!path || stat(path, &st) < 0) {
        fs_cli_fail(FS_EXIT_FAILURE, "no store at %s (see data_dir, store.path, -c)",
                    path ? path : "?");
        free(path);
        return FS_EXIT_FAILURE;
    }
    struct fs_store_options so = {.driver = (*cfg)->store.driver,
                                  .path = path,
                                  .busy_timeout_ms = (*cfg)->store.busy_timeout_ms};
    int rc = fs_store_open(&so, store, &err);
    free(path);
    if (rc < 0)
        return fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
    return FS_EXIT_OK;
}

int fs_cmd_audit_verify(int argc, char **argv)
{
    struct sopts s;
    int rc =
        parse(argc, argv, "audit verify", S_BIT(S_CONFIG) | S_BIT(S_NO_CHECKPOINT), true, 0, &s);
    if (rc != FS_EXIT_OK)
        return rc;
    struct fs_config *cfg = NULL;
    struct fs_store *store = NULL;
    if ((rc = open_store(&s, &cfg, &store)) != FS_EXIT_OK) {
        fs_config_free(cfg);
        return rc;
    }
    unsigned char key[128];
    size_t keylen = 0;
    struct fs_err err;
    char *ck = fs_config_data_path(cfg, cfg->audit.checkpoint_file);
    struct stat st;
    bool have_ck = ck && stat(ck, &st) == 0;
    /* Without --no-checkpoint the checkpoints are checked: the daemon writes one at start,
     * after commits and at stop, and every command that writes to the store itself (investigate,
     * mcp, runner run) one when it ends, so records that no checkpoint covers (a missing or
     * emptied file) are suspicious: the tail may have been cut. */
    bool check_ck = !s.no_checkpoint && ck;
    struct fs_audit_report rep;
    rc = 0;
    if (check_ck && (rc = fs_cli_audit_key(cfg, false, key, sizeof(key), &keylen, &err)) < 0 &&
        !have_ck)
        rc = 0, keylen = 0; /* no key and no checkpoint: the verify reports what is unanchored */
    if (rc == 0)
        rc = fs_audit_verify(store, check_ck ? ck : NULL, key, keylen, &rep, &err);
    explicit_bzero(key, sizeof(key));
    fs_store_close(store);
    fs_config_free(cfg);
    if (rc < 0) {
        free(ck);
        return fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
    }
    /* sound chain, records, nothing anchors them: not verified, rather than broken */
    bool unanchored = !rep.ok && rep.bad_seq == 0 && rep.checkpoints == 0 &&
                      strncmp(rep.problem, "no checkpoint found", 19) == 0;
    char unchecked[200] = "";
    if (!check_ck && rep.records > 0)
        snprintf(unchecked, sizeof(unchecked),
                 "checkpoints not checked (--no-checkpoint): truncation of the tail cannot be "
                 "ruled out");
    if (s.json) {
        json_t *o =
            json_pack("{s:b,s:I,s:I,s:I,s:s,s:I,s:I,s:I,s:s?,s:b,s:s?,s:s?}", "ok", rep.ok,
                      "records", (json_int_t)rep.records, "headSeq", (json_int_t)rep.head_seq,
                      "badSeq", (json_int_t)rep.bad_seq, "problem", rep.problem, "checkpoints",
                      (json_int_t)rep.checkpoints, "checkpointSeq", (json_int_t)rep.checkpoint_seq,
                      "unanchored", (json_int_t)rep.unanchored, "checkpointFile",
                      check_ck ? ck : NULL, "checkpointsChecked", check_ck, "note",
                      rep.note[0]    ? rep.note
                      : unchecked[0] ? unchecked
                                     : NULL,
                      "noCheckpoint", unanchored ? ck : NULL);
        fs_cli_print_json(o);
        json_decref(o);
    } else if (rep.ok && !check_ck) {
        printf("audit chain OK: %lld records, head seq %lld; checkpoints not checked\n",
               (long long)rep.records, (long long)rep.head_seq);
        if (unchecked[0])
            printf("note: %s\n", unchecked);
    } else if (rep.ok) {
        printf("audit chain OK: %lld records, head seq %lld; %lld checkpoints (last at seq %lld, "
               "%lld records after it)\n",
               (long long)rep.records, (long long)rep.head_seq, (long long)rep.checkpoints,
               (long long)rep.checkpoint_seq, (long long)rep.unanchored);
        if (rep.note[0])
            printf("note: %s\n", rep.note);
    } else if (unanchored) {
        printf("audit chain NOT VERIFIED: %s\n", rep.problem);
        printf("the chain itself is sound (%lld records, head seq %lld), but whatever writes to "
               "the store writes a checkpoint (the daemon at start, after commits and at stop; "
               "other commands when they end): a missing or emptied checkpoint file is "
               "suspicious; `--no-checkpoint` verifies the chain alone\n",
               (long long)rep.records, (long long)rep.head_seq);
    } else {
        printf("audit chain BROKEN: %s\n", rep.problem);
        if (rep.bad_seq)
            printf("first bad record: seq %lld\n", (long long)rep.bad_seq);
    }
    free(ck);
    return rep.ok ? FS_EXIT_OK : FS_EXIT_FAILURE;
}

static int write_file(void *arg, const char *buf, size_t len)
{
    return fwrite(buf, 1, len, arg) == len ? 0 : -1;
}

int fs_cmd_audit_export(int argc, char **argv)
{
    struct sopts s;
    int rc = parse(argc, argv, "audit export",
                   S_BIT(S_CONFIG) | S_BIT(S_FORMAT) | S_BIT(S_SINCE) | S_BIT(S_TYPE) |
                       S_BIT(S_ACTOR) | S_BIT(S_OUTPUT),
                   false, 0, &s);
    if (rc != FS_EXIT_OK)
        return rc;
    enum fs_audit_format fmt = FS_AUDIT_JSONL;
    if (s.format && (fs_audit_format_parse(s.format, &fmt) < 0 || fmt == FS_AUDIT_JSON))
        return fs_cli_fail(FS_EXIT_USAGE, "--format: expected csv or jsonl");
    struct fs_err terr;
    if (s.type && fs_audit_types_check(s.type, &terr) < 0)
        return fs_cli_fail(FS_EXIT_USAGE, "--type: %s", terr.msg);
    struct fs_audit_filter f = {.since_ms = FS_TIME_UNSET, .types = s.type, .actor = s.actor};
    if (s.since && fs_time_parse_rfc3339(s.since, (size_t)-1, &f.since_ms) < 0) {
        int64_t ago;
        if (fs_duration_parse(s.since, &ago) < 0)
            return fs_cli_fail(FS_EXIT_USAGE,
                               "--since: expected an RFC 3339 time or a duration such as 24h");
        f.since_ms = fs_now_ms() - ago;
    }
    struct fs_config *cfg = NULL;
    struct fs_store *store = NULL;
    if ((rc = open_store(&s, &cfg, &store)) != FS_EXIT_OK) {
        fs_config_free(cfg);
        return rc;
    }
    FILE *out = s.output ? fopen(s.output, "w") : stdout;
    struct fs_err err;
    if (!out)
        rc = fs_err_set(&err, FS_E_IO, NULL, "%s: %s", s.output, strerror(errno));
    else
        rc = fs_audit_export(store, &f, fmt, write_file, out, &err);
    if (out && out != stdout && fclose(out) != 0 && rc == 0)
        rc = fs_err_set(&err, FS_E_IO, NULL, "%s: %s", s.output, strerror(errno));
    fs_store_close(store);
    fs_config_free(cfg);
    if (rc < 0)
        return fs_cli_fail(FS_EXIT_FAILURE, "%s", err.msg);
    return FS_EXIT_OK;
}
