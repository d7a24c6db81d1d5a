/* ispeed-sim: a month in virtual time with the real scheduler, quota, pace
 * and daily-cap code, for a policy or both, and the recruiting list. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "population.h"
#include "registry.h"
#include "report.h"
#include "run.h"
#include "vntime.h"

#define DEFAULT_UNITS "../shared/data/vn-units-2025-07.csv"

static void usage(FILE *f) {
    fprintf(f,
            "usage: ispeed-sim [--units FILE] [--policy static|adaptive|both] [--seed N] [--html FILE]\n"
            "                  [--volunteers N | --volunteers-file CSV] [--zipf S] [--mobile-share X]\n"
            "                  [--mobile-budget-mb N] [--month YYYY-MM] [--interval-min N] [--floor-min N]\n"
            "                  [--relax X] [--target N] [--show N]\n"
            "A month of volunteers' tests in virtual time, with the agent's real scheduler and the\n"
            "collector's real quota, pace and daily-cap code (no Kafka). Deterministic for a seed.\n"
            "  --units FILE           registry CSV (default " DEFAULT_UNITS ")\n"
            "  --policy P             static, adaptive or both (default both, then the comparison)\n"
            "  --seed N               placement, rates, availability, jitter (default 1)\n"
            "  --volunteers N         generator: volunteers in all (default 20000)\n"
            "  --volunteers-file CSV  volunteers per commune instead: code,fixed,mobile with a header line\n"
            "  --zipf S               generator: commune weight 1/rank^S over shuffled communes (default 1.0;\n"
            "                         0 = uniform)\n"
            "  --mobile-share X       generator: share of volunteers on mobile access (default 0.35)\n"
            "  --mobile-budget-mb N   monthly data budget of mobile volunteers (default 2048)\n"
            "  --month YYYY-MM        the month simulated (default 2025-07)\n"
            "  --interval-min N       the agents' interval (default 60), --floor-min N the adaptive floor\n"
            "                         (default 15), --relax X the interval factor once met (default 4)\n"
            "  --target N             samples per commune, month and class (default 300)\n"
            "  --show N               rows of the recruiting list printed (default 10)\n"
            "  --html FILE            also write the results as HTML with SVG charts\n"
            "  --plan FILE            one policy: every completed test as volunteer,commune,network,start_ms\n"
            "                         (ispeed-sim-replay sends them through Kafka to a real collector)\n"
            "  --counts FILE          one policy: the counted samples per commune as code,network,count\n"
            "Timings go to stderr, so stdout is byte-identical for a seed.\n");
}

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

int main(int argc, char **argv) {
    static const struct option opts[] = {
        {"units", required_argument, 0, 'u'},          {"policy", required_argument, 0, 'p'},
        {"seed", required_argument, 0, 's'},           {"html", required_argument, 0, 'H'},
        {"volunteers", required_argument, 0, 'n'},     {"volunteers-file", required_argument, 0, 'V'},
        {"zipf", required_argument, 0, 'z'},           {"mobile-share", required_argument, 0, 'm'},
        {"mobile-budget-mb", required_argument, 0, 'b'}, {"month", required_argument, 0, 'M'},
        {"interval-min", required_argument, 0, 'i'},   {"floor-min", required_argument, 0, 'f'},
        {"relax", required_argument, 0, 'r'},          {"target", required_argument, 0, 't'},
        {"show", required_argument, 0, 'S'},           {"help", no_argument, 0, 'h'},
        {"plan", required_argument, 0, 'P'},           {"counts", required_argument, 0, 'C'},
        {0, 0, 0, 0}};
    const char *units = DEFAULT_UNITS, *html = NULL, *vfile = NULL, *policy = "both", *plan = NULL, *counts = NULL;
    size_t show = 10;
    sim_params prm;
    sim_config cfg;
    sim_params_default(&prm);
    sim_config_default(&cfg);
    int c;
    double v;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        const char *bad = NULL;
        switch (c) {
        case 'u': units = optarg; break;
        case 'p': policy = optarg; break;
        case 'H': html = optarg; break;
        case 'V': vfile = optarg; break;
        case 'P': plan = optarg; break;
        case 'C': counts = optarg; break;
        case 's':
            if (parse_num(optarg, 0, 1e15, &v) < 0) bad = "--seed takes a whole number";
            else prm.seed = cfg.seed = (uint64_t)v;
            break;
        case 'n':
            if (parse_num(optarg, 0, 1e7, &v) < 0) bad = "--volunteers takes 0 to 10000000";
            else prm.volunteers = (size_t)v;
            break;
        case 'z':
            if (parse_num(optarg, 0, 5, &v) < 0) bad = "--zipf takes 0 to 5";
            else prm.zipf = v;
            break;
        case 'm':
            if (parse_num(optarg, 0, 1, &v) < 0) bad = "--mobile-share takes 0 to 1";
            else prm.mobile_share = v;
            break;
        case 'b':
            if (parse_num(optarg, 1, 1e7, &v) < 0) bad = "--mobile-budget-mb takes 1 to 10000000";
            else prm.mobile_budget = (uint64_t)v << 20;
            break;
        case 'M': {
            int64_t a, b;
            if (strlen(optarg) != 7 || vntime_month_bounds(optarg, &a, &b) < 0) bad = "--month takes YYYY-MM";
            else memcpy(cfg.month, optarg, 8);
            break;
        }
        case 'i':
            if (parse_num(optarg, 1, 100000, &v) < 0) bad = "--interval-min takes 1 to 100000";
            else cfg.sched.interval_ms = (int64_t)(v * 60000);
            break;
        case 'f':
            if (parse_num(optarg, 1, 100000, &v) < 0) bad = "--floor-min takes 1 to 100000";
            else cfg.policy.floor_ms = (int64_t)(v * 60000);
            break;
        case 'r':
            if (parse_num(optarg, 1, 100, &v) < 0) bad = "--relax takes 1 to 100";
            else cfg.policy.relax = v;
            break;
        case 't':
            if (parse_num(optarg, 1, 1e6, &v) < 0) bad = "--target takes 1 to 1000000";
            else cfg.quota.target = (uint32_t)v;
            break;
        case 'S':
            if (parse_num(optarg, 0, 1e6, &v) < 0) bad = "--show takes 0 to 1000000";
            else show = (size_t)v;
            break;
        case 'h': usage(stdout); return 0;
        default: fprintf(stderr, "ispeed-sim: unknown option: see ispeed-sim --help\n"); return 2;
        }
        if (bad) {
            fprintf(stderr, "ispeed-sim: %s, not '%s'\n", bad, optarg);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ispeed-sim: unexpected argument '%s': see ispeed-sim --help\n", argv[optind]);
        return 2;
    }
    int run_static = strcmp(policy, "static") == 0 || strcmp(policy, "both") == 0;
    int run_adaptive = strcmp(policy, "adaptive") == 0 || strcmp(policy, "both") == 0;
    if ((plan || counts) && run_static && run_adaptive) {
        fprintf(stderr, "ispeed-sim: --plan and --counts need one --policy (static or adaptive)\n");
        return 2;
    }
    if (!run_static && !run_adaptive) {
        fprintf(stderr, "ispeed-sim: --policy takes static, adaptive or both, not '%s'\n", policy);
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
    return rc;
}
