/* The report as a terminal table and as CSV. */
#include "report_print.h"

#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "textwidth.h"
#include "vntime.h"

#define REPORT_WIDTH 100 /* the table fits a 100-column terminal */

void report_title(const report_t *r, const report_style *st, char *out, size_t outsz) {
    const report_words *w = report_words_for(st->lang);
    int y = atoi(report_month(r)), m = atoi(report_month(r) + 5);
    snprintf(out, outsz, w->title, m, y);
}

void report_target_line(const report_t *r, const report_style *st, char *out, size_t outsz) {
    const report_words *w = report_words_for(st->lang);
    snprintf(out, outsz, w->target, st->target, report_has_districts(r) ? w->levels3 : w->levels2);
}

void report_updated_line(const report_t *r, const report_style *st, char *out, size_t outsz) {
    char when[20];
    if (!report_updated_ms(r)) {
        snprintf(out, outsz, "%s", "");
        return;
    }
    vntime_format(report_updated_ms(r), when);
    when[16] = '\0'; /* minutes are enough */
    snprintf(out, outsz, report_words_for(st->lang)->updated, when);
}

void report_summary_line(const report_t *r, const report_style *st, int net, char *out, size_t outsz) {
    const report_words *w = report_words_for(st->lang);
    const report_figures *f = report_national(r, net);
    char p[32], d[32], c[32];
    report_share(p, sizeof p, st->lang, f->provinces_met, f->provinces);
    report_share(d, sizeof d, st->lang, f->districts - f->districts_met, f->districts);
    report_share(c, sizeof c, st->lang, f->communes - f->communes_met, f->communes);
    if (report_has_districts(r)) snprintf(out, outsz, w->summary3, w->net_cap[net], p, d, c);
    else snprintf(out, outsz, w->summary2, w->net_cap[net], p, c);
}

int report_unit_behind(const report_unit *u) {
    for (int n = 0; n < REPORT_NETS; n++)
        if (!report_unit_met(u, n)) return 1;
    return 0;
}

/* ---- table ---- */

/* Prose lines broken at spaces to fit the table's width. */
static void put_wrapped(FILE *out, const char *text) {
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", text);
    char *line = buf;
    while (textwidth(line) > REPORT_WIDTH) {
        char *cut = NULL, save;
        for (char *p = line; *p; p++) {
            if (*p != ' ') continue;
            save = *p;
            *p = '\0';
            size_t w = textwidth(line);
            *p = save;
            if (w > REPORT_WIDTH) break;
            cut = p;
        }
        if (!cut) break; /* one unbreakable word: leave it long */
        *cut = '\0';
        fprintf(out, "%s\n", line);
        line = cut + 1;
    }
    fprintf(out, "%s\n", line);
}

#define MAXCOL 10
#define CELL 96

struct table {
    size_t ncol;
    size_t w[MAXCOL];
    int left[MAXCOL];
    int shrink; /* the column that gives way to fit the width, -1 none */
};

static void widen(struct table *t, char cell[][CELL]) {
    for (size_t c = 0; c < t->ncol; c++) {
        size_t cw = textwidth(cell[c]);
        if (cw > t->w[c]) t->w[c] = cw;
    }
}

static void fit(struct table *t) {
    size_t total = 0;
    for (size_t c = 0; c < t->ncol; c++) total += t->w[c] + (c ? 2 : 0);
    if (t->shrink >= 0 && total > REPORT_WIDTH) {
        size_t excess = total - REPORT_WIDTH, *w = &t->w[t->shrink];
        *w = *w > excess + 10 ? *w - excess : 10;
    }
}

static void row(FILE *out, const struct table *t, char cell[][CELL], const char *indent) {
    char line[1024];
    size_t k = 0;
    /* Built whole, then trailing blanks cut: golden files stay clean. */
    FILE *mem = fmemopen(line, sizeof line, "w");
    if (!mem) return;
    fputs(indent, mem);
    for (size_t c = 0; c < t->ncol; c++) {
        if (c) fputs("  ", mem);
        textwidth_fput(mem, cell[c], t->w[c], t->left[c]);
    }
    fputc('\0', mem);
    fclose(mem);
    line[sizeof line - 1] = '\0';
    k = strlen(line);
    while (k && line[k - 1] == ' ') line[--k] = '\0';
    fprintf(out, "%s\n", line);
}

/* The figures of one row: samples, provinces (or, for a province's own row,
 * whether it met its target), districts, communes met, distinct agents and
 * communes met with one agent. */
static void figures_cells(const report_t *r, const report_style *st, const report_figures *f, int province_row,
                          char *samples, char *prov, char *dist, char *comm, char *agents, char *one) {
    const report_words *w = report_words_for(st->lang);
    report_number(samples, CELL, st->lang, f->samples);
    if (province_row) snprintf(prov, CELL, "%s", f->provinces_met ? w->met : w->not_met);
    else report_ratio(prov, CELL, st->lang, f->provinces_met, f->provinces);
    if (report_has_districts(r)) report_ratio(dist, CELL, st->lang, f->districts_met, f->districts);
    else dist[0] = '\0';
    report_ratio(comm, CELL, st->lang, f->communes_met, f->communes);
    report_agents(agents, CELL, st->lang, f->agents, f->samples);
    report_number(one, CELL, st->lang, f->communes_met_one_agent);
}

/* Lays a row's figures into cells from column first on, without the
 * districts' column on a two-level registry. */
static void figures_row(const report_t *r, const report_style *st, const report_figures *f, int province_row,
                        char cell[][CELL], size_t first) {
    char c[6][CELL];
    size_t k = first;
    figures_cells(r, st, f, province_row, c[0], c[1], c[2], c[3], c[4], c[5]);
    for (size_t i = 0; i < 6; i++)
        if (i != 2 || report_has_districts(r)) memcpy(cell[k++], c[i], CELL);
}

static size_t figures_head(const report_t *r, const report_words *w, int province_rows, char cell[][CELL],
                           size_t first) {
    size_t k = first;
    snprintf(cell[k++], CELL, "%s", w->col_samples);
    snprintf(cell[k++], CELL, "%s", province_rows ? w->col_target : w->col_prov_met);
    if (report_has_districts(r)) snprintf(cell[k++], CELL, "%s", w->col_dist_met);
    snprintf(cell[k++], CELL, "%s", w->col_comm_met);
    snprintf(cell[k++], CELL, "%s", w->col_agents);
    snprintf(cell[k++], CELL, "%s", w->col_met_one);
    return k;
}

static void print_national(const report_t *r, const report_style *st, FILE *out) {
    const report_words *w = report_words_for(st->lang);
    struct table t = {.left = {1}, .shrink = -1};
    char cell[MAXCOL][CELL];
    char line[512];
    fprintf(out, "%s\n", w->nation);
    snprintf(cell[0], CELL, "%s", w->col_network);
    t.ncol = figures_head(r, w, 0, cell, 1);
    widen(&t, cell);
    char rows[REPORT_NETS][MAXCOL][CELL];
    for (int n = 0; n < REPORT_NETS; n++) {
        snprintf(rows[n][0], CELL, "%s", w->net[n]);
        figures_row(r, st, report_national(r, n), 0, rows[n], 1);
        widen(&t, rows[n]);
    }
    row(out, &t, cell, "");
    for (int n = 0; n < REPORT_NETS; n++) row(out, &t, rows[n], "");
    for (int n = 0; n < REPORT_NETS; n++) {
        report_summary_line(r, st, n, line, sizeof line);
        put_wrapped(out, line);
    }
    put_wrapped(out, w->agents_note);
    fputc('\n', out);
}

/* A province's rows name the class shortly ("Fixed"), so that the agents'
 * columns fit 100 columns beside the province's name. */
static void province_cells(const report_t *r, const report_style *st, const report_province *p, int n,
                           char cell[][CELL]) {
    const report_words *w = report_words_for(st->lang);
    snprintf(cell[0], CELL, "%s", n == 0 ? p->unit->code : "");
    snprintf(cell[1], CELL, "%s", n == 0 ? p->unit->name : "");
    snprintf(cell[2], CELL, "%s", w->net_short[n]);
    figures_row(r, st, &p->fig[n], 1, cell, 3);
}

static void print_provinces(const report_t *r, const report_style *st, FILE *out) {
    const report_words *w = report_words_for(st->lang);
    struct table t = {.left = {1, 1, 1, 0, 1}, .shrink = 1};
    char cell[MAXCOL][CELL];
    fprintf(out, "%s\n", w->by_province);
    snprintf(cell[0], CELL, "%s", w->col_code);
    snprintf(cell[1], CELL, "%s", w->col_province);
    snprintf(cell[2], CELL, "%s", w->col_network);
    t.ncol = figures_head(r, w, 1, cell, 3);
    widen(&t, cell);
    char c2[MAXCOL][CELL];
    for (size_t i = 0; i < report_province_count(r); i++)
        for (int n = 0; n < REPORT_NETS; n++) {
            province_cells(r, st, report_province_at(r, i), n, c2);
            widen(&t, c2);
        }
    fit(&t);
    row(out, &t, cell, "");
    for (size_t i = 0; i < report_province_count(r); i++)
        for (int n = 0; n < REPORT_NETS; n++) {
            province_cells(r, st, report_province_at(r, i), n, c2);
            row(out, &t, c2, "");
        }
    if (!st->national) put_wrapped(out, w->agents_note); /* else under the national table */
    fputc('\n', out);
}

/* One row of the unattested section: code, name, then per class. */
static void unattested_cells(const report_style *st, const char *code, const char *name,
                             const uint64_t v[REPORT_NETS], char cell[][CELL]) {
    snprintf(cell[0], CELL, "%s", code);
    snprintf(cell[1], CELL, "%s", name);
    for (int n = 0; n < REPORT_NETS; n++) report_number(cell[2 + n], CELL, st->lang, v[n]);
}

/* Samples without a server's receipt, nationally and per province: a
 * section of their own rather than a column, so that the tables above keep
 * their columns and fit 100 columns, and so that nobody adds them to the
 * samples by reading across a row. Only when some unit has any. */
static void print_unattested(const report_t *r, const report_style *st, FILE *out) {
    const report_words *w = report_words_for(st->lang);
    struct table t = {.ncol = 2 + REPORT_NETS, .left = {1, 1}, .shrink = 1};
    char head[MAXCOL][CELL], cell[MAXCOL][CELL];
    uint64_t v[REPORT_NETS];
    if (!report_has_unattested(r)) return;
    put_wrapped(out, w->unattested);
    snprintf(head[0], CELL, "%s", w->col_code);
    snprintf(head[1], CELL, "%s", w->col_province);
    for (int n = 0; n < REPORT_NETS; n++) snprintf(head[2 + n], CELL, "%s", w->net_short[n]);
    widen(&t, head);
    /* Twice: the widths first, then the rows. */
    for (int pass = 0; pass < 2; pass++) {
        if (pass) {
            fit(&t);
            row(out, &t, head, "");
        }
        if (st->national) {
            for (int n = 0; n < REPORT_NETS; n++) v[n] = report_national(r, n)->unattested;
            unattested_cells(st, "", w->nation, v, cell);
            if (pass) row(out, &t, cell, "");
            else widen(&t, cell);
        }
        for (size_t i = 0; i < report_province_count(r); i++) {
            const report_province *p = report_province_at(r, i);
            for (int n = 0; n < REPORT_NETS; n++) v[n] = p->fig[n].unattested;
            unattested_cells(st, p->unit->code, p->unit->name, v, cell);
            if (pass) row(out, &t, cell, "");
            else widen(&t, cell);
        }
    }
    put_wrapped(out, w->unattested_note);
    fputc('\n', out);
}

/* Code, name, level, then per class the count against the target and the
 * distinct agents behind it. */
static void unit_cells(const report_t *r, const report_style *st, const report_unit *u, char cell[][CELL]) {
    const report_words *w = report_words_for(st->lang);
    (void)r;
    snprintf(cell[0], CELL, "%s", u->code);
    snprintf(cell[1], CELL, "%s", u->name);
    snprintf(cell[2], CELL, "%s", w->level[u->level >= 1 && u->level <= 3 ? u->level : 3]);
    for (int n = 0; n < REPORT_NETS; n++) {
        char a[32], b[32];
        report_number(a, sizeof a, st->lang, u->count[n]);
        report_number(b, sizeof b, st->lang, u->target[n]);
        snprintf(cell[3 + 2 * n], CELL, "%s/%s%s", a, b, report_unit_met(u, n) ? " ✓" : "");
        report_agents(cell[4 + 2 * n], CELL, st->lang, u->agents[n], u->count[n]);
    }
}

static void print_behind(const report_t *r, const report_style *st, FILE *out) {
    const report_words *w = report_words_for(st->lang);
    struct table t = {.ncol = 3 + 2 * REPORT_NETS, .left = {1, 1, 1}, .shrink = 1};
    char head[MAXCOL][CELL], cell[MAXCOL][CELL];
    size_t behind = 0;
    fprintf(out, "%s\n", w->behind);
    snprintf(head[0], CELL, "%s", w->col_code);
    snprintf(head[1], CELL, "%s", w->col_unit);
    snprintf(head[2], CELL, "%s", w->col_level);
    for (int n = 0; n < REPORT_NETS; n++) {
        snprintf(head[3 + 2 * n], CELL, "%s", w->net_short[n]);
        snprintf(head[4 + 2 * n], CELL, "%s", w->col_agents);
    }
    widen(&t, head);
    for (size_t i = 0; i < report_unit_count(r); i++) {
        const report_unit *u = report_unit_at(r, i);
        if (!report_unit_behind(u)) continue;
        unit_cells(r, st, u, cell);
        widen(&t, cell);
        behind++;
    }
    if (!behind) {
        fprintf(out, "%s\n", w->all_met);
        return;
    }
    t.w[1] += 2; /* room for the indent */
    fit(&t);
    t.w[1] -= 2;
    const char *prov = NULL;
    for (size_t i = 0; i < report_unit_count(r); i++) {
        const report_unit *u = report_unit_at(r, i);
        if (!report_unit_behind(u)) continue;
        if (!prov || strcmp(prov, u->province) != 0) {
            const report_province *p = report_province_find(r, u->province);
            fprintf(out, "%s%s %s\n", prov ? "\n" : "", p->unit->code, p->unit->name);
            row(out, &t, head, "  ");
            prov = u->province;
        }
        unit_cells(r, st, u, cell);
        row(out, &t, cell, "  ");
    }
}

void report_print_table(const report_t *r, const report_style *st, FILE *out) {
    const report_words *w = report_words_for(st->lang);
    char line[512];
    report_title(r, st, line, sizeof line);
    fprintf(out, "%s\n", line);
    report_target_line(r, st, line, sizeof line);
    put_wrapped(out, line);
    report_updated_line(r, st, line, sizeof line);
    put_wrapped(out, line[0] ? line : w->no_data);
    if (!report_has_registry(r)) put_wrapped(out, w->no_registry);
    fputc('\n', out);
    if (st->national) print_national(r, st, out);
    print_provinces(r, st, out);
    print_unattested(r, st, out);
    print_behind(r, st, out);
}

/* ---- CSV ---- */

static void csv_pct(FILE *out, size_t part, size_t total) {
    if (total) fprintf(out, ",%.1f", (double)part * 100.0 / (double)total);
    else fputs(",", out);
}

static void csv_figures(FILE *out, const report_figures *f, int districts) {
    fprintf(out, ",%zu,%zu", f->provinces, f->provinces_met);
    csv_pct(out, f->provinces_met, f->provinces);
    if (districts) {
        fprintf(out, ",%zu,%zu", f->districts, f->districts_met);
        csv_pct(out, f->districts_met, f->districts);
    } else {
        fputs(",,,", out);
    }
    fprintf(out, ",%zu,%zu", f->communes, f->communes_met);
    csv_pct(out, f->communes_met, f->communes);
    fprintf(out, ",%llu,%zu", (unsigned long long)f->agents, f->communes_met_one_agent);
}

/* The last column, unattested_count, only when some unit has any (as the
 * quota CSV): spreadsheets built on the columns above keep working. */
static void csv_end(FILE *out, const report_t *r, uint64_t unattested) {
    if (report_has_unattested(r)) fprintf(out, ",%llu", (unsigned long long)unattested);
    fputc('\n', out);
}

void report_print_csv(const report_t *r, const report_style *st, FILE *out) {
    static const char *const net[REPORT_NETS] = {"fixed", "mobile"};
    const report_words *w = report_words_for(st->lang);
    int d = report_has_districts(r);
    fputs("scope,province,code,name,network,samples,target,provinces,provinces_met,provinces_met_pct,"
          "districts,districts_met,districts_met_pct,communes,communes_met,communes_met_pct,agents,"
          "communes_met_one_agent",
          out);
    fputs(report_has_unattested(r) ? ",unattested_count\n" : "\n", out);
    if (st->national)
        for (int n = 0; n < REPORT_NETS; n++) {
            fputs("national,,,", out);
            escape_csv(out, w->nation);
            fprintf(out, ",%s,%llu,%u", net[n], (unsigned long long)report_national(r, n)->samples, st->target);
            csv_figures(out, report_national(r, n), d);
            csv_end(out, r, report_national(r, n)->unattested);
        }
    for (size_t i = 0; i < report_province_count(r); i++) {
        const report_province *p = report_province_at(r, i);
        for (int n = 0; n < REPORT_NETS; n++) {
            fprintf(out, "province,%s,%s,", p->unit->code, p->unit->code);
            escape_csv(out, p->unit->name);
            fprintf(out, ",%s,%llu,%u", net[n], (unsigned long long)p->fig[n].samples, p->unit->target[n]);
            csv_figures(out, &p->fig[n], d);
            csv_end(out, r, p->fig[n].unattested);
        }
    }
    for (size_t i = 0; i < report_unit_count(r); i++) {
        const report_unit *u = report_unit_at(r, i);
        for (int n = 0; n < REPORT_NETS; n++) {
            /* A province below its target is in its own row already. */
            if (u->level == 1 || report_unit_met(u, n)) continue;
            fprintf(out, "%s,%s,%s,", u->level == 2 ? "district" : "commune", u->province, u->code);
            escape_csv(out, u->name);
            fprintf(out, ",%s,%llu,%u,,,,,,,,,,%u,", net[n], (unsigned long long)u->count[n], u->target[n],
                    u->agents[n]);
            csv_end(out, r, u->unattested[n]);
        }
    }
}
