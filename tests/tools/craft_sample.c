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
#include "vntime.h"

#define PROG "ispeed-craft-sample"

static const char *const kinds[] = {"valid",           "random",         "truncated",         "flipbit",
                                    "unknown-commune", "future",         "province-mismatch", "agent-mismatch",
                                    "unknown-agent",   "implausible",    NULL};

struct craft_opts {
    char *bootstrap, *units, *commune, *prefix;
    int kind;
    int64_t seed, seq, count, start;
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
                "unknown-agent|implausible",
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
    uint8_t buf[SYNTH_RECORD_MAX];
    synth_agent_init(&a, seed, strcmp(kind, "unknown-agent") ? 0 : 1000000, cu, ISPEED__V1__NETWORK__NETWORK_FIXED);
    synth_agent_init(&other, seed, 1, cu, ISPEED__V1__NETWORK__NETWORK_FIXED);
    if (strcmp(kind, "unknown-agent") != 0) {
        size_t len = synth_enrollment(&a, now, buf, sizeof buf);
        if (produce(rk, agents_topic, a.id, buf, len) < 0) goto out;
        rd_kafka_flush(rk, 30000);
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
        len = synth_sign(&ss.s, a.sk, a.id, buf, sizeof buf);
        if (!strcmp(kind, "random")) {
            len = 40 + rng_below(&r, 200);
            for (size_t j = 0; j < len; j++) buf[j] = (uint8_t)rng_next(&r);
        } else if (!strcmp(kind, "truncated")) {
            len /= 2;
        } else if (!strcmp(kind, "flipbit")) {
            /* The signature is the 64 bytes before the envelope's agent id
             * field (tag, length, 32 hex digits). */
            buf[len - 34 - 10] ^= 0x04;
        }
        if (produce(rk, samples_topic, key, buf, len) < 0) goto out;
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
