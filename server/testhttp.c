/* The test endpoint's HTTP/1.1 connections (see testhttp.h). Plain sockets and
 * events rather than bufferevents: libevent 2.1 reads at most 4 KiB per
 * evbuffer_read, which caps an upload near a few Gbit/s on one core, while a
 * recv into a large sink buffer does not. */
#include "testhttp.h"

#include <errno.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "httphdr.h"
#include "log.h"
#include "payload.h"
#include "vntime.h"

#define MAX_HEADER_LINES 100
#define LINGER_S 2                   /* after a closing answer, how long unread input is drained */
#define SINK_SIZE (256 * 1024)       /* one recv of a request body */
#define WRITE_SLICE (4u << 20)       /* bytes per write event, so one fast client cannot starve others */

/* Connections of every server in the process, against max_conns: worker
 * threads share the limit. */
static atomic_size_t total_conns;

enum conn_state {
    ST_HEADER, /* waiting for, or reading, a request header */
    ST_BODY,   /* discarding a request body */
    ST_WRITE,  /* sending an answer; input is left in the kernel meanwhile */
    ST_LINGER, /* answered and shut down for writing; draining input until EOF */
};

typedef struct conn {
    testhttp_t *srv;
    struct conn *prev, *next;
    evutil_socket_t fd;
    struct event *rev, *wev, *timer;
    char peer[64];
    enum conn_state state;
    char in[TESTHTTP_MAX_HEADER];
    size_t in_len;
    size_t consumed;        /* bytes of in belonging to the current request */
    size_t scanned;         /* bytes of in already searched for the header's end */
    int64_t req_start_us;   /* first byte of the header being read, 0 before */
    int64_t last_io_us;
    http_request req;  /* points into in */
    uint64_t body_left, body_got;
    char out[2048];         /* status line, headers and a small body (at most 1024) */
    size_t out_len, out_off;
    uint64_t payload_left;
    size_t payload_off;
    int rev_paused;         /* the read event was removed while answering */
    /* Attestation: what this connection moved under a ticket, handed to
     * the ticket table every TICKET_FLUSH_BYTES and at the end of each
     * answer (never per byte): the agent asks for its receipt as soon as its
     * test ends, possibly before this loop has seen its connections close. */
    int has_ticket;
    uint8_t nonce[TRUST_NONCE_BYTES];
    size_t ticket_slot;     /* where the ticket was last found in the table */
    int64_t ticket_start_ms;
    uint64_t payload_total;
    uint64_t ticket_sent_done, ticket_received_done; /* already handed over */
    uint8_t *body;          /* a receipt request's body, kept; NULL otherwise */
} conn;

struct testhttp {
    struct event_base *base;
    const endpoints_t *ep;
    testhttp_opts opts;
    struct evconnlistener *listener;
    struct event *resume; /* re-enables accept after running out of descriptors */
    conn *conns;
    size_t nconns;
    /* Request bodies are read here and forgotten; every connection of this
     * server (this thread) shares it. */
    unsigned char *sink;
    char address[80];
};

static void conn_on_read(evutil_socket_t fd, short what, void *arg);
static void conn_on_write(evutil_socket_t fd, short what, void *arg);
static void conn_on_timer(evutil_socket_t fd, short what, void *arg);
static void conn_process(conn *c);


static const char *reason(int status) {
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 431: return "Request Header Fields Too Large";
    case 409: return "Conflict";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Error";
    }
}

#define TICKET_FLUSH_BYTES (1u << 20)

/* Hands the ticket's bytes not yet handed over to the table: what was sent
 * of the payload (a client that hangs up mid-download still moved those
 * bytes) and the body received (an upload cut off at the agent's time limit
 * still brought body_got bytes). end: the request is over. */
static void conn_ticket_account(conn *c, int end) {
    tickets_t *t = endpoints_tickets(c->srv->ep);
    if (!c->has_ticket || !t) return;
    uint64_t sent = c->payload_total - c->payload_left, received = c->body_got;
    if (!end && sent - c->ticket_sent_done < TICKET_FLUSH_BYTES &&
        received - c->ticket_received_done < TICKET_FLUSH_BYTES)
        return;
    tickets_account(t, c->nonce, &c->ticket_slot, c->peer, c->ticket_start_ms, vntime_now_ms(),
                    sent - c->ticket_sent_done, received - c->ticket_received_done);
    c->ticket_sent_done = sent;
    c->ticket_received_done = received;
    if (end) c->has_ticket = 0;
}

static void conn_ticket_flush(conn *c) { conn_ticket_account(c, 1); }

static void conn_free(conn *c) {
    testhttp_t *s = c->srv;

    conn_ticket_flush(c);
    free(c->body);

    if (c->prev) c->prev->next = c->next;
    else s->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    s->nconns--;
    atomic_fetch_sub(&total_conns, 1);
    if (c->rev) event_free(c->rev);
    if (c->wev) event_free(c->wev);
    if (c->timer) event_free(c->timer);
    evutil_closesocket(c->fd);
    free(c);
}

/* The one time limit that applies in the current state, counted from the
 * last progress; the timer is re-armed for whatever is left of it. */
static int64_t conn_deadline_us(const conn *c) {
    const testhttp_opts *o = &c->srv->opts;

    switch (c->state) {
    case ST_HEADER:
        if (c->req_start_us) return c->req_start_us + (int64_t)o->header_timeout_s * 1000000;
        return c->last_io_us + (int64_t)o->idle_timeout_s * 1000000;
    case ST_LINGER:
        return c->last_io_us + LINGER_S * 1000000;
    default:
        return c->last_io_us + (int64_t)o->idle_timeout_s * 1000000;
    }
}

static void conn_arm_timer(conn *c) {
    int64_t left = conn_deadline_us(c) - vntime_mono_us();
    struct timeval tv;

    if (left < 0) left = 0;
    tv.tv_sec = left / 1000000;
    tv.tv_usec = left % 1000000;
    event_add(c->timer, &tv);
}

/* Closing after an answer: shut down our side and drain what the client
 * still sends, because a close() with unread input makes the kernel send a
 * reset that can destroy the answer before the client reads it. */
static void conn_linger(conn *c) {
    c->state = ST_LINGER;
    c->last_io_us = vntime_mono_us();
    shutdown(c->fd, SHUT_WR);
    event_del(c->wev);
    c->rev_paused = 0;
    event_add(c->rev, NULL);
    conn_arm_timer(c);
}

/* Queues status line, headers and a small body; payload_bytes of random data follow. */
static void conn_respond(conn *c, const endpoint_response *r, int head) {
    int n;

    n = snprintf(c->out, sizeof c->out,
                 "HTTP/1.1 %d %s\r\n"
                 "Content-Type: %s\r\n"
                 "Content-Length: %llu\r\n"
                 "Cache-Control: no-store, no-cache, must-revalidate, max-age=0\r\n"
                 "%s"
                 "Connection: %s\r\n\r\n",
                 r->status, reason(r->status), r->content_type ? r->content_type : "text/plain",
                 (unsigned long long)(r->body_len + r->payload_bytes),
                 r->cors ? "Access-Control-Allow-Origin: *\r\n" : "", c->req.keep_alive ? "keep-alive" : "close");
    if (n < 0 || (size_t)n + r->body_len > sizeof c->out) n = 0; /* cannot happen: body is at most 512 */
    if (head) {
        c->out_len = (size_t)n;
        c->payload_left = 0;
    } else {
        memcpy(c->out + n, r->body, r->body_len);
        c->out_len = (size_t)n + r->body_len;
        c->payload_left = r->payload_bytes;
        c->payload_total = r->payload_bytes;
    }
    c->out_off = 0;
    c->payload_off = 0;
    c->state = ST_WRITE;
    /* Pipelined requests wait in the kernel until this answer is out; the
     * read event stays registered until input really comes (conn_on_read
     * pauses it then), which spares two epoll_ctl calls per request. */
    conn_on_write(c->fd, EV_WRITE, c);
}

/* An answer to a request we could not parse; the connection closes after it
 * because we no longer know where the next request would start. */
static void conn_reject(conn *c, int status, const char *text) {
    endpoint_response r;

    memset(&r, 0, sizeof r);
    r.status = status;
    r.content_type = "text/plain";
    r.body_len = (size_t)snprintf(r.body, sizeof r.body, "%s\n", text);
    c->req.keep_alive = 0;
    log_debug("server", "request rejected peer=%s status=%d reason=\"%s\"", c->peer, status, text);
    conn_respond(c, &r, 0);
}

static void conn_dispatch(conn *c) {
    endpoint_request er;
    endpoint_response r;
    int head = strcmp(c->req.method, "HEAD") == 0;

    /* HEAD is GET without the body (RFC 9110 9.3.2). */
    er.method = head ? "GET" : c->req.method;
    er.path = c->req.path;
    er.query = c->req.query;
    er.client_ip = c->peer;
    er.body_bytes = c->body_got;
    er.body = c->body;
    er.body_len = c->body ? (size_t)c->body_got : 0;
    er.now_ms = vntime_now_ms();
    endpoints_handle(c->srv->ep, &er, &r);
    free(c->body);
    c->body = NULL;
    log_debug("server", "request peer=%s method=%s path=%s status=%d body=%llu payload=%llu", c->peer,
              er.method, er.path, r.status, (unsigned long long)er.body_bytes,
              (unsigned long long)r.payload_bytes);
    conn_respond(c, &r, head);
}

/* Parses the header in in[0..hdr_len) in place. Returns 0, or an HTTP status
 * with *why set for a request that must be refused. */
int http_request_parse(char *in, size_t hdr_len, http_request *r, const char **why) {
    char *p = in, *end = in + hdr_len, *line, *sp1, *sp2, *q, *vend, *rest;
    int lines = 0, have_length = 0;

    memset(r, 0, sizeof *r);
    if (memchr(in, '\0', hdr_len)) goto bad;
    /* Terminate on the header's own last LF: the byte after it may already
     * be the next pipelined request. */
    in[hdr_len - 1] = '\0';
    /* Request line: METHOD SP target SP HTTP/1.x */
    line = p;
    p = memchr(line, '\n', (size_t)(end - line));
    if (!p) goto bad;
    *p++ = '\0';
    if (p - line >= 2 && p[-2] == '\r') p[-2] = '\0';
    sp1 = strchr(line, ' ');
    if (!sp1 || sp1 == line || sp1 - line > 15) goto bad;
    *sp1 = '\0';
    for (q = line; *q; q++)
        if (*q < 'A' || *q > 'Z') goto bad;
    sp2 = strchr(sp1 + 1, ' ');
    if (!sp2) goto bad;
    *sp2 = '\0';
    r->method = line;
    r->path = rest = sp1 + 1;
    /* absolute-form (through a proxy): keep the path only. The authority
     * ends at the first '/' or '?' (RFC 3986 3.2): a '?' there starts the
     * query of an empty path, and one before it is no query of the path. */
    if (strncasecmp(rest, "http://", 7) == 0) {
        rest += 7 + strcspn(rest + 7, "/?");
        r->path = *rest == '/' ? rest : "/";
    }
    if (r->path[0] != '/') goto bad;
    if (strcmp(sp2 + 1, "HTTP/1.1") == 0) r->keep_alive = 1;
    else if (strcmp(sp2 + 1, "HTTP/1.0") == 0) r->keep_alive = 0;
    else if (strncmp(sp2 + 1, "HTTP/", 5) == 0) {
        *why = "only HTTP/1.0 and HTTP/1.1 are served";
        return 505;
    } else goto bad;
    q = strchr(rest, '?');
    if (q) {
        *q = '\0';
        r->query = q + 1;
    } else {
        r->query = "";
    }

    /* Header fields; only those that frame the body or the connection matter. */
    while (p < end) {
        char *value;
        line = p;
        p = memchr(line, '\n', (size_t)(end - line));
        if (!p) p = end;
        else *p++ = '\0';
        vend = line + strlen(line);
        if (vend > line && vend[-1] == '\r') vend[-1] = '\0';
        if (line[0] == '\0') break; /* the blank line that ends the header */
        if (++lines > MAX_HEADER_LINES) {
            *why = "too many header fields";
            return 431;
        }
        if (line[0] == ' ' || line[0] == '\t') goto bad; /* obsolete line folding */
        if (httphdr_field(line, &line, &value) < 0) goto bad;
        if (strcasecmp(line, "Content-Length") == 0) {
            uint64_t v = 0;
            if (httphdr_content_length(value, &v) < 0) goto bad;
            if (have_length && v != r->content_length) goto bad;
            r->content_length = v;
            have_length = 1;
        } else if (strcasecmp(line, "Transfer-Encoding") == 0) {
            *why = "chunked request bodies are not accepted: send Content-Length";
            return 411;
        } else if (strcasecmp(line, "Connection") == 0) {
            if (httphdr_has_token(value, "close")) r->keep_alive = 0;
            else if (httphdr_has_token(value, "keep-alive")) r->keep_alive = 1;
        } else if (strcasecmp(line, "Expect") == 0) {
            if (strcasecmp(value, "100-continue") == 0) r->expect_continue = 1;
        }
    }
    return 0;
bad:
    *why = "malformed request";
    return 400;
}

size_t http_request_header_end(const char *buf, size_t len, size_t *scanned) {
    size_t i = *scanned > 3 ? *scanned - 3 : 1;

    *scanned = len;
    for (; i < len; i++) {
        if (buf[i] != '\n') continue;
        if (buf[i - 1] == '\n') return i + 1;
        if (i >= 2 && buf[i - 1] == '\r' && buf[i - 2] == '\n') return i + 1;
    }
    return 0;
}

/* Works through what is buffered in ST_HEADER: skips stray blank lines, and
 * once a header is whole, starts its body or answers it. */
static void conn_process(conn *c) {
    size_t hend, skip = 0, inbuf;
    const char *why = NULL;
    int status;

    while (skip < c->in_len && (c->in[skip] == '\r' || c->in[skip] == '\n')) skip++;
    if (skip) {
        memmove(c->in, c->in + skip, c->in_len - skip);
        c->in_len -= skip;
        c->scanned = 0;
    }
    if (c->in_len == 0) {
        c->req_start_us = 0;
        return;
    }
    if (!c->req_start_us) {
        c->req_start_us = vntime_mono_us();
        conn_arm_timer(c);
    }
    hend = http_request_header_end(c->in, c->in_len, &c->scanned);
    if (!hend) {
        if (c->in_len >= TESTHTTP_MAX_HEADER) conn_reject(c, 431, "request header over 16384 bytes");
        return;
    }
    status = http_request_parse(c->in, hend, &c->req, &why);
    if (status) {
        conn_reject(c, status, why);
        return;
    }
    c->consumed = hend;
    c->body_left = c->req.content_length;
    c->body_got = 0;
    if (endpoints_wants_body(c->srv->ep, c->req.method, c->req.path, c->req.content_length) &&
        !(c->body = malloc((size_t)c->req.content_length))) {
        conn_reject(c, 503, "out of memory");
        return;
    }
    /* A download or upload naming a ticket counts towards its receipt; the
     * receipt request itself does not. */
    if (!c->body && endpoints_tickets(c->srv->ep) && tickets_from_query(c->req.query, c->nonce) == 0) {
        c->has_ticket = 1;
        c->ticket_start_ms = vntime_now_ms();
        c->ticket_sent_done = c->ticket_received_done = 0;
        c->payload_total = 0;
    }
    inbuf = c->in_len - hend;
    if (inbuf > c->body_left) inbuf = (size_t)c->body_left;
    if (c->body) memcpy(c->body, c->in + hend, inbuf);
    c->consumed += inbuf;
    c->body_left -= inbuf;
    c->body_got += inbuf;
    if (c->body_left == 0) {
        conn_dispatch(c);
        return;
    }
    if (c->req.expect_continue) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        /* The socket is idle here (the last answer is out), so this tiny write
         * goes whole; if it did not, the client sends its body after its own
         * timeout anyway. */
        if (send(c->fd, cont, sizeof cont - 1, MSG_NOSIGNAL) < 0)
            log_debug("server", "100-continue not sent peer=%s err=%s", c->peer, strerror(errno));
    }
    c->state = ST_BODY;
    conn_arm_timer(c);
}

static void conn_on_read(evutil_socket_t fd, short what, void *arg) {
    conn *c = arg;
    ssize_t n;
    (void)what;

    switch (c->state) {
    case ST_HEADER:
        n = recv(fd, c->in + c->in_len, TESTHTTP_MAX_HEADER - c->in_len, 0);
        break;
    case ST_BODY:
        if (c->body) n = recv(fd, c->body + c->body_got, (size_t)c->body_left, 0);
        else n = recv(fd, c->srv->sink, c->body_left < SINK_SIZE ? (size_t)c->body_left : SINK_SIZE, 0);
        break;
    case ST_LINGER:
        n = recv(fd, c->srv->sink, SINK_SIZE, 0);
        break;
    default:
        /* Input while answering: leave it in the kernel until the answer is out. */
        event_del(c->rev);
        c->rev_paused = 1;
        return;
    }
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
        log_debug("server", "connection error peer=%s err=%s", c->peer, strerror(errno));
        conn_free(c);
        return;
    }
    if (n == 0) {
        if (c->state == ST_BODY)
            log_debug("server", "client closed mid-body peer=%s got=%llu left=%llu", c->peer,
                      (unsigned long long)c->body_got, (unsigned long long)c->body_left);
        conn_free(c);
        return;
    }
    c->last_io_us = vntime_mono_us();
    switch (c->state) {
    case ST_HEADER:
        c->in_len += (size_t)n;
        conn_process(c);
        break;
    case ST_BODY:
        c->body_left -= (uint64_t)n;
        c->body_got += (uint64_t)n;
        conn_ticket_account(c, 0);
        if (c->body_left == 0) conn_dispatch(c);
        break;
    default:
        break;
    }
}

/* After a whole answer: close, or keep alive and serve what is already buffered. */
static void conn_answered(conn *c) {
    conn_ticket_flush(c);
    if (!c->req.keep_alive) {
        conn_linger(c);
        return;
    }
    memmove(c->in, c->in + c->consumed, c->in_len - c->consumed);
    c->in_len -= c->consumed;
    c->consumed = 0;
    c->scanned = 0;
    c->req_start_us = 0;
    c->state = ST_HEADER;
    event_del(c->wev);
    if (c->rev_paused) {
        c->rev_paused = 0;
        event_add(c->rev, NULL);
    }
    conn_arm_timer(c);
    conn_process(c);
}

/* One step of sending what is left of an answer (see payload_send). */
static ssize_t conn_send_some(conn *c, size_t *want) {
    return payload_send(c->srv->opts.payload, c->fd, c->out + c->out_off, c->out_len - c->out_off, c->payload_left,
                        c->payload_off, want);
}

static void conn_on_write(evutil_socket_t fd, short what, void *arg) {
    conn *c = arg;
    size_t slice = 0;
    (void)fd;
    (void)what;

    if (c->state != ST_WRITE) return;
    while (c->out_off < c->out_len || c->payload_left > 0) {
        size_t want;
        ssize_t n = conn_send_some(c, &want), wrote;

        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            if (errno == EINTR) continue;
            log_debug("server", "client gone mid-answer peer=%s err=%s left=%llu", c->peer, strerror(errno),
                      (unsigned long long)c->payload_left);
            conn_free(c);
            return;
        }
        c->last_io_us = vntime_mono_us();
        wrote = n;
        slice += (size_t)n;
        if (c->out_off < c->out_len) {
            size_t h = c->out_len - c->out_off;
            if ((size_t)n < h) {
                c->out_off += (size_t)n;
                n = 0;
            } else {
                c->out_off = c->out_len;
                n -= (ssize_t)h;
            }
        }
        c->payload_left -= (uint64_t)n;
        conn_ticket_account(c, 0);
        c->payload_off = (c->payload_off + (size_t)n) % payload_size(c->srv->opts.payload);
        /* A short write means the socket buffer is full: wait for room. */
        if ((size_t)wrote < want || slice >= WRITE_SLICE) break;
    }
    if (c->out_off == c->out_len && c->payload_left == 0) {
        conn_answered(c);
        return;
    }
    event_add(c->wev, NULL);
}

static void conn_on_timer(evutil_socket_t fd, short what, void *arg) {
    conn *c = arg;
    (void)fd;
    (void)what;

    if (vntime_mono_us() < conn_deadline_us(c)) {
        conn_arm_timer(c);
        return;
    }
    switch (c->state) {
    case ST_HEADER:
        if (c->req_start_us) {
            log_debug("server", "header timeout peer=%s bytes=%zu", c->peer, c->in_len);
            event_del(c->rev);
            c->req.keep_alive = 0;
            c->last_io_us = vntime_mono_us();
            conn_reject(c, 408, "request header not complete in time");
            return;
        }
        log_debug("server", "idle connection closed peer=%s", c->peer);
        break;
    case ST_LINGER:
        break;
    default:
        log_debug("server", "no progress, connection closed peer=%s state=%d", c->peer, (int)c->state);
        break;
    }
    conn_free(c);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg) {
    testhttp_t *s = arg;
    conn *c;
    int one = 1;
    (void)l;
    (void)salen;

    if (atomic_fetch_add(&total_conns, 1) >= s->opts.max_conns) {
        atomic_fetch_sub(&total_conns, 1);
        log_warn("server", "connection refused: limit reached conns=%zu", s->opts.max_conns);
        evutil_closesocket(fd);
        return;
    }
    c = calloc(1, sizeof *c);
    if (!c) goto fail;
    c->srv = s;
    c->fd = fd;
    if (sa->sa_family == AF_INET)
        evutil_inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, c->peer, sizeof c->peer);
    else if (sa->sa_family == AF_INET6)
        evutil_inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, c->peer, sizeof c->peer);
    else
        snprintf(c->peer, sizeof c->peer, "unknown");
    /* Pings are single small writes; do not let Nagle hold one back. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->rev = event_new(s->base, fd, EV_READ | EV_PERSIST, conn_on_read, c);
    c->wev = event_new(s->base, fd, EV_WRITE, conn_on_write, c);
    c->timer = evtimer_new(s->base, conn_on_timer, c);
    if (!c->rev || !c->wev || !c->timer) goto fail;
    c->next = s->conns;
    if (s->conns) s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    c->state = ST_HEADER;
    c->last_io_us = vntime_mono_us();
    event_add(c->rev, NULL);
    conn_arm_timer(c);
    return;
fail:
    log_error("server", "out of memory accepting a connection");
    atomic_fetch_sub(&total_conns, 1);
    if (c) {
        if (c->rev) event_free(c->rev);
        if (c->wev) event_free(c->wev);
        if (c->timer) event_free(c->timer);
        free(c);
    }
    evutil_closesocket(fd);
}

static void on_resume(evutil_socket_t fd, short what, void *arg) {
    testhttp_t *s = arg;
    (void)fd;
    (void)what;
    evconnlistener_enable(s->listener);
}

/* Out of descriptors (EMFILE) the listening socket stays readable, and
 * retrying at once would spin: pause accepting for a second instead. */
static void on_accept_error(struct evconnlistener *l, void *arg) {
    testhttp_t *s = arg;
    struct timeval one = {1, 0};
    int e = EVUTIL_SOCKET_ERROR();

    log_warn("server", "accept failed, pausing 1 s err=\"%s\" conns=%zu", evutil_socket_error_to_string(e),
             s->nconns);
    evconnlistener_disable(l);
    event_add(s->resume, &one);
}

/* "ADDR:PORT" or "[V6]:PORT", port 0..65535 (evutil_parse_sockaddr_port
 * refuses 0, which tests use to get a free port). */
static int parse_listen(const char *listen, struct sockaddr_storage *ss, int *sslen) {
    char host[64];
    const char *colon, *h = listen;
    size_t hl;
    char *end;
    long port;

    colon = strrchr(listen, ':');
    if (!colon) return -1;
    hl = (size_t)(colon - listen);
    if (hl >= 2 && listen[0] == '[' && colon[-1] == ']') {
        h = listen + 1;
        hl -= 2;
    }
    if (hl == 0 || hl >= sizeof host) return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || port < 0 || port > 65535) return -1;
    memset(ss, 0, sizeof *ss);
    if (evutil_inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
        ((struct sockaddr_in *)ss)->sin_family = AF_INET;
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
        *sslen = (int)sizeof(struct sockaddr_in);
        return 0;
    }
    if (evutil_inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
        ((struct sockaddr_in6 *)ss)->sin6_family = AF_INET6;
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
        *sslen = (int)sizeof(struct sockaddr_in6);
        return 0;
    }
    return -1;
}

/* A group binds with SO_REUSEPORT, which would let it share a port with
 * another server started by mistake: first bind the address without it, as
 * a lone server would, and fail the same way when anything holds the port.
 * Port 0 becomes the free port this found, for the whole group. 0 or -1
 * with errno. */
static int port_taken(const struct sockaddr_storage *ss, int sslen, struct sockaddr_storage *out) {
    int one = 1, e;
    socklen_t len = sizeof *out;
    evutil_socket_t fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0) return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (const struct sockaddr *)ss, (socklen_t)sslen) < 0 || getsockname(fd, (struct sockaddr *)out, &len) < 0) {
        e = errno;
        evutil_closesocket(fd);
        errno = e;
        return -1;
    }
    evutil_closesocket(fd);
    return 0;
}

testhttp_t *testhttp_new(struct event_base *base, const testhttp_opts *opts, const endpoints_t *ep,
                               char *err, size_t errsz) {
    testhttp_t *s;
    struct sockaddr_storage ss;
    int sslen = (int)sizeof ss;
    socklen_t blen = sizeof ss;
    char host[64];

    s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    s->base = base;
    s->ep = ep;
    s->opts = *opts;
    memset(&ss, 0, sizeof ss);
    if (parse_listen(opts->listen, &ss, &sslen) < 0) {
        snprintf(err, errsz, "bad listen address '%s': use ADDR:PORT, e.g. 0.0.0.0:8080 or [::]:8080", opts->listen);
        goto fail;
    }
    s->resume = evtimer_new(base, on_resume, s);
    s->sink = malloc(SINK_SIZE);
    if (!s->resume || !s->sink) {
        snprintf(err, errsz, "out of memory");
        goto fail;
    }
    if (opts->group == TESTHTTP_LISTEN_GROUP_FIRST && port_taken(&ss, sslen, &ss) < 0) {
        snprintf(err, errsz, "cannot listen on %s: %s (is the port in use or the address not local?)", opts->listen,
                 strerror(errno));
        goto fail;
    }
    s->listener = evconnlistener_new_bind(base, on_accept, s,
                                          LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
                                              (opts->group != TESTHTTP_LISTEN_ALONE ? LEV_OPT_REUSEABLE_PORT : 0),
                                          1024, (struct sockaddr *)&ss, sslen);
    if (!s->listener) {
        snprintf(err, errsz, "cannot listen on %s: %s (is the port in use or the address not local?)",
                 opts->listen, strerror(errno));
        goto fail;
    }
    evconnlistener_set_error_cb(s->listener, on_accept_error);
    if (getsockname(evconnlistener_get_fd(s->listener), (struct sockaddr *)&ss, &blen) == 0) {
        if (ss.ss_family == AF_INET6) {
            evutil_inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof host);
            snprintf(s->address, sizeof s->address, "[%s]:%u", host, ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
        } else {
            evutil_inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof host);
            snprintf(s->address, sizeof s->address, "%s:%u", host, ntohs(((struct sockaddr_in *)&ss)->sin_port));
        }
    } else {
        snprintf(s->address, sizeof s->address, "%s", opts->listen);
    }
    return s;
fail:
    testhttp_free(s);
    return NULL;
}

const char *testhttp_address(const testhttp_t *s) { return s->address; }


void testhttp_free(testhttp_t *s) {
    if (!s) return;
    while (s->conns) conn_free(s->conns);
    if (s->listener) evconnlistener_free(s->listener);
    if (s->resume) event_free(s->resume);
    free(s->sink);
    free(s);
}
