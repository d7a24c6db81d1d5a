/* Follows the quota and alert topics for the dashboard: a snapshot read to
 * the current end first (so the pages are whole when the server opens),
 * then a thread that follows the topics and queues each record; the event
 * loop takes the queue from a timer, as librdkafka's results must reach
 * loop state from the loop's own thread. */
#ifndef ISPEED_CTL_DASH_FEED_H
#define ISPEED_CTL_DASH_FEED_H

#include <event2/event.h>
#include <stddef.h>

#include "dash_state.h"
#include "kafka.h"

typedef struct dash_feed dash_feed_t;

/* Called on the loop's thread after a batch of records changed provinces'
 * pictures: provinces holds the distinct codes, alerts says whether alerts
 * were among the records. */
typedef void (*dash_feed_notify)(const char *const *provinces, size_t n, int alerts, void *opaque);

/* Reads topics (the quota topics, then the alerts topic last) from their
 * beginning to their current end into ds, then starts following them.
 * province_of_topic strips prefix+"quota." to name a topic's province. */
dash_feed_t *dash_feed_start(struct event_base *base, const char *bootstrap, const kafka_props *props,
                             const char *prefix, const char *const *quota_topics, size_t nquota, dash_state_t *ds,
                             dash_feed_notify notify, void *opaque, char *err, size_t errsz);
/* Stops the thread and frees; accepts NULL. */
void dash_feed_stop(dash_feed_t *f);
/* Records that did not decode (each is skipped, the first is logged). */
unsigned long dash_feed_bad(const dash_feed_t *f);

#endif
