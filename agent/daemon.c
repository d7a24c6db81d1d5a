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

#include "ispeed.pb-c.h"
#include "log.h"
#include "measure.h"
#include "quotafeed.h"
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
    schedule_policy policy;
    quotafeed_t *qf;       /* the commune's demand; NULL with the static policy */
    uint32_t slot_random;  /* the jitter of the coming slot, kept when a demand change re-plans it */
    int budget_warned;
} agent_daemon;

#define DAY_MS 86400000LL

static int64_t vn_day(int64_t ms) { return (ms + VNTIME_OFFSET_MS) / DAY_MS; }

static struct timeval tv_ms(int64_t ms) {
    if (ms < 0) ms = 0;
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    return tv;
}

/* Plans the next test from the last slot: at each slot with a fresh jitter,
 * and again (same jitter) whenever the commune's demand changes. */
static void plan_test(agent_daemon *d, int fresh) {
    int64_t now = vntime_now_ms();
    if (fresh) d->slot_random = randombytes_random();
    schedule_demand dm;
    char month[8];
    vntime_month(now, month);
    quotafeed_get(d->qf, d->s.ctx.net.network, month, &dm);
    budget_roll(&d->s.state.data, now);
    d->policy.tests_today = d->s.state.tests_day == vn_day(now) ? d->s.state.tests_today : 0;
    d->policy.budget_cap = d->s.budget_cap;
    d->policy.budget_used = d->s.state.data.used;
    d->policy.test_bytes = d->s.state.last_test_bytes;
    schedule_plan plan;
    schedule_decide(&d->sched, &d->policy, d->qf ? &dm : NULL, d->s.state.last_slot_ms, now, d->slot_random, &plan);
    d->s.state.next_test_ms = plan.next_ms;
    d->s.state.next_reason = (int)plan.reason;
    d->s.state.adaptive = d->policy.adaptive;
    struct timeval tv = tv_ms(plan.next_ms - now);
    evtimer_add(d->test_timer, &tv);
    session_save_state(&d->s);
    char when[20];
    vntime_format(plan.next_ms, when);
    log_info("agent", "next test at=%s+07 interval_ms=%" PRId64 " why=\"%s\"", when, plan.interval_ms,
             schedule_reason_text(plan.reason));
}

static void schedule_test(agent_daemon *d) { plan_test(d, 1); }

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
    if (r->outcome == ISPEED__V1__OUTCOME__OUTCOME_OK) {
        int64_t day = vn_day(vntime_now_ms());
        if (d->s.state.tests_day != day) d->s.state.tests_day = day, d->s.state.tests_today = 0;
        d->s.state.tests_today++;
    }
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
    /* A new demand moves the coming test at once (BEHIND: sooner, MET:
     * later); a running test finishes first and plans with it. */
    if (d->qf && quotafeed_poll(d->qf, vntime_now_ms()) && !d->running && evtimer_pending(d->test_timer, NULL)) {
        evtimer_del(d->test_timer);
        log_info("agent", "commune demand changed, re-planning");
        plan_test(d, 0);
    }
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
    if (cfg->policy && strcmp(cfg->policy, "static") != 0 && strcmp(cfg->policy, "adaptive") != 0) {
        snprintf(err, errsz, "policy must be static or adaptive, not '%s'; fix [schedule] policy or --policy",
                 cfg->policy);
        return -1;
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
    schedule_policy_default(&d.policy);
    d.policy.adaptive = cfg->policy && strcmp(cfg->policy, "adaptive") == 0;
    d.policy.floor_ms = cfg->floor_ms;
    d.policy.relax = (double)cfg->relax;
    d.policy.met_metered_relax = (double)cfg->met_metered_relax;
    d.policy.daily_cap = (int)cfg->daily_cap;
    if (d.policy.adaptive && cfg->bootstrap && *cfg->bootstrap &&
        !(d.qf = quotafeed_new(cfg->bootstrap, &cfg->kafka, cfg->topic_prefix, d.s.province.code, d.s.commune.code, err,
                               errsz)))
        goto out;
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
    quotafeed_free(d.qf);
    session_close(&d.s);
    if (d.base) event_base_free(d.base);
    return rc;
}
