/* libFuzzer target: the trust formats (common/trust.c) that arrive from
 * anyone: the printed enrollment token an agent puts in its enrollment, the
 * receipt bytes a sample carries, and the authorities.csv / servers.csv
 * lists the collector loads at start. A bad one must be refused with a
 * reason, never crash or read out of bounds.
 *
 * Input: byte 0 picks the decoder (mod 4): 0 token text, 1 receipt bytes,
 * 2 authorities.csv, 3 servers.csv; the rest is its input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sodium.h>

#include "sign.h"
#include "trust.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what) {
    fprintf(stderr, "fuzz_trust: %s\n", what);
    abort();
}

static int bounded(const char *s, size_t max) { return memchr(s, '\0', max + 1) != NULL; }

/* A decoded token: every string terminated within its field, a commune
 * count within the bound, each commune non-empty. */
static void check_token(const trust_token *t) {
    if (!bounded(t->token_id, TRUST_TOKEN_ID_CHARS) || !bounded(t->province, TRUST_CODE_MAX))
        die("token string not terminated");
    if (t->ncommunes == 0 || t->ncommunes > TRUST_MAX_COMMUNES) die("token commune count out of bounds");
    for (size_t i = 0; i < t->ncommunes; i++)
        if (!bounded(t->communes[i], TRUST_CODE_MAX) || !t->communes[i][0]) die("token commune bad");
}

/* A decoded receipt signs and decodes again to the same fields. */
static void check_receipt(const trust_receipt *r) {
    static uint8_t pk[SIGN_PUBLIC_BYTES], sk[SIGN_SECRET_BYTES];
    static int keyed;
    if (!keyed) {
        uint8_t seed[32] = {7};
        crypto_sign_seed_keypair(pk, sk, seed);
        keyed = 1;
    }
    if (!bounded(r->client_prefix, TRUST_PREFIX_MAX) || !bounded(r->server_id, SIGN_AGENT_ID_CHARS))
        die("receipt string not terminated");
    if (r->end_ms < r->start_ms) die("receipt ends before it starts");
    uint8_t *bytes = NULL, sig[SIGN_SIGNATURE_BYTES];
    size_t len = 0;
    char err[256];
    trust_receipt back;
    if (trust_receipt_sign(sk, r, &bytes, &len, sig, err, sizeof err) < 0) die("a decoded receipt does not sign");
    if (trust_receipt_decode(bytes, len, &back, err, sizeof err) != TRUST_OK) die("a signed receipt does not decode");
    if (memcmp(&back.agent_key, &r->agent_key, sizeof r->agent_key) || back.start_ms != r->start_ms ||
        back.end_ms != r->end_ms || back.bytes_sent != r->bytes_sent || back.bytes_received != r->bytes_received ||
        strcmp(back.client_prefix, r->client_prefix) || strcmp(back.server_id, r->server_id) ||
        memcmp(back.sample_digest, r->sample_digest, sizeof r->sample_digest))
        die("receipt round trip differs");
    free(bytes);
}

/* A loaded list answers look-ups (an empty one is valid: it lists no one). */
static void check_keys(const trust_keys *k) {
    static const uint8_t zero[SIGN_PUBLIC_BYTES];
    const char *first = trust_keys_find_key(k, zero);
    if (trust_keys_count(k) == 0 && first) die("an empty list found a key");
    if (first && !trust_keys_find_name(k, first)) die("a row found by its key is not found by its name");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    static int inited;
    if (!inited) {
        if (sign_init() < 0) die("libsodium");
        inited = 1;
    }
    int which = data[0] % 4;
    const uint8_t *in = data + 1;
    size_t n = size - 1;
    char err[512];
    err[0] = '\0';
    if (which == 0) {
        char *s = malloc(n + 1);
        if (!s) return 0;
        memcpy(s, in, n);
        s[n] = '\0';
        trust_token t;
        int rc = trust_token_decode(s, &t, err, sizeof err);
        if (rc == TRUST_OK) check_token(&t);
        else if (!err[0]) die("token refused without a message");
        free(s);
        return 0;
    }
    if (which == 1) {
        trust_receipt r;
        int rc = trust_receipt_decode(in, n, &r, err, sizeof err);
        if (rc == TRUST_OK) check_receipt(&r);
        else if (!err[0]) die("receipt refused without a message");
        return 0;
    }
    /* A list in memory, by a path the loader opens like any other. */
    char path[64];
    int fd = memfd_create("list.csv", MFD_CLOEXEC);
    if (fd < 0 || (n && write(fd, in, n) != (ssize_t)n)) die("memfd");
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    trust_keys *k = which == 2 ? trust_authorities_load(path, err, sizeof err) : trust_servers_load(path, err, sizeof err);
    close(fd);
    if (!k) {
        if (!err[0]) die("list refused without a message");
        return 0;
    }
    check_keys(k);
    trust_keys_free(k);
    return 0;
}
