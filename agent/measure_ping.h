/* A series of HTTP pings on one kept-alive connection: idle latency before
 * the load, a server's latency when choosing among several, and latency
 * under load on its own connection while the streams run. */
#ifndef ISPEED_MEASURE_PING_H
#define ISPEED_MEASURE_PING_H

#include <event2/event.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "http_url.h"

typedef struct measure_ping measure_ping_t;
/* Called once, from the loop: after count pings, or on the first failure
 * (then measure_ping_outcome says why). May free the pinger. */
typedef void (*measure_ping_done_cb)(measure_ping_t *p, void *arg);

typedef struct measure_ping_opts {
    const struct sockaddr *sa;
    socklen_t salen;
    const http_url *url;
    const char *label;   /* "host:port" for details */
    int count;           /* stop after this many; 0 = until freed */
    int interval_ms;     /* from one ping's start to the next; 0 = back to back */
    int stall_ms;
} measure_ping_opts;

measure_ping_t *measure_ping_start(struct event_base *base, const measure_ping_opts *o, measure_ping_done_cb done,
                                   void *arg);
void measure_ping_free(measure_ping_t *p);

/* RTTs in ms so far and when each ping was sent (CLOCK_MONOTONIC µs). */
size_t measure_ping_results(const measure_ping_t *p, const double **rtt_ms, const int64_t **sent_us);
/* 0 while fine, else an ISPEED__V1__OUTCOME__* with *detail set. */
int measure_ping_outcome(const measure_ping_t *p, const char **detail);
/* True once a connection was established (the address works). */
int measure_ping_connected(const measure_ping_t *p);

#endif
