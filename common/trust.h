/* Trust formats (SPEC: Trust): the enrollment tokens authorities sign, the
 * receipts test servers sign, signed withdrawals, and the authorities.csv
 * and servers.csv lists that say whose keys count. Pure functions: no I/O
 * but the list loaders and the key file. Decoders are strict and bounded,
 * since tokens and receipts arrive from anyone. */
#ifndef ISPEED_TRUST_H
#define ISPEED_TRUST_H

#include <stddef.h>
#include <stdint.h>

#include "ispeed.pb-c.h"
#include "sign.h"

#define TRUST_MAX_COMMUNES 16
#define TRUST_CODE_MAX 15            /* a GSO code, or "*" */
#define TRUST_TOKEN_ID_CHARS 32      /* hex of 16 random bytes */
#define TRUST_TOKEN_MAX_CHARS 2048   /* the printed token, longest accepted */
#define TRUST_RECEIPT_MAX_BYTES 512  /* a serialised Receipt, longest accepted */
#define TRUST_NONCE_BYTES 16
#define TRUST_DIGEST_BYTES 32
#define TRUST_PREFIX_MAX 47          /* "ffff:ffff:ffff::/48" fits with room */
#define TRUST_TOKEN_PREFIX "ispt1."

/* Why a token, receipt or withdrawal was refused; each has a DLQ reason
 * (trust_reason). */
enum trust_error {
    TRUST_OK = 0,
    TRUST_E_MALFORMED = -1,   /* not decodable, or a field out of bounds */
    TRUST_E_SIGNATURE = -2,   /* signature does not verify */
    TRUST_E_UNKNOWN_KEY = -3, /* signer not in authorities.csv / servers.csv */
    TRUST_E_PROVINCE = -4,    /* authority of another province */
    TRUST_E_COMMUNE = -5,     /* commune not named by the token */
    TRUST_E_EXPIRED = -6,     /* token past its expiry */
    TRUST_E_DIGEST = -7,      /* receipt covers another sample or agent */
    TRUST_E_NOMEM = -8,
};
/* "token_malformed"-style DLQ reason words, prefixed by what was checked
 * ("token", "receipt" or "withdrawal"). */
const char *trust_reason(const char *what, int code);

typedef struct trust_token {
    char token_id[TRUST_TOKEN_ID_CHARS + 1];
    char province[TRUST_CODE_MAX + 1];
    char communes[TRUST_MAX_COMMUNES][TRUST_CODE_MAX + 1];
    size_t ncommunes;
    uint32_t uses;
    int64_t issued_ms;
    int64_t expires_ms;
    uint8_t authority_key[SIGN_PUBLIC_BYTES];
} trust_token;

/* Signs t with the authority's secret key (t->authority_key and, if empty,
 * t->token_id are filled in) and prints "ispt1.<base64url>" into out. */
int trust_token_issue(const uint8_t sk[SIGN_SECRET_BYTES], trust_token *t, char *out, size_t outsz, char *err,
                      size_t errsz);
/* Decodes a printed token and verifies its signature against the key it
 * names (whether that key is an authority's is trust_token_check's job).
 * Returns a trust_error. */
int trust_token_decode(const char *s, trust_token *t, char *err, size_t errsz);

typedef struct trust_keys trust_keys;
/* authorities.csv: "province,public_key_hex,name" (province "*": national).
 * servers.csv: "server_id,public_key_hex,name", where server_id must be the
 * key's id (sign_agent_id). Header line optional, '#' lines ignored. */
trust_keys *trust_authorities_load(const char *path, char *err, size_t errsz);
trust_keys *trust_servers_load(const char *path, char *err, size_t errsz);
void trust_keys_free(trust_keys *k);
size_t trust_keys_count(const trust_keys *k);
/* The first column of the row holding pk (province, or server id); NULL if
 * the key is not listed. */
const char *trust_keys_find_key(const trust_keys *k, const uint8_t pk[SIGN_PUBLIC_BYTES]);
/* The key of the row whose first column is name; NULL if none. */
const uint8_t *trust_keys_find_name(const trust_keys *k, const char *name);

/* Whether a decoded token enrolls commune (of province) at now_ms: signed by
 * a listed authority of that province or a national one, naming the
 * commune, unexpired. Uses left are the caller's state. */
int trust_token_check(const trust_token *t, const trust_keys *authorities, const char *commune,
                      const char *province, int64_t now_ms, char *err, size_t errsz);

typedef struct trust_receipt {
    char server_id[SIGN_AGENT_ID_CHARS + 1];
    uint8_t agent_key[SIGN_PUBLIC_BYTES];
    uint8_t nonce[TRUST_NONCE_BYTES];
    int64_t start_ms, end_ms, issued_ms;
    uint64_t bytes_sent, bytes_received;
    char client_prefix[TRUST_PREFIX_MAX + 1];
    uint8_t sample_digest[TRUST_DIGEST_BYTES];
} trust_receipt;

/* The bytes a receipt's signature covers: "ispeed-receipt-v1" || receipt.
 * Length written, or 0 if out is too small. For verifiers that batch
 * signature checks on other threads. */
size_t trust_receipt_message(const uint8_t *receipt, size_t len, uint8_t *out, size_t outsz);
/* After trust_receipt_decode and a signature check made elsewhere: whether
 * r covers this sample of this agent (TRUST_OK or TRUST_E_DIGEST). */
int trust_receipt_covers(const trust_receipt *r, const uint8_t agent_key[SIGN_PUBLIC_BYTES],
                         const uint8_t digest[TRUST_DIGEST_BYTES]);

/* BLAKE2b-256 of the signed sample bytes: what a receipt covers. */
void trust_sample_digest(const void *sample, size_t len, uint8_t out[TRUST_DIGEST_BYTES]);
/* Serialises and signs r; *receipt and *sig are malloc'd (free both). */
int trust_receipt_sign(const uint8_t sk[SIGN_SECRET_BYTES], const trust_receipt *r, uint8_t **receipt,
                       size_t *receipt_len, uint8_t sig[SIGN_SIGNATURE_BYTES], char *err, size_t errsz);
/* Decodes receipt bytes strictly into r, without checking the signature
 * (fuzzable on its own). */
int trust_receipt_decode(const uint8_t *buf, size_t len, trust_receipt *r, char *err, size_t errsz);
/* Decodes, finds the server in servers by its id and verifies the
 * signature; then checks that the receipt covers this sample of this agent. */
int trust_receipt_verify(const uint8_t *buf, size_t len, const uint8_t *sig, size_t siglen,
                         const trust_keys *servers, const uint8_t agent_key[SIGN_PUBLIC_BYTES],
                         const uint8_t digest[TRUST_DIGEST_BYTES], trust_receipt *r, char *err, size_t errsz);

/* The bytes a withdrawal signature covers: "ispeed-withdraw-v1" || agent_id
 * || time_ms (8 bytes, big-endian). Length written, or 0 if out is small. */
size_t trust_withdrawal_message(const char *agent_id, int64_t time_ms, uint8_t *out, size_t outsz);
/* A withdrawal is honoured when signer_key is the agent's own key
 * (agent_key, may be NULL if unknown) or a listed authority, and the
 * signature verifies. */
int trust_withdrawal_verify(const char *agent_id, int64_t time_ms, const uint8_t *signer_key, size_t keylen,
                            const uint8_t *sig, size_t siglen, const uint8_t *agent_key,
                            const trust_keys *authorities, char *err, size_t errsz);

/* The client's address prefix a receipt names: the /24 of an IPv4 address,
 * the /48 of an IPv6 one (a v4-mapped v6 address counts as IPv4). */
int trust_client_prefix(const char *ip, char *out, size_t outsz);

/* A raw 64-byte Ed25519 secret key file, mode 0600. With create, a missing
 * file is made (and *created set). */
int trust_key_load(const char *path, int create, uint8_t pk[SIGN_PUBLIC_BYTES], uint8_t sk[SIGN_SECRET_BYTES],
                   int *created, char *err, size_t errsz);
/* Lower-case hex of n bytes into out (2n+1 bytes). */
void trust_hex(const uint8_t *b, size_t n, char *out);
/* Exactly 2n hex digits into b; -1 otherwise. */
int trust_unhex(const char *s, uint8_t *b, size_t n);

/* The agent's enrollment record as the agent and the load generator both
 * make it: e (initialised by the caller) names the key pair's public half,
 * agent_id, the commune and its province, and carries the proof of
 * possession, the signature over sign_enrollment_message, in sig (which
 * must outlive e). -1 when the commune code is too long to sign. */
int trust_enrollment_fill(Ispeed__V1__AgentEnrollment *e, const uint8_t pk[SIGN_PUBLIC_BYTES],
                          const uint8_t sk[SIGN_SECRET_BYTES], const char *agent_id, const char *commune,
                          const char *province, int64_t now_ms, const char *version, const char *token,
                          uint8_t sig[SIGN_SIGNATURE_BYTES]);

#endif
