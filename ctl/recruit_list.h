/* The recruiting list of a province: its communes that cannot reach the
 * target this month with the agents they have, even testing at the floor
 * interval, and how many more volunteers of which class each needs. One
 * computation for "ispeedctl recruit" and the dashboard's province page,
 * so the two always show the same rows. The arithmetic is
 * common/demand.c's; this module picks the communes and the per-agent rate. */
#ifndef ISPEED_CTL_RECRUIT_LIST_H
#define ISPEED_CTL_RECRUIT_LIST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "demand.h"
#include "quota_view.h"
#include "registry.h"

/* What one volunteer can give, and the target of a commune never published. */
typedef struct recruit_params {
    double daily_cap; /* samples an agent may count a day (the collector's) */
    double budget_mb; /* a mobile volunteer's monthly data */
    double test_mb;   /* data of one mobile test */
    double target;    /* target of a commune without a status */
} recruit_params;

#define RECRUIT_DAILY_CAP 12
#define RECRUIT_BUDGET_MB 2048
#define RECRUIT_TEST_MB 125 /* 10 s each way at 50 Mbit/s */
#define RECRUIT_TARGET 300

void recruit_params_default(recruit_params *p);

/* The options that set recruit_params, in a subcommand's option table
 * (common/opttab CALL entries, ids first .. first+3), so "recruit" and
 * "serve" take the same flags; recruit_params_apply applies one of them
 * (which = id - first). */
#define RECRUIT_PARAM_OPTS(first)                                                                                   \
    {.name = "daily-cap", .type = OPTTAB_CALL, .id = (first), .metavar = "N",                                       \
     .help = "samples an agent may count a day (the collector's, 12)"},                                             \
        {.name = "mobile-budget-mb", .type = OPTTAB_CALL, .id = (first) + 1, .metavar = "N",                        \
         .help = "a mobile volunteer's monthly data (2048)"},                                                        \
        {.name = "test-mb", .type = OPTTAB_CALL, .id = (first) + 2, .metavar = "N",                                 \
         .help = "data of one mobile test (125: 10 s each way at 50 Mbit/s)"},                                       \
        {.name = "target", .type = OPTTAB_CALL, .id = (first) + 3, .metavar = "N",                                  \
         .help = "target of communes without a status (300)"}
#define RECRUIT_PARAM_NOPTS 4
int recruit_params_apply(recruit_params *p, int which, const char *arg, char *err, size_t errsz);

typedef struct recruit_row {
    char code[32], name[160];
    int mobile;
    uint64_t count;
    uint32_t target, agents, recruit;
    demand d;         /* at the list's now */
    double per_agent; /* samples a day one agent can give in this class */
} recruit_row;

/* Samples a day one agent gives: the daily cap on fixed access; on mobile
 * its budget in tests spread over the month, at most the cap. */
double recruit_per_agent_day(const recruit_params *p, int mobile, int64_t month_start, int64_t month_end);

/* Fills row for one commune and class at now_ms in the month
 * [month_start, month_end); row->recruit is 0 when its agents suffice. */
void recruit_row_compute(recruit_row *row, const recruit_params *p, const char *code, const char *name, int mobile,
                         uint64_t count, uint32_t target, uint32_t agents, int64_t now_ms, int64_t month_start,
                         int64_t month_end);

/* The list of province at now_ms: every commune-level status of qv (a
 * view of that province's quota topic in month) that needs recruits, and
 * with reg the province's communes with no status of a class (nothing
 * counted, no agent). Sorted by recruits, most first, then code, fixed
 * before mobile. *rows is the caller's to free. -1 when out of memory. */
int recruit_list_build(const quota_view_t *qv, const registry_t *reg, const char *province, const char *month,
                       const recruit_params *p, int64_t now_ms, recruit_row **rows, size_t *n);

/* The CSV of "ispeedctl recruit --format csv", header included. */
void recruit_list_csv(FILE *out, const recruit_row *rows, size_t n);

#endif
