/* ispeed-loadgen: enrolls synthetic agents and produces valid signed samples
 * of one month to Kafka, fast, and writes the count every unit must end with
 * (the truth), so the collector's counts can be checked exactly. */
#include <errno.h>
#include <stddef.h>
#include <pthread.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kafka.h"
#include "log.h"
#include "opttab.h"
#include "plan.h"
#include "registry.h"
#include "sign.h"
#include "synth.h"
#include "vntime.h"

#define PROG "ispeed-loadgen"
#define COMP "loadgen"
/* Leave room for the test's duration: a sample must have ended by now. */
#define END_MARGIN_MS (60LL * 1000)

struct loadgen {
    char *bootstrap, *units_path, *month, *truth_path, *prefix, *province_code, *registry_version;
    char *authority_key, *server_key, *trust_out;
    synth_trust trust;
    int attest; /* tokens and receipts: --authority-key and --server-key given */
    kafka_props props;
    plan_options po;
    int64_t now_ms;
    int seed_given;
    /* as the option table reads them; copied into po */
    int64_t samples, agents, daily_cap, mobile_pct;
    int network, spread;
};

enum { ACT_HELP = 1 };

static int parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out) {
    char *end;
    errno = 0;
    if (*s == '-' || *s == '\0') return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0' || errno || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int set_seed(void *cfg, const char *value, char *err, size_t errsz) {
    struct loadgen *lg = cfg;
    if (parse_u64(value, 0, UINT64_MAX, &lg->po.seed) < 0) {
        snprintf(err, errsz, "must be a whole number, not '%s'", value);
        return -1;
    }
    lg->seed_given = 1;
    return 0;
}

#define OFF(f) offsetof(struct loadgen, f)
/* Every option once: parsing and --help come from it (common/opttab). */
static const opttab_def option_defs[] = {
    {.name = "bootstrap", .short_name = 'b', .type = OPTTAB_STRING, .offset = OFF(bootstrap), .metavar = "BOOTSTRAP",
     .help = "Kafka bootstrap list (required)"},
    {.name = "units", .type = OPTTAB_STRING, .offset = OFF(units_path), .metavar = "FILE",
     .help = "registry CSV code,level,parent,name,type (required)"},
    {.name = "month", .type = OPTTAB_STRING, .offset = OFF(month), .metavar = "YYYY-MM",
     .help = "month of the samples, Vietnam's time; not later than now (required)"},
    {.name = "samples", .type = OPTTAB_INT, .offset = OFF(samples), .lo = 0, .hi = 100000000,
     .metavar = "N", .help = "valid samples to produce (required)"},
    {.name = "agents", .type = OPTTAB_INT, .offset = OFF(agents), .lo = 0, .hi = 10000000, .metavar = "N",
     .help = "at least N agents (default: as few as the daily cap allows)"},
    {.name = "truth", .type = OPTTAB_STRING, .offset = OFF(truth_path), .metavar = "FILE",
     .help = "write code,count per unit there, code,network,count to FILE.network.csv and "
             "code,network,operator,count to FILE.operator.csv"},
    {.name = "seed", .type = OPTTAB_CUSTOM, .set = set_seed, .metavar = "S",
     .help = "seed: same seed, same agents and samples (default: random, logged)"},
    {.name = "topic-prefix", .type = OPTTAB_STRING, .offset = OFF(prefix), .def = KAFKA_DEFAULT_PREFIX,
     .metavar = "P", .help = "prefix of every topic"},
    {.name = "network", .type = OPTTAB_CHOICE, .offset = OFF(network), .def = "mixed", .choices = "mixed|fixed|mobile",
     .metavar = "N", .help = "fixed, mobile or mixed"},
    {.name = "mobile-share", .type = OPTTAB_INT, .offset = OFF(mobile_pct), .def = "40", .lo = 0, .hi = 100,
     .metavar = "PCT", .help = "percent of mobile samples when mixed"},
    {.name = "spread", .type = OPTTAB_CHOICE, .offset = OFF(spread), .def = "communes", .choices = "communes|provinces",
     .metavar = "HOW", .help = "communes: uniform over communes; provinces: same share per province"},
    {.name = "province", .type = OPTTAB_STRING, .offset = OFF(province_code), .metavar = "CODE",
     .help = "only the communes of this province"},
    {.name = "daily-cap", .type = OPTTAB_INT, .offset = OFF(daily_cap), .def = "12", .lo = 0, .hi = 1000000,
     .metavar = "N", .help = "the collector's cap per agent, unit and day, 0 = none"},
    {.name = "registry-version", .type = OPTTAB_STRING, .offset = OFF(registry_version), .metavar = "V",
     .help = "Sample.registry_version (default: YYYY-MM from the file name)"},
    {.name = "authority-key", .type = OPTTAB_STRING, .offset = OFF(authority_key), .metavar = "FILE",
     .help = "national authority key (created if missing): each agent enrolls with a one-use token it signs"},
    {.name = "server-key", .type = OPTTAB_STRING, .offset = OFF(server_key), .metavar = "FILE",
     .help = "test server key (created if missing): each sample carries a receipt it signs (with --authority-key)"},
    {.name = "trust-out", .type = OPTTAB_STRING, .offset = OFF(trust_out), .metavar = "DIR",
     .help = "write DIR/authorities.csv and DIR/servers.csv for ispeed-collector --authorities/--servers"},
    {.name = "help", .short_name = 'h', .type = OPTTAB_ACTION, .id = ACT_HELP, .help = "this text"},
};

static const opttab_spec option_spec = {
    .program = PROG,
    .usage = "usage: " PROG " -b BOOTSTRAP --units FILE --month YYYY-MM --samples N [options] [-X prop=value ...]\n\n"
             "Enrolls synthetic agents on <prefix>agents and produces N valid signed samples\n"
             "on <prefix>samples, spread over the communes of the registry and over the month\n"
             "(up to now for the current month), within the daily cap of every agent.\n"
             "A past month counts only with ispeed-collector --replay (otherwise it is late).",
    .epilog = "Exit status: 0 every record delivered, 1 failure, 2 bad usage.\n\n" VNTIME_HELP,
    .defs = option_defs,
    .ndefs = sizeof option_defs / sizeof *option_defs,
    .props = 1,
    .props_offset = OFF(props),
};

#define USAGE_ERR(...)                                                                                            \
    do {                                                                                                          \
        fprintf(stderr, PROG ": " __VA_ARGS__);                                                                   \
        fputc('\n', stderr);                                                                                      \
        return 2;                                                                                                 \
    } while (0)

/* 0 to go on, 1 after --help, 2 on bad usage. */
static int parse_args(struct loadgen *lg, int argc, char **argv) {
    if (vntime_clock_start(PROG) < 0) return 2;
    lg->now_ms = vntime_now_ms();
    int ex = opttab_main(&option_spec, lg, argc, argv, 0, NULL, NULL);
    if (ex >= 0) return ex == 0 ? 1 : 2;
    static const enum plan_network networks[] = {PLAN_MIXED, PLAN_FIXED, PLAN_MOBILE};
    static const enum plan_spread spreads[] = {PLAN_SPREAD_COMMUNES, PLAN_SPREAD_PROVINCES};
    lg->po.network = networks[lg->network];
    lg->po.spread = spreads[lg->spread];
    lg->po.agents = (size_t)lg->agents;
    lg->po.daily_cap = (unsigned)lg->daily_cap;
    lg->po.mobile_pct = (unsigned)lg->mobile_pct;
    if (!lg->bootstrap) USAGE_ERR("missing -b BOOTSTRAP: give the Kafka bootstrap list, e.g. -b localhost:9092");
    if (!lg->units_path) USAGE_ERR("missing --units FILE: give the registry CSV, e.g. --units vn-units-2025-07.csv");
    if (!lg->month) USAGE_ERR("missing --month YYYY-MM: give the month of the samples, e.g. --month 2025-07");
    if (lg->samples < 0) USAGE_ERR("missing --samples N: say how many samples to produce");
    lg->po.samples = (size_t)lg->samples;
    if (!lg->authority_key != !lg->server_key)
        USAGE_ERR("--authority-key and --server-key go together: give both for tokens and receipts, or neither");
    if (lg->trust_out && !lg->authority_key)
        USAGE_ERR("--trust-out needs --authority-key FILE and --server-key FILE, whose lines it writes");
    lg->attest = lg->authority_key != NULL;
    int64_t start, end;
    if (vntime_month_bounds(lg->month, &start, &end) < 0)
        USAGE_ERR("--month must be YYYY-MM, e.g. 2025-07, not '%s'", lg->month);
    if (start < 1577836800000LL) USAGE_ERR("--month %s is before 2020: the collector rejects such samples", lg->month);
    if (start >= lg->now_ms) USAGE_ERR("--month %s has not begun yet in Vietnam: samples are never later than now", lg->month);
    lg->po.from_ms = start;
    lg->po.to_ms = end < lg->now_ms - END_MARGIN_MS ? end : lg->now_ms - END_MARGIN_MS;
    return 0;
}

/* ---- producing ---- */

struct delivery {
    uint64_t ok, failed;
    char first_error[256];
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque) {
    (void)rk;
    struct delivery *d = opaque;
    if (!msg->err) {
        d->ok++;
        return;
    }
    if (d->failed++ == 0)
        snprintf(d->first_error, sizeof d->first_error, "%s [%d]: %s", rd_kafka_topic_name(msg->rkt),
                 (int)msg->partition, rd_kafka_err2str(msg->err));
}

/* librdkafka's own lines ("%3|...|FAIL|...") would break the one-line error
 * rule: what matters reaches the user through the reachability check and the
 * delivery reports. ISPEED_LOADGEN_LOG=1 shows them. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    (void)rk;
    if (getenv("ISPEED_LOADGEN_LOG")) fprintf(stderr, "%%%d|%s| %s\n", level, fac, buf);
}

static rd_kafka_t *producer_new(const struct loadgen *lg, struct delivery *d, char *err, size_t errsz) {
    /* Over the SPEC's producer defaults: large lingering batches are what
     * make a million records a matter of seconds. -X comes last and wins. */
    static const kafka_setting bulk[] = {
        {"linger.ms", "100"},
        {"batch.size", "1000000"},
        {"queue.buffering.max.messages", "500000"},
        {"queue.buffering.max.kbytes", "1048576"},
    };
    rd_kafka_conf_t *conf = kafka_producer_conf_new(lg->bootstrap, bulk, sizeof bulk / sizeof *bulk, &lg->props, err,
                                                    errsz);
    if (!conf) return NULL;
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_log_cb(conf, on_log);
    rd_kafka_conf_set_opaque(conf, d);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errsz);
    if (rk) return rk;
    rd_kafka_conf_destroy(conf);
    return NULL;
}

static int topic_exists(rd_kafka_t *rk, const char *topic) {
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    int ok = 0;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        ok = md->topic_cnt == 1 && !md->topics[0].err && md->topics[0].partition_cnt > 0;
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_topic_destroy(rkt);
    return ok;
}


/* Waits for every queued record's delivery report. */
static int drain(rd_kafka_t *rk, const struct delivery *d, const char *what, char *err, size_t errsz) {
    rd_kafka_resp_err_t e = rd_kafka_flush(rk, 300000);
    if (e || rd_kafka_outq_len(rk) > 0) {
        snprintf(err, errsz, "%d %s record(s) not delivered after 5 minutes: check the brokers", rd_kafka_outq_len(rk),
                 what);
        return -1;
    }
    if (d->failed) {
        snprintf(err, errsz, "%llu record(s) failed, first %s", (unsigned long long)d->failed, d->first_error);
        return -1;
    }
    return 0;
}

/* ---- signing in parallel ---- */

/* Signing is most of the work (Ed25519, ~25 us a sample), so chunks of
 * samples are signed by one thread per CPU and produced in order by the
 * main thread; sequence numbers are handed out before, in sample order. */
#define CHUNK 4096

struct chunk {
    const plan_t *plan;
    const synth_agent *agents;
    const synth_trust *trust; /* NULL: no receipts */
    const char *regver;
    uint64_t seed;
    size_t from, to;
    uint64_t seq[CHUNK];
    size_t len[CHUNK];
    uint8_t *buf; /* CHUNK * SYNTH_RECORD_MAX */
    int failed;
};

/* Per-sample stream: the figures depend on the seed and the sample's place
 * only, not on the threads. */
static void sample_rng(rng_t *r, uint64_t seed, size_t i) { rng_seed(r, seed ^ (0x5851f42d4c957f2dULL * (i + 1))); }

static void *sign_chunk(void *arg) {
    struct chunk *c = arg;
    for (size_t i = c->from; i < c->to; i++) {
        const plan_sample *ps = &c->plan->samples[i];
        const synth_agent *a = &c->agents[ps->agent];
        synth_sample ss;
        rng_t r;
        sample_rng(&r, c->seed, i);
        synth_sample_fill(&ss, a, c->regver, c->seq[i - c->from], ps->start_ms, &r);
        size_t k = i - c->from;
        c->len[k] = synth_sign_attested(&ss.s, a, c->trust, (uint32_t)ps->agent, c->buf + k * SYNTH_RECORD_MAX,
                                        SYNTH_RECORD_MAX);
        if (!c->len[k]) c->failed = 1;
    }
    return NULL;
}

/* The operator sample i was produced with: the same fill, from the same
 * per-sample stream, as sign_chunk (unsigned: the figures are cheap, the
 * signature is not), so the truth cannot drift from what was sent. */
struct operator_ctx {
    const plan_t *plan;
    const synth_agent *agents;
    const char *regver;
    uint64_t seed;
    synth_sample ss;
};

static const char *sample_operator(size_t i, void *ctx) {
    struct operator_ctx *oc = ctx;
    const plan_sample *ps = &oc->plan->samples[i];
    rng_t r;
    sample_rng(&r, oc->seed, i);
    synth_sample_fill(&oc->ss, &oc->agents[ps->agent], oc->regver, 1, ps->start_ms, &r);
    return oc->ss.s.operator_;
}

static int produce_samples(const struct loadgen *lg, const plan_t *plan, synth_agent *agents, const char *regver,
                           rd_kafka_t *rk, const char *topic, char *err, size_t errsz) {
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    size_t nw = ncpu < 1 ? 1 : ncpu > 16 ? 16 : (size_t)ncpu, i;
    struct chunk *cs = calloc(nw, sizeof *cs);
    pthread_t *th = calloc(nw, sizeof *th);
    int rc = -1;
    if (!cs || !th) goto oom;
    for (i = 0; i < nw; i++)
        if (!(cs[i].buf = malloc((size_t)CHUNK * SYNTH_RECORD_MAX))) goto oom;

    for (size_t next = 0; next < plan->nsamples;) {
        size_t used = 0;
        for (; used < nw && next < plan->nsamples; used++) {
            struct chunk *c = &cs[used];
            c->plan = plan;
            c->agents = agents;
            c->trust = lg->attest ? &lg->trust : NULL;
            c->regver = regver;
            c->seed = lg->po.seed;
            c->from = next;
            c->to = next + CHUNK < plan->nsamples ? next + CHUNK : plan->nsamples;
            c->failed = 0;
            for (size_t j = c->from; j < c->to; j++) c->seq[j - c->from] = ++agents[plan->samples[j].agent].seq;
            next = c->to;
        }
        /* The main thread signs the first chunk itself. */
        size_t started = 1;
        for (i = 1; i < used; i++, started++)
            if (pthread_create(&th[i], NULL, sign_chunk, &cs[i]) != 0) break;
        sign_chunk(&cs[0]);
        for (i = started; i < used; i++) sign_chunk(&cs[i]); /* those no thread took */
        for (i = 1; i < started; i++) pthread_join(th[i], NULL);
        for (i = 0; i < used; i++) {
            const struct chunk *c = &cs[i];
            if (c->failed) {
                snprintf(err, errsz, "a sample does not fit in %d bytes", SYNTH_RECORD_MAX);
                goto out;
            }
            for (size_t j = c->from; j < c->to; j++) {
                const char *prov = agents[plan->samples[j].agent].commune->province->code;
                size_t k = j - c->from;
                if (kafka_produce_wait(rk, topic, prov, strlen(prov), c->buf + k * SYNTH_RECORD_MAX, c->len[k], err, errsz) < 0)
                    goto out;
            }
            rd_kafka_poll(rk, 0);
        }
    }
    rc = 0;
    goto out;
oom:
    snprintf(err, errsz, "out of memory");
out:
    for (i = 0; cs && i < nw; i++) free(cs[i].buf);
    free(cs);
    free(th);
    return rc;
}

static double elapsed_s(const struct timespec *t0) {
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* "2025-07" from ".../vn-units-2025-07.csv", the registry the communes came from. */
static void version_from_path(const char *path, char out[16]) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    out[0] = '\0';
    if (n >= 11 && !strcmp(base + n - 4, ".csv") && base[n - 8] == '-') memcpy(out, base + n - 11, 7), out[7] = '\0';
    int ok = out[0] != '\0';
    for (int i = 0; ok && i < 7; i++) ok = i == 4 ? out[i] == '-' : (out[i] >= '0' && out[i] <= '9');
    if (!ok) out[0] = '\0';
}

static int run(struct loadgen *lg) {
    char err[1024], samples_topic[192], agents_topic[192], regver[16];
    uint8_t buf[SYNTH_RECORD_MAX];
    registry_t *reg = NULL;
    plan_t *plan = NULL;
    synth_agent *agents = NULL;
    rd_kafka_t *rk = NULL;
    struct delivery d = {0};
    struct timespec t0;
    int rc = 1;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (sign_init() < 0) {
        snprintf(err, sizeof err, "libsodium failed to initialise");
        goto fail;
    }
    if (!(reg = registry_load(lg->units_path, err, sizeof err))) goto fail;
    if (lg->province_code) {
        const registry_unit *p = registry_find(reg, lg->province_code);
        if (!p || p->level != REGISTRY_PROVINCE) {
            fprintf(stderr, PROG ": --province %s is not a province of %s\n", lg->province_code, lg->units_path);
            rc = 2;
            goto out;
        }
        lg->po.province = p;
    }
    if (lg->registry_version)
        snprintf(regver, sizeof regver, "%s", lg->registry_version);
    else
        version_from_path(lg->units_path, regver);
    if (lg->po.to_ms <= lg->po.from_ms) {
        snprintf(err, sizeof err, "month %s began less than a minute ago: no sample can have ended yet; try again",
                 lg->month);
        goto fail;
    }
    if (!(plan = plan_build(reg, &lg->po, err, sizeof err))) goto fail;
    if (lg->attest) {
        /* Valid from a day before the month's first sample to a year on, so
         * any month a test produces (a replay's too) is within it. */
        int64_t from = lg->po.from_ms < lg->now_ms ? lg->po.from_ms : lg->now_ms;
        if (synth_trust_load(&lg->trust, lg->authority_key, lg->server_key, from - 86400000LL,
                             lg->now_ms + 366LL * 86400000LL, err, sizeof err) < 0)
            goto fail;
        if (lg->trust_out && synth_trust_write(&lg->trust, lg->trust_out, err, sizeof err) < 0) goto fail;
    }
    log_info(COMP, "planned samples=%zu agents=%zu month=%s seed=%llu", plan->nsamples, plan->nagents, lg->month,
             (unsigned long long)lg->po.seed);

    kafka_topic_name(samples_topic, sizeof samples_topic, lg->prefix, "samples");
    kafka_topic_name(agents_topic, sizeof agents_topic, lg->prefix, "agents");
    if (!(rk = producer_new(lg, &d, err, sizeof err))) goto fail;
    if (kafka_check_reachable(rk, lg->bootstrap, 5000, err, sizeof err) < 0) goto fail;
    if (!topic_exists(rk, samples_topic) || !topic_exists(rk, agents_topic)) {
        snprintf(err, sizeof err, "topic %s or %s does not exist: create the ispeed topics or check --topic-prefix",
                 samples_topic, agents_topic);
        goto fail;
    }

    /* Enrollments first, all delivered, so a collector finds every key
     * before the first sample that needs it. */
    if (plan->nagents && !(agents = calloc(plan->nagents, sizeof *agents))) {
        snprintf(err, sizeof err, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < plan->nagents; i++) {
        synth_agent *a = &agents[i];
        synth_agent_init(a, lg->po.seed, i, registry_unit_at(reg, plan->agents[i].commune), plan->agents[i].network);
        char token[TRUST_TOKEN_MAX_CHARS + 1] = "";
        if (lg->attest && synth_token(&lg->trust, a, token, sizeof token) < 0) {
            snprintf(err, sizeof err, "cannot issue a token for commune %s", a->commune->code);
            goto fail;
        }
        size_t len = synth_enrollment_token(a, lg->now_ms, token, buf, sizeof buf);
        if (!len) {
            snprintf(err, sizeof err, "commune code too long: %s", a->commune->code);
            goto fail;
        }
        if (kafka_produce_wait(rk, agents_topic, a->id, SIGN_AGENT_ID_CHARS, buf, len, err, sizeof err) < 0) goto fail;
        if (i % 1024 == 0) rd_kafka_poll(rk, 0);
    }
    if (drain(rk, &d, "enrollment", err, sizeof err) < 0) goto fail;
    log_info(COMP, "enrolled agents=%zu topic=%s seconds=%.2f", plan->nagents, agents_topic, elapsed_s(&t0));

    uint64_t enrolled = d.ok;
    if (produce_samples(lg, plan, agents, regver, rk, samples_topic, err, sizeof err) < 0) goto fail;
    if (drain(rk, &d, "sample", err, sizeof err) < 0) goto fail;
    double secs = elapsed_s(&t0);
    log_info(COMP, "produced samples=%llu topic=%s seconds=%.2f rate=%.0f/s", (unsigned long long)(d.ok - enrolled),
             samples_topic, secs, secs > 0 ? (double)(d.ok - enrolled) / secs : 0.0);

    if (lg->truth_path && plan_write_truth(plan, reg, lg->truth_path, err, sizeof err) < 0) goto fail;
    struct operator_ctx oc = {.plan = plan, .agents = agents, .regver = regver, .seed = lg->po.seed};
    if (lg->truth_path &&
        plan_write_operator_truth(plan, reg, lg->truth_path, sample_operator, &oc, err, sizeof err) < 0)
        goto fail;
    printf("samples=%zu agents=%zu month=%s seed=%llu seconds=%.2f\n", plan->nsamples, plan->nagents, lg->month,
           (unsigned long long)lg->po.seed, secs);
    rc = 0;
    goto out;
fail:
    fprintf(stderr, PROG ": %s\n", err);
out:
    if (rk) rd_kafka_destroy(rk);
    free(agents);
    plan_free(plan);
    registry_free(reg);
    return rc;
}

int main(int argc, char **argv) {
    struct loadgen lg;
    memset(&lg, 0, sizeof lg);
    lg.samples = -1; /* required: -1 until given */
    signal(SIGPIPE, SIG_IGN);
    int pr = parse_args(&lg, argc, argv);
    if (pr == 0) {
        if (!lg.seed_given) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            lg.po.seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ ((uint64_t)getpid() << 40);
        }
        pr = run(&lg);
    } else {
        pr = pr == 1 ? 0 : 2;
    }
    opttab_free(&option_spec, &lg);
    return pr;
}
