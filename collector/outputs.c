/* What the collector tells the world besides rejects: QuotaStatus updates
 * (paced: each unit, month and class at most once per QUOTA_GAP_MS) and
 * alerts on state transitions; and, read back from <prefix>alerts, the
 * last state alerted per unit so that no alert repeats one on the topic. */
#include <stdio.h>

#include "collector.h"
#include "ispeed.pb-c.h"
#include "log.h"
#include "pbnames.h"
#include "vntime.h"

static void publish_status(const quota_status *st, void *ctx) {
    struct collector *c = ctx;
    char err[256];
    /* Only the owner of a province publishes its counters: anyone else's
     * view of them is stale and would overwrite the owner's. */
    if (!consumer_owns(st->unit->province, c)) return;
    if (publish_quota(c->pb, st, err, sizeof err) < 0) log_error(COMP, "%s", err);
}

int outputs_commit(struct collector *c, int timeout_ms) {
    rd_kafka_topic_partition_list_t *offsets = NULL;
    rd_kafka_consumer_group_metadata_t *cgmd = NULL;
    if (c->fenced) return PUBLISH_FATAL;
    if (publish_uncommitted(c->pb) && c->rk) {
        offsets = rd_kafka_topic_partition_list_new(c->nparts > 0 ? c->nparts : 1);
        for (int32_t p = 0; p < c->nparts; p++)
            if (c->parts[p].assigned && c->parts[p].next >= 0)
                rd_kafka_topic_partition_list_add(offsets, c->samples_topic, p)->offset = c->parts[p].next;
        cgmd = rd_kafka_consumer_group_metadata(c->rk);
    }
    int rc = publish_commit(c->pb, offsets, cgmd, timeout_ms);
    /* Aborted: the records are in the next transaction already. Once more,
     * with the group's generation of now (a rebalance moves it). */
    for (int again = 0; rc == PUBLISH_ABORTED && again < 2; again++) {
        if (cgmd) rd_kafka_consumer_group_metadata_destroy(cgmd);
        cgmd = c->rk ? rd_kafka_consumer_group_metadata(c->rk) : NULL;
        rc = publish_commit(c->pb, offsets, cgmd, timeout_ms);
    }
    if (cgmd) rd_kafka_consumer_group_metadata_destroy(cgmd);
    if (offsets) rd_kafka_topic_partition_list_destroy(offsets);
    if (rc == PUBLISH_FATAL) outputs_stop_fatal(c, "the outputs can no longer be committed");
    return rc;
}

/* A restart resumes from the last committed checkpoints. */
void outputs_stop_fatal(struct collector *c, const char *why) {
    log_error(COMP, "stopping: %s", why);
    c->fenced = 1;
    c->rc = 1;
    c->stopping = 1;
    event_base_loopbreak(c->base);
}

void outputs_flush_quota(struct collector *c) {
    size_t n = quota_flush(c->qt, vntime_now_ms(), publish_status, c);
    if (n) log_debug(COMP, "quota updates published count=%zu", n);
}

/* Called every poll (100 ms): a unit's change goes out at once unless the
 * unit was published less than QUOTA_GAP_MS ago, so the delay from a sample
 * to its QuotaStatus is one poll, not one checkpoint interval. */
void outputs_flush_quota_due(struct collector *c) {
    int64_t now = vntime_now_ms();
    size_t n = quota_flush_due(c->qt, now, now, QUOTA_GAP_MS, QUOTA_SLICE, publish_status, c);
    if (n) log_debug(COMP, "quota updates published count=%zu", n);
}

void outputs_evaluate(struct collector *c) {
    size_t n = quota_evaluate(c->qt, vntime_now_ms(), consumer_owns, c);
    if (n) log_debug(COMP, "evaluation raised alerts=%zu", n);
}

/* ---- alerts ---- */

int outputs_apply_alert(const rd_kafka_message_t *msg, void *ctx, char *err, size_t errsz) {
    struct collector *c = ctx;
    (void)err;
    (void)errsz;
    Ispeed__V1__Alert *a = msg->payload ? ispeed__v1__alert__unpack(NULL, msg->len, msg->payload) : NULL;
    if (!a) return 0; /* not ours to judge: the alerts topic is our own output */
    const registry_unit *u = registry_find(c->reg, a->unit);
    if (u && (a->network == ISPEED__V1__NETWORK__NETWORK_FIXED || a->network == ISPEED__V1__NETWORK__NETWORK_MOBILE) &&
        (int)a->to_state >= (int)QUOTA_ON_TRACK && (int)a->to_state <= (int)QUOTA_MET)
        /* A state newer than our checkpoint's: the quota update that went
         * with that alert may have died with the process that sent it. Only
         * for our provinces: the others are another collector's to publish. */
        if (quota_seed_state(c->qt, u, a->month, (enum quota_network)a->network, (enum quota_state)a->to_state) > 0 &&
            consumer_owns(u->province, c))
            quota_touch(c->qt, u, a->month, (enum quota_network)a->network);
    ispeed__v1__alert__free_unpacked(a, NULL);
    return 0;
}

void outputs_on_alert(const quota_alert *a, void *ctx) {
    struct collector *c = ctx;
    char err[256];
    const quota_status *st = &a->status;
    log_info(COMP, "alert unit=%s level=%s month=%s network=%s from=%s to=%s count=%llu expected=%.1f target=%u",
             st->unit->code, pbnames_level((int)st->unit->level), st->month, pbnames_network((int)st->network),
             pbnames_quota_state((int)a->from), pbnames_quota_state((int)st->state), (unsigned long long)st->count, st->expected,
             st->target);
    if (publish_alert(c->pb, a, err, sizeof err) < 0) log_error(COMP, "%s", err);
    /* The restart must not repeat it: the counter's partition checkpoints
     * at its next turn even if no offset moved. */
    struct part *pt = consumer_part(c, consumer_province_partition(a->status.unit->province, c));
    if (pt)
        pt->ckpt_alert = 1;
    else /* partition not known yet: every one we own */
        for (int32_t p = 0; p < c->nparts; p++) c->parts[p].ckpt_alert |= c->parts[p].assigned;
}

