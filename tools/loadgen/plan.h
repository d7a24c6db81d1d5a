/* What ispeed-loadgen will produce, decided before anything is sent: every
 * sample's commune, network class and start time, the agent that measures
 * it (as many agents as the daily cap needs), and the truth, the count every
 * unit must end with. Deterministic for a seed. */
#ifndef ISPEED_LOADGEN_PLAN_H
#define ISPEED_LOADGEN_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "registry.h"

enum plan_network { PLAN_MIXED = 0, PLAN_FIXED = 1, PLAN_MOBILE = 2 }; /* 1, 2 as ispeed.v1.Network */
enum plan_spread { PLAN_SPREAD_COMMUNES = 0, PLAN_SPREAD_PROVINCES = 1 };

typedef struct plan_options {
    size_t samples;
    size_t agents;       /* at least this many agents; 0: as few as the daily cap allows */
    unsigned daily_cap;  /* samples per agent, unit and Vietnamese day (SPEC default 12); 0: none */
    uint64_t seed;
    int64_t from_ms;     /* start times are drawn from [from_ms, to_ms) */
    int64_t to_ms;
    enum plan_network network;
    unsigned mobile_pct; /* share of mobile samples when mixed */
    enum plan_spread spread;
    const registry_unit *province; /* only this province's communes; NULL: all */
} plan_options;

typedef struct plan_sample {
    int64_t start_ms;
    uint32_t agent;   /* index into plan.agents */
    uint32_t commune; /* registry index */
    uint8_t network;  /* PLAN_FIXED or PLAN_MOBILE */
} plan_sample;

typedef struct plan_agent {
    uint32_t commune; /* registry index */
    uint8_t network;
} plan_agent;

typedef struct plan {
    plan_sample *samples; /* in start time order */
    size_t nsamples;
    plan_agent *agents;
    size_t nagents;
    uint64_t (*counts)[2]; /* by registry index, [fixed, mobile], every level */
    size_t nunits;
} plan_t;

plan_t *plan_build(const registry_t *reg, const plan_options *o, char *err, size_t errsz);
void plan_free(plan_t *p);

/* path: "code,count" for every unit of every level (both classes summed);
 * path.network.csv: "code,network,count" for every unit and class. */
int plan_write_truth(const plan_t *p, const registry_t *reg, const char *path, char *err, size_t errsz);

/* path.operator.csv: "code,network,operator,count" for every unit of every
 * level, class and operator with a non-zero count (operators by name);
 * operator_of(i) names sample i's operator (ispeed-loadgen re-creates the
 * sample). At most PLAN_OPERATORS_MAX distinct names. */
#define PLAN_OPERATORS_MAX 64
int plan_write_operator_truth(const plan_t *p, const registry_t *reg, const char *path,
                              const char *(*operator_of)(size_t sample, void *ctx), void *ctx, char *err,
                              size_t errsz);

#endif
