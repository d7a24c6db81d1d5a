/* The batch pipeline: each loop turn polls up to BATCH_MAX records, lists
 * their signature checks as one sigpool batch, and handles the records one by
 * one in their order (validate, de-duplicate, cap, count; rejects to the
 * DLQ). In a backlog one batch stays in flight while the next is handled. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector.h"
#include "ispeed.pb-c.h"
#include "log.h"
#include "sign.h"
#include "vntime.h"

/* One loop turn's records, polled first so that their signatures are
 * verified together on the sigpool's threads, then handled one by one in the
 * order they came. hint[i] and env[i] belong to msg[i]; job[k] and res[k] to
 * msg[at[k]] for k < nj, and to the enrollment check chk[k - nj] after. */
struct batch {
    int n, nj, nchk;
    int pos;       /* the next record to handle (batch_handle resumes there) */
    int settled;   /* its checks are back (batch_settle) */
    int caught_up; /* the agents table was caught up after it was polled */
    int waited;    /* counted once in M_AGENT_CATCHUP_WAITS */
    rd_kafka_message_t *msg[BATCH_MAX];
    Ispeed__V1__SignedSample *env[BATCH_MAX];
    sig_hint hint[BATCH_MAX];
    sigpool_job job[BATCH_MAX + CHECK_MAX];
    int res[BATCH_MAX + CHECK_MAX];
    int at[BATCH_MAX];
    agents_check chk[CHECK_MAX];
    /* The signed bytes of the samples' receipts ("ispeed-receipt-v1" ||
     * receipt) whose job is the receipt's check (validate_sig_job), one
     * after the other: room for the longest each, but only what they use is
     * touched (a receipt is ~200 bytes of the 544 a slot each took). */
    uint8_t rmsg[BATCH_MAX * (TRUST_RECEIPT_MAX_BYTES + 32)];
};

/* ---- samples ---- */

static void handle_sample(struct collector *c, const rd_kafka_message_t *msg, const sig_hint *hint) {
    char detail[256];
    enum reject_reason reason = REJECT_NONE;
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(msg, &tstype);
    struct part *pt = consumer_part(c, msg->partition);
    if (pt) pt->next = msg->offset + 1;
    metrics_inc(c->m, M_SAMPLES_CONSUMED);

    enum ingest_result r = ingest_sample_ex(c->ing, msg->partition, msg->key, msg->key_len, msg->payload, msg->len,
                                            hint, ts, vntime_now_ms(), &reason, detail, sizeof detail);
    switch (r) {
    case INGEST_COUNTED: metrics_inc(c->m, M_SAMPLES_COUNTED); break;
    case INGEST_LATE: metrics_inc(c->m, M_SAMPLES_LATE); break;
    case INGEST_FAILED_TEST: metrics_inc(c->m, M_SAMPLES_FAILED_TEST); break;
    case INGEST_UNATTESTED: metrics_inc(c->m, M_SAMPLES_UNATTESTED); break;
    case INGEST_OVER_CAP:
        /* Valid but not counted: it goes to the DLQ too, so nothing that
         * does not count disappears silently (SPEC: anti-gaming). */
        metrics_inc(c->m, M_SAMPLES_OVER_CAP);
        metrics_inc(c->m, M_SAMPLES_ACCEPTED);
        reason = REJECT_DAILY_CAP;
        snprintf(detail, sizeof detail, "agent over its daily cap for the unit");
        /* fall through */
    case INGEST_REJECTED: {
        char source[256], err[256];
        snprintf(source, sizeof source, "%s/%d@%lld", c->samples_topic, msg->partition, (long long)msg->offset);
        metrics_reject(c->m, reason);
        log_info(COMP, "sample rejected reason=%s source=%s detail=\"%s\"", reject_reason_name(reason), source,
                 detail);
        if (publish_dlq(c->pb, msg->key, msg->key_len, msg->payload, msg->len, reject_reason_name(reason), source,
                        err, sizeof err) < 0)
            log_error(COMP, "%s; rejected record %s not in the DLQ", err, source);
        return;
    }
    case INGEST_ERROR:
        log_error(COMP, "cannot count sample: %s", detail);
        c->rc = 1;
        event_base_loopbreak(c->base);
        return;
    }
    metrics_inc(c->m, M_SAMPLES_ACCEPTED);
    if (r != INGEST_COUNTED)
        log_debug(COMP, "sample not counted why=%s partition=%d offset=%lld", ingest_result_name(r),
                  msg->partition, (long long)msg->offset);
}

/* Decodes each sample's envelope and lists the signature checks the batch
 * needs: each sample whose agent has a key, and each enrollment not checked
 * yet (at most CHECK_MAX). Nothing is decided here: a sample's outcome is a
 * hint that validate uses only if the agent's key is unchanged when the
 * sample's turn comes; unknown or undecodable ones are left to it. */
static void batch_prepare(struct collector *c, struct batch *b) {
    size_t rused = 0;
    b->nj = b->nchk = 0;
    for (int i = 0; i < b->n; i++) {
        const rd_kafka_message_t *msg = b->msg[i];
        Ispeed__V1__SignedSample *ss = NULL;
        const uint8_t *key;
        int need_check = 0;
        memset(&b->hint[i], 0, sizeof b->hint[i]);
        b->env[i] = NULL;
        if (msg->err || !msg->payload) continue;
        if (!(ss = ispeed__v1__signed_sample__unpack(NULL, msg->len, msg->payload))) continue;
        b->env[i] = ss;
        b->hint[i].envelope = ss;
        key = agents_peek(c->agents, ss->agent_id, b->nchk < CHECK_MAX ? &b->chk[b->nchk] : NULL, &need_check);
        if (need_check) b->nchk++;
        if (!key) continue;
        if (ss->receipt && c->icfg.attestation != VALIDATE_ATTEST_OFF) {
            /* One verification per sample: the receipt's, by its listed
             * server, which checked the agent's signature before signing a
             * receipt of this sample's digest. A receipt that cannot be
             * checked ahead (malformed, unlisted server) is left to
             * validate, which says why. */
            const validate_ctx v = {.attestation = c->icfg.attestation, .servers = c->icfg.servers};
            const uint8_t *sig;
            size_t mlen, slen;
            uint8_t *m = b->rmsg + rused;
            if (validate_sig_job(&v, ss, key, b->hint[i].public_key, m, TRUST_RECEIPT_MAX_BYTES + 32, &mlen, &sig,
                                 &slen) < 0)
                continue;
            rused += mlen;
            b->job[b->nj] = (sigpool_job){b->hint[i].public_key, m, mlen, sig, slen};
            b->at[b->nj++] = i;
            continue;
        }
        /* A copy of the key: the table may change before the sample's turn. */
        memcpy(b->hint[i].public_key, key, SIGN_PUBLIC_BYTES);
        b->job[b->nj] = (sigpool_job){b->hint[i].public_key, ss->sample.data, ss->sample.len, ss->signature.data,
                                      ss->signature.len};
        b->at[b->nj++] = i;
    }
    for (int k = 0; k < b->nchk; k++) {
        const agents_check *chk = &b->chk[k];
        b->job[b->nj + k] = (sigpool_job){chk->public_key, chk->msg, chk->len, chk->signature, chk->siglen};
    }
}

/* Waits for the batch's checks (verifying alongside the workers), then
 * settles its enrollments and writes its samples' hints. */
static void batch_settle(struct collector *c, struct batch *b) {
    uint64_t checked, cpu_ns;
    sigpool_wait(c->sigpool);
    /* The pool's totals become the counters: only this adds to them. */
    sigpool_stats(c->sigpool, &checked, &cpu_ns);
    metrics_add(c->m, M_SIG_CHECKS, checked - metrics_get(c->m, M_SIG_CHECKS));
    metrics_add(c->m, M_SIG_CHECK_CPU_US, cpu_ns / 1000 - metrics_get(c->m, M_SIG_CHECK_CPU_US));
    for (int k = 0; k < b->nchk; k++) agents_check_settle(c->agents, &b->chk[k], b->res[b->nj + k] == 0);
    for (int k = 0; k < b->nj; k++) b->hint[b->at[k]].sig = b->res[k] == 0 ? SIG_GOOD : SIG_BAD;
    b->settled = 1;
}

/* 0 when the table holds every enrollment the topic held when called. */
static int catch_up_agents(struct collector *c) {
    char err[256];
    metrics_inc(c->m, M_AGENT_CATCHUPS);
    if (topic_reader_catch_up(c->agents_feed, AGENT_CATCHUP_MS, pipeline_apply_enrollment, c, err, sizeof err) < 0) {
        collector_feed_failed(c, "agents", err);
        c->next_catchup_ms = collector_mono_ms() + AGENT_CATCHUP_RETRY_MS;
        return -1;
    }
    c->next_catchup_ms = collector_mono_ms() + AGENT_CATCHUP_GAP_MS;
    return 0;
}

/* needs_catch_up's answers. */
enum { CATCHUP_NO = 0, CATCHUP_WAIT, CATCHUP_LEAVE };

/* An agent enrolls before its first sample, but the agents feed is read on
 * a timer, so a sample of an agent the table does not know may only be
 * early. The table is caught up once for the batch: the catch-up reads to
 * the topic's end as it is after every record of the batch was polled, so
 * it holds every enrollment produced before them. Catch-ups are at least
 * AGENT_CATCHUP_GAP_MS apart: when one is due too soon and may_wait is set,
 * the batch stops before that sample (returns 1) and the loop comes back to
 * it; records keep their order and nothing after is polled, so a flood of
 * unknown agents slows the collector down but never stalls the loop per
 * sample, and an honest newcomer is never refused for being early.
 *
 * Nor for the agents topic being unreadable a while (its leader moving in a
 * broker restart): without a catch-up that reached the end the sample is
 * not decided. The batch waits and tries again (CATCHUP_WAIT), or in a drain,
 * which cannot wait, the sample and its partition's later records are left
 * to be read again (CATCHUP_LEAVE; pipeline_drain). */
static int needs_catch_up(struct collector *c, struct batch *b, int i, int may_wait) {
    const rd_kafka_message_t *msg = b->msg[i];
    int nc;
    if (b->caught_up || msg->err || !b->env[i] || agents_peek(c->agents, b->env[i]->agent_id, NULL, &nc))
        return CATCHUP_NO;
    if (may_wait && collector_mono_ms() < c->next_catchup_ms) {
        if (!b->waited) metrics_inc(c->m, M_AGENT_CATCHUP_WAITS);
        b->waited = 1;
        return CATCHUP_WAIT;
    }
    if (!may_wait && c->drain_catchup_failed) return CATCHUP_LEAVE; /* one failed try a drain */
    if (catch_up_agents(c) < 0) {
        if (!may_wait) {
            c->drain_catchup_failed = 1;
            return CATCHUP_LEAVE;
        }
        if (!b->waited) metrics_inc(c->m, M_AGENT_CATCHUP_WAITS);
        b->waited = 1;
        return CATCHUP_WAIT;
    }
    b->caught_up = 1;
    return CATCHUP_NO;
}

/* Handles the batch's records from b->pos in order, exactly as if each had
 * been handled when it was polled, and empties it; 1 when it stopped early
 * (needs_catch_up). */
static int batch_handle(struct collector *c, struct batch *b, int may_wait) {
    for (; b->pos < b->n; b->pos++) {
        int i = b->pos;
        rd_kafka_message_t *msg = b->msg[i];
        struct part *left = consumer_part(c, msg->partition); /* NULL for a consumer error */
        int r = left && left->resume_at >= 0 ? CATCHUP_LEAVE : needs_catch_up(c, b, i, may_wait);
        if (r == CATCHUP_WAIT) return 1;
        if (r == CATCHUP_LEAVE) {
            /* Order within the partition: nothing after it is handled either. */
            if (left && left->resume_at < 0) left->resume_at = msg->offset;
        } else if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            struct part *pt = left;
            if (pt && pt->assigned && pt->next < 0 && msg->offset >= 0) pt->next = msg->offset; /* empty so far */
            if (pt && pt->assigned && !pt->eof) {
                pt->eof = 1;
                log_debug(COMP, "partition read to its end partition=%d offset=%lld", msg->partition,
                          (long long)msg->offset);
                consumer_update_caught_up(c);
            }
        } else if (msg->err) {
            log_error(COMP, "consumer: %s", rd_kafka_message_errstr(msg));
            if (msg->err == RD_KAFKA_RESP_ERR__FATAL) {
                c->rc = 1;
                event_base_loopbreak(c->base);
            }
        } else {
            handle_sample(c, msg, &b->hint[i]);
        }
        if (b->env[i]) ispeed__v1__signed_sample__free_unpacked(b->env[i], NULL);
        rd_kafka_message_destroy(msg);
    }
    b->n = b->pos = b->settled = b->caught_up = b->waited = 0;
    return 0;
}

/* Handles every record polled so far: the batch in flight, then what fill
 * holds; 1 when a batch stopped early (may_wait only). */
static int drain(struct collector *c, int may_wait) {
    if (c->flight) {
        if (!c->flight->settled) batch_settle(c, c->flight);
        if (batch_handle(c, c->flight, may_wait)) return 1;
        c->flight = NULL;
    }
    if (c->fill->n > 0) {
        if (!c->fill->settled) {
            batch_prepare(c, c->fill);
            sigpool_submit(c->sigpool, c->fill->job, (size_t)(c->fill->nj + c->fill->nchk), c->fill->res);
            batch_settle(c, c->fill);
        }
        if (batch_handle(c, c->fill, may_wait)) return 1;
    }
    return 0;
}

/* A partition whose records a drain left: its position goes back to the
 * first one left (its checkpoints already say so: next did not move), so
 * they are read again, by us or by the partition's next owner. */
static void resume_left(struct collector *c) {
    for (int32_t p = 0; p < c->nparts; p++) {
        struct part *pt = &c->parts[p];
        if (pt->resume_at < 0) continue;
        metrics_inc(c->m, M_DRAIN_LEFT);
        log_warn(COMP, "records left unhandled partition=%d offset=%lld: the agents topic could not be read; "
                 "they are read again", p, (long long)pt->resume_at);
        if (pt->assigned && !c->stopping) {
            rd_kafka_topic_partition_list_t *at = rd_kafka_topic_partition_list_new(1);
            rd_kafka_topic_partition_list_add(at, c->samples_topic, p)->offset = pt->resume_at;
            rd_kafka_error_t *e = rd_kafka_seek_partitions(c->rk, at, 0);
            if (e) {
                /* Left as they are, they would be lost: stop, the restart
                 * reads them from the last checkpoint. */
                log_error(COMP, "cannot seek partition=%d back: %s", p, rd_kafka_error_string(e));
                rd_kafka_error_destroy(e);
                c->rc = 1;
                c->stopping = 1;
                event_base_loopbreak(c->base);
            }
            rd_kafka_topic_partition_list_destroy(at);
            pt->eof = 0;
        }
        pt->resume_at = -1;
    }
    consumer_update_caught_up(c);
}

/* After it nothing is pending (a rebalance, shutdown): catch-ups are not
 * waited for here; samples no catch-up could decide are left to a later
 * read (needs_catch_up). */
void pipeline_drain(struct collector *c) {
    c->drain_catchup_failed = 0;
    /* A held backlog batch came before the one in flight. */
    if (c->held == HELD_FILL) batch_handle(c, c->fill, 0);
    c->held = HELD_NONE;
    drain(c, 0);
    if (c->drain_catchup_failed) resume_left(c);
    c->drain_catchup_failed = 0;
}

/* Comes back to a held batch when the next catch-up is allowed. */
static void wait_for_catch_up(struct collector *c, int held) {
    int64_t ms = c->next_catchup_ms - collector_mono_ms();
    struct timeval tv = {0, 0};
    if (ms > 0) {
        tv.tv_sec = ms / 1000;
        tv.tv_usec = (ms % 1000) * 1000;
    }
    c->held = held;
    evtimer_add(c->ev_more, &tv);
}

/* librdkafka writes a byte to c->wake[1] when the consumer queue goes from
 * empty to non-empty (rd_kafka_queue_io_event_enable): the loop sleeps until
 * there is work, with no polling latency. A wake-up only comes after the
 * queue was empty, so each turn either drains it or schedules the next.
 * A rebalance served inside a poll handles the records polled before it
 * first (consumer.c's on_rebalance), so none is handled after its partition moved.
 *
 * In a backlog one batch stays in flight from a turn to the next: its
 * signatures are verified on the workers while this thread handles the batch
 * before it and polls the one after, so Ed25519 (most of the cost) is not
 * waited for. Checkpoints taken between turns cover only handled records. */
void pipeline_on_wake(evutil_socket_t fd, short what, void *arg) {
    (void)what;
    struct collector *c = arg;
    char buf[256];
    struct timeval zero = {0, 0};
    while (fd >= 0 && read(fd, buf, sizeof buf) > 0) {
    }
    if (c->held) {
        int held = c->held;
        c->held = HELD_NONE;
        if (held == HELD_DRAIN ? drain(c, 1) : batch_handle(c, c->fill, 1)) {
            wait_for_catch_up(c, held);
            return;
        }
        if (held == HELD_DRAIN) {
            /* The queue may have filled meanwhile, with no wake-up for it. */
            evtimer_add(c->ev_more, &zero);
            return;
        }
    }
    int n;
    for (n = 0; n < BATCH_MAX; n++) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(c->rk, 0);
        if (!msg) break;
        c->fill->msg[c->fill->n++] = msg;
    }
    if (n < BATCH_MAX) {
        if (drain(c, 1)) wait_for_catch_up(c, HELD_DRAIN);
        return;
    }
    struct batch *b = c->fill, *prev = c->flight;
    batch_prepare(c, b);
    if (prev && !prev->settled) batch_settle(c, prev);
    sigpool_submit(c->sigpool, b->job, (size_t)(b->nj + b->nchk), b->res);
    c->flight = b;
    c->fill = b == c->batches[0] ? c->batches[1] : c->batches[0];
    if (prev && batch_handle(c, prev, 1)) {
        wait_for_catch_up(c, HELD_FILL); /* prev is fill now */
        return;
    }
    /* More to read: continue from a zero timeout, not event_active. libevent
     * runs an event activated from its own callback in the same pass, so a
     * replay never let the loop poll: /metrics, timers (checkpoints) and
     * signals all waited for the backlog to end. A timer fires after the
     * next poll. */
    evtimer_add(c->ev_more, &zero);
}

/* ---- agents ---- */

/* The DLQ reason of agents_apply's message: its leading word when it has
 * one ("unsigned_tombstone: ..."), else bad_enrollment. */
static void enrollment_reason(const char *err, char *out, size_t outsz) {
    size_t n = strspn(err, "abcdefghijklmnopqrstuvwxyz_");
    if (n == 0 || n >= outsz || err[n] != ':') {
        snprintf(out, outsz, "bad_enrollment");
        return;
    }
    memcpy(out, err, n);
    out[n] = '\0';
}

int pipeline_apply_enrollment(const rd_kafka_message_t *msg, void *ctx, char *cb_err, size_t cb_errsz) {
    struct collector *c = ctx;
    (void)cb_err; /* a refused enrollment is the DLQ's, never a reason to stop reading */
    (void)cb_errsz;
    char err[256], reason[40], source[256], perr[256];
    if (agents_apply_at(c->agents, msg->key, msg->key_len, msg->payload, msg->payload ? msg->len : 0,
                        msg->partition, msg->offset, err, sizeof err) < 0) {
        enrollment_reason(err, reason, sizeof reason);
        metrics_inc(c->m, M_ENROLLMENTS_REJECTED);
        metrics_enrollment_reject(c->m, reason);
        snprintf(source, sizeof source, "%s/%d@%lld", rd_kafka_topic_name(msg->rkt), msg->partition,
                 (long long)msg->offset);
        log_warn(COMP, "enrollment rejected reason=%s source=%s detail=\"%s\"", reason, source, err);
        /* Refused as read: into the DLQ like a refused sample, so nothing
         * that changes nothing disappears silently. An oversized record is
         * sent without its value (the DLQ must not carry 900 KB). */
        if (publish_dlq(c->pb, msg->key, msg->key_len, msg->len > AGENTS_MAX_RECORD ? NULL : msg->payload,
                        msg->len > AGENTS_MAX_RECORD ? 0 : msg->len, reason, source, perr, sizeof perr) < 0)
            log_error(COMP, "%s; rejected enrollment %s not in the DLQ", perr, source);
        return 0;
    }
    metrics_inc(c->m, M_ENROLLMENTS_ACCEPTED);
    metrics_gauge(c->m, G_AGENTS, (double)agents_count(c->agents));
    return 0;
}

void pipeline_enrollment_rejected(const char *agent_id, const char *reason, int32_t partition, int64_t offset,
                                  void *ctx) {
    struct collector *c = ctx;
    char source[256], perr[256];
    metrics_inc(c->m, M_ENROLLMENTS_REJECTED);
    metrics_enrollment_reject(c->m, reason);
    snprintf(source, sizeof source, "%s/%d@%lld", c->agents_topic, partition, (long long)offset);
    log_info(COMP, "enrollment rejected at first use reason=%s agent=%s source=%s", reason, agent_id, source);
    /* Stored as read, refused when a sample first named the agent: the DLQ
     * gets it then, once (the entry is settled once; a restarted collector
     * reads the topic again and reports it again). */
    if (publish_dlq(c->pb, agent_id, strlen(agent_id), NULL, 0, reason, source, perr, sizeof perr) < 0)
        log_error(COMP, "%s; rejected enrollment %s not in the DLQ", perr, source);
}

void collector_feed_failed(struct collector *c, const char *which, const char *err) {
    metrics_inc(c->m, strcmp(which, "alerts") == 0 ? M_FEED_FAIL_ALERTS : M_FEED_FAIL_AGENTS);
    log_warn(COMP, "feed=%s %s", which, err);
}

int pipeline_init(struct collector *c) {
    if (!(c->batches[0] = calloc(1, sizeof *c->batches[0])) || !(c->batches[1] = calloc(1, sizeof *c->batches[1])))
        return -1;
    c->fill = c->batches[0];
    return 0;
}

void pipeline_free(struct collector *c) {
    free(c->batches[0]);
    free(c->batches[1]);
    c->batches[0] = c->batches[1] = c->fill = c->flight = NULL;
}
