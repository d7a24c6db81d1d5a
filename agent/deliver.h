/* Delivery of the agent's records to Kafka: an idempotent, acks=all, zstd
 * producer; a record counts as delivered only when its delivery report says
 * so, never when librdkafka has merely queued it. */
#ifndef ISPEED_DELIVER_H
#define ISPEED_DELIVER_H

#include <stddef.h>

#include "kafka.h"

typedef struct deliver deliver_t;

deliver_t *deliver_new(const char *bootstrap, const kafka_props *props, const char *topic_prefix, char *err,
                       size_t errsz);
void deliver_free(deliver_t *d);

/* Checks that a broker answers within timeout_ms. */
int deliver_check(deliver_t *d, int timeout_ms, char *err, size_t errsz);
/* Queues one record for <prefix><topic_suffix>. */
int deliver_send(deliver_t *d, const char *topic_suffix, const char *key, const void *value, size_t len,
                 char *err, size_t errsz);
/* Waits up to timeout_ms for the delivery report of everything queued;
 * 0 only when every record was acknowledged by the brokers. */
int deliver_wait(deliver_t *d, int timeout_ms, char *err, size_t errsz);

#endif
