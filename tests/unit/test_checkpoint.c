/* Unit tests of collector/checkpoint.c with the counting core: a stream cut
 * anywhere, checkpointed and restored into fresh tables, then read on, ends
 * in exactly the state of an uninterrupted run (counts at every level,
 * de-duplication marks, daily caps, last alerted states, medians, operator
 * counts, distinct agents); a damaged
 * checkpoint is refused. Also the per-level/class/unit targets and the
 * medians of quota.c. Links ispeed_collector_core. */
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
#include "checkpoint.h"
#include "enrollment_fixture.h"
#include "ingest.h"
#include "ispeed.pb-c.h"
#include "quota.h"
#include "registry.h"
#include "sign.h"
#include "tmpfile_fixture.h"

#define DAY 86400000LL
#define JUL_START 1751302800000LL /* 2025-07-01 00:00 UTC+7 */
#define NOW (JUL_START + 20 * DAY)

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

static registry_t *load_csv(const char *csv) {
    char path[] = "/tmp/test_checkpoint_XXXXXX";
    fixture_write_tmp(path, csv);
    char err[256];
    registry_t *reg = registry_load(path, err, sizeof err);
    unlink(path);
    if (!reg) fail_msg("registry: %s", err);
    return reg;
}

struct agent {
    uint8_t pk[SIGN_PUBLIC_BYTES], sk[SIGN_SECRET_BYTES];
    char id[SIGN_AGENT_ID_CHARS + 1];
    const char *commune, *province;
};

static void enroll(agents_t *ag, struct agent *a, const char *commune, const char *province) {
    sign_keypair(a->pk, a->sk);
    sign_agent_id(a->pk, a->id);
    a->commune = commune;
    a->province = province;
    uint8_t buf[FIXTURE_ENROLLMENT_MAX];
    size_t n = fixture_enrollment(a->pk, a->sk, a->id, commune, commune, buf);
    char err[256];
    assert_int_equal(agents_apply(ag, a->id, strlen(a->id), buf, n, err, sizeof err), 0);
}

/* A record of the test stream. */
struct rec {
    uint8_t buf[600];
    size_t len;
    const char *key;
};

/* Operators of the stream: more than a counter names (the rest is "other"),
 * spellings that are one operator, and none ("unknown"). */
static const char *const operators[] = {"VNPT", "viettel", "", "FPT Telecom", "VIETTEL ", "isp-1", "isp-2", "isp-3",
                                        "isp-4", "isp-5", "isp-6", "isp-7", "isp-8", " vnpt"};
#define NOPS (sizeof operators / sizeof operators[0])

static void make(struct rec *r, const struct agent *a, uint64_t seq, int64_t start_ms, int mobile, uint64_t down,
                 const char *op) {
    Ispeed__V1__Sample s = ISPEED__V1__SAMPLE__INIT;
    s.operator_ = (char *)op;
    s.agent_id = (char *)a->id;
    s.seq = seq;
    s.start_ms = start_ms;
    s.duration_ms = 15000;
    s.commune = (char *)a->commune;
    s.province = (char *)a->province;
    s.network = mobile ? ISPEED__V1__NETWORK__NETWORK_MOBILE : ISPEED__V1__NETWORK__NETWORK_FIXED;
    s.access = mobile ? ISPEED__V1__ACCESS_TYPE__ACCESS_MOBILE_5G : ISPEED__V1__ACCESS_TYPE__ACCESS_FIXED;
    s.download_bps = down;
    s.upload_bps = down / 3;
    s.latency_min_ms = 4;
    s.latency_median_ms = 5 + (double)(seq % 40);
    s.outcome = ISPEED__V1__OUTCOME__OUTCOME_OK;
    uint8_t sb[512], sig[SIGN_SIGNATURE_BYTES];
    size_t sn = ispeed__v1__sample__pack(&s, sb);
    sign_detached(a->sk, sb, sn, sig);
    Ispeed__V1__SignedSample ss = ISPEED__V1__SIGNED_SAMPLE__INIT;
    ss.sample.data = sb;
    ss.sample.len = sn;
    ss.signature.data = sig;
    ss.signature.len = sizeof sig;
    ss.agent_id = (char *)a->id;
    r->len = ispeed__v1__signed_sample__pack(&ss, r->buf);
    r->key = a->province;
}

/* One collector's tables. */
struct side {
    quota_counts_t *qt;
    ingest_t *ing;
};

static void side_new(struct side *s, const registry_t *reg, agents_t *ag) {
    char err[256];
    quota_config qc;
    quota_config_default(&qc);
    ingest_config ic;
    ingest_config_default(&ic);
    ic.daily_cap = 5;
    s->qt = quota_counts_new(reg, &qc, err, sizeof err);
    s->ing = ingest_new(reg, ag, NULL, s->qt, &ic, err, sizeof err);
    assert_non_null(s->qt);
    assert_non_null(s->ing);
    quota_set_alerting(s->qt, 1);
}

static void side_free(struct side *s) {
    ingest_free(s->ing);
    quota_counts_free(s->qt);
}

static enum ingest_result feed(struct side *s, const struct rec *r) {
    char detail[256];
    enum reject_reason why;
    return ingest_sample(s->ing, 0, r->key, strlen(r->key), r->buf, r->len, NOW, NOW, &why, detail, sizeof detail);
}

/* Everything on partition 0 (one partition holds both provinces here). */
static int32_t owner0(const registry_unit *p, void *ctx) {
    (void)p;
    (void)ctx;
    return 0;
}

#define NREC 300
static struct rec stream[NREC];
static registry_t *reg;
static agents_t *ag;

static int setup(void **state) {
    (void)state;
    assert_int_equal(sign_init(), 0);
    reg = load_csv(CSV3);
    ag = agents_new();
    static struct agent a[4];
    enroll(ag, &a[0], "00001", "01");
    enroll(ag, &a[1], "00004", "01");
    enroll(ag, &a[2], "00010", "01");
    enroll(ag, &a[3], "00600", "02");
    uint64_t seq[4] = {0, 0, 0, 0};
    for (int i = 0; i < NREC; i++) {
        int k = i % 4;
        /* Some records repeat an earlier one (a producer retry), some pass
         * the daily cap of 5 (8 a day), a sequence gap now and then. */
        uint64_t s = (i % 17 == 16 && seq[k] > 3) ? seq[k] - 2 : ++seq[k];
        if (i % 23 == 0) seq[k] += 3;
        int64_t start = JUL_START + (int64_t)((s - 1) / 8) * DAY + (int64_t)(s % 8) * 3600000LL;
        make(&stream[i], &a[k], s, start, i % 3 == 0, 1000000ULL * (uint64_t)(1 + (i * 37) % 200),
             operators[(size_t)(i * 7 + i / 13) % NOPS]);
    }
    return 0;
}

static int teardown(void **state) {
    (void)state;
    agents_free(ag);
    registry_free(reg);
    return 0;
}

static void same_state(struct side *x, struct side *y) {
    for (size_t i = 0; i < registry_size(reg); i++)
        for (int n = QUOTA_FIXED; n <= QUOTA_MOBILE; n++) {
            quota_status a, b;
            const registry_unit *u = registry_unit_at(reg, i);
            assert_int_equal(quota_get(x->qt, u, "2025-07", (enum quota_network)n, NOW, &a), 0);
            assert_int_equal(quota_get(y->qt, u, "2025-07", (enum quota_network)n, NOW, &b), 0);
            if (a.count != b.count || a.count_5g != b.count_5g || a.late_count != b.late_count ||
                a.median_download_bps != b.median_download_bps || a.median_upload_bps != b.median_upload_bps ||
                a.median_latency_ms != b.median_latency_ms || a.state != b.state || a.agents != b.agents)
                fail_msg("unit %s net %d: count %llu vs %llu, median %llu vs %llu", u->code, n,
                         (unsigned long long)a.count, (unsigned long long)b.count,
                         (unsigned long long)a.median_download_bps, (unsigned long long)b.median_download_bps);
            /* Operators: exactly the same, and summing to count. */
            uint64_t sum = 0;
            assert_int_equal(a.n_operators, b.n_operators);
            for (size_t k = 0; k < a.n_operators; k++) {
                if (strcmp(a.operators[k].name, b.operators[k].name) != 0 || a.operators[k].count != b.operators[k].count)
                    fail_msg("unit %s net %d: operator %zu is %s=%llu vs %s=%llu", u->code, n, k, a.operators[k].name,
                             (unsigned long long)a.operators[k].count, b.operators[k].name,
                             (unsigned long long)b.operators[k].count);
                sum += b.operators[k].count;
            }
            if (sum != b.count)
                fail_msg("unit %s net %d: operators sum to %llu, count %llu", u->code, n, (unsigned long long)sum,
                         (unsigned long long)b.count);
        }
}

/* Cut at every 7th record: checkpoint, restore into fresh tables, go on. */
static void test_cut_anywhere(void **state) {
    (void)state;
    struct side whole;
    side_new(&whole, reg, ag);
    enum ingest_result res[NREC];
    for (int i = 0; i < NREC; i++) res[i] = feed(&whole, &stream[i]);
    size_t counted = 0, dup = 0, cap = 0;
    for (int i = 0; i < NREC; i++) {
        counted += res[i] == INGEST_COUNTED;
        dup += res[i] == INGEST_REJECTED;
        cap += res[i] == INGEST_OVER_CAP;
    }
    assert_true(counted > 100 && dup > 5 && cap > 5); /* the stream exercises all three */
    quota_status st;
    quota_get(whole.qt, registry_find(reg, "01"), "2025-07", QUOTA_FIXED, NOW, &st);
    assert_int_equal(st.n_operators, QUOTA_OPERATORS_MAX); /* eight named, other and unknown */
    /* Distinct agents: three in province 01 (one per commune), one in 00001;
     * the restores below must keep them (same_state compares them). */
    assert_int_equal(st.agents, 3);
    quota_get(whole.qt, registry_find(reg, "00001"), "2025-07", QUOTA_FIXED, NOW, &st);
    assert_int_equal(st.agents, 1);
    quota_get(whole.qt, registry_find(reg, "02"), "2025-07", QUOTA_MOBILE, NOW, &st);
    assert_int_equal(st.agents, 1);

    for (int cut = 0; cut <= NREC; cut += 7) {
        struct side a, b;
        char err[256];
        uint8_t *buf;
        size_t len;
        side_new(&a, reg, ag);
        for (int i = 0; i < cut; i++) feed(&a, &stream[i]);
        assert_int_equal(checkpoint_encode(reg, a.ing, a.qt, "ispeed.samples", 0, cut, NOW, owner0, NULL, &buf,
                                           &len, err, sizeof err),
                         0);
        side_new(&b, reg, ag);
        int64_t next = -1, created = 0;
        size_t nprov = 0;
        assert_int_equal(
            checkpoint_restore(reg, b.ing, b.qt, buf, len, 0, &next, &created, &nprov, err, sizeof err), 0);
        assert_int_equal(next, cut);
        assert_int_equal(created, NOW);
        for (int i = cut; i < NREC; i++)
            if (feed(&b, &stream[i]) != res[i]) fail_msg("cut %d: record %d judged differently after restore", cut, i);
        same_state(&whole, &b);
        /* Restored counters are published again, under the same keys. */
        free(buf);
        side_free(&a);
        side_free(&b);
    }
    side_free(&whole);
}

static void test_alerted_state_survives(void **state) {
    (void)state;
    struct side a, b;
    char err[256];
    uint8_t *buf;
    size_t len;
    side_new(&a, reg, ag);
    /* Nothing counted on day 21: everything is BEHIND, alerted once. */
    assert_true(quota_evaluate(a.qt, NOW, NULL, NULL) > 0);
    assert_int_equal(checkpoint_encode(reg, a.ing, a.qt, "t", 3, 0, NOW, owner0, NULL, &buf, &len, err, sizeof err), 0);
    free(buf);
    /* Owned by partition 3 only when the owner says so. */
    assert_int_equal(checkpoint_encode(reg, a.ing, a.qt, "t", 0, 0, NOW, owner0, NULL, &buf, &len, err, sizeof err), 0);
    side_new(&b, reg, ag);
    int64_t next;
    assert_int_equal(checkpoint_restore(reg, b.ing, b.qt, buf, len, 0, &next, NULL, NULL, err, sizeof err), 0);
    assert_int_equal(quota_evaluate(b.qt, NOW, NULL, NULL), 0); /* no alert repeated */
    /* Partition mismatch and damage are refused. */
    assert_int_equal(checkpoint_restore(reg, b.ing, b.qt, buf, len, 1, &next, NULL, NULL, err, sizeof err), -1);
    buf[len / 2] ^= 0x55;
    assert_int_equal(checkpoint_restore(reg, b.ing, b.qt, buf, len, 0, &next, NULL, NULL, err, sizeof err), -1);
    assert_int_equal(checkpoint_restore(reg, b.ing, b.qt, "junk", 4, 0, &next, NULL, NULL, err, sizeof err), -1);
    free(buf);
    side_free(&a);
    side_free(&b);
}

static void test_targets(void **state) {
    (void)state;
    char err[256];
    quota_config qc;
    quota_config_default(&qc);
    qc.target = 300;
    qc.level_target[REGISTRY_DISTRICT][0] = 150;
    qc.level_target[REGISTRY_COMMUNE][QUOTA_MOBILE] = 100;
    qc.level_target[0][QUOTA_MOBILE] = 200;
    quota_counts_t *qt = quota_counts_new(reg, &qc, err, sizeof err);
    assert_int_equal(quota_set_unit_target(qt, registry_find(reg, "00004"), 0, 42), 0);
    quota_status st;
    struct {
        const char *unit;
        enum quota_network net;
        uint32_t want;
    } cases[] = {
        {"01", QUOTA_FIXED, 300},    {"01", QUOTA_MOBILE, 200},     {"001", QUOTA_FIXED, 150},
        {"001", QUOTA_MOBILE, 150},  {"00001", QUOTA_FIXED, 300},   {"00001", QUOTA_MOBILE, 100},
        {"00004", QUOTA_FIXED, 42},  {"00004", QUOTA_MOBILE, 42},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        quota_get(qt, registry_find(reg, cases[i].unit), "2025-07", cases[i].net, NOW, &st);
        if (st.target != cases[i].want)
            fail_msg("%s/%d: target %u, want %u", cases[i].unit, cases[i].net, st.target, cases[i].want);
    }
    quota_counts_free(qt);
}

static void test_medians(void **state) {
    (void)state;
    char err[256];
    quota_config qc;
    quota_config_default(&qc);
    quota_counts_t *qt = quota_counts_new(reg, &qc, err, sizeof err);
    const registry_unit *c = registry_find(reg, "00001");
    /* 1..99 Mbit/s: median 50 Mbit/s, within the buckets' 5%. */
    for (int i = 1; i < 100; i++)
        assert_int_equal(quota_observe(qt, c, "2025-07", QUOTA_FIXED, (uint64_t)i * 1000000, 1000000, 20.0), 0);
    quota_status st;
    quota_get(qt, registry_find(reg, "01"), "2025-07", QUOTA_FIXED, NOW, &st);
    assert_true(st.median_download_bps > 47500000 && st.median_download_bps < 52500000);
    assert_true(st.median_upload_bps > 950000 && st.median_upload_bps < 1050000);
    assert_true(st.median_latency_ms > 19.0 && st.median_latency_ms < 21.0);
    quota_get(qt, registry_find(reg, "00004"), "2025-07", QUOTA_FIXED, NOW, &st);
    assert_int_equal(st.median_download_bps, 0); /* nothing measured there */
    quota_counts_free(qt);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cut_anywhere),
        cmocka_unit_test(test_alerted_state_survives),
        cmocka_unit_test(test_targets),
        cmocka_unit_test(test_medians),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
