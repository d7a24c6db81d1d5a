/* Test attestation on the agent's side (see attest.h). Two small requests
 * per test, each a fresh connection with "Connection: close" and a 5 s
 * bound on every step: simpler than driving http_client.c's transfer
 * machinery for a few hundred bytes. */
#include "attest.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_url.h"
#include "ispeed.pb-c.h"
#include "trust.h"

#define ATTEST_TIMEOUT_MS 5000
#define ATTEST_MAX_RESPONSE 8192

static int wait_fd(int fd, short events) {
    struct pollfd p = {.fd = fd, .events = events};
    int n;
    do n = poll(&p, 1, ATTEST_TIMEOUT_MS);
    while (n < 0 && errno == EINTR);
    return n == 1 ? 0 : -1;
}

/* One request to u; the response body (malloc'd) and status. */
static int exchange(const http_url *u, const char *method, const char *target, const void *body, size_t body_len,
                    int *status, uint8_t **out, size_t *outlen, char *err, size_t errsz) {
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    char head[1024], *resp = NULL;
    size_t got = 0;
    int fd = -1, rc = -1, gai;

    if ((gai = getaddrinfo(u->host, u->port, &hints, &ai)) != 0) {
        snprintf(err, errsz, "cannot resolve %s: %s", u->host, gai_strerror(gai));
        return -1;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) || wait_fd(fd, POLLOUT) < 0) {
        snprintf(err, errsz, "cannot connect to %s:%s", u->host, u->port);
        goto out;
    }
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\nContent-Length: %zu\r\n"
                     "Content-Type: application/x-protobuf\r\n\r\n",
                     method, target, u->hostport, body_len);
    if (n < 0 || (size_t)n >= sizeof head) {
        snprintf(err, errsz, "request too long");
        goto out;
    }
    const struct {
        const void *p;
        size_t len;
    } parts[2] = {{head, (size_t)n}, {body, body_len}};
    for (int i = 0; i < 2; i++) {
        size_t off = 0;
        while (off < parts[i].len) {
            ssize_t w = send(fd, (const char *)parts[i].p + off, parts[i].len - off, MSG_NOSIGNAL);
            if (w < 0 && (errno == EAGAIN || errno == EINTR) && wait_fd(fd, POLLOUT) == 0) continue;
            if (w <= 0) {
                snprintf(err, errsz, "sending to %s:%s failed", u->host, u->port);
                goto out;
            }
            off += (size_t)w;
        }
    }
    if (!(resp = malloc(ATTEST_MAX_RESPONSE + 1))) goto out;
    for (;;) {
        if (wait_fd(fd, POLLIN) < 0) {
            snprintf(err, errsz, "%s:%s did not answer within 5 s", u->host, u->port);
            goto out;
        }
        ssize_t r = recv(fd, resp + got, ATTEST_MAX_RESPONSE - got, 0);
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (r < 0) {
            snprintf(err, errsz, "reading from %s:%s failed", u->host, u->port);
            goto out;
        }
        if (r == 0) break;
        got += (size_t)r;
        if (got == ATTEST_MAX_RESPONSE) {
            snprintf(err, errsz, "answer over %d bytes", ATTEST_MAX_RESPONSE);
            goto out;
        }
    }
    resp[got] = '\0';
    char *end = strstr(resp, "\r\n\r\n");
    if (!end || sscanf(resp, "HTTP/1.%*d %d", status) != 1) {
        snprintf(err, errsz, "malformed answer from %s:%s", u->host, u->port);
        goto out;
    }
    *outlen = got - (size_t)(end + 4 - resp);
    if (!(*out = malloc(*outlen + 1))) goto out;
    memcpy(*out, end + 4, *outlen);
    (*out)[*outlen] = '\0';
    rc = 0;
out:
    free(resp);
    if (fd >= 0) close(fd);
    freeaddrinfo(ai);
    return rc;
}

int attest_ticket(const char *server_url, const uint8_t pk[SIGN_PUBLIC_BYTES], char ticket[ATTEST_TICKET_CHARS + 1],
                  char *err, size_t errsz) {
    http_url u;
    char target[600], hex[2 * SIGN_PUBLIC_BYTES + 1];
    uint8_t *body = NULL;
    size_t len = 0;
    int status = 0;

    ticket[0] = '\0';
    if (http_url_parse(server_url, &u, err, errsz) < 0) return -1;
    if (u.librespeed) {
        snprintf(err, errsz, "a LibreSpeed backend does not attest");
        return -1;
    }
    trust_hex(pk, SIGN_PUBLIC_BYTES, hex);
    snprintf(target, sizeof target, "%s/ispeed/v1/ticket?agent=%s", u.prefix, hex);
    if (exchange(&u, "GET", target, NULL, 0, &status, &body, &len, err, errsz) < 0) return -1;
    const char *p = status == 200 ? strstr((char *)body, "\"ticket\":\"") : NULL;
    if (!p || strspn(p + 10, "0123456789abcdef") != ATTEST_TICKET_CHARS || p[10 + ATTEST_TICKET_CHARS] != '"') {
        snprintf(err, errsz, "%s gives no ticket (HTTP %d): not an attesting ispeed-server", server_url, status);
        free(body);
        return -1;
    }
    memcpy(ticket, p + 10, ATTEST_TICKET_CHARS);
    ticket[ATTEST_TICKET_CHARS] = '\0';
    free(body);
    return 0;
}

int attest_receipt(const char *server_url, const char *ticket, const uint8_t *signed_sample, size_t len,
                   uint8_t **out, size_t *outlen, char *err, size_t errsz) {
    http_url u;
    char target[600];
    uint8_t *body = NULL;
    size_t blen = 0;
    int status = 0, rc = -1;
    Ispeed__V1__SignedReceipt *sr = NULL;
    Ispeed__V1__SignedSample *ss = NULL;

    if (http_url_parse(server_url, &u, err, errsz) < 0) return -1;
    snprintf(target, sizeof target, "%s/ispeed/v1/receipt?ticket=%s", u.prefix, ticket);
    if (exchange(&u, "POST", target, signed_sample, len, &status, &body, &blen, err, errsz) < 0) return -1;
    if (status != 200) {
        body[strcspn((char *)body, "\r\n")] = '\0';
        snprintf(err, errsz, "receipt refused (HTTP %d): %.200s", status, (char *)body);
        goto out;
    }
    sr = ispeed__v1__signed_receipt__unpack(NULL, blen, body);
    ss = ispeed__v1__signed_sample__unpack(NULL, len, signed_sample);
    if (!sr || !ss || sr->signature.len != SIGN_SIGNATURE_BYTES || sr->receipt.len > TRUST_RECEIPT_MAX_BYTES) {
        snprintf(err, errsz, "receipt from %s is malformed", server_url);
        goto out;
    }
    /* The signed sample bytes are untouched: the receipt rides beside them. */
    ss->receipt = sr;
    *outlen = protobuf_c_message_get_packed_size(&ss->base);
    if (!(*out = malloc(*outlen))) {
        ss->receipt = NULL;
        snprintf(err, errsz, "out of memory");
        goto out;
    }
    protobuf_c_message_pack(&ss->base, *out);
    ss->receipt = NULL;
    rc = 0;
out:
    if (ss) ispeed__v1__signed_sample__free_unpacked(ss, NULL);
    if (sr) ispeed__v1__signed_receipt__free_unpacked(sr, NULL);
    free(body);
    return rc;
}
