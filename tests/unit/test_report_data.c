/* ctl/report_data.c: the monthly report's figures from QuotaStatus records
 * and the registry: units without a status count as 0 and not met, the last
 * value per key wins, a tombstone forgets, the province's samples are its
 * own count, and the daily series takes the last value of each day. */
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

#define MARCH_2025 1740762000000LL /* 2025-03-01 00:00 +07 */
#define DAY 86400000LL

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
    Ispeed__V1__QuotaStatus q = ISPEED__V1__QUOTA_STATUS__INIT;
    char key[64], err[256];
    uint8_t buf[256];
    q.unit = (char *)unit;
    q.name = (char *)unit;
    q.level = (Ispeed__V1__Level)level;
    q.parent = (char *)parent;
    q.province = (char *)province;
    q.month = "2025-03";
    q.network = strcmp(net, "fixed") == 0 ? ISPEED__V1__NETWORK__NETWORK_FIXED : ISPEED__V1__NETWORK__NETWORK_MOBILE;
    q.count = count;
    q.target = 300;
    q.updated_ms = updated_ms;
    size_t len = ispeed__v1__quota_status__pack(&q, buf);
    snprintf(key, sizeof key, "%s/2025-03/%s", unit, net);
    assert_int_equal(report_put(r, key, strlen(key), buf, len, err, sizeof err), 0);
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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(registry_units_without_status_count_as_not_met),
        cmocka_unit_test(tombstone_forgets_and_current_month_stops_at_now),
        cmocka_unit_test(values_after_the_month_are_its_final_count),
        cmocka_unit_test(samples_give_the_daily_series_when_added),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
