/* Sample validation: the order of the checks is the order of trust. Nothing
 * inside the sample is believed before its signature has verified. */
#include "validate.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const reason_names[REJECT__COUNT] = {
    [REJECT_NONE] = "none",
    [REJECT_DECODE_ERROR] = "decode_error",
    [REJECT_UNKNOWN_AGENT] = "unknown_agent",
    [REJECT_BAD_SIGNATURE] = "bad_signature",
    [REJECT_AGENT_MISMATCH] = "agent_mismatch",
    [REJECT_UNKNOWN_COMMUNE] = "unknown_commune",
    [REJECT_PROVINCE_MISMATCH] = "province_mismatch",
    [REJECT_IMPLAUSIBLE] = "implausible",
    [REJECT_DUPLICATE] = "duplicate",
    [REJECT_DAILY_CAP] = "daily_cap",
};

const char *reject_reason_name(enum reject_reason r) {
    return (r >= 0 && r < REJECT__COUNT) ? reason_names[r] : "unknown";
}

void validated_clear(validated *out) {
    if (out->sample) ispeed__v1__sample__free_unpacked(out->sample, NULL);
    memset(out, 0, sizeof *out);
}

static int bad_ms(double v) { return isnan(v) || v < 0.0 || v > VALIDATE_MAX_LATENCY_MS; }

static enum reject_reason plausible(const Ispeed__V1__Sample *s, int64_t now_ms, char *detail, size_t detailsz) {
    if (s->start_ms > now_ms + VALIDATE_MAX_FUTURE_MS) {
        snprintf(detail, detailsz, "start_ms %lld is more than 10 minutes in the future", (long long)s->start_ms);
        return REJECT_IMPLAUSIBLE;
    }
    if (s->start_ms < VALIDATE_MIN_START_MS) {
        snprintf(detail, detailsz, "start_ms %lld is before 2020", (long long)s->start_ms);
        return REJECT_IMPLAUSIBLE;
    }
    if (s->duration_ms > VALIDATE_MAX_DURATION_MS ||
        (s->outcome == ISPEED__V1__OUTCOME__OUTCOME_OK && s->duration_ms == 0)) {
        snprintf(detail, detailsz, "duration_ms %u out of range", s->duration_ms);
        return REJECT_IMPLAUSIBLE;
    }
    if (s->download_bps > VALIDATE_MAX_BPS || s->upload_bps > VALIDATE_MAX_BPS) {
        snprintf(detail, detailsz, "rate above 100 Gbit/s (down %llu, up %llu)",
                 (unsigned long long)s->download_bps, (unsigned long long)s->upload_bps);
        return REJECT_IMPLAUSIBLE;
    }
    if (bad_ms(s->latency_min_ms) || bad_ms(s->latency_median_ms) || bad_ms(s->jitter_ms) ||
        bad_ms(s->loaded_latency_down_ms) || bad_ms(s->loaded_latency_up_ms)) {
        snprintf(detail, detailsz, "latency figures impossible (min %g, median %g, jitter %g)", s->latency_min_ms,
                 s->latency_median_ms, s->jitter_ms);
        return REJECT_IMPLAUSIBLE;
    }
    if (s->streams > VALIDATE_MAX_STREAMS) {
        snprintf(detail, detailsz, "%u streams", s->streams);
        return REJECT_IMPLAUSIBLE;
    }
    return REJECT_NONE;
}

enum reject_reason validate_sample(const validate_ctx *v, const void *key, size_t keylen, const void *value,
                                   size_t len, int64_t now_ms, validated *out, char *detail, size_t detailsz) {
    return validate_sample_ex(v, key, keylen, value, len, NULL, now_ms, out, detail, detailsz);
}

/* The signature check, or its outcome from the hint when it was made against
 * the very key bytes enrolled now: the outcome is a function of (key,
 * message, signature), and the hint's envelope is this record's. */
static int signature_ok(const agent_info *ai, const Ispeed__V1__SignedSample *ss, const sig_hint *hint) {
    if (hint && hint->sig != SIG_UNCHECKED && memcmp(hint->public_key, ai->public_key, SIGN_PUBLIC_BYTES) == 0)
        return hint->sig == SIG_GOOD;
    return sign_verify(ai->public_key, ss->sample.data, ss->sample.len, ss->signature.data, ss->signature.len) == 0;
}

enum reject_reason validate_sample_ex(const validate_ctx *v, const void *key, size_t keylen, const void *value,
                                      size_t len, const sig_hint *hint, int64_t now_ms, validated *out,
                                      char *detail, size_t detailsz) {
    Ispeed__V1__SignedSample *owned = NULL; /* decoded here, freed here */
    const Ispeed__V1__SignedSample *ss = hint ? hint->envelope : NULL;
    Ispeed__V1__Sample *s = NULL;
    enum reject_reason r = REJECT_NONE;
    memset(out, 0, sizeof *out);
    detail[0] = '\0';

    if (!ss && (!value || !(ss = owned = ispeed__v1__signed_sample__unpack(NULL, len, value)))) {
        snprintf(detail, detailsz, "value does not decode as SignedSample");
        r = REJECT_DECODE_ERROR;
        goto done;
    }
    const agent_info *ai = agents_find(v->agents, ss->agent_id);
    if (!ai) {
        snprintf(detail, detailsz, "agent %.64s is not enrolled", ss->agent_id);
        r = REJECT_UNKNOWN_AGENT;
        goto done;
    }
    if (!signature_ok(ai, ss, hint)) {
        snprintf(detail, detailsz, "signature does not verify for agent %s", ss->agent_id);
        r = REJECT_BAD_SIGNATURE;
        goto done;
    }
    if (!(s = ispeed__v1__sample__unpack(NULL, ss->sample.len, ss->sample.data))) {
        snprintf(detail, detailsz, "signed bytes of agent %s do not decode as Sample", ss->agent_id);
        r = REJECT_DECODE_ERROR;
        goto done;
    }
    if (strcmp(s->agent_id, ss->agent_id) != 0) {
        snprintf(detail, detailsz, "sample names agent %.64s inside an envelope of %s", s->agent_id, ss->agent_id);
        r = REJECT_AGENT_MISMATCH;
        goto done;
    }
    const registry_unit *c = registry_find(v->reg, s->commune);
    if (!c && v->merges) {
        const char *to = merges_find(v->merges, s->commune);
        if (to) c = registry_find(v->reg, to);
    }
    if (!c || c->level != REGISTRY_COMMUNE) {
        snprintf(detail, detailsz, "commune '%.32s' is not in the registry", s->commune);
        r = REJECT_UNKNOWN_COMMUNE;
        goto done;
    }
    const char *prov = c->province->code;
    /* The key decides the partition, and the partition decides which collector
     * counts the province: a sample under another province's key would be
     * counted where the province's other samples are not. */
    if (!key || keylen != strlen(prov) || memcmp(key, prov, keylen) != 0 ||
        (s->province[0] && strcmp(s->province, prov) != 0)) {
        snprintf(detail, detailsz, "commune %s is in province %s but the sample says key '%.*s' province '%.8s'",
                 c->code, prov, key ? (int)(keylen > 16 ? 16 : keylen) : 0, key ? (const char *)key : "",
                 s->province);
        r = REJECT_PROVINCE_MISMATCH;
        goto done;
    }
    if ((r = plausible(s, now_ms, detail, detailsz)) != REJECT_NONE) goto done;

    enum quota_network net;
    switch (s->network) {
    case ISPEED__V1__NETWORK__NETWORK_FIXED: net = QUOTA_FIXED; break;
    case ISPEED__V1__NETWORK__NETWORK_MOBILE: net = QUOTA_MOBILE; break;
    default:
        /* An agent that did not classify: the access type decides (SPEC:
         * Wi-Fi counts as fixed). */
        if (s->access == ISPEED__V1__ACCESS_TYPE__ACCESS_FIXED || s->access == ISPEED__V1__ACCESS_TYPE__ACCESS_WIFI)
            net = QUOTA_FIXED;
        else if (s->access == ISPEED__V1__ACCESS_TYPE__ACCESS_MOBILE_4G ||
                 s->access == ISPEED__V1__ACCESS_TYPE__ACCESS_MOBILE_5G)
            net = QUOTA_MOBILE;
        else {
            snprintf(detail, detailsz, "no network class and unknown access type");
            r = REJECT_IMPLAUSIBLE;
            goto done;
        }
    }
    out->sample = s;
    s = NULL;
    out->commune = c;
    out->network = net;
    out->is_5g = net == QUOTA_MOBILE && out->sample->access == ISPEED__V1__ACCESS_TYPE__ACCESS_MOBILE_5G;
done:
    if (s) ispeed__v1__sample__free_unpacked(s, NULL);
    if (owned) ispeed__v1__signed_sample__free_unpacked(owned, NULL);
    return r;
}
