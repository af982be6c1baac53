/* core/events_priv.h: publishing onto a bus (libferry only). */
#ifndef FERRY_CORE_EVENTS_PRIV_H
#define FERRY_CORE_EVENTS_PRIV_H

#include "ferry/events.h"

/* Ends every wait of ferry_sub_next on this subscriber, now and later (its
 * consumer is shutting down and drains what is left without waiting). */
void ferry__sub_interrupt(ferry_sub *sub);

/*
 * Waits, without a deadline, until the subscriber has an event queued (file
 * results too, lazy or not: a consumer with no clock of its own running
 * would otherwise sleep on them), or is interrupted; takes nothing. For a
 * consumer that drains on its own clock only while there is work: the
 * journal's writer, idle between jobs.
 */
void ferry__sub_wait(ferry_sub *sub);

/* Copies *ev into every subscriber's queue; never blocks on a subscriber. NULL bus: no-op. */
void ferry__bus_publish(ferry_bus *bus, const ferry_event *ev);

#endif
