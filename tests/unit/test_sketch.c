/* Unit tests of collector/sketch.c: medians within the buckets' 5% of the
 * exact median, the same answers and the same wire bytes whatever the
 * representation (sparse, or dense after many buckets or a large count),
 * an exact round trip through the checkpoint form, refusal of malformed
 * bytes, and the memory a typical commune's sketch takes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sketch.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double exact_median(double *v, size_t n) {
    qsort(v, n, sizeof *v, cmp_double);
    return v[(n - 1) / 2];
}

/* Deterministic log-uniform values in [lo, hi). */
static double log_uniform(unsigned *seed, double lo, double hi) {
    *seed = *seed * 1103515245u + 12345u;
    double u = (double)((*seed >> 8) & 0xffffff) / (double)0x1000000;
    return lo * pow(hi / lo, u);
}

static void test_median_within_bucket(void **state) {
    (void)state;
    unsigned seed = 7;
    for (size_t n = 1; n <= 2000; n = n * 3 + 1) {
        sketch_t *sk = NULL;
        double *down = malloc(n * sizeof *down), *lat = malloc(n * sizeof *lat);
        assert_non_null(down);
        assert_non_null(lat);
        for (size_t i = 0; i < n; i++) {
            down[i] = log_uniform(&seed, 20e6, 1000e6);
            lat[i] = log_uniform(&seed, 2, 40);
            assert_int_equal(sketch_add(&sk, SKETCH_DOWNLOAD, down[i]), 0);
            assert_int_equal(sketch_add(&sk, SKETCH_LATENCY, lat[i]), 0);
        }
        double md = sketch_median(sk, SKETCH_DOWNLOAD), ml = sketch_median(sk, SKETCH_LATENCY);
        double ed = exact_median(down, n), el = exact_median(lat, n);
        /* The median's bucket is 10% wide and reported at its geometric
         * middle; the exact median of an even count may sit in the next. */
        if (fabs(md / ed - 1.0) > 0.106 || fabs(ml / el - 1.0) > 0.106)
            fail_msg("n=%zu: median %.0f vs exact %.0f, latency %.3f vs %.3f", n, md, ed, ml, el);
        assert_true(sketch_median(sk, SKETCH_UPLOAD) == 0.0); /* no upload figure given */
        sketch_free(sk);
        free(down);
        free(lat);
    }
    assert_true(sketch_median(NULL, SKETCH_DOWNLOAD) == 0.0);
}

/* Adds the same multiset to a sketch that stays sparse and to one forced
 * dense first (a 70,000 count): every median and the wire bytes agree once
 * the forcing count is removed from the picture by being in another figure. */
static void test_sparse_and_dense_agree(void **state) {
    (void)state;
    unsigned seed = 11;
    sketch_t *sparse = NULL, *dense = NULL;
    for (int i = 0; i < 70000; i++) assert_int_equal(sketch_add(&dense, SKETCH_UPLOAD, 5e6), 0);
    for (int i = 0; i < 300; i++) {
        double d = log_uniform(&seed, 20e6, 1000e6), l = log_uniform(&seed, 2, 40);
        assert_int_equal(sketch_add(&sparse, SKETCH_DOWNLOAD, d), 0);
        assert_int_equal(sketch_add(&dense, SKETCH_DOWNLOAD, d), 0);
        assert_int_equal(sketch_add(&sparse, SKETCH_LATENCY, l), 0);
        assert_int_equal(sketch_add(&dense, SKETCH_LATENCY, l), 0);
    }
    assert_true(sketch_bytes(sparse) < sketch_bytes(dense));
    assert_true(sketch_median(sparse, SKETCH_DOWNLOAD) == sketch_median(dense, SKETCH_DOWNLOAD));
    assert_true(sketch_median(sparse, SKETCH_LATENCY) == sketch_median(dense, SKETCH_LATENCY));
    assert_true(sketch_median(dense, SKETCH_UPLOAD) > 4.7e6 && sketch_median(dense, SKETCH_UPLOAD) < 5.3e6);

    /* Wire bytes of the dense one, decoded, re-encoded: identical. */
    static uint8_t a[SKETCH_ENCODED_MAX], b[SKETCH_ENCODED_MAX];
    size_t la = sketch_encode(dense, a);
    sketch_t *back = NULL;
    assert_int_equal(sketch_decode(&back, a, la), 0);
    size_t lb = sketch_encode(back, b);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    assert_true(sketch_median(back, SKETCH_UPLOAD) == sketch_median(dense, SKETCH_UPLOAD));
    sketch_free(back);
    sketch_free(sparse);
    sketch_free(dense);
}

/* Many distinct buckets turn a sketch dense on the way; the sparse and the
 * dense forms encode the same histogram to the same bytes. */
static void test_growth_keeps_counts(void **state) {
    (void)state;
    sketch_t *sk = NULL, *copy = NULL;
    static uint8_t a[SKETCH_ENCODED_MAX], b[SKETCH_ENCODED_MAX];
    size_t last_bytes = 0;
    int went_dense = 0;
    for (int i = 0; i < 400; i++) {
        /* Every value its own bucket: 1.12x apart over all three figures. */
        enum sketch_figure f = (enum sketch_figure)(i % 3);
        double v = (f == SKETCH_LATENCY ? 0.2 : 2000.0) * pow(1.12, i / 3);
        assert_int_equal(sketch_add(&sk, f, v), 0);
        assert_int_equal(sketch_add(&sk, f, v), 0);
        size_t la = sketch_encode(sk, a);
        assert_int_equal(sketch_decode(&copy, a, la), 0);
        size_t lb = sketch_encode(copy, b);
        assert_int_equal(la, lb);
        assert_memory_equal(a, b, la);
        if (sketch_bytes(sk) < last_bytes) fail_msg("a sketch shrank at value %d", i);
        went_dense |= sketch_bytes(sk) > 2000;
        last_bytes = sketch_bytes(sk);
    }
    assert_true(went_dense);
    sketch_free(copy);
    sketch_free(sk);
}

static void test_decode_refuses_garbage(void **state) {
    (void)state;
    sketch_t *sk = NULL;
    assert_int_equal(sketch_add(&sk, SKETCH_DOWNLOAD, 1e7), 0);
    const uint8_t past_end[] = {0x90, 0x04, 0x01};    /* bucket 528 + ... */
    const uint8_t beyond[] = {0x80, 0x08, 0x01};      /* gap 1024 */
    const uint8_t truncated[] = {0x05, 0x80};         /* count varint cut */
    const uint8_t overlong[] = {0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(sketch_decode(&sk, beyond, sizeof beyond), -1);
    assert_int_equal(sketch_decode(&sk, truncated, sizeof truncated), -1);
    assert_int_equal(sketch_decode(&sk, overlong, sizeof overlong), -1);
    /* A refused decode leaves the sketch as it was. */
    assert_true(sketch_median(sk, SKETCH_DOWNLOAD) > 0.0);
    assert_int_equal(sketch_decode(&sk, past_end, sizeof past_end), 0); /* 528 < 530: valid */
    assert_true(sketch_median(sk, SKETCH_LATENCY) > 0.0);
    assert_true(sketch_median(sk, SKETCH_DOWNLOAD) == 0.0);
    assert_int_equal(sketch_decode(&sk, NULL, 0), 0);
    assert_null(sk);
}

/* A commune-sized sketch (100 samples of fixed access) stays small: the
 * reason sketches are sparse. */
static void test_commune_sketch_is_small(void **state) {
    (void)state;
    unsigned seed = 3;
    sketch_t *sk = NULL;
    for (int i = 0; i < 100; i++) {
        double d = log_uniform(&seed, 20e6, 1000e6);
        assert_int_equal(sketch_add(&sk, SKETCH_DOWNLOAD, d), 0);
        assert_int_equal(sketch_add(&sk, SKETCH_UPLOAD, d * 0.6), 0);
        assert_int_equal(sketch_add(&sk, SKETCH_LATENCY, log_uniform(&seed, 2, 40)), 0);
    }
    if (sketch_bytes(sk) > 600) fail_msg("a 100-sample sketch takes %zu bytes", sketch_bytes(sk));
    sketch_free(sk);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_median_within_bucket),  cmocka_unit_test(test_sparse_and_dense_agree),
        cmocka_unit_test(test_growth_keeps_counts),   cmocka_unit_test(test_decode_refuses_garbage),
        cmocka_unit_test(test_commune_sketch_is_small),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
