/* Month arithmetic in UTC+7, done on the civil calendar without the C
 * library's time zone state (which is process-global). */
#include "vntime.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The clock's only state: written once under pthread_once, before any
 * reader can see it (librdkafka's threads read the clock too). */
static pthread_once_t clock_once = PTHREAD_ONCE_INIT;
static int64_t clock_offset_ms;
static char clock_error[160];

static int64_t real_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int parse_ms(const char *text, int64_t *ms) {
    if (!*text) return -1;
    for (const char *p = text; *p; p++)
        if (*p < '0' || *p > '9') return -1;
    errno = 0;
    char *end;
    long long v = strtoll(text, &end, 10);
    if (errno || *end) return -1;
    *ms = v;
    return 0;
}

static void clock_read_env(void) {
    const char *now = getenv("ISPEED_NOW"), *at = getenv("ISPEED_NOW_AT");
    if (!now || !*now) return;
    int64_t target, anchor = real_now_ms();
    if (vntime_parse(now, &target) < 0) {
        snprintf(clock_error, sizeof clock_error,
                 "ISPEED_NOW='%.40s' is neither Unix ms nor YYYY-MM-DDTHH:MM[:SS] (Vietnam time); unset it for the real clock",
                 now);
        return;
    }
    if (at && *at && parse_ms(at, &anchor) < 0) {
        snprintf(clock_error, sizeof clock_error, "ISPEED_NOW_AT='%.40s' must be Unix ms", at);
        return;
    }
    clock_offset_ms = target - anchor;
}

int vntime_clock_init(char *err, size_t errsz) {
    pthread_once(&clock_once, clock_read_env);
    if (clock_error[0]) {
        snprintf(err, errsz, "%s", clock_error);
        return -1;
    }
    return clock_offset_ms != 0;
}

int vntime_clock_start(const char *prog) {
    char err[200];
    if (vntime_clock_init(err, sizeof err) >= 0) return 0;
    fprintf(stderr, "%s: %s\n", prog, err);
    return -1;
}

int64_t vntime_clock_offset_ms(void) {
    pthread_once(&clock_once, clock_read_env);
    return clock_offset_ms;
}

int64_t vntime_now_ms(void) {
    pthread_once(&clock_once, clock_read_env);
    return real_now_ms() + clock_offset_ms;
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

int vntime_parse(const char *text, int64_t *ms) {
    if (parse_ms(text, ms) == 0) return 0;
    int y, mo, d, h, mi, sec = 0, n = 0;
    char sep;
    if (sscanf(text, "%4d-%2d-%2d%c%2d:%2d%n", &y, &mo, &d, &sep, &h, &mi, &n) != 6 || (sep != 'T' && sep != ' '))
        return -1;
    const char *rest = text + n;
    if (*rest == ':') {
        int m2 = 0;
        if (sscanf(rest, ":%2d%n", &sec, &m2) != 1) return -1;
        rest += m2;
    }
    /* The only zone spelled out may be Vietnam's own. */
    if (*rest && strcmp(rest, "+07:00") != 0) return -1;
    if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || h > 23 || mi > 59 || sec > 59 || d < 1) return -1;
    char month[8];
    int64_t start, end;
    snprintf(month, sizeof month, "%04d-%02d", y, mo);
    if (vntime_month_bounds(month, &start, &end) < 0) return -1;
    int64_t t = start + (int64_t)(d - 1) * 86400000 + ((int64_t)h * 3600 + mi * 60 + sec) * 1000;
    if (t >= end) return -1; /* 30 February and the like */
    *ms = t;
    return 0;
}
