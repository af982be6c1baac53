/*
 * core/flusher.h: starts the writeback of copied data off the copy threads.
 *
 * A durable copy starts writeback of what it wrote every few MiB
 * (sync_file_range with SYNC_FILE_RANGE_WRITE), so the sync before the
 * commit finds little left to do. Starting writeback only queues I/O, but
 * queuing can wait: for the device's request slots, for the filesystem's
 * journal while a commit runs. Seen here: a copy thread 55 to 157 ms inside
 * that call when a cancel came, at a few of 200 cancels. A cancel must not
 * wait for the disk, so the copy threads hand their ranges to one thread that
 * does the waiting (docs/design/cancel.md).
 *
 * Handing a range over never blocks: when the queue is full (the disk is
 * behind, and more requests would not speed it up) the kick is refused and
 * the caller asks again at its next step, with the longer range. A copy that
 * stops short (cancelled, failed) takes its queued ranges back: its temp is
 * dropped, and writing it out would only keep the disk from other work.
 */
#ifndef FERRY_CORE_FLUSHER_H
#define FERRY_CORE_FLUSHER_H

#include <stdbool.h>
#include <stdint.h>

typedef struct ferry__flusher ferry__flusher;

/* Starts the flusher's thread. */
int ferry__flusher_new(ferry__flusher **out);

/* Joins the thread; ranges still queued are dropped (their I/O is advisory). */
void ferry__flusher_free(ferry__flusher *f);

/*
 * Queues "start writeback of [off, off + len) of fd" for owner (any pointer
 * naming the caller). The flusher works on a duplicate of fd, so the caller
 * may close its own at once. Returns false, without waiting, when the queue
 * is full or fd cannot be duplicated.
 */
bool ferry__flusher_kick(ferry__flusher *f, const void *owner, int fd, uint64_t off, uint64_t len);

/* Forgets the ranges of owner still queued (not one being started). */
void ferry__flusher_drop(ferry__flusher *f, const void *owner);

#endif
