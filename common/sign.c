/* Thin wrapper on libsodium so that the rest of the code names what it
 * signs, not how. */
#include "sign.h"

#include <sodium.h>
#include <string.h>

int sign_init(void) { return sodium_init() < 0 ? -1 : 0; }

int sign_keypair(uint8_t pk[SIGN_PUBLIC_BYTES], uint8_t sk[SIGN_SECRET_BYTES]) {
    return crypto_sign_keypair(pk, sk) == 0 ? 0 : -1;
}

void sign_agent_id(const uint8_t pk[SIGN_PUBLIC_BYTES], char out[SIGN_AGENT_ID_CHARS + 1]) {
    uint8_t h[16];
    crypto_generichash(h, sizeof h, pk, SIGN_PUBLIC_BYTES, NULL, 0);
    sodium_bin2hex(out, SIGN_AGENT_ID_CHARS + 1, h, sizeof h);
}

void sign_detached(const uint8_t sk[SIGN_SECRET_BYTES], const void *msg, size_t len,
                   uint8_t sig[SIGN_SIGNATURE_BYTES]) {
    crypto_sign_detached(sig, NULL, msg, len, sk);
}

int sign_verify(const uint8_t pk[SIGN_PUBLIC_BYTES], const void *msg, size_t len,
                const uint8_t *sig, size_t siglen) {
    if (siglen != SIGN_SIGNATURE_BYTES) return -1;
    return crypto_sign_verify_detached(sig, msg, len, pk) == 0 ? 0 : -1;
}

size_t sign_enrollment_message(const uint8_t pk[SIGN_PUBLIC_BYTES], const char *agent_id,
                               const char *commune, uint8_t *out, size_t outsz) {
    static const char tag[] = "ispeed-enroll-v1";
    size_t idlen = strlen(agent_id), clen = strlen(commune);
    size_t need = sizeof tag - 1 + SIGN_PUBLIC_BYTES + idlen + 1 + clen;
    if (need > outsz) return 0;
    uint8_t *p = out;
    memcpy(p, tag, sizeof tag - 1);
    p += sizeof tag - 1;
    memcpy(p, pk, SIGN_PUBLIC_BYTES);
    p += SIGN_PUBLIC_BYTES;
    memcpy(p, agent_id, idlen);
    p += idlen;
    *p++ = '\0'; /* keeps "ab"+"c" apart from "a"+"bc" */
    memcpy(p, commune, clen);
    return need;
}
