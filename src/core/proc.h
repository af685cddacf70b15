/* The one child-process module: every program forestall runs goes through fs_child_run.
 *
 * argv only, never a shell; the child's environment, PATH, working directory and stdin are
 * what the caller gives, nothing is inherited from the daemon (no environment, no descriptors
 * beyond 0/1/2, no signal handlers, ignored signals or blocked mask). The child leads its own
 * process group so a timeout can kill everything it started. Output is captured with a cap.
 *
 * Also here: quoting for the POSIX shell that sshd runs on the far side, and the ssh argv built
 * from a target, so that remote arguments arrive there verbatim. */
#ifndef FS_PROC_H
#define FS_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/buf.h"
#include "core/err.h"

/* PATH used to look up a bare argv[0] when path_env is NULL. Never the daemon's own PATH. */
#define FS_CHILD_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define FS_CHILD_DEFAULT_GRACE_MS 2000
/* Cap used when max_stdout / max_stderr is 0: every child's output is bounded. */
#define FS_CHILD_DEFAULT_MAX_OUTPUT (1024 * 1024)

/* One run of one program. Zero it (designated initializer), fill the inputs, call
 * fs_child_run, read the outputs, call fs_child_release. The struct never owns the inputs:
 * argv, env, path_env, cwd and stdin_data are borrowed for the duration of the call. */
struct fs_child {
    /* --- in --- */
    /* argv[0] is an absolute path, or a bare name (no '/') looked up in path_env. A relative
     * path ("./x", "bin/x") is refused. NULL-terminated; argv[0] is also the child's argv[0]. */
    const char *const *argv;
    /* The child's whole environment, "NAME=value" entries, NULL-terminated. NULL = empty. */
    const char *const *env;
    /* Used only to find a bare argv[0]; never passed to the child (put PATH= in env for that).
     * Empty and relative entries are skipped. NULL = FS_CHILD_DEFAULT_PATH. */
    const char *path_env;
    const char *cwd; /* NULL = "/" */
    /* Written to the child's stdin, which is then closed. NULL = /dev/null. A child that exits
     * without reading it all is not an error (the rest is dropped). */
    const void *stdin_data;
    size_t stdin_len;
    /* 0 = none. On expiry SIGTERM goes to the child's process group, then SIGKILL after
     * kill_grace_ms (0 = FS_CHILD_DEFAULT_GRACE_MS). The timeout covers the whole run: a
     * descendant that keeps stdout open keeps the run going until EOF or the timeout, so a
     * caller running anything it does not control sets one. */
    int64_t timeout_ms;
    int64_t kill_grace_ms;
    /* Bytes kept of each stream (0 = FS_CHILD_DEFAULT_MAX_OUTPUT). The rest is still read, so
     * the child never blocks on a full pipe, and discarded; *_truncated says so. */
    size_t max_stdout;
    size_t max_stderr;
    /* Resource limits applied in the child before exec, soft and hard (so the program cannot
     * raise them again); lowered to the daemon's own hard limit if above it. 0 = leave as
     * inherited. rlimit_nproc counts every process of the child's real user, as the kernel
     * does, and is not enforced for root. */
    uint64_t rlimit_as_bytes; /* RLIMIT_AS */
    uint64_t rlimit_cpu_s;    /* RLIMIT_CPU: SIGXCPU at the limit */
    uint64_t rlimit_nofile;   /* RLIMIT_NOFILE */
    uint64_t rlimit_nproc;    /* RLIMIT_NPROC */

    /* --- out (valid after fs_child_run returned 0) --- */
    /* Captured output; data is never NULL and always NUL-terminated (the child may also have
     * written NULs: use len). Owned by the struct until fs_child_release (or fs_buf_detach). */
    struct fs_buf out, err;
    bool stdout_truncated, stderr_truncated;
    int exit_code;       /* 0..255 when it exited; -1 when killed by a signal */
    int term_signal;     /* the signal that killed it; 0 when it exited */
    bool timed_out;      /* the timeout expired and the group was signalled */
    int64_t duration_ms; /* from just before fork to the reaping of the child */
    pid_t pid;           /* the child's pid (reaped; for logs and audit only) */
};

/* Run c->argv to completion: start it, feed stdin, drain stdout and stderr concurrently, apply
 * the timeout, reap it. Returns 0 when the program ran, whatever its exit status (look at
 * exit_code / term_signal / timed_out), or a negative code when it could not be started, with a
 * message naming argv[0]:
 *   -FS_E_NOT_FOUND   no such program (not in path_env, missing file), or cwd does not exist
 *   -FS_E_FORBIDDEN   permission denied (file not executable, or a directory)
 *   -FS_E_INVALID     bad input (empty argv, relative argv[0], env entry without '=', a file
 *                     the kernel cannot execute, e.g. a script without "#!")
 *   -FS_E_NOMEM, -FS_E_SYSTEM   allocation, pipe or fork failure; also -FS_E_SYSTEM when
 *                     something else reaped the child (a waitpid(-1) or SA_NOCLDWAIT elsewhere
 *                     in the process, which forestall must not have)
 * On failure no child is left running or unreaped and nothing is held (out and err released,
 * data NULL), so fs_child_release is optional after a failed call. Reusing a struct for another
 * run is allowed: fs_child_run releases the previous outputs first. Thread-safe: each call is
 * independent; SIGPIPE is blocked in the calling thread during the call and never delivered. */
int fs_child_run(struct fs_child *c, struct fs_err *err);

/* Free the captured output; the struct may be run again. NULL is a no-op. */
void fs_child_release(struct fs_child *c);

/* A long-lived child whose stdin, stdout and stderr stay open as pipes (an MCP stdio server):
 * started exactly like fs_child_run (argv only, explicit environment, cwd, rlimits, no
 * inherited descriptors or signal state, its own process group), then driven by the caller.
 * Zero it, fill the inputs, fs_proc_start; write with fs_proc_write, read stdout_fd and
 * stderr_fd (non-blocking: poll them), and end it with fs_proc_stop or fs_proc_close, which
 * always reap it. One thread may write while others read stdout and stderr; starting, waiting,
 * signalling, stopping and closing belong to one owner at a time. */
struct fs_proc {
    /* --- in: as in struct fs_child, borrowed for the duration of fs_proc_start --- */
    const char *const *argv;
    const char *const *env;
    const char *path_env;
    const char *cwd;
    uint64_t rlimit_as_bytes;
    uint64_t rlimit_cpu_s;
    uint64_t rlimit_nofile;
    uint64_t rlimit_nproc;

    /* --- out --- */
    pid_t pid;     /* > 0 from a successful start until it is reaped, then 0 */
    int stdin_fd;  /* the write end of its stdin (O_CLOEXEC, O_NONBLOCK); -1 once closed */
    int stdout_fd; /* the read ends of its stdout and stderr (O_CLOEXEC, O_NONBLOCK) */
    int stderr_fd;
    /* Readable (POLLIN) once the child has exited, for a poll loop; -1 when the kernel has no
     * pidfd_open (then poll fs_proc_exited). Owned by the struct. */
    int pidfd;
    int64_t started_ns; /* fs_mono_ns() just before fork */
    /* After it was reaped: */
    bool reaped;
    int exit_code;   /* 0..255 when it exited; -1 when killed by a signal */
    int term_signal; /* the signal that killed it; 0 when it exited */
};

/* Start p->argv. Returns 0 with pid and the descriptors set, or a negative code with the same
 * meanings and messages as fs_child_run (nothing left running or open). */
int fs_proc_start(struct fs_proc *p, struct fs_err *err);

/* Write all len bytes to the child's stdin, waiting while the pipe is full, for at most
 * timeout_ms (0 = no limit). Returns 0, -FS_E_TIMEOUT (the child does not read: some bytes may
 * have been written), -FS_E_IO (its stdin is closed: it exited or closed it) or -FS_E_INVALID
 * (stdin already closed here). SIGPIPE is blocked in the calling thread during the call and
 * never delivered. */
int fs_proc_write(struct fs_proc *p, const void *data, size_t len, int64_t timeout_ms,
                  struct fs_err *err);

/* Close the child's stdin (EOF for it); idempotent. Not while another thread writes. */
void fs_proc_close_stdin(struct fs_proc *p);

/* Has the child exited (it is a zombie waiting to be reaped, or reaped)? Never reaps. */
bool fs_proc_exited(struct fs_proc *p);

/* Send sig to the child's process group (and to the child, should it have left it). A no-op
 * once it is reaped, so a recycled pid is never signalled. */
void fs_proc_signal(struct fs_proc *p, int sig);

/* Wait up to timeout_ms (0 = poll once, < 0 = no limit) for the child to exit, then reap it:
 * 0 with reaped, exit_code and term_signal set, or -FS_E_TIMEOUT while it still runs. Whatever
 * it left running in its process group is killed (SIGKILL) before it is reaped: a server's
 * helpers do not outlive it. -FS_E_SYSTEM when something else reaped it. */
int fs_proc_wait(struct fs_proc *p, int64_t timeout_ms, struct fs_err *err);

/* End the child the way the MCP stdio transport says: close its stdin, wait grace_ms for it
 * to exit, then SIGTERM its group, wait grace_ms more, then SIGKILL; reap it. 0 =
 * FS_CHILD_DEFAULT_GRACE_MS. Always reaps (the status is in the struct); no-op once reaped. */
void fs_proc_stop(struct fs_proc *p, int64_t grace_ms);

/* Release everything: a child still running is killed (SIGKILL to its group) and reaped, the
 * descriptors closed. The struct may be started again. NULL is a no-op. */
void fs_proc_close(struct fs_proc *p);

/* Append arg to out quoted for a POSIX shell (sh, dash, bash, zsh; not csh or fish): always in
 * single quotes, each ' written as '\''. "" becomes ''. Returns 0, or -FS_E_TOO_LARGE /
 * -FS_E_NOMEM with out as it was. */
int fs_shell_quote(struct fs_buf *out, const char *arg);

/* Where and how to reach a host over ssh. Borrowed strings; NULL / 0 leave a field out. */
struct fs_ssh_target {
    const char *host;          /* required: [A-Za-z0-9._:-], starting with a letter, digit or
                                  ':', at most 253 bytes (no '@', no spaces, no leading '-') */
    const char *user;          /* [A-Za-z0-9._-], not starting with '-', at most 32 bytes */
    int port;                  /* 1..65535; 0 = ssh's default */
    const char *identity_file; /* absolute path, no whitespace, quotes, '%' or control chars */
    const char *known_hosts;   /* absolute path, same rules */
    int connect_timeout_s;     /* > 0 adds -o ConnectTimeout=N */
};

/* Build the argv that runs remote_argv on t through ssh, for fs_child_run:
 *   ssh -o BatchMode=yes -o StrictHostKeyChecking=yes [-o UserKnownHostsFile=FILE]
 *       [-o ConnectTimeout=N] [-o IdentitiesOnly=yes -i KEY] [-p PORT] [-l USER]
 *       -- HOST 'arg0' 'arg1' ...
 * The remote part is one argv element: every remote argument quoted with fs_shell_quote and
 * joined with spaces, which is the one string sshd hands to the remote user's shell, so each
 * argument arrives there verbatim. argv[0] is the bare name "ssh" (found through path_env).
 * On success *out_argv is one allocation (the pointer array and its strings), NULL-terminated:
 * the caller frees it with free(); pass it as (const char *const *)argv. Returns 0, or
 * -FS_E_INVALID naming the bad field (host or user that could be read as an option or carries
 * spaces or control characters, bad port, bad path, empty remote_argv), -FS_E_TOO_LARGE when
 * the remote command exceeds 128 KiB (the kernel's limit for one argument), -FS_E_NOMEM. */
int fs_ssh_argv(const struct fs_ssh_target *t, const char *const *remote_argv, char ***out_argv,
                struct fs_err *err);

#endif
