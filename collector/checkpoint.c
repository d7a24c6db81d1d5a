/* Checkpoint encoding: the state is walked into a CollectorCheckpoint whose
 * strings and bytes are copied (the tables may change once we return), packed
 * and compressed with zstd, which shrinks the mostly-zero de-duplication
 * windows to a few bytes each. */
#include "checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "ispeed.pb-c.h"

#define ZSTD_LEVEL 3
#define MAX_RAW (256u << 20) /* refuse to inflate a damaged record beyond this */

/* Growable pointer arrays, freed with everything they point to. */
struct vec {
    void **v;
    size_t n, cap;
};

static int vec_push(struct vec *vc, void *p) {
    if (!p) return -1;
    if (vc->n == vc->cap) {
        size_t cap = vc->cap ? vc->cap * 2 : 64;
        void **nv = realloc(vc->v, cap * sizeof *nv);
        if (!nv) return -1;
        vc->v = nv;
        vc->cap = cap;
    }
    vc->v[vc->n++] = p;
    return 0;
}

struct enc {
    struct vec counts, agents, caps, provs, tokens, pcaps, blobs; /* blobs: strings and bytes to free */
    const char *province;
    int oom;
};

static char *keep_str(struct enc *e, const char *s) {
    char *d = strdup(s);
    if (!d || vec_push(&e->blobs, d) < 0) {
        free(d);
        e->oom = 1;
        return NULL;
    }
    return d;
}

static uint8_t *keep_bytes(struct enc *e, const void *b, size_t n) {
    uint8_t *d = malloc(n ? n : 1);
    if (!d || vec_push(&e->blobs, d) < 0) {
        free(d);
        e->oom = 1;
        return NULL;
    }
    memcpy(d, b, n);
    return d;
}

static void *keep_zeroed(struct enc *e, size_t n) {
    void *d = calloc(1, n ? n : 1);
    if (!d || vec_push(&e->blobs, d) < 0) {
        free(d);
        e->oom = 1;
        return NULL;
    }
    return d;
}

static int enc_cell(const registry_unit *unit, const char *month, enum quota_network net, const quota_cell_state *st,
                    void *ctx) {
    struct enc *e = ctx;
    Ispeed__V1__UnitCount *uc = malloc(sizeof *uc);
    if (!uc || vec_push(&e->counts, uc) < 0) {
        free(uc);
        return e->oom = 1;
    }
    ispeed__v1__unit_count__init(uc);
    uc->unit = (char *)unit->code; /* the registry outlives the encoding */
    uc->month = keep_str(e, month);
    uc->network = (Ispeed__V1__Network)net;
    uc->count = st->count;
    uc->late_count = st->late_count;
    uc->count_5g = st->count_5g;
    uc->unattested_count = st->unattested_count;
    uc->state = (Ispeed__V1__QuotaState)st->alerted;
    if (st->sketch_len) {
        uc->sketch.data = keep_bytes(e, st->sketch, st->sketch_len);
        uc->sketch.len = st->sketch_len;
    }
    if (st->agents_len) {
        uc->agents.data = keep_bytes(e, st->agents, st->agents_len);
        uc->agents.len = st->agents_len;
    }
    if (st->n_operators) {
        Ispeed__V1__OperatorCount *oc = keep_zeroed(e, st->n_operators * sizeof *oc);
        Ispeed__V1__OperatorCount **ocp = keep_zeroed(e, st->n_operators * sizeof *ocp);
        if (!oc || !ocp) return e->oom;
        for (size_t i = 0; i < st->n_operators; i++) {
            ispeed__v1__operator_count__init(&oc[i]);
            oc[i].operator_ = keep_str(e, st->operators[i].name);
            oc[i].count = st->operators[i].count;
            ocp[i] = &oc[i];
        }
        uc->n_operators = st->n_operators;
        uc->operators = ocp;
    }
    return e->oom;
}

static int enc_mark(const char *agent_id, uint64_t high, const uint8_t *window, size_t len, void *ctx) {
    struct enc *e = ctx;
    Ispeed__V1__AgentMark *am = malloc(sizeof *am);
    if (!am || vec_push(&e->agents, am) < 0) {
        free(am);
        return e->oom = 1;
    }
    ispeed__v1__agent_mark__init(am);
    am->agent_id = keep_str(e, agent_id);
    am->high_seq = high;
    /* Trailing zero bytes carry nothing. */
    while (len > 0 && window[len - 1] == 0) len--;
    am->window.data = keep_bytes(e, window, len);
    am->window.len = len;
    am->province = (char *)e->province;
    return e->oom;
}

static int enc_cap_into(struct vec *v, const char *agent_id, const char *unit, int64_t day, unsigned count,
                        struct enc *e);

static int enc_cap(const char *agent_id, const char *unit, int64_t day, unsigned count, void *ctx) {
    struct enc *e = ctx;
    return enc_cap_into(&e->caps, agent_id, unit, day, count, e);
}

static int enc_pcap(const char *prefix, const char *unit, int64_t day, unsigned count, void *ctx) {
    struct enc *e = ctx;
    return enc_cap_into(&e->pcaps, prefix, unit, day, count, e);
}

static int enc_cap_into(struct vec *v, const char *agent_id, const char *unit, int64_t day, unsigned count,
                        struct enc *e) {
    Ispeed__V1__CapCount *cc = malloc(sizeof *cc);
    if (!cc || vec_push(v, cc) < 0) {
        free(cc);
        return e->oom = 1;
    }
    ispeed__v1__cap_count__init(cc);
    cc->agent_id = keep_str(e, agent_id);
    cc->unit = keep_str(e, unit);
    cc->day = day;
    cc->count = count;
    return e->oom;
}

static int enc_token(const char *token_id, const char *agent_id, void *ctx) {
    struct enc *e = ctx;
    Ispeed__V1__TokenUse *tu = malloc(sizeof *tu);
    if (!tu || vec_push(&e->tokens, tu) < 0) {
        free(tu);
        return e->oom = 1;
    }
    ispeed__v1__token_use__init(tu);
    tu->token_id = keep_str(e, token_id);
    tu->agent_id = keep_str(e, agent_id);
    tu->province = (char *)e->province;
    return e->oom;
}

static void enc_free(struct enc *e) {
    struct vec *vs[] = {&e->counts, &e->agents, &e->caps, &e->provs, &e->tokens, &e->pcaps, &e->blobs};
    for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++) {
        for (size_t k = 0; k < vs[i]->n; k++) free(vs[i]->v[k]);
        free(vs[i]->v);
    }
}

/* The tables these come from are hash maps with a random seed each, so
 * their order differs from one process to the next: sorted, a checkpoint is
 * the same bytes for the same state, and a restored one encodes as it was. */
static int str_cmp(const char *x, const char *y) { return strcmp(x ? x : "", y ? y : ""); }
static int by_mark(const void *a, const void *b) {
    const Ispeed__V1__AgentMark *x = *(Ispeed__V1__AgentMark *const *)a, *y = *(Ispeed__V1__AgentMark *const *)b;
    int c = str_cmp(x->province, y->province);
    return c ? c : str_cmp(x->agent_id, y->agent_id);
}
static int by_cap(const void *a, const void *b) {
    const Ispeed__V1__CapCount *x = *(Ispeed__V1__CapCount *const *)a, *y = *(Ispeed__V1__CapCount *const *)b;
    int c = str_cmp(x->agent_id, y->agent_id);
    if (!c) c = str_cmp(x->unit, y->unit);
    return c ? c : (x->day > y->day) - (x->day < y->day);
}
static int by_token(const void *a, const void *b) {
    const Ispeed__V1__TokenUse *x = *(Ispeed__V1__TokenUse *const *)a, *y = *(Ispeed__V1__TokenUse *const *)b;
    int c = str_cmp(x->province, y->province);
    if (!c) c = str_cmp(x->token_id, y->token_id);
    return c ? c : str_cmp(x->agent_id, y->agent_id);
}
static void vec_sort(struct vec *v, int (*cmp)(const void *, const void *)) {
    if (v->n > 1) qsort(v->v, v->n, sizeof *v->v, cmp);
}

int checkpoint_encode(const registry_t *reg, ingest_t *ing, quota_counts_t *qt, const char *topic, int32_t partition,
                      int64_t next_offset, int64_t created_ms, checkpoint_owner_fn owner, void *ctx, uint8_t **out,
                      size_t *outlen, char *err, size_t errsz) {
    struct enc e;
    uint8_t *raw = NULL, *z = NULL;
    memset(&e, 0, sizeof e);
    *out = NULL;
    for (size_t i = 0; i < registry_size(reg) && !e.oom; i++) {
        const registry_unit *p = registry_unit_at(reg, i);
        if (p->level != REGISTRY_PROVINCE || owner(p, ctx) != partition) continue;
        e.province = p->code;
        ingest_province ip;
        if (ingest_province_get(ing, p, &ip) == 0) {
            Ispeed__V1__ProvinceMark *pm = malloc(sizeof *pm);
            if (!pm || vec_push(&e.provs, pm) < 0) {
                free(pm);
                e.oom = 1;
                break;
            }
            ispeed__v1__province_mark__init(pm);
            pm->province = (char *)p->code;
            pm->max_day = ip.max_day;
            pm->pruned_day = ip.pruned_day;
            dedupe_foreach(ip.dd, enc_mark, &e);
            dailycap_foreach(ip.cap, enc_cap, &e);
            ingest_tokens_foreach(ip.tokens, enc_token, &e);
            dailycap_foreach(ip.prefix_cap, enc_pcap, &e);
        }
        quota_foreach_province(qt, p, enc_cell, &e);
    }
    if (e.oom) goto oom;
    vec_sort(&e.agents, by_mark);
    vec_sort(&e.caps, by_cap);
    vec_sort(&e.tokens, by_token);
    vec_sort(&e.pcaps, by_cap);
    Ispeed__V1__CollectorCheckpoint cp = ISPEED__V1__COLLECTOR_CHECKPOINT__INIT;
    cp.topic = (char *)topic;
    cp.partition = partition;
    cp.next_offset = next_offset;
    cp.created_ms = created_ms;
    cp.n_counts = e.counts.n;
    cp.counts = (Ispeed__V1__UnitCount **)e.counts.v;
    cp.n_agents = e.agents.n;
    cp.agents = (Ispeed__V1__AgentMark **)e.agents.v;
    cp.n_caps = e.caps.n;
    cp.caps = (Ispeed__V1__CapCount **)e.caps.v;
    cp.n_provinces = e.provs.n;
    cp.provinces = (Ispeed__V1__ProvinceMark **)e.provs.v;
    cp.n_token_uses = e.tokens.n;
    cp.token_uses = (Ispeed__V1__TokenUse **)e.tokens.v;
    cp.n_prefix_caps = e.pcaps.n;
    cp.prefix_caps = (Ispeed__V1__CapCount **)e.pcaps.v;
    size_t rawlen = ispeed__v1__collector_checkpoint__get_packed_size(&cp);
    if (!(raw = malloc(rawlen ? rawlen : 1))) goto oom;
    ispeed__v1__collector_checkpoint__pack(&cp, raw);
    size_t bound = ZSTD_compressBound(rawlen);
    if (!(z = malloc(bound))) goto oom;
    /* With the frame checksum a damaged record is refused, not restored. */
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    if (!cctx) goto oom;
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, ZSTD_LEVEL);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
    size_t zlen = ZSTD_compress2(cctx, z, bound, raw, rawlen);
    ZSTD_freeCCtx(cctx);
    if (ZSTD_isError(zlen)) {
        snprintf(err, errsz, "checkpoint of %s/%d: zstd: %s", topic, partition, ZSTD_getErrorName(zlen));
        goto fail;
    }
    free(raw);
    enc_free(&e);
    *out = z;
    *outlen = zlen;
    return 0;
oom:
    snprintf(err, errsz, "checkpoint of %s/%d: out of memory", topic, partition);
fail:
    free(z);
    free(raw);
    enc_free(&e);
    return -1;
}

int checkpoint_restore(const registry_t *reg, ingest_t *ing, quota_counts_t *qt, const void *data, size_t len,
                       int32_t partition, int64_t *next_offset, int64_t *created_ms, size_t *provinces, char *err,
                       size_t errsz) {
    Ispeed__V1__CollectorCheckpoint *cp = NULL;
    uint8_t *raw = NULL;
    int rc = -1;
    unsigned long long rawlen = ZSTD_getFrameContentSize(data, len);
    if (rawlen == ZSTD_CONTENTSIZE_ERROR || rawlen == ZSTD_CONTENTSIZE_UNKNOWN || rawlen > MAX_RAW) {
        snprintf(err, errsz, "checkpoint is not a zstd frame of known size");
        goto out;
    }
    if (!(raw = malloc(rawlen ? rawlen : 1))) {
        snprintf(err, errsz, "out of memory");
        goto out;
    }
    size_t got = ZSTD_decompress(raw, rawlen, data, len);
    if (ZSTD_isError(got) || got != rawlen) {
        snprintf(err, errsz, "checkpoint does not decompress: %s", ZSTD_isError(got) ? ZSTD_getErrorName(got) : "short");
        goto out;
    }
    if (!(cp = ispeed__v1__collector_checkpoint__unpack(NULL, rawlen, raw))) {
        snprintf(err, errsz, "checkpoint does not decode as CollectorCheckpoint");
        goto out;
    }
    if (cp->partition != partition || cp->next_offset < 0) {
        snprintf(err, errsz, "checkpoint is of partition %d offset %lld, not of partition %d", cp->partition,
                 (long long)cp->next_offset, partition);
        goto out;
    }
    for (size_t i = 0; i < cp->n_provinces; i++) {
        const registry_unit *p = registry_find(reg, cp->provinces[i]->province);
        ingest_province ip;
        if (!p || p->level != REGISTRY_PROVINCE) continue;
        if (ingest_province_reset(ing, p, partition, cp->provinces[i]->max_day, cp->provinces[i]->pruned_day, &ip) < 0)
            goto oom;
    }
    for (size_t i = 0; i < cp->n_agents; i++) {
        const Ispeed__V1__AgentMark *am = cp->agents[i];
        const registry_unit *p = registry_find(reg, am->province);
        ingest_province ip;
        if (!p || ingest_province_get(ing, p, &ip) < 0) continue;
        if (dedupe_restore(ip.dd, am->agent_id, am->high_seq, am->window.data, am->window.len) < 0) goto oom;
    }
    for (size_t i = 0; i < cp->n_token_uses; i++) {
        const Ispeed__V1__TokenUse *tu = cp->token_uses[i];
        const registry_unit *p = registry_find(reg, tu->province);
        ingest_province ip;
        if (!p || ingest_province_get(ing, p, &ip) < 0) continue;
        if (ingest_tokens_restore(ip.tokens, tu->token_id, tu->agent_id) < 0) goto oom;
    }
    for (size_t i = 0; i < cp->n_prefix_caps; i++) {
        const Ispeed__V1__CapCount *cc = cp->prefix_caps[i];
        const registry_unit *u = registry_find(reg, cc->unit);
        ingest_province ip;
        if (!u || ingest_province_get(ing, u->province, &ip) < 0) continue;
        if (dailycap_set(ip.prefix_cap, cc->agent_id, cc->unit, cc->day, cc->count) < 0) goto oom;
    }
    for (size_t i = 0; i < cp->n_caps; i++) {
        const Ispeed__V1__CapCount *cc = cp->caps[i];
        const registry_unit *u = registry_find(reg, cc->unit);
        ingest_province ip;
        if (!u || ingest_province_get(ing, u->province, &ip) < 0) continue;
        if (dailycap_set(ip.cap, cc->agent_id, cc->unit, cc->day, cc->count) < 0) goto oom;
    }
    for (size_t i = 0; i < cp->n_counts; i++) {
        const Ispeed__V1__UnitCount *uc = cp->counts[i];
        const registry_unit *u = registry_find(reg, uc->unit);
        if (!u || (uc->network != ISPEED__V1__NETWORK__NETWORK_FIXED && uc->network != ISPEED__V1__NETWORK__NETWORK_MOBILE))
            continue;
        /* More entries than a counter holds can only be a damaged record
         * or a future version's larger bound: quota_restore folds the names
         * beyond its bound into "other", so at most this many distinct
         * entries are needed. */
        quota_operator_count ops[QUOTA_OPERATORS_MAX];
        size_t nops = 0;
        for (size_t k = 0; k < uc->n_operators; k++) {
            const Ispeed__V1__OperatorCount *oc = uc->operators[k];
            if (nops == QUOTA_OPERATORS_MAX) { /* fold the excess into "other" */
                snprintf(ops[nops - 1].name, sizeof ops[nops - 1].name, "%s", QUOTA_OPERATOR_OTHER);
                ops[nops - 1].count += oc->count;
                continue;
            }
            snprintf(ops[nops].name, sizeof ops[nops].name, "%s", oc->operator_ ? oc->operator_ : "");
            ops[nops++].count = oc->count;
        }
        quota_cell_state st = {uc->count, uc->late_count, uc->count_5g, (enum quota_state)uc->state, uc->sketch.data,
                               uc->sketch.len, ops, nops, uc->agents.data, uc->agents.len, uc->unattested_count};
        if (quota_restore(qt, u, uc->month, (enum quota_network)uc->network, &st) < 0) {
            snprintf(err, errsz, "checkpoint counter %s/%s is damaged", uc->unit, uc->month);
            goto out;
        }
    }
    *next_offset = cp->next_offset;
    if (created_ms) *created_ms = cp->created_ms;
    if (provinces) *provinces = cp->n_provinces;
    rc = 0;
    goto out;
oom:
    snprintf(err, errsz, "out of memory restoring a checkpoint");
out:
    if (cp) ispeed__v1__collector_checkpoint__free_unpacked(cp, NULL);
    free(raw);
    return rc;
}
