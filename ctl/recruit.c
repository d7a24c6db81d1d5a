/* "ispeedctl recruit": the recruiting list from live demand. Each commune's
 * latest QuotaStatus this month gives the samples still needed and the
 * distinct agents that contributed; an agent gives at most a day's share
 * (the daily cap on fixed access, its data budget spread over the month on
 * mobile), so ceil(rate needed / that) agents are needed (recruit_list.c,
 * which the dashboard's province page uses too, on common/demand.c).
 * With --units, communes that never published a status are listed too
 * (nothing counted, no agent). */
#include "recruit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "quota_view.h"
#include "recruit_list.h"
#include "registry.h"
#include "textwidth.h"
#include "topic_reader.h"
#include "vntime.h"

enum { OPT_PROVINCE = 256, OPT_FORMAT, OPT_UNITS, OPT_PARAMS };

static const opttab_def recruit_opts[] = {
    {.name = "province", .type = OPTTAB_CALL, .id = OPT_PROVINCE, .metavar = "P",
     .help = "province code, e.g. 01 (required)"},
    {.name = "format", .type = OPTTAB_CALL, .id = OPT_FORMAT, .metavar = "FMT", .help = "table (default) or csv"},
    {.name = "units", .type = OPTTAB_CALL, .id = OPT_UNITS, .metavar = "FILE",
     .help = "registry CSV: also list communes that never published"},
    RECRUIT_PARAM_OPTS(OPT_PARAMS),
    {.name = NULL}};

static const cli_cmd recruit_cmd = {
    "recruit",
    "-b BOOTSTRAP --province P [--format table|csv] [--units FILE] [--daily-cap N] [--mobile-budget-mb N]\n"
    "                [--test-mb N] [--target N]",
    "Lists the communes of a province that cannot reach the target this month\n"
    "with the agents they have, even testing at the floor interval, and how\n"
    "many more volunteers of which class each needs. An agent gives at most\n"
    "the daily cap a day on fixed access, and its budget / test size over the\n"
    "month on mobile. Reads <prefix>quota.<P> as it is now (demand and\n"
    "distinct agents per commune). CSV columns:\n"
    "code,name,network,count,target,needed,days_left,rate_needed,agents,per_agent_day,recruit.",
    recruit_opts};

struct recruit_args {
    const char *province, *units;
    int csv;
    recruit_params p;
};

static int recruit_apply(int id, const char *arg, void *ctx, char *err, size_t errsz) {
    struct recruit_args *a = ctx;
    switch (id) {
    case OPT_PROVINCE: a->province = arg; return 0;
    case OPT_UNITS: a->units = arg; return 0;
    case OPT_FORMAT:
        if (strcmp(arg, "table") == 0) a->csv = 0;
        else if (strcmp(arg, "csv") == 0) a->csv = 1;
        else break;
        return 0;
    default: return recruit_params_apply(&a->p, id - OPT_PARAMS, arg, err, errsz);
    }
    snprintf(err, errsz, "--format '%s' is not one of table, csv", arg);
    return -1;
}

static int on_quota(const rd_kafka_message_t *m, void *opaque, char *err, size_t errsz) {
    char why[256];
    (void)err;
    (void)errsz;
    quota_view_put(opaque, m->key, m->key_len, m->payload, m->len, why, sizeof why); /* a bad record is skipped */
    return 0;
}

int recruit_main(int argc, char **argv) {
    struct recruit_args a = {0};
    recruit_params_default(&a.p);
    cli_common common;
    char err[1024], topic[256], month[8];
    topic_reader_t *tr = NULL;
    quota_view_t *qt = NULL;
    registry_t *reg = NULL;
    recruit_row *rows = NULL;
    size_t n = 0;
    int64_t now, mstart, mend;
    int code, rc = cli_parse(argc, argv, &recruit_cmd, &common, recruit_apply, &a);
    if (rc == CLI_HELP) {
        rc = 0;
        goto out;
    }
    if (rc != CLI_OK) goto out;
    rc = CLI_USAGE;
    if (cli_require_province(&recruit_cmd, a.province) != 0) goto out;
    rc = 1;
    if (a.units && !(reg = registry_load(a.units, err, sizeof err))) {
        cli_fail(&recruit_cmd, "%s", err);
        goto out;
    }
    now = vntime_now_ms();
    vntime_month(now, month);
    vntime_month_bounds(month, &mstart, &mend);
    quota_filter f = {0};
    memcpy(f.month, month, 8);
    f.level = ISPEED__V1__LEVEL__LEVEL_COMMUNE;
    if (!(qt = quota_view_new(&f))) {
        cli_fail(&recruit_cmd, "out of memory");
        goto out;
    }
    snprintf(topic, sizeof topic, "%squota.%s", common.prefix, a.province);
    tr = topic_reader_new(common.bootstrap, &common.props, topic, &code, err, sizeof err);
    if (!tr) {
        if (code == TOPIC_READER_NO_TOPIC)
            cli_fail(&recruit_cmd, "no quota topic %s: unknown province or no collector has published yet", topic);
        else
            cli_fail(&recruit_cmd, "%s", err);
        goto out;
    }
    if (topic_reader_run(tr, 0, NULL, on_quota, qt, err, sizeof err) < 0) {
        cli_fail(&recruit_cmd, "%s", err);
        goto out;
    }
    if (recruit_list_build(qt, reg, a.province, month, &a.p, now, &rows, &n) < 0) {
        cli_fail(&recruit_cmd, "out of memory");
        goto out;
    }
    unsigned total[2] = {0, 0};
    if (a.csv) {
        recruit_list_csv(stdout, rows, n);
    } else {
        printf("Recruiting in province %s, %s: communes that cannot reach the target with their agents\n", a.province,
               month);
        printf("%-8s %-28s %-6s %6s %6s %7s %6s %7s\n", "CODE", "NAME", "NET", "COUNT", "NEEDED", "PER_DAY", "AGENTS",
               "RECRUIT");
        for (size_t i = 0; i < n; i++) {
            const recruit_row *x = &rows[i];
            printf("%-8.8s ", x->code);
            textwidth_fput(stdout, x->name, 28, 1);
            printf(" %-6s %6llu %6llu %7.1f %6u %7u\n", x->mobile ? "mobile" : "fixed", (unsigned long long)x->count,
                   (unsigned long long)x->d.needed, x->d.rate_needed, x->agents, x->recruit);
        }
    }
    for (size_t i = 0; i < n; i++) total[rows[i].mobile] += rows[i].recruit;
    if (!a.csv)
        printf("%zu rows: %u fixed and %u mobile volunteers to recruit. An agent gives %.0f a day on fixed, %.2f on mobile.\n",
               n, total[0], total[1], a.p.daily_cap, recruit_per_agent_day(&a.p, 1, mstart, mend));
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_fail(&recruit_cmd, "cannot write the output");
        goto out;
    }
    rc = 0;
out:
    free(rows);
    topic_reader_free(tr);
    quota_view_free(qt);
    registry_free(reg);
    cli_common_clear(&common);
    return rc;
}
