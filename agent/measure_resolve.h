/* Name resolution that never blocks the loop: getaddrinfo runs on a helper
 * thread that signals the loop through an eventfd. libevent 2.1's evdns
 * delivers cancelled lookups later through deferred callbacks that outlive
 * their owner, which a test cancelled at any moment cannot allow. */
#ifndef ISPEED_MEASURE_RESOLVE_H
#define ISPEED_MEASURE_RESOLVE_H

#include <event2/event.h>
#include <netdb.h>

#define MEASURE_RESOLVE_MAX 4

typedef struct measure_resolve measure_resolve_t;

typedef struct measure_resolve_addrs {
    struct sockaddr_storage addr[MEASURE_RESOLVE_MAX];
    socklen_t len[MEASURE_RESOLVE_MAX];
    int n;
} measure_resolve_addrs;

/* Called once from the loop with getaddrinfo's error (0 when fine) and up to
 * MEASURE_RESOLVE_MAX addresses, in its order. */
typedef void (*measure_resolve_cb)(int gai_err, const measure_resolve_addrs *addrs, void *arg);

measure_resolve_t *measure_resolve_start(struct event_base *base, const char *host, const char *port,
                                         measure_resolve_cb cb, void *arg);
/* Before cb: cb will not be called; the thread cleans up when its lookup
 * returns. After cb: frees. NULL is fine. */
void measure_resolve_free(measure_resolve_t *r);

#endif
