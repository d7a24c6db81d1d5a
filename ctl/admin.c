/* Admin API plumbing shared by "topics apply" and "acl apply". */
#include "admin.h"

#include <stdio.h>

#include "topic_reader.h"

rd_kafka_t *admin_new(const char *bootstrap, const kafka_props *props, char *err, size_t errsz) {
    char rderr[512];
    rd_kafka_conf_t *conf = kafka_conf_new(bootstrap, props, err, errsz);
    rd_kafka_t *rk = NULL;
    if (!conf) return NULL;
    rd_kafka_conf_set_log_cb(conf, topic_reader_log);
    if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, rderr, sizeof rderr))) {
        rd_kafka_conf_destroy(conf);
        snprintf(err, errsz, "cannot create a Kafka client: %s", rderr);
        return NULL;
    }
    if (kafka_check_reachable(rk, bootstrap, 10000, err, errsz) < 0) {
        rd_kafka_destroy(rk);
        return NULL;
    }
    return rk;
}

rd_kafka_AdminOptions_t *admin_options(rd_kafka_t *rk, rd_kafka_admin_op_t api) {
    char e[256];
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(rk, api);
    rd_kafka_AdminOptions_set_request_timeout(o, ADMIN_TIMEOUT_MS, e, sizeof e);
    /* CreateTopics/CreatePartitions answer once the change is everywhere,
     * so the next step (DescribeConfigs, a producer) sees it. */
    if (api == RD_KAFKA_ADMIN_OP_CREATETOPICS || api == RD_KAFKA_ADMIN_OP_CREATEPARTITIONS)
        rd_kafka_AdminOptions_set_operation_timeout(o, ADMIN_TIMEOUT_MS, e, sizeof e);
    return o;
}

rd_kafka_event_t *admin_wait(rd_kafka_queue_t *q, const char *what, char *err, size_t errsz) {
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, ADMIN_TIMEOUT_MS + 5000);
    if (!ev) {
        snprintf(err, errsz, "%s: no answer from Kafka within %d s", what, ADMIN_TIMEOUT_MS / 1000 + 5);
        return NULL;
    }
    if (rd_kafka_event_error(ev)) {
        snprintf(err, errsz, "%s: %s", what, rd_kafka_event_error_string(ev));
        rd_kafka_event_destroy(ev);
        return NULL;
    }
    return ev;
}
