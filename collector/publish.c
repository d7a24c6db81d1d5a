/* Encoding of quota states and alerts, and the producer that carries them and
 * the DLQ. */
#include "publish.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ispeed.pb-c.h"
#include "log.h"
#include "pbnames.h"
#include "vntime.h"

struct publish {
    rd_kafka_t *rk;
    char prefix[128];
    char alerts_topic[192];
    char dlq_topic[192];
    metrics_t *m;
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque) {
    (void)rk;
    publish_t *pb = opaque;
    if (msg->err) {
        /* Nothing is committed on the input, so a restart replays and
         * re-publishes; the log line says what was lost until then. */
        metrics_inc(pb->m, M_PRODUCE_ERRORS);
        log_error("collector", "delivery failed topic=%s key=%.*s error=\"%s\"", rd_kafka_topic_name(msg->rkt),
                  (int)(msg->key_len > 64 ? 64 : msg->key_len), msg->key ? (const char *)msg->key : "",
                  rd_kafka_err2str(msg->err));
    }
}

publish_t *publish_new(const char *bootstrap, const kafka_props *props, const char *prefix, metrics_t *m,
                       char *err, size_t errsz) {
    rd_kafka_conf_t *conf = NULL;
    publish_t *pb = calloc(1, sizeof *pb);
    if (!pb) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    pb->m = m;
    snprintf(pb->prefix, sizeof pb->prefix, "%s", prefix);
    kafka_topic_name(pb->alerts_topic, sizeof pb->alerts_topic, prefix, "alerts");
    kafka_topic_name(pb->dlq_topic, sizeof pb->dlq_topic, prefix, "dlq");

    /* common/kafka's producer defaults (idempotent, acks=all, zstd at level
     * 1, linger 5 ms), then ours, then -X, so an operator can change any. */
    static const kafka_setting ours[] = {
        /* Batches of at most 128 KiB: the compressor's buffers scale with
         * the batch (3 brokers x ~4 MiB at the 1 MB default). */
        {"batch.size", "131072"},
        /* A checkpoint of a busy partition can pass the 1 MB default. */
        {"message.max.bytes", "16000000"},
    };
    if (!(conf = kafka_producer_conf_new(bootstrap, ours, sizeof ours / sizeof ours[0], props, err, errsz)))
        goto fail;
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, pb);
    if (!(pb->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errsz))) goto fail;
    return pb;
fail:
    if (conf) rd_kafka_conf_destroy(conf);
    free(pb);
    return NULL;
}

void publish_free(publish_t *pb, int timeout_ms) {
    if (!pb) return;
    if (pb->rk) {
        if (publish_flush(pb, timeout_ms) < 0)
            log_error("collector", "%d output record(s) not delivered at exit", rd_kafka_outq_len(pb->rk));
        rd_kafka_destroy(pb->rk);
    }
    free(pb);
}

rd_kafka_t *publish_handle(publish_t *pb) { return pb->rk; }

void publish_poll(publish_t *pb) { rd_kafka_poll(pb->rk, 0); }

int publish_flush(publish_t *pb, int timeout_ms) {
    return rd_kafka_flush(pb->rk, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}

/* Produces a copy; on a full queue serves delivery reports for a moment and
 * tries again, so a burst slows the loop down instead of losing output. */
static int produce(publish_t *pb, const char *topic, const void *key, size_t keylen, const void *value, size_t len,
                   const char *reason, const char *source, char *err, size_t errsz) {
    rd_kafka_resp_err_t e;
    for (int attempt = 0;; attempt++) {
        if (reason)
            e = rd_kafka_producev(pb->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, keylen),
                                  RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_HEADER(PUBLISH_REASON_HEADER, reason, -1),
                                  RD_KAFKA_V_HEADER(PUBLISH_SOURCE_HEADER, source ? source : "", -1),
                                  RD_KAFKA_V_END);
        else
            e = rd_kafka_producev(pb->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, keylen),
                                  RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || attempt == 50) break;
        rd_kafka_poll(pb->rk, 100);
    }
    if (e) {
        metrics_inc(pb->m, M_PRODUCE_ERRORS);
        snprintf(err, errsz, "cannot produce to %s: %s", topic, rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

static Ispeed__V1__Level level_of(const registry_unit *u) { return (Ispeed__V1__Level)u->level; }

int publish_quota(publish_t *pb, const quota_status *st, char *err, size_t errsz) {
    Ispeed__V1__QuotaStatus q = ISPEED__V1__QUOTA_STATUS__INIT;
    char topic[192], key[96], month[8];
    /* Up to 10 operators of at most 32 bytes add about 480 bytes. */
    uint8_t buf[2048];
    Ispeed__V1__OperatorCount ops[QUOTA_OPERATORS_MAX], *opp[QUOTA_OPERATORS_MAX];
    memcpy(month, st->month, 8);
    for (size_t i = 0; i < st->n_operators && i < QUOTA_OPERATORS_MAX; i++) {
        ispeed__v1__operator_count__init(&ops[i]);
        ops[i].operator_ = (char *)st->operators[i].name;
        ops[i].count = st->operators[i].count;
        opp[i] = &ops[i];
    }
    q.n_operators = st->n_operators < QUOTA_OPERATORS_MAX ? st->n_operators : QUOTA_OPERATORS_MAX;
    q.operators = opp;
    q.unit = (char *)st->unit->code;
    q.name = (char *)st->unit->name;
    q.level = level_of(st->unit);
    q.parent = st->unit->parent ? (char *)st->unit->parent->code : "";
    q.province = (char *)st->unit->province->code;
    q.month = month;
    q.network = (Ispeed__V1__Network)st->network;
    q.count = st->count;
    q.target = st->target;
    q.expected = st->expected;
    q.state = (Ispeed__V1__QuotaState)st->state;
    q.projection = st->projection;
    q.updated_ms = st->updated_ms;
    q.late_count = st->late_count;
    q.unattested_count = st->unattested_count;
    q.count_5g = st->count_5g;
    q.median_download_bps = st->median_download_bps;
    q.median_upload_bps = st->median_upload_bps;
    q.median_latency_ms = st->median_latency_ms;
    q.distinct_agents = st->agents;
    q.needed = st->demand.needed;
    q.days_left = st->demand.days_left;
    q.rate_needed = st->demand.rate_needed;
    q.rate_current = st->demand.rate_current;
    q.will_make_it = st->demand.will_make_it ? 1 : 0;
    size_t n = ispeed__v1__quota_status__get_packed_size(&q);
    if (n > sizeof buf) {
        snprintf(err, errsz, "QuotaStatus of %s is %zu bytes", st->unit->code, n);
        return -1;
    }
    ispeed__v1__quota_status__pack(&q, buf);
    char qname[64];
    snprintf(qname, sizeof qname, "quota.%s", st->unit->province->code);
    kafka_topic_name(topic, sizeof topic, pb->prefix, qname);
    int klen = snprintf(key, sizeof key, "%s/%s/%s", st->unit->code, month, pbnames_network((int)st->network));
    if (produce(pb, topic, key, (size_t)klen, buf, n, NULL, NULL, err, errsz) < 0) return -1;
    metrics_inc(pb->m, M_QUOTA_UPDATES);
    return 0;
}

int publish_alert(publish_t *pb, const quota_alert *a, char *err, size_t errsz) {
    Ispeed__V1__Alert al = ISPEED__V1__ALERT__INIT;
    const quota_status *st = &a->status;
    char month[8];
    uint8_t buf[512];
    memcpy(month, st->month, 8);
    al.unit = (char *)st->unit->code;
    al.name = (char *)st->unit->name;
    al.level = level_of(st->unit);
    al.province = (char *)st->unit->province->code;
    al.month = month;
    al.network = (Ispeed__V1__Network)st->network;
    al.from_state = (Ispeed__V1__QuotaState)a->from;
    al.to_state = (Ispeed__V1__QuotaState)st->state;
    al.count = st->count;
    al.expected = st->expected;
    al.target = st->target;
    al.projection = st->projection;
    al.time_ms = st->updated_ms;
    al.parent = st->unit->parent ? (char *)st->unit->parent->code : "";
    size_t n = ispeed__v1__alert__get_packed_size(&al);
    if (n > sizeof buf) {
        snprintf(err, errsz, "Alert of %s is %zu bytes", st->unit->code, n);
        return -1;
    }
    ispeed__v1__alert__pack(&al, buf);
    if (produce(pb, pb->alerts_topic, st->unit->code, strlen(st->unit->code), buf, n, NULL, NULL, err, errsz) < 0)
        return -1;
    metrics_inc(pb->m, M_ALERTS);
    return 0;
}

int publish_dlq(publish_t *pb, const void *key, size_t keylen, const void *value, size_t len, const char *reason,
                const char *source, char *err, size_t errsz) {
    if (produce(pb, pb->dlq_topic, key, keylen, value, len, reason, source, err, errsz) < 0) return -1;
    metrics_inc(pb->m, M_DLQ);
    return 0;
}

int publish_checkpoint(publish_t *pb, const char *key, const void *value, size_t len, char *err, size_t errsz) {
    char topic[192];
    kafka_topic_name(topic, sizeof topic, pb->prefix, "collector.state");
    if (produce(pb, topic, key, strlen(key), value, len, NULL, NULL, err, errsz) < 0) return -1;
    metrics_inc(pb->m, M_CHECKPOINTS);
    return 0;
}

int publish_digest(publish_t *pb, const registry_unit *province, const char *day, const quota_status *behind,
                   size_t n, int64_t now_ms, char *err, size_t errsz) {
    Ispeed__V1__Digest d = ISPEED__V1__DIGEST__INIT;
    Ispeed__V1__Alert *items = calloc(n ? n : 1, sizeof *items);
    Ispeed__V1__Alert **ptrs = calloc(n ? n : 1, sizeof *ptrs);
    char topic[192], month[8];
    uint8_t *buf = NULL;
    int rc = -1;
    if (!items || !ptrs) {
        snprintf(err, errsz, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const quota_status *st = &behind[i];
        Ispeed__V1__Alert *a = &items[i];
        ispeed__v1__alert__init(a);
        a->unit = (char *)st->unit->code;
        a->name = (char *)st->unit->name;
        a->level = level_of(st->unit);
        a->province = (char *)st->unit->province->code;
        a->parent = st->unit->parent ? (char *)st->unit->parent->code : "";
        a->month = (char *)st->month;
        a->network = (Ispeed__V1__Network)st->network;
        a->from_state = ISPEED__V1__QUOTA_STATE__QUOTA_STATE_BEHIND;
        a->to_state = ISPEED__V1__QUOTA_STATE__QUOTA_STATE_BEHIND;
        a->count = st->count;
        a->expected = st->expected;
        a->target = st->target;
        a->projection = st->projection;
        a->time_ms = now_ms;
        ptrs[i] = a;
    }
    vntime_month(now_ms, month);
    d.province = (char *)province->code;
    d.day = (char *)day;
    d.month = month;
    d.time_ms = now_ms;
    d.n_behind = n;
    d.behind = ptrs;
    size_t len = ispeed__v1__digest__get_packed_size(&d);
    if (!(buf = malloc(len ? len : 1))) {
        snprintf(err, errsz, "out of memory");
        goto out;
    }
    ispeed__v1__digest__pack(&d, buf);
    char name[64], key[64];
    snprintf(name, sizeof name, "digest.%s", province->code);
    kafka_topic_name(topic, sizeof topic, pb->prefix, name);
    snprintf(key, sizeof key, "%s/%s", province->code, day);
    rc = produce(pb, topic, key, strlen(key), buf, len, NULL, NULL, err, errsz);
out:
    free(buf);
    free(ptrs);
    free(items);
    return rc;
}
