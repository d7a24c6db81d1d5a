/* Tokens, receipts, withdrawals and the key lists (see trust.h). */
#include "trust.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "ispeed.pb-c.h"

#define TOKEN_DOMAIN "ispeed-token-v1"
#define RECEIPT_DOMAIN "ispeed-receipt-v1"
#define WITHDRAW_DOMAIN "ispeed-withdraw-v1"
/* A serialised token with 16 communes of 15 characters is under 400 bytes;
 * the printed form's bound keeps every buffer below fixed. */
#define TOKEN_MAX_BYTES 1024

const char *trust_reason(const char *what, int code) {
    static const char *const tok[] = {"token_ok", "token_malformed", "token_bad_signature", "token_unknown_authority",
                                      "token_wrong_province", "token_commune", "token_expired", "token_digest",
                                      "token_nomem"};
    static const char *const rec[] = {"receipt_ok", "receipt_malformed", "receipt_bad_signature",
                                      "receipt_unknown_server", "receipt_province", "receipt_commune",
                                      "receipt_expired", "receipt_wrong_sample", "receipt_nomem"};
    static const char *const wd[] = {"withdrawal_ok", "withdrawal_malformed", "withdrawal_bad_signature",
                                     "withdrawal_unknown_signer", "withdrawal_province", "withdrawal_commune",
                                     "withdrawal_expired", "withdrawal_digest", "withdrawal_nomem"};
    int i = -code;
    if (i < 0 || i > 8) i = 1;
    if (what && strcmp(what, "receipt") == 0) return rec[i];
    if (what && strcmp(what, "withdrawal") == 0) return wd[i];
    return tok[i];
}

void trust_hex(const uint8_t *b, size_t n, char *out) { sodium_bin2hex(out, 2 * n + 1, b, n); }

int trust_unhex(const char *s, uint8_t *b, size_t n) {
    size_t got = 0;
    if (strlen(s) != 2 * n) return -1;
    if (strspn(s, "0123456789abcdefABCDEF") != 2 * n) return -1;
    if (sodium_hex2bin(b, n, s, 2 * n, NULL, &got, NULL) != 0 || got != n) return -1;
    return 0;
}

/* A code is 1..15 of [0-9A-Za-z*]: what the registries use, and nothing a
 * terminal or CSV cell could misread. */
static int code_ok(const char *s) {
    size_t n = s ? strlen(s) : 0;
    return n >= 1 && n <= TRUST_CODE_MAX &&
           strspn(s, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz*") == n;
}

static int fail(char *err, size_t errsz, int code, const char *fmt, const char *arg) {
    snprintf(err, errsz, fmt, arg ? arg : "");
    return code;
}

/* Unpacks only what re-packs to the same bytes: no unknown fields, no
 * repeated scalars, no non-canonical varints, so one token or receipt has
 * exactly one encoding. */
static ProtobufCMessage *unpack_canonical(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len) {
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, len, buf);
    if (!m) return NULL;
    if (m->n_unknown_fields != 0 || protobuf_c_message_get_packed_size(m) != len) {
        protobuf_c_message_free_unpacked(m, NULL);
        return NULL;
    }
    uint8_t *again = malloc(len ? len : 1);
    int same = again && (protobuf_c_message_pack(m, again), memcmp(again, buf, len) == 0);
    free(again);
    if (!same) {
        protobuf_c_message_free_unpacked(m, NULL);
        return NULL;
    }
    return m;
}

static int sign_with_domain(const uint8_t sk[SIGN_SECRET_BYTES], const char *domain, const uint8_t *msg, size_t len,
                            uint8_t sig[SIGN_SIGNATURE_BYTES]) {
    size_t dl = strlen(domain);
    uint8_t *buf = malloc(dl + len);
    if (!buf) return -1;
    memcpy(buf, domain, dl);
    memcpy(buf + dl, msg, len);
    sign_detached(sk, buf, dl + len, sig);
    free(buf);
    return 0;
}

static int verify_with_domain(const uint8_t pk[SIGN_PUBLIC_BYTES], const char *domain, const uint8_t *msg,
                              size_t len, const uint8_t *sig, size_t siglen) {
    size_t dl = strlen(domain);
    uint8_t *buf = malloc(dl + len);
    if (!buf) return TRUST_E_NOMEM;
    memcpy(buf, domain, dl);
    memcpy(buf + dl, msg, len);
    int rc = sign_verify(pk, buf, dl + len, sig, siglen);
    free(buf);
    return rc == 0 ? TRUST_OK : TRUST_E_SIGNATURE;
}

int trust_token_issue(const uint8_t sk[SIGN_SECRET_BYTES], trust_token *t, char *out, size_t outsz, char *err,
                      size_t errsz) {
    Ispeed__V1__EnrollmentToken m = ISPEED__V1__ENROLLMENT_TOKEN__INIT;
    Ispeed__V1__SignedToken st = ISPEED__V1__SIGNED_TOKEN__INIT;
    char *communes[TRUST_MAX_COMMUNES];
    uint8_t sig[SIGN_SIGNATURE_BYTES], *tok = NULL, *wire = NULL;
    size_t tlen, wlen, plen = strlen(TRUST_TOKEN_PREFIX);

    if (!code_ok(t->province)) return fail(err, errsz, TRUST_E_MALFORMED, "bad province '%s'", t->province);
    if (t->ncommunes < 1 || t->ncommunes > TRUST_MAX_COMMUNES)
        return fail(err, errsz, TRUST_E_MALFORMED, "a token names 1 to 16 communes%s", NULL);
    for (size_t i = 0; i < t->ncommunes; i++) {
        if (!code_ok(t->communes[i]) || strchr(t->communes[i], '*'))
            return fail(err, errsz, TRUST_E_MALFORMED, "bad commune code '%s'", t->communes[i]);
        communes[i] = t->communes[i];
    }
    if (t->uses < 1) return fail(err, errsz, TRUST_E_MALFORMED, "a token needs at least one use%s", NULL);
    if (t->expires_ms <= t->issued_ms) return fail(err, errsz, TRUST_E_MALFORMED, "a token must expire after it is issued%s", NULL);
    memcpy(t->authority_key, sk + 32, SIGN_PUBLIC_BYTES);
    if (t->token_id[0] == '\0') {
        uint8_t id[16];
        randombytes_buf(id, sizeof id);
        trust_hex(id, sizeof id, t->token_id);
    }
    m.version = 1;
    m.token_id = t->token_id;
    m.province = t->province;
    m.n_communes = t->ncommunes;
    m.communes = communes;
    m.uses = t->uses;
    m.issued_ms = t->issued_ms;
    m.expires_ms = t->expires_ms;
    m.authority_key.data = t->authority_key;
    m.authority_key.len = SIGN_PUBLIC_BYTES;
    tlen = protobuf_c_message_get_packed_size(&m.base);
    if (tlen > TOKEN_MAX_BYTES) return fail(err, errsz, TRUST_E_MALFORMED, "token too large%s", NULL);
    tok = malloc(tlen);
    if (!tok) goto nomem;
    protobuf_c_message_pack(&m.base, tok);
    if (sign_with_domain(sk, TOKEN_DOMAIN, tok, tlen, sig) < 0) goto nomem;
    st.token.data = tok;
    st.token.len = tlen;
    st.signature.data = sig;
    st.signature.len = sizeof sig;
    wlen = protobuf_c_message_get_packed_size(&st.base);
    wire = malloc(wlen);
    if (!wire) goto nomem;
    protobuf_c_message_pack(&st.base, wire);
    size_t need = plen + sodium_base64_ENCODED_LEN(wlen, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    if (need > outsz || need > TRUST_TOKEN_MAX_CHARS + 1) {
        free(tok);
        free(wire);
        return fail(err, errsz, TRUST_E_MALFORMED, "token does not fit its buffer%s", NULL);
    }
    memcpy(out, TRUST_TOKEN_PREFIX, plen);
    sodium_bin2base64(out + plen, outsz - plen, wire, wlen, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    free(tok);
    free(wire);
    return TRUST_OK;
nomem:
    free(tok);
    free(wire);
    return fail(err, errsz, TRUST_E_NOMEM, "out of memory%s", NULL);
}

int trust_token_decode(const char *s, trust_token *t, char *err, size_t errsz) {
    size_t plen = strlen(TRUST_TOKEN_PREFIX), slen, binlen = 0;
    uint8_t bin[TRUST_TOKEN_MAX_CHARS];
    Ispeed__V1__SignedToken *st = NULL;
    Ispeed__V1__EnrollmentToken *m = NULL;
    int rc = TRUST_E_MALFORMED;

    memset(t, 0, sizeof *t);
    if (!s) return fail(err, errsz, rc, "no token%s", NULL);
    slen = strnlen(s, TRUST_TOKEN_MAX_CHARS + 1);
    if (slen > TRUST_TOKEN_MAX_CHARS) return fail(err, errsz, rc, "token longer than 2048 characters%s", NULL);
    if (slen <= plen || memcmp(s, TRUST_TOKEN_PREFIX, plen) != 0)
        return fail(err, errsz, rc, "not an ispeed token (it starts with '" TRUST_TOKEN_PREFIX "')%s", NULL);
    if (sodium_base642bin(bin, sizeof bin, s + plen, slen - plen, NULL, &binlen, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return fail(err, errsz, rc, "token is not base64url%s", NULL);
    st = (Ispeed__V1__SignedToken *)unpack_canonical(&ispeed__v1__signed_token__descriptor, bin, binlen);
    if (!st || st->signature.len != SIGN_SIGNATURE_BYTES || st->token.len == 0 || st->token.len > TOKEN_MAX_BYTES) {
        fail(err, errsz, rc, "token envelope is malformed%s", NULL);
        goto out;
    }
    m = (Ispeed__V1__EnrollmentToken *)unpack_canonical(&ispeed__v1__enrollment_token__descriptor, st->token.data,
                                                         st->token.len);
    if (!m || m->version != 1 || m->authority_key.len != SIGN_PUBLIC_BYTES || !code_ok(m->province) ||
        m->n_communes < 1 || m->n_communes > TRUST_MAX_COMMUNES || m->uses < 1 || m->expires_ms <= m->issued_ms ||
        strlen(m->token_id) != TRUST_TOKEN_ID_CHARS ||
        strspn(m->token_id, "0123456789abcdef") != TRUST_TOKEN_ID_CHARS) {
        fail(err, errsz, rc, "token content is malformed%s", NULL);
        goto out;
    }
    for (size_t i = 0; i < m->n_communes; i++) {
        if (!code_ok(m->communes[i]) || strchr(m->communes[i], '*')) {
            fail(err, errsz, rc, "token names a malformed commune code%s", NULL);
            goto out;
        }
        strcpy(t->communes[i], m->communes[i]);
    }
    t->ncommunes = m->n_communes;
    strcpy(t->token_id, m->token_id);
    strcpy(t->province, m->province);
    t->uses = m->uses;
    t->issued_ms = m->issued_ms;
    t->expires_ms = m->expires_ms;
    memcpy(t->authority_key, m->authority_key.data, SIGN_PUBLIC_BYTES);
    rc = verify_with_domain(t->authority_key, TOKEN_DOMAIN, st->token.data, st->token.len, st->signature.data,
                            st->signature.len);
    if (rc != TRUST_OK) fail(err, errsz, rc, "token signature does not verify%s", NULL);
out:
    if (m) protobuf_c_message_free_unpacked(&m->base, NULL);
    if (st) protobuf_c_message_free_unpacked(&st->base, NULL);
    if (rc != TRUST_OK) memset(t, 0, sizeof *t);
    return rc;
}

/* ---- key lists ---- */

struct trust_key_row {
    char name[SIGN_AGENT_ID_CHARS + 1];
    uint8_t pk[SIGN_PUBLIC_BYTES];
};

struct trust_keys {
    struct trust_key_row *rows;
    size_t n, cap;
};

/* Lists are a few dozen rows (63 provinces, a handful of servers): linear
 * search is faster than any hash at that size. */
#define TRUST_KEYS_MAX 4096

static trust_keys *keys_load(const char *path, int servers, char *err, size_t errsz) {
    FILE *f = fopen(path, "r");
    char line[1024];
    size_t lineno = 0;
    trust_keys *k;

    if (!f) {
        snprintf(err, errsz, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    k = calloc(1, sizeof *k);
    if (!k) goto nomem;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            snprintf(err, errsz, "%s:%zu: line longer than %zu bytes", path, lineno, sizeof line - 2);
            goto fail;
        }
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0' || line[0] == '#') continue;
        char *c1 = strchr(line, ',');
        char *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
        if (!c1) {
            snprintf(err, errsz, "%s:%zu: expected '%s,public_key_hex,name'", path, lineno,
                     servers ? "server_id" : "province");
            goto fail;
        }
        *c1 = '\0';
        if (c2) *c2 = '\0';
        if (lineno == 1 && (strcmp(line, "province") == 0 || strcmp(line, "server_id") == 0)) continue;
        struct trust_key_row row;
        memset(&row, 0, sizeof row);
        if (trust_unhex(c1 + 1, row.pk, SIGN_PUBLIC_BYTES) < 0) {
            snprintf(err, errsz, "%s:%zu: public key must be 64 hex digits", path, lineno);
            goto fail;
        }
        if (servers) {
            char id[SIGN_AGENT_ID_CHARS + 1];
            sign_agent_id(row.pk, id);
            if (strcmp(id, line) != 0) {
                snprintf(err, errsz, "%s:%zu: server id '%.40s' is not its key's id %s (ispeed-server prints both)",
                         path, lineno, line, id);
                goto fail;
            }
        } else if (!code_ok(line) || (strchr(line, '*') && strcmp(line, "*") != 0)) {
            snprintf(err, errsz, "%s:%zu: province must be a code or '*'", path, lineno);
            goto fail;
        }
        strcpy(row.name, line);
        if (k->n == TRUST_KEYS_MAX) {
            snprintf(err, errsz, "%s: more than %d keys", path, TRUST_KEYS_MAX);
            goto fail;
        }
        if (k->n == k->cap) {
            size_t cap = k->cap ? 2 * k->cap : 16;
            struct trust_key_row *r = realloc(k->rows, cap * sizeof *r);
            if (!r) goto nomem;
            k->rows = r;
            k->cap = cap;
        }
        k->rows[k->n++] = row;
    }
    if (ferror(f)) {
        snprintf(err, errsz, "cannot read %s: %s", path, strerror(errno));
        goto fail;
    }
    fclose(f);
    return k;
nomem:
    snprintf(err, errsz, "out of memory reading %s", path);
fail:
    fclose(f);
    trust_keys_free(k);
    return NULL;
}

trust_keys *trust_authorities_load(const char *path, char *err, size_t errsz) { return keys_load(path, 0, err, errsz); }
trust_keys *trust_servers_load(const char *path, char *err, size_t errsz) { return keys_load(path, 1, err, errsz); }

void trust_keys_free(trust_keys *k) {
    if (!k) return;
    free(k->rows);
    free(k);
}

size_t trust_keys_count(const trust_keys *k) { return k ? k->n : 0; }

const char *trust_keys_find_key(const trust_keys *k, const uint8_t pk[SIGN_PUBLIC_BYTES]) {
    for (size_t i = 0; k && i < k->n; i++)
        if (sodium_memcmp(k->rows[i].pk, pk, SIGN_PUBLIC_BYTES) == 0) return k->rows[i].name;
    return NULL;
}

const uint8_t *trust_keys_find_name(const trust_keys *k, const char *name) {
    for (size_t i = 0; k && i < k->n; i++)
        if (strcmp(k->rows[i].name, name) == 0) return k->rows[i].pk;
    return NULL;
}

int trust_token_check(const trust_token *t, const trust_keys *authorities, const char *commune,
                      const char *province, int64_t now_ms, char *err, size_t errsz) {
    /* The same key may be listed for several provinces: any matching row
     * whose province is the commune's, or "*", authorises. */
    int listed = 0, authorised = 0;
    for (size_t i = 0; authorities && i < authorities->n; i++) {
        if (sodium_memcmp(authorities->rows[i].pk, t->authority_key, SIGN_PUBLIC_BYTES) != 0) continue;
        listed = 1;
        if (strcmp(authorities->rows[i].name, "*") == 0 || strcmp(authorities->rows[i].name, province) == 0)
            authorised = 1;
    }
    if (!listed) return fail(err, errsz, TRUST_E_UNKNOWN_KEY, "token signed by a key not in authorities.csv%s", NULL);
    /* The token's own province claim must agree too: a national token says "*". */
    if (!authorised || (strcmp(t->province, "*") != 0 && strcmp(t->province, province) != 0))
        return fail(err, errsz, TRUST_E_PROVINCE, "token's authority is not province %s's", province);
    int named = 0;
    for (size_t i = 0; i < t->ncommunes; i++)
        if (strcmp(t->communes[i], commune) == 0) named = 1;
    if (!named) return fail(err, errsz, TRUST_E_COMMUNE, "token does not name commune %s", commune);
    if (now_ms >= t->expires_ms) return fail(err, errsz, TRUST_E_EXPIRED, "token expired%s", NULL);
    return TRUST_OK;
}

/* ---- receipts ---- */

void trust_sample_digest(const void *sample, size_t len, uint8_t out[TRUST_DIGEST_BYTES]) {
    crypto_generichash(out, TRUST_DIGEST_BYTES, sample, len, NULL, 0);
}

static int prefix_ok(const char *p) {
    size_t n = strlen(p);
    return n >= 9 && n <= TRUST_PREFIX_MAX && strspn(p, "0123456789abcdef.:/") == n;
}

int trust_receipt_sign(const uint8_t sk[SIGN_SECRET_BYTES], const trust_receipt *r, uint8_t **receipt,
                       size_t *receipt_len, uint8_t sig[SIGN_SIGNATURE_BYTES], char *err, size_t errsz) {
    Ispeed__V1__Receipt m = ISPEED__V1__RECEIPT__INIT;
    uint8_t *buf;
    size_t len;

    if (!prefix_ok(r->client_prefix) || strlen(r->server_id) != SIGN_AGENT_ID_CHARS || r->start_ms <= 0 ||
        r->end_ms < r->start_ms || r->issued_ms < r->end_ms)
        return fail(err, errsz, TRUST_E_MALFORMED, "receipt fields out of bounds%s", NULL);
    m.version = 1;
    m.server_id = (char *)r->server_id;
    m.agent_key.data = (uint8_t *)r->agent_key;
    m.agent_key.len = SIGN_PUBLIC_BYTES;
    m.nonce.data = (uint8_t *)r->nonce;
    m.nonce.len = TRUST_NONCE_BYTES;
    m.start_ms = r->start_ms;
    m.end_ms = r->end_ms;
    m.bytes_sent = r->bytes_sent;
    m.bytes_received = r->bytes_received;
    m.client_prefix = (char *)r->client_prefix;
    m.sample_digest.data = (uint8_t *)r->sample_digest;
    m.sample_digest.len = TRUST_DIGEST_BYTES;
    m.issued_ms = r->issued_ms;
    len = protobuf_c_message_get_packed_size(&m.base);
    buf = malloc(len);
    if (!buf) return fail(err, errsz, TRUST_E_NOMEM, "out of memory%s", NULL);
    protobuf_c_message_pack(&m.base, buf);
    if (sign_with_domain(sk, RECEIPT_DOMAIN, buf, len, sig) < 0) {
        free(buf);
        return fail(err, errsz, TRUST_E_NOMEM, "out of memory%s", NULL);
    }
    *receipt = buf;
    *receipt_len = len;
    return TRUST_OK;
}

int trust_receipt_decode(const uint8_t *buf, size_t len, trust_receipt *r, char *err, size_t errsz) {
    Ispeed__V1__Receipt *m;
    int rc = TRUST_E_MALFORMED;

    memset(r, 0, sizeof *r);
    if (!buf || len == 0 || len > TRUST_RECEIPT_MAX_BYTES)
        return fail(err, errsz, rc, "receipt empty or longer than 512 bytes%s", NULL);
    m = (Ispeed__V1__Receipt *)unpack_canonical(&ispeed__v1__receipt__descriptor, buf, len);
    if (!m) return fail(err, errsz, rc, "receipt is not a canonical Receipt message%s", NULL);
    if (m->version != 1 || strlen(m->server_id) != SIGN_AGENT_ID_CHARS ||
        strspn(m->server_id, "0123456789abcdef") != SIGN_AGENT_ID_CHARS || m->agent_key.len != SIGN_PUBLIC_BYTES ||
        m->nonce.len != TRUST_NONCE_BYTES || m->sample_digest.len != TRUST_DIGEST_BYTES || m->start_ms <= 0 ||
        m->end_ms < m->start_ms || m->issued_ms < m->end_ms || !prefix_ok(m->client_prefix)) {
        fail(err, errsz, rc, "receipt fields out of bounds%s", NULL);
        goto out;
    }
    strcpy(r->server_id, m->server_id);
    memcpy(r->agent_key, m->agent_key.data, SIGN_PUBLIC_BYTES);
    memcpy(r->nonce, m->nonce.data, TRUST_NONCE_BYTES);
    memcpy(r->sample_digest, m->sample_digest.data, TRUST_DIGEST_BYTES);
    strcpy(r->client_prefix, m->client_prefix);
    r->start_ms = m->start_ms;
    r->end_ms = m->end_ms;
    r->issued_ms = m->issued_ms;
    r->bytes_sent = m->bytes_sent;
    r->bytes_received = m->bytes_received;
    rc = TRUST_OK;
out:
    protobuf_c_message_free_unpacked(&m->base, NULL);
    if (rc != TRUST_OK) memset(r, 0, sizeof *r);
    return rc;
}

size_t trust_receipt_message(const uint8_t *receipt, size_t len, uint8_t *out, size_t outsz) {
    size_t dl = strlen(RECEIPT_DOMAIN);
    if (len > TRUST_RECEIPT_MAX_BYTES || dl + len > outsz) return 0;
    memcpy(out, RECEIPT_DOMAIN, dl);
    memcpy(out + dl, receipt, len);
    return dl + len;
}

int trust_receipt_covers(const trust_receipt *r, const uint8_t agent_key[SIGN_PUBLIC_BYTES],
                         const uint8_t digest[TRUST_DIGEST_BYTES]) {
    return sodium_memcmp(r->agent_key, agent_key, SIGN_PUBLIC_BYTES) == 0 &&
                   sodium_memcmp(r->sample_digest, digest, TRUST_DIGEST_BYTES) == 0
               ? TRUST_OK
               : TRUST_E_DIGEST;
}

int trust_receipt_verify(const uint8_t *buf, size_t len, const uint8_t *sig, size_t siglen,
                         const trust_keys *servers, const uint8_t agent_key[SIGN_PUBLIC_BYTES],
                         const uint8_t digest[TRUST_DIGEST_BYTES], trust_receipt *r, char *err, size_t errsz) {
    int rc = trust_receipt_decode(buf, len, r, err, errsz);
    if (rc != TRUST_OK) return rc;
    const uint8_t *pk = trust_keys_find_name(servers, r->server_id);
    if (!pk) return fail(err, errsz, TRUST_E_UNKNOWN_KEY, "receipt from server %s, not in servers.csv", r->server_id);
    if (siglen != SIGN_SIGNATURE_BYTES)
        return fail(err, errsz, TRUST_E_SIGNATURE, "receipt signature is not 64 bytes%s", NULL);
    rc = verify_with_domain(pk, RECEIPT_DOMAIN, buf, len, sig, siglen);
    if (rc != TRUST_OK) return fail(err, errsz, rc, "receipt signature does not verify%s", NULL);
    if (sodium_memcmp(r->agent_key, agent_key, SIGN_PUBLIC_BYTES) != 0 ||
        sodium_memcmp(r->sample_digest, digest, TRUST_DIGEST_BYTES) != 0)
        return fail(err, errsz, TRUST_E_DIGEST, "receipt covers another agent or sample%s", NULL);
    return TRUST_OK;
}

/* ---- withdrawals ---- */

size_t trust_withdrawal_message(const char *agent_id, int64_t time_ms, uint8_t *out, size_t outsz) {
    size_t dl = strlen(WITHDRAW_DOMAIN), il = strlen(agent_id), n = dl + il + 8;
    if (n > outsz) return 0;
    memcpy(out, WITHDRAW_DOMAIN, dl);
    memcpy(out + dl, agent_id, il);
    for (int i = 0; i < 8; i++) out[dl + il + (size_t)i] = (uint8_t)((uint64_t)time_ms >> (56 - 8 * i));
    return n;
}

int trust_withdrawal_verify(const char *agent_id, int64_t time_ms, const uint8_t *signer_key, size_t keylen,
                            const uint8_t *sig, size_t siglen, const uint8_t *agent_key,
                            const trust_keys *authorities, char *err, size_t errsz) {
    uint8_t msg[128];
    size_t n;

    if (!agent_id || strlen(agent_id) != SIGN_AGENT_ID_CHARS || keylen != SIGN_PUBLIC_BYTES ||
        siglen != SIGN_SIGNATURE_BYTES)
        return fail(err, errsz, TRUST_E_MALFORMED, "withdrawal is malformed or unsigned%s", NULL);
    int own = agent_key && sodium_memcmp(signer_key, agent_key, SIGN_PUBLIC_BYTES) == 0;
    if (!own && !trust_keys_find_key(authorities, signer_key))
        return fail(err, errsz, TRUST_E_UNKNOWN_KEY, "withdrawal signed by neither the agent nor an authority%s", NULL);
    n = trust_withdrawal_message(agent_id, time_ms, msg, sizeof msg);
    if (n == 0 || sign_verify(signer_key, msg, n, sig, siglen) != 0)
        return fail(err, errsz, TRUST_E_SIGNATURE, "withdrawal signature does not verify%s", NULL);
    return TRUST_OK;
}

int trust_client_prefix(const char *ip, char *out, size_t outsz) {
    struct in_addr a4;
    struct in6_addr a6;
    char buf[INET6_ADDRSTRLEN];

    if (inet_pton(AF_INET, ip, &a4) == 1) {
        uint8_t *b = (uint8_t *)&a4;
        b[3] = 0;
    } else if (inet_pton(AF_INET6, ip, &a6) == 1) {
        if (IN6_IS_ADDR_V4MAPPED(&a6)) {
            memcpy(&a4, a6.s6_addr + 12, 4);
            ((uint8_t *)&a4)[3] = 0;
        } else {
            memset(a6.s6_addr + 6, 0, 10);
            if (!inet_ntop(AF_INET6, &a6, buf, sizeof buf)) return -1;
            int n = snprintf(out, outsz, "%s/48", buf);
            return n < 0 || (size_t)n >= outsz ? -1 : 0;
        }
    } else {
        return -1;
    }
    if (!inet_ntop(AF_INET, &a4, buf, sizeof buf)) return -1;
    int n = snprintf(out, outsz, "%s/24", buf);
    return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

/* ---- key files ---- */

int trust_key_load(const char *path, int create, uint8_t pk[SIGN_PUBLIC_BYTES], uint8_t sk[SIGN_SECRET_BYTES],
                   int *created, char *err, size_t errsz) {
    uint8_t buf[SIGN_SECRET_BYTES + 1];
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (created) *created = 0;
    if (fd >= 0) {
        ssize_t n = read(fd, buf, sizeof buf);
        int bad_mode = fstat(fd, &st) == 0 && (st.st_mode & 077) != 0;
        close(fd);
        if (n != SIGN_SECRET_BYTES) {
            snprintf(err, errsz, "key file %s is damaged (%zd bytes, expected %d)", path, n, SIGN_SECRET_BYTES);
            return -1;
        }
        if (bad_mode) {
            snprintf(err, errsz, "key file %s is readable by others; chmod 600 it", path);
            return -1;
        }
        memcpy(sk, buf, SIGN_SECRET_BYTES);
        memcpy(pk, sk + 32, SIGN_PUBLIC_BYTES);
        sodium_memzero(buf, sizeof buf);
        return 0;
    }
    if (errno != ENOENT || !create) {
        snprintf(err, errsz, "cannot read key file %s: %s", path, strerror(errno));
        return -1;
    }
    if (sign_keypair(pk, sk) < 0) {
        snprintf(err, errsz, "cannot create a key pair");
        return -1;
    }
    /* O_EXCL: two processes starting at once never overwrite each other's key. */
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errsz, "cannot create key file %s: %s", path, strerror(errno));
        return -1;
    }
    if (fsutil_write_all(fd, sk, SIGN_SECRET_BYTES) < 0 || fsync(fd) < 0) {
        snprintf(err, errsz, "cannot write key file %s: %s", path, strerror(errno));
        close(fd);
        unlink(path);
        return -1;
    }
    close(fd);
    if (created) *created = 1;
    return 0;
}

int trust_enrollment_fill(Ispeed__V1__AgentEnrollment *e, const uint8_t pk[SIGN_PUBLIC_BYTES],
                          const uint8_t sk[SIGN_SECRET_BYTES], const char *agent_id, const char *commune,
                          const char *province, int64_t now_ms, const char *version, const char *token,
                          uint8_t sig[SIGN_SIGNATURE_BYTES]) {
    uint8_t msg[256];
    size_t mlen = sign_enrollment_message(pk, agent_id, commune, msg, sizeof msg);
    if (mlen == 0) return -1;
    sign_detached(sk, msg, mlen, sig);
    e->agent_id = (char *)agent_id;
    e->public_key.data = (uint8_t *)pk;
    e->public_key.len = SIGN_PUBLIC_BYTES;
    e->commune = (char *)commune;
    e->province = (char *)province;
    e->created_ms = now_ms;
    e->agent_version = (char *)version;
    e->token = (char *)(token ? token : "");
    e->signature.data = sig;
    e->signature.len = SIGN_SIGNATURE_BYTES;
    return 0;
}
