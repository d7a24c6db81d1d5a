/* ispeed-agent: command-line entry. `test` runs one speed test now (and
 * with --produce signs it and sends it to Kafka); `enroll` sends the agent's
 * public key; `status` shows what the state directory holds. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliver.h"
#include "identity.h"
#include "kafka.h"
#include "log.h"
#include "measure.h"
#include "netclass.h"
#include "record.h"
#include "registry.h"
#include "vntime.h"

#define AGENT_DEFAULT_STATE_DIR "/var/lib/ispeed"
#define AGENT_DEFAULT_UNITS "/etc/ispeed/units.csv"
#define AGENT_MAX_SERVERS 16
#define AGENT_DELIVERY_TIMEOUT_MS 30000

typedef struct agent_args {
    const char *servers[AGENT_MAX_SERVERS];
    size_t nservers;
    int json, produce;
    int duration_s, streams;
    uint64_t max_bytes;
    const char *commune, *bootstrap, *state_dir, *units, *token, *operator_name, *access, *topic_prefix;
    kafka_props props;
} agent_args;

enum {
    OPT_SERVER = 256, OPT_JSON, OPT_DURATION, OPT_STREAMS, OPT_MAX_BYTES, OPT_COMMUNE, OPT_PRODUCE,
    OPT_STATE_DIR, OPT_UNITS, OPT_TOKEN, OPT_OPERATOR, OPT_ACCESS, OPT_TOPIC_PREFIX, OPT_LOG_LEVEL, OPT_HELP
};

static const struct option agent_options[] = {
    {"server", required_argument, NULL, OPT_SERVER},       {"json", no_argument, NULL, OPT_JSON},
    {"duration", required_argument, NULL, OPT_DURATION},   {"streams", required_argument, NULL, OPT_STREAMS},
    {"max-bytes", required_argument, NULL, OPT_MAX_BYTES}, {"commune", required_argument, NULL, OPT_COMMUNE},
    {"produce", no_argument, NULL, OPT_PRODUCE},           {"state-dir", required_argument, NULL, OPT_STATE_DIR},
    {"units", required_argument, NULL, OPT_UNITS},         {"token", required_argument, NULL, OPT_TOKEN},
    {"operator", required_argument, NULL, OPT_OPERATOR},   {"access", required_argument, NULL, OPT_ACCESS},
    {"topic-prefix", required_argument, NULL, OPT_TOPIC_PREFIX},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL}, {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0}};

static void usage(FILE *out) {
    fprintf(out,
            "usage: ispeed-agent test --server URL [--server URL ...] [--json] [--duration S] [--streams N]\n"
            "                         [--max-bytes N] [--commune CODE -b BOOTSTRAP --produce]\n"
            "       ispeed-agent enroll --commune CODE -b BOOTSTRAP [--token T]\n"
            "       ispeed-agent status [--json]\n"
            "\n"
            "Measures Internet speed against ispeed-server or a LibreSpeed backend and\n"
            "reports signed samples to Kafka for Vietnam's per-commune quota.\n"
            "\n"
            "  --server URL       test server, http://host:port (ispeed-server) or a LibreSpeed\n"
            "                     backend URL; repeat it and the lowest idle latency wins\n"
            "  --json             print the result as one JSON object\n"
            "  --duration S       seconds per direction, at most (default 10)\n"
            "  --streams N        parallel TCP streams, 1..16 (default 4)\n"
            "  --max-bytes N      cap on the data one test moves (default: none)\n"
            "  --commune CODE     GSO code of the commune this machine is in\n"
            "  -b BOOTSTRAP       Kafka bootstrap list, host:port[,host:port...]\n"
            "  --produce          sign the result and send it to Kafka (needs --commune and -b)\n"
            "  --token T          province-issued enrollment token (enroll)\n"
            "  --access TYPE      fixed, wifi, 4g or 5g (default: from the default route's interface)\n"
            "  --operator NAME    the Internet provider, recorded in the sample\n"
            "  --state-dir DIR    key, sequence numbers and enrollment (default " AGENT_DEFAULT_STATE_DIR ")\n"
            "  --units FILE       registry CSV code,level,parent,name,type (default " AGENT_DEFAULT_UNITS ")\n"
            "  -X prop=value      librdkafka property, repeatable\n"
            "  --topic-prefix P   Kafka topic prefix (default " KAFKA_DEFAULT_PREFIX ")\n"
            "  --log-level L      error, warn, info or debug (default info)\n"
            "  --help             this text\n"
            "\n"
            "Exit status: 0 success, 1 failure, 2 bad usage.\n");
}

static int bad_usage(const char *fmt, const char *arg) {
    fprintf(stderr, "ispeed-agent: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "; see ispeed-agent --help\n");
    return 2;
}

static int parse_uint(const char *s, uint64_t lo, uint64_t hi, uint64_t *out) {
    char *end;
    if (*s == '-' || *s == '\0') return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0' || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

/* Parses argv after the subcommand; returns 0, or 2 on bad usage, or -1
 * when --help was answered. */
static int parse_args(int argc, char **argv, agent_args *a) {
    char err[256];
    uint64_t v;
    int c;
    a->state_dir = AGENT_DEFAULT_STATE_DIR;
    a->units = AGENT_DEFAULT_UNITS;
    a->duration_s = 10;
    a->streams = 4;
    optind = 1;
    while ((c = getopt_long(argc, argv, "b:X:", agent_options, NULL)) != -1) {
        switch (c) {
        case OPT_SERVER:
            if (a->nservers == AGENT_MAX_SERVERS) return bad_usage("at most 16 --server values%s", "");
            a->servers[a->nservers++] = optarg;
            break;
        case OPT_JSON: a->json = 1; break;
        case OPT_DURATION:
            if (parse_uint(optarg, 1, 60, &v) < 0) return bad_usage("--duration must be 1..60 seconds, not '%s'", optarg);
            a->duration_s = (int)v;
            break;
        case OPT_STREAMS:
            if (parse_uint(optarg, 1, 16, &v) < 0) return bad_usage("--streams must be 1..16, not '%s'", optarg);
            a->streams = (int)v;
            break;
        case OPT_MAX_BYTES:
            if (parse_uint(optarg, 1, UINT64_MAX, &v) < 0) return bad_usage("--max-bytes must be a positive byte count, not '%s'", optarg);
            a->max_bytes = v;
            break;
        case OPT_COMMUNE: a->commune = optarg; break;
        case OPT_PRODUCE: a->produce = 1; break;
        case OPT_STATE_DIR: a->state_dir = optarg; break;
        case OPT_UNITS: a->units = optarg; break;
        case OPT_TOKEN: a->token = optarg; break;
        case OPT_OPERATOR: a->operator_name = optarg; break;
        case OPT_ACCESS: a->access = optarg; break;
        case OPT_TOPIC_PREFIX: a->topic_prefix = optarg; break;
        case OPT_LOG_LEVEL: {
            enum log_level l;
            if (log_parse_level(optarg, &l) < 0) return bad_usage("--log-level must be error, warn, info or debug, not '%s'", optarg);
            log_set_level(l);
            break;
        }
        case 'b': a->bootstrap = optarg; break;
        case 'X':
            if (kafka_props_add(&a->props, optarg, err, sizeof err) < 0) return bad_usage("%s", err);
            break;
        case OPT_HELP: usage(stdout); return -1;
        default: return 2;
        }
    }
    if (optind < argc) return bad_usage("unexpected argument '%s'", argv[optind]);
    return 0;
}

/* "2025-07" from a registry file name such as vn-units-2025-07.csv, so the
 * collector knows which structure a code was chosen from. */
static void registry_version_of(const char *path, char out[8]) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    out[0] = '\0';
    for (const char *p = base; p[0] && p[1] && p[2] && p[3] && p[4] && p[5] && p[6]; p++) {
        if (p[0] == '2' && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9' && p[3] >= '0' &&
            p[3] <= '9' && p[4] == '-' && p[5] >= '0' && p[5] <= '1' && p[6] >= '0' && p[6] <= '9') {
            memcpy(out, p, 7);
            out[7] = '\0';
            return;
        }
    }
}

/* Everything --produce and enroll need: the commune checked against the
 * registry, the identity, a producer that reached a broker. */
typedef struct agent_session {
    registry_t *reg;
    identity_t *id;
    deliver_t *out;
    record_context ctx;
    char registry_version[8];
} agent_session;

static void session_close(agent_session *s) {
    deliver_free(s->out);
    identity_close(s->id);
    registry_free(s->reg);
}

static int session_open(agent_session *s, const agent_args *a, char *err, size_t errsz) {
    memset(s, 0, sizeof *s);
    if (!(s->reg = registry_load(a->units, err, errsz))) goto fail;
    const registry_unit *u = registry_find(s->reg, a->commune);
    if (!u || u->level != REGISTRY_COMMUNE) {
        snprintf(err, errsz, "unknown commune code '%s' in %s; give the 5-digit GSO code of a commune", a->commune,
                 a->units);
        goto fail;
    }
    registry_version_of(a->units, s->registry_version);
    if (!(s->id = identity_open(a->state_dir, err, errsz))) goto fail;
    s->ctx.id = s->id;
    s->ctx.commune = u;
    s->ctx.registry_version = s->registry_version;
    s->ctx.operator_name = a->operator_name;
    if (a->access) {
        if (netclass_parse_access(a->access, &s->ctx.net) < 0) {
            snprintf(err, errsz, "--access must be fixed, wifi, 4g or 5g, not '%s'", a->access);
            goto fail;
        }
    } else {
        netclass_detect("/proc/net/route", &s->ctx.net);
    }
    if (!(s->out = deliver_new(a->bootstrap, &a->props, a->topic_prefix, err, errsz))) goto fail;
    /* Checked before measuring, so a volunteer's data is not spent on a
     * result that cannot be sent. */
    if (deliver_check(s->out, 10000, err, errsz) < 0) goto fail;
    return 0;
fail:
    session_close(s);
    return -1;
}

/* Queues the enrollment if this commune has not been enrolled yet. */
static int session_queue_enrollment(agent_session *s, const char *token, int *queued, char *err, size_t errsz) {
    uint8_t *buf = NULL;
    size_t len;
    *queued = 0;
    if (identity_is_enrolled(s->id, s->ctx.commune->code) && !token) return 0;
    if (record_enrollment(&s->ctx, token, vntime_now_ms(), &buf, &len, err, errsz) < 0) return -1;
    int rc = deliver_send(s->out, "agents", identity_agent_id(s->id), buf, len, err, errsz);
    free(buf);
    *queued = rc == 0;
    return rc;
}

static int cmd_enroll(agent_args *a) {
    char err[512];
    agent_session s;
    int queued;
    if (!a->commune || !a->bootstrap) return bad_usage("enroll needs --commune CODE and -b BOOTSTRAP%s", "");
    if (session_open(&s, a, err, sizeof err) < 0) goto fail;
    if (session_queue_enrollment(&s, a->token ? a->token : "", &queued, err, sizeof err) < 0) goto fail_session;
    if (deliver_wait(s.out, AGENT_DELIVERY_TIMEOUT_MS, err, sizeof err) < 0) goto fail_session;
    if (identity_mark_enrolled(s.id, s.ctx.commune->code, err, sizeof err) < 0) goto fail_session;
    printf("enrolled agent %s for commune %s (%s)\n", identity_agent_id(s.id), s.ctx.commune->code,
           s.ctx.commune->name);
    session_close(&s);
    return 0;
fail_session:
    session_close(&s);
fail:
    fprintf(stderr, "ispeed-agent: %s\n", err);
    return 1;
}

static int produce_result(agent_session *s, const measure_result *r, uint64_t *seq, char *err, size_t errsz) {
    uint8_t *buf = NULL;
    size_t len;
    int enrolling;
    if (session_queue_enrollment(s, NULL, &enrolling, err, errsz) < 0) return -1;
    if (identity_next_seq(s->id, seq, err, errsz) < 0) return -1;
    if (record_signed_sample(&s->ctx, r, *seq, &buf, &len, err, errsz) < 0) return -1;
    int rc = deliver_send(s->out, "samples", s->ctx.commune->province->code, buf, len, err, errsz);
    free(buf);
    if (rc < 0) return -1;
    if (deliver_wait(s->out, AGENT_DELIVERY_TIMEOUT_MS, err, errsz) < 0) return -1;
    if (enrolling && identity_mark_enrolled(s->id, s->ctx.commune->code, err, errsz) < 0) return -1;
    return 0;
}

static int cmd_test(agent_args *a) {
    char err[512];
    agent_session s;
    measure_result r;
    struct event_base *base = NULL;
    uint64_t seq = 0;
    int have_session = 0;

    if (a->nservers == 0) return bad_usage("test needs --server URL%s", "");
    if (a->produce && (!a->commune || !a->bootstrap))
        return bad_usage("--produce needs --commune CODE and -b BOOTSTRAP%s", "");
    if (a->produce) {
        if (session_open(&s, a, err, sizeof err) < 0) goto fail;
        have_session = 1;
    }
    measure_opts mo = {.servers = a->servers, .nservers = a->nservers, .duration_s = a->duration_s,
                       .streams = a->streams, .max_bytes = a->max_bytes, .pings = 10};
    if (!(base = event_base_new())) {
        snprintf(err, sizeof err, "cannot create the event loop");
        goto fail;
    }
    if (measure_run(base, &mo, &r, err, sizeof err) < 0) goto fail;
    if (a->json)
        measure_print_json(stdout, &r);
    else
        measure_print_human(stdout, &r);
    fflush(stdout);
    if (have_session) {
        if (produce_result(&s, &r, &seq, err, sizeof err) < 0) goto fail;
        log_info("agent", "sample delivered agent=%s seq=%" PRIu64 " commune=%s outcome=%s",
                 identity_agent_id(s.id), seq, s.ctx.commune->code, measure_outcome_name(r.outcome));
        session_close(&s);
    }
    event_base_free(base);
    return 0;
fail:
    fprintf(stderr, "ispeed-agent: %s\n", err);
    if (have_session) session_close(&s);
    if (base) event_base_free(base);
    return 1;
}

static int cmd_status(agent_args *a) {
    char err[512];
    identity_t *id = identity_open(a->state_dir, err, sizeof err);
    if (!id) {
        fprintf(stderr, "ispeed-agent: %s\n", err);
        return 1;
    }
    const char *commune = identity_enrolled_commune(id);
    if (a->json)
        printf("{\"agent_id\":\"%s\",\"state_dir\":\"%s\",\"last_seq\":%" PRIu64 ",\"enrolled_commune\":\"%s\"}\n",
               identity_agent_id(id), identity_dir(id), identity_last_seq(id), commune);
    else
        printf("agent %s\nstate directory %s\nlast sequence %" PRIu64 "\nenrolled %s\n", identity_agent_id(id),
               identity_dir(id), identity_last_seq(id), commune[0] ? commune : "no");
    identity_close(id);
    return 0;
}

int main(int argc, char **argv) {
    agent_args a;
    int rc;
    memset(&a, 0, sizeof a);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    rc = parse_args(argc - 1, argv + 1, &a);
    if (rc != 0) {
        kafka_props_clear(&a.props);
        return rc < 0 ? 0 : rc;
    }
    if (strcmp(argv[1], "test") == 0)
        rc = cmd_test(&a);
    else if (strcmp(argv[1], "enroll") == 0)
        rc = cmd_enroll(&a);
    else if (strcmp(argv[1], "status") == 0)
        rc = cmd_status(&a);
    else
        rc = bad_usage("unknown command '%s' (test, enroll or status)", argv[1]);
    kafka_props_clear(&a.props);
    return rc;
}
