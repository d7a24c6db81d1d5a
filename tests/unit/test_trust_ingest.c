/* The collector's trust rules (collector/validate.c, ingest.c; SPEC: Trust):
 * samples bound to their enrollment's commune, zero-rate "ok" samples
 * refused, the daily cap per agent across units, receipts required or
 * optional, a receipt of another sample (or reused) refused, bytes that
 * cannot carry the reported rates refused, and the month and lateness
 * judged by the server's attested time. Each attack next to an honest
 * sample that still counts exactly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agents.h"
#include "checkpoint.h"
#include "enrollment_fixture.h"
#include "ingest.h"
#include "ispeed.pb-c.h"
#include "quota.h"
#include "registry.h"
#include "sign.h"
#include "tmpfile_fixture.h"
#include "trust.h"
#include "validate.h"

#define DAY 86400000LL
/* July 2025 in Vietnam: [2025-06-30 17:00 UTC, 2025-07-31 17:00 UTC). */
#define JUL_START 1751302800000LL
#define JUL_15_NOON (JUL_START + 14 * DAY + 12 * 3600000LL)

static const char *const CSV = "code,level,parent,name,type\n"
                               "01,province,,Ha Noi,Thanh pho Trung uong\n"
                               "001,district,01,Ba Dinh,Quan\n"
                               "00001,commune,001,Phuc Xa,Phuong\n"
                               "00004,commune,001,Truc Bach,Phuong\n";

struct agent {
    uint8_t pk[SIGN_PUBLIC_BYTES], sk[SIGN_SECRET_BYTES];
    char id[SIGN_AGENT_ID_CHARS + 1];
};

struct fx {
    registry_t *reg;
    agents_t *ag;
    quota_counts_t *qt;
    ingest_t *ing;
    trust_keys *servers;
    struct agent a, server, rogue;
    char server_id[SIGN_AGENT_ID_CHARS + 1];
};

static void new_agent(struct agent *a) {
    sign_keypair(a->pk, a->sk);
    sign_agent_id(a->pk, a->id);
}

static void enroll(agents_t *ag, struct agent *a, const char *commune) {
    uint8_t buf[FIXTURE_ENROLLMENT_MAX];
    char err[256];
    new_agent(a);
    size_t n = fixture_enrollment(a->pk, a->sk, a->id, commune, commune, buf);
    assert_int_equal(agents_apply(ag, a->id, strlen(a->id), buf, n, err, sizeof err), 0);
}

/* fx with the given attestation and cap rule. */
static struct fx *fx_new(enum validate_attestation att, int bind) {
    struct fx *f = calloc(1, sizeof *f);
    char err[256], path[] = "/tmp/test_trust_ingest_XXXXXX", line[256], hex[65];
    assert_int_equal(sign_init(), 0);
    fixture_write_tmp(path, CSV);
    f->reg = registry_load(path, err, sizeof err);
    unlink(path);
    assert_non_null(f->reg);
    f->ag = agents_new();
    quota_config qc;
    quota_config_default(&qc);
    f->qt = quota_counts_new(f->reg, &qc, err, sizeof err);
    new_agent(&f->server);
    new_agent(&f->rogue);
    sign_agent_id(f->server.pk, f->server_id);
    trust_hex(f->server.pk, 32, hex);
    snprintf(line, sizeof line, "%s,%s,hn-1\n", f->server_id, hex);
    char spath[] = "/tmp/test_trust_servers_XXXXXX";
    fixture_write_tmp(spath, line);
    f->servers = trust_servers_load(spath, err, sizeof err);
    unlink(spath);
    assert_non_null(f->servers);
    ingest_config ic;
    ingest_config_default(&ic);
    ic.attestation = att;
    ic.servers = f->servers;
    ic.bind_commune = bind;
    f->ing = ingest_new(f->reg, f->ag, NULL, f->qt, &ic, err, sizeof err);
    assert_non_null(f->ing);
    enroll(f->ag, &f->a, "00001");
    return f;
}

static void fx_free(struct fx *f) {
    ingest_free(f->ing);
    quota_counts_free(f->qt);
    agents_free(f->ag);
    registry_free(f->reg);
    trust_keys_free(f->servers);
    free(f);
}

typedef struct sample_spec {
    uint64_t seq;
    const char *commune;
    int64_t start_ms;
    uint64_t down_bps, up_bps, bytes_down, bytes_up;
    /* receipt: 0 none; else signed by signer with these figures */
    int receipt;
    const struct agent *signer;
    const char *server_id;
    int64_t r_start, r_end;
    uint64_t r_sent, r_received;
    const uint8_t *other_digest; /* a receipt covering another sample's bytes */
} sample_spec;

/* A realistic 20 s test: 100/40 Mbit/s, the bytes those rates move. */
static sample_spec honest(uint64_t seq, int64_t start) {
    return (sample_spec){.seq = seq,
                         .commune = "00001",
                         .start_ms = start,
                         .down_bps = 100000000,
                         .up_bps = 40000000,
                         .bytes_down = 120000000,
                         .bytes_up = 48000000,
                         .receipt = 1,
                         .r_start = start + 500,
                         .r_end = start + 20500,
                         .r_sent = 121000000,
                         .r_received = 47000000};
}

/* The signed sample of spec, with its receipt; length in buf. The sample's
 * own digest is put in *digest when not NULL. */
static size_t make(struct fx *f, const sample_spec *sp, uint8_t *buf, uint8_t *digest_out) {
    Ispeed__V1__Sample s = ISPEED__V1__SAMPLE__INIT;
    s.agent_id = f->a.id;
    s.seq = sp->seq;
    s.start_ms = sp->start_ms;
    s.duration_ms = 21000;
    s.commune = (char *)sp->commune;
    s.province = "01";
    s.network = ISPEED__V1__NETWORK__NETWORK_FIXED;
    s.access = ISPEED__V1__ACCESS_TYPE__ACCESS_FIXED;
    s.download_bps = sp->down_bps;
    s.upload_bps = sp->up_bps;
    s.bytes_down = sp->bytes_down;
    s.bytes_up = sp->bytes_up;
    s.streams = 4;
    s.latency_min_ms = 4;
    s.latency_median_ms = 6;
    s.outcome = ISPEED__V1__OUTCOME__OUTCOME_OK;
    uint8_t sb[512], sig[SIGN_SIGNATURE_BYTES], digest[TRUST_DIGEST_BYTES], rsig[64];
    size_t sn = ispeed__v1__sample__pack(&s, sb);
    sign_detached(f->a.sk, sb, sn, sig);
    trust_sample_digest(sb, sn, digest);
    if (digest_out) memcpy(digest_out, digest, sizeof digest);
    Ispeed__V1__SignedSample ss = ISPEED__V1__SIGNED_SAMPLE__INIT;
    Ispeed__V1__SignedReceipt sr = ISPEED__V1__SIGNED_RECEIPT__INIT;
    uint8_t *rbuf = NULL;
    ss.sample.data = sb;
    ss.sample.len = sn;
    ss.signature.data = sig;
    ss.signature.len = sizeof sig;
    ss.agent_id = f->a.id;
    if (sp->receipt) {
        trust_receipt r;
        size_t rlen;
        char err[128];
        memset(&r, 0, sizeof r);
        strcpy(r.server_id, sp->server_id ? sp->server_id : f->server_id);
        memcpy(r.agent_key, f->a.pk, 32);
        memset(r.nonce, (int)sp->seq, sizeof r.nonce);
        r.start_ms = sp->r_start;
        r.end_ms = sp->r_end;
        r.issued_ms = sp->r_end + 100;
        r.bytes_sent = sp->r_sent;
        r.bytes_received = sp->r_received;
        strcpy(r.client_prefix, "203.0.113.0/24");
        memcpy(r.sample_digest, sp->other_digest ? sp->other_digest : digest, TRUST_DIGEST_BYTES);
        const struct agent *signer = sp->signer ? sp->signer : &f->server;
        assert_int_equal(trust_receipt_sign(signer->sk, &r, &rbuf, &rlen, rsig, err, sizeof err), TRUST_OK);
        sr.receipt.data = rbuf;
        sr.receipt.len = rlen;
        sr.signature.data = rsig;
        sr.signature.len = 64;
        ss.receipt = &sr;
    }
    size_t n = ispeed__v1__signed_sample__pack(&ss, buf);
    free(rbuf);
    return n;
}

static enum ingest_result feed(struct fx *f, const sample_spec *sp, int64_t arrival, enum reject_reason *why) {
    uint8_t buf[2048];
    char detail[256];
    size_t n = make(f, sp, buf, NULL);
    return ingest_sample(f->ing, 0, "01", 2, buf, n, arrival, JUL_15_NOON + 40 * DAY, why, detail, sizeof detail);
}

static uint64_t count_of(struct fx *f, const char *unit, const char *month, uint64_t *late) {
    quota_status st;
    quota_get(f->qt, registry_find(f->reg, unit), month, QUOTA_FIXED, JUL_15_NOON, &st);
    if (late) *late = st.late_count;
    return st.count;
}

/* Every province on partition 0. */
static int32_t owner0(const registry_unit *p, void *ctx) {
    (void)p;
    (void)ctx;
    return 0;
}

static void test_commune_binding(void **state) {
    (void)state;
    struct fx *f = fx_new(VALIDATE_ATTEST_OFF, 1);
    enum reject_reason why;
    sample_spec sp = honest(1, JUL_15_NOON);
    sp.commune = "00004"; /* enrolled for 00001 */
    assert_int_equal(feed(f, &sp, JUL_15_NOON, &why), INGEST_REJECTED);
    assert_int_equal(why, REJECT_COMMUNE_MISMATCH);
    assert_string_equal(reject_reason_name(why), "commune_mismatch");
    sp = honest(2, JUL_15_NOON);
    assert_int_equal(feed(f, &sp, JUL_15_NOON, &why), INGEST_COUNTED);
    assert_int_equal(count_of(f, "00004", "2025-07", NULL), 0);
    assert_int_equal(count_of(f, "00001", "2025-07", NULL), 1);
    assert_int_equal(count_of(f, "01", "2025-07", NULL), 1);
    fx_free(f);
}

static void test_zero_rate(void **state) {
    (void)state;
    struct fx *f = fx_new(VALIDATE_ATTEST_OFF, 1);
    enum reject_reason why;
    sample_spec sp = honest(1, JUL_15_NOON);
    sp.down_bps = 0;
    assert_int_equal(feed(f, &sp, JUL_15_NOON, &why), INGEST_REJECTED);
    assert_int_equal(why, REJECT_ZERO_RATE);
    sp = honest(2, JUL_15_NOON);
    sp.up_bps = 0;
    assert_int_equal(feed(f, &sp, JUL_15_NOON, &why), INGEST_REJECTED);
    assert_int_equal(why, REJECT_ZERO_RATE);
    sp = honest(3, JUL_15_NOON);
    assert_int_equal(feed(f, &sp, JUL_15_NOON, &why), INGEST_COUNTED);
    assert_int_equal(count_of(f, "00001", "2025-07", NULL), 1);
    fx_free(f);
}

/* With binding off (the old rule), the cap still counts per agent and day
 * across communes: 12 in all, not 12 in each. */
static void test_cap_across_units(void **state) {
    (void)state;
    struct fx *f = fx_new(VALIDATE_ATTEST_OFF, 0);
    enum reject_reason why;
    for (uint64_t i = 0; i < 12; i++) {
        sample_spec sp = honest(10 + i, JUL_15_NOON - (int64_t)i * 60000);
        sp.commune = i % 2 ? "00004" : "00001";
        assert_int_equal(feed(f, &sp, JUL_15_NOON, &why), INGEST_COUNTED);
    }
    sample_spec sp = honest(30, JUL_15_NOON - 3600000);
    sp.commune = "00004";
    assert_int_equal(feed(f, &sp, JUL_15_NOON, &why), INGEST_OVER_CAP);
    sp = honest(31, JUL_15_NOON - 3600000);
    assert_int_equal(feed(f, &sp, JUL_15_NOON, &why), INGEST_OVER_CAP);
    assert_int_equal(count_of(f, "001", "2025-07", NULL), 12);
    /* The next Vietnamese day starts a new count. */
    sp = honest(32, JUL_15_NOON + DAY);
    assert_int_equal(feed(f, &sp, JUL_15_NOON + DAY, &why), INGEST_COUNTED);
    fx_free(f);
}

static void test_receipt_required(void **state) {
    (void)state;
    struct fx *f = fx_new(VALIDATE_ATTEST_REQUIRED, 1);
    enum reject_reason why;
    uint8_t buf[2048], digest1[TRUST_DIGEST_BYTES];
    char detail[256];

    /* Honest and attested: counted. */
    sample_spec sp = honest(1, JUL_15_NOON);
    size_t n = make(f, &sp, buf, digest1);
    assert_int_equal(ingest_sample(f->ing, 0, "01", 2, buf, n, JUL_15_NOON, JUL_15_NOON + DAY, &why, detail,
                                   sizeof detail),
                     INGEST_COUNTED);
    /* No receipt. */
    sp = honest(2, JUL_15_NOON);
    sp.receipt = 0;
    assert_int_equal(feed(f, &sp, JUL_15_NOON, &why), INGEST_REJECTED);
    assert_int_equal(why, REJECT_UNATTESTED);
    /* The first sample's receipt reused for another sample. */
    sp = honest(3, JUL_15_NOON);
    sp.other_digest = digest1;
    assert_int_equal(feed(f, &sp, JUL_15_NOON, &why), INGEST_REJECTED);
    assert_int_equal(why, REJECT_BAD_RECEIPT);
    /* The same record again: a duplicate, counted once. */
    assert_int_equal(ingest_sample(f->ing, 0, "01", 2, buf, n, JUL_15_NOON, JUL_15_NOON + DAY, &why, detail,
                                   sizeof detail),
                     INGEST_REJECTED);
    assert_int_equal(why, REJECT_DUPLICATE);
    /* Signed by a server not in servers.csv (claiming the listed id, or its own). */
    sp = honest(4, JUL_15_NOON);
    sp.signer = &f->rogue;
    assert_int_equal(feed(f, &sp, JUL_15_NOON, &why), INGEST_REJECTED);
    assert_int_equal(why, REJECT_BAD_RECEIPT);
    sp.server_id = f->rogue.id;
    assert_int_equal(feed(f, &sp, JUL_15_NOON, &why), INGEST_REJECTED);
    assert_int_equal(why, REJECT_BAD_RECEIPT);
    /* Bytes that cannot carry the reported rate: 1 Gbit/s claimed over a
     * receipt of 10 MB (a 0.5 s window at 1 Gbit/s needs 62.5 MB). */
    sp = honest(5, JUL_15_NOON);
    sp.down_bps = 1000000000;
    sp.bytes_down = 10000000;
    sp.r_sent = 10000000;
    assert_int_equal(feed(f, &sp, JUL_15_NOON, &why), INGEST_REJECTED);
    assert_int_equal(why, REJECT_RECEIPT_RATE);
    /* More bytes reported than the server sent, beyond the 3% tolerance... */
    sp = honest(6, JUL_15_NOON);
    sp.bytes_down = 130000000;
    assert_int_equal(feed(f, &sp, JUL_15_NOON, &why), INGEST_REJECTED);
    assert_int_equal(why, REJECT_RECEIPT_RATE);
    /* ...and within it, counted. */
    sp = honest(7, JUL_15_NOON);
    sp.bytes_down = 124000000;
    assert_int_equal(feed(f, &sp, JUL_15_NOON, &why), INGEST_COUNTED);
    assert_int_equal(count_of(f, "00001", "2025-07", NULL), 2);
    fx_free(f);
}

/* Month and lateness follow the server. A sample whose agent clock says
 * June but whose server saw it in July is refused (its start is not the
 * server's, beyond the 10 minutes of clock skew allowed): it counts in
 * neither month, so a Kafka timestamp set back to June cannot make a
 * July-attested test June's. */
static void test_attested_time(void **state) {
    (void)state;
    struct fx *f = fx_new(VALIDATE_ATTEST_REQUIRED, 1);
    enum reject_reason why;
    uint64_t late;
    sample_spec sp = honest(1, JUL_START - 10 * DAY); /* agent claims 20 June */
    sp.r_start = JUL_15_NOON;
    sp.r_end = JUL_15_NOON + 20000;
    assert_int_equal(feed(f, &sp, JUL_START - 9 * DAY, &why), INGEST_REJECTED);
    assert_int_equal(why, REJECT_BAD_RECEIPT);
    assert_int_equal(count_of(f, "00001", "2025-06", NULL), 0);
    assert_int_equal(count_of(f, "00001", "2025-07", NULL), 0);
    /* Within the skew the month is still the server's: an agent clock 5
     * minutes behind across midnight of 1 July counts in July. */
    sp = honest(3, JUL_START - 5 * 60 * 1000LL);
    sp.r_start = JUL_START + 1000;
    sp.r_end = JUL_START + 21000;
    assert_int_equal(feed(f, &sp, JUL_START + DAY, &why), INGEST_COUNTED);
    assert_int_equal(count_of(f, "00001", "2025-06", NULL), 0);
    assert_int_equal(count_of(f, "00001", "2025-07", NULL), 1);

    /* A June test (by the server) delivered after the grace period with an
     * honest timestamp: late. */
    sp = honest(2, JUL_START - 10 * DAY);
    assert_int_equal(feed(f, &sp, JUL_START + 10 * DAY, &why), INGEST_LATE);
    assert_int_equal(count_of(f, "00001", "2025-06", &late), 0);
    assert_int_equal(late, 1);
    /* The same held back and stamped with its test's time, as a producer
     * sets a CreateTime: appended after the province's record of 11 July,
     * it arrived after that one, so it is late all the same. */
    sp = honest(4, JUL_START - 3 * DAY);
    assert_int_equal(feed(f, &sp, JUL_START - 3 * DAY + 30000, &why), INGEST_LATE);
    assert_int_equal(count_of(f, "00001", "2025-06", &late), 0);
    assert_int_equal(late, 2);
    fx_free(f);
}

static uint64_t unattested_of(struct fx *f, const char *unit, const char *month) {
    quota_status st;
    quota_get(f->qt, registry_find(f->reg, unit), month, QUOTA_FIXED, JUL_15_NOON, &st);
    return st.unattested_count;
}

/* optional: attested samples count; unattested ones are valid, counted
 * apart (unattested_count, at every level) and never in the attested
 * count; a replayed one is a duplicate as any other. */
static void test_receipt_optional(void **state) {
    (void)state;
    struct fx *f = fx_new(VALIDATE_ATTEST_OPTIONAL, 1);
    enum reject_reason why;
    sample_spec sp = honest(1, JUL_15_NOON);
    assert_int_equal(feed(f, &sp, JUL_15_NOON, &why), INGEST_COUNTED);
    sp = honest(2, JUL_15_NOON);
    sp.receipt = 0;
    assert_int_equal(feed(f, &sp, JUL_15_NOON, &why), INGEST_UNATTESTED);
    assert_int_equal(feed(f, &sp, JUL_15_NOON, &why), INGEST_REJECTED);
    assert_int_equal(why, REJECT_DUPLICATE);
    assert_int_equal(unattested_of(f, "00001", "2025-07"), 1);
    assert_int_equal(unattested_of(f, "01", "2025-07"), 1);
    assert_int_equal(count_of(f, "01", "2025-07", NULL), 1);
    /* A broken receipt is refused, not treated as no receipt. */
    sp = honest(3, JUL_15_NOON);
    sp.signer = &f->rogue;
    assert_int_equal(feed(f, &sp, JUL_15_NOON, &why), INGEST_REJECTED);
    assert_int_equal(why, REJECT_BAD_RECEIPT);
    assert_int_equal(count_of(f, "00001", "2025-07", NULL), 1);
    assert_int_equal(unattested_of(f, "00001", "2025-07"), 1);
    fx_free(f);
}

/* ---- enrollment tokens ---- */

/* The enrollment of agent a for commune with token (may be ""). */
static size_t enrollment_with_token(const struct agent *a, const char *commune, const char *token, uint8_t *buf) {
    Ispeed__V1__AgentEnrollment en = ISPEED__V1__AGENT_ENROLLMENT__INIT;
    uint8_t msg[256], sig[SIGN_SIGNATURE_BYTES];
    size_t ml = sign_enrollment_message(a->pk, a->id, commune, msg, sizeof msg);
    sign_detached(a->sk, msg, ml, sig);
    en.agent_id = (char *)a->id;
    en.public_key.data = (uint8_t *)a->pk;
    en.public_key.len = SIGN_PUBLIC_BYTES;
    en.commune = (char *)commune;
    en.token = (char *)token;
    en.signature.data = sig;
    en.signature.len = sizeof sig;
    return ispeed__v1__agent_enrollment__pack(&en, buf);
}

struct tfx {
    struct fx *f;
    struct agent auth01, auth79;
    trust_keys *authorities;
};

static void issue(const struct agent *auth, const char *province, const char *commune, uint32_t uses, int64_t expires,
                  char *out) {
    trust_token t;
    char err[128];
    memset(&t, 0, sizeof t);
    strcpy(t.province, province);
    strcpy(t.communes[0], commune);
    t.ncommunes = 1;
    t.uses = uses;
    t.issued_ms = JUL_START;
    t.expires_ms = expires;
    assert_int_equal(trust_token_issue(auth->sk, &t, out, TRUST_TOKEN_MAX_CHARS + 1, err, sizeof err), TRUST_OK);
}

static struct tfx *tfx_new(void) {
    struct tfx *t = calloc(1, sizeof *t);
    char line[512], h1[65], h2[65], err[256], path[] = "/tmp/test_trust_auth_XXXXXX";
    t->f = fx_new(VALIDATE_ATTEST_REQUIRED, 1);
    new_agent(&t->auth01);
    new_agent(&t->auth79);
    trust_hex(t->auth01.pk, 32, h1);
    trust_hex(t->auth79.pk, 32, h2);
    snprintf(line, sizeof line, "01,%s,Ha Noi\n79,%s,HCMC\n", h1, h2);
    fixture_write_tmp(path, line);
    t->authorities = trust_authorities_load(path, err, sizeof err);
    unlink(path);
    assert_non_null(t->authorities);
    agents_trust at = {.require_token = 1, .authorities = t->authorities, .reg = t->f->reg, .signed_withdrawals = 1};
    agents_set_trust(t->f->ag, &at);
    return t;
}

static void tfx_free(struct tfx *t) {
    fx_free(t->f);
    trust_keys_free(t->authorities);
    free(t);
}

/* Enrolls agent a (a fresh key) for 00001 with token. */
static void enroll_token(struct tfx *t, struct agent *a, const char *token) {
    uint8_t buf[AGENTS_MAX_RECORD];
    char err[256];
    new_agent(a);
    size_t n = enrollment_with_token(a, "00001", token, buf);
    assert_int_equal(agents_apply(t->f->ag, a->id, strlen(a->id), buf, n, err, sizeof err), 0);
}

/* One honest attested sample of agent a; what ingest said. */
static enum ingest_result feed_as(struct tfx *t, const struct agent *a, uint64_t seq, int64_t when,
                                  enum reject_reason *why) {
    struct agent saved = t->f->a;
    t->f->a = *a;
    sample_spec sp = honest(seq, when);
    enum ingest_result r = feed(t->f, &sp, when, why);
    t->f->a = saved;
    return r;
}

static void test_enrollment_tokens(void **state) {
    (void)state;
    struct tfx *t = tfx_new();
    char tok[TRUST_TOKEN_MAX_CHARS + 1], tok79[TRUST_TOKEN_MAX_CHARS + 1], tokx[TRUST_TOKEN_MAX_CHARS + 1];
    char tokold[TRUST_TOKEN_MAX_CHARS + 1];
    struct agent a1, a2, a3, none, wrong, other, late;
    enum reject_reason why;
    issue(&t->auth01, "01", "00001", 2, JUL_15_NOON + DAY, tok);
    issue(&t->auth79, "79", "00001", 5, JUL_15_NOON + DAY, tok79);  /* another province's authority */
    issue(&t->auth01, "01", "00004", 5, JUL_15_NOON + DAY, tokx);   /* names another commune */
    issue(&t->auth01, "01", "00001", 5, JUL_15_NOON - DAY, tokold); /* expired before the samples */

    enroll_token(t, &a1, tok);
    enroll_token(t, &a2, tok);
    enroll_token(t, &a3, tok);
    enroll_token(t, &none, "");
    enroll_token(t, &wrong, tok79);
    enroll_token(t, &other, tokx);
    enroll_token(t, &late, tokold);
    /* Honest ones first: two uses, two agents. */
    assert_int_equal(feed_as(t, &a1, 1, JUL_15_NOON, &why), INGEST_COUNTED);
    assert_int_equal(feed_as(t, &a2, 1, JUL_15_NOON, &why), INGEST_COUNTED);
    /* A third agent on the same token: no use left. */
    assert_int_equal(feed_as(t, &a3, 1, JUL_15_NOON, &why), INGEST_REJECTED);
    assert_int_equal(why, REJECT_TOKEN_USED_UP);
    /* The first agent keeps counting, and enrolling again keeps its use. */
    assert_int_equal(feed_as(t, &a1, 2, JUL_15_NOON + 60000, &why), INGEST_COUNTED);
    {
        uint8_t buf[AGENTS_MAX_RECORD];
        char err[256];
        size_t n = enrollment_with_token(&a1, "00001", tok, buf);
        assert_int_equal(agents_apply(t->f->ag, a1.id, strlen(a1.id), buf, n, err, sizeof err), 0);
    }
    assert_int_equal(feed_as(t, &a1, 3, JUL_15_NOON + 120000, &why), INGEST_COUNTED);
    /* No token, a foreign authority, a token for another commune: unknown. */
    assert_int_equal(feed_as(t, &none, 1, JUL_15_NOON, &why), INGEST_REJECTED);
    assert_int_equal(why, REJECT_UNKNOWN_AGENT);
    assert_int_equal(feed_as(t, &wrong, 1, JUL_15_NOON, &why), INGEST_REJECTED);
    assert_int_equal(why, REJECT_UNKNOWN_AGENT);
    assert_int_equal(feed_as(t, &other, 1, JUL_15_NOON, &why), INGEST_REJECTED);
    assert_int_equal(why, REJECT_UNKNOWN_AGENT);
    /* Expired before its first sample (by the server's time). */
    assert_int_equal(feed_as(t, &late, 1, JUL_15_NOON, &why), INGEST_REJECTED);
    assert_int_equal(why, REJECT_TOKEN_EXPIRED);
    assert_int_equal(count_of(t->f, "00001", "2025-07", NULL), 4);
    assert_true(agents_rejected(t->f->ag) >= 3);

    /* Uses survive a checkpoint: a collector restored from it still
     * refuses the third agent and still counts the first two. */
    uint8_t *cp;
    size_t cplen;
    char err[256];
    int64_t next;
    assert_int_equal(checkpoint_encode(t->f->reg, t->f->ing, t->f->qt, "ispeed.samples", 0, 10, JUL_15_NOON,
                                       owner0, NULL, &cp, &cplen, err, sizeof err),
                     0);
    ingest_config ic;
    ingest_config_default(&ic);
    ic.attestation = VALIDATE_ATTEST_REQUIRED;
    ic.servers = t->f->servers;
    quota_config qc;
    quota_config_default(&qc);
    quota_counts_t *qt2 = quota_counts_new(t->f->reg, &qc, err, sizeof err);
    ingest_t *ing2 = ingest_new(t->f->reg, t->f->ag, NULL, qt2, &ic, err, sizeof err);
    assert_int_equal(checkpoint_restore(t->f->reg, ing2, qt2, cp, cplen, 0, &next, NULL, NULL, err, sizeof err), 0);
    free(cp);
    ingest_t *ing1 = t->f->ing;
    quota_counts_t *qt1 = t->f->qt;
    t->f->ing = ing2;
    t->f->qt = qt2;
    assert_int_equal(feed_as(t, &a3, 2, JUL_15_NOON + 180000, &why), INGEST_REJECTED);
    assert_int_equal(why, REJECT_TOKEN_USED_UP);
    assert_int_equal(feed_as(t, &a2, 2, JUL_15_NOON + 180000, &why), INGEST_COUNTED);
    assert_int_equal(count_of(t->f, "00001", "2025-07", NULL), 5);
    t->f->ing = ing1;
    t->f->qt = qt1;
    ingest_free(ing2);
    quota_counts_free(qt2);
    tfx_free(t);
}

static void test_withdrawals_and_bounds(void **state) {
    (void)state;
    struct tfx *t = tfx_new();
    char tok[TRUST_TOKEN_MAX_CHARS + 1], err[256];
    struct agent a, rogue;
    enum reject_reason why;
    issue(&t->auth01, "01", "00001", 5, JUL_15_NOON + DAY, tok);
    enroll_token(t, &a, tok);
    new_agent(&rogue);
    assert_int_equal(feed_as(t, &a, 1, JUL_15_NOON, &why), INGEST_COUNTED);
    /* An unsigned tombstone changes nothing. */
    assert_int_equal(agents_apply(t->f->ag, a.id, strlen(a.id), NULL, 0, err, sizeof err), -1);
    assert_non_null(strstr(err, "unsigned_tombstone"));
    assert_int_equal(feed_as(t, &a, 2, JUL_15_NOON + 60000, &why), INGEST_COUNTED);
    /* A withdrawal signed with the wrong key changes nothing. */
    uint8_t msg[128], sig[64], buf[AGENTS_MAX_RECORD + 16];
    Ispeed__V1__AgentEnrollment en = ISPEED__V1__AGENT_ENROLLMENT__INIT;
    Ispeed__V1__AgentWithdrawal w = ISPEED__V1__AGENT_WITHDRAWAL__INIT;
    size_t ml = trust_withdrawal_message(a.id, JUL_15_NOON, msg, sizeof msg);
    sign_detached(rogue.sk, msg, ml, sig);
    w.agent_id = a.id;
    w.time_ms = JUL_15_NOON;
    w.signer_key.data = rogue.pk;
    w.signer_key.len = 32;
    w.signature.data = sig;
    w.signature.len = 64;
    en.agent_id = a.id;
    en.withdrawal = &w;
    size_t n = ispeed__v1__agent_enrollment__pack(&en, buf);
    assert_int_equal(agents_apply(t->f->ag, a.id, strlen(a.id), buf, n, err, sizeof err), -1);
    assert_non_null(strstr(err, "bad_withdrawal"));
    assert_int_equal(feed_as(t, &a, 3, JUL_15_NOON + 120000, &why), INGEST_COUNTED);
    /* Signed by the agent itself: honoured. */
    sign_detached(a.sk, msg, ml, sig);
    w.signer_key.data = a.pk;
    n = ispeed__v1__agent_enrollment__pack(&en, buf);
    assert_int_equal(agents_apply(t->f->ag, a.id, strlen(a.id), buf, n, err, sizeof err), 0);
    assert_int_equal(feed_as(t, &a, 4, JUL_15_NOON + 180000, &why), INGEST_REJECTED);
    assert_int_equal(why, REJECT_UNKNOWN_AGENT);
    /* Bounds: an oversized record and a long commune are refused as read. */
    memset(buf, 0, sizeof buf);
    assert_int_equal(agents_apply(t->f->ag, a.id, strlen(a.id), buf, AGENTS_MAX_RECORD + 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "oversized"));
    struct agent b;
    new_agent(&b);
    n = enrollment_with_token(&b, "0000100001000010000100001", tok, buf);
    assert_int_equal(agents_apply(t->f->ag, b.id, strlen(b.id), buf, n, err, sizeof err), -1);
    assert_non_null(strstr(err, "bad_commune"));
    /* A commune not in the registry is refused when the agent is checked. */
    n = enrollment_with_token(&b, "77777", tok, buf);
    assert_int_equal(agents_apply(t->f->ag, b.id, strlen(b.id), buf, n, err, sizeof err), 0);
    assert_null(agents_find(t->f->ag, b.id));
    assert_int_equal(count_of(t->f, "00001", "2025-07", NULL), 3);
    tfx_free(t);
}

/* One /24 with many keys cannot fill a commune: 36 attested samples a day
 * per prefix and commune, whatever the agents; exact across a checkpoint. */
static void test_prefix_cap(void **state) {
    (void)state;
    struct fx *f = fx_new(VALIDATE_ATTEST_REQUIRED, 1);
    struct agent keys[4], saved = f->a;
    enum reject_reason why;
    for (int k = 0; k < 4; k++) enroll(f->ag, &keys[k], "00001");
    for (int k = 0; k < 3; k++) {
        f->a = keys[k];
        for (uint64_t i = 0; i < 12; i++) {
            sample_spec sp = honest(1 + i, JUL_15_NOON - (int64_t)i * 60000);
            assert_int_equal(feed(f, &sp, JUL_15_NOON, &why), INGEST_COUNTED);
        }
    }
    f->a = keys[3];
    sample_spec sp = honest(1, JUL_15_NOON);
    assert_int_equal(feed(f, &sp, JUL_15_NOON, &why), INGEST_REJECTED);
    assert_int_equal(why, REJECT_PREFIX_CAP);
    assert_int_equal(count_of(f, "00001", "2025-07", NULL), 36);

    uint8_t *cp;
    size_t cplen;
    char err[256];
    int64_t next;
    assert_int_equal(checkpoint_encode(f->reg, f->ing, f->qt, "ispeed.samples", 0, 10, JUL_15_NOON, owner0, NULL, &cp,
                                       &cplen, err, sizeof err),
                     0);
    ingest_drop_partition(f->ing, 0);
    assert_int_equal(checkpoint_restore(f->reg, f->ing, f->qt, cp, cplen, 0, &next, NULL, NULL, err, sizeof err), 0);
    free(cp);
    sp = honest(2, JUL_15_NOON + 60000);
    assert_int_equal(feed(f, &sp, JUL_15_NOON, &why), INGEST_REJECTED);
    assert_int_equal(why, REJECT_PREFIX_CAP);
    /* The next day the prefix counts again. */
    sp = honest(3, JUL_15_NOON + DAY);
    assert_int_equal(feed(f, &sp, JUL_15_NOON + DAY, &why), INGEST_COUNTED);
    f->a = saved;
    fx_free(f);
}

/* validate_sig_job names the one check a sample needs (the receipt's, by
 * the server's key); its outcome, handed back as a hint, is used only when
 * reached with that key. */
static void test_sig_job_hint(void **state) {
    (void)state;
    struct fx *f = fx_new(VALIDATE_ATTEST_REQUIRED, 1);
    uint8_t buf[2048], key[32], msg[1024];
    const uint8_t *sig;
    size_t msglen, siglen;
    char detail[256];
    enum reject_reason why;
    sample_spec sp = honest(1, JUL_15_NOON);
    size_t n = make(f, &sp, buf, NULL);
    Ispeed__V1__SignedSample *ss = ispeed__v1__signed_sample__unpack(NULL, n, buf);
    assert_non_null(ss);
    validate_ctx vc = {.reg = f->reg, .agents = f->ag, .attestation = VALIDATE_ATTEST_REQUIRED, .servers = f->servers};
    assert_int_equal(validate_sig_job(&vc, ss, f->a.pk, key, msg, sizeof msg, &msglen, &sig, &siglen), 0);
    assert_memory_equal(key, f->server.pk, 32);
    assert_int_equal(sign_verify(key, msg, msglen, sig, siglen), 0);
    /* A hint that says bad, with the server's key: refused without a check. */
    sig_hint h = {.envelope = ss, .sig = SIG_BAD};
    memcpy(h.public_key, key, 32);
    assert_int_equal(ingest_sample_ex(f->ing, 0, "01", 2, buf, n, &h, JUL_15_NOON, JUL_15_NOON + DAY, &why, detail,
                                      sizeof detail),
                     INGEST_REJECTED);
    assert_int_equal(why, REJECT_BAD_RECEIPT);
    /* A "bad" hint reached with another key is ignored: verified here, counted. */
    memcpy(h.public_key, f->a.pk, 32);
    assert_int_equal(ingest_sample_ex(f->ing, 0, "01", 2, buf, n, &h, JUL_15_NOON, JUL_15_NOON + DAY, &why, detail,
                                      sizeof detail),
                     INGEST_COUNTED);
    /* Without attestation the job is the agent's own signature. */
    vc.attestation = VALIDATE_ATTEST_OFF;
    assert_int_equal(validate_sig_job(&vc, ss, f->a.pk, key, msg, sizeof msg, &msglen, &sig, &siglen), 0);
    assert_memory_equal(key, f->a.pk, 32);
    assert_int_equal(sign_verify(key, msg, msglen, sig, siglen), 0);
    ispeed__v1__signed_sample__free_unpacked(ss, NULL);
    fx_free(f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commune_binding),  cmocka_unit_test(test_zero_rate),
        cmocka_unit_test(test_cap_across_units), cmocka_unit_test(test_receipt_required),
        cmocka_unit_test(test_attested_time),    cmocka_unit_test(test_receipt_optional),
        cmocka_unit_test(test_enrollment_tokens), cmocka_unit_test(test_withdrawals_and_bounds),
        cmocka_unit_test(test_prefix_cap),        cmocka_unit_test(test_sig_job_hint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
