/* One direction of a speed test: parallel HTTP streams, each a long download
 * or upload restarted as needed, sampled every 100 ms, the ramp-up
 * discarded, stopped at the duration, the data budget, or early once the rate
 * is stable (rules in measure_stats.h and measure.h). */
#ifndef ISPEED_MEASURE_TRANSFER_H
#define ISPEED_MEASURE_TRANSFER_H

#include <event2/event.h>
#include <stdint.h>
#include <sys/socket.h>

#include "http_url.h"

#define TRANSFER_MAX_STREAMS 16

typedef struct measure_transfer measure_transfer_t;
/* Called once, from the loop, when the direction is over; may free it. */
typedef void (*measure_transfer_done_cb)(measure_transfer_t *t, void *arg);

typedef struct measure_transfer_opts {
    int upload;           /* 0: download */
    const struct sockaddr *sa;
    socklen_t salen;
    const http_url *url;
    const char *label;    /* "host:port" for details */
    int streams;          /* 1..TRANSFER_MAX_STREAMS */
    int duration_ms;
    uint64_t budget;      /* most payload bytes to move; 0 = no limit */
    int stall_ms;
} measure_transfer_opts;

typedef struct measure_transfer_result {
    uint64_t goodput_bps; /* over the kept window */
    uint64_t bytes;       /* payload moved in all (received, or acknowledged by the server) */
    uint32_t elapsed_ms;
    uint32_t kept_ms;     /* length of the window the goodput is over */
    int outcome;          /* ISPEED__V1__OUTCOME__* */
    char detail[256];
} measure_transfer_result;

measure_transfer_t *measure_transfer_start(struct event_base *base, const measure_transfer_opts *o,
                                           measure_transfer_done_cb done, void *arg);
void measure_transfer_free(measure_transfer_t *t);
/* Valid in and after done. */
const measure_transfer_result *measure_transfer_result_get(const measure_transfer_t *t);

#endif
