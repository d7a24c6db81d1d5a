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

/* An enrollment signature to check off the agents table, for a caller that
 * checks many at once on other threads (sigpool.c): agents_peek fills it,
 * agents_check_settle applies the outcome. A copy: nothing in it points into
 * the table, which may change before the outcome comes back. */
#define AGENTS_CHECK_MSG_MAX 192
typedef struct agents_check {
    char agent_id[SIGN_AGENT_ID_CHARS + 1];
    uint64_t serial; /* which enrollment of the agent */
    uint8_t public_key[SIGN_PUBLIC_BYTES];
    uint8_t signature[SIGN_SIGNATURE_BYTES];
    size_t siglen;
    uint8_t msg[AGENTS_CHECK_MSG_MAX];
    size_t len;
} agents_check;

/* The key agents_find would return for the agent if every enrollment it
 * still has to check verified, or NULL (unknown, or rejected). Verifies
 * nothing. When that key's enrollment is unchecked, no check of it is out
 * yet and chk is not NULL, fills *chk and sets *need_check to 1 (else 0): the
 * caller verifies it and calls agents_check_settle, at most once. */
const uint8_t *agents_peek(agents_t *ag, const char *agent_id, agents_check *chk, int *need_check);
/* Applies the outcome of a check agents_peek handed out (verified: 1 if its
 * signature verified), as agents_find would have. Ignored if the agent's
 * enrollment changed meanwhile (agents_find then checks the new one). */
void agents_check_settle(agents_t *ag, const agents_check *chk, int verified);
size_t agents_count(const agents_t *ag);
/* Enrollments whose signature did not verify, so far. */
size_t agents_rejected(const agents_t *ag);

#endif
