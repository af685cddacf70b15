/* Unit tests for core/proc: fs_child_run (exit status, signals, separate capture and caps,
 * stdin, verbatim argv, exact environment, start errors, timeouts on the whole process group,
 * cwd, no inherited descriptors or signal state, rlimits, concurrent runs), the long-lived
 * children of fs_proc_start (pipes kept open, writes with a timeout and no SIGPIPE, stop that
 * escalates, the group killed with the leader), fs_shell_quote through a real /bin/sh, and
 * fs_ssh_argv. The programs run are stock system binaries; /bin/sh
 * appears only as a target program, as sshd's side would run it. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/proc.h"
#include "core/time.h"

#define ARGV(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Run and insist that it ran. */
static void run_ok(struct fs_child *c)
{
    struct fs_err e = {0};
    int rc = fs_child_run(c, &e);
    if (rc != 0)
        fail_msg("fs_child_run(%s): %s: %s", c->argv[0], fs_err_name(rc), e.msg);
    assert_non_null(c->out.data);
    assert_non_null(c->err.data);
}

static bool no_children_left(void)
{
    return waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD;
}

/* A process is gone when /proc has no entry for it, or only a zombie waiting for init. */
static bool process_gone(pid_t pid)
{
    char path[64], stat[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    for (int i = 0; i < 100; i++) {
        FILE *f = fopen(path, "r");
        if (!f)
            return true;
        size_t n = fread(stat, 1, sizeof(stat) - 1, f);
        fclose(f);
        stat[n] = '\0';
        const char *rp = strrchr(stat, ')');
        if (rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X'))
            return true;
        usleep(10000);
    }
    return false;
}

static void test_exit_codes(void **state)
{
    const struct {
        const char *const *argv;
        int code;
    } cases[] = {
        {ARGV("/bin/true"), 0},
        {ARGV("false"), 1}, /* a bare name, through the default PATH */
        {ARGV("/bin/sh", "-c", "exit 42"), 42},
        {ARGV("/bin/sh", "-c", "exit 255"), 255},
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(cases); i++) {
        struct fs_child c = {.argv = cases[i].argv};
        run_ok(&c);
        assert_int_equal(c.exit_code, cases[i].code);
        assert_int_equal(c.term_signal, 0);
        assert_false(c.timed_out);
        assert_true(c.pid > 0);
        assert_true(c.duration_ms >= 0 && c.duration_ms < 1000);
        fs_child_release(&c);
    }
    assert_true(no_children_left());
}

static void test_signaled(void **state)
{
    const struct {
        const char *const *argv;
        int sig;
    } cases[] = {
        {ARGV("/bin/sh", "-c", "kill -9 $$"), SIGKILL},
        {ARGV("/bin/sh", "-c", "kill -TERM $$"), SIGTERM},
        {ARGV("/bin/sh", "-c", "kill -SEGV $$"), SIGSEGV},
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(cases); i++) {
        struct fs_child c = {.argv = cases[i].argv};
        run_ok(&c);
        assert_int_equal(c.term_signal, cases[i].sig);
        assert_int_equal(c.exit_code, -1);
        assert_false(c.timed_out);
        fs_child_release(&c);
    }
}

static void test_stdout_stderr_separate(void **state)
{
    struct fs_child c = {
        .argv =
            ARGV("/bin/sh", "-c", "printf 'to out'; printf 'to err' >&2; printf ' more'; exit 3")};
    run_ok(&c);
    assert_string_equal(c.out.data, "to out more");
    assert_int_equal(c.out.len, 11);
    assert_string_equal(c.err.data, "to err");
    assert_int_equal(c.exit_code, 3);
    assert_false(c.stdout_truncated);
    assert_false(c.stderr_truncated);
    /* the struct can be run again; the previous output is released first */
    c.argv = ARGV("/bin/sh", "-c", "printf again");
    run_ok(&c);
    assert_string_equal(c.out.data, "again");
    assert_string_equal(c.err.data, "");
    fs_child_release(&c);
    fs_child_release(&c); /* twice is harmless */
    fs_child_release(NULL);
}

static bool all_zero(const struct fs_buf *b)
{
    for (size_t i = 0; i < b->len; i++)
        if (b->data[i])
            return false;
    return b->data[b->len] == '\0';
}

static void test_output_caps(void **state)
{
    const struct {
        const char *const *argv;
        size_t max_out, max_err;
        size_t out_len, err_len;
        bool out_trunc, err_trunc;
    } cases[] = {
        /* 10 MB through a 64 KiB cap: read to the end, kept to the cap, no deadlock */
        {ARGV("/usr/bin/head", "-c", "10000000", "/dev/zero"), 65536, 0, 65536, 0, true, false},
        /* both streams large at once: neither pipe may stall the other */
        {ARGV("/bin/sh", "-c",
              "/usr/bin/head -c 10000000 /dev/zero >&2 & /usr/bin/head -c 10000000 /dev/zero; "
              "wait"),
         100000, 200000, 100000, 200000, true, true},
        /* the boundary: exactly the cap is not truncated, one byte more is */
        {ARGV("/usr/bin/head", "-c", "1000000", "/dev/zero"), 1000000, 0, 1000000, 0, false, false},
        {ARGV("/usr/bin/head", "-c", "1000001", "/dev/zero"), 1000000, 0, 1000000, 0, true, false},
        /* 0 = the default cap */
        {ARGV("/usr/bin/head", "-c", "2000000", "/dev/zero"), 0, 0, FS_CHILD_DEFAULT_MAX_OUTPUT, 0,
         true, false},
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(cases); i++) {
        struct fs_child c = {.argv = cases[i].argv,
                             .max_stdout = cases[i].max_out,
                             .max_stderr = cases[i].max_err,
                             .timeout_ms = 10000};
        run_ok(&c);
        assert_int_equal(c.exit_code, 0);
        assert_false(c.timed_out);
        assert_int_equal(c.out.len, cases[i].out_len);
        assert_int_equal(c.err.len, cases[i].err_len);
        assert_int_equal(c.stdout_truncated, cases[i].out_trunc);
        assert_int_equal(c.stderr_truncated, cases[i].err_trunc);
        assert_true(all_zero(&c.out));
        assert_true(all_zero(&c.err));
        fs_child_release(&c);
    }
}

static void test_stdin(void **state)
{
    /* small, empty, and none (/dev/null: cat must see EOF at once, not hang) */
    static const struct {
        const char *data;
        const char *want;
    } cases[] = {{"hello\nworld\0!", "hello\nworld"}, {"", ""}, {NULL, ""}};
    for (size_t i = 0; i < FS_ARRAY_LEN(cases); i++) {
        struct fs_child c = {.argv = ARGV("/bin/cat"),
                             .stdin_data = cases[i].data,
                             .stdin_len = cases[i].data ? strlen(cases[i].data) : 0,
                             .timeout_ms = 5000};
        run_ok(&c);
        assert_false(c.timed_out);
        assert_int_equal(c.exit_code, 0);
        assert_string_equal(c.out.data, cases[i].want);
        fs_child_release(&c);
    }
    /* embedded NULs and 3 MB in both directions at once: stdin is written while stdout drains */
    size_t big = 3 * 1024 * 1024 + 17;
    char *data = malloc(big);
    assert_non_null(data);
    for (size_t i = 0; i < big; i++)
        data[i] = (char)(i * 7 + i / 251);
    struct fs_child c = {.argv = ARGV("/bin/cat"),
                         .stdin_data = data,
                         .stdin_len = big,
                         .max_stdout = 4 * 1024 * 1024,
                         .timeout_ms = 10000};
    run_ok(&c);
    assert_false(c.timed_out);
    assert_int_equal(c.out.len, big);
    assert_memory_equal(c.out.data, data, big);
    fs_child_release(&c);

    /* a child that exits without reading: not an error, and no SIGPIPE reaches us (its default
     * action would end this test program) or stays pending */
    c = (struct fs_child){.argv = ARGV("/bin/true"), .stdin_data = data, .stdin_len = big};
    run_ok(&c);
    assert_int_equal(c.exit_code, 0);
    sigset_t pending;
    assert_int_equal(sigpending(&pending), 0);
    assert_false(sigismember(&pending, SIGPIPE));
    fs_child_release(&c);
    free(data);
}

static void test_argv_verbatim(void **state)
{
    static const char *const nasty[] = {
        "a b",       "'single'", "\"double\"",   "$(id -u)", "`id`",         "a;b",
        "x|y",       "*",        "line1\nline2", "",         "$HOME",        "\\back\\slash",
        "-n",        "--",       "ü€😀",          "${PATH}",  "a&&b>c<d",     "#not a comment",
        "tab\there", "~",        "%s%d%n",       "!event",   "\x01\x1f\x7f",
    };
    const char *argv[64] = {"/usr/bin/printf", "%s\n"};
    struct fs_buf want = FS_BUF_INIT(0);
    for (size_t i = 0; i < FS_ARRAY_LEN(nasty); i++) {
        argv[i + 2] = nasty[i];
        assert_int_equal(fs_buf_printf(&want, "%s\n", nasty[i]), 0);
    }
    struct fs_child c = {.argv = argv};
    run_ok(&c);
    assert_int_equal(c.exit_code, 0);
    assert_string_equal(c.out.data, want.data);
    assert_string_equal(c.err.data, "");
    fs_child_release(&c);
    fs_buf_release(&want);
}

static void test_environment_exact(void **state)
{
    /* the test's own environment must not reach the child */
    assert_int_equal(setenv("FORESTALL_PROC_LEAK", "leaked", 1), 0);
    const struct {
        const char *const *env;
        const char *want;
    } cases[] = {
        {NULL, ""},
        {ARGV("A=1", "B=two words", "EMPTY=", "PATH=/nowhere"),
         "A=1\nB=two words\nEMPTY=\nPATH=/nowhere\n"},
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(cases); i++) {
        struct fs_child c = {.argv = ARGV("/usr/bin/env"), .env = cases[i].env};
        run_ok(&c);
        assert_int_equal(c.exit_code, 0);
        assert_string_equal(c.out.data, cases[i].want);
        fs_child_release(&c);
    }
    /* a bare name is found through path_env only (empty and relative entries skipped), never
     * the daemon's PATH, which does have env in it */
    struct fs_child c = {.argv = ARGV("env"), .path_env = "::relative:/nonexistent:/usr/bin"};
    run_ok(&c);
    assert_string_equal(c.out.data, "");
    fs_child_release(&c);
    struct fs_err e = {0};
    c = (struct fs_child){.argv = ARGV("env"), .path_env = "/nonexistent"};
    assert_int_equal(fs_child_run(&c, &e), -FS_E_NOT_FOUND);
    assert_non_null(strstr(e.msg, "'env'"));
    fs_child_release(&c);
    unsetenv("FORESTALL_PROC_LEAK");
}

static char tmpdir[64];

static void write_file(const char *name, const char *content, mode_t mode, char *path, size_t n)
{
    snprintf(path, n, "%s/%s", tmpdir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    close(fd);
    assert_int_equal(chmod(path, mode), 0);
}

static void test_start_errors(void **state)
{
    char noexec[128], noshebang[128];
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/fs_proc_XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    write_file("noexec", "#!/bin/sh\necho hi\n", 0644, noexec, sizeof(noexec));
    write_file("noshebang", "echo hi\n", 0755, noshebang, sizeof(noshebang));

    const struct {
        const char *const *argv;
        const char *const *env;
        const char *path_env, *cwd;
        int rc;
        const char *msg1, *msg2; /* substrings the message must carry */
    } cases[] = {
        {ARGV("forestall-no-such-program"), NULL, NULL, NULL, -FS_E_NOT_FOUND,
         "'forestall-no-such-program'", "not found in PATH"},
        {ARGV("/nonexistent/dir/prog"), NULL, NULL, NULL, -FS_E_NOT_FOUND,
         "'/nonexistent/dir/prog'", "No such file or directory"},
        {ARGV(noexec), NULL, NULL, NULL, -FS_E_PERMISSION, noexec, "Permission denied"},
        {ARGV("noexec"), NULL, tmpdir, NULL, -FS_E_PERMISSION, "'noexec'", "permission denied"},
        {ARGV("/tmp"), NULL, NULL, NULL, -FS_E_PERMISSION, "'/tmp'", "Permission denied"},
        {ARGV(noshebang), NULL, NULL, NULL, -FS_E_INVALID, noshebang, "#!"},
        {ARGV("./relative"), NULL, NULL, NULL, -FS_E_INVALID, "'./relative'", "absolute"},
        {ARGV(""), NULL, NULL, NULL, -FS_E_INVALID, "argv is empty", ""},
        {ARGV("/bin/true"), ARGV("OK=1", "NOEQUALS"), NULL, NULL, -FS_E_INVALID, "'NOEQUALS'",
         "NAME=value"},
        {ARGV("/bin/true"), NULL, NULL, "/nonexistent-dir", -FS_E_NOT_FOUND, "'/bin/true'",
         "'/nonexistent-dir'"},
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(cases); i++) {
        struct fs_child c = {.argv = cases[i].argv,
                             .env = cases[i].env,
                             .path_env = cases[i].path_env,
                             .cwd = cases[i].cwd};
        struct fs_err e = {0};
        int rc = fs_child_run(&c, &e);
        if (rc != cases[i].rc || !strstr(e.msg, cases[i].msg1) || !strstr(e.msg, cases[i].msg2))
            fail_msg("case %zu: rc %d (%s), message \"%s\"", i, rc, fs_err_name(rc), e.msg);
        assert_int_equal(e.code, -cases[i].rc);
        assert_int_equal(c.out.len, 0);
        assert_int_equal(c.err.len, 0);
        assert_true(no_children_left()); /* a child that failed to exec was reaped */
        fs_child_release(&c);
    }
    struct fs_child c = {.argv = NULL};
    struct fs_err e = {0};
    assert_int_equal(fs_child_run(&c, &e), -FS_E_INVALID);
    c = (struct fs_child){.argv = ARGV("/bin/true"), .timeout_ms = -1};
    assert_int_equal(fs_child_run(&c, NULL), -FS_E_INVALID); /* err is optional */
    unlink(noexec);
    unlink(noshebang);
    rmdir(tmpdir);
}

static void test_timeout_kills_group(void **state)
{
    const struct {
        const char *const *argv;
        int64_t timeout_ms, grace_ms;
        int sig, exit_code; /* how the direct child ended */
    } cases[] = {
        /* a grandchild in the background: SIGTERM to the group ends both */
        {ARGV("/bin/sh", "-c", "sleep 100 & echo $!; sleep 100"), 200, 300, SIGTERM, -1},
        /* SIGTERM ignored by everyone: SIGKILL after the grace */
        {ARGV("/bin/sh", "-c", "trap '' TERM; sleep 100 & echo $!; sleep 100"), 150, 150, SIGKILL,
         -1},
        /* the child exits at once but its grandchild holds stdout: the timeout still ends it */
        {ARGV("/bin/sh", "-c", "sleep 100 & echo $!"), 150, 300, 0, 0},
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(cases); i++) {
        struct fs_child c = {.argv = cases[i].argv,
                             .timeout_ms = cases[i].timeout_ms,
                             .kill_grace_ms = cases[i].grace_ms};
        int64_t t0 = fs_mono_ns();
        run_ok(&c);
        int64_t ms = (fs_mono_ns() - t0) / 1000000;
        assert_true(c.timed_out);
        assert_int_equal(c.term_signal, cases[i].sig);
        assert_int_equal(c.exit_code, cases[i].exit_code);
        int64_t lo = cases[i].timeout_ms + (cases[i].sig == SIGKILL ? cases[i].grace_ms : 0);
        if (ms < lo || ms > cases[i].timeout_ms + cases[i].grace_ms + 250)
            fail_msg("case %zu took %lld ms", i, (long long)ms);
        pid_t grandchild = (pid_t)atoi(c.out.data);
        assert_true(grandchild > 1);
        assert_true(process_gone(grandchild));
        fs_child_release(&c);
    }
    assert_true(no_children_left());
}

static void test_cwd(void **state)
{
    char dir[64];
    snprintf(dir, sizeof(dir), "/tmp/fs_proc_cwd_XXXXXX");
    assert_non_null(mkdtemp(dir));
    char want[80];
    snprintf(want, sizeof(want), "%s\n", dir);
    const struct {
        const char *cwd, *want;
    } cases[] = {{NULL, "/\n"}, {dir, want}};
    for (size_t i = 0; i < FS_ARRAY_LEN(cases); i++) {
        struct fs_child c = {.argv = ARGV("/bin/pwd"), .cwd = cases[i].cwd};
        run_ok(&c);
        assert_string_equal(c.out.data, cases[i].want);
        fs_child_release(&c);
    }
    rmdir(dir);
}

static void test_no_inherited_fds(void **state)
{
    /* descriptors this process holds without O_CLOEXEC, low and high */
    int leak = open("/dev/null", O_RDONLY);
    assert_true(leak >= 0);
    int high = fcntl(leak, F_DUPFD, 200);
    assert_true(high >= 200);
    struct fs_child c = {.argv = ARGV("/bin/ls", "/proc/self/fd")};
    run_ok(&c);
    assert_string_equal(c.out.data, "0\n1\n2\n3\n"); /* 3 is ls's own directory handle */
    /* stdin is /dev/null when none is given; stdout and stderr are pipes */
    c.argv = ARGV("/usr/bin/readlink", "/proc/self/fd/0", "/proc/self/fd/1", "/proc/self/fd/2");
    run_ok(&c);
    assert_true(strncmp(c.out.data, "/dev/null\npipe:[", 16) == 0);
    assert_non_null(strstr(c.out.data + 16, "\npipe:["));
    fs_child_release(&c);
    close(leak);
    close(high);

    /* with this process's stdin closed, a pipe lands on fd 0: it must still become the child's
     * stdin, not be clobbered */
    int saved = dup(0);
    assert_true(saved >= 0);
    close(0);
    c = (struct fs_child){.argv = ARGV("/bin/cat"), .stdin_data = "via fd 0", .stdin_len = 8};
    run_ok(&c);
    assert_int_equal(dup2(saved, 0), 0);
    close(saved);
    assert_string_equal(c.out.data, "via fd 0");
    fs_child_release(&c);
}

static void on_usr2(int sig)
{
    FS_UNUSED(sig);
}

static const char *status_line(const char *status, const char *key)
{
    const char *p = strstr(status, key);
    return p ? p + strlen(key) : "";
}

static void test_clean_signal_state(void **state)
{
    /* what a daemon does: blocked signals, SIGPIPE ignored, handlers installed */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    struct sigaction ign = {.sa_handler = SIG_IGN}, hnd = {.sa_handler = on_usr2}, o1, o2, o3;
    sigaction(SIGPIPE, &ign, &o1);
    sigaction(SIGINT, &ign, &o2);
    sigaction(SIGUSR2, &hnd, &o3);

    struct fs_child c = {.argv = ARGV("/bin/cat", "/proc/self/status")};
    run_ok(&c);

    sigaction(SIGPIPE, &o1, NULL);
    sigaction(SIGINT, &o2, NULL);
    sigaction(SIGUSR2, &o3, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);

    assert_true(strncmp(status_line(c.out.data, "\nSigBlk:\t"), "0000000000000000\n", 17) == 0);
    assert_true(strncmp(status_line(c.out.data, "\nSigIgn:\t"), "0000000000000000\n", 17) == 0);
    assert_true(strncmp(status_line(c.out.data, "\nSigCgt:\t"), "0000000000000000\n", 17) == 0);
    /* its own process group: a timeout's kill cannot reach us */
    char *ps = strstr(c.out.data, "\nNSpgid:\t");
    char *pid = strstr(c.out.data, "\nNSpid:\t");
    assert_non_null(ps);
    assert_non_null(pid);
    assert_int_equal(atoi(ps + 9), atoi(pid + 8));
    assert_int_equal(atoi(pid + 8), c.pid);
    fs_child_release(&c);
}

/* "Max open files            64                   64                   files" */
static void limits_of(const char *limits, const char *name, char *soft, char *hard)
{
    const char *p = strstr(limits, name);
    assert_non_null(p);
    assert_int_equal(sscanf(p + 26, "%31s %31s", soft, hard), 2);
}

static void test_rlimits(void **state)
{
    struct fs_child c = {.argv = ARGV("/bin/cat", "/proc/self/limits"),
                         .rlimit_as_bytes = 1ULL << 30,
                         .rlimit_cpu_s = 7,
                         .rlimit_nofile = 64,
                         .rlimit_nproc = 500};
    run_ok(&c);
    static const struct {
        const char *name, *want;
    } cases[] = {{"Max address space", "1073741824"},
                 {"Max cpu time", "7"},
                 {"Max open files", "64"},
                 {"Max processes", "500"}};
    for (size_t i = 0; i < FS_ARRAY_LEN(cases); i++) {
        char soft[32], hard[32];
        limits_of(c.out.data, cases[i].name, soft, hard);
        assert_string_equal(soft, cases[i].want);
        assert_string_equal(hard, cases[i].want); /* the child cannot raise it back */
    }
    /* 0 leaves the inherited limit */
    struct rlimit mine;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &mine), 0);
    c.rlimit_as_bytes = c.rlimit_cpu_s = c.rlimit_nofile = c.rlimit_nproc = 0;
    run_ok(&c);
    char soft[32], hard[32], want[32];
    limits_of(c.out.data, "Max open files", soft, hard);
    snprintf(want, sizeof(want), "%llu", (unsigned long long)mine.rlim_cur);
    assert_string_equal(soft, want);
    fs_child_release(&c);
    /* the limit is in force: a shell limited to 10 descriptors cannot open fd 12 */
    c = (struct fs_child){.argv = ARGV("/bin/sh", "-c", "exec 12</dev/null && echo opened"),
                          .rlimit_nofile = 10};
    run_ok(&c);
    assert_int_not_equal(c.exit_code, 0);
    assert_string_equal(c.out.data, "");
    fs_child_release(&c);
}

struct worker {
    int id, failures;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < 8; i++) {
        char in[64];
        int n = snprintf(in, sizeof(in), "worker %d run %d", w->id, i);
        struct fs_child c = {.argv = ARGV("/bin/cat"), .stdin_data = in, .stdin_len = (size_t)n};
        if (fs_child_run(&c, NULL) != 0 || c.exit_code != 0 || strcmp(c.out.data, in) != 0)
            w->failures++;
        fs_child_release(&c);
    }
    return NULL;
}

static void test_concurrent_runs(void **state)
{
    /* children started from several threads at once each get their own pipes and no others */
    pthread_t th[4];
    struct worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){.id = i};
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    assert_true(no_children_left());
}

static const char *const nasty_strings[] = {
    "",
    "plain",
    "a b",
    "it's",
    "'",
    "''",
    "\\",
    "\\'",
    "'\\''",
    "$HOME",
    "${x:-y}",
    "$(echo pwned)",
    "`id`",
    "a\nb",
    "\n",
    "*",
    "~root",
    "!!",
    "\"",
    "-n",
    "%s%d%%",
    "tab\tx",
    "ü€😀",
    "a;b|c&d>e<f",
    "#comment",
    "\x01\x1f\x7f",
    "  lead and trail  ",
};

static void test_shell_quote_exact(void **state)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"", "''"},
        {"plain", "'plain'"},
        {"it's", "'it'\\''s'"},
        {"'", "''\\'''"},
        {"$(x) `y` \\z", "'$(x) `y` \\z'"},
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(cases); i++) {
        struct fs_buf b = FS_BUF_INIT(0);
        assert_int_equal(fs_buf_puts(&b, "pre "), 0);
        assert_int_equal(fs_shell_quote(&b, cases[i].in), 0);
        assert_string_equal(b.data + 4, cases[i].want);
        assert_true(strncmp(b.data, "pre ", 4) == 0); /* appends */
        fs_buf_release(&b);
    }
    /* over the cap: an error, and the buffer as it was */
    struct fs_buf b = FS_BUF_INIT(6);
    assert_int_equal(fs_buf_puts(&b, "ab"), 0);
    assert_int_equal(fs_shell_quote(&b, "xyz"), -FS_E_TOO_LARGE);
    assert_string_equal(b.data, "ab");
    fs_buf_release(&b);
}

static void test_shell_quote_roundtrip(void **state)
{
    /* what sshd does with the remote command: hand it to `$SHELL -c` */
    for (size_t i = 0; i < FS_ARRAY_LEN(nasty_strings); i++) {
        struct fs_buf cmd = FS_BUF_INIT(0);
        assert_int_equal(fs_buf_puts(&cmd, "printf %s "), 0);
        assert_int_equal(fs_shell_quote(&cmd, nasty_strings[i]), 0);
        struct fs_child c = {.argv = ARGV("/bin/sh", "-c", cmd.data)};
        run_ok(&c);
        if (c.exit_code != 0 || strcmp(c.out.data, nasty_strings[i]) != 0)
            fail_msg("case %zu: sh -c %s printed \"%s\" (exit %d)", i, cmd.data, c.out.data,
                     c.exit_code);
        fs_child_release(&c);
        fs_buf_release(&cmd);
    }
}

static void test_ssh_argv_exact(void **state)
{
    struct fs_ssh_target t = {.host = "db-1.example.com",
                              .user = "deploy",
                              .port = 2222,
                              .identity_file = "/etc/forestall/id_ed25519",
                              .known_hosts = "/etc/forestall/known_hosts",
                              .connect_timeout_s = 10};
    static const char *const want[] = {"ssh",
                                       "-o",
                                       "BatchMode=yes",
                                       "-o",
                                       "StrictHostKeyChecking=yes",
                                       "-o",
                                       "UserKnownHostsFile=/etc/forestall/known_hosts",
                                       "-o",
                                       "ConnectTimeout=10",
                                       "-o",
                                       "IdentitiesOnly=yes",
                                       "-i",
                                       "/etc/forestall/id_ed25519",
                                       "-p",
                                       "2222",
                                       "-l",
                                       "deploy",
                                       "--",
                                       "db-1.example.com",
                                       "'systemctl' 'restart' 'my service' 'it'\\''s' ''"};
    char **argv = NULL;
    struct fs_err e = {0};
    assert_int_equal(
        fs_ssh_argv(&t, ARGV("systemctl", "restart", "my service", "it's", ""), &argv, &e), 0);
    size_t n = 0;
    while (argv[n])
        n++;
    assert_int_equal(n, FS_ARRAY_LEN(want));
    for (size_t i = 0; i < n; i++)
        assert_string_equal(argv[i], want[i]);
    free(argv); /* one allocation */

    /* the minimum: optional fields left out */
    struct fs_ssh_target bare = {.host = "10.0.0.7"};
    assert_int_equal(fs_ssh_argv(&bare, ARGV("uptime"), &argv, &e), 0);
    static const char *const want_bare[] = {
        "ssh", "-o",       "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
        "--",  "10.0.0.7", "'uptime'"};
    for (n = 0; argv[n]; n++)
        assert_string_equal(argv[n], want_bare[n]);
    assert_int_equal(n, FS_ARRAY_LEN(want_bare));
    free(argv);
    bare.host = "fe80::1";
    assert_int_equal(fs_ssh_argv(&bare, ARGV("uptime"), &argv, &e), 0);
    free(argv);
}

static void test_ssh_argv_remote_roundtrip(void **state)
{
    /* the remote string, run the way sshd runs it, gives the remote program its argv verbatim */
    const char *remote[64] = {"/usr/bin/printf", "%s\n"};
    struct fs_buf want = FS_BUF_INIT(0);
    for (size_t i = 0; i < FS_ARRAY_LEN(nasty_strings); i++) {
        remote[i + 2] = nasty_strings[i];
        assert_int_equal(fs_buf_printf(&want, "%s\n", nasty_strings[i]), 0);
    }
    struct fs_ssh_target t = {.host = "h"};
    char **argv = NULL;
    assert_int_equal(fs_ssh_argv(&t, remote, &argv, NULL), 0);
    size_t n = 0;
    while (argv[n])
        n++;
    struct fs_child c = {.argv = ARGV("/bin/sh", "-c", argv[n - 1])};
    run_ok(&c);
    assert_int_equal(c.exit_code, 0);
    assert_string_equal(c.out.data, want.data);
    fs_child_release(&c);
    fs_buf_release(&want);
    free(argv);
}

static void test_ssh_argv_rejects(void **state)
{
    char long_host[300];
    memset(long_host, 'a', 254);
    long_host[254] = '\0';
    const struct {
        const char *host, *user;
        int port;
        const char *key, *kh;
        const char *field;
    } cases[] = {
        {"-oProxyCommand=touch /tmp/x", NULL, 0, NULL, NULL, "host"},
        {"-h", NULL, 0, NULL, NULL, "host"},
        {"", NULL, 0, NULL, NULL, "host"},
        {NULL, NULL, 0, NULL, NULL, "host"},
        {"a b", NULL, 0, NULL, NULL, "host"},
        {"host\n-oX", NULL, 0, NULL, NULL, "host"},
        {"host\t", NULL, 0, NULL, NULL, "host"},
        {"root@host", NULL, 0, NULL, NULL, "host"},
        {".hidden", NULL, 0, NULL, NULL, "host"},
        {"h;reboot", NULL, 0, NULL, NULL, "host"},
        {"$(reboot)", NULL, 0, NULL, NULL, "host"},
        {"h\x7f", NULL, 0, NULL, NULL, "host"},
        {long_host, NULL, 0, NULL, NULL, "host"},
        {"h", "-oProxyCommand=x", 0, NULL, NULL, "user"},
        {"h", "", 0, NULL, NULL, "user"},
        {"h", "root user", 0, NULL, NULL, "user"},
        {"h", "a\nb", 0, NULL, NULL, "user"},
        {"h", "x@y", 0, NULL, NULL, "user"},
        {"h", "%u", 0, NULL, NULL, "user"},
        {"h", "abcdefghijklmnopqrstuvwxyz0123456", 0, NULL, NULL, "user"},
        {"h", NULL, -1, NULL, NULL, "port"},
        {"h", NULL, 65536, NULL, NULL, "port"},
        {"h", NULL, 0, "relative/key", NULL, "identity_file"},
        {"h", NULL, 0, "/key with space", NULL, "identity_file"},
        {"h", NULL, 0, "/key%h", NULL, "identity_file"},
        {"h", NULL, 0, NULL, "/a\"b", "known_hosts"},
        {"h", NULL, 0, NULL, "/a\nb", "known_hosts"},
        {"h", NULL, 0, NULL, "", "known_hosts"},
    };
    char **argv = (char **)1;
    struct fs_ssh_target t = {.host = "h"};
    assert_int_equal(fs_ssh_argv(&t, ARGV("true"), &argv, NULL), 0);
    free(argv);
    for (size_t i = 0; i < FS_ARRAY_LEN(cases); i++) {
        t = (struct fs_ssh_target){.host = cases[i].host,
                                   .user = cases[i].user,
                                   .port = cases[i].port,
                                   .identity_file = cases[i].key,
                                   .known_hosts = cases[i].kh};
        struct fs_err e = {0};
        int rc = fs_ssh_argv(&t, ARGV("true"), &argv, &e);
        if (rc != -FS_E_INVALID || strcmp(e.path, cases[i].field) != 0)
            fail_msg("case %zu: rc %d, field \"%s\", message \"%s\"", i, rc, e.path, e.msg);
        assert_null(argv);
    }
    /* an empty remote command, and one beyond what the kernel accepts as one argument */
    t = (struct fs_ssh_target){.host = "h"};
    assert_int_equal(fs_ssh_argv(&t, ARGV(""), &argv, NULL), -FS_E_INVALID);
    assert_int_equal(fs_ssh_argv(&t, (const char *const[]){NULL}, &argv, NULL), -FS_E_INVALID);
    char *huge = malloc(200000);
    assert_non_null(huge);
    memset(huge, 'x', 199999);
    huge[199999] = '\0';
    struct fs_err e = {0};
    assert_int_equal(fs_ssh_argv(&t, ARGV("echo", huge), &argv, &e), -FS_E_TOO_LARGE);
    assert_null(argv);
    free(huge);
}

/* --- fs_proc: long-lived children --- */

static void start_ok(struct fs_proc *p)
{
    struct fs_err e = {0};
    int rc = fs_proc_start(p, &e);
    if (rc != 0)
        fail_msg("fs_proc_start(%s): %s: %s", p->argv[0], fs_err_name(rc), e.msg);
    assert_true(p->pid > 0);
    assert_true(p->stdin_fd >= 0 && p->stdout_fd >= 0 && p->stderr_fd >= 0);
}

/* Read fd into out until want bytes arrived (0: until EOF), for at most 5 s. */
static void read_fd(int fd, struct fs_buf *out, size_t want)
{
    int64_t end = fs_mono_ns() + INT64_C(5000000000);
    while (fs_mono_ns() < end && (want == 0 || out->len < want)) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        char chunk[4096];
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n == 0)
            return;
        if (n > 0)
            assert_int_equal(fs_buf_append(out, chunk, (size_t)n), 0);
    }
    if (want)
        assert_true(out->len >= want);
}

static void test_proc_pipes_stay_open(void **state)
{
    /* a conversation: each line written comes back before the next is sent */
    struct fs_proc p = {.argv = ARGV("/bin/cat")};
    start_ok(&p);
    struct fs_buf got = FS_BUF_INIT(0);
    for (int i = 0; i < 3; i++) {
        char line[32];
        int n = snprintf(line, sizeof(line), "line %d\n", i);
        assert_int_equal(fs_proc_write(&p, line, (size_t)n, 1000, NULL), 0);
        fs_buf_reset(&got);
        read_fd(p.stdout_fd, &got, (size_t)n);
        assert_string_equal(got.data, line);
    }
    assert_false(fs_proc_exited(&p));
    /* EOF on stdin ends cat: exit 0, reaped, nothing left */
    fs_proc_close_stdin(&p);
    fs_proc_close_stdin(&p); /* idempotent */
    assert_int_equal(fs_proc_wait(&p, 5000, NULL), 0);
    assert_true(p.reaped);
    assert_int_equal(p.pid, 0);
    assert_int_equal(p.exit_code, 0);
    assert_int_equal(p.term_signal, 0);
    struct fs_err e = {0};
    assert_int_equal(fs_proc_write(&p, "x", 1, 100, &e), -FS_E_INVALID);
    fs_proc_close(&p);
    fs_proc_close(NULL);
    fs_buf_release(&got);
    assert_true(no_children_left());
}

static void test_proc_like_child_run(void **state)
{
    /* the same environment, cwd, descriptors and stream separation as fs_child_run */
    int leak = open("/dev/null", O_RDONLY); /* no O_CLOEXEC: must not reach the child */
    assert_true(leak >= 0);
    struct fs_proc p = {
        .argv = ARGV("/bin/sh", "-c", "env; pwd; ls /proc/self/fd >&2"),
        .env = ARGV("A=1", "B=two words"),
        .cwd = "/tmp",
    };
    assert_int_equal(setenv("FORESTALL_PROC_LEAK", "leaked", 1), 0);
    start_ok(&p);
    struct fs_buf out = FS_BUF_INIT(0), err = FS_BUF_INIT(0);
    read_fd(p.stdout_fd, &out, 0);
    read_fd(p.stderr_fd, &err, 0);
    assert_int_equal(fs_proc_wait(&p, 5000, NULL), 0);
    assert_int_equal(p.exit_code, 0);
    /* sh adds PWD (and may add SHLVL) itself: the test's own environment never arrives */
    assert_non_null(strstr(out.data, "A=1\n"));
    assert_non_null(strstr(out.data, "B=two words\n"));
    assert_null(strstr(out.data, "FORESTALL_PROC_LEAK"));
    assert_non_null(strstr(out.data, "\n/tmp\n"));
    /* ls's own directory handle is 3; nothing else above 2 */
    assert_string_equal(err.data, "0\n1\n2\n3\n");
    fs_proc_close(&p);
    close(leak);
    unsetenv("FORESTALL_PROC_LEAK");
    fs_buf_release(&out);
    fs_buf_release(&err);

    /* start errors: the codes and messages of fs_child_run */
    struct fs_err e = {0};
    p = (struct fs_proc){.argv = ARGV("/nonexistent/program")};
    assert_int_equal(fs_proc_start(&p, &e), -FS_E_NOT_FOUND);
    assert_non_null(strstr(e.msg, "'/nonexistent/program'"));
    assert_int_equal(p.pid, 0);
    assert_int_equal(p.stdin_fd, -1);
    p = (struct fs_proc){.argv = ARGV("./relative")};
    assert_int_equal(fs_proc_start(&p, &e), -FS_E_INVALID);
    p = (struct fs_proc){.argv = ARGV("/bin/true"), .cwd = "/nonexistent-dir"};
    assert_int_equal(fs_proc_start(&p, &e), -FS_E_NOT_FOUND);
    assert_non_null(strstr(e.msg, "working directory"));
    p = (struct fs_proc){.argv = ARGV("/bin/true"), .env = ARGV("NOEQUALS")};
    assert_int_equal(fs_proc_start(&p, &e), -FS_E_INVALID);
    fs_proc_close(&p);
    assert_true(no_children_left());
}

static void test_proc_write_errors(void **state)
{
    /* a child that never reads: the pipe fills and the write gives up at its timeout */
    struct fs_proc p = {.argv = ARGV("/bin/sleep", "10")};
    start_ok(&p);
    size_t big = 4 * 1024 * 1024;
    char *data = calloc(1, big);
    assert_non_null(data);
    struct fs_err e = {0};
    int64_t t0 = fs_mono_ns();
    assert_int_equal(fs_proc_write(&p, data, big, 200, &e), -FS_E_TIMEOUT);
    int64_t ms = (fs_mono_ns() - t0) / 1000000;
    assert_true(ms >= 190 && ms < 2000);
    /* a wait that times out leaves it running; close kills and reaps it */
    assert_int_equal(fs_proc_wait(&p, 50, &e), -FS_E_TIMEOUT);
    assert_false(fs_proc_exited(&p));
    fs_proc_close(&p);
    assert_true(no_children_left());

    /* a child that exited: the write fails with -FS_E_IO, and SIGPIPE is never delivered (the
     * test process would die of it) nor left pending */
    p = (struct fs_proc){.argv = ARGV("/bin/true")};
    start_ok(&p);
    int64_t end = fs_mono_ns() + INT64_C(5000000000);
    while (!fs_proc_exited(&p) && fs_mono_ns() < end)
        usleep(1000);
    assert_true(fs_proc_exited(&p));
    assert_int_equal(fs_proc_write(&p, data, 1000, 1000, &e), -FS_E_IO);
    sigset_t pending;
    assert_int_equal(sigpending(&pending), 0);
    assert_false(sigismember(&pending, SIGPIPE));
    assert_int_equal(fs_proc_wait(&p, 1000, NULL), 0);
    assert_int_equal(p.exit_code, 0);
    fs_proc_close(&p);
    free(data);
}

static void test_proc_stop_escalates(void **state)
{
    /* ignores EOF and SIGTERM (signal dispositions are reset at exec, so the trap is its own):
     * stop closes stdin, waits, SIGTERMs, waits, then SIGKILLs the whole group */
    struct fs_proc p = {
        .argv =
            ARGV("/bin/sh", "-c", "trap '' TERM; sleep 30 & echo $!; while :; do sleep 1; done")};
    start_ok(&p);
    struct fs_buf out = FS_BUF_INIT(0);
    read_fd(p.stdout_fd, &out, 2);
    pid_t helper = (pid_t)atoi(out.data);
    assert_true(helper > 1);
    int64_t t0 = fs_mono_ns();
    fs_proc_stop(&p, 150);
    int64_t ms = (fs_mono_ns() - t0) / 1000000;
    assert_true(p.reaped);
    assert_int_equal(p.term_signal, SIGKILL);
    assert_true(ms >= 290 && ms < 3000);
    assert_true(process_gone(helper)); /* the group went with it */
    fs_proc_stop(&p, 150);             /* no-op once reaped */
    fs_proc_close(&p);
    fs_buf_release(&out);

    /* a child that exits on EOF stops at the first step */
    p = (struct fs_proc){.argv = ARGV("/bin/cat")};
    start_ok(&p);
    t0 = fs_mono_ns();
    fs_proc_stop(&p, 2000);
    assert_true(p.reaped);
    assert_int_equal(p.exit_code, 0);
    assert_true((fs_mono_ns() - t0) / 1000000 < 1000);
    fs_proc_close(&p);
    assert_true(no_children_left());
}

static void test_proc_exit_kills_group(void **state)
{
    /* the leader exits on its own, leaving a helper in its group: reaping it ends the helper;
     * the pidfd says when it exited */
    struct fs_proc p = {.argv = ARGV("/bin/sh", "-c", "sleep 30 & echo $!; exit 3")};
    start_ok(&p);
    struct fs_buf out = FS_BUF_INIT(0);
    read_fd(p.stdout_fd, &out, 2);
    pid_t helper = (pid_t)atoi(out.data);
    assert_true(helper > 1);
    if (p.pidfd >= 0) {
        struct pollfd pfd = {.fd = p.pidfd, .events = POLLIN};
        assert_int_equal(poll(&pfd, 1, 5000), 1);
    }
    assert_int_equal(fs_proc_wait(&p, 5000, NULL), 0);
    assert_int_equal(p.exit_code, 3);
    assert_true(process_gone(helper));
    /* signalling after the reap is a no-op (the pid may be someone else's now) */
    fs_proc_signal(&p, SIGKILL);
    fs_proc_close(&p);
    fs_buf_release(&out);

    /* killed by a signal */
    p = (struct fs_proc){.argv = ARGV("/bin/sh", "-c", "kill -SEGV $$")};
    start_ok(&p);
    assert_int_equal(fs_proc_wait(&p, 5000, NULL), 0);
    assert_int_equal(p.exit_code, -1);
    assert_int_equal(p.term_signal, SIGSEGV);
    /* the struct may be started again */
    p.argv = ARGV("/bin/true");
    start_ok(&p);
    assert_int_equal(fs_proc_wait(&p, 5000, NULL), 0);
    assert_int_equal(p.exit_code, 0);
    fs_proc_close(&p);
    assert_true(no_children_left());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_codes),
        cmocka_unit_test(test_signaled),
        cmocka_unit_test(test_stdout_stderr_separate),
        cmocka_unit_test(test_output_caps),
        cmocka_unit_test(test_stdin),
        cmocka_unit_test(test_argv_verbatim),
        cmocka_unit_test(test_environment_exact),
        cmocka_unit_test(test_start_errors),
        cmocka_unit_test(test_timeout_kills_group),
        cmocka_unit_test(test_cwd),
        cmocka_unit_test(test_no_inherited_fds),
        cmocka_unit_test(test_clean_signal_state),
        cmocka_unit_test(test_rlimits),
        cmocka_unit_test(test_concurrent_runs),
        cmocka_unit_test(test_shell_quote_exact),
        cmocka_unit_test(test_shell_quote_roundtrip),
        cmocka_unit_test(test_ssh_argv_exact),
        cmocka_unit_test(test_ssh_argv_remote_roundtrip),
        cmocka_unit_test(test_ssh_argv_rejects),
        cmocka_unit_test(test_proc_pipes_stay_open),
        cmocka_unit_test(test_proc_like_child_run),
        cmocka_unit_test(test_proc_write_errors),
        cmocka_unit_test(test_proc_stop_escalates),
        cmocka_unit_test(test_proc_exit_kills_group),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
