/* Unit tests for the knowledge graph: the example estate loads; entities are found by name,
 * alias and instance string; the blast radius is right for chains, diamonds, cycles and
 * runs_on/depends_on mixes; freeze windows are active exactly when they say (absolute edges,
 * weekly windows across midnight and the week's end, selectors, lists, maintenance windows
 * that never block); every broken document is reported with file:line and key; a generated
 * 10,000-entity graph loads and answers correctly; allocation failures are clean; threads may
 * share a graph. */
#include "unit.h"

#include <pthread.h>

#include "context/graph.h"
#include "core/fault.h"
#include "core/json.h"
#include "core/time.h"

static int64_t T(const char *rfc3339)
{
    int64_t ms;
    if (fs_time_parse_rfc3339(rfc3339, (size_t)-1, &ms) < 0)
        fail_msg("bad time in test: %s", rfc3339);
    return ms;
}

/* Load text that must be valid. */
static struct fs_graph *load_text(const char *yaml)
{
    struct fs_graph *g = NULL;
    struct fs_err err;
    struct fs_buf diag = FS_BUF_INIT(0);
    if (fs_graph_load_buf(yaml, strlen(yaml), "t.yaml", &g, &diag, &err) < 0)
        fail_msg("graph does not load:\n%s", fs_buf_str(&diag));
    fs_buf_release(&diag);
    assert_non_null(g);
    return g;
}

static const struct fs_entity *entity(const struct fs_graph *g, const char *name)
{
    const struct fs_entity *e = fs_graph_find(g, name);
    if (!e || strcmp(e->name, name) != 0)
        fail_msg("no entity %s", name);
    return e;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The dependents of name as "a b c" (sorted), checking count and uniqueness on the way. */
static char *dependents_of(const struct fs_graph *g, const char *name, size_t *count)
{
    const struct fs_entity *out[64];
    size_t n;
    assert_int_equal(fs_graph_dependents(g, entity(g, name), out, FS_ARRAY_LEN(out), &n), 0);
    assert_true(n <= FS_ARRAY_LEN(out));
    const char *names[64];
    for (size_t i = 0; i < n; i++)
        names[i] = out[i]->name;
    qsort(names, n, sizeof(names[0]), cmp_str);
    static char buf[1024];
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(names[i - 1], names[i]) == 0)
            fail_msg("%s: %s listed twice", name, names[i]);
        if (strcmp(names[i], name) == 0)
            fail_msg("%s is its own dependent", name);
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", i ? " " : "", names[i]);
    }
    *count = n;
    return buf;
}

/* ---- the example estate ------------------------------------------------------------------ */

static void test_example_file(void **state)
{
    struct fs_graph *g = NULL;
    struct fs_err err;
    struct fs_buf diag = FS_BUF_INIT(0);
    if (fs_graph_load("examples/graph.yaml", &g, &diag, &err) < 0)
        fail_msg("examples/graph.yaml does not load:\n%s", fs_buf_str(&diag));
    fs_buf_release(&diag);
    assert_int_equal(fs_graph_size(g), 14);
    assert_int_equal(fs_graph_window_count(g), 4);
    assert_int_equal(strlen(fs_graph_version(g)), 16);
    assert_string_equal(fs_graph_source(g), "examples/graph.yaml");

    const struct fs_entity *db = entity(g, "orders-db");
    assert_int_equal(db->kind, FS_KIND_DATABASE);
    assert_string_equal(db->resource_class, "database"); /* implied by the kind */
    assert_string_equal(db->classification, "pci");
    assert_ptr_equal(fs_graph_find(g, "orders-db.prod.example.com:5432"), db);
    assert_ptr_equal(fs_graph_find(g, "10.0.4.17:9100"), entity(g, "web-1"));
    assert_string_equal(entity(g, "ceph-rbd")->resource_class, "storage");
    assert_null(entity(g, "k8s-prod")->description);
    assert_string_equal(entity(g, "checkout")->links[0].key, "dashboard"); /* sorted */

    /* orders-db's blast radius: payments-api and checkout need it; storefront needs checkout */
    size_t n;
    assert_string_equal(dependents_of(g, "orders-db", &n), "checkout payments-api storefront");
    /* hv-1: the nodes run on it; nothing runs on the nodes themselves (part_of is context) */
    assert_string_equal(dependents_of(g, "hv-1", &n), "k8s-node-1 k8s-node-2");
    assert_string_equal(dependents_of(g, "k8s-prod", &n),
                        "checkout payments-api rabbitmq storefront");
    assert_string_equal(dependents_of(g, "ceph-rbd", &n),
                        "checkout orders-db payments-api storefront");

    const struct fs_entity *co = entity(g, "checkout"), *st = entity(g, "checkout-staging");
    const struct fs_window *w = fs_graph_freeze_at(g, co, T("2026-11-28T12:00:00Z"));
    assert_non_null(w);
    assert_string_equal(w->name, "black-friday");
    assert_null(fs_graph_freeze_at(g, st, T("2026-11-28T12:00:00Z"))); /* staging */
    /* Monday 2026-11-23: neither Black Friday nor the weekend */
    assert_null(fs_graph_freeze_at(g, co, T("2026-11-23T12:00:00Z")));
    w = fs_graph_freeze_at(g, co, T("2026-11-22T12:00:00Z")); /* a Sunday */
    assert_non_null(w);
    assert_string_equal(w->name, "weekend-freeze");
    w = fs_graph_freeze_at(g, db, T("2026-11-24T01:30:00Z")); /* the nightly batch */
    assert_string_equal(w->name, "nightly-batch");
    /* db-patching is maintenance: recorded, never a freeze */
    assert_null(fs_graph_freeze_at(g, entity(g, "db-1"), T("2026-11-24T02:30:00Z")));
    fs_graph_free(g);
}

/* ---- find -------------------------------------------------------------------------------- */

static const char *const estate = "entities:\n"
                                  "  - name: web-1\n"
                                  "    kind: host\n"
                                  "    aliases: [web-1.prod.example.com, \"10.0.4.17\", "
                                  "\"2001:db8::17\"]\n"
                                  "    env: production\n"
                                  "  - {name: web-2, kind: host, aliases: web-2.prod.example.com}\n"
                                  "  - {name: \"db:5432\", kind: database}\n"
                                  "  - {name: prod/checkout, kind: service, runs_on: web-1}\n"
                                  "  - {name: user@host, kind: other}\n";

static void test_find(void **state)
{
    static const struct {
        const char *query, *want; /* want NULL: no match */
    } cases[] = {
        {"web-1", "web-1"},
        {"web-1.prod.example.com", "web-1"},
        {"10.0.4.17", "web-1"},
        {"2001:db8::17", "web-1"},
        {"web-1:9100", "web-1"},
        {"10.0.4.17:9100", "web-1"},
        {"web-1.prod.example.com:443", "web-1"},
        {"[2001:db8::17]:9100", "web-1"},
        {"[2001:db8::17]", "web-1"},
        {"web-2.prod.example.com", "web-2"}, /* a single alias written as a string */
        {"web-2:1", "web-2"},
        {"db:5432", "db:5432"}, /* an exact name wins over the host:port reading */
        {"prod/checkout", "prod/checkout"},
        {"user@host", "user@host"},
        {"web-1:", NULL},
        {"web-1:http", NULL},
        {"web-1:123456", NULL},
        {"2001:db8::17:9100", NULL}, /* an unbracketed IPv6 address has no port to strip */
        {"[2001:db8::17]:", NULL},
        {"[2001:db8::17", NULL},
        {":9100", NULL},
        {"Web-1", NULL},
        {"web", NULL},
        {"web-1.prod", NULL},
        {"", NULL},
        {"db", NULL},
    };
    struct fs_graph *g = load_text(estate);
    for (size_t i = 0; i < FS_ARRAY_LEN(cases); i++) {
        const struct fs_entity *e = fs_graph_find(g, cases[i].query);
        if (!cases[i].want && e)
            fail_msg("\"%s\" found %s, want nothing", cases[i].query, e->name);
        if (cases[i].want && (!e || strcmp(e->name, cases[i].want) != 0))
            fail_msg("\"%s\" found %s, want %s", cases[i].query, e ? e->name : "nothing",
                     cases[i].want);
    }
    assert_null(fs_graph_find(g, NULL));
    assert_null(fs_graph_find(NULL, "web-1"));
    const struct fs_entity *w1 = entity(g, "web-1");
    assert_int_equal(w1->naliases, 3);
    assert_string_equal(w1->env, "production");
    assert_null(w1->owner);
    assert_null(w1->resource_class); /* a host implies no class */
    assert_string_equal(entity(g, "db:5432")->resource_class, "database");
    assert_ptr_equal(fs_graph_entity_at(g, 0), w1);
    assert_null(fs_graph_entity_at(g, 5));
    assert_int_equal(fs_graph_size(g), 5);
    fs_graph_free(g);
}

/* ---- blast radius ------------------------------------------------------------------------ */

static const struct {
    const char *what, *yaml;
    struct {
        const char *of, *want; /* sorted names, space-separated */
    } q[5];
} radius_cases[] = {
    {"chain",
     "entities:\n"
     "  - {name: a, kind: service, depends_on: b}\n"
     "  - {name: b, kind: service, depends_on: c}\n"
     "  - {name: c, kind: database}\n",
     {{"c", "a b"}, {"b", "a"}, {"a", ""}}},
    {"diamond: the top counted once",
     "entities:\n"
     "  - {name: top, kind: service, depends_on: [left, right]}\n"
     "  - {name: left, kind: service, depends_on: bottom}\n"
     "  - {name: right, kind: service, depends_on: bottom}\n"
     "  - {name: bottom, kind: database}\n",
     {{"bottom", "left right top"}, {"left", "top"}, {"top", ""}}},
    {"depends_on cycle: terminates, excludes the start",
     "entities:\n"
     "  - {name: a, kind: service, depends_on: b}\n"
     "  - {name: b, kind: service, depends_on: c}\n"
     "  - {name: c, kind: service, depends_on: a}\n"
     "  - {name: d, kind: service, depends_on: c}\n",
     {{"a", "b c d"}, {"b", "a c d"}, {"c", "a b d"}, {"d", ""}}},
    {"two cycles joined",
     "entities:\n"
     "  - {name: a, kind: service, depends_on: [b, x]}\n"
     "  - {name: b, kind: service, depends_on: a}\n"
     "  - {name: x, kind: service, depends_on: y}\n"
     "  - {name: y, kind: service, depends_on: x}\n",
     {{"x", "a b y"}, {"a", "b"}}},
    {"runs_on and depends_on",
     "entities:\n"
     "  - {name: hv, kind: host, resource_class: hypervisor}\n"
     "  - {name: vm, kind: host, runs_on: hv}\n"
     "  - {name: app, kind: service, runs_on: vm}\n"
     "  - {name: front, kind: service, depends_on: app}\n"
     "  - {name: db, kind: database, runs_on: hv}\n"
     "  - {name: api, kind: service, depends_on: db}\n"
     "relations:\n"
     "  - {from: app, type: depends_on, to: db}\n",
     {{"hv", "api app db front vm"},
      {"vm", "app front"},
      {"db", "api app front"},
      {"app", "front"},
      {"front", ""}}},
    {"depends_on a host, then runs_on what depends",
     "entities:\n"
     "  - {name: y, kind: host}\n"
     "  - {name: x, kind: service, depends_on: y}\n"
     "  - {name: z, kind: service, runs_on: x}\n",
     {{"y", "x z"}, {"x", "z"}, {"z", ""}}},
    {"part_of is context, not blast radius",
     "entities:\n"
     "  - {name: cluster, kind: cluster}\n"
     "  - {name: node, kind: host, part_of: cluster}\n"
     "  - {name: app, kind: service, runs_on: cluster}\n",
     {{"node", ""}, {"cluster", "app"}, {"app", ""}}},
    {"forward edges do not count",
     "entities:\n"
     "  - {name: a, kind: service, depends_on: [b, c], runs_on: h}\n"
     "  - {name: b, kind: service}\n"
     "  - {name: c, kind: service}\n"
     "  - {name: h, kind: host}\n",
     {{"a", ""}, {"b", "a"}, {"h", "a"}}},
};

static void test_dependents(void **state)
{
    for (size_t i = 0; i < FS_ARRAY_LEN(radius_cases); i++) {
        struct fs_graph *g = load_text(radius_cases[i].yaml);
        for (size_t k = 0; k < FS_ARRAY_LEN(radius_cases[i].q) && radius_cases[i].q[k].of; k++) {
            size_t n;
            const char *got = dependents_of(g, radius_cases[i].q[k].of, &n);
            if (strcmp(got, radius_cases[i].q[k].want) != 0)
                fail_msg("%s: dependents of %s are \"%s\", want \"%s\"", radius_cases[i].what,
                         radius_cases[i].q[k].of, got, radius_cases[i].q[k].want);
            size_t words = *got ? 1 : 0;
            for (const char *p = got; *p; p++)
                words += *p == ' ';
            assert_int_equal(n, words);
        }
        fs_graph_free(g);
    }
}

static void test_dependents_order_and_limits(void **state)
{
    struct fs_graph *g = load_text("entities:\n"
                                   "  - {name: d, kind: database}\n"
                                   "  - {name: c2, kind: service, depends_on: d}\n"
                                   "  - {name: c1, kind: service, depends_on: d}\n"
                                   "  - {name: b, kind: service, depends_on: c1}\n"
                                   "  - {name: a, kind: service, depends_on: b}\n");
    const struct fs_entity *out[4] = {NULL};
    size_t n = 99;
    /* nearest first; ties in the order the relations are written */
    assert_int_equal(fs_graph_dependents(g, entity(g, "d"), out, 4, &n), 0);
    assert_int_equal(n, 4);
    assert_string_equal(out[0]->name, "c2");
    assert_string_equal(out[1]->name, "c1");
    assert_string_equal(out[2]->name, "b");
    assert_string_equal(out[3]->name, "a");
    /* a short array gets the nearest ones, the count is still all */
    memset(out, 0, sizeof(out));
    assert_int_equal(fs_graph_dependents(g, entity(g, "d"), out, 2, &n), 0);
    assert_int_equal(n, 4);
    assert_string_equal(out[1]->name, "c1");
    assert_null(out[2]);
    assert_int_equal(fs_graph_dependents(g, entity(g, "d"), NULL, 0, &n), 0);
    assert_int_equal(n, 4);
    /* entities from elsewhere have none */
    struct fs_entity foreign = {.name = "d", .kind = FS_KIND_DATABASE};
    assert_int_equal(fs_graph_dependents(g, &foreign, out, 4, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(fs_graph_dependents(g, NULL, out, 4, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(fs_graph_dependents(NULL, &foreign, out, 4, &n), 0);
    assert_int_equal(n, 0);
    fs_graph_free(g);
}

/* ---- freeze windows ---------------------------------------------------------------------- */

static const char *const windows_yaml =
    "entities:\n"
    "  - {name: abs, kind: host, env: lab}\n"
    "  - {name: on-abs, kind: service, env: lab, runs_on: abs}\n"
    "  - {name: dated, kind: host, env: lab}\n"
    "  - {name: frac, kind: host, env: lab}\n"
    "  - {name: fri, kind: host, env: lab}\n"
    "  - {name: sun-night, kind: host, env: lab}\n"
    "  - {name: sat-night, kind: host, env: lab}\n"
    "  - {name: daily, kind: host, env: lab}\n"
    "  - {name: bounded, kind: host, env: lab}\n"
    "  - {name: svc-prod, kind: service, env: production, owner: team-shop}\n"
    "  - {name: host-prod, kind: host, env: production, owner: team-shop}\n"
    "  - {name: svc-staging, kind: service, env: staging, owner: team-shop}\n"
    "  - {name: eu, kind: other, env: lab, labels: {region: eu-west-1}}\n"
    "  - {name: us, kind: other, env: lab, labels: {region: us-east-1}}\n"
    "  - {name: maint, kind: host, env: lab}\n"
    "  - {name: both, kind: host, env: lab}\n"
    "windows:\n"
    "  - {name: w-abs, kind: freeze, entities: [abs],\n"
    "     start: \"2026-11-27T00:00:00Z\", end: \"2026-11-30T23:59:59Z\"}\n"
    "  - {name: w-dated, kind: freeze, entities: [dated], start: 2026-11-27, end: 2026-11-30}\n"
    "  - {name: w-frac, kind: freeze, entities: [frac],\n"
    "     start: \"2026-11-27T10:00:00.250Z\", end: \"2026-11-27T10:00:00.500Z\"}\n"
    "  - {name: w-fri, kind: freeze, entities: [fri],\n"
    "     every: {days: [fri], from: \"16:00\", to: \"23:59\"}}\n"
    "  - {name: w-sun-night, kind: freeze, entities: [sun-night],\n"
    "     every: {days: [Sunday], from: \"22:00\", to: \"05:59\"}}\n"
    "  - {name: w-sat-night, kind: freeze, entities: [sat-night],\n"
    "     every: {days: [sat], from: \"23:00\", to: \"00:59\"}}\n"
    "  - {name: w-daily, kind: freeze, entities: [daily], every: {from: \"23:00\", to: "
    "\"01:59\"}}\n"
    "  - {name: w-bounded, kind: freeze, entities: [bounded], start: 2026-11-02,\n"
    "     end: \"2026-11-04T12:00:00Z\", every: {days: [mon, wed], from: \"08:00\", to: "
    "\"17:59\"}}\n"
    "  - {name: w-select, kind: freeze, match: {env: production, kind: service},\n"
    "     start: 2026-01-01, end: 2026-01-01}\n"
    "  - {name: w-labels, kind: freeze, match: {labels: {region: [eu-west-1, eu-central-1]}},\n"
    "     start: 2026-01-02, end: 2026-01-02}\n"
    "  - {name: w-owner, kind: freeze, match: {owner: team-shop, kind: [host, database]},\n"
    "     start: 2026-01-03, end: 2026-01-03}\n"
    "  - {name: w-maint, kind: maintenance, entities: [maint, both],\n"
    "     every: {from: \"00:00\", to: \"23:59\"}}\n"
    "  - {name: w-second, kind: freeze, entities: [both], start: 2026-01-04, end: 2026-01-04}\n"
    "  - {name: w-third, kind: freeze, entities: [both], match: {env: lab},\n"
    "     start: 2026-01-04, end: 2026-01-05}\n"
    "  - {name: w-union, kind: freeze, entities: [svc-staging], match: {env: production},\n"
    "     start: 2026-01-06, end: 2026-01-06}\n"
    "  - {name: w-all, kind: freeze, all: true, start: 2026-01-07, end: 2026-01-07}\n";

static const struct {
    const char *entity, *at, *want; /* want NULL: no freeze */
} freeze_cases[] = {
    /* absolute: start inclusive, end inclusive of the whole second written */
    {"abs", "2026-11-26T23:59:59.999Z", NULL},
    {"abs", "2026-11-27T00:00:00Z", "w-abs"},
    {"abs", "2026-11-29T12:00:00Z", "w-abs"},
    {"abs", "2026-11-30T23:59:59Z", "w-abs"},
    {"abs", "2026-11-30T23:59:59.999Z", "w-abs"},
    {"abs", "2026-12-01T00:00:00Z", NULL},
    {"on-abs", "2026-11-28T00:00:00Z", NULL}, /* running on a frozen host is not frozen */
    /* a date covers the whole day */
    {"dated", "2026-11-26T23:59:59.999Z", NULL},
    {"dated", "2026-11-27T00:00:00Z", "w-dated"},
    {"dated", "2026-11-30T23:59:59.999Z", "w-dated"},
    {"dated", "2026-12-01T00:00:00Z", NULL},
    /* milliseconds written: inclusive to the millisecond */
    {"frac", "2026-11-27T10:00:00.249Z", NULL},
    {"frac", "2026-11-27T10:00:00.250Z", "w-frac"},
    {"frac", "2026-11-27T10:00:00.500Z", "w-frac"},
    {"frac", "2026-11-27T10:00:00.501Z", NULL},
    /* weekly, Friday 16:00-23:59 (2026-11-20 is a Friday) */
    {"fri", "2026-11-20T15:59:59.999Z", NULL},
    {"fri", "2026-11-20T16:00:00Z", "w-fri"},
    {"fri", "2026-11-20T23:59:59.999Z", "w-fri"},
    {"fri", "2026-11-21T00:00:00Z", NULL},
    {"fri", "2026-11-19T17:00:00Z", NULL},
    {"fri", "2026-11-27T18:00:00Z", "w-fri"},
    {"fri", "1970-01-02T17:00:00Z", "w-fri"}, /* the epoch's first Friday */
    {"fri", "1969-12-26T17:00:00Z", "w-fri"}, /* before the epoch */
    {"fri", "1969-12-27T17:00:00Z", NULL},
    /* Sunday 22:00 to Monday 06:00: across midnight */
    {"sun-night", "2026-11-22T21:59:59.999Z", NULL},
    {"sun-night", "2026-11-22T22:00:00Z", "w-sun-night"},
    {"sun-night", "2026-11-23T00:00:00Z", "w-sun-night"},
    {"sun-night", "2026-11-23T05:59:59.999Z", "w-sun-night"},
    {"sun-night", "2026-11-23T06:00:00Z", NULL},
    {"sun-night", "2026-11-23T22:30:00Z", NULL}, /* Monday night: not a listed day */
    {"sun-night", "2026-11-22T03:00:00Z", NULL}, /* early Sunday belongs to Saturday night */
    /* Saturday 23:00 to Sunday 01:00: across the end of the week */
    {"sat-night", "2026-11-21T22:59:59Z", NULL},
    {"sat-night", "2026-11-21T23:30:00Z", "w-sat-night"},
    {"sat-night", "2026-11-22T00:59:59.999Z", "w-sat-night"},
    {"sat-night", "2026-11-22T01:00:00Z", NULL},
    {"sat-night", "2026-11-23T00:30:00Z", NULL},
    /* every day */
    {"daily", "2026-11-24T22:59:00Z", NULL},
    {"daily", "2026-11-24T23:00:00Z", "w-daily"},
    {"daily", "2026-11-25T01:59:59Z", "w-daily"},
    {"daily", "2026-11-25T02:00:00Z", NULL},
    /* weekly within bounds: Mon 2026-11-02 and Wed 2026-11-04 until noon */
    {"bounded", "2026-10-26T09:00:00Z", NULL}, /* a Monday before start */
    {"bounded", "2026-11-02T08:00:00Z", "w-bounded"},
    {"bounded", "2026-11-03T09:00:00Z", NULL}, /* Tuesday */
    {"bounded", "2026-11-04T11:59:59.999Z", "w-bounded"},
    {"bounded", "2026-11-04T12:00:01Z", NULL}, /* past end (whole second 12:00:00 covered) */
    {"bounded", "2026-11-09T09:00:00Z", NULL}, /* a Monday after end */
    /* selectors: every given key must match; values within a key are alternatives */
    {"svc-prod", "2026-01-01T12:00:00Z", "w-select"},
    {"host-prod", "2026-01-01T12:00:00Z", NULL},
    {"svc-staging", "2026-01-01T12:00:00Z", NULL},
    {"eu", "2026-01-02T12:00:00Z", "w-labels"},
    {"us", "2026-01-02T12:00:00Z", NULL},
    {"abs", "2026-01-02T12:00:00Z", NULL}, /* no such label */
    {"host-prod", "2026-01-03T12:00:00Z", "w-owner"},
    {"svc-prod", "2026-01-03T12:00:00Z", NULL},
    /* maintenance never blocks; the first active freeze in file order is the answer */
    {"maint", "2026-01-09T12:00:00Z", NULL},
    {"both", "2026-01-04T12:00:00Z", "w-second"},
    {"both", "2026-01-05T12:00:00Z", "w-third"},
    {"maint", "2026-01-05T12:00:00Z", "w-third"}, /* matched by env: lab */
    /* entities and match together: the union */
    {"svc-staging", "2026-01-06T12:00:00Z", "w-union"},
    {"host-prod", "2026-01-06T12:00:00Z", "w-union"},
    {"eu", "2026-01-06T12:00:00Z", NULL},
    /* all: true */
    {"eu", "2026-01-07T00:00:00Z", "w-all"},
    {"maint", "2026-01-08T00:00:00Z", NULL},
};

static void test_freeze_windows(void **state)
{
    struct fs_graph *g = load_text(windows_yaml);
    for (size_t i = 0; i < FS_ARRAY_LEN(freeze_cases); i++) {
        const struct fs_window *w =
            fs_graph_freeze_at(g, entity(g, freeze_cases[i].entity), T(freeze_cases[i].at));
        const char *got = w ? w->name : NULL;
        if (!fs_streq(got, freeze_cases[i].want))
            fail_msg("case %zu: %s at %s: freeze %s, want %s", i, freeze_cases[i].entity,
                     freeze_cases[i].at, got ? got : "none",
                     freeze_cases[i].want ? freeze_cases[i].want : "none");
        if (w)
            assert_int_equal(w->kind, FS_WINDOW_FREEZE);
    }
    /* NULL: only all: true applies */
    assert_string_equal(fs_graph_freeze_at(g, NULL, T("2026-01-07T10:00:00Z"))->name, "w-all");
    assert_null(fs_graph_freeze_at(g, NULL, T("2026-01-01T10:00:00Z")));
    assert_null(fs_graph_freeze_at(NULL, NULL, T("2026-01-07T10:00:00Z")));
    /* an entity the graph does not know, built from an alert's labels: selectors only */
    struct fs_label lab[] = {{"region", "eu-west-1"}};
    struct fs_entity foreign = {.name = "svc-staging",
                                .kind = FS_KIND_SERVICE,
                                .env = "production",
                                .labels = lab,
                                .nlabels = 1};
    assert_string_equal(fs_graph_freeze_at(g, &foreign, T("2026-01-01T10:00:00Z"))->name,
                        "w-select");
    assert_string_equal(fs_graph_freeze_at(g, &foreign, T("2026-01-02T10:00:00Z"))->name,
                        "w-labels");
    assert_string_equal(fs_graph_freeze_at(g, &foreign, T("2026-01-06T10:00:00Z"))->name,
                        "w-union"); /* by env, not by the list that names svc-staging */
    foreign.env = "staging";
    assert_null(fs_graph_freeze_at(g, &foreign, T("2026-01-06T10:00:00Z")));
    /* far-away clocks do not overflow */
    assert_null(fs_graph_freeze_at(g, entity(g, "fri"), INT64_MIN));
    assert_null(fs_graph_freeze_at(g, entity(g, "abs"), INT64_MAX));
    fs_graph_freeze_at(g, entity(g, "daily"), INT64_MAX);
    json_decref(fs_graph_entity_json(g, entity(g, "daily"), INT64_MIN));
    json_decref(fs_graph_entity_json(g, entity(g, "daily"), INT64_MAX));

    assert_int_equal(fs_graph_window_count(g), 16);
    assert_string_equal(fs_graph_window_at(g, 11)->name, "w-maint");
    assert_int_equal(fs_graph_window_at(g, 11)->kind, FS_WINDOW_MAINTENANCE);
    assert_int_equal(fs_graph_window_at(g, 0)->line, 19);
    assert_null(fs_graph_window_at(g, 16));
    fs_graph_free(g);
}

/* ---- entity JSON ------------------------------------------------------------------------- */

static json_t *member(json_t *o, const char *path)
{
    char p[256];
    fs_strlcpy(p, path, sizeof(p));
    json_t *v = o;
    for (char *save = NULL, *k = strtok_r(p, ".", &save); k; k = strtok_r(NULL, ".", &save)) {
        if (json_is_array(v))
            v = json_array_get(v, (size_t)atoi(k));
        else
            v = json_object_get(v, k);
        if (!v)
            fail_msg("no %s in the entity JSON", path);
    }
    return v;
}

static void expect_str(json_t *o, const char *path, const char *want)
{
    json_t *v = member(o, path);
    if (!want) {
        if (!json_is_null(v))
            fail_msg("%s: want null", path);
        return;
    }
    if (!json_is_string(v) || strcmp(json_string_value(v), want) != 0)
        fail_msg("%s is %s, want %s", path, json_is_string(v) ? json_string_value(v) : "?", want);
}

static void test_entity_json(void **state)
{
    struct fs_graph *g = NULL;
    struct fs_err err;
    assert_int_equal(fs_graph_load("examples/graph.yaml", &g, NULL, &err), 0);
    /* Friday 2026-11-20 18:00: Black Friday a week ahead, the weekend tomorrow */
    json_t *j = fs_graph_entity_json(g, entity(g, "checkout"), T("2026-11-20T18:00:00Z"));
    assert_non_null(j);
    expect_str(j, "name", "checkout");
    expect_str(j, "kind", "service");
    expect_str(j, "env", "production");
    expect_str(j, "resource_class", "application");
    expect_str(j, "labels.tier", "1");
    expect_str(j, "links.runbook", "https://wiki.example.com/runbooks/checkout");
    expect_str(j, "source", "examples/graph.yaml:91");
    expect_str(j, "change_freeze", NULL);
    expect_str(j, "graph_version", fs_graph_version(g));
    /* out: the relations list in file order; in: storefront */
    assert_int_equal(json_array_size(member(j, "relations")), 6);
    expect_str(j, "relations.0.type", "runs_on");
    expect_str(j, "relations.0.to", "web-1");
    expect_str(j, "relations.5.from", "storefront");
    assert_int_equal(json_integer_value(member(j, "dependents.count")), 1);
    expect_str(j, "dependents.entities.0.name", "storefront");
    expect_str(j, "dependents.entities.0.via", "checkout");
    expect_str(j, "dependents.entities.0.relation", "depends_on");
    assert_int_equal(json_integer_value(member(j, "dependents.entities.0.distance")), 1);
    assert_true(json_is_false(member(j, "dependents.truncated")));
    assert_int_equal(json_array_size(member(j, "windows.active")), 0);
    /* upcoming, soonest first: the whole weekend as one span, then Black Friday (in 6 days) */
    assert_int_equal(json_array_size(member(j, "windows.upcoming")), 2);
    expect_str(j, "windows.upcoming.0.name", "weekend-freeze");
    expect_str(j, "windows.upcoming.0.start", "2026-11-21T00:00:00.000Z");
    expect_str(j, "windows.upcoming.0.end", "2026-11-23T00:00:00.000Z");
    expect_str(j, "windows.upcoming.0.every.days.0", "sat");
    assert_true(json_is_true(member(j, "windows.upcoming.0.recurring")));
    expect_str(j, "windows.upcoming.1.name", "black-friday");
    expect_str(j, "windows.upcoming.1.start", "2026-11-27T00:00:00.000Z");
    expect_str(j, "windows.upcoming.1.end", "2026-12-01T00:00:00.000Z");
    expect_str(j, "windows.upcoming.1.reason", "Black Friday: nothing changes on the shop");
    json_decref(j);

    /* during the weekend: active until Monday, the next weekend is upcoming */
    j = fs_graph_entity_json(g, entity(g, "checkout"), T("2026-11-22T10:00:00Z"));
    expect_str(j, "change_freeze", "weekend-freeze");
    expect_str(j, "windows.active.0.start", "2026-11-21T00:00:00.000Z");
    expect_str(j, "windows.active.0.end", "2026-11-23T00:00:00.000Z");
    expect_str(j, "windows.upcoming.0.name", "black-friday");
    expect_str(j, "windows.upcoming.1.start", "2026-11-28T00:00:00.000Z");
    json_decref(j);

    /* orders-db: the nightly batch every day is active across midnight */
    j = fs_graph_entity_json(g, entity(g, "orders-db"), T("2026-11-24T00:30:00Z"));
    expect_str(j, "change_freeze", "nightly-batch");
    expect_str(j, "windows.active.0.start", "2026-11-23T23:00:00.000Z");
    expect_str(j, "windows.active.0.end", "2026-11-24T02:00:00.000Z");
    expect_str(j, "windows.upcoming.0.name", "nightly-batch");
    expect_str(j, "windows.upcoming.0.start", "2026-11-24T23:00:00.000Z");
    expect_str(j, "windows.upcoming.1.name", "black-friday");
    expect_str(j, "windows.upcoming.2.name", "weekend-freeze"); /* it is production too */
    assert_int_equal(json_integer_value(member(j, "dependents.count")), 3);
    json_decref(j);

    /* maintenance windows are shown but are never the change freeze */
    j = fs_graph_entity_json(g, entity(g, "db-1"), T("2026-11-24T02:30:00Z"));
    expect_str(j, "windows.active.0.name", "db-patching");
    expect_str(j, "windows.active.0.kind", "maintenance");
    expect_str(j, "change_freeze", NULL);
    json_decref(j);

    struct fs_entity foreign = {.name = "x"};
    assert_null(fs_graph_entity_json(g, &foreign, 0));
    assert_null(fs_graph_entity_json(g, NULL, 0));
    fs_graph_free(g);

    /* a window that never ends within the days looked at has a null end */
    g = load_text("entities: [{name: a, kind: host}]\n"
                  "windows:\n"
                  "  - {name: always, kind: freeze, all: true,\n"
                  "     every: {from: \"00:00\", to: \"23:59\"}}\n");
    j = fs_graph_entity_json(g, entity(g, "a"), T("2026-11-24T12:00:00Z"));
    expect_str(j, "windows.active.0.start", NULL);
    expect_str(j, "windows.active.0.end", NULL);
    expect_str(j, "change_freeze", "always");
    assert_int_equal(json_array_size(member(j, "windows.upcoming")), 0);
    json_decref(j);
    fs_graph_free(g);
}

static void test_dependents_json_truncated(void **state)
{
    struct fs_buf b = FS_BUF_INIT(0);
    fs_buf_puts(&b, "entities:\n  - {name: hub, kind: database}\n");
    for (int i = 0; i < 150; i++)
        fs_buf_printf(&b, "  - {name: s%d, kind: service, depends_on: hub}\n", i);
    struct fs_graph *g = load_text(fs_buf_str(&b));
    json_t *j = fs_graph_entity_json(g, entity(g, "hub"), 0);
    assert_int_equal(json_integer_value(member(j, "dependents.count")), 150);
    assert_int_equal(json_array_size(member(j, "dependents.entities")), 100);
    assert_true(json_is_true(member(j, "dependents.truncated")));
    assert_int_equal(json_array_size(member(j, "relations")), 150);
    json_decref(j);
    fs_graph_free(g);
    fs_buf_release(&b);
}

/* ---- empty graphs and versions ----------------------------------------------------------- */

static void test_empty_and_version(void **state)
{
    struct fs_graph *g = NULL;
    assert_int_equal(fs_graph_load(NULL, &g, NULL, NULL), 0);
    assert_non_null(g);
    assert_string_equal(fs_graph_version(g), "empty");
    assert_int_equal(fs_graph_size(g), 0);
    assert_null(fs_graph_find(g, "web-1"));
    assert_null(fs_graph_freeze_at(g, NULL, 0));
    size_t n = 7;
    assert_int_equal(fs_graph_dependents(g, NULL, NULL, 0, &n), 0);
    assert_int_equal(n, 0);
    fs_graph_free(g);
    fs_graph_free(NULL);
    assert_string_equal(fs_graph_version(NULL), "empty");

    static const char *const empties[] = {"", "# nothing yet\n", "entities: []\n",
                                          "entities:\nrelations:\nwindows: []\n", "~\n"};
    for (size_t i = 0; i < FS_ARRAY_LEN(empties); i++) {
        g = load_text(empties[i]);
        assert_string_equal(fs_graph_version(g), "empty");
        fs_graph_free(g);
    }

    /* layout, comments and key order do not change the version; content does */
    static const char *const same[] = {
        "entities:\n  - {name: a, kind: host, env: prod}\n",
        "# the estate\nentities:\n  - env: prod   # where\n    name: a\n    kind: host\n",
        "{\"entities\": [{\"kind\": \"host\", \"name\": \"a\", \"env\": \"prod\"}]}\n",
    };
    char first[32];
    for (size_t i = 0; i < FS_ARRAY_LEN(same); i++) {
        g = load_text(same[i]);
        if (i == 0)
            fs_strlcpy(first, fs_graph_version(g), sizeof(first));
        assert_string_equal(fs_graph_version(g), first);
        fs_graph_free(g);
    }
    assert_int_equal(strspn(first, "0123456789abcdef"), 16);
    g = load_text("entities:\n  - {name: a, kind: host, env: production}\n");
    assert_string_not_equal(fs_graph_version(g), first);
    fs_graph_free(g);

    struct fs_err err;
    struct fs_buf diag = FS_BUF_INIT(0);
    g = (struct fs_graph *)1;
    assert_int_equal(fs_graph_load("/nonexistent/graph.yaml", &g, &diag, &err), -FS_E_IO);
    assert_null(g);
    assert_non_null(strstr(fs_buf_str(&diag), "/nonexistent/graph.yaml"));
    fs_buf_release(&diag);
}

/* ---- broken documents -------------------------------------------------------------------- */

/* Lines 1-4 of many broken documents; each continues at line 5. */
#define HEAD                                                                                       \
    "entities:\n"                                                                                  \
    "  - {name: web-1, kind: host, aliases: [web-1.example.com]}\n"                                \
    "  - {name: checkout, kind: service}\n"                                                        \
    "  - {name: orders-db, kind: database}\n"

static const struct {
    const char *yaml;
    const char *where; /* exact err.path */
    const char *needle;
} bad_docs[] = {
    /* entities */
    {"entities:\n  - name: a\n    kind: host\n    ownr: x\n", "t.yaml:4",
     "t.yaml:4: entities[0].ownr: unknown key (did you mean owner?)"},
    {"entities:\n  - {name: -web, kind: host}\n", "t.yaml:2",
     "t.yaml:2: entities[0].name: \"-web\" is not a valid name"},
    {"entities:\n  - {name: web 1, kind: host}\n", "t.yaml:2", "\"web 1\" is not a valid name"},
    {"entities:\n  - {name: \"\", kind: host}\n", "t.yaml:2",
     "entities[0].name: must not be empty"},
    {"entities:\n  - {name: 7, kind: host}\n", "t.yaml:2",
     "entities[0].name: expected a string (quote it), got number"},
    {"entities:\n  - kind: host\n    env: prod\n", "t.yaml:2",
     "t.yaml:2: entities[0].name: required"},
    {"entities:\n  - name: a\n", "t.yaml:2", "entities[0].kind: required"},
    {"entities:\n  - {name: a, kind: hots}\n", "t.yaml:2",
     "entities[0].kind: unknown kind \"hots\" (did you mean host?)"},
    {"entities:\n  - {name: a, kind: vm}\n", "t.yaml:2",
     "unknown kind \"vm\" (expected host, service, database, cluster, queue, storage, network, "
     "other)"},
    {HEAD "  - {name: web-1, kind: service}\n", "t.yaml:5",
     "t.yaml:5: entities[3].name: duplicate name \"web-1\" (first defined at line 2)"},
    {HEAD "  - {name: web-2, kind: host, aliases: [web-1.example.com]}\n", "t.yaml:5",
     "entities[3].aliases[0]: \"web-1.example.com\" is already an alias of web-1 (line 2)"},
    {HEAD "  - {name: web-2, kind: host, aliases: [x, checkout]}\n", "t.yaml:5",
     "entities[3].aliases[1]: \"checkout\" is the name of another entity (line 3)"},
    {HEAD "  - {name: web-2, kind: host, aliases: web-2}\n", "t.yaml:5",
     "entities[3].aliases: \"web-2\" is the entity's own name"},
    {HEAD "  - {name: web-2, kind: host, aliases: [w2, w2]}\n", "t.yaml:5",
     "entities[3].aliases[1]: \"w2\" is listed twice"},
    {HEAD "  - name: web-2\n    kind: host\n    aliases:\n      - ok\n      - \"not ok\"\n",
     "t.yaml:9", "t.yaml:9: entities[3].aliases[1]: \"not ok\" is not a valid alias"},
    {HEAD "  - {name: web-2, kind: host, aliases: []}\n", "t.yaml:5",
     "entities[3].aliases: expected alias or a non-empty list of them"},
    {HEAD "  - {name: web-2, kind: host, aliases: {a: b}}\n", "t.yaml:5",
     "entities[3].aliases: expected alias or a list of them, got object"},
    {"entities:\n  - name: a\n    kind: host\n    env: \"\"\n", "t.yaml:4",
     "t.yaml:4: entities[0].env: must not be empty"},
    {"entities:\n  - name: a\n    kind: host\n    owner: \"team\\x01\"\n", "t.yaml:4",
     "entities[0].owner: must not contain control characters"},
    {"entities:\n  - name: a\n    kind: host\n    env: [prod]\n", "t.yaml:4",
     "entities[0].env: expected a string, got array"},
    {"entities:\n  - name: a\n    kind: host\n    resource_class: Database\n", "t.yaml:4",
     "entities[0].resource_class: \"Database\": expected a class such as application"},
    {"entities:\n  - name: a\n    kind: host\n    labels:\n      rack: 12\n", "t.yaml:5",
     "t.yaml:5: entities[0].labels.rack: expected a string (quote it), got number"},
    {"entities:\n  - name: a\n    kind: host\n    labels:\n      9lives: x\n", "t.yaml:5",
     "t.yaml:5: entities[0].labels[\"9lives\"]: label names are"},
    {"entities:\n  - name: a\n    kind: host\n    labels: [x]\n", "t.yaml:4",
     "entities[0].labels: expected a mapping of labels, got array"},
    {"entities:\n  - name: a\n    kind: host\n    links: {runbook: \"wiki/page\"}\n", "t.yaml:4",
     "entities[0].links.runbook: expected an http:// or https:// URL without spaces"},
    {"entities: {a: 1}\n", "t.yaml:1",
     "t.yaml:1: entities: expected a list of at most 100000 entities, got object"},
    {"entities:\n  - {nam: x, kind: host, aliases: [a1]}\n  - {name: b, kind: host, depends_on: "
     "a1}\n",
     "t.yaml:2", "t.yaml:3: entities[1].depends_on: no entity named \"a1\""},
    {"entities:\n  - just-a-name\n", "t.yaml:2",
     "t.yaml:2: entities[0]: expected a mapping with name and kind, got string"},
    /* relations */
    {HEAD "relations:\n  - {from: checkout, type: depends_on, to: ordrs-db}\n", "t.yaml:6",
     "t.yaml:6: relations[0].to: no entity named \"ordrs-db\" (did you mean orders-db?)"},
    {HEAD "relations:\n  - {from: checkout, type: depends_on, to: ledger}\n", "t.yaml:6",
     "relations[0].to: no entity named \"ledger\"\n"},
    {HEAD "relations:\n  - {from: checkout, type: needs, to: orders-db}\n", "t.yaml:6",
     "relations[0].type: unknown relation type \"needs\" (expected depends_on, runs_on, part_of)"},
    {HEAD "relations:\n  - {from: checkout, type: depend_on, to: orders-db}\n", "t.yaml:6",
     "unknown relation type \"depend_on\" (did you mean depends_on?)"},
    {HEAD "relations:\n  - {from: checkout, type: runs_on}\n", "t.yaml:6",
     "relations[0].to: required"},
    {HEAD "relations:\n  - {from: checkout, type: runs_on, to: web-1.example.com}\n", "t.yaml:6",
     "relations[0].to: \"web-1.example.com\" is an alias of web-1; relations name entities by "
     "their name"},
    {HEAD "relations:\n  - {from: checkout, type: runs_on, to: web-1, via: lb}\n", "t.yaml:6",
     "relations[0].via: unknown key (known: from, type, to)"},
    {HEAD "relations:\n  - {from: checkout, type: depends_on, to: checkout}\n", "t.yaml:6",
     "relations[0]: \"checkout\" depends_on checkout: an entity cannot be related to itself"},
    {HEAD "  - {name: api, kind: service, depends_on: orders-db}\n"
          "relations:\n"
          "  - {from: api, type: depends_on, to: orders-db}\n",
     "t.yaml:7", "t.yaml:7: relations[0]: api depends_on orders-db is already written at line 5"},
    {HEAD "  - {name: vm, kind: host, runs_on: hv}\n"
          "  - {name: hv, kind: host, runs_on: [vm]}\n",
     "t.yaml:6", "t.yaml:6: entities[4].runs_on[0]: runs_on cycle: vm -> hv -> vm"},
    {HEAD "  - {name: api, kind: service, depends_on: 7}\n", "t.yaml:5",
     "entities[3].depends_on: expected an entity name or a list of them, got number"},
    {HEAD "  - {name: api, kind: service, depends_on: [orders-db, nope]}\n", "t.yaml:5",
     "entities[3].depends_on[1]: no entity named \"nope\""},
    {HEAD "relations: {from: a}\n", "t.yaml:5",
     "t.yaml:5: relations: expected a list of {from, type, to}, got object"},
    {HEAD "relations:\n  - checkout depends_on orders-db\n", "t.yaml:6",
     "relations[0]: expected a mapping {from, type, to}, got string"},
    /* windows */
    {HEAD "windows:\n  - {name: w, entities: [checkout], start: 2026-11-27, end: 2026-11-28}\n",
     "t.yaml:6", "t.yaml:6: windows[0].kind: required (freeze or maintenance)"},
    {HEAD "windows:\n  - {name: w, kind: freze, entities: [checkout], start: 2026-11-27, end: "
          "2026-11-28}\n",
     "t.yaml:6", "windows[0].kind: unknown window kind \"freze\" (did you mean freeze?)"},
    {HEAD "windows:\n  - name: w\n    kind: freeze\n    start: 2026-11-27\n    end: 2026-11-28\n",
     "t.yaml:6",
     "t.yaml:6: windows[0]: says nothing about what it covers: give entities, match or all: true"},
    {HEAD "windows:\n  - name: w\n    kind: freeze\n    all: true\n    start: 2026-11-27\n",
     "t.yaml:6", "windows[0]: needs start and end (a one-off window) or every (a weekly one)"},
    {HEAD "windows:\n  - name: w\n    kind: freeze\n    all: true\n"
          "    start: \"2026-11-27 00:00\"\n    end: 2026-11-28\n",
     "t.yaml:9", "t.yaml:9: windows[0].start: expected an RFC 3339 time such as"},
    {HEAD "windows:\n  - name: w\n    kind: freeze\n    all: true\n"
          "    start: 2026-11-27\n    end: 2026-13-01T00:00:00Z\n",
     "t.yaml:10", "windows[0].end: expected an RFC 3339 time"},
    {HEAD "windows:\n  - name: w\n    kind: freeze\n    all: true\n"
          "    start: 2026-11-27T00:00:00\n    end: 2026-11-28\n",
     "t.yaml:9", "windows[0].start: expected an RFC 3339 time"},
    {HEAD "windows:\n  - name: w\n    kind: freeze\n    all: true\n"
          "    start: 2026\n    end: 2026-11-28\n",
     "t.yaml:9", "windows[0].start: expected an RFC 3339 time"},
    {HEAD "windows:\n  - name: w\n    kind: freeze\n    all: true\n"
          "    start: 2026-11-28T00:00:00Z\n    end: 2026-11-27T23:59:59Z\n",
     "t.yaml:10",
     "t.yaml:10: windows[0].end: 2026-11-27T23:59:59.000Z is before start "
     "(2026-11-28T00:00:00.000Z)"},
    {HEAD "windows:\n  - name: w\n    kind: freeze\n    all: true\n"
          "    every: {days: [fri, fry], from: \"16:00\", to: \"23:59\"}\n",
     "t.yaml:9",
     "t.yaml:9: windows[0].every.days[1]: unknown day \"fry\" (expected mon, tue, wed, thu, "
     "fri, sat or sun)"},
    {HEAD "windows:\n  - name: w\n    kind: freeze\n    all: true\n"
          "    every: {days: [fri, friday], from: \"16:00\", to: \"23:59\"}\n",
     "t.yaml:9", "windows[0].every.days[1]: fri is listed twice"},
    {HEAD "windows:\n  - name: w\n    kind: freeze\n    all: true\n"
          "    every: {days: [], from: \"16:00\", to: \"23:59\"}\n",
     "t.yaml:9", "windows[0].every.days: expected a list of 1 to 7 days"},
    {HEAD "windows:\n  - name: w\n    kind: freeze\n    all: true\n"
          "    every: {days: [fri], from: \"16:60\", to: \"23:59\"}\n",
     "t.yaml:9", "windows[0].every.from: expected a time of day such as \"16:00\" (HH:MM, UTC)"},
    {HEAD "windows:\n  - name: w\n    kind: freeze\n    all: true\n"
          "    every: {days: [fri], from: 1600, to: \"23:59\"}\n",
     "t.yaml:9", "windows[0].every.from: expected a time of day"},
    {HEAD "windows:\n  - name: w\n    kind: freeze\n    all: true\n"
          "    every:\n      days: [fri]\n      from: \"16:00\"\n",
     "t.yaml:9", "t.yaml:9: windows[0].every.to: required"},
    {HEAD "windows:\n  - name: w\n    kind: freeze\n    all: true\n"
          "    every:\n      from: \"00:00\"\n      to: \"00:00\"\n",
     "t.yaml:11",
     "t.yaml:11: windows[0].every.to: equals from; for the whole day write from: \"00:00\", to: "
     "\"23:59\""},
    {HEAD "windows:\n  - name: w\n    kind: freeze\n    all: true\n"
          "    every: {day: [fri], from: \"16:00\", to: \"23:59\"}\n",
     "t.yaml:9", "windows[0].every.day: unknown key (did you mean days?)"},
    {HEAD "windows:\n  - name: w\n    kind: freeze\n    all: true\n    every: weekly\n", "t.yaml:9",
     "windows[0].every: expected a mapping {days, from, to}, got string"},
    {HEAD "windows:\n  - name: w\n    kind: freeze\n    match: {}\n"
          "    start: 2026-11-27\n    end: 2026-11-28\n",
     "t.yaml:8",
     "t.yaml:8: windows[0].match: an empty match would select every entity; write all: true"},
    {HEAD "windows:\n  - name: w\n    kind: freeze\n    match: {envv: production}\n"
          "    start: 2026-11-27\n    end: 2026-11-28\n",
     "t.yaml:8", "windows[0].match.envv: unknown key (did you mean env?)"},
    {HEAD "windows:\n  - name: w\n    kind: freeze\n    match: {kind: [service, vm]}\n"
          "    start: 2026-11-27\n    end: 2026-11-28\n",
     "t.yaml:8", "windows[0].match.kind[1]: unknown kind \"vm\""},
    {HEAD "windows:\n  - name: w\n    kind: freeze\n    match: {labels: {}}\n"
          "    start: 2026-11-27\n    end: 2026-11-28\n",
     "t.yaml:8", "windows[0].match.labels: expected a mapping of 1 to 64 labels"},
    {HEAD "windows:\n  - name: w\n    kind: freeze\n    match: {env: []}\n"
          "    start: 2026-11-27\n    end: 2026-11-28\n",
     "t.yaml:8", "windows[0].match.env: expected env or a non-empty list of them"},
    {HEAD "windows:\n  - name: w\n    kind: freeze\n    all: true\n    entities: [checkout]\n"
          "    start: 2026-11-27\n    end: 2026-11-28\n",
     "t.yaml:8", "windows[0].all: all: true covers every entity; entities and match add nothing"},
    {HEAD "windows:\n  - name: w\n    kind: freeze\n    all: \"yes\"\n"
          "    start: 2026-11-27\n    end: 2026-11-28\n",
     "t.yaml:8", "windows[0].all: expected true or false, got string"},
    {HEAD "windows:\n  - name: w\n    kind: freeze\n    entities: [checkout, chekout]\n"
          "    start: 2026-11-27\n    end: 2026-11-28\n",
     "t.yaml:8", "windows[0].entities[1]: no entity named \"chekout\" (did you mean checkout?)"},
    {HEAD "windows:\n  - name: w\n    kind: freeze\n    entities: [checkout, checkout]\n"
          "    start: 2026-11-27\n    end: 2026-11-28\n",
     "t.yaml:8", "windows[0].entities: an entity is listed twice"},
    {HEAD "windows:\n  - name: w\n    kind: freeze\n    entities: [web-1.example.com]\n"
          "    start: 2026-11-27\n    end: 2026-11-28\n",
     "t.yaml:8", "is an alias of web-1; windows name entities by their name"},
    {HEAD "windows:\n"
          "  - {name: w, kind: freeze, all: true, start: 2026-11-27, end: 2026-11-28}\n"
          "  - {name: w, kind: maintenance, all: true, start: 2026-11-29, end: 2026-11-30}\n",
     "t.yaml:7", "t.yaml:7: windows[1].name: duplicate window name w (first at line 6)"},
    {HEAD "windows:\n  - {name: w, kind: freeze, all: true, start: 2026-11-27, end: 2026-11-28, "
          "until: 2026-11-29}\n",
     "t.yaml:6", "windows[0].until: unknown key (known: name, kind, reason"},
    {HEAD "windows: {w: 1}\n", "t.yaml:5",
     "t.yaml:5: windows: expected a list of at most 10000 windows, got object"},
    /* the document */
    {"entites: []\n", "t.yaml:1", "t.yaml:1: entites: unknown key (did you mean entities?)"},
    {"- 1\n- 2\n", "t.yaml:1",
     "t.yaml:1: (top level): expected a mapping with entities, relations and windows, got array"},
    {"entities: [\n", "t.yaml:2", "YAML syntax error"},
    {"entities:\n  - &e {name: a, kind: host}\n", "t.yaml:2", "anchors"},
    {"entities:\n  - {name: a, kind: host}\n  - {name: a, kind: host}\n---\nx: 1\n", "t.yaml:4",
     "only one YAML document"},
};

static void test_broken_documents(void **state)
{
    for (size_t i = 0; i < FS_ARRAY_LEN(bad_docs); i++) {
        struct fs_graph *g = (struct fs_graph *)1;
        struct fs_err err;
        struct fs_buf diag = FS_BUF_INIT(0);
        memset(&err, 0, sizeof(err));
        int rc = fs_graph_load_buf(bad_docs[i].yaml, strlen(bad_docs[i].yaml), "t.yaml", &g, &diag,
                                   &err);
        if (rc != -FS_E_CONFIG || g)
            fail_msg("case %zu: rc %d, want invalid_config:\n%s", i, rc, bad_docs[i].yaml);
        if (strcmp(err.path, bad_docs[i].where) != 0 ||
            strncmp(err.msg, bad_docs[i].where, strlen(bad_docs[i].where)) != 0)
            fail_msg("case %zu: err.path \"%s\" msg \"%s\", want %s", i, err.path, err.msg,
                     bad_docs[i].where);
        if (!strstr(fs_buf_str(&diag), bad_docs[i].needle))
            fail_msg("case %zu: diagnostics lack \"%s\":\n%s", i, bad_docs[i].needle,
                     fs_buf_str(&diag));
        fs_buf_release(&diag);
    }
}

static void test_every_problem_is_collected(void **state)
{
    const char *yaml = "entities:\n"
                       "  - {name: a, kind: hots}\n"                  /* 2 */
                       "  - {name: b, kind: host, env: 3}\n"          /* 3 */
                       "  - {name: a, kind: host}\n"                  /* 4 */
                       "relations:\n"                                 /* 5 */
                       "  - {from: a, type: runs_on, to: c}\n"        /* 6 */
                       "windows:\n"                                   /* 7 */
                       "  - {name: w, kind: freeze, entities: [b]}\n" /* 8 */
                       "  - {name: v, kind: freeze, all: true, every: {from: \"1\", to: \"2\"}}\n";
    struct fs_graph *g = NULL;
    struct fs_err err;
    struct fs_buf diag = FS_BUF_INIT(0);
    assert_int_equal(fs_graph_load_buf(yaml, strlen(yaml), "t.yaml", &g, &diag, &err),
                     -FS_E_CONFIG);
    assert_string_equal(err.path, "t.yaml:2");
    static const char *const want[] = {
        "t.yaml:2: entities[0].kind: unknown kind \"hots\" (did you mean host?)\n",
        "t.yaml:3: entities[1].env: expected a string (quote it), got number\n",
        "t.yaml:4: entities[2].name: duplicate name \"a\" (first defined at line 2)\n",
        "t.yaml:6: relations[0].to: no entity named \"c\"\n",
        "t.yaml:8: windows[0]: needs start and end (a one-off window) or every (a weekly one)\n",
        "t.yaml:9: windows[1].every.from: expected a time of day",
        "t.yaml:9: windows[1].every.to: expected a time of day",
    };
    const char *text = fs_buf_str(&diag);
    for (size_t i = 0; i < FS_ARRAY_LEN(want); i++)
        if (!strstr(text, want[i]))
            fail_msg("diagnostics lack \"%s\":\n%s", want[i], text);
    size_t lines = 0;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, FS_ARRAY_LEN(want));
    fs_buf_release(&diag);
    /* without a diag buffer or an err, the result is the same */
    assert_int_equal(fs_graph_load_buf(yaml, strlen(yaml), "t.yaml", &g, NULL, NULL), -FS_E_CONFIG);
    assert_null(g);
}

static void test_resource_classes_against_a_policy(void **state)
{
    struct fs_graph *g = load_text("entities:\n"
                                   "  - {name: a, kind: host, resource_class: application}\n"
                                   "  - {name: b, kind: host, resource_class: gpu}\n"
                                   "  - {name: c, kind: storage}\n"
                                   "windows:\n"
                                   "  - {name: w, kind: freeze, start: 2026-01-01, end: "
                                   "2026-01-02,\n"
                                   "     match: {resource_class: [application, tape]}}\n");
    static const char *const known[] = {"application", "database", "storage", NULL};
    static const char *const fewer[] = {"application", "gpu", "tape", NULL};
    struct fs_err err;
    struct fs_buf diag = FS_BUF_INIT(0);
    assert_int_equal(fs_graph_check_resource_classes(g, known, &diag, &err), -FS_E_CONFIG);
    assert_string_equal(err.path, "t.yaml:3");
    assert_string_equal(
        fs_buf_str(&diag),
        "t.yaml:3: entities[1].resource_class: \"gpu\" is not a class the policy weighs (known: "
        "application, database, storage)\n"
        "t.yaml:7: windows[0].match.resource_class: \"tape\" is not a class the policy weighs "
        "(known: application, database, storage)\n");
    fs_buf_reset(&diag);
    assert_int_equal(fs_graph_check_resource_classes(g, fewer, &diag, NULL), -FS_E_CONFIG);
    assert_string_equal(fs_buf_str(&diag),
                        "t.yaml:4: entities[2].kind: the kind implies resource_class \"storage\", "
                        "which the policy does not weigh (known: application, gpu, tape)\n");
    fs_buf_release(&diag);
    fs_graph_free(g);
}

/* ---- a large estate ---------------------------------------------------------------------- */

#define BIG_HOSTS 100
#define BIG 10000

/* s<i> runs on h<i % 100>, depends on s<i / 2> (a binary tree) and s0 depends on the last
 * service (one big cycle through the tree's leftmost path). */
static void test_large_graph(void **state)
{
    struct fs_buf b = FS_BUF_INIT(0);
    fs_buf_puts(&b, "entities:\n");
    for (int i = 0; i < BIG_HOSTS; i++)
        fs_buf_printf(&b,
                      "  - {name: h%d, kind: host, env: production, aliases: [h%d.example.com, "
                      "\"10.1.%d.%d\"]}\n",
                      i, i, i / 250, i % 250);
    int nsvc = BIG - BIG_HOSTS;
    for (int i = 0; i < nsvc; i++)
        fs_buf_printf(&b,
                      "  - {name: s%d, kind: service, env: %s, owner: team-%d, runs_on: h%d, "
                      "labels: {shard: \"%d\"}}\n",
                      i, i % 2 ? "production" : "staging", i % 7, i % BIG_HOSTS, i % 16);
    fs_buf_puts(&b, "relations:\n");
    for (int i = 1; i < nsvc; i++)
        fs_buf_printf(&b, "  - {from: s%d, type: depends_on, to: s%d}\n", i, i / 2);
    fs_buf_printf(&b, "  - {from: s0, type: depends_on, to: s%d}\n", nsvc - 1);
    fs_buf_puts(&b, "windows:\n"
                    "  - {name: w, kind: freeze, match: {env: production, labels: {shard: \"3\"}},"
                    " every: {days: [mon], from: \"00:00\", to: \"23:59\"}}\n");

    int64_t t0 = fs_mono_ns();
    struct fs_graph *g = load_text(fs_buf_str(&b));
    int64_t t1 = fs_mono_ns();
    fs_buf_release(&b);
    assert_int_equal(fs_graph_size(g), BIG);
    print_message("      10,000 entities, %d relations: loaded in %.0f ms\n", 2 * nsvc,
                  (double)(t1 - t0) / 1e6);

    /* every name and alias is found */
    char name[64];
    for (int i = 0; i < BIG_HOSTS; i++) {
        snprintf(name, sizeof(name), "10.1.%d.%d:9100", i / 250, i % 250);
        const struct fs_entity *e = fs_graph_find(g, name);
        snprintf(name, sizeof(name), "h%d", i);
        assert_non_null(e);
        assert_string_equal(e->name, name);
    }
    for (int i = 0; i < nsvc; i++) {
        snprintf(name, sizeof(name), "s%d", i);
        assert_ptr_equal(fs_graph_find(g, name), fs_graph_entity_at(g, (size_t)(BIG_HOSTS + i)));
    }

    /* reference: the same closure by repeated sweeps over a plain edge list */
    static unsigned char reach[BIG];
    static const struct fs_entity *out[BIG];
    const int probes[] = {0, 1, 2, 3, 77, 4999, nsvc - 1, -1, -50, -99};
    for (size_t p = 0; p < FS_ARRAY_LEN(probes); p++) {
        int start = probes[p] >= 0 ? BIG_HOSTS + probes[p] : -probes[p] - 1; /* <0: a host */
        memset(reach, 0, sizeof(reach));
        reach[start] = 1;
        for (bool changed = true; changed;) {
            changed = false;
            for (int i = 0; i < nsvc; i++) {
                int s = BIG_HOSTS + i;
                if (reach[s])
                    continue;
                int on = i % BIG_HOSTS, dep = BIG_HOSTS + (i ? i / 2 : nsvc - 1);
                if (reach[on] || reach[dep]) {
                    reach[s] = 1;
                    changed = true;
                }
            }
        }
        size_t want = 0;
        for (int i = 0; i < BIG; i++)
            want += reach[i] && i != start;
        size_t n;
        assert_int_equal(fs_graph_dependents(g, fs_graph_entity_at(g, (size_t)start), out, BIG, &n),
                         0);
        if (n != want)
            fail_msg("dependents of %s: %zu, want %zu", fs_graph_entity_at(g, (size_t)start)->name,
                     n, want);
        for (size_t i = 0; i < n; i++) {
            size_t idx = 0;
            while (fs_graph_entity_at(g, idx) != out[i])
                idx++;
            if (!reach[idx] || (int)idx == start)
                fail_msg("%s is not a dependent", out[i]->name);
            reach[idx] = 0; /* each once */
        }
    }

    /* the selector window: production, shard 3, Mondays */
    int64_t monday = T("2026-11-23T12:00:00Z"), tuesday = T("2026-11-24T12:00:00Z");
    size_t frozen = 0;
    for (size_t i = 0; i < fs_graph_size(g); i++)
        frozen += fs_graph_freeze_at(g, fs_graph_entity_at(g, i), monday) != NULL;
    size_t want = 0;
    for (int i = 0; i < nsvc; i++)
        want += i % 2 == 1 && i % 16 == 3;
    assert_int_equal(frozen, want);
    assert_null(fs_graph_freeze_at(g, entity(g, "s3"), tuesday));
    json_t *j = fs_graph_entity_json(g, entity(g, "h0"), monday);
    assert_non_null(j);
    assert_true(json_is_true(member(j, "dependents.truncated")));
    json_decref(j);
    fs_graph_free(g);
}

/* ---- allocation failures and threads ----------------------------------------------------- */

/* Load the windows fixture, ask everything, and describe the answers. */
static int scenario(char **out)
{
    struct fs_graph *g = NULL;
    struct fs_buf b = FS_BUF_INIT(0);
    struct fs_buf big = FS_BUF_INIT(0);
    int rc = fs_graph_load_buf(windows_yaml, strlen(windows_yaml), "t.yaml", &g, NULL, NULL);
    if (rc < 0)
        return rc;
    /* a wide radius: the walk leaves its inline buffers */
    struct fs_graph *g2 = NULL;
    rc = fs_buf_puts(&big, "entities:\n  - {name: hub, kind: database}\n");
    for (int i = 0; rc == 0 && i < 600; i++)
        rc = fs_buf_printf(&big, "  - {name: s%d, kind: service, depends_on: %s}\n", i,
                           i < 300 ? "hub" : "s0");
    if (rc < 0 ||
        (rc = fs_graph_load_buf(fs_buf_str(&big), big.len, "big.yaml", &g2, NULL, NULL)) < 0)
        goto out;
    size_t n;
    if ((rc = fs_graph_dependents(g2, fs_graph_find(g2, "hub"), NULL, 0, &n)) < 0)
        goto out;
    if ((rc = fs_buf_printf(&b, "%s %s %zu\n", fs_graph_version(g), fs_graph_version(g2), n)) < 0)
        goto out;
    json_t *j = fs_graph_entity_json(g2, fs_graph_find(g2, "hub"), 0);
    if (!j) {
        rc = -FS_E_NOMEM;
        goto out;
    }
    json_decref(j);
    for (size_t i = 0; i < fs_graph_size(g); i++) {
        const struct fs_window *w =
            fs_graph_freeze_at(g, fs_graph_entity_at(g, i), T("2026-01-05T12:00:00Z"));
        if ((rc = fs_buf_printf(&b, "%s ", w ? w->name : "-")) < 0)
            goto out;
    }
    if (!(*out = fs_buf_detach(&b, NULL)))
        rc = -FS_E_NOMEM;
out:
    fs_graph_free(g);
    fs_graph_free(g2);
    fs_buf_release(&b);
    fs_buf_release(&big);
    return rc;
}

static void test_allocation_failures(void **state)
{
    char *want = NULL;
    assert_int_equal(scenario(&want), 0);
    int n, failed = 0;
    for (n = 1; n < 100000; n++) {
        char spec[32], *got = NULL;
        snprintf(spec, sizeof(spec), "alloc@%dx1", n);
        assert_int_equal(fs_fault_arm(spec), 0);
        int rc = scenario(&got);
        fs_fault_arm(NULL);
        if (rc == 0) {
            if (!got || strcmp(got, want) != 0)
                fail_msg("allocation %d failed, and the result is different", n);
            free(got);
            break;
        }
        if (rc != -FS_E_NOMEM)
            fail_msg("allocation %d failed: rc %d, want out_of_memory", n, rc);
        failed++;
    }
    assert_int_equal(failed, n - 1);
    assert_true(failed > 0);
    free(want);
}

struct shared {
    const struct fs_graph *g;
    int bad;
};

static void *reader(void *arg)
{
    struct shared *s = arg;
    const struct fs_entity *out[8];
    for (int k = 0; k < 300; k++) {
        size_t n;
        if (fs_graph_dependents(s->g, fs_graph_find(s->g, "orders-db"), out, 8, &n) < 0 || n != 3)
            s->bad++;
        const struct fs_window *w =
            fs_graph_freeze_at(s->g, fs_graph_find(s->g, "web-1:9100"), T("2026-11-28T00:00:00Z"));
        if (!w || strcmp(w->name, "weekend-freeze") != 0)
            s->bad++;
        json_t *j = fs_graph_entity_json(s->g, fs_graph_find(s->g, "checkout"), k * 3600000LL);
        if (!j)
            s->bad++;
        json_decref(j);
    }
    return NULL;
}

static void test_shared_by_threads(void **state)
{
    struct fs_graph *g = NULL;
    assert_int_equal(fs_graph_load("examples/graph.yaml", &g, NULL, NULL), 0);
    pthread_t t[4];
    struct shared s[4];
    for (int i = 0; i < 4; i++) {
        s[i] = (struct shared){g, 0};
        assert_int_equal(pthread_create(&t[i], NULL, reader, &s[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(s[i].bad, 0);
    }
    fs_graph_free(g);
}

static void test_names(void **state)
{
    assert_string_equal(fs_entity_kind_name(FS_KIND_QUEUE), "queue");
    assert_string_equal(fs_entity_kind_name(FS_KIND__COUNT), "?");
    assert_string_equal(fs_relation_type_name(FS_REL_PART_OF), "part_of");
    assert_string_equal(fs_relation_type_name(FS_REL__COUNT), "?");
    assert_string_equal(fs_window_kind_name(FS_WINDOW_MAINTENANCE), "maintenance");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example_file),
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_dependents),
        cmocka_unit_test(test_dependents_order_and_limits),
        cmocka_unit_test(test_freeze_windows),
        cmocka_unit_test(test_entity_json),
        cmocka_unit_test(test_dependents_json_truncated),
        cmocka_unit_test(test_empty_and_version),
        cmocka_unit_test(test_broken_documents),
        cmocka_unit_test(test_every_problem_is_collected),
        cmocka_unit_test(test_resource_classes_against_a_policy),
        cmocka_unit_test(test_large_graph),
        cmocka_unit_test(test_allocation_failures),
        cmocka_unit_test(test_shared_by_threads),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
