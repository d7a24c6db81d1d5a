/* The agent's identity and persistent counters under its state directory:
 * the Ed25519 key pair (private key mode 0600), the agent id derived from
 * it, the sample sequence number and the enrollment record. */
#ifndef ISPEED_IDENTITY_H
#define ISPEED_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "sign.h"

typedef struct identity identity_t;

enum {
    IDENTITY_CREATE = 1,    /* create dir and a new key pair on first use */
    IDENTITY_EXCLUSIVE = 2, /* hold the state directory's lock while open: one
                             * agent process per state directory, so two never
                             * test at once or share a sequence counter */
};

/* Loads the key from dir. Without IDENTITY_CREATE a missing key is an
 * error (errno ENOENT) rather than a new identity. */
identity_t *identity_open(const char *dir, int flags, char *err, size_t errsz);
void identity_close(identity_t *id);

const char *identity_agent_id(const identity_t *id);
const uint8_t *identity_public_key(const identity_t *id);
const uint8_t *identity_secret_key(const identity_t *id);

/* Reserves the next sequence number: it is on disk (fsync'd) before it is
 * returned, so a crash can skip a number but never reuse one. */
int identity_next_seq(identity_t *id, uint64_t *seq, char *err, size_t errsz);
/* The last reserved sequence number, 0 if none. */
uint64_t identity_last_seq(const identity_t *id);

/* Whether an enrollment for this commune has been delivered. */
int identity_is_enrolled(const identity_t *id, const char *commune);
int identity_mark_enrolled(identity_t *id, const char *commune, char *err, size_t errsz);
/* The commune of the last delivered enrollment, "" if none. */
const char *identity_enrolled_commune(const identity_t *id);

#endif
