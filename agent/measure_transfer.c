/* One direction of a speed test (see measure_transfer.h). */
#include "measure_transfer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_client.h"
#include "ispeed.pb-c.h"
#include "log.h"
#include "measure_stats.h"

#define MIB (1ull << 20)

/* Largest single request: big enough that restarts (one round trip of idle
 * each) cost nothing measurable at 10 Gbit/s, small enough for any server. */
#define ISPEED_DOWN_CHUNK (256 * MIB)
#define ISPEED_UP_CHUNK (256 * MIB)
/* LibreSpeed's own client asks 100 MiB downloads and posts 20 MiB blobs;
 * its servers are sized (post_max_size, client_max_body_size) for that. */
#define LIBRESPEED_DOWN_CHUNK (100 * MIB)
#define LIBRESPEED_UP_CHUNK (20 * MIB)

typedef struct stream {
    measure_transfer_t *t;
    http_client *c;
} stream;

struct measure_transfer {
    struct event_base *base;
    measure_transfer_opts o;
    http_url url;
    char label[128];
    payload_t *payload; /* upload bodies; NULL for a download */
    measure_transfer_done_cb done;
    void *arg;
    stream streams[TRANSFER_MAX_STREAMS];
    struct event *tick, *deadline, *finish;
    int64_t start_us;
    int64_t *t_us;
    uint64_t *bytes;
    size_t n, cap;
    uint64_t rx;          /* download payload received */
    uint64_t requested;   /* payload asked for or offered, for the budget */
    size_t ramp_end;
    int ramp_done;
    unsigned seq;
    int finished;
    measure_transfer_result r;
};

static const char *dir_name(const measure_transfer_t *t) { return t->o.upload ? "upload" : "download"; }

/* Payload moved so far: bytes read for a download; for an upload, what the
 * server acknowledged (see http_client_body_acked). */
static uint64_t moved(measure_transfer_t *t) {
    uint64_t sum = 0;

    if (!t->o.upload) return t->rx;
    for (int i = 0; i < t->o.streams; i++)
        if (t->streams[i].c) sum += http_client_body_acked(t->streams[i].c);
    return sum;
}

static void append_sample(measure_transfer_t *t) {
    if (t->n >= t->cap) return;
    t->t_us[t->n] = http_client_now_us() - t->start_us;
    t->bytes[t->n] = moved(t);
    /* Samples are cumulative; an upload's acknowledged count cannot shrink. */
    if (t->n > 0 && t->bytes[t->n] < t->bytes[t->n - 1]) t->bytes[t->n] = t->bytes[t->n - 1];
    t->n++;
}

static void finish(measure_transfer_t *t, int outcome, const char *detail) {
    stats_series s;
    size_t last;

    if (t->finished) return;
    t->finished = 1;
    append_sample(t);
    for (int i = 0; i < t->o.streams; i++)
        if (t->streams[i].c) http_client_abort(t->streams[i].c);
    event_del(t->tick);
    event_del(t->deadline);

    s = (stats_series){t->t_us, t->bytes, t->n};
    last = t->n - 1;
    if (!t->ramp_done) t->ramp_end = stats_ramp_fallback(&s, last);
    t->r.bytes = t->bytes[last];
    t->r.elapsed_ms = (uint32_t)(t->t_us[last] / 1000);
    t->r.kept_ms = (uint32_t)((t->t_us[last] - t->t_us[t->ramp_end]) / 1000);
    t->r.goodput_bps = stats_goodput_bps(&s, t->ramp_end, last);
    t->r.outcome = outcome;
    snprintf(t->r.detail, sizeof t->r.detail, "%s", detail ? detail : "");
    /* Nothing moved while measuring (the server stopped reading, say, in a
     * test shorter than the stall limit): that is a stall, not a rate of 0. */
    if (outcome == ISPEED__V1__OUTCOME__OUTCOME_OK && t->bytes[last] == t->bytes[t->ramp_end]) {
        t->r.outcome = ISPEED__V1__OUTCOME__OUTCOME_STALLED;
        snprintf(t->r.detail, sizeof t->r.detail, "%s: no data moved with %s in the last %.1f s", dir_name(t),
                 t->label, (double)(t->t_us[last] - t->t_us[t->ramp_end]) / 1e6);
    }
    log_debug("measure", "%s over bytes=%llu goodput_bps=%llu kept_ms=%u elapsed_ms=%u outcome=%d detail=\"%s\"",
              dir_name(t), (unsigned long long)t->r.bytes, (unsigned long long)t->r.goodput_bps, t->r.kept_ms,
              t->r.elapsed_ms, t->r.outcome, t->r.detail);
    event_active(t->finish, EV_TIMEOUT, 0);
}

/* Size of the next request: the chunk, or a share of what is left of the budget. */
static uint64_t next_size(measure_transfer_t *t) {
    uint64_t chunk, rem, share;

    if (t->url.librespeed) chunk = t->o.upload ? LIBRESPEED_UP_CHUNK : LIBRESPEED_DOWN_CHUNK;
    else chunk = t->o.upload ? ISPEED_UP_CHUNK : ISPEED_DOWN_CHUNK;
    if (!t->o.budget) return chunk;
    if (t->requested >= t->o.budget) return 0;
    rem = t->o.budget - t->requested;
    share = rem / (uint64_t)t->o.streams;
    if (share < MIB) share = rem < MIB ? rem : MIB;
    return share < chunk ? share : chunk;
}

static void stream_next(stream *s) {
    measure_transfer_t *t = s->t;
    uint64_t size = next_size(t);
    char target[600];

    if (size == 0) {
        /* Budget all asked for: finish once every stream is idle. */
        for (int i = 0; i < t->o.streams; i++)
            if (t->streams[i].c && http_client_busy(t->streams[i].c)) return;
        finish(t, ISPEED__V1__OUTCOME__OUTCOME_OK, NULL);
        return;
    }
    if (t->o.upload) {
        http_url_target(&t->url, HTTP_URL_UPLOAD, size, ++t->seq, target, sizeof target);
        http_client_request(s->c, "POST", target, size);
    } else {
        /* LibreSpeed sizes downloads in whole MiB. */
        if (t->url.librespeed) size = (size + MIB - 1) / MIB * MIB;
        http_url_target(&t->url, HTTP_URL_DOWNLOAD, size, ++t->seq, target, sizeof target);
        http_client_request(s->c, "GET", target, 0);
    }
    t->requested += size;
}

static void on_body(http_client *c, size_t n, void *arg) {
    stream *s = arg;
    measure_transfer_t *t = s->t;
    (void)c;

    t->rx += n;
    if (t->o.budget && t->rx >= t->o.budget) finish(t, ISPEED__V1__OUTCOME__OUTCOME_OK, NULL);
}

static void on_done(http_client *c, int status, void *arg) {
    stream *s = arg;
    measure_transfer_t *t = s->t;
    char detail[256];
    (void)c;

    if (t->finished) return;
    if (status < 200 || status > 299) {
        snprintf(detail, sizeof detail, "HTTP %d for the %s from %s", status, dir_name(t), t->label);
        finish(t, ISPEED__V1__OUTCOME__OUTCOME_HTTP_ERROR, detail);
        return;
    }
    stream_next(s);
}

static void on_fail(http_client *c, int outcome, const char *detail, void *arg) {
    stream *s = arg;
    char d[256];
    (void)c;

    snprintf(d, sizeof d, "%s: %s", s->t->o.upload ? "upload" : "download", detail);
    finish(s->t, outcome, d);
}

/* Every 100 ms: one sample, then the ramp-up and early-stop rules. */
static void on_tick(evutil_socket_t fd, short what, void *arg) {
    measure_transfer_t *t = arg;
    stats_series s;
    size_t k;
    (void)fd;
    (void)what;

    append_sample(t);
    s = (stats_series){t->t_us, t->bytes, t->n};
    k = t->n - 1;
    if (!t->ramp_done && stats_ramp_over(&s, k, t->o.duration_ms)) {
        t->ramp_done = 1;
        t->ramp_end = k;
        log_debug("measure", "%s ramp-up over t_ms=%lld rate_bps=%.0f", dir_name(t),
                  (long long)(t->t_us[k] / 1000), stats_rate_1s(&s, k) * 8);
    }
    if (t->ramp_done && stats_stop_early(&s, t->ramp_end, k)) {
        finish(t, ISPEED__V1__OUTCOME__OUTCOME_OK, NULL);
        return;
    }
    if (t->o.budget && t->bytes[k] >= t->o.budget) finish(t, ISPEED__V1__OUTCOME__OUTCOME_OK, NULL);
    else if (t->n >= t->cap) finish(t, ISPEED__V1__OUTCOME__OUTCOME_OK, NULL);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    finish(arg, ISPEED__V1__OUTCOME__OUTCOME_OK, NULL);
}

static void on_finish(evutil_socket_t fd, short what, void *arg) {
    measure_transfer_t *t = arg;
    (void)fd;
    (void)what;
    t->done(t, t->arg);
}

measure_transfer_t *measure_transfer_start(struct event_base *base, const measure_transfer_opts *o,
                                           measure_transfer_done_cb done, void *arg) {
    static const http_client_cbs cbs = {.body = on_body, .done = on_done, .fail = on_fail};
    struct timeval tick = {0, STATS_SAMPLE_MS * 1000};
    struct timeval dl = {o->duration_ms / 1000, (o->duration_ms % 1000) * 1000};
    measure_transfer_t *t;

    if (o->streams < 1 || o->streams > TRANSFER_MAX_STREAMS || o->duration_ms < 100) return NULL;
    t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->base = base;
    t->o = *o;
    t->url = *o->url;
    t->o.url = &t->url;
    snprintf(t->label, sizeof t->label, "%.100s", o->label);
    t->o.label = t->label;
    t->done = done;
    t->arg = arg;
    /* Timer callbacks come a little late; the room to spare covers that. */
    t->cap = (size_t)o->duration_ms / STATS_SAMPLE_MS + 64;
    t->t_us = calloc(t->cap, sizeof *t->t_us);
    t->bytes = calloc(t->cap, sizeof *t->bytes);
    t->tick = event_new(base, -1, EV_PERSIST, on_tick, t);
    t->deadline = evtimer_new(base, on_deadline, t);
    t->finish = event_new(base, -1, 0, on_finish, t);
    if (!t->t_us || !t->bytes || !t->tick || !t->deadline || !t->finish) goto fail;
    /* Upload bodies: random, so no middlebox compression inflates a rate. */
    if (o->upload && !(t->payload = payload_new(PAYLOAD_DEFAULT_SIZE, t->r.detail, sizeof t->r.detail))) goto fail;
    for (int i = 0; i < o->streams; i++) {
        t->streams[i].t = t;
        t->streams[i].c = http_client_new(base, o->sa, o->salen, t->url.hostport, t->label, o->stall_ms, &cbs,
                                          t->payload, &t->streams[i]);
        if (!t->streams[i].c) goto fail;
    }
    t->start_us = http_client_now_us();
    t->t_us[0] = 0;
    t->bytes[0] = 0;
    t->n = 1;
    /* Both limits start with the transfer. */
    event_add(t->tick, &tick);
    event_add(t->deadline, &dl);
    for (int i = 0; i < o->streams && !t->finished; i++) stream_next(&t->streams[i]);
    return t;
fail:
    measure_transfer_free(t);
    return NULL;
}

void measure_transfer_free(measure_transfer_t *t) {
    if (!t) return;
    for (int i = 0; i < TRANSFER_MAX_STREAMS; i++) http_client_free(t->streams[i].c);
    if (t->tick) event_free(t->tick);
    if (t->deadline) event_free(t->deadline);
    if (t->finish) event_free(t->finish);
    payload_free(t->payload);
    free(t->t_us);
    free(t->bytes);
    free(t);
}

const measure_transfer_result *measure_transfer_result_get(const measure_transfer_t *t) { return &t->r; }
