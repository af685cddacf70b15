/* api_console: the web console — its embedded static files (web/), login and logout, the
 * in-memory sessions behind the `__Host-forestall_session` cookie, the CSRF token every
 * state-changing cookie request must carry, and the security headers of every console answer.
 * The console's pages only call the ordinary API (identify() in http.c accepts the cookie), so
 * no rule or role check lives here beyond saying who the session belongs to. */
#include "core/common.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/random.h>

#include "core/config.h"
#include "core/embed.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/log.h"
#include "core/time.h"
#include "intake/console.h"
#include "intake/http_int.h"
#include "intake/metrics.h"

/* No inline script or style anywhere in web/: everything is a file from 'self'. */
#define CSP                                                                                        \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

/* ---- sessions ------------------------------------------------------------------------------- */

struct slot {
    bool used;
    char id_sha256[65]; /* the cookie value's digest: the value itself is never kept */
    struct fs_console_session s;
};

struct fs_console_sessions {
    pthread_mutex_t mu;
    size_t cap;
    int64_t idle_ms, max_ms;
    struct slot *slots;
};

struct fs_console_sessions *fs_console_sessions_new(size_t cap, int64_t idle_ms, int64_t max_ms)
{
    struct fs_console_sessions *s = fs_calloc(1, sizeof(*s));
    if (!s || !(s->slots = fs_calloc(cap ? cap : 1, sizeof(*s->slots)))) {
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    s->cap = cap ? cap : 1;
    s->idle_ms = idle_ms;
    s->max_ms = max_ms;
    return s;
}

void fs_console_sessions_free(struct fs_console_sessions *s)
{
    if (!s)
        return;
    explicit_bzero(s->slots, s->cap * sizeof(*s->slots));
    free(s->slots);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static int random_hex(char out[FS_CONSOLE_SECRET_LEN + 1])
{
    unsigned char raw[FS_CONSOLE_SECRET_LEN / 2];
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
        return -1;
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
    explicit_bzero(raw, sizeof(raw));
    return 0;
}

static bool expired(const struct fs_console_sessions *s, const struct slot *x, int64_t now)
{
    return now - x->s.used_ms >= s->idle_ms || now - x->s.created_ms >= s->max_ms;
}

int fs_console_session_open(struct fs_console_sessions *s, const struct fs_console_session *who,
                            int64_t now, char cookie[FS_CONSOLE_SECRET_LEN + 1],
                            struct fs_console_session *out, struct fs_err *err)
{
    struct fs_console_session n = *who;
    char digest[65];
    if (random_hex(cookie) < 0 || random_hex(n.csrf) < 0 ||
        fs_sha256_hex(cookie, FS_CONSOLE_SECRET_LEN, digest) < 0)
        return fs_err_set(err, FS_E_SYSTEM, NULL, "no randomness for a console session");
    n.created_ms = n.used_ms = now;
    pthread_mutex_lock(&s->mu);
    struct slot *free_slot = NULL, *lru = NULL;
    for (size_t i = 0; i < s->cap; i++) {
        struct slot *x = &s->slots[i];
        if (x->used && expired(s, x, now))
            x->used = false;
        if (!x->used && !free_slot)
            free_slot = x;
        if (x->used && (!lru || x->s.used_ms < lru->s.used_ms))
            lru = x;
    }
    struct slot *x = free_slot ? free_slot : lru; /* full: the least recently used one ends */
    x->used = true;
    memcpy(x->id_sha256, digest, sizeof(digest));
    x->s = n;
    pthread_mutex_unlock(&s->mu);
    *out = n;
    return 0;
}

/* The slot of this cookie value; the digests are compared, so timing says nothing useful. */
static struct slot *slot_of(struct fs_console_sessions *s, const char *cookie)
{
    char digest[65];
    if (!cookie || strlen(cookie) != FS_CONSOLE_SECRET_LEN ||
        fs_sha256_hex(cookie, FS_CONSOLE_SECRET_LEN, digest) < 0)
        return NULL;
    for (size_t i = 0; i < s->cap; i++)
        if (s->slots[i].used && memcmp(s->slots[i].id_sha256, digest, 64) == 0)
            return &s->slots[i];
    return NULL;
}

int fs_console_session_find(struct fs_console_sessions *s, const char *cookie, int64_t now,
                            struct fs_console_session *out)
{
    pthread_mutex_lock(&s->mu);
    struct slot *x = slot_of(s, cookie);
    int rc = -1;
    if (x && expired(s, x, now)) {
        x->used = false;
    } else if (x) {
        x->s.used_ms = now;
        *out = x->s;
        rc = 0;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void fs_console_session_close(struct fs_console_sessions *s, const char *cookie)
{
    pthread_mutex_lock(&s->mu);
    struct slot *x = slot_of(s, cookie);
    if (x)
        explicit_bzero(x, sizeof(*x));
    pthread_mutex_unlock(&s->mu);
}

size_t fs_console_session_count(struct fs_console_sessions *s)
{
    size_t n = 0;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->cap; i++)
        n += s->slots[i].used;
    pthread_mutex_unlock(&s->mu);
    return n;
}

bool fs_console_csrf_ok(const struct fs_console_session *ss, const char *header)
{
    return header && ss->csrf[0] &&
           fs_consttime_eq(header, strlen(header), ss->csrf, strlen(ss->csrf));
}

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

int fs_console_form_value(const char *body, size_t len, const char *key, char *out, size_t size)
{
    size_t klen = strlen(key), i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && body[end] != '&')
            end++;
        if (end - i > klen && body[i + klen] == '=' && memcmp(body + i, key, klen) == 0) {
            size_t n = 0;
            for (size_t k = i + klen + 1; k < end; k++) {
                char c = body[k];
                if (c == '+') {
                    c = ' ';
                } else if (c == '%') {
                    int hi = k + 2 < end ? hexval(body[k + 1]) : -1;
                    int lo = k + 2 < end ? hexval(body[k + 2]) : -1;
                    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                        return -1;
                    c = (char)(hi * 16 + lo);
                    k += 2;
                }
                if (n + 1 >= size)
                    return -1;
                out[n++] = c;
            }
            out[n] = '\0';
            return 0;
        }
        i = end + 1;
    }
    return -1;
}

bool fs_console_same_origin(const char *origin, const char *host)
{
    if (!origin || !host)
        return false;
    if (strncasecmp(origin, "http://", 7) == 0)
        origin += 7;
    else if (strncasecmp(origin, "https://", 8) == 0)
        origin += 8;
    else
        return false;
    return strcasecmp(origin, host) == 0;
}

/* ---- answers -------------------------------------------------------------------------------- */

/* Every console answer: the security headers, the cache rule, and up to two more headers. */
static void reply(struct req *r, int status, const char *ctype, void *body, size_t len, bool copy,
                  const char *cache, const char *h1, const char *v1, const char *h2, const char *v2)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, body, copy ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        if (copy)
            free(body);
        return;
    }
    if (ctype)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(resp, "Content-Security-Policy", CSP);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, cache);
    if (h1 && v1)
        MHD_add_response_header(resp, h1, v1);
    if (h2 && v2)
        MHD_add_response_header(resp, h2, v2);
    MHD_queue_response(r->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    if (status >= 100 && status < 600)
        fs_counter_add(&fs_metrics.http_responses[status], 1);
}

static void send_json(struct req *r, int status, json_t *v, const char *h1, const char *v1)
{
    char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    if (!text)
        return fs_http_error(r, FS_E_NOMEM, NULL, NULL);
    reply(r, status, "application/json", text, strlen(text), true, "no-store", h1, v1, NULL, NULL);
}

static void send_error(struct req *r, int status, const char *code, const char *msg)
{
    send_json(r, status,
              json_pack("{s:{s:s,s:s,s:n}}", "error", "code", code, "message", msg, "path"), NULL,
              NULL);
}

static void redirect(struct req *r, const char *to, const char *cookie)
{
    reply(r, 303, "text/plain; charset=utf-8", (void *)"", 0, false, "no-store",
          MHD_HTTP_HEADER_LOCATION, to, cookie ? MHD_HTTP_HEADER_SET_COOKIE : NULL, cookie);
}

void fs_console_refuse_csrf(struct req *r)
{
    fs_http_json(r, 403,
                 json_pack("{s:{s:s,s:s,s:n}}", "error", "code", "csrf", "message",
                           "a request authenticated by the console's session cookie must carry "
                           "its X-CSRF-Token (GET /ui/session)",
                           "path"));
}

/* ---- static files --------------------------------------------------------------------------- */

static const char *content_type(const char *name)
{
    static const char *const types[][2] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
    };
    size_t n = strlen(name);
    for (size_t i = 0; i < FS_ARRAY_LEN(types); i++) {
        size_t e = strlen(types[i][0]);
        if (n > e && strcmp(name + n - e, types[i][0]) == 0)
            return types[i][1];
    }
    return NULL; /* not served: every file of web/ has a known type */
}

static void serve_file(struct req *r, const char *name)
{
    char path[160];
    snprintf(path, sizeof(path), "web/%s", name);
    const struct fs_embed_file *f = fs_embed_find(path);
    const char *ctype = f ? content_type(path) : NULL;
    if (!ctype)
        return send_error(r, 404, "not_found", "no such console file");
    /* a strong validator from the contents: the browser revalidates, and gets 304 when unchanged */
    char digest[65], etag[24];
    fs_sha256_hex(f->start, fs_embed_len(f), digest);
    snprintf(etag, sizeof(etag), "\"%.16s\"", digest);
    const char *inm =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    if (inm && strcmp(inm, etag) == 0)
        return reply(r, 304, NULL, (void *)"", 0, false, "no-cache", MHD_HTTP_HEADER_ETAG, etag,
                     NULL, NULL);
    reply(r, 200, ctype, (void *)f->start, fs_embed_len(f), false, "no-cache", MHD_HTTP_HEADER_ETAG,
          etag, NULL, NULL);
}

void fs_console_root(struct req *r)
{
    redirect(r, "/ui/", NULL);
}

void fs_console_page(struct req *r)
{
    serve_file(r, strcmp(r->url, "/ui/login") == 0 ? "login.html" : "index.html");
}

void fs_console_asset(struct req *r)
{
    serve_file(r, r->param);
}

/* ---- identity ------------------------------------------------------------------------------- */

/* The configured token with this digest: its name and role. Checks every token so that timing
 * does not say which one matched (as identify() in http.c). */
static bool token_lookup(struct fs_config *cfg, const char *digest, char *name, size_t size,
                         enum fs_role *role)
{
    bool ok = false;
    for (size_t i = 0; i < cfg->auth.tokens.n; i++) {
        const struct fs_secret *t = &cfg->auth.tokens.items[i].token;
        if (t->value && fs_consttime_eq(digest, 64, t->sha256, 64) && !ok) {
            fs_strlcpy(name, cfg->auth.tokens.items[i].name, size);
            *role = FS_ROLE_VIEWER;
            fs_role_parse(cfg->auth.tokens.items[i].role, role);
            ok = true;
        }
    }
    if (cfg->auth.token.value && fs_consttime_eq(digest, 64, cfg->auth.token.sha256, 64) && !ok) {
        fs_strlcpy(name, "admin", size);
        *role = FS_ROLE_ADMIN;
        ok = true;
    }
    return ok;
}

/* The request's live session, checked against the configuration in force: a token removed or
 * given another role by a reload takes its sessions with it. */
static int session_of(struct req *r, struct fs_console_session *ss, const char **cookie)
{
    *cookie = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, FS_CONSOLE_COOKIE);
    if (!*cookie || !r->srv->console ||
        fs_console_session_find(r->srv->console, *cookie, fs_now_ms(), ss) < 0)
        return -1;
    struct fs_config *cfg = fs_config_acquire();
    bool ok = ss->authenticated
                  ? token_lookup(cfg, ss->token_sha256, ss->name, sizeof(ss->name), &ss->role)
                  : !fs_config_auth_enabled(cfg);
    fs_config_release(cfg);
    if (!ok)
        fs_console_session_close(r->srv->console, *cookie);
    return ok ? 0 : -1;
}

int fs_console_identify(struct req *r)
{
    if (!MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, FS_CONSOLE_COOKIE))
        return 0;
    struct fs_console_session ss;
    const char *cookie;
    if (session_of(r, &ss, &cookie) < 0) {
        /* without tokens a stale cookie changes nothing: the caller is anonymous, as before */
        struct fs_config *cfg = fs_config_acquire();
        bool auth = fs_config_auth_enabled(cfg);
        fs_config_release(cfg);
        return auth ? -1 : 0;
    }
    if (strcmp(r->route->method, "GET") != 0 && strcmp(r->route->method, "HEAD") != 0 &&
        !fs_console_csrf_ok(
            &ss, MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-CSRF-Token"))) {
        r->csrf_refused = true;
        return -1;
    }
    fs_strlcpy(r->who_name, ss.name, sizeof(r->who_name));
    r->who = (struct fs_identity){r->who_name, ss.role, ss.authenticated};
    r->via_session = true;
    return 1;
}

bool fs_console_is_form(struct req *r)
{
    const char *ct =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    return ct && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0;
}

/* ---- login, logout, session ----------------------------------------------------------------- */

static const char *login_kind(void)
{
    struct fs_config *cfg = fs_config_acquire();
    bool auth = fs_config_auth_enabled(cfg);
    fs_config_release(cfg);
    return auth ? "token" : "name";
}

static bool good_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        if (*c < 0x20 || *c == 0x7f)
            return false;
    return true;
}

static json_t *session_json(const struct fs_console_session *ss, int64_t idle_ms, int64_t max_ms)
{
    char exp[40];
    json_t *can = json_object();
    static const struct {
        const char *name;
        enum fs_capability cap;
    } caps[] = {{"approve", FS_CAP_APPROVE}, {"forceOverride", FS_CAP_OVERRIDE},
                {"freeze", FS_CAP_FREEZE},   {"unfreeze", FS_CAP_UNFREEZE},
                {"modes", FS_CAP_MODE},      {"propose", FS_CAP_PROPOSE}};
    for (size_t i = 0; i < FS_ARRAY_LEN(caps); i++)
        json_object_set_new(can, caps[i].name, json_boolean(fs_role_can(ss->role, caps[i].cap)));
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:o}", "name", ss->name, "role",
                     fs_role_name(ss->role), "csrf", ss->csrf, "authentication",
                     ss->authenticated ? "token" : "none (loopback, no tokens)", "expiresAt",
                     fs_time_format(ss->created_ms + max_ms, exp, sizeof(exp)),
                     "idleTimeoutSeconds", (json_int_t)(idle_ms / 1000), "can", can);
}

void fs_console_login(struct req *r)
{
    bool form = fs_console_is_form(r);
    const char *origin = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Origin");
    const char *host = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    const char *site = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Sec-Fetch-Site");
    /* login CSRF: another site's form. With Referrer-Policy no-referrer a browser's own form
     * posts say "Origin: null", so Sec-Fetch-Site decides when the browser sends it. */
    bool foreign =
        site ? strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0
             : origin && strcmp(origin, "null") != 0 && !fs_console_same_origin(origin, host);
    if (foreign)
        return send_error(r, 403, "csrf", "the login form must come from this server");
    if (r->too_large)
        return send_error(r, 413, "too_large", "the body is larger than server.max_body");
    char token[1024] = "", name[96] = "";
    if (form) {
        fs_console_form_value(fs_buf_str(&r->body), r->body.len, "token", token, sizeof(token));
        fs_console_form_value(fs_buf_str(&r->body), r->body.len, "name", name, sizeof(name));
    } else if (r->body.len) {
        json_t *j = NULL;
        struct fs_err jerr;
        if (fs_json_parse(fs_buf_str(&r->body), r->body.len, 8, &j, &jerr) < 0 ||
            !json_is_object(j)) {
            json_decref(j);
            return send_error(r, 400, "invalid_payload",
                              "expected {\"token\": ...} or {\"name\": ...}");
        }
        const char *t = json_string_value(json_object_get(j, "token"));
        const char *n = json_string_value(json_object_get(j, "name"));
        fs_strlcpy(token, t ? t : "", sizeof(token));
        fs_strlcpy(name, n ? n : "", sizeof(name));
        json_decref(j);
    }
    struct fs_console_session who = {0};
    struct fs_config *cfg = fs_config_acquire();
    bool auth = fs_config_auth_enabled(cfg), ok;
    if (auth) {
        char digest[65];
        ok = token[0] && fs_sha256_hex(token, strlen(token), digest) == 0 &&
             token_lookup(cfg, digest, who.name, sizeof(who.name), &who.role);
        who.authenticated = true;
        if (ok)
            memcpy(who.token_sha256, digest, sizeof(digest));
    } else {
        ok = good_name(name); /* no tokens (loopback only): callers are admin and name themselves */
        fs_strlcpy(who.name, name, sizeof(who.name));
        who.role = FS_ROLE_ADMIN;
    }
    fs_config_release(cfg);
    explicit_bzero(token, sizeof(token));
    if (!ok) {
        FS_LOG_WARN("console login refused", "remote", r->remote);
        if (form)
            return redirect(r, auth ? "/ui/login?failed=token" : "/ui/login?failed=name", NULL);
        return auth ? send_error(r, 401, "unauthorized", "unknown token")
                    : send_error(r, 400, "invalid_payload",
                                 "name: say who you are (1-64 printable characters)");
    }
    char cookie[FS_CONSOLE_SECRET_LEN + 1], header[200];
    struct fs_console_session ss;
    struct fs_err err;
    if (!r->srv->console ||
        fs_console_session_open(r->srv->console, &who, fs_now_ms(), cookie, &ss, &err) < 0)
        return send_error(r, 503, "system_error", "cannot open a session");
    /* Secure always: browsers treat http://127.0.0.1 and http://localhost as secure contexts */
    snprintf(header, sizeof(header),
             FS_CONSOLE_COOKIE "=%s; Path=/; Max-Age=%lld; HttpOnly; Secure; SameSite=Strict",
             cookie, (long long)(FS_CONSOLE_MAX_MS / 1000));
    explicit_bzero(cookie, sizeof(cookie));
    FS_LOG_INFO("console login", "name", ss.name, "role", fs_role_name(ss.role), "remote",
                r->remote);
    if (form)
        redirect(r, "/ui/", header);
    else
        send_json(r, 200, session_json(&ss, FS_CONSOLE_IDLE_MS, FS_CONSOLE_MAX_MS),
                  MHD_HTTP_HEADER_SET_COOKIE, header);
    explicit_bzero(header, sizeof(header));
}

void fs_console_logout(struct req *r)
{
    static const char clear[] =
        FS_CONSOLE_COOKIE "=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict";
    struct fs_console_session ss;
    const char *cookie;
    if (session_of(r, &ss, &cookie) == 0) {
        if (!fs_console_csrf_ok(
                &ss, MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-CSRF-Token")))
            return send_error(r, 403, "csrf", "logging out needs the session's X-CSRF-Token");
        fs_console_session_close(r->srv->console, cookie);
    }
    reply(r, 204, NULL, (void *)"", 0, false, "no-store", MHD_HTTP_HEADER_SET_COOKIE, clear, NULL,
          NULL);
}

void fs_console_session(struct req *r)
{
    struct fs_console_session ss;
    const char *cookie;
    if (session_of(r, &ss, &cookie) < 0)
        return send_json(r, 401,
                         json_pack("{s:{s:s,s:s,s:n},s:s}", "error", "code", "unauthorized",
                                   "message", "not logged in (POST /ui/login)", "path", "login",
                                   login_kind()),
                         NULL, NULL);
    send_json(r, 200, session_json(&ss, FS_CONSOLE_IDLE_MS, FS_CONSOLE_MAX_MS), NULL, NULL);
}
