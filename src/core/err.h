/* One error vocabulary for the whole program.
 *
 * Functions return 0 on success or a negative enum fs_errcode on failure, and fill an optional
 * struct fs_err (only on failure) with a human message and, where it applies, the JSON path or
 * file:line the error is about. Each code has a stable machine name ("invalid_payload") used on
 * the wire, in logs and in metrics. */
#ifndef FS_ERR_H
#define FS_ERR_H

#include <stdarg.h>

/* X(ENUM, "machine_name", "default human message") */
#define FS_ERRORS(X)                                                                               \
    X(OK, "ok", "success")                                                                         \
    X(NOMEM, "out_of_memory", "out of memory")                                                     \
    X(INVALID, "invalid_argument", "invalid argument")                                             \
    X(INVALID_JSON, "invalid_json", "the body is not valid JSON")                                  \
    X(INVALID_UTF8, "invalid_utf8", "the body is not valid UTF-8")                                 \
    X(INVALID_PAYLOAD, "invalid_payload", "the payload does not have the expected shape")          \
    X(TOO_DEEP, "too_deep", "JSON nesting is deeper than allowed")                                 \
    X(TOO_LARGE, "too_large", "the body is larger than allowed")                                   \
    X(TOO_MANY, "too_many_alerts", "the payload carries more alerts than allowed")                 \
    X(UNAUTHORIZED, "unauthorized", "a valid bearer token is required")                            \
    X(NOT_FOUND, "not_found", "no such resource")                                                  \
    X(METHOD, "method_not_allowed", "method not allowed on this path")                             \
    X(MEDIA_TYPE, "unsupported_media_type", "the body must be application/json")                   \
    X(BUSY, "store_busy", "the store is busy; retry later")                                        \
    X(DISK_FULL, "disk_full", "the disk holding the store is full; retry later")                   \
    X(IO, "io_error", "an I/O operation failed")                                                   \
    X(FAILSTOP, "store_failed", "a durable write failed; the daemon has stopped acknowledging")    \
    X(SHUTDOWN, "shutting_down", "the daemon is shutting down; retry later")                       \
    X(OVERLOADED, "overloaded", "too many requests are waiting; retry later")                      \
    X(CONFIG, "invalid_config", "the configuration is not valid")                                  \
    X(STORE, "store_error", "the store reported an error")                                         \
    X(CONNECT, "connect_failed", "could not connect")                                              \
    X(TIMEOUT, "timeout", "the operation timed out")                                               \
    X(PROTOCOL, "protocol_error", "the peer answered something unexpected")                        \
    X(SYSTEM, "system_error", "a system call failed")                                              \
    X(USAGE, "usage", "invalid command line")                                                      \
    X(FORBIDDEN, "forbidden", "the caller's role does not allow this")                             \
    X(SELF_APPROVAL, "self_approval", "a proposal cannot be approved by the one who proposed it")  \
    X(FORCE_REQUIRED, "force_override_required",                                                   \
      "this proposal needs FORCE_OVERRIDE; a plain approval is refused")                           \
    X(NOT_PENDING, "not_pending", "the proposal is no longer waiting for a decision")              \
    X(EXPIRED, "expired", "the proposal or approval has expired")                                  \
    X(STALE, "stale",                                                                              \
      "the action, its target, the catalog or the policy changed since it was "                    \
      "decided")                                                                                   \
    X(FROZEN, "frozen", "the kill switch is on; no action may start")                              \
    X(PERMISSION, "permission_denied", "the operating system refused access")

enum fs_errcode {
#define FS_ERR_ENUM(e, name, msg) FS_E_##e,
    FS_ERRORS(FS_ERR_ENUM)
#undef FS_ERR_ENUM
        FS_E__COUNT
};

struct fs_err {
    enum fs_errcode code;
    char path[256]; /* JSON path ("alerts[2].labels") or "file:line: key"; may be empty */
    char msg[512];  /* human message, one line */
};

/* Stable machine name of a code ("invalid_payload"); "unknown" for out-of-range values. */
const char *fs_err_name(int code);
/* Default human message of a code. */
const char *fs_err_default_msg(int code);

/* Fill err (if not NULL) and return -code, so callers can write `return fs_err_set(...)`.
 * path may be NULL. fmt may be NULL to use the code's default message. */
int fs_err_set(struct fs_err *err, enum fs_errcode code, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int fs_err_vset(struct fs_err *err, enum fs_errcode code, const char *path, const char *fmt,
                va_list ap) __attribute__((format(printf, 4, 0)));
/* The same for an error about one place of a document: err->path = path and the message reads
 * "PATH: message" ("(top level)" for an empty path), as every validator of outside JSON says it. */
int fs_err_at(struct fs_err *err, enum fs_errcode code, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Prefix the message of an already-filled error ("config.yaml:12: " + msg). */
void fs_err_prefix(struct fs_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Impossible states: abort with file:line. Never for conditions that can happen at run time. */
#define FS_BUG(...) fs_bug(__FILE__, __LINE__, __VA_ARGS__)
_Noreturn void fs_bug(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
