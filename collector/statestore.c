/* The state store: each input partition's checkpoint on
 * <prefix>collector.state, written from the loop (periodically, at a revoke,
 * at shutdown), read back to its end and restored on assignment.
 *
 * Quota updates are published apart from checkpoints (outputs.c, every poll):
 * what the quota topics show may be ahead of the last checkpoint, and a
 * restart publishes nothing before it has caught up, so it re-publishes the
 * same keys with counts grown back to (and past) what was shown. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "collector.h"
#include "log.h"
#include "vntime.h"

struct blob {
    size_t len;
    uint8_t data[];
};

static void ckpt_key(const struct collector *c, int32_t p, char *out, size_t outsz) {
    snprintf(out, outsz, "%s/%d", c->samples_topic, (int)p);
}

/* Every record of <prefix>collector.state: the last one per key wins (the
 * embedded Kafka does not compact, a real one keeps at least the last). */
int state_keep(struct collector *c, const void *keyp, size_t keylen, const void *payload, size_t len) {
    char key[256];
    if (!keyp || keylen == 0 || keylen >= sizeof key) return 0; /* not a checkpoint of ours */
    memcpy(key, keyp, keylen);
    key[keylen] = '\0';
    if (!payload) {
        free(hashmap_remove(c->ckpts, key));
        return 0;
    }
    struct blob *b = malloc(sizeof *b + len);
    void *old = NULL;
    if (!b) goto oom;
    b->len = len;
    memcpy(b->data, payload, len);
    if (hashmap_put(c->ckpts, key, b, &old) < 0) {
        free(b);
        goto oom;
    }
    free(old);
    return 0;
oom:
    /* The key's previous record, if any, stays: restoring it and replaying
     * from its offset is slower but exact. Without one the partition is read
     * from the beginning. */
    metrics_inc(c->m, M_CHECKPOINT_FAIL_READ_OOM);
    log_error(COMP, "checkpoint record not kept (out of memory) key=%s bytes=%zu: the partition restores from an "
              "older checkpoint or the beginning", key, len);
    return -1;
}

/* Reads <prefix>collector.state from where the last read stopped to its end
 * (the high watermarks of this moment) into c->ckpts. The first read happens
 * at start, while the group join is still under way, so an assignment only
 * reads what was written since: a restart restores in well under a second.
 * The embedded Kafka answers a fetch with one batch per partition and holds
 * it fetch.wait.max.ms (500) when any partition is at its end, and every
 * checkpoint is a batch of its own: with the default, reading a few hundred
 * checkpoints took longer than a rebalance may. */
int state_read(struct collector *c, char *err, size_t errsz) {
    char topic[192];
    int rc = -1;
    rd_kafka_conf_t *conf = NULL;
    const struct rd_kafka_metadata *md = NULL;
    int64_t *high = NULL;
    uint8_t *reading = NULL; /* consume_start'ed in this read */
    int32_t n = 0;
    int64_t t0 = collector_mono_ms(), deadline = t0 + STATE_CATCHUP_MS;
    rd_kafka_resp_err_t e;
    kafka_topic_name(topic, sizeof topic, c->prefix, "collector.state");
    if (!c->state_rk) {
        if (!(conf = kafka_conf_new(c->bootstrap, &c->props, err, errsz)) ||
            kafka_conf_set(conf, "enable.auto.commit", "false", err, errsz) < 0 ||
            kafka_conf_set(conf, "enable.auto.offset.store", "false", err, errsz) < 0 ||
            kafka_conf_set(conf, "enable.partition.eof", "true", err, errsz) < 0 ||
            kafka_conf_set(conf, "fetch.wait.max.ms", "10", err, errsz) < 0 ||
            kafka_conf_set(conf, "queued.max.messages.kbytes", "2048", err, errsz) < 0)
            goto out;
        if (!(c->state_rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, errsz))) goto out;
        conf = NULL;
        c->state_rkt = rd_kafka_topic_new(c->state_rk, topic, NULL);
    }
    e = rd_kafka_metadata(c->state_rk, 0, c->state_rkt, &md, STATE_CATCHUP_MS);
    if (!e && md->topic_cnt != 1) e = RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
    if (!e) e = md->topics[0].err;
    if (e) {
        snprintf(err, errsz, "cannot read metadata of %s: %s", topic, rd_kafka_err2str(e));
        goto out;
    }
    n = md->topics[0].partition_cnt;
    if (n > c->state_nparts) {
        int64_t *nn = realloc(c->state_next, (size_t)n * sizeof *nn);
        if (!nn) {
            snprintf(err, errsz, "out of memory");
            goto out;
        }
        for (int32_t p = c->state_nparts; p < n; p++) nn[p] = -1;
        c->state_next = nn;
        c->state_nparts = n;
    }
    if (!(high = calloc((size_t)n + 1, sizeof *high)) || !(reading = calloc((size_t)n + 1, 1))) {
        snprintf(err, errsz, "out of memory");
        goto out;
    }
    for (int32_t p = 0; p < n; p++) {
        int64_t lo, hi;
        if ((e = rd_kafka_query_watermark_offsets(c->state_rk, topic, p, &lo, &hi, STATE_CATCHUP_MS))) {
            snprintf(err, errsz, "cannot query the end of %s [%d]: %s", topic, p, rd_kafka_err2str(e));
            goto out;
        }
        if (c->state_next[p] < lo) c->state_next[p] = lo; /* first read, or records gone */
        high[p] = hi;
    }
    for (int32_t p = 0; p < n; p++) {
        if (high[p] <= c->state_next[p]) continue;
        if (rd_kafka_consume_start(c->state_rkt, p, c->state_next[p]) < 0) {
            snprintf(err, errsz, "cannot read %s [%d]: %s", topic, p, rd_kafka_err2str(rd_kafka_last_error()));
            goto out;
        }
        reading[p] = 1;
    }
    for (;;) {
        int behind = 0;
        for (int32_t p = 0; p < n; p++) {
            if (c->state_next[p] >= high[p]) continue;
            behind = 1;
            rd_kafka_message_t *msgs[256];
            ssize_t got = rd_kafka_consume_batch(c->state_rkt, p, 0, msgs, 256);
            for (ssize_t i = 0; i < got; i++) {
                if (!msgs[i]->err) {
                    state_keep(c, msgs[i]->key, msgs[i]->key_len, msgs[i]->payload, msgs[i]->len);
                    c->state_next[p] = msgs[i]->offset + 1;
                } else if (msgs[i]->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                    /* Transactions end in control records, never delivered,
                     * and a transaction still open holds a read_committed
                     * reader at its start: the end is where the broker says,
                     * and what lies past it is not committed yet. */
                    if (msgs[i]->offset > c->state_next[p]) c->state_next[p] = msgs[i]->offset;
                    high[p] = c->state_next[p];
                } else {
                    log_warn(COMP, "reading %s: %s", topic, rd_kafka_message_errstr(msgs[i]));
                }
                rd_kafka_message_destroy(msgs[i]);
            }
        }
        if (!behind) break;
        rd_kafka_poll(c->state_rk, 5); /* nothing ready: let the fetchers work */
        if (collector_mono_ms() > deadline) {
            for (int32_t p = 0; p < n; p++)
                if (c->state_next[p] < high[p])
                    log_debug(COMP, "not read to its end partition=%d next=%lld high=%lld", p,
                              (long long)c->state_next[p], (long long)high[p]);
            snprintf(err, errsz, "%s not read to its end within %d ms", topic, STATE_CATCHUP_MS);
            goto out;
        }
    }
    rc = 0;
    log_info(COMP, "checkpoints read keys=%zu ms=%lld", hashmap_size(c->ckpts),
             (long long)(collector_mono_ms() - t0));
out:
    /* Stopped between reads: an idle reader holds no fetched records. */
    for (int32_t p = 0; reading && p < n; p++)
        if (reading[p]) rd_kafka_consume_stop(c->state_rkt, p);
    free(reading);
    free(high);
    if (md) rd_kafka_metadata_destroy(md);
    if (conf) rd_kafka_conf_destroy(conf);
    return rc;
}

/* The checkpoint of one partition: everything counted from offsets below
 * pt->next. Written from the loop between two records, so it is always a
 * state the input offsets explain. */
int state_write(struct collector *c, int32_t p) {
    struct part *pt = consumer_part(c, p);
    char key[256], err[256];
    uint8_t *buf = NULL;
    size_t len = 0;
    if (!pt || pt->next < 0) return 0;
    int64_t t0 = collector_mono_ms();
    ckpt_key(c, p, key, sizeof key);
    if (checkpoint_encode(c->reg, c->ing, c->qt, c->samples_topic, p, pt->next, vntime_now_ms(),
                          consumer_province_partition, c, &buf, &len, err, sizeof err) < 0) {
        metrics_inc(c->m, M_CHECKPOINT_FAIL_ENCODE);
        goto fail;
    }
    if (publish_checkpoint(c->pb, key, buf, len, err, sizeof err) < 0) {
        metrics_inc(c->m, M_CHECKPOINT_FAIL_PRODUCE);
        goto fail;
    }
    log_debug(COMP, "checkpoint written partition=%d next_offset=%lld bytes=%zu ms=%lld", p, (long long)pt->next, len,
              (long long)(collector_mono_ms() - t0));
    free(buf);
    pt->ckpt = pt->next;
    pt->ckpt_ms = collector_mono_ms();
    pt->ckpt_alert = 0;
    c->last_ckpt_ms = pt->ckpt_ms;
    return 0;
fail:
    /* pt->ckpt, ckpt_ms and ckpt_alert stay as they were: the partition
     * still differs from its last checkpoint, so the next periodic pass
     * (CKPT_TICK_MS) writes it again. */
    log_error(COMP, "checkpoint not written partition=%d next_offset=%lld: %s; retried at the next pass", p,
              (long long)pt->next, err);
    free(buf);
    return -1;
}

/* Every assigned partition's checkpoint, at once: the last word at shutdown. */
int state_write_all(struct collector *c) {
    int failed = 0;
    for (int32_t p = 0; p < c->nparts; p++)
        if (c->parts[p].assigned && state_write(c, p) < 0) failed++;
    return failed;
}

/* The periodic pass, every CKPT_TICK_MS: the partitions that moved (or saw an
 * alert) and were last written at least --checkpoint-interval ago, round
 * robin, until CKPT_BUDGET_MS are spent. A checkpoint holds a province's
 * whole state and takes milliseconds at a month's volume: writing all that
 * moved in one go stalled the loop for seconds (the delay probes' p99),
 * and every second during a replay took most of the loop. */
int state_write_due(struct collector *c) {
    int64_t t0 = collector_mono_ms();
    int failed = 0;
    for (int32_t k = 0; k < c->nparts; k++) {
        int32_t p = (c->ckpt_cursor + k) % c->nparts;
        struct part *pt = &c->parts[p];
        if (!pt->assigned || (!pt->ckpt_alert && pt->next == pt->ckpt)) continue;
        if (pt->ckpt_ms && t0 - pt->ckpt_ms < c->ckpt_interval_ms) continue;
        if (state_write(c, p) < 0) failed++;
        if (collector_mono_ms() - t0 >= CKPT_BUDGET_MS) {
            c->ckpt_cursor = (p + 1) % c->nparts;
            break;
        }
    }
    return failed;
}

int64_t state_restore(struct collector *c, int32_t p) {
    char key[256], err[256];
    struct part *pt = consumer_part(c, p);
    size_t nprov = ingest_drop_partition(c->ing, p);
    if (nprov) log_info(COMP, "stale state dropped partition=%d provinces=%zu", p, nprov);
    ckpt_key(c, p, key, sizeof key);
    const struct blob *b = hashmap_get(c->ckpts, key);
    if (!b) {
        log_info(COMP, "no checkpoint, reading from the beginning partition=%d", p);
        return RD_KAFKA_OFFSET_BEGINNING;
    }
    int64_t next, created;
    if (checkpoint_restore(c->reg, c->ing, c->qt, b->data, b->len, p, &next, &created, &nprov, err, sizeof err) < 0) {
        /* Counting from the beginning is slow but right; the damaged record
         * is replaced by our next checkpoint. */
        log_error(COMP, "checkpoint unusable, reading from the beginning partition=%d: %s", p, err);
        ingest_drop_partition(c->ing, p);
        return RD_KAFKA_OFFSET_BEGINNING;
    }
    metrics_inc(c->m, M_RESTORES);
    if (pt) pt->next = pt->ckpt = next;
    /* Ours now: any later owner (us again included) restores from a newer
     * record, written at the revoke, that the next read brings. Kept, the
     * blobs of a whole country took ~10 MiB. */
    free(hashmap_remove(c->ckpts, key));
    log_info(COMP, "checkpoint restored partition=%d next_offset=%lld provinces=%zu age_ms=%lld", p, (long long)next,
             nprov, (long long)(vntime_now_ms() - created));
    return next;
}
