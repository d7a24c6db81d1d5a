/* Test scheduling. Quiet hours are read in Vietnam's time (UTC+7): the
 * volunteers are there, whatever zone their machine is set to. */
#include "schedule.h"

#include "vntime.h"

#define DAY_MS 86400000LL

static int minute_of_day(int64_t ms) {
    int64_t local = (ms + VNTIME_OFFSET_MS) % DAY_MS;
    if (local < 0) local += DAY_MS;
    return (int)(local / 60000);
}

int schedule_in_quiet(const schedule_opts *o, int64_t ms) {
    if (o->quiet_start_min < 0) return 0;
    int m = minute_of_day(ms);
    if (o->quiet_start_min < o->quiet_end_min) return m >= o->quiet_start_min && m < o->quiet_end_min;
    return m >= o->quiet_start_min || m < o->quiet_end_min; /* across midnight */
}

/* The first instant at or after ms that is outside the quiet hours. */
static int64_t quiet_end_after(const schedule_opts *o, int64_t ms) {
    if (!schedule_in_quiet(o, ms)) return ms;
    int m = minute_of_day(ms);
    int wait = o->quiet_end_min - m;
    if (wait <= 0) wait += 24 * 60;
    int64_t start_of_minute = ms - ((ms + VNTIME_OFFSET_MS) % 60000 + 60000) % 60000;
    return start_of_minute + (int64_t)wait * 60000;
}

int64_t schedule_next(const schedule_opts *o, int64_t last_slot_ms, int64_t now_ms, uint32_t random) {
    int64_t jitter = o->jitter_ms < o->interval_ms / 2 ? o->jitter_ms : o->interval_ms / 2;
    /* Uniform in [-jitter, +jitter]. */
    int64_t offset = jitter ? (int64_t)(random % (uint64_t)(2 * jitter + 1)) - jitter : 0;
    int64_t next;
    if (last_slot_ms <= 0) {
        /* First start: spread agents over the first jitter window. */
        next = now_ms + (offset < 0 ? -offset : offset);
    } else {
        next = last_slot_ms + o->interval_ms + offset;
        /* Missed slots (machine asleep) are not made up: test once, now. */
        if (next < now_ms) next = now_ms;
    }
    if (schedule_in_quiet(o, next)) next = quiet_end_after(o, next) + (offset < 0 ? -offset : offset);
    return next;
}
