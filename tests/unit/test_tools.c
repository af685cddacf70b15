/* Unit tests for the tool registry and the built-in host tools: the MCP tools/list shape, run-time
 * registration (and refusal of schemas outside the subset), argument validation errors with
 * paths, every host parser against captured outputs (table-driven, with odd cases), real local
 * runs of each tool on this machine against things the test creates (a directory of known
 * sizes, a listening socket, certificates made with libcrypto, log files), and hostile output
 * (escapes, NULs, secrets, 10 MB) coming back capped, clean and redacted. No network. */
#include "unit.h"

#include "tools_unit.h"
#include "core/config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "core/buf.h"
#include "core/time.h"
#include "tools/host_int.h"
#include "tools/registry.h"

static int setup(void **state)
{
    return tools_setup("fs-tools");
}

static void expect_at(json_t *root, const char *path, const char *want, const char *ctx)
{
    json_t *v = jget(root, path);
    char *got = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    if (!got || strcmp(got, want)) {
        char *all = json_dumps(root, JSON_COMPACT);
        fail_msg("%s: %s = %s, want %s\n%s", ctx, path, got ? got : "(missing)", want, all);
    }
    free(got);
}

static void write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    const char *p = data;
    while (len) {
        ssize_t w = write(fd, p, len);
        assert_true(w > 0);
        p += w;
        len -= (size_t)w;
    }
    close(fd);
}

static void write_filled(const char *path, size_t len)
{
    char *d = malloc(len ? len : 1);
    memset(d, 'x', len);
    write_file(path, d, len);
    free(d);
}

/* Call a tool and insist that it ran (is_error is allowed: check it yourself). */
static void call_ok(const char *name, const char *args, const struct fs_tool_ctx *ctx,
                    struct fs_tool_result *r)
{
    json_t *a = args ? J(args) : NULL;
    struct fs_err e = {0};
    int rc = fs_tools_call(reg, name, a, ctx, r, &e);
    json_decref(a);
    if (rc != 0)
        fail_msg("%s %s: %s: %s", name, args ? args : "", fs_err_name(rc), e.msg);
    assert_non_null(r->text);
}

static void call_good(const char *name, const char *args, const struct fs_tool_ctx *ctx,
                      struct fs_tool_result *r)
{
    call_ok(name, args, ctx, r);
    if (r->is_error || !r->structured)
        fail_msg("%s %s: tool failed: %s", name, args ? args : "", r->text);
}

static bool have_program(const char *name)
{
    char p[256];
    const char *dirs[] = {"/usr/bin", "/bin", "/usr/sbin", "/sbin"};
    for (size_t i = 0; i < FS_ARRAY_LEN(dirs); i++) {
        snprintf(p, sizeof(p), "%s/%s", dirs[i], name);
        if (access(p, X_OK) == 0)
            return true;
    }
    return false;
}

/* ---- registry --------------------------------------------------------------------------- */

static void test_list_shape(void **state)
{
    json_t *l = fs_tools_list_json(reg);
    assert_non_null(l);
    json_t *tools = json_object_get(l, "tools");
    assert_true(json_array_size(tools) >= fs_builtin_tools_count());
    assert_true(fs_builtin_tools_count() >= 12);
    for (size_t i = 0; i < fs_builtin_tools_count(); i++) {
        json_t *t = json_array_get(tools, i);
        assert_string_equal(json_string_value(json_object_get(t, "name")),
                            fs_builtin_tool(i)->name);
        assert_true(json_is_string(json_object_get(t, "title")));
        assert_true(json_string_length(json_object_get(t, "description")) > 20);
        json_t *s = json_object_get(t, "inputSchema");
        assert_string_equal(json_string_value(json_object_get(s, "type")), "object");
        assert_true(json_is_false(json_object_get(s, "additionalProperties")));
        json_t *a = json_object_get(t, "annotations");
        assert_true(json_is_true(json_object_get(a, "readOnlyHint")));
        assert_true(json_is_false(json_object_get(a, "destructiveHint")));
        assert_true(json_is_true(json_object_get(a, "idempotentHint")));
        assert_true(json_is_false(json_object_get(a, "openWorldHint")));
        assert_true(json_is_string(json_object_get(a, "title")));
    }
    json_decref(l);
    struct fs_tool_annotations an;
    assert_true(fs_tools_annotations(reg, "host.memory", &an));
    assert_true(an.read_only);
    assert_false(fs_tools_annotations(reg, "host.nope", &an));
}

static int echo_handler(void *cl, const json_t *args, const struct fs_tool_ctx *ctx,
                        struct fs_tool_result *out, struct fs_err *err)
{
    const char *mode = json_string_value(json_object_get(args, "mode"));
    if (fs_streq(mode, "fail"))
        return fs_err_set(err, FS_E_PROTOCOL, NULL, "remote said no");
    if (fs_streq(mode, "error")) {
        out->text = strdup("it broke");
        out->is_error = true;
        return 0;
    }
    out->structured = json_pack("{s:s, s:i}", "echo", mode ? mode : "", "n", 7);
    (*(int *)cl)++;
    return 0;
}

static void test_register_and_call(void **state)
{
    static int calls;
    struct fs_err e = {0};
    struct fs_tool_annotations ann = {.read_only = false, .destructive = true, .open_world = true};
    const char *schema = "{\"type\":\"object\",\"additionalProperties\":false,"
                         "\"properties\":{\"mode\":{\"type\":\"string\",\"maxLength\":16}}}";
    assert_int_equal(fs_registry_add(reg, "remote.echo", "Echo", "Echoes its mode back.", schema,
                                     &ann, echo_handler, &calls, &e),
                     0);
    /* refusals */
    const struct {
        const char *name, *schema, *msg;
        int rc;
    } bad[] = {
        {"remote.echo", schema, "already exists", -FS_E_INVALID},
        {"bad name", schema, "a tool name", -FS_E_INVALID},
        {"", schema, "a tool name", -FS_E_INVALID},
        {"remote.x", "{\"type\":\"object\",\"oneOf\":[]}", "oneOf: unsupported", -FS_E_INVALID},
        {"remote.x",
         "{\"type\":\"object\",\"properties\":{\"u\":{\"type\":\"string\",\"format\":\"uri\"}}}",
         "properties.u.format: unsupported", -FS_E_INVALID},
        {"remote.x", "{\"type\":\"string\"}", "must be of type object", -FS_E_INVALID},
        {"remote.x", "{\"type\":", "inputSchema", -FS_E_INVALID},
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(bad); i++) {
        memset(&e, 0, sizeof(e));
        int rc = fs_registry_add(reg, bad[i].name, NULL, "A tool.", bad[i].schema, &ann,
                                 echo_handler, NULL, &e);
        if (rc != bad[i].rc || !strstr(e.msg, bad[i].msg))
            fail_msg("case %zu: rc %d msg \"%s\", want \"%s\"", i, rc, e.msg, bad[i].msg);
    }
    json_t *l = fs_tools_list_json(reg);
    json_t *last = json_array_get(json_object_get(l, "tools"), fs_builtin_tools_count());
    assert_string_equal(json_string_value(json_object_get(last, "name")), "remote.echo");
    expect_at(last, "annotations.destructiveHint", "true", "list");
    expect_at(last, "annotations.readOnlyHint", "false", "list");
    json_decref(l);

    struct fs_tool_result r = {0};
    call_good("remote.echo", "{\"mode\":\"hi\"}", NULL, &r);
    assert_int_equal(calls, 1);
    expect_at(r.structured, "echo", "\"hi\"", "echo");
    assert_string_equal(r.text, "{\"echo\":\"hi\",\"n\":7}"); /* text from structured content */
    assert_true(r.duration_ms >= 0);
    fs_tool_result_release(&r);
    call_ok("remote.echo", "{\"mode\":\"error\"}", NULL, &r);
    assert_true(r.is_error);
    assert_string_equal(r.text, "it broke");
    fs_tool_result_release(&r);
    json_t *a = J("{\"mode\":\"fail\"}");
    assert_int_equal(fs_tools_call(reg, "remote.echo", a, NULL, &r, &e), -FS_E_PROTOCOL);
    assert_null(r.text);
    json_decref(a);
}

static void test_argument_errors(void **state)
{
    const struct {
        const char *tool, *args;
        int rc;
        const char *path, *msg;
    } cases[] = {
        {"host.nope", "{}", -FS_E_NOT_FOUND, "name", "no tool named"},
        {"host.memory", "[]", -FS_E_INVALID_PAYLOAD, "", "arguments: expected object"},
        {"host.memory", "{\"x\":1}", -FS_E_INVALID_PAYLOAD, "x", "x: unknown argument"},
        {"host.dir_sizes", "{}", -FS_E_INVALID_PAYLOAD, "path", "path: required"},
        {"host.dir_sizes", "{\"path\":\"tmp\"}", -FS_E_INVALID_PAYLOAD, "path", "path: must match"},
        {"host.dir_sizes", "{\"path\":\"/tmp/../etc\"}", -FS_E_INVALID_PAYLOAD, "path",
         "path: must match"},
        {"host.dir_sizes", "{\"path\":\"/tmp//x\"}", -FS_E_INVALID_PAYLOAD, "path", "path: must"},
        {"host.dir_sizes", "{\"path\":\"/tmp/\"}", -FS_E_INVALID_PAYLOAD, "path", "path: must"},
        {"host.dir_sizes", "{\"path\":\"/tmp/./x\"}", -FS_E_INVALID_PAYLOAD, "path", "path: must"},
        {"host.dir_sizes", "{\"path\":\"/tmp\",\"depth\":4}", -FS_E_INVALID_PAYLOAD, "depth",
         "depth: must be at most 3"},
        {"host.dir_sizes", "{\"path\":\"/tmp\",\"depth\":\"1\"}", -FS_E_INVALID_PAYLOAD, "depth",
         "depth: expected integer, got string"},
        {"host.largest_files", "{\"path\":\"/tmp\",\"limit\":0}", -FS_E_INVALID_PAYLOAD, "limit",
         "limit: must be at least 1"},
        {"host.largest_files", "{\"path\":\"/tmp\",\"limit\":101}", -FS_E_INVALID_PAYLOAD, "limit",
         "limit: must be at most 100"},
        {"host.largest_files", "{\"path\":\"/tmp\",\"min_size_bytes\":-1}", -FS_E_INVALID_PAYLOAD,
         "min_size_bytes", "min_size_bytes: must be at least 0"},
        {"host.top_processes", "{\"sort\":\"io\"}", -FS_E_INVALID_PAYLOAD, "sort",
         "sort: must be one of \"cpu\", \"memory\""},
        {"host.service_status", "{\"unit\":\"--help.service\"}", -FS_E_INVALID_PAYLOAD, "unit",
         "unit: must match"},
        {"host.service_status", "{\"unit\":\"nginx\"}", -FS_E_INVALID_PAYLOAD, "unit",
         "unit: must match"},
        {"host.service_status", "{\"unit\":\"a b.service\"}", -FS_E_INVALID_PAYLOAD, "unit",
         "unit: must match"},
        {"host.log_lines", "{\"path\":\"/etc/shadow\"}", -FS_E_INVALID_PAYLOAD, "path",
         "path: must be below /var/log"},
        {"host.log_lines", "{\"path\":\"/var/logs/x\"}", -FS_E_INVALID_PAYLOAD, "path",
         "path: must be below /var/log"},
        {"host.log_lines", "{\"path\":\"/var/log/../../etc/shadow\"}", -FS_E_INVALID_PAYLOAD,
         "path", "path: must match"},
        {"host.log_lines", "{\"path\":\"/var/log/syslog\",\"lines\":1001}", -FS_E_INVALID_PAYLOAD,
         "lines", "lines: must be at most 1000"},
        {"host.log_lines", "{\"path\":\"/var/log/syslog\",\"filter\":\"a\\nb\"}",
         -FS_E_INVALID_PAYLOAD, "filter", "filter: must match"},
        {"host.journal_lines", "{\"kernel\":true,\"unit\":\"a.service\"}", -FS_E_INVALID_PAYLOAD,
         "unit", "unit: give kernel or unit, not both"},
        {"host.journal_lines", "{\"unit\":\"-a.service\"}", -FS_E_INVALID_PAYLOAD, "unit",
         "unit: must match"},
        {"host.journal_lines", "{\"unit\":\"nginx\"}", -FS_E_INVALID_PAYLOAD, "unit",
         "unit: must match"},
        {"host.journal_lines", "{\"unit\":\"ng*.service\"}", -FS_E_INVALID_PAYLOAD, "unit",
         "unit: must match"},
        {"host.journal_lines", "{\"unit\":\"a.service --grep=x\"}", -FS_E_INVALID_PAYLOAD, "unit",
         "unit: must match"},
        {"host.journal_lines", "{\"since\":\"1w\"}", -FS_E_INVALID_PAYLOAD, "since",
         "since: must match"},
        {"host.journal_lines", "{\"since\":\"-1h\"}", -FS_E_INVALID_PAYLOAD, "since",
         "since: must match"},
        {"host.journal_lines", "{\"since\":\"2024-01-01\"}", -FS_E_INVALID_PAYLOAD, "since",
         "since: must match"},
        {"host.journal_lines", "{\"priority\":\"loud\"}", -FS_E_INVALID_PAYLOAD, "priority",
         "priority: must be one of"},
        {"host.journal_lines", "{\"lines\":1001}", -FS_E_INVALID_PAYLOAD, "lines",
         "lines: must be at most 1000"},
        {"host.journal_lines", "{\"filter\":\"a\\nb\"}", -FS_E_INVALID_PAYLOAD, "filter",
         "filter: must match"},
        {"host.journal_lines", "{\"filter\":\"\"}", -FS_E_INVALID_PAYLOAD, "filter", "filter: "},
        {"host.fs_usage", "{\"mount\":\"-x\"}", -FS_E_INVALID_PAYLOAD, "mount", "mount: must"},
        {"host.cert_expiry", "{}", -FS_E_INVALID_PAYLOAD, "path", "path: required"},
        {"host.cert_expiry", "{\"path\":\"--version\"}", -FS_E_INVALID_PAYLOAD, "path",
         "path: must match"},
        {"host.package_version", "{}", -FS_E_INVALID_PAYLOAD, "package", "package: required"},
        {"host.package_version", "{\"package\":\"-y\"}", -FS_E_INVALID_PAYLOAD, "package",
         "package: must match"},
        {"host.package_version", "{\"package\":\"Bash\"}", -FS_E_INVALID_PAYLOAD, "package",
         "package: must match"},
        {"host.package_version", "{\"package\":\"a b\"}", -FS_E_INVALID_PAYLOAD, "package",
         "package: must match"},
        {"host.package_version", "{\"package\":\"libc6:i386\"}", -FS_E_INVALID_PAYLOAD, "package",
         "package: must match"},
        {"host.package_version", "{\"package\":\"ba*\"}", -FS_E_INVALID_PAYLOAD, "package",
         "package: must match"},
        {"host.config_get", "{\"file\":\"/etc/app.conf\"}", -FS_E_INVALID_PAYLOAD, "key",
         "key: required"},
        {"host.config_get", "{\"file\":\"/etc/shadow\",\"key\":\"k\"}", -FS_E_INVALID_PAYLOAD,
         "file", "file: must match"},
        {"host.config_get", "{\"file\":\"/etc/a/../shadow.conf\",\"key\":\"k\"}",
         -FS_E_INVALID_PAYLOAD, "file", "file: must match"},
        {"host.config_get", "{\"file\":\"/etc/a/./b.conf\",\"key\":\"k\"}", -FS_E_INVALID_PAYLOAD,
         "file", "file: must match"},
        {"host.config_get", "{\"file\":\"/etc//b.conf\",\"key\":\"k\"}", -FS_E_INVALID_PAYLOAD,
         "file", "file: must match"},
        {"host.config_get", "{\"file\":\"/etcx/b.conf\",\"key\":\"k\"}", -FS_E_INVALID_PAYLOAD,
         "file", "file: must match"},
        {"host.config_get", "{\"file\":\"/tmp/b.conf\",\"key\":\"k\"}", -FS_E_INVALID_PAYLOAD,
         "file", "file: must match"},
        {"host.config_get", "{\"file\":\"/etc/b.conf\",\"key\":\"-k\"}", -FS_E_INVALID_PAYLOAD,
         "key", "key: must match"},
        {"host.config_get", "{\"file\":\"/etc/b.conf\",\"key\":\"a b\"}", -FS_E_INVALID_PAYLOAD,
         "key", "key: must match"},
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(cases); i++) {
        json_t *a = J(cases[i].args);
        struct fs_tool_result r = {0};
        struct fs_err e = {0};
        int rc = fs_tools_call(reg, cases[i].tool, a, NULL, &r, &e);
        json_decref(a);
        if (rc != cases[i].rc)
            fail_msg("case %zu %s %s: rc %d (%s), want %d", i, cases[i].tool, cases[i].args, rc,
                     e.msg, cases[i].rc);
        if (strcmp(e.path, cases[i].path) || strncmp(e.msg, cases[i].msg, strlen(cases[i].msg)))
            fail_msg("case %zu: path \"%s\" msg \"%s\", want \"%s\" \"%s\"", i, e.path, e.msg,
                     cases[i].path, cases[i].msg);
        assert_null(r.text);
        assert_null(r.structured);
    }
}

static void test_doc_markdown(void **state)
{
    struct fs_buf b = FS_BUF_INIT(0);
    assert_int_equal(fs_tools_doc_markdown(&b), 0);
    for (size_t i = 0; i < fs_builtin_tools_count(); i++) {
        char h[160];
        snprintf(h, sizeof(h), "## `%s`", fs_builtin_tool(i)->name);
        if (!strstr(b.data, h))
            fail_msg("docs lack %s", h);
    }
    assert_non_null(strstr(b.data, "- `limit` (integer, 1 to 100, default `20`)"));
    assert_non_null(strstr(b.data, "- `path` (string, required"));
    assert_non_null(strstr(b.data, "one of `[\"cpu\",\"memory\"]`"));
    fs_buf_release(&b);
}

/* ---- parsers ------------------------------------------------------------------------------ */

enum parser {
    P_DF,
    P_DFI,
    P_DU,
    P_FIND,
    P_PS,
    P_MEM,
    P_LOAD,
    P_SYSD,
    P_JOURNAL,
    P_LINES,
    P_SS,
    P_JLINES,   /* journalctl -o short-iso, no filter */
    P_JLINES_F, /* the same, filter "Killed process" */
    P_APT,      /* apt-cache policy -- bash */
    P_APT_RE,   /* apt-cache policy -- zlib1g.dev (no such package: apt reads it as a regex) */
    P_CONF,     /* crudini --get FILE "" KEY */
};

static int run_parser(enum parser p, const char *in, size_t len, json_t **out, struct fs_err *e)
{
    switch (p) {
    case P_DF: return fs_hp_df(in, len, false, out, e);
    case P_DFI: return fs_hp_df(in, len, true, out, e);
    case P_DU: return fs_hp_du(in, len, out, e);
    case P_FIND: return fs_hp_find(in, len, out, e);
    case P_PS: return fs_hp_ps(in, len, out, e);
    case P_MEM: return fs_hp_meminfo(in, len, out, e);
    case P_LOAD: return fs_hp_loadavg(in, len, out, e);
    case P_SYSD: return fs_hp_systemctl_show(in, len, out, e);
    case P_JOURNAL: return fs_hp_journal_usage(in, len, out, e);
    case P_LINES: return fs_hp_lines(in, len, "err", out, e);
    case P_SS: return fs_hp_ss(in, len, out, e);
    case P_JLINES: return fs_hp_journal_lines(in, len, NULL, out, e);
    case P_JLINES_F: return fs_hp_journal_lines(in, len, "Killed process", out, e);
    case P_APT: return fs_hp_apt_policy(in, len, "bash", out, e);
    case P_APT_RE: return fs_hp_apt_policy(in, len, "zlib1g.dev", out, e);
    case P_CONF: return fs_hp_config_value(in, len, out, e);
    }
    return -1;
}

#define DF_HEAD "Filesystem     Type     1-blocks        Used   Available Capacity Mounted on\n"
#define DFI_HEAD "Filesystem     Type      Inodes   IUsed    IFree IUse% Mounted on\n"

#define DU_NUL                                                                                     \
    "4096\t/d/a\0"                                                                                 \
    "1052672\t/d/b\nc\0"                                                                           \
    "2000000\t/d\0"
#define FIND_NUL                                                                                   \
    "100\t1700000000.5\t/a\0"                                                                      \
    "300\t1700000001.0000000000\t/b c\0"

struct pcase {
    enum parser p;
    const char *in;
    size_t len; /* 0 = strlen */
    int rc;
    const char *checks[8][2]; /* path, compact JSON */
};

static const struct pcase pcases[] = {
    /* df, captured on Debian 12 */
    {P_DF,
     DF_HEAD "devtmpfs       devtmpfs  12630487040           0 12630487040       0% /dev\n"
             "/dev/vda       ext4     270553174016 18585427968 84159852544      19% /\n",
     0,
     0,
     {{"filesystems[0].type", "\"devtmpfs\""},
      {"filesystems[1].filesystem", "\"/dev/vda\""},
      {"filesystems[1].size_bytes", "270553174016"},
      {"filesystems[1].used_bytes", "18585427968"},
      {"filesystems[1].avail_bytes", "84159852544"},
      {"filesystems[1].used_percent", "19"},
      {"filesystems[1].mount", "\"/\""},
      {"unparsed_lines", "0"}}},
    /* mount point and device with spaces, "-" capacity, huge and overflowing numbers */
    {P_DF,
     DF_HEAD "/dev/sdb1      ext4     1000 500 400 56% /mnt/my disk\n"
             "//srv/share name cifs 2000 1000 1000 50% /mnt/share  two\n"
             "proc           proc     0 0 0 - /proc\n"
             "/dev/big       xfs      9223372036854775807 1 9223372036854775806 1% /big\n"
             "/dev/huge      xfs      18446744073709551616 1 1 1% /huge\n"
             "garbage line\n\n",
     0,
     0,
     {{"filesystems[0].mount", "\"/mnt/my disk\""},
      {"filesystems[1].filesystem", "\"//srv/share name\""},
      {"filesystems[1].mount", "\"/mnt/share  two\""},
      {"filesystems[2].used_percent", "null"},
      {"filesystems[3].size_bytes", "9223372036854775807"},
      {"unparsed_lines", "2"}}},
    {P_DF, "", 0, -FS_E_INVALID_PAYLOAD, {{0}}},
    {P_DF, "\x01\x02garbage\n", 0, -FS_E_INVALID_PAYLOAD, {{0}}},
    {P_DF, DF_HEAD, 0, 0, {{"filesystems", "[]"}}},
    {P_DFI,
     DFI_HEAD "/dev/vda       ext4     16777216  345678 16431538    3% /\n"
              "tmpfs          tmpfs     3085479       1  3085478    1% /dev/shm\n",
     0,
     0,
     {{"filesystems[0].inodes_total", "16777216"},
      {"filesystems[0].inodes_used", "345678"},
      {"filesystems[0].inodes_free", "16431538"},
      {"filesystems[0].inodes_used_percent", "3"},
      {"filesystems[1].mount", "\"/dev/shm\""}}},
    /* du -0: sorted, NUL separated, a name with a newline */
    {P_DU,
     DU_NUL,
     sizeof(DU_NUL) - 1,
     0,
     {{"entries[0].path", "\"/d\""},
      {"entries[1].path", "\"/d/b\\nc\""},
      {"entries[1].size_bytes", "1052672"},
      {"entries[2].size_bytes", "4096"},
      {"unparsed", "0"}}},
    {P_DU,
     "12\t/x\nbad\n99999999999999999999999\t/y\n",
     0,
     0,
     {{"entries[0].path", "\"/x\""}, {"unparsed", "2"}}},
    {P_DU, "", 0, -FS_E_INVALID_PAYLOAD, {{0}}},
    {P_FIND,
     FIND_NUL,
     sizeof(FIND_NUL) - 1,
     0,
     {{"files[0].path", "\"/b c\""},
      {"files[0].mtime_s", "1700000001"},
      {"files[1].size_bytes", "100"}}},
    {P_FIND, "", 0, 0, {{"files", "[]"}}},
    {P_FIND,
     "1\tnan\t/a\n2\t1e5\t/b\n3\t-5\t/old\n",
     0,
     0,
     {{"files[0].path", "\"/old\""}, {"files[0].mtime_s", "-5"}, {"unparsed", "2"}}},
    /* ps, captured */
    {P_PS,
     "17173 17172 root      0.3  0.0  4080       5 bash\n"
     "    1     0 root      0.2  0.0 11776    7326 process_api\n"
     "  900     1 www-data 12.5  3.1 204800   86400 Web Content\n",
     0,
     0,
     {{"processes[0].pid", "17173"},
      {"processes[0].cpu_percent", "0.29999999999999999"},
      {"processes[1].rss_bytes", "12058624"},
      {"processes[2].command", "\"Web Content\""},
      {"processes[2].user", "\"www-data\""},
      {"processes[2].elapsed_s", "86400"}}},
    {P_PS, "", 0, -FS_E_INVALID_PAYLOAD, {{0}}},
    {P_PS, "x y z\n", 0, -FS_E_INVALID_PAYLOAD, {{0}}},
    {P_MEM,
     "MemTotal:       16384000 kB\nMemFree:         1000000 kB\nMemAvailable:    8192000 kB\n"
     "Buffers:          100000 kB\nCached:          2000000 kB\nSwapCached:            0 kB\n"
     "SwapTotal:       1000000 kB\nSwapFree:         250000 kB\nHugePages_Total:       0\n",
     0,
     0,
     {{"total_bytes", "16777216000"},
      {"available_bytes", "8388608000"},
      {"used_bytes", "8388608000"},
      {"used_percent", "50.0"},
      {"swap_used_bytes", "768000000"},
      {"available_estimated", "false"}}},
    {P_MEM,
     "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 100 kB\nCached: 100 kB\n",
     0,
     0,
     {{"available_bytes", "307200"}, {"available_estimated", "true"}}},
    {P_MEM, "MemFree: 100 kB\n", 0, -FS_E_INVALID_PAYLOAD, {{0}}},
    {P_MEM, "MemTotal: 99999999999999999999 kB\n", 0, -FS_E_INVALID_PAYLOAD, {{0}}},
    {P_LOAD,
     "0.52 0.58 0.59 2/1234 12345\n",
     0,
     0,
     {{"load1", "0.52000000000000002"},
      {"load15", "0.58999999999999997"},
      {"runnable", "2"},
      {"tasks", "1234"},
      {"last_pid", "12345"}}},
    {P_LOAD, "0.52 0.58 0.59 2-1234 12345\n", 0, -FS_E_INVALID_PAYLOAD, {{0}}},
    {P_LOAD, "", 0, -FS_E_INVALID_PAYLOAD, {{0}}},
    {P_SYSD,
     "LoadState=loaded\nActiveState=active\nSubState=running\nNRestarts=3\nExecMainStatus=0\n"
     "ActiveEnterTimestamp=Tue 2026-11-17 09:12:01 UTC\nMemoryCurrent=52428800\n",
     0,
     0,
     {{"found", "true"},
      {"active_state", "\"active\""},
      {"sub_state", "\"running\""},
      {"n_restarts", "3"},
      {"memory_current_bytes", "52428800"},
      {"active_enter_timestamp", "\"Tue 2026-11-17 09:12:01 UTC\""}}},
    {P_SYSD,
     "LoadState=not-found\nActiveState=inactive\nSubState=dead\nNRestarts=0\n"
     "ExecMainStatus=0\nActiveEnterTimestamp=\nMemoryCurrent=[not set]\n",
     0,
     0,
     {{"found", "false"}, {"memory_current_bytes", "null"}, {"active_enter_timestamp", "null"}}},
    {P_SYSD,
     "MemoryCurrent=18446744073709551615\nActiveState=failed\n",
     0,
     0,
     {{"memory_current_bytes", "null"}, {"load_state", "null"}}},
    {P_SYSD, "", 0, -FS_E_INVALID_PAYLOAD, {{0}}},
    {P_JOURNAL,
     "Archived and active journals take up 1.5G in the file system.\n",
     0,
     0,
     {{"bytes", "1610612736"}, {"human", "\"1.5G\""}}},
    {P_JOURNAL,
     "Archived and active journals take up 0B in the file system.\n",
     0,
     0,
     {{"bytes", "0"}}},
    {P_JOURNAL, "Journals take up 8.0M on disk.\n", 0, 0, {{"bytes", "8388608"}}},
    {P_JOURNAL, "No journal files were found.\n", 0, -FS_E_INVALID_PAYLOAD, {{0}}},
    {P_JOURNAL, "take up 9999999E in", 0, -FS_E_INVALID_PAYLOAD, {{0}}},
    {P_LINES,
     "ok\nerror one\r\nfine\nanother err\xff\n",
     0,
     0,
     {{"lines[0]", "\"error one\""},
      {"lines[1]", "\"another err\xef\xbf\xbd\""},
      {"lines_read", "4"},
      {"lines_matched", "2"}}},
    {P_LINES, "", 0, 0, {{"lines", "[]"}, {"lines_read", "0"}}},
    /* ss -H -ltnu, captured and composed */
    {P_SS,
     "tcp   LISTEN 0      128          0.0.0.0:2024      0.0.0.0:*\n"
     "udp   UNCONN 0      0      127.0.0.53%lo:53        0.0.0.0:*\n"
     "tcp   LISTEN 0      4096            [::]:22           [::]:*\n"
     "tcp   LISTEN 0      4096               *:9100            *:*\n"
     "udp   UNCONN 0      0                  *:*               *:*\n"
     "tcp   LISTEN 0      5      [fe80::1]%eth0:546         [::]:*\n",
     0,
     0,
     {{"sockets[0].port", "2024"},
      {"sockets[1].address", "\"127.0.0.53\""},
      {"sockets[1].interface", "\"lo\""},
      {"sockets[2].address", "\"::\""},
      {"sockets[3].address", "\"*\""},
      {"sockets[4].port", "null"},
      {"sockets[5].address", "\"fe80::1\""},
      {"sockets[5].interface", "\"eth0\""}}},
    {P_SS,
     "Netid State Recv-Q Send-Q Local Peer\nLISTEN 0 128 127.0.0.1:80 0.0.0.0:*\nzz\n",
     0,
     0,
     {{"sockets[0].proto", "null"}, {"sockets[0].port", "80"}, {"unparsed", "1"}}},
    {P_SS, "tcp LISTEN 0 1 1.2.3.4:70000 x\n", 0, 0, {{"sockets", "[]"}, {"unparsed", "1"}}},
    /* journalctl --no-pager -q -o short-iso, captured on Debian 12 (systemd 252) */
    {P_JLINES,
     "2026-11-21T21:31:03+0000 vm kernel: EXT4-fs (vda): mounted filesystem r/w without "
     "journal. Quota mode: none.\n"
     "2026-11-21T21:31:03+0000 vm systemd-journald[30685]: Journal started\n"
     "2026-11-21T21:32:16+0000 vm hostile[2790]: red and $(rm -rf /) ; --grep=.*\n",
     0,
     0,
     {{"lines[0]",
       "{\"time\":\"2026-11-21T21:31:03+0000\",\"host\":\"vm\",\"ident\":\"kernel\","
       "\"pid\":null,\"message\":\"EXT4-fs (vda): mounted filesystem r/w without journal. Quota "
       "mode: none.\"}"},
      {"lines[1].ident", "\"systemd-journald\""},
      {"lines[1].pid", "30685"},
      {"lines[1].message", "\"Journal started\""},
      {"lines[2].message", "\"red and $(rm -rf /) ; --grep=.*\""},
      {"lines_read", "3"},
      {"lines_matched", "3"},
      {"lines_cut", "0"}}},
    /* composed: a multi-line message (continuations indented under it), journalctl's notes,
     * no identifier, a fraction and "+00:00", an empty message, and lines that are no entry */
    {P_JLINES,
     "-- Boot 1f2e3d4c5b6a --\n"
     "2026-11-21T10:00:00+0000 web-1 app[77]: first\n"
     "                                        second\n"
     "                                          third, indented\n"
     "2026-11-21T10:00:01.123456+00:00 web-1 a message: with a colon\n"
     "2026-11-21T10:00:02Z web-1 cron[9]:\n"
     "not a journal line\n"
     "   indented after a raw line\n"
     "2026-11-21T10:00:03+0000 web-1 odd[x1]: pid is not a number\n",
     0,
     0,
     {{"lines[0].message", "\"first\\nsecond\\n  third, indented\""},
      {"lines[1]",
       "{\"time\":\"2026-11-21T10:00:01.123456+00:00\",\"host\":\"web-1\",\"ident\":null,"
       "\"pid\":null,\"message\":\"a message: with a colon\"}"},
      {"lines[2].ident", "\"cron\""},
      {"lines[2].message", "\"\""},
      {"lines[3]", "{\"raw\":\"not a journal line\\n   indented after a raw line\"}"},
      {"lines[4].ident", "\"odd[x1]\""},
      {"lines[4].pid", "null"},
      {"lines_read", "5"}}},
    {P_JLINES, "-- No entries --\n", 0, 0, {{"lines", "[]"}, {"lines_read", "0"}}},
    {P_JLINES, "", 0, 0, {{"lines", "[]"}, {"lines_read", "0"}, {"lines_cut", "0"}}},
    /* bad stamps are raw lines, not errors: month 1x, no zone, a zone without minutes */
    {P_JLINES,
     "2026-1x-21T10:00:00+0000 h a: b\n2026-11-21T10:00:00 h a: b\n2026-11-21T10:00:00+00 h a: "
     "b\n2026-11-21T10:00:00+0000\n",
     0,
     0,
     {{"lines[0].raw", "\"2026-1x-21T10:00:00+0000 h a: b\""},
      {"lines[1].raw", "\"2026-11-21T10:00:00 h a: b\""},
      {"lines[2].raw", "\"2026-11-21T10:00:00+00 h a: b\""},
      {"lines[3].raw", "\"2026-11-21T10:00:00+0000\""}}},
    /* the filter: a fixed string, matched in any line of an entry, the stamp and host too */
    {P_JLINES_F,
     "2026-11-21T11:46:02+0000 api-2 kernel: Out of memory: Killed process 41877 (report-gen) "
     "total-vm:23134208kB, anon-rss:11534336kB\n"
     "2026-11-21T11:46:02+0000 api-2 kernel: oom-kill:constraint=CONSTRAINT_NONE,pid=41877\n"
     "2026-11-21T11:47:00+0000 api-2 app[5]: a report\n"
     "                                       Killed process in the second line\n"
     "2026-11-21T11:48:00+0000 api-2 app[5]: killed process (lower case)\n",
     0,
     0,
     {{"lines[0].message",
       "\"Out of memory: Killed process 41877 (report-gen) total-vm:23134208kB, "
       "anon-rss:11534336kB\""},
      {"lines[1].message", "\"a report\\nKilled process in the second line\""},
      {"lines_read", "4"},
      {"lines_matched", "2"}}},
    /* apt-cache policy -- bash, captured on Debian 12 (apt 2.6.1): installed and a newer
     * candidate */
    {P_APT,
     "bash:\n"
     "  Installed: 5.2.15-2+b8\n"
     "  Candidate: 5.2.15-2+b13\n"
     "  Version table:\n"
     "     5.2.15-2+b13 500\n"
     "        500 http://deb.debian.org/debian bookworm/main amd64 Packages\n"
     " *** 5.2.15-2+b8 100\n"
     "        100 /var/lib/dpkg/status\n",
     0,
     0,
     {{"known", "true"},
      {"installed", "\"5.2.15-2+b8\""},
      {"candidate", "\"5.2.15-2+b13\""},
      {"upgradable", "true"}}},
    /* the same output of a package that is not installed (captured: crudini, renamed) */
    {P_APT,
     "bash:\n"
     "  Installed: (none)\n"
     "  Candidate: 0.9.4-1\n"
     "  Version table:\n"
     "     0.9.4-1 500\n"
     "        500 http://deb.debian.org/debian bookworm/main amd64 Packages\n",
     0,
     0,
     {{"known", "true"},
      {"installed", "null"},
      {"candidate", "\"0.9.4-1\""},
      {"upgradable", "false"}}},
    /* an epoch, installed = candidate (captured: zlib1g-dev, renamed) */
    {P_APT,
     "bash:\n"
     "  Installed: 1:1.2.13.dfsg-1\n"
     "  Candidate: 1:1.2.13.dfsg-1\n"
     "  Version table:\n"
     " *** 1:1.2.13.dfsg-1 500\n"
     "        500 http://deb.debian.org/debian bookworm/main amd64 Packages\n"
     "        100 /var/lib/dpkg/status\n",
     0,
     0,
     {{"installed", "\"1:1.2.13.dfsg-1\""}, {"upgradable", "false"}}},
    /* a name apt does not know: apt-cache policy prints nothing at all (captured, exit 0) */
    {P_APT,
     "",
     0,
     0,
     {{"known", "false"}, {"installed", "null"}, {"candidate", "null"}, {"upgradable", "false"}}},
    /* the note apt prints for it elsewhere (apt-cache show, older apt; on stderr) is skipped
     * should it reach stdout */
    {P_APT,
     "N: Unable to locate package bash\n",
     0,
     0,
     {{"known", "false"}, {"installed", "null"}}},
    /* no package named zlib1g.dev, so apt matched it as a regex: zlib1g-dev's block (captured)
     * is not the package asked for */
    {P_APT_RE,
     "zlib1g-dev:\n"
     "  Installed: 1:1.2.13.dfsg-1\n"
     "  Candidate: 1:1.2.13.dfsg-1\n"
     "  Version table:\n"
     " *** 1:1.2.13.dfsg-1 500\n"
     "        500 http://deb.debian.org/debian bookworm/main amd64 Packages\n"
     "        100 /var/lib/dpkg/status\n",
     0,
     0,
     {{"known", "false"}, {"installed", "null"}, {"candidate", "null"}}},
    /* composed: other blocks first, a note, the package only in another architecture, and a
     * prefix of its name that is not it */
    {P_APT,
     "N: Ignoring file 'x.list.disabled' in directory '/etc/apt/sources.list.d/'\n"
     "bash-doc:\n  Installed: 1\n  Candidate: 1\n  Version table:\n"
     "bash:i386:\n  Installed: (none)\n  Candidate: 5.2.15-2+b8\n  Version table:\n"
     "bashx:\n  Installed: 9\n  Candidate: 9\n",
     0,
     0,
     {{"known", "true"}, {"installed", "null"}, {"candidate", "\"5.2.15-2+b8\""}}},
    /* the native block wins over another architecture's, wherever it is; CRLF is read */
    {P_APT,
     "bash:arm64:\r\n  Installed: 2\r\n  Candidate: 2\r\n"
     "bash:\r\n  Installed: 1.0\r\n  Candidate: 1.1\r\n  Version table:\r\n",
     0,
     0,
     {{"installed", "\"1.0\""}, {"candidate", "\"1.1\""}, {"upgradable", "true"}}},
    {P_APT, "bash:\n  Installed: 1.0\n  Version table:\n", 0, -FS_E_INVALID_PAYLOAD, {{0}}},
    {P_APT, "bash:\n  Installed: 1.0 $(id)\n  Candidate: 1.0\n", 0, -FS_E_INVALID_PAYLOAD, {{0}}},
    {P_APT, "bash:\n  Installed: \n  Candidate: 1.0\n", 0, -FS_E_INVALID_PAYLOAD, {{0}}},
    /* crudini --get, captured (crudini 0.9.4): a value, an empty one, one with inner spaces
     * (trailing ones are dropped by crudini), quotes kept, a continued value */
    {P_CONF, "bar\n", 0, 0, {{"exists", "true"}, {"value", "\"bar\""}}},
    {P_CONF, "\n", 0, 0, {{"exists", "true"}, {"value", "\"\""}}},
    {P_CONF, "a b c\n", 0, 0, {{"value", "\"a b c\""}}},
    {P_CONF, "\"x y\"\n", 0, 0, {{"value", "\"\\\"x y\\\"\""}}},
    {P_CONF, "a\nb\n", 0, 0, {{"value", "\"a\\nb\""}}},
    {P_CONF, "caf\xc3\xa9\n", 0, 0, {{"value", "\"caf\xc3\xa9\""}}},
    {P_CONF, "", 0, -FS_E_INVALID_PAYLOAD, {{0}}},
};

static void test_parsers(void **state)
{
    for (size_t i = 0; i < FS_ARRAY_LEN(pcases); i++) {
        const struct pcase *c = &pcases[i];
        size_t len = c->len ? c->len : strlen(c->in);
        json_t *out = (json_t *)1;
        struct fs_err e = {0};
        int rc = run_parser(c->p, c->in, len, &out, &e);
        char ctx[32];
        snprintf(ctx, sizeof(ctx), "parser case %zu", i);
        if (rc != c->rc)
            fail_msg("%s: rc %d (%s), want %d", ctx, rc, e.msg, c->rc);
        if (rc < 0) {
            assert_null(out);
            assert_true(e.msg[0]);
            continue;
        }
        for (size_t k = 0; k < 8 && c->checks[k][0]; k++)
            expect_at(out, c->checks[k][0], c->checks[k][1], ctx);
        json_decref(out);
    }
}

static void test_parser_garbage(void **state)
{
    /* every parser on hostile bytes: no crash, valid JSON out or an error */
    char junk[4096];
    uint32_t x = 12345;
    for (int round = 0; round < 50; round++) {
        for (size_t i = 0; i < sizeof(junk); i++) {
            x = x * 1103515245u + 12345u;
            junk[i] = round % 2 ? (char)(x >> 16) : " \t\n0123456789.:%/-[]\0"[(x >> 16) % 21];
        }
        for (int p = P_DF; p <= P_CONF; p++) {
            json_t *out = NULL;
            struct fs_err e = {0};
            if (run_parser((enum parser)p, junk, sizeof(junk), &out, &e) == 0) {
                char *s = json_dumps(out, JSON_COMPACT);
                assert_non_null(s);
                free(s);
                json_decref(out);
            }
        }
        json_t *out = NULL;
        struct fs_err e = {0};
        if (fs_hp_pem(junk, sizeof(junk), 0, &out, &e) == 0)
            json_decref(out);
    }
    int64_t n;
    struct fs_err e = {0};
    assert_int_equal(fs_hp_nproc("8\n", 2, &n, &e), 0);
    assert_int_equal(n, 8);
    assert_int_equal(fs_hp_nproc("0\n", 2, &n, &e), -FS_E_INVALID_PAYLOAD);
    assert_int_equal(fs_hp_nproc("", 0, &n, &e), -FS_E_INVALID_PAYLOAD);
}

/* ---- certificates ------------------------------------------------------------------------- */

static EVP_PKEY *key;

/* A self-signed certificate valid from now + from_s to now + to_s, as PEM appended to b. */
static void make_cert(struct fs_buf *b, const char *cn, long from_s, long to_s)
{
    if (!key)
        key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(key);
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 4660);
    X509_gmtime_adj(X509_getm_notBefore(x), from_s);
    X509_gmtime_adj(X509_getm_notAfter(x), to_s);
    X509_NAME *nm = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, nm);
    X509_set_pubkey(x, key);
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, x);
    char *p;
    long n = BIO_get_mem_data(bio, &p);
    fs_buf_append(b, p, (size_t)n);
    BIO_free(bio);
    X509_free(x);
}

static void test_cert_expiry(void **state)
{
    struct fs_buf pem = FS_BUF_INIT(0);
    make_cert(&pem, "soon.example", -86400, 30 * 86400 + 3600);
    char path[512];
    snprintf(path, sizeof(path), "%s/one.pem", tmpdir);
    write_file(path, pem.data, pem.len);

    char args[600];
    snprintf(args, sizeof(args), "{\"path\":\"%s\"}", path);
    struct fs_tool_result r = {0};
    call_good("host.cert_expiry", args, NULL, &r);
    expect_at(r.structured, "certificates[0].subject", "\"CN=soon.example\"", "cert");
    expect_at(r.structured, "certificates[0].issuer", "\"CN=soon.example\"", "cert");
    expect_at(r.structured, "certificates[0].days_left", "30", "cert");
    expect_at(r.structured, "certificates[0].expired", "false", "cert");
    expect_at(r.structured, "certificates[0].serial", "\"1234\"", "cert");
    expect_at(r.structured, "min_days_left", "30", "cert");
    fs_tool_result_release(&r);

    /* a bundle with an expired certificate and a key in the middle: earliest wins */
    BIO *kb = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL);
    char *kp;
    long kn = BIO_get_mem_data(kb, &kp);
    fs_buf_append(&pem, kp, (size_t)kn);
    BIO_free(kb);
    make_cert(&pem, "old.example", -10 * 86400, -2 * 86400 + 60);
    snprintf(path, sizeof(path), "%s/bundle.pem", tmpdir);
    write_file(path, pem.data, pem.len);
    snprintf(args, sizeof(args), "{\"path\":\"%s\"}", path);
    call_good("host.cert_expiry", args, NULL, &r);
    expect_at(r.structured, "certificates[1].subject", "\"CN=old.example\"", "bundle");
    expect_at(r.structured, "certificates[1].expired", "true", "bundle");
    expect_at(r.structured, "min_days_left", "-2", "bundle");
    assert_null(strstr(r.text, "PRIVATE KEY")); /* nothing but certificate facts */
    fs_tool_result_release(&r);
    fs_buf_release(&pem);

    /* not a certificate; missing file; a system certificate when there is one */
    snprintf(path, sizeof(path), "%s/notes.txt", tmpdir);
    write_file(path, "hello secret world\n", 19);
    snprintf(args, sizeof(args), "{\"path\":\"%s\"}", path);
    call_ok("host.cert_expiry", args, NULL, &r);
    assert_true(r.is_error);
    assert_non_null(strstr(r.text, "no PEM certificate"));
    assert_null(strstr(r.text, "secret world"));
    fs_tool_result_release(&r);
    snprintf(args, sizeof(args), "{\"path\":\"%s/missing.pem\"}", tmpdir);
    call_ok("host.cert_expiry", args, NULL, &r);
    assert_true(r.is_error);
    assert_non_null(strstr(r.text, "cat exited with status 1"));
    fs_tool_result_release(&r);
    if (access("/etc/ssl/certs/ca-certificates.crt", R_OK) == 0) {
        call_good("host.cert_expiry", "{\"path\":\"/etc/ssl/certs/ca-certificates.crt\"}", NULL,
                  &r);
        assert_int_equal(json_array_size(json_object_get(r.structured, "certificates")),
                         FS_HP_MAX_CERTS);
        fs_tool_result_release(&r);
    }
    EVP_PKEY_free(key);
    key = NULL;
}

/* ---- real local runs ---------------------------------------------------------------------- */

static void test_df_local(void **state)
{
    struct fs_tool_result r = {0};
    call_good("host.fs_usage", NULL, NULL, &r);
    json_t *arr = json_object_get(r.structured, "filesystems");
    assert_true(json_array_size(arr) >= 1);
    size_t i;
    json_t *f;
    json_array_foreach(arr, i, f)
    {
        assert_true(json_integer_value(json_object_get(f, "size_bytes")) > 0);
        assert_false(fs_streq(json_string_value(json_object_get(f, "type")), "proc"));
    }
    fs_tool_result_release(&r);

    char args[400];
    snprintf(args, sizeof(args), "{\"mount\":\"%s\"}", tmpdir);
    call_good("host.fs_usage", args, NULL, &r);
    arr = json_object_get(r.structured, "filesystems");
    assert_int_equal(json_array_size(arr), 1);
    json_t *one = json_array_get(arr, 0);
    assert_true(json_integer_value(json_object_get(one, "used_bytes")) <=
                json_integer_value(json_object_get(one, "size_bytes")));
    fs_tool_result_release(&r);

    call_good("host.inode_usage", args, NULL, &r);
    arr = json_object_get(r.structured, "filesystems");
    assert_int_equal(json_array_size(arr), 1);
    assert_non_null(json_object_get(json_array_get(arr, 0), "inodes_total"));
    fs_tool_result_release(&r);

    /* a mount that does not exist: df reports it, the tool says so */
    call_ok("host.fs_usage", "{\"mount\":\"/nonexistent/forestall\"}", NULL, &r);
    assert_true(r.is_error);
    assert_non_null(strstr(r.text, "df exited with status 1"));
    fs_tool_result_release(&r);
}

static void test_du_find_local(void **state)
{
    char p[512], args[700];
    snprintf(p, sizeof(p), "%s/tree", tmpdir);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/tree/big", tmpdir);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/tree/small", tmpdir);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/tree/big/one MiB.bin", tmpdir);
    write_filled(p, 1 << 20);
    snprintf(p, sizeof(p), "%s/tree/big/three.bin", tmpdir);
    write_filled(p, 3 << 20);
    snprintf(p, sizeof(p), "%s/tree/small/tiny.txt", tmpdir);
    write_filled(p, 2048);

    struct fs_tool_result r = {0};
    snprintf(args, sizeof(args), "{\"path\":\"%s/tree\"}", tmpdir);
    call_good("host.dir_sizes", args, NULL, &r);
    snprintf(p, sizeof(p), "\"%s/tree/big\"", tmpdir);
    expect_at(r.structured, "entries[0].path", p, "du");
    assert_true(json_integer_value(jget(r.structured, "entries[0].size_bytes")) >= 4 << 20);
    assert_true(json_integer_value(jget(r.structured, "total_bytes")) >= 4 << 20);
    expect_at(r.structured, "entries_total", "2", "du");
    fs_tool_result_release(&r);

    snprintf(args, sizeof(args), "{\"path\":\"%s/tree\",\"depth\":2,\"limit\":1}", tmpdir);
    call_good("host.dir_sizes", args, NULL, &r);
    assert_int_equal(json_array_size(json_object_get(r.structured, "entries")), 1);
    expect_at(r.structured, "entries_total", "2", "du depth 2"); /* du lists directories only */
    fs_tool_result_release(&r);

    snprintf(args, sizeof(args), "{\"path\":\"%s/tree\",\"min_size_bytes\":1048576}", tmpdir);
    call_good("host.largest_files", args, NULL, &r);
    snprintf(p, sizeof(p), "\"%s/tree/big/three.bin\"", tmpdir);
    expect_at(r.structured, "files[0].path", p, "find");
    expect_at(r.structured, "files[0].size_bytes", "3145728", "find");
    snprintf(p, sizeof(p), "\"%s/tree/big/one MiB.bin\"", tmpdir);
    expect_at(r.structured, "files[1].path", p, "find"); /* exactly the minimum: included */
    expect_at(r.structured, "files_matched", "2", "find");
    assert_true(json_integer_value(jget(r.structured, "files[0].age_s")) < 60);
    fs_tool_result_release(&r);

    snprintf(args, sizeof(args), "{\"path\":\"%s/tree\",\"min_size_bytes\":0,\"limit\":100}",
             tmpdir);
    call_good("host.largest_files", args, NULL, &r);
    expect_at(r.structured, "files_matched", "3", "find all");
    fs_tool_result_release(&r);

    snprintf(args, sizeof(args), "{\"path\":\"%s/none\"}", tmpdir);
    call_ok("host.dir_sizes", args, NULL, &r);
    assert_true(r.is_error);
    assert_non_null(strstr(r.text, "No such file"));
    fs_tool_result_release(&r);
}

static void test_proc_tools_local(void **state)
{
    struct fs_tool_result r = {0};
    call_good("host.top_processes", "{\"limit\":5}", NULL, &r);
    size_t n = json_array_size(json_object_get(r.structured, "processes"));
    assert_true(n >= 1 && n <= 5);
    assert_true(json_integer_value(json_object_get(r.structured, "processes_total")) >= (int)n);
    fs_tool_result_release(&r);

    call_good("host.top_processes", "{\"sort\":\"memory\",\"limit\":20}", NULL, &r);
    json_t *arr = json_object_get(r.structured, "processes");
    for (size_t i = 1; i < json_array_size(arr); i++)
        assert_true(json_integer_value(jget(json_array_get(arr, i - 1), "rss_bytes")) >=
                    json_integer_value(jget(json_array_get(arr, i), "rss_bytes")));
    expect_at(r.structured, "sort", "\"memory\"", "ps");
    fs_tool_result_release(&r);

    call_good("host.memory", NULL, NULL, &r);
    json_int_t total = json_integer_value(json_object_get(r.structured, "total_bytes"));
    assert_true(total > 0);
    assert_true(json_integer_value(json_object_get(r.structured, "available_bytes")) <= total);
    fs_tool_result_release(&r);

    call_good("host.load", "{}", NULL, &r);
    assert_int_equal(json_integer_value(json_object_get(r.structured, "cores")),
                     sysconf(_SC_NPROCESSORS_ONLN));
    assert_true(json_real_value(json_object_get(r.structured, "load1")) >= 0);
    fs_tool_result_release(&r);
}

static void test_ss_local(void **state)
{
    if (!have_program("ss"))
        skip();
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 1), 0);
    socklen_t al = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &al);
    int port = ntohs(a.sin_port);
    struct fs_tool_result r = {0};
    call_good("host.listening_ports", NULL, NULL, &r);
    close(fd);
    bool found = false;
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(r.structured, "sockets"), i, s)
    {
        found = found || (json_integer_value(json_object_get(s, "port")) == port &&
                          fs_streq(json_string_value(json_object_get(s, "address")), "127.0.0.1") &&
                          fs_streq(json_string_value(json_object_get(s, "proto")), "tcp"));
    }
    if (!found)
        fail_msg("port %d not listed: %s", port, r.text);
    fs_tool_result_release(&r);
}

static void test_systemd_tools_local(void **state)
{
    /* whatever this machine is (systemd, no systemd, no systemctl), the answer is clear */
    struct fs_tool_result r = {0};
    call_ok("host.service_status", "{\"unit\":\"forestall-test-nope.service\"}", NULL, &r);
    if (r.is_error)
        assert_true(strstr(r.text, "systemctl") != NULL);
    else
        expect_at(r.structured, "found", "false", "systemctl");
    fs_tool_result_release(&r);
    call_ok("host.journal_disk_usage", NULL, NULL, &r);
    if (r.is_error)
        assert_true(strstr(r.text, "journalctl") != NULL);
    else
        assert_true(json_integer_value(json_object_get(r.structured, "bytes")) >= 0);
    fs_tool_result_release(&r);
}

/* A stand-in for the target of host.journal_lines: records the argv it was handed and prints a
 * fixed journal, as the simulator would (core/sim.h). */
static json_t *seen_argv;
static const char *journal_out;

static int standin_journal_run(const struct fs_sim *s, const char *host, struct fs_child *c,
                               struct fs_err *err)
{
    json_decref(seen_argv);
    seen_argv = json_array();
    for (size_t i = 0; c->argv[i]; i++)
        json_array_append_new(seen_argv, json_string(c->argv[i]));
    fs_buf_init(&c->out, 0);
    fs_buf_init(&c->err, 0);
    c->out.max = c->max_stdout;
    c->err.max = c->max_stderr;
    if (fs_buf_puts(&c->out, journal_out) < 0 || fs_buf_reserve(&c->err, 1) < 0)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    c->err.data[0] = '\0';
    c->exit_code = 0;
    return 0;
}

/* The argv of host.journal_lines: fixed words and one "--name=value" per typed selector, no
 * shell; the filter never reaches it and a hostile filter is matched byte for byte. */
static void test_journal_argv(void **state)
{
    struct fs_sim sim = {.run = standin_journal_run};
    struct fs_tool_ctx ctx = {.target = FS_TOOL_SIM, .sim = &sim, .sim_host = "web-1"};
    static const char hostile[] = "$(rm -rf /); --grep=.* `id` 'x' \\\"y\\\" | sh";
    journal_out = "2026-11-21T10:00:00+0000 web-1 kernel: Out of memory: Killed process 1 (a)\n"
                  "2026-11-21T10:00:01+0000 web-1 app[2]: $(rm -rf /); --grep=.* `id` 'x' "
                  "\"y\" | sh\n"
                  "2026-11-21T10:00:02+0000 web-1 app[2]: $(rm -rf /)\n";
    struct fs_tool_result r = {0};
    char args[512];
    snprintf(args, sizeof(args),
             "{\"kernel\":true,\"lines\":7,\"since\":\"2d\",\"priority\":\"warning\","
             "\"filter\":\"%s\"}",
             hostile);
    call_good("host.journal_lines", args, &ctx, &r);
    expect_at(seen_argv, "",
              "[\"journalctl\",\"--no-pager\",\"-q\",\"-o\",\"short-iso\",\"-n\",\"7\",\"-k\","
              "\"--priority=warning\",\"--since=-2d\"]",
              "argv");
    expect_at(r.structured, "lines_read", "3", "hostile filter");
    expect_at(r.structured, "lines_matched", "1", "hostile filter");
    expect_at(r.structured, "lines[0].pid", "2", "hostile filter");
    expect_at(r.structured, "kernel", "true", "echo");
    expect_at(r.structured, "since", "\"2d\"", "echo");
    fs_tool_result_release(&r);

    call_good("host.journal_lines", "{\"unit\":\"postgresql@15-main.service\"}", &ctx, &r);
    expect_at(seen_argv, "",
              "[\"journalctl\",\"--no-pager\",\"-q\",\"-o\",\"short-iso\",\"-n\",\"100\","
              "\"--unit=postgresql@15-main.service\"]",
              "argv");
    expect_at(r.structured, "lines_matched", "3", "no filter");
    expect_at(r.structured, "unit", "\"postgresql@15-main.service\"", "echo");
    expect_at(r.structured, "priority", "null", "echo");
    fs_tool_result_release(&r);
    json_decref(seen_argv);
    seen_argv = NULL;

    /* a message longer than 4 KiB, in its first line and its continuations: cut with a marker,
     * said in the result */
    size_t big = 3 * FS_HP_MAX_LINE;
    char *out = malloc(big + 200);
    int n = snprintf(out, 200, "2026-11-21T10:00:00+0000 web-1 app[2]: ");
    memset(out + n, 'x', FS_HP_MAX_LINE);
    memcpy(out + n + FS_HP_MAX_LINE, "\n   ", 4);
    memset(out + n + FS_HP_MAX_LINE + 4, 'y', FS_HP_MAX_LINE);
    memcpy(out + n + 2 * FS_HP_MAX_LINE + 4, "\n", 2);
    journal_out = out;
    call_good("host.journal_lines", "{\"filter\":\"yyy\"}", &ctx, &r);
    expect_at(r.structured, "lines_cut", "1", "cut");
    assert_true(r.truncated);
    const char *m = json_string_value(jget(r.structured, "lines[0].message"));
    assert_non_null(m);
    assert_non_null(strstr(m, " [... 4097 bytes cut]"));
    assert_int_equal(strspn(m, "x"), FS_HP_MAX_LINE);
    fs_tool_result_release(&r);
    free(out);
    json_decref(seen_argv);
    seen_argv = NULL;
}

/* A stand-in for a host with apt-cache and crudini: records the argv, prints what prog_out /
 * prog_err say and exits prog_exit; prog_missing = no such program (as fs_child_run says). */
static const char *prog_out, *prog_err;
static int prog_exit;
static bool prog_missing;

static int standin_prog_run(const struct fs_sim *s, const char *host, struct fs_child *c,
                            struct fs_err *err)
{
    json_decref(seen_argv);
    seen_argv = json_array();
    for (size_t i = 0; c->argv[i]; i++)
        json_array_append_new(seen_argv, json_string(c->argv[i]));
    if (prog_missing)
        return fs_err_set(err, FS_E_NOT_FOUND, NULL, "cannot run '%s': not found in PATH",
                          c->argv[0]);
    fs_buf_init(&c->out, 0);
    fs_buf_init(&c->err, 0);
    c->out.max = c->max_stdout;
    c->err.max = c->max_stderr;
    /* what fs_child_run does with more than max_stdout: keep the first bytes, say so */
    size_t n = strlen(prog_out);
    c->stdout_truncated = n > c->max_stdout;
    if (fs_buf_append(&c->out, prog_out, c->stdout_truncated ? c->max_stdout : n) < 0 ||
        fs_buf_puts(&c->err, prog_err) < 0 || fs_buf_reserve(&c->out, 0) < 0 ||
        fs_buf_reserve(&c->err, 0) < 0)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    c->exit_code = prog_exit;
    return 0;
}

static void set_prog(const char *out, const char *err, int code)
{
    prog_out = out;
    prog_err = err;
    prog_exit = code;
    prog_missing = false;
}

/* The argv of host.package_version and host.config_get (the operands after "--", the empty
 * section of crudini's top-level keys), and what they make of each answer. */
static void test_package_config_argv(void **state)
{
    struct fs_sim sim = {.run = standin_prog_run};
    struct fs_tool_ctx ctx = {.target = FS_TOOL_SIM, .sim = &sim, .sim_host = "web-1"};
    struct fs_tool_result r = {0};

    set_prog("g++:\n  Installed: 4:12.2.0-3\n  Candidate: 4:12.2.0-3\n  Version table:\n", "", 0);
    call_good("host.package_version", "{\"package\":\"g++\"}", &ctx, &r);
    expect_at(seen_argv, "", "[\"apt-cache\",\"policy\",\"--\",\"g++\"]", "argv");
    expect_at(r.structured, "",
              "{\"known\":true,\"installed\":\"4:12.2.0-3\",\"candidate\":\"4:12.2.0-3\","
              "\"upgradable\":false,\"package\":\"g++\"}",
              "package_version");
    fs_tool_result_release(&r);
    /* apt-cache failing is a tool failure with its reason */
    set_prog("", "E: The package lists or status file could not be parsed or opened.\n", 100);
    call_ok("host.package_version", "{\"package\":\"bash\"}", &ctx, &r);
    assert_true(r.is_error);
    assert_non_null(strstr(r.text, "apt-cache exited with status 100: E: The package lists"));
    fs_tool_result_release(&r);

    /* a value */
    set_prog("200\n", "", 0);
    call_good("host.config_get", "{\"file\":\"/etc/app/app.conf\",\"key\":\"max_conn\"}", &ctx, &r);
    expect_at(seen_argv, "",
              "[\"crudini\",\"--get\",\"--\",\"/etc/app/app.conf\",\"\",\"max_conn\"]", "argv");
    expect_at(r.structured, "",
              "{\"exists\":true,\"value\":\"200\",\"file\":\"/etc/app/app.conf\","
              "\"key\":\"max_conn\"}",
              "config_get");
    assert_int_equal(r.redactions, 0);
    fs_tool_result_release(&r);
    /* no such key: an answer, whole (crudini 0.9.4's words and status) */
    set_prog("", "Parameter not found: max_conn\n", 1);
    call_good("host.config_get", "{\"file\":\"/etc/app/app.conf\",\"key\":\"max_conn\"}", &ctx, &r);
    expect_at(r.structured, "exists", "false", "missing key");
    expect_at(r.structured, "value", "null", "missing key");
    assert_null(json_object_get(r.structured, "partial"));
    fs_tool_result_release(&r);
    /* no such file: an error, with crudini's reason */
    set_prog("", "[Errno 2] No such file or directory: '/etc/app/app.conf'\n", 1);
    call_ok("host.config_get", "{\"file\":\"/etc/app/app.conf\",\"key\":\"max_conn\"}", &ctx, &r);
    assert_true(r.is_error);
    assert_non_null(strstr(r.text, "crudini exited with status 1: [Errno 2] No such file"));
    fs_tool_result_release(&r);
    /* a key that names a secret: its value never leaves the tool */
    set_prog("hunter2-is-not-a-good-one\n", "", 0);
    call_good("host.config_get", "{\"file\":\"/etc/mysql/debian.cnf\",\"key\":\"db_password\"}",
              &ctx, &r);
    expect_at(r.structured, "value", "\"[REDACTED:password]\"", "secret key");
    expect_at(r.structured, "exists", "true", "secret key");
    assert_null(strstr(r.text, "hunter2"));
    assert_true(r.redactions >= 1);
    fs_tool_result_release(&r);
    /* a value longer than the cap is refused, not cut */
    size_t big = 70 * 1024;
    char *huge = malloc(big + 1);
    memset(huge, 'v', big);
    huge[big] = '\0';
    set_prog(huge, "", 0);
    call_ok("host.config_get", "{\"file\":\"/etc/app.conf\",\"key\":\"k\"}", &ctx, &r);
    assert_true(r.is_error);
    assert_non_null(strstr(r.text, "larger than 64 KiB"));
    fs_tool_result_release(&r);
    free(huge);
    /* not installed: said so, with the package to install */
    set_prog("", "", 0);
    prog_missing = true;
    call_ok("host.config_get", "{\"file\":\"/etc/app.conf\",\"key\":\"k\"}", &ctx, &r);
    assert_true(r.is_error);
    assert_non_null(
        strstr(r.text, "crudini is not installed on this host (Debian package crudini)"));
    fs_tool_result_release(&r);
    prog_missing = false;
    json_decref(seen_argv);
    seen_argv = NULL;
}

/* This machine's apt and crudini, for real: bash is known to apt on any Debian; crudini may
 * be missing, which the tool says in so many words. */
static void test_package_config_local(void **state)
{
    struct fs_tool_result r = {0};
    call_ok("host.package_version", "{\"package\":\"bash\"}", NULL, &r);
    if (!have_program("apt-cache")) {
        assert_true(r.is_error);
        assert_non_null(strstr(r.text, "apt-cache is not installed"));
    } else {
        if (r.is_error)
            fail_msg("apt-cache: %s", r.text);
        expect_at(r.structured, "known", "true", "bash");
        expect_at(r.structured, "package", "\"bash\"", "bash");
        assert_true(json_is_boolean(json_object_get(r.structured, "upgradable")));
    }
    fs_tool_result_release(&r);
    if (have_program("apt-cache")) {
        call_good("host.package_version", "{\"package\":\"no-such-package-forestall\"}", NULL, &r);
        expect_at(r.structured, "known", "false", "unknown");
        expect_at(r.structured, "installed", "null", "unknown");
        fs_tool_result_release(&r);
    }
    call_ok("host.config_get", "{\"file\":\"/etc/forestall-unit-no-such.conf\",\"key\":\"k\"}",
            NULL, &r);
    assert_true(r.is_error);
    if (!have_program("crudini"))
        assert_non_null(strstr(r.text, "crudini is not installed on this host"));
    else
        assert_non_null(strstr(r.text, "No such file"));
    fs_tool_result_release(&r);
}

/* This machine's own journal through the real journalctl (often empty in a container): the tool
 * runs, or says journalctl is missing. */
static void test_journal_local(void **state)
{
    struct fs_tool_result r = {0};
    call_ok("host.journal_lines", "{\"kernel\":true,\"lines\":5}", NULL, &r);
    if (!have_program("journalctl")) {
        assert_true(r.is_error);
        assert_non_null(strstr(r.text, "journalctl"));
    } else {
        if (r.is_error)
            fail_msg("journalctl: %s", r.text);
        assert_true(json_is_array(json_object_get(r.structured, "lines")));
        assert_true(json_integer_value(json_object_get(r.structured, "lines_read")) <= 5);
        expect_at(r.structured, "kernel", "true", "local");
    }
    fs_tool_result_release(&r);
}

static void test_log_lines_local(void **state)
{
    char logs[300], p[400], args[900];
    snprintf(logs, sizeof(logs), "%s/log", tmpdir);
    mkdir(logs, 0755);
    const char *roots[] = {logs, NULL};
    struct fs_tool_ctx ctx = {.log_roots = roots};
    snprintf(p, sizeof(p), "%s/app.log", logs);
    write_file(p, "one\nerror: two\nthree\nerror: four\n", 33);

    struct fs_tool_result r = {0};
    snprintf(args, sizeof(args), "{\"path\":\"%s\",\"lines\":3,\"filter\":\"error\"}", p);
    call_good("host.log_lines", args, &ctx, &r);
    expect_at(r.structured, "lines", "[\"error: two\",\"error: four\"]", "tail");
    expect_at(r.structured, "lines_read", "3", "tail");
    fs_tool_result_release(&r);

    /* the production root still applies without the ctx field */
    struct fs_err e = {0};
    json_t *a = J(args);
    assert_int_equal(fs_tools_call(reg, "host.log_lines", a, NULL, &r, &e), -FS_E_INVALID_PAYLOAD);
    assert_string_equal(e.path, "path");
    json_decref(a);

    /* a symlink below the root that leads out of it */
    snprintf(p, sizeof(p), "%s/escape.log", logs);
    char target[400];
    snprintf(target, sizeof(target), "%s/tree/small/tiny.txt", tmpdir);
    assert_int_equal(symlink("/etc/hostname", p), 0);
    snprintf(args, sizeof(args), "{\"path\":\"%s\"}", p);
    call_ok("host.log_lines", args, &ctx, &r);
    assert_true(r.is_error);
    assert_non_null(strstr(r.text, "resolves outside"));
    fs_tool_result_release(&r);

    const char *bad_roots[] = {"relative/dir", NULL};
    struct fs_tool_ctx bad = {.log_roots = bad_roots};
    a = J(args);
    assert_int_equal(fs_tools_call(reg, "host.log_lines", a, &bad, &r, &e), -FS_E_INVALID);
    json_decref(a);
}

static const char hostile_head[] = "\x1b[31mred\x1b[0m plain\x1b]0;title\x07 bell\a\n"
                                   "nul\0byte\n"
                                   "Authorization: Bearer abcdef0123456789abcdef0123456789\n";

static void check_clean(const struct fs_tool_result *r, size_t max)
{
    assert_non_null(r->text);
    assert_true(strlen(r->text) <= max + 64); /* the cap plus its note */
    assert_null(strchr(r->text, '\x1b'));
    assert_null(strchr(r->text, '\a'));
    assert_null(strstr(r->text, "abcdef0123456789"));
    assert_null(strstr(r->text, "[31m"));
    assert_true(r->truncated);
    if (r->structured) {
        char *s = json_dumps(r->structured, JSON_COMPACT);
        assert_null(strstr(s, "\\u001b"));
        assert_null(strstr(s, "\\u0000"));
        assert_null(strstr(s, "abcdef0123456789"));
        assert_non_null(strstr(s, "[REDACTED"));
        free(s);
    }
}

static int hostile_handler(void *cl, const json_t *args, const struct fs_tool_ctx *ctx,
                           struct fs_tool_result *out, struct fs_err *err)
{
    size_t n = 10u << 20;
    char *t = malloc(n + 1);
    memset(t, 'A', n);
    memcpy(t, hostile_head, sizeof(hostile_head) - 1);
    t[n] = '\0';
    /* structured strings may carry NULs and escapes too */
    out->structured = json_object();
    json_object_set_new(out->structured, "line",
                        json_stringn(hostile_head, sizeof(hostile_head) - 1));
    json_object_set_new(out->structured, "password", json_string("hunter2hunter2"));
    /* text is a C string: the NUL would end it, so put the tail after a visible marker */
    for (size_t i = 0; i < sizeof(hostile_head) - 1; i++)
        if (!t[i])
            t[i] = ' ';
    out->text = t;
    return 0;
}

static void test_hostile_output(void **state)
{
    /* through a registered tool */
    struct fs_err e = {0};
    assert_int_equal(fs_registry_add(reg, "test.hostile", NULL, "Prints nasty output.",
                                     "{\"type\":\"object\"}", NULL, hostile_handler, NULL, &e),
                     0);
    struct fs_tool_ctx ctx = {.max_output = 4096};
    struct fs_tool_result r = {0};
    call_ok("test.hostile", NULL, &ctx, &r);
    check_clean(&r, 4096);
    assert_non_null(strstr(r.text, "[REDACTED"));
    char *sj = json_dumps(r.structured, 0);
    assert_null(strstr(sj, "hunter2"));
    free(sj);
    assert_true(r.redactions >= 2);
    fs_tool_result_release(&r);

    /* through host.log_lines on a real file: escapes, NULs, a secret and a 10 MB line */
    char logs[300], p[400], args[600];
    snprintf(logs, sizeof(logs), "%s/hostile", tmpdir);
    mkdir(logs, 0755);
    snprintf(p, sizeof(p), "%s/evil.log", logs);
    size_t n = 10u << 20;
    char *d = malloc(n);
    memset(d, 'B', n);
    memcpy(d, hostile_head, sizeof(hostile_head) - 1);
    d[n - 1] = '\n';
    write_file(p, d, n);
    free(d);
    const char *roots[] = {logs, NULL};
    struct fs_tool_ctx lctx = {.log_roots = roots, .max_output = 8192};
    snprintf(args, sizeof(args), "{\"path\":\"%s\",\"lines\":10}", p);
    int64_t t0 = fs_mono_ns();
    call_good("host.log_lines", args, &lctx, &r);
    assert_true((fs_mono_ns() - t0) / 1000000 < 3000);
    check_clean(&r, 8192);
    expect_at(r.structured, "lines_cut", "1", "hostile");
    expect_at(r.structured, "output_truncated", "true", "hostile");
    fs_tool_result_release(&r);
}

static void test_ssh_target(void **state)
{
    /* a host that reads as an option is refused before anything runs */
    struct fs_tool_ctx ctx = {.target = FS_TOOL_SSH, .ssh = {.host = "-oProxyCommand=x"}};
    struct fs_tool_result r = {0};
    struct fs_err e = {0};
    assert_int_equal(fs_tools_call(reg, "host.memory", NULL, &ctx, &r, &e), -FS_E_INVALID);
    /* an unreachable host is a tool failure with ssh's reason (loopback, closed port) */
    ctx.ssh = (struct fs_ssh_target){.host = "127.0.0.1", .port = 1, .connect_timeout_s = 2};
    ctx.timeout_ms = 4000;
    call_ok("host.memory", NULL, &ctx, &r);
    assert_true(r.is_error);
    assert_true(strstr(r.text, "ssh") != NULL);
    fs_tool_result_release(&r);
}

/* A directory of stated capacity is a filesystem to host.fs_usage: its own mount, the stated
 * size, used = what du counts; any path below it resolves to it; the mount table lists it. */
static void test_stated_capacity(void **state)
{
    char dir[300], sub[320], file[340], item[320];
    snprintf(dir, sizeof(dir), "%s/stated", tmpdir);
    snprintf(sub, sizeof(sub), "%s/journal", dir);
    snprintf(file, sizeof(file), "%s/big", sub);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(mkdir(sub, 0700), 0);
    static char data[2 << 20];
    memset(data, 'x', sizeof(data));
    write_file(file, data, sizeof(data));
    snprintf(item, sizeof(item), "%s=8MiB", dir);
    char *items[] = {item, NULL};
    struct fs_strlist stated = {items, 1};
    struct fs_tool_ctx ctx = {.stated_capacity = &stated};
    struct fs_tool_result r = {0};
    struct fs_err err;
    char args[400];
    snprintf(args, sizeof(args), "{\"mount\":\"%s\"}", sub);
    json_t *a = J(args);
    assert_int_equal(fs_tools_call(reg, "host.fs_usage", a, &ctx, &r, &err), 0);
    assert_false(r.is_error);
    json_t *fs = jget(r.structured, "filesystems[0]");
    assert_string_equal(json_string_value(json_object_get(fs, "type")), "stated");
    assert_string_equal(json_string_value(json_object_get(fs, "mount")), dir);
    assert_int_equal(json_integer_value(json_object_get(fs, "size_bytes")), 8 << 20);
    json_int_t used = json_integer_value(json_object_get(fs, "used_bytes"));
    assert_true(used >= (2 << 20) && used < (3 << 20));
    assert_int_equal(json_integer_value(json_object_get(fs, "avail_bytes")), (8 << 20) - used);
    assert_int_equal(json_integer_value(json_object_get(fs, "used_percent")),
                     (used * 100 + (8 << 20) - 1) / (8 << 20));
    assert_int_equal(json_array_size(json_object_get(r.structured, "filesystems")), 1);
    fs_tool_result_release(&r);
    json_decref(a);
    /* a path outside it is measured by df as before */
    a = J("{\"mount\":\"/\"}");
    assert_int_equal(fs_tools_call(reg, "host.fs_usage", a, &ctx, &r, &err), 0);
    assert_string_not_equal(json_string_value(jget(r.structured, "filesystems[0].type")), "stated");
    fs_tool_result_release(&r);
    json_decref(a);
    /* the mount table lists it */
    assert_int_equal(fs_tools_call(reg, "host.fs_usage", NULL, &ctx, &r, &err), 0);
    bool listed = false;
    json_t *all = json_object_get(r.structured, "filesystems");
    for (size_t i = 0; i < json_array_size(all); i++)
        listed |= fs_streq(json_string_value(jget(json_array_get(all, i), "mount")), dir);
    assert_true(listed);
    fs_tool_result_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_shape),
        cmocka_unit_test(test_register_and_call),
        cmocka_unit_test(test_argument_errors),
        cmocka_unit_test(test_doc_markdown),
        cmocka_unit_test(test_parsers),
        cmocka_unit_test(test_parser_garbage),
        cmocka_unit_test(test_cert_expiry),
        cmocka_unit_test(test_df_local),
        cmocka_unit_test(test_du_find_local),
        cmocka_unit_test(test_proc_tools_local),
        cmocka_unit_test(test_ss_local),
        cmocka_unit_test(test_systemd_tools_local),
        cmocka_unit_test(test_log_lines_local),
        cmocka_unit_test(test_hostile_output),
        cmocka_unit_test(test_journal_argv),
        cmocka_unit_test(test_journal_local),
        cmocka_unit_test(test_ssh_target),
        cmocka_unit_test(test_stated_capacity),
        cmocka_unit_test(test_package_config_argv),
        cmocka_unit_test(test_package_config_local),
    };
    return cmocka_run_group_tests(tests, setup, tools_teardown);
}
