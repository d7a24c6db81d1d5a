/* "ispeedctl topics apply": every topic of SPEC's Kafka section, created or
 * altered through the Admin API with the settings production needs, or
 * checked for drift (--check). */
#ifndef ISPEED_CTL_TOPICS_H
#define ISPEED_CTL_TOPICS_H

#include <stddef.h>

#include "registry.h"

#define TOPICS_MAX_CONF 8

typedef struct topics_spec {
    char name[256];
    int partitions;
    int replication;
    /* Adding partitions moves keys: samples would move provinces between
     * collectors in the middle of a month, collector.state would orphan
     * checkpoints. Those two only ever get the count they were created with. */
    int may_grow;
    size_t nconf;
    const char *key[TOPICS_MAX_CONF];
    char value[TOPICS_MAX_CONF][32];
} topics_spec;

/* samples, collector.state, agents, alerts, dlq and one quota topic per
 * province of reg, under prefix: the wanted partitions, replication and
 * topic configs (segment_ms: segment.ms of the compacted ones). *out is
 * malloc'd; -1 with a message. */
int topics_plan(const registry_t *reg, const char *prefix, int partitions, int replication, long long segment_ms,
                topics_spec **out, size_t *n, char *err, size_t errsz);
/* The wanted value of key for the topic, NULL if it is left to the broker. */
const char *topics_spec_value(const topics_spec *s, const char *key);

/* argv[0] is "topics". Returns the exit status: 0, 1 failure or drift, 2 bad usage. */
int topics_main(int argc, char **argv);

#endif
