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
#include "trust.h"

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
    REJECT_COMMUNE_MISMATCH,   /* commune is not the one the agent enrolled for */
    REJECT_ZERO_RATE,          /* an "ok" test that moved nothing */
    REJECT_UNATTESTED,         /* no receipt, and --attestation required */
    REJECT_BAD_RECEIPT,        /* receipt malformed, from an unlisted server, badly signed, or of another sample */
    REJECT_RECEIPT_RATE,       /* the receipt's bytes cannot carry the reported bytes and rates */
    REJECT_TOKEN_EXPIRED,      /* the agent's first counted sample came after its token expired (ingest.c) */
    REJECT_TOKEN_USED_UP,      /* the agent's token has no use left (ingest.c) */
    REJECT_PREFIX_CAP,         /* the client prefix is over its daily cap for the commune (ingest.c) */
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

/* Attestation (SPEC: Trust): off (no receipt is looked at: tests and
 * tools that predate receipts), optional (unattested samples are valid but
 * flagged, so they are counted apart), required (no receipt, no count). */
enum validate_attestation { VALIDATE_ATTEST_OFF = 0, VALIDATE_ATTEST_OPTIONAL, VALIDATE_ATTEST_REQUIRED };

/* The agent's goodput is within 3% of the link's (bench/accuracy.sh: every
 * ratio in [0.97, 1.03]), and the server counts application bytes, which
 * are at least what the agent read: reported bytes may exceed the
 * receipt's by that 3%. */
#define VALIDATE_RECEIPT_TOLERANCE 0.03
/* The agent ends an upload with a reset, which discards what the server's
 * kernel acknowledged but the server had not read: per stream at most one
 * receive buffer; 8 MiB covers Linux's autotuning at the rates measured
 * (2.9 MB seen over loopback at 5 Gbit/s, tests/integration/attested_sample.sh). */
#define VALIDATE_RECEIPT_UP_SLACK_PER_STREAM (8ull << 20)
/* The shortest window a goodput is measured over: ramp-up ends at the
 * latest at half a direction's duration, and the shortest duration is 1 s
 * (agent/measure.h). A rate r needs at least r x 0.5 s of bytes. */
#define VALIDATE_MIN_WINDOW_MS 500

typedef struct validate_ctx {
    const registry_t *reg;
    agents_t *agents; /* agents_find verifies on first use */
    const merges_t *merges; /* may be NULL */
    int bind_commune;       /* a sample counts only for the commune its enrollment names */
    int reject_zero_rate;   /* an "ok" sample with a zero rate is implausible */
    enum validate_attestation attestation;
    const trust_keys *servers; /* servers.csv; NULL: no receipt verifies */
} validate_ctx;

typedef struct validated {
    Ispeed__V1__Sample *sample; /* owned; free with validated_clear */
    const registry_unit *commune;
    enum quota_network network;
    int is_5g;
    /* A verified receipt: the server's own times, which decide the month
     * and lateness (never a timestamp the producer sets). */
    int attested;
    int64_t attested_start_ms, attested_end_ms;
    char client_prefix[TRUST_PREFIX_MAX + 1];
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

/* The one signature a sample needs checked, for a caller that verifies
 * ahead on other threads: the receipt's, by its listed server, when
 * attestation is on and the sample carries one (then sig_hint.public_key is
 * the server's key), else the agent's over the sample (agent_key). Fills
 * key, msg (up to msgsz) and sig; 0, or -1 when there is nothing worth
 * verifying ahead (malformed or unlisted receipt: validate says why). */
int validate_sig_job(const validate_ctx *v, const Ispeed__V1__SignedSample *ss,
                     const uint8_t agent_key[SIGN_PUBLIC_BYTES], uint8_t key[SIGN_PUBLIC_BYTES], uint8_t *msg,
                     size_t msgsz, size_t *msglen, const uint8_t **sig, size_t *siglen);

/* validate_sample with an optional hint (NULL: same as validate_sample). The
 * outcome is the same as without the hint. */
enum reject_reason validate_sample_ex(const validate_ctx *v, const void *key, size_t keylen, const void *value,
                                      size_t len, const sig_hint *hint, int64_t now_ms, validated *out,
                                      char *detail, size_t detailsz);
void validated_clear(validated *out);

#endif
