/* A string-keyed hash map for the collector's per-agent and per-key tables.
 * Keys are copied; values are the caller's. */
#ifndef ISPEED_COLLECTOR_STRMAP_H
#define ISPEED_COLLECTOR_STRMAP_H

#include <stddef.h>

typedef struct strmap strmap_t;

strmap_t *strmap_new(void);
/* free_value (may be NULL) is called on every remaining value. Accepts NULL. */
void strmap_free(strmap_t *m, void (*free_value)(void *));

void *strmap_get(const strmap_t *m, const char *key);
/* Inserts or replaces; the replaced value (or NULL) goes to *old when old is
 * not NULL. -1 when out of memory (the map is unchanged). */
int strmap_put(strmap_t *m, const char *key, void *value, void **old);
/* Removes key and returns its value, or NULL if absent. */
void *strmap_remove(strmap_t *m, const char *key);
size_t strmap_size(const strmap_t *m);
/* Removes every entry for which pred returns non-zero, passing its value to
 * free_value (may be NULL). Returns how many were removed. */
size_t strmap_remove_if(strmap_t *m, int (*pred)(const char *key, void *value, void *ctx), void *ctx,
                        void (*free_value)(void *));
/* Calls fn on every entry in no particular order; stops early when fn
 * returns non-zero. fn must not change the map. */
void strmap_foreach(const strmap_t *m, int (*fn)(const char *key, void *value, void *ctx), void *ctx);

#endif
