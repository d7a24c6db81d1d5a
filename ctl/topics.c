/* "ispeedctl topics apply": creates or alters every ispeed topic through the
 * Admin API (CreateTopics, DescribeConfigs, AlterConfigs, CreatePartitions)
 * and prints what it changed; --check prints the drift and changes nothing. */
#include "topics.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "cli.h"
#include "vntime.h"

#define TOPICS_DEFAULT_UNITS "/usr/share/ispeed-collector/units.csv"
#define DAY_MS 86400000LL

/* A sample must stay readable for its month (31 days), the grace period
 * after it (--grace-day, at most the 28th: 27 days) and a re-count of the
 * whole month from the start after that (--replay, another 31 days): 89
 * days, rounded up to 93 (three 31-day months). */
#define SAMPLES_RETENTION_MS (93 * DAY_MS)
/* Alerts are read back over a quarter (ispeedctl alerts --since); rejects
 * are kept as long as the samples they were, for the same re-count. */
#define ALERTS_RETENTION_MS (90 * DAY_MS)
#define DLQ_RETENTION_MS SAMPLES_RETENTION_MS
/* Above the largest checkpoint: the collector's producer accepts records up
 * to 16,000,000 bytes (collector/publish.c message.max.bytes), and the
 * largest checkpoint measured (deploy/kafka/README.md) is far below it. */
#define STATE_MAX_MESSAGE_BYTES "16777216"
/* A compacted topic is cleaned only below its active segment: roll daily so
 * a month of QuotaStatus updates does not sit whole in the 7-day default. */
#define COMPACT_SEGMENT_MS (1 * DAY_MS)

enum { OPT_PARTITIONS = 256, OPT_REPLICATION, OPT_UNITS, OPT_CHECK, OPT_SEGMENT_MS };

static const opttab_def topics_opts[] = {
    {.name = "partitions", .type = OPTTAB_CALL, .id = OPT_PARTITIONS, .metavar = "N",
     .help = "partitions of samples and collector.state (default 12; one collector at most per partition)"},
    {.name = "replication-factor", .type = OPTTAB_CALL, .id = OPT_REPLICATION, .metavar = "R",
     .help = "replicas of every topic (default 3); min.insync.replicas is R-1"},
    {.name = "units", .type = OPTTAB_CALL, .id = OPT_UNITS, .metavar = "FILE",
     .help = "registry CSV: one quota topic per province (default " TOPICS_DEFAULT_UNITS ")"},
    {.name = "compact-segment-ms", .type = OPTTAB_CALL, .id = OPT_SEGMENT_MS, .metavar = "MS",
     .help = "segment.ms of the compacted topics (default 86400000: compaction reaches a day back at most)"},
    {.name = "check", .type = OPTTAB_CALL_FLAG, .id = OPT_CHECK, .help = "change nothing; print the drift and exit 1 if there is any"},
    {.name = NULL}};

static const cli_cmd topics_cmd = {
    "topics apply", "-b BOOTSTRAP [--partitions N] [--replication-factor R] [--units FILE] [--compact-segment-ms MS] [--check]",
    "Creates every topic of the Kafka section of the spec that is missing and sets\n"
    "the configuration of every one (retention, compaction, LogAppendTime,\n"
    "min.insync.replicas, max.message.bytes), printing each change; running it\n"
    "again changes nothing. A topic's configuration is replaced whole (librdkafka\n"
    "2.0.2 has no IncrementalAlterConfigs): an override set by hand is removed,\n"
    "and --check reports it. Partitions are added to agents, alerts, dlq and the\n"
    "quota topics, never to samples or collector.state (that would move\n"
    "provinces between collectors). The replication factor of an existing topic\n"
    "is reported, not changed (that takes a partition reassignment).",
    topics_opts};

struct topics_args {
    int partitions;
    int replication;
    const char *units;
    long long segment_ms;
    int check;
};

static int parse_int(const char *s, int lo, int hi, int *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

static int topics_apply_opt(int id, const char *arg, void *ctx, char *err, size_t errsz) {
    struct topics_args *a = ctx;
    switch (id) {
    case OPT_PARTITIONS:
        if (parse_int(arg, 1, 10000, &a->partitions) == 0) return 0;
        snprintf(err, errsz, "--partitions must be 1..10000, not '%s'", arg);
        return -1;
    case OPT_REPLICATION:
        if (parse_int(arg, 1, 16, &a->replication) == 0) return 0;
        snprintf(err, errsz, "--replication-factor must be 1..16, not '%s'", arg);
        return -1;
    case OPT_UNITS: a->units = arg; return 0;
    case OPT_CHECK: a->check = 1; return 0;
    case OPT_SEGMENT_MS: {
        char *end;
        a->segment_ms = strtoll(arg, &end, 10);
        if (end != arg && !*end && a->segment_ms >= 100) return 0;
        snprintf(err, errsz, "--compact-segment-ms must be a number of ms >= 100, not '%s'", arg);
        return -1;
    }
    }
    return -1;
}

static void set_conf(topics_spec *s, const char *key, long long v) {
    s->key[s->nconf] = key;
    snprintf(s->value[s->nconf], sizeof s->value[0], "%lld", v);
    s->nconf++;
}

static void set_conf_str(topics_spec *s, const char *key, const char *v) {
    s->key[s->nconf] = key;
    snprintf(s->value[s->nconf], sizeof s->value[0], "%s", v);
    s->nconf++;
}

static topics_spec *add_spec(topics_spec *specs, size_t *n, const char *prefix, const char *name, int partitions,
                             int replication, int may_grow) {
    topics_spec *s = &specs[(*n)++];
    memset(s, 0, sizeof *s);
    kafka_topic_name(s->name, sizeof s->name, prefix, name);
    s->partitions = partitions;
    s->replication = replication;
    s->may_grow = may_grow;
    /* One replica may be down (a restart, a failure) and writes go on;
     * fewer and acks=all producers stop rather than risk a loss. */
    set_conf(s, "min.insync.replicas", replication > 1 ? replication - 1 : 1);
    return s;
}

int topics_plan(const registry_t *reg, const char *prefix, int partitions, int replication, long long segment_ms,
                topics_spec **out, size_t *n, char *err, size_t errsz) {
    size_t nprov = registry_count(reg, REGISTRY_PROVINCE), k = 0;
    topics_spec *specs = calloc(nprov + 5, sizeof *specs), *s;
    if (!specs) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    s = add_spec(specs, &k, prefix, "samples", partitions, replication, 0);
    set_conf_str(s, "cleanup.policy", "delete");
    set_conf(s, "retention.ms", SAMPLES_RETENTION_MS);
    set_conf(s, "retention.bytes", -1);
    /* The broker's clock, not the agent's: an agent with a wrong clock must
     * not make its records expire early or late. */
    set_conf_str(s, "message.timestamp.type", "LogAppendTime");

    s = add_spec(specs, &k, prefix, "collector.state", partitions, replication, 0);
    set_conf_str(s, "cleanup.policy", "compact");
    set_conf_str(s, "max.message.bytes", STATE_MAX_MESSAGE_BYTES);
    set_conf(s, "segment.ms", segment_ms);

    /* Enrollments are forever: with time retention an agent enrolled more
     * than 7 days ago would become unknown and its samples rejected. */
    s = add_spec(specs, &k, prefix, "agents", 4, replication, 1);
    set_conf_str(s, "cleanup.policy", "compact");
    set_conf(s, "retention.ms", -1);

    s = add_spec(specs, &k, prefix, "alerts", 4, replication, 1);
    set_conf_str(s, "cleanup.policy", "delete");
    set_conf(s, "retention.ms", ALERTS_RETENTION_MS);

    s = add_spec(specs, &k, prefix, "dlq", 4, replication, 1);
    set_conf_str(s, "cleanup.policy", "delete");
    set_conf(s, "retention.ms", DLQ_RETENTION_MS);

    for (size_t i = 0; i < registry_size(reg); i++) {
        const registry_unit *u = registry_unit_at(reg, i);
        char name[128];
        if (u->level != REGISTRY_PROVINCE) continue;
        snprintf(name, sizeof name, "quota.%s", u->code);
        s = add_spec(specs, &k, prefix, name, 1, replication, 1);
        set_conf_str(s, "cleanup.policy", "compact");
        set_conf_str(s, "max.message.bytes", STATE_MAX_MESSAGE_BYTES);
        set_conf(s, "segment.ms", segment_ms);
    }
    *out = specs;
    *n = k;
    return 0;
}

const char *topics_spec_value(const topics_spec *s, const char *key) {
    for (size_t i = 0; i < s->nconf; i++)
        if (strcmp(s->key[i], key) == 0) return s->value[i];
    return NULL;
}

/* What the cluster has of one wanted topic. */
struct have {
    int exists;
    int partitions;
    int replication;
    int alter;    /* its configuration differs */
    int grow;     /* partitions to add */
};

struct run {
    rd_kafka_t *rk;
    rd_kafka_queue_t *q;
    int check;
    const char *verb_change; /* "altered" or "drift:" */
    size_t changes, problems;
};

static void say(struct run *r, const char *fmt, const char *topic, const char *detail) {
    printf(fmt, r->check ? "drift:" : r->verb_change, topic, detail);
}

static int read_metadata(struct run *r, const topics_spec *specs, size_t n, struct have *have, char *err,
                         size_t errsz) {
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(r->rk, 1, NULL, &md, 10000);
    if (e) {
        snprintf(err, errsz, "cannot read the cluster's metadata: %s", rd_kafka_err2str(e));
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        for (int t = 0; t < md->topic_cnt; t++) {
            const struct rd_kafka_metadata_topic *mt = &md->topics[t];
            /* A topic just created may still answer LEADER_NOT_AVAILABLE:
             * it exists all the same. */
            if (strcmp(mt->topic, specs[i].name) != 0 || mt->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) continue;
            have[i].exists = 1;
            have[i].partitions = mt->partition_cnt;
            have[i].replication = mt->partition_cnt > 0 ? mt->partitions[0].replica_cnt : 0;
        }
    rd_kafka_metadata_destroy(md);
    return 0;
}

/* CreateTopics answers once the controller has the topics; each broker
 * learns them from the metadata log a little later. Waits until a metadata
 * answer lists them all with a leader for every partition, so that what
 * follows (a producer, --check) finds them whichever broker it asks. */
static int wait_visible(struct run *r, const topics_spec *specs, size_t n, char *err, size_t errsz) {
    int64_t deadline = vntime_mono_us() + (int64_t)ADMIN_TIMEOUT_MS * 1000;
    for (;;) {
        const struct rd_kafka_metadata *md = NULL;
        size_t seen = 0;
        if (rd_kafka_metadata(r->rk, 1, NULL, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            for (size_t i = 0; i < n; i++)
                for (int t = 0; t < md->topic_cnt; t++) {
                    const struct rd_kafka_metadata_topic *mt = &md->topics[t];
                    int led = !mt->err && mt->partition_cnt > 0;
                    for (int p = 0; led && p < mt->partition_cnt; p++) led = mt->partitions[p].leader >= 0;
                    if (led && strcmp(mt->topic, specs[i].name) == 0) seen++;
                }
            rd_kafka_metadata_destroy(md);
        }
        if (seen == n) return 0;
        if (vntime_mono_us() > deadline) {
            snprintf(err, errsz, "created topics are not all in the cluster's metadata after %d s (%zu of %zu)",
                     ADMIN_TIMEOUT_MS / 1000, seen, n);
            return -1;
        }
        usleep(200 * 1000);
    }
}

static int create_missing(struct run *r, const topics_spec *specs, size_t n, const struct have *have, char *err,
                          size_t errsz) {
    rd_kafka_NewTopic_t **nt = calloc(n, sizeof *nt);
    size_t k = 0, cnt = 0;
    rd_kafka_event_t *ev = NULL;
    int rc = -1;
    char e[512], line[256];
    if (!nt) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (have[i].exists) continue;
        snprintf(line, sizeof line, "partitions=%d replication=%d", specs[i].partitions, specs[i].replication);
        if (r->check) {
            printf("drift: %s is missing (wanted %s)\n", specs[i].name, line);
            r->changes++;
            continue;
        }
        if (!(nt[k] = rd_kafka_NewTopic_new(specs[i].name, specs[i].partitions, specs[i].replication, e, sizeof e))) {
            snprintf(err, errsz, "topic %s: %s", specs[i].name, e);
            goto out;
        }
        for (size_t c = 0; c < specs[i].nconf; c++)
            rd_kafka_NewTopic_set_config(nt[k], specs[i].key[c], specs[i].value[c]);
        k++;
    }
    if (k == 0) {
        rc = 0;
        goto out;
    }
    rd_kafka_AdminOptions_t *o = admin_options(r->rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_CreateTopics(r->rk, nt, k, o, r->q);
    rd_kafka_AdminOptions_destroy(o);
    if (!(ev = admin_wait(r->q, "CreateTopics", err, errsz))) goto out;
    const rd_kafka_topic_result_t **res =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
    rc = 0;
    for (size_t i = 0; i < cnt; i++) {
        const char *name = rd_kafka_topic_result_name(res[i]);
        if (rd_kafka_topic_result_error(res[i])) {
            fprintf(stderr, "ispeedctl topics apply: cannot create %s: %s\n", name,
                    rd_kafka_topic_result_error_string(res[i]));
            r->problems++;
            continue;
        }
        for (size_t j = 0; j < n; j++)
            if (strcmp(specs[j].name, name) == 0)
                printf("created %s partitions=%d replication=%d\n", name, specs[j].partitions, specs[j].replication);
        r->changes++;
    }
    rc = r->problems ? 0 : wait_visible(r, specs, n, err, errsz);
out:
    for (size_t i = 0; i < k; i++) rd_kafka_NewTopic_destroy(nt[i]);
    free(nt);
    if (ev) rd_kafka_event_destroy(ev);
    return rc;
}

/* Compares the configuration of every existing topic with the wanted one
 * and marks those to alter, printing each difference. */
static int describe_existing(struct run *r, const topics_spec *specs, size_t n, struct have *have, char *err,
                             size_t errsz) {
    rd_kafka_ConfigResource_t **cr = calloc(n, sizeof *cr);
    size_t k = 0, cnt = 0;
    rd_kafka_event_t *ev = NULL;
    int rc = -1;
    char detail[512];
    if (!cr) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (have[i].exists) cr[k++] = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, specs[i].name);
    if (k == 0) {
        rc = 0;
        goto out;
    }
    rd_kafka_AdminOptions_t *o = admin_options(r->rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    rd_kafka_DescribeConfigs(r->rk, cr, k, o, r->q);
    rd_kafka_AdminOptions_destroy(o);
    if (!(ev = admin_wait(r->q, "DescribeConfigs", err, errsz))) goto out;
    const rd_kafka_ConfigResource_t **res =
        rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &cnt);
    for (size_t i = 0; i < cnt; i++) {
        const char *name = rd_kafka_ConfigResource_name(res[i]);
        size_t j, nent = 0;
        for (j = 0; j < n && strcmp(specs[j].name, name) != 0; j++)
            ;
        if (j == n) continue;
        if (rd_kafka_ConfigResource_error(res[i])) {
            snprintf(err, errsz, "DescribeConfigs %s: %s", name, rd_kafka_ConfigResource_error_string(res[i]));
            goto out;
        }
        const rd_kafka_ConfigEntry_t **ent = rd_kafka_ConfigResource_configs(res[i], &nent);
        for (size_t c = 0; c < specs[j].nconf; c++) {
            const char *now = NULL;
            for (size_t x = 0; x < nent; x++)
                if (strcmp(rd_kafka_ConfigEntry_name(ent[x]), specs[j].key[c]) == 0)
                    now = rd_kafka_ConfigEntry_value(ent[x]);
            if (now && strcmp(now, specs[j].value[c]) == 0) continue;
            snprintf(detail, sizeof detail, "%s: %s -> %s", specs[j].key[c], now ? now : "(unset)", specs[j].value[c]);
            say(r, "%s %s %s\n", name, detail);
            have[j].alter = 1;
        }
        /* AlterConfigs replaces the set: an override we do not want goes. */
        for (size_t x = 0; x < nent; x++) {
            const char *key = rd_kafka_ConfigEntry_name(ent[x]);
            if (rd_kafka_ConfigEntry_source(ent[x]) != RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG ||
                topics_spec_value(&specs[j], key))
                continue;
            snprintf(detail, sizeof detail, "%s: %s -> (broker default)", key,
                     rd_kafka_ConfigEntry_value(ent[x]) ? rd_kafka_ConfigEntry_value(ent[x]) : "");
            say(r, "%s %s %s\n", name, detail);
            have[j].alter = 1;
        }
        if (have[j].partitions < specs[j].partitions) {
            snprintf(detail, sizeof detail, "partitions: %d -> %d%s", have[j].partitions, specs[j].partitions,
                     specs[j].may_grow ? "" : " (not changed: adding partitions moves keys; recreate it between months)");
            if (specs[j].may_grow) {
                say(r, "%s %s %s\n", name, detail);
                have[j].grow = 1;
            } else {
                printf("drift: %s %s\n", name, detail);
                r->problems++;
            }
        } else if (have[j].partitions > specs[j].partitions) {
            fprintf(stderr, "ispeedctl topics apply: note: %s has %d partitions, more than the %d asked; left as is\n",
                    name, have[j].partitions, specs[j].partitions);
        }
        if (have[j].replication != specs[j].replication) {
            printf("drift: %s replication factor: %d, wanted %d (not changed: that takes a partition reassignment)\n",
                   name, have[j].replication, specs[j].replication);
            r->problems++;
        }
        if (have[j].alter) r->changes++;
        if (have[j].grow && !have[j].alter) r->changes++;
    }
    rc = 0;
out:
    for (size_t i = 0; i < k; i++) rd_kafka_ConfigResource_destroy(cr[i]);
    free(cr);
    if (ev) rd_kafka_event_destroy(ev);
    return rc;
}

static int alter(struct run *r, const topics_spec *specs, size_t n, const struct have *have, char *err,
                 size_t errsz) {
    rd_kafka_ConfigResource_t **cr = calloc(n, sizeof *cr);
    size_t k = 0, cnt = 0;
    rd_kafka_event_t *ev = NULL;
    int rc = -1;
    if (!cr) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (!have[i].alter) continue;
        cr[k] = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, specs[i].name);
        for (size_t c = 0; c < specs[i].nconf; c++)
            rd_kafka_ConfigResource_set_config(cr[k], specs[i].key[c], specs[i].value[c]);
        k++;
    }
    rc = 0;
    if (k == 0) goto out;
    rc = -1;
    rd_kafka_AdminOptions_t *o = admin_options(r->rk, RD_KAFKA_ADMIN_OP_ALTERCONFIGS);
    rd_kafka_AlterConfigs(r->rk, cr, k, o, r->q);
    rd_kafka_AdminOptions_destroy(o);
    if (!(ev = admin_wait(r->q, "AlterConfigs", err, errsz))) goto out;
    const rd_kafka_ConfigResource_t **res =
        rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(ev), &cnt);
    for (size_t i = 0; i < cnt; i++)
        if (rd_kafka_ConfigResource_error(res[i])) {
            fprintf(stderr, "ispeedctl topics apply: cannot alter %s: %s\n", rd_kafka_ConfigResource_name(res[i]),
                    rd_kafka_ConfigResource_error_string(res[i]));
            r->problems++;
        }
    rc = 0;
out:
    for (size_t i = 0; i < k; i++) rd_kafka_ConfigResource_destroy(cr[i]);
    free(cr);
    if (ev) rd_kafka_event_destroy(ev);
    return rc;
}

static int grow(struct run *r, const topics_spec *specs, size_t n, const struct have *have, char *err,
                size_t errsz) {
    rd_kafka_NewPartitions_t **np = calloc(n, sizeof *np);
    size_t k = 0, cnt = 0;
    rd_kafka_event_t *ev = NULL;
    int rc = -1;
    char e[256];
    if (!np) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (have[i].grow && !(np[k++] = rd_kafka_NewPartitions_new(specs[i].name, (size_t)specs[i].partitions, e,
                                                                    sizeof e))) {
            snprintf(err, errsz, "topic %s: %s", specs[i].name, e);
            k--;
            goto out;
        }
    rc = 0;
    if (k == 0) goto out;
    rc = -1;
    rd_kafka_AdminOptions_t *o = admin_options(r->rk, RD_KAFKA_ADMIN_OP_CREATEPARTITIONS);
    rd_kafka_CreatePartitions(r->rk, np, k, o, r->q);
    rd_kafka_AdminOptions_destroy(o);
    if (!(ev = admin_wait(r->q, "CreatePartitions", err, errsz))) goto out;
    const rd_kafka_topic_result_t **res =
        rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result(ev), &cnt);
    for (size_t i = 0; i < cnt; i++)
        if (rd_kafka_topic_result_error(res[i])) {
            fprintf(stderr, "ispeedctl topics apply: cannot add partitions to %s: %s\n",
                    rd_kafka_topic_result_name(res[i]), rd_kafka_topic_result_error_string(res[i]));
            r->problems++;
        }
    rc = 0;
out:
    for (size_t i = 0; i < k; i++) rd_kafka_NewPartitions_destroy(np[i]);
    free(np);
    if (ev) rd_kafka_event_destroy(ev);
    return rc;
}

int topics_main(int argc, char **argv) {
    struct topics_args a = {.partitions = 12, .replication = 3, .units = TOPICS_DEFAULT_UNITS, .segment_ms = COMPACT_SEGMENT_MS};
    cli_common common;
    registry_t *reg = NULL;
    topics_spec *specs = NULL;
    struct have *have = NULL;
    struct run r = {.verb_change = "altered"};
    size_t n = 0;
    char err[1024];
    int rc;
    if (argc < 2 || strcmp(argv[1], "apply") != 0) {
        if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
            cli_usage(stdout, &topics_cmd);
            return 0;
        }
        return cli_usage_error(&topics_cmd, "the only topics command is 'apply'");
    }
    rc = cli_parse(argc - 1, argv + 1, &topics_cmd, &common, topics_apply_opt, &a);
    if (rc == CLI_HELP) return 0;
    if (rc != CLI_OK) return 2;
    r.check = a.check;
    rc = 1;
    if (!(reg = registry_load(a.units, err, sizeof err))) {
        cli_fail(&topics_cmd, "%s (give the registry with --units FILE)", err);
        goto out;
    }
    if (topics_plan(reg, common.prefix, a.partitions, a.replication, a.segment_ms, &specs, &n, err, sizeof err) < 0 ||
        !(have = calloc(n, sizeof *have)) || !(r.rk = admin_new(common.bootstrap, &common.props, err, sizeof err)) ||
        !(r.q = rd_kafka_queue_new(r.rk)) || read_metadata(&r, specs, n, have, err, sizeof err) < 0 ||
        create_missing(&r, specs, n, have, err, sizeof err) < 0 ||
        describe_existing(&r, specs, n, have, err, sizeof err) < 0) {
        cli_fail(&topics_cmd, "%s", have ? err : "out of memory");
        goto out;
    }
    if (!r.check &&
        (alter(&r, specs, n, have, err, sizeof err) < 0 || grow(&r, specs, n, have, err, sizeof err) < 0)) {
        cli_fail(&topics_cmd, "%s", err);
        goto out;
    }
    if (r.check) {
        printf("%zu topics checked: %zu drifted%s\n", n, r.changes + r.problems,
               r.changes + r.problems ? "; run 'ispeedctl topics apply' without --check" : "");
        rc = r.changes + r.problems ? 1 : 0;
    } else {
        if (r.problems)
            printf("%zu topics: %zu changed, %zu problem(s) above\n", n, r.changes, r.problems);
        else
            printf("%zu topics: %zu changed, %zu unchanged\n", n, r.changes, n - r.changes);
        rc = r.problems ? 1 : 0;
    }
out:
    if (r.q) rd_kafka_queue_destroy(r.q);
    if (r.rk) rd_kafka_destroy(r.rk);
    free(have);
    free(specs);
    registry_free(reg);
    cli_common_clear(&common);
    return rc;
}
