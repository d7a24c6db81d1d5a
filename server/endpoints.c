/* The endpoints of the test server (see endpoints.h). */
#include "endpoints.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef ISPEED_VERSION
#define ISPEED_VERSION "0"
#endif

struct endpoints {
    char id[65];
    tickets_t *tickets; /* not owned; NULL when the server does not attest */
};

endpoints_t *endpoints_new(const char *id, char *err, size_t errsz) {
    endpoints_t *ep;
    size_t n = strlen(id);

    if (n == 0 || n > 64 || strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") != n) {
        snprintf(err, errsz, "bad --id '%s': use 1 to 64 letters, digits or ._:-", id);
        return NULL;
    }
    ep = calloc(1, sizeof *ep);
    if (!ep) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    memcpy(ep->id, id, n + 1);
    return ep;
}

void endpoints_free(endpoints_t *ep) { free(ep); }

void endpoints_set_tickets(endpoints_t *ep, tickets_t *t) { ep->tickets = t; }
tickets_t *endpoints_tickets(const endpoints_t *ep) { return ep->tickets; }

/* True when path is name or ends in "/name": the LibreSpeed files are served
 * under whatever directory a site put them in (/backend/ in its docker image). */
static int path_is(const char *path, const char *name) {
    size_t pl = strlen(path), nl = strlen(name);

    if (pl < nl || strcmp(path + pl - nl, name) != 0) return 0;
    return pl == nl || path[pl - nl - 1] == '/' || name[0] == '/';
}

/* The value of key in a query string, copied to out; -1 if absent. */
static int query_get(const char *query, const char *key, char *out, size_t outsz) {
    size_t kl = strlen(key);
    const char *p = query;

    while (*p) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
            size_t vl = len - kl - 1;
            if (vl >= outsz) vl = outsz - 1;
            memcpy(out, p + kl + 1, vl);
            out[vl] = '\0';
            return 0;
        }
        if (len == kl && strncmp(p, key, kl) == 0) {
            out[0] = '\0';
            return 0;
        }
        p += len;
        if (*p == '&') p++;
    }
    return -1;
}

/* Decimal digits only, no sign, no overflow. */
static int parse_u64(const char *s, uint64_t *out) {
    uint64_t v = 0;

    if (!*s) return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return -1;
        if (v > (UINT64_MAX - 9) / 10) return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 0;
}

static void reply_text(endpoint_response *resp, int status, const char *text) {
    resp->status = status;
    resp->content_type = "text/plain";
    resp->body_len = (size_t)snprintf(resp->body, sizeof resp->body, "%s", text);
    if (resp->body_len >= sizeof resp->body) resp->body_len = sizeof resp->body - 1;
}

static void reply_json(endpoint_response *resp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply_json(endpoint_response *resp, const char *fmt, ...) {
    va_list ap;
    int n;

    resp->status = 200;
    resp->content_type = "application/json";
    va_start(ap, fmt);
    n = vsnprintf(resp->body, sizeof resp->body, fmt, ap);
    va_end(ap);
    resp->body_len = n < 0 ? 0 : (size_t)n >= sizeof resp->body ? sizeof resp->body - 1 : (size_t)n;
}

static int method_is(const endpoint_request *req, const char *m) { return strcmp(req->method, m) == 0; }

/* LibreSpeed's garbage.php: ckSize chunks of 1 MiB, 4 when absent or not a
 * positive number, at most 1024 — the same rule as its PHP. */
static uint64_t librespeed_chunks(const char *query) {
    char v[32];
    uint64_t n;

    if (query_get(query, "ckSize", v, sizeof v) < 0 || parse_u64(v, &n) < 0 || n == 0) return 4;
    return n > 1024 ? 1024 : n;
}

int endpoints_wants_body(const endpoints_t *ep, const char *method, const char *path, uint64_t len) {
    return ep->tickets && strcmp(method, "POST") == 0 && path_is(path, "/ispeed/v1/receipt") && len > 0 &&
           len <= TICKETS_MAX_SAMPLE;
}

/* GET /ispeed/v1/ticket?agent=<public key hex>: a nonce for one test. */
static void handle_ticket(const endpoints_t *ep, const endpoint_request *req, endpoint_response *resp) {
    char agent[2 * SIGN_PUBLIC_BYTES + 2], nonce[2 * TRUST_NONCE_BYTES + 1], err[128];

    if (query_get(req->query, "agent", agent, sizeof agent) < 0 ||
        tickets_issue(ep->tickets, agent, req->client_ip, req->now_ms, nonce, err, sizeof err) < 0) {
        reply_text(resp, 400, "agent must be the agent's public key, 64 hex digits\n");
        return;
    }
    reply_json(resp, "{\"ticket\":\"%s\",\"server_id\":\"%s\"}\n", nonce, tickets_server_id(ep->tickets));
}

/* POST /ispeed/v1/receipt?ticket=<nonce hex>, body a SignedSample: the
 * server's signed account of the ticket's test, as a SignedReceipt. */
static void handle_receipt(const endpoints_t *ep, const endpoint_request *req, endpoint_response *resp) {
    uint8_t nonce[TRUST_NONCE_BYTES];
    char err[128];
    size_t len = 0;

    if (tickets_from_query(req->query, nonce) < 0) {
        reply_text(resp, 400, "ticket must be the 32 hex digits /ispeed/v1/ticket gave\n");
        return;
    }
    if (!req->body || req->body_len == 0) {
        reply_text(resp, 400, "body must be the SignedSample, at most 4096 bytes\n");
        return;
    }
    if (tickets_receipt(ep->tickets, nonce, req->client_ip, req->body, req->body_len, req->now_ms,
                        (uint8_t *)resp->body, sizeof resp->body, &len, err, sizeof err) < 0) {
        resp->body_len = (size_t)snprintf(resp->body, sizeof resp->body, "%s\n", err);
        resp->status = 409;
        resp->content_type = "text/plain";
        return;
    }
    resp->status = 200;
    resp->content_type = "application/x-protobuf";
    resp->body_len = len;
}

void endpoints_handle(const endpoints_t *ep, const endpoint_request *req, endpoint_response *resp) {
    char v[32];
    uint64_t n;

    memset(resp, 0, sizeof *resp);
    if (path_is(req->path, "/ispeed/v1/ping")) {
        if (!method_is(req, "GET")) goto bad_method;
        reply_text(resp, 200, "pong\n");
    } else if (path_is(req->path, "/ispeed/v1/download")) {
        if (!method_is(req, "GET")) goto bad_method;
        if (query_get(req->query, "bytes", v, sizeof v) < 0 || parse_u64(v, &n) < 0 || n > ENDPOINTS_MAX_DOWNLOAD) {
            reply_text(resp, 400, "bytes must be a number from 0 to 1073741824\n");
            return;
        }
        resp->status = 200;
        resp->content_type = "application/octet-stream";
        resp->payload_bytes = n;
    } else if (path_is(req->path, "/ispeed/v1/upload")) {
        if (!method_is(req, "POST")) goto bad_method;
        reply_json(resp, "{\"bytes\":%llu}\n", (unsigned long long)req->body_bytes);
    } else if (path_is(req->path, "/ispeed/v1/info")) {
        if (!method_is(req, "GET")) goto bad_method;
        /* attest tells an agent it may ask for a ticket and a receipt. */
        reply_json(resp, "{\"id\":\"%s\",\"client\":\"%s\",\"version\":\"%s\",\"attest\":%s,\"server_id\":\"%s\"}\n",
                   ep->id, req->client_ip, ISPEED_VERSION, ep->tickets ? "true" : "false",
                   ep->tickets ? tickets_server_id(ep->tickets) : "");
    } else if (ep->tickets && path_is(req->path, "/ispeed/v1/ticket")) {
        if (!method_is(req, "GET")) goto bad_method;
        handle_ticket(ep, req, resp);
    } else if (ep->tickets && path_is(req->path, "/ispeed/v1/receipt")) {
        if (!method_is(req, "POST")) goto bad_method;
        handle_receipt(ep, req, resp);
    } else if (path_is(req->path, "garbage.php")) {
        if (!method_is(req, "GET")) goto bad_method;
        resp->status = 200;
        resp->content_type = "application/octet-stream";
        resp->payload_bytes = librespeed_chunks(req->query) << 20;
        resp->cors = 1;
    } else if (path_is(req->path, "empty.php")) {
        if (!method_is(req, "GET") && !method_is(req, "POST")) goto bad_method;
        resp->status = 200;
        resp->content_type = "text/plain";
        resp->cors = 1;
    } else if (path_is(req->path, "getIP.php")) {
        if (!method_is(req, "GET")) goto bad_method;
        if (query_get(req->query, "isp", v, sizeof v) == 0 && strcmp(v, "true") == 0)
            reply_json(resp, "{\"processedString\":\"%s\",\"rawIspInfo\":\"\"}", req->client_ip);
        else
            reply_text(resp, 200, req->client_ip);
        resp->cors = 1;
    } else {
        reply_text(resp, 404, "not found\n");
    }
    return;
bad_method:
    reply_text(resp, 405, "method not allowed\n");
}
