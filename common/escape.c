/* JSON, CSV, HTML and terminal quoting (see escape.h). */
#include "escape.h"

#include <stdint.h>
#include <string.h>

#include "utf8.h"

static void file_sink(void *ctx, const char *p, size_t n) { fwrite(p, 1, n, ctx); }

static void put(escape_sink sink, void *ctx, const char *s) { sink(ctx, s, strlen(s)); }

void escape_buf_init(escape_buf *b, char *p, size_t size) {
    b->p = p;
    b->size = size;
    b->len = 0;
    b->truncated = 0;
    if (size) p[0] = '\0';
}

void escape_buf_sink(void *ctx, const char *p, size_t n) {
    escape_buf *b = ctx;
    /* Whole pieces only, and nothing after the first that did not fit:
     * never half an escape or a code point, never a gap. */
    if (b->truncated || b->size == 0 || b->len + n + 1 > b->size) {
        b->truncated = 1;
        return;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void escape_json_to(escape_sink sink, void *ctx, const char *s) {
    size_t left = strlen(s);
    sink(ctx, "\"", 1);
    while (left > 0) {
        size_t n = utf8_decode(s, left, NULL);
        char hex[8];
        if (n == 0) {
            put(sink, ctx, "\\ufffd");
            s++;
            left--;
            continue;
        }
        if (n == 1) {
            unsigned char c = (unsigned char)*s;
            switch (c) {
            case '"': put(sink, ctx, "\\\""); break;
            case '\\': put(sink, ctx, "\\\\"); break;
            case '\n': put(sink, ctx, "\\n"); break;
            case '\r': put(sink, ctx, "\\r"); break;
            case '\t': put(sink, ctx, "\\t"); break;
            default:
                if (c < 0x20 || c == 0x7F) {
                    snprintf(hex, sizeof hex, "\\u%04x", c);
                    put(sink, ctx, hex);
                } else {
                    sink(ctx, s, 1);
                }
            }
        } else {
            sink(ctx, s, n);
        }
        s += n;
        left -= n;
    }
    sink(ctx, "\"", 1);
}

void escape_json(FILE *out, const char *s) { escape_json_to(file_sink, out, s); }

void escape_csv_to(escape_sink sink, void *ctx, const char *s) {
    size_t len = strlen(s);
    /* A spreadsheet runs a cell starting with one of these as a formula
     * (=HYPERLINK(...), +cmd|...): an operator name is agent-chosen. */
    int formula = len > 0 && strchr("=+-@\t\r", s[0]) != NULL;
    /* Spreadsheets trim unquoted edge spaces; quote to keep them. */
    int quote = formula || strpbrk(s, ",\"\r\n") != NULL || (len > 0 && (s[0] == ' ' || s[len - 1] == ' '));
    if (!quote) {
        sink(ctx, s, len);
        return;
    }
    sink(ctx, "\"", 1);
    if (formula) sink(ctx, "'", 1);
    for (const char *p = s; *p;) {
        const char *q = strchr(p, '"');
        size_t n = q ? (size_t)(q - p) + 1 : strlen(p);
        sink(ctx, p, n);
        if (q) sink(ctx, "\"", 1); /* the quote doubled */
        p += n;
    }
    sink(ctx, "\"", 1);
}

void escape_csv(FILE *out, const char *s) { escape_csv_to(file_sink, out, s); }

void escape_csv_row(FILE *out, const char *const *fields, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (i) fputc(',', out);
        escape_csv(out, fields[i] ? fields[i] : "");
    }
    fputc('\n', out);
}

void escape_html_to(escape_sink sink, void *ctx, const char *s) {
    for (const char *p = s; *p;) {
        size_t n = strcspn(p, "&<>\"'");
        if (n) sink(ctx, p, n);
        p += n;
        switch (*p) {
        case '&': put(sink, ctx, "&amp;"); break;
        case '<': put(sink, ctx, "&lt;"); break;
        case '>': put(sink, ctx, "&gt;"); break;
        case '"': put(sink, ctx, "&quot;"); break;
        case '\'': put(sink, ctx, "&#39;"); break;
        default: return; /* the NUL */
        }
        p++;
    }
}

void escape_html(FILE *out, const char *s) { escape_html_to(file_sink, out, s); }

void escape_term_to(escape_sink sink, void *ctx, const char *s) {
    size_t left = strlen(s);
    while (left > 0) {
        uint32_t cp = 0;
        size_t n = utf8_decode(s, left, &cp);
        char hex[8];
        if (n == 0) {
            snprintf(hex, sizeof hex, "\\x%02x", (unsigned char)*s);
            put(sink, ctx, hex);
            n = 1;
        } else if (cp < 0x20 || cp == 0x7F) {
            snprintf(hex, sizeof hex, "\\x%02x", (unsigned)cp);
            put(sink, ctx, hex);
        } else if (cp >= 0x80 && cp <= 0x9F) {
            /* C1: U+009B is CSI on terminals that take 8-bit controls. */
            snprintf(hex, sizeof hex, "\\u%04x", (unsigned)cp);
            put(sink, ctx, hex);
        } else if (cp == '\\') {
            put(sink, ctx, "\\\\");
        } else {
            sink(ctx, s, n);
        }
        s += n;
        left -= n;
    }
}

void escape_term(FILE *out, const char *s) { escape_term_to(file_sink, out, s); }
