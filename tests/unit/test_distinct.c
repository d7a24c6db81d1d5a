/* Unit tests of collector/distinct.c: exact up to the bound, a HyperLogLog
 * estimate within a few standard errors above it, the wire form round trip
 * and damaged input refused. Links ispeed_collector_core. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "distinct.h"

static void add_n(distinct_t **d, unsigned from, unsigned n) {
    char id[32];
    for (unsigned i = from; i < from + n; i++) {
        snprintf(id, sizeof id, "agent-%u", i);
        assert_int_equal(distinct_add(d, id), 0);
    }
}

static void test_exact(void **state) {
    (void)state;
    distinct_t *d = NULL;
    assert_int_equal(distinct_count(d), 0);
    add_n(&d, 0, 5);
    add_n(&d, 0, 5); /* the same five again */
    assert_int_equal(distinct_count(d), 5);
    add_n(&d, 5, DISTINCT_EXACT_MAX - 5);
    assert_int_equal(distinct_count(d), DISTINCT_EXACT_MAX);
    assert_true(distinct_is_exact(d));
    add_n(&d, 0, DISTINCT_EXACT_MAX); /* nothing new: still exact */
    assert_true(distinct_is_exact(d));
    add_n(&d, DISTINCT_EXACT_MAX, 1);
    assert_false(distinct_is_exact(d));
    /* Just past the bound the estimate is linear counting: close. */
    uint32_t c = distinct_count(d);
    assert_true(c >= DISTINCT_EXACT_MAX && c <= DISTINCT_EXACT_MAX + 4);
    distinct_free(d);
    distinct_free(NULL);
}

static void test_estimate(void **state) {
    (void)state;
    const unsigned sizes[] = {100, 1000, 10000, 100000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        distinct_t *d = NULL;
        add_n(&d, 1000000u * (unsigned)k, sizes[k]);
        add_n(&d, 1000000u * (unsigned)k, sizes[k] / 2); /* repeats change nothing */
        double err = fabs((double)distinct_count(d) - sizes[k]) / sizes[k];
        /* 256 registers: standard error 1.04/16 = 6.5%; allow three. */
        if (err > 0.195) fail_msg("%u agents estimated as %u", sizes[k], distinct_count(d));
        distinct_free(d);
    }
}

/* *d, not d: an add may move the set (it grows, or turns into a sketch). */
static void roundtrip(distinct_t **dp) {
    uint8_t buf[DISTINCT_ENCODED_MAX];
    size_t n = distinct_encode(*dp, buf);
    assert_true(n <= DISTINCT_ENCODED_MAX);
    distinct_t *e = NULL;
    assert_int_equal(distinct_decode(&e, buf, n), 0);
    assert_int_equal(distinct_count(e), distinct_count(*dp));
    assert_int_equal(distinct_is_exact(e), distinct_is_exact(*dp));
    /* The restored one goes on counting the same agents as the same. */
    add_n(dp, 0, 3);
    add_n(&e, 0, 3);
    assert_int_equal(distinct_count(e), distinct_count(*dp));
    distinct_free(e);
}

static void test_wire(void **state) {
    (void)state;
    distinct_t *d = NULL;
    uint8_t buf[DISTINCT_ENCODED_MAX];
    assert_int_equal(distinct_encode(d, buf), 0);
    add_n(&d, 10, 7);
    roundtrip(&d);
    add_n(&d, 100, 500);
    roundtrip(&d);
    distinct_free(d);

    /* Damaged: bad tag, a length that is no whole hash, hashes out of
     * order, a register past 57, a sketch of the wrong size. */
    distinct_t *e = NULL;
    add_n(&e, 0, 2);
    uint8_t bad[DISTINCT_ENCODED_MAX];
    bad[0] = 9;
    assert_int_equal(distinct_decode(&e, bad, 9), -1);
    size_t n = distinct_encode(e, bad);
    assert_int_equal(n, 17);
    assert_int_equal(distinct_decode(&e, bad, n - 1), -1);
    uint8_t swapped[17];
    swapped[0] = 1;
    memcpy(swapped + 1, bad + 9, 8);
    memcpy(swapped + 9, bad + 1, 8);
    assert_int_equal(distinct_decode(&e, swapped, 17), -1);
    memset(bad, 0, sizeof bad);
    bad[0] = 2;
    bad[5] = 60;
    assert_int_equal(distinct_decode(&e, bad, 1 + DISTINCT_HLL_REGS), -1);
    bad[5] = 3;
    assert_int_equal(distinct_decode(&e, bad, DISTINCT_HLL_REGS), -1);
    assert_int_equal(distinct_count(e), 2); /* unchanged by the refusals */
    assert_int_equal(distinct_decode(&e, NULL, 0), 0);
    assert_null(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact),
        cmocka_unit_test(test_estimate),
        cmocka_unit_test(test_wire),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
