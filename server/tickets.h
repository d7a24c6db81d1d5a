/* Test tickets and the receipts that attest them (SPEC: Trust). An agent
 * asks for a ticket (a random nonce bound to its public key and address
 * prefix), names it on every connection of its test, and then asks for a
 * receipt of what this server itself saw: its own first and last byte
 * times and the bytes it sent and received under the ticket. The table is
 * shared by the worker threads (one mutex: a handful of operations per
 * request, none per byte) and bounded: full, the oldest ticket goes. */
#ifndef ISPEED_SERVER_TICKETS_H
#define ISPEED_SERVER_TICKETS_H

#include <stddef.h>
#include <stdint.h>

#include "sign.h"
#include "trust.h"

#define TICKETS_MAX_SAMPLE 4096 /* a SignedSample posted for a receipt; ~300 bytes in practice */

typedef struct tickets tickets_t;

/* sk is the server's key; max bounds the table; ttl_ms is how long a ticket
 * lives from issue (test plus receipt). */
tickets_t *tickets_new(const uint8_t sk[SIGN_SECRET_BYTES], size_t max, int64_t ttl_ms, char *err, size_t errsz);
void tickets_free(tickets_t *t);
/* The server's id (sign_agent_id of its key), for servers.csv. */
const char *tickets_server_id(const tickets_t *t);

/* A new ticket for agent_hex (64 hex digits) seen from client_ip; its nonce
 * in hex into out (33 bytes). 0, or -1 with a message for the client. */
int tickets_issue(tickets_t *t, const char *agent_hex, const char *client_ip, int64_t now_ms, char *out,
                  char *err, size_t errsz);
/* The ticket named by "ticket=<hex>" in a query string, into nonce; -1 if
 * the query names none (or a malformed one). */
int tickets_from_query(const char *query, uint8_t nonce[TRUST_NONCE_BYTES]);
/* Adds what one connection moved under a ticket between start_ms and
 * end_ms (the server's clock). Ignored for an unknown, expired or already
 * receipted ticket, or a client outside the ticket's prefix. *slot is the
 * caller's hint of where the ticket is (any value at first), so that the
 * connection's repeated calls find it without a scan. */
void tickets_account(tickets_t *t, const uint8_t nonce[TRUST_NONCE_BYTES], size_t *slot, const char *client_ip,
                     int64_t start_ms, int64_t end_ms, uint64_t sent, uint64_t received);
/* Verifies the agent's signature over the posted SignedSample, then signs
 * a receipt for the ticket covering the sample's digest; the ticket is
 * spent. out gets a serialised SignedReceipt. 0, or -1 with a message. */
int tickets_receipt(tickets_t *t, const uint8_t nonce[TRUST_NONCE_BYTES], const char *client_ip,
                    const uint8_t *signed_sample, size_t len, int64_t now_ms, uint8_t *out, size_t outsz,
                    size_t *outlen, char *err, size_t errsz);
size_t tickets_count(tickets_t *t);

#endif
