/* One HTTP/1.1 client connection of a speed test (see http_client.h). */
#include "http_client.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "httphdr.h"
#include "ispeed.pb-c.h"
#include "payload.h"
#include "vntime.h"

#define SINK_SIZE (16 * 1024)      /* chunked bodies and stray bytes only */
#define BODY_READ_MAX (256 * 1024) /* bytes discarded per recv(MSG_TRUNC) */
#define CHECK_MS 100           /* how often connect and stall limits are checked */
#define MAX_HEADER_LINES 200
#define READS_PER_EVENT 8
#define WRITE_SLICE (4u << 20)

/* Response bodies are read here and forgotten; only their length matters. */
static unsigned char sink[SINK_SIZE];

enum resp_state { R_IDLE, R_CONNECTING, R_HEADER, R_BODY };
enum framing { F_LENGTH, F_CHUNKED, F_CLOSE };
enum chunk_state { CH_SIZE, CH_DATA, CH_DATA_END, CH_TRAILER };

struct http_client {
    struct event_base *base;
    struct sockaddr_storage sa;
    socklen_t salen;
    char host[280];
    char label[128];
    int stall_ms;
    http_client_cbs cbs;
    void *arg;

    evutil_socket_t fd;
    struct event *rev, *wev; /* per socket */
    struct event *check;     /* connect and stall limits; also reports deferred failures */
    int depth;               /* callbacks running: free is deferred until they return */
    int zombie;

    enum resp_state state;
    int64_t connect_start_us, last_progress_us;
    int reused;              /* the socket served an earlier request */
    int retried;             /* this request was resent on a new connection */
    unsigned gen;            /* socket generation, to notice a reconnect inside a callback */

    /* request */
    char out[1024];
    size_t out_len, out_off;
    uint64_t req_body_len;
    uint64_t body_left;      /* upload bytes still to hand to the kernel */
    size_t body_off;
    const payload_t *payload; /* request bodies are cut from it; NULL: none are sent */
    uint64_t tx_total;       /* upload-body bytes handed to the kernel, life */
    uint64_t acked;          /* upload-body bytes known acknowledged, life */
    int64_t sent_us;

    /* response */
    char hdr[HTTP_CLIENT_MAX_HEADER];
    size_t hdr_len;
    int status, keep_alive;
    enum framing framing;
    uint64_t resp_left;      /* F_LENGTH: body bytes still due; F_CHUNKED: of this chunk */
    enum chunk_state chunk;
    uint64_t chunk_size;
    size_t chunk_line, chunk_digits;
    int chunk_ext;
    uint64_t resp_body;      /* this response */
    uint64_t rx_total;       /* 2xx body bytes, life */
    int64_t rtt_us;

    int pending_outcome;     /* a failure found outside the loop, reported from it */
    char pending_detail[256];
};

int64_t http_client_now_us(void) { return vntime_mono_us(); }

static void on_read(evutil_socket_t fd, short what, void *arg);
static void on_write(evutil_socket_t fd, short what, void *arg);
static void on_check(evutil_socket_t fd, short what, void *arg);

http_client *http_client_new(struct event_base *base, const struct sockaddr *sa, socklen_t salen,
                             const char *host_header, const char *label, int stall_ms,
                             const http_client_cbs *cbs, const payload_t *payload, void *arg) {
    http_client *c;

    if (salen > sizeof c->sa) return NULL;
    c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->payload = payload;
    c->base = base;
    memcpy(&c->sa, sa, salen);
    c->salen = salen;
    snprintf(c->host, sizeof c->host, "%s", host_header);
    snprintf(c->label, sizeof c->label, "%.100s", label);
    c->stall_ms = stall_ms;
    c->cbs = *cbs;
    c->arg = arg;
    c->fd = -1;
    c->check = event_new(base, -1, EV_PERSIST, on_check, c);
    if (!c->check) {
        free(c);
        return NULL;
    }
    return c;
}

/* Before close: what the server has of the body so far. Upload bytes are
 * counted when the server's TCP acknowledged them, not when write() took
 * them: the send buffer (megabytes with autotuning) swallows data at once,
 * and counting it as moved inflates the rate most on slow links, at both
 * ends of any window. SIOCOUTQ is what the send queue still holds (unsent,
 * or sent and not cumulatively acknowledged), so handed-to-kernel minus it
 * is what reached the server in order. During a loss recovery the server
 * also holds segments past the hole that it has selectively acknowledged
 * (tcpi_sacked, in segments of tcpi_snd_mss); they have crossed the link,
 * and leaving them out would make a window that ends mid-recovery short by
 * up to a congestion window: several percent of 3 s at 2 Mbit/s. */
static void update_acked(http_client *c) {
    int outq = 0;
    struct tcp_info ti;
    socklen_t tl = sizeof ti;
    uint64_t a, sacked = 0;

    if (c->fd < 0) return;
    if (ioctl(c->fd, SIOCOUTQ, &outq) < 0 || outq < 0) return;
    if (outq > 0 && getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) == 0 && tl >= sizeof ti) {
        sacked = (uint64_t)ti.tcpi_sacked * ti.tcpi_snd_mss;
        if (sacked > (uint64_t)outq) sacked = (uint64_t)outq;
    }
    a = c->tx_total + sacked > (uint64_t)outq ? c->tx_total + sacked - (uint64_t)outq : 0;
    if (a > c->acked) {
        c->acked = a;
        c->last_progress_us = http_client_now_us();
    }
}

static void close_socket(http_client *c, int reset) {
    if (c->fd < 0) return;
    update_acked(c);
    if (reset) {
        struct linger lg = {1, 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    if (c->rev) event_free(c->rev);
    if (c->wev) event_free(c->wev);
    c->rev = c->wev = NULL;
    evutil_closesocket(c->fd);
    c->fd = -1;
    c->reused = 0;
}

static void really_free(http_client *c) {
    close_socket(c, 1);
    if (c->check) event_free(c->check);
    free(c);
}

void http_client_free(http_client *c) {
    if (!c) return;
    if (c->depth > 0) {
        /* Called from one of our own callbacks: finish unwinding first. */
        close_socket(c, 1);
        event_del(c->check);
        c->zombie = 1;
        return;
    }
    really_free(c);
}

/* Ends the outstanding request with a failure; calls fail last. */
static void fail(http_client *c, int outcome, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(http_client *c, int outcome, const char *fmt, ...) {
    char detail[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    close_socket(c, 1);
    event_del(c->check);
    c->state = R_IDLE;
    if (c->cbs.fail) c->cbs.fail(c, outcome, detail, c->arg);
}

static int connect_outcome(int err) {
    switch (err) {
    case ECONNREFUSED: return ISPEED__V1__OUTCOME__OUTCOME_REFUSED;
    default: return ISPEED__V1__OUTCOME__OUTCOME_UNREACHABLE;
    }
}

/* Failures met inside http_client_request are reported from the loop, never
 * from inside the caller's own call. */
static void fail_later(http_client *c, int outcome, const char *detail) {
    c->pending_outcome = outcome;
    snprintf(c->pending_detail, sizeof c->pending_detail, "%s", detail);
    event_active(c->check, EV_TIMEOUT, 0);
}

static int start_connect(http_client *c) {
    int one = 1;
    char detail[256];

    c->fd = socket(c->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        snprintf(detail, sizeof detail, "cannot create a socket: %s", strerror(errno));
        fail_later(c, ISPEED__V1__OUTCOME__OUTCOME_INTERNAL, detail);
        return -1;
    }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->rev = event_new(c->base, c->fd, EV_READ | EV_PERSIST, on_read, c);
    c->wev = event_new(c->base, c->fd, EV_WRITE, on_write, c);
    if (!c->rev || !c->wev) {
        close_socket(c, 0);
        fail_later(c, ISPEED__V1__OUTCOME__OUTCOME_INTERNAL, "out of memory");
        return -1;
    }
    c->gen++;
    c->connect_start_us = http_client_now_us();
    c->state = R_CONNECTING;
    if (connect(c->fd, (struct sockaddr *)&c->sa, c->salen) < 0 && errno != EINPROGRESS) {
        int e = errno;
        close_socket(c, 0);
        snprintf(detail, sizeof detail, "cannot connect to %s: %s", c->label, strerror(e));
        fail_later(c, connect_outcome(e), detail);
        return -1;
    }
    event_add(c->wev, NULL);
    return 0;
}

int http_client_request(http_client *c, const char *method, const char *target, uint64_t body_len) {
    struct timeval tick = {0, CHECK_MS * 1000};
    int n;

    if (c->state != R_IDLE || c->zombie || (body_len > 0 && !c->payload)) return -1;
    n = snprintf(c->out, sizeof c->out,
                 "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: ispeed-agent/" ISPEED_VERSION "\r\n"
                 "Accept-Encoding: identity\r\nCache-Control: no-cache\r\n",
                 method, target, c->host);
    if (body_len > 0 || strcmp(method, "POST") == 0)
        n += snprintf(c->out + n, sizeof c->out - (size_t)n,
                      "Content-Type: application/octet-stream\r\nContent-Length: %llu\r\n",
                      (unsigned long long)body_len);
    n += snprintf(c->out + n, sizeof c->out - (size_t)n, "\r\n");
    if ((size_t)n >= sizeof c->out) return -1;
    c->out_len = (size_t)n;
    c->out_off = 0;
    c->body_left = body_len;
    c->body_off = 0;
    c->hdr_len = 0;
    c->status = 0;
    c->resp_body = 0;
    c->pending_outcome = 0;
    c->last_progress_us = http_client_now_us();
    event_add(c->check, &tick);
    c->req_body_len = body_len;
    c->retried = 0;
    if (c->fd < 0) {
        start_connect(c); /* a failure is reported from the loop */
        return 0;
    }
    c->state = R_HEADER;
    event_add(c->wev, NULL);
    return 0;
}

void http_client_abort(http_client *c) {
    close_socket(c, 1);
    event_del(c->check);
    c->state = R_IDLE;
    c->pending_outcome = 0;
}

int http_client_busy(const http_client *c) { return c->state != R_IDLE; }
int http_client_connected(const http_client *c) { return c->fd >= 0 && c->state != R_CONNECTING; }
uint64_t http_client_body_received(const http_client *c) { return c->rx_total; }
int64_t http_client_rtt_us(const http_client *c) { return c->rtt_us; }

uint64_t http_client_body_acked(http_client *c) {
    update_acked(c);
    return c->acked;
}

/* The response is whole: keep or close the socket, then tell the owner. */
static void finish_response(http_client *c) {
    c->rtt_us = http_client_now_us() - c->sent_us;
    c->state = R_IDLE;
    event_del(c->check);
    /* Everything sent has been read by the server, which answered. */
    c->acked = c->tx_total;
    if (!c->keep_alive) close_socket(c, 0);
    else c->reused = 1;
    if (c->cbs.done) c->cbs.done(c, c->status, c->arg);
}

/* Makes a quoted fragment of what the server sent printable for a detail. */
static void printable(const char *in, size_t n, char *out, size_t outsz) {
    size_t j = 0;
    for (size_t i = 0; i < n && j + 1 < outsz; i++) {
        unsigned char ch = (unsigned char)in[i];
        if (ch == '\r' || ch == '\n') break;
        out[j++] = (ch >= 32 && ch < 127) ? (char)ch : '?';
    }
    out[j] = '\0';
}

/* Parses hdr[0..len) (the blank line included). 0, or -1 after fail(). */
static int parse_header(http_client *c, size_t len) {
    char *p = c->hdr, *end = c->hdr + len, *line;
    int minor, lines = 0, have_length = 0, chunked = 0;
    char shown[64];

    if (memchr(c->hdr, '\0', len)) {
        fail(c, ISPEED__V1__OUTCOME__OUTCOME_PROTOCOL_ERROR, "response header from %s contains a NUL byte", c->label);
        return -1;
    }
    line = p;
    p = memchr(line, '\n', (size_t)(end - line));
    *p++ = '\0';
    if (p - line >= 2 && p[-2] == '\r') p[-2] = '\0';
    if (strncmp(line, "HTTP/1.", 7) != 0 || (line[7] != '0' && line[7] != '1') || line[8] != ' ' ||
        line[9] < '1' || line[9] > '5' || line[10] < '0' || line[10] > '9' || line[11] < '0' || line[11] > '9' ||
        (line[12] != '\0' && line[12] != ' ')) {
        printable(line, strlen(line), shown, sizeof shown);
        fail(c, ISPEED__V1__OUTCOME__OUTCOME_PROTOCOL_ERROR, "malformed status line from %s: \"%s\"", c->label,
             shown);
        return -1;
    }
    minor = line[7] - '0';
    c->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    c->keep_alive = minor == 1;
    c->resp_left = 0;
    while (p < end) {
        char *value, *vend;
        line = p;
        p = memchr(line, '\n', (size_t)(end - line));
        if (!p) p = end;
        else *p++ = '\0';
        vend = line + strlen(line);
        if (vend > line && vend[-1] == '\r') *--vend = '\0';
        if (!*line) break;
        printable(line, strlen(line), shown, sizeof shown);
        if (++lines > MAX_HEADER_LINES || httphdr_field(line, &line, &value) < 0) {
            fail(c, ISPEED__V1__OUTCOME__OUTCOME_PROTOCOL_ERROR, "malformed header line from %s: \"%s\"", c->label,
                 shown);
            return -1;
        }
        if (strcasecmp(line, "Content-Length") == 0) {
            uint64_t v = 0;
            if (httphdr_content_length(value, &v) < 0) goto bad_length;
            if (have_length && v != c->resp_left) goto bad_length;
            c->resp_left = v;
            have_length = 1;
        } else if (strcasecmp(line, "Transfer-Encoding") == 0) {
            chunked = httphdr_has_token(value, "chunked");
            if (!chunked && !httphdr_has_token(value, "identity")) {
                printable(value, strlen(value), shown, sizeof shown);
                fail(c, ISPEED__V1__OUTCOME__OUTCOME_PROTOCOL_ERROR, "unsupported transfer coding from %s: \"%s\"",
                     c->label, shown);
                return -1;
            }
        } else if (strcasecmp(line, "Connection") == 0) {
            if (httphdr_has_token(value, "close")) c->keep_alive = 0;
            else if (httphdr_has_token(value, "keep-alive")) c->keep_alive = 1;
        }
    }
    if (c->status == 204 || c->status == 304) {
        c->framing = F_LENGTH;
        c->resp_left = 0;
    } else if (chunked) {
        c->framing = F_CHUNKED;
        c->chunk = CH_SIZE;
        c->chunk_size = 0;
        c->chunk_line = c->chunk_digits = 0;
        c->chunk_ext = 0;
    } else if (have_length) {
        c->framing = F_LENGTH;
    } else {
        /* No length: the body runs to the end of the connection. */
        c->framing = F_CLOSE;
        c->keep_alive = 0;
    }
    return 0;
bad_length:
    fail(c, ISPEED__V1__OUTCOME__OUTCOME_PROTOCOL_ERROR, "bad Content-Length from %s", c->label);
    return -1;
}

static int hexval(int ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* Works through n body bytes at buf. Returns 1 when the response ended
 * exactly there, 0 when more is due, -1 after fail(). *counted gets the
 * payload bytes among them. */
static int take_body(http_client *c, const unsigned char *buf, size_t n, size_t *counted) {
    size_t i = 0;

    *counted = 0;
    if (c->framing == F_CLOSE) {
        *counted = n;
        return 0;
    }
    if (c->framing == F_LENGTH) {
        size_t t = c->resp_left < n ? (size_t)c->resp_left : n;
        c->resp_left -= t;
        *counted = t;
        if (t < n) goto extra;
        return c->resp_left == 0;
    }
    while (i < n) {
        switch (c->chunk) {
        case CH_SIZE: {
            int ch = buf[i++], h;
            if (++c->chunk_line > 1024) goto bad_chunk;
            if (ch == '\n') {
                if (c->chunk_digits == 0) goto bad_chunk;
                c->chunk_line = c->chunk_digits = 0;
                c->chunk_ext = 0;
                if (c->chunk_size == 0) {
                    c->chunk = CH_TRAILER;
                } else {
                    c->resp_left = c->chunk_size;
                    c->chunk = CH_DATA;
                }
                break;
            }
            if (c->chunk_ext || ch == '\r') break;
            if (ch == ';' || ch == ' ' || ch == '\t') {
                c->chunk_ext = 1;
                break;
            }
            h = hexval(ch);
            if (h < 0 || c->chunk_digits >= 15) goto bad_chunk;
            c->chunk_size = c->chunk_size * 16 + (uint64_t)h;
            c->chunk_digits++;
            break;
        }
        case CH_DATA: {
            size_t t = n - i;
            if (t > c->resp_left) t = (size_t)c->resp_left;
            c->resp_left -= t;
            *counted += t;
            i += t;
            if (c->resp_left == 0) {
                c->chunk = CH_DATA_END;
                c->chunk_size = 0;
            }
            break;
        }
        case CH_DATA_END: {
            int ch = buf[i++];
            if (ch == '\r') break;
            if (ch != '\n') goto bad_chunk;
            c->chunk = CH_SIZE;
            break;
        }
        case CH_TRAILER: {
            int ch = buf[i++];
            if (ch == '\r') break;
            if (ch == '\n') {
                if (c->chunk_line == 0) {
                    if (i < n) goto extra;
                    return 1;
                }
                c->chunk_line = 0;
                break;
            }
            if (++c->chunk_line > 4096) goto bad_chunk;
            break;
        }
        }
    }
    return 0;
bad_chunk:
    fail(c, ISPEED__V1__OUTCOME__OUTCOME_PROTOCOL_ERROR, "malformed chunked body from %s", c->label);
    return -1;
extra:
    fail(c, ISPEED__V1__OUTCOME__OUTCOME_PROTOCOL_ERROR, "%s sent more than its response", c->label);
    return -1;
}

/* Counts body bytes and tells the owner; 1 if the owner freed the client. */
static int deliver_body(http_client *c, size_t counted) {
    if (counted == 0 || c->status < 200 || c->status > 299) return 0;
    c->rx_total += counted;
    c->resp_body += counted;
    if (c->cbs.body) c->cbs.body(c, counted, c->arg);
    return c->zombie || c->state == R_IDLE;
}

/* Where the header in hdr[0..len) ends, just past its blank line; 0 if not yet. */
static size_t header_end(const char *buf, size_t len, size_t from) {
    for (size_t i = from > 3 ? from - 3 : 1; i < len; i++) {
        if (buf[i] != '\n') continue;
        if (buf[i - 1] == '\n') return i + 1;
        if (i >= 2 && buf[i - 1] == '\r' && buf[i - 2] == '\n') return i + 1;
    }
    return 0;
}

/* New header bytes are in hdr; parse when whole, and pass on what follows. */
static void take_header(http_client *c, size_t old_len) {
    for (;;) {
        size_t hend = header_end(c->hdr, c->hdr_len, old_len), rest, counted;
        int r;
        if (!hend) {
            if (c->hdr_len >= sizeof c->hdr)
                fail(c, ISPEED__V1__OUTCOME__OUTCOME_PROTOCOL_ERROR, "response header from %s over %d bytes",
                     c->label, HTTP_CLIENT_MAX_HEADER);
            return;
        }
        rest = c->hdr_len - hend;
        if (parse_header(c, hend) < 0) return;
        if (c->status < 200) {
            /* An interim answer (100 Continue): the real one follows. */
            memmove(c->hdr, c->hdr + hend, rest);
            c->hdr_len = rest;
            old_len = 0;
            continue;
        }
        c->state = R_BODY;
        r = take_body(c, (unsigned char *)c->hdr + hend, rest, &counted);
        if (r < 0) return;
        if (deliver_body(c, counted)) return;
        if (r == 1 || (c->framing == F_LENGTH && c->resp_left == 0)) finish_response(c);
        return;
    }
}

/* A kept-alive connection the server had closed before our request reached
 * it: any HTTP client resends once on a new connection (RFC 9112 9.3.1). */
static int may_retry(const http_client *c) {
    return c->reused && !c->retried && c->state == R_HEADER && c->hdr_len == 0;
}

static void retry(http_client *c) {
    /* What the dead socket did not deliver is not counted as sent. */
    c->tx_total = c->acked;
    close_socket(c, 1);
    c->out_off = 0;
    c->body_left = c->req_body_len;
    c->body_off = 0;
    c->retried = 1;
    c->last_progress_us = http_client_now_us();
    start_connect(c);
}

static void on_read(evutil_socket_t fd, short what, void *arg) {
    http_client *c = arg;
    unsigned gen = c->gen;
    (void)what;

    c->depth++;
    for (int k = 0; k < READS_PER_EVENT; k++) {
        ssize_t n;
        size_t counted;
        int r;

        /* A callback may have freed us, failed, or started a new connection. */
        if (c->zombie || c->fd != fd || c->gen != gen || c->state == R_CONNECTING) break;
        if (c->state == R_HEADER) {
            size_t old = c->hdr_len;
            n = recv(fd, c->hdr + c->hdr_len, sizeof c->hdr - c->hdr_len, 0);
            if (n > 0) {
                c->last_progress_us = http_client_now_us();
                c->hdr_len += (size_t)n;
                take_header(c, old);
                continue;
            }
        } else {
            size_t want = sizeof sink;
            if (c->state == R_BODY && c->framing != F_CHUNKED) {
                /* Only the body's length matters: Linux TCP discards the
                 * bytes under MSG_TRUNC without copying them anywhere, which
                 * saves a copy per byte and keeps the sink out of memory.
                 * Never past the body, so extra bytes are still seen. */
                if (c->framing == F_LENGTH && c->resp_left < BODY_READ_MAX) want = (size_t)c->resp_left;
                else want = BODY_READ_MAX;
                n = recv(fd, NULL, want, MSG_TRUNC);
            } else {
                n = recv(fd, sink, sizeof sink, 0);
            }
            if (n > 0) {
                c->last_progress_us = http_client_now_us();
                if (c->state == R_IDLE) {
                    /* Bytes nobody asked for: the connection cannot be trusted. */
                    close_socket(c, 1);
                    break;
                }
                r = take_body(c, sink, (size_t)n, &counted);
                if (r < 0) break;
                if (deliver_body(c, counted)) break;
                if (r == 1) {
                    finish_response(c);
                    break;
                }
                if ((size_t)n < want) break; /* drained the socket */
                continue;
            }
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) break;
        /* End of stream or an error. */
        if (n == 0 && c->state == R_BODY && c->framing == F_CLOSE) {
            finish_response(c);
            break;
        }
        if (c->state == R_IDLE) {
            /* The server closed a kept-alive connection between requests. */
            close_socket(c, 0);
            break;
        }
        if (may_retry(c)) {
            retry(c);
            break;
        }
        if (n == 0) {
            if (c->state == R_HEADER && c->hdr_len == 0)
                fail(c, ISPEED__V1__OUTCOME__OUTCOME_CLOSED, "%s closed the connection without answering",
                     c->label);
            else
                fail(c, ISPEED__V1__OUTCOME__OUTCOME_CLOSED,
                     "%s closed the connection mid-response after %llu body bytes", c->label,
                     (unsigned long long)c->resp_body);
        } else {
            fail(c, ISPEED__V1__OUTCOME__OUTCOME_CLOSED, "connection to %s failed mid-response: %s", c->label,
                 strerror(errno));
        }
        break;
    }
    if (--c->depth == 0 && c->zombie) really_free(c);
}

/* One step of sending what is left of the request (see payload_send): an
 * upload by sendfile from the payload's memfd costs less CPU than iperf3's
 * write() (bench/efficiency.sh). */
static ssize_t send_some(http_client *c, size_t *want) {
    return payload_send(c->payload, c->fd, c->out + c->out_off, c->out_len - c->out_off, c->body_left, c->body_off,
                        want);
}

static void on_write(evutil_socket_t fd, short what, void *arg) {
    http_client *c = arg;
    size_t slice = 0;
    int64_t before = 0;
    (void)what;

    c->depth++;
    if (c->state == R_CONNECTING) {
        int e = 0;
        socklen_t el = sizeof e;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0) e = errno;
        if (e) {
            fail(c, connect_outcome(e), "cannot connect to %s: %s", c->label, strerror(e));
            goto out;
        }
        c->state = R_HEADER;
        c->last_progress_us = http_client_now_us();
        event_add(c->rev, NULL);
    }
    while (c->out_off < c->out_len || c->body_left > 0) {
        size_t want;
        ssize_t n;

        /* Stamped before the call: on loopback or one core, the kernel may
         * run the server, and its answer, before the call returns. */
        before = http_client_now_us();
        n = send_some(c, &want);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            if (errno == EINTR) continue;
            if (may_retry(c)) {
                retry(c);
                goto out;
            }
            fail(c, ISPEED__V1__OUTCOME__OUTCOME_CLOSED, "connection to %s failed while sending: %s", c->label,
                 strerror(errno));
            goto out;
        }
        c->last_progress_us = http_client_now_us();
        slice += (size_t)n;
        if ((size_t)n < want) want = 0; /* short write: the send buffer is full */
        if (c->out_off < c->out_len) {
            size_t h = c->out_len - c->out_off;
            size_t t = (size_t)n < h ? (size_t)n : h;
            c->out_off += t;
            n -= (ssize_t)t;
        }
        c->body_left -= (uint64_t)n;
        if (c->payload) c->body_off = (c->body_off + (size_t)n) % payload_size(c->payload);
        c->tx_total += (uint64_t)n;
        if (want == 0 || slice >= WRITE_SLICE) break;
    }
    if (c->out_off < c->out_len || c->body_left > 0) event_add(c->wev, NULL);
    else c->sent_us = before;
out:
    if (--c->depth == 0 && c->zombie) really_free(c);
}

static void on_check(evutil_socket_t fd, short what, void *arg) {
    http_client *c = arg;
    int64_t now = http_client_now_us();
    (void)fd;
    (void)what;

    c->depth++;
    if (c->pending_outcome) {
        int o = c->pending_outcome;
        char detail[256];
        snprintf(detail, sizeof detail, "%s", c->pending_detail);
        c->pending_outcome = 0;
        event_del(c->check);
        c->state = R_IDLE;
        if (c->cbs.fail) c->cbs.fail(c, o, detail, c->arg);
        goto out;
    }
    if (c->state == R_CONNECTING) {
        if (now - c->connect_start_us >= (int64_t)HTTP_CLIENT_CONNECT_MS * 1000)
            fail(c, ISPEED__V1__OUTCOME__OUTCOME_UNREACHABLE, "no answer from %s within %d s of connecting",
                 c->label, HTTP_CLIENT_CONNECT_MS / 1000);
        goto out;
    }
    if (c->state == R_IDLE) goto out;
    update_acked(c);
    if (now - c->last_progress_us >= (int64_t)c->stall_ms * 1000)
        fail(c, ISPEED__V1__OUTCOME__OUTCOME_STALLED, "no data moved with %s for %.1f s", c->label,
             (double)c->stall_ms / 1000.0);
out:
    if (--c->depth == 0 && c->zombie) really_free(c);
}

int http_client_feed(http_client *c, const void *buf, size_t n) {
    const unsigned char *p = buf;

    if (c->fd >= 0 || c->zombie) return -1;
    if (c->state == R_IDLE) {
        /* As http_client_request leaves a request that went out. */
        c->hdr_len = 0;
        c->status = 0;
        c->resp_body = 0;
        c->state = R_HEADER;
    }
    c->depth++;
    if (n == 0) {
        /* The server closed: as on_read's end of stream. */
        if (c->state == R_BODY && c->framing == F_CLOSE) finish_response(c);
        else fail(c, ISPEED__V1__OUTCOME__OUTCOME_CLOSED, "%s closed the connection mid-response", c->label);
    }
    while (n > 0 && !c->zombie && c->state != R_IDLE) {
        if (c->state == R_HEADER) {
            /* Bytes land in hdr as recv puts them there, as much as fits. */
            size_t old = c->hdr_len, t = sizeof c->hdr - c->hdr_len;
            if (t > n) t = n;
            memcpy(c->hdr + c->hdr_len, p, t);
            c->hdr_len += t;
            p += t;
            n -= t;
            take_header(c, old);
        } else {
            size_t counted;
            int r = take_body(c, p, n, &counted);
            n = 0;
            if (r < 0 || deliver_body(c, counted)) break;
            if (r == 1) finish_response(c);
        }
    }
    if (--c->depth == 0 && c->zombie) {
        really_free(c);
        return 1;
    }
    return 0;
}
