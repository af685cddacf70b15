/* The knowledge graph: what an SRE team writes down about its estate (docs/context.md). Each
 * entity (a host, a service, a database, a cluster, ...) has a unique name, the other names
 * alerts use for it (FQDNs, IPs, instance labels), an env, an owner, a classification, the
 * gate's resource class and labels; relations say what depends on what and what runs where;
 * windows are change freezes and maintenance windows, absolute or weekly.
 *
 * The graph answers three questions for the gate and the planners: which entity is this alert
 * about (fs_graph_find), what else is hurt if it misbehaves (fs_graph_dependents, the blast
 * radius) and may it be changed now (fs_graph_freeze_at).
 *
 * It is loaded from one operator file; there is no built-in graph (no file: an empty graph).
 * Thread safety: a loaded graph is immutable and may be shared by any number of threads; every
 * query only reads it. Ownership: every pointer a query returns (entities, windows, strings)
 * borrows from the graph and is valid until fs_graph_free. */
#ifndef FS_GRAPH_H
#define FS_GRAPH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

enum fs_entity_kind {
    FS_KIND_HOST,
    FS_KIND_SERVICE,
    FS_KIND_DATABASE,
    FS_KIND_CLUSTER,
    FS_KIND_QUEUE,
    FS_KIND_STORAGE,
    FS_KIND_NETWORK,
    FS_KIND_OTHER,
    FS_KIND__COUNT
};

enum fs_relation_type {
    FS_REL_DEPENDS_ON, /* from needs to: to misbehaving hurts from (blast radius) */
    FS_REL_RUNS_ON,    /* from runs on to: to misbehaving hurts from (blast radius) */
    FS_REL_PART_OF,    /* from is a member of to (a node of a cluster): context only */
    FS_REL__COUNT
};

enum fs_window_kind {
    FS_WINDOW_FREEZE,      /* nothing changes: the gate blocks (rule 5) */
    FS_WINDOW_MAINTENANCE, /* recorded, shown to planners; never blocks */
};

struct fs_label {
    const char *key, *value;
};

/* An entity. Strings are NULL when the file does not give them. An fs_entity built by a caller
 * (for a target the graph does not know, from an alert's labels) may be passed to
 * fs_graph_freeze_at: only its env, owner, classification, kind, resource_class and labels are
 * read, and it matches selector windows (and `all: true` ones) but never entity lists. */
struct fs_entity {
    const char *name;
    enum fs_entity_kind kind;
    const char *const *aliases; /* naliases other names; each unique across the graph */
    size_t naliases;
    const char *env;
    const char *owner;
    const char *classification; /* free text: public, internal, confidential, pci, ... */
    /* The gate's incident-risk class (application, database, storage, network, hypervisor or a
     * class the operator's policy adds). When the file gives none, kind database, storage and
     * network imply the class of the same name; other kinds leave it NULL. */
    const char *resource_class;
    const char *description;
    const struct fs_label *labels; /* nlabels, sorted by key */
    size_t nlabels;
    const struct fs_label *links; /* nlinks (runbook, dashboard, ... → URL), sorted by key */
    size_t nlinks;
    int line; /* where the entity is defined in the file (0 for caller-built entities) */
};

struct fs_window {
    const char *name;
    enum fs_window_kind kind;
    const char *reason; /* NULL when not given */
    int line;
};

struct fs_graph;

/* Load the operator's graph file. file NULL: an empty graph (never an error). Every problem goes
 * to diag (may be NULL) as "file:line: key: message", one per line; err gets the first one
 * (err.path = "file:line", code invalid_config; out_of_memory and io_error as such). On
 * failure *out is NULL. The caller owns *out (fs_graph_free). */
int fs_graph_load(const char *file, struct fs_graph **out, struct fs_buf *diag, struct fs_err *err);
/* The same from bytes; name is used in messages. Empty input (or only comments) is an empty
 * graph. */
int fs_graph_load_buf(const char *buf, size_t len, const char *name, struct fs_graph **out,
                      struct fs_buf *diag, struct fs_err *err);
void fs_graph_free(struct fs_graph *g); /* NULL: no-op */

/* The first 16 hex digits of the SHA-256 of the canonical JSON of the file's content
 * (comments, layout and key order do not change it), or "empty" for a graph with no entities,
 * relations or windows. Borrowed. */
const char *fs_graph_version(const struct fs_graph *g);
/* The file it was loaded from ("" for none). Borrowed. */
const char *fs_graph_source(const struct fs_graph *g);

size_t fs_graph_size(const struct fs_graph *g); /* number of entities */
/* The i-th entity in file order; NULL when i >= fs_graph_size. */
const struct fs_entity *fs_graph_entity_at(const struct fs_graph *g, size_t i);
size_t fs_graph_window_count(const struct fs_graph *g);
const struct fs_window *fs_graph_window_at(const struct fs_graph *g, size_t i);

/* The entity whose name or one of whose aliases is exactly s (case matters). When there is
 * none and s is an instance string "host:port" or "[v6-address]:port", the host part is looked
 * up the same way. NULL when nothing matches (g or s NULL included). O(1): a hash index. */
const struct fs_entity *fs_graph_find(const struct fs_graph *g, const char *s);

/* The blast radius of e: every entity that depends on e directly or transitively (reverse
 * depends_on), runs on it (reverse runs_on), and so on transitively through both relations;
 * e itself excluded, each entity once, cycles safe. part_of does not extend it. *count gets
 * how many there are; the first min(count, max) go to out (may be NULL when max is 0), nearest
 * first (breadth-first; ties in the order the file writes the relations). Time is linear in
 * the part of the graph reached, and up to a few hundred reached entities need no allocation.
 * e not in g (or NULL): *count = 0. Returns 0, or -FS_E_NOMEM (then *count = 0). */
int fs_graph_dependents(const struct fs_graph *g, const struct fs_entity *e,
                        const struct fs_entity **out, size_t max, size_t *count);

/* The first freeze window (in file order) that covers e and is active at now_ms, or NULL. A
 * window covers the entities it lists by name, those its `match` selects and, with `all: true`,
 * every entity; a freeze on a host does not cover what runs on it unless it names or matches
 * it too. e NULL: only `all: true` windows. Maintenance windows never count. */
const struct fs_window *fs_graph_freeze_at(const struct fs_graph *g, const struct fs_entity *e,
                                           int64_t now_ms);

/* The entity for planners and the API: its fields, "source" (file:line), "relations" (both
 * directions: [{from, type, to}]), "dependents" ({count, entities: [{name, kind, env, owner,
 * distance, via, relation}], truncated}; at most 100 listed), "windows" ({active, upcoming}:
 * windows covering it that are active at now_ms or start within the next 7 days, each {name,
 * kind, reason, start, end} with end exclusive), "change_freeze" (the active freeze's name or
 * null) and "graph_version". New reference; NULL when out of memory or e is not in g. */
json_t *fs_graph_entity_json(const struct fs_graph *g, const struct fs_entity *e, int64_t now_ms);

/* Report, through the same "file:line: key: message" lines, every resource_class (of an entity
 * or a window's match) that is not in known (NULL-terminated: the classes the policy weighs).
 * Returns 0 or -FS_E_CONFIG. For whoever wires the graph to a policy. */
int fs_graph_check_resource_classes(const struct fs_graph *g, const char *const *known,
                                    struct fs_buf *diag, struct fs_err *err);

const char *fs_entity_kind_name(enum fs_entity_kind k); /* "host", ... ; "?" when out of range */
const char *fs_relation_type_name(enum fs_relation_type t); /* "depends_on", ... */
const char *fs_window_kind_name(enum fs_window_kind k);     /* "freeze", "maintenance" */

#endif
