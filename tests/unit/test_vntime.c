/* common/vntime.c: months are Vietnam's (UTC+7), not the machine's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "vntime.h"

static void month_turns_at_midnight_utc7(void **state) {
    (void)state;
    char m[8];
    int64_t start, end;
    assert_int_equal(vntime_month_bounds("2025-07", &start, &end), 0);
    /* 2025-07-01 00:00 UTC+7 is 2025-06-30 17:00 UTC = 1751302800 s. */
    assert_int_equal(start, 1751302800000LL);
    assert_int_equal(end - start, 31LL * 86400000);
    vntime_month(start, m);
    assert_string_equal(m, "2025-07");
    vntime_month(start - 1, m);
    assert_string_equal(m, "2025-06");
    vntime_month(end - 1, m);
    assert_string_equal(m, "2025-07");
    vntime_month(end, m);
    assert_string_equal(m, "2025-08");
}

static void month_bounds_cover_leap_years_and_december(void **state) {
    (void)state;
    int64_t start, end, s2, e2;
    assert_int_equal(vntime_month_bounds("2024-02", &start, &end), 0);
    assert_int_equal(end - start, 29LL * 86400000);
    assert_int_equal(vntime_month_bounds("2025-12", &start, &end), 0);
    assert_int_equal(vntime_month_bounds("2026-01", &s2, &e2), 0);
    assert_int_equal(end, s2);
    char text[20];
    vntime_format(start, text);
    assert_string_equal(text, "2025-12-01 00:00:00");
}

static void month_rejects_malformed(void **state) {
    (void)state;
    int64_t s, e;
    assert_int_equal(vntime_month_bounds("2025-13", &s, &e), -1);
    assert_int_equal(vntime_month_bounds("2025-7", &s, &e), -1);
    assert_int_equal(vntime_month_bounds("2025/07", &s, &e), -1);
    assert_int_equal(vntime_month_bounds("2025-07x", &s, &e), -1);
    assert_int_equal(vntime_month_bounds("", &s, &e), -1);
}

/* The monotonic clock is in microseconds: a 20 ms sleep moves it by 20,000
 * or more (and by far less than the seconds a wrong unit would give), and it
 * never goes back. */
static void mono_counts_microseconds(void **state) {
    (void)state;
    int64_t t0 = vntime_mono_us(), prev = t0;
    for (int i = 0; i < 1000; i++) {
        int64_t t = vntime_mono_us();
        assert_true(t >= prev);
        prev = t;
    }
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    int64_t d = vntime_mono_us() - t0;
    assert_true(d >= 20000);
    assert_true(d < 5 * 1000 * 1000);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(month_turns_at_midnight_utc7),
        cmocka_unit_test(month_bounds_cover_leap_years_and_december),
        cmocka_unit_test(month_rejects_malformed),
        cmocka_unit_test(mono_counts_microseconds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
