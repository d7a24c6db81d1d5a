/* libFuzzer target: one samples-topic record through the collector's
 * decode-and-validate and counting path (collector/ingest.c, validate.c),
 * and enrollments through agents.c. Any crash, leak, sanitizer report or
 * abort is a bug: the samples topic is written by anyone with a key. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agents.h"
#include "fuzz_common.h"
#include "ingest.h"
#include "quota.h"
#include "registry.h"
#include "synth.h"

static registry_t *reg;
static agents_t *agents;
static quota_counts_t *qt;
static ingest_t *ing;
static synth_agent agent;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what) {
    fprintf(stderr, "fuzz_ingest: %s\n", what);
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
    synth_agent_init(&agent, FUZZ_AGENT_SEED, 0, registry_find(reg, FUZZ_COMMUNE), ISPEED__V1__NETWORK__NETWORK_FIXED);
    size_t len = synth_enrollment(&agent, FUZZ_NOW_MS, buf, sizeof buf);
    quota_config qc;
    ingest_config ic;
    quota_config_default(&qc);
    ingest_config_default(&ic);
    if (!(agents = agents_new()) || agents_apply(agents, agent.id, strlen(agent.id), buf, len, err, sizeof err) < 0)
        die("cannot enroll the agent");
    if (!(qt = quota_counts_new(reg, &qc, err, sizeof err)) || !(ing = ingest_new(reg, agents, NULL, qt, &ic, err, sizeof err)))
        die(err);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    unsigned mode = data[0] % FUZZ_MODES;
    size_t keylen = data[1] % 8;
    if (size < 2 + keylen) return 0;
    const uint8_t *key = data + 2, *value = data + 2 + keylen;
    size_t len = size - 2 - keylen;
    char detail[256], err[256];
    enum reject_reason reason;
    /* Copies sized exactly, so ASan sees any read past the record. */
    uint8_t *v = malloc(len ? len : 1);
    uint8_t *k = malloc(keylen ? keylen : 1);
    memcpy(v, value, len);
    memcpy(k, key, keylen);

    if (mode == FUZZ_ENROLL) {
        agents_apply(agents, keylen ? k : NULL, keylen, len ? v : NULL, len, err, sizeof err);
    } else if (mode == FUZZ_RESIGN) {
        /* Sign whatever bytes came, as an enrolled agent with a bug would. */
        uint8_t sig[SIGN_SIGNATURE_BYTES];
        Ispeed__V1__SignedSample env = ISPEED__V1__SIGNED_SAMPLE__INIT;
        sign_detached(agent.sk, v, len, sig);
        env.sample.data = v;
        env.sample.len = len;
        env.signature.data = sig;
        env.signature.len = sizeof sig;
        env.agent_id = agent.id;
        size_t n = protobuf_c_message_get_packed_size(&env.base);
        uint8_t *rec = malloc(n ? n : 1);
        protobuf_c_message_pack(&env.base, rec);
        ingest_sample(ing, 0, k, keylen, rec, n, FUZZ_NOW_MS, FUZZ_NOW_MS, &reason, detail, sizeof detail);
        free(rec);
    } else {
        enum ingest_result r =
            ingest_sample(ing, 0, k, keylen, v, len, FUZZ_NOW_MS, FUZZ_NOW_MS, &reason, detail, sizeof detail);
        if (r == INGEST_REJECTED && (reason <= REJECT_NONE || reason >= REJECT__COUNT)) die("rejected without a reason");
        if (r == INGEST_ERROR) die("out of memory");
    }
    free(k);
    free(v);
    return 0;
}
