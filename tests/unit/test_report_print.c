/* ctl/report_print.c and report_html.c: samples without a server's receipt
 * (QuotaStatus.unattested_count) are shown apart in every format and
 * language, labelled as not counted toward the target, and never added to
 * the samples; a month without any prints as before (the golden files of
 * tests/integration/ctl_golden.sh hold the rest of the layout). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report_data.h"
#include "report_fixture.h"
#include "report_print.h"

static void put(report_t *r, const char *unit, int level, const char *parent, const char *net, uint64_t count,
                uint64_t unattested) {
    report_fixture_put(r, unit, level, parent, "01", net, count, 2, unattested, MARCH_2025 + 10 * DAY);
}

/* Province 01 with 1234 unattested fixed samples beside 320 counted ones
 * (k = 1), or none (k = 0). No registry: the units are those published. */
static report_t *month(uint64_t k) {
    char err[256];
    report_t *r = report_new("2025-03", 300, err, sizeof err);
    assert_non_null(r);
    put(r, "01", 1, "", "fixed", 320, 1234 * k);
    put(r, "01", 1, "", "mobile", 12, 0);
    put(r, "00004", 3, "001", "fixed", 20, 1234 * k);
    assert_int_equal(report_finish(r, MARCH_2025 + 40 * DAY), 0);
    return r;
}

enum fmt { TABLE, CSV, HTML };

/* The report printed to a string (the caller frees it). */
static char *print(const report_t *r, enum fmt f, enum report_lang lang) {
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    report_style st = {.lang = lang, .national = 1, .target = 300};
    if (f == TABLE) report_print_table(r, &st, out);
    else if (f == CSV) report_print_csv(r, &st, out);
    else report_print_html(r, &st, out);
    assert_int_equal(fclose(out), 0);
    return text;
}

static void table_has_a_section_apart(void **state) {
    (void)state;
    report_t *r = month(1);
    char *en = print(r, TABLE, REPORT_LANG_EN), *vi = print(r, TABLE, REPORT_LANG_VI);
    const char *sec = strstr(en, "Unattested samples (no server receipt, not counted toward the target)\n");
    assert_non_null(sec);
    /* After the province table, before the units below the target. */
    assert_true(sec > strstr(en, "By province\n"));
    assert_true(sec < strstr(en, "Units below the target\n"));
    assert_non_null(strstr(sec, "\n      Nationwide  1,234       0\n"));
    assert_non_null(strstr(sec, "\n01    01          1,234       0\n"));
    /* The counted samples stay 320, the province met its fixed target on
     * them alone: 1,554 (320 + 1,234) appears nowhere. */
    assert_non_null(strstr(en, "01    01        Fixed        320  met"));
    assert_null(strstr(en, "1,554"));
    assert_non_null(strstr(vi, "Mẫu chưa xác thực (không có biên nhận máy chủ, không tính vào chỉ tiêu)\n"));
    assert_non_null(strstr(vi, "\n    Cả nước           1.234        0\n"));
    free(en);
    free(vi);
    report_free(r);
}

static void csv_ends_with_unattested_count(void **state) {
    (void)state;
    report_t *r = month(1);
    char *csv = print(r, CSV, REPORT_LANG_VI);
    const char *head = "scope,province,code,name,network,samples,target,provinces,provinces_met,provinces_met_pct,"
                       "districts,districts_met,districts_met_pct,communes,communes_met,communes_met_pct,agents,"
                       "communes_met_one_agent,unattested_count\n";
    assert_memory_equal(csv, head, strlen(head));
    assert_non_null(strstr(csv, "\nnational,,,Cả nước,fixed,320,300,1,1,100.0,,,,1,0,0.0,2,0,1234\n"));
    assert_non_null(strstr(csv, "\nnational,,,Cả nước,mobile,12,300,1,0,0.0,,,,1,0,0.0,2,0,0\n"));
    assert_non_null(strstr(csv, "\nprovince,01,01,01,fixed,320,300,1,1,100.0,,,,1,0,0.0,2,0,1234\n"));
    assert_non_null(strstr(csv, "\ncommune,01,00004,00004,fixed,20,300,,,,,,,,,,2,,1234\n"));
    free(csv);
    report_free(r);
}

static void html_has_a_column_and_a_note(void **state) {
    (void)state;
    report_t *r = month(1);
    char *en = print(r, HTML, REPORT_LANG_EN), *vi = print(r, HTML, REPORT_LANG_VI);
    assert_non_null(strstr(en, "<th class=\"met-one\">Met, 1 agent</th><th class=\"unattested\">Unattested</th>"));
    assert_non_null(strstr(en, "<td class=\"n unattested\">1,234</td>"));
    assert_non_null(strstr(en, "not counted toward the target.</p>"));
    assert_non_null(strstr(vi, "<th class=\"unattested\">Chưa xác thực</th>"));
    assert_non_null(strstr(vi, "<td class=\"n unattested\">1.234</td>"));
    assert_non_null(strstr(vi, "không tính vào chỉ tiêu.</p>"));
    /* Samples stays the counted 320. */
    assert_non_null(strstr(en, "<td class=\"n\">320</td>"));
    assert_null(strstr(en, "1,554"));
    free(en);
    free(vi);
    report_free(r);
}

/* With no unattested sample anywhere, nothing about them is printed: the
 * report of a collector with --attestation required reads as before. */
static void nothing_apart_without_any(void **state) {
    (void)state;
    report_t *r = month(0);
    for (enum fmt f = TABLE; f <= HTML; f++)
        for (enum report_lang l = REPORT_LANG_VI; l <= REPORT_LANG_EN; l++) {
            char *text = print(r, f, l);
            /* The HTML's style sheet names the class, always. */
            if (f != HTML) assert_null(strstr(text, "nattested"));
            assert_null(strstr(text, "Unattested"));
            assert_null(strstr(text, "class=\"unattested"));
            assert_null(strstr(text, " unattested\""));
            assert_null(strstr(text, "chưa xác thực"));
            assert_null(strstr(text, "Chưa xác thực"));
            free(text);
        }
    char *csv = print(r, CSV, REPORT_LANG_EN);
    assert_non_null(strstr(csv, ",agents,communes_met_one_agent\n"));
    free(csv);
    report_free(r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_has_a_section_apart),
        cmocka_unit_test(csv_ends_with_unattested_count),
        cmocka_unit_test(html_has_a_column_and_a_note),
        cmocka_unit_test(nothing_apart_without_any),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
