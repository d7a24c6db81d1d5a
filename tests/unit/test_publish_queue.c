/* Unit tests of collector/publish.c's bound on librdkafka's output queue,
 * against librdkafka's mock cluster in process: a burst waits for
 * deliveries past PUBLISH_OUTQ_MAX records instead of queueing whole, and
 * brokers that take nothing cost one counted wait, not one per record, with
 * every record still queued. Links ispeed_collector_prog. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <string.h>

#include "metrics.h"
#include "mock_cluster_fixture.h"
#include "publish.h"

#define DLQ "ispeed.dlq"
#define BURST (3 * PUBLISH_OUTQ_MAX)

static int setup(void **state) {
    static struct publish_fixture f;
    static const char *const topics[] = {DLQ, NULL};
    /* No transactional.id: the embedded broker's way, records go out as produced. */
    publish_fixture_start(&f, topics, NULL);
    *state = &f;
    return 0;
}

static int teardown(void **state) {
    publish_fixture_stop(*state, 5000);
    return 0;
}

/* Produces n DLQ records (the most a record can carry: headers too) and
 * returns the longest output queue seen right after a produce. */
static int produce_burst(struct publish_fixture *f, int n) {
    char err[256], key[16];
    int longest = 0;
    for (int i = 0; i < n; i++) {
        int len = snprintf(key, sizeof key, "agent-%d", i);
        assert_int_equal(publish_dlq(f->pb, key, (size_t)len, "v", 1, "malformed", "ispeed.samples/0@1", err, sizeof err),
                         0);
        int q = rd_kafka_outq_len(publish_handle(f->pb));
        if (q > longest) longest = q;
    }
    return longest;
}

/* Each request answered 50 ms late: without the bound the whole burst sits
 * in the queue (BURST records). */
static void test_burst_waits_for_deliveries(void **state) {
    struct publish_fixture *f = *state;
    /* Connected (and given its producer id) first: under load that can
     * take longer than PUBLISH_OUTQ_WAIT_MS, and this test is about
     * deliveries, not the connection. */
    produce_burst(f, 1);
    assert_int_equal(publish_flush(f->pb, 30000), 0);
    rd_kafka_mock_broker_set_rtt(f->mc, 1, 50);
    int longest = produce_burst(f, BURST);
    if (longest > PUBLISH_OUTQ_MAX + 1) fail_msg("output queue reached %d records, bound %d", longest, PUBLISH_OUTQ_MAX);
    assert_int_equal(metrics_get(f->m, M_OUTQ_STALLS), 0);
    assert_int_equal(publish_flush(f->pb, 10000), 0);
    assert_int_equal(metrics_get(f->m, M_PRODUCE_ERRORS), 0);
    rd_kafka_mock_broker_set_rtt(f->mc, 1, 0);
}

/* The broker down: one wait runs out and is counted, then the rest of the
 * burst queues without waiting (memory gives way, output is kept), and it
 * is all delivered once the broker is back. */
static void test_stalled_brokers_wait_once(void **state) {
    struct publish_fixture *f = *state;
    rd_kafka_mock_broker_set_down(f->mc, 1);
    int longest = produce_burst(f, BURST);
    assert_int_equal(longest, BURST);
    assert_int_equal(metrics_get(f->m, M_OUTQ_STALLS), 1);
    rd_kafka_mock_broker_set_up(f->mc, 1);
    assert_int_equal(publish_flush(f->pb, 30000), 0);
    assert_int_equal(rd_kafka_outq_len(publish_handle(f->pb)), 0);
    assert_int_equal(metrics_get(f->m, M_PRODUCE_ERRORS), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_waits_for_deliveries),
        cmocka_unit_test(test_stalled_brokers_wait_once),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
