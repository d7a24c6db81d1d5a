/* libFuzzer target: the registry CSV (common/registry.c), loaded whole as
 * the collector and ispeedctl do (registry_load) and one branch as the
 * agent does (registry_load_branch), then walked. The file comes from the
 * GSO's data by way of whoever packages it; a bad row must be refused with
 * its line, never crash a program at start.
 *
 * Input: byte 0's low bit picks registry_load_branch, whose unit code is
 * the text up to the first newline; the rest is the file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const char *code) {
    fprintf(stderr, "fuzz_registry: %s%s%s\n", what, code ? ": " : "", code ? code : "");
    abort();
}

/* Every unit is found by its code, sits one level below its parent (a
 * commune under a province only without districts) and knows its province. */
static void check(const registry_t *reg) {
    size_t n = registry_size(reg), levels = 0;
    int depth = registry_depth(reg);
    if (depth != 2 && depth != 3) die("depth neither 2 nor 3", NULL);
    for (int l = REGISTRY_PROVINCE; l <= REGISTRY_COMMUNE; l++) levels += registry_count(reg, (enum registry_level)l);
    if (levels != n) die("per-level counts do not add up to the size", NULL);
    if (registry_count(reg, REGISTRY_PROVINCE) == 0 || registry_count(reg, REGISTRY_COMMUNE) == 0)
        die("loaded without a province or a commune", NULL);
    for (size_t i = 0; i < n; i++) {
        const registry_unit *u = registry_unit_at(reg, i);
        if (!u || u->index != i) die("unit index wrong", NULL);
        if (!u->code[0] || registry_find(reg, u->code) != u) die("unit not found by its code", u->code);
        if (!u->name || !u->type || strchr(u->code, ',') || strchr(u->code, '\n')) die("fields not split", u->code);
        if (u->level == REGISTRY_PROVINCE) {
            if (u->parent || u->province != u) die("province with a parent", u->code);
            continue;
        }
        if (!u->parent) die("unit without a parent", u->code);
        enum registry_level want =
            u->level == REGISTRY_COMMUNE && depth == 3 ? REGISTRY_DISTRICT : REGISTRY_PROVINCE;
        if (u->parent->level != want) die("parent at the wrong level", u->code);
        if (!u->province || u->province->level != REGISTRY_PROVINCE) die("province link wrong", u->code);
    }
    if (registry_unit_at(reg, n)) die("unit past the end", NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int branch = data[0] & 1;
    const uint8_t *file = data + 1;
    size_t flen = size - 1;
    char code[64] = "", path[64], err[512];
    if (branch) {
        const uint8_t *nl = memchr(file, '\n', flen);
        size_t cl = nl ? (size_t)(nl - file) : flen;
        if (cl >= sizeof code || memchr(file, '\0', cl)) return 0;
        memcpy(code, file, cl);
        code[cl] = '\0';
        if (nl) cl++;
        file += cl;
        flen -= cl;
    }
    /* A file in memory, by a path the loaders open like any other. */
    int fd = memfd_create("units.csv", MFD_CLOEXEC);
    if (fd < 0 || (flen && write(fd, file, flen) != (ssize_t)flen)) die("memfd", NULL);
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    registry_t *reg = branch ? registry_load_branch(path, code, err, sizeof err) : registry_load(path, err, sizeof err);
    close(fd);
    if (!reg) {
        if (!err[0]) die("refused without a message", NULL);
        return 0;
    }
    check(reg);
    if (branch) {
        const registry_unit *u = registry_find(reg, code);
        if (!u) die("branch loaded without its unit", code);
    }
    registry_free(reg);
    return 0;
}
