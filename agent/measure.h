/* One speed test against an ispeed-server or a LibreSpeed backend, on the
 * caller's event_base: idle pings, download, upload, latency under load.
 *
 * Server URLs are http://host[:port][/prefix][#librespeed] (port 80 by
 * default, [v6] literals allowed; no https). A URL is a LibreSpeed backend
 * when it ends in "#librespeed", when its path contains ".php" (the file's
 * directory is the backend: .../backend/empty.php means .../backend), when
 * its path ends in a "backend" directory (/backend or /backend/, the layout
 * of LibreSpeed's own servers), or when it contains "librespeed"; the test
 * then uses prefix/empty.php (ping, and upload by POST), prefix/garbage.php
 * ?ckSize=N (download, N MiB) and a cache-busting r= parameter. Any other
 * URL is an ispeed-server, with prefix/ispeed/v1/{ping,download?bytes=N,
 * upload}: "http://h:8080" and "http://h/speed" (behind a proxy) both work.
 *
 * The method:
 * - With several servers, each gets 3 pings (all at once, 8 s bound) and
 *   the lowest median wins; if none answers, the first one's failure is
 *   the outcome.
 * - Idle latency: `pings` HTTP pings, back to back, on one kept-alive
 *   connection before any load; each RTT runs from the request's last byte
 *   handed to the kernel to the response complete (no connection set-up in
 *   it). min, median, and jitter = mean |difference| of consecutive RTTs.
 * - Download, then upload: `streams` TCP connections, each a long HTTP
 *   transfer (256 MiB for ispeed, 100 MiB / 20 MiB for LibreSpeed) started
 *   again when it ends. Download bytes count as the application reads them;
 *   upload bytes when the server acknowledged them (written minus SIOCOUTQ,
 *   plus what it selectively acknowledged, so the megabytes a send buffer
 *   swallows at once are not counted as moved; see http_client.c). Bytes
 *   are sampled every 100 ms.
 * - Ramp-up: the one-second rate is "stable" when its values taken every
 *   0.5 s over a span all lie within ±10% of their mean. Ramp-up ends at the
 *   first sample at or after 2 s where the rate has been stable for 1 s, and
 *   at the latest at half the duration (a link that never settles keeps its
 *   second half). Goodput = bytes / time over the window after ramp-up.
 * - A direction stops at duration_s, at its share of max_bytes (half for
 *   the download, the rest for the upload), or early once it has kept 3 s
 *   and 4 MiB and the rate has been stable for the last 3 s (slower links
 *   run the whole duration: a short window there is noisy, and cheap to
 *   lengthen).
 * - Latency under load: a ping every 250 ms on its own connection while a
 *   direction runs; the median of those sent after its first second.
 * - Faults end the test with outcome and outcome_detail set: refused;
 *   unreachable (no name, no route, no connection within 5 s); HTTP 4xx/5xx;
 *   closed mid-response; stalled (no byte moving on a connection for 5 s, or
 *   nothing moved in a direction's measuring window); protocol error
 *   (garbage status line, header over 16 KiB, bad framing); timeout (each
 *   phase has a bound, and the whole test 2 * duration + 33 s). */
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
    /* Test tickets, one per server (NULL, or "" for none): an ispeed-server
     * counts the bytes of requests naming its ticket towards a receipt. */
    const char *const *tickets;
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
