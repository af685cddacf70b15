/* Unit tests for the executor's probe tools and the certificate tool's two forms:
 * host.process_info (this process, a zombie, a reaped pid that no longer exists),
 * host.file_stat (file, directory, symlink, fifo, missing, a path below a file, a name full of
 * shell metacharacters), their parsers against captured and broken output, and
 * host.cert_expiry's argument rules (exactly one of path or host/port) and an endpoint that
 * does not answer. Real local runs; the TLS endpoint itself and ssh are covered by
 * tests/integration/test_cert_endpoint.py and test_ssh.py. */
#include "unit.h"

#include "tools_unit.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/time.h"
#include "tools/host_int.h"
#include "tools/registry.h"

static int setup(void **state)
{
    return tools_setup("fs-probe");
}

static void expect_at(json_t *root, const char *key, const char *want)
{
    json_t *v = json_object_get(root, key);
    char *got = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    if (!got || strcmp(got, want)) {
        char *all = json_dumps(root, JSON_COMPACT);
        fail_msg("%s = %s, want %s\n%s", key, got ? got : "(missing)", want, all);
    }
    free(got);
}

/* Call a tool and insist that it ran and did not report a failure. */
static void call_good(const char *name, json_t *args, const struct fs_tool_ctx *ctx,
                      struct fs_tool_result *r)
{
    struct fs_err e = {0};
    int rc = fs_tools_call(reg, name, args, ctx, r, &e);
    json_decref(args);
    if (rc != 0)
        fail_msg("%s: %s: %s", name, fs_err_name(rc), e.msg);
    if (r->is_error || !r->structured)
        fail_msg("%s: tool failed: %s", name, r->text);
}

/* ---- host.process_info -------------------------------------------------------------------- */

static json_t *pid_args(pid_t pid)
{
    return json_pack("{s:i}", "pid", (int)pid);
}

static void test_process_info_self(void **state)
{
    struct fs_tool_result r = {0};
    call_good("host.process_info", pid_args(getpid()), NULL, &r);
    json_t *s = r.structured;
    expect_at(s, "exists", "true");
    assert_int_equal(json_integer_value(json_object_get(s, "pid")), getpid());
    assert_int_equal(json_integer_value(json_object_get(s, "ppid")), getppid());
    struct passwd *pw = getpwuid(geteuid());
    assert_non_null(pw);
    assert_string_equal(json_string_value(json_object_get(s, "user")), pw->pw_name);
    /* the kernel's comm: the first 15 bytes of the program name */
    assert_string_equal(json_string_value(json_object_get(s, "cmd")), "test_tools_prob");
    const char *st = json_string_value(json_object_get(s, "state"));
    assert_true(fs_streq(st, "R") || fs_streq(st, "S"));
    assert_true(json_integer_value(json_object_get(s, "rss_bytes")) > 1024 * 1024);
    assert_true(json_integer_value(json_object_get(s, "age_s")) >= 0);
    assert_true(json_is_number(json_object_get(s, "cpu_pct")));
    assert_null(json_object_get(s, "partial"));
    fs_tool_result_release(&r);
}

static void test_process_info_zombie_and_gone(void **state)
{
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(0);
    /* not reaped yet: a zombie */
    struct fs_tool_result r = {0};
    for (int i = 0; i < 100; i++) {
        call_good("host.process_info", pid_args(child), NULL, &r);
        if (fs_streq(json_string_value(json_object_get(r.structured, "state")), "Z"))
            break;
        fs_tool_result_release(&r);
        usleep(20000);
    }
    expect_at(r.structured, "exists", "true");
    expect_at(r.structured, "state", "\"Z\"");
    expect_at(r.structured, "state_name", "\"zombie\"");
    fs_tool_result_release(&r);
    /* reaped: gone, which is an answer and not an error, and not partial */
    assert_int_equal(waitpid(child, NULL, 0), child);
    call_good("host.process_info", pid_args(child), NULL, &r);
    expect_at(r.structured, "exists", "false");
    assert_int_equal(json_integer_value(json_object_get(r.structured, "pid")), child);
    assert_null(json_object_get(r.structured, "partial"));
    assert_false(r.truncated);
    fs_tool_result_release(&r);
    /* out of range is refused before ps runs */
    struct fs_err e = {0};
    json_t *a = J("{\"pid\":0}");
    assert_int_equal(fs_tools_call(reg, "host.process_info", a, NULL, &r, &e),
                     -FS_E_INVALID_PAYLOAD);
    assert_string_equal(e.path, "pid");
    json_decref(a);
    a = J("{\"pid\":\"1; id\"}");
    assert_int_equal(fs_tools_call(reg, "host.process_info", a, NULL, &r, &e),
                     -FS_E_INVALID_PAYLOAD);
    json_decref(a);
}

static void test_process_parser(void **state)
{
    json_t *o = NULL;
    struct fs_err e = {0};
    const char *line =
        "  812     1 www-data                         S  2.5 204800   3600 tmux: server\n";
    assert_int_equal(fs_hp_process(line, strlen(line), &o, &e), 0);
    expect_at(o, "pid", "812");
    expect_at(o, "ppid", "1");
    expect_at(o, "user", "\"www-data\"");
    expect_at(o, "state_name", "\"sleeping\"");
    expect_at(o, "cmd", "\"tmux: server\"");
    expect_at(o, "cpu_pct", "2.5");
    expect_at(o, "rss_bytes", "209715200");
    expect_at(o, "age_s", "3600");
    json_decref(o);
    assert_int_equal(fs_hp_process("\n \n", 3, &o, &e), 0);
    expect_at(o, "exists", "false");
    json_decref(o);
    static const char *const bad[] = {
        "812 1 root S 2.5\n",                     /* too few columns */
        "812 1 root Ss 2.5 10 10 x\n",            /* state is one letter */
        "x 1 root S 2.5 10 10 x\n",               /* pid not a number */
        "812 1 root S 2.5 -10 10 x\n",            /* negative rss */
        "812 1 root S nan 10 10 x\n",             /* cpu not a decimal */
        "812 1 root S 1 99999999999999999 1 x\n", /* rss overflows bytes */
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(bad); i++) {
        o = NULL;
        if (fs_hp_process(bad[i], strlen(bad[i]), &o, &e) != -FS_E_INVALID_PAYLOAD || o)
            fail_msg("accepted %s", bad[i]);
    }
}

/* ---- host.file_stat ----------------------------------------------------------------------- */

static json_t *path_args(const char *path)
{
    return json_pack("{s:s}", "path", path);
}

static void test_file_stat_kinds(void **state)
{
    char f[512], d[512], l[512], p[512], under[600];
    /* run locally there is no shell at all; test_ssh.py sends such a name through one */
    snprintf(f, sizeof(f), "%s/a b;$(touch pwned)'\"&|*.txt", tmpdir);
    snprintf(d, sizeof(d), "%s/dir", tmpdir);
    snprintf(l, sizeof(l), "%s/link", tmpdir);
    snprintf(p, sizeof(p), "%s/fifo", tmpdir);
    int fd = open(f, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "0123456789", 10), 10);
    close(fd);
    assert_int_equal(chmod(f, 0640), 0);
    int64_t mtime = 1795000000; /* 2026-11-18 */
    struct timeval tv[2] = {{mtime, 0}, {mtime, 0}};
    assert_int_equal(utimes(f, tv), 0);
    assert_int_equal(mkdir(d, 0755), 0);
    assert_int_equal(symlink(f, l), 0);
    assert_int_equal(mkfifo(p, 0600), 0);

    struct fs_tool_ctx ctx = {.now_ms = (mtime + 1000) * 1000};
    struct fs_tool_result r = {0};
    call_good("host.file_stat", path_args(f), &ctx, &r);
    expect_at(r.structured, "exists", "true");
    expect_at(r.structured, "type", "\"file\"");
    expect_at(r.structured, "size", "10");
    expect_at(r.structured, "mode", "\"0640\"");
    expect_at(r.structured, "mtime_s", "1795000000");
    expect_at(r.structured, "mtime", "\"2026-11-18T11:06:40.000Z\"");
    expect_at(r.structured, "age_s", "1000");
    assert_string_equal(json_string_value(json_object_get(r.structured, "path")), f);
    fs_tool_result_release(&r);
    char missing[300];
    snprintf(missing, sizeof(missing), "%s/missing", tmpdir);

    call_good("host.file_stat", path_args(d), &ctx, &r);
    expect_at(r.structured, "type", "\"dir\"");
    expect_at(r.structured, "mode", "\"0755\"");
    fs_tool_result_release(&r);
    call_good("host.file_stat", path_args(l), &ctx, &r);
    expect_at(r.structured, "type", "\"link\""); /* not followed */
    fs_tool_result_release(&r);
    call_good("host.file_stat", path_args(p), &ctx, &r);
    expect_at(r.structured, "type", "\"other\"");
    fs_tool_result_release(&r);
    call_good("host.file_stat", path_args("/"), &ctx, &r);
    expect_at(r.structured, "type", "\"dir\"");
    fs_tool_result_release(&r);

    /* missing, and a path below a file: exists false, whole, not an error */
    snprintf(under, sizeof(under), "%s/x", f);
    const char *gone[] = {missing, under};
    for (size_t i = 0; i < FS_ARRAY_LEN(gone); i++) {
        call_good("host.file_stat", path_args(gone[i]), &ctx, &r);
        expect_at(r.structured, "exists", "false");
        assert_null(json_object_get(r.structured, "partial"));
        assert_null(json_object_get(r.structured, "type"));
        fs_tool_result_release(&r);
    }
    /* relative and option-like paths never reach stat */
    static const char *const refused[] = {"etc/passwd", "--version", "/tmp/../etc", ""};
    for (size_t i = 0; i < FS_ARRAY_LEN(refused); i++) {
        struct fs_err e = {0};
        json_t *a = path_args(refused[i]);
        assert_int_equal(fs_tools_call(reg, "host.file_stat", a, &ctx, &r, &e),
                         -FS_E_INVALID_PAYLOAD);
        assert_string_equal(e.path, "path");
        json_decref(a);
    }
}

static void test_stat_parser(void **state)
{
    json_t *o = NULL;
    struct fs_err e = {0};
    const char *ok = "81a4\t1301\t644\t1795258740\tsome user\n";
    assert_int_equal(fs_hp_stat(ok, strlen(ok), &o, &e), 0);
    expect_at(o, "type", "\"file\"");
    expect_at(o, "mode", "\"0644\"");
    expect_at(o, "owner", "\"some user\"");
    json_decref(o);
    const char *sticky = "43ff\t4096\t1777\t1\troot\n";
    assert_int_equal(fs_hp_stat(sticky, strlen(sticky), &o, &e), 0);
    expect_at(o, "type", "\"dir\"");
    expect_at(o, "mode", "\"1777\"");
    json_decref(o);
    static const char *const bad[] = {
        "",
        "81a4 1301 644 1795258740 root\n",         /* spaces, not tabs */
        "81g4\t1\t644\t1\troot\n",                 /* mode not hex */
        "81a4\t-1\t644\t1\troot\n",                /* negative size */
        "81a4\t1\t648\t1\troot\n",                 /* permission digit 8 */
        "81a4\t1\t64444\t1\troot\n",               /* too many permission digits */
        "81a4\t1\t644\t99999999999999999\troot\n", /* mtime overflows ms */
        "81a4\t1\t644\n",
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(bad); i++) {
        o = NULL;
        if (fs_hp_stat(bad[i], strlen(bad[i]), &o, &e) != -FS_E_INVALID_PAYLOAD || o)
            fail_msg("accepted %s", bad[i]);
    }
}

/* ---- host.cert_expiry's forms ------------------------------------------------------------- */

static void test_cert_forms(void **state)
{
    static const struct {
        const char *args, *path, *msg;
    } cases[] = {
        {"{}", "path", "path: required"},
        {"{\"path\":\"/etc/x.pem\",\"host\":\"example.org\"}", "path", "path: give either"},
        {"{\"path\":\"/etc/x.pem\",\"port\":443}", "path", "path: give either"},
        {"{\"port\":443}", "host", "host: required with port"},
        {"{\"server_name\":\"example.org\"}", "host", "host: required with port"},
        {"{\"host\":\"-oProxyCommand=x\"}", "host", "host: must match"},
        {"{\"host\":\"a b\"}", "host", "host: must match"},
        {"{\"host\":\"example.org\",\"port\":0}", "port", "port: must be at least 1"},
        {"{\"host\":\"example.org\",\"server_name\":\"x/y\"}", "server_name",
         "server_name: must match"},
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(cases); i++) {
        json_t *a = J(cases[i].args);
        struct fs_tool_result r = {0};
        struct fs_err e = {0};
        int rc = fs_tools_call(reg, "host.cert_expiry", a, NULL, &r, &e);
        json_decref(a);
        if (rc != -FS_E_INVALID_PAYLOAD || strcmp(e.path, cases[i].path) ||
            strncmp(e.msg, cases[i].msg, strlen(cases[i].msg)))
            fail_msg("%s: rc %s path %s msg %s", cases[i].args, fs_err_name(rc), e.path, e.msg);
    }
    /* a closed port: the tool ran and says why it has no answer */
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &sl), 0);
    close(s); /* bound once, now closed: nothing listens there */
    char args[128];
    snprintf(args, sizeof(args), "{\"host\":\"127.0.0.1\",\"port\":%d}", ntohs(sa.sin_port));
    json_t *a = J(args);
    struct fs_tool_result r = {0};
    struct fs_err e = {0};
    struct fs_tool_ctx ctx = {.timeout_ms = 3000};
    assert_int_equal(fs_tools_call(reg, "host.cert_expiry", a, &ctx, &r, &e), 0);
    json_decref(a);
    assert_true(r.is_error);
    assert_non_null(strstr(r.text, "TLS handshake with 127.0.0.1"));
    assert_null(r.structured);
    fs_tool_result_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_process_info_self),
        cmocka_unit_test(test_process_info_zombie_and_gone),
        cmocka_unit_test(test_process_parser),
        cmocka_unit_test(test_file_stat_kinds),
        cmocka_unit_test(test_stat_parser),
        cmocka_unit_test(test_cert_forms),
    };
    return cmocka_run_group_tests(tests, setup, tools_teardown);
}
