/* A simulated target (`forestall eval`, docs/scenarios.md): the seam through which the same
 * tools, probes and executor that run against real machines run against a world model instead.
 * Three exchanges leave forestall for a target — a program run (the host tools, kubectl, the
 * executor's actions), an HTTP request (Prometheus, Loki) and a TLS handshake (certificate
 * expiry of an endpoint) — and each has a hook here. When the configuration carries a
 * simulator (struct fs_config.sim, set only by the evaluation harness, never from a file), every
 * host is reached through it: nothing is started, no socket is opened.
 *
 * The simulator answers the way the real program or server would (df's output, Prometheus's
 * JSON), so the parsers and everything after them are the production code. */
#ifndef FS_CORE_SIM_H
#define FS_CORE_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/proc.h"

struct fs_sim {
    /* Run c->argv "on" host ("" = the world's default host): fill c->out, c->err, c->exit_code
     * (and the truncation flags against c->max_stdout / c->max_stderr) the way fs_child_run
     * would, side effects on the world included. Returns 0 when the program "ran" (whatever
     * its exit status), -FS_E_NOT_FOUND when the world has no such program, -FS_E_NOMEM. */
    int (*run)(const struct fs_sim *s, const char *host, struct fs_child *c, struct fs_err *err);
    /* One HTTP request to url (base + path, plus "?form" for a GET); form is the POST body when
     * post. Fills *status and body. Returns 0 when there is an answer (any status),
     * -FS_E_CONNECT when nothing listens there in the world, -FS_E_NOMEM. */
    int (*http)(const struct fs_sim *s, const char *url, bool post, const char *form, long *status,
                struct fs_buf *body, struct fs_err *err);
    /* The certificate chain (PEM) the TLS server at host:port presents. Returns 0, 1 when the
     * world has no such endpoint (why says so), -FS_E_NOMEM. */
    int (*tls_pem)(const struct fs_sim *s, const char *host, int64_t port, struct fs_buf *pem,
                   char *why, size_t why_size);
    void *world;
};

#endif
