/* The agents table's bounds (collector/agents.c; issue 11, part 6): a full
 * table refuses newcomers ("agents_full") and never evicts a verified agent;
 * failed enrollments expire, never-verified ones are verified at their
 * expiry (kept when good), within a budget per pass. Times are the
 * collector's clock (vntime_now_ms) plus offsets, so any day will do. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agents.h"
#include "enrollment_fixture.h"
#include "sign.h"
#include "vntime.h"

#define DAY 86400000LL

struct agent {
    uint8_t pk[SIGN_PUBLIC_BYTES], sk[SIGN_SECRET_BYTES];
    char id[SIGN_AGENT_ID_CHARS + 1];
};

/* Enrolls a new agent, well signed or not; returns agents_apply's result
 * with its message in err. */
static int enroll(agents_t *ag, struct agent *a, int good, char *err, size_t errsz) {
    uint8_t buf[FIXTURE_ENROLLMENT_MAX];
    sign_keypair(a->pk, a->sk);
    sign_agent_id(a->pk, a->id);
    /* A bad one: signed for another commune than it claims. */
    size_t n = fixture_enrollment(a->pk, a->sk, a->id, good ? "00001" : "00004", "00001", buf);
    return agents_apply(ag, a->id, strlen(a->id), buf, n, err, errsz);
}

static int setup(void **state) {
    (void)state;
    return sign_init();
}

static void full_refuses_newcomers(void **state) {
    (void)state;
    agents_t *ag = agents_new();
    struct agent a[4], again;
    char err[256];
    assert_non_null(ag);
    agents_set_bounds(ag, 3, DAY);
    for (int i = 0; i < 3; i++) assert_int_equal(enroll(ag, &a[i], 1, err, sizeof err), 0);
    for (int i = 0; i < 3; i++) assert_non_null(agents_find(ag, a[i].id));
    assert_int_equal(enroll(ag, &a[3], 1, err, sizeof err), -1);
    assert_memory_equal(err, "agents_full:", 12);
    assert_int_equal(agents_count(ag), 3);
    assert_null(agents_find(ag, a[3].id));
    /* Nobody was evicted for it. */
    for (int i = 0; i < 3; i++) assert_non_null(agents_find(ag, a[i].id));
    /* A known agent enrolling again is no newcomer. */
    uint8_t buf[FIXTURE_ENROLLMENT_MAX];
    again = a[1];
    size_t n = fixture_enrollment(again.pk, again.sk, again.id, "00004", "00004", buf);
    assert_int_equal(agents_apply(ag, again.id, strlen(again.id), buf, n, err, sizeof err), 0);
    const agent_info *info = agents_find(ag, again.id);
    assert_non_null(info);
    assert_string_equal(info->commune, "00004");
    /* Expiry removes nothing here: every entry verified. */
    assert_int_equal(agents_expire(ag, vntime_now_ms() + 2 * DAY), 0);
    assert_int_equal(agents_count(ag), 3);
    agents_free(ag);
}

static void failed_and_unverified_expire(void **state) {
    (void)state;
    agents_t *ag = agents_new();
    struct agent good_quiet, bad_quiet, bad_seen, good_seen;
    char err[256];
    assert_non_null(ag);
    agents_set_bounds(ag, 0, DAY);
    int64_t t0 = vntime_now_ms();
    assert_int_equal(enroll(ag, &good_quiet, 1, err, sizeof err), 0);
    assert_int_equal(enroll(ag, &bad_quiet, 0, err, sizeof err), 0);
    assert_int_equal(enroll(ag, &bad_seen, 0, err, sizeof err), 0);
    assert_int_equal(enroll(ag, &good_seen, 1, err, sizeof err), 0);
    assert_null(agents_find(ag, bad_seen.id)); /* found BAD now */
    assert_non_null(agents_find(ag, good_seen.id));
    assert_int_equal(agents_rejected(ag), 1);
    /* Not yet a day. */
    assert_int_equal(agents_expire(ag, t0 + DAY / 2), 0);
    assert_int_equal(agents_count(ag), 4);
    /* A day on: both failed ones leave (the quiet one verified then), the
     * quiet good one stays enrolled. */
    assert_int_equal(agents_expire(ag, vntime_now_ms() + DAY + 1000), 2);
    assert_int_equal(agents_count(ag), 2);
    assert_int_equal(agents_rejected(ag), 2);
    assert_non_null(agents_find(ag, good_quiet.id));
    assert_non_null(agents_find(ag, good_seen.id));
    assert_null(agents_find(ag, bad_quiet.id));
    assert_null(agents_find(ag, bad_seen.id));
    agents_free(ag);
}

static void expiry_makes_room(void **state) {
    (void)state;
    agents_t *ag = agents_new();
    struct agent bad, good, late;
    char err[256];
    assert_non_null(ag);
    agents_set_bounds(ag, 2, DAY);
    assert_int_equal(enroll(ag, &bad, 0, err, sizeof err), 0);
    assert_int_equal(enroll(ag, &good, 1, err, sizeof err), 0);
    assert_int_equal(enroll(ag, &late, 1, err, sizeof err), -1);
    assert_int_equal(agents_expire(ag, vntime_now_ms() + DAY + 1000), 1);
    assert_int_equal(enroll(ag, &late, 1, err, sizeof err), 0);
    assert_non_null(agents_find(ag, late.id));
    assert_non_null(agents_find(ag, good.id));
    agents_free(ag);
}

static void budget_per_pass(void **state) {
    (void)state;
    agents_t *ag = agents_new();
    struct agent a;
    char err[256];
    const size_t n = AGENTS_EXPIRE_CHECKS + 44;
    assert_non_null(ag);
    agents_set_bounds(ag, 0, DAY);
    for (size_t i = 0; i < n; i++) assert_int_equal(enroll(ag, &a, 0, err, sizeof err), 0);
    int64_t later = vntime_now_ms() + DAY + 1000;
    assert_int_equal(agents_expire(ag, later), AGENTS_EXPIRE_CHECKS);
    assert_int_equal(agents_expire(ag, later), n - AGENTS_EXPIRE_CHECKS);
    assert_int_equal(agents_count(ag), 0);
    agents_free(ag);
}

static void check_out_waits(void **state) {
    (void)state;
    agents_t *ag = agents_new();
    struct agent bad;
    agents_check chk;
    int need = 0;
    char err[256];
    assert_non_null(ag);
    agents_set_bounds(ag, 0, DAY);
    assert_int_equal(enroll(ag, &bad, 0, err, sizeof err), 0);
    assert_non_null(agents_peek(ag, bad.id, &chk, &need));
    assert_int_equal(need, 1);
    /* Its check is on another thread: the pass leaves it. */
    assert_int_equal(agents_expire(ag, vntime_now_ms() + DAY + 1000), 0);
    assert_int_equal(agents_count(ag), 1);
    agents_check_settle(ag, &chk, 0);
    assert_int_equal(agents_rejected(ag), 1);
    /* Failed now: it leaves a day after it failed. */
    assert_int_equal(agents_expire(ag, vntime_now_ms() + DAY / 2), 0);
    assert_int_equal(agents_expire(ag, vntime_now_ms() + DAY + 1000), 1);
    assert_int_equal(agents_count(ag), 0);
    agents_free(ag);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(full_refuses_newcomers), cmocka_unit_test(failed_and_unverified_expire),
        cmocka_unit_test(expiry_makes_room),      cmocka_unit_test(budget_per_pass),
        cmocka_unit_test(check_out_waits),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
