/* The figures of the monthly report, computed from the QuotaStatus values of
 * the quota topics (and the registry, when there is one): per province and
 * nationally, per network class, the samples and how many provinces,
 * districts and communes met their target; the units still below it; and
 * each province's count at the end of every day of the month. No Kafka, no
 * clock: tests feed it records. */
#ifndef ISPEED_CTL_REPORT_DATA_H
#define ISPEED_CTL_REPORT_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "registry.h"

#define REPORT_NETS 2 /* index 0 fixed broadband, 1 mobile broadband */
#define REPORT_DEFAULT_TARGET 300

typedef struct report_unit {
    const char *code, *name;
    const char *parent;   /* code of the unit above, "" for a province */
    const char *province; /* code of its province */
    int level;            /* Ispeed__V1__Level: 1 province, 2 district, 3 commune */
    int seen[REPORT_NETS]; /* a QuotaStatus was read for this class */
    uint64_t count[REPORT_NETS];
    uint32_t target[REPORT_NETS];
    uint32_t agents[REPORT_NETS]; /* distinct agents (QuotaStatus.distinct_agents) */
    /* Valid samples without a server's receipt (QuotaStatus.unattested_count,
     * collector --attestation optional): counted apart, never in count, so
     * never toward the target. */
    uint64_t unattested[REPORT_NETS];
} report_unit;

typedef struct report_figures {
    uint64_t samples;
    size_t provinces, provinces_met;
    size_t districts, districts_met;
    size_t communes, communes_met;
    /* Distinct agents (the province's own count, or the sum of its
     * communes'; nationally the sum of the provinces'), and the communes
     * that met the target with samples of one agent only: 300 samples from
     * one machine are not 300 samples of a commune. */
    uint64_t agents;
    size_t communes_met_one_agent;
    /* Unattested samples, as samples is summed (the province's own, else its
     * communes'; nationally the provinces'), and never part of samples or of
     * any "met". */
    uint64_t unattested;
} report_figures;

typedef struct report_province {
    const report_unit *unit;
    report_figures fig[REPORT_NETS];
    /* Count at the end of each day of the month (days entries), -1 where
     * not known (after the last value read). */
    int64_t *daily[REPORT_NETS];
    /* Every value read was written after the month ended (a back-fill with
     * --replay): the series knows only the final count. */
    int only_after[REPORT_NETS];
} report_province;

typedef struct report report_t;

/* month is YYYY-MM; units without a QuotaStatus get default_target. */
report_t *report_new(const char *month, uint32_t default_target, char *err, size_t errsz);
void report_free(report_t *r);

/* Makes every unit of the registry (only those of province only_province
 * when not NULL) part of the report, with 0 samples until a status says
 * otherwise. Without a registry the report holds the units it is told
 * about. -1 when out of memory. */
int report_add_registry(report_t *r, const registry_t *reg, const char *only_province);

/* One record of a quota topic. The last value read per key wins (keys of a
 * unit live on one partition, read in order); a NULL value forgets the key.
 * Values of other months and, with a registry, of units it lacks are skipped
 * (the latter counted in report_unknown). -1 if the value does not decode. */
int report_put(report_t *r, const char *key, size_t keylen, const void *value, size_t len, char *err,
               size_t errsz);

/* One valid sample of a province's commune (from the samples topic), for
 * the daily series: once any is added, the series counts samples by the day
 * they were measured instead of following the province's status values.
 * Samples of provinces not in the report or of other months are ignored.
 * -1 when out of memory. */
int report_add_sample(report_t *r, const char *province, int network, int64_t start_ms);

/* Computes the figures once every record is in. now_ms bounds the daily
 * series of the current month. May be called again after more records
 * (pointers from the accessors below are then stale). -1 when out of
 * memory. */
int report_finish(report_t *r, int64_t now_ms);

size_t report_province_count(const report_t *r);
const report_province *report_province_at(const report_t *r, size_t i);
/* Provinces sorted by code; NULL if absent. */
const report_province *report_province_find(const report_t *r, const char *code);
const report_figures *report_national(const report_t *r, int net);
/* Units sorted by province, level and code. */
size_t report_unit_count(const report_t *r);
const report_unit *report_unit_at(const report_t *r, size_t i);
const report_unit *report_unit_find(const report_t *r, const char *code);
int report_unit_met(const report_unit *u, int net);
int report_has_districts(const report_t *r);
int report_has_registry(const report_t *r);
/* Some unit has unattested samples: the outputs show them only then (as
 * "ispeedctl quota" does), so reports of a collector with --attestation
 * required keep their columns. Valid after report_finish. */
int report_has_unattested(const report_t *r);
int report_days(const report_t *r);
const char *report_month(const report_t *r);
size_t report_unknown(const report_t *r);
/* The latest updated_ms of the statuses read, 0 if none. */
int64_t report_updated_ms(const report_t *r);

#endif
