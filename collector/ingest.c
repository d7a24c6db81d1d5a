/* Per-province state (sequence marks and daily caps) sits next to the
 * counters so a province can be dropped whole when its partition moves. */
#include "ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dailycap.h"
#include "dedupe.h"
#include "hashmap.h"
#include "vntime.h"

#define DAY_MS 86400000LL
/* Daily-cap entries older than this (in stream time) can only concern
 * samples that are late anyway (month end + grace < 37 days after any start). */
#define CAP_KEEP_DAYS 40

/* Uses of enrollment tokens (SPEC: Trust): which agents took one, and how
 * many each token has given. An agent takes its use with its first counted
 * sample, once: enrolling again keeps its history. Kept per province beside
 * the sequence marks and checkpointed with them, so uses stay exact across
 * crashes and rebalances. A national token is counted per province. */
struct ingest_tokens {
    hashmap_t *taken; /* "token_id/agent_id" -> (void *)1 */
    hashmap_t *used;  /* token_id -> (void *)(uintptr_t)uses taken */
};

static void tokens_free(struct ingest_tokens *t) {
    if (!t) return;
    hashmap_free(t->taken, NULL);
    hashmap_free(t->used, NULL);
    free(t);
}

static struct ingest_tokens *tokens_new(void) {
    struct ingest_tokens *t = calloc(1, sizeof *t);
    if (!t || !(t->taken = hashmap_new(NULL)) || !(t->used = hashmap_new(NULL))) {
        tokens_free(t);
        return NULL;
    }
    return t;
}

int ingest_tokens_restore(struct ingest_tokens *t, const char *token_id, const char *agent_id) {
    char k[2 * SIGN_AGENT_ID_CHARS + 4];
    snprintf(k, sizeof k, "%.32s/%.32s", token_id, agent_id);
    if (hashmap_get(t->taken, k)) return 0;
    uintptr_t n = (uintptr_t)hashmap_get(t->used, token_id);
    if (hashmap_put(t->taken, k, (void *)1, NULL) < 0) return -1;
    if (hashmap_put(t->used, token_id, (void *)(n + 1), NULL) < 0) {
        hashmap_remove(t->taken, k);
        return -1;
    }
    return 0;
}

struct tokens_iter {
    int (*fn)(const char *, const char *, void *);
    void *ctx;
};

static int tokens_iter_one(const char *key, void *value, void *ctx) {
    struct tokens_iter *it = ctx;
    char tok[TRUST_TOKEN_ID_CHARS + 1];
    (void)value;
    const char *slash = strchr(key, '/');
    if (!slash || (size_t)(slash - key) > TRUST_TOKEN_ID_CHARS) return 0;
    memcpy(tok, key, (size_t)(slash - key));
    tok[slash - key] = '\0';
    return it->fn(tok, slash + 1, it->ctx);
}

void ingest_tokens_foreach(const struct ingest_tokens *t, int (*fn)(const char *token_id, const char *agent_id,
                                                                    void *ctx),
                           void *ctx) {
    struct tokens_iter it = {fn, ctx};
    if (t) hashmap_foreach(t->taken, tokens_iter_one, &it);
}

/* 0 when the agent holds a use of its token (taking one now if it can), or
 * the reason it cannot; -1 out of memory. */
static int tokens_take(struct ingest_tokens *t, const agent_info *ai, const char *agent_id, int64_t test_ms,
                       enum reject_reason *why) {
    char k[2 * SIGN_AGENT_ID_CHARS + 4];
    snprintf(k, sizeof k, "%.32s/%.32s", ai->token_id, agent_id);
    if (hashmap_get(t->taken, k)) return 0;
    if (test_ms >= ai->token_expires_ms) {
        *why = REJECT_TOKEN_EXPIRED;
        return 1;
    }
    if ((uintptr_t)hashmap_get(t->used, ai->token_id) >= ai->token_uses) {
        *why = REJECT_TOKEN_USED_UP;
        return 1;
    }
    return ingest_tokens_restore(t, ai->token_id, agent_id);
}

struct province_state {
    dedupe_t *dd;
    dailycap_t *cap;
    struct ingest_tokens *tokens;
    dailycap_t *prefix_cap;
    int32_t partition;
    int64_t max_day;     /* newest arrival day seen, for pruning caps */
    int64_t pruned_day;
};

struct ingest {
    const registry_t *reg;
    validate_ctx vctx;
    quota_counts_t *qt;
    ingest_config cfg;
    struct province_state **prov; /* by registry index; NULL until first sample */
    size_t nunits;
};

void ingest_config_default(ingest_config *cfg) {
    cfg->daily_cap = 12;
    cfg->cap_across_units = 1;
    cfg->bind_commune = 1;
    cfg->reject_zero_rate = 1;
    cfg->attestation = VALIDATE_ATTEST_OFF;
    cfg->servers = NULL;
    cfg->prefix_daily_cap = 36;
    cfg->replay = 0;
    cfg->grace_ms = 4 * DAY_MS; /* month end (1st 00:00) + 4 days = the 5th 00:00 */
}

const char *ingest_result_name(enum ingest_result r) {
    switch (r) {
    case INGEST_COUNTED: return "counted";
    case INGEST_LATE: return "late";
    case INGEST_FAILED_TEST: return "failed_test";
    case INGEST_OVER_CAP: return "daily_cap";
    case INGEST_REJECTED: return "rejected";
    case INGEST_UNATTESTED: return "unattested";
    case INGEST_ERROR: return "error";
    }
    return "unknown";
}

ingest_t *ingest_new(const registry_t *reg, agents_t *agents, const merges_t *merges, quota_counts_t *qt,
                     const ingest_config *cfg, char *err, size_t errsz) {
    ingest_t *ing = calloc(1, sizeof *ing);
    if (!ing) goto oom;
    ing->reg = reg;
    ing->vctx = (validate_ctx){.reg = reg,
                               .agents = agents,
                               .merges = merges,
                               .bind_commune = cfg->bind_commune,
                               .reject_zero_rate = cfg->reject_zero_rate,
                               .attestation = cfg->attestation,
                               .servers = cfg->servers};
    ing->qt = qt;
    ing->cfg = *cfg;
    ing->nunits = registry_size(reg);
    if (!(ing->prov = calloc(ing->nunits, sizeof *ing->prov))) goto oom;
    return ing;
oom:
    snprintf(err, errsz, "out of memory");
    ingest_free(ing);
    return NULL;
}

static void province_free(struct province_state *ps) {
    if (!ps) return;
    dedupe_free(ps->dd);
    dailycap_free(ps->cap);
    tokens_free(ps->tokens);
    dailycap_free(ps->prefix_cap);
    free(ps);
}

void ingest_free(ingest_t *ing) {
    if (!ing) return;
    for (size_t i = 0; ing->prov && i < ing->nunits; i++) province_free(ing->prov[i]);
    free(ing->prov);
    free(ing);
}

static struct province_state *province_get(ingest_t *ing, const registry_unit *province) {
    struct province_state **slot = &ing->prov[province->index];
    if (*slot) return *slot;
    struct province_state *ps = calloc(1, sizeof *ps);
    if (!ps) return NULL;
    ps->dd = dedupe_new();
    ps->cap = dailycap_new(ing->cfg.daily_cap);
    ps->tokens = tokens_new();
    ps->prefix_cap = dailycap_new(ing->cfg.prefix_daily_cap);
    if (!ps->dd || !ps->cap || !ps->tokens || !ps->prefix_cap) {
        province_free(ps);
        return NULL;
    }
    ps->partition = -1;
    *slot = ps;
    return ps;
}

enum ingest_result ingest_sample(ingest_t *ing, int32_t partition, const void *key, size_t keylen,
                                 const void *value, size_t len, int64_t arrival_ms, int64_t now_ms,
                                 enum reject_reason *reason, char *detail, size_t detailsz) {
    return ingest_sample_ex(ing, partition, key, keylen, value, len, NULL, arrival_ms, now_ms, reason, detail,
                            detailsz);
}

enum ingest_result ingest_sample_ex(ingest_t *ing, int32_t partition, const void *key, size_t keylen,
                                    const void *value, size_t len, const sig_hint *hint, int64_t arrival_ms,
                                    int64_t now_ms, enum reject_reason *reason, char *detail, size_t detailsz) {
    validated v;
    enum ingest_result res;
    *reason = validate_sample_ex(&ing->vctx, key, keylen, value, len, hint, now_ms, &v, detail, detailsz);
    if (*reason != REJECT_NONE) return INGEST_REJECTED;
    /* A producer clock ahead of ours must not make a sample late. */
    if (arrival_ms < 0 || arrival_ms > now_ms) arrival_ms = now_ms;

    const Ispeed__V1__Sample *s = v.sample;
    /* The test's time: the server's when it attested it, else the agent's. */
    int64_t test_ms = v.attested ? v.attested_start_ms : s->start_ms;
    /* A producer sets the Kafka timestamp: it may only make a sample later
     * than the server saw its test end, never earlier. */
    if (v.attested && arrival_ms < v.attested_end_ms) arrival_ms = v.attested_end_ms;
    struct province_state *ps = province_get(ing, v.commune->province);
    if (!ps) goto oom;
    ps->partition = partition;

    int d = dedupe_mark(ps->dd, s->agent_id, s->seq);
    if (d < 0) goto oom;
    if (d != DEDUPE_NEW) {
        snprintf(detail, detailsz, "agent %s seq %llu %s", s->agent_id, (unsigned long long)s->seq,
                 d == DEDUPE_SEEN ? "already counted" : "below the de-duplication window");
        *reason = REJECT_DUPLICATE;
        res = INGEST_REJECTED;
        goto done;
    }
    if (s->outcome != ISPEED__V1__OUTCOME__OUTCOME_OK) {
        res = INGEST_FAILED_TEST;
        goto done;
    }

    /* An agent enrolled with a token counts once it holds one of the
     * token's uses: taken with its first counted sample, at that sample's
     * (attested) time, so expiry and uses are judged where they are exact. */
    const agent_info *ai = agents_find(ing->vctx.agents, s->agent_id);
    if (ai && ai->token_id[0]) {
        int t = tokens_take(ps->tokens, ai, s->agent_id, test_ms, reason);
        if (t < 0) goto oom;
        if (t > 0) {
            snprintf(detail, detailsz, "agent %s: token %.8s... %s", s->agent_id, ai->token_id,
                     *reason == REJECT_TOKEN_EXPIRED ? "expired before its first sample" : "has no use left");
            res = INGEST_REJECTED;
            goto done;
        }
    }

    char month[8];
    int64_t mstart, mend;
    vntime_month(test_ms, month);
    vntime_month_bounds(month, &mstart, &mend);
    /* Late by the province's stream time, in days: a province's records
     * are appended to its partition in the order they arrived, so a record
     * after one that arrived on day D arrived on D or later, whatever
     * timestamp its producer set (a receipt held back for weeks, then sent
     * stamped with its old time). The grace period ends at a Vietnamese
     * midnight, so days lose nothing. On a real cluster the samples topic's
     * LogAppendTime (ispeedctl topics apply) makes every timestamp the
     * broker's as well. max_day is checkpointed: a restore judges alike. */
    int64_t arrival_day = dailycap_day(arrival_ms);
    if (arrival_day > ps->max_day) ps->max_day = arrival_day;
    int late = !ing->cfg.replay && ps->max_day >= dailycap_day(mend + ing->cfg.grace_ms);

    /* Prune caps by stream time, not wall time, so a replay from the start of
     * the topic applies the caps exactly as live processing did. --replay
     * counts old samples whenever they arrive, so it keeps every day. */
    if (!ing->cfg.replay && ps->max_day - CAP_KEEP_DAYS > ps->pruned_day + 1) {
        ps->pruned_day = ps->max_day - CAP_KEEP_DAYS;
        dailycap_prune(ps->cap, ps->pruned_day);
        dailycap_prune(ps->prefix_cap, ps->pruned_day);
    }
    /* Across units, the count is kept under the province's code: one count
     * per agent and day whatever the commune, so one key cannot spread 12 a
     * day over many communes (and binding keeps an agent in one province).
     * A checkpoint restores it like any cap: the code is a registry unit. */
    int c = dailycap_take(ps->cap, s->agent_id, ing->cfg.cap_across_units ? v.commune->province->code : v.commune->code,
                          dailycap_day(test_ms));
    if (c < 0) goto oom;
    if (c > 0) {
        res = INGEST_OVER_CAP;
        goto done;
    }
    /* The prefix's share of the commune's day, taken after the agent's own
     * cap so that an agent over its cap uses none of it. */
    if (v.attested && ing->cfg.prefix_daily_cap) {
        c = dailycap_take(ps->prefix_cap, v.client_prefix, v.commune->code, dailycap_day(test_ms));
        if (c < 0) goto oom;
        if (c > 0) {
            snprintf(detail, detailsz, "client prefix %s over its daily cap for commune %s", v.client_prefix,
                     v.commune->code);
            *reason = REJECT_PREFIX_CAP;
            res = INGEST_REJECTED;
            goto done;
        }
    }
    if (!v.attested && ing->vctx.attestation == VALIDATE_ATTEST_OPTIONAL) {
        /* Valid but unattested (a LibreSpeed backend, say): counted apart,
         * never in the attested count, after the same token, cap and late
         * rules; a late one is in neither count. */
        if (!late && quota_add_unattested(ing->qt, v.commune, month, v.network) < 0) goto oom;
        res = late ? INGEST_LATE : INGEST_UNATTESTED;
        goto done;
    }
    if (quota_add(ing->qt, v.commune, month, v.network, v.is_5g, late, s->operator_, now_ms) < 0) goto oom;
    if (!late && quota_add_agent(ing->qt, v.commune, month, v.network, s->agent_id) < 0) goto oom;
    if (!late && quota_observe(ing->qt, v.commune, month, v.network, s->download_bps, s->upload_bps,
                               s->latency_median_ms) < 0)
        goto oom;
    res = late ? INGEST_LATE : INGEST_COUNTED;
done:
    validated_clear(&v);
    return res;
oom:
    snprintf(detail, detailsz, "out of memory");
    validated_clear(&v);
    return INGEST_ERROR;
}

size_t ingest_drop_partition(ingest_t *ing, int32_t partition) {
    size_t n = 0;
    for (size_t i = 0; i < ing->nunits; i++) {
        struct province_state *ps = ing->prov[i];
        if (!ps || ps->partition != partition) continue;
        quota_reset_province(ing->qt, registry_unit_at(ing->reg, i));
        province_free(ps);
        ing->prov[i] = NULL;
        n++;
    }
    return n;
}

int32_t ingest_province_partition(const ingest_t *ing, const registry_unit *province) {
    const struct province_state *ps = ing->prov[province->index];
    return ps ? ps->partition : -1;
}

int ingest_province_get(const ingest_t *ing, const registry_unit *province, ingest_province *out) {
    const struct province_state *ps = ing->prov[province->index];
    if (!ps) return -1;
    *out = (ingest_province){ps->dd, ps->cap, ps->max_day, ps->pruned_day, ps->tokens, ps->prefix_cap};
    return 0;
}

int ingest_province_reset(ingest_t *ing, const registry_unit *province, int32_t partition, int64_t max_day,
                          int64_t pruned_day, ingest_province *out) {
    quota_reset_province(ing->qt, province);
    province_free(ing->prov[province->index]);
    ing->prov[province->index] = NULL;
    struct province_state *ps = province_get(ing, province);
    if (!ps) return -1;
    ps->partition = partition;
    ps->max_day = max_day;
    ps->pruned_day = pruned_day;
    *out = (ingest_province){ps->dd, ps->cap, ps->max_day, ps->pruned_day, ps->tokens, ps->prefix_cap};
    return 0;
}
