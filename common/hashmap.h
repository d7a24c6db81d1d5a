/* The one hash map: string keys (copied), the caller's values, separate
 * chaining. Keys are hashed with SipHash-2-4 under a per-map random key
 * (SPEC: hash tables are seeded), so agent-chosen strings cannot be picked
 * to fall in one bucket. hashmap_hash serves tables that keep their own
 * layout (the registry's index). */
#ifndef ISPEED_HASHMAP_H
#define ISPEED_HASHMAP_H

#include <stddef.h>
#include <stdint.h>

#define HASHMAP_SEED_BYTES 16

typedef struct hashmap hashmap_t;

typedef struct hashmap_seed {
    unsigned char key[HASHMAP_SEED_BYTES];
} hashmap_seed;

/* A random seed from libsodium (randombytes_buf). */
void hashmap_seed_random(hashmap_seed *seed);
/* SipHash-2-4 of len bytes under seed. */
uint64_t hashmap_hash(const hashmap_seed *seed, const void *data, size_t len);

/* seed NULL: a random one (what programs want); tests may pass their own.
 * NULL when out of memory. */
hashmap_t *hashmap_new(const hashmap_seed *seed);
/* free_value (may be NULL) is called on every remaining value. Accepts NULL. */
void hashmap_free(hashmap_t *m, void (*free_value)(void *));

void *hashmap_get(const hashmap_t *m, const char *key);
/* Inserts or replaces; the replaced value (or NULL) goes to *old when old is
 * not NULL. -1 when out of memory (the map is unchanged). */
int hashmap_put(hashmap_t *m, const char *key, void *value, void **old);
/* Removes key and returns its value, or NULL if absent. */
void *hashmap_remove(hashmap_t *m, const char *key);
size_t hashmap_size(const hashmap_t *m);
/* Removes every entry for which pred returns non-zero, passing its value to
 * free_value (may be NULL). Returns how many were removed. */
size_t hashmap_remove_if(hashmap_t *m, int (*pred)(const char *key, void *value, void *ctx), void *ctx,
                         void (*free_value)(void *));
/* Calls fn on every entry in no particular order; stops early when fn
 * returns non-zero. fn must not change the map. */
void hashmap_foreach(const hashmap_t *m, int (*fn)(const char *key, void *value, void *ctx), void *ctx);

#endif
