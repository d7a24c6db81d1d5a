/* Units by code (an open-addressing hash of indices), the last status per
 * unit and class, then the per-province and national figures and the daily
 * series of each province. */
#include "report_data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashmap.h"
#include "ispeed.pb-c.h"
#include "vntime.h"

#define DAY_MS (86400LL * 1000)

struct point { /* one value of a province's own status */
    size_t unit;
    int net;
    int64_t ms;
    uint64_t count;
};

struct report {
    char month[8];
    int64_t start_ms, end_ms;
    int days;
    uint32_t default_target;
    int registry, districts;
    report_unit *units;
    size_t n, cap;
    size_t *slots; /* index + 1, 0 empty */
    size_t nslots;
    hashmap_seed seed; /* codes come from Kafka: seeded, so none can be aimed at one slot */
    const report_unit **sorted;
    report_province *provs;
    size_t nprov;
    report_figures national[REPORT_NETS];
    struct point *pts;
    size_t npts, ptscap;
    struct point *spts; /* samples by start time, count 1 each */
    size_t nspts, sptscap;
    size_t unknown;
    int64_t updated_ms;
    int unattested; /* some unit has unattested samples */
};

static size_t *slot_of(const report_t *r, const char *code) {
    size_t i = (size_t)hashmap_hash(&r->seed, code, strlen(code)) & (r->nslots - 1);
    while (r->slots[i] && strcmp(r->units[r->slots[i] - 1].code, code) != 0) i = (i + 1) & (r->nslots - 1);
    return &r->slots[i];
}

static int rehash(report_t *r, size_t nslots) {
    size_t *slots = calloc(nslots, sizeof *slots);
    if (!slots) return -1;
    free(r->slots);
    r->slots = slots;
    r->nslots = nslots;
    for (size_t k = 0; k < r->n; k++) *slot_of(r, r->units[k].code) = k + 1;
    return 0;
}

static char *dup_or_empty(const char *s) {
    return strdup(s ? s : "");
}

/* Adds a unit (strings copied); returns its index, or (size_t)-1. */
static size_t add_unit(report_t *r, const char *code, const char *name, const char *parent, const char *province,
                       int level) {
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 256;
        report_unit *u = realloc(r->units, cap * sizeof *u);
        if (!u) return (size_t)-1;
        r->units = u;
        r->cap = cap;
    }
    if ((r->n + 1) * 2 > r->nslots && rehash(r, r->nslots ? r->nslots * 2 : 512) < 0) return (size_t)-1;
    report_unit *u = &r->units[r->n];
    memset(u, 0, sizeof *u);
    u->code = dup_or_empty(code);
    u->name = dup_or_empty(name);
    u->parent = dup_or_empty(parent);
    u->province = dup_or_empty(province);
    u->level = level;
    for (int n = 0; n < REPORT_NETS; n++) u->target[n] = r->default_target;
    if (!u->code || !u->name || !u->parent || !u->province) {
        free((char *)u->code);
        free((char *)u->name);
        free((char *)u->parent);
        free((char *)u->province);
        return (size_t)-1;
    }
    if (level == ISPEED__V1__LEVEL__LEVEL_DISTRICT) r->districts = 1;
    *slot_of(r, u->code) = r->n + 1;
    return r->n++;
}

report_t *report_new(const char *month, uint32_t default_target, char *err, size_t errsz) {
    report_t *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    hashmap_seed_random(&r->seed);
    if (vntime_month_bounds(month, &r->start_ms, &r->end_ms) < 0) {
        snprintf(err, errsz, "month '%s' is malformed; write YYYY-MM", month);
        free(r);
        return NULL;
    }
    snprintf(r->month, sizeof r->month, "%s", month);
    r->days = (int)((r->end_ms - r->start_ms) / DAY_MS);
    r->default_target = default_target;
    if (rehash(r, 512) < 0) {
        snprintf(err, errsz, "out of memory");
        free(r);
        return NULL;
    }
    return r;
}

void report_free(report_t *r) {
    if (!r) return;
    for (size_t k = 0; k < r->n; k++) {
        free((char *)r->units[k].code);
        free((char *)r->units[k].name);
        free((char *)r->units[k].parent);
        free((char *)r->units[k].province);
    }
    for (size_t p = 0; p < r->nprov; p++)
        for (int n = 0; n < REPORT_NETS; n++) free(r->provs[p].daily[n]);
    free(r->provs);
    free(r->sorted);
    free(r->pts);
    free(r->spts);
    free(r->slots);
    free(r->units);
    free(r);
}

int report_add_registry(report_t *r, const registry_t *reg, const char *only_province) {
    r->registry = 1;
    for (size_t i = 0; i < registry_size(reg); i++) {
        const registry_unit *u = registry_unit_at(reg, i);
        if (only_province && strcmp(u->province->code, only_province) != 0) continue;
        /* registry_level numbers are the wire's Level numbers. */
        if (add_unit(r, u->code, u->name, u->parent ? u->parent->code : "", u->province->code, (int)u->level) ==
            (size_t)-1)
            return -1;
    }
    if (registry_depth(reg) == 3) r->districts = 1;
    return 0;
}

static const report_unit *find(const report_t *r, const char *code) {
    size_t s = *slot_of(r, code);
    return s ? &r->units[s - 1] : NULL;
}

const report_unit *report_unit_find(const report_t *r, const char *code) {
    return find(r, code);
}

static int net_index(int network) {
    return network == ISPEED__V1__NETWORK__NETWORK_FIXED ? 0 : network == ISPEED__V1__NETWORK__NETWORK_MOBILE ? 1 : -1;
}

/* A tombstone: "<unit>/<YYYY-MM>/<network>" forgets that status. */
static void forget(report_t *r, const char *key, size_t keylen) {
    char buf[256], *month, *net;
    if (!key || keylen >= sizeof buf) return;
    memcpy(buf, key, keylen);
    buf[keylen] = '\0';
    if (!(month = strchr(buf, '/')) || !(net = strchr(month + 1, '/'))) return;
    *month++ = '\0';
    *net++ = '\0';
    int n = strcmp(net, "fixed") == 0 ? 0 : strcmp(net, "mobile") == 0 ? 1 : -1;
    size_t s = *slot_of(r, buf);
    if (n < 0 || strcmp(month, r->month) != 0 || !s) return;
    report_unit *u = &r->units[s - 1];
    u->seen[n] = 0;
    u->count[n] = 0;
    u->agents[n] = 0;
    u->unattested[n] = 0;
    u->target[n] = r->default_target;
}

static int push_point(struct point **pts, size_t *n, size_t *cap, struct point pt) {
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 256;
        struct point *p = realloc(*pts, c * sizeof *p);
        if (!p) return -1;
        *pts = p;
        *cap = c;
    }
    (*pts)[(*n)++] = pt;
    return 0;
}

int report_put(report_t *r, const char *key, size_t keylen, const void *value, size_t len, char *err,
               size_t errsz) {
    if (!value) {
        forget(r, key, keylen);
        return 0;
    }
    Ispeed__V1__QuotaStatus *qs = ispeed__v1__quota_status__unpack(NULL, len, value);
    if (!qs) {
        snprintf(err, errsz, "value of key '%.*s' is not a QuotaStatus", (int)(keylen > 80 ? 80 : keylen),
                 key ? key : "");
        return -1;
    }
    int n = net_index(qs->network), rc = 0;
    if (strcmp(qs->month, r->month) != 0 || n < 0 || !qs->unit[0]) goto out;
    size_t s = *slot_of(r, qs->unit), k;
    if (s) {
        k = s - 1;
    } else if (r->registry) {
        r->unknown++;
        goto out;
    } else {
        const char *province = qs->province[0] ? qs->province : qs->unit;
        k = add_unit(r, qs->unit, qs->name, qs->parent, province, (int)qs->level);
        if (k == (size_t)-1) goto oom;
    }
    report_unit *u = &r->units[k];
    u->seen[n] = 1;
    u->count[n] = qs->count;
    u->target[n] = qs->target;
    u->agents[n] = qs->distinct_agents;
    u->unattested[n] = qs->unattested_count;
    if (qs->updated_ms > r->updated_ms) r->updated_ms = qs->updated_ms;
    if (u->level == ISPEED__V1__LEVEL__LEVEL_PROVINCE &&
        push_point(&r->pts, &r->npts, &r->ptscap, (struct point){k, n, qs->updated_ms, qs->count}) < 0)
        goto oom;
    goto out;
oom:
    snprintf(err, errsz, "out of memory");
    rc = -1;
out:
    ispeed__v1__quota_status__free_unpacked(qs, NULL);
    return rc;
}

int report_add_sample(report_t *r, const char *province, int network, int64_t start_ms) {
    int n = net_index(network);
    size_t s = *slot_of(r, province);
    if (n < 0 || !s || r->units[s - 1].level != ISPEED__V1__LEVEL__LEVEL_PROVINCE || start_ms < r->start_ms ||
        start_ms >= r->end_ms)
        return 0;
    return push_point(&r->spts, &r->nspts, &r->sptscap, (struct point){s - 1, n, start_ms, 1});
}

static int by_place(const void *a, const void *b) {
    const report_unit *x = *(const report_unit *const *)a, *y = *(const report_unit *const *)b;
    int c = strcmp(x->province, y->province);
    if (c) return c;
    if (x->level != y->level) return x->level - y->level;
    return strcmp(x->code, y->code);
}

int report_unit_met(const report_unit *u, int net) {
    return u->count[net] >= u->target[net];
}

static report_province *prov_of(report_t *r, const char *code) {
    size_t lo = 0, hi = r->nprov;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(r->provs[mid].unit->code, code);
        if (c == 0) return &r->provs[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

const report_province *report_province_find(const report_t *r, const char *code) {
    return prov_of((report_t *)r, code);
}

/* Count at the end of each day: the last value whose time falls in that
 * day, carried forward over days without one (or, when samples were added,
 * the samples measured up to the end of that day). A value written after the
 * month ended (a late or replayed count) is the month's final figure and
 * goes to its last day. Days after now are unknown. */
static int fill_daily(report_t *r, int64_t now_ms) {
    int64_t *last_ms = malloc((size_t)r->days * sizeof *last_ms);
    if (!last_ms) return -1;
    int known_days = r->days;
    if (now_ms < r->end_ms) known_days = now_ms < r->start_ms ? 0 : (int)((now_ms - r->start_ms) / DAY_MS) + 1;
    for (size_t p = 0; p < r->nprov; p++) {
        for (int n = 0; n < REPORT_NETS; n++) {
            int64_t *d = malloc((size_t)r->days * sizeof *d);
            if (!d) {
                free(last_ms);
                return -1;
            }
            r->provs[p].daily[n] = d;
            int inside = 0, after = 0;
            for (int i = 0; i < r->days; i++) d[i] = -1, last_ms[i] = INT64_MIN;
            for (size_t i = 0; i < r->npts; i++) {
                const struct point *pt = &r->pts[i];
                if (&r->units[pt->unit] != r->provs[p].unit || pt->net != n || pt->ms < r->start_ms) continue;
                if (pt->ms >= r->end_ms) after++;
                else inside++;
                int64_t day = (pt->ms - r->start_ms) / DAY_MS;
                if (day >= r->days) day = r->days - 1;
                /* >=: of two values with one time, the later read wins. */
                if (pt->ms >= last_ms[day]) {
                    last_ms[day] = pt->ms;
                    d[day] = (int64_t)pt->count;
                }
            }
            r->provs[p].only_after[n] = after && !inside;
            if (r->nspts) {
                /* Samples by the day they were measured, summed up. */
                int64_t sum = 0;
                for (int i = 0; i < r->days; i++) d[i] = 0;
                for (size_t i = 0; i < r->nspts; i++)
                    if (&r->units[r->spts[i].unit] == r->provs[p].unit && r->spts[i].net == n)
                        d[(r->spts[i].ms - r->start_ms) / DAY_MS]++;
                for (int i = 0; i < r->days; i++) d[i] = i < known_days ? (sum += d[i]) : -1;
                r->provs[p].only_after[n] = 0;
                continue;
            }
            int64_t carry = 0;
            for (int i = 0; i < r->days; i++) {
                if (i >= known_days) d[i] = -1;
                else if (d[i] < 0) d[i] = carry;
                else carry = d[i];
            }
        }
    }
    free(last_ms);
    return 0;
}

int report_finish(report_t *r, int64_t now_ms) {
    /* Called again after more records (the dashboard keeps one report
     * live): the figures and series of the last call are dropped first. */
    for (size_t p = 0; p < r->nprov; p++)
        for (int n = 0; n < REPORT_NETS; n++) free(r->provs[p].daily[n]);
    free(r->provs);
    r->provs = NULL;
    r->nprov = 0;
    /* Without a registry a province may have published only its lower
     * units; it still gets a row. */
    size_t n0 = r->n;
    for (size_t k = 0; k < n0; k++) {
        char pc[64]; /* add_unit may move the units */
        snprintf(pc, sizeof pc, "%s", r->units[k].province);
        if (!find(r, pc) && add_unit(r, pc, pc, "", pc, ISPEED__V1__LEVEL__LEVEL_PROVINCE) == (size_t)-1) return -1;
    }
    free(r->sorted);
    if (!(r->sorted = malloc((r->n ? r->n : 1) * sizeof *r->sorted))) return -1;
    size_t nprov = 0;
    for (size_t k = 0; k < r->n; k++) {
        r->sorted[k] = &r->units[k];
        nprov += r->units[k].level == ISPEED__V1__LEVEL__LEVEL_PROVINCE;
    }
    if (r->n > 1) qsort(r->sorted, r->n, sizeof *r->sorted, by_place);
    if (!(r->provs = calloc(nprov ? nprov : 1, sizeof *r->provs))) return -1;
    for (size_t k = 0; k < r->n; k++)
        if (r->sorted[k]->level == ISPEED__V1__LEVEL__LEVEL_PROVINCE) r->provs[r->nprov++].unit = r->sorted[k];
    /* by_place sorted provinces by province code, which is their own. */

    uint64_t *commune_sum = calloc(r->nprov ? r->nprov * REPORT_NETS : 1, sizeof *commune_sum);
    uint64_t *agent_sum = calloc(r->nprov ? r->nprov * REPORT_NETS : 1, sizeof *agent_sum);
    uint64_t *unatt_sum = calloc(r->nprov ? r->nprov * REPORT_NETS : 1, sizeof *unatt_sum);
    if (!commune_sum || !agent_sum || !unatt_sum) {
        free(commune_sum);
        free(agent_sum);
        free(unatt_sum);
        return -1;
    }
    r->unattested = 0;
    for (size_t k = 0; k < r->n; k++) {
        const report_unit *u = &r->units[k];
        report_province *p = prov_of(r, u->province);
        if (!p) continue;
        for (int n = 0; n < REPORT_NETS; n++) {
            report_figures *f = &p->fig[n];
            int met = report_unit_met(u, n);
            r->unattested |= u->unattested[n] > 0;
            switch (u->level) {
            case ISPEED__V1__LEVEL__LEVEL_PROVINCE:
                f->provinces++;
                f->provinces_met += met;
                if (u->seen[n]) {
                    f->samples = u->count[n];
                    f->agents = u->agents[n];
                    f->unattested = u->unattested[n];
                }
                break;
            case ISPEED__V1__LEVEL__LEVEL_DISTRICT:
                f->districts++;
                f->districts_met += met;
                break;
            default:
                f->communes++;
                f->communes_met += met;
                f->communes_met_one_agent += met && u->seen[n] && u->agents[n] == 1;
                commune_sum[(size_t)(p - r->provs) * REPORT_NETS + (size_t)n] += u->count[n];
                agent_sum[(size_t)(p - r->provs) * REPORT_NETS + (size_t)n] += u->agents[n];
                unatt_sum[(size_t)(p - r->provs) * REPORT_NETS + (size_t)n] += u->unattested[n];
            }
        }
    }
    memset(r->national, 0, sizeof r->national);
    for (size_t p = 0; p < r->nprov; p++) {
        for (int n = 0; n < REPORT_NETS; n++) {
            report_figures *f = &r->provs[p].fig[n], *t = &r->national[n];
            /* A province's samples are its own count; if it never got a
             * status of its own, the sum of its communes'. */
            if (!r->provs[p].unit->seen[n]) {
                f->samples = commune_sum[p * REPORT_NETS + (size_t)n];
                f->agents = agent_sum[p * REPORT_NETS + (size_t)n];
                f->unattested = unatt_sum[p * REPORT_NETS + (size_t)n];
            }
            t->samples += f->samples;
            t->unattested += f->unattested;
            t->agents += f->agents;
            t->communes_met_one_agent += f->communes_met_one_agent;
            t->provinces += f->provinces;
            t->provinces_met += f->provinces_met;
            t->districts += f->districts;
            t->districts_met += f->districts_met;
            t->communes += f->communes;
            t->communes_met += f->communes_met;
        }
    }
    free(commune_sum);
    free(agent_sum);
    free(unatt_sum);
    return fill_daily(r, now_ms);
}

size_t report_province_count(const report_t *r) { return r->nprov; }
const report_province *report_province_at(const report_t *r, size_t i) { return &r->provs[i]; }
const report_figures *report_national(const report_t *r, int net) { return &r->national[net]; }
size_t report_unit_count(const report_t *r) { return r->n; }
const report_unit *report_unit_at(const report_t *r, size_t i) { return r->sorted[i]; }
int report_has_districts(const report_t *r) { return r->districts; }
int report_has_registry(const report_t *r) { return r->registry; }
int report_has_unattested(const report_t *r) { return r->unattested; }
int report_days(const report_t *r) { return r->days; }
const char *report_month(const report_t *r) { return r->month; }
size_t report_unknown(const report_t *r) { return r->unknown; }
int64_t report_updated_ms(const report_t *r) { return r->updated_ms; }
