/* Monthly counts per unit and network class at every level of the registry,
 * the pace rule (ON_TRACK / BEHIND / MET) and the alerts on its transitions.
 * Pure: no Kafka, no clock of its own; every call that needs the time takes
 * now_ms, so tests fix it. */
#ifndef ISPEED_COLLECTOR_QUOTA_H
#define ISPEED_COLLECTOR_QUOTA_H

#include <stddef.h>
#include <stdint.h>

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

/* A unit's counter as published on ispeed.quota.<province>. */
typedef struct quota_status {
    const registry_unit *unit;
    char month[8];
    enum quota_network network;
    uint64_t count, late_count, count_5g;
    uint32_t target;
    double expected, projection;
    enum quota_state state;
    int64_t updated_ms;
    /* Medians of the counted samples (from a log-bucketed histogram: within
     * about 5%); 0 when none carried the figure. */
    uint64_t median_download_bps, median_upload_bps;
    double median_latency_ms;
} quota_status;

/* A transition, as published on ispeed.alerts. */
typedef struct quota_alert {
    quota_status status; /* state is the new state */
    enum quota_state from;
} quota_alert;

typedef struct quota_table quota_table_t;
typedef void (*quota_alert_fn)(const quota_alert *alert, void *ctx);
typedef void (*quota_status_fn)(const quota_status *status, void *ctx);
/* Whether this process owns (evaluates) the province. */
typedef int (*quota_owned_fn)(const registry_unit *province, void *ctx);

quota_table_t *quota_table_new(const registry_t *reg, const quota_config *cfg, char *err, size_t errsz);
void quota_table_free(quota_table_t *qt);

/* Alerts are raised only while alerting is on: the collector turns it on once
 * it has caught up with its input, so a replay never alerts. fn is called
 * from within quota_add and quota_evaluate. */
void quota_set_alerts(quota_table_t *qt, quota_alert_fn fn, void *ctx);
void quota_set_alerting(quota_table_t *qt, int on);

/* Counts one valid sample of commune in month ("YYYY-MM"), at the commune
 * and every unit above it. A late sample goes to late_count only. Marks the
 * counters dirty and, for the current month, evaluates them. -1 on a bad
 * month or out of memory. */
int quota_add(quota_table_t *qt, const registry_unit *commune, const char *month, enum quota_network net,
              int is_5g, int late, int64_t now_ms);

/* Re-evaluates every unit of the owned provinces in the current month, both
 * classes, so a unit without samples falls BEHIND on time. A changed state
 * raises an alert (if alerting) and marks the counter dirty. Returns the
 * number of alerts. */
size_t quota_evaluate(quota_table_t *qt, int64_t now_ms, quota_owned_fn owned, void *ctx);

/* Calls fn once for every dirty counter (coalescing all changes since the last
 * flush) and clears the dirty set. Returns how many. */
size_t quota_flush(quota_table_t *qt, int64_t now_ms, quota_status_fn fn, void *ctx);
/* The same for at most limit dirty counters whose last update went out at
 * least gap_ms before wall_ms (a wall clock, even when now_ms is fixed); the
 * others stay dirty, in order. Called often, it publishes a change at once
 * yet a busy unit at most once per gap, and a burst (all units, after a
 * replay) in slices the producer's queue can hold. */
size_t quota_flush_due(quota_table_t *qt, int64_t now_ms, int64_t wall_ms, int64_t gap_ms, size_t limit,
                       quota_status_fn fn, void *ctx);
size_t quota_dirty_count(const quota_table_t *qt);

/* Forgets the counts of a province (its input partition went to another
 * collector, which rebuilds it) and drops their pending updates; keeps the
 * last state alerted for each unit, so nothing is alerted twice should the
 * province come back. */
void quota_reset_province(quota_table_t *qt, const registry_unit *province);

/* Sets the last alerted state of a counter without alerting: how a restart
 * learns what it already said. 1 when that changed the state, 0 when not,
 * -1 on a bad month or out of memory. */
int quota_seed_state(quota_table_t *qt, const registry_unit *unit, const char *month, enum quota_network net,
                     enum quota_state state);
/* Marks a counter dirty, so the next flush publishes it. */
int quota_touch(quota_table_t *qt, const registry_unit *unit, const char *month, enum quota_network net);

/* The counter now; 0 and fills *out even when it was never touched. */
int quota_get(quota_table_t *qt, const registry_unit *unit, const char *month, enum quota_network net,
              int64_t now_ms, quota_status *out);

/* A per-unit target (net 0: both classes), e.g. from --targets FILE. -1
 * when out of memory. */
int quota_set_unit_target(quota_table_t *qt, const registry_unit *unit, enum quota_network net, uint32_t target);

/* Feeds one counted sample's figures to the medians of commune and every
 * unit above it (0 = the sample did not carry the figure). */
int quota_observe(quota_table_t *qt, const registry_unit *commune, const char *month, enum quota_network net,
                  uint64_t download_bps, uint64_t upload_bps, double latency_ms);

/* A counter as a checkpoint keeps it. sketch/sketch_len: the medians'
 * histograms, opaque (quota_restore takes them back). */
typedef struct quota_cell_state {
    uint64_t count, late_count, count_5g;
    enum quota_state alerted; /* 0: never alerted */
    const uint8_t *sketch;
    size_t sketch_len;
} quota_cell_state;
typedef int (*quota_cell_fn)(const registry_unit *unit, const char *month, enum quota_network net,
                             const quota_cell_state *st, void *ctx);
/* Every counter of the province's units that holds anything, all months.
 * The sketch bytes are valid during the call only. */
void quota_foreach_province(quota_table_t *qt, const registry_unit *province, quota_cell_fn fn, void *ctx);
/* Sets a counter as quota_foreach_province gave it and marks it dirty, so
 * the quota topic is re-published with the same key. -1 on a bad month,
 * bad sketch or out of memory. */
int quota_restore(quota_table_t *qt, const registry_unit *unit, const char *month, enum quota_network net,
                  const quota_cell_state *st);

/* Calls fn for every unit of province that is BEHIND now in the current
 * month, both classes. Returns how many. */
size_t quota_behind(quota_table_t *qt, const registry_unit *province, int64_t now_ms, quota_status_fn fn, void *ctx);

const char *quota_state_name(enum quota_state s);
const char *quota_network_name(enum quota_network n);

#endif
