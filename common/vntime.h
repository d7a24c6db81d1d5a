/* Months in Vietnam's time (UTC+7, no daylight saving): quotas are counted
 * per calendar month there, whatever the clock of the machine says. */
#ifndef ISPEED_VNTIME_H
#define ISPEED_VNTIME_H

#include <stddef.h>
#include <stdint.h>

#define VNTIME_OFFSET_MS (7LL * 3600 * 1000)

/* Wall clock, Unix ms: the one clock every program reads for "now".
 *
 * Tests stand on any instant with the environment: ISPEED_NOW is where the
 * clock stands (Unix ms, or "YYYY-MM-DDTHH:MM[:SS]" in Vietnam's time) at
 * the real instant ISPEED_NOW_AT (Unix ms; default: this process's first
 * reading), and it runs on from there at the real rate, so durations and
 * deadlines keep working and several processes of one test agree. */
int64_t vntime_now_ms(void);
/* Reads ISPEED_NOW / ISPEED_NOW_AT once. Programs call it first in main so
 * that a malformed value stops them with usage status 2 and a message in
 * err; returns 1 when the clock is shifted, 0 when it is the real one. */
int vntime_clock_init(char *err, size_t errsz);
/* vntime_clock_init for a program's main: a malformed value is printed as
 * "PROG: message" on stderr and gives -1 (exit 2). Silent otherwise: a
 * daemon logs the shift itself (the collector does), a command's stderr
 * stays for its one-line errors. */
int vntime_clock_start(const char *prog);
/* The one line every program's --help carries about the test clock. */
#define VNTIME_HELP                                                                                  \
    "Environment: ISPEED_NOW=INSTANT (Unix ms, or YYYY-MM-DDTHH:MM[:SS] in Vietnam's time) stands\n" \
    "the clock on another instant, from which it runs on; ISPEED_NOW_AT=UNIX_MS is the real instant\n" \
    "it was set at (default: the program's start). For tests and demos only."
/* The shift in force (0 without ISPEED_NOW), for a program's start-up log. */
int64_t vntime_clock_offset_ms(void);
/* Parses "YYYY-MM-DDTHH:MM[:SS]" (or with a space for T), read in Vietnam's
 * time, or plain Unix ms; -1 if malformed. */
int vntime_parse(const char *text, int64_t *ms);
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
