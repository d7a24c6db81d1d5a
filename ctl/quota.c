/* "ispeedctl quota": reads ispeed.quota.<province> (of one province, a few,
 * or all) from its beginning to its end, keeps the latest status per unit,
 * month and network, and prints the chosen month's units, the most behind
 * first. */
#include "quota.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pbnames.h"
#include "quota_topics.h"
#include "quota_view.h"
#include "registry.h"
#include "topic_reader.h"
#include "vntime.h"

enum { OPT_PROVINCE = 256, OPT_MONTH, OPT_LEVEL, OPT_NETWORK, OPT_BEHIND, OPT_FORMAT, OPT_UNITS, OPT_BY_OPERATOR };

static const opttab_def quota_opts[] = {
    {.name = "province", .type = OPTTAB_CALL, .id = OPT_PROVINCE, .metavar = "P",
     .help = "province code, e.g. 01, repeatable; all: every province (required)"},
    {.name = "month", .type = OPTTAB_CALL, .id = OPT_MONTH, .metavar = "YYYY-MM",
     .help = "month in Vietnam's time (default: the current one)"},
    {.name = "level", .type = OPTTAB_CALL, .id = OPT_LEVEL, .metavar = "LEVEL",
     .help = "only commune, district or province rows"},
    {.name = "network", .type = OPTTAB_CALL, .id = OPT_NETWORK, .metavar = "NET",
     .help = "only fixed or mobile rows"},
    {.name = "behind", .type = OPTTAB_CALL_FLAG, .id = OPT_BEHIND, .help = "only units in state BEHIND"},
    {.name = "format", .type = OPTTAB_CALL, .id = OPT_FORMAT, .metavar = "FMT",
     .help = "table (default), csv or json"},
    {.name = "units", .type = OPTTAB_CALL, .id = OPT_UNITS, .metavar = "FILE",
     .help = "registry CSV; checks that the province exists"},
    {.name = "by-operator", .type = OPTTAB_CALL_FLAG, .id = OPT_BY_OPERATOR, .help = "also the count per operator (ISP): csv one row per operator, columns operator,operator_count added; "
     "json an \"operators\" object; table a line per operator (see above)"},
    {.name = NULL}};

static const cli_cmd quota_cmd = {
    "quota",
    "-b BOOTSTRAP --province P [--month YYYY-MM] [--level L] [--network N] [--behind] [--format F] [--units FILE]\n"
    "                [--by-operator]",
    "Prints the quota state of every unit of a province, one row per unit and\n"
    "network class, the most behind (count - expected lowest) first. Reads the\n"
    "topic <prefix>quota.<P> as it is now (of each --province, or with --province\n"
    "all of every province there is, one table); CSV columns start\n"
    "code,name,level,network,count,target. Expected, and the demand of CSV and\n"
    "JSON (needed, days_left, rate_needed and rate_current a day, will_make_it),\n"
    "are computed at now, not when the status was published.\n"
    "--by-operator splits count by operator as the collector counts it: at\n"
    "most 8 named per unit and class, the rest \"other\", none given\n"
    "\"unknown\"; the operator counts sum to count (late samples in neither).\n"
    "CSV then has one row per unit, class and operator (a unit without\n"
    "samples one row with an empty operator), the unit's columns repeated.",
    quota_opts};

#define QUOTA_MAX_PROVINCES 128

struct quota_args {
    const char *provinces[QUOTA_MAX_PROVINCES];
    size_t nprovinces;
    int all;
    const char *month;
    const char *units;
    quota_filter filter;
    enum quota_format format;
};

static int quota_apply(int id, const char *arg, void *ctx, char *err, size_t errsz) {
    struct quota_args *a = ctx;
    switch (id) {
    case OPT_PROVINCE:
        if (strcmp(arg, "all") == 0) {
            a->all = 1;
            return 0;
        }
        if (cli_check_province(arg, err, errsz) < 0) return -1;
        if (a->nprovinces == QUOTA_MAX_PROVINCES) {
            snprintf(err, errsz, "at most %d --province; --province all reads every one", QUOTA_MAX_PROVINCES);
            return -1;
        }
        a->provinces[a->nprovinces++] = arg;
        return 0;
    case OPT_MONTH: a->month = arg; return 0;
    case OPT_UNITS: a->units = arg; return 0;
    case OPT_BEHIND: a->filter.behind_only = 1; return 0;
    case OPT_BY_OPERATOR: a->filter.by_operator = 1; return 0;
    case OPT_LEVEL:
        if (strcmp(arg, "commune") == 0) a->filter.level = ISPEED__V1__LEVEL__LEVEL_COMMUNE;
        else if (strcmp(arg, "district") == 0) a->filter.level = ISPEED__V1__LEVEL__LEVEL_DISTRICT;
        else if (strcmp(arg, "province") == 0) a->filter.level = ISPEED__V1__LEVEL__LEVEL_PROVINCE;
        else break;
        return 0;
    case OPT_NETWORK:
        if (strcmp(arg, "fixed") == 0) a->filter.network = ISPEED__V1__NETWORK__NETWORK_FIXED;
        else if (strcmp(arg, "mobile") == 0) a->filter.network = ISPEED__V1__NETWORK__NETWORK_MOBILE;
        else break;
        return 0;
    case OPT_FORMAT:
        if (strcmp(arg, "table") == 0) a->format = QUOTA_FORMAT_TABLE;
        else if (strcmp(arg, "csv") == 0) a->format = QUOTA_FORMAT_CSV;
        else if (strcmp(arg, "json") == 0) a->format = QUOTA_FORMAT_JSON;
        else break;
        return 0;
    }
    snprintf(err, errsz, "--%s '%s' is not one of %s", id == OPT_LEVEL ? "level" : id == OPT_NETWORK ? "network" : "format",
             arg, id == OPT_LEVEL ? "commune, district, province" : id == OPT_NETWORK ? "fixed, mobile" : "table, csv, json");
    return -1;
}

/* With a registry at hand a typo in the province is caught before Kafka is
 * asked, and a district filter on a two-level registry is pointed out. */
static int check_units(const struct quota_args *a, const registry_t *reg, char *err, size_t errsz) {
    int rc = 0;
    for (size_t i = 0; i < a->nprovinces && rc == 0; i++) {
        const registry_unit *u = registry_find(reg, a->provinces[i]);
        if (!u || u->level != REGISTRY_PROVINCE) {
            snprintf(err, errsz, "unknown province %s: %s has no province with that code", a->provinces[i], a->units);
            rc = -1;
        }
    }
    if (rc == 0 && a->filter.level == ISPEED__V1__LEVEL__LEVEL_DISTRICT && registry_depth(reg) == 2) {
        snprintf(err, errsz, "--level district: %s has no districts (a two-level registry)", a->units);
        rc = -1;
    }
    return rc;
}

struct quota_read {
    quota_view_t *qt;
    size_t bad;
};

static int on_quota(const rd_kafka_message_t *m, void *opaque, char *err, size_t errsz) {
    struct quota_read *r = opaque;
    char why[256];
    (void)err;
    (void)errsz;
    if (quota_view_put(r->qt, m->key, m->key_len, m->payload, m->len, why, sizeof why) < 0) {
        /* One bad record must not hide a province's table; count and say. */
        if (r->bad++ == 0)
            fprintf(stderr, "ispeedctl quota: skipping partition %d offset %lld: %s\n", (int)m->partition,
                    (long long)m->offset, why);
    }
    return 0;
}

int quota_main(int argc, char **argv) {
    struct quota_args a = {0};
    cli_common common;
    char err[1024], now[8], title[512], which[256];
    char **topics = NULL;
    size_t ntopics = 0;
    registry_t *reg = NULL;
    topic_reader_t *tr = NULL;
    struct quota_read r = {0};
    int code, rc = cli_parse(argc, argv, &quota_cmd, &common, quota_apply, &a);
    if (rc == CLI_HELP) {
        rc = 0;
        goto out;
    }
    if (rc != CLI_OK) goto out;
    rc = CLI_USAGE;
    if (!a.all && a.nprovinces == 0 && cli_require_province(&quota_cmd, NULL) != 0) goto out;
    if (a.all && a.nprovinces) {
        cli_usage_error(&quota_cmd, "--province all reads every province: give it alone");
        goto out;
    }
    vntime_month(vntime_now_ms(), now);
    if (!a.month) a.month = now;
    if (cli_check_month(a.month, err, sizeof err) < 0) {
        cli_usage_error(&quota_cmd, "%s", err);
        goto out;
    }
    snprintf(a.filter.month, sizeof a.filter.month, "%s", a.month);
    a.filter.now_ms = vntime_now_ms();
    if (a.units && (!(reg = registry_load(a.units, err, sizeof err)) || check_units(&a, reg, err, sizeof err) < 0)) {
        cli_usage_error(&quota_cmd, "%s", err);
        goto out;
    }

    rc = 1;
    if (!(r.qt = quota_view_new(&a.filter))) {
        cli_fail(&quota_cmd, "out of memory");
        goto out;
    }
    if (a.all) {
        /* One metadata answer, then one consumer over every topic. */
        if (quota_topics_pick(&quota_cmd, &common, reg, NULL, 0, &topics, &ntopics, err, sizeof err) < 0) {
            cli_fail(&quota_cmd, "%s", err);
            goto out;
        }
        tr = topic_reader_new_multi(common.bootstrap, &common.props, (const char *const *)topics, ntopics, &code, err,
                                    sizeof err);
        snprintf(which, sizeof which, "every province (%zu topics)", ntopics);
    } else {
        /* Named provinces: a missing topic is an error of its own. */
        if (!(topics = calloc(a.nprovinces + 1, sizeof *topics))) {
            cli_fail(&quota_cmd, "out of memory");
            goto out;
        }
        size_t at = 0;
        for (ntopics = 0; ntopics < a.nprovinces; ntopics++) {
            char topic[256];
            snprintf(topic, sizeof topic, "%squota.%s", common.prefix, a.provinces[ntopics]);
            if (!(topics[ntopics] = strdup(topic))) {
                cli_fail(&quota_cmd, "out of memory");
                goto out;
            }
            at += (size_t)snprintf(which + at, at < sizeof which ? sizeof which - at : 0, "%s%s",
                                   ntopics ? ", " : "province ", a.provinces[ntopics]);
            if (at >= sizeof which) at = sizeof which;
        }
        tr = topic_reader_new_multi(common.bootstrap, &common.props, (const char *const *)topics, ntopics, &code, err,
                                    sizeof err);
    }
    if (!tr) {
        if (code == TOPIC_READER_NO_TOPIC) /* err is "no topic NAME" */
            cli_fail(&quota_cmd, "no quota topic %s: unknown province or no collector has published yet",
                     strncmp(err, "no topic ", 9) == 0 ? err + 9 : err);
        else
            cli_fail(&quota_cmd, "%s", err);
        goto out;
    }
    if (topic_reader_run(tr, 0, NULL, on_quota, &r, err, sizeof err) < 0) {
        cli_fail(&quota_cmd, "%s", err);
        goto out;
    }
    if (r.bad > 1) fprintf(stderr, "ispeedctl quota: skipped %zu undecodable records of %s\n", r.bad, which);
    snprintf(title, sizeof title, "Quota of %s, %s (%s%s%s%s)", which, a.month,
             a.filter.network == ISPEED__V1__NETWORK__NETWORK_UNSPECIFIED ? "fixed and mobile"
                                                                          : pbnames_network(a.filter.network),
             a.filter.level ? ", " : "", a.filter.level ? pbnames_level(a.filter.level) : "",
             a.filter.behind_only ? ", behind only" : "");
    if (quota_view_count(r.qt) == 0)
        fprintf(stderr, "ispeedctl quota: no unit of %s matches in the quota of %s (%s)\n", a.month, which,
                a.filter.behind_only || a.filter.level || a.filter.network ? "check the filters" : "nothing published for that month");
    if (quota_view_print(r.qt, a.format, title, stdout) < 0) {
        cli_fail(&quota_cmd, "out of memory");
        goto out;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_fail(&quota_cmd, "cannot write the output");
        goto out;
    }
    rc = 0;
out:
    topic_reader_free(tr);
    quota_view_free(r.qt);
    quota_topics_free(topics);
    registry_free(reg);
    cli_common_clear(&common);
    return rc;
}
