/* libFuzzer target: what a test server answers ispeed-agent, through the
 * agent's HTTP/1.1 response parsing (agent/http_client.c: status line,
 * header fields, Content-Length, chunked decoding, interim 1xx answers,
 * several responses on a kept-alive connection) by http_client_feed, which
 * runs the same code as bytes read from a socket. The agent measures
 * against servers it does not run; a hostile or broken one must cost it a
 * failed test, never a crash.
 *
 * Input: byte 0 is how many bytes each read brings (0: all at once), byte
 * 1's low bit says whether the server closes the connection at the end;
 * the rest is the byte stream. */
#include <event2/event.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_client.h"
#include "ispeed.pb-c.h"

static struct event_base *base;

struct outcome {
    int done, failed, freed;
    uint64_t body;
};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what) {
    fprintf(stderr, "fuzz_http_response: %s\n", what);
    abort();
}

static void on_body(http_client *c, size_t n, void *arg) {
    struct outcome *o = arg;
    (void)c;
    o->body += n;
}

static void on_done(http_client *c, int status, void *arg) {
    struct outcome *o = arg;
    (void)c;
    if (status < 200 || status > 599) die("a response completed with a status outside 200..599");
    o->done++;
}

static void on_fail(http_client *c, int outcome, const char *detail, void *arg) {
    struct outcome *o = arg;
    if (outcome <= ISPEED__V1__OUTCOME__OUTCOME_OK || !detail || !*detail) die("failed without an outcome or a detail");
    o->failed++;
    /* Every third failure frees the client from its own callback, as
     * measure.c does when a test is over. */
    if (o->failed % 3 == 0 && !o->freed) {
        o->freed = 1;
        http_client_free(c);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    if (!(base = event_base_new())) die("no event base");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    size_t step = data[0] ? data[0] : SIZE_MAX, off = 2;
    int close_at_end = data[1] & 1;
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(9);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct outcome o = {0};
    http_client_cbs cbs = {on_body, on_done, on_fail};
    http_client *c = http_client_new(base, (struct sockaddr *)&sin, sizeof sin, "127.0.0.1:9", "fuzz", 10000, &cbs, NULL, &o);
    if (!c) die("http_client_new");
    uint64_t fed = 0;
    while (off < size && !o.freed) {
        size_t t = size - off;
        if (t > step) t = step;
        /* An exact copy, so ASan sees a read past what was received. */
        uint8_t *piece = malloc(t);
        memcpy(piece, data + off, t);
        int r = http_client_feed(c, piece, t);
        free(piece);
        if (r < 0) die("http_client_feed refused an unconnected client");
        if (r == 1 && !o.freed) die("client freed without a callback freeing it");
        off += t;
        fed += t;
    }
    if (close_at_end && !o.freed) http_client_feed(c, NULL, 0);
    if (o.body > fed) die("more body bytes counted than were received");
    if (!o.freed) {
        if (http_client_connected(c)) die("connected without a socket");
        http_client_free(c);
    }
    return 0;
}
