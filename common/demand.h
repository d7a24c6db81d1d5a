/* Demand: what a counter still needs this month, in the terms an agent can
 * act on (samples needed, days left, samples per day needed, whether the
 * current rate gets there) and the recruiting arithmetic built on it (how
 * many more volunteers a commune needs at the floor interval). Pure: the
 * caller passes the time and the counts. */
#ifndef ISPEED_COLLECTOR_DEMAND_H
#define ISPEED_COLLECTOR_DEMAND_H

#include <stdint.h>

typedef struct demand {
    uint64_t needed;       /* target - count, 0 once met */
    double days_left;      /* of the month at now_ms, fractional, 0 after it */
    double rate_needed;    /* samples per day from now to month end to meet the target (0 once met) */
    double rate_current;   /* samples per day so far this month */
    int will_make_it;      /* 1 when count + rate_current x days_left reaches the target */
} demand;

/* The demand of one counter at now_ms in the month [month_start, month_end).
 * Before the month: the whole month is left and no rate is known yet (so it
 * is not going to make it unless the target is 0). */
void demand_compute(uint64_t count, uint32_t target, int64_t now_ms, int64_t month_start, int64_t month_end,
                    demand *out);

/* Volunteers a commune needs to meet rate_needed when each can give at most
 * per_agent_per_day counted samples a day (the daily cap, or what the floor
 * interval and availability allow): ceil(rate_needed / per_agent_per_day),
 * minus the agents it has; 0 when those suffice. */
uint32_t demand_recruit(double rate_needed, double per_agent_per_day, uint32_t agents);

#endif
