/* ratepost: an open-loop, constant-rate HTTP/1.1 POST load generator.
 *
 *   ratepost --url http://127.0.0.1:PORT/PATH --rate 200 --duration 20 --connections 8
 *            --bodies DIR [--warmup 2] [--header 'K: V']... [--drain-timeout 10]
 *
 * Request i is due at t0 + i/rate, whatever happened to the requests before it (open loop).
 * It goes out on an idle keep-alive connection as soon as it is due; when every connection is
 * busy it waits in a backlog and leaves as soon as one frees up. Its latency runs from the
 * time it was *due* to the last byte of its response, so a server that stalls is charged for
 * every request that queued behind the stall (no coordinated omission). One request at a time
 * per connection (no pipelining); responses must carry Content-Length.
 *
 * Bodies: every *.json file in DIR, sent in name order, round robin. Requests due during the
 * first --warmup seconds are sent and counted but left out of the latency figures.
 *
 * Output: human-readable lines, then one line of key=value pairs starting with RATEPOST for
 * scripts. Exit status: 0 when the run took place (whatever the server answered), 2 on usage
 * or setup errors (bad URL, no bodies, cannot connect at the start). */
#include "core/common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/time.h"

#define MAX_RESPONSE (1u << 20)
#define MAX_HEADERS 16

enum conn_state { C_IDLE, C_BUSY, C_DEAD };

struct conn {
    int fd;
    enum conn_state state;
    const char *out; /* request bytes being written */
    size_t out_len, out_off;
    uint64_t req; /* index of the request in flight */
    char *in;     /* response bytes read so far */
    size_t in_len, in_cap;
    bool want_out; /* registered for EPOLLOUT */
};

struct opts {
    char host[256];
    char port[16];
    char path[2048];
    double rate;
    double duration;
    double warmup;
    double drain_timeout;
    int connections;
    const char *bodies;
    const char *headers[MAX_HEADERS];
    int nheaders;
};

struct stats {
    uint64_t scheduled, sent, completed, ok, non2xx, errors, unfinished, reconnects;
    uint64_t max_backlog;
    int64_t *lat_ns; /* measured requests only */
    uint64_t nlat;
    uint64_t status_counts[6]; /* 1xx..5xx by first digit; [0] other */
};

static struct opts O;
static struct stats S;
static struct addrinfo *g_addr;
static char **g_reqs;
static size_t *g_req_lens;
static size_t g_nreqs;
static int g_ep = -1;
static struct conn *g_conns;
static int *g_idle; /* stack of idle connection indices */
static int g_nidle;
static int64_t g_t0;
static int64_t g_interval_ns;
static uint64_t g_total;
static uint64_t g_warmup_reqs;
static int64_t *g_done_at; /* per request: completion time, 0 = pending, -1 = failed */

static void die(const char *msg)
{
    fprintf(stderr, "ratepost: %s\n", msg);
    exit(2);
}

static void usage(void)
{
    fprintf(stderr, "usage: ratepost --url http://HOST:PORT/PATH --rate N --duration SECONDS\n"
                    "                --connections N --bodies DIR [--warmup SECONDS]\n"
                    "                [--header 'Name: value']... [--drain-timeout SECONDS]\n");
    exit(2);
}

static double parse_num(const char *s, const char *what)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || !end || *end || v < 0) {
        fprintf(stderr, "ratepost: bad %s: %s\n", what, s);
        exit(2);
    }
    return v;
}

static void parse_url(const char *url)
{
    const char *p = url;
    if (strncmp(p, "http://", 7) != 0)
        die("only http:// URLs are supported");
    p += 7;
    const char *slash = strchr(p, '/');
    size_t hostport_len = slash ? (size_t)(slash - p) : strlen(p);
    char hostport[300];
    if (hostport_len == 0 || hostport_len >= sizeof(hostport))
        die("bad URL host");
    memcpy(hostport, p, hostport_len);
    hostport[hostport_len] = '\0';
    if (fs_strlcpy(O.path, slash ? slash : "/", sizeof(O.path)) < 0)
        die("URL path too long");
    char *colon = strrchr(hostport, ':');
    if (colon) {
        *colon = '\0';
        if (fs_strlcpy(O.port, colon + 1, sizeof(O.port)) < 0 || !*O.port)
            die("bad URL port");
    } else {
        fs_strlcpy(O.port, "80", sizeof(O.port));
    }
    if (fs_strlcpy(O.host, hostport, sizeof(O.host)) < 0 || !*O.host)
        die("bad URL host");
}

static int json_file(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return n > 5 && strcmp(d->d_name + n - 5, ".json") == 0;
}

static int read_file(const char *path, struct fs_buf *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    char chunk[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (fs_buf_append(out, chunk, n) < 0) {
            rc = -1;
            break;
        }
    if (ferror(f))
        rc = -1;
    fclose(f);
    return rc;
}

/* Every *.json in the directory becomes one complete request, built once. */
static void load_bodies(void)
{
    struct dirent **names = NULL;
    int n = scandir(O.bodies, &names, json_file, alphasort);
    if (n < 0) {
        fprintf(stderr, "ratepost: cannot read %s: %s\n", O.bodies, strerror(errno));
        exit(2);
    }
    if (n == 0)
        die("no *.json bodies in the --bodies directory");
    g_reqs = fs_calloc((size_t)n, sizeof(*g_reqs));
    g_req_lens = fs_calloc((size_t)n, sizeof(*g_req_lens));
    if (!g_reqs || !g_req_lens)
        die("out of memory");
    for (int i = 0; i < n; i++) {
        char path[4096];
        if (snprintf(path, sizeof(path), "%s/%s", O.bodies, names[i]->d_name) >= (int)sizeof(path))
            die("body path too long");
        struct fs_buf body = FS_BUF_INIT(64u << 20);
        if (read_file(path, &body) < 0) {
            fprintf(stderr, "ratepost: cannot read %s\n", path);
            exit(2);
        }
        struct fs_buf req = FS_BUF_INIT(0);
        int rc = fs_buf_printf(&req,
                               "POST %s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: ratepost\r\n"
                               "Content-Type: application/json\r\nContent-Length: %zu\r\n",
                               O.path, O.host, O.port, body.len);
        for (int h = 0; h < O.nheaders && rc == 0; h++)
            rc = fs_buf_printf(&req, "%s\r\n", O.headers[h]);
        if (rc == 0)
            rc = fs_buf_puts(&req, "\r\n");
        if (rc == 0)
            rc = fs_buf_append(&req, body.data ? body.data : "", body.len);
        if (rc < 0)
            die("out of memory");
        g_reqs[i] = fs_buf_detach(&req, &g_req_lens[i]);
        fs_buf_release(&body);
        free(names[i]);
    }
    free(names);
    g_nreqs = (size_t)n;
}

static void resolve(void)
{
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(O.host, O.port, &hints, &g_addr);
    if (rc != 0) {
        fprintf(stderr, "ratepost: cannot resolve %s:%s: %s\n", O.host, O.port, gai_strerror(rc));
        exit(2);
    }
}

/* A blocking connect (loopback: microseconds), then non-blocking for the run. */
static int open_conn(void)
{
    int fd = socket(g_addr->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, g_addr->ai_addr, g_addr->ai_addrlen) < 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void ep_set(int ci, bool add)
{
    struct conn *c = &g_conns[ci];
    struct epoll_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN | EPOLLRDHUP | (c->want_out ? EPOLLOUT : 0u);
    ev.data.u64 = (uint64_t)ci + 1; /* 0 is the timer */
    if (epoll_ctl(g_ep, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c->fd, &ev) < 0)
        die("epoll_ctl failed");
}

static void conn_reset(int ci)
{
    struct conn *c = &g_conns[ci];
    if (c->fd >= 0) {
        epoll_ctl(g_ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->in_len = 0;
    c->out = NULL;
    c->want_out = false;
    c->state = C_DEAD;
}

static void push_idle(int ci)
{
    g_conns[ci].state = C_IDLE;
    g_idle[g_nidle++] = ci;
}

/* (Re)open a dead connection and make it idle; false when the server cannot be reached. */
static bool conn_revive(int ci)
{
    struct conn *c = &g_conns[ci];
    c->fd = open_conn();
    if (c->fd < 0) {
        c->state = C_DEAD;
        return false;
    }
    c->want_out = false;
    ep_set(ci, true);
    push_idle(ci);
    return true;
}

static void remove_idle(int ci)
{
    for (int i = 0; i < g_nidle; i++)
        if (g_idle[i] == ci) {
            g_idle[i] = g_idle[--g_nidle];
            return;
        }
}

static void finish_request(int ci, int status, int64_t now)
{
    struct conn *c = &g_conns[ci];
    uint64_t r = c->req;
    S.completed++;
    if (status >= 200 && status < 300)
        S.ok++;
    else
        S.non2xx++;
    S.status_counts[(status >= 100 && status < 600) ? status / 100 : 0]++;
    g_done_at[r] = now;
    if (r >= g_warmup_reqs)
        S.lat_ns[S.nlat++] = now - (g_t0 + (int64_t)r * g_interval_ns);
}

static void fail_request(int ci)
{
    struct conn *c = &g_conns[ci];
    if (c->state == C_BUSY) {
        S.errors++;
        g_done_at[c->req] = -1;
    }
    conn_reset(ci);
    S.reconnects++;
}

static void try_write(int ci)
{
    struct conn *c = &g_conns[ci];
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!c->want_out) {
                c->want_out = true;
                ep_set(ci, false);
            }
            return;
        }
        fail_request(ci);
        return;
    }
    if (c->want_out) {
        c->want_out = false;
        ep_set(ci, false);
    }
}

static void send_request(int ci, uint64_t r)
{
    struct conn *c = &g_conns[ci];
    c->state = C_BUSY;
    c->req = r;
    c->out = g_reqs[r % g_nreqs];
    c->out_len = g_req_lens[r % g_nreqs];
    c->out_off = 0;
    c->in_len = 0;
    S.sent++;
    try_write(ci);
}

/* Case-insensitive header lookup inside [hdr, end); returns the value or NULL. */
static const char *find_header(const char *hdr, const char *end, const char *name, size_t *vlen)
{
    size_t nl = strlen(name);
    const char *p = hdr;
    while (p < end) {
        const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
        if (!eol)
            eol = end;
        if ((size_t)(eol - p) > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
            const char *v = p + nl + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            const char *ve = eol;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            *vlen = (size_t)(ve - v);
            return v;
        }
        p = eol + 2;
    }
    return NULL;
}

/* 1: a complete response was consumed; 0: need more bytes; -1: malformed/unsupported. */
static int parse_response(int ci, int64_t now, bool *close_after)
{
    struct conn *c = &g_conns[ci];
    const char *hend = memmem(c->in, c->in_len, "\r\n\r\n", 4);
    if (!hend)
        return c->in_len > 65536 ? -1 : 0;
    if (c->in_len < 12 || strncmp(c->in, "HTTP/1.", 7) != 0)
        return -1;
    int status = (c->in[9] - '0') * 100 + (c->in[10] - '0') * 10 + (c->in[11] - '0');
    const char *line_end = memmem(c->in, c->in_len, "\r\n", 2);
    const char *hdr = line_end + 2;
    size_t vlen = 0;
    const char *te = find_header(hdr, hend + 2, "Transfer-Encoding", &vlen);
    if (te && !(vlen == 8 && strncasecmp(te, "identity", 8) == 0)) {
        fprintf(stderr, "ratepost: Transfer-Encoding responses are not supported\n");
        return -1;
    }
    size_t body_len = 0;
    const char *cl = find_header(hdr, hend + 2, "Content-Length", &vlen);
    if (cl) {
        char num[32];
        if (vlen == 0 || vlen >= sizeof(num))
            return -1;
        memcpy(num, cl, vlen);
        num[vlen] = '\0';
        char *e = NULL;
        unsigned long long v = strtoull(num, &e, 10);
        if (!e || *e || v > MAX_RESPONSE)
            return -1;
        body_len = (size_t)v;
    } else if (!(status == 204 || status == 304 || status / 100 == 1)) {
        fprintf(stderr, "ratepost: response without Content-Length\n");
        return -1;
    }
    size_t total = (size_t)(hend + 4 - c->in) + body_len;
    if (c->in_len < total)
        return 0;
    const char *conn_hdr = find_header(hdr, hend + 2, "Connection", &vlen);
    *close_after = conn_hdr && vlen == 5 && strncasecmp(conn_hdr, "close", 5) == 0;
    if (status / 100 == 1) { /* 100 Continue and friends: skip, keep waiting */
        memmove(c->in, c->in + total, c->in_len - total);
        c->in_len -= total;
        return parse_response(ci, now, close_after);
    }
    finish_request(ci, status, now);
    memmove(c->in, c->in + total, c->in_len - total);
    c->in_len -= total;
    return 1;
}

static void on_readable(int ci, int64_t now)
{
    struct conn *c = &g_conns[ci];
    for (;;) {
        if (c->in_cap - c->in_len < 16384) {
            size_t ncap = c->in_cap ? c->in_cap * 2 : 65536;
            if (ncap > 2 * MAX_RESPONSE) {
                fail_request(ci);
                return;
            }
            char *p = fs_realloc(c->in, ncap);
            if (!p)
                die("out of memory");
            c->in = p;
            c->in_cap = ncap;
        }
        size_t room = c->in_cap - c->in_len;
        ssize_t n = recv(c->fd, c->in + c->in_len, room, 0);
        if (n > 0) {
            c->in_len += (size_t)n;
            if ((size_t)n < room)
                break; /* short read: the socket is drained for now */
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        /* EOF or error: an idle keep-alive connection closed by the server is no error */
        if (c->state == C_IDLE)
            remove_idle(ci);
        fail_request(ci);
        return;
    }
    if (c->state != C_BUSY) {
        if (c->in_len) { /* bytes nobody asked for */
            remove_idle(ci);
            fail_request(ci);
        }
        return;
    }
    bool close_after = false;
    int rc = parse_response(ci, now, &close_after);
    if (rc < 0) {
        fail_request(ci);
        return;
    }
    if (rc == 0)
        return;
    if (close_after) {
        conn_reset(ci);
        S.reconnects++;
        return;
    }
    push_idle(ci);
}

static int64_t due_ns(uint64_t r)
{
    return g_t0 + (int64_t)r * g_interval_ns;
}

static void arm_timer(int tfd, int64_t at_ns)
{
    struct itimerspec its;
    memset(&its, 0, sizeof(its));
    if (at_ns > 0) {
        its.it_value.tv_sec = at_ns / 1000000000;
        its.it_value.tv_nsec = at_ns % 1000000000;
    }
    if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
        die("timerfd_settime failed");
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_ms(double p)
{
    if (S.nlat == 0)
        return 0;
    double rank = p / 100.0 * (double)S.nlat;
    uint64_t idx = (uint64_t)rank;
    if ((double)idx < rank)
        idx++;
    if (idx == 0)
        idx = 1;
    if (idx > S.nlat)
        idx = S.nlat;
    return (double)S.lat_ns[idx - 1] / 1e6;
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"url", required_argument, NULL, 'u'},      {"rate", required_argument, NULL, 'r'},
        {"duration", required_argument, NULL, 'd'}, {"connections", required_argument, NULL, 'c'},
        {"bodies", required_argument, NULL, 'b'},   {"warmup", required_argument, NULL, 'w'},
        {"header", required_argument, NULL, 'H'},   {"drain-timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    const char *url = NULL;
    O.rate = 200;
    O.duration = 20;
    O.connections = 8;
    O.warmup = 0;
    O.drain_timeout = 10;
    int ch;
    while ((ch = getopt_long(argc, argv, "u:r:d:c:b:w:H:t:h", lo, NULL)) != -1) {
        switch (ch) {
        case 'u': url = optarg; break;
        case 'r': O.rate = parse_num(optarg, "--rate"); break;
        case 'd': O.duration = parse_num(optarg, "--duration"); break;
        case 'c': O.connections = (int)parse_num(optarg, "--connections"); break;
        case 'b': O.bodies = optarg; break;
        case 'w': O.warmup = parse_num(optarg, "--warmup"); break;
        case 't': O.drain_timeout = parse_num(optarg, "--drain-timeout"); break;
        case 'H':
            if (O.nheaders == MAX_HEADERS || !strchr(optarg, ':'))
                usage();
            O.headers[O.nheaders++] = optarg;
            break;
        default: usage();
        }
    }
    if (!url || !O.bodies || O.rate <= 0 || O.duration <= 0 || O.connections < 1 ||
        O.connections > 10000 || optind != argc)
        usage();
    signal(SIGPIPE, SIG_IGN);
    parse_url(url);
    load_bodies();
    resolve();

    g_interval_ns = (int64_t)(1e9 / O.rate);
    if (g_interval_ns < 1)
        die("--rate too high");
    g_total = (uint64_t)(O.rate * O.duration + 0.5);
    g_warmup_reqs = (uint64_t)(O.rate * O.warmup + 0.5);
    if (g_warmup_reqs >= g_total)
        die("--warmup must be shorter than --duration");
    S.lat_ns = fs_calloc(g_total, sizeof(*S.lat_ns));
    g_done_at = fs_calloc(g_total, sizeof(*g_done_at));
    g_conns = fs_calloc((size_t)O.connections, sizeof(*g_conns));
    g_idle = fs_calloc((size_t)O.connections, sizeof(*g_idle));
    if (!S.lat_ns || !g_done_at || !g_conns || !g_idle)
        die("out of memory");

    g_ep = epoll_create1(EPOLL_CLOEXEC);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (g_ep < 0 || tfd < 0)
        die("cannot create epoll/timerfd");
    struct epoll_event tev;
    memset(&tev, 0, sizeof(tev));
    tev.events = EPOLLIN;
    tev.data.u64 = 0;
    if (epoll_ctl(g_ep, EPOLL_CTL_ADD, tfd, &tev) < 0)
        die("epoll_ctl(timerfd) failed");
    for (int i = 0; i < O.connections; i++) {
        g_conns[i].fd = -1;
        if (!conn_revive(i)) {
            fprintf(stderr, "ratepost: cannot connect to %s:%s: %s\n", O.host, O.port,
                    strerror(errno));
            return 2;
        }
    }

    printf("ratepost: POST http://%s:%s%s, %.0f req/s for %.0f s over %d connections, "
           "%zu bodies, first %.0f s not measured\n",
           O.host, O.port, O.path, O.rate, O.duration, O.connections, g_nreqs, O.warmup);
    fflush(stdout);

    /* Start on a clean tick a little in the future. */
    g_t0 = fs_mono_ns() + 20 * 1000000;
    uint64_t next = 0; /* next request to send */
    int64_t deadline = due_ns(g_total - 1) + (int64_t)(O.drain_timeout * 1e9);
    struct epoll_event evs[256];
    for (;;) {
        int64_t now = fs_mono_ns();
        /* send everything that is due, while connections are free */
        while (next < g_total && due_ns(next) <= now) {
            while (g_nidle == 0) {
                /* revive dead connections before giving up on this round */
                bool revived = false;
                for (int i = 0; i < O.connections && !revived; i++)
                    if (g_conns[i].state == C_DEAD)
                        revived = conn_revive(i);
                if (!revived)
                    break;
            }
            if (g_nidle == 0)
                break;
            int ci = g_idle[--g_nidle];
            send_request(ci, next++);
        }
        /* requests already due but not sent: all connections busy */
        uint64_t backlog = 0;
        if (next < g_total && due_ns(next) <= now) {
            uint64_t due = (uint64_t)((now - g_t0) / g_interval_ns) + 1;
            backlog = FS_MIN(due, g_total) - next;
        }
        if (backlog > S.max_backlog)
            S.max_backlog = backlog;
        bool busy = false;
        for (int i = 0; i < O.connections; i++)
            if (g_conns[i].state == C_BUSY)
                busy = true;
        if (next >= g_total && !busy)
            break;
        if (now >= deadline)
            break;
        int64_t wake = deadline;
        if (next < g_total && backlog == 0)
            wake = FS_MIN(wake, due_ns(next));
        if (next < g_total && backlog > 0 && g_nidle == 0) {
            /* everything busy or dead: retry dead connections every millisecond */
            bool any_dead = false;
            for (int i = 0; i < O.connections; i++)
                if (g_conns[i].state == C_DEAD)
                    any_dead = true;
            if (any_dead)
                wake = FS_MIN(wake, now + 1000000);
        }
        arm_timer(tfd, wake);
        int n = epoll_wait(g_ep, evs, (int)FS_ARRAY_LEN(evs), -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait failed");
        }
        now = fs_mono_ns();
        for (int i = 0; i < n; i++) {
            if (evs[i].data.u64 == 0) {
                uint64_t ticks;
                if (read(tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
                    die("timerfd read failed");
                continue;
            }
            int ci = (int)(evs[i].data.u64 - 1);
            struct conn *c = &g_conns[ci];
            if (c->fd < 0)
                continue;
            if ((evs[i].events & EPOLLOUT) && c->state == C_BUSY)
                try_write(ci);
            if (c->fd >= 0 && (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
                on_readable(ci, now);
        }
    }
    int64_t end = fs_mono_ns();
    S.scheduled = g_total;
    S.unfinished = 0;
    for (uint64_t r = 0; r < g_total; r++)
        if (g_done_at[r] == 0)
            S.unfinished++;

    qsort(S.lat_ns, S.nlat, sizeof(*S.lat_ns), cmp_i64);
    double elapsed = (double)(end - g_t0) / 1e9;
    /* achieved: completed responses over the scheduled window (not the drain) */
    double window = (double)(due_ns(g_total - 1) - g_t0) / 1e9 + 1.0 / O.rate;
    int64_t last_done = 0;
    for (uint64_t r = 0; r < g_total; r++)
        if (g_done_at[r] > last_done)
            last_done = g_done_at[r];
    double span = last_done > g_t0 ? (double)(last_done - g_t0) / 1e9 : elapsed;
    double achieved = (double)S.completed / FS_MAX(window, span);
    double maxms = S.nlat ? (double)S.lat_ns[S.nlat - 1] / 1e6 : 0;

    printf("ratepost: scheduled %llu, sent %llu, completed %llu (2xx %llu, non-2xx %llu), "
           "errors %llu, unfinished %llu, reconnects %llu, achieved %.1f req/s, "
           "max backlog %llu\n",
           (unsigned long long)S.scheduled, (unsigned long long)S.sent,
           (unsigned long long)S.completed, (unsigned long long)S.ok, (unsigned long long)S.non2xx,
           (unsigned long long)S.errors, (unsigned long long)S.unfinished,
           (unsigned long long)S.reconnects, achieved, (unsigned long long)S.max_backlog);
    if (S.non2xx)
        printf("ratepost: statuses 1xx %llu, 2xx %llu, 3xx %llu, 4xx %llu, 5xx %llu\n",
               (unsigned long long)S.status_counts[1], (unsigned long long)S.status_counts[2],
               (unsigned long long)S.status_counts[3], (unsigned long long)S.status_counts[4],
               (unsigned long long)S.status_counts[5]);
    printf("ratepost: latency from the scheduled send time, %llu measured responses: "
           "p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, max %.3f ms\n",
           (unsigned long long)S.nlat, pct_ms(50), pct_ms(90), pct_ms(99), pct_ms(99.9), maxms);
    printf("RATEPOST scheduled=%llu sent=%llu completed=%llu ok=%llu non2xx=%llu errors=%llu "
           "unfinished=%llu measured=%llu achieved_rps=%.1f p50_ms=%.3f p90_ms=%.3f "
           "p99_ms=%.3f p999_ms=%.3f max_ms=%.3f max_backlog=%llu\n",
           (unsigned long long)S.scheduled, (unsigned long long)S.sent,
           (unsigned long long)S.completed, (unsigned long long)S.ok, (unsigned long long)S.non2xx,
           (unsigned long long)S.errors, (unsigned long long)S.unfinished,
           (unsigned long long)S.nlat, achieved, pct_ms(50), pct_ms(90), pct_ms(99), pct_ms(99.9),
           maxms, (unsigned long long)S.max_backlog);
    return 0;
}
