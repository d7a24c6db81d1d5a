/* A group-less Kafka reader: assign every partition at OFFSET_BEGINNING,
 * note the high watermarks, deliver until each is reached (or forever). */
#include "topic_reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "vntime.h"

#define TOPIC_READER_TIMEOUT_MS 10000
/* A snapshot read that makes no progress for this long is stuck (a broker
 * went away mid-read); say so instead of hanging. */
#define TOPIC_READER_STALL_MS 30000

struct topic_reader {
    rd_kafka_t *rk;
    char *topic;
    int npart;
    int32_t *part;   /* partition ids */
    int64_t *high;   /* high watermark at start */
    int64_t *next;   /* next offset to read (last delivered + 1) */
    int *done;       /* reached high */
    int snapshot_read; /* a snapshot run ended: a follow run resumes at next */
};

void topic_reader_free(topic_reader_t *tr) {
    if (!tr) return;
    if (tr->rk) {
        rd_kafka_assign(tr->rk, NULL);
        rd_kafka_consumer_close(tr->rk);
        rd_kafka_destroy(tr->rk);
    }
    free(tr->done);
    free(tr->next);
    free(tr->high);
    free(tr->part);
    free(tr->topic);
    free(tr);
}

/* Partitions of topic from a full metadata answer. Asking for all topics
 * rather than this one keeps a broker with auto-creation from creating the
 * topic just because we looked. */
static int find_partitions(topic_reader_t *tr, int *code, char *err, size_t errsz) {
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(tr->rk, 1, NULL, &md, TOPIC_READER_TIMEOUT_MS);
    if (e) {
        snprintf(err, errsz, "cannot read metadata of topic %s: %s", tr->topic, rd_kafka_err2str(e));
        *code = TOPIC_READER_UNREACHABLE;
        return -1;
    }
    const struct rd_kafka_metadata_topic *t = NULL;
    for (int i = 0; i < md->topic_cnt; i++)
        if (strcmp(md->topics[i].topic, tr->topic) == 0) t = &md->topics[i];
    if (!t || t->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || t->partition_cnt == 0) {
        snprintf(err, errsz, "no topic %s", tr->topic);
        *code = TOPIC_READER_NO_TOPIC;
        goto fail;
    }
    if (t->err) {
        snprintf(err, errsz, "topic %s: %s", tr->topic, rd_kafka_err2str(t->err));
        *code = TOPIC_READER_ERR;
        goto fail;
    }
    tr->npart = t->partition_cnt;
    tr->part = calloc((size_t)tr->npart, sizeof *tr->part);
    tr->high = calloc((size_t)tr->npart, sizeof *tr->high);
    tr->next = calloc((size_t)tr->npart, sizeof *tr->next);
    tr->done = calloc((size_t)tr->npart, sizeof *tr->done);
    if (!tr->part || !tr->high || !tr->next || !tr->done) {
        snprintf(err, errsz, "out of memory");
        *code = TOPIC_READER_ERR;
        goto fail;
    }
    for (int i = 0; i < tr->npart; i++) tr->part[i] = t->partitions[i].id;
    rd_kafka_metadata_destroy(md);
    return 0;
fail:
    rd_kafka_metadata_destroy(md);
    return -1;
}

static int props_has(const kafka_props *props, const char *key) {
    for (size_t i = 0; props && i < props->n; i++)
        if (strcmp(props->key[i], key) == 0) return 1;
    return 0;
}

/* librdkafka's own lines (a refused connection, "all brokers down") would
 * bury the one-line error the user needs; they go to the debug log. */
static void on_rdkafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    (void)rk;
    log_debug("rdkafka", "level=%d %s: %s", level, fac, buf);
}

topic_reader_t *topic_reader_new(const char *bootstrap, const kafka_props *props, const char *topic, int *code,
                                 char *err, size_t errsz) {
    char rderr[512];
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_topic_partition_list_t *parts = NULL;
    topic_reader_t *tr = calloc(1, sizeof *tr);
    *code = TOPIC_READER_ERR;
    if (!tr || !(tr->topic = strdup(topic))) {
        snprintf(err, errsz, "out of memory");
        goto fail;
    }
    if (!(conf = kafka_conf_new(bootstrap, props, err, errsz))) goto fail;
    /* A reader, not a group member: nothing to commit, and the end of a
     * partition must be reported so a snapshot read knows when to stop. */
    if (kafka_conf_set(conf, "enable.auto.commit", "false", err, errsz) < 0 ||
        kafka_conf_set(conf, "enable.auto.offset.store", "false", err, errsz) < 0 ||
        kafka_conf_set(conf, "enable.partition.eof", "true", err, errsz) < 0)
        goto fail;
    /* A resumed offset the broker has dropped meanwhile (retention, or the
     * embedded Kafka's 5 MiB per partition) restarts at the oldest one left,
     * not at the end, unless -X said otherwise. */
    if (!props_has(props, "auto.offset.reset") &&
        kafka_conf_set(conf, "auto.offset.reset", "earliest", err, errsz) < 0)
        goto fail;
    rd_kafka_conf_set_log_cb(conf, on_rdkafka_log);
    /* librdkafka refuses assign() without a group id, even though nothing
     * joins a group or commits here; a -X group.id given by the user stays. */
    char gid[128];
    size_t gidsz = sizeof gid;
    if (rd_kafka_conf_get(conf, "group.id", gid, &gidsz) != RD_KAFKA_CONF_OK || gid[0] == '\0') {
        snprintf(gid, sizeof gid, "ispeedctl-%ld", (long)getpid());
        if (kafka_conf_set(conf, "group.id", gid, err, errsz) < 0) goto fail;
    }
    tr->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, rderr, sizeof rderr);
    if (!tr->rk) {
        snprintf(err, errsz, "cannot create Kafka consumer: %s", rderr);
        goto fail;
    }
    conf = NULL; /* owned by rk now */
    if (kafka_check_reachable(tr->rk, bootstrap, TOPIC_READER_TIMEOUT_MS, err, errsz) < 0) {
        *code = TOPIC_READER_UNREACHABLE;
        goto fail;
    }
    if (find_partitions(tr, code, err, errsz) < 0) goto fail;

    parts = rd_kafka_topic_partition_list_new(tr->npart);
    for (int i = 0; i < tr->npart; i++) {
        int64_t lo = 0, hi = 0;
        rd_kafka_resp_err_t e =
            rd_kafka_query_watermark_offsets(tr->rk, tr->topic, tr->part[i], &lo, &hi, TOPIC_READER_TIMEOUT_MS);
        if (e) {
            snprintf(err, errsz, "cannot read the end of %s [%d]: %s", tr->topic, (int)tr->part[i],
                     rd_kafka_err2str(e));
            *code = e == RD_KAFKA_RESP_ERR__TRANSPORT || e == RD_KAFKA_RESP_ERR__TIMED_OUT
                        ? TOPIC_READER_UNREACHABLE
                        : TOPIC_READER_ERR;
            goto fail;
        }
        tr->high[i] = hi;
        tr->next[i] = lo;
        tr->done[i] = hi <= lo;
        rd_kafka_topic_partition_list_add(parts, tr->topic, tr->part[i])->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_resp_err_t e = rd_kafka_assign(tr->rk, parts);
    if (e) {
        snprintf(err, errsz, "cannot assign %s: %s", tr->topic, rd_kafka_err2str(e));
        goto fail;
    }
    rd_kafka_topic_partition_list_destroy(parts);
    return tr;
fail:
    if (parts) rd_kafka_topic_partition_list_destroy(parts);
    if (conf) rd_kafka_conf_destroy(conf);
    topic_reader_free(tr);
    return NULL;
}

static int index_of(const topic_reader_t *tr, int32_t partition) {
    for (int i = 0; i < tr->npart; i++)
        if (tr->part[i] == partition) return i;
    return -1;
}

static int all_done(const topic_reader_t *tr) {
    for (int i = 0; i < tr->npart; i++)
        if (!tr->done[i]) return 0;
    return 1;
}

/* The snapshot run dropped what lay past the start-time watermarks (and the
 * consumer's position moved past it); go back to the first message not yet
 * delivered so a follow run misses nothing. */
static int resume_at_next(topic_reader_t *tr, char *err, size_t errsz) {
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(tr->npart);
    for (int i = 0; i < tr->npart; i++)
        rd_kafka_topic_partition_list_add(parts, tr->topic, tr->part[i])->offset = tr->next[i];
    rd_kafka_error_t *e = rd_kafka_seek_partitions(tr->rk, parts, TOPIC_READER_TIMEOUT_MS);
    int rc = 0;
    if (e) {
        snprintf(err, errsz, "cannot seek %s: %s", tr->topic, rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        rc = -1;
    }
    for (int i = 0; rc == 0 && i < parts->cnt; i++) {
        if (parts->elems[i].err) {
            snprintf(err, errsz, "cannot seek %s [%d]: %s", tr->topic, (int)parts->elems[i].partition,
                     rd_kafka_err2str(parts->elems[i].err));
            rc = -1;
        }
    }
    rd_kafka_topic_partition_list_destroy(parts);
    return rc;
}

int topic_reader_run(topic_reader_t *tr, int follow, volatile sig_atomic_t *stop, topic_reader_cb cb,
                     void *opaque, char *err, size_t errsz) {
    int64_t last_progress = vntime_now_ms();
    int rc = 0;
    if (follow && tr->snapshot_read && resume_at_next(tr, err, errsz) < 0) return TOPIC_READER_ERR;
    while (!(stop && *stop)) {
        if (!follow && all_done(tr)) break;
        /* Short polls so a signal is noticed promptly. */
        rd_kafka_message_t *m = rd_kafka_consumer_poll(tr->rk, 200);
        if (!m) {
            if (!follow && vntime_now_ms() - last_progress > TOPIC_READER_STALL_MS) {
                snprintf(err, errsz, "reading %s made no progress for %d s; check that the brokers are up",
                         tr->topic, TOPIC_READER_STALL_MS / 1000);
                return TOPIC_READER_UNREACHABLE;
            }
            continue;
        }
        int i = index_of(tr, m->partition);
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            /* The end may lie beyond the last delivered message (control
             * records of transactions are never delivered), so EOF past the
             * start-time watermark also ends the partition. */
            if (i >= 0 && m->offset >= tr->high[i]) tr->done[i] = 1;
            last_progress = vntime_now_ms();
            rd_kafka_message_destroy(m);
            continue;
        }
        if (m->err) {
            rd_kafka_resp_err_t e = m->err;
            /* Broker connection errors are retried by librdkafka itself;
             * only a partition or topic error ends the read. */
            if (e == RD_KAFKA_RESP_ERR__TRANSPORT || e == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
                log_warn("ispeedctl", "topic=%s: %s", tr->topic, rd_kafka_message_errstr(m));
                rd_kafka_message_destroy(m);
                continue;
            }
            snprintf(err, errsz, "reading %s: %s", tr->topic, rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            return TOPIC_READER_ERR;
        }
        last_progress = vntime_now_ms();
        if (i >= 0) {
            /* In a snapshot read, messages produced after the start are
             * left for a following run: what we print is one moment's view. */
            if (!follow && m->offset >= tr->high[i]) {
                tr->done[i] = 1;
                rd_kafka_message_destroy(m);
                continue;
            }
            tr->next[i] = m->offset + 1;
            if (tr->next[i] >= tr->high[i]) tr->done[i] = 1;
        }
        rc = cb(m, opaque, err, errsz);
        rd_kafka_message_destroy(m);
        if (rc < 0) return rc;
    }
    if (!follow) tr->snapshot_read = 1;
    return 0;
}
