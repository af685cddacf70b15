/* The audit chain (architecture.md §8): append-only records
 * `seq | ts | type | actor | canonical JSON | prev_hash | hash`, each hash covering the previous
 * one, written in the same store transaction as the change they record. Signed checkpoints
 * {seq, head hash} go to a file outside the database, so that rewriting or truncating the
 * chain is detected too. `forestall audit verify` and `forestall audit export` sit on top.
 *
 * This is not the debug log: it records decisions and state changes (proposals, gate
 * decisions, approvals, rejections, overrides, mode changes, freeze/unfreeze, executions),
 * never secrets. */
#ifndef FS_AUDIT_H
#define FS_AUDIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "store/store.h"

#define FS_AUDIT_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

/* Record types. X(ENUM, "name", "what it records") — the table docs/audit.md is generated from. */
#define FS_AUDIT_TYPES(X)                                                                          \
    X(PROPOSAL, "proposal", "a proposal was submitted (action, params, target, evidence)")         \
    X(DECISION, "decision", "the gate decided (decision, score, every contribution and rule)")     \
    X(APPROVAL, "approval",                                                                        \
      "a person approved a proposal (bound to its action hash), and where: `channel` `api`, "      \
      "`console`, `slack`, ...")                                                                   \
    X(REJECTION, "rejection", "a person rejected a proposal, with the reason")                     \
    X(OVERRIDE, "override", "a person force-overrode a proposal that needed it")                   \
    X(REFUSAL, "refusal",                                                                          \
      "an approval, override or execution was refused, or a planner's request (phase planner), "   \
      "and why")                                                                                   \
    X(EXPIRY, "expiry", "a pending proposal expired unapproved")                                   \
    X(MODE, "mode", "the runtime mode of a scope changed")                                         \
    X(FREEZE, "freeze", "the kill switch was turned on")                                           \
    X(UNFREEZE, "unfreeze", "the kill switch was turned off")                                      \
    X(OBSERVATION, "observation", "evidence was recorded from outside forestall")                  \
    X(EXECUTION, "execution", "an action ran (intent, result, verification, rollback)")            \
    X(INCIDENT, "incident", "an incident moved to another handling state, and why")                \
    X(MCP_SERVER, "mcp_server",                                                                    \
      "an MCP server was added to the registry, changed or removed (its definition: secret "       \
      "references, never values)")                                                                 \
    X(MCP_TOOL, "mcp_tool",                                                                        \
      "a remote tool's definition was pinned (first seen), changed (disabled until approved) or "  \
      "approved, with its SHA-256")                                                                \
    X(POLICY, "policy",                                                                            \
      "the policy in force changed (reload on SIGHUP, or a start with another file): old and new " \
      "version and hash, the keys that changed, and the global `mode` and `modes` list when "      \
      "they changed")

enum fs_audit_type {
#define FS_AUDIT_ENUM(e, name, doc) FS_AUDIT_##e,
    FS_AUDIT_TYPES(FS_AUDIT_ENUM)
#undef FS_AUDIT_ENUM
        FS_AUDIT__COUNT
};
const char *fs_audit_type_name(enum fs_audit_type t);

/* hash = hex SHA-256 over prev_hash, seq, ts, type, actor and data, each length-prefixed, so
 * that no two different records hash the same input. */
int fs_audit_hash(const struct fs_audit_row *r, char out[65]);

/* Append one record inside the caller's open store transaction (writer thread). data is
 * serialised canonically (sorted keys); actor must be printable (no control characters).
 * *seq (may be NULL) gets the record's sequence number. */
int fs_audit_append(struct fs_store *s, int64_t ts, enum fs_audit_type type, const char *actor,
                    const json_t *data, int64_t *seq, struct fs_err *err);

/* Check one record against its predecessor (NULL for the first record): sequence without a
 * gap, prev_hash equal to the predecessor's hash (or the genesis hash), known type, stored hash
 * equal to the recomputed one. Returns true when sound; otherwise false and why says what. */
bool fs_audit_check(const struct fs_audit_row *prev, const struct fs_audit_row *r, char *why,
                    size_t whysize);

/* Checkpoints: one JSON line per checkpoint, {"seq","hash","ts","mac"}, mac = HMAC-SHA256 with
 * the checkpoint key, appended and fsync'd. The daemon writes one at start, after each commit
 * that may have added records, at least every FS_AUDIT_CHECKPOINT_EVERY_MS (anchoring what other
 * processes appended), and at stop. */
#define FS_AUDIT_CHECKPOINT_EVERY_MS 60000
struct fs_audit_checkpointer;
int fs_audit_checkpointer_open(const char *file, const void *key, size_t keylen,
                               struct fs_audit_checkpointer **out, struct fs_err *err);
/* Write a checkpoint of the store's current head if it moved since the last one. */
int fs_audit_checkpoint(struct fs_audit_checkpointer *cp, struct fs_store *s, int64_t now,
                        struct fs_err *err);
void fs_audit_checkpointer_free(struct fs_audit_checkpointer *cp);

struct fs_audit_report {
    bool ok;
    int64_t records;        /* records checked */
    int64_t head_seq;       /* last record's seq */
    int64_t bad_seq;        /* first bad record's seq (0 when the problem is not one record) */
    char problem[512];      /* what is wrong, empty when ok */
    int64_t checkpoints;    /* valid checkpoints read */
    int64_t checkpoint_seq; /* seq of the last valid checkpoint (0 = none) */
    int64_t unanchored;     /* records after the last checkpoint */
    int64_t checkpoint_ts;  /* ts of the last valid checkpoint (0 = none) */
    int64_t head_ts;        /* last record's ts */
    char note[512]; /* informational, empty when none: records after the last checkpoint that
                       are older than the checkpoint interval explains */
};

/* Walk the whole chain and, when checkpoint_file is not NULL, check every checkpoint's MAC and
 * that the chain still holds the record each one names (catches rewrites, deletions and tail
 * truncation). A chain with records and no valid checkpoint (the file missing or empty) is not
 * ok: "no checkpoint found at FILE: truncation of the tail cannot be ruled out". Returns 0 when
 * the verification ran (rep->ok says whether the chain is sound), <0 when it could not run
 * (store unreadable, checkpoint file unreadable, no key). */
int fs_audit_verify(struct fs_store *s, const char *checkpoint_file, const void *key, size_t keylen,
                    struct fs_audit_report *rep, struct fs_err *err);

/* A comma-separated list of record type names (blanks around names ignored), as a filter
 * takes it: 0 when every name is a record type; -FS_E_INVALID otherwise, err naming the first
 * unknown one and listing the valid types. */
int fs_audit_types_check(const char *list, struct fs_err *err);

enum fs_audit_format { FS_AUDIT_CSV, FS_AUDIT_JSONL, FS_AUDIT_JSON };
int fs_audit_format_parse(const char *s, enum fs_audit_format *out);
/* Export records matching f: CSV (header seq,ts,type,actor,data,prev_hash,hash; RFC 4180
 * quoting), JSON Lines, or one JSON array. write() receives the text in pieces; a non-zero
 * return stops the export with -FS_E_IO. */
typedef int (*fs_audit_write_fn)(void *arg, const char *buf, size_t len);
int fs_audit_export(struct fs_store *s, const struct fs_audit_filter *f, enum fs_audit_format fmt,
                    fs_audit_write_fn write, void *arg, struct fs_err *err);

#endif
