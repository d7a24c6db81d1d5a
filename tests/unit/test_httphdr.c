/* common/httphdr.c: the header fields the agent and the server both read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "httphdr.h"

static void fields_split_and_trim(void **state) {
    (void)state;
    char a[] = "Content-Length: \t 42 \t", b[] = "X-Empty:", c[] = ": no name", d[] = "no colon";
    char *name, *value;
    assert_int_equal(httphdr_field(a, &name, &value), 0);
    assert_string_equal(name, "Content-Length");
    assert_string_equal(value, "42");
    assert_int_equal(httphdr_field(b, &name, &value), 0);
    assert_string_equal(value, "");
    assert_int_equal(httphdr_field(c, &name, &value), -1);
    assert_int_equal(httphdr_field(d, &name, &value), -1);
}

static void token_lists(void **state) {
    (void)state;
    assert_true(httphdr_has_token("keep-alive", "keep-alive"));
    assert_true(httphdr_has_token("Upgrade, Close", "close"));
    assert_true(httphdr_has_token(" gzip ,chunked", "chunked"));
    assert_false(httphdr_has_token("closed", "close"));
    assert_false(httphdr_has_token("", "close"));
}

static void content_length_is_digits_only(void **state) {
    (void)state;
    uint64_t v = 0;
    assert_int_equal(httphdr_content_length("0", &v), 0);
    assert_int_equal(v, 0);
    /* Up to 2^64 - 7: the check before each digit is the simple bound. */
    assert_int_equal(httphdr_content_length("18446744073709551609", &v), 0);
    assert_true(v == UINT64_MAX - 6);
    assert_int_equal(httphdr_content_length("184467440737095516100", &v), -1);
    assert_int_equal(httphdr_content_length("", &v), -1);
    assert_int_equal(httphdr_content_length("-1", &v), -1);
    assert_int_equal(httphdr_content_length("+5", &v), -1);
    assert_int_equal(httphdr_content_length("5, 5", &v), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fields_split_and_trim),
        cmocka_unit_test(token_lists),
        cmocka_unit_test(content_length_is_digits_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
