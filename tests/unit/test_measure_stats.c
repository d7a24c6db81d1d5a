/* agent/measure_stats.c: ping statistics, and when a throughput series is
 * stable enough to end the ramp-up or stop early. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "measure_stats.h"

static void ping_statistics(void **state) {
    (void)state;
    const double rtt[] = {12, 10, 11, 30, 10};

    assert_true(stats_min(rtt, 5) == 10);
    assert_true(stats_median(rtt, 5) == 11);
    assert_true(stats_median(rtt, 4) == 11.5);
    /* |10-12| + |11-10| + |30-11| + |10-30| = 42, over 4 differences */
    assert_true(stats_jitter(rtt, 5) == 10.5);
    assert_true(stats_median(rtt, 0) == 0);
    assert_true(stats_jitter(rtt, 1) == 0);
}

/* A series at 100 ms steps: rate_at(k) bytes/s during step k. */
static void build(int64_t *t, uint64_t *b, size_t n, double (*rate_at)(size_t)) {
    t[0] = 0;
    b[0] = 0;
    for (size_t k = 1; k < n; k++) {
        t[k] = (int64_t)k * 100000;
        b[k] = b[k - 1] + (uint64_t)(rate_at(k) / 10);
    }
}

static double flat(size_t k) { (void)k; return 1e6; }
static double ramp_then_flat(size_t k) { return k < 30 ? 1e5 * (double)k / 3 : 1e6; }
static double sawtooth(size_t k) { return (k / 20) % 2 ? 1e6 : 3e5; }

static void stability_rules(void **state) {
    (void)state;
    int64_t t[100];
    uint64_t b[100];
    stats_series s = {t, b, 100};

    build(t, b, 100, flat);
    assert_true(stats_rate_1s(&s, 50) > 0.999e6 && stats_rate_1s(&s, 50) < 1.001e6);
    assert_true(stats_stable(&s, 20, 1));
    assert_false(stats_stable(&s, 19, 1)); /* not enough samples for a 1 s span of 1 s rates */
    assert_true(stats_stable(&s, 40, 3));
    assert_int_equal(stats_goodput_bps(&s, 20, 50), 8000000);

    /* Still climbing at 2.5 s: not stable; flat from 3 s, stable by 5 s. */
    build(t, b, 100, ramp_then_flat);
    assert_false(stats_stable(&s, 25, 1));
    assert_true(stats_stable(&s, 50, 1));

    /* Two seconds at 0.3 MB/s, two at 1 MB/s, and so on: not stable across
     * a switch, and never for the 3 s that would stop a test early. */
    build(t, b, 100, sawtooth);
    assert_false(stats_stable(&s, 45, 1));
    assert_false(stats_stable(&s, 65, 1));
    for (size_t k = 40; k < 100; k++) assert_false(stats_stable(&s, k, STATS_STOP_SPAN_S));

    /* Nothing moving is not "stable". */
    for (size_t k = 0; k < 100; k++) b[k] = 0;
    assert_false(stats_stable(&s, 50, 1));
    assert_int_equal(stats_goodput_bps(&s, 20, 50), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ping_statistics),
        cmocka_unit_test(stability_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
