/* Test input files: text written to a fresh file under /tmp. Include after
 * <cmocka.h>. */
#ifndef ISPEED_TESTS_TMPFILE_FIXTURE_H
#define ISPEED_TESTS_TMPFILE_FIXTURE_H

#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

/* Writes text to a new file made from tmpl (a path ending in XXXXXX, which
 * mkstemp rewrites with the file's name); fails the test if it cannot. The
 * caller unlinks the file. */
static inline void fixture_write_tmp(char *tmpl, const char *text) {
    int fd = mkstemp(tmpl);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

#endif
