/* ispeed-kafka-dev: librdkafka's mock cluster as a development Kafka. It
 * speaks the real protocol on loopback TCP ports, so kcat and every ispeed
 * program connect to it as to a real cluster. Its limits (about 5 MiB kept
 * per partition, no compaction, no real transactions) are in SPEC.md. */
#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kafka.h"
#include "log.h"
#include "registry.h"

static volatile sig_atomic_t kafka_dev_stop;
/* 0: leave as is, 1: take the brokers down, 2: bring them up. Tests use it
 * to play "the broker is gone" without losing the cluster's data. */
static volatile sig_atomic_t kafka_dev_updown;

static void on_signal(int sig) {
    if (sig == SIGUSR1)
        kafka_dev_updown = 1;
    else if (sig == SIGUSR2)
        kafka_dev_updown = 2;
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

static void usage(FILE *out) {
    fprintf(out,
            "usage: ispeed-kafka-dev [--brokers N] [--partitions N] [--topic-prefix P] [--units FILE]\n"
            "\n"
            "Starts an embedded Kafka (librdkafka's mock cluster) on loopback with the\n"
            "topics of ispeed, prints the bootstrap list as the first line on stdout,\n"
            "and runs until SIGINT or SIGTERM. For development and tests only: it keeps\n"
            "about 5 MiB per partition and does not compact.\n"
            "\n"
            "  --brokers N       brokers in the cluster (default 3)\n"
            "  --partitions N    partitions of ispeed.samples and ispeed.collector.state\n"
            "                    (default 16; the other topics get 4)\n"
            "  --topic-prefix P  prefix of every topic (default ispeed.)\n"
            "  --units FILE      also create ispeed.quota.<province> for each province of\n"
            "                    this registry (otherwise they are created on first use)\n"
            "  --down            start with every broker down (refusing clients)\n"
            "  --help            this text\n"
            "\n"
            "SIGUSR1 takes every broker down, SIGUSR2 brings them back, keeping their data.\n");
}

static int parse_count(const char *s, int lo, int hi, int *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

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
    static const struct option opts[] = {
        {"brokers", required_argument, NULL, 'n'},   {"partitions", required_argument, NULL, 'p'},
        {"topic-prefix", required_argument, NULL, 'P'}, {"units", required_argument, NULL, 'u'},
        {"help", no_argument, NULL, 'h'},            {"down", no_argument, NULL, 'd'},
        {NULL, 0, NULL, 0}};
    int brokers = 3, partitions = 16, c, rc = 1, start_down = 0;
    const char *prefix = KAFKA_DEFAULT_PREFIX, *units = NULL;
    char err[512];
    rd_kafka_t *rk = NULL;
    rd_kafka_mock_cluster_t *mc = NULL;
    registry_t *reg = NULL;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (parse_count(optarg, 1, 16, &brokers) < 0) {
                fprintf(stderr, "ispeed-kafka-dev: --brokers must be 1..16, not '%s'\n", optarg);
                return 2;
            }
            break;
        case 'p':
            if (parse_count(optarg, 1, 256, &partitions) < 0) {
                fprintf(stderr, "ispeed-kafka-dev: --partitions must be 1..256, not '%s'\n", optarg);
                return 2;
            }
            break;
        case 'P': prefix = optarg; break;
        case 'u': units = optarg; break;
        case 'd': start_down = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ispeed-kafka-dev: unexpected argument '%s'; see --help\n", argv[optind]);
        return 2;
    }
    if (units && !(reg = registry_load(units, err, sizeof err))) {
        fprintf(stderr, "ispeed-kafka-dev: %s\n", err);
        return 1;
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
    if (create_topic(mc, prefix, "samples", partitions, repl) < 0 ||
        create_topic(mc, prefix, "collector.state", partitions, repl) < 0 ||
        create_topic(mc, prefix, "agents", 4, repl) < 0 || create_topic(mc, prefix, "alerts", 4, repl) < 0 ||
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
    if (start_down) set_brokers(mc, brokers, 0);
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);
    log_info("kafka-dev", "embedded Kafka up bootstrap=%s brokers=%d partitions=%d",
             rd_kafka_mock_cluster_bootstraps(mc), brokers, partitions);
    while (!kafka_dev_stop) {
        /* A short sleep, not pause(): a signal landing between the checks
         * and pause() would otherwise wait for the next one. */
        usleep(50000);
        if (kafka_dev_updown) {
            set_brokers(mc, brokers, kafka_dev_updown == 2);
            kafka_dev_updown = 0;
        }
    }
    log_info("kafka-dev", "stopping");
    rc = 0;
out:
    if (mc) rd_kafka_mock_cluster_destroy(mc);
    if (rk) rd_kafka_destroy(rk);
    registry_free(reg);
    return rc;
}
