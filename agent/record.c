/* Sample and enrollment serialisation. The signature covers the exact
 * serialised Sample bytes carried in SignedSample.sample, so a verifier never
 * depends on re-encoding. */
#include "record.h"

#include <stdio.h>
#include <stdlib.h>

#include "ispeed.pb-c.h"
#include "trust.h"

static uint8_t *pack_or_fail(const ProtobufCMessage *msg, size_t *len, char *err, size_t errsz) {
    *len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(*len ? *len : 1);
    if (!buf) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    protobuf_c_message_pack(msg, buf);
    return buf;
}

int record_signed_sample(const record_context *ctx, const measure_result *r, uint64_t seq, uint8_t **out,
                         size_t *outlen, char *err, size_t errsz) {
    Ispeed__V1__Sample s = ISPEED__V1__SAMPLE__INIT;
    Ispeed__V1__SignedSample ss = ISPEED__V1__SIGNED_SAMPLE__INIT;
    uint8_t sig[SIGN_SIGNATURE_BYTES];
    size_t len;

    s.agent_id = (char *)identity_agent_id(ctx->id);
    s.seq = seq;
    s.agent_version = ISPEED_VERSION;
    s.start_ms = r->start_ms;
    s.duration_ms = r->duration_ms;
    s.commune = (char *)ctx->commune->code;
    s.province = (char *)ctx->commune->province->code;
    s.registry_version = (char *)(ctx->registry_version ? ctx->registry_version : "");
    s.access = (Ispeed__V1__AccessType)ctx->net.access;
    s.network = (Ispeed__V1__Network)ctx->net.network;
    s.operator_ = (char *)(ctx->operator_name ? ctx->operator_name : "");
    s.server = (char *)r->server;
    s.download_bps = r->download_bps;
    s.upload_bps = r->upload_bps;
    s.latency_min_ms = r->latency_min_ms;
    s.latency_median_ms = r->latency_median_ms;
    s.jitter_ms = r->jitter_ms;
    s.loaded_latency_down_ms = r->loaded_latency_down_ms;
    s.loaded_latency_up_ms = r->loaded_latency_up_ms;
    s.bytes_down = r->bytes_down;
    s.bytes_up = r->bytes_up;
    s.streams = r->streams;
    s.outcome = (Ispeed__V1__Outcome)r->outcome;
    s.outcome_detail = (char *)r->outcome_detail;

    uint8_t *body = pack_or_fail(&s.base, &len, err, errsz);
    if (!body) return -1;
    sign_detached(identity_secret_key(ctx->id), body, len, sig);
    ss.sample.data = body;
    ss.sample.len = len;
    ss.signature.data = sig;
    ss.signature.len = sizeof sig;
    ss.agent_id = s.agent_id;
    *out = pack_or_fail(&ss.base, outlen, err, errsz);
    free(body);
    return *out ? 0 : -1;
}

int record_enrollment(const record_context *ctx, const char *token, int64_t now_ms, uint8_t **out, size_t *outlen,
                      char *err, size_t errsz) {
    Ispeed__V1__AgentEnrollment e = ISPEED__V1__AGENT_ENROLLMENT__INIT;
    uint8_t sig[SIGN_SIGNATURE_BYTES];
    if (trust_enrollment_fill(&e, identity_public_key(ctx->id), identity_secret_key(ctx->id), identity_agent_id(ctx->id),
                              ctx->commune->code, ctx->commune->province->code, now_ms, ISPEED_VERSION, token,
                              sig) < 0) {
        snprintf(err, errsz, "commune code too long: %s", ctx->commune->code);
        return -1;
    }
    *out = pack_or_fail(&e.base, outlen, err, errsz);
    return *out ? 0 : -1;
}

int record_withdrawal(const record_context *ctx, int64_t now_ms, uint8_t **out, size_t *outlen, char *err,
                      size_t errsz) {
    Ispeed__V1__AgentEnrollment e = ISPEED__V1__AGENT_ENROLLMENT__INIT;
    Ispeed__V1__AgentWithdrawal w = ISPEED__V1__AGENT_WITHDRAWAL__INIT;
    uint8_t msg[128], sig[SIGN_SIGNATURE_BYTES];
    const char *agent_id = identity_agent_id(ctx->id);
    size_t mlen = trust_withdrawal_message(agent_id, now_ms, msg, sizeof msg);
    if (mlen == 0) {
        snprintf(err, errsz, "agent id too long");
        return -1;
    }
    sign_detached(identity_secret_key(ctx->id), msg, mlen, sig);
    w.agent_id = (char *)agent_id;
    w.time_ms = now_ms;
    w.signer_key.data = (uint8_t *)identity_public_key(ctx->id);
    w.signer_key.len = SIGN_PUBLIC_BYTES;
    w.signature.data = sig;
    w.signature.len = sizeof sig;
    e.agent_id = (char *)agent_id;
    e.withdrawal = &w;
    *out = pack_or_fail(&e.base, outlen, err, errsz);
    return *out ? 0 : -1;
}
