/*
 * store-wal.c - the "pipec-wal" VFS: a commit's tasks let go once its
 * frames are in the WAL, before its fsync.
 *
 * A commit (synchronous=FULL) writes its frames to the WAL, fsyncs the WAL,
 * then publishes the frames in the WAL's index.  A task may start as soon
 * as the frames that record its start are written, before the fsync: a
 * runtime killed from then on leaves them in the file (the kernel has them),
 * and the next process to open the store reads them back into the index
 * (when none has it open then: one that does keeps the old index); a
 * machine that loses power loses the task's process with them, and the task
 * runs again, as one running when the power went would.  Meanwhile the
 * fsync, which is most of a commit, overlaps the task's start.  The writer
 * connection opens the store through this VFS, the system's own with the WAL
 * file's xSync wrapped: the first sync after the commit's frames were
 * written first calls what the writer thread armed around its COMMIT
 * (pr_store_wal_arm(): a thread-local, so only that thread's commit sees
 * it), which hands the commit's tokens back (store-writer.c).
 */
#include "store.h"

#include <pthread.h>

typedef struct wal_file {
	sqlite3_file base;
	sqlite3_file *real; /* the system VFS's file, just after this struct */
	int frames;         /* frames were written since the last sync (not only the header, which a
			     * restarted WAL syncs on its own before the commit's frames) */
} wal_file;

static sqlite3_vfs *sys_vfs;
static sqlite3_vfs wal_vfs;
static __thread void (*armed)(void *ctx); /* pr_store_wal_arm() */
static __thread void *armed_ctx;

#define REAL(f) (((wal_file *)(f))->real)
static int wal_close(sqlite3_file *f) { return REAL(f)->pMethods->xClose(REAL(f)); }
static int wal_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o) { return REAL(f)->pMethods->xRead(REAL(f), b, n, o); }
static int wal_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o)
{
	if (o >= 32) /* past the WAL's header */
		((wal_file *)f)->frames = 1;
	return REAL(f)->pMethods->xWrite(REAL(f), b, n, o);
}
static int wal_truncate(sqlite3_file *f, sqlite3_int64 n) { return REAL(f)->pMethods->xTruncate(REAL(f), n); }
static int wal_sync(sqlite3_file *f, int flags)
{
	void (*fn)(void *ctx) = armed;
	wal_file *w = (wal_file *)f;
	if (fn && w->frames) { /* the commit's frames are all written: its tasks may go */
		armed = NULL;
		fn(armed_ctx);
	}
	w->frames = 0;
	return REAL(f)->pMethods->xSync(REAL(f), flags);
}
static int wal_size(sqlite3_file *f, sqlite3_int64 *n) { return REAL(f)->pMethods->xFileSize(REAL(f), n); }
static int wal_lock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xLock(REAL(f), l); }
static int wal_unlock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xUnlock(REAL(f), l); }
static int wal_reserved(sqlite3_file *f, int *r) { return REAL(f)->pMethods->xCheckReservedLock(REAL(f), r); }
static int wal_control(sqlite3_file *f, int op, void *a) { return REAL(f)->pMethods->xFileControl(REAL(f), op, a); }
static int wal_sector(sqlite3_file *f) { return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int wal_device(sqlite3_file *f) { return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f)); }
#undef REAL

static const sqlite3_io_methods wal_methods = {
	.iVersion = 1,
	.xClose = wal_close,
	.xRead = wal_read,
	.xWrite = wal_write,
	.xTruncate = wal_truncate,
	.xSync = wal_sync,
	.xFileSize = wal_size,
	.xLock = wal_lock,
	.xUnlock = wal_unlock,
	.xCheckReservedLock = wal_reserved,
	.xFileControl = wal_control,
	.xSectorSize = wal_sector,
	.xDeviceCharacteristics = wal_device,
};

/* Opens NAME with the system VFS; a WAL file with its xSync wrapped. */
static int wal_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out)
{
	(void)vfs;
	if (!(flags & SQLITE_OPEN_WAL))
		return sys_vfs->xOpen(sys_vfs, name, f, flags, out);
	wal_file *w = (wal_file *)f;
	w->real = (sqlite3_file *)(w + 1);
	w->frames = 0;
	int rc = sys_vfs->xOpen(sys_vfs, name, w->real, flags, out);
	w->base.pMethods = rc == SQLITE_OK && w->real->pMethods ? &wal_methods : NULL;
	return rc;
}

#define SYS(name, ...) return sys_vfs->name(sys_vfs, __VA_ARGS__)
static int wal_delete(sqlite3_vfs *v, const char *n, int s) { (void)v; SYS(xDelete, n, s); }
static int wal_access(sqlite3_vfs *v, const char *n, int f, int *r) { (void)v; SYS(xAccess, n, f, r); }
static int wal_full(sqlite3_vfs *v, const char *n, int k, char *o) { (void)v; SYS(xFullPathname, n, k, o); }
static void *wal_dlopen(sqlite3_vfs *v, const char *n) { (void)v; SYS(xDlOpen, n); }
static void wal_dlerror(sqlite3_vfs *v, int n, char *m) { (void)v; sys_vfs->xDlError(sys_vfs, n, m); }
static void (*wal_dlsym(sqlite3_vfs *v, void *h, const char *s))(void) { (void)v; SYS(xDlSym, h, s); }
static void wal_dlclose(sqlite3_vfs *v, void *h) { (void)v; sys_vfs->xDlClose(sys_vfs, h); }
static int wal_random(sqlite3_vfs *v, int n, char *o) { (void)v; SYS(xRandomness, n, o); }
static int wal_sleep(sqlite3_vfs *v, int us) { (void)v; SYS(xSleep, us); }
static int wal_time(sqlite3_vfs *v, double *t) { (void)v; SYS(xCurrentTime, t); }
static int wal_error(sqlite3_vfs *v, int n, char *m) { (void)v; SYS(xGetLastError, n, m); }
static int wal_time64(sqlite3_vfs *v, sqlite3_int64 *t) { (void)v; SYS(xCurrentTimeInt64, t); }
#undef SYS

static void wal_register(void)
{
	sys_vfs = sqlite3_vfs_find(NULL);
	if (!sys_vfs)
		return;
	wal_vfs = (sqlite3_vfs){
		.iVersion = 2,
		.szOsFile = (int)sizeof(wal_file) + sys_vfs->szOsFile,
		.mxPathname = sys_vfs->mxPathname,
		.zName = "pipec-wal",
		.xOpen = wal_open,
		.xDelete = wal_delete,
		.xAccess = wal_access,
		.xFullPathname = wal_full,
		.xDlOpen = wal_dlopen,
		.xDlError = wal_dlerror,
		.xDlSym = wal_dlsym,
		.xDlClose = wal_dlclose,
		.xRandomness = wal_random,
		.xSleep = wal_sleep,
		.xCurrentTime = wal_time,
		.xGetLastError = wal_error,
		.xCurrentTimeInt64 = wal_time64,
	};
	if (sqlite3_vfs_register(&wal_vfs, 0) != SQLITE_OK)
		sys_vfs = NULL;
}


const char *pr_store_wal_vfs(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, wal_register);
	return sys_vfs ? wal_vfs.zName : NULL;
}

void pr_store_wal_arm(void (*fn)(void *ctx), void *ctx)
{
	armed = fn;
	armed_ctx = ctx;
}
