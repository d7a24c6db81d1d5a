/* A test server's URL, and the request targets of the two server kinds the
 * agent speaks to (rule in measure.h). */
#ifndef ISPEED_HTTP_URL_H
#define ISPEED_HTTP_URL_H

#include <stddef.h>
#include <stdint.h>

typedef struct http_url {
    char host[256];    /* without brackets for IPv6 */
    char hostport[272]; /* for the Host header: "host", "host:8080", "[::1]:8080" */
    char port[8];
    char prefix[256];  /* path before the endpoints, without a trailing '/'; "" at the root */
    int librespeed;
    char ticket[33];   /* an ispeed-server's test ticket (hex), named on downloads and uploads; "" for none */
} http_url;

enum http_url_kind { HTTP_URL_PING, HTTP_URL_DOWNLOAD, HTTP_URL_UPLOAD };

/* Parses "http://host[:port][/path][#librespeed]". -1 with a message that
 * says what to write instead. */
int http_url_parse(const char *url, http_url *u, char *err, size_t errsz);
/* The request target for kind; bytes sizes a download (rounded up to whole
 * MiB for LibreSpeed, whose unit it is); seq varies LibreSpeed's cache
 * buster. */
void http_url_target(const http_url *u, enum http_url_kind kind, uint64_t bytes, unsigned seq, char *out,
                     size_t outsz);

#endif
