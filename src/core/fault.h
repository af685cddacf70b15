/* Numbered fault points, for tests that must prove forestall survives what the world does to
 * it (a failed fsync, a full disk, a failed allocation). Inert unless armed: in production the
 * check is one relaxed atomic load.
 *
 * Armed from the environment at startup:  FORESTALL_FAULT="store.fsync@3,store.full@1x5"
 *   POINT@N      fail the N-th hit of POINT (1-based) and every later one
 *   POINT@NxC    fail C hits starting at the N-th */
#ifndef FS_FAULT_H
#define FS_FAULT_H

#include <stdbool.h>

#define FS_FAULT_POINTS(X)                                                                         \
    X(ALLOC, "alloc", "every fs_malloc/fs_calloc/fs_realloc")                                      \
    X(FSYNC, "store.fsync", "the store's fsync/fdatasync of the database or WAL")                  \
    X(CKPT_FSYNC, "store.checkpoint_fsync",                                                        \
      "the fsync of the database file after a WAL checkpoint copied pages into it")                \
    X(FULL, "store.full", "a store write fails with ENOSPC (disk full)")                           \
    X(BUSY, "store.busy", "a store transaction cannot take the write lock")                        \
    X(INTAKE_BUSY, "intake.busy",                                                                  \
      "a group commit holding intake requests cannot take the write lock (counts only those)")     \
    /* executor crash points (docs/executor.md): SIGKILL itself right after the transition */      \
    X(EXEC_PREFLIGHT, "exec.preflight", "executor: the preconditions passed (nothing recorded)")   \
    X(EXEC_INTENT, "exec.intent", "executor: the intent is committed")                             \
    X(EXEC_STARTED, "exec.started", "executor: the started step is committed (no child yet)")      \
    X(EXEC_CHILD, "exec.child", "executor: 200 ms after the action's program started")             \
    X(EXEC_RESULT, "exec.result", "executor: the result step is committed")                        \
    X(EXEC_VERIFYING, "exec.verifying", "executor: the incident's move to verifying is committed") \
    X(EXEC_VERIFIED, "exec.verified", "executor: the verified step is committed")                  \
    X(EXEC_ROLLBACK, "exec.rollback", "executor: the rollback_started step is committed")          \
    X(EXEC_ROLLBACK_CHILD, "exec.rollback_child",                                                  \
      "executor: 200 ms after the rollback's program started")                                     \
    X(EXEC_ROLLED_BACK, "exec.rolled_back", "executor: the rolled_back step is committed")         \
    X(EXEC_ESCALATED, "exec.escalated",                                                            \
      "executor: the escalated step (with rollback_skipped, when frozen) is committed")            \
    X(EXEC_CONCLUDED, "exec.concluded",                                                            \
      "executor: the outcome and incident state are committed, before the finished hook")

enum fs_fault_point {
#define FS_FAULT_ENUM(e, name, doc) FS_FAULT_##e,
    FS_FAULT_POINTS(FS_FAULT_ENUM)
#undef FS_FAULT_ENUM
        FS_FAULT__COUNT
};

/* Parse spec ("store.fsync@3,alloc@100x1"); returns 0 or -FS_E_INVALID. NULL/"" disarms. */
int fs_fault_arm(const char *spec);
/* True when this hit of the point should fail. */
bool fs_fault_check(enum fs_fault_point p);

#endif
