/* Unit tests for tools/schema: every keyword of the subset accepted and enforced, the error path
 * and message of each kind of violation, and every way a schema is refused (unknown keyword,
 * malformed keyword, unanchored or broken pattern, keyword without its type, depth). */
#include "unit.h"

#include "core/json.h"
#include "tools/schema.h"

static json_t *J(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &je);
    if (!j)
        fail_msg("bad test JSON %s: %s", text, je.text);
    return j;
}

static struct fs_schema *compile_ok(const char *text)
{
    json_t *j = J(text);
    struct fs_schema *s = NULL;
    struct fs_err e = {0};
    int rc = fs_schema_compile(j, &s, &e);
    json_decref(j);
    if (rc != 0)
        fail_msg("schema %s refused: %s", text, e.msg);
    return s;
}

#define FULL                                                                                       \
    "{\"type\":\"object\",\"title\":\"t\",\"description\":\"d\",\"$schema\":\"x\","                \
    "\"additionalProperties\":false,\"required\":[\"path\"],\"properties\":{"                      \
    "\"path\":{\"type\":\"string\",\"minLength\":2,\"maxLength\":8,\"pattern\":\"^/[a-z/]*$\"},"   \
    "\"n\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":10,\"default\":3},"                     \
    "\"ratio\":{\"type\":\"number\",\"exclusiveMinimum\":0,\"exclusiveMaximum\":1},"               \
    "\"mode\":{\"type\":\"string\",\"enum\":[\"a\",\"b\"]},"                                       \
    "\"on\":{\"type\":\"boolean\"},"                                                               \
    "\"v\":{\"type\":\"integer\",\"const\":2},"                                                    \
    "\"nothing\":{\"type\":\"null\"},"                                                             \
    "\"tags\":{\"type\":\"array\",\"minItems\":1,\"maxItems\":3,\"uniqueItems\":true,"             \
    "\"items\":{\"type\":\"string\",\"maxLength\":3}},"                                            \
    "\"sub\":{\"type\":\"object\",\"properties\":{\"k\":{\"type\":\"integer\"}},"                  \
    "\"required\":[\"k\"]}}}"

static void test_validate_table(void **state)
{
    struct fs_schema *s = compile_ok(FULL);
    assert_string_equal(fs_schema_type(s), "object");
    const struct {
        const char *value;
        int rc;
        const char *path, *msg;
    } cases[] = {
        {"{\"path\":\"/ab\"}", 0, NULL, NULL},
        {"{\"path\":\"/ab\",\"n\":1,\"ratio\":0.5,\"mode\":\"b\",\"on\":true,\"v\":2,"
         "\"nothing\":null,\"tags\":[\"x\",\"y\"],\"sub\":{\"k\":1,\"extra\":1}}",
         0, NULL, NULL},
        {"{\"path\":\"/ab\",\"n\":3.0}", 0, NULL, NULL}, /* 3.0 is an integer */
        {"[]", -FS_E_INVALID_PAYLOAD, "", "arguments: expected object, got array"},
        {"{}", -FS_E_INVALID_PAYLOAD, "path", "path: required"},
        {"{\"path\":\"/ab\",\"x\":1}", -FS_E_INVALID_PAYLOAD, "x", "x: unknown argument"},
        {"{\"path\":5}", -FS_E_INVALID_PAYLOAD, "path", "path: expected string, got number"},
        {"{\"path\":\"/\"}", -FS_E_INVALID_PAYLOAD, "path", "path: shorter than 2"},
        {"{\"path\":\"/abcdefghij\"}", -FS_E_INVALID_PAYLOAD, "path", "path: longer than 8"},
        {"{\"path\":\"/AB\"}", -FS_E_INVALID_PAYLOAD, "path", "path: must match ^/[a-z/]*$"},
        {"{\"path\":\"/ab\\n\"}", -FS_E_INVALID_PAYLOAD, "path", "path: must match"},
        {"{\"path\":\"/ab\",\"n\":0}", -FS_E_INVALID_PAYLOAD, "n", "n: must be at least 1"},
        {"{\"path\":\"/ab\",\"n\":11}", -FS_E_INVALID_PAYLOAD, "n", "n: must be at most 10"},
        {"{\"path\":\"/ab\",\"n\":1.5}", -FS_E_INVALID_PAYLOAD, "n", "n: expected integer"},
        {"{\"path\":\"/ab\",\"n\":\"3\"}", -FS_E_INVALID_PAYLOAD, "n", "n: expected integer"},
        {"{\"path\":\"/ab\",\"ratio\":0}", -FS_E_INVALID_PAYLOAD, "ratio",
         "ratio: must be greater than 0"},
        {"{\"path\":\"/ab\",\"ratio\":1}", -FS_E_INVALID_PAYLOAD, "ratio",
         "ratio: must be less than 1"},
        {"{\"path\":\"/ab\",\"mode\":\"c\"}", -FS_E_INVALID_PAYLOAD, "mode",
         "mode: must be one of \"a\", \"b\""},
        {"{\"path\":\"/ab\",\"on\":1}", -FS_E_INVALID_PAYLOAD, "on", "on: expected boolean"},
        {"{\"path\":\"/ab\",\"v\":3}", -FS_E_INVALID_PAYLOAD, "v", "v: must be 2"},
        {"{\"path\":\"/ab\",\"nothing\":0}", -FS_E_INVALID_PAYLOAD, "nothing",
         "nothing: expected null"},
        {"{\"path\":\"/ab\",\"tags\":[]}", -FS_E_INVALID_PAYLOAD, "tags", "tags: at least 1 items"},
        {"{\"path\":\"/ab\",\"tags\":[\"a\",\"b\",\"c\",\"d\"]}", -FS_E_INVALID_PAYLOAD, "tags",
         "tags: at most 3 items"},
        {"{\"path\":\"/ab\",\"tags\":[\"a\",7]}", -FS_E_INVALID_PAYLOAD, "tags[1]",
         "tags[1]: expected string, got number"},
        {"{\"path\":\"/ab\",\"tags\":[\"a\",\"abcd\"]}", -FS_E_INVALID_PAYLOAD, "tags[1]",
         "tags[1]: longer than 3"},
        {"{\"path\":\"/ab\",\"tags\":[\"a\",\"a\"]}", -FS_E_INVALID_PAYLOAD, "tags[1]",
         "tags[1]: duplicate of item 0"},
        {"{\"path\":\"/ab\",\"sub\":{}}", -FS_E_INVALID_PAYLOAD, "sub.k", "sub.k: required"},
        {"{\"path\":\"/ab\",\"sub\":{\"k\":\"x\"}}", -FS_E_INVALID_PAYLOAD, "sub.k",
         "sub.k: expected integer"},
        {"{\"path\":\"/ab\",\"a b\":1}", -FS_E_INVALID_PAYLOAD, "[\"a b\"]",
         "[\"a b\"]: unknown argument"},
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(cases); i++) {
        json_t *v = J(cases[i].value);
        struct fs_err e = {0};
        int rc = fs_schema_validate(s, v, "", &e);
        json_decref(v);
        if (rc != cases[i].rc)
            fail_msg("case %zu (%s): rc %d, want %d (%s)", i, cases[i].value, rc, cases[i].rc,
                     e.msg);
        if (cases[i].path) {
            if (strcmp(e.path, cases[i].path))
                fail_msg("case %zu: path \"%s\", want \"%s\"", i, e.path, cases[i].path);
            if (strncmp(e.msg, cases[i].msg, strlen(cases[i].msg)))
                fail_msg("case %zu: message \"%s\", want prefix \"%s\"", i, e.msg, cases[i].msg);
        }
    }
    fs_schema_free(s);
}

static void test_utf8_length_and_base(void **state)
{
    struct fs_schema *s = compile_ok("{\"type\":\"string\",\"maxLength\":3}");
    json_t *v = json_string("\xC3\xA9\xC3\xA9\xC3\xA9"); /* 3 characters, 6 bytes */
    struct fs_err e = {0};
    assert_int_equal(fs_schema_validate(s, v, "x", &e), 0);
    json_decref(v);
    v = json_string("\xC3\xA9\xC3\xA9\xC3\xA9z");
    assert_int_equal(fs_schema_validate(s, v, "args.name", &e), -FS_E_INVALID_PAYLOAD);
    assert_string_equal(e.path, "args.name");
    json_decref(v);
    fs_schema_free(s);
    /* no type: anything goes, but enum still applies */
    s = compile_ok("{\"enum\":[1,\"a\",null,true]}");
    const char *ok[] = {"1", "1.0", "\"a\"", "null", "true"};
    for (size_t i = 0; i < FS_ARRAY_LEN(ok); i++) {
        v = J(ok[i]);
        assert_int_equal(fs_schema_validate(s, v, NULL, &e), 0);
        json_decref(v);
    }
    v = J("false");
    assert_int_equal(fs_schema_validate(s, v, NULL, &e), -FS_E_INVALID_PAYLOAD);
    json_decref(v);
    fs_schema_free(s);
    /* additionalProperties true (the default) lets unknown members through */
    s = compile_ok("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}}}");
    v = J("{\"b\":1}");
    assert_int_equal(fs_schema_validate(s, v, NULL, &e), 0);
    json_decref(v);
    fs_schema_free(s);
}

static void test_compile_refusals(void **state)
{
    const struct {
        const char *schema, *path, *msg;
    } cases[] = {
        {"[]", "", "a schema must be an object"},
        {"true", "", "a schema must be an object"},
        {"{\"type\":\"object\",\"oneOf\":[]}", "oneOf", "unsupported JSON Schema keyword"},
        {"{\"$ref\":\"#/x\"}", "[\"$ref\"]", "unsupported"},
        {"{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\",\"format\":\"uri\"}}}",
         "properties.a.format", "unsupported"},
        {"{\"type\":\"object\",\"patternProperties\":{}}", "patternProperties", "unsupported"},
        {"{\"type\":\"array\",\"items\":{\"anyOf\":[]}}", "items.anyOf", "unsupported"},
        {"{\"type\":[\"string\",\"null\"]}", "type", "expected one type name"},
        {"{\"type\":\"text\"}", "type", "unknown type"},
        {"{\"type\":\"string\",\"pattern\":\"abc\"}", "pattern", "must be anchored"},
        {"{\"type\":\"string\",\"pattern\":\"^abc\\\\$\"}", "pattern", "must be anchored"},
        {"{\"type\":\"string\",\"pattern\":\"^(ab$\"}", "pattern", "not a valid regular"},
        {"{\"type\":\"string\",\"pattern\":5}", "pattern", "expected a string"},
        {"{\"pattern\":\"^a$\"}", "pattern", "applies only to string"},
        {"{\"type\":\"string\",\"minimum\":1}", "minimum", "applies only to integer or number"},
        {"{\"type\":\"integer\",\"maxItems\":1}", "maxItems", "applies only to array"},
        {"{\"type\":\"string\",\"properties\":{}}", "properties", "applies only to object"},
        {"{\"type\":\"string\",\"maxLength\":-1}", "maxLength", "non-negative integer"},
        {"{\"type\":\"string\",\"maxLength\":1.5}", "maxLength", "non-negative integer"},
        {"{\"type\":\"string\",\"minLength\":3,\"maxLength\":2}", "minLength", "greater than"},
        {"{\"type\":\"integer\",\"minimum\":3,\"maximum\":2}", "minimum", "greater than"},
        {"{\"type\":\"array\",\"minItems\":3,\"maxItems\":2}", "minItems", "greater than"},
        {"{\"type\":\"integer\",\"minimum\":\"1\"}", "minimum", "expected a number"},
        {"{\"type\":\"object\",\"additionalProperties\":{}}", "additionalProperties",
         "only true or false"},
        {"{\"type\":\"object\",\"required\":[\"a\"]}", "required[0]", "not among the properties"},
        {"{\"type\":\"object\",\"required\":\"a\"}", "required", "expected an array"},
        {"{\"type\":\"object\",\"properties\":[]}", "properties", "expected an object"},
        {"{\"enum\":[]}", "enum", "non-empty array"},
        {"{\"enum\":[[1]]}", "enum[0]", "only strings"},
        {"{\"const\":{}}", "const", "only a string"},
        {"{\"type\":\"array\",\"uniqueItems\":1}", "uniqueItems", "expected a boolean"},
        {"{\"type\":\"array\",\"items\":{\"type\":\"array\",\"items\":{\"type\":\"array\","
         "\"items\":{\"type\":\"array\",\"items\":{\"type\":\"array\",\"items\":{\"type\":"
         "\"array\",\"items\":{\"type\":\"array\",\"items\":{\"type\":\"array\",\"items\":{"
         "\"type\":\"array\",\"items\":{}}}}}}}}}}",
         "items.items.items.items.items.items.items.items.items", "deeper than 8"},
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(cases); i++) {
        json_t *j = J(cases[i].schema);
        struct fs_schema *s = (struct fs_schema *)1;
        struct fs_err e = {0};
        int rc = fs_schema_compile(j, &s, &e);
        json_decref(j);
        if (rc != -FS_E_INVALID || s != NULL)
            fail_msg("case %zu (%s): rc %d, want invalid", i, cases[i].schema, rc);
        if (strcmp(e.path, cases[i].path))
            fail_msg("case %zu: path \"%s\", want \"%s\" (%s)", i, e.path, cases[i].path, e.msg);
        if (!strstr(e.msg, cases[i].msg))
            fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, e.msg, cases[i].msg);
    }
}

static void test_pathological_pattern(void **state)
{
    struct fs_schema *s = compile_ok("{\"type\":\"string\",\"pattern\":\"^(a+)+$\"}");
    char buf[64];
    memset(buf, 'a', 40);
    buf[40] = 'b';
    buf[41] = '\0';
    json_t *v = json_string(buf);
    struct fs_err e = {0};
    int rc = fs_schema_validate(s, v, "p", &e);
    assert_int_equal(rc, -FS_E_INVALID_PAYLOAD); /* refused, quickly, either way */
    json_decref(v);
    fs_schema_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validate_table),
        cmocka_unit_test(test_utf8_length_and_base),
        cmocka_unit_test(test_compile_refusals),
        cmocka_unit_test(test_pathological_pattern),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
