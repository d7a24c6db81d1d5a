/* The agent's option table and its INI reader. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>

enum config_type { CT_STRING, CT_SERVERS, CT_INT, CT_DURATION, CT_BYTES, CT_QUIET, CT_BOOL };

typedef struct config_option {
    const char *section, *key, *flag;
    enum config_type type;
    const char *def;       /* applied by config_init; NULL = empty */
    size_t offset;
    int64_t lo, hi;        /* bounds of CT_INT */
    const char *help;
} config_option;

#define OFF(f) offsetof(agent_config, f)

static const config_option config_options[] = {
    {"agent", "commune", "commune", CT_STRING, "", OFF(commune), 0, 0,
     "GSO code of the commune this machine is in (required to test)"},
    {"agent", "units", "units", CT_STRING, "/usr/share/ispeed/units.csv", OFF(units), 0, 0,
     "registry CSV code,level,parent,name,type the commune is checked against"},
    {"agent", "state_dir", "state-dir", CT_STRING, "/var/lib/ispeed", OFF(state_dir), 0, 0,
     "key, sequence numbers, spool, budget and status"},
    {"agent", "access", "access", CT_STRING, "", OFF(access), 0, 0,
     "fixed, wifi, 4g or 5g; empty: from the default route's interface"},
    {"agent", "operator", "operator", CT_STRING, "", OFF(operator_name), 0, 0, "the Internet provider, recorded in samples"},
    {"agent", "token", "token", CT_STRING, "", OFF(token), 0, 0, "province-issued enrollment token, optional"},
    {"agent", "log_level", "log-level", CT_STRING, "info", OFF(log_level), 0, 0, "error, warn, info or debug"},
    {"test", "servers", "server", CT_SERVERS, "", OFF(servers), 0, 0,
     "test servers, space-separated URLs; the lowest idle latency wins (flag repeatable)"},
    {"test", "duration", "duration", CT_INT, "10", OFF(duration_s), 1, 60, "seconds per direction, at most"},
    {"test", "streams", "streams", CT_INT, "4", OFF(streams), 1, 16, "parallel TCP streams"},
    {"test", "max_bytes", "max-bytes", CT_BYTES, "0", OFF(max_bytes), 0, 0, "cap on one test's data, 0 = none"},
    {"schedule", "interval", "interval", CT_DURATION, "60m", OFF(interval_ms), 0, 0, "time between tests"},
    {"schedule", "jitter", "jitter", CT_DURATION, "10m", OFF(jitter_ms), 0, 0,
     "each test moves by a random amount up to this, earlier or later, so agents do not test in lockstep"},
    {"schedule", "quiet_hours", "quiet-hours", CT_QUIET, "", OFF(quiet_start_min), 0, 0,
     "HH:MM-HH:MM in Vietnam's time when no test starts, e.g. 23:00-06:00; empty = none"},
    {"schedule", "policy", "policy", CT_STRING, "static", OFF(policy), 0, 0,
     "static, or adaptive: follow the commune's demand (faster while behind, slower once met)"},
    {"schedule", "floor", "floor", CT_DURATION, "15m", OFF(floor_ms), 0, 0,
     "adaptive: never test more often than this"},
    {"schedule", "relax", "relax", CT_INT, "4", OFF(relax), 1, 100,
     "adaptive: the interval is multiplied by this once the commune met its target"},
    {"schedule", "daily_cap", "daily-cap", CT_INT, "12", OFF(daily_cap), 0, 1000,
     "adaptive: tests a Vietnamese day that the collector counts (its --daily-cap); 0 = no limit"},
    {"budget", "monthly_bytes", "monthly-budget", CT_BYTES, "0", OFF(monthly_bytes), 0, 0,
     "data a month's tests may use; 0 = unlimited on fixed access, 2G on mobile"},
    {"budget", "unlimited", "unlimited-budget", CT_BOOL, "false", OFF(budget_unlimited), 0, 0,
     "true: no monthly cap even on mobile access"},
    {"spool", "max_bytes", "spool-max", CT_BYTES, "64M", OFF(spool_max_bytes), 0, 0,
     "size cap of the spool; the oldest samples are evicted first, and counted"},
    {"kafka", "brokers", "brokers", CT_STRING, "", OFF(brokers), 0, 0,
     "bootstrap list host:port,...; any other key in [kafka] is a librdkafka property (-X on the command line)"},
    {"kafka", "topic_prefix", "topic-prefix", CT_STRING, KAFKA_DEFAULT_PREFIX, OFF(topic_prefix), 0, 0,
     "prefix of every topic"},
};

#define NOPTIONS (sizeof config_options / sizeof *config_options)

int config_parse_duration_ms(const char *s, int64_t *out) {
    char *end;
    if (!isdigit((unsigned char)*s)) return -1;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno) return -1;
    int64_t unit = 1000;
    if (strcmp(end, "ms") == 0) unit = 1;
    else if (*end == 's' && end[1] == '\0') unit = 1000;
    else if (*end == 'm' && end[1] == '\0') unit = 60000;
    else if (*end == 'h' && end[1] == '\0') unit = 3600000;
    else if (*end == 'd' && end[1] == '\0') unit = 86400000;
    else if (*end != '\0') return -1;
    if (v > INT64_MAX / unit) return -1;
    *out = v * unit;
    return 0;
}

int config_parse_bytes(const char *s, uint64_t *out) {
    char *end;
    if (!isdigit((unsigned char)*s)) return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno) return -1;
    int shift = 0;
    switch (toupper((unsigned char)*end)) {
    case '\0': break;
    case 'K': shift = 10; break;
    case 'M': shift = 20; break;
    case 'G': shift = 30; break;
    case 'T': shift = 40; break;
    default: return -1;
    }
    if (*end && end[1] != '\0' && !(toupper((unsigned char)end[1]) == 'B' && end[2] == '\0')) return -1;
    if (shift && v > (UINT64_MAX >> shift)) return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

static int parse_clock(const char *s, int *minutes) {
    int h, m;
    char tail;
    if (sscanf(s, "%2d:%2d%c", &h, &m, &tail) != 2 || h < 0 || h > 23 || m < 0 || m > 59) return -1;
    *minutes = h * 60 + m;
    return 0;
}

static int set_string(char **slot, const char *value) {
    char *copy = strdup(value);
    if (!copy) return -1;
    free(*slot);
    *slot = copy;
    return 0;
}

static int apply(agent_config *cfg, const config_option *o, const char *value, int from_flag, char *err,
                 size_t errsz) {
    void *field = (char *)cfg + o->offset;
    switch (o->type) {
    case CT_STRING:
        if (set_string(field, value) < 0) goto oom;
        return 0;
    case CT_SERVERS: {
        /* The file lists them all; each flag adds one. */
        if (!from_flag) {
            for (size_t i = 0; i < cfg->nservers; i++) free(cfg->servers[i]);
            cfg->nservers = 0;
        }
        char *copy = strdup(value), *save = NULL;
        if (!copy) goto oom;
        for (char *tok = strtok_r(copy, " ,\t", &save); tok; tok = strtok_r(NULL, " ,\t", &save)) {
            if (cfg->nservers == CONFIG_MAX_SERVERS) {
                free(copy);
                snprintf(err, errsz, "at most %d servers", CONFIG_MAX_SERVERS);
                return -1;
            }
            if (strncmp(tok, "http://", 7) != 0 && strncmp(tok, "https://", 8) != 0) {
                snprintf(err, errsz, "server '%s' is not an http:// URL", tok);
                free(copy);
                return -1;
            }
            if (!(cfg->servers[cfg->nservers++] = strdup(tok))) {
                free(copy);
                goto oom;
            }
        }
        free(copy);
        return 0;
    }
    case CT_INT: {
        char *end;
        long long v = strtoll(value, &end, 10);
        if (*value == '\0' || *end != '\0' || v < o->lo || v > o->hi) {
            snprintf(err, errsz, "%s must be a whole number %lld..%lld, not '%s'", o->key, (long long)o->lo,
                     (long long)o->hi, value);
            return -1;
        }
        *(int64_t *)field = v;
        return 0;
    }
    case CT_DURATION:
        if (config_parse_duration_ms(value, field) < 0) {
            snprintf(err, errsz, "%s must be a duration like 90s, 10m, 1h, not '%s'", o->key, value);
            return -1;
        }
        return 0;
    case CT_BYTES:
        if (config_parse_bytes(value, field) < 0) {
            snprintf(err, errsz, "%s must be a size like 512K, 64M, 2G, not '%s'", o->key, value);
            return -1;
        }
        return 0;
    case CT_BOOL:
        if (strcmp(value, "true") == 0 || strcmp(value, "yes") == 0 || strcmp(value, "1") == 0)
            *(int64_t *)field = 1;
        else if (strcmp(value, "false") == 0 || strcmp(value, "no") == 0 || strcmp(value, "0") == 0)
            *(int64_t *)field = 0;
        else {
            snprintf(err, errsz, "%s must be true or false, not '%s'", o->key, value);
            return -1;
        }
        return 0;
    case CT_QUIET: {
        int a, b;
        const char *dash = strchr(value, '-');
        if (*value == '\0') {
            cfg->quiet_start_min = cfg->quiet_end_min = -1;
            return 0;
        }
        char first[8];
        if (!dash || dash - value >= (long)sizeof first) goto bad_quiet;
        memcpy(first, value, (size_t)(dash - value));
        first[dash - value] = '\0';
        if (parse_clock(first, &a) < 0 || parse_clock(dash + 1, &b) < 0 || a == b) goto bad_quiet;
        cfg->quiet_start_min = a;
        cfg->quiet_end_min = b;
        return 0;
    bad_quiet:
        snprintf(err, errsz, "quiet_hours must be HH:MM-HH:MM, e.g. 23:00-06:00, not '%s'", value);
        return -1;
    }
    }
    return 0;
oom:
    snprintf(err, errsz, "out of memory");
    return -1;
}

int config_init(agent_config *cfg, char *err, size_t errsz) {
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < NOPTIONS; i++)
        if (apply(cfg, &config_options[i], config_options[i].def ? config_options[i].def : "", 0, err, errsz) < 0)
            return -1;
    return 0;
}

void config_free(agent_config *cfg) {
    for (size_t i = 0; i < NOPTIONS; i++)
        if (config_options[i].type == CT_STRING) free(*(char **)((char *)cfg + config_options[i].offset));
    for (size_t i = 0; i < cfg->nservers; i++) free(cfg->servers[i]);
    kafka_props_clear(&cfg->kafka);
    memset(cfg, 0, sizeof *cfg);
}

typedef struct ini_ctx {
    agent_config *cfg;
    const char *path;
    char *err;
    size_t errsz;
    int failed;
} ini_ctx;

static int on_ini(void *user, const char *section, const char *key, const char *value) {
    ini_ctx *c = user;
    if (c->failed) return 0;
    for (size_t i = 0; i < NOPTIONS; i++) {
        const config_option *o = &config_options[i];
        if (strcmp(o->section, section) == 0 && strcmp(o->key, key) == 0) {
            char msg[400];
            if (apply(c->cfg, o, value, 0, msg, sizeof msg) < 0) {
                snprintf(c->err, c->errsz, "%s: [%s] %s", c->path, section, msg);
                c->failed = 1;
                return 0;
            }
            return 1;
        }
    }
    if (strcmp(section, "kafka") == 0) {
        char kv[1024], msg[400];
        snprintf(kv, sizeof kv, "%s=%s", key, value);
        if (kafka_props_add(&c->cfg->kafka, kv, msg, sizeof msg) < 0) {
            snprintf(c->err, c->errsz, "%s: %s", c->path, msg);
            c->failed = 1;
            return 0;
        }
        return 1;
    }
    snprintf(c->err, c->errsz, "%s: unknown key '%s' in [%s]; see deploy/agent.conf.example", c->path, key, section);
    c->failed = 1;
    return 0;
}

int config_load_file(agent_config *cfg, const char *path, char *err, size_t errsz) {
    ini_ctx c = {.cfg = cfg, .path = path, .err = err, .errsz = errsz};
    int rc = ini_parse(path, on_ini, &c);
    if (rc == -1) {
        snprintf(err, errsz, "cannot read configuration %s: %s (give another with --config)", path, strerror(errno));
        return -1;
    }
    if (c.failed) return -1;
    if (rc != 0) {
        snprintf(err, errsz, "%s line %d: not key = value or [section]", path, rc);
        return -1;
    }
    return 0;
}

int config_set_flag(agent_config *cfg, const char *flag, const char *value, char *err, size_t errsz) {
    for (size_t i = 0; i < NOPTIONS; i++)
        if (strcmp(config_options[i].flag, flag) == 0) return apply(cfg, &config_options[i], value, 1, err, errsz);
    return 1;
}

void config_print_help(FILE *out) {
    for (size_t i = 0; i < NOPTIONS; i++) {
        const config_option *o = &config_options[i];
        char left[64];
        snprintf(left, sizeof left, "--%s V", o->flag);
        fprintf(out, "  %-22s %s (%s.%s, default %s)\n", left, o->help, o->section, o->key,
                o->def && *o->def ? o->def : "none");
    }
}

void config_print_example(FILE *out) {
    const char *section = "";
    fprintf(out, "# /etc/ispeed/agent.conf: ispeed-agent's configuration (INI).\n"
                 "# Every key is shown with its default; every key can be overridden on the\n"
                 "# command line with the flag named beside it. Generated by\n"
                 "# `ispeed-agent config-example`; do not edit by hand in deploy/.\n");
    for (size_t i = 0; i < NOPTIONS; i++) {
        const config_option *o = &config_options[i];
        if (strcmp(section, o->section) != 0) {
            section = o->section;
            fprintf(out, "\n[%s]\n", section);
        }
        fprintf(out, "# %s (--%s)\n", o->help, o->flag);
        if (o->def && *o->def)
            fprintf(out, "%s = %s\n", o->key, o->def);
        else
            fprintf(out, "# %s =\n", o->key);
    }
    fprintf(out, "# for example:\n# security.protocol = ssl\n# message.timeout.ms = 60000\n");
}
