/* Months in Vietnam's time (UTC+7, no daylight saving): quotas are counted
 * per calendar month there, whatever the clock of the machine says. */
#ifndef ISPEED_VNTIME_H
#define ISPEED_VNTIME_H

#include <stdint.h>

#define VNTIME_OFFSET_MS (7LL * 3600 * 1000)

/* Wall clock, Unix ms. */
int64_t vntime_now_ms(void);
/* Monotonic clock, us from an arbitrary origin: for durations and deadlines,
 * which must not jump when the wall clock is set. */
int64_t vntime_mono_us(void);
/* "YYYY-MM" (8 bytes with NUL) of the Vietnamese month containing ms. */
void vntime_month(int64_t ms, char out[8]);
/* Parses "YYYY-MM"; returns -1 if malformed. Sets the UTC ms bounds
 * [start, end) of that month in Vietnam's time. */
int vntime_month_bounds(const char *month, int64_t *start_ms, int64_t *end_ms);
/* "YYYY-MM-DD HH:MM:SS" in UTC+7 (20 bytes with NUL). */
void vntime_format(int64_t ms, char out[20]);

#endif
