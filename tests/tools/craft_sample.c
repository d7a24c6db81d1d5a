/* ispeed-craft-sample: produces one agent's enrollment and crafted sample
 * records, good or broken in one chosen way, for the collector's bad-input
 * test. The agent is seeded (--seed), so a second call with the same seed is
 * the same agent and can replay its sequence numbers. */
#include <stddef.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka.h"
#include "opttab.h"
#include "registry.h"
#include "sign.h"
#include "synth.h"
#include "trust.h"
#include "vntime.h"

#define PROG "ispeed-craft-sample"

static const char *const kinds[] = {"valid",           "random",         "truncated",         "flipbit",
                                    "unknown-commune", "future",         "province-mismatch", "agent-mismatch",
                                    "unknown-agent",   "implausible",    "no-receipt",        "receipt-rate",
                                    "zero-rate",       "receipt-reuse",  "other-commune",     "no-token",
                                    "backdate",        "held-back",      "tombstone",         "bad-withdrawal",
                                    "oversized-enrollment", "bad-enrollment-signature", NULL};

struct craft_opts {
    char *bootstrap, *units, *commune, *prefix, *authority_key, *server_key, *token_id;
    int kind, token_expired;
    int64_t seed, seq, count, start, token_uses;
    kafka_props props;
};

enum { ACT_HELP = 1 };

#define OFF(f) offsetof(struct craft_opts, f)
static const opttab_def option_defs[] = {
    {.name = "bootstrap", .short_name = 'b', .type = OPTTAB_STRING, .offset = OFF(bootstrap), .metavar = "BOOTSTRAP",
     .help = "Kafka bootstrap list (required)"},
    {.name = "units", .type = OPTTAB_STRING, .offset = OFF(units), .metavar = "FILE", .help = "registry CSV (required)"},
    {.name = "commune", .type = OPTTAB_STRING, .offset = OFF(commune), .metavar = "CODE",
     .help = "the agent's commune (required)"},
    {.name = "kind", .type = OPTTAB_CHOICE, .offset = OFF(kind),
     .choices = "valid|random|truncated|flipbit|unknown-commune|future|province-mismatch|agent-mismatch|"
                "unknown-agent|implausible|no-receipt|receipt-rate|zero-rate|receipt-reuse|other-commune|"
                "no-token|backdate|held-back|tombstone|bad-withdrawal|oversized-enrollment|"
                "bad-enrollment-signature",
     .metavar = "KIND", .help = "what to produce, see above (required)"},
    {.name = "seed", .type = OPTTAB_INT, .offset = OFF(seed), .def = "1", .lo = 0, .hi = INT64_MAX, .metavar = "S",
     .help = "seed of agent number 0"},
    {.name = "seq", .type = OPTTAB_INT, .offset = OFF(seq), .def = "1", .lo = 0, .hi = INT64_MAX, .metavar = "N",
     .help = "first sequence number"},
    {.name = "count", .type = OPTTAB_INT, .offset = OFF(count), .def = "1", .lo = 0, .hi = 100000000, .metavar = "N",
     .help = "records to produce"},
    {.name = "start-ms", .type = OPTTAB_INT, .offset = OFF(start), .lo = 0, .hi = INT64_MAX, .metavar = "MS",
     .help = "start time of the first record (default: now - 10 min)"},
    {.name = "topic-prefix", .type = OPTTAB_STRING, .offset = OFF(prefix), .def = KAFKA_DEFAULT_PREFIX,
     .metavar = "P", .help = "prefix of every topic"},
    {.name = "authority-key", .type = OPTTAB_STRING, .offset = OFF(authority_key), .metavar = "FILE",
     .help = "as ispeed-loadgen's: the agent enrolls with a token this national authority key signs"},
    {.name = "server-key", .type = OPTTAB_STRING, .offset = OFF(server_key), .metavar = "FILE",
     .help = "as ispeed-loadgen's: each sample carries a receipt this server key signs"},
    {.name = "token-uses", .type = OPTTAB_INT, .offset = OFF(token_uses), .def = "1", .lo = 1, .hi = 1000000,
     .metavar = "N", .help = "uses the agent's token allows"},
    {.name = "token-id", .type = OPTTAB_STRING, .offset = OFF(token_id), .metavar = "HEX",
     .help = "the token's id (32 hex digits; default: from the agent's key), to share one token between agents"},
    {.name = "token-expired", .type = OPTTAB_FLAG, .offset = OFF(token_expired),
     .help = "the token expired a second before the first sample's test"},
    {.name = "help", .short_name = 'h', .type = OPTTAB_ACTION, .id = ACT_HELP, .help = "this text"},
};

static const opttab_spec option_spec = {
    .program = PROG,
    .usage = "usage: " PROG " -b BOOTSTRAP --units FILE --commune CODE --kind KIND [--seed S] [--seq N]\n"
             "       [--count N] [--start-ms MS] [--topic-prefix P] [-X prop=value ...]\n\n"
             "Enrolls agent number 0 of seed S for the commune (unless KIND is unknown-agent) and\n"
             "produces COUNT records keyed by the commune's province, sequence numbers from N\n"
             "(default 1), start times START-MS + i s (default: now - 10 min).\n"
             "KIND: valid, random (random bytes), truncated (a valid record cut in half), flipbit\n"
             "(one bit of the signature flipped), unknown-commune, future (starts tomorrow),\n"
             "province-mismatch (keyed by another province), agent-mismatch (the signed sample\n"
             "names another agent), unknown-agent (never enrolled), implausible (100 Tbit/s).\n"
             "With --authority-key and --server-key (trust, issue 11): no-receipt (a sample\n"
             "without the server's receipt), receipt-rate (a receipt of a tenth of the bytes),\n"
             "zero-rate (an ok test that moved nothing), receipt-reuse (each sample after the\n"
             "first carries the first one's receipt), other-commune (samples for another\n"
             "commune of the province than the enrolled one), no-token (enrolled without a\n"
             "token), backdate (start and Kafka timestamp 40 days back, the receipt the\n"
             "server's real times), held-back (a test 40 days back with the server's receipt\n"
             "of then, sent now stamped with its old time), tombstone, bad-withdrawal (signed\n"
             "by another key) and\n"
             "oversized-enrollment (900 KB) each put that record on the agents topic after\n"
             "the agent's enrollment, then produce COUNT valid samples;\n"
             "bad-enrollment-signature enrolls with a signature that fails, then sends them.\n"
             "Prints one line per record: key, agent id, sequence number.",
    .defs = option_defs,
    .ndefs = sizeof option_defs / sizeof *option_defs,
    .props = 1,
    .props_offset = OFF(props),
};

static int produce(rd_kafka_t *rk, const char *topic, const char *key, const void *val, size_t len) {
    rd_kafka_resp_err_t e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                                              RD_KAFKA_V_VALUE((void *)val, len),
                                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (e) fprintf(stderr, PROG ": cannot produce to %s: %s\n", topic, rd_kafka_err2str(e));
    return e ? -1 : 0;
}

/* produce with a record timestamp (0: the producer's clock), as a producer
 * that backdates its records would set it. */
static int produce_ts(rd_kafka_t *rk, const char *topic, const char *key, const void *val, size_t len, int64_t ts) {
    rd_kafka_resp_err_t e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                                              RD_KAFKA_V_VALUE((void *)val, len), RD_KAFKA_V_TIMESTAMP(ts),
                                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (e) fprintf(stderr, PROG ": cannot produce to %s: %s\n", topic, rd_kafka_err2str(e));
    return e ? -1 : 0;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque) {
    (void)rk;
    if (msg->err) {
        fprintf(stderr, PROG ": delivery to %s failed: %s\n", rd_kafka_topic_name(msg->rkt), rd_kafka_err2str(msg->err));
        (*(int *)opaque)++;
    }
}

int main(int argc, char **argv) {
    struct craft_opts o = {0};
    int64_t now = vntime_now_ms();
    char err[600], samples_topic[192], agents_topic[192];
    int k, rc = 1, failed = 0;
    registry_t *reg = NULL;
    rd_kafka_t *rk = NULL;

    o.start = -1;
    o.kind = -1; /* required */
    int ex = opttab_main(&option_spec, &o, argc, argv, 0, NULL, NULL);
    if (ex < 0 && (!o.bootstrap || !o.units || !o.commune || o.kind < 0)) {
        fprintf(stderr, PROG ": need -b BOOTSTRAP --units FILE --commune CODE --kind KIND; see --help\n");
        ex = 2;
    }
    if (ex >= 0) {
        opttab_free(&option_spec, &o);
        return ex;
    }
    const char *bootstrap = o.bootstrap, *units = o.units, *commune = o.commune, *prefix = o.prefix;
    uint64_t seed = (uint64_t)o.seed, seq = (uint64_t)o.seq, count = (uint64_t)o.count;
    int64_t start = o.start >= 0 ? o.start : now - 10 * 60 * 1000;
    kafka_props props = o.props; /* freed with o */
    const char *kind;
    k = o.kind;
    kind = kinds[k];
    if (sign_init() < 0 || !(reg = registry_load(units, err, sizeof err))) {
        fprintf(stderr, PROG ": %s\n", reg ? "libsodium failed to initialise" : err);
        goto out;
    }
    const registry_unit *cu = registry_find(reg, commune);
    if (!cu || cu->level != REGISTRY_COMMUNE) {
        fprintf(stderr, PROG ": %s is not a commune of %s\n", commune, units);
        rc = 2;
        goto out;
    }
    kafka_topic_name(samples_topic, sizeof samples_topic, prefix, "samples");
    kafka_topic_name(agents_topic, sizeof agents_topic, prefix, "agents");
    rd_kafka_conf_t *conf = kafka_producer_conf_new(bootstrap, NULL, 0, &props, err, sizeof err);
    if (!conf) {
        if (conf) rd_kafka_conf_destroy(conf);
        fprintf(stderr, PROG ": %s\n", err);
        goto out;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, &failed);
    if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err))) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, PROG ": %s\n", err);
        goto out;
    }

    synth_agent a, other;
    uint8_t buf[SYNTH_RECORD_MAX], first_receipt[SYNTH_RECORD_MAX];
    size_t first_len = 0;
    synth_trust trust, *tr = NULL;
    synth_agent_init(&a, seed, strcmp(kind, "unknown-agent") ? 0 : 1000000, cu, ISPEED__V1__NETWORK__NETWORK_FIXED);
    synth_agent_init(&other, seed, 1, cu, ISPEED__V1__NETWORK__NETWORK_FIXED);
    if (!o.authority_key != !o.server_key) {
        fprintf(stderr, PROG ": --authority-key and --server-key go together\n");
        rc = 2;
        goto out;
    }
    if (o.authority_key) {
        if (synth_trust_load(&trust, o.authority_key, o.server_key, now - 2 * 86400000LL, now + 30 * 86400000LL,
                             err, sizeof err) < 0) {
            fprintf(stderr, PROG ": %s\n", err);
            goto out;
        }
        trust.token_uses = (uint32_t)o.token_uses;
        if (o.token_id) {
            if (strlen(o.token_id) != TRUST_TOKEN_ID_CHARS || strspn(o.token_id, "0123456789abcdef") != TRUST_TOKEN_ID_CHARS) {
                fprintf(stderr, PROG ": --token-id wants 32 lower-case hex digits\n");
                rc = 2;
                goto out;
            }
            memcpy(trust.token_id, o.token_id, sizeof trust.token_id);
        }
        if (o.token_expired) trust.expires_ms = start - 1000;
        if (!strcmp(kind, "receipt-rate")) trust.bytes_permille = 100;
        tr = &trust;
    }
    if (strcmp(kind, "unknown-agent") != 0) {
        char token[TRUST_TOKEN_MAX_CHARS + 1] = "";
        if (tr && strcmp(kind, "no-token") != 0 && synth_token(tr, &a, token, sizeof token) < 0) {
            fprintf(stderr, PROG ": cannot issue a token\n");
            goto out;
        }
        size_t len = synth_enrollment_token(&a, now, token, buf, sizeof buf);
        if (!strcmp(kind, "bad-enrollment-signature")) {
            /* Well formed, so it is stored as read; its signature fails
             * when its agent's first sample is checked. */
            Ispeed__V1__AgentEnrollment *e = ispeed__v1__agent_enrollment__unpack(NULL, len, buf);
            if (!e || e->signature.len == 0) {
                if (e) ispeed__v1__agent_enrollment__free_unpacked(e, NULL);
                fprintf(stderr, PROG ": cannot re-sign the enrollment\n");
                goto out;
            }
            e->signature.data[0] ^= 0x01;
            len = protobuf_c_message_pack(&e->base, buf);
            ispeed__v1__agent_enrollment__free_unpacked(e, NULL);
        }
        if (produce(rk, agents_topic, a.id, buf, len) < 0) goto out;
        rd_kafka_flush(rk, 30000);
    }
    if (!strcmp(kind, "tombstone")) {
        /* Anyone who can produce can write it: it must change nothing. */
        if (produce(rk, agents_topic, a.id, NULL, 0) < 0) goto out;
    } else if (!strcmp(kind, "bad-withdrawal")) {
        /* A withdrawal of agent a, signed by another agent's key. */
        Ispeed__V1__AgentEnrollment e = ISPEED__V1__AGENT_ENROLLMENT__INIT;
        Ispeed__V1__AgentWithdrawal w = ISPEED__V1__AGENT_WITHDRAWAL__INIT;
        uint8_t msg[128], sig[SIGN_SIGNATURE_BYTES];
        size_t mlen = trust_withdrawal_message(a.id, now, msg, sizeof msg);
        sign_detached(other.sk, msg, mlen, sig);
        w.agent_id = a.id;
        w.time_ms = now;
        w.signer_key.data = other.pk;
        w.signer_key.len = SIGN_PUBLIC_BYTES;
        w.signature.data = sig;
        w.signature.len = sizeof sig;
        e.agent_id = a.id;
        e.withdrawal = &w;
        size_t len = protobuf_c_message_pack(&e.base, buf);
        if (produce(rk, agents_topic, a.id, buf, len) < 0) goto out;
    } else if (!strcmp(kind, "oversized-enrollment")) {
        /* 900 KB under another agent's id: refused as read, never kept. */
        size_t big = 900 * 1024;
        char *junk = malloc(big + 1);
        uint8_t *rec = malloc(big + 4096);
        if (!junk || !rec) {
            free(junk);
            free(rec);
            goto out;
        }
        memset(junk, '7', big);
        junk[big] = '\0';
        Ispeed__V1__AgentEnrollment e = ISPEED__V1__AGENT_ENROLLMENT__INIT;
        e.agent_id = other.id;
        e.public_key.data = other.pk;
        e.public_key.len = SIGN_PUBLIC_BYTES;
        e.commune = (char *)cu->code;
        e.province = (char *)cu->province->code;
        e.token = junk;
        size_t len = protobuf_c_message_pack(&e.base, rec);
        int prc = produce(rk, agents_topic, other.id, rec, len);
        free(junk);
        free(rec);
        if (prc < 0) goto out;
    }
    rd_kafka_flush(rk, 30000);
    /* Another commune of the same province, for other-commune. */
    const registry_unit *elsewhere = NULL;
    for (size_t i = 0; i < registry_size(reg) && !elsewhere; i++) {
        const registry_unit *u = registry_unit_at(reg, i);
        if (u->level == REGISTRY_COMMUNE && u != cu && u->province == cu->province) elsewhere = u;
    }
    /* Another province than the commune's, for province-mismatch. */
    const char *key = cu->province->code;
    if (!strcmp(kind, "province-mismatch"))
        for (size_t i = 0; i < registry_size(reg); i++) {
            const registry_unit *u = registry_unit_at(reg, i);
            if (u->level == REGISTRY_PROVINCE && u != cu->province) {
                key = u->code;
                break;
            }
        }
    rng_t r;
    rng_seed(&r, seed * 7919 + seq);
    for (uint64_t i = 0; i < count; i++) {
        synth_sample ss;
        size_t len;
        synth_sample_fill(&ss, &a, "", seq + i, start + (int64_t)i * 1000, &r);
        if (!strcmp(kind, "unknown-commune")) ss.s.commune = "99999";
        if (!strcmp(kind, "future")) ss.s.start_ms = now + 86400000LL;
        if (!strcmp(kind, "implausible")) ss.s.download_bps = 100000000000000ULL;
        if (!strcmp(kind, "agent-mismatch")) ss.s.agent_id = other.id;
        if (!strcmp(kind, "zero-rate")) ss.s.download_bps = ss.s.upload_bps = ss.s.bytes_down = ss.s.bytes_up = 0;
        if (!strcmp(kind, "other-commune") && elsewhere) ss.s.commune = (char *)elsewhere->code;
        int64_t ts = 0;
        if (!strcmp(kind, "backdate") || !strcmp(kind, "held-back")) {
            /* The agent claims a test 40 days back and stamps the record so;
             * with backdate the server's receipt says when the test really
             * ran, with held-back it is a true receipt of then. */
            ss.s.start_ms -= 40 * 86400000LL;
            ts = ss.s.start_ms + ss.s.duration_ms;
        }
        len = synth_sign_attested(&ss.s, &a, strcmp(kind, "no-receipt") ? tr : NULL, 0, buf, sizeof buf);
        if (tr && !strcmp(kind, "backdate")) {
            /* Re-sign the receipt with the server's real times. */
            Ispeed__V1__SignedSample *env = ispeed__v1__signed_sample__unpack(NULL, len, buf);
            trust_receipt rr;
            uint8_t *rb = NULL, rs[SIGN_SIGNATURE_BYTES];
            size_t rl = 0;
            if (!env || !env->receipt ||
                trust_receipt_decode(env->receipt->receipt.data, env->receipt->receipt.len, &rr, err, sizeof err) < 0) {
                fprintf(stderr, PROG ": cannot re-read the receipt\n");
                if (env) ispeed__v1__signed_sample__free_unpacked(env, NULL);
                goto out;
            }
            rr.start_ms += 40 * 86400000LL;
            rr.end_ms += 40 * 86400000LL;
            rr.issued_ms += 40 * 86400000LL;
            if (trust_receipt_sign(trust.srv_sk, &rr, &rb, &rl, rs, err, sizeof err) < 0) {
                ispeed__v1__signed_sample__free_unpacked(env, NULL);
                fprintf(stderr, PROG ": %s\n", err);
                goto out;
            }
            Ispeed__V1__SignedReceipt nr = ISPEED__V1__SIGNED_RECEIPT__INIT;
            nr.receipt.data = rb;
            nr.receipt.len = rl;
            nr.signature.data = rs;
            nr.signature.len = sizeof rs;
            Ispeed__V1__SignedReceipt *old = env->receipt;
            env->receipt = &nr;
            len = protobuf_c_message_get_packed_size(&env->base) <= sizeof buf ? protobuf_c_message_pack(&env->base, buf) : 0;
            env->receipt = old;
            ispeed__v1__signed_sample__free_unpacked(env, NULL);
            free(rb);
        }
        if (tr && !strcmp(kind, "receipt-reuse")) {
            /* The first sample's receipt, kept; every later one carries it. */
            Ispeed__V1__SignedSample *env = ispeed__v1__signed_sample__unpack(NULL, len, buf);
            if (!env || !env->receipt) {
                if (env) ispeed__v1__signed_sample__free_unpacked(env, NULL);
                fprintf(stderr, PROG ": no receipt to reuse\n");
                goto out;
            }
            if (i == 0) {
                first_len = protobuf_c_message_pack(&env->receipt->base, first_receipt);
            } else {
                Ispeed__V1__SignedReceipt *mine = env->receipt;
                env->receipt = ispeed__v1__signed_receipt__unpack(NULL, first_len, first_receipt);
                len = env->receipt && protobuf_c_message_get_packed_size(&env->base) <= sizeof buf
                          ? protobuf_c_message_pack(&env->base, buf)
                          : 0;
                if (env->receipt) ispeed__v1__signed_receipt__free_unpacked(env->receipt, NULL);
                env->receipt = mine;
            }
            ispeed__v1__signed_sample__free_unpacked(env, NULL);
        }
        if (!strcmp(kind, "random")) {
            len = 40 + rng_below(&r, 200);
            for (size_t j = 0; j < len; j++) buf[j] = (uint8_t)rng_next(&r);
        } else if (!strcmp(kind, "truncated")) {
            len /= 2;
        } else if (!strcmp(kind, "flipbit") && tr) {
            /* With a receipt the record ends with the receipt's signature
             * (field 30, its last field): one bit of it. */
            buf[len - 10] ^= 0x04;
        } else if (!strcmp(kind, "flipbit")) {
            /* The signature is the 64 bytes before the envelope's agent id
             * field (tag, length, 32 hex digits). */
            buf[len - 34 - 10] ^= 0x04;
        }
        if (!len) {
            fprintf(stderr, PROG ": a record does not fit in %d bytes\n", SYNTH_RECORD_MAX);
            goto out;
        }
        if (produce_ts(rk, samples_topic, key, buf, len, ts) < 0) goto out;
        printf("%s %s %llu\n", key, a.id, (unsigned long long)(seq + i));
    }
    rd_kafka_flush(rk, 30000);
    if (rd_kafka_outq_len(rk) > 0 || failed) {
        fprintf(stderr, PROG ": %d record(s) not delivered\n", rd_kafka_outq_len(rk) + failed);
        goto out;
    }
    rc = 0;
out:
    if (rk) rd_kafka_destroy(rk);
    registry_free(reg);
    opttab_free(&option_spec, &o); /* props is o.props */
    return rc;
}
