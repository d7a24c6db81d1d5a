/* Unit tests of common/topic_reader.c against librdkafka's mock cluster, in
 * process: a snapshot run stops at the start-time end, a catch-up reaches
 * the end of its own moment (and goes on after a snapshot without a gap or
 * a repeat), a poll never waits nor delivers more than asked, and the
 * callback's code ends a read. Links ispeed_common. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka.h"
#include "topic_reader.h"
#include "vntime.h"

#define TOPIC "ispeed.test"
#define NPART 2

struct cluster {
    rd_kafka_t *owner; /* the mock cluster lives in this handle */
    rd_kafka_mock_cluster_t *mc;
    rd_kafka_t *producer;
    const char *bootstrap;
    int produced;
};

/* What the callback saw: the values, in delivery order, and per partition
 * the last offset (to check each partition's order and that none repeats). */
struct seen {
    int n;
    int values[256];
    int64_t last[NPART];
    int stop_after; /* return a negative code at this many, 0: never */
};

static int on_message(const rd_kafka_message_t *m, void *opaque, char *err, size_t errsz) {
    struct seen *s = opaque;
    char buf[16] = {0};
    assert_true(m->len < sizeof buf);
    memcpy(buf, m->payload, m->len);
    assert_true(m->partition >= 0 && m->partition < NPART);
    assert_true(m->offset > s->last[m->partition]); /* in order, never twice */
    s->last[m->partition] = m->offset;
    assert_true(s->n < 256);
    s->values[s->n++] = atoi(buf);
    if (s->stop_after && s->n == s->stop_after) {
        snprintf(err, errsz, "stopped by the callback");
        return -7;
    }
    return 0;
}

static void seen_init(struct seen *s) {
    memset(s, 0, sizeof *s);
    for (int p = 0; p < NPART; p++) s->last[p] = -1;
}

/* Sorted values 0..n-1 exactly once each. */
static void assert_values(const struct seen *s, int from, int to) {
    int have[256] = {0};
    assert_int_equal(s->n, to - from);
    for (int i = 0; i < s->n; i++) {
        assert_true(s->values[i] >= from && s->values[i] < to);
        assert_int_equal(have[s->values[i]]++, 0);
    }
}

static void produce(struct cluster *c, int n) {
    for (int i = 0; i < n; i++, c->produced++) {
        char v[16];
        int len = snprintf(v, sizeof v, "%d", c->produced);
        assert_int_equal(rd_kafka_producev(c->producer, RD_KAFKA_V_TOPIC(TOPIC),
                                           RD_KAFKA_V_PARTITION(c->produced % NPART),
                                           RD_KAFKA_V_VALUE(v, (size_t)len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                           RD_KAFKA_V_END),
                         RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    assert_int_equal(rd_kafka_flush(c->producer, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
}

static int setup(void **state) {
    static struct cluster c;
    char err[256];
    memset(&c, 0, sizeof c);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    c.owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    assert_non_null(c.owner);
    c.mc = rd_kafka_mock_cluster_new(c.owner, 1);
    assert_non_null(c.mc);
    c.bootstrap = rd_kafka_mock_cluster_bootstraps(c.mc);
    assert_int_equal(rd_kafka_mock_topic_create(c.mc, TOPIC, NPART, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_conf_t *pconf = kafka_conf_new(c.bootstrap, NULL, err, sizeof err);
    assert_non_null(pconf);
    c.producer = rd_kafka_new(RD_KAFKA_PRODUCER, pconf, err, sizeof err);
    assert_non_null(c.producer);
    *state = &c;
    return 0;
}

static int teardown(void **state) {
    struct cluster *c = *state;
    rd_kafka_destroy(c->producer);
    rd_kafka_mock_cluster_destroy(c->mc);
    rd_kafka_destroy(c->owner);
    return 0;
}

static topic_reader_t *reader(struct cluster *c) {
    char err[256];
    int code = 0;
    const topic_reader_opts opts = {.name = "test-reader", .fetch_wait_max_ms = 10};
    topic_reader_t *tr = topic_reader_new_opts(c->bootstrap, NULL, TOPIC, &opts, &code, err, sizeof err);
    if (!tr) fail_msg("topic_reader_new_opts: %s (code %d)", err, code);
    return tr;
}

/* Runs in order on one cluster: each test states what is produced before. */

static void test_catch_up_empty_returns_at_once(void **state) {
    struct cluster *c = *state;
    struct seen s;
    char err[256];
    seen_init(&s);
    topic_reader_t *tr = reader(c);
    int64_t t0 = vntime_mono_us();
    assert_int_equal(topic_reader_catch_up(tr, 5000, on_message, &s, err, sizeof err), 0);
    /* Watermark queries only: far under the timeout. */
    assert_true(vntime_mono_us() - t0 < 2500000);
    assert_int_equal(s.n, 0);
    assert_int_equal(topic_reader_poll(tr, 10, on_message, &s, err, sizeof err), 0);
    topic_reader_free(tr);
}

static void test_snapshot_then_catch_up(void **state) {
    struct cluster *c = *state;
    struct seen s;
    char err[256];
    seen_init(&s);
    produce(c, 20); /* values 0..19 */
    topic_reader_t *tr = reader(c);
    produce(c, 6); /* 20..25: after the reader's start, not in its snapshot */
    assert_int_equal(topic_reader_run(tr, 0, NULL, on_message, &s, err, sizeof err), 0);
    assert_values(&s, 0, 20);
    /* The catch-up goes on from where the snapshot stopped: the six left
     * out, none of the twenty again (on_message checks offsets). */
    seen_init(&s);
    assert_int_equal(topic_reader_catch_up(tr, 10000, on_message, &s, err, sizeof err), 0);
    assert_values(&s, 20, 26);
    topic_reader_free(tr);
}

static void test_poll_bounded_and_complete(void **state) {
    struct cluster *c = *state;
    struct seen s;
    char err[256];
    seen_init(&s);
    topic_reader_t *tr = reader(c);
    assert_int_equal(topic_reader_catch_up(tr, 10000, on_message, &s, err, sizeof err), 0);
    assert_values(&s, 0, c->produced);
    int before = c->produced;
    produce(c, 9);
    seen_init(&s);
    /* Poll never waits: loop until the nine arrived, 2 at most a call. */
    int64_t deadline = vntime_mono_us() + 10000000;
    while (s.n < 9 && vntime_mono_us() < deadline) {
        int n = topic_reader_poll(tr, 2, on_message, &s, err, sizeof err);
        assert_true(n >= 0 && n <= 2);
    }
    assert_values(&s, before, before + 9);
    topic_reader_free(tr);
}

static void test_callback_code_ends_the_read(void **state) {
    struct cluster *c = *state;
    struct seen s;
    char err[256] = "";
    seen_init(&s);
    s.stop_after = 3;
    topic_reader_t *tr = reader(c);
    assert_int_equal(topic_reader_catch_up(tr, 10000, on_message, &s, err, sizeof err), -7);
    assert_int_equal(s.n, 3);
    assert_string_equal(err, "stopped by the callback");
    topic_reader_free(tr);
}

static void test_missing_topic(void **state) {
    struct cluster *c = *state;
    char err[256] = "";
    int code = 0;
    const topic_reader_opts opts = {.name = "test-reader"};
    topic_reader_t *tr = topic_reader_new_opts(c->bootstrap, NULL, "ispeed.nonesuch", &opts, &code, err, sizeof err);
    assert_null(tr);
    assert_int_equal(code, TOPIC_READER_NO_TOPIC);
    assert_non_null(strstr(err, "ispeed.nonesuch"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_catch_up_empty_returns_at_once),
        cmocka_unit_test(test_snapshot_then_catch_up),
        cmocka_unit_test(test_poll_bounded_and_complete),
        cmocka_unit_test(test_callback_code_ends_the_read),
        cmocka_unit_test(test_missing_topic),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
