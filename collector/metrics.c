/* One table names every metric once; render walks it. */
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Enrollment reasons are words of agents.c and common/trust.c (a dozen);
 * a bounded table keeps an unexpected one from growing it. */
#define ENROLL_REASONS_MAX 32
#define ENROLL_REASON_CHARS 40

struct metrics {
    uint64_t counter[M__COUNT];
    uint64_t rejected[REJECT__COUNT];
    char enroll_reason[ENROLL_REASONS_MAX][ENROLL_REASON_CHARS];
    uint64_t enroll_rejected[ENROLL_REASONS_MAX];
    int nenroll;
    double gauge[G__COUNT];
};

static const struct {
    const char *name, *help, *label; /* label: a fixed {label} or NULL */
} counter_def[M__COUNT] = {
    [M_SAMPLES_CONSUMED] = {"ispeed_collector_samples_consumed_total", "Records read from the samples topic.", NULL},
    [M_SAMPLES_ACCEPTED] = {"ispeed_collector_samples_accepted_total", "Samples that passed validation.", NULL},
    [M_SAMPLES_COUNTED] = {"ispeed_collector_samples_counted_total", "Valid samples counted towards a quota.", NULL},
    [M_SAMPLES_LATE] = {"ispeed_collector_samples_uncounted_total", "Valid samples not counted, by why.",
                        "why=\"late\""},
    [M_SAMPLES_FAILED_TEST] = {"ispeed_collector_samples_uncounted_total", NULL, "why=\"failed_test\""},
    [M_SAMPLES_OVER_CAP] = {"ispeed_collector_samples_uncounted_total", NULL, "why=\"daily_cap\""},
    [M_SAMPLES_UNATTESTED] = {"ispeed_collector_samples_unattested_total",
                              "Valid samples without a receipt, counted apart (--attestation optional).", NULL},
    [M_ENROLLMENTS_ACCEPTED] = {"ispeed_collector_enrollments_total", "Agent enrollments read, by result.",
                                "result=\"accepted\""},
    [M_ENROLLMENTS_REJECTED] = {"ispeed_collector_enrollments_total", NULL, "result=\"rejected\""},
    [M_QUOTA_UPDATES] = {"ispeed_collector_quota_updates_total", "QuotaStatus records produced.", NULL},
    [M_ALERTS] = {"ispeed_collector_alerts_total", "Alerts produced.", NULL},
    [M_DLQ] = {"ispeed_collector_dlq_total", "Records produced to the dead-letter queue.", NULL},
    [M_PRODUCE_ERRORS] = {"ispeed_collector_produce_errors_total", "Produce calls or deliveries that failed.",
                          NULL},
    [M_OUTQ_STALLS] = {"ispeed_collector_output_queue_stalls_total",
                       "Waits for the brokers to take produced records that ran out of time (records then queue "
                       "in memory).",
                       NULL},
    [M_TXN_COMMITS] = {"ispeed_collector_transactions_total",
                       "Output transactions (real cluster), by result: fenced = refused because the group moved "
                       "on or our transactional.id was taken.",
                       "result=\"committed\""},
    [M_TXN_ABORTS] = {"ispeed_collector_transactions_total", NULL, "result=\"aborted\""},
    [M_TXN_FENCED] = {"ispeed_collector_transactions_total", NULL, "result=\"fenced\""},
    [M_SIG_CHECKS] = {"ispeed_collector_signature_checks_total",
                      "Ed25519 signatures checked on the verify threads (receipts, samples, enrollments).", NULL},
    [M_SIG_CHECK_CPU_US] = {"ispeed_collector_signature_check_cpu_microseconds_total",
                            "CPU time the verify threads spent on those checks (their CPU clock, not the wall "
                            "clock).",
                            NULL},
    [M_AGENT_CATCHUPS] = {"ispeed_collector_agent_catchups_total",
                          "Catch-ups of the agents table caused by an unknown agent (one per batch at most).", NULL},
    [M_AGENT_CATCHUP_WAITS] = {"ispeed_collector_agent_catchup_waits_total",
                               "Batches held until the next catch-up of the agents table was allowed, or "
                               "after one failed.", NULL},
    [M_DRAIN_LEFT] = {"ispeed_collector_drain_left_total",
                      "Partitions whose records a rebalance or shutdown left to be read again (the agents table "
                      "could not be caught up).", NULL},
    [M_INHERIT_WAIT_ENDED] = {"ispeed_collector_inherited_transaction_waits_total",
                              "Assignments that found the previous owner's transaction still open (its offsets "
                              "pending in the group) and waited for its end, by result.",
                              "result=\"ended\""},
    [M_INHERIT_WAIT_TIMEOUT] = {"ispeed_collector_inherited_transaction_waits_total", NULL,
                                "result=\"timed_out\""},
    [M_INHERIT_WAIT_ERROR] = {"ispeed_collector_inherited_transaction_waits_total", NULL, "result=\"error\""},
    [M_AGENTS_EXPIRED] = {"ispeed_collector_agents_expired_total",
                          "Failed or never-verified enrollments removed from the agents table.", NULL},
    [M_CHECKPOINTS] = {"ispeed_collector_checkpoints_total", "Checkpoint records produced.", NULL},
    [M_RESTORES] = {"ispeed_collector_restores_total", "Partitions restored from a checkpoint.", NULL},
    [M_CHECKPOINT_FAIL_READ_OOM] = {"ispeed_collector_checkpoint_failures_total",
                                    "Checkpoints not kept or not written, by reason (each logged; a write is "
                                    "retried at the next pass).",
                                    "reason=\"read_out_of_memory\""},
    [M_CHECKPOINT_FAIL_ENCODE] = {"ispeed_collector_checkpoint_failures_total", NULL, "reason=\"encode\""},
    [M_CHECKPOINT_FAIL_PRODUCE] = {"ispeed_collector_checkpoint_failures_total", NULL, "reason=\"produce\""},
    [M_DIGEST_FAIL_OOM] = {"ispeed_collector_digest_failures_total",
                           "Province digests not sent, by reason (each logged and retried at the next evaluation).",
                           "reason=\"out_of_memory\""},
    [M_DIGEST_FAIL_PRODUCE] = {"ispeed_collector_digest_failures_total", NULL, "reason=\"produce\""},
    [M_FEED_FAIL_AGENTS] = {"ispeed_collector_feed_failures_total",
                            "Reads of a whole topic (agents, alerts) that failed or did not reach its end in time, "
                            "by topic (each logged).",
                            "topic=\"agents\""},
    [M_FEED_FAIL_ALERTS] = {"ispeed_collector_feed_failures_total", NULL, "topic=\"alerts\""},
};

static const struct {
    const char *name, *help;
} gauge_def[G__COUNT] = {
    [G_CAUGHT_UP] = {"ispeed_collector_caught_up", "1 once every assigned partition has been read to its end."},
    [G_AGENTS] = {"ispeed_collector_agents", "Enrolled agents known."},
    [G_ASSIGNED_PARTITIONS] = {"ispeed_collector_assigned_partitions", "Samples partitions assigned."},
    [G_QUOTA_DIRTY] = {"ispeed_collector_quota_pending", "Quota counters waiting to be published."},
    [G_UNCOMMITTED] = {"ispeed_collector_uncommitted_records",
                       "Output records of the open transaction, not yet visible to read_committed readers."},
    [G_OUTPUT_QUEUE] = {"ispeed_collector_output_queue_records",
                        "Records produced (quota, alerts, checkpoints, DLQ) not yet acknowledged by the broker."},
    [G_CONSUMER_LAG] = {"ispeed_collector_consumer_lag_records",
                        "Samples records behind the high watermarks of the assigned partitions."},
    [G_CHECKPOINT_AGE] = {"ispeed_collector_checkpoint_age_seconds", "Seconds since the last checkpoint was written."},
    [G_UNITS_BEHIND] = {"ispeed_collector_units_behind",
                        "Unit and network-class counters BEHIND this month in the owned provinces."},
};

metrics_t *metrics_new(void) { return calloc(1, sizeof(metrics_t)); }
void metrics_free(metrics_t *m) { free(m); }
void metrics_inc(metrics_t *m, enum metric which) { m->counter[which]++; }
void metrics_add(metrics_t *m, enum metric which, uint64_t n) { m->counter[which] += n; }
void metrics_reject(metrics_t *m, enum reject_reason reason) {
    if (reason > REJECT_NONE && reason < REJECT__COUNT) m->rejected[reason]++;
}
void metrics_gauge(metrics_t *m, enum gauge which, double value) { m->gauge[which] = value; }
uint64_t metrics_get(const metrics_t *m, enum metric which) { return m->counter[which]; }
uint64_t metrics_rejected(const metrics_t *m, enum reject_reason reason) { return m->rejected[reason]; }

void metrics_enrollment_reject(metrics_t *m, const char *reason) {
    int i;
    for (i = 0; i < m->nenroll; i++)
        if (!strcmp(m->enroll_reason[i], reason)) break;
    if (i == m->nenroll) {
        if (m->nenroll < ENROLL_REASONS_MAX) {
            snprintf(m->enroll_reason[m->nenroll++], ENROLL_REASON_CHARS, "%s", reason);
        } else {
            i = ENROLL_REASONS_MAX - 1;
            snprintf(m->enroll_reason[i], ENROLL_REASON_CHARS, "other");
        }
    }
    m->enroll_rejected[i]++;
}

char *metrics_render(const metrics_t *m) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    for (int i = 0; i < M__COUNT; i++) {
        if (counter_def[i].help)
            fprintf(f, "# HELP %s %s\n# TYPE %s counter\n", counter_def[i].name, counter_def[i].help,
                    counter_def[i].name);
        if (counter_def[i].label)
            fprintf(f, "%s{%s} %llu\n", counter_def[i].name, counter_def[i].label,
                    (unsigned long long)m->counter[i]);
        else
            fprintf(f, "%s %llu\n", counter_def[i].name, (unsigned long long)m->counter[i]);
        if (i == M_SAMPLES_ACCEPTED) {
            /* Every reason is listed, zero included, so a rate() never starts
             * from a missing series. */
            fprintf(f,
                    "# HELP ispeed_collector_samples_rejected_total Samples sent to the DLQ, by reason.\n"
                    "# TYPE ispeed_collector_samples_rejected_total counter\n");
            for (int r = REJECT_NONE + 1; r < REJECT__COUNT; r++)
                fprintf(f, "ispeed_collector_samples_rejected_total{reason=\"%s\"} %llu\n", reject_reason_name(r),
                        (unsigned long long)m->rejected[r]);
        }
    }
    fprintf(f, "# HELP ispeed_collector_enrollments_rejected_total Enrollment records refused, by reason (as "
               "read: also in the DLQ; at first use: logged).\n"
               "# TYPE ispeed_collector_enrollments_rejected_total counter\n");
    for (int i = 0; i < m->nenroll; i++)
        fprintf(f, "ispeed_collector_enrollments_rejected_total{reason=\"%s\"} %llu\n", m->enroll_reason[i],
                (unsigned long long)m->enroll_rejected[i]);
    for (int i = 0; i < G__COUNT; i++)
        fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n%s %g\n", gauge_def[i].name, gauge_def[i].help, gauge_def[i].name,
                gauge_def[i].name, m->gauge[i]);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
