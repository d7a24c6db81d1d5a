/* Simulated volunteers: a skewed placement over communes (most get 0-2, a
 * few many, as recruiting by word of mouth gives), access, rates, budgets
 * and the hours their machines are on. */
#include "population.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "vntime.h"

#define DAY_MS 86400000LL

void sim_params_default(sim_params *p) {
    memset(p, 0, sizeof *p);
    p->seed = 1;
    p->volunteers = 20000;
    p->zipf = 1.0;
    p->mobile_share = 0.35;
    p->fixed_median_mbps = 80;
    p->mobile_median_mbps = 40;
    p->rate_sigma = 0.6;
    p->test_seconds = 10;
    p->mobile_budget = 2ull << 30;
}

void sim_params_print(const sim_params *p, FILE *out) {
    fprintf(out,
            "parameters: seed=%llu volunteers=%zu zipf=%.2f mobile_share=%.2f fixed_median_mbps=%.0f "
            "mobile_median_mbps=%.0f rate_sigma=%.2f test_seconds=%.0f mobile_budget_bytes=%llu\n",
            (unsigned long long)p->seed, p->volunteers, p->zipf, p->mobile_share, p->fixed_median_mbps,
            p->mobile_median_mbps, p->rate_sigma, p->test_seconds, (unsigned long long)p->mobile_budget);
    fprintf(out, "availability: fixed 30%% always on (p_day 0.97), 35%% office 08:00-18:00 (p_day 0.7), "
                 "35%% home 18:00-23:00 (p_day 0.8); mobile 08:00-22:00 (p_day 0.75)\n");
}

/* A standard normal draw (Box-Muller; one of the pair is enough here). */
static double normal(rng_t *r) {
    double u = rng_unit(r), v = rng_unit(r);
    if (u < 1e-300) u = 1e-300;
    return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

/* Everything but the commune and class, drawn from r. */
static void draw(sim_volunteer *v, const sim_params *p, rng_t *r, size_t idx) {
    double median = (v->mobile ? p->mobile_median_mbps : p->fixed_median_mbps) * 1e6;
    v->rate_bps = median * exp(p->rate_sigma * normal(r));
    if (v->rate_bps < 1e6) v->rate_bps = 1e6;
    v->test_bytes = (uint64_t)(v->rate_bps / 8.0 * p->test_seconds * 2.0);
    v->budget = v->mobile ? p->mobile_budget : 0;
    double k = rng_unit(r);
    if (v->mobile) {
        v->on_min = 8 * 60, v->len_min = 14 * 60, v->p_day = 0.75;
    } else if (k < 0.30) {
        v->on_min = 0, v->len_min = 24 * 60, v->p_day = 0.97;
    } else if (k < 0.65) {
        v->on_min = 8 * 60, v->len_min = 10 * 60, v->p_day = 0.7;
    } else {
        v->on_min = 18 * 60, v->len_min = 5 * 60, v->p_day = 0.8;
    }
    snprintf(v->id, sizeof v->id, "sim-%07zu", idx);
}

static int by_commune(const void *a, const void *b) {
    const sim_volunteer *x = a, *y = b;
    if (x->commune->index != y->commune->index) return x->commune->index < y->commune->index ? -1 : 1;
    return x->mobile - y->mobile;
}

int sim_population_generate(const registry_t *reg, const sim_params *p, sim_population *out, char *err,
                            size_t errsz) {
    size_t nc = registry_count(reg, REGISTRY_COMMUNE);
    const registry_unit **communes = malloc((nc ? nc : 1) * sizeof *communes);
    double *cdf = malloc((nc ? nc : 1) * sizeof *cdf);
    memset(out, 0, sizeof *out);
    out->v = calloc(p->volunteers ? p->volunteers : 1, sizeof *out->v);
    if (!communes || !cdf || !out->v) goto oom;
    size_t k = 0;
    for (size_t i = 0; i < registry_size(reg); i++)
        if (registry_unit_at(reg, i)->level == REGISTRY_COMMUNE) communes[k++] = registry_unit_at(reg, i);
    if (nc == 0) {
        snprintf(err, errsz, "the registry has no communes: pass a registry with commune rows");
        goto fail;
    }
    rng_t r;
    rng_seed(&r, p->seed);
    /* Which communes are popular is a shuffle of the registry: ranks are
     * not tied to codes or provinces. */
    for (size_t i = nc - 1; i > 0; i--) {
        size_t j = (size_t)rng_below(&r, i + 1);
        const registry_unit *t = communes[i];
        communes[i] = communes[j];
        communes[j] = t;
    }
    double sum = 0.0;
    for (size_t i = 0; i < nc; i++) cdf[i] = (sum += pow((double)(i + 1), -p->zipf));
    for (size_t i = 0; i < p->volunteers; i++) {
        sim_volunteer *v = &out->v[i];
        double x = rng_unit(&r) * sum;
        size_t lo = 0, hi = nc - 1;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (cdf[mid] <= x) lo = mid + 1;
            else hi = mid;
        }
        v->commune = communes[lo];
        v->mobile = rng_unit(&r) < p->mobile_share;
    }
    out->n = p->volunteers;
    /* In commune order, then drawn: a volunteer's id and figures do not
     * depend on how the placement loop went. */
    qsort(out->v, out->n, sizeof *out->v, by_commune);
    for (size_t i = 0; i < out->n; i++) draw(&out->v[i], p, &r, i);
    out->source = "generator";
    free(communes);
    free(cdf);
    return 0;
oom:
    snprintf(err, errsz, "out of memory generating %zu volunteers", p->volunteers);
fail:
    free(communes);
    free(cdf);
    sim_population_free(out);
    return -1;
}

int sim_population_load(const registry_t *reg, const sim_params *p, const char *path, sim_population *out, char *err,
                        size_t errsz) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errsz, "cannot open volunteers file %s: check the path", path);
        return -1;
    }
    char line[512];
    size_t cap = 0, lineno = 0;
    rng_t r;
    rng_seed(&r, p->seed);
    while (fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (lineno == 1 || line[0] == '\0' || line[0] == '#') continue; /* header */
        char code[64];
        unsigned nf, nm;
        if (sscanf(line, "%63[^,],%u,%u", code, &nf, &nm) != 3) {
            snprintf(err, errsz, "%s line %zu: expected code,fixed,mobile (e.g. 00004,2,1)", path, lineno);
            goto fail;
        }
        const registry_unit *u = registry_find(reg, code);
        if (!u || u->level != REGISTRY_COMMUNE) {
            snprintf(err, errsz, "%s line %zu: %s is not a commune of the registry", path, lineno, code);
            goto fail;
        }
        if (nf + nm > 1000000 || out->n + nf + nm > 10000000) {
            snprintf(err, errsz, "%s line %zu: too many volunteers (at most 10,000,000 in all)", path, lineno);
            goto fail;
        }
        if (out->n + nf + nm > cap) {
            size_t nc = (out->n + nf + nm) * 2 + 64;
            sim_volunteer *nv = realloc(out->v, nc * sizeof *nv);
            if (!nv) {
                snprintf(err, errsz, "out of memory reading %s", path);
                goto fail;
            }
            out->v = nv;
            cap = nc;
        }
        for (unsigned i = 0; i < nf + nm; i++) {
            sim_volunteer *v = &out->v[out->n];
            memset(v, 0, sizeof *v);
            v->commune = u;
            v->mobile = i >= nf;
            draw(v, p, &r, out->n);
            out->n++;
        }
    }
    fclose(f);
    out->source = path;
    return 0;
fail:
    fclose(f);
    sim_population_free(out);
    return -1;
}

void sim_population_free(sim_population *pop) {
    if (!pop) return;
    free(pop->v);
    pop->v = NULL;
    pop->n = 0;
}

/* Whether the machine is on during Vietnamese day `day` at all: a hash of
 * (seed, volunteer, day), so the answer does not depend on the order of
 * questions (both policies see the same days). */
static int on_day(const sim_volunteer *v, uint64_t seed, size_t idx, int64_t day) {
    uint64_t x = seed ^ ((uint64_t)idx * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)day * 0xc2b2ae3d27d4eb4full);
    return (double)(rng_splitmix(&x) >> 11) * (1.0 / 9007199254740992.0) < v->p_day;
}

int sim_volunteer_on(const sim_volunteer *v, uint64_t seed, size_t idx, int64_t ms, int64_t *next_on) {
    int64_t local = ms + VNTIME_OFFSET_MS;
    int64_t day = local / DAY_MS, minute = (local % DAY_MS) / 60000;
    /* A window may run past midnight: minutes since its start, from today's
     * or yesterday's. */
    for (int back = 0; back <= 1; back++) {
        int64_t since = minute + back * 1440 - v->on_min;
        if (since >= 0 && since < v->len_min && on_day(v, seed, idx, day - back)) return 1;
    }
    for (int64_t d = day; d < day + 400; d++) {
        int64_t start = d * DAY_MS + (int64_t)v->on_min * 60000 - VNTIME_OFFSET_MS;
        if (start > ms && on_day(v, seed, idx, d)) {
            *next_on = start;
            return 0;
        }
    }
    *next_on = INT64_MAX;
    return 0;
}
