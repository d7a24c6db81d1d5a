/* Reading the commune's QuotaStatus: assign, poll, keep the latest. Not on
 * common/topic_reader: that one connects (and waits for a broker) when it is
 * made, and the agent's loop must never wait while Kafka is away; this
 * consumer is made once, offline, and assigns when the topic shows up. */
#include "quotafeed.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ispeed.pb-c.h"
#include "log.h"
#include "vntime.h"

#define QUOTAFEED_RETRY_MS 10000
#define QUOTAFEED_METADATA_MS 200 /* the loop waits this long at most, once per retry */
#define QUOTAFEED_BATCH 4096

struct quotafeed {
    rd_kafka_t *rk;
    char topic[256];
    char commune[32];
    int assigned;
    int64_t last_try_ms;
    schedule_demand d[2]; /* [0] fixed, [1] mobile; month inside */
};

quotafeed_t *quotafeed_new(const char *bootstrap, const kafka_props *props, const char *prefix, const char *province,
                           const char *commune, char *err, size_t errsz) {
    char rderr[512], gid[64];
    quotafeed_t *qf = calloc(1, sizeof *qf);
    rd_kafka_conf_t *conf = NULL;
    if (!qf) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    char name[128];
    snprintf(name, sizeof name, "quota.%s", province);
    kafka_topic_name(qf->topic, sizeof qf->topic, prefix, name);
    snprintf(qf->commune, sizeof qf->commune, "%s", commune);
    if (!(conf = kafka_conf_new(bootstrap, props, err, errsz))) goto fail;
    /* A reader, not a group member: nothing is committed and nothing joins
     * a group (librdkafka wants a group id for assign() all the same). */
    snprintf(gid, sizeof gid, "ispeed-agent-demand-%ld", (long)getpid());
    if (kafka_conf_set(conf, "enable.auto.commit", "false", err, errsz) < 0 ||
        kafka_conf_set(conf, "enable.auto.offset.store", "false", err, errsz) < 0 ||
        kafka_conf_set(conf, "auto.offset.reset", "earliest", err, errsz) < 0 ||
        kafka_conf_set(conf, "group.id", gid, err, errsz) < 0)
        goto fail;
    if (!(qf->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, rderr, sizeof rderr))) {
        snprintf(err, errsz, "cannot create the demand consumer: %s", rderr);
        goto fail;
    }
    return qf;
fail:
    if (conf && !qf->rk) rd_kafka_conf_destroy(conf);
    quotafeed_free(qf);
    return NULL;
}

void quotafeed_free(quotafeed_t *qf) {
    if (!qf) return;
    if (qf->rk) {
        if (qf->assigned) rd_kafka_assign(qf->rk, NULL);
        rd_kafka_destroy(qf->rk);
    }
    free(qf);
}

/* Assigns every partition of the topic from the beginning: the compacted
 * topic's latest value per key is what is read last. */
static int try_assign(quotafeed_t *qf) {
    rd_kafka_topic_t *t = rd_kafka_topic_new(qf->rk, qf->topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    int rc = -1;
    if (!t) return -1;
    if (rd_kafka_metadata(qf->rk, 0, t, &md, QUOTAFEED_METADATA_MS) != RD_KAFKA_RESP_ERR_NO_ERROR) goto out;
    if (md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt <= 0) goto out;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
    for (int i = 0; i < md->topics[0].partition_cnt; i++)
        rd_kafka_topic_partition_list_add(l, qf->topic, md->topics[0].partitions[i].id)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    if (rd_kafka_assign(qf->rk, l) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        qf->assigned = 1;
        rc = 0;
        log_info("agent", "reading demand topic=%s partitions=%d commune=%s", qf->topic, l->cnt, qf->commune);
    }
    rd_kafka_topic_partition_list_destroy(l);
out:
    if (md) rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(t);
    return rc;
}

/* Keys are "<unit>/<YYYY-MM>/<fixed|mobile>"; only the commune's matter. */
static int take(quotafeed_t *qf, const rd_kafka_message_t *m) {
    size_t cl = strlen(qf->commune);
    if (!m->key || !m->payload || m->key_len < cl + 1 || memcmp(m->key, qf->commune, cl) != 0 ||
        ((const char *)m->key)[cl] != '/')
        return 0;
    Ispeed__V1__QuotaStatus *q = ispeed__v1__quota_status__unpack(NULL, m->len, m->payload);
    if (!q) return 0;
    int changed = 0;
    if ((q->network == ISPEED__V1__NETWORK__NETWORK_FIXED || q->network == ISPEED__V1__NETWORK__NETWORK_MOBILE) &&
        q->month && strlen(q->month) == 7 && q->unit && strcmp(q->unit, qf->commune) == 0) {
        schedule_demand *d = &qf->d[q->network == ISPEED__V1__NETWORK__NETWORK_MOBILE];
        /* An older month's record read after a newer one is not news. */
        if (!d->known || strcmp(q->month, d->month) >= 0) {
            schedule_demand n = {.known = 1, .state = (int)q->state, .count = q->count, .target = q->target,
                                 .agents = q->distinct_agents};
            memcpy(n.month, q->month, 8);
            changed = memcmp(&n, d, sizeof n) != 0;
            *d = n;
        }
    }
    ispeed__v1__quota_status__free_unpacked(q, NULL);
    return changed;
}

int quotafeed_poll(quotafeed_t *qf, int64_t now_ms) {
    if (!qf->assigned) {
        if (now_ms - qf->last_try_ms < QUOTAFEED_RETRY_MS) return 0;
        qf->last_try_ms = now_ms;
        if (try_assign(qf) < 0) return 0;
    }
    int changed = 0;
    for (int i = 0; i < QUOTAFEED_BATCH; i++) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(qf->rk, 0);
        if (!m) break;
        if (!m->err)
            changed |= take(qf, m);
        else if (m->err != RD_KAFKA_RESP_ERR__TRANSPORT && m->err != RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
            /* Connection errors are librdkafka's to retry; the others (a
             * denied topic, say) leave the agent on its static policy. */
            log_warn("agent", "reading demand topic=%s: %s", qf->topic, rd_kafka_message_errstr(m));
        rd_kafka_message_destroy(m);
    }
    return changed;
}

void quotafeed_get(const quotafeed_t *qf, int network, const char *month, schedule_demand *d) {
    memset(d, 0, sizeof *d);
    if (!qf) return;
    const schedule_demand *s = &qf->d[network == 2];
    if (s->known && strcmp(s->month, month) == 0) *d = *s;
}
