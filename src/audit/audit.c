/* audit: the hash chain over the store's audit_log (architecture.md §8). Owns how a record is
 * hashed and checked, appending inside the caller's transaction, signed checkpoints in a file
 * outside the database, verification of both, and export (CSV, JSON Lines, JSON).
 * Must not: begin or commit transactions (a record commits with the change it describes), keep
 * chain state in memory between calls (the store's head is the truth), record secrets, or log;
 * it returns errors and reports, the edge prints them. */
#include "core/common.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "core/buf.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/time.h"

#define ACTOR_MAX 256            /* bytes */
#define CHECKPOINT_LINE_MAX 1024 /* a valid line is about 190 bytes */
#define EXPORT_FLUSH 65536
#define STALE_SLACK_MS 10000 /* housekeeping runs about once a second; commits take a moment */
/* Domain separation: a checkpoint MAC can never be mistaken for a MAC over anything else made
 * with the same key. */
#define CHECKPOINT_MAC_DOMAIN "forestall audit checkpoint v1\n"

static const char *const type_names[] = {
#define FS_AUDIT_NAME(e, name, doc) name,
    FS_AUDIT_TYPES(FS_AUDIT_NAME)
#undef FS_AUDIT_NAME
};

const char *fs_audit_type_name(enum fs_audit_type t)
{
    if ((int)t < 0 || t >= FS_AUDIT__COUNT)
        return "unknown";
    return type_names[t];
}

static bool type_known(const char *name)
{
    for (size_t i = 0; i < FS_ARRAY_LEN(type_names); i++)
        if (strcmp(type_names[i], name) == 0)
            return true;
    return false;
}

/* ---- hashing ----------------------------------------------------------------------------- */

static unsigned char *put_field(unsigned char *p, const char *s, size_t n)
{
    for (int i = 7; i >= 0; i--)
        *p++ = (unsigned char)((uint64_t)n >> (8 * i));
    memcpy(p, s, n);
    return p + n;
}

/* The hashed input is six fields, each an 8-byte big-endian length followed by its bytes:
 * prev_hash, seq (decimal), ts (decimal milliseconds), type, actor, data. Because every field
 * carries its length, no two different records produce the same input. */
int fs_audit_hash(const struct fs_audit_row *r, char out[65])
{
    char seq[24], ts[24];
    int seqn = snprintf(seq, sizeof(seq), "%" PRId64, r->seq);
    int tsn = snprintf(ts, sizeof(ts), "%" PRId64, r->ts);
    const char *actor = r->actor ? r->actor : "";
    const char *data = r->data ? r->data : "";
    const char *f[6] = {r->prev_hash, seq, ts, r->type, actor, data};
    size_t n[6] = {strnlen(r->prev_hash, sizeof(r->prev_hash)), (size_t)seqn,  (size_t)tsn,
                   strnlen(r->type, sizeof(r->type)),           strlen(actor), strlen(data)};
    size_t total = 0;
    for (int i = 0; i < 6; i++)
        total += 8 + n[i];
    unsigned char stack[2048];
    unsigned char *buf = total <= sizeof(stack) ? stack : fs_malloc(total);
    if (!buf)
        return -FS_E_NOMEM;
    unsigned char *p = buf;
    for (int i = 0; i < 6; i++)
        p = put_field(p, f[i], n[i]);
    int rc = fs_sha256_hex(buf, total, out);
    if (buf != stack)
        free(buf);
    return rc;
}

bool fs_audit_check(const struct fs_audit_row *prev, const struct fs_audit_row *r, char *why,
                    size_t whysize)
{
    char dummy[8];
    if (!why) {
        why = dummy;
        whysize = sizeof(dummy);
    }
    int64_t want = prev ? prev->seq + 1 : 1;
    if (r->seq != want) {
        snprintf(why, whysize, "record %" PRId64 ": expected seq %" PRId64 " (%s)", r->seq, want,
                 prev ? "a record is missing or out of order" : "the chain must start at 1");
        return false;
    }
    const char *link = prev ? prev->hash : FS_AUDIT_GENESIS;
    if (strcmp(r->prev_hash, link) != 0) {
        snprintf(why, whysize, "record %" PRId64 ": prev_hash does not match the hash of %s",
                 r->seq, prev ? "the record before it" : "the genesis");
        return false;
    }
    if (!type_known(r->type)) {
        snprintf(why, whysize, "record %" PRId64 ": unknown type \"%.40s\"", r->seq, r->type);
        return false;
    }
    char h[65];
    if (fs_audit_hash(r, h) < 0) {
        snprintf(why, whysize, "record %" PRId64 ": cannot compute its hash", r->seq);
        return false;
    }
    if (strcmp(h, r->hash) != 0) {
        snprintf(why, whysize,
                 "record %" PRId64 ": stored hash does not match its contents (altered)", r->seq);
        return false;
    }
    if (why != dummy && whysize)
        why[0] = '\0';
    return true;
}

/* ---- appending --------------------------------------------------------------------------- */

/* Valid UTF-8, no C0/C1 control characters, no DEL. */
static bool printable_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        if (c < 0x20 || c == 0x7f)
            return false;
        if (c < 0x80) {
            p++;
            continue;
        }
        int n;
        unsigned cp;
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        for (int i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
            return false;
        p += n + 1;
    }
    return true;
}

int fs_audit_append(struct fs_store *s, int64_t ts, enum fs_audit_type type, const char *actor,
                    const json_t *data, int64_t *seq, struct fs_err *err)
{
    if ((int)type < 0 || type >= FS_AUDIT__COUNT)
        return fs_err_set(err, FS_E_INVALID, NULL, "audit: unknown record type %d", (int)type);
    if (!actor || !*actor)
        return fs_err_set(err, FS_E_INVALID, NULL, "audit: a record needs an actor");
    if (strlen(actor) > ACTOR_MAX)
        return fs_err_set(err, FS_E_INVALID, NULL, "audit: actor longer than %d bytes", ACTOR_MAX);
    if (!printable_utf8(actor))
        return fs_err_set(err, FS_E_INVALID, NULL,
                          "audit: actor must be printable UTF-8 without control characters");
    char *text = data ? fs_json_canonical(data) : fs_strdup("{}");
    if (!text)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    struct fs_audit_row r = {.ts = ts, .actor = (char *)actor, .data = text};
    int64_t head;
    int rc = fs_store_audit_head(s, &head, r.prev_hash, err);
    if (rc < 0)
        goto out;
    r.seq = head + 1;
    fs_strlcpy(r.type, type_names[type], sizeof(r.type));
    if ((rc = fs_audit_hash(&r, r.hash)) < 0) {
        rc = fs_err_set(err, -rc, NULL, "audit: cannot compute a record hash");
        goto out;
    }
    if ((rc = fs_store_audit_insert(s, &r, err)) < 0)
        goto out;
    if (seq)
        *seq = r.seq;
out:
    free(text);
    return rc;
}

/* ---- checkpoints ------------------------------------------------------------------------- */

struct fs_audit_checkpointer {
    int fd;
    char *path;
    unsigned char *key;
    size_t keylen;
    int64_t last_seq; /* 0: none written yet */
    char last_hash[65];
};

static int checkpoint_mac(const void *key, size_t keylen, int64_t seq, const char *hash, int64_t ts,
                          char out[65])
{
    char msg[256];
    int n = snprintf(msg, sizeof(msg), CHECKPOINT_MAC_DOMAIN "%" PRId64 "\n%s\n%" PRId64, seq, hash,
                     ts);
    if (n < 0 || (size_t)n >= sizeof(msg))
        return -FS_E_INVALID;
    unsigned char mac[32];
    int rc = fs_hmac_sha256(key, keylen, msg, (size_t)n, mac);
    if (rc < 0)
        return rc;
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 15];
    }
    out[64] = '\0';
    return 0;
}

static bool is_hex64(const char *s)
{
    if (!s || strlen(s) != 64)
        return false;
    for (int i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

struct checkpoint {
    int64_t seq;
    int64_t ts;
    char hash[65];
};

/* Parse one line and check its MAC. false and why on anything wrong. */
static bool checkpoint_parse(const char *line, size_t len, const void *key, size_t keylen,
                             struct checkpoint *cp, char *why, size_t whysize)
{
    json_error_t jerr;
    json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    bool ok = false;
    if (!o || !json_is_object(o)) {
        snprintf(why, whysize, "not a JSON object");
        goto out;
    }
    json_t *seq = json_object_get(o, "seq"), *hash = json_object_get(o, "hash");
    json_t *ts = json_object_get(o, "ts"), *mac = json_object_get(o, "mac");
    if (json_object_size(o) != 4 || !json_is_integer(seq) || !json_is_integer(ts) ||
        !is_hex64(json_string_value(hash)) || !is_hex64(json_string_value(mac)) ||
        json_integer_value(seq) < 1) {
        snprintf(why, whysize, "expected {\"seq\",\"hash\",\"ts\",\"mac\"}");
        goto out;
    }
    cp->seq = json_integer_value(seq);
    cp->ts = json_integer_value(ts);
    fs_strlcpy(cp->hash, json_string_value(hash), sizeof(cp->hash));
    char want[65];
    if (checkpoint_mac(key, keylen, cp->seq, cp->hash, cp->ts, want) < 0) {
        snprintf(why, whysize, "cannot compute the MAC");
        goto out;
    }
    if (!fs_consttime_eq(want, 64, json_string_value(mac), 64)) {
        snprintf(why, whysize, "MAC does not verify (altered, or a different key)");
        goto out;
    }
    ok = true;
out:
    json_decref(o);
    return ok;
}

static int fsync_dir_of(const char *file)
{
    char *copy = fs_strdup(file);
    if (!copy)
        return -FS_E_NOMEM;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (fd < 0)
        return -FS_E_IO;
    int rc = fsync(fd) == 0 ? 0 : -FS_E_IO;
    close(fd);
    return rc;
}

/* Find the last complete line of the file. A torn last line (no newline: a crash during the
 * one write() of a checkpoint) is cut off so the file stays a sequence of whole lines. */
static int read_last_checkpoint(struct fs_audit_checkpointer *cp, struct fs_err *err)
{
    struct stat st;
    if (fstat(cp->fd, &st) < 0)
        return fs_err_set(err, FS_E_IO, NULL, "audit checkpoints %s: %s", cp->path,
                          strerror(errno));
    off_t size = st.st_size;
    if (size == 0)
        return 0;
    int rfd = open(cp->path, O_RDONLY | O_CLOEXEC);
    if (rfd < 0)
        return fs_err_set(err, FS_E_IO, NULL, "audit checkpoints %s: %s", cp->path,
                          strerror(errno));
    char buf[2 * CHECKPOINT_LINE_MAX + 1];
    off_t start = size > (off_t)(sizeof(buf) - 1) ? size - (off_t)(sizeof(buf) - 1) : 0;
    ssize_t n = pread(rfd, buf, (size_t)(size - start), start);
    close(rfd);
    if (n != size - start)
        return fs_err_set(err, FS_E_IO, NULL, "audit checkpoints %s: short read", cp->path);
    size_t end = (size_t)n;
    if (buf[end - 1] != '\n') {
        while (end > 0 && buf[end - 1] != '\n')
            end--;
        if (ftruncate(cp->fd, start + (off_t)end) < 0 || fsync(cp->fd) < 0)
            return fs_err_set(err, FS_E_IO, NULL,
                              "audit checkpoints %s: cannot cut a torn line: %s", cp->path,
                              strerror(errno));
        if (end == 0 && start == 0)
            return 0;
    }
    if (end == 0)
        return fs_err_set(err, FS_E_CONFIG, NULL, "audit checkpoints %s: last line too long",
                          cp->path);
    size_t lend = end - 1, lstart = lend;
    while (lstart > 0 && buf[lstart - 1] != '\n')
        lstart--;
    if (lstart == 0 && start > 0)
        return fs_err_set(err, FS_E_CONFIG, NULL, "audit checkpoints %s: last line too long",
                          cp->path);
    struct checkpoint c;
    char why[128];
    if (!checkpoint_parse(buf + lstart, lend - lstart, cp->key, cp->keylen, &c, why, sizeof(why)))
        return fs_err_set(err, FS_E_CONFIG, NULL,
                          "audit checkpoints %s: the last checkpoint is not valid: %s; run "
                          "`forestall audit verify`",
                          cp->path, why);
    cp->last_seq = c.seq;
    fs_strlcpy(cp->last_hash, c.hash, sizeof(cp->last_hash));
    return 0;
}

int fs_audit_checkpointer_open(const char *file, const void *key, size_t keylen,
                               struct fs_audit_checkpointer **out, struct fs_err *err)
{
    *out = NULL;
    if (!file || !*file)
        return fs_err_set(err, FS_E_INVALID, NULL, "audit checkpoints: no file");
    if (!key || keylen == 0)
        return fs_err_set(err, FS_E_INVALID, NULL, "audit checkpoints: the key is empty");
    struct fs_audit_checkpointer *cp = fs_calloc(1, sizeof(*cp));
    if (!cp)
        return fs_err_set(err, FS_E_NOMEM, NULL, NULL);
    cp->fd = -1;
    int rc = 0;
    if (!(cp->path = fs_strdup(file)) || !(cp->key = fs_malloc(keylen))) {
        rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
        goto fail;
    }
    memcpy(cp->key, key, keylen);
    cp->keylen = keylen;
    bool created = true;
    cp->fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (cp->fd < 0 && errno == EEXIST) {
        created = false;
        cp->fd = open(file, O_WRONLY | O_APPEND | O_CLOEXEC);
    }
    if (cp->fd < 0) {
        rc = fs_err_set(err, FS_E_IO, NULL, "audit checkpoints %s: %s", file, strerror(errno));
        goto fail;
    }
    if (created && fsync_dir_of(file) < 0) {
        rc =
            fs_err_set(err, FS_E_IO, NULL, "audit checkpoints %s: cannot sync its directory", file);
        goto fail;
    }
    if ((rc = read_last_checkpoint(cp, err)) < 0)
        goto fail;
    *out = cp;
    return 0;
fail:
    fs_audit_checkpointer_free(cp);
    return rc;
}

int fs_audit_checkpoint(struct fs_audit_checkpointer *cp, struct fs_store *s, int64_t now,
                        struct fs_err *err)
{
    int64_t seq;
    char hash[65];
    int rc = fs_store_audit_last(s, &seq, hash, err);
    if (rc < 0)
        return rc;
    if (seq < cp->last_seq)
        return fs_err_set(err, FS_E_STORE, NULL,
                          "audit: the chain ends at seq %" PRId64 " but seq %" PRId64
                          " was checkpointed: records were removed",
                          seq, cp->last_seq);
    if (seq == cp->last_seq) {
        if (seq > 0 && strcmp(hash, cp->last_hash) != 0)
            return fs_err_set(err, FS_E_STORE, NULL,
                              "audit: record %" PRId64 " no longer has its checkpointed hash", seq);
        return 0;
    }
    char mac[65];
    if ((rc = checkpoint_mac(cp->key, cp->keylen, seq, hash, now, mac)) < 0)
        return fs_err_set(err, -rc, NULL, "audit: cannot compute a checkpoint MAC");
    char line[CHECKPOINT_LINE_MAX];
    int n = snprintf(line, sizeof(line),
                     "{\"seq\":%" PRId64 ",\"hash\":\"%s\",\"ts\":%" PRId64 ",\"mac\":\"%s\"}\n",
                     seq, hash, now, mac);
    ssize_t w;
    do
        w = write(cp->fd, line, (size_t)n);
    while (w < 0 && errno == EINTR);
    if (w != n)
        return fs_err_set(err, FS_E_IO, NULL, "audit checkpoints %s: %s", cp->path,
                          w < 0 ? strerror(errno) : "short write");
    if (fsync(cp->fd) < 0)
        return fs_err_set(err, FS_E_IO, NULL, "audit checkpoints %s: fsync: %s", cp->path,
                          strerror(errno));
    cp->last_seq = seq;
    fs_strlcpy(cp->last_hash, hash, sizeof(cp->last_hash));
    return 0;
}

void fs_audit_checkpointer_free(struct fs_audit_checkpointer *cp)
{
    if (!cp)
        return;
    if (cp->fd >= 0)
        close(cp->fd);
    if (cp->key) {
        explicit_bzero(cp->key, cp->keylen);
        free(cp->key);
    }
    free(cp->path);
    free(cp);
}

/* ---- verification ------------------------------------------------------------------------ */

struct verify {
    struct fs_audit_report *rep;
    struct fs_audit_row prev; /* seq and hash of the previous record only */
    bool have_prev;
    bool chain_bad;
    /* checkpoints, in file order (seqs never decrease) */
    struct checkpoint *cps;
    size_t ncps, next;
    char cp_problem[512];
    int64_t cp_bad_seq;
};

static void cp_fail(struct verify *v, int64_t bad_seq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void cp_fail(struct verify *v, int64_t bad_seq, const char *fmt, ...)
{
    if (v->cp_problem[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->cp_problem, sizeof(v->cp_problem), fmt, ap);
    va_end(ap);
    v->cp_bad_seq = bad_seq;
}

static int verify_row(const struct fs_audit_row *r, void *arg)
{
    struct verify *v = arg;
    struct fs_audit_report *rep = v->rep;
    rep->records++;
    if (!v->chain_bad) {
        char why[256];
        if (!fs_audit_check(v->have_prev ? &v->prev : NULL, r, why, sizeof(why))) {
            v->chain_bad = true;
            rep->bad_seq = r->seq;
            snprintf(rep->problem, sizeof(rep->problem), "%s", why);
        }
    }
    /* checkpoints naming seqs this scan has passed without seeing them */
    while (v->next < v->ncps && v->cps[v->next].seq < r->seq) {
        cp_fail(v, v->cps[v->next].seq,
                "record %" PRId64 " named by a checkpoint is missing from the chain",
                v->cps[v->next].seq);
        v->next++;
    }
    while (v->next < v->ncps && v->cps[v->next].seq == r->seq) {
        if (strcmp(v->cps[v->next].hash, r->hash) != 0)
            cp_fail(v, r->seq,
                    "record %" PRId64 " does not have the hash its checkpoint recorded: the "
                    "chain was rewritten after seq %" PRId64,
                    r->seq, v->next > 0 ? v->cps[v->next - 1].seq : 0);
        v->next++;
    }
    v->prev.seq = r->seq;
    fs_strlcpy(v->prev.hash, r->hash, sizeof(v->prev.hash));
    v->have_prev = true;
    rep->head_seq = r->seq;
    rep->head_ts = r->ts;
    return 0;
}

/* Read every checkpoint line; the first bad one becomes a problem, the valid ones are kept. */
static int read_checkpoints(const char *file, const void *key, size_t keylen, struct verify *v,
                            struct fs_err *err)
{
    FILE *f = fopen(file, "re");
    if (!f && errno == ENOENT)
        return 0; /* no checkpoint at all: fs_audit_verify says what that means */
    if (!f)
        return fs_err_set(err, FS_E_IO, NULL, "audit checkpoints %s: %s", file, strerror(errno));
    char *line = NULL;
    size_t cap = 0, alloc = 0;
    ssize_t n;
    int64_t lineno = 0, last_seq = 0;
    int rc = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        size_t len = (size_t)n;
        if (len && line[len - 1] == '\n')
            len--;
        struct checkpoint c;
        char why[128];
        if (len > CHECKPOINT_LINE_MAX) {
            cp_fail(v, 0, "checkpoint line %" PRId64 ": too long", lineno);
            continue;
        }
        if (!checkpoint_parse(line, len, key, keylen, &c, why, sizeof(why))) {
            cp_fail(v, 0, "checkpoint line %" PRId64 ": %s", lineno, why);
            continue;
        }
        if (c.seq < last_seq) {
            cp_fail(v, 0,
                    "checkpoint line %" PRId64 ": seq %" PRId64 " is below the %" PRId64
                    " before it",
                    lineno, c.seq, last_seq);
            continue;
        }
        last_seq = c.seq;
        if (v->ncps == alloc) {
            size_t na = alloc ? 2 * alloc : 64;
            struct checkpoint *p = fs_realloc(v->cps, na * sizeof(*p));
            if (!p) {
                rc = fs_err_set(err, FS_E_NOMEM, NULL, NULL);
                break;
            }
            v->cps = p;
            alloc = na;
        }
        v->cps[v->ncps++] = c;
    }
    if (rc == 0 && ferror(f))
        rc = fs_err_set(err, FS_E_IO, NULL, "audit checkpoints %s: read error", file);
    free(line);
    fclose(f);
    return rc;
}

int fs_audit_verify(struct fs_store *s, const char *checkpoint_file, const void *key, size_t keylen,
                    struct fs_audit_report *rep, struct fs_err *err)
{
    memset(rep, 0, sizeof(*rep));
    struct verify v = {.rep = rep};
    int rc;
    if (checkpoint_file) {
        if (!key || keylen == 0)
            return fs_err_set(err, FS_E_INVALID, NULL,
                              "audit verify: checkpoints need the checkpoint key");
        if ((rc = read_checkpoints(checkpoint_file, key, keylen, &v, err)) < 0)
            goto out;
    }
    if ((rc = fs_store_audit_scan(s, NULL, verify_row, &v, err)) < 0)
        goto out;
    rc = 0;
    if (v.next < v.ncps) {
        int64_t want = v.cps[v.ncps - 1].seq;
        cp_fail(&v, 0,
                "the chain ends at seq %" PRId64 " but a checkpoint names seq %" PRId64 ": %" PRId64
                " records are missing at the tail (truncated)",
                rep->head_seq, want, want - rep->head_seq);
    }
    /* Records and not one checkpoint: the daemon writes one at start, after commits and at
     * stop, so a chain it kept always has one; without it a cut tail looks like a sound chain. */
    if (checkpoint_file && v.ncps == 0 && rep->records > 0)
        cp_fail(&v, 0,
                "no checkpoint found at %s: truncation of the tail cannot be ruled out (%" PRId64
                " records, none anchored)",
                checkpoint_file, rep->records);
    rep->checkpoints = (int64_t)v.ncps;
    rep->checkpoint_seq = v.ncps ? v.cps[v.ncps - 1].seq : 0;
    rep->checkpoint_ts = v.ncps ? v.cps[v.ncps - 1].ts : 0;
    rep->unanchored = rep->head_seq > rep->checkpoint_seq ? rep->head_seq - rep->checkpoint_seq : 0;
    /* Records after the last checkpoint are normal for a moment (the daemon anchors what others
     * append within FS_AUDIT_CHECKPOINT_EVERY_MS); much later ones were written while no daemon
     * ran, or the checkpoints stopped: worth saying, not a failure. */
    if (v.ncps && rep->unanchored > 0 &&
        rep->head_ts - rep->checkpoint_ts > FS_AUDIT_CHECKPOINT_EVERY_MS + STALE_SLACK_MS) {
        char a[40], b[40];
        snprintf(rep->note, sizeof(rep->note),
                 "the newest checkpoint (seq %" PRId64 ", %s) is %" PRId64
                 " s older than the last record (seq %" PRId64 ", %s), more than the daemon's "
                 "checkpoint interval (%d s) explains: %" PRId64
                 " records were written while no daemon ran, or checkpoints stopped",
                 rep->checkpoint_seq, fs_time_format(rep->checkpoint_ts, a, sizeof(a)),
                 (rep->head_ts - rep->checkpoint_ts) / 1000, rep->head_seq,
                 fs_time_format(rep->head_ts, b, sizeof(b)), FS_AUDIT_CHECKPOINT_EVERY_MS / 1000,
                 rep->unanchored);
    }
    if (!v.chain_bad && v.cp_problem[0]) {
        rep->bad_seq = v.cp_bad_seq;
        snprintf(rep->problem, sizeof(rep->problem), "%s", v.cp_problem);
    }
    rep->ok = !v.chain_bad && !v.cp_problem[0];
out:
    free(v.cps);
    return rc;
}

/* ---- export ------------------------------------------------------------------------------ */

int fs_audit_types_check(const char *list, struct fs_err *err)
{
    for (const char *p = list ? list : ""; *p;) {
        p += strspn(p, " \t");
        size_t n = strcspn(p, ",");
        size_t len = n;
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        bool known = len == 0; /* an empty item ("a,,b", "a,") selects nothing more */
        for (int t = 0; t < FS_AUDIT__COUNT && !known; t++)
            known = len == strlen(type_names[t]) && strncmp(p, type_names[t], len) == 0;
        if (!known) {
            char names[400] = "";
            for (int t = 0; t < FS_AUDIT__COUNT; t++)
                snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
                         t ? ", " : "", type_names[t]);
            return fs_err_set(err, FS_E_INVALID, NULL,
                              "unknown record type \"%.*s\"; expected one or more of "
                              "(comma-separated): %s",
                              (int)FS_MIN(len, (size_t)64), p, names);
        }
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

int fs_audit_format_parse(const char *s, enum fs_audit_format *out)
{
    static const struct {
        const char *name;
        enum fs_audit_format fmt;
    } names[] = {{"csv", FS_AUDIT_CSV},
                 {"jsonl", FS_AUDIT_JSONL},
                 {"ndjson", FS_AUDIT_JSONL},
                 {"json", FS_AUDIT_JSON}};
    for (size_t i = 0; s && i < FS_ARRAY_LEN(names); i++) {
        if (strcasecmp(s, names[i].name) == 0) {
            *out = names[i].fmt;
            return 0;
        }
    }
    return -FS_E_INVALID;
}

struct export
{
    enum fs_audit_format fmt;
    fs_audit_write_fn write;
    void *arg;
    struct fs_buf buf;
    int64_t rows;
    bool write_failed;
    int rc; /* first error of a row; stops the scan */
};

static int export_flush(struct export *x)
{
    if (x->buf.len && x->write(x->arg, x->buf.data, x->buf.len) != 0) {
        x->write_failed = true;
        return -FS_E_IO;
    }
    fs_buf_reset(&x->buf);
    return 0;
}

/* RFC 4180: a field with a comma, quote, CR or LF is quoted, quotes doubled. */
static int csv_field(struct fs_buf *b, const char *s)
{
    if (!strpbrk(s, ",\"\r\n"))
        return fs_buf_puts(b, s);
    int rc = fs_buf_putc(b, '"');
    for (const char *p = s; rc == 0 && *p; p++) {
        if (*p == '"')
            rc = fs_buf_putc(b, '"');
        if (rc == 0)
            rc = fs_buf_putc(b, *p);
    }
    return rc ? rc : fs_buf_putc(b, '"');
}

static int export_csv_row(struct fs_buf *b, const struct fs_audit_row *r, const char *ts)
{
    int rc = fs_buf_printf(b, "%" PRId64 ",%s,", r->seq, ts);
    if (rc == 0)
        rc = csv_field(b, r->type);
    if (rc == 0)
        rc = fs_buf_putc(b, ',');
    if (rc == 0)
        rc = csv_field(b, r->actor ? r->actor : "");
    if (rc == 0)
        rc = fs_buf_putc(b, ',');
    if (rc == 0)
        rc = csv_field(b, r->data ? r->data : "");
    if (rc == 0)
        rc = fs_buf_putc(b, ',');
    if (rc == 0)
        rc = csv_field(b, r->prev_hash);
    if (rc == 0)
        rc = fs_buf_putc(b, ',');
    if (rc == 0)
        rc = csv_field(b, r->hash);
    return rc ? rc : fs_buf_puts(b, "\r\n");
}

/* A JSON string, or null for bytes that are not UTF-8 (only an altered row has those). */
static json_t *jstr(const char *s)
{
    json_t *v = json_string(s ? s : "");
    return v ? v : json_null();
}

static int export_json_row(struct fs_buf *b, const struct fs_audit_row *r, const char *ts)
{
    /* data is embedded as a JSON value; stored text that does not parse (an altered row) is
     * embedded as a string rather than breaking the output's framing */
    const char *dtext = r->data ? r->data : "";
    json_t *data = json_loads(dtext, JSON_DECODE_ANY, NULL);
    json_t *o = json_object();
    if (!o) {
        json_decref(data);
        return -FS_E_NOMEM;
    }
    json_object_set_new(o, "seq", json_integer(r->seq));
    json_object_set_new(o, "ts", json_string(ts));
    json_object_set_new(o, "type", jstr(r->type));
    json_object_set_new(o, "actor", jstr(r->actor));
    json_object_set_new(o, "data", data ? data : jstr(dtext));
    json_object_set_new(o, "prev_hash", jstr(r->prev_hash));
    json_object_set_new(o, "hash", jstr(r->hash));
    char *text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(o);
    if (!text)
        return -FS_E_NOMEM;
    int rc = fs_buf_puts(b, text);
    free(text);
    return rc;
}

static int export_row(const struct fs_audit_row *r, void *arg)
{
    struct export *x = arg;
    char ts[40];
    fs_time_format(r->ts, ts, sizeof(ts));
    int rc = 0;
    switch (x->fmt) {
    case FS_AUDIT_CSV: rc = export_csv_row(&x->buf, r, ts); break;
    case FS_AUDIT_JSONL:
        rc = export_json_row(&x->buf, r, ts);
        if (rc == 0)
            rc = fs_buf_putc(&x->buf, '\n');
        break;
    case FS_AUDIT_JSON:
        rc = fs_buf_puts(&x->buf, x->rows ? ",\n" : "\n");
        if (rc == 0)
            rc = export_json_row(&x->buf, r, ts);
        break;
    }
    x->rows++;
    if (rc == 0 && x->buf.len >= EXPORT_FLUSH)
        rc = export_flush(x);
    if (rc < 0) {
        x->rc = rc;
        return 1; /* stop the scan */
    }
    return 0;
}

int fs_audit_export(struct fs_store *s, const struct fs_audit_filter *f, enum fs_audit_format fmt,
                    fs_audit_write_fn write, void *arg, struct fs_err *err)
{
    if (fmt != FS_AUDIT_CSV && fmt != FS_AUDIT_JSONL && fmt != FS_AUDIT_JSON)
        return fs_err_set(err, FS_E_INVALID, NULL, "audit export: unknown format %d", (int)fmt);
    struct export x = {.fmt = fmt, .write = write, .arg = arg};
    fs_buf_init(&x.buf, 0);
    if (fmt == FS_AUDIT_CSV)
        x.rc = fs_buf_puts(&x.buf, "seq,ts,type,actor,data,prev_hash,hash\r\n");
    else if (fmt == FS_AUDIT_JSON)
        x.rc = fs_buf_putc(&x.buf, '[');
    int rc = 0;
    if (x.rc == 0 && (rc = fs_store_audit_scan(s, f, export_row, &x, err)) < 0)
        goto out; /* the store filled err */
    if (x.rc == 0 && fmt == FS_AUDIT_JSON)
        x.rc = fs_buf_puts(&x.buf, x.rows ? "\n]\n" : "]\n");
    if (x.rc == 0)
        x.rc = export_flush(&x);
    rc = x.rc;
    if (rc < 0 && x.write_failed)
        rc = fs_err_set(err, FS_E_IO, NULL, "audit export: writing the output failed");
    else if (rc < 0)
        rc = fs_err_set(err, -rc, NULL, "audit export: %s", fs_err_default_msg(-rc));
out:
    fs_buf_release(&x.buf);
    return rc;
}
