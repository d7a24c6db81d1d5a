/* A group-less Kafka reader: assign every partition at OFFSET_BEGINNING,
 * note the high watermarks, deliver until each is reached (or forever, or
 * in small steps for an event loop). */
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
    char *name;      /* log component */
    char **topics;   /* the topics read, ntopics of them */
    size_t ntopics;
    int npart;       /* partitions of all topics together */
    int *tidx;       /* topic of each partition, an index into topics */
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
    free(tr->tidx);
    free(tr->name);
    for (size_t i = 0; i < tr->ntopics; i++) free(tr->topics[i]);
    free(tr->topics);
    free(tr);
}

/* Partitions of the topics from one full metadata answer. Asking for all
 * topics rather than these keeps a broker with auto-creation from creating a
 * topic just because we looked. */

/* A cluster with ACLs leaves the topics a principal may not describe out of
 * an all-topics metadata answer; asked for by name, it says why. */
static int topic_denied(rd_kafka_t *rk, const char *name) {
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, name, NULL);
    int denied = 0;
    if (!rkt) return 0;
    if (rd_kafka_metadata(rk, 0, rkt, &md, TOPIC_READER_TIMEOUT_MS) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        denied = md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED;
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_topic_destroy(rkt);
    return denied;
}

static int find_partitions(topic_reader_t *tr, int *code, char *err, size_t errsz) {
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(tr->rk, 1, NULL, &md, TOPIC_READER_TIMEOUT_MS);
    if (e) {
        snprintf(err, errsz, "cannot read metadata of topic %s: %s", tr->topics[0], rd_kafka_err2str(e));
        *code = TOPIC_READER_UNREACHABLE;
        return -1;
    }
    const struct rd_kafka_metadata_topic **found = calloc(tr->ntopics, sizeof *found);
    if (!found) {
        snprintf(err, errsz, "out of memory");
        *code = TOPIC_READER_ERR;
        goto fail;
    }
    for (size_t k = 0; k < tr->ntopics; k++) {
        const struct rd_kafka_metadata_topic *t = NULL;
        for (int i = 0; i < md->topic_cnt; i++)
            if (strcmp(md->topics[i].topic, tr->topics[k]) == 0) t = &md->topics[i];
        if (!t && topic_denied(tr->rk, tr->topics[k])) {
            snprintf(err, errsz, "topic %s: %s (this principal may not read it: see ispeedctl acl apply)",
                     tr->topics[k], rd_kafka_err2str(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED));
            *code = TOPIC_READER_ERR;
            goto fail;
        }
        if (!t || t->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || t->partition_cnt == 0) {
            snprintf(err, errsz, "no topic %s", tr->topics[k]);
            *code = TOPIC_READER_NO_TOPIC;
            goto fail;
        }
        if (t->err) {
            snprintf(err, errsz, "topic %s: %s", tr->topics[k], rd_kafka_err2str(t->err));
            *code = TOPIC_READER_ERR;
            goto fail;
        }
        found[k] = t;
        tr->npart += t->partition_cnt;
    }
    tr->tidx = calloc((size_t)tr->npart, sizeof *tr->tidx);
    tr->part = calloc((size_t)tr->npart, sizeof *tr->part);
    tr->high = calloc((size_t)tr->npart, sizeof *tr->high);
    tr->next = calloc((size_t)tr->npart, sizeof *tr->next);
    tr->done = calloc((size_t)tr->npart, sizeof *tr->done);
    if (!tr->tidx || !tr->part || !tr->high || !tr->next || !tr->done) {
        snprintf(err, errsz, "out of memory");
        *code = TOPIC_READER_ERR;
        goto fail;
    }
    int j = 0;
    for (size_t k = 0; k < tr->ntopics; k++)
        for (int i = 0; i < found[k]->partition_cnt; i++, j++) {
            tr->tidx[j] = (int)k;
            tr->part[j] = found[k]->partitions[i].id;
        }
    free(found);
    rd_kafka_metadata_destroy(md);
    return 0;
fail:
    free(found);
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
void topic_reader_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    (void)rk;
    log_debug("rdkafka", "level=%d %s: %s", level, fac, buf);
}

/* A group-less consumer that has seen a broker answer. */
static rd_kafka_t *make_consumer(const char *bootstrap, const kafka_props *props, const topic_reader_opts *opts,
                                 const char *topic, int *code, char *err, size_t errsz) {
    char rderr[512];
    rd_kafka_t *rk = NULL;
    rd_kafka_conf_t *conf = kafka_conf_new(bootstrap, props, err, errsz);
    *code = TOPIC_READER_ERR;
    if (!conf) return NULL;
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
    if (opts->fetch_wait_max_ms > 0 && !props_has(props, "fetch.wait.max.ms")) {
        char v[16];
        snprintf(v, sizeof v, "%d", opts->fetch_wait_max_ms);
        if (kafka_conf_set(conf, "fetch.wait.max.ms", v, err, errsz) < 0) goto fail;
    }
    if (opts->queue_kbytes > 0) {
        char kb[16], bytes[24];
        snprintf(kb, sizeof kb, "%d", opts->queue_kbytes);
        snprintf(bytes, sizeof bytes, "%lld", (long long)opts->queue_kbytes * 1024);
        if ((!props_has(props, "queued.max.messages.kbytes") &&
             kafka_conf_set(conf, "queued.max.messages.kbytes", kb, err, errsz) < 0) ||
            (!props_has(props, "fetch.max.bytes") && kafka_conf_set(conf, "fetch.max.bytes", bytes, err, errsz) < 0))
            goto fail;
    }
    rd_kafka_conf_set_log_cb(conf, topic_reader_log);
    /* librdkafka refuses assign() without a group id, even though nothing
     * joins a group or commits here; a -X group.id given by the user stays. */
    char gid[128];
    size_t gidsz = sizeof gid;
    if (rd_kafka_conf_get(conf, "group.id", gid, &gidsz) != RD_KAFKA_CONF_OK || gid[0] == '\0') {
        if (opts->name)
            snprintf(gid, sizeof gid, "%s.%s", opts->name, topic);
        else
            snprintf(gid, sizeof gid, "ispeedctl-%ld", (long)getpid());
        if (kafka_conf_set(conf, "group.id", gid, err, errsz) < 0) goto fail;
    }
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, rderr, sizeof rderr);
    if (!rk) {
        snprintf(err, errsz, "cannot create Kafka consumer: %s", rderr);
        goto fail;
    }
    conf = NULL; /* owned by rk now */
    if (kafka_check_reachable(rk, bootstrap, TOPIC_READER_TIMEOUT_MS, err, errsz) < 0) {
        *code = TOPIC_READER_UNREACHABLE;
        rd_kafka_destroy(rk);
        return NULL;
    }
    return rk;
fail:
    if (conf) rd_kafka_conf_destroy(conf);
    return NULL;
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int topic_reader_list(const char *bootstrap, const kafka_props *props, const char *prefix, char ***names,
                      size_t *n, int *code, char *err, size_t errsz) {
    const struct rd_kafka_metadata *md = NULL;
    size_t plen = strlen(prefix), k = 0;
    char **out = NULL;
    *names = NULL;
    *n = 0;
    rd_kafka_t *rk = make_consumer(bootstrap, props, &(topic_reader_opts){0}, prefix, code, err, errsz);
    if (!rk) return -1;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, NULL, &md, TOPIC_READER_TIMEOUT_MS);
    if (e) {
        snprintf(err, errsz, "cannot list topics: %s", rd_kafka_err2str(e));
        *code = TOPIC_READER_UNREACHABLE;
        goto fail;
    }
    out = calloc((size_t)md->topic_cnt + 1, sizeof *out);
    if (!out) goto oom;
    for (int i = 0; i < md->topic_cnt; i++) {
        const struct rd_kafka_metadata_topic *t = &md->topics[i];
        if (t->err || t->partition_cnt == 0 || strncmp(t->topic, prefix, plen) != 0) continue;
        if (!(out[k] = strdup(t->topic))) goto oom;
        k++;
    }
    if (k > 1) qsort(out, k, sizeof *out, by_name);
    rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    *names = out;
    *n = k;
    return 0;
oom:
    snprintf(err, errsz, "out of memory");
    *code = TOPIC_READER_ERR;
fail:
    for (size_t i = 0; out && i < k; i++) free(out[i]);
    free(out);
    if (md) rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    return -1;
}

static topic_reader_t *reader_new(const char *bootstrap, const kafka_props *props, const char *const *topics,
                                  size_t ntopics, const topic_reader_opts *opts, int *code, char *err, size_t errsz);

topic_reader_t *topic_reader_new(const char *bootstrap, const kafka_props *props, const char *topic, int *code,
                                 char *err, size_t errsz) {
    const char *topics[1] = {topic};
    return reader_new(bootstrap, props, topics, 1, &(topic_reader_opts){0}, code, err, errsz);
}

topic_reader_t *topic_reader_new_opts(const char *bootstrap, const kafka_props *props, const char *topic,
                                      const topic_reader_opts *opts, int *code, char *err, size_t errsz) {
    const char *topics[1] = {topic};
    return reader_new(bootstrap, props, topics, 1, opts, code, err, errsz);
}

topic_reader_t *topic_reader_new_multi(const char *bootstrap, const kafka_props *props, const char *const *topics,
                                       size_t ntopics, int *code, char *err, size_t errsz) {
    return reader_new(bootstrap, props, topics, ntopics, &(topic_reader_opts){0}, code, err, errsz);
}

static topic_reader_t *reader_new(const char *bootstrap, const kafka_props *props, const char *const *topics,
                                  size_t ntopics, const topic_reader_opts *opts, int *code, char *err, size_t errsz) {
    rd_kafka_topic_partition_list_t *parts = NULL;
    topic_reader_t *tr = calloc(1, sizeof *tr);
    *code = TOPIC_READER_ERR;
    if (!tr || ntopics == 0 || !(tr->topics = calloc(ntopics, sizeof *tr->topics)) ||
        !(tr->name = strdup(opts->name ? opts->name : "ispeedctl"))) {
        snprintf(err, errsz, ntopics ? "out of memory" : "no topic to read");
        goto fail;
    }
    for (size_t k = 0; k < ntopics; k++, tr->ntopics++)
        if (!(tr->topics[k] = strdup(topics[k]))) {
            snprintf(err, errsz, "out of memory");
            goto fail;
        }
    if (!(tr->rk = make_consumer(bootstrap, props, opts, topics[0], code, err, errsz))) goto fail;
    if (find_partitions(tr, code, err, errsz) < 0) goto fail;

    parts = rd_kafka_topic_partition_list_new(tr->npart);
    for (int i = 0; i < tr->npart; i++) {
        int64_t lo = 0, hi = 0;
        const char *t = tr->topics[tr->tidx[i]];
        rd_kafka_resp_err_t e =
            rd_kafka_query_watermark_offsets(tr->rk, t, tr->part[i], &lo, &hi, TOPIC_READER_TIMEOUT_MS);
        if (e) {
            snprintf(err, errsz, "cannot read the end of %s [%d]: %s", t, (int)tr->part[i], rd_kafka_err2str(e));
            *code = e == RD_KAFKA_RESP_ERR__TRANSPORT || e == RD_KAFKA_RESP_ERR__TIMED_OUT
                        ? TOPIC_READER_UNREACHABLE
                        : TOPIC_READER_ERR;
            goto fail;
        }
        tr->high[i] = hi;
        tr->next[i] = lo;
        tr->done[i] = hi <= lo;
        rd_kafka_topic_partition_list_add(parts, t, tr->part[i])->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_resp_err_t e = rd_kafka_assign(tr->rk, parts);
    if (e) {
        snprintf(err, errsz, "cannot assign %s: %s", tr->topics[0], rd_kafka_err2str(e));
        *code = TOPIC_READER_ERR;
        goto fail;
    }
    rd_kafka_topic_partition_list_destroy(parts);
    return tr;
fail:
    if (parts) rd_kafka_topic_partition_list_destroy(parts);
    topic_reader_free(tr);
    return NULL;
}

static int index_of(const topic_reader_t *tr, const char *topic, int32_t partition) {
    for (int i = 0; i < tr->npart; i++)
        if (tr->part[i] == partition && (tr->ntopics == 1 || strcmp(tr->topics[tr->tidx[i]], topic) == 0))
            return i;
    return -1;
}

static int all_done(const topic_reader_t *tr) {
    for (int i = 0; i < tr->npart; i++)
        if (!tr->done[i]) return 0;
    return 1;
}

/* The snapshot run dropped what lay past the start-time watermarks (and the
 * consumer's position moved past it); go back to the first message not yet
 * delivered so what follows misses nothing. Once: from then on the
 * consumer's position is next. */
static int resume_at_next(topic_reader_t *tr, char *err, size_t errsz) {
    if (!tr->snapshot_read) return 0;
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(tr->npart);
    for (int i = 0; i < tr->npart; i++)
        rd_kafka_topic_partition_list_add(parts, tr->topics[tr->tidx[i]], tr->part[i])->offset = tr->next[i];
    rd_kafka_error_t *e = rd_kafka_seek_partitions(tr->rk, parts, TOPIC_READER_TIMEOUT_MS);
    int rc = 0;
    if (e) {
        snprintf(err, errsz, "cannot seek %s: %s", tr->topics[0], rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        rc = -1;
    }
    for (int i = 0; rc == 0 && i < parts->cnt; i++) {
        if (parts->elems[i].err) {
            snprintf(err, errsz, "cannot seek %s [%d]: %s", parts->elems[i].topic, (int)parts->elems[i].partition,
                     rd_kafka_err2str(parts->elems[i].err));
            rc = -1;
        }
    }
    rd_kafka_topic_partition_list_destroy(parts);
    if (rc == 0) tr->snapshot_read = 0;
    return rc;
}

/* What one message of the consumer came to. */
enum take {
    TAKE_RETRY,     /* a connection error librdkafka retries by itself */
    TAKE_PROGRESS,  /* the end of a partition, or a message left for later */
    TAKE_DELIVERED, /* cb had it */
};

/* Handles m and destroys it. snapshot: leave messages past the start-time
 * watermarks for a later run, so a snapshot shows one moment. Returns a
 * TAKE_* or a negative code (cb's, or TOPIC_READER_ERR with err). */
static int take(topic_reader_t *tr, rd_kafka_message_t *m, int snapshot, topic_reader_cb cb, void *opaque,
                char *err, size_t errsz) {
    int i = m->rkt ? index_of(tr, rd_kafka_topic_name(m->rkt), m->partition) : -1;
    int rc = TAKE_PROGRESS;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        /* The end may lie beyond the last delivered message (control
         * records of transactions are never delivered), so EOF past the
         * watermark also ends the partition. */
        if (i >= 0 && m->offset >= tr->high[i]) tr->done[i] = 1;
        /* Outside a snapshot (which leaves records past its watermarks
         * for later) everything before the end was delivered or is not to
         * be: control records and aborted transactions. Without this, a
         * later catch-up waited for an EOF librdkafka had already given (it
         * gives one per end offset): 10 s, each time the collector caught up. */
        if (!snapshot && i >= 0 && m->offset > tr->next[i]) tr->next[i] = m->offset;
    } else if (m->err == RD_KAFKA_RESP_ERR__TRANSPORT || m->err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        /* Broker connection errors are retried by librdkafka itself; only a
         * partition or topic error ends a read. */
        log_warn(tr->name, "topic=%s: %s", m->rkt ? rd_kafka_topic_name(m->rkt) : tr->topics[0],
                 rd_kafka_message_errstr(m));
        rc = TAKE_RETRY;
    } else if (m->err) {
        snprintf(err, errsz, "reading %s: %s", m->rkt ? rd_kafka_topic_name(m->rkt) : tr->topics[0],
                 rd_kafka_message_errstr(m));
        rc = TOPIC_READER_ERR;
    } else if (i >= 0 && snapshot && m->offset >= tr->high[i]) {
        tr->done[i] = 1;
    } else {
        if (i >= 0) {
            tr->next[i] = m->offset + 1;
            if (tr->next[i] >= tr->high[i]) tr->done[i] = 1;
        }
        rc = cb(m, opaque, err, errsz);
        if (rc >= 0) rc = TAKE_DELIVERED;
    }
    rd_kafka_message_destroy(m);
    return rc;
}

int topic_reader_run(topic_reader_t *tr, int follow, volatile sig_atomic_t *stop, topic_reader_cb cb,
                     void *opaque, char *err, size_t errsz) {
    int64_t last_progress = vntime_mono_us() / 1000;
    if (follow && resume_at_next(tr, err, errsz) < 0) return TOPIC_READER_ERR;
    while (!(stop && *stop)) {
        if (!follow && all_done(tr)) break;
        /* Short polls so a signal is noticed promptly. */
        rd_kafka_message_t *m = rd_kafka_consumer_poll(tr->rk, 200);
        if (!m) {
            if (!follow && vntime_mono_us() / 1000 - last_progress > TOPIC_READER_STALL_MS) {
                snprintf(err, errsz, "reading %s made no progress for %d s; check that the brokers are up",
                         tr->topics[0], TOPIC_READER_STALL_MS / 1000);
                return TOPIC_READER_UNREACHABLE;
            }
            continue;
        }
        int rc = take(tr, m, !follow, cb, opaque, err, errsz);
        if (rc < 0) return rc;
        if (rc != TAKE_RETRY) last_progress = vntime_mono_us() / 1000;
    }
    if (!follow) tr->snapshot_read = 1;
    return 0;
}

int topic_reader_poll(topic_reader_t *tr, size_t max, topic_reader_cb cb, void *opaque, char *err, size_t errsz) {
    int n = 0;
    rd_kafka_message_t *m;
    if (resume_at_next(tr, err, errsz) < 0) return TOPIC_READER_ERR;
    /* An EOF or a retried error counts against max too: the loop's turn
     * stays bounded whatever the consumer queue holds. */
    for (size_t k = 0; k < max && (m = rd_kafka_consumer_poll(tr->rk, 0)); k++) {
        int rc = take(tr, m, 0, cb, opaque, err, errsz);
        if (rc < 0) return rc;
        if (rc == TAKE_DELIVERED) n++;
    }
    return n;
}

int topic_reader_catch_up(topic_reader_t *tr, int timeout_ms, topic_reader_cb cb, void *opaque, char *err,
                          size_t errsz) {
    /* A deadline on the monotonic clock: it must not move with the wall
     * clock (nor with ISPEED_NOW). */
    int64_t deadline = vntime_mono_us() / 1000 + timeout_ms;
    if (resume_at_next(tr, err, errsz) < 0) return TOPIC_READER_ERR;
    for (int i = 0; i < tr->npart; i++) {
        int64_t lo = 0, hi = 0;
        const char *t = tr->topics[tr->tidx[i]];
        rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(tr->rk, t, tr->part[i], &lo, &hi, timeout_ms);
        if (e) {
            snprintf(err, errsz, "cannot read the end of %s [%d]: %s", t, (int)tr->part[i], rd_kafka_err2str(e));
            return e == RD_KAFKA_RESP_ERR__TRANSPORT || e == RD_KAFKA_RESP_ERR__TIMED_OUT ? TOPIC_READER_UNREACHABLE
                                                                                           : TOPIC_READER_ERR;
        }
        /* An empty partition, or one whose records all expired, has
         * nothing to wait for. */
        tr->high[i] = hi;
        tr->done[i] = hi <= lo || tr->next[i] >= hi;
    }
    while (!all_done(tr)) {
        int64_t left = deadline - vntime_mono_us() / 1000;
        if (left <= 0) {
            snprintf(err, errsz, "%s not read to its end within %d ms", tr->topics[0], timeout_ms);
            return TOPIC_READER_UNREACHABLE;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(tr->rk, left > 100 ? 100 : (int)left);
        if (!m) continue;
        int rc = take(tr, m, 0, cb, opaque, err, errsz);
        if (rc < 0) return rc;
    }
    return 0;
}
