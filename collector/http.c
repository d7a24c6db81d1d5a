/* evhttp on the program's one event_base: requests are served between Kafka
 * batches, so the counters need no locking. */
#include "http.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct collector_http {
    struct evhttp *http;
    const metrics_t *m;
    collector_http_quota_fn quota_fn;
    void *quota_ctx;
};

static void on_quota(struct evhttp_request *req, void *arg) {
    collector_http_t *hs = arg;
    struct evkeyvalq q;
    const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    if (!hs->quota_fn || !query || evhttp_parse_query_str(query, &q) < 0) {
        evbuffer_add_printf(out, "{\"error\":\"give /v1/quota?province=P[&month=YYYY-MM]\"}\n");
        evhttp_send_reply(req, HTTP_BADREQUEST, "Bad Request", NULL);
        return;
    }
    const char *prov = evhttp_find_header(&q, "province");
    const char *month = evhttp_find_header(&q, "month");
    int status = 400;
    if (prov)
        status = hs->quota_fn(prov, month, out, hs->quota_ctx);
    else
        evbuffer_add_printf(out, "{\"error\":\"missing province=P\"}\n");
    evhttp_clear_headers(&q);
    evhttp_send_reply(req, status, status == 200 ? "OK" : status == 404 ? "Not Found" : "Bad Request", NULL);
}

void collector_http_set_quota(collector_http_t *hs, collector_http_quota_fn fn, void *ctx) {
    hs->quota_fn = fn;
    hs->quota_ctx = ctx;
}

static void on_metrics(struct evhttp_request *req, void *arg) {
    collector_http_t *hs = arg;
    char *text = metrics_render(hs->m);
    if (!text) {
        evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
        return;
    }
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    evbuffer_add(out, text, strlen(text));
    free(text);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain; version=0.0.4");
    evhttp_send_reply(req, HTTP_OK, "OK", NULL);
}

static void on_healthz(struct evhttp_request *req, void *arg) {
    (void)arg;
    /* The loop answering is the liveness proof; readiness (caught up with the
     * input) is the ispeed_collector_caught_up gauge. */
    evbuffer_add_printf(evhttp_request_get_output_buffer(req), "ok\n");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain");
    evhttp_send_reply(req, HTTP_OK, "OK", NULL);
}

collector_http_t *collector_http_new(struct event_base *base, const char *addr, const metrics_t *m, char *err,
                               size_t errsz) {
    char host[256];
    const char *colon = strrchr(addr, ':');
    char *end;
    collector_http_t *hs = NULL;
    if (!colon || (size_t)(colon - addr) >= sizeof host) goto bad;
    long port = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || port < 0 || port > 65535) goto bad;
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    if (host[0] == '[' && host[strlen(host) - 1] == ']') { /* [::1]:9100 */
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    if (!(hs = calloc(1, sizeof *hs)) || !(hs->http = evhttp_new(base))) {
        snprintf(err, errsz, "out of memory");
        goto fail;
    }
    hs->m = m;
    if (evhttp_bind_socket(hs->http, host[0] ? host : "0.0.0.0", (ev_uint16_t)port) != 0) {
        snprintf(err, errsz, "cannot listen on %s for --http: address in use or not local", addr);
        goto fail;
    }
    evhttp_set_allowed_methods(hs->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
    evhttp_set_cb(hs->http, "/metrics", on_metrics, hs);
    evhttp_set_cb(hs->http, "/healthz", on_healthz, hs);
    evhttp_set_cb(hs->http, "/v1/quota", on_quota, hs);
    return hs;
bad:
    snprintf(err, errsz, "bad --http address '%s': write ADDR:PORT, e.g. 127.0.0.1:9100", addr);
fail:
    collector_http_free(hs);
    return NULL;
}

void collector_http_free(collector_http_t *hs) {
    if (!hs) return;
    if (hs->http) evhttp_free(hs->http);
    free(hs);
}
