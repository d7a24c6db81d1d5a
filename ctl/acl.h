/* "ispeedctl acl apply": the ACLs of ispeed's SCRAM principals (agent,
 * collector, province-<code>, operator), each allowed only what it uses. */
#ifndef ISPEED_CTL_ACL_H
#define ISPEED_CTL_ACL_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "registry.h"

typedef struct acl_rule {
    rd_kafka_ResourceType_t restype; /* TOPIC, GROUP, BROKER (Kafka's cluster) */
    rd_kafka_ResourcePatternType_t pattern;
    char name[256];
    char principal[64]; /* "User:agent" */
    rd_kafka_AclOperation_t op;
} acl_rule;

/* Every ALLOW rule, for the topics under prefix, the collector's consumer
 * group and each province of reg. *out is malloc'd; -1 with a message. */
int acl_plan(const registry_t *reg, const char *prefix, const char *collector_group, acl_rule **out, size_t *n,
             char *err, size_t errsz);

/* argv[0] is "acl". Returns the exit status: 0, 1 failure or drift, 2 bad usage. */
int acl_main(int argc, char **argv);

#endif
