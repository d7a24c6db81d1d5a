/* The agent's Kafka producer: idempotent, acks=all, zstd. Each record
 * carries a reference (its spool id); the report callback says for each
 * whether the brokers acknowledged it. Reports are served only from
 * deliver_poll / deliver_flush, on the caller's thread, never from
 * librdkafka's own threads. */
#ifndef ISPEED_DELIVER_H
#define ISPEED_DELIVER_H

#include <stddef.h>
#include <stdint.h>

#include "kafka.h"

typedef struct deliver deliver_t;
typedef void (*deliver_report_cb)(uint64_t ref, int ok, const char *error, void *arg);

deliver_t *deliver_new(const char *bootstrap, const kafka_props *props, const char *topic_prefix,
                       int message_timeout_ms, deliver_report_cb report, void *arg, char *err, size_t errsz);
void deliver_free(deliver_t *d);

/* Queues one record for <prefix><topic_suffix>. */
int deliver_send(deliver_t *d, const char *topic_suffix, const char *key, const void *value, size_t len,
                 uint64_t ref, char *err, size_t errsz);
/* Serves pending delivery reports without waiting. */
void deliver_poll(deliver_t *d);
/* Waits up to timeout_ms until nothing is in flight; returns how many
 * records are still in flight. */
size_t deliver_flush(deliver_t *d, int timeout_ms);
size_t deliver_in_flight(const deliver_t *d);
/* Non-zero once librdkafka raised a fatal error: the producer must be
 * recreated and everything unacknowledged sent again. */
int deliver_fatal(deliver_t *d, char *err, size_t errsz);

#endif
