/*
 * Jobs through the public API, on real files: cancels at many random points
 * (inside bandwidth pauses, at chunk boundaries, inside copy_file_range calls,
 * during the walk and the group commit), on both temp paths, durable or not.
 * After every cancel: the job is cancelled, every file under a final name is
 * complete and identical, no temp remains, and the cancel latency is known.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
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
#include "ferry/job.h"
#include "testutil.h"

static char base[256], src[300];

static int setup(void **state)
{
    char p[400];
    (void)state;
    tu_tempdir(base, sizeof(base), "copyjob");
    snprintf(src, sizeof(src), "%s/src", base);
    mkdir(src, 0755);
    snprintf(p, sizeof(p), "%s/big.plate", src);
    tu_write_file(p, 24u << 20, 1);
    snprintf(p, sizeof(p), "%s/frames", src);
    mkdir(p, 0755);
    for (int i = 0; i < 60; i++) {
        snprintf(p, sizeof(p), "%s/frames/sh010.%04d.exr", src, 1001 + i);
        tu_write_file(p, 40000 + (size_t)i * 1000, (unsigned)i + 7);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return tu_remove(base);
}

static bool same(const char *a, const char *b)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s'", a, b);
    return system(cmd) == 0;
}

/* Every regular file under dest mirrors src; no temp anywhere. Returns the count. */
static int check_tree(const char *dest_root, const char *src_root)
{
    DIR *d = opendir(dest_root);
    struct dirent *de;
    int n = 0;

    if (!d)
        return 0;
    while ((de = readdir(d))) {
        char a[1024], b[1024];
        struct stat st;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        assert_true(strncmp(de->d_name, ".ferry-tmp-", 11) != 0);
        snprintf(a, sizeof(a), "%s/%s", dest_root, de->d_name);
        snprintf(b, sizeof(b), "%s/%s", src_root, de->d_name);
        assert_int_equal(lstat(a, &st), 0);
        if (S_ISDIR(st.st_mode)) {
            n += check_tree(a, b);
        } else {
            if (!same(a, b)) {
                print_error("'%s' is under its final name but differs from its source\n", a);
                fail();
            }
            n++;
        }
    }
    closedir(d);
    return n;
}

typedef struct {
    ferry_job *job;
    unsigned delay_us;
} canceller;

static void *cancel_later(void *arg)
{
    canceller *c = arg;
    struct timespec ts = {(time_t)(c->delay_us / 1000000), (long)(c->delay_us % 1000000) * 1000};
    nanosleep(&ts, NULL);
    ferry_job_cancel(c->job);
    return NULL;
}

static ferry_job *new_job(const char *dest, uint64_t bw, bool named, bool nofsync, ferry_bus *bus)
{
    const char *srcs[1] = {src};
    ferry_job_spec spec;
    ferry_job *job;

    ferry_job_spec_init(&spec);
    spec.sources = srcs;
    spec.nsources = 1;
    spec.dest = dest;
    spec.dest_is_dir = true;
    spec.bwlimit = bw;
    spec.temp_names = named;
    spec.no_fsync = nofsync;
    assert_int_equal(ferry_job_new(&job, &spec, bus), FERRY_OK);
    return job;
}

static void test_cancel_at_random_points(void **state)
{
    unsigned seed = 12345, cancelled = 0, total_files = 0;
    int64_t worst = 0;
    (void)state;

    for (int i = 0; i < 48; i++) {
        char dest[300], sub[400];
        bool limited = i % 2 == 0;
        canceller c;
        pthread_t th;
        int *fds;

        snprintf(dest, sizeof(dest), "%s/out%d", base, i);
        c.job = new_job(dest, limited ? 150u << 20 : 0, i % 4 >= 2, i % 3 == 0, NULL);
        c.delay_us = (unsigned)(rand_r(&seed) % (limited ? 150000 : 60000));
        assert_int_equal(ferry_job_start(c.job), FERRY_OK);
        pthread_create(&th, NULL, cancel_later, &c);
        assert_int_equal(ferry_job_wait(c.job, 60000), FERRY_OK);
        pthread_join(th, NULL);

        ferry_progress p;
        ferry_job_progress(c.job, &p);
        if (p.state == FERRY_JOB_CANCELLED) {
            cancelled++;
            assert_true(p.cancel_latency_us >= 0);
            if (p.cancel_latency_us > worst)
                worst = p.cancel_latency_us;
            assert_int_equal(ferry_job_cancel(c.job), FERRY_OK); /* again: same state */
        } else {
            assert_int_equal(p.state, FERRY_JOB_DONE);
            assert_int_equal(ferry_job_cancel(c.job), FERRY_EENDED);
        }
        snprintf(sub, sizeof(sub), "%s/src", dest);
        int n = check_tree(sub, src);
        check_tree(dest, base); /* no temp at the top either */
        assert_int_equal((uint64_t)n, p.files_done);
        total_files += (unsigned)n;
        size_t k = ferry_job_take_discards(c.job, &fds);
        for (size_t j = 0; j < k; j++)
            close(fds[j]);
        free(fds);
        ferry_job_free(c.job);
    }
    print_message("48 jobs: %u cancelled mid-copy, %u complete files kept, worst cancel latency "
                  "%lld us\n",
                  cancelled, total_files, (long long)worst);
    assert_true(cancelled >= 24);
}

static void test_queued_job_never_starts(void **state)
{
    char dest[300];
    ferry_bus *bus;
    ferry_sub *sub;
    ferry_event *ev;
    ferry_job *job;
    bool saw_running = false, saw_end = false;
    (void)state;

    snprintf(dest, sizeof(dest), "%s/queued", base);
    ferry_bus_new(&bus);
    ferry_bus_subscribe(bus, &sub, NULL, NULL);
    job = new_job(dest, 0, false, true, bus);
    assert_int_equal(ferry_job_cancel(job), FERRY_OK);
    assert_int_equal(ferry_job_get_state(job), FERRY_JOB_CANCELLED);
    assert_int_equal(ferry_job_start(job), FERRY_OK);
    assert_int_equal(ferry_job_wait(job, 5000), FERRY_OK);
    while (ferry_sub_next(sub, &ev, 0) == FERRY_OK) {
        saw_running |= ev->type == FERRY_EVENT_STATE && ev->state == FERRY_JOB_RUNNING;
        saw_end |= ev->type == FERRY_EVENT_END;
        ferry_event_free(ev);
    }
    assert_false(saw_running);
    assert_true(saw_end);
    struct stat st;
    char p[400];
    snprintf(p, sizeof(p), "%s/src", dest);
    assert_int_not_equal(stat(p, &st), 0); /* nothing was copied */
    ferry_bus_unsubscribe(bus, sub);
    ferry_job_free(job);
    ferry_bus_free(bus);
}

static void test_discards_handed_over(void **state)
{
    char dest[300];
    ferry_job *job;
    int *fds;
    (void)state;

    snprintf(dest, sizeof(dest), "%s/discard", base);
    job = new_job(dest, 40u << 20, false, true, NULL);
    assert_int_equal(ferry_job_start(job), FERRY_OK);
    struct timespec ts = {0, 150000000};
    nanosleep(&ts, NULL); /* inside big.plate, 24 MiB at 40 MiB/s */
    assert_int_equal(ferry_job_cancel(job), FERRY_OK);
    assert_int_equal(ferry_job_wait(job, 10000), FERRY_OK);
    size_t n = ferry_job_take_discards(job, &fds);
    assert_true(n >= 1); /* the temp of the file in flight, still open */
    for (size_t i = 0; i < n; i++)
        assert_int_equal(close(fds[i]), 0);
    free(fds);
    assert_int_equal(ferry_job_take_discards(job, &fds), 0);
    free(fds);
    ferry_job_free(job);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queued_job_never_starts),
        cmocka_unit_test(test_discards_handed_over),
        cmocka_unit_test(test_cancel_at_random_points),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
