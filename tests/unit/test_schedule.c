/* agent/schedule.c and agent/budget.c: when tests run and whether they fit
 * the month's data budget; the adaptive schedule's decisions with an
 * injected clock and demand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "budget.h"
#include "schedule.h"
#include "vntime.h"

#define MIN 60000LL
#define HOUR (60 * MIN)

/* 2025-07-10 12:00 in Vietnam. */
static int64_t noon(void) {
    int64_t s, e;
    vntime_month_bounds("2025-07", &s, &e);
    return s + 9 * 24 * HOUR + 12 * HOUR;
}

static void next_slot_is_interval_plus_bounded_jitter(void **state) {
    (void)state;
    schedule_opts o = {.interval_ms = 60 * MIN, .jitter_ms = 10 * MIN, .quiet_start_min = -1};
    int64_t last = noon(), lo = INT64_MAX, hi = INT64_MIN;
    for (uint32_t r = 0; r < 100000; r += 7) {
        int64_t next = schedule_next(&o, last, last + 1000, r * 2654435761u);
        assert_true(next >= last + 50 * MIN && next <= last + 70 * MIN);
        if (next < lo) lo = next;
        if (next > hi) hi = next;
    }
    /* The jitter really spreads agents over the whole window. */
    assert_true(lo < last + 52 * MIN && hi > last + 68 * MIN);
    o.jitter_ms = 0;
    assert_true(schedule_next(&o, last, last, 12345) == last + 60 * MIN);
}

static void missed_slots_are_not_made_up(void **state) {
    (void)state;
    schedule_opts o = {.interval_ms = 60 * MIN, .jitter_ms = 0, .quiet_start_min = -1};
    int64_t last = noon(), now = last + 5 * HOUR; /* the machine slept */
    assert_true(schedule_next(&o, last, now, 1) == now);
    /* First start: within the jitter window from now. */
    o.jitter_ms = 10 * MIN;
    int64_t first = schedule_next(&o, 0, now, 99);
    assert_true(first >= now && first <= now + 10 * MIN);
}

static void quiet_hours_push_tests_to_their_end(void **state) {
    (void)state;
    /* 23:00-06:00 across midnight, Vietnam's time. */
    schedule_opts o = {.interval_ms = 60 * MIN, .jitter_ms = 0, .quiet_start_min = 23 * 60, .quiet_end_min = 6 * 60};
    int64_t t = noon();
    assert_false(schedule_in_quiet(&o, t));
    assert_true(schedule_in_quiet(&o, t + 11 * HOUR));      /* 23:00 */
    assert_true(schedule_in_quiet(&o, t + 17 * HOUR));      /* 05:00 */
    assert_false(schedule_in_quiet(&o, t + 18 * HOUR));     /* 06:00 */
    int64_t next = schedule_next(&o, t + 10 * HOUR + 30 * MIN, t, 0); /* slot 23:30 */
    assert_true(next == t + 18 * HOUR);                     /* 06:00 next day */
    /* Daytime quiet window. */
    schedule_opts d = {.interval_ms = 60 * MIN, .jitter_ms = 0, .quiet_start_min = 9 * 60, .quiet_end_min = 17 * 60};
    assert_true(schedule_in_quiet(&d, t));
    assert_true(schedule_next(&d, t - HOUR, t - HOUR, 0) == t + 5 * HOUR);
}

static void budget_stops_before_the_cap_and_rolls_monthly(void **state) {
    (void)state;
    budget b = {0};
    int64_t t = noon();
    budget_roll(&b, t);
    assert_string_equal(b.month, "2025-07");
    assert_true(budget_cap(0, 0, 0) == 0);                        /* fixed: unlimited */
    assert_true(budget_cap(0, 0, 1) == BUDGET_MOBILE_DEFAULT);    /* mobile: 2 GB */
    assert_true(budget_cap(0, 1, 1) == 0);
    assert_true(budget_cap(500, 0, 0) == 500);
    uint64_t cap = 1000;
    b.used = 700;
    assert_true(budget_allows(&b, cap, 300));
    assert_false(budget_allows(&b, cap, 301));
    assert_true(budget_remaining(&b, cap) == 300);
    assert_true(budget_allows(&b, 0, UINT64_MAX));
    b.used = 1200;
    assert_false(budget_allows(&b, cap, 0));
    assert_true(budget_remaining(&b, cap) == 0);
    /* A new month in Vietnam starts from zero. */
    int64_t s, e;
    vntime_month_bounds("2025-07", &s, &e);
    budget_roll(&b, e - 1);
    assert_true(b.used == 1200);
    budget_roll(&b, e);
    assert_string_equal(b.month, "2025-08");
    assert_true(b.used == 0);
}


static schedule_demand jul(int state, uint64_t count, uint32_t agents) {
    schedule_demand d = {.known = 1, .state = state, .count = count, .target = 300, .agents = agents};
    memcpy(d.month, "2025-07", 8);
    return d;
}

static void static_policy_is_schedule_next(void **state) {
    (void)state;
    schedule_opts o = {.interval_ms = 60 * MIN, .jitter_ms = 10 * MIN, .quiet_start_min = 23 * 60, .quiet_end_min = 6 * 60};
    schedule_policy p;
    schedule_policy_default(&p);
    p.adaptive = 0;
    schedule_demand d = jul(2, 0, 1);
    schedule_plan plan;
    for (uint32_t r = 1; r < 4000000000u; r += 397000001u) {
        int64_t last = noon() + (int64_t)(r % 20) * HOUR;
        schedule_decide(&o, &p, &d, last, last + MIN, r, &plan);
        assert_true(plan.next_ms == schedule_next(&o, last, last + MIN, r));
        assert_int_equal(plan.reason, SCHEDULE_STATIC);
    }
}

static void without_demand_the_interval(void **state) {
    (void)state;
    schedule_opts o = {.interval_ms = 60 * MIN, .jitter_ms = 0, .quiet_start_min = -1};
    schedule_policy p;
    schedule_policy_default(&p);
    schedule_plan plan;
    int64_t t = noon();
    schedule_decide(&o, &p, NULL, t, t, 7, &plan);
    assert_true(plan.next_ms == t + 60 * MIN);
    assert_int_equal(plan.reason, SCHEDULE_NO_DEMAND);
    schedule_demand d = jul(2, 0, 1);
    memcpy(d.month, "2025-06", 8); /* last month's demand says nothing of this one */
    schedule_decide(&o, &p, &d, t, t, 7, &plan);
    assert_true(plan.next_ms == t + 60 * MIN);
    assert_int_equal(plan.reason, SCHEDULE_NO_DEMAND);
    d.known = 0;
    memcpy(d.month, "2025-07", 8);
    schedule_decide(&o, &p, &d, t, t, 7, &plan);
    assert_int_equal(plan.reason, SCHEDULE_NO_DEMAND);
}

/* July 10 12:00: 21.5 days left. */
static void behind_tests_faster_down_to_the_floor(void **state) {
    (void)state;
    schedule_opts o = {.interval_ms = 60 * MIN, .jitter_ms = 0, .quiet_start_min = -1};
    schedule_policy p;
    schedule_policy_default(&p);
    schedule_plan plan;
    int64_t t = noon();
    /* Alone, 250 to go: 250 / 21.5 x 1.25 = 14.5 a day, capped at 12; 12
     * in the first half of the 12 h left today: every 30 min. */
    schedule_demand d = jul(2, 50, 1);
    schedule_decide(&o, &p, &d, t, t, 7, &plan);
    assert_int_equal(plan.reason, SCHEDULE_BEHIND);
    assert_true(plan.share_per_day == 12.0);
    assert_true(plan.interval_ms == 30 * MIN);
    assert_true(plan.next_ms == t + 30 * MIN);
    /* Half of them done: 6 in 6 h, every hour: the interval. */
    p.tests_today = 6;
    schedule_decide(&o, &p, &d, t, t, 7, &plan);
    assert_true(plan.interval_ms == 60 * MIN);
    assert_int_equal(plan.reason, SCHEDULE_BEHIND);
    /* Late in the day: no faster than the floor. */
    p.tests_today = 0;
    schedule_decide(&o, &p, &d, t + 11 * HOUR, t + 11 * HOUR, 7, &plan);
    assert_true(plan.interval_ms == 15 * MIN);
    p.floor_ms = 20 * MIN;
    schedule_decide(&o, &p, &d, t + 11 * HOUR, t + 11 * HOUR, 7, &plan);
    assert_true(plan.interval_ms == 20 * MIN);
    /* Five agents share it: 2.9 a day each, 3 in 6 h: slower than the
     * interval, so the interval. */
    d = jul(2, 50, 5);
    p.floor_ms = 15 * MIN;
    schedule_decide(&o, &p, &d, t, t, 7, &plan);
    assert_true(plan.share_per_day > 2.9 && plan.share_per_day < 2.92);
    assert_true(plan.interval_ms == 60 * MIN);
}

static void on_track_short_and_met(void **state) {
    (void)state;
    schedule_opts o = {.interval_ms = 60 * MIN, .jitter_ms = 0, .quiet_start_min = -1};
    schedule_policy p;
    schedule_policy_default(&p);
    schedule_plan plan;
    int64_t t = noon(); /* 9.5 days gone */
    /* 150: 15.8 a day x 21.5 reaches 300: on track, the interval. */
    schedule_demand d = jul(1, 150, 2);
    schedule_decide(&o, &p, &d, t, t, 7, &plan);
    assert_int_equal(plan.reason, SCHEDULE_ON_TRACK);
    assert_true(plan.interval_ms == 60 * MIN);
    /* 80: ON_TRACK for the pace rule (over 80% of 95) but 8.4 a day x 21.5
     * misses the 220 needed: faster. 220/21.5/2 x 1.25 = 6.4 a day: 7 in
     * 6 h. */
    d = jul(1, 80, 2);
    schedule_decide(&o, &p, &d, t, t, 7, &plan);
    assert_int_equal(plan.reason, SCHEDULE_SHORT);
    assert_true(plan.interval_ms == 6 * HOUR / 7);
    d.agents = 1; /* 12.8 a day, capped at 12: 12 in 6 h */
    schedule_decide(&o, &p, &d, t, t, 7, &plan);
    assert_true(plan.interval_ms == 30 * MIN);
    /* Met: four times the interval, whatever the state says. */
    d = jul(3, 300, 2);
    schedule_decide(&o, &p, &d, t, t, 7, &plan);
    assert_int_equal(plan.reason, SCHEDULE_MET);
    assert_true(plan.next_ms == t + 4 * HOUR);
    d = jul(1, 320, 2);
    schedule_decide(&o, &p, &d, t, t, 7, &plan);
    assert_int_equal(plan.reason, SCHEDULE_MET);
}

static void daily_cap_waits_for_tomorrow(void **state) {
    (void)state;
    schedule_opts o = {.interval_ms = 60 * MIN, .jitter_ms = 0, .quiet_start_min = -1};
    schedule_policy p;
    schedule_policy_default(&p);
    p.tests_today = 12;
    schedule_plan plan;
    int64_t t = noon();
    schedule_demand d = jul(2, 50, 1);
    schedule_decide(&o, &p, &d, t, t, 7, &plan);
    assert_int_equal(plan.reason, SCHEDULE_DAILY_CAP);
    assert_true(plan.next_ms == t + 12 * HOUR); /* 00:00 in Vietnam */
    o.quiet_start_min = 23 * 60;
    o.quiet_end_min = 6 * 60;
    schedule_decide(&o, &p, &d, t, t, 7, &plan);
    assert_true(plan.next_ms == t + 18 * HOUR); /* and after the quiet hours */
    /* Under the cap, the next slot. */
    p.tests_today = 11;
    schedule_decide(&o, &p, &d, t, t, 7, &plan);
    assert_true(plan.next_ms < t + 2 * HOUR);
}

static void mobile_budget_lasts_the_month(void **state) {
    (void)state;
    schedule_opts o = {.interval_ms = 60 * MIN, .jitter_ms = 0, .quiet_start_min = -1};
    schedule_policy p;
    schedule_policy_default(&p);
    p.budget_cap = 2000ull * 1000 * 1000;
    p.test_bytes = 125ull * 1000 * 1000;
    schedule_plan plan;
    int64_t t = noon();
    /* 16 tests left, 21.5 days: one every 21.5 / 16 days, BEHIND or not. */
    schedule_demand d = jul(2, 50, 1);
    schedule_decide(&o, &p, &d, t, t, 7, &plan);
    assert_int_equal(plan.reason, SCHEDULE_BUDGET_SPREAD);
    int64_t spread = (int64_t)(21.5 * 24 * HOUR) / 16;
    assert_true(plan.interval_ms == spread);
    /* Met, on a metered link: no more tests this month (the default), the
     * budget kept; or, with met_metered_relax X, the spread X times slower. */
    int64_t s, e;
    vntime_month_bounds("2025-07", &s, &e);
    d = jul(3, 300, 1);
    schedule_decide(&o, &p, &d, t, t, 7, &plan);
    assert_int_equal(plan.reason, SCHEDULE_MET_METERED);
    assert_true(plan.next_ms == e);
    p.met_metered_relax = 4;
    schedule_decide(&o, &p, &d, t, t, 7, &plan);
    assert_int_equal(plan.reason, SCHEDULE_MET);
    assert_true(plan.interval_ms == 4 * spread);
    p.met_metered_relax = 0;
    /* Unmetered and met: the interval x relax, as before. */
    p.budget_cap = 0;
    schedule_decide(&o, &p, &d, t, t, 7, &plan);
    assert_int_equal(plan.reason, SCHEDULE_MET);
    assert_true(plan.interval_ms == 4 * HOUR);
    p.budget_cap = 2000ull * 1000 * 1000;
    /* Less than a test left: next month. */
    p.budget_used = p.budget_cap - p.test_bytes + 1;
    d = jul(2, 50, 1);
    schedule_decide(&o, &p, &d, t, t, 7, &plan);
    assert_int_equal(plan.reason, SCHEDULE_BUDGET_EMPTY);
    assert_true(plan.next_ms == e);
    /* The static policy knows nothing of it (the daemon's budget check stops
     * the test itself). */
    p.adaptive = 0;
    schedule_decide(&o, &p, &d, t, t, 7, &plan);
    assert_true(plan.next_ms == t + HOUR);
}

/* The same last slot re-planned when the demand changes: BEHIND brings the
 * next test forward, MET pushes it back. */
static void a_demand_change_moves_the_next_test(void **state) {
    (void)state;
    schedule_opts o = {.interval_ms = 60 * MIN, .jitter_ms = 5 * MIN, .quiet_start_min = -1};
    schedule_policy p;
    schedule_policy_default(&p);
    schedule_plan on, behind, met;
    int64_t t = noon();
    schedule_demand d = jul(1, 150, 1);
    schedule_decide(&o, &p, &d, t, t + MIN, 99, &on);
    d = jul(2, 20, 1);
    schedule_decide(&o, &p, &d, t, t + MIN, 99, &behind);
    d = jul(3, 300, 1);
    schedule_decide(&o, &p, &d, t, t + MIN, 99, &met);
    assert_true(behind.next_ms < on.next_ms);
    assert_true(met.next_ms > on.next_ms + 2 * HOUR);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(next_slot_is_interval_plus_bounded_jitter),
        cmocka_unit_test(missed_slots_are_not_made_up),
        cmocka_unit_test(quiet_hours_push_tests_to_their_end),
        cmocka_unit_test(budget_stops_before_the_cap_and_rolls_monthly),
        cmocka_unit_test(static_policy_is_schedule_next),
        cmocka_unit_test(without_demand_the_interval),
        cmocka_unit_test(behind_tests_faster_down_to_the_floor),
        cmocka_unit_test(on_track_short_and_met),
        cmocka_unit_test(daily_cap_waits_for_tomorrow),
        cmocka_unit_test(mobile_budget_lasts_the_month),
        cmocka_unit_test(a_demand_change_moves_the_next_test),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
