/* sqlite_fault: a pass-through SQLite VFS that can fail xSync (fsync) and xWrite (ENOSPC) at
 * the fault points armed by FORESTALL_FAULT. Registered only when faults are armed, so that
 * tests can prove fail-stop on fsync errors and 503 on a full disk with the real engine. */
#include "core/common.h"

#include <sqlite3.h>
#include <stdlib.h>

#include "core/fault.h"
#include "store/sqlite_int.h"

struct fault_file {
    sqlite3_file base; /* must be first */
    sqlite3_file *real;
    bool checkpointer; /* the checkpointer's database file: store.checkpoint_fsync applies */
};

static sqlite3_vfs fault_vfs;
static sqlite3_io_methods fault_io;

#define REAL(f) (((struct fault_file *)(f))->real)

static int f_close(sqlite3_file *f)
{
    int rc = REAL(f)->pMethods ? REAL(f)->pMethods->xClose(REAL(f)) : SQLITE_OK;
    return rc;
}
static int f_read(sqlite3_file *f, void *b, int n, sqlite3_int64 off)
{
    return REAL(f)->pMethods->xRead(REAL(f), b, n, off);
}
static int f_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 off)
{
    if (fs_fault_check(FS_FAULT_FULL))
        return SQLITE_FULL;
    return REAL(f)->pMethods->xWrite(REAL(f), b, n, off);
}
static int f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    return REAL(f)->pMethods->xTruncate(REAL(f), size);
}
static int f_sync(sqlite3_file *f, int flags)
{
    if (fs_fault_check(FS_FAULT_FSYNC))
        return SQLITE_IOERR_FSYNC;
    if (((struct fault_file *)f)->checkpointer && fs_fault_check(FS_FAULT_CKPT_FSYNC))
        return SQLITE_IOERR_FSYNC;
    return REAL(f)->pMethods->xSync(REAL(f), flags);
}
static int f_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return REAL(f)->pMethods->xFileSize(REAL(f), size);
}
static int f_lock(sqlite3_file *f, int l)
{
    return REAL(f)->pMethods->xLock(REAL(f), l);
}
static int f_unlock(sqlite3_file *f, int l)
{
    return REAL(f)->pMethods->xUnlock(REAL(f), l);
}
static int f_check_lock(sqlite3_file *f, int *out)
{
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}
static int f_fcntl(sqlite3_file *f, int op, void *arg)
{
    return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}
static int f_sector(sqlite3_file *f)
{
    return REAL(f)->pMethods->xSectorSize(REAL(f));
}
static int f_devchar(sqlite3_file *f)
{
    return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}
static int f_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
    return REAL(f)->pMethods->xShmMap(REAL(f), pg, pgsz, extend, pp);
}
static int f_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
    return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}
static void f_shm_barrier(sqlite3_file *f)
{
    REAL(f)->pMethods->xShmBarrier(REAL(f));
}
static int f_shm_unmap(sqlite3_file *f, int del)
{
    return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}
static int f_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **pp)
{
    return REAL(f)->pMethods->xFetch(REAL(f), off, amt, pp);
}
static int f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static int f_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *outflags)
{
    sqlite3_vfs *real = vfs->pAppData;
    struct fault_file *ff = (struct fault_file *)file;
    ff->real = (sqlite3_file *)(ff + 1);
    ff->checkpointer = false;
    int rc = real->xOpen(real, name, ff->real, flags, outflags);
    if (rc == SQLITE_OK && ff->real->pMethods) {
        /* present the same method version as the real file, so WAL (v2) and mmap (v3) work */
        fault_io.iVersion = ff->real->pMethods->iVersion;
        ff->base.pMethods = &fault_io;
    } else {
        ff->base.pMethods = NULL;
    }
    return rc;
}

static int v_delete(sqlite3_vfs *v, const char *n, int sync)
{
    sqlite3_vfs *r = v->pAppData;
    return r->xDelete(r, n, sync);
}
static int v_access(sqlite3_vfs *v, const char *n, int flags, int *out)
{
    sqlite3_vfs *r = v->pAppData;
    return r->xAccess(r, n, flags, out);
}
static int v_fullpath(sqlite3_vfs *v, const char *n, int size, char *out)
{
    sqlite3_vfs *r = v->pAppData;
    return r->xFullPathname(r, n, size, out);
}
static void *v_dlopen(sqlite3_vfs *v, const char *n)
{
    sqlite3_vfs *r = v->pAppData;
    return r->xDlOpen(r, n);
}
static void v_dlerror(sqlite3_vfs *v, int n, char *msg)
{
    sqlite3_vfs *r = v->pAppData;
    r->xDlError(r, n, msg);
}
static void (*v_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
    sqlite3_vfs *r = v->pAppData;
    return r->xDlSym(r, h, sym);
}
static void v_dlclose(sqlite3_vfs *v, void *h)
{
    sqlite3_vfs *r = v->pAppData;
    r->xDlClose(r, h);
}
static int v_random(sqlite3_vfs *v, int n, char *out)
{
    sqlite3_vfs *r = v->pAppData;
    return r->xRandomness(r, n, out);
}
static int v_sleep(sqlite3_vfs *v, int us)
{
    sqlite3_vfs *r = v->pAppData;
    return r->xSleep(r, us);
}
static int v_time(sqlite3_vfs *v, double *out)
{
    sqlite3_vfs *r = v->pAppData;
    return r->xCurrentTime(r, out);
}
static int v_lasterr(sqlite3_vfs *v, int n, char *out)
{
    sqlite3_vfs *r = v->pAppData;
    return r->xGetLastError ? r->xGetLastError(r, n, out) : 0;
}
static int v_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
    sqlite3_vfs *r = v->pAppData;
    return r->xCurrentTimeInt64(r, out);
}

/* That connection never writes a transaction: it syncs the database file only after a
 * checkpoint copied WAL frames into it, so the N-th hit of store.checkpoint_fsync is the N-th
 * checkpoint that did work, and the error travels through SQLite's own checkpoint code. */
void fs_sqlite_fault_mark_checkpointer(sqlite3 *db)
{
    sqlite3_file *f = NULL;
    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &f) == SQLITE_OK && f &&
        f->pMethods == &fault_io)
        ((struct fault_file *)f)->checkpointer = true;
}

const char *fs_sqlite_fault_vfs(void)
{
    if (fault_vfs.zName)
        return fault_vfs.zName;
    sqlite3_vfs *real = sqlite3_vfs_find(NULL);
    if (!real)
        return NULL;
    fault_io = (sqlite3_io_methods){
        .iVersion = 3,
        .xClose = f_close,
        .xRead = f_read,
        .xWrite = f_write,
        .xTruncate = f_truncate,
        .xSync = f_sync,
        .xFileSize = f_size,
        .xLock = f_lock,
        .xUnlock = f_unlock,
        .xCheckReservedLock = f_check_lock,
        .xFileControl = f_fcntl,
        .xSectorSize = f_sector,
        .xDeviceCharacteristics = f_devchar,
        .xShmMap = f_shm_map,
        .xShmLock = f_shm_lock,
        .xShmBarrier = f_shm_barrier,
        .xShmUnmap = f_shm_unmap,
        .xFetch = f_fetch,
        .xUnfetch = f_unfetch,
    };
    fault_vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)sizeof(struct fault_file) + real->szOsFile,
        .mxPathname = real->mxPathname,
        .zName = "forestall-fault",
        .pAppData = real,
        .xOpen = f_open,
        .xDelete = v_delete,
        .xAccess = v_access,
        .xFullPathname = v_fullpath,
        .xDlOpen = v_dlopen,
        .xDlError = v_dlerror,
        .xDlSym = v_dlsym,
        .xDlClose = v_dlclose,
        .xRandomness = v_random,
        .xSleep = v_sleep,
        .xCurrentTime = v_time,
        .xGetLastError = v_lasterr,
        .xCurrentTimeInt64 = v_time64,
    };
    if (sqlite3_vfs_register(&fault_vfs, 0) != SQLITE_OK) {
        fault_vfs.zName = NULL;
        return NULL;
    }
    return fault_vfs.zName;
}
