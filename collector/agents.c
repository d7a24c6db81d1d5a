/* Verification of enrollments and the table of known agents. */
#include "agents.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ispeed.pb-c.h"
#include "strmap.h"

struct agents {
    strmap_t *byid;
};

static void info_free(void *p) {
    agent_info *ai = p;
    if (!ai) return;
    free(ai->commune);
    free(ai);
}

agents_t *agents_new(void) {
    agents_t *ag = calloc(1, sizeof *ag);
    if (!ag) return NULL;
    if (!(ag->byid = strmap_new())) {
        free(ag);
        return NULL;
    }
    return ag;
}

void agents_free(agents_t *ag) {
    if (!ag) return;
    strmap_free(ag->byid, info_free);
    free(ag);
}

int agents_apply(agents_t *ag, const void *key, size_t keylen, const void *value, size_t len, char *err,
                 size_t errsz) {
    Ispeed__V1__AgentEnrollment *en = NULL;
    agent_info *ai = NULL;
    char id[SIGN_AGENT_ID_CHARS + 1];

    if (!value) {
        /* Tombstone on the compacted topic: the agent is withdrawn. */
        char k[SIGN_AGENT_ID_CHARS + 1];
        if (!key || keylen == 0 || keylen > SIGN_AGENT_ID_CHARS) {
            snprintf(err, errsz, "tombstone without a valid agent id key");
            return -1;
        }
        memcpy(k, key, keylen);
        k[keylen] = '\0';
        info_free(strmap_remove(ag->byid, k));
        return 0;
    }
    en = ispeed__v1__agent_enrollment__unpack(NULL, len, value);
    if (!en) {
        snprintf(err, errsz, "enrollment does not decode as AgentEnrollment");
        goto fail;
    }
    if (en->public_key.len != SIGN_PUBLIC_BYTES) {
        snprintf(err, errsz, "enrollment of agent %s has a %zu-byte public key, want %d", en->agent_id,
                 en->public_key.len, SIGN_PUBLIC_BYTES);
        goto fail;
    }
    sign_agent_id(en->public_key.data, id);
    if (strcmp(id, en->agent_id) != 0) {
        snprintf(err, errsz, "enrollment names agent %s but its key gives %s", en->agent_id, id);
        goto fail;
    }
    if (key && (keylen != strlen(id) || memcmp(key, id, keylen) != 0)) {
        snprintf(err, errsz, "enrollment of agent %s is under a different key", id);
        goto fail;
    }
    uint8_t msg[512];
    size_t mlen = sign_enrollment_message(en->public_key.data, en->agent_id, en->commune, msg, sizeof msg);
    if (mlen == 0 || sign_verify(en->public_key.data, msg, mlen, en->signature.data, en->signature.len) != 0) {
        snprintf(err, errsz, "enrollment of agent %s has a bad signature", id);
        goto fail;
    }
    if (!(ai = calloc(1, sizeof *ai)) || !(ai->commune = strdup(en->commune))) {
        snprintf(err, errsz, "out of memory");
        goto fail;
    }
    memcpy(ai->public_key, en->public_key.data, SIGN_PUBLIC_BYTES);
    void *old = NULL;
    if (strmap_put(ag->byid, id, ai, &old) < 0) {
        snprintf(err, errsz, "out of memory");
        goto fail;
    }
    info_free(old); /* a re-enrollment (same key, maybe a new commune) */
    ispeed__v1__agent_enrollment__free_unpacked(en, NULL);
    return 0;
fail:
    info_free(ai);
    if (en) ispeed__v1__agent_enrollment__free_unpacked(en, NULL);
    return -1;
}

const agent_info *agents_find(const agents_t *ag, const char *agent_id) { return strmap_get(ag->byid, agent_id); }

size_t agents_count(const agents_t *ag) { return strmap_size(ag->byid); }
