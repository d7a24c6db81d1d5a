/* ctl/dash_state.c: the dashboard's month in memory. Statuses of one
 * province show in its JSON with their counts written the Vietnamese way,
 * names from Kafka only JSON-escaped (the page puts them in with
 * textContent), a later status replaces an earlier one and the national
 * figures follow (the report is finished again), statuses of another month
 * are left out, end-of-day counts give samples per day, alerts are listed
 * newest first, unknown codes are not found, registry units without a
 * status are listed with 0. No Kafka, no clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dash_state.h"
#include "ispeed.pb-c.h"
#include "tmpfile_fixture.h"
#include <unistd.h>

#define MARCH_2025 1740762000000LL /* 2025-03-01 00:00 +07 */
#define DAY 86400000LL
#define AFTER_MARCH (MARCH_2025 + 31 * DAY + 1)

static void put_net(dash_state_t *ds, const char *unit, const char *name, Ispeed__V1__Level level, const char *month,
                    int mobile, uint64_t count, uint32_t agents, int64_t updated_ms) {
    Ispeed__V1__QuotaStatus q = ISPEED__V1__QUOTA_STATUS__INIT;
    char key[128], changed[16], err[256];
    q.unit = (char *)unit;
    q.name = (char *)name;
    q.level = level;
    q.parent = level == ISPEED__V1__LEVEL__LEVEL_PROVINCE ? "" : "01";
    q.province = "01";
    q.month = (char *)month;
    q.network = mobile ? ISPEED__V1__NETWORK__NETWORK_MOBILE : ISPEED__V1__NETWORK__NETWORK_FIXED;
    q.count = count;
    q.target = 300;
    q.updated_ms = updated_ms;
    q.distinct_agents = agents;
    q.state = ISPEED__V1__QUOTA_STATE__QUOTA_STATE_BEHIND;
    size_t len = ispeed__v1__quota_status__get_packed_size(&q);
    uint8_t *buf = malloc(len);
    ispeed__v1__quota_status__pack(&q, buf);
    snprintf(key, sizeof key, "%s/%s/%s", unit, month, mobile ? "mobile" : "fixed");
    assert_int_equal(dash_state_put_quota(ds, "01", key, strlen(key), buf, len, changed, sizeof changed, err, sizeof err), 0);
    free(buf);
}

static void put(dash_state_t *ds, const char *unit, const char *name, Ispeed__V1__Level level, const char *month,
                uint64_t count, int64_t updated_ms) {
    put_net(ds, unit, name, level, month, 0, count, 0, updated_ms);
}

/* The document at now_ms as a string (freed by the caller). Not inlined:
 * gcc 12 then takes the returned string for a pointer to the local buf
 * (-Wdangling-pointer). */
__attribute__((noinline)) static char *doc_at(dash_state_t *ds, int which, const char *code, enum report_lang lang, int64_t now_ms, int *rc) {
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_non_null(out);
    if (which == 0) *rc = dash_state_json_national(ds, lang, now_ms, out);
    else if (which == 1) *rc = dash_state_json_province(ds, code, lang, now_ms, out);
    else *rc = dash_state_json_unit(ds, code, lang, now_ms, out);
    fclose(out);
    return buf;
}

/* The document once March is over. */
static char *doc(dash_state_t *ds, int which, const char *code, enum report_lang lang, int *rc) {
    return doc_at(ds, which, code, lang, AFTER_MARCH, rc);
}

static void test_province_counts_and_escaping(void **state) {
    (void)state;
    char err[256];
    int rc;
    dash_state_t *ds = dash_state_new("2025-03", NULL, err, sizeof err);
    assert_non_null(ds);
    put(ds, "01", "Thành phố Hà Nội", ISPEED__V1__LEVEL__LEVEL_PROVINCE, "2025-03", 1234, MARCH_2025 + DAY);
    put(ds, "00004", "<img src=x onerror=\"alert(1)\">", ISPEED__V1__LEVEL__LEVEL_COMMUNE, "2025-03", 12,
        MARCH_2025 + DAY);
    put(ds, "00001", "Phường Phúc Xá", ISPEED__V1__LEVEL__LEVEL_COMMUNE, "2025-02", 99, MARCH_2025 - DAY);
    char *j = doc(ds, 1, "01", REPORT_LANG_VI, &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(j, "\"count\":1234,\"count_s\":\"1.234\""));
    assert_non_null(strstr(j, "\"count\":12,\"count_s\":\"12\""));
    /* The quotes of the name are escaped; nothing else is made of it. */
    assert_non_null(strstr(j, "\"name\":\"<img src=x onerror=\\\"alert(1)\\\">\""));
    assert_null(strstr(j, "\"code\":\"00001\"")); /* February's status is not March's */
    free(j);
    j = doc(ds, 1, "01", REPORT_LANG_EN, &rc);
    assert_non_null(strstr(j, "\"count_s\":\"1,234\""));
    free(j);
    j = doc(ds, 1, "77", REPORT_LANG_VI, &rc);
    assert_int_equal(rc, DASH_NOT_FOUND);
    free(j);
    j = doc(ds, 2, "99999", REPORT_LANG_VI, &rc);
    assert_int_equal(rc, DASH_NOT_FOUND);
    free(j);
    dash_state_free(ds);
}

static void test_national_follows_new_statuses(void **state) {
    (void)state;
    char err[256];
    int rc;
    dash_state_t *ds = dash_state_new("2025-03", NULL, err, sizeof err);
    put(ds, "01", "Hà Nội", ISPEED__V1__LEVEL__LEVEL_PROVINCE, "2025-03", 100, MARCH_2025 + DAY);
    char *j = doc(ds, 0, NULL, REPORT_LANG_VI, &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(j, "\"samples\":100,"));
    free(j);
    /* A later status of the same key: the national figures follow, which
     * needs the report finished a second time. */
    put(ds, "01", "Hà Nội", ISPEED__V1__LEVEL__LEVEL_PROVINCE, "2025-03", 4321, MARCH_2025 + 2 * DAY);
    j = doc(ds, 0, NULL, REPORT_LANG_VI, &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(j, "\"samples\":4321,\"samples_s\":\"4.321\""));
    assert_null(strstr(j, "\"samples\":100,"));
    /* Its daily series: 100 at the end of day 2, 4321 from day 3 on. */
    assert_non_null(strstr(j, "\"daily\":[0,100,4321,4321"));
    free(j);
    dash_state_free(ds);
}

static void test_samples_per_day(void **state) {
    (void)state;
    char err[256];
    int rc;
    dash_state_t *ds = dash_state_new("2025-03", NULL, err, sizeof err);
    put(ds, "00004", "Phường Trúc Bạch", ISPEED__V1__LEVEL__LEVEL_COMMUNE, "2025-03", 5, MARCH_2025 + 3600000);
    put(ds, "00004", "Phường Trúc Bạch", ISPEED__V1__LEVEL__LEVEL_COMMUNE, "2025-03", 12, MARCH_2025 + 2 * DAY + 1);
    char *j = doc(ds, 2, "00004", REPORT_LANG_VI, &rc);
    assert_int_equal(rc, 0);
    /* Day 1: 5; day 2: no status, nothing new; day 3: 7 more. */
    assert_non_null(strstr(j, "\"per_day\":[5,0,7,0,"));
    free(j);
    dash_state_free(ds);
}

static void test_alerts_newest_first(void **state) {
    (void)state;
    char err[256], changed[16];
    int rc;
    dash_state_t *ds = dash_state_new("2025-03", NULL, err, sizeof err);
    put(ds, "01", "Hà Nội", ISPEED__V1__LEVEL__LEVEL_PROVINCE, "2025-03", 1, MARCH_2025 + DAY);
    const char *units[] = {"00001", "00004"};
    for (int i = 0; i < 2; i++) {
        Ispeed__V1__Alert a = ISPEED__V1__ALERT__INIT;
        a.unit = (char *)units[i];
        a.name = "x";
        a.province = "01";
        a.month = "2025-03";
        a.to_state = ISPEED__V1__QUOTA_STATE__QUOTA_STATE_BEHIND;
        a.time_ms = MARCH_2025 + (i + 1) * DAY;
        uint8_t buf[256];
        size_t len = ispeed__v1__alert__pack(&a, buf);
        assert_int_equal(dash_state_put_alert(ds, buf, len, changed, sizeof changed, err, sizeof err), 0);
        assert_string_equal(changed, "01");
    }
    assert_int_equal(dash_state_put_alert(ds, "\xff\xff", 2, changed, sizeof changed, err, sizeof err), -1);
    char *j = doc(ds, 1, "01", REPORT_LANG_VI, &rc);
    char *a4 = strstr(j, "\"unit\":\"00004\""), *a1 = strstr(j, "\"unit\":\"00001\"");
    assert_non_null(a4);
    assert_non_null(a1);
    assert_true(a4 < a1);
    free(j);
    dash_state_free(ds);
}

/* With a registry, a unit without a status this month is listed first,
 * with 0 and marked, once per class it lacks. */
static void test_units_without_status(void **state) {
    (void)state;
    char path[] = "/tmp/test_dash_state.XXXXXX", err[256];
    int rc;
    fixture_write_tmp(path, "code,level,parent,name,type\n"
                            "01,province,,Hà Nội,Thành phố\n"
                            "00004,commune,01,Phường Trúc Bạch,Phường\n"
                            "00008,commune,01,Phường Ngọc Hà,Phường\n");
    registry_t *reg = registry_load(path, err, sizeof err);
    unlink(path);
    assert_non_null(reg);
    dash_state_t *ds = dash_state_new("2025-03", reg, err, sizeof err);
    put(ds, "01", "Hà Nội", ISPEED__V1__LEVEL__LEVEL_PROVINCE, "2025-03", 7, MARCH_2025 + DAY);
    put(ds, "00004", "Phường Trúc Bạch", ISPEED__V1__LEVEL__LEVEL_COMMUNE, "2025-03", 7, MARCH_2025 + DAY);
    char *j = doc(ds, 1, "01", REPORT_LANG_VI, &rc);
    assert_int_equal(rc, 0);
    const char *none = "\"code\":\"00008\",\"name\":\"Phường Ngọc Hà\",\"parent\":\"01\",\"level\":\"commune\"";
    char *first = strstr(j, none);
    assert_non_null(first);
    assert_non_null(strstr(first + 1, none)); /* fixed and mobile */
    /* 00004 and the province lack only their mobile status; every row
     * without a status comes before the rows with one. */
    const char *c4 = "\"code\":\"00004\",\"name\":\"Phường Trúc Bạch\",\"parent\":\"01\",\"level\":\"commune\",";
    char *c4fixed = NULL, *c4mobile = NULL, *last_none = NULL;
    for (char *p = strstr(j, c4); p; p = strstr(p + 1, c4)) {
        if (strncmp(p + strlen(c4), "\"network\":\"fixed\"", 17) == 0) c4fixed = p;
        if (strncmp(p + strlen(c4), "\"network\":\"mobile\",\"state\":\"NONE\"", 33) == 0) c4mobile = p;
    }
    assert_non_null(c4fixed);
    assert_non_null(c4mobile);
    for (char *p = strstr(j, "\"nostatus\":true"); p; p = strstr(p + 1, "\"nostatus\":true")) last_none = p;
    assert_true(last_none < c4fixed);
    assert_int_equal((int)(strstr(j, "\"nostatus\":true") != NULL), 1);
    free(j);
    dash_state_free(ds);
    registry_free(reg);
}

/* The 11th of March, 00:00 +07: 21 days of the month left. */
#define MARCH_11 (MARCH_2025 + 10 * DAY)

/* Distinct agents per unit and class, and the recruiting list while the
 * month runs: on the 11th, 21 days left, a fixed agent gives 12 a day and a
 * mobile one 16 tests over 31 days (2048 MB / 125 MB), 0.52 a day. */
static void test_agents_and_recruiting_list(void **state) {
    (void)state;
    char path[] = "/tmp/test_dash_state.XXXXXX", err[256];
    int rc;
    fixture_write_tmp(path, "code,level,parent,name,type\n"
                            "01,province,,Hà Nội,Thành phố\n"
                            "00004,commune,01,Phường Trúc Bạch,Phường\n"
                            "00008,commune,01,Phường Ngọc Hà,Phường\n"
                            "00010,commune,01,Xã Không Mẫu,Xã\n");
    registry_t *reg = registry_load(path, err, sizeof err);
    unlink(path);
    assert_non_null(reg);
    dash_state_t *ds = dash_state_new("2025-03", reg, err, sizeof err);
    assert_non_null(ds);
    /* 00004 fixed: 48 counted, 252 needed in 21 days = 12 a day: one agent
     * suffices, it has none. 00008 fixed: the same with 1 agent: listed
     * nowhere. 00004 mobile: 27 counted, 273 in 21 days = 13 a day, 0.52
     * an agent: ceil(13 / 0.516) = 26, it has 3: 23. */
    put_net(ds, "00004", "Phường Trúc Bạch", ISPEED__V1__LEVEL__LEVEL_COMMUNE, "2025-03", 0, 48, 0, MARCH_11 - 1);
    put_net(ds, "00008", "Phường Ngọc Hà", ISPEED__V1__LEVEL__LEVEL_COMMUNE, "2025-03", 0, 48, 1, MARCH_11 - 1);
    put_net(ds, "00004", "Phường Trúc Bạch", ISPEED__V1__LEVEL__LEVEL_COMMUNE, "2025-03", 1, 27, 3, MARCH_11 - 1);
    put_net(ds, "00008", "Phường Ngọc Hà", ISPEED__V1__LEVEL__LEVEL_COMMUNE, "2025-03", 1, 300, 7, MARCH_11 - 1);
    char *j = doc_at(ds, 1, "01", REPORT_LANG_VI, MARCH_11, &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(j, "\"closed\":false"));
    /* Each unit's distinct agents. */
    assert_non_null(strstr(j, "\"code\":\"00004\",\"name\":\"Phường Trúc Bạch\",\"parent\":\"01\",\"level\":\"commune\","
                              "\"network\":\"mobile\",\"state\":\"BEHIND\",\"count\":27"));
    char *u4m = strstr(j, "\"network\":\"mobile\",\"state\":\"BEHIND\",\"count\":27");
    assert_non_null(u4m);
    assert_non_null(strstr(u4m, "\"agents\":3}"));
    char *rl = strstr(j, "\"recruit\":[");
    assert_non_null(rl);
    /* Most recruits first: 00010 mobile needs 300 in 21 days (14.3 a day,
     * 28 agents), 00004 mobile 23, 00010 fixed 2, 00004 fixed 1. */
    const char *order[] = {"\"code\":\"00010\",\"name\":\"Xã Không Mẫu\",\"network\":\"mobile\"",
                           "\"code\":\"00004\",\"name\":\"Phường Trúc Bạch\",\"network\":\"mobile\"",
                           "\"code\":\"00010\",\"name\":\"Xã Không Mẫu\",\"network\":\"fixed\"",
                           "\"code\":\"00004\",\"name\":\"Phường Trúc Bạch\",\"network\":\"fixed\""};
    const char *recruits[] = {"\"recruit\":28}", "\"recruit\":23}", "\"recruit\":2}", "\"recruit\":1}"};
    char *at = rl;
    for (int i = 0; i < 4; i++) {
        char *row = strstr(at, order[i]);
        assert_non_null(row);
        char *end = strchr(row, '}');
        assert_non_null(end);
        assert_true(strncmp(end - strlen(recruits[i]) + 1, recruits[i], strlen(recruits[i])) == 0);
        at = end;
    }
    assert_null(strstr(rl, "\"code\":\"00008\""));
    assert_non_null(strstr(rl, "\"needed\":252,\"needed_s\":\"252\",\"days_left\":21.00,\"rate_needed\":12.00,"
                               "\"agents\":0,\"per_agent_day\":12.00,\"recruit\":1}"));
    assert_non_null(strstr(j, "\"recruit_total\":[3,51],\"per_agent_day\":[12.00,0.52]"));
    free(j);
    /* The commune page: its agents, needs and recruits per class, and the
     * province's name for the way back. */
    j = doc_at(ds, 2, "00004", REPORT_LANG_VI, MARCH_11, &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(j, "\"province\":\"01\",\"province_name\":\"Hà Nội\""));
    assert_non_null(strstr(j, "\"agents\":3,\"per_agent_day\":0.52,\"recruit\":23}"));
    free(j);
    /* Once the month is over nothing is left to recruit for. */
    j = doc(ds, 1, "01", REPORT_LANG_VI, &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(j, "\"closed\":true"));
    assert_non_null(strstr(j, "\"recruit\":[],\"recruit_total\":[0,0]"));
    free(j);
    dash_state_free(ds);
    registry_free(reg);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_province_counts_and_escaping),
        cmocka_unit_test(test_national_follows_new_statuses),
        cmocka_unit_test(test_samples_per_day),
        cmocka_unit_test(test_alerts_newest_first),
        cmocka_unit_test(test_units_without_status),
        cmocka_unit_test(test_agents_and_recruiting_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
