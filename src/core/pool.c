/*
 * core/pool.c: the shared worker pool; see pool.h.
 *
 * Each worker keeps one copier (its 1 MiB fallback buffer survives from job
 * to job) and one cached destination directory descriptor, both reset when
 * it moves to another job.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include "core/pool.h"

#include <stdlib.h>

#include "core/flusher.h"
#include "core/job_priv.h"
#include "util/error.h"
#include "util/fs.h"

struct ferry__pool {
    pthread_mutex_t lock;
    pthread_cond_t work;   /* a job was attached, or the pool is stopping */
    pthread_cond_t idle;   /* a job's last worker left it, or a job was cancelled */
    ferry_job *ring;       /* attached jobs with entries left, via job->pool_next */
    ferry_job *cursor;     /* the job the next pick starts from */
    bool stopping;
    unsigned nthreads;
    pthread_t *threads;
    ferry__flusher *flusher; /* starts writeback for the durable jobs' copies */
};

static void ring_remove(ferry__pool *pool, ferry_job *job)
{
    for (ferry_job **p = &pool->ring; *p; p = &(*p)->pool_next) {
        if (*p == job) {
            *p = job->pool_next;
            break;
        }
    }
    if (pool->cursor == job)
        pool->cursor = job->pool_next;
    job->pool_next = NULL;
    job->pool_attached = false;
}

/* Picks the next entry round-robin; NULL when no attached job has one left. */
static ferry_job *pick(ferry__pool *pool, size_t *idx)
{
    while (pool->ring) {
        ferry_job *job = pool->cursor ? pool->cursor : pool->ring;
        pool->cursor = job->pool_next; /* the next pick starts after this job */
        if (!ferry__job_halted(job) && job->pool_next_entry < job->plan.nentries) {
            *idx = job->pool_next_entry++;
            job->inflight++;
            return job;
        }
        ring_remove(pool, job);
        pthread_cond_broadcast(&pool->idle);
    }
    return NULL;
}

static void switch_job(ferry__pool *pool, ferry__worker *w, ferry_job *job)
{
    if (w->job == job)
        return;
    if (w->dir_fd >= 0)
        ferry__close(w->dir_fd);
    w->dir_fd = -1;
    w->job = job;
    char *buf = w->copier.buf;
    ferry__copier_init(&w->copier, job->cancel, job->limited ? &job->rl : NULL, &job->bytes_moved);
    w->copier.buf = buf;
    w->copier.flusher = job->spec.no_fsync ? NULL : pool->flusher;
}

static void *worker_main(void *arg)
{
    ferry__pool *pool = arg;
    ferry__worker w = {.dir_fd = -1};
    ferry_job *job;
    size_t idx;

    pthread_setname_np(pthread_self(), "ferry-copy");
    pthread_mutex_lock(&pool->lock);
    while (!pool->stopping) {
        if (!(job = pick(pool, &idx))) {
            if (w.job) {
                /* Idle: let go of the last job, which may have ended, and of
                 * its directory (a daemon kept one descriptor per worker of
                 * finished jobs), then look for work again. */
                int fd = w.dir_fd;
                w.dir_fd = -1;
                w.job = NULL;
                pthread_mutex_unlock(&pool->lock);
                if (fd >= 0)
                    ferry__close(fd);
                pthread_mutex_lock(&pool->lock);
                continue;
            }
            pthread_cond_wait(&pool->work, &pool->lock);
            continue;
        }
        pthread_mutex_unlock(&pool->lock);
        switch_job(pool, &w, job);
        ferry__do_entry(&w, idx);
        pthread_mutex_lock(&pool->lock);
        /* The runner waits only for the last worker of a job with nothing left. */
        if (--job->inflight == 0 &&
            (job->pool_next_entry >= job->plan.nentries || ferry__job_halted(job)))
            pthread_cond_broadcast(&pool->idle);
    }
    pthread_mutex_unlock(&pool->lock);
    if (w.dir_fd >= 0)
        ferry__close(w.dir_fd);
    ferry__copier_release(&w.copier);
    return NULL;
}

int ferry__pool_new(ferry__pool **out, unsigned n)
{
    ferry__pool *pool = calloc(1, sizeof(*pool));

    if (!pool || !(pool->threads = calloc(n ? n : 1, sizeof(pthread_t)))) {
        free(pool);
        return ferry__error(FERRY_ENOMEM, "out of memory");
    }
    int rc = ferry__flusher_new(&pool->flusher);
    if (rc) {
        free(pool->threads);
        free(pool);
        return rc;
    }
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->work, NULL);
    pthread_cond_init(&pool->idle, NULL);
    for (unsigned i = 0; i < n; i++) {
        if (pthread_create(&pool->threads[i], NULL, worker_main, pool) != 0)
            break;
        pool->nthreads++;
    }
    if (pool->nthreads == 0) {
        ferry__pool_free(pool);
        return ferry__error(FERRY_EOS, "cannot start worker threads");
    }
    *out = pool;
    return FERRY_OK;
}

void ferry__pool_free(ferry__pool *pool)
{
    if (!pool)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->stopping = true;
    pthread_cond_broadcast(&pool->work);
    pthread_mutex_unlock(&pool->lock);
    for (unsigned i = 0; i < pool->nthreads; i++)
        pthread_join(pool->threads[i], NULL);
    ferry__flusher_free(pool->flusher);
    pthread_cond_destroy(&pool->work);
    pthread_cond_destroy(&pool->idle);
    pthread_mutex_destroy(&pool->lock);
    free(pool->threads);
    free(pool);
}

void ferry__pool_run(ferry__pool *pool, ferry_job *job)
{
    pthread_mutex_lock(&pool->lock);
    job->pool_next_entry = 0;
    job->inflight = 0;
    if (job->plan.nentries > 0) {
        job->pool_next = pool->ring;
        pool->ring = job;
        job->pool_attached = true;
        pthread_cond_broadcast(&pool->work);
    }
    while (job->inflight > 0 || (job->pool_attached && !ferry__job_halted(job) &&
                                 job->pool_next_entry < job->plan.nentries))
        pthread_cond_wait(&pool->idle, &pool->lock);
    if (job->pool_attached)
        ring_remove(pool, job);
    pthread_mutex_unlock(&pool->lock);
}

void ferry__pool_kick(ferry__pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    pthread_cond_broadcast(&pool->idle);
    pthread_mutex_unlock(&pool->lock);
}
