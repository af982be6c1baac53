/* The event bus: order, and when a subscriber's notify runs. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/events_priv.h"
#include "ferry/common.h"
#include "ferry/events.h"

static void count(void *arg)
{
    (*(int *)arg)++;
}

static void publish(ferry_bus *bus, ferry_event_type type)
{
    char id[] = "j1", path[] = "/a";
    ferry_event ev = {.type = type, .job_id = id, .path = path, .state = 1};
    ferry__bus_publish(bus, &ev);
}

/* A bus with one subscriber whose notify counts its calls into *calls. */
static void open_bus(ferry_bus **bus, ferry_sub **sub, int *calls)
{
    assert_int_equal(ferry_bus_new(bus), FERRY_OK);
    assert_int_equal(ferry_bus_subscribe(*bus, sub, count, calls), FERRY_OK);
}

static void close_bus(ferry_bus *bus, ferry_sub *sub)
{
    ferry_bus_unsubscribe(bus, sub);
    ferry_bus_free(bus);
}

/* Takes every queued event; returns how many, checking their types in order. */
static int drain(ferry_sub *sub, const ferry_event_type *want, int nwant)
{
    ferry_event *ev;
    int n = 0;

    while (ferry_sub_next(sub, &ev, 0) == FERRY_OK) {
        assert_true(n < nwant);
        assert_int_equal(ev->type, want[n]);
        ferry_event_free(ev);
        n++;
    }
    return n;
}

/* One notify per batch: into an empty queue, not for the events after it. */
static void test_notify_once_per_batch(void **state)
{
    ferry_bus *bus;
    ferry_sub *sub;
    int calls = 0;
    const ferry_event_type all[] = {FERRY_EVENT_FILE, FERRY_EVENT_FILE, FERRY_EVENT_STATE};
    (void)state;

    open_bus(&bus, &sub, &calls);
    publish(bus, FERRY_EVENT_FILE);
    publish(bus, FERRY_EVENT_FILE);
    publish(bus, FERRY_EVENT_STATE);
    assert_int_equal(calls, 1);
    assert_int_equal(drain(sub, all, 3), 3);
    publish(bus, FERRY_EVENT_FILE);
    assert_int_equal(calls, 2); /* emptied: the next one notifies again */
    close_bus(bus, sub);
}

/*
 * Lazy results queue without a wake-up; a state change behind them wakes the
 * subscriber at once (the daemon's loop must see a job's end when it comes,
 * not at its next tick), and everything comes out in order. Eager again,
 * results wake it.
 */
static void test_lazy_files_then_state(void **state)
{
    ferry_bus *bus;
    ferry_sub *sub;
    int calls = 0;
    const ferry_event_type order[] = {FERRY_EVENT_FILE, FERRY_EVENT_FILE, FERRY_EVENT_STATE,
                                      FERRY_EVENT_FILE};
    (void)state;

    open_bus(&bus, &sub, &calls);
    ferry_sub_lazy_files(sub, true);
    publish(bus, FERRY_EVENT_FILE);
    publish(bus, FERRY_EVENT_FILE);
    assert_int_equal(calls, 0);
    publish(bus, FERRY_EVENT_STATE);
    assert_int_equal(calls, 1);
    publish(bus, FERRY_EVENT_FILE);
    assert_int_equal(calls, 1);
    assert_int_equal(drain(sub, order, 4), 4);

    ferry_sub_lazy_files(sub, false);
    publish(bus, FERRY_EVENT_FILE);
    assert_int_equal(calls, 2);
    close_bus(bus, sub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_notify_once_per_batch),
        cmocka_unit_test(test_lazy_files_then_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
