/* common/trust.c: tokens, receipts, withdrawals, the key lists and key
 * files, each accepted when right and refused with the right reason when
 * tampered with, expired, foreign or oversized. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "tmpfile_fixture.h"

#include "ispeed.pb-c.h"
#include "sign.h"
#include "trust.h"

#define DAY_MS 86400000LL
#define T0 1751328000000LL /* 2025-07-01T00:00Z: a fixed instant, never today's */

typedef struct keys {
    uint8_t pk[SIGN_PUBLIC_BYTES], sk[SIGN_SECRET_BYTES];
    char hex[2 * SIGN_PUBLIC_BYTES + 1];
} keys;

static void make_keys(keys *k) {
    assert_int_equal(sign_keypair(k->pk, k->sk), 0);
    trust_hex(k->pk, SIGN_PUBLIC_BYTES, k->hex);
}

/* A list file with the given rows; returns the loaded list. */
static trust_keys *write_list(int servers, const char *text) {
    char path[] = "/tmp/ispeed-trust-XXXXXX";
    char err[256] = "";
    fixture_write_tmp(path, text);
    trust_keys *k = servers ? trust_servers_load(path, err, sizeof err) : trust_authorities_load(path, err, sizeof err);
    unlink(path);
    if (!k) print_message("load: %s\n", err);
    return k;
}

static void issue(const keys *a, const char *province, const char *commune, uint32_t uses, int64_t expires,
                  char *out, size_t outsz) {
    trust_token t;
    char err[256];
    memset(&t, 0, sizeof t);
    snprintf(t.province, sizeof t.province, "%s", province);
    snprintf(t.communes[0], sizeof t.communes[0], "%s", commune);
    t.ncommunes = 1;
    t.uses = uses;
    t.issued_ms = T0;
    t.expires_ms = expires;
    assert_int_equal(trust_token_issue(a->sk, &t, out, outsz, err, sizeof err), TRUST_OK);
}

static void test_token_round_trip(void **state) {
    (void)state;
    keys a;
    make_keys(&a);
    char line[256], tok[TRUST_TOKEN_MAX_CHARS + 1], err[256];
    snprintf(line, sizeof line, "province,public_key_hex,name\n01,%s,Ha Noi\n", a.hex);
    trust_keys *auth = write_list(0, line);
    assert_non_null(auth);
    assert_int_equal(trust_keys_count(auth), 1);

    trust_token t;
    memset(&t, 0, sizeof t);
    strcpy(t.province, "01");
    strcpy(t.communes[0], "00004");
    strcpy(t.communes[1], "00007");
    t.ncommunes = 2;
    t.uses = 3;
    t.issued_ms = T0;
    t.expires_ms = T0 + 30 * DAY_MS;
    assert_int_equal(trust_token_issue(a.sk, &t, tok, sizeof tok, err, sizeof err), TRUST_OK);
    assert_int_equal(strncmp(tok, TRUST_TOKEN_PREFIX, strlen(TRUST_TOKEN_PREFIX)), 0);
    /* One copy-pasteable word: base64url only. */
    assert_int_equal(strspn(tok + 6, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                     strlen(tok + 6));

    trust_token d;
    assert_int_equal(trust_token_decode(tok, &d, err, sizeof err), TRUST_OK);
    assert_string_equal(d.token_id, t.token_id);
    assert_int_equal(strlen(d.token_id), TRUST_TOKEN_ID_CHARS);
    assert_string_equal(d.province, "01");
    assert_int_equal(d.ncommunes, 2);
    assert_string_equal(d.communes[1], "00007");
    assert_int_equal(d.uses, 3);
    assert_int_equal(d.expires_ms, T0 + 30 * DAY_MS);
    assert_memory_equal(d.authority_key, a.pk, SIGN_PUBLIC_BYTES);

    assert_int_equal(trust_token_check(&d, auth, "00004", "01", T0 + DAY_MS, err, sizeof err), TRUST_OK);
    assert_int_equal(trust_token_check(&d, auth, "00007", "01", T0 + DAY_MS, err, sizeof err), TRUST_OK);
    assert_int_equal(trust_token_check(&d, auth, "00010", "01", T0 + DAY_MS, err, sizeof err), TRUST_E_COMMUNE);
    /* At the expiry instant and after, refused. */
    assert_int_equal(trust_token_check(&d, auth, "00004", "01", T0 + 30 * DAY_MS, err, sizeof err), TRUST_E_EXPIRED);
    assert_string_equal(trust_reason("token", TRUST_E_EXPIRED), "token_expired");
    /* A commune of another province: the province's authority is not its. */
    assert_int_equal(trust_token_check(&d, auth, "00004", "79", T0 + DAY_MS, err, sizeof err), TRUST_E_PROVINCE);
    trust_keys_free(auth);
}

static void test_token_authorities(void **state) {
    (void)state;
    keys prov, nat, rogue;
    make_keys(&prov);
    make_keys(&nat);
    make_keys(&rogue);
    char line[512], tok[TRUST_TOKEN_MAX_CHARS + 1], err[256];
    snprintf(line, sizeof line, "# comment\n01,%s,Ha Noi\n*,%s,Bo\n", prov.hex, nat.hex);
    trust_keys *auth = write_list(0, line);
    assert_non_null(auth);
    trust_token d;

    /* National authority: any province's commune. */
    issue(&nat, "*", "26734", 1, T0 + DAY_MS, tok, sizeof tok);
    assert_int_equal(trust_token_decode(tok, &d, err, sizeof err), TRUST_OK);
    assert_int_equal(trust_token_check(&d, auth, "26734", "79", T0, err, sizeof err), TRUST_OK);

    /* An unlisted key, however well-formed its token. */
    issue(&rogue, "01", "00004", 1, T0 + DAY_MS, tok, sizeof tok);
    assert_int_equal(trust_token_decode(tok, &d, err, sizeof err), TRUST_OK);
    assert_int_equal(trust_token_check(&d, auth, "00004", "01", T0, err, sizeof err), TRUST_E_UNKNOWN_KEY);

    /* A province authority claiming another province in its token. */
    issue(&prov, "79", "26734", 1, T0 + DAY_MS, tok, sizeof tok);
    assert_int_equal(trust_token_decode(tok, &d, err, sizeof err), TRUST_OK);
    assert_int_equal(trust_token_check(&d, auth, "26734", "79", T0, err, sizeof err), TRUST_E_PROVINCE);
    trust_keys_free(auth);
}

static void test_token_tampered(void **state) {
    (void)state;
    keys a;
    make_keys(&a);
    char tok[TRUST_TOKEN_MAX_CHARS + 1], err[256];
    trust_token d;
    issue(&a, "01", "00004", 1, T0 + DAY_MS, tok, sizeof tok);
    size_t n = strlen(tok);
    /* Flip every character in turn: none decodes to a valid token. */
    for (size_t i = strlen(TRUST_TOKEN_PREFIX); i < n; i++) {
        char saved = tok[i];
        tok[i] = saved == 'A' ? 'B' : 'A';
        int rc = trust_token_decode(tok, &d, err, sizeof err);
        assert_true(rc == TRUST_E_MALFORMED || rc == TRUST_E_SIGNATURE);
        tok[i] = saved;
    }
    assert_int_equal(trust_token_decode(tok, &d, err, sizeof err), TRUST_OK);
    assert_int_equal(trust_token_decode("ispt1.", &d, err, sizeof err), TRUST_E_MALFORMED);
    assert_int_equal(trust_token_decode("hello", &d, err, sizeof err), TRUST_E_MALFORMED);
    assert_int_equal(trust_token_decode("", &d, err, sizeof err), TRUST_E_MALFORMED);
    char *big = malloc(TRUST_TOKEN_MAX_CHARS + 100);
    memcpy(big, "ispt1.", 6);
    memset(big + 6, 'A', TRUST_TOKEN_MAX_CHARS + 50);
    big[TRUST_TOKEN_MAX_CHARS + 56] = '\0';
    assert_int_equal(trust_token_decode(big, &d, err, sizeof err), TRUST_E_MALFORMED);
    free(big);
    /* A signed token with an unknown field appended is refused, not ignored. */
    {
        char err2[256];
        Ispeed__V1__EnrollmentToken m = ISPEED__V1__ENROLLMENT_TOKEN__INIT;
        char *communes[] = {"00004"};
        m.version = 1;
        m.token_id = "0123456789abcdef0123456789abcdef";
        m.province = "01";
        m.n_communes = 1;
        m.communes = communes;
        m.uses = 1;
        m.issued_ms = T0;
        m.expires_ms = T0 + DAY_MS;
        m.authority_key.data = a.pk;
        m.authority_key.len = 32;
        uint8_t body[600];
        size_t bl = protobuf_c_message_pack(&m.base, body);
        body[bl++] = (15 << 3) | 0; /* field 15 (unknown), varint 1 */
        body[bl++] = 1;
        uint8_t signed_msg[700], sig[64];
        memcpy(signed_msg, "ispeed-token-v1", 15);
        memcpy(signed_msg + 15, body, bl);
        sign_detached(a.sk, signed_msg, 15 + bl, sig);
        Ispeed__V1__SignedToken st = ISPEED__V1__SIGNED_TOKEN__INIT;
        st.token.data = body;
        st.token.len = bl;
        st.signature.data = sig;
        st.signature.len = 64;
        uint8_t wire[800];
        size_t wl = protobuf_c_message_pack(&st.base, wire);
        char text[1200] = "ispt1.";
        sodium_bin2base64(text + 6, sizeof text - 6, wire, wl, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        assert_int_equal(trust_token_decode(text, &d, err2, sizeof err2), TRUST_E_MALFORMED);
    }
}

static void test_token_issue_bounds(void **state) {
    (void)state;
    keys a;
    make_keys(&a);
    char tok[TRUST_TOKEN_MAX_CHARS + 1], err[256];
    trust_token t;
    memset(&t, 0, sizeof t);
    strcpy(t.province, "01");
    t.ncommunes = 1;
    strcpy(t.communes[0], "00004\x1b[");
    t.uses = 1;
    t.issued_ms = T0;
    t.expires_ms = T0 + 1;
    assert_int_equal(trust_token_issue(a.sk, &t, tok, sizeof tok, err, sizeof err), TRUST_E_MALFORMED);
    strcpy(t.communes[0], "00004");
    t.uses = 0;
    assert_int_equal(trust_token_issue(a.sk, &t, tok, sizeof tok, err, sizeof err), TRUST_E_MALFORMED);
    t.uses = 1;
    t.expires_ms = T0;
    assert_int_equal(trust_token_issue(a.sk, &t, tok, sizeof tok, err, sizeof err), TRUST_E_MALFORMED);
    t.expires_ms = T0 + 1;
    /* 16 communes is the most a token names, and it still fits. */
    t.ncommunes = TRUST_MAX_COMMUNES;
    for (size_t i = 0; i < TRUST_MAX_COMMUNES; i++) snprintf(t.communes[i], sizeof t.communes[i], "%015zu", i);
    assert_int_equal(trust_token_issue(a.sk, &t, tok, sizeof tok, err, sizeof err), TRUST_OK);
    trust_token d;
    assert_int_equal(trust_token_decode(tok, &d, err, sizeof err), TRUST_OK);
    assert_int_equal(d.ncommunes, TRUST_MAX_COMMUNES);
    assert_string_equal(d.communes[15], "000000000000015");
}

static void test_lists(void **state) {
    (void)state;
    keys s;
    make_keys(&s);
    char id[SIGN_AGENT_ID_CHARS + 1], line[512];
    sign_agent_id(s.pk, id);
    snprintf(line, sizeof line, "server_id,public_key_hex,name\n%s,%s,hn-1, with comma\n", id, s.hex);
    trust_keys *sv = write_list(1, line);
    assert_non_null(sv);
    assert_memory_equal(trust_keys_find_name(sv, id), s.pk, SIGN_PUBLIC_BYTES);
    assert_string_equal(trust_keys_find_key(sv, s.pk), id);
    assert_null(trust_keys_find_name(sv, "00000000000000000000000000000000"));
    trust_keys_free(sv);
    /* A server id that is not its key's id, a short key, a bad province. */
    snprintf(line, sizeof line, "00000000000000000000000000000000,%s,x\n", s.hex);
    assert_null(write_list(1, line));
    assert_null(write_list(0, "01,abcd,x\n"));
    snprintf(line, sizeof line, "0\x1b,%s,x\n", s.hex);
    assert_null(write_list(0, line));
    char err[256];
    assert_null(trust_authorities_load("/nonexistent/authorities.csv", err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent/authorities.csv"));
    trust_keys_free(NULL);
}

static void make_receipt(const keys *agent, const char *server_id, const uint8_t digest[32], trust_receipt *r) {
    memset(r, 0, sizeof *r);
    strcpy(r->server_id, server_id);
    memcpy(r->agent_key, agent->pk, 32);
    memset(r->nonce, 7, sizeof r->nonce);
    r->start_ms = T0 + 1000;
    r->end_ms = T0 + 21000;
    r->issued_ms = T0 + 21500;
    r->bytes_sent = 250000000;
    r->bytes_received = 125000000;
    strcpy(r->client_prefix, "203.0.113.0/24");
    memcpy(r->sample_digest, digest, 32);
}

static void test_receipt(void **state) {
    (void)state;
    keys s, other, agent;
    make_keys(&s);
    make_keys(&other);
    make_keys(&agent);
    char id[SIGN_AGENT_ID_CHARS + 1], line[512], err[256];
    sign_agent_id(s.pk, id);
    snprintf(line, sizeof line, "%s,%s,hn-1\n", id, s.hex);
    trust_keys *sv = write_list(1, line);
    assert_non_null(sv);

    const char sample[] = "the signed sample bytes";
    uint8_t digest[32], digest2[32];
    trust_sample_digest(sample, sizeof sample, digest);
    trust_sample_digest(sample, sizeof sample - 1, digest2);
    assert_memory_not_equal(digest, digest2, 32);

    trust_receipt r, d;
    make_receipt(&agent, id, digest, &r);
    uint8_t *buf, sig[64];
    size_t len;
    assert_int_equal(trust_receipt_sign(s.sk, &r, &buf, &len, sig, err, sizeof err), TRUST_OK);
    assert_true(len <= TRUST_RECEIPT_MAX_BYTES);
    assert_int_equal(trust_receipt_verify(buf, len, sig, 64, sv, agent.pk, digest, &d, err, sizeof err), TRUST_OK);
    assert_int_equal(d.bytes_sent, 250000000);
    assert_int_equal(d.bytes_received, 125000000);
    assert_int_equal(d.start_ms, T0 + 1000);
    assert_int_equal(d.end_ms, T0 + 21000);
    assert_string_equal(d.client_prefix, "203.0.113.0/24");
    assert_memory_equal(d.nonce, r.nonce, 16);

    /* Another sample, another agent, a bit flipped, a short signature. */
    assert_int_equal(trust_receipt_verify(buf, len, sig, 64, sv, agent.pk, digest2, &d, err, sizeof err),
                     TRUST_E_DIGEST);
    assert_int_equal(trust_receipt_verify(buf, len, sig, 64, sv, other.pk, digest, &d, err, sizeof err),
                     TRUST_E_DIGEST);
    assert_int_equal(trust_receipt_verify(buf, len, sig, 63, sv, agent.pk, digest, &d, err, sizeof err),
                     TRUST_E_SIGNATURE);
    for (size_t i = 0; i < len; i++) {
        buf[i] ^= 0x01;
        int rc = trust_receipt_verify(buf, len, sig, 64, sv, agent.pk, digest, &d, err, sizeof err);
        assert_true(rc == TRUST_E_MALFORMED || rc == TRUST_E_SIGNATURE || rc == TRUST_E_UNKNOWN_KEY);
        buf[i] ^= 0x01;
    }
    /* Signed by a server that is not listed (under the listed one's id). */
    uint8_t *buf2, sig2[64];
    size_t len2;
    assert_int_equal(trust_receipt_sign(other.sk, &r, &buf2, &len2, sig2, err, sizeof err), TRUST_OK);
    assert_int_equal(trust_receipt_verify(buf2, len2, sig2, 64, sv, agent.pk, digest, &d, err, sizeof err),
                     TRUST_E_SIGNATURE);
    char oid[SIGN_AGENT_ID_CHARS + 1];
    sign_agent_id(other.pk, oid);
    free(buf2);
    strcpy(r.server_id, oid);
    assert_int_equal(trust_receipt_sign(other.sk, &r, &buf2, &len2, sig2, err, sizeof err), TRUST_OK);
    assert_int_equal(trust_receipt_verify(buf2, len2, sig2, 64, sv, agent.pk, digest, &d, err, sizeof err),
                     TRUST_E_UNKNOWN_KEY);
    assert_string_equal(trust_reason("receipt", TRUST_E_UNKNOWN_KEY), "receipt_unknown_server");
    free(buf2);
    /* Bounds: empty, oversized, truncated. */
    assert_int_equal(trust_receipt_decode(buf, 0, &d, err, sizeof err), TRUST_E_MALFORMED);
    assert_int_equal(trust_receipt_decode(buf, TRUST_RECEIPT_MAX_BYTES + 1, &d, err, sizeof err), TRUST_E_MALFORMED);
    for (size_t n = 1; n < len; n++) assert_int_equal(trust_receipt_decode(buf, n, &d, err, sizeof err) == TRUST_OK, 0);
    free(buf);
    trust_keys_free(sv);
}

static void test_withdrawal(void **state) {
    (void)state;
    keys agent, auth, rogue;
    make_keys(&agent);
    make_keys(&auth);
    make_keys(&rogue);
    char id[SIGN_AGENT_ID_CHARS + 1], line[256], err[256];
    sign_agent_id(agent.pk, id);
    snprintf(line, sizeof line, "01,%s,Ha Noi\n", auth.hex);
    trust_keys *a = write_list(0, line);
    assert_non_null(a);
    uint8_t msg[128], sig[64];
    size_t n = trust_withdrawal_message(id, T0, msg, sizeof msg);
    assert_true(n > 0);

    sign_detached(agent.sk, msg, n, sig);
    assert_int_equal(trust_withdrawal_verify(id, T0, agent.pk, 32, sig, 64, agent.pk, a, err, sizeof err), TRUST_OK);
    /* The signature binds the time. */
    assert_int_equal(trust_withdrawal_verify(id, T0 + 1, agent.pk, 32, sig, 64, agent.pk, a, err, sizeof err),
                     TRUST_E_SIGNATURE);
    sign_detached(auth.sk, msg, n, sig);
    assert_int_equal(trust_withdrawal_verify(id, T0, auth.pk, 32, sig, 64, agent.pk, a, err, sizeof err), TRUST_OK);
    /* The wrong key: refused even though the signature is its own. */
    sign_detached(rogue.sk, msg, n, sig);
    assert_int_equal(trust_withdrawal_verify(id, T0, rogue.pk, 32, sig, 64, agent.pk, a, err, sizeof err),
                     TRUST_E_UNKNOWN_KEY);
    /* Unsigned (a bare tombstone carries nothing). */
    assert_int_equal(trust_withdrawal_verify(id, T0, NULL, 0, NULL, 0, agent.pk, a, err, sizeof err),
                     TRUST_E_MALFORMED);
    trust_keys_free(a);
}

static void test_prefix(void **state) {
    (void)state;
    char p[64];
    assert_int_equal(trust_client_prefix("203.0.113.77", p, sizeof p), 0);
    assert_string_equal(p, "203.0.113.0/24");
    assert_int_equal(trust_client_prefix("::ffff:10.1.2.3", p, sizeof p), 0);
    assert_string_equal(p, "10.1.2.0/24");
    assert_int_equal(trust_client_prefix("2001:db8:1:2:3:4:5:6", p, sizeof p), 0);
    assert_string_equal(p, "2001:db8:1::/48");
    assert_int_equal(trust_client_prefix("not an address", p, sizeof p), -1);
}

static void test_key_file(void **state) {
    (void)state;
    char dir[] = "/tmp/ispeed-trustkey-XXXXXX", path[128], err[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/server.key", dir);
    uint8_t pk[32], sk[64], pk2[32], sk2[64];
    int created = 0;
    assert_int_equal(trust_key_load(path, 0, pk, sk, &created, err, sizeof err), -1);
    assert_int_equal(trust_key_load(path, 1, pk, sk, &created, err, sizeof err), 0);
    assert_int_equal(created, 1);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(trust_key_load(path, 1, pk2, sk2, &created, err, sizeof err), 0);
    assert_int_equal(created, 0);
    assert_memory_equal(pk, pk2, 32);
    assert_memory_equal(sk, sk2, 64);
    chmod(path, 0644);
    assert_int_equal(trust_key_load(path, 1, pk2, sk2, &created, err, sizeof err), -1);
    assert_non_null(strstr(err, "chmod 600"));
    unlink(path);
    rmdir(dir);
}

int main(void) {
    if (sign_init() < 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_round_trip), cmocka_unit_test(test_token_authorities),
        cmocka_unit_test(test_token_tampered),   cmocka_unit_test(test_token_issue_bounds),
        cmocka_unit_test(test_lists),            cmocka_unit_test(test_receipt),
        cmocka_unit_test(test_withdrawal),       cmocka_unit_test(test_prefix),
        cmocka_unit_test(test_key_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
