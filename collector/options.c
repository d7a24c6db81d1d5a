/* The collector's options: one table gives getopt's options, --help, the
 * defaults and the configuration file's keys (same names, under a section),
 * so they never drift; then the parsing of each value. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector.h"
#include "conffile.h"
#include "log.h"

enum {
    OPT_BOOTSTRAP = 'b',
    OPT_PROP = 'X',
    OPT_HELP = 'h',
    OPT_UNITS = 256,
    OPT_MERGES,
    OPT_HTTP,
    OPT_REPLAY,
    OPT_GROUP,
    OPT_PREFIX,
    OPT_TARGET,
    OPT_BEHIND_SHARE,
    OPT_PACE_START_DAY,
    OPT_DAILY_CAP,
    OPT_GRACE_DAY,
    OPT_EVAL_INTERVAL,
    OPT_LOG_LEVEL,
    OPT_CHECKPOINT_INTERVAL,
    OPT_TARGET_LEVEL,
    OPT_TARGETS,
    OPT_DIGEST_HOUR,
    OPT_CONFIG,
    OPT_CONFIG_EXAMPLE,
    OPT_VERIFY_THREADS,
};


/* Every option once: getopt's table, --help, the defaults and the
 * configuration file's keys (same names, under section) are built from it.
 * section NULL: not a key of the file. example: what the example file sets
 * for a key without default (the packaged paths). */
static const struct {
    const char *name;
    int id, has_arg;
    const char *arg, *section, *def, *example, *help;
} option_defs[] = {
    {"bootstrap", OPT_BOOTSTRAP, 1, "BOOTSTRAP", "kafka", NULL, NULL,
     "Kafka bootstrap list (required), e.g. localhost:9092"},
    {"group", OPT_GROUP, 1, "ID", "kafka", "ispeed-collector", NULL, "consumer group"},
    {"topic-prefix", OPT_PREFIX, 1, "P", "kafka", KAFKA_DEFAULT_PREFIX, NULL, "prefix of every topic"},
    {"units", OPT_UNITS, 1, "FILE", "collector", NULL, "/usr/share/ispeed-collector/units.csv",
     "registry CSV code,level,parent,name,type (required)"},
    {"merges", OPT_MERGES, 1, "FILE", "collector", NULL, NULL,
     "commune merges CSV old_commune,new_commune,kind: count old codes as new"},
    {"http", OPT_HTTP, 1, "ADDR:PORT", "collector", NULL, "127.0.0.1:9464", "serve /metrics (Prometheus) and /healthz"},
    {"replay", OPT_REPLAY, 0, NULL, "collector", NULL, NULL,
     "count every sample in its month whenever it arrives (back-fill)"},
    {"checkpoint-interval", OPT_CHECKPOINT_INTERVAL, 1, "MS", "collector", "1000", NULL,
     "write the checkpoints of the partitions that moved this often"},
    {"eval-interval", OPT_EVAL_INTERVAL, 1, "S", "collector", "5", NULL,
     "seconds between pace evaluations of every unit"},
    {"verify-threads", OPT_VERIFY_THREADS, 1, "N", "collector", NULL, NULL,
     "threads verifying signatures, 1 = on the event loop's (default: online CPUs, at most 16)"},
    {"log-level", OPT_LOG_LEVEL, 1, "L", "collector", "info", NULL, "error, warn, info or debug"},
    {"target", OPT_TARGET, 1, "N", "quota", "300", NULL, "samples per unit, month and network class"},
    {"target-level", OPT_TARGET_LEVEL, 1, "L[:C]=N", "quota", NULL, NULL,
     "target of a level and/or class, e.g. district=150, commune:mobile=100, mobile=200 (repeatable)"},
    {"targets", OPT_TARGETS, 1, "FILE", "quota", NULL, NULL,
     "per-unit targets, CSV unit,network,target (network fixed, mobile or empty)"},
    {"behind-share", OPT_BEHIND_SHARE, 1, "F", "quota", "0.8", NULL, "BEHIND below this share of the expected count"},
    {"pace-start-day", OPT_PACE_START_DAY, 1, "D", "quota", "3", NULL, "no unit is BEHIND before this day of the month"},
    {"daily-cap", OPT_DAILY_CAP, 1, "N", "quota", "12", NULL,
     "samples one agent may count per unit per day, 0 = no cap"},
    {"grace-day", OPT_GRACE_DAY, 1, "D", "quota", "5", NULL,
     "samples arriving from day D 00:00 of the next month are late"},
    {"digest-hour", OPT_DIGEST_HOUR, 1, "H", "quota", NULL, NULL,
     "send each province's daily digest of BEHIND units at this hour, 0..23 Vietnam time (default: none)"},
    {"config", OPT_CONFIG, 1, "FILE", NULL, NULL, NULL,
     "read options from this INI file first (default " CONFIG_PATH ", if it exists); the command line wins"},
    {"config-example", OPT_CONFIG_EXAMPLE, 0, NULL, NULL, NULL, NULL, "print every configuration key with its default"},
    {"help", OPT_HELP, 0, NULL, NULL, NULL, NULL, "this text"},
};
#define NOPTS (sizeof option_defs / sizeof option_defs[0])

/* The file's view of the table: every option with a section; [kafka]'s
 * other keys are -X properties, as in the agent's file. */
static conffile_option conf_options[NOPTS];
static conffile_spec conf_spec = {
    .program = "ispeed-collector",
    .path = CONFIG_PATH,
    .section = "collector",
    .options = conf_options,
    .passthrough = "kafka",
    .passthrough_flag = 'X',
};

static void conf_spec_init(void) {
    conf_spec.noptions = 0;
    for (size_t i = 0; i < NOPTS; i++)
        if (option_defs[i].section)
            conf_options[conf_spec.noptions++] = (conffile_option){
                .name = option_defs[i].name,
                .has_arg = option_defs[i].has_arg,
                .section = option_defs[i].section,
                .def = option_defs[i].def,
                .example = option_defs[i].example,
                .metavar = option_defs[i].arg,
                .help = option_defs[i].help,
                .repeatable = option_defs[i].id == OPT_TARGET_LEVEL,
            };
}

static void usage(FILE *out) {
    fprintf(out, "usage: ispeed-collector [--config FILE] -b BOOTSTRAP --units FILE [options] [-X prop=value ...]\n\n"
                 "Consumes signed samples, counts them per commune, district and province, month\n"
                 "and network class, and publishes quota states, alerts and rejects to Kafka.\n"
                 "Every option but --config, --config-example and --help is also a key of the\n"
                 "configuration file, which the command line overrides.\n\n");
    for (size_t i = 0; i < NOPTS; i++) {
        char left[64];
        if (option_defs[i].id < 256)
            snprintf(left, sizeof left, "-%c, --%s%s%s", option_defs[i].id, option_defs[i].name,
                     option_defs[i].arg ? " " : "", option_defs[i].arg ? option_defs[i].arg : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", option_defs[i].name, option_defs[i].arg ? " " : "",
                     option_defs[i].arg ? option_defs[i].arg : "");
        fprintf(out, "  %-28s %s", left, option_defs[i].help);
        if (option_defs[i].def) fprintf(out, " (default %s)", option_defs[i].def);
        fputc('\n', out);
    }
    fprintf(out, "  %-28s %s\n", "-X prop=value",
            "any librdkafka property, for every Kafka client (repeatable; in the file: a key of [kafka])");
    fprintf(out, "\n  %-28s %s\n", "env ISPEED_NOW, ISPEED_NOW_AT",
            "for tests: the clock reads ISPEED_NOW (Unix ms or YYYY-MM-DDTHH:MM[:SS] Vietnam time) at the instant "
            "ISPEED_NOW_AT (Unix ms, default start-up) and runs on");
    fprintf(out, "\nExit status: 0 stopped cleanly, 1 failure, 2 bad usage.\n");
}

static int parse_long(const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

/* "district=150", "commune:mobile=100", "mobile=200". */
static int parse_target_level(quota_config *cfg, const char *arg) {
    char buf[64];
    int level = 0, net = 0;
    long v;
    const char *eq = strchr(arg, '=');
    if (!eq || (size_t)(eq - arg) >= sizeof buf || parse_long(eq + 1, 1, 1000000000L, &v) < 0) return -1;
    memcpy(buf, arg, (size_t)(eq - arg));
    buf[eq - arg] = '\0';
    for (char *tok = strtok(buf, ":"); tok; tok = strtok(NULL, ":")) {
        enum registry_level lv;
        if (!strcmp(tok, "fixed") && !net)
            net = QUOTA_FIXED;
        else if (!strcmp(tok, "mobile") && !net)
            net = QUOTA_MOBILE;
        else if (registry_parse_level(tok, &lv) == 0 && !level)
            level = (int)lv;
        else
            return -1;
    }
    if (!level && !net) return -1;
    cfg->level_target[level][net] = (uint32_t)v;
    return 0;
}

/* --targets FILE: "unit,network,target" lines; a header and '#' lines are
 * skipped; network fixed, mobile or empty (both). */
int options_load_targets(quota_table_t *qt, const registry_t *reg, const char *path, char *err, size_t errsz) {
    FILE *f = fopen(path, "r");
    char line[256];
    int lineno = 0;
    if (!f) {
        snprintf(err, errsz, "cannot open --targets %s: %s", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof line, f)) {
        char *unit, *net, *tgt, *end;
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0' || line[0] == '#' || (lineno == 1 && !strncmp(line, "unit,", 5))) continue;
        unit = line;
        if (!(net = strchr(unit, ',')) || !(tgt = strchr(net + 1, ','))) goto bad;
        *net++ = '\0';
        *tgt++ = '\0';
        const registry_unit *u = registry_find(reg, unit);
        long v = strtol(tgt, &end, 10);
        enum quota_network n = 0;
        if (!strcmp(net, "fixed"))
            n = QUOTA_FIXED;
        else if (!strcmp(net, "mobile"))
            n = QUOTA_MOBILE;
        else if (net[0])
            goto bad;
        if (!u || *tgt == '\0' || *end != '\0' || v < 1 || v > 1000000000L) goto bad;
        if (quota_set_unit_target(qt, u, n, (uint32_t)v) < 0) {
            snprintf(err, errsz, "out of memory");
            fclose(f);
            return -1;
        }
    }
    fclose(f);
    return 0;
bad:
    snprintf(err, errsz, "--targets %s line %d: want unit,network,target with a unit of the registry, network "
             "fixed, mobile or empty and a positive target", path, lineno);
    fclose(f);
    return -1;
}

/* Names the file and line when the option being parsed (argv[argi]) came
 * from the configuration file. */
#define USAGE_ERR(...)                                                                                            \
    do {                                                                                                          \
        const char *where_ = conffile_args_origin(ca, argi);                                                     \
        fprintf(stderr, "ispeed-collector: %s%s", where_ ? where_ : "", where_ ? ": " : "");                      \
        fprintf(stderr, __VA_ARGS__);                                                                             \
        fputc('\n', stderr);                                                                                      \
        return 2;                                                                                                 \
    } while (0)

static int parse_args(struct collector *c, const conffile_args *ca, int argc, char **argv) {
    struct option longopts[NOPTS + 1];
    char err[512];
    long v;
    int argi = -1;
    for (size_t i = 0; i < NOPTS; i++)
        longopts[i] = (struct option){option_defs[i].name, option_defs[i].has_arg ? required_argument : no_argument,
                                      NULL, option_defs[i].id};
    memset(&longopts[NOPTS], 0, sizeof longopts[NOPTS]);
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":b:X:h", longopts, NULL)) != -1) {
        argi = optind - 1;
        switch (opt) {
        case OPT_BOOTSTRAP: c->bootstrap = optarg; break;
        case OPT_PROP:
            if (kafka_props_add(&c->props, optarg, err, sizeof err) < 0) USAGE_ERR("%s", err);
            break;
        case OPT_HELP: usage(stdout); return 1;
        case OPT_CONFIG: break; /* read by conffile_args_new */
        case OPT_CONFIG_EXAMPLE: conffile_print_example(stdout, &conf_spec); return 1;
        case OPT_UNITS: c->units_path = optarg; break;
        case OPT_MERGES: c->merges_path = optarg; break;
        case OPT_HTTP: c->http_addr = optarg; break;
        case OPT_REPLAY: c->icfg.replay = 1; break;
        case OPT_GROUP:
            if (!*optarg) USAGE_ERR("--group must not be empty");
            c->group = optarg;
            break;
        case OPT_PREFIX: c->prefix = optarg; break;
        case OPT_TARGET:
            if (parse_long(optarg, 1, 1000000000L, &v) < 0) USAGE_ERR("--target must be a positive count, not '%s'", optarg);
            c->qcfg.target = (uint32_t)v;
            break;
        case OPT_BEHIND_SHARE: {
            char *end;
            double f = strtod(optarg, &end);
            if (*optarg == '\0' || *end != '\0' || !(f > 0.0 && f <= 1.0))
                USAGE_ERR("--behind-share must be a fraction in (0, 1], e.g. 0.8, not '%s'", optarg);
            c->qcfg.behind_share = f;
            break;
        }
        case OPT_PACE_START_DAY:
            if (parse_long(optarg, 1, 31, &v) < 0) USAGE_ERR("--pace-start-day must be a day 1..31, not '%s'", optarg);
            c->qcfg.pace_start_day = (int)v;
            break;
        case OPT_DAILY_CAP:
            if (parse_long(optarg, 0, 1000000, &v) < 0) USAGE_ERR("--daily-cap must be a count (0 = none), not '%s'", optarg);
            c->icfg.daily_cap = (unsigned)v;
            break;
        case OPT_GRACE_DAY:
            if (parse_long(optarg, 1, 28, &v) < 0) USAGE_ERR("--grace-day must be a day 1..28, not '%s'", optarg);
            c->icfg.grace_ms = (v - 1) * 86400000LL;
            break;
        case OPT_EVAL_INTERVAL:
            if (parse_long(optarg, 1, 3600, &v) < 0) USAGE_ERR("--eval-interval must be 1..3600 seconds, not '%s'", optarg);
            c->eval_interval_s = (int)v;
            break;
        case OPT_LOG_LEVEL: {
            enum log_level lv;
            if (log_parse_level(optarg, &lv) < 0) USAGE_ERR("--log-level must be error, warn, info or debug, not '%s'", optarg);
            log_set_level(lv);
            break;
        }
        case OPT_TARGET_LEVEL:
            if (parse_target_level(&c->qcfg, optarg) < 0)
                USAGE_ERR("--target-level wants LEVEL[:CLASS]=N or CLASS=N (levels province, district, commune; "
                          "classes fixed, mobile), not '%s'", optarg);
            break;
        case OPT_TARGETS: c->targets_path = optarg; break;
        case OPT_CHECKPOINT_INTERVAL:
            if (parse_long(optarg, 50, 600000, &v) < 0)
                USAGE_ERR("--checkpoint-interval must be 50..600000 ms, not '%s'", optarg);
            c->ckpt_interval_ms = (int)v;
            break;
        case OPT_DIGEST_HOUR:
            if (parse_long(optarg, 0, 23, &v) < 0) USAGE_ERR("--digest-hour must be an hour 0..23, not '%s'", optarg);
            c->digest_hour = (int)v;
            break;
        case OPT_VERIFY_THREADS:
            if (parse_long(optarg, 1, SIGPOOL_MAX_THREADS, &v) < 0)
                USAGE_ERR("--verify-threads must be 1..%d, not '%s'", SIGPOOL_MAX_THREADS, optarg);
            c->verify_threads = (unsigned)v;
            break;
        case ':': USAGE_ERR("option %s needs a value; see --help", argv[optind - 1]);
        default: USAGE_ERR("unknown option %s; see --help", argv[optind - 1]);
        }
    }
    argi = -1;
    if (optind < argc) USAGE_ERR("unexpected argument '%s'; see --help", argv[optind]);
    if (!c->bootstrap) USAGE_ERR("missing -b BOOTSTRAP: give the Kafka bootstrap list, e.g. -b localhost:9092");
    if (!c->units_path) USAGE_ERR("missing --units FILE: give the registry CSV, e.g. --units vn-units-2025-07.csv");
    return 0;
}

/* Signature checks are what bounds a single loop thread, so by default every
 * core takes a share. Capped at 16: the rest of the loop (decode, count,
 * produce) stays on one thread, and threads it cannot feed only wait. */
static unsigned default_verify_threads(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) return 1;
    return n > 16 ? 16 : (unsigned)n;
}


void options_defaults(struct collector *c) {
    /* group, prefix, intervals and quota figures: option_defs' defaults,
     * applied by conffile_args_new as options before the command line's. */
    c->digest_hour = -1;
    quota_config_default(&c->qcfg);
    ingest_config_default(&c->icfg);
    c->verify_threads = default_verify_threads();
}

int options_parse(struct collector *c, int argc, char **argv, conffile_args **args) {
    char err[512];
    /* The configuration file's keys become options before the command
     * line's, so one parser reads both and the command line wins. */
    conf_spec_init();
    *args = conffile_args_new(&conf_spec, argc, argv, err, sizeof err);
    if (!*args) {
        fprintf(stderr, "ispeed-collector: %s\n", err);
        return 2;
    }
    return parse_args(c, *args, conffile_args_argc(*args), conffile_args_argv(*args));
}
