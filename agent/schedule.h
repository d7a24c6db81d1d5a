/* When the next test starts: every interval, moved by a random jitter so
 * that agents do not test in lockstep, never inside quiet hours, and never
 * a burst of catch-up tests after the machine was off. Pure functions of
 * their inputs (the caller passes the clock and the randomness), so tests
 * can pin them down. */
#ifndef ISPEED_SCHEDULE_H
#define ISPEED_SCHEDULE_H

#include <stdint.h>

typedef struct schedule_opts {
    int64_t interval_ms;
    int64_t jitter_ms;
    int quiet_start_min; /* minutes after midnight in Vietnam's time; -1 = none */
    int quiet_end_min;
} schedule_opts;

/* Whether ms (UTC) falls in the quiet hours. */
int schedule_in_quiet(const schedule_opts *o, int64_t ms);
/* The start of the next test. last_slot_ms is the planned start of the
 * previous one (0 if none); random is a uniformly random 32-bit value. */
int64_t schedule_next(const schedule_opts *o, int64_t last_slot_ms, int64_t now_ms, uint32_t random);

#endif
