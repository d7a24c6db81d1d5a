/* librdkafka set-up shared by every program: bootstrap, -X / kafka.*
 * pass-through, topic names under the configurable prefix, and a reachability
 * check that turns "no broker" into one clear line. */
#ifndef ISPEED_KAFKA_H
#define ISPEED_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#define KAFKA_DEFAULT_PREFIX "ispeed."
#define KAFKA_MAX_PROPS 64

typedef struct kafka_props {
    const char *key[KAFKA_MAX_PROPS];
    const char *value[KAFKA_MAX_PROPS];
    char *owned[KAFKA_MAX_PROPS]; /* "key=value" copies, split in place */
    size_t n;
} kafka_props;

/* Adds "property=value" (from -X or a kafka.* config key). -1 with a message
 * if it has no '=' or the table is full. */
int kafka_props_add(kafka_props *props, const char *kv, char *err, size_t errsz);
void kafka_props_clear(kafka_props *props);

/* A configuration with bootstrap.servers and every property applied, in
 * order, so a -X given later wins. Stops at the first property librdkafka
 * rejects and quotes its message. */
rd_kafka_conf_t *kafka_conf_new(const char *bootstrap, const kafka_props *props, char *err, size_t errsz);
/* Same as rd_kafka_conf_set, with the error phrased for the user. */
int kafka_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value, char *err, size_t errsz);

/* One property a program sets over the producer defaults. */
typedef struct kafka_setting {
    const char *key, *value;
} kafka_setting;

/* A producer configuration in the order that lets the operator win:
 * bootstrap, the SPEC's producer defaults (enable.idempotence=true,
 * acks=all, compression.type=zstd at compression.level=1, linger.ms=5),
 * then the program's own settings (nextra of them, e.g. a loader's large
 * batches), then every -X / kafka.* property. NULL with librdkafka's
 * message when one is rejected. */
rd_kafka_conf_t *kafka_producer_conf_new(const char *bootstrap, const kafka_setting *extra, size_t nextra,
                                         const kafka_props *props, char *err, size_t errsz);

/* prefix + name, e.g. "ispeed." + "samples". */
void kafka_topic_name(char *out, size_t outsz, const char *prefix, const char *name);
/* Queues one record (copied), stamped with the one clock (vntime_now_ms),
 * waiting for room while the producer's local queue is full: for tools that
 * produce faster than the brokers take. 0, or -1 with err. */
int kafka_produce_wait(rd_kafka_t *rk, const char *topic, const void *key, size_t keylen, const void *val, size_t len,
                       char *err, size_t errsz);

/* Waits up to timeout_ms for a metadata answer from any broker. -1 with
 * "cannot reach Kafka at ..." when none answers. */
int kafka_check_reachable(rd_kafka_t *rk, const char *bootstrap, int timeout_ms, char *err, size_t errsz);

#endif
