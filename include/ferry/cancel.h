/*
 * ferry/cancel.h: a cancel token.
 *
 * A token is set once, from any thread, and never cleared. Setting it also
 * closes the commit gate of whatever uses the token (see core/cancel.c):
 * once ferry_cancel_set() has returned, no file guarded by this token can
 * receive a final name. Checking is one atomic load, so workers check it
 * between every chunk. Every wait in the engine sleeps on the token, so a
 * set wakes it at once.
 */
#ifndef FERRY_CANCEL_H
#define FERRY_CANCEL_H

#include <stdbool.h>
#include <stdint.h>

typedef struct ferry_cancel ferry_cancel;

/* Allocates an unset token; *out is owned by the caller. */
int ferry_cancel_new(ferry_cancel **out);

/* Frees a token. No other thread may still use it. */
void ferry_cancel_free(ferry_cancel *c);

/*
 * Sets the token and closes its gate; wakes every sleeper. Any thread.
 * Returns true for the call that set it, false when it was already set.
 */
bool ferry_cancel_set(ferry_cancel *c);

/* True once set. One atomic load; any thread. */
bool ferry_cancel_is_set(const ferry_cancel *c);

/* CLOCK_MONOTONIC nanoseconds of the set, or 0 while unset. */
uint64_t ferry_cancel_set_time_ns(const ferry_cancel *c);

/*
 * Sleeps until the CLOCK_MONOTONIC deadline (nanoseconds) or until the token
 * is set, whichever is first. Returns FERRY_OK at the deadline and
 * FERRY_ECANCELLED as soon as the token is set.
 */
int ferry_cancel_sleep_until(ferry_cancel *c, uint64_t deadline_ns);

#endif
