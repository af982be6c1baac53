/* core/ratelimit.c: bandwidth limit by slot reservation; see ratelimit.h. */
#include "core/ratelimit.h"

#include "util/clock.h"
#include "util/error.h"

void ferry__ratelimit_init(ferry__ratelimit *rl, uint64_t rate)
{
    pthread_mutex_init(&rl->lock, NULL);
    rl->rate = rate ? rate : 1;
    rl->next_ns = 0;
}

void ferry__ratelimit_release(ferry__ratelimit *rl)
{
    pthread_mutex_destroy(&rl->lock);
}

int ferry__ratelimit_take(ferry__ratelimit *rl, uint64_t bytes, ferry_cancel *cancel)
{
    uint64_t now = ferry__now_ns(), start;
    /* bytes * 1e9 overflows past 18 GB; a chunk is at most a few MiB. */
    uint64_t cost = (uint64_t)((double)bytes * 1e9 / (double)rl->rate);

    pthread_mutex_lock(&rl->lock);
    if (rl->next_ns < now)
        rl->next_ns = now;
    start = rl->next_ns;
    rl->next_ns += cost;
    pthread_mutex_unlock(&rl->lock);

    if (start <= now)
        return ferry_cancel_is_set(cancel) ? FERRY_ECANCELLED : FERRY_OK;
    return ferry_cancel_sleep_until(cancel, start);
}

uint64_t ferry__ratelimit_chunk(const ferry__ratelimit *rl, uint64_t max_chunk)
{
    uint64_t c = rl->rate / 10;

    if (c < 4096)
        c = 4096;
    return c < max_chunk ? c : max_chunk;
}
