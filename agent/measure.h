/* One speed test against an ispeed-server or a LibreSpeed backend, on the
 * caller's event_base: idle pings, download, upload, latency under load. */
#ifndef ISPEED_MEASURE_H
#define ISPEED_MEASURE_H

#include <event2/event.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct measure_opts {
    const char *const *servers; /* URLs; with several, the lowest idle latency wins */
    size_t nservers;
    int duration_s;             /* per direction, default 10 */
    int streams;                /* parallel TCP streams, 1..16, default 4 */
    uint64_t max_bytes;         /* cap on the data of one test, 0 = none */
    int pings;                  /* idle pings, default 10 */
} measure_opts;

typedef struct measure_result {
    char server[256];           /* URL measured against */
    int64_t start_ms;           /* UTC Unix ms */
    uint32_t duration_ms;
    uint64_t download_bps, upload_bps;
    double latency_min_ms, latency_median_ms, jitter_ms;
    double loaded_latency_down_ms, loaded_latency_up_ms;
    uint64_t bytes_down, bytes_up;
    uint32_t streams;
    int outcome;                /* an ISPEED__V1__OUTCOME__* value of proto/ispeed.proto */
    char outcome_detail[256];   /* empty when ok */
} measure_result;

typedef struct measure measure_t;
typedef void (*measure_done_cb)(const measure_result *result, void *arg);

/* Starts a test; done is called exactly once from the loop, also on failure
 * (outcome says why). Returns NULL only on bad options, with err set. */
measure_t *measure_start(struct event_base *base, const measure_opts *opts, measure_done_cb done, void *arg,
                         char *err, size_t errsz);
/* Cancels a running test (done is not called) or frees a finished one. */
void measure_free(measure_t *m);

/* Runs one test to its end on base (dispatching it). */
int measure_run(struct event_base *base, const measure_opts *opts, measure_result *result, char *err,
                size_t errsz);

/* "ok", "unreachable", ... for an outcome value. */
const char *measure_outcome_name(int outcome);
void measure_print_json(FILE *out, const measure_result *r);
void measure_print_human(FILE *out, const measure_result *r);

#endif
