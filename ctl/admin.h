/* The Admin API plumbing topics.c and acl.c share: a client handle that has
 * reached the cluster, and one request sent and its result event awaited. */
#ifndef ISPEED_CTL_ADMIN_H
#define ISPEED_CTL_ADMIN_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#include "kafka.h"

/* Admin requests wait this long for the controller (topic creation included). */
#define ADMIN_TIMEOUT_MS 30000

/* A client for Admin requests, checked to reach bootstrap; NULL with a message. */
rd_kafka_t *admin_new(const char *bootstrap, const kafka_props *props, char *err, size_t errsz);

/* Options for one request of kind api, with the operation timeout set. */
rd_kafka_AdminOptions_t *admin_options(rd_kafka_t *rk, rd_kafka_admin_op_t api);

/* Waits for the result of the request just sent on q; NULL with a message
 * when none comes or the request as a whole failed. Destroy the event. */
rd_kafka_event_t *admin_wait(rd_kafka_queue_t *q, const char *what, char *err, size_t errsz);

#endif
