/* The dashboard's picture of one month: the last QuotaStatus per unit and
 * class of every province read (through quota_view), the national and
 * per-province figures and daily series (through report_data), each unit's
 * count at the end of every day it was seen, and the recent alerts. Fed
 * record by record from the quota and alert topics; answers the JSON of
 * the dashboard's /api/ endpoints. No Kafka, no clock: tests feed it. */
#ifndef ISPEED_CTL_DASH_STATE_H
#define ISPEED_CTL_DASH_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "recruit_list.h"
#include "registry.h"
#include "report_lang.h"

#define DASH_NOT_FOUND -2 /* no such province or unit */

typedef struct dash_state dash_state_t;

/* month is YYYY-MM; reg (may be NULL, borrowed for the state's life) names
 * every unit, so units without a status count as 0 nationally. */
dash_state_t *dash_state_new(const char *month, const registry_t *reg, char *err, size_t errsz);
void dash_state_free(dash_state_t *ds);
/* What a volunteer gives, for the recruiting list (default
 * recruit_params_default, as "ispeedctl recruit"). */
void dash_state_set_recruit(dash_state_t *ds, const recruit_params *p);

/* One record of province's quota topic (NULL value: a tombstone). The
 * province whose picture changed is written to changed (empty if none).
 * -1 with a message if the value does not decode; the state is unchanged. */
int dash_state_put_quota(dash_state_t *ds, const char *province, const char *key, size_t keylen, const void *value,
                         size_t len, char *changed, size_t changedsz, char *err, size_t errsz);
/* One record of the alerts topic; kept among the most recent ones. */
int dash_state_put_alert(dash_state_t *ds, const void *value, size_t len, char *changed, size_t changedsz,
                         char *err, size_t errsz);

/* The JSON documents, as of now_ms (expected counts, the days shown, the
 * recruiting list; a month over at now_ms is "closed").
 * Every string that came from Kafka is JSON-escaped; numbers also come
 * written as lang writes them (the *_s fields). DASH_NOT_FOUND for an
 * unknown code; -1 when out of memory. */
int dash_state_json_national(dash_state_t *ds, enum report_lang lang, int64_t now_ms, FILE *out);
int dash_state_json_province(dash_state_t *ds, const char *code, enum report_lang lang, int64_t now_ms, FILE *out);
int dash_state_json_unit(dash_state_t *ds, const char *code, enum report_lang lang, int64_t now_ms, FILE *out);
/* The report's words in lang, for the pages. */
void dash_state_json_words(enum report_lang lang, FILE *out);

/* Records read, for the health endpoint. */
uint64_t dash_state_records(const dash_state_t *ds);

#endif
