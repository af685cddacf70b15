/* service: the daemon's side of the safety core — turning a proposer's request into the gate's
 * input from what forestall itself knows (incident, scope, trace, kill switch, modes, history),
 * storing proposals and decisions, approvals, rejections, the kill switch and runtime modes,
 * each with its audit record in the same transaction. It never executes anything and never
 * lets a proposer supply what the gate judges it by. */
#include "core/common.h"

#include <ctype.h>
#include <errno.h>
#include <sys/random.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "audit/audit.h"
#include "context/graph.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/redact.h"
#include "core/time.h"
#include "safety/gate.h"
#include "incidents/state.h"
#include "safety/service.h"

#define MAX_RATIONALE 8192
#define MAX_OBSERVATION 65536
#define MAX_IDS 256

/* ---- the rules in force ------------------------------------------------------------------ */

static pthread_mutex_t rules_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fs_rules *rules_current;

static void rules_free(struct fs_rules *r)
{
    if (!r)
        return;
    fs_policy_free(r->policy);
    fs_catalog_free(r->catalog);
    fs_graph_free(r->graph);
    free(r);
}

int fs_rules_load(const char *policy_file, const char *catalog_file, const char *graph_file,
                  struct fs_rules **out, struct fs_buf *diag, struct fs_err *err)
{
    *out = NULL;
    struct fs_rules *r = fs_calloc(1, sizeof(*r));
    if (!r)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    r->refs = 1;
    int rc = fs_policy_load(policy_file, &r->policy, diag, err);
    struct fs_err cerr;
    int crc = fs_catalog_load(catalog_file, &r->catalog, diag, rc < 0 ? &cerr : err);
    if (rc == 0)
        rc = crc;
    struct fs_err gerr;
    int grc = fs_graph_load(graph_file, &r->graph, diag, rc < 0 ? &gerr : err);
    if (rc == 0)
        rc = grc;
    if (rc == 0) {
        /* every resource class the graph uses must be one the policy weighs */
        const char *known[64];
        size_t n = 0;
        const char *key;
        json_t *v;
        json_object_foreach(r->policy->incident_risk.resource_class, key, v)
        {
            if (n < FS_ARRAY_LEN(known) - 1)
                known[n++] = key;
        }
        known[n] = NULL;
        rc = fs_graph_check_resource_classes(r->graph, known, diag, err);
    }
    if (rc == 0 && r->catalog) {
        /* a policy that names actions the catalog does not have is almost surely a typo */
        for (size_t i = 0; i < r->policy->ndeny; i++)
            for (size_t j = 0; j < r->policy->deny[i].actions.n; j++)
                if (!fs_catalog_find(r->catalog, r->policy->deny[i].actions.v[j])) {
                    rc = fs_err_set(err, FS_E_CONFIG, NULL,
                                    "%s:%d: deny[%zu].actions: no action \"%s\" in the catalog",
                                    r->policy->source, r->policy->deny[i].line, i,
                                    r->policy->deny[i].actions.v[j]);
                    if (diag)
                        fs_buf_printf(diag, "%s\n", err->msg);
                    break;
                }
    }
    if (rc < 0) {
        rules_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void fs_rules_install(struct fs_rules *r)
{
    pthread_mutex_lock(&rules_lock);
    struct fs_rules *old = rules_current;
    rules_current = r;
    pthread_mutex_unlock(&rules_lock);
    fs_rules_release(old);
}

struct fs_rules *fs_rules_acquire(void)
{
    pthread_mutex_lock(&rules_lock);
    struct fs_rules *r = rules_current;
    if (r)
        r->refs++;
    pthread_mutex_unlock(&rules_lock);
    return r;
}

void fs_rules_release(struct fs_rules *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&rules_lock);
    bool last = --r->refs == 0;
    pthread_mutex_unlock(&rules_lock);
    if (last)
        rules_free(r);
}

/* ---- helpers ----------------------------------------------------------------------------- */

void fs_safety_request_reset(struct fs_safety_request *q)
{
    json_decref(q->result);
    q->result = NULL;
    q->rc = 0;
    memset(&q->err, 0, sizeof(q->err));
}

/* A business outcome: not a store problem, so the transaction (and any audit record) commits. */
static int refuse(struct fs_safety_request *q, enum fs_errcode code, const char *path,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int refuse(struct fs_safety_request *q, enum fs_errcode code, const char *path,
                  const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    q->rc = fs_err_vset(&q->err, code, path, fmt, ap);
    va_end(ap);
    return 0;
}

/* The caller's role must allow cap; otherwise refuse, saying what was not allowed. */
static bool allowed(struct fs_safety_request *q, enum fs_capability cap, const char *what)
{
    if (fs_role_can(q->who->role, cap))
        return true;
    refuse(q, FS_E_FORBIDDEN, NULL, "%s (role %s) may not %s", q->who->name,
           fs_role_name(q->who->role), what);
    return false;
}

int fs_parse_id(const char *s, const char *prefix, int64_t *out)
{
    if (!s)
        return -FS_E_INVALID;
    size_t n = strlen(prefix);
    if (strncmp(s, prefix, n) == 0 && s[n] == '-')
        s += n + 1;
    if (!*s || *s == '0')
        return -FS_E_INVALID;
    int64_t v = 0;
    for (const char *c = s; *c; c++) {
        if (!isdigit((unsigned char)*c) || v > (INT64_MAX - 9) / 10)
            return -FS_E_INVALID;
        v = v * 10 + (*c - '0');
    }
    *out = v;
    return 0;
}

static json_t *idj(const char *prefix, int64_t id)
{
    char b[48];
    snprintf(b, sizeof(b), "%s-%" PRId64, prefix, id);
    return json_string(b);
}

static json_t *timej(int64_t ms)
{
    char b[40];
    return ms == FS_TIME_UNSET ? json_null() : json_string(fs_time_format(ms, b, sizeof(b)));
}

static int audit(struct fs_store *s, int64_t now, enum fs_audit_type t, const char *actor,
                 json_t *data, struct fs_err *err)
{
    int rc = data ? fs_audit_append(s, now, t, actor, data, NULL, err)
                  : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    json_decref(data);
    return rc;
}

/* Record a refused attempt (seed 002: the refusal is written to the audit trail too). */
static int audit_refusal(struct fs_store *s, struct fs_safety_request *q, const char *attempt,
                         struct fs_err *err)
{
    json_t *d =
        json_pack("{s:s,s:s,s:s,s:s,s:s}", "attempt", attempt, "actor", q->who->name, "role",
                  fs_role_name(q->who->role), "code", fs_err_name(q->rc), "reason", q->err.msg);
    if (d && q->id)
        json_object_set_new(d, "proposal", idj("prop", q->id));
    if (d && q->channel)
        json_object_set_new(d, "channel", json_string(q->channel));
    return audit(s, q->now, FS_AUDIT_REFUSAL, q->who->name, d, err);
}

static bool printable(const char *s, size_t max)
{
    size_t n = 0;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++, n++)
        if (*c < 0x20 || *c == 0x7f)
            return false;
    return n > 0 && n <= max;
}

/* Reject keys the daemon fills itself, and keys nobody knows. */
static int check_keys(struct fs_safety_request *q, const json_t *obj, const char *base,
                      const char *const *allowed, const char *const *owned)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        char path[200];
        fs_jpath_key(path, sizeof(path), base, key);
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(*a, key) == 0;
        if (ok)
            continue;
        for (const char *const *o = owned; o && *o; o++)
            if (strcmp(*o, key) == 0)
                return refuse(q, FS_E_INVALID_PAYLOAD, path,
                              "%s: set by forestall from the store and the knowledge graph, "
                              "not by the proposer",
                              path);
        return refuse(q, FS_E_INVALID_PAYLOAD, path, "%s: unknown field", path);
    }
    return 0;
}

/* The body must be an object with only these keys; otherwise refuse. */
static bool body_ok(struct fs_safety_request *q, const char *const *keys)
{
    if (!json_is_object(q->body)) {
        refuse(q, FS_E_INVALID_PAYLOAD, "", "the body must be a JSON object");
        return false;
    }
    check_keys(q, q->body, "", keys, NULL);
    return q->rc == 0;
}

static int string_list(struct fs_safety_request *q, const json_t *body, const char *key,
                       const char *base, json_t **out)
{
    *out = NULL;
    json_t *v = json_object_get(body, key);
    char path[200];
    fs_jpath_key(path, sizeof(path), base, key);
    if (!v)
        return 0;
    if (!json_is_array(v) || json_array_size(v) > MAX_IDS)
        return refuse(q, FS_E_INVALID_PAYLOAD, path, "%s: expected a list of at most %d ids", path,
                      MAX_IDS);
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item) if (!json_is_string(item))
    {
        char ip[220];
        fs_jpath_index(ip, sizeof(ip), path, i);
        return refuse(q, FS_E_INVALID_PAYLOAD, ip, "%s: expected a string", ip);
    }
    *out = v;
    return 0;
}

/* Labels that name where an alert fires. */
static void add_unique(json_t *arr, const char *v)
{
    if (!v || !*v)
        return;
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x) if (strcmp(json_string_value(x), v) == 0) return;
    json_array_append_new(arr, json_string(v));
}

static void scope_from_labels(const json_t *labels, json_t *hosts, json_t *services,
                              json_t *workloads)
{
    static const char *const host_keys[] = {"host", "hostname", "instance", "node", "nodename"};
    for (size_t k = 0; k < FS_ARRAY_LEN(host_keys); k++) {
        const char *h = json_string_value(json_object_get(labels, host_keys[k]));
        if (!h)
            continue;
        char buf[256];
        fs_strlcpy(buf, h, sizeof(buf));
        /* instance="web-1:9100": the host is web-1 (not for bracketed IPv6 without a port) */
        char *colon = strrchr(buf, ':');
        if (colon && strchr(buf, ':') == colon)
            *colon = '\0';
        add_unique(hosts, buf);
    }
    add_unique(services, json_string_value(json_object_get(labels, "service")));
    add_unique(services, json_string_value(json_object_get(labels, "app")));
    const char *ns = json_string_value(json_object_get(labels, "namespace"));
    static const char *const wl_keys[] = {"deployment", "statefulset", "daemonset", "workload"};
    for (size_t k = 0; ns && k < FS_ARRAY_LEN(wl_keys); k++) {
        const char *w = json_string_value(json_object_get(labels, wl_keys[k]));
        if (w) {
            char buf[300];
            snprintf(buf, sizeof(buf), "%s/%s", ns, w);
            add_unique(workloads, buf);
        }
    }
}

static const char *label_of(const json_t *labels, const json_t *episodes, const char *const *keys,
                            size_t nkeys)
{
    for (size_t k = 0; k < nkeys; k++) {
        const char *v = json_string_value(json_object_get(labels, keys[k]));
        if (v)
            return v;
    }
    size_t i;
    json_t *ep;
    json_array_foreach(episodes, i, ep) for (size_t k = 0; k < nkeys; k++)
    {
        const char *v = json_string_value(json_object_get(ep, keys[k]));
        if (v)
            return v;
    }
    return NULL;
}

/* "host=web-1,service=api": the target as the history of executions knows it. */
static char *target_key(const json_t *target)
{
    static const char *const keys[] = {"host", "namespace", "service", "workload"};
    struct fs_buf b = FS_BUF_INIT(4096);
    for (size_t i = 0; i < FS_ARRAY_LEN(keys); i++) {
        const char *v = json_string_value(json_object_get(target, keys[i]));
        if (v)
            fs_buf_printf(&b, "%s%s=%s", b.len ? "," : "", keys[i], v);
    }
    char *r = fs_buf_detach(&b, NULL);
    return r;
}

/* Runtime mode override for a target: most specific scope first. */
static int mode_override(struct fs_store *s, const char *service, const char *env, char **key_out,
                         json_t **value, struct fs_err *err)
{
    const char *svcs[] = {service, service, NULL, NULL};
    const char *envs[] = {env, NULL, env, NULL};
    *value = NULL;
    *key_out = NULL;
    for (int i = 0; i < 4; i++) {
        if ((i < 2 && !service) || ((i == 0 || i == 2) && !env))
            continue;
        char key[300];
        snprintf(key, sizeof(key), "mode:%s:%s", svcs[i] ? svcs[i] : "*", envs[i] ? envs[i] : "*");
        char *text = NULL;
        int rc = fs_store_control_get(s, key, &text, err);
        if (rc < 0)
            return rc;
        if (rc == 1) {
            *value = json_loads(text, 0, NULL);
            free(text);
            if (*value) {
                *key_out = fs_strdup(key);
                return 1;
            }
        }
    }
    return 0;
}

/* ---- propose ----------------------------------------------------------------------------- */

static const char *const k_top[] = {"action",   "params",    "target",     "incident",
                                    "evidence", "rationale", "confidence", NULL};
static const char *const k_top_owned[] = {"context", "now", "proposer", "id", NULL};
static const char *const k_target[] = {"host", "service", "namespace", "workload", NULL};
static const char *const k_target_owned[] = {"env", "resource_class", NULL};
static const char *const k_incident[] = {"id", NULL};
static const char *const k_incident_owned[] = {"severity", "labels", "scope", NULL};
static const char *const k_evidence[] = {"cited", "contradicting", NULL};
static const char *const k_evidence_owned[] = {"trace", NULL};

struct propose_input {
    json_t *gate_input;             /* the proposal document the gate judges */
    char *mode_override;            /* the runtime mode control that applied, or NULL */
    const struct fs_window *freeze; /* the graph's active freeze window, or NULL (borrowed) */
    json_t *trace;
    json_t *incident_labels;
    json_t *episodes;
};

static void propose_input_release(struct propose_input *in)
{
    free(in->mode_override);
    json_decref(in->gate_input);
    json_decref(in->trace);
    json_decref(in->incident_labels);
    json_decref(in->episodes);
}

/* What the knowledge graph says about a target: its service and its host, when the graph
 * knows them. The blast radius is the larger of the two (a host's dependents include what runs
 * on it), a freeze on either freezes the target, and env and resource class come from the
 * service, else the host. A target the graph does not know is still checked against the freeze
 * windows that select by env, kind or class (and `all: true` ones), as an entity made from what
 * the incident says (env, class). */
struct graph_facts {
    const char *env, *rclass;
    size_t dependents;
    const struct fs_window *freeze;
};

static int graph_facts(const struct fs_graph *g, const json_t *target, const char *env,
                       const char *rclass, int64_t now, struct graph_facts *f, struct fs_err *err)
{
    memset(f, 0, sizeof(*f));
    const char *svc = json_string_value(json_object_get(target, "service"));
    const char *host = json_string_value(json_object_get(target, "host"));
    const struct fs_entity *ents[2] = {fs_graph_find(g, svc), fs_graph_find(g, host)};
    for (int i = 0; i < 2; i++) {
        const struct fs_entity *e = ents[i];
        size_t n = 0;
        if (e && fs_graph_dependents(g, e, NULL, 0, &n) < 0)
            return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        f->dependents = FS_MAX(f->dependents, n);
        if (e && !f->freeze)
            f->freeze = fs_graph_freeze_at(g, e, now);
        if (e && !f->env)
            f->env = e->env;
        if (e && !f->rclass)
            f->rclass = e->resource_class;
    }
    if (!ents[0] && !ents[1]) {
        struct fs_entity outsider = {
            .name = svc    ? svc
                    : host ? host
                           : "",
            .kind = svc ? FS_KIND_SERVICE : FS_KIND_HOST,
            .env = env,
            .resource_class = rclass,
        };
        f->freeze = fs_graph_freeze_at(g, &outsider, now);
    }
    return 0;
}

/* The freeze window that blocked a proposal, for the explanation: {name, reason, graph}. */
static json_t *freeze_json(const struct fs_window *w, const struct fs_graph *g)
{
    if (!w)
        return NULL;
    json_t *o = json_pack("{s:s,s:s}", "name", w->name, "graph", fs_graph_version(g));
    if (o && w->reason)
        json_object_set_new(o, "reason", json_string(w->reason));
    return o;
}

/* Validate the request and build the gate input from the store. 1 = built, 0 = refused. */
static int build_gate_input(struct fs_store *s, struct fs_safety_request *q,
                            struct propose_input *in, struct fs_err *err)
{
    const json_t *body = q->body;
    if (!json_is_object(body))
        return refuse(q, FS_E_INVALID_PAYLOAD, "", "the body must be a JSON object");
    check_keys(q, body, "", k_top, k_top_owned);
    if (q->rc)
        return 0;
    const char *action = json_string_value(json_object_get(body, "action"));
    if (!action || !*action)
        return refuse(q, FS_E_INVALID_PAYLOAD, "action", "action: required (a catalog action)");
    json_t *params = json_object_get(body, "params");
    if (params && !json_is_object(params))
        return refuse(q, FS_E_INVALID_PAYLOAD, "params", "params: expected an object");
    json_t *target = json_object_get(body, "target");
    if (!json_is_object(target))
        return refuse(q, FS_E_INVALID_PAYLOAD, "target", "target: required object");
    check_keys(q, target, "target", k_target, k_target_owned);
    if (q->rc)
        return 0;
    const char *key;
    json_t *v;
    json_object_foreach(target, key,
                        v) if (!json_is_string(v) || !printable(json_string_value(v), 253))
    {
        char p[100];
        fs_jpath_key(p, sizeof(p), "target", key);
        return refuse(q, FS_E_INVALID_PAYLOAD, p, "%s: expected a non-empty printable string", p);
    }
    json_t *incident = json_object_get(body, "incident");
    if (!json_is_object(incident))
        return refuse(q, FS_E_INVALID_PAYLOAD, "incident",
                      "incident: required object {\"id\": \"inc-N\"}");
    check_keys(q, incident, "incident", k_incident, k_incident_owned);
    if (q->rc)
        return 0;
    int64_t inc_id;
    const char *inc_text = json_string_value(json_object_get(incident, "id"));
    if (fs_parse_id(inc_text, "inc", &inc_id) < 0)
        return refuse(q, FS_E_INVALID_PAYLOAD, "incident.id",
                      "incident.id: expected an incident id such as \"inc-12\"");
    json_t *evidence = json_object_get(body, "evidence");
    if (evidence && !json_is_object(evidence))
        return refuse(q, FS_E_INVALID_PAYLOAD, "evidence", "evidence: expected an object");
    if (evidence)
        check_keys(q, evidence, "evidence", k_evidence, k_evidence_owned);
    json_t *cited = NULL, *contra = NULL;
    if (!q->rc)
        string_list(q, evidence, "cited", "evidence", &cited);
    if (!q->rc)
        string_list(q, evidence, "contradicting", "evidence", &contra);
    if (q->rc)
        return 0;
    json_t *rationale = json_object_get(body, "rationale");
    if (rationale && (!json_is_string(rationale) || json_string_length(rationale) > MAX_RATIONALE))
        return refuse(q, FS_E_INVALID_PAYLOAD, "rationale",
                      "rationale: expected a string of at most %d bytes", MAX_RATIONALE);
    json_t *confidence = json_object_get(body, "confidence");
    if (confidence && (!json_is_number(confidence) || json_number_value(confidence) < 0 ||
                       json_number_value(confidence) > 1))
        return refuse(q, FS_E_INVALID_PAYLOAD, "confidence",
                      "confidence: expected a number from 0 to 1");

    /* What forestall knows about the incident. */
    struct fs_incident inc = {0};
    int rc = fs_store_incident_load(s, inc_id, &inc, err);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return refuse(q, FS_E_NOT_FOUND, "incident.id", "incident.id: no incident inc-%" PRId64,
                      inc_id);
    in->incident_labels = inc.labels ? json_loads(inc.labels, 0, NULL) : NULL;
    if (!in->incident_labels)
        in->incident_labels = json_object();
    char severity[16];
    fs_strlcpy(severity, inc.severity, sizeof(severity));
    fs_incident_clear(&inc);
    if ((rc = fs_store_incident_episode_labels(s, inc_id, &in->episodes, err)) < 0)
        return rc;
    if ((rc = fs_store_observation_ids(s, inc_id, &in->trace, err)) < 0)
        return rc;

    json_t *hosts = json_array(), *services = json_array(), *workloads = json_array();
    size_t i;
    json_array_foreach(in->episodes, i, v) scope_from_labels(v, hosts, services, workloads);

    /* The target as forestall resolves it. A target that leaves out its host or service
     * would slip past every policy rule naming one (deny, modes, require_approval): take it
     * from the incident when the incident names exactly one, and refuse to guess between
     * several services. env and resource class come from the incident's labels (the knowledge
     * graph will take over), else the conservative defaults. */
    if (!json_object_get(target, "service") && json_array_size(services) > 1) {
        char *list = fs_json_compact(services);
        refuse(q, FS_E_INVALID_PAYLOAD, "target.service",
               "target.service: required — inc-%" PRId64 " involves several services %s", inc_id,
               list ? list : "");
        free(list);
        json_decref(hosts), json_decref(services), json_decref(workloads);
        return 0;
    }
    json_t *rt = json_deep_copy(target);
    if (!json_object_get(rt, "service") && json_array_size(services) == 1)
        json_object_set(rt, "service", json_array_get(services, 0));
    if (!json_object_get(rt, "host") && json_array_size(hosts) == 1)
        json_object_set(rt, "host", json_array_get(hosts, 0));
    static const char *const env_keys[] = {"env", "environment"};
    static const char *const class_keys[] = {"resource_class"};
    const char *env = label_of(in->incident_labels, in->episodes, env_keys, 2);
    const char *rclass = label_of(in->incident_labels, in->episodes, class_keys, 1);
    env = env ? env : q->defaults.env;
    rclass = rclass ? rclass : q->defaults.resource_class;
    struct graph_facts gf;
    if ((rc = graph_facts(q->rules->graph, rt, env, rclass, q->now, &gf, err)) < 0) {
        json_decref(hosts), json_decref(services), json_decref(workloads), json_decref(rt);
        return rc;
    }
    in->freeze = gf.freeze;
    json_object_set_new(rt, "env", json_string(gf.env ? gf.env : env));
    json_object_set_new(rt, "resource_class", json_string(gf.rclass ? gf.rclass : rclass));

    /* Contradicting observations the proposer reports must be real ones. */
    json_array_foreach(contra, i, v)
    {
        bool found = false;
        size_t j;
        json_t *t;
        json_array_foreach(in->trace, j, t) found |= json_equal(t, v);
        if (!found) {
            json_decref(hosts), json_decref(services), json_decref(workloads), json_decref(rt);
            return refuse(q, FS_E_INVALID_PAYLOAD, "evidence.contradicting",
                          "evidence.contradicting: %s is not an observation of inc-%" PRId64,
                          json_string_value(v), inc_id);
        }
    }

    /* Context from the store: kill switch, runtime mode, history of this action here. */
    char *freeze = NULL;
    if ((rc = fs_store_control_get(s, "freeze", &freeze, err)) < 0) {
        json_decref(hosts), json_decref(services), json_decref(workloads), json_decref(rt);
        return rc;
    }
    free(freeze);
    bool frozen = rc == 1;
    char *mkey = NULL;
    json_t *mval = NULL;
    int mrc = mode_override(s, json_string_value(json_object_get(rt, "service")),
                            json_string_value(json_object_get(rt, "env")), &mkey, &mval, err);
    char *tkey = target_key(rt);
    int64_t ex1h = 0, fail24h = 0;
    rc = mrc < 0
             ? mrc
             : fs_store_action_history(s, action, tkey ? tkey : "", q->now, &ex1h, &fail24h, err);
    free(tkey);
    if (rc < 0) {
        free(mkey);
        json_decref(mval);
        json_decref(hosts), json_decref(services), json_decref(workloads), json_decref(rt);
        return rc;
    }
    json_t *ctx = json_pack("{s:I,s:b,s:b,s:I,s:I}", "dependents", (json_int_t)gf.dependents,
                            "change_freeze", gf.freeze != NULL, "frozen", frozen, "failures_24h",
                            (json_int_t)fail24h, "executions_1h", (json_int_t)ex1h);
    if (mrc == 1 && json_is_string(json_object_get(mval, "mode")))
        json_object_set(ctx, "mode", json_object_get(mval, "mode"));
    json_decref(mval);

    char now[40];
    json_t *doc = json_object();
    json_object_set_new(doc, "proposer", json_string(q->who->name));
    json_object_set_new(doc, "action", json_string(action));
    json_object_set_new(doc, "params", params ? json_deep_copy(params) : json_object());
    json_object_set_new(doc, "target", rt);
    json_object_set_new(doc, "incident",
                        json_pack("{s:o,s:s,s:O,s:{s:o,s:o,s:o}}", "id", idj("inc", inc_id),
                                  "severity", severity, "labels", in->incident_labels, "scope",
                                  "hosts", hosts, "services", services, "workloads", workloads));
    json_object_set_new(doc, "evidence",
                        json_pack("{s:o,s:O,s:o}", "cited",
                                  cited ? json_deep_copy(cited) : json_array(), "trace", in->trace,
                                  "contradicting", contra ? json_deep_copy(contra) : json_array()));
    json_object_set_new(doc, "context", ctx);
    json_object_set_new(doc, "now", json_string(fs_time_format(q->now, now, sizeof(now))));
    if (rationale)
        json_object_set(doc, "rationale", rationale);
    if (confidence)
        json_object_set(doc, "confidence", confidence);
    in->gate_input = doc;
    in->mode_override = mkey; /* for the explanation; not part of the gate's input */
    return 1;
}

static const char *status_for(enum fs_decision d)
{
    switch (d) {
    case FS_DEC_EXECUTE: return "approved";
    case FS_DEC_NEEDS_APPROVAL:
    case FS_DEC_NEEDS_FORCE_OVERRIDE: return "pending";
    case FS_DEC_BLOCKED: return "blocked";
    case FS_DEC_SHADOW: return "shadow";
    }
    return "blocked";
}

int fs_safety_propose(struct fs_store *s, struct fs_safety_request *q, struct fs_err *err)
{
    fs_safety_request_reset(q);
    if (!allowed(q, FS_CAP_PROPOSE, "submit proposals"))
        return 0;
    struct propose_input in = {0};
    int rc = build_gate_input(s, q, &in, err);
    if (rc <= 0) {
        propose_input_release(&in);
        return rc;
    }
    const struct fs_policy *pol = q->rules->policy;
    const struct fs_catalog *cat = q->rules->catalog;
    struct fs_proposal prop;
    struct fs_err perr;
    if (fs_proposal_from_json(in.gate_input, &prop, &perr) < 0) {
        propose_input_release(&in);
        return refuse(q, perr.code, perr.path, "%s", perr.msg);
    }
    struct fs_gate_result gr;
    fs_gate_decide(pol, cat, &prop, &gr);
    json_t *gate = fs_gate_result_json(&gr, pol, cat);
    if (in.mode_override && gate) {
        char src[300];
        snprintf(src, sizeof(src), "runtime override %s", in.mode_override);
        json_object_set_new(json_object_get(gate, "mode"), "source", json_string(src));
    }

    /* What is stored and hashed: the input as judged, with params as forestall will run them
     * (defaults filled, paths normalised), so the approval binds to exactly that. */
    json_t *doc = json_deep_copy(in.gate_input);
    if (gr.action && doc) {
        json_t *norm = NULL;
        if (fs_action_check_params(gr.action, prop.params, &norm, NULL) == 0 && norm)
            json_object_set_new(doc, "params", norm);
    }
    int64_t expires = q->now + pol->approval_ttl_ms;
    char hash[65], key[33];
    unsigned char raw[16];
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
        rc = fs_err_set(err, FS_E_SYSTEM, NULL, "getrandom: %s", strerror(errno));
        json_decref(gate);
        json_decref(doc);
        fs_proposal_release(&prop);
        propose_input_release(&in);
        return rc;
    }
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(key + 2 * i, 3, "%02x", raw[i]);
    if (doc)
        json_object_set_new(doc, "key", json_string(key));
    const char *incid = json_string_value(json_object_get(json_object_get(doc, "incident"), "id"));
    int64_t inc_id = 0;
    fs_parse_id(incid, "inc", &inc_id);
    char *body = NULL, *gtext = NULL, *tkey = NULL;
    rc = doc ? fs_action_hash(cat->version, prop.action, json_object_get(doc, "params"),
                              json_object_get(doc, "target"), pol->version, incid, expires, key,
                              hash)
             : -FS_E_NOMEM;
    if (rc == 0) {
        body = fs_json_canonical(doc);
        gtext = gate ? fs_json_canonical(gate) : NULL;
        tkey = target_key(json_object_get(doc, "target"));
    }
    if (!body || !gtext || !tkey) {
        rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        goto out;
    }
    struct fs_proposal_row row = {
        .incident_id = inc_id,
        .created_at = q->now,
        .updated_at = q->now,
        .expires_at = expires,
        .proposer = (char *)q->who->name,
        .action = (char *)prop.action,
        .target_key = tkey,
        .body = body,
        .gate = gtext,
        .risk_score = gr.score,
        .decided_by = NULL,
        .decided_at = FS_TIME_UNSET,
    };
    fs_strlcpy(row.status, status_for(gr.decision), sizeof(row.status));
    fs_strlcpy(row.decision, fs_decision_name(gr.decision), sizeof(row.decision));
    fs_strlcpy(row.risk_level, fs_level_name(gr.level), sizeof(row.risk_level));
    fs_strlcpy(row.action_hash, hash, sizeof(row.action_hash));
    fs_strlcpy(row.catalog_version, cat->version, sizeof(row.catalog_version));
    fs_strlcpy(row.policy_version, pol->version, sizeof(row.policy_version));
    if (gr.decision != FS_DEC_NEEDS_APPROVAL && gr.decision != FS_DEC_NEEDS_FORCE_OVERRIDE) {
        row.decided_by = (char *)"policy";
        row.decided_at = q->now;
    }
    if ((rc = fs_store_proposal_insert(s, &row, err)) < 0)
        goto out;

    json_t *pd = json_pack("{s:o,s:s,s:O,s:O,s:O,s:O}", "proposal", idj("prop", row.id), "action",
                           prop.action, "params", json_object_get(doc, "params"), "target",
                           json_object_get(doc, "target"), "incident",
                           json_object_get(json_object_get(doc, "incident"), "id"), "evidence",
                           json_object_get(doc, "evidence"));
    if (pd && prop.rationale)
        json_object_set_new(pd, "rationale", json_string(prop.rationale));
    if ((rc = audit(s, q->now, FS_AUDIT_PROPOSAL, q->who->name, pd, err)) < 0)
        goto out;
    json_t *dd = json_pack("{s:o,s:O,s:O,s:s,s:s,s:o}", "proposal", idj("prop", row.id), "gate",
                           gate, "context", json_object_get(doc, "context"), "action_hash", hash,
                           "status", row.status, "expires_at", timej(expires));
    json_t *fw = freeze_json(in.freeze, q->rules->graph);
    if (dd && fw)
        json_object_set(dd, "freeze_window", fw);
    if ((rc = audit(s, q->now, FS_AUDIT_DECISION, "gate", dd, err)) < 0) {
        json_decref(fw);
        goto out;
    }

    q->result = json_pack("{s:o,s:s,s:s,s:O,s:s,s:o,s:O}", "id", idj("prop", row.id), "status",
                          row.status, "decision", row.decision, "gate", gate, "actionHash", hash,
                          "expiresAt", timej(expires), "proposal", doc);
    if (q->result && fw)
        json_object_set(q->result, "freezeWindow", fw);
    json_decref(fw);
    rc = 0;
out:
    json_decref(gate);
    json_decref(doc);
    free(body);
    free(gtext);
    free(tkey);
    fs_proposal_release(&prop);
    propose_input_release(&in);
    return rc;
}

/* ---- approve / reject -------------------------------------------------------------------- */

/* Load a proposal; expire it first if its window has closed. 1 loaded, 0 refused. */
static int load_proposal(struct fs_store *s, struct fs_safety_request *q, struct fs_proposal_row *p,
                         struct fs_err *err)
{
    int rc = fs_store_proposal_load(s, q->id, p, err);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return refuse(q, FS_E_NOT_FOUND, NULL, "no proposal prop-%" PRId64, q->id);
    if (strcmp(p->status, "pending") == 0 && q->now >= p->expires_at) {
        if ((rc = fs_store_proposal_set_status(s, p->id, "expired", NULL, q->now,
                                               "approval window closed", q->now, err)) < 0)
            return rc;
        if ((rc = audit(s, q->now, FS_AUDIT_EXPIRY, "forestall",
                        json_pack("{s:o,s:o}", "proposal", idj("prop", p->id), "expired_at",
                                  timej(p->expires_at)),
                        err)) < 0)
            return rc;
        fs_strlcpy(p->status, "expired", sizeof(p->status));
    }
    return 1;
}

int fs_safety_approve(struct fs_store *s, struct fs_safety_request *q, struct fs_err *err)
{
    fs_safety_request_reset(q);
    struct fs_proposal_row p = {0};
    const char *attempt = q->force ? "force_override" : "approve";
    int rc = load_proposal(s, q, &p, err);
    if (rc <= 0)
        goto out;
    char hash[65] = "";
    if ((rc = fs_proposal_row_hash(&p, q->rules->catalog->version, q->rules->policy->version, hash,
                                   err)) < 0)
        goto out;
    struct fs_err aerr;
    int arc = fs_approval_authorize(&p, q->who, q->force, hash, q->now, &aerr);
    if (arc == -FS_E_NOT_PENDING && strcmp(p.status, "expired") == 0) {
        char when[40];
        arc = fs_err_set(&aerr, FS_E_EXPIRED, NULL, "prop-%" PRId64 " expired at %s", p.id,
                         fs_time_format(p.expires_at, when, sizeof(when)));
    }
    if (arc < 0) {
        q->rc = -(int)aerr.code;
        q->err = aerr;
        rc = audit_refusal(s, q, attempt, err);
        goto out;
    }
    struct fs_approval_row a = {
        .proposal_id = p.id,
        .created_at = q->now,
        .expires_at = p.expires_at,
        .consumed_at = FS_TIME_UNSET,
        .actor = (char *)q->who->name,
        .reason = (char *)q->reason,
    };
    fs_strlcpy(a.kind, attempt, sizeof(a.kind));
    fs_strlcpy(a.role, fs_role_name(q->who->role), sizeof(a.role));
    fs_strlcpy(a.action_hash, p.action_hash, sizeof(a.action_hash));
    if ((rc = fs_store_approval_insert(s, &a, err)) < 0)
        goto out;
    if ((rc = fs_store_proposal_set_status(s, p.id, "approved", q->who->name, q->now, q->reason,
                                           q->now, err)) < 0)
        goto out;
    json_t *d = json_pack("{s:o,s:o,s:s,s:s,s:s,s:s,s:o}", "proposal", idj("prop", p.id),
                          "approval", idj("apr", a.id), "action_hash", p.action_hash, "decision",
                          p.decision, "actor", q->who->name, "role", fs_role_name(q->who->role),
                          "expires_at", timej(p.expires_at));
    if (d && q->reason)
        json_object_set_new(d, "comment", json_string(q->reason));
    if (d)
        json_object_set_new(d, "channel", json_string(q->channel ? q->channel : "api"));
    if (d && !q->who->authenticated)
        json_object_set_new(d, "authentication", json_string("none (loopback, no tokens)"));
    if ((rc = audit(s, q->now, q->force ? FS_AUDIT_OVERRIDE : FS_AUDIT_APPROVAL, q->who->name, d,
                    err)) < 0)
        goto out;
    q->result =
        json_pack("{s:o,s:s,s:o,s:s,s:s,s:s,s:o}", "id", idj("prop", p.id), "status", "approved",
                  "approval", idj("apr", a.id), "kind", attempt, "approvedBy", q->who->name,
                  "actionHash", p.action_hash, "expiresAt", timej(p.expires_at));
    rc = 0;
out:
    fs_proposal_row_clear(&p);
    return rc;
}

/* A proposal that will never run hands its incident to a person, if the incident was waiting
 * for it (a later proposal may have moved the incident on). */
static int escalate_waiting(struct fs_store *s, int64_t incident_id, int64_t now, const char *actor,
                            const char *why, int64_t proposal_id, struct fs_err *err)
{
    if (incident_id <= 0)
        return 0;
    struct fs_incident inc;
    int rc = fs_store_incident_load(s, incident_id, &inc, err);
    if (rc <= 0)
        return rc;
    bool waiting = strcmp(inc.state, "awaiting_approval") == 0;
    fs_incident_clear(&inc);
    if (!waiting)
        return 0;
    json_t *d = json_pack("{s:s,s:o}", "reason", why, "proposal", idj("prop", proposal_id));
    rc = fs_incident_transition(s, incident_id, FS_ISTATE_ESCALATED, actor, d, now, err);
    json_decref(d);
    return rc;
}

int fs_safety_reject(struct fs_store *s, struct fs_safety_request *q, struct fs_err *err)
{
    fs_safety_request_reset(q);
    if (!q->reason || !printable(q->reason, 4096))
        return refuse(q, FS_E_INVALID_PAYLOAD, "reason", "reason: required (say why)");
    struct fs_proposal_row p = {0};
    int rc = load_proposal(s, q, &p, err);
    if (rc <= 0)
        goto out;
    struct fs_err rerr;
    if (fs_rejection_authorize(&p, q->who, &rerr) < 0) {
        q->rc = -(int)rerr.code;
        q->err = rerr;
        rc = audit_refusal(s, q, "reject", err);
        goto out;
    }
    struct fs_approval_row a = {
        .proposal_id = p.id,
        .created_at = q->now,
        .expires_at = p.expires_at,
        .consumed_at = FS_TIME_UNSET,
        .actor = (char *)q->who->name,
        .reason = (char *)q->reason,
    };
    fs_strlcpy(a.kind, "reject", sizeof(a.kind));
    fs_strlcpy(a.role, fs_role_name(q->who->role), sizeof(a.role));
    if ((rc = fs_store_approval_insert(s, &a, err)) < 0 ||
        (rc = fs_store_proposal_set_status(s, p.id, "rejected", q->who->name, q->now, q->reason,
                                           q->now, err)) < 0)
        goto out;
    rc = audit(s, q->now, FS_AUDIT_REJECTION, q->who->name,
               json_pack("{s:o,s:s,s:s,s:s,s:s}", "proposal", idj("prop", p.id), "reason",
                         q->reason, "actor", q->who->name, "role", fs_role_name(q->who->role),
                         "channel", q->channel ? q->channel : "api"),
               err);
    if (rc == 0) {
        char why[4200];
        snprintf(why, sizeof(why), "rejected by %s: %s", q->who->name, q->reason);
        rc = escalate_waiting(s, p.incident_id, q->now, q->who->name, why, p.id, err);
    }
    if (rc == 0)
        q->result = json_pack("{s:o,s:s,s:s,s:s}", "id", idj("prop", p.id), "status", "rejected",
                              "rejectedBy", q->who->name, "reason", q->reason);
out:
    fs_proposal_row_clear(&p);
    return rc;
}

/* ---- kill switch and modes ----------------------------------------------------------------- */

int fs_safety_freeze(struct fs_store *s, struct fs_safety_request *q, struct fs_err *err)
{
    fs_safety_request_reset(q);
    if (!allowed(q, FS_CAP_FREEZE, "turn the kill switch on"))
        return 0;
    if (!q->reason || !printable(q->reason, 4096))
        return refuse(q, FS_E_INVALID_PAYLOAD, "reason", "reason: required (say why)");
    char *old = NULL;
    int rc = fs_store_control_get(s, "freeze", &old, err);
    if (rc < 0)
        return rc;
    bool already = rc == 1;
    json_t *v = already && old ? json_loads(old, 0, NULL) : NULL;
    free(old);
    if (already) {
        /* The first freeze stays in force as it was (its reason, who, since when): a second
         * one must not rewrite why everything stopped. It is recorded, with its own reason. */
        if (!json_is_object(v)) {
            json_decref(v);
            v = json_object();
        }
        json_t *d =
            json_pack("{s:s,s:b,s:O}", "reason", q->reason, "already_frozen", 1, "frozen_by",
                      json_object_get(v, "by") ? json_object_get(v, "by") : json_null());
        if (d && json_object_get(v, "at"))
            json_object_set(d, "frozen_since", json_object_get(v, "at"));
        rc = audit(s, q->now, FS_AUDIT_FREEZE, q->who->name, d, err);
    } else {
        v = json_pack("{s:s,s:s,s:o}", "reason", q->reason, "by", q->who->name, "at",
                      timej(q->now));
        char *text = v ? fs_json_canonical(v) : NULL;
        if (!text) {
            json_decref(v);
            return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        }
        rc = fs_store_control_put(s, "freeze", text, q->who->name, q->now, err);
        free(text);
        if (rc == 0)
            rc = audit(s, q->now, FS_AUDIT_FREEZE, q->who->name,
                       json_pack("{s:s,s:b}", "reason", q->reason, "already_frozen", 0), err);
    }
    if (rc == 0 && v) {
        json_object_set_new(v, "frozen", json_true());
        json_object_set_new(v, "alreadyFrozen", json_boolean(already));
        q->result = v;
        v = NULL;
    } else if (rc == 0) {
        rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    json_decref(v);
    return rc;
}

int fs_safety_unfreeze(struct fs_store *s, struct fs_safety_request *q, struct fs_err *err)
{
    fs_safety_request_reset(q);
    if (!allowed(q, FS_CAP_UNFREEZE, "turn the kill switch off (admin only)"))
        return 0;
    char *old = NULL;
    int rc = fs_store_control_get(s, "freeze", &old, err);
    if (rc < 0)
        return rc;
    json_t *was = old ? json_loads(old, 0, NULL) : NULL;
    free(old);
    if ((rc = fs_store_control_put(s, "freeze", NULL, q->who->name, q->now, err)) == 0) {
        json_t *d = json_pack("{s:O}", "was", was ? was : json_null());
        if (d && q->reason)
            json_object_set_new(d, "reason", json_string(q->reason));
        rc = audit(s, q->now, FS_AUDIT_UNFREEZE, q->who->name, d, err);
    }
    if (rc == 0)
        q->result =
            json_pack("{s:b,s:s,s:o}", "frozen", 0, "by", q->who->name, "at", timej(q->now));
    json_decref(was);
    return rc;
}

int fs_safety_set_mode(struct fs_store *s, struct fs_safety_request *q, struct fs_err *err)
{
    fs_safety_request_reset(q);
    if (!allowed(q, FS_CAP_MODE, "change modes (admin only)"))
        return 0;
    const json_t *b = q->body;
    static const char *const keys[] = {"mode", "service", "env", "reason", NULL};
    if (!body_ok(q, keys))
        return 0;
    json_t *mv = json_object_get(b, "mode");
    enum fs_mode mode;
    if (!mv || (!json_is_null(mv) && fs_mode_parse(json_string_value(mv), &mode) < 0))
        return refuse(q, FS_E_INVALID_PAYLOAD, "mode",
                      "mode: expected shadow, supervised, autonomous, or null to clear");
    const char *service = json_string_value(json_object_get(b, "service"));
    const char *env = json_string_value(json_object_get(b, "env"));
    const char *reason = json_string_value(json_object_get(b, "reason"));
    if ((json_object_get(b, "service") && (!service || !printable(service, 200))) ||
        (json_object_get(b, "env") && (!env || !printable(env, 200))))
        return refuse(q, FS_E_INVALID_PAYLOAD, NULL, "service and env: non-empty strings");
    if (!reason || !printable(reason, 4096))
        return refuse(q, FS_E_INVALID_PAYLOAD, "reason", "reason: required (say why)");
    char key[500];
    snprintf(key, sizeof(key), "mode:%s:%s", service ? service : "*", env ? env : "*");
    char *old = NULL;
    int rc = fs_store_control_get(s, key, &old, err);
    if (rc < 0)
        return rc;
    json_t *was = old ? json_loads(old, 0, NULL) : NULL;
    free(old);
    char *text = NULL;
    json_t *v = NULL;
    if (!json_is_null(mv)) {
        v = json_pack("{s:s,s:s,s:s,s:o}", "mode", fs_mode_name(mode), "reason", reason, "by",
                      q->who->name, "at", timej(q->now));
        if (service)
            json_object_set_new(v, "service", json_string(service));
        if (env)
            json_object_set_new(v, "env", json_string(env));
        text = fs_json_canonical(v);
    }
    rc = fs_store_control_put(s, key, text, q->who->name, q->now, err);
    free(text);
    if (rc == 0) {
        json_t *d = json_pack(
            "{s:{s:s,s:s},s:O,s:O,s:s}", "scope", "service", service ? service : "*", "env",
            env ? env : "*", "from", was ? json_object_get(was, "mode") : json_null(), "to",
            json_is_null(mv) ? json_null() : json_object_get(v, "mode"), "reason", reason);
        rc = audit(s, q->now, FS_AUDIT_MODE, q->who->name, d, err);
    }
    if (rc == 0)
        q->result = json_pack("{s:s,s:O,s:O}", "key", key, "mode",
                              v ? json_object_get(v, "mode") : json_null(), "previous",
                              was ? json_object_get(was, "mode") : json_null());
    json_decref(v);
    json_decref(was);
    return rc;
}

/* ---- the policy in force -------------------------------------------------------------------- */

/* What the store keeps of the policy in force (control "policy"): enough to say what changed. */
static json_t *policy_note(const struct fs_policy *p)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:O}", "version", p->version, "declared", p->declared,
                     "hash", p->hash, "source", p->source, "doc", p->doc ? p->doc : json_null());
}

static json_t *policy_ident(const json_t *note)
{
    json_t *o = json_object();
    static const char *const keys[] = {"version", "hash", "source"};
    for (size_t i = 0; o && i < FS_ARRAY_LEN(keys); i++) {
        json_t *v = json_object_get(note, keys[i]);
        json_object_set_new(o, keys[i], v ? json_incref(v) : json_null());
    }
    return o;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The top-level keys whose values differ between two policy documents, sorted. */
static json_t *changed_keys(const json_t *a, const json_t *b)
{
    const char *names[256];
    size_t n = 0;
    const json_t *docs[2] = {a, b};
    for (int d = 0; d < 2; d++) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)docs[d], k, v)
        {
            json_t *other = json_object_get(docs[1 - d], k);
            if (other && json_equal(v, other))
                continue;
            bool seen = false;
            for (size_t i = 0; i < n && !seen; i++)
                seen = strcmp(names[i], k) == 0;
            if (!seen && n < FS_ARRAY_LEN(names))
                names[n++] = k;
        }
    }
    qsort(names, n, sizeof(names[0]), cmp_str);
    json_t *out = json_array();
    for (size_t i = 0; out && i < n; i++)
        json_array_append_new(out, json_string(names[i]));
    return out;
}

/* {"from": X, "to": Y} of one key of the two documents, or NULL when it did not change. */
static json_t *key_change(const json_t *was_doc, const json_t *doc, const char *key)
{
    json_t *a = json_object_get(was_doc, key), *b = json_object_get(doc, key);
    if ((!a && !b) || (a && b && json_equal(a, b)))
        return NULL;
    return json_pack("{s:O,s:O}", "from", a ? a : json_null(), "to", b ? b : json_null());
}

int fs_safety_policy_sync(struct fs_store *s, const struct fs_policy *p, const char *actor,
                          int64_t now, bool *recorded, struct fs_err *err)
{
    if (recorded)
        *recorded = false;
    char *old = NULL;
    int rc = fs_store_control_get(s, "policy", &old, err);
    if (rc < 0)
        return rc;
    bool had = rc == 1;
    json_t *was = old ? json_loads(old, 0, NULL) : NULL;
    free(old);
    if (had && fs_streq(json_string_value(json_object_get(was, "hash")), p->hash) &&
        fs_streq(json_string_value(json_object_get(was, "version")), p->version)) {
        json_decref(was);
        return 0; /* the policy the trail last recorded is the one in force */
    }
    json_t *note = policy_note(p);
    char *text = note ? fs_json_canonical(note) : NULL;
    if (!text) {
        json_decref(note);
        json_decref(was);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    rc = fs_store_control_put(s, "policy", text, actor, now, err);
    free(text);
    /* The first policy a store sees is no change; every later one is a record. */
    if (rc == 0 && had) {
        const json_t *was_doc = json_object_get(was, "doc");
        json_t *d = json_pack("{s:o,s:o,s:o}", "from", policy_ident(was), "to", policy_ident(note),
                              "changed", changed_keys(was_doc, p->doc));
        json_t *m = key_change(was_doc, p->doc, "mode");
        json_t *ms = key_change(was_doc, p->doc, "modes");
        if (d && m)
            json_object_set(d, "mode", m);
        if (d && ms)
            json_object_set(d, "modes", ms);
        json_decref(m);
        json_decref(ms);
        rc = audit(s, now, FS_AUDIT_POLICY, actor, d, err);
        if (rc == 0 && recorded)
            *recorded = true;
    }
    json_decref(note);
    json_decref(was);
    return rc;
}

/* ---- observations ---------------------------------------------------------------------------- */

int fs_safety_observe(struct fs_store *s, struct fs_safety_request *q, struct fs_err *err)
{
    fs_safety_request_reset(q);
    if (!allowed(q, FS_CAP_PROPOSE, "record observations"))
        return 0;
    const json_t *b = q->body;
    static const char *const keys[] = {"incident", "tool", "input", "output", "durationMs", NULL};
    if (!body_ok(q, keys))
        return 0;
    int64_t inc_id;
    if (fs_parse_id(json_string_value(json_object_get(b, "incident")), "inc", &inc_id) < 0)
        return refuse(q, FS_E_INVALID_PAYLOAD, "incident",
                      "incident: expected an incident id such as \"inc-12\"");
    const char *tool = json_string_value(json_object_get(b, "tool"));
    if (!tool || !printable(tool, 128))
        return refuse(q, FS_E_INVALID_PAYLOAD, "tool", "tool: required name (at most 128 bytes)");
    json_t *outv = json_object_get(b, "output");
    if (!json_is_string(outv) || json_string_length(outv) > MAX_OBSERVATION)
        return refuse(q, FS_E_INVALID_PAYLOAD, "output",
                      "output: required string of at most %d bytes", MAX_OBSERVATION);
    json_t *dur = json_object_get(b, "durationMs");
    if (dur && (!json_is_integer(dur) || json_integer_value(dur) < 0))
        return refuse(q, FS_E_INVALID_PAYLOAD, "durationMs",
                      "durationMs: expected a non-negative integer");
    struct fs_incident inc = {0};
    int rc = fs_store_incident_load(s, inc_id, &inc, err);
    fs_incident_clear(&inc);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return refuse(q, FS_E_NOT_FOUND, "incident", "incident: no incident inc-%" PRId64, inc_id);
    /* What outsiders report is untrusted text: kept only once it is clean and redacted. */
    json_t *input = json_deep_copy(json_object_get(b, "input"));
    if (input)
        fs_redact_json(input, NULL);
    char *itext = input ? fs_json_canonical(input) : NULL;
    json_decref(input);
    struct fs_sanitize_stats st;
    char *clean =
        fs_sanitize_text(json_string_value(outv), json_string_length(outv), MAX_OBSERVATION, &st);
    if (!clean || (input && !itext)) {
        free(itext);
        free(clean);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    struct fs_observation_row o = {
        .incident_id = inc_id,
        .ts = q->now,
        .tool = tool,
        .input = itext,
        .output = clean,
        .duration_ms = dur ? json_integer_value(dur) : 0,
        .actor = q->who->name,
    };
    int64_t id = 0;
    rc = fs_store_observation_insert(s, &o, &id, err);
    free(itext);
    char digest[65];
    if (rc == 0)
        fs_sha256_hex(clean, st.bytes_out, digest);
    free(clean);
    if (rc < 0)
        return rc;
    rc = audit(s, q->now, FS_AUDIT_OBSERVATION, q->who->name,
               json_pack("{s:o,s:o,s:s,s:s,s:I,s:I}", "observation", idj("obs", id), "incident",
                         idj("inc", inc_id), "tool", tool, "output_sha256", digest, "output_bytes",
                         (json_int_t)st.bytes_out, "secrets_redacted", (json_int_t)st.secrets),
               err);
    if (rc == 0)
        q->result = json_pack("{s:o,s:o}", "id", idj("obs", id), "incident", idj("inc", inc_id));
    return rc;
}

/* ---- execution start ------------------------------------------------------------------------- */

int fs_safety_begin_execution(struct fs_store *s, struct fs_safety_request *q, struct fs_err *err)
{
    fs_safety_request_reset(q);
    struct fs_proposal_row p = {0};
    struct fs_approval_row a = {0};
    bool have_a = false;
    char *freeze = NULL;
    int rc = fs_store_control_get(s, "freeze", &freeze, err);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        json_t *f = json_loads(freeze, 0, NULL);
        free(freeze);
        q->rc = fs_err_set(&q->err, FS_E_FROZEN, NULL,
                           "the kill switch is on (%s, by %s); no action may start",
                           json_string_value(json_object_get(f, "reason")),
                           json_string_value(json_object_get(f, "by")));
        json_decref(f);
        return audit_refusal(s, q, "execute", err);
    }
    if ((rc = fs_store_proposal_load(s, q->id, &p, err)) <= 0) {
        if (rc == 0)
            refuse(q, FS_E_NOT_FOUND, NULL, "no proposal prop-%" PRId64, q->id);
        goto out;
    }
    char hash[65] = "";
    if ((rc = fs_proposal_row_hash(&p, q->rules->catalog->version, q->rules->policy->version, hash,
                                   err)) < 0)
        goto out;
    if (strcmp(p.decision, "execute") != 0) {
        if ((rc = fs_store_approval_latest(s, p.id, &a, err)) < 0)
            goto out;
        have_a = rc == 1;
        if (!have_a) {
            q->rc =
                fs_err_set(&q->err, FS_E_FORBIDDEN, NULL,
                           "prop-%" PRId64 " needs approval (%s) and has none", p.id, p.decision);
            rc = audit_refusal(s, q, "execute", err);
            goto out;
        }
    }
    struct fs_err xerr;
    if (fs_approval_check_execution(&p, have_a ? &a : NULL, hash, q->now, &xerr) < 0) {
        q->rc = -(int)xerr.code;
        q->err = xerr;
        rc = audit_refusal(s, q, "execute", err);
        goto out;
    }
    if (have_a) {
        bool changed = false;
        if ((rc = fs_store_approval_consume(s, a.id, q->now, &changed, err)) < 0)
            goto out;
        if (!changed) {
            q->rc = fs_err_set(&q->err, FS_E_NOT_PENDING, NULL, "apr-%" PRId64 " was already used",
                               a.id);
            rc = audit_refusal(s, q, "execute", err);
            goto out;
        }
    }
    struct fs_execution_row e = {
        .proposal_id = p.id,
        .action = p.action,
        .target_key = p.target_key,
        .started_at = q->now,
        .finished_at = FS_TIME_UNSET,
        .outcome = "running",
    };
    int64_t eid = 0;
    if ((rc = fs_store_execution_insert(s, &e, &eid, err)) < 0)
        goto out;
    json_t *d = json_pack("{s:s,s:o,s:I,s:s,s:s}", "phase", "intent", "proposal", idj("prop", p.id),
                          "execution", (json_int_t)eid, "action", p.action, "action_hash", hash);
    if (d && have_a)
        json_object_set_new(d, "approval", idj("apr", a.id));
    if ((rc = audit(s, q->now, FS_AUDIT_EXECUTION, q->who->name, d, err)) < 0)
        goto out;
    q->result = json_pack("{s:I,s:o}", "execution", (json_int_t)eid, "proposal", idj("prop", p.id));
    rc = 0;
out:
    fs_proposal_row_clear(&p);
    fs_approval_row_clear(&a);
    return rc;
}

/* ---- housekeeping and reads --------------------------------------------------------------------
 */

int fs_safety_expire(struct fs_store *s, int64_t now, int *n, struct fs_err *err)
{
    int64_t ids[64];
    int k = 0;
    *n = 0;
    int rc = fs_store_proposals_due(s, now, ids, (int)FS_ARRAY_LEN(ids), &k, err);
    for (int i = 0; rc == 0 && i < k; i++) {
        rc = fs_store_proposal_set_status(s, ids[i], "expired", NULL, now, "approval window closed",
                                          now, err);
        if (rc == 0)
            rc = audit(s, now, FS_AUDIT_EXPIRY, "forestall",
                       json_pack("{s:o}", "proposal", idj("prop", ids[i])), err);
        struct fs_proposal_row p = {0};
        if (rc == 0 && (rc = fs_store_proposal_load(s, ids[i], &p, err)) > 0)
            rc = escalate_waiting(s, p.incident_id, now, "forestall",
                                  "nobody approved the proposal before its window closed", ids[i],
                                  err);
        fs_proposal_row_clear(&p);
        if (rc == 0)
            (*n)++;
    }
    return rc;
}

int fs_safety_controls(struct fs_store *s, const struct fs_rules *rules, json_t **out,
                       struct fs_err *err)
{
    json_t *all = NULL;
    int rc = fs_store_controls_list(s, &all, err);
    if (rc < 0)
        return rc;
    json_t *freeze = json_object_get(json_object_get(all, "freeze"), "value");
    json_t *modes = json_array();
    const char *key;
    json_t *v;
    json_object_foreach(all, key, v) if (strncmp(key, "mode:", 5) == 0)
        json_array_append(modes, json_object_get(v, "value"));
    *out = json_pack("{s:b,s:O,s:o}", "frozen", freeze != NULL, "freeze",
                     freeze ? freeze : json_null(), "modes", modes);
    if (*out && rules) {
        json_object_set_new(*out, "policy",
                            json_pack("{s:s,s:s,s:s}", "version", rules->policy->version, "source",
                                      rules->policy->source, "mode",
                                      fs_mode_name(rules->policy->mode)));
        json_object_set_new(*out, "catalog",
                            json_pack("{s:s,s:I}", "version", rules->catalog->version, "actions",
                                      (json_int_t)rules->catalog->n));
    }
    json_decref(all);
    return *out ? 0 : fs_err_set(err, FS_E_NOMEM, NULL, NULL);
}
