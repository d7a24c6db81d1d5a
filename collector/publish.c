/* Encoding of quota states and alerts, and the producer that carries them,
 * the DLQ and the checkpoints; on a real cluster, in transactions. */
#include "publish.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ispeed.pb-c.h"
#include "log.h"
#include "pbnames.h"
#include "vntime.h"

/* A record produced in the open transaction, kept until it commits: an
 * aborted transaction loses nothing, its records go into the next one. */
struct kept {
    char *topic, *reason, *source;
    void *key, *value;
    size_t keylen, len;
};

struct publish {
    rd_kafka_t *rk;
    char prefix[128];
    char alerts_topic[192];
    char dlq_topic[192];
    metrics_t *m;
    int txn;          /* transactional (a transactional.id was given) */
    int txn_open;     /* begin_transaction succeeded and no commit or abort since */
    int txn_broken;   /* a record of the open transaction was refused: abort it */
    unsigned aborts_in_row;
    int outq_gave_up; /* a wait for deliveries ran out: no more until the queue drains */
    rd_kafka_conf_t *conf; /* transactional: what a renewed producer is made of */
    int64_t renew_ms[PUBLISH_MAX_RENEWALS]; /* monotonic times of the last renewals, a ring */
    unsigned nrenew;
    struct kept *kept;
    size_t nkept, capkept;
    /* Tests only (ISPEED_TEST_STOP_IN_COMMIT): a file whose removal stops
     * the process between the offsets and the commit of a transaction. */
    const char *stop_in_commit;
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque) {
    (void)rk;
    publish_t *pb = opaque;
    if (msg->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || msg->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT) {
        /* An aborted transaction's records, purged by librdkafka: kept,
         * they go out again in the next one. */
        if (pb->txn) return;
    }
    if (msg->err) {
        /* In a transaction the commit fails and the record goes out in the
         * next one. Without, a restart replays and re-publishes; the log
         * line says what was lost until then. */
        metrics_inc(pb->m, M_PRODUCE_ERRORS);
        log_error("collector", "delivery failed topic=%s key=%.*s error=\"%s\"%s", rd_kafka_topic_name(msg->rkt),
                  (int)(msg->key_len > 64 ? 64 : msg->key_len), msg->key ? (const char *)msg->key : "",
                  rd_kafka_err2str(msg->err), pb->txn ? " (kept for the next transaction)" : "");
    }
}

publish_t *publish_new(const char *bootstrap, const kafka_props *props, const char *prefix,
                       const char *transactional_id, metrics_t *m, char *err, size_t errsz) {
    rd_kafka_conf_t *conf = NULL;
    publish_t *pb = calloc(1, sizeof *pb);
    if (!pb) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    pb->m = m;
    pb->stop_in_commit = getenv("ISPEED_TEST_STOP_IN_COMMIT");
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
        /* A collector that died inside a transaction holds back every
         * read_committed reader of the topics it wrote (checkpoints, quota)
         * until the coordinator aborts it: a minute is too long. Its
         * restart under the same --instance-id aborts it at once. */
        {"transaction.timeout.ms", "15000"},
    };
    if (!(conf = kafka_producer_conf_new(bootstrap, ours, sizeof ours / sizeof ours[0], props, err, errsz)))
        goto fail;
    if (transactional_id && kafka_conf_set(conf, "transactional.id", transactional_id, err, errsz) < 0) goto fail;
    pb->txn = transactional_id != NULL;
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, pb);
    if (pb->txn && !(pb->conf = rd_kafka_conf_dup(conf))) {
        snprintf(err, errsz, "out of memory");
        goto fail;
    }
    if (!(pb->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errsz))) goto fail;
    return pb;
fail:
    if (conf) rd_kafka_conf_destroy(conf);
    if (pb->conf) rd_kafka_conf_destroy(pb->conf);
    free(pb);
    return NULL;
}

static void kept_free_copy(struct kept *k) {
    free(k->topic);
    free(k->reason);
    free(k->source);
    free(k->key);
    free(k->value);
}

static void kept_clear(publish_t *pb) {
    for (size_t i = 0; i < pb->nkept; i++) kept_free_copy(&pb->kept[i]);
    pb->nkept = 0;
}

void publish_free(publish_t *pb, int timeout_ms) {
    if (!pb) return;
    if (pb->rk) {
        if (pb->txn && pb->nkept)
            log_error("collector", "%zu output record(s) of an uncommitted transaction dropped at exit: a restart "
                      "replays from the last committed checkpoint", pb->nkept);
        if (publish_flush(pb, timeout_ms) < 0)
            log_error("collector", "%d output record(s) not delivered at exit", rd_kafka_outq_len(pb->rk));
        rd_kafka_destroy(pb->rk);
    }
    kept_clear(pb);
    free(pb->kept);
    if (pb->conf) rd_kafka_conf_destroy(pb->conf);
    free(pb);
}

rd_kafka_t *publish_handle(publish_t *pb) { return pb->rk; }

void publish_poll(publish_t *pb) { rd_kafka_poll(pb->rk, 0); }

int publish_flush(publish_t *pb, int timeout_ms) {
    return rd_kafka_flush(pb->rk, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}

static rd_kafka_resp_err_t produce_copy(publish_t *pb, const char *topic, const void *key, size_t keylen,
                                       const void *value, size_t len, const char *reason, const char *source);

int publish_transactional(const publish_t *pb) { return pb->txn; }

size_t publish_uncommitted(const publish_t *pb) { return pb->txn ? pb->nkept : 0; }

static void txn_begin(publish_t *pb) {
    rd_kafka_error_t *e = rd_kafka_begin_transaction(pb->rk);
    if (e) {
        /* Records produced meanwhile are kept; the next commit aborts. */
        log_error("collector", "cannot begin a transaction: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        return;
    }
    pb->txn_open = 1;
    pb->txn_broken = 0;
}

int publish_txn_start(publish_t *pb, int timeout_ms, char *err, size_t errsz) {
    if (!pb->txn) return 0;
    rd_kafka_error_t *e = rd_kafka_init_transactions(pb->rk, timeout_ms);
    if (e) {
        snprintf(err, errsz, "cannot start transactions: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        return -1;
    }
    txn_begin(pb);
    return pb->txn_open ? 0 : (snprintf(err, errsz, "cannot begin a transaction"), -1);
}

/* The errors that say another member now owns what we wrote for: the
 * group moved on (our generation is stale) or our transactional.id was
 * taken over. */
static int is_fencing(rd_kafka_resp_err_t code) {
    return code == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION || code == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID ||
           code == RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID || code == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
           code == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH || code == RD_KAFKA_RESP_ERR__FENCED;
}

/* Calls step until it succeeds, fails for good, or deadline_ms passes. */
static rd_kafka_error_t *txn_retry(publish_t *pb, int which, const rd_kafka_topic_partition_list_t *offsets,
                                   const rd_kafka_consumer_group_metadata_t *cgmd, int64_t deadline_ms) {
    for (;;) {
        int64_t left = deadline_ms - vntime_mono_us() / 1000;
        int t = left < 1 ? 1 : left > 10000 ? 10000 : (int)left;
        rd_kafka_error_t *e = which == 0   ? rd_kafka_send_offsets_to_transaction(pb->rk, offsets, cgmd, t)
                              : which == 1 ? rd_kafka_commit_transaction(pb->rk, t)
                                           : rd_kafka_abort_transaction(pb->rk, t);
        if (!e || !rd_kafka_error_is_retriable(e) || rd_kafka_error_txn_requires_abort(e) ||
            rd_kafka_error_is_fatal(e) || vntime_mono_us() / 1000 >= deadline_ms)
            return e;
        log_warn("collector", "transaction %s retried: %s", which == 0 ? "offsets" : which == 1 ? "commit" : "abort",
                 rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
}

static void replay_kept(publish_t *pb) {
    for (size_t i = 0; i < pb->nkept && pb->txn_open; i++) {
        const struct kept *k = &pb->kept[i];
        if (produce_copy(pb, k->topic, k->key, k->keylen, k->value, k->len, k->reason, k->source)) pb->txn_broken = 1;
    }
    if (!pb->txn_open) pb->txn_broken = 1;
}

/* A new producer under the same transactional.id: its init_transactions
 * aborts whatever the old one left open. */
static int txn_renew(publish_t *pb) {
    char err[512];
    int64_t now = vntime_mono_us() / 1000;
    unsigned slot = pb->nrenew % PUBLISH_MAX_RENEWALS;
    if (pb->nrenew >= PUBLISH_MAX_RENEWALS && now - pb->renew_ms[slot] < 60000) {
        log_error("collector", "%d producers renewed within a minute: another collector may share our "
                  "transactional.id (--instance-id)", PUBLISH_MAX_RENEWALS);
        return -1;
    }
    pb->renew_ms[slot] = now;
    pb->nrenew++;
    rd_kafka_conf_t *conf = rd_kafka_conf_dup(pb->conf);
    rd_kafka_purge(pb->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_destroy(pb->rk);
    pb->rk = NULL;
    pb->txn_open = 0;
    if (!conf || !(pb->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err))) {
        if (conf) rd_kafka_conf_destroy(conf);
        log_error("collector", "cannot renew the producer: %s", conf ? err : "out of memory");
        return -1;
    }
    if (publish_txn_start(pb, TXN_RENEW_MS, err, sizeof err) < 0) {
        log_error("collector", "renewed producer: %s", err);
        return -1;
    }
    log_warn("collector", "producer renewed: the transaction it could not end was aborted by its successor");
    return 0;
}

/* librdkafka gave up on this producer (fatal: fenced by a twin of our
 * transactional.id, or a state it cannot leave, as INVALID_TXN_STATE on the
 * abort after a coordinator was killed), or a step kept failing until its
 * deadline. A renewed producer goes on: kept records are produced again,
 * unless the partitions they were for are lost. */
static int txn_fail(publish_t *pb, const char *step, rd_kafka_error_t *e, int keep_records) {
    int fenced = is_fencing(rd_kafka_error_code(e));
    metrics_inc(pb->m, fenced ? M_TXN_FENCED : M_TXN_ABORTS);
    log_error("collector", "transaction %s failed, fenced=%d fatal=%d: %s", step, fenced, rd_kafka_error_is_fatal(e),
              rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
    if (txn_renew(pb) < 0) return PUBLISH_FATAL;
    if (!keep_records) kept_clear(pb);
    replay_kept(pb);
    return PUBLISH_ABORTED;
}

int publish_commit(publish_t *pb, const rd_kafka_topic_partition_list_t *offsets,
                   const rd_kafka_consumer_group_metadata_t *cgmd, int timeout_ms) {
    if (!pb->txn) return publish_flush(pb, timeout_ms) == 0 ? PUBLISH_COMMITTED : PUBLISH_PENDING;
    if (!pb->nkept && !pb->txn_broken) return PUBLISH_COMMITTED; /* an empty transaction: nothing to do */
    int64_t t0 = vntime_mono_us() / 1000, deadline = t0 + (timeout_ms > 0 ? timeout_ms : 1);
    rd_kafka_error_t *e = NULL;
    const char *step = "commit";
    if (pb->txn_open && !pb->txn_broken) {
        /* The offsets tie the transaction to our generation of the group:
         * a member the group has moved past cannot commit it (KIP-447). */
        if (offsets && offsets->cnt > 0 && cgmd) {
            step = "offsets";
            e = txn_retry(pb, 0, offsets, cgmd, deadline);
            /* A zombie at the worst moment: the group took the offsets of
             * a transaction that is not ended (kafka_cluster.sh). */
            if (!e && pb->stop_in_commit && unlink(pb->stop_in_commit) == 0) {
                log_warn("collector", "stopping between the offsets and the commit (ISPEED_TEST_STOP_IN_COMMIT)");
                raise(SIGSTOP);
            }
        }
        if (!e) {
            step = "commit";
            e = txn_retry(pb, 1, NULL, NULL, deadline);
            /* Timed out, the commit goes on in the brokers. Its records go
             * out again only if it failed: a renewed producer would replay
             * them, and they may be committed already (alerts twice). */
            if (e && rd_kafka_error_is_retriable(e) && !rd_kafka_error_txn_requires_abort(e) &&
                !rd_kafka_error_is_fatal(e)) {
                log_warn("collector", "transaction commit not ended after %lld ms, waiting for its outcome: %s",
                         (long long)(vntime_mono_us() / 1000 - t0), rd_kafka_error_string(e));
                rd_kafka_error_destroy(e);
                e = txn_retry(pb, 1, NULL, NULL, vntime_mono_us() / 1000 + PUBLISH_COMMIT_OUTCOME_MS);
            }
        }
        if (!e) {
            int64_t ms = vntime_mono_us() / 1000 - t0;
            /* The loop waits for a commit: a slow one is a slow cluster. */
            if (ms >= 250) log_info("collector", "transaction commit slow ms=%lld records=%zu", (long long)ms, pb->nkept);
            metrics_inc(pb->m, M_TXN_COMMITS);
            kept_clear(pb);
            pb->txn_open = 0;
            pb->aborts_in_row = 0;
            txn_begin(pb);
            return PUBLISH_COMMITTED;
        }
        if (rd_kafka_error_is_fatal(e) || !rd_kafka_error_txn_requires_abort(e)) return txn_fail(pb, step, e, 1);
    }
    int fenced = e && is_fencing(rd_kafka_error_code(e));
    char why[256];
    snprintf(why, sizeof why, "%s", e ? rd_kafka_error_string(e) : "a record was refused");
    if (e) rd_kafka_error_destroy(e);
    if (pb->txn_open && (e = txn_retry(pb, 2, NULL, NULL, deadline + 10000))) return txn_fail(pb, "abort", e, 1);
    pb->txn_open = 0;
    metrics_inc(pb->m, fenced ? M_TXN_FENCED : M_TXN_ABORTS);
    if (++pb->aborts_in_row > PUBLISH_MAX_ABORTS) {
        log_error("collector", "%u transactions aborted in a row (last: %s): giving up", pb->aborts_in_row, why);
        return PUBLISH_FATAL;
    }
    log_warn("collector", "transaction aborted at %s, fenced=%d, records=%zu kept for the next one: %s", step, fenced,
             pb->nkept, why);
    txn_begin(pb);
    replay_kept(pb);
    return PUBLISH_ABORTED;
}

int publish_discard(publish_t *pb, int timeout_ms) {
    if (!pb->txn) return 0;
    size_t n = pb->nkept;
    if (pb->txn_open) {
        rd_kafka_error_t *e = txn_retry(pb, 2, NULL, NULL, vntime_mono_us() / 1000 + timeout_ms);
        if (e) return txn_fail(pb, "abort", e, 0) == PUBLISH_FATAL ? PUBLISH_FATAL : 0;
        pb->txn_open = 0;
    }
    kept_clear(pb);
    if (n) {
        metrics_inc(pb->m, M_TXN_ABORTS);
        log_warn("collector", "transaction discarded records=%zu: what they said is no longer ours to say", n);
    }
    pb->aborts_in_row = 0;
    txn_begin(pb);
    return pb->txn_open ? 0 : PUBLISH_FATAL;
}

/* Produces a copy; on a full queue serves delivery reports for a moment and
 * tries again, so a burst slows the loop down instead of losing output.
 *
 * A burst also waits before it fills the queue: in a replay every unit
 * counted is due a QuotaStatus (up to QUOTA_SLICE a poll), and when the
 * brokers ack slower than that (a loaded machine) librdkafka held ~20,000
 * records, ~6 MiB, a tenth of the collector's 64 MiB. Past PUBLISH_OUTQ_MAX
 * records in flight the caller serves deliveries first, for at most
 * PUBLISH_OUTQ_WAIT_MS, then produces anyway (and stops waiting until the
 * queue has drained): memory, not output, gives way.
 * queue.buffering.max.kbytes cannot do this: a checkpoint larger than the
 * bound would be refused for ever. */
static rd_kafka_resp_err_t produce_copy(publish_t *pb, const char *topic, const void *key, size_t keylen,
                                       const void *value, size_t len, const char *reason, const char *source) {
    rd_kafka_resp_err_t e;
    int outq = rd_kafka_outq_len(pb->rk);
    if (outq <= PUBLISH_OUTQ_MAX / 2) pb->outq_gave_up = 0;
    if (outq > PUBLISH_OUTQ_MAX && !pb->outq_gave_up) {
        int64_t until = vntime_mono_us() / 1000 + PUBLISH_OUTQ_WAIT_MS;
        while ((outq = rd_kafka_outq_len(pb->rk)) > PUBLISH_OUTQ_MAX / 2 && vntime_mono_us() / 1000 < until)
            rd_kafka_poll(pb->rk, 5);
        /* Brokers not taking records: one wait, not one per record, until
         * the queue drains. */
        if (outq > PUBLISH_OUTQ_MAX / 2) {
            pb->outq_gave_up = 1;
            metrics_inc(pb->m, M_OUTQ_STALLS);
            log_warn("collector", "output queue not draining records=%d waited_ms=%d", outq, PUBLISH_OUTQ_WAIT_MS);
        }
    }
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
    return e;
}

static char *dup_bytes(const void *p, size_t n) {
    char *d = malloc(n + 1);
    if (d) {
        if (n) memcpy(d, p, n);
        d[n] = '\0';
    }
    return d;
}

/* Keeps a copy of a record of the open transaction. */
static int keep(publish_t *pb, const char *topic, const void *key, size_t keylen, const void *value, size_t len,
                const char *reason, const char *source) {
    if (pb->nkept == pb->capkept) {
        size_t n = pb->capkept ? 2 * pb->capkept : 256;
        struct kept *nk = realloc(pb->kept, n * sizeof *nk);
        if (!nk) return -1;
        pb->kept = nk;
        pb->capkept = n;
    }
    struct kept *k = &pb->kept[pb->nkept];
    *k = (struct kept){.topic = dup_bytes(topic, strlen(topic)),
                       .reason = reason ? dup_bytes(reason, strlen(reason)) : NULL,
                       .source = source ? dup_bytes(source, strlen(source)) : NULL,
                       .key = key ? dup_bytes(key, keylen) : NULL,
                       .value = value ? dup_bytes(value, len) : NULL,
                       .keylen = keylen,
                       .len = len};
    if (!k->topic || (reason && !k->reason) || (source && !k->source) || (key && !k->key) || (value && !k->value)) {
        kept_free_copy(k);
        return -1;
    }
    pb->nkept++;
    return 0;
}

static int produce(publish_t *pb, const char *topic, const void *key, size_t keylen, const void *value, size_t len,
                   const char *reason, const char *source, char *err, size_t errsz) {
    if (pb->txn) {
        if (keep(pb, topic, key, keylen, value, len, reason, source) < 0) {
            metrics_inc(pb->m, M_PRODUCE_ERRORS);
            snprintf(err, errsz, "cannot produce to %s: out of memory", topic);
            return -1;
        }
        /* Refused inside a transaction (it failed and awaits its abort):
         * kept, the record goes out in the next one. */
        if (!pb->txn_open || produce_copy(pb, topic, key, keylen, value, len, reason, source)) pb->txn_broken = 1;
        return 0;
    }
    rd_kafka_resp_err_t e = produce_copy(pb, topic, key, keylen, value, len, reason, source);
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
