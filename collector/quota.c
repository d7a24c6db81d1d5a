/* Counters live in one array per month: registry_size() units x 2 classes,
 * indexed by the unit's registry index, so counting a sample is three array
 * increments and no lookups beyond the month. */
#include "quota.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

#include "distinct.h"
#include "sketch.h"
#include "hashmap.h"
#include "vntime.h"

#define DAY_MS 86400000LL

/* Operator counts of one counter: 60 bytes, allocated on its first counted
 * sample, so the nunits x 2 cells of a month that see nothing cost only the
 * pointer. Names are indices into the table's interned names (a country
 * has a few dozen operators; 21,600 counters each holding eight 33-byte
 * names took 9 MiB). Slots are taken in arrival order and never given
 * back: a restart restores them from the checkpoint, so the replay names
 * the same ones. 32-bit counts: a unit's month is far below 2^32 samples. */
struct opcounts {
    uint8_t n;
    uint16_t name[QUOTA_OPERATORS_NAMED];
    uint32_t count[QUOTA_OPERATORS_NAMED];
    uint32_t other, unknown;
};

/* Distinct operator names a collector keeps; past it a new name counts as
 * "other" (free text from volunteers must not grow memory without end). */
#define OPNAMES_MAX 4096

struct cell {
    uint64_t count, late, count_5g, unattested;
    sketch_t *sk; /* medians; NULL until the first figure */
    struct opcounts *ops;
    distinct_t *agents; /* NULL until the first counted sample names one */
    int64_t published_wall_ms; /* wall clock of the last update published (coalescing) */
    uint8_t alerted; /* last state alerted; 0 = never, read as ON_TRACK (the implicit start) */
    uint8_t alerted_read; /* alerted was read from the alerts topic (not raised here, not restored) */
    uint8_t dirty;
};

struct month {
    char name[8];
    int64_t start, end;
    struct cell *cells; /* nunits * 2 */
};

struct dirty_ref {
    struct month *m;
    size_t cell;
};

struct quota_counts {
    const registry_t *reg;
    quota_config cfg;
    size_t nunits;
    struct month **months;
    size_t nmonths, capmonths;
    struct dirty_ref *dirty;
    size_t ndirty, capdirty;
    /* For each province (by registry index): the indices of its units, itself
     * included. NULL for other units. */
    size_t **prov_units;
    size_t *prov_len;
    int alerting;
    quota_alert_fn alert_fn;
    void *alert_ctx;
    uint32_t *unit_target; /* nunits * 2, 0 = unset; NULL until one is set */
    /* Interned operator names: the spelling first seen, by lower-case key. */
    char (*opnames)[QUOTA_OPERATOR_NAME_MAX + 1];
    size_t nopnames, capopnames;
    hashmap_t *opindex; /* lower-case name -> index + 1 */
};

/* The usual spelling of Vietnam's ISPs, so "VIETTEL" and "viettel " are
 * shown as the brand writes itself, whichever spelling came first. */
static const char *const known_operators[] = {"VNPT",      "Viettel",      "FPT Telecom", "CMC Telecom", "MobiFone",
                                              "VinaPhone", "Vietnamobile", "Gmobile",     "Wintel",      "SCTV",
                                              "NetNam"};

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n) {
    size_t len;
    unsigned min;
    unsigned cp;
    if (s[0] < 0x80) return 1;
    if ((s[0] & 0xe0) == 0xc0) len = 2, min = 0x80, cp = s[0] & 0x1f;
    else if ((s[0] & 0xf0) == 0xe0) len = 3, min = 0x800, cp = s[0] & 0x0f;
    else if ((s[0] & 0xf8) == 0xf0) len = 4, min = 0x10000, cp = s[0] & 0x07;
    else return 0;
    if (len > n) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return len;
}

void quota_operator_normalise(const char *in, char out[QUOTA_OPERATOR_NAME_MAX + 1]) {
    const unsigned char *s = (const unsigned char *)(in ? in : "");
    size_t n = strlen((const char *)s), o = 0;
    int space = 0; /* a blank is pending: written only before the next character */
    for (size_t i = 0; i < n;) {
        /* Control characters count as blanks: a name is one printable line
         * in CSV, JSON and on a terminal. */
        if (s[i] <= 0x20 || s[i] == 0x7f) {
            space = o > 0;
            i++;
            continue;
        }
        size_t len = utf8_len(s + i, n - i);
        const unsigned char *ch = s + i;
        size_t adv = len;
        /* proto3 strings must be UTF-8: an invalid byte becomes '?'. */
        if (len == 0) ch = (const unsigned char *)"?", len = adv = 1;
        if (o + (size_t)space + len > QUOTA_OPERATOR_NAME_MAX) break; /* cut on a character boundary */
        if (space) out[o++] = ' ';
        space = 0;
        memcpy(out + o, ch, len);
        o += len;
        i += adv;
    }
    out[o] = '\0';
    if (o == 0 || strcasecmp(out, QUOTA_OPERATOR_UNKNOWN) == 0) {
        strcpy(out, QUOTA_OPERATOR_UNKNOWN);
        return;
    }
    if (strcasecmp(out, QUOTA_OPERATOR_OTHER) == 0) {
        strcpy(out, QUOTA_OPERATOR_OTHER);
        return;
    }
    for (size_t k = 0; k < sizeof known_operators / sizeof known_operators[0]; k++)
        if (strcasecmp(out, known_operators[k]) == 0) {
            strcpy(out, known_operators[k]);
            return;
        }
}

/* The index of a normalised name, interned on first sight; -1 when the table
 * is full or out of memory (the caller counts it as "other"). */
static int opname_index(quota_counts_t *qt, const char *name) {
    char key[QUOTA_OPERATOR_NAME_MAX + 1];
    size_t i;
    for (i = 0; name[i] && i < QUOTA_OPERATOR_NAME_MAX; i++) key[i] = (char)tolower((unsigned char)name[i]);
    key[i] = '\0';
    uintptr_t id = (uintptr_t)hashmap_get(qt->opindex, key);
    if (id) return (int)(id - 1);
    if (qt->nopnames == OPNAMES_MAX) return -1;
    if (qt->nopnames == qt->capopnames) {
        size_t cap = qt->capopnames ? qt->capopnames * 2 : 16;
        void *nn = realloc(qt->opnames, cap * sizeof qt->opnames[0]);
        if (!nn) return -1;
        qt->opnames = nn;
        qt->capopnames = cap;
    }
    if (hashmap_put(qt->opindex, key, (void *)(uintptr_t)(qt->nopnames + 1), NULL) < 0) return -1;
    snprintf(qt->opnames[qt->nopnames], sizeof qt->opnames[0], "%s", name);
    return (int)qt->nopnames++;
}

static uint32_t add_u32(uint32_t a, uint64_t b) { return b > UINT32_MAX - a ? UINT32_MAX : (uint32_t)(a + b); }

/* Adds n to the bucket of the normalised name: its named slot, a free slot,
 * or "other" once all QUOTA_OPERATORS_NAMED are taken. */
static void ops_add(quota_counts_t *qt, struct opcounts *ops, const char *name, uint64_t n) {
    if (strcmp(name, QUOTA_OPERATOR_UNKNOWN) == 0) {
        ops->unknown = add_u32(ops->unknown, n);
        return;
    }
    int id = strcmp(name, QUOTA_OPERATOR_OTHER) == 0 ? -1 : opname_index(qt, name);
    if (id < 0) {
        ops->other = add_u32(ops->other, n);
        return;
    }
    for (size_t i = 0; i < ops->n; i++)
        if (ops->name[i] == (uint16_t)id) {
            ops->count[i] = add_u32(ops->count[i], n);
            return;
        }
    if (ops->n == QUOTA_OPERATORS_NAMED) {
        ops->other = add_u32(ops->other, n);
        return;
    }
    ops->name[ops->n] = (uint16_t)id;
    ops->count[ops->n++] = add_u32(0, n);
}

static int by_count_then_name(const void *a, const void *b) {
    const quota_operator_count *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* The published order: named by count, then "other", "unknown"; zeros out. */
static size_t ops_list(const quota_counts_t *qt, const struct opcounts *ops, quota_operator_count *out) {
    size_t n = 0;
    if (!ops) return 0;
    for (size_t i = 0; i < ops->n; i++)
        if (ops->count[i]) {
            snprintf(out[n].name, sizeof out[n].name, "%s", qt->opnames[ops->name[i]]);
            out[n++].count = ops->count[i];
        }
    if (n > 1) qsort(out, n, sizeof *out, by_count_then_name);
    if (ops->other) {
        snprintf(out[n].name, sizeof out[n].name, "%s", QUOTA_OPERATOR_OTHER);
        out[n++].count = ops->other;
    }
    if (ops->unknown) {
        snprintf(out[n].name, sizeof out[n].name, "%s", QUOTA_OPERATOR_UNKNOWN);
        out[n++].count = ops->unknown;
    }
    return n;
}

void quota_config_default(quota_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->target = 300;
    cfg->behind_share = 0.8;
    cfg->pace_start_day = 3;
}

enum quota_state quota_pace(const quota_config *cfg, uint64_t count, uint32_t target, int64_t now_ms,
                            int64_t month_start, int64_t month_end, double *expected, double *projection) {
    double elapsed;
    int64_t day = 0; /* day of the month, 1-based; 0 before the month */
    if (now_ms < month_start) {
        elapsed = 0.0;
    } else if (now_ms >= month_end) {
        elapsed = 1.0;
        day = (month_end - month_start) / DAY_MS;
    } else {
        elapsed = (double)(now_ms - month_start) / (double)(month_end - month_start);
        day = (now_ms - month_start) / DAY_MS + 1;
    }
    double exp = (double)target * elapsed;
    if (expected) *expected = exp;
    if (projection) *projection = elapsed > 0.0 ? (double)count / elapsed : (double)count;
    if (count >= target) return QUOTA_MET;
    if (day >= cfg->pace_start_day && (double)count < cfg->behind_share * exp) return QUOTA_BEHIND;
    return QUOTA_ON_TRACK;
}

quota_counts_t *quota_counts_new(const registry_t *reg, const quota_config *cfg, char *err, size_t errsz) {
    quota_counts_t *qt = calloc(1, sizeof *qt);
    if (!qt) goto oom;
    qt->reg = reg;
    qt->cfg = *cfg;
    qt->nunits = registry_size(reg);
    if (!(qt->opindex = hashmap_new(NULL))) goto oom;
    qt->prov_units = calloc(qt->nunits, sizeof *qt->prov_units);
    qt->prov_len = calloc(qt->nunits, sizeof *qt->prov_len);
    if (!qt->prov_units || !qt->prov_len) goto oom;
    for (size_t i = 0; i < qt->nunits; i++) qt->prov_len[registry_unit_at(reg, i)->province->index]++;
    for (size_t i = 0; i < qt->nunits; i++) {
        const registry_unit *u = registry_unit_at(reg, i);
        if (u->level != REGISTRY_PROVINCE) continue;
        if (!(qt->prov_units[i] = malloc(qt->prov_len[i] * sizeof(size_t)))) goto oom;
        qt->prov_len[i] = 0;
    }
    for (size_t i = 0; i < qt->nunits; i++) {
        size_t p = registry_unit_at(reg, i)->province->index;
        qt->prov_units[p][qt->prov_len[p]++] = i;
    }
    return qt;
oom:
    snprintf(err, errsz, "out of memory building the quota table");
    quota_counts_free(qt);
    return NULL;
}

void quota_counts_free(quota_counts_t *qt) {
    if (!qt) return;
    for (size_t i = 0; i < qt->nmonths; i++) {
        for (size_t k = 0; k < qt->nunits * 2; k++) {
            sketch_free(qt->months[i]->cells[k].sk);
            free(qt->months[i]->cells[k].ops);
            distinct_free(qt->months[i]->cells[k].agents);
        }
        free(qt->months[i]->cells);
        free(qt->months[i]);
    }
    free(qt->unit_target);
    free(qt->opnames);
    hashmap_free(qt->opindex, NULL);
    free(qt->months);
    free(qt->dirty);
    if (qt->prov_units)
        for (size_t i = 0; i < qt->nunits; i++) free(qt->prov_units[i]);
    free(qt->prov_units);
    free(qt->prov_len);
    free(qt);
}

void quota_set_alerts(quota_counts_t *qt, quota_alert_fn fn, void *ctx) {
    qt->alert_fn = fn;
    qt->alert_ctx = ctx;
}

void quota_set_alerting(quota_counts_t *qt, int on) { qt->alerting = on; }

static struct month *month_get(quota_counts_t *qt, const char *name) {
    for (size_t i = 0; i < qt->nmonths; i++)
        if (strcmp(qt->months[i]->name, name) == 0) return qt->months[i];
    int64_t start, end;
    if (vntime_month_bounds(name, &start, &end) < 0) return NULL;
    if (qt->nmonths == qt->capmonths) {
        size_t cap = qt->capmonths ? qt->capmonths * 2 : 8;
        struct month **nm = realloc(qt->months, cap * sizeof *nm);
        if (!nm) return NULL;
        qt->months = nm;
        qt->capmonths = cap;
    }
    struct month *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    if (!(m->cells = calloc(qt->nunits * 2, sizeof *m->cells))) {
        free(m);
        return NULL;
    }
    memcpy(m->name, name, 7);
    m->start = start;
    m->end = end;
    qt->months[qt->nmonths++] = m;
    return m;
}

static size_t cell_index(size_t unit, enum quota_network net) { return unit * 2 + (net == QUOTA_MOBILE); }

static int mark_dirty(quota_counts_t *qt, struct month *m, size_t ci) {
    if (m->cells[ci].dirty) return 0;
    if (qt->ndirty == qt->capdirty) {
        size_t cap = qt->capdirty ? qt->capdirty * 2 : 256;
        struct dirty_ref *nd = realloc(qt->dirty, cap * sizeof *nd);
        if (!nd) return -1;
        qt->dirty = nd;
        qt->capdirty = cap;
    }
    qt->dirty[qt->ndirty++] = (struct dirty_ref){m, ci};
    m->cells[ci].dirty = 1;
    return 0;
}

static uint32_t target_for(const quota_counts_t *qt, const registry_unit *u, enum quota_network net) {
    uint32_t t;
    if (qt->unit_target && (t = qt->unit_target[cell_index(u->index, net)])) return t;
    int lv = u->level >= 1 && u->level <= 3 ? (int)u->level : 0;
    if ((t = qt->cfg.level_target[lv][net])) return t;
    if ((t = qt->cfg.level_target[lv][0])) return t;
    if ((t = qt->cfg.level_target[0][net])) return t;
    return qt->cfg.target;
}

/* with_ops: the operator list too (a sort), which only publishing and
 * quota_get need, not the pace evaluations run for every sample. */
static void fill_status(const quota_counts_t *qt, const struct month *m, size_t ci, int64_t now_ms, int with_ops,
                        quota_status *st) {
    const struct cell *c = &m->cells[ci];
    memset(st, 0, sizeof *st);
    st->unit = registry_unit_at(qt->reg, ci / 2);
    memcpy(st->month, m->name, 8);
    st->network = (ci & 1) ? QUOTA_MOBILE : QUOTA_FIXED;
    st->count = c->count;
    st->late_count = c->late;
    st->count_5g = c->count_5g;
    st->unattested_count = c->unattested;
    st->target = target_for(qt, st->unit, st->network);
    st->state = quota_pace(&qt->cfg, c->count, st->target, now_ms, m->start, m->end, &st->expected,
                           &st->projection);
    st->updated_ms = now_ms;
    if (c->sk) {
        st->median_download_bps = (uint64_t)sketch_median(c->sk, SKETCH_DOWNLOAD);
        st->median_upload_bps = (uint64_t)sketch_median(c->sk, SKETCH_UPLOAD);
        st->median_latency_ms = sketch_median(c->sk, SKETCH_LATENCY);
    }
    if (with_ops) st->n_operators = ops_list(qt, c->ops, st->operators);
    st->agents = distinct_count(c->agents);
    demand_compute(c->count, st->target, now_ms, m->start, m->end, &st->demand);
}

/* Alerts when the state differs from the last one alerted. Only called for
 * the current month, with alerting on. */
static int evaluate_cell(quota_counts_t *qt, struct month *m, size_t ci, int64_t now_ms) {
    quota_alert a;
    fill_status(qt, m, ci, now_ms, 0, &a.status);
    struct cell *c = &m->cells[ci];
    enum quota_state last = c->alerted ? (enum quota_state)c->alerted : QUOTA_ON_TRACK;
    if (a.status.state == last) return 0;
    a.from = last;
    c->alerted = (uint8_t)a.status.state;
    c->alerted_read = 0;
    mark_dirty(qt, m, ci); /* the quota topic shows the new state too */
    if (qt->alert_fn) qt->alert_fn(&a, qt->alert_ctx);
    return 1;
}

int quota_add_unattested(quota_counts_t *qt, const registry_unit *commune, const char *month,
                         enum quota_network net) {
    struct month *m = month_get(qt, month);
    if (!m) return -1;
    for (const registry_unit *u = commune; u; u = u->parent) {
        size_t ci = cell_index(u->index, net);
        m->cells[ci].unattested++;
        if (mark_dirty(qt, m, ci) < 0) return -1;
    }
    return 0;
}

int quota_add(quota_counts_t *qt, const registry_unit *commune, const char *month, enum quota_network net,
              int is_5g, int late, const char *op, int64_t now_ms) {
    struct month *m = month_get(qt, month);
    if (!m) return -1;
    char opname[QUOTA_OPERATOR_NAME_MAX + 1];
    quota_operator_normalise(op, opname);
    int live = 0;
    if (qt->alerting && !late) { /* the month's name is formatted only when it can matter */
        char current[8];
        vntime_month(now_ms, current);
        live = strcmp(current, month) == 0;
    }
    for (const registry_unit *u = commune; u; u = u->parent) {
        size_t ci = cell_index(u->index, net);
        struct cell *c = &m->cells[ci];
        if (late) {
            c->late++;
        } else {
            /* Allocated before counting, so an out-of-memory leaves the
             * operators' sum equal to count. */
            if (!c->ops && !(c->ops = calloc(1, sizeof *c->ops))) return -1;
            c->count++;
            if (is_5g) c->count_5g++;
            ops_add(qt, c->ops, opname, 1);
        }
        if (mark_dirty(qt, m, ci) < 0) return -1;
        if (live) evaluate_cell(qt, m, ci, now_ms);
    }
    return 0;
}

int quota_add_agent(quota_counts_t *qt, const registry_unit *commune, const char *month, enum quota_network net,
                    const char *agent_id) {
    struct month *m = month_get(qt, month);
    if (!m) return -1;
    uint64_t h = distinct_hash(agent_id ? agent_id : "");
    for (const registry_unit *u = commune; u; u = u->parent)
        if (distinct_add_hash(&m->cells[cell_index(u->index, net)].agents, h) < 0) return -1;
    return 0;
}

size_t quota_evaluate(quota_counts_t *qt, int64_t now_ms, quota_owned_fn owned, void *ctx) {
    if (!qt->alerting) return 0;
    char current[8];
    vntime_month(now_ms, current);
    struct month *m = month_get(qt, current);
    if (!m) return 0;
    size_t alerts = 0;
    for (size_t p = 0; p < qt->nunits; p++) {
        if (!qt->prov_units[p]) continue;
        if (owned && !owned(registry_unit_at(qt->reg, p), ctx)) continue;
        for (size_t k = 0; k < qt->prov_len[p]; k++) {
            size_t u = qt->prov_units[p][k];
            alerts += evaluate_cell(qt, m, cell_index(u, QUOTA_FIXED), now_ms);
            alerts += evaluate_cell(qt, m, cell_index(u, QUOTA_MOBILE), now_ms);
        }
    }
    return alerts;
}

/* Publishes the dirty counters last published at least gap_ms ago (wall
 * clock: tests fix now_ms, and a standing clock must not stop updates) and
 * keeps the others dirty for a later call. */
static size_t flush_dirty(quota_counts_t *qt, int64_t now_ms, int64_t wall_ms, int64_t gap_ms, size_t limit,
                          quota_status_fn fn, void *ctx) {
    size_t n = 0, kept = 0;
    for (size_t i = 0; i < qt->ndirty; i++) {
        struct dirty_ref d = qt->dirty[i];
        struct cell *c = &d.m->cells[d.cell];
        if (!c->dirty) continue; /* reset since it was marked */
        if (n == limit || (gap_ms > 0 && c->published_wall_ms && wall_ms - c->published_wall_ms < gap_ms)) {
            qt->dirty[kept++] = d;
            continue;
        }
        c->dirty = 0;
        c->published_wall_ms = wall_ms;
        quota_status st;
        fill_status(qt, d.m, d.cell, now_ms, 1, &st);
        if (fn) fn(&st, ctx);
        n++;
    }
    qt->ndirty = kept;
    return n;
}

size_t quota_flush(quota_counts_t *qt, int64_t now_ms, quota_status_fn fn, void *ctx) {
    return flush_dirty(qt, now_ms, vntime_now_ms(), 0, SIZE_MAX, fn, ctx);
}

size_t quota_flush_due(quota_counts_t *qt, int64_t now_ms, int64_t wall_ms, int64_t gap_ms, size_t limit,
                       quota_status_fn fn, void *ctx) {
    return flush_dirty(qt, now_ms, wall_ms, gap_ms, limit, fn, ctx);
}

size_t quota_dirty_count(const quota_counts_t *qt) {
    size_t n = 0;
    for (size_t i = 0; i < qt->ndirty; i++) n += qt->dirty[i].m->cells[qt->dirty[i].cell].dirty;
    return n;
}

void quota_reset_province(quota_counts_t *qt, const registry_unit *province) {
    size_t p = province->index;
    if (!qt->prov_units[p]) return;
    for (size_t i = 0; i < qt->nmonths; i++)
        for (size_t k = 0; k < qt->prov_len[p]; k++) {
            struct cell *c = &qt->months[i]->cells[cell_index(qt->prov_units[p][k], QUOTA_FIXED)];
            for (int n = 0; n < 2; n++) {
                /* The last state alerted stays: it is what the alerts topic
                 * says, whoever counts the province, and it is read only
                 * forward. */
                c[n].count = c[n].late = c[n].count_5g = 0;
                c[n].dirty = 0;
                sketch_free(c[n].sk);
                c[n].sk = NULL;
                free(c[n].ops);
                c[n].ops = NULL;
                distinct_free(c[n].agents);
                c[n].agents = NULL;
            }
        }
}

int quota_seed_state(quota_counts_t *qt, const registry_unit *unit, const char *month, enum quota_network net,
                     enum quota_state state) {
    struct month *m = month_get(qt, month);
    if (!m) return -1;
    size_t ci = cell_index(unit->index, net);
    m->cells[ci].alerted_read = 1;
    if (m->cells[ci].alerted == (uint8_t)state) return 0;
    m->cells[ci].alerted = (uint8_t)state;
    return 1;
}

int quota_touch(quota_counts_t *qt, const registry_unit *unit, const char *month, enum quota_network net) {
    struct month *m = month_get(qt, month);
    if (!m) return -1;
    return mark_dirty(qt, m, cell_index(unit->index, net));
}

int quota_get(quota_counts_t *qt, const registry_unit *unit, const char *month, enum quota_network net,
              int64_t now_ms, quota_status *out) {
    struct month *m = month_get(qt, month);
    if (!m) return -1;
    fill_status(qt, m, cell_index(unit->index, net), now_ms, 1, out);
    return 0;
}

int quota_set_unit_target(quota_counts_t *qt, const registry_unit *unit, enum quota_network net, uint32_t target) {
    if (!qt->unit_target && !(qt->unit_target = calloc(qt->nunits * 2, sizeof *qt->unit_target))) return -1;
    if (net != QUOTA_MOBILE) qt->unit_target[cell_index(unit->index, QUOTA_FIXED)] = target;
    if (net != QUOTA_FIXED) qt->unit_target[cell_index(unit->index, QUOTA_MOBILE)] = target;
    return 0;
}

uint32_t quota_target(const quota_counts_t *qt, const registry_unit *unit, enum quota_network net) {
    return target_for(qt, unit, net);
}

int quota_observe(quota_counts_t *qt, const registry_unit *commune, const char *month, enum quota_network net,
                  uint64_t download_bps, uint64_t upload_bps, double latency_ms) {
    struct month *m = month_get(qt, month);
    if (!m) return -1;
    for (const registry_unit *u = commune; u; u = u->parent) {
        struct cell *c = &m->cells[cell_index(u->index, net)];
        if (sketch_add(&c->sk, SKETCH_DOWNLOAD, (double)download_bps) < 0 ||
            sketch_add(&c->sk, SKETCH_UPLOAD, (double)upload_bps) < 0 ||
            sketch_add(&c->sk, SKETCH_LATENCY, latency_ms) < 0)
            return -1;
    }
    return 0;
}

void quota_foreach_province(quota_counts_t *qt, const registry_unit *province, quota_cell_fn fn, void *ctx) {
    size_t p = province->index;
    uint8_t buf[SKETCH_ENCODED_MAX];
    uint8_t abuf[DISTINCT_ENCODED_MAX];
    quota_operator_count ops[QUOTA_OPERATORS_MAX];
    if (!qt->prov_units[p]) return;
    for (size_t i = 0; i < qt->nmonths; i++) {
        struct month *m = qt->months[i];
        for (size_t k = 0; k < qt->prov_len[p]; k++)
            for (int n = 0; n < 2; n++) {
                size_t ci = qt->prov_units[p][k] * 2 + (size_t)n;
                const struct cell *c = &m->cells[ci];
                if (!c->count && !c->late && !c->unattested && !c->alerted && !c->sk && !c->agents) continue;
                quota_cell_state st = {c->count, c->late, c->count_5g, (enum quota_state)c->alerted, buf, 0, ops, 0,
                                       abuf, 0, c->unattested};
                if (c->sk) st.sketch_len = sketch_encode(c->sk, buf);
                st.agents_len = distinct_encode(c->agents, abuf);
                st.n_operators = ops_list(qt, c->ops, ops);
                if (fn(registry_unit_at(qt->reg, ci / 2), m->name, n ? QUOTA_MOBILE : QUOTA_FIXED, &st, ctx)) return;
            }
    }
}

int quota_restore(quota_counts_t *qt, const registry_unit *unit, const char *month, enum quota_network net,
                  const quota_cell_state *st) {
    struct month *m = month_get(qt, month);
    if (!m) return -1;
    size_t ci = cell_index(unit->index, net);
    struct cell *c = &m->cells[ci];
    struct opcounts *ops = NULL;
    uint64_t opsum = 0;
    if (st->count) {
        if (!(ops = calloc(1, sizeof *ops))) return -1;
        for (size_t i = 0; i < st->n_operators; i++) {
            char name[QUOTA_OPERATOR_NAME_MAX + 1];
            /* Normalised again: the checkpoint may come from a version with
             * other rules or a larger bound; what no longer fits is "other". */
            quota_operator_normalise(st->operators[i].name, name);
            if (st->operators[i].count > st->count - opsum) { /* the sum would pass count: damaged */
                free(ops);
                return -1;
            }
            opsum += st->operators[i].count;
            ops_add(qt, ops, name, st->operators[i].count);
        }
        /* Samples counted before operators were (an older checkpoint). */
        ops->unknown += st->count - opsum;
    } else if (st->n_operators) {
        for (size_t i = 0; i < st->n_operators; i++)
            if (st->operators[i].count) return -1; /* operators without a count: damaged */
    }
    distinct_t *agents = NULL;
    if (st->agents_len && distinct_decode(&agents, st->agents, st->agents_len) < 0) {
        free(ops);
        return -1;
    }
    if (sketch_decode(&c->sk, st->sketch, st->sketch_len) < 0) {
        distinct_free(agents);
        free(ops);
        return -1;
    }
    distinct_free(c->agents);
    c->agents = agents;
    free(c->ops);
    c->ops = ops;
    c->count = st->count;
    c->late = st->late_count;
    c->count_5g = st->count_5g;
    c->unattested = st->unattested_count;
    /* A state read from the alerts topic is never older than a checkpoint's:
     * the reader goes on from there, and a checkpoint can lag the alert it
     * remembers (its owner died between the two commits). Replaced by the
     * checkpoint's, the alert would be raised a second time. */
    if (st->alerted >= QUOTA_ON_TRACK && st->alerted <= QUOTA_MET && !c->alerted_read)
        c->alerted = (uint8_t)st->alerted;
    return mark_dirty(qt, m, ci);
}

size_t quota_behind(quota_counts_t *qt, const registry_unit *province, int64_t now_ms, quota_status_fn fn, void *ctx) {
    size_t p = province->index, n = 0;
    char current[8];
    vntime_month(now_ms, current);
    struct month *m = month_get(qt, current);
    if (!m || !qt->prov_units[p]) return 0;
    for (size_t k = 0; k < qt->prov_len[p]; k++)
        for (int net = 0; net < 2; net++) {
            quota_status st;
            fill_status(qt, m, qt->prov_units[p][k] * 2 + (size_t)net, now_ms, 0, &st);
            if (st.state != QUOTA_BEHIND) continue;
            if (fn) fn(&st, ctx);
            n++;
        }
    return n;
}
