/* Last-value-per-key view of a quota topic: an open-addressing hash of key
 * to decoded QuotaStatus, then a sorted, filtered print. */
#include "quota_view.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "demand.h"
#include "escape.h"
#include "hashmap.h"
#include "pbnames.h"
#include "textwidth.h"
#include "vntime.h"

#define QUOTA_TABLE_WIDTH 100 /* the table fits a 100-column terminal */

struct slot {
    char *key; /* NULL: empty */
    Ispeed__V1__QuotaStatus *qs; /* NULL with a key: deleted by a tombstone */
};

struct quota_view {
    quota_filter filter;
    struct slot *slots;
    size_t cap;  /* power of two */
    size_t used; /* slots with a key */
    hashmap_seed seed; /* keys come from Kafka: seeded, so none can be aimed at one slot */
};

quota_view_t *quota_view_new(const quota_filter *filter) {
    quota_view_t *qt = calloc(1, sizeof *qt);
    if (!qt) return NULL;
    hashmap_seed_random(&qt->seed);
    qt->filter = *filter;
    qt->cap = 256;
    qt->slots = calloc(qt->cap, sizeof *qt->slots);
    if (!qt->slots) {
        free(qt);
        return NULL;
    }
    return qt;
}

void quota_view_free(quota_view_t *qt) {
    if (!qt) return;
    for (size_t i = 0; i < qt->cap; i++) {
        free(qt->slots[i].key);
        if (qt->slots[i].qs) ispeed__v1__quota_status__free_unpacked(qt->slots[i].qs, NULL);
    }
    free(qt->slots);
    free(qt);
}

/* The slot holding key, or the empty slot where it would go. */
static struct slot *find_slot(const hashmap_seed *seed, struct slot *slots, size_t cap, const char *key, size_t len) {
    size_t i = (size_t)hashmap_hash(seed, key, len) & (cap - 1);
    while (slots[i].key && !(strlen(slots[i].key) == len && memcmp(slots[i].key, key, len) == 0))
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

static int grow(quota_view_t *qt) {
    size_t cap = qt->cap * 2;
    struct slot *slots = calloc(cap, sizeof *slots);
    if (!slots) return -1;
    for (size_t i = 0; i < qt->cap; i++)
        if (qt->slots[i].key) *find_slot(&qt->seed, slots, cap, qt->slots[i].key, strlen(qt->slots[i].key)) = qt->slots[i];
    free(qt->slots);
    qt->slots = slots;
    qt->cap = cap;
    return 0;
}

int quota_view_put(quota_view_t *qt, const char *key, size_t keylen, const void *value, size_t len,
                    char *err, size_t errsz) {
    Ispeed__V1__QuotaStatus *qs = NULL;
    char synth[256];
    if (value) {
        qs = ispeed__v1__quota_status__unpack(NULL, len, value);
        if (!qs) {
            snprintf(err, errsz, "value of key '%.*s' is not a QuotaStatus", (int)(keylen > 80 ? 80 : keylen),
                     key ? key : "");
            return -1;
        }
        /* A producer that forgot the key still names the unit in the value. */
        if (!key || keylen == 0) {
            snprintf(synth, sizeof synth, "%s/%s/%s", qs->unit, qs->month, pbnames_network(qs->network));
            key = synth;
            keylen = strlen(synth);
        }
        if (strcmp(qs->month, qt->filter.month) != 0) {
            ispeed__v1__quota_status__free_unpacked(qs, NULL);
            return 0;
        }
    } else if (!key) {
        return 0;
    }
    if ((qt->used + 1) * 4 > qt->cap * 3 && grow(qt) < 0) goto oom;
    struct slot *s = find_slot(&qt->seed, qt->slots, qt->cap, key, keylen);
    if (!s->key) {
        if (!qs) return 0; /* tombstone of a key we never kept */
        if (!(s->key = strndup(key, keylen))) goto oom;
        qt->used++;
    }
    if (s->qs) ispeed__v1__quota_status__free_unpacked(s->qs, NULL);
    s->qs = qs;
    return 0;
oom:
    if (qs) ispeed__v1__quota_status__free_unpacked(qs, NULL);
    snprintf(err, errsz, "out of memory");
    return -1;
}

static int matches(const quota_filter *f, const Ispeed__V1__QuotaStatus *qs) {
    if (f->level != ISPEED__V1__LEVEL__LEVEL_UNSPECIFIED && qs->level != f->level) return 0;
    if (f->network != ISPEED__V1__NETWORK__NETWORK_UNSPECIFIED && qs->network != f->network) return 0;
    if (f->behind_only && qs->state != ISPEED__V1__QUOTA_STATE__QUOTA_STATE_BEHIND) return 0;
    return 1;
}

size_t quota_view_count(const quota_view_t *qt) {
    size_t n = 0;
    for (size_t i = 0; i < qt->cap; i++)
        if (qt->slots[i].qs && matches(&qt->filter, qt->slots[i].qs)) n++;
    return n;
}

/* The pace rule's expected count at filter->now_ms: target x elapsed share
 * of the month (the whole target once it is over). */
static double expected_now(const quota_filter *f, const Ispeed__V1__QuotaStatus *q) {
    int64_t start, end;
    if (!f->now_ms || vntime_month_bounds(q->month, &start, &end) < 0) return q->expected;
    if (f->now_ms >= end) return q->target;
    if (f->now_ms <= start) return 0;
    return (double)q->target * (double)(f->now_ms - start) / (double)(end - start);
}

/* The demand of q at filter->now_ms (at its updated_ms when 0): recomputed
 * from count, target and the month, because the published fields are as of
 * updated_ms and a counter that has not moved for days still holds its
 * days_left of then (collector/README.md, "Demand"). */
static void demand_now(const quota_filter *f, const Ispeed__V1__QuotaStatus *q, demand *d) {
    int64_t start, end;
    if (vntime_month_bounds(q->month, &start, &end) < 0) {
        memset(d, 0, sizeof *d);
        return;
    }
    demand_compute(q->count, q->target, f->now_ms ? f->now_ms : q->updated_ms, start, end, d);
}

static const quota_filter *sort_filter; /* qsort has no context argument */

static int by_behind(const void *a, const void *b) {
    const Ispeed__V1__QuotaStatus *x = *(Ispeed__V1__QuotaStatus *const *)a;
    const Ispeed__V1__QuotaStatus *y = *(Ispeed__V1__QuotaStatus *const *)b;
    double dx = (double)x->count - expected_now(sort_filter, x), dy = (double)y->count - expected_now(sort_filter, y);
    if (dx < dy) return -1;
    if (dx > dy) return 1;
    int c = strcmp(x->unit, y->unit);
    if (c) return c;
    return (int)x->network - (int)y->network;
}

/* Finite doubles as fixed-point text; NaN and infinities (never expected
 * from a collector, but not worth a crash) as empty. */
static void fmt_double(char *out, size_t outsz, double v, const char *empty) {
    if (isfinite(v)) snprintf(out, outsz, "%.1f", v);
    else snprintf(out, outsz, "%s", empty);
}

static void fmt_mbps(char *out, size_t outsz, uint64_t bps) {
    if (bps == 0) snprintf(out, outsz, "-");
    else snprintf(out, outsz, "%.1f", (double)bps / 1e6);
}

/* One CSV row of q; with by_operator, op (NULL: none) and its count are added. */
static void csv_row(const quota_filter *f, const Ispeed__V1__QuotaStatus *q, int by_operator,
                    const Ispeed__V1__OperatorCount *op, int unatt, FILE *out) {
    char exp[32], proj[32], lat[32];
    fmt_double(exp, sizeof exp, q->expected, "");
    fmt_double(proj, sizeof proj, q->projection, "");
    fmt_double(lat, sizeof lat, q->median_latency_ms, "");
    escape_csv(out, q->unit);
    fputc(',', out);
    escape_csv(out, q->name);
    fprintf(out, ",%s,%s,%llu,%u,%s,%s,%s,%llu,%llu,%s,%llu,%llu,", pbnames_level(q->level),
            pbnames_network(q->network), (unsigned long long)q->count, q->target, exp,
            pbnames_quota_state(q->state), proj, (unsigned long long)q->median_download_bps,
            (unsigned long long)q->median_upload_bps, lat, (unsigned long long)q->count_5g,
            (unsigned long long)q->late_count);
    escape_csv(out, q->parent);
    fprintf(out, ",%lld,%u", (long long)q->updated_ms, q->distinct_agents);
    demand d;
    demand_now(f, q, &d);
    fprintf(out, ",%llu,%.2f,%.2f,%.2f,%d", (unsigned long long)d.needed, d.days_left, d.rate_needed, d.rate_current,
            d.will_make_it);
    if (by_operator) {
        fputc(',', out);
        escape_csv(out, op && op->operator_ ? op->operator_ : "");
        fprintf(out, ",%llu", op ? (unsigned long long)op->count : 0ULL);
    }
    /* Last, so the columns before it keep their places for existing readers. */
    if (unatt) fprintf(out, ",%llu", (unsigned long long)q->unattested_count);
    fputc('\n', out);
}

/* With by_operator, one row per operator (long format: a spreadsheet pivots
 * it), and one with an empty operator for a unit without any. */
static void print_csv(const quota_filter *f, Ispeed__V1__QuotaStatus **rows, size_t n, FILE *out) {
    fputs("code,name,level,network,count,target,expected,state,projection,"
          "median_download_bps,median_upload_bps,median_latency_ms,count_5g,late_count,parent,updated_ms,"
          "distinct_agents,needed,days_left,rate_needed,rate_current,will_make_it",
          out);
    /* unattested_count (--attestation optional's samples counted apart),
     * last, only when some row has any: the SPEC's columns stay as they are
     * for every reader of a collector that requires attestation. */
    int unatt = 0;
    for (size_t i = 0; i < n; i++) unatt |= rows[i]->unattested_count > 0;
    if (f->by_operator) fputs(",operator,operator_count", out);
    fputs(unatt ? ",unattested_count\n" : "\n", out);
    for (size_t i = 0; i < n; i++) {
        if (!f->by_operator || rows[i]->n_operators == 0) {
            csv_row(f, rows[i], f->by_operator, NULL, unatt, out);
            continue;
        }
        for (size_t k = 0; k < rows[i]->n_operators; k++) csv_row(f, rows[i], 1, rows[i]->operators[k], unatt, out);
    }
}

static void print_json(const quota_filter *f, Ispeed__V1__QuotaStatus **rows, size_t n, FILE *out) {
    fputs("[", out);
    for (size_t i = 0; i < n; i++) {
        const Ispeed__V1__QuotaStatus *q = rows[i];
        char exp[32], expnow[32], proj[32], lat[32], when[20];
        fmt_double(exp, sizeof exp, q->expected, "null");
        fmt_double(expnow, sizeof expnow, expected_now(f, q), "null");
        fmt_double(proj, sizeof proj, q->projection, "null");
        fmt_double(lat, sizeof lat, q->median_latency_ms, "null");
        vntime_format(q->updated_ms, when);
        fputs(i ? ",\n {" : "\n {", out);
        fputs("\"code\":", out);
        escape_json(out, q->unit);
        fputs(",\"name\":", out);
        escape_json(out, q->name);
        fprintf(out, ",\"level\":\"%s\",\"network\":\"%s\",\"count\":%llu,\"target\":%u,\"expected\":%s,"
                     "\"expected_now\":%s,\"state\":\"%s\",\"projection\":%s,\"median_download_bps\":%llu,"
                     "\"median_upload_bps\":%llu,\"median_latency_ms\":%s,\"count_5g\":%llu,\"late_count\":%llu,"
                     "\"distinct_agents\":%u,\"unattested_count\":%llu,",
                pbnames_level(q->level), pbnames_network(q->network), (unsigned long long)q->count,
                q->target, exp, expnow, pbnames_quota_state(q->state), proj, (unsigned long long)q->median_download_bps,
                (unsigned long long)q->median_upload_bps, lat, (unsigned long long)q->count_5g,
                (unsigned long long)q->late_count, q->distinct_agents, (unsigned long long)q->unattested_count);
        fputs("\"parent\":", out);
        escape_json(out, q->parent);
        fputs(",\"province\":", out);
        escape_json(out, q->province);
        fputs(",\"month\":", out);
        escape_json(out, q->month);
        fprintf(out, ",\"updated_ms\":%lld,\"updated\":\"%s +07:00\"", (long long)q->updated_ms, when);
        demand d;
        demand_now(f, q, &d);
        fprintf(out,
                ",\"needed\":%llu,\"days_left\":%.3f,\"rate_needed\":%.3f,\"rate_current\":%.3f,\"will_make_it\":%s",
                (unsigned long long)d.needed, d.days_left, d.rate_needed, d.rate_current,
                d.will_make_it ? "true" : "false");
        if (f->by_operator) {
            fputs(",\"operators\":{", out);
            for (size_t k = 0; k < q->n_operators; k++) {
                if (k) fputc(',', out);
                escape_json(out, q->operators[k]->operator_ ? q->operators[k]->operator_ : "");
                fprintf(out, ":%llu", (unsigned long long)q->operators[k]->count);
            }
            fputc('}', out);
        }
        fputc('}', out);
    }
    fputs(n ? "\n]\n" : "]\n", out);
}

enum { C_CODE, C_NAME, C_LEVEL, C_NET, C_COUNT, C_UNATT, C_TARGET, C_EXPECT, C_STATE, C_PROJ, C_AGENTS, C_DOWN, C_UP,
       C_LAT, NCOL };
static const char *const table_head[NCOL] = {"CODE",  "NAME",  "LEVEL", "NET",    "COUNT", "UNATTESTED", "TARGET",
                                             "EXPECT", "STATE", "PROJ", "AGENTS", "DOWN",  "UP",     "LAT"};
#define CELL 64

static void table_cells(const quota_filter *f, const Ispeed__V1__QuotaStatus *q, char cell[NCOL][CELL]) {
    double expected = expected_now(f, q);
    snprintf(cell[C_CODE], CELL, "%s", q->unit);
    cell[C_NAME][0] = '\0'; /* printed from q->name, which may be longer */
    snprintf(cell[C_LEVEL], CELL, "%s", pbnames_level(q->level));
    snprintf(cell[C_NET], CELL, "%s", pbnames_network(q->network));
    snprintf(cell[C_COUNT], CELL, "%llu", (unsigned long long)q->count);
    snprintf(cell[C_UNATT], CELL, "%llu", (unsigned long long)q->unattested_count);
    snprintf(cell[C_TARGET], CELL, "%u", q->target);
    if (isfinite(expected)) snprintf(cell[C_EXPECT], CELL, "%.0f", expected);
    else snprintf(cell[C_EXPECT], CELL, "-");
    snprintf(cell[C_STATE], CELL, "%s", pbnames_quota_state(q->state));
    if (isfinite(q->projection)) snprintf(cell[C_PROJ], CELL, "%.0f", q->projection);
    else snprintf(cell[C_PROJ], CELL, "-");
    snprintf(cell[C_AGENTS], CELL, "%u", q->distinct_agents);
    fmt_mbps(cell[C_DOWN], CELL, q->median_download_bps);
    fmt_mbps(cell[C_UP], CELL, q->median_upload_bps);
    if (isfinite(q->median_latency_ms) && q->median_latency_ms > 0)
        snprintf(cell[C_LAT], CELL, "%.1f", q->median_latency_ms);
    else snprintf(cell[C_LAT], CELL, "-");
}

static void print_table(const quota_filter *f, Ispeed__V1__QuotaStatus **rows, size_t n, const char *title, FILE *out) {
    size_t w[NCOL], total = 0;
    char cell[NCOL][CELL];
    size_t behind = 0, met = 0;
    /* UNATTESTED (samples without a server's receipt, counted apart under
     * --attestation optional) only when some row has any: COUNT is the
     * attested count either way. */
    int unatt = 0;
    for (size_t i = 0; i < n; i++) unatt |= rows[i]->unattested_count > 0;
    for (int c = 0; c < NCOL; c++) w[c] = textwidth(table_head[c]);
    for (size_t i = 0; i < n; i++) {
        table_cells(f, rows[i], cell);
        for (int c = 0; c < NCOL; c++) {
            size_t cw = c == C_NAME ? textwidth(rows[i]->name) : textwidth(cell[c]);
            if (cw > w[c]) w[c] = cw;
        }
        behind += rows[i]->state == ISPEED__V1__QUOTA_STATE__QUOTA_STATE_BEHIND;
        met += rows[i]->state == ISPEED__V1__QUOTA_STATE__QUOTA_STATE_MET;
    }
    /* Everything but the name keeps its width; the name gives way (down to
     * a readable minimum) so a row fits the terminal. */
    if (!unatt) w[C_UNATT] = 0;
    for (int c = 0; c < NCOL; c++) total += w[c] + (c && w[c] ? 1 : 0);
    if (total > QUOTA_TABLE_WIDTH) {
        size_t excess = total - QUOTA_TABLE_WIDTH;
        w[C_NAME] = w[C_NAME] > excess + 12 ? w[C_NAME] - excess : 12;
    }
    if (title) fprintf(out, "%s\n", title);
    for (int c = 0; c < NCOL; c++) {
        if (c == C_UNATT && !unatt) continue;
        if (c) fputc(' ', out);
        textwidth_fput(out, table_head[c], w[c], c <= C_NET || c == C_STATE);
    }
    fputc('\n', out);
    for (size_t i = 0; i < n; i++) {
        table_cells(f, rows[i], cell);
        for (int c = 0; c < NCOL; c++) {
            if (c == C_UNATT && !unatt) continue;
            const char *s = c == C_NAME ? rows[i]->name : cell[c];
            if (c) fputc(' ', out);
            textwidth_fput(out, s, w[c], c <= C_NET || c == C_STATE);
        }
        fputc('\n', out);
        /* Under the unit, indented past its code: operator, count, share. */
        for (size_t k = 0; f->by_operator && k < rows[i]->n_operators; k++) {
            const Ispeed__V1__OperatorCount *op = rows[i]->operators[k];
            char name[256];
            escape_buf b;
            /* An operator name is an agent's words: escaped for the terminal. */
            escape_buf_init(&b, name, sizeof name);
            escape_term_to(escape_buf_sink, &b, op->operator_ ? op->operator_ : "");
            fprintf(out, "%*s", (int)w[C_CODE] + 1, "");
            textwidth_fput(out, name, 32, 1);
            fprintf(out, " %8llu %5.1f%%\n", (unsigned long long)op->count,
                    rows[i]->count ? 100.0 * (double)op->count / (double)rows[i]->count : 0.0);
        }
    }
    fprintf(out, "%zu rows: %zu behind, %zu met, %zu on track. EXPECT now; AGENTS distinct; DOWN/UP/LAT median Mbit/s, ms.\n", n,
            behind, met, n - behind - met);
}

int quota_view_has(const quota_view_t *qt, const char *key) {
    if (!qt->cap) return 0;
    return find_slot(&qt->seed, qt->slots, qt->cap, key, strlen(key))->qs != NULL;
}

void quota_view_foreach(const quota_view_t *qt, void (*fn)(const Ispeed__V1__QuotaStatus *qs, void *ctx), void *ctx) {
    for (size_t i = 0; i < qt->cap; i++)
        if (qt->slots[i].qs && matches(&qt->filter, qt->slots[i].qs)) fn(qt->slots[i].qs, ctx);
}

int quota_view_rows(const quota_view_t *qt, Ispeed__V1__QuotaStatus ***out, size_t *nout) {
    size_t n = 0, cap = quota_view_count(qt);
    Ispeed__V1__QuotaStatus **rows = calloc(cap ? cap : 1, sizeof *rows);
    if (!rows) return -1;
    for (size_t i = 0; i < qt->cap; i++)
        if (qt->slots[i].qs && matches(&qt->filter, qt->slots[i].qs)) rows[n++] = qt->slots[i].qs;
    sort_filter = &qt->filter;
    if (n > 1) qsort(rows, n, sizeof *rows, by_behind);
    *out = rows;
    *nout = n;
    return 0;
}

double quota_view_expected_now(const quota_view_t *qt, const Ispeed__V1__QuotaStatus *qs) {
    return expected_now(&qt->filter, qs);
}

void quota_view_set_now(quota_view_t *qt, int64_t now_ms) {
    qt->filter.now_ms = now_ms;
}

int quota_view_print(const quota_view_t *qt, enum quota_format fmt, const char *title, FILE *out) {
    Ispeed__V1__QuotaStatus **rows;
    size_t n;
    if (quota_view_rows(qt, &rows, &n) < 0) return -1;
    switch (fmt) {
    case QUOTA_FORMAT_CSV: print_csv(&qt->filter, rows, n, out); break;
    case QUOTA_FORMAT_JSON: print_json(&qt->filter, rows, n, out); break;
    default: print_table(&qt->filter, rows, n, title, out); break;
    }
    free(rows);
    return 0;
}
