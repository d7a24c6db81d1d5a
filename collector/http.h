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

#endif
