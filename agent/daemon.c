/* The agent daemon: one event_base carries the schedule timer, the speed
 * test, delivery-report polling and the resend timer. librdkafka's reports
 * are served by polling from a timer on this thread, so no callback ever
 * runs on librdkafka's threads. */
#include "daemon.h"

#include <event2/event.h>
#include <inttypes.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "measure.h"
#include "schedule.h"
#include "session.h"
#include "vntime.h"

#define DAEMON_POLL_MS 100
#define DAEMON_RESEND_MS 5000
#define DAEMON_MESSAGE_TIMEOUT_MS 60000
#define DAEMON_STOP_FLUSH_MS 5000

typedef struct agent_daemon {
    const agent_config *cfg;
    session s;
    struct event_base *base;
    struct event *test_timer, *poll_timer, *resend_timer, *sigint, *sigterm;
    measure_t *running;
    measure_t *finished;   /* freed later: not from inside its own callback */
    schedule_opts sched;
    int budget_warned;
} agent_daemon;

static struct timeval tv_ms(int64_t ms) {
    if (ms < 0) ms = 0;
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    return tv;
}

static void schedule_test(agent_daemon *d) {
    int64_t now = vntime_now_ms();
    int64_t next = schedule_next(&d->sched, d->s.state.last_slot_ms, now, randombytes_random());
    d->s.state.next_test_ms = next;
    struct timeval tv = tv_ms(next - now);
    evtimer_add(d->test_timer, &tv);
    session_save_state(&d->s);
    char when[20];
    vntime_format(next, when);
    log_info("agent", "next test at=%s+07", when);
}

static void on_test_done(const measure_result *r, void *arg) {
    agent_daemon *d = arg;
    char err[512];
    uint64_t seq = 0;
    if (session_put_result(&d->s, r, &seq, err, sizeof err) < 0)
        log_error("agent", "sample not stored: %s", err);
    else
        log_info("agent", "test done seq=%" PRIu64 " outcome=%s download_bps=%" PRIu64 " upload_bps=%" PRIu64
                 " bytes=%" PRIu64, seq, measure_outcome_name(r->outcome), r->download_bps, r->upload_bps,
                 r->bytes_down + r->bytes_up);
    d->finished = d->running;
    d->running = NULL;
    schedule_test(d);
}

static void on_test_timer(evutil_socket_t fd, short what, void *arg) {
    agent_daemon *d = arg;
    char err[512];
    (void)fd;
    (void)what;
    int64_t now = vntime_now_ms();
    measure_free(d->finished);
    d->finished = NULL;
    d->s.state.last_slot_ms = d->s.state.next_test_ms ? d->s.state.next_test_ms : now;
    if (d->running) { /* never two tests at once */
        log_warn("agent", "previous test still running, slot skipped");
        schedule_test(d);
        return;
    }
    budget_roll(&d->s.state.data, now);
    uint64_t remaining = budget_remaining(&d->s.state.data, d->s.budget_cap);
    if (!budget_allows(&d->s.state.data, d->s.budget_cap, d->s.state.last_test_bytes) || remaining == 0) {
        d->s.state.budget_exhausted = 1;
        if (!d->budget_warned)
            log_warn("agent", "monthly data budget reached, no more tests this month used=%" PRIu64 " cap=%" PRIu64,
                     d->s.state.data.used, d->s.budget_cap);
        d->budget_warned = 1;
        schedule_test(d);
        return;
    }
    d->s.state.budget_exhausted = 0;
    d->budget_warned = 0;
    uint64_t max_bytes = d->cfg->max_bytes;
    /* The test itself can never spend more than what is left. */
    if (remaining != UINT64_MAX && (max_bytes == 0 || remaining < max_bytes)) max_bytes = remaining;
    measure_opts mo = {.servers = (const char *const *)d->cfg->servers, .nservers = d->cfg->nservers,
                       .duration_s = (int)d->cfg->duration_s, .streams = (int)d->cfg->streams,
                       .max_bytes = max_bytes, .pings = 10,
                       .tickets = session_get_tickets(&d->s)};
    d->running = measure_start(d->base, &mo, on_test_done, d, err, sizeof err);
    if (!d->running) {
        log_error("agent", "cannot start a test: %s", err);
        schedule_test(d);
    }
}

static void on_poll_timer(evutil_socket_t fd, short what, void *arg) {
    agent_daemon *d = arg;
    (void)fd;
    (void)what;
    outbox_poll(d->s.outbox);
    spool_stats st;
    outbox_stats(d->s.outbox, &st, NULL);
    /* Compared with what the status file holds, not with what the last poll
     * saw: a test writes the file too, and a delivery between two polls must
     * still reach it. A failed write (full disk) is retried until it lands. */
    if (st.pending != d->s.state.spool_pending || d->s.save_failing) session_save_state(&d->s);
}

static void on_resend_timer(evutil_socket_t fd, short what, void *arg) {
    agent_daemon *d = arg;
    char err[512];
    (void)fd;
    (void)what;
    if (outbox_resend(d->s.outbox, err, sizeof err) < 0) log_warn("agent", "resend: %s", err);
}

static void on_signal(evutil_socket_t sig, short what, void *arg) {
    agent_daemon *d = arg;
    (void)what;
    log_info("agent", "stopping signal=%d", (int)sig);
    event_base_loopbreak(d->base);
}

int daemon_run(const agent_config *cfg, char *err, size_t errsz) {
    agent_daemon d;
    int rc = -1;
    memset(&d, 0, sizeof d);
    d.cfg = cfg;
    if (!cfg->commune || !*cfg->commune) {
        log_warn("agent", "no commune configured, not testing; set commune in /etc/ispeed/agent.conf and restart");
        return 0;
    }
    if (cfg->nservers == 0) {
        snprintf(err, errsz, "no test server configured; set servers in [test] or give --server URL");
        return -1;
    }
    if (sodium_init() < 0) {
        snprintf(err, errsz, "libsodium failed to initialise");
        return -1;
    }
    if (session_open(&d.s, cfg, DAEMON_MESSAGE_TIMEOUT_MS, err, errsz) < 0) return -1;
    d.sched = (schedule_opts){.interval_ms = cfg->interval_ms, .jitter_ms = cfg->jitter_ms,
                              .quiet_start_min = cfg->quiet_start_min, .quiet_end_min = cfg->quiet_end_min};
    if (!(d.base = event_base_new())) {
        snprintf(err, errsz, "cannot create the event loop");
        goto out;
    }
    d.test_timer = evtimer_new(d.base, on_test_timer, &d);
    d.poll_timer = event_new(d.base, -1, EV_PERSIST, on_poll_timer, &d);
    d.resend_timer = event_new(d.base, -1, EV_PERSIST, on_resend_timer, &d);
    d.sigint = evsignal_new(d.base, SIGINT, on_signal, &d);
    d.sigterm = evsignal_new(d.base, SIGTERM, on_signal, &d);
    if (!d.test_timer || !d.poll_timer || !d.resend_timer || !d.sigint || !d.sigterm) {
        snprintf(err, errsz, "cannot create timers");
        goto out;
    }
    struct timeval poll = tv_ms(DAEMON_POLL_MS), resend = tv_ms(DAEMON_RESEND_MS);
    event_add(d.poll_timer, &poll);
    event_add(d.resend_timer, &resend);
    event_add(d.sigint, NULL);
    event_add(d.sigterm, NULL);

    if (session_enroll(&d.s, 0, err, errsz) < 0) goto out;
    /* Whatever an earlier run or `test --produce` left spooled goes first. */
    if (outbox_resend(d.s.outbox, err, errsz) < 0) log_warn("agent", "resend: %s", err);
    log_info("agent", "running agent=%s commune=%s interval_ms=%" PRId64 " jitter_ms=%" PRId64,
             identity_agent_id(d.s.id), cfg->commune, cfg->interval_ms, cfg->jitter_ms);
    /* A restart keeps the planned slot instead of testing at once. */
    int64_t now = vntime_now_ms();
    if (d.s.state.next_test_ms > now && d.s.state.next_test_ms <= now + cfg->interval_ms + cfg->jitter_ms) {
        struct timeval tv = tv_ms(d.s.state.next_test_ms - now);
        evtimer_add(d.test_timer, &tv);
    } else {
        schedule_test(&d);
    }
    event_base_dispatch(d.base);
    rc = 0;
out:
    measure_free(d.running);
    measure_free(d.finished);
    if (d.s.outbox) {
        uint64_t left = outbox_flush(d.s.outbox, DAEMON_STOP_FLUSH_MS);
        if (left) log_info("agent", "stopped with records spooled pending=%" PRIu64, left);
        session_save_state(&d.s);
    }
    if (d.test_timer) event_free(d.test_timer);
    if (d.poll_timer) event_free(d.poll_timer);
    if (d.resend_timer) event_free(d.resend_timer);
    if (d.sigint) event_free(d.sigint);
    if (d.sigterm) event_free(d.sigterm);
    session_close(&d.s);
    if (d.base) event_base_free(d.base);
    return rc;
}
