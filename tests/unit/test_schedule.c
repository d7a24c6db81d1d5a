/* agent/schedule.c and agent/budget.c: when tests run and whether they fit
 * the month's data budget. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "budget.h"
#include "schedule.h"
#include "vntime.h"

#define MIN 60000LL
#define HOUR (60 * MIN)

/* 2025-07-10 12:00 in Vietnam. */
static int64_t noon(void) {
    int64_t s, e;
    vntime_month_bounds("2025-07", &s, &e);
    return s + 9 * 24 * HOUR + 12 * HOUR;
}

static void next_slot_is_interval_plus_bounded_jitter(void **state) {
    (void)state;
    schedule_opts o = {.interval_ms = 60 * MIN, .jitter_ms = 10 * MIN, .quiet_start_min = -1};
    int64_t last = noon(), lo = INT64_MAX, hi = INT64_MIN;
    for (uint32_t r = 0; r < 100000; r += 7) {
        int64_t next = schedule_next(&o, last, last + 1000, r * 2654435761u);
        assert_true(next >= last + 50 * MIN && next <= last + 70 * MIN);
        if (next < lo) lo = next;
        if (next > hi) hi = next;
    }
    /* The jitter really spreads agents over the whole window. */
    assert_true(lo < last + 52 * MIN && hi > last + 68 * MIN);
    o.jitter_ms = 0;
    assert_true(schedule_next(&o, last, last, 12345) == last + 60 * MIN);
}

static void missed_slots_are_not_made_up(void **state) {
    (void)state;
    schedule_opts o = {.interval_ms = 60 * MIN, .jitter_ms = 0, .quiet_start_min = -1};
    int64_t last = noon(), now = last + 5 * HOUR; /* the machine slept */
    assert_true(schedule_next(&o, last, now, 1) == now);
    /* First start: within the jitter window from now. */
    o.jitter_ms = 10 * MIN;
    int64_t first = schedule_next(&o, 0, now, 99);
    assert_true(first >= now && first <= now + 10 * MIN);
}

static void quiet_hours_push_tests_to_their_end(void **state) {
    (void)state;
    /* 23:00-06:00 across midnight, Vietnam's time. */
    schedule_opts o = {.interval_ms = 60 * MIN, .jitter_ms = 0, .quiet_start_min = 23 * 60, .quiet_end_min = 6 * 60};
    int64_t t = noon();
    assert_false(schedule_in_quiet(&o, t));
    assert_true(schedule_in_quiet(&o, t + 11 * HOUR));      /* 23:00 */
    assert_true(schedule_in_quiet(&o, t + 17 * HOUR));      /* 05:00 */
    assert_false(schedule_in_quiet(&o, t + 18 * HOUR));     /* 06:00 */
    int64_t next = schedule_next(&o, t + 10 * HOUR + 30 * MIN, t, 0); /* slot 23:30 */
    assert_true(next == t + 18 * HOUR);                     /* 06:00 next day */
    /* Daytime quiet window. */
    schedule_opts d = {.interval_ms = 60 * MIN, .jitter_ms = 0, .quiet_start_min = 9 * 60, .quiet_end_min = 17 * 60};
    assert_true(schedule_in_quiet(&d, t));
    assert_true(schedule_next(&d, t - HOUR, t - HOUR, 0) == t + 5 * HOUR);
}

static void budget_stops_before_the_cap_and_rolls_monthly(void **state) {
    (void)state;
    budget b = {0};
    int64_t t = noon();
    budget_roll(&b, t);
    assert_string_equal(b.month, "2025-07");
    assert_true(budget_cap(0, 0, 0) == 0);                        /* fixed: unlimited */
    assert_true(budget_cap(0, 0, 1) == BUDGET_MOBILE_DEFAULT);    /* mobile: 2 GB */
    assert_true(budget_cap(0, 1, 1) == 0);
    assert_true(budget_cap(500, 0, 0) == 500);
    uint64_t cap = 1000;
    b.used = 700;
    assert_true(budget_allows(&b, cap, 300));
    assert_false(budget_allows(&b, cap, 301));
    assert_true(budget_remaining(&b, cap) == 300);
    assert_true(budget_allows(&b, 0, UINT64_MAX));
    b.used = 1200;
    assert_false(budget_allows(&b, cap, 0));
    assert_true(budget_remaining(&b, cap) == 0);
    /* A new month in Vietnam starts from zero. */
    int64_t s, e;
    vntime_month_bounds("2025-07", &s, &e);
    budget_roll(&b, e - 1);
    assert_true(b.used == 1200);
    budget_roll(&b, e);
    assert_string_equal(b.month, "2025-08");
    assert_true(b.used == 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(next_slot_is_interval_plus_bounded_jitter),
        cmocka_unit_test(missed_slots_are_not_made_up),
        cmocka_unit_test(quiet_hours_push_tests_to_their_end),
        cmocka_unit_test(budget_stops_before_the_cap_and_rolls_monthly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
