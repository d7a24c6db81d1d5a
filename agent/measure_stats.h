/* The arithmetic of a speed test, apart from its I/O so it can be tested
 * alone: ping statistics, and the ramp-up and stability rules applied to a
 * throughput series sampled every STATS_SAMPLE_MS. */
#ifndef ISPEED_MEASURE_STATS_H
#define ISPEED_MEASURE_STATS_H

#include <stddef.h>
#include <stdint.h>

#define STATS_SAMPLE_MS 100
#define STATS_MIN_RAMP_MS 2000  /* never keep the first 2 s: TCP slow start */
#define STATS_STABLE_TOL 0.10   /* rates within ±10% of their mean are "stable" */
#define STATS_STOP_SPAN_S 3     /* stable this long after ramp-up: stop early */
/* ... but only once the kept window holds this much: below ~10 Mbit/s a
 * 3 s window is a few hundred packets, and one loss recovery or a shaper's
 * token burst in it moves the figure by 5% (seen on a 2 Mbit/s tbf link);
 * running on to the duration there costs a volunteer little data. */
#define STATS_STOP_MIN_BYTES (4u << 20)

double stats_min(const double *v, size_t n);
/* Median (mean of the middle two for even n); 0 when n is 0. */
double stats_median(const double *v, size_t n);
/* Mean absolute difference of consecutive values; 0 below two values. */
double stats_jitter(const double *v, size_t n);

/* A throughput series: bytes[k] moved by time t_us[k] (from the phase
 * start; t_us[0] = 0, bytes[0] = 0), one sample per STATS_SAMPLE_MS. */
typedef struct stats_series {
    const int64_t *t_us;
    const uint64_t *bytes;
    size_t n;
} stats_series;

/* Bytes per second over the second ending at sample k (k >= 10). */
double stats_rate_1s(const stats_series *s, size_t k);
/* Stable at sample k over span_s seconds: the one-second rates ending at k,
 * k-0.5 s, k-1 s, ... k-span_s all lie within ±STATS_STABLE_TOL of their
 * mean (and are not all zero). False when there are not enough samples. */
int stats_stable(const stats_series *s, size_t k, int span_s);
/* The ramp-up is over at sample k: at or after STATS_MIN_RAMP_MS with the
 * rate stable over the last second, or at the latest at half of duration_ms
 * (a link that never settles keeps its second half). */
int stats_ramp_over(const stats_series *s, size_t k, int duration_ms);
/* A direction whose ramp-up ended at sample ramp_end may stop at sample k:
 * it has kept STATS_STOP_SPAN_S and STATS_STOP_MIN_BYTES since, and the
 * rate has been stable over the last STATS_STOP_SPAN_S. */
int stats_stop_early(const stats_series *s, size_t ramp_end, size_t k);
/* Where the kept window starts for a direction that ended at sample last
 * before the ramp-up rule decided: its second half, or all of it when it is
 * too short to have one (a tiny data budget). */
size_t stats_ramp_fallback(const stats_series *s, size_t last);
/* Goodput in bits/s over samples (from, to]. */
uint64_t stats_goodput_bps(const stats_series *s, size_t from, size_t to);

#endif
