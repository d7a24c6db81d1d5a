/* libFuzzer target: what a client sends ispeed-server on one connection,
 * through the server's request parsing (server/http.c:
 * http_request_header_end, http_request_parse) and what each URL answers
 * (server/endpoints.c), requests pipelined one after another as the
 * connection handles them. Anyone on the Internet can send these bytes.
 *
 * Input: byte 0 is how many bytes each read brings (0: all at once), the
 * rest is the byte stream. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "endpoints.h"
#include "testhttp.h"

static endpoints_t *ep;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what) {
    fprintf(stderr, "fuzz_server_request: %s\n", what);
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    char err[256];
    (void)argc;
    (void)argv;
    if (!(ep = endpoints_new("fuzz", err, sizeof err))) die(err);
    return 0;
}

/* Within [buf, buf+len): the parser's strings point into the header. */
static int inside(const char *s, const char *buf, size_t len) { return s >= buf && s < buf + len; }

static void check_request(const http_request *r, const char *hdr, size_t len) {
    if (!inside(r->method, hdr, len) || !*r->method) die("method outside the header or empty");
    for (const char *q = r->method; *q; q++)
        if (*q < 'A' || *q > 'Z') die("method with a byte other than A-Z");
    if (r->path[0] != '/') die("path does not start with /");
    /* absolute-form without a path becomes the literal "/" */
    if (strcmp(r->path, "/") != 0 && !inside(r->path, hdr, len)) die("path outside the header");
    if (!r->query || (*r->query && !inside(r->query, hdr, len))) die("query outside the header");
    if (strchr(r->path, '?')) die("path keeps its query");
}

static void check_response(const endpoint_response *resp) {
    if (resp->status < 200 || resp->status > 599) die("endpoint answered a status outside 200..599");
    if (resp->body_len > sizeof resp->body) die("endpoint body longer than its buffer");
    if (resp->payload_bytes > ENDPOINTS_MAX_DOWNLOAD) die("endpoint payload over ENDPOINTS_MAX_DOWNLOAD");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    size_t step = data[0] ? data[0] : SIZE_MAX, off = 1;
    /* The connection's buffer, as in server/http.c: reads fill it up to
     * TESTHTTP_MAX_HEADER, requests are consumed from its front. */
    char *in = malloc(TESTHTTP_MAX_HEADER);
    size_t in_len = 0, scanned = 0;
    uint64_t body_left = 0;
    int requests = 0;

    while (off < size || in_len > 0) {
        size_t t = size - off;
        if (t > step) t = step;
        if (body_left) { /* the body goes straight to the sink */
            if (t > body_left) t = (size_t)body_left;
            body_left -= t;
            off += t;
            if (t == 0) break;
            continue;
        }
        if (t > TESTHTTP_MAX_HEADER - in_len) t = TESTHTTP_MAX_HEADER - in_len;
        memcpy(in + in_len, data + off, t);
        in_len += t;
        off += t;
        /* Stray line ends between requests are skipped. */
        size_t skip = 0;
        while (skip < in_len && (in[skip] == '\r' || in[skip] == '\n')) skip++;
        if (skip) {
            memmove(in, in + skip, in_len - skip);
            in_len -= skip;
            scanned = 0;
        }
        if (in_len == 0) {
            if (off >= size) break;
            continue;
        }
        /* An exact copy, so ASan sees a read past what was received. */
        char *buf = malloc(in_len);
        memcpy(buf, in, in_len);
        size_t hend = http_request_header_end(buf, in_len, &scanned);
        if (!hend) {
            free(buf);
            if (in_len >= TESTHTTP_MAX_HEADER || off >= size) break; /* 431, or the client stopped */
            continue;
        }
        if (hend > in_len || hend < 2 || buf[hend - 1] != '\n') die("header end outside the buffer or not after LF");
        http_request r;
        const char *why = NULL;
        int status = http_request_parse(buf, hend, &r, &why);
        if (status) {
            if (!why || (status != 400 && status != 411 && status != 431 && status != 505))
                die("refused without a reason or with an unexpected status");
            free(buf);
            break; /* the connection closes after a refusal */
        }
        check_request(&r, buf, hend);
        endpoint_request er = {.method = strcmp(r.method, "HEAD") == 0 ? "GET" : r.method,
                               .path = r.path,
                               .query = r.query,
                               .client_ip = "127.0.0.1",
                               .body_bytes = r.content_length};
        endpoint_response resp;
        memset(&resp, 0xa5, sizeof resp);
        endpoints_handle(ep, &er, &resp);
        check_response(&resp);
        free(buf);
        /* The request and what came of its body leave the buffer. */
        size_t used = hend;
        uint64_t inbuf = in_len - hend;
        if (inbuf > r.content_length) inbuf = r.content_length;
        used += (size_t)inbuf;
        body_left = r.content_length - inbuf;
        memmove(in, in + used, in_len - used);
        in_len -= used;
        scanned = 0;
        if (!r.keep_alive || ++requests > 64) break;
    }
    free(in);
    return 0;
}
