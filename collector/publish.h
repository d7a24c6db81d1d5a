/* The collector's outputs: QuotaStatus on <prefix>quota.<province>, Alert on
 * <prefix>alerts, rejected records on <prefix>dlq. One idempotent producer
 * (acks=all); delivery reports are served by publish_poll from the loop. */
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

publish_t *publish_new(const char *bootstrap, const kafka_props *props, const char *prefix, metrics_t *m,
                       char *err, size_t errsz);
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

#endif
