/* Reads Kafka topics from their beginning, without a consumer group or
 * commits: up to the high watermarks it had at start (a snapshot), on and on
 * until told to stop (--follow), or a little at a time from an event loop
 * (poll, and catch-up to the end of this moment). How ispeedctl reads every
 * topic, how a tool reads one to its end, and how each collector reads the
 * whole agents and alerts topics beside its consumer group. */
#ifndef ISPEED_TOPIC_READER_H
#define ISPEED_TOPIC_READER_H

#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stddef.h>

#include "kafka.h"

#define TOPIC_READER_ERR -1         /* anything else; err says what */
#define TOPIC_READER_UNREACHABLE -2 /* no broker answered */
#define TOPIC_READER_NO_TOPIC -3    /* the topic does not exist */

typedef struct topic_reader topic_reader_t;

/* Called for each message in partition order (no order across partitions).
 * Return 0 to go on, negative to stop the read with that code (put the
 * reason in err). */
typedef int (*topic_reader_cb)(const rd_kafka_message_t *msg, void *opaque, char *err, size_t errsz);

/* Connects, checks that a broker answers and that the topic exists, and
 * assigns all its partitions at their beginning. On failure returns NULL and
 * sets *code to one of the TOPIC_READER_* codes. */
topic_reader_t *topic_reader_new(const char *bootstrap, const kafka_props *props, const char *topic, int *code,
                                 char *err, size_t errsz);
/* The same over several topics at once (one consumer, one snapshot): how
 * "report" reads every province's quota topic. */
topic_reader_t *topic_reader_new_multi(const char *bootstrap, const kafka_props *props, const char *const *topics,
                                       size_t ntopics, int *code, char *err, size_t errsz);
/* How a reader inside a long-running program differs from ispeedctl's. */
typedef struct topic_reader_opts {
    /* Component of its log lines, and the start of its (never joined)
     * group id, "<name>.<first topic>"; NULL: "ispeedctl", and a group id
     * of the process. */
    const char *name;
    /* librdkafka's fetch.wait.max.ms unless the props set it; 0 keeps
     * librdkafka's 500 ms. The embedded Kafka answers one batch per
     * partition per fetch and holds the answer this long once any partition
     * is at its end, so a catch-up of many small batches crawls at 500. */
    int fetch_wait_max_ms;
    /* librdkafka's queued.max.messages.kbytes (and fetch.max.bytes to
     * match) unless the props set them; 0 keeps librdkafka's 64 MiB. What
     * a reader fetches ahead of its caller is held in memory: a reader
     * living beside other work wants little of it. */
    int queue_kbytes;
} topic_reader_opts;
topic_reader_t *topic_reader_new_opts(const char *bootstrap, const kafka_props *props, const char *topic,
                                      const topic_reader_opts *opts, int *code, char *err, size_t errsz);
void topic_reader_free(topic_reader_t *tr);

/* The names of the topics that start with prefix, sorted, from one metadata
 * answer; *names is a NULL-terminated array, free each and it. */
int topic_reader_list(const char *bootstrap, const kafka_props *props, const char *prefix, char ***names,
                      size_t *n, int *code, char *err, size_t errsz);

/* Delivers messages to cb. Without follow, returns 0 once every partition
 * reached the high watermark it had when the reader was made. With follow,
 * returns 0 when *stop becomes non-zero (set it from a signal handler).
 * A follow run after a snapshot run goes on from where that one ended, so a
 * caller can print the backlog its own way (e.g. sorted) then follow. */
int topic_reader_run(topic_reader_t *tr, int follow, volatile sig_atomic_t *stop, topic_reader_cb cb,
                     void *opaque, char *err, size_t errsz);

/* For a reader driven by an event loop. Both deliver every message, past the
 * start-time watermarks too (like a follow run); after a snapshot run they
 * go on from where it ended. */

/* Delivers what has already arrived, at most max messages, without waiting.
 * Returns how many were delivered, or a negative code: cb's, or
 * TOPIC_READER_ERR for a topic or partition error (err says which; the
 * reader can go on being polled). */
int topic_reader_poll(topic_reader_t *tr, size_t max, topic_reader_cb cb, void *opaque, char *err, size_t errsz);
/* Asks each partition for its end now and delivers until every one is
 * reached: afterwards every message that was in the topic when called has
 * been delivered. Waits at most timeout_ms (then TOPIC_READER_UNREACHABLE);
 * returns at once when nothing is new, after one watermark query a
 * partition. Negative codes as topic_reader_poll. */
int topic_reader_catch_up(topic_reader_t *tr, int timeout_ms, topic_reader_cb cb, void *opaque, char *err,
                          size_t errsz);

/* librdkafka's log lines, as debug lines of ours: hidden unless
 * ISPEEDCTL_LOG=debug, so that an error stays one line. For
 * rd_kafka_conf_set_log_cb of every ispeedctl client. */
void topic_reader_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf);

#endif
