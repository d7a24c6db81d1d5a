/* What each URL of the test endpoint answers: ispeed's /ispeed/v1/... and the
 * LibreSpeed backend's *.php, decided once a request (and its discarded
 * body) is in. The HTTP mechanics live in http.c. */
#ifndef ISPEED_SERVER_ENDPOINTS_H
#define ISPEED_SERVER_ENDPOINTS_H

#include <stddef.h>
#include <stdint.h>

#include "tickets.h"

/* Largest download one request may ask for: bigger tests make more requests. */
#define ENDPOINTS_MAX_DOWNLOAD (1ull << 30)

typedef struct endpoint_request {
    const char *method;   /* "GET", "POST", ... */
    const char *path;     /* without the query */
    const char *query;    /* after '?', "" if none */
    const char *client_ip;
    uint64_t body_bytes;  /* request body received (and discarded) */
    const uint8_t *body;  /* the body itself, kept only for a receipt request */
    size_t body_len;
    int64_t now_ms;       /* the server's clock, what receipts attest */
} endpoint_request;

typedef struct endpoint_response {
    int status;
    const char *content_type;
    int cors;               /* LibreSpeed's browser client fetches cross-origin */
    char body[1024];        /* a SignedReceipt is ~350 bytes */
    size_t body_len;
    uint64_t payload_bytes; /* random bytes streamed after body */
} endpoint_response;

typedef struct endpoints endpoints_t;

/* id is what /ispeed/v1/info reports; it must be 1..64 characters of
 * [A-Za-z0-9._:-] so it never needs escaping. */
endpoints_t *endpoints_new(const char *id, char *err, size_t errsz);
void endpoints_free(endpoints_t *ep);
/* With tickets (ispeed-server --key), /ispeed/v1/ticket and
 * /ispeed/v1/receipt attest tests; without, they answer 404. */
void endpoints_set_tickets(endpoints_t *ep, tickets_t *t);
tickets_t *endpoints_tickets(const endpoints_t *ep);
/* Whether a request's body must be kept for endpoints_handle (a receipt
 * request of at most TICKETS_MAX_SAMPLE bytes). */
int endpoints_wants_body(const endpoints_t *ep, const char *method, const char *path, uint64_t len);
void endpoints_handle(const endpoints_t *ep, const endpoint_request *req, endpoint_response *resp);

#endif
