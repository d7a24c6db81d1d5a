/* UTF-8 decoding by the rules of RFC 3629. */
#include "utf8.h"

size_t utf8_decode(const char *s, size_t n, uint32_t *cp) {
    const unsigned char *p = (const unsigned char *)s;
    size_t len;
    uint32_t v;
    if (n == 0) return 0;
    if (p[0] < 0x80) {
        len = 1;
        v = p[0];
    } else if ((p[0] & 0xE0) == 0xC0) {
        len = 2;
        v = p[0] & 0x1F;
    } else if ((p[0] & 0xF0) == 0xE0) {
        len = 3;
        v = p[0] & 0x0F;
    } else if ((p[0] & 0xF8) == 0xF0) {
        len = 4;
        v = p[0] & 0x07;
    } else {
        return 0;
    }
    if (len > n) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (p[i] & 0x3F);
    }
    /* Overlong forms and surrogates would let one text have two spellings. */
    if ((len == 2 && v < 0x80) || (len == 3 && v < 0x800) || (len == 4 && (v < 0x10000 || v > 0x10FFFF)) ||
        (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    if (cp) *cp = v;
    return len;
}

int utf8_valid(const char *s, size_t n) {
    while (n > 0) {
        size_t len = utf8_decode(s, n, NULL);
        if (len == 0) return 0;
        s += len;
        n -= len;
    }
    return 1;
}
