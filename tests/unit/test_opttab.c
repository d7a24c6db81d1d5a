/* common/opttab.c: one table gives defaults, the file, the command line
 * (in that order of precedence), --help and the example file, which loads
 * back; durations and sizes parse one way; old spellings still work. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kafka.h"
#include "opttab.h"
#include "tmpfile_fixture.h"

typedef struct cfg {
    char *bootstrap, *units, *name;
    int64_t streams, interval_ms, eval_ms;
    uint64_t spool;
    double share;
    int replay, mode;
    opttab_list servers;
    char quiet[32];
    kafka_props props;
} cfg;

enum { CMD_A = 1, CMD_B = 2, ACT_HELP = 10, ACT_EXAMPLE };

static int set_quiet(void *c, const char *value, char *err, size_t errsz) {
    if (strchr(value, '-') == NULL) {
        snprintf(err, errsz, "must be HH:MM-HH:MM, not '%s'", value);
        return -1;
    }
    snprintf(((cfg *)c)->quiet, sizeof ((cfg *)c)->quiet, "%s", value);
    return 0;
}

#define O(f) offsetof(cfg, f)
static const opttab_def defs[] = {
    {.name = "bootstrap", .short_name = 'b', .type = OPTTAB_STRING, .offset = O(bootstrap), .section = "kafka",
     .metavar = "BOOTSTRAP", .help = "Kafka bootstrap list", .alias = "brokers"},
    {.name = "units", .type = OPTTAB_STRING, .offset = O(units), .section = "main", .metavar = "FILE",
     .help = "registry", .example = "/usr/share/ispeed/units.csv"},
    {.name = "name", .type = OPTTAB_STRING, .offset = O(name), .section = "main", .def = "me", .help = "a name"},
    {.name = "streams", .type = OPTTAB_INT, .offset = O(streams), .section = "test", .def = "4", .lo = 1, .hi = 16,
     .metavar = "N", .help = "parallel streams", .cmds = CMD_A},
    {.name = "interval", .type = OPTTAB_DURATION, .offset = O(interval_ms), .section = "test", .def = "60m",
     .lo = 1000, .help = "between tests"},
    {.name = "eval-interval", .type = OPTTAB_DURATION, .offset = O(eval_ms), .section = "test", .def = "5",
     .bare_ms = 1000, .lo = 1000, .hi = 3600000, .help = "seconds between evaluations"},
    {.name = "spool-max", .key = "max_bytes", .type = OPTTAB_SIZE, .offset = O(spool), .section = "spool",
     .def = "64M", .help = "spool cap"},
    {.name = "behind-share", .type = OPTTAB_FRACTION, .offset = O(share), .section = "main", .def = "0.8",
     .help = "share"},
    {.name = "replay", .type = OPTTAB_FLAG, .offset = O(replay), .section = "main", .help = "back-fill"},
    {.name = "mode", .type = OPTTAB_CHOICE, .offset = O(mode), .section = "main", .def = "token",
     .choices = "token|open", .help = "enrollment"},
    {.name = "server", .key = "servers", .type = OPTTAB_LIST, .offset = O(servers), .section = "test",
     .metavar = "URL", .help = "test servers"},
    {.name = "quiet-hours", .type = OPTTAB_CUSTOM, .offset = 0, .set = set_quiet, .section = "test",
     .help = "quiet"},
    {.name = "help", .short_name = 'h', .type = OPTTAB_ACTION, .id = ACT_HELP, .help = "this text"},
    {.name = "config-example", .type = OPTTAB_ACTION, .id = ACT_EXAMPLE, .help = "print the example"},
};

static const opttab_spec spec = {
    .program = "ispeed-test",
    .usage = "usage: ispeed-test [options]",
    .config = 1,
    .defs = defs,
    .ndefs = sizeof defs / sizeof *defs,
    .props = 1,
    .props_offset = O(props),
    .passthrough = "kafka",
};

static char path[64];

/* A fresh temporary file holding text, its name in path. */
static void write_conf(const char *text) {
    strcpy(path, "/tmp/test_opttab_XXXXXX");
    fixture_write_tmp(path, text);
}

static int parse(cfg *c, char *err, size_t errsz, unsigned cmd, int argc, char **argv, int *nops) {
    memset(c, 0, sizeof *c);
    return opttab_parse(&spec, cmd, c, argc, argv, nops, err, errsz);
}

static void defaults_then_file_then_command_line(void **state) {
    (void)state;
    char err[512], cfgarg[128];
    cfg c;
    int nops = -1;
    write_conf("[main]\nname = from-file\nreplay = yes\n[test]\nstreams = 8\nservers = http://a:1 "
                            "http://b:2\ninterval = 90s\n[kafka]\nbootstrap = file:9092\nsecurity.protocol = ssl\n");
    snprintf(cfgarg, sizeof cfgarg, "--config=%s", path);
    char *argv[] = {"a", "--streams", "12", "op1", cfgarg, "-bcli:9092", "--server=http://c:3", "-X",
                    "acks=1", "--", "--streams"};
    assert_int_equal(parse(&c, err, sizeof err, CMD_A, 11, argv, &nops), OPTTAB_OK);
    assert_string_equal(c.name, "from-file");           /* file over default */
    assert_int_equal(c.streams, 12);                    /* command line over file */
    assert_string_equal(c.bootstrap, "cli:9092");
    assert_int_equal(c.replay, 1);
    assert_int_equal(c.interval_ms, 90000);
    assert_int_equal(c.eval_ms, 5000);                  /* a bare number in its own unit */
    assert_int_equal(c.spool, 64u << 20);
    assert_true(c.share > 0.79 && c.share < 0.81);
    assert_int_equal(c.mode, 0);
    assert_int_equal(c.servers.n, 3);                   /* the file's two, then the flag's */
    assert_string_equal(c.servers.v[2], "http://c:3");
    assert_int_equal(c.props.n, 2);
    assert_string_equal(c.props.key[0], "security.protocol");
    assert_string_equal(c.props.value[1], "1");
    assert_null(c.units);
    /* Operands keep their order; "--" ends the options. */
    assert_int_equal(nops, 2);
    assert_string_equal(argv[1], "op1");
    assert_string_equal(argv[2], "--streams");
    opttab_free(&spec, &c);
    unlink(path);
}

static void bad_values_and_names_are_usage_errors(void **state) {
    (void)state;
    char err[512];
    cfg c;
    char *a1[] = {"a", "--streams", "17"};
    assert_int_equal(parse(&c, err, sizeof err, CMD_A, 3, a1, NULL), OPTTAB_USAGE);
    assert_string_equal(err, "--streams must be a whole number 1..16, not '17'");
    opttab_free(&spec, &c);
    char *a2[] = {"a", "--streams", "2"};
    assert_int_equal(parse(&c, err, sizeof err, CMD_B, 3, a2, NULL), OPTTAB_USAGE); /* not B's */
    assert_string_equal(err, "unknown option '--streams'");
    opttab_free(&spec, &c);
    char *a3[] = {"a", "--mode", "closed"};
    assert_int_equal(parse(&c, err, sizeof err, 0, 3, a3, NULL), OPTTAB_USAGE);
    assert_string_equal(err, "--mode must be one of token|open, not 'closed'");
    opttab_free(&spec, &c);
    char *a4[] = {"a", "--interval"};
    assert_int_equal(parse(&c, err, sizeof err, 0, 2, a4, NULL), OPTTAB_USAGE);
    assert_string_equal(err, "option --interval needs a value");
    opttab_free(&spec, &c);
    char *a5[] = {"a", "--replay=1"};
    assert_int_equal(parse(&c, err, sizeof err, 0, 2, a5, NULL), OPTTAB_USAGE);
    opttab_free(&spec, &c);
    char *a6[] = {"a", "--quiet-hours", "23:00"};
    assert_int_equal(parse(&c, err, sizeof err, 0, 3, a6, NULL), OPTTAB_USAGE);
    assert_string_equal(err, "--quiet-hours must be HH:MM-HH:MM, not '23:00'");
    opttab_free(&spec, &c);
    char *a7[] = {"a", "-X", "novalue"};
    assert_int_equal(parse(&c, err, sizeof err, 0, 3, a7, NULL), OPTTAB_USAGE);
    opttab_free(&spec, &c);
    char *a8[] = {"a", "--eval-interval", "2h"};
    assert_int_equal(parse(&c, err, sizeof err, 0, 3, a8, NULL), OPTTAB_USAGE);
    opttab_free(&spec, &c);
    /* An action stops parsing and is returned: help needs no valid file. */
    char *a9[] = {"a", "--config", "/nonexistent/x.conf", "-h"};
    assert_int_equal(parse(&c, err, sizeof err, 0, 4, a9, NULL), ACT_HELP);
    opttab_free(&spec, &c);
    char *a10[] = {"a", "--config", "/nonexistent/x.conf"};
    assert_int_equal(parse(&c, err, sizeof err, 0, 3, a10, NULL), OPTTAB_USAGE);
    assert_string_equal(err, "cannot read configuration /nonexistent/x.conf: No such file or directory");
    opttab_free(&spec, &c);
}

static void file_errors_name_path_line_and_key(void **state) {
    (void)state;
    char err[512], want[300];
    cfg c;
    memset(&c, 0, sizeof c);
    write_conf("[main]\nname = x\n\n# comment\nnmae = y\n");
    assert_int_equal(opttab_load_file(&spec, &c, path, err, sizeof err), OPTTAB_USAGE);
    snprintf(want, sizeof want, "%s:5: unknown key 'nmae' in [main]", path);
    assert_non_null(strstr(err, want));
    unlink(path);
    write_conf("[kafka]\nstreams = 3\n");
    assert_int_equal(opttab_load_file(&spec, &c, path, err, sizeof err), OPTTAB_USAGE);
    snprintf(want, sizeof want, "%s:2: streams belongs in [test], not [kafka]", path);
    assert_string_equal(err, want);
    unlink(path);
    write_conf("[tset]\nstreams = 3\n");
    assert_int_equal(opttab_load_file(&spec, &c, path, err, sizeof err), OPTTAB_USAGE);
    assert_non_null(strstr(err, ":2: unknown section [tset]"));
    unlink(path);
    write_conf("[test]\nstreams = many\n");
    assert_int_equal(opttab_load_file(&spec, &c, path, err, sizeof err), OPTTAB_USAGE);
    snprintf(want, sizeof want, "%s:2: streams must be a whole number 1..16, not 'many'", path);
    assert_string_equal(err, want);
    unlink(path);
    write_conf("[test]\nno key here\n");
    assert_int_equal(opttab_load_file(&spec, &c, path, err, sizeof err), OPTTAB_USAGE);
    assert_non_null(strstr(err, ":2: not key = value"));
    unlink(path);
    opttab_free(&spec, &c);
}

/* The old spelling of a renamed key still works, in the file and as a flag. */
static void deprecated_alias_still_works(void **state) {
    (void)state;
    char err[512];
    cfg c;
    memset(&c, 0, sizeof c);
    write_conf("[kafka]\nbrokers = old:9092\n");
    assert_int_equal(opttab_load_file(&spec, &c, path, err, sizeof err), 0);
    assert_string_equal(c.bootstrap, "old:9092");
    assert_int_equal(c.props.n, 0); /* not taken for a librdkafka property */
    unlink(path);
    assert_int_equal(opttab_set(&spec, &c, "brokers", "flag:9092", err, sizeof err), 0);
    assert_string_equal(c.bootstrap, "flag:9092");
    assert_int_equal(opttab_set(&spec, &c, "no-such", "1", err, sizeof err), 1);
    opttab_free(&spec, &c);
}

static void durations_and_sizes_parse_one_way(void **state) {
    (void)state;
    int64_t ms;
    uint64_t b;
    assert_int_equal(opttab_parse_duration("250ms", 0, &ms), 0);
    assert_int_equal(ms, 250);
    assert_int_equal(opttab_parse_duration("90s", 0, &ms), 0);
    assert_int_equal(ms, 90000);
    assert_int_equal(opttab_parse_duration("10m", 0, &ms), 0);
    assert_int_equal(ms, 600000);
    assert_int_equal(opttab_parse_duration("2d", 0, &ms), 0);
    assert_int_equal(ms, 2 * 86400000LL);
    assert_int_equal(opttab_parse_duration("1w", 0, &ms), 0);
    assert_int_equal(ms, 7 * 86400000LL);
    assert_int_equal(opttab_parse_duration("30", 0, &ms), 0);
    assert_int_equal(ms, 30000);
    assert_int_equal(opttab_parse_duration("30", 1, &ms), 0);
    assert_int_equal(ms, 30);
    assert_int_equal(opttab_parse_duration("m", 0, &ms), -1);
    assert_int_equal(opttab_parse_duration("-5s", 0, &ms), -1);
    assert_int_equal(opttab_parse_duration("5x", 0, &ms), -1);
    assert_int_equal(opttab_parse_duration("99999999999999999w", 0, &ms), -1);
    assert_int_equal(opttab_parse_size("64M", &b), 0);
    assert_int_equal(b, 64u << 20);
    assert_int_equal(opttab_parse_size("512KB", &b), 0);
    assert_int_equal(b, 512u << 10);
    assert_int_equal(opttab_parse_size("12", &b), 0);
    assert_int_equal(b, 12);
    assert_int_equal(opttab_parse_size("-1", &b), -1);
    assert_int_equal(opttab_parse_size("1X", &b), -1);
}

static char *printed(void (*fn)(FILE *, const opttab_spec *)) {
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    fn(mem, &spec);
    fclose(mem);
    return buf;
}

static void help_all(FILE *out, const opttab_spec *s) { opttab_print_help(out, s, 0); }

/* --help shows every option with its default one way; the example file
 * shows every key and loads back to the defaults and example values. */
static void help_and_example_come_from_the_table(void **state) {
    (void)state;
    char *help = printed(help_all), err[512];
    assert_non_null(strstr(help, "usage: ispeed-test [options]\n\noptions:\n"));
    assert_non_null(strstr(help, "  -b, --bootstrap BOOTSTRAP      Kafka bootstrap list\n"));
    assert_non_null(strstr(help, "      --streams N                parallel streams (default 4)\n"));
    assert_non_null(strstr(help, "      --replay                   back-fill\n"));
    assert_non_null(strstr(help, "  -X, --property PROP=VALUE"));
    assert_non_null(strstr(help, "      --config FILE"));
    free(help);
    char *ex = printed(opttab_print_example);
    assert_non_null(strstr(ex, "\n[kafka]\n# Kafka bootstrap list [--bootstrap BOOTSTRAP]\n# bootstrap =\n"
                               "# Any other key here is a librdkafka property"));
    assert_non_null(strstr(ex, "\n[main]\n# registry [--units FILE]\nunits = /usr/share/ispeed/units.csv\n"));
    assert_non_null(strstr(ex, "# back-fill [--replay]\nreplay = false\n"));
    assert_non_null(strstr(ex, "\n[spool]\n# spool cap [--spool-max]\nmax_bytes = 64M\n"));
    assert_null(strstr(ex, "config_example"));
    write_conf(ex);
    cfg c;
    memset(&c, 0, sizeof c);
    assert_int_equal(opttab_defaults(&spec, 0, &c, err, sizeof err), 0);
    if (opttab_load_file(&spec, &c, path, err, sizeof err) != 0) fail_msg("%s", err);
    assert_string_equal(c.units, "/usr/share/ispeed/units.csv");
    assert_int_equal(c.streams, 4);
    assert_int_equal(c.replay, 0);
    assert_null(c.bootstrap);
    opttab_free(&spec, &c);
    opttab_free(&spec, NULL);
    unlink(path);
    free(ex);
}

/* opttab_main: the exit status a tool returns, the operands it accepts. */
static void main_step_gives_exit_status(void **state) {
    (void)state;
    cfg c;
    int nops = -1, action = -1;
    char *a1[] = {"t", "-b", "k:1", "op"};
    memset(&c, 0, sizeof c);
    assert_int_equal(opttab_main(&spec, &c, 4, a1, 1, &nops, NULL), -1);
    assert_int_equal(nops, 1);
    assert_string_equal(a1[1], "op");
    opttab_free(&spec, &c);
    char *a2[] = {"t", "op", "op2"};
    memset(&c, 0, sizeof c);
    assert_int_equal(opttab_main(&spec, &c, 3, a2, 1, NULL, NULL), 2);
    opttab_free(&spec, &c);
    char *a3[] = {"t", "--streams"};
    memset(&c, 0, sizeof c);
    assert_int_equal(opttab_main(&spec, &c, 2, a3, 0, NULL, NULL), 2);
    opttab_free(&spec, &c);
    char *a4[] = {"t", "--config-example"};
    memset(&c, 0, sizeof c);
    assert_int_equal(opttab_main(&spec, &c, 2, a4, 0, NULL, &action), -1);
    assert_int_equal(action, ACT_EXAMPLE);
    opttab_free(&spec, &c);
    FILE *saved = stdout;
    stdout = fopen("/dev/null", "w");
    char *a5[] = {"t", "--help"};
    memset(&c, 0, sizeof c);
    int ex = opttab_main(&spec, &c, 2, a5, 0, NULL, &action);
    fclose(stdout);
    stdout = saved;
    assert_int_equal(ex, 0);
    opttab_free(&spec, &c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_then_file_then_command_line),
        cmocka_unit_test(bad_values_and_names_are_usage_errors),
        cmocka_unit_test(file_errors_name_path_line_and_key),
        cmocka_unit_test(deprecated_alias_still_works),
        cmocka_unit_test(durations_and_sizes_parse_one_way),
        cmocka_unit_test(help_and_example_come_from_the_table),
        cmocka_unit_test(main_step_gives_exit_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
