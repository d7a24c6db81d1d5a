/* libFuzzer target: a record of <prefix>collector.state restored by the
 * collector (collector/checkpoint.c: checkpoint_restore, and through it
 * dedupe_restore, dailycap_set, quota_restore and the medians' sketches),
 * then used: samples counted on the restored state, the pace evaluated, the
 * state checkpointed again and that checkpoint restored. The state topic is
 * written by any collector of the group, a damaged or foreign record must
 * be refused or restored, never crash the next owner.
 *
 * Input: byte 0 picks the mode: the bytes as the topic holds them (a zstd
 * frame), or a CollectorCheckpoint the harness compresses as
 * checkpoint_encode does (to reach the decoding past zstd's checksum). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "agents.h"
#include "checkpoint.h"
#include "fuzz_common.h"
#include "ingest.h"
#include "log.h"
#include "quota.h"
#include "registry.h"
#include "synth.h"

#define NSAMPLES 4

static registry_t *reg;
static agents_t *agents;
static uint8_t samples[NSAMPLES][SYNTH_RECORD_MAX];
static size_t sample_len[NSAMPLES];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what) {
    fprintf(stderr, "fuzz_checkpoint: %s\n", what);
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    char path[] = "/tmp/ispeed-fuzz-units.XXXXXX", err[512];
    uint8_t buf[SYNTH_RECORD_MAX];
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, FUZZ_REGISTRY_CSV, strlen(FUZZ_REGISTRY_CSV)) != (ssize_t)strlen(FUZZ_REGISTRY_CSV))
        die("cannot write the registry");
    close(fd);
    if (sign_init() < 0) die("libsodium");
    reg = registry_load(path, err, sizeof err);
    unlink(path);
    if (!reg) die(err);
    log_set_level(LOG_ERROR);
    synth_agent agent;
    synth_agent_init(&agent, FUZZ_AGENT_SEED, 0, registry_find(reg, FUZZ_COMMUNE), ISPEED__V1__NETWORK__NETWORK_FIXED);
    size_t len = synth_enrollment(&agent, FUZZ_NOW_MS, buf, sizeof buf);
    if (!(agents = agents_new()) || agents_apply(agents, agent.id, strlen(agent.id), buf, len, err, sizeof err) < 0)
        die("cannot enroll the agent");
    /* The samples fuzz_seeds counted before its checkpoint, and later ones:
     * after a restore the first are duplicates, the others count. */
    rng_t r;
    rng_seed(&r, 1);
    for (int i = 0; i < NSAMPLES; i++) {
        synth_sample ss;
        synth_sample_fill(&ss, &agent, "2025-03", (uint64_t)(i < 2 ? i + 1 : 1000 + i),
                          FUZZ_NOW_MS - 3600000LL * (i + 1), &r);
        sample_len[i] = synth_sign(&ss.s, agent.sk, agent.id, samples[i], sizeof samples[i]);
    }
    return 0;
}

struct side {
    quota_counts_t *qt;
    ingest_t *ing;
};

static void side_new(struct side *s) {
    char err[256];
    quota_config qc;
    ingest_config ic;
    quota_config_default(&qc);
    ingest_config_default(&ic);
    if (!(s->qt = quota_counts_new(reg, &qc, err, sizeof err)) ||
        !(s->ing = ingest_new(reg, agents, NULL, s->qt, &ic, err, sizeof err)))
        die(err);
}

static void side_free(struct side *s) {
    ingest_free(s->ing);
    quota_counts_free(s->qt);
}

static int32_t owner0(const registry_unit *province, void *ctx) {
    (void)province;
    (void)ctx;
    return 0;
}

static uint8_t *compress(const uint8_t *raw, size_t len, size_t *zlen) {
    size_t bound = ZSTD_compressBound(len);
    uint8_t *z = malloc(bound);
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    if (!z || !cctx) die("out of memory");
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 1);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
    *zlen = ZSTD_compress2(cctx, z, bound, raw, len);
    ZSTD_freeCCtx(cctx);
    if (ZSTD_isError(*zlen)) die("zstd");
    return z;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int mode = data[0] & 1;
    size_t len = size - 1;
    uint8_t *rec;
    if (mode == 1) {
        rec = compress(data + 1, len, &len);
    } else {
        rec = malloc(len ? len : 1); /* exact, so ASan sees a read past it */
        memcpy(rec, data + 1, len);
    }
    char err[256], detail[256];
    struct side a;
    side_new(&a);
    int64_t next = -1, created = 0;
    size_t nprov = 0;
    int rc = checkpoint_restore(reg, a.ing, a.qt, rec, len, 0, &next, &created, &nprov, err, sizeof err);
    free(rec);
    if (rc < 0) {
        if (!err[0]) die("refused without a message");
        side_free(&a);
        return 0;
    }
    if (next < 0) die("restored a negative next offset");

    /* Go on from it as the collector does. */
    for (int i = 0; i < NSAMPLES; i++) {
        enum reject_reason reason;
        enum ingest_result r = ingest_sample(a.ing, 0, "01", 2, samples[i], sample_len[i], FUZZ_NOW_MS, FUZZ_NOW_MS,
                                             &reason, detail, sizeof detail);
        if (r == INGEST_ERROR) die("out of memory counting after a restore");
    }
    quota_evaluate(a.qt, FUZZ_NOW_MS, NULL, NULL);

    /* What was restored checkpoints again, and that checkpoint restores. */
    uint8_t *out = NULL;
    size_t outlen = 0;
    if (checkpoint_encode(reg, a.ing, a.qt, "ispeed.samples", 0, next, created, owner0, NULL, &out, &outlen, err,
                          sizeof err) < 0)
        die(err);
    struct side b;
    side_new(&b);
    int64_t next2 = -1;
    if (checkpoint_restore(reg, b.ing, b.qt, out, outlen, 0, &next2, NULL, NULL, err, sizeof err) < 0) {
        fprintf(stderr, "fuzz_checkpoint: our own checkpoint does not restore: %s\n", err);
        abort();
    }
    if (next2 != next) die("next offset changed through a checkpoint");
    uint8_t *out2 = NULL;
    size_t outlen2 = 0;
    if (checkpoint_encode(reg, b.ing, b.qt, "ispeed.samples", 0, next, created, owner0, NULL, &out2, &outlen2, err,
                          sizeof err) < 0)
        die(err);
    if (outlen2 != outlen || memcmp(out, out2, outlen) != 0) die("a restored checkpoint encodes differently");
    free(out);
    free(out2);
    side_free(&b);
    side_free(&a);
    return 0;
}
