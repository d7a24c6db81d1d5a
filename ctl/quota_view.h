/* The latest QuotaStatus per key of a province's quota topic, filtered and
 * printed as a table, CSV or JSON, most-behind unit first. */
#ifndef ISPEED_CTL_QUOTA_VIEW_H
#define ISPEED_CTL_QUOTA_VIEW_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ispeed.pb-c.h"

enum quota_format { QUOTA_FORMAT_TABLE, QUOTA_FORMAT_CSV, QUOTA_FORMAT_JSON };

typedef struct quota_filter {
    char month[8];       /* YYYY-MM; required */
    Ispeed__V1__Level level;     /* LEVEL_UNSPECIFIED: every level */
    Ispeed__V1__Network network; /* NETWORK_UNSPECIFIED: both classes */
    int behind_only;     /* only units in state BEHIND */
    /* When non-zero, "expected" in the table and the order, and the demand
     * in CSV and JSON (needed, days_left, rate_needed, rate_current,
     * will_make_it: common/demand.c), are taken at this time, not at the
     * status's updated_ms: a unit that has not moved for days is further
     * behind now than its last status says. */
    int64_t now_ms;
    /* --by-operator: the count per operator too (QuotaStatus.operators):
     * CSV one row per unit, class and operator with the columns operator,
     * operator_count added at the end; JSON an "operators" object; the
     * table a line per operator under each unit. Off, the output is as it
     * always was. */
    int by_operator;
} quota_filter;

typedef struct quota_view quota_view_t;

quota_view_t *quota_view_new(const quota_filter *filter);
void quota_view_free(quota_view_t *qt);

/* Records the value as the latest state of key, replacing an earlier one
 * (the topic is compacted on a real cluster, not on the embedded one, so
 * the last value read wins). A NULL value is a tombstone and forgets key.
 * Values of other months are not kept. Returns -1 if the value does not
 * decode, with a message; the table is unchanged then. */
int quota_view_put(quota_view_t *qt, const char *key, size_t keylen, const void *value, size_t len,
                    char *err, size_t errsz);

/* Units matching the filter. */
size_t quota_view_count(const quota_view_t *qt);

/* 1 when key ("<unit>/<YYYY-MM>/<network>") holds a status. */
int quota_view_has(const quota_view_t *qt, const char *key);

/* Calls fn for every matching unit's latest status, in no order. */
void quota_view_foreach(const quota_view_t *qt, void (*fn)(const Ispeed__V1__QuotaStatus *qs, void *ctx), void *ctx);

/* Prints the matching units sorted by count - expected now ascending (the
 * most behind first). title heads the table format and is ignored by the others.
 * -1 only when out of memory. */
int quota_view_print(const quota_view_t *qt, enum quota_format fmt, const char *title, FILE *out);

/* The matching statuses in the print order (most behind first), as an
 * array the caller frees (not its elements, which the table owns until the
 * next put). -1 when out of memory. */
int quota_view_rows(const quota_view_t *qt, Ispeed__V1__QuotaStatus ***rows, size_t *n);
/* The expected count of qs at the filter's now_ms (its own expected when 0). */
double quota_view_expected_now(const quota_view_t *qt, const Ispeed__V1__QuotaStatus *qs);
/* Moves the filter's now_ms (a live view's clock runs on). */
void quota_view_set_now(quota_view_t *qt, int64_t now_ms);

/* Names shared with the other subcommands' output. */

#endif
