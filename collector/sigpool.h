/* Ed25519 verification of a batch of signatures on a few threads. The batch
 * is synchronous: sigpool_verify returns when every job has its result, so
 * whatever the caller does next happens in the same order as before. */
#ifndef ISPEED_COLLECTOR_SIGPOOL_H
#define ISPEED_COLLECTOR_SIGPOOL_H

#include <stddef.h>
#include <stdint.h>

typedef struct sigpool sigpool_t;

/* One signature to check; the pointers must stay valid until the call returns. */
typedef struct sigpool_job {
    const uint8_t *public_key; /* SIGN_PUBLIC_BYTES */
    const void *msg;
    size_t len;
    const uint8_t *sig;
    size_t siglen;
} sigpool_job;

#define SIGPOOL_MAX_THREADS 64

/* nthreads counts the caller's thread: 0 or 1 verifies inline with no
 * thread, N starts N - 1 workers. NULL with the reason in err on failure. */
sigpool_t *sigpool_new(unsigned nthreads, char *err, size_t errsz);
/* Stops and joins the workers; accepts NULL. Not during a sigpool_verify. */
void sigpool_free(sigpool_t *sp);
/* Threads that verify, the caller's included (1 when inline). */
unsigned sigpool_threads(const sigpool_t *sp);

/* results[i] = sign_verify(jobs[i]...): 0 valid, -1 not. The caller's thread
 * verifies too; one caller at a time. */
void sigpool_verify(sigpool_t *sp, const sigpool_job *jobs, size_t n, int *results);

#endif
