/* Unit tests for configuration: the embedded default covers the whole key table, file values
 * override it, every problem names file, line and key, and secrets never come from the text. */
#include "unit.h"

#include <unistd.h>

#include "core/config.h"
#include "core/embed.h"
#include "core/yaml.h"

static char tmpdir[] = "/tmp/fs-config-XXXXXX";

static const char *write_file(const char *name, const char *text)
{
    static char path[512];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static int setup(void **state)
{
    return mkdtemp(tmpdir) ? 0 : -1;
}

static void test_default_sets_every_key(void **state)
{
    const struct fs_embed_file *f = fs_embed_find("etc/forestall.yaml");
    assert_non_null(f);
    struct fs_yaml_doc doc;
    struct fs_err err;
    assert_int_equal(fs_yaml_parse((const char *)f->start, fs_embed_len(f), "default", &doc, &err),
                     0);
    for (const struct fs_config_key *k = fs_config_keys; k->path; k++) {
        if (fs_yaml_line(&doc, k->path) == 0)
            fail_msg("etc/forestall.yaml does not set %s", k->path);
        assert_non_null(k->doc);
        assert_true(strlen(k->doc) > 10);
    }
    fs_yaml_doc_release(&doc);
    struct fs_config *cfg;
    assert_int_equal(fs_config_load(NULL, &cfg, NULL, &err), 0);
    assert_string_equal(cfg->server.listen, "127.0.0.1:9797");
    assert_int_equal(cfg->server.max_body, 2u << 20);
    assert_int_equal(cfg->incidents.group_by.n, 2);
    assert_null(cfg->auth.token.value);
    fs_config_free(cfg);
}

static void test_file_overrides_only_what_it_sets(void **state)
{
    const char *p = write_file("ok.yaml", "server:\n  max_body: 64KiB\nincidents:\n  group_by: "
                                          "[cluster]\n  window: 90s\n");
    struct fs_config *cfg;
    struct fs_err err;
    assert_int_equal(fs_config_load(p, &cfg, NULL, &err), 0);
    assert_int_equal(cfg->server.max_body, 64 * 1024);
    assert_int_equal(cfg->incidents.window_ms, 90000);
    assert_int_equal(cfg->incidents.group_by.n, 1);
    assert_string_equal(cfg->incidents.group_by.items[0], "cluster");
    assert_string_equal(cfg->server.listen, "127.0.0.1:9797"); /* untouched default */
    /* relative paths in a file are relative to the file */
    fs_config_free(cfg);
    p = write_file("dd.yaml", "data_dir: state\n");
    assert_int_equal(fs_config_load(p, &cfg, NULL, &err), 0);
    char want[600];
    snprintf(want, sizeof(want), "%s/state", tmpdir);
    assert_string_equal(cfg->data_dir, want);
    char *db = fs_config_store_path(cfg);
    snprintf(want, sizeof(want), "%s/state/forestall.db", tmpdir);
    assert_string_equal(db, want);
    free(db);
    fs_config_free(cfg);
}

static void expect_problem(const char *text, const char *needle1, const char *needle2)
{
    const char *p = write_file("bad.yaml", text);
    struct fs_config *cfg = NULL;
    struct fs_err err;
    struct fs_buf diag = FS_BUF_INIT(0);
    assert_int_equal(fs_config_load(p, &cfg, &diag, &err), -FS_E_CONFIG);
    assert_null(cfg);
    if (!strstr(diag.data, needle1) || (needle2 && !strstr(diag.data, needle2)))
        fail_msg("diagnostics lack \"%s\"/\"%s\":\n%s", needle1, needle2 ? needle2 : "", diag.data);
    assert_non_null(strstr(err.msg, "bad.yaml:")); /* first problem, with file:line */
    fs_buf_release(&diag);
}

static void test_problems_name_file_line_key(void **state)
{
    expect_problem("server:\n  listen: 127.0.0.1:1\n  max_bdy: 1MiB\n",
                   "bad.yaml:3: server.max_bdy: unknown key", "did you mean server.max_body");
    expect_problem("server:\n  max_body: lots\n", "bad.yaml:2: server.max_body:", "size");
    expect_problem("server:\n  threads: 0\n", "bad.yaml:2: server.threads: must be between", NULL);
    expect_problem("log:\n  level: loud\n", "bad.yaml:2: log.level: expected one of", NULL);
    expect_problem("incidents:\n  group_by: [a, \"\"]\n", "incidents.group_by[1]", NULL);
    expect_problem("incidents:\n  group_by: [a, a]\n", "listed twice", NULL);
    /* named definitions: a name given twice, in either list */
    expect_problem("mcp:\n  servers:\n    - {name: s1, command: /bin/true}\n"
                   "    - {name: s1, command: /bin/false}\n",
                   "mcp.servers[1].name: s1 is listed twice", NULL);
    expect_problem("notify:\n  channels:\n    - {name: a, type: webhook, url: \"http://x\"}\n"
                   "    - {name: a, type: webhook, url: \"http://y\"}\n",
                   "notify.channels[1].name: a is listed twice", NULL);
    expect_problem("notify:\n  channels:\n    - {name: Ops, type: webhook, url: \"http://x\"}\n",
                   "notify.channels[0].name: expected a name", NULL);
    expect_problem("server:\n  listen: nowhere\n", "bad.yaml:2: server.listen: expected HOST:PORT",
                   NULL);
    expect_problem("reconcile:\n  alertmanager_url: ftp://x\n", "reconcile.alertmanager_url", NULL);
    expect_problem("server: [1]\n", "bad.yaml:1: server: expected a mapping", NULL);
    expect_problem("a: 1\nb: 2\n", "bad.yaml:1: a: unknown key", "bad.yaml:2: b: unknown key");
    expect_problem("server:\n  listen: [\n", "YAML syntax error", NULL);
    expect_problem("reconcile:\n  receiver: 'team-(a'\n", "reconcile.receiver",
                   "not a valid regular expression");
}

static void test_secrets(void **state)
{
    expect_problem("auth:\n  token: hunter2\n", "auth.token: a secret is not written in the config",
                   NULL);
    expect_problem("auth:\n  token: {env: HOME}\n", "starting with FORESTALL_", NULL);
    unsetenv("FORESTALL_TEST_UNSET");
    expect_problem("auth:\n  token: {env: FORESTALL_TEST_UNSET}\n", "is not set", NULL);
    setenv("FORESTALL_TEST_TOKEN", "s3cret", 1);
    const char *p = write_file("s.yaml", "auth:\n  token: {env: FORESTALL_TEST_TOKEN}\n");
    struct fs_config *cfg;
    struct fs_err err;
    assert_int_equal(fs_config_load(p, &cfg, NULL, &err), 0);
    assert_string_equal(cfg->auth.token.value, "s3cret");
    assert_string_equal(cfg->auth.token.source, "env:FORESTALL_TEST_TOKEN");
    fs_config_free(cfg);
    write_file("token", "fromfile\n");
    p = write_file("f.yaml", "auth:\n  token: {file: token}\n");
    assert_int_equal(fs_config_load(p, &cfg, NULL, &err), 0);
    assert_string_equal(cfg->auth.token.value, "fromfile"); /* trailing newline trimmed */
    fs_config_free(cfg);
}

static void test_public_listen_needs_token(void **state)
{
    expect_problem("server:\n  listen: 0.0.0.0:9797\n", "not a loopback address", NULL);
    const char *p = write_file(
        "pub.yaml", "server:\n  listen: 0.0.0.0:9797\n  allow_public_without_token: true\n");
    struct fs_config *cfg;
    struct fs_err err;
    assert_int_equal(fs_config_load(p, &cfg, NULL, &err), 0);
    /* a command-line override is checked the same way */
    assert_int_equal(fs_config_set(cfg, "server.allow_public_without_token", "x", &err),
                     -FS_E_CONFIG);
    fs_config_free(cfg);
    assert_int_equal(fs_config_load(NULL, &cfg, NULL, &err), 0);
    assert_int_equal(fs_config_set(cfg, "server.listen", "10.0.0.1:80", &err), 0);
    assert_int_equal(fs_config_check(cfg, &err), -FS_E_CONFIG);
    assert_int_equal(fs_config_set(cfg, "server.listen", "[::1]:80", &err), 0);
    assert_int_equal(fs_config_check(cfg, &err), 0);
    fs_config_free(cfg);
}

static void test_shared_config_refcount(void **state)
{
    struct fs_config *a, *b;
    struct fs_err err;
    assert_int_equal(fs_config_load(NULL, &a, NULL, &err), 0);
    assert_int_equal(fs_config_load(NULL, &b, NULL, &err), 0);
    fs_config_install(a);
    struct fs_config *held = fs_config_acquire();
    assert_ptr_equal(held, a);
    fs_config_install(b); /* a stays alive while held */
    assert_string_equal(held->server.listen, "127.0.0.1:9797");
    fs_config_release(held);
    struct fs_config *cur = fs_config_acquire();
    assert_ptr_equal(cur, b);
    fs_config_release(cur);
    fs_config_install(NULL);
}

static void test_docs_cover_every_key(void **state)
{
    struct fs_buf b = FS_BUF_INIT(0);
    assert_int_equal(fs_config_doc_markdown(&b), 0);
    for (const struct fs_config_key *k = fs_config_keys; k->path; k++) {
        char needle[128];
        snprintf(needle, sizeof(needle), "| `%s` |", k->path);
        if (!strstr(b.data, needle))
            fail_msg("docs/config.md has no row for %s", k->path);
    }
    fs_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_sets_every_key),
        cmocka_unit_test(test_file_overrides_only_what_it_sets),
        cmocka_unit_test(test_problems_name_file_line_key),
        cmocka_unit_test(test_secrets),
        cmocka_unit_test(test_public_listen_needs_token),
        cmocka_unit_test(test_shared_config_refcount),
        cmocka_unit_test(test_docs_cover_every_key),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
