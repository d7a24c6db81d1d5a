/* Tickets and receipts (see tickets.h). */
#include "tickets.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ispeed.pb-c.h"

typedef struct ticket {
    uint8_t nonce[TRUST_NONCE_BYTES];
    uint8_t agent_pk[SIGN_PUBLIC_BYTES];
    char prefix[TRUST_PREFIX_MAX + 1];
    int64_t issued_ms, first_ms, last_ms;
    uint64_t sent, received;
    int live;
} ticket;

struct tickets {
    pthread_mutex_t mu;
    uint8_t sk[SIGN_SECRET_BYTES];
    char server_id[SIGN_AGENT_ID_CHARS + 1];
    int64_t ttl_ms;
    size_t max, n;
    /* A few thousand slots scanned linearly: a scan costs microseconds, and
     * it happens once per request and per closed connection, never per byte. */
    ticket *slots;
};

tickets_t *tickets_new(const uint8_t sk[SIGN_SECRET_BYTES], size_t max, int64_t ttl_ms, char *err, size_t errsz) {
    tickets_t *t = calloc(1, sizeof *t);
    if (!t || max == 0 || !(t->slots = calloc(max, sizeof *t->slots))) {
        snprintf(err, errsz, max == 0 ? "the ticket table needs at least one slot" : "out of memory");
        if (t) free(t);
        return NULL;
    }
    pthread_mutex_init(&t->mu, NULL);
    memcpy(t->sk, sk, SIGN_SECRET_BYTES);
    sign_agent_id(sk + 32, t->server_id);
    t->max = max;
    t->ttl_ms = ttl_ms;
    return t;
}

void tickets_free(tickets_t *t) {
    if (!t) return;
    sodium_memzero(t->sk, sizeof t->sk);
    pthread_mutex_destroy(&t->mu);
    free(t->slots);
    free(t);
}

const char *tickets_server_id(const tickets_t *t) { return t->server_id; }

size_t tickets_count(tickets_t *t) {
    pthread_mutex_lock(&t->mu);
    size_t n = t->n;
    pthread_mutex_unlock(&t->mu);
    return n;
}

/* Under the lock: the live, unexpired ticket with this nonce, or NULL
 * (an expired one found on the way is dropped). */
static ticket *find(tickets_t *t, const uint8_t nonce[TRUST_NONCE_BYTES], int64_t now_ms) {
    for (size_t i = 0; i < t->max; i++) {
        ticket *k = &t->slots[i];
        if (!k->live || sodium_memcmp(k->nonce, nonce, TRUST_NONCE_BYTES) != 0) continue;
        if (now_ms - k->issued_ms >= t->ttl_ms) {
            k->live = 0;
            t->n--;
            return NULL;
        }
        return k;
    }
    return NULL;
}

int tickets_issue(tickets_t *t, const char *agent_hex, const char *client_ip, int64_t now_ms, char *out,
                  char *err, size_t errsz) {
    ticket k;
    memset(&k, 0, sizeof k);
    if (!agent_hex || trust_unhex(agent_hex, k.agent_pk, SIGN_PUBLIC_BYTES) < 0) {
        snprintf(err, errsz, "agent must be the agent's public key, 64 hex digits");
        return -1;
    }
    if (trust_client_prefix(client_ip, k.prefix, sizeof k.prefix) < 0) {
        snprintf(err, errsz, "client address not understood");
        return -1;
    }
    randombytes_buf(k.nonce, sizeof k.nonce);
    k.issued_ms = now_ms;
    k.live = 1;
    pthread_mutex_lock(&t->mu);
    /* A free or expired slot; else the oldest ticket gives way, so a flood
     * of requests cannot grow the table, only shorten tickets' lives. */
    ticket *slot = NULL, *oldest = NULL;
    for (size_t i = 0; i < t->max && !slot; i++) {
        ticket *s = &t->slots[i];
        if (!s->live || now_ms - s->issued_ms >= t->ttl_ms) slot = s;
        else if (!oldest || s->issued_ms < oldest->issued_ms) oldest = s;
    }
    if (!slot) slot = oldest;
    if (!slot->live) t->n++;
    *slot = k;
    pthread_mutex_unlock(&t->mu);
    trust_hex(k.nonce, sizeof k.nonce, out);
    return 0;
}

int tickets_from_query(const char *query, uint8_t nonce[TRUST_NONCE_BYTES]) {
    static const char key[] = "ticket=";
    for (const char *p = query; p && *p;) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == sizeof key - 1 + 2 * TRUST_NONCE_BYTES && strncmp(p, key, sizeof key - 1) == 0) {
            char hex[2 * TRUST_NONCE_BYTES + 1];
            memcpy(hex, p + sizeof key - 1, 2 * TRUST_NONCE_BYTES);
            hex[2 * TRUST_NONCE_BYTES] = '\0';
            return trust_unhex(hex, nonce, TRUST_NONCE_BYTES);
        }
        p += len;
        if (*p == '&') p++;
    }
    return -1;
}

void tickets_account(tickets_t *t, const uint8_t nonce[TRUST_NONCE_BYTES], size_t *slot, const char *client_ip,
                     int64_t start_ms, int64_t end_ms, uint64_t sent, uint64_t received) {
    char prefix[TRUST_PREFIX_MAX + 1];
    if (trust_client_prefix(client_ip, prefix, sizeof prefix) < 0) return;
    pthread_mutex_lock(&t->mu);
    ticket *k = NULL;
    if (*slot < t->max && t->slots[*slot].live && end_ms - t->slots[*slot].issued_ms < t->ttl_ms &&
        sodium_memcmp(t->slots[*slot].nonce, nonce, TRUST_NONCE_BYTES) == 0)
        k = &t->slots[*slot];
    else if ((k = find(t, nonce, end_ms)))
        *slot = (size_t)(k - t->slots);
    /* Bytes from another network are not this agent's test. */
    if (k && strcmp(k->prefix, prefix) == 0) {
        if (!k->first_ms || start_ms < k->first_ms) k->first_ms = start_ms;
        if (end_ms > k->last_ms) k->last_ms = end_ms;
        k->sent += sent;
        k->received += received;
    }
    pthread_mutex_unlock(&t->mu);
}

int tickets_receipt(tickets_t *t, const uint8_t nonce[TRUST_NONCE_BYTES], const char *client_ip,
                    const uint8_t *signed_sample, size_t len, int64_t now_ms, uint8_t *out, size_t outsz,
                    size_t *outlen, char *err, size_t errsz) {
    Ispeed__V1__SignedSample *ss = NULL;
    Ispeed__V1__Sample *s = NULL;
    trust_receipt r;
    ticket k;
    char agent_id[SIGN_AGENT_ID_CHARS + 1];
    uint8_t *rec = NULL, sig[SIGN_SIGNATURE_BYTES];
    size_t rlen;
    int rc = -1;

    if (len == 0 || len > TICKETS_MAX_SAMPLE) {
        snprintf(err, errsz, "body must be a SignedSample of at most %d bytes", TICKETS_MAX_SAMPLE);
        return -1;
    }
    pthread_mutex_lock(&t->mu);
    ticket *found = find(t, nonce, now_ms);
    if (found) k = *found;
    pthread_mutex_unlock(&t->mu);
    if (!found) {
        snprintf(err, errsz, "unknown, expired or already receipted ticket");
        return -1;
    }
    memset(&r, 0, sizeof r);
    if (trust_client_prefix(client_ip, r.client_prefix, sizeof r.client_prefix) < 0 ||
        strcmp(r.client_prefix, k.prefix) != 0) {
        snprintf(err, errsz, "ticket was issued to another network");
        return -1;
    }
    if (!k.first_ms) {
        snprintf(err, errsz, "no test was seen under this ticket");
        return -1;
    }
    ss = ispeed__v1__signed_sample__unpack(NULL, len, signed_sample);
    if (!ss || ss->signature.len != SIGN_SIGNATURE_BYTES ||
        !(s = ispeed__v1__sample__unpack(NULL, ss->sample.len, ss->sample.data))) {
        snprintf(err, errsz, "body is not a SignedSample");
        goto out;
    }
    /* The one check the collector then need not repeat: this sample is
     * signed by the key the ticket was issued to. */
    sign_agent_id(k.agent_pk, agent_id);
    if (strcmp(s->agent_id, agent_id) != 0 ||
        sign_verify(k.agent_pk, ss->sample.data, ss->sample.len, ss->signature.data, ss->signature.len) != 0) {
        snprintf(err, errsz, "sample is not signed by the ticket's agent");
        goto out;
    }
    strcpy(r.server_id, t->server_id);
    memcpy(r.agent_key, k.agent_pk, SIGN_PUBLIC_BYTES);
    memcpy(r.nonce, k.nonce, TRUST_NONCE_BYTES);
    r.start_ms = k.first_ms;
    r.end_ms = k.last_ms;
    r.issued_ms = now_ms > k.last_ms ? now_ms : k.last_ms;
    r.bytes_sent = k.sent;
    r.bytes_received = k.received;
    trust_sample_digest(ss->sample.data, ss->sample.len, r.sample_digest);
    if (trust_receipt_sign(t->sk, &r, &rec, &rlen, sig, err, errsz) != TRUST_OK) goto out;
    Ispeed__V1__SignedReceipt sr = ISPEED__V1__SIGNED_RECEIPT__INIT;
    sr.receipt.data = rec;
    sr.receipt.len = rlen;
    sr.signature.data = sig;
    sr.signature.len = sizeof sig;
    *outlen = protobuf_c_message_get_packed_size(&sr.base);
    if (*outlen > outsz) {
        snprintf(err, errsz, "receipt too large");
        goto out;
    }
    protobuf_c_message_pack(&sr.base, out);
    /* Spent: a ticket yields one receipt, so one test counts once. */
    pthread_mutex_lock(&t->mu);
    found = find(t, nonce, now_ms);
    if (found) {
        found->live = 0;
        t->n--;
    }
    pthread_mutex_unlock(&t->mu);
    if (!found) {
        snprintf(err, errsz, "ticket was receipted meanwhile");
        goto out;
    }
    rc = 0;
out:
    free(rec);
    if (s) ispeed__v1__sample__free_unpacked(s, NULL);
    if (ss) ispeed__v1__signed_sample__free_unpacked(ss, NULL);
    return rc;
}
