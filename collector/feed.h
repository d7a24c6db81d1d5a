/* A reader of a whole topic, from its beginning, on every collector: how each
 * collector learns every agent's enrollment (<prefix>agents), which the
 * consumer group would otherwise split between them. It uses rd_kafka_assign
 * on its own consumer handle, never the group. */
#ifndef ISPEED_COLLECTOR_FEED_H
#define ISPEED_COLLECTOR_FEED_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#include "kafka.h"

typedef struct feed feed_t;
typedef void (*feed_apply_fn)(const rd_kafka_message_t *msg, void *ctx);

feed_t *feed_new(const char *bootstrap, const kafka_props *props, const char *topic, feed_apply_fn apply,
                 void *ctx, char *err, size_t errsz);
void feed_free(feed_t *fd);

/* Looks the topic up and assigns all its partitions from the beginning. -1
 * when it does not exist or Kafka does not answer within timeout_ms. */
int feed_start(feed_t *fd, int timeout_ms, char *err, size_t errsz);
/* Applies what has arrived, at most max records; never blocks. Returns how
 * many were applied. */
size_t feed_poll(feed_t *fd, size_t max);
/* Blocks until every record that was in the topic when called has been
 * applied (the high watermarks of that moment), or timeout_ms. -1 on
 * timeout or error. */
int feed_catch_up(feed_t *fd, int timeout_ms, char *err, size_t errsz);

#endif
