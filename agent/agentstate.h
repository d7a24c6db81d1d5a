/* What the agent has done, kept in <state_dir>/status so that `status`
 * can answer without touching the running daemon's spool, and so that the
 * budget and the schedule survive restarts. */
#ifndef ISPEED_AGENTSTATE_H
#define ISPEED_AGENTSTATE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "budget.h"

typedef struct agentstate {
    int64_t last_test_ms;
    char last_outcome[32];
    uint64_t last_test_bytes;
    int64_t next_test_ms;      /* 0: not scheduled (not running as a daemon) */
    int64_t last_slot_ms;
    int64_t last_delivery_ms;
    uint64_t spool_pending;
    int64_t spool_oldest_ms;   /* start time of the oldest spooled sample, 0 if none */
    uint64_t spool_bytes;
    uint64_t spool_evicted;    /* since the agent was installed */
    uint64_t spool_damaged;
    budget data;
    uint64_t budget_cap;       /* 0 = unlimited */
    int budget_exhausted;
    char enrolled_commune[16];
    /* The adaptive schedule: why the next test is when it is
     * (enum schedule_reason), and this Vietnamese day's completed tests. */
    int next_reason;
    int64_t tests_day;         /* Vietnamese day number of tests_today */
    int tests_today;
    int adaptive;              /* the policy in force */
} agentstate;

/* Missing file: all zero, returns 0. */
int agentstate_load(const char *dir, agentstate *st, char *err, size_t errsz);
int agentstate_save(const char *dir, const agentstate *st, char *err, size_t errsz);
void agentstate_print(FILE *out, const agentstate *st, const char *agent_id, int json);

#endif
