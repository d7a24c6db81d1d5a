/* Agent enrollments as they go on the agents topic, for the collector's unit
 * tests (test_quota.c, test_checkpoint.c). */
#ifndef ISPEED_TESTS_ENROLLMENT_FIXTURE_H
#define ISPEED_TESTS_ENROLLMENT_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "ispeed.pb-c.h"
#include "sign.h"

#define FIXTURE_ENROLLMENT_MAX 512

/* The enrollment of the agent with key pair (pk, sk), naming agent id
 * named_id and claiming commune claims, with a signature made for commune
 * signed_for and the id derived from pk (a lie when they differ). Returns
 * its length in buf. */
static inline size_t fixture_enrollment(const uint8_t pk[SIGN_PUBLIC_BYTES], const uint8_t sk[SIGN_SECRET_BYTES],
                                        const char *named_id, const char *signed_for, const char *claims,
                                        uint8_t buf[FIXTURE_ENROLLMENT_MAX]) {
    Ispeed__V1__AgentEnrollment en = ISPEED__V1__AGENT_ENROLLMENT__INIT;
    uint8_t msg[256], sig[SIGN_SIGNATURE_BYTES];
    char id[SIGN_AGENT_ID_CHARS + 1];
    sign_agent_id(pk, id);
    size_t ml = sign_enrollment_message(pk, id, signed_for, msg, sizeof msg);
    sign_detached(sk, msg, ml, sig);
    en.agent_id = (char *)named_id;
    en.public_key.data = (uint8_t *)pk;
    en.public_key.len = SIGN_PUBLIC_BYTES;
    en.commune = (char *)claims;
    en.signature.data = sig;
    en.signature.len = sizeof sig;
    return ispeed__v1__agent_enrollment__pack(&en, buf);
}

#endif
