/* util/clock.h: monotonic and wall clocks in nanoseconds. */
#ifndef FERRY_UTIL_CLOCK_H
#define FERRY_UTIL_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#define FERRY_NS_PER_SEC 1000000000ull
#define FERRY_NS_PER_MS 1000000ull

static inline uint64_t ferry__clock_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * FERRY_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* CLOCK_MONOTONIC: for intervals and deadlines. */
static inline uint64_t ferry__now_ns(void)
{
    return ferry__clock_ns(CLOCK_MONOTONIC);
}

/* CLOCK_REALTIME: for timestamps people read. */
static inline uint64_t ferry__wall_ns(void)
{
    return ferry__clock_ns(CLOCK_REALTIME);
}

/* A condition variable whose timed waits take CLOCK_MONOTONIC deadlines. */
static inline void ferry__cond_init_monotonic(pthread_cond_t *cond)
{
    pthread_condattr_t attr;

    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(cond, &attr);
    pthread_condattr_destroy(&attr);
}

static inline struct timespec ferry__timespec_of_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / FERRY_NS_PER_SEC), (long)(ns % FERRY_NS_PER_SEC)};
    return ts;
}

#endif
