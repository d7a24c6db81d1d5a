/* The words of the monthly report in Vietnamese (the ministry's terms, the
 * default) and English, and numbers written the way each language does. */
#ifndef ISPEED_CTL_REPORT_LANG_H
#define ISPEED_CTL_REPORT_LANG_H

#include <stddef.h>
#include <stdint.h>

enum report_lang { REPORT_LANG_VI, REPORT_LANG_EN };

typedef struct report_words {
    const char *code;        /* "vi", "en": the HTML lang attribute */
    const char *title;       /* printf: month (2 digits), year */
    const char *target;      /* printf: target, the levels */
    const char *levels3, *levels2;
    const char *net[2];      /* in a table: "băng rộng cố định" */
    const char *net_cap[2];  /* starting a sentence */
    const char *net_short[2]; /* a column head: "Cố định" */
    const char *nation, *by_province;
    const char *col_code, *col_province, *col_unit, *col_level, *col_network, *col_samples;
    const char *col_prov_met, *col_dist_met, *col_comm_met;
    const char *col_target;  /* a province's own row: met or not */
    const char *col_agents;  /* distinct agents */
    const char *col_met_one; /* communes that met the target with one agent's samples */
    const char *agents_note; /* what the two columns above mean */
    /* Samples without a server's receipt, counted apart (collector
     * --attestation optional): a column head, the heading of the text
     * report's section and what the column means. */
    const char *col_unattested, *unattested, *unattested_note;
    const char *summary3;    /* printf: net, province share, district share, commune share */
    const char *summary2;    /* printf: net, province share, commune share */
    const char *behind;      /* "Units below the target" */
    const char *level[4];    /* by Level number */
    const char *met, *not_met, *all_met;
    const char *updated;     /* printf: time */
    const char *no_data;
    const char *no_registry;
    const char *chart;       /* printf: province name */
    const char *pace, *target_line, *day;
    const char *chart_replay; /* when every value came after the month */
    /* Distinct agents and the recruiting list (ispeedctl recruit), as the
     * dashboard shows them. */
    const char *agents;
    const char *recruit, *recruit_about, *recruit_none, *recruit_closed, *recruit_total;
    const char *col_needed, *col_days_left, *col_rate_needed, *col_per_agent, *col_recruit;
} report_words;

const report_words *report_words_for(enum report_lang lang);

/* "96,8%" or "96.8%"; "–" when total is 0. */
void report_share(char *out, size_t outsz, enum report_lang lang, size_t part, size_t total);
/* "61/63 (96,8%)" */
void report_ratio(char *out, size_t outsz, enum report_lang lang, size_t part, size_t total);
/* 1234567 as "1.234.567" (vi) or "1,234,567" (en). */
void report_number(char *out, size_t outsz, enum report_lang lang, uint64_t v);
/* Distinct agents as report_number, but "–" when there are samples and no
 * agent count: statuses from a collector that did not count agents yet
 * (QuotaStatus.distinct_agents absent reads as 0). */
void report_agents(char *out, size_t outsz, enum report_lang lang, uint64_t agents, uint64_t samples);

#endif
