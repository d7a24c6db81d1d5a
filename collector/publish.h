/* The collector's outputs: QuotaStatus on <prefix>quota.<province>, Alert on
 * <prefix>alerts, rejected records on <prefix>dlq, checkpoints on
 * <prefix>collector.state. One idempotent producer (acks=all); delivery
 * reports are served by publish_poll from the loop. With a transactional.id
 * every record goes into the open transaction, and a copy is kept until
 * publish_commit commits it with the input offsets. */
#ifndef ISPEED_COLLECTOR_PUBLISH_H
#define ISPEED_COLLECTOR_PUBLISH_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#include "kafka.h"
#include "metrics.h"
#include "quota.h"

#define PUBLISH_REASON_HEADER "ispeed-reject-reason"
#define PUBLISH_SOURCE_HEADER "ispeed-source" /* "<topic>/<partition>@<offset>" of the rejected record */

typedef struct publish publish_t;

/* transactional_id NULL: no transactions (the embedded Kafka). */
publish_t *publish_new(const char *bootstrap, const kafka_props *props, const char *prefix,
                       const char *transactional_id, metrics_t *m, char *err, size_t errsz);
/* With a transactional.id: fences every earlier producer of the same id
 * (aborting its open transaction) and opens the first transaction. */
int publish_txn_start(publish_t *pb, int timeout_ms, char *err, size_t errsz);
/* Waits up to timeout_ms for outstanding deliveries, then frees. Accepts NULL. */
void publish_free(publish_t *pb, int timeout_ms);
rd_kafka_t *publish_handle(publish_t *pb);

int publish_quota(publish_t *pb, const quota_status *st, char *err, size_t errsz);
int publish_alert(publish_t *pb, const quota_alert *a, char *err, size_t errsz);
int publish_dlq(publish_t *pb, const void *key, size_t keylen, const void *value, size_t len, const char *reason,
                const char *source, char *err, size_t errsz);
/* A checkpoint record on <prefix>collector.state (key "<topic>/<partition>"). */
int publish_checkpoint(publish_t *pb, const char *key, const void *value, size_t len, char *err, size_t errsz);
/* The daily digest of a province on <prefix>digest.<province>, key
 * "<province>/<YYYY-MM-DD>": one Digest listing its BEHIND counters. */
int publish_digest(publish_t *pb, const registry_unit *province, const char *day, const quota_status *behind,
                   size_t n, int64_t now_ms, char *err, size_t errsz);
/* Serves delivery reports; never blocks. */
void publish_poll(publish_t *pb);
/* Waits for every outstanding delivery; -1 if some remain after timeout_ms. */
int publish_flush(publish_t *pb, int timeout_ms);

enum {
    PUBLISH_COMMITTED = 0, /* everything produced so far is out */
    PUBLISH_PENDING = -1,  /* not yet (no transactions: deliveries outstanding after the timeout) */
    PUBLISH_ABORTED = -2,  /* the transaction failed; its records were produced again into the next one */
    PUBLISH_FATAL = -3,    /* the producer cannot go on (fenced by our own id, or failing for good) */
};
#define PUBLISH_MAX_ABORTS 300  /* aborted transactions in a row before PUBLISH_FATAL */
#define PUBLISH_MAX_RENEWALS 5  /* producers renewed within a minute before PUBLISH_FATAL */
#define TXN_RENEW_MS 30000      /* a renewed producer's init_transactions */
#define PUBLISH_OUTQ_MAX 2000     /* records in librdkafka's queue before a producer waits for deliveries */
#define PUBLISH_OUTQ_WAIT_MS 1000 /* the longest such a wait, then it produces anyway */
#define PUBLISH_COMMIT_OUTCOME_MS 30000 /* a commit past its caller's timeout is waited for this long more */
int publish_transactional(const publish_t *pb);
/* Records of the open transaction (0 without transactions). */
size_t publish_uncommitted(const publish_t *pb);
/* Commits the open transaction with the consumer's offsets and group
 * metadata (a member the group has moved past cannot commit), then opens
 * the next. An abortable failure aborts it and produces its records again
 * into the next transaction: nothing is lost. A commit still under way at
 * timeout_ms is waited for up to PUBLISH_COMMIT_OUTCOME_MS more: only a
 * failed one may be produced again. Without transactions, a flush. */
int publish_commit(publish_t *pb, const rd_kafka_topic_partition_list_t *offsets,
                   const rd_kafka_consumer_group_metadata_t *cgmd, int timeout_ms);
/* Aborts the open transaction and forgets its records: the partitions they
 * were for were lost to another member. 0, or PUBLISH_FATAL. */
int publish_discard(publish_t *pb, int timeout_ms);

#endif
