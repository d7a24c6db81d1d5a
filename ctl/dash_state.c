/* The dashboard's state: one quota_view per province (the same last-value
 * rule and behind-first order as "ispeedctl quota"), one live report_t for
 * the national figures and the provinces' daily series, a hash of each
 * unit's end-of-day counts for the commune page, a ring of recent alerts.
 * The recruiting list is recruit_list.c's, on the province's quota_view,
 * so it is the list "ispeedctl recruit" prints. */
#include "dash_state.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "ispeed.pb-c.h"
#include "pbnames.h"
#include "quota_view.h"
#include "report_data.h"
#include "vntime.h"

#define DAY_MS (86400LL * 1000)
#define DASH_MAX_DAYS 31
#define DASH_ALERTS 256       /* recent alerts kept, all provinces together */
#define DASH_PROVINCE_ALERTS 20 /* shown on a province page */
#define DASH_MAX_PROVINCES 256 /* quota topics followed; more is not Vietnam */
#define DASH_REFINISH_MS 60000 /* the daily series move on with the clock */

struct prov {
    char code[16];
    quota_view_t *qt;
};

/* A unit's count at the end of each day of the month, per class; -1 where
 * no status of that day was read. */
struct hist {
    char *code;
    char province[16];
    int32_t day[2][DASH_MAX_DAYS];
};

struct dash_state {
    char month[8];
    int64_t start_ms, end_ms;
    int days;
    const registry_t *reg;
    struct prov provs[DASH_MAX_PROVINCES];
    size_t nprov;
    report_t *rep;
    int dirty;
    int64_t finished_at;
    struct hist *hist; /* open addressing by code */
    size_t hcap, hused;
    Ispeed__V1__Alert *alerts[DASH_ALERTS];
    size_t nalerts; /* total put; the ring holds the last DASH_ALERTS */
    uint64_t records;
    recruit_params rp;
};

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

dash_state_t *dash_state_new(const char *month, const registry_t *reg, char *err, size_t errsz) {
    dash_state_t *ds = calloc(1, sizeof *ds);
    if (!ds) goto oom;
    if (vntime_month_bounds(month, &ds->start_ms, &ds->end_ms) < 0) {
        snprintf(err, errsz, "month '%s' is malformed; write YYYY-MM", month);
        free(ds);
        return NULL;
    }
    snprintf(ds->month, sizeof ds->month, "%s", month);
    ds->days = (int)((ds->end_ms - ds->start_ms) / DAY_MS);
    ds->reg = reg;
    ds->hcap = 1024;
    if (!(ds->hist = calloc(ds->hcap, sizeof *ds->hist))) goto oom;
    if (!(ds->rep = report_new(month, REPORT_DEFAULT_TARGET, err, errsz))) goto fail;
    if (reg && report_add_registry(ds->rep, reg, NULL) < 0) goto oom;
    ds->dirty = 1;
    recruit_params_default(&ds->rp);
    return ds;
oom:
    snprintf(err, errsz, "out of memory");
fail:
    dash_state_free(ds);
    return NULL;
}

void dash_state_free(dash_state_t *ds) {
    if (!ds) return;
    for (size_t i = 0; i < ds->nprov; i++) quota_view_free(ds->provs[i].qt);
    for (size_t i = 0; i < ds->hcap; i++) free(ds->hist[i].code);
    free(ds->hist);
    for (size_t i = 0; i < DASH_ALERTS; i++)
        if (ds->alerts[i]) ispeed__v1__alert__free_unpacked(ds->alerts[i], NULL);
    report_free(ds->rep);
    free(ds);
}

void dash_state_set_recruit(dash_state_t *ds, const recruit_params *p) {
    ds->rp = *p;
}

uint64_t dash_state_records(const dash_state_t *ds) {
    return ds->records;
}

static struct prov *find_prov(dash_state_t *ds, const char *code) {
    for (size_t i = 0; i < ds->nprov; i++)
        if (strcmp(ds->provs[i].code, code) == 0) return &ds->provs[i];
    return NULL;
}

static struct prov *get_prov(dash_state_t *ds, const char *code) {
    struct prov *p = find_prov(ds, code);
    if (p || ds->nprov == DASH_MAX_PROVINCES || strlen(code) >= sizeof p->code) return p;
    quota_filter f = {0};
    snprintf(f.month, sizeof f.month, "%s", ds->month);
    f.by_operator = 1;
    p = &ds->provs[ds->nprov];
    if (!(p->qt = quota_view_new(&f))) return NULL;
    snprintf(p->code, sizeof p->code, "%s", code);
    ds->nprov++;
    return p;
}

static struct hist *hist_slot(struct hist *tab, size_t cap, const char *code) {
    size_t i = (size_t)hash_str(code) & (cap - 1);
    while (tab[i].code && strcmp(tab[i].code, code) != 0) i = (i + 1) & (cap - 1);
    return &tab[i];
}

static struct hist *hist_get(dash_state_t *ds, const char *code, const char *province) {
    if ((ds->hused + 1) * 2 > ds->hcap) {
        size_t cap = ds->hcap * 2;
        struct hist *tab = calloc(cap, sizeof *tab);
        if (!tab) return NULL;
        for (size_t i = 0; i < ds->hcap; i++)
            if (ds->hist[i].code) *hist_slot(tab, cap, ds->hist[i].code) = ds->hist[i];
        free(ds->hist);
        ds->hist = tab;
        ds->hcap = cap;
    }
    struct hist *h = hist_slot(ds->hist, ds->hcap, code);
    if (!h->code) {
        if (!(h->code = strdup(code))) return NULL;
        snprintf(h->province, sizeof h->province, "%s", province);
        for (int n = 0; n < 2; n++)
            for (int d = 0; d < DASH_MAX_DAYS; d++) h->day[n][d] = -1;
        ds->hused++;
    }
    return h;
}

/* The day of the month (0-based) a status was written; one written after
 * the month (late samples, a replay) is its final figure. */
static int day_of(const dash_state_t *ds, int64_t ms) {
    if (ms < ds->start_ms) return 0;
    if (ms >= ds->end_ms) return ds->days - 1;
    return (int)((ms - ds->start_ms) / DAY_MS);
}

static int net_index(Ispeed__V1__Network n) {
    return n == ISPEED__V1__NETWORK__NETWORK_FIXED ? 0 : n == ISPEED__V1__NETWORK__NETWORK_MOBILE ? 1 : -1;
}

int dash_state_put_quota(dash_state_t *ds, const char *province, const char *key, size_t keylen, const void *value,
                         size_t len, char *changed, size_t changedsz, char *err, size_t errsz) {
    Ispeed__V1__QuotaStatus *qs = NULL;
    changed[0] = '\0';
    ds->records++;
    if (value && !(qs = ispeed__v1__quota_status__unpack(NULL, len, value))) {
        snprintf(err, errsz, "value of key '%.*s' is not a QuotaStatus", (int)(keylen > 80 ? 80 : keylen),
                 key ? key : "");
        return -1;
    }
    if (qs && strcmp(qs->month, ds->month) != 0) goto out; /* another month: not shown */
    struct prov *p = get_prov(ds, province);
    if (!p) goto oom;
    if (quota_view_put(p->qt, key, keylen, value, len, err, errsz) < 0) goto fail;
    if (report_put(ds->rep, key, keylen, value, len, err, errsz) < 0) goto fail;
    int n = qs ? net_index(qs->network) : -1;
    if (qs && n >= 0 && qs->unit[0]) {
        struct hist *h = hist_get(ds, qs->unit, province);
        if (!h) goto oom;
        h->day[n][day_of(ds, qs->updated_ms)] = qs->count > INT32_MAX ? INT32_MAX : (int32_t)qs->count;
    }
    ds->dirty = 1;
    snprintf(changed, changedsz, "%s", province);
out:
    if (qs) ispeed__v1__quota_status__free_unpacked(qs, NULL);
    return 0;
oom:
    snprintf(err, errsz, "out of memory");
fail:
    if (qs) ispeed__v1__quota_status__free_unpacked(qs, NULL);
    return -1;
}

int dash_state_put_alert(dash_state_t *ds, const void *value, size_t len, char *changed, size_t changedsz,
                         char *err, size_t errsz) {
    changed[0] = '\0';
    ds->records++;
    if (!value) return 0;
    Ispeed__V1__Alert *a = ispeed__v1__alert__unpack(NULL, len, value);
    if (!a) {
        snprintf(err, errsz, "a record of the alerts topic is not an Alert");
        return -1;
    }
    size_t slot = ds->nalerts++ % DASH_ALERTS;
    if (ds->alerts[slot]) ispeed__v1__alert__free_unpacked(ds->alerts[slot], NULL);
    ds->alerts[slot] = a;
    snprintf(changed, changedsz, "%s", a->province);
    return 0;
}

static int refresh(dash_state_t *ds, int64_t now_ms) {
    if (!ds->dirty && now_ms - ds->finished_at < DASH_REFINISH_MS) return 0;
    if (report_finish(ds->rep, now_ms) < 0) return -1;
    ds->dirty = 0;
    ds->finished_at = now_ms;
    return 0;
}

/* The pace rule's expected count at now_ms: target x elapsed share. */
static double pace(const dash_state_t *ds, uint32_t target, int64_t now_ms) {
    if (now_ms >= ds->end_ms) return target;
    if (now_ms <= ds->start_ms) return 0;
    return (double)target * (double)(now_ms - ds->start_ms) / (double)(ds->end_ms - ds->start_ms);
}

/* Days of the month up to now (all of them once it is over). */
static int known_days(const dash_state_t *ds, int64_t now_ms) {
    if (now_ms >= ds->end_ms) return ds->days;
    if (now_ms < ds->start_ms) return 0;
    return (int)((now_ms - ds->start_ms) / DAY_MS) + 1;
}

static const char *net_name(int n) {
    return n == 0 ? "fixed" : "mobile";
}

static void json_kv_str(FILE *out, const char *k, const char *v) {
    fprintf(out, "\"%s\":", k);
    escape_json(out, v ? v : "");
}

/* A number both as a number and as lang writes it ("1.234"). */
static void json_num(FILE *out, const char *k, enum report_lang lang, uint64_t v) {
    char s[48];
    report_number(s, sizeof s, lang, v);
    fprintf(out, "\"%s\":%llu,\"%s_s\":\"%s\"", k, (unsigned long long)v, k, s);
}

static void json_dbl(FILE *out, const char *k, enum report_lang lang, double v) {
    if (!isfinite(v) || v < 0) {
        fprintf(out, "\"%s\":null,\"%s_s\":\"–\"", k, k);
        return;
    }
    json_num(out, k, lang, (uint64_t)llround(v));
}

static void json_share(FILE *out, const char *k, enum report_lang lang, size_t part, size_t total) {
    char s[32];
    report_share(s, sizeof s, lang, part, total);
    fprintf(out, "\"%s\":", k);
    if (total) fprintf(out, "%.4f", (double)part / (double)total);
    else fputs("null", out);
    fprintf(out, ",\"%s_s\":\"%s\"", k, s);
}

static void json_figures(FILE *out, enum report_lang lang, const report_figures *f) {
    json_num(out, "samples", lang, f->samples);
    fprintf(out, ",\"provinces\":%zu,\"provinces_met\":%zu,\"districts\":%zu,\"districts_met\":%zu,"
                 "\"communes\":%zu,\"communes_met\":%zu,",
            f->provinces, f->provinces_met, f->districts, f->districts_met, f->communes, f->communes_met);
    json_share(out, "communes_share", lang, f->communes_met, f->communes);
    fputc(',', out);
    json_share(out, "districts_share", lang, f->districts_met, f->districts);
    fputc(',', out);
    json_num(out, "agents", lang, f->agents);
    fprintf(out, ",\"communes_met_one_agent\":%zu", f->communes_met_one_agent);
}

static void json_daily(FILE *out, const int64_t *d, int days) {
    fputs("\"daily\":[", out);
    for (int i = 0; i < days; i++) {
        if (i) fputc(',', out);
        if (d && d[i] >= 0) fprintf(out, "%lld", (long long)d[i]);
        else fputs("null", out);
    }
    fputc(']', out);
}

static void json_head(dash_state_t *ds, enum report_lang lang, int64_t now_ms, FILE *out) {
    char when[20];
    vntime_format(now_ms, when);
    /* closed: the month is over, so a unit below its target has not met
     * it ("chưa đạt"), it is no longer behind a pace. */
    fprintf(out,
            "\"month\":\"%s\",\"days\":%d,\"known_days\":%d,\"now\":\"%s\",\"now_ms\":%lld,\"closed\":%s,"
            "\"lang\":\"%s\",",
            ds->month, ds->days, known_days(ds, now_ms), when, (long long)now_ms,
            now_ms >= ds->end_ms ? "true" : "false", report_words_for(lang)->code);
    fprintf(out, "\"levels\":%d,", report_has_districts(ds->rep) ? 3 : 2);
}

static void json_province_figs(FILE *out, enum report_lang lang, const report_province *p, int days) {
    fputs("\"nets\":[", out);
    for (int n = 0; n < REPORT_NETS; n++) {
        fprintf(out, "%s{\"network\":\"%s\",\"target\":%u,", n ? "," : "", net_name(n), p->unit->target[n]);
        json_figures(out, lang, &p->fig[n]);
        fputc(',', out);
        json_daily(out, p->daily[n], days);
        fputc('}', out);
    }
    fputc(']', out);
}

int dash_state_json_national(dash_state_t *ds, enum report_lang lang, int64_t now_ms, FILE *out) {
    if (refresh(ds, now_ms) < 0) return -1;
    fputc('{', out);
    json_head(ds, lang, now_ms, out);
    fputs("\"national\":[", out);
    for (int n = 0; n < REPORT_NETS; n++) {
        fprintf(out, "%s{\"network\":\"%s\",", n ? "," : "", net_name(n));
        json_figures(out, lang, report_national(ds->rep, n));
        fputc('}', out);
    }
    fputs("],\"provinces\":[", out);
    for (size_t i = 0; i < report_province_count(ds->rep); i++) {
        const report_province *p = report_province_at(ds->rep, i);
        fputs(i ? ",\n{" : "\n{", out);
        json_kv_str(out, "code", p->unit->code);
        fputc(',', out);
        json_kv_str(out, "name", p->unit->name);
        fprintf(out, ",\"live\":%s,", find_prov(ds, p->unit->code) ? "true" : "false");
        json_province_figs(out, lang, p, ds->days);
        fputc('}', out);
    }
    fputs("]}\n", out);
    return 0;
}

static void json_alert(FILE *out, enum report_lang lang, const Ispeed__V1__Alert *a) {
    char when[20];
    vntime_format(a->time_ms, when);
    fputc('{', out);
    json_kv_str(out, "unit", a->unit);
    fputc(',', out);
    json_kv_str(out, "name", a->name);
    fputc(',', out);
    json_kv_str(out, "province", a->province);
    fprintf(out, ",\"level\":\"%s\",\"network\":\"%s\",\"from\":\"%s\",\"to\":\"%s\",", pbnames_level(a->level),
            pbnames_network(a->network), pbnames_quota_state(a->from_state), pbnames_quota_state(a->to_state));
    json_num(out, "count", lang, a->count);
    fputc(',', out);
    json_dbl(out, "expected", lang, a->expected);
    fputc(',', out);
    json_num(out, "target", lang, a->target);
    fputc(',', out);
    json_dbl(out, "projection", lang, a->projection);
    fprintf(out, ",\"time_ms\":%lld,\"time\":\"%s\"}", (long long)a->time_ms, when);
}

/* One unit's status; full adds what only the commune page shows (medians,
 * 5G and late counts, operators), which would double a big province's
 * JSON for nothing. */
static void json_status(FILE *out, enum report_lang lang, const quota_view_t *qt, const Ispeed__V1__QuotaStatus *q,
                        int full) {
    fputc('{', out);
    json_kv_str(out, "code", q->unit);
    fputc(',', out);
    json_kv_str(out, "name", q->name);
    fputc(',', out);
    json_kv_str(out, "parent", q->parent);
    fprintf(out, ",\"level\":\"%s\",\"network\":\"%s\",\"state\":\"%s\",", pbnames_level(q->level),
            pbnames_network(q->network), pbnames_quota_state(q->state));
    json_num(out, "count", lang, q->count);
    fputc(',', out);
    json_num(out, "target", lang, q->target);
    fputc(',', out);
    json_dbl(out, "expected", lang, quota_view_expected_now(qt, q));
    fputc(',', out);
    json_dbl(out, "projection", lang, q->projection);
    fprintf(out, ",\"agents\":%u", q->distinct_agents);
    if (!full) {
        fputc('}', out);
        return;
    }
    fputc(',', out);
    json_num(out, "count_5g", lang, q->count_5g);
    fputc(',', out);
    json_num(out, "late_count", lang, q->late_count);
    fprintf(out, ",\"median_download_bps\":%llu,\"median_upload_bps\":%llu,\"median_latency_ms\":",
            (unsigned long long)q->median_download_bps, (unsigned long long)q->median_upload_bps);
    if (isfinite(q->median_latency_ms)) fprintf(out, "%.1f", q->median_latency_ms);
    else fputs("null", out);
    fprintf(out, ",\"updated_ms\":%lld,\"operators\":[", (long long)q->updated_ms);
    for (size_t k = 0; k < q->n_operators; k++) {
        fputs(k ? ",{" : "{", out);
        json_kv_str(out, "name", q->operators[k]->operator_);
        fputc(',', out);
        json_num(out, "count", lang, q->operators[k]->count);
        fputc('}', out);
    }
    fputs("]}", out);
}

/* A rate or a number of days as "ispeedctl recruit --format csv" writes
 * it (two decimals); the page writes it in its language. */
static void json_fix2(FILE *out, const char *k, double v) {
    fprintf(out, "\"%s\":%.2f", k, isfinite(v) ? v : 0.0);
}

static void json_recruit_row(FILE *out, enum report_lang lang, const recruit_row *x) {
    fputc('{', out);
    json_kv_str(out, "code", x->code);
    fputc(',', out);
    json_kv_str(out, "name", x->name);
    fprintf(out, ",\"network\":\"%s\",", net_name(x->mobile));
    json_num(out, "count", lang, x->count);
    fprintf(out, ",\"target\":%u,", x->target);
    json_num(out, "needed", lang, x->d.needed);
    fputc(',', out);
    json_fix2(out, "days_left", x->d.days_left);
    fputc(',', out);
    json_fix2(out, "rate_needed", x->d.rate_needed);
    fprintf(out, ",\"agents\":%u,", x->agents);
    json_fix2(out, "per_agent_day", x->per_agent);
    fprintf(out, ",\"recruit\":%u}", x->recruit);
}

/* The recruiting list of the province at now_ms, and the volunteers it
 * adds up to per class. */
static int json_recruit(dash_state_t *ds, const char *code, const struct prov *p, enum report_lang lang,
                        int64_t now_ms, FILE *out) {
    recruit_row *rows = NULL;
    size_t n = 0;
    unsigned long long total[2] = {0, 0};
    if (recruit_list_build(p ? p->qt : NULL, ds->reg, code, ds->month, &ds->rp, now_ms, &rows, &n) < 0) return -1;
    fputs("\"recruit\":[", out);
    for (size_t i = 0; i < n; i++) {
        fputs(i ? ",\n" : "\n", out);
        json_recruit_row(out, lang, &rows[i]);
        total[rows[i].mobile] += rows[i].recruit;
    }
    fprintf(out, "],\"recruit_total\":[%llu,%llu],\"per_agent_day\":[%.2f,%.2f]", total[0], total[1],
            recruit_per_agent_day(&ds->rp, 0, ds->start_ms, ds->end_ms),
            recruit_per_agent_day(&ds->rp, 1, ds->start_ms, ds->end_ms));
    free(rows);
    return 0;
}

int dash_state_json_province(dash_state_t *ds, const char *code, enum report_lang lang, int64_t now_ms, FILE *out) {
    if (refresh(ds, now_ms) < 0) return -1;
    const report_province *rp = report_province_find(ds->rep, code);
    struct prov *p = find_prov(ds, code);
    if (!rp && !p) return DASH_NOT_FOUND;
    Ispeed__V1__QuotaStatus **rows = NULL;
    size_t n = 0;
    if (p) {
        quota_view_set_now(p->qt, now_ms);
        if (quota_view_rows(p->qt, &rows, &n) < 0) return -1;
    }
    fputc('{', out);
    json_head(ds, lang, now_ms, out);
    json_kv_str(out, "code", code);
    fputc(',', out);
    json_kv_str(out, "name", rp ? rp->unit->name : code);
    fputc(',', out);
    if (rp) json_province_figs(out, lang, rp, ds->days);
    else fputs("\"nets\":[]", out);
    fputs(",\"units\":[", out);
    size_t k = 0;
    /* Units of the registry without a status this month come first: with
     * nothing counted they are the furthest behind, and a collector
     * publishes a unit only once it has a sample. */
    for (size_t i = 0; ds->reg && rp && i < registry_size(ds->reg); i++) {
        const registry_unit *ru = registry_unit_at(ds->reg, i);
        const report_unit *u = strcmp(ru->province->code, code) == 0 ? report_unit_find(ds->rep, ru->code) : NULL;
        for (int net = 0; u && net < REPORT_NETS; net++) {
            if (u->seen[net]) continue;
            fputs(k++ ? ",\n{" : "\n{", out);
            json_kv_str(out, "code", u->code);
            fputc(',', out);
            json_kv_str(out, "name", u->name);
            fputc(',', out);
            json_kv_str(out, "parent", u->parent);
            fprintf(out, ",\"level\":\"%s\",\"network\":\"%s\",\"state\":\"NONE\",\"nostatus\":true,",
                    pbnames_level((Ispeed__V1__Level)u->level), net_name(net));
            json_num(out, "count", lang, 0);
            fputc(',', out);
            json_num(out, "target", lang, u->target[net]);
            fputc(',', out);
            json_dbl(out, "expected", lang, pace(ds, u->target[net], now_ms));
            fputs(",\"projection\":0,\"projection_s\":\"0\",\"agents\":0}", out);
        }
    }
    for (size_t i = 0; i < n; i++) {
        fputs(k++ ? ",\n" : "\n", out);
        json_status(out, lang, p->qt, rows[i], 0);
    }
    fputs("],\"alerts\":[", out);
    size_t shown = 0, have = ds->nalerts < DASH_ALERTS ? ds->nalerts : DASH_ALERTS;
    for (size_t k = 0; k < have && shown < DASH_PROVINCE_ALERTS; k++) {
        const Ispeed__V1__Alert *a = ds->alerts[(ds->nalerts - 1 - k) % DASH_ALERTS];
        if (strcmp(a->province, code) != 0 || strcmp(a->month, ds->month) != 0) continue;
        if (shown++) fputc(',', out);
        json_alert(out, lang, a);
    }
    fputs("],", out);
    free(rows);
    if (json_recruit(ds, code, p, lang, now_ms, out) < 0) return -1;
    fputs("}\n", out);
    return 0;
}

int dash_state_json_unit(dash_state_t *ds, const char *code, enum report_lang lang, int64_t now_ms, FILE *out) {
    struct hist *h = hist_slot(ds->hist, ds->hcap, code);
    const registry_unit *ru = ds->reg ? registry_find(ds->reg, code) : NULL;
    if (!h->code && !ru) return DASH_NOT_FOUND;
    const char *province = h->code ? h->province : ru->province->code;
    struct prov *p = find_prov(ds, province);
    Ispeed__V1__QuotaStatus **rows = NULL;
    size_t n = 0;
    if (p) {
        quota_view_set_now(p->qt, now_ms);
        if (quota_view_rows(p->qt, &rows, &n) < 0) return -1;
    }
    const Ispeed__V1__QuotaStatus *st[2] = {NULL, NULL};
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i]->unit, code) == 0 && net_index(rows[i]->network) >= 0) st[net_index(rows[i]->network)] = rows[i];
    const char *name = st[0] ? st[0]->name : st[1] ? st[1]->name : ru ? ru->name : code;
    const report_province *rp = report_province_find(ds->rep, province);
    int kd = known_days(ds, now_ms);
    fputc('{', out);
    json_head(ds, lang, now_ms, out);
    json_kv_str(out, "code", code);
    fputc(',', out);
    json_kv_str(out, "name", name);
    fputc(',', out);
    json_kv_str(out, "province", province);
    fputc(',', out);
    json_kv_str(out, "province_name", rp ? rp->unit->name : "");
    fputs(",\"nets\":[", out);
    for (int k = 0; k < 2; k++) {
        fprintf(out, "%s{\"network\":\"%s\",\"status\":", k ? "," : "", net_name(k));
        if (st[k]) json_status(out, lang, p->qt, st[k], 1);
        else fputs("null", out);
        /* Its demand now and the volunteers it needs, as the recruiting
         * list counts them (a commune without a status has none). */
        if (st[k] ? st[k]->level == ISPEED__V1__LEVEL__LEVEL_COMMUNE : ru && ru->level == REGISTRY_COMMUNE) {
            recruit_row x;
            recruit_row_compute(&x, &ds->rp, code, name, k, st[k] ? st[k]->count : 0,
                                st[k] ? (st[k]->target ? st[k]->target : RECRUIT_TARGET) : (uint32_t)ds->rp.target,
                                st[k] ? st[k]->distinct_agents : 0, now_ms, ds->start_ms, ds->end_ms);
            fputs(",\"demand\":{", out);
            json_num(out, "needed", lang, x.d.needed);
            fputc(',', out);
            json_fix2(out, "days_left", x.d.days_left);
            fputc(',', out);
            json_fix2(out, "rate_needed", x.d.rate_needed);
            fputc(',', out);
            json_fix2(out, "rate_current", x.d.rate_current);
            fprintf(out, ",\"will_make_it\":%s,\"agents\":%u,", x.d.will_make_it ? "true" : "false", x.agents);
            json_fix2(out, "per_agent_day", x.per_agent);
            fprintf(out, ",\"recruit\":%u}", x.recruit);
        }
        /* Samples per day: the growth of the end-of-day counts, a day
         * without a status carrying the count before it. */
        fputs(",\"per_day\":[", out);
        int32_t carry = 0;
        for (int d = 0; d < ds->days; d++) {
            if (d) fputc(',', out);
            if (d >= kd) {
                fputs("null", out);
                continue;
            }
            int32_t c = h->code && h->day[k][d] >= 0 ? h->day[k][d] : carry;
            fprintf(out, "%d", c >= carry ? c - carry : 0);
            carry = c;
        }
        fputs("]}", out);
    }
    fputs("]}\n", out);
    free(rows);
    return 0;
}

void dash_state_json_words(enum report_lang lang, FILE *out) {
    const report_words *w = report_words_for(lang);
    fputc('{', out);
    json_kv_str(out, "code", w->code);
    fputc(',', out);
    json_kv_str(out, "net_fixed", w->net_short[0]);
    fputc(',', out);
    json_kv_str(out, "net_mobile", w->net_short[1]);
    fputc(',', out);
    json_kv_str(out, "net_fixed_long", w->net_cap[0]);
    fputc(',', out);
    json_kv_str(out, "net_mobile_long", w->net_cap[1]);
    fputc(',', out);
    json_kv_str(out, "nation", w->nation);
    fputc(',', out);
    json_kv_str(out, "by_province", w->by_province);
    fputc(',', out);
    json_kv_str(out, "col_code", w->col_code);
    fputc(',', out);
    json_kv_str(out, "col_province", w->col_province);
    fputc(',', out);
    json_kv_str(out, "col_unit", w->col_unit);
    fputc(',', out);
    json_kv_str(out, "col_level", w->col_level);
    fputc(',', out);
    json_kv_str(out, "col_network", w->col_network);
    fputc(',', out);
    json_kv_str(out, "col_samples", w->col_samples);
    fputc(',', out);
    json_kv_str(out, "col_comm_met", w->col_comm_met);
    fputc(',', out);
    json_kv_str(out, "col_dist_met", w->col_dist_met);
    fputc(',', out);
    json_kv_str(out, "behind", w->behind);
    fputc(',', out);
    json_kv_str(out, "level_province", w->level[1]);
    fputc(',', out);
    json_kv_str(out, "level_district", w->level[2]);
    fputc(',', out);
    json_kv_str(out, "level_commune", w->level[3]);
    fputc(',', out);
    json_kv_str(out, "met", w->met);
    fputc(',', out);
    json_kv_str(out, "not_met", w->not_met);
    fputc(',', out);
    json_kv_str(out, "no_data", w->no_data);
    fputc(',', out);
    json_kv_str(out, "pace", w->pace);
    fputc(',', out);
    json_kv_str(out, "target_line", w->target_line);
    fputc(',', out);
    json_kv_str(out, "day", w->day);
    const struct {
        const char *k, *v;
    } more[] = {{"col_agents", w->col_agents},       {"agents", w->agents},
                {"recruit", w->recruit},             {"recruit_about", w->recruit_about},
                {"recruit_none", w->recruit_none},   {"recruit_closed", w->recruit_closed},
                {"recruit_total", w->recruit_total}, {"col_needed", w->col_needed},
                {"col_days_left", w->col_days_left}, {"col_rate_needed", w->col_rate_needed},
                {"col_per_agent", w->col_per_agent}, {"col_recruit", w->col_recruit}};
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++) {
        fputc(',', out);
        json_kv_str(out, more[i].k, more[i].v);
    }
    fputs("}\n", out);
}
