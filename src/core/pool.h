/*
 * core/pool.h: one pool of copy workers shared by every running job.
 *
 * Fairness: workers take one entry at a time from the running jobs in
 * round-robin order, so a one-file job gets a worker at the next pick even
 * while a 20,000-file job is running. A job is attached once its plan is
 * ready and its directories exist; the job's runner then waits until the
 * job has no entries left (or is cancelled) and no worker is inside it.
 *
 * Lock: pool->lock guards the job ring, each attached job's `next`,
 * `inflight` and `pool_done`, and is the mutex of every pool condition.
 */
#ifndef FERRY_CORE_POOL_H
#define FERRY_CORE_POOL_H

#include <pthread.h>
#include <stdbool.h>

typedef struct ferry_job ferry_job;
typedef struct ferry__pool ferry__pool;

/* Starts a pool of n worker threads. */
int ferry__pool_new(ferry__pool **out, unsigned n);

/* Stops and joins the workers; no job may still be attached. */
void ferry__pool_free(ferry__pool *pool);

/* Hands the job's plan entries to the pool, then waits (on the runner's
 * thread) until they are all handled or the job was cancelled, and no
 * worker is inside the job any more. */
void ferry__pool_run(ferry__pool *pool, ferry_job *job);

/* Wakes the waits of the pool: called after a job's cancel token is set. */
void ferry__pool_kick(ferry__pool *pool);

#endif
