/* HTTP header field helpers (see httphdr.h). */
#include "httphdr.h"

#include <string.h>
#include <strings.h>

int httphdr_field(char *line, char **name, char **value) {
    char *colon = strchr(line, ':'), *v, *vend;
    if (!colon || colon == line) return -1;
    *colon = '\0';
    v = colon + 1;
    while (*v == ' ' || *v == '\t') v++;
    vend = v + strlen(v);
    while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t')) *--vend = '\0';
    *name = line;
    *value = v;
    return 0;
}

int httphdr_has_token(const char *value, const char *tok) {
    size_t tl = strlen(tok);
    const char *p = value;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        if (strncasecmp(p, tok, tl) == 0 && (p[tl] == '\0' || p[tl] == ',' || p[tl] == ' ' || p[tl] == '\t'))
            return 1;
        while (*p && *p != ',') p++;
    }
    return 0;
}

int httphdr_content_length(const char *value, uint64_t *out) {
    uint64_t v = 0;
    if (!*value) return -1;
    for (const char *q = value; *q; q++) {
        /* A sign, blanks or a second number ("5, 5") are smuggling tools. */
        if (*q < '0' || *q > '9' || v > (UINT64_MAX - 9) / 10) return -1;
        v = v * 10 + (uint64_t)(*q - '0');
    }
    *out = v;
    return 0;
}
