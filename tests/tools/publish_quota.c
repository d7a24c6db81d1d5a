/* Test helper: produces QuotaStatus, Alert or (unsigned) SignedSample
 * records described one per line on stdin, '|'-separated, so the
 * integration tests can feed ispeedctl without a collector or agents.
 *
 *   ispeed-publish-quota -b BOOTSTRAP [--topic-prefix P] quota|alert|sample < lines
 *
 * quota:  unit|name|level|parent|province|month|network|count|target|expected|state|projection|down_bps|up_bps|latency_ms[|updated_ms[|EXTRA...]]
 *         EXTRA (at most three): distinct agents (a number); operators NAME:COUNT,NAME:COUNT,...
 *         (QuotaStatus.operators); demand=NEEDED,DAYS_LEFT,RATE_NEEDED,RATE_CURRENT,WILL_MAKE_IT(0|1)
 *         (the demand fields 41-45)
 * alert:  unit|name|level|parent|province|month|network|from|to|count|expected|target|projection|time_ms
 * sample: agent_id|seq|start_ms|commune|province|network|access|down_bps|up_bps|latency_ms|outcome
 * level: commune|district|province; network: fixed|mobile; state: ON_TRACK|BEHIND|MET;
 * access: fixed|4g|5g|wifi; outcome: ok|timeout|... (the Outcome enum, lower case, without OUTCOME_).
 * Lines starting with '#' and empty lines are skipped. */
#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ispeed.pb-c.h"
#include "kafka.h"
#include "opttab.h"
#include "pbnames.h"

#define MAXF 20
#define MAXOPS 10 /* as the collector: 8 named, other, unknown */

static int delivery_failures;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    (void)opaque;
    if (m->err) {
        fprintf(stderr, "publish: delivery failed: %s\n", rd_kafka_err2str(m->err));
        delivery_failures++;
    }
}

static int split(char *line, char **f) {
    int n = 0;
    f[n++] = line;
    for (char *p = line; *p && n < MAXF; p++)
        if (*p == '|') {
            *p = '\0';
            f[n++] = p + 1;
        }
    return n;
}

/* Names as common/pbnames spells them; an unknown word takes the value the
 * lines' authors meant by default (commune, fixed, ON_TRACK, unspecified). */
static Ispeed__V1__Level level_of(const char *s) {
    int v = ISPEED__V1__LEVEL__LEVEL_COMMUNE;
    pbnames_parse_level(s, &v);
    return (Ispeed__V1__Level)v;
}
static Ispeed__V1__Network network_of(const char *s) {
    int v = ISPEED__V1__NETWORK__NETWORK_FIXED;
    pbnames_parse_network(s, &v);
    return (Ispeed__V1__Network)v;
}
static Ispeed__V1__QuotaState state_of(const char *s) {
    int v = ISPEED__V1__QUOTA_STATE__QUOTA_STATE_ON_TRACK;
    pbnames_parse_quota_state(s, &v);
    return (Ispeed__V1__QuotaState)v;
}
static Ispeed__V1__AccessType access_of(const char *s) {
    int v = ISPEED__V1__ACCESS_TYPE__ACCESS_FIXED;
    pbnames_parse_access(s, &v);
    return (Ispeed__V1__AccessType)v;
}
static Ispeed__V1__Outcome outcome_of(const char *s) {
    int v = ISPEED__V1__OUTCOME__OUTCOME_UNSPECIFIED;
    pbnames_parse_outcome(s, &v);
    return (Ispeed__V1__Outcome)v;
}

static int produce(rd_kafka_t *rk, const char *topic, const char *key, void *buf, size_t len) {
    rd_kafka_resp_err_t e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                                              RD_KAFKA_V_VALUE(buf, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                              RD_KAFKA_V_END);
    if (e) {
        fprintf(stderr, "publish: produce to %s: %s\n", topic, rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

struct publish_opts {
    char *bootstrap, *prefix;
    kafka_props props;
};

#define OFF(f) offsetof(struct publish_opts, f)
static const opttab_def option_defs[] = {
    {.name = "bootstrap", .short_name = 'b', .type = OPTTAB_STRING, .offset = OFF(bootstrap), .metavar = "BOOTSTRAP",
     .help = "Kafka bootstrap list (required)"},
    {.name = "topic-prefix", .type = OPTTAB_STRING, .offset = OFF(prefix), .def = KAFKA_DEFAULT_PREFIX,
     .metavar = "P", .help = "prefix of every topic"},
    {.name = "help", .short_name = 'h', .type = OPTTAB_ACTION, .id = 1, .help = "this text"},
};

static const opttab_spec option_spec = {
    .program = "ispeed-publish-quota",
    .usage = "usage: ispeed-publish-quota -b BOOTSTRAP [--topic-prefix P] [-X k=v] quota|alert|sample < lines\n"
             "(the line formats are at the top of tests/tools/publish_quota.c)",
    .defs = option_defs,
    .ndefs = sizeof option_defs / sizeof *option_defs,
    .props = 1,
    .props_offset = OFF(props),
};

int main(int argc, char **argv) {
    struct publish_opts o = {0};
    char err[600], topic[256], key[256], line[4096];
    char *f[MAXF];
    int lineno = 0, rc = 1, nops = 0;
    rd_kafka_t *rk = NULL;

    int ex = opttab_main(&option_spec, &o, argc, argv, 1, &nops, NULL);
    const char *kind = ex < 0 && nops == 1 ? argv[1] : NULL;
    if (ex < 0 && (!o.bootstrap || !kind || (strcmp(kind, "quota") && strcmp(kind, "alert") && strcmp(kind, "sample")))) {
        fprintf(stderr, "ispeed-publish-quota: need -b BOOTSTRAP and one of quota, alert, sample; see --help\n");
        ex = 2;
    }
    if (ex >= 0) {
        opttab_free(&option_spec, &o);
        return ex;
    }
    const char *bootstrap = o.bootstrap, *prefix = o.prefix;
    kafka_props props = o.props; /* freed with o */
    rd_kafka_conf_t *conf = kafka_conf_new(bootstrap, &props, err, sizeof err);
    if (!conf) goto fail_msg;
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err))) {
        rd_kafka_conf_destroy(conf);
        goto fail_msg;
    }
    while (fgets(line, sizeof line, stdin)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || line[0] == '#') continue;
        int n = split(line, f);
        uint8_t *buf = NULL;
        size_t len = 0;
        if (!strcmp(kind, "quota")) {
            if (n < 15 || n > 19) goto bad_line;
            Ispeed__V1__QuotaStatus q = ISPEED__V1__QUOTA_STATUS__INIT;
            Ispeed__V1__OperatorCount ops[MAXOPS], *opp[MAXOPS];
            q.unit = f[0], q.name = f[1], q.level = level_of(f[2]), q.parent = f[3], q.province = f[4];
            q.month = f[5], q.network = network_of(f[6]), q.count = strtoull(f[7], NULL, 10);
            q.target = (uint32_t)strtoul(f[8], NULL, 10), q.expected = strtod(f[9], NULL), q.state = state_of(f[10]);
            q.projection = strtod(f[11], NULL), q.median_download_bps = strtoull(f[12], NULL, 10);
            q.median_upload_bps = strtoull(f[13], NULL, 10), q.median_latency_ms = strtod(f[14], NULL);
            q.updated_ms = n >= 16 ? strtoll(f[15], NULL, 10) : 1751302800000LL;
            for (int x = 16; x < n; x++) {
                if (!strncmp(f[x], "demand=", 7)) {
                    char *d = f[x] + 7, *end;
                    q.needed = strtoull(d, &end, 10);
                    if (*end != ',') goto bad_line;
                    q.days_left = strtod(end + 1, &end);
                    if (*end != ',') goto bad_line;
                    q.rate_needed = strtod(end + 1, &end);
                    if (*end != ',') goto bad_line;
                    q.rate_current = strtod(end + 1, &end);
                    if (*end != ',') goto bad_line;
                    q.will_make_it = strtol(end + 1, &end, 10) != 0;
                    if (*end) goto bad_line;
                    continue;
                }
                if (!strchr(f[x], ':')) {
                    q.distinct_agents = (uint32_t)strtoul(f[x], NULL, 10);
                    continue;
                }
                for (char *op = strtok(f[x], ","); op && q.n_operators < MAXOPS; op = strtok(NULL, ",")) {
                    char *colon = strrchr(op, ':');
                    if (!colon) goto bad_line;
                    *colon = '\0';
                    ispeed__v1__operator_count__init(&ops[q.n_operators]);
                    ops[q.n_operators].operator_ = op;
                    ops[q.n_operators].count = strtoull(colon + 1, NULL, 10);
                    opp[q.n_operators] = &ops[q.n_operators];
                    q.n_operators++;
                }
            }
            q.operators = opp;
            len = ispeed__v1__quota_status__get_packed_size(&q);
            buf = malloc(len ? len : 1);
            ispeed__v1__quota_status__pack(&q, buf);
            snprintf(topic, sizeof topic, "%squota.%s", prefix, q.province);
            snprintf(key, sizeof key, "%s/%s/%s", q.unit, q.month, f[6]);
        } else if (!strcmp(kind, "alert")) {
            if (n != 14) goto bad_line;
            Ispeed__V1__Alert a = ISPEED__V1__ALERT__INIT;
            a.unit = f[0], a.name = f[1], a.level = level_of(f[2]), a.parent = f[3], a.province = f[4];
            a.month = f[5], a.network = network_of(f[6]), a.from_state = state_of(f[7]), a.to_state = state_of(f[8]);
            a.count = strtoull(f[9], NULL, 10), a.expected = strtod(f[10], NULL);
            a.target = (uint32_t)strtoul(f[11], NULL, 10), a.projection = strtod(f[12], NULL);
            a.time_ms = strtoll(f[13], NULL, 10);
            len = ispeed__v1__alert__get_packed_size(&a);
            buf = malloc(len ? len : 1);
            ispeed__v1__alert__pack(&a, buf);
            snprintf(topic, sizeof topic, "%salerts", prefix);
            snprintf(key, sizeof key, "%s", a.unit);
        } else {
            if (n != 11) goto bad_line;
            Ispeed__V1__Sample s = ISPEED__V1__SAMPLE__INIT;
            s.agent_id = f[0], s.seq = strtoull(f[1], NULL, 10), s.start_ms = strtoll(f[2], NULL, 10);
            s.commune = f[3], s.province = f[4], s.network = network_of(f[5]), s.access = access_of(f[6]);
            s.download_bps = strtoull(f[7], NULL, 10), s.upload_bps = strtoull(f[8], NULL, 10);
            s.latency_median_ms = strtod(f[9], NULL), s.outcome = outcome_of(f[10]);
            s.duration_ms = 20000;
            size_t slen = ispeed__v1__sample__get_packed_size(&s);
            uint8_t *sbuf = malloc(slen ? slen : 1);
            uint8_t sig[64] = {0}; /* unsigned: ispeedctl does not verify */
            ispeed__v1__sample__pack(&s, sbuf);
            Ispeed__V1__SignedSample ss = ISPEED__V1__SIGNED_SAMPLE__INIT;
            ss.sample.data = sbuf, ss.sample.len = slen, ss.signature.data = sig, ss.signature.len = sizeof sig;
            ss.agent_id = s.agent_id;
            len = ispeed__v1__signed_sample__get_packed_size(&ss);
            buf = malloc(len ? len : 1);
            ispeed__v1__signed_sample__pack(&ss, buf);
            free(sbuf);
            snprintf(topic, sizeof topic, "%ssamples", prefix);
            snprintf(key, sizeof key, "%s", s.province);
        }
        int prc = produce(rk, topic, key, buf, len);
        free(buf);
        if (prc < 0) goto out;
        rd_kafka_poll(rk, 0);
        continue;
    bad_line:
        fprintf(stderr, "publish: stdin line %d has %d fields; see the comment at the top of publish_quota.c\n",
                lineno, n);
        goto out;
    }
    if (rd_kafka_flush(rk, 15000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "publish: not all records delivered within 15 s\n");
        goto out;
    }
    rc = delivery_failures ? 1 : 0;
out:
    if (rk) rd_kafka_destroy(rk);
    opttab_free(&option_spec, &o);
    return rc;
fail_msg:
    fprintf(stderr, "publish: %s\n", err);
    opttab_free(&option_spec, &o);
    return 1;
}
