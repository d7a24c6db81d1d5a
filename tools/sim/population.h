/* The simulated volunteers: which commune and network class each serves,
 * its line rate and so the bytes of one test, its monthly data budget and
 * when its machine is on. From a CSV (code,fixed,mobile: volunteers per
 * commune) or a skewed generator whose parameters are printed. */
#ifndef ISPEED_SIM_POPULATION_H
#define ISPEED_SIM_POPULATION_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "registry.h"

typedef struct sim_params {
    uint64_t seed;
    size_t volunteers;         /* generator: total volunteers (20,000) */
    double zipf;               /* generator: commune weight 1/rank^zipf over a shuffled order (1.0) */
    double mobile_share;       /* generator: share of volunteers on mobile access (0.35) */
    double fixed_median_mbps;  /* line rates: log-normal, this median (80 fixed, 40 mobile) */
    double mobile_median_mbps;
    double rate_sigma;         /* of ln(rate) (0.6) */
    double test_seconds;       /* per direction; bytes = rate / 8 x seconds x 2 (10) */
    uint64_t mobile_budget;    /* bytes a month on mobile (2 GiB); fixed: unlimited */
} sim_params;

void sim_params_default(sim_params *p);
void sim_params_print(const sim_params *p, FILE *out);

/* When a machine is on, in Vietnam's local minutes: every day it is on with
 * probability p_day (decided per day from the seed), from on_min for
 * len_min minutes (len_min 1440: all day). */
typedef struct sim_volunteer {
    const registry_unit *commune;
    int mobile;
    double rate_bps;
    uint64_t test_bytes;
    uint64_t budget;           /* 0 = unlimited */
    int on_min, len_min;
    double p_day;
    char id[16];
} sim_volunteer;

typedef struct sim_population {
    sim_volunteer *v;
    size_t n;
    const char *source;        /* "generator" or the CSV path */
} sim_population;

/* The generator over the registry's communes. -1 on out of memory. */
int sim_population_generate(const registry_t *reg, const sim_params *p, sim_population *out, char *err, size_t errsz);
/* From a CSV "code,fixed,mobile" (header line first); rates, budgets and
 * availability drawn as the generator does. -1 with a message naming the
 * line on a bad file. */
int sim_population_load(const registry_t *reg, const sim_params *p, const char *path, sim_population *out, char *err,
                        size_t errsz);
void sim_population_free(sim_population *pop);

/* Whether v's machine is on at ms; when not, *next_on is when it next is
 * (the start of its window on the next day it is on). */
int sim_volunteer_on(const sim_volunteer *v, uint64_t seed, size_t idx, int64_t ms, int64_t *next_on);

#endif
