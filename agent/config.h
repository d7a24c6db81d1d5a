/* ispeed-agent's configuration: one table of options that reads the INI
 * file (/etc/ispeed/agent.conf, parsed by inih), applies command-line
 * overrides, prints --help lines and the documented example file, so the
 * three never drift apart. */
#ifndef ISPEED_AGENT_CONFIG_H
#define ISPEED_AGENT_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kafka.h"

#define CONFIG_MAX_SERVERS 16
#define CONFIG_DEFAULT_PATH "/etc/ispeed/agent.conf"

typedef struct agent_config {
    /* [agent] */
    char *commune;
    char *units;
    char *state_dir;
    char *access;          /* "" = from the default route */
    char *operator_name;
    char *token;
    char *log_level;
    /* [test] */
    char *servers[CONFIG_MAX_SERVERS];
    size_t nservers;
    int64_t duration_s;
    int64_t streams;
    uint64_t max_bytes;    /* per test, 0 = none */
    /* [schedule] */
    int64_t interval_ms;
    int64_t jitter_ms;
    int quiet_start_min;   /* minutes after midnight, local time; -1 = no quiet hours */
    int quiet_end_min;
    char *policy;          /* "static" or "adaptive" */
    int64_t floor_ms;
    int64_t relax;
    int64_t daily_cap;
    /* [budget] */
    uint64_t monthly_bytes; /* 0 = default: unlimited fixed, 2 GB mobile */
    int64_t budget_unlimited;
    /* [spool] */
    uint64_t spool_max_bytes;
    /* [kafka] */
    char *brokers;
    char *topic_prefix;
    kafka_props kafka;     /* every other [kafka] key, and -X */
} agent_config;

/* Every option at its default. */
int config_init(agent_config *cfg, char *err, size_t errsz);
void config_free(agent_config *cfg);

/* Reads an INI file over the current values. Unknown keys are errors (a
 * typo must not silently mean "default"), except in [kafka]. */
int config_load_file(agent_config *cfg, const char *path, char *err, size_t errsz);
/* Applies one command-line flag (without "--"), e.g. ("interval", "30m").
 * Returns 1 if flag is not a configuration flag, 0 on success, -1 on a bad
 * value with err set. */
int config_set_flag(agent_config *cfg, const char *flag, const char *value, char *err, size_t errsz);

void config_print_help(FILE *out);
void config_print_example(FILE *out);

/* "90s", "10m", "1h", "2d" or plain seconds. */
int config_parse_duration_ms(const char *s, int64_t *out);
/* "512", "64K", "64M", "2G" (powers of 1024). */
int config_parse_bytes(const char *s, uint64_t *out);

#endif
