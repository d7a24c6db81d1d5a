/* QuotaStatus records of March 2025 put into a report_t (ctl/report_data.h)
 * as a quota topic gives them, under their "<unit>/2025-03/<network>" key,
 * for the report's tests. */
#ifndef ISPEED_TEST_REPORT_FIXTURE_H
#define ISPEED_TEST_REPORT_FIXTURE_H

#include <string.h>

#include "ispeed.pb-c.h"
#include "report_data.h"

#define MARCH_2025 1740762000000LL /* 2025-03-01 00:00 +07 */
#define DAY 86400000LL

/* net is "fixed" or "mobile"; target 300; the unit is its own name.
 * unattested is QuotaStatus.unattested_count (collector --attestation
 * optional). */
static void report_fixture_put(report_t *r, const char *unit, int level, const char *parent, const char *province,
                               const char *net, uint64_t count, uint32_t agents, uint64_t unattested,
                               int64_t updated_ms) {
    Ispeed__V1__QuotaStatus q = ISPEED__V1__QUOTA_STATUS__INIT;
    char key[64], err[256];
    uint8_t buf[256];
    q.unit = (char *)unit;
    q.name = (char *)unit;
    q.level = (Ispeed__V1__Level)level;
    q.parent = (char *)parent;
    q.province = (char *)province;
    q.month = "2025-03";
    q.network = strcmp(net, "fixed") == 0 ? ISPEED__V1__NETWORK__NETWORK_FIXED : ISPEED__V1__NETWORK__NETWORK_MOBILE;
    q.count = count;
    q.target = 300;
    q.distinct_agents = agents;
    q.unattested_count = unattested;
    q.updated_ms = updated_ms;
    assert_true(ispeed__v1__quota_status__get_packed_size(&q) <= sizeof buf);
    size_t len = ispeed__v1__quota_status__pack(&q, buf);
    snprintf(key, sizeof key, "%s/2025-03/%s", unit, net);
    assert_int_equal(report_put(r, key, strlen(key), buf, len, err, sizeof err), 0);
}

#endif
