/* One month of one policy in virtual time: every volunteer's tests as the
 * real scheduler (agent/schedule.c) places them, counted by the real daily
 * cap (collector/dailycap.c) and quota table (collector/quota.c), the
 * demand each agent reads being its commune's quota_get at that instant. */
#ifndef ISPEED_SIM_RUN_H
#define ISPEED_SIM_RUN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "population.h"
#include "quota.h"
#include "registry.h"
#include "schedule.h"

typedef struct sim_config {
    char month[8];            /* "YYYY-MM" simulated (2025-07) */
    schedule_opts sched;      /* the agent's defaults: 60 min, jitter 10 min, no quiet hours */
    schedule_policy policy;   /* floor, relax, daily cap; adaptive set by sim_run */
    quota_config quota;       /* target 300 */
    unsigned daily_cap;       /* the collector's (12) */
    double fail_rate;         /* share of tests that fail: bytes spent, nothing counted (0.03) */
    uint64_t seed;
    FILE *plan;               /* when set: "volunteer,commune,network,start_ms" of every completed test */
} sim_config;

void sim_config_default(sim_config *c);

/* Per commune and class (registry index x 2 + mobile). */
typedef struct sim_cell {
    uint64_t count;           /* counted samples at month end (quota_get) */
    uint32_t agents;          /* distinct agents (quota_get) */
    uint32_t volunteers;      /* of this class placed in the commune */
    double bytes;             /* moved by its volunteers' tests */
    int64_t met_ms;           /* when the count reached the target; 0 never */
} sim_cell;

typedef struct sim_result {
    int adaptive;
    size_t ncells;            /* registry size x 2 */
    sim_cell *cells;
    double *vol_bytes;        /* per volunteer */
    uint64_t tests, counted, over_cap, failed, budget_stops;
    double bytes;
} sim_result;

/* Runs the month for pop under policy adaptive (0 static, 1 adaptive). -1 on
 * out of memory. */
int sim_run(const registry_t *reg, const sim_population *pop, const sim_config *cfg, int adaptive, sim_result *out,
            char *err, size_t errsz);
void sim_result_free(sim_result *r);

#endif
