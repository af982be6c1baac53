/*
 * The journal alone, fed through a bus as the manager feeds it: per-file
 * results come back exactly (path, destination, state, cause, size) and in
 * their order, whether they were written as rows or as packs; filters and
 * paging land on every boundary of a pack; a journal of before packs is
 * opened, keeps its rows and takes packs after them; a damaged pack ends its
 * entries without harm; closing writes every queued result, not one group
 * commit's worth; opening checkpoints a big WAL only; job states and
 * counters are written as before.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "core/events_priv.h"
#include "core/journal.h"
#include "core/journal_pack.h"
#include "ferry/common.h"
#include "testutil.h"

static char base[256];

static int setup(void **state)
{
    (void)state;
    tu_tempdir(base, sizeof(base), "journal");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return tu_remove(base);
}

/* What we published, to compare with what the journal gives back. */
typedef struct {
    char path[600], dest[600], msg[400];
    bool has_dest, has_msg;
    int result;
    uint64_t bytes;
} want_file;

static want_file *wants;
/* Read by progress(), which the journal's writer thread calls with each
 * group of results: atomic, set by the main thread as it publishes. */
static _Atomic size_t nwants;

static bool progress(void *arg, const char *id, ferry_progress *out)
{
    (void)arg;
    (void)id;
    memset(out, 0, sizeof(*out));
    out->files_total = nwants;
    out->files_done = 7;
    out->cancel_latency_us = -1;
    return true;
}

static ferry__journal *open_journal(const char *name, ferry_bus **bus)
{
    char dir[400], *note = NULL;
    ferry__journal *j;

    snprintf(dir, sizeof(dir), "%s/%s", base, name);
    assert_int_equal(ferry_bus_new(bus), FERRY_OK);
    assert_int_equal(ferry__journal_open(&j, dir, *bus, progress, NULL, &note), FERRY_OK);
    free(note);
    return j;
}

static void close_journal(ferry__journal *j, ferry_bus *bus)
{
    ferry__journal_close(j);
    ferry_bus_free(bus);
}

static void publish_state(ferry_bus *bus, const char *id, ferry_job_state state)
{
    ferry_event ev = {.type = FERRY_EVENT_STATE, .job_id = (char *)id, .state = state};
    ev.time_ns = 1700000000000000000ull;
    ferry__bus_publish(bus, &ev);
}

/* Publishes count results (and remembers them) with paths under dir. */
static void publish_files(ferry_bus *bus, const char *id, int result, size_t count, const char *dir,
                          bool with_dest, const char *msg)
{
    wants = realloc(wants, (nwants + count) * sizeof(*wants));
    assert_non_null(wants);
    for (size_t i = 0; i < count; i++) {
        want_file *w = &wants[nwants++];
        memset(w, 0, sizeof(*w));
        snprintf(w->path, sizeof(w->path), "%s/f%05zu.exr", dir, nwants);
        snprintf(w->dest, sizeof(w->dest), "/dest/%s/f%05zu.exr", dir, nwants);
        w->has_dest = with_dest;
        w->has_msg = msg != NULL;
        if (msg)
            snprintf(w->msg, sizeof(w->msg), "%s %zu", msg, i);
        w->result = result;
        w->bytes = (uint64_t)nwants * 4099u;
        ferry_event ev = {.type = FERRY_EVENT_FILE, .job_id = (char *)id, .result = result};
        ev.path = w->path;
        ev.dest = with_dest ? w->dest : NULL;
        ev.message = msg ? w->msg : NULL;
        ev.bytes = w->bytes;
        ev.time_ns = 1700000000000000000ull + nwants * 1000000ull;
        ferry__bus_publish(bus, &ev);
    }
}

static void check_file(const ferry_file_info *f, const want_file *w)
{
    assert_string_equal(f->path, w->path);
    if (w->has_dest)
        assert_string_equal(f->dest, w->dest);
    else
        assert_null(f->dest);
    if (w->has_msg)
        assert_string_equal(f->error, w->msg);
    else
        assert_null(f->error);
    assert_int_equal(f->result, w->result);
    assert_int_equal(f->bytes, w->bytes);
}

/* The journal's answer for (result, offset, limit) against the published list. */
static void check_page(ferry__journal *j, const char *id, int result, size_t offset, size_t limit)
{
    ferry_file_info *f;
    size_t n, k = 0, seen = 0;

    assert_int_equal(ferry__journal_files(j, id, result ? ferry_file_result_name(result) : NULL,
                                          offset, limit, &f, &n),
                     FERRY_OK);
    for (size_t i = 0; i < nwants; i++) {
        if (result && wants[i].result != result)
            continue;
        if (seen++ < offset)
            continue;
        if (limit && k == limit)
            break;
        if (k >= n)
            print_message("result %d offset %zu limit %zu: %zu files, more expected\n", result,
                          offset, limit, n);
        assert_true(k < n);
        check_file(&f[k++], &wants[i]);
    }
    assert_int_equal(n, k);
    for (size_t i = 0; i < n; i++) {
        free(f[i].path);
        free(f[i].dest);
        free(f[i].error);
    }
    free(f);
}

/* A job's results, mixed as a real job mixes them, over several group commits. */
static void publish_job(ferry__journal *j, ferry_bus *bus, const char *id)
{
    assert_int_equal(ferry__journal_add(j, id, "tag", "{\"sources\":[\"/src\"],\"dest\":\"/dest\"}",
                                        FERRY_JOB_QUEUED, 1700000000123),
                     FERRY_OK);
    publish_state(bus, id, FERRY_JOB_RUNNING);
    publish_files(bus, id, FERRY_FILE_DONE, 5, "/src/sh010/comp", true, NULL);
    publish_files(bus, id, FERRY_FILE_FAILED, 1, "/src/sh010/comp", true,
                  "read: Input/output error");
    publish_files(bus, id, FERRY_FILE_SKIPPED, 3, "/src/sh010/plate", true, "identical");
    publish_files(bus, id, FERRY_FILE_DONE, 1, "/src/sh010/plate", true, NULL);  /* a lone one */
    publish_files(bus, id, FERRY_FILE_DONE, 2, "/src/sh010/plate", false, NULL); /* no dest */
    ferry__journal_flush(j); /* the next ones in another group commit */
    /* deep paths, then causes of 300 bytes: more than a pack holds (64 KiB) */
    char deep[500];
    memset(deep, 'd', 400);
    deep[0] = '/';
    snprintf(deep + 400, sizeof(deep) - 400, "/sh020");
    publish_files(bus, id, FERRY_FILE_DONE, 1500, deep, true, NULL);
    publish_files(bus, id, FERRY_FILE_DONE, 700, "/src/sh030", true, NULL);
    char cause[301];
    memset(cause, 'c', 300);
    cause[300] = '\0';
    publish_files(bus, id, FERRY_FILE_SKIPPED, 400, "/src/sh040", true, cause);
    publish_files(bus, id, FERRY_FILE_FAILED, 2, "/src/sh030", true, "ENOSPC");
    publish_state(bus, id, FERRY_JOB_FAILED);
    ferry_event end = {.type = FERRY_EVENT_END, .job_id = (char *)id};
    ferry__bus_publish(bus, &end);
}

static void test_results_round_trip(void **state)
{
    ferry_bus *bus;
    ferry__journal *j = open_journal("s1", &bus);
    const int results[] = {0, FERRY_FILE_DONE, FERRY_FILE_SKIPPED, FERRY_FILE_FAILED};
    (void)state;

    nwants = 0;
    publish_job(j, bus, "jround");
    close_journal(j, bus);        /* flushes */
    j = open_journal("s1", &bus); /* and it is all still there */
    for (size_t r = 0; r < 4; r++) {
        check_page(j, "jround", results[r], 0, 0);
        /* every offset around the packs' edges, pages of 1, 7 and 1000 */
        for (size_t off = 0; off < nwants + 2; off += off < 20 ? 1 : 97) {
            check_page(j, "jround", results[r], off, 1);
            check_page(j, "jround", results[r], off, 7);
            check_page(j, "jround", results[r], off, 1000);
        }
    }
    ferry_file_info *none;
    size_t nnone;
    assert_int_equal(ferry__journal_files(j, "nosuchjob", NULL, 0, 0, &none, &nnone), FERRY_OK);
    assert_int_equal(nnone, 0);
    free(none);

    ferry_job_info *in;
    size_t n;
    assert_int_equal(ferry__journal_list(j, "jround", NULL, NULL, &in, &n), FERRY_OK);
    assert_int_equal(n, 1);
    assert_int_equal(in[0].state, FERRY_JOB_FAILED);
    assert_int_equal(in[0].started_at, 1700000000000);
    assert_int_equal(in[0].finished_at, 1700000000000);
    assert_int_equal(in[0].files_total, nwants);
    assert_int_equal(in[0].files_done, 7);
    ferry_job_info_free(in, n);
    close_journal(j, bus);
}

/* Closing writes every queued result, however many group commits that takes. */
static void test_close_writes_everything(void **state)
{
    ferry_bus *bus;
    ferry__journal *j = open_journal("s5", &bus);
    ferry_file_info *f;
    size_t n;
    (void)state;

    nwants = 0;
    assert_int_equal(ferry__journal_add(j, "jmany", NULL, "{}", FERRY_JOB_QUEUED, 1), FERRY_OK);
    /* results do not wake the writer: all 20,000 are queued when it is told to stop */
    publish_files(bus, "jmany", FERRY_FILE_DONE, 20000, "/src/many", true, NULL);
    close_journal(j, bus);
    j = open_journal("s5", &bus);
    assert_int_equal(ferry__journal_files(j, "jmany", NULL, 0, 0, &f, &n), FERRY_OK);
    assert_int_equal(n, 20000);
    for (size_t i = 0; i < n; i++) {
        free(f[i].path);
        free(f[i].dest);
        free(f[i].error);
    }
    free(f);
    check_page(j, "jmany", 0, 19990, 100);
    close_journal(j, bus);
}

static off_t size_of(const char *dir, const char *name)
{
    char path[500];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s/%s", base, dir, name);
    return stat(path, &st) == 0 ? st.st_size : -1;
}

/*
 * Opening checkpoints only a WAL past 4 MiB: a small one stays as it is (no
 * fsync for every command), a big one is folded into the database and the
 * WAL file is cut back to 4 MiB when SQLite starts it over.
 */
static void test_checkpoint_when_wal_is_big(void **state)
{
    ferry_bus *bus;
    ferry__journal *j = open_journal("s6", &bus);
    off_t db0, db1, wal0;
    char cause[1001];
    (void)state;

    nwants = 0;
    assert_int_equal(ferry__journal_add(j, "jwal", NULL, "{}", FERRY_JOB_QUEUED, 1), FERRY_OK);
    publish_files(bus, "jwal", FERRY_FILE_DONE, 1000, "/src/small", true, NULL);
    close_journal(j, bus);
    db0 = size_of("s6", "journal.db");
    wal0 = size_of("s6", "journal.db-wal");
    assert_true(wal0 > 0 && wal0 < (4 << 20));
    j = open_journal("s6", &bus);
    assert_int_equal(size_of("s6", "journal.db"), db0); /* not checkpointed */
    check_page(j, "jwal", 0, 0, 0);

    /* causes do not front-code: 16,000 of ~400 bytes make 6 MB of WAL */
    memset(cause, 'x', 1000);
    cause[1000] = '\0';
    publish_files(bus, "jwal", FERRY_FILE_FAILED, 16000, "/src/big", true, cause);
    close_journal(j, bus);
    assert_true(size_of("s6", "journal.db-wal") > (4 << 20));
    j = open_journal("s6", &bus);
    db1 = size_of("s6", "journal.db");
    assert_true(db1 > db0 + (4 << 20)); /* checkpointed when opened */
    check_page(j, "jwal", 0, 0, 0);
    publish_files(bus, "jwal", FERRY_FILE_DONE, 10, "/src/after", true, NULL);
    ferry__journal_flush(j); /* the first commit after the checkpoint starts the WAL over */
    assert_true(size_of("s6", "journal.db-wal") <= (4 << 20));
    check_page(j, "jwal", 0, 16990, 100);
    close_journal(j, bus);
}

/* The journal packs results: far fewer rows than results, and much smaller. */
static void test_packed_storage(void **state)
{
    char path[400];
    sqlite3 *db;
    sqlite3_stmt *st;
    ferry_bus *bus;
    ferry__journal *j = open_journal("s2", &bus);
    (void)state;

    nwants = 0;
    assert_int_equal(ferry__journal_add(j, "jpack", NULL, "{}", FERRY_JOB_QUEUED, 1), FERRY_OK);
    publish_files(bus, "jpack", FERRY_FILE_DONE, 2000, "/src/shots/sh010/comp/v003", true, NULL);
    close_journal(j, bus);

    snprintf(path, sizeof(path), "%s/s2/journal.db", base);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT count(*), sum(n), sum(length(pack)), sum(bytes)"
                                        " FROM files WHERE job_id='jpack'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    print_message("2,000 results: %d rows, %d packed, %d bytes of packs\n",
                  sqlite3_column_int(st, 0), sqlite3_column_int(st, 1), sqlite3_column_int(st, 2));
    assert_true(sqlite3_column_int(st, 0) <= 4);
    assert_int_equal(sqlite3_column_int(st, 1), 2000);
    assert_true(sqlite3_column_int(st, 2) < 2000 * 24); /* front coding: ~20 bytes a result */
    assert_int_equal(sqlite3_column_int64(st, 3), 4099ll * 2000 * 2001 / 2);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* A journal written before packs: rows without n and pack columns. */
static void test_journal_of_before_packs(void **state)
{
    char dir[400], path[500];
    sqlite3 *db;
    ferry_bus *bus;
    (void)state;

    snprintf(dir, sizeof(dir), "%s/s3", base);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path, sizeof(path), "%s/journal.db", dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db,
                     "PRAGMA journal_mode=WAL;"
                     "CREATE TABLE jobs(id TEXT PRIMARY KEY, state TEXT NOT NULL, tag TEXT,"
                     " spec TEXT NOT NULL, owner INTEGER, created_at INTEGER, started_at INTEGER,"
                     " finished_at INTEGER, bytes_total INTEGER DEFAULT 0,"
                     " bytes_done INTEGER DEFAULT 0, files_total INTEGER DEFAULT 0,"
                     " files_done INTEGER DEFAULT 0, files_skipped INTEGER DEFAULT 0,"
                     " files_failed INTEGER DEFAULT 0, error TEXT, cancel_latency_us INTEGER);"
                     "CREATE TABLE files(job_id TEXT NOT NULL, path TEXT NOT NULL, dest TEXT,"
                     " state TEXT NOT NULL, error TEXT, bytes INTEGER, at INTEGER);"
                     "CREATE INDEX files_job ON files(job_id, state);"
                     "INSERT INTO jobs(id,state,spec,created_at) VALUES('jold','done','{}',1);"
                     "INSERT INTO files VALUES('jold','/old/a','/d/a','done',NULL,4099,1);"
                     "INSERT INTO files VALUES('jold','/old/b','/d/b','failed','EIO',8198,1);",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);

    nwants = 0;
    wants = realloc(wants, 2 * sizeof(*wants));
    memset(wants, 0, 2 * sizeof(*wants));
    snprintf(wants[0].path, sizeof(wants[0].path), "/old/a");
    snprintf(wants[0].dest, sizeof(wants[0].dest), "/d/a");
    wants[0].has_dest = true;
    wants[0].result = FERRY_FILE_DONE;
    wants[0].bytes = 4099;
    wants[1] = wants[0];
    snprintf(wants[1].path, sizeof(wants[1].path), "/old/b");
    snprintf(wants[1].dest, sizeof(wants[1].dest), "/d/b");
    snprintf(wants[1].msg, sizeof(wants[1].msg), "EIO");
    wants[1].has_msg = true;
    wants[1].result = FERRY_FILE_FAILED;
    wants[1].bytes = 8198;
    nwants = 2;

    ferry__journal *j = open_journal("s3", &bus);
    check_page(j, "jold", 0, 0, 0);
    /* the same job id takes packs after its old rows (a resume does that) */
    publish_files(bus, "jold", FERRY_FILE_DONE, 50, "/old/more", true, NULL);
    ferry__journal_flush(j);
    for (size_t off = 0; off < 53; off++)
        check_page(j, "jold", 0, off, 5);
    check_page(j, "jold", FERRY_FILE_FAILED, 0, 0);
    close_journal(j, bus);
}

/* Packs alone: what goes in comes out, entry by entry, times too. */
static void test_pack_codec(void **state)
{
    ferry__pack p;
    ferry__pack_reader r;
    ferry__pack_entry e;
    const char *paths[] = {"/a/b/c1", "/a/b/c2", "/a/x", "/a/x/longer/than/before", "", "/a/b/c1"};
    const char *dests[] = {"/d/b/c1", NULL, "/d/x", "/d/x/longer/than/before", "/e", "/d/b/c1"};
    const char *msgs[] = {NULL, "why", NULL, "", NULL, "again"};
    const int64_t ats[] = {1000, 1003, 999, 999, 5000, 0};
    (void)state;

    ferry__pack_init(&p);
    for (int round = 0; round < 2; round++) { /* the second after a clear */
        for (int i = 0; i < 6; i++)
            assert_int_equal(
                ferry__pack_add(&p, paths[i], dests[i], msgs[i], (uint64_t)i << 40, ats[i]),
                FERRY_OK);
        assert_int_equal(p.n, 6);
        assert_int_equal(p.first_at, 1000);
        ferry__pack_reader_init(&r, p.data, p.len, p.first_at);
        for (int i = 0; i < 6; i++) {
            assert_int_equal(ferry__pack_next(&r, &e), 1);
            assert_string_equal(e.path, paths[i]);
            if (dests[i])
                assert_string_equal(e.dest, dests[i]);
            else
                assert_null(e.dest);
            if (msgs[i])
                assert_string_equal(e.msg, msgs[i]);
            else
                assert_null(e.msg);
            assert_int_equal(e.bytes, (uint64_t)i << 40);
            assert_int_equal(e.at_ms, ats[i]);
        }
        assert_int_equal(ferry__pack_next(&r, &e), 0);
        assert_int_equal(ferry__pack_next(&r, &e), 0);
        ferry__pack_reader_release(&r);

        /* every truncation and every flipped byte: entries stop, nothing breaks */
        unsigned char *copy = malloc(p.len);
        assert_non_null(copy);
        for (size_t cut = 0; cut < p.len; cut++) {
            int k = 0, rc;
            ferry__pack_reader_init(&r, p.data, cut, 0);
            while ((rc = ferry__pack_next(&r, &e)) == 1)
                k++;
            assert_true(k < 6 || cut == p.len);
            ferry__pack_reader_release(&r);
        }
        for (size_t at = 0; at < p.len; at++) {
            for (int bit = 0; bit < 8; bit++) {
                memcpy(copy, p.data, p.len);
                copy[at] ^= (unsigned char)(1u << bit);
                ferry__pack_reader_init(&r, copy, p.len, 0);
                for (int k = 0; k < 100 && ferry__pack_next(&r, &e) == 1; k++)
                    assert_non_null(e.path);
                ferry__pack_reader_release(&r);
            }
        }
        free(copy);
        ferry__pack_clear(&p);
        assert_int_equal(p.n, 0);
    }
    ferry__pack_release(&p);

    ferry__pack_reader_init(&r, "\x02", 1, 0); /* a format of the future */
    assert_int_equal(ferry__pack_next(&r, &e), -1);
    ferry__pack_reader_release(&r);
}

/* A damaged pack in the journal: its entries up to the damage, the rows around it intact. */
static void test_damaged_pack_in_journal(void **state)
{
    char path[400];
    sqlite3 *db;
    ferry_bus *bus;
    ferry__journal *j = open_journal("s4", &bus);
    ferry_file_info *f;
    size_t n;
    (void)state;

    nwants = 0;
    assert_int_equal(ferry__journal_add(j, "jdmg", NULL, "{}", FERRY_JOB_QUEUED, 1), FERRY_OK);
    publish_files(bus, "jdmg", FERRY_FILE_DONE, 10, "/src/a", true, NULL);
    ferry__journal_flush(j);
    publish_files(bus, "jdmg", FERRY_FILE_FAILED, 1, "/src/b", true, "EIO");
    ferry__journal_flush(j);
    publish_files(bus, "jdmg", FERRY_FILE_DONE, 10, "/src/c", true, NULL);
    close_journal(j, bus);

    snprintf(path, sizeof(path), "%s/s4/journal.db", base);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "UPDATE files SET pack=substr(pack,1,length(pack)/2)"
                                  " WHERE rowid=(SELECT min(rowid) FROM files WHERE n>1)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);

    j = open_journal("s4", &bus);
    assert_int_equal(ferry__journal_files(j, "jdmg", NULL, 0, 0, &f, &n), FERRY_OK);
    assert_true(n >= 11 && n < 21);
    for (size_t i = 0; i < n; i++) {
        if (i < n - 11)
            check_file(&f[i], &wants[i]); /* the damaged pack's entries before the damage */
        else
            check_file(&f[i], &wants[i - n + 21]); /* and every row after it */
        free(f[i].path);
        free(f[i].dest);
        free(f[i].error);
    }
    free(f);
    close_journal(j, bus);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_results_round_trip),
        cmocka_unit_test(test_packed_storage),
        cmocka_unit_test(test_journal_of_before_packs),
        cmocka_unit_test(test_pack_codec),
        cmocka_unit_test(test_damaged_pack_in_journal),
        cmocka_unit_test(test_close_writes_everything),
        cmocka_unit_test(test_checkpoint_when_wal_is_big),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    free(wants);
    return rc;
}
