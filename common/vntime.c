/* Month arithmetic in UTC+7, done on the civil calendar without the C
 * library's time zone state (which is process-global). */
#include "vntime.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t vntime_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t vntime_mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_ms(int64_t ms, struct tm *tm) {
    time_t secs = (time_t)((ms + VNTIME_OFFSET_MS) / 1000 - ((ms + VNTIME_OFFSET_MS) % 1000 < 0));
    gmtime_r(&secs, tm);
}

void vntime_month(int64_t ms, char out[8]) {
    struct tm tm;
    civil_from_ms(ms, &tm);
    char buf[64];
    snprintf(buf, sizeof buf, "%04d-%02d", (tm.tm_year + 1900) % 10000, tm.tm_mon + 1);
    memcpy(out, buf, 7);
    out[7] = '\0';
}

void vntime_format(int64_t ms, char out[20]) {
    struct tm tm;
    civil_from_ms(ms, &tm);
    char buf[64];
    snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d", (tm.tm_year + 1900) % 10000,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    memcpy(out, buf, 19);
    out[19] = '\0';
}

int vntime_month_bounds(const char *month, int64_t *start_ms, int64_t *end_ms) {
    int y, m;
    char tail;
    if (strlen(month) != 7 || month[4] != '-') return -1;
    if (sscanf(month, "%4d-%2d%c", &y, &m, &tail) != 2) return -1;
    if (y < 1970 || y > 9999 || m < 1 || m > 12) return -1;
    int64_t start = days_from_civil(y, (unsigned)m, 1);
    int64_t end = m == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, (unsigned)m + 1, 1);
    *start_ms = start * 86400000LL - VNTIME_OFFSET_MS;
    *end_ms = end * 86400000LL - VNTIME_OFFSET_MS;
    return 0;
}
