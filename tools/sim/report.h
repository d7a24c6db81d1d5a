/* What ispeed-sim prints: per policy the communes meeting the target per
 * class, samples, data (total, median and 95th percentile per volunteer),
 * distinct agents per commune; the recruiting list; the comparison of two
 * policies; and the same as an HTML page with SVG charts. */
#ifndef ISPEED_SIM_REPORT_H
#define ISPEED_SIM_REPORT_H

#include <stdio.h>

#include "population.h"
#include "registry.h"
#include "run.h"

/* One commune and class that cannot reach the target even with every
 * volunteer it has at the floor interval (within the daily cap, their hours
 * on and budgets), and how many typical volunteers of the class it needs. */
typedef struct sim_recruit {
    const registry_unit *commune;
    int mobile;
    unsigned volunteers;
    double capacity;          /* samples its volunteers can give in the month at most */
    unsigned needed;          /* more volunteers */
} sim_recruit;

typedef struct sim_recruiting {
    sim_recruit *list;        /* by needed (most first), then code */
    size_t n;
    double typical[2];        /* samples a month a typical volunteer of the class can give */
    unsigned total[2];        /* volunteers needed in all, per class */
} sim_recruiting;

int sim_recruiting_build(const registry_t *reg, const sim_population *pop, const sim_config *cfg,
                         sim_recruiting *out);
void sim_recruiting_free(sim_recruiting *r);

void sim_report_policy(FILE *out, const registry_t *reg, const sim_population *pop, const sim_config *cfg,
                       const sim_result *r);
void sim_report_recruiting(FILE *out, const sim_recruiting *rc, size_t show);
/* Both policies side by side: the gain per class and the data used in the
 * communes that met the target early (by day 20 under static). */
void sim_report_compare(FILE *out, const registry_t *reg, const sim_config *cfg, const sim_result *st,
                        const sim_result *ad);
int sim_report_html(const char *path, const registry_t *reg, const sim_population *pop, const sim_config *cfg,
                    const sim_result *const *results, size_t nresults, const sim_recruiting *rc, char *err,
                    size_t errsz);

#endif
