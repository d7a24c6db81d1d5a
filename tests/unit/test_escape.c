/* common/utf8.c, common/escape.c, common/csv.c and common/pbnames.c: what
 * comes from an agent reaches a terminal, a CSV cell or JSON harmless, and
 * CSV written by escape_csv reads back field for field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "csv.h"
#include "escape.h"
#include "ispeed.pb-c.h"
#include "pbnames.h"
#include "utf8.h"

static char captured[4096];

static const char *capture(void (*fn)(FILE *, const char *), const char *s) {
    captured[0] = '\0';
    FILE *f = fmemopen(captured, sizeof captured, "w");
    assert_non_null(f);
    fn(f, s);
    fclose(f);
    return captured;
}

static void utf8_decodes_and_rejects(void **state) {
    (void)state;
    uint32_t cp = 0;
    assert_int_equal(utf8_decode("A", 1, &cp), 1);
    assert_int_equal(cp, 'A');
    assert_int_equal(utf8_decode("\xC6\xB0", 2, &cp), 2); /* ư */
    assert_int_equal(cp, 0x01B0);
    assert_int_equal(utf8_decode("\xE1\xBB\x9D", 3, &cp), 3); /* ờ */
    assert_int_equal(cp, 0x1EDD);
    assert_int_equal(utf8_decode("\xF0\x9F\x98\x80", 4, &cp), 4);
    assert_int_equal(cp, 0x1F600);
    assert_int_equal(utf8_decode("\xC0\x80", 2, &cp), 0);          /* overlong NUL */
    assert_int_equal(utf8_decode("\xED\xA0\x80", 3, &cp), 0);      /* surrogate */
    assert_int_equal(utf8_decode("\xF4\x90\x80\x80", 4, &cp), 0);  /* > U+10FFFF */
    assert_int_equal(utf8_decode("\xE1\xBB", 2, &cp), 0);          /* truncated */
    assert_int_equal(utf8_decode("\x80", 1, &cp), 0);
    assert_int_equal(utf8_decode("", 0, &cp), 0);
    assert_true(utf8_valid("Phường Phúc Xá", strlen("Phường Phúc Xá")));
    assert_false(utf8_valid("Ph\xFFng", 5));
}

static void json_is_always_valid(void **state) {
    (void)state;
    assert_string_equal(capture(escape_json, "Phường \"Phúc\" Xá"), "\"Phường \\\"Phúc\\\" Xá\"");
    assert_string_equal(capture(escape_json, "a\\b\tc\x01\x7f"), "\"a\\\\b\\tc\\u0001\\u007f\"");
    /* A badly encoded name: each bad byte one U+FFFD, the rest kept. */
    assert_string_equal(capture(escape_json, "bad\xFF\xC3z"), "\"bad\\ufffd\\ufffdz\"");
    assert_string_equal(capture(escape_json, "\xE1\xBB"), "\"\\ufffd\\ufffd\"");
}

static void term_neutralises_controls(void **state) {
    (void)state;
    /* A terminal escape sequence (clear screen, retitle), a fake line and
     * a bell: none reaches the terminal as a control. */
    assert_string_equal(capture(escape_term, "x\x1b[2J\x1b]0;pwned\x07y"), "x\\x1b[2J\\x1b]0;pwned\\x07y");
    assert_string_equal(capture(escape_term, "ok\r\nFAKE ROW"), "ok\\x0d\\x0aFAKE ROW");
    assert_string_equal(capture(escape_term, "tab\there\x7f"), "tab\\x09here\\x7f");
    /* C1 CSI (U+009B) encoded in UTF-8, and a raw 0x9B byte. */
    assert_string_equal(capture(escape_term, "a\xC2\x9B" "31mb"), "a\\u009b31mb");
    assert_string_equal(capture(escape_term, "a\x9B" "31m"), "a\\x9b31m");
    /* The escape character itself is escaped, so the output is unambiguous. */
    assert_string_equal(capture(escape_term, "C:\\x1b"), "C:\\\\x1b");
    assert_string_equal(capture(escape_term, "Phường Phúc Xá"), "Phường Phúc Xá");
    char buf[6];
    escape_buf b;
    escape_buf_init(&b, buf, sizeof buf);
    escape_term_to(escape_buf_sink, &b, "ab\x1b" "cdef");
    assert_string_equal(buf, "ab"); /* "\x1b" did not fit: dropped whole */
    assert_true(b.truncated);
}

static void csv_quotes_and_defuses_formulas(void **state) {
    (void)state;
    assert_string_equal(capture(escape_csv, "Phường Phúc Xá"), "Phường Phúc Xá");
    assert_string_equal(capture(escape_csv, "Xã A, B"), "\"Xã A, B\"");
    assert_string_equal(capture(escape_csv, "Xã \"Mới\""), "\"Xã \"\"Mới\"\"\"");
    assert_string_equal(capture(escape_csv, "two\nlines"), "\"two\nlines\"");
    assert_string_equal(capture(escape_csv, " padded"), "\" padded\"");
    assert_string_equal(capture(escape_csv, ""), "");
    /* Agent-chosen operator names a spreadsheet would run. */
    assert_string_equal(capture(escape_csv, "=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
    assert_string_equal(capture(escape_csv, "+cmd|' /C calc'!A0"), "\"'+cmd|' /C calc'!A0\"");
    assert_string_equal(capture(escape_csv, "-2+3"), "\"'-2+3\"");
    assert_string_equal(capture(escape_csv, "@SUM(A1)"), "\"'@SUM(A1)\"");
    assert_string_equal(capture(escape_csv, "\tx"), "\"'\tx\"");
    assert_string_equal(capture(escape_csv, "a=b"), "a=b"); /* only a leading sign */
}

/* What escape_csv_row writes, csv_next reads back to the same fields. */
static void csv_round_trip(void **state) {
    (void)state;
    const char *row1[] = {"00004", "Phường \"Phúc\" Xá", "a,b", "two\nlines", "", "=1+1"};
    const char *row2[] = {"x", " y ", "z"};
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    escape_csv_row(mem, row1, 6);
    escape_csv_row(mem, row2, 3);
    fclose(mem);
    char *cur = text, *f[8];
    size_t n, line = 0;
    assert_int_equal(csv_next(&cur, f, 8, &n, &line), 1);
    assert_int_equal(n, 6);
    for (size_t i = 0; i < 5; i++) assert_string_equal(f[i], row1[i]);
    assert_string_equal(f[5], "'=1+1"); /* defused, visibly */
    assert_int_equal(line, 2);          /* the quoted line break counts */
    assert_int_equal(csv_next(&cur, f, 8, &n, &line), 1);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < 3; i++) assert_string_equal(f[i], row2[i]);
    assert_int_equal(csv_next(&cur, f, 8, &n, &line), 0);
    assert_int_equal(line, 3);
    free(text);
}

static void csv_reads_crlf_blank_lines_and_errors(void **state) {
    (void)state;
    char text[] = "code,name\r\n\r\n01,\"Hà Nội\"\r\n02,last";
    char *cur = text, *f[4];
    size_t n, line = 0;
    assert_int_equal(csv_next(&cur, f, 4, &n, &line), 1);
    assert_string_equal(f[1], "name");
    assert_int_equal(csv_next(&cur, f, 4, &n, &line), 1);
    assert_int_equal(n, 2);
    assert_string_equal(f[0], "01");
    assert_string_equal(f[1], "Hà Nội");
    assert_int_equal(line, 3);
    assert_int_equal(csv_next(&cur, f, 4, &n, &line), 1);
    assert_string_equal(f[1], "last");
    assert_int_equal(csv_next(&cur, f, 4, &n, &line), 0);

    char open[] = "a,\"never closed\nb\n";
    cur = open;
    assert_int_equal(csv_next(&cur, f, 4, &n, NULL), CSV_MALFORMED);
    char after[] = "a,\"q\"x\n";
    cur = after;
    assert_int_equal(csv_next(&cur, f, 4, &n, NULL), CSV_MALFORMED);
    char bare[] = "a,b\"c\n";
    cur = bare;
    assert_int_equal(csv_next(&cur, f, 4, &n, NULL), CSV_MALFORMED);
    char many[] = "a,b,c\n";
    cur = many;
    assert_int_equal(csv_next(&cur, f, 2, &n, NULL), CSV_TOO_MANY);
    char trailing[] = "a,b,\n";
    cur = trailing;
    assert_int_equal(csv_next(&cur, f, 4, &n, NULL), 1);
    assert_int_equal(n, 3);
    assert_string_equal(f[2], "");
}

static void html_escapes_markup(void **state) {
    (void)state;
    assert_string_equal(capture(escape_html, "Xã \"Mới\" <b> & 'x'"), "Xã &quot;Mới&quot; &lt;b&gt; &amp; &#39;x&#39;");
    assert_string_equal(capture(escape_html, "Phường Phúc Xá"), "Phường Phúc Xá");
}

static void enum_names_round_trip(void **state) {
    (void)state;
    int v;
    for (int o = ISPEED__V1__OUTCOME__OUTCOME_OK; o <= ISPEED__V1__OUTCOME__OUTCOME_INTERNAL; o++) {
        assert_int_equal(pbnames_parse_outcome(pbnames_outcome(o), &v), 0);
        assert_int_equal(v, o);
    }
    assert_string_equal(pbnames_outcome(ISPEED__V1__OUTCOME__OUTCOME_HTTP_ERROR), "http_error");
    assert_string_equal(pbnames_outcome(99), "unknown");
    assert_string_equal(pbnames_outcome(0), "unknown");
    assert_string_equal(pbnames_access(ISPEED__V1__ACCESS_TYPE__ACCESS_FIXED), "fixed");
    assert_int_equal(pbnames_parse_access("5g", &v), 0);
    assert_int_equal(v, ISPEED__V1__ACCESS_TYPE__ACCESS_MOBILE_5G);
    assert_int_equal(pbnames_access_network(v), ISPEED__V1__NETWORK__NETWORK_MOBILE);
    assert_int_equal(pbnames_access_network(ISPEED__V1__ACCESS_TYPE__ACCESS_WIFI), ISPEED__V1__NETWORK__NETWORK_FIXED);
    assert_int_equal(pbnames_parse_access("wired", &v), -1);
    assert_string_equal(pbnames_network(ISPEED__V1__NETWORK__NETWORK_MOBILE), "mobile");
    assert_string_equal(pbnames_level(ISPEED__V1__LEVEL__LEVEL_DISTRICT), "district");
    assert_string_equal(pbnames_quota_state(ISPEED__V1__QUOTA_STATE__QUOTA_STATE_ON_TRACK), "ON_TRACK");
    assert_string_equal(pbnames_quota_state(0), "unknown");
    assert_int_equal(pbnames_parse_quota_state("MET", &v), 0);
    assert_int_equal(v, ISPEED__V1__QUOTA_STATE__QUOTA_STATE_MET);
    assert_int_equal(pbnames_parse_level("ward", &v), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(utf8_decodes_and_rejects),
        cmocka_unit_test(json_is_always_valid),
        cmocka_unit_test(term_neutralises_controls),
        cmocka_unit_test(csv_quotes_and_defuses_formulas),
        cmocka_unit_test(csv_round_trip),
        cmocka_unit_test(csv_reads_crlf_blank_lines_and_errors),
        cmocka_unit_test(html_escapes_markup),
        cmocka_unit_test(enum_names_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
