/* Non-blocking name resolution (see measure_resolve.h). */
#include "measure_resolve.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct measure_resolve {
    atomic_int refs;          /* the loop side and the thread */
    int efd;
    struct event *ev;
    measure_resolve_cb cb;
    void *arg;
    char host[256], port[8];
    int err;                  /* written by the thread before it signals */
    measure_resolve_addrs addrs;
};

static void unref(measure_resolve_t *r) {
    if (atomic_fetch_sub(&r->refs, 1) != 1) return;
    close(r->efd);
    free(r);
}

static void *lookup(void *arg) {
    measure_resolve_t *r = arg;
    struct addrinfo hints, *res = NULL, *ai;
    uint64_t one = 1;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    r->err = getaddrinfo(r->host, r->port, &hints, &res);
    for (ai = res; !r->err && ai && r->addrs.n < MEASURE_RESOLVE_MAX; ai = ai->ai_next) {
        if (ai->ai_addrlen > sizeof r->addrs.addr[0]) continue;
        memcpy(&r->addrs.addr[r->addrs.n], ai->ai_addr, ai->ai_addrlen);
        r->addrs.len[r->addrs.n++] = ai->ai_addrlen;
    }
    if (res) freeaddrinfo(res);
    if (!r->err && r->addrs.n == 0) r->err = EAI_NONAME;
    /* An eventfd write is the release the loop side acquires by reading it. */
    if (write(r->efd, &one, sizeof one) < 0) {
        /* Cannot fail for a counter this small; nothing to do if it did. */
    }
    unref(r);
    return NULL;
}

static void on_ready(evutil_socket_t fd, short what, void *arg) {
    measure_resolve_t *r = arg;
    uint64_t v;
    (void)what;

    if (read(fd, &v, sizeof v) < 0) return;
    event_del(r->ev);
    r->cb(r->err, &r->addrs, r->arg);
}

measure_resolve_t *measure_resolve_start(struct event_base *base, const char *host, const char *port,
                                         measure_resolve_cb cb, void *arg) {
    measure_resolve_t *r;
    pthread_t th;
    pthread_attr_t attr;

    if (strlen(host) >= sizeof r->host || strlen(port) >= sizeof r->port) return NULL;
    r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (r->efd < 0) {
        free(r);
        return NULL;
    }
    strcpy(r->host, host);
    strcpy(r->port, port);
    r->cb = cb;
    r->arg = arg;
    atomic_init(&r->refs, 2);
    r->ev = event_new(base, r->efd, EV_READ | EV_PERSIST, on_ready, r);
    if (!r->ev || event_add(r->ev, NULL) < 0) goto fail;
    if (pthread_attr_init(&attr) != 0) goto fail;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &attr, lookup, r) != 0) {
        pthread_attr_destroy(&attr);
        goto fail;
    }
    pthread_attr_destroy(&attr);
    return r;
fail:
    if (r->ev) event_free(r->ev);
    close(r->efd);
    free(r);
    return NULL;
}

void measure_resolve_free(measure_resolve_t *r) {
    if (!r) return;
    event_free(r->ev);
    r->ev = NULL;
    unref(r);
}
