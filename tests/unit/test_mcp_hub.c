/* Unit tests for the MCP hub's pure rules (src/mcp/hub.c) and the registry's side of them
 * (src/tools/registry.c): which remote tools a server's trust makes read-only, when a pin makes
 * a listed definition usable, the SERVER.TOOL registry names (and the ones refused), the
 * action → tool mapping, and a run-time tool disabled, redefined and enabled in the registry. */
#include "unit.h"

#include "mcp/hub.h"
#include "tools/registry.h"

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);
    if (!v)
        fail_msg("bad test JSON %s: %s", text, e.text);
    return v;
}

static bool trusted(const char *server, const char *tool)
{
    json_t *s = J(server), *t = J(tool);
    bool r = fs_mcp_hub_trusted(s, t);
    json_decref(s);
    json_decref(t);
    return r;
}

static void test_trust(void **state)
{
    const char *ro = "{\"name\":\"q\",\"annotations\":{\"readOnlyHint\":true}}";
    const char *rw = "{\"name\":\"w\",\"annotations\":{\"readOnlyHint\":false}}";
    const char *bare = "{\"name\":\"q\"}";
    /* none: never, whatever the server hints or lists */
    assert_false(trusted("{\"trust\":\"none\",\"read_only_tools\":[\"q\"]}", ro));
    /* read_only_hints: the server's readOnlyHint, and only true */
    assert_true(trusted("{\"trust\":\"read_only_hints\"}", ro));
    assert_false(trusted("{\"trust\":\"read_only_hints\"}", rw));
    assert_false(trusted("{\"trust\":\"read_only_hints\"}", bare));
    /* listed: read_only_tools alone, the hints ignored both ways */
    assert_true(trusted("{\"trust\":\"listed\",\"read_only_tools\":[\"a\",\"q\"]}", bare));
    assert_false(trusted("{\"trust\":\"listed\",\"read_only_tools\":[\"a\"]}", ro));
    assert_true(trusted("{\"trust\":\"listed\",\"read_only_tools\":[\"w\"]}", rw));
    /* no trust field, or a tool without a name */
    assert_false(trusted("{}", ro));
    assert_false(trusted("{\"trust\":\"listed\",\"read_only_tools\":[\"q\"]}", "{}"));
}

static void test_pin_usable(void **state)
{
    const char *a = "aaaa", *b = "bbbb";
    json_t *ok = J("{\"status\":\"approved\",\"sha256\":\"aaaa\",\"approved_sha256\":\"aaaa\"}");
    json_t *changed =
        J("{\"status\":\"changed\",\"sha256\":\"bbbb\",\"approved_sha256\":\"aaaa\"}");
    json_t *fresh = J("{\"status\":\"new\",\"sha256\":\"aaaa\",\"approved_sha256\":null}");
    assert_true(fs_mcp_hub_pin_usable(ok, a));
    /* the server lists another definition than the approved one */
    assert_false(fs_mcp_hub_pin_usable(ok, b));
    assert_false(fs_mcp_hub_pin_usable(changed, b));
    assert_false(fs_mcp_hub_pin_usable(changed, a));
    assert_false(fs_mcp_hub_pin_usable(fresh, a));
    assert_false(fs_mcp_hub_pin_usable(NULL, a));
    assert_false(fs_mcp_hub_pin_usable(ok, NULL));
    json_decref(ok);
    json_decref(changed);
    json_decref(fresh);
}

static void test_names(void **state)
{
    char name[FS_TOOL_MAX_NAME + 1];
    struct fs_err err;
    assert_int_equal(fs_mcp_hub_tool_name("prom", "query_range", name, &err), 0);
    assert_string_equal(name, "prom.query_range");
    assert_int_equal(fs_mcp_hub_tool_name("pager", "v1.create-page", name, &err), 0);
    assert_string_equal(name, "pager.v1.create-page");
    /* a server may not pass for forestall's own tool families or its actions */
    static const char *const reserved[] = {"host",       "prometheus", "loki",
                                           "kubernetes", "context",    "action"};
    for (size_t i = 0; i < FS_ARRAY_LEN(reserved); i++) {
        assert_int_equal(fs_mcp_hub_tool_name(reserved[i], "x", name, &err), -FS_E_INVALID);
        assert_string_equal(name, "");
        assert_non_null(strstr(err.msg, "named like forestall's own"));
    }
    /* a prefix of a family is not the family */
    assert_int_equal(fs_mcp_hub_tool_name("hos", "x", name, &err), 0);
    /* longer than the registry takes, or not its characters */
    char tool[FS_TOOL_MAX_NAME + 1];
    memset(tool, 'a', FS_TOOL_MAX_NAME - 5);
    tool[FS_TOOL_MAX_NAME - 5] = '\0';
    assert_int_equal(fs_mcp_hub_tool_name("prom", tool, name, &err), 0); /* 4 + 1 + 123 = 128 */
    assert_int_equal(fs_mcp_hub_tool_name("prom1", tool, name, &err), -FS_E_INVALID);
    assert_non_null(strstr(err.msg, "longer than 128"));
    assert_int_equal(fs_mcp_hub_tool_name("prom", "bad name", name, &err), -FS_E_INVALID);
    assert_int_equal(fs_mcp_hub_tool_name("prom", "", name, &err), -FS_E_INVALID);
}

static void test_mapping(void **state)
{
    json_t *s = J("{\"tool_mappings\":{\"page_oncall\":\"send_page\",\"empty\":\"\"}}");
    assert_string_equal(fs_mcp_hub_mapped_tool(s, "page_oncall", "create_page"), "send_page");
    assert_string_equal(fs_mcp_hub_mapped_tool(s, "other", "create_page"), "create_page");
    assert_string_equal(fs_mcp_hub_mapped_tool(s, "empty", "create_page"), "create_page");
    json_t *none = J("{}");
    assert_string_equal(fs_mcp_hub_mapped_tool(none, "page_oncall", "t"), "t");
    json_decref(s);
    json_decref(none);
}

static int calls;

static int echo(void *closure, const json_t *args, const struct fs_tool_ctx *ctx,
                struct fs_tool_result *out, struct fs_err *err)
{
    calls++;
    out->text = fs_strdup("ran");
    return out->text ? 0 : -FS_E_NOMEM;
}

static bool listed(const struct fs_registry *r, const char *name, const char **desc)
{
    json_t *l = fs_tools_list_json(r);
    size_t i;
    json_t *t;
    bool found = false;
    json_array_foreach(json_object_get(l, "tools"), i, t)
    {
        if (fs_streq(json_string_value(json_object_get(t, "name")), name)) {
            found = true;
            if (desc) {
                static char d[64];
                snprintf(d, sizeof(d), "%s", json_string_value(json_object_get(t, "description")));
                *desc = d;
            }
        }
    }
    json_decref(l);
    return found;
}

static void test_registry_enable_disable_update(void **state)
{
    struct fs_registry *reg;
    struct fs_err err;
    assert_int_equal(fs_registry_new(&reg, &err), 0);
    struct fs_tool_annotations ann = {.read_only = true};
    const char *schema = "{\"type\":\"object\",\"properties\":{\"q\":{\"type\":\"string\"}}}";
    assert_int_equal(
        fs_registry_add(reg, "prom.query", NULL, "Old.", schema, &ann, echo, NULL, &err), 0);
    struct fs_tool_result r = {0};
    assert_int_equal(fs_tools_call(reg, "prom.query", NULL, NULL, &r, &err), 0);
    assert_false(r.is_error);
    fs_tool_result_release(&r);
    assert_int_equal(calls, 1);

    /* disabled: gone from the listing and the annotations; a call says so without running */
    assert_int_equal(fs_registry_set_enabled(reg, "prom.query", false, &err), 0);
    assert_false(listed(reg, "prom.query", NULL));
    assert_false(fs_tools_annotations(reg, "prom.query", NULL));
    assert_int_equal(fs_tools_call(reg, "prom.query", NULL, NULL, &r, &err), 0);
    assert_true(r.is_error);
    assert_non_null(strstr(r.text, "disabled:"));
    assert_non_null(strstr(r.text, "forestall mcp tools prom --approve query"));
    fs_tool_result_release(&r);
    assert_int_equal(calls, 1);

    /* redefined while disabled: stays disabled until enabled, then has the new definition */
    assert_int_equal(fs_registry_update(reg, "prom.query", NULL, "New.", schema, &ann, &err), 0);
    assert_false(listed(reg, "prom.query", NULL));
    assert_int_equal(fs_registry_set_enabled(reg, "prom.query", true, &err), 0);
    const char *desc = NULL;
    assert_true(listed(reg, "prom.query", &desc));
    assert_string_equal(desc, "New.");
    assert_true(fs_tools_annotations(reg, "prom.query", NULL));
    json_t *args = J("{\"q\":\"up\"}");
    assert_int_equal(fs_tools_call(reg, "prom.query", args, NULL, &r, &err), 0);
    assert_string_equal(r.text, "ran");
    fs_tool_result_release(&r);
    assert_int_equal(calls, 2);
    /* the new schema is the one checked */
    assert_int_equal(fs_registry_update(reg, "prom.query", NULL, "Newer.",
                                        "{\"type\":\"object\",\"additionalProperties\":false}",
                                        &ann, &err),
                     0);
    assert_int_equal(fs_tools_call(reg, "prom.query", args, NULL, &r, &err), -FS_E_INVALID_PAYLOAD);
    json_decref(args);

    /* built-ins are not redefined; unknown names are not found */
    assert_int_equal(fs_registry_update(reg, "host.load", NULL, "x", schema, &ann, &err),
                     -FS_E_INVALID);
    assert_int_equal(fs_registry_set_enabled(reg, "nope.x", false, &err), -FS_E_NOT_FOUND);
    assert_int_equal(fs_registry_update(reg, "nope.x", NULL, "x", schema, &ann, &err),
                     -FS_E_NOT_FOUND);
    fs_registry_free(reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trust),
        cmocka_unit_test(test_pin_usable),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_mapping),
        cmocka_unit_test(test_registry_enable_disable_update),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
