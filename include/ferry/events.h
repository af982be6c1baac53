/*
 * ferry/events.h: job events for subscribers (the CLI, the daemon's WebSocket).
 *
 * A bus fans events out to its subscribers. Publishing never blocks on a
 * subscriber: each subscriber has its own unbounded queue of state changes
 * and per-file results (these are never dropped). Progress is not queued at
 * all: a subscriber reads the latest figures with ferry_job_progress() at its
 * own pace, so a slow one sees fresh numbers, never a backlog.
 */
#ifndef FERRY_EVENTS_H
#define FERRY_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct ferry_bus ferry_bus;
typedef struct ferry_sub ferry_sub;

typedef enum {
    FERRY_EVENT_STATE = 1, /* the job changed state */
    FERRY_EVENT_FILE = 2,  /* one entry of the job reached its result */
    FERRY_EVENT_END = 3    /* the job's threads have finished; counters are final */
} ferry_event_type;

typedef enum {
    FERRY_FILE_DONE = 1,    /* copied and committed under its final name */
    FERRY_FILE_SKIPPED = 2, /* left alone (identical, policy, special file) */
    FERRY_FILE_FAILED = 3   /* not copied; message says why */
} ferry_file_result;

typedef struct ferry_event {
    ferry_event_type type;
    char *job_id;      /* the job's id */
    int state;         /* FERRY_EVENT_STATE: the new ferry_job_state */
    int result;        /* FERRY_EVENT_FILE: a ferry_file_result */
    char *path;        /* FERRY_EVENT_FILE: the source path */
    char *dest;        /* FERRY_EVENT_FILE: the destination path, or NULL */
    char *message;     /* why it failed or was skipped, or the job's error; or NULL */
    uint64_t bytes;    /* FERRY_EVENT_FILE: size of the file */
    uint64_t time_ns;  /* CLOCK_REALTIME when it happened */
    struct ferry_event *next; /* internal queue link */
} ferry_event;

/* Creates an empty bus; *out owned by the caller. */
int ferry_bus_new(ferry_bus **out);

/* Frees the bus; every subscriber must have been removed. */
void ferry_bus_free(ferry_bus *bus);

/*
 * Adds a subscriber. notify, if set, is called on the publishing thread when
 * an event lands in the subscriber's empty queue: one call per batch, for a
 * coalesced wakeup such as lws_cancel_service(). It runs under the bus's
 * lock, so it must be quick and must not call back into the bus; no notify
 * runs after ferry_bus_unsubscribe() has returned.
 */
int ferry_bus_subscribe(ferry_bus *bus, ferry_sub **out, void (*notify)(void *), void *arg);

/*
 * Makes per-file results lazy for this subscriber (or eager again): they are
 * still queued, never dropped, but no longer wake it (nor call its notify);
 * state changes and the end still do, whatever waits before them. For a
 * subscriber that drains on its own clock anyway (a progress bar, the
 * journal's group commit, a daemon no client of which takes results), this
 * saves a thread wake-up per file. May be called at any time.
 */
void ferry_sub_lazy_files(ferry_sub *sub, bool lazy);

/* Removes and frees a subscriber and what it still had queued. */
void ferry_bus_unsubscribe(ferry_bus *bus, ferry_sub *sub);

/*
 * Takes the next event, waiting up to timeout_ms (0: don't wait, -1:
 * forever). Returns FERRY_OK with *out owned by the caller, or
 * FERRY_ETIMEOUT with *out NULL.
 */
int ferry_sub_next(ferry_sub *sub, ferry_event **out, int timeout_ms);

/* Frees an event taken with ferry_sub_next(). */
void ferry_event_free(ferry_event *ev);

/* "done", "skipped", "failed". */
const char *ferry_file_result_name(int result);

#endif
