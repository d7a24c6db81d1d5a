/* Unit tests of collector/publish.c's transactions against librdkafka's mock
 * cluster, in process: what is produced is kept until a commit, a commit
 * the group coordinator refuses (ILLEGAL_GENERATION: a zombie's) aborts and
 * produces the same records again into the next transaction, and a discard
 * (a lost assignment) forgets them. Records are flushed before an abort,
 * so the topic's end counts every attempt (aborted records keep their
 * offsets): N refused then N committed is 2N. Links
 * ispeed_collector_prog. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <string.h>

#include "kafka.h"
#include "metrics.h"
#include "mock_cluster_fixture.h"
#include "publish.h"

#define DLQ "ispeed.dlq"
/* Kafka's ApiKey of TxnOffsetCommit (librdkafka's name for it is internal). */
#define APIKEY_TXN_OFFSET_COMMIT 28

static int setup(void **state) {
    static struct publish_fixture f;
    static const char *const topics[] = {DLQ, "ispeed.samples", NULL};
    char err[256];
    publish_fixture_start(&f, topics, "ispeed.collector.test.1");
    if (publish_txn_start(f.pb, 10000, err, sizeof err) < 0) fail_msg("publish_txn_start: %s", err);
    *state = &f;
    return 0;
}

static int teardown(void **state) {
    publish_fixture_stop(*state, 1000);
    return 0;
}

/* Records on the DLQ topic now (the mock shows aborted ones too). */
static int64_t dlq_records(struct publish_fixture *f) {
    char err[256];
    int64_t lo = 0, hi = 0;
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, kafka_conf_new(f->bootstrap, NULL, err, sizeof err), err, sizeof err);
    assert_non_null(rk);
    assert_int_equal(rd_kafka_query_watermark_offsets(rk, DLQ, 0, &lo, &hi, 5000), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(rk);
    return hi - lo;
}

static void produce_dlq(struct publish_fixture *f, int n) {
    char err[256];
    for (int i = 0; i < n; i++) {
        char key[16];
        int len = snprintf(key, sizeof key, "agent-%d", i);
        assert_int_equal(publish_dlq(f->pb, key, (size_t)len, "v", 1, "malformed", "ispeed.samples/0@1", err, sizeof err),
                         0);
    }
}

static rd_kafka_topic_partition_list_t *offsets(void) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, "ispeed.samples", 0)->offset = 5;
    return l;
}

/* Runs in order on one producer: each test says what is on the topic before. */

static void test_commit_clears_what_was_kept(void **state) {
    struct publish_fixture *f = *state;
    rd_kafka_topic_partition_list_t *l = offsets();
    rd_kafka_consumer_group_metadata_t *g = rd_kafka_consumer_group_metadata_new("ispeed-collector");
    assert_true(publish_transactional(f->pb));
    assert_int_equal(publish_commit(f->pb, l, g, 10000), PUBLISH_COMMITTED); /* empty: nothing to do */
    produce_dlq(f, 3);
    assert_int_equal(publish_uncommitted(f->pb), 3);
    assert_int_equal(publish_commit(f->pb, l, g, 10000), PUBLISH_COMMITTED);
    assert_int_equal(publish_uncommitted(f->pb), 0);
    assert_int_equal(dlq_records(f), 3);
    assert_int_equal(metrics_get(f->m, M_TXN_COMMITS), 1);
    rd_kafka_consumer_group_metadata_destroy(g);
    rd_kafka_topic_partition_list_destroy(l);
}

static void test_refused_offsets_abort_and_produce_again(void **state) {
    struct publish_fixture *f = *state;
    rd_kafka_topic_partition_list_t *l = offsets();
    rd_kafka_consumer_group_metadata_t *g = rd_kafka_consumer_group_metadata_new("ispeed-collector");
    produce_dlq(f, 4);
    assert_int_equal(publish_flush(f->pb, 10000), 0); /* on the broker before the abort */
    /* The group moved past us: the coordinator refuses our offsets. */
    rd_kafka_mock_push_request_errors(f->mc, APIKEY_TXN_OFFSET_COMMIT, 1, RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION);
    assert_int_equal(publish_commit(f->pb, l, g, 10000), PUBLISH_ABORTED);
    assert_int_equal(metrics_get(f->m, M_TXN_FENCED), 1);
    assert_int_equal(publish_uncommitted(f->pb), 4); /* kept, and already in the next transaction */
    assert_int_equal(publish_commit(f->pb, l, g, 10000), PUBLISH_COMMITTED);
    assert_int_equal(publish_uncommitted(f->pb), 0);
    /* 3 before, 4 aborted, the same 4 committed. */
    assert_int_equal(dlq_records(f), 3 + 4 + 4);
    rd_kafka_consumer_group_metadata_destroy(g);
    rd_kafka_topic_partition_list_destroy(l);
}

static void test_discard_forgets(void **state) {
    struct publish_fixture *f = *state;
    rd_kafka_topic_partition_list_t *l = offsets();
    rd_kafka_consumer_group_metadata_t *g = rd_kafka_consumer_group_metadata_new("ispeed-collector");
    produce_dlq(f, 2);
    assert_int_equal(publish_flush(f->pb, 10000), 0);
    assert_int_equal(publish_discard(f->pb, 10000), 0);
    assert_int_equal(publish_uncommitted(f->pb), 0);
    assert_int_equal(publish_commit(f->pb, l, g, 10000), PUBLISH_COMMITTED); /* nothing left to commit */
    produce_dlq(f, 1);
    assert_int_equal(publish_commit(f->pb, l, g, 10000), PUBLISH_COMMITTED);
    /* 11 before, the 2 discarded (aborted, never again), then 1. */
    assert_int_equal(dlq_records(f), 11 + 2 + 1);
    rd_kafka_consumer_group_metadata_destroy(g);
    rd_kafka_topic_partition_list_destroy(l);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit_clears_what_was_kept),
        cmocka_unit_test(test_refused_offsets_abort_and_produce_again),
        cmocka_unit_test(test_discard_forgets),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
