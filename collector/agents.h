/* The enrolled agents: agent id -> Ed25519 public key, built from the
 * ispeed.agents topic. An enrollment counts only if its id is the one derived
 * from its key (checked as it is read) and its own signature verifies
 * (checked the first time a sample names the agent). */
#ifndef ISPEED_COLLECTOR_AGENTS_H
#define ISPEED_COLLECTOR_AGENTS_H

#include <stddef.h>
#include <stdint.h>

#include "sign.h"

typedef struct agents agents_t;

typedef struct agent_info {
    uint8_t public_key[SIGN_PUBLIC_BYTES];
    char *commune; /* commune it enrolled for; informational */
} agent_info;

agents_t *agents_new(void);
void agents_free(agents_t *ag);

/* Applies one record of the agents topic. value NULL is a tombstone and
 * removes the agent named by key. Returns 0 when stored (or removed), -1 with
 * the reason in err when the enrollment is malformed. */
int agents_apply(agents_t *ag, const void *key, size_t keylen, const void *value, size_t len, char *err,
                 size_t errsz);
/* The agent's verified enrollment, or NULL (unknown, or its enrollment does
 * not verify). Verifies on first use, so it changes the table: not for
 * concurrent callers. */
const agent_info *agents_find(agents_t *ag, const char *agent_id);
size_t agents_count(const agents_t *ag);
/* Enrollments whose signature did not verify, so far. */
size_t agents_rejected(const agents_t *ag);

#endif
