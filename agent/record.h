/* The agent's Kafka records: a measured test as a signed Sample, and the
 * agent's AgentEnrollment, serialised with protobuf-c. */
#ifndef ISPEED_RECORD_H
#define ISPEED_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "identity.h"
#include "measure.h"
#include "netclass.h"
#include "registry.h"

typedef struct record_context {
    const identity_t *id;
    const registry_unit *commune;
    const char *registry_version;
    const char *operator_name;
    netclass net;
} record_context;

/* A SignedSample of result with sequence seq; *out is malloc'd. */
int record_signed_sample(const record_context *ctx, const measure_result *result, uint64_t seq, uint8_t **out,
                         size_t *outlen, char *err, size_t errsz);
/* An AgentEnrollment carrying its proof of possession; *out is malloc'd. */
int record_enrollment(const record_context *ctx, const char *token, int64_t now_ms, uint8_t **out, size_t *outlen,
                      char *err, size_t errsz);

/* An AgentEnrollment record that withdraws the agent: only its withdrawal
 * field set, signed by the agent's own key (an unsigned tombstone is not
 * honoured); *out is malloc'd. */
int record_withdrawal(const record_context *ctx, int64_t now_ms, uint8_t **out, size_t *outlen, char *err,
                      size_t errsz);

#endif
