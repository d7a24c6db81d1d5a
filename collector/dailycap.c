/* Counts per "agent|unit|day" in a string map; the count lives in the value
 * pointer itself, so there is nothing else to allocate. */
#include "dailycap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"
#include "vntime.h"

struct dailycap {
    unsigned cap;
    strmap_t *counts;
};

dailycap_t *dailycap_new(unsigned cap) {
    dailycap_t *dc = calloc(1, sizeof *dc);
    if (!dc) return NULL;
    dc->cap = cap;
    if (!(dc->counts = strmap_new())) {
        free(dc);
        return NULL;
    }
    return dc;
}

void dailycap_free(dailycap_t *dc) {
    if (!dc) return;
    strmap_free(dc->counts, NULL);
    free(dc);
}

int64_t dailycap_day(int64_t ms) {
    int64_t t = ms + VNTIME_OFFSET_MS;
    return t / 86400000 - (t % 86400000 < 0);
}

int dailycap_take(dailycap_t *dc, const char *agent_id, const char *unit, int64_t day) {
    if (dc->cap == 0) return 0;
    char key[160];
    snprintf(key, sizeof key, "%lld|%s|%s", (long long)day, unit, agent_id);
    uintptr_t n = (uintptr_t)strmap_get(dc->counts, key);
    if (n >= dc->cap) return 1;
    if (strmap_put(dc->counts, key, (void *)(n + 1), NULL) < 0) return -1;
    return 0;
}

int dailycap_set(dailycap_t *dc, const char *agent_id, const char *unit, int64_t day, unsigned count) {
    char key[160];
    snprintf(key, sizeof key, "%lld|%s|%s", (long long)day, unit, agent_id);
    return strmap_put(dc->counts, key, (void *)(uintptr_t)count, NULL);
}

struct foreach_ctx {
    dailycap_fn fn;
    void *ctx;
};

/* Keys are "day|unit|agent"; unit codes and agent ids hold no '|'. */
static int foreach_one(const char *key, void *value, void *arg) {
    struct foreach_ctx *fc = arg;
    char buf[160], *unit, *agent;
    snprintf(buf, sizeof buf, "%s", key);
    if (!(unit = strchr(buf, '|')) || !(agent = strchr(unit + 1, '|'))) return 0;
    *unit++ = '\0';
    *agent++ = '\0';
    return fc->fn(agent, unit, strtoll(buf, NULL, 10), (unsigned)(uintptr_t)value, fc->ctx);
}

void dailycap_foreach(const dailycap_t *dc, dailycap_fn fn, void *ctx) {
    struct foreach_ctx fc = {fn, ctx};
    strmap_foreach(dc->counts, foreach_one, &fc);
}

static int older_than(const char *key, void *value, void *ctx) {
    (void)value;
    return strtoll(key, NULL, 10) < *(const int64_t *)ctx;
}

size_t dailycap_prune(dailycap_t *dc, int64_t oldest_day) {
    return strmap_remove_if(dc->counts, older_than, &oldest_day, NULL);
}
