/* Unit tests of common/demand.c: samples
 * needed, days left, rates and "will it make it" at fixed instants of July
 * 2025 (31 days), the recruiting arithmetic. Links ispeed_common. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>

#include "demand.h"

#define DAY 86400000LL
#define JUL_START 1751302800000LL /* 2025-07-01 00:00 UTC+7 */
#define JUL_END (JUL_START + 31 * DAY)

static void test_compute(void **state) {
    (void)state;
    demand d;
    /* Day 11 00:00: 10 days gone, 21 left. 100 of 300: 10 a day so far,
     * 200 needed at 200/21 a day; 10 x 21 = 210 >= 200: it makes it. */
    demand_compute(100, 300, JUL_START + 10 * DAY, JUL_START, JUL_END, &d);
    assert_int_equal(d.needed, 200);
    assert_true(fabs(d.days_left - 21.0) < 1e-9);
    assert_true(fabs(d.rate_needed - 200.0 / 21) < 1e-9);
    assert_true(fabs(d.rate_current - 10.0) < 1e-9);
    assert_int_equal(d.will_make_it, 1);
    /* 90: 9 a day x 21 = 189 < 210 needed: it does not. */
    demand_compute(90, 300, JUL_START + 10 * DAY, JUL_START, JUL_END, &d);
    assert_int_equal(d.needed, 210);
    assert_int_equal(d.will_make_it, 0);
    /* Met: nothing needed, whatever the day. */
    demand_compute(301, 300, JUL_START + 2 * DAY, JUL_START, JUL_END, &d);
    assert_int_equal(d.needed, 0);
    assert_true(d.rate_needed == 0.0);
    assert_int_equal(d.will_make_it, 1);
    /* Before the month: all of it left, no rate yet. */
    demand_compute(0, 300, JUL_START - DAY, JUL_START, JUL_END, &d);
    assert_true(fabs(d.days_left - 31.0) < 1e-9);
    assert_true(fabs(d.rate_needed - 300.0 / 31) < 1e-9);
    assert_true(d.rate_current == 0.0);
    assert_int_equal(d.will_make_it, 0);
    /* After it: nothing left, not made, no division by zero. */
    demand_compute(10, 300, JUL_END + DAY, JUL_START, JUL_END, &d);
    assert_true(d.days_left == 0.0);
    assert_true(d.rate_needed == 0.0);
    assert_int_equal(d.will_make_it, 0);
    /* Thirty seconds before the end: the rate is bounded by a minute. */
    demand_compute(299, 300, JUL_END - 30000, JUL_START, JUL_END, &d);
    assert_true(fabs(d.rate_needed - 1440.0) < 1e-6);
}

static void test_recruit(void **state) {
    (void)state;
    /* 15 a day needed, 12 per agent (the daily cap): 2 agents; has 1. */
    assert_int_equal(demand_recruit(15.0, 12.0, 1), 1);
    assert_int_equal(demand_recruit(15.0, 12.0, 2), 0);
    assert_int_equal(demand_recruit(24.0, 12.0, 0), 2); /* exact multiple: no extra */
    assert_int_equal(demand_recruit(0.0, 12.0, 0), 0);
    assert_int_equal(demand_recruit(5.0, 0.0, 0), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compute),
        cmocka_unit_test(test_recruit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
