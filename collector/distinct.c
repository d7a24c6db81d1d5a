/* Distinct agents per counter: a small exact set, then a HyperLogLog. */
#include "distinct.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Sized to what it holds: most communes have one or two volunteers, and a
 * counter exists for every unit and class, so a full 256-byte union each was
 * ~5 MiB of the collector's 64 MiB budget for 8-byte sets. The exact set
 * grows by doubling; the sketch is allocated when the set turns. */
struct distinct {
    uint8_t n;     /* hashes held while exact */
    uint8_t cap;   /* hashes hash[] has room for while exact */
    uint8_t exact; /* 1: hash[] holds the set; 0: REG(d) is the sketch */
    uint8_t fresh; /* estimate holds the sketch's count (registers rarely change once filled) */
    uint32_t estimate;
    /* Exact: cap hashes, ascending. Sketch: DISTINCT_HLL_REGS one-byte
     * registers over the same storage (REG). */
    uint64_t hash[];
};

#define REG(d) ((uint8_t *)(d)->hash)

#define EXACT_FIRST 2

static struct distinct *exact_new(size_t cap) {
    struct distinct *d = calloc(1, sizeof(struct distinct) + cap * sizeof(uint64_t));
    if (!d) return NULL;
    d->exact = 1;
    d->cap = (uint8_t)cap;
    return d;
}

static struct distinct *sketch_new(void) {
    return calloc(1, sizeof(struct distinct) + DISTINCT_HLL_REGS);
}

uint64_t distinct_hash(const char *id) {
    /* FNV-1a, then the splitmix64 finaliser: FNV alone leaves the high bits
     * that pick a register poorly mixed for short, similar ids. */
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++) h = (h ^ *p) * 1099511628211ull;
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return h;
}

static void hll_put(struct distinct *d, uint64_t h) {
    uint32_t idx = (uint32_t)(h >> (64 - DISTINCT_HLL_BITS));
    uint64_t rest = h << DISTINCT_HLL_BITS;
    uint8_t rank = rest ? (uint8_t)(__builtin_clzll(rest) + 1) : (uint8_t)(64 - DISTINCT_HLL_BITS + 1);
    if (rank > REG(d)[idx]) REG(d)[idx] = rank, d->fresh = 0;
}

int distinct_add_hash(distinct_t **dp, uint64_t h) {
    struct distinct *d = *dp;
    if (!d) {
        if (!(d = exact_new(EXACT_FIRST))) return -1;
        *dp = d;
    }
    if (!d->exact) {
        hll_put(d, h);
        return 0;
    }
    size_t lo = 0, hi = d->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (d->hash[mid] < h) lo = mid + 1;
        else hi = mid;
    }
    if (lo < d->n && d->hash[lo] == h) return 0;
    if (d->n < DISTINCT_EXACT_MAX) {
        if (d->n == d->cap) {
            size_t cap = (size_t)d->cap * 2 > DISTINCT_EXACT_MAX ? DISTINCT_EXACT_MAX : (size_t)d->cap * 2;
            struct distinct *g = realloc(d, sizeof(struct distinct) + cap * sizeof(uint64_t));
            if (!g) return -1;
            d = *dp = g;
            d->cap = (uint8_t)cap;
        }
        memmove(&d->hash[lo + 1], &d->hash[lo], (d->n - lo) * sizeof(uint64_t));
        d->hash[lo] = h;
        d->n++;
        return 0;
    }
    /* Past the bound: the set becomes a sketch of itself and the new one. */
    struct distinct *sk = sketch_new();
    if (!sk) return -1;
    for (size_t i = 0; i < d->n; i++) hll_put(sk, d->hash[i]);
    hll_put(sk, h);
    free(d);
    *dp = sk;
    return 0;
}

int distinct_add(distinct_t **d, const char *id) { return distinct_add_hash(d, distinct_hash(id ? id : "")); }

static uint32_t hll_estimate(const struct distinct *d);

uint32_t distinct_count(const distinct_t *d) {
    if (!d) return 0;
    if (d->exact) return d->n;
    if (!d->fresh) {
        /* A cache in a const object: the count is asked at every publish
         * and every simulated test, the registers change rarely. */
        struct distinct *w = (struct distinct *)d;
        w->estimate = hll_estimate(d);
        w->fresh = 1;
    }
    return d->estimate;
}

static uint32_t hll_estimate(const struct distinct *d) {
    const double m = DISTINCT_HLL_REGS;
    double sum = 0.0;
    unsigned zeros = 0;
    for (unsigned i = 0; i < DISTINCT_HLL_REGS; i++) {
        sum += 1.0 / (double)(1ull << REG(d)[i]); /* registers are at most 57 */
        zeros += REG(d)[i] == 0;
    }
    double alpha = 0.7213 / (1.0 + 1.079 / m);
    double e = alpha * m * m / sum;
    /* Small range: linear counting is the better estimate (Flajolet et al.). */
    if (e <= 2.5 * m && zeros) e = m * log(m / zeros);
    /* Never below what the exact set held when it turned. */
    if (e < DISTINCT_EXACT_MAX + 1) e = DISTINCT_EXACT_MAX + 1;
    return e > 4e9 ? 4000000000u : (uint32_t)(e + 0.5);
}

int distinct_is_exact(const distinct_t *d) { return !d || d->exact; }

size_t distinct_encode(const distinct_t *d, uint8_t *out) {
    if (!d || (d->exact && d->n == 0)) return 0;
    if (!d->exact) {
        out[0] = 2;
        memcpy(out + 1, REG(d), DISTINCT_HLL_REGS);
        return 1 + DISTINCT_HLL_REGS;
    }
    out[0] = 1;
    for (size_t i = 0; i < d->n; i++)
        for (int b = 0; b < 8; b++) out[1 + i * 8 + (size_t)b] = (uint8_t)(d->hash[i] >> (8 * b));
    return 1 + (size_t)d->n * 8;
}

int distinct_decode(distinct_t **dp, const uint8_t *in, size_t len) {
    if (len == 0) {
        distinct_free(*dp);
        *dp = NULL;
        return 0;
    }
    struct distinct *d;
    if (in[0] == 1 && (len - 1) % 8 == 0 && (len - 1) / 8 <= DISTINCT_EXACT_MAX) {
        size_t n = (len - 1) / 8;
        if (!(d = exact_new(n > EXACT_FIRST ? n : EXACT_FIRST))) return -1;
        for (size_t i = 0; i < n; i++) {
            uint64_t h = 0;
            for (int b = 0; b < 8; b++) h |= (uint64_t)in[1 + i * 8 + (size_t)b] << (8 * b);
            /* Strictly ascending, as encoded: anything else is damage. */
            if (i && h <= d->hash[i - 1]) goto bad;
            d->hash[i] = h;
            d->n++;
        }
    } else if (in[0] == 2 && len == 1 + DISTINCT_HLL_REGS) {
        if (!(d = sketch_new())) return -1;
        memcpy(REG(d), in + 1, DISTINCT_HLL_REGS);
        for (unsigned i = 0; i < DISTINCT_HLL_REGS; i++)
            if (REG(d)[i] > 64 - DISTINCT_HLL_BITS + 1) goto bad;
    } else {
        return -1;
    }
    distinct_free(*dp);
    *dp = d;
    return 0;
bad:
    free(d);
    return -1;
}

void distinct_free(distinct_t *d) { free(d); }
