/* Attested tests (SPEC: Trust): before a test the agent asks an
 * ispeed-server for a ticket, names it on the test's downloads and uploads,
 * and after it posts the signed sample for the server's receipt, which the
 * sample then carries. LibreSpeed backends cannot attest: their samples go
 * unattested. Blocking calls with a 5 s bound per step, made between tests. */
#ifndef ISPEED_ATTEST_H
#define ISPEED_ATTEST_H

#include <stddef.h>
#include <stdint.h>

#include "sign.h"

#define ATTEST_TICKET_CHARS 32

/* GET <url>/ispeed/v1/ticket?agent=<pk hex>; -1 with a message when the
 * server gives none (a LibreSpeed backend, an older or non-attesting server). */
int attest_ticket(const char *server_url, const uint8_t pk[SIGN_PUBLIC_BYTES], char ticket[ATTEST_TICKET_CHARS + 1],
                  char *err, size_t errsz);
/* POSTs the SignedSample for the ticket's receipt; *out (malloc'd) is the
 * same SignedSample with the receipt attached. */
int attest_receipt(const char *server_url, const char *ticket, const uint8_t *signed_sample, size_t len,
                   uint8_t **out, size_t *outlen, char *err, size_t errsz);

#endif
