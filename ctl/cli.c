/* Option tables, --help text, shared options and argument checks for
 * ispeedctl's subcommands. */
#include "cli.h"

#include <ctype.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "vntime.h"

enum { CLI_ACT_HELP = 1 };

/* What opttab fills: the shared options, and the subcommand's callback. */
typedef struct cli_state {
    cli_common common;
    cli_apply apply;
    void *ctx;
} cli_state;

static const opttab_def common_opts[] = {
    {.name = "bootstrap", .short_name = 'b', .type = OPTTAB_STRING, .offset = offsetof(cli_state, common.bootstrap),
     .metavar = "BOOTSTRAP", .help = "Kafka bootstrap list, host:port[,...] (required)"},
    {.name = "topic-prefix", .type = OPTTAB_STRING, .offset = offsetof(cli_state, common.prefix),
     .def = KAFKA_DEFAULT_PREFIX, .metavar = "P", .help = "prefix of every topic"},
    {.name = "help", .short_name = 'h', .type = OPTTAB_ACTION, .id = CLI_ACT_HELP, .help = "this text"},
};
#define NCOMMON (sizeof common_opts / sizeof *common_opts)

static int state_apply(void *cfg, int id, const char *value, char *err, size_t errsz) {
    cli_state *st = cfg;
    return st->apply(id, value, st->ctx, err, errsz);
}

/* The subcommand's table, then the shared one: one opttab spec. */
static opttab_def *all_opts(const cli_cmd *cmd, opttab_spec *spec, char *usage, size_t usagesz) {
    size_t n = 0;
    while (cmd->opts[n].name) n++;
    opttab_def *defs = calloc(n + NCOMMON, sizeof *defs);
    if (!defs) return NULL;
    memcpy(defs, cmd->opts, n * sizeof *defs);
    memcpy(defs + n, common_opts, sizeof common_opts);
    snprintf(usage, usagesz, "usage: ispeedctl %s %s\n\n%s", cmd->name, cmd->synopsis, cmd->about);
    *spec = (opttab_spec){
        .program = "ispeedctl",
        .usage = usage,
        .defs = defs,
        .ndefs = n + NCOMMON,
        .props = 1,
        .props_offset = offsetof(cli_state, common.props),
        .apply = state_apply,
    };
    return defs;
}

void cli_usage(FILE *out, const cli_cmd *cmd) {
    opttab_spec spec;
    char usage[2048];
    opttab_def *defs = all_opts(cmd, &spec, usage, sizeof usage);
    if (!defs) return;
    opttab_print_help(out, &spec, 0);
    free(defs);
}

int cli_usage_error(const cli_cmd *cmd, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "ispeedctl %s: %s; see 'ispeedctl %s --help'\n", cmd->name, msg, cmd->name);
    return CLI_USAGE;
}

int cli_fail(const cli_cmd *cmd, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "ispeedctl %s: %s\n", cmd->name, msg);
    return 1;
}

void cli_common_clear(cli_common *common) {
    free(common->bootstrap);
    free(common->prefix);
    kafka_props_clear(&common->props);
    memset(common, 0, sizeof *common);
}

int cli_parse(int argc, char **argv, const cli_cmd *cmd, cli_common *common, cli_apply apply, void *ctx) {
    cli_state st = {.apply = apply, .ctx = ctx};
    opttab_spec spec;
    char err[600], usage[2048];
    int nops = 0, rc = CLI_OK;
    opttab_def *defs = all_opts(cmd, &spec, usage, sizeof usage);
    memset(common, 0, sizeof *common);
    if (!defs) {
        fprintf(stderr, "ispeedctl %s: out of memory\n", cmd->name);
        return CLI_USAGE;
    }
    int r = opttab_parse(&spec, 0, &st, argc, argv, &nops, err, sizeof err);
    *common = st.common; /* cli_common_clear frees it, whatever happens here */
    if (r == CLI_ACT_HELP) {
        opttab_print_help(stdout, &spec, 0);
        rc = CLI_HELP;
        goto out;
    }
    if (r < 0) {
        rc = cli_usage_error(cmd, "%s", err);
        goto out;
    }
    if (nops > 0) {
        rc = cli_usage_error(cmd, "unexpected argument '%s'", argv[1]);
        goto out;
    }
    if (!common->bootstrap || !*common->bootstrap) {
        rc = cli_usage_error(cmd, "-b BOOTSTRAP is required (the Kafka bootstrap list, e.g. -b localhost:9092)");
        goto out;
    }
    /* A -X librdkafka rejects is a usage error; find it before connecting. */
    rd_kafka_conf_t *conf = kafka_conf_new(common->bootstrap, &common->props, err, sizeof err);
    if (!conf) {
        rc = cli_usage_error(cmd, "%s", err);
        goto out;
    }
    rd_kafka_conf_destroy(conf);
out:
    free(defs);
    return rc;
}

int cli_require_province(const cli_cmd *cmd, const char *province) {
    char err[256];
    if (!province) return cli_usage_error(cmd, "--province P is required (a province code, e.g. --province 01)");
    if (cli_check_province(province, err, sizeof err) < 0) return cli_usage_error(cmd, "%s", err);
    return 0;
}

int cli_check_province(const char *code, char *err, size_t errsz) {
    size_t len = strlen(code);
    /* It becomes part of a topic name, whose legal characters are these. */
    for (const char *p = code; *p; p++) {
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_') {
            snprintf(err, errsz, "province '%s' is not a province code (digits, as in the registry: 01, 79)", code);
            return -1;
        }
    }
    if (len == 0 || len > 32) {
        snprintf(err, errsz, "province '%s' is not a province code (digits, as in the registry: 01, 79)", code);
        return -1;
    }
    return 0;
}

int cli_check_month(const char *month, char *err, size_t errsz) {
    int64_t start, end;
    char now[8];
    if (vntime_month_bounds(month, &start, &end) < 0) {
        snprintf(err, errsz, "month '%s' is malformed; write YYYY-MM, e.g. 2025-07", month);
        return -1;
    }
    vntime_month(vntime_now_ms(), now);
    /* YYYY-MM compares correctly as text. */
    if (strcmp(month, now) > 0) {
        snprintf(err, errsz, "month %s is in the future (it is %s in Vietnam)", month, now);
        return -1;
    }
    return 0;
}

static volatile sig_atomic_t cli_stop;

static void on_signal(int sig) {
    (void)sig;
    cli_stop = 1;
}

volatile sig_atomic_t *cli_stop_flag(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return &cli_stop;
}
