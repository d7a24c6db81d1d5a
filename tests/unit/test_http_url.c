/* agent/http_url.c: which URLs are LibreSpeed backends, and the request
 * targets of both server kinds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http_url.h"

static void ispeed_urls_use_ispeed_paths(void **state) {
    (void)state;
    http_url u;
    char err[256], t[600];

    assert_int_equal(http_url_parse("http://10.0.0.1:8080", &u, err, sizeof err), 0);
    assert_false(u.librespeed);
    assert_string_equal(u.host, "10.0.0.1");
    assert_string_equal(u.port, "8080");
    assert_string_equal(u.hostport, "10.0.0.1:8080");
    http_url_target(&u, HTTP_URL_DOWNLOAD, 1000, 1, t, sizeof t);
    assert_string_equal(t, "/ispeed/v1/download?bytes=1000");
    http_url_target(&u, HTTP_URL_PING, 0, 1, t, sizeof t);
    assert_string_equal(t, "/ispeed/v1/ping");

    /* Behind a proxy prefix, with a trailing slash and no port. */
    assert_int_equal(http_url_parse("http://speed.example.vn/speed/", &u, err, sizeof err), 0);
    assert_false(u.librespeed);
    assert_string_equal(u.port, "80");
    assert_string_equal(u.hostport, "speed.example.vn");
    http_url_target(&u, HTTP_URL_UPLOAD, 5, 1, t, sizeof t);
    assert_string_equal(t, "/speed/ispeed/v1/upload");
    /* A test ticket rides on downloads and uploads, never on pings. */
    snprintf(u.ticket, sizeof u.ticket, "0123456789abcdef0123456789abcdef");
    http_url_target(&u, HTTP_URL_UPLOAD, 5, 1, t, sizeof t);
    assert_string_equal(t, "/speed/ispeed/v1/upload?ticket=0123456789abcdef0123456789abcdef");
    http_url_target(&u, HTTP_URL_DOWNLOAD, 7, 1, t, sizeof t);
    assert_string_equal(t, "/speed/ispeed/v1/download?bytes=7&ticket=0123456789abcdef0123456789abcdef");
    http_url_target(&u, HTTP_URL_PING, 0, 1, t, sizeof t);
    assert_string_equal(t, "/speed/ispeed/v1/ping");

    assert_int_equal(http_url_parse("http://[::1]:9000", &u, err, sizeof err), 0);
    assert_string_equal(u.host, "::1");
    assert_string_equal(u.hostport, "[::1]:9000");
}

static void librespeed_urls_are_recognised(void **state) {
    (void)state;
    http_url u;
    char err[256], t[600];

    assert_int_equal(http_url_parse("http://ls.example.vn/backend", &u, err, sizeof err), 0);
    assert_true(u.librespeed);
    http_url_target(&u, HTTP_URL_DOWNLOAD, 3 * 1048576 + 1, 7, t, sizeof t);
    assert_string_equal(t, "/backend/garbage.php?r=7&ckSize=4");

    assert_int_equal(http_url_parse("http://ls.example.vn:81/speedtest/backend/empty.php", &u, err, sizeof err), 0);
    assert_true(u.librespeed);
    assert_string_equal(u.prefix, "/speedtest/backend");
    http_url_target(&u, HTTP_URL_UPLOAD, 0, 2, t, sizeof t);
    assert_string_equal(t, "/speedtest/backend/empty.php?r=2");

    assert_int_equal(http_url_parse("http://ls.example.vn/#librespeed", &u, err, sizeof err), 0);
    assert_true(u.librespeed);
    http_url_target(&u, HTTP_URL_PING, 0, 3, t, sizeof t);
    assert_string_equal(t, "/empty.php?r=3");

    assert_int_equal(http_url_parse("http://host/librespeed-mirror", &u, err, sizeof err), 0);
    assert_true(u.librespeed);
    /* "backend" must be the last directory, not part of a name. */
    assert_int_equal(http_url_parse("http://host/mybackend", &u, err, sizeof err), 0);
    assert_false(u.librespeed);
}

static void bad_urls_say_what_to_write(void **state) {
    (void)state;
    http_url u;
    char err[256];

    assert_int_equal(http_url_parse("https://host", &u, err, sizeof err), -1);
    assert_non_null(strstr(err, "https is not supported"));
    assert_int_equal(http_url_parse("host:8080", &u, err, sizeof err), -1);
    assert_non_null(strstr(err, "http://"));
    assert_int_equal(http_url_parse("http://host:99999", &u, err, sizeof err), -1);
    assert_int_equal(http_url_parse("http://host:80x/", &u, err, sizeof err), -1);
    assert_int_equal(http_url_parse("http://:80", &u, err, sizeof err), -1);
    assert_int_equal(http_url_parse("http://[::1/", &u, err, sizeof err), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ispeed_urls_use_ispeed_paths),
        cmocka_unit_test(librespeed_urls_are_recognised),
        cmocka_unit_test(bad_urls_say_what_to_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
