/* agent/config.c: the file, the flags over it, and clear errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "tmpfile_fixture.h"

static char *write_tmp(const char *text) {
    static char path[64];
    snprintf(path, sizeof path, "/tmp/ispeed-conf-XXXXXX");
    fixture_write_tmp(path, text);
    return path;
}

static void defaults_then_file_then_flags(void **state) {
    (void)state;
    agent_config c;
    char err[512];
    assert_int_equal(config_init(&c, err, sizeof err), 0);
    assert_true(c.interval_ms == 3600000 && c.jitter_ms == 600000);
    assert_true(c.duration_s == 10 && c.streams == 4);
    assert_true(c.spool_max_bytes == 64ull << 20);
    assert_int_equal(c.quiet_start_min, -1);
    assert_string_equal(c.state_dir, "/var/lib/ispeed");
    char *path = write_tmp("[agent]\ncommune = 00004\n[test]\nservers = http://a:1 http://b:2\n"
                           "[schedule]\ninterval = 30m\nquiet_hours = 23:00-06:30\n"
                           "[budget]\nmonthly_bytes = 2G\n"
                           "[kafka]\nbrokers = k1:9092,k2:9092\nsecurity.protocol = ssl\n");
    assert_int_equal(config_load_file(&c, path, err, sizeof err), 0);
    unlink(path);
    assert_string_equal(c.commune, "00004");
    assert_int_equal(c.nservers, 2);
    assert_string_equal(c.servers[1], "http://b:2");
    assert_true(c.interval_ms == 1800000);
    assert_int_equal(c.quiet_start_min, 23 * 60);
    assert_int_equal(c.quiet_end_min, 6 * 60 + 30);
    assert_true(c.monthly_bytes == 2ull << 30);
    assert_string_equal(c.bootstrap, "k1:9092,k2:9092"); /* the old key, still read */
    assert_int_equal(c.kafka.n, 1);
    assert_string_equal(c.kafka.key[0], "security.protocol");
    assert_string_equal(c.kafka.value[0], "ssl");
    /* Flags override the file. */
    assert_int_equal(config_set_flag(&c, "interval", "2s", err, sizeof err), 0);
    assert_int_equal(config_set_flag(&c, "commune", "00008", err, sizeof err), 0);
    assert_int_equal(config_set_flag(&c, "server", "http://c:3", err, sizeof err), 0);
    assert_true(c.interval_ms == 2000);
    assert_string_equal(c.commune, "00008");
    assert_int_equal(c.nservers, 3);
    assert_int_equal(config_set_flag(&c, "no-such-flag", "1", err, sizeof err), 1);
    config_free(&c);
}

static void bad_values_are_named(void **state) {
    (void)state;
    static const struct { const char *text, *needle; } cases[] = {
        {"[schedule]\ninterval = soon\n", "interval must be a duration"},
        {"[test]\nstreams = 99\n", "streams must be a whole number 1..16"},
        {"[agent]\ncomune = 00004\n", "unknown key 'comune' in [agent]"},
        {"[schedule]\nquiet_hours = 23-6\n", "quiet_hours must be HH:MM-HH:MM"},
        {"[budget]\nmonthly_bytes = lots\n", "monthly_bytes must be a size"},
        {"[test]\nservers = ftp://x\n", "not an http:// URL"},
        {"this is not ini\n", ":1: not key = value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        agent_config c;
        char err[512] = "";
        assert_int_equal(config_init(&c, err, sizeof err), 0);
        char *path = write_tmp(cases[i].text);
        assert_int_equal(config_load_file(&c, path, err, sizeof err), -1);
        unlink(path);
        if (!strstr(err, cases[i].needle)) fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i].needle);
        config_free(&c);
    }
    agent_config c;
    char err[512];
    config_init(&c, err, sizeof err);
    assert_int_equal(config_load_file(&c, "/nonexistent.conf", err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot read configuration /nonexistent.conf"));
    config_free(&c);
}

/* The whole command line: the subcommand's own flags only, -b and -X, and
 * the old --brokers spelling. */
static void command_line_per_subcommand(void **state) {
    (void)state;
    agent_config c;
    char err[512];
    char *a1[] = {"test", "--server", "http://a:1", "--json", "-b", "k:9092", "-X", "acks=1", "--brokers=o:1"};
    assert_int_equal(config_parse_args(&c, CONFIG_CMD_TEST, 9, a1, NULL, err, sizeof err), 0);
    assert_int_equal(c.json, 1);
    assert_int_equal(c.nservers, 1);
    assert_string_equal(c.bootstrap, "o:1");
    assert_int_equal(c.kafka.n, 1);
    config_free(&c);
    char *a2[] = {"enroll", "--produce"};
    assert_true(config_parse_args(&c, CONFIG_CMD_ENROLL, 2, a2, NULL, err, sizeof err) < 0);
    assert_string_equal(err, "unknown option '--produce'");
    config_free(&c);
    char *a3[] = {"status", "extra"};
    assert_true(config_parse_args(&c, CONFIG_CMD_STATUS, 2, a3, NULL, err, sizeof err) < 0);
    assert_string_equal(err, "unexpected argument 'extra'");
    config_free(&c);
    char *a4[] = {"run", "--help"};
    assert_int_equal(config_parse_args(&c, CONFIG_CMD_RUN, 2, a4, "/nonexistent.conf", err, sizeof err),
                     CONFIG_ACT_HELP);
    config_free(&c);
}

/* deploy/agent.conf.example is exactly what the option table prints, and
 * loads back without error. */
static void example_file_matches_the_table(void **state) {
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    config_print_example(mem);
    fclose(mem);
    FILE *f = fopen(ISPEED_SOURCE_DIR "/deploy/agent.conf.example", "r");
    assert_non_null(f);
    char *file = calloc(1, len + 2);
    size_t got = fread(file, 1, len + 1, f);
    fclose(f);
    if (got != len || memcmp(file, buf, len) != 0)
        fail_msg("deploy/agent.conf.example is stale; regenerate it with `ispeed-agent config-example`");
    agent_config c;
    char err[512];
    config_init(&c, err, sizeof err);
    if (config_load_file(&c, ISPEED_SOURCE_DIR "/deploy/agent.conf.example", err, sizeof err) < 0) fail_msg("%s", err);
    config_free(&c);
    free(file);
    free(buf);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_then_file_then_flags),
        cmocka_unit_test(bad_values_are_named),
        cmocka_unit_test(command_line_per_subcommand),
        cmocka_unit_test(example_file_matches_the_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
