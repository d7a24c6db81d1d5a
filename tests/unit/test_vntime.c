/* common/vntime.c: months are Vietnam's (UTC+7), not the machine's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vntime.h"

static void month_turns_at_midnight_utc7(void **state) {
    (void)state;
    char m[8];
    int64_t start, end;
    assert_int_equal(vntime_month_bounds("2025-07", &start, &end), 0);
    /* 2025-07-01 00:00 UTC+7 is 2025-06-30 17:00 UTC = 1751302800 s. */
    assert_int_equal(start, 1751302800000LL);
    assert_int_equal(end - start, 31LL * 86400000);
    vntime_month(start, m);
    assert_string_equal(m, "2025-07");
    vntime_month(start - 1, m);
    assert_string_equal(m, "2025-06");
    vntime_month(end - 1, m);
    assert_string_equal(m, "2025-07");
    vntime_month(end, m);
    assert_string_equal(m, "2025-08");
}

static void month_bounds_cover_leap_years_and_december(void **state) {
    (void)state;
    int64_t start, end, s2, e2;
    assert_int_equal(vntime_month_bounds("2024-02", &start, &end), 0);
    assert_int_equal(end - start, 29LL * 86400000);
    assert_int_equal(vntime_month_bounds("2025-12", &start, &end), 0);
    assert_int_equal(vntime_month_bounds("2026-01", &s2, &e2), 0);
    assert_int_equal(end, s2);
    char text[20];
    vntime_format(start, text);
    assert_string_equal(text, "2025-12-01 00:00:00");
}

static void month_rejects_malformed(void **state) {
    (void)state;
    int64_t s, e;
    assert_int_equal(vntime_month_bounds("2025-13", &s, &e), -1);
    assert_int_equal(vntime_month_bounds("2025-7", &s, &e), -1);
    assert_int_equal(vntime_month_bounds("2025/07", &s, &e), -1);
    assert_int_equal(vntime_month_bounds("2025-07x", &s, &e), -1);
    assert_int_equal(vntime_month_bounds("", &s, &e), -1);
}

/* The monotonic clock is in microseconds: a 20 ms sleep moves it by 20,000
 * or more (and by far less than the seconds a wrong unit would give), and it
 * never goes back. */
static void mono_counts_microseconds(void **state) {
    (void)state;
    int64_t t0 = vntime_mono_us(), prev = t0;
    for (int i = 0; i < 1000; i++) {
        int64_t t = vntime_mono_us();
        assert_true(t >= prev);
        prev = t;
    }
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    int64_t d = vntime_mono_us() - t0;
    assert_true(d >= 20000);
    assert_true(d < 5 * 1000 * 1000);
}

static void parse_reads_vietnam_time_and_unix_ms(void **state) {
    (void)state;
    int64_t ms;
    /* 2028-02-29 23:59:59 UTC+7 = 2028-02-29 16:59:59 UTC = 1835456399 s. */
    assert_int_equal(vntime_parse("2028-02-29T23:59:59", &ms), 0);
    assert_int_equal(ms, 1835456399000LL);
    assert_int_equal(vntime_parse("2028-02-29 23:59:59+07:00", &ms), 0);
    assert_int_equal(ms, 1835456399000LL);
    assert_int_equal(vntime_parse("2026-12-01T00:05", &ms), 0);
    char text[20];
    vntime_format(ms, text);
    assert_string_equal(text, "2026-12-01 00:05:00");
    assert_int_equal(vntime_parse("1835456399000", &ms), 0);
    assert_int_equal(ms, 1835456399000LL);
    assert_int_equal(vntime_parse("2027-02-29T12:00", &ms), -1); /* not a leap year */
    assert_int_equal(vntime_parse("2026-12-01T24:00", &ms), -1);
    assert_int_equal(vntime_parse("2026-12-01T00:05Z", &ms), -1); /* only +07:00 may be spelled */
    assert_int_equal(vntime_parse("2026-12-01", &ms), -1);
    assert_int_equal(vntime_parse("", &ms), -1);
    assert_int_equal(vntime_parse("-5", &ms), -1);
}

/* The clock's environment is read once a process, so each case runs in a
 * child of its own and reports through its exit status. */
static int clock_case(const char *now, const char *at, int64_t want_ms, int want_init) {
    pid_t pid = fork();
    if (pid == 0) {
        if (now) setenv("ISPEED_NOW", now, 1); else unsetenv("ISPEED_NOW");
        if (at) setenv("ISPEED_NOW_AT", at, 1); else unsetenv("ISPEED_NOW_AT");
        char err[200] = "";
        int rc = vntime_clock_init(err, sizeof err);
        if (rc != want_init) _exit(10);
        if (rc < 0) _exit(strstr(err, "ISPEED_NOW") ? 0 : 11);
        int64_t got = vntime_now_ms();
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t real = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        if (want_ms == 0) want_ms = real;     /* no shift: the real clock */
        if (want_ms < 0) want_ms = -want_ms + (real - atoll(at)); /* anchored: it ran on since ISPEED_NOW_AT */
        _exit(got >= want_ms - 50 && got <= want_ms + 50 ? 0 : 12);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 99;
}

static void clock_stands_where_the_environment_says(void **state) {
    (void)state;
    assert_int_equal(clock_case(NULL, NULL, 0, 0), 0);
    assert_int_equal(clock_case("2028-02-29T23:59:59", NULL, 1835456399000LL, 1), 0);
    /* Anchored ten seconds ago: the clock has run on ten seconds since. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char at[32];
    snprintf(at, sizeof at, "%lld", (long long)ts.tv_sec * 1000 - 10000);
    assert_int_equal(clock_case("1835456399000", at, -1835456399000LL, 1), 0);
    assert_int_equal(clock_case("tomorrow", NULL, 0, -1), 0);
    assert_int_equal(clock_case("2028-02-29T23:59:59", "soon", 0, -1), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(month_turns_at_midnight_utc7),
        cmocka_unit_test(month_bounds_cover_leap_years_and_december),
        cmocka_unit_test(month_rejects_malformed),
        cmocka_unit_test(mono_counts_microseconds),
        cmocka_unit_test(parse_reads_vietnam_time_and_unix_ms),
        cmocka_unit_test(clock_stands_where_the_environment_says),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
