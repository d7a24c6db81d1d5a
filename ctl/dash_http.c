/* Routes of the dashboard. Nothing read from Kafka goes into a page's
 * HTML: pages are static and fill themselves from the JSON (escaped by
 * escape_json) with textContent, and the Content-Security-Policy allows
 * only this origin's own scripts, styles and connections. */
#include "dash_http.h"

#include <ctype.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dash_assets.h"
#include "escape.h"
#include "log.h"
#include "vntime.h"

#define DASH_MAX_CLIENTS 2000 /* event streams at once; each costs a connection */
#define DASH_KEEPALIVE_S 15   /* a comment line keeps proxies from closing idle streams */

static const char csp[] = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                          "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

struct client {
    struct client *prev, *next;
    struct evhttp_request *req;
    dash_http_t *h;
    char province[16]; /* "" : every province */
};

struct dash_http {
    struct event_base *base;
    struct evhttp *http;
    dash_state_t *ds;
    struct client *clients;
    size_t nclients;
    struct event *keepalive;
    unsigned long long requests, events_sent;
};

static void common_headers(struct evhttp_request *req, const char *type, const char *cache) {
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", type);
    evhttp_add_header(h, "Content-Security-Policy", csp);
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "Referrer-Policy", "no-referrer");
    evhttp_add_header(h, "Cache-Control", cache);
}

static void send_text(struct evhttp_request *req, int code, const char *reason, const char *text) {
    struct evbuffer *b = evbuffer_new();
    common_headers(req, "text/plain; charset=utf-8", "no-store");
    if (b) evbuffer_add_printf(b, "%s\n", text);
    evhttp_send_reply(req, code, reason, b);
    if (b) evbuffer_free(b);
}

static const char *mime_of(const char *name) {
    const char *dot = strrchr(name, '.');
    if (!dot) return "application/octet-stream";
    if (!strcmp(dot, ".html")) return "text/html; charset=utf-8";
    if (!strcmp(dot, ".js")) return "text/javascript; charset=utf-8";
    if (!strcmp(dot, ".css")) return "text/css; charset=utf-8";
    if (!strcmp(dot, ".csv")) return "text/csv; charset=utf-8";
    if (!strcmp(dot, ".svg")) return "image/svg+xml";
    return "application/octet-stream";
}

static int send_asset(struct evhttp_request *req, const char *name) {
    for (size_t i = 0; i < dash_assets_count; i++) {
        if (strcmp(dash_assets[i].name, name) != 0) continue;
        struct evbuffer *b = evbuffer_new();
        if (!b) return -1;
        common_headers(req, mime_of(name), "no-cache");
        evbuffer_add_reference(b, dash_assets[i].data, dash_assets[i].len, NULL, NULL);
        evhttp_send_reply(req, HTTP_OK, "OK", b);
        evbuffer_free(b);
        return 0;
    }
    send_text(req, HTTP_NOTFOUND, "Not Found", "no such file");
    return 0;
}

/* A unit or province code: digits only, as the registry writes them. */
static int valid_code(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 10) return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s)) return 0;
    return 1;
}

static enum report_lang lang_of(struct evkeyvalq *q) {
    const char *l = evhttp_find_header(q, "lang");
    return l && strcmp(l, "en") == 0 ? REPORT_LANG_EN : REPORT_LANG_VI;
}

enum doc { DOC_NATIONAL, DOC_PROVINCE, DOC_UNIT, DOC_WORDS };

static void send_json(dash_http_t *h, struct evhttp_request *req, enum doc doc, const char *code,
                      enum report_lang lang) {
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    int rc = -1;
    if (!out) goto oom;
    int64_t now = vntime_now_ms();
    switch (doc) {
    case DOC_NATIONAL: rc = dash_state_json_national(h->ds, lang, now, out); break;
    case DOC_PROVINCE: rc = dash_state_json_province(h->ds, code, lang, now, out); break;
    case DOC_UNIT: rc = dash_state_json_unit(h->ds, code, lang, now, out); break;
    case DOC_WORDS: dash_state_json_words(lang, out); rc = 0; break;
    }
    if (fclose(out) != 0) rc = -1;
    if (rc == DASH_NOT_FOUND) {
        free(buf);
        send_text(req, HTTP_NOTFOUND, "Not Found", "no such province or unit this month");
        return;
    }
    if (rc < 0) goto oom;
    struct evbuffer *b = evbuffer_new();
    if (!b) goto oom;
    common_headers(req, "application/json; charset=utf-8", "no-store");
    evbuffer_add(b, buf, len);
    evhttp_send_reply(req, HTTP_OK, "OK", b);
    evbuffer_free(b);
    free(buf);
    return;
oom:
    free(buf);
    send_text(req, HTTP_INTERNAL, "Internal Server Error", "out of memory");
}

static void client_gone(struct evhttp_connection *evcon, void *arg) {
    struct client *c = arg;
    log_debug("ispeedctl", "serve: event stream closed province=%s streams=%zu", c->province, c->h->nclients - 1);
    (void)evcon;
    /* A stream the browser closed mid-reply is detached from its
     * connection by libevent and left to us to free; one still attached
     * (the server shutting down) is freed with its connection. */
    if (c->req && !evhttp_request_get_connection(c->req)) evhttp_request_free(c->req);
    if (c->prev) c->prev->next = c->next;
    else c->h->clients = c->next;
    if (c->next) c->next->prev = c->prev;
    c->h->nclients--;
    free(c);
}

static void start_events(dash_http_t *h, struct evhttp_request *req, struct evkeyvalq *q) {
    const char *p = evhttp_find_header(q, "province");
    if (p && !valid_code(p)) {
        send_text(req, HTTP_BADREQUEST, "Bad Request", "province: a code of digits");
        return;
    }
    if (h->nclients >= DASH_MAX_CLIENTS) {
        send_text(req, 503, "Service Unavailable", "too many open event streams; try again later");
        return;
    }
    struct client *c = calloc(1, sizeof *c);
    struct evbuffer *b = evbuffer_new();
    if (!c || !b) {
        free(c);
        if (b) evbuffer_free(b);
        send_text(req, HTTP_INTERNAL, "Internal Server Error", "out of memory");
        return;
    }
    c->req = req;
    c->h = h;
    snprintf(c->province, sizeof c->province, "%s", p ? p : "");
    c->next = h->clients;
    if (h->clients) h->clients->prev = c;
    h->clients = c;
    h->nclients++;
    common_headers(req, "text/event-stream; charset=utf-8", "no-store");
    evhttp_send_reply_start(req, HTTP_OK, "OK");
    evhttp_connection_set_closecb(evhttp_request_get_connection(req), client_gone, c);
    /* A dropped stream comes back after a second, not the browser's 3. */
    evbuffer_add_printf(b, "retry: 1000\n\n");
    evhttp_send_reply_chunk(req, b);
    evbuffer_free(b);
    log_debug("ispeedctl", "serve: event stream opened province=%s streams=%zu", c->province, h->nclients);
}

void dash_http_notify(dash_http_t *h, const char *const *provinces, size_t n, int alerts) {
    char *msg = NULL;
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        FILE *out = open_memstream(&msg, &len);
        if (!out) return;
        fputs("event: update\ndata: {\"province\":", out);
        escape_json(out, provinces[i]);
        fprintf(out, ",\"alerts\":%s}\n\n", alerts ? "true" : "false");
        if (fclose(out) != 0) {
            free(msg);
            return;
        }
        /* next is taken first: a write that fails may close the stream. */
        for (struct client *c = h->clients, *next; c; c = next) {
            next = c->next;
            if (c->province[0] && strcmp(c->province, provinces[i]) != 0) continue;
            struct evbuffer *b = evbuffer_new();
            if (!b) break;
            evbuffer_add(b, msg, len);
            evhttp_send_reply_chunk(c->req, b);
            evbuffer_free(b);
            h->events_sent++;
        }
        free(msg);
        msg = NULL;
    }
}

static void on_keepalive(evutil_socket_t fd, short what, void *arg) {
    dash_http_t *h = arg;
    (void)fd;
    (void)what;
    for (struct client *c = h->clients, *next; c; c = next) {
        next = c->next;
        struct evbuffer *b = evbuffer_new();
        if (!b) return;
        evbuffer_add_printf(b, ": keep-alive\n\n");
        evhttp_send_reply_chunk(c->req, b);
        evbuffer_free(b);
    }
}

static void send_metrics(dash_http_t *h, struct evhttp_request *req) {
    struct evbuffer *b = evbuffer_new();
    if (!b) return;
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain; version=0.0.4");
    evbuffer_add_printf(b,
                        "# HELP ispeed_ctl_serve_sse_clients Open Server-Sent Events streams.\n"
                        "# TYPE ispeed_ctl_serve_sse_clients gauge\nispeed_ctl_serve_sse_clients %zu\n"
                        "# HELP ispeed_ctl_serve_requests_total HTTP requests answered.\n"
                        "# TYPE ispeed_ctl_serve_requests_total counter\nispeed_ctl_serve_requests_total %llu\n"
                        "# HELP ispeed_ctl_serve_events_total Events sent to streams.\n"
                        "# TYPE ispeed_ctl_serve_events_total counter\nispeed_ctl_serve_events_total %llu\n"
                        "# HELP ispeed_ctl_serve_records_total Quota and alert records read.\n"
                        "# TYPE ispeed_ctl_serve_records_total counter\nispeed_ctl_serve_records_total %llu\n",
                        h->nclients, h->requests, h->events_sent, (unsigned long long)dash_state_records(h->ds));
    evhttp_send_reply(req, HTTP_OK, "OK", b);
    evbuffer_free(b);
}

static void on_request(struct evhttp_request *req, void *arg) {
    dash_http_t *h = arg;
    struct evkeyvalq q = {0}; /* empty; evhttp_parse_query_str fills it */
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    h->requests++;
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD) {
        /* Read-only: every other method libevent knows is 405 with the
         * methods there are (RFC 9110 15.5.6); an unknown one is libevent's 501. */
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
        send_text(req, 405, "Method Not Allowed", "read-only: only GET and HEAD");
        goto out;
    }
    if (!path || (query && evhttp_parse_query_str(query, &q) < 0)) {
        send_text(req, HTTP_BADREQUEST, "Bad Request", "malformed request");
        goto out;
    }
    if (!strcmp(path, "/") || !strncmp(path, "/p/", 3) || !strncmp(path, "/c/", 3)) {
        send_asset(req, "index.html");
    } else if (!strncmp(path, "/static/", 8) && !strchr(path + 8, '/')) {
        send_asset(req, path + 8);
    } else if (!strcmp(path, "/api/national")) {
        send_json(h, req, DOC_NATIONAL, NULL, lang_of(&q));
    } else if (!strncmp(path, "/api/province/", 14) && valid_code(path + 14)) {
        send_json(h, req, DOC_PROVINCE, path + 14, lang_of(&q));
    } else if (!strncmp(path, "/api/unit/", 10) && valid_code(path + 10)) {
        send_json(h, req, DOC_UNIT, path + 10, lang_of(&q));
    } else if (!strcmp(path, "/api/words")) {
        send_json(h, req, DOC_WORDS, NULL, lang_of(&q));
    } else if (!strcmp(path, "/api/events")) {
        start_events(h, req, &q);
    } else if (!strcmp(path, "/favicon.ico")) {
        /* No icon: an empty answer keeps browsers from logging a 404. */
        common_headers(req, "image/x-icon", "max-age=86400");
        evhttp_send_reply(req, 204, "No Content", NULL);
    } else if (!strcmp(path, "/metrics")) {
        send_metrics(h, req);
    } else {
        send_text(req, HTTP_NOTFOUND, "Not Found", "no such page");
    }
out:
    evhttp_clear_headers(&q);
}

dash_http_t *dash_http_new(struct event_base *base, const char *listen, dash_state_t *ds, char *err, size_t errsz) {
    char host[256];
    const char *colon = strrchr(listen, ':');
    char *end;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    if (!colon || colon == listen || *end || port < 0 || port > 65535 || (size_t)(colon - listen) >= sizeof host) {
        snprintf(err, errsz, "--listen '%s' is not ADDR:PORT (e.g. 127.0.0.1:8088)", listen);
        return NULL;
    }
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    if (host[0] == '[' && host[strlen(host) - 1] == ']') { /* [::1]:8088 */
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    dash_http_t *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    h->base = base;
    h->ds = ds;
    if (!(h->http = evhttp_new(base))) {
        snprintf(err, errsz, "cannot create the HTTP server");
        goto fail;
    }
    /* Every method reaches on_request, which answers 405 with Allow to all
     * but GET and HEAD (libevent's own refusal is a 501 without Allow);
     * a body is never wanted, so a large one is refused as it comes. */
    evhttp_set_allowed_methods(h->http, (ev_uint16_t)(EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                                      EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                                                      EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH));
    evhttp_set_max_body_size(h->http, 4096);
    evhttp_set_max_headers_size(h->http, 65536);
    evhttp_set_gencb(h->http, on_request, h);
    if (!evhttp_bind_socket_with_handle(h->http, host, (ev_uint16_t)port)) {
        snprintf(err, errsz, "cannot listen on %s (in use, or not an address of this machine)", listen);
        goto fail;
    }
    if (!(h->keepalive = event_new(base, -1, EV_PERSIST, on_keepalive, h))) {
        snprintf(err, errsz, "cannot create a timer");
        goto fail;
    }
    struct timeval tv = {DASH_KEEPALIVE_S, 0};
    event_add(h->keepalive, &tv);
    return h;
fail:
    dash_http_free(h);
    return NULL;
}

void dash_http_free(dash_http_t *h) {
    if (!h) return;
    if (h->keepalive) event_free(h->keepalive);
    /* Freeing the server closes every connection, which runs client_gone
     * for each stream still open. */
    if (h->http) evhttp_free(h->http);
    while (h->clients) {
        h->clients->req = NULL; /* freed with the server */
        client_gone(NULL, h->clients);
    }
    free(h);
}

size_t dash_http_clients(const dash_http_t *h) {
    return h->nclients;
}
