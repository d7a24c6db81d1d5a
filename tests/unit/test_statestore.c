/* Unit tests of collector/statestore.c with injected failures: a checkpoint
 * that cannot be encoded or produced is counted, leaves the partition's
 * checkpoint position where it was, and the next periodic pass writes it; a
 * record read back that cannot be kept (out of memory) is counted and the
 * partition restores from the record before it. The failures are injected
 * at the link (--wrap of publish_checkpoint, checkpoint_encode and malloc);
 * no broker is involved. Links ispeed_collector_prog. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint.h"
#include "collector.h"
#include "tmpfile_fixture.h"

#define DAY 86400000LL
#define JUL_START 1751302800000LL /* 2025-07-01 00:00 UTC+7 */
#define NOW (JUL_START + 20 * DAY)

/* ---- the injected failures ---- */

static int fail_produce, fail_encode, fail_next_malloc;
static int produced;        /* publish_checkpoint calls that succeeded */
static int produce_calls;   /* all calls */
static char produced_key[256];
static uint8_t *produced_buf; /* the last checkpoint produced */
static size_t produced_len;

int __real_publish_checkpoint(publish_t *pb, const char *key, const void *value, size_t len, char *err, size_t errsz);
int __wrap_publish_checkpoint(publish_t *pb, const char *key, const void *value, size_t len, char *err, size_t errsz);
int __wrap_publish_checkpoint(publish_t *pb, const char *key, const void *value, size_t len, char *err, size_t errsz) {
    (void)pb;
    produce_calls++;
    if (fail_produce) {
        snprintf(err, errsz, "injected: queue full");
        return -1;
    }
    snprintf(produced_key, sizeof produced_key, "%s", key);
    free(produced_buf);
    produced_buf = malloc(len);
    assert_non_null(produced_buf);
    memcpy(produced_buf, value, len);
    produced_len = len;
    produced++;
    return 0;
}

int __real_checkpoint_encode(const registry_t *reg, ingest_t *ing, quota_counts_t *qt, const char *topic,
                             int32_t partition, int64_t next_offset, int64_t created_ms, checkpoint_owner_fn owner,
                             void *ctx, uint8_t **out, size_t *outlen, char *err, size_t errsz);
int __wrap_checkpoint_encode(const registry_t *reg, ingest_t *ing, quota_counts_t *qt, const char *topic,
                             int32_t partition, int64_t next_offset, int64_t created_ms, checkpoint_owner_fn owner,
                             void *ctx, uint8_t **out, size_t *outlen, char *err, size_t errsz);
int __wrap_checkpoint_encode(const registry_t *reg, ingest_t *ing, quota_counts_t *qt, const char *topic,
                             int32_t partition, int64_t next_offset, int64_t created_ms, checkpoint_owner_fn owner,
                             void *ctx, uint8_t **out, size_t *outlen, char *err, size_t errsz) {
    if (fail_encode) {
        snprintf(err, errsz, "injected: out of memory");
        return -1;
    }
    return __real_checkpoint_encode(reg, ing, qt, topic, partition, next_offset, created_ms, owner, ctx, out, outlen,
                                    err, errsz);
}

void *__real_malloc(size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_malloc(size_t n) {
    if (fail_next_malloc) {
        fail_next_malloc = 0;
        return NULL;
    }
    return __real_malloc(n);
}

/* ---- a collector without Kafka ---- */

static const char *const CSV = "code,level,parent,name,type\n"
                               "01,province,,Ha Noi,Thanh pho Trung uong\n"
                               "001,district,01,Ba Dinh,Quan\n"
                               "00001,commune,001,Phuc Xa,Phuong\n"
                               "02,province,,Ha Giang,Tinh\n"
                               "020,district,02,Ha Giang city,Thanh pho\n"
                               "00600,commune,020,Quang Trung,Phuong\n";

/* Every province on partition 0: the checkpoint of partition 0 holds them. */
static int32_t all_on_zero(const rd_kafka_topic_t *t, const void *k, size_t kl, int32_t n, void *a, void *b) {
    (void)t, (void)k, (void)kl, (void)n, (void)a, (void)b;
    return 0;
}

static void setup_collector(struct collector *c) {
    char path[] = "/tmp/test_statestore_XXXXXX", err[256];
    memset(c, 0, sizeof *c);
    fixture_write_tmp(path, CSV);
    c->reg = registry_load(path, err, sizeof err);
    unlink(path);
    if (!c->reg) fail_msg("registry: %s", err);
    quota_config_default(&c->qcfg);
    ingest_config_default(&c->icfg);
    assert_non_null(c->m = metrics_new());
    assert_non_null(c->agents = agents_new());
    assert_non_null(c->qt = quota_counts_new(c->reg, &c->qcfg, err, sizeof err));
    assert_non_null(c->ing = ingest_new(c->reg, c->agents, NULL, c->qt, &c->icfg, err, sizeof err));
    assert_non_null(c->ckpts = hashmap_new(NULL));
    snprintf(c->samples_topic, sizeof c->samples_topic, "ispeed.samples");
    c->partitioner = all_on_zero;
    c->samples_npart = 2;
    c->last_ckpt_ms = -1;
    c->ckpt_interval_ms = 1000;
    fail_produce = fail_encode = fail_next_malloc = 0;
    produced = produce_calls = 0;
}

static void teardown_collector(struct collector *c) {
    hashmap_free(c->ckpts, free);
    ingest_free(c->ing);
    quota_counts_free(c->qt);
    agents_free(c->agents);
    registry_free(c->reg);
    metrics_free(c->m);
    free(c->parts);
    free(produced_buf);
    produced_buf = NULL;
}

static struct part *assign(struct collector *c, int32_t p, int64_t next) {
    struct part *pt = consumer_part(c, p);
    assert_non_null(pt);
    pt->assigned = 1;
    pt->next = next;
    return pt;
}

static void count_one(struct collector *c) {
    assert_int_equal(quota_add(c->qt, registry_find(c->reg, "00001"), "2025-07", QUOTA_FIXED, 0, 0, "VNPT", NOW), 0);
}

static uint64_t commune_count(struct collector *c) {
    quota_status st;
    if (quota_get(c->qt, registry_find(c->reg, "00001"), "2025-07", QUOTA_FIXED, NOW, &st) < 0) return 0;
    return st.count;
}

/* ---- tests ---- */

static void test_failed_produce_keeps_position_and_retries(void **state) {
    (void)state;
    struct collector c;
    setup_collector(&c);
    count_one(&c);
    struct part *pt = assign(&c, 0, 42);

    fail_produce = 1;
    assert_int_equal(state_write_due(&c), 1);
    assert_int_equal(produce_calls, 1);
    assert_int_equal(pt->ckpt, -1);   /* the position did not move */
    assert_int_equal(pt->ckpt_ms, 0); /* so the pass is due again at once */
    assert_int_equal(c.last_ckpt_ms, -1);
    assert_int_equal(metrics_get(c.m, M_CHECKPOINT_FAIL_PRODUCE), 1);
    assert_int_equal(metrics_get(c.m, M_CHECKPOINT_FAIL_ENCODE), 0);

    fail_produce = 0; /* the next pass */
    assert_int_equal(state_write_due(&c), 0);
    assert_int_equal(produced, 1);
    assert_string_equal(produced_key, "ispeed.samples/0");
    assert_int_equal(pt->ckpt, 42);
    assert_true(pt->ckpt_ms > 0);
    assert_int_equal(metrics_get(c.m, M_CHECKPOINT_FAIL_PRODUCE), 1);

    /* Nothing moved since: the pass writes nothing. */
    assert_int_equal(state_write_due(&c), 0);
    assert_int_equal(produce_calls, 2);

    /* What was written is the partition's state at offset 42. */
    assert_int_equal(state_keep(&c, produced_key, strlen(produced_key), produced_buf, produced_len), 0);
    count_one(&c);
    assert_int_equal(commune_count(&c), 2);
    assert_int_equal(state_restore(&c, 0), 42);
    assert_int_equal(commune_count(&c), 1);
    teardown_collector(&c);
}

static void test_failed_encode_keeps_position(void **state) {
    (void)state;
    struct collector c;
    setup_collector(&c);
    struct part *pt = assign(&c, 0, 7);
    pt->ckpt = 3;
    pt->ckpt_alert = 1;
    fail_encode = 1;
    assert_int_equal(state_write(&c, 0), -1);
    assert_int_equal(produce_calls, 0);
    assert_int_equal(pt->ckpt, 3);
    assert_int_equal(pt->ckpt_alert, 1); /* the alert's state still to be written */
    assert_int_equal(metrics_get(c.m, M_CHECKPOINT_FAIL_ENCODE), 1);
    fail_encode = 0;
    assert_int_equal(state_write_due(&c), 0);
    assert_int_equal(pt->ckpt, 7);
    assert_int_equal(pt->ckpt_alert, 0);
    teardown_collector(&c);
}

/* Shutdown and revoke write every assigned partition: the failures are
 * reported, not swallowed. */
static void test_write_all_reports_failures(void **state) {
    (void)state;
    struct collector c;
    setup_collector(&c);
    assign(&c, 0, 10);
    assign(&c, 1, 20);
    consumer_part(&c, 3); /* known, not assigned: not written */
    fail_produce = 1;
    assert_int_equal(state_write_all(&c), 2);
    assert_int_equal(metrics_get(c.m, M_CHECKPOINT_FAIL_PRODUCE), 2);
    fail_produce = 0;
    assert_int_equal(state_write_all(&c), 0);
    assert_int_equal(produced, 2);
    assert_int_equal(c.parts[0].ckpt, 10);
    assert_int_equal(c.parts[1].ckpt, 20);
    teardown_collector(&c);
}

/* Two checkpoints of partition 0, at offsets 42 (one sample counted) and 99
 * (two): buf42 and buf99. */
static void two_checkpoints(struct collector *c, uint8_t **buf42, size_t *len42, uint8_t **buf99, size_t *len99) {
    struct part *pt = assign(c, 0, 42);
    count_one(c);
    assert_int_equal(state_write(c, 0), 0);
    *buf42 = produced_buf;
    *len42 = produced_len;
    produced_buf = NULL;
    pt->next = 99;
    count_one(c);
    assert_int_equal(state_write(c, 0), 0);
    *buf99 = produced_buf;
    *len99 = produced_len;
    produced_buf = NULL;
}

static void test_newest_record_wins(void **state) {
    (void)state;
    struct collector c;
    uint8_t *b42, *b99;
    size_t l42, l99;
    setup_collector(&c);
    two_checkpoints(&c, &b42, &l42, &b99, &l99);
    assert_int_equal(state_keep(&c, "ispeed.samples/0", 16, b42, l42), 0);
    assert_int_equal(state_keep(&c, "ispeed.samples/0", 16, b99, l99), 0);
    assert_int_equal(state_restore(&c, 0), 99);
    assert_int_equal(commune_count(&c), 2);
    assert_int_equal(metrics_get(c.m, M_CHECKPOINT_FAIL_READ_OOM), 0);
    free(b42);
    free(b99);
    teardown_collector(&c);
}

static void test_record_not_kept_is_counted_and_older_one_restores(void **state) {
    (void)state;
    struct collector c;
    uint8_t *b42, *b99;
    size_t l42, l99;
    setup_collector(&c);
    two_checkpoints(&c, &b42, &l42, &b99, &l99);
    assert_int_equal(state_keep(&c, "ispeed.samples/0", 16, b42, l42), 0);
    fail_next_malloc = 1;
    assert_int_equal(state_keep(&c, "ispeed.samples/0", 16, b99, l99), -1);
    assert_int_equal(fail_next_malloc, 0); /* the failure was the record's */
    assert_int_equal(metrics_get(c.m, M_CHECKPOINT_FAIL_READ_OOM), 1);
    /* The older record stands: restoring it and replaying from 42 is exact. */
    assert_int_equal(state_restore(&c, 0), 42);
    assert_int_equal(commune_count(&c), 1);
    /* The counter is on /metrics. */
    char *text = metrics_render(c.m);
    assert_non_null(text);
    assert_non_null(strstr(text, "ispeed_collector_checkpoint_failures_total{reason=\"read_out_of_memory\"} 1\n"));
    assert_non_null(strstr(text, "ispeed_collector_checkpoint_failures_total{reason=\"produce\"} 0\n"));
    free(text);
    free(b42);
    free(b99);
    teardown_collector(&c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failed_produce_keeps_position_and_retries),
        cmocka_unit_test(test_failed_encode_keeps_position),
        cmocka_unit_test(test_write_all_reports_failures),
        cmocka_unit_test(test_newest_record_wins),
        cmocka_unit_test(test_record_not_kept_is_counted_and_older_one_restores),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
