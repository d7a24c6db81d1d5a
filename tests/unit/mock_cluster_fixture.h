/* A one-broker librdkafka mock cluster in the test's own process, with the
 * collector's publisher on it, for the tests of collector/publish.c. */
#ifndef ISPEED_TESTS_MOCK_CLUSTER_FIXTURE_H
#define ISPEED_TESTS_MOCK_CLUSTER_FIXTURE_H

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <string.h>

#include "metrics.h"
#include "publish.h"

struct publish_fixture {
    rd_kafka_t *owner; /* the mock cluster lives in this handle */
    rd_kafka_mock_cluster_t *mc;
    const char *bootstrap;
    metrics_t *m;
    publish_t *pb;
};

/* The cluster with one-partition topics (NULL-terminated list) and a
 * publisher on it: transactional when transactional_id is not NULL. */
static inline void publish_fixture_start(struct publish_fixture *f, const char *const *topics,
                                         const char *transactional_id) {
    char err[256];
    memset(f, 0, sizeof *f);
    f->owner = rd_kafka_new(RD_KAFKA_PRODUCER, rd_kafka_conf_new(), err, sizeof err);
    assert_non_null(f->owner);
    assert_non_null(f->mc = rd_kafka_mock_cluster_new(f->owner, 1));
    f->bootstrap = rd_kafka_mock_cluster_bootstraps(f->mc);
    for (; *topics; topics++)
        assert_int_equal(rd_kafka_mock_topic_create(f->mc, *topics, 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_non_null(f->m = metrics_new());
    f->pb = publish_new(f->bootstrap, NULL, "ispeed.", transactional_id, f->m, err, sizeof err);
    if (!f->pb) fail_msg("publish_new: %s", err);
}

static inline void publish_fixture_stop(struct publish_fixture *f, int timeout_ms) {
    publish_free(f->pb, timeout_ms);
    metrics_free(f->m);
    rd_kafka_mock_cluster_destroy(f->mc);
    rd_kafka_destroy(f->owner);
}

#endif
