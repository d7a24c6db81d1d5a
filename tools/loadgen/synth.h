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
#include "trust.h"

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
/* The same, carrying an enrollment token (NULL or "": none). */
size_t synth_enrollment_token(const synth_agent *a, int64_t now_ms, const char *token, uint8_t *buf,
                              size_t bufsz);

/* What a real authority and an attesting server would do for synthetic
 * agents, so a collector with the secure defaults (--enrollment token,
 * --attestation required) counts them: a national authority ("*") issues
 * each agent a one-use token for its commune, and a server key signs a
 * receipt for each sample whose bytes and times are the sample's own. */
typedef struct synth_trust {
    uint8_t auth_pk[SIGN_PUBLIC_BYTES], auth_sk[SIGN_SECRET_BYTES];
    uint8_t srv_pk[SIGN_PUBLIC_BYTES], srv_sk[SIGN_SECRET_BYTES];
    char server_id[SIGN_AGENT_ID_CHARS + 1];
    int64_t issued_ms, expires_ms; /* the tokens' validity */
    uint32_t token_uses;           /* 1 unless a test says otherwise */
    char token_id[TRUST_TOKEN_ID_CHARS + 1]; /* "" : derived from the agent's key */
    /* The receipt's bytes, in thousandths of the sample's: 1000 unless a
     * test forges a receipt that cannot carry the rates. */
    uint32_t bytes_permille;
} synth_trust;

/* Loads (creating when missing, mode 0600) the two key files. */
int synth_trust_load(synth_trust *t, const char *authority_key, const char *server_key, int64_t issued_ms,
                     int64_t expires_ms, char *err, size_t errsz);
/* Writes dir/authorities.csv ("*,<hex>,loadgen-authority") and
 * dir/servers.csv ("<id>,<hex>,loadgen-server"), replacing them. */
int synth_trust_write(const synth_trust *t, const char *dir, char *err, size_t errsz);
/* A one-use token for a's commune; its id derives from a's key, so the
 * same agent gets the same token on every run. 0, or -1. */
int synth_token(const synth_trust *t, const synth_agent *a, char *out, size_t outsz);

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
/* synth_sign plus, with t, the server's receipt of the sample: the agent's
 * key, a nonce from the agent and seq, the sample's start and end, its
 * bytes down and up as the server's bytes sent and received, and the client
 * prefix 10.x.y.0/24 of prefix_index (one per agent: the collector caps
 * samples per prefix). t NULL: synth_sign. */
size_t synth_sign_attested(const Ispeed__V1__Sample *s, const synth_agent *a, const synth_trust *t,
                           uint32_t prefix_index, uint8_t *buf, size_t bufsz);

#endif
