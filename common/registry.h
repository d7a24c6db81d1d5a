/* The administrative registry: Vietnam's units as a tree of two levels
 * (province, commune) or three (province, district, commune), loaded from
 * the CSV "code,level,parent,name,type" of ../shared/data/README.md. */
#ifndef ISPEED_REGISTRY_H
#define ISPEED_REGISTRY_H

#include <stddef.h>

enum registry_level { REGISTRY_PROVINCE = 1, REGISTRY_DISTRICT = 2, REGISTRY_COMMUNE = 3 };

typedef struct registry_unit {
    const char *code;
    const char *name;
    const char *type;
    enum registry_level level;
    const struct registry_unit *parent;   /* NULL for a province */
    const struct registry_unit *province; /* itself for a province */
    size_t index;                         /* position in the registry, 0..size-1 */
} registry_unit;

typedef struct registry registry_t;

/* Loads and checks the whole file: every parent exists and sits one level up
 * (a commune's parent may be a province in a two-level registry), no code
 * twice. On failure returns NULL and says which line and what to fix. */
registry_t *registry_load(const char *path, char *err, size_t errsz);
/* Only one unit and the units above it, read in a few passes over the file
 * without keeping the rest in memory: for the agent, which needs its own
 * commune and province and nothing else. The other rows are not checked. */
registry_t *registry_load_branch(const char *path, const char *code, char *err, size_t errsz);
void registry_free(registry_t *reg);

const registry_unit *registry_find(const registry_t *reg, const char *code);
size_t registry_size(const registry_t *reg);
const registry_unit *registry_unit_at(const registry_t *reg, size_t i);
size_t registry_count(const registry_t *reg, enum registry_level level);
/* 2 or 3: whether the registry has a district level. */
int registry_depth(const registry_t *reg);
/* "province", "district", "commune". */
const char *registry_level_name(enum registry_level level);
int registry_parse_level(const char *s, enum registry_level *out);

#endif
