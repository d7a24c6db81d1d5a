/* Registry loader: one pass to read rows, one to link parents, so rows may
 * come in any order. Units live in one array; a hash table on the code
 * finds them. */
#include "registry.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "hashmap.h"

struct registry {
    registry_unit *units;
    size_t n, cap;
    char **parent_codes; /* per unit, until linked */
    size_t *slots;       /* open-addressing table of index+1, 0 = empty */
    size_t nslots;
    hashmap_seed seed;   /* seeded, as every table keyed by outside text */
    size_t per_level[4];
    char *text;          /* the file; every string points into it */
};

const char *registry_level_name(enum registry_level level) {
    switch (level) {
    case REGISTRY_PROVINCE: return "province";
    case REGISTRY_DISTRICT: return "district";
    case REGISTRY_COMMUNE: return "commune";
    }
    return "?";
}

int registry_parse_level(const char *s, enum registry_level *out) {
    for (int l = REGISTRY_PROVINCE; l <= REGISTRY_COMMUNE; l++) {
        if (strcmp(s, registry_level_name((enum registry_level)l)) == 0) {
            *out = (enum registry_level)l;
            return 0;
        }
    }
    return -1;
}

static size_t *slot_for(const registry_t *reg, const char *code) {
    size_t i = (size_t)hashmap_hash(&reg->seed, code, strlen(code)) & (reg->nslots - 1);
    for (;;) {
        size_t *s = &reg->slots[i];
        if (*s == 0 || strcmp(reg->units[*s - 1].code, code) == 0) return s;
        i = (i + 1) & (reg->nslots - 1);
    }
}

const registry_unit *registry_find(const registry_t *reg, const char *code) {
    if (!reg || !code || reg->nslots == 0) return NULL;
    size_t *s = slot_for(reg, code);
    return *s ? &reg->units[*s - 1] : NULL;
}

static char *read_file(const char *path, char *err, size_t errsz) {
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long len;
    if (!f) {
        snprintf(err, errsz, "cannot read registry %s: %s (give a CSV of code,level,parent,name,type with --units)",
                 path, strerror(errno));
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) goto fail;
    buf = malloc((size_t)len + 1);
    if (!buf) goto fail;
    if (fread(buf, 1, (size_t)len, f) != (size_t)len) goto fail;
    buf[len] = '\0';
    fclose(f);
    return buf;
fail:
    snprintf(err, errsz, "cannot read registry %s: %s", path, strerror(errno ? errno : EIO));
    free(buf);
    fclose(f);
    return NULL;
}

static int add_unit(registry_t *reg, char *fields[5], size_t lineno, const char *path, char *err, size_t errsz) {
    enum registry_level level;
    if (fields[0][0] == '\0') {
        snprintf(err, errsz, "registry %s line %zu: empty code; every row needs a unit code", path, lineno);
        return -1;
    }
    if (registry_parse_level(fields[1], &level) < 0) {
        snprintf(err, errsz, "registry %s line %zu: unknown level '%s'; use province, district or commune",
                 path, lineno, fields[1]);
        return -1;
    }
    if (level == REGISTRY_PROVINCE && fields[2][0] != '\0') {
        snprintf(err, errsz, "registry %s line %zu: province %s has a parent '%s'; leave it empty",
                 path, lineno, fields[0], fields[2]);
        return -1;
    }
    if (level != REGISTRY_PROVINCE && fields[2][0] == '\0') {
        snprintf(err, errsz, "registry %s line %zu: %s %s has no parent; give the code of the unit above it",
                 path, lineno, fields[1], fields[0]);
        return -1;
    }
    if (reg->n == reg->cap) {
        size_t cap = reg->cap ? reg->cap * 2 : 1024;
        registry_unit *u = realloc(reg->units, cap * sizeof *u);
        if (!u) goto oom;
        reg->units = u;
        char **pc = realloc(reg->parent_codes, cap * sizeof *pc);
        if (!pc) goto oom;
        reg->parent_codes = pc;
        reg->cap = cap;
    }
    registry_unit *u = &reg->units[reg->n];
    memset(u, 0, sizeof *u);
    u->code = fields[0];
    u->level = level;
    u->name = fields[3];
    u->type = fields[4];
    u->index = reg->n;
    reg->parent_codes[reg->n] = fields[2];
    reg->n++;
    reg->per_level[level]++;
    return 0;
oom:
    snprintf(err, errsz, "registry %s: out of memory", path);
    return -1;
}

static int build_index(registry_t *reg, const char *path, char *err, size_t errsz) {
    hashmap_seed_random(&reg->seed);
    reg->nslots = 16;
    while (reg->nslots < reg->n * 2) reg->nslots <<= 1;
    reg->slots = calloc(reg->nslots, sizeof *reg->slots);
    if (!reg->slots) {
        snprintf(err, errsz, "registry %s: out of memory", path);
        return -1;
    }
    for (size_t i = 0; i < reg->n; i++) {
        size_t *s = slot_for(reg, reg->units[i].code);
        if (*s) {
            snprintf(err, errsz, "registry %s: code %s appears twice; each unit must have one row",
                     path, reg->units[i].code);
            return -1;
        }
        *s = i + 1;
    }
    return 0;
}

static int link_parents(registry_t *reg, const char *path, char *err, size_t errsz) {
    int has_districts = reg->per_level[REGISTRY_DISTRICT] > 0;
    for (size_t i = 0; i < reg->n; i++) {
        registry_unit *u = &reg->units[i];
        if (u->level == REGISTRY_PROVINCE) continue;
        const registry_unit *p = registry_find(reg, reg->parent_codes[i]);
        if (!p) {
            snprintf(err, errsz, "registry %s: %s %s names parent %s, which is not in the file; add that unit or fix the code",
                     path, registry_level_name(u->level), u->code, reg->parent_codes[i]);
            return -1;
        }
        enum registry_level want = u->level == REGISTRY_COMMUNE && has_districts ? REGISTRY_DISTRICT : REGISTRY_PROVINCE;
        if (p->level != want) {
            snprintf(err, errsz, "registry %s: %s %s has parent %s, a %s; its parent must be a %s",
                     path, registry_level_name(u->level), u->code, p->code, registry_level_name(p->level),
                     registry_level_name(want));
            return -1;
        }
        u->parent = p;
    }
    for (size_t i = 0; i < reg->n; i++) {
        registry_unit *u = &reg->units[i];
        const registry_unit *p = u;
        while (p->parent) p = p->parent;
        u->province = p;
    }
    return 0;
}

/* Parses reg->text (taken over by reg) and links the tree. */
static registry_t *registry_parse(registry_t *reg, const char *path, char *err, size_t errsz) {
    size_t line = 0, first = 1, n;
    char *cursor = reg->text, *fields[6];
    for (;;) {
        /* RFC 4180: a name with a comma or a quote arrives quoted, as
         * ispeedctl and spreadsheets write it. */
        /* Blank lines first, so that lineno is the record's own line. */
        while (*cursor == '\n' || (*cursor == '\r' && cursor[1] == '\n')) {
            cursor += *cursor == '\r' ? 2 : 1;
            line++;
        }
        size_t lineno = line + 1;
        int rc = csv_next(&cursor, fields, 6, &n, &line);
        if (rc == 0) break;
        if (rc < 0 || n != 5) {
            snprintf(err, errsz, "registry %s line %zu: expected 5 fields code,level,parent,name,type%s", path, lineno,
                     rc == CSV_MALFORMED ? " (a quote is not closed, or text follows a closing quote)" : "");
            goto fail;
        }
        if (first && strcmp(fields[0], "code") == 0) {
            first = 0;
            continue; /* header */
        }
        first = 0;
        if (add_unit(reg, fields, lineno, path, err, errsz) < 0) goto fail;
    }
    if (reg->per_level[REGISTRY_PROVINCE] == 0 || reg->per_level[REGISTRY_COMMUNE] == 0) {
        snprintf(err, errsz, "registry %s: needs at least one province and one commune", path);
        goto fail;
    }
    if (build_index(reg, path, err, errsz) < 0) goto fail;
    if (link_parents(reg, path, err, errsz) < 0) goto fail;
    free(reg->parent_codes);
    reg->parent_codes = NULL;
    return reg;
fail:
    registry_free(reg);
    return NULL;
}

registry_t *registry_load(const char *path, char *err, size_t errsz) {
    registry_t *reg = calloc(1, sizeof *reg);
    if (!reg) {
        snprintf(err, errsz, "registry %s: out of memory", path);
        return NULL;
    }
    reg->text = read_file(path, err, errsz);
    if (!reg->text) {
        free(reg);
        return NULL;
    }
    return registry_parse(reg, path, err, errsz);
}

/* One pass over the file for the row of code; appends it to *text. Returns
 * 1 if found (and sets parent), 0 if not, -1 on a read error. */
static int branch_find_row(FILE *f, const char *code, char **text, size_t *textlen, char *parent, size_t parentsz) {
    char *line = NULL;
    size_t cap = 0, clen = strlen(code);
    ssize_t n;
    int found = 0;
    rewind(f);
    while ((n = getline(&line, &cap, f)) > 0) {
        if (strncmp(line, code, clen) != 0 || line[clen] != ',') continue;
        char *grown = realloc(*text, *textlen + (size_t)n + 2);
        if (!grown) break;
        *text = grown;
        memcpy(*text + *textlen, line, (size_t)n);
        *textlen += (size_t)n;
        if ((*text)[*textlen - 1] != '\n') (*text)[(*textlen)++] = '\n';
        (*text)[*textlen] = '\0';
        /* code,level,parent,... */
        const char *p = strchr(line + clen + 1, ',');
        size_t plen = p ? strcspn(p + 1, ",") : 0;
        if (plen >= parentsz) plen = parentsz - 1;
        if (p) memcpy(parent, p + 1, plen);
        parent[plen] = '\0';
        found = 1;
        break;
    }
    int failed = ferror(f);
    free(line);
    return failed ? -1 : found;
}

registry_t *registry_load_branch(const char *path, const char *code, char *err, size_t errsz) {
    char want[64], parent[64];
    char *text = NULL;
    size_t textlen = 0;
    registry_t *reg = NULL;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errsz, "cannot read registry %s: %s (give a CSV of code,level,parent,name,type with --units)",
                 path, strerror(errno));
        return NULL;
    }
    if (!code[0] || strlen(code) >= sizeof want) {
        snprintf(err, errsz, "unit code '%.20s' is not a GSO code of the registry %s", code, path);
        fclose(f);
        return NULL;
    }
    snprintf(want, sizeof want, "%s", code);
    /* Commune, district, province: at most three levels above nothing. */
    for (int depth = 0; want[0] && depth < 4; depth++) {
        int rc = branch_find_row(f, want, &text, &textlen, parent, sizeof parent);
        if (rc < 0) {
            snprintf(err, errsz, "cannot read registry %s: %s", path, strerror(errno));
            goto out;
        }
        if (rc == 0) {
            if (depth == 0)
                snprintf(err, errsz, "unknown unit code '%s' in %s", code, path);
            else
                snprintf(err, errsz, "registry %s: unit %s names parent %s, which is not in the file", path, code, want);
            goto out;
        }
        memcpy(want, parent, sizeof want);
    }
    reg = calloc(1, sizeof *reg);
    if (!reg) {
        snprintf(err, errsz, "registry %s: out of memory", path);
        goto out;
    }
    reg->text = text;
    text = NULL;
    reg = registry_parse(reg, path, err, errsz);
out:
    free(text);
    fclose(f);
    return reg;
}

void registry_free(registry_t *reg) {
    if (!reg) return;
    free(reg->units);
    free(reg->parent_codes);
    free(reg->slots);
    free(reg->text);
    free(reg);
}

size_t registry_size(const registry_t *reg) { return reg->n; }

const registry_unit *registry_unit_at(const registry_t *reg, size_t i) {
    return i < reg->n ? &reg->units[i] : NULL;
}

size_t registry_count(const registry_t *reg, enum registry_level level) { return reg->per_level[level]; }

int registry_depth(const registry_t *reg) { return reg->per_level[REGISTRY_DISTRICT] ? 3 : 2; }
