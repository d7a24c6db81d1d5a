/* deploy/<program>.conf.example is what each program's option table
 * (common/opttab) prints, and every value in it is one the program's parser
 * accepts: a bad option given after the file is then the one error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Runs cmd and returns what it printed on standard output. */
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

/* print: the command that prints the example; load: the program run on the
 * example with one bad option after it, whose one-line error is want. */
static void check_program(const char *print, const char *example, const char *load, const char *want) {
    char cmd[2048];
    char *printed = run(print), *file = slurp(example);
    if (strcmp(printed, file) != 0) fail_msg("%s is stale; regenerate it with `%s > %s`", example, print, example);
    snprintf(cmd, sizeof cmd, "%s 2>&1", load);
    char *err = run(cmd);
    if (!strstr(err, want) || strstr(err, example)) fail_msg("%s: want '%s', got: %s", cmd, want, err);
    free(err);
    free(printed);
    free(file);
}

static void examples_match_the_programs(void **state) {
    (void)state;
    check_program(ISPEED_COLLECTOR " --config-example", ISPEED_SOURCE_DIR "/deploy/collector.conf.example",
                  ISPEED_COLLECTOR " --config " ISPEED_SOURCE_DIR "/deploy/collector.conf.example --target 0",
                  "ispeed-collector: --target must be a whole number 1..1000000000, not '0'");
    check_program(ISPEED_SERVER " --config-example", ISPEED_SOURCE_DIR "/deploy/server.conf.example",
                  ISPEED_SERVER " --config " ISPEED_SOURCE_DIR "/deploy/server.conf.example --max-conns 0",
                  "ispeed-server: --max-conns must be a whole number");
    check_program(ISPEED_AGENT " config-example", ISPEED_SOURCE_DIR "/deploy/agent.conf.example",
                  ISPEED_AGENT " test --config " ISPEED_SOURCE_DIR "/deploy/agent.conf.example --streams 0",
                  "ispeed-agent: --streams must be a whole number 1..16, not '0'");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(examples_match_the_programs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
