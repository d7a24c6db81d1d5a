/* Whole-topic reader: positions are tracked here (next offset per partition)
 * so a catch-up compares them with freshly queried high watermarks. */
#include "feed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "vntime.h"

struct feed {
    rd_kafka_t *rk;
    char *topic;
    feed_apply_fn apply;
    void *ctx;
    int32_t npart;
    int64_t *next; /* next offset to apply, per partition; -1 = nothing read yet */
};

feed_t *feed_new(const char *bootstrap, const kafka_props *props, const char *topic, feed_apply_fn apply,
                 void *ctx, char *err, size_t errsz) {
    rd_kafka_conf_t *conf = NULL;
    feed_t *fd = calloc(1, sizeof *fd);
    if (!fd || !(fd->topic = strdup(topic))) {
        snprintf(err, errsz, "out of memory");
        goto fail;
    }
    fd->apply = apply;
    fd->ctx = ctx;
    if (!(conf = kafka_conf_new(bootstrap, props, err, errsz))) goto fail;
    /* librdkafka's consumer wants a group.id, but with assign() and no
     * commits it never reaches the broker (librdkafka issue 593); the name
     * says what it is should it ever show up. Committing is off so it
     * cannot. */
    char group[256];
    snprintf(group, sizeof group, "ispeed-collector-feed.%s", topic);
    if (kafka_conf_set(conf, "group.id", group, err, errsz) < 0 ||
        kafka_conf_set(conf, "enable.auto.commit", "false", err, errsz) < 0 ||
        kafka_conf_set(conf, "enable.auto.offset.store", "false", err, errsz) < 0 ||
        kafka_conf_set(conf, "auto.offset.reset", "earliest", err, errsz) < 0 ||
        /* The embedded Kafka answers one batch per partition per fetch and
         * holds the answer this long once any partition is at its end: with
         * the default 500 ms a catch-up of many small batches crawls. */
        kafka_conf_set(conf, "fetch.wait.max.ms", "10", err, errsz) < 0)
        goto fail;
    if (!(fd->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, errsz))) goto fail;
    conf = NULL;
    rd_kafka_poll_set_consumer(fd->rk);
    return fd;
fail:
    if (conf) rd_kafka_conf_destroy(conf);
    feed_free(fd);
    return NULL;
}

void feed_free(feed_t *fd) {
    if (!fd) return;
    if (fd->rk) {
        rd_kafka_assign(fd->rk, NULL);
        rd_kafka_consumer_close(fd->rk);
        rd_kafka_destroy(fd->rk);
    }
    free(fd->next);
    free(fd->topic);
    free(fd);
}

int feed_start(feed_t *fd, int timeout_ms, char *err, size_t errsz) {
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(fd->rk, fd->topic, NULL);
    rd_kafka_topic_partition_list_t *parts = NULL;
    int rc = -1;
    rd_kafka_resp_err_t e = rd_kafka_metadata(fd->rk, 0, rkt, &md, timeout_ms);
    if (e) {
        snprintf(err, errsz, "cannot read metadata of topic %s: %s", fd->topic, rd_kafka_err2str(e));
        goto out;
    }
    if (md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt == 0) {
        snprintf(err, errsz, "topic %s does not exist: create the ispeed topics or check --topic-prefix",
                 fd->topic);
        goto out;
    }
    fd->npart = md->topics[0].partition_cnt;
    free(fd->next);
    if (!(fd->next = malloc(fd->npart * sizeof *fd->next))) {
        snprintf(err, errsz, "out of memory");
        goto out;
    }
    parts = rd_kafka_topic_partition_list_new(fd->npart);
    for (int32_t p = 0; p < fd->npart; p++) {
        fd->next[p] = -1;
        rd_kafka_topic_partition_list_add(parts, fd->topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    if ((e = rd_kafka_assign(fd->rk, parts))) {
        snprintf(err, errsz, "cannot assign topic %s: %s", fd->topic, rd_kafka_err2str(e));
        goto out;
    }
    rc = 0;
out:
    if (parts) rd_kafka_topic_partition_list_destroy(parts);
    if (md) rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return rc;
}

static void handle(feed_t *fd, rd_kafka_message_t *msg) {
    if (msg->err) {
        if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            log_warn("collector", "reading %s: %s", fd->topic, rd_kafka_message_errstr(msg));
        return;
    }
    if (msg->partition >= 0 && msg->partition < fd->npart) fd->next[msg->partition] = msg->offset + 1;
    fd->apply(msg, fd->ctx);
}

size_t feed_poll(feed_t *fd, size_t max) {
    size_t n = 0;
    rd_kafka_message_t *msg;
    while (n < max && (msg = rd_kafka_consumer_poll(fd->rk, 0))) {
        handle(fd, msg);
        rd_kafka_message_destroy(msg);
        n++;
    }
    return n;
}

int feed_catch_up(feed_t *fd, int timeout_ms, char *err, size_t errsz) {
    /* A deadline on the monotonic clock: it must not move with the wall clock. */
    int64_t deadline = vntime_mono_us() / 1000 + timeout_ms;
    int64_t *high = calloc(fd->npart ? fd->npart : 1, sizeof *high);
    int rc = -1;
    if (!high) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    for (int32_t p = 0; p < fd->npart; p++) {
        int64_t lo, hi;
        rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(fd->rk, fd->topic, p, &lo, &hi, timeout_ms);
        if (e) {
            snprintf(err, errsz, "cannot query the end of %s [%d]: %s", fd->topic, p, rd_kafka_err2str(e));
            goto out;
        }
        /* An empty partition (or one whose records all expired) has nothing to
         * wait for. */
        high[p] = hi > lo ? hi : -1;
    }
    for (;;) {
        int behind = 0;
        for (int32_t p = 0; p < fd->npart; p++)
            if (high[p] >= 0 && fd->next[p] < high[p]) behind = 1;
        if (!behind) break;
        int64_t left = deadline - vntime_mono_us() / 1000;
        if (left <= 0) {
            snprintf(err, errsz, "%s not read to its end within %d ms", fd->topic, timeout_ms);
            goto out;
        }
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(fd->rk, left > 100 ? 100 : (int)left);
        if (msg) {
            handle(fd, msg);
            rd_kafka_message_destroy(msg);
        }
    }
    rc = 0;
out:
    free(high);
    return rc;
}
