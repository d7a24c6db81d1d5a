/* Unit tests of ctl/quota_view.c's --by-operator output: CSV one row per
 * unit, class and operator (operator, operator_count last; a unit without
 * samples one row with an empty operator), JSON an "operators" object, the
 * table a line per operator; without the flag, no trace of operators. And
 * the demand in CSV and JSON, recomputed at the filter's now, not the stale
 * one a status carries. Links ispeedctl_core. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ispeed.pb-c.h"
#include "quota_view.h"

/* Packs a commune's QuotaStatus of 2025-07 with the given operators. */
static size_t pack_status(const char *unit, uint64_t count, size_t nops, const char *const *names,
                          const uint64_t *counts, uint8_t *buf) {
    Ispeed__V1__QuotaStatus q = ISPEED__V1__QUOTA_STATUS__INIT;
    Ispeed__V1__OperatorCount oc[8], *ocp[8];
    q.unit = (char *)unit;
    q.name = "Phuc Xa";
    q.level = ISPEED__V1__LEVEL__LEVEL_COMMUNE;
    q.parent = "001";
    q.province = "01";
    q.month = "2025-07";
    q.network = ISPEED__V1__NETWORK__NETWORK_FIXED;
    q.count = count;
    q.target = 300;
    q.distinct_agents = (uint32_t)(count / 3); /* 12 samples: 4 agents */
    for (size_t i = 0; i < nops; i++) {
        ispeed__v1__operator_count__init(&oc[i]);
        oc[i].operator_ = (char *)names[i];
        oc[i].count = counts[i];
        ocp[i] = &oc[i];
    }
    q.n_operators = nops;
    q.operators = ocp;
    return ispeed__v1__quota_status__pack(&q, buf);
}

static char *print(quota_view_t *qt, enum quota_format fmt) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    assert_int_equal(quota_view_print(qt, fmt, "title", f), 0);
    fclose(f);
    return text;
}

static quota_view_t *table(int by_operator) {
    quota_filter f = {0};
    snprintf(f.month, sizeof f.month, "2025-07");
    f.by_operator = by_operator;
    quota_view_t *qt = quota_view_new(&f);
    uint8_t buf[1024];
    char err[128];
    static const char *const names[] = {"VNPT", "Viettel", "other"};
    static const uint64_t counts[] = {7, 4, 1};
    size_t n = pack_status("00001", 12, 3, names, counts, buf);
    assert_int_equal(quota_view_put(qt, "00001/2025-07/fixed", 19, buf, n, err, sizeof err), 0);
    n = pack_status("00004", 0, 0, NULL, NULL, buf);
    assert_int_equal(quota_view_put(qt, "00004/2025-07/fixed", 19, buf, n, err, sizeof err), 0);
    return qt;
}

/* Without --by-operator each format shows both units, the most behind
 * first, with their counts, and no trace of operators. */
static void test_default_unchanged(void **state) {
    (void)state;
    quota_view_t *qt = table(0);
    for (int fmt = QUOTA_FORMAT_TABLE; fmt <= QUOTA_FORMAT_JSON; fmt++) {
        char *out = print(qt, (enum quota_format)fmt);
        assert_null(strstr(out, "operator"));
        assert_null(strstr(out, "VNPT"));
        const char *first = strstr(out, "00004"), *second = strstr(out, "00001");
        if (!first || !second || first > second) fail_msg("format %d: 00004 then 00001 expected:\n%s", fmt, out);
        free(out);
    }
    /* CSV, as SPEC fixes its first columns: a header and one row a unit. */
    char *csv = print(qt, QUOTA_FORMAT_CSV);
    const char *header = "code,name,level,network,count,target,expected,state,projection,median_download_bps,"
                         "median_upload_bps,median_latency_ms,count_5g,late_count,parent,updated_ms,distinct_agents,"
                         "needed,days_left,rate_needed,rate_current,will_make_it\n";
    assert_true(strncmp(csv, header, strlen(header)) == 0);
    const char *row1 = csv + strlen(header);
    assert_true(strncmp(row1, "00004,Phuc Xa,commune,fixed,0,300,", strlen("00004,Phuc Xa,commune,fixed,0,300,")) == 0);
    const char *row2 = strchr(row1, '\n');
    assert_non_null(row2);
    assert_true(strncmp(row2 + 1, "00001,Phuc Xa,commune,fixed,12,300,", strlen("00001,Phuc Xa,commune,fixed,12,300,")) == 0);
    const char *end = strchr(row2 + 1, '\n');
    assert_non_null(end);
    assert_string_equal(end, "\n");
    free(csv);
    /* JSON: both units with their counts. */
    char *json = print(qt, QUOTA_FORMAT_JSON);
    assert_non_null(strstr(json, "\"code\":\"00001\",\"name\":\"Phuc Xa\",\"level\":\"commune\",\"network\":\"fixed\",\"count\":12,\"target\":300,"));
    assert_non_null(strstr(json, "\"code\":\"00004\",\"name\":\"Phuc Xa\",\"level\":\"commune\",\"network\":\"fixed\",\"count\":0,\"target\":300,"));
    free(json);
    quota_view_free(qt);
}

static void test_by_operator(void **state) {
    (void)state;
    quota_view_t *qt = table(1);
    char *out = print(qt, QUOTA_FORMAT_CSV);
    /* Header: the usual columns, then operator,operator_count. */
    assert_true(strncmp(out, "code,name,level,network,count,target,", strlen("code,name,level,network,count,target,")) == 0);
    assert_non_null(strstr(out, ",parent,updated_ms,distinct_agents,needed,days_left,rate_needed,rate_current,"
                                "will_make_it,operator,operator_count\n"));
    /* 00004 (0, the most behind) first with an empty operator, then a row per operator of 00001,
     * each after the unit's distinct agents (0 and 4) and demand: no now and no updated_ms, so
     * taken before the month: all of July's 31 days left, 300 - 12 = 288 needed, 288 / 31 =
     * 9.29 a day. */
    const char *want[] = {"00004,", ",0,300,31.00,9.68,0.00,0,,0\n", "00001,", ",4,288,31.00,9.29,0.00,0,VNPT,7\n",
                          ",4,288,31.00,9.29,0.00,0,Viettel,4\n", ",4,288,31.00,9.29,0.00,0,other,1\n"};
    const char *p = out;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const char *q = strstr(p, want[i]);
        if (!q) fail_msg("CSV lacks '%s' after offset %zu:\n%s", want[i], (size_t)(p - out), out);
        p = q + strlen(want[i]);
    }
    size_t lines = 0;
    for (p = out; *p; p++) lines += *p == '\n';
    assert_int_equal(lines, 1 + 1 + 3);
    free(out);

    out = print(qt, QUOTA_FORMAT_JSON);
    assert_non_null(strstr(out, "\"late_count\":0,\"distinct_agents\":4,"));
    assert_non_null(strstr(out, "\"operators\":{\"VNPT\":7,\"Viettel\":4,\"other\":1}}"));
    assert_non_null(strstr(out, "\"operators\":{}}"));
    free(out);

    out = print(qt, QUOTA_FORMAT_TABLE);
    assert_non_null(strstr(out, "VNPT"));
    assert_non_null(strstr(out, "7  58.3%"));
    free(out);
    quota_view_free(qt);
}

#define JUL_START 1751302800000LL /* 2025-07-01 00:00 UTC+7 */
#define DAY 86400000LL

/* A status published on the 5th (12 samples of 300, and the demand of
 * then: 26 days left) read on the 21st: CSV and JSON give the demand of the
 * 21st, by hand 288 needed, 11 days left, 288 / 11 = 26.18 a day needed,
 * 12 / 20 = 0.60 a day so far, not going to make it; read on the 5th, the
 * demand of the 5th (26 days, 11.08 and 2.40 a day). */
static void test_demand_at_now(void **state) {
    (void)state;
    Ispeed__V1__QuotaStatus q = ISPEED__V1__QUOTA_STATUS__INIT;
    q.unit = "00001";
    q.name = "Phuc Xa";
    q.level = ISPEED__V1__LEVEL__LEVEL_COMMUNE;
    q.parent = "001";
    q.province = "01";
    q.month = "2025-07";
    q.network = ISPEED__V1__NETWORK__NETWORK_FIXED;
    q.count = 12;
    q.target = 300;
    q.updated_ms = JUL_START + 5 * DAY;
    q.needed = 288;
    q.days_left = 26.0;
    q.rate_needed = 288.0 / 26;
    q.rate_current = 12.0 / 5;
    uint8_t buf[1024];
    char err[128];
    size_t n = ispeed__v1__quota_status__pack(&q, buf);
    const int64_t nows[2] = {JUL_START + 20 * DAY, JUL_START + 5 * DAY};
    const char *csv_want[2] = {",288,11.00,26.18,0.60,0\n", ",288,26.00,11.08,2.40,0\n"};
    const char *json_want[2] = {"\"needed\":288,\"days_left\":11.000,\"rate_needed\":26.182,\"rate_current\":0.600,"
                                "\"will_make_it\":false",
                                "\"needed\":288,\"days_left\":26.000,\"rate_needed\":11.077,\"rate_current\":2.400,"
                                "\"will_make_it\":false"};
    for (int k = 0; k < 2; k++) {
        quota_filter f = {0};
        snprintf(f.month, sizeof f.month, "2025-07");
        f.now_ms = nows[k];
        quota_view_t *qt = quota_view_new(&f);
        assert_non_null(qt);
        assert_int_equal(quota_view_put(qt, "00001/2025-07/fixed", 19, buf, n, err, sizeof err), 0);
        char *csv = print(qt, QUOTA_FORMAT_CSV), *json = print(qt, QUOTA_FORMAT_JSON);
        if (!strstr(csv, csv_want[k])) fail_msg("now %d: CSV lacks %s:\n%s", k, csv_want[k], csv);
        if (!strstr(json, json_want[k])) fail_msg("now %d: JSON lacks %s:\n%s", k, json_want[k], json);
        free(csv);
        free(json);
        quota_view_free(qt);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demand_at_now),
        cmocka_unit_test(test_default_unchanged),
        cmocka_unit_test(test_by_operator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
