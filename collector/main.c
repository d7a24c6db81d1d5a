/* ispeed-collector: the consumer-group member that validates samples, counts
 * them per unit, month and network class, and publishes quota states,
 * alerts and rejects. This file owns the event loop and the Kafka consumer;
 * the counting is in ingest/quota, the outputs in publish. */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agents.h"
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
#include "vntime.h"

#define COMP "collector"
#define BATCH_MAX 1000        /* records per loop turn, so timers and HTTP keep their pace */
#define AGENT_CATCHUP_MS 5000 /* how long a sample of an unknown agent may wait for its enrollment */

typedef int32_t (*partitioner_fn)(const rd_kafka_topic_t *, const void *, size_t, int32_t, void *, void *);

struct part {
    uint8_t assigned;
    uint8_t eof;      /* read to the end since it was assigned */
    uint8_t kept;     /* revoked by an eager rebalance, state kept until the next assignment */
    int64_t next;     /* next offset to read, -1 before the first record */
};

struct collector {
    /* configuration */
    const char *bootstrap, *units_path, *merges_path, *http_addr, *group, *prefix;
    kafka_props props;
    quota_config qcfg;
    ingest_config icfg;
    int64_t fixed_now; /* -1: the wall clock */
    int eval_interval_s;

    /* state */
    struct event_base *base;
    registry_t *reg;
    merges_t *merges;
    agents_t *agents;
    metrics_t *m;
    quota_table_t *qt;
    ingest_t *ing;
    publish_t *pb;
    feed_t *agents_feed;
    feed_t *alerts_feed; /* read only while not alerting: see update_caught_up */
    http_server_t *http;
    rd_kafka_t *rk;
    rd_kafka_queue_t *rkq;
    int wake[2];
    struct event *ev_consumer, *ev_flush, *ev_eval, *ev_poll, *ev_sigint, *ev_sigterm;
    char samples_topic[192];
    int32_t samples_npart;
    partitioner_fn partitioner; /* NULL: producers partition at random, ownership is learnt from samples */
    struct part *parts;
    int32_t nparts;
    int caught_up;
    int rc;
};

static int owned_province(const registry_unit *prov, void *ctx);

/* ---- clock ---- */

/* Tests fix the time with --now-ms or ISPEED_NOW_MS; the clock then stands
 * still, so expected counts and states are exact. */
static int64_t now_ms(const struct collector *c) { return c->fixed_now >= 0 ? c->fixed_now : vntime_now_ms(); }

/* ---- partitions and catch-up ---- */

static struct part *part_get(struct collector *c, int32_t p) {
    if (p < 0) return NULL;
    if (p >= c->nparts) {
        int32_t n = p + 1 > 2 * c->nparts ? p + 1 : 2 * c->nparts;
        struct part *np = realloc(c->parts, (size_t)n * sizeof *np);
        if (!np) return NULL;
        for (int32_t i = c->nparts; i < n; i++) np[i] = (struct part){0, 0, 0, -1};
        c->parts = np;
        c->nparts = n;
    }
    return &c->parts[p];
}

static void publish_status(const quota_status *st, void *ctx) {
    struct collector *c = ctx;
    char err[256];
    if (publish_quota(c->pb, st, err, sizeof err) < 0) log_error(COMP, "%s", err);
}

static void flush_quota(struct collector *c) {
    size_t n = quota_flush(c->qt, now_ms(c), publish_status, c);
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
    flush_quota(c);
}

static int owned_province(const registry_unit *prov, void *ctx) {
    struct collector *c = ctx;
    int32_t p;
    if (c->partitioner && c->samples_npart > 0)
        p = c->partitioner(NULL, prov->code, strlen(prov->code), c->samples_npart, NULL, NULL);
    else
        p = ingest_province_partition(c->ing, prov);
    return p >= 0 && p < c->nparts && c->parts[p].assigned;
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
    if (pt) *pt = (struct part){0, 0, 0, -1};
    log_info(COMP, "partition dropped partition=%d provinces=%zu", p, n);
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                         void *opaque) {
    struct collector *c = opaque;
    int coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    rd_kafka_error_t *error = NULL;
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;

    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
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
            /* State is in memory only and nothing is ever committed, so a new
             * partition is read from its beginning whatever offsets the group
             * may hold (checkpoints will bound this replay); one whose state we
             * kept resumes where we were. */
            parts->elems[i].offset = pt->kept && pt->next >= 0 ? pt->next : RD_KAFKA_OFFSET_BEGINNING;
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
        /* Publish what was counted while it is still ours. */
        if (c->caught_up) flush_quota(c);
        for (int i = 0; i < parts->cnt; i++) {
            int32_t p = parts->elems[i].partition;
            struct part *pt = part_get(c, p);
            if (!pt) continue;
            if (coop || rd_kafka_assignment_lost(rk)) {
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

static void handle_sample(struct collector *c, const rd_kafka_message_t *msg) {
    char detail[256];
    enum reject_reason reason = REJECT_NONE;
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(msg, &tstype);
    struct part *pt = part_get(c, msg->partition);
    if (pt) pt->next = msg->offset + 1;
    metrics_inc(c->m, M_SAMPLES_CONSUMED);

    enum ingest_result r = ingest_sample(c->ing, msg->partition, msg->key, msg->key_len, msg->payload, msg->len,
                                         ts, now_ms(c), &reason, detail, sizeof detail);
    switch (r) {
    case INGEST_COUNTED: metrics_inc(c->m, M_SAMPLES_COUNTED); break;
    case INGEST_LATE: metrics_inc(c->m, M_SAMPLES_LATE); break;
    case INGEST_FAILED_TEST: metrics_inc(c->m, M_SAMPLES_FAILED_TEST); break;
    case INGEST_OVER_CAP: metrics_inc(c->m, M_SAMPLES_OVER_CAP); break;
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

/* librdkafka writes a byte to c->wake[1] when the consumer queue goes from
 * empty to non-empty (rd_kafka_queue_io_event_enable): the loop sleeps until
 * there is work, with no polling latency. A wake-up only comes after the
 * queue was empty, so each turn either drains it or re-activates itself. */
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
        if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            struct part *pt = part_get(c, msg->partition);
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
            handle_sample(c, msg);
        }
        rd_kafka_message_destroy(msg);
    }
    if (n == BATCH_MAX) event_active(c->ev_consumer, EV_READ, 0);
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
        quota_seed_state(c->qt, u, a->month, (enum quota_network)a->network, (enum quota_state)a->to_state);
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
}

/* ---- timers and signals ---- */

static void on_poll(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    struct collector *c = arg;
    publish_poll(c->pb);
    feed_poll(c->agents_feed, BATCH_MAX);
    metrics_gauge(c->m, G_QUOTA_DIRTY, (double)quota_dirty_count(c->qt));
}

/* Coalescing: whatever changed in the last second goes out once. */
static void on_flush(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    struct collector *c = arg;
    if (c->caught_up) flush_quota(c);
}

static void on_eval(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    struct collector *c = arg;
    if (c->caught_up) evaluate(c);
}

static void on_signal(evutil_socket_t sig, short what, void *arg) {
    (void)what;
    struct collector *c = arg;
    log_info(COMP, "stopping signal=%d", (int)sig);
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
};

/* Every option once: getopt's table and --help are built from it. */
static const struct {
    const char *name;
    int id, has_arg;
    const char *arg, *help;
} option_defs[] = {
    {"bootstrap", OPT_BOOTSTRAP, 1, "BOOTSTRAP", "Kafka bootstrap list (required), e.g. localhost:9092"},
    {"units", OPT_UNITS, 1, "FILE", "registry CSV code,level,parent,name,type (required)"},
    {"merges", OPT_MERGES, 1, "FILE", "commune merges CSV old_commune,new_commune,kind: count old codes as new"},
    {"http", OPT_HTTP, 1, "ADDR:PORT", "serve /metrics (Prometheus) and /healthz"},
    {"replay", OPT_REPLAY, 0, NULL, "count every sample in its month whenever it arrives (back-fill)"},
    {"group", OPT_GROUP, 1, "ID", "consumer group (default ispeed-collector)"},
    {"topic-prefix", OPT_PREFIX, 1, "P", "prefix of every topic (default ispeed.)"},
    {"target", OPT_TARGET, 1, "N", "samples per unit, month and network class (default 300)"},
    {"behind-share", OPT_BEHIND_SHARE, 1, "F", "BEHIND below this share of the expected count (default 0.8)"},
    {"pace-start-day", OPT_PACE_START_DAY, 1, "D", "no unit is BEHIND before this day of the month (default 3)"},
    {"daily-cap", OPT_DAILY_CAP, 1, "N", "samples one agent may count per unit per day, 0 = no cap (default 12)"},
    {"grace-day", OPT_GRACE_DAY, 1, "D",
     "samples arriving from day D 00:00 of the next month are late (default 5)"},
    {"eval-interval", OPT_EVAL_INTERVAL, 1, "S", "seconds between pace evaluations of every unit (default 5)"},
    {"log-level", OPT_LOG_LEVEL, 1, "L", "error, warn, info or debug (default info)"},
    {"now-ms", OPT_NOW_MS, 1, "MS", "fix the clock at this Unix time in ms, for tests (or env ISPEED_NOW_MS)"},
    {"help", OPT_HELP, 0, NULL, "this text"},
};
#define NOPTS (sizeof option_defs / sizeof option_defs[0])

static void usage(FILE *out) {
    fprintf(out, "usage: ispeed-collector -b BOOTSTRAP --units FILE [options] [-X prop=value ...]\n\n"
                 "Consumes signed samples, counts them per commune, district and province, month\n"
                 "and network class, and publishes quota states, alerts and rejects to Kafka.\n\n");
    for (size_t i = 0; i < NOPTS; i++) {
        char left[64];
        if (option_defs[i].id < 256)
            snprintf(left, sizeof left, "-%c, --%s%s%s", option_defs[i].id, option_defs[i].name,
                     option_defs[i].arg ? " " : "", option_defs[i].arg ? option_defs[i].arg : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", option_defs[i].name, option_defs[i].arg ? " " : "",
                     option_defs[i].arg ? option_defs[i].arg : "");
        fprintf(out, "  %-28s %s\n", left, option_defs[i].help);
    }
    fprintf(out, "  %-28s %s\n", "-X prop=value", "any librdkafka property, for every Kafka client (repeatable)");
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

#define USAGE_ERR(...)                                                                                            \
    do {                                                                                                          \
        fprintf(stderr, "ispeed-collector: " __VA_ARGS__);                                                        \
        fputc('\n', stderr);                                                                                      \
        return 2;                                                                                                 \
    } while (0)

static int parse_args(struct collector *c, int argc, char **argv) {
    struct option longopts[NOPTS + 1];
    char err[512];
    long v;
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
        switch (opt) {
        case OPT_BOOTSTRAP: c->bootstrap = optarg; break;
        case OPT_PROP:
            if (kafka_props_add(&c->props, optarg, err, sizeof err) < 0) USAGE_ERR("%s", err);
            break;
        case OPT_HELP: usage(stdout); return 1;
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
        case OPT_NOW_MS:
            if (parse_i64(optarg, &c->fixed_now) < 0) USAGE_ERR("--now-ms must be Unix time in ms, not '%s'", optarg);
            break;
        case ':': USAGE_ERR("option %s needs a value; see --help", argv[optind - 1]);
        default: USAGE_ERR("unknown option %s; see --help", argv[optind - 1]);
        }
    }
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
        /* A restarted collector waits this long for its old member on
         * brokers that do not complete a rebalance on LeaveGroup (the
         * embedded Kafka waits session.timeout.ms - 1 s); 45 s is too long
         * for provinces to go unwatched. */
        kafka_conf_set(conf, "session.timeout.ms", "10000", err, errsz) < 0)
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
    if (!c->ev_consumer || event_add(c->ev_consumer, NULL) < 0) {
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

static void collector_close(struct collector *c) {
    if (c->rk) {
        /* Publish the last second's counts before the partitions go. */
        if (c->caught_up) flush_quota(c);
        else if (quota_dirty_count(c->qt))
            log_warn(COMP, "stopping during the replay: %zu partial quota update(s) not published",
                     quota_dirty_count(c->qt));
        rd_kafka_queue_io_event_enable(c->rkq, -1, NULL, 0);
        rd_kafka_resp_err_t e = rd_kafka_consumer_close(c->rk);
        if (e) log_warn(COMP, "consumer close: %s", rd_kafka_err2str(e));
        rd_kafka_queue_destroy(c->rkq);
        rd_kafka_destroy(c->rk);
    }
    struct event *evs[] = {c->ev_consumer, c->ev_flush, c->ev_eval, c->ev_poll, c->ev_sigint, c->ev_sigterm};
    for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
        if (evs[i]) event_free(evs[i]);
    if (c->wake[0] >= 0) close(c->wake[0]);
    if (c->wake[1] >= 0) close(c->wake[1]);
    http_server_free(c->http);
    feed_free(c->agents_feed);
    feed_free(c->alerts_feed);
    publish_free(c->pb, 10000);
    ingest_free(c->ing);
    quota_table_free(c->qt);
    agents_free(c->agents);
    merges_free(c->merges);
    registry_free(c->reg);
    metrics_free(c->m);
    kafka_props_clear(&c->props);
    free(c->parts);
    if (c->base) event_base_free(c->base);
}

int main(int argc, char **argv) {
    struct collector c;
    char err[512];
    memset(&c, 0, sizeof c);
    c.wake[0] = c.wake[1] = -1;
    c.group = "ispeed-collector";
    c.prefix = KAFKA_DEFAULT_PREFIX;
    c.fixed_now = -1;
    c.eval_interval_s = 5;
    quota_config_default(&c.qcfg);
    ingest_config_default(&c.icfg);

    int pr = parse_args(&c, argc, argv);
    if (pr != 0) {
        kafka_props_clear(&c.props);
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
    if (!(c.base = event_base_new()) || !(c.m = metrics_new()) || !(c.agents = agents_new())) {
        fprintf(stderr, "ispeed-collector: out of memory\n");
        goto out;
    }
    if (!(c.qt = quota_table_new(c.reg, &c.qcfg, err, sizeof err)) ||
        !(c.ing = ingest_new(c.reg, c.agents, c.merges, c.qt, &c.icfg, err, sizeof err))) {
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

    if (c.http_addr && !(c.http = http_server_new(c.base, c.http_addr, c.m, err, sizeof err))) {
        fprintf(stderr, "ispeed-collector: %s\n", err);
        goto out;
    }
    if (consumer_start(&c, err, sizeof err) < 0) {
        fprintf(stderr, "ispeed-collector: %s\n", err);
        goto out;
    }
    c.ev_poll = add_timer(&c, 100, on_poll);
    c.ev_flush = add_timer(&c, 1000, on_flush);
    c.ev_eval = add_timer(&c, c.eval_interval_s * 1000, on_eval);
    c.ev_sigint = evsignal_new(c.base, SIGINT, on_signal, &c);
    c.ev_sigterm = evsignal_new(c.base, SIGTERM, on_signal, &c);
    if (!c.ev_poll || !c.ev_flush || !c.ev_eval || !c.ev_sigint || !c.ev_sigterm || event_add(c.ev_sigint, NULL) < 0 ||
        event_add(c.ev_sigterm, NULL) < 0) {
        fprintf(stderr, "ispeed-collector: cannot set up the event loop\n");
        goto out;
    }
    log_info(COMP, "started group=%s topic=%s units=%zu depth=%d target=%u replay=%d http=%s", c.group,
             c.samples_topic, registry_size(c.reg), registry_depth(c.reg), c.qcfg.target, c.icfg.replay,
             c.http_addr ? c.http_addr : "-");

    c.rc = 0;
    if (event_base_dispatch(c.base) < 0) c.rc = 1;
    log_info(COMP, "stopped counted=%llu rejected_dlq=%llu", (unsigned long long)metrics_get(c.m, M_SAMPLES_COUNTED),
             (unsigned long long)metrics_get(c.m, M_DLQ));
out:
    collector_close(&c);
    return c.rc;
}
