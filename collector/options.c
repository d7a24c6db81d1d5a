/* The collector's options: one common/opttab table gives the command line,
 * the configuration file's keys (same names, under a section), --help, the
 * defaults and --config-example, so they never drift; the fields it writes
 * are struct collector's own. Then --targets, the per-unit target file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector.h"
#include "log.h"
#include "opttab.h"
#include "vntime.h"

enum { ACT_HELP = 1, ACT_EXAMPLE };

static int set_log_level(void *cfg, const char *value, char *err, size_t errsz) {
    (void)cfg;
    enum log_level lv;
    if (log_parse_level(value, &lv) < 0) {
        snprintf(err, errsz, "must be error, warn, info or debug, not '%s'", value);
        return -1;
    }
    log_set_level(lv);
    return 0;
}

static int parse_long(const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

/* "district=150", "commune:mobile=100", "mobile=200": straight into the
 * quota configuration, each occurrence adding one. */
static int set_target_level(void *cfg, const char *arg, char *err, size_t errsz) {
    quota_config *qc = &((struct collector *)cfg)->qcfg;
    char buf[64];
    int level = 0, net = 0;
    long v;
    const char *eq = strchr(arg, '=');
    if (!eq || (size_t)(eq - arg) >= sizeof buf || parse_long(eq + 1, 1, 1000000000L, &v) < 0) goto bad;
    memcpy(buf, arg, (size_t)(eq - arg));
    buf[eq - arg] = '\0';
    for (char *save = NULL, *tok = strtok_r(buf, ":", &save); tok; tok = strtok_r(NULL, ":", &save)) {
        enum registry_level lv;
        if (!strcmp(tok, "fixed") && !net)
            net = QUOTA_FIXED;
        else if (!strcmp(tok, "mobile") && !net)
            net = QUOTA_MOBILE;
        else if (registry_parse_level(tok, &lv) == 0 && !level)
            level = (int)lv;
        else
            goto bad;
    }
    if (!level && !net) goto bad;
    qc->level_target[level][net] = (uint32_t)v;
    return 0;
bad:
    snprintf(err, errsz, "wants LEVEL[:CLASS]=N or CLASS=N (levels province, district, commune; classes fixed, "
             "mobile), not '%s'", arg);
    return -1;
}

#define OFF(f) offsetof(struct collector, f)
static const opttab_def options[] = {
    {.name = "bootstrap", .short_name = 'b', .type = OPTTAB_STRING, .offset = OFF(bootstrap), .section = "kafka",
     .metavar = "BOOTSTRAP", .help = "Kafka bootstrap list (required), e.g. localhost:9092"},
    {.name = "group", .type = OPTTAB_STRING, .offset = OFF(group), .section = "kafka", .def = "ispeed-collector",
     .metavar = "ID", .help = "consumer group"},
    {.name = "topic-prefix", .type = OPTTAB_STRING, .offset = OFF(prefix), .section = "kafka",
     .def = KAFKA_DEFAULT_PREFIX, .metavar = "P", .help = "prefix of every topic"},
    {.name = "transactions", .type = OPTTAB_CHOICE, .offset = OFF(transactions), .section = "kafka", .def = "on",
     .choices = "on|off", .metavar = "MODE",
     .help = "on: outputs and input offsets commit together, a zombie cannot commit; off: for the embedded "
             "Kafka"},
    {.name = "commit-interval", .type = OPTTAB_DURATION, .offset = OFF(commit_interval_ms), .section = "kafka",
     .def = "500", .bare_ms = 1, .lo = 50, .hi = 60000, .metavar = "MS",
     .help = "with transactions, commit the outputs this often (50 ms..1 min)"},
    {.name = "instance-id", .type = OPTTAB_STRING, .offset = OFF(instance_id), .section = "kafka", .metavar = "ID",
     .help = "transactional.id <prefix>collector.<group>.<ID>: keep it across restarts, e.g. the host name "
             "(default: host-pid)"},
    {.name = "units", .type = OPTTAB_STRING, .offset = OFF(units_path), .section = "collector",
     .example = "/usr/share/ispeed-collector/units.csv", .metavar = "FILE",
     .help = "registry CSV code,level,parent,name,type (required)"},
    {.name = "merges", .type = OPTTAB_STRING, .offset = OFF(merges_path), .section = "collector", .metavar = "FILE",
     .help = "commune merges CSV old_commune,new_commune,kind: count old codes as new"},
    {.name = "http", .type = OPTTAB_STRING, .offset = OFF(http_addr), .section = "collector",
     .example = "127.0.0.1:9464", .metavar = "ADDR:PORT", .help = "serve /metrics (Prometheus) and /healthz"},
    {.name = "replay", .type = OPTTAB_FLAG, .offset = OFF(icfg.replay), .section = "collector",
     .help = "count every sample in its month whenever it arrives (back-fill)"},
    {.name = "checkpoint-interval", .type = OPTTAB_DURATION, .offset = OFF(ckpt_interval_ms), .section = "collector",
     .def = "1000", .bare_ms = 1, .lo = 50, .hi = 600000, .metavar = "MS",
     .help = "write the checkpoints of the partitions that moved this often (50 ms..10 min)"},
    {.name = "eval-interval", .type = OPTTAB_DURATION, .offset = OFF(eval_interval_ms), .section = "collector",
     .def = "5", .lo = 1000, .hi = 3600000, .metavar = "S",
     .help = "seconds between pace evaluations of every unit (1 s..1 h)"},
    {.name = "verify-threads", .type = OPTTAB_INT, .offset = OFF(verify_threads), .section = "collector", .lo = 1,
     .hi = SIGPOOL_MAX_THREADS, .metavar = "N",
     .help = "threads verifying signatures, 1 = on the event loop's (default: online CPUs, at most 16)"},
    {.name = "authorities", .type = OPTTAB_STRING, .offset = OFF(authorities_path), .section = "trust",
     .example = "/etc/ispeed/authorities.csv", .metavar = "FILE",
     .help = "authorities.csv province,public_key_hex,name: whose enrollment tokens count (required with "
             "--enrollment token)"},
    {.name = "enrollment", .type = OPTTAB_CHOICE, .offset = OFF(enrollment), .section = "trust", .def = "token",
     .choices = "token|open", .metavar = "MODE",
     .help = "token: an agent counts only with a valid token of its province's authority; open: any "
             "self-signed enrollment (demos and tests that say so)"},
    {.name = "servers", .type = OPTTAB_STRING, .offset = OFF(servers_path), .section = "trust",
     .example = "/etc/ispeed/servers.csv", .metavar = "FILE",
     .help = "servers.csv server_id,public_key_hex,name: whose receipts count (required with --attestation "
             "required)"},
    {.name = "attestation", .type = OPTTAB_CHOICE, .offset = OFF(attestation), .section = "trust",
     .def = "required", .choices = "required|optional", .metavar = "MODE",
     .help = "required: a sample counts only with a listed server's receipt; optional: unattested samples are "
             "set apart, never in the attested count"},
    {.name = "prefix-daily-cap", .type = OPTTAB_INT, .offset = OFF(prefix_daily_cap), .section = "trust",
     .def = "36", .lo = 0, .hi = 1000000, .metavar = "N",
     .help = "attested samples per client /24 or /48 per commune per day, 0 = no cap"},
    {.name = "max-agents", .type = OPTTAB_INT, .offset = OFF(max_agents), .section = "trust", .def = "1000000",
     .lo = 0, .hi = 100000000, .metavar = "N",
     .help = "agents the table holds at most; a new one beyond is refused (agents_full), "
             "0 = no bound"},
    {.name = "agent-expiry", .type = OPTTAB_DURATION, .offset = OFF(agent_expiry_ms), .section = "trust",
     .def = "1d", .lo = 0, .hi = 0, .metavar = "DURATION",
     .help = "failed enrollments leave the table after this, never-verified ones are verified then "
             "(e.g. 12h, 1d), 0 = never"},
    {.name = "log-level", .type = OPTTAB_CUSTOM, .set = set_log_level, .section = "collector", .def = "info",
     .metavar = "L", .help = "error, warn, info or debug"},
    {.name = "target", .type = OPTTAB_INT, .offset = OFF(target), .section = "quota", .def = "300", .lo = 1,
     .hi = 1000000000, .metavar = "N", .help = "samples per unit, month and network class"},
    {.name = "target-level", .type = OPTTAB_CUSTOM, .set = set_target_level, .section = "quota",
     .metavar = "L[:C]=N",
     .help = "target of a level and/or class, e.g. district=150, commune:mobile=100, mobile=200 (repeatable)"},
    {.name = "targets", .type = OPTTAB_STRING, .offset = OFF(targets_path), .section = "quota", .metavar = "FILE",
     .help = "per-unit targets, CSV unit,network,target (network fixed, mobile or empty)"},
    {.name = "behind-share", .type = OPTTAB_FRACTION, .offset = OFF(qcfg.behind_share), .section = "quota",
     .def = "0.8", .metavar = "F", .help = "BEHIND below this share of the expected count"},
    {.name = "pace-start-day", .type = OPTTAB_INT, .offset = OFF(pace_start_day), .section = "quota", .def = "3",
     .lo = 1, .hi = 31, .metavar = "D", .help = "no unit is BEHIND before this day of the month"},
    {.name = "daily-cap", .type = OPTTAB_INT, .offset = OFF(daily_cap), .section = "quota", .def = "12", .lo = 0,
     .hi = 1000000, .metavar = "N", .help = "samples one agent may count per unit per day, 0 = no cap"},
    {.name = "grace-day", .type = OPTTAB_INT, .offset = OFF(grace_day), .section = "quota", .def = "5", .lo = 1,
     .hi = 28, .metavar = "D", .help = "samples arriving from day D 00:00 of the next month are late"},
    {.name = "digest-hour", .type = OPTTAB_INT, .offset = OFF(digest_hour), .section = "quota", .lo = 0, .hi = 23,
     .metavar = "H",
     .help = "send each province's daily digest of BEHIND units at this hour, 0..23 Vietnam time (default: none)"},
    {.name = "config-example", .type = OPTTAB_ACTION, .id = ACT_EXAMPLE,
     .help = "print every configuration key with its default"},
    {.name = "help", .short_name = 'h', .type = OPTTAB_ACTION, .id = ACT_HELP, .help = "this text"},
};

static const opttab_spec spec = {
    .program = "ispeed-collector",
    .usage = "usage: ispeed-collector [--config FILE] -b BOOTSTRAP --units FILE [options] [-X prop=value ...]\n\n"
             "Consumes signed samples, counts them per commune, district and province, month\n"
             "and network class, and publishes quota states, alerts and rejects to Kafka.\n"
             "Every option but --config, --config-example and --help is also a key of the\n"
             "configuration file, which the command line overrides; [kafka]'s other keys are\n"
             "librdkafka properties, as -X.",
    .epilog = VNTIME_HELP "\n\nExit status: 0 stopped cleanly, 1 failure, 2 bad usage.",
    .config_path = CONFIG_PATH,
    .config = 1,
    .defs = options,
    .ndefs = sizeof options / sizeof *options,
    .props = 1,
    .props_offset = OFF(props),
    .passthrough = "kafka",
};

/* Signature checks are what bounds a single loop thread, so by default every
 * core takes a share. Capped at 16: the rest of the loop (decode, count,
 * produce) stays on one thread, and threads it cannot feed only wait. */
static int64_t default_verify_threads(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) return 1;
    return n > 16 ? 16 : n;
}

void options_defaults(struct collector *c) {
    /* What the table has no default for; its own defaults are applied by
     * opttab_parse, before the file and the command line. */
    quota_config_default(&c->qcfg);
    ingest_config_default(&c->icfg);
    c->digest_hour = -1;
    c->verify_threads = 0; /* online CPUs, once the table has not set it */
}

int options_parse(struct collector *c, int argc, char **argv) {
    char err[600];
    int nops = 0;
    int rc = opttab_parse(&spec, 0, c, argc, argv, &nops, err, sizeof err);
    if (rc == ACT_HELP) opttab_print_help(stdout, &spec, 0);
    if (rc == ACT_EXAMPLE) opttab_print_example(stdout, &spec);
    if (rc > 0) return 1;
    if (rc < 0) {
        /* A configuration file that cannot be read is bad usage too (status
         * 2, as before the table was common/opttab's). */
        fprintf(stderr, "ispeed-collector: %s%s\n", err, rc == OPTTAB_USAGE ? "; see --help" : "");
        return 2;
    }
    if (nops > 0) {
        fprintf(stderr, "ispeed-collector: unexpected argument '%s'; see --help\n", argv[1]);
        return 2;
    }
    if (!c->bootstrap || !*c->bootstrap) {
        fprintf(stderr, "ispeed-collector: missing -b BOOTSTRAP: give the Kafka bootstrap list, e.g. -b "
                        "localhost:9092\n");
        return 2;
    }
    if (!c->units_path || !*c->units_path) {
        fprintf(stderr, "ispeed-collector: missing --units FILE: give the registry CSV, e.g. --units "
                        "vn-units-2025-07.csv\n");
        return 2;
    }
    if (!c->group || !*c->group) {
        fprintf(stderr, "ispeed-collector: --group must not be empty\n");
        return 2;
    }
    /* The secure defaults need their lists: say what to pass rather than
     * run a collector that counts nothing (or everything). */
    if (c->enrollment == ENROLL_TOKEN && (!c->authorities_path || !*c->authorities_path)) {
        fprintf(stderr, "ispeed-collector: --enrollment token (the default) needs --authorities FILE, the "
                        "authorities.csv of `ispeedctl authority init`; or say --enrollment open (demos and tests)\n");
        return 2;
    }
    if (c->attestation == ATTEST_REQUIRED && (!c->servers_path || !*c->servers_path)) {
        fprintf(stderr, "ispeed-collector: --attestation required (the default) needs --servers FILE, the "
                        "servers.csv lines `ispeed-server --key` prints; or say --attestation optional\n");
        return 2;
    }
    if (c->authorities_path && *c->authorities_path &&
        !(c->authorities = trust_authorities_load(c->authorities_path, err, sizeof err))) {
        fprintf(stderr, "ispeed-collector: --authorities: %s\n", err);
        return 2;
    }
    if (c->servers_path && *c->servers_path && !(c->servers = trust_servers_load(c->servers_path, err, sizeof err))) {
        fprintf(stderr, "ispeed-collector: --servers: %s\n", err);
        return 2;
    }
    c->icfg.attestation = c->attestation == ATTEST_REQUIRED ? VALIDATE_ATTEST_REQUIRED : VALIDATE_ATTEST_OPTIONAL;
    c->icfg.servers = c->servers;
    c->icfg.prefix_daily_cap = (unsigned)c->prefix_daily_cap;
    /* The table's integers, where the counting core wants them. */
    c->qcfg.target = (uint32_t)c->target;
    c->qcfg.pace_start_day = (int)c->pace_start_day;
    c->icfg.daily_cap = (unsigned)c->daily_cap;
    c->icfg.grace_ms = (c->grace_day - 1) * 86400000LL;
    if (c->verify_threads < 1) c->verify_threads = default_verify_threads();
    return 0;
}

void options_free(struct collector *c) {
    trust_keys_free(c->authorities);
    trust_keys_free(c->servers);
    c->authorities = c->servers = NULL;
    opttab_free(&spec, c);
}

/* --targets FILE: "unit,network,target" lines; a header and '#' lines are
 * skipped; network fixed, mobile or empty (both). */
int options_load_targets(quota_counts_t *qt, const registry_t *reg, const char *path, char *err, size_t errsz) {
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
