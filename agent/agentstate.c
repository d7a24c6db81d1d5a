/* The status file: "key value" lines, replaced atomically. */
#include "agentstate.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "schedule.h"
#include "vntime.h"

int agentstate_load(const char *dir, agentstate *st, char *err, size_t errsz) {
    char path[600], line[256], key[64], val[128];
    memset(st, 0, sizeof *st);
    snprintf(path, sizeof path, "%s/status", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT) return 0;
        snprintf(err, errsz, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof line, f)) {
        val[0] = '\0';
        if (sscanf(line, "%63s %127s", key, val) < 1) continue;
#define NUM(name) else if (strcmp(key, #name) == 0) st->name = (__typeof__(st->name))strtoll(val, NULL, 10)
#define UNUM(name) else if (strcmp(key, #name) == 0) st->name = (__typeof__(st->name))strtoull(val, NULL, 10)
#define STR(name) else if (strcmp(key, #name) == 0) snprintf(st->name, sizeof st->name, "%s", val)
        if (0) {}
        NUM(last_test_ms); STR(last_outcome); UNUM(last_test_bytes); NUM(next_test_ms); NUM(last_slot_ms);
        NUM(last_delivery_ms); UNUM(spool_pending); NUM(spool_oldest_ms); UNUM(spool_bytes);
        UNUM(spool_evicted); UNUM(spool_damaged); UNUM(budget_cap); NUM(budget_exhausted);
        STR(enrolled_commune); NUM(next_reason); NUM(tests_day); NUM(tests_today); NUM(adaptive);
        else if (strcmp(key, "budget_month") == 0) snprintf(st->data.month, sizeof st->data.month, "%s", val);
        else if (strcmp(key, "budget_used") == 0) st->data.used = strtoull(val, NULL, 10);
#undef NUM
#undef UNUM
#undef STR
    }
    fclose(f);
    return 0;
}

int agentstate_save(const char *dir, const agentstate *st, char *err, size_t errsz) {
    char path[600], tmp[620];
    snprintf(path, sizeof path, "%s/status", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) goto fail;
    fprintf(f,
            "last_test_ms %" PRId64 "\nlast_outcome %s\nlast_test_bytes %" PRIu64 "\nnext_test_ms %" PRId64
            "\nlast_slot_ms %" PRId64 "\nlast_delivery_ms %" PRId64 "\nspool_pending %" PRIu64
            "\nspool_oldest_ms %" PRId64 "\nspool_bytes %" PRIu64 "\nspool_evicted %" PRIu64
            "\nspool_damaged %" PRIu64 "\nbudget_month %s\nbudget_used %" PRIu64 "\nbudget_cap %" PRIu64
            "\nbudget_exhausted %d\nenrolled_commune %s\nnext_reason %d\ntests_day %" PRId64
            "\ntests_today %d\nadaptive %d\n",
            st->last_test_ms, st->last_outcome[0] ? st->last_outcome : "-", st->last_test_bytes, st->next_test_ms,
            st->last_slot_ms, st->last_delivery_ms, st->spool_pending, st->spool_oldest_ms, st->spool_bytes,
            st->spool_evicted, st->spool_damaged, st->data.month[0] ? st->data.month : "-", st->data.used,
            st->budget_cap, st->budget_exhausted, st->enrolled_commune[0] ? st->enrolled_commune : "-",
            st->next_reason, st->tests_day, st->tests_today, st->adaptive);
    /* Only what status shows and the schedule: losing the last write to a
     * crash costs nothing, so no fsync on this path. */
    if (fclose(f) != 0) goto fail;
    if (rename(tmp, path) < 0) goto fail;
    return 0;
fail:
    snprintf(err, errsz, "cannot write %s: %s", path, strerror(errno));
    unlink(tmp);
    return -1;
}

static void when(char *out, size_t outsz, int64_t ms) {
    char t[20];
    if (ms <= 0) {
        snprintf(out, outsz, "never");
        return;
    }
    vntime_format(ms, t);
    snprintf(out, outsz, "%s +07", t);
}

void agentstate_print(FILE *out, const agentstate *st, const char *agent_id, int json) {
    char last[32], next[32], oldest[32], delivery[32];
    const char *outcome = strcmp(st->last_outcome, "-") == 0 ? "" : st->last_outcome;
    const char *commune = strcmp(st->enrolled_commune, "-") == 0 ? "" : st->enrolled_commune;
    when(last, sizeof last, st->last_test_ms);
    when(next, sizeof next, st->next_test_ms);
    when(oldest, sizeof oldest, st->spool_oldest_ms);
    when(delivery, sizeof delivery, st->last_delivery_ms);
    if (json) {
        fprintf(out,
                "{\"agent_id\":\"%s\",\"last_test_ms\":%" PRId64 ",\"last_outcome\":\"%s\",\"next_test_ms\":%" PRId64
                ",\"spool\":{\"pending\":%" PRIu64 ",\"oldest_sample_ms\":%" PRId64 ",\"bytes\":%" PRIu64
                ",\"evicted\":%" PRIu64 ",\"damaged\":%" PRIu64 "},\"last_delivery_ms\":%" PRId64
                ",\"data\":{\"month\":\"%s\",\"used_bytes\":%" PRIu64 ",\"cap_bytes\":%" PRIu64
                ",\"exhausted\":%s},\"enrolled\":%s,\"commune\":\"%s\",\"policy\":\"%s\",\"why\":\"%s\"}\n",
                agent_id, st->last_test_ms, outcome, st->next_test_ms, st->spool_pending, st->spool_oldest_ms,
                st->spool_bytes, st->spool_evicted, st->spool_damaged, st->last_delivery_ms,
                strcmp(st->data.month, "-") == 0 ? "" : st->data.month, st->data.used, st->budget_cap,
                st->budget_exhausted ? "true" : "false", commune[0] ? "true" : "false", commune,
                st->adaptive ? "adaptive" : "static", schedule_reason_text((enum schedule_reason)st->next_reason));
        return;
    }
    fprintf(out, "agent          %s\n", agent_id[0] ? agent_id : "none yet (no key: enroll, test --produce or run creates it)");
    fprintf(out, "enrolled       %s\n", commune[0] ? commune : "no");
    fprintf(out, "last test      %s%s%s\n", last, outcome[0] ? ", " : "", outcome);
    fprintf(out, "next test      %s\n", st->budget_exhausted ? "none this month: data budget used up" : next);
    fprintf(out, "why            %s (%s policy)\n", schedule_reason_text((enum schedule_reason)st->next_reason),
            st->adaptive ? "adaptive" : "static");
    fprintf(out, "spool          %" PRIu64 " record(s), %" PRIu64 " bytes, oldest sample %s", st->spool_pending,
            st->spool_bytes, oldest);
    if (st->spool_evicted || st->spool_damaged)
        fprintf(out, ", %" PRIu64 " evicted by the size cap, %" PRIu64 " damaged", st->spool_evicted,
                st->spool_damaged);
    fprintf(out, "\nlast delivery  %s\n", delivery);
    if (st->budget_cap)
        fprintf(out, "data           %.1f of %.1f MiB used in %s\n", st->data.used / 1048576.0,
                st->budget_cap / 1048576.0, st->data.month);
    else
        fprintf(out, "data           %.1f MiB used in %s, no cap\n", st->data.used / 1048576.0,
                st->data.month[0] && strcmp(st->data.month, "-") ? st->data.month : "this month");
}
