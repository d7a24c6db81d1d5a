/* The plan is built in three passes: draw (commune, class, time) for every
 * sample, sort by time (an agent's sequence numbers then rise with its
 * measurement times, as a real agent's do), and hand each sample to an agent
 * of its commune and class so that no agent exceeds the daily cap. */
#include "plan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rng.h"
#include "vntime.h"

#define DAY_MS 86400000LL

/* One (commune, class): the agents measuring there and today's tally. */
struct slot {
    int64_t day;
    uint32_t today; /* samples handed out on `day` */
    uint32_t base;  /* agents shared round-robin before any extra one is needed */
    uint32_t n, cap;
    uint32_t *agents;
};

static int64_t vn_day(int64_t ms) {
    int64_t t = ms + VNTIME_OFFSET_MS;
    return t / DAY_MS - (t % DAY_MS < 0);
}

static int by_time(const void *a, const void *b) {
    const plan_sample *x = a, *y = b;
    if (x->start_ms != y->start_ms) return x->start_ms < y->start_ms ? -1 : 1;
    if (x->commune != y->commune) return x->commune < y->commune ? -1 : 1;
    return (int)x->network - (int)y->network;
}

void plan_free(plan_t *p) {
    if (!p) return;
    free(p->samples);
    free(p->agents);
    free(p->counts);
    free(p);
}

static int agent_new(plan_t *p, size_t *cap, uint32_t commune, uint8_t network, uint32_t *out) {
    if (p->nagents == *cap) {
        size_t n = *cap ? 2 * *cap : 4096;
        plan_agent *na = realloc(p->agents, n * sizeof *na);
        if (!na) return -1;
        p->agents = na;
        *cap = n;
    }
    p->agents[p->nagents] = (plan_agent){commune, network};
    *out = (uint32_t)p->nagents++;
    return 0;
}

plan_t *plan_build(const registry_t *reg, const plan_options *o, char *err, size_t errsz) {
    size_t nunits = registry_size(reg), ncommunes = 0, nprov = 0, agents_cap = 0;
    uint32_t *communes = NULL, *prov_first = NULL, *prov_n = NULL;
    struct slot *slots = NULL;
    rng_t r;
    plan_t *p = calloc(1, sizeof *p);
    if (!p) goto oom;
    p->nunits = nunits;
    if (!(p->counts = calloc(nunits, sizeof *p->counts))) goto oom;

    /* Communes grouped by province, in registry order. */
    if (!(communes = malloc(nunits * sizeof *communes)) || !(prov_first = calloc(nunits, sizeof *prov_first)) ||
        !(prov_n = calloc(nunits, sizeof *prov_n)))
        goto oom;
    for (size_t pi = 0; pi < nunits; pi++) {
        const registry_unit *prov = registry_unit_at(reg, pi);
        if (prov->level != REGISTRY_PROVINCE || (o->province && prov != o->province)) continue;
        size_t first = ncommunes;
        for (size_t i = 0; i < nunits; i++) {
            const registry_unit *u = registry_unit_at(reg, i);
            if (u->level == REGISTRY_COMMUNE && u->province == prov) communes[ncommunes++] = (uint32_t)i;
        }
        if (ncommunes > first) {
            prov_first[nprov] = (uint32_t)first;
            prov_n[nprov++] = (uint32_t)(ncommunes - first);
        }
    }
    if (ncommunes == 0) {
        snprintf(err, errsz, "the registry has no commune%s%s", o->province ? " in province " : "",
                 o->province ? o->province->code : "");
        goto fail;
    }
    if (o->to_ms <= o->from_ms) {
        snprintf(err, errsz, "no time to place samples in");
        goto fail;
    }

    rng_seed(&r, o->seed);
    if (o->samples && !(p->samples = malloc(o->samples * sizeof *p->samples))) goto oom;
    p->nsamples = o->samples;
    uint64_t span = (uint64_t)(o->to_ms - o->from_ms);
    for (size_t i = 0; i < o->samples; i++) {
        plan_sample *s = &p->samples[i];
        if (o->spread == PLAN_SPREAD_PROVINCES) {
            size_t pv = rng_below(&r, nprov);
            s->commune = communes[prov_first[pv] + rng_below(&r, prov_n[pv])];
        } else {
            s->commune = communes[rng_below(&r, ncommunes)];
        }
        s->network = o->network != PLAN_MIXED ? (uint8_t)o->network
                     : rng_below(&r, 100) < o->mobile_pct ? PLAN_MOBILE : PLAN_FIXED;
        s->start_ms = o->from_ms + (int64_t)rng_below(&r, span);
        s->agent = 0;
    }
    if (p->nsamples > 1) qsort(p->samples, p->nsamples, sizeof *p->samples, by_time);

    /* --agents N: N agents shared out over the (commune, class) slots that get
     * samples, in registry order; each slot has at least one. */
    if (!(slots = calloc(2 * nunits, sizeof *slots))) goto oom;
    size_t used = 0;
    for (size_t i = 0; i < p->nsamples; i++) {
        struct slot *sl = &slots[2 * p->samples[i].commune + p->samples[i].network - 1];
        if (sl->base == 0) {
            sl->base = 1;
            sl->day = INT64_MIN;
            used++;
        }
    }
    if (used > 0 && o->agents > used) {
        size_t rank = 0, each = o->agents / used, extra = o->agents % used;
        for (size_t i = 0; i < 2 * nunits; i++)
            if (slots[i].base) slots[i].base = (uint32_t)(each + (rank++ < extra));
    }
    for (size_t i = 0; i < p->nsamples; i++) {
        plan_sample *s = &p->samples[i];
        struct slot *sl = &slots[2 * s->commune + s->network - 1];
        int64_t day = vn_day(s->start_ms);
        if (day != sl->day) {
            sl->day = day;
            sl->today = 0;
        }
        uint32_t j = sl->today++, k = sl->base, capd = o->daily_cap;
        /* Round-robin over the base agents while they all have room, then
         * fresh agents, cap samples each: nobody ever passes the cap. */
        uint32_t idx = capd == 0 ? j % k : j < capd * k ? j % k : j / capd;
        while (sl->n <= idx) {
            if (sl->n == sl->cap) {
                uint32_t nc = sl->cap ? 2 * sl->cap : 2;
                uint32_t *na = realloc(sl->agents, nc * sizeof *na);
                if (!na) goto oom;
                sl->agents = na;
                sl->cap = nc;
            }
            if (agent_new(p, &agents_cap, s->commune, s->network, &sl->agents[sl->n]) < 0) goto oom;
            sl->n++;
        }
        s->agent = sl->agents[idx];
        p->counts[s->commune][s->network - 1]++;
    }
    /* Agents --agents asked for that got no sample still enroll. */
    for (size_t i = 0; i < 2 * nunits; i++)
        while (slots[i].base && slots[i].n < slots[i].base) {
            uint32_t id;
            if (agent_new(p, &agents_cap, (uint32_t)(i / 2), (uint8_t)(i % 2 + 1), &id) < 0) goto oom;
            slots[i].n++;
        }

    /* Every level: a commune's counts go to each unit above it. */
    for (size_t i = 0; i < nunits; i++) {
        const registry_unit *u = registry_unit_at(reg, i);
        if (u->level != REGISTRY_COMMUNE) continue;
        for (const registry_unit *up = u->parent; up; up = up->parent) {
            p->counts[up->index][0] += p->counts[i][0];
            p->counts[up->index][1] += p->counts[i][1];
        }
    }
    goto done;
oom:
    snprintf(err, errsz, "out of memory");
fail:
    plan_free(p);
    p = NULL;
done:
    if (slots)
        for (size_t i = 0; i < 2 * nunits; i++) free(slots[i].agents);
    free(slots);
    free(communes);
    free(prov_first);
    free(prov_n);
    return p;
}

static int write_file(const char *path, const plan_t *p, const registry_t *reg, int per_network, char *err,
                      size_t errsz) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        snprintf(err, errsz, "cannot write %s: %s", tmp, strerror(errno));
        return -1;
    }
    fputs(per_network ? "code,network,count\n" : "code,count\n", f);
    for (size_t i = 0; i < p->nunits; i++) {
        const char *code = registry_unit_at(reg, i)->code;
        if (per_network)
            fprintf(f, "%s,fixed,%llu\n%s,mobile,%llu\n", code, (unsigned long long)p->counts[i][0], code,
                    (unsigned long long)p->counts[i][1]);
        else
            fprintf(f, "%s,%llu\n", code, (unsigned long long)(p->counts[i][0] + p->counts[i][1]));
    }
    int bad = fflush(f) != 0 || ferror(f);
    if (fclose(f) != 0) bad = 1;
    if (bad) {
        snprintf(err, errsz, "cannot write %s: %s", tmp, strerror(errno));
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path) < 0) {
        snprintf(err, errsz, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

int plan_write_truth(const plan_t *p, const registry_t *reg, const char *path, char *err, size_t errsz) {
    char netpath[4096];
    if (snprintf(netpath, sizeof netpath, "%s.network.csv", path) >= (int)sizeof netpath) {
        snprintf(err, errsz, "truth path too long: %s", path);
        return -1;
    }
    if (write_file(path, p, reg, 0, err, errsz) < 0) return -1;
    return write_file(netpath, p, reg, 1, err, errsz);
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int plan_write_operator_truth(const plan_t *p, const registry_t *reg, const char *path,
                              const char *(*operator_of)(size_t sample, void *ctx), void *ctx, char *err,
                              size_t errsz) {
    char opath[4096], tmp[4096];
    char *names[PLAN_OPERATORS_MAX], *sorted[PLAN_OPERATORS_MAX];
    size_t nnames = 0, order[PLAN_OPERATORS_MAX];
    uint64_t *counts = NULL; /* [unit][network][operator] */
    FILE *f = NULL;
    int rc = -1;
    if (snprintf(opath, sizeof opath, "%s.operator.csv", path) >= (int)sizeof opath ||
        snprintf(tmp, sizeof tmp, "%s.tmp", opath) >= (int)sizeof tmp) {
        snprintf(err, errsz, "truth path too long: %s", path);
        return -1;
    }
    if (!(counts = calloc(p->nunits * 2 * PLAN_OPERATORS_MAX, sizeof *counts))) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < p->nsamples; i++) {
        const char *op = operator_of(i, ctx);
        size_t k = 0;
        while (k < nnames && strcmp(names[k], op) != 0) k++;
        if (k == nnames) {
            if (nnames == PLAN_OPERATORS_MAX || !(names[k] = strdup(op))) {
                snprintf(err, errsz, "more than %d operators, or out of memory", PLAN_OPERATORS_MAX);
                goto out;
            }
            nnames++;
        }
        const plan_sample *s = &p->samples[i];
        /* Every level: the commune and each unit above it. */
        for (const registry_unit *u = registry_unit_at(reg, s->commune); u; u = u->parent)
            counts[(u->index * 2 + (size_t)(s->network - 1)) * PLAN_OPERATORS_MAX + k]++;
    }
    memcpy(sorted, names, nnames * sizeof *names);
    if (nnames > 1) qsort(sorted, nnames, sizeof *sorted, by_name);
    for (size_t j = 0; j < nnames; j++)
        for (size_t k = 0; k < nnames; k++)
            if (sorted[j] == names[k]) order[j] = k;
    if (!(f = fopen(tmp, "w"))) {
        snprintf(err, errsz, "cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    fputs("code,network,operator,count\n", f);
    for (size_t i = 0; i < p->nunits; i++)
        for (size_t n = 0; n < 2; n++)
            for (size_t j = 0; j < nnames; j++) {
                uint64_t c = counts[(i * 2 + n) * PLAN_OPERATORS_MAX + order[j]];
                if (c)
                    fprintf(f, "%s,%s,%s,%llu\n", registry_unit_at(reg, i)->code, n ? "mobile" : "fixed",
                            names[order[j]], (unsigned long long)c);
            }
    int bad = fflush(f) != 0 || ferror(f);
    if (fclose(f) != 0) bad = 1;
    f = NULL;
    if (bad || rename(tmp, opath) < 0) {
        snprintf(err, errsz, "cannot write %s: %s", opath, strerror(errno));
        unlink(tmp);
        goto out;
    }
    rc = 0;
out:
    if (f) fclose(f);
    for (size_t k = 0; k < nnames; k++) free(names[k]);
    free(counts);
    return rc;
}
