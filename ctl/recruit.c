/* "ispeedctl recruit": the recruiting list from live demand. Each commune's
 * latest QuotaStatus this month gives the samples still needed and the
 * distinct agents that contributed; an agent gives at most a day's share
 * (the daily cap on fixed access, its data budget spread over the month on
 * mobile), so ceil(rate needed / that) agents are needed (common/demand.c).
 * With --units, communes that never published a status are listed too
 * (nothing counted, no agent). */
#include "recruit.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "demand.h"
#include "escape.h"
#include "quota_view.h"
#include "registry.h"
#include "textwidth.h"
#include "topic_reader.h"
#include "vntime.h"

enum { OPT_PROVINCE = 256, OPT_FORMAT, OPT_UNITS, OPT_DAILY_CAP, OPT_BUDGET, OPT_TEST_MB, OPT_TARGET };

static const opttab_def recruit_opts[] = {
    {.name = "province", .type = OPTTAB_CALL, .id = OPT_PROVINCE, .metavar = "P",
     .help = "province code, e.g. 01 (required)"},
    {.name = "format", .type = OPTTAB_CALL, .id = OPT_FORMAT, .metavar = "FMT", .help = "table (default) or csv"},
    {.name = "units", .type = OPTTAB_CALL, .id = OPT_UNITS, .metavar = "FILE",
     .help = "registry CSV: also list communes that never published"},
    {.name = "daily-cap", .type = OPTTAB_CALL, .id = OPT_DAILY_CAP, .metavar = "N",
     .help = "samples an agent may count a day (the collector's, 12)"},
    {.name = "mobile-budget-mb", .type = OPTTAB_CALL, .id = OPT_BUDGET, .metavar = "N",
     .help = "a mobile volunteer's monthly data (2048)"},
    {.name = "test-mb", .type = OPTTAB_CALL, .id = OPT_TEST_MB, .metavar = "N",
     .help = "data of one mobile test (125: 10 s each way at 50 Mbit/s)"},
    {.name = "target", .type = OPTTAB_CALL, .id = OPT_TARGET, .metavar = "N",
     .help = "target of communes without a status (300)"},
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
    double daily_cap, budget_mb, test_mb, target;
};

static int recruit_apply(int id, const char *arg, void *ctx, char *err, size_t errsz) {
    struct recruit_args *a = ctx;
    char *end;
    double v;
    switch (id) {
    case OPT_PROVINCE: a->province = arg; return 0;
    case OPT_UNITS: a->units = arg; return 0;
    case OPT_FORMAT:
        if (strcmp(arg, "table") == 0) a->csv = 0;
        else if (strcmp(arg, "csv") == 0) a->csv = 1;
        else break;
        return 0;
    default:
        v = strtod(arg, &end);
        if (end == arg || *end || !(v > 0) || v > 1e7) {
            snprintf(err, errsz, "'%s' is not a positive number", arg);
            return -1;
        }
        if (id == OPT_DAILY_CAP) a->daily_cap = v;
        else if (id == OPT_BUDGET) a->budget_mb = v;
        else if (id == OPT_TEST_MB) a->test_mb = v;
        else a->target = v;
        return 0;
    }
    snprintf(err, errsz, "--format '%s' is not one of table, csv", arg);
    return -1;
}

struct row {
    char code[32], name[160];
    int mobile;
    uint64_t count;
    uint32_t target, agents, recruit;
    demand d;
    double per_agent;
};

struct rows {
    struct row *v;
    size_t n, cap;
    int64_t now, mstart, mend;
    const struct recruit_args *a;
    int oom;
};

static double per_agent_day(const struct recruit_args *a, int mobile, double days_month) {
    if (!mobile) return a->daily_cap;
    double d = floor(a->budget_mb / a->test_mb) / days_month;
    return d < a->daily_cap ? d : a->daily_cap;
}

static void add_row(struct rows *r, const char *code, const char *name, int mobile, uint64_t count, uint32_t target,
                    uint32_t agents) {
    struct row x = {0};
    snprintf(x.code, sizeof x.code, "%s", code);
    snprintf(x.name, sizeof x.name, "%s", name ? name : "");
    x.mobile = mobile;
    x.count = count;
    x.target = target;
    x.agents = agents;
    demand_compute(count, target, r->now, r->mstart, r->mend, &x.d);
    x.per_agent = per_agent_day(r->a, mobile, (double)(r->mend - r->mstart) / 86400000.0);
    x.recruit = demand_recruit(x.d.rate_needed, x.per_agent, agents);
    if (!x.recruit) return;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        struct row *nv = realloc(r->v, cap * sizeof *nv);
        if (!nv) {
            r->oom = 1;
            return;
        }
        r->v = nv;
        r->cap = cap;
    }
    r->v[r->n++] = x;
}

static void on_status(const Ispeed__V1__QuotaStatus *q, void *ctx) {
    if (q->level != ISPEED__V1__LEVEL__LEVEL_COMMUNE) return;
    add_row(ctx, q->unit ? q->unit : "", q->name, q->network == ISPEED__V1__NETWORK__NETWORK_MOBILE, q->count,
            q->target ? q->target : 300, q->distinct_agents);
}

static int on_quota(const rd_kafka_message_t *m, void *opaque, char *err, size_t errsz) {
    char why[256];
    (void)err;
    (void)errsz;
    quota_view_put(opaque, m->key, m->key_len, m->payload, m->len, why, sizeof why); /* a bad record is skipped */
    return 0;
}

static int by_recruit(const void *a, const void *b) {
    const struct row *x = a, *y = b;
    if (x->recruit != y->recruit) return x->recruit > y->recruit ? -1 : 1;
    int c = strcmp(x->code, y->code);
    return c ? c : x->mobile - y->mobile;
}

int recruit_main(int argc, char **argv) {
    struct recruit_args a = {0};
    a.daily_cap = 12, a.budget_mb = 2048, a.test_mb = 125, a.target = 300;
    cli_common common;
    char err[1024], topic[256], month[8];
    topic_reader_t *tr = NULL;
    quota_view_t *qt = NULL;
    registry_t *reg = NULL;
    struct rows r = {0};
    int code, rc = cli_parse(argc, argv, &recruit_cmd, &common, recruit_apply, &a);
    if (rc == CLI_HELP) {
        rc = 0;
        goto out;
    }
    if (rc != CLI_OK) goto out;
    rc = CLI_USAGE;
    if (!a.province) {
        cli_usage_error(&recruit_cmd, "--province P is required (a province code, e.g. --province 01)");
        goto out;
    }
    if (cli_check_province(a.province, err, sizeof err) < 0) {
        cli_usage_error(&recruit_cmd, "%s", err);
        goto out;
    }
    rc = 1;
    if (a.units && !(reg = registry_load(a.units, err, sizeof err))) {
        cli_fail(&recruit_cmd, "%s", err);
        goto out;
    }
    r.a = &a;
    r.now = vntime_now_ms();
    vntime_month(r.now, month);
    vntime_month_bounds(month, &r.mstart, &r.mend);
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
    quota_view_foreach(qt, on_status, &r);
    if (reg) {
        /* Communes with no status at all: nothing counted, no agent. A
         * status of either class marks the commune as known for both
         * classes only if that class was seen, so check per class. */
        for (size_t i = 0; i < registry_size(reg); i++) {
            const registry_unit *u = registry_unit_at(reg, i);
            if (u->level != REGISTRY_COMMUNE || strcmp(u->province->code, a.province) != 0) continue;
            for (int m = 0; m < 2; m++) {
                int seen = 0;
                for (size_t k = 0; k < r.n && !seen; k++) seen = r.v[k].mobile == m && !strcmp(r.v[k].code, u->code);
                /* Also seen when it published but needs nobody: look in the table. */
                if (!seen) {
                    char key[64];
                    snprintf(key, sizeof key, "%s/%s/%s", u->code, month, m ? "mobile" : "fixed");
                    seen = quota_view_has(qt, key);
                }
                if (!seen) add_row(&r, u->code, u->name, m, 0, (uint32_t)a.target, 0);
            }
        }
    }
    if (r.oom) {
        cli_fail(&recruit_cmd, "out of memory");
        goto out;
    }
    if (r.n > 1) qsort(r.v, r.n, sizeof *r.v, by_recruit);
    unsigned total[2] = {0, 0};
    if (a.csv) {
        fputs("code,name,network,count,target,needed,days_left,rate_needed,agents,per_agent_day,recruit\n", stdout);
        for (size_t i = 0; i < r.n; i++) {
            const struct row *x = &r.v[i];
            escape_csv(stdout, x->code);
            fputc(',', stdout);
            escape_csv(stdout, x->name);
            printf(",%s,%llu,%u,%llu,%.2f,%.2f,%u,%.2f,%u\n", x->mobile ? "mobile" : "fixed",
                   (unsigned long long)x->count, x->target, (unsigned long long)x->d.needed, x->d.days_left,
                   x->d.rate_needed, x->agents, x->per_agent, x->recruit);
        }
    } else {
        printf("Recruiting in province %s, %s: communes that cannot reach the target with their agents\n", a.province,
               month);
        printf("%-8s %-28s %-6s %6s %6s %7s %6s %7s\n", "CODE", "NAME", "NET", "COUNT", "NEEDED", "PER_DAY", "AGENTS",
               "RECRUIT");
        for (size_t i = 0; i < r.n; i++) {
            const struct row *x = &r.v[i];
            printf("%-8.8s ", x->code);
            textwidth_fput(stdout, x->name, 28, 1);
            printf(" %-6s %6llu %6llu %7.1f %6u %7u\n", x->mobile ? "mobile" : "fixed", (unsigned long long)x->count,
                   (unsigned long long)x->d.needed, x->d.rate_needed, x->agents, x->recruit);
        }
    }
    for (size_t i = 0; i < r.n; i++) total[r.v[i].mobile] += r.v[i].recruit;
    if (!a.csv)
        printf("%zu rows: %u fixed and %u mobile volunteers to recruit. An agent gives %.0f a day on fixed, %.2f on mobile.\n",
               r.n, total[0], total[1], a.daily_cap,
               per_agent_day(&a, 1, (double)(r.mend - r.mstart) / 86400000.0));
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_fail(&recruit_cmd, "cannot write the output");
        goto out;
    }
    rc = 0;
out:
    free(r.v);
    topic_reader_free(tr);
    quota_view_free(qt);
    registry_free(reg);
    cli_common_clear(&common);
    return rc;
}
