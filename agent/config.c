/* The agent's option table (common/opttab does the parsing). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "opttab.h"

static int parse_clock(const char *s, int *minutes) {
    int h, m;
    char tail;
    if (sscanf(s, "%2d:%2d%c", &h, &m, &tail) != 2 || h < 0 || h > 23 || m < 0 || m > 59) return -1;
    *minutes = h * 60 + m;
    return 0;
}

static int set_quiet(void *c, const char *value, char *err, size_t errsz) {
    agent_config *cfg = c;
    int a, b;
    char first[8];
    const char *dash = strchr(value, '-');
    if (*value == '\0') {
        cfg->quiet_start_min = cfg->quiet_end_min = -1;
        return 0;
    }
    if (!dash || dash - value >= (long)sizeof first) goto bad;
    memcpy(first, value, (size_t)(dash - value));
    first[dash - value] = '\0';
    if (parse_clock(first, &a) < 0 || parse_clock(dash + 1, &b) < 0 || a == b) goto bad;
    cfg->quiet_start_min = a;
    cfg->quiet_end_min = b;
    return 0;
bad:
    snprintf(err, errsz, "must be HH:MM-HH:MM, e.g. 23:00-06:00, not '%s'", value);
    return -1;
}

/* The file lists them at once, space-separated; each flag adds one. */
static int set_servers(void *c, const char *value, char *err, size_t errsz) {
    agent_config *cfg = c;
    char *copy = strdup(value), *save = NULL;
    if (!copy) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    for (char *tok = strtok_r(copy, " ,\t", &save); tok; tok = strtok_r(NULL, " ,\t", &save)) {
        if (cfg->nservers == CONFIG_MAX_SERVERS) {
            snprintf(err, errsz, "lists more than %d servers", CONFIG_MAX_SERVERS);
            goto fail;
        }
        if (strncmp(tok, "http://", 7) != 0 && strncmp(tok, "https://", 8) != 0) {
            snprintf(err, errsz, "'%s' is not an http:// URL", tok);
            goto fail;
        }
        if (!(cfg->servers[cfg->nservers] = strdup(tok))) {
            snprintf(err, errsz, "out of memory");
            goto fail;
        }
        cfg->nservers++;
    }
    free(copy);
    return 0;
fail:
    free(copy);
    return -1;
}

#define OFF(f) offsetof(agent_config, f)

static const opttab_def config_options[] = {
    {.name = "commune", .section = "agent", .type = OPTTAB_STRING, .def = "", .offset = OFF(commune),
     .metavar = "CODE", .help = "GSO code of the commune this machine is in (required to test)"},
    {.name = "units", .section = "agent", .type = OPTTAB_STRING, .def = "/usr/share/ispeed/units.csv",
     .offset = OFF(units), .metavar = "FILE",
     .help = "registry CSV code,level,parent,name,type the commune is checked against"},
    {.name = "state-dir", .section = "agent", .type = OPTTAB_STRING, .def = "/var/lib/ispeed",
     .offset = OFF(state_dir), .metavar = "DIR", .help = "key, sequence numbers, spool, budget and status"},
    {.name = "access", .section = "agent", .type = OPTTAB_STRING, .def = "", .offset = OFF(access),
     .metavar = "TYPE", .help = "fixed, wifi, 4g or 5g; empty: from the default route's interface"},
    {.name = "operator", .section = "agent", .type = OPTTAB_STRING, .def = "", .offset = OFF(operator_name),
     .metavar = "NAME", .help = "the Internet provider, recorded in samples"},
    {.name = "token", .section = "agent", .type = OPTTAB_STRING, .def = "", .offset = OFF(token), .metavar = "T",
     .help = "province-issued enrollment token, optional"},
    {.name = "log-level", .section = "agent", .type = OPTTAB_STRING, .def = "info", .offset = OFF(log_level),
     .metavar = "L", .help = "error, warn, info or debug"},
    {.name = "server", .key = "servers", .section = "test", .type = OPTTAB_CUSTOM, .set = set_servers,
     .metavar = "URL", .help = "test servers, space-separated URLs; the lowest idle latency wins (flag repeatable)"},
    {.name = "duration", .section = "test", .type = OPTTAB_INT, .def = "10", .offset = OFF(duration_s), .lo = 1,
     .hi = 60, .metavar = "S", .help = "seconds per direction, at most"},
    {.name = "streams", .section = "test", .type = OPTTAB_INT, .def = "4", .offset = OFF(streams), .lo = 1, .hi = 16,
     .metavar = "N", .help = "parallel TCP streams"},
    {.name = "max-bytes", .section = "test", .type = OPTTAB_SIZE, .def = "0", .offset = OFF(max_bytes),
     .metavar = "SIZE", .help = "cap on one test's data, 0 = none"},
    {.name = "interval", .section = "schedule", .type = OPTTAB_DURATION, .def = "60m", .offset = OFF(interval_ms),
     .metavar = "D", .help = "time between tests"},
    {.name = "jitter", .section = "schedule", .type = OPTTAB_DURATION, .def = "10m", .offset = OFF(jitter_ms),
     .metavar = "D",
     .help = "each test moves by a random amount up to this, earlier or later, so agents do not test in lockstep"},
    {.name = "quiet-hours", .section = "schedule", .type = OPTTAB_CUSTOM, .set = set_quiet, .def = "",
     .metavar = "HH:MM-HH:MM", .help = "Vietnam's time when no test starts, e.g. 23:00-06:00; empty = none"},
    {.name = "policy", .section = "schedule", .type = OPTTAB_STRING, .def = "static",
     .offset = OFF(policy), .metavar = "P",
     .help = "static, or adaptive: follow the commune's demand (faster while behind, slower once met)"},
    {.name = "floor", .section = "schedule", .type = OPTTAB_DURATION, .def = "15m", .offset = OFF(floor_ms),
     .metavar = "D", .help = "adaptive: never test more often than this"},
    {.name = "relax", .section = "schedule", .type = OPTTAB_INT, .def = "4", .offset = OFF(relax), .lo = 1, .hi = 100,
     .metavar = "N", .help = "adaptive: the interval is multiplied by this once the commune met its target"},
    {.name = "met-metered-relax", .section = "schedule", .type = OPTTAB_INT, .def = "0",
     .offset = OFF(met_metered_relax), .lo = 0, .hi = 100, .metavar = "N",
     .help = "adaptive, metered link, commune met: 0 = no more tests this month; N = the budget's spread N times slower"},
    {.name = "daily-cap", .section = "schedule", .type = OPTTAB_INT, .def = "12", .offset = OFF(daily_cap), .lo = 0,
     .hi = 1000, .metavar = "N",
     .help = "adaptive: tests a Vietnamese day that the collector counts (its --daily-cap); 0 = no limit"},
    {.name = "monthly-budget", .key = "monthly_bytes", .section = "budget", .type = OPTTAB_SIZE, .def = "0",
     .offset = OFF(monthly_bytes), .metavar = "SIZE",
     .help = "data a month's tests may use; 0 = unlimited on fixed access, 2G on mobile"},
    {.name = "unlimited-budget", .key = "unlimited", .section = "budget", .type = OPTTAB_FLAG, .def = "false",
     .offset = OFF(budget_unlimited), .help = "true: no monthly cap even on mobile access"},
    {.name = "spool-max", .key = "max_bytes", .section = "spool", .type = OPTTAB_SIZE, .def = "64M",
     .offset = OFF(spool_max_bytes), .metavar = "SIZE",
     .help = "size cap of the spool; the oldest samples are evicted first, and counted"},
    {.name = "bootstrap", .short_name = 'b', .alias = "brokers", .section = "kafka", .type = OPTTAB_STRING,
     .def = "", .offset = OFF(bootstrap), .metavar = "BOOTSTRAP", .help = "Kafka bootstrap list host:port,..."},
    {.name = "topic-prefix", .section = "kafka", .type = OPTTAB_STRING, .def = KAFKA_DEFAULT_PREFIX,
     .offset = OFF(topic_prefix), .metavar = "P", .help = "prefix of every topic"},
    {.name = "json", .type = OPTTAB_FLAG, .offset = OFF(json), .cmds = CONFIG_CMD_TEST | CONFIG_CMD_STATUS,
     .help = "print the result (test) or the status as JSON"},
    {.name = "produce", .type = OPTTAB_FLAG, .offset = OFF(produce), .cmds = CONFIG_CMD_TEST,
     .help = "sign the result and send it to Kafka (needs --commune and -b)"},
    {.name = "help", .short_name = 'h', .type = OPTTAB_ACTION, .id = CONFIG_ACT_HELP, .help = "this text"},
};

static const opttab_spec config_spec = {
    .program = "ispeed-agent",
    .config_path = CONFIG_DEFAULT_PATH,
    .config = 1,
    .defs = config_options,
    .ndefs = sizeof config_options / sizeof *config_options,
    .props = 1,
    .props_offset = OFF(kafka),
    .passthrough = "kafka",
};

int config_init(agent_config *cfg, char *err, size_t errsz) {
    memset(cfg, 0, sizeof *cfg);
    cfg->quiet_start_min = cfg->quiet_end_min = -1;
    return opttab_defaults(&config_spec, 0, cfg, err, errsz) < 0 ? -1 : 0;
}

void config_free(agent_config *cfg) {
    opttab_free(&config_spec, cfg);
    for (size_t i = 0; i < cfg->nservers; i++) free(cfg->servers[i]);
    memset(cfg, 0, sizeof *cfg);
}

int config_load_file(agent_config *cfg, const char *path, char *err, size_t errsz) {
    return opttab_load_file(&config_spec, cfg, path, err, errsz) < 0 ? -1 : 0;
}

int config_set_flag(agent_config *cfg, const char *flag, const char *value, char *err, size_t errsz) {
    return opttab_set(&config_spec, cfg, flag, value, err, errsz);
}

int config_parse_args(agent_config *cfg, unsigned cmd, int argc, char **argv, const char *default_path, char *err,
                      size_t errsz) {
    opttab_spec spec = config_spec;
    int nops = 0;
    /* Only the daemon reads the packaged file unasked. */
    spec.config_path = default_path;
    memset(cfg, 0, sizeof *cfg);
    cfg->quiet_start_min = cfg->quiet_end_min = -1;
    int rc = opttab_parse(&spec, cmd, cfg, argc, argv, &nops, err, errsz);
    if (rc == 0 && nops > 0) {
        snprintf(err, errsz, "unexpected argument '%s'", argv[1]);
        return OPTTAB_USAGE;
    }
    return rc;
}

void config_print_help(FILE *out, const char *usage, unsigned cmd) {
    opttab_spec spec = config_spec;
    spec.usage = usage;
    opttab_print_help(out, &spec, cmd);
}

void config_print_example(FILE *out) { opttab_print_example(out, &config_spec); }
