/* A small pthread pool for signature checks: ~60 us of Ed25519 per sample
 * is what bounded the collector on one thread, and the checks of a batch are
 * independent of each other and of the collector's state. */
#include "sigpool.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sign.h"

/* Jobs claimed at a time: a claim costs one atomic add against ~60 us per
 * job, and the batch ends when the last claimed chunk is done, so small. */
#define CHUNK 4

struct sigpool {
    pthread_mutex_t mu;
    pthread_cond_t work_cv; /* workers: a new batch (or stop) */
    pthread_cond_t done_cv; /* caller: the last worker left the batch */
    pthread_t *threads;
    unsigned nworkers;      /* threads started, the caller's not included */

    /* The current batch. Written under mu before the broadcast and read by
     * workers after they took mu, so they see it whole. */
    const sigpool_job *jobs;
    int *results;
    size_t n;
    atomic_size_t next;     /* first job not yet claimed */
    unsigned long gen;      /* batch number: a worker looks at each batch once */
    int open;               /* workers may still join the current batch */
    unsigned busy;          /* workers that joined it and are not done */
    int stop;

    /* What the checks cost, on the threads that ran them: their CPU time,
     * not the wall clock, so a thread the scheduler left waiting does not
     * count. bench/collector.sh sets it against ispeed-verify-rate's. */
    atomic_uint_fast64_t checked, cpu_ns;
};

static uint64_t thread_cpu_ns(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void verify_range(sigpool_t *sp, const sigpool_job *jobs, int *results, size_t from, size_t to) {
    uint64_t t0 = thread_cpu_ns();
    for (size_t i = from; i < to; i++)
        results[i] = sign_verify(jobs[i].public_key, jobs[i].msg, jobs[i].len, jobs[i].sig, jobs[i].siglen);
    uint64_t t1 = thread_cpu_ns();
    atomic_fetch_add_explicit(&sp->checked, to - from, memory_order_relaxed);
    if (t1 > t0) atomic_fetch_add_explicit(&sp->cpu_ns, t1 - t0, memory_order_relaxed);
}

/* Claims chunks until the batch is exhausted; run by the caller and workers alike. */
static void work(sigpool_t *sp, const sigpool_job *jobs, int *results, size_t n) {
    for (;;) {
        size_t from = atomic_fetch_add_explicit(&sp->next, CHUNK, memory_order_relaxed);
        if (from >= n) return;
        verify_range(sp, jobs, results, from, from + CHUNK < n ? from + CHUNK : n);
    }
}

static void *worker(void *arg) {
    sigpool_t *sp = arg;
    unsigned long seen = 0;
    pthread_mutex_lock(&sp->mu);
    for (;;) {
        while (!sp->stop && sp->gen == seen) pthread_cond_wait(&sp->work_cv, &sp->mu);
        if (sp->stop) break;
        seen = sp->gen;
        /* A worker woken after the caller ran out of jobs stays out: the
         * caller then need not wait for a thread the scheduler left behind. */
        if (!sp->open) continue;
        sp->busy++;
        const sigpool_job *jobs = sp->jobs;
        int *results = sp->results;
        size_t n = sp->n;
        pthread_mutex_unlock(&sp->mu);
        work(sp, jobs, results, n);
        pthread_mutex_lock(&sp->mu);
        /* The caller returns (and may reuse jobs and results) only once every
         * worker that joined has left, not merely once the jobs are claimed. */
        if (--sp->busy == 0 && !sp->open) pthread_cond_signal(&sp->done_cv);
    }
    pthread_mutex_unlock(&sp->mu);
    return NULL;
}

sigpool_t *sigpool_new(unsigned nthreads, char *err, size_t errsz) {
    sigpool_t *sp;
    sigset_t all, old;
    int e;
    if (nthreads > SIGPOOL_MAX_THREADS) {
        snprintf(err, errsz, "%u verify threads: at most %d", nthreads, SIGPOOL_MAX_THREADS);
        return NULL;
    }
    if (!(sp = calloc(1, sizeof *sp))) goto oom;
    atomic_init(&sp->next, 0);
    atomic_init(&sp->checked, 0);
    atomic_init(&sp->cpu_ns, 0);
    if (nthreads <= 1) return sp; /* inline: no lock, no thread is ever used */
    if (!(sp->threads = calloc(nthreads - 1, sizeof *sp->threads))) {
        free(sp);
        goto oom;
    }
    pthread_mutex_init(&sp->mu, NULL);
    pthread_cond_init(&sp->work_cv, NULL);
    pthread_cond_init(&sp->done_cv, NULL);
    /* Signals belong to the event loop's thread (libevent's signal events,
     * the shutdown watchdog): workers start with every signal blocked. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (e = 0; sp->nworkers < nthreads - 1; sp->nworkers++)
        if ((e = pthread_create(&sp->threads[sp->nworkers], NULL, worker, sp)) != 0) break;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0) {
        snprintf(err, errsz, "cannot start verify thread %u of %u: %s", sp->nworkers + 1, nthreads - 1, strerror(e));
        sigpool_free(sp);
        return NULL;
    }
    return sp;
oom:
    snprintf(err, errsz, "out of memory");
    return NULL;
}

void sigpool_free(sigpool_t *sp) {
    if (!sp) return;
    if (sp->threads) {
        sigpool_wait(sp);
        pthread_mutex_lock(&sp->mu);
        sp->stop = 1;
        pthread_cond_broadcast(&sp->work_cv);
        pthread_mutex_unlock(&sp->mu);
        for (unsigned i = 0; i < sp->nworkers; i++) pthread_join(sp->threads[i], NULL);
        pthread_cond_destroy(&sp->done_cv);
        pthread_cond_destroy(&sp->work_cv);
        pthread_mutex_destroy(&sp->mu);
        free(sp->threads);
    }
    free(sp);
}

unsigned sigpool_threads(const sigpool_t *sp) { return sp->nworkers + 1; }

void sigpool_stats(sigpool_t *sp, uint64_t *checked, uint64_t *cpu_ns) {
    *checked = atomic_load_explicit(&sp->checked, memory_order_relaxed);
    *cpu_ns = atomic_load_explicit(&sp->cpu_ns, memory_order_relaxed);
}

void sigpool_submit(sigpool_t *sp, const sigpool_job *jobs, size_t n, int *results) {
    /* Waking the workers costs more than a single check. */
    if (sp->nworkers == 0 || n < 2) {
        verify_range(sp, jobs, results, 0, n);
        return;
    }
    pthread_mutex_lock(&sp->mu);
    sp->jobs = jobs;
    sp->results = results;
    sp->n = n;
    atomic_store_explicit(&sp->next, 0, memory_order_relaxed);
    sp->open = 1;
    sp->gen++;
    pthread_cond_broadcast(&sp->work_cv);
    pthread_mutex_unlock(&sp->mu);
}

void sigpool_wait(sigpool_t *sp) {
    if (sp->nworkers == 0) return;
    pthread_mutex_lock(&sp->mu);
    const sigpool_job *jobs = sp->jobs;
    int *results = sp->results;
    size_t n = sp->n;
    pthread_mutex_unlock(&sp->mu);
    if (!jobs) return;

    work(sp, jobs, results, n);

    /* Every job is claimed: close the batch, then wait for the workers in
     * it. Taking mu after the last one's decrement also makes its results
     * visible to this thread. */
    pthread_mutex_lock(&sp->mu);
    sp->open = 0;
    while (sp->busy > 0) pthread_cond_wait(&sp->done_cv, &sp->mu);
    sp->jobs = NULL;
    sp->results = NULL;
    sp->n = 0;
    pthread_mutex_unlock(&sp->mu);
}

void sigpool_verify(sigpool_t *sp, const sigpool_job *jobs, size_t n, int *results) {
    sigpool_submit(sp, jobs, n, results);
    sigpool_wait(sp);
}
