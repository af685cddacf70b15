/* proc: the one place forestall starts programs (struct fs_child): fork + execve of an argv
 * with an explicit environment, pipes with O_CLOEXEC, stdin/stdout/stderr driven by one poll()
 * loop, a timeout that kills the child's process group, capped output; and the long-lived
 * children whose pipes stay open for the caller (struct fs_proc). Also shell quoting and
 * the ssh argv for remote targets. Must never run a shell, read the daemon's PATH or environment,
 * or call anything but async-signal-safe functions between fork and execve. fork rather than
 * posix_spawn because rlimits must be set in the child before exec; nothing else needs it. */
#include "core/common.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/proc.h"
#include "core/time.h"

#define NS_PER_MS INT64_C(1000000)
/* After SIGKILL, how long to keep reading pipes that something outside the group (a process
 * that called setsid) may hold open before giving up on them. */
#define ABANDON_NS (500 * NS_PER_MS)
/* Without pidfd_open: how often to look whether a child that closed its pipes has exited. */
#define EXIT_TICK_MS 5
#define READ_CHUNK 16384

/* What the child reports through the report pipe when a step before execve fails; the pipe is
 * O_CLOEXEC, so a successful execve closes it and the parent reads EOF. */
enum child_stage { STAGE_SETUP = 1, STAGE_CHDIR, STAGE_RLIMIT, STAGE_EXEC };
struct child_report {
    int stage;
    int errnum;
};

/* Everything the child needs, prepared by the parent: after fork the child only copies
 * descriptors, sets limits and calls execve. */
struct spawn_plan {
    const char *path; /* resolved program */
    char *const *argv;
    char *const *envp;
    const char *cwd;
    int fds[3]; /* become the child's 0, 1, 2 */
    int report_fd;
    int nrl;
    int rl_resource[4];
    struct rlimit rl[4];
    int max_fd; /* for the close loop when close_range is unavailable */
};

static const char *const empty_env[] = {NULL};

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

static int mark_cloexec_from_3(void)
{
#if defined(SYS_close_range)
    return (int)syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */);
#else
    errno = ENOSYS;
    return -1;
#endif
}

/* glibc refuses to touch the signals it reserves for itself (32 and 33), yet a parent may
 * have left them ignored (GNU make does), and an ignored signal survives execve. Reset them
 * with the system call itself. Async-signal-safe. */
static void reset_reserved(int sig)
{
#if defined(__x86_64__) || defined(__aarch64__)
    struct {
        void (*handler)(int);
        unsigned long flags;
        void (*restorer)(void);
        uint64_t mask;
    } k = {SIG_DFL, 0, NULL, 0};
    syscall(SYS_rt_sigaction, sig, &k, NULL, sizeof(k.mask));
#else
    (void)sig;
#endif
}

/* In the child, between fork and execve: async-signal-safe calls only, no allocation, no
 * stdio, no locks. Never returns. */
static _Noreturn void child_exec(const struct spawn_plan *p)
{
    struct child_report r = {STAGE_SETUP, 0};
    struct sigaction dfl;
    sigset_t empty;
    int report = p->report_fd, src[3];

    /* Signals are all blocked here (the parent blocked them around fork): reset every
     * disposition, handlers and SIG_IGN alike, before anything can be delivered. */
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; s++)
        if (sigaction(s, &dfl, NULL) < 0)
            reset_reserved(s); /* SIGKILL and SIGSTOP fail either way: fine */
    if (setpgid(0, 0) < 0)
        goto fail;
    /* Move everything above 2 first, so that dup2 onto 0..2 cannot clobber a source (a daemon
     * started with stdio closed gets pipes on 0..2). */
    if (report < 3 && (report = fcntl(report, F_DUPFD_CLOEXEC, 3)) < 0)
        _exit(127);
    for (int i = 0; i < 3; i++)
        if ((src[i] = fcntl(p->fds[i], F_DUPFD_CLOEXEC, 3)) < 0)
            goto fail;
    for (int i = 0; i < 3; i++)
        if (dup2(src[i], i) < 0) /* dup2 clears FD_CLOEXEC on 0..2 */
            goto fail;
    /* Every other descriptor, whoever opened it and however, closes at execve. */
    if (mark_cloexec_from_3() < 0)
        for (int fd = 3; fd < p->max_fd; fd++)
            if (fd != report)
                close(fd);
    r.stage = STAGE_CHDIR;
    if (chdir(p->cwd) < 0)
        goto fail;
    r.stage = STAGE_RLIMIT;
    for (int i = 0; i < p->nrl; i++)
        if (setrlimit(p->rl_resource[i], &p->rl[i]) < 0)
            goto fail;
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, NULL);
    r.stage = STAGE_EXEC;
    execve(p->path, p->argv, p->envp);
fail:
    r.errnum = errno;
    while (write(report, &r, sizeof(r)) < 0 && errno == EINTR)
        ;
    _exit(127);
}

/* Find argv[0]: an absolute path as is; a bare name in path_env (absolute entries only). */
static int resolve_program(const char *name, const char *path_env, struct fs_buf *out,
                           struct fs_err *err)
{
    if (name[0] == '/')
        return fs_buf_puts(out, name) < 0
                   ? fs_err_set(err, FS_E_INVALID, NULL, "cannot run '%.200s': path too long", name)
                   : 0;
    if (strchr(name, '/'))
        return fs_err_set(err, FS_E_INVALID, NULL,
                          "cannot run '%.200s': argv[0] must be an absolute path or a bare name",
                          name);
    bool denied = false;
    for (const char *d = path_env; *d;) {
        const char *end = strchr(d, ':');
        size_t dlen = end ? (size_t)(end - d) : strlen(d);
        if (dlen > 0 && d[0] == '/') {
            fs_buf_reset(out);
            struct stat st;
            if (fs_buf_append(out, d, dlen) == 0 && fs_buf_putc(out, '/') == 0 &&
                fs_buf_puts(out, name) == 0 && stat(out->data, &st) == 0 && S_ISREG(st.st_mode)) {
                if (faccessat(AT_FDCWD, out->data, X_OK, AT_EACCESS) == 0)
                    return 0;
                denied = true;
            }
        }
        d += dlen;
        if (*d == ':')
            d++;
    }
    fs_buf_reset(out);
    if (denied)
        return fs_err_set(err, FS_E_PERMISSION, NULL,
                          "cannot run '%.200s': permission denied (found in PATH, not executable)",
                          name);
    return fs_err_set(err, FS_E_NOT_FOUND, NULL, "cannot run '%.200s': not found in PATH (%.200s)",
                      name, path_env);
}

static enum fs_errcode errno_code(int e)
{
    switch (e) {
    case ENOENT:
    case ENOTDIR:
    case ELOOP: return FS_E_NOT_FOUND;
    case EACCES:
    case EPERM:
    case EISDIR: return FS_E_PERMISSION;
    case ENOEXEC:
    case EINVAL: return FS_E_INVALID;
    case E2BIG:
    case ENAMETOOLONG: return FS_E_TOO_LARGE;
    case ENOMEM: return FS_E_NOMEM;
    default: return FS_E_SYSTEM;
    }
}

static int report_failure(const struct child_report *r, const struct fs_child *c, const char *path,
                          struct fs_err *err)
{
    const char *name = c->argv[0];
    char where[300] = "";
    if (strcmp(name, path) != 0)
        snprintf(where, sizeof(where), " (%.280s)", path);
    switch (r->stage) {
    case STAGE_EXEC:
        if (r->errnum == ENOEXEC)
            return fs_err_set(err, FS_E_INVALID, NULL,
                              "cannot run '%.200s'%s: not an executable format (a script needs "
                              "a #! line)",
                              name, where);
        return fs_err_set(err, errno_code(r->errnum), NULL, "cannot run '%.200s'%s: %s", name,
                          where, strerror(r->errnum));
    case STAGE_CHDIR:
        return fs_err_set(err, errno_code(r->errnum), NULL,
                          "cannot run '%.200s': working directory '%.200s': %s", name,
                          c->cwd ? c->cwd : "/", strerror(r->errnum));
    case STAGE_RLIMIT:
        return fs_err_set(err, FS_E_SYSTEM, NULL, "cannot run '%.200s': setrlimit: %s", name,
                          strerror(r->errnum));
    default:
        return fs_err_set(err, FS_E_SYSTEM, NULL, "cannot run '%.200s': setting up the child: %s",
                          name, strerror(r->errnum));
    }
}

static void add_rlimit(struct spawn_plan *p, int resource, uint64_t want)
{
    struct rlimit cur;
    if (want == 0)
        return;
    rlim_t v = want >= (uint64_t)RLIM_INFINITY ? RLIM_INFINITY - 1 : (rlim_t)want;
    if (getrlimit(resource, &cur) == 0 && cur.rlim_max != RLIM_INFINITY && v > cur.rlim_max)
        v = cur.rlim_max; /* an unprivileged process cannot raise its hard limit */
    p->rl_resource[p->nrl] = resource;
    p->rl[p->nrl].rlim_cur = v;
    p->rl[p->nrl].rlim_max = v;
    p->nrl++;
}

static int make_pipe(int fds[2], int parent_end)
{
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -1;
    /* non-blocking on the parent's end only (file status flags are per end) */
    int fl = fcntl(fds[parent_end], F_GETFL);
    if (fl < 0 || fcntl(fds[parent_end], F_SETFL, fl | O_NONBLOCK) < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    return 0;
}

/* Read what one stream has; keep up to the cap, discard the rest. EOF closes the fd. */
static void drain(int *fd, struct fs_buf *b, bool *truncated)
{
    char chunk[READ_CHUNK];
    ssize_t n = read(*fd, chunk, sizeof(chunk));
    if (n < 0) {
        if (errno != EINTR && errno != EAGAIN)
            close_fd(fd);
        return;
    }
    if (n == 0) {
        close_fd(fd);
        return;
    }
    size_t keep = FS_MIN((size_t)n, b->max - b->len);
    if (keep < (size_t)n)
        *truncated = true;
    if (keep && fs_buf_append(b, chunk, keep) < 0)
        *truncated = true; /* out of memory mid-run: keep draining, say it was cut */
}

static int64_t ms_until(int64_t when_ns, int64_t now_ns)
{
    if (when_ns <= now_ns)
        return 0;
    return (when_ns - now_ns + NS_PER_MS - 1) / NS_PER_MS;
}

static bool child_exited(pid_t pid)
{
    siginfo_t si;
    si.si_pid = 0;
    return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid;
}

static void signal_group(pid_t pid, int sig)
{
    /* the group (everything the child started) and the child itself, in case it left it; the
     * child is not reaped yet, so neither id can have been reused */
    kill(-pid, sig);
    kill(pid, sig);
}

/* The parent's side of a started child: feed stdin, drain stdout/stderr, enforce the timeout,
 * until the child has exited and both pipes are at EOF. Does not reap. */
static void supervise(struct fs_child *c, int in_fd, int out_fd, int err_fd, int64_t t0,
                      bool *epipe)
{
    const char *in_data = c->stdin_data;
    size_t in_off = 0;
    int64_t grace_ns =
        (c->kill_grace_ms > 0 ? c->kill_grace_ms : FS_CHILD_DEFAULT_GRACE_MS) * NS_PER_MS;
    int64_t deadline = c->timeout_ms > 0 ? t0 + c->timeout_ms * NS_PER_MS : INT64_MAX;
    int64_t kill_at = INT64_MAX, abandon_at = INT64_MAX;
    bool exited = false;
#if defined(SYS_pidfd_open)
    int pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0); /* O_CLOEXEC by definition */
#else
    int pidfd = -1;
#endif

    if (in_fd >= 0 && c->stdin_len == 0)
        close_fd(&in_fd);
    while (!(exited && out_fd < 0 && err_fd < 0)) {
        int64_t now = fs_mono_ns();
        if (now >= deadline && kill_at == INT64_MAX) {
            signal_group(c->pid, SIGTERM);
            c->timed_out = true;
            kill_at = now + grace_ns;
        }
        if (now >= kill_at && abandon_at == INT64_MAX) {
            signal_group(c->pid, SIGKILL);
            abandon_at = now + ABANDON_NS;
        }
        if (now >= abandon_at)
            break; /* pipes held by something that escaped the group: stop reading */

        int64_t next =
            kill_at != INT64_MAX ? (abandon_at != INT64_MAX ? abandon_at : kill_at) : deadline;
        int64_t wait_ms = next == INT64_MAX ? -1 : ms_until(next, now);
        if (!exited && pidfd < 0 && (wait_ms < 0 || wait_ms > EXIT_TICK_MS))
            wait_ms = EXIT_TICK_MS;
        if (wait_ms > INT_MAX)
            wait_ms = INT_MAX;

        struct pollfd pfd[4];
        int n = 0, i_in = -1, i_out = -1, i_err = -1, i_pid = -1;
        if (in_fd >= 0) {
            pfd[n] = (struct pollfd){.fd = in_fd, .events = POLLOUT};
            i_in = n++;
        }
        if (out_fd >= 0) {
            pfd[n] = (struct pollfd){.fd = out_fd, .events = POLLIN};
            i_out = n++;
        }
        if (err_fd >= 0) {
            pfd[n] = (struct pollfd){.fd = err_fd, .events = POLLIN};
            i_err = n++;
        }
        if (!exited && pidfd >= 0) {
            pfd[n] = (struct pollfd){.fd = pidfd, .events = POLLIN};
            i_pid = n++;
        }
        int rc = poll(pfd, (nfds_t)n, (int)wait_ms);
        if (rc < 0 && errno != EINTR && errno != EAGAIN) {
            /* cannot happen with valid fds; do not spin: end the child and stop reading */
            signal_group(c->pid, SIGKILL);
            break;
        }
        if (rc > 0) {
            if (i_in >= 0 && pfd[i_in].revents) {
                ssize_t w = write(in_fd, in_data + in_off, c->stdin_len - in_off);
                if (w > 0) {
                    in_off += (size_t)w;
                    if (in_off == c->stdin_len)
                        close_fd(&in_fd);
                } else if (w < 0 && errno != EINTR && errno != EAGAIN) {
                    if (errno == EPIPE)
                        *epipe = true; /* the child did not read it all: not an error */
                    close_fd(&in_fd);
                }
            }
            if (i_out >= 0 && pfd[i_out].revents)
                drain(&out_fd, &c->out, &c->stdout_truncated);
            if (i_err >= 0 && pfd[i_err].revents)
                drain(&err_fd, &c->err, &c->stderr_truncated);
            if (i_pid >= 0 && pfd[i_pid].revents)
                exited = true;
        }
        if (!exited && pidfd < 0)
            exited = child_exited(c->pid);
    }
    close_fd(&in_fd);
    close_fd(&out_fd);
    close_fd(&err_fd);
    close_fd(&pidfd);
}

static int check_input(const struct fs_child *c, struct fs_err *err)
{
    if (!c->argv || !c->argv[0] || !c->argv[0][0])
        return fs_err_set(err, FS_E_INVALID, NULL, "cannot run a program: argv is empty");
    for (const char *const *e = c->env; e && *e; e++)
        if (!strchr(*e, '=') || (*e)[0] == '=')
            return fs_err_set(err, FS_E_INVALID, NULL,
                              "cannot run '%.200s': environment entry '%.100s' is not NAME=value",
                              c->argv[0], *e);
    if (c->timeout_ms < 0 || c->kill_grace_ms < 0 || c->timeout_ms > INT64_MAX / 4 / NS_PER_MS ||
        c->kill_grace_ms > INT64_MAX / 4 / NS_PER_MS)
        return fs_err_set(err, FS_E_INVALID, NULL,
                          "cannot run '%.200s': timeout_ms and kill_grace_ms must be >= 0",
                          c->argv[0]);
    if (c->stdin_len && !c->stdin_data)
        return fs_err_set(err, FS_E_INVALID, NULL,
                          "cannot run '%.200s': stdin_len without stdin_data", c->argv[0]);
    return 0;
}

/* Whatever ends of a start's four pipes are still open here. */
static void close_pipes(int in[2], int out[2], int errp[2], int rep[2])
{
    int *const ends[] = {in, out, errp, rep};
    for (size_t i = 0; i < 4; i++) {
        close_fd(&ends[i][0]);
        close_fd(&ends[i][1]);
    }
}

/* The plan both ways of starting a program share: the program, its argv, environment,
 * directory, every descriptor above the three closed, and the rlimits asked for. */
static void plan_init(struct spawn_plan *plan, const char *path, const char *const *argv,
                      const char *const *env, const char *cwd, uint64_t as, uint64_t cpu,
                      uint64_t nofile, uint64_t nproc)
{
    memset(plan, 0, sizeof(*plan));
    plan->path = path;
    plan->argv = (char *const *)argv;
    plan->envp = (char *const *)(env ? env : empty_env);
    plan->cwd = cwd ? cwd : "/";
    long open_max = sysconf(_SC_OPEN_MAX);
    plan->max_fd = open_max > 0 && open_max < 65536 ? (int)open_max : 65536;
    add_rlimit(plan, RLIMIT_AS, as);
    add_rlimit(plan, RLIMIT_CPU, cpu);
    add_rlimit(plan, RLIMIT_NOFILE, nofile);
    add_rlimit(plan, RLIMIT_NPROC, nproc);
}

/* Fork and exec plan with every signal blocked across the fork (no handler of ours may run in
 * the child before its dispositions are reset), close the child's ends of the pipes here, and
 * wait for the report pipe: EOF means the child reached execve. Returns the pid, or -1 with
 * errno when fork failed; *failed says the child failed before execve (it is reaped, *report
 * says why). */
static pid_t spawn(const struct spawn_plan *plan, int in[2], int out[2], int errp[2], int rep[2],
                   struct child_report *report, bool *failed)
{
    sigset_t all, fork_mask;
    *failed = false;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &fork_mask);
    pid_t pid = fork();
    if (pid == 0)
        child_exec(plan);
    int fork_errno = errno;
    pthread_sigmask(SIG_SETMASK, &fork_mask, NULL);
    if (pid < 0) {
        errno = fork_errno;
        return -1;
    }
    close_fd(&in[0]);
    close_fd(&out[1]);
    close_fd(&errp[1]);
    close_fd(&rep[1]);
    ssize_t n;
    while ((n = read(rep[0], report, sizeof(*report))) < 0 && errno == EINTR)
        ;
    close_fd(&rep[0]);
    if (n != 0) { /* the child failed before execve (or the pipe broke): it exits 127 */
        *failed = true;
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        if (n != (ssize_t)sizeof(*report)) {
            report->stage = STAGE_SETUP;
            report->errnum = n < 0 ? errno : EIO;
        }
    }
    return pid;
}

int fs_child_run(struct fs_child *c, struct fs_err *err)
{
    struct fs_buf path = FS_BUF_INIT(PATH_MAX);
    int in[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1}, rep[2] = {-1, -1};
    sigset_t pipe_set, saved_mask;
    bool pipe_pending = false, epipe = false, mask_saved = false;
    int rc;

    fs_child_release(c);
    fs_buf_init(&c->out, c->max_stdout ? c->max_stdout : FS_CHILD_DEFAULT_MAX_OUTPUT);
    fs_buf_init(&c->err, c->max_stderr ? c->max_stderr : FS_CHILD_DEFAULT_MAX_OUTPUT);
    c->stdout_truncated = c->stderr_truncated = c->timed_out = false;
    c->exit_code = -1;
    c->term_signal = 0;
    c->duration_ms = 0;
    c->pid = 0;

    if ((rc = check_input(c, err)) < 0)
        return rc;
    if ((rc = resolve_program(c->argv[0], c->path_env ? c->path_env : FS_CHILD_DEFAULT_PATH, &path,
                              err)) < 0)
        goto out;
    if (fs_buf_reserve(&c->out, 0) < 0 || fs_buf_reserve(&c->err, 0) < 0 ||
        fs_buf_reserve(&path, 0) < 0) {
        rc = fs_err_set(err, FS_E_NOMEM, NULL, "cannot run '%.200s': out of memory", c->argv[0]);
        goto out;
    }

    struct spawn_plan plan;
    plan_init(&plan, path.data, c->argv, c->env, c->cwd, c->rlimit_as_bytes, c->rlimit_cpu_s,
              c->rlimit_nofile, c->rlimit_nproc);

    if (c->stdin_data) {
        if (make_pipe(in, 1) < 0)
            goto sys_fail;
    } else if ((in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
        goto sys_fail;
    }
    if (make_pipe(out, 0) < 0 || make_pipe(errp, 0) < 0 || pipe2(rep, O_CLOEXEC) < 0)
        goto sys_fail;
    plan.fds[0] = in[0];
    plan.fds[1] = out[1];
    plan.fds[2] = errp[1];
    plan.report_fd = rep[1];

    /* SIGPIPE from writing stdin to a child that exited stays pending on this thread, and is
     * consumed below unless it was pending before. */
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &saved_mask);
    mask_saved = true;
    sigset_t pending;
    if (sigpending(&pending) == 0)
        pipe_pending = sigismember(&pending, SIGPIPE) == 1;

    int64_t t0 = fs_mono_ns();
    struct child_report report;
    bool failed;
    pid_t pid = spawn(&plan, in, out, errp, rep, &report, &failed);
    if (pid < 0)
        goto sys_fail;
    if (failed) {
        rc = report_failure(&report, c, path.data, err);
        goto out;
    }

    c->pid = pid;
    supervise(c, in[1], out[0], errp[0], t0, &epipe);
    in[1] = out[0] = errp[0] = -1; /* closed by supervise */

    int status;
    pid_t w;
    while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        ;
    c->duration_ms = (fs_mono_ns() - t0) / NS_PER_MS;
    if (w < 0) {
        rc = fs_err_set(err, FS_E_SYSTEM, NULL,
                        "'%.200s' (pid %d) was reaped elsewhere: its exit status is lost (%s)",
                        c->argv[0], (int)pid, strerror(errno));
        goto out;
    }
    if (WIFEXITED(status)) {
        c->exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        c->term_signal = WTERMSIG(status);
    }
    rc = 0;
    goto out;

sys_fail:
    rc = fs_err_set(err, errno == ENOMEM ? FS_E_NOMEM : FS_E_SYSTEM, NULL,
                    "cannot run '%.200s': %s", c->argv[0], strerror(errno));
out:
    close_pipes(in, out, errp, rep);
    if (mask_saved) {
        if (epipe && !pipe_pending) {
            struct timespec zero = {0, 0};
            while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
                ;
        }
        pthread_sigmask(SIG_SETMASK, &saved_mask, NULL);
    }
    fs_buf_release(&path);
    if (rc < 0)
        fs_child_release(c); /* nothing to free after a failed start */
    return rc;
}

void fs_child_release(struct fs_child *c)
{
    if (!c)
        return;
    fs_buf_release(&c->out);
    fs_buf_release(&c->err);
}

/* --- long-lived children --- */

static void proc_reset(struct fs_proc *p)
{
    p->pid = 0;
    p->stdin_fd = p->stdout_fd = p->stderr_fd = p->pidfd = -1;
    p->started_ns = 0;
    p->reaped = false;
    p->exit_code = -1;
    p->term_signal = 0;
}

int fs_proc_start(struct fs_proc *p, struct fs_err *err)
{
    struct fs_buf path = FS_BUF_INIT(PATH_MAX);
    int in[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1}, rep[2] = {-1, -1};
    int rc;
    /* the checks and messages of fs_child_run, through a view of the same inputs */
    struct fs_child view = {.argv = p->argv, .env = p->env, .cwd = p->cwd};

    proc_reset(p);
    if ((rc = check_input(&view, err)) < 0)
        return rc;
    if ((rc = resolve_program(p->argv[0], p->path_env ? p->path_env : FS_CHILD_DEFAULT_PATH, &path,
                              err)) < 0)
        goto out;
    if (fs_buf_reserve(&path, 0) < 0) {
        rc = fs_err_set(err, FS_E_NOMEM, NULL, "cannot run '%.200s': out of memory", p->argv[0]);
        goto out;
    }
    struct spawn_plan plan;
    plan_init(&plan, path.data, p->argv, p->env, p->cwd, p->rlimit_as_bytes, p->rlimit_cpu_s,
              p->rlimit_nofile, p->rlimit_nproc);
    if (make_pipe(in, 1) < 0 || make_pipe(out, 0) < 0 || make_pipe(errp, 0) < 0 ||
        pipe2(rep, O_CLOEXEC) < 0)
        goto sys_fail;
    plan.fds[0] = in[0];
    plan.fds[1] = out[1];
    plan.fds[2] = errp[1];
    plan.report_fd = rep[1];

    p->started_ns = fs_mono_ns();
    struct child_report report;
    bool failed;
    pid_t pid = spawn(&plan, in, out, errp, rep, &report, &failed);
    if (pid < 0)
        goto sys_fail;
    if (failed) {
        rc = report_failure(&report, &view, path.data, err);
        goto out;
    }
    p->pid = pid;
#if defined(SYS_pidfd_open)
    p->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
    p->stdin_fd = in[1];
    p->stdout_fd = out[0];
    p->stderr_fd = errp[0];
    in[1] = out[0] = errp[0] = -1;
    rc = 0;
    goto out;

sys_fail:
    rc = fs_err_set(err, errno == ENOMEM ? FS_E_NOMEM : FS_E_SYSTEM, NULL,
                    "cannot run '%.200s': %s", p->argv[0], strerror(errno));
out:
    close_pipes(in, out, errp, rep);
    fs_buf_release(&path);
    return rc;
}

int fs_proc_write(struct fs_proc *p, const void *data, size_t len, int64_t timeout_ms,
                  struct fs_err *err)
{
    const char *d = data;
    size_t off = 0;
    int64_t deadline = timeout_ms > 0 ? fs_mono_ns() + timeout_ms * NS_PER_MS : INT64_MAX;
    sigset_t pipe_set, saved;
    bool pending_before = false, epipe = false;
    int rc = 0;

    if (p->stdin_fd < 0)
        return fs_err_set(err, FS_E_INVALID, NULL, "the child's stdin is closed");
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &saved);
    sigset_t pending;
    if (sigpending(&pending) == 0)
        pending_before = sigismember(&pending, SIGPIPE) == 1;
    while (off < len) {
        ssize_t w = write(p->stdin_fd, d + off, len - off);
        if (w > 0) {
            off += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            int64_t now = fs_mono_ns();
            if (now >= deadline) {
                rc = fs_err_set(err, FS_E_TIMEOUT, NULL,
                                "the child did not read its stdin for %lld ms",
                                (long long)timeout_ms);
                break;
            }
            int64_t wait_ms = deadline == INT64_MAX ? -1 : ms_until(deadline, now);
            struct pollfd pfd = {.fd = p->stdin_fd, .events = POLLOUT};
            poll(&pfd, 1, wait_ms > INT_MAX ? INT_MAX : (int)wait_ms);
            continue;
        }
        epipe = w < 0 && errno == EPIPE;
        rc = fs_err_set(err, FS_E_IO, NULL, "writing to the child's stdin: %s",
                        w < 0 ? strerror(errno) : "nothing written");
        break;
    }
    if (epipe && !pending_before) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    return rc;
}

void fs_proc_close_stdin(struct fs_proc *p)
{
    close_fd(&p->stdin_fd);
}

bool fs_proc_exited(struct fs_proc *p)
{
    return p->reaped || (p->pid > 0 && child_exited(p->pid));
}

void fs_proc_signal(struct fs_proc *p, int sig)
{
    if (p->pid > 0 && !p->reaped)
        signal_group(p->pid, sig);
}

int fs_proc_wait(struct fs_proc *p, int64_t timeout_ms, struct fs_err *err)
{
    if (p->reaped || p->pid <= 0)
        return 0;
    int64_t deadline = timeout_ms < 0 ? INT64_MAX : fs_mono_ns() + timeout_ms * NS_PER_MS;
    for (;;) {
        siginfo_t si;
        si.si_pid = 0;
        int w = waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG | WNOWAIT);
        if ((w == 0 && si.si_pid == p->pid) || (w < 0 && errno == ECHILD))
            break; /* exited; or reaped elsewhere, which waitpid reports below */
        int64_t now = fs_mono_ns();
        if (now >= deadline)
            return fs_err_set(err, FS_E_TIMEOUT, NULL, "pid %d is still running", (int)p->pid);
        int64_t wait_ms = deadline == INT64_MAX ? -1 : ms_until(deadline, now);
        if (p->pidfd >= 0) {
            struct pollfd pfd = {.fd = p->pidfd, .events = POLLIN};
            poll(&pfd, 1, wait_ms < 0 || wait_ms > INT_MAX ? -1 : (int)wait_ms);
        } else {
            struct timespec tick = {0, EXIT_TICK_MS * NS_PER_MS};
            nanosleep(&tick, NULL);
        }
    }
    /* the exited leader still holds its pid and group id: what it left behind goes first */
    kill(-p->pid, SIGKILL);
    int status;
    pid_t w;
    while ((w = waitpid(p->pid, &status, 0)) < 0 && errno == EINTR)
        ;
    pid_t pid = p->pid;
    p->reaped = true;
    p->pid = 0;
    close_fd(&p->pidfd);
    if (w < 0)
        return fs_err_set(err, FS_E_SYSTEM, NULL, "pid %d was reaped elsewhere: %s", (int)pid,
                          strerror(errno));
    if (WIFEXITED(status)) {
        p->exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        p->exit_code = -1;
        p->term_signal = WTERMSIG(status);
    }
    return 0;
}

void fs_proc_stop(struct fs_proc *p, int64_t grace_ms)
{
    if (p->reaped || p->pid <= 0)
        return;
    if (grace_ms <= 0)
        grace_ms = FS_CHILD_DEFAULT_GRACE_MS;
    fs_proc_close_stdin(p);
    if (fs_proc_wait(p, grace_ms, NULL) == 0)
        return;
    fs_proc_signal(p, SIGTERM);
    if (fs_proc_wait(p, grace_ms, NULL) == 0)
        return;
    fs_proc_signal(p, SIGKILL);
    fs_proc_wait(p, -1, NULL);
}

void fs_proc_close(struct fs_proc *p)
{
    if (!p)
        return;
    if (p->pid > 0 && !p->reaped) {
        fs_proc_signal(p, SIGKILL);
        fs_proc_wait(p, -1, NULL);
    }
    close_fd(&p->stdin_fd);
    close_fd(&p->stdout_fd);
    close_fd(&p->stderr_fd);
    close_fd(&p->pidfd);
}

/* --- ssh --- */

int fs_shell_quote(struct fs_buf *out, const char *arg)
{
    size_t start = out->len;
    int rc = fs_buf_putc(out, '\'');
    for (const char *p = arg; rc == 0 && *p; p++)
        rc = *p == '\'' ? fs_buf_puts(out, "'\\''") : fs_buf_putc(out, *p);
    if (rc == 0)
        rc = fs_buf_putc(out, '\'');
    if (rc < 0 && out->data) {
        out->len = start;
        out->data[start] = '\0';
    }
    return rc;
}

static bool is_alnum(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

static bool valid_host(const char *h)
{
    size_t n = strlen(h);
    if (n == 0 || n > 253 || !(is_alnum(h[0]) || h[0] == ':'))
        return false;
    for (const char *p = h; *p; p++)
        if (!is_alnum(*p) && !strchr("._:-", *p))
            return false;
    return true;
}

static bool valid_user(const char *u)
{
    size_t n = strlen(u);
    if (n == 0 || n > 32 || u[0] == '-')
        return false;
    for (const char *p = u; *p; p++)
        if (!is_alnum(*p) && !strchr("._-", *p))
            return false;
    return true;
}

/* Paths handed to ssh options: ssh splits option values on whitespace, honours quotes and
 * expands %-tokens, so none of those may appear. */
static bool valid_ssh_path(const char *s)
{
    if (s[0] != '/' || strlen(s) > 1024)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= ' ' || *p == 0x7f || strchr("'\"\\%", *p))
            return false;
    return true;
}

int fs_ssh_argv(const struct fs_ssh_target *t, const char *const *remote_argv, char ***out_argv,
                struct fs_err *err)
{
    /* the longest argument Linux accepts (MAX_ARG_STRLEN), NUL included */
    struct fs_buf remote = FS_BUF_INIT(128 * 1024 - 1);
    char khf[1100], ct[40], port[8];
    const char *a[32];
    size_t n = 0;
    int rc = 0;

    *out_argv = NULL;
    if (!t->host || !valid_host(t->host))
        return fs_err_set(err, FS_E_INVALID, "host",
                          "ssh target host '%.100s' is not a valid host name or address",
                          t->host ? t->host : "");
    if (t->user && !valid_user(t->user))
        return fs_err_set(err, FS_E_INVALID, "user", "ssh target user '%.100s' is not valid",
                          t->user);
    if (t->port < 0 || t->port > 65535)
        return fs_err_set(err, FS_E_INVALID, "port", "ssh target port %d is not in 1..65535",
                          t->port);
    if (t->identity_file && !valid_ssh_path(t->identity_file))
        return fs_err_set(err, FS_E_INVALID, "identity_file",
                          "ssh identity file '%.200s' must be an absolute path without spaces, "
                          "quotes, backslashes or '%%'",
                          t->identity_file);
    if (t->known_hosts && !valid_ssh_path(t->known_hosts))
        return fs_err_set(err, FS_E_INVALID, "known_hosts",
                          "ssh known_hosts file '%.200s' must be an absolute path without "
                          "spaces, quotes, backslashes or '%%'",
                          t->known_hosts);
    if (t->connect_timeout_s < 0)
        return fs_err_set(err, FS_E_INVALID, "connect_timeout_s",
                          "ssh connect timeout must be >= 0");
    if (!remote_argv || !remote_argv[0] || !remote_argv[0][0])
        return fs_err_set(err, FS_E_INVALID, NULL, "the remote command is empty");

    a[n++] = "ssh";
    a[n++] = "-o";
    a[n++] = "BatchMode=yes";
    a[n++] = "-o";
    a[n++] = "StrictHostKeyChecking=yes";
    if (t->known_hosts) {
        snprintf(khf, sizeof(khf), "UserKnownHostsFile=%s", t->known_hosts);
        a[n++] = "-o";
        a[n++] = khf;
    }
    if (t->connect_timeout_s > 0) {
        snprintf(ct, sizeof(ct), "ConnectTimeout=%d", t->connect_timeout_s);
        a[n++] = "-o";
        a[n++] = ct;
    }
    if (t->identity_file) {
        a[n++] = "-o";
        a[n++] = "IdentitiesOnly=yes";
        a[n++] = "-i";
        a[n++] = t->identity_file;
    }
    if (t->port > 0) {
        snprintf(port, sizeof(port), "%d", t->port);
        a[n++] = "-p";
        a[n++] = port;
    }
    if (t->user) {
        a[n++] = "-l";
        a[n++] = t->user;
    }
    a[n++] = "--";
    a[n++] = t->host;
    for (const char *const *p = remote_argv; rc == 0 && *p; p++) {
        if (p != remote_argv)
            rc = fs_buf_putc(&remote, ' ');
        if (rc == 0)
            rc = fs_shell_quote(&remote, *p);
    }
    if (rc < 0) {
        fs_buf_release(&remote);
        if (rc == -FS_E_TOO_LARGE)
            return fs_err_set(err, FS_E_TOO_LARGE, NULL,
                              "the remote command is longer than %zu bytes once quoted",
                              remote.max);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    a[n++] = remote.data;

    /* one allocation: the pointer array, then the strings */
    size_t bytes = (n + 1) * sizeof(char *);
    for (size_t i = 0; i < n; i++)
        bytes += strlen(a[i]) + 1;
    char **argv = fs_malloc(bytes);
    if (!argv) {
        fs_buf_release(&remote);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    char *s = (char *)(argv + n + 1);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(a[i]) + 1;
        memcpy(s, a[i], len);
        argv[i] = s;
        s += len;
    }
    argv[n] = NULL;
    fs_buf_release(&remote);
    *out_argv = argv;
    return 0;
}
