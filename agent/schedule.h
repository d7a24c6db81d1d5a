/* When the next test starts: every interval, moved by a random jitter so
 * that agents do not test in lockstep, never inside quiet hours, and never
 * a burst of catch-up tests after the machine was off. Pure functions of
 * their inputs (the caller passes the clock and the randomness), so tests
 * can pin them down. */
#ifndef ISPEED_SCHEDULE_H
#define ISPEED_SCHEDULE_H

#include <stdint.h>

typedef struct schedule_opts {
    int64_t interval_ms;
    int64_t jitter_ms;
    int quiet_start_min; /* minutes after midnight in Vietnam's time; -1 = none */
    int quiet_end_min;
} schedule_opts;

/* The commune's demand as the agent last read it: the QuotaStatus of its
 * commune, month and network class on <prefix>quota.<province>. */
typedef struct schedule_demand {
    int known;        /* 0: none read (offline, broker unreachable): the static schedule */
    char month[8];    /* "YYYY-MM" it is about; another month than now's is not known */
    int state;        /* ispeed.v1.QuotaState: 1 ON_TRACK, 2 BEHIND, 3 MET */
    uint64_t count;   /* the commune's valid samples this month, this class */
    uint32_t target;
    uint32_t agents;  /* distinct agents that contributed (QuotaStatus.distinct_agents) */
    /* The UTC bounds of month, when the caller has them (0, 0: computed
     * from now, which formats and parses the month on every call). */
    int64_t month_start_ms, month_end_ms;
} schedule_demand;

/* What the adaptive schedule may do, and what the agent has spent. */
typedef struct schedule_policy {
    int adaptive;          /* 0: the static schedule (interval, jitter, quiet hours only) */
    int64_t floor_ms;      /* never tests more often than this (default 15 min) */
    double relax;          /* interval x relax once the commune met its target (default 4) */
    int daily_cap;         /* samples per agent per Vietnamese day that count (12); 0 = none */
    int tests_today;       /* this agent's completed tests in now's Vietnamese day */
    uint64_t budget_cap;   /* bytes a month; 0 = unlimited */
    uint64_t budget_used;  /* bytes moved this month */
    uint64_t test_bytes;   /* what one test is expected to move (the last one's) */
    /* Metered (budget_cap set) and the commune MET: 0 = no more tests this
     * month (the default: samples past the target count for nothing, and
     * the volunteer pays for each); X > 0 = what is left of the budget
     * spread to month end, relaxed X times. */
    double met_metered_relax;
} schedule_policy;

void schedule_policy_default(schedule_policy *p);

/* Why the next test is when it is: what `ispeed-agent status` shows. */
enum schedule_reason {
    SCHEDULE_STATIC = 0,       /* static policy */
    SCHEDULE_NO_DEMAND,        /* adaptive, but no demand read for this month: static */
    SCHEDULE_BEHIND,           /* commune BEHIND: faster, down to the floor */
    SCHEDULE_SHORT,            /* ON_TRACK but the current rate misses the target: faster */
    SCHEDULE_ON_TRACK,         /* on track and going to make it: the interval */
    SCHEDULE_MET,              /* target met: relaxed */
    SCHEDULE_BUDGET_SPREAD,    /* slowed so the data budget lasts the month */
    SCHEDULE_BUDGET_EMPTY,     /* no budget left for a test: next month */
    SCHEDULE_DAILY_CAP,        /* today's tests already reached the daily cap: tomorrow */
    SCHEDULE_MET_METERED,      /* target met, metered link: next month (met_metered_relax 0) */
};

typedef struct schedule_plan {
    int64_t next_ms;          /* start of the next test */
    int64_t interval_ms;      /* the interval chosen, before jitter and quiet hours */
    enum schedule_reason reason;
    double share_per_day;     /* BEHIND/SHORT: the samples a day this agent aims at */
} schedule_plan;

/* The next test under policy p and demand d (NULL = none). The static policy
 * is schedule_next exactly. Adaptive, in this order: the demand picks the
 * interval (MET: interval x relax; BEHIND, or ON_TRACK but short at the
 * current rate: this agent's share of the samples a day still needed,
 * rate_needed / agents with a 25% margin and at most the daily cap, whose
 * part not yet done today is spread over the first half of today's hours
 * left outside quiet hours, no faster than floor_ms and no slower than the
 * interval; otherwise the interval); a metered budget stretches it so what is
 * left lasts to month end (relaxed as much again when MET) or, when no test
 * fits, waits for next month; the daily cap waits for the next Vietnamese
 * day; then jitter and quiet hours as in schedule_next. */
void schedule_decide(const schedule_opts *o, const schedule_policy *p, const schedule_demand *d, int64_t last_slot_ms,
                     int64_t now_ms, uint32_t random, schedule_plan *out);

/* One line for `status`: "commune behind: testing every 20m" etc. */
const char *schedule_reason_text(enum schedule_reason r);

/* Whether ms (UTC) falls in the quiet hours. */
int schedule_in_quiet(const schedule_opts *o, int64_t ms);
/* The start of the next test. last_slot_ms is the planned start of the
 * previous one (0 if none); random is a uniformly random 32-bit value. */
int64_t schedule_next(const schedule_opts *o, int64_t last_slot_ms, int64_t now_ms, uint32_t random);

#endif
