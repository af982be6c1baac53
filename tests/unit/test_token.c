/* The cancel token, the bandwidth limiter and the size parser. */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "core/cancel_gate.h"
#include "core/ratelimit.h"
#include "ferry/cancel.h"
#include "ferry/common.h"
#include "ferry/size.h"

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void test_set_once(void **state)
{
    ferry_cancel *c;
    (void)state;
    assert_int_equal(ferry_cancel_new(&c), FERRY_OK);
    assert_false(ferry_cancel_is_set(c));
    assert_int_equal(ferry_cancel_set_time_ns(c), 0);
    assert_true(ferry_cancel_set(c));
    assert_true(ferry_cancel_is_set(c));
    assert_false(ferry_cancel_set(c)); /* a second set changes nothing */
    assert_true(ferry_cancel_set_time_ns(c) > 0);
    ferry_cancel_free(c);
}

static void test_sleep_deadline(void **state)
{
    ferry_cancel *c;
    uint64_t t0 = now_ns();
    (void)state;
    ferry_cancel_new(&c);
    assert_int_equal(ferry_cancel_sleep_until(c, t0 + 20000000ull), FERRY_OK);
    assert_true(now_ns() - t0 >= 20000000ull);
    ferry_cancel_free(c);
}

static void *set_later(void *arg)
{
    struct timespec ts = {0, 30000000};
    nanosleep(&ts, NULL);
    ferry_cancel_set(arg);
    return NULL;
}

static void test_sleep_wakes_on_cancel(void **state)
{
    ferry_cancel *c;
    pthread_t th;
    uint64_t t0 = now_ns();
    (void)state;
    ferry_cancel_new(&c);
    pthread_create(&th, NULL, set_later, c);
    /* A ten-second sleep ends as soon as the token is set. */
    assert_int_equal(ferry_cancel_sleep_until(c, t0 + 10000000000ull), FERRY_ECANCELLED);
    uint64_t waited = now_ns() - t0;
    print_message("woke %.2f ms after the start (set at 30 ms)\n", (double)waited / 1e6);
    assert_true(waited < 5000000000ull);
    pthread_join(th, NULL);
    ferry_cancel_free(c);
}

static atomic_int winners;

static void *race_set(void *arg)
{
    if (ferry_cancel_set(arg))
        atomic_fetch_add(&winners, 1);
    return NULL;
}

static void test_many_setters_one_winner(void **state)
{
    ferry_cancel *c;
    pthread_t th[8];
    (void)state;
    for (int round = 0; round < 50; round++) {
        ferry_cancel_new(&c);
        atomic_store(&winners, 0);
        for (int i = 0; i < 8; i++)
            pthread_create(&th[i], NULL, race_set, c);
        for (int i = 0; i < 8; i++)
            pthread_join(th[i], NULL);
        assert_int_equal(atomic_load(&winners), 1);
        ferry_cancel_free(c);
    }
}

static void test_gate(void **state)
{
    ferry_cancel *c;
    (void)state;
    ferry_cancel_new(&c);
    assert_true(ferry__gate_enter(c));
    ferry__gate_leave(c);
    ferry_cancel_set(c);
    assert_false(ferry__gate_enter(c)); /* closed for good */
    ferry_cancel_free(c);
}

static void test_ratelimit_paces_and_cancels(void **state)
{
    ferry__ratelimit rl;
    ferry_cancel *c;
    uint64_t t0;
    (void)state;
    ferry_cancel_new(&c);
    ferry__ratelimit_init(&rl, 10u << 20); /* 10 MiB/s */
    t0 = now_ns();
    for (int i = 0; i < 6; i++) /* 3 MiB: at least 0.2 s after the first slot */
        assert_int_equal(ferry__ratelimit_take(&rl, 512u << 10, c), FERRY_OK);
    assert_true(now_ns() - t0 >= 200000000ull);
    /* A long reservation ends at once on cancel. */
    ferry__ratelimit_take(&rl, 100u << 20, c);
    pthread_t th;
    pthread_create(&th, NULL, set_later, c);
    t0 = now_ns();
    assert_int_equal(ferry__ratelimit_take(&rl, 1u << 20, c), FERRY_ECANCELLED);
    assert_true(now_ns() - t0 < 5000000000ull);
    pthread_join(th, NULL);
    assert_int_equal(ferry__ratelimit_chunk(&rl, 1u << 20), 1u << 20);
    ferry__ratelimit_release(&rl);
    ferry__ratelimit_init(&rl, 1000);
    assert_int_equal(ferry__ratelimit_chunk(&rl, 1u << 20), 4096);
    ferry__ratelimit_release(&rl);
    ferry_cancel_free(c);
}

static void test_size_parse(void **state)
{
    static const struct {
        const char *in;
        uint64_t want;
    } ok[] = {
        {"1024", 1024},         {"50M", 50ull << 20},    {"50m", 50ull << 20},
        {"1.5G", 3ull << 29},   {"400MB", 400000000ull}, {"2GiB", 2ull << 30},
        {"50M/s", 50ull << 20}, {"50MB/s", 50000000ull}, {"10k", 10240},
        {"0", 0},               {" 7 K", 7168},          {"1T", 1ull << 40},
    };
    static const char *bad[] = {"", "abc", "-5", "5X", "1e400", "M", "5 MiBs", "1.5.5G"};
    uint64_t v;
    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        assert_int_equal(ferry_size_parse(ok[i].in, &v), FERRY_OK);
        assert_int_equal(v, ok[i].want);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (ferry_size_parse(bad[i], &v) != FERRY_EINVAL) {
            print_error("'%s' was accepted\n", bad[i]);
            fail();
        }
        assert_non_null(strstr(ferry_error_last(), "size"));
    }
}

static void test_size_format(void **state)
{
    char buf[32];
    (void)state;
    assert_string_equal(ferry_size_format(812, buf, sizeof(buf)), "812 B");
    assert_string_equal(ferry_size_format(1536, buf, sizeof(buf)), "1.5 KiB");
    assert_string_equal(ferry_size_format(244ull << 20, buf, sizeof(buf)), "244 MiB");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_once),
        cmocka_unit_test(test_sleep_deadline),
        cmocka_unit_test(test_sleep_wakes_on_cancel),
        cmocka_unit_test(test_many_setters_one_winner),
        cmocka_unit_test(test_gate),
        cmocka_unit_test(test_ratelimit_paces_and_cancels),
        cmocka_unit_test(test_size_parse),
        cmocka_unit_test(test_size_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
