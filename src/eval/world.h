/* The simulated world of one scenario (docs/scenarios.md): hosts with filesystems, files,
 * processes, services, journals, certificates and logs (the kernel's OOM kills among them);
 * metric series and log streams; and the knowledge graph. Loaded from a scenario's `world:`
 * section; changed only by the effects of the programs the executor runs (sim.c); read by the
 * simulated programs and servers that answer the tools. All times are absolute milliseconds on the
 * wall clock, fixed from the scenario's own clock (now_ms) when loaded: "age: 3d" is now_ms - 3
 * days.
 *
 * One mutex guards the whole world: the simulator's hooks may be called from any thread. */
#ifndef FS_EVAL_WORLD_H
#define FS_EVAL_WORLD_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/sim.h"

struct fs_yaml_doc;
struct fs_diag;

struct fs_sim_fs {
    char *mount, *device, *type;
    uint64_t size, used, reserved; /* bytes; avail = size - used - reserved */
    uint64_t inodes, inodes_used;  /* 0 inodes = df prints "-" */
    double growth_per_hour;        /* bytes; > 0 means it runs out at that rate */
};

struct fs_sim_file {
    char *path; /* absolute, normalised */
    uint64_t size;
    int64_t mtime_ms;
    bool deleted;
};

struct fs_sim_dir {
    char *path;
    uint64_t size; /* bytes held below it that are not listed as files */
};

struct fs_sim_proc {
    int64_t pid, ppid;
    char *user, *command;
    double cpu_percent, mem_percent;
    uint64_t rss;
    int64_t start_ms;
    char state;        /* ps's letter: R, S, D, Z, T */
    char *service;     /* the unit it belongs to, or NULL */
    bool ignores_term; /* survives SIGTERM (only KILL ends it) */
    bool gone;         /* killed */
    double mem_after;  /* mem_percent after its service restarts */
};

struct fs_sim_service {
    char *unit;
    char *load_state, *active_state, *sub_state;
    int64_t restarts, exit_status;
    uint64_t memory; /* MemoryCurrent, 0 = unset */
    int64_t active_since_ms;
    bool restart_fails; /* systemctl restart leaves it failed */
    int64_t restarted;  /* how many times the simulation restarted it */
};

struct fs_sim_cert {
    char *path; /* a file on the host, or NULL for an endpoint */
    char *host; /* endpoint (world-level certificates) */
    int64_t port;
    char *subject, *issuer;
    int64_t not_before_ms, not_after_ms;
    char *certbot_name; /* renewable by `certbot renew --cert-name NAME`, or NULL */
    bool renew_fails;
};

struct fs_sim_log {
    char *path;
    char **lines; /* as tail prints them: {ago, text} lines and OOM kills with their prefix */
    size_t n, cap;
};

/* One entry of a host's systemd journal, as journalctl prints it. Every {ago, text} log line is
 * one (rsyslog writes what journald hands it), and so is each line of an OOM kill; the log
 * "journal" holds entries that are in no file. */
struct fs_sim_jentry {
    int64_t t_ms;
    char *ident;   /* SYSLOG_IDENTIFIER ("kernel", "systemd", "nginx"), or NULL for none */
    int64_t pid;   /* 0 = none printed (the kernel's lines) */
    char *unit;    /* the unit it belongs to or is about (journalctl -u), or NULL */
    int priority;  /* 0 emerg .. 7 debug (journalctl -p) */
    bool kernel;   /* the kernel's (journalctl -k) */
    char *message; /* may hold "\n": journalctl indents the lines after the first */
    size_t seq;    /* load order: entries of the same time keep it */
};

struct fs_sim_port {
    char *proto, *address;
    int64_t port;
};

struct fs_sim_host {
    char *name;
    int64_t cores;
    double load[3];
    uint64_t mem_total, mem_available, mem_free, mem_buffers, mem_cached;
    uint64_t swap_total, swap_free;
    struct fs_sim_fs *fs;
    size_t nfs;
    struct fs_sim_file *files;
    size_t nfiles, capfiles;
    struct fs_sim_dir *dirs;
    size_t ndirs;
    struct fs_sim_proc *procs;
    size_t nprocs;
    struct fs_sim_service *services;
    size_t nservices;
    struct fs_sim_cert *certs;
    size_t ncerts;
    struct fs_sim_log *logs;
    size_t nlogs, caplogs;
    struct fs_sim_port *ports;
    size_t nports;
    char *journal_dir;              /* where the journal files are, NULL = no journal */
    struct fs_sim_jentry *jentries; /* the journal's entries, oldest first */
    size_t njentries, capjentries;
};

/* The simulated hosts booted this long before the scenario's clock (journalctl -k shows the
 * current boot; an OOM kill is at most this old). */
#define FS_SIM_UPTIME_MS (40LL * 86400 * 1000)

/* A metric series: the answer to every Prometheus query whose text contains `match`. */
struct fs_sim_point {
    int64_t t_ms;
    double v;
};
struct fs_sim_series {
    char *match;
    json_t *labels;              /* object of strings */
    double value, per_hour;      /* linear: value at now, change per hour */
    struct fs_sim_point *points; /* or explicit points (sorted), linear between them */
    size_t npoints;
};

/* A Loki stream: its labels and its lines. */
struct fs_sim_line {
    int64_t t_ms;
    char *text;
};
struct fs_sim_stream {
    json_t *labels;
    struct fs_sim_line *lines;
    size_t n;
};

/* What the simulation did that changed the world, in order: the eval's record of effects. */
struct fs_sim_effect {
    char host[128];
    char program[64];
    char summary[256];
    int64_t at_ms;
};

struct fs_world {
    pthread_mutex_t mu;
    int64_t now_ms; /* the scenario's clock when it was loaded */
    struct fs_sim_host *hosts;
    size_t nhosts;
    struct fs_sim_series *series;
    size_t nseries;
    struct fs_sim_stream *streams;
    size_t nstreams;
    struct fs_sim_cert *endpoints; /* TLS endpoints (host, port) */
    size_t nendpoints;
    json_t *graph; /* the knowledge graph section as written (docs/context.md), or NULL */
    struct fs_sim_effect *effects;
    size_t neffects, capeffects;
    void *pem_key; /* EVP_PKEY * that signs simulated certificates, made on first use */
};

/* Load world from a scenario's parsed `world:` value (JSON from the YAML document; doc and
 * base_path are for messages: "world.hosts.web-1.filesystems[0].size: ..."). now_ms anchors
 * every age. Every problem goes to d; returns 0, -FS_E_INVALID when d got errors, -FS_E_NOMEM. */
int fs_world_load(const json_t *world, const struct fs_yaml_doc *doc, const char *base_path,
                  int64_t now_ms, struct fs_world **out, struct fs_diag *d, struct fs_err *err);
void fs_world_free(struct fs_world *w);

/* The simulator over w (core/sim.h): its hooks take w's lock. */
void fs_world_sim(struct fs_world *w, struct fs_sim *out);

/* The host named name (the host part of an instance label; NULL or "" = the first host), or
 * NULL. Caller holds w->mu. */
struct fs_sim_host *fs_world_host(struct fs_world *w, const char *name);

/* The filesystem path lives on: the deepest mount above it (h always has one at "/"... or
 * NULL when none covers it). */
struct fs_sim_fs *fs_world_fs_of(struct fs_sim_host *h, const char *path);

/* Record an effect (caller holds w->mu). */
void fs_world_effect(struct fs_world *w, const char *host, const char *program, const char *fmt,
                     ...) __attribute__((format(printf, 4, 5)));

/* ---- sim_net.c: the simulated servers ---------------------------------------------------- */

/* Prometheus's HTTP API (/api/v1/query, /api/v1/query_range) and Loki's
 * (/loki/api/v1/query_range) over w's series and streams, answering the way the real servers
 * do (JSON bodies, error bodies with status 400 for a bad parameter). Any other URL is 404.
 * Caller holds w->mu. */
int fs_world_http(struct fs_world *w, const char *url, bool post, const char *form, long *status,
                  struct fs_buf *body, struct fs_err *err);

/* The PEM text of a certificate with c's subject, issuer and validity, signed by the world's
 * key (made on first use): what `cat` of a certificate file prints and what a TLS endpoint
 * presents. Caller holds w->mu. Returns 0, -FS_E_NOMEM, -FS_E_SYSTEM (OpenSSL failed). */
int fs_world_pem(struct fs_world *w, const struct fs_sim_cert *c, struct fs_buf *out,
                 struct fs_err *err);
/* Free what fs_world_pem keeps (the key). */
void fs_world_pem_release(struct fs_world *w);

#endif
