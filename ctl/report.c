/* "ispeedctl report": reads every <prefix>quota.<province> topic (or one),
 * takes the last QuotaStatus per unit and class for the month, completes it
 * with the registry's units that published nothing (0 samples, not met), and
 * writes the report as a table, CSV or HTML. */
#include "report.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ispeed.pb-c.h"
#include "quota_topics.h"
#include "registry.h"
#include "report_data.h"
#include "report_print.h"
#include "topic_reader.h"
#include "vntime.h"

#define REPORT_DEFAULT_UNITS "/usr/share/ispeed-collector/units.csv"

enum { OPT_MONTH = 256, OPT_PROVINCE, OPT_FORMAT, OPT_LANG, OPT_UNITS, OPT_OUTPUT, OPT_TARGET, OPT_DAILY };
enum report_format { FORMAT_TABLE, FORMAT_CSV, FORMAT_HTML };

static const opttab_def report_opts[] = {
    {.name = "month", .type = OPTTAB_CALL, .id = OPT_MONTH, .metavar = "YYYY-MM",
     .help = "month in Vietnam's time (required)"},
    {.name = "province", .type = OPTTAB_CALL, .id = OPT_PROVINCE, .metavar = "P",
     .help = "only this province (default: every province)"},
    {.name = "format", .type = OPTTAB_CALL, .id = OPT_FORMAT, .metavar = "FMT",
     .help = "table (default), csv or html"},
    {.name = "lang", .type = OPTTAB_CALL, .id = OPT_LANG, .metavar = "LANG",
     .help = "vi (default) or en"},
    {.name = "units", .type = OPTTAB_CALL, .id = OPT_UNITS, .metavar = "FILE",
     .help = "registry CSV: units without samples count too (default " REPORT_DEFAULT_UNITS ", none: without)"},
    {.name = "output", .short_name = 'o', .type = OPTTAB_CALL, .id = OPT_OUTPUT, .metavar = "FILE",
     .help = "write to FILE instead of stdout"},
    {.name = "target", .type = OPTTAB_CALL, .id = OPT_TARGET, .metavar = "N",
     .help = "target of units that published nothing (default 300)"},
    {.name = "daily", .type = OPTTAB_CALL, .id = OPT_DAILY, .metavar = "FROM",
     .help = "HTML chart from quota (default: the province's successive statuses) or samples (<prefix>samples)"},
    {.name = NULL}};

static const cli_cmd report_cmd = {
    "report",
    "-b BOOTSTRAP --month YYYY-MM [--province P] [--format table|csv|html] [--lang vi|en] [--units FILE] [-o FILE]",
    "Writes the monthly report: per province and network class (fixed and mobile\n"
    "broadband) the samples and how many districts and communes met their target,\n"
    "the national shares of provinces, districts and communes that met it, and\n"
    "the units still below it. Reads every topic <prefix>quota.<P> as it is now.\n"
    "The HTML report is one self-contained file with a chart per province of the\n"
    "count at the end of each day against the pace to the target, and prints one\n"
    "province a page. The daily counts come from the successive values of the\n"
    "province's own QuotaStatus; a month back-filled after it ended (collector\n"
    "--replay) has only its final value there, and --daily samples counts the\n"
    "OK samples of <prefix>samples by the day they were measured instead (as\n"
    "they are: no signature, duplicate or daily-cap check, unlike the quota).\n"
    "Samples without a test server's receipt (collector --attestation optional)\n"
    "are counted apart: never in the samples or the targets met, shown on their\n"
    "own (the table's 'unattested samples' section, the CSV's last column\n"
    "unattested_count, an HTML column) only when some unit has any.",
    report_opts};

struct report_args {
    const char *month, *province, *units, *output;
    enum report_format format;
    enum report_lang lang;
    uint32_t target;
    int daily_samples;
};

static int report_apply(int id, const char *arg, void *ctx, char *err, size_t errsz) {
    struct report_args *a = ctx;
    char *end;
    switch (id) {
    case OPT_MONTH: a->month = arg; return 0;
    case OPT_PROVINCE:
        a->province = arg;
        return cli_check_province(arg, err, errsz);
    case OPT_UNITS: a->units = arg; return 0;
    case OPT_OUTPUT: a->output = arg; return 0;
    case OPT_TARGET: {
        unsigned long v = strtoul(arg, &end, 10);
        if (end == arg || *end || v == 0 || v > 1000000) {
            snprintf(err, errsz, "--target '%s' is not a number of samples (1 to 1000000)", arg);
            return -1;
        }
        a->target = (uint32_t)v;
        return 0;
    }
    case OPT_DAILY:
        if (strcmp(arg, "quota") == 0) a->daily_samples = 0;
        else if (strcmp(arg, "samples") == 0) a->daily_samples = 1;
        else {
            snprintf(err, errsz, "--daily '%s' is not one of quota, samples", arg);
            return -1;
        }
        return 0;
    case OPT_FORMAT:
        if (strcmp(arg, "table") == 0) a->format = FORMAT_TABLE;
        else if (strcmp(arg, "csv") == 0) a->format = FORMAT_CSV;
        else if (strcmp(arg, "html") == 0) a->format = FORMAT_HTML;
        else {
            snprintf(err, errsz, "--format '%s' is not one of table, csv, html", arg);
            return -1;
        }
        return 0;
    case OPT_LANG:
        if (strcmp(arg, "vi") == 0) a->lang = REPORT_LANG_VI;
        else if (strcmp(arg, "en") == 0) a->lang = REPORT_LANG_EN;
        else {
            snprintf(err, errsz, "--lang '%s' is not one of vi, en", arg);
            return -1;
        }
        return 0;
    }
    return -1;
}

struct report_read {
    report_t *r;
    size_t bad;
};

static int on_status(const rd_kafka_message_t *m, void *opaque, char *err, size_t errsz) {
    struct report_read *rr = opaque;
    char why[256];
    if (report_put(rr->r, m->key, m->key_len, m->payload, m->len, why, sizeof why) < 0) {
        if (strcmp(why, "out of memory") == 0) {
            snprintf(err, errsz, "out of memory");
            return -1;
        }
        /* One bad record must not hide a month's report; count and say. */
        if (rr->bad++ == 0)
            fprintf(stderr, "ispeedctl report: skipping %s [%d] offset %lld: %s\n", rd_kafka_topic_name(m->rkt),
                    (int)m->partition, (long long)m->offset, why);
    }
    return 0;
}

static int on_sample(const rd_kafka_message_t *m, void *opaque, char *err, size_t errsz) {
    struct report_read *rr = opaque;
    if (!m->payload) return 0;
    Ispeed__V1__SignedSample *ss = ispeed__v1__signed_sample__unpack(NULL, m->len, m->payload);
    Ispeed__V1__Sample *s = ss ? ispeed__v1__sample__unpack(NULL, ss->sample.len, ss->sample.data) : NULL;
    int rc = 0;
    if (!s) rr->bad++;
    else if (s->outcome == ISPEED__V1__OUTCOME__OUTCOME_OK &&
             report_add_sample(rr->r, s->province, (int)s->network, s->start_ms) < 0) {
        snprintf(err, errsz, "out of memory");
        rc = -1;
    }
    if (s) ispeed__v1__sample__free_unpacked(s, NULL);
    if (ss) ispeed__v1__signed_sample__free_unpacked(ss, NULL);
    return rc;
}

/* --daily samples: the samples topic, read after the quota topics. */
static int read_samples(const cli_common *common, report_t *r) {
    char topic[256], err[1024];
    int code;
    kafka_topic_name(topic, sizeof topic, common->prefix, "samples");
    topic_reader_t *tr = topic_reader_new(common->bootstrap, &common->props, topic, &code, err, sizeof err);
    if (!tr) return cli_fail(&report_cmd, "--daily samples: %s", err);
    struct report_read rr = {r, 0};
    int rc = topic_reader_run(tr, 0, NULL, on_sample, &rr, err, sizeof err);
    topic_reader_free(tr);
    if (rc < 0) return cli_fail(&report_cmd, "--daily samples: %s", err);
    if (rr.bad) fprintf(stderr, "ispeedctl report: skipped %zu undecodable samples in %s\n", rr.bad, topic);
    return 0;
}

static registry_t *load_units(struct report_args *a, int *rc) {
    char err[1024];
    *rc = 0;
    if (a->units && strcmp(a->units, "none") == 0) return NULL;
    if (!a->units) {
        if (access(REPORT_DEFAULT_UNITS, R_OK) != 0) return NULL;
        a->units = REPORT_DEFAULT_UNITS;
    }
    registry_t *reg = registry_load(a->units, err, sizeof err);
    if (!reg) *rc = cli_usage_error(&report_cmd, "--units: %s", err);
    return reg;
}

int report_main(int argc, char **argv) {
    struct report_args a = {.target = REPORT_DEFAULT_TARGET};
    cli_common common;
    char err[1024];
    char **topics = NULL;
    size_t ntopics = 0;
    registry_t *reg = NULL;
    report_t *r = NULL;
    topic_reader_t *tr = NULL;
    FILE *out = NULL;
    int code, rc;
    rc = cli_parse(argc, argv, &report_cmd, &common, report_apply, &a);
    if (rc == CLI_HELP) {
        rc = 0;
        goto out;
    }
    if (rc != CLI_OK) goto out;
    if (!a.month) {
        rc = cli_usage_error(&report_cmd, "--month YYYY-MM is required (the month to report, e.g. --month 2025-07)");
        goto out;
    }
    if (cli_check_month(a.month, err, sizeof err) < 0) {
        rc = cli_usage_error(&report_cmd, "%s", err);
        goto out;
    }
    reg = load_units(&a, &rc);
    if (rc) goto out;
    if (reg && a.province) {
        const registry_unit *u = registry_find(reg, a.province);
        if (!u || u->level != REGISTRY_PROVINCE) {
            rc = cli_usage_error(&report_cmd, "unknown province %s: %s has no province with that code", a.province,
                                 a.units);
            goto out;
        }
    }

    rc = 1;
    if (!(r = report_new(a.month, a.target, err, sizeof err))) {
        cli_fail(&report_cmd, "%s", err);
        goto out;
    }
    if (reg && report_add_registry(r, reg, a.province) < 0) {
        cli_fail(&report_cmd, "out of memory");
        goto out;
    }
    rc = 1;
    if (quota_topics_pick(&report_cmd, &common, reg, a.province ? &a.province : NULL, a.province ? 1 : 0, &topics,
                          &ntopics, err, sizeof err) < 0) {
        cli_fail(&report_cmd, "%s", err);
        goto out;
    }
    tr = topic_reader_new_multi(common.bootstrap, &common.props, (const char *const *)topics, ntopics, &code, err,
                                sizeof err);
    if (!tr) {
        cli_fail(&report_cmd, "%s", err);
        goto out;
    }
    struct report_read rr = {r, 0};
    if (topic_reader_run(tr, 0, NULL, on_status, &rr, err, sizeof err) < 0) {
        cli_fail(&report_cmd, "%s", err);
        goto out;
    }
    if (rr.bad > 1) fprintf(stderr, "ispeedctl report: skipped %zu undecodable records\n", rr.bad);
    if (report_unknown(r))
        fprintf(stderr, "ispeedctl report: skipped %zu statuses of units not in %s (another registry version?)\n",
                report_unknown(r), a.units);
    if (a.daily_samples && (rc = read_samples(&common, r)) != 0) goto out;
    rc = 1;
    if (report_finish(r, vntime_now_ms()) < 0) {
        cli_fail(&report_cmd, "out of memory");
        goto out;
    }
    /* The file is opened only now, so a failed read leaves an old report. */
    out = a.output ? fopen(a.output, "w") : stdout;
    if (!out) {
        cli_fail(&report_cmd, "cannot write %s: %m", a.output);
        goto out;
    }
    report_style st = {.lang = a.lang, .national = a.province == NULL, .target = a.target};
    switch (a.format) {
    case FORMAT_CSV: report_print_csv(r, &st, out); break;
    case FORMAT_HTML: report_print_html(r, &st, out); break;
    default: report_print_table(r, &st, out); break;
    }
    int werr = fflush(out) != 0 || ferror(out);
    if (out != stdout && fclose(out) != 0) werr = 1;
    out = NULL;
    if (werr) {
        cli_fail(&report_cmd, "cannot write %s", a.output ? a.output : "the output");
        goto out;
    }
    rc = 0;
out:
    if (out && out != stdout) fclose(out);
    topic_reader_free(tr);
    quota_topics_free(topics);
    report_free(r);
    registry_free(reg);
    cli_common_clear(&common);
    return rc;
}
