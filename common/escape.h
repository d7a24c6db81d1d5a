/* Quoting of text for every output that leaves a program: JSON strings, CSV
 * fields (RFC 4180), HTML, and terminals. Anything that came from an agent
 * (a commune, an operator name, an outcome detail) goes through here before
 * it reaches a terminal, a spreadsheet or a page (SPEC: output hygiene).
 * Each writer comes in two forms: to a FILE, and to a sink, so that an
 * evbuffer or a fixed buffer (escape_buf) can take the same bytes. */
#ifndef ISPEED_ESCAPE_H
#define ISPEED_ESCAPE_H

#include <stddef.h>
#include <stdio.h>

/* Receives n bytes of output. */
typedef void (*escape_sink)(void *ctx, const char *p, size_t n);

/* s as a JSON string, quotes included. Control characters become \u00XX,
 * invalid UTF-8 bytes U+FFFD (\ufffd), so the output is always valid JSON. */
void escape_json(FILE *out, const char *s);
void escape_json_to(escape_sink sink, void *ctx, const char *s);

/* s as one CSV field: quoted, with quotes doubled, when it contains a comma,
 * a quote, CR or LF, or starts/ends with a space. A field starting with =,
 * +, -, @, TAB or CR, which a spreadsheet would run as a formula, is
 * prefixed with ' (OWASP's CSV injection rule) and quoted. */
void escape_csv(FILE *out, const char *s);
void escape_csv_to(escape_sink sink, void *ctx, const char *s);
/* One CSV record: the n fields through escape_csv, commas between, CRLF-free
 * "\n" at the end. */
void escape_csv_row(FILE *out, const char *const *fields, size_t n);

/* s as HTML text or attribute value: & < > " ' as entities. */
void escape_html(FILE *out, const char *s);
void escape_html_to(escape_sink sink, void *ctx, const char *s);

/* s for a terminal: C0 controls (ESC, CR, LF, BEL... terminal escape
 * sequences start with them), DEL and C1 controls (U+0080..U+009F) become
 * \xNN or \u00NN, backslash becomes \\, and invalid UTF-8 bytes \xNN, so
 * nothing an agent sends can move the cursor, retitle the window or fake a
 * line. Printable UTF-8 passes unchanged. */
void escape_term(FILE *out, const char *s);
void escape_term_to(escape_sink sink, void *ctx, const char *s);

/* A sink into a fixed buffer, always NUL-terminated; what does not fit is
 * dropped and `truncated` set. Initialise with escape_buf_init. */
typedef struct escape_buf {
    char *p;
    size_t size, len;
    int truncated;
} escape_buf;
void escape_buf_init(escape_buf *b, char *p, size_t size);
void escape_buf_sink(void *ctx, const char *p, size_t n);

#endif
