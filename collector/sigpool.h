/* Ed25519 verification of a batch of signatures on a few threads. One batch
 * at a time: sigpool_submit hands it to the workers and returns, so the
 * caller can do other work meanwhile; sigpool_wait joins in and returns when
 * every job has its result. sigpool_verify is the two in one. */
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
/* Waits for a batch in flight, stops and joins the workers; accepts NULL. */
void sigpool_free(sigpool_t *sp);
/* Threads that verify, the caller's included (1 when inline). */
unsigned sigpool_threads(const sigpool_t *sp);
/* Signatures checked so far, and the CPU time (ns) the checking threads
 * spent on them. */
void sigpool_stats(sigpool_t *sp, uint64_t *checked, uint64_t *cpu_ns);

/* Starts results[i] = sign_verify(jobs[i]...): 0 valid, -1 not. jobs and
 * results must stay untouched until sigpool_wait returns. With no worker the
 * batch is verified here, before it returns. One caller, one batch: a batch
 * submitted must be waited for before the next. */
void sigpool_submit(sigpool_t *sp, const sigpool_job *jobs, size_t n, int *results);
/* Verifies what the workers have not claimed yet, then waits for them; every
 * result is then written. Returns at once when no batch is in flight. */
void sigpool_wait(sigpool_t *sp);
/* sigpool_submit then sigpool_wait. */
void sigpool_verify(sigpool_t *sp, const sigpool_job *jobs, size_t n, int *results);

#endif
