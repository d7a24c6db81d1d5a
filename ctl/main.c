/* ispeedctl: the operator's and province's command line. main only picks
 * the subcommand; each lives in its own module. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "vntime.h"

#include "alerts.h"
#include "authority.h"
#include "quota.h"
#include "recruit.h"
#include "report.h"
#include "samples.h"
#include "topics.h"
#include "acl.h"
#include "serve.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *about;
} commands[] = {
    {"quota", quota_main, "a province's quota table for a month, most behind first"},
    {"alerts", alerts_main, "quota alerts, one line each; --follow to keep watching"},
    {"report", report_main, "the monthly report: samples and units that met the target, table/CSV/HTML"},
    {"recruit", recruit_main, "communes that cannot reach the target with their agents, and how many more each needs"},
    {"samples", samples_main, "decoded speed-test samples, one line each; --follow to keep watching"},
    {"authority", authority_main, "init: a province's enrollment authority key (no -b)"},
    {"token", token_main, "issue: an enrollment token signed by an authority key (no -b)"},
    {"topics", topics_main, "topics apply: create or alter every topic with production settings (--check: drift)"},
    {"acl", acl_main, "acl apply: the ACLs of the agent, collector, province-<code> and operator principals"},
    {"serve", serve_main, "the live dashboard in the browser (--listen 127.0.0.1:8088)"},
};

static void usage(FILE *out) {
    fputs("usage: ispeedctl COMMAND -b BOOTSTRAP [options]\n\ncommands:\n", out);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].about);
    fputs("\n'ispeedctl COMMAND --help' lists a command's options. Every Kafka command takes\n"
          "-b BOOTSTRAP, -X prop=value (repeatable) and --topic-prefix P.\n"
          "ISPEEDCTL_LOG=debug in the environment shows librdkafka's own log lines.\n" VNTIME_HELP "\n",
          out);
}

/* The commands' names, from the table, so an error's list never drifts
 * from what ispeedctl really has. */
static void print_command_names(FILE *out) {
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "%s%s", i ? ", " : "", commands[i].name);
}

int main(int argc, char **argv) {
    /* Output is for people and scripts: only warnings and errors on stderr
     * unless asked. */
    enum log_level level = LOG_WARN;
    const char *env = getenv("ISPEEDCTL_LOG");
    if (env && log_parse_level(env, &level) < 0) level = LOG_WARN;
    log_set_level(level);
    if (vntime_clock_start("ispeedctl") < 0) return 2;
    if (argc < 2) {
        fputs("ispeedctl: no command given (", stderr);
        print_command_names(stderr);
        fputs("); see 'ispeedctl --help'\n", stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("ispeedctl %s\n", ISPEED_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "ispeedctl: unknown command '%s' (commands: ", argv[1]);
    print_command_names(stderr);
    fputs("); see 'ispeedctl --help'\n", stderr);
    return 2;
}
