/* client: the MCP client of one remote tool server. Pure pieces first — fs_mcp_route (what a
 * message asks for), fs_mcp_dispatch (parse → route → the waiting call's slot), the stdio line
 * framer and the SSE parser — then the connection: ensure_up (start or restart with backoff,
 * initialize) → rpc (a slot, the bytes out, wait) over stdio (reader_main: one thread per server
 * process reading stdout and stderr, failing the calls in flight when it exits) or Streamable
 * HTTP (http_post → http_once: one POST per message, JSON or SSE answers, the session;
 * listener_main: the standalone GET stream). It runs no shell, trusts no byte the server sends,
 * and decides nothing about which tool may run. */
#include "core/common.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "core/curl.h"
#include "core/log.h"
#include "core/proc.h"
#include "core/redact.h"
#include "core/time.h"
#include "mcp/client.h"
#include "tools/registry.h"
#include "version.h"

#define NS_PER_MS INT64_C(1000000)
#define HEALTHY_NS (60000 * NS_PER_MS) /* a server up this long resets the crash streak */
#define STOP_GRACE_MS 2000
#define REPLY_TIMEOUT_MS 2000 /* answering a server's ping, sending a cancellation */
#define ERROR_SNIPPET 300     /* bytes of an HTTP error body quoted */
#define MAX_RESUMES 3         /* GETs with Last-Event-ID after a stream ended early */
#define MAX_RETRY_MS 5000     /* the most of an SSE retry: field honoured */
#define READ_CHUNK 65536

/* ---- small helpers ------------------------------------------------------------------------ */

/* Untrusted text as one clean line of at most size-1 bytes: sanitized, redacted, line breaks and
 * tabs made spaces. */
static void clean_line(const char *in, size_t len, char *out, size_t size)
{
    /* the cap leaves room for the note saying how much was cut */
    char *s = fs_sanitize_text(in, len, size > 80 ? size - 40 : size - 1, NULL);
    if (!s) {
        fs_strlcpy(out, "(out of memory)", size);
        return;
    }
    for (char *p = s; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = ' ';
    fs_strlcpy(out, s, size);
    free(s);
}

static bool name_ok(const char *s, size_t n)
{
    if (n == 0 || n > FS_TOOL_MAX_NAME)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '.' || ch == '-'))
            return false;
    }
    return true;
}

/* ---- route and dispatch (pure) ------------------------------------------------------------- */

int fs_mcp_route(const struct fs_jsonrpc_msg *m, struct fs_mcp_route *out)
{
    memset(out, 0, sizeof(*out));
    out->kind = FS_MCP_ROUTE_IGNORE;
    out->msg_kind = m->kind;
    switch (m->kind) {
    case FS_JSONRPC_REQUEST:
        /* we declare no roots, sampling or elicitation: only ping has an answer */
        out->reply =
            !strcmp(m->method, "ping")
                ? fs_jsonrpc_result(m->id, json_object())
                : fs_jsonrpc_error(m->id, FS_JSONRPC_METHOD_NOT_FOUND, "Method not found", NULL);
        if (!out->reply)
            return -FS_E_NOMEM;
        out->kind = FS_MCP_ROUTE_REPLY;
        return 0;
    case FS_JSONRPC_NOTIFICATION:
        if (!strcmp(m->method, "notifications/tools/list_changed"))
            out->kind = FS_MCP_ROUTE_TOOLS_CHANGED;
        else if (!strcmp(m->method, "notifications/message"))
            out->kind = FS_MCP_ROUTE_LOG;
        return 0;
    case FS_JSONRPC_RESPONSE:
    case FS_JSONRPC_ERROR:
        /* an error with a null id answers a request the server could not read: whose is
         * unknown, and the call times out */
        if (json_is_integer(m->id)) {
            out->kind = FS_MCP_ROUTE_RESPONSE;
            out->call_id = json_integer_value(m->id);
        }
        return 0;
    case FS_JSONRPC_INVALID:
    default:
        if (!m->id)
            return 0; /* nothing to answer: never reply to bytes we could not read */
        if (m->looks_like_response) {
            if (json_is_integer(m->id)) {
                out->kind = FS_MCP_ROUTE_BAD_RESPONSE;
                out->call_id = json_integer_value(m->id);
            }
            return 0;
        }
        out->reply = fs_jsonrpc_error(m->id, m->rpc_code ? m->rpc_code : FS_JSONRPC_INVALID_REQUEST,
                                      fs_jsonrpc_code_name(m->rpc_code), NULL);
        if (!out->reply)
            return -FS_E_NOMEM;
        out->kind = FS_MCP_ROUTE_REPLY;
        return 0;
    }
}

void fs_mcp_route_release(struct fs_mcp_route *r)
{
    if (!r)
        return;
    json_decref(r->reply);
    r->reply = NULL;
}

int fs_mcp_dispatch(struct fs_mcp_slot *slots, const char *buf, size_t len,
                    const struct fs_jsonrpc_limits *lim, struct fs_mcp_route *out,
                    struct fs_mcp_slot **completed)
{
    struct fs_jsonrpc_msg m;
    struct fs_err perr = {0};
    *completed = NULL;
    fs_jsonrpc_parse(buf, len, lim, &m, &perr);
    int rc = fs_mcp_route(&m, out);
    if (rc == 0 && (out->kind == FS_MCP_ROUTE_RESPONSE || out->kind == FS_MCP_ROUTE_BAD_RESPONSE)) {
        struct fs_mcp_slot *s = slots;
        while (s && (s->done || s->id != out->call_id))
            s = s->next;
        if (s) {
            s->done = true;
            s->result = NULL;
            s->rpc_code = 0;
            s->message[0] = '\0';
            if (out->kind == FS_MCP_ROUTE_BAD_RESPONSE) {
                s->rc = -FS_E_PROTOCOL;
                char why[256];
                clean_line(perr.msg, strlen(perr.msg), why, sizeof(why));
                snprintf(s->message, sizeof(s->message), "invalid response: %s", why);
            } else if (m.kind == FS_JSONRPC_RESPONSE) {
                s->rc = 0;
                s->result = json_incref(m.result);
            } else {
                char text[256];
                clean_line(m.error_message, strlen(m.error_message), text, sizeof(text));
                s->rc = -FS_E_PROTOCOL;
                s->rpc_code = m.error_code;
                snprintf(s->message, sizeof(s->message), "error %lld (%s): %s",
                         (long long)m.error_code, fs_jsonrpc_code_name(m.error_code), text);
            }
            fs_utf8_cut(s->message);
            *completed = s;
        }
    }
    fs_jsonrpc_msg_release(&m);
    return rc;
}

/* ---- stdio framing (pure) ----------------------------------------------------------------- */

void fs_mcp_lines_init(struct fs_mcp_lines *l, size_t max)
{
    memset(l, 0, sizeof(*l));
    l->max = max ? max : FS_JSONRPC_DEFAULT_MAX_BYTES;
    fs_buf_init(&l->line, l->max + 1);
}

void fs_mcp_lines_release(struct fs_mcp_lines *l)
{
    if (l)
        fs_buf_release(&l->line);
}

int fs_mcp_lines_feed(struct fs_mcp_lines *l, const char *buf, size_t len,
                      int (*cb)(void *arg, const char *line, size_t len), void *arg)
{
    const char *p = buf, *end = buf + len;
    bool too_long = false;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        const char *next = nl ? nl + 1 : end;
        if (l->discarding) {
            l->discarding = !nl;
            p = next;
            continue;
        }
        if (n > l->max - l->line.len) {
            too_long = true;
            fs_buf_reset(&l->line);
            l->discarding = !nl;
            p = next;
            continue;
        }
        if (!nl) {
            if (fs_buf_append(&l->line, p, n) < 0)
                return -FS_E_NOMEM;
            break;
        }
        const char *line = p;
        size_t ll = n;
        if (l->line.len) {
            if (fs_buf_append(&l->line, p, n) < 0)
                return -FS_E_NOMEM;
            line = l->line.data;
            ll = l->line.len;
        }
        if (ll && line[ll - 1] == '\r')
            ll--;
        int rc = ll ? cb(arg, line, ll) : 0;
        fs_buf_reset(&l->line);
        if (rc)
            return rc;
        p = next;
    }
    return too_long ? -FS_E_TOO_LARGE : 0;
}

/* ---- Server-Sent Events (pure) ------------------------------------------------------------ */

void fs_sse_init(struct fs_sse *s, size_t max)
{
    memset(s, 0, sizeof(*s));
    s->max = max ? max : FS_JSONRPC_DEFAULT_MAX_BYTES;
    s->retry_ms = -1;
    fs_buf_init(&s->line, s->max + 1);
    fs_buf_init(&s->data, s->max + 2);
}

void fs_sse_release(struct fs_sse *s)
{
    if (!s)
        return;
    fs_buf_release(&s->line);
    fs_buf_release(&s->data);
}

static bool field_is(const char *f, size_t n, const char *name)
{
    return strlen(name) == n && memcmp(f, name, n) == 0;
}

static int sse_line(struct fs_sse *s, const char *line, size_t n,
                    int (*cb)(void *arg, const struct fs_sse_event *ev), void *arg)
{
    if (!s->bom_done) { /* a UTF-8 byte order mark may open the stream */
        s->bom_done = true;
        if (n >= 3 && !memcmp(line, "\xEF\xBB\xBF", 3)) {
            line += 3;
            n -= 3;
        }
    }
    if (n == 0) { /* blank line: dispatch */
        int rc = 0;
        if (s->have_data) {
            size_t dlen = s->data.len;
            if (dlen && s->data.data[dlen - 1] == '\n')
                dlen--;
            s->data.data[dlen] = '\0';
            struct fs_sse_event ev = {s->event[0] ? s->event : "message", s->data.data, dlen,
                                      s->last_id};
            rc = cb(arg, &ev);
        }
        fs_buf_reset(&s->data);
        s->have_data = false;
        s->event[0] = '\0';
        return rc;
    }
    if (line[0] == ':')
        return 0; /* comment */
    const char *colon = memchr(line, ':', n);
    size_t flen = colon ? (size_t)(colon - line) : n;
    const char *v = colon ? colon + 1 : line + n;
    size_t vlen = (size_t)(line + n - v);
    if (vlen && v[0] == ' ') {
        v++;
        vlen--;
    }
    if (field_is(line, flen, "data")) {
        if (vlen + 1 > s->max - s->data.len)
            return -FS_E_TOO_LARGE;
        if (fs_buf_reserve(&s->data, vlen + 2) < 0 || fs_buf_append(&s->data, v, vlen) < 0 ||
            fs_buf_putc(&s->data, '\n') < 0)
            return -FS_E_NOMEM;
        s->have_data = true;
    } else if (field_is(line, flen, "event")) {
        size_t k = FS_MIN(vlen, sizeof(s->event) - 1);
        memcpy(s->event, v, k);
        s->event[k] = '\0';
    } else if (field_is(line, flen, "id")) {
        /* kept only when it can go back in a Last-Event-ID header as is */
        bool ok = vlen < sizeof(s->last_id);
        for (size_t i = 0; ok && i < vlen; i++)
            ok = v[i] >= 0x20 && v[i] < 0x7f;
        if (ok) {
            memcpy(s->last_id, v, vlen);
            s->last_id[vlen] = '\0';
        }
    } else if (field_is(line, flen, "retry")) {
        long ms = 0;
        bool ok = vlen > 0 && vlen <= 9;
        for (size_t i = 0; ok && i < vlen; i++) {
            ok = v[i] >= '0' && v[i] <= '9';
            ms = ms * 10 + (v[i] - '0');
        }
        if (ok)
            s->retry_ms = ms;
    }
    return 0;
}

int fs_sse_feed(struct fs_sse *s, const char *buf, size_t len,
                int (*cb)(void *arg, const struct fs_sse_event *ev), void *arg)
{
    const char *p = buf, *end = buf + len;
    while (p < end) {
        if (s->after_cr) {
            s->after_cr = false;
            if (*p == '\n') {
                p++;
                continue;
            }
        }
        const char *q = p;
        while (q < end && *q != '\n' && *q != '\r')
            q++;
        size_t n = (size_t)(q - p);
        if (n > s->max - s->line.len)
            return -FS_E_TOO_LARGE;
        if (q == end) {
            if (fs_buf_append(&s->line, p, n) < 0)
                return -FS_E_NOMEM;
            break;
        }
        const char *line = p;
        size_t ll = n;
        if (s->line.len) {
            if (fs_buf_append(&s->line, p, n) < 0)
                return -FS_E_NOMEM;
            line = s->line.data;
            ll = s->line.len;
        }
        int rc = sse_line(s, line, ll, cb, arg);
        fs_buf_reset(&s->line);
        if (rc)
            return rc;
        s->after_cr = *q == '\r';
        p = q + 1;
    }
    return 0;
}

/* ---- the client ---------------------------------------------------------------------------- */

enum conn_state { ST_DOWN, ST_STARTING, ST_UP };

struct fs_mcp_client {
    /* immutable after open */
    char name[65];
    enum fs_mcp_transport transport;
    char **argv, **env;
    char *cwd, *path_env, *url;
    char **headers;
    int64_t timeout_ms, connect_timeout_ms, backoff_ms, backoff_max_ms;
    size_t max_message, max_stderr;
    void (*on_tools_changed)(void *arg);
    void *arg;
    struct fs_jsonrpc_limits lim;

    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC: slots done, state changes */
    enum conn_state state;
    bool closing;
    int64_t next_id;
    struct fs_mcp_slot *slots;
    uint64_t generation;
    int streak;            /* crashes in a row, each after less than HEALTHY_NS up */
    int64_t next_start_ns; /* no (re)start before this */
    char last_exit[256];   /* how the last server process ended */
    char proto[16];
    char server_name[128];
    char server_version[64];
    char session[FS_MCP_MAX_SESSION_ID + 1];
    bool caps_list_changed;
    bool tools_changed;
    struct fs_mcp_info stats; /* counters only */
    struct fs_buf errtail;    /* stderr tail, raw */

    /* stdio */
    pthread_mutex_t wmu; /* writes to the server's stdin, and closing it */
    struct fs_proc proc;
    uint64_t proc_gen; /* under wmu: the generation of the process in proc */

    /* http: the standalone GET stream, for what the server sends outside any call (its
     * notifications/tools/list_changed above all) */
    pthread_t listener;
    bool have_listener;
    bool listen_off;      /* the server offers none (405 and the like) */
    uint64_t listen_want; /* bumped by each initialize: listen on the newest session */
    uint64_t listen_have; /* the epoch whose stream is open (0: none) */
    pthread_t reader;
    bool have_reader;
    pid_t pid;   /* the running server's pid, under mu (0 when none) */
    int wake[2]; /* a byte here stops the reader: the client is closing or gave up */
};

static void lock(struct fs_mcp_client *c)
{
    pthread_mutex_lock(&c->mu);
}

static void unlock(struct fs_mcp_client *c)
{
    pthread_mutex_unlock(&c->mu);
}

/* Wait on c->cv (mu held) until deadline_ns (monotonic) at the latest. */
static void wait_until(struct fs_mcp_client *c, int64_t deadline_ns)
{
    if (deadline_ns == INT64_MAX) {
        pthread_cond_wait(&c->cv, &c->mu);
        return;
    }
    struct timespec ts = {(time_t)(deadline_ns / 1000000000), (long)(deadline_ns % 1000000000)};
    pthread_cond_timedwait(&c->cv, &c->mu, &ts);
}

static void slot_unlink(struct fs_mcp_client *c, struct fs_mcp_slot *s)
{
    for (struct fs_mcp_slot **pp = &c->slots; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            break;
        }
}

/* Fail every waiting slot of generation gen (0 = all), mu held. */
static void fail_slots(struct fs_mcp_client *c, uint64_t gen, int rc, const char *msg)
{
    for (struct fs_mcp_slot *s = c->slots; s; s = s->next)
        if (!s->done && (gen == 0 || s->generation == gen)) {
            s->done = true;
            s->rc = rc;
            s->result = NULL;
            fs_strlcpy(s->message, msg, sizeof(s->message));
        }
    pthread_cond_broadcast(&c->cv);
}

static void errtail_add(struct fs_mcp_client *c, const char *p, size_t n)
{
    lock(c);
    if (n >= c->max_stderr) {
        p += n - c->max_stderr;
        n = c->max_stderr;
    }
    if (c->errtail.len + n > c->max_stderr) {
        size_t drop = c->errtail.len + n - c->max_stderr;
        memmove(c->errtail.data, c->errtail.data + drop, c->errtail.len - drop);
        c->errtail.len -= drop;
        c->errtail.data[c->errtail.len] = '\0';
    }
    fs_buf_append(&c->errtail, p, n);
    unlock(c);
}

size_t fs_mcp_stderr_tail(struct fs_mcp_client *c, char *buf, size_t size)
{
    if (!size)
        return 0;
    buf[0] = '\0';
    lock(c);
    char *s = fs_sanitize_text(c->errtail.data ? c->errtail.data : "", c->errtail.len, 0, NULL);
    unlock(c);
    if (!s)
        return 0;
    size_t n = strlen(s), from = n > size - 1 ? n - (size - 1) : 0;
    while (from < n && ((unsigned char)s[from] & 0xC0) == 0x80)
        from++; /* start on a whole character */
    memcpy(buf, s + from, n - from + 1);
    free(s);
    return n - from;
}

/* The last line or so of stderr, for a message: " (stderr: ...)" or "". */
static void stderr_hint(struct fs_mcp_client *c, char *out, size_t size)
{
    char tail[200];
    out[0] = '\0';
    if (fs_mcp_stderr_tail(c, tail, sizeof(tail)) == 0)
        return;
    size_t n = strlen(tail);
    while (n && (tail[n - 1] == '\n' || tail[n - 1] == ' '))
        tail[--n] = '\0';
    for (char *p = tail; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = ' ';
    if (n)
        snprintf(out, size, " (stderr: %s)", tail);
    fs_utf8_cut(out);
}

/* ---- sending ------------------------------------------------------------------------------ */

/* Write one message as a line. gen: the server process it is meant for (0 = whichever runs): a
 * request registered before a restart must not reach the next process, which has not been
 * initialized for it. */
static int stdio_send(struct fs_mcp_client *c, const json_t *msg, uint64_t gen, int64_t timeout_ms,
                      struct fs_err *err)
{
    size_t len;
    char *text = fs_jsonrpc_encode(msg, &len);
    if (!text)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    if (len > c->max_message) {
        free(text);
        return fs_err_set(err, FS_E_TOO_LARGE, NULL, "the message is %zu bytes; the limit is %zu",
                          len, c->max_message);
    }
    text[len] = '\n'; /* over the NUL: encode's string is written whole, with its line end */
    pthread_mutex_lock(&c->wmu);
    int rc;
    if (c->proc.stdin_fd < 0 || (gen && gen != c->proc_gen))
        rc = fs_err_set(err, FS_E_IO, NULL, "the server exited (it is being restarted)");
    else
        rc = fs_proc_write(&c->proc, text, len + 1, timeout_ms > 0 ? timeout_ms : 1, err);
    pthread_mutex_unlock(&c->wmu);
    free(text);
    return rc;
}

static int http_post(struct fs_mcp_client *c, const json_t *msg, bool init,
                     struct fs_mcp_slot *slot, int64_t deadline_ns, struct fs_err *err);

/* A message that expects no answer (a notification, a reply to the server): best effort. */
static int send_oneway(struct fs_mcp_client *c, const json_t *msg, uint64_t gen, int64_t timeout_ms,
                       struct fs_err *err)
{
    if (c->transport == FS_MCP_STDIO)
        return stdio_send(c, msg, gen, timeout_ms, err);
    return http_post(c, msg, false, NULL, fs_mono_ns() + timeout_ms * NS_PER_MS, err);
}

/* ---- receiving ---------------------------------------------------------------------------- */

/* One message from the server, from whichever transport: dispatch it under the lock, then do
 * what it asks outside the lock. */
static void handle_message(struct fs_mcp_client *c, const char *buf, size_t len)
{
    struct fs_mcp_route r;
    struct fs_mcp_slot *done = NULL;
    lock(c);
    int rc = fs_mcp_dispatch(c->slots, buf, len, &c->lim, &r, &done);
    if (done)
        pthread_cond_broadcast(&c->cv);
    if (r.msg_kind == FS_JSONRPC_INVALID)
        c->stats.invalid_messages++;
    else if (r.msg_kind == FS_JSONRPC_NOTIFICATION)
        c->stats.notifications++;
    else if (r.msg_kind == FS_JSONRPC_REQUEST)
        c->stats.server_requests++;
    if ((r.kind == FS_MCP_ROUTE_RESPONSE || r.kind == FS_MCP_ROUTE_BAD_RESPONSE) && !done)
        c->stats.late_responses++;
    if (r.kind == FS_MCP_ROUTE_TOOLS_CHANGED)
        c->tools_changed = true;
    unlock(c);
    if (rc < 0)
        return;
    if (r.kind == FS_MCP_ROUTE_REPLY) {
        struct fs_err e = {0};
        send_oneway(c, r.reply, 0, REPLY_TIMEOUT_MS, &e);
    } else if (r.kind == FS_MCP_ROUTE_TOOLS_CHANGED && c->on_tools_changed) {
        c->on_tools_changed(c->arg);
    } else if (r.kind == FS_MCP_ROUTE_LOG && fs_log_min_level <= FS_LOG_DEBUG) {
        char line[512];
        clean_line(buf, len, line, sizeof(line));
        FS_LOG_DEBUG("mcp server log", "server", c->name, "message", line);
    }
    fs_mcp_route_release(&r);
}

static int on_line(void *arg, const char *line, size_t len)
{
    handle_message(arg, line, len);
    return 0;
}

/* Read what fd has now (non-blocking) into the framer or the stderr tail; false at EOF or on
 * an error. *too_long is set when a line was over the cap. */
static bool read_some(struct fs_mcp_client *c, int fd, struct fs_mcp_lines *lines, bool *too_long)
{
    char chunk[READ_CHUNK];
    for (int i = 0; i < 16; i++) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0)
            return errno == EINTR || errno == EAGAIN;
        if (n == 0)
            return false;
        if (!lines) {
            errtail_add(c, chunk, (size_t)n);
        } else if (fs_mcp_lines_feed(lines, chunk, (size_t)n, on_line, c) == -FS_E_TOO_LARGE) {
            *too_long = true;
            return true;
        }
        if ((size_t)n < sizeof(chunk))
            return true;
    }
    return true;
}

/* The reader of one server process: stdout lines to handle_message, stderr to the tail, until
 * the process exits, closes stdout, breaks the protocol or the client stops it; then it ends
 * the process (close stdin, SIGTERM, SIGKILL; reaped), fails the calls still waiting for it,
 * and sets the connection down with a backoff for the next start. */
static void *reader_main(void *arg)
{
    struct fs_mcp_client *c = arg;
    struct fs_mcp_lines lines;
    bool out_open = true, err_open = true, exited = false, stopped = false, too_long = false;
    lock(c);
    uint64_t gen = c->generation;
    unlock(c);
    pid_t pid = c->proc.pid;
    fs_mcp_lines_init(&lines, c->max_message);

    while (out_open && !exited && !stopped && !too_long) {
        struct pollfd pfd[4];
        int n = 0, i_out, i_err = -1, i_wake, i_pid = -1;
        pfd[n] = (struct pollfd){.fd = c->proc.stdout_fd, .events = POLLIN};
        i_out = n++;
        if (err_open) {
            pfd[n] = (struct pollfd){.fd = c->proc.stderr_fd, .events = POLLIN};
            i_err = n++;
        }
        pfd[n] = (struct pollfd){.fd = c->wake[0], .events = POLLIN};
        i_wake = n++;
        if (c->proc.pidfd >= 0) {
            pfd[n] = (struct pollfd){.fd = c->proc.pidfd, .events = POLLIN};
            i_pid = n++;
        }
        int rc = poll(pfd, (nfds_t)n, c->proc.pidfd >= 0 ? -1 : 100);
        if (rc < 0 && errno != EINTR)
            break;
        if (rc <= 0) {
            exited = c->proc.pidfd < 0 && fs_proc_exited(&c->proc);
            continue;
        }
        if (i_err >= 0 && pfd[i_err].revents)
            err_open = read_some(c, c->proc.stderr_fd, NULL, NULL);
        if (pfd[i_out].revents)
            out_open = read_some(c, c->proc.stdout_fd, &lines, &too_long);
        if (pfd[i_wake].revents)
            stopped = true;
        if (i_pid >= 0 && pfd[i_pid].revents)
            exited = true;
    }
    /* what it wrote before it exited is still in the pipes */
    if (exited && !too_long)
        for (int i = 0; i < 64 && out_open && !too_long; i++) {
            struct pollfd p1 = {.fd = c->proc.stdout_fd, .events = POLLIN};
            if (poll(&p1, 1, 0) <= 0)
                break;
            out_open = read_some(c, c->proc.stdout_fd, &lines, &too_long);
        }
    if (err_open)
        read_some(c, c->proc.stderr_fd, NULL, NULL);
    fs_mcp_lines_release(&lines);

    /* stdout closed: most likely it is exiting; give it a moment to say how */
    if (!out_open && !exited && !stopped && !too_long)
        exited = fs_proc_wait(&c->proc, 500, NULL) == 0;
    pthread_mutex_lock(&c->wmu);
    fs_proc_close_stdin(&c->proc);
    pthread_mutex_unlock(&c->wmu);
    if (too_long)
        fs_proc_signal(&c->proc, SIGTERM); /* it broke the protocol: no grace for EOF */
    int64_t up_ns = fs_mono_ns() - c->proc.started_ns;
    fs_proc_stop(&c->proc, STOP_GRACE_MS);

    char how[96], hint[240], msg[384];
    if (c->proc.term_signal)
        snprintf(how, sizeof(how), "killed by signal %d", c->proc.term_signal);
    else
        snprintf(how, sizeof(how), "exit code %d", c->proc.exit_code);
    stderr_hint(c, hint, sizeof(hint));
    if (too_long)
        snprintf(msg, sizeof(msg),
                 "the server sent a line longer than %zu bytes and was stopped (%s)%s",
                 c->max_message, how, hint);
    else if (stopped)
        snprintf(msg, sizeof(msg), "the client stopped the server (%s)", how);
    else
        snprintf(msg, sizeof(msg), "the server %s (%s) with the request in flight%s",
                 exited ? "exited" : "closed its stdout and was stopped", how, hint);
    fs_utf8_cut(msg);

    lock(c);
    c->pid = 0;
    bool closing = c->closing || stopped, was_up = c->state == ST_UP;
    snprintf(c->last_exit, sizeof(c->last_exit), "%s", how);
    if (!closing)
        c->stats.crashes++;
    if (c->state == ST_UP && gen == c->generation) {
        c->state = ST_DOWN;
        if (!closing) {
            c->streak = up_ns < HEALTHY_NS ? c->streak + 1 : 1;
            int shift = FS_MIN(c->streak - 1, 20);
            int64_t delay = FS_MIN(c->backoff_ms << shift, c->backoff_max_ms);
            c->next_start_ns = fs_mono_ns() + delay * NS_PER_MS;
        }
    }
    fail_slots(c, gen, -FS_E_IO, msg);
    unlock(c);
    if (!closing && was_up) /* a failed start is reported to the caller instead */
        FS_LOG_WARN("mcp server exited", "server", c->name, "status", how, "pid", FS_I64(pid));
    return NULL;
}

/* Stop the reader of the current process (if any), reap the process, close its pipes. The
 * caller owns the lifecycle (it set ST_STARTING, or is closing). */
static void stdio_teardown(struct fs_mcp_client *c)
{
    if (c->have_reader) {
        char b = 1;
        if (write(c->wake[1], &b, 1) < 0) {
            /* full: a stop request is already pending */
        }
        pthread_join(c->reader, NULL);
        c->have_reader = false;
    }
    char drain[64]; /* a stop request the reader did not need (it had ended already) */
    while (read(c->wake[0], drain, sizeof(drain)) > 0)
        ;
    pthread_mutex_lock(&c->wmu); /* a caller may be looking at stdin_fd */
    fs_proc_close(&c->proc);
    pthread_mutex_unlock(&c->wmu);
}

static int stdio_start(struct fs_mcp_client *c, struct fs_err *err)
{
    stdio_teardown(c);
    pthread_mutex_lock(&c->wmu);
    c->proc = (struct fs_proc){
        .argv = (const char *const *)c->argv,
        .env = (const char *const *)c->env,
        .cwd = c->cwd,
        .path_env = c->path_env,
    };
    int rc = fs_proc_start(&c->proc, err);
    if (rc < 0) {
        pthread_mutex_unlock(&c->wmu);
        return rc;
    }
    lock(c);
    c->generation++;
    c->stats.starts++;
    c->pid = c->proc.pid;
    c->proc_gen = c->generation;
    unlock(c);
    pthread_mutex_unlock(&c->wmu);
    if (pthread_create(&c->reader, NULL, reader_main, c) != 0) {
        pthread_mutex_lock(&c->wmu);
        fs_proc_close(&c->proc);
        pthread_mutex_unlock(&c->wmu);
        return fs_err_set(err, FS_E_SYSTEM, NULL, "cannot start a reader thread");
    }
    c->have_reader = true;
    return 0;
}

/* ---- Streamable HTTP ---------------------------------------------------------------------- */

struct http_ctx {
    struct fs_mcp_client *c;
    CURL *h;
    struct fs_mcp_slot *slot; /* the call this POST carries, NULL for one-way messages */
    bool init;
    int kind; /* 0 unknown, 1 JSON, 2 SSE, 3 other / error status */
    long status;
    struct fs_buf body; /* JSON body, or an error body's start */
    struct fs_sse sse;
    char session[FS_MCP_MAX_SESSION_ID + 1];
    bool bad_session;
    int fail; /* a parse failure inside a callback (-FS_E_TOO_LARGE, -FS_E_NOMEM) */
    bool answered;
    bool listen;    /* the standalone GET stream */
    uint64_t epoch; /* listen: the initialize it belongs to */
};

static size_t on_header(char *buf, size_t size, size_t n, void *arg)
{
    struct http_ctx *x = arg;
    size_t len = size * n;
    if (x->listen && len <= 2 && (buf[0] == '\r' || buf[0] == '\n')) {
        /* the end of the headers: is the standalone stream open? */
        long st = 0;
        curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &st);
        if (st == 200) {
            lock(x->c);
            x->c->listen_have = x->epoch;
            pthread_cond_broadcast(&x->c->cv);
            unlock(x->c);
        }
    }
    static const char key[] = "mcp-session-id:";
    if (len > sizeof(key) - 1 && strncasecmp(buf, key, sizeof(key) - 1) == 0) {
        const char *v = buf + sizeof(key) - 1, *e = buf + len;
        while (v < e && (*v == ' ' || *v == '\t'))
            v++;
        while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ' || e[-1] == '\t'))
            e--;
        size_t vlen = (size_t)(e - v);
        bool ok = vlen > 0 && vlen <= FS_MCP_MAX_SESSION_ID;
        for (size_t i = 0; ok && i < vlen; i++)
            ok = v[i] >= 0x21 && v[i] <= 0x7e; /* visible ASCII, as the spec requires */
        if (ok) {
            memcpy(x->session, v, vlen);
            x->session[vlen] = '\0';
        } else {
            x->bad_session = true;
        }
    }
    return len;
}

static int on_event(void *arg, const struct fs_sse_event *ev)
{
    struct http_ctx *x = arg;
    if (strcmp(ev->type, "message") != 0 || ev->len == 0)
        return 0; /* the priming event has no data; other event types are not MCP's */
    lock(x->c);
    x->c->stats.sse_events++;
    unlock(x->c);
    handle_message(x->c, ev->data, ev->len);
    if (x->slot) {
        lock(x->c);
        x->answered = x->slot->done;
        unlock(x->c);
        if (x->answered)
            return 1; /* ours is in: stop reading the stream */
    }
    return 0;
}

/* The standalone stream ends when the client closes or initializes a new session. */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    struct http_ctx *x = arg;
    lock(x->c);
    bool stop = x->c->closing || x->c->listen_want != x->epoch;
    unlock(x->c);
    return stop;
}

static size_t on_body(char *buf, size_t size, size_t n, void *arg)
{
    struct http_ctx *x = arg;
    size_t len = size * n;
    if (x->kind == 0) {
        const char *ct = NULL;
        curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->status);
        curl_easy_getinfo(x->h, CURLINFO_CONTENT_TYPE, &ct);
        if (x->status < 200 || x->status >= 300)
            x->kind = 3;
        else if (ct && strncasecmp(ct, "text/event-stream", 17) == 0)
            x->kind = 2;
        else if (ct && strncasecmp(ct, "application/json", 16) == 0)
            x->kind = 1;
        else
            x->kind = 3;
    }
    if (x->kind == 2) {
        int rc = fs_sse_feed(&x->sse, buf, len, on_event, x);
        if (rc < 0)
            x->fail = rc;
        return rc == 0 ? len : 0; /* 1: answered, stop; < 0: broken stream */
    }
    if (x->kind == 3) { /* keep the start of an error body */
        size_t room = x->body.len < ERROR_SNIPPET ? ERROR_SNIPPET - x->body.len : 0;
        fs_buf_append(&x->body, buf, FS_MIN(room, len));
        return len;
    }
    if (fs_buf_append(&x->body, buf, len) < 0) {
        x->fail = -FS_E_TOO_LARGE;
        return 0;
    }
    return len;
}

/* Headers for one request: ours, then the operator's. */
static struct curl_slist *http_headers(struct fs_mcp_client *c, bool init, bool post,
                                       const char *last_event_id, char *session_used)
{
    struct curl_slist *h = NULL, *t;
    char line[FS_MCP_MAX_SESSION_ID + 64];
    lock(c);
    fs_strlcpy(session_used, c->session, FS_MCP_MAX_SESSION_ID + 1);
    char proto[16];
    fs_strlcpy(proto, c->proto, sizeof(proto));
    unlock(c);
#define ADD(s)                                                                                     \
    do {                                                                                           \
        if (!(t = curl_slist_append(h, (s))))                                                      \
            goto fail;                                                                             \
        h = t;                                                                                     \
    } while (0)
    if (post) {
        ADD("Content-Type: application/json");
        ADD("Accept: application/json, text/event-stream");
    } else {
        ADD("Accept: text/event-stream");
    }
    if (!init && proto[0]) {
        snprintf(line, sizeof(line), "MCP-Protocol-Version: %s", proto);
        ADD(line);
    }
    if (!init && session_used[0]) {
        snprintf(line, sizeof(line), "Mcp-Session-Id: %s", session_used);
        ADD(line);
    }
    if (last_event_id && *last_event_id) {
        snprintf(line, sizeof(line), "Last-Event-ID: %s", last_event_id);
        ADD(line);
    }
    for (char **p = c->headers; p && *p; p++)
        ADD(*p);
    ADD("Expect:"); /* no 100-continue round trip */
#undef ADD
    return h;
fail:
    curl_slist_free_all(h);
    return NULL;
}

/* One HTTP request to the endpoint: POST body (or GET with Last-Event-ID when body is NULL),
 * everything the server streams back dispatched. Fills x->status; returns 0 when an answer
 * arrived or the exchange completed, or an error. -FS_E_NOT_FOUND: the session is gone. */
static int http_once(struct fs_mcp_client *c, struct http_ctx *x, const char *method,
                     const char *body, size_t blen, const char *last_event_id, int64_t deadline_ns,
                     struct fs_err *err)
{
    int64_t left_ms = (deadline_ns - fs_mono_ns()) / NS_PER_MS;
    if (left_ms <= 0)
        return fs_err_set(err, FS_E_TIMEOUT, NULL, "no answer in time");
    char session_used[FS_MCP_MAX_SESSION_ID + 1];
    struct curl_slist *hdr = http_headers(c, x->init, body != NULL, last_event_id, session_used);
    CURL *h = hdr ? curl_easy_init() : NULL;
    if (!h) {
        curl_slist_free_all(hdr);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    char ebuf[CURL_ERROR_SIZE] = "", ua[64];
    snprintf(ua, sizeof(ua), "forestall/%s", FS_VERSION);
    x->h = h;
    x->kind = 0;
    x->status = 0;
    x->fail = 0;
    fs_buf_reset(&x->body);
    fs_sse_release(&x->sse);
    fs_sse_init(&x->sse, c->max_message);
    curl_easy_setopt(h, CURLOPT_URL, c->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)FS_MIN(left_ms, (int64_t)LONG_MAX));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)FS_MIN(left_ms, c->connect_timeout_ms));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_USERAGENT, ua);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    if (x->listen) {
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
    }
    if (body) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
    }
    CURLcode res = curl_easy_perform(h);
    if (!x->status)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &x->status);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdr);
    x->h = NULL;

    if (x->init && x->session[0] && x->status >= 200 && x->status < 300) {
        lock(c);
        fs_strlcpy(c->session, x->session, sizeof(c->session));
        unlock(c);
    }
    if (x->answered)
        return 0; /* we stopped reading once our answer was in */
    if (x->fail == -FS_E_TOO_LARGE)
        return fs_err_set(err, FS_E_TOO_LARGE, NULL, "%s: a message is larger than %zu bytes",
                          method, c->max_message);
    if (x->fail)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    if (res == CURLE_OPERATION_TIMEDOUT)
        return fs_err_set(err, FS_E_TIMEOUT, NULL, "%s: no answer in time", method);
    if (res != CURLE_OK) {
        char why[200];
        clean_line(ebuf[0] ? ebuf : curl_easy_strerror(res),
                   strlen(ebuf[0] ? ebuf : curl_easy_strerror(res)), why, sizeof(why));
        bool conn = res == CURLE_COULDNT_CONNECT || res == CURLE_COULDNT_RESOLVE_HOST ||
                    (res == CURLE_RECV_ERROR && x->status == 0);
        return fs_err_set(err, conn ? FS_E_CONNECT : FS_E_IO, NULL, "%s: %s (%s)", method, why,
                          c->url);
    }
    if (x->status == 404 && session_used[0] && !x->init)
        return fs_err_set(err, FS_E_NOT_FOUND, NULL, "%s: the session expired (HTTP 404)", method);
    if (x->kind == 3 || x->status < 200 || x->status >= 300) {
        char snippet[ERROR_SNIPPET + 1];
        clean_line(x->body.data ? x->body.data : "", x->body.len, snippet, sizeof(snippet));
        return fs_err_set(err, x->status >= 500 ? FS_E_IO : FS_E_PROTOCOL, NULL, "%s: HTTP %ld%s%s",
                          method, x->status, snippet[0] ? ": " : "", snippet);
    }
    if (x->kind == 1 && x->body.len)
        handle_message(c, x->body.data, x->body.len);
    return 0;
}

/* POST one message. With a slot, keep reading (resuming with GET + Last-Event-ID when the
 * stream ends early) until the slot is done or the deadline passes. */
static int http_post(struct fs_mcp_client *c, const json_t *msg, bool init,
                     struct fs_mcp_slot *slot, int64_t deadline_ns, struct fs_err *err)
{
    if (fs_curl_init(err) < 0)
        return -FS_E_SYSTEM;
    size_t len;
    char *body = fs_jsonrpc_encode(msg, &len);
    if (!body)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    const char *method = json_string_value(json_object_get(msg, "method"));
    struct http_ctx x = {.c = c, .slot = slot, .init = init};
    fs_buf_init(&x.body, c->max_message);
    fs_sse_init(&x.sse, c->max_message);
    int rc = http_once(c, &x, method ? method : "reply", body, len, NULL, deadline_ns, err);
    for (int i = 0; rc == 0 && slot && !x.answered && i < MAX_RESUMES; i++) {
        lock(c);
        bool done = slot->done;
        unlock(c);
        if (done || x.kind != 2 || !x.sse.last_id[0])
            break;
        /* the stream ended before our answer: poll it again where it stopped */
        char last[sizeof(x.sse.last_id)];
        fs_strlcpy(last, x.sse.last_id, sizeof(last));
        long wait = x.sse.retry_ms > 0 ? FS_MIN(x.sse.retry_ms, MAX_RETRY_MS) : 0;
        if (wait) {
            struct timespec ts = {wait / 1000, (wait % 1000) * 1000000L};
            nanosleep(&ts, NULL);
        }
        rc = http_once(c, &x, method ? method : "resume", NULL, 0, last, deadline_ns, err);
        if (x.sse.last_id[0] == '\0')
            fs_strlcpy(x.sse.last_id, last, sizeof(x.sse.last_id));
    }
    if (rc == 0 && slot && !x.answered) {
        lock(c);
        bool done = slot->done;
        unlock(c);
        if (!done)
            rc = fs_err_set(err, FS_E_PROTOCOL, NULL,
                            "%s: the server ended its answer (HTTP %ld%s) without a response",
                            method ? method : "request", x.status,
                            x.kind == 2 ? ", an event stream" : "");
    }
    if (rc == 0 && init && x.bad_session)
        rc = fs_err_set(err, FS_E_PROTOCOL, NULL,
                        "initialize: the Mcp-Session-Id header is not 1..%d visible ASCII "
                        "characters",
                        FS_MCP_MAX_SESSION_ID);
    fs_buf_release(&x.body);
    fs_sse_release(&x.sse);
    free(body);
    return rc;
}

/* Keep a GET stream open on the current session: notifications and requests the server sends
 * outside a call arrive there. Reconnects with a backoff when it ends; gives up for good when
 * the server says it offers none. */
static void *listener_main(void *arg)
{
    struct fs_mcp_client *c = arg;
    int64_t delay_ms = 0;
    lock(c);
    for (;;) {
        while (!c->closing && !c->listen_off && !c->session[0])
            wait_until(c, fs_mono_ns() + 1000 * NS_PER_MS);
        if (c->closing || c->listen_off)
            break;
        uint64_t epoch = c->listen_want;
        unlock(c);

        struct http_ctx x = {.c = c, .listen = true, .epoch = epoch};
        struct fs_err e = {0};
        fs_buf_init(&x.body, c->max_message);
        fs_sse_init(&x.sse, c->max_message);
        int64_t t0 = fs_mono_ns();
        http_once(c, &x, "GET stream", NULL, 0, NULL, INT64_MAX, &e);
        long status = x.status;
        fs_buf_release(&x.body);
        fs_sse_release(&x.sse);

        lock(c);
        if (c->listen_have == epoch)
            c->listen_have = 0;
        if (status == 405 || status == 400 || status == 406 || status == 501) {
            c->listen_off = true; /* no standalone stream here: calls carry everything */
            pthread_cond_broadcast(&c->cv);
            break;
        }
        if (c->closing)
            break;
        if (c->listen_want != epoch) {
            delay_ms = 0; /* a new session: listen on it at once */
            continue;
        }
        bool lasted = fs_mono_ns() - t0 > 10000 * NS_PER_MS;
        delay_ms = lasted || delay_ms == 0 ? 500 : FS_MIN(delay_ms * 2, c->backoff_max_ms);
        int64_t until = fs_mono_ns() + delay_ms * NS_PER_MS;
        while (!c->closing && c->listen_want == epoch && fs_mono_ns() < until)
            wait_until(c, until);
        if (c->closing)
            break;
    }
    unlock(c);
    return NULL;
}

static void stop_listener(struct fs_mcp_client *c)
{
    if (!c->have_listener)
        return;
    lock(c);
    c->closing = true;
    pthread_cond_broadcast(&c->cv);
    unlock(c);
    pthread_join(c->listener, NULL);
    c->have_listener = false;
}

/* After initialize over HTTP: (re)open the standalone stream on the new session before
 * notifications/initialized, so that what the server sends right after it is not lost. Waits
 * at most 2 s for the stream. */
static void listen_on_session(struct fs_mcp_client *c, int64_t deadline_ns)
{
    lock(c);
    c->listen_want++;
    pthread_cond_broadcast(&c->cv);
    if (!c->have_listener && !c->listen_off) {
        if (pthread_create(&c->listener, NULL, listener_main, c) == 0)
            c->have_listener = true;
        else
            c->listen_off = true;
    }
    int64_t until = FS_MIN(fs_mono_ns() + 2000 * NS_PER_MS, deadline_ns);
    while (!c->closing && !c->listen_off && c->listen_have != c->listen_want &&
           fs_mono_ns() < until)
        wait_until(c, until);
    unlock(c);
}

static void http_delete_session(struct fs_mcp_client *c)
{
    char session_used[FS_MCP_MAX_SESSION_ID + 1];
    struct fs_err ierr;
    bool ready = fs_curl_init(&ierr) == 0;
    struct curl_slist *hdr = http_headers(c, false, false, NULL, session_used);
    CURL *h = hdr && session_used[0] && ready ? curl_easy_init() : NULL;
    if (h) {
        curl_easy_setopt(h, CURLOPT_URL, c->url);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)REPLY_TIMEOUT_MS);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(h, CURLOPT_NOBODY, 0L);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, NULL);
        FILE *devnull = fopen("/dev/null", "we");
        if (devnull) {
            curl_easy_setopt(h, CURLOPT_WRITEDATA, devnull);
            curl_easy_perform(h); /* 200, or 405 when the server does not allow it: either way */
            fclose(devnull);
        }
        curl_easy_cleanup(h);
    }
    curl_slist_free_all(hdr);
}

/* ---- requests ----------------------------------------------------------------------------- */

/* Send one request and wait for its answer. connecting: part of the handshake (no state
 * check; never cancelled). */
static int rpc(struct fs_mcp_client *c, const char *method, json_t *params, int64_t deadline_ns,
               bool connecting, json_t **result, int64_t *rpc_code, struct fs_err *err)
{
    struct fs_mcp_slot slot;
    memset(&slot, 0, sizeof(slot));
    *result = NULL;
    int64_t t0 = fs_mono_ns();
    lock(c);
    slot.id = ++c->next_id;
    slot.generation = c->generation;
    slot.next = c->slots;
    c->slots = &slot;
    c->stats.requests++;
    unlock(c);
    json_t *id = json_integer(slot.id);
    json_t *msg = id ? fs_jsonrpc_request(id, method, params) : (json_decref(params), NULL);
    json_decref(id);
    struct fs_err e = {0};
    int rc;
    if (!msg) {
        rc = fs_err_set(&e, FS_E_INVALID, NULL, "cannot build the request (bad method or params)");
    } else if (c->transport == FS_MCP_STDIO) {
        rc = stdio_send(c, msg, slot.generation, (deadline_ns - fs_mono_ns()) / NS_PER_MS, &e);
        lock(c);
        while (rc == 0 && !slot.done && fs_mono_ns() < deadline_ns)
            wait_until(c, deadline_ns);
        unlock(c);
    } else {
        rc = http_post(c, msg, connecting && !strcmp(method, "initialize"), &slot, deadline_ns, &e);
    }
    lock(c);
    slot_unlink(c, &slot);
    unlock(c);
    json_decref(msg);

    if (slot.done) {
        if (rpc_code)
            *rpc_code = slot.rpc_code;
        if (slot.rc == 0) {
            *result = slot.result;
            return 0;
        }
        return fs_err_set(err, -slot.rc, NULL, "mcp server '%s': %s: %s", c->name, method,
                          slot.message);
    }
    if (rc == 0 || rc == -FS_E_TIMEOUT) {
        if (!connecting) {
            /* cancel it on the server; a late answer is dropped */
            json_t *p =
                json_pack("{s:I,s:s}", "requestId", (json_int_t)slot.id, "reason", "timed out");
            json_t *cancel = p ? fs_jsonrpc_notification("notifications/cancelled", p) : NULL;
            if (cancel)
                send_oneway(c, cancel, slot.generation, REPLY_TIMEOUT_MS, NULL);
            json_decref(cancel);
        }
        return fs_err_set(err, FS_E_TIMEOUT, NULL,
                          "mcp server '%s': %s: no answer within %lld ms%s", c->name, method,
                          (long long)((deadline_ns - t0 + NS_PER_MS / 2) / NS_PER_MS),
                          connecting ? "" : " (cancelled on the server)");
    }
    if (rc == -FS_E_NOT_FOUND)
        return fs_err_set(err, FS_E_NOT_FOUND, NULL, "mcp server '%s': %s", c->name, e.msg);
    return fs_err_set(err, e.code, NULL, "mcp server '%s': %s", c->name, e.msg);
}

static bool version_ok(const char *v)
{
    return v && (!strcmp(v, FS_MCP_PROTOCOL_VERSION) || !strcmp(v, FS_MCP_PROTOCOL_VERSION_PREV));
}

/* initialize + notifications/initialized on a fresh process or HTTP endpoint. */
static int initialize(struct fs_mcp_client *c, int64_t deadline_ns, struct fs_err *err)
{
    json_t *params =
        json_pack("{s:s,s:{},s:{s:s,s:s}}", "protocolVersion", FS_MCP_PROTOCOL_VERSION,
                  "capabilities", "clientInfo", "name", "forestall", "version", FS_VERSION);
    if (!params)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    if (c->transport == FS_MCP_HTTP) {
        lock(c);
        c->session[0] = '\0';
        c->proto[0] = '\0';
        unlock(c);
    }
    json_t *res = NULL;
    struct fs_err e0 = {0};
    int rc = rpc(c, "initialize", params, deadline_ns, true, &res, NULL, &e0);
    if (rc < 0) /* a server that exits during the handshake could not be connected to */
        return fs_err_set(err, rc == -FS_E_IO ? FS_E_CONNECT : e0.code, NULL, "%s", e0.msg);
    const char *ver = json_string_value(json_object_get(res, "protocolVersion"));
    if (!version_ok(ver)) {
        char v[40];
        clean_line(ver ? ver : "(none)", strlen(ver ? ver : "(none)"), v, sizeof(v));
        json_decref(res);
        return fs_err_set(err, FS_E_PROTOCOL, NULL,
                          "mcp server '%s' answered protocol version %s; forestall speaks %s and "
                          "%s",
                          c->name, v, FS_MCP_PROTOCOL_VERSION, FS_MCP_PROTOCOL_VERSION_PREV);
    }
    json_t *info = json_object_get(res, "serverInfo");
    const char *sname = json_string_value(json_object_get(info, "name"));
    const char *sver = json_string_value(json_object_get(info, "version"));
    json_t *tools = json_object_get(json_object_get(res, "capabilities"), "tools");
    lock(c);
    fs_strlcpy(c->proto, ver, sizeof(c->proto));
    clean_line(sname ? sname : "", sname ? strlen(sname) : 0, c->server_name,
               sizeof(c->server_name));
    clean_line(sver ? sver : "", sver ? strlen(sver) : 0, c->server_version,
               sizeof(c->server_version));
    c->caps_list_changed = json_is_true(json_object_get(tools, "listChanged"));
    if (c->transport == FS_MCP_HTTP)
        c->stats.starts++;
    unlock(c);
    json_decref(res);

    if (c->transport == FS_MCP_HTTP)
        listen_on_session(c, deadline_ns);
    json_t *note = fs_jsonrpc_notification("notifications/initialized", NULL);
    if (!note)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    struct fs_err e = {0};
    int64_t left = (deadline_ns - fs_mono_ns()) / NS_PER_MS;
    rc = send_oneway(c, note, 0, left > 0 ? left : 1, &e);
    json_decref(note);
    if (rc < 0)
        return fs_err_set(err, rc == -FS_E_IO ? FS_E_CONNECT : e.code, NULL, "mcp server '%s': %s",
                          c->name, e.msg);
    return 0;
}

/* Make sure the connection is up: start (or restart after the backoff) and initialize. */
static int ensure_up(struct fs_mcp_client *c, int64_t deadline_ns, struct fs_err *err)
{
    lock(c);
    for (;;) {
        if (c->closing) {
            unlock(c);
            return fs_err_set(err, FS_E_SHUTDOWN, NULL, "mcp server '%s': the client is closing",
                              c->name);
        }
        if (c->state == ST_UP) {
            unlock(c);
            return 0;
        }
        int64_t now = fs_mono_ns();
        if (c->state == ST_STARTING || c->next_start_ns > now) {
            int64_t until = c->state == ST_STARTING ? deadline_ns : c->next_start_ns;
            if (until > deadline_ns || now >= deadline_ns) {
                int64_t in_ms = (c->next_start_ns - now) / NS_PER_MS;
                int rc = c->state == ST_STARTING
                             ? fs_err_set(err, FS_E_TIMEOUT, NULL,
                                          "mcp server '%s': still starting", c->name)
                             : fs_err_set(err, FS_E_CONNECT, NULL,
                                          "mcp server '%s' failed %d time(s) in a row (last: "
                                          "%s); next start in %lld ms",
                                          c->name, c->streak, c->last_exit, (long long)in_ms);
                unlock(c);
                return rc;
            }
            wait_until(c, until);
            continue;
        }
        break;
    }
    c->state = ST_STARTING;
    bool restart = c->stats.starts > 0;
    unlock(c);

    int64_t cdl = fs_mono_ns() + c->connect_timeout_ms * NS_PER_MS;
    if (cdl > deadline_ns)
        cdl = deadline_ns;
    int rc = 0;
    if (c->transport == FS_MCP_STDIO)
        rc = stdio_start(c, err);
    if (rc == 0)
        rc = initialize(c, cdl, err);
    if (rc < 0 && c->transport == FS_MCP_STDIO) {
        char hint[240];
        stderr_hint(c, hint, sizeof(hint));
        if (err && hint[0] && strlen(err->msg) + strlen(hint) < sizeof(err->msg))
            memcpy(err->msg + strlen(err->msg), hint, strlen(hint) + 1);
        stdio_teardown(c);
    }
    lock(c);
    if (rc == 0) {
        c->state = ST_UP;
    } else {
        c->state = ST_DOWN;
        c->streak++;
        snprintf(c->last_exit, sizeof(c->last_exit), "%s", fs_err_name(rc));
        int shift = FS_MIN(c->streak - 1, 20);
        c->next_start_ns =
            fs_mono_ns() + FS_MIN(c->backoff_ms << shift, c->backoff_max_ms) * NS_PER_MS;
    }
    pthread_cond_broadcast(&c->cv);
    unlock(c);
    if (rc == 0 && restart)
        FS_LOG_INFO(c->transport == FS_MCP_STDIO ? "mcp server restarted" : "mcp session renewed",
                    "server", c->name);
    return rc;
}

static int64_t deadline_for(struct fs_mcp_client *c, int64_t timeout_ms)
{
    return fs_mono_ns() + (timeout_ms > 0 ? timeout_ms : c->timeout_ms) * NS_PER_MS;
}

int fs_mcp_request(struct fs_mcp_client *c, const char *method, json_t *params, int64_t timeout_ms,
                   json_t **result, int64_t *rpc_code, struct fs_err *err)
{
    int64_t deadline = deadline_for(c, timeout_ms);
    *result = NULL;
    if (rpc_code)
        *rpc_code = 0;
    for (int attempt = 0;; attempt++) {
        int rc = ensure_up(c, deadline, err);
        if (rc < 0) {
            json_decref(params);
            return rc;
        }
        json_incref(params);
        rc = rpc(c, method, params, deadline, false, result, rpc_code, err);
        if (rc == -FS_E_NOT_FOUND && c->transport == FS_MCP_HTTP && attempt == 0) {
            /* the server ended the session: initialize again, without a session, and retry */
            lock(c);
            if (c->state == ST_UP)
                c->state = ST_DOWN;
            c->next_start_ns = 0;
            unlock(c);
            continue;
        }
        json_decref(params);
        if (rc == -FS_E_NOT_FOUND && err)
            err->code = FS_E_PROTOCOL; /* twice in a row: the server is not keeping sessions */
        return rc == -FS_E_NOT_FOUND ? -FS_E_PROTOCOL : rc;
    }
}

/* ---- open and close ----------------------------------------------------------------------- */

static char **copy_list(const char *const *v, size_t max, bool *ok)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    if (n > max) {
        *ok = false;
        return NULL;
    }
    char **out = fs_calloc(n + 1, sizeof(char *));
    if (!out) {
        *ok = false;
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        if (!(out[i] = fs_strdup(v[i])))
            *ok = false;
    return out;
}

static void free_list(char **v)
{
    for (char **p = v; p && *p; p++)
        free(*p);
    free(v);
}

static void client_free(struct fs_mcp_client *c)
{
    free_list(c->argv);
    free_list(c->env);
    free_list(c->headers);
    free(c->cwd);
    free(c->path_env);
    free(c->url);
    fs_buf_release(&c->errtail);
    if (c->wake[0] >= 0)
        close(c->wake[0]);
    if (c->wake[1] >= 0)
        close(c->wake[1]);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->wmu);
    pthread_cond_destroy(&c->cv);
    free(c);
}

static int check_options(const struct fs_mcp_options *o, struct fs_err *err)
{
    if (!o->name || !*o->name || strlen(o->name) > 64)
        return fs_err_set(err, FS_E_INVALID, "name", "an MCP server needs a name of 1..64 bytes");
    for (const char *p = o->name; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return fs_err_set(err, FS_E_INVALID, "name",
                              "the MCP server name has control characters");
    if (o->transport == FS_MCP_STDIO) {
        if (!o->argv || !o->argv[0] || !o->argv[0][0])
            return fs_err_set(err, FS_E_INVALID, "command",
                              "mcp server '%s': a stdio server needs a command", o->name);
        return 0;
    }
    if (o->transport != FS_MCP_HTTP)
        return fs_err_set(err, FS_E_INVALID, "transport", "mcp server '%s': unknown transport",
                          o->name);
    if (!o->url || (strncasecmp(o->url, "http://", 7) && strncasecmp(o->url, "https://", 8)) ||
        strlen(o->url) > 2048)
        return fs_err_set(err, FS_E_INVALID, "url",
                          "mcp server '%s': the url must be http:// or https://", o->name);
    for (const char *p = o->url; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return fs_err_set(err, FS_E_INVALID, "url",
                              "mcp server '%s': the url has spaces or control characters", o->name);
    size_t n = 0;
    for (const char *const *h = o->headers; h && *h; h++, n++) {
        const char *colon = strchr(*h, ':');
        bool ok = colon && colon != *h && strlen(*h) <= 8192;
        for (const char *p = *h; ok && *p; p++)
            ok = *p != '\r' && *p != '\n' && *p != '\0';
        for (const char *p = *h; ok && p < colon; p++)
            ok = *p > 0x20 && *p < 0x7f;
        if (!ok)
            return fs_err_set(err, FS_E_INVALID, "headers",
                              "mcp server '%s': header %zu is not \"Name: value\" on one line",
                              o->name, n + 1);
    }
    if (n > FS_MCP_MAX_HEADERS)
        return fs_err_set(err, FS_E_INVALID, "headers", "mcp server '%s': more than %d headers",
                          o->name, FS_MCP_MAX_HEADERS);
    return 0;
}

int fs_mcp_open(const struct fs_mcp_options *o, struct fs_mcp_client **out, struct fs_err *err)
{
    *out = NULL;
    int rc = check_options(o, err);
    if (rc < 0)
        return rc;
    struct fs_mcp_client *c = fs_calloc(1, sizeof(*c));
    if (!c)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    c->wake[0] = c->wake[1] = -1;
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->wmu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cv, &ca);
    pthread_condattr_destroy(&ca);
    c->proc = (struct fs_proc){.stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1, .pidfd = -1};

    bool ok = true;
    fs_strlcpy(c->name, o->name, sizeof(c->name));
    c->transport = o->transport;
    c->argv = o->argv ? copy_list(o->argv, 4096, &ok) : NULL;
    c->env = copy_list(o->env, 4096, &ok);
    c->headers = copy_list(o->headers, FS_MCP_MAX_HEADERS, &ok);
    if (o->cwd && !(c->cwd = fs_strdup(o->cwd)))
        ok = false;
    if (o->path_env && !(c->path_env = fs_strdup(o->path_env)))
        ok = false;
    if (o->url && !(c->url = fs_strdup(o->url)))
        ok = false;
    c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : FS_MCP_DEFAULT_TIMEOUT_MS;
    c->connect_timeout_ms =
        o->connect_timeout_ms > 0 ? o->connect_timeout_ms : FS_MCP_DEFAULT_CONNECT_TIMEOUT_MS;
    c->backoff_ms = o->backoff_ms > 0 ? o->backoff_ms : FS_MCP_DEFAULT_BACKOFF_MS;
    c->backoff_max_ms = o->backoff_max_ms > 0 ? o->backoff_max_ms : FS_MCP_DEFAULT_BACKOFF_MAX_MS;
    if (c->backoff_max_ms < c->backoff_ms)
        c->backoff_max_ms = c->backoff_ms;
    c->max_message = o->max_message ? o->max_message : FS_JSONRPC_DEFAULT_MAX_BYTES;
    c->max_stderr = o->max_stderr ? o->max_stderr : FS_MCP_DEFAULT_MAX_STDERR;
    c->lim.max_bytes = c->max_message;
    c->on_tools_changed = o->on_tools_changed;
    c->arg = o->arg;
    fs_buf_init(&c->errtail, 0);
    if (!ok) {
        client_free(c);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    if (pipe2(c->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
        c->wake[0] = c->wake[1] = -1;
        client_free(c);
        return fs_err_set(err, FS_E_SYSTEM, NULL, "pipe: %s", strerror(errno));
    }
    rc = ensure_up(c, fs_mono_ns() + c->connect_timeout_ms * NS_PER_MS, err);
    if (rc < 0) {
        if (c->transport == FS_MCP_HTTP) {
            stop_listener(c);
            http_delete_session(c);
        }
        client_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void fs_mcp_close(struct fs_mcp_client *c)
{
    if (!c)
        return;
    lock(c);
    c->closing = true;
    pthread_cond_broadcast(&c->cv);
    unlock(c);
    if (c->transport == FS_MCP_STDIO) {
        /* EOF first: a well-behaved server exits on it; the reader escalates otherwise */
        pthread_mutex_lock(&c->wmu);
        fs_proc_close_stdin(&c->proc);
        pthread_mutex_unlock(&c->wmu);
        stdio_teardown(c);
    } else {
        stop_listener(c);
        http_delete_session(c);
    }
    lock(c);
    fail_slots(c, 0, -FS_E_SHUTDOWN, "the client is closing");
    unlock(c);
    client_free(c);
}

/* ---- tools -------------------------------------------------------------------------------- */

/* Within the registry's limits: an object inputSchema of at most FS_TOOL_MAX_SCHEMA bytes, a
 * description (when given) a string of at most FS_TOOL_MAX_DESCRIPTION bytes, a title (when
 * given) a string of at most FS_TOOL_MAX_NAME * 2 bytes. */
static bool tool_fits(const json_t *t)
{
    json_t *schema = json_object_get(t, "inputSchema");
    json_t *desc = json_object_get(t, "description");
    json_t *title = json_object_get(t, "title");
    if (!json_is_object(schema) || (desc && !json_is_string(desc)) ||
        json_string_length(desc) > FS_TOOL_MAX_DESCRIPTION || (title && !json_is_string(title)) ||
        json_string_length(title) > FS_TOOL_MAX_NAME * 2)
        return false;
    char *text = json_dumps(schema, JSON_COMPACT);
    bool ok = text && strlen(text) <= FS_TOOL_MAX_SCHEMA;
    free(text);
    return ok;
}

int fs_mcp_list_tools(struct fs_mcp_client *c, int64_t timeout_ms, json_t **tools, size_t *pages,
                      size_t *skipped, struct fs_err *err)
{
    int64_t deadline = deadline_for(c, timeout_ms);
    json_t *all = json_array();
    char *cursor = NULL;
    json_t *seen_cursors = json_object(), *names = json_object();
    size_t npages = 0, nskipped = 0;
    int rc = 0;
    *tools = NULL;
    if (!all || !seen_cursors || !names) {
        rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        goto out;
    }
    lock(c);
    c->tools_changed = false;
    unlock(c);
    for (;;) {
        if (npages >= FS_MCP_MAX_PAGES) {
            rc = fs_err_set(err, FS_E_TOO_LARGE, NULL,
                            "mcp server '%s': tools/list has more than %d pages", c->name,
                            FS_MCP_MAX_PAGES);
            goto out;
        }
        json_t *params = cursor ? json_pack("{s:s}", "cursor", cursor) : NULL;
        int64_t left = (deadline - fs_mono_ns()) / NS_PER_MS;
        json_t *res = NULL;
        rc = fs_mcp_request(c, "tools/list", params, left > 0 ? left : 1, &res, NULL, err);
        if (rc < 0)
            goto out;
        npages++;
        json_t *list = json_object_get(res, "tools");
        if (!json_is_array(list)) {
            json_decref(res);
            rc = fs_err_set(err, FS_E_PROTOCOL, NULL,
                            "mcp server '%s': tools/list: \"tools\" is not an array", c->name);
            goto out;
        }
        size_t i;
        json_t *t;
        json_array_foreach(list, i, t)
        {
            json_t *name = json_object_get(t, "name");
            const char *n = json_string_value(name);
            if (!n || !name_ok(n, json_string_length(name)) || !tool_fits(t) ||
                json_object_get(names, n)) {
                nskipped++;
                continue;
            }
            if (json_array_size(all) >= FS_TOOL_MAX_TOOLS) {
                json_decref(res);
                rc = fs_err_set(err, FS_E_TOO_LARGE, NULL,
                                "mcp server '%s': tools/list offers more than %d tools", c->name,
                                FS_TOOL_MAX_TOOLS);
                goto out;
            }
            if (json_object_set(names, n, json_true()) < 0 || json_array_append(all, t) < 0) {
                json_decref(res);
                rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
                goto out;
            }
        }
        json_t *next = json_object_get(res, "nextCursor");
        free(cursor);
        cursor = NULL;
        if (json_is_string(next) && json_string_length(next) > 0) {
            const char *nc = json_string_value(next);
            if (json_string_length(next) > FS_MCP_MAX_CURSOR || json_object_get(seen_cursors, nc)) {
                json_decref(res);
                rc = fs_err_set(err, FS_E_PROTOCOL, NULL,
                                "mcp server '%s': tools/list: nextCursor %s", c->name,
                                json_string_length(next) > FS_MCP_MAX_CURSOR
                                    ? "is too long"
                                    : "repeats an earlier one (a loop)");
                goto out;
            }
            if (json_object_set(seen_cursors, nc, json_true()) < 0 || !(cursor = fs_strdup(nc))) {
                json_decref(res);
                rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
                goto out;
            }
        }
        json_decref(res);
        if (!cursor)
            break;
    }
    *tools = all;
    all = NULL;
out:
    if (pages)
        *pages = npages;
    if (skipped)
        *skipped = nskipped;
    free(cursor);
    json_decref(all);
    json_decref(seen_cursors);
    json_decref(names);
    return rc;
}

/* Append a content block's text (or a note about it) to out. */
static int block_text(const json_t *b, struct fs_buf *out)
{
    const char *type = json_string_value(json_object_get(b, "type"));
    if (out->len && fs_buf_putc(out, '\n') < 0)
        return -FS_E_TOO_LARGE;
    if (!type)
        return fs_buf_puts(out, "[a content block without a type]");
    if (!strcmp(type, "text")) {
        json_t *t = json_object_get(b, "text");
        return json_is_string(t) ? fs_buf_append(out, json_string_value(t), json_string_length(t))
                                 : 0;
    }
    if (!strcmp(type, "image") || !strcmp(type, "audio")) {
        const char *mime = json_string_value(json_object_get(b, "mimeType"));
        return fs_buf_printf(out, "[%s %.64s, %zu bytes of base64]", type, mime ? mime : "",
                             json_string_length(json_object_get(b, "data")));
    }
    if (!strcmp(type, "resource")) {
        json_t *r = json_object_get(b, "resource");
        json_t *t = json_object_get(r, "text");
        if (json_is_string(t))
            return fs_buf_append(out, json_string_value(t), json_string_length(t));
        const char *uri = json_string_value(json_object_get(r, "uri"));
        return fs_buf_printf(out, "[resource %.512s]", uri ? uri : "");
    }
    if (!strcmp(type, "resource_link")) {
        const char *uri = json_string_value(json_object_get(b, "uri"));
        return fs_buf_printf(out, "[resource link %.512s]", uri ? uri : "");
    }
    return fs_buf_printf(out, "[%.64s block]", type);
}

int fs_mcp_call_tool(struct fs_mcp_client *c, const char *name, const json_t *args,
                     int64_t timeout_ms, struct fs_mcp_result *out, struct fs_err *err)
{
    memset(out, 0, sizeof(*out));
    if (!name || !name_ok(name, strlen(name)))
        return fs_err_set(err, FS_E_INVALID, NULL, "mcp server '%s': invalid tool name", c->name);
    if (args && !json_is_object(args))
        return fs_err_set(err, FS_E_INVALID, NULL,
                          "mcp server '%s': tool arguments must be an object", c->name);
    json_t *params = args ? json_pack("{s:s,s:O}", "name", name, "arguments", (json_t *)args)
                          : json_pack("{s:s,s:{}}", "name", name, "arguments");
    if (!params)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    int64_t t0 = fs_mono_ns();
    json_t *res = NULL;
    int rc = fs_mcp_request(c, "tools/call", params, timeout_ms, &res, NULL, err);
    out->duration_ms = (fs_mono_ns() - t0) / NS_PER_MS;
    if (rc < 0)
        return rc;
    json_t *content = json_object_get(res, "content");
    if (content && !json_is_array(content)) {
        json_decref(res);
        return fs_err_set(err, FS_E_PROTOCOL, NULL,
                          "mcp server '%s': tools/call %s: \"content\" is not an array", c->name,
                          name);
    }
    struct fs_buf text = FS_BUF_INIT(c->max_message);
    size_t i;
    json_t *b;
    int trc = fs_buf_puts(&text, "");
    json_array_foreach(content, i, b)
    {
        if (trc < 0)
            break;
        trc = block_text(b, &text);
    }
    if (trc == -FS_E_NOMEM) {
        fs_buf_release(&text);
        json_decref(res);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    out->text = fs_buf_detach(&text, NULL);
    if (!out->text) {
        json_decref(res);
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    }
    out->content = content ? json_incref(content) : json_array();
    json_t *sc = json_object_get(res, "structuredContent");
    out->structured = json_is_object(sc) ? json_incref(sc) : NULL;
    out->is_error = json_is_true(json_object_get(res, "isError"));
    json_decref(res);
    return 0;
}

void fs_mcp_result_release(struct fs_mcp_result *r)
{
    if (!r)
        return;
    free(r->text);
    json_decref(r->content);
    json_decref(r->structured);
    memset(r, 0, sizeof(*r));
}

int fs_mcp_ping(struct fs_mcp_client *c, int64_t timeout_ms, struct fs_err *err)
{
    json_t *res = NULL;
    int rc = fs_mcp_request(c, "ping", NULL, timeout_ms, &res, NULL, err);
    json_decref(res);
    return rc;
}

bool fs_mcp_tools_changed(struct fs_mcp_client *c)
{
    lock(c);
    bool v = c->tools_changed;
    c->tools_changed = false;
    unlock(c);
    return v;
}

void fs_mcp_info(struct fs_mcp_client *c, struct fs_mcp_info *out)
{
    lock(c);
    *out = c->stats;
    fs_strlcpy(out->protocol_version, c->proto, sizeof(out->protocol_version));
    fs_strlcpy(out->server_name, c->server_name, sizeof(out->server_name));
    fs_strlcpy(out->server_version, c->server_version, sizeof(out->server_version));
    fs_strlcpy(out->session_id, c->session, sizeof(out->session_id));
    out->tools_list_changed = c->caps_list_changed;
    out->connected = c->state == ST_UP;
    out->listening = c->listen_have != 0 && c->listen_have == c->listen_want;
    out->pid = c->state == ST_UP ? c->pid : 0;
    unlock(c);
}
