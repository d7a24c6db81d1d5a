/* HTTP ping series (see measure_ping.h). */
#include "measure_ping.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_client.h"
#include "ispeed.pb-c.h"
#include "log.h"

#define MAX_PINGS 4096

struct measure_ping {
    struct event_base *base;
    measure_ping_opts o;
    http_url url;
    http_client *client;
    struct event *next;   /* the next ping, after interval_ms */
    struct event *finish; /* done is called from here, never from inside our own calls */
    measure_ping_done_cb done;
    void *arg;
    double rtt_ms[MAX_PINGS];
    int64_t sent_us[MAX_PINGS];
    size_t n;
    unsigned seq;
    int64_t cur_sent_us;
    int connected;
    int outcome;
    char detail[256];
};

static void send_ping(measure_ping_t *p) {
    char target[600];

    http_url_target(&p->url, HTTP_URL_PING, 0, ++p->seq, target, sizeof target);
    p->cur_sent_us = http_client_now_us();
    http_client_request(p->client, "GET", target, 0);
}

static void finish(measure_ping_t *p, int outcome, const char *detail) {
    if (outcome) {
        p->outcome = outcome;
        snprintf(p->detail, sizeof p->detail, "%s", detail);
    }
    http_client_abort(p->client);
    event_del(p->next);
    event_active(p->finish, EV_TIMEOUT, 0);
}

static void on_done(http_client *c, int status, void *arg) {
    measure_ping_t *p = arg;
    char detail[256];
    int64_t now = http_client_now_us();
    (void)c;

    p->connected = 1;
    if (status < 200 || status > 299) {
        snprintf(detail, sizeof detail, "HTTP %d for a ping from %s", status, p->o.label);
        finish(p, ISPEED__V1__OUTCOME__OUTCOME_HTTP_ERROR, detail);
        return;
    }
    if (p->n < MAX_PINGS) {
        p->rtt_ms[p->n] = (double)http_client_rtt_us(p->client) / 1000.0;
        p->sent_us[p->n] = p->cur_sent_us;
        p->n++;
        log_debug("measure", "ping server=%s rtt_ms=%.3f n=%zu", p->o.label, p->rtt_ms[p->n - 1], p->n);
    }
    if (p->o.count > 0 && p->n >= (size_t)p->o.count) {
        finish(p, 0, NULL);
        return;
    }
    if (p->o.interval_ms > 0) {
        int64_t wait = p->cur_sent_us + (int64_t)p->o.interval_ms * 1000 - now;
        if (wait > 0) {
            struct timeval tv = {wait / 1000000, wait % 1000000};
            event_add(p->next, &tv);
            return;
        }
    }
    send_ping(p);
}

static void on_fail(http_client *c, int outcome, const char *detail, void *arg) {
    measure_ping_t *p = arg;
    (void)c;
    finish(p, outcome, detail);
}

static void on_next(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    send_ping(arg);
}

static void on_finish(evutil_socket_t fd, short what, void *arg) {
    measure_ping_t *p = arg;
    (void)fd;
    (void)what;
    p->done(p, p->arg);
}

measure_ping_t *measure_ping_start(struct event_base *base, const measure_ping_opts *o, measure_ping_done_cb done,
                                   void *arg) {
    static const http_client_cbs cbs = {.body = NULL, .done = on_done, .fail = on_fail};
    measure_ping_t *p = calloc(1, sizeof *p);

    if (!p) return NULL;
    p->base = base;
    p->o = *o;
    p->url = *o->url;
    p->o.url = &p->url;
    p->done = done;
    p->arg = arg;
    p->next = evtimer_new(base, on_next, p);
    p->finish = event_new(base, -1, 0, on_finish, p);
    p->client = http_client_new(base, o->sa, o->salen, o->url->hostport, o->label, o->stall_ms, &cbs, NULL, p);
    if (!p->next || !p->finish || !p->client) {
        measure_ping_free(p);
        return NULL;
    }
    send_ping(p);
    return p;
}

void measure_ping_free(measure_ping_t *p) {
    if (!p) return;
    http_client_free(p->client);
    if (p->next) event_free(p->next);
    if (p->finish) event_free(p->finish);
    free(p);
}

size_t measure_ping_results(const measure_ping_t *p, const double **rtt_ms, const int64_t **sent_us) {
    if (rtt_ms) *rtt_ms = p->rtt_ms;
    if (sent_us) *sent_us = p->sent_us;
    return p->n;
}

int measure_ping_outcome(const measure_ping_t *p, const char **detail) {
    if (detail) *detail = p->detail;
    return p->outcome;
}

int measure_ping_connected(const measure_ping_t *p) { return p->connected || http_client_connected(p->client); }
