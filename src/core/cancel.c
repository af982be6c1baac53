/*
 * core/cancel.c: the cancel token and its commit gate.
 *
 * Design: `set` is an atomic flag so that checking costs one load in the
 * copy loop. The mutex serves two purposes: it is the commit gate (held by
 * every commit, taken by the set, so a set cannot overlap a commit), and it
 * guards the condition variable on which every wait of the engine sleeps
 * (rate-limit pauses, retry back-off, queue waits), so a set wakes them all.
 *
 * Invariant: once `set` is true it stays true; it becomes true only while
 * the mutex is held, so a commit that checked it under the mutex is safe.
 */
#include "ferry/cancel.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "core/cancel_gate.h"
#include "util/clock.h"
#include "util/error.h"

struct ferry_cancel {
    pthread_mutex_t lock; /* the commit gate; also guards `wake` */
    pthread_cond_t wake;  /* CLOCK_MONOTONIC; broadcast on set */
    atomic_bool set;
    _Atomic uint64_t set_ns;
};

int ferry_cancel_new(ferry_cancel **out)
{
    ferry_cancel *c = calloc(1, sizeof(*c));

    if (!c)
        return ferry__error(FERRY_ENOMEM, "out of memory");
    pthread_mutex_init(&c->lock, NULL);
    ferry__cond_init_monotonic(&c->wake);
    atomic_init(&c->set, false);
    atomic_init(&c->set_ns, 0);
    *out = c;
    return FERRY_OK;
}

void ferry_cancel_free(ferry_cancel *c)
{
    if (!c)
        return;
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

bool ferry_cancel_set(ferry_cancel *c)
{
    bool first;

    pthread_mutex_lock(&c->lock);
    first = !atomic_load_explicit(&c->set, memory_order_relaxed);
    if (first) {
        atomic_store_explicit(&c->set_ns, ferry__now_ns(), memory_order_relaxed);
        atomic_store_explicit(&c->set, true, memory_order_release);
        pthread_cond_broadcast(&c->wake);
    }
    pthread_mutex_unlock(&c->lock);
    return first;
}

bool ferry_cancel_is_set(const ferry_cancel *c)
{
    return atomic_load_explicit(&c->set, memory_order_acquire);
}

uint64_t ferry_cancel_set_time_ns(const ferry_cancel *c)
{
    if (!ferry_cancel_is_set(c))
        return 0;
    return atomic_load_explicit(&c->set_ns, memory_order_relaxed);
}

int ferry_cancel_sleep_until(ferry_cancel *c, uint64_t deadline_ns)
{
    struct timespec ts = ferry__timespec_of_ns(deadline_ns);
    int rc = FERRY_OK;

    pthread_mutex_lock(&c->lock);
    while (!atomic_load_explicit(&c->set, memory_order_relaxed)) {
        if (pthread_cond_timedwait(&c->wake, &c->lock, &ts) == ETIMEDOUT)
            break;
    }
    if (atomic_load_explicit(&c->set, memory_order_relaxed))
        rc = FERRY_ECANCELLED;
    pthread_mutex_unlock(&c->lock);
    return rc;
}

bool ferry__gate_enter(ferry_cancel *c)
{
    pthread_mutex_lock(&c->lock);
    if (atomic_load_explicit(&c->set, memory_order_relaxed)) {
        pthread_mutex_unlock(&c->lock);
        return false;
    }
    return true;
}

void ferry__gate_leave(ferry_cancel *c)
{
    pthread_mutex_unlock(&c->lock);
}
