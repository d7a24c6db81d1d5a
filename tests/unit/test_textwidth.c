/* ctl/textwidth.c and ctl/report_lang.c: Vietnamese names
 * line up in tables (columns are glyphs, not bytes), and numbers are written
 * as each language writes them (quoting is tests/unit/test_escape.c's). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report_lang.h"
#include "textwidth.h"

static void width_counts_glyphs_not_bytes(void **state) {
    (void)state;
    assert_int_equal(textwidth(""), 0);
    assert_int_equal(textwidth("abc"), 3);
    /* NFC: one code point per glyph, 2 or 3 bytes each. */
    assert_int_equal(strlen("Phường Phúc Xá"), 19);
    assert_int_equal(textwidth("Phường Phúc Xá"), 14);
    assert_int_equal(textwidth("Thành phố Hà Nội"), 16);
    assert_int_equal(textwidth("Đắk Lắk"), 7);
}

static void combining_marks_take_no_column(void **state) {
    (void)state;
    /* NFD "Phường": u + U+031B horn + o + U+031B horn + U+0300 grave. */
    const char *nfd = "Phu\xCC\x9Bo\xCC\x9B\xCC\x80ng";
    assert_int_equal(textwidth(nfd), 6);
    assert_int_equal(textwidth("Phường"), 6);
}

static void invalid_bytes_count_one_each(void **state) {
    (void)state;
    assert_int_equal(textwidth("a\xFF" "b"), 3);
    assert_int_equal(textwidth("\xE1\xBB"), 2); /* truncated sequence */
}

static void truncate_adds_ellipsis_only_when_needed(void **state) {
    (void)state;
    char out[64];
    assert_int_equal(textwidth_truncate("Phường Phúc Xá", 14, out, sizeof out), 14);
    assert_string_equal(out, "Phường Phúc Xá");
    assert_int_equal(textwidth_truncate("Phường Phúc Xá", 20, out, sizeof out), 14);
    assert_string_equal(out, "Phường Phúc Xá");
    assert_int_equal(textwidth_truncate("Phường Phúc Xá", 10, out, sizeof out), 10);
    assert_string_equal(out, "Phường Ph…");
    assert_int_equal(textwidth(out), 10);
    assert_int_equal(textwidth_truncate("Phường", 1, out, sizeof out), 1);
    assert_string_equal(out, "…");
    assert_int_equal(textwidth_truncate("Phường", 0, out, sizeof out), 0);
    assert_string_equal(out, "");
}

static void truncate_keeps_combining_marks_with_their_letter(void **state) {
    (void)state;
    char out[64];
    /* Width 5 keeps 4 glyphs, the last "ờ" with both its marks, then "…". */
    textwidth_truncate("Phu\xCC\x9Bo\xCC\x9B\xCC\x80ng xa", 5, out, sizeof out);
    assert_string_equal(out, "Phu\xCC\x9Bo\xCC\x9B\xCC\x80\xE2\x80\xA6");
    assert_int_equal(textwidth(out), 5);
}

static void truncate_never_splits_a_code_point_in_a_small_buffer(void **state) {
    (void)state;
    char out[8];
    /* 7 usable bytes: "Phư" (4 bytes) and "…" (3); never half of "ờ". */
    size_t w = textwidth_truncate("Phường Phúc Xá", 14, out, sizeof out);
    assert_true(strlen(out) < sizeof out);
    assert_int_equal(textwidth(out), w);
    assert_string_equal(out, "Phư…");
}

static void fput_pads_to_display_width(void **state) {
    (void)state;
    char buf[128];
    FILE *f = fmemopen(buf, sizeof buf, "w");
    assert_non_null(f);
    textwidth_fput(f, "Phúc Xá", 9, 1);
    fputc('|', f);
    textwidth_fput(f, "42", 5, 0);
    fputc('|', f);
    textwidth_fput(f, "Phường Phúc Xá", 8, 1);
    fputc('|', f);
    fclose(f);
    assert_string_equal(buf, "Phúc Xá  |   42|Phường …|");
}

/* The report's numbers: Vietnamese writes 96,8% and 10.047, English 96.8%
 * and 10,047; shares are rounded half up to a tenth, in integers. */
static void report_numbers_per_language(void **state) {
    (void)state;
    char out[64];
    report_share(out, sizeof out, REPORT_LANG_VI, 61, 63);
    assert_string_equal(out, "96,8%");
    report_share(out, sizeof out, REPORT_LANG_EN, 61, 63);
    assert_string_equal(out, "96.8%");
    report_share(out, sizeof out, REPORT_LANG_EN, 1, 8); /* 12.5 exactly */
    assert_string_equal(out, "12.5%");
    report_share(out, sizeof out, REPORT_LANG_EN, 1, 16); /* 6.25 -> 6.3 */
    assert_string_equal(out, "6.3%");
    report_share(out, sizeof out, REPORT_LANG_EN, 0, 0);
    assert_string_equal(out, "–");
    report_number(out, sizeof out, REPORT_LANG_VI, 10047);
    assert_string_equal(out, "10.047");
    report_number(out, sizeof out, REPORT_LANG_EN, 1234567);
    assert_string_equal(out, "1,234,567");
    report_number(out, sizeof out, REPORT_LANG_EN, 300);
    assert_string_equal(out, "300");
    report_ratio(out, sizeof out, REPORT_LANG_VI, 97, 10047);
    assert_string_equal(out, "97/10.047 (1,0%)");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(width_counts_glyphs_not_bytes),
        cmocka_unit_test(combining_marks_take_no_column),
        cmocka_unit_test(invalid_bytes_count_one_each),
        cmocka_unit_test(truncate_adds_ellipsis_only_when_needed),
        cmocka_unit_test(truncate_keeps_combining_marks_with_their_letter),
        cmocka_unit_test(truncate_never_splits_a_code_point_in_a_small_buffer),
        cmocka_unit_test(fput_pads_to_display_width),
        cmocka_unit_test(report_numbers_per_language),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
