/* "ispeedctl samples": decodes SignedSample -> Sample from the samples topic
 * and prints the ones asked for, as it is now or following it. Signatures
 * are not checked here: this is an inspection tool, the collector judges. */
#include "samples.h"

#include <getopt.h>
#include <math.h>
#include <string.h>

#include "cli.h"
#include "escape.h"
#include "pbnames.h"
#include "quota_view.h"
#include "topic_reader.h"
#include "vntime.h"

enum { OPT_COMMUNE = 256, OPT_AGENT, OPT_PROVINCE, OPT_MONTH, OPT_FOLLOW, OPT_FORMAT };

static const opttab_def samples_opts[] = {
    {.name = "commune", .type = OPTTAB_CALL, .id = OPT_COMMUNE, .metavar = "C",
     .help = "only samples of this commune code"},
    {.name = "agent", .type = OPTTAB_CALL, .id = OPT_AGENT, .metavar = "ID",
     .help = "only samples of the agent whose id starts with ID"},
    {.name = "province", .type = OPTTAB_CALL, .id = OPT_PROVINCE, .metavar = "P",
     .help = "only samples of this province"},
    {.name = "month", .type = OPTTAB_CALL, .id = OPT_MONTH, .metavar = "YYYY-MM",
     .help = "only samples measured in this month (UTC+7)"},
    {.name = "follow", .type = OPTTAB_CALL_FLAG, .id = OPT_FOLLOW, .help = "keep printing new samples until interrupted"},
    {.name = "format", .type = OPTTAB_CALL, .id = OPT_FORMAT, .metavar = "FMT",
     .help = "text (default) or json (one object a line)"},
    {.name = NULL}};

static const cli_cmd samples_cmd = {
    "samples", "-b BOOTSTRAP [--commune C | --agent ID] [--province P] [--month M] [--follow] [--format text|json]",
    "Prints the samples on <prefix>samples, one line each: start time (UTC+7),\n"
    "agent id (first 8 characters), sequence, commune, network, download and upload\n"
    "in Mbit/s, idle latency in ms, outcome. Signatures are not verified here.\n"
    "Without --follow it stops at the end of the topic; with it, at SIGINT or SIGTERM.",
    samples_opts};

struct samples_args {
    const char *commune;
    const char *agent;
    const char *province;
    const char *month;
    int64_t month_start, month_end;
    int follow;
    int json;
    size_t bad;
};

static int samples_apply(int id, const char *arg, void *ctx, char *err, size_t errsz) {
    struct samples_args *a = ctx;
    switch (id) {
    case OPT_COMMUNE: a->commune = arg; return 0;
    case OPT_AGENT: a->agent = arg; return 0;
    case OPT_FOLLOW: a->follow = 1; return 0;
    case OPT_PROVINCE:
        a->province = arg;
        return cli_check_province(arg, err, errsz);
    case OPT_MONTH:
        if (cli_check_month(arg, err, errsz) < 0) return -1;
        a->month = arg;
        return vntime_month_bounds(arg, &a->month_start, &a->month_end);
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

void samples_print_text(FILE *out, const Ispeed__V1__Sample *s) {
    char when[20];
    vntime_format(s->start_ms, when);
    char agent[9];
    /* Everything but our own numbers came from an agent: escaped, so no
     * control character or escape sequence reaches the terminal. */
    snprintf(agent, sizeof agent, "%s", s->agent_id);
    fprintf(out, "%s  ", when);
    escape_term(out, agent);
    fprintf(out, "  seq %llu  ", (unsigned long long)s->seq);
    escape_term(out, s->commune);
    fprintf(out, "  %s/%s  down %.1f Mbit/s  up %.1f Mbit/s  latency %.1f ms  %s", pbnames_network(s->network),
            pbnames_access(s->access), (double)s->download_bps / 1e6, (double)s->upload_bps / 1e6,
            finite_or_zero(s->latency_median_ms), pbnames_outcome(s->outcome));
    /* A failure's own words, on the same line so grep keeps them. */
    if (s->outcome != ISPEED__V1__OUTCOME__OUTCOME_OK && s->outcome_detail && *s->outcome_detail) {
        fputs(": ", out);
        escape_term(out, s->outcome_detail);
    }
    fputc('\n', out);
}

void samples_print_json(FILE *out, const Ispeed__V1__Sample *s) {
    char when[20];
    vntime_format(s->start_ms, when);
    fprintf(out, "{\"time\":\"%s +07:00\",\"start_ms\":%lld,\"agent_id\":", when, (long long)s->start_ms);
    escape_json(out, s->agent_id);
    fprintf(out, ",\"seq\":%llu,\"commune\":", (unsigned long long)s->seq);
    escape_json(out, s->commune);
    fputs(",\"province\":", out);
    escape_json(out, s->province);
    fprintf(out, ",\"network\":\"%s\",\"access\":\"%s\",\"operator\":", pbnames_network(s->network),
            pbnames_access(s->access));
    escape_json(out, s->operator_);
    fputs(",\"server\":", out);
    escape_json(out, s->server);
    fprintf(out,
            ",\"duration_ms\":%u,\"download_bps\":%llu,\"upload_bps\":%llu,\"latency_min_ms\":%.2f,"
            "\"latency_median_ms\":%.2f,\"jitter_ms\":%.2f,\"loaded_latency_down_ms\":%.2f,"
            "\"loaded_latency_up_ms\":%.2f,\"bytes_down\":%llu,\"bytes_up\":%llu,\"streams\":%u,\"outcome\":\"%s\","
            "\"outcome_detail\":",
            s->duration_ms, (unsigned long long)s->download_bps, (unsigned long long)s->upload_bps,
            finite_or_zero(s->latency_min_ms), finite_or_zero(s->latency_median_ms), finite_or_zero(s->jitter_ms),
            finite_or_zero(s->loaded_latency_down_ms), finite_or_zero(s->loaded_latency_up_ms),
            (unsigned long long)s->bytes_down, (unsigned long long)s->bytes_up, s->streams,
            pbnames_outcome(s->outcome));
    escape_json(out, s->outcome_detail);
    fputs(",\"agent_version\":", out);
    escape_json(out, s->agent_version);
    fputs(",\"registry_version\":", out);
    escape_json(out, s->registry_version);
    fputs("}\n", out);
}

static int wanted(const struct samples_args *a, const rd_kafka_message_t *m, const Ispeed__V1__Sample *s) {
    if (a->commune && strcmp(s->commune, a->commune) != 0) return 0;
    if (a->agent && strncmp(s->agent_id, a->agent, strlen(a->agent)) != 0) return 0;
    if (a->province) {
        /* The key is the province; the sample's own field is the fallback
         * for a producer that set no key. */
        const char *p = a->province;
        size_t n = strlen(p);
        int by_key = m->key && m->key_len == n && memcmp(m->key, p, n) == 0;
        if (!by_key && strcmp(s->province, p) != 0) return 0;
    }
    if (a->month && (s->start_ms < a->month_start || s->start_ms >= a->month_end)) return 0;
    return 1;
}

static int on_sample(const rd_kafka_message_t *m, void *opaque, char *err, size_t errsz) {
    struct samples_args *a = opaque;
    Ispeed__V1__SignedSample *ss = NULL;
    Ispeed__V1__Sample *s = NULL;
    (void)err;
    (void)errsz;
    if (!m->payload) return 0;
    ss = ispeed__v1__signed_sample__unpack(NULL, m->len, m->payload);
    if (ss) s = ispeed__v1__sample__unpack(NULL, ss->sample.len, ss->sample.data);
    if (!s) {
        if (a->bad++ == 0)
            fprintf(stderr, "ispeedctl samples: skipping partition %d offset %lld: not a SignedSample\n",
                    (int)m->partition, (long long)m->offset);
        goto out;
    }
    if (wanted(a, m, s)) {
        if (a->json) samples_print_json(stdout, s);
        else samples_print_text(stdout, s);
    }
out:
    if (s) ispeed__v1__sample__free_unpacked(s, NULL);
    if (ss) ispeed__v1__signed_sample__free_unpacked(ss, NULL);
    return 0;
}

int samples_main(int argc, char **argv) {
    struct samples_args a = {0};
    cli_common common;
    char err[1024], topic[256];
    topic_reader_t *tr = NULL;
    int code, rc = cli_parse(argc, argv, &samples_cmd, &common, samples_apply, &a);
    if (rc == CLI_HELP) {
        rc = 0;
        goto out;
    }
    if (rc != CLI_OK) goto out;
    rc = 1;
    volatile sig_atomic_t *stop = cli_stop_flag();
    if (a.follow) setvbuf(stdout, NULL, _IOLBF, 0);
    kafka_topic_name(topic, sizeof topic, common.prefix, "samples");
    tr = topic_reader_new(common.bootstrap, &common.props, topic, &code, err, sizeof err);
    if (!tr) {
        if (code == TOPIC_READER_NO_TOPIC)
            cli_fail(&samples_cmd, "no topic %s: no agent has produced a sample yet, or check --topic-prefix", topic);
        else
            cli_fail(&samples_cmd, "%s", err);
        goto out;
    }
    if (topic_reader_run(tr, a.follow, stop, on_sample, &a, err, sizeof err) < 0) {
        cli_fail(&samples_cmd, "%s", err);
        goto out;
    }
    if (a.bad > 1) fprintf(stderr, "ispeedctl samples: skipped %zu undecodable records\n", a.bad);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_fail(&samples_cmd, "cannot write the output");
        goto out;
    }
    rc = 0;
out:
    topic_reader_free(tr);
    cli_common_clear(&common);
    return rc;
}
