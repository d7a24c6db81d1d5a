/* proto/ispeed.proto: every message survives a pack/unpack round trip with
 * each field intact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ispeed.pb-c.h"

static uint8_t *pack(const ProtobufCMessage *m, size_t *len) {
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(*len);
    assert_non_null(buf);
    assert_int_equal(protobuf_c_message_pack(m, buf), *len);
    return buf;
}

static void sample_round_trip(void **state) {
    (void)state;
    Ispeed__V1__Sample s = ISPEED__V1__SAMPLE__INIT;
    s.agent_id = "0123456789abcdef0123456789abcdef";
    s.seq = 18446744073709551615ULL;
    s.agent_version = "0.1.0";
    s.start_ms = 1751302800123LL;
    s.duration_ms = 21000;
    s.commune = "00004";
    s.province = "01";
    s.registry_version = "2025-07";
    s.access = ISPEED__V1__ACCESS_TYPE__ACCESS_MOBILE_5G;
    s.network = ISPEED__V1__NETWORK__NETWORK_MOBILE;
    s.operator_ = "Viettel";
    s.server = "http://127.0.0.1:8080";
    s.download_bps = 94300000;
    s.upload_bps = 41200000;
    s.latency_min_ms = 3.25;
    s.latency_median_ms = 4.5;
    s.jitter_ms = 0.75;
    s.loaded_latency_down_ms = 45.5;
    s.loaded_latency_up_ms = 80.25;
    s.bytes_down = 123456789;
    s.bytes_up = 98765432;
    s.streams = 4;
    s.outcome = ISPEED__V1__OUTCOME__OUTCOME_STALLED;
    s.outcome_detail = "no bytes for 5 s";
    size_t len;
    uint8_t *buf = pack(&s.base, &len);
    Ispeed__V1__Sample *d = ispeed__v1__sample__unpack(NULL, len, buf);
    assert_non_null(d);
    assert_string_equal(d->agent_id, s.agent_id);
    assert_true(d->seq == s.seq);
    assert_string_equal(d->agent_version, "0.1.0");
    assert_true(d->start_ms == s.start_ms);
    assert_int_equal(d->duration_ms, 21000);
    assert_string_equal(d->commune, "00004");
    assert_string_equal(d->province, "01");
    assert_string_equal(d->registry_version, "2025-07");
    assert_int_equal(d->access, ISPEED__V1__ACCESS_TYPE__ACCESS_MOBILE_5G);
    assert_int_equal(d->network, ISPEED__V1__NETWORK__NETWORK_MOBILE);
    assert_string_equal(d->operator_, "Viettel");
    assert_string_equal(d->server, s.server);
    assert_true(d->download_bps == 94300000 && d->upload_bps == 41200000);
    assert_true(d->latency_min_ms == 3.25 && d->latency_median_ms == 4.5 && d->jitter_ms == 0.75);
    assert_true(d->loaded_latency_down_ms == 45.5 && d->loaded_latency_up_ms == 80.25);
    assert_true(d->bytes_down == 123456789 && d->bytes_up == 98765432);
    assert_int_equal(d->streams, 4);
    assert_int_equal(d->outcome, ISPEED__V1__OUTCOME__OUTCOME_STALLED);
    assert_string_equal(d->outcome_detail, s.outcome_detail);
    ispeed__v1__sample__free_unpacked(d, NULL);
    /* A truncated message must be refused, not half-read. */
    assert_null(ispeed__v1__sample__unpack(NULL, len - 3, buf));
    free(buf);
}

static void signed_sample_and_enrollment_round_trip(void **state) {
    (void)state;
    uint8_t body[40], sig[64], pk[32];
    for (size_t i = 0; i < sizeof body; i++) body[i] = (uint8_t)i;
    memset(sig, 0xa5, sizeof sig);
    memset(pk, 0x5a, sizeof pk);
    Ispeed__V1__SignedSample ss = ISPEED__V1__SIGNED_SAMPLE__INIT;
    ss.sample.data = body;
    ss.sample.len = sizeof body;
    ss.signature.data = sig;
    ss.signature.len = sizeof sig;
    ss.agent_id = "abc";
    size_t len;
    uint8_t *buf = pack(&ss.base, &len);
    Ispeed__V1__SignedSample *d = ispeed__v1__signed_sample__unpack(NULL, len, buf);
    assert_non_null(d);
    assert_memory_equal(d->sample.data, body, sizeof body);
    assert_int_equal(d->signature.len, 64);
    assert_memory_equal(d->signature.data, sig, 64);
    assert_string_equal(d->agent_id, "abc");
    ispeed__v1__signed_sample__free_unpacked(d, NULL);
    free(buf);

    Ispeed__V1__AgentEnrollment e = ISPEED__V1__AGENT_ENROLLMENT__INIT;
    e.agent_id = "abc";
    e.public_key.data = pk;
    e.public_key.len = sizeof pk;
    e.commune = "00004";
    e.province = "01";
    e.created_ms = 42;
    e.token = "tok";
    e.signature.data = sig;
    e.signature.len = sizeof sig;
    buf = pack(&e.base, &len);
    Ispeed__V1__AgentEnrollment *de = ispeed__v1__agent_enrollment__unpack(NULL, len, buf);
    assert_non_null(de);
    assert_memory_equal(de->public_key.data, pk, 32);
    assert_string_equal(de->commune, "00004");
    assert_string_equal(de->province, "01");
    assert_string_equal(de->token, "tok");
    assert_true(de->created_ms == 42);
    ispeed__v1__agent_enrollment__free_unpacked(de, NULL);
    free(buf);
}

static void quota_alert_checkpoint_round_trip(void **state) {
    (void)state;
    size_t len;
    Ispeed__V1__QuotaStatus q = ISPEED__V1__QUOTA_STATUS__INIT;
    q.unit = "001";
    q.name = "Quận Ba Đình";
    q.level = ISPEED__V1__LEVEL__LEVEL_DISTRICT;
    q.parent = "01";
    q.province = "01";
    q.month = "2025-03";
    q.network = ISPEED__V1__NETWORK__NETWORK_FIXED;
    q.count = 301;
    q.target = 300;
    q.expected = 150.5;
    q.state = ISPEED__V1__QUOTA_STATE__QUOTA_STATE_MET;
    q.projection = 602.0;
    q.count_5g = 7;
    uint8_t *buf = pack(&q.base, &len);
    Ispeed__V1__QuotaStatus *dq = ispeed__v1__quota_status__unpack(NULL, len, buf);
    assert_non_null(dq);
    assert_string_equal(dq->name, "Quận Ba Đình");
    assert_int_equal(dq->level, ISPEED__V1__LEVEL__LEVEL_DISTRICT);
    assert_true(dq->count == 301 && dq->target == 300 && dq->expected == 150.5 && dq->projection == 602.0);
    assert_int_equal(dq->state, ISPEED__V1__QUOTA_STATE__QUOTA_STATE_MET);
    assert_true(dq->count_5g == 7);
    ispeed__v1__quota_status__free_unpacked(dq, NULL);
    free(buf);

    Ispeed__V1__Alert a = ISPEED__V1__ALERT__INIT;
    a.unit = "00001";
    a.from_state = ISPEED__V1__QUOTA_STATE__QUOTA_STATE_ON_TRACK;
    a.to_state = ISPEED__V1__QUOTA_STATE__QUOTA_STATE_BEHIND;
    a.count = 3;
    a.expected = 90.0;
    a.target = 300;
    a.time_ms = 1;
    buf = pack(&a.base, &len);
    Ispeed__V1__Alert *da = ispeed__v1__alert__unpack(NULL, len, buf);
    assert_non_null(da);
    assert_int_equal(da->from_state, ISPEED__V1__QUOTA_STATE__QUOTA_STATE_ON_TRACK);
    assert_int_equal(da->to_state, ISPEED__V1__QUOTA_STATE__QUOTA_STATE_BEHIND);
    assert_true(da->count == 3 && da->expected == 90.0 && da->target == 300);
    ispeed__v1__alert__free_unpacked(da, NULL);
    free(buf);

    Ispeed__V1__UnitCount c1 = ISPEED__V1__UNIT_COUNT__INIT, c2 = ISPEED__V1__UNIT_COUNT__INIT;
    c1.unit = "00001";
    c1.month = "2025-03";
    c1.count = 5;
    c2.unit = "001";
    c2.month = "2025-03";
    c2.count = 9;
    Ispeed__V1__UnitCount *counts[] = {&c1, &c2};
    Ispeed__V1__AgentMark m = ISPEED__V1__AGENT_MARK__INIT;
    uint8_t window[8] = {0xff, 1};
    m.agent_id = "abc";
    m.high_seq = 77;
    m.window.data = window;
    m.window.len = sizeof window;
    Ispeed__V1__AgentMark *marks[] = {&m};
    Ispeed__V1__CollectorCheckpoint cp = ISPEED__V1__COLLECTOR_CHECKPOINT__INIT;
    cp.topic = "ispeed.samples";
    cp.partition = 3;
    cp.next_offset = 123456;
    cp.n_counts = 2;
    cp.counts = counts;
    cp.n_agents = 1;
    cp.agents = marks;
    buf = pack(&cp.base, &len);
    Ispeed__V1__CollectorCheckpoint *dc = ispeed__v1__collector_checkpoint__unpack(NULL, len, buf);
    assert_non_null(dc);
    assert_int_equal(dc->partition, 3);
    assert_true(dc->next_offset == 123456);
    assert_int_equal(dc->n_counts, 2);
    assert_string_equal(dc->counts[1]->unit, "001");
    assert_true(dc->counts[1]->count == 9);
    assert_int_equal(dc->n_agents, 1);
    assert_true(dc->agents[0]->high_seq == 77);
    assert_memory_equal(dc->agents[0]->window.data, window, sizeof window);
    ispeed__v1__collector_checkpoint__free_unpacked(dc, NULL);
    free(buf);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sample_round_trip),
        cmocka_unit_test(signed_sample_and_enrollment_round_trip),
        cmocka_unit_test(quota_alert_checkpoint_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
