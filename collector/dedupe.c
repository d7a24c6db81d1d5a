/* Per-agent sliding window of sequence numbers. Bit i of the window is
 * sequence (high - i); bit 0 is high itself. */
#include "dedupe.h"

#include <stdlib.h>
#include <string.h>

#include "hashmap.h"

#define WORDS (DEDUPE_WINDOW / 64)

struct mark {
    uint64_t high;
    uint64_t bits[WORDS];
};

struct dedupe {
    hashmap_t *agents; /* agent_id -> struct mark */
};

dedupe_t *dedupe_new(void) {
    dedupe_t *dd = calloc(1, sizeof *dd);
    if (!dd) return NULL;
    if (!(dd->agents = hashmap_new(NULL))) {
        free(dd);
        return NULL;
    }
    return dd;
}

void dedupe_free(dedupe_t *dd) {
    if (!dd) return;
    hashmap_free(dd->agents, free);
    free(dd);
}

/* Moves every bit d positions towards "older"; what falls off the end is
 * forgotten. */
static void shift_older(uint64_t bits[WORDS], uint64_t d) {
    if (d >= DEDUPE_WINDOW) {
        memset(bits, 0, WORDS * sizeof bits[0]);
        return;
    }
    size_t ws = (size_t)(d / 64);
    unsigned bs = (unsigned)(d % 64);
    for (size_t i = WORDS; i-- > 0;) {
        uint64_t v = 0;
        if (i >= ws) {
            v = bits[i - ws] << bs;
            if (bs && i > ws) v |= bits[i - ws - 1] >> (64 - bs);
        }
        bits[i] = v;
    }
}

int dedupe_mark(dedupe_t *dd, const char *agent_id, uint64_t seq) {
    struct mark *mk = hashmap_get(dd->agents, agent_id);
    if (!mk) {
        if (!(mk = calloc(1, sizeof *mk))) return -1;
        mk->high = seq;
        mk->bits[0] = 1;
        if (hashmap_put(dd->agents, agent_id, mk, NULL) < 0) {
            free(mk);
            return -1;
        }
        return DEDUPE_NEW;
    }
    if (seq > mk->high) {
        shift_older(mk->bits, seq - mk->high);
        mk->high = seq;
        mk->bits[0] |= 1;
        return DEDUPE_NEW;
    }
    uint64_t d = mk->high - seq;
    if (d >= DEDUPE_WINDOW) return DEDUPE_TOO_OLD;
    uint64_t bit = 1ULL << (d % 64);
    if (mk->bits[d / 64] & bit) return DEDUPE_SEEN;
    mk->bits[d / 64] |= bit;
    return DEDUPE_NEW;
}

size_t dedupe_agents(const dedupe_t *dd) { return hashmap_size(dd->agents); }

struct foreach_ctx {
    dedupe_mark_fn fn;
    void *ctx;
};

static int foreach_one(const char *key, void *value, void *arg) {
    const struct mark *mk = value;
    struct foreach_ctx *fc = arg;
    uint8_t win[DEDUPE_WINDOW / 8];
    for (size_t i = 0; i < sizeof win; i++) win[i] = (uint8_t)(mk->bits[i / 8] >> (8 * (i % 8)));
    return fc->fn(key, mk->high, win, sizeof win, fc->ctx);
}

void dedupe_foreach(const dedupe_t *dd, dedupe_mark_fn fn, void *ctx) {
    struct foreach_ctx fc = {fn, ctx};
    hashmap_foreach(dd->agents, foreach_one, &fc);
}

int dedupe_restore(dedupe_t *dd, const char *agent_id, uint64_t high, const uint8_t *window, size_t len) {
    struct mark *mk = calloc(1, sizeof *mk);
    void *old = NULL;
    if (!mk) return -1;
    mk->high = high;
    for (size_t i = 0; i < len && i < DEDUPE_WINDOW / 8; i++) mk->bits[i / 8] |= (uint64_t)window[i] << (8 * (i % 8));
    if (hashmap_put(dd->agents, agent_id, mk, &old) < 0) {
        free(mk);
        return -1;
    }
    free(old);
    return 0;
}
