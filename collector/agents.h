/* The enrolled agents: agent id -> Ed25519 public key, built from the
 * ispeed.agents topic. An enrollment counts only if its id is the one derived
 * from its key (checked as it is read) and its own signature verifies
 * (checked the first time a sample names the agent). */
#ifndef ISPEED_COLLECTOR_AGENTS_H
#define ISPEED_COLLECTOR_AGENTS_H

#include <stddef.h>
#include <stdint.h>

#include "registry.h"
#include "sign.h"
#include "trust.h"

typedef struct agents agents_t;

typedef struct agent_info {
    uint8_t public_key[SIGN_PUBLIC_BYTES];
    char *commune; /* commune it enrolled for: its samples count only there (validate.c) */
    /* The token it enrolled with, when tokens are required (all zero
     * otherwise): uses are counted per province as samples arrive
     * (ingest.c), expiry is judged at the first sample's time. */
    char token_id[TRUST_TOKEN_ID_CHARS + 1];
    uint32_t token_uses;
    int64_t token_expires_ms;
} agent_info;

agents_t *agents_new(void);
void agents_free(agents_t *ag);

/* Enrollment policy (SPEC: Trust). Without agents_set_trust (tests and
 * tools that predate tokens): any well-signed enrollment counts and a
 * tombstone withdraws. */
typedef struct agents_trust {
    int require_token;               /* --enrollment token (the default) vs open */
    const trust_keys *authorities;   /* --authorities; tokens of keys not listed are refused */
    const registry_t *reg;           /* communes must be in it; a token's province is its commune's */
    int signed_withdrawals;          /* an unsigned tombstone changes nothing */
} agents_trust;
/* The pointers must outlive the table. */
void agents_set_trust(agents_t *ag, const agents_trust *t);

/* Called once for each enrollment rejected when it is first checked (its
 * signature, its token: after agents_apply stored it), with the DLQ-style
 * reason word ("bad_signature", "token_missing", "token_expired", ...) and
 * the partition and offset agents_apply_at was given (-1 for agents_apply):
 * the collector logs, counts and sends them to the DLQ. */
typedef void (*agents_reject_fn)(const char *agent_id, const char *reason, int32_t partition, int64_t offset,
                                 void *ctx);
void agents_set_reject_hook(agents_t *ag, agents_reject_fn fn, void *ctx);

/* Longest enrollment record accepted (a token of 16 communes is ~600
 * characters): the 900 KB enrollment of the issue is refused as it is read. */
#define AGENTS_MAX_RECORD 4096

/* Applies one record of the agents topic. value NULL is a tombstone and
 * removes the agent named by key (refused, -1, with signed_withdrawals); an
 * AgentEnrollment with its withdrawal set removes the agent when signed by
 * its key or an authority. Returns 0 when stored (or removed), -1 with the
 * reason in err (starting with a DLQ reason word: "unsigned_tombstone",
 * "bad_withdrawal", "oversized", "malformed", "bad_commune") when refused. */
int agents_apply(agents_t *ag, const void *key, size_t keylen, const void *value, size_t len, char *err,
                 size_t errsz);
/* agents_apply of the record at partition/offset of the agents topic, which
 * the reject hook is given if the enrollment fails at first use. */
int agents_apply_at(agents_t *ag, const void *key, size_t keylen, const void *value, size_t len, int32_t partition,
                    int64_t offset, char *err, size_t errsz);
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

/* Bounds (issue 11, part 6): at most max_agents entries (0: no bound; a new
 * agent's enrollment beyond it is refused, "agents_full", and no entry is
 * evicted for it), and entries that failed verification, or were never
 * verified, leave expire_ms after they were stored or failed (0: never). */
void agents_set_bounds(agents_t *ag, size_t max_agents, int64_t expire_ms);
/* Verifications one agents_expire pass may do (~50 us each): a never-verified
 * entry past its expiry is verified then, and kept if good, so an honest
 * agent that has not sent a sample yet stays enrolled; the rest wait for the
 * next pass, so the loop never stalls on a million of them. */
#define AGENTS_EXPIRE_CHECKS 256
/* Removes the entries past their expiry at now_ms; returns how many. Runs
 * on the loop's timer (main.c). */
size_t agents_expire(agents_t *ag, int64_t now_ms);
/* Enrollments whose signature did not verify, so far. */
size_t agents_rejected(const agents_t *ag);

#endif
