/* Reading CSV (RFC 4180): quoted fields with doubled quotes, commas and line
 * breaks inside quotes, CRLF or LF line ends. It reads everything
 * escape_csv writes (ispeedctl's CSV included). Writing is escape_csv and
 * escape_csv_row in escape.h. */
#ifndef ISPEED_CSV_H
#define ISPEED_CSV_H

#include <stddef.h>

#define CSV_TOO_MANY -2 /* more fields than the caller has room for */
#define CSV_MALFORMED -1 /* an open quote never closed, or text after a closing quote */

/* Parses the record at *cursor in place (quotes removed, doubled quotes
 * undone, each field NUL-terminated) into fields[0..*n), at most max, and
 * moves *cursor past it; *line (may be NULL) counts the lines consumed, so a
 * caller can name the line of an error. Blank lines are skipped. Returns 1
 * with a record, 0 at the end of the text, CSV_TOO_MANY or CSV_MALFORMED. */
int csv_next(char **cursor, char **fields, size_t max, size_t *n, size_t *line);

#endif
