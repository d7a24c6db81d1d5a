/* The 2025-07 commune merges (old_commune,new_commune,kind): lets a sample
 * that names a commune of the older registry count for the commune it went
 * into, when that is unambiguous. */
#ifndef ISPEED_COLLECTOR_MERGES_H
#define ISPEED_COLLECTOR_MERGES_H

#include <stddef.h>

typedef struct merges merges_t;

merges_t *merges_load(const char *path, char *err, size_t errsz);
void merges_free(merges_t *mg);
/* The new commune for an old one: the "full" row, or the only row. NULL when
 * unknown or when the old commune was split (partial rows to several). */
const char *merges_find(const merges_t *mg, const char *old_commune);

#endif
