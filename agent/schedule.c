/* Test scheduling. Quiet hours are read in Vietnam's time (UTC+7): the
 * volunteers are there, whatever zone their machine is set to. */
#include "schedule.h"

#include <string.h>

#include "demand.h"
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

void schedule_policy_default(schedule_policy *p) {
    memset(p, 0, sizeof *p);
    p->adaptive = 1;
    p->floor_ms = 15 * 60000LL;
    p->relax = 4.0;
    p->daily_cap = 12;
}

/* Milliseconds from ms to the end of its Vietnamese day outside the quiet
 * hours. */
static int64_t active_left_today_ms(const schedule_opts *o, int64_t ms) {
    int64_t local = (ms + VNTIME_OFFSET_MS) % DAY_MS;
    if (local < 0) local += DAY_MS;
    int64_t left = DAY_MS - local;
    if (o->quiet_start_min < 0) return left;
    /* The quiet hours as one or two ranges of the day, in ms. */
    int64_t qs = (int64_t)o->quiet_start_min * 60000, qe = (int64_t)o->quiet_end_min * 60000;
    int64_t r[2][2] = {{qs, qe}, {0, 0}};
    if (qs >= qe) r[0][1] = DAY_MS, r[1][1] = qe;
    for (int i = 0; i < 2; i++) {
        int64_t a = r[i][0] > local ? r[i][0] : local, b = r[i][1];
        if (b > a) left -= b - a;
    }
    return left;
}

/* Start of the Vietnamese day after the one holding ms. */
static int64_t next_vn_day(int64_t ms) {
    int64_t local = ms + VNTIME_OFFSET_MS;
    int64_t day = local / DAY_MS - (local % DAY_MS < 0);
    return (day + 1) * DAY_MS - VNTIME_OFFSET_MS;
}

const char *schedule_reason_text(enum schedule_reason r) {
    switch (r) {
    case SCHEDULE_STATIC: return "static schedule";
    case SCHEDULE_NO_DEMAND: return "no demand data for this month: static schedule";
    case SCHEDULE_BEHIND: return "commune behind its target: testing faster";
    case SCHEDULE_SHORT: return "commune on track but short of the target at its current rate: testing faster";
    case SCHEDULE_ON_TRACK: return "commune on track: the configured interval";
    case SCHEDULE_MET: return "commune met its target: relaxed to save data";
    case SCHEDULE_BUDGET_SPREAD: return "data budget spread to last the month";
    case SCHEDULE_BUDGET_EMPTY: return "data budget used up: next month";
    case SCHEDULE_DAILY_CAP: return "daily cap reached: tomorrow";
    case SCHEDULE_MET_METERED: return "commune met its target: no more tests on this metered link until next month";
    }
    return "unknown";
}

void schedule_decide(const schedule_opts *o, const schedule_policy *p, const schedule_demand *d, int64_t last_slot_ms,
                     int64_t now_ms, uint32_t random, schedule_plan *out) {
    memset(out, 0, sizeof *out);
    out->interval_ms = o->interval_ms;
    if (!p || !p->adaptive) {
        out->reason = SCHEDULE_STATIC;
        out->next_ms = schedule_next(o, last_slot_ms, now_ms, random);
        return;
    }
    char month[8];
    int64_t mstart, mend;
    int this_month;
    if (d && d->month_end_ms > d->month_start_ms && now_ms >= d->month_start_ms && now_ms < d->month_end_ms) {
        mstart = d->month_start_ms, mend = d->month_end_ms;
        this_month = 1;
    } else {
        vntime_month(now_ms, month);
        vntime_month_bounds(month, &mstart, &mend);
        this_month = d && strcmp(d->month, month) == 0;
    }
    int64_t interval = o->interval_ms;
    int met = 0;
    out->reason = SCHEDULE_NO_DEMAND;
    if (d && d->known && this_month) {
        demand dm;
        demand_compute(d->count, d->target, now_ms, mstart, mend, &dm);
        if (dm.needed == 0 || d->state == 3) {
            met = 1;
            interval = (int64_t)((double)o->interval_ms * (p->relax > 1.0 ? p->relax : 1.0));
            out->reason = SCHEDULE_MET;
        } else if (d->state == 2 || !dm.will_make_it) {
            /* This agent's share of what is still needed a day, with a
             * margin for failed tests; never past the daily cap, which
             * would not count. Today's part of it is spread over the first
             * half of the hours left today outside quiet hours: a volunteer's
             * machine is off part of the day, and a test not made while it
             * is on is lost. Once today's part is done, the interval. */
            double share = dm.rate_needed / (d->agents ? d->agents : 1) * 1.25;
            if (p->daily_cap > 0 && share > p->daily_cap) share = p->daily_cap;
            out->share_per_day = share;
            int goal = (int)share + (share > (int)share);
            if (goal > p->tests_today) {
                int64_t want = active_left_today_ms(o, now_ms) / 2 / (goal - p->tests_today);
                if (want < p->floor_ms) want = p->floor_ms;
                if (want < interval) interval = want;
            }
            out->reason = d->state == 2 ? SCHEDULE_BEHIND : SCHEDULE_SHORT;
        } else {
            out->reason = SCHEDULE_ON_TRACK;
        }
    }
    int64_t jitter = o->jitter_ms;
    int64_t offset = 0;
    if (p->budget_cap) {
        uint64_t left = p->budget_used < p->budget_cap ? p->budget_cap - p->budget_used : 0;
        uint64_t per = p->test_bytes ? p->test_bytes : 1;
        if (left < per) {
            /* Nothing fits: the budget rolls over with the month. */
            out->reason = SCHEDULE_BUDGET_EMPTY;
            out->interval_ms = mend - now_ms;
            out->next_ms = mend + (int64_t)(random % (uint32_t)(jitter > 0 ? jitter + 1 : 1));
            if (schedule_in_quiet(o, out->next_ms)) out->next_ms = quiet_end_after(o, out->next_ms);
            return;
        }
        if (met && p->met_metered_relax <= 0.0) {
            /* The commune met its target: on a metered link the month's
             * remaining tests would cost the volunteer data and add nothing
             * to a count that is already made. Next month (a withdrawal that
             * takes the commune below its target is a demand change, which
             * the daemon re-plans on). */
            out->reason = SCHEDULE_MET_METERED;
            out->interval_ms = mend - now_ms;
            out->next_ms = mend + (int64_t)(random % (uint32_t)(jitter > 0 ? jitter + 1 : 1));
            if (schedule_in_quiet(o, out->next_ms)) out->next_ms = quiet_end_after(o, out->next_ms);
            return;
        }
        /* Spread what is left evenly to month end: no burst that leaves the
         * last week without data. Relaxed met_metered_relax times once MET. */
        int64_t spread = (mend - now_ms) / (int64_t)(left / per);
        if (met) spread = (int64_t)((double)spread * p->met_metered_relax);
        if (spread > interval) {
            interval = spread;
            if (!met) out->reason = SCHEDULE_BUDGET_SPREAD;
        }
    }
    out->interval_ms = interval;
    if (jitter > interval / 2) jitter = interval / 2;
    offset = jitter ? (int64_t)(random % (uint64_t)(2 * jitter + 1)) - jitter : 0;
    int64_t next;
    if (last_slot_ms <= 0) {
        next = now_ms + (offset < 0 ? -offset : offset);
    } else {
        next = last_slot_ms + interval + offset;
        if (next < now_ms) next = now_ms;
    }
    if (p->daily_cap > 0 && p->tests_today >= p->daily_cap) {
        /* More tests today would not count: start tomorrow, spread by the
         * jitter so the agents of a province do not all start at midnight. */
        int64_t tomorrow = next_vn_day(now_ms) + (offset < 0 ? -offset : offset);
        if (next < tomorrow) {
            next = tomorrow;
            out->reason = SCHEDULE_DAILY_CAP;
        }
    }
    if (schedule_in_quiet(o, next)) next = quiet_end_after(o, next) + (offset < 0 ? -offset : offset);
    out->next_ms = next;
}
