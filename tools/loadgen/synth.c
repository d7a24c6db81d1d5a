/* Synthetic agents and records. The figures are drawn from ranges seen on
 * Vietnamese fixed and mobile links, far inside the collector's
 * plausibility bounds (collector/validate.h), so every sample is valid. */
#include "synth.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

void synth_agent_init(synth_agent *a, uint64_t seed, uint64_t index, const registry_unit *commune, int network) {
    uint8_t in[16], key_seed[crypto_sign_SEEDBYTES];
    for (int i = 0; i < 8; i++) {
        in[i] = (uint8_t)(seed >> (8 * i));
        in[8 + i] = (uint8_t)(index >> (8 * i));
    }
    /* BLAKE2b of (seed, index) as the Ed25519 seed: distinct agents, same
     * keys on every run with the same seed. */
    crypto_generichash(key_seed, sizeof key_seed, in, sizeof in, (const uint8_t *)"ispeed-loadgen", 14);
    crypto_sign_seed_keypair(a->pk, a->sk, key_seed);
    sign_agent_id(a->pk, a->id);
    a->commune = commune;
    a->network = network;
    a->seq = 0;
}

size_t synth_enrollment(const synth_agent *a, int64_t now_ms, uint8_t *buf, size_t bufsz) {
    return synth_enrollment_token(a, now_ms, NULL, buf, bufsz);
}

size_t synth_enrollment_token(const synth_agent *a, int64_t now_ms, const char *token, uint8_t *buf,
                              size_t bufsz) {
    Ispeed__V1__AgentEnrollment e = ISPEED__V1__AGENT_ENROLLMENT__INIT;
    uint8_t sig[SIGN_SIGNATURE_BYTES];
    if (trust_enrollment_fill(&e, a->pk, a->sk, a->id, a->commune->code, a->commune->province->code, now_ms,
                              SYNTH_VERSION, token, sig) < 0)
        return 0;
    size_t len = protobuf_c_message_get_packed_size(&e.base);
    if (len > bufsz) return 0;
    return protobuf_c_message_pack(&e.base, buf);
}

/* Log-uniform in [lo, hi): rates spread over orders of magnitude. */
static double log_uniform(rng_t *r, double lo, double hi) { return exp(log(lo) + rng_unit(r) * (log(hi) - log(lo))); }

static double uniform(rng_t *r, double lo, double hi) { return lo + rng_unit(r) * (hi - lo); }

/* Three decimals, as the agent's millisecond figures come out. */
static double ms3(double v) { return round(v * 1000.0) / 1000.0; }

void synth_sample_fill(synth_sample *ss, const synth_agent *a, const char *registry_version, uint64_t seq,
                       int64_t start_ms, rng_t *r) {
    static const char *const fixed_ops[] = {"VNPT", "Viettel", "FPT Telecom", "CMC Telecom"};
    static const char *const mobile_ops[] = {"Viettel", "VinaPhone", "MobiFone", "Vietnamobile"};
    Ispeed__V1__Sample *s = &ss->s;
    double down, up_share, lat_min;

    ispeed__v1__sample__init(s);
    snprintf(ss->registry_version, sizeof ss->registry_version, "%s", registry_version ? registry_version : "");
    s->agent_id = (char *)a->id;
    s->seq = seq;
    s->agent_version = SYNTH_VERSION;
    s->start_ms = start_ms;
    s->duration_ms = (uint32_t)uniform(r, 8000, 25000);
    s->commune = (char *)a->commune->code;
    s->province = (char *)a->commune->province->code;
    s->registry_version = ss->registry_version;
    s->network = (Ispeed__V1__Network)a->network;
    s->server = "http://speed.loadgen.invalid:8080";
    if (a->network == ISPEED__V1__NETWORK__NETWORK_MOBILE) {
        int is5g = rng_below(r, 100) < 35;
        s->access = is5g ? ISPEED__V1__ACCESS_TYPE__ACCESS_MOBILE_5G : ISPEED__V1__ACCESS_TYPE__ACCESS_MOBILE_4G;
        s->operator_ = (char *)mobile_ops[rng_below(r, 4)];
        down = is5g ? log_uniform(r, 50e6, 800e6) : log_uniform(r, 5e6, 80e6);
        up_share = uniform(r, 0.1, 0.5);
        lat_min = uniform(r, 15, 60);
    } else {
        s->access = rng_below(r, 100) < 30 ? ISPEED__V1__ACCESS_TYPE__ACCESS_WIFI : ISPEED__V1__ACCESS_TYPE__ACCESS_FIXED;
        s->operator_ = (char *)fixed_ops[rng_below(r, 4)];
        down = log_uniform(r, 20e6, 1000e6);
        up_share = uniform(r, 0.3, 1.0);
        lat_min = uniform(r, 2, 30);
    }
    s->download_bps = (uint64_t)down;
    s->upload_bps = (uint64_t)(down * up_share);
    s->latency_min_ms = ms3(lat_min);
    s->latency_median_ms = ms3(lat_min + uniform(r, 0.1, 8));
    s->jitter_ms = ms3(uniform(r, 0.1, 5));
    s->loaded_latency_down_ms = ms3(s->latency_median_ms + uniform(r, 5, 150));
    s->loaded_latency_up_ms = ms3(s->latency_median_ms + uniform(r, 5, 200));
    /* Download and upload each take about 40% of the test. */
    s->bytes_down = (uint64_t)((double)s->download_bps / 8.0 * s->duration_ms * 0.4 / 1000.0);
    s->bytes_up = (uint64_t)((double)s->upload_bps / 8.0 * s->duration_ms * 0.4 / 1000.0);
    s->streams = 4;
    s->outcome = ISPEED__V1__OUTCOME__OUTCOME_OK;
    s->outcome_detail = "";
}

size_t synth_sign(const Ispeed__V1__Sample *s, const uint8_t sk[SIGN_SECRET_BYTES], const char *envelope_id,
                  uint8_t *buf, size_t bufsz) {
    Ispeed__V1__SignedSample env = ISPEED__V1__SIGNED_SAMPLE__INIT;
    uint8_t body[SYNTH_RECORD_MAX], sig[SIGN_SIGNATURE_BYTES];
    size_t blen = protobuf_c_message_get_packed_size(&s->base);
    if (blen > sizeof body) return 0;
    protobuf_c_message_pack(&s->base, body);
    sign_detached(sk, body, blen, sig);
    env.sample.data = body;
    env.sample.len = blen;
    env.signature.data = sig;
    env.signature.len = sizeof sig;
    env.agent_id = (char *)envelope_id;
    if (protobuf_c_message_get_packed_size(&env.base) > bufsz) return 0;
    return protobuf_c_message_pack(&env.base, buf);
}

int synth_trust_load(synth_trust *t, const char *authority_key, const char *server_key, int64_t issued_ms,
                     int64_t expires_ms, char *err, size_t errsz) {
    int created;
    memset(t, 0, sizeof *t);
    if (trust_key_load(authority_key, 1, t->auth_pk, t->auth_sk, &created, err, errsz) < 0 ||
        trust_key_load(server_key, 1, t->srv_pk, t->srv_sk, &created, err, errsz) < 0)
        return -1;
    sign_agent_id(t->srv_pk, t->server_id);
    t->issued_ms = issued_ms;
    t->expires_ms = expires_ms;
    t->token_uses = 1;
    t->bytes_permille = 1000;
    return 0;
}

static int write_line(const char *dir, const char *name, const char *first, const uint8_t pk[SIGN_PUBLIC_BYTES],
                      const char *label, char *err, size_t errsz) {
    char path[4096], hex[2 * SIGN_PUBLIC_BYTES + 1];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    trust_hex(pk, SIGN_PUBLIC_BYTES, hex);
    if (!(f = fopen(path, "w"))) {
        snprintf(err, errsz, "cannot write %s: %m", path);
        return -1;
    }
    fprintf(f, "%s,%s,%s\n", first, hex, label);
    if (fclose(f) != 0) {
        snprintf(err, errsz, "cannot write %s: %m", path);
        return -1;
    }
    return 0;
}

int synth_trust_write(const synth_trust *t, const char *dir, char *err, size_t errsz) {
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        snprintf(err, errsz, "cannot create %s: %m", dir);
        return -1;
    }
    if (write_line(dir, "authorities.csv", "*", t->auth_pk, "loadgen-authority", err, errsz) < 0 ||
        write_line(dir, "servers.csv", t->server_id, t->srv_pk, "loadgen-server", err, errsz) < 0)
        return -1;
    return 0;
}

int synth_token(const synth_trust *t, const synth_agent *a, char *out, size_t outsz) {
    trust_token tok;
    char err[128];
    memset(&tok, 0, sizeof tok);
    if (t->token_id[0])
        memcpy(tok.token_id, t->token_id, sizeof tok.token_id);
    else
        trust_hex(a->pk, TRUST_TOKEN_ID_CHARS / 2, tok.token_id);
    snprintf(tok.province, sizeof tok.province, "*");
    snprintf(tok.communes[0], sizeof tok.communes[0], "%s", a->commune->code);
    tok.ncommunes = 1;
    tok.uses = t->token_uses;
    tok.issued_ms = t->issued_ms;
    tok.expires_ms = t->expires_ms;
    return trust_token_issue(t->auth_sk, &tok, out, outsz, err, sizeof err) == 0 ? 0 : -1;
}

size_t synth_sign_attested(const Ispeed__V1__Sample *s, const synth_agent *a, const synth_trust *t,
                           uint32_t prefix_index, uint8_t *buf, size_t bufsz) {
    if (!t) return synth_sign(s, a->sk, a->id, buf, bufsz);
    Ispeed__V1__SignedSample env = ISPEED__V1__SIGNED_SAMPLE__INIT;
    Ispeed__V1__SignedReceipt sr = ISPEED__V1__SIGNED_RECEIPT__INIT;
    uint8_t body[SYNTH_RECORD_MAX], sig[SIGN_SIGNATURE_BYTES], rsig[SIGN_SIGNATURE_BYTES], *rbytes = NULL;
    size_t blen = protobuf_c_message_get_packed_size(&s->base), rlen = 0, out = 0;
    trust_receipt r;
    char err[128];
    if (blen > sizeof body) return 0;
    protobuf_c_message_pack(&s->base, body);
    sign_detached(a->sk, body, blen, sig);

    memset(&r, 0, sizeof r);
    memcpy(r.server_id, t->server_id, sizeof r.server_id);
    memcpy(r.agent_key, a->pk, SIGN_PUBLIC_BYTES);
    /* A nonce the server would have drawn: unique per (agent, seq). */
    crypto_generichash(r.nonce, sizeof r.nonce, body, blen, a->pk, SIGN_PUBLIC_BYTES);
    r.start_ms = s->start_ms;
    r.end_ms = s->start_ms + (int64_t)s->duration_ms;
    r.issued_ms = r.end_ms;
    r.bytes_sent = s->bytes_down / 1000 * t->bytes_permille + s->bytes_down % 1000 * t->bytes_permille / 1000;
    r.bytes_received = s->bytes_up / 1000 * t->bytes_permille + s->bytes_up % 1000 * t->bytes_permille / 1000;
    snprintf(r.client_prefix, sizeof r.client_prefix, "10.%u.%u.0/24", (prefix_index >> 8) & 0xff,
             prefix_index & 0xff);
    trust_sample_digest(body, blen, r.sample_digest);
    if (trust_receipt_sign(t->srv_sk, &r, &rbytes, &rlen, rsig, err, sizeof err) < 0) goto out;

    sr.receipt.data = rbytes;
    sr.receipt.len = rlen;
    sr.signature.data = rsig;
    sr.signature.len = sizeof rsig;
    env.sample.data = body;
    env.sample.len = blen;
    env.signature.data = sig;
    env.signature.len = sizeof sig;
    env.agent_id = (char *)a->id;
    env.receipt = &sr;
    if (protobuf_c_message_get_packed_size(&env.base) <= bufsz) out = protobuf_c_message_pack(&env.base, buf);
out:
    free(rbytes);
    return out;
}
