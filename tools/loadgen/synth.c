/* Synthetic agents and records. The figures are drawn from ranges seen on
 * Vietnamese fixed and mobile links, far inside the collector's
 * plausibility bounds (collector/validate.h), so every sample is valid. */
#include "synth.h"

#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

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
    Ispeed__V1__AgentEnrollment e = ISPEED__V1__AGENT_ENROLLMENT__INIT;
    uint8_t msg[256], sig[SIGN_SIGNATURE_BYTES];
    size_t mlen = sign_enrollment_message(a->pk, a->id, a->commune->code, msg, sizeof msg);
    if (mlen == 0) return 0;
    sign_detached(a->sk, msg, mlen, sig);
    e.agent_id = (char *)a->id;
    e.public_key.data = (uint8_t *)a->pk;
    e.public_key.len = SIGN_PUBLIC_BYTES;
    e.commune = (char *)a->commune->code;
    e.province = (char *)a->commune->province->code;
    e.created_ms = now_ms;
    e.agent_version = SYNTH_VERSION;
    e.token = "";
    e.signature.data = sig;
    e.signature.len = sizeof sig;
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
