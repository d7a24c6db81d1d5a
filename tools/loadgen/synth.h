/* Synthetic agents and their records, exactly as agent/record.c makes them:
 * an Ed25519 key (derived from a seed, so runs repeat), agent_id =
 * sign_agent_id(pk), an AgentEnrollment signed over
 * sign_enrollment_message, and SignedSamples whose signature covers the
 * serialised Sample they carry. Shared by ispeed-loadgen, the crafting tool
 * of the integration tests and the fuzz target's seed corpus. */
#ifndef ISPEED_LOADGEN_SYNTH_H
#define ISPEED_LOADGEN_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "ispeed.pb-c.h"
#include "registry.h"
#include "rng.h"
#include "sign.h"

#define SYNTH_VERSION "loadgen-" ISPEED_VERSION
#define SYNTH_RECORD_MAX 1024 /* a SignedSample of ours is ~300 bytes */

typedef struct synth_agent {
    uint8_t pk[SIGN_PUBLIC_BYTES];
    uint8_t sk[SIGN_SECRET_BYTES];
    char id[SIGN_AGENT_ID_CHARS + 1];
    const registry_unit *commune; /* the commune it enrolls for */
    int network;                  /* ISPEED__V1__NETWORK__NETWORK_FIXED or _MOBILE */
    uint64_t seq;                 /* last sequence number used */
} synth_agent;

/* The agent number `index` of run `seed`: same seed and index, same key. */
void synth_agent_init(synth_agent *a, uint64_t seed, uint64_t index, const registry_unit *commune, int network);

/* The agent's AgentEnrollment, packed into buf. Returns its length, or 0 if
 * buf is too small. */
size_t synth_enrollment(const synth_agent *a, int64_t now_ms, uint8_t *buf, size_t bufsz);

/* Everything a Sample points to lives here, so filling one allocates nothing. */
typedef struct synth_sample {
    Ispeed__V1__Sample s;
    char registry_version[16];
} synth_sample;

/* A plausible, OK test of agent a in its commune, starting at start_ms, with
 * sequence seq: figures drawn from r, access matching the agent's network. */
void synth_sample_fill(synth_sample *ss, const synth_agent *a, const char *registry_version, uint64_t seq,
                       int64_t start_ms, rng_t *r);

/* Signs the packed Sample with sk and packs the SignedSample (envelope agent
 * id: envelope_id) into buf. Returns its length, or 0 if buf is too small. */
size_t synth_sign(const Ispeed__V1__Sample *s, const uint8_t sk[SIGN_SECRET_BYTES], const char *envelope_id,
                  uint8_t *buf, size_t bufsz);

#endif
