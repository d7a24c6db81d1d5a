/* GET /v1/quota?province=P&month=M: the counters of one owned province in
 * JSON, read from the quota table (collector/http.c serves it), with each
 * counter's distinct agents and demand (QuotaStatus fields 40-45) computed
 * at the request's instant. */
#include <event2/buffer.h>
#include <string.h>

#include "collector.h"
#include "escape.h"
#include "pbnames.h"
#include "vntime.h"

static void evbuffer_sink(void *ctx, const char *p, size_t n) { evbuffer_add(ctx, p, n); }

/* Through common/escape: always valid JSON, whatever bytes a name holds
 * (invalid UTF-8 becomes U+FFFD). */
static void json_str(struct evbuffer *out, const char *s) { escape_json_to(evbuffer_sink, out, s); }

/* The same without its quotes, for a value inside a message string (the
 * collector's own copy put a quoted string inside one: invalid JSON). */
static void json_str_bare(struct evbuffer *out, const char *s) {
    struct evbuffer *tmp = evbuffer_new();
    if (!tmp) return;
    json_str(tmp, s);
    size_t n = evbuffer_get_length(tmp);
    if (n >= 2) {
        evbuffer_drain(tmp, 1);
        evbuffer_remove_buffer(tmp, out, n - 2);
    }
    evbuffer_free(tmp);
}

int quotaview_json(const char *province, const char *month, struct evbuffer *out, void *ctx) {
    struct collector *c = ctx;
    char cur[8];
    int64_t s, e, now = vntime_now_ms();
    const registry_unit *p = registry_find(c->reg, province);
    if (!month) {
        vntime_month(now, cur);
        month = cur;
    }
    if (!p || p->level != REGISTRY_PROVINCE) {
        evbuffer_add_printf(out, "{\"error\":\"no province ");
        json_str_bare(out, province);
        evbuffer_add_printf(out, " in the registry\"}\n");
        return 404;
    }
    if (strlen(month) != 7 || vntime_month_bounds(month, &s, &e) < 0) {
        evbuffer_add_printf(out, "{\"error\":\"month must be YYYY-MM\"}\n");
        return 400;
    }
    if (!consumer_owns(p, c)) {
        evbuffer_add_printf(out, "{\"error\":\"province ");
        json_str_bare(out, p->code);
        evbuffer_add_printf(out, " is counted by another collector of the group\"}\n");
        return 404;
    }
    evbuffer_add_printf(out, "{\"province\":");
    json_str(out, p->code);
    evbuffer_add_printf(out, ",\"month\":");
    json_str(out, month);
    evbuffer_add_printf(out, ",\"caught_up\":%s,\"units\":[", c->caught_up ? "true" : "false");
    int first = 1;
    for (size_t i = 0; i < registry_size(c->reg); i++) {
        const registry_unit *u = registry_unit_at(c->reg, i);
        if (u->province != p) continue;
        for (int n = QUOTA_FIXED; n <= QUOTA_MOBILE; n++) {
            quota_status st;
            if (quota_get(c->qt, u, month, (enum quota_network)n, now, &st) < 0) continue;
            evbuffer_add_printf(out, "%s{\"code\":", first ? "" : ",");
            json_str(out, u->code);
            evbuffer_add_printf(out, ",\"name\":");
            json_str(out, u->name);
            evbuffer_add_printf(out, ",\"parent\":");
            json_str(out, u->parent ? u->parent->code : "");
            /* Enum names are the schema's, one spelling in every program. */
            evbuffer_add_printf(out,
                                ",\"level\":\"%s\",\"network\":\"%s\",\"count\":%llu,\"target\":%u,"
                                "\"expected\":%.2f,\"state\":\"%s\",\"projection\":%.2f,\"late_count\":%llu,"
                                "\"unattested_count\":%llu,"
                                "\"count_5g\":%llu,\"median_download_bps\":%llu,\"median_upload_bps\":%llu,"
                                "\"median_latency_ms\":%.2f,\"operators\":{",
                                pbnames_level((int)u->level), pbnames_network((int)st.network),
                                (unsigned long long)st.count, st.target, st.expected,
                                pbnames_quota_state((int)st.state), st.projection, (unsigned long long)st.late_count,
                                (unsigned long long)st.unattested_count,
                                (unsigned long long)st.count_5g, (unsigned long long)st.median_download_bps,
                                (unsigned long long)st.median_upload_bps, st.median_latency_ms);
            /* Sums to count; names are normalised (valid UTF-8, no controls). */
            for (size_t k = 0; k < st.n_operators; k++) {
                if (k) evbuffer_add(out, ",", 1);
                json_str(out, st.operators[k].name);
                evbuffer_add_printf(out, ":%llu", (unsigned long long)st.operators[k].count);
            }
            /* The demand at this request's instant (quota_get computes it
             * at now): days_left and rate_needed are never stale here. */
            evbuffer_add_printf(out,
                                "},\"distinct_agents\":%u,\"needed\":%llu,\"days_left\":%.3f,\"rate_needed\":%.3f,"
                                "\"rate_current\":%.3f,\"will_make_it\":%s}",
                                st.agents, (unsigned long long)st.demand.needed, st.demand.days_left,
                                st.demand.rate_needed, st.demand.rate_current,
                                st.demand.will_make_it ? "true" : "false");
            first = 0;
        }
    }
    evbuffer_add_printf(out, "]}\n");
    return 200;
}
