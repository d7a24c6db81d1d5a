/* Separate chaining with power-of-two buckets: simple, and removal during
 * pruning needs no tombstones. */
#include "strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct node {
    struct node *next;
    uint64_t hash;
    void *value;
    char key[]; /* NUL-terminated copy */
};

struct strmap {
    struct node **buckets;
    size_t nbuckets; /* power of two */
    size_t size;
};

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

strmap_t *strmap_new(void) {
    strmap_t *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->nbuckets = 64;
    m->buckets = calloc(m->nbuckets, sizeof *m->buckets);
    if (!m->buckets) {
        free(m);
        return NULL;
    }
    return m;
}

void strmap_free(strmap_t *m, void (*free_value)(void *)) {
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

static struct node **find_slot(const strmap_t *m, const char *key, uint64_t h) {
    struct node **p = &m->buckets[h & (m->nbuckets - 1)];
    while (*p && ((*p)->hash != h || strcmp((*p)->key, key) != 0)) p = &(*p)->next;
    return p;
}

void *strmap_get(const strmap_t *m, const char *key) {
    struct node **p = find_slot(m, key, hash_str(key));
    return *p ? (*p)->value : NULL;
}

static void grow(strmap_t *m) {
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

int strmap_put(strmap_t *m, const char *key, void *value, void **old) {
    uint64_t h = hash_str(key);
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

void *strmap_remove(strmap_t *m, const char *key) {
    struct node **p = find_slot(m, key, hash_str(key));
    if (!*p) return NULL;
    struct node *n = *p;
    void *v = n->value;
    *p = n->next;
    free(n);
    m->size--;
    return v;
}

size_t strmap_size(const strmap_t *m) { return m->size; }

size_t strmap_remove_if(strmap_t *m, int (*pred)(const char *key, void *value, void *ctx), void *ctx,
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

void strmap_foreach(const strmap_t *m, int (*fn)(const char *key, void *value, void *ctx), void *ctx) {
    for (size_t i = 0; i < m->nbuckets; i++)
        for (struct node *n = m->buckets[i]; n; n = n->next)
            if (fn(n->key, n->value, ctx)) return;
}
