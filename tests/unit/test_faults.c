/*
 * The fault matrix: every injection point of the copy and commit path, with
 * ENOSPC, EIO, EACCES, EINTR, EDQUOT, each once (transient) and always
 * (persistent), on the O_TMPFILE and the named-temp paths, durable or not.
 * Whatever happens, no file is reported done unless it is complete and
 * identical, nothing partial is visible, no temp is left, a failed file's
 * cause names the errno, and the journal agrees with the events.
 *
 * Needs a build with -DFERRY_FAULTS=ON (the sanitizer build of make test);
 * elsewhere it skips.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ferry/common.h"
#include "ferry/manager.h"
#include "testutil.h"

#ifdef FERRY_FAULTS
#define FIU_ENABLE 1
#include <fiu-control.h>
#include <fiu.h>

static char base[256];


/* 0: identical; 1: differ; -1: dest missing. */
static int compare(const char *a, const char *b)
{
    FILE *fa = fopen(a, "r"), *fb = fopen(b, "r");
    int rc = 0, ca, cb;

    if (!fb) {
        if (fa)
            fclose(fa);
        return -1;
    }
    assert_non_null(fa);
    do {
        ca = fgetc(fa);
        cb = fgetc(fb);
        if (ca != cb)
            rc = 1;
    } while (ca != EOF && cb != EOF && !rc);
    fclose(fa);
    fclose(fb);
    return rc;
}

static const char *names[] = {"big", "a", "b", "c", "d", "e"};
#define NFILES 6

static int setup(void **state)
{
    char path[512];

    (void)state;
    tu_tempdir(base, sizeof(base), "faults");
    snprintf(path, sizeof(path), "%s/src", base);
    assert_int_equal(mkdir(path, 0755), 0);
    for (int i = 0; i < NFILES; i++) {
        snprintf(path, sizeof(path), "%s/src/%s", base, names[i]);
        tu_write_file(path, i == 0 ? 3u << 20 : 65536 + (size_t)i, (unsigned)i + 1);
    }
    fiu_init(0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return tu_remove(base);
}

static void no_temps(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;

    if (!d)
        return;
    while ((de = readdir(d)))
        assert_true(strncmp(de->d_name, ".ferry-tmp-", 11) != 0);
    closedir(d);
}

typedef struct {
    const char *point;
    bool force_rw; /* make copy_file_range refuse, so read/write is used */
} point;

static unsigned runs;

/* One job under one fault; checks every promise. */
static void one(const point *pt, int err, bool once, bool named, bool durable)
{
    char dest[512], state_dir[512], path[512], src[512], id[16];
    const char *sources[1];
    ferry_manager_opts mo;
    ferry_manager *m;
    ferry_job_spec spec;
    ferry_sub *sub;
    ferry_event *ev;
    ferry_job_info info;
    unsigned done = 0, failed = 0;

    snprintf(dest, sizeof(dest), "%s/out-%u", base, runs);
    snprintf(state_dir, sizeof(state_dir), "%s/state", base);
    snprintf(src, sizeof(src), "%s/src", base);
    runs++;
    sources[0] = src;
    ferry_manager_opts_init(&mo);
    mo.state_dir = state_dir;
    assert_int_equal(ferry_manager_open(&m, &mo), FERRY_OK);
    assert_int_equal(ferry_bus_subscribe(ferry_manager_bus(m), &sub, NULL, NULL), FERRY_OK);
    ferry_job_spec_init(&spec);
    spec.sources = sources;
    spec.nsources = 1;
    spec.dest = dest;
    spec.dest_is_dir = true;
    spec.temp_names = named;
    spec.no_fsync = !durable;

    if (pt->force_rw)
        fiu_enable("ferry/cfr", 1, (void *)(intptr_t)EXDEV, 0);
    fiu_enable(pt->point, 1, (void *)(intptr_t)err, once ? FIU_ONETIME : 0);
    assert_int_equal(ferry_manager_submit(m, &spec, id), FERRY_OK);
    if (ferry_manager_wait(m, id, 20000) != FERRY_OK) {
        print_error("hang: point %s errno %s once %d named %d durable %d\n", pt->point,
                    strerror(err), once, named, durable);
        fail();
    }
    fiu_disable(pt->point);
    if (pt->force_rw)
        fiu_disable("ferry/cfr");

    /* Events: every "done" file is complete and identical at its destination. */
    while (ferry_sub_next(sub, &ev, 0) == FERRY_OK) {
        if (ev->type == FERRY_EVENT_FILE && ev->result == FERRY_FILE_DONE) {
            done++;
            assert_int_equal(compare(ev->path, ev->dest), 0);
        } else if (ev->type == FERRY_EVENT_FILE && ev->result == FERRY_FILE_FAILED) {
            /* A directory that could not be made has its own result: not a file. */
            if (!ev->path || strcmp(ev->path, src))
                failed++;
            assert_non_null(ev->message);
            if (!strstr(ev->message, strerror(err))) {
                print_error("point %s errno %s: cause '%s' lacks the errno text\n", pt->point,
                            strerror(err), ev->message);
                fail();
            }
        }
        ferry_event_free(ev);
    }
    /* The disk: whatever is there under a final name is complete. */
    snprintf(path, sizeof(path), "%s/src", dest);
    for (int i = 0; i < NFILES; i++) {
        char a[600], b[600];
        snprintf(a, sizeof(a), "%s/src/%s", base, names[i]);
        snprintf(b, sizeof(b), "%s/%s", path, names[i]);
        int c = compare(a, b);
        assert_true(c == 0 || c == -1);
    }
    no_temps(path);
    no_temps(dest);
    assert_true(done + failed <= NFILES);
    /* The journal agrees. */
    assert_int_equal(ferry_manager_get(m, id, &info), FERRY_OK);
    assert_true(info.state == FERRY_JOB_DONE || info.state == FERRY_JOB_FAILED);
    assert_int_equal(info.files_done, done);
    if (info.state == FERRY_JOB_DONE)
        assert_int_equal(failed, 0);
    ferry_job_info_clear(&info);
    ferry_bus_unsubscribe(ferry_manager_bus(m), sub);
    ferry_manager_close(m);
}

static const point points[] = {
    {"ferry/cfr", false},  {"ferry/read", true},  {"ferry/write", true},
    {"ferry/open", false}, {"ferry/stat", false}, {"ferry/tmpfile", false},
    {"ferry/meta", false}, {"ferry/link", false}, {"ferry/rename", false},
    {"ferry/unlink", false}, {"ferry/mkdir", false}, {"ferry/sync", false},
    {"ferry/close", false}, {"ferry/clone", false},
};

static const int errnos[] = {ENOSPC, EIO, EACCES, EINTR, EDQUOT};

static void test_matrix(void **state)
{
    (void)state;
    for (size_t p = 0; p < sizeof(points) / sizeof(points[0]); p++)
        for (size_t e = 0; e < sizeof(errnos) / sizeof(errnos[0]); e++)
            for (int once = 0; once < 2; once++)
                for (int named = 0; named < 2; named++)
                    one(&points[p], errnos[e], once, named, points[p].point[6] == 's');
    print_message("fault matrix: %u jobs, every promise kept\n", runs);
}

/* Short writes are not errors: the copy completes and is identical. */
static void test_short_writes(void **state)
{
    static const point pt = {"ferry/write_short", true};
    (void)state;
    one(&pt, EIO, false, false, false);
}

/* A transient EINTR/EAGAIN on the data path is retried: the file is done. */
static void test_transient_retried(void **state)
{
    static const point cfr = {"ferry/cfr", false}, rd = {"ferry/read", true};
    (void)state;
    one(&cfr, EAGAIN, true, false, false);
    one(&rd, EAGAIN, true, false, false);
    one(&rd, EINTR, true, false, false);
}

/*
 * Starting writeback can wait for the disk (the block layer's writeback
 * throttle held a copy thread 57 ms here): a cancel must not wait for it.
 * The first kick sleeps 6 s; the copy goes on meanwhile and queues three
 * more ranges; the job is cancelled while the kick sleeps and must end, its
 * copy thread stopped, before the kick returns, and the ranges it queued
 * must be dropped with the temp (their duplicates of its descriptor closed).
 */
static atomic_int kick_state; /* 0: no kick yet; 1: in the slow one; 2: it returned */

static int slow_kick(const char *name, int *failnum, void **failinfo, unsigned int *flags)
{
    int none = 0;

    (void)name;
    (void)failnum;
    (void)failinfo;
    (void)flags;
    if (atomic_compare_exchange_strong(&kick_state, &none, 1)) {
        struct timespec ts = {6, 0};
        nanosleep(&ts, NULL);
        atomic_store(&kick_state, 2);
    }
    return 0; /* then let the call run */
}

/* How many of this process's descriptors are open on a file in dir. */
static unsigned fds_in(const char *dir)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    unsigned n = 0;
    size_t len = strlen(dir);

    assert_non_null(d);
    while ((de = readdir(d))) {
        char link[600], target[600];
        snprintf(link, sizeof(link), "/proc/self/fd/%s", de->d_name);
        ssize_t k = readlink(link, target, sizeof(target) - 1);
        if (k > 0 && (size_t)k > len && !strncmp(target, dir, len) && target[len] == '/')
            n++;
    }
    closedir(d);
    return n;
}

static void test_cancel_while_writeback_waits(void **state)
{
    char src[512], dest[512], state_dir[512], copy[600], id[16];
    const char *sources[1] = {src};
    ferry_manager_opts mo;
    ferry_manager *m;
    ferry_job_spec spec;
    ferry_job_info info;
    int fd;

    (void)state;
    snprintf(src, sizeof(src), "%s/hole-40M", base);
    snprintf(dest, sizeof(dest), "%s/out-kick", base);
    snprintf(state_dir, sizeof(state_dir), "%s/state", base);
    assert_true((fd = open(src, O_WRONLY | O_CREAT | O_TRUNC, 0644)) >= 0);
    /* Allocated, read as zeros, written as data: not a hole, which the copy would skip. */
    assert_int_equal(posix_fallocate(fd, 0, 40 << 20), 0);
    assert_int_equal(close(fd), 0);
    ferry_manager_opts_init(&mo);
    mo.state_dir = state_dir;
    assert_int_equal(ferry_manager_open(&m, &mo), FERRY_OK);
    ferry_job_spec_init(&spec);
    spec.sources = sources;
    spec.nsources = 1;
    spec.dest = dest;
    spec.dest_is_dir = true;
    spec.bwlimit = 16 << 20; /* 2.5 s for the file: kicks at 8, 16, 24 and 32 MiB */

    atomic_store(&kick_state, 0);
    fiu_enable_external("ferry/kick", 1, NULL, 0, slow_kick);
    assert_int_equal(ferry_manager_submit(m, &spec, id), FERRY_OK);
    for (int i = 0; i < 10000 && atomic_load(&kick_state) == 0; i++)
        usleep(1000);
    assert_int_equal(atomic_load(&kick_state), 1);
    for (int i = 0; i < 10000; i++) { /* past the kick at 32 MiB */
        assert_int_equal(ferry_manager_get(m, id, &info), FERRY_OK);
        uint64_t done = info.bytes_done;
        ferry_job_info_clear(&info);
        if (done > 32u << 20)
            break;
        usleep(1000);
    }
    assert_int_equal(atomic_load(&kick_state), 1);
    assert_int_equal(ferry_manager_cancel(m, id), FERRY_OK);
    assert_int_equal(ferry_manager_wait(m, id, 20000), FERRY_OK);
    /* Ended, every copy thread out of the job, while the kick still waits. */
    assert_int_equal(atomic_load(&kick_state), 1);
    /* Open on the temp now: the sleeping kick's duplicate, and perhaps the
     * runner's, about to close it; not the three queued ranges' too. */
    assert_in_range(fds_in(dest), 1, 2);
    assert_int_equal(ferry_manager_get(m, id, &info), FERRY_OK);
    assert_int_equal(info.state, FERRY_JOB_CANCELLED);
    print_message("cancel during a slow writeback start: last copy thread stopped after %lld us\n",
                  (long long)info.cancel_latency_us);
    ferry_job_info_clear(&info);
    fiu_disable("ferry/kick");
    ferry_manager_close(m); /* joins the writeback thread, after its sleep */
    assert_int_equal(atomic_load(&kick_state), 2);
    snprintf(copy, sizeof(copy), "%s/hole-40M", dest);
    assert_int_equal(compare(src, copy), -1);
    no_temps(dest);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cancel_while_writeback_waits),
        cmocka_unit_test(test_short_writes),
        cmocka_unit_test(test_transient_retried),
        cmocka_unit_test(test_matrix),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
#else
static void test_skipped(void **state)
{
    (void)state;
    skip(); /* needs -DFERRY_FAULTS=ON */
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_skipped)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif
