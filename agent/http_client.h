/* One HTTP/1.1 client connection of a speed test: one request at a time,
 * response bodies counted and dropped as they arrive, upload bodies sent by
 * reference from a random buffer, and every failure classified as a test
 * outcome (ISPEED__V1__OUTCOME__*). Plain sockets: libevent 2.1's evbuffer
 * reads 4 KiB at a time, too little for multi-Gbit/s streams. */
#ifndef ISPEED_HTTP_CLIENT_H
#define ISPEED_HTTP_CLIENT_H

#include <event2/event.h>
#include <stddef.h>
#include <stdint.h>

#include "payload.h"
#include <sys/socket.h>

#define HTTP_CLIENT_MAX_HEADER 16384 /* a longer response header is a protocol error */
#define HTTP_CLIENT_CONNECT_MS 5000

typedef struct http_client http_client;

/* Callbacks run from the loop; each may free the client or start its next
 * request. */
typedef struct http_client_cbs {
    /* n bytes of a 2xx response's body arrived (and were dropped). */
    void (*body)(http_client *c, size_t n, void *arg);
    /* A response is complete; the owner judges its status. */
    void (*done)(http_client *c, int status, void *arg);
    /* The request failed; outcome says how, detail in words. The connection
     * is closed; a new request reconnects. */
    void (*fail)(http_client *c, int outcome, const char *detail, void *arg);
} http_client_cbs;

/* stall_ms: longest time without a byte moving while a request is
 * outstanding. label names the server in details ("host:port"). Request
 * bodies are cut from payload (the caller's, for the client's life; NULL
 * for a client that sends none). */
http_client *http_client_new(struct event_base *base, const struct sockaddr *sa, socklen_t salen,
                             const char *host_header, const char *label, int stall_ms,
                             const http_client_cbs *cbs, const payload_t *payload, void *arg);
void http_client_free(http_client *c);

/* Sends method target with a body of body_len random bytes (0: none; more
 * needs a payload),
 * connecting first if needed. -1 if a request is already outstanding. */
int http_client_request(http_client *c, const char *method, const char *target, uint64_t body_len);
/* Drops the connection at once (a reset, so the kernel stops sending what it
 * still queues: volunteers pay for those bytes) and any outstanding request. */
void http_client_abort(http_client *c);

int http_client_busy(const http_client *c);
int http_client_connected(const http_client *c);
/* Response-body bytes received over the client's life. */
uint64_t http_client_body_received(const http_client *c);
/* Upload-body bytes the server acknowledged, over the client's life. */
uint64_t http_client_body_acked(http_client *c);
/* Of the last complete request: microseconds from its last byte sent to its
 * response complete (no connection set-up in it). */
int64_t http_client_rtt_us(const http_client *c);

/* Hands n bytes to the response parser as if recv had read them, without a
 * socket (the client must never have connected): a response is awaited as
 * after a request, and the callbacks run as from the loop. n == 0 is the
 * server closing the connection. For the fuzz target (tests/fuzz/). 1 if a
 * callback freed the client, 0 otherwise, -1 on a connected client. */
int http_client_feed(http_client *c, const void *buf, size_t n);

/* CLOCK_MONOTONIC in microseconds, the clock of every measurement. */
int64_t http_client_now_us(void);

#endif
