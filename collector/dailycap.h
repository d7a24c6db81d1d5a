/* Anti-gaming: one agent's samples count for at most `cap` per unit per day
 * (SPEC: Quotas; default 12). Days are Vietnamese calendar days. */
#ifndef ISPEED_COLLECTOR_DAILYCAP_H
#define ISPEED_COLLECTOR_DAILYCAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct dailycap dailycap_t;

/* cap 0 means no limit. */
dailycap_t *dailycap_new(unsigned cap);
void dailycap_free(dailycap_t *dc);

/* The Vietnamese day number (days since 1970-01-01 in UTC+7) of ms. */
int64_t dailycap_day(int64_t ms);
/* 0 when the sample may count (and is now counted against the cap), 1 when
 * the agent already reached the cap for this unit and day, -1 out of memory. */
int dailycap_take(dailycap_t *dc, const char *agent_id, const char *unit, int64_t day);
/* Forgets days before oldest_day, to bound memory. */
size_t dailycap_prune(dailycap_t *dc, int64_t oldest_day);

/* For checkpoints: every (agent, unit, day) count. fn returning non-zero stops. */
typedef int (*dailycap_fn)(const char *agent_id, const char *unit, int64_t day, unsigned count, void *ctx);
void dailycap_foreach(const dailycap_t *dc, dailycap_fn fn, void *ctx);
/* Sets one count as dailycap_foreach gave it. -1 when out of memory. */
int dailycap_set(dailycap_t *dc, const char *agent_id, const char *unit, int64_t day, unsigned count);

#endif
