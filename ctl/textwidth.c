/* Display width of UTF-8 strings: code points, with combining marks taking
 * no column. Vietnamese registry names are NFC (one code point per glyph),
 * but names typed by hand often arrive decomposed, so marks are skipped. */
#include "textwidth.h"

#include <stdint.h>
#include <string.h>

#include "utf8.h"

/* One code point at s (common/utf8); an invalid byte counts as one U+FFFD
 * of length 1, so callers always make progress. */
static size_t utf8_next(const unsigned char *s, uint32_t *cp) {
    size_t n = utf8_decode((const char *)s, strnlen((const char *)s, 4), cp);
    if (n > 0) return n;
    *cp = 0xFFFD;
    return 1;
}

static int is_combining(uint32_t cp) {
    return (cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x1AB0 && cp <= 0x1AFF) ||
           (cp >= 0x1DC0 && cp <= 0x1DFF) || (cp >= 0x20D0 && cp <= 0x20FF) ||
           (cp >= 0xFE20 && cp <= 0xFE2F) || cp == 0x200B || cp == 0x200D;
}

size_t textwidth(const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    size_t w = 0;
    while (*p) {
        uint32_t cp;
        p += utf8_next(p, &cp);
        if (!is_combining(cp)) w++;
    }
    return w;
}

/* Byte length of the prefix of s holding at most width columns, with the
 * combining marks that follow its last glyph. */
static size_t prefix_bytes(const char *s, size_t width, size_t *cols) {
    const unsigned char *p = (const unsigned char *)s;
    size_t w = 0;
    while (*p) {
        uint32_t cp;
        size_t n = utf8_next(p, &cp);
        if (!is_combining(cp)) {
            if (w == width) break;
            w++;
        }
        p += n;
    }
    *cols = w;
    return (size_t)(p - (const unsigned char *)s);
}

static const char ELLIPSIS[] = "\xE2\x80\xA6"; /* U+2026 */

size_t textwidth_truncate(const char *s, size_t width, char *out, size_t outsz) {
    size_t cols, n;
    int cut = textwidth(s) > width;
    if (outsz == 0) return 0;
    if (cut && width == 0) {
        out[0] = '\0';
        return 0;
    }
    n = prefix_bytes(s, cut ? width - 1 : width, &cols);
    /* A small buffer shortens the text further rather than splitting a
     * code point. */
    while (n + (cut ? sizeof ELLIPSIS - 1 : 0) + 1 > outsz) {
        if (cols == 0) {
            n = 0;
            break;
        }
        n = prefix_bytes(s, --cols, &cols);
        cut = 1;
    }
    memcpy(out, s, n);
    if (cut && n + sizeof ELLIPSIS <= outsz) {
        memcpy(out + n, ELLIPSIS, sizeof ELLIPSIS);
        return cols + 1;
    }
    out[n] = '\0';
    return cols;
}

void textwidth_fput(FILE *out, const char *s, size_t width, int left_align) {
    char buf[1024];
    size_t w = textwidth_truncate(s, width, buf, sizeof buf);
    if (!left_align)
        for (size_t i = w; i < width; i++) fputc(' ', out);
    fputs(buf, out);
    if (left_align)
        for (size_t i = w; i < width; i++) fputc(' ', out);
}
