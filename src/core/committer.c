/*
 * core/committer.c: durability in batches (group commit).
 *
 * Why batches: one fsync per file costs a journal commit per file; for 781
 * frames that is far slower than `cp -r && sync`. Workers queue finished
 * temps instead; the committer takes a batch, makes it durable with one
 * syncfs per filesystem, and only then names each file (inside the gate).
 * The next batch's syncfs also makes the previous batch's names durable;
 * the runner's last syncfs covers the final batch.
 *
 * A batch closes at job->batch_files files, BATCH_BYTES bytes, when the
 * oldest temp has waited BATCH_WAIT_MS, or when every worker is done. Each
 * syncfs costs a journal commit (a few ms here), so for small files the
 * batch is large: up to BATCH_FILES_MAX, as the descriptor limit allows,
 * since every queued temp is an open file. Workers wait (on cq_cond, which a
 * cancel broadcasts) while two batches are queued.
 *
 * A failed sync is never retried and trusted: the batch's data is discarded
 * and its files fail with the cause.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/job_priv.h"
#include "util/clock.h"
#include "util/fault.h"
#include "util/fs.h"
#include "util/str.h"

#define BATCH_FILES_MAX 4096
#define BATCH_FILES_MIN 16
#define BATCH_BYTES (512ull << 20)
#define BATCH_WAIT_MS 300
#define SYNCFS_MIN_FILES 8 /* smaller batches use fdatasync per file */

/* Files per batch: as many as a third of the free descriptors allow (the
 * queue holds two batches, and the rest of the process needs some). */
unsigned ferry__batch_files(void)
{
    struct rlimit rl;
    rlim_t n = BATCH_FILES_MAX;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        n = rl.rlim_cur > 256 ? (rl.rlim_cur - 128) / 3 : BATCH_FILES_MIN;
    if (n > BATCH_FILES_MAX)
        n = BATCH_FILES_MAX;
    return n < BATCH_FILES_MIN ? BATCH_FILES_MIN : (unsigned)n;
}

void ferry__pending_free(ferry__pending *p)
{
    if (!p)
        return;
    if (p->temp.fd >= 0)
        ferry__close(p->temp.fd);
    free(p->temp.name);
    free(p->name);
    free(p);
}

void ferry__enqueue(ferry_job *job, ferry__pending *p, int dirfd)
{
    pthread_mutex_lock(&job->cq_lock);
    while (job->cq_count >= 2 * job->batch_files && !ferry_cancel_is_set(job->cancel))
        pthread_cond_wait(&job->cq_cond, &job->cq_lock);
    if (ferry_cancel_is_set(job->cancel)) {
        pthread_mutex_unlock(&job->cq_lock);
        ferry__note_stop(job);
        ferry__discard(job, &p->temp, dirfd, p->bytes);
        ferry__pending_free(p);
        return;
    }
    p->next = NULL;
    if (job->cq_tail)
        job->cq_tail->next = p;
    else {
        job->cq_head = p;
        job->cq_first_ns = ferry__now_ns();
    }
    job->cq_tail = p;
    job->cq_count++;
    job->cq_bytes += p->bytes;
    /* Wake the committer for a first temp or a full batch, not for every file. */
    if (job->cq_count == 1 || job->cq_count == job->batch_files || job->cq_bytes >= BATCH_BYTES)
        pthread_cond_broadcast(&job->cq_cond);
    pthread_mutex_unlock(&job->cq_lock);
}

static bool batch_ready(ferry_job *job)
{
    return job->cq_count >= job->batch_files || job->cq_bytes >= BATCH_BYTES ||
           job->workers_active == 0 ||
           ferry__now_ns() - job->cq_first_ns >= BATCH_WAIT_MS * FERRY_NS_PER_MS;
}

/* Takes the next batch off the queue, waiting for one; NULL when all is done. */
static ferry__pending *take_batch(ferry_job *job)
{
    ferry__pending *batch = NULL, **tail = &batch;

    pthread_mutex_lock(&job->cq_lock);
    for (;;) {
        bool stop = ferry_cancel_is_set(job->cancel);
        if (job->cq_head && (stop || batch_ready(job)))
            break;
        if (!job->cq_head && (stop || job->workers_active == 0)) {
            pthread_mutex_unlock(&job->cq_lock);
            return NULL;
        }
        if (!job->cq_head) {
            pthread_cond_wait(&job->cq_cond, &job->cq_lock);
        } else {
            struct timespec ts =
                ferry__timespec_of_ns(job->cq_first_ns + BATCH_WAIT_MS * FERRY_NS_PER_MS);
            pthread_cond_timedwait(&job->cq_cond, &job->cq_lock, &ts);
        }
    }
    for (size_t n = 0; job->cq_head && n < job->batch_files; n++) {
        ferry__pending *p = job->cq_head;
        job->cq_head = p->next;
        job->cq_count--;
        job->cq_bytes -= p->bytes;
        p->next = NULL;
        *tail = p;
        tail = &p->next;
    }
    if (!job->cq_head)
        job->cq_tail = NULL;
    else
        job->cq_first_ns = ferry__now_ns();
    pthread_cond_broadcast(&job->cq_cond);
    pthread_mutex_unlock(&job->cq_lock);
    return batch;
}

/* syncfs once per filesystem in the batch. Returns 0 or the first -errno. */
static int sync_batch(ferry__pending *batch)
{
    dev_t done[8];
    size_t ndone = 0, n = 0;

    for (ferry__pending *p = batch; p; p = p->next)
        n++;
    /*
     * A few files: fdatasync each. syncfs would also wait for every other
     * program's dirty data on the filesystem (a render writing 10 GB makes a
     * one-file copy wait for all of it); for a handful of files, a journal
     * commit each costs less than that risk.
     */
    if (n < SYNCFS_MIN_FILES) {
        for (ferry__pending *p = batch; p; p = p->next)
            if (FERRY_SYS("sync", fdatasync(p->temp.fd)) < 0)
                return -errno;
        return 0;
    }
    for (ferry__pending *p = batch; p; p = p->next) {
        bool seen = false;
        for (size_t i = 0; i < ndone; i++)
            seen |= done[i] == p->dev;
        if (seen)
            continue;
        if (FERRY_SYS("sync", syncfs(p->temp.fd)) < 0)
            return -errno;
        if (ndone < sizeof(done) / sizeof(done[0]))
            done[ndone++] = p->dev;
    }
    return 0;
}

void *ferry__committer_main(void *arg)
{
    ferry_job *job = arg;
    ferry__worker w = {.job = job, .dir_fd = -1};
    ferry__pending *batch, *next;

    pthread_setname_np(pthread_self(), "ferry-commit");
    while ((batch = take_batch(job))) {
        int err = ferry_cancel_is_set(job->cancel) ? 0 : sync_batch(batch);
        for (ferry__pending *p = batch; p; p = next) {
            const ferry__entry *e = &job->plan.entries[p->entry];
            int dirfd = -1;
            next = p->next;
            if (ferry_cancel_is_set(job->cancel) || err) {
                if (ferry__dir_fd(&w, e->dir, &dirfd) < 0)
                    dirfd = -1; /* a named temp then stays for the next sweep */
                if (err) {
                    char *msg = ferry__strfmt("sync '%s' before naming it: %s; data discarded",
                                              e->src, strerror(-err));
                    ferry__file_failed(job, e, msg ? msg : "sync failed");
                    free(msg);
                }
                ferry__discard(job, &p->temp, dirfd, p->bytes);
            } else {
                ferry__commit_one(&w, p);
                job->committed_any = true;
            }
            ferry__pending_free(p);
        }
    }
    if (w.dir_fd >= 0)
        ferry__close(w.dir_fd);
    return NULL;
}
