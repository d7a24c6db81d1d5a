/* The dashboard's HTTP side on libevent's evhttp: the pages and their
 * assets (built in), the JSON of /api/..., Server-Sent Events that tell
 * open pages which province changed, /metrics. Read-only: GET and HEAD. */
#ifndef ISPEED_CTL_DASH_HTTP_H
#define ISPEED_CTL_DASH_HTTP_H

#include <event2/event.h>
#include <stddef.h>

#include "dash_state.h"

typedef struct dash_http dash_http_t;

/* Listens on listen ("ADDR:PORT"; IPv6 as [::1]:PORT). */
dash_http_t *dash_http_new(struct event_base *base, const char *listen, dash_state_t *ds, char *err, size_t errsz);
/* Ends the event streams and closes the listener; accepts NULL. */
void dash_http_free(dash_http_t *h);
/* Tells the open event streams that provinces changed (alerts: an alert
 * came); a stream opened for one province hears only of that one. */
void dash_http_notify(dash_http_t *h, const char *const *provinces, size_t n, int alerts);
size_t dash_http_clients(const dash_http_t *h);

#endif
