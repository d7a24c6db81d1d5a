/* Signatures end to end on the agent's side: agent/identity.c keys and
 * sequence numbers, agent/record.c signed samples and enrollments, checked
 * with common/sign.c as the collector checks them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "identity.h"
#include "ispeed.pb-c.h"
#include "record.h"
#include "registry.h"
#include "sign.h"
#include "trust.h"

typedef struct fixture {
    char dir[64];
    identity_t *id;
    registry_unit province, commune;
    record_context ctx;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    char err[256];
    snprintf(f->dir, sizeof f->dir, "/tmp/ispeed-sign-XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    f->id = identity_open(f->dir, IDENTITY_CREATE | IDENTITY_EXCLUSIVE, err, sizeof err);
    if (!f->id) return -1;
    f->province = (registry_unit){.code = "01", .name = "Hà Nội", .level = REGISTRY_PROVINCE};
    f->province.province = &f->province;
    f->commune = (registry_unit){.code = "00004", .name = "Phường Ba Đình", .level = REGISTRY_COMMUNE,
                                 .parent = &f->province, .province = &f->province};
    f->ctx = (record_context){.id = f->id, .commune = &f->commune, .registry_version = "2025-07",
                              .net = {.access = ISPEED__V1__ACCESS_TYPE__ACCESS_FIXED,
                                      .network = ISPEED__V1__NETWORK__NETWORK_FIXED}};
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    char cmd[128];
    identity_close(f->id);
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0) return -1;
    free(f);
    return 0;
}

static Ispeed__V1__SignedSample *make_signed(fixture *f, uint64_t seq) {
    measure_result r = {.start_ms = 1751302800000LL, .duration_ms = 20000, .download_bps = 100000000,
                        .upload_bps = 50000000, .latency_min_ms = 2, .latency_median_ms = 3, .streams = 4,
                        .outcome = ISPEED__V1__OUTCOME__OUTCOME_OK};
    snprintf(r.server, sizeof r.server, "http://127.0.0.1:1");
    uint8_t *buf;
    size_t len;
    char err[256];
    assert_int_equal(record_signed_sample(&f->ctx, &r, seq, &buf, &len, err, sizeof err), 0);
    Ispeed__V1__SignedSample *ss = ispeed__v1__signed_sample__unpack(NULL, len, buf);
    free(buf);
    assert_non_null(ss);
    return ss;
}

static void signed_sample_verifies_and_carries_identity(void **state) {
    fixture *f = *state;
    Ispeed__V1__SignedSample *ss = make_signed(f, 7);
    const uint8_t *pk = identity_public_key(f->id);
    assert_int_equal(sign_verify(pk, ss->sample.data, ss->sample.len, ss->signature.data, ss->signature.len), 0);
    Ispeed__V1__Sample *s = ispeed__v1__sample__unpack(NULL, ss->sample.len, ss->sample.data);
    assert_non_null(s);
    assert_string_equal(s->agent_id, identity_agent_id(f->id));
    assert_string_equal(ss->agent_id, identity_agent_id(f->id));
    assert_true(s->seq == 7);
    assert_string_equal(s->commune, "00004");
    assert_string_equal(s->province, "01");
    ispeed__v1__sample__free_unpacked(s, NULL);
    ispeed__v1__signed_sample__free_unpacked(ss, NULL);
}

/* Any single flipped bit, in the sample or in the signature, fails. */
static void every_flipped_bit_fails_verification(void **state) {
    fixture *f = *state;
    Ispeed__V1__SignedSample *ss = make_signed(f, 8);
    const uint8_t *pk = identity_public_key(f->id);
    size_t flips = 0;
    for (size_t i = 0; i < ss->sample.len * 8; i++) {
        ss->sample.data[i / 8] ^= (uint8_t)(1u << (i % 8));
        assert_int_equal(sign_verify(pk, ss->sample.data, ss->sample.len, ss->signature.data, 64), -1);
        ss->sample.data[i / 8] ^= (uint8_t)(1u << (i % 8));
        flips++;
    }
    for (size_t i = 0; i < 64 * 8; i++) {
        ss->signature.data[i / 8] ^= (uint8_t)(1u << (i % 8));
        assert_int_equal(sign_verify(pk, ss->sample.data, ss->sample.len, ss->signature.data, 64), -1);
        ss->signature.data[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    assert_true(flips > 100);
    /* Restored, it verifies again: the failures above came from the flips. */
    assert_int_equal(sign_verify(pk, ss->sample.data, ss->sample.len, ss->signature.data, 64), 0);
    /* Another agent's key does not verify it. */
    uint8_t pk2[32], sk2[64];
    assert_int_equal(sign_keypair(pk2, sk2), 0);
    assert_int_equal(sign_verify(pk2, ss->sample.data, ss->sample.len, ss->signature.data, 64), -1);
    ispeed__v1__signed_sample__free_unpacked(ss, NULL);
}

static void enrollment_proves_possession(void **state) {
    fixture *f = *state;
    uint8_t *buf, msg[256];
    size_t len;
    char err[256], id[SIGN_AGENT_ID_CHARS + 1];
    assert_int_equal(record_enrollment(&f->ctx, "tok-1", 1000, &buf, &len, err, sizeof err), 0);
    Ispeed__V1__AgentEnrollment *e = ispeed__v1__agent_enrollment__unpack(NULL, len, buf);
    free(buf);
    assert_non_null(e);
    assert_int_equal(e->public_key.len, 32);
    sign_agent_id(e->public_key.data, id);
    assert_string_equal(id, e->agent_id);
    size_t mlen = sign_enrollment_message(e->public_key.data, e->agent_id, e->commune, msg, sizeof msg);
    assert_int_equal(sign_verify(e->public_key.data, msg, mlen, e->signature.data, e->signature.len), 0);
    mlen = sign_enrollment_message(e->public_key.data, e->agent_id, "00008", msg, sizeof msg);
    assert_int_equal(sign_verify(e->public_key.data, msg, mlen, e->signature.data, e->signature.len), -1);
    assert_string_equal(e->token, "tok-1");
    ispeed__v1__agent_enrollment__free_unpacked(e, NULL);
}

/* The key survives a restart; sequence numbers continue, never repeat. */
static void identity_persists_key_and_sequence(void **state) {
    fixture *f = *state;
    char err[256], path[128], first_id[SIGN_AGENT_ID_CHARS + 1];
    uint64_t a, b, c;
    struct stat st;
    assert_int_equal(identity_next_seq(f->id, &a, err, sizeof err), 0);
    assert_int_equal(identity_next_seq(f->id, &b, err, sizeof err), 0);
    assert_true(b == a + 1);
    snprintf(first_id, sizeof first_id, "%s", identity_agent_id(f->id));
    assert_int_equal(identity_mark_enrolled(f->id, "00004", err, sizeof err), 0);
    /* One process per state directory. */
    assert_null(identity_open(f->dir, IDENTITY_CREATE | IDENTITY_EXCLUSIVE, err, sizeof err));
    assert_non_null(strstr(err, "in use by another ispeed-agent"));
    identity_t *again = identity_open(f->dir, 0, err, sizeof err);
    assert_non_null(again);
    assert_string_equal(identity_agent_id(again), first_id);
    assert_int_equal(identity_next_seq(again, &c, err, sizeof err), 0);
    assert_true(c == b + 1);
    assert_true(identity_is_enrolled(again, "00004"));
    assert_false(identity_is_enrolled(again, "00008"));
    identity_close(again);
    snprintf(path, sizeof path, "%s/agent.key", f->dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* A damaged key file is refused with a message, not silently replaced. */
    FILE *k = fopen(path, "w");
    assert_non_null(k);
    fputs("short", k);
    fclose(k);
    assert_null(identity_open(f->dir, 0, err, sizeof err));
    assert_non_null(strstr(err, "damaged"));
    /* Reading never creates an identity. */
    char empty[128];
    snprintf(empty, sizeof empty, "%s/none", f->dir);
    assert_null(identity_open(empty, 0, err, sizeof err));
    assert_non_null(strstr(err, "no agent identity"));
    struct stat none;
    assert_int_equal(stat(empty, &none), -1);
}

/* A withdrawal is signed by the agent's own key, binds its time, and no
 * other key's signature passes. */
static void withdrawal_is_signed_by_the_agent(void **state) {
    fixture *f = *state;
    uint8_t *buf;
    size_t len;
    char err[256];
    assert_int_equal(record_withdrawal(&f->ctx, 5000, &buf, &len, err, sizeof err), 0);
    Ispeed__V1__AgentEnrollment *e = ispeed__v1__agent_enrollment__unpack(NULL, len, buf);
    assert_non_null(e);
    assert_non_null(e->withdrawal);
    assert_string_equal(e->agent_id, identity_agent_id(f->id));
    assert_int_equal(e->public_key.len, 0);
    Ispeed__V1__AgentWithdrawal *w = e->withdrawal;
    assert_int_equal(w->time_ms, 5000);
    assert_int_equal(trust_withdrawal_verify(w->agent_id, w->time_ms, w->signer_key.data, w->signer_key.len,
                                             w->signature.data, w->signature.len, identity_public_key(f->id), NULL,
                                             err, sizeof err),
                     TRUST_OK);
    assert_int_equal(trust_withdrawal_verify(w->agent_id, w->time_ms + 1, w->signer_key.data, w->signer_key.len,
                                             w->signature.data, w->signature.len, identity_public_key(f->id), NULL,
                                             err, sizeof err),
                     TRUST_E_SIGNATURE);
    uint8_t other_pk[32], other_sk[64];
    assert_int_equal(sign_keypair(other_pk, other_sk), 0);
    assert_int_equal(trust_withdrawal_verify(w->agent_id, w->time_ms, w->signer_key.data, w->signer_key.len,
                                             w->signature.data, w->signature.len, other_pk, NULL, err, sizeof err),
                     TRUST_E_UNKNOWN_KEY);
    ispeed__v1__agent_enrollment__free_unpacked(e, NULL);
    free(buf);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(signed_sample_verifies_and_carries_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(every_flipped_bit_fails_verification, setup, teardown),
        cmocka_unit_test_setup_teardown(enrollment_proves_possession, setup, teardown),
        cmocka_unit_test_setup_teardown(withdrawal_is_signed_by_the_agent, setup, teardown),
        cmocka_unit_test_setup_teardown(identity_persists_key_and_sequence, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
