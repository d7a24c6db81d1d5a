/* The report as one self-contained HTML file: inline CSS and SVG, no script,
 * nothing fetched, so it opens offline and prints to PDF one province a
 * page. */
#include <math.h>
#include <string.h>

#include "escape.h"
#include "report_print.h"

#define CHART_W 720
#define CHART_H 260
#define PAD_L 64
#define PAD_R 16
#define PAD_T 14
#define PAD_B 40

static const char *const series_colour[REPORT_NETS] = {"#1f5fa8", "#d35400"};

static const char css[] =
    "body{font-family:\"DejaVu Sans\",\"Noto Sans\",Arial,sans-serif;font-size:14px;color:#1a1a1a;"
    "margin:24px auto;max-width:1040px;padding:0 16px}\n"
    "h1{font-size:22px;margin:0 0 8px}h2{font-size:18px;margin:28px 0 8px;padding-bottom:4px;"
    "border-bottom:2px solid #1f5fa8}h3{font-size:15px;margin:16px 0 6px}\n"
    "header p{margin:2px 0;color:#444}\n"
    "table{border-collapse:collapse;margin:6px 0 12px}th,td{border:1px solid #b8c2cc;padding:3px 8px;"
    "vertical-align:top}th{background:#e9eff6;text-align:left;font-weight:600}td.n{text-align:right;"
    "font-variant-numeric:tabular-nums;white-space:nowrap}\n"
    ".met{color:#107c2e}.not{color:#b3261e;font-weight:600}p.summary{margin:4px 0}\n"
    "td.unattested,th.unattested{color:#6b7785;font-style:italic}\n"
    "figure{margin:8px 0 12px}figcaption{font-size:12px;color:#555}svg{display:block}\n"
    "svg text{font-family:inherit;font-size:11px;fill:#333}.note{font-size:12px;color:#555}\n"
    "@page{size:A4;margin:14mm}\n"
    "@media print{body{margin:0;max-width:none;padding:0;font-size:11px}"
    "section.province{break-before:page}h2{margin-top:0}tr,figure{break-inside:avoid}"
    "thead{display:table-header-group}th{background:#e9eff6;-webkit-print-color-adjust:exact;"
    "print-color-adjust:exact}}\n";

static void html_number(FILE *out, const report_style *st, uint64_t v) {
    char buf[48];
    report_number(buf, sizeof buf, st->lang, v);
    fputs(buf, out);
}

static void html_ratio(FILE *out, const report_style *st, size_t part, size_t total) {
    char buf[96];
    report_ratio(buf, sizeof buf, st->lang, part, total);
    fputs(buf, out);
}

/* The figures' heads; a province's own rows say whether it met its target
 * (col_target) where the national row counts provinces that met it. */
static void figures_head(FILE *out, const report_t *r, const report_words *w, int with_name, int province_rows) {
    fputs("<thead><tr>", out);
    if (with_name) {
        fputs("<th>", out);
        escape_html(out, w->col_code);
        fputs("</th><th>", out);
        escape_html(out, w->col_province);
        fputs("</th>", out);
    }
    fputs("<th>", out);
    escape_html(out, w->col_network);
    fputs("</th><th>", out);
    escape_html(out, w->col_samples);
    fputs("</th><th>", out);
    escape_html(out, province_rows ? w->col_target : w->col_prov_met);
    if (report_has_districts(r)) {
        fputs("</th><th>", out);
        escape_html(out, w->col_dist_met);
    }
    fputs("</th><th>", out);
    escape_html(out, w->col_comm_met);
    fputs("</th><th class=\"agents\">", out);
    escape_html(out, w->col_agents);
    fputs("</th><th class=\"met-one\">", out);
    escape_html(out, w->col_met_one);
    if (report_has_unattested(r)) {
        fputs("</th><th class=\"unattested\">", out);
        escape_html(out, w->col_unattested);
    }
    fputs("</th></tr></thead>\n", out);
}

static void figures_cells(FILE *out, const report_t *r, const report_style *st, const report_figures *f,
                          int province_row) {
    const report_words *w = report_words_for(st->lang);
    char buf[48];
    fputs("<td class=\"n\">", out);
    html_number(out, st, f->samples);
    fputs("</td>", out);
    if (province_row) {
        fprintf(out, "<td class=\"%s\">", f->provinces_met ? "met" : "not");
        escape_html(out, f->provinces_met ? w->met : w->not_met);
    } else {
        fputs("<td class=\"n\">", out);
        html_ratio(out, st, f->provinces_met, f->provinces);
    }
    fputs("</td>", out);
    if (report_has_districts(r)) {
        fputs("<td class=\"n\">", out);
        html_ratio(out, st, f->districts_met, f->districts);
        fputs("</td>", out);
    }
    fputs("<td class=\"n\">", out);
    html_ratio(out, st, f->communes_met, f->communes);
    fputs("</td><td class=\"n agents\">", out);
    report_agents(buf, sizeof buf, st->lang, f->agents, f->samples);
    fputs(buf, out);
    /* Communes that met the target on one agent's samples are a warning. */
    fprintf(out, "</td><td class=\"n met-one%s\">", f->communes_met_one_agent ? " not" : "");
    html_number(out, st, f->communes_met_one_agent);
    fputs("</td>", out);
    /* Last and apart from Samples, which never includes them. */
    if (report_has_unattested(r)) {
        fputs("<td class=\"n unattested\">", out);
        html_number(out, st, f->unattested);
        fputs("</td>", out);
    }
}

/* What the agents' columns (and the unattested one, when shown) mean,
 * under the first table that has them. */
static void agents_note(FILE *out, const report_t *r, const report_words *w) {
    fputs("<p class=\"note\">", out);
    escape_html(out, w->agents_note);
    fputs("</p>\n", out);
    if (!report_has_unattested(r)) return;
    fputs("<p class=\"note unattested\">", out);
    escape_html(out, w->unattested_note);
    fputs("</p>\n", out);
}

static void national(FILE *out, const report_t *r, const report_style *st) {
    const report_words *w = report_words_for(st->lang);
    char line[512];
    fputs("<section class=\"national\">\n<h2>", out);
    escape_html(out, w->nation);
    fputs("</h2>\n<table class=\"figures\">\n", out);
    figures_head(out, r, w, 0, 0);
    fputs("<tbody>\n", out);
    for (int n = 0; n < REPORT_NETS; n++) {
        fputs("<tr><td>", out);
        escape_html(out, w->net[n]);
        fputs("</td>", out);
        figures_cells(out, r, st, report_national(r, n), 0);
        fputs("</tr>\n", out);
    }
    fputs("</tbody></table>\n", out);
    agents_note(out, r, w);
    for (int n = 0; n < REPORT_NETS; n++) {
        report_summary_line(r, st, n, line, sizeof line);
        fputs("<p class=\"summary\">", out);
        escape_html(out, line);
        fputs("</p>\n", out);
    }
    fputs("<h2>", out);
    escape_html(out, w->by_province);
    fputs("</h2>\n<table class=\"provinces\">\n", out);
    figures_head(out, r, w, 1, 1);
    fputs("<tbody>\n", out);
    for (size_t i = 0; i < report_province_count(r); i++) {
        const report_province *p = report_province_at(r, i);
        for (int n = 0; n < REPORT_NETS; n++) {
            fputs("<tr>", out);
            if (n == 0) {
                fprintf(out, "<td rowspan=\"%d\"><a href=\"#p-", REPORT_NETS);
                escape_html(out, p->unit->code);
                fputs("\">", out);
                escape_html(out, p->unit->code);
                fprintf(out, "</a></td><td rowspan=\"%d\">", REPORT_NETS);
                escape_html(out, p->unit->name);
                fputs("</td>", out);
            }
            fputs("<td>", out);
            escape_html(out, w->net[n]);
            fputs("</td>", out);
            figures_cells(out, r, st, &p->fig[n], 1);
            fputs("</tr>\n", out);
        }
    }
    fputs("</tbody></table>\n</section>\n", out);
}

/* 1, 2 or 5 times a power of ten, at least v. */
static double nice_ceiling(double v) {
    if (v <= 1) return 1;
    double p = pow(10, floor(log10(v)));
    for (int i = 0; i < 3; i++) {
        static const double m[] = {1, 2, 5};
        if (m[i] * p >= v) return m[i] * p;
    }
    return 10 * p;
}

static double px_x(int day, int days) {
    return PAD_L + (double)day * (CHART_W - PAD_L - PAD_R) / days;
}

static double px_y(double v, double ymax) {
    return PAD_T + (CHART_H - PAD_T - PAD_B) * (1 - v / ymax);
}

/* Cumulative count at the end of each day against the pace line (target x
 * elapsed share of the month) and the target itself. */
static void chart(FILE *out, const report_t *r, const report_style *st, const report_province *p) {
    const report_words *w = report_words_for(st->lang);
    int days = report_days(r);
    double top = 0;
    char buf[64];
    for (int n = 0; n < REPORT_NETS; n++) {
        if (p->unit->target[n] > top) top = p->unit->target[n];
        for (int d = 0; d < days; d++)
            if (p->daily[n][d] > top) top = (double)p->daily[n][d];
    }
    double ymax = nice_ceiling(top * 1.05);
    char name[256], cap[512];
    snprintf(name, sizeof name, "%s %s", p->unit->code, p->unit->name);
    snprintf(cap, sizeof cap, w->chart, name);
    fprintf(out, "<figure>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                 "role=\"img\" aria-label=\"",
            CHART_W, CHART_H, CHART_W, CHART_H);
    escape_html(out, cap);
    fputs("\">\n", out);
    fprintf(out, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fbfcfe\" stroke=\"#b8c2cc\"/>\n", PAD_L,
            PAD_T, CHART_W - PAD_L - PAD_R, CHART_H - PAD_T - PAD_B);
    for (int i = 0; i <= 4; i++) {
        double v = ymax * i / 4, y = px_y(v, ymax);
        report_number(buf, sizeof buf, st->lang, (uint64_t)llround(v));
        fprintf(out, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e3e8ee\"/>"
                     "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
                PAD_L, y, CHART_W - PAD_R, y, PAD_L - 6, y + 4, buf);
    }
    for (int d = 1; d <= days; d++) {
        if (d != 1 && d % 5 != 0 && d != days) continue;
        if (d == 30 && days == 31) continue; /* 30 and 31 would overlap */
        double x = px_x(d, days);
        fprintf(out, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#8a96a3\"/>"
                     "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%d</text>\n",
                x, CHART_H - PAD_B, x, CHART_H - PAD_B + 4, x, CHART_H - PAD_B + 16, d);
    }
    fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">", PAD_L + (CHART_W - PAD_L - PAD_R) / 2,
            CHART_H - 6);
    escape_html(out, w->day);
    fputs("</text>\n", out);
    /* The target and the pace towards it, per class when targets differ. */
    for (int n = 0; n < REPORT_NETS; n++) {
        uint32_t t = p->unit->target[n];
        if (n == 1 && t == p->unit->target[0]) break;
        fprintf(out, "<line class=\"target\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#107c2e\" "
                     "stroke-dasharray=\"2 3\"/>\n",
                PAD_L, px_y(t, ymax), CHART_W - PAD_R, px_y(t, ymax));
        fprintf(out, "<line class=\"pace\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#6b7785\" "
                     "stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>\n",
                px_x(0, days), px_y(0, ymax), px_x(days, days), px_y(t, ymax));
    }
    for (int n = 0; n < REPORT_NETS; n++) {
        fprintf(out, "<polyline class=\"series\" fill=\"none\" stroke=\"%s\" stroke-width=\"2.2\" points=\"%.1f,%.1f",
                series_colour[n], px_x(0, days), px_y(0, ymax));
        for (int d = 0; d < days && p->daily[n][d] >= 0; d++)
            fprintf(out, " %.1f,%.1f", px_x(d + 1, days), px_y((double)p->daily[n][d], ymax));
        fputs("\"/>\n", out);
    }
    /* Legend, top left inside the plot. */
    int ly = PAD_T + 16;
    for (int n = 0; n < REPORT_NETS + 2; n++, ly += 16) {
        const char *label = n < REPORT_NETS ? w->net[n] : n == REPORT_NETS ? w->pace : w->target_line;
        const char *colour = n < REPORT_NETS ? series_colour[n] : n == REPORT_NETS ? "#6b7785" : "#107c2e";
        const char *dash = n < REPORT_NETS ? "" : n == REPORT_NETS ? " stroke-dasharray=\"6 4\"" : " stroke-dasharray=\"2 3\"";
        fprintf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"%s/>"
                     "<text x=\"%d\" y=\"%d\">",
                PAD_L + 10, ly - 4, PAD_L + 34, ly - 4, colour, dash, PAD_L + 40, ly);
        escape_html(out, label);
        fputs("</text>\n", out);
    }
    fputs("</svg>\n<figcaption>", out);
    escape_html(out, cap);
    fputs(".", out);
    if (p->only_after[0] || p->only_after[1]) {
        fputs(" ", out);
        escape_html(out, w->chart_replay);
    }
    fputs("</figcaption>\n</figure>\n", out);
}

static void behind_table(FILE *out, const report_t *r, const report_style *st, const report_province *p) {
    const report_words *w = report_words_for(st->lang);
    size_t n = 0;
    fputs("<h3>", out);
    escape_html(out, w->behind);
    fputs("</h3>\n", out);
    for (size_t i = 0; i < report_unit_count(r); i++) {
        const report_unit *u = report_unit_at(r, i);
        if (strcmp(u->province, p->unit->code) != 0 || !report_unit_behind(u)) continue;
        if (n++ == 0) {
            fputs("<table class=\"units\">\n<thead><tr><th>", out);
            escape_html(out, w->col_code);
            fputs("</th><th>", out);
            escape_html(out, w->col_unit);
            fputs("</th><th>", out);
            escape_html(out, w->col_level);
            for (int k = 0; k < REPORT_NETS; k++) {
                fputs("</th><th>", out);
                escape_html(out, w->net[k]);
                fputs("</th><th class=\"agents\">", out);
                escape_html(out, w->col_agents);
                if (report_has_unattested(r)) {
                    fputs("</th><th class=\"unattested\">", out);
                    escape_html(out, w->col_unattested);
                }
            }
            fputs("</th></tr></thead>\n<tbody>\n", out);
        }
        fputs("<tr><td>", out);
        escape_html(out, u->code);
        fputs("</td><td>", out);
        escape_html(out, u->name);
        fputs("</td><td>", out);
        escape_html(out, w->level[u->level >= 1 && u->level <= 3 ? u->level : 3]);
        fputs("</td>", out);
        for (int k = 0; k < REPORT_NETS; k++) {
            fprintf(out, "<td class=\"n %s\">", report_unit_met(u, k) ? "met" : "not");
            html_number(out, st, u->count[k]);
            fputs("/", out);
            html_number(out, st, u->target[k]);
            fputs("</td><td class=\"n agents\">", out);
            char buf[48];
            report_agents(buf, sizeof buf, st->lang, u->agents[k], u->count[k]);
            fputs(buf, out);
            fputs("</td>", out);
            if (report_has_unattested(r)) {
                fputs("<td class=\"n unattested\">", out);
                html_number(out, st, u->unattested[k]);
                fputs("</td>", out);
            }
        }
        fputs("</tr>\n", out);
    }
    if (n) fputs("</tbody></table>\n", out);
    else {
        fputs("<p>", out);
        escape_html(out, w->all_met);
        fputs("</p>\n", out);
    }
}

static void province(FILE *out, const report_t *r, const report_style *st, const report_province *p) {
    const report_words *w = report_words_for(st->lang);
    fputs("<section class=\"province\" id=\"p-", out);
    escape_html(out, p->unit->code);
    fputs("\">\n<h2>", out);
    escape_html(out, p->unit->code);
    fputs(" ", out);
    escape_html(out, p->unit->name);
    fputs("</h2>\n<table class=\"figures\">\n", out);
    figures_head(out, r, w, 0, 1);
    fputs("<tbody>\n", out);
    for (int n = 0; n < REPORT_NETS; n++) {
        fputs("<tr><td>", out);
        escape_html(out, w->net[n]);
        fputs("</td>", out);
        figures_cells(out, r, st, &p->fig[n], 1);
        fputs("</tr>\n", out);
    }
    fputs("</tbody></table>\n", out);
    if (!st->national) agents_note(out, r, w);
    chart(out, r, st, p);
    behind_table(out, r, st, p);
    fputs("</section>\n", out);
}

void report_print_html(const report_t *r, const report_style *st, FILE *out) {
    const report_words *w = report_words_for(st->lang);
    char line[512];
    report_title(r, st, line, sizeof line);
    fprintf(out, "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n"
                 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
            w->code);
    escape_html(out, line);
    fprintf(out, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<header>\n<h1>", css);
    escape_html(out, line);
    fputs("</h1>\n<p>", out);
    report_target_line(r, st, line, sizeof line);
    escape_html(out, line);
    fputs("</p>\n<p>", out);
    report_updated_line(r, st, line, sizeof line);
    escape_html(out, line[0] ? line : w->no_data);
    fputs("</p>\n", out);
    if (!report_has_registry(r)) {
        fputs("<p class=\"note\">", out);
        escape_html(out, w->no_registry);
        fputs("</p>\n", out);
    }
    fputs("</header>\n", out);
    if (st->national) national(out, r, st);
    for (size_t i = 0; i < report_province_count(r); i++) province(out, r, st, report_province_at(r, i));
    fputs("</body>\n</html>\n", out);
}
