/* Writes the seed corpus of fuzz_ingest: valid records of each mode, made by
 * the loadgen's code (tools/loadgen/synth.c) for the fuzz target's agent. */
#include <stdio.h>
#include <string.h>

#include "fuzz_common.h"
#include "synth.h"

static registry_unit unit_of(const char *code, enum registry_level lvl, const registry_unit *parent) {
    registry_unit u = {0};
    u.code = code;
    u.level = lvl;
    u.parent = parent;
    return u;
}

static int put(const char *dir, const char *name, int mode, const char *key, const uint8_t *v, size_t len) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return -1;
    }
    fputc(mode, f);
    fputc((int)strlen(key), f);
    fputs(key, f);
    fwrite(v, 1, len, f);
    return fclose(f);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_seeds DIR\n");
        return 2;
    }
    if (sign_init() < 0) return 1;
    registry_unit prov = unit_of("01", REGISTRY_PROVINCE, NULL), dist = unit_of("001", REGISTRY_DISTRICT, &prov),
                  com = unit_of(FUZZ_COMMUNE, REGISTRY_COMMUNE, &dist);
    prov.province = &prov;
    dist.province = com.province = &prov;
    synth_agent a;
    synth_agent_init(&a, FUZZ_AGENT_SEED, 0, &com, ISPEED__V1__NETWORK__NETWORK_FIXED);
    uint8_t buf[SYNTH_RECORD_MAX], body[SYNTH_RECORD_MAX];
    rng_t r;
    rng_seed(&r, 1);
    int rc = 0;
    for (int i = 0; i < 4; i++) {
        synth_sample ss;
        char name[64];
        synth_sample_fill(&ss, &a, "2025-03", (uint64_t)i + 1, FUZZ_NOW_MS - 3600000LL * (i + 1), &r);
        if (i == 3) a.network = ISPEED__V1__NETWORK__NETWORK_MOBILE;
        size_t n = synth_sign(&ss.s, a.sk, a.id, buf, sizeof buf);
        snprintf(name, sizeof name, "signed-%d", i);
        rc |= put(argv[1], name, FUZZ_SIGNED, "01", buf, n);
        size_t bn = protobuf_c_message_pack(&ss.s.base, body);
        snprintf(name, sizeof name, "sample-%d", i);
        rc |= put(argv[1], name, FUZZ_RESIGN, "01", body, bn);
    }
    size_t n = synth_enrollment(&a, FUZZ_NOW_MS, buf, sizeof buf);
    rc |= put(argv[1], "enroll", FUZZ_ENROLL, "", buf, n);
    synth_agent b;
    synth_agent_init(&b, FUZZ_AGENT_SEED, 1, &com, ISPEED__V1__NETWORK__NETWORK_FIXED);
    n = synth_enrollment(&b, FUZZ_NOW_MS, buf, sizeof buf);
    rc |= put(argv[1], "enroll-other", FUZZ_ENROLL, "", buf, n);
    return rc ? 1 : 0;
}
