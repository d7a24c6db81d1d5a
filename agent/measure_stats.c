/* Speed-test arithmetic (see measure_stats.h). */
#include "measure_stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SAMPLES_PER_S (1000 / STATS_SAMPLE_MS)

double stats_min(const double *v, size_t n) {
    double m;

    if (n == 0) return 0;
    m = v[0];
    for (size_t i = 1; i < n; i++)
        if (v[i] < m) m = v[i];
    return m;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double stats_median(const double *v, size_t n) {
    double *s, m;

    if (n == 0) return 0;
    s = malloc(n * sizeof *s);
    if (!s) return 0;
    memcpy(s, v, n * sizeof *s);
    if (n > 1) qsort(s, n, sizeof *s, cmp_double);
    m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    free(s);
    return m;
}

double stats_jitter(const double *v, size_t n) {
    double sum = 0;

    if (n < 2) return 0;
    for (size_t i = 1; i < n; i++) sum += fabs(v[i] - v[i - 1]);
    return sum / (double)(n - 1);
}

double stats_rate_1s(const stats_series *s, size_t k) {
    int64_t dt;

    if (k < SAMPLES_PER_S || k >= s->n) return 0;
    dt = s->t_us[k] - s->t_us[k - SAMPLES_PER_S];
    if (dt <= 0) return 0;
    return (double)(s->bytes[k] - s->bytes[k - SAMPLES_PER_S]) * 1e6 / (double)dt;
}

int stats_stable(const stats_series *s, size_t k, int span_s) {
    double rates[2 * 60 + 1], mean = 0;
    size_t nr = 0, step = SAMPLES_PER_S / 2;

    if (span_s < 1 || span_s > 60 || k >= s->n || k < (size_t)(span_s + 1) * SAMPLES_PER_S) return 0;
    for (size_t j = 0; j <= (size_t)span_s * 2; j++) {
        rates[nr] = stats_rate_1s(s, k - j * step);
        mean += rates[nr++];
    }
    mean /= (double)nr;
    if (mean <= 0) return 0;
    for (size_t j = 0; j < nr; j++)
        if (fabs(rates[j] - mean) > STATS_STABLE_TOL * mean) return 0;
    return 1;
}

int stats_ramp_over(const stats_series *s, size_t k, int duration_ms) {
    if (k >= s->n) return 0;
    if (s->t_us[k] >= (int64_t)STATS_MIN_RAMP_MS * 1000 && stats_stable(s, k, 1)) return 1;
    return s->t_us[k] >= (int64_t)duration_ms * 500;
}

int stats_stop_early(const stats_series *s, size_t ramp_end, size_t k) {
    if (k >= s->n || ramp_end >= k) return 0;
    if (s->t_us[k] - s->t_us[ramp_end] < (int64_t)STATS_STOP_SPAN_S * 1000000) return 0;
    if (s->bytes[k] - s->bytes[ramp_end] < STATS_STOP_MIN_BYTES) return 0;
    return stats_stable(s, k, STATS_STOP_SPAN_S);
}

size_t stats_ramp_fallback(const stats_series *s, size_t last) {
    size_t from = 0;

    if (last >= s->n) return 0;
    while (from < last && s->t_us[from] < s->t_us[last] / 2) from++;
    return from >= last ? 0 : from;
}

uint64_t stats_goodput_bps(const stats_series *s, size_t from, size_t to) {
    int64_t dt;

    if (to >= s->n || from >= to) return 0;
    dt = s->t_us[to] - s->t_us[from];
    if (dt <= 0) return 0;
    return (uint64_t)((double)(s->bytes[to] - s->bytes[from]) * 8e6 / (double)dt);
}
