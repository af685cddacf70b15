/* Post-mortems: what forestall writes when it is done with an incident (architecture.md §1,
 * seed 000 "the SRE reads the post-mortem in the morning"), and the knowledge write-back that
 * lets the next investigation on the same host or service see how this one ended.
 *
 * A post-mortem is derived only from what the store recorded: the incident and its timeline,
 * the investigations (root cause, summary, forecast, follow-ups, reasoning), the observations
 * (the evidence), the proposals with the gate's decision and their approvals, and the
 * executions with their step logs. Nothing is invented: a section with nothing recorded says so.
 * It comes in two forms that say the same thing: Markdown for people and JSON for programs
 * (docs/postmortems.md lists the keys). Both go through the redactor before they leave. */
#ifndef FS_REPORT_POSTMORTEM_H
#define FS_REPORT_POSTMORTEM_H

#include <jansson.h>
#include <stdint.h>

#include "core/err.h"
#include "store/store.h"

struct fs_config;

/* The JSON form's format version ("version" key). */
#define FS_POSTMORTEM_VERSION 1

/* Build the post-mortem of incident_id from the store (read side: any thread, no transaction).
 * now is the generation time. On success *data (new reference) is the JSON form and *markdown
 * (caller frees) the Markdown form; both redacted. Errors: -FS_E_NOT_FOUND when there is no such
 * incident, the store's errors, -FS_E_NOMEM. On failure *data and *markdown are NULL. */
int fs_postmortem_build(struct fs_store *s, int64_t incident_id, int64_t now, json_t **data,
                        char **markdown, struct fs_err *err);

/* Conclude an incident whose handling ended (resolved, escalated, no_action, shadowed, blocked):
 * build its post-mortem, then in one writer transaction store it (replacing an earlier one) and
 * write its outcome to the knowledge history of every entity it is about — the host of its
 * instance label, its service label, and the knowledge-graph entities they name (the graph in
 * force, else cfg->context.graph) — one row per entity and incident. Then, when
 * cfg->executor.postmortem_dir is set, write inc-N.md and inc-N.json there (resolved against
 * data_dir; directory created 0750; each file written to a temporary name, synced and renamed).
 * Idempotent: concluding again replaces the post-mortem, the history rows and the files.
 * Errors: those of fs_postmortem_build, the writer's, and -FS_E_IO when the files cannot be
 * written (the store is then already up to date). */
int fs_incident_conclude(const struct fs_writer *w, const struct fs_config *cfg,
                         int64_t incident_id, int64_t now, struct fs_err *err);

#endif
