/* ispeed-trust-check: checks what the trust formats say, for integration
 * tests (common/trust.h), as the collector will.
 *   receipt --servers FILE < SignedSample   verifies the sample's receipt and
 *       prints its fields as key=value lines, and the sample's own rates;
 *   token --authorities FILE --commune C --province P TOKEN   checks a token;
 *   server-key FILE NAME   creates the test server key FILE if missing (as
 *       ispeed-server --key would) and prints its servers.csv line, so a
 *       test can list a server before any server or loadgen runs.
 * Exit 0 valid, 1 refused (the reason on stderr), 2 bad usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ispeed.pb-c.h"
#include "sign.h"
#include "trust.h"
#include "vntime.h"

static int check_receipt(const char *servers_path) {
    char err[512];
    static uint8_t buf[1 << 16];
    size_t len = fread(buf, 1, sizeof buf, stdin);
    trust_keys *servers = trust_servers_load(servers_path, err, sizeof err);
    if (!servers) {
        fprintf(stderr, "ispeed-trust-check: %s\n", err);
        return 2;
    }
    Ispeed__V1__SignedSample *ss = ispeed__v1__signed_sample__unpack(NULL, len, buf);
    Ispeed__V1__Sample *s = ss ? ispeed__v1__sample__unpack(NULL, ss->sample.len, ss->sample.data) : NULL;
    int rc = 1;
    if (!s) {
        fprintf(stderr, "ispeed-trust-check: stdin is not a SignedSample\n");
        goto out;
    }
    if (!ss->receipt) {
        fprintf(stderr, "ispeed-trust-check: receipt_missing\n");
        goto out;
    }
    uint8_t digest[TRUST_DIGEST_BYTES];
    trust_receipt r;
    trust_sample_digest(ss->sample.data, ss->sample.len, digest);
    /* The agent's key is the receipt's own: here we check the server's word
     * and the digest; the collector matches the key to the enrollment. */
    if (trust_receipt_decode(ss->receipt->receipt.data, ss->receipt->receipt.len, &r, err, sizeof err) != TRUST_OK) {
        fprintf(stderr, "ispeed-trust-check: receipt_malformed: %s\n", err);
        goto out;
    }
    char id[SIGN_AGENT_ID_CHARS + 1];
    sign_agent_id(r.agent_key, id);
    if (strcmp(id, s->agent_id) != 0) {
        fprintf(stderr, "ispeed-trust-check: receipt for agent %s, sample of %s\n", id, s->agent_id);
        goto out;
    }
    int v = trust_receipt_verify(ss->receipt->receipt.data, ss->receipt->receipt.len, ss->receipt->signature.data,
                                 ss->receipt->signature.len, servers, r.agent_key, digest, &r, err, sizeof err);
    if (v != TRUST_OK) {
        fprintf(stderr, "ispeed-trust-check: %s: %s\n", trust_reason("receipt", v), err);
        goto out;
    }
    printf("server_id=%s\nstart_ms=%lld\nend_ms=%lld\nbytes_sent=%llu\nbytes_received=%llu\nclient_prefix=%s\n"
           "sample_bytes_down=%llu\nsample_bytes_up=%llu\nsample_download_bps=%llu\nsample_upload_bps=%llu\n"
           "sample_duration_ms=%u\n",
           r.server_id, (long long)r.start_ms, (long long)r.end_ms, (unsigned long long)r.bytes_sent,
           (unsigned long long)r.bytes_received, r.client_prefix, (unsigned long long)s->bytes_down,
           (unsigned long long)s->bytes_up, (unsigned long long)s->download_bps, (unsigned long long)s->upload_bps,
           s->duration_ms);
    rc = 0;
out:
    if (s) ispeed__v1__sample__free_unpacked(s, NULL);
    if (ss) ispeed__v1__signed_sample__free_unpacked(ss, NULL);
    trust_keys_free(servers);
    return rc;
}

static int check_token(const char *auth_path, const char *commune, const char *province, const char *token) {
    char err[512];
    trust_token t;
    trust_keys *a = trust_authorities_load(auth_path, err, sizeof err);
    if (!a) {
        fprintf(stderr, "ispeed-trust-check: %s\n", err);
        return 2;
    }
    int v = trust_token_decode(token, &t, err, sizeof err);
    if (v == TRUST_OK) v = trust_token_check(&t, a, commune, province, vntime_now_ms(), err, sizeof err);
    trust_keys_free(a);
    if (v != TRUST_OK) {
        fprintf(stderr, "ispeed-trust-check: %s: %s\n", trust_reason("token", v), err);
        return 1;
    }
    printf("token_id=%s\nprovince=%s\nuses=%u\nexpires_ms=%lld\n", t.token_id, t.province, t.uses,
           (long long)t.expires_ms);
    return 0;
}

static int server_key(const char *path, const char *name) {
    uint8_t pk[SIGN_PUBLIC_BYTES], sk[SIGN_SECRET_BYTES];
    char err[512], id[SIGN_AGENT_ID_CHARS + 1], hex[2 * SIGN_PUBLIC_BYTES + 1];
    int created;
    if (trust_key_load(path, 1, pk, sk, &created, err, sizeof err) < 0) {
        fprintf(stderr, "ispeed-trust-check: %s\n", err);
        return 1;
    }
    sign_agent_id(pk, id);
    trust_hex(pk, SIGN_PUBLIC_BYTES, hex);
    printf("%s,%s,%s\n", id, hex, name);
    return 0;
}

int main(int argc, char **argv) {
    if (sign_init() < 0) return 1;
    if (argc == 4 && strcmp(argv[1], "server-key") == 0) return server_key(argv[2], argv[3]);
    if (argc == 4 && strcmp(argv[1], "receipt") == 0 && strcmp(argv[2], "--servers") == 0)
        return check_receipt(argv[3]);
    if (argc == 9 && strcmp(argv[1], "token") == 0 && strcmp(argv[2], "--authorities") == 0 &&
        strcmp(argv[4], "--commune") == 0 && strcmp(argv[6], "--province") == 0)
        return check_token(argv[3], argv[5], argv[7], argv[8]);
    fputs("usage: ispeed-trust-check receipt --servers FILE < SignedSample\n"
          "       ispeed-trust-check token --authorities FILE --commune C --province P TOKEN\n"
          "       ispeed-trust-check server-key FILE NAME\n",
          stderr);
    return 2;
}
