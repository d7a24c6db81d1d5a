/* Enum name tables (see pbnames.h). */
#include "pbnames.h"

#include <string.h>

#include "ispeed.pb-c.h"

typedef struct pbname {
    int value;
    const char *name;
} pbname;

static const pbname outcomes[] = {
    {ISPEED__V1__OUTCOME__OUTCOME_OK, "ok"},
    {ISPEED__V1__OUTCOME__OUTCOME_UNREACHABLE, "unreachable"},
    {ISPEED__V1__OUTCOME__OUTCOME_REFUSED, "refused"},
    {ISPEED__V1__OUTCOME__OUTCOME_HTTP_ERROR, "http_error"},
    {ISPEED__V1__OUTCOME__OUTCOME_CLOSED, "closed"},
    {ISPEED__V1__OUTCOME__OUTCOME_STALLED, "stalled"},
    {ISPEED__V1__OUTCOME__OUTCOME_PROTOCOL_ERROR, "protocol_error"},
    {ISPEED__V1__OUTCOME__OUTCOME_TIMEOUT, "timeout"},
    {ISPEED__V1__OUTCOME__OUTCOME_INTERNAL, "internal"},
    {0, NULL},
};

static const pbname accesses[] = {
    {ISPEED__V1__ACCESS_TYPE__ACCESS_FIXED, "fixed"},
    {ISPEED__V1__ACCESS_TYPE__ACCESS_WIFI, "wifi"},
    {ISPEED__V1__ACCESS_TYPE__ACCESS_MOBILE_4G, "4g"},
    {ISPEED__V1__ACCESS_TYPE__ACCESS_MOBILE_5G, "5g"},
    {0, NULL},
};

static const pbname networks[] = {
    {ISPEED__V1__NETWORK__NETWORK_FIXED, "fixed"},
    {ISPEED__V1__NETWORK__NETWORK_MOBILE, "mobile"},
    {0, NULL},
};

static const pbname levels[] = {
    {ISPEED__V1__LEVEL__LEVEL_PROVINCE, "province"},
    {ISPEED__V1__LEVEL__LEVEL_DISTRICT, "district"},
    {ISPEED__V1__LEVEL__LEVEL_COMMUNE, "commune"},
    {0, NULL},
};

static const pbname states[] = {
    {ISPEED__V1__QUOTA_STATE__QUOTA_STATE_ON_TRACK, "ON_TRACK"},
    {ISPEED__V1__QUOTA_STATE__QUOTA_STATE_BEHIND, "BEHIND"},
    {ISPEED__V1__QUOTA_STATE__QUOTA_STATE_MET, "MET"},
    {0, NULL},
};

static const char *name_of(const pbname *t, int v) {
    for (; t->name; t++)
        if (t->value == v) return t->name;
    return PBNAMES_UNKNOWN;
}

static int parse(const pbname *t, const char *s, int *out) {
    for (; s && t->name; t++) {
        if (strcmp(t->name, s) == 0) {
            *out = t->value;
            return 0;
        }
    }
    return -1;
}

const char *pbnames_outcome(int v) { return name_of(outcomes, v); }
const char *pbnames_access(int v) { return name_of(accesses, v); }
const char *pbnames_network(int v) { return name_of(networks, v); }
const char *pbnames_level(int v) { return name_of(levels, v); }
const char *pbnames_quota_state(int v) { return name_of(states, v); }

int pbnames_parse_outcome(const char *s, int *out) { return parse(outcomes, s, out); }
int pbnames_parse_access(const char *s, int *out) { return parse(accesses, s, out); }
int pbnames_parse_network(const char *s, int *out) { return parse(networks, s, out); }
int pbnames_parse_level(const char *s, int *out) { return parse(levels, s, out); }
int pbnames_parse_quota_state(const char *s, int *out) { return parse(states, s, out); }

int pbnames_access_network(int access) {
    switch (access) {
    case ISPEED__V1__ACCESS_TYPE__ACCESS_FIXED:
    case ISPEED__V1__ACCESS_TYPE__ACCESS_WIFI: return ISPEED__V1__NETWORK__NETWORK_FIXED;
    case ISPEED__V1__ACCESS_TYPE__ACCESS_MOBILE_4G:
    case ISPEED__V1__ACCESS_TYPE__ACCESS_MOBILE_5G: return ISPEED__V1__NETWORK__NETWORK_MOBILE;
    default: return ISPEED__V1__NETWORK__NETWORK_UNSPECIFIED;
    }
}
