/*
 * core/events.c: the event bus; see ferry/events.h.
 *
 * Locks: bus->lock guards the subscriber list; each sub->lock guards its own
 * queue. Order: bus->lock, then sub->lock. Publishing copies the event once
 * per subscriber under those locks; notify runs after the subscriber's lock
 * is dropped but under bus->lock, so that once ferry_bus_unsubscribe() has
 * returned no notify of that subscriber is still running. A notify must
 * therefore be quick and take no lock of ours (lws_cancel_service is one
 * write to an event fd).
 */
#include "ferry/events.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/events_priv.h"
#include "util/clock.h"
#include "util/error.h"

struct ferry_sub {
    pthread_mutex_t lock; /* guards head, tail */
    pthread_cond_t ready; /* CLOCK_MONOTONIC; signalled when an event lands */
    ferry_event *head, *tail;
    void (*notify)(void *);
    void *arg;
    bool lazy_files;        /* file results do not wake it */
    bool notified;          /* notify called since the queue was last empty */
    bool waiting;           /* a consumer sleeps on `ready` (under lock) */
    bool waiting_any;       /* ... in ferry__sub_wait(): lazy results wake it too */
    bool interrupted;       /* waits end at once (ferry__sub_interrupt) */
    struct ferry_sub *next; /* in bus->subs, under bus->lock */
};

struct ferry_bus {
    pthread_mutex_t lock; /* guards subs */
    ferry_sub *subs;
};

int ferry_bus_new(ferry_bus **out)
{
    ferry_bus *bus = calloc(1, sizeof(*bus));

    if (!bus)
        return ferry__error(FERRY_ENOMEM, "out of memory");
    pthread_mutex_init(&bus->lock, NULL);
    *out = bus;
    return FERRY_OK;
}

void ferry_bus_free(ferry_bus *bus)
{
    if (!bus)
        return;
    pthread_mutex_destroy(&bus->lock);
    free(bus);
}

int ferry_bus_subscribe(ferry_bus *bus, ferry_sub **out, void (*notify)(void *), void *arg)
{
    ferry_sub *sub = calloc(1, sizeof(*sub));

    if (!sub)
        return ferry__error(FERRY_ENOMEM, "out of memory");
    pthread_mutex_init(&sub->lock, NULL);
    ferry__cond_init_monotonic(&sub->ready);
    sub->notify = notify;
    sub->arg = arg;
    pthread_mutex_lock(&bus->lock);
    sub->next = bus->subs;
    bus->subs = sub;
    pthread_mutex_unlock(&bus->lock);
    *out = sub;
    return FERRY_OK;
}

void ferry_bus_unsubscribe(ferry_bus *bus, ferry_sub *sub)
{
    ferry_event *ev, *next;

    pthread_mutex_lock(&bus->lock);
    for (ferry_sub **p = &bus->subs; *p; p = &(*p)->next) {
        if (*p == sub) {
            *p = sub->next;
            break;
        }
    }
    pthread_mutex_unlock(&bus->lock);
    for (ev = sub->head; ev; ev = next) {
        next = ev->next;
        ferry_event_free(ev);
    }
    pthread_cond_destroy(&sub->ready);
    pthread_mutex_destroy(&sub->lock);
    free(sub);
}

void ferry_event_free(ferry_event *ev)
{
    if (!ev)
        return;
    free(ev->job_id);
    free(ev->path);
    free(ev->dest);
    free(ev->message);
    free(ev);
}

static char *dup_or_null(const char *s, bool *oom)
{
    char *d;

    if (!s)
        return NULL;
    if (!(d = strdup(s)))
        *oom = true;
    return d;
}

static ferry_event *event_copy(const ferry_event *src)
{
    ferry_event *ev = malloc(sizeof(*ev));
    bool oom = false;

    if (!ev)
        return NULL;
    *ev = *src;
    ev->next = NULL;
    ev->job_id = dup_or_null(src->job_id, &oom);
    ev->path = dup_or_null(src->path, &oom);
    ev->dest = dup_or_null(src->dest, &oom);
    ev->message = dup_or_null(src->message, &oom);
    if (oom) {
        ferry_event_free(ev);
        return NULL;
    }
    return ev;
}

void ferry__bus_publish(ferry_bus *bus, const ferry_event *tmpl)
{
    if (!bus)
        return;
    pthread_mutex_lock(&bus->lock);
    for (ferry_sub *sub = bus->subs; sub; sub = sub->next) {
        ferry_event *ev = event_copy(tmpl);
        if (!ev)
            continue; /* out of memory: nothing better to do than to lose it */
        pthread_mutex_lock(&sub->lock);
        bool wake = !(sub->lazy_files && tmpl->type == FERRY_EVENT_FILE);
        bool notify = wake && !sub->notified && sub->notify;
        if (sub->tail)
            sub->tail->next = ev;
        else
            sub->head = ev;
        sub->tail = ev;
        if ((wake && sub->waiting) || sub->waiting_any)
            pthread_cond_signal(&sub->ready); /* a futex call only when someone sleeps */
        sub->notified |= notify;
        pthread_mutex_unlock(&sub->lock);
        /* One wake per batch: the first waking event since the consumer last
         * emptied the queue (lazy results may wait before it). */
        if (notify)
            sub->notify(sub->arg);
    }
    pthread_mutex_unlock(&bus->lock);
}

int ferry_sub_next(ferry_sub *sub, ferry_event **out, int timeout_ms)
{
    uint64_t deadline = ferry__now_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * FERRY_NS_PER_MS;
    struct timespec ts = ferry__timespec_of_ns(deadline);

    pthread_mutex_lock(&sub->lock);
    while (!sub->head && timeout_ms != 0 && !sub->interrupted) {
        int rc;
        sub->waiting = true;
        if (timeout_ms < 0)
            rc = pthread_cond_wait(&sub->ready, &sub->lock);
        else
            rc = pthread_cond_timedwait(&sub->ready, &sub->lock, &ts);
        sub->waiting = false;
        if (rc == ETIMEDOUT)
            break;
    }
    *out = sub->head;
    if (sub->head) {
        sub->head = sub->head->next;
        if (!sub->head)
            sub->tail = NULL;
        (*out)->next = NULL;
    }
    if (!sub->head)
        sub->notified = false; /* emptied: the next waking event notifies */
    pthread_mutex_unlock(&sub->lock);
    return *out ? FERRY_OK : FERRY_ETIMEOUT;
}

void ferry__sub_wait(ferry_sub *sub)
{
    pthread_mutex_lock(&sub->lock);
    while (!sub->head && !sub->interrupted) {
        sub->waiting_any = true;
        pthread_cond_wait(&sub->ready, &sub->lock);
        sub->waiting_any = false;
    }
    pthread_mutex_unlock(&sub->lock);
}

void ferry__sub_interrupt(ferry_sub *sub)
{
    pthread_mutex_lock(&sub->lock);
    sub->interrupted = true;
    pthread_cond_broadcast(&sub->ready);
    pthread_mutex_unlock(&sub->lock);
}

void ferry_sub_lazy_files(ferry_sub *sub, bool lazy)
{
    pthread_mutex_lock(&sub->lock);
    sub->lazy_files = lazy;
    pthread_mutex_unlock(&sub->lock);
}

const char *ferry_file_result_name(int result)
{
    switch (result) {
    case FERRY_FILE_DONE:
        return "done";
    case FERRY_FILE_SKIPPED:
        return "skipped";
    case FERRY_FILE_FAILED:
        return "failed";
    default:
        return "unknown";
    }
}
