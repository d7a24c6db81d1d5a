/* Unit tests of the plans of ctl/topics.c and ctl/acl.c: the topics and
 * settings production needs (from SPEC's Kafka section and the collector's
 * own limits), and each principal's rights, on the 2025-03 registry.
 * Links ispeedctl_core; no Kafka. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "topics.h"

#define DAY_MS 86400000LL

static registry_t *load(void) {
    char err[256];
    registry_t *reg = registry_load(ISPEED_DATA_DIR "/vn-units-2025-03.csv", err, sizeof err);
    if (!reg) fail_msg("%s", err);
    return reg;
}

static const topics_spec *find(const topics_spec *s, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(s[i].name, name) == 0) return &s[i];
    fail_msg("no topic %s in the plan", name);
    return NULL;
}

static long long num(const topics_spec *s, const char *key) {
    const char *v = topics_spec_value(s, key);
    if (!v) fail_msg("%s has no %s", s->name, key);
    return strtoll(v, NULL, 10);
}

static void test_topics_plan(void **state) {
    (void)state;
    registry_t *reg = load();
    topics_spec *s = NULL;
    size_t n = 0;
    char err[256];
    assert_int_equal(topics_plan(reg, "ispeed.", 12, 3, DAY_MS, &s, &n, err, sizeof err), 0);
    size_t nprov = registry_count(reg, REGISTRY_PROVINCE);
    assert_int_equal(n, nprov + 5);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(s[i].replication, 3);
        assert_int_equal(num(&s[i], "min.insync.replicas"), 2); /* RF - 1 */
    }
    const topics_spec *t = find(s, n, "ispeed.samples");
    assert_int_equal(t->partitions, 12);
    assert_false(t->may_grow);
    assert_string_equal(topics_spec_value(t, "message.timestamp.type"), "LogAppendTime");
    assert_string_equal(topics_spec_value(t, "cleanup.policy"), "delete");
    /* a month (31 days), the latest grace day (the 28th: 27 days), a re-count (31 days) */
    assert_true(num(t, "retention.ms") >= (31 + 27 + 31) * DAY_MS);
    t = find(s, n, "ispeed.collector.state");
    assert_int_equal(t->partitions, 12); /* keyed by samples partition */
    assert_false(t->may_grow);
    assert_string_equal(topics_spec_value(t, "cleanup.policy"), "compact");
    /* the collector's producer sends records up to 16,000,000 bytes */
    assert_true(num(t, "max.message.bytes") >= 16000000);
    t = find(s, n, "ispeed.agents");
    assert_string_equal(topics_spec_value(t, "cleanup.policy"), "compact");
    assert_int_equal(num(t, "retention.ms"), -1);
    assert_true(num(find(s, n, "ispeed.alerts"), "retention.ms") > 0);
    assert_true(num(find(s, n, "ispeed.dlq"), "retention.ms") >= num(find(s, n, "ispeed.samples"), "retention.ms"));
    for (size_t i = 0; i < registry_size(reg); i++) {
        const registry_unit *u = registry_unit_at(reg, i);
        char name[64];
        if (u->level != REGISTRY_PROVINCE) continue;
        snprintf(name, sizeof name, "ispeed.quota.%s", u->code);
        t = find(s, n, name);
        assert_string_equal(topics_spec_value(t, "cleanup.policy"), "compact");
        assert_int_equal(num(t, "segment.ms"), DAY_MS);
        assert_true(num(t, "max.message.bytes") >= 16000000);
    }
    free(s);
    /* one replica: min.insync.replicas cannot be 0 */
    assert_int_equal(topics_plan(reg, "x.", 3, 1, 1000, &s, &n, err, sizeof err), 0);
    assert_int_equal(num(find(s, n, "x.samples"), "min.insync.replicas"), 1);
    assert_int_equal(num(find(s, n, "x.quota.01"), "segment.ms"), 1000);
    free(s);
    registry_free(reg);
}

static int allows(const acl_rule *r, size_t n, const char *principal, rd_kafka_ResourceType_t rt, const char *res,
                  rd_kafka_AclOperation_t op) {
    for (size_t i = 0; i < n; i++) {
        if (strcmp(r[i].principal, principal) || r[i].restype != rt) continue;
        if (r[i].op != op && r[i].op != RD_KAFKA_ACL_OPERATION_ALL) continue;
        if (r[i].pattern == RD_KAFKA_RESOURCE_PATTERN_LITERAL &&
            (strcmp(r[i].name, res) == 0 || strcmp(r[i].name, "*") == 0))
            return 1;
        if (r[i].pattern == RD_KAFKA_RESOURCE_PATTERN_PREFIXED && strncmp(r[i].name, res, strlen(r[i].name)) == 0)
            return 1;
    }
    return 0;
}

static void test_acl_plan(void **state) {
    (void)state;
    registry_t *reg = load();
    acl_rule *r = NULL;
    size_t n = 0;
    char err[256];
    const rd_kafka_ResourceType_t T = RD_KAFKA_RESOURCE_TOPIC, G = RD_KAFKA_RESOURCE_GROUP;
    const rd_kafka_AclOperation_t RD = RD_KAFKA_ACL_OPERATION_READ, WR = RD_KAFKA_ACL_OPERATION_WRITE;
    assert_int_equal(acl_plan(reg, "ispeed.", "ispeed-collector", &r, &n, err, sizeof err), 0);
    /* agent */
    assert_true(allows(r, n, "User:agent", T, "ispeed.samples", WR));
    assert_true(allows(r, n, "User:agent", T, "ispeed.agents", WR));
    assert_true(allows(r, n, "User:agent", T, "ispeed.quota.01", RD));
    assert_false(allows(r, n, "User:agent", T, "ispeed.samples", RD));
    assert_false(allows(r, n, "User:agent", T, "ispeed.agents", RD));
    assert_false(allows(r, n, "User:agent", T, "ispeed.quota.01", WR));
    assert_false(allows(r, n, "User:agent", T, "ispeed.collector.state", RD));
    /* collector */
    assert_true(allows(r, n, "User:collector", T, "ispeed.samples", RD));
    assert_true(allows(r, n, "User:collector", T, "ispeed.agents", RD));
    assert_true(allows(r, n, "User:collector", T, "ispeed.collector.state", RD));
    assert_true(allows(r, n, "User:collector", T, "ispeed.collector.state", WR));
    assert_true(allows(r, n, "User:collector", T, "ispeed.quota.79", WR));
    assert_true(allows(r, n, "User:collector", T, "ispeed.alerts", WR));
    assert_true(allows(r, n, "User:collector", T, "ispeed.dlq", WR));
    assert_true(allows(r, n, "User:collector", G, "ispeed-collector", RD));
    assert_false(allows(r, n, "User:collector", T, "ispeed.samples", WR));
    assert_false(allows(r, n, "User:collector", T, "ispeed.agents", WR));
    /* provinces: their own quota topic and the alerts only */
    assert_true(allows(r, n, "User:province-31", T, "ispeed.quota.31", RD));
    assert_true(allows(r, n, "User:province-31", T, "ispeed.alerts", RD));
    assert_false(allows(r, n, "User:province-31", T, "ispeed.quota.01", RD));
    assert_false(allows(r, n, "User:province-31", T, "ispeed.quota.31", WR));
    assert_false(allows(r, n, "User:province-31", T, "ispeed.samples", RD));
    assert_true(allows(r, n, "User:province-01", T, "ispeed.quota.01", RD));
    /* operator: everything */
    assert_true(allows(r, n, "User:operator", T, "ispeed.samples", RD));
    assert_true(allows(r, n, "User:operator", G, "anything", RD));
    assert_true(allows(r, n, "User:operator", RD_KAFKA_RESOURCE_BROKER, "kafka-cluster", RD_KAFKA_ACL_OPERATION_ALTER));
    free(r);
    registry_free(reg);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_topics_plan), cmocka_unit_test(test_acl_plan)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
