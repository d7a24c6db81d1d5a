/* Quoting for machine-readable output: CSV fields (RFC 4180), JSON
 * strings and HTML text, so names with commas, quotes or diacritics survive a round trip. */
#ifndef ISPEED_CTL_ESCAPE_H
#define ISPEED_CTL_ESCAPE_H

#include <stdio.h>

/* s as one CSV field: quoted, with quotes doubled, only when it contains a
 * comma, a quote, CR or LF, or starts/ends with a space. */
void escape_csv(FILE *out, const char *s);
/* s as a JSON string, quotes included. Control characters become \u00XX and
 * invalid UTF-8 bytes U+FFFD, so the output is always valid JSON. */
void escape_json(FILE *out, const char *s);

/* s as HTML text or attribute value: & < > " ' as entities. */
void escape_html(FILE *out, const char *s);

#endif
