/* Ed25519 signatures (libsodium) over samples and enrollments, and the
 * agent id derived from a public key. */
#ifndef ISPEED_SIGN_H
#define ISPEED_SIGN_H

#include <stddef.h>
#include <stdint.h>

#define SIGN_PUBLIC_BYTES 32
#define SIGN_SECRET_BYTES 64
#define SIGN_SIGNATURE_BYTES 64
#define SIGN_AGENT_ID_CHARS 32 /* hex of 16 bytes, without the NUL */

/* Must be called once before any other sign_* function; -1 if libsodium
 * cannot initialise. */
int sign_init(void);
int sign_keypair(uint8_t pk[SIGN_PUBLIC_BYTES], uint8_t sk[SIGN_SECRET_BYTES]);
/* hex(BLAKE2b-128(pk)): stable, short, and impossible to choose without the key. */
void sign_agent_id(const uint8_t pk[SIGN_PUBLIC_BYTES], char out[SIGN_AGENT_ID_CHARS + 1]);
void sign_detached(const uint8_t sk[SIGN_SECRET_BYTES], const void *msg, size_t len,
                   uint8_t sig[SIGN_SIGNATURE_BYTES]);
/* 0 when sig is a valid signature of msg by pk, -1 otherwise. */
int sign_verify(const uint8_t pk[SIGN_PUBLIC_BYTES], const void *msg, size_t len,
                const uint8_t *sig, size_t siglen);
/* The bytes an enrollment's signature covers: "ispeed-enroll-v1" || pk ||
 * agent_id || commune. Returns the length written, or 0 if out is too small. */
size_t sign_enrollment_message(const uint8_t pk[SIGN_PUBLIC_BYTES], const char *agent_id,
                               const char *commune, uint8_t *out, size_t outsz);

#endif
