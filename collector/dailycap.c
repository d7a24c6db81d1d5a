/* Per agent, one small array of (day, unit, count), newest last. An agent
 * tests from one commune, on a few dozen days within the pruning horizon,
 * so this is 6 bytes per agent-day; a string map entry per
 * "day|unit|agent" took ~100 (50 MiB for a month of 20,000 agents).
 * Unit codes are interned per table (a province has a few hundred).
 * 16 bits each: days since 1970 last until 2149 (samples before 2020 are
 * refused by validation), a province has far fewer than 65,535 communes,
 * and a count stops at 65,535 (the cap is 12 by default). */
#include "dailycap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashmap.h"
#include "vntime.h"

struct day_count {
    uint16_t day;
    uint16_t unit;
    uint16_t count;
};

#define U16_MAX 0xffffu

struct agent_days {
    uint32_t n, cap;
    struct day_count e[];
};

struct dailycap {
    unsigned cap;
    hashmap_t *agents;   /* agent id -> struct agent_days * */
    hashmap_t *unit_ids; /* unit code -> index + 1 */
    char **units;       /* index -> code (the key copy is the map's; this is ours) */
    size_t nunits, capunits;
};

dailycap_t *dailycap_new(unsigned cap) {
    dailycap_t *dc = calloc(1, sizeof *dc);
    if (!dc) return NULL;
    dc->cap = cap;
    if (!(dc->agents = hashmap_new(NULL)) || !(dc->unit_ids = hashmap_new(NULL))) {
        dailycap_free(dc);
        return NULL;
    }
    return dc;
}

void dailycap_free(dailycap_t *dc) {
    if (!dc) return;
    hashmap_free(dc->agents, free);
    hashmap_free(dc->unit_ids, NULL);
    for (size_t i = 0; i < dc->nunits; i++) free(dc->units[i]);
    free(dc->units);
    free(dc);
}

int64_t dailycap_day(int64_t ms) {
    int64_t t = ms + VNTIME_OFFSET_MS;
    return t / 86400000 - (t % 86400000 < 0);
}

/* The unit's index, interned on first sight; -1 when out of memory. */
static int64_t unit_id(dailycap_t *dc, const char *unit) {
    uintptr_t id = (uintptr_t)hashmap_get(dc->unit_ids, unit);
    if (id) return (int64_t)id - 1;
    if (dc->nunits == dc->capunits) {
        size_t cap = dc->capunits ? dc->capunits * 2 : 64;
        char **nu = realloc(dc->units, cap * sizeof *nu);
        if (!nu) return -1;
        dc->units = nu;
        dc->capunits = cap;
    }
    char *copy = strdup(unit);
    if (!copy) return -1;
    if (hashmap_put(dc->unit_ids, unit, (void *)(uintptr_t)(dc->nunits + 1), NULL) < 0) {
        free(copy);
        return -1;
    }
    dc->units[dc->nunits] = copy;
    return (int64_t)dc->nunits++;
}

/* The entry of (agent, unit, day), created with count 0 when absent; NULL
 * when out of memory. */
static struct day_count *entry(dailycap_t *dc, const char *agent_id, const char *unit, int64_t day) {
    int64_t u = unit_id(dc, unit);
    if (u < 0 || u >= (int64_t)U16_MAX) return NULL;
    struct agent_days *ad = hashmap_get(dc->agents, agent_id);
    /* Newest last, and samples arrive roughly in time order: scan backwards. */
    for (uint32_t i = ad ? ad->n : 0; i-- > 0;)
        if (ad->e[i].day == (uint16_t)day && ad->e[i].unit == (uint16_t)u) return &ad->e[i];
    if (!ad || ad->n == ad->cap) {
        uint32_t cap = ad ? ad->cap * 2 : 4;
        struct agent_days *g = realloc(ad, sizeof *g + cap * sizeof g->e[0]);
        if (!g) return NULL;
        if (!ad) g->n = 0;
        g->cap = cap;
        /* Replacing the value of a key already there allocates nothing, so
         * only a new agent's insert can fail. */
        if (g != ad && hashmap_put(dc->agents, agent_id, g, NULL) < 0) {
            free(g);
            return NULL;
        }
        ad = g;
    }
    ad->e[ad->n] = (struct day_count){(uint16_t)day, (uint16_t)u, 0};
    return &ad->e[ad->n++];
}

int dailycap_take(dailycap_t *dc, const char *agent_id, const char *unit, int64_t day) {
    if (dc->cap == 0 || day < 0 || day >= (int64_t)U16_MAX) return 0;
    struct day_count *e = entry(dc, agent_id, unit, day);
    if (!e) return -1;
    if (e->count >= dc->cap) return 1;
    if (e->count < U16_MAX) e->count++;
    return 0;
}

int dailycap_set(dailycap_t *dc, const char *agent_id, const char *unit, int64_t day, unsigned count) {
    if (day < 0 || day >= (int64_t)U16_MAX) return 0; /* never taken: nothing to keep */
    struct day_count *e = entry(dc, agent_id, unit, day);
    if (!e) return -1;
    e->count = (uint16_t)(count > U16_MAX ? U16_MAX : count);
    return 0;
}

struct foreach_ctx {
    const dailycap_t *dc;
    dailycap_fn fn;
    void *ctx;
};

static int foreach_agent(const char *agent_id, void *value, void *arg) {
    struct foreach_ctx *fc = arg;
    const struct agent_days *ad = value;
    for (uint32_t i = 0; i < ad->n; i++)
        if (fc->fn(agent_id, fc->dc->units[ad->e[i].unit], ad->e[i].day, ad->e[i].count, fc->ctx)) return 1;
    return 0;
}

void dailycap_foreach(const dailycap_t *dc, dailycap_fn fn, void *ctx) {
    struct foreach_ctx fc = {dc, fn, ctx};
    hashmap_foreach(dc->agents, foreach_agent, &fc);
}

struct prune_ctx {
    int64_t oldest_day;
    size_t removed;
};

/* Drops the agent's old days in place; the agent goes when none is left. */
static int prune_agent(const char *agent_id, void *value, void *arg) {
    struct prune_ctx *pc = arg;
    struct agent_days *ad = value;
    uint32_t kept = 0;
    (void)agent_id;
    for (uint32_t i = 0; i < ad->n; i++)
        if ((int64_t)ad->e[i].day >= pc->oldest_day) ad->e[kept++] = ad->e[i];
    pc->removed += ad->n - kept;
    ad->n = kept;
    return kept == 0;
}

size_t dailycap_prune(dailycap_t *dc, int64_t oldest_day) {
    struct prune_ctx pc = {oldest_day, 0};
    hashmap_remove_if(dc->agents, prune_agent, &pc, free);
    return pc.removed;
}
