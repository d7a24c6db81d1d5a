/* ctl/report_data.c: the monthly report's figures from QuotaStatus records
 * and the registry: units without a status count as 0 and not met, the last
 * value per key wins, a tombstone forgets, the province's samples are its
 * own count, and the daily series takes the last value of each day;
 * unattested samples are summed apart and change no other figure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ispeed.pb-c.h"
#include "registry.h"
#include "report_data.h"
#include "report_fixture.h"

static registry_t *mini_registry(void) {
    char path[] = "/tmp/test_report_data.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("code,level,parent,name,type\n"
          "01,province,,Thành phố Hà Nội,Thành phố Trung ương\n"
          "001,district,01,Quận Ba Đình,Quận\n"
          "00001,commune,001,Phường Phúc Xá,Phường\n"
          "00004,commune,001,Phường Trúc Bạch,Phường\n"
          "02,province,,Tỉnh Hà Giang,Tỉnh\n"
          "024,district,02,Thành phố Hà Giang,Thành phố\n"
          "00688,commune,024,Phường Quang Trung,Phường\n",
          f);
    fclose(f);
    char err[256];
    registry_t *reg = registry_load(path, err, sizeof err);
    unlink(path);
    assert_non_null(reg);
    return reg;
}

static void put(report_t *r, const char *unit, int level, const char *parent, const char *province, const char *net,
                uint64_t count, int64_t updated_ms) {
    report_fixture_put(r, unit, level, parent, province, net, count, 0, 0, updated_ms);
}

/* With unattested_count (collector --attestation optional). */
static void put_apart(report_t *r, const char *unit, int level, const char *parent, const char *province,
                      const char *net, uint64_t count, uint64_t unattested, int64_t updated_ms) {
    report_fixture_put(r, unit, level, parent, province, net, count, 0, unattested, updated_ms);
}

static void registry_units_without_status_count_as_not_met(void **state) {
    (void)state;
    char err[256];
    registry_t *reg = mini_registry();
    report_t *r = report_new("2025-03", 300, err, sizeof err);
    assert_non_null(r);
    assert_int_equal(report_add_registry(r, reg, NULL), 0);
    put(r, "01", 1, "", "01", "fixed", 100, MARCH_2025 + 2 * DAY);
    put(r, "01", 1, "", "01", "fixed", 320, MARCH_2025 + 10 * DAY); /* later value wins */
    put(r, "001", 2, "01", "01", "fixed", 320, MARCH_2025 + 10 * DAY);
    put(r, "00001", 3, "001", "01", "fixed", 310, MARCH_2025 + 10 * DAY);
    put(r, "00004", 3, "001", "01", "fixed", 10, MARCH_2025 + 10 * DAY);
    put(r, "99999", 3, "999", "01", "fixed", 5, MARCH_2025); /* not in the registry */
    put(r, "00001", 3, "001", "01", "fixed", 310, MARCH_2025 - DAY); /* February's: another month */
    assert_int_equal(report_finish(r, MARCH_2025 + 40 * DAY), 0);

    assert_int_equal(report_unknown(r), 1);
    assert_int_equal(report_province_count(r), 2);
    const report_province *hn = report_province_find(r, "01");
    assert_non_null(hn);
    assert_int_equal(hn->fig[0].samples, 320);
    assert_int_equal(hn->fig[0].provinces_met, 1);
    assert_int_equal(hn->fig[0].districts, 1);
    assert_int_equal(hn->fig[0].districts_met, 1);
    assert_int_equal(hn->fig[0].communes, 2);
    assert_int_equal(hn->fig[0].communes_met, 1);
    assert_int_equal(hn->fig[1].samples, 0);
    assert_int_equal(hn->fig[1].communes_met, 0);
    const report_figures *nat = report_national(r, 0);
    assert_int_equal(nat->provinces, 2);
    assert_int_equal(nat->provinces_met, 1);
    assert_int_equal(nat->districts, 2);
    assert_int_equal(nat->communes, 3);
    assert_int_equal(nat->communes_met, 1);
    assert_true(report_has_districts(r));

    /* Day 3 (index 2) ends at 100, day 11 at 320, carried to the end. */
    assert_int_equal(hn->daily[0][0], 0);
    assert_int_equal(hn->daily[0][2], 100);
    assert_int_equal(hn->daily[0][9], 100);
    assert_int_equal(hn->daily[0][10], 320);
    assert_int_equal(hn->daily[0][30], 320);
    assert_int_equal(report_days(r), 31);
    report_free(r);
    registry_free(reg);
}

static void tombstone_forgets_and_current_month_stops_at_now(void **state) {
    (void)state;
    char err[256];
    report_t *r = report_new("2025-03", 300, err, sizeof err);
    assert_non_null(r);
    /* No registry: a province that published only a commune still gets a
     * row, its samples the sum of its communes. */
    put(r, "00688", 3, "024", "02", "mobile", 7, MARCH_2025 + DAY);
    put(r, "00001", 3, "001", "01", "fixed", 400, MARCH_2025 + DAY);
    assert_int_equal(report_put(r, "00001/2025-03/fixed", 19, NULL, 0, err, sizeof err), 0);
    assert_int_equal(report_finish(r, MARCH_2025 + 5 * DAY + 1), 0);
    const report_province *hg = report_province_find(r, "02");
    assert_non_null(hg);
    assert_int_equal(hg->fig[1].samples, 7);
    assert_int_equal(hg->fig[1].communes, 1);
    const report_unit *u = report_unit_find(r, "00001");
    assert_non_null(u);
    assert_int_equal(u->count[0], 0);
    assert_false(report_unit_met(u, 0));
    /* Days after now are unknown. */
    assert_int_equal(hg->daily[1][5], 0);
    assert_int_equal(hg->daily[1][6], -1);
    assert_false(report_has_registry(r));
    report_free(r);
}

static void values_after_the_month_are_its_final_count(void **state) {
    (void)state;
    char err[256];
    report_t *r = report_new("2025-03", 300, err, sizeof err);
    put(r, "01", 1, "", "01", "fixed", 500, MARCH_2025 + 60 * DAY); /* a replay in May */
    assert_int_equal(report_finish(r, MARCH_2025 + 90 * DAY), 0);
    const report_province *p = report_province_find(r, "01");
    assert_int_equal(p->daily[0][29], 0);
    assert_int_equal(p->daily[0][30], 500);
    assert_true(p->only_after[0]);
    assert_false(p->only_after[1]);
    report_free(r);
}

static void samples_give_the_daily_series_when_added(void **state) {
    (void)state;
    char err[256];
    report_t *r = report_new("2025-03", 300, err, sizeof err);
    put(r, "01", 1, "", "01", "fixed", 3, MARCH_2025 + 60 * DAY);
    assert_int_equal(report_add_sample(r, "01", ISPEED__V1__NETWORK__NETWORK_FIXED, MARCH_2025 + 1000), 0);
    assert_int_equal(report_add_sample(r, "01", ISPEED__V1__NETWORK__NETWORK_FIXED, MARCH_2025 + 2 * DAY), 0);
    assert_int_equal(report_add_sample(r, "01", ISPEED__V1__NETWORK__NETWORK_FIXED, MARCH_2025 + 2 * DAY + 5), 0);
    /* Another month, an unknown province: ignored. */
    assert_int_equal(report_add_sample(r, "01", ISPEED__V1__NETWORK__NETWORK_FIXED, MARCH_2025 - 1), 0);
    assert_int_equal(report_add_sample(r, "77", ISPEED__V1__NETWORK__NETWORK_FIXED, MARCH_2025 + 1), 0);
    assert_int_equal(report_finish(r, MARCH_2025 + 90 * DAY), 0);
    const report_province *p = report_province_find(r, "01");
    assert_int_equal(p->daily[0][0], 1);
    assert_int_equal(p->daily[0][1], 1);
    assert_int_equal(p->daily[0][2], 3);
    assert_int_equal(p->daily[0][30], 3);
    assert_int_equal(p->daily[1][30], 0);
    assert_false(p->only_after[0]);
    assert_int_equal(p->fig[0].samples, 3); /* the figures stay the quota's */
    report_free(r);
}

/* One month's statuses, with each unit's unattested count times k: k = 0
 * is what a collector with --attestation required publishes. Province 02
 * has no status of its own: its figures come from its communes. */
static report_t *month_apart(const registry_t *reg, uint64_t k) {
    char err[256];
    report_t *r = report_new("2025-03", 300, err, sizeof err);
    assert_non_null(r);
    assert_int_equal(report_add_registry(r, reg, NULL), 0);
    put_apart(r, "01", 1, "", "01", "fixed", 320, 7 * k, MARCH_2025 + 10 * DAY);
    put_apart(r, "01", 1, "", "01", "mobile", 20, 900 * k, MARCH_2025 + 10 * DAY);
    put_apart(r, "001", 2, "01", "01", "fixed", 320, 7 * k, MARCH_2025 + 10 * DAY);
    put_apart(r, "00001", 3, "001", "01", "fixed", 310, 2 * k, MARCH_2025 + 10 * DAY);
    /* Far more unattested samples than the target: still not met. */
    put_apart(r, "00004", 3, "001", "01", "fixed", 10, 5 * k, MARCH_2025 + 10 * DAY);
    put_apart(r, "00004", 3, "001", "01", "mobile", 20, 900 * k, MARCH_2025 + 10 * DAY);
    put_apart(r, "00688", 3, "024", "02", "mobile", 7, 11 * k, MARCH_2025 + 10 * DAY);
    put_apart(r, "00688", 3, "024", "02", "fixed", 0, 3 * k, MARCH_2025 + 10 * DAY);
    assert_int_equal(report_finish(r, MARCH_2025 + 40 * DAY), 0);
    return r;
}

/* The figures but the unattested count, which must be all that differs. */
static void assert_same_but_unattested(const report_figures *a, const report_figures *b) {
    report_figures x = *a, y = *b;
    x.unattested = y.unattested = 0;
    assert_memory_equal(&x, &y, sizeof x);
}

static void unattested_samples_are_summed_apart(void **state) {
    (void)state;
    registry_t *reg = mini_registry();
    report_t *r = month_apart(reg, 1), *plain = month_apart(reg, 0);
    assert_true(report_has_unattested(r));
    assert_false(report_has_unattested(plain));

    const report_province *hn = report_province_find(r, "01"), *hg = report_province_find(r, "02");
    assert_non_null(hn);
    assert_non_null(hg);
    /* The province's own status where it has one, else its communes' sum. */
    assert_int_equal(hn->fig[0].unattested, 7);
    assert_int_equal(hn->fig[1].unattested, 900);
    assert_int_equal(hg->fig[0].unattested, 3);
    assert_int_equal(hg->fig[1].unattested, 11);
    assert_int_equal(report_national(r, 0)->unattested, 10);
    assert_int_equal(report_national(r, 1)->unattested, 911);
    const report_unit *c = report_unit_find(r, "00004");
    assert_int_equal(c->unattested[0], 5);
    assert_int_equal(c->unattested[1], 900);

    /* Never in samples or any "met": 900 unattested mobile samples leave
     * 00004 and province 01 below a target of 300. */
    assert_int_equal(hn->fig[0].samples, 320);
    assert_int_equal(hn->fig[1].samples, 20);
    assert_int_equal(hg->fig[1].samples, 7);
    assert_int_equal(report_national(r, 1)->samples, 27);
    assert_false(report_unit_met(c, 1));
    assert_int_equal(hn->fig[1].provinces_met, 0);
    assert_int_equal(hn->fig[1].communes_met, 0);
    assert_int_equal(report_national(r, 0)->communes_met, 1);
    for (int n = 0; n < REPORT_NETS; n++) {
        assert_same_but_unattested(&hn->fig[n], &report_province_find(plain, "01")->fig[n]);
        assert_same_but_unattested(&hg->fig[n], &report_province_find(plain, "02")->fig[n]);
        assert_same_but_unattested(report_national(r, n), report_national(plain, n));
        for (int d = 0; d < report_days(r); d++)
            assert_int_equal(hn->daily[n][d], report_province_find(plain, "01")->daily[n][d]);
    }
    for (size_t i = 0; i < report_unit_count(r); i++)
        for (int n = 0; n < REPORT_NETS; n++)
            assert_int_equal(report_unit_met(report_unit_at(r, i), n), report_unit_met(report_unit_at(plain, i), n));

    /* A tombstone forgets them with the rest of the status. */
    char err[256];
    assert_int_equal(report_put(r, "01/2025-03/mobile", 17, NULL, 0, err, sizeof err), 0);
    assert_int_equal(report_finish(r, MARCH_2025 + 40 * DAY), 0);
    assert_int_equal(report_province_find(r, "01")->fig[1].unattested, 900); /* now its communes' sum */
    assert_int_equal(report_province_find(r, "01")->fig[1].samples, 20);
    report_free(plain);
    report_free(r);
    registry_free(reg);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(registry_units_without_status_count_as_not_met),
        cmocka_unit_test(tombstone_forgets_and_current_month_stops_at_now),
        cmocka_unit_test(values_after_the_month_are_its_final_count),
        cmocka_unit_test(samples_give_the_daily_series_when_added),
        cmocka_unit_test(unattested_samples_are_summed_apart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
