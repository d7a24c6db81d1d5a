/* Verification of enrollments and the table of known agents. */
#include "agents.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ispeed.pb-c.h"
#include "log.h"
#include "hashmap.h"
#include "vntime.h"

/* An enrollment's proof of possession is an Ed25519 verification (~50 us):
 * 20,000 of them took 1-2 s at every start, before any sample could be
 * counted. So an enrollment is stored as read and verified the first time a
 * sample names its agent. A later enrollment for a known agent waits beside
 * the current one and replaces it only once it verifies, so a bad record on
 * the topic cannot unseat a good key. */
struct enrollment {
    uint8_t public_key[SIGN_PUBLIC_BYTES];
    uint8_t signature[SIGN_SIGNATURE_BYTES];
    size_t siglen;
    char *commune;
    char *token;       /* as enrolled, "" for none; checked with the signature */
    uint64_t serial;   /* unique in the table's life: tells a stale check */
    int32_t partition; /* the record it was read from, for the DLQ (-1: not from a topic) */
    int64_t offset;
    int check_out;     /* handed out by agents_peek, outcome not back yet */
};

struct entry {
    agent_info info;              /* what agents_find returns once verified */
    int state;                    /* UNCHECKED, GOOD or BAD */
    struct enrollment *unchecked; /* the first enrollment, until verified */
    struct enrollment *pending;   /* a later one, until verified */
    int64_t since_ms;             /* stored, or found BAD: where its expiry counts from */
};

enum { UNCHECKED = 0, GOOD = 1, BAD = 2 };

struct agents {
    hashmap_t *byid;
    size_t rejected;
    uint64_t next_serial;
    int has_trust;
    agents_trust trust;
    agents_reject_fn on_reject; /* rejections found at first use */
    void *reject_ctx;
    size_t max_agents;  /* 0: no bound */
    int64_t expire_ms;  /* 0: never */
};

void agents_set_bounds(agents_t *ag, size_t max_agents, int64_t expire_ms) {
    ag->max_agents = max_agents;
    ag->expire_ms = expire_ms;
}

void agents_set_reject_hook(agents_t *ag, agents_reject_fn fn, void *ctx) {
    ag->on_reject = fn;
    ag->reject_ctx = ctx;
}

static void rejected_late(agents_t *ag, const struct enrollment *en, const char *agent_id, const char *reason) {
    ag->rejected++;
    if (ag->on_reject) ag->on_reject(agent_id, reason, en->partition, en->offset, ag->reject_ctx);
}

void agents_set_trust(agents_t *ag, const agents_trust *t) {
    ag->trust = *t;
    ag->has_trust = 1;
}

static void enrollment_free(struct enrollment *en) {
    if (!en) return;
    free(en->commune);
    free(en->token);
    free(en);
}

static void entry_free(void *p) {
    struct entry *e = p;
    if (!e) return;
    free(e->info.commune);
    enrollment_free(e->unchecked);
    enrollment_free(e->pending);
    free(e);
}

agents_t *agents_new(void) {
    agents_t *ag = calloc(1, sizeof *ag);
    if (!ag) return NULL;
    if (!(ag->byid = hashmap_new(NULL))) {
        free(ag);
        return NULL;
    }
    return ag;
}

void agents_free(agents_t *ag) {
    if (!ag) return;
    hashmap_free(ag->byid, entry_free);
    free(ag);
}

static int enrollment_verifies(const struct enrollment *en, const char *agent_id) {
    uint8_t msg[512];
    size_t mlen = sign_enrollment_message(en->public_key, agent_id, en->commune, msg, sizeof msg);
    return mlen > 0 && sign_verify(en->public_key, msg, mlen, en->signature, en->siglen) == 0;
}

/* Applies en's check: a good one becomes the entry's key (the signature is
 * not kept: 100 bytes an agent), a bad one is counted and dropped. Frees en. */
/* With tokens required: the enrollment's token is an authority's of the
 * commune's province (or national) and names the commune. Expiry and uses
 * are judged as samples arrive (ingest.c), at their time. 1 when it passes
 * (info filled), 0 with a log line otherwise. */
static int token_ok(const agents_t *ag, const struct enrollment *en, const char *agent_id, agent_info *info,
                    const char **reason) {
    trust_token t;
    char err[160];
    const registry_unit *c = ag->trust.reg ? registry_find(ag->trust.reg, en->commune) : NULL;
    int rc;
    if (!c || c->level != REGISTRY_COMMUNE) {
        log_warn("agents", "enrollment rejected agent=%s reason=bad_commune commune=%.16s", agent_id, en->commune);
        *reason = "bad_commune";
        return 0;
    }
    if (!en->token || !en->token[0]) {
        log_warn("agents", "enrollment rejected agent=%s reason=token_missing", agent_id);
        *reason = "token_missing";
        return 0;
    }
    /* INT64_MIN: never expired here; the sample's time decides. */
    if ((rc = trust_token_decode(en->token, &t, err, sizeof err)) != TRUST_OK ||
        (rc = trust_token_check(&t, ag->trust.authorities, en->commune, c->province->code, INT64_MIN, err,
                                sizeof err)) != TRUST_OK) {
        log_warn("agents", "enrollment rejected agent=%s reason=%s why=\"%s\"", agent_id, trust_reason("token", rc),
                 err);
        *reason = trust_reason("token", rc);
        return 0;
    }
    memcpy(info->token_id, t.token_id, sizeof info->token_id);
    info->token_uses = t.uses;
    info->token_expires_ms = t.expires_ms;
    return 1;
}

static void settle_checked(agents_t *ag, struct entry *e, struct enrollment *en, const char *agent_id, int verified) {
    agent_info tok;
    const char *reason = "token_missing";
    memset(&tok, 0, sizeof tok);
    if (verified && ag->has_trust && ag->trust.require_token && !token_ok(ag, en, agent_id, &tok, &reason)) {
        rejected_late(ag, en, agent_id, reason);
        if (e->state == UNCHECKED) {
            e->state = BAD;
            e->since_ms = vntime_now_ms();
        }
        enrollment_free(en);
        return;
    }
    if (verified) {
        memcpy(e->info.token_id, tok.token_id, sizeof tok.token_id);
        e->info.token_uses = tok.token_uses;
        e->info.token_expires_ms = tok.token_expires_ms;
        free(e->info.commune);
        e->info.commune = en->commune;
        en->commune = NULL;
        memcpy(e->info.public_key, en->public_key, SIGN_PUBLIC_BYTES);
        e->state = GOOD;
    } else {
        log_warn("agents", "enrollment rejected agent=%s reason=bad_signature", agent_id);
        rejected_late(ag, en, agent_id, "bad_signature");
        if (e->state == UNCHECKED) {
            e->state = BAD;
            e->since_ms = vntime_now_ms();
        }
    }
    enrollment_free(en);
}

static void settle(agents_t *ag, struct entry *e, struct enrollment *en, const char *agent_id) {
    settle_checked(ag, e, en, agent_id, enrollment_verifies(en, agent_id));
}

int agents_apply(agents_t *ag, const void *key, size_t keylen, const void *value, size_t len, char *err,
                 size_t errsz) {
    return agents_apply_at(ag, key, keylen, value, len, -1, -1, err, errsz);
}

int agents_apply_at(agents_t *ag, const void *key, size_t keylen, const void *value, size_t len, int32_t partition,
                    int64_t offset, char *err, size_t errsz) {
    Ispeed__V1__AgentEnrollment *en = NULL;
    struct enrollment *rec = NULL;
    char id[SIGN_AGENT_ID_CHARS + 1];

    if (!value) {
        /* Tombstone on the compacted topic: the agent is withdrawn. */
        char k[SIGN_AGENT_ID_CHARS + 1];
        if (ag->has_trust && ag->trust.signed_withdrawals) {
            /* Anyone who can produce can write one: it proves nothing. */
            snprintf(err, errsz, "unsigned_tombstone: a withdrawal must be signed by the agent or an authority");
            return -1;
        }
        if (!key || keylen == 0 || keylen > SIGN_AGENT_ID_CHARS) {
            snprintf(err, errsz, "tombstone without a valid agent id key");
            return -1;
        }
        memcpy(k, key, keylen);
        k[keylen] = '\0';
        entry_free(hashmap_remove(ag->byid, k));
        return 0;
    }
    if (len > AGENTS_MAX_RECORD) {
        snprintf(err, errsz, "oversized: enrollment record of %zu bytes, at most %d", len, AGENTS_MAX_RECORD);
        return -1;
    }
    en = ispeed__v1__agent_enrollment__unpack(NULL, len, value);
    if (!en) {
        snprintf(err, errsz, "malformed: enrollment does not decode as AgentEnrollment");
        goto fail;
    }
    if (en->withdrawal) {
        const Ispeed__V1__AgentWithdrawal *w = en->withdrawal;
        struct entry *e = hashmap_get(ag->byid, w->agent_id);
        const struct enrollment *cur = e ? (e->unchecked ? e->unchecked : e->pending) : NULL;
        const uint8_t *agent_key = e && e->state == GOOD ? e->info.public_key : cur ? cur->public_key : NULL;
        char why[160];
        int rc = trust_withdrawal_verify(w->agent_id, w->time_ms, w->signer_key.data, w->signer_key.len,
                                         w->signature.data, w->signature.len, agent_key,
                                         ag->has_trust ? ag->trust.authorities : NULL, why, sizeof why);
        if (rc != TRUST_OK || (key && (keylen != strlen(w->agent_id) || memcmp(key, w->agent_id, keylen) != 0))) {
            snprintf(err, errsz, "bad_withdrawal: %s", rc != TRUST_OK ? why : "under another agent's key");
            goto fail;
        }
        if (e) entry_free(hashmap_remove(ag->byid, w->agent_id));
        ispeed__v1__agent_enrollment__free_unpacked(en, NULL);
        return 0;
    }
    /* A commune is a short code: anything else is refused before it is
     * kept, and checked against the registry with the signature. */
    size_t cl = strlen(en->commune);
    if (cl == 0 || cl > TRUST_CODE_MAX || strspn(en->commune, "0123456789") != cl) {
        snprintf(err, errsz, "bad_commune: enrollment of agent %.40s names commune '%.16s'", en->agent_id, en->commune);
        goto fail;
    }
    if (en->public_key.len != SIGN_PUBLIC_BYTES) {
        snprintf(err, errsz, "enrollment of agent %s has a %zu-byte public key, want %d", en->agent_id,
                 en->public_key.len, SIGN_PUBLIC_BYTES);
        goto fail;
    }
    if (en->signature.len != SIGN_SIGNATURE_BYTES) {
        snprintf(err, errsz, "enrollment of agent %s has a %zu-byte signature, want %d", en->agent_id,
                 en->signature.len, SIGN_SIGNATURE_BYTES);
        goto fail;
    }
    sign_agent_id(en->public_key.data, id);
    if (strcmp(id, en->agent_id) != 0) {
        snprintf(err, errsz, "enrollment names agent %s but its key gives %s", en->agent_id, id);
        goto fail;
    }
    if (key && (keylen != strlen(id) || memcmp(key, id, keylen) != 0)) {
        snprintf(err, errsz, "enrollment of agent %s is under a different key", id);
        goto fail;
    }
    if (!(rec = calloc(1, sizeof *rec)) || !(rec->commune = strdup(en->commune)) ||
        !(rec->token = strdup(en->token))) {
        snprintf(err, errsz, "out of memory");
        goto fail;
    }
    memcpy(rec->public_key, en->public_key.data, SIGN_PUBLIC_BYTES);
    memcpy(rec->signature, en->signature.data, SIGN_SIGNATURE_BYTES);
    rec->siglen = SIGN_SIGNATURE_BYTES;
    rec->serial = ++ag->next_serial;
    rec->partition = partition;
    rec->offset = offset;

    struct entry *e = hashmap_get(ag->byid, id);
    if (e) {
        /* Waits beside the current enrollment; a newer one replaces it. */
        enrollment_free(e->pending);
        e->pending = rec;
    } else {
        /* Full: the newcomer is refused, never a verified agent evicted
         * (an attacker's flood of enrollments must not unseat volunteers);
         * unverified and failed entries leave by agents_expire. */
        if (ag->max_agents && hashmap_size(ag->byid) >= ag->max_agents) {
            snprintf(err, errsz, "agents_full: the agents table holds its maximum of %zu (--max-agents)",
                     ag->max_agents);
            goto fail;
        }
        if (!(e = calloc(1, sizeof *e))) {
            snprintf(err, errsz, "out of memory");
            goto fail;
        }
        e->unchecked = rec;
        e->since_ms = vntime_now_ms();
        if (hashmap_put(ag->byid, id, e, NULL) < 0) {
            entry_free(e); /* frees rec too */
            rec = NULL;
            snprintf(err, errsz, "out of memory");
            goto fail;
        }
    }
    ispeed__v1__agent_enrollment__free_unpacked(en, NULL);
    return 0;
fail:
    enrollment_free(rec);
    if (en) ispeed__v1__agent_enrollment__free_unpacked(en, NULL);
    return -1;
}

const agent_info *agents_find(agents_t *ag, const char *agent_id) {
    struct entry *e = hashmap_get(ag->byid, agent_id);
    if (!e) return NULL;
    /* The first enrollment first, then the later one, in topic order. */
    if (e->unchecked) {
        struct enrollment *en = e->unchecked;
        e->unchecked = NULL;
        settle(ag, e, en, agent_id);
    }
    if (e->pending) {
        struct enrollment *en = e->pending;
        e->pending = NULL;
        settle(ag, e, en, agent_id);
    }
    return e->state == GOOD ? &e->info : NULL;
}

/* The enrollment agents_find would check next. */
static struct enrollment *next_to_check(const struct entry *e) { return e->unchecked ? e->unchecked : e->pending; }

const uint8_t *agents_peek(agents_t *ag, const char *agent_id, agents_check *chk, int *need_check) {
    struct entry *e = hashmap_get(ag->byid, agent_id);
    struct enrollment *en;
    *need_check = 0;
    if (!e) return NULL;
    if (!(en = next_to_check(e))) return e->state == GOOD ? e->info.public_key : NULL;
    if (chk && !en->check_out && strlen(agent_id) < sizeof chk->agent_id &&
        (chk->len = sign_enrollment_message(en->public_key, agent_id, en->commune, chk->msg, sizeof chk->msg)) > 0) {
        strcpy(chk->agent_id, agent_id);
        chk->serial = en->serial;
        memcpy(chk->public_key, en->public_key, SIGN_PUBLIC_BYTES);
        memcpy(chk->signature, en->signature, en->siglen);
        chk->siglen = en->siglen;
        en->check_out = 1;
        *need_check = 1;
    }
    return en->public_key;
}

void agents_check_settle(agents_t *ag, const agents_check *chk, int verified) {
    struct entry *e = hashmap_get(ag->byid, chk->agent_id);
    struct enrollment *en = e ? next_to_check(e) : NULL;
    if (!en || en->serial != chk->serial) return;
    if (en == e->unchecked) e->unchecked = NULL;
    else e->pending = NULL;
    settle_checked(ag, e, en, chk->agent_id, verified);
}

size_t agents_count(const agents_t *ag) { return hashmap_size(ag->byid); }

size_t agents_rejected(const agents_t *ag) { return ag->rejected; }

/* agents_expire's pass: its clock and what is left of its verification
 * budget. */
struct expiry {
    agents_t *ag;
    int64_t now_ms;
    size_t checks_left;
};

static int expired(const char *agent_id, void *value, void *ctx) {
    struct expiry *x = ctx;
    struct entry *e = value;
    struct enrollment *en;
    if (x->now_ms - e->since_ms < x->ag->expire_ms) return 0;
    /* Never verified: an honest agent may simply not have sent a sample yet
     * (enrollments are verified lazily), so what it still has to check is
     * verified now rather than dropped, within the pass's budget; one in
     * sigpool's hands waits for the next pass. */
    while ((en = next_to_check(e)) && !en->check_out && x->checks_left > 0) {
        x->checks_left--;
        if (en == e->unchecked) e->unchecked = NULL;
        else e->pending = NULL;
        settle(x->ag, e, en, agent_id);
    }
    /* Failed, nothing left to check, and already older than the expiry. */
    return e->state == BAD && !next_to_check(e);
}

size_t agents_expire(agents_t *ag, int64_t now_ms) {
    struct expiry x = {ag, now_ms, AGENTS_EXPIRE_CHECKS};
    if (!ag->expire_ms) return 0;
    return hashmap_remove_if(ag->byid, expired, &x, entry_free);
}
