/*
 * core/cancel_gate.h: the commit gate inside a cancel token (libferry only).
 *
 * Every commit (the step that gives a finished temp file its final name)
 * runs between gate_enter and gate_leave. ferry_cancel_set() takes the same
 * lock, so once it returns, no commit is in flight and none can start.
 * A commit holds the gate for one linkat/rename: a cancel waits at most that.
 */
#ifndef FERRY_CORE_CANCEL_GATE_H
#define FERRY_CORE_CANCEL_GATE_H

#include <stdbool.h>

#include "ferry/cancel.h"

/* Enters the gate: true with the gate held, false (not held) when cancelled. */
bool ferry__gate_enter(ferry_cancel *c);

/* Leaves a gate entered with ferry__gate_enter(). */
void ferry__gate_leave(ferry_cancel *c);

#endif
