/* agent/measure_stats.c: ping statistics, and when a throughput series is
 * stable enough to end the ramp-up or stop early, on made-up series and on
 * series recorded from ispeed-agent on tbf-shaped links (bench/accuracy.sh's
 * set-up). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

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


/* Recorded: 2 Mbit/s tbf, one stream, upload (bytes the server acknowledged),
 * 10 s. The goodput limit of the link is 2e6 * 1448 / 1514 = 1.913 Mbit/s. */
static const int tbf2_upload_ms[] = {
    0, 97, 197, 298, 409, 497, 598, 699, 799, 899, 999, 1100,
    1199, 1299, 1399, 1499, 1600, 1697, 1797, 1900, 1997, 2100, 2200, 2303,
    2398, 2499, 2599, 2699, 2798, 2898, 2997, 3100, 3197, 3297, 3399, 3501,
    3600, 3697, 3799, 3926, 3998, 4118, 4198, 4297, 4400, 4504, 4600, 4700,
    4797, 4897, 4997, 5097, 5197, 5299, 5399, 5500, 5598, 5713, 5799, 5897,
    5997, 6098, 6198, 6298, 6396, 6497, 6600, 6700, 6800, 6897, 6997, 7097,
    7197, 7297, 7398, 7498, 7598, 7712, 7796, 7897, 7997, 8097, 8198, 8299,
    8397, 8497, 8597, 8700, 8798, 8900, 9000, 9098, 9199, 9298, 9397, 9500,
    9599, 9700, 9798, 9897, 9997,
};
static const uint64_t tbf2_upload_bytes[] = {
    0, 14272, 38888, 62056, 88120, 109840, 133008, 158136,
    181304, 205920, 229088, 253704, 275424, 301488, 324656, 346376,
    370992, 394160, 417328, 441944, 465112, 491176, 515792, 540408,
    562128, 586744, 609912, 634528, 657696, 680864, 705480, 728648,
    753264, 776432, 801048, 822768, 847384, 870552, 896616, 924128,
    941504, 971912, 989288, 1012456, 1038520, 1063136, 1086304, 1110920,
    1134088, 1157256, 1180424, 1205040, 1228208, 1252824, 1275992, 1300608,
    1323776, 1349840, 1370112, 1393280, 1417896, 1443960, 1465680, 1488848,
    1513464, 1536632, 1561248, 1585864, 1609032, 1633648, 1655368, 1681432,
    1704600, 1729216, 1752384, 1775552, 1800168, 1827680, 1847952, 1871120,
    1895736, 1918904, 1943520, 1966688, 1989856, 2014472, 2037640, 2060808,
    2086872, 2110040, 2133208, 2157824, 2180992, 2205608, 2228776, 2251944,
    2276560, 2299728, 2324344, 2347512, 2370680,
};


/* Recorded: 20 Mbit/s tbf, four streams, download, stopped early at 5.3 s
 * (limit 19.13 Mbit/s). */
static const int tbf20_download_ms[] = {
    0, 100, 200, 301, 397, 500, 597, 700, 797, 899, 1000, 1097,
    1198, 1297, 1397, 1500, 1597, 1700, 1797, 1900, 2000, 2099, 2198, 2299,
    2399, 2500, 2598, 2697, 2799, 2897, 3001, 3098, 3200, 3300, 3397, 3585,
    3598, 3698, 3813, 3919, 4000, 4130, 4199, 4300, 4397, 4497, 4601, 4699,
    4798, 4898, 4999, 5098, 5200, 5200,
};
static const uint64_t tbf20_download_bytes[] = {
    0, 289844, 436092, 693836, 984884, 1246972, 1341092, 1724812,
    1844996, 1940564, 2133148, 2541484, 2849156, 3070700, 3280660, 3583292,
    3878684, 4062580, 4356524, 4592548, 4831468, 5068244, 5304268, 5556220,
    5782108, 6026820, 6251260, 6504660, 6750820, 6976708, 7224316, 7466132,
    7690572, 7939628, 8162620, 8605708, 8662180, 8880828, 9166084, 9403556,
    9601932, 9908908, 10078324, 10330276, 10532996, 10811012, 11038348, 11274372,
    11519084, 11749316, 11999820, 12218468, 12480556, 12480556,
};

/* Replays a recorded series sample by sample as the transfer's 100 ms tick
 * does: where the ramp-up ends, where it stops (early, or at its last
 * sample), and the goodput over the kept window. */
typedef struct replay {
    size_t ramp_end, stop;
    int stopped_early;
    uint64_t goodput_bps;
} replay;

static replay replay_series(const int *ms, const uint64_t *bytes, size_t n, int duration_ms) {
    int64_t *t = calloc(n, sizeof *t);
    replay r = {0, n - 1, 0, 0};
    int ramp_done = 0;

    assert_non_null(t);
    for (size_t i = 0; i < n; i++) t[i] = (int64_t)ms[i] * 1000;
    for (size_t k = 1; k < n; k++) {
        stats_series s = {t, bytes, k + 1};
        if (!ramp_done && stats_ramp_over(&s, k, duration_ms)) {
            ramp_done = 1;
            r.ramp_end = k;
        }
        if (ramp_done && stats_stop_early(&s, r.ramp_end, k)) {
            r.stop = k;
            r.stopped_early = 1;
            break;
        }
    }
    {
        stats_series s = {t, bytes, n};
        if (!ramp_done) r.ramp_end = stats_ramp_fallback(&s, r.stop);
        r.goodput_bps = stats_goodput_bps(&s, r.ramp_end, r.stop);
    }
    free(t);
    return r;
}

#define NELEM(a) (sizeof a / sizeof a[0])

static void recorded_slow_upload(void **state) {
    (void)state;
    replay r = replay_series(tbf2_upload_ms, tbf2_upload_bytes, NELEM(tbf2_upload_ms), 10000);

    /* Slow start is cut (never before 2 s); at 2 Mbit/s the kept window
     * never holds 4 MiB, so the test runs its whole duration instead of
     * stopping on a noisy 3 s window. */
    assert_true(r.ramp_end >= 20 && r.ramp_end <= 30);
    assert_false(r.stopped_early);
    assert_int_equal(r.stop, NELEM(tbf2_upload_ms) - 1);
    assert_true(r.goodput_bps >= 0.97 * 1913011 && r.goodput_bps <= 1.03 * 1913011);
}

static void recorded_fast_download(void **state) {
    (void)state;
    replay r = replay_series(tbf20_download_ms, tbf20_download_bytes, NELEM(tbf20_download_ms), 10000);

    /* Stable from about 2 s, and again for 3 s with more than 4 MiB kept:
     * stops early, and the figure agrees with the link. */
    assert_true(r.ramp_end >= 20 && r.ramp_end <= 25);
    assert_true(r.stopped_early);
    assert_true(r.stop >= r.ramp_end + 30);
    assert_true(r.goodput_bps >= 0.97 * 19130119 && r.goodput_bps <= 1.03 * 19130119);
}

static void ramp_and_stop_rules(void **state) {
    (void)state;
    int64_t t[200];
    uint64_t b[200];
    stats_series s = {t, b, 200};

    /* Flat from the start: the ramp-up still keeps out the first 2 s. */
    build(t, b, 200, flat);
    assert_false(stats_ramp_over(&s, 19, 10000));
    assert_true(stats_ramp_over(&s, 20, 10000));
    /* 1 MB/s: stable at once, but 3 s hold 3 MB, under STATS_STOP_MIN_BYTES;
     * by 5 s (5 MB) it may stop. */
    assert_false(stats_stop_early(&s, 20, 50));
    assert_true(stats_stop_early(&s, 20, 63));
    assert_false(stats_stop_early(&s, 20, 20));

    /* Climbing until 3 s: the ramp-up ends once it has been flat for 1 s. */
    build(t, b, 200, ramp_then_flat);
    assert_false(stats_ramp_over(&s, 25, 10000));
    assert_true(stats_ramp_over(&s, 45, 10000));

    /* Never stable: the ramp-up is declared over at half the duration ... */
    build(t, b, 200, sawtooth);
    assert_false(stats_ramp_over(&s, 45, 10000));
    assert_true(stats_ramp_over(&s, 50, 10000));
    /* ... and a direction cut short before that keeps its second half,
     * or all of a series too short to have one. */
    assert_int_equal(stats_ramp_fallback(&s, 40), 20);
    assert_int_equal(stats_ramp_fallback(&s, 1), 0);
    for (size_t k = 50; k < 200; k++) assert_false(stats_stop_early(&s, 50, k));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ping_statistics),
        cmocka_unit_test(stability_rules),
        cmocka_unit_test(ramp_and_stop_rules),
        cmocka_unit_test(recorded_slow_upload),
        cmocka_unit_test(recorded_fast_download),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
