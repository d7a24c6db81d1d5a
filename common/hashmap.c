/* Separate chaining with power-of-two buckets: simple, and removal during
 * pruning needs no tombstones. SipHash (libsodium's crypto_shorthash) under
 * a random key instead of FNV: FNV's collisions can be computed offline. */
#include "hashmap.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

struct node {
    struct node *next;
    uint64_t hash;
    void *value;
    char key[]; /* NUL-terminated copy */
};

struct hashmap {
    struct node **buckets;
    size_t nbuckets; /* power of two */
    size_t size;
    hashmap_seed seed;
};

void hashmap_seed_random(hashmap_seed *seed) {
    if (sodium_init() < 0) abort(); /* no randomness: nothing safe to do */
    randombytes_buf(seed->key, sizeof seed->key);
}

uint64_t hashmap_hash(const hashmap_seed *seed, const void *data, size_t len) {
    unsigned char out[crypto_shorthash_BYTES];
    uint64_t h;
    crypto_shorthash(out, data, len, seed->key);
    memcpy(&h, out, sizeof h);
    return h;
}

static uint64_t hash_str(const hashmap_t *m, const char *s) { return hashmap_hash(&m->seed, s, strlen(s)); }

hashmap_t *hashmap_new(const hashmap_seed *seed) {
    hashmap_t *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    if (seed)
        m->seed = *seed;
    else
        hashmap_seed_random(&m->seed);
    m->nbuckets = 64;
    m->buckets = calloc(m->nbuckets, sizeof *m->buckets);
    if (!m->buckets) {
        free(m);
        return NULL;
    }
    return m;
}

void hashmap_free(hashmap_t *m, void (*free_value)(void *)) {
    if (!m) return;
    for (size_t i = 0; i < m->nbuckets; i++) {
        struct node *n = m->buckets[i];
        while (n) {
            struct node *next = n->next;
            if (free_value) free_value(n->value);
            free(n);
            n = next;
        }
    }
    free(m->buckets);
    free(m);
}

static struct node **find_slot(const hashmap_t *m, const char *key, uint64_t h) {
    struct node **p = &m->buckets[h & (m->nbuckets - 1)];
    while (*p && ((*p)->hash != h || strcmp((*p)->key, key) != 0)) p = &(*p)->next;
    return p;
}

void *hashmap_get(const hashmap_t *m, const char *key) {
    struct node **p = find_slot(m, key, hash_str(m, key));
    return *p ? (*p)->value : NULL;
}

static void grow(hashmap_t *m) {
    size_t nb = m->nbuckets * 2;
    struct node **b = calloc(nb, sizeof *b);
    if (!b) return; /* stay at the old size: slower, still correct */
    for (size_t i = 0; i < m->nbuckets; i++) {
        struct node *n = m->buckets[i];
        while (n) {
            struct node *next = n->next;
            n->next = b[n->hash & (nb - 1)];
            b[n->hash & (nb - 1)] = n;
            n = next;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = nb;
}

int hashmap_put(hashmap_t *m, const char *key, void *value, void **old) {
    uint64_t h = hash_str(m, key);
    struct node **p = find_slot(m, key, h);
    if (*p) {
        if (old) *old = (*p)->value;
        (*p)->value = value;
        return 0;
    }
    size_t klen = strlen(key);
    struct node *n = malloc(sizeof *n + klen + 1);
    if (!n) return -1;
    memcpy(n->key, key, klen + 1);
    n->hash = h;
    n->value = value;
    n->next = NULL;
    *p = n;
    m->size++;
    if (old) *old = NULL;
    if (m->size > m->nbuckets) grow(m);
    return 0;
}

void *hashmap_remove(hashmap_t *m, const char *key) {
    struct node **p = find_slot(m, key, hash_str(m, key));
    if (!*p) return NULL;
    struct node *n = *p;
    void *v = n->value;
    *p = n->next;
    free(n);
    m->size--;
    return v;
}

size_t hashmap_size(const hashmap_t *m) { return m->size; }

size_t hashmap_remove_if(hashmap_t *m, int (*pred)(const char *key, void *value, void *ctx), void *ctx,
                         void (*free_value)(void *)) {
    size_t removed = 0;
    for (size_t i = 0; i < m->nbuckets; i++) {
        struct node **p = &m->buckets[i];
        while (*p) {
            struct node *n = *p;
            if (pred(n->key, n->value, ctx)) {
                *p = n->next;
                if (free_value) free_value(n->value);
                free(n);
                m->size--;
                removed++;
            } else {
                p = &n->next;
            }
        }
    }
    return removed;
}

void hashmap_foreach(const hashmap_t *m, int (*fn)(const char *key, void *value, void *ctx), void *ctx) {
    for (size_t i = 0; i < m->nbuckets; i++)
        for (struct node *n = m->buckets[i]; n; n = n->next)
            if (fn(n->key, n->value, ctx)) return;
}
