/* The collector's small HTTP endpoint on the main event_base: /metrics
 * (Prometheus text) and /healthz. */
#ifndef ISPEED_COLLECTOR_HTTP_H
#define ISPEED_COLLECTOR_HTTP_H

#include <event2/event.h>
#include <stddef.h>

#include "metrics.h"

typedef struct collector_http collector_http_t;

/* addr is "HOST:PORT" (HOST may be empty for all addresses, or [v6]). */
collector_http_t *collector_http_new(struct event_base *base, const char *addr, const metrics_t *m, char *err,
                               size_t errsz);
void collector_http_free(collector_http_t *hs);

/* /v1/quota?province=P&month=M: fn appends the JSON body to out and returns
 * an HTTP status (200, 400 bad query, 404 province not served here). month
 * may be NULL (the current month). */
struct evbuffer;
typedef int (*collector_http_quota_fn)(const char *province, const char *month, struct evbuffer *out, void *ctx);
void collector_http_set_quota(collector_http_t *hs, collector_http_quota_fn fn, void *ctx);

#endif
