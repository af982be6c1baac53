/* core/events_priv.h: publishing onto a bus (libferry only). */
#ifndef FERRY_CORE_EVENTS_PRIV_H
#define FERRY_CORE_EVENTS_PRIV_H

#include "ferry/events.h"

/* Copies *ev into every subscriber's queue; never blocks on a subscriber. NULL bus: no-op. */
void ferry__bus_publish(ferry_bus *bus, const ferry_event *ev);

#endif
