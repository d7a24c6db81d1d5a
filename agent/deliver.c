/* Producer set-up and delivery-report dispatch for ispeed-agent. */
#include "deliver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "vntime.h"

struct deliver {
    rd_kafka_t *rk;
    char prefix[128];
    size_t in_flight;
    deliver_report_cb report;
    void *arg;
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque) {
    deliver_t *d = opaque;
    (void)rk;
    d->in_flight--;
    if (d->report)
        d->report((uint64_t)(uintptr_t)msg->_private, msg->err == RD_KAFKA_RESP_ERR_NO_ERROR,
              msg->err ? rd_kafka_err2str(msg->err) : NULL, d->arg);
}

deliver_t *deliver_new(const char *bootstrap, const kafka_props *props, const char *topic_prefix,
                       int message_timeout_ms, deliver_report_cb report, void *arg, char *err, size_t errsz) {
    deliver_t *d = calloc(1, sizeof *d);
    rd_kafka_conf_t *conf = NULL;
    kafka_props all = {0};
    char timeout[32];
    if (!d) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    d->report = report;
    d->arg = arg;
    snprintf(d->prefix, sizeof d->prefix, "%s", topic_prefix ? topic_prefix : KAFKA_DEFAULT_PREFIX);
    /* Ours first, so that the user's -X and [kafka] keys override them.
     * Idempotence keeps one agent's records in order and without
     * duplicates from internal retries. */
    snprintf(timeout, sizeof timeout, "message.timeout.ms=%d", message_timeout_ms);
    /* zstd level 1: a sample is a few hundred bytes, higher levels gain
     * nothing on it but cost the daemon about half a MiB of workspace. */
    const char *const ours[] = {"enable.idempotence=true", "acks=all", "compression.codec=zstd",
                                "compression.level=1", "linger.ms=5", "socket.connection.setup.timeout.ms=5000",
                                timeout};
    for (size_t i = 0; i < sizeof ours / sizeof *ours; i++)
        if (kafka_props_add(&all, ours[i], err, errsz) < 0) goto fail;
    for (size_t i = 0; props && i < props->n; i++) {
        char kv[1024];
        snprintf(kv, sizeof kv, "%s=%s", props->key[i], props->value[i]);
        if (kafka_props_add(&all, kv, err, errsz) < 0) goto fail;
    }
    conf = kafka_conf_new(bootstrap, &all, err, errsz);
    if (!conf) goto fail;
    /* An unreachable broker is expected (the spool keeps everything); say it
     * once in our words rather than librdkafka's every few seconds. */
    if (kafka_conf_set(conf, "log_level", "2", err, errsz) < 0) goto fail;
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, d);
    d->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errsz);
    if (!d->rk) goto fail;
    kafka_props_clear(&all);
    return d;
fail:
    kafka_props_clear(&all);
    if (conf) rd_kafka_conf_destroy(conf);
    free(d);
    return NULL;
}

void deliver_free(deliver_t *d) {
    if (!d) return;
    if (d->rk) {
        /* Whatever is still queued stays in the spool; drop it here
         * without reporting, so no callback outlives its owner. */
        rd_kafka_purge(d->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        d->report = NULL;
        rd_kafka_destroy(d->rk);
    }
    free(d);
}

int deliver_send(deliver_t *d, const char *topic_suffix, const char *key, const void *value, size_t len,
                 uint64_t ref, char *err, size_t errsz) {
    char topic[256];
    kafka_topic_name(topic, sizeof topic, d->prefix, topic_suffix);
    rd_kafka_resp_err_t e = rd_kafka_producev(d->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                                              RD_KAFKA_V_VALUE((void *)value, len),
                                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                              /* the one clock, so a test standing on another day is consistent */
                                              RD_KAFKA_V_TIMESTAMP(vntime_now_ms()),
                                              RD_KAFKA_V_OPAQUE((void *)(uintptr_t)ref), RD_KAFKA_V_END);
    if (e) {
        snprintf(err, errsz, "cannot queue a record for %s: %s", topic, rd_kafka_err2str(e));
        return -1;
    }
    d->in_flight++;
    return 0;
}

void deliver_poll(deliver_t *d) { rd_kafka_poll(d->rk, 0); }

size_t deliver_flush(deliver_t *d, int timeout_ms) {
    rd_kafka_flush(d->rk, timeout_ms);
    return d->in_flight;
}

size_t deliver_in_flight(const deliver_t *d) { return d->in_flight; }

int deliver_fatal(deliver_t *d, char *err, size_t errsz) {
    char reason[256];
    if (!rd_kafka_fatal_error(d->rk, reason, sizeof reason)) return 0;
    snprintf(err, errsz, "Kafka producer failed for good: %s", reason);
    return 1;
}
