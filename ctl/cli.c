/* Option tables, --help text, shared options and argument checks for
 * ispeedctl's subcommands. */
#include "cli.h"

#include <ctype.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "vntime.h"

enum { OPT_BOOTSTRAP = 'b', OPT_PROPERTY = 'X', OPT_HELP = 'h', OPT_PREFIX = 1 };

static const cli_opt common_opts[] = {
    {"bootstrap", required_argument, OPT_BOOTSTRAP, "BOOTSTRAP", "Kafka bootstrap list, host:port[,...] (required)"},
    {"property", required_argument, OPT_PROPERTY, "PROP=VALUE",
     "librdkafka property, repeatable (e.g. -X security.protocol=ssl)"},
    {"topic-prefix", required_argument, OPT_PREFIX, "P", "prefix of every topic (default " KAFKA_DEFAULT_PREFIX ")"},
    {"help", no_argument, OPT_HELP, NULL, "this text"},
    {NULL, 0, 0, NULL, NULL}};

static void print_opts(FILE *out, const cli_opt *opts) {
    for (const cli_opt *o = opts; o->name; o++) {
        char left[64];
        int n = 0;
        if (o->id == OPT_BOOTSTRAP || o->id == OPT_PROPERTY || o->id == OPT_HELP)
            n = snprintf(left, sizeof left, "-%c, ", o->id);
        else
            n = snprintf(left, sizeof left, "    ");
        snprintf(left + n, sizeof left - (size_t)n, "--%s%s%s", o->name, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "");
        fprintf(out, "  %-30s %s\n", left, o->help);
    }
}

void cli_usage(FILE *out, const cli_cmd *cmd) {
    fprintf(out, "usage: ispeedctl %s %s\n\n%s\n\noptions:\n", cmd->name, cmd->synopsis, cmd->about);
    print_opts(out, cmd->opts);
    print_opts(out, common_opts);
}

static int vreport(const cli_cmd *cmd, const char *fmt, va_list ap) {
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    fprintf(stderr, "ispeedctl %s: %s\n", cmd->name, msg);
    return 0;
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
    va_list ap;
    va_start(ap, fmt);
    vreport(cmd, fmt, ap);
    va_end(ap);
    return 1;
}

void cli_common_clear(cli_common *common) {
    kafka_props_clear(&common->props);
}

static size_t count_opts(const cli_opt *opts) {
    size_t n = 0;
    while (opts[n].name) n++;
    return n;
}

int cli_parse(int argc, char **argv, const cli_cmd *cmd, cli_common *common, cli_apply apply, void *ctx) {
    size_t n = count_opts(cmd->opts), nc = count_opts(common_opts);
    struct option *lo = calloc(n + nc + 1, sizeof *lo);
    char err[512];
    int c, rc = CLI_OK;
    memset(common, 0, sizeof *common);
    common->prefix = KAFKA_DEFAULT_PREFIX;
    if (!lo) {
        fprintf(stderr, "ispeedctl %s: out of memory\n", cmd->name);
        return CLI_USAGE;
    }
    for (size_t i = 0; i < n; i++)
        lo[i] = (struct option){cmd->opts[i].name, cmd->opts[i].has_arg, NULL, cmd->opts[i].id};
    for (size_t i = 0; i < nc; i++)
        lo[n + i] = (struct option){common_opts[i].name, common_opts[i].has_arg, NULL, common_opts[i].id};
    optind = 1;
    opterr = 0; /* our own one-line messages */
    while ((c = getopt_long(argc, argv, ":b:X:h", lo, NULL)) != -1) {
        switch (c) {
        case OPT_BOOTSTRAP: common->bootstrap = optarg; break;
        case OPT_PROPERTY:
            if (kafka_props_add(&common->props, optarg, err, sizeof err) < 0) {
                rc = cli_usage_error(cmd, "%s", err);
                goto out;
            }
            break;
        case OPT_PREFIX: common->prefix = optarg; break;
        case OPT_HELP:
            cli_usage(stdout, cmd);
            rc = CLI_HELP;
            goto out;
        case ':':
            rc = cli_usage_error(cmd, "option %s needs a value", argv[optind - 1]);
            goto out;
        case '?':
            rc = cli_usage_error(cmd, "unknown option %s", argv[optind - 1]);
            goto out;
        default:
            if (apply(c, optarg, ctx, err, sizeof err) < 0) {
                rc = cli_usage_error(cmd, "%s", err);
                goto out;
            }
        }
    }
    if (optind < argc) {
        rc = cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
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
    free(lo);
    return rc;
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

int cli_parse_duration(const char *s, int64_t *ms, char *err, size_t errsz) {
    char *end;
    long long v = strtoll(s, &end, 10);
    int64_t unit;
    if (end == s || v <= 0 || strlen(end) != 1) goto bad;
    switch (*end) {
    case 's': unit = 1000; break;
    case 'm': unit = 60 * 1000; break;
    case 'h': unit = 3600 * 1000; break;
    case 'd': unit = 86400 * 1000; break;
    case 'w': unit = 7LL * 86400 * 1000; break;
    default: goto bad;
    }
    if (v > INT64_MAX / unit) goto bad;
    *ms = v * unit;
    return 0;
bad:
    snprintf(err, errsz, "duration '%s' is malformed; write a number and a unit s, m, h, d or w, e.g. 30m, 2d", s);
    return -1;
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
