/* "ispeedctl alerts": prints the alerts topic, one transition a line, as it
 * is now or following it until SIGINT/SIGTERM. */
#include "alerts.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "escape.h"
#include "pbnames.h"
#include "quota_view.h"
#include "topic_reader.h"
#include "vntime.h"

#define ALERTS_DEFAULT_UNITS "/usr/share/ispeed-collector/units.csv"

enum { OPT_FOLLOW = 256, OPT_PROVINCE, OPT_SINCE, OPT_FORMAT, OPT_UNITS };

static const opttab_def alerts_opts[] = {
    {.name = "follow", .type = OPTTAB_CALL_FLAG, .id = OPT_FOLLOW, .help = "keep printing new alerts until interrupted"},
    {.name = "province", .type = OPTTAB_CALL, .id = OPT_PROVINCE, .metavar = "P",
     .help = "only alerts of units of this province"},
    {.name = "since", .type = OPTTAB_CALL, .id = OPT_SINCE, .metavar = "DURATION",
     .help = "only alerts of the last DURATION (30m, 1h, 2d, 1w)"},
    {.name = "format", .type = OPTTAB_CALL, .id = OPT_FORMAT, .metavar = "FMT",
     .help = "text (default) or json (one object a line)"},
    {.name = "units", .type = OPTTAB_CALL, .id = OPT_UNITS, .metavar = "FILE",
     .help = "registry CSV, for district and province names (default " ALERTS_DEFAULT_UNITS ", none: without)"},
    {.name = NULL}};

static const cli_cmd alerts_cmd = {
    "alerts", "-b BOOTSTRAP [--follow] [--province P] [--since DURATION] [--format text|json] [--units FILE]",
    "Prints the alerts on <prefix>alerts, one line per state transition of a unit:\n"
    "time (UTC+7), unit code and full name (with its district and province, from\n"
    "the registry), level, network, FROM→TO, count/expected/target, projection;\n"
    "JSON also where each is on the topic (partition, offset: a unit's alerts are\n"
    "in one partition, in the order they were published).\n"
    "Without --follow it stops at the end of the topic; with it, at SIGINT or SIGTERM.",
    alerts_opts};

/* An alert and where it is on the topic. */
struct alert_at {
    Ispeed__V1__Alert *alert;
    int32_t partition;
    int64_t offset;
};

struct alerts_args {
    int follow;
    int json;
    const char *province;
    const char *units;
    registry_t *reg;
    int64_t since_ms; /* 0: from the beginning */
    size_t bad;
    /* The backlog, collected to print in time order: partitions interleave
     * arbitrarily, and an operator reads alerts as a timeline. */
    struct alert_at *backlog;
    size_t n, cap;
    int live; /* following: print each alert as it comes */
};

static int alerts_apply(int id, const char *arg, void *ctx, char *err, size_t errsz) {
    struct alerts_args *a = ctx;
    int64_t d;
    switch (id) {
    case OPT_FOLLOW: a->follow = 1; return 0;
    case OPT_UNITS: a->units = arg; return 0;
    case OPT_PROVINCE:
        a->province = arg;
        return cli_check_province(arg, err, errsz);
    case OPT_SINCE:
        if (opttab_parse_duration(arg, 0, &d) < 0 || d <= 0) {
            snprintf(err, errsz, "duration '%s' is malformed; write a number and a unit s, m, h, d or w, e.g. 30m, 2d",
                     arg);
            return -1;
        }
        a->since_ms = vntime_now_ms() - d;
        return 0;
    case OPT_FORMAT:
        if (strcmp(arg, "text") == 0) a->json = 0;
        else if (strcmp(arg, "json") == 0) a->json = 1;
        else {
            snprintf(err, errsz, "--format '%s' is not one of text, json", arg);
            return -1;
        }
        return 0;
    }
    return -1;
}

static double finite_or_zero(double v) {
    return isfinite(v) ? v : 0;
}

void alerts_full_name(const registry_t *reg, const Ispeed__V1__Alert *a, char *out, size_t outsz) {
    const registry_unit *u = reg ? registry_find(reg, a->unit) : NULL;
    if (u) {
        size_t k = (size_t)snprintf(out, outsz, "%s", u->name);
        for (const registry_unit *p = u->parent; p && k < outsz; p = p->parent)
            k += (size_t)snprintf(out + k, outsz - k, ", %s", p->name);
        return;
    }
    /* The parent codes say where the unit is; a province's parent is "". */
    if (a->parent[0] && strcmp(a->parent, a->province) != 0 && a->province[0])
        snprintf(out, outsz, "%s (%s, %s)", a->name, a->parent, a->province);
    else if (a->parent[0])
        snprintf(out, outsz, "%s (%s)", a->name, a->parent);
    else
        snprintf(out, outsz, "%s", a->name);
}

void alerts_print_text(FILE *out, const Ispeed__V1__Alert *a, const char *full_name) {
    char when[20];
    vntime_format(a->time_ms, when);
    /* Fixed field order, two spaces between groups: easy to read, to grep
     * ("BEHIND", a unit code) and to cut. */
    fprintf(out, "%s  %s %s  %s %s  %s→%s  count/expected/target %llu/%.0f/%u  projection %.0f\n", when, a->unit,
            full_name, pbnames_level(a->level), pbnames_network(a->network), pbnames_quota_state(a->from_state),
            pbnames_quota_state(a->to_state), (unsigned long long)a->count, finite_or_zero(a->expected), a->target,
            finite_or_zero(a->projection));
}

void alerts_print_json(FILE *out, const Ispeed__V1__Alert *a, const char *full_name, int32_t partition,
                       int64_t offset) {
    char when[20];
    vntime_format(a->time_ms, when);
    fprintf(out, "{\"time\":\"%s +07:00\",\"time_ms\":%lld,\"unit\":", when, (long long)a->time_ms);
    escape_json(out, a->unit);
    fputs(",\"name\":", out);
    escape_json(out, a->name);
    fputs(",\"full_name\":", out);
    escape_json(out, full_name);
    fprintf(out, ",\"level\":\"%s\",\"network\":\"%s\",\"province\":", pbnames_level(a->level),
            pbnames_network(a->network));
    escape_json(out, a->province);
    fputs(",\"parent\":", out);
    escape_json(out, a->parent);
    fputs(",\"month\":", out);
    escape_json(out, a->month);
    fprintf(out,
            ",\"from\":\"%s\",\"to\":\"%s\",\"count\":%llu,\"expected\":%.1f,\"target\":%u,\"projection\":%.1f,"
            "\"partition\":%d,\"offset\":%lld}\n",
            pbnames_quota_state(a->from_state), pbnames_quota_state(a->to_state), (unsigned long long)a->count,
            finite_or_zero(a->expected), a->target, finite_or_zero(a->projection), (int)partition, (long long)offset);
}

static void print_alert(const struct alerts_args *args, const struct alert_at *at) {
    char full[1024];
    const Ispeed__V1__Alert *a = at->alert;
    alerts_full_name(args->reg, a, full, sizeof full);
    if (args->json) alerts_print_json(stdout, a, full, at->partition, at->offset);
    else alerts_print_text(stdout, a, full);
}

static int on_alert(const rd_kafka_message_t *m, void *opaque, char *err, size_t errsz) {
    struct alerts_args *args = opaque;
    if (!m->payload) return 0;
    Ispeed__V1__Alert *a = ispeed__v1__alert__unpack(NULL, m->len, m->payload);
    if (!a) {
        if (args->bad++ == 0)
            fprintf(stderr, "ispeedctl alerts: skipping partition %d offset %lld: not an Alert\n", (int)m->partition,
                    (long long)m->offset);
        return 0;
    }
    if ((args->province && strcmp(a->province, args->province) != 0) || a->time_ms < args->since_ms) {
        ispeed__v1__alert__free_unpacked(a, NULL);
        return 0;
    }
    struct alert_at at = {a, m->partition, m->offset};
    if (args->live) {
        print_alert(args, &at);
        ispeed__v1__alert__free_unpacked(a, NULL);
        return 0;
    }
    if (args->n == args->cap) {
        size_t cap = args->cap ? args->cap * 2 : 256;
        struct alert_at *b = realloc(args->backlog, cap * sizeof *b);
        if (!b) {
            ispeed__v1__alert__free_unpacked(a, NULL);
            snprintf(err, errsz, "out of memory");
            return -1;
        }
        args->backlog = b;
        args->cap = cap;
    }
    args->backlog[args->n++] = at;
    return 0;
}

/* Time, then where on the topic: one order for a given topic, and a unit's
 * alerts of one instant in the order they were published. */
static int by_time(const void *x, const void *y) {
    const struct alert_at *p = x, *q = y;
    const Ispeed__V1__Alert *a = p->alert, *b = q->alert;
    if (a->time_ms != b->time_ms) return a->time_ms < b->time_ms ? -1 : 1;
    if (p->partition != q->partition) return p->partition < q->partition ? -1 : 1;
    return p->offset < q->offset ? -1 : p->offset > q->offset;
}

int alerts_main(int argc, char **argv) {
    struct alerts_args a = {0};
    cli_common common;
    char err[1024], topic[256];
    topic_reader_t *tr = NULL;
    int code, rc = cli_parse(argc, argv, &alerts_cmd, &common, alerts_apply, &a);
    if (rc == CLI_HELP) {
        rc = 0;
        goto out;
    }
    if (rc != CLI_OK) goto out;
    if (!a.units && access(ALERTS_DEFAULT_UNITS, R_OK) == 0) a.units = ALERTS_DEFAULT_UNITS;
    if (a.units && strcmp(a.units, "none") != 0) {
        if (!(a.reg = registry_load(a.units, err, sizeof err))) {
            rc = cli_usage_error(&alerts_cmd, "--units: %s", err);
            goto out;
        }
        const registry_unit *p = a.province ? registry_find(a.reg, a.province) : NULL;
        if (a.province && (!p || p->level != REGISTRY_PROVINCE)) {
            rc = cli_usage_error(&alerts_cmd, "unknown province %s: %s has no province with that code", a.province,
                                 a.units);
            goto out;
        }
    }
    rc = 1;
    volatile sig_atomic_t *stop = cli_stop_flag();
    /* Someone following alerts wants each one as it comes, also through a
     * pipe into grep. */
    if (a.follow) setvbuf(stdout, NULL, _IOLBF, 0);
    kafka_topic_name(topic, sizeof topic, common.prefix, "alerts");
    tr = topic_reader_new(common.bootstrap, &common.props, topic, &code, err, sizeof err);
    if (!tr) {
        if (code == TOPIC_READER_NO_TOPIC)
            cli_fail(&alerts_cmd, "no topic %s: no collector has published an alert yet, or check --topic-prefix",
                     topic);
        else
            cli_fail(&alerts_cmd, "%s", err);
        goto out;
    }
    if (topic_reader_run(tr, 0, stop, on_alert, &a, err, sizeof err) < 0) {
        cli_fail(&alerts_cmd, "%s", err);
        goto out;
    }
    if (a.n > 1) qsort(a.backlog, a.n, sizeof *a.backlog, by_time);
    for (size_t i = 0; i < a.n; i++) print_alert(&a, &a.backlog[i]);
    a.live = 1;
    if (a.follow && topic_reader_run(tr, 1, stop, on_alert, &a, err, sizeof err) < 0) {
        cli_fail(&alerts_cmd, "%s", err);
        goto out;
    }
    if (a.bad > 1) fprintf(stderr, "ispeedctl alerts: skipped %zu undecodable records\n", a.bad);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_fail(&alerts_cmd, "cannot write the output");
        goto out;
    }
    rc = 0;
out:
    for (size_t i = 0; i < a.n; i++) ispeed__v1__alert__free_unpacked(a.backlog[i].alert, NULL);
    free(a.backlog);
    topic_reader_free(tr);
    registry_free(a.reg);
    cli_common_clear(&common);
    return rc;
}
