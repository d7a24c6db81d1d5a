/* common/conffile.c: an INI file read as long options before the command
 * line, its errors, and the example files of the collector and the server. */
#include <getopt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conffile.h"
#include "tmpfile_fixture.h"

static const conffile_option opts[] = {
    {.name = "listen", .has_arg = 1, .example = "0.0.0.0:8080", .help = "address"},
    {.name = "log-level", .has_arg = 1, .def = "info", .help = "level"},
    {.name = "replay", .has_arg = 0, .help = "back-fill"},
    {.name = "target-level", .has_arg = 1, .section = "quota", .help = "targets", .repeatable = 1},
    {.name = "bootstrap", .has_arg = 1, .section = "kafka", .help = "brokers"},
};

static const conffile_spec spec = {
    .program = "ispeed-test",
    .path = "/nonexistent/ispeed-test.conf",
    .section = "main",
    .options = opts,
    .noptions = sizeof opts / sizeof opts[0],
    .passthrough = "kafka",
    .passthrough_flag = 'X',
};

static char path[64];

static const char *write_tmp(const char *text) {
    snprintf(path, sizeof path, "/tmp/ispeed-conffile-XXXXXX");
    fixture_write_tmp(path, text);
    return path;
}

/* Loads text with "--config FILE" and the extra arguments; NULL on error
 * (err then holds the message). */
static conffile_args *load(const char *text, char *err, size_t errsz, int nextra, ...) {
    char *argv[16] = {"prog", "--config", (char *)write_tmp(text)};
    int argc = 3;
    va_list ap;
    va_start(ap, nextra);
    for (int i = 0; i < nextra; i++) argv[argc++] = va_arg(ap, char *);
    va_end(ap);
    err[0] = '\0';
    conffile_args *a = conffile_args_new(&spec, argc, argv, err, errsz);
    unlink(path);
    return a;
}

/* The whole argv after argv[0], space-separated. */
static const char *joined(const conffile_args *a) {
    static char buf[1024];
    buf[0] = '\0';
    for (int i = 1; i < conffile_args_argc(a); i++) {
        if (i > 1) strcat(buf, " ");
        strcat(buf, conffile_args_argv(a)[i]);
    }
    assert_null(conffile_args_argv(a)[conffile_args_argc(a)]);
    return buf;
}

static void file_becomes_options_before_the_command_line(void **state) {
    (void)state;
    char err[512];
    conffile_args *a = load("# a comment\n; another\nlisten = 127.0.0.1:9 ; inline comment\n"
                            "[main]\nlog_level = debug\n\n[quota]\ntarget_level = district=150\n"
                            "target-level = commune:mobile=100\n"
                            "[kafka]\nbootstrap = k1:9092,k2:9092\nsecurity.protocol = ssl\n",
                            err, sizeof err, 2, "--listen", "127.0.0.1:10");
    if (!a) fail_msg("%s", err);
    /* defaults, the file in order, the command line without --config */
    assert_string_equal(joined(a), "--log-level=info --listen=127.0.0.1:9 --log-level=debug "
                                   "--target-level=district=150 --target-level=commune:mobile=100 "
                                   "--bootstrap=k1:9092,k2:9092 -Xsecurity.protocol=ssl --listen 127.0.0.1:10");
    assert_non_null(conffile_args_path(a));
    assert_null(conffile_args_origin(a, 0));
    assert_null(conffile_args_origin(a, 1)); /* a default */
    char want[128];
    snprintf(want, sizeof want, "%s:3: listen", conffile_args_path(a));
    assert_string_equal(conffile_args_origin(a, 2), want);
    snprintf(want, sizeof want, "%s:9: target-level", conffile_args_path(a));
    assert_string_equal(conffile_args_origin(a, 5), want);
    assert_null(conffile_args_origin(a, conffile_args_argc(a) - 1));
    assert_null(conffile_args_origin(a, conffile_args_argc(a)));

    /* One parser over the result: the command line's value is the last. */
    const struct option longopts[] = {{"listen", required_argument, NULL, 'l'},
                                      {"log-level", required_argument, NULL, 'v'},
                                      {"replay", no_argument, NULL, 'r'},
                                      {"target-level", required_argument, NULL, 't'},
                                      {"bootstrap", required_argument, NULL, 'b'},
                                      {NULL, 0, NULL, 0}};
    const char *listen = NULL, *level = NULL;
    int c, targets = 0, props = 0;
    optind = 0;
    while ((c = getopt_long(conffile_args_argc(a), conffile_args_argv(a), "X:", longopts, NULL)) != -1) {
        if (c == 'l') listen = optarg;
        if (c == 'v') level = optarg;
        if (c == 't') targets++;
        if (c == 'X') props++;
        assert_true(c != '?');
    }
    assert_string_equal(listen, "127.0.0.1:10");
    assert_string_equal(level, "debug");
    assert_int_equal(targets, 2);
    assert_int_equal(props, 1);
    conffile_args_free(a);
}

static void booleans(void **state) {
    (void)state;
    char err[512];
    conffile_args *a = load("replay = yes\nreplay = 1\nreplay = TRUE\nreplay = no\nreplay = 0\nreplay = false\n", err,
                            sizeof err, 0);
    if (!a) fail_msg("%s", err);
    assert_string_equal(joined(a), "--log-level=info --replay --replay --replay");
    conffile_args_free(a);
    assert_null(load("listen = x\nreplay = maybe\n", err, sizeof err, 0));
    assert_non_null(strstr(err, ":2: replay must be true or false"));
    assert_non_null(strstr(err, "'maybe'"));
}

static void empty_value_keeps_the_default(void **state) {
    (void)state;
    char err[512];
    conffile_args *a = load("log_level =\nlisten =\nreplay =\n", err, sizeof err, 0);
    if (!a) fail_msg("%s", err);
    assert_string_equal(joined(a), "--log-level=info");
    conffile_args_free(a);
}

static void errors_name_file_line_and_key(void **state) {
    (void)state;
    char err[512], want[128];
    assert_null(load("listen = x\n\n# comment\nlisen = y\n", err, sizeof err, 0));
    snprintf(want, sizeof want, "%s:4: unknown key 'lisen'", path);
    assert_non_null(strstr(err, want));
    assert_non_null(strstr(err, "ispeed-test --config-example"));

    assert_null(load("[quota]\nlisten = x\n", err, sizeof err, 0));
    snprintf(want, sizeof want, "%s:2: listen belongs in [main], not [quota]", path);
    assert_string_equal(err, want);

    assert_null(load("[kafka]\ntarget_level = x=1\n", err, sizeof err, 0));
    assert_non_null(strstr(err, ":2: target_level belongs in [quota], not [kafka]"));

    assert_null(load("[mian]\nlisten = x\n", err, sizeof err, 0));
    assert_non_null(strstr(err, ":2: listen: unknown section [mian]"));

    assert_null(load("[main]\nlisten = x\n[quota]\nno key here\n", err, sizeof err, 0));
    snprintf(want, sizeof want, "%s:4: not key = value, [section] or a comment", path);
    assert_string_equal(err, want);

    /* A line longer than libinih's buffer is named, not split in two. */
    char text[1200];
    snprintf(text, sizeof text, "listen = x\n# %0900d\nlisten = y\n", 0);
    assert_null(load(text, err, sizeof err, 0));
    assert_non_null(strstr(err, ":2: line longer than"));
}

static void which_file(void **state) {
    (void)state;
    char err[512];
    /* An explicit file must exist. */
    char *argv1[] = {"prog", "--config=/nonexistent/x.conf"};
    assert_null(conffile_args_new(&spec, 2, argv1, err, sizeof err));
    assert_string_equal(err, "cannot read configuration /nonexistent/x.conf: No such file or directory");
    char *argv2[] = {"prog", "--listen", "a", "--config"};
    assert_null(conffile_args_new(&spec, 4, argv2, err, sizeof err));
    assert_string_equal(err, "--config needs a FILE");
    /* The default file is read only if it exists. */
    char *argv3[] = {"prog", "--listen", "a"};
    conffile_args *a = conffile_args_new(&spec, 3, argv3, err, sizeof err);
    assert_non_null(a);
    assert_null(conffile_args_path(a));
    assert_string_equal(joined(a), "--log-level=info --listen a");
    conffile_args_free(a);
    conffile_spec other = spec;
    other.path = write_tmp("listen = from-default\n");
    a = conffile_args_new(&other, 3, argv3, err, sizeof err);
    assert_non_null(a);
    assert_string_equal(joined(a), "--log-level=info --listen=from-default --listen a");
    conffile_args_free(a);
    /* --help works whatever the file holds; "--" ends the scan. */
    FILE *f = fopen(path, "w");
    fputs("broken\n", f);
    fclose(f);
    char *argv4[] = {"prog", "--help"};
    a = conffile_args_new(&other, 2, argv4, err, sizeof err);
    assert_non_null(a);
    assert_string_equal(joined(a), "--log-level=info --help");
    conffile_args_free(a);
    char *argv5[] = {"prog", "--", "--config", "x"};
    assert_null(conffile_args_new(&other, 4, argv5, err, sizeof err));
    assert_non_null(strstr(err, ":1: not key = value"));
    unlink(path);
}

/* The example printed from a table loads back, giving the defaults and the
 * example values. */
static void example_loads_back(void **state) {
    (void)state;
    char *buf = NULL, err[512];
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    conffile_print_example(mem, &spec);
    fclose(mem);
    assert_non_null(strstr(buf, "\n[main]\n# address [--listen]\nlisten = 0.0.0.0:8080\n"));
    assert_non_null(strstr(buf, "\n# back-fill [--replay]\nreplay = false\n"));
    assert_non_null(strstr(buf, "\n[quota]\n# targets [--target-level]; one per line, repeat the key\n# target_level =\n"));
    assert_non_null(strstr(buf, "\n[kafka]\n# brokers [--bootstrap]\n# bootstrap =\n# Any other key here is a librdkafka"));
    conffile_args *a = load(buf, err, sizeof err, 0);
    if (!a) fail_msg("%s", err);
    assert_string_equal(joined(a), "--log-level=info --listen=0.0.0.0:8080 --log-level=info");
    conffile_args_free(a);
    free(buf);
}

/* Runs cmd and returns its standard output (and error, if asked). */
static char *run(const char *cmd) {
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char *out = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&out, &len);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0) fwrite(chunk, 1, n, mem);
    pclose(p);
    fclose(mem);
    return out;
}

static char *slurp(const char *file) {
    FILE *f = fopen(file, "r");
    if (!f) fail_msg("cannot open %s", file);
    char *out = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&out, &len);
    int ch;
    while ((ch = fgetc(f)) != EOF) fputc(ch, mem);
    fclose(f);
    fclose(mem);
    return out;
}

/* deploy/<program>.conf.example is what the program's option table prints,
 * and every value in it is one the program's parser accepts: the error is
 * then about the bad option given after it, not about the file. */
static void check_program(const char *binary, const char *example, const char *bad_option, const char *want) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s --config-example", binary);
    char *printed = run(cmd), *file = slurp(example);
    if (strcmp(printed, file) != 0)
        fail_msg("%s is stale; regenerate it with `%s --config-example > %s`", example, binary, example);
    snprintf(cmd, sizeof cmd, "%s --config %s %s 2>&1", binary, example, bad_option);
    char *err = run(cmd);
    if (!strstr(err, want) || strstr(err, example)) fail_msg("%s: want '%s', got: %s", cmd, want, err);
    free(err);
    free(printed);
    free(file);
}

static void examples_match_the_programs(void **state) {
    (void)state;
    check_program(ISPEED_COLLECTOR, ISPEED_SOURCE_DIR "/deploy/collector.conf.example", "--target 0",
                  "ispeed-collector: --target must be a whole number 1..1000000000, not '0'");
    check_program(ISPEED_SERVER, ISPEED_SOURCE_DIR "/deploy/server.conf.example", "--max-conns 0",
                  "ispeed-server: --max-conns must be a whole number");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(file_becomes_options_before_the_command_line),
        cmocka_unit_test(booleans),
        cmocka_unit_test(empty_value_keeps_the_default),
        cmocka_unit_test(errors_name_file_line_and_key),
        cmocka_unit_test(which_file),
        cmocka_unit_test(example_loads_back),
        cmocka_unit_test(examples_match_the_programs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
