/* ctl/recruit_list.c: the recruiting list "ispeedctl recruit" prints and
 * the dashboard shows. Communes whose agents cannot give the rate needed
 * at the floor interval are listed with the volunteers they lack, most
 * first; district and province statuses are not; a registry adds the
 * communes never published (nothing counted, no agent) and only those of
 * the province; the CSV quotes names; the shared options check their
 * value. Fixed instants, no Kafka. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ispeed.pb-c.h"
#include "recruit_list.h"
#include "tmpfile_fixture.h"

#define JULY_2025 1751302800000LL /* 2025-07-01 00:00 +07 */
#define DAY 86400000LL
#define JULY_21 (JULY_2025 + 20 * DAY) /* 11 days left */

static void put(quota_view_t *qv, const char *unit, const char *name, Ispeed__V1__Level level, int mobile,
                uint64_t count, uint32_t agents) {
    Ispeed__V1__QuotaStatus q = ISPEED__V1__QUOTA_STATUS__INIT;
    char key[128], err[256];
    q.unit = (char *)unit;
    q.name = (char *)name;
    q.level = level;
    q.parent = "01";
    q.province = "01";
    q.month = "2025-07";
    q.network = mobile ? ISPEED__V1__NETWORK__NETWORK_MOBILE : ISPEED__V1__NETWORK__NETWORK_FIXED;
    q.count = count;
    q.target = 300;
    q.distinct_agents = agents;
    size_t len = ispeed__v1__quota_status__get_packed_size(&q);
    uint8_t *buf = malloc(len);
    ispeed__v1__quota_status__pack(&q, buf);
    snprintf(key, sizeof key, "%s/2025-07/%s", unit, mobile ? "mobile" : "fixed");
    assert_int_equal(quota_view_put(qv, key, strlen(key), buf, len, err, sizeof err), 0);
    free(buf);
}

static void test_rows_and_order(void **state) {
    (void)state;
    quota_filter f = {.month = "2025-07"};
    quota_view_t *qv = quota_view_new(&f);
    recruit_params p;
    recruit_params_default(&p);
    /* 11 days left. 00004 fixed: 36 needed = 3.3 a day, 1 agent gives 12:
     * enough. 00008 fixed: 168 needed = 15.3 a day: 2 agents, it has 1.
     * 00008 mobile: 300 needed = 27.3 a day, 16/31 a day an agent: 53,
     * it has 50. The district sums them and is never listed. */
    put(qv, "00004", "Phường Trúc Bạch", ISPEED__V1__LEVEL__LEVEL_COMMUNE, 0, 264, 1);
    put(qv, "00008", "Phường \"Ngọc\" Hà, Ba Đình", ISPEED__V1__LEVEL__LEVEL_COMMUNE, 0, 132, 1);
    put(qv, "00008", "Phường \"Ngọc\" Hà, Ba Đình", ISPEED__V1__LEVEL__LEVEL_COMMUNE, 1, 0, 50);
    put(qv, "001", "Quận Ba Đình", ISPEED__V1__LEVEL__LEVEL_DISTRICT, 0, 396, 0);
    recruit_row *rows;
    size_t n;
    assert_int_equal(recruit_list_build(qv, NULL, "01", "2025-07", &p, JULY_21, &rows, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(rows[0].code, "00008");
    assert_int_equal(rows[0].mobile, 1);
    assert_int_equal(rows[0].recruit, 3);
    assert_int_equal(rows[1].mobile, 0);
    assert_int_equal(rows[1].recruit, 1);
    assert_int_equal(rows[1].d.needed, 168);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    recruit_list_csv(out, rows, n);
    fclose(out);
    assert_string_equal(buf, "code,name,network,count,target,needed,days_left,rate_needed,agents,per_agent_day,recruit\n"
                             "00008,\"Phường \"\"Ngọc\"\" Hà, Ba Đình\",mobile,0,300,300,11.00,27.27,50,0.52,3\n"
                             "00008,\"Phường \"\"Ngọc\"\" Hà, Ba Đình\",fixed,132,300,168,11.00,15.27,1,12.00,1\n");
    free(buf);
    free(rows);
    /* The month over: nothing to recruit for. */
    assert_int_equal(recruit_list_build(qv, NULL, "01", "2025-07", &p, JULY_2025 + 31 * DAY, &rows, &n), 0);
    assert_int_equal(n, 0);
    free(rows);
    quota_view_free(qv);
}

static void test_registry_adds_unpublished_communes(void **state) {
    (void)state;
    char path[] = "/tmp/test_recruit_list.XXXXXX", err[256];
    fixture_write_tmp(path, "code,level,parent,name,type\n"
                            "01,province,,Hà Nội,Thành phố\n"
                            "02,province,,Hà Giang,Tỉnh\n"
                            "00004,commune,01,Phường Trúc Bạch,Phường\n"
                            "00010,commune,01,Xã Chưa Có,Xã\n"
                            "00700,commune,02,Xã Khác Tỉnh,Xã\n");
    registry_t *reg = registry_load(path, err, sizeof err);
    unlink(path);
    assert_non_null(reg);
    quota_filter f = {.month = "2025-07"};
    quota_view_t *qv = quota_view_new(&f);
    recruit_params p;
    recruit_params_default(&p);
    p.daily_cap = 30; /* a fixed agent gives 30 a day: one suffices anywhere */
    put(qv, "00004", "Phường Trúc Bạch", ISPEED__V1__LEVEL__LEVEL_COMMUNE, 0, 0, 1);
    recruit_row *rows;
    size_t n;
    assert_int_equal(recruit_list_build(qv, reg, "01", "2025-07", &p, JULY_21, &rows, &n), 0);
    /* 00004 mobile (no status), 00010 both classes; 00004 fixed has its
     * agent; 00700 is another province's. */
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        assert_string_not_equal(rows[i].code, "00700");
        assert_false(strcmp(rows[i].code, "00004") == 0 && rows[i].mobile == 0);
        assert_int_equal(rows[i].count, 0);
        assert_int_equal(rows[i].agents, 0);
    }
    assert_int_equal(rows[2].mobile, 0); /* 00010 fixed: 1, after the mobile ones */
    assert_string_equal(rows[2].code, "00010");
    assert_int_equal(rows[2].recruit, 1);
    free(rows);
    quota_view_free(qv);
    registry_free(reg);
}

static void test_params(void **state) {
    (void)state;
    recruit_params p;
    char err[128];
    recruit_params_default(&p);
    assert_int_equal(recruit_params_apply(&p, 0, "24", err, sizeof err), 0);
    assert_true(p.daily_cap == 24);
    assert_int_equal(recruit_params_apply(&p, 1, "0", err, sizeof err), -1);
    assert_non_null(strstr(err, "--mobile-budget-mb '0' is not a positive number"));
    assert_int_equal(recruit_params_apply(&p, 2, "12x", err, sizeof err), -1);
    /* Mobile: the budget in tests over the month, at most the daily cap. */
    assert_int_equal(recruit_params_apply(&p, 1, "100000", err, sizeof err), 0);
    assert_true(recruit_per_agent_day(&p, 1, JULY_2025, JULY_2025 + 31 * DAY) == 24);
    assert_true(recruit_per_agent_day(&p, 0, JULY_2025, JULY_2025 + 31 * DAY) == 24);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_and_order),
        cmocka_unit_test(test_registry_adds_unpublished_communes),
        cmocka_unit_test(test_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
