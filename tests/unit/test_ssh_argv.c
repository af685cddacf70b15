/* Unit tests for the remote half of fs_ssh_argv: the one string ssh hands to sshd, which runs
 * it with the remote user's shell (`$SHELL -c STRING`), must give the remote program exactly
 * the argv it was built from. Each case is built with fs_ssh_argv, the last element run through
 * every POSIX shell on this machine (sh, dash, bash; zsh, ksh, mksh, busybox when present) with
 * fs_child_run — `SHELL -c STRING` as an argv, no shell of ours in between — as
 * `printf '%s\0' ARG...`, and the NUL-separated output compared with the original arguments one
 * by one (so an argument split in two, merged, expanded or dropped fails). Cases: fixed hostile
 * strings (quotes, $(), backticks, globs, newlines, every byte 1..255), many arguments at once,
 * and seeded random byte strings. No network: the ssh program is never run here (see
 * tests/integration/test_ssh.py for a real sshd). */
#include "unit.h"

#include <unistd.h>

#include "core/buf.h"
#include "core/proc.h"

#define MAX_CASE_ARGS 64

static const char *shells[8];
static size_t nshells;

static int setup(void **state)
{
    static const char *const candidates[] = {"/bin/sh",      "/bin/dash", "/bin/bash",
                                             "/usr/bin/zsh", "/bin/ksh",  "/usr/bin/mksh",
                                             "/bin/busybox"};
    for (size_t i = 0; i < FS_ARRAY_LEN(candidates); i++)
        if (access(candidates[i], X_OK) == 0)
            shells[nshells++] = candidates[i];
    return nshells ? 0 : -1;
}

/* The remote command string fs_ssh_argv builds for printf '%s\0' args...: its last element,
 * right after "--" and the host. Caller frees *all. */
static const char *remote_string(const char *const *args, size_t n, char ***all)
{
    const char *remote[MAX_CASE_ARGS + 3] = {"printf", "%s\\000"};
    assert_true(n <= MAX_CASE_ARGS);
    for (size_t i = 0; i < n; i++)
        remote[i + 2] = args[i];
    remote[n + 2] = NULL;
    struct fs_ssh_target t = {.host = "remote.example", .user = "ops", .port = 2222};
    struct fs_err e = {0};
    if (fs_ssh_argv(&t, remote, all, &e) != 0)
        fail_msg("fs_ssh_argv: %s", e.msg);
    size_t k = 0;
    while ((*all)[k])
        k++;
    /* the remote command is exactly one element, after "--" and the host */
    assert_true(k >= 3);
    assert_string_equal((*all)[k - 3], "--");
    assert_string_equal((*all)[k - 2], "remote.example");
    return (*all)[k - 1];
}

/* Run the remote string through shell as sshd would and compare what printf received. */
static void roundtrip_in(const char *shell, const char *const *args, size_t n, const char *what)
{
    char **all = NULL;
    const char *cmd = remote_string(args, n, &all);
    const char *argv_sh[] = {shell, "-c", cmd, NULL};
    const char *argv_bb[] = {shell, "sh", "-c", cmd, NULL};
    bool busybox = strstr(shell, "busybox") != NULL;
    static const char *const env[] = {"PATH=/usr/bin:/bin", "HOME=/nonexistent", "LC_ALL=C", NULL};
    struct fs_child c = {.argv = busybox ? argv_bb : argv_sh, .env = env, .timeout_ms = 10000};
    struct fs_err e = {0};
    if (fs_child_run(&c, &e) != 0)
        fail_msg("%s: %s", shell, e.msg);
    if (c.exit_code != 0)
        fail_msg("%s (%s): exit %d: %s\ncommand: %s", shell, what, c.exit_code, c.err.data, cmd);
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(args[i]);
        if (off + len + 1 > c.out.len || memcmp(c.out.data + off, args[i], len) ||
            c.out.data[off + len] != '\0')
            fail_msg("%s (%s): argument %zu arrived changed\ncommand: %s", shell, what, i, cmd);
        off += len + 1;
    }
    if (off != c.out.len)
        fail_msg("%s (%s): %zu bytes more than the %zu arguments\ncommand: %s", shell, what,
                 c.out.len - off, n, cmd);
    fs_child_release(&c);
    free(all);
}

static void roundtrip(const char *const *args, size_t n, const char *what)
{
    for (size_t s = 0; s < nshells; s++)
        roundtrip_in(shells[s], args, n, what);
}

static const char *const hostile[] = {
    "",
    " ",
    "a b",
    "'",
    "''",
    "'''",
    "a'b",
    "'\\''",
    "\"",
    "\"'\"",
    "\\",
    "\\\\'",
    "$HOME",
    "${HOME}",
    "${x:-$(touch /tmp/fs-ssh-argv-canary)}",
    "$(touch /tmp/fs-ssh-argv-canary)",
    "`touch /tmp/fs-ssh-argv-canary`",
    "a b;$(touch /tmp/pwned)'\"&|*.txt",
    ";touch /tmp/fs-ssh-argv-canary;",
    "&& touch /tmp/fs-ssh-argv-canary",
    "| touch /tmp/fs-ssh-argv-canary",
    "> /tmp/fs-ssh-argv-canary",
    "< /etc/passwd",
    "*",
    "/*",
    "?",
    "[a-z]*",
    "{a,b}",
    "~",
    "~root",
    "!",
    "!!",
    "#",
    "# not a comment",
    "-n",
    "--",
    "-e",
    "%s%d%%\\n",
    "\n",
    "a\nb",
    "\r\n",
    "\t",
    "\x01\x02\x1b[31m\x7f",
    "é ü € 😀",
    "\xff\xfe invalid utf-8 \xc3",
    "IFS=x",
    "a=b",
    "  lead and trail  ",
};

static void test_hostile_strings_one_by_one(void **state)
{
    for (size_t i = 0; i < FS_ARRAY_LEN(hostile); i++) {
        char what[32];
        snprintf(what, sizeof(what), "hostile[%zu]", i);
        roundtrip(&hostile[i], 1, what);
    }
    assert_int_equal(access("/tmp/fs-ssh-argv-canary", F_OK), -1);
    assert_int_equal(access("/tmp/pwned", F_OK), -1);
}

static void test_hostile_strings_together(void **state)
{
    /* all at once: neighbours must not merge or split */
    roundtrip(hostile, FS_ARRAY_LEN(hostile), "all hostile");
    assert_int_equal(access("/tmp/fs-ssh-argv-canary", F_OK), -1);
}

static void test_every_byte(void **state)
{
    /* each byte 1..255 alone, and all of them in one argument */
    char one[256][2];
    const char *args[MAX_CASE_ARGS];
    for (int b = 1; b < 256; b += MAX_CASE_ARGS) {
        size_t n = 0;
        for (int k = b; k < 256 && n < MAX_CASE_ARGS; k++, n++) {
            one[k][0] = (char)k;
            one[k][1] = '\0';
            args[n] = one[k];
        }
        roundtrip(args, n, "single bytes");
    }
    char all[256];
    for (int k = 1; k < 256; k++)
        all[k - 1] = (char)k;
    all[255] = '\0';
    const char *a = all;
    roundtrip(&a, 1, "bytes 1..255");
}

static void test_random_strings(void **state)
{
    /* seeded, so a failure reproduces; biased towards the characters shells care about */
    static const char special[] = "'\"\\$`!*?[]{}()<>|&;#~ \t\n=%-";
    unsigned seed = 20261121;
    char bufs[MAX_CASE_ARGS][48];
    const char *args[MAX_CASE_ARGS];
    for (int round = 0; round < 40; round++) {
        size_t n = 1 + (size_t)(rand_r(&seed) % MAX_CASE_ARGS);
        for (size_t i = 0; i < n; i++) {
            size_t len = (size_t)(rand_r(&seed) % 40);
            for (size_t j = 0; j < len; j++) {
                int r = rand_r(&seed) % 3;
                bufs[i][j] = r == 0 ? special[rand_r(&seed) % (sizeof(special) - 1)]
                                    : (char)(1 + rand_r(&seed) % 255);
            }
            bufs[i][len] = '\0';
            args[i] = bufs[i];
        }
        char what[32];
        snprintf(what, sizeof(what), "random round %d", round);
        roundtrip(args, n, what);
    }
}

static void test_too_large(void **state)
{
    /* a single quote becomes four bytes: 40000 of them exceed the 128 KiB the kernel allows */
    char *big = malloc(40001);
    assert_non_null(big);
    memset(big, '\'', 40000);
    big[40000] = '\0';
    const char *remote[] = {"printf", big, NULL};
    struct fs_ssh_target t = {.host = "h"};
    char **all = NULL;
    struct fs_err e = {0};
    assert_int_equal(fs_ssh_argv(&t, remote, &all, &e), -FS_E_TOO_LARGE);
    assert_null(all);
    /* just under the limit still works and still round-trips */
    big[30000] = '\0';
    roundtrip_in(shells[0], (const char *const *)&big, 1, "30000 quotes");
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile_strings_one_by_one),
        cmocka_unit_test(test_hostile_strings_together),
        cmocka_unit_test(test_every_byte),
        cmocka_unit_test(test_random_strings),
        cmocka_unit_test(test_too_large),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
