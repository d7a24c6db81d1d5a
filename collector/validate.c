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
    [REJECT_COMMUNE_MISMATCH] = "commune_mismatch",
    [REJECT_ZERO_RATE] = "zero_rate",
    [REJECT_UNATTESTED] = "unattested",
    [REJECT_BAD_RECEIPT] = "bad_receipt",
    [REJECT_RECEIPT_RATE] = "receipt_rate",
    [REJECT_TOKEN_EXPIRED] = "token_expired",
    [REJECT_TOKEN_USED_UP] = "token_used_up",
    [REJECT_PREFIX_CAP] = "prefix_cap",
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

/* Whether the server's account can carry what the sample reports: its
 * bytes (within the tolerance, plus the upload's lost receive buffers) and
 * its rates (a rate needs its bytes over at least the shortest window). */
static enum reject_reason receipt_carries(const trust_receipt *r, const Ispeed__V1__Sample *s, char *detail,
                                          size_t detailsz) {
    const double k = 1.0 + VALIDATE_RECEIPT_TOLERANCE;
    /* The sample's own start must be the server's, within the clock skew
     * allowed elsewhere: a sample backdated into another month (or into its
     * grace period) otherwise carries an honest receipt of today's test. */
    if (s->start_ms > r->start_ms + VALIDATE_MAX_FUTURE_MS || s->start_ms < r->start_ms - VALIDATE_MAX_FUTURE_MS) {
        snprintf(detail, detailsz, "receipt_time: sample starts at %lld, the server saw the test start at %lld",
                 (long long)s->start_ms, (long long)r->start_ms);
        return REJECT_BAD_RECEIPT;
    }
    unsigned streams = s->streams ? (s->streams > 16 ? 16 : s->streams) : 1;
    double up_slack = (double)(VALIDATE_RECEIPT_UP_SLACK_PER_STREAM * streams);
    if ((double)s->bytes_down > (double)r->bytes_sent * k ||
        (double)s->bytes_up > (double)r->bytes_received * k + up_slack) {
        snprintf(detail, detailsz, "sample reports %llu/%llu bytes down/up, server saw %llu/%llu",
                 (unsigned long long)s->bytes_down, (unsigned long long)s->bytes_up,
                 (unsigned long long)r->bytes_sent, (unsigned long long)r->bytes_received);
        return REJECT_RECEIPT_RATE;
    }
    double need_down = (double)s->download_bps / 8.0 * VALIDATE_MIN_WINDOW_MS / 1000.0;
    double need_up = (double)s->upload_bps / 8.0 * VALIDATE_MIN_WINDOW_MS / 1000.0;
    if (need_down > (double)r->bytes_sent * k || need_up > (double)r->bytes_received * k + up_slack) {
        snprintf(detail, detailsz, "rates %llu/%llu bit/s need more than the %llu/%llu bytes the server saw",
                 (unsigned long long)s->download_bps, (unsigned long long)s->upload_bps,
                 (unsigned long long)r->bytes_sent, (unsigned long long)r->bytes_received);
        return REJECT_RECEIPT_RATE;
    }
    /* The server's span holds both directions; a test that claims to have
     * lasted far less than it cannot have moved the bytes in it. */
    if (r->end_ms - r->start_ms > (int64_t)s->duration_ms + VALIDATE_MAX_FUTURE_MS) {
        snprintf(detail, detailsz, "server saw the test last %lld ms, the sample says %u ms",
                 (long long)(r->end_ms - r->start_ms), s->duration_ms);
        return REJECT_RECEIPT_RATE;
    }
    return REJECT_NONE;
}

int validate_sig_job(const validate_ctx *v, const Ispeed__V1__SignedSample *ss,
                     const uint8_t agent_key[SIGN_PUBLIC_BYTES], uint8_t key[SIGN_PUBLIC_BYTES], uint8_t *msg,
                     size_t msgsz, size_t *msglen, const uint8_t **sig, size_t *siglen) {
    if (v->attestation != VALIDATE_ATTEST_OFF && ss->receipt) {
        trust_receipt r;
        char why[64];
        const uint8_t *pk;
        if (trust_receipt_decode(ss->receipt->receipt.data, ss->receipt->receipt.len, &r, why, sizeof why) !=
                TRUST_OK ||
            !(pk = trust_keys_find_name(v->servers, r.server_id)) ||
            !(*msglen = trust_receipt_message(ss->receipt->receipt.data, ss->receipt->receipt.len, msg, msgsz)))
            return -1;
        memcpy(key, pk, SIGN_PUBLIC_BYTES);
        *sig = ss->receipt->signature.data;
        *siglen = ss->receipt->signature.len;
        return 0;
    }
    if (ss->sample.len > msgsz) return -1;
    memcpy(key, agent_key, SIGN_PUBLIC_BYTES);
    memcpy(msg, ss->sample.data, ss->sample.len);
    *msglen = ss->sample.len;
    *sig = ss->signature.data;
    *siglen = ss->signature.len;
    return 0;
}

/* The receipt's check, using the hint's outcome when it was reached with
 * the listed server's key (validate_sig_job's job). */
static int receipt_ok(const validate_ctx *v, const Ispeed__V1__SignedSample *ss, const uint8_t *agent_key,
                      const sig_hint *hint, trust_receipt *rc, char *why, size_t whysz) {
    uint8_t digest[TRUST_DIGEST_BYTES];
    const uint8_t *pk;
    int t;
    if ((t = trust_receipt_decode(ss->receipt->receipt.data, ss->receipt->receipt.len, rc, why, whysz)) != TRUST_OK)
        return t;
    if (!(pk = trust_keys_find_name(v->servers, rc->server_id))) {
        snprintf(why, whysz, "receipt from server %s, not in servers.csv", rc->server_id);
        return TRUST_E_UNKNOWN_KEY;
    }
    trust_sample_digest(ss->sample.data, ss->sample.len, digest);
    if (hint && hint->sig != SIG_UNCHECKED && memcmp(hint->public_key, pk, SIGN_PUBLIC_BYTES) == 0) {
        if (hint->sig != SIG_GOOD) {
            snprintf(why, whysz, "receipt signature does not verify");
            return TRUST_E_SIGNATURE;
        }
        if ((t = trust_receipt_covers(rc, agent_key, digest)) != TRUST_OK)
            snprintf(why, whysz, "receipt covers another agent or sample");
        return t;
    }
    return trust_receipt_verify(ss->receipt->receipt.data, ss->receipt->receipt.len, ss->receipt->signature.data,
                                ss->receipt->signature.len, v->servers, agent_key, digest, rc, why, whysz);
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
    trust_receipt rc;
    int have_receipt = v->attestation != VALIDATE_ATTEST_OFF && ss->receipt;
    if (have_receipt) {
        /* One verification instead of two: the server verified the agent's
         * signature over exactly these bytes before it signed a receipt of
         * their digest for this key. */
        char why[160];
        int t = receipt_ok(v, ss, ai->public_key, hint, &rc, why, sizeof why);
        if (t != TRUST_OK) {
            snprintf(detail, detailsz, "%s: %s", trust_reason("receipt", t), why);
            r = REJECT_BAD_RECEIPT;
            goto done;
        }
    } else if (v->attestation == VALIDATE_ATTEST_REQUIRED) {
        snprintf(detail, detailsz, "sample of agent %s carries no receipt", ss->agent_id);
        r = REJECT_UNATTESTED;
        goto done;
    } else if (!signature_ok(ai, ss, hint)) {
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
    /* The enrollment names one commune: a sample for any other would let
     * one key bring every commune of the country to its target. */
    if (v->bind_commune && ai->commune) {
        const registry_unit *ec = registry_find(v->reg, ai->commune);
        if (!ec && v->merges) {
            const char *to = merges_find(v->merges, ai->commune);
            if (to) ec = registry_find(v->reg, to);
        }
        if (ec != c) {
            snprintf(detail, detailsz, "agent %s enrolled for commune %.16s, sample is for %s", ss->agent_id,
                     ai->commune, c->code);
            r = REJECT_COMMUNE_MISMATCH;
            goto done;
        }
    }
    if ((r = plausible(s, now_ms, detail, detailsz)) != REJECT_NONE) goto done;
    if (v->reject_zero_rate && s->outcome == ISPEED__V1__OUTCOME__OUTCOME_OK &&
        (s->download_bps == 0 || s->upload_bps == 0)) {
        snprintf(detail, detailsz, "ok test with a zero rate (down %llu, up %llu)",
                 (unsigned long long)s->download_bps, (unsigned long long)s->upload_bps);
        r = REJECT_ZERO_RATE;
        goto done;
    }
    if (have_receipt && s->outcome == ISPEED__V1__OUTCOME__OUTCOME_OK &&
        (r = receipt_carries(&rc, s, detail, detailsz)) != REJECT_NONE)
        goto done;

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
    if (have_receipt) {
        out->attested = 1;
        out->attested_start_ms = rc.start_ms;
        out->attested_end_ms = rc.end_ms;
        memcpy(out->client_prefix, rc.client_prefix, sizeof out->client_prefix);
    }
done:
    if (s) ispeed__v1__sample__free_unpacked(s, NULL);
    if (owned) ispeed__v1__signed_sample__free_unpacked(owned, NULL);
    return r;
}
