/* The recruiting list: which communes of a province need more volunteers,
 * from each commune's latest QuotaStatus (count, target, distinct agents)
 * and common/demand.c's arithmetic at a given instant. */
#include "recruit_list.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "vntime.h"

#define DAY_MS 86400000.0

void recruit_params_default(recruit_params *p) {
    p->daily_cap = RECRUIT_DAILY_CAP;
    p->budget_mb = RECRUIT_BUDGET_MB;
    p->test_mb = RECRUIT_TEST_MB;
    p->target = RECRUIT_TARGET;
}

int recruit_params_apply(recruit_params *p, int which, const char *arg, char *err, size_t errsz) {
    static const char *const names[] = {"--daily-cap", "--mobile-budget-mb", "--test-mb", "--target"};
    char *end;
    double v = strtod(arg, &end);
    if (end == arg || *end || !(v > 0) || v > 1e7) {
        snprintf(err, errsz, "%s '%s' is not a positive number", which >= 0 && which < 4 ? names[which] : "value",
                 arg);
        return -1;
    }
    switch (which) {
    case 0: p->daily_cap = v; return 0;
    case 1: p->budget_mb = v; return 0;
    case 2: p->test_mb = v; return 0;
    case 3: p->target = v; return 0;
    }
    snprintf(err, errsz, "unknown option");
    return -1;
}

double recruit_per_agent_day(const recruit_params *p, int mobile, int64_t month_start, int64_t month_end) {
    if (!mobile) return p->daily_cap;
    double d = floor(p->budget_mb / p->test_mb) / ((double)(month_end - month_start) / DAY_MS);
    return d < p->daily_cap ? d : p->daily_cap;
}

void recruit_row_compute(recruit_row *row, const recruit_params *p, const char *code, const char *name, int mobile,
                         uint64_t count, uint32_t target, uint32_t agents, int64_t now_ms, int64_t month_start,
                         int64_t month_end) {
    memset(row, 0, sizeof *row);
    snprintf(row->code, sizeof row->code, "%s", code ? code : "");
    snprintf(row->name, sizeof row->name, "%s", name ? name : "");
    row->mobile = mobile;
    row->count = count;
    row->target = target;
    row->agents = agents;
    demand_compute(count, target, now_ms, month_start, month_end, &row->d);
    row->per_agent = recruit_per_agent_day(p, mobile, month_start, month_end);
    row->recruit = demand_recruit(row->d.rate_needed, row->per_agent, agents);
}

struct build {
    recruit_row *v;
    size_t n, cap;
    const recruit_params *p;
    int64_t now, mstart, mend;
    int oom;
};

static void add(struct build *b, const char *code, const char *name, int mobile, uint64_t count, uint32_t target,
                uint32_t agents) {
    recruit_row x;
    recruit_row_compute(&x, b->p, code, name, mobile, count, target, agents, b->now, b->mstart, b->mend);
    if (!x.recruit) return;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        recruit_row *nv = realloc(b->v, cap * sizeof *nv);
        if (!nv) {
            b->oom = 1;
            return;
        }
        b->v = nv;
        b->cap = cap;
    }
    b->v[b->n++] = x;
}

static void on_status(const Ispeed__V1__QuotaStatus *q, void *ctx) {
    if (q->level != ISPEED__V1__LEVEL__LEVEL_COMMUNE) return;
    /* A status without a target is the collector's default level target. */
    add(ctx, q->unit, q->name, q->network == ISPEED__V1__NETWORK__NETWORK_MOBILE, q->count,
        q->target ? q->target : RECRUIT_TARGET, q->distinct_agents);
}

static int by_recruit(const void *a, const void *b) {
    const recruit_row *x = a, *y = b;
    if (x->recruit != y->recruit) return x->recruit > y->recruit ? -1 : 1;
    int c = strcmp(x->code, y->code);
    return c ? c : x->mobile - y->mobile;
}

int recruit_list_build(const quota_view_t *qv, const registry_t *reg, const char *province, const char *month,
                       const recruit_params *p, int64_t now_ms, recruit_row **rows, size_t *n) {
    struct build b = {.p = p, .now = now_ms};
    *rows = NULL;
    *n = 0;
    if (vntime_month_bounds(month, &b.mstart, &b.mend) < 0) return -1;
    if (qv) quota_view_foreach(qv, on_status, &b);
    /* Communes with no status of a class: nothing counted there, no agent.
     * The view answers whether the key was published, whatever it needs. */
    for (size_t i = 0; reg && i < registry_size(reg); i++) {
        const registry_unit *u = registry_unit_at(reg, i);
        if (u->level != REGISTRY_COMMUNE || strcmp(u->province->code, province) != 0) continue;
        for (int m = 0; m < 2; m++) {
            char key[96];
            snprintf(key, sizeof key, "%s/%s/%s", u->code, month, m ? "mobile" : "fixed");
            if (!qv || !quota_view_has(qv, key)) add(&b, u->code, u->name, m, 0, (uint32_t)p->target, 0);
        }
    }
    if (b.oom) {
        free(b.v);
        return -1;
    }
    if (b.n > 1) qsort(b.v, b.n, sizeof *b.v, by_recruit);
    *rows = b.v;
    *n = b.n;
    return 0;
}

void recruit_list_csv(FILE *out, const recruit_row *rows, size_t n) {
    fputs("code,name,network,count,target,needed,days_left,rate_needed,agents,per_agent_day,recruit\n", out);
    for (size_t i = 0; i < n; i++) {
        const recruit_row *x = &rows[i];
        escape_csv(out, x->code);
        fputc(',', out);
        escape_csv(out, x->name);
        fprintf(out, ",%s,%llu,%u,%llu,%.2f,%.2f,%u,%.2f,%u\n", x->mobile ? "mobile" : "fixed",
                (unsigned long long)x->count, x->target, (unsigned long long)x->d.needed, x->d.days_left,
                x->d.rate_needed, x->agents, x->per_agent, x->recruit);
    }
}
