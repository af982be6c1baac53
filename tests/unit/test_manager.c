/*
 * The job manager on real files and a real journal: queueing under
 * max_running, fairness of the shared pool, independent and idempotent
 * cancels (one by one, by tag, all; 1,000 at once from 8 threads), exactly
 * one transition per state, the journal's listing, per-file results and
 * pruning, recovery of a dead process's job and its resume, and a corrupt
 * journal moved aside.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/journal.h"
#include "ferry/common.h"
#include "ferry/manager.h"
#include "testutil.h"

static char base[256], big[300], many[300], one[300];
static unsigned ndest;

static int setup(void **state)
{
    char p[400];
    (void)state;
    tu_tempdir(base, sizeof(base), "manager");
    snprintf(big, sizeof(big), "%s/big.plate", base);
    tu_write_file(big, 16u << 20, 0);
    snprintf(many, sizeof(many), "%s/many", base);
    mkdir(many, 0755);
    for (int i = 0; i < 3000; i++) {
        snprintf(p, sizeof(p), "%s/f%04d", many, i);
        tu_write_file(p, 512, 0);
    }
    snprintf(one, sizeof(one), "%s/one.exr", base);
    tu_write_file(one, 1000, 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return tu_remove(base);
}

static ferry_manager *open_mgr(const char *state_name, unsigned max_running)
{
    char dir[400];
    ferry_manager_opts o;
    ferry_manager *m;

    snprintf(dir, sizeof(dir), "%s/%s", base, state_name);
    ferry_manager_opts_init(&o);
    o.state_dir = dir;
    o.max_running = max_running;
    o.workers = 2;
    assert_int_equal(ferry_manager_open(&m, &o), FERRY_OK);
    return m;
}

static void submit(ferry_manager *m, const char *source, uint64_t bw, const char *tag, char id[16])
{
    const char *srcs[1] = {source};
    char dest[400];
    ferry_job_spec spec;

    snprintf(dest, sizeof(dest), "%s/out%u", base, ndest++);
    ferry_job_spec_init(&spec);
    spec.sources = srcs;
    spec.nsources = 1;
    spec.dest = dest;
    spec.dest_is_dir = true;
    spec.bwlimit = bw;
    spec.no_fsync = true;
    spec.tag = tag;
    assert_int_equal(ferry_manager_submit(m, &spec, id), FERRY_OK);
}

static ferry_job_state state_of(ferry_manager *m, const char *id)
{
    ferry_progress p;
    assert_int_equal(ferry_manager_progress(m, id, &p), FERRY_OK);
    return p.state;
}

static void test_queue_and_fairness(void **state)
{
    ferry_manager *m = open_mgr("s1", 2);
    ferry_sub *sub;
    ferry_event *ev;
    char a[16], b[16], c[16];
    int order = 0, end_b = -1, end_c = -1, end_a = -1;
    (void)state;

    ferry_bus_subscribe(ferry_manager_bus(m), &sub, NULL, NULL);
    submit(m, big, 1u << 20, "x", b); /* slow: 16 s, cancelled below */
    submit(m, many, 0, "x", a);    /* 3,000 files */
    submit(m, one, 0, "y", c);     /* third: waits for a slot */
    assert_int_equal(state_of(m, c), FERRY_JOB_QUEUED);
    assert_int_equal(ferry_manager_wait(m, c, 30000), FERRY_OK);
    assert_int_equal(ferry_manager_cancel(m, b), FERRY_OK);
    assert_int_equal(ferry_manager_wait(m, a, 30000), FERRY_OK);
    assert_int_equal(ferry_manager_wait(m, b, 30000), FERRY_OK);
    while (ferry_sub_next(sub, &ev, 0) == FERRY_OK) {
        if (ev->type == FERRY_EVENT_END) {
            if (!strcmp(ev->job_id, a))
                end_a = order;
            if (!strcmp(ev->job_id, b))
                end_b = order;
            if (!strcmp(ev->job_id, c))
                end_c = order;
            order++;
        }
        ferry_event_free(ev);
    }
    assert_int_equal(state_of(m, a), FERRY_JOB_DONE);
    assert_int_equal(state_of(m, b), FERRY_JOB_CANCELLED);
    assert_int_equal(state_of(m, c), FERRY_JOB_DONE);
    /* The queued one-file job started as soon as a slot freed, and ended
     * before the slow job that was running when it was submitted. */
    print_message("end order: many=%d big=%d one=%d\n", end_a, end_b, end_c);
    assert_true(end_c >= 0 && end_a >= 0 && end_b >= 0);
    assert_true(end_c < end_b);
    ferry_bus_unsubscribe(ferry_manager_bus(m), sub);
    ferry_manager_close(m);
}

static void test_fair_share(void **state)
{
    ferry_manager *m = open_mgr("s2", 4);
    char a[16], c[16];
    ferry_progress pa;
    (void)state;

    submit(m, many, 0, NULL, a);
    struct timespec ts = {0, 20000000};
    nanosleep(&ts, NULL);
    submit(m, one, 0, NULL, c); /* runs beside the 3,000-file job, not after it */
    assert_int_equal(ferry_manager_wait(m, c, 30000), FERRY_OK);
    assert_int_equal(ferry_manager_progress(m, a, &pa), FERRY_OK);
    print_message("the one-file job ended while the big one had %llu of %llu files\n",
                  (unsigned long long)pa.files_done, (unsigned long long)pa.files_total);
    assert_int_equal(state_of(m, c), FERRY_JOB_DONE);
    assert_true(pa.state == FERRY_JOB_RUNNING && pa.files_done < 3000);
    ferry_manager_wait(m, a, 60000);
    ferry_manager_close(m);
}

typedef struct {
    ferry_manager *m;
    char (*ids)[16];
    int n;
    unsigned seed;
} storm;

static void *cancel_storm(void *arg)
{
    storm *s = arg;
    for (int i = 0; i < 125; i++) {
        int rc = ferry_manager_cancel(s->m, s->ids[rand_r(&s->seed) % (unsigned)s->n]);
        assert_true(rc == FERRY_OK || rc == FERRY_EENDED);
    }
    return NULL;
}

static void test_cancel_storm(void **state)
{
    enum { N = 50 };
    ferry_manager *m = open_mgr("s3", 8);
    static char ids[N][16];
    pthread_t th[8];
    storm s[8];
    ferry_sub *sub;
    ferry_event *ev;
    int cancels[N] = {0}, states[N] = {0};
    (void)state;

    ferry_bus_subscribe(ferry_manager_bus(m), &sub, NULL, NULL);
    for (int i = 0; i < N; i++)
        submit(m, i % 5 == 0 ? one : big, i % 5 == 0 ? 0 : 4u << 20, i % 2 ? "odd" : "even",
               ids[i]);
    ferry_manager_wait(m, ids[0], 10000); /* some done, some running, most queued */
    for (int t = 0; t < 8; t++) {
        s[t] = (storm){m, ids, N, (unsigned)t + 1};
        pthread_create(&th[t], NULL, cancel_storm, &s[t]);
    }
    for (int t = 0; t < 8; t++)
        pthread_join(th[t], NULL);
    char **cids;
    size_t ncid;
    ferry_manager_cancel_tag(m, NULL, &cids, &ncid); /* the rest, all at once */
    ferry_manager_ids_free(cids, ncid);
    for (int i = 0; i < N; i++)
        assert_int_equal(ferry_manager_wait(m, ids[i], 30000), FERRY_OK);
    while (ferry_sub_next(sub, &ev, 0) == FERRY_OK) {
        for (int i = 0; i < N; i++) {
            if (strcmp(ev->job_id, ids[i]))
                continue;
            if (ev->type == FERRY_EVENT_STATE && ev->state == FERRY_JOB_CANCELLED)
                cancels[i]++;
            if (ev->type == FERRY_EVENT_STATE)
                states[i]++;
        }
        ferry_event_free(ev);
    }
    for (int i = 0; i < N; i++) {
        ferry_job_state st = state_of(m, ids[i]);
        assert_true(st == FERRY_JOB_CANCELLED || st == FERRY_JOB_DONE);
        assert_int_equal(cancels[i], st == FERRY_JOB_CANCELLED ? 1 : 0);
        assert_true(states[i] <= 2); /* running once at most, then one end state */
        if (st == FERRY_JOB_CANCELLED)
            assert_int_equal(ferry_manager_cancel(m, ids[i]), FERRY_OK);
        else
            assert_int_equal(ferry_manager_cancel(m, ids[i]), FERRY_EENDED);
    }
    assert_int_equal(ferry_manager_cancel(m, "nosuchjob"), FERRY_ENOTFOUND);
    ferry_bus_unsubscribe(ferry_manager_bus(m), sub);
    ferry_manager_close(m);
}

static void test_tags_and_journal(void **state)
{
    ferry_manager *m = open_mgr("s4", 4);
    char a[16], b[16], c[16];
    char **ids;
    size_t n;
    ferry_job_info *v;
    ferry_file_info *f;
    (void)state;

    submit(m, big, 2u << 20, "sh010", a);
    submit(m, big, 2u << 20, "sh010", b);
    submit(m, many, 0, "sh020", c);
    assert_int_equal(ferry_manager_cancel_tag(m, "sh010", &ids, &n), FERRY_OK);
    assert_int_equal(n, 2);
    ferry_manager_ids_free(ids, n);
    assert_int_equal(ferry_manager_wait(m, c, 60000), FERRY_OK);
    assert_int_equal(state_of(m, c), FERRY_JOB_DONE); /* untouched by the tag */
    ferry_manager_wait(m, a, 10000);
    ferry_manager_wait(m, b, 10000);
    struct timespec ts = {0, 300000000};
    nanosleep(&ts, NULL); /* the journal's group commit */
    assert_int_equal(ferry_manager_list(m, "cancelled", "sh010", &v, &n), FERRY_OK);
    assert_int_equal(n, 2);
    ferry_job_info_free(v, n);
    assert_int_equal(ferry_manager_list(m, NULL, "sh020", &v, &n), FERRY_OK);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].files_done, 3000);
    ferry_job_info_free(v, n);
    assert_int_equal(ferry_manager_files(m, c, "done", 0, 0, &f, &n), FERRY_OK);
    assert_int_equal(n, 3000);
    ferry_file_info_free(f, n);
    assert_int_equal(ferry_manager_files(m, c, NULL, 2990, 100, &f, &n), FERRY_OK);
    assert_int_equal(n, 10); /* paged */
    ferry_file_info_free(f, n);
    assert_int_equal(ferry_manager_files(m, c, "failed", 0, 0, &f, &n), FERRY_OK);
    assert_int_equal(n, 0);
    ferry_file_info_free(f, n);
    unsigned removed;
    assert_int_equal(ferry_manager_prune(m, 0, &removed), FERRY_OK);
    assert_true(removed >= 3);
    assert_int_equal(ferry_manager_list(m, NULL, NULL, &v, &n), FERRY_OK);
    assert_int_equal(n, 0);
    ferry_job_info_free(v, n);
    ferry_manager_close(m);
}

static void test_recovery_and_resume(void **state)
{
    char id[16];
    int pipefd[2];
    pid_t pid;
    ferry_manager *m;
    ferry_job_info in;
    (void)state;

#ifdef __SANITIZE_THREAD__
    skip(); /* TSan cannot follow a fork of a threaded process; the kill -9 system test covers it */
#endif
    assert_int_equal(pipe(pipefd), 0);
    pid = fork();
    if (pid == 0) {
        ferry_manager *cm = open_mgr("s5", 1);
        submit(cm, many, 2u << 20, NULL, id); /* 1.5 MB at 2 MiB/s: ~0.7 s */
        if (write(pipefd[1], id, 16) != 16)
            _exit(1);
        pause();
        _exit(0);
    }
    assert_int_equal(read(pipefd[0], id, 16), 16);
    struct timespec ts = {0, 350000000};
    nanosleep(&ts, NULL);
    kill(pid, SIGKILL); /* dies in the middle of the job */
    waitpid(pid, NULL, 0);
    m = open_mgr("s5", 1);
    assert_non_null(ferry_manager_notice(m));
    assert_non_null(strstr(ferry_manager_notice(m), "interrupted"));
    assert_int_equal(ferry_manager_get(m, id, &in), FERRY_OK);
    assert_int_equal(in.state, FERRY_JOB_INTERRUPTED);
    ferry_job_info_clear(&in);
    assert_int_equal(ferry_manager_resume(m, id), FERRY_OK);
    assert_int_equal(ferry_manager_wait(m, id, 60000), FERRY_OK);
    ferry_progress p;
    assert_int_equal(ferry_manager_progress(m, id, &p), FERRY_OK);
    assert_int_equal(p.state, FERRY_JOB_DONE);
    print_message("resumed: %llu skipped as already complete, %llu copied\n",
                  (unsigned long long)p.files_skipped, (unsigned long long)p.files_done);
    assert_true(p.files_skipped > 0);
    assert_int_equal(p.files_skipped + p.files_done, 3000);
    assert_int_equal(ferry_manager_resume(m, id), FERRY_EINVAL); /* done: not resumable */
    ferry_manager_close(m);
}

/*
 * A job cancelled, then resumed in the same process: the id now names two
 * runs, and get and cancel must reach the resumed one (they reached the
 * ended one, so the cancel was a no-op and the copy went on). A job's
 * answer from memory matches the journal's row.
 */
static void test_resume_in_process(void **state)
{
    ferry_manager *m = open_mgr("s8", 4);
    char id[16];
    ferry_job_info in, *v;
    size_t n;
    (void)state;

    submit(m, big, 2u << 20, NULL, id); /* 16 MiB at 2 MiB/s: 8 s */
    assert_int_equal(ferry_manager_get(m, id, &in), FERRY_OK);
    int64_t created = in.created_at;
    assert_true(created > 0);
    ferry_job_info_clear(&in);
    assert_int_equal(ferry_manager_cancel(m, id), FERRY_OK);
    assert_int_equal(ferry_manager_wait(m, id, 10000), FERRY_OK);
    assert_int_equal(ferry_manager_resume(m, id), FERRY_OK);
    assert_int_equal(ferry_manager_get(m, id, &in), FERRY_OK);
    assert_true(in.state == FERRY_JOB_QUEUED || in.state == FERRY_JOB_RUNNING);
    assert_int_equal(in.created_at, created); /* from the journal: a resumed run */
    ferry_job_info_clear(&in);
    assert_int_equal(ferry_manager_cancel(m, id), FERRY_OK);
    assert_int_equal(ferry_manager_wait(m, id, 5000), FERRY_OK); /* not 8 s of copying */
    assert_int_equal(state_of(m, id), FERRY_JOB_CANCELLED);
    assert_int_equal(ferry_manager_list(m, NULL, NULL, &v, &n), FERRY_OK);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].created_at, created);
    ferry_job_info_free(v, n);
    ferry_manager_close(m);
}

static int open_fds(void)
{
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "exit $(ls /proc/%d/fd | wc -l)", (int)getpid());
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/*
 * A cancelled job's dropped temp (an unnamed inode whose blocks are freed on
 * its last close): by default the job's runner closes it once the job has
 * ended, so a long-running process does not keep the space of every
 * cancelled copy; with keep_discards it waits for the caller.
 */
static void test_discards_closed(void **state)
{
    char dir[400], id[16];
    ferry_manager_opts o;
    ferry_manager *m;
    int *fds;
    (void)state;

    for (int keep = 0; keep < 2; keep++) {
        snprintf(dir, sizeof(dir), "%s/s9-%d", base, keep);
        ferry_manager_opts_init(&o);
        o.state_dir = dir;
        o.workers = 2;
        o.keep_discards = keep;
        assert_int_equal(ferry_manager_open(&m, &o), FERRY_OK);
        int before = open_fds();
        submit(m, big, 4u << 20, NULL, id); /* 16 MiB at 4 MiB/s */
        struct timespec ts = {0, 500000000};
        nanosleep(&ts, NULL); /* part of it is in the temp */
        assert_int_equal(ferry_manager_cancel(m, id), FERRY_OK);
        assert_int_equal(ferry_manager_wait(m, id, 10000), FERRY_OK);
        int after = -1;
        for (int i = 0; i < 200 && after != before; i++) { /* the runner closes after the end */
            struct timespec t = {0, 10000000};
            nanosleep(&t, NULL);
            after = open_fds();
        }
        size_t n = ferry_manager_take_discards(m, &fds);
        print_message("keep_discards %d: %d descriptors before, %d after, %zu handed over\n", keep,
                      before, after, n);
        if (keep) {
            assert_int_equal(n, 1);
            assert_int_equal(after, before + 1); /* the dropped temp, waiting for us */
            close(fds[0]);
        } else {
            assert_int_equal(n, 0);
            assert_int_equal(after, before);
        }
        free(fds);
        ferry_manager_close(m);
    }
}

/* Named temps in dir (the --temp-names path; O_TMPFILE ones have no name). */
static int count_temps(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "exit $(find '%s' -name '.ferry-tmp-*' | wc -l)", dir);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/*
 * A process that finds a dead process's job at open and is itself killed
 * before it swept the job's temps: the next open must still sweep them
 * (the soak found one left for good when recovery marked the job first).
 */
static void test_recovery_killed_before_sweep(void **state)
{
    char id[16], dest[400], dir[400];
    int pipefd[2];
    pid_t pid;
    (void)state;

#ifdef __SANITIZE_THREAD__
    skip(); /* TSan cannot follow a fork of a threaded process */
#endif
    snprintf(dest, sizeof(dest), "%s/swept", base);
    snprintf(dir, sizeof(dir), "%s/s7", base);
    assert_int_equal(pipe(pipefd), 0);
    pid = fork();
    if (pid == 0) {
        ferry_manager *cm = open_mgr("s7", 1);
        const char *srcs[1] = {big};
        ferry_job_spec spec;
        ferry_job_spec_init(&spec);
        spec.sources = srcs;
        spec.nsources = 1;
        spec.dest = dest;
        spec.dest_is_dir = true;
        spec.bwlimit = 4u << 20; /* 16 MiB at 4 MiB/s */
        spec.temp_names = true;
        if (ferry_manager_submit(cm, &spec, id) != FERRY_OK || write(pipefd[1], id, 16) != 16)
            _exit(1);
        pause();
        _exit(0);
    }
    assert_int_equal(read(pipefd[0], id, 16), 16);
    for (int i = 0; i < 200 && count_temps(dest) == 0; i++) {
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    assert_int_equal(count_temps(dest), 1);

    /* The journal opened (recovery ran) and closed without a manager's sweep. */
    ferry__journal *j;
    ferry_bus *bus;
    char *notice = NULL;
    assert_int_equal(ferry_bus_new(&bus), FERRY_OK);
    assert_int_equal(ferry__journal_open(&j, dir, bus, NULL, NULL, &notice), FERRY_OK);
    free(notice);
    ferry__journal_close(j);
    ferry_bus_free(bus);
    assert_int_equal(count_temps(dest), 1);

    ferry_manager *m = open_mgr("s7", 1);
    ferry_job_info in;
    assert_int_equal(count_temps(dest), 0);
    assert_int_equal(ferry_manager_get(m, id, &in), FERRY_OK);
    assert_int_equal(in.state, FERRY_JOB_INTERRUPTED);
    ferry_job_info_clear(&in);
    ferry_manager_close(m);
}

static void test_corrupt_journal(void **state)
{
    char dir[400], path[500];
    ferry_manager *m;
    (void)state;

    snprintf(dir, sizeof(dir), "%s/s6", base);
    mkdir(dir, 0700);
    snprintf(path, sizeof(path), "%s/journal.db", dir);
    FILE *f = fopen(path, "w");
    fputs("this is not an SQLite database, but it is long enough to look like one......", f);
    fclose(f);
    m = open_mgr("s6", 1);
    assert_non_null(ferry_manager_notice(m));
    assert_non_null(strstr(ferry_manager_notice(m), "moved aside"));
    char id[16];
    submit(m, one, 0, NULL, id); /* and copying goes on with the new journal */
    assert_int_equal(ferry_manager_wait(m, id, 10000), FERRY_OK);
    assert_int_equal(state_of(m, id), FERRY_JOB_DONE);
    ferry_manager_close(m);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "ls '%s' | grep -q 'journal.db.corrupt-'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queue_and_fairness), cmocka_unit_test(test_fair_share),
        cmocka_unit_test(test_cancel_storm),       cmocka_unit_test(test_tags_and_journal),
        cmocka_unit_test(test_recovery_and_resume),
        cmocka_unit_test(test_resume_in_process), cmocka_unit_test(test_discards_closed), cmocka_unit_test(test_corrupt_journal),
        cmocka_unit_test(test_recovery_killed_before_sweep),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
