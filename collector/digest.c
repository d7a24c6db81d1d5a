/* The daily digest: once a day, from --digest-hour on (Vietnam's time), each
 * owned province's BEHIND counters go to <prefix>digest.<province>, keyed by
 * province and day, so a digest repeated after a restart (or a retry)
 * replaces the same key. */
#include <stdlib.h>

#include "collector.h"
#include "log.h"
#include "vntime.h"

struct digest_acc {
    quota_status *v;
    size_t n, cap;
    int oom; /* a counter could not be listed */
};

static void digest_add(const quota_status *st, void *ctx) {
    struct digest_acc *d = ctx;
    if (d->oom) return;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        quota_status *nv = realloc(d->v, cap * sizeof *nv);
        if (!nv) {
            d->oom = 1;
            return;
        }
        d->v = nv;
        d->cap = cap;
    }
    d->v[d->n++] = *st;
}

int digest_collect(quota_counts_t *qt, const registry_unit *province, int64_t now, quota_status **v, size_t *n) {
    struct digest_acc d = {0};
    quota_behind(qt, province, now, digest_add, &d);
    *v = d.v;
    *n = d.n;
    return d.oom ? -1 : 0;
}

void digest_maybe_send(struct collector *c, int64_t now) {
    if (c->digest_hour < 0 || !c->caught_up) return;
    int64_t t = now + VNTIME_OFFSET_MS;
    int64_t day = t / 86400000LL, hour = (t % 86400000LL) / 3600000LL;
    if (hour < c->digest_hour || day == c->last_digest_day) return;
    char dayname[20], err[256];
    int failed = 0;
    vntime_format(now, dayname);
    dayname[10] = '\0'; /* "YYYY-MM-DD" */
    for (size_t i = 0; i < registry_size(c->reg); i++) {
        const registry_unit *p = registry_unit_at(c->reg, i);
        if (p->level != REGISTRY_PROVINCE || !consumer_owns(p, c)) continue;
        quota_status *v = NULL;
        size_t n = 0;
        if (digest_collect(c->qt, p, now, &v, &n) < 0) {
            /* A digest that leaves out a BEHIND unit would tell its reader
             * the unit is fine: none is sent rather than a short one. */
            metrics_inc(c->m, M_DIGEST_FAIL_OOM);
            log_error(COMP, "digest of %s not sent: out of memory after %zu BEHIND counters; retried at the next "
                      "evaluation", p->code, n);
            failed++;
        } else if (publish_digest(c->pb, p, dayname, v, n, now, err, sizeof err) < 0) {
            metrics_inc(c->m, M_DIGEST_FAIL_PRODUCE);
            log_error(COMP, "digest of %s not sent: %s; retried at the next evaluation", p->code, err);
            failed++;
        } else {
            log_info(COMP, "digest sent province=%s day=%s behind=%zu", p->code, dayname, n);
        }
        free(v);
    }
    /* The day is done only when every province's digest went out; a retry
     * sends them all again, under the same keys. */
    if (!failed) c->last_digest_day = day;
}
