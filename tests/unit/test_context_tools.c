/* Unit tests for the context tools (tools/context_tools.c) through the registry's one call path:
 * context.entity against a small knowledge graph (kind, env, owner, what runs on it, its
 * dependents, an active freeze) with the store's history under its name and aliases, an unknown
 * entity and a missing graph said plainly (not errors), and context.history (instance labels,
 * limits, newest first, one row per incident). */
#include "unit.h"

#include <unistd.h>

#include "context/graph.h"
#include "core/buf.h"
#include "core/time.h"
#include "store/store.h"
#include "tools/registry.h"

#define T0 1795255200000LL /* 2026-11-21T10:00:00Z */

static const char graph_yaml[] =
    "entities:\n"
    "  - name: web-1\n"
    "    kind: host\n"
    "    aliases: [web-1.prod.example.com, \"10.0.4.17\"]\n"
    "    env: production\n"
    "    owner: team-web\n"
    "    classification: internal\n"
    "    resource_class: application\n"
    "  - {name: checkout, kind: service, env: production, owner: team-shop, runs_on: web-1}\n"
    "  - {name: storefront, kind: service, env: production, depends_on: checkout}\n"
    "  - {name: orders-db, kind: database, env: production}\n"
    "relations:\n"
    "  - {from: web-1, type: depends_on, to: orders-db}\n"
    "windows:\n"
    "  - name: change-freeze\n"
    "    kind: freeze\n"
    "    entities: [web-1]\n"
    "    start: 2020-01-01T00:00:00Z\n"
    "    end: 2100-01-01T00:00:00Z\n";

static char dir[] = "/tmp/fs-context-tools-XXXXXX";
static struct fs_graph *graph;
static struct fs_store *store;
static struct fs_registry *reg;

static int64_t add_incident(const char *title)
{
    struct fs_incident i = {.group_key = (char *)title,
                            .title = (char *)title,
                            .labels = "{}",
                            .created_at = T0,
                            .updated_at = T0,
                            .resolved_at = FS_TIME_UNSET};
    fs_strlcpy(i.status, "open", sizeof(i.status));
    fs_strlcpy(i.severity, "warning", sizeof(i.severity));
    struct fs_err err;
    assert_int_equal(fs_store_incident_insert(store, &i, &err), 0);
    return i.id;
}

static void add_history(const char *entity, int64_t inc, int64_t ts, const char *outcome,
                        const char *action)
{
    struct fs_entity_history_row r = {.entity = entity,
                                      .incident_id = inc,
                                      .ts = ts,
                                      .outcome = outcome,
                                      .action = action,
                                      .root_cause = "journal_bloat",
                                      .summary = "journal filled /"};
    struct fs_err err;
    assert_int_equal(fs_store_entity_history_insert(store, &r, &err), 0);
}

static int setup_group(void **state)
{
    struct fs_err err;
    struct fs_buf diag = FS_BUF_INIT(4096);
    if (!mkdtemp(dir))
        return -1;
    if (fs_graph_load_buf(graph_yaml, strlen(graph_yaml), "g.yaml", &graph, &diag, &err) < 0) {
        fprintf(stderr, "%s", fs_buf_str(&diag));
        return -1;
    }
    fs_buf_release(&diag);
    char path[200];
    snprintf(path, sizeof(path), "%s/t.db", dir);
    struct fs_store_options o = {.driver = "sqlite", .path = path, .busy_timeout_ms = 1000};
    if (fs_store_open(&o, &store, &err) < 0 || fs_registry_new(&reg, &err) < 0)
        return -1;
    if (fs_store_begin(store, &err) < 0)
        return -1;
    int64_t a = add_incident("a"), b = add_incident("b"), c = add_incident("c"),
            d = add_incident("d");
    add_history("web-1", a, T0 + 1000, "resolved", "journal_vacuum");
    add_history("10.0.4.17", b, T0 + 5000, "rolled_back", "restart_service"); /* an alias */
    add_history("web-1", b, T0 + 5000, "rolled_back", "restart_service");     /* same incident */
    add_history("web-2", c, T0 + 9000, "escalated", NULL);                    /* someone else */
    add_history("unknown-host", d, T0 + 2000, "no_action", NULL);
    return fs_store_commit(store, &err) < 0 ? -1 : 0;
}

static int teardown_group(void **state)
{
    fs_registry_free(reg);
    fs_store_close(store);
    fs_graph_free(graph);
    return 0;
}

static void call(const char *tool, const char *args_json, const struct fs_graph *g,
                 struct fs_tool_result *out)
{
    struct fs_tool_ctx ctx = {.graph = g, .store = store, .now_ms = T0};
    json_t *args = json_loads(args_json, 0, NULL);
    assert_non_null(args);
    struct fs_err err;
    int rc = fs_tools_call(reg, tool, args, &ctx, out, &err);
    json_decref(args);
    if (rc < 0)
        fail_msg("%s: %s", tool, err.msg);
    assert_false(out->is_error);
}

static void has(const char *text, const char *needle)
{
    if (!strstr(text, needle))
        fail_msg("missing \"%s\" in:\n%s", needle, text);
}

static const char *incident_at(const json_t *hist, size_t i)
{
    return json_string_value(json_object_get(json_array_get(hist, i), "incidentId"));
}

static void test_entity_known(void **state)
{
    struct fs_tool_result r = {0};
    call("context.entity", "{\"name\":\"10.0.4.17:9100\"}", graph, &r);
    const json_t *s = r.structured;
    assert_true(json_is_true(json_object_get(s, "found")));
    const json_t *e = json_object_get(s, "entity");
    assert_string_equal(json_string_value(json_object_get(e, "name")), "web-1");
    assert_string_equal(json_string_value(json_object_get(e, "kind")), "host");
    assert_string_equal(json_string_value(json_object_get(e, "owner")), "team-web");
    assert_string_equal(json_string_value(json_object_get(e, "change_freeze")), "change-freeze");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(e, "dependents"), "count")),
                     2);
    const json_t *runs = json_object_get(s, "runs_here");
    assert_int_equal(json_array_size(runs), 1);
    assert_string_equal(json_string_value(json_array_get(runs, 0)), "checkout");
    assert_string_equal(json_string_value(json_array_get(json_object_get(s, "depends_on"), 0)),
                        "orders-db");
    /* history under the name and the alias, one row per incident, newest first */
    const json_t *h = json_object_get(s, "history");
    assert_int_equal(json_array_size(h), 2);
    assert_string_equal(incident_at(h, 0), "inc-2");
    assert_string_equal(incident_at(h, 1), "inc-1");
    has(r.text, "web-1: host, env production, owner team-web, classification internal, "
                "resource class application (g.yaml:");
    has(r.text, "aliases: web-1.prod.example.com, 10.0.4.17\n");
    has(r.text, "runs here: checkout\n");
    has(r.text, "depends on: orders-db\n");
    has(r.text, "dependents (blast radius): 2 — checkout, storefront\n");
    has(r.text, "change freeze: change-freeze is active now");
    has(r.text, "history (last 2 outcomes, newest first):\n- inc-2 at 2026-11-21T10:00:05.000Z: "
                "rolled_back; action restart_service; root cause journal_bloat — journal filled "
                "/\n- inc-1");
    assert_null(strstr(r.text, "inc-3"));
    fs_tool_result_release(&r);

    /* history: 0 leaves it out */
    call("context.entity", "{\"name\":\"checkout\",\"history\":0}", graph, &r);
    has(r.text, "runs on: web-1\n");
    has(r.text, "change freeze: none active\n");
    assert_null(strstr(r.text, "history"));
    assert_null(json_object_get(r.structured, "history"));
    fs_tool_result_release(&r);
}

static void test_entity_unknown(void **state)
{
    struct fs_tool_result r = {0};
    call("context.entity", "{\"name\":\"unknown-host\"}", graph, &r);
    assert_false(json_is_true(json_object_get(r.structured, "found")));
    assert_true(json_is_null(json_object_get(r.structured, "entity")));
    has(r.text, "no knowledge-graph entity named unknown-host; history (last 1 outcome, newest "
                "first):\n- inc-4 at");
    fs_tool_result_release(&r);

    call("context.entity", "{\"name\":\"nothing-known\"}", graph, &r);
    assert_string_equal(r.text, "no knowledge-graph entity named nothing-known; history: no "
                                "earlier incident outcome is recorded\n");
    fs_tool_result_release(&r);

    /* no graph at all, and no store */
    struct fs_tool_ctx ctx = {0};
    json_t *args = json_pack("{s:s}", "name", "web-1");
    struct fs_err err;
    assert_int_equal(fs_tools_call(reg, "context.entity", args, &ctx, &r, &err), 0);
    assert_false(r.is_error);
    assert_string_equal(r.text, "no knowledge graph is available here, so nothing is known about "
                                "web-1; history: not available here (no incident store)\n");
    fs_tool_result_release(&r);
    json_decref(args);

    /* arguments are checked against the schema */
    args = json_pack("{s:s}", "name", "");
    assert_int_equal(fs_tools_call(reg, "context.entity", args, &ctx, &r, &err),
                     -FS_E_INVALID_PAYLOAD);
    json_decref(args);
    args = json_pack("{s:s,s:i}", "entity", "web-1", "limit", 0);
    assert_int_equal(fs_tools_call(reg, "context.history", args, &ctx, &r, &err),
                     -FS_E_INVALID_PAYLOAD);
    json_decref(args);
}

static void test_history(void **state)
{
    struct fs_tool_result r = {0};
    call("context.history", "{\"entity\":\"web-1.prod.example.com:9100\"}", graph, &r);
    assert_string_equal(json_string_value(json_object_get(r.structured, "graphEntity")), "web-1");
    const json_t *h = json_object_get(r.structured, "history");
    assert_int_equal(json_array_size(h), 2);
    assert_string_equal(incident_at(h, 0), "inc-2");
    has(r.text, "web-1.prod.example.com:9100 is web-1 in the knowledge graph; history (last 2");
    fs_tool_result_release(&r);

    call("context.history", "{\"entity\":\"web-1\",\"limit\":1}", graph, &r);
    h = json_object_get(r.structured, "history");
    assert_int_equal(json_array_size(h), 1);
    assert_string_equal(incident_at(h, 0), "inc-2");
    fs_tool_result_release(&r);

    /* without the graph only the exact name (and the instance's host part) count */
    call("context.history", "{\"entity\":\"web-1:9100\"}", NULL, &r);
    h = json_object_get(r.structured, "history");
    assert_int_equal(json_array_size(h), 2);
    has(r.text, "no knowledge graph is available here");
    fs_tool_result_release(&r);
    call("context.history", "{\"entity\":\"10.0.4.17\"}", NULL, &r);
    h = json_object_get(r.structured, "history");
    assert_int_equal(json_array_size(h), 1);
    assert_string_equal(incident_at(h, 0), "inc-2");
    fs_tool_result_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entity_known),
        cmocka_unit_test(test_entity_unknown),
        cmocka_unit_test(test_history),
    };
    return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
