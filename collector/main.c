/* ispeed-collector: the consumer-group member that validates samples, counts
 * them per unit, month and network class, and publishes quota states, alerts
 * and rejects. This file wires the modules of collector.h together: set-up,
 * the timers, the signals and the bounded shutdown. */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector.h"
#include "log.h"
#include "sign.h"
#include "vntime.h"

/* ---- timers and signals ---- */

static void on_poll(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    struct collector *c = arg;
    publish_poll(c->pb);
    if (c->caught_up) outputs_flush_quota_due(c);
    /* Quota updates, checkpoints, alerts and rejects since the last commit,
     * with the offsets that explain them. A commit waits for every record's
     * acknowledgement and writes a marker on every partition it touched:
     * on a busy cluster each took 0.3-3 s, so not every poll. */
    if (publish_transactional(c->pb) && collector_mono_ms() - c->last_commit_ms >= c->commit_interval_ms) {
        if (outputs_commit(c, TXN_BUDGET_MS) == PUBLISH_FATAL) return;
        c->last_commit_ms = collector_mono_ms();
    }
    metrics_gauge(c->m, G_UNCOMMITTED, (double)publish_uncommitted(c->pb));
    char err[256];
    if (topic_reader_poll(c->agents_feed, BATCH_MAX, pipeline_apply_enrollment, c, err, sizeof err) < 0)
        collector_feed_failed(c, "agents", err);
    /* After the flush: 0 and 0 tell a reader of the quota topics that they
     * show every count (the exactness test waits for it). */
    metrics_gauge(c->m, G_QUOTA_DIRTY, (double)quota_dirty_count(c->qt));
    metrics_gauge(c->m, G_OUTPUT_QUEUE, (double)rd_kafka_outq_len(publish_handle(c->pb)));
    if (c->last_ckpt_ms >= 0)
        metrics_gauge(c->m, G_CHECKPOINT_AGE, (double)(collector_mono_ms() - c->last_ckpt_ms) / 1000.0);
    int64_t lag = 0;
    for (int32_t p = 0; p < c->nparts; p++) {
        int64_t lo, hi;
        if (!c->parts[p].assigned ||
            rd_kafka_get_watermark_offsets(c->rk, c->samples_topic, p, &lo, &hi) != RD_KAFKA_RESP_ERR_NO_ERROR || hi < 0)
            continue;
        int64_t at = c->parts[p].next >= 0 ? c->parts[p].next : lo;
        if (hi > at) lag += hi - at;
    }
    metrics_gauge(c->m, G_CONSUMER_LAG, (double)lag);
}

static void on_checkpoint(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    state_write_due(arg); /* failures are logged, counted and retried by the next pass */
}

static void on_eval(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    struct collector *c = arg;
    if (!c->caught_up) return;
    int64_t now = vntime_now_ms();
    outputs_evaluate(c);
    size_t gone = agents_expire(c->agents, now);
    if (gone) {
        metrics_add(c->m, M_AGENTS_EXPIRED, gone);
        metrics_gauge(c->m, G_AGENTS, (double)agents_count(c->agents));
        log_info(COMP, "agents expired count=%zu left=%zu", gone, agents_count(c->agents));
    }
    size_t behind = 0;
    for (size_t i = 0; i < registry_size(c->reg); i++) {
        const registry_unit *p = registry_unit_at(c->reg, i);
        if (p->level == REGISTRY_PROVINCE && consumer_owns(p, c)) behind += quota_behind(c->qt, p, now, NULL, NULL);
    }
    metrics_gauge(c->m, G_UNITS_BEHIND, (double)behind);
    digest_maybe_send(c, now);
}

static void on_signal(evutil_socket_t sig, short what, void *arg) {
    (void)what;
    struct collector *c = arg;
    log_info(COMP, "stopping signal=%d", (int)sig);
    c->stopping = 1;
    event_base_loopbreak(c->base);
}

static struct event *add_timer(struct collector *c, int ms, event_callback_fn fn) {
    struct event *ev = event_new(c->base, -1, EV_PERSIST, fn, c);
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    if (ev && event_add(ev, &tv) == 0) return ev;
    if (ev) event_free(ev);
    return NULL;
}

/* The last resort of a bounded shutdown: librdkafka calls that ignore their
 * timeouts when no broker answers must not keep the process alive. */
static void on_close_watchdog(int sig) {
    (void)sig;
    static const char msg[] = "ERROR collector: shutdown took too long, exiting without a clean close\n";
    if (write(2, msg, sizeof msg - 1) < 0) {
    }
    _exit(1);
}

static void collector_close(struct collector *c) {
    if (c->rk) {
        pipeline_drain(c);
        /* The last interval's counts and the checkpoints that explain them,
         * before the partitions go. */
        if (!c->caught_up && quota_dirty_count(c->qt))
            log_warn(COMP, "stopping during the replay: %zu partial quota update(s) not published",
                     quota_dirty_count(c->qt));
        c->stopping = 1;
        if (c->fenced) {
            /* Nothing of ours may land any more. */
            c->undelivered = 1;
        } else {
            if (c->caught_up) outputs_flush_quota(c);
            int failed = state_write_all(c);
            if (failed)
                log_warn(COMP, "checkpoints not written at shutdown count=%d: a restart replays from older ones", failed);
            if (outputs_commit(c, CLOSE_BUDGET_MS) != PUBLISH_COMMITTED) {
                log_warn(COMP, "last checkpoints not delivered within %d ms; a restart replays from older ones",
                         CLOSE_BUDGET_MS);
                c->undelivered = 1; /* no second wait for the same records at the end */
            }
        }
        consumer_close(c);
    }
    struct event *evs[] = {c->ev_consumer, c->ev_more, c->ev_ckpt, c->ev_eval, c->ev_poll, c->ev_sigint, c->ev_sigterm};
    for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
        if (evs[i]) event_free(evs[i]);
    if (c->wake[0] >= 0) close(c->wake[0]);
    if (c->wake[1] >= 0) close(c->wake[1]);
    collector_http_free(c->http);
    topic_reader_free(c->agents_feed);
    topic_reader_free(c->alerts_feed);
    hashmap_free(c->ckpts, free);
    if (c->state_rkt) rd_kafka_topic_destroy(c->state_rkt);
    if (c->state_rk) rd_kafka_destroy(c->state_rk);
    free(c->state_next);
    publish_free(c->pb, c->undelivered ? 0 : CLOSE_BUDGET_MS);
    ingest_free(c->ing);
    sigpool_free(c->sigpool);
    pipeline_free(c);
    quota_counts_free(c->qt);
    agents_free(c->agents);
    merges_free(c->merges);
    registry_free(c->reg);
    metrics_free(c->m);
    options_free(c);
    free(c->parts);
    if (c->base) event_base_free(c->base);
}

int main(int argc, char **argv) {
    struct collector c;
    char err[512];
    /* glibc gives each thread that allocates an arena of its own, and
     * librdkafka runs a dozen threads: their freed buffers stayed resident
     * (RSS 89 MiB where one arena holds 67). Blocks of 256 KiB and more
     * (fetch buffers, compressor contexts, checkpoints) are mapped apart and
     * returned on free, instead of the threshold growing to 32 MiB. */
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    memset(&c, 0, sizeof c);
    c.wake[0] = c.wake[1] = -1;
    c.last_ckpt_ms = -1;
    c.last_digest_day = -1;
    /* The clock first: every module reads it, and a test's bad ISPEED_NOW
     * must stop us before anything is counted at the wrong time. */
    int shifted = vntime_clock_init(err, sizeof err);
    if (shifted < 0) {
        fprintf(stderr, "ispeed-collector: %s\n", err);
        return 2;
    }
    options_defaults(&c);
    int pr = options_parse(&c, argc, argv);
    if (pr != 0) {
        options_free(&c);
        return pr == 1 ? 0 : 2;
    }
    if (shifted) {
        char at[20];
        vntime_format(vntime_now_ms(), at);
        log_warn(COMP, "clock shifted by ISPEED_NOW offset_ms=%lld now=\"%s\" (Vietnam time)",
                 (long long)vntime_clock_offset_ms(), at);
    }
    c.rc = 1;
    signal(SIGPIPE, SIG_IGN);
    kafka_topic_name(c.samples_topic, sizeof c.samples_topic, c.prefix, "samples");

    if (sign_init() < 0) {
        fprintf(stderr, "ispeed-collector: libsodium failed to initialise\n");
        goto out;
    }
    if (!(c.reg = registry_load(c.units_path, err, sizeof err))) {
        fprintf(stderr, "ispeed-collector: %s\n", err);
        goto out;
    }
    if (c.merges_path && !(c.merges = merges_load(c.merges_path, err, sizeof err))) {
        fprintf(stderr, "ispeed-collector: %s\n", err);
        goto out;
    }
    if (!(c.base = event_base_new()) || !(c.m = metrics_new()) || !(c.agents = agents_new()) ||
        pipeline_init(&c) < 0) {
        fprintf(stderr, "ispeed-collector: out of memory\n");
        goto out;
    }
    agents_set_trust(c.agents, &(agents_trust){.require_token = c.enrollment == ENROLL_TOKEN,
                                               .authorities = c.authorities,
                                               .reg = c.reg,
                                               .signed_withdrawals = 1});
    agents_set_reject_hook(c.agents, pipeline_enrollment_rejected, &c);
    agents_set_bounds(c.agents, (size_t)c.max_agents, c.agent_expiry_ms);
    if (!(c.qt = quota_counts_new(c.reg, &c.qcfg, err, sizeof err)) ||
        !(c.ing = ingest_new(c.reg, c.agents, c.merges, c.qt, &c.icfg, err, sizeof err))) {
        fprintf(stderr, "ispeed-collector: %s\n", err);
        goto out;
    }
    if (!(c.sigpool = sigpool_new((unsigned)c.verify_threads, err, sizeof err))) {
        fprintf(stderr, "ispeed-collector: %s\n", err);
        goto out;
    }
    log_info(COMP, "signature verification threads=%u", sigpool_threads(c.sigpool));
    if (c.targets_path && options_load_targets(c.qt, c.reg, c.targets_path, err, sizeof err) < 0) {
        fprintf(stderr, "ispeed-collector: %s\n", err);
        goto out;
    }
    quota_set_alerts(c.qt, outputs_on_alert, &c);
    c.partitioner = consumer_partitioner(&c.props);

    char txn_id[512], host[256] = "host";
    if (c.transactions == TXN_ON) {
        if (gethostname(host, sizeof host) < 0) snprintf(host, sizeof host, "host");
        host[sizeof host - 1] = '\0';
        if (c.instance_id && *c.instance_id)
            snprintf(txn_id, sizeof txn_id, "%scollector.%s.%s", c.prefix, c.group, c.instance_id);
        else
            snprintf(txn_id, sizeof txn_id, "%scollector.%s.%s-%d", c.prefix, c.group, host, (int)getpid());
    }
    if (!(c.pb = publish_new(c.bootstrap, &c.props, c.prefix, c.transactions == TXN_ON ? txn_id : NULL, c.m, err,
                             sizeof err))) {
        fprintf(stderr, "ispeed-collector: %s\n", err);
        goto out;
    }
    if (kafka_check_reachable(publish_handle(c.pb), c.bootstrap, 5000, err, sizeof err) < 0) {
        fprintf(stderr, "ispeed-collector: %s\n", err);
        goto out;
    }
    if (publish_txn_start(c.pb, TXN_BUDGET_MS, err, sizeof err) < 0) {
        fprintf(stderr, "ispeed-collector: %s (a broker without transactions, such as the embedded Kafka, needs "
                "--transactions off)\n", err);
        goto out;
    }
    if (c.transactions == TXN_ON) log_info(COMP, "transactions on transactional.id=%s", txn_id);
    if ((c.samples_npart = consumer_topic_partitions(publish_handle(c.pb), c.samples_topic, 10000)) <= 0) {
        fprintf(stderr, "ispeed-collector: topic %s does not exist: create the ispeed topics or check --topic-prefix\n",
                c.samples_topic);
        goto out;
    }

    /* Every enrollment before the first sample: a replay then finds the keys
     * of all agents that enrolled before their samples were produced. */
    kafka_topic_name(c.agents_topic, sizeof c.agents_topic, c.prefix, "agents");
    /* Whole topics beside the group: every collector needs every
     * enrollment, and every alert of the provinces it may come to own. */
    /* 1 MiB ahead each: librdkafka's 64 MiB default queue filled up with
     * enrollments on a catch-up and stayed in the peak RSS. */
    const topic_reader_opts feed_opts = {.name = "ispeed-collector-feed", .fetch_wait_max_ms = 10, .queue_kbytes = 1024};
    int code;
    if (!(c.agents_feed = topic_reader_new_opts(c.bootstrap, &c.props, c.agents_topic, &feed_opts, &code, err, sizeof err))) {
        fprintf(stderr, "ispeed-collector: %s\n", err);
        goto out;
    }
    if (topic_reader_catch_up(c.agents_feed, 60000, pipeline_apply_enrollment, &c, err, sizeof err) < 0) {
        strncat(err, "; continuing", sizeof err - strlen(err) - 1);
        collector_feed_failed(&c, "agents", err);
    }
    log_info(COMP, "agents loaded count=%zu", agents_count(c.agents));
    char alerts_topic[192];
    kafka_topic_name(alerts_topic, sizeof alerts_topic, c.prefix, "alerts");
    if (!(c.alerts_feed = topic_reader_new_opts(c.bootstrap, &c.props, alerts_topic, &feed_opts, &code, err, sizeof err))) {
        fprintf(stderr, "ispeed-collector: %s\n", err);
        goto out;
    }

    /* Checkpoints: <prefix>collector.state is read on every assignment. */
    if (!(c.ckpts = hashmap_new(NULL))) {
        fprintf(stderr, "ispeed-collector: out of memory\n");
        goto out;
    }

    if (c.http_addr && !(c.http = collector_http_new(c.base, c.http_addr, c.m, err, sizeof err))) {
        fprintf(stderr, "ispeed-collector: %s\n", err);
        goto out;
    }
    if (c.http) collector_http_set_quota(c.http, quotaview_json, &c);
    if (consumer_start(&c, err, sizeof err) < 0) {
        fprintf(stderr, "ispeed-collector: %s\n", err);
        goto out;
    }
    log_info(COMP, "group join requested t_ms=%lld", (long long)vntime_now_ms());
    /* While the group forms (seconds after a crash: the dead member's session
     * must time out first), the bulk of the checkpoints is read; the
     * assignment then reads only what was written since. */
    if (state_read(&c, err, sizeof err) < 0)
        log_warn(COMP, "%s; reading the checkpoints again at the assignment", err);
    c.ev_poll = add_timer(&c, 100, on_poll);
    c.ev_ckpt = add_timer(&c, CKPT_TICK_MS, on_checkpoint);
    c.ev_eval = add_timer(&c, (int)c.eval_interval_ms, on_eval);
    c.ev_sigint = evsignal_new(c.base, SIGINT, on_signal, &c);
    c.ev_sigterm = evsignal_new(c.base, SIGTERM, on_signal, &c);
    if (!c.ev_poll || !c.ev_ckpt || !c.ev_eval || !c.ev_sigint || !c.ev_sigterm || event_add(c.ev_sigint, NULL) < 0 ||
        event_add(c.ev_sigterm, NULL) < 0) {
        fprintf(stderr, "ispeed-collector: cannot set up the event loop\n");
        goto out;
    }
    log_info(COMP, "started group=%s topic=%s units=%zu depth=%d target=%u replay=%d http=%s", c.group,
             c.samples_topic, registry_size(c.reg), registry_depth(c.reg), c.qcfg.target, c.icfg.replay,
             c.http_addr ? c.http_addr : "-");
    log_info(COMP, "trust enrollment=%s authorities=%zu attestation=%s servers=%zu prefix_daily_cap=%u",
             c.enrollment == ENROLL_TOKEN ? "token" : "open", c.authorities ? trust_keys_count(c.authorities) : 0,
             c.attestation == ATTEST_REQUIRED ? "required" : "optional",
             c.servers ? trust_keys_count(c.servers) : 0, c.icfg.prefix_daily_cap);

    c.rc = 0;
    if (event_base_dispatch(c.base) < 0) c.rc = 1;
    signal(SIGALRM, on_close_watchdog);
    alarm((CLOSE_BUDGET_MS * 4) / 1000);
    log_info(COMP, "stopped counted=%llu rejected_dlq=%llu", (unsigned long long)metrics_get(c.m, M_SAMPLES_COUNTED),
             (unsigned long long)metrics_get(c.m, M_DLQ));
out:
    collector_close(&c);
    return c.rc;
}
