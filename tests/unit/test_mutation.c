/*
 * Sources that change while they are copied: grown, shrunk, deleted,
 * replaced (renamed over), or rewritten in place with the same size. Over
 * TRIALS trials, a file reported done must hold exactly what one version of
 * its source held, whole: every version is a run of one distinct byte, so a
 * mix of two versions or a torn size shows.
 */
#define _GNU_SOURCE
#include <errno.h>
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

#include "ferry/job.h"
#include "testutil.h"

#define TRIALS 500
#define NFILES 3
#define SIZE (96 * 1024)

static char base[256];

static void write_version(const char *path, unsigned char v, size_t size, int flags)
{
    unsigned char *buf = malloc(size);
    int fd = open(path, O_WRONLY | O_CREAT | flags, 0644);

    assert_non_null(buf);
    assert_true(fd >= 0);
    memset(buf, v, size);
    assert_int_equal(write(fd, buf, size), (ssize_t)size);
    close(fd);
    free(buf);
}

/* A copy is whole when it is one byte value repeated, at that version's size. */
static bool whole(const char *path, const size_t *sizes)
{
    FILE *f = fopen(path, "r");
    int first, c;
    size_t n = 0;

    if (!f)
        return true; /* absent is fine */
    first = fgetc(f);
    if (first == EOF) {
        fclose(f);
        return sizes[0] == 0;
    }
    n = 1;
    while ((c = fgetc(f)) != EOF) {
        if (c != first) {
            fclose(f);
            return false;
        }
        n++;
    }
    fclose(f);
    return first >= 1 && first < 256 && n == sizes[first];
}

typedef struct {
    char src[NFILES][300];
    size_t sizes[NFILES][256]; /* size of each version, by its byte */
    unsigned char next[NFILES];
    unsigned seed;
    unsigned mutations;
} trial;

static void *mutator(void *arg)
{
    trial *t = arg;
    struct timespec ts = {0, (long)(rand_r(&t->seed) % 30) * 1000000L};
    int f = (int)(rand_r(&t->seed) % NFILES);
    unsigned char v = ++t->next[f];
    char tmp[320];

    nanosleep(&ts, NULL);
    switch (rand_r(&t->seed) % 5) {
    case 0: /* grow: a new version, longer */
        t->sizes[f][v] = SIZE + 4096;
        write_version(t->src[f], v, SIZE + 4096, O_TRUNC);
        break;
    case 1: /* shrink */
        t->sizes[f][v] = SIZE / 2;
        write_version(t->src[f], v, SIZE / 2, O_TRUNC);
        break;
    case 2: /* vanish */
        unlink(t->src[f]);
        break;
    case 3: /* replaced by a rename */
        t->sizes[f][v] = SIZE;
        snprintf(tmp, sizeof(tmp), "%s.new", t->src[f]);
        write_version(tmp, v, SIZE, O_TRUNC);
        rename(tmp, t->src[f]);
        break;
    default: /* rewritten in place, same size */
        t->sizes[f][v] = SIZE;
        write_version(t->src[f], v, SIZE, 0);
    }
    t->mutations++;
    return NULL;
}

static void test_mutations(void **state)
{
    unsigned done_files = 0, changed = 0;
    (void)state;

    for (int i = 0; i < TRIALS; i++) {
        trial t = {.seed = (unsigned)i * 2654435761u};
        char dir[300], dest[300], path[600];
        const char *srcs[1] = {dir};
        ferry_job_spec spec;
        ferry_job *job;
        ferry_bus *bus;
        ferry_sub *sub;
        ferry_event *ev;
        pthread_t th;

        snprintf(dir, sizeof(dir), "%s/s%d", base, i);
        snprintf(dest, sizeof(dest), "%s/d%d", base, i);
        assert_int_equal(mkdir(dir, 0755), 0);
        for (int f = 0; f < NFILES; f++) {
            snprintf(t.src[f], sizeof(t.src[f]), "%s/f%d", dir, f);
            t.next[f] = 1;
            t.sizes[f][1] = SIZE;
            write_version(t.src[f], 1, SIZE, O_TRUNC);
        }
        assert_int_equal(ferry_bus_new(&bus), 0);
        assert_int_equal(ferry_bus_subscribe(bus, &sub, NULL, NULL), 0);
        ferry_job_spec_init(&spec);
        spec.sources = srcs;
        spec.nsources = 1;
        spec.dest = dest;
        spec.dest_is_dir = true;
        spec.no_fsync = true;
        spec.bwlimit = 8u << 20; /* ~35 ms for the three files: the mutation lands inside */
        spec.workers = 2;
        assert_int_equal(ferry_job_new(&job, &spec, bus), 0);
        assert_int_equal(ferry_job_start(job), 0);
        pthread_create(&th, NULL, mutator, &t);
        assert_int_equal(ferry_job_wait(job, 30000), 0);
        pthread_join(th, NULL);
        while (ferry_sub_next(sub, &ev, 0) == 0) {
            if (ev->type == FERRY_EVENT_FILE && ev->result == FERRY_FILE_DONE) {
                int f = ev->path[strlen(ev->path) - 1] - '0';
                done_files++;
                if (!whole(ev->dest, t.sizes[f])) {
                    print_error("trial %d: '%s' reported done but is not one whole version\n", i,
                                ev->dest);
                    fail();
                }
            } else if (ev->type == FERRY_EVENT_FILE && ev->result == FERRY_FILE_FAILED &&
                       strstr(ev->message, "changed")) {
                changed++;
            }
            ferry_event_free(ev);
        }
        /* And nothing under a final name is torn, reported or not. */
        for (int f = 0; f < NFILES; f++) {
            snprintf(path, sizeof(path), "%s/s%d/f%d", dest, i, f);
            assert_true(whole(path, t.sizes[f]));
        }
        ferry_bus_unsubscribe(bus, sub);
        ferry_job_free(job);
        ferry_bus_free(bus);
    }
    print_message("%d trials: %u files done and whole, %u refused as changed, 0 torn\n", TRIALS,
                  done_files, changed);
    assert_true(changed > 0); /* the mutations did land inside copies */
}

static int setup(void **state)
{
    (void)state;
    tu_tempdir(base, sizeof(base), "mutation");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return tu_remove(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_mutations)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
