/* Writes the generated seed corpora, made by the code under test so they
 * follow its formats as they change: fuzz_ingest's valid records of each
 * mode (the loadgen's code, tools/loadgen/synth.c, for the fuzz target's
 * agent), fuzz_spool's real segments (agent/spool.c) and fuzz_checkpoint's
 * real checkpoints (collector/checkpoint.c). DIR/<target>/ each. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "agents.h"
#include "checkpoint.h"
#include "fuzz_common.h"
#include "ingest.h"
#include "log.h"
#include "quota.h"
#include "spool.h"
#include "synth.h"
#include "trust.h"

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

static int put_raw(const char *dir, const char *name, const uint8_t *head, size_t hlen, const uint8_t *v, size_t len) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(head, 1, hlen, f) != hlen || (len && fwrite(v, 1, len, f) != len)) {
        perror(path);
        if (f) fclose(f);
        return -1;
    }
    return fclose(f);
}

static int subdir(const char *dir, const char *name, char *out, size_t outsz) {
    snprintf(out, outsz, "%s/%s", dir, name);
    if (mkdir(out, 0755) < 0 && errno != EEXIST) {
        perror(out);
        return -1;
    }
    return 0;
}

static int read_all(const char *path, uint8_t **out, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    *out = NULL;
    *len = 0;
    uint8_t buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        uint8_t *g = realloc(*out, *len + n);
        if (!g) break;
        *out = g;
        memcpy(*out + *len, buf, n);
        *len += n;
    }
    fclose(f);
    return *len ? 0 : -1;
}

static int32_t owner0(const registry_unit *province, void *ctx) {
    (void)province;
    (void)ctx;
    return 0;
}

/* fuzz_checkpoint: the checkpoints of an empty state and of the samples
 * counted, as the topic holds them (mode 0) and as the CollectorCheckpoint
 * inside (mode 1). The registry is the fuzz target's. */
static int checkpoint_seeds(const char *top) {
    char dir[4096], path[] = "/tmp/ispeed-fuzz-seeds.XXXXXX", err[512];
    if (subdir(top, "fuzz_checkpoint", dir, sizeof dir) < 0) return -1;
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, FUZZ_REGISTRY_CSV, strlen(FUZZ_REGISTRY_CSV)) != (ssize_t)strlen(FUZZ_REGISTRY_CSV)) return -1;
    close(fd);
    registry_t *reg = registry_load(path, err, sizeof err);
    unlink(path);
    if (!reg) return -1;
    synth_agent a;
    uint8_t buf[SYNTH_RECORD_MAX];
    synth_agent_init(&a, FUZZ_AGENT_SEED, 0, registry_find(reg, FUZZ_COMMUNE), ISPEED__V1__NETWORK__NETWORK_FIXED);
    size_t n = synth_enrollment(&a, FUZZ_NOW_MS, buf, sizeof buf);
    agents_t *ag = agents_new();
    quota_config qc;
    ingest_config ic;
    quota_config_default(&qc);
    ingest_config_default(&ic);
    quota_counts_t *qt = quota_counts_new(reg, &qc, err, sizeof err);
    ingest_t *ing = qt ? ingest_new(reg, ag, NULL, qt, &ic, err, sizeof err) : NULL;
    int rc = -1;
    if (!ag || !ing || agents_apply(ag, a.id, strlen(a.id), buf, n, err, sizeof err) < 0) goto out;
    rng_t r;
    rng_seed(&r, 1);
    for (int step = 0; step < 3; step++) {
        uint8_t *z = NULL;
        size_t zlen;
        char name[64];
        /* step 0: nothing counted; 1: two samples; 2: twelve more, over the
         * daily cap, with one repeated. */
        int from = step == 0 ? 0 : step == 1 ? 0 : 2, to = step == 0 ? 0 : step == 1 ? 2 : 14;
        for (int i = from; i < to; i++) {
            synth_sample ss;
            enum reject_reason reason;
            char detail[256];
            synth_sample_fill(&ss, &a, "2025-03", (uint64_t)i + 1, FUZZ_NOW_MS - 3600000LL * (i + 1), &r);
            size_t sl = synth_sign(&ss.s, a.sk, a.id, buf, sizeof buf);
            ingest_sample(ing, 0, "01", 2, buf, sl, FUZZ_NOW_MS, FUZZ_NOW_MS, &reason, detail, sizeof detail);
            if (i == 5) ingest_sample(ing, 0, "01", 2, buf, sl, FUZZ_NOW_MS, FUZZ_NOW_MS, &reason, detail, sizeof detail);
        }
        quota_evaluate(qt, FUZZ_NOW_MS, NULL, NULL);
        if (checkpoint_encode(reg, ing, qt, "ispeed.samples", 0, 42 + step, FUZZ_NOW_MS, owner0, NULL, &z, &zlen, err,
                              sizeof err) < 0)
            goto out;
        unsigned long long raw = ZSTD_getFrameContentSize(z, zlen);
        uint8_t *pb = malloc(raw ? raw : 1);
        size_t got = pb ? ZSTD_decompress(pb, raw, z, zlen) : 0;
        uint8_t mode0 = 0, mode1 = 1;
        snprintf(name, sizeof name, "zstd-%d", step);
        int bad = put_raw(dir, name, &mode0, 1, z, zlen);
        snprintf(name, sizeof name, "proto-%d", step);
        bad |= !pb || ZSTD_isError(got) || put_raw(dir, name, &mode1, 1, pb, got);
        free(pb);
        free(z);
        if (bad) goto out;
    }
    rc = 0;
out:
    if (rc < 0) fprintf(stderr, "fuzz_seeds: checkpoint seeds: %s\n", err);
    ingest_free(ing);
    quota_counts_free(qt);
    agents_free(ag);
    registry_free(reg);
    return rc;
}

/* fuzz_spool: a real segment of three records (a sample, an enrollment, a
 * sample), raw and sealed, with and without a delivery mark, and cut in two
 * segments. Header: flags, first id, mark (fuzz_spool.c). */
static int spool_seeds(const char *top) {
    char dir[4096], sdir[] = "/tmp/ispeed-fuzz-spool-seed.XXXXXX", err[512], seg[4200];
    if (subdir(top, "fuzz_spool", dir, sizeof dir) < 0 || !mkdtemp(sdir)) return -1;
    spool_t *sp = spool_open(sdir, NULL, err, sizeof err);
    uint8_t value[SYNTH_RECORD_MAX];
    uint64_t id;
    int rc = -1;
    if (!sp) goto out;
    for (int i = 0; i < 3; i++) {
        memset(value, 'a' + i, sizeof value);
        if (spool_append(sp, i == 1 ? "agents" : "samples", i == 1 ? "ABCDEFGH" : "01", value, 100 + 50 * (size_t)i, &id,
                         err, sizeof err) < 0)
            goto out;
    }
    snprintf(seg, sizeof seg, "%s/%016x.seg", sdir, 1);
    uint8_t *data;
    size_t len;
    if (read_all(seg, &data, &len) < 0) {
        snprintf(err, sizeof err, "no segment %s", seg);
        goto out;
    }
    /* flags: 1 sealed, 2 fix CRCs, 4 mark, 8 two segments, 16 second sealed */
    static const uint8_t heads[][3] = {{0, 1, 0}, {1, 1, 0}, {4, 1, 1}, {8 | 16, 1, 0}, {2, 1, 0}, {4 | 8, 1, 2}};
    rc = 0;
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "segment-%zu", i);
        rc |= put_raw(dir, name, heads[i], 3, data, len);
    }
    free(data);
out:
    if (rc < 0) fprintf(stderr, "fuzz_seeds: spool seeds: %s\n", err);
    spool_close(sp);
    DIR *d = opendir(sdir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        char p[4200];
        if (de->d_name[0] == '.') continue;
        snprintf(p, sizeof p, "%s/%s", sdir, de->d_name);
        unlink(p);
    }
    if (d) closedir(d);
    rmdir(sdir);
    return rc;
}

/* fuzz_trust: a token and a receipt as common/trust.c makes them (byte 0
 * picks the decoder, as the target reads it). */
static int trust_seeds(const char *top) {
    char dir[4096], err[256], tok[TRUST_TOKEN_MAX_CHARS + 1];
    uint8_t pk[SIGN_PUBLIC_BYTES], sk[SIGN_SECRET_BYTES], sig[SIGN_SIGNATURE_BYTES], *rb = NULL;
    size_t rl = 0;
    int rc = 0;
    if (subdir(top, "fuzz_trust", dir, sizeof dir) < 0 || sign_keypair(pk, sk) < 0) return -1;
    trust_token t;
    memset(&t, 0, sizeof t);
    snprintf(t.province, sizeof t.province, "01");
    snprintf(t.communes[0], sizeof t.communes[0], FUZZ_COMMUNE);
    snprintf(t.communes[1], sizeof t.communes[1], "00007");
    t.ncommunes = 2;
    t.uses = 3;
    t.issued_ms = FUZZ_NOW_MS;
    t.expires_ms = FUZZ_NOW_MS + 30LL * 86400000LL;
    if (trust_token_issue(sk, &t, tok, sizeof tok, err, sizeof err) < 0) return -1;
    rc |= put_raw(dir, "token", (const uint8_t *)"\0", 1, (const uint8_t *)tok, strlen(tok));
    trust_receipt r;
    memset(&r, 0, sizeof r);
    sign_agent_id(pk, r.server_id);
    memcpy(r.agent_key, pk, sizeof r.agent_key);
    r.start_ms = FUZZ_NOW_MS;
    r.end_ms = r.issued_ms = FUZZ_NOW_MS + 20000;
    r.bytes_sent = 120000000;
    r.bytes_received = 48000000;
    snprintf(r.client_prefix, sizeof r.client_prefix, "2001:db8:1::/48");
    if (trust_receipt_sign(sk, &r, &rb, &rl, sig, err, sizeof err) < 0) return -1;
    rc |= put_raw(dir, "receipt", (const uint8_t *)"\1", 1, rb, rl);
    free(rb);
    return rc;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_seeds DIR\n");
        return 2;
    }
    if (sign_init() < 0) return 1;
    log_set_level(LOG_ERROR);
    char top[4096];
    snprintf(top, sizeof top, "%s", argv[1]);
    char ingest_dir[4096];
    if (trust_seeds(top) < 0) {
        fprintf(stderr, "fuzz_seeds: trust seeds failed\n");
        return 1;
    }
    if (subdir(top, "fuzz_ingest", ingest_dir, sizeof ingest_dir) < 0) return 1;
    argv[1] = ingest_dir;
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
    rc |= checkpoint_seeds(top);
    rc |= spool_seeds(top);
    return rc ? 1 : 0;
}
