/* ispeed-collector's internal header, as Redis's server.h: the one state
 * the program's modules share (struct collector) and the functions they call
 * in one another. Only the program's own modules include it; the Kafka-free
 * library (quota, ingest, checkpoint, ...) never does. */
#ifndef ISPEED_COLLECTOR_H
#define ISPEED_COLLECTOR_H

#include <event2/event.h>
#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

#include "agents.h"
#include "topic_reader.h"
#include "http.h"
#include "ingest.h"
#include "kafka.h"
#include "merges.h"
#include "metrics.h"
#include "publish.h"
#include "quota.h"
#include "registry.h"
#include "sigpool.h"
#include "trust.h"
#include "hashmap.h"
#include "vntime.h"

#define COMP "collector"
#define BATCH_MAX 1000         /* records per loop turn, so timers and HTTP keep their pace */
#define CHECK_MAX 256          /* enrollment checks a batch carries; more are checked inline */
#define AGENT_CATCHUP_MS 5000  /* how long a sample of an unknown agent may wait for its enrollment */
#define AGENT_CATCHUP_GAP_MS 200 /* least time between two such catch-ups: a flood of unknown agents costs
                                  * at most five broker round trips a second */
#define AGENT_CATCHUP_RETRY_MS 1000 /* after a catch-up failed (a broker restarting): the batch waits, then again */
#define CLOSE_BUDGET_MS 5000   /* each step of the shutdown (consumer close, output flush) waits at most this */
#define INHERIT_WAIT_MS 30000  /* an assignment waits this long for the previous owner's open transaction:
                                * transaction.timeout.ms (15 s) plus the brokers' abort sweep (10 s default) */
#define STATE_CATCHUP_MS 10000 /* reading <prefix>collector.state to its end on an assignment */
#define CKPT_TICK_MS 100       /* the periodic checkpoint pass runs this often... */
#define CKPT_BUDGET_MS 10      /* ...and stops after the checkpoint that passes this */
#define QUOTA_GAP_MS 1000      /* at most one QuotaStatus per unit, month and class per second (SPEC) */
#define QUOTA_SLICE 2000       /* QuotaStatus per poll (100 ms): a replay's burst drains at 20,000/s */
#define TXN_BUDGET_MS 30000   /* a commit (and its retries) may block the loop this long before we give up */
#define CONFIG_PATH "/etc/ispeed/collector.conf"

enum { ENROLL_TOKEN = 0, ENROLL_OPEN };      /* --enrollment's choices, in order */
enum { ATTEST_REQUIRED = 0, ATTEST_OPTIONAL }; /* --attestation's choices, in order */
enum { TXN_ON = 0, TXN_OFF };                /* --transactions' choices, in order */

typedef int32_t (*partitioner_fn)(const rd_kafka_topic_t *, const void *, size_t, int32_t, void *, void *);

/* One input partition of the samples topic, as this collector sees it. */
struct part {
    uint8_t assigned;
    uint8_t eof;        /* read to the end since it was assigned */
    uint8_t kept;       /* revoked by an eager rebalance, state kept until the next assignment */
    int64_t next;       /* next offset to read, -1 before the first record */
    int64_t ckpt;       /* offset of the last checkpoint written or restored, -1 none */
    int64_t ckpt_ms;    /* monotonic ms of the last checkpoint written, 0 none */
    uint8_t ckpt_alert; /* an alert changed a state since: checkpoint even if no offset moved */
    /* A drain left this record and the partition's later ones unhandled
     * (its agent unknown, the agents topic unreadable): read again from
     * here. -1 none. */
    int64_t resume_at;
};
#define PART_EMPTY ((struct part){0, 0, 0, -1, -1, 0, 0, -1})

struct batch; /* pipeline.c's */
enum { HELD_NONE = 0, HELD_FILL, HELD_DRAIN }; /* struct collector's held */

struct collector {
    /* configuration: the fields options.c's table writes (common/opttab) */
    char *bootstrap, *units_path, *merges_path, *http_addr, *group, *prefix, *targets_path;
    kafka_props props;
    quota_config qcfg; /* behind_share and --target-level written by the table, the rest from below */
    ingest_config icfg; /* replay written by the table, the rest from below */
    int64_t target, pace_start_day, daily_cap, grace_day;
    int64_t eval_interval_ms;
    int64_t ckpt_interval_ms;
    int64_t digest_hour;    /* -1: no daily digest */
    int64_t verify_threads; /* 1: signatures are verified on the loop's thread */
    int transactions;       /* TXN_ON (the default) or TXN_OFF: the embedded Kafka */
    int64_t commit_interval_ms; /* --commit-interval */
    int64_t last_commit_ms;     /* monotonic: the last periodic commit */
    char *instance_id;      /* this collector's part of its transactional.id */
    /* trust (SPEC: Trust): --authorities, --enrollment, --servers,
     * --attestation, --prefix-daily-cap; the lists loaded by options_parse */
    char *authorities_path, *servers_path;
    int enrollment;  /* ENROLL_TOKEN (the default) or ENROLL_OPEN */
    int attestation; /* ATTEST_REQUIRED (the default) or ATTEST_OPTIONAL */
    int64_t prefix_daily_cap;
    int64_t max_agents;       /* --max-agents: the agents table's bound, 0 = none */
    int64_t agent_expiry_ms;  /* --agent-expiry: failed or never-verified enrollments leave after it */
    trust_keys *authorities, *servers;

    /* state */
    struct event_base *base;
    registry_t *reg;
    merges_t *merges;
    agents_t *agents;
    metrics_t *m;
    quota_counts_t *qt;
    ingest_t *ing;
    sigpool_t *sigpool;
    /* Records polled and not yet handled (pipeline.c): fill is being
     * polled into; flight, when not NULL, was polled before it and has its
     * signatures being verified while the loop goes on. */
    struct batch *fill, *flight, *batches[2];
    /* A batch waits for the next catch-up of the agents table (pipeline.c,
     * batch_handle): HELD_FILL, the backlog's previous batch, now in fill;
     * HELD_DRAIN, pipeline_drain's work. Nothing is polled meanwhile. */
    int held;
    int64_t next_catchup_ms; /* monotonic: when the next catch-up may start */
    int drain_catchup_failed; /* in pipeline_drain: a catch-up failed, unknown agents' samples are left */
    publish_t *pb;
    topic_reader_t *agents_feed; /* every enrollment, on every collector */
    topic_reader_t *alerts_feed; /* read only while not alerting: see consumer_update_caught_up */
    collector_http_t *http;
    rd_kafka_t *rk;
    rd_kafka_queue_t *rkq;
    int wake[2];
    struct event *ev_consumer, *ev_eval, *ev_poll, *ev_sigint, *ev_sigterm;
    struct event *ev_more; /* zero-timeout timer: the next batch of a backlog */
    char samples_topic[192];
    char agents_topic[192];
    int32_t samples_npart;
    partitioner_fn partitioner; /* NULL: producers partition at random, ownership is learnt from samples */
    struct part *parts;
    int32_t nparts;
    int caught_up;
    int rc;
    int stopping;
    int undelivered; /* the shutdown's flush timed out */
    int fenced;      /* the outputs can no longer be committed: write nothing more */

    /* checkpoints (statestore.c) */
    hashmap_t *ckpts;      /* "<topic>/<partition>" -> the latest record (struct blob) */
    rd_kafka_t *state_rk; /* reader of <prefix>collector.state, kept between reads */
    rd_kafka_topic_t *state_rkt;
    int64_t *state_next; /* per partition of collector.state: next offset to read */
    int32_t state_nparts;
    struct event *ev_ckpt;
    int64_t last_ckpt_ms; /* monotonic ms of the last checkpoint written, -1: none yet */
    int32_t ckpt_cursor;  /* where the next periodic pass starts (round robin) */

    /* digest.c */
    int64_t last_digest_day; /* Vietnamese day of the last complete digest */
};

/* Monotonic ms: durations and deadlines, which must not jump with the clock. */
static inline int64_t collector_mono_ms(void) { return vntime_mono_us() / 1000; }

/* ---- options.c: the option table, the command line and the file ---- */
/* Sets the defaults the table does not carry (struct zeroed first). */
void options_defaults(struct collector *c);
/* The table's defaults, then the configuration file, then the command line
 * into c. Returns 0 to run, 1 when done (--help, --config-example: exit 0),
 * 2 on bad usage or a file that cannot be read (the message printed). */
int options_parse(struct collector *c, int argc, char **argv);
/* What the table's strings and properties hold. */
void options_free(struct collector *c);
/* --targets FILE into qt. */
int options_load_targets(quota_counts_t *qt, const registry_t *reg, const char *path, char *err, size_t errsz);

/* ---- consumer.c: the group member, its partitions and rebalances ---- */
struct part *consumer_part(struct collector *c, int32_t p); /* NULL: out of memory or p < 0 */
int consumer_start(struct collector *c, char *err, size_t errsz);
/* Leaves the group within CLOSE_BUDGET_MS and destroys the consumer. */
void consumer_close(struct collector *c);
/* Recomputes "caught up"; on becoming so, reads the alerts back and starts alerting. */
void consumer_update_caught_up(struct collector *c);
int32_t consumer_topic_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms);
partitioner_fn consumer_partitioner(const kafka_props *props);
/* quota_owned_fn-shaped: ctx is the collector. */
int32_t consumer_province_partition(const registry_unit *prov, void *ctx);
int consumer_owns(const registry_unit *prov, void *ctx);

/* ---- statestore.c: checkpoints on <prefix>collector.state ---- */
/* Reads the topic from where the last read stopped to its end into c->ckpts. */
int state_read(struct collector *c, char *err, size_t errsz);
/* Keeps one record of the topic (payload NULL: a tombstone). -1 when it
 * could not be kept (logged and counted; an older record may stand). */
int state_keep(struct collector *c, const void *key, size_t keylen, const void *payload, size_t len);
/* Writes partition p's checkpoint. -1 on failure (logged and counted): the
 * partition's checkpoint position stays where it was, so the next periodic
 * pass writes it again. */
int state_write(struct collector *c, int32_t p);
/* Every assigned partition's checkpoint; returns how many failed. */
int state_write_all(struct collector *c);
/* The periodic pass (every CKPT_TICK_MS). Returns how many failed. */
int state_write_due(struct collector *c);
/* Replaces partition p's state with its latest checkpoint; returns the
 * offset to read from (RD_KAFKA_OFFSET_BEGINNING without one). */
int64_t state_restore(struct collector *c, int32_t p);

/* ---- pipeline.c: polled records, verified in batches, handled in order ---- */
int pipeline_init(struct collector *c);
void pipeline_free(struct collector *c);
/* Handles every record polled so far (a rebalance, a backlog's end, shutdown). */
void pipeline_drain(struct collector *c);
/* The consumer queue's wake-up (and the backlog's zero timer). */
void pipeline_on_wake(evutil_socket_t fd, short what, void *arg);
/* The agents feed: one enrollment record. */
int pipeline_apply_enrollment(const rd_kafka_message_t *msg, void *ctx, char *err, size_t errsz);
/* A read of the agents or alerts topic failed or timed out: logged and
 * counted (ispeed_collector_feed_failures_total); the collector goes on. */
void collector_feed_failed(struct collector *c, const char *which, const char *err);
/* agents_reject_fn: an enrollment refused at its first use, logged, counted
 * and sent to the DLQ (key: the agent id; no value, which the table does not
 * keep; source: the record's partition and offset). */
void pipeline_enrollment_rejected(const char *agent_id, const char *reason, int32_t partition, int64_t offset,
                                  void *ctx);

/* ---- outputs.c: quota updates and alerts ---- */
void outputs_flush_quota(struct collector *c);     /* every dirty counter, now */
/* Commits what was produced with the input positions (publish_commit);
 * without transactions a flush. On PUBLISH_FATAL the collector stops. */
int outputs_commit(struct collector *c, int timeout_ms);
/* Nothing more may be written under this producer (PUBLISH_FATAL): logs
 * why, and stops the collector with status 1. */
void outputs_stop_fatal(struct collector *c, const char *why);
void outputs_flush_quota_due(struct collector *c); /* the paced slice of a poll */
void outputs_evaluate(struct collector *c);
/* The alerts feed: the last state alerted per unit. */
int outputs_apply_alert(const rd_kafka_message_t *msg, void *ctx, char *err, size_t errsz);
/* quota_alert_fn: publishes a transition. */
void outputs_on_alert(const quota_alert *a, void *ctx);

/* ---- digest.c: the daily digest of BEHIND units ---- */
/* Every BEHIND counter of province now, malloc'd into *v (free it, also on
 * failure). -1 when out of memory: the list is then incomplete. */
int digest_collect(quota_counts_t *qt, const registry_unit *province, int64_t now, quota_status **v, size_t *n);
/* Sends each owned province's digest once a day from --digest-hour on; a
 * day with a failure (logged and counted) is tried again at the next call. */
void digest_maybe_send(struct collector *c, int64_t now);

/* ---- quotaview.c: GET /v1/quota ---- */
int quotaview_json(const char *province, const char *month, struct evbuffer *out, void *ctx);

#endif
