/* The dashboard's Kafka side: one topic_reader over the quota topics and
 * the alerts topic; its follow run on a thread of its own pushes copies of
 * the records to a mutex-guarded list, which a 100 ms timer on the loop
 * applies to the state. 100 ms keeps a new status well inside the pages'
 * 2 s, and one wake-up per tick costs nothing when idle. */
#include "dash_feed.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "topic_reader.h"

#define DASH_FEED_TICK_US 100000
#define DASH_FEED_MAX_CHANGED 256

struct rec {
    struct rec *next;
    int is_alert;
    char province[16];
    char *key;
    size_t keylen;
    void *value; /* NULL: a tombstone */
    size_t len;
};

struct dash_feed {
    topic_reader_t *tr;
    dash_state_t *ds;
    char alerts_topic[256];
    size_t quota_prefix_len; /* strlen(prefix "quota.") */
    pthread_t thread;
    int started;
    volatile sig_atomic_t stop;
    pthread_mutex_t mu;
    struct rec *head, *tail;
    int thread_rc;
    char thread_err[512];
    struct event *tick;
    dash_feed_notify notify;
    void *opaque;
    unsigned long bad;
};

static void apply(dash_feed_t *f, const struct rec *r, const char **changed, size_t *nchanged, int *alerts) {
    char prov[16], err[256];
    int rc = r->is_alert ? dash_state_put_alert(f->ds, r->value, r->len, prov, sizeof prov, err, sizeof err)
                         : dash_state_put_quota(f->ds, r->province, r->key, r->keylen, r->value, r->len, prov,
                                                sizeof prov, err, sizeof err);
    if (rc < 0) {
        /* One bad record must not blank a province; count and say once. */
        if (f->bad++ == 0) log_warn("ispeedctl", "serve: skipping a record: %s", err);
        return;
    }
    if (r->is_alert) *alerts = 1;
    if (!prov[0] || !changed) return;
    for (size_t i = 0; i < *nchanged; i++)
        if (strcmp(changed[i], prov) == 0) return;
    if (*nchanged < DASH_FEED_MAX_CHANGED && (changed[*nchanged] = strdup(prov))) (*nchanged)++;
}

static void rec_free(struct rec *r) {
    free(r->key);
    free(r->value);
    free(r);
}

static struct rec *rec_of(dash_feed_t *f, const rd_kafka_message_t *m) {
    struct rec *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    const char *topic = rd_kafka_topic_name(m->rkt);
    r->is_alert = strcmp(topic, f->alerts_topic) == 0;
    if (!r->is_alert) snprintf(r->province, sizeof r->province, "%s", topic + f->quota_prefix_len);
    if (m->key && !(r->key = malloc(m->key_len ? m->key_len : 1))) goto oom;
    if (m->key) memcpy(r->key, m->key, m->key_len);
    r->keylen = m->key_len;
    if (m->payload && !(r->value = malloc(m->len ? m->len : 1))) goto oom;
    if (m->payload) memcpy(r->value, m->payload, m->len);
    r->len = m->len;
    return r;
oom:
    rec_free(r);
    return NULL;
}

/* The snapshot run applies straight to the state: no loop runs yet. */
static int on_snapshot(const rd_kafka_message_t *m, void *opaque, char *err, size_t errsz) {
    dash_feed_t *f = opaque;
    struct rec *r = rec_of(f, m);
    int alerts = 0;
    if (!r) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    apply(f, r, NULL, NULL, &alerts);
    rec_free(r);
    return 0;
}

static int on_follow(const rd_kafka_message_t *m, void *opaque, char *err, size_t errsz) {
    dash_feed_t *f = opaque;
    struct rec *r = rec_of(f, m);
    if (!r) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    pthread_mutex_lock(&f->mu);
    if (f->tail) f->tail->next = r;
    else f->head = r;
    f->tail = r;
    pthread_mutex_unlock(&f->mu);
    return 0;
}

/* A failed follow run (a seek that timed out on a loaded broker, a
 * partition error) is logged by the loop and tried again a second later:
 * a dashboard that stops updating silently is worse than a retry. */
static void *follow_main(void *arg) {
    dash_feed_t *f = arg;
    char err[512];
    while (!f->stop) {
        int rc = topic_reader_run(f->tr, 1, &f->stop, on_follow, f, err, sizeof err);
        if (rc >= 0) break;
        pthread_mutex_lock(&f->mu);
        f->thread_rc = rc;
        snprintf(f->thread_err, sizeof f->thread_err, "%s", err);
        pthread_mutex_unlock(&f->mu);
        for (int i = 0; i < 10 && !f->stop; i++) usleep(100000);
    }
    return NULL;
}

static void on_tick(evutil_socket_t fd, short what, void *arg) {
    dash_feed_t *f = arg;
    const char *changed[DASH_FEED_MAX_CHANGED];
    size_t nchanged = 0;
    int alerts = 0, rc;
    char err[512];
    (void)fd;
    (void)what;
    pthread_mutex_lock(&f->mu);
    struct rec *r = f->head;
    f->head = f->tail = NULL;
    rc = f->thread_rc;
    snprintf(err, sizeof err, "%s", f->thread_err);
    f->thread_rc = 0;
    pthread_mutex_unlock(&f->mu);
    if (rc < 0) log_error("ispeedctl", "serve: following the topics failed, retrying in 1 s: %s", err);
    while (r) {
        struct rec *next = r->next;
        apply(f, r, changed, &nchanged, &alerts);
        rec_free(r);
        r = next;
    }
    if ((nchanged || alerts) && f->notify) f->notify(changed, nchanged, alerts, f->opaque);
    for (size_t i = 0; i < nchanged; i++) free((char *)changed[i]);
}

dash_feed_t *dash_feed_start(struct event_base *base, const char *bootstrap, const kafka_props *props,
                             const char *prefix, const char *const *quota_topics, size_t nquota, dash_state_t *ds,
                             dash_feed_notify notify, void *opaque, char *err, size_t errsz) {
    const char **topics = NULL;
    int code;
    dash_feed_t *f = calloc(1, sizeof *f);
    if (!f || !(topics = calloc(nquota + 1, sizeof *topics))) {
        snprintf(err, errsz, "out of memory");
        free(f);
        return NULL;
    }
    pthread_mutex_init(&f->mu, NULL);
    f->ds = ds;
    f->notify = notify;
    f->opaque = opaque;
    snprintf(f->alerts_topic, sizeof f->alerts_topic, "%salerts", prefix);
    f->quota_prefix_len = strlen(prefix) + strlen("quota.");
    for (size_t i = 0; i < nquota; i++) topics[i] = quota_topics[i];
    topics[nquota] = f->alerts_topic;
    f->tr = topic_reader_new_multi(bootstrap, props, topics, nquota + 1, &code, err, errsz);
    free(topics);
    if (!f->tr) goto fail;
    if (topic_reader_run(f->tr, 0, NULL, on_snapshot, f, err, errsz) < 0) goto fail;
    if (!(f->tick = event_new(base, -1, EV_PERSIST, on_tick, f))) {
        snprintf(err, errsz, "cannot create the feed's timer");
        goto fail;
    }
    struct timeval tv = {0, DASH_FEED_TICK_US};
    event_add(f->tick, &tv);
    if (pthread_create(&f->thread, NULL, follow_main, f) != 0) {
        snprintf(err, errsz, "cannot start the thread that follows the topics");
        goto fail;
    }
    f->started = 1;
    return f;
fail:
    dash_feed_stop(f);
    return NULL;
}

void dash_feed_stop(dash_feed_t *f) {
    if (!f) return;
    if (f->started) {
        f->stop = 1;
        pthread_join(f->thread, NULL);
    }
    if (f->tick) event_free(f->tick);
    topic_reader_free(f->tr);
    for (struct rec *r = f->head; r;) {
        struct rec *next = r->next;
        rec_free(r);
        r = next;
    }
    pthread_mutex_destroy(&f->mu);
    free(f);
}

unsigned long dash_feed_bad(const dash_feed_t *f) {
    return f->bad;
}
