/* The month's event loop: a binary heap of (next test, volunteer). Ties are
 * broken by volunteer index, so a seed gives one order of events. */
#include "run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dailycap.h"
#include "rng.h"
#include "vntime.h"

void sim_config_default(sim_config *c) {
    memset(c, 0, sizeof *c);
    memcpy(c->month, "2025-07", 8);
    c->sched = (schedule_opts){.interval_ms = 60 * 60000LL, .jitter_ms = 10 * 60000LL, .quiet_start_min = -1,
                               .quiet_end_min = -1};
    schedule_policy_default(&c->policy);
    quota_config_default(&c->quota);
    c->daily_cap = 12;
    c->fail_rate = 0.03;
    c->seed = 1;
}

struct ev {
    int64_t t;
    uint32_t i;
};

struct heap {
    struct ev *e;
    size_t n;
};

static int ev_less(struct ev a, struct ev b) { return a.t < b.t || (a.t == b.t && a.i < b.i); }

static void heap_push(struct heap *h, struct ev x) {
    size_t k = h->n++;
    while (k > 0) {
        size_t p = (k - 1) / 2;
        if (!ev_less(x, h->e[p])) break;
        h->e[k] = h->e[p];
        k = p;
    }
    h->e[k] = x;
}

static struct ev heap_pop(struct heap *h) {
    struct ev top = h->e[0], x = h->e[--h->n];
    size_t k = 0;
    for (;;) {
        size_t c = 2 * k + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && ev_less(h->e[c + 1], h->e[c])) c++;
        if (!ev_less(h->e[c], x)) break;
        h->e[k] = h->e[c];
        k = c;
    }
    if (h->n) h->e[k] = x;
    return top;
}

/* What one simulated agent keeps, as the daemon's status file does. */
struct agent {
    rng_t rng;
    int64_t last_slot;
    int64_t today;
    int tests_today;
    uint64_t used;
};

int sim_run(const registry_t *reg, const sim_population *pop, const sim_config *cfg, int adaptive, sim_result *out,
            char *err, size_t errsz) {
    memset(out, 0, sizeof *out);
    out->adaptive = adaptive;
    int64_t mstart, mend;
    if (vntime_month_bounds(cfg->month, &mstart, &mend) < 0) {
        snprintf(err, errsz, "bad month %s: use YYYY-MM", cfg->month);
        return -1;
    }
    quota_counts_t *qt = quota_counts_new(reg, &cfg->quota, err, errsz);
    dailycap_t *cap = dailycap_new(cfg->daily_cap);
    struct agent *ag = calloc(pop->n ? pop->n : 1, sizeof *ag);
    struct heap h = {calloc(pop->n ? pop->n : 1, sizeof(struct ev)), 0};
    out->ncells = registry_size(reg) * 2;
    out->cells = calloc(out->ncells, sizeof *out->cells);
    out->vol_bytes = calloc(pop->n ? pop->n : 1, sizeof *out->vol_bytes);
    if (!qt || !cap || !ag || !h.e || !out->cells || !out->vol_bytes) goto oom;

    schedule_policy pol = cfg->policy;
    pol.adaptive = adaptive;
    pol.daily_cap = (int)cfg->daily_cap;
    for (size_t i = 0; i < pop->n; i++) {
        const sim_volunteer *v = &pop->v[i];
        out->cells[v->commune->index * 2 + (size_t)v->mobile].volunteers++;
        /* Each agent's own stream: the same under both policies. */
        rng_seed(&ag[i].rng, cfg->seed * 0x100000001b3ull + i);
        ag[i].today = -1;
        schedule_plan plan;
        pol.budget_cap = v->budget;
        pol.test_bytes = v->test_bytes;
        schedule_decide(&cfg->sched, &pol, NULL, 0, mstart, (uint32_t)rng_next(&ag[i].rng), &plan);
        heap_push(&h, (struct ev){plan.next_ms, (uint32_t)i});
    }
    int64_t pruned_day = dailycap_day(mstart) - 1;
    while (h.n) {
        struct ev e = heap_pop(&h);
        if (e.t >= mend) continue;
        const sim_volunteer *v = &pop->v[e.i];
        struct agent *a = &ag[e.i];
        int64_t next_on;
        /* Machine off: the slot passes; it tests once when it is back, as
         * the daemon does after a sleep (missed slots are not made up). */
        if (!sim_volunteer_on(v, cfg->seed, e.i, e.t, &next_on)) {
            if (next_on < mend) heap_push(&h, (struct ev){next_on, e.i});
            continue;
        }
        int64_t day = dailycap_day(e.t);
        if (day != a->today) a->today = day, a->tests_today = 0;
        if (day - 2 > pruned_day) dailycap_prune(cap, pruned_day = day - 2);
        /* The daemon's budget check: no test that does not fit. */
        if (v->budget && a->used + v->test_bytes > v->budget) {
            out->budget_stops++;
            continue; /* nothing refills it before month end */
        }
        size_t ci = v->commune->index * 2 + (size_t)v->mobile;
        int ok = rng_unit(&a->rng) >= cfg->fail_rate;
        uint64_t bytes = ok ? v->test_bytes : v->test_bytes / 2;
        a->used += bytes;
        out->vol_bytes[e.i] += (double)bytes;
        out->cells[ci].bytes += (double)bytes;
        out->bytes += (double)bytes;
        out->tests++;
        a->last_slot = e.t;
        enum quota_network net = v->mobile ? QUOTA_MOBILE : QUOTA_FIXED;
        if (!ok) {
            out->failed++;
        } else {
            a->tests_today++;
            /* What a live agent would produce: ispeed-sim-replay sends it
             * through the real collector, which must count what we count. */
            if (cfg->plan)
                fprintf(cfg->plan, "%u,%s,%s,%lld\n", e.i, v->commune->code, v->mobile ? "mobile" : "fixed",
                        (long long)e.t);
            int c = dailycap_take(cap, v->id, v->commune->code, day);
            if (c < 0) goto oom;
            if (c > 0) {
                out->over_cap++;
            } else {
                if (quota_add(qt, v->commune, cfg->month, net, 0, 0, NULL, e.t) < 0 ||
                    quota_add_agent(qt, v->commune, cfg->month, net, v->id) < 0)
                    goto oom;
                out->counted++;
                if (++out->cells[ci].count >= quota_target(qt, v->commune, net) && !out->cells[ci].met_ms)
                    out->cells[ci].met_ms = e.t;
            }
        }
        schedule_demand d = {0};
        if (adaptive) {
            quota_status st;
            quota_get(qt, v->commune, cfg->month, net, e.t, &st);
            d.known = 1;
            memcpy(d.month, cfg->month, 8);
            d.state = (int)st.state;
            d.count = st.count;
            d.target = st.target;
            d.agents = st.agents;
            d.month_start_ms = mstart;
            d.month_end_ms = mend;
        }
        pol.tests_today = a->tests_today;
        pol.budget_cap = v->budget;
        pol.budget_used = a->used;
        pol.test_bytes = v->test_bytes;
        schedule_plan plan;
        schedule_decide(&cfg->sched, &pol, adaptive ? &d : NULL, e.t, e.t, (uint32_t)rng_next(&a->rng), &plan);
        if (plan.next_ms < mend) heap_push(&h, (struct ev){plan.next_ms, e.i});
    }
    /* The month-end figures as the quota topic would show them. */
    for (size_t ci = 0; ci < out->ncells; ci++) {
        quota_status st;
        quota_get(qt, registry_unit_at(reg, ci / 2), cfg->month, (ci & 1) ? QUOTA_MOBILE : QUOTA_FIXED, mend - 1, &st);
        out->cells[ci].count = st.count;
        out->cells[ci].agents = st.agents;
    }
    free(h.e);
    free(ag);
    dailycap_free(cap);
    quota_counts_free(qt);
    return 0;
oom:
    snprintf(err, errsz, "out of memory simulating %zu volunteers", pop->n);
    free(h.e);
    free(ag);
    dailycap_free(cap);
    quota_counts_free(qt);
    sim_result_free(out);
    return -1;
}

void sim_result_free(sim_result *r) {
    if (!r) return;
    free(r->cells);
    free(r->vol_bytes);
    r->cells = NULL;
    r->vol_bytes = NULL;
}
