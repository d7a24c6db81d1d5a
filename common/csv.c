/* RFC 4180 records parsed in place (see csv.h). */
#include "csv.h"

#include <string.h>

int csv_next(char **cursor, char **fields, size_t max, size_t *n, size_t *line) {
    char *p = *cursor;
    *n = 0;
    /* Blank lines separate nothing; skip them (and count them). */
    while (*p == '\n' || (*p == '\r' && p[1] == '\n')) {
        p += *p == '\r' ? 2 : 1;
        if (line) (*line)++;
    }
    if (*p == '\0') {
        *cursor = p;
        return 0;
    }
    for (;;) {
        char *out = p, *field = p;
        if (*n == max) return CSV_TOO_MANY;
        if (*p == '"') {
            p++;
            for (;;) {
                if (*p == '\0') return CSV_MALFORMED;
                if (*p == '"') {
                    if (p[1] != '"') break;
                    p++; /* "" is one quote */
                }
                if (*p == '\n' && line) (*line)++;
                *out++ = *p++;
            }
            p++; /* the closing quote */
            if (*p != ',' && *p != '\n' && *p != '\0' && !(*p == '\r' && (p[1] == '\n' || p[1] == '\0')))
                return CSV_MALFORMED;
        } else {
            size_t len = strcspn(p, ",\n");
            if (len > 0 && p[len - 1] == '\r' && p[len] != ',') len--; /* CRLF */
            if (memchr(p, '"', len)) return CSV_MALFORMED;
            p += len;
            out = p;
        }
        char end = *p;
        fields[(*n)++] = field;
        if (end == ',') {
            *out = '\0';
            p++;
            continue;
        }
        if (end == '\r') p++;
        if (*p == '\n') {
            p++;
            if (line) (*line)++;
        } else if (*p == '\0' && line) {
            (*line)++; /* a last line without its newline */
        }
        *out = '\0';
        *cursor = p;
        return 1;
    }
}
