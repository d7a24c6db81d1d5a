/* ispeed-collector: the consumer-group member that validates samples, counts
 * them per unit, month and network class, and publishes quota states,
 * alerts and rejects. This file owns the event loop and the Kafka consumer;
 * the counting is in ingest/quota, the outputs in publish. */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <fcntl.h>
#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agents.h"
#include "checkpoint.h"
#include "conffile.h"
#include "feed.h"
#include "http.h"
#include "ispeed.pb-c.h"
#include "ingest.h"
#include "kafka.h"
#include "log.h"
#include "merges.h"
#include "metrics.h"
#include "publish.h"
#include "quota.h"
#include "registry.h"
#include "sign.h"
#include "sigpool.h"
#include "strmap.h"
#include "vntime.h"

#define COMP "collector"
#define BATCH_MAX 1000        /* records per loop turn, so timers and HTTP keep their pace */
#define CHECK_MAX 256         /* enrollment checks a batch carries; more are checked inline */
#define AGENT_CATCHUP_MS 5000 /* how long a sample of an unknown agent may wait for its enrollment */
#define CLOSE_BUDGET_MS 5000  /* each step of the shutdown (consumer close, output flush) waits at most this */
#define STATE_CATCHUP_MS 10000 /* reading <prefix>collector.state to its end on an assignment */
#define CKPT_TICK_MS 100       /* the periodic checkpoint pass runs this often... */
#define CKPT_BUDGET_MS 10      /* ...and stops after the checkpoint that passes this */
#define QUOTA_GAP_MS 1000      /* at most one QuotaStatus per unit, month and class per second (SPEC) */
#define QUOTA_SLICE 2000       /* QuotaStatus per poll (100 ms): a replay's burst drains at 20,000/s */

typedef int32_t (*partitioner_fn)(const rd_kafka_topic_t *, const void *, size_t, int32_t, void *, void *);

struct part {
    uint8_t assigned;
    uint8_t eof;      /* read to the end since it was assigned */
    uint8_t kept;     /* revoked by an eager rebalance, state kept until the next assignment */
    int64_t next;     /* next offset to read, -1 before the first record */
    int64_t ckpt;     /* offset of the last checkpoint written or restored, -1 none */
    int64_t ckpt_ms;  /* monotonic ms of the last checkpoint written, 0 none */
    uint8_t ckpt_alert; /* an alert changed a state since: checkpoint even if no offset moved */
};

struct collector {
    /* configuration */
    const char *bootstrap, *units_path, *merges_path, *http_addr, *group, *prefix;
    kafka_props props;
    quota_config qcfg;
    ingest_config icfg;
    int64_t fixed_now; /* -1: the wall clock */
    int eval_interval_s;
    int ckpt_interval_ms;
    int digest_hour; /* -1: no daily digest */
    const char *targets_path;
    unsigned verify_threads; /* 1: signatures are verified on the loop's thread */

    /* state */
    struct event_base *base;
    registry_t *reg;
    merges_t *merges;
    agents_t *agents;
    metrics_t *m;
    quota_table_t *qt;
    ingest_t *ing;
    sigpool_t *sigpool;
    /* Records polled and not yet handled (on_consumer): fill is being
     * polled into; flight, when not NULL, was polled before it and has its
     * signatures being verified while the loop goes on. */
    struct batch *fill, *flight, *batches[2];
    publish_t *pb;
    feed_t *agents_feed;
    feed_t *alerts_feed; /* read only while not alerting: see update_caught_up */
    http_server_t *http;
    rd_kafka_t *rk;
    rd_kafka_queue_t *rkq;
    int wake[2];
    struct event *ev_consumer, *ev_eval, *ev_poll, *ev_sigint, *ev_sigterm;
    struct event *ev_more; /* zero-timeout timer: the next batch of a backlog */
    char samples_topic[192];
    int32_t samples_npart;
    partitioner_fn partitioner; /* NULL: producers partition at random, ownership is learnt from samples */
    struct part *parts;
    int32_t nparts;
    int caught_up;
    int rc;
    int stopping;
    int undelivered; /* the shutdown's flush timed out */

    /* checkpoints */
    strmap_t *ckpts;         /* "<topic>/<partition>" -> the latest record (struct blob) */
    rd_kafka_t *state_rk;    /* reader of <prefix>collector.state, kept between reads */
    rd_kafka_topic_t *state_rkt;
    int64_t *state_next;     /* per partition of collector.state: next offset to read */
    int32_t state_nparts;
    struct event *ev_ckpt;
    int64_t last_ckpt_ms;    /* -1: none yet */
    int32_t ckpt_cursor;     /* where the next periodic pass starts (round robin) */
    int64_t last_digest_day; /* Vietnamese day of the last digest sent */
};

struct blob {
    size_t len;
    uint8_t data[];
};

/* One loop turn's records, polled first so that their signatures are
 * verified together on the sigpool's threads, then handled one by one in the
 * order they came. hint[i] and env[i] belong to msg[i]; job[k] and res[k] to
 * msg[at[k]] for k < nj, and to the enrollment check chk[k - nj] after. */
struct batch {
    int n, nj, nchk;
    rd_kafka_message_t *msg[BATCH_MAX];
    Ispeed__V1__SignedSample *env[BATCH_MAX];
    sig_hint hint[BATCH_MAX];
    sigpool_job job[BATCH_MAX + CHECK_MAX];
    int res[BATCH_MAX + CHECK_MAX];
    int at[BATCH_MAX];
    agents_check chk[CHECK_MAX];
};

static void batch_drain(struct collector *c);

static int owned_province(const registry_unit *prov, void *ctx);
static int32_t province_partition(const registry_unit *prov, void *ctx);

/* ---- clock ---- */

/* Tests fix the time with --now-ms or ISPEED_NOW_MS; the clock then stands
 * still, so expected counts and states are exact. */
static int64_t now_ms(const struct collector *c) { return c->fixed_now >= 0 ? c->fixed_now : vntime_now_ms(); }

static int64_t mono_ms(void) { return vntime_mono_us() / 1000; }

/* ---- partitions and catch-up ---- */

static struct part *part_get(struct collector *c, int32_t p) {
    if (p < 0) return NULL;
    if (p >= c->nparts) {
        int32_t n = p + 1 > 2 * c->nparts ? p + 1 : 2 * c->nparts;
        struct part *np = realloc(c->parts, (size_t)n * sizeof *np);
        if (!np) return NULL;
        for (int32_t i = c->nparts; i < n; i++) np[i] = (struct part){0, 0, 0, -1, -1, 0, 0};
        c->parts = np;
        c->nparts = n;
    }
    return &c->parts[p];
}

static void publish_status(const quota_status *st, void *ctx) {
    struct collector *c = ctx;
    char err[256];
    /* Only the owner of a province publishes its counters: anyone else's
     * view of them is stale and would overwrite the owner's. */
    if (!owned_province(st->unit->province, c)) return;
    if (publish_quota(c->pb, st, err, sizeof err) < 0) log_error(COMP, "%s", err);
}

static void flush_quota(struct collector *c) {
    size_t n = quota_flush(c->qt, now_ms(c), publish_status, c);
    if (n) log_debug(COMP, "quota updates published count=%zu", n);
}

/* Called every poll (100 ms): a unit's change goes out at once unless the
 * unit was published less than QUOTA_GAP_MS ago, so the delay from a sample
 * to its QuotaStatus is one poll, not one checkpoint interval. */
static void flush_quota_due(struct collector *c) {
    size_t n = quota_flush_due(c->qt, now_ms(c), vntime_now_ms(), QUOTA_GAP_MS, QUOTA_SLICE, publish_status, c);
    if (n) log_debug(COMP, "quota updates published count=%zu", n);
}

static void evaluate(struct collector *c) {
    size_t n = quota_evaluate(c->qt, now_ms(c), owned_province, c);
    if (n) log_debug(COMP, "evaluation raised alerts=%zu", n);
}

/* Caught up = every assigned partition read to the high watermark it had
 * when we reached it (librdkafka's partition EOF event). Until then the
 * counts are a replay in progress: no alerts, and no quota updates (they
 * would publish partial counts over the complete ones of an earlier run). */
static void update_caught_up(struct collector *c) {
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
    if (publish_flush(c->pb, 5000) < 0) log_warn(COMP, "alerts still in flight before reading the alerts topic");
    if (feed_catch_up(c->alerts_feed, 10000, err, sizeof err) < 0) log_warn(COMP, "%s; alerts may repeat", err);
    quota_set_alerting(c->qt, 1);
    log_info(COMP, "caught up with the samples topic partitions=%d", n);
    evaluate(c);
    flush_quota_due(c); /* the rest in the next polls, a slice each */
}

/* The samples partition a province's key goes to: known from the producers'
 * partitioner, else learnt from the samples seen. */
static int32_t province_partition(const registry_unit *prov, void *ctx) {
    struct collector *c = ctx;
    if (c->partitioner && c->samples_npart > 0)
        return c->partitioner(NULL, prov->code, strlen(prov->code), c->samples_npart, NULL, NULL);
    return ingest_province_partition(c->ing, prov);
}

static int owned_province(const registry_unit *prov, void *ctx) {
    struct collector *c = ctx;
    int32_t p = province_partition(prov, c);
    return p >= 0 && p < c->nparts && c->parts[p].assigned;
}

/* ---- checkpoints ---- */

static void ckpt_key(const struct collector *c, int32_t p, char *out, size_t outsz) {
    snprintf(out, outsz, "%s/%d", c->samples_topic, (int)p);
}

/* Every record of <prefix>collector.state: the last one per key wins (the
 * embedded Kafka does not compact, a real one keeps at least the last). */
static void apply_checkpoint_record(const rd_kafka_message_t *msg, void *ctx) {
    struct collector *c = ctx;
    char key[256];
    if (!msg->key || msg->key_len == 0 || msg->key_len >= sizeof key) return;
    memcpy(key, msg->key, msg->key_len);
    key[msg->key_len] = '\0';
    if (!msg->payload) {
        free(strmap_remove(c->ckpts, key));
        return;
    }
    struct blob *b = malloc(sizeof *b + msg->len);
    void *old = NULL;
    if (!b) return;
    b->len = msg->len;
    memcpy(b->data, msg->payload, msg->len);
    if (strmap_put(c->ckpts, key, b, &old) < 0) {
        free(b);
        return;
    }
    free(old);
}

/* Reads <prefix>collector.state from where the last read stopped to its end
 * (the high watermarks of this moment) into c->ckpts. The first read happens
 * at start, while the group join is still under way, so an assignment only
 * reads what was written since: a restart restores in well under a second.
 * The embedded Kafka answers a fetch with one batch per partition and holds
 * it fetch.wait.max.ms (500) when any partition is at its end, and every
 * checkpoint is a batch of its own: with the default, reading a few hundred
 * checkpoints took longer than a rebalance may. */
static int read_checkpoints(struct collector *c, char *err, size_t errsz) {
    char topic[192];
    int rc = -1;
    rd_kafka_conf_t *conf = NULL;
    const struct rd_kafka_metadata *md = NULL;
    int64_t *high = NULL;
    uint8_t *reading = NULL; /* consume_start'ed in this read */
    int32_t n = 0;
    int64_t t0 = vntime_now_ms(), deadline = t0 + STATE_CATCHUP_MS;
    rd_kafka_resp_err_t e;
    kafka_topic_name(topic, sizeof topic, c->prefix, "collector.state");
    if (!c->state_rk) {
        if (!(conf = kafka_conf_new(c->bootstrap, &c->props, err, errsz)) ||
            kafka_conf_set(conf, "enable.auto.commit", "false", err, errsz) < 0 ||
            kafka_conf_set(conf, "enable.auto.offset.store", "false", err, errsz) < 0 ||
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
                    apply_checkpoint_record(msgs[i], c);
                    c->state_next[p] = msgs[i]->offset + 1;
                } else if (msgs[i]->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                    log_warn(COMP, "reading %s: %s", topic, rd_kafka_message_errstr(msgs[i]));
                }
                rd_kafka_message_destroy(msgs[i]);
            }
        }
        if (!behind) break;
        rd_kafka_poll(c->state_rk, 5); /* nothing ready: let the fetchers work */
        if (vntime_now_ms() > deadline) {
            for (int32_t p = 0; p < n; p++)
                if (c->state_next[p] < high[p])
                    log_debug(COMP, "not read to its end partition=%d next=%lld high=%lld", p,
                              (long long)c->state_next[p], (long long)high[p]);
            snprintf(err, errsz, "%s not read to its end within %d ms", topic, STATE_CATCHUP_MS);
            goto out;
        }
    }
    rc = 0;
    log_info(COMP, "checkpoints read keys=%zu ms=%lld", strmap_size(c->ckpts),
             (long long)(vntime_now_ms() - t0));
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
static int write_checkpoint(struct collector *c, int32_t p) {
    struct part *pt = part_get(c, p);
    char key[256], err[256];
    uint8_t *buf = NULL;
    size_t len = 0;
    if (!pt || pt->next < 0) return 0;
    int64_t t0 = vntime_now_ms();
    ckpt_key(c, p, key, sizeof key);
    if (checkpoint_encode(c->reg, c->ing, c->qt, c->samples_topic, p, pt->next, now_ms(c), province_partition, c,
                          &buf, &len, err, sizeof err) < 0 ||
        publish_checkpoint(c->pb, key, buf, len, err, sizeof err) < 0) {
        log_error(COMP, "checkpoint not written partition=%d: %s", p, err);
        free(buf);
        return -1;
    }
    log_debug(COMP, "checkpoint written partition=%d next_offset=%lld bytes=%zu ms=%lld", p, (long long)pt->next, len,
              (long long)(vntime_now_ms() - t0));
    free(buf);
    pt->ckpt = pt->next;
    pt->ckpt_ms = mono_ms();
    pt->ckpt_alert = 0;
    c->last_ckpt_ms = vntime_now_ms();
    return 0;
}

/* Quota updates are published apart from checkpoints (on_poll): what the
 * quota topics show is ahead of the last checkpoint by at most one interval,
 * and a restart publishes nothing before it has caught up, so it re-publishes
 * the same keys with counts grown back to (and past) what was shown. */
/* Every assigned partition's checkpoint, at once: the last word at shutdown. */
static void write_checkpoints(struct collector *c) {
    for (int32_t p = 0; p < c->nparts; p++)
        if (c->parts[p].assigned) write_checkpoint(c, p);
}

/* The periodic pass, every CKPT_TICK_MS: the partitions that moved (or saw an
 * alert) and were last written at least --checkpoint-interval ago, round
 * robin, until CKPT_BUDGET_MS are spent. A checkpoint holds a province's
 * whole state and takes milliseconds at a month's volume: writing all that
 * moved in one go stalled the loop for seconds (the delay probes' p99),
 * and every second during a replay took most of the loop. */
static void write_checkpoints_due(struct collector *c) {
    int64_t t0 = mono_ms();
    for (int32_t k = 0; k < c->nparts; k++) {
        int32_t p = (c->ckpt_cursor + k) % c->nparts;
        struct part *pt = &c->parts[p];
        if (!pt->assigned || (!pt->ckpt_alert && pt->next == pt->ckpt)) continue;
        if (pt->ckpt_ms && t0 - pt->ckpt_ms < c->ckpt_interval_ms) continue;
        write_checkpoint(c, p);
        if (mono_ms() - t0 >= CKPT_BUDGET_MS) {
            c->ckpt_cursor = (p + 1) % c->nparts;
            return;
        }
    }
}

/* Replaces what we hold for partition p with its latest checkpoint; returns
 * the offset to read from (RD_KAFKA_OFFSET_BEGINNING without one). */
static int64_t restore_partition(struct collector *c, int32_t p) {
    char key[256], err[256];
    struct part *pt = part_get(c, p);
    size_t nprov = ingest_drop_partition(c->ing, p);
    if (nprov) log_info(COMP, "stale state dropped partition=%d provinces=%zu", p, nprov);
    ckpt_key(c, p, key, sizeof key);
    const struct blob *b = strmap_get(c->ckpts, key);
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
    free(strmap_remove(c->ckpts, key));
    log_info(COMP, "checkpoint restored partition=%d next_offset=%lld provinces=%zu age_ms=%lld", p, (long long)next,
             nprov, (long long)(vntime_now_ms() - created));
    return next;
}

static partitioner_fn partitioner_from_props(const kafka_props *props) {
    const char *name = "consistent_random"; /* librdkafka's default, which the agent uses */
    for (size_t i = 0; i < props->n; i++)
        if (strcmp(props->key[i], "partitioner") == 0) name = props->value[i];
    if (!strcmp(name, "consistent") || !strcmp(name, "consistent_random"))
        return rd_kafka_msg_partitioner_consistent;
    if (!strcmp(name, "murmur2") || !strcmp(name, "murmur2_random")) return rd_kafka_msg_partitioner_murmur2;
    if (!strcmp(name, "fnv1a") || !strcmp(name, "fnv1a_random")) return rd_kafka_msg_partitioner_fnv1a;
    return NULL;
}

static int32_t topic_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms) {
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
    struct part *pt = part_get(c, p);
    if (pt) *pt = (struct part){0, 0, 0, -1, -1, 0, 0};
    log_info(COMP, "partition dropped partition=%d provinces=%zu", p, n);
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                         void *opaque) {
    struct collector *c = opaque;
    int coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    /* Records polled before the rebalance came are still ours: counted now,
     * they are in the revoke's checkpoints. */
    batch_drain(c);
    rd_kafka_error_t *error = NULL;
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;

    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        char ferr[256];
        /* What the previous owners wrote before they let go (they flush
         * their last checkpoint in their revoke, which precedes this). */
        if (parts->cnt > 0 && read_checkpoints(c, ferr, sizeof ferr) < 0)
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
            struct part *pt = part_get(c, parts->elems[i].partition);
            if (!pt) continue;
            /* Nothing is committed to the group: the offset to read from is
             * the one in the partition's latest checkpoint (or the beginning
             * without one); one whose state we kept resumes where we were. */
            if (pt->kept && pt->next >= 0)
                parts->elems[i].offset = pt->next;
            else
                parts->elems[i].offset = restore_partition(c, parts->elems[i].partition);
            log_info(COMP, "partition assigned partition=%d offset=%lld t_ms=%lld pid=%d", parts->elems[i].partition,
                     (long long)parts->elems[i].offset, (long long)vntime_now_ms(), (int)getpid());
            pt->assigned = 1;
            pt->kept = 0;
            pt->eof = 0;
        }
        int32_t n = topic_partitions(rk, c->samples_topic, 2000);
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
        if (c->caught_up) flush_quota(c);
        for (int i = 0; i < parts->cnt && !lost; i++) {
            struct part *pt = part_get(c, parts->elems[i].partition);
            if (pt && pt->assigned) write_checkpoint(c, parts->elems[i].partition);
        }
        if (!lost && publish_flush(c->pb, c->stopping ? 0 : CLOSE_BUDGET_MS) < 0)
            log_warn(COMP, "checkpoints still in flight at revoke: the next owner may replay more");
        for (int i = 0; i < parts->cnt; i++)
            log_info(COMP, "partition revoked partition=%d t_ms=%lld pid=%d lost=%d", parts->elems[i].partition,
                     (long long)vntime_now_ms(), (int)getpid(), lost);
        for (int i = 0; i < parts->cnt; i++) {
            int32_t p = parts->elems[i].partition;
            struct part *pt = part_get(c, p);
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
    update_caught_up(c);
}

/* ---- samples ---- */

static void handle_sample(struct collector *c, const rd_kafka_message_t *msg, const sig_hint *hint) {
    char detail[256];
    enum reject_reason reason = REJECT_NONE;
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(msg, &tstype);
    struct part *pt = part_get(c, msg->partition);
    if (pt) pt->next = msg->offset + 1;
    metrics_inc(c->m, M_SAMPLES_CONSUMED);

    enum ingest_result r = ingest_sample_ex(c->ing, msg->partition, msg->key, msg->key_len, msg->payload, msg->len,
                                            hint, ts, now_ms(c), &reason, detail, sizeof detail);
    switch (r) {
    case INGEST_COUNTED: metrics_inc(c->m, M_SAMPLES_COUNTED); break;
    case INGEST_LATE: metrics_inc(c->m, M_SAMPLES_LATE); break;
    case INGEST_FAILED_TEST: metrics_inc(c->m, M_SAMPLES_FAILED_TEST); break;
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
    sigpool_wait(c->sigpool);
    for (int k = 0; k < b->nchk; k++) agents_check_settle(c->agents, &b->chk[k], b->res[b->nj + k] == 0);
    for (int k = 0; k < b->nj; k++) b->hint[b->at[k]].sig = b->res[k] == 0 ? SIG_GOOD : SIG_BAD;
}

/* Handles the batch's records in order, exactly as if each had been handled
 * when it was polled, and empties it. */
static void batch_handle(struct collector *c, struct batch *b) {
    for (int i = 0; i < b->n; i++) {
        rd_kafka_message_t *msg = b->msg[i];
        if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            struct part *pt = part_get(c, msg->partition);
            if (pt && pt->assigned && pt->next < 0 && msg->offset >= 0) pt->next = msg->offset; /* empty so far */
            if (pt && pt->assigned && !pt->eof) {
                pt->eof = 1;
                log_debug(COMP, "partition read to its end partition=%d offset=%lld", msg->partition,
                          (long long)msg->offset);
                update_caught_up(c);
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
    b->n = 0;
}

/* Handles every record polled so far: the batch in flight, then what fill
 * holds. After it nothing is pending (a rebalance, the end of a backlog,
 * shutdown). */
static void batch_drain(struct collector *c) {
    if (c->flight) {
        batch_settle(c, c->flight);
        batch_handle(c, c->flight);
        c->flight = NULL;
    }
    if (c->fill->n > 0) {
        batch_prepare(c, c->fill);
        sigpool_submit(c->sigpool, c->fill->job, (size_t)(c->fill->nj + c->fill->nchk), c->fill->res);
        batch_settle(c, c->fill);
        batch_handle(c, c->fill);
    }
}

/* librdkafka writes a byte to c->wake[1] when the consumer queue goes from
 * empty to non-empty (rd_kafka_queue_io_event_enable): the loop sleeps until
 * there is work, with no polling latency. A wake-up only comes after the
 * queue was empty, so each turn either drains it or schedules the next.
 * A rebalance served inside a poll handles the records polled before it
 * first (on_rebalance), so none is handled after its partition moved.
 *
 * In a backlog one batch stays in flight from a turn to the next: its
 * signatures are verified on the workers while this thread handles the batch
 * before it and polls the one after, so Ed25519 (most of the cost) is not
 * waited for. Checkpoints taken between turns cover only handled records. */
static void on_consumer(evutil_socket_t fd, short what, void *arg) {
    (void)what;
    struct collector *c = arg;
    char buf[256];
    while (fd >= 0 && read(fd, buf, sizeof buf) > 0) {
    }
    int n;
    for (n = 0; n < BATCH_MAX; n++) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(c->rk, 0);
        if (!msg) break;
        c->fill->msg[c->fill->n++] = msg;
    }
    if (n < BATCH_MAX) {
        batch_drain(c);
        return;
    }
    struct batch *b = c->fill, *prev = c->flight;
    batch_prepare(c, b);
    if (prev) batch_settle(c, prev);
    sigpool_submit(c->sigpool, b->job, (size_t)(b->nj + b->nchk), b->res);
    c->flight = b;
    c->fill = b == c->batches[0] ? c->batches[1] : c->batches[0];
    if (prev) batch_handle(c, prev);
    /* More to read: continue from a zero timeout, not event_active. libevent
     * runs an event activated from its own callback in the same pass, so a
     * replay never let the loop poll: /metrics, timers (checkpoints) and
     * signals all waited for the backlog to end. A timer fires after the
     * next poll. */
    struct timeval zero = {0, 0};
    evtimer_add(c->ev_more, &zero);
}

/* ---- agents ---- */

static void apply_enrollment(const rd_kafka_message_t *msg, void *ctx) {
    struct collector *c = ctx;
    char err[256];
    if (agents_apply(c->agents, msg->key, msg->key_len, msg->payload, msg->payload ? msg->len : 0, err,
                     sizeof err) < 0) {
        metrics_inc(c->m, M_ENROLLMENTS_REJECTED);
        log_warn(COMP, "enrollment rejected partition=%d offset=%lld reason=\"%s\"", msg->partition,
                 (long long)msg->offset, err);
        return;
    }
    metrics_inc(c->m, M_ENROLLMENTS_ACCEPTED);
    metrics_gauge(c->m, G_AGENTS, (double)agents_count(c->agents));
}

static void refresh_agents(void *ctx) {
    struct collector *c = ctx;
    char err[256];
    metrics_inc(c->m, M_AGENT_CATCHUPS);
    if (feed_catch_up(c->agents_feed, AGENT_CATCHUP_MS, err, sizeof err) < 0) log_warn(COMP, "%s", err);
}

/* ---- alerts ---- */

static void apply_alert(const rd_kafka_message_t *msg, void *ctx) {
    struct collector *c = ctx;
    Ispeed__V1__Alert *a = msg->payload ? ispeed__v1__alert__unpack(NULL, msg->len, msg->payload) : NULL;
    if (!a) return; /* not ours to judge: the alerts topic is our own output */
    const registry_unit *u = registry_find(c->reg, a->unit);
    if (u && (a->network == ISPEED__V1__NETWORK__NETWORK_FIXED || a->network == ISPEED__V1__NETWORK__NETWORK_MOBILE) &&
        (int)a->to_state >= (int)QUOTA_ON_TRACK && (int)a->to_state <= (int)QUOTA_MET)
        /* A state newer than our checkpoint's: the quota update that went
         * with that alert may have died with the process that sent it. Only
         * for our provinces: the others are another collector's to publish. */
        if (quota_seed_state(c->qt, u, a->month, (enum quota_network)a->network, (enum quota_state)a->to_state) > 0 &&
            owned_province(u->province, c))
            quota_touch(c->qt, u, a->month, (enum quota_network)a->network);
    ispeed__v1__alert__free_unpacked(a, NULL);
}

static void on_alert(const quota_alert *a, void *ctx) {
    struct collector *c = ctx;
    char err[256];
    const quota_status *st = &a->status;
    log_info(COMP, "alert unit=%s level=%s month=%s network=%s from=%s to=%s count=%llu expected=%.1f target=%u",
             st->unit->code, registry_level_name(st->unit->level), st->month, quota_network_name(st->network),
             quota_state_name(a->from), quota_state_name(st->state), (unsigned long long)st->count, st->expected,
             st->target);
    if (publish_alert(c->pb, a, err, sizeof err) < 0) log_error(COMP, "%s", err);
    /* The restart must not repeat it: the counter's partition checkpoints
     * at its next turn even if no offset moved. */
    struct part *pt = part_get(c, province_partition(a->status.unit->province, c));
    if (pt)
        pt->ckpt_alert = 1;
    else /* partition not known yet: every one we own */
        for (int32_t p = 0; p < c->nparts; p++) c->parts[p].ckpt_alert |= c->parts[p].assigned;
}

/* ---- daily digest ---- */

struct digest_acc {
    quota_status *v;
    size_t n, cap;
};

static void digest_add(const quota_status *st, void *ctx) {
    struct digest_acc *d = ctx;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        quota_status *nv = realloc(d->v, cap * sizeof *nv);
        if (!nv) return;
        d->v = nv;
        d->cap = cap;
    }
    d->v[d->n++] = *st;
}

/* Once a day, from --digest-hour on (Vietnam's time), each owned province's
 * BEHIND counters go to <prefix>digest.<province>, keyed by province and
 * day: a digest repeated after a restart replaces the same key. */
static void maybe_digest(struct collector *c, int64_t now) {
    if (c->digest_hour < 0 || !c->caught_up) return;
    int64_t t = now + VNTIME_OFFSET_MS;
    int64_t day = t / 86400000LL, hour = (t % 86400000LL) / 3600000LL;
    if (hour < c->digest_hour || day == c->last_digest_day) return;
    c->last_digest_day = day;
    char dayname[20], err[256];
    vntime_format(now, dayname);
    dayname[10] = '\0'; /* "YYYY-MM-DD" */
    for (size_t i = 0; i < registry_size(c->reg); i++) {
        const registry_unit *p = registry_unit_at(c->reg, i);
        if (p->level != REGISTRY_PROVINCE || !owned_province(p, c)) continue;
        struct digest_acc d = {0};
        quota_behind(c->qt, p, now, digest_add, &d);
        if (publish_digest(c->pb, p, dayname, d.v, d.n, now, err, sizeof err) < 0)
            log_error(COMP, "digest of %s not sent: %s", p->code, err);
        else
            log_info(COMP, "digest sent province=%s day=%s behind=%zu", p->code, dayname, d.n);
        free(d.v);
    }
}

/* ---- /v1/quota ---- */

static void json_str(struct evbuffer *out, const char *s) {
    evbuffer_add(out, "\"", 1);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            evbuffer_add_printf(out, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            evbuffer_add_printf(out, "\\u%04x", *s);
        else
            evbuffer_add(out, s, 1);
    }
    evbuffer_add(out, "\"", 1);
}

static int http_quota(const char *province, const char *month, struct evbuffer *out, void *ctx) {
    struct collector *c = ctx;
    char cur[8];
    int64_t s, e, now = now_ms(c);
    const registry_unit *p = registry_find(c->reg, province);
    if (!month) {
        vntime_month(now, cur);
        month = cur;
    }
    if (!p || p->level != REGISTRY_PROVINCE) {
        evbuffer_add_printf(out, "{\"error\":\"no province ");
        json_str(out, province);
        evbuffer_add_printf(out, " in the registry\"}\n");
        return 404;
    }
    if (strlen(month) != 7 || vntime_month_bounds(month, &s, &e) < 0) {
        evbuffer_add_printf(out, "{\"error\":\"month must be YYYY-MM\"}\n");
        return 400;
    }
    if (!owned_province(p, c)) {
        evbuffer_add_printf(out, "{\"error\":\"province %s is counted by another collector of the group\"}\n",
                            p->code);
        return 404;
    }
    evbuffer_add_printf(out, "{\"province\":\"%s\",\"month\":\"%s\",\"caught_up\":%s,\"units\":[", p->code, month,
                        c->caught_up ? "true" : "false");
    int first = 1;
    for (size_t i = 0; i < registry_size(c->reg); i++) {
        const registry_unit *u = registry_unit_at(c->reg, i);
        if (u->province != p) continue;
        for (int n = QUOTA_FIXED; n <= QUOTA_MOBILE; n++) {
            quota_status st;
            if (quota_get(c->qt, u, month, (enum quota_network)n, now, &st) < 0) continue;
            evbuffer_add_printf(out, "%s{\"code\":", first ? "" : ",");
            json_str(out, u->code);
            evbuffer_add_printf(out, ",\"name\":");
            json_str(out, u->name);
            evbuffer_add_printf(out,
                                ",\"level\":\"%s\",\"parent\":\"%s\",\"network\":\"%s\",\"count\":%llu,\"target\":%u,"
                                "\"expected\":%.2f,\"state\":\"%s\",\"projection\":%.2f,\"late_count\":%llu,"
                                "\"count_5g\":%llu,\"median_download_bps\":%llu,\"median_upload_bps\":%llu,"
                                "\"median_latency_ms\":%.2f,\"operators\":{",
                                registry_level_name(u->level), u->parent ? u->parent->code : "",
                                quota_network_name(st.network), (unsigned long long)st.count, st.target, st.expected,
                                quota_state_name(st.state), st.projection, (unsigned long long)st.late_count,
                                (unsigned long long)st.count_5g, (unsigned long long)st.median_download_bps,
                                (unsigned long long)st.median_upload_bps, st.median_latency_ms);
            /* Sums to count; names are normalised (valid UTF-8, no controls). */
            for (size_t k = 0; k < st.n_operators; k++) {
                if (k) evbuffer_add(out, ",", 1);
                json_str(out, st.operators[k].name);
                evbuffer_add_printf(out, ":%llu", (unsigned long long)st.operators[k].count);
            }
            evbuffer_add_printf(out, "}}");
            first = 0;
        }
    }
    evbuffer_add_printf(out, "]}\n");
    return 200;
}

/* ---- timers and signals ---- */

static void on_poll(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    struct collector *c = arg;
    publish_poll(c->pb);
    if (c->caught_up) flush_quota_due(c);
    feed_poll(c->agents_feed, BATCH_MAX);
    /* After the flush: 0 and 0 tell a reader of the quota topics that they
     * show every count (the exactness test waits for it). */
    metrics_gauge(c->m, G_QUOTA_DIRTY, (double)quota_dirty_count(c->qt));
    metrics_gauge(c->m, G_OUTPUT_QUEUE, (double)rd_kafka_outq_len(publish_handle(c->pb)));
    if (c->last_ckpt_ms >= 0)
        metrics_gauge(c->m, G_CHECKPOINT_AGE, (double)(vntime_now_ms() - c->last_ckpt_ms) / 1000.0);
    int64_t lag = 0;
    for (int32_t p = 0; p < c->nparts; p++) {
        int64_t lo, hi;
        if (!c->parts[p].assigned ||
            rd_kafka_get_watermark_offsets(c->rk, c->samples_topic, p, &lo, &hi) != RD_KAFKA_RESP_ERR_NO_ERROR || hi < 0)
            continue;
        int64_t at = c->parts[p].next >= 0 ? c->parts[p].next : lo;
        if (hi > at) lag += hi - at;
    }
    metrics_gauge(c->m, G_CONSUMER_LAG, (double)lag);
}

static void on_checkpoint(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    write_checkpoints_due(arg);
}

static void on_eval(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    struct collector *c = arg;
    if (!c->caught_up) return;
    int64_t now = now_ms(c);
    evaluate(c);
    size_t behind = 0;
    for (size_t i = 0; i < registry_size(c->reg); i++) {
        const registry_unit *p = registry_unit_at(c->reg, i);
        if (p->level == REGISTRY_PROVINCE && owned_province(p, c)) behind += quota_behind(c->qt, p, now, NULL, NULL);
    }
    metrics_gauge(c->m, G_UNITS_BEHIND, (double)behind);
    maybe_digest(c, now);
}

static void on_signal(evutil_socket_t sig, short what, void *arg) {
    (void)what;
    struct collector *c = arg;
    log_info(COMP, "stopping signal=%d", (int)sig);
    c->stopping = 1;
    event_base_loopbreak(c->base);
}

/* ---- command line ---- */

enum {
    OPT_BOOTSTRAP = 'b',
    OPT_PROP = 'X',
    OPT_HELP = 'h',
    OPT_UNITS = 256,
    OPT_MERGES,
    OPT_HTTP,
    OPT_REPLAY,
    OPT_GROUP,
    OPT_PREFIX,
    OPT_TARGET,
    OPT_BEHIND_SHARE,
    OPT_PACE_START_DAY,
    OPT_DAILY_CAP,
    OPT_GRACE_DAY,
    OPT_EVAL_INTERVAL,
    OPT_LOG_LEVEL,
    OPT_NOW_MS,
    OPT_CHECKPOINT_INTERVAL,
    OPT_TARGET_LEVEL,
    OPT_TARGETS,
    OPT_DIGEST_HOUR,
    OPT_CONFIG,
    OPT_CONFIG_EXAMPLE,
    OPT_VERIFY_THREADS,
};

#define CONFIG_PATH "/etc/ispeed/collector.conf"

/* Every option once: getopt's table, --help, the defaults and the
 * configuration file's keys (same names, under section) are built from it.
 * section NULL: not a key of the file. example: what the example file sets
 * for a key without default (the packaged paths). */
static const struct {
    const char *name;
    int id, has_arg;
    const char *arg, *section, *def, *example, *help;
} option_defs[] = {
    {"bootstrap", OPT_BOOTSTRAP, 1, "BOOTSTRAP", "kafka", NULL, NULL,
     "Kafka bootstrap list (required), e.g. localhost:9092"},
    {"group", OPT_GROUP, 1, "ID", "kafka", "ispeed-collector", NULL, "consumer group"},
    {"topic-prefix", OPT_PREFIX, 1, "P", "kafka", KAFKA_DEFAULT_PREFIX, NULL, "prefix of every topic"},
    {"units", OPT_UNITS, 1, "FILE", "collector", NULL, "/usr/share/ispeed-collector/units.csv",
     "registry CSV code,level,parent,name,type (required)"},
    {"merges", OPT_MERGES, 1, "FILE", "collector", NULL, NULL,
     "commune merges CSV old_commune,new_commune,kind: count old codes as new"},
    {"http", OPT_HTTP, 1, "ADDR:PORT", "collector", NULL, "127.0.0.1:9464", "serve /metrics (Prometheus) and /healthz"},
    {"replay", OPT_REPLAY, 0, NULL, "collector", NULL, NULL,
     "count every sample in its month whenever it arrives (back-fill)"},
    {"checkpoint-interval", OPT_CHECKPOINT_INTERVAL, 1, "MS", "collector", "1000", NULL,
     "write the checkpoints of the partitions that moved this often"},
    {"eval-interval", OPT_EVAL_INTERVAL, 1, "S", "collector", "5", NULL,
     "seconds between pace evaluations of every unit"},
    {"verify-threads", OPT_VERIFY_THREADS, 1, "N", "collector", NULL, NULL,
     "threads verifying signatures, 1 = on the event loop's (default: online CPUs, at most 16)"},
    {"log-level", OPT_LOG_LEVEL, 1, "L", "collector", "info", NULL, "error, warn, info or debug"},
    {"now-ms", OPT_NOW_MS, 1, "MS", "collector", NULL, NULL,
     "fix the clock at this Unix time in ms, for tests (or env ISPEED_NOW_MS)"},
    {"target", OPT_TARGET, 1, "N", "quota", "300", NULL, "samples per unit, month and network class"},
    {"target-level", OPT_TARGET_LEVEL, 1, "L[:C]=N", "quota", NULL, NULL,
     "target of a level and/or class, e.g. district=150, commune:mobile=100, mobile=200 (repeatable)"},
    {"targets", OPT_TARGETS, 1, "FILE", "quota", NULL, NULL,
     "per-unit targets, CSV unit,network,target (network fixed, mobile or empty)"},
    {"behind-share", OPT_BEHIND_SHARE, 1, "F", "quota", "0.8", NULL, "BEHIND below this share of the expected count"},
    {"pace-start-day", OPT_PACE_START_DAY, 1, "D", "quota", "3", NULL, "no unit is BEHIND before this day of the month"},
    {"daily-cap", OPT_DAILY_CAP, 1, "N", "quota", "12", NULL,
     "samples one agent may count per unit per day, 0 = no cap"},
    {"grace-day", OPT_GRACE_DAY, 1, "D", "quota", "5", NULL,
     "samples arriving from day D 00:00 of the next month are late"},
    {"digest-hour", OPT_DIGEST_HOUR, 1, "H", "quota", NULL, NULL,
     "send each province's daily digest of BEHIND units at this hour, 0..23 Vietnam time (default: none)"},
    {"config", OPT_CONFIG, 1, "FILE", NULL, NULL, NULL,
     "read options from this INI file first (default " CONFIG_PATH ", if it exists); the command line wins"},
    {"config-example", OPT_CONFIG_EXAMPLE, 0, NULL, NULL, NULL, NULL, "print every configuration key with its default"},
    {"help", OPT_HELP, 0, NULL, NULL, NULL, NULL, "this text"},
};
#define NOPTS (sizeof option_defs / sizeof option_defs[0])

/* The file's view of the table: every option with a section; [kafka]'s
 * other keys are -X properties, as in the agent's file. */
static conffile_option conf_options[NOPTS];
static conffile_spec conf_spec = {
    .program = "ispeed-collector",
    .path = CONFIG_PATH,
    .section = "collector",
    .options = conf_options,
    .passthrough = "kafka",
    .passthrough_flag = 'X',
};

static void conf_spec_init(void) {
    conf_spec.noptions = 0;
    for (size_t i = 0; i < NOPTS; i++)
        if (option_defs[i].section)
            conf_options[conf_spec.noptions++] = (conffile_option){
                .name = option_defs[i].name,
                .has_arg = option_defs[i].has_arg,
                .section = option_defs[i].section,
                .def = option_defs[i].def,
                .example = option_defs[i].example,
                .metavar = option_defs[i].arg,
                .help = option_defs[i].help,
                .repeatable = option_defs[i].id == OPT_TARGET_LEVEL,
            };
}

static void usage(FILE *out) {
    fprintf(out, "usage: ispeed-collector [--config FILE] -b BOOTSTRAP --units FILE [options] [-X prop=value ...]\n\n"
                 "Consumes signed samples, counts them per commune, district and province, month\n"
                 "and network class, and publishes quota states, alerts and rejects to Kafka.\n"
                 "Every option but --config, --config-example and --help is also a key of the\n"
                 "configuration file, which the command line overrides.\n\n");
    for (size_t i = 0; i < NOPTS; i++) {
        char left[64];
        if (option_defs[i].id < 256)
            snprintf(left, sizeof left, "-%c, --%s%s%s", option_defs[i].id, option_defs[i].name,
                     option_defs[i].arg ? " " : "", option_defs[i].arg ? option_defs[i].arg : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", option_defs[i].name, option_defs[i].arg ? " " : "",
                     option_defs[i].arg ? option_defs[i].arg : "");
        fprintf(out, "  %-28s %s", left, option_defs[i].help);
        if (option_defs[i].def) fprintf(out, " (default %s)", option_defs[i].def);
        fputc('\n', out);
    }
    fprintf(out, "  %-28s %s\n", "-X prop=value",
            "any librdkafka property, for every Kafka client (repeatable; in the file: a key of [kafka])");
    fprintf(out, "\nExit status: 0 stopped cleanly, 1 failure, 2 bad usage.\n");
}

static int parse_long(const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int parse_i64(const char *s, int64_t *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno || v < 0) return -1;
    *out = v;
    return 0;
}

/* "district=150", "commune:mobile=100", "mobile=200". */
static int parse_target_level(quota_config *cfg, const char *arg) {
    char buf[64];
    int level = 0, net = 0;
    long v;
    const char *eq = strchr(arg, '=');
    if (!eq || (size_t)(eq - arg) >= sizeof buf || parse_long(eq + 1, 1, 1000000000L, &v) < 0) return -1;
    memcpy(buf, arg, (size_t)(eq - arg));
    buf[eq - arg] = '\0';
    for (char *tok = strtok(buf, ":"); tok; tok = strtok(NULL, ":")) {
        enum registry_level lv;
        if (!strcmp(tok, "fixed") && !net)
            net = QUOTA_FIXED;
        else if (!strcmp(tok, "mobile") && !net)
            net = QUOTA_MOBILE;
        else if (registry_parse_level(tok, &lv) == 0 && !level)
            level = (int)lv;
        else
            return -1;
    }
    if (!level && !net) return -1;
    cfg->level_target[level][net] = (uint32_t)v;
    return 0;
}

/* --targets FILE: "unit,network,target" lines; a header and '#' lines are
 * skipped; network fixed, mobile or empty (both). */
static int load_targets(quota_table_t *qt, const registry_t *reg, const char *path, char *err, size_t errsz) {
    FILE *f = fopen(path, "r");
    char line[256];
    int lineno = 0;
    if (!f) {
        snprintf(err, errsz, "cannot open --targets %s: %s", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof line, f)) {
        char *unit, *net, *tgt, *end;
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0' || line[0] == '#' || (lineno == 1 && !strncmp(line, "unit,", 5))) continue;
        unit = line;
        if (!(net = strchr(unit, ',')) || !(tgt = strchr(net + 1, ','))) goto bad;
        *net++ = '\0';
        *tgt++ = '\0';
        const registry_unit *u = registry_find(reg, unit);
        long v = strtol(tgt, &end, 10);
        enum quota_network n = 0;
        if (!strcmp(net, "fixed"))
            n = QUOTA_FIXED;
        else if (!strcmp(net, "mobile"))
            n = QUOTA_MOBILE;
        else if (net[0])
            goto bad;
        if (!u || *tgt == '\0' || *end != '\0' || v < 1 || v > 1000000000L) goto bad;
        if (quota_set_unit_target(qt, u, n, (uint32_t)v) < 0) {
            snprintf(err, errsz, "out of memory");
            fclose(f);
            return -1;
        }
    }
    fclose(f);
    return 0;
bad:
    snprintf(err, errsz, "--targets %s line %d: want unit,network,target with a unit of the registry, network "
             "fixed, mobile or empty and a positive target", path, lineno);
    fclose(f);
    return -1;
}

/* argv[i]'s place in the configuration file, if it came from there. */
static const conffile_args *conf_args;

/* Names the file and line when the option being parsed (argv[argi]) came
 * from the configuration file. */
#define USAGE_ERR(...)                                                                                            \
    do {                                                                                                          \
        const char *where_ = conffile_args_origin(conf_args, argi);                                               \
        fprintf(stderr, "ispeed-collector: %s%s", where_ ? where_ : "", where_ ? ": " : "");                      \
        fprintf(stderr, __VA_ARGS__);                                                                             \
        fputc('\n', stderr);                                                                                      \
        return 2;                                                                                                 \
    } while (0)

static int parse_args(struct collector *c, int argc, char **argv) {
    struct option longopts[NOPTS + 1];
    char err[512];
    long v;
    int argi = -1;
    for (size_t i = 0; i < NOPTS; i++)
        longopts[i] = (struct option){option_defs[i].name, option_defs[i].has_arg ? required_argument : no_argument,
                                      NULL, option_defs[i].id};
    memset(&longopts[NOPTS], 0, sizeof longopts[NOPTS]);
    int opt;
    const char *env_now = getenv("ISPEED_NOW_MS");
    if (env_now && *env_now && parse_i64(env_now, &c->fixed_now) < 0)
        USAGE_ERR("ISPEED_NOW_MS must be Unix time in ms, not '%s'", env_now);
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":b:X:h", longopts, NULL)) != -1) {
        argi = optind - 1;
        switch (opt) {
        case OPT_BOOTSTRAP: c->bootstrap = optarg; break;
        case OPT_PROP:
            if (kafka_props_add(&c->props, optarg, err, sizeof err) < 0) USAGE_ERR("%s", err);
            break;
        case OPT_HELP: usage(stdout); return 1;
        case OPT_CONFIG: break; /* read by conffile_args_new */
        case OPT_CONFIG_EXAMPLE: conffile_print_example(stdout, &conf_spec); return 1;
        case OPT_UNITS: c->units_path = optarg; break;
        case OPT_MERGES: c->merges_path = optarg; break;
        case OPT_HTTP: c->http_addr = optarg; break;
        case OPT_REPLAY: c->icfg.replay = 1; break;
        case OPT_GROUP:
            if (!*optarg) USAGE_ERR("--group must not be empty");
            c->group = optarg;
            break;
        case OPT_PREFIX: c->prefix = optarg; break;
        case OPT_TARGET:
            if (parse_long(optarg, 1, 1000000000L, &v) < 0) USAGE_ERR("--target must be a positive count, not '%s'", optarg);
            c->qcfg.target = (uint32_t)v;
            break;
        case OPT_BEHIND_SHARE: {
            char *end;
            double f = strtod(optarg, &end);
            if (*optarg == '\0' || *end != '\0' || !(f > 0.0 && f <= 1.0))
                USAGE_ERR("--behind-share must be a fraction in (0, 1], e.g. 0.8, not '%s'", optarg);
            c->qcfg.behind_share = f;
            break;
        }
        case OPT_PACE_START_DAY:
            if (parse_long(optarg, 1, 31, &v) < 0) USAGE_ERR("--pace-start-day must be a day 1..31, not '%s'", optarg);
            c->qcfg.pace_start_day = (int)v;
            break;
        case OPT_DAILY_CAP:
            if (parse_long(optarg, 0, 1000000, &v) < 0) USAGE_ERR("--daily-cap must be a count (0 = none), not '%s'", optarg);
            c->icfg.daily_cap = (unsigned)v;
            break;
        case OPT_GRACE_DAY:
            if (parse_long(optarg, 1, 28, &v) < 0) USAGE_ERR("--grace-day must be a day 1..28, not '%s'", optarg);
            c->icfg.grace_ms = (v - 1) * 86400000LL;
            break;
        case OPT_EVAL_INTERVAL:
            if (parse_long(optarg, 1, 3600, &v) < 0) USAGE_ERR("--eval-interval must be 1..3600 seconds, not '%s'", optarg);
            c->eval_interval_s = (int)v;
            break;
        case OPT_LOG_LEVEL: {
            enum log_level lv;
            if (log_parse_level(optarg, &lv) < 0) USAGE_ERR("--log-level must be error, warn, info or debug, not '%s'", optarg);
            log_set_level(lv);
            break;
        }
        case OPT_TARGET_LEVEL:
            if (parse_target_level(&c->qcfg, optarg) < 0)
                USAGE_ERR("--target-level wants LEVEL[:CLASS]=N or CLASS=N (levels province, district, commune; "
                          "classes fixed, mobile), not '%s'", optarg);
            break;
        case OPT_TARGETS: c->targets_path = optarg; break;
        case OPT_CHECKPOINT_INTERVAL:
            if (parse_long(optarg, 50, 600000, &v) < 0)
                USAGE_ERR("--checkpoint-interval must be 50..600000 ms, not '%s'", optarg);
            c->ckpt_interval_ms = (int)v;
            break;
        case OPT_DIGEST_HOUR:
            if (parse_long(optarg, 0, 23, &v) < 0) USAGE_ERR("--digest-hour must be an hour 0..23, not '%s'", optarg);
            c->digest_hour = (int)v;
            break;
        case OPT_VERIFY_THREADS:
            if (parse_long(optarg, 1, SIGPOOL_MAX_THREADS, &v) < 0)
                USAGE_ERR("--verify-threads must be 1..%d, not '%s'", SIGPOOL_MAX_THREADS, optarg);
            c->verify_threads = (unsigned)v;
            break;
        case OPT_NOW_MS:
            if (parse_i64(optarg, &c->fixed_now) < 0) USAGE_ERR("--now-ms must be Unix time in ms, not '%s'", optarg);
            break;
        case ':': USAGE_ERR("option %s needs a value; see --help", argv[optind - 1]);
        default: USAGE_ERR("unknown option %s; see --help", argv[optind - 1]);
        }
    }
    argi = -1;
    if (optind < argc) USAGE_ERR("unexpected argument '%s'; see --help", argv[optind]);
    if (!c->bootstrap) USAGE_ERR("missing -b BOOTSTRAP: give the Kafka bootstrap list, e.g. -b localhost:9092");
    if (!c->units_path) USAGE_ERR("missing --units FILE: give the registry CSV, e.g. --units vn-units-2025-07.csv");
    return 0;
}

/* ---- set-up and tear-down ---- */

static int consumer_start(struct collector *c, char *err, size_t errsz) {
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_topic_partition_list_t *topics = NULL;
    if (!(conf = kafka_conf_new(c->bootstrap, NULL, err, errsz))) goto fail;
    /* In-memory state, rebuilt on start by reading the samples topic from the
     * beginning: nothing is committed, ever, and offsets are reset to the
     * beginning on assignment (on_rebalance). Checkpoints carrying the input
     * offsets (ispeed.collector.state) will bound this replay later. */
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
    c->ev_consumer = event_new(c->base, c->wake[0], EV_READ | EV_PERSIST, on_consumer, c);
    c->ev_more = evtimer_new(c->base, on_consumer, c);
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

static struct event *add_timer(struct collector *c, int ms, event_callback_fn fn) {
    struct event *ev = event_new(c->base, -1, EV_PERSIST, fn, c);
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    if (ev && event_add(ev, &tv) == 0) return ev;
    if (ev) event_free(ev);
    return NULL;
}

/* The last resort of a bounded shutdown: librdkafka calls that ignore their
 * timeouts when no broker answers must not keep the process alive. */
static void on_close_watchdog(int sig) {
    (void)sig;
    static const char msg[] = "ERROR collector: shutdown took too long, exiting without a clean close\n";
    if (write(2, msg, sizeof msg - 1) < 0) {
    }
    _exit(1);
}

/* Leaves the group within CLOSE_BUDGET_MS: rd_kafka_consumer_close() waits
 * for the broker without a bound (a collector whose broker was gone hung on
 * SIGTERM), so the close runs on a queue we serve until it is done or the
 * budget is spent, and the handle is then destroyed without a second close. */
static void consumer_close_bounded(struct collector *c) {
    rd_kafka_queue_io_event_enable(c->rkq, -1, NULL, 0);
    rd_kafka_queue_t *q = rd_kafka_queue_new(c->rk);
    rd_kafka_error_t *error = rd_kafka_consumer_close_queue(c->rk, q);
    if (error) {
        log_warn(COMP, "consumer close: %s", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    } else {
        int64_t deadline = vntime_now_ms() + CLOSE_BUDGET_MS;
        while (!rd_kafka_consumer_closed(c->rk) && vntime_now_ms() < deadline) {
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

static void collector_close(struct collector *c) {
    if (c->rk) {
        batch_drain(c);
        /* The last interval's counts and the checkpoints that explain them,
         * before the partitions go. */
        if (!c->caught_up && quota_dirty_count(c->qt))
            log_warn(COMP, "stopping during the replay: %zu partial quota update(s) not published",
                     quota_dirty_count(c->qt));
        c->stopping = 1;
        if (c->caught_up) flush_quota(c);
        write_checkpoints(c);
        if (publish_flush(c->pb, CLOSE_BUDGET_MS) < 0) {
            log_warn(COMP, "last checkpoints not delivered within %d ms; a restart replays from older ones",
                     CLOSE_BUDGET_MS);
            c->undelivered = 1; /* no second wait for the same records at the end */
        }
        consumer_close_bounded(c);
    }
    struct event *evs[] = {c->ev_consumer, c->ev_more, c->ev_ckpt, c->ev_eval, c->ev_poll, c->ev_sigint, c->ev_sigterm};
    for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
        if (evs[i]) event_free(evs[i]);
    if (c->wake[0] >= 0) close(c->wake[0]);
    if (c->wake[1] >= 0) close(c->wake[1]);
    http_server_free(c->http);
    feed_free(c->agents_feed);
    feed_free(c->alerts_feed);
    strmap_free(c->ckpts, free);
    if (c->state_rkt) rd_kafka_topic_destroy(c->state_rkt);
    if (c->state_rk) rd_kafka_destroy(c->state_rk);
    free(c->state_next);
    publish_free(c->pb, c->undelivered ? 0 : CLOSE_BUDGET_MS);
    ingest_free(c->ing);
    sigpool_free(c->sigpool);
    free(c->batches[0]);
    free(c->batches[1]);
    quota_table_free(c->qt);
    agents_free(c->agents);
    merges_free(c->merges);
    registry_free(c->reg);
    metrics_free(c->m);
    kafka_props_clear(&c->props);
    free(c->parts);
    if (c->base) event_base_free(c->base);
}

/* Signature checks are what bounds a single loop thread, so by default every
 * core takes a share. Capped at 16: the rest of the loop (decode, count,
 * produce) stays on one thread, and threads it cannot feed only wait. */
static unsigned default_verify_threads(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) return 1;
    return n > 16 ? 16 : (unsigned)n;
}

int main(int argc, char **argv) {
    struct collector c;
    char err[512];
    /* glibc gives each thread that allocates an arena of its own, and
     * librdkafka runs a dozen threads: their freed buffers stayed resident
     * (RSS 89 MiB where one arena holds 67). Blocks of 256 KiB and more
     * (fetch buffers, compressor contexts, checkpoints) are mapped apart and
     * returned on free, instead of the threshold growing to 32 MiB. */
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    memset(&c, 0, sizeof c);
    c.wake[0] = c.wake[1] = -1;
    c.fixed_now = -1; /* group, prefix, intervals and quota figures: option_defs' defaults */
    c.digest_hour = -1;
    c.last_ckpt_ms = -1;
    c.last_digest_day = -1;
    quota_config_default(&c.qcfg);
    ingest_config_default(&c.icfg);
    c.verify_threads = default_verify_threads();

    /* The configuration file's keys become options before the command
     * line's, so one parser reads both and the command line wins. */
    conf_spec_init();
    conffile_args *ca = conffile_args_new(&conf_spec, argc, argv, err, sizeof err);
    if (!ca) {
        fprintf(stderr, "ispeed-collector: %s\n", err);
        return 2;
    }
    conf_args = ca;
    int pr = parse_args(&c, conffile_args_argc(ca), conffile_args_argv(ca));
    if (pr != 0) {
        kafka_props_clear(&c.props);
        conffile_args_free(ca);
        return pr == 1 ? 0 : 2;
    }
    c.rc = 1;
    signal(SIGPIPE, SIG_IGN);
    kafka_topic_name(c.samples_topic, sizeof c.samples_topic, c.prefix, "samples");

    if (sign_init() < 0) {
        fprintf(stderr, "ispeed-collector: libsodium failed to initialise\n");
        goto out;
    }
    if (!(c.reg = registry_load(c.units_path, err, sizeof err))) {
        fprintf(stderr, "ispeed-collector: %s\n", err);
        goto out;
    }
    if (c.merges_path && !(c.merges = merges_load(c.merges_path, err, sizeof err))) {
        fprintf(stderr, "ispeed-collector: %s\n", err);
        goto out;
    }
    if (!(c.base = event_base_new()) || !(c.m = metrics_new()) || !(c.agents = agents_new()) ||
        !(c.batches[0] = calloc(1, sizeof *c.batches[0])) || !(c.batches[1] = calloc(1, sizeof *c.batches[1]))) {
        fprintf(stderr, "ispeed-collector: out of memory\n");
        goto out;
    }
    c.fill = c.batches[0];
    if (!(c.qt = quota_table_new(c.reg, &c.qcfg, err, sizeof err)) ||
        !(c.ing = ingest_new(c.reg, c.agents, c.merges, c.qt, &c.icfg, err, sizeof err))) {
        fprintf(stderr, "ispeed-collector: %s\n", err);
        goto out;
    }
    if (!(c.sigpool = sigpool_new(c.verify_threads, err, sizeof err))) {
        fprintf(stderr, "ispeed-collector: %s\n", err);
        goto out;
    }
    log_info(COMP, "signature verification threads=%u", sigpool_threads(c.sigpool));
    if (c.targets_path && load_targets(c.qt, c.reg, c.targets_path, err, sizeof err) < 0) {
        fprintf(stderr, "ispeed-collector: %s\n", err);
        goto out;
    }
    quota_set_alerts(c.qt, on_alert, &c);
    ingest_set_refresh(c.ing, refresh_agents, &c);
    c.partitioner = partitioner_from_props(&c.props);

    if (!(c.pb = publish_new(c.bootstrap, &c.props, c.prefix, c.m, err, sizeof err))) {
        fprintf(stderr, "ispeed-collector: %s\n", err);
        goto out;
    }
    if (kafka_check_reachable(publish_handle(c.pb), c.bootstrap, 5000, err, sizeof err) < 0) {
        fprintf(stderr, "ispeed-collector: %s\n", err);
        goto out;
    }
    if ((c.samples_npart = topic_partitions(publish_handle(c.pb), c.samples_topic, 10000)) <= 0) {
        fprintf(stderr, "ispeed-collector: topic %s does not exist: create the ispeed topics or check --topic-prefix\n",
                c.samples_topic);
        goto out;
    }

    /* Every enrollment before the first sample: a replay then finds the keys
     * of all agents that enrolled before their samples were produced. */
    char agents_topic[192];
    kafka_topic_name(agents_topic, sizeof agents_topic, c.prefix, "agents");
    if (!(c.agents_feed = feed_new(c.bootstrap, &c.props, agents_topic, apply_enrollment, &c, err, sizeof err)) ||
        feed_start(c.agents_feed, 10000, err, sizeof err) < 0) {
        fprintf(stderr, "ispeed-collector: %s\n", err);
        goto out;
    }
    if (feed_catch_up(c.agents_feed, 60000, err, sizeof err) < 0) log_warn(COMP, "%s; continuing", err);
    log_info(COMP, "agents loaded count=%zu", agents_count(c.agents));
    char alerts_topic[192];
    kafka_topic_name(alerts_topic, sizeof alerts_topic, c.prefix, "alerts");
    if (!(c.alerts_feed = feed_new(c.bootstrap, &c.props, alerts_topic, apply_alert, &c, err, sizeof err)) ||
        feed_start(c.alerts_feed, 10000, err, sizeof err) < 0) {
        fprintf(stderr, "ispeed-collector: %s\n", err);
        goto out;
    }

    /* Checkpoints: <prefix>collector.state is read on every assignment. */
    if (!(c.ckpts = strmap_new())) {
        fprintf(stderr, "ispeed-collector: out of memory\n");
        goto out;
    }

    if (c.http_addr && !(c.http = http_server_new(c.base, c.http_addr, c.m, err, sizeof err))) {
        fprintf(stderr, "ispeed-collector: %s\n", err);
        goto out;
    }
    if (c.http) http_server_set_quota(c.http, http_quota, &c);
    if (consumer_start(&c, err, sizeof err) < 0) {
        fprintf(stderr, "ispeed-collector: %s\n", err);
        goto out;
    }
    log_info(COMP, "group join requested t_ms=%lld", (long long)vntime_now_ms());
    /* While the group forms (seconds after a crash: the dead member's session
     * must time out first), the bulk of the checkpoints is read; the
     * assignment then reads only what was written since. */
    if (read_checkpoints(&c, err, sizeof err) < 0)
        log_warn(COMP, "%s; reading the checkpoints again at the assignment", err);
    c.ev_poll = add_timer(&c, 100, on_poll);
    c.ev_ckpt = add_timer(&c, CKPT_TICK_MS, on_checkpoint);
    c.ev_eval = add_timer(&c, c.eval_interval_s * 1000, on_eval);
    c.ev_sigint = evsignal_new(c.base, SIGINT, on_signal, &c);
    c.ev_sigterm = evsignal_new(c.base, SIGTERM, on_signal, &c);
    if (!c.ev_poll || !c.ev_ckpt || !c.ev_eval || !c.ev_sigint || !c.ev_sigterm || event_add(c.ev_sigint, NULL) < 0 ||
        event_add(c.ev_sigterm, NULL) < 0) {
        fprintf(stderr, "ispeed-collector: cannot set up the event loop\n");
        goto out;
    }
    log_info(COMP, "started group=%s topic=%s units=%zu depth=%d target=%u replay=%d http=%s", c.group,
             c.samples_topic, registry_size(c.reg), registry_depth(c.reg), c.qcfg.target, c.icfg.replay,
             c.http_addr ? c.http_addr : "-");

    c.rc = 0;
    if (event_base_dispatch(c.base) < 0) c.rc = 1;
    signal(SIGALRM, on_close_watchdog);
    alarm((CLOSE_BUDGET_MS * 4) / 1000);
    log_info(COMP, "stopped counted=%llu rejected_dlq=%llu", (unsigned long long)metrics_get(c.m, M_SAMPLES_COUNTED),
             (unsigned long long)metrics_get(c.m, M_DLQ));
out:
    collector_close(&c);
    conffile_args_free(ca);
    return c.rc;
}
