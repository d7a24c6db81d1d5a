/* The consumer group member on <prefix>samples: its set-up, the partitions
 * it owns and whether it has caught up with them, its rebalances (restore on
 * assignment, checkpoints on revoke) and its bounded close. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector.h"
#include "log.h"
#include "vntime.h"

/* ---- partitions and catch-up ---- */

struct part *consumer_part(struct collector *c, int32_t p) {
    if (p < 0) return NULL;
    if (p >= c->nparts) {
        int32_t n = p + 1 > 2 * c->nparts ? p + 1 : 2 * c->nparts;
        struct part *np = realloc(c->parts, (size_t)n * sizeof *np);
        if (!np) return NULL;
        for (int32_t i = c->nparts; i < n; i++) np[i] = PART_EMPTY;
        c->parts = np;
        c->nparts = n;
    }
    return &c->parts[p];
}

/* Caught up = every assigned partition read to the high watermark it had
 * when we reached it (librdkafka's partition EOF event). Until then the
 * counts are a replay in progress: no alerts, and no quota updates (they
 * would publish partial counts over the complete ones of an earlier run). */
void consumer_update_caught_up(struct collector *c) {
    int n = 0, all = 1;
    for (int32_t p = 0; p < c->nparts; p++)
        if (c->parts[p].assigned) {
            n++;
            if (!c->parts[p].eof) all = 0;
        }
    int now = n > 0 && all;
    metrics_gauge(c->m, G_ASSIGNED_PARTITIONS, n);
    if (now == c->caught_up) return;
    c->caught_up = now;
    metrics_gauge(c->m, G_CAUGHT_UP, now);
    if (!now) {
        quota_set_alerting(c->qt, 0);
        log_info(COMP, "replaying the samples topic partitions=%d", n);
        return;
    }
    /* Learn the last state alerted for every unit, by us before a restart or
     * by the collector that owned a province before us, so no alert repeats
     * one already on the topic. Our own alerts are flushed first: reading an
     * older one of ours back would undo a newer transition. */
    char err[256];
    if (outputs_commit(c, 5000) != PUBLISH_COMMITTED)
        log_warn(COMP, "alerts still in flight before reading the alerts topic");
    if (topic_reader_catch_up(c->alerts_feed, 10000, outputs_apply_alert, c, err, sizeof err) < 0) {
        strncat(err, "; alerts may repeat", sizeof err - strlen(err) - 1);
        collector_feed_failed(c, "alerts", err);
    }
    quota_set_alerting(c->qt, 1);
    log_info(COMP, "caught up with the samples topic partitions=%d", n);
    outputs_evaluate(c);
    outputs_flush_quota_due(c); /* the rest in the next polls, a slice each */
}

/* The samples partition a province's key goes to: known from the producers'
 * partitioner, else learnt from the samples seen. */
int32_t consumer_province_partition(const registry_unit *prov, void *ctx) {
    struct collector *c = ctx;
    if (c->partitioner && c->samples_npart > 0)
        return c->partitioner(NULL, prov->code, strlen(prov->code), c->samples_npart, NULL, NULL);
    return ingest_province_partition(c->ing, prov);
}

int consumer_owns(const registry_unit *prov, void *ctx) {
    struct collector *c = ctx;
    int32_t p = consumer_province_partition(prov, c);
    return p >= 0 && p < c->nparts && c->parts[p].assigned;
}

partitioner_fn consumer_partitioner(const kafka_props *props) {
    const char *name = "consistent_random"; /* librdkafka's default, which the agent uses */
    for (size_t i = 0; i < props->n; i++)
        if (strcmp(props->key[i], "partitioner") == 0) name = props->value[i];
    if (!strcmp(name, "consistent") || !strcmp(name, "consistent_random"))
        return rd_kafka_msg_partitioner_consistent;
    if (!strcmp(name, "murmur2") || !strcmp(name, "murmur2_random")) return rd_kafka_msg_partitioner_murmur2;
    if (!strcmp(name, "fnv1a") || !strcmp(name, "fnv1a_random")) return rd_kafka_msg_partitioner_fnv1a;
    return NULL;
}

int32_t consumer_topic_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms) {
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    int32_t n = -1;
    if (rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (md->topic_cnt == 1 && !md->topics[0].err) n = md->topics[0].partition_cnt;
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_topic_destroy(rkt);
    return n;
}

/* ---- rebalance ---- */

static void drop_partition(struct collector *c, int32_t p) {
    size_t n = ingest_drop_partition(c->ing, p);
    struct part *pt = consumer_part(c, p);
    if (pt) *pt = PART_EMPTY;
    log_info(COMP, "partition dropped partition=%d provinces=%zu", p, n);
}

/* The previous owner of a partition may have been stopped in the middle of a
 * commit: the group accepted the offsets of its transaction (its generation
 * was current then) and the transaction ends when it resumes (committed) or
 * when the coordinator times it out (aborted). Restored before that end, the
 * partition would be counted from an older checkpoint and its alerts raised
 * again next to the ones that transaction then commits. The group reports
 * such offsets as unstable (KIP-447): wait until none is. */
static void wait_inherited_transactions(struct collector *c, rd_kafka_t *rk,
                                        const rd_kafka_topic_partition_list_t *parts) {
    if (!publish_transactional(c->pb) || parts->cnt == 0) return;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_copy(parts);
    int64_t t0 = collector_mono_ms(), deadline = t0 + INHERIT_WAIT_MS;
    int waited = 0;
    for (;;) {
        int64_t left = deadline - collector_mono_ms();
        rd_kafka_resp_err_t e = rd_kafka_committed(rk, l, left > 5000 ? 5000 : left < 1 ? 1 : (int)left);
        int unstable = -1;
        for (int i = 0; !e && i < l->cnt; i++)
            if (l->elems[i].err == RD_KAFKA_RESP_ERR_UNSTABLE_OFFSET_COMMIT) unstable = l->elems[i].partition;
        if (!e && unstable < 0) {
            if (waited) {
                metrics_inc(c->m, M_INHERIT_WAIT_ENDED);
                log_info(COMP, "the previous owner's transaction ended ms=%lld", (long long)(collector_mono_ms() - t0));
            }
            break;
        }
        if (e && e != RD_KAFKA_RESP_ERR__TIMED_OUT) {
            metrics_inc(c->m, M_INHERIT_WAIT_ERROR);
            log_warn(COMP, "cannot ask the group for pending transactions: %s; restoring at once, alerts may repeat",
                     rd_kafka_err2str(e));
            break;
        }
        if (collector_mono_ms() >= deadline) {
            metrics_inc(c->m, M_INHERIT_WAIT_TIMEOUT);
            log_warn(COMP, "the previous owner's transaction still open after %d ms (partition=%d): restoring before "
                     "it, alerts may repeat", INHERIT_WAIT_MS, unstable);
            break;
        }
        if (!waited && unstable >= 0)
            log_info(COMP, "waiting for the previous owner's open transaction partition=%d", unstable);
        else if (!waited)
            log_info(COMP, "waiting for the group's committed offsets (a previous owner's transaction may be open)");
        waited = 1;
        usleep(200 * 1000);
    }
    rd_kafka_topic_partition_list_destroy(l);
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                         void *opaque) {
    struct collector *c = opaque;
    int coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    /* Records polled before the rebalance came are still ours: counted now,
     * they are in the revoke's checkpoints. */
    pipeline_drain(c);
    rd_kafka_error_t *error = NULL;
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;

    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        char ferr[256];
        wait_inherited_transactions(c, rk, parts);
        /* What the previous owners wrote before they let go (they flush
         * their last checkpoint in their revoke, which precedes this). */
        if (parts->cnt > 0 && state_read(c, ferr, sizeof ferr) < 0)
            log_warn(COMP, "%s; restoring from older checkpoints", ferr);
        if (!coop) {
            /* Eager: everything was revoked first; what we kept and did not
             * get back now belongs to another collector. */
            for (int32_t p = 0; p < c->nparts; p++) {
                if (!c->parts[p].kept) continue;
                int back = 0;
                for (int i = 0; i < parts->cnt; i++) back |= parts->elems[i].partition == p;
                if (!back) drop_partition(c, p);
            }
        }
        for (int i = 0; i < parts->cnt; i++) {
            struct part *pt = consumer_part(c, parts->elems[i].partition);
            if (!pt) continue;
            /* Nothing is committed to the group: the offset to read from is
             * the one in the partition's latest checkpoint (or the beginning
             * without one); one whose state we kept resumes where we were. */
            if (pt->kept && pt->next >= 0)
                parts->elems[i].offset = pt->next;
            else
                parts->elems[i].offset = state_restore(c, parts->elems[i].partition);
            log_info(COMP, "partition assigned partition=%d offset=%lld t_ms=%lld pid=%d", parts->elems[i].partition,
                     (long long)parts->elems[i].offset, (long long)vntime_now_ms(), (int)getpid());
            pt->assigned = 1;
            pt->kept = 0;
            pt->eof = 0;
        }
        int32_t n = consumer_topic_partitions(rk, c->samples_topic, 2000);
        if (n > 0) c->samples_npart = n;
        log_info(COMP, "partitions assigned count=%d protocol=%s", parts->cnt, coop ? "cooperative" : "eager");
        if (coop)
            error = rd_kafka_incremental_assign(rk, parts);
        else
            e = rd_kafka_assign(rk, parts);
    } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        /* Publish what was counted while it is still ours, and the
         * checkpoints the next owner starts from, delivered before we let go.
         * A lost assignment may already be someone else's: writing then could
         * overwrite the new owner's newer checkpoint. */
        int lost = rd_kafka_assignment_lost(rk);
        if (c->caught_up) outputs_flush_quota(c);
        int failed = 0;
        for (int i = 0; i < parts->cnt && !lost; i++) {
            struct part *pt = consumer_part(c, parts->elems[i].partition);
            if (pt && pt->assigned && state_write(c, parts->elems[i].partition) < 0) failed++;
        }
        /* Each failure is logged and counted by state_write; the next owner
         * restores from the partition's previous checkpoint and replays more. */
        if (failed) log_warn(COMP, "checkpoints not written at revoke count=%d: the next owner replays from older ones", failed);
        if (!lost && outputs_commit(c, c->stopping && !publish_transactional(c->pb) ? 0 : CLOSE_BUDGET_MS) !=
                          PUBLISH_COMMITTED)
            log_warn(COMP, "checkpoints still in flight at revoke: the next owner may replay more");
        /* Lost: what we produced since the last commit is the new owner's
         * to say; it is aborted, never committed. */
        if (lost && publish_discard(c->pb, CLOSE_BUDGET_MS) == PUBLISH_FATAL)
            outputs_stop_fatal(c, "the lost assignment's transaction cannot be aborted");
        for (int i = 0; i < parts->cnt; i++)
            log_info(COMP, "partition revoked partition=%d t_ms=%lld pid=%d lost=%d", parts->elems[i].partition,
                     (long long)vntime_now_ms(), (int)getpid(), lost);
        for (int i = 0; i < parts->cnt; i++) {
            int32_t p = parts->elems[i].partition;
            struct part *pt = consumer_part(c, p);
            if (!pt) continue;
            if (coop || lost) {
                drop_partition(c, p);
            } else {
                pt->assigned = 0;
                pt->eof = 0;
                pt->kept = 1;
            }
        }
        log_info(COMP, "partitions revoked count=%d protocol=%s", parts->cnt, coop ? "cooperative" : "eager");
        if (coop)
            error = rd_kafka_incremental_unassign(rk, parts);
        else
            e = rd_kafka_assign(rk, NULL);
    } else {
        log_error(COMP, "rebalance failed: %s", rd_kafka_err2str(err));
        e = rd_kafka_assign(rk, NULL);
    }
    if (error) {
        log_error(COMP, "incremental (un)assign failed: %s", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    }
    if (e) log_error(COMP, "assign failed: %s", rd_kafka_err2str(e));
    consumer_update_caught_up(c);
}

int consumer_start(struct collector *c, char *err, size_t errsz) {
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_topic_partition_list_t *topics = NULL;
    if (!(conf = kafka_conf_new(c->bootstrap, NULL, err, errsz))) goto fail;
    /* Nothing is committed, ever: on each assignment on_rebalance seeks to
     * the offset of the partition's latest checkpoint on
     * <prefix>collector.state (statestore.c), or to the beginning without
     * one. "earliest" only covers a seek past the log's start. */
    if (kafka_conf_set(conf, "group.id", c->group, err, errsz) < 0 ||
        kafka_conf_set(conf, "auto.offset.reset", "earliest", err, errsz) < 0 ||
        /* A collector that died unannounced (SIGKILL, power) holds its
         * provinces until its session times out, and its restart waits that
         * long; 45 s is too long for provinces to go unwatched. 6 s is a
         * real broker's smallest (group.min.session.timeout.ms). */
        kafka_conf_set(conf, "session.timeout.ms", "6000", err, errsz) < 0 ||
        kafka_conf_set(conf, "heartbeat.interval.ms", "2000", err, errsz) < 0 ||
        /* Memory: by default librdkafka prefetches up to 64 MiB and fetches
         * up to 50 MiB a request; a few MiB keep the verifier busy (a sample
         * is ~300 bytes and takes ~40 us of verification on two cores). 2 MiB
         * ran dry: the embedded Kafka answers one batch per partition per
         * fetch, and a replay of 200,000 samples took 22 s instead of 16. */
        kafka_conf_set(conf, "queued.max.messages.kbytes", "4096", err, errsz) < 0 ||
        kafka_conf_set(conf, "fetch.max.bytes", "4194304", err, errsz) < 0 ||
        /* Adding or removing a collector moves only the provinces that
         * change owner; the others keep counting through the rebalance. */
        kafka_conf_set(conf, "partition.assignment.strategy", "cooperative-sticky", err, errsz) < 0 ||
        /* The embedded Kafka answers one batch per partition per fetch and
         * holds the answer this long once any partition is at its end. */
        kafka_conf_set(conf, "fetch.wait.max.ms", "100", err, errsz) < 0)
        goto fail;
    for (size_t i = 0; i < c->props.n; i++)
        if (kafka_conf_set(conf, c->props.key[i], c->props.value[i], err, errsz) < 0) goto fail;
    /* Not overridable: committing would make a restart skip samples it no
     * longer has counted, and catch-up detection needs the EOF events. */
    if (kafka_conf_set(conf, "enable.auto.commit", "false", err, errsz) < 0 ||
        kafka_conf_set(conf, "enable.auto.offset.store", "false", err, errsz) < 0 ||
        kafka_conf_set(conf, "enable.partition.eof", "true", err, errsz) < 0)
        goto fail;
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_opaque(conf, c);
    if (!(c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, errsz))) goto fail;
    conf = NULL;
    /* Rebalances, errors and records all arrive on the consumer queue, which
     * wakes the loop through the pipe. */
    rd_kafka_poll_set_consumer(c->rk);
    c->rkq = rd_kafka_queue_get_consumer(c->rk);
    if (pipe2(c->wake, O_NONBLOCK | O_CLOEXEC) < 0) {
        snprintf(err, errsz, "pipe: %s", strerror(errno));
        goto fail;
    }
    rd_kafka_queue_io_event_enable(c->rkq, c->wake[1], "w", 1);
    c->ev_consumer = event_new(c->base, c->wake[0], EV_READ | EV_PERSIST, pipeline_on_wake, c);
    c->ev_more = evtimer_new(c->base, pipeline_on_wake, c);
    if (!c->ev_consumer || !c->ev_more || event_add(c->ev_consumer, NULL) < 0) {
        snprintf(err, errsz, "cannot add the consumer event");
        goto fail;
    }
    topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, c->samples_topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(c->rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (e) {
        snprintf(err, errsz, "cannot subscribe to %s: %s", c->samples_topic, rd_kafka_err2str(e));
        goto fail;
    }
    /* Anything queued before the pipe was set would not wake us. */
    event_active(c->ev_consumer, EV_READ, 0);
    return 0;
fail:
    if (conf) rd_kafka_conf_destroy(conf);
    return -1;
}

/* Leaves the group within CLOSE_BUDGET_MS: rd_kafka_consumer_close() waits
 * for the broker without a bound (a collector whose broker was gone hung on
 * SIGTERM), so the close runs on a queue we serve until it is done or the
 * budget is spent, and the handle is then destroyed without a second close. */
void consumer_close(struct collector *c) {
    rd_kafka_queue_io_event_enable(c->rkq, -1, NULL, 0);
    rd_kafka_queue_t *q = rd_kafka_queue_new(c->rk);
    rd_kafka_error_t *error = rd_kafka_consumer_close_queue(c->rk, q);
    if (error) {
        log_warn(COMP, "consumer close: %s", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    } else {
        int64_t deadline = collector_mono_ms() + CLOSE_BUDGET_MS;
        while (!rd_kafka_consumer_closed(c->rk) && collector_mono_ms() < deadline) {
            rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 100);
            if (!ev) continue;
            if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_REBALANCE) {
                /* The revoke of the close: checkpoints were written just
                 * before, so only let go. */
                if (!strcmp(rd_kafka_rebalance_protocol(c->rk), "COOPERATIVE"))
                    rd_kafka_error_destroy(rd_kafka_incremental_unassign(c->rk, rd_kafka_event_topic_partition_list(ev)));
                else
                    rd_kafka_assign(c->rk, NULL);
            }
            rd_kafka_event_destroy(ev);
        }
        if (!rd_kafka_consumer_closed(c->rk))
            log_warn(COMP, "consumer not closed within %d ms (broker unreachable?); leaving the group by timeout",
                     CLOSE_BUDGET_MS);
    }
    for (int32_t p = 0; p < c->nparts; p++)
        if (c->parts[p].assigned)
            log_info(COMP, "partition revoked partition=%d t_ms=%lld pid=%d lost=0 at=close", p,
                     (long long)vntime_now_ms(), (int)getpid());
    rd_kafka_queue_destroy(q);
    rd_kafka_queue_destroy(c->rkq);
    rd_kafka_destroy_flags(c->rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
}

