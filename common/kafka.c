/* Shared librdkafka configuration helpers. */
#include "kafka.h"

#include "vntime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int kafka_props_add(kafka_props *props, const char *kv, char *err, size_t errsz) {
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) {
        snprintf(err, errsz, "bad Kafka property '%s': write it as property=value, e.g. -X security.protocol=ssl", kv);
        return -1;
    }
    if (props->n == KAFKA_MAX_PROPS) {
        snprintf(err, errsz, "too many Kafka properties (at most %d)", KAFKA_MAX_PROPS);
        return -1;
    }
    char *copy = strdup(kv);
    if (!copy) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    char *sep = copy + (eq - kv);
    *sep = '\0';
    props->owned[props->n] = copy;
    props->key[props->n] = copy;
    props->value[props->n] = sep + 1;
    props->n++;
    return 0;
}

void kafka_props_clear(kafka_props *props) {
    for (size_t i = 0; i < props->n; i++) free(props->owned[i]);
    memset(props, 0, sizeof *props);
}

int kafka_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value, char *err, size_t errsz) {
    char rderr[512];
    if (rd_kafka_conf_set(conf, key, value, rderr, sizeof rderr) != RD_KAFKA_CONF_OK) {
        snprintf(err, errsz, "Kafka property %s=%s rejected by librdkafka: %s", key, value, rderr);
        return -1;
    }
    return 0;
}

/* settings, then props, over conf; destroys conf and returns NULL when
 * librdkafka rejects one. */
static rd_kafka_conf_t *conf_apply(rd_kafka_conf_t *conf, const kafka_setting *settings, size_t n,
                                  const kafka_props *props, char *err, size_t errsz) {
    for (size_t i = 0; i < n; i++)
        if (kafka_conf_set(conf, settings[i].key, settings[i].value, err, errsz) < 0) goto fail;
    for (size_t i = 0; props && i < props->n; i++)
        if (kafka_conf_set(conf, props->key[i], props->value[i], err, errsz) < 0) goto fail;
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

rd_kafka_conf_t *kafka_conf_new(const char *bootstrap, const kafka_props *props, char *err, size_t errsz) {
    /* Our logs are one line per event; librdkafka's go through the same
     * stderr but keep its own format. Quieten its connection chatter. */
    const kafka_setting base[] = {{"bootstrap.servers", bootstrap}, {"log.connection.close", "false"}};
    return conf_apply(rd_kafka_conf_new(), bootstrap ? base : base + 1, bootstrap ? 2 : 1, props, err, errsz);
}

rd_kafka_conf_t *kafka_producer_conf_new(const char *bootstrap, const kafka_setting *extra, size_t nextra,
                                         const kafka_props *props, char *err, size_t errsz) {
    /* SPEC: samples go zstd, idempotent (one producer's records in order
     * and without duplicates from internal retries), acks=all. zstd level 1:
     * the records are small protobufs; higher levels gain nothing on them
     * but cost each broker thread megabytes of compressor window. A few ms
     * of linger batches a burst without adding to the delay. */
    static const kafka_setting defaults[] = {
        {"enable.idempotence", "true"}, {"acks", "all"},  {"compression.type", "zstd"},
        {"compression.level", "1"},     {"linger.ms", "5"},
    };
    rd_kafka_conf_t *conf = kafka_conf_new(bootstrap, NULL, err, errsz);
    if (conf) conf = conf_apply(conf, defaults, sizeof defaults / sizeof *defaults, NULL, err, errsz);
    if (conf) conf = conf_apply(conf, extra, nextra, props, err, errsz);
    return conf;
}

void kafka_topic_name(char *out, size_t outsz, const char *prefix, const char *name) {
    snprintf(out, outsz, "%s%s", prefix ? prefix : KAFKA_DEFAULT_PREFIX, name);
}

int kafka_check_reachable(rd_kafka_t *rk, const char *bootstrap, int timeout_ms, char *err, size_t errsz) {
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, NULL, &md, timeout_ms);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errsz, "cannot reach Kafka at %s: %s; check -b and that a broker is running",
                 bootstrap ? bootstrap : "(no bootstrap)", rd_kafka_err2str(e));
        return -1;
    }
    rd_kafka_metadata_destroy(md);
    return 0;
}

int kafka_produce_wait(rd_kafka_t *rk, const char *topic, const void *key, size_t keylen, const void *val, size_t len,
                       char *err, size_t errsz) {
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, keylen),
                                                  RD_KAFKA_V_VALUE((void *)val, len),
                                                  RD_KAFKA_V_TIMESTAMP(vntime_now_ms()),
                                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (!e) return 0;
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            snprintf(err, errsz, "cannot produce to %s: %s", topic, rd_kafka_err2str(e));
            return -1;
        }
        rd_kafka_poll(rk, 20);
    }
}
