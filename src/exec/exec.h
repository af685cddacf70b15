/* The executor (architecture.md §4, §6, §7; docs/executor.md): runs only what the gate passed or
 * a person approved, in a process of its own, from the store's queue of approved proposals.
 * One run = preflight (the action's preconditions) → intent (durable, with the approval
 * consumed) → started → the program (argv only, clean environment, timeout, capped output) →
 * result → verification (the action's verify probe) → verified, or rollback → rolled_back, or
 * escalated. Every transition is one store transaction with its audit record, written through a
 * struct fs_writer, so the same code runs in the executor process and in the daemon.
 *
 * Crash safety: the step log is replayed at start (fs_exec_resume_all). An action whose intent
 * has no result is run again only when it is idempotent; otherwise its probe decides, or a
 * person does (escalation). A result is never executed twice.
 *
 * The executor never reasons about the incident: what runs comes from the catalog's template
 * for the proposal's action, params and target, nothing else. */
#ifndef FS_EXEC_H
#define FS_EXEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "safety/catalog.h"

struct fs_config;
struct fs_mcp_hub;
struct fs_registry;
struct fs_rules;
struct fs_writer;

/* Called once an execution reached its terminal state and the bookkeeping is committed
 * (outcome: succeeded | failed | rolled_back | unknown | refused). The post-mortem writer
 * (report/postmortem.h fs_incident_conclude) is called through it. incident_id may be 0. */
typedef void (*fs_exec_finished_fn)(void *arg, int64_t incident_id, int64_t execution_id,
                                    const char *outcome);

/* What one executor works with. Everything is borrowed and must outlive the calls. */
struct fs_exec_env {
    const struct fs_writer *w;       /* every store write goes through it */
    const struct fs_rules *rules;    /* catalog and policy in force (approval hashes) */
    const struct fs_config *cfg;     /* executor.* and tools.* */
    const struct fs_registry *tools; /* probes are the read-only tools "host.<probe>" */
    fs_exec_finished_fn finished;    /* may be NULL */
    void *finished_arg;
    /* One human-readable line per transition ("exec-3 prop-2 journal_vacuum: intent → ...");
     * may be NULL. */
    void (*say)(void *arg, const char *line);
    void *say_arg;
    /* Polled between steps and during verification waits; true = stop after the step in
     * progress (a started program is always waited for and its result recorded). NULL = never. */
    bool (*should_stop)(void *arg);
    void *stop_arg;
    /* The MCP hub that runs actions whose target kind is mcp (mcp/hub.h); NULL = each such run
     * opens a hub of its own, for the one server it needs, and closes it at the end. */
    struct fs_mcp_hub *mcp;
};

enum fs_exec_status {
    FS_EXEC_SKIPPED,     /* nothing to do: it has an execution already, or is not approved */
    FS_EXEC_HELD,        /* the kill switch is on: left queued, runs once unfrozen */
    FS_EXEC_REFUSED,     /* refused before anything ran (target, preflight, approval) */
    FS_EXEC_DONE,        /* reached its terminal state; outcome says which */
    FS_EXEC_INTERRUPTED, /* should_stop: left open; fs_exec_resume_all continues it */
};

struct fs_exec_report {
    enum fs_exec_status status;
    int64_t execution_id; /* 0 when none was recorded */
    char outcome[24];     /* terminal outcome, "" when none */
    char reason[512];     /* why it was skipped, held, refused or escalated */
};

/* Run one approved proposal through every step. Returns 0 with *rep saying what happened
 * (business outcomes, refusals included, are not errors), or <0 when the store failed or memory
 * ran out (whatever was committed stays; a later resume continues). rep may be NULL. */
int fs_exec_run_proposal(const struct fs_exec_env *x, int64_t proposal_id,
                         struct fs_exec_report *rep, struct fs_err *err);

/* Run every approved proposal without an execution, oldest first, until none is left or
 * should_stop. *ran (may be NULL) = how many reached a terminal state or were refused;
 * *held (may be NULL) = how many wait for the kill switch. */
int fs_exec_run_ready(const struct fs_exec_env *x, int *ran, int *held, struct fs_err *err);

/* At start: continue every execution a crash left "running", by the table below. *n (may be
 * NULL) = how many were continued. */
int fs_exec_resume_all(const struct fs_exec_env *x, int *n, struct fs_err *err);

/* ---- the resume table (pure) ---------------------------------------------------------------- */

/* Which steps an interrupted execution's log holds. */
struct fs_exec_progress {
    bool intent;           /* intent: what runs, durable */
    bool started;          /* started: the program may have run */
    bool result;           /* result: it ran (or its effect is known) */
    bool rollback_started; /* rollback_started: the rollback may have run */
    bool terminal;         /* verified, rolled_back, escalated or refused */
};

enum fs_resume_decision {
    FS_RESUME_RUN,           /* intent, never started: run it now */
    FS_RESUME_RERUN,         /* started, no result, idempotent: run it again */
    FS_RESUME_VERIFY_ONLY,   /* a result is there: never run again; continue with verification */
    FS_RESUME_PROBE_DECIDES, /* started, no result, not idempotent: the verify probe decides */
    FS_RESUME_ESCALATE,      /* started, no result, not idempotent, no probe: a person decides */
    FS_RESUME_FINISH,        /* terminal step there: only the bookkeeping is left */
};

struct fs_resume_plan {
    enum fs_resume_decision decision;
    bool rollback; /* the decision is about the rollback action, not the action */
};

/* The action's idempotency and whether it has a verify probe; the same for its rollback
 * action (ignored when the log has no rollback_started). */
struct fs_resume_facts {
    enum fs_idempotent idempotent;
    bool has_probe;
    enum fs_idempotent rollback_idempotent;
    bool rollback_has_probe;
};

struct fs_resume_plan fs_exec_resume_decide(const struct fs_exec_progress *p,
                                            const struct fs_resume_facts *f);
const char *fs_resume_decision_name(enum fs_resume_decision d);

/* ---- targets (pure but for the hostname lookup of fs_route_is_local) ------------------------ */

struct fs_exec_plan {
    enum fs_target_kind kind;
    char host[256]; /* the routed host ("" = this machine), for ssh and for probes */
    json_t *argv;   /* owned: array of strings, the whole argv that runs (ssh/kubectl included) */
};

/* Choose the target kind for an action and a proposal's resolved target, render the catalog
 * template with params, and build the argv that runs:
 *   kubectl  when the target names a namespace or workload and the action has a kubectl
 *            template: [tools.kubectl, --kubeconfig F?, --context C?, rendered...]
 *   local    when the target's host is this machine (fs_route_is_local) and a local template
 *            exists: the rendered argv
 *   ssh      when tools.ssh_user is set and an ssh template exists: fs_ssh_argv to the host
 *   mcp      otherwise, when an mcp template exists: argv is then the rendered object
 *            {server, tool, arguments} (the executor applies the server's tool_mappings and
 *            checks the tool's pin before anything runs; refused in a simulated world)
 *   refused  otherwise; http: "target kind http is not supported by this executor yet".
 * Returns 0, or a negative code with err saying why nothing can run (-FS_E_FORBIDDEN for a kind
 * this executor does not run, -FS_E_CONNECT for a host it cannot reach, -FS_E_INVALID for a
 * template that does not render, -FS_E_NOMEM). */
int fs_exec_plan_build(const struct fs_config *cfg, const struct fs_action *a, const json_t *params,
                       const json_t *target, struct fs_exec_plan *out, struct fs_err *err);
void fs_exec_plan_release(struct fs_exec_plan *p);

/* argv as one line for people: words joined by spaces, each quoted for a POSIX shell only when
 * it needs it. Caller frees; NULL when out of memory. */
char *fs_exec_argv_display(const json_t *argv);

#endif
