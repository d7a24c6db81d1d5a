/* What happens to one record of the samples topic: validate it, de-duplicate
 * it, apply the daily cap and the late rule, and count it. No Kafka here: the
 * caller hands in the record's key, value, partition and timestamp. */
#ifndef ISPEED_COLLECTOR_INGEST_H
#define ISPEED_COLLECTOR_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "agents.h"
#include "dailycap.h"
#include "dedupe.h"
#include "merges.h"
#include "quota.h"
#include "registry.h"
#include "validate.h"

typedef struct ingest_config {
    unsigned daily_cap; /* samples per agent per day (across all units with cap_across_units); 0 = no cap (SPEC default 12) */
    int cap_across_units; /* 1: the cap is per agent and day, whatever the unit (SPEC: Trust); 0: per unit too */
    int bind_commune;     /* validate_ctx.bind_commune */
    int reject_zero_rate; /* validate_ctx.reject_zero_rate */
    /* Receipts (validate_ctx.attestation, .servers). OFF by default in
     * the library (unit tests and tools that predate receipts); the
     * collector's option table sets it from --attestation, default
     * required. With a receipt, the month, the day of the cap and lateness
     * follow the server's attested times. */
    enum validate_attestation attestation;
    const trust_keys *servers;
    /* Attested samples per client address prefix (/24, /48) per commune per
     * day; 0 = no cap. Default 36: three agents' daily caps, so one
     * household with many keys cannot fill a commune (300 a month is ~10 a
     * day), while a few volunteers behind one mobile operator's NAT prefix
     * still count. */
    unsigned prefix_daily_cap;
    int replay;         /* --replay: count every sample in its month whenever it arrives */
    int64_t grace_ms;   /* after the month's end, late samples still count (until the 5th 00:00) */
} ingest_config;

void ingest_config_default(ingest_config *cfg);

enum ingest_result {
    INGEST_COUNTED = 0,   /* counted in its month */
    INGEST_LATE,          /* valid, arrived after the grace period: late_count */
    INGEST_FAILED_TEST,   /* valid, outcome not OK: never counts */
    INGEST_OVER_CAP,      /* valid, agent over its daily cap for the unit */
    INGEST_REJECTED,      /* invalid: goes to the DLQ with *reason */
    INGEST_UNATTESTED,    /* valid, no receipt, --attestation optional: counted apart (unattested_count) */
    INGEST_ERROR,         /* out of memory */
};

typedef struct ingest ingest_t;

ingest_t *ingest_new(const registry_t *reg, agents_t *agents, const merges_t *merges, quota_counts_t *qt,
                     const ingest_config *cfg, char *err, size_t errsz);
void ingest_free(ingest_t *ing);

/* arrival_ms is the record's Kafka timestamp (-1, or later than now_ms: now_ms). */
enum ingest_result ingest_sample(ingest_t *ing, int32_t partition, const void *key, size_t keylen,
                                 const void *value, size_t len, int64_t arrival_ms, int64_t now_ms,
                                 enum reject_reason *reason, char *detail, size_t detailsz);
/* ingest_sample with validate_sample_ex's hint (NULL: same as ingest_sample). */
enum ingest_result ingest_sample_ex(ingest_t *ing, int32_t partition, const void *key, size_t keylen,
                                    const void *value, size_t len, const sig_hint *hint, int64_t arrival_ms,
                                    int64_t now_ms, enum reject_reason *reason, char *detail, size_t detailsz);

/* Forgets every province last fed from partition (counters, sequence marks,
 * daily caps): the partition went to another collector, which rebuilds it.
 * Returns how many provinces were dropped. */
size_t ingest_drop_partition(ingest_t *ing, int32_t partition);

/* The partition a province's samples came from, or -1 if none yet. */
int32_t ingest_province_partition(const ingest_t *ing, const registry_unit *province);

/* A province's stream state, for checkpoints (collector/checkpoint.c). */
typedef struct ingest_province {
    dedupe_t *dd;
    dailycap_t *cap;
    int64_t max_day, pruned_day;
    struct ingest_tokens *tokens; /* enrollment-token uses taken in the province */
    dailycap_t *prefix_cap;       /* (client prefix, commune, day) counts of attested samples */
} ingest_province;

/* Token uses, for checkpoints: fn gets every (token, agent) use; stops on
 * non-zero. ingest_tokens_restore adds one back. */
void ingest_tokens_foreach(const struct ingest_tokens *t, int (*fn)(const char *token_id, const char *agent_id,
                                                                    void *ctx),
                           void *ctx);
int ingest_tokens_restore(struct ingest_tokens *t, const char *token_id, const char *agent_id);
/* 0 and fills *out when the province has state, -1 otherwise. */
int ingest_province_get(const ingest_t *ing, const registry_unit *province, ingest_province *out);
/* Forgets the province (counters and stream state; alerted states stay) and
 * gives it fresh, empty stream state fed from partition, to be filled from a
 * checkpoint. -1 when out of memory. */
int ingest_province_reset(ingest_t *ing, const registry_unit *province, int32_t partition, int64_t max_day,
                          int64_t pruned_day, ingest_province *out);

const char *ingest_result_name(enum ingest_result r);

#endif
