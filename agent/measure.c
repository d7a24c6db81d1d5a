/* One speed test, phase by phase on the caller's loop: resolve, choose a
 * server (with several), idle pings, download, upload, each direction with
 * pings on a separate connection for latency under load. */
#include "measure.h"

#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "http_client.h"
#include "http_url.h"
#include "ispeed.pb-c.h"
#include "log.h"
#include "measure_ping.h"
#include "measure_resolve.h"
#include "measure_stats.h"
#include "measure_transfer.h"
#include "vntime.h"

#define MAX_SERVERS 8
#define SELECT_PINGS 3
#define SELECT_BOUND_MS 8000   /* resolving and probing every candidate */
#define IDLE_BOUND_MS 10000    /* connecting and the idle pings */
#define STALL_MS 5000          /* no byte moving on a connection for this long: stalled */
/* One ping every 250 ms under load: each costs ~250 bytes up and ~320 down
 * (HTTP and TCP/IP headers, and ACKs), which at 100 ms took 1.1-1.4% of a
 * 2 Mbit/s link from the streams measured; at 250 ms it is under 0.6%
 * there, and a 3 to 8 s window still gathers 12 to 32 of them. */
#define LOADED_PING_MS 250
#define LOADED_SKIP_US 1000000 /* pings sent in a direction's first second, while queues fill, are not kept */

enum phase { PH_START, PH_SELECT, PH_IDLE, PH_DOWN, PH_UP, PH_DONE };

typedef struct target {
    measure_t *m;
    const char *url_str;
    http_url url;
    char label[128];
    measure_resolve_t *resolve;
    measure_resolve_addrs addrs;
    int ai;                   /* the address in use */
    measure_ping_t *probe;    /* choosing among several servers */
    int finished;
    int outcome;
    char detail[256];
    double probe_ms;
} target;

struct measure {
    struct event_base *base;
    int duration_s, streams, pings;
    uint64_t max_bytes;
    measure_done_cb done;
    void *arg;
    target targets[MAX_SERVERS];
    size_t ntargets;
    target *chosen;
    enum phase phase;
    struct event *kick;       /* starts the test from the loop */
    struct event *overall;    /* the whole test's bound */
    struct event *phase_timer;
    struct event *finish;     /* done is called from here */
    measure_ping_t *idle, *loaded;
    measure_transfer_t *xfer;
    int64_t start_us, xfer_start_us;
    measure_result r;
    int finished;
};

static void start_idle(measure_t *m);
static void start_transfer(measure_t *m, int upload);
static void probe_start(target *t);

/* The URL the result is about (its length was checked at start). */
static void set_server(measure_t *m, const char *url) {
    size_t n = strlen(url);
    if (n >= sizeof m->r.server) n = sizeof m->r.server - 1;
    memmove(m->r.server, url, n);
    m->r.server[n] = '\0';
}

static void set_timer(struct event *ev, int ms) {
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_add(ev, &tv);
}

/* Ends the test: stops everything running and calls done from the loop. */
static void finish(measure_t *m, int outcome, const char *detail) {
    if (m->finished) return;
    m->finished = 1;
    m->phase = PH_DONE;
    m->r.outcome = outcome;
    snprintf(m->r.outcome_detail, sizeof m->r.outcome_detail, "%s", outcome == ISPEED__V1__OUTCOME__OUTCOME_OK ? "" : detail);
    m->r.duration_ms = (uint32_t)((http_client_now_us() - m->start_us) / 1000);
    for (size_t i = 0; i < m->ntargets; i++) {
        measure_resolve_free(m->targets[i].resolve);
        m->targets[i].resolve = NULL;
        measure_ping_free(m->targets[i].probe);
        m->targets[i].probe = NULL;
    }
    measure_ping_free(m->idle);
    measure_ping_free(m->loaded);
    measure_transfer_free(m->xfer);
    m->idle = m->loaded = NULL;
    m->xfer = NULL;
    event_del(m->overall);
    event_del(m->phase_timer);
    log_info("measure", "test over server=%s outcome=%s down_bps=%" PRIu64 " up_bps=%" PRIu64
             " latency_ms=%.2f duration_ms=%u detail=\"%s\"",
             m->r.server, measure_outcome_name(outcome), m->r.download_bps, m->r.upload_bps,
             m->r.latency_median_ms, m->r.duration_ms, m->r.outcome_detail);
    event_active(m->finish, EV_TIMEOUT, 0);
}

static const struct sockaddr *target_sa(const target *t, socklen_t *len) {
    *len = t->addrs.len[t->ai];
    return (const struct sockaddr *)&t->addrs.addr[t->ai];
}

/* A connection that never came up may work on the host's next address (an
 * IPv6 address first, a server listening on IPv4 only). */
static int try_next_address(target *t, measure_ping_t *p, int outcome) {
    if (measure_ping_connected(p)) return 0;
    if (outcome != ISPEED__V1__OUTCOME__OUTCOME_REFUSED && outcome != ISPEED__V1__OUTCOME__OUTCOME_UNREACHABLE)
        return 0;
    if (t->ai + 1 >= t->addrs.n) return 0;
    t->ai++;
    return 1;
}

/* --- choosing among several servers --- */

static void choose(measure_t *m) {
    target *best = NULL;

    event_del(m->phase_timer);
    for (size_t i = 0; i < m->ntargets; i++) {
        target *t = &m->targets[i];
        log_debug("measure", "candidate server=%s outcome=%d median_ms=%.2f", t->url_str, t->outcome, t->probe_ms);
        if (t->finished && t->outcome == 0 && (!best || t->probe_ms < best->probe_ms)) best = t;
    }
    if (!best) {
        char d[256];
        target *t = &m->targets[0];
        set_server(m, t->url_str);
        snprintf(d, sizeof d, "no server answered; first: %.200s", t->detail[0] ? t->detail : "no answer in time");
        finish(m, t->outcome ? t->outcome : ISPEED__V1__OUTCOME__OUTCOME_TIMEOUT, d);
        return;
    }
    for (size_t i = 0; i < m->ntargets; i++) {
        measure_resolve_free(m->targets[i].resolve);
        m->targets[i].resolve = NULL;
        measure_ping_free(m->targets[i].probe);
        m->targets[i].probe = NULL;
    }
    m->chosen = best;
    log_info("measure", "server chosen server=%s median_ms=%.2f candidates=%zu", best->url_str, best->probe_ms,
             m->ntargets);
    start_idle(m);
}

static void target_finished(target *t, int outcome, const char *detail) {
    measure_t *m = t->m;
    size_t left = 0;

    t->finished = 1;
    t->outcome = outcome;
    snprintf(t->detail, sizeof t->detail, "%s", detail ? detail : "");
    for (size_t i = 0; i < m->ntargets; i++)
        if (!m->targets[i].finished) left++;
    if (left == 0) choose(m);
}

static void on_probe_done(measure_ping_t *p, void *arg) {
    target *t = arg;
    const char *detail;
    const double *rtt;
    int outcome = measure_ping_outcome(p, &detail);
    size_t n = measure_ping_results(p, &rtt, NULL);
    char d[256];

    if (outcome) {
        snprintf(d, sizeof d, "%s", detail);
        if (try_next_address(t, p, outcome)) {
            measure_ping_free(t->probe);
            t->probe = NULL;
            probe_start(t);
            return;
        }
        measure_ping_free(t->probe);
        t->probe = NULL;
        target_finished(t, outcome, d);
        return;
    }
    t->probe_ms = stats_median(rtt, n);
    measure_ping_free(t->probe);
    t->probe = NULL;
    target_finished(t, 0, NULL);
}

static void probe_start(target *t) {
    measure_ping_opts po;
    socklen_t len;

    po.sa = target_sa(t, &len);
    po.salen = len;
    po.url = &t->url;
    po.label = t->label;
    po.count = SELECT_PINGS;
    po.interval_ms = 0;
    po.stall_ms = STALL_MS;
    t->probe = measure_ping_start(t->m->base, &po, on_probe_done, t);
    if (!t->probe) target_finished(t, ISPEED__V1__OUTCOME__OUTCOME_INTERNAL, "out of memory");
}

static void on_resolved(int gai_err, const measure_resolve_addrs *addrs, void *arg) {
    target *t = arg;
    measure_t *m = t->m;
    char d[300];

    /* addrs lives in the resolver: keep a copy before freeing it. */
    t->addrs = *addrs;
    t->ai = 0;
    measure_resolve_free(t->resolve);
    t->resolve = NULL;
    if (gai_err) {
        snprintf(d, sizeof d, "cannot resolve %s: %s", t->url.host, gai_strerror(gai_err));
        if (m->ntargets > 1) {
            target_finished(t, ISPEED__V1__OUTCOME__OUTCOME_UNREACHABLE, d);
        } else {
            set_server(m, t->url_str);
            finish(m, ISPEED__V1__OUTCOME__OUTCOME_UNREACHABLE, d);
        }
        return;
    }
    if (m->ntargets > 1) {
        probe_start(t);
    } else {
        m->chosen = t;
        start_idle(m);
    }
}

static void on_kick(evutil_socket_t fd, short what, void *arg) {
    measure_t *m = arg;
    (void)fd;
    (void)what;

    m->phase = m->ntargets > 1 ? PH_SELECT : PH_IDLE;
    if (m->ntargets > 1) set_timer(m->phase_timer, SELECT_BOUND_MS);
    else set_timer(m->phase_timer, IDLE_BOUND_MS);
    for (size_t i = 0; i < m->ntargets && !m->finished; i++) {
        target *t = &m->targets[i];
        t->resolve = measure_resolve_start(m->base, t->url.host, t->url.port, on_resolved, t);
        if (!t->resolve) {
            finish(m, ISPEED__V1__OUTCOME__OUTCOME_INTERNAL, "cannot start name resolution");
            return;
        }
    }
}

/* --- idle latency --- */

static void on_idle_done(measure_ping_t *p, void *arg) {
    measure_t *m = arg;
    const char *detail;
    const double *rtt;
    int outcome = measure_ping_outcome(p, &detail);
    size_t n = measure_ping_results(p, &rtt, NULL);
    char d[256];

    if (outcome) {
        snprintf(d, sizeof d, "%s", detail);
        if (try_next_address(m->chosen, p, outcome)) {
            measure_ping_free(m->idle);
            m->idle = NULL;
            start_idle(m);
            return;
        }
        finish(m, outcome, d);
        return;
    }
    m->r.latency_min_ms = stats_min(rtt, n);
    m->r.latency_median_ms = stats_median(rtt, n);
    m->r.jitter_ms = stats_jitter(rtt, n);
    measure_ping_free(m->idle);
    m->idle = NULL;
    event_del(m->phase_timer);
    start_transfer(m, 0);
}

static void start_idle(measure_t *m) {
    target *t = m->chosen;
    measure_ping_opts po;
    socklen_t len;

    m->phase = PH_IDLE;
    set_server(m, t->url_str);
    /* The idle phase's bound starts with it (after choosing, if there was a choice). */
    if (m->ntargets > 1 || !event_pending(m->phase_timer, EV_TIMEOUT, NULL)) set_timer(m->phase_timer, IDLE_BOUND_MS);
    po.sa = target_sa(t, &len);
    po.salen = len;
    po.url = &t->url;
    po.label = t->label;
    po.count = m->pings;
    po.interval_ms = 0;
    po.stall_ms = STALL_MS;
    m->idle = measure_ping_start(m->base, &po, on_idle_done, m);
    if (!m->idle) finish(m, ISPEED__V1__OUTCOME__OUTCOME_INTERNAL, "out of memory");
}

/* --- download and upload --- */

/* Median of the pings sent after the direction's first second (all of them
 * if none were). */
static double loaded_median(const measure_t *m) {
    const double *rtt;
    const int64_t *sent;
    size_t n, k = 0;
    double *kept, med;

    if (!m->loaded) return 0;
    n = measure_ping_results(m->loaded, &rtt, &sent);
    if (n == 0) return 0;
    kept = malloc(n * sizeof *kept);
    if (!kept) return 0;
    for (size_t i = 0; i < n; i++)
        if (sent[i] >= m->xfer_start_us + LOADED_SKIP_US) kept[k++] = rtt[i];
    med = k ? stats_median(kept, k) : stats_median(rtt, n);
    free(kept);
    return med;
}

static void on_loaded_done(measure_ping_t *p, void *arg) {
    const char *detail;
    (void)arg;
    /* Latency under load is a figure of the test, not a condition of it:
     * its connection failing leaves the figure with what it had. */
    if (measure_ping_outcome(p, &detail)) log_debug("measure", "loaded pings stopped detail=\"%s\"", detail);
}

static void on_transfer_done(measure_transfer_t *x, void *arg) {
    measure_t *m = arg;
    const measure_transfer_result *tr = measure_transfer_result_get(x);
    int upload = m->phase == PH_UP;
    double lat = loaded_median(m);
    char d[256];

    if (upload) {
        m->r.upload_bps = tr->goodput_bps;
        m->r.bytes_up = tr->bytes;
        m->r.loaded_latency_up_ms = lat;
    } else {
        m->r.download_bps = tr->goodput_bps;
        m->r.bytes_down = tr->bytes;
        m->r.loaded_latency_down_ms = lat;
    }
    measure_ping_free(m->loaded);
    m->loaded = NULL;
    if (tr->outcome != ISPEED__V1__OUTCOME__OUTCOME_OK) {
        snprintf(d, sizeof d, "%s", tr->detail);
        finish(m, tr->outcome, d);
        return;
    }
    measure_transfer_free(m->xfer);
    m->xfer = NULL;
    if (upload) finish(m, ISPEED__V1__OUTCOME__OUTCOME_OK, NULL);
    else start_transfer(m, 1);
}

static void start_transfer(measure_t *m, int upload) {
    target *t = m->chosen;
    measure_transfer_opts xo;
    measure_ping_opts po;
    socklen_t len;

    m->phase = upload ? PH_UP : PH_DOWN;
    m->xfer_start_us = http_client_now_us();
    memset(&xo, 0, sizeof xo);
    xo.upload = upload;
    xo.sa = target_sa(t, &len);
    xo.salen = len;
    xo.url = &t->url;
    xo.label = t->label;
    xo.streams = m->streams;
    xo.duration_ms = m->duration_s * 1000;
    xo.stall_ms = STALL_MS;
    /* A cap on the whole test: half for the download, the rest for the upload. */
    if (m->max_bytes) {
        xo.budget = upload ? (m->max_bytes > m->r.bytes_down ? m->max_bytes - m->r.bytes_down : 1) : m->max_bytes / 2;
        if (xo.budget == 0) xo.budget = 1;
    }
    po.sa = xo.sa;
    po.salen = len;
    po.url = &t->url;
    po.label = t->label;
    po.count = 0;
    po.interval_ms = LOADED_PING_MS;
    po.stall_ms = STALL_MS;
    m->loaded = measure_ping_start(m->base, &po, on_loaded_done, m);
    m->xfer = measure_transfer_start(m->base, &xo, on_transfer_done, m);
    if (!m->loaded || !m->xfer) finish(m, ISPEED__V1__OUTCOME__OUTCOME_INTERNAL, "out of memory");
}

/* --- limits, start, end --- */

static void on_phase_timer(evutil_socket_t fd, short what, void *arg) {
    measure_t *m = arg;
    (void)fd;
    (void)what;

    if (m->phase == PH_SELECT) {
        for (size_t i = 0; i < m->ntargets; i++) {
            target *t = &m->targets[i];
            if (t->finished) continue;
            measure_resolve_free(t->resolve);
            t->resolve = NULL;
            measure_ping_free(t->probe);
            t->probe = NULL;
            t->finished = 1;
            t->outcome = ISPEED__V1__OUTCOME__OUTCOME_TIMEOUT;
            {
                char d[sizeof t->detail];
                snprintf(d, sizeof d, "%s did not answer %d pings within %d s", t->label, SELECT_PINGS,
                         SELECT_BOUND_MS / 1000);
                memcpy(t->detail, d, sizeof d);
            }
        }
        choose(m);
        return;
    }
    if (m->phase == PH_IDLE) {
        const double *rtt;
        size_t n = m->idle ? measure_ping_results(m->idle, &rtt, NULL) : 0;
        char d[300];
        if (n > 0) {
            /* A slow link: the pings so far are a fair sample. */
            m->r.latency_min_ms = stats_min(rtt, n);
            m->r.latency_median_ms = stats_median(rtt, n);
            m->r.jitter_ms = stats_jitter(rtt, n);
            measure_ping_free(m->idle);
            m->idle = NULL;
            start_transfer(m, 0);
            return;
        }
        snprintf(d, sizeof d, "no ping answered by %s within %d s",
                 m->chosen ? m->chosen->label : m->targets[0].label, IDLE_BOUND_MS / 1000);
        if (!m->r.server[0]) set_server(m, m->targets[0].url_str);
        finish(m, ISPEED__V1__OUTCOME__OUTCOME_TIMEOUT, d);
    }
}

static void on_overall(evutil_socket_t fd, short what, void *arg) {
    measure_t *m = arg;
    (void)fd;
    (void)what;
    if (!m->r.server[0]) set_server(m, m->targets[0].url_str);
    finish(m, ISPEED__V1__OUTCOME__OUTCOME_TIMEOUT, "the test did not end within its time bound");
}

static void on_finish(evutil_socket_t fd, short what, void *arg) {
    measure_t *m = arg;
    (void)fd;
    (void)what;
    if (m->done) m->done(&m->r, m->arg);
}

measure_t *measure_start(struct event_base *base, const measure_opts *opts, measure_done_cb done, void *arg,
                         char *err, size_t errsz) {
    measure_t *m;
    int bound_ms;

    if (!opts->servers || opts->nservers == 0) {
        snprintf(err, errsz, "no server given: add --server http://host:port");
        return NULL;
    }
    if (opts->nservers > MAX_SERVERS) {
        snprintf(err, errsz, "%zu servers given, at most %d are tried", opts->nservers, MAX_SERVERS);
        return NULL;
    }
    if (opts->duration_s < 0 || opts->duration_s > 60) {
        snprintf(err, errsz, "duration %d s out of range: use 1 to 60 seconds", opts->duration_s);
        return NULL;
    }
    if (opts->streams < 0 || opts->streams > TRANSFER_MAX_STREAMS) {
        snprintf(err, errsz, "%d streams out of range: use 1 to %d", opts->streams, TRANSFER_MAX_STREAMS);
        return NULL;
    }
    if (opts->pings < 0 || opts->pings > 100) {
        snprintf(err, errsz, "%d pings out of range: use 1 to 100", opts->pings);
        return NULL;
    }
    m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    m->base = base;
    m->duration_s = opts->duration_s ? opts->duration_s : 10;
    m->streams = opts->streams ? opts->streams : 4;
    m->pings = opts->pings ? opts->pings : 10;
    m->max_bytes = opts->max_bytes;
    m->done = done;
    m->arg = arg;
    m->ntargets = opts->nservers;
    for (size_t i = 0; i < opts->nservers; i++) {
        target *t = &m->targets[i];
        t->m = m;
        t->url_str = opts->servers[i];
        if (!t->url_str || http_url_parse(t->url_str, &t->url, err, errsz) < 0) {
            if (!t->url_str) snprintf(err, errsz, "server %zu is empty", i + 1);
            goto fail;
        }
        if (strlen(t->url_str) >= sizeof m->r.server) {
            snprintf(err, errsz, "server URL over %zu characters", sizeof m->r.server - 1);
            goto fail;
        }
        {
            char label[sizeof t->label];
            snprintf(label, sizeof label, "%s%.100s%s:%s", strchr(t->url.host, ':') ? "[" : "", t->url.host,
                     strchr(t->url.host, ':') ? "]" : "", t->url.port);
            memcpy(t->label, label, sizeof label);
        }
    }
    m->kick = event_new(base, -1, 0, on_kick, m);
    m->overall = evtimer_new(base, on_overall, m);
    m->phase_timer = evtimer_new(base, on_phase_timer, m);
    m->finish = event_new(base, -1, 0, on_finish, m);
    if (!m->kick || !m->overall || !m->phase_timer || !m->finish) {
        snprintf(err, errsz, "out of memory");
        goto fail;
    }
    m->r.start_ms = vntime_now_ms();
    m->r.streams = (uint32_t)m->streams;
    m->r.outcome = ISPEED__V1__OUTCOME__OUTCOME_UNSPECIFIED;
    m->start_us = http_client_now_us();
    /* The test's bound starts with it: every phase has its own, and this one
     * catches whatever they miss. */
    bound_ms = SELECT_BOUND_MS + IDLE_BOUND_MS + 2 * (m->duration_s * 1000 + STALL_MS) + 5000;
    set_timer(m->overall, bound_ms);
    event_active(m->kick, EV_TIMEOUT, 0);
    return m;
fail:
    measure_free(m);
    return NULL;
}

void measure_free(measure_t *m) {
    if (!m) return;
    for (size_t i = 0; i < m->ntargets; i++) {
        measure_resolve_free(m->targets[i].resolve);
        measure_ping_free(m->targets[i].probe);
    }
    measure_ping_free(m->idle);
    measure_ping_free(m->loaded);
    measure_transfer_free(m->xfer);
    if (m->kick) event_free(m->kick);
    if (m->overall) event_free(m->overall);
    if (m->phase_timer) event_free(m->phase_timer);
    if (m->finish) event_free(m->finish);
    free(m);
}

typedef struct run_state {
    measure_result *out;
    int done;
} run_state;

static void run_done(const measure_result *r, void *arg) {
    run_state *rs = arg;
    *rs->out = *r;
    rs->done = 1;
}

int measure_run(struct event_base *base, const measure_opts *opts, measure_result *result, char *err,
                size_t errsz) {
    run_state rs = {result, 0};
    measure_t *m;

    memset(result, 0, sizeof *result);
    m = measure_start(base, opts, run_done, &rs, err, errsz);
    if (!m) return -1;
    /* One pass at a time, so the loop is left as soon as the test ends even
     * when the caller has other events on it. */
    while (!rs.done) {
        if (event_base_loop(base, EVLOOP_ONCE) < 0) {
            measure_free(m);
            snprintf(err, errsz, "event loop failed");
            return -1;
        }
    }
    measure_free(m);
    return 0;
}

/* --- output --- */

const char *measure_outcome_name(int outcome) {
    switch (outcome) {
    case ISPEED__V1__OUTCOME__OUTCOME_OK: return "ok";
    case ISPEED__V1__OUTCOME__OUTCOME_UNREACHABLE: return "unreachable";
    case ISPEED__V1__OUTCOME__OUTCOME_REFUSED: return "refused";
    case ISPEED__V1__OUTCOME__OUTCOME_HTTP_ERROR: return "http_error";
    case ISPEED__V1__OUTCOME__OUTCOME_CLOSED: return "closed";
    case ISPEED__V1__OUTCOME__OUTCOME_STALLED: return "stalled";
    case ISPEED__V1__OUTCOME__OUTCOME_PROTOCOL_ERROR: return "protocol_error";
    case ISPEED__V1__OUTCOME__OUTCOME_TIMEOUT: return "timeout";
    case ISPEED__V1__OUTCOME__OUTCOME_INTERNAL: return "internal";
    default: return "unspecified";
    }
}

static void json_string(FILE *out, const char *s) {
    fputc('"', out);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') fprintf(out, "\\%c", ch);
        else if (ch < 0x20) fprintf(out, "\\u%04x", ch);
        else fputc(ch, out);
    }
    fputc('"', out);
}

/* Finite and rounded to microseconds: JSON has no NaN. */
static double ms(double v) { return isfinite(v) ? round(v * 1000.0) / 1000.0 : 0; }

void measure_print_json(FILE *out, const measure_result *r) {
    fputs("{\"server\":", out);
    json_string(out, r->server);
    fprintf(out,
            ",\"start_ms\":%" PRId64 ",\"duration_ms\":%" PRIu32 ",\"download_bps\":%" PRIu64
            ",\"upload_bps\":%" PRIu64 ",\"latency_ms\":{\"min\":%.3f,\"median\":%.3f},\"jitter_ms\":%.3f"
            ",\"loaded_latency_ms\":{\"download\":%.3f,\"upload\":%.3f},\"bytes_down\":%" PRIu64
            ",\"bytes_up\":%" PRIu64 ",\"streams\":%" PRIu32 ",\"outcome\":",
            r->start_ms, r->duration_ms, r->download_bps, r->upload_bps, ms(r->latency_min_ms),
            ms(r->latency_median_ms), ms(r->jitter_ms), ms(r->loaded_latency_down_ms), ms(r->loaded_latency_up_ms),
            r->bytes_down, r->bytes_up, r->streams);
    json_string(out, measure_outcome_name(r->outcome));
    fputs(",\"outcome_detail\":", out);
    json_string(out, r->outcome_detail);
    fputs("}\n", out);
}

void measure_print_human(FILE *out, const measure_result *r) {
    fprintf(out, "server    %s\n", r->server);
    fprintf(out, "download  %.2f Mbit/s  (%.1f MB in all)\n", (double)r->download_bps / 1e6,
            (double)r->bytes_down / 1e6);
    fprintf(out, "upload    %.2f Mbit/s  (%.1f MB in all)\n", (double)r->upload_bps / 1e6, (double)r->bytes_up / 1e6);
    fprintf(out, "latency   %.2f ms median, %.2f ms min, %.2f ms jitter\n", r->latency_median_ms, r->latency_min_ms,
            r->jitter_ms);
    fprintf(out, "loaded    %.2f ms downloading, %.2f ms uploading\n", r->loaded_latency_down_ms,
            r->loaded_latency_up_ms);
    fprintf(out, "streams   %" PRIu32 ", %.1f s\n", r->streams, (double)r->duration_ms / 1000.0);
    fprintf(out, "outcome   %s%s%s\n", measure_outcome_name(r->outcome), r->outcome_detail[0] ? ": " : "",
            r->outcome_detail);
}
