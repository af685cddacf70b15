/* Private to the SQLite backend. */
#ifndef FS_SQLITE_INT_H
#define FS_SQLITE_INT_H

/* Name of the fault-injecting VFS (registered on first call), or NULL if it cannot be. */
const char *fs_sqlite_fault_vfs(void);

#endif
