/* Spool-then-send with acknowledgement by delivery report. */
#include "outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliver.h"
#include "log.h"
#include "vntime.h"

#define OUTBOX_MAX_ENROLLING 8

struct outbox {
    spool_t *spool;
    deliver_t *out;
    outbox_opts opts;
    outbox_delivered_cb delivered;
    void *arg;
    uint64_t sent_through;   /* highest spool id handed to the current producer */
    int64_t last_delivery_ms;
    int failures;            /* failed reports since the last restart from the oldest */
    int warned;
    /* Enrollments in flight, so their acknowledgement can be announced
     * without reading the spool back. */
    struct { uint64_t id; char key[64]; } enrolling[OUTBOX_MAX_ENROLLING];
    size_t nenrolling;
};

static void on_report(uint64_t ref, int ok, const char *error, void *arg) {
    outbox_t *ob = arg;
    char err[256];
    if (!ok) {
        ob->failures++;
        if (!ob->warned)
            log_warn("agent", "delivery failed, records stay spooled spool_id=%llu error=%s",
                     (unsigned long long)ref, error);
        ob->warned = 1;
        return;
    }
    ob->warned = 0;
    ob->last_delivery_ms = vntime_now_ms();
    if (spool_ack(ob->spool, ref, err, sizeof err) < 0) log_error("agent", "%s", err);
    for (size_t i = 0; i < ob->nenrolling; i++) {
        if (ob->enrolling[i].id != ref) continue;
        if (ob->delivered) ob->delivered("agents", ob->enrolling[i].key, ob->arg);
        ob->enrolling[i] = ob->enrolling[--ob->nenrolling];
        break;
    }
}

static int producer_start(outbox_t *ob, char *err, size_t errsz) {
    ob->out = deliver_new(ob->opts.bootstrap, ob->opts.props, ob->opts.topic_prefix, ob->opts.message_timeout_ms,
                          on_report, ob, err, errsz);
    ob->sent_through = 0;
    ob->failures = 0;
    ob->nenrolling = 0;
    return ob->out ? 0 : -1;
}

outbox_t *outbox_open(const outbox_opts *opts, outbox_delivered_cb delivered, void *arg, char *err, size_t errsz) {
    outbox_t *ob = calloc(1, sizeof *ob);
    char dir[600];
    if (!ob) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    ob->opts = *opts;
    ob->delivered = delivered;
    ob->arg = arg;
    snprintf(dir, sizeof dir, "%s/spool", opts->state_dir);
    spool_opts so = {.max_bytes = opts->spool_max_bytes};
    if (!(ob->spool = spool_open(dir, &so, err, errsz))) goto fail;
    if (producer_start(ob, err, errsz) < 0) goto fail;
    return ob;
fail:
    outbox_close(ob);
    return NULL;
}

void outbox_close(outbox_t *ob) {
    if (!ob) return;
    deliver_free(ob->out);
    spool_close(ob->spool);
    free(ob);
}

int outbox_put(outbox_t *ob, const char *topic, const char *key, const void *value, size_t len, char *err,
               size_t errsz) {
    uint64_t id;
    if (spool_append(ob->spool, topic, key, value, len, &id, err, errsz) < 0) return -1;
    return outbox_resend(ob, err, errsz);
}

typedef struct resend_ctx {
    outbox_t *ob;
    char *err;
    size_t errsz;
    int rc;
} resend_ctx;

static int resend_one(const spool_record *rec, void *arg) {
    resend_ctx *c = arg;
    outbox_t *ob = c->ob;
    if (deliver_send(ob->out, rec->topic, rec->key, rec->value, rec->len, rec->id, c->err, c->errsz) < 0) {
        c->rc = -1;
        return 1;
    }
    ob->sent_through = rec->id;
    if (strcmp(rec->topic, "agents") == 0 && ob->nenrolling < OUTBOX_MAX_ENROLLING) {
        ob->enrolling[ob->nenrolling].id = rec->id;
        snprintf(ob->enrolling[ob->nenrolling].key, sizeof ob->enrolling[0].key, "%s", rec->key);
        ob->nenrolling++;
    }
    return 0;
}

int outbox_resend(outbox_t *ob, char *err, size_t errsz) {
    char why[256];
    if (deliver_fatal(ob->out, why, sizeof why)) {
        log_warn("agent", "%s; recreating the producer", why);
        deliver_free(ob->out);
        ob->out = NULL;
        if (producer_start(ob, err, errsz) < 0) return -1;
    }
    if (ob->failures) {
        /* Something failed: wait until nothing is in flight, then start
         * over from the oldest unacknowledged record, so order is kept. */
        if (deliver_in_flight(ob->out) > 0) return 0;
        ob->failures = 0;
        ob->sent_through = 0;
        ob->nenrolling = 0;
    }
    resend_ctx c = {.ob = ob, .err = err, .errsz = errsz};
    spool_foreach_pending(ob->spool, ob->sent_through, resend_one, &c, err, errsz);
    return c.rc;
}

void outbox_poll(outbox_t *ob) { deliver_poll(ob->out); }

uint64_t outbox_flush(outbox_t *ob, int timeout_ms) {
    spool_stats st;
    deliver_flush(ob->out, timeout_ms);
    spool_get_stats(ob->spool, &st);
    return st.pending;
}

typedef struct pending_match {
    const char *topic, *key;
    int found;
} pending_match;

static int match_pending(const spool_record *rec, void *arg) {
    pending_match *m = arg;
    if (strcmp(rec->topic, m->topic) == 0 && strcmp(rec->key, m->key) == 0) m->found = 1;
    return m->found;
}

int outbox_has_pending(outbox_t *ob, const char *topic, const char *key) {
    char err[256];
    pending_match m = {.topic = topic, .key = key};
    spool_foreach_pending(ob->spool, 0, match_pending, &m, err, sizeof err);
    return m.found;
}

void outbox_stats(const outbox_t *ob, spool_stats *st, int64_t *last_delivery_ms) {
    spool_get_stats(ob->spool, st);
    if (last_delivery_ms) *last_delivery_ms = ob->last_delivery_ms;
}

spool_t *outbox_spool(outbox_t *ob) { return ob->spool; }
