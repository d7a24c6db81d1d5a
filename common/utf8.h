/* UTF-8 decoding and validation, the one copy every program uses: names
 * and details come from agents and the registry and may be badly encoded. */
#ifndef ISPEED_UTF8_H
#define ISPEED_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length (1..4) of the valid UTF-8 sequence at s (n bytes available), with
 * its code point in *cp (may be NULL); 0 when the bytes are not valid UTF-8
 * (overlong forms, surrogates, > U+10FFFF, a truncated sequence) or n is 0. */
size_t utf8_decode(const char *s, size_t n, uint32_t *cp);
/* 1 when all n bytes are valid UTF-8, else 0. */
int utf8_valid(const char *s, size_t n);

#endif
