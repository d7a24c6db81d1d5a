/* ispeed-sim: a month in virtual time with the real scheduler, quota, pace
 * and daily-cap code, for a policy or both, and the recruiting list. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "opttab.h"
#include "population.h"
#include "registry.h"
#include "report.h"
#include "run.h"
#include "vntime.h"

#define DEFAULT_UNITS "../shared/data/vn-units-2025-07.csv"

static int parse_num(const char *s, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static double seconds(void) { return (double)vntime_mono_us() / 1e6; }

/* CPU time of the process: the machine may be shared, wall time is not the
 * simulator's cost. */
static double cpu_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The command line: paths and the policy as strings, the numbers checked
 * and put in place by sim_apply (one table: parsing and --help). */
typedef struct sim_cli {
    char *units, *html, *vfile, *policy, *plan, *counts;
    size_t show;
    sim_params prm;
    sim_config cfg;
} sim_cli;

enum { OPT_SEED = 256, OPT_VOLUNTEERS, OPT_ZIPF, OPT_MOBILE_SHARE, OPT_BUDGET, OPT_MONTH, OPT_INTERVAL, OPT_FLOOR,
       OPT_RELAX, OPT_MET_METERED, OPT_TARGET, OPT_SHOW, ACT_HELP = 1 };

#define OFF(f) offsetof(sim_cli, f)
static const opttab_def sim_opts[] = {
    {.name = "units", .type = OPTTAB_STRING, .offset = OFF(units), .def = DEFAULT_UNITS, .metavar = "FILE",
     .help = "registry CSV"},
    {.name = "policy", .type = OPTTAB_STRING, .offset = OFF(policy), .def = "both", .metavar = "P",
     .help = "static, adaptive or both (then the comparison)"},
    {.name = "seed", .type = OPTTAB_CALL, .id = OPT_SEED, .metavar = "N",
     .help = "placement, rates, availability, jitter (default 1)"},
    {.name = "volunteers", .type = OPTTAB_CALL, .id = OPT_VOLUNTEERS, .metavar = "N",
     .help = "generator: volunteers in all (default 20000)"},
    {.name = "volunteers-file", .type = OPTTAB_STRING, .offset = OFF(vfile), .metavar = "CSV",
     .help = "volunteers per commune instead: code,fixed,mobile with a header line"},
    {.name = "zipf", .type = OPTTAB_CALL, .id = OPT_ZIPF, .metavar = "S",
     .help = "generator: commune weight 1/rank^S over shuffled communes (default 1.0; 0 = uniform)"},
    {.name = "mobile-share", .type = OPTTAB_CALL, .id = OPT_MOBILE_SHARE, .metavar = "X",
     .help = "generator: share of volunteers on mobile access (default 0.35)"},
    {.name = "mobile-budget-mb", .type = OPTTAB_CALL, .id = OPT_BUDGET, .metavar = "N",
     .help = "monthly data budget of mobile volunteers (default 2048)"},
    {.name = "month", .type = OPTTAB_CALL, .id = OPT_MONTH, .metavar = "YYYY-MM",
     .help = "the month simulated (default 2025-07)"},
    {.name = "interval-min", .type = OPTTAB_CALL, .id = OPT_INTERVAL, .metavar = "N",
     .help = "the agents' interval in minutes (default 60)"},
    {.name = "floor-min", .type = OPTTAB_CALL, .id = OPT_FLOOR, .metavar = "N",
     .help = "the adaptive floor in minutes (default 15)"},
    {.name = "relax", .type = OPTTAB_CALL, .id = OPT_RELAX, .metavar = "X",
     .help = "the interval factor once met (default 4)"},
    {.name = "met-metered-relax", .type = OPTTAB_CALL, .id = OPT_MET_METERED, .metavar = "X",
     .help = "a mobile (metered) agent once its commune met the target: 0 = no more tests this month (default), "
             "X = its remaining budget spread to month end, X times slower"},
    {.name = "target", .type = OPTTAB_CALL, .id = OPT_TARGET, .metavar = "N",
     .help = "samples per commune, month and class (default 300)"},
    {.name = "show", .type = OPTTAB_CALL, .id = OPT_SHOW, .metavar = "N",
     .help = "rows of the recruiting list printed (default 10)"},
    {.name = "html", .type = OPTTAB_STRING, .offset = OFF(html), .metavar = "FILE",
     .help = "also write the results as HTML with SVG charts"},
    {.name = "plan", .type = OPTTAB_STRING, .offset = OFF(plan), .metavar = "FILE",
     .help = "one policy: every completed test as volunteer,commune,network,start_ms (ispeed-sim-replay sends "
             "them through Kafka to a real collector)"},
    {.name = "counts", .type = OPTTAB_STRING, .offset = OFF(counts), .metavar = "FILE",
     .help = "one policy: the counted samples per commune as code,network,count"},
    {.name = "help", .short_name = 'h', .type = OPTTAB_ACTION, .id = ACT_HELP, .help = "this text"},
};

static int sim_apply(void *cfgp, int id, const char *value, char *err, size_t errsz) {
    sim_cli *cli = cfgp;
    const char *bad = NULL;
    double v;
    switch (id) {
    case OPT_SEED:
        if (parse_num(value, 0, 1e15, &v) < 0) bad = "--seed takes a whole number";
        else cli->prm.seed = cli->cfg.seed = (uint64_t)v;
        break;
    case OPT_VOLUNTEERS:
        if (parse_num(value, 0, 1e7, &v) < 0) bad = "--volunteers takes 0 to 10000000";
        else cli->prm.volunteers = (size_t)v;
        break;
    case OPT_ZIPF:
        if (parse_num(value, 0, 5, &v) < 0) bad = "--zipf takes 0 to 5";
        else cli->prm.zipf = v;
        break;
    case OPT_MOBILE_SHARE:
        if (parse_num(value, 0, 1, &v) < 0) bad = "--mobile-share takes 0 to 1";
        else cli->prm.mobile_share = v;
        break;
    case OPT_BUDGET:
        if (parse_num(value, 1, 1e7, &v) < 0) bad = "--mobile-budget-mb takes 1 to 10000000";
        else cli->prm.mobile_budget = (uint64_t)v << 20;
        break;
    case OPT_MONTH: {
        int64_t a, b;
        if (strlen(value) != 7 || vntime_month_bounds(value, &a, &b) < 0) bad = "--month takes YYYY-MM";
        else memcpy(cli->cfg.month, value, 8);
        break;
    }
    case OPT_INTERVAL:
        if (parse_num(value, 1, 100000, &v) < 0) bad = "--interval-min takes 1 to 100000";
        else cli->cfg.sched.interval_ms = (int64_t)(v * 60000);
        break;
    case OPT_FLOOR:
        if (parse_num(value, 1, 100000, &v) < 0) bad = "--floor-min takes 1 to 100000";
        else cli->cfg.policy.floor_ms = (int64_t)(v * 60000);
        break;
    case OPT_RELAX:
        if (parse_num(value, 1, 100, &v) < 0) bad = "--relax takes 1 to 100";
        else cli->cfg.policy.relax = v;
        break;
    case OPT_MET_METERED:
        if (parse_num(value, 0, 100, &v) < 0) bad = "--met-metered-relax takes 0 to 100";
        else cli->cfg.policy.met_metered_relax = v;
        break;
    case OPT_TARGET:
        if (parse_num(value, 1, 1e6, &v) < 0) bad = "--target takes 1 to 1000000";
        else cli->cfg.quota.target = (uint32_t)v;
        break;
    case OPT_SHOW:
        if (parse_num(value, 0, 1e6, &v) < 0) bad = "--show takes 0 to 1000000";
        else cli->show = (size_t)v;
        break;
    }
    if (!bad) return 0;
    snprintf(err, errsz, "%s, not '%s'", bad, value);
    return -1;
}

static const opttab_spec sim_spec = {
    .program = "ispeed-sim",
    .usage = "usage: ispeed-sim [--units FILE] [--policy static|adaptive|both] [--seed N] [--html FILE]\n"
             "                  [--volunteers N | --volunteers-file CSV] [--zipf S] [--mobile-share X]\n"
             "                  [--mobile-budget-mb N] [--month YYYY-MM] [--interval-min N] [--floor-min N]\n"
             "                  [--relax X] [--target N] [--show N] [--plan FILE] [--counts FILE]\n\n"
             "A month of volunteers' tests in virtual time, with the agent's real scheduler and the\n"
             "collector's real quota, pace and daily-cap code (no Kafka). Deterministic for a seed.",
    .epilog = "Timings go to stderr, so stdout is byte-identical for a seed.",
    .defs = sim_opts,
    .ndefs = sizeof sim_opts / sizeof *sim_opts,
    .apply = sim_apply,
};

int main(int argc, char **argv) {
    sim_cli cli;
    memset(&cli, 0, sizeof cli);
    cli.show = 10;
    sim_params_default(&cli.prm);
    sim_config_default(&cli.cfg);
    int ex = opttab_main(&sim_spec, &cli, argc, argv, 0, NULL, NULL);
    if (ex >= 0) {
        opttab_free(&sim_spec, &cli);
        return ex;
    }
    const char *units = cli.units, *html = cli.html, *vfile = cli.vfile, *policy = cli.policy, *plan = cli.plan,
               *counts = cli.counts;
    size_t show = cli.show;
    sim_params prm = cli.prm;
    sim_config cfg = cli.cfg;
    int run_static = strcmp(policy, "static") == 0 || strcmp(policy, "both") == 0;
    int run_adaptive = strcmp(policy, "adaptive") == 0 || strcmp(policy, "both") == 0;
    if ((plan || counts) && run_static && run_adaptive) {
        fprintf(stderr, "ispeed-sim: --plan and --counts need one --policy (static or adaptive)\n");
        opttab_free(&sim_spec, &cli);
        return 2;
    }
    if (!run_static && !run_adaptive) {
        fprintf(stderr, "ispeed-sim: --policy takes static, adaptive or both, not '%s'\n", policy);
        opttab_free(&sim_spec, &cli);
        return 2;
    }
    char err[512];
    int rc = 1;
    sim_population pop = {0};
    sim_recruiting rec = {0};
    sim_result res[2];
    memset(res, 0, sizeof res);
    const sim_result *done[2];
    size_t ndone = 0;
    registry_t *reg = registry_load(units, err, sizeof err);
    if (!reg) {
        fprintf(stderr, "ispeed-sim: %s\n", err);
        opttab_free(&sim_spec, &cli);
        return 1;
    }
    double t0 = seconds();
    if ((vfile ? sim_population_load(reg, &prm, vfile, &pop, err, sizeof err)
               : sim_population_generate(reg, &prm, &pop, err, sizeof err)) < 0) {
        fprintf(stderr, "ispeed-sim: %s\n", err);
        goto out;
    }
    printf("ispeed-sim %s: %zu communes, %zu volunteers (%s), target %u per class\n", cfg.month,
           registry_count(reg, REGISTRY_COMMUNE), pop.n, pop.source, cfg.quota.target);
    if (!vfile) sim_params_print(&prm, stdout);
    printf("agents: interval %lld min, jitter %lld min, floor %lld min, relax x%.1f, daily cap %u, test failure %.0f%%\n",
           (long long)(cfg.sched.interval_ms / 60000), (long long)(cfg.sched.jitter_ms / 60000),
           (long long)(cfg.policy.floor_ms / 60000), cfg.policy.relax, cfg.daily_cap, cfg.fail_rate * 100);
    if (cfg.policy.met_metered_relax > 0)
        printf("metered agents once their commune met the target: budget spread x%.1f\n", cfg.policy.met_metered_relax);
    else
        printf("metered agents once their commune met the target: no more tests that month\n");
    {
        size_t per[2] = {0, 0};
        size_t with[5] = {0, 0, 0, 0, 0}; /* communes with 0, 1, 2, 3-9, 10+ volunteers */
        unsigned *nper = calloc(registry_size(reg), sizeof *nper);
        if (!nper) goto oom;
        for (size_t i = 0; i < pop.n; i++) per[pop.v[i].mobile]++, nper[pop.v[i].commune->index]++;
        for (size_t i = 0; i < registry_size(reg); i++) {
            if (registry_unit_at(reg, i)->level != REGISTRY_COMMUNE) continue;
            unsigned k = nper[i];
            with[k == 0 ? 0 : k == 1 ? 1 : k == 2 ? 2 : k < 10 ? 3 : 4]++;
        }
        free(nper);
        printf("placement: %zu fixed, %zu mobile; communes with 0: %zu, 1: %zu, 2: %zu, 3-9: %zu, 10+: %zu volunteers\n",
               per[0], per[1], with[0], with[1], with[2], with[3], with[4]);
    }
    for (int adaptive = 0; adaptive < 2; adaptive++) {
        if (!(adaptive ? run_adaptive : run_static)) continue;
        double t = seconds(), cpu = cpu_seconds();
        if (plan && !(cfg.plan = fopen(plan, "w"))) {
            fprintf(stderr, "ispeed-sim: cannot write %s: check the directory\n", plan);
            goto out;
        }
        if (sim_run(reg, &pop, &cfg, adaptive, &res[adaptive], err, sizeof err) < 0) {
            fprintf(stderr, "ispeed-sim: %s\n", err);
            goto out;
        }
        fprintf(stderr, "INFO sim: policy=%s seconds=%.2f cpu_seconds=%.2f tests=%llu\n",
                adaptive ? "adaptive" : "static", seconds() - t, cpu_seconds() - cpu,
                (unsigned long long)res[adaptive].tests);
        if (cfg.plan && fclose(cfg.plan) != 0) {
            cfg.plan = NULL;
            fprintf(stderr, "ispeed-sim: writing %s failed: check the disk\n", plan);
            goto out;
        }
        cfg.plan = NULL;
        if (counts) {
            FILE *f = fopen(counts, "w");
            if (!f) {
                fprintf(stderr, "ispeed-sim: cannot write %s: check the directory\n", counts);
                goto out;
            }
            fputs("code,network,count\n", f);
            for (size_t ci = 0; ci < res[adaptive].ncells; ci++)
                if (res[adaptive].cells[ci].count && registry_unit_at(reg, ci / 2)->level == REGISTRY_COMMUNE)
                    fprintf(f, "%s,%s,%llu\n", registry_unit_at(reg, ci / 2)->code, (ci & 1) ? "mobile" : "fixed",
                            (unsigned long long)res[adaptive].cells[ci].count);
            if (fclose(f) != 0) {
                fprintf(stderr, "ispeed-sim: writing %s failed: check the disk\n", counts);
                goto out;
            }
        }
        sim_report_policy(stdout, reg, &pop, &cfg, &res[adaptive]);
        done[ndone++] = &res[adaptive];
    }
    if (run_static && run_adaptive) sim_report_compare(stdout, reg, &cfg, &res[0], &res[1]);
    if (sim_recruiting_build(reg, &pop, &cfg, &rec) < 0) goto oom;
    sim_report_recruiting(stdout, &rec, show);
    if (html && sim_report_html(html, reg, &pop, &cfg, done, ndone, &rec, err, sizeof err) < 0) {
        fprintf(stderr, "ispeed-sim: %s\n", err);
        goto out;
    }
    fprintf(stderr, "INFO sim: total seconds=%.2f cpu_seconds=%.2f\n", seconds() - t0, cpu_seconds());
    if (fflush(stdout) != 0) goto out;
    rc = 0;
    goto out;
oom:
    fprintf(stderr, "ispeed-sim: out of memory\n");
out:
    if (cfg.plan) fclose(cfg.plan);
    sim_recruiting_free(&rec);
    sim_result_free(&res[0]);
    sim_result_free(&res[1]);
    sim_population_free(&pop);
    registry_free(reg);
    opttab_free(&sim_spec, &cli);
    return rc;
}
