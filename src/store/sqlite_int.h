/* Private to the SQLite backend. */
#ifndef FS_SQLITE_INT_H
#define FS_SQLITE_INT_H

#include <sqlite3.h>

/* Name of the fault-injecting VFS (registered on first call), or NULL if it cannot be. */
const char *fs_sqlite_fault_vfs(void);

/* Mark db's main file (opened through the fault VFS) as the checkpointer's, the file the fault
 * point store.checkpoint_fsync fails. A no-op on a file of another VFS. */
void fs_sqlite_fault_mark_checkpointer(sqlite3 *db);

#endif
