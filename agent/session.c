/* The reporting side of the agent, shared by its commands. */
#include "session.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ispeed.pb-c.h"
#include "log.h"
#include "vntime.h"

/* "2025-07" from a registry file name such as vn-units-2025-07.csv, so the
 * collector knows which structure a code was chosen from. */
static void registry_version_of(const char *path, char out[8]) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    out[0] = '\0';
    for (const char *p = base; strlen(p) >= 7; p++) {
        int ok = p[4] == '-';
        for (int i = 0; i < 7 && ok; i++)
            if (i != 4 && (p[i] < '0' || p[i] > '9')) ok = 0;
        if (ok) {
            memcpy(out, p, 7);
            out[7] = '\0';
            return;
        }
    }
}

static void on_enrollment_delivered(const char *topic, const char *key, void *arg) {
    session *s = arg;
    char err[256];
    (void)topic;
    (void)key;
    if (identity_mark_enrolled(s->id, s->ctx.commune->code, err, sizeof err) < 0) {
        log_error("agent", "%s", err);
        return;
    }
    snprintf(s->state.enrolled_commune, sizeof s->state.enrolled_commune, "%s", s->ctx.commune->code);
    log_info("agent", "enrollment delivered agent=%s commune=%s", identity_agent_id(s->id), s->ctx.commune->code);
}

/* Finds the configured commune and keeps a copy of it and its province. */
static int keep_commune(session *s, const agent_config *cfg, char *err, size_t errsz) {
    char why[512];
    registry_t *reg = registry_load_branch(cfg->units, cfg->commune, why, sizeof why);
    if (!reg && strncmp(why, "unknown unit code", 17) != 0) {
        snprintf(err, errsz, "%s", why);
        return -1;
    }
    const registry_unit *u = reg ? registry_find(reg, cfg->commune) : NULL;
    if (!u || u->level != REGISTRY_COMMUNE) {
        snprintf(err, errsz, "unknown commune code '%s' in %s; give the 5-digit GSO code of a commune", cfg->commune,
                 cfg->units);
        registry_free(reg);
        return -1;
    }
    const registry_unit *p = u->province;
    const char *parts[] = {u->code, u->name, u->type, p->code, p->name, p->type};
    size_t total = 0;
    for (size_t i = 0; i < 6; i++) total += strlen(parts[i]) + 1;
    char *buf = malloc(total), *at = buf;
    if (!buf) {
        registry_free(reg);
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    const char *copies[6];
    for (size_t i = 0; i < 6; i++) {
        size_t n = strlen(parts[i]) + 1;
        memcpy(at, parts[i], n);
        copies[i] = at;
        at += n;
    }
    s->strings = buf;
    s->province = (registry_unit){.code = copies[3], .name = copies[4], .type = copies[5],
                                  .level = REGISTRY_PROVINCE, .province = &s->province};
    s->commune = (registry_unit){.code = copies[0], .name = copies[1], .type = copies[2],
                                 .level = REGISTRY_COMMUNE, .parent = &s->province, .province = &s->province};
    registry_free(reg);
    return 0;
}

int session_open(session *s, const agent_config *cfg, int message_timeout_ms, char *err, size_t errsz) {
    memset(s, 0, sizeof *s);
    s->cfg = cfg;
    if (!cfg->commune || !*cfg->commune) {
        snprintf(err, errsz, "no commune configured; set commune in [agent] of the configuration or give --commune CODE");
        return -1;
    }
    if (!cfg->bootstrap || !*cfg->bootstrap) {
        snprintf(err, errsz, "no Kafka bootstrap list configured; set bootstrap in [kafka] or give -b BOOTSTRAP");
        return -1;
    }
    if (keep_commune(s, cfg, err, errsz) < 0) goto fail;
    registry_version_of(cfg->units, s->registry_version);
    if (!(s->id = identity_open(cfg->state_dir, IDENTITY_CREATE | IDENTITY_EXCLUSIVE, err, errsz))) goto fail;
    s->ctx.id = s->id;
    s->ctx.commune = &s->commune;
    s->ctx.registry_version = s->registry_version;
    s->ctx.operator_name = cfg->operator_name;
    if (cfg->access && *cfg->access) {
        if (netclass_parse_access(cfg->access, &s->ctx.net) < 0) {
            snprintf(err, errsz, "access must be fixed, wifi, 4g or 5g, not '%s'", cfg->access);
            goto fail;
        }
    } else {
        netclass_detect("/proc/net/route", &s->ctx.net);
    }
    if (agentstate_load(cfg->state_dir, &s->state, err, errsz) < 0) goto fail;
    snprintf(s->state.enrolled_commune, sizeof s->state.enrolled_commune, "%s", identity_enrolled_commune(s->id));
    s->budget_cap = budget_cap(cfg->monthly_bytes, (int)cfg->budget_unlimited,
                               s->ctx.net.network == ISPEED__V1__NETWORK__NETWORK_MOBILE);
    s->state.budget_cap = s->budget_cap;
    budget_roll(&s->state.data, vntime_now_ms());
    s->evicted_base = s->state.spool_evicted;
    s->damaged_base = s->state.spool_damaged;
    outbox_opts oo = {.state_dir = cfg->state_dir, .spool_max_bytes = cfg->spool_max_bytes,
                      .bootstrap = cfg->bootstrap, .props = &cfg->kafka, .topic_prefix = cfg->topic_prefix,
                      .message_timeout_ms = message_timeout_ms};
    if (!(s->outbox = outbox_open(&oo, on_enrollment_delivered, s, err, errsz))) goto fail;
    return 0;
fail:
    session_close(s);
    return -1;
}

void session_close(session *s) {
    outbox_close(s->outbox);
    identity_close(s->id);
    free(s->strings);
    memset(s, 0, sizeof *s);
}

int session_enroll(session *s, int force, char *err, size_t errsz) {
    uint8_t *buf = NULL;
    size_t len;
    const char *agent_id = identity_agent_id(s->id);
    if (!force && (identity_is_enrolled(s->id, s->ctx.commune->code) || outbox_has_pending(s->outbox, "agents", agent_id)))
        return 0;
    if (record_enrollment(&s->ctx, s->cfg->token, vntime_now_ms(), &buf, &len, err, errsz) < 0) return -1;
    int rc = outbox_put(s->outbox, "agents", agent_id, buf, len, err, errsz);
    free(buf);
    return rc;
}

const char *const *session_get_tickets(session *s) {
    char err[256];
    for (size_t i = 0; i < SESSION_MAX_SERVERS; i++) {
        s->tickets[i][0] = '\0';
        s->ticket_ptrs[i] = s->tickets[i];
    }
    for (size_t i = 0; i < s->cfg->nservers && i < SESSION_MAX_SERVERS; i++)
        if (attest_ticket(s->cfg->servers[i], identity_public_key(s->id), s->tickets[i], err, sizeof err) < 0)
            log_info("agent", "test unattested server=%s why=\"%s\"", s->cfg->servers[i], err);
    return s->ticket_ptrs;
}

/* The ticket given for the server r was measured against, or NULL. */
static const char *result_ticket(const session *s, const measure_result *r) {
    for (size_t i = 0; i < s->cfg->nservers && i < SESSION_MAX_SERVERS; i++)
        if (strcmp(s->cfg->servers[i], r->server) == 0 && s->tickets[i][0]) return s->tickets[i];
    return NULL;
}

int session_put_result(session *s, const measure_result *r, uint64_t *seq, char *err, size_t errsz) {
    uint8_t *buf = NULL;
    size_t len;
    if (identity_next_seq(s->id, seq, err, errsz) < 0) return -1;
    if (record_signed_sample(&s->ctx, r, *seq, &buf, &len, err, errsz) < 0) return -1;
    const char *ticket = result_ticket(s, r);
    if (ticket && r->outcome == ISPEED__V1__OUTCOME__OUTCOME_OK) {
        uint8_t *attested = NULL;
        size_t alen = 0;
        char why[256];
        /* Without a receipt the sample still goes: a collector with
         * --attestation optional counts it apart, and its record is kept. */
        if (attest_receipt(r->server, ticket, buf, len, &attested, &alen, why, sizeof why) == 0) {
            free(buf);
            buf = attested;
            len = alen;
        } else {
            log_warn("agent", "no receipt, sample unattested seq=%" PRIu64 " server=%s why=\"%s\"", *seq, r->server,
                     why);
        }
    }
    for (size_t i = 0; i < SESSION_MAX_SERVERS; i++) s->tickets[i][0] = '\0';
    int rc = outbox_put(s->outbox, "samples", s->ctx.commune->province->code, buf, len, err, errsz);
    free(buf);
    budget_roll(&s->state.data, r->start_ms ? r->start_ms : vntime_now_ms());
    s->state.data.used += r->bytes_down + r->bytes_up;
    s->state.last_test_ms = r->start_ms;
    s->state.last_test_bytes = r->bytes_down + r->bytes_up;
    snprintf(s->state.last_outcome, sizeof s->state.last_outcome, "%s", measure_outcome_name(r->outcome));
    return rc;
}

typedef struct oldest_sample {
    int64_t start_ms;
} oldest_sample;

static int find_oldest_sample(const spool_record *rec, void *arg) {
    oldest_sample *o = arg;
    if (strcmp(rec->topic, "samples") != 0) return 0;
    Ispeed__V1__SignedSample *ss = ispeed__v1__signed_sample__unpack(NULL, rec->len, rec->value);
    if (!ss) return 0;
    Ispeed__V1__Sample *smp = ispeed__v1__sample__unpack(NULL, ss->sample.len, ss->sample.data);
    if (smp) {
        o->start_ms = smp->start_ms;
        ispeed__v1__sample__free_unpacked(smp, NULL);
    }
    ispeed__v1__signed_sample__free_unpacked(ss, NULL);
    return smp != NULL;
}

int session_save_state(session *s) {
    char err[256];
    spool_stats st;
    int64_t last_delivery;
    outbox_stats(s->outbox, &st, &last_delivery);
    if (last_delivery) s->state.last_delivery_ms = last_delivery;
    /* The spool counts evictions and damage since it was opened; the file
     * keeps the sum over the agent's life. */
    s->state.spool_evicted = s->evicted_base + st.evicted;
    s->state.spool_damaged = s->damaged_base + st.damaged;
    s->state.spool_pending = st.pending;
    s->state.spool_bytes = st.bytes;
    oldest_sample o = {0};
    if (st.pending) spool_foreach_pending(outbox_spool(s->outbox), 0, find_oldest_sample, &o, err, sizeof err);
    s->state.spool_oldest_ms = o.start_ms;
    if (agentstate_save(s->cfg->state_dir, &s->state, err, sizeof err) < 0) {
        if (!s->save_failing) log_warn("agent", "%s", err);
        s->save_failing = 1;
        return -1;
    }
    s->save_failing = 0;
    return 0;
}
