/* ispeed-kafka-dev: librdkafka's mock cluster as a development Kafka. It
 * speaks the real protocol on loopback TCP ports, so kcat and every ispeed
 * program connect to it as to a real cluster. Its limits (about 5 MiB kept
 * per partition, no compaction, no real transactions) are in SPEC.md. */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kafka.h"
#include "log.h"
#include "opttab.h"
#include "registry.h"

static volatile sig_atomic_t kafka_dev_stop;
/* 0: leave as is, 1: take the brokers down, 2: bring them up, 3: the
 * agents topic alone unreadable. Tests use it to play "the broker is gone"
 * without losing the cluster's data. */
static volatile sig_atomic_t kafka_dev_updown;

static void on_signal(int sig) {
    if (sig == SIGUSR1)
        kafka_dev_updown = 1;
    else if (sig == SIGUSR2)
        kafka_dev_updown = 2;
    else if (sig == SIGHUP)
        kafka_dev_updown = 3;
    else
        kafka_dev_stop = 1;
}

static void set_brokers(rd_kafka_mock_cluster_t *mc, int brokers, int up) {
    /* One by one: librdkafka 2.0.2 takes no "all brokers" id here. */
    for (int id = 1; id <= brokers; id++) {
        rd_kafka_resp_err_t e = up ? rd_kafka_mock_broker_set_up(mc, id) : rd_kafka_mock_broker_set_down(mc, id);
        if (e) log_warn("kafka-dev", "broker %d: %s", id, rd_kafka_err2str(e));
    }
    log_info("kafka-dev", "brokers %s", up ? "up" : "down");
}

/* The agents topic unreadable while every other topic is served, as while
 * a new leader is elected for it: each partition's leader moves to the next
 * broker and metadata says it has none (LEADER_NOT_AVAILABLE), so a client
 * gets "not leader" from the old one and cannot find the new one. on = 0
 * ends it. */
static void agents_outage(rd_kafka_mock_cluster_t *mc, int brokers, const char *prefix, int partitions, int on,
                          int *moves) {
    char topic[256];
    kafka_topic_name(topic, sizeof topic, prefix, "agents");
    if (on && brokers > 1) (*moves)++; /* each outage moves every leader once more */
    if (on)
        for (int p = 0; p < partitions && brokers > 1; p++) {
            rd_kafka_resp_err_t e = rd_kafka_mock_partition_set_leader(mc, topic, p, 1 + (p + *moves) % brokers);
            if (e) log_warn("kafka-dev", "%s [%d]: %s", topic, p, rd_kafka_err2str(e));
        }
    rd_kafka_mock_topic_set_error(mc, topic, on ? RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE : RD_KAFKA_RESP_ERR_NO_ERROR);
    log_info("kafka-dev", "agents topic %s", on ? "unreadable: no leader" : "readable");
}

struct kafka_dev_opts {
    int64_t brokers, partitions;
    char *prefix, *units;
    int start_down;
};

enum { ACT_HELP = 1 };

#define OFF(f) offsetof(struct kafka_dev_opts, f)
static const opttab_def option_defs[] = {
    {.name = "brokers", .type = OPTTAB_INT, .offset = OFF(brokers), .def = "3", .lo = 1, .hi = 16, .metavar = "N",
     .help = "brokers in the cluster"},
    {.name = "partitions", .type = OPTTAB_INT, .offset = OFF(partitions), .def = "16", .lo = 1, .hi = 256,
     .metavar = "N", .help = "partitions of ispeed.samples, ispeed.agents and ispeed.collector.state (the other topics get 4)"},
    {.name = "topic-prefix", .type = OPTTAB_STRING, .offset = OFF(prefix), .def = KAFKA_DEFAULT_PREFIX,
     .metavar = "P", .help = "prefix of every topic"},
    {.name = "units", .type = OPTTAB_STRING, .offset = OFF(units), .metavar = "FILE",
     .help = "also create ispeed.quota.<province> for each province of this registry (otherwise they are created "
             "on first use)"},
    {.name = "down", .type = OPTTAB_FLAG, .offset = OFF(start_down),
     .help = "start with every broker down (refusing clients)"},
    {.name = "help", .short_name = 'h', .type = OPTTAB_ACTION, .id = ACT_HELP, .help = "this text"},
};

static const opttab_spec option_spec = {
    .program = "ispeed-kafka-dev",
    .usage = "usage: ispeed-kafka-dev [--brokers N] [--partitions N] [--topic-prefix P] [--units FILE]\n"
             "\n"
             "Starts an embedded Kafka (librdkafka's mock cluster) on loopback with the\n"
             "topics of ispeed, prints the bootstrap list as the first line on stdout,\n"
             "and runs until SIGINT or SIGTERM. For development and tests only: it keeps\n"
             "about 5 MiB per partition and does not compact.",
    .epilog = "SIGUSR1 takes every broker down, SIGUSR2 brings them back, keeping their data.\n"
              "SIGHUP makes the agents topic alone unreadable (no leader, as in an election); SIGUSR2\n"
              "ends it.",
    .defs = option_defs,
    .ndefs = sizeof option_defs / sizeof *option_defs,
};

static int create_topic(rd_kafka_mock_cluster_t *mc, const char *prefix, const char *name, int partitions,
                        int replication) {
    char topic[256];
    kafka_topic_name(topic, sizeof topic, prefix, name);
    rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, topic, partitions, replication);
    if (e) {
        log_error("kafka-dev", "cannot create topic %s: %s", topic, rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    struct kafka_dev_opts o = {0};
    int rc = 1;
    char err[600];
    rd_kafka_t *rk = NULL;
    rd_kafka_mock_cluster_t *mc = NULL;
    registry_t *reg = NULL;

    int ex = opttab_main(&option_spec, &o, argc, argv, 0, NULL, NULL);
    if (ex >= 0) {
        opttab_free(&option_spec, &o);
        return ex;
    }
    int brokers = (int)o.brokers, partitions = (int)o.partitions, start_down = o.start_down;
    const char *prefix = o.prefix, *units = o.units;
    if (units && !(reg = registry_load(units, err, sizeof err))) {
        fprintf(stderr, "ispeed-kafka-dev: %s\n", err);
        goto out;
    }

    /* The mock cluster lives inside a client handle; this one never sends. */
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "4", err, sizeof err); /* no "no bootstrap" notice */
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, "ispeed-kafka-dev: %s\n", err);
        goto out;
    }
    mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (!mc) {
        fprintf(stderr, "ispeed-kafka-dev: cannot start the mock cluster\n");
        goto out;
    }
    int repl = brokers < 3 ? brokers : 3;
    /* The mock keeps about 5 MiB a partition and drops older batches
     * silently: the agents topic, whose enrollments carry tokens (~0.5 KB
     * each), gets as many partitions as the samples, or a month's 80,000
     * test agents would lose their oldest enrollments on 4. */
    if (create_topic(mc, prefix, "samples", partitions, repl) < 0 ||
        create_topic(mc, prefix, "collector.state", partitions, repl) < 0 ||
        create_topic(mc, prefix, "agents", partitions, repl) < 0 || create_topic(mc, prefix, "alerts", 4, repl) < 0 ||
        create_topic(mc, prefix, "dlq", 4, repl) < 0)
        goto out;
    for (size_t i = 0; reg && i < registry_size(reg); i++) {
        const registry_unit *u = registry_unit_at(reg, i);
        char name[64];
        if (u->level != REGISTRY_PROVINCE) continue;
        snprintf(name, sizeof name, "quota.%s", u->code);
        if (create_topic(mc, prefix, name, 1, repl) < 0) goto out;
    }

    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGUSR1, on_signal);
    signal(SIGUSR2, on_signal);
    signal(SIGHUP, on_signal);
    if (start_down) set_brokers(mc, brokers, 0);
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);
    log_info("kafka-dev", "embedded Kafka up bootstrap=%s brokers=%d partitions=%d",
             rd_kafka_mock_cluster_bootstraps(mc), brokers, partitions);
    int outage = 0, moves = 0;
    while (!kafka_dev_stop) {
        /* A short sleep, not pause(): a signal landing between the checks
         * and pause() would otherwise wait for the next one. */
        usleep(50000);
        if (kafka_dev_updown == 3) {
            agents_outage(mc, brokers, prefix, partitions, 1, &moves);
            outage = 1;
        } else if (kafka_dev_updown) {
            set_brokers(mc, brokers, kafka_dev_updown == 2);
            if (kafka_dev_updown == 2 && outage) agents_outage(mc, brokers, prefix, partitions, 0, &moves);
            if (kafka_dev_updown == 2) outage = 0;
        }
        kafka_dev_updown = 0;
    }
    log_info("kafka-dev", "stopping");
    rc = 0;
out:
    if (mc) rd_kafka_mock_cluster_destroy(mc);
    if (rk) rd_kafka_destroy(rk);
    registry_free(reg);
    opttab_free(&option_spec, &o);
    return rc;
}
