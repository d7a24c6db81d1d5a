/* HTTP/1.1 header fields (RFC 9112), read the same way by the agent's
 * client and the test server: "Name: value" split with blanks trimmed,
 * token lists (Connection, Transfer-Encoding), Content-Length. */
#ifndef ISPEED_HTTPHDR_H
#define ISPEED_HTTPHDR_H

#include <stdint.h>

/* Splits line (one field, no CR/LF) in place at its colon: *name and *value,
 * the value without leading or trailing blanks. -1 when there is no colon
 * or the name is empty. */
int httphdr_field(char *line, char **name, char **value);
/* 1 when the comma-separated list value holds tok, case-insensitively. */
int httphdr_has_token(const char *value, const char *tok);
/* Content-Length: digits only, no overflow. 0 and *out, or -1. */
int httphdr_content_length(const char *value, uint64_t *out);

#endif
