/* Unit tests of the collector's counting core (collector/quota.c, ingest.c,
 * dedupe.c, dailycap.c, validate.c, agents.c): the pace rule with a fixed
 * clock, each transition alerted once, months in UTC+7, every level counted,
 * de-duplication, the daily cap and the late rule, the bounded and
 * normalised per-operator counts (sum = count, late ones excluded). Links
 * ispeed_collector_core. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agents.h"
#include "dailycap.h"
#include "dedupe.h"
#include "enrollment_fixture.h"
#include "ingest.h"
#include "ispeed.pb-c.h"
#include "merges.h"
#include "pbnames.h"
#include "quota.h"
#include "registry.h"
#include "sign.h"
#include "tmpfile_fixture.h"
#include "validate.h"
#include "vntime.h"

#define DAY 86400000LL
/* July 2025 in Vietnam: [2025-06-30 17:00 UTC, 2025-07-31 17:00 UTC), 31 days. */
#define JUL_START 1751302800000LL
#define JUL_END 1753981200000LL
#define JUL_15_NOON (JUL_START + 14 * DAY + 12 * 3600000LL)

/* A three-level registry: 01 > 001 > {00001, 00004}, 01 > 002 > 00010, and a
 * second province 02 > 020 > 00600. */
static const char *const CSV3 = "code,level,parent,name,type\n"
                                "01,province,,Ha Noi,Thanh pho Trung uong\n"
                                "001,district,01,Ba Dinh,Quan\n"
                                "00001,commune,001,Phuc Xa,Phuong\n"
                                "00004,commune,001,Truc Bach,Phuong\n"
                                "002,district,01,Hoan Kiem,Quan\n"
                                "00010,commune,002,Hang Bac,Phuong\n"
                                "02,province,,Ha Giang,Tinh\n"
                                "020,district,02,Ha Giang city,Thanh pho\n"
                                "00600,commune,020,Quang Trung,Phuong\n";

static const char *const CSV2 = "code,level,parent,name,type\n"
                                "01,province,,Ha Noi,Thanh pho Trung uong\n"
                                "00004,commune,01,Ba Dinh,Phuong\n"
                                "00008,commune,01,Ngoc Ha,Phuong\n";

static registry_t *load_csv(const char *csv) {
    char path[] = "/tmp/test_quota_XXXXXX";
    fixture_write_tmp(path, csv);
    char err[256];
    registry_t *reg = registry_load(path, err, sizeof err);
    unlink(path);
    if (!reg) fail_msg("registry: %s", err);
    return reg;
}

/* A table over reg with the default configuration. */
static quota_counts_t *default_table(const registry_t *reg) {
    quota_config cfg;
    char err[128];
    quota_config_default(&cfg);
    quota_counts_t *qt = quota_counts_new(reg, &cfg, err, sizeof err);
    if (!qt) fail_msg("quota table: %s", err);
    return qt;
}

/* ---- alert capture ---- */

#define MAX_ALERTS 64
struct alerts {
    size_t n;
    quota_alert a[MAX_ALERTS];
};

static void capture(const quota_alert *a, void *ctx) {
    struct alerts *al = ctx;
    if (al->n < MAX_ALERTS) al->a[al->n] = *a;
    al->n++;
}

static size_t count_alerts_for(const struct alerts *al, const char *unit, enum quota_network net,
                               enum quota_state to) {
    size_t n = 0;
    for (size_t i = 0; i < al->n && i < MAX_ALERTS; i++)
        if (!strcmp(al->a[i].status.unit->code, unit) && al->a[i].status.network == net &&
            al->a[i].status.state == to)
            n++;
    return n;
}

/* ---- the pace rule ---- */

static void test_pace_expected(void **state) {
    (void)state;
    quota_config cfg;
    quota_config_default(&cfg);
    double exp, proj;
    /* 15 July noon: 14.5 of 31 days elapsed. */
    enum quota_state s = quota_pace(&cfg, 100, 300, JUL_15_NOON, JUL_START, JUL_END, &exp, &proj);
    assert_float_equal(exp, 300.0 * 14.5 / 31.0, 1e-9);
    assert_float_equal(proj, 100.0 * 31.0 / 14.5, 1e-9);
    /* 100 < 0.8 x 140.3 = 112.3 */
    assert_int_equal(s, QUOTA_BEHIND);
    assert_int_equal(quota_pace(&cfg, 113, 300, JUL_15_NOON, JUL_START, JUL_END, NULL, NULL), QUOTA_ON_TRACK);
    assert_int_equal(quota_pace(&cfg, 112, 300, JUL_15_NOON, JUL_START, JUL_END, NULL, NULL), QUOTA_BEHIND);
    assert_int_equal(quota_pace(&cfg, 300, 300, JUL_15_NOON, JUL_START, JUL_END, NULL, NULL), QUOTA_MET);
    assert_int_equal(quota_pace(&cfg, 301, 300, JUL_START + DAY, JUL_START, JUL_END, NULL, NULL), QUOTA_MET);
}

static void test_pace_start_day(void **state) {
    (void)state;
    quota_config cfg;
    quota_config_default(&cfg);
    /* Day 2 at 23:59 VN: never BEHIND yet, even with nothing. */
    int64_t day2_end = JUL_START + 2 * DAY - 60000;
    assert_int_equal(quota_pace(&cfg, 0, 300, day2_end, JUL_START, JUL_END, NULL, NULL), QUOTA_ON_TRACK);
    /* Day 3 00:00 VN: BEHIND with nothing. */
    assert_int_equal(quota_pace(&cfg, 0, 300, JUL_START + 2 * DAY, JUL_START, JUL_END, NULL, NULL), QUOTA_BEHIND);
    cfg.pace_start_day = 10;
    assert_int_equal(quota_pace(&cfg, 0, 300, JUL_START + 8 * DAY, JUL_START, JUL_END, NULL, NULL), QUOTA_ON_TRACK);
    assert_int_equal(quota_pace(&cfg, 0, 300, JUL_START + 9 * DAY, JUL_START, JUL_END, NULL, NULL), QUOTA_BEHIND);
    /* behind share */
    quota_config_default(&cfg);
    cfg.behind_share = 0.5;
    assert_int_equal(quota_pace(&cfg, 71, 300, JUL_15_NOON, JUL_START, JUL_END, NULL, NULL), QUOTA_ON_TRACK);
    assert_int_equal(quota_pace(&cfg, 70, 300, JUL_15_NOON, JUL_START, JUL_END, NULL, NULL), QUOTA_BEHIND);
}

static void test_pace_outside_month(void **state) {
    (void)state;
    quota_config cfg;
    quota_config_default(&cfg);
    double exp, proj;
    /* Before the month: nothing expected yet. */
    assert_int_equal(quota_pace(&cfg, 0, 300, JUL_START - 1, JUL_START, JUL_END, &exp, &proj), QUOTA_ON_TRACK);
    assert_float_equal(exp, 0.0, 1e-12);
    /* After it: the whole target expected, projection = count. */
    assert_int_equal(quota_pace(&cfg, 239, 300, JUL_END + DAY, JUL_START, JUL_END, &exp, &proj), QUOTA_BEHIND);
    assert_float_equal(exp, 300.0, 1e-12);
    assert_float_equal(proj, 239.0, 1e-12);
    assert_int_equal(quota_pace(&cfg, 240, 300, JUL_END + DAY, JUL_START, JUL_END, NULL, NULL), QUOTA_ON_TRACK);
}

static void test_month_bounds_utc7(void **state) {
    (void)state;
    char m[8];
    int64_t s, e;
    assert_int_equal(vntime_month_bounds("2025-07", &s, &e), 0);
    assert_true(s == JUL_START && e == JUL_END);
    /* 2025-07-31 16:59:59.999 UTC is still July in Vietnam; 17:00 is August. */
    vntime_month(JUL_END - 1, m);
    assert_string_equal(m, "2025-07");
    vntime_month(JUL_END, m);
    assert_string_equal(m, "2025-08");
    vntime_month(JUL_START, m);
    assert_string_equal(m, "2025-07");
    vntime_month(JUL_START - 1, m);
    assert_string_equal(m, "2025-06");
}

/* ---- the table ---- */

static void test_counts_every_level(void **state) {
    (void)state;
    registry_t *reg = load_csv(CSV3);
    quota_counts_t *qt = default_table(reg);
    assert_non_null(qt);
    const registry_unit *c1 = registry_find(reg, "00001"), *c4 = registry_find(reg, "00004"),
                        *c10 = registry_find(reg, "00010");
    assert_int_equal(quota_add(qt, c1, "2025-07", QUOTA_FIXED, 0, 0, NULL, JUL_15_NOON), 0);
    assert_int_equal(quota_add(qt, c4, "2025-07", QUOTA_FIXED, 0, 0, NULL, JUL_15_NOON), 0);
    assert_int_equal(quota_add(qt, c10, "2025-07", QUOTA_MOBILE, 1, 0, NULL, JUL_15_NOON), 0);
    assert_int_equal(quota_add(qt, c10, "2025-07", QUOTA_MOBILE, 0, 1, NULL, JUL_15_NOON), 0); /* late */
    assert_int_equal(quota_add(qt, c10, "2025-06", QUOTA_FIXED, 0, 0, NULL, JUL_15_NOON), 0);

    quota_status st;
    quota_get(qt, registry_find(reg, "001"), "2025-07", QUOTA_FIXED, JUL_15_NOON, &st);
    assert_int_equal(st.count, 2);
    quota_get(qt, registry_find(reg, "01"), "2025-07", QUOTA_FIXED, JUL_15_NOON, &st);
    assert_int_equal(st.count, 2);
    quota_get(qt, registry_find(reg, "01"), "2025-07", QUOTA_MOBILE, JUL_15_NOON, &st);
    assert_int_equal(st.count, 1);
    assert_int_equal(st.count_5g, 1);
    assert_int_equal(st.late_count, 1);
    assert_int_equal(st.target, 300);
    assert_string_equal(st.month, "2025-07");
    quota_get(qt, registry_find(reg, "002"), "2025-06", QUOTA_FIXED, JUL_15_NOON, &st);
    assert_int_equal(st.count, 1);
    quota_get(qt, registry_find(reg, "02"), "2025-07", QUOTA_FIXED, JUL_15_NOON, &st);
    assert_int_equal(st.count, 0);
    quota_counts_free(qt);
    registry_free(reg);
}

/* Sum over the operators equals count: the invariant of QuotaStatus.operators. */
static void assert_ops_sum(const quota_status *st) {
    uint64_t sum = 0;
    assert_true(st->n_operators <= QUOTA_OPERATORS_MAX);
    for (size_t i = 0; i < st->n_operators; i++) {
        assert_true(st->operators[i].count > 0);
        sum += st->operators[i].count;
    }
    if (sum != st->count)
        fail_msg("%s %s: operators sum to %llu, count is %llu", st->unit->code, pbnames_network((int)st->network),
                 (unsigned long long)sum, (unsigned long long)st->count);
}

static uint64_t op_count(const quota_status *st, const char *name) {
    for (size_t i = 0; i < st->n_operators; i++)
        if (strcmp(st->operators[i].name, name) == 0) return st->operators[i].count;
    return 0;
}

static void test_operator_normalise(void **state) {
    (void)state;
    char out[QUOTA_OPERATOR_NAME_MAX + 1];
    struct {
        const char *in, *want;
    } cases[] = {
        {NULL, "unknown"},
        {"", "unknown"},
        {" \t\r\n ", "unknown"},
        {"UNKNOWN", "unknown"},
        {" Other ", "other"},
        {"viettel", "Viettel"},
        {"  VIETTEL\t", "Viettel"},
        {"vnpt", "VNPT"},
        {"fpt   telecom", "FPT Telecom"},
        {"Mobifone", "MobiFone"},
        {"  Foo\x01\x7f  Net ", "Foo Net"},
        {"Vi\xe1\xbb\x85n th\xc3\xb4ng", "Vi\xe1\xbb\x85n th\xc3\xb4ng"}, /* UTF-8 kept */
        {"bad\xff\xc3(byte", "bad?" "?(byte"}, /* invalid UTF-8 */
        {"0123456789012345678901234567890123456789", "01234567890123456789012345678901"},
        /* 31 ASCII then a 3-byte character: cut before it, not inside. */
        {"0123456789012345678901234567890\xe1\xbb\x85", "0123456789012345678901234567890"},
        /* A blank at the cut is not kept at the end. */
        {"0123456789012345678901234567890123 x", "01234567890123456789012345678901"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        quota_operator_normalise(cases[i].in, out);
        if (strcmp(out, cases[i].want) != 0)
            fail_msg("case %zu: '%s', want '%s'", i, out, cases[i].want);
        assert_true(strlen(out) <= QUOTA_OPERATOR_NAME_MAX);
    }
}

/* At most QUOTA_OPERATORS_NAMED named per counter, the rest in "other",
 * empty in "unknown", late ones nowhere; case and blanks do not split an
 * operator; the sum is count at every level. */
static void test_operator_bound(void **state) {
    (void)state;
    registry_t *reg = load_csv(CSV3);
    quota_counts_t *qt = default_table(reg);
    const registry_unit *c1 = registry_find(reg, "00001"), *c4 = registry_find(reg, "00004");
    static const char *const first[] = {"Foo Net", "viettel", "VNPT", "A", "B", "C", "D", "E"};
    /* Eight distinct names take the eight slots at 00001. */
    for (int i = 0; i < 8; i++)
        for (int k = 0; k <= i; k++)
            assert_int_equal(quota_add(qt, c1, "2025-07", QUOTA_FIXED, 0, 0, first[i], JUL_15_NOON), 0);
    /* Spelled otherwise, the same operators. */
    assert_int_equal(quota_add(qt, c1, "2025-07", QUOTA_FIXED, 0, 0, "  foo   NET", JUL_15_NOON), 0);
    assert_int_equal(quota_add(qt, c1, "2025-07", QUOTA_FIXED, 0, 0, "VIETTEL", JUL_15_NOON), 0);
    /* Twenty more distinct names: all "other". */
    for (int i = 0; i < 20; i++) {
        char name[16];
        snprintf(name, sizeof name, "isp-%d", i);
        assert_int_equal(quota_add(qt, c1, "2025-07", QUOTA_FIXED, 0, 0, name, JUL_15_NOON), 0);
    }
    assert_int_equal(quota_add(qt, c1, "2025-07", QUOTA_FIXED, 0, 0, "", JUL_15_NOON), 0);
    assert_int_equal(quota_add(qt, c1, "2025-07", QUOTA_FIXED, 0, 0, NULL, JUL_15_NOON), 0);
    /* Late: in late_count, in no operator. */
    assert_int_equal(quota_add(qt, c1, "2025-07", QUOTA_FIXED, 0, 1, "VNPT", JUL_15_NOON), 0);
    assert_int_equal(quota_add(qt, c1, "2025-07", QUOTA_FIXED, 0, 1, "Late ISP", JUL_15_NOON), 0);
    /* 00004: two more operators; its district then sees ten names. */
    assert_int_equal(quota_add(qt, c4, "2025-07", QUOTA_FIXED, 0, 0, "G", JUL_15_NOON), 0);
    assert_int_equal(quota_add(qt, c4, "2025-07", QUOTA_FIXED, 0, 0, "vnpt", JUL_15_NOON), 0);

    quota_status st;
    quota_get(qt, c1, "2025-07", QUOTA_FIXED, JUL_15_NOON, &st);
    assert_int_equal(st.count, 36 + 2 + 20 + 2);
    assert_int_equal(st.late_count, 2);
    assert_ops_sum(&st);
    assert_int_equal(st.n_operators, QUOTA_OPERATORS_MAX);
    assert_int_equal(op_count(&st, "Foo Net"), 2); /* the first spelling names it */
    assert_int_equal(op_count(&st, "Viettel"), 3);
    assert_int_equal(op_count(&st, "VNPT"), 3);
    assert_int_equal(op_count(&st, "E"), 8);
    assert_int_equal(op_count(&st, "other"), 20);
    assert_int_equal(op_count(&st, "unknown"), 2);
    assert_int_equal(op_count(&st, "Late ISP"), 0);
    /* Order: by count, highest first; then other, unknown. */
    assert_string_equal(st.operators[0].name, "E");
    assert_string_equal(st.operators[QUOTA_OPERATORS_MAX - 2].name, "other");
    assert_string_equal(st.operators[QUOTA_OPERATORS_MAX - 1].name, "unknown");
    for (size_t i = 1; i + 2 < st.n_operators; i++) assert_true(st.operators[i - 1].count >= st.operators[i].count);

    quota_get(qt, c4, "2025-07", QUOTA_FIXED, JUL_15_NOON, &st);
    assert_ops_sum(&st);
    assert_int_equal(st.n_operators, 2);
    /* The district counts its own slots: "G" came after eight others. */
    const char *upper[] = {"001", "01"};
    for (int i = 0; i < 2; i++) {
        quota_get(qt, registry_find(reg, upper[i]), "2025-07", QUOTA_FIXED, JUL_15_NOON, &st);
        assert_int_equal(st.count, 62);
        assert_ops_sum(&st);
        assert_int_equal(op_count(&st, "VNPT"), 4);
        assert_int_equal(op_count(&st, "G"), 0);
        assert_int_equal(op_count(&st, "other"), 21);
    }
    /* Nothing counted: no operators, nothing allocated to show. */
    quota_get(qt, registry_find(reg, "00010"), "2025-07", QUOTA_FIXED, JUL_15_NOON, &st);
    assert_int_equal(st.n_operators, 0);
    quota_get(qt, c1, "2025-07", QUOTA_MOBILE, JUL_15_NOON, &st);
    assert_int_equal(st.n_operators, 0);
    quota_counts_free(qt);
    registry_free(reg);
}

struct cells {
    size_t n;
    struct {
        const registry_unit *unit;
        char month[8];
        enum quota_network net;
        quota_cell_state st;
        quota_operator_count ops[QUOTA_OPERATORS_MAX];
    } v[32];
};

static int keep_cell(const registry_unit *unit, const char *month, enum quota_network net,
                     const quota_cell_state *st, void *ctx) {
    struct cells *cs = ctx;
    assert_true(cs->n < 32);
    cs->v[cs->n].unit = unit;
    memcpy(cs->v[cs->n].month, month, 8);
    cs->v[cs->n].net = net;
    cs->v[cs->n].st = *st;
    cs->v[cs->n].st.sketch = NULL;
    cs->v[cs->n].st.sketch_len = 0;
    memcpy(cs->v[cs->n].ops, st->operators, st->n_operators * sizeof *st->operators);
    cs->v[cs->n].st.operators = cs->v[cs->n].ops;
    cs->n++;
    return 0;
}

/* quota_foreach_province -> quota_restore keeps the operators exactly (the
 * slots too: a name new after the restore goes where it went before); a
 * counter restored without operators (an older checkpoint) has them under
 * "unknown"; operators summing past count are refused. */
static void test_operator_restore(void **state) {
    (void)state;
    registry_t *reg = load_csv(CSV3);
    quota_config cfg;
    quota_config_default(&cfg);
    char err[128];
    quota_counts_t *a = quota_counts_new(reg, &cfg, err, sizeof err), *b = quota_counts_new(reg, &cfg, err, sizeof err);
    const registry_unit *c1 = registry_find(reg, "00001"), *p = registry_find(reg, "01");
    for (int i = 0; i < 12; i++) {
        char name[16];
        snprintf(name, sizeof name, "isp-%d", i % 10);
        quota_add(a, c1, "2025-07", QUOTA_MOBILE, 0, 0, name, JUL_15_NOON);
    }
    quota_add(a, c1, "2025-07", QUOTA_MOBILE, 0, 0, NULL, JUL_15_NOON);
    struct cells cs = {0};
    quota_foreach_province(a, p, keep_cell, &cs);
    assert_int_equal(cs.n, 3); /* commune, district, province; mobile */
    for (size_t i = 0; i < cs.n; i++)
        assert_int_equal(quota_restore(b, cs.v[i].unit, cs.v[i].month, cs.v[i].net, &cs.v[i].st), 0);
    /* The same new sample on both sides. */
    quota_add(a, c1, "2025-07", QUOTA_MOBILE, 0, 0, "isp-9", JUL_15_NOON);
    quota_add(b, c1, "2025-07", QUOTA_MOBILE, 0, 0, "isp-9", JUL_15_NOON);
    quota_add(a, c1, "2025-07", QUOTA_MOBILE, 0, 0, "isp-1", JUL_15_NOON);
    quota_add(b, c1, "2025-07", QUOTA_MOBILE, 0, 0, "isp-1", JUL_15_NOON);
    const char *units[] = {"00001", "001", "01"};
    for (int i = 0; i < 3; i++) {
        quota_status x, y;
        quota_get(a, registry_find(reg, units[i]), "2025-07", QUOTA_MOBILE, JUL_15_NOON, &x);
        quota_get(b, registry_find(reg, units[i]), "2025-07", QUOTA_MOBILE, JUL_15_NOON, &y);
        assert_ops_sum(&x);
        assert_ops_sum(&y);
        assert_int_equal(x.n_operators, y.n_operators);
        for (size_t k = 0; k < x.n_operators; k++) {
            assert_string_equal(x.operators[k].name, y.operators[k].name);
            assert_int_equal(x.operators[k].count, y.operators[k].count);
        }
        assert_int_equal(op_count(&y, "isp-1"), 3);
        assert_int_equal(op_count(&y, "other"), 3); /* isp-8 and isp-9 twice */
        assert_int_equal(op_count(&y, "unknown"), 1);
    }
    /* An older checkpoint: a count, no operators. */
    quota_cell_state old = {5, 1, 0, 0, NULL, 0, NULL, 0, NULL, 0, 0};
    assert_int_equal(quota_restore(b, registry_find(reg, "00010"), "2025-07", QUOTA_FIXED, &old), 0);
    quota_status st;
    quota_get(b, registry_find(reg, "00010"), "2025-07", QUOTA_FIXED, JUL_15_NOON, &st);
    assert_int_equal(st.n_operators, 1);
    assert_int_equal(op_count(&st, "unknown"), 5);
    /* Damaged: operators sum past count; operators without a count. */
    quota_operator_count too_many[2] = {{"VNPT", 4}, {"Viettel", 2}};
    quota_cell_state bad = {5, 0, 0, 0, NULL, 0, too_many, 2, NULL, 0, 0};
    assert_int_equal(quota_restore(b, registry_find(reg, "00010"), "2025-07", QUOTA_FIXED, &bad), -1);
    bad.count = 0;
    assert_int_equal(quota_restore(b, registry_find(reg, "00010"), "2025-07", QUOTA_FIXED, &bad), -1);
    quota_counts_free(a);
    quota_counts_free(b);
    registry_free(reg);
}

static void test_two_levels(void **state) {
    (void)state;
    registry_t *reg = load_csv(CSV2);
    quota_counts_t *qt = default_table(reg);
    quota_add(qt, registry_find(reg, "00004"), "2025-07", QUOTA_FIXED, 0, 0, NULL, JUL_15_NOON);
    quota_add(qt, registry_find(reg, "00008"), "2025-07", QUOTA_FIXED, 0, 0, NULL, JUL_15_NOON);
    quota_status st;
    quota_get(qt, registry_find(reg, "01"), "2025-07", QUOTA_FIXED, JUL_15_NOON, &st);
    assert_int_equal(st.count, 2);
    /* three dirty counters: two communes, one province */
    assert_int_equal(quota_flush(qt, JUL_15_NOON, NULL, NULL), 3);
    quota_counts_free(qt);
    registry_free(reg);
}

static void collect_status(const quota_status *st, void *ctx) {
    size_t *n = ctx;
    (void)st;
    (*n)++;
}

static void test_flush_coalesces(void **state) {
    (void)state;
    registry_t *reg = load_csv(CSV3);
    quota_counts_t *qt = default_table(reg);
    for (int i = 0; i < 50; i++) quota_add(qt, registry_find(reg, "00001"), "2025-07", QUOTA_FIXED, 0, 0, NULL, JUL_15_NOON);
    size_t n = 0;
    assert_int_equal(quota_dirty_count(qt), 3);
    assert_int_equal(quota_flush(qt, JUL_15_NOON, collect_status, &n), 3); /* commune, district, province */
    assert_int_equal(n, 3);
    assert_int_equal(quota_flush(qt, JUL_15_NOON, collect_status, &n), 0);
    quota_counts_free(qt);
    registry_free(reg);
}

/* A change goes out at the next call when the counter was quiet for the gap;
 * a busy counter at most once per gap, its later changes kept, not lost. */
static void test_flush_due_per_counter(void **state) {
    (void)state;
    registry_t *reg = load_csv(CSV3);
    quota_counts_t *qt = default_table(reg);
    const registry_unit *a = registry_find(reg, "00001"), *b = registry_find(reg, "00004");
    size_t n = 0;
    quota_add(qt, a, "2025-07", QUOTA_FIXED, 0, 0, NULL, JUL_15_NOON);
    assert_int_equal(quota_flush_due(qt, JUL_15_NOON, 10000, 1000, SIZE_MAX, collect_status, &n), 3); /* first: at once */
    quota_add(qt, a, "2025-07", QUOTA_FIXED, 0, 0, NULL, JUL_15_NOON);
    assert_int_equal(quota_flush_due(qt, JUL_15_NOON, 10500, 1000, SIZE_MAX, collect_status, &n), 0); /* busy: waits */
    assert_int_equal(quota_dirty_count(qt), 3);
    quota_add(qt, b, "2025-07", QUOTA_MOBILE, 0, 0, NULL, JUL_15_NOON); /* another unit's class: at once */
    assert_int_equal(quota_flush_due(qt, JUL_15_NOON, 10600, 1000, SIZE_MAX, collect_status, &n), 3);
    assert_int_equal(quota_dirty_count(qt), 3);
    assert_int_equal(quota_flush_due(qt, JUL_15_NOON, 11000, 1000, SIZE_MAX, collect_status, &n), 3); /* the gap passed */
    assert_int_equal(quota_dirty_count(qt), 0);
    assert_int_equal(n, 9);
    /* A burst goes out in slices of the limit, oldest first, nothing lost. */
    for (int i = 0; i < 3; i++) quota_add(qt, registry_find(reg, "00600"), "2025-07", QUOTA_FIXED, 0, 0, NULL, JUL_15_NOON);
    quota_add(qt, registry_find(reg, "00010"), "2025-07", QUOTA_FIXED, 0, 0, NULL, JUL_15_NOON);
    assert_int_equal(quota_dirty_count(qt), 6); /* 00600, 020, 02, 00010, 002, 01 */
    assert_int_equal(quota_flush_due(qt, JUL_15_NOON, 11100, 1000, 2, collect_status, &n), 2);
    assert_int_equal(quota_flush_due(qt, JUL_15_NOON, 11100, 1000, 2, collect_status, &n), 2);
    assert_int_equal(quota_dirty_count(qt), 2);
    /* 01 fixed went out at 11000: it waits for its gap, 002 does not. */
    assert_int_equal(quota_flush_due(qt, JUL_15_NOON, 11100, 1000, 2, collect_status, &n), 1);
    assert_int_equal(quota_dirty_count(qt), 1);
    assert_int_equal(quota_flush_due(qt, JUL_15_NOON, 12000, 1000, 2, collect_status, &n), 1);
    assert_int_equal(quota_dirty_count(qt), 0);
    quota_status st;
    assert_int_equal(quota_get(qt, a, "2025-07", QUOTA_FIXED, JUL_15_NOON, &st), 0);
    assert_int_equal(st.count, 2);
    quota_counts_free(qt);
    registry_free(reg);
}

static int only_province_01(const registry_unit *p, void *ctx) {
    (void)ctx;
    return strcmp(p->code, "01") == 0;
}

/* CSV3 with a target of 10, its alerts captured in *al. */
static quota_counts_t *alerting_table_csv3(registry_t **reg, struct alerts *al) {
    quota_config cfg;
    quota_config_default(&cfg);
    cfg.target = 10;
    char err[128];
    *reg = load_csv(CSV3);
    quota_counts_t *qt = quota_counts_new(*reg, &cfg, err, sizeof err);
    assert_non_null(qt);
    quota_set_alerts(qt, capture, al);
    return qt;
}

static void test_alerts_once(void **state) {
    (void)state;
    registry_t *reg;
    struct alerts al = {0};
    quota_counts_t *qt = alerting_table_csv3(&reg, &al);

    /* Replay: counting but not alerting. */
    const registry_unit *c1 = registry_find(reg, "00001");
    quota_add(qt, c1, "2025-07", QUOTA_FIXED, 0, 0, NULL, JUL_15_NOON);
    assert_int_equal(quota_evaluate(qt, JUL_15_NOON, NULL, NULL), 0);
    assert_int_equal(al.n, 0);

    /* Caught up: expected 10 x 14.5/31 = 4.68, BEHIND below 3.74. Province
     * 01 has 6 units x 2 classes; province 02 is not ours. */
    quota_set_alerting(qt, 1);
    size_t n = quota_evaluate(qt, JUL_15_NOON, only_province_01, NULL);
    assert_int_equal(n, 12);
    assert_int_equal(al.n, 12);
    assert_int_equal(count_alerts_for(&al, "00001", QUOTA_FIXED, QUOTA_BEHIND), 1);
    assert_int_equal(al.a[0].from, QUOTA_ON_TRACK);
    assert_int_equal(count_alerts_for(&al, "00600", QUOTA_FIXED, QUOTA_BEHIND), 0);
    /* Never twice. */
    assert_int_equal(quota_evaluate(qt, JUL_15_NOON + 60000, only_province_01, NULL), 0);

    /* 3 more: 4 >= 3.74, back ON_TRACK at commune, district and province. */
    al.n = 0;
    for (int i = 0; i < 3; i++) quota_add(qt, c1, "2025-07", QUOTA_FIXED, 0, 0, NULL, JUL_15_NOON);
    assert_int_equal(al.n, 3);
    assert_int_equal(count_alerts_for(&al, "00001", QUOTA_FIXED, QUOTA_ON_TRACK), 1);
    assert_int_equal(count_alerts_for(&al, "001", QUOTA_FIXED, QUOTA_ON_TRACK), 1);
    assert_int_equal(count_alerts_for(&al, "01", QUOTA_FIXED, QUOTA_ON_TRACK), 1);
    assert_int_equal(al.a[0].from, QUOTA_BEHIND);
    assert_int_equal(al.a[0].status.count, 4);

    /* To the target: MET once, and no alert after it. */
    al.n = 0;
    for (int i = 0; i < 10; i++) quota_add(qt, c1, "2025-07", QUOTA_FIXED, 0, 0, NULL, JUL_15_NOON);
    assert_int_equal(count_alerts_for(&al, "00001", QUOTA_FIXED, QUOTA_MET), 1);
    assert_int_equal(count_alerts_for(&al, "01", QUOTA_FIXED, QUOTA_MET), 1);
    assert_int_equal(al.n, 3);
    al.n = 0;
    assert_int_equal(quota_evaluate(qt, JUL_15_NOON + 3 * DAY, only_province_01, NULL), 0);

    /* A sample of another month never alerts. */
    quota_add(qt, registry_find(reg, "00010"), "2025-06", QUOTA_FIXED, 0, 0, NULL, JUL_15_NOON);
    assert_int_equal(al.n, 0);
    quota_counts_free(qt);
    registry_free(reg);
}

/* The last state alerted after a restore: what the alerts topic said wins
 * over an older checkpoint (its owner died after the alert's commit and
 * before the checkpoint's); a checkpoint wins over what this table alerted
 * itself (the province was another collector's since). Either way, nothing
 * is alerted twice. */
static void test_restore_after_alert_read(void **state) {
    (void)state;
    registry_t *reg;
    struct alerts al = {0};
    quota_counts_t *qt = alerting_table_csv3(&reg, &al);
    const registry_unit *c1 = registry_find(reg, "00001"), *c2 = registry_find(reg, "00004");
    /* c2 was BEHIND here (alerted by this table), then counted elsewhere. */
    quota_add(qt, c1, "2025-07", QUOTA_FIXED, 0, 0, NULL, JUL_15_NOON);
    quota_set_alerting(qt, 1);
    quota_evaluate(qt, JUL_15_NOON, only_province_01, NULL);
    assert_int_equal(count_alerts_for(&al, "00004", QUOTA_FIXED, QUOTA_BEHIND), 1);
    /* The topic says c1 went ON_TRACK; its owner's last checkpoint is from
     * before that (BEHIND, 4 samples after the replay). */
    quota_seed_state(qt, c1, "2025-07", QUOTA_FIXED, QUOTA_ON_TRACK);
    quota_cell_state older = {4, 0, 0, QUOTA_BEHIND, NULL, 0, NULL, 0, NULL, 0, 0};
    assert_int_equal(quota_restore(qt, c1, "2025-07", QUOTA_FIXED, &older), 0);
    /* c2's new owner went ON_TRACK and checkpointed it. */
    quota_cell_state newer = {4, 0, 0, QUOTA_ON_TRACK, NULL, 0, NULL, 0, NULL, 0, 0};
    assert_int_equal(quota_restore(qt, c2, "2025-07", QUOTA_FIXED, &newer), 0);
    al.n = 0;
    quota_evaluate(qt, JUL_15_NOON + 60000, only_province_01, NULL);
    assert_int_equal(count_alerts_for(&al, "00001", QUOTA_FIXED, QUOTA_ON_TRACK), 0);
    assert_int_equal(count_alerts_for(&al, "00004", QUOTA_FIXED, QUOTA_ON_TRACK), 0);
    /* What this table raises next replaces what it read: a later
     * checkpoint's state counts again. */
    for (int i = 0; i < 10; i++) quota_add(qt, c1, "2025-07", QUOTA_FIXED, 0, 0, NULL, JUL_15_NOON);
    assert_int_equal(count_alerts_for(&al, "00001", QUOTA_FIXED, QUOTA_MET), 1);
    quota_cell_state met = {14, 0, 0, QUOTA_ON_TRACK, NULL, 0, NULL, 0, NULL, 0, 0};
    assert_int_equal(quota_restore(qt, c1, "2025-07", QUOTA_FIXED, &met), 0);
    al.n = 0;
    quota_evaluate(qt, JUL_15_NOON + 120000, only_province_01, NULL);
    assert_int_equal(count_alerts_for(&al, "00001", QUOTA_FIXED, QUOTA_MET), 1);
    assert_int_equal(al.a[0].from, QUOTA_ON_TRACK);
    quota_counts_free(qt);
    registry_free(reg);
}

static void test_behind_on_time(void **state) {
    (void)state;
    registry_t *reg = load_csv(CSV2);
    quota_config cfg;
    quota_config_default(&cfg);
    char err[128];
    struct alerts al = {0};
    quota_counts_t *qt = quota_counts_new(reg, &cfg, err, sizeof err);
    quota_set_alerts(qt, capture, &al);
    quota_set_alerting(qt, 1);
    /* Day 2: nobody is behind yet. */
    assert_int_equal(quota_evaluate(qt, JUL_START + DAY + 3600000, NULL, NULL), 0);
    /* Day 3 00:00: all 3 units x 2 classes fall BEHIND by the clock alone,
     * and their states are queued for the quota topic. */
    assert_int_equal(quota_evaluate(qt, JUL_START + 2 * DAY, NULL, NULL), 6);
    assert_int_equal(quota_dirty_count(qt), 6);
    /* New month: August starts ON_TRACK again, nothing to say until day 3. */
    al.n = 0;
    assert_int_equal(quota_evaluate(qt, JUL_END + DAY, NULL, NULL), 0);
    assert_int_equal(quota_evaluate(qt, JUL_END + 2 * DAY, NULL, NULL), 6);
    assert_string_equal(al.a[0].status.month, "2025-08");
    quota_counts_free(qt);
    registry_free(reg);
}

static void test_seed_and_reset(void **state) {
    (void)state;
    registry_t *reg = load_csv(CSV3);
    quota_config cfg;
    quota_config_default(&cfg);
    char err[128];
    struct alerts al = {0};
    quota_counts_t *qt = quota_counts_new(reg, &cfg, err, sizeof err);
    quota_set_alerts(qt, capture, &al);
    /* What the alerts topic said before a restart is not said again. */
    const registry_unit *p1 = registry_find(reg, "01");
    for (size_t i = 0; i < registry_size(reg); i++) {
        const registry_unit *u = registry_unit_at(reg, i);
        quota_seed_state(qt, u, "2025-07", QUOTA_FIXED, QUOTA_BEHIND);
        quota_seed_state(qt, u, "2025-07", QUOTA_MOBILE, QUOTA_BEHIND);
    }
    quota_set_alerting(qt, 1);
    assert_int_equal(quota_evaluate(qt, JUL_15_NOON, NULL, NULL), 0);
    /* A province handed to another collector loses its counts and pending
     * updates, but not what was alerted. */
    quota_add(qt, registry_find(reg, "00001"), "2025-07", QUOTA_FIXED, 0, 0, NULL, JUL_15_NOON);
    quota_add(qt, registry_find(reg, "00600"), "2025-07", QUOTA_FIXED, 0, 0, NULL, JUL_15_NOON);
    quota_reset_province(qt, p1);
    quota_status st;
    quota_get(qt, p1, "2025-07", QUOTA_FIXED, JUL_15_NOON, &st);
    assert_int_equal(st.count, 0);
    quota_get(qt, registry_find(reg, "02"), "2025-07", QUOTA_FIXED, JUL_15_NOON, &st);
    assert_int_equal(st.count, 1);
    assert_int_equal(quota_flush(qt, JUL_15_NOON, NULL, NULL), 3); /* 00600, 020, 02 only */
    assert_int_equal(quota_evaluate(qt, JUL_15_NOON, NULL, NULL), 0);
    quota_counts_free(qt);
    registry_free(reg);
}

/* ---- de-duplication and the daily cap ---- */

static void test_dedupe_window(void **state) {
    (void)state;
    dedupe_t *dd = dedupe_new();
    assert_int_equal(dedupe_mark(dd, "a", 5), DEDUPE_NEW);
    assert_int_equal(dedupe_mark(dd, "a", 5), DEDUPE_SEEN);
    assert_int_equal(dedupe_mark(dd, "b", 5), DEDUPE_NEW); /* per agent */
    assert_int_equal(dedupe_mark(dd, "a", 3), DEDUPE_NEW); /* out of order */
    assert_int_equal(dedupe_mark(dd, "a", 3), DEDUPE_SEEN);
    assert_int_equal(dedupe_mark(dd, "a", 70), DEDUPE_NEW); /* shift across a word */
    assert_int_equal(dedupe_mark(dd, "a", 5), DEDUPE_SEEN);
    assert_int_equal(dedupe_mark(dd, "a", 3), DEDUPE_SEEN);
    assert_int_equal(dedupe_mark(dd, "a", 4), DEDUPE_NEW);
    assert_int_equal(dedupe_mark(dd, "a", 200), DEDUPE_NEW);
    assert_int_equal(dedupe_mark(dd, "a", 70), DEDUPE_SEEN);
    assert_int_equal(dedupe_mark(dd, "a", 69), DEDUPE_NEW);
    /* Beyond the window: cannot tell, never counted twice. */
    assert_int_equal(dedupe_mark(dd, "a", 200 + DEDUPE_WINDOW + 10), DEDUPE_NEW);
    assert_int_equal(dedupe_mark(dd, "a", 200), DEDUPE_TOO_OLD);
    assert_int_equal(dedupe_mark(dd, "a", 200 + 11), DEDUPE_NEW);
    assert_int_equal(dedupe_mark(dd, "a", 200 + 11), DEDUPE_SEEN);
    for (uint64_t s = 10000; s < 12000; s++) assert_int_equal(dedupe_mark(dd, "c", s), DEDUPE_NEW);
    for (uint64_t s = 12000 - DEDUPE_WINDOW; s < 12000; s++) assert_int_equal(dedupe_mark(dd, "c", s), DEDUPE_SEEN);
    assert_int_equal(dedupe_agents(dd), 3);
    dedupe_free(dd);
}

static void test_dailycap(void **state) {
    (void)state;
    dailycap_t *dc = dailycap_new(12);
    int64_t d = dailycap_day(JUL_15_NOON);
    for (int i = 0; i < 12; i++) assert_int_equal(dailycap_take(dc, "a", "00001", d), 0);
    assert_int_equal(dailycap_take(dc, "a", "00001", d), 1);
    assert_int_equal(dailycap_take(dc, "a", "00004", d), 0);
    assert_int_equal(dailycap_take(dc, "b", "00001", d), 0);
    assert_int_equal(dailycap_take(dc, "a", "00001", d + 1), 0);
    /* Days are Vietnamese: 16:59 UTC and 17:00 UTC are different days. */
    assert_int_equal(dailycap_day(JUL_START) - dailycap_day(JUL_START - 1), 1);
    assert_int_equal(dailycap_prune(dc, d + 1), 3);
    assert_int_equal(dailycap_take(dc, "a", "00001", d), 0);
    dailycap_free(dc);
}

/* ---- ingest: validation, dedupe, cap and late rule together ---- */

struct agent {
    uint8_t pk[SIGN_PUBLIC_BYTES], sk[SIGN_SECRET_BYTES];
    char id[SIGN_AGENT_ID_CHARS + 1];
};

static size_t pack_enrollment(const struct agent *a, const char *named_id, const char *signed_for,
                              const char *claims, uint8_t buf[FIXTURE_ENROLLMENT_MAX]) {
    return fixture_enrollment(a->pk, a->sk, named_id, signed_for, claims, buf);
}

static void new_agent(struct agent *a) {
    sign_keypair(a->pk, a->sk);
    sign_agent_id(a->pk, a->id);
}

static void enroll(agents_t *ag, struct agent *a, const char *commune) {
    uint8_t buf[512];
    char err[256];
    new_agent(a);
    size_t n = pack_enrollment(a, a->id, commune, commune, buf);
    assert_int_equal(agents_apply(ag, a->id, strlen(a->id), buf, n, err, sizeof err), 0);
}

/* A signed sample; returns its length in buf. */
static size_t make_sample(const struct agent *a, uint64_t seq, const char *commune, const char *province,
                          int64_t start_ms, Ispeed__V1__Network net, Ispeed__V1__AccessType access,
                          Ispeed__V1__Outcome outcome, uint8_t *buf) {
    Ispeed__V1__Sample s = ISPEED__V1__SAMPLE__INIT;
    s.agent_id = (char *)a->id;
    s.seq = seq;
    s.start_ms = start_ms;
    s.duration_ms = 15000;
    s.commune = (char *)commune;
    s.province = (char *)province;
    s.network = net;
    s.access = access;
    s.download_bps = 80000000;
    s.upload_bps = 30000000;
    s.latency_min_ms = 4;
    s.latency_median_ms = 6;
    s.outcome = outcome;
    uint8_t sb[512], sig[SIGN_SIGNATURE_BYTES];
    size_t sn = ispeed__v1__sample__pack(&s, sb);
    sign_detached(a->sk, sb, sn, sig);
    Ispeed__V1__SignedSample ss = ISPEED__V1__SIGNED_SAMPLE__INIT;
    ss.sample.data = sb;
    ss.sample.len = sn;
    ss.signature.data = sig;
    ss.signature.len = sizeof sig;
    ss.agent_id = (char *)a->id;
    return ispeed__v1__signed_sample__pack(&ss, buf);
}

struct fixture {
    registry_t *reg;
    agents_t *ag;
    quota_counts_t *qt;
    ingest_t *ing;
    struct agent a, b;
};

static int setup_ingest(void **state) {
    struct fixture *f = calloc(1, sizeof *f);
    char err[256];
    assert_int_equal(sign_init(), 0);
    f->reg = load_csv(CSV3);
    f->ag = agents_new();
    quota_config qc;
    quota_config_default(&qc);
    f->qt = quota_counts_new(f->reg, &qc, err, sizeof err);
    ingest_config ic;
    ingest_config_default(&ic);
    f->ing = ingest_new(f->reg, f->ag, NULL, f->qt, &ic, err, sizeof err);
    enroll(f->ag, &f->a, "00001");
    enroll(f->ag, &f->b, "00600");
    *state = f;
    return 0;
}

static int teardown_ingest(void **state) {
    struct fixture *f = *state;
    ingest_free(f->ing);
    quota_counts_free(f->qt);
    agents_free(f->ag);
    registry_free(f->reg);
    free(f);
    return 0;
}

static enum ingest_result feed(struct fixture *f, const char *key, const uint8_t *buf, size_t n, int64_t arrival,
                               int64_t now, enum reject_reason *why) {
    char detail[256];
    return ingest_sample(f->ing, 0, key, strlen(key), buf, n, arrival, now, why, detail, sizeof detail);
}

static uint64_t count_of(struct fixture *f, const char *unit, const char *month, enum quota_network net,
                         uint64_t *late) {
    quota_status st;
    quota_get(f->qt, registry_find(f->reg, unit), month, net, JUL_15_NOON, &st);
    if (late) *late = st.late_count;
    return st.count;
}

static void test_ingest_counts_and_dedupes(void **state) {
    struct fixture *f = *state;
    uint8_t buf[1024];
    enum reject_reason why;
    size_t n = make_sample(&f->a, 1, "00001", "01", JUL_15_NOON - 3600000, ISPEED__V1__NETWORK__NETWORK_FIXED,
                           ISPEED__V1__ACCESS_TYPE__ACCESS_FIXED, ISPEED__V1__OUTCOME__OUTCOME_OK, buf);
    assert_int_equal(feed(f, "01", buf, n, JUL_15_NOON, JUL_15_NOON, &why), INGEST_COUNTED);
    /* The same sample redelivered counts once. */
    assert_int_equal(feed(f, "01", buf, n, JUL_15_NOON, JUL_15_NOON, &why), INGEST_REJECTED);
    assert_int_equal(why, REJECT_DUPLICATE);
    assert_int_equal(count_of(f, "00001", "2025-07", QUOTA_FIXED, NULL), 1);
    assert_int_equal(count_of(f, "001", "2025-07", QUOTA_FIXED, NULL), 1);
    assert_int_equal(count_of(f, "01", "2025-07", QUOTA_FIXED, NULL), 1);

    /* Mobile 5G counts for mobile and for count_5g. */
    n = make_sample(&f->a, 2, "00001", "01", JUL_15_NOON - 3600000, ISPEED__V1__NETWORK__NETWORK_MOBILE,
                    ISPEED__V1__ACCESS_TYPE__ACCESS_MOBILE_5G, ISPEED__V1__OUTCOME__OUTCOME_OK, buf);
    assert_int_equal(feed(f, "01", buf, n, -1, JUL_15_NOON, &why), INGEST_COUNTED);
    quota_status st;
    quota_get(f->qt, registry_find(f->reg, "01"), "2025-07", QUOTA_MOBILE, JUL_15_NOON, &st);
    assert_int_equal(st.count, 1);
    assert_int_equal(st.count_5g, 1);

    /* A failed test is valid and never counts. */
    n = make_sample(&f->a, 3, "00001", "01", JUL_15_NOON - 3600000, ISPEED__V1__NETWORK__NETWORK_FIXED,
                    ISPEED__V1__ACCESS_TYPE__ACCESS_FIXED, ISPEED__V1__OUTCOME__OUTCOME_TIMEOUT, buf);
    assert_int_equal(feed(f, "01", buf, n, JUL_15_NOON, JUL_15_NOON, &why), INGEST_FAILED_TEST);
    assert_int_equal(count_of(f, "00001", "2025-07", QUOTA_FIXED, NULL), 1);
}

static void test_ingest_month_in_utc7(void **state) {
    struct fixture *f = *state;
    uint8_t buf[1024];
    enum reject_reason why;
    /* 2025-06-30 17:30 UTC is 1 July 00:30 in Vietnam. */
    size_t n = make_sample(&f->b, 1, "00600", "02", JUL_START + 1800000, ISPEED__V1__NETWORK__NETWORK_FIXED,
                           ISPEED__V1__ACCESS_TYPE__ACCESS_WIFI, ISPEED__V1__OUTCOME__OUTCOME_OK, buf);
    assert_int_equal(feed(f, "02", buf, n, JUL_START + DAY, JUL_15_NOON, &why), INGEST_COUNTED);
    /* 2025-06-30 16:30 UTC is still 30 June. */
    n = make_sample(&f->b, 2, "00600", "02", JUL_START - 1800000, ISPEED__V1__NETWORK__NETWORK_FIXED,
                    ISPEED__V1__ACCESS_TYPE__ACCESS_WIFI, ISPEED__V1__OUTCOME__OUTCOME_OK, buf);
    assert_int_equal(feed(f, "02", buf, n, JUL_START + DAY, JUL_15_NOON, &why), INGEST_COUNTED);
    assert_int_equal(count_of(f, "00600", "2025-07", QUOTA_FIXED, NULL), 1);
    assert_int_equal(count_of(f, "00600", "2025-06", QUOTA_FIXED, NULL), 1);
}

static void test_ingest_late_and_cap(void **state) {
    struct fixture *f = *state;
    uint8_t buf[1024];
    enum reject_reason why;
    uint64_t late;
    int64_t june = JUL_START - 10 * DAY;
    /* June sample arriving 4 July 23:59 VN: within grace. 5 July 00:00: late. */
    size_t n = make_sample(&f->b, 10, "00600", "02", june, ISPEED__V1__NETWORK__NETWORK_FIXED,
                           ISPEED__V1__ACCESS_TYPE__ACCESS_FIXED, ISPEED__V1__OUTCOME__OUTCOME_OK, buf);
    assert_int_equal(feed(f, "02", buf, n, JUL_START + 4 * DAY - 60000, JUL_15_NOON, &why), INGEST_COUNTED);
    n = make_sample(&f->b, 11, "00600", "02", june, ISPEED__V1__NETWORK__NETWORK_FIXED,
                    ISPEED__V1__ACCESS_TYPE__ACCESS_FIXED, ISPEED__V1__OUTCOME__OUTCOME_OK, buf);
    assert_int_equal(feed(f, "02", buf, n, JUL_START + 4 * DAY, JUL_15_NOON, &why), INGEST_LATE);
    assert_int_equal(count_of(f, "00600", "2025-06", QUOTA_FIXED, &late), 1);
    assert_int_equal(late, 1);
    /* The late one is in no operator; the counted one (no operator) is "unknown". */
    quota_status st;
    quota_get(f->qt, registry_find(f->reg, "02"), "2025-06", QUOTA_FIXED, JUL_15_NOON, &st);
    assert_int_equal(st.n_operators, 1);
    assert_string_equal(st.operators[0].name, "unknown");
    assert_int_equal(st.operators[0].count, 1);

    /* Daily cap: 12 per agent per day; the 13th is valid, not counted. */
    for (uint64_t s = 100; s < 112; s++) {
        n = make_sample(&f->a, s, "00001", "01", JUL_15_NOON - (int64_t)s * 60000, ISPEED__V1__NETWORK__NETWORK_FIXED,
                        ISPEED__V1__ACCESS_TYPE__ACCESS_FIXED, ISPEED__V1__OUTCOME__OUTCOME_OK, buf);
        assert_int_equal(feed(f, "01", buf, n, JUL_15_NOON, JUL_15_NOON, &why), INGEST_COUNTED);
    }
    n = make_sample(&f->a, 200, "00001", "01", JUL_15_NOON - 60000, ISPEED__V1__NETWORK__NETWORK_FIXED,
                    ISPEED__V1__ACCESS_TYPE__ACCESS_FIXED, ISPEED__V1__OUTCOME__OUTCOME_OK, buf);
    assert_int_equal(feed(f, "01", buf, n, JUL_15_NOON, JUL_15_NOON, &why), INGEST_OVER_CAP);
    assert_int_equal(count_of(f, "00001", "2025-07", QUOTA_FIXED, NULL), 12);
}

static void test_ingest_rejects(void **state) {
    struct fixture *f = *state;
    uint8_t buf[1024];
    enum reject_reason why;
    size_t n;
    /* garbage */
    assert_int_equal(feed(f, "01", (const uint8_t *)"\xff\xff\xff", 3, -1, JUL_15_NOON, &why), INGEST_REJECTED);
    assert_int_equal(why, REJECT_DECODE_ERROR);
    /* unknown agent */
    struct agent stranger;
    sign_keypair(stranger.pk, stranger.sk);
    sign_agent_id(stranger.pk, stranger.id);
    n = make_sample(&stranger, 1, "00001", "01", JUL_15_NOON, ISPEED__V1__NETWORK__NETWORK_FIXED,
                    ISPEED__V1__ACCESS_TYPE__ACCESS_FIXED, ISPEED__V1__OUTCOME__OUTCOME_OK, buf);
    assert_int_equal(feed(f, "01", buf, n, -1, JUL_15_NOON, &why), INGEST_REJECTED);
    assert_int_equal(why, REJECT_UNKNOWN_AGENT);
    /* bad signature: one bit flipped in the signed bytes */
    n = make_sample(&f->a, 1, "00001", "01", JUL_15_NOON, ISPEED__V1__NETWORK__NETWORK_FIXED,
                    ISPEED__V1__ACCESS_TYPE__ACCESS_FIXED, ISPEED__V1__OUTCOME__OUTCOME_OK, buf);
    buf[5] ^= 1;
    assert_int_equal(feed(f, "01", buf, n, -1, JUL_15_NOON, &why), INGEST_REJECTED);
    assert_true(why == REJECT_BAD_SIGNATURE || why == REJECT_DECODE_ERROR);
    /* unknown commune, and a commune under another province's key */
    n = make_sample(&f->a, 2, "99999", "01", JUL_15_NOON, ISPEED__V1__NETWORK__NETWORK_FIXED,
                    ISPEED__V1__ACCESS_TYPE__ACCESS_FIXED, ISPEED__V1__OUTCOME__OUTCOME_OK, buf);
    assert_int_equal(feed(f, "01", buf, n, -1, JUL_15_NOON, &why), INGEST_REJECTED);
    assert_int_equal(why, REJECT_UNKNOWN_COMMUNE);
    n = make_sample(&f->a, 3, "00001", "01", JUL_15_NOON, ISPEED__V1__NETWORK__NETWORK_FIXED,
                    ISPEED__V1__ACCESS_TYPE__ACCESS_FIXED, ISPEED__V1__OUTCOME__OUTCOME_OK, buf);
    assert_int_equal(feed(f, "02", buf, n, -1, JUL_15_NOON, &why), INGEST_REJECTED);
    assert_int_equal(why, REJECT_PROVINCE_MISMATCH);
    /* more than 10 minutes in the future; 9 minutes is clock skew */
    n = make_sample(&f->a, 4, "00001", "01", JUL_15_NOON + 11 * 60000, ISPEED__V1__NETWORK__NETWORK_FIXED,
                    ISPEED__V1__ACCESS_TYPE__ACCESS_FIXED, ISPEED__V1__OUTCOME__OUTCOME_OK, buf);
    assert_int_equal(feed(f, "01", buf, n, -1, JUL_15_NOON, &why), INGEST_REJECTED);
    assert_int_equal(why, REJECT_IMPLAUSIBLE);
    n = make_sample(&f->a, 5, "00001", "01", JUL_15_NOON + 9 * 60000, ISPEED__V1__NETWORK__NETWORK_FIXED,
                    ISPEED__V1__ACCESS_TYPE__ACCESS_FIXED, ISPEED__V1__OUTCOME__OUTCOME_OK, buf);
    assert_int_equal(feed(f, "01", buf, n, -1, JUL_15_NOON, &why), INGEST_COUNTED);
    /* Rejected samples never reach the dedupe marks: seq 2, 3 and 4 still count. */
    n = make_sample(&f->a, 3, "00001", "01", JUL_15_NOON, ISPEED__V1__NETWORK__NETWORK_FIXED,
                    ISPEED__V1__ACCESS_TYPE__ACCESS_FIXED, ISPEED__V1__OUTCOME__OUTCOME_OK, buf);
    assert_int_equal(feed(f, "01", buf, n, -1, JUL_15_NOON, &why), INGEST_COUNTED);
}

/* ingest_sample_ex: a signature outcome learnt ahead (collector/sigpool.c)
 * is used only when it was reached with the key enrolled now; with any
 * other key the signature is verified again. */
static enum ingest_result feed_hint(struct fixture *f, const uint8_t *buf, size_t n, const uint8_t *pk,
                                    enum sig_state sig, enum reject_reason *why) {
    char detail[256];
    sig_hint h = {0};
    Ispeed__V1__SignedSample *ss = ispeed__v1__signed_sample__unpack(NULL, n, buf);
    h.envelope = ss;
    h.sig = sig;
    if (pk) memcpy(h.public_key, pk, SIGN_PUBLIC_BYTES);
    enum ingest_result r =
        ingest_sample_ex(f->ing, 0, "01", 2, buf, n, &h, -1, JUL_15_NOON, why, detail, sizeof detail);
    if (ss) ispeed__v1__signed_sample__free_unpacked(ss, NULL);
    return r;
}

/* The same record with one bit of its signature flipped. */
static void flip_signature(uint8_t *buf, size_t n) {
    Ispeed__V1__SignedSample *ss = ispeed__v1__signed_sample__unpack(NULL, n, buf);
    assert_non_null(ss);
    assert_int_equal(ss->signature.len, SIGN_SIGNATURE_BYTES);
    ss->signature.data[0] ^= 1;
    assert_int_equal(ispeed__v1__signed_sample__pack(ss, buf), n);
    ispeed__v1__signed_sample__free_unpacked(ss, NULL);
}

static void test_ingest_sig_hint(void **state) {
    struct fixture *f = *state;
    uint8_t good[1024], bad[1024];
    enum reject_reason why;
    uint64_t seq = 1;
#define SAMPLE(buf)                                                                                               \
    make_sample(&f->a, seq++, "00001", "01", JUL_15_NOON, ISPEED__V1__NETWORK__NETWORK_FIXED,                    \
                ISPEED__V1__ACCESS_TYPE__ACCESS_FIXED, ISPEED__V1__OUTCOME__OUTCOME_OK, buf)
    /* The outcome against the enrolled key is taken as it is: no crypto. */
    size_t n = SAMPLE(good);
    assert_int_equal(feed_hint(f, good, n, f->a.pk, SIG_BAD, &why), INGEST_REJECTED);
    assert_int_equal(why, REJECT_BAD_SIGNATURE);
    n = SAMPLE(bad);
    flip_signature(bad, n);
    assert_int_equal(feed_hint(f, bad, n, f->a.pk, SIG_GOOD, &why), INGEST_COUNTED);
    /* Checked against another key (the table changed since): verified again. */
    n = SAMPLE(good);
    assert_int_equal(feed_hint(f, good, n, f->b.pk, SIG_BAD, &why), INGEST_COUNTED);
    n = SAMPLE(bad);
    flip_signature(bad, n);
    assert_int_equal(feed_hint(f, bad, n, f->b.pk, SIG_GOOD, &why), INGEST_REJECTED);
    assert_int_equal(why, REJECT_BAD_SIGNATURE);
    /* Not checked (agent unknown ahead, or no pool): verified here. */
    n = SAMPLE(good);
    assert_int_equal(feed_hint(f, good, n, NULL, SIG_UNCHECKED, &why), INGEST_COUNTED);
    n = SAMPLE(bad);
    flip_signature(bad, n);
    assert_int_equal(feed_hint(f, bad, n, f->a.pk, SIG_UNCHECKED, &why), INGEST_REJECTED);
    assert_int_equal(why, REJECT_BAD_SIGNATURE);
    /* An undecodable value with no envelope in the hint is still a decode error. */
    assert_int_equal(feed_hint(f, (const uint8_t *)"\xff\xff\xff", 3, NULL, SIG_UNCHECKED, &why), INGEST_REJECTED);
    assert_int_equal(why, REJECT_DECODE_ERROR);
    assert_int_equal(count_of(f, "00001", "2025-07", QUOTA_FIXED, NULL), 3);
#undef SAMPLE
}

static void test_enrollment_checks(void **state) {
    (void)state;
    assert_int_equal(sign_init(), 0);
    agents_t *ag = agents_new();
    struct agent a;
    enroll(ag, &a, "00001");
    assert_non_null(agents_find(ag, a.id));
    /* An enrollment signed for another commune than it claims is refused. */
    struct agent b;
    uint8_t buf[512];
    new_agent(&b);
    size_t n = pack_enrollment(&b, b.id, "00001", "00004", buf);
    char err[256];
    /* Read as is, verified when a sample first names the agent. */
    assert_int_equal(agents_apply(ag, b.id, strlen(b.id), buf, n, err, sizeof err), 0);
    assert_int_equal(agents_rejected(ag), 0);
    assert_null(agents_find(ag, b.id));
    assert_int_equal(agents_rejected(ag), 1);
    assert_null(agents_find(ag, b.id));
    assert_int_equal(agents_rejected(ag), 1); /* once */
    /* A correct re-enrollment of b then counts. */
    n = pack_enrollment(&b, b.id, "00001", "00001", buf);
    assert_int_equal(agents_apply(ag, b.id, strlen(b.id), buf, n, err, sizeof err), 0);
    assert_non_null(agents_find(ag, b.id));
    /* A bad one after it does not unseat the good key. */
    n = pack_enrollment(&b, b.id, "00001", "00004", buf);
    assert_int_equal(agents_apply(ag, b.id, strlen(b.id), buf, n, err, sizeof err), 0);
    const agent_info *bi = agents_find(ag, b.id);
    assert_non_null(bi);
    assert_string_equal(bi->commune, "00001");
    assert_memory_equal(bi->public_key, b.pk, SIGN_PUBLIC_BYTES);
    assert_int_equal(agents_rejected(ag), 2);
    /* An id that is not derived from the key is refused as it is read. */
    n = pack_enrollment(&b, a.id, "00001", "00001", buf);
    assert_int_equal(agents_apply(ag, NULL, 0, buf, n, err, sizeof err), -1);
    assert_non_null(agents_find(ag, a.id));
    /* A tombstone withdraws the agent. */
    assert_int_equal(agents_apply(ag, a.id, strlen(a.id), NULL, 0, err, sizeof err), 0);
    assert_null(agents_find(ag, a.id));
    agents_free(ag);
}

/* Checks handed out by agents_peek and settled later, as the collector does
 * for a batch: the outcome applies as agents_find's own check would, a check
 * is handed out once, and one overtaken by a newer enrollment is ignored. */
static void test_enrollment_checks_off_table(void **state) {
    (void)state;
    assert_int_equal(sign_init(), 0);
    agents_t *ag = agents_new();
    agents_check chk, again;
    int need;
    struct agent a, b, c;
    char err[256];
    assert_null(agents_peek(ag, "nobody", &chk, &need));
    assert_int_equal(need, 0);

    /* A good enrollment: its key before any check, one check handed out. */
    enroll(ag, &a, "00001");
    const uint8_t *k = agents_peek(ag, a.id, &chk, &need);
    assert_non_null(k);
    assert_memory_equal(k, a.pk, SIGN_PUBLIC_BYTES);
    assert_int_equal(need, 1);
    assert_int_equal(sign_verify(chk.public_key, chk.msg, chk.len, chk.signature, chk.siglen), 0);
    assert_non_null(agents_peek(ag, a.id, &again, &need));
    assert_int_equal(need, 0); /* already out */
    agents_check_settle(ag, &chk, 1);
    const agent_info *ai = agents_find(ag, a.id);
    assert_non_null(ai);
    assert_memory_equal(ai->public_key, a.pk, SIGN_PUBLIC_BYTES);
    assert_non_null(agents_peek(ag, a.id, &again, &need));
    assert_int_equal(need, 0); /* nothing left to check */
    assert_int_equal(agents_rejected(ag), 0);

    /* The outcome is what the caller says: a failed check rejects the agent,
     * counted once, as agents_find would. */
    enroll(ag, &b, "00001");
    assert_non_null(agents_peek(ag, b.id, &chk, &need));
    assert_int_equal(need, 1);
    agents_check_settle(ag, &chk, 0);
    assert_int_equal(agents_rejected(ag), 1);
    assert_null(agents_find(ag, b.id));
    assert_null(agents_peek(ag, b.id, &again, &need));
    agents_check_settle(ag, &chk, 0); /* settled twice: no effect */
    assert_int_equal(agents_rejected(ag), 1);

    /* Withdrawn and enrolled again (the same record) while a check is out:
     * the stale outcome is ignored and the new enrollment is checked on its
     * own. */
    uint8_t buf[512];
    new_agent(&c);
    size_t n = pack_enrollment(&c, c.id, "00001", "00001", buf);
    assert_int_equal(agents_apply(ag, c.id, strlen(c.id), buf, n, err, sizeof err), 0);
    assert_non_null(agents_peek(ag, c.id, &chk, &need));
    assert_int_equal(need, 1);
    assert_int_equal(agents_apply(ag, c.id, strlen(c.id), NULL, 0, err, sizeof err), 0);
    assert_int_equal(agents_apply(ag, c.id, strlen(c.id), buf, n, err, sizeof err), 0);
    agents_check_settle(ag, &chk, 0);
    assert_int_equal(agents_rejected(ag), 1);
    assert_non_null(agents_peek(ag, c.id, &again, &need));
    assert_int_equal(need, 1); /* the new record's own check */
    assert_non_null(agents_find(ag, c.id));
    agents_check_settle(ag, &again, 0); /* settled by agents_find already */
    assert_non_null(agents_find(ag, c.id));
    assert_int_equal(agents_rejected(ag), 1);
    agents_free(ag);
}

static void test_merges(void **state) {
    (void)state;
    char path[] = "/tmp/test_merges_XXXXXX";
    const char *csv = "old_commune,new_commune,kind\n"
                      "00001,00004,full\n"
                      "00002,00004,partial\n"
                      "00002,00010,partial\n"
                      "00003,00010,partial\n"
                      "00005,00004,partial\n"
                      "00005,00010,full\n";
    fixture_write_tmp(path, csv);
    char err[256];
    merges_t *mg = merges_load(path, err, sizeof err);
    unlink(path);
    assert_non_null(mg);
    assert_string_equal(merges_find(mg, "00001"), "00004");
    assert_null(merges_find(mg, "00002")); /* split between two: ambiguous */
    assert_string_equal(merges_find(mg, "00003"), "00010");
    assert_string_equal(merges_find(mg, "00005"), "00010"); /* the full row wins */
    assert_null(merges_find(mg, "00009"));
    merges_free(mg);
    assert_null(merges_load("/nonexistent/merges.csv", err, sizeof err));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pace_expected),
        cmocka_unit_test(test_pace_start_day),
        cmocka_unit_test(test_pace_outside_month),
        cmocka_unit_test(test_month_bounds_utc7),
        cmocka_unit_test(test_counts_every_level),
        cmocka_unit_test(test_two_levels),
        cmocka_unit_test(test_operator_normalise),
        cmocka_unit_test(test_operator_bound),
        cmocka_unit_test(test_operator_restore),
        cmocka_unit_test(test_flush_coalesces),
        cmocka_unit_test(test_flush_due_per_counter),
        cmocka_unit_test(test_alerts_once),
        cmocka_unit_test(test_restore_after_alert_read),
        cmocka_unit_test(test_behind_on_time),
        cmocka_unit_test(test_seed_and_reset),
        cmocka_unit_test(test_dedupe_window),
        cmocka_unit_test(test_dailycap),
        cmocka_unit_test(test_enrollment_checks),
        cmocka_unit_test(test_enrollment_checks_off_table),
        cmocka_unit_test(test_merges),
        cmocka_unit_test_setup_teardown(test_ingest_counts_and_dedupes, setup_ingest, teardown_ingest),
        cmocka_unit_test_setup_teardown(test_ingest_month_in_utc7, setup_ingest, teardown_ingest),
        cmocka_unit_test_setup_teardown(test_ingest_late_and_cap, setup_ingest, teardown_ingest),
        cmocka_unit_test_setup_teardown(test_ingest_rejects, setup_ingest, teardown_ingest),
        cmocka_unit_test_setup_teardown(test_ingest_sig_hint, setup_ingest, teardown_ingest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
