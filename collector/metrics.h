/* The collector's counters and gauges, rendered in Prometheus text format
 * for /metrics. Updated only from the event loop's thread. */
#ifndef ISPEED_COLLECTOR_METRICS_H
#define ISPEED_COLLECTOR_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "validate.h"

enum metric {
    M_SAMPLES_CONSUMED,    /* records read from the samples topic */
    M_SAMPLES_ACCEPTED,    /* passed validation (counted or not) */
    M_SAMPLES_COUNTED,
    M_SAMPLES_LATE,
    M_SAMPLES_FAILED_TEST,
    M_SAMPLES_OVER_CAP,
    M_SAMPLES_UNATTESTED,  /* valid, no receipt, --attestation optional: counted apart */
    M_ENROLLMENTS_ACCEPTED,
    M_ENROLLMENTS_REJECTED,
    M_QUOTA_UPDATES,       /* QuotaStatus records produced */
    M_ALERTS,              /* Alert records produced */
    M_DLQ,                 /* records produced to the DLQ */
    M_PRODUCE_ERRORS,      /* produce calls or deliveries that failed */
    M_OUTQ_STALLS,         /* waits for deliveries that ran out (brokers not taking records) */
    M_TXN_COMMITS,         /* transactions committed */
    M_TXN_ABORTS,          /* transactions aborted (records produced again) or discarded */
    M_TXN_FENCED,          /* transactions refused because another member owns the input */
    M_SIG_CHECKS,          /* signatures checked on the sigpool */
    M_SIG_CHECK_CPU_US,    /* CPU time those checks took, microseconds */
    M_AGENT_CATCHUPS,      /* catch-ups of the agents table for an unknown agent */
    M_AGENT_CATCHUP_WAITS, /* batches held until the next catch-up was allowed */
    M_DRAIN_LEFT,          /* partitions whose records a drain left to be read again */
    M_INHERIT_WAIT_ENDED,  /* assignments that waited for a previous owner's transaction, which ended */
    M_INHERIT_WAIT_TIMEOUT, /* ... which had not ended by INHERIT_WAIT_MS: restored before it */
    M_INHERIT_WAIT_ERROR,  /* ... could not be asked about (the group coordinator did not answer) */
    M_AGENTS_EXPIRED,      /* failed or never-verified entries removed (--agent-expiry) */
    M_CHECKPOINTS,         /* checkpoint records produced */
    M_RESTORES,            /* partitions restored from a checkpoint */
    M_CHECKPOINT_FAIL_READ_OOM, /* a checkpoint record read but not kept (out of memory) */
    M_CHECKPOINT_FAIL_ENCODE,   /* a checkpoint not written: encoding failed */
    M_CHECKPOINT_FAIL_PRODUCE,  /* a checkpoint not written: the producer refused it */
    M_DIGEST_FAIL_OOM,          /* a province's digest not sent: its BEHIND list ran out of memory */
    M_DIGEST_FAIL_PRODUCE,      /* a province's digest not sent: the producer refused it */
    M_FEED_FAIL_AGENTS,         /* the agents topic not read (to its end) */
    M_FEED_FAIL_ALERTS,         /* the alerts topic not read (to its end) */
    M__COUNT
};

enum gauge {
    G_CAUGHT_UP,
    G_AGENTS,
    G_ASSIGNED_PARTITIONS,
    G_QUOTA_DIRTY,
    G_OUTPUT_QUEUE,
    G_UNCOMMITTED,      /* records of the open transaction (0 without transactions) */
    G_CONSUMER_LAG,     /* records behind the high watermarks of the assigned partitions */
    G_CHECKPOINT_AGE,   /* seconds since the last checkpoint was written */
    G_UNITS_BEHIND,     /* unit-class counters BEHIND in the current month, owned provinces */
    G__COUNT
};

typedef struct metrics metrics_t;

metrics_t *metrics_new(void);
void metrics_free(metrics_t *m);
void metrics_inc(metrics_t *m, enum metric which);
void metrics_add(metrics_t *m, enum metric which, uint64_t n);
void metrics_reject(metrics_t *m, enum reject_reason reason);
void metrics_gauge(metrics_t *m, enum gauge which, double value);
uint64_t metrics_get(const metrics_t *m, enum metric which);
uint64_t metrics_rejected(const metrics_t *m, enum reject_reason reason);
/* An enrollment refused, by its reason word (token_expired, bad_signature,
 * unsigned_tombstone, ...): ispeed_collector_enrollments_rejected_total. */
void metrics_enrollment_reject(metrics_t *m, const char *reason);
/* The whole exposition, malloc'd (NULL when out of memory). */
char *metrics_render(const metrics_t *m);

#endif
