/* Display width of UTF-8 text on a terminal, so that tables of Vietnamese
 * names line up: columns are counted in glyphs, not bytes. */
#ifndef ISPEED_CTL_TEXTWIDTH_H
#define ISPEED_CTL_TEXTWIDTH_H

#include <stddef.h>
#include <stdio.h>

/* Columns s takes: one per code point, none for combining marks
 * (U+0300-U+036F and the other combining blocks), so NFC and NFD spellings
 * of "Phường" both measure 6. An invalid byte counts as one column. */
size_t textwidth(const char *s);

/* Copies into out the longest prefix of s that fits in width columns; if s
 * is wider, the prefix is shortened to width-1 columns and "…" appended.
 * Never cuts a code point or separates a letter from its combining marks.
 * Returns the columns written. out is always NUL-terminated (outsz > 0). */
size_t textwidth_truncate(const char *s, size_t width, char *out, size_t outsz);

/* Writes s into exactly width columns: truncated with "…" if wider, padded
 * with spaces on the right (left_align) or left otherwise. */
void textwidth_fput(FILE *out, const char *s, size_t width, int left_align);

#endif
