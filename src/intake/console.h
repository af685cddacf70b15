/* The web console's sessions (api_console.c): who logged in, their CSRF token, idle and absolute
 * expiry. In memory only: a restart logs everyone out. Thread-safe; no HTTP in this interface,
 * so the unit tests drive it directly. */
#ifndef FS_CONSOLE_H
#define FS_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "safety/approval.h"

#define FS_CONSOLE_COOKIE "__Host-forestall_session"
#define FS_CONSOLE_SECRET_LEN 64               /* hex of 32 random bytes: cookie and CSRF token */
#define FS_CONSOLE_IDLE_MS (60 * 60 * 1000LL)  /* a session unused this long ends */
#define FS_CONSOLE_MAX_MS (12 * 3600 * 1000LL) /* and every session ends this long after login */
#define FS_CONSOLE_MAX_SESSIONS 512            /* beyond: the least recently used one ends */

struct fs_console_session {
    char name[80];
    enum fs_role role;
    bool authenticated;    /* logged in with a token; false: no tokens configured (loopback) */
    char token_sha256[65]; /* the token's digest, checked against the configuration on each use */
    char csrf[FS_CONSOLE_SECRET_LEN + 1];
    int64_t created_ms, used_ms;
};

struct fs_console_sessions;

struct fs_console_sessions *fs_console_sessions_new(size_t cap, int64_t idle_ms, int64_t max_ms);
void fs_console_sessions_free(struct fs_console_sessions *s); /* NULL: no-op */

/* A new session for who (name, role, authenticated, token_sha256) at now: fresh cookie value
 * into cookie, fresh CSRF token and times into *out. Only the cookie's digest is kept. */
int fs_console_session_open(struct fs_console_sessions *s, const struct fs_console_session *who,
                            int64_t now, char cookie[FS_CONSOLE_SECRET_LEN + 1],
                            struct fs_console_session *out, struct fs_err *err);
/* The live session of this cookie value (a copy in *out; its idle clock restarts), or -1 when
 * there is none or it expired (then it is removed). */
int fs_console_session_find(struct fs_console_sessions *s, const char *cookie, int64_t now,
                            struct fs_console_session *out);
void fs_console_session_close(struct fs_console_sessions *s, const char *cookie);
size_t fs_console_session_count(struct fs_console_sessions *s);

/* The X-CSRF-Token header (NULL when absent) matches the session's token (constant time). */
bool fs_console_csrf_ok(const struct fs_console_session *ss, const char *header);
/* The value of key in an application/x-www-form-urlencoded body, decoded, into out: 0, or -1
 * when absent, too long or not decodable. */
int fs_console_form_value(const char *body, size_t len, const char *key, char *out, size_t size);
/* An Origin header names the same origin as the Host header ("http://HOST" or "https://HOST"). */
bool fs_console_same_origin(const char *origin, const char *host);

#endif
