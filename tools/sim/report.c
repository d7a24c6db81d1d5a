/* ispeed-sim's tables and HTML page. Unit names come from the registry (a
 * file the operator chose), escaped for HTML all the same. */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vntime.h"

#define DAY_MS 86400000.0
#define GB 1e9

static const char *const CLASS[2] = {"fixed", "mobile"};

struct summary {
    size_t communes, met[2], with_vol[2], one_agent, with_samples;
    double gb_median, gb_p95, agents_mean;
    uint32_t agents_median, agents_max;
};

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double percentile(const double *sorted, size_t n, double p) {
    if (!n) return 0.0;
    size_t k = (size_t)ceil(p * (double)n);
    return sorted[k ? k - 1 : 0];
}

static void summarise(const registry_t *reg, const sim_population *pop, const sim_result *r, struct summary *s) {
    memset(s, 0, sizeof *s);
    uint32_t *agents = malloc(registry_size(reg) * sizeof *agents);
    double *gb = malloc((pop->n ? pop->n : 1) * sizeof *gb);
    for (size_t i = 0; i < registry_size(reg); i++) {
        const registry_unit *u = registry_unit_at(reg, i);
        if (u->level != REGISTRY_COMMUNE) continue;
        s->communes++;
        for (int m = 0; m < 2; m++) {
            const sim_cell *c = &r->cells[i * 2 + (size_t)m];
            s->met[m] += c->met_ms != 0;
            s->with_vol[m] += c->volunteers > 0;
        }
        /* Distinct agents of the commune over both classes: the classes'
         * agents are different volunteers here. */
        uint32_t a = r->cells[i * 2].agents + r->cells[i * 2 + 1].agents;
        if (a && agents) {
            agents[s->with_samples++] = a;
            s->agents_mean += a;
            s->one_agent += a == 1;
        }
    }
    if (agents && s->with_samples) {
        qsort(agents, s->with_samples, sizeof *agents, cmp_u32);
        s->agents_mean /= (double)s->with_samples;
        s->agents_median = agents[(s->with_samples - 1) / 2];
        s->agents_max = agents[s->with_samples - 1];
    }
    if (gb) {
        for (size_t i = 0; i < pop->n; i++) gb[i] = r->vol_bytes[i] / GB;
        qsort(gb, pop->n, sizeof *gb, cmp_double);
        s->gb_median = percentile(gb, pop->n, 0.5);
        s->gb_p95 = percentile(gb, pop->n, 0.95);
    }
    free(agents);
    free(gb);
}

void sim_report_policy(FILE *out, const registry_t *reg, const sim_population *pop, const sim_config *cfg,
                       const sim_result *r) {
    struct summary s;
    summarise(reg, pop, r, &s);
    fprintf(out, "policy %s\n", r->adaptive ? "adaptive" : "static");
    for (int m = 0; m < 2; m++)
        fprintf(out, "  communes meeting %u, %-6s %5zu of %zu (%.1f%%); of the %zu with a %s volunteer: %.1f%%\n",
                cfg->quota.target, CLASS[m], s.met[m], s.communes, 100.0 * (double)s.met[m] / (double)s.communes,
                s.with_vol[m], CLASS[m], s.with_vol[m] ? 100.0 * (double)s.met[m] / (double)s.with_vol[m] : 0.0);
    fprintf(out, "  samples: %llu counted of %llu tests (%llu over the daily cap, %llu failed), %llu budget stops\n",
            (unsigned long long)r->counted, (unsigned long long)r->tests, (unsigned long long)r->over_cap,
            (unsigned long long)r->failed, (unsigned long long)r->budget_stops);
    fprintf(out, "  data: %.1f GB in all, %.0f samples per GB; per volunteer median %.2f GB, p95 %.2f GB\n",
            r->bytes / GB, r->bytes > 0 ? (double)r->counted / (r->bytes / GB) : 0.0, s.gb_median, s.gb_p95);
    fprintf(out, "  distinct agents per commune with samples (%zu): mean %.1f, median %u, max %u; %zu with one agent\n",
            s.with_samples, s.agents_mean, s.agents_median, s.agents_max, s.one_agent);
}

static double capacity(const sim_volunteer *v, const sim_config *cfg, double days) {
    double per_day = (double)v->len_min * 60000.0 / (double)cfg->policy.floor_ms;
    if (cfg->daily_cap && per_day > cfg->daily_cap) per_day = cfg->daily_cap;
    double month = per_day * v->p_day * days * (1.0 - cfg->fail_rate);
    if (v->budget) {
        double tests = floor((double)v->budget / (double)v->test_bytes) * (1.0 - cfg->fail_rate);
        if (tests < month) month = tests;
    }
    return month;
}

static int by_need(const void *a, const void *b) {
    const sim_recruit *x = a, *y = b;
    if (x->needed != y->needed) return x->needed > y->needed ? -1 : 1;
    int c = strcmp(x->commune->code, y->commune->code);
    return c ? c : x->mobile - y->mobile;
}

int sim_recruiting_build(const registry_t *reg, const sim_population *pop, const sim_config *cfg,
                         sim_recruiting *out) {
    memset(out, 0, sizeof *out);
    int64_t ms, me;
    vntime_month_bounds(cfg->month, &ms, &me);
    double days = (double)(me - ms) / DAY_MS;
    size_t ncells = registry_size(reg) * 2;
    double *cap = calloc(ncells, sizeof *cap);
    unsigned *nv = calloc(ncells, sizeof *nv);
    out->list = calloc(ncells, sizeof *out->list);
    if (!cap || !nv || !out->list) {
        free(cap);
        free(nv);
        sim_recruiting_free(out);
        return -1;
    }
    size_t ncls[2] = {0, 0};
    for (size_t i = 0; i < pop->n; i++) {
        const sim_volunteer *v = &pop->v[i];
        double c = capacity(v, cfg, days);
        cap[v->commune->index * 2 + (size_t)v->mobile] += c;
        nv[v->commune->index * 2 + (size_t)v->mobile]++;
        out->typical[v->mobile] += c;
        ncls[v->mobile]++;
    }
    for (int m = 0; m < 2; m++) out->typical[m] = ncls[m] ? out->typical[m] / (double)ncls[m] : 1.0;
    for (size_t ci = 0; ci < ncells; ci++) {
        const registry_unit *u = registry_unit_at(reg, ci / 2);
        if (u->level != REGISTRY_COMMUNE) continue;
        int m = (int)(ci & 1);
        uint32_t target = cfg->quota.target;
        if (cap[ci] >= target) continue;
        sim_recruit *r = &out->list[out->n++];
        r->commune = u;
        r->mobile = m;
        r->volunteers = nv[ci];
        r->capacity = cap[ci];
        r->needed = (unsigned)ceil(((double)target - cap[ci]) / out->typical[m] - 1e-9);
        out->total[m] += r->needed;
    }
    qsort(out->list, out->n, sizeof *out->list, by_need);
    free(cap);
    free(nv);
    return 0;
}

void sim_recruiting_free(sim_recruiting *r) {
    if (!r) return;
    free(r->list);
    r->list = NULL;
    r->n = 0;
}

void sim_report_recruiting(FILE *out, const sim_recruiting *rc, size_t show) {
    size_t per[2] = {0, 0};
    for (size_t i = 0; i < rc->n; i++) per[rc->list[i].mobile]++;
    fprintf(out, "recruiting: communes that cannot reach the target even at the floor interval\n");
    for (int m = 0; m < 2; m++)
        fprintf(out, "  %-6s %5zu communes, %u more volunteers in all (a typical %s volunteer gives %.0f a month)\n",
                CLASS[m], per[m], rc->total[m], CLASS[m], rc->typical[m]);
    if (show > rc->n) show = rc->n;
    if (show) fprintf(out, "  %-8s %-6s %10s %10s %6s  %s\n", "code", "class", "volunteers", "capacity", "needs", "name");
    for (size_t i = 0; i < show; i++) {
        const sim_recruit *r = &rc->list[i];
        fprintf(out, "  %-8s %-6s %10u %10.0f %6u  %s\n", r->commune->code, CLASS[r->mobile], r->volunteers,
                r->capacity, r->needed, r->commune->name);
    }
}

void sim_report_compare(FILE *out, const registry_t *reg, const sim_config *cfg, const sim_result *st,
                        const sim_result *ad) {
    int64_t ms, me;
    vntime_month_bounds(cfg->month, &ms, &me);
    int64_t early = ms + (int64_t)(19 * DAY_MS); /* by the end of the 19th day: "early" */
    size_t met[2][2] = {{0, 0}, {0, 0}}, nearly[2] = {0, 0};
    double eb[2][2] = {{0, 0}, {0, 0}};
    for (size_t ci = 0; ci < st->ncells; ci++) {
        if (registry_unit_at(reg, ci / 2)->level != REGISTRY_COMMUNE) continue;
        int m = (int)(ci & 1);
        met[0][m] += st->cells[ci].met_ms != 0;
        met[1][m] += ad->cells[ci].met_ms != 0;
        if (st->cells[ci].met_ms && st->cells[ci].met_ms < early) {
            nearly[m]++;
            eb[0][m] += st->cells[ci].bytes;
            eb[1][m] += ad->cells[ci].bytes;
        }
    }
    fprintf(out, "adaptive vs static\n");
    for (int m = 0; m < 2; m++)
        fprintf(out, "  %-6s communes meeting: %zu vs %zu (%+ld)\n", CLASS[m], met[1][m], met[0][m],
                (long)met[1][m] - (long)met[0][m]);
    fprintf(out, "  samples: %llu vs %llu; data: %.1f GB vs %.1f GB (%.0f%%)\n", (unsigned long long)ad->counted,
            (unsigned long long)st->counted, ad->bytes / GB, st->bytes / GB,
            st->bytes > 0 ? 100.0 * ad->bytes / st->bytes : 0.0);
    for (int m = 0; m < 2; m++)
        fprintf(out, "  %-6s communes met by day 19 under static (%zu): data %.1f GB vs %.1f GB (%.0f%%)\n", CLASS[m],
                nearly[m], eb[1][m] / GB, eb[0][m] / GB, eb[0][m] > 0 ? 100.0 * eb[1][m] / eb[0][m] : 0.0);
}

static void html_text(FILE *f, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\t') fputc(*s, f);
        }
    }
}

/* A bar chart: groups of bars (one per result) with labels. */
static void svg_bars(FILE *f, const char *title, const char *const *groups, size_t ngroups,
                     const char *const *series, size_t nseries, const double *v /* [group][series] */,
                     const char *unit) {
    const int w = 640, h = 260, left = 60, bottom = 40, top = 30;
    double max = 0.0;
    for (size_t i = 0; i < ngroups * nseries; i++)
        if (v[i] > max) max = v[i];
    if (max <= 0.0) max = 1.0;
    static const char *const colour[] = {"#9aa5b1", "#2f7ed8", "#8bbc21", "#910000"};
    fprintf(f, "<figure><svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' role='img'>\n", w, h);
    fprintf(f, "<text x='%d' y='18' font-size='14'>", left);
    html_text(f, title);
    fprintf(f, "</text>\n<line x1='%d' y1='%d' x2='%d' y2='%d' stroke='black'/>\n", left, h - bottom, w - 10,
            h - bottom);
    double gw = (double)(w - left - 20) / (double)ngroups, bw = gw * 0.8 / (double)nseries;
    for (size_t g = 0; g < ngroups; g++) {
        for (size_t s = 0; s < nseries; s++) {
            double val = v[g * nseries + s], bh = (double)(h - bottom - top) * val / max;
            double x = left + g * gw + gw * 0.1 + (double)s * bw;
            fprintf(f, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='%s'><title>", x,
                    (double)(h - bottom) - bh, bw - 2, bh, colour[s % 4]);
            html_text(f, series[s]);
            fprintf(f, ": %.2f %s</title></rect>\n", val, unit);
            fprintf(f, "<text x='%.1f' y='%.1f' font-size='11' text-anchor='middle'>%.6g</text>\n", x + bw / 2,
                    (double)(h - bottom) - bh - 3, round(val * 100) / 100);
        }
        fprintf(f, "<text x='%.1f' y='%d' font-size='12' text-anchor='middle'>", left + g * gw + gw / 2, h - bottom + 16);
        html_text(f, groups[g]);
        fprintf(f, "</text>\n");
    }
    for (size_t s = 0; s < nseries; s++) {
        fprintf(f, "<rect x='%d' y='%d' width='10' height='10' fill='%s'/><text x='%d' y='%d' font-size='12'>",
                left + 120 * (int)s, h - 14, colour[s % 4], left + 14 + 120 * (int)s, h - 5);
        html_text(f, series[s]);
        fprintf(f, "</text>\n");
    }
    fprintf(f, "</svg></figure>\n");
}

int sim_report_html(const char *path, const registry_t *reg, const sim_population *pop, const sim_config *cfg,
                    const sim_result *const *results, size_t nresults, const sim_recruiting *rc, char *err,
                    size_t errsz) {
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errsz, "cannot write %s: check the directory exists and is writable", path);
        return -1;
    }
    const char *names[4];
    double met[2 * 4], gb[3 * 4], ag[3 * 4];
    struct summary s[4];
    if (nresults > 4) nresults = 4;
    for (size_t k = 0; k < nresults; k++) {
        summarise(reg, pop, results[k], &s[k]);
        names[k] = results[k]->adaptive ? "adaptive" : "static";
        for (int m = 0; m < 2; m++) met[(size_t)m * nresults + k] = (double)s[k].met[m];
        gb[0 * nresults + k] = results[k]->bytes / GB / (pop->n ? (double)pop->n : 1.0);
        gb[1 * nresults + k] = s[k].gb_median;
        gb[2 * nresults + k] = s[k].gb_p95;
        ag[0 * nresults + k] = s[k].agents_mean;
        ag[1 * nresults + k] = s[k].agents_median;
        ag[2 * nresults + k] = (double)s[k].one_agent;
    }
    fprintf(f, "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>ispeed-sim %s</title>"
               "<style>body{font-family:sans-serif;max-width:60em;margin:1em auto}td,th{padding:2px 8px;"
               "text-align:right}td.l{text-align:left}</style></head><body>\n",
            cfg->month);
    fprintf(f, "<h1>ispeed-sim: %s, %zu volunteers (", cfg->month, pop->n);
    html_text(f, pop->source);
    fprintf(f, "), seed %llu</h1>\n", (unsigned long long)cfg->seed);
    const char *classes[2] = {"fixed", "mobile"};
    svg_bars(f, "Communes meeting the target", classes, 2, names, nresults, met, "communes");
    const char *gbg[3] = {"mean", "median", "p95"};
    svg_bars(f, "GB per volunteer", gbg, 3, names, nresults, gb, "GB");
    const char *agg[3] = {"mean agents", "median agents", "communes with 1"};
    svg_bars(f, "Distinct agents per commune with samples", agg, 3, names, nresults, ag, "");
    fprintf(f, "<table><tr><th>policy</th><th>fixed met</th><th>mobile met</th><th>samples</th><th>tests</th>"
               "<th>GB</th></tr>\n");
    for (size_t k = 0; k < nresults; k++)
        fprintf(f, "<tr><td class='l'>%s</td><td>%zu</td><td>%zu</td><td>%llu</td><td>%llu</td><td>%.1f</td></tr>\n",
                names[k], s[k].met[0], s[k].met[1], (unsigned long long)results[k]->counted,
                (unsigned long long)results[k]->tests, results[k]->bytes / GB);
    fprintf(f, "</table>\n<h2>Recruiting: communes that cannot reach %u even at the floor interval</h2>\n"
               "<p>fixed: %u more volunteers, mobile: %u.</p>\n<table><tr><th>code</th><th>name</th><th>class</th>"
               "<th>volunteers</th><th>capacity</th><th>needs</th></tr>\n",
            cfg->quota.target, rc->total[0], rc->total[1]);
    for (size_t i = 0; i < rc->n && i < 200; i++) {
        const sim_recruit *r = &rc->list[i];
        fprintf(f, "<tr><td class='l'>");
        html_text(f, r->commune->code);
        fprintf(f, "</td><td class='l'>");
        html_text(f, r->commune->name);
        fprintf(f, "</td><td class='l'>%s</td><td>%u</td><td>%.0f</td><td>%u</td></tr>\n", classes[r->mobile],
                r->volunteers, r->capacity, r->needed);
    }
    fprintf(f, "</table>\n</body></html>\n");
    if (fclose(f) != 0) {
        snprintf(err, errsz, "writing %s failed: check the disk", path);
        return -1;
    }
    return 0;
}
