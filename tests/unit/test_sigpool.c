/* collector/sigpool.c: a batch verified on 1, 2 or 4 threads gives, job for
 * job, what sign_verify gives one by one, whatever the batch size, and
 * writes no result outside the batch; submitted batches, waited for later
 * while the caller works, give the same. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sigpool.h"
#include "sign.h"

#define NKEYS 4
#define NJOBS 3000
#define MAXMSG 200
#define SENTINEL 42

typedef struct fixture {
    uint8_t pk[NKEYS][SIGN_PUBLIC_BYTES], sk[NKEYS][SIGN_SECRET_BYTES];
    uint8_t msg[NJOBS][MAXMSG];
    uint8_t sig[NJOBS][SIGN_SIGNATURE_BYTES];
    sigpool_job jobs[NJOBS];
    int want[NJOBS];
    int got[NJOBS + 1]; /* one past the last job: must keep its sentinel */
} fixture;

static uint32_t rnd_state = 12345;
static uint32_t rnd(void) {
    rnd_state = rnd_state * 1103515245u + 12345u;
    return rnd_state >> 8;
}

/* Five kinds of job in turn: valid, a bit flipped in the message, a bit
 * flipped in the signature, another agent's key, a signature of length 0. */
static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    if (!f || sign_init() < 0) return -1;
    for (int k = 0; k < NKEYS; k++)
        if (sign_keypair(f->pk[k], f->sk[k]) < 0) return -1;
    for (int i = 0; i < NJOBS; i++) {
        size_t len = rnd() % MAXMSG; /* 0 included: an empty message has a valid signature too */
        int k = (int)(rnd() % NKEYS);
        for (size_t j = 0; j < len; j++) f->msg[i][j] = (uint8_t)rnd();
        sign_detached(f->sk[k], f->msg[i], len, f->sig[i]);
        sigpool_job *jb = &f->jobs[i];
        *jb = (sigpool_job){f->pk[k], f->msg[i], len, f->sig[i], SIGN_SIGNATURE_BYTES};
        switch (i % 5) {
        case 0: break;
        case 1:
            if (len) f->msg[i][rnd() % len] ^= (uint8_t)(1u << (rnd() % 8));
            else f->sig[i][0] ^= 1;
            break;
        case 2: f->sig[i][rnd() % SIGN_SIGNATURE_BYTES] ^= (uint8_t)(1u << (rnd() % 8)); break;
        case 3: jb->public_key = f->pk[(k + 1) % NKEYS]; break;
        case 4: jb->siglen = 0; break;
        }
        f->want[i] = sign_verify(jb->public_key, jb->msg, jb->len, jb->sig, jb->siglen);
    }
    *state = f;
    return 0;
}

static int teardown(void **state) {
    free(*state);
    return 0;
}

/* The expectations themselves: every fifth job valid, all others not, so a
 * pool that answered "valid" (or "invalid") everywhere would fail below. */
static void test_expectations_mixed(void **state) {
    fixture *f = *state;
    for (int i = 0; i < NJOBS; i++) assert_int_equal(f->want[i], i % 5 == 0 ? 0 : -1);
}

static void check_batches(fixture *f, unsigned nthreads) {
    static const size_t sizes[] = {0, 1, 2, 3, 7, 8, 9, 63, 1000, NJOBS - 1, NJOBS};
    char err[256];
    sigpool_t *sp = sigpool_new(nthreads, err, sizeof err);
    assert_non_null(sp);
    assert_int_equal(sigpool_threads(sp), nthreads < 1 ? 1 : nthreads);
    for (int round = 0; round < 3; round++) {
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            size_t n = sizes[s];
            /* A different slice each round, so jobs do not always sit at the
             * same index of the batch. */
            size_t from = n == NJOBS ? 0 : (size_t)(round * 37 + s) % (NJOBS - n + 1);
            for (size_t i = 0; i <= NJOBS; i++) f->got[i] = SENTINEL;
            sigpool_verify(sp, f->jobs + from, n, f->got);
            for (size_t i = 0; i < n; i++) {
                if (f->got[i] != f->want[from + i])
                    fail_msg("threads=%u round=%d batch=%zu from=%zu job %zu: got %d want %d", nthreads, round, n,
                             from, i, f->got[i], f->want[from + i]);
            }
            for (size_t i = n; i <= NJOBS; i++) assert_int_equal(f->got[i], SENTINEL);
        }
    }
    sigpool_free(sp);
}

static void test_inline(void **state) {
    check_batches(*state, 0);
    check_batches(*state, 1);
}
static void test_two_threads(void **state) { check_batches(*state, 2); }
static void test_four_threads(void **state) { check_batches(*state, 4); }

/* Pools started and stopped with and without a batch in between: _free
 * joins workers whether they ever ran or not. */
static void test_new_free(void **state) {
    fixture *f = *state;
    char err[256];
    sigpool_free(NULL);
    for (unsigned t = 0; t <= 8; t++) {
        sigpool_t *sp = sigpool_new(t, err, sizeof err);
        assert_non_null(sp);
        if (t % 2) {
            sigpool_verify(sp, f->jobs, 50, f->got);
            for (int i = 0; i < 50; i++) assert_int_equal(f->got[i], f->want[i]);
        }
        sigpool_free(sp);
    }
    assert_null(sigpool_new(SIGPOOL_MAX_THREADS + 1, err, sizeof err));
    assert_non_null(strstr(err, "at most"));
}

/* The collector's pipeline: batch k+1 is submitted once batch k is waited
 * for, and batch k's results are read while k+1 is in flight. Each batch's
 * results land in its own buffer, whole, and the caller's own checks in
 * between do not disturb them. */
static void test_submit_then_wait(void **state) {
    fixture *f = *state;
    static int res[2][NJOBS / 3];
    const size_t n = NJOBS / 3;
    char err[256];
    for (unsigned t = 1; t <= 4; t *= 2) {
        sigpool_t *sp = sigpool_new(t, err, sizeof err);
        assert_non_null(sp);
        sigpool_wait(sp); /* nothing in flight: returns at once */
        for (int round = 0; round < 6; round++) {
            int *mine = res[round % 2];
            size_t from = (size_t)(round % 3) * n;
            for (size_t i = 0; i < n; i++) mine[i] = SENTINEL;
            sigpool_submit(sp, f->jobs + from, n, mine);
            /* While it runs: the caller's own work (here, checking the
             * previous batch's results, still untouched). */
            if (round > 0) {
                const int *prev = res[(round + 1) % 2];
                size_t pfrom = (size_t)((round + 2) % 3) * n;
                for (size_t i = 0; i < n; i++) assert_int_equal(prev[i], f->want[pfrom + i]);
            }
            sigpool_wait(sp);
            for (size_t i = 0; i < n; i++)
                if (mine[i] != f->want[from + i])
                    fail_msg("threads=%u round=%d job %zu: got %d want %d", t, round, i, mine[i], f->want[from + i]);
            sigpool_wait(sp); /* a second wait is a no-op */
        }
        /* Freed with a batch in flight: _free waits for it first. */
        sigpool_submit(sp, f->jobs, n, res[0]);
        sigpool_free(sp);
        for (size_t i = 0; i < n; i++) assert_int_equal(res[0][i], f->want[i]);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expectations_mixed),
        cmocka_unit_test(test_inline),
        cmocka_unit_test(test_two_threads),
        cmocka_unit_test(test_four_threads),
        cmocka_unit_test(test_new_free),
        cmocka_unit_test(test_submit_then_wait),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
