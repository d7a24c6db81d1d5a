/* The agent's own commune's demand, read-only: its own librdkafka consumer,
 * no group, the partitions of <prefix>quota.<province> assigned from their
 * beginning, the latest QuotaStatus kept for <commune>/<month>/<class>.
 * Polled from the daemon's loop, never blocking it for more than a short
 * metadata request; without a broker it just has nothing (the schedule is
 * then the static one). */
#ifndef ISPEED_AGENT_QUOTAFEED_H
#define ISPEED_AGENT_QUOTAFEED_H

#include <stddef.h>
#include <stdint.h>

#include "kafka.h"
#include "schedule.h"

typedef struct quotafeed quotafeed_t;

quotafeed_t *quotafeed_new(const char *bootstrap, const kafka_props *props, const char *prefix, const char *province,
                           const char *commune, char *err, size_t errsz);
void quotafeed_free(quotafeed_t *qf);

/* Serves what arrived (at most a few thousand records a call); assigns the
 * partitions first if that has not worked yet (retried every 10 s). Returns
 * 1 when the demand of the commune changed, 0 when not. */
int quotafeed_poll(quotafeed_t *qf, int64_t now_ms);

/* The latest demand of the commune for class network (1 fixed, 2 mobile)
 * in month; d->known = 0 when none was read. */
void quotafeed_get(const quotafeed_t *qf, int network, const char *month, schedule_demand *d);

#endif
