/*
 * core/journal.c: the SQLite journal; see journal.h.
 *
 * WAL with synchronous=NORMAL: a commit is durable at the next checkpoint or
 * WAL sync. A crash of the process loses at most the group of results not
 * yet committed (the kernel has every commit); a crash of the machine may
 * lose the commits the kernel had not written out yet, never the database
 * (WAL frames carry checksums; recovery stops at the first bad one). What
 * the journal says about a file is a report; the promise about files on
 * disk is kept by the commit protocol, and resume finds done files by size
 * and mtime at the destination, not in the journal.
 *
 * Checkpoints fsync, and on ext4 (data=ordered) an fsync commits the
 * filesystem journal, which writes out every dirty page in it: a checkpoint
 * in the middle of a `--no-fsync` copy would flush the copy too (measured
 * here: +40 % on 20,000 small files). So checkpoints happen when a journal
 * opens, before any copy has dirtied anything, and only once the WAL has
 * passed JOURNAL_WAL_KEEP: a checkpoint at every open cost its fsyncs to
 * every command (opening took ~4 ms with one, ~1.5 ms without); after
 * 64 MiB of WAL SQLite checkpoints on its own; closing does not checkpoint.
 *
 * Per-file results are written as packs (core/journal_pack.h): the results
 * of one group commit that share a job and a state become one row, a lone
 * result a row of its own. One row per file cost ~35 ms of this thread and
 * 2.3 MB of WAL per 20,000 files; packs cost ~5 ms and 0.3 MB. Readers
 * unpack them (ferry__journal_files), so what they see is unchanged.
 *
 * Two connections: db for every write (the writer thread's group commits,
 * add, state, prune) and rdb for every read. WAL lets a reader run beside a
 * write transaction, but not on the same connection: with one, a GET of the
 * API (the daemon's service thread) waited for the group commit in progress.
 */
#define _GNU_SOURCE
#include "core/journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/events_priv.h"
#include "core/journal_pack.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/array.h"
#include "util/fs.h"
#include "util/str.h"

#define JOURNAL_BATCH        2000
#define JOURNAL_WAIT_MS      100
#define JOURNAL_PACK_BYTES   65536     /* a pack row is cut after this much */
#define JOURNAL_WAL_KEEP     (4 << 20) /* opening checkpoints a WAL larger than this */
#define JOURNAL_WAL_KEEP_STR "4194304"

struct ferry__journal {
    pthread_mutex_t lock; /* guards db and every statement on it */
    pthread_mutex_t drain_lock; /* one drainer at a time, so batches land in order */
    pthread_mutex_t rlock; /* guards rdb */
    sqlite3 *db;
    sqlite3 *rdb; /* reads only, never waiting for a write in progress */
    char *dir;
    int owner_fd;         /* flock held on owners/<pid>.lock for our life */
    char *owner_path;
    ferry_bus *bus;
    ferry_sub *sub;
    ferry__progress_fn progress;
    void *progress_arg;
    pthread_t writer;
    atomic_bool stop;
    ferry__pack pack; /* the writer's encoder, its buffer reused (under lock) */
    char **interrupted;
    size_t ninterrupted;
};

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS jobs("
    " id TEXT PRIMARY KEY, state TEXT NOT NULL, tag TEXT, spec TEXT NOT NULL,"
    " owner INTEGER, created_at INTEGER, started_at INTEGER, finished_at INTEGER,"
    " bytes_total INTEGER DEFAULT 0, bytes_done INTEGER DEFAULT 0,"
    " files_total INTEGER DEFAULT 0, files_done INTEGER DEFAULT 0,"
    " files_skipped INTEGER DEFAULT 0, files_failed INTEGER DEFAULT 0,"
    " error TEXT, cancel_latency_us INTEGER, bytes_skipped INTEGER DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS files("
    " job_id TEXT NOT NULL, path TEXT NOT NULL, dest TEXT, state TEXT NOT NULL,"
    " error TEXT, bytes INTEGER, at INTEGER, n INTEGER, pack BLOB);"
    "CREATE INDEX IF NOT EXISTS files_job ON files(job_id, state);"
    "CREATE INDEX IF NOT EXISTS jobs_created ON jobs(created_at);";

static int64_t now_ms(void)
{
    return (int64_t)(ferry__wall_ns() / FERRY_NS_PER_MS);
}

static int conn_error(ferry__journal *j, sqlite3 *db, const char *what)
{
    return ferry__error(FERRY_ERROR, "journal %s/journal.db: %s: %s", j->dir, what,
                        sqlite3_errmsg(db));
}

static int db_error(ferry__journal *j, const char *what)
{
    return conn_error(j, j->db, what);
}

/* --- the schema of before packs ------------------------------------------ */

/*
 * Journals of before packs lack the files table's n and pack columns: adds
 * them (ALTER TABLE ADD COLUMN rewrites nothing). Two processes may race
 * here: the loser's ALTER fails and the second look finds the columns.
 */
static int add_pack_columns(ferry__journal *j)
{
    static const char probe[] = "SELECT n, pack FROM files LIMIT 0";
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(j->db, probe, -1, &st, NULL);

    sqlite3_finalize(st);
    if (rc == SQLITE_OK)
        return 0;
    sqlite3_exec(j->db,
                 "ALTER TABLE files ADD COLUMN n INTEGER;"
                 "ALTER TABLE files ADD COLUMN pack BLOB;",
                 NULL, NULL, NULL);
    st = NULL;
    rc = sqlite3_prepare_v2(j->db, probe, -1, &st, NULL);
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? 0 : -1;
}

/* Journals of before bytes_skipped: adds it (0 for their jobs), as above. */
static int add_skipped_column(ferry__journal *j)
{
    static const char probe[] = "SELECT bytes_skipped FROM jobs LIMIT 0";
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(j->db, probe, -1, &st, NULL);

    sqlite3_finalize(st);
    if (rc == SQLITE_OK)
        return 0;
    sqlite3_exec(j->db, "ALTER TABLE jobs ADD COLUMN bytes_skipped INTEGER DEFAULT 0;", NULL, NULL,
                 NULL);
    st = NULL;
    rc = sqlite3_prepare_v2(j->db, probe, -1, &st, NULL);
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? 0 : -1;
}

/* --- opening, with corruption handled ---------------------------------- */

/*
 * True when the WAL beside path has grown past JOURNAL_WAL_KEEP. With
 * journal_size_limit at that size, a WAL file is cut back to it when SQLite
 * starts it over after a checkpoint, and grows past it only when that much
 * was written since: its size tells without reading it.
 */
static bool wal_is_big(const char *path)
{
    char *wal = ferry__strfmt("%s-wal", path);
    struct stat st;
    bool big = wal && stat(wal, &st) == 0 && st.st_size > JOURNAL_WAL_KEEP;

    free(wal);
    return big;
}

/*
 * Opens and prepares the schema. A file that is not a database, or a damaged
 * one, fails here (SQLITE_NOTADB, SQLITE_CORRUPT) and is moved aside by the
 * caller. No full integrity check on every open: its cost grows with the
 * journal, and every later statement reports damage anyway.
 */
static int try_open(ferry__journal *j, const char *path)
{
    char *err = NULL;

    if (sqlite3_open_v2(path, &j->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                          SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK)
        goto fail;
    sqlite3_busy_timeout(j->db, 5000);
    if (sqlite3_exec(j->db, schema, NULL, NULL, &err) == SQLITE_OK) {
        sqlite3_db_config(j->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
        sqlite3_exec(j->db,
                     "PRAGMA wal_autocheckpoint=16384;"
                     " PRAGMA journal_size_limit=" JOURNAL_WAL_KEEP_STR ";",
                     NULL, NULL, NULL);
        if (wal_is_big(path))
            sqlite3_exec(j->db, "PRAGMA wal_checkpoint(PASSIVE);", NULL, NULL, NULL);
        if (add_pack_columns(j) == 0 && add_skipped_column(j) == 0)
            return 0;
    }
    sqlite3_free(err);
fail:
    sqlite3_close(j->db);
    j->db = NULL;
    return -1;
}

/* The second connection, for reads (the file exists and has its schema now). */
static int open_reader(ferry__journal *j, const char *path)
{
    if (sqlite3_open_v2(path, &j->rdb, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL) !=
        SQLITE_OK) {
        int rc = conn_error(j, j->rdb, "open for reading");
        sqlite3_close(j->rdb);
        j->rdb = NULL;
        return rc;
    }
    sqlite3_busy_timeout(j->rdb, 5000);
    sqlite3_db_config(j->rdb, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
    return FERRY_OK;
}

/* Both connections, moving an unreadable journal aside (*notice says so). */
static int open_db(ferry__journal *j, char **notice)
{
    char *path = ferry__strfmt("%s/journal.db", j->dir);
    int rc = FERRY_OK;

    if (!path)
        return ferry__error(FERRY_ENOMEM, "out of memory");
    if (try_open(j, path) < 0) {
        /* Unreadable or corrupt: keep it for inspection, start afresh. */
        char *aside = ferry__strfmt("%s.corrupt-%lld", path, (long long)now_ms());
        const char *sfx[] = {"-wal", "-shm"};
        if (aside && rename(path, aside) == 0) {
            for (int i = 0; i < 2; i++) {
                char *a = ferry__strfmt("%s%s", path, sfx[i]), *b = ferry__strfmt("%s%s", aside, sfx[i]);
                if (a && b)
                    rename(a, b);
                free(a);
                free(b);
            }
            *notice = ferry__strfmt("journal '%s' was unreadable; moved aside to '%s' and a new one "
                                    "started",
                                    path, aside);
        }
        if (try_open(j, path) < 0)
            rc = ferry__error(FERRY_ERROR, "cannot open journal '%s'", path);
        free(aside);
    }
    if (rc == FERRY_OK)
        rc = open_reader(j, path);
    free(path);
    return rc;
}

/* Our owner lock: held (flock) until the process ends, however it ends. */
static int take_owner_lock(ferry__journal *j)
{
    char *dir = ferry__strfmt("%s/owners", j->dir);

    if (!dir || ferry__mkdir_p(dir, 0700) < 0) {
        free(dir);
        return ferry__error(FERRY_EOS, "create '%s/owners': %s", j->dir, strerror(errno));
    }
    j->owner_path = ferry__strfmt("%s/%ld.lock", dir, (long)getpid());
    free(dir);
    if (!j->owner_path)
        return FERRY_ENOMEM;
    j->owner_fd = open(j->owner_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (j->owner_fd < 0 || flock(j->owner_fd, LOCK_EX | LOCK_NB) < 0)
        return ferry__error_os(FERRY_EOS, errno, "lock '%s'", j->owner_path);
    return FERRY_OK;
}

/* True when owner pid's lock is free (or gone): that process is dead. */
static bool owner_dead(ferry__journal *j, long pid)
{
    char *path;
    int fd;
    bool dead = true;

    if (pid == (long)getpid())
        return false;
    if (!(path = ferry__strfmt("%s/owners/%ld.lock", j->dir, pid)))
        return false;
    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
        dead = flock(fd, LOCK_EX | LOCK_NB) == 0;
        if (dead)
            unlink(path);
        close(fd);
    }
    free(path);
    return dead;
}

/*
 * Finds the jobs of dead owners (state still running or queued). They are
 * not marked yet: the manager first sweeps their temp files, then calls
 * ferry__journal_mark_interrupted. A process killed in between leaves them
 * as they were, and the next open sweeps and marks them again; marking
 * first would leave their temps behind for good.
 */
static void recover(ferry__journal *j)
{
    sqlite3_stmt *st = NULL;
    char **ids = NULL;
    size_t n = 0, cap = 0;

    sqlite3_prepare_v2(j->db, "SELECT id, owner FROM jobs WHERE state IN ('running','queued')",
                       -1, &st, NULL);
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        if (!owner_dead(j, (long)sqlite3_column_int64(st, 1)))
            continue;
        if (ferry__grow(&ids, &cap, n + 1, sizeof(char *), 8))
            break;
        if ((ids[n] = strdup(id)))
            n++;
    }
    sqlite3_finalize(st);
    j->interrupted = ids;
    j->ninterrupted = n;
}

/*
 * The counters of a dead process's job, from the results it journalled in
 * its last run (at or after started_at): its files committed, not the
 * counters of its last state change (0/48 after a kill -9 with 12 done).
 */
#define RESULTS_OF(state, what)                                                                    \
    "(SELECT COALESCE(SUM(" what "),0) FROM files WHERE job_id=jobs.id AND state" state            \
    " AND at>=COALESCE(jobs.started_at,0))"

void ferry__journal_mark_interrupted(ferry__journal *j)
{
    sqlite3_stmt *up = NULL;

    pthread_mutex_lock(&j->lock);
    /* clang-format off */
    sqlite3_prepare_v2(j->db,
                       "UPDATE jobs SET state='interrupted', finished_at=?2,"
                       " files_done=" RESULTS_OF("='done'", "COALESCE(n,1)") ","
                       " files_skipped=" RESULTS_OF("='skipped'", "COALESCE(n,1)") ","
                       " files_failed=" RESULTS_OF("='failed'", "COALESCE(n,1)") ","
                       " bytes_done=" RESULTS_OF(" IN ('done','skipped')", "bytes") ","
                       " bytes_skipped=" RESULTS_OF("='skipped'", "bytes")
                       " WHERE id=?1 AND state IN ('running','queued')",
                       -1, &up, NULL);
    /* clang-format on */
    for (size_t i = 0; up && i < j->ninterrupted; i++) {
        sqlite3_bind_text(up, 1, j->interrupted[i], -1, SQLITE_STATIC);
        sqlite3_bind_int64(up, 2, now_ms());
        sqlite3_step(up);
        sqlite3_reset(up);
    }
    sqlite3_finalize(up);
    pthread_mutex_unlock(&j->lock);
}

/* --- the writer thread --------------------------------------------------- */

static void write_state(ferry__journal *j, const ferry_event *ev)
{
    static const char sql[] =
        "UPDATE jobs SET state=?2, error=COALESCE(?3, error),"
        " started_at=CASE WHEN ?2='running' THEN ?4 ELSE started_at END,"
        " finished_at=CASE WHEN ?2 IN ('done','failed','cancelled') THEN ?4 ELSE finished_at END"
        " WHERE id=?1";
    sqlite3_stmt *st;

    if (sqlite3_prepare_v2(j->db, sql, -1, &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_text(st, 1, ev->job_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, ferry_job_state_name((ferry_job_state)ev->state), -1, SQLITE_STATIC);
    if (ev->message)
        sqlite3_bind_text(st, 3, ev->message, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (int64_t)(ev->time_ns / FERRY_NS_PER_MS));
    sqlite3_step(st);
    sqlite3_finalize(st);
}

static void write_counters(ferry__journal *j, const char *id)
{
    static const char sql[] =
        "UPDATE jobs SET bytes_total=?2, bytes_done=?3, files_total=?4, files_done=?5,"
        " files_skipped=?6, files_failed=?7, cancel_latency_us=?8, bytes_skipped=?9 WHERE id=?1";
    ferry_progress p;
    sqlite3_stmt *st;

    if (!j->progress || !j->progress(j->progress_arg, id, &p))
        return;
    if (sqlite3_prepare_v2(j->db, sql, -1, &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)p.bytes_total);
    sqlite3_bind_int64(st, 3, (int64_t)p.bytes_done);
    sqlite3_bind_int64(st, 4, (int64_t)p.files_total);
    sqlite3_bind_int64(st, 5, (int64_t)p.files_done);
    sqlite3_bind_int64(st, 6, (int64_t)p.files_skipped);
    sqlite3_bind_int64(st, 7, (int64_t)p.files_failed);
    if (p.cancel_latency_us >= 0)
        sqlite3_bind_int64(st, 8, p.cancel_latency_us);
    sqlite3_bind_int64(st, 9, (int64_t)p.bytes_skipped);
    sqlite3_step(st);
    sqlite3_finalize(st);
}

/* The statements of one batch. */
typedef struct {
    sqlite3_stmt *row;  /* one result, one row */
    sqlite3_stmt *pack; /* a pack of results, one row */
} inserts;

/* One result, one row (every column bound: the statement is reused). */
static void write_file(sqlite3_stmt *st, const ferry_event *ev)
{
    sqlite3_bind_text(st, 1, ev->job_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, ev->path ? ev->path : "", -1, SQLITE_STATIC);
    if (ev->dest)
        sqlite3_bind_text(st, 3, ev->dest, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 3);
    sqlite3_bind_text(st, 4, ferry_file_result_name(ev->result), -1, SQLITE_STATIC);
    if (ev->message)
        sqlite3_bind_text(st, 5, ev->message, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 5);
    sqlite3_bind_int64(st, 6, (int64_t)ev->bytes);
    sqlite3_bind_int64(st, 7, (int64_t)(ev->time_ns / FERRY_NS_PER_MS));
    sqlite3_step(st);
    sqlite3_reset(st);
}

static void write_pack(sqlite3_stmt *st, ferry__pack *p, const char *job_id, int result)
{
    sqlite3_bind_text(st, 1, job_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, ferry_file_result_name(result), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (int64_t)p->bytes);
    sqlite3_bind_int64(st, 4, p->first_at);
    sqlite3_bind_int64(st, 5, (int64_t)p->n);
    sqlite3_bind_blob(st, 6, p->data, (int)p->len, SQLITE_STATIC);
    sqlite3_step(st);
    sqlite3_reset(st);
    ferry__pack_clear(p);
}

/*
 * Writes evs[0..n), results of one job with one state, in their order: a
 * lone one as a row of its own, more as packs of up to JOURNAL_PACK_BYTES.
 */
static void write_run(ferry__journal *j, const inserts *ins, ferry_event **evs, size_t n)
{
    ferry__pack *p = &j->pack;

    if (n == 1) {
        write_file(ins->row, evs[0]);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const ferry_event *ev = evs[i];
        if (ferry__pack_add(p, ev->path ? ev->path : "", ev->dest, ev->message, ev->bytes,
                            (int64_t)(ev->time_ns / FERRY_NS_PER_MS)) != FERRY_OK) {
            if (p->n)
                write_pack(ins->pack, p, evs[0]->job_id, evs[0]->result);
            write_file(ins->row, ev); /* out of memory: one row still says it */
            continue;
        }
        if (p->len >= JOURNAL_PACK_BYTES || i + 1 == n)
            write_pack(ins->pack, p, evs[0]->job_id, evs[0]->result);
    }
}

static bool same_run(const ferry_event *a, const ferry_event *b)
{
    return b->type == FERRY_EVENT_FILE && a->result == b->result && !strcmp(a->job_id, b->job_id);
}

/* Writes a batch of events in one transaction, in their order, then frees them. */
static void write_batch(ferry__journal *j, ferry_event **evs, size_t n)
{
    inserts ins = {NULL, NULL};

    if (n == 0)
        return;
    pthread_mutex_lock(&j->lock);
    sqlite3_exec(j->db, "BEGIN", NULL, NULL, NULL);
    sqlite3_prepare_v2(j->db,
                       "INSERT INTO files(job_id,path,dest,state,error,bytes,at)"
                       " VALUES(?1,?2,?3,?4,?5,?6,?7)",
                       -1, &ins.row, NULL);
    sqlite3_prepare_v2(j->db,
                       "INSERT INTO files(job_id,path,state,bytes,at,n,pack)"
                       " VALUES(?1,'',?2,?3,?4,?5,?6)",
                       -1, &ins.pack, NULL);
    for (size_t i = 0, k; i < n; i = k) {
        ferry_event *ev = evs[i];
        k = i + 1;
        if (ev->type == FERRY_EVENT_FILE) {
            while (k < n && same_run(ev, evs[k]))
                k++;
            if (ins.row && ins.pack)
                write_run(j, &ins, evs + i, k - i);
            /* Totals and counts as they stand, not only at state changes. */
            if (k == n || strcmp(evs[k]->job_id, ev->job_id))
                write_counters(j, ev->job_id);
            continue;
        }
        if (ev->type == FERRY_EVENT_STATE)
            write_state(j, ev);
        if (ev->type == FERRY_EVENT_STATE || ev->type == FERRY_EVENT_END)
            write_counters(j, ev->job_id);
    }
    sqlite3_finalize(ins.row);
    sqlite3_finalize(ins.pack);
    if (sqlite3_exec(j->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_unlock(&j->lock);
    for (size_t i = 0; i < n; i++)
        ferry_event_free(evs[i]);
}

/*
 * Takes what is queued, up to JOURNAL_BATCH events (waiting up to
 * JOURNAL_WAIT_MS for the first), and writes it; returns how many.
 */
static size_t drain(ferry__journal *j, ferry_event **buf, int wait_ms)
{
    size_t n = 0;
    uint64_t deadline = ferry__now_ns() + JOURNAL_WAIT_MS * FERRY_NS_PER_MS;
    ferry_event *ev;

    pthread_mutex_lock(&j->drain_lock);
    while (n < JOURNAL_BATCH && ferry_sub_next(j->sub, &ev, wait_ms) == FERRY_OK) {
        buf[n++] = ev;
        if (wait_ms > 0) { /* once the deadline has passed, take what is queued, no clock */
            uint64_t now = ferry__now_ns();
            wait_ms = now < deadline ? (int)((deadline - now) / FERRY_NS_PER_MS) : 0;
        }
    }
    write_batch(j, buf, n);
    pthread_mutex_unlock(&j->drain_lock);
    return n;
}

/* Writes everything queued, however many batches that takes. */
static void drain_all(ferry__journal *j, ferry_event **buf)
{
    while (drain(j, buf, 0) == JOURNAL_BATCH)
        ;
}

static void *writer_main(void *arg)
{
    ferry__journal *j = arg;
    ferry_event **buf = malloc(JOURNAL_BATCH * sizeof(*buf));

    pthread_setname_np(pthread_self(), "ferry-journal");
    if (!buf)
        return NULL;
    /* A pass that found nothing: no job is writing, so sleep until an event
     * comes instead of every JOURNAL_WAIT_MS (an idle daemon woke ten times a
     * second for nothing); not under drain_lock, which a flush takes. */
    for (bool idle = false; !atomic_load(&j->stop);) {
        if (idle)
            ferry__sub_wait(j->sub);
        idle = drain(j, buf, JOURNAL_WAIT_MS) == 0;
    }
    drain_all(j, buf);
    free(buf);
    return NULL;
}

void ferry__journal_flush(ferry__journal *j)
{
    ferry_event **buf = malloc(JOURNAL_BATCH * sizeof(*buf));

    if (buf)
        drain_all(j, buf);
    free(buf);
}

int ferry__journal_open(ferry__journal **out, const char *dir, ferry_bus *bus,
                        ferry__progress_fn progress, void *arg, char **notice)
{
    ferry__journal *j = calloc(1, sizeof(*j));
    int rc, err;

    *notice = NULL;
    if (!j || !(j->dir = strdup(dir))) {
        free(j);
        return ferry__error(FERRY_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&j->lock, NULL);
    pthread_mutex_init(&j->drain_lock, NULL);
    pthread_mutex_init(&j->rlock, NULL);
    j->owner_fd = -1;
    j->bus = bus;
    j->progress = progress;
    j->progress_arg = arg;
    if ((err = ferry__mkdir_p(dir, 0700)) < 0) {
        rc = ferry__error_os(FERRY_EOS, -err, "create state directory '%s'", dir);
        goto fail;
    }
    if ((rc = open_db(j, notice)) || (rc = take_owner_lock(j)))
        goto fail;
    recover(j);
    if ((rc = ferry_bus_subscribe(bus, &j->sub, NULL, NULL)))
        goto fail;
    ferry_sub_lazy_files(j->sub, true); /* results wait for the next group commit */
    if (pthread_create(&j->writer, NULL, writer_main, j) != 0) {
        rc = ferry__error(FERRY_EOS, "cannot start the journal thread");
        goto fail;
    }
    *out = j;
    return FERRY_OK;
fail:
    if (j->sub)
        ferry_bus_unsubscribe(bus, j->sub);
    j->sub = NULL;
    ferry__journal_close(j);
    return rc;
}

void ferry__journal_close(ferry__journal *j)
{
    if (!j)
        return;
    if (j->sub) {
        atomic_store(&j->stop, true);
        ferry__sub_interrupt(j->sub); /* its group-commit wait ends now, not in 100 ms */
        pthread_join(j->writer, NULL);
        ferry_bus_unsubscribe(j->bus, j->sub);
    }
    ferry__pack_release(&j->pack);
    if (j->rdb)
        sqlite3_close(j->rdb);
    if (j->db)
        sqlite3_close(j->db);
    if (j->owner_fd >= 0) {
        unlink(j->owner_path);
        close(j->owner_fd);
    }
    for (size_t i = 0; i < j->ninterrupted; i++)
        free(j->interrupted[i]);
    free(j->interrupted);
    free(j->owner_path);
    free(j->dir);
    pthread_mutex_destroy(&j->lock);
    pthread_mutex_destroy(&j->drain_lock);
    pthread_mutex_destroy(&j->rlock);
    free(j);
}

char **ferry__journal_interrupted(ferry__journal *j, size_t *n)
{
    *n = j->ninterrupted;
    return j->interrupted;
}

/* --- synchronous calls --------------------------------------------------- */

int ferry__journal_add(ferry__journal *j, const char *id, const char *tag, const char *spec_json,
                       ferry_job_state state, int64_t created_at)
{
    sqlite3_stmt *st = NULL;
    int rc = FERRY_OK;

    pthread_mutex_lock(&j->lock);
    if (sqlite3_prepare_v2(j->db,
                           "INSERT INTO jobs(id,state,tag,spec,owner,created_at)"
                           " VALUES(?1,?2,?3,?4,?5,?6)",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = db_error(j, "add job");
        goto out;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, ferry_job_state_name(state), -1, SQLITE_STATIC);
    if (tag)
        sqlite3_bind_text(st, 3, tag, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, spec_json, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, (int64_t)getpid());
    sqlite3_bind_int64(st, 6, created_at);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = db_error(j, "add job");
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&j->lock);
    return rc;
}

int ferry__journal_set_state(ferry__journal *j, const char *id, ferry_job_state state)
{
    sqlite3_stmt *st = NULL;
    int rc = FERRY_OK;

    pthread_mutex_lock(&j->lock);
    if (sqlite3_prepare_v2(j->db,
                           "UPDATE jobs SET state=?2, owner=?3, finished_at=NULL, error=NULL,"
                           " cancel_latency_us=NULL WHERE id=?1",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = db_error(j, "update job");
        goto out;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, ferry_job_state_name(state), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (int64_t)getpid());
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = db_error(j, "update job");
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&j->lock);
    return rc;
}

static ferry_job_state state_of_name(const char *s)
{
    for (int i = FERRY_JOB_QUEUED; i <= FERRY_JOB_INTERRUPTED; i++)
        if (s && !strcmp(s, ferry_job_state_name((ferry_job_state)i)))
            return (ferry_job_state)i;
    return FERRY_JOB_INTERRUPTED;
}

int ferry__journal_spec(ferry__journal *j, const char *id, char **out, ferry_job_state *state)
{
    sqlite3_stmt *st = NULL;
    int rc;

    pthread_mutex_lock(&j->rlock);
    sqlite3_prepare_v2(j->rdb, "SELECT spec, state FROM jobs WHERE id=?1", -1, &st, NULL);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (st && sqlite3_step(st) == SQLITE_ROW) {
        *out = strdup((const char *)sqlite3_column_text(st, 0));
        *state = state_of_name((const char *)sqlite3_column_text(st, 1));
        rc = *out ? FERRY_OK : FERRY_ENOMEM;
    } else {
        rc = ferry__error(FERRY_ENOTFOUND, "no job '%s'", id);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&j->rlock);
    return rc;
}

static char *col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? strdup((const char *)t) : NULL;
}

/* Fills info from a jobs row (columns in the order of list_sql). */
static void info_of_row(ferry_job_info *in, sqlite3_stmt *st)
{
    json_t *spec, *srcs;

    memset(in, 0, sizeof(*in));
    snprintf(in->id, sizeof(in->id), "%s", (const char *)sqlite3_column_text(st, 0));
    in->state = state_of_name((const char *)sqlite3_column_text(st, 1));
    in->tag = col_dup(st, 2);
    spec = json_loads((const char *)sqlite3_column_text(st, 3), 0, NULL);
    srcs = json_object_get(spec, "sources");
    in->dest = json_string_value(json_object_get(spec, "dest"))
                   ? strdup(json_string_value(json_object_get(spec, "dest")))
                   : NULL;
    if (json_is_array(srcs) && (in->sources = calloc(json_array_size(srcs) + 1, sizeof(char *)))) {
        for (size_t k = 0; k < json_array_size(srcs); k++)
            if ((in->sources[in->nsources] = strdup(json_string_value(json_array_get(srcs, k)) ?: "")))
                in->nsources++;
    }
    json_decref(spec);
    in->created_at = sqlite3_column_int64(st, 4);
    in->started_at = sqlite3_column_int64(st, 5);
    in->finished_at = sqlite3_column_int64(st, 6);
    in->bytes_total = (uint64_t)sqlite3_column_int64(st, 7);
    in->bytes_done = (uint64_t)sqlite3_column_int64(st, 8);
    in->files_total = (uint64_t)sqlite3_column_int64(st, 9);
    in->files_done = (uint64_t)sqlite3_column_int64(st, 10);
    in->files_skipped = (uint64_t)sqlite3_column_int64(st, 11);
    in->files_failed = (uint64_t)sqlite3_column_int64(st, 12);
    in->error = col_dup(st, 13);
    in->cancel_latency_us =
        sqlite3_column_type(st, 14) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 14);
    in->bytes_skipped = (uint64_t)sqlite3_column_int64(st, 15);
    in->bytes_copied = in->bytes_done > in->bytes_skipped ? in->bytes_done - in->bytes_skipped : 0;
    uint64_t accounted = in->files_done + in->files_skipped + in->files_failed;
    if (in->state != FERRY_JOB_QUEUED && in->state != FERRY_JOB_RUNNING &&
        in->files_total > accounted)
        in->files_not_attempted = in->files_total - accounted;
}

int ferry__journal_list(ferry__journal *j, const char *id, const char *state, const char *tag,
                        ferry_job_info **out, size_t *n)
{
    static const char list_sql[] =
        "SELECT id,state,tag,spec,created_at,started_at,finished_at,bytes_total,bytes_done,"
        "files_total,files_done,files_skipped,files_failed,error,cancel_latency_us,bytes_skipped "
        "FROM jobs"
        " WHERE (?1 IS NULL OR state=?1) AND (?2 IS NULL OR tag=?2) AND (?3 IS NULL OR id=?3)"
        " ORDER BY created_at DESC, rowid DESC";
    sqlite3_stmt *st = NULL;
    ferry_job_info *v = NULL;
    size_t cap = 0;

    *n = 0;
    pthread_mutex_lock(&j->rlock);
    if (sqlite3_prepare_v2(j->rdb, list_sql, -1, &st, NULL) != SQLITE_OK) {
        int rc = conn_error(j, j->rdb, "list jobs");
        pthread_mutex_unlock(&j->rlock);
        return rc;
    }
    if (state)
        sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
    if (tag)
        sqlite3_bind_text(st, 2, tag, -1, SQLITE_STATIC);
    if (id)
        sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (ferry__grow(&v, &cap, *n + 1, sizeof(*v), 16))
            break;
        info_of_row(&v[(*n)++], st);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&j->rlock);
    *out = v;
    return FERRY_OK;
}

static ferry_file_result result_of_name(const char *r)
{
    return !r                      ? FERRY_FILE_FAILED
           : !strcmp(r, "done")    ? FERRY_FILE_DONE
           : !strcmp(r, "skipped") ? FERRY_FILE_SKIPPED
                                   : FERRY_FILE_FAILED;
}

/* Appends one result to *v; -1 when out of memory. */
static int add_file(ferry_file_info **v, size_t *n, size_t *cap, const char *path, const char *dest,
                    const char *error, uint64_t bytes, ferry_file_result result)
{
    ferry_file_info *f;

    if (ferry__grow(v, cap, *n + 1, sizeof(**v), 64))
        return -1;
    f = &(*v)[*n];
    f->path = strdup(path ? path : "");
    f->dest = dest ? strdup(dest) : NULL;
    f->error = error ? strdup(error) : NULL;
    f->bytes = bytes;
    f->result = result;
    if (!f->path || (dest && !f->dest) || (error && !f->error)) {
        free(f->path);
        free(f->dest);
        free(f->error);
        return -1;
    }
    (*n)++;
    return 0;
}

/*
 * Appends the entries of a pack row after skipping *skip of them, until *n
 * reaches want. A damaged pack gives the entries before the damage.
 */
static int add_pack(sqlite3_stmt *st, ferry_file_result result, size_t *skip, size_t want,
                    ferry_file_info **v, size_t *n, size_t *cap)
{
    ferry__pack_reader r;
    ferry__pack_entry e;
    int rc = 0;

    ferry__pack_reader_init(&r, sqlite3_column_blob(st, 6), (size_t)sqlite3_column_bytes(st, 6),
                            sqlite3_column_int64(st, 7));
    while (*n < want && ferry__pack_next(&r, &e) == 1) {
        if (*skip > 0) {
            (*skip)--;
            continue;
        }
        if ((rc = add_file(v, n, cap, e.path, e.dest, e.msg, e.bytes, result)))
            break;
    }
    ferry__pack_reader_release(&r);
    return rc;
}

int ferry__journal_files(ferry__journal *j, const char *id, const char *result, size_t offset,
                         size_t limit, ferry_file_info **out, size_t *n)
{
    static const char sql[] = "SELECT path,dest,state,error,bytes,n,pack,at FROM files"
                              " WHERE job_id=?1 AND (?2 IS NULL OR state=?2) ORDER BY rowid";
    sqlite3_stmt *st = NULL;
    ferry_file_info *v = NULL;
    size_t cap = 0, skip = offset, want = limit ? limit : SIZE_MAX;
    int rc = FERRY_OK;

    *n = 0;
    pthread_mutex_lock(&j->rlock);
    if (sqlite3_prepare_v2(j->rdb, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = conn_error(j, j->rdb, "list files");
        goto out;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (result)
        sqlite3_bind_text(st, 2, result, -1, SQLITE_STATIC);
    while (*n < want && sqlite3_step(st) == SQLITE_ROW) {
        ferry_file_result r = result_of_name((const char *)sqlite3_column_text(st, 2));
        size_t count =
            sqlite3_column_type(st, 6) == SQLITE_NULL ? 1 : (size_t)sqlite3_column_int64(st, 5);
        if (skip >= count) { /* a whole pack skipped without reading it */
            skip -= count;
            continue;
        }
        if (sqlite3_column_type(st, 6) != SQLITE_NULL) {
            if (add_pack(st, r, &skip, want, &v, n, &cap))
                break;
        } else if (add_file(&v, n, &cap, (const char *)sqlite3_column_text(st, 0),
                            (const char *)sqlite3_column_text(st, 1),
                            (const char *)sqlite3_column_text(st, 3),
                            (uint64_t)sqlite3_column_int64(st, 4), r)) {
            break;
        }
    }
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&j->rlock);
    *out = v;
    return rc;
}

int ferry__journal_prune(ferry__journal *j, int64_t older_than_s, unsigned *removed)
{
    int64_t cut = now_ms() - older_than_s * 1000;
    static const char ended[] = "state IN ('done','failed','cancelled','interrupted')"
                                " AND COALESCE(finished_at, created_at) < ?1";
    sqlite3_stmt *st = NULL;
    char *sql;
    int rc = FERRY_OK;

    pthread_mutex_lock(&j->lock);
    sqlite3_exec(j->db, "BEGIN", NULL, NULL, NULL);
    sql = ferry__strfmt("DELETE FROM files WHERE job_id IN (SELECT id FROM jobs WHERE %s)", ended);
    if (sql && sqlite3_prepare_v2(j->db, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, cut);
        sqlite3_step(st);
    }
    sqlite3_finalize(st);
    free(sql);
    sql = ferry__strfmt("DELETE FROM jobs WHERE %s", ended);
    st = NULL;
    if (sql && sqlite3_prepare_v2(j->db, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, cut);
        if (sqlite3_step(st) == SQLITE_DONE)
            *removed = (unsigned)sqlite3_changes(j->db);
        else
            rc = db_error(j, "prune");
    }
    sqlite3_finalize(st);
    free(sql);
    sqlite3_exec(j->db, rc ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL);
    pthread_mutex_unlock(&j->lock);
    return rc;
}
