/* Everything a sample must pass before it may count: it decodes, its agent is
 * enrolled, its signature verifies against that agent's key, its commune is
 * in the registry under the province it was keyed by, and its figures are
 * plausible. Each failure has a reason, the value of the DLQ's
 * ispeed-reject-reason header. */
#ifndef ISPEED_COLLECTOR_VALIDATE_H
#define ISPEED_COLLECTOR_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "agents.h"
#include "ispeed.pb-c.h"
#include "merges.h"
#include "quota.h"
#include "registry.h"

enum reject_reason {
    REJECT_NONE = 0,
    REJECT_DECODE_ERROR,       /* not a SignedSample, or its sample is not a Sample */
    REJECT_UNKNOWN_AGENT,      /* no valid enrollment for the agent id */
    REJECT_BAD_SIGNATURE,      /* signature does not verify against the enrolled key */
    REJECT_AGENT_MISMATCH,     /* signed Sample names another agent than the envelope */
    REJECT_UNKNOWN_COMMUNE,    /* commune not in the registry (nor mapped by --merges) */
    REJECT_PROVINCE_MISMATCH,  /* key or province field is not the commune's province */
    REJECT_IMPLAUSIBLE,        /* impossible figures, future start, duration out of range */
    REJECT_DUPLICATE,          /* (agent_id, seq) already counted */
    REJECT_DAILY_CAP,          /* valid, but the agent is over its daily cap for the unit (ingest.c) */
    REJECT__COUNT
};

/* "decode_error", "unknown_agent", ... */
const char *reject_reason_name(enum reject_reason r);

/* Plausibility bounds (SPEC: Quotas, anti-gaming). */
#define VALIDATE_MAX_FUTURE_MS (10LL * 60 * 1000) /* clock skew allowed on start_ms */
#define VALIDATE_MIN_START_MS 1577836800000LL      /* 2020-01-01: before ispeed existed */
#define VALIDATE_MAX_DURATION_MS (10U * 60 * 1000)
#define VALIDATE_MAX_BPS 100000000000ULL           /* 100 Gbit/s */
#define VALIDATE_MAX_LATENCY_MS 600000.0
#define VALIDATE_MAX_STREAMS 1024U

typedef struct validate_ctx {
    const registry_t *reg;
    agents_t *agents; /* agents_find verifies on first use */
    const merges_t *merges; /* may be NULL */
} validate_ctx;

typedef struct validated {
    Ispeed__V1__Sample *sample; /* owned; free with validated_clear */
    const registry_unit *commune;
    enum quota_network network;
    int is_5g;
} validated;

/* REJECT_NONE and *out filled, or the reason with one line in detail. */
enum reject_reason validate_sample(const validate_ctx *v, const void *key, size_t keylen, const void *value,
                                   size_t len, int64_t now_ms, validated *out, char *detail, size_t detailsz);

/* What the caller already learnt about a record before validating it, so
 * that work done ahead (on other threads, for a whole batch: sigpool.c) is
 * not done twice. */
enum sig_state {
    SIG_UNCHECKED = 0, /* no signature check done: validate verifies */
    SIG_GOOD,          /* sign_verify(public_key, ...) returned 0 */
    SIG_BAD,           /* sign_verify(public_key, ...) returned -1 */
};
typedef struct sig_hint {
    /* The record's value decoded as a SignedSample (borrowed, not freed), or
     * NULL: validate decodes it. Must be the decoding of the same value. */
    const Ispeed__V1__SignedSample *envelope;
    enum sig_state sig;
    /* The key the signature was checked against. The outcome is used only if
     * it is still the enrolled key of the agent when the sample is validated
     * (the agents table may have been refreshed in between); otherwise the
     * signature is verified again. */
    uint8_t public_key[SIGN_PUBLIC_BYTES];
} sig_hint;

/* validate_sample with an optional hint (NULL: same as validate_sample). The
 * outcome is the same as without the hint. */
enum reject_reason validate_sample_ex(const validate_ctx *v, const void *key, size_t keylen, const void *value,
                                      size_t len, const sig_hint *hint, int64_t now_ms, validated *out,
                                      char *detail, size_t detailsz);
void validated_clear(validated *out);

#endif
