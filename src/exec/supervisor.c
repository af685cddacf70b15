/* supervisor: the daemon keeps one `forestall executor` process alive — spawned with
 * posix_spawn (the daemon is multi-threaded: nothing runs between fork and exec), stdin a pipe
 * the daemon writes pokes into, restarted with backoff when it dies, stopped gently then firmly
 * at shutdown. It never runs an action itself and never reaps any process but its own child. */
#include "core/common.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/time.h"
#include "exec/supervisor.h"

#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 60000
#define HEALTHY_MS 60000 /* a run this long resets the backoff */
#define STOP_GRACE_MS 10000

extern char **environ;

struct fs_executor {
    char *argv_store[8]; /* owned strings */
    char *argv[8];       /* NULL-terminated, points into argv_store */
    char *exe;
    pthread_mutex_t mu;
    pthread_cond_t cv;  /* CLOCK_MONOTONIC */
    pid_t pid;          /* 0: not running */
    int64_t started_ns; /* when it was spawned (monotonic) */
    int fd;             /* write end of its stdin, -1 when none */
    bool stopping;
    pthread_t monitor;
    bool have_monitor;
};

/* With ex->mu held. */
static int spawn(struct fs_executor *ex, struct fs_err *err)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return fs_err_set(err, FS_E_SYSTEM, NULL, "executor: pipe: %s", strerror(errno));
    int fl = fcntl(p[1], F_GETFL);
    if (fl >= 0)
        fcntl(p[1], F_SETFL, fl | O_NONBLOCK);
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    posix_spawn_file_actions_adddup2(&fa, p[0], 0);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    /* the daemon blocks its signals for sigtimedwait and ignores SIGPIPE: not the child */
    sigset_t none, dfl;
    sigemptyset(&none);
    sigemptyset(&dfl);
    sigaddset(&dfl, SIGPIPE);
    sigaddset(&dfl, SIGTERM);
    sigaddset(&dfl, SIGINT);
    sigaddset(&dfl, SIGHUP);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &dfl);
    /* its own process group: a terminal's Ctrl-C reaches the daemon, which then stops the
     * executor by closing its stdin, after the step in progress */
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                      POSIX_SPAWN_SETPGROUP);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, ex->exe, &fa, &at, ex->argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(p[0]);
    if (rc != 0) {
        close(p[1]);
        return fs_err_set(err, FS_E_SYSTEM, NULL, "executor: cannot start %s: %s", ex->exe,
                          strerror(rc));
    }
    ex->pid = pid;
    ex->fd = p[1];
    ex->started_ns = fs_mono_ns();
    return 0;
}

/* Wait (mu held) until ms passed or stop was asked. */
static void pause_unless_stopping(struct fs_executor *ex, int64_t ms)
{
    struct timespec ts = fs_deadline_in(CLOCK_MONOTONIC, ms);
    while (!ex->stopping && pthread_cond_timedwait(&ex->cv, &ex->mu, &ts) != ETIMEDOUT)
        ;
}

static void *monitor_main(void *arg)
{
    struct fs_executor *ex = arg;
    int64_t backoff = BACKOFF_MIN_MS;
    pthread_mutex_lock(&ex->mu);
    /* a child that runs is always waited for, even when stop came first */
    while (ex->pid > 0 || !ex->stopping) {
        if (ex->pid <= 0) {
            struct fs_err err;
            if (spawn(ex, &err) < 0) {
                FS_LOG_ERROR("cannot start the executor; retrying", "error", err.msg, "in_ms",
                             FS_I64(backoff));
                pause_unless_stopping(ex, backoff);
                backoff = FS_MIN(backoff * 2, BACKOFF_MAX_MS);
                continue;
            }
        }
        pid_t pid = ex->pid;
        int64_t t0 = ex->started_ns;
        pthread_mutex_unlock(&ex->mu);
        int status = 0;
        pid_t w;
        while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
            ;
        int werr = errno;
        pthread_mutex_lock(&ex->mu);
        ex->pid = 0;
        if (ex->fd >= 0)
            close(ex->fd);
        ex->fd = -1;
        pthread_cond_broadcast(&ex->cv);
        if (ex->stopping)
            break;
        int64_t ran_ms = (fs_mono_ns() - t0) / 1000000;
        if (ran_ms >= HEALTHY_MS)
            backoff = BACKOFF_MIN_MS;
        char how[64];
        if (w < 0)
            snprintf(how, sizeof(how), "lost (%s)", strerror(werr));
        else if (WIFSIGNALED(status))
            snprintf(how, sizeof(how), "killed by signal %d", WTERMSIG(status));
        else
            snprintf(how, sizeof(how), "exit %d", WEXITSTATUS(status));
        FS_LOG_WARN("the executor stopped; restarting it", "how", how, "ran_ms", FS_I64(ran_ms),
                    "restart_in_ms", FS_I64(backoff));
        pause_unless_stopping(ex, backoff);
        backoff = FS_MIN(backoff * 2, BACKOFF_MAX_MS);
    }
    pthread_mutex_unlock(&ex->mu);
    return NULL;
}

static void executor_free(struct fs_executor *ex)
{
    for (size_t i = 0; i < FS_ARRAY_LEN(ex->argv_store); i++)
        free(ex->argv_store[i]);
    free(ex->exe);
    pthread_cond_destroy(&ex->cv);
    pthread_mutex_destroy(&ex->mu);
    free(ex);
}

int fs_executor_start(const char *self_exe, const char *config_file, const char *data_dir,
                      struct fs_executor **out, struct fs_err *err)
{
    *out = NULL;
    struct fs_executor *ex = fs_calloc(1, sizeof(*ex));
    if (!ex)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    ex->fd = -1;
    pthread_mutex_init(&ex->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ex->cv, &ca);
    pthread_condattr_destroy(&ca);
    const char *args[8] = {"forestall", "executor"};
    size_t n = 2;
    if (config_file) {
        args[n++] = "-c";
        args[n++] = config_file;
    }
    if (data_dir) {
        args[n++] = "--data-dir";
        args[n++] = data_dir;
    }
    bool ok = (ex->exe = fs_strdup(self_exe)) != NULL;
    for (size_t i = 0; ok && i < n; i++)
        ok = (ex->argv[i] = ex->argv_store[i] = fs_strdup(args[i])) != NULL;
    if (!ok) {
        executor_free(ex);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    pthread_mutex_lock(&ex->mu);
    int rc = spawn(ex, err);
    pthread_mutex_unlock(&ex->mu);
    if (rc < 0) {
        executor_free(ex);
        return rc;
    }
    if ((rc = pthread_create(&ex->monitor, NULL, monitor_main, ex)) != 0) {
        kill(ex->pid, SIGKILL);
        waitpid(ex->pid, NULL, 0);
        close(ex->fd);
        executor_free(ex);
        return fs_err_set(err, FS_E_SYSTEM, NULL, "executor: monitor thread: %s", strerror(rc));
    }
    ex->have_monitor = true;
    FS_LOG_INFO("executor started", "pid", FS_I64(ex->pid));
    *out = ex;
    return 0;
}

void fs_executor_poke(struct fs_executor *ex)
{
    if (!ex)
        return;
    pthread_mutex_lock(&ex->mu);
    if (ex->fd >= 0) {
        ssize_t w;
        do
            w = write(ex->fd, "!", 1);
        while (w < 0 && errno == EINTR);
        /* EAGAIN: the pipe is full of pokes already; EPIPE: it is restarting */
    }
    pthread_mutex_unlock(&ex->mu);
}

void fs_executor_reload(struct fs_executor *ex)
{
    if (!ex)
        return;
    pthread_mutex_lock(&ex->mu);
    if (ex->pid > 0)
        kill(ex->pid, SIGHUP);
    pthread_mutex_unlock(&ex->mu);
}

/* With ex->mu held: wait until the child is gone or ms passed; true when gone. */
static bool wait_gone(struct fs_executor *ex, int64_t ms)
{
    struct timespec ts = fs_deadline_in(CLOCK_MONOTONIC, ms);
    while (ex->pid > 0)
        if (pthread_cond_timedwait(&ex->cv, &ex->mu, &ts) == ETIMEDOUT)
            return ex->pid <= 0;
    return true;
}

void fs_executor_stop(struct fs_executor *ex)
{
    if (!ex)
        return;
    pthread_mutex_lock(&ex->mu);
    ex->stopping = true;
    if (ex->fd >= 0)
        close(ex->fd); /* EOF: it finishes its step and exits */
    ex->fd = -1;
    pthread_cond_broadcast(&ex->cv);
    if (!wait_gone(ex, STOP_GRACE_MS) && ex->pid > 0) {
        FS_LOG_WARN("the executor did not stop within 10s; sending SIGTERM", "pid",
                    FS_I64(ex->pid));
        kill(ex->pid, SIGTERM);
        if (!wait_gone(ex, STOP_GRACE_MS) && ex->pid > 0) {
            FS_LOG_ERROR("the executor ignored SIGTERM; killing it", "pid", FS_I64(ex->pid));
            kill(ex->pid, SIGKILL);
            wait_gone(ex, STOP_GRACE_MS);
        }
    }
    pthread_mutex_unlock(&ex->mu);
    if (ex->have_monitor)
        pthread_join(ex->monitor, NULL);
    executor_free(ex);
}
