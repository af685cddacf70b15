/* Private to src/tools: the parser behind the kubernetes.* tools. A pure function of the bytes
 * `kubectl ... -o json` printed (and a clock passed in), so it can be unit-tested and fuzzed
 * (tests/fuzz/fuzz_kube_parse.c). Strings in the result are valid UTF-8 but otherwise raw: the
 * registry sanitizes and redacts them. */
#ifndef FS_TOOLS_KUBE_INT_H
#define FS_TOOLS_KUBE_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* Deepest JSON nesting accepted from kubectl (objects rarely pass 20). */
#define FS_KUBE_MAX_DEPTH 64
/* Longest message (event, condition, status reason) kept, in bytes; longer ones are cut at a
 * character boundary and end with "...". */
#define FS_KUBE_MAX_MESSAGE 1024

/* The output of `kubectl get KIND [NAME] -o json` — a List (items), one object, or a Status —
 * to compact rows, one per object, shaped by kind (the plural resource name, e.g. "pods"):
 *   pods         name, namespace, phase, status (kubectl's STATUS column: CrashLoopBackOff,
 *                Terminating, Init:0/1, ...), ready "x/y", ready_containers, containers_total,
 *                restarts, node, ip, age_s, containers [{name, ready, restarts, state, reason,
 *                last_reason, last_exit_code}]
 *   deployments  name, namespace, desired, ready, updated, available, unavailable, generation,
 *                observed_generation, conditions [{type, status, reason, message}], images,
 *                age_s
 *   statefulsets desired, ready, current, updated, available; daemonsets desired, current,
 *                ready, updated, available, misscheduled; replicasets desired, current, ready,
 *                owner
 *   services     type, cluster_ip, external, ports ["80:8080/TCP"], selector
 *   nodes        status ("Ready", "NotReady,SchedulingDisabled"), roles, pressure (condition
 *                types other than Ready that are True), kubelet_version, cpu/memory capacity
 *                and allocatable
 *   events       type, reason, object ("Pod/web-1"), namespace, message, count, first_time,
 *                last_time, age_s, source — newest first
 *   jobs         completions "s/n", active, succeeded, failed, conditions, start_time,
 *                completion_time, duration_s; cronjobs schedule, suspend, active,
 *                last_schedule_time, last_successful_time
 *   configmaps   keys (names only: values are never returned)
 *   anything else: name, namespace, kind, age_s
 * Result: {"kind": kind, "items": [...], "count": N, "unparsed": M} (M: items that were not
 * objects). A Status object (the API's error reply) is -FS_E_PROTOCOL naming its reason, code
 * and message; output that is not JSON, or JSON of another shape, is -FS_E_INVALID_PAYLOAD.
 * Returns 0 with *out a new reference, or a negative code with err filled and *out NULL;
 * -FS_E_NOMEM. */
int fs_kube_parse(const char *buf, size_t len, const char *kind, int64_t now_ms, json_t **out,
                  struct fs_err *err);

#endif
