/* ispeedctl's command-line plumbing: one option table per subcommand that
 * (common/opttab) that both parses and prints --help, the options every subcommand
 * shares (-b, -X, --topic-prefix), argument checks that several subcommands
 * need, and the SIGINT/SIGTERM flag that ends --follow. */
#ifndef ISPEED_CTL_CLI_H
#define ISPEED_CTL_CLI_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kafka.h"
#include "opttab.h"

#define CLI_OK 0
#define CLI_HELP 1  /* --help was printed: exit 0 */
#define CLI_USAGE 2 /* a usage error was printed: exit 2 */

/* A subcommand: its options are a common/opttab table of CALL and
 * CALL_FLAG entries (ids >= 256) that cli_parse hands to its cli_apply. */
typedef struct cli_cmd {
    const char *name;     /* "quota" */
    const char *synopsis; /* what follows "ispeedctl quota " in the usage line */
    const char *about;    /* a paragraph printed under the usage line */
    const opttab_def *opts; /* ends with an entry whose name is NULL */
} cli_cmd;

typedef struct cli_common {
    char *bootstrap;
    char *prefix;
    kafka_props props;
} cli_common;

/* Applies one subcommand option; returns 0, or -1 with a message in err
 * (reported as a usage error). */
typedef int (*cli_apply)(int id, const char *arg, void *ctx, char *err, size_t errsz);

/* Parses argv (argv[0] is the subcommand name) into common and, through
 * apply, into the subcommand's context. Requires -b. */
int cli_parse(int argc, char **argv, const cli_cmd *cmd, cli_common *common, cli_apply apply, void *ctx);
void cli_common_clear(cli_common *common);
void cli_usage(FILE *out, const cli_cmd *cmd);
/* Prints "ispeedctl CMD: message; see 'ispeedctl CMD --help'" and returns
 * CLI_USAGE, for checks made after parsing. */
int cli_usage_error(const cli_cmd *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "ispeedctl CMD: message" and returns 1 (a failure, not misuse). */
int cli_fail(const cli_cmd *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The required --province of cmd: 0, or CLI_USAGE after printing why
 * (missing, or not a province code). */
int cli_require_province(const cli_cmd *cmd, const char *province);

/* Argument checks, each 0 or -1 with a message in err. */
int cli_check_province(const char *code, char *err, size_t errsz);
/* YYYY-MM, not after the current month in Vietnam's time. */
int cli_check_month(const char *month, char *err, size_t errsz);

/* Installs SIGINT/SIGTERM handlers and returns the flag they set. */
volatile sig_atomic_t *cli_stop_flag(void);

#endif
