/* Unit tests of collector/digest.c with injected failures: a province's
 * digest whose BEHIND list runs out of memory is not sent short, the failure
 * is counted, and the day's digests go out at the next call; a digest the
 * producer refuses likewise. The failures are injected at the link (--wrap
 * of realloc and publish_digest); no broker is involved. Links
 * ispeed_collector_prog. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector.h"
#include "tmpfile_fixture.h"

#define DAY 86400000LL
#define JUL_START 1751302800000LL /* 2025-07-01 00:00 UTC+7 */
#define NOW (JUL_START + 20 * DAY + 9 * 3600000LL) /* 2025-07-21 09:00 UTC+7 */

static int fail_realloc_at = -1; /* the realloc call (0 = next) that fails, -1 none */
static int fail_publish;
static int published;                 /* digests sent */
static char published_province[16][8]; /* their provinces, in order */
static size_t published_n[16];         /* and how many BEHIND counters each listed */
static char published_day[16];

void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n) {
    if (fail_realloc_at == 0) {
        fail_realloc_at = -1;
        return NULL;
    }
    if (fail_realloc_at > 0) fail_realloc_at--;
    return __real_realloc(p, n);
}

int __wrap_publish_digest(publish_t *pb, const registry_unit *province, const char *day, const quota_status *behind,
                          size_t n, int64_t now_ms, char *err, size_t errsz);
int __wrap_publish_digest(publish_t *pb, const registry_unit *province, const char *day, const quota_status *behind,
                          size_t n, int64_t now_ms, char *err, size_t errsz) {
    (void)pb;
    (void)now_ms;
    if (fail_publish) {
        snprintf(err, errsz, "injected: queue full");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(behind[i].state, QUOTA_BEHIND);
        assert_ptr_equal(behind[i].unit->province, province);
    }
    assert_true(published < 16);
    snprintf(published_province[published], sizeof published_province[0], "%s", province->code);
    snprintf(published_day, sizeof published_day, "%s", day);
    published_n[published++] = n;
    return 0;
}

/* Province 01 has 3 units, province 02 has 2 more communes than it needs. */
static const char *const CSV = "code,level,parent,name,type\n"
                               "01,province,,Ha Noi,Thanh pho Trung uong\n"
                               "001,district,01,Ba Dinh,Quan\n"
                               "00001,commune,001,Phuc Xa,Phuong\n"
                               "02,province,,Ha Giang,Tinh\n"
                               "020,district,02,Ha Giang city,Thanh pho\n"
                               "00600,commune,020,Quang Trung,Phuong\n"
                               "00601,commune,020,Ngoc Ha,Phuong\n";

static int32_t all_on_zero(const rd_kafka_topic_t *t, const void *k, size_t kl, int32_t n, void *a, void *b) {
    (void)t, (void)k, (void)kl, (void)n, (void)a, (void)b;
    return 0;
}

static void setup_collector(struct collector *c) {
    char path[] = "/tmp/test_digest_XXXXXX", err[256];
    memset(c, 0, sizeof *c);
    fixture_write_tmp(path, CSV);
    c->reg = registry_load(path, err, sizeof err);
    unlink(path);
    if (!c->reg) fail_msg("registry: %s", err);
    quota_config_default(&c->qcfg);
    assert_non_null(c->m = metrics_new());
    assert_non_null(c->qt = quota_counts_new(c->reg, &c->qcfg, err, sizeof err));
    c->partitioner = all_on_zero;
    c->samples_npart = 1;
    struct part *pt = consumer_part(c, 0);
    assert_non_null(pt);
    pt->assigned = 1;
    c->caught_up = 1;
    c->digest_hour = 8;
    c->last_digest_day = -1;
    fail_realloc_at = -1;
    fail_publish = 0;
    published = 0;
    /* One sample in each commune on day 21, far below the pace of 300:
     * every unit is BEHIND in the fixed class. */
    const char *communes[] = {"00001", "00600", "00601"};
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(quota_add(c->qt, registry_find(c->reg, communes[i]), "2025-07", QUOTA_FIXED, 0, 0, NULL, NOW),
                         0);
}

static void teardown_collector(struct collector *c) {
    quota_counts_free(c->qt);
    registry_free(c->reg);
    metrics_free(c->m);
    free(c->parts);
}

/* BEHIND counters of a province, counted apart from the digest's list. */
static size_t behind_of(struct collector *c, const char *province) {
    return quota_behind(c->qt, registry_find(c->reg, province), NOW, NULL, NULL);
}

static void test_collect_lists_every_behind_counter(void **state) {
    (void)state;
    struct collector c;
    setup_collector(&c);
    quota_status *v = NULL;
    size_t n = 0;
    assert_int_equal(digest_collect(c.qt, registry_find(c.reg, "02"), NOW, &v, &n), 0);
    /* province, district and two communes, both classes (no mobile sample
     * at all is BEHIND too) */
    assert_int_equal(n, 8);
    assert_int_equal(n, behind_of(&c, "02"));
    free(v);
    teardown_collector(&c);
}

static void test_collect_reports_out_of_memory(void **state) {
    (void)state;
    struct collector c;
    setup_collector(&c);
    quota_status *v = NULL;
    size_t n = 0;
    fail_realloc_at = 0;
    assert_int_equal(digest_collect(c.qt, registry_find(c.reg, "02"), NOW, &v, &n), -1);
    assert_true(n < behind_of(&c, "02"));
    free(v);
    teardown_collector(&c);
}

static void test_short_digest_not_sent_and_retried(void **state) {
    (void)state;
    struct collector c;
    setup_collector(&c);
    /* Province 01's list is the first: its first realloc fails. */
    fail_realloc_at = 0;
    digest_maybe_send(&c, NOW);
    assert_int_equal(metrics_get(c.m, M_DIGEST_FAIL_OOM), 1);
    assert_int_equal(published, 1); /* province 02 only */
    assert_string_equal(published_province[0], "02");
    assert_int_equal(c.last_digest_day, -1); /* the day is not done */

    digest_maybe_send(&c, NOW + 5000); /* the next evaluation */
    assert_int_equal(published, 3);
    assert_string_equal(published_province[1], "01");
    assert_int_equal(published_n[1], behind_of(&c, "01"));
    assert_string_equal(published_province[2], "02");
    assert_int_equal(published_n[2], behind_of(&c, "02"));
    assert_string_equal(published_day, "2025-07-21");
    assert_int_equal(metrics_get(c.m, M_DIGEST_FAIL_OOM), 1);

    digest_maybe_send(&c, NOW + 10000); /* the day is done */
    assert_int_equal(published, 3);
    char *text = metrics_render(c.m);
    assert_non_null(text);
    assert_non_null(strstr(text, "ispeed_collector_digest_failures_total{reason=\"out_of_memory\"} 1\n"));
    free(text);
    teardown_collector(&c);
}

static void test_refused_digest_counted_and_retried(void **state) {
    (void)state;
    struct collector c;
    setup_collector(&c);
    fail_publish = 1;
    digest_maybe_send(&c, NOW);
    assert_int_equal(metrics_get(c.m, M_DIGEST_FAIL_PRODUCE), 2);
    assert_int_equal(published, 0);
    fail_publish = 0;
    digest_maybe_send(&c, NOW + 5000);
    assert_int_equal(published, 2);
    teardown_collector(&c);
}

static void test_not_before_the_hour(void **state) {
    (void)state;
    struct collector c;
    setup_collector(&c);
    digest_maybe_send(&c, NOW - 2 * 3600000LL); /* 07:00 */
    assert_int_equal(published, 0);
    digest_maybe_send(&c, NOW);
    assert_int_equal(published, 2);
    teardown_collector(&c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_collect_lists_every_behind_counter),
        cmocka_unit_test(test_collect_reports_out_of_memory),
        cmocka_unit_test(test_short_digest_not_sent_and_retried),
        cmocka_unit_test(test_refused_digest_counted_and_retried),
        cmocka_unit_test(test_not_before_the_hour),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
