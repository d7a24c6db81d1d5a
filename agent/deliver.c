/* Producer set-up and delivery-report accounting for ispeed-agent. */
#include "deliver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct deliver {
    rd_kafka_t *rk;
    char prefix[128];
    char bootstrap[512];
    /* Written only from rd_kafka_poll/flush on the caller's thread. */
    size_t queued, acked, failed;
    char last_error[256];
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque) {
    deliver_t *d = opaque;
    (void)rk;
    if (msg->err) {
        d->failed++;
        snprintf(d->last_error, sizeof d->last_error, "%s", rd_kafka_err2str(msg->err));
        log_warn("agent", "delivery failed topic=%s error=%s", rd_kafka_topic_name(msg->rkt),
                 rd_kafka_err2str(msg->err));
    } else {
        d->acked++;
    }
}

deliver_t *deliver_new(const char *bootstrap, const kafka_props *props, const char *topic_prefix, char *err,
                       size_t errsz) {
    deliver_t *d = calloc(1, sizeof *d);
    rd_kafka_conf_t *conf = NULL;
    if (!d) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    snprintf(d->prefix, sizeof d->prefix, "%s", topic_prefix ? topic_prefix : KAFKA_DEFAULT_PREFIX);
    snprintf(d->bootstrap, sizeof d->bootstrap, "%s", bootstrap ? bootstrap : "");
    /* Our defaults first, so that -X given by the user overrides them. */
    kafka_props defaults = {0};
    static const char *const safe[] = {"enable.idempotence=true", "acks=all", "compression.codec=zstd",
                                       "message.timeout.ms=30000", "linger.ms=5"};
    for (size_t i = 0; i < sizeof safe / sizeof *safe; i++)
        if (kafka_props_add(&defaults, safe[i], err, errsz) < 0) goto fail;
    for (size_t i = 0; props && i < props->n; i++) {
        char kv[1024];
        snprintf(kv, sizeof kv, "%s=%s", props->key[i], props->value[i]);
        if (kafka_props_add(&defaults, kv, err, errsz) < 0) goto fail;
    }
    conf = kafka_conf_new(bootstrap, &defaults, err, errsz);
    kafka_props_clear(&defaults);
    if (!conf) goto fail;
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, d);
    d->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errsz);
    if (!d->rk) goto fail;
    return d;
fail:
    kafka_props_clear(&defaults);
    if (conf) rd_kafka_conf_destroy(conf);
    free(d);
    return NULL;
}

void deliver_free(deliver_t *d) {
    if (!d) return;
    if (d->rk) rd_kafka_destroy(d->rk);
    free(d);
}

int deliver_check(deliver_t *d, int timeout_ms, char *err, size_t errsz) {
    return kafka_check_reachable(d->rk, d->bootstrap, timeout_ms, err, errsz);
}

int deliver_send(deliver_t *d, const char *topic_suffix, const char *key, const void *value, size_t len,
                 char *err, size_t errsz) {
    char topic[256];
    kafka_topic_name(topic, sizeof topic, d->prefix, topic_suffix);
    rd_kafka_resp_err_t e = rd_kafka_producev(d->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                                              RD_KAFKA_V_VALUE((void *)value, len),
                                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (e) {
        snprintf(err, errsz, "cannot queue a record for %s: %s", topic, rd_kafka_err2str(e));
        return -1;
    }
    d->queued++;
    return 0;
}

int deliver_wait(deliver_t *d, int timeout_ms, char *err, size_t errsz) {
    rd_kafka_flush(d->rk, timeout_ms);
    if (d->failed) {
        snprintf(err, errsz, "Kafka at %s did not accept %zu record(s): %s", d->bootstrap, d->failed,
                 d->last_error);
        return -1;
    }
    if (d->acked < d->queued) {
        snprintf(err, errsz, "Kafka at %s did not confirm %zu record(s) within %d ms; check -b and the brokers",
                 d->bootstrap, d->queued - d->acked, timeout_ms);
        return -1;
    }
    return 0;
}
