#include "sketch.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SK_RATIO 1.1
#define SK_BPS_MIN 1000.0 /* bucket 0 is everything below 1 kbit/s */
#define SK_BPS_N 200      /* up to 1000 * 1.1^199 > 100 Gbit/s */
#define SK_MS_MIN 0.1
#define SK_MS_N 130 /* up to 0.1 * 1.1^129 > 20,000 s */
#define SK_N (2 * SK_BPS_N + SK_MS_N)

/* A sparse entry is (bucket << 16 | count). Past SPARSE_MAX entries (512
 * bytes, a quarter of a dense sketch) the list's inserts get slow and its
 * saving small, so it turns dense. */
#define SPARSE_MAX 128
#define SPARSE_GROW 8
#define DENSE UINT16_MAX
#define ENTRY_COUNT_MAX 0xffffu

struct sketch {
    uint16_t n;   /* sparse entries in use */
    uint16_t cap; /* sparse entries allocated, or DENSE: v holds SK_N counts */
    uint32_t v[];
};

static const struct {
    size_t first, n;
    double min;
} figure[3] = {{0, SK_BPS_N, SK_BPS_MIN}, {SK_BPS_N, SK_BPS_N, SK_BPS_MIN}, {2 * SK_BPS_N, SK_MS_N, SK_MS_MIN}};

static size_t bucket_of(enum sketch_figure f, double v) {
    double min = figure[f].min;
    size_t n = figure[f].n;
    if (!(v > min)) return figure[f].first;
    double i = log(v / min) / log(SK_RATIO) + 1.0;
    return figure[f].first + (i >= (double)(n - 1) ? n - 1 : (size_t)i);
}

static double bucket_value(enum sketch_figure f, size_t i) {
    if (i == 0) return figure[f].min;
    return figure[f].min * pow(SK_RATIO, (double)i - 0.5);
}

static sketch_t *to_dense(const sketch_t *sk) {
    sketch_t *d = calloc(1, sizeof *d + SK_N * sizeof d->v[0]);
    if (!d) return NULL;
    d->cap = DENSE;
    for (size_t i = 0; sk && i < sk->n; i++) d->v[sk->v[i] >> 16] = sk->v[i] & ENTRY_COUNT_MAX;
    return d;
}

/* First sparse entry whose bucket is >= b. */
static size_t lower_bound(const sketch_t *sk, size_t b) {
    size_t lo = 0, hi = sk->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if ((sk->v[mid] >> 16) < b)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Adds cnt to bucket b; may move the sketch (sparse growth, dense switch). */
static int add_count(sketch_t **skp, size_t b, uint32_t cnt) {
    sketch_t *sk = *skp;
    if (sk && sk->cap == DENSE) {
        sk->v[b] = sk->v[b] + cnt < sk->v[b] ? UINT32_MAX : sk->v[b] + cnt;
        return 0;
    }
    size_t i = sk ? lower_bound(sk, b) : 0;
    int found = sk && i < sk->n && (sk->v[i] >> 16) == b;
    uint32_t have = found ? (sk->v[i] & ENTRY_COUNT_MAX) : 0;
    if (have + (uint64_t)cnt > ENTRY_COUNT_MAX || (!found && sk && sk->n == SPARSE_MAX)) {
        sketch_t *d = to_dense(sk);
        if (!d) return -1;
        free(sk);
        *skp = d;
        return add_count(skp, b, cnt);
    }
    if (found) {
        sk->v[i] += cnt;
        return 0;
    }
    if (!sk || sk->n == sk->cap) {
        /* By SPARSE_GROW entries, not doubling: ~21,000 counters hold a
         * month's sketches, and doubling left a quarter of them unused on
         * average (about 2.5 MiB at 850,000 samples). A realloc per 8 new
         * buckets is nothing against a sample's signature check. */
        uint16_t cap = sk ? (uint16_t)(sk->cap + SPARSE_GROW > SPARSE_MAX ? SPARSE_MAX : sk->cap + SPARSE_GROW)
                          : SPARSE_GROW / 2;
        sketch_t *g = realloc(sk, sizeof *g + cap * sizeof g->v[0]);
        if (!g) return -1;
        if (!sk) g->n = 0;
        g->cap = cap;
        *skp = sk = g;
    }
    memmove(&sk->v[i + 1], &sk->v[i], (sk->n - i) * sizeof sk->v[0]);
    sk->v[i] = (uint32_t)b << 16 | cnt;
    sk->n++;
    return 0;
}

int sketch_add(sketch_t **sk, enum sketch_figure f, double v) {
    if (!(v > 0.0)) return 0;
    return add_count(sk, bucket_of(f, v), 1);
}

double sketch_median(const sketch_t *sk, enum sketch_figure f) {
    size_t first = figure[f].first, end = first + figure[f].n;
    uint64_t total = 0, seen = 0;
    if (!sk) return 0.0;
    if (sk->cap == DENSE) {
        for (size_t i = first; i < end; i++) total += sk->v[i];
        for (size_t i = first; total && i < end; i++) {
            seen += sk->v[i];
            if (2 * seen >= total) return bucket_value(f, i - first);
        }
        return 0.0;
    }
    size_t lo = lower_bound(sk, first), hi = lower_bound(sk, end);
    for (size_t i = lo; i < hi; i++) total += sk->v[i] & ENTRY_COUNT_MAX;
    for (size_t i = lo; total && i < hi; i++) {
        seen += sk->v[i] & ENTRY_COUNT_MAX;
        if (2 * seen >= total) return bucket_value(f, (sk->v[i] >> 16) - first);
    }
    return 0.0;
}

static size_t put_varint(uint8_t *out, uint64_t v) {
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

static int get_varint(const uint8_t *in, size_t len, size_t *pos, uint64_t *v) {
    *v = 0;
    for (unsigned shift = 0; *pos < len && shift < 64; shift += 7) {
        uint8_t b = in[(*pos)++];
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return 0;
    }
    return -1;
}

/* SK_N buckets of at most 2 + 5 bytes each fit SKETCH_ENCODED_MAX. */
size_t sketch_encode(const sketch_t *sk, uint8_t *out) {
    size_t n = 0, last = 0;
    if (!sk) return 0;
    if (sk->cap == DENSE) {
        for (size_t i = 0; i < SK_N; i++) {
            if (!sk->v[i]) continue;
            n += put_varint(out + n, i - last);
            n += put_varint(out + n, sk->v[i]);
            last = i;
        }
        return n;
    }
    for (size_t i = 0; i < sk->n; i++) {
        size_t b = sk->v[i] >> 16;
        n += put_varint(out + n, b - last);
        n += put_varint(out + n, sk->v[i] & ENTRY_COUNT_MAX);
        last = b;
    }
    return n;
}

int sketch_decode(sketch_t **skp, const uint8_t *in, size_t len) {
    sketch_t *sk = NULL;
    size_t pos = 0, b = 0;
    while (pos < len) {
        uint64_t gap, cnt;
        if (get_varint(in, len, &pos, &gap) < 0 || get_varint(in, len, &pos, &cnt) < 0) goto bad;
        if (gap >= SK_N || (b += gap) >= SK_N || cnt > UINT32_MAX) goto bad;
        if (cnt && add_count(&sk, b, (uint32_t)cnt) < 0) goto bad;
    }
    sketch_free(*skp);
    *skp = sk;
    return 0;
bad:
    sketch_free(sk);
    return -1;
}

size_t sketch_bytes(const sketch_t *sk) {
    if (!sk) return 0;
    return sizeof *sk + (sk->cap == DENSE ? SK_N : sk->cap) * sizeof sk->v[0];
}

void sketch_free(sketch_t *sk) { free(sk); }
