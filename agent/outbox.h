/* The agent's way out: a record goes into the durable spool first, then to
 * Kafka; it leaves the spool only on a positive delivery report. Everything
 * still spooled is sent again, oldest first, when the producer comes back. */
#ifndef ISPEED_OUTBOX_H
#define ISPEED_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "kafka.h"
#include "spool.h"

typedef struct outbox outbox_t;

typedef struct outbox_opts {
    const char *state_dir;      /* the spool lives in <state_dir>/spool */
    uint64_t spool_max_bytes;
    const char *bootstrap;
    const kafka_props *props;
    const char *topic_prefix;
    int message_timeout_ms;
} outbox_opts;

/* Called when the brokers acknowledged an enrollment (topic "agents"). */
typedef void (*outbox_delivered_cb)(const char *topic, const char *key, void *arg);

outbox_t *outbox_open(const outbox_opts *opts, outbox_delivered_cb delivered, void *arg, char *err, size_t errsz);
void outbox_close(outbox_t *ob);

/* Stores the record durably, then hands it to the producer. */
int outbox_put(outbox_t *ob, const char *topic, const char *key, const void *value, size_t len, char *err,
               size_t errsz);
/* Sends every spooled record that is not in flight, oldest first; recreates
 * the producer after a fatal error. */
int outbox_resend(outbox_t *ob, char *err, size_t errsz);
/* Serves delivery reports. */
void outbox_poll(outbox_t *ob);
/* Waits up to timeout_ms for the reports of everything in flight; returns
 * the number of records still spooled. */
uint64_t outbox_flush(outbox_t *ob, int timeout_ms);
/* Whether a pending record of this topic and key is spooled. */
int outbox_has_pending(outbox_t *ob, const char *topic, const char *key);
void outbox_stats(const outbox_t *ob, spool_stats *st, int64_t *last_delivery_ms);
/* The spool, for status reports. */
spool_t *outbox_spool(outbox_t *ob);

#endif
