/* The test endpoint's HTTP/1.1 server on plain sockets: keep-alive, request
 * bodies counted and dropped as they arrive (uploads of any size in constant
 * memory), answers streamed from the random payload without copies, and
 * limits on header size and on time without progress. What each URL answers
 * is endpoints.c's job. */
#ifndef ISPEED_SERVER_TESTHTTP_H
#define ISPEED_SERVER_TESTHTTP_H

#include <event2/event.h>
#include <stddef.h>
#include <stdint.h>

#include "endpoints.h"
#include "payload.h"

#define TESTHTTP_MAX_HEADER 16384  /* request line and headers; more is answered 431 */

typedef struct testhttp_opts {
    const char *listen;       /* "ADDR:PORT", "[::]:PORT"; port 0 picks a free one */
    int idle_timeout_s;       /* keep-alive wait and longest time without progress */
    int header_timeout_s;     /* from a request's first byte to the end of its header */
    size_t max_conns;         /* more are closed at accept, counted over every server of the process */
    int group;                /* TESTHTTP_LISTEN_*: several servers on one port */
    const payload_t *payload; /* downloads are cut from it; the caller's, for the server's life */
} testhttp_opts;

/* Worker threads each serve their own socket on one port (SO_REUSEPORT), so
 * the kernel spreads connections evenly; one shared socket would let
 * whichever loop wakes first take a burst of them. The first of a group
 * still fails when anything else holds the port, as a lone server does. */
enum { TESTHTTP_LISTEN_ALONE = 0, TESTHTTP_LISTEN_GROUP_FIRST, TESTHTTP_LISTEN_GROUP_JOIN };

typedef struct testhttp testhttp_t;

/* A request's line and the header fields that frame its body and the
 * connection; the strings point into the parsed header. */
typedef struct http_request {
    const char *method, *path, *query; /* query: after '?', "" if none */
    int keep_alive;
    int expect_continue;
    uint64_t content_length;
} http_request;

/* Where a request header in buf[0..len) ends (just past its blank line), or
 * 0 while it is incomplete; scanning resumes at *scanned (0 at first) so a
 * header sent a byte at a time costs linear work. Bare LF line ends are
 * accepted, as most servers do. */
size_t http_request_header_end(const char *buf, size_t len, size_t *scanned);
/* Parses the header in in[0..hdr_len) (hdr_len from http_request_header_end)
 * in place. Returns 0, or an HTTP status with *why set for a request that
 * must be refused. Public for the fuzz target; the connections use it. */
int http_request_parse(char *in, size_t hdr_len, http_request *r, const char **why);

/* Binds and listens on base; NULL with a message (which address, why) on
 * failure. A group's later members join the first's testhttp_address. */
testhttp_t *testhttp_new(struct event_base *base, const testhttp_opts *opts, const endpoints_t *ep,
                               char *err, size_t errsz);
/* "ADDR:PORT" really bound (the chosen port when 0 was asked). */
const char *testhttp_address(const testhttp_t *s);
/* Stops listening and closes every connection. */
void testhttp_free(testhttp_t *s);

#endif
