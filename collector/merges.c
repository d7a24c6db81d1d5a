/* Loaded into a map old -> new; an old commune split between several new ones
 * without a "full" row maps to an empty string (ambiguous). */
#include "merges.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashmap.h"

struct merges {
    hashmap_t *map; /* old -> struct target */
};

struct target {
    int full;
    int ambiguous;
    char code[];
};

merges_t *merges_load(const char *path, char *err, size_t errsz) {
    FILE *f = NULL;
    char *line = NULL;
    size_t cap = 0;
    size_t lineno = 0;
    merges_t *mg = calloc(1, sizeof *mg);
    if (!mg || !(mg->map = hashmap_new(NULL))) {
        snprintf(err, errsz, "out of memory");
        goto fail;
    }
    if (!(f = fopen(path, "r"))) {
        snprintf(err, errsz, "cannot read merges file %s: %s; check --merges", path, strerror(errno));
        goto fail;
    }
    while (getline(&line, &cap, f) >= 0) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (lineno == 1 && strncmp(line, "old_commune", 11) == 0) continue;
        if (line[0] == '\0') continue;
        char *oldc = line, *newc = strchr(line, ',');
        char *kind = newc ? strchr(newc + 1, ',') : NULL;
        if (!newc || !kind) {
            snprintf(err, errsz, "%s line %zu: want old_commune,new_commune,kind", path, lineno);
            goto fail;
        }
        *newc++ = '\0';
        *kind++ = '\0';
        int full = strcmp(kind, "full") == 0;
        struct target *t = hashmap_get(mg->map, oldc);
        if (t) {
            if (t->full) continue;
            if (!full) {
                if (strcmp(t->code, newc) != 0) t->ambiguous = 1;
                continue;
            }
            free(hashmap_remove(mg->map, oldc));
        }
        size_t n = strlen(newc);
        if (!(t = calloc(1, sizeof *t + n + 1))) {
            snprintf(err, errsz, "out of memory");
            goto fail;
        }
        t->full = full;
        memcpy(t->code, newc, n + 1);
        if (hashmap_put(mg->map, oldc, t, NULL) < 0) {
            free(t);
            snprintf(err, errsz, "out of memory");
            goto fail;
        }
    }
    free(line);
    fclose(f);
    return mg;
fail:
    free(line);
    if (f) fclose(f);
    merges_free(mg);
    return NULL;
}

void merges_free(merges_t *mg) {
    if (!mg) return;
    hashmap_free(mg->map, free);
    free(mg);
}

const char *merges_find(const merges_t *mg, const char *old_commune) {
    const struct target *t = hashmap_get(mg->map, old_commune);
    if (!t || (t->ambiguous && !t->full)) return NULL;
    return t->code;
}
