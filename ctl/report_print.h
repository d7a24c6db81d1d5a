/* The monthly report written out: a table for the terminal (fits 100
 * columns), CSV for spreadsheets and scripts, one self-contained HTML file
 * for reading and printing to PDF. */
#ifndef ISPEED_CTL_REPORT_PRINT_H
#define ISPEED_CTL_REPORT_PRINT_H

#include <stdio.h>

#include "report_data.h"
#include "report_lang.h"

typedef struct report_style {
    enum report_lang lang;
    int national;    /* the national section too (not for one --province) */
    uint32_t target; /* the default target, named in the heading */
} report_style;

void report_print_table(const report_t *r, const report_style *st, FILE *out);
/* Columns: scope,province,code,name,network,samples,target,provinces,
 * provinces_met,provinces_met_pct,districts,districts_met,districts_met_pct,
 * communes,communes_met,communes_met_pct,agents,communes_met_one_agent.
 * scope is national, province, or district/commune for a unit below its
 * target in that network (then only the first seven and agents are filled);
 * a province below its target is its own row with provinces_met 0. Numbers
 * plain, shares with one decimal. The table and the HTML show agents and
 * communes_met_one_agent too ("–" for agents not counted). When some unit
 * has samples without a server's receipt (report_has_unattested), a last
 * column unattested_count gives them on every row; the table shows them in
 * a section of their own and the HTML in a column of each table, never
 * added to samples. */
void report_print_csv(const report_t *r, const report_style *st, FILE *out);
void report_print_html(const report_t *r, const report_style *st, FILE *out);

/* Heading lines shared by the formats. */
void report_title(const report_t *r, const report_style *st, char *out, size_t outsz);
void report_target_line(const report_t *r, const report_style *st, char *out, size_t outsz);
/* "" when no status was read. */
void report_updated_line(const report_t *r, const report_style *st, char *out, size_t outsz);
void report_summary_line(const report_t *r, const report_style *st, int net, char *out, size_t outsz);
/* Whether a unit is below its target in some class. */
int report_unit_behind(const report_unit *u);

#endif
