/* The collector's small HTTP endpoint on the main event_base: /metrics
 * (Prometheus text) and /healthz. */
#ifndef ISPEED_COLLECTOR_HTTP_H
#define ISPEED_COLLECTOR_HTTP_H

#include <event2/event.h>
#include <stddef.h>

#include "metrics.h"

typedef struct http_server http_server_t;

/* addr is "HOST:PORT" (HOST may be empty for all addresses, or [v6]). */
http_server_t *http_server_new(struct event_base *base, const char *addr, const metrics_t *m, char *err,
                               size_t errsz);
void http_server_free(http_server_t *hs);

/* /v1/quota?province=P&month=M: fn appends the JSON body to out and returns
 * an HTTP status (200, 400 bad query, 404 province not served here). month
 * may be NULL (the current month). */
struct evbuffer;
typedef int (*http_quota_fn)(const char *province, const char *month, struct evbuffer *out, void *ctx);
void http_server_set_quota(http_server_t *hs, http_quota_fn fn, void *ctx);

#endif
