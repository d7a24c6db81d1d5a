/* Monthly counts per unit and network class at every level of the registry,
 * the pace rule (ON_TRACK / BEHIND / MET) and the alerts on its transitions.
 * Pure: no Kafka, no clock of its own; every call that needs the time takes
 * now_ms, so tests fix it. */
#ifndef ISPEED_COLLECTOR_QUOTA_H
#define ISPEED_COLLECTOR_QUOTA_H

#include <stddef.h>
#include <stdint.h>

#include "demand.h"
#include "registry.h"

/* Same numbers as ispeed.v1.QuotaState and ispeed.v1.Network, so they go on
 * the wire unchanged. */
enum quota_state { QUOTA_ON_TRACK = 1, QUOTA_BEHIND = 2, QUOTA_MET = 3 };
enum quota_network { QUOTA_FIXED = 1, QUOTA_MOBILE = 2 };

typedef struct quota_config {
    uint32_t target;     /* valid samples per unit, month and class (SPEC default 300) */
    double behind_share; /* BEHIND below this share of the expected count (0.8) */
    int pace_start_day;  /* no BEHIND before this day of the month (3) */
    /* Targets by [level][class]: class 0 is both, 1 fixed, 2 mobile; 0 =
     * unset. The most specific set one wins: unit (quota_set_unit_target),
     * level and class, level, class, then `target`. */
    uint32_t level_target[4][3];
} quota_config;

void quota_config_default(quota_config *cfg);

/* The pace rule for one counter at now_ms in the month [month_start,
 * month_end). expected = target x elapsed fraction; projection = count /
 * elapsed fraction (count itself before the month starts). */
enum quota_state quota_pace(const quota_config *cfg, uint64_t count, uint32_t target, int64_t now_ms,
                            int64_t month_start, int64_t month_end, double *expected, double *projection);

/* Per-operator counts. Sample.operator is free text from volunteers, so a
 * counter names at most QUOTA_OPERATORS_NAMED operators (first come, first
 * named; there are about eight real ISPs in Vietnam) and sums the rest under
 * "other"; an empty operator is "unknown". Memory per counter is therefore
 * fixed (allocated on its first counted sample) whatever the input. */
#define QUOTA_OPERATORS_NAMED 8
#define QUOTA_OPERATORS_MAX (QUOTA_OPERATORS_NAMED + 2) /* + "other", "unknown" */
#define QUOTA_OPERATOR_NAME_MAX 32                      /* bytes of UTF-8, NUL not included */
#define QUOTA_OPERATOR_OTHER "other"
#define QUOTA_OPERATOR_UNKNOWN "unknown"

typedef struct quota_operator_count {
    char name[QUOTA_OPERATOR_NAME_MAX + 1];
    uint64_t count;
} quota_operator_count;

/* The bucket name of a raw Sample.operator (NULL allowed) into out:
 * control characters and runs of blanks become one space, leading and
 * trailing blanks go, invalid UTF-8 bytes become '?', the result is cut to
 * QUOTA_OPERATOR_NAME_MAX bytes on a character boundary; the well-known
 * Vietnamese ISPs get their usual spelling whatever the case; "" (after all
 * that) is "unknown", and "other"/"unknown" in any case are those buckets.
 * Two names are the same operator when they match ignoring ASCII case. */
void quota_operator_normalise(const char *in, char out[QUOTA_OPERATOR_NAME_MAX + 1]);

/* A unit's counter as published on ispeed.quota.<province>. */
typedef struct quota_status {
    const registry_unit *unit;
    char month[8];
    enum quota_network network;
    uint64_t count, late_count, count_5g;
    uint64_t unattested_count; /* --attestation optional: counted apart, never in count */
    uint32_t target;
    double expected, projection;
    enum quota_state state;
    int64_t updated_ms;
    /* Medians of the counted samples (from a log-bucketed histogram: within
     * about 5%); 0 when none carried the figure. */
    uint64_t median_download_bps, median_upload_bps;
    double median_latency_ms;
    /* count per operator, summing to count: named ones by count (highest
     * first, then name), then "other" and "unknown" when non-zero. */
    size_t n_operators;
    quota_operator_count operators[QUOTA_OPERATORS_MAX];
    /* Distinct agents that contributed a counted sample (distinct.c: exact
     * up to 32, estimated above), and what the counter still needs
     * (demand.c) at updated_ms. */
    uint32_t agents;
    demand demand;
} quota_status;

/* A transition, as published on ispeed.alerts. */
typedef struct quota_alert {
    quota_status status; /* state is the new state */
    enum quota_state from;
} quota_alert;

typedef struct quota_counts quota_counts_t;
typedef void (*quota_alert_fn)(const quota_alert *alert, void *ctx);
typedef void (*quota_status_fn)(const quota_status *status, void *ctx);
/* Whether this process owns (evaluates) the province. */
typedef int (*quota_owned_fn)(const registry_unit *province, void *ctx);

quota_counts_t *quota_counts_new(const registry_t *reg, const quota_config *cfg, char *err, size_t errsz);
void quota_counts_free(quota_counts_t *qt);

/* Alerts are raised only while alerting is on: the collector turns it on once
 * it has caught up with its input, so a replay never alerts. fn is called
 * from within quota_add and quota_evaluate. */
void quota_set_alerts(quota_counts_t *qt, quota_alert_fn fn, void *ctx);
void quota_set_alerting(quota_counts_t *qt, int on);

/* Counts one valid sample of commune in month ("YYYY-MM"), at the commune
 * and every unit above it, and under its operator (raw Sample.operator, NULL
 * for none: quota_operator_normalise). A late sample goes to late_count only,
 * and to no operator, so the operator counts always sum to count. Marks the
 * counters dirty and, for the current month, evaluates them. -1 on a bad
 * month or out of memory. */
int quota_add(quota_counts_t *qt, const registry_unit *commune, const char *month, enum quota_network net,
              int is_5g, int late, const char *op, int64_t now_ms);
/* Counts one valid sample without a server's receipt (--attestation
 * optional) apart: unattested_count of commune and every unit above it,
 * never count, the operators, the medians or the pace. -1 on a bad month or
 * out of memory. */
int quota_add_unattested(quota_counts_t *qt, const registry_unit *commune, const char *month,
                         enum quota_network net);

/* Records that agent_id contributed a counted sample to commune (and every
 * unit above it) in month: the distinct-agent count. Call it with
 * quota_add for samples that counted (not late ones). -1 on a bad month or
 * out of memory. */
int quota_add_agent(quota_counts_t *qt, const registry_unit *commune, const char *month, enum quota_network net,
                    const char *agent_id);

/* Re-evaluates every unit of the owned provinces in the current month, both
 * classes, so a unit without samples falls BEHIND on time. A changed state
 * raises an alert (if alerting) and marks the counter dirty. Returns the
 * number of alerts. */
size_t quota_evaluate(quota_counts_t *qt, int64_t now_ms, quota_owned_fn owned, void *ctx);

/* Calls fn once for every dirty counter (coalescing all changes since the last
 * flush) and clears the dirty set. Returns how many. */
size_t quota_flush(quota_counts_t *qt, int64_t now_ms, quota_status_fn fn, void *ctx);
/* The same for at most limit dirty counters whose last update went out at
 * least gap_ms before wall_ms (a wall clock, even when now_ms is fixed); the
 * others stay dirty, in order. Called often, it publishes a change at once
 * yet a busy unit at most once per gap, and a burst (all units, after a
 * replay) in slices the producer's queue can hold. */
size_t quota_flush_due(quota_counts_t *qt, int64_t now_ms, int64_t wall_ms, int64_t gap_ms, size_t limit,
                       quota_status_fn fn, void *ctx);
size_t quota_dirty_count(const quota_counts_t *qt);

/* Forgets the counts of a province (its input partition went to another
 * collector, which rebuilds it) and drops their pending updates; keeps the
 * last state alerted for each unit, so nothing is alerted twice should the
 * province come back. */
void quota_reset_province(quota_counts_t *qt, const registry_unit *province);

/* Sets the last alerted state of a counter without alerting, as read from
 * the alerts topic: how a restart learns what it already said. 1 when that changed the state, 0 when not,
 * -1 on a bad month or out of memory. */
int quota_seed_state(quota_counts_t *qt, const registry_unit *unit, const char *month, enum quota_network net,
                     enum quota_state state);
/* Marks a counter dirty, so the next flush publishes it. */
int quota_touch(quota_counts_t *qt, const registry_unit *unit, const char *month, enum quota_network net);

/* The counter now; 0 and fills *out even when it was never touched. */
int quota_get(quota_counts_t *qt, const registry_unit *unit, const char *month, enum quota_network net,
              int64_t now_ms, quota_status *out);

/* A per-unit target (net 0: both classes), e.g. from --targets FILE. -1
 * when out of memory. */
int quota_set_unit_target(quota_counts_t *qt, const registry_unit *unit, enum quota_network net, uint32_t target);

/* The target of a unit and class under the configuration and the per-unit
 * targets (the most specific set one). */
uint32_t quota_target(const quota_counts_t *qt, const registry_unit *unit, enum quota_network net);

/* Feeds one counted sample's figures to the medians of commune and every
 * unit above it (0 = the sample did not carry the figure). */
int quota_observe(quota_counts_t *qt, const registry_unit *commune, const char *month, enum quota_network net,
                  uint64_t download_bps, uint64_t upload_bps, double latency_ms);

/* A counter as a checkpoint keeps it. sketch/sketch_len: the medians'
 * histograms, opaque (quota_restore takes them back). */
typedef struct quota_cell_state {
    uint64_t count, late_count, count_5g;
    enum quota_state alerted; /* 0: never alerted */
    const uint8_t *sketch;
    size_t sketch_len;
    /* The operator counts, as in quota_status (valid during the call only).
     * quota_restore normalises the names again, folds what does not fit
     * into "other" and puts count minus their sum (a checkpoint written
     * before operators were counted) under "unknown". */
    const quota_operator_count *operators;
    size_t n_operators;
    /* The distinct agents, opaque (distinct_encode); empty for none or a
     * checkpoint written before they were counted. */
    const uint8_t *agents;
    size_t agents_len;
    uint64_t unattested_count; /* valid samples without a receipt (--attestation optional) */
} quota_cell_state;
typedef int (*quota_cell_fn)(const registry_unit *unit, const char *month, enum quota_network net,
                             const quota_cell_state *st, void *ctx);
/* Every counter of the province's units that holds anything, all months.
 * The sketch bytes are valid during the call only. */
void quota_foreach_province(quota_counts_t *qt, const registry_unit *province, quota_cell_fn fn, void *ctx);
/* Sets a counter as quota_foreach_province gave it and marks it dirty, so
 * the quota topic is re-published with the same key; the last state alerted
 * too, unless quota_seed_state set it since this counter last alerted. -1 on
 * a bad month, bad sketch or out of memory. */
int quota_restore(quota_counts_t *qt, const registry_unit *unit, const char *month, enum quota_network net,
                  const quota_cell_state *st);

/* Calls fn for every unit of province that is BEHIND now in the current
 * month, both classes (the statuses without operators). Returns how many. */
size_t quota_behind(quota_counts_t *qt, const registry_unit *province, int64_t now_ms, quota_status_fn fn, void *ctx);

/* The names of states and classes are the schema's: common/pbnames
 * (pbnames_quota_state, pbnames_network), whose values these enums share. */

#endif
