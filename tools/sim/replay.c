/* ispeed-sim-replay: a simulated plan (ispeed-sim --plan) as a live agent
 * population would send it: one synthetic agent per simulated volunteer
 * (key from --seed and its index, enrolled for its commune), one signed
 * sample per completed test at the test's start time. Fed to a real
 * collector (with --replay for a past month), its counts must be the
 * simulator's (ispeed-sim --counts): the simulator counts with the same
 * daily cap and quota code, so any difference is a bug in one of them. */
#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka.h"
#include "opttab.h"
#include "registry.h"
#include "rng.h"
#include "sign.h"
#include "synth.h"
#include "vntime.h"

/* The registry version and month of ispeed-sim's plans. */
#define REPLAY_MONTH "2025-07"

static uint64_t failed;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    (void)opaque;
    if (m->err) failed++;
}

static int produce(rd_kafka_t *rk, const char *topic, const void *key, size_t keylen, const void *val, size_t len) {
    char err[256];
    if (kafka_produce_wait(rk, topic, key, keylen, val, len, err, sizeof err) == 0) return 0;
    fprintf(stderr, "ispeed-sim-replay: %s\n", err);
    return -1;
}

typedef struct replay_cli {
    char *bootstrap, *units, *plan, *prefix, *authority_key, *server_key;
    int64_t seed;
} replay_cli;

enum { ACT_HELP = 1 };
#define OFF(f) offsetof(replay_cli, f)
static const opttab_def replay_opts[] = {
    {.name = "bootstrap", .short_name = 'b', .type = OPTTAB_STRING, .offset = OFF(bootstrap), .metavar = "BOOTSTRAP",
     .help = "Kafka bootstrap list (required)"},
    {.name = "units", .type = OPTTAB_STRING, .offset = OFF(units), .metavar = "FILE", .help = "registry CSV (required)"},
    {.name = "plan", .type = OPTTAB_STRING, .offset = OFF(plan), .metavar = "FILE",
     .help = "an ispeed-sim --plan file (required)"},
    {.name = "seed", .type = OPTTAB_INT, .offset = OFF(seed), .def = "1", .lo = 0, .hi = INT64_MAX, .metavar = "N",
     .help = "the agents' keys: the simulator's --seed"},
    {.name = "topic-prefix", .type = OPTTAB_STRING, .offset = OFF(prefix), .def = KAFKA_DEFAULT_PREFIX, .metavar = "P",
     .help = "prefix of every topic"},
    {.name = "authority-key", .type = OPTTAB_STRING, .offset = OFF(authority_key), .metavar = "FILE",
     .help = "with --server-key: each agent enrolls with a token of this (national) authority, and each sample "
             "carries a receipt of this server, as the collector's secure defaults want (ispeed-loadgen's keys)"},
    {.name = "server-key", .type = OPTTAB_STRING, .offset = OFF(server_key), .metavar = "FILE",
     .help = "the attesting server's key"},
    {.name = "help", .short_name = 'h', .type = OPTTAB_ACTION, .id = ACT_HELP, .help = "this text"},
};
static const opttab_spec replay_spec = {
    .program = "ispeed-sim-replay",
    .usage = "usage: ispeed-sim-replay -b BOOTSTRAP --units FILE --plan FILE [--seed N] [--topic-prefix P]\n"
             "                         [--authority-key FILE --server-key FILE]\n\n"
             "Enrolls one synthetic agent per volunteer of an ispeed-sim --plan and produces one signed\n"
             "sample per completed test, at its simulated start time.",
    .defs = replay_opts,
    .ndefs = sizeof replay_opts / sizeof *replay_opts,
};

int main(int argc, char **argv) {
    replay_cli cli;
    memset(&cli, 0, sizeof cli);
    int ex = opttab_main(&replay_spec, &cli, argc, argv, 0, NULL, NULL);
    if (ex >= 0) {
        opttab_free(&replay_spec, &cli);
        return ex;
    }
    const char *bootstrap = cli.bootstrap, *units = cli.units, *planf = cli.plan, *prefix = cli.prefix;
    uint64_t seed = (uint64_t)cli.seed;
    if (!bootstrap || !units || !planf) {
        fprintf(stderr, "ispeed-sim-replay: -b, --units and --plan are required; see --help\n");
        opttab_free(&replay_spec, &cli);
        return 2;
    }
    if (!cli.authority_key != !cli.server_key) {
        fprintf(stderr, "ispeed-sim-replay: --authority-key and --server-key go together; see --help\n");
        opttab_free(&replay_spec, &cli);
        return 2;
    }
    synth_trust trust;
    const synth_trust *attest = NULL;
    char err[512], samples[256], agents_topic[256];
    int rc = 1;
    size_t cap = 0, n = 0;
    synth_agent *ag = NULL;
    unsigned char *enrolled = NULL;
    rd_kafka_t *rk = NULL;
    FILE *f = NULL;
    registry_t *reg = registry_load(units, err, sizeof err);
    if (!reg) {
        fprintf(stderr, "ispeed-sim-replay: %s\n", err);
        return 1;
    }
    if (sign_init() < 0) goto out;
    if (cli.authority_key) {
        /* Valid from a day before the simulated month to a year after it. */
        int64_t ms, me;
        vntime_month_bounds(REPLAY_MONTH, &ms, &me);
        if (synth_trust_load(&trust, cli.authority_key, cli.server_key, ms - 86400000LL, me + 366LL * 86400000LL, err,
                             sizeof err) < 0) {
            fprintf(stderr, "ispeed-sim-replay: %s\n", err);
            goto out;
        }
        attest = &trust;
    }
    kafka_topic_name(samples, sizeof samples, prefix, "samples");
    kafka_topic_name(agents_topic, sizeof agents_topic, prefix, "agents");
    rd_kafka_conf_t *conf = kafka_conf_new(bootstrap, NULL, err, sizeof err);
    if (!conf || kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof err) < 0 ||
        kafka_conf_set(conf, "linger.ms", "50", err, sizeof err) < 0) {
        fprintf(stderr, "ispeed-sim-replay: %s\n", err);
        if (conf) rd_kafka_conf_destroy(conf);
        goto out;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err))) {
        fprintf(stderr, "ispeed-sim-replay: %s\n", err);
        rd_kafka_conf_destroy(conf);
        goto out;
    }
    if (!(f = fopen(planf, "r"))) {
        fprintf(stderr, "ispeed-sim-replay: cannot read %s\n", planf);
        goto out;
    }
    char line[256], code[64], net[16];
    unsigned idx;
    long long start;
    rng_t r;
    rng_seed(&r, seed);
    uint64_t produced = 0;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "%u,%63[^,],%15[^,],%lld", &idx, code, net, &start) != 4) {
            fprintf(stderr, "ispeed-sim-replay: %s: bad line '%.60s'\n", planf, line);
            goto out;
        }
        const registry_unit *u = registry_find(reg, code);
        if (!u || idx > 10000000) {
            fprintf(stderr, "ispeed-sim-replay: %s: unknown commune %s or volunteer %u\n", planf, code, idx);
            goto out;
        }
        if (idx >= cap) {
            size_t nc = (size_t)idx * 2 + 64;
            synth_agent *na = realloc(ag, nc * sizeof *na);
            unsigned char *ne = na ? realloc(enrolled, nc) : NULL;
            if (!na || !ne) {
                if (na) ag = na;
                fprintf(stderr, "ispeed-sim-replay: out of memory\n");
                goto out;
            }
            ag = na;
            enrolled = ne;
            memset(enrolled + cap, 0, nc - cap);
            cap = nc;
        }
        synth_agent *a = &ag[idx];
        if (!enrolled[idx]) {
            synth_agent_init(a, seed, idx, u, strcmp(net, "mobile") == 0 ? ISPEED__V1__NETWORK__NETWORK_MOBILE
                                                                         : ISPEED__V1__NETWORK__NETWORK_FIXED);
            uint8_t buf[SYNTH_RECORD_MAX];
            char token[TRUST_TOKEN_MAX_CHARS + 1] = "";
            if (attest && synth_token(attest, a, token, sizeof token) < 0) {
                fprintf(stderr, "ispeed-sim-replay: cannot issue a token for commune %s\n", a->commune->code);
                goto out;
            }
            size_t len = synth_enrollment_token(a, start, token, buf, sizeof buf);
            if (!len || produce(rk, agents_topic, a->id, strlen(a->id), buf, len) < 0) goto out;
            enrolled[idx] = 1;
            n++;
            /* Enrollments first: the collector checks a sample's agent. */
            rd_kafka_flush(rk, 10000);
        }
        synth_sample ss;
        synth_sample_fill(&ss, a, REPLAY_MONTH, ++a->seq, start, &r);
        uint8_t buf[SYNTH_RECORD_MAX];
        size_t len = synth_sign_attested(&ss.s, a, attest, idx, buf, sizeof buf);
        if (!len || produce(rk, samples, u->province->code, strlen(u->province->code), buf, len) < 0) goto out;
        produced++;
        rd_kafka_poll(rk, 0);
    }
    if (rd_kafka_flush(rk, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR || failed) {
        fprintf(stderr, "ispeed-sim-replay: %llu record(s) not delivered\n", (unsigned long long)failed);
        goto out;
    }
    fprintf(stderr, "INFO sim-replay: agents=%zu samples=%llu\n", n, (unsigned long long)produced);
    rc = 0;
out:
    if (f) fclose(f);
    if (rk) rd_kafka_destroy(rk);
    free(ag);
    free(enrolled);
    registry_free(reg);
    opttab_free(&replay_spec, &cli);
    return rc;
}
