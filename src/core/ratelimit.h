/*
 * core/ratelimit.h: the job's bandwidth limit, shared by its workers.
 *
 * Pacing by reservation: each chunk reserves its slot on a shared timeline
 * (bytes / rate seconds long) and sleeps until the slot starts, on the
 * cancel token, so a cancel ends the pause at once.
 */
#ifndef FERRY_CORE_RATELIMIT_H
#define FERRY_CORE_RATELIMIT_H

#include <pthread.h>
#include <stdint.h>

#include "ferry/cancel.h"

typedef struct {
    pthread_mutex_t lock; /* guards next_ns; never held while sleeping */
    uint64_t rate;        /* bytes per second, > 0 */
    uint64_t next_ns;     /* CLOCK_MONOTONIC start of the next free slot */
} ferry__ratelimit;

void ferry__ratelimit_init(ferry__ratelimit *rl, uint64_t rate);
void ferry__ratelimit_release(ferry__ratelimit *rl);

/* Waits for the slot of `bytes`: FERRY_OK, or FERRY_ECANCELLED at once on cancel. */
int ferry__ratelimit_take(ferry__ratelimit *rl, uint64_t bytes, ferry_cancel *cancel);

/* The largest chunk worth sending at this rate: a tenth of a second's worth, >= 4 KiB. */
uint64_t ferry__ratelimit_chunk(const ferry__ratelimit *rl, uint64_t max_chunk);

#endif
