/* ispeed-agent's configuration: its table of options in common/opttab,
 * which reads the INI file (/etc/ispeed/agent.conf), applies command-line
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

/* The subcommands, as opttab_def.cmds bits: which options each takes. */
enum { CONFIG_CMD_TEST = 1, CONFIG_CMD_ENROLL = 2, CONFIG_CMD_RUN = 4, CONFIG_CMD_STATUS = 8, CONFIG_CMD_WITHDRAW = 16 };
/* What config_parse_args returns for --help and config-example's flag. */
enum { CONFIG_ACT_HELP = 1 };

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
    int64_t met_metered_relax;
    int64_t daily_cap;
    /* [budget] */
    uint64_t monthly_bytes; /* 0 = default: unlimited fixed, 2 GB mobile */
    int budget_unlimited;
    /* [spool] */
    uint64_t spool_max_bytes;
    /* [kafka] */
    char *bootstrap;
    char *topic_prefix;
    kafka_props kafka;     /* every other [kafka] key, and -X */
    /* command line only */
    int json, produce;
} agent_config;

/* Every option at its default. */
int config_init(agent_config *cfg, char *err, size_t errsz);
void config_free(agent_config *cfg);

/* Reads an INI file over the current values. Unknown keys are errors (a
 * typo must not silently mean "default"), except in [kafka]. */
int config_load_file(agent_config *cfg, const char *path, char *err, size_t errsz);
/* Applies one command-line flag (without "--"), e.g. ("interval", "30m").
 * Returns 1 if flag is not a configuration flag, 0 on success, negative on
 * a bad value with err set. */
int config_set_flag(agent_config *cfg, const char *flag, const char *value, char *err, size_t errsz);

/* The whole command line of subcommand cmd (CONFIG_CMD_*; argv[0] is its
 * name): defaults, then --config FILE or default_path if it exists, then
 * the flags. 0, CONFIG_ACT_HELP, or negative (OPTTAB_USAGE) with err. */
int config_parse_args(agent_config *cfg, unsigned cmd, int argc, char **argv, const char *default_path, char *err,
                      size_t errsz);

/* usage, then the options of cmd (0: all). */
void config_print_help(FILE *out, const char *usage, unsigned cmd);
void config_print_example(FILE *out);

#endif
