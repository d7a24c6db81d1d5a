/* ispeed-delay-probe: how long from a sample's produce to the QuotaStatus
 * that reflects it. Enrolls one agent per probed commune, learns every
 * commune's current count from the quota topics, then sends one sample per
 * commune at a steady rate and waits for each commune's count to rise on
 * <prefix>quota.<province>. Prints p50, p99 and max of the delays. Used by
 * bench/collector.sh against a running, caught-up collector. */
#include <stddef.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kafka.h"
#include "opttab.h"
#include "registry.h"
#include "synth.h"
#include "vntime.h"

#define PROG "ispeed-delay-probe"

struct probe {
    const registry_unit *commune;
    synth_agent agent;
    uint64_t base;    /* fixed count of the month before the probe */
    int64_t sent_us;  /* 0 until produced */
    int64_t delay_us; /* -1 until seen */
};

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The probe of unit code in month/fixed, or NULL. */
static struct probe *find(struct probe *p, size_t n, const char *unit) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(p[i].commune->code, unit)) return &p[i];
    return NULL;
}

/* Applies one quota record: before the probe it sets the base, during it
 * records the delay of the probe it answers. */
static void on_status(const rd_kafka_message_t *m, struct probe *p, size_t n, const char *month, int live) {
    if (!m->payload) return;
    Ispeed__V1__QuotaStatus *st = ispeed__v1__quota_status__unpack(NULL, m->len, m->payload);
    if (!st) return;
    struct probe *pr = NULL;
    if (st->network == ISPEED__V1__NETWORK__NETWORK_FIXED && !strcmp(st->month, month))
        pr = find(p, n, st->unit);
    if (pr && !live && st->count > pr->base) pr->base = st->count;
    if (pr && live && pr->sent_us && pr->delay_us < 0 && st->count > pr->base) pr->delay_us = vntime_mono_us() - pr->sent_us;
    ispeed__v1__quota_status__free_unpacked(st, NULL);
}

struct probe_opts {
    char *bootstrap, *units, *prefix, *sent_path, *authority_key, *server_key;
    int64_t nprobes, rate, seed;
    kafka_props props;
};

enum { ACT_HELP = 1 };

#define OFF(f) offsetof(struct probe_opts, f)
static const opttab_def option_defs[] = {
    {.name = "bootstrap", .short_name = 'b', .type = OPTTAB_STRING, .offset = OFF(bootstrap), .metavar = "BOOTSTRAP",
     .help = "Kafka bootstrap list (required)"},
    {.name = "units", .type = OPTTAB_STRING, .offset = OFF(units), .metavar = "FILE", .help = "registry CSV (required)"},
    {.name = "probes", .type = OPTTAB_INT, .offset = OFF(nprobes), .def = "200", .lo = 1, .hi = 1000000,
     .metavar = "N", .help = "samples to send, one per commune"},
    {.name = "rate", .type = OPTTAB_INT, .offset = OFF(rate), .def = "20", .lo = 1, .hi = 1000000, .metavar = "PER_S",
     .help = "samples per second"},
    {.name = "seed", .type = OPTTAB_INT, .offset = OFF(seed), .def = "77", .lo = 0, .hi = INT64_MAX, .metavar = "S",
     .help = "seed of the synthetic agents"},
    {.name = "topic-prefix", .type = OPTTAB_STRING, .offset = OFF(prefix), .def = KAFKA_DEFAULT_PREFIX,
     .metavar = "P", .help = "prefix of every topic"},
    {.name = "sent", .type = OPTTAB_STRING, .offset = OFF(sent_path), .metavar = "FILE",
     .help = "list the communes sampled in the order sent, \"commune,province,delay_ms\" a line (delay_ms -1: not seen)"},
    {.name = "authority-key", .type = OPTTAB_STRING, .offset = OFF(authority_key), .metavar = "FILE",
     .help = "as ispeed-loadgen's: each probe agent enrolls with a token this national authority key signs"},
    {.name = "server-key", .type = OPTTAB_STRING, .offset = OFF(server_key), .metavar = "FILE",
     .help = "as ispeed-loadgen's: each probe carries a receipt this server key signs"},
    {.name = "help", .short_name = 'h', .type = OPTTAB_ACTION, .id = ACT_HELP, .help = "this text"},
};

static const opttab_spec option_spec = {
    .program = PROG,
    .usage = "usage: " PROG " -b BOOTSTRAP --units FILE [--probes N] [--rate PER_S] [--seed S] [--topic-prefix P] "
             "[--sent FILE]\n"
             "Sends N samples, one per commune of the current month, and prints the delay\n"
             "from each produce to the QuotaStatus counting it: p50, p99, max (ms).",
    .defs = option_defs,
    .ndefs = sizeof option_defs / sizeof *option_defs,
    .props = 1,
    .props_offset = OFF(props),
};

int main(int argc, char **argv) {
    struct probe_opts o = {0};
    char err[600], topic[192], month[8];
    int rc = 1;
    registry_t *reg = NULL;
    rd_kafka_t *prod = NULL, *cons = NULL;
    rd_kafka_topic_partition_list_t *parts = NULL;
    rd_kafka_topic_t *samples_rkt = NULL;
    struct probe *p = NULL;
    size_t n = 0;

    int ex = opttab_main(&option_spec, &o, argc, argv, 0, NULL, NULL);
    if (ex >= 0) {
        opttab_free(&option_spec, &o);
        return ex;
    }
    const char *bootstrap = o.bootstrap, *units = o.units, *prefix = o.prefix, *sent_path = o.sent_path;
    long nprobes = (long)o.nprobes, rate = (long)o.rate;
    uint64_t seed = (uint64_t)o.seed;
    kafka_props props = o.props;
    if (!bootstrap || !units || nprobes < 1 || rate < 1) {
        fprintf(stderr, PROG ": need -b BOOTSTRAP --units FILE, --probes and --rate positive; see --help\n");
        return 2;
    }
    if (!o.authority_key != !o.server_key) {
        fprintf(stderr, PROG ": --authority-key and --server-key go together: give both, or neither\n");
        return 2;
    }
    if (sign_init() < 0 || !(reg = registry_load(units, err, sizeof err))) {
        fprintf(stderr, PROG ": %s\n", reg ? "libsodium" : err);
        goto out;
    }
    synth_trust trust;
    const synth_trust *tr = NULL;
    if (o.authority_key) {
        int64_t now = vntime_now_ms();
        if (synth_trust_load(&trust, o.authority_key, o.server_key, now - 40LL * 86400000LL,
                             now + 366LL * 86400000LL, err, sizeof err) < 0) {
            fprintf(stderr, PROG ": %s\n", err);
            goto out;
        }
        tr = &trust;
    }
    vntime_month(vntime_now_ms(), month);

    /* Communes round-robin over the provinces, so every partition is probed. */
    if (!(p = calloc((size_t)nprobes, sizeof *p))) goto oom;
    size_t nunits = registry_size(reg);
    for (size_t round = 0; n < (size_t)nprobes && round < nunits; round++) {
        size_t before = n;
        for (size_t i = 0; i < nunits && n < (size_t)nprobes; i++) {
            const registry_unit *prov = registry_unit_at(reg, i);
            if (prov->level != REGISTRY_PROVINCE) continue;
            size_t k = 0;
            for (size_t j = 0; j < nunits; j++) {
                const registry_unit *u = registry_unit_at(reg, j);
                if (u->level != REGISTRY_COMMUNE || u->province != prov || k++ != round) continue;
                p[n].commune = u;
                synth_agent_init(&p[n].agent, seed, n, u, ISPEED__V1__NETWORK__NETWORK_FIXED);
                p[n].delay_us = -1;
                n++;
                break;
            }
        }
        if (n == before) break;
    }

    rd_kafka_conf_t *conf = kafka_producer_conf_new(bootstrap, NULL, 0, &props, err, sizeof err);
    if (!conf || !(prod = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err))) {
        fprintf(stderr, PROG ": %s\n", err);
        goto out;
    }
    if (!(conf = kafka_conf_new(bootstrap, &props, err, sizeof err)) ||
        kafka_conf_set(conf, "group.id", "ispeed-delay-probe", err, sizeof err) < 0 ||
        kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof err) < 0 ||
        kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err) < 0 ||
        kafka_conf_set(conf, "fetch.wait.max.ms", "10", err, sizeof err) < 0 ||
        !(cons = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err))) {
        fprintf(stderr, PROG ": %s\n", err);
        goto out;
    }
    rd_kafka_poll_set_consumer(cons);
    parts = rd_kafka_topic_partition_list_new(64);
    for (size_t i = 0; i < nunits; i++) {
        const registry_unit *u = registry_unit_at(reg, i);
        if (u->level != REGISTRY_PROVINCE) continue;
        snprintf(topic, sizeof topic, "%squota.%s", prefix, u->code);
        rd_kafka_topic_partition_list_add(parts, topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    if (rd_kafka_assign(cons, parts)) {
        fprintf(stderr, PROG ": cannot assign the quota topics\n");
        goto out;
    }

    /* Enroll first, and give the collector time to read the enrollments, so
     * no probe waits for an unknown agent's catch-up. */
    char agents_topic[192], samples_topic[192];
    uint8_t buf[SYNTH_RECORD_MAX];
    kafka_topic_name(agents_topic, sizeof agents_topic, prefix, "agents");
    kafka_topic_name(samples_topic, sizeof samples_topic, prefix, "samples");
    for (size_t i = 0; i < n; i++) {
        char token[TRUST_TOKEN_MAX_CHARS + 1] = "";
        if (tr && synth_token(tr, &p[i].agent, token, sizeof token) < 0) {
            fprintf(stderr, PROG ": cannot issue a token for commune %s\n", p[i].commune->code);
            goto out;
        }
        size_t len = synth_enrollment_token(&p[i].agent, vntime_now_ms(), token, buf, sizeof buf);
        rd_kafka_producev(prod, RD_KAFKA_V_TOPIC(agents_topic), RD_KAFKA_V_KEY(p[i].agent.id, SIGN_AGENT_ID_CHARS),
                          RD_KAFKA_V_VALUE(buf, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    }
    rd_kafka_flush(prod, 30000);
    /* The producer learns a topic's partitions when it first produces to it,
     * and holds the records until then: up to a second (librdkafka's topic
     * scan), which the first probes' delays showed, falling by the send
     * period. Learnt now, before any clock runs. */
    const struct rd_kafka_metadata *md = NULL;
    if (!(samples_rkt = rd_kafka_topic_new(prod, samples_topic, NULL)) ||
        rd_kafka_metadata(prod, 0, samples_rkt, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, PROG ": no metadata for %s in 10 s\n", samples_topic);
        goto out;
    }
    rd_kafka_metadata_destroy(md);

    /* The base counts: every quota topic read to its end. */
    int eofs = 0;
    int64_t deadline = vntime_mono_us() + 30000000;
    while (eofs < parts->cnt && vntime_mono_us() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(cons, 100);
        if (!m) continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) eofs++;
        else if (!m->err) on_status(m, p, n, month, 0);
        rd_kafka_message_destroy(m);
    }
    if (eofs < parts->cnt) {
        fprintf(stderr, PROG ": read %d of %d quota topics to their end in 30 s\n", eofs, parts->cnt);
        goto out;
    }
    int64_t settle = vntime_mono_us() + 3000000;
    while (vntime_mono_us() < settle) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(cons, 50);
        if (m && !m->err) on_status(m, p, n, month, 0);
        if (m) rd_kafka_message_destroy(m);
    }

    rng_t r;
    rng_seed(&r, seed);
    size_t next = 0, seen = 0;
    int64_t start = vntime_mono_us(), period = 1000000 / rate;
    deadline = 0;
    while (seen < n) {
        int64_t now = vntime_mono_us();
        if (next < n && now >= start + (int64_t)next * period) {
            struct probe *pr = &p[next++];
            synth_sample ss;
            synth_sample_fill(&ss, &pr->agent, "", 1, vntime_now_ms() - 30000, &r);
            size_t len = synth_sign_attested(&ss.s, &pr->agent, tr, (uint32_t)(next - 1), buf, sizeof buf);
            const char *key = pr->commune->province->code;
            pr->sent_us = vntime_mono_us();
            rd_kafka_producev(prod, RD_KAFKA_V_TOPIC(samples_topic), RD_KAFKA_V_KEY(key, strlen(key)),
                              RD_KAFKA_V_VALUE(buf, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
            if (next == n) deadline = vntime_mono_us() + 15000000;
        }
        rd_kafka_poll(prod, 0);
        rd_kafka_message_t *m = rd_kafka_consumer_poll(cons, 2);
        if (m && !m->err) on_status(m, p, n, month, 1);
        if (m) rd_kafka_message_destroy(m);
        seen = 0;
        for (size_t i = 0; i < next; i++) seen += p[i].delay_us >= 0;
        if (deadline && vntime_mono_us() > deadline) break;
    }
    FILE *sf = sent_path ? fopen(sent_path, "w") : NULL;
    for (size_t i = 0; sf && i < next; i++)
        fprintf(sf, "%s,%s,%.1f\n", p[i].commune->code, p[i].commune->province->code,
                p[i].delay_us >= 0 ? p[i].delay_us / 1000.0 : -1.0);
    if (sf) fclose(sf);
    int64_t *d = calloc(n, sizeof *d);
    size_t k = 0;
    if (!d) goto oom;
    for (size_t i = 0; i < n; i++)
        if (p[i].delay_us >= 0) d[k++] = p[i].delay_us;
    if (k > 1) qsort(d, k, sizeof *d, cmp_i64);
    if (k == 0) {
        printf("probes=%zu answered=0\n", n);
    } else {
        size_t i99 = (k * 99 + 99) / 100 - 1;
        printf("probes=%zu answered=%zu p50_ms=%.1f p99_ms=%.1f max_ms=%.1f\n", n, k, d[(k - 1) / 2] / 1000.0,
               d[i99 < k ? i99 : k - 1] / 1000.0, d[k - 1] / 1000.0);
    }
    free(d);
    rc = k == n ? 0 : 1;
    goto out;
oom:
    fprintf(stderr, PROG ": out of memory\n");
out:
    if (parts) rd_kafka_topic_partition_list_destroy(parts);
    if (samples_rkt) rd_kafka_topic_destroy(samples_rkt);
    if (cons) {
        rd_kafka_consumer_close(cons);
        rd_kafka_destroy(cons);
    }
    if (prod) {
        rd_kafka_flush(prod, 5000);
        rd_kafka_destroy(prod);
    }
    free(p);
    registry_free(reg);
    opttab_free(&option_spec, &o); /* props is o.props */
    return rc;
}
