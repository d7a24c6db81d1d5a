/* Unit tests of collector/quotaview.c, GET /v1/quota's JSON: a unit name
 * that is not valid UTF-8 and a province parameter with quotes and controls
 * come out as valid JSON strings (the collector's own escaper passed the
 * bytes through and put a quoted string inside the error message). The JSON
 * is checked by python3's parser when it is there. Links
 * ispeed_collector_prog. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector.h"
#include "vntime.h"
#include "tmpfile_fixture.h"

#define JUL_START 1751302800000LL /* 2025-07-01 00:00 UTC+7 */
#define NOW (JUL_START + 20 * 86400000LL)
/* The collector's clock (ISPEED_NOW, set in main) stands on NOW: the demand
 * in the JSON is computed at the request's instant. */
#define NOW_TEXT "2025-07-21T00:00"

/* Name of commune 00001: Phuc, then a lone continuation byte, a truncated
 * two-byte sequence, a quote and a backslash (the CSV field quoted, RFC
 * 4180). */
static const char *const CSV = "code,level,parent,name,type\n"
                               "01,province,,Ha Noi,Thanh pho Trung uong\n"
                               "001,district,01,Ba Dinh,Quan\n"
                               "00001,commune,001,\"Phuc\x80X\xc3 \"\"a\\b\"\"\",Phuong\n";

static int32_t all_on_zero(const rd_kafka_topic_t *t, const void *k, size_t kl, int32_t n, void *a, void *b) {
    (void)t, (void)k, (void)kl, (void)n, (void)a, (void)b;
    return 0;
}

struct fixture {
    struct collector c;
};

static int setup(void **state) {
    struct fixture *f = calloc(1, sizeof *f);
    char path[] = "/tmp/test_quotaview_XXXXXX", err[256];
    fixture_write_tmp(path, CSV);
    f->c.reg = registry_load(path, err, sizeof err);
    unlink(path);
    if (!f->c.reg) fail_msg("registry: %s", err);
    quota_config_default(&f->c.qcfg);
    assert_non_null(f->c.qt = quota_counts_new(f->c.reg, &f->c.qcfg, err, sizeof err));
    f->c.partitioner = all_on_zero;
    f->c.samples_npart = 1;
    consumer_part(&f->c, 0)->assigned = 1;
    assert_int_equal(quota_add(f->c.qt, registry_find(f->c.reg, "00001"), "2025-07", QUOTA_FIXED, 0, 0,
                               "VNPT", NOW), 0);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    struct fixture *f = *state;
    quota_counts_free(f->c.qt);
    registry_free(f->c.reg);
    free(f->c.parts);
    free(f);
    return 0;
}

/* The body as a C string; status in *status. */
static char *get(struct fixture *f, const char *province, const char *month, int *status) {
    struct evbuffer *out = evbuffer_new();
    assert_non_null(out);
    *status = quotaview_json(province, month, out, &f->c);
    size_t n = evbuffer_get_length(out);
    char *s = malloc(n + 1);
    assert_non_null(s);
    evbuffer_remove(out, s, n);
    s[n] = '\0';
    evbuffer_free(out);
    return s;
}

/* 0 when python3 parses text as JSON, 1 when it does not, -1 without python3. */
static int json_parses(const char *text) {
    if (system("python3 -c '' >/dev/null 2>&1") != 0) return -1;
    char path[] = "/tmp/test_quotaview_json_XXXXXX";
    fixture_write_tmp(path, text);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "python3 -c 'import json,sys; json.load(open(sys.argv[1], encoding=\"utf-8\"))' %s",
             path);
    int rc = system(cmd);
    unlink(path);
    return rc == 0 ? 0 : 1;
}

static void test_bad_name_is_valid_json(void **state) {
    struct fixture *f = *state;
    int status;
    char *body = get(f, "01", "2025-07", &status);
    assert_int_equal(status, 200);
    /* No raw invalid byte, the replacement character in its place, the quote
     * and the backslash escaped. */
    assert_null(strchr(body, '\x80'));
    assert_null(strchr(body, '\xc3'));
    assert_non_null(strstr(body, "\"name\":\"Phuc\\ufffdX\\ufffd \\\"a\\\\b\\\"\""));
    assert_non_null(strstr(body, "\"code\":\"00001\""));
    assert_non_null(strstr(body, "\"state\":\"BEHIND\""));
    assert_non_null(strstr(body, "\"network\":\"fixed\""));
    assert_non_null(strstr(body, "\"level\":\"commune\""));
    assert_non_null(strstr(body, "\"operators\":{\"VNPT\":1}"));
    int parsed = json_parses(body);
    if (parsed >= 0) assert_int_equal(parsed, 0);
    free(body);
}

/* The number after "key": in the unit object of code and network net (each
 * object ends with will_make_it), -1 if absent. */
static double field(const char *body, const char *code, const char *net, const char *key) {
    char pat[64], netpat[32], kpat[48];
    snprintf(pat, sizeof pat, "{\"code\":\"%s\"", code);
    snprintf(netpat, sizeof netpat, "\"network\":\"%s\"", net);
    snprintf(kpat, sizeof kpat, "\"%s\":", key);
    for (const char *u = strstr(body, pat); u; u = strstr(u + 1, pat)) {
        const char *end = strstr(u, "\"will_make_it\":");
        if (!end) break;
        const char *n = strstr(u, netpat), *k = strstr(u, kpat);
        if (!n || n > end || !k || k > end + 1) continue;
        return strtod(k + strlen(kpat), NULL);
    }
    return -1;
}

/* Distinct agents and the demand: commune 00001 has 3 fixed samples of two
 * agents on day 20 of July's 31; the target is 300. By hand: needed 297,
 * 11 days left, 297 / 11 = 27 a day needed, 3 / 20 = 0.15 a day so far, so
 * it will not make it. The district and province hold the same. */
static void test_demand_fields(void **state) {
    struct fixture *f = *state;
    const registry_unit *c = registry_find(f->c.reg, "00001");
    assert_int_equal(quota_add(f->c.qt, c, "2025-07", QUOTA_FIXED, 0, 0, "VNPT", NOW), 0);
    assert_int_equal(quota_add(f->c.qt, c, "2025-07", QUOTA_FIXED, 0, 0, "VNPT", NOW), 0);
    assert_int_equal(quota_add_agent(f->c.qt, c, "2025-07", QUOTA_FIXED, "agent-a"), 0);
    assert_int_equal(quota_add_agent(f->c.qt, c, "2025-07", QUOTA_FIXED, "agent-b"), 0);
    assert_int_equal(quota_add_agent(f->c.qt, c, "2025-07", QUOTA_FIXED, "agent-a"), 0);
    int status;
    char *body = get(f, "01", "2025-07", &status);
    assert_int_equal(status, 200);
    const char *codes[] = {"00001", "001", "01"};
    for (size_t i = 0; i < 3; i++) {
        assert_true(field(body, codes[i], "fixed", "count") == 3);
        assert_true(field(body, codes[i], "fixed", "distinct_agents") == 2);
        assert_true(field(body, codes[i], "fixed", "needed") == 297);
        /* The clock ran on a few ms since NOW: 11 days less those. */
        double left = field(body, codes[i], "fixed", "days_left");
        assert_true(left > 10.999 && left <= 11.0);
        double need = field(body, codes[i], "fixed", "rate_needed");
        assert_true(need > 26.99 && need < 27.01);
        double cur = field(body, codes[i], "fixed", "rate_current");
        assert_true(cur > 0.149 && cur < 0.151);
    }
    assert_non_null(strstr(body, "\"will_make_it\":false}"));
    assert_null(strstr(body, "\"will_make_it\":true"));
    int parsed = json_parses(body);
    if (parsed >= 0) assert_int_equal(parsed, 0);
    free(body);
}

/* A counter at its target: nothing needed, no rate needed, made it. */
static void test_demand_met(void **state) {
    struct fixture *f = *state;
    const registry_unit *c = registry_find(f->c.reg, "00001");
    for (int i = 0; i < 299; i++)
        assert_int_equal(quota_add(f->c.qt, c, "2025-07", QUOTA_FIXED, 0, 0, NULL, NOW), 0);
    int status;
    char *body = get(f, "01", "2025-07", &status);
    assert_int_equal(status, 200);
    assert_true(field(body, "00001", "fixed", "count") == 300);
    assert_true(field(body, "00001", "fixed", "needed") == 0);
    assert_true(field(body, "00001", "fixed", "rate_needed") == 0);
    assert_non_null(strstr(body, "\"state\":\"MET\""));
    assert_non_null(strstr(body, "\"will_make_it\":true}"));
    free(body);
}

static void test_unknown_province_is_valid_json(void **state) {
    struct fixture *f = *state;
    int status;
    char *body = get(f, "0\"1\n\xff", NULL, &status);
    assert_int_equal(status, 404);
    assert_string_equal(body, "{\"error\":\"no province 0\\\"1\\n\\ufffd in the registry\"}\n");
    int parsed = json_parses(body);
    if (parsed >= 0) assert_int_equal(parsed, 0);
    free(body);
}

static void test_bad_month(void **state) {
    struct fixture *f = *state;
    int status;
    char *body = get(f, "01", "2025-13", &status);
    assert_int_equal(status, 400);
    assert_string_equal(body, "{\"error\":\"month must be YYYY-MM\"}\n");
    free(body);
}

int main(void) {
    setenv("ISPEED_NOW", NOW_TEXT, 1);
    char err[200];
    if (vntime_clock_init(err, sizeof err) != 1 || vntime_now_ms() < NOW || vntime_now_ms() > NOW + 60000) {
        fprintf(stderr, "ISPEED_NOW did not move the clock to %s: %s\n", NOW_TEXT, err);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_demand_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_demand_met, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_name_is_valid_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_province_is_valid_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_month, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
