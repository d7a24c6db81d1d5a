/* Everything an agent needs to report: the commune checked against the
 * registry, its identity, the outbox (spool + producer) and its status
 * file. Shared by `test --produce`, `enroll` and the daemon. */
#ifndef ISPEED_SESSION_H
#define ISPEED_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "agentstate.h"
#include "attest.h"
#include "config.h"
#include "identity.h"
#include "measure.h"
#include "outbox.h"
#include "record.h"
#include "registry.h"

#define SESSION_MAX_SERVERS 16

typedef struct session {
    const agent_config *cfg;
    /* The agent's own commune and province, copied out of the registry,
     * which is freed once the commune is found: a volunteer's daemon
     * should not keep 10,000 units in memory to know one. */
    registry_unit commune, province;
    char *strings;        /* owns every string of the two units */
    identity_t *id;
    outbox_t *outbox;
    record_context ctx;
    agentstate state;
    uint64_t budget_cap;
    uint64_t evicted_base, damaged_base; /* from the status file at open */
    int save_failing;                    /* the last status write failed */
    char registry_version[8];
    /* The current test's tickets, one per configured server ("" where the
     * server gave none), and the pointers measure_opts.tickets wants. */
    char tickets[SESSION_MAX_SERVERS][ATTEST_TICKET_CHARS + 1];
    const char *ticket_ptrs[SESSION_MAX_SERVERS];
} session;

int session_open(session *s, const agent_config *cfg, int message_timeout_ms, char *err, size_t errsz);
void session_close(session *s);

/* Spools an enrollment unless one for this commune was delivered or is
 * spooled already (force: always, e.g. with a new token). */
int session_enroll(session *s, int force, char *err, size_t errsz);
/* Before a test: a ticket from every ispeed-server among the configured
 * servers (the test picks one of them). Returns measure_opts.tickets. */
const char *const *session_get_tickets(session *s);
/* Signs the result with a fresh sequence number and spools it, with the
 * receipt of the server it was measured against when that server gave a
 * ticket and the test is ok; counts its bytes against the budget. */
int session_put_result(session *s, const measure_result *r, uint64_t *seq, char *err, size_t errsz);
/* Refreshes spool figures in the status file and writes it; -1 if the
 * write failed (said once in the log until a write succeeds again). */
int session_save_state(session *s);

#endif
