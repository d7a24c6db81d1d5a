/* "ispeedctl serve": reads the quota topics and the alerts topic as a
 * province subscriber would (assign and read, no group, no writes), keeps
 * the month's picture in memory, follows the topics and serves it as web
 * pages with live updates. Wires dash_state, dash_feed and dash_http on
 * one event loop. */
#include "serve.h"

#include <event2/event.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "dash_feed.h"
#include "dash_http.h"
#include "dash_state.h"
#include "log.h"
#include "quota_topics.h"
#include "recruit_list.h"
#include "registry.h"
#include "topic_reader.h"
#include "vntime.h"

#define SERVE_DEFAULT_LISTEN "127.0.0.1:8088"
#define SERVE_DEFAULT_UNITS "/usr/share/ispeed-collector/units.csv"
#define SERVE_MAX_PROVINCES 64

static const char *const serve_fetch_props[] = {"fetch.wait.max.ms=100", "fetch.error.backoff.ms=100"};

enum { OPT_LISTEN = 256, OPT_PROVINCE, OPT_UNITS, OPT_MONTH, OPT_PARAMS };

static const opttab_def serve_opts[] = {
    {.name = "listen", .type = OPTTAB_CALL, .id = OPT_LISTEN, .metavar = "ADDR:PORT",
     .help = "where to serve (default " SERVE_DEFAULT_LISTEN ", loopback)"},
    {.name = "province", .type = OPTTAB_CALL, .id = OPT_PROVINCE, .metavar = "P",
     .help = "only this province's topic (repeatable; default: every one)"},
    {.name = "units", .type = OPTTAB_CALL, .id = OPT_UNITS, .metavar = "FILE",
     .help = "registry CSV: names, units without samples, the tile map (default " SERVE_DEFAULT_UNITS " if present; none)"},
    {.name = "month", .type = OPTTAB_CALL, .id = OPT_MONTH, .metavar = "YYYY-MM",
     .help = "month shown, in Vietnam's time (default: the current one)"},
    RECRUIT_PARAM_OPTS(OPT_PARAMS), /* the recruiting list's, as "ispeedctl recruit" */
    {.name = NULL}};

static const cli_cmd serve_cmd = {
    "serve",
    "-b BOOTSTRAP [--listen ADDR:PORT] [--province P ...] [--units FILE] [--month YYYY-MM]\n"
    "              [--daily-cap N] [--mobile-budget-mb N] [--test-mb N] [--target N]",
    "Serves the live dashboard: a national page (tile map and table of the\n"
    "provinces, fixed and mobile apart), a page per province (its units, most\n"
    "behind first, with their distinct agents, the cumulative count against\n"
    "pace, recent alerts, the recruiting list of \"ispeedctl recruit\", which\n"
    "the last four options set as there) and per commune (samples per day,\n"
    "medians, operators, agents), updated as QuotaStatus and alerts arrive\n"
    "(Server-Sent Events). Reads <prefix>quota.<P> and\n"
    "<prefix>alerts only, with a province's read rights; writes nothing.\n"
    "Every page and script is built in: no request leaves the machine.\n"
    "JSON at /api/national, /api/province/P, /api/unit/CODE (?lang=en);\n"
    "Prometheus metrics at /metrics. Runs until SIGINT/SIGTERM.",
    serve_opts};

struct serve_args {
    const char *listen, *units, *month;
    recruit_params rp;
    const char *provinces[SERVE_MAX_PROVINCES];
    size_t nprovinces;
};

static int serve_apply(int id, const char *arg, void *ctx, char *err, size_t errsz) {
    struct serve_args *a = ctx;
    switch (id) {
    case OPT_LISTEN: {
        /* The form is checked here so a typo is a usage error (exit 2)
         * before any broker is asked; whether it binds is checked later. */
        const char *colon = strrchr(arg, ':');
        char *end;
        long port = colon ? strtol(colon + 1, &end, 10) : -1;
        if (!colon || colon == arg || !colon[1] || *end || port < 1 || port > 65535) {
            snprintf(err, errsz, "--listen '%s' is not ADDR:PORT (e.g. 127.0.0.1:8088)", arg);
            return -1;
        }
        a->listen = arg;
        return 0;
    }
    case OPT_UNITS: a->units = arg; return 0;
    case OPT_MONTH: a->month = arg; return 0;
    case OPT_PROVINCE:
        if (cli_check_province(arg, err, errsz) < 0) return -1;
        if (a->nprovinces == SERVE_MAX_PROVINCES) {
            snprintf(err, errsz, "at most %d --province", SERVE_MAX_PROVINCES);
            return -1;
        }
        a->provinces[a->nprovinces++] = arg;
        return 0;
    default:
        if (id >= OPT_PARAMS && id < OPT_PARAMS + RECRUIT_PARAM_NOPTS)
            return recruit_params_apply(&a->rp, id - OPT_PARAMS, arg, err, errsz);
    }
    snprintf(err, errsz, "unknown option");
    return -1;
}

struct serve_ctx {
    dash_http_t *http;
    struct event_base *base;
};

static void on_changes(const char *const *provinces, size_t n, int alerts, void *opaque) {
    struct serve_ctx *sc = opaque;
    if (sc->http) dash_http_notify(sc->http, provinces, n, alerts);
}

static void on_signal(evutil_socket_t sig, short what, void *arg) {
    (void)sig;
    (void)what;
    event_base_loopbreak(arg);
}

int serve_main(int argc, char **argv) {
    struct serve_args a = {.listen = SERVE_DEFAULT_LISTEN};
    recruit_params_default(&a.rp);
    cli_common common;
    char err[1024], now[8];
    char **topics = NULL;
    size_t ntopics = 0;
    registry_t *reg = NULL;
    dash_state_t *ds = NULL;
    dash_feed_t *feed = NULL;
    struct serve_ctx sc = {0};
    struct event *sigint = NULL, *sigterm = NULL;
    int rc = cli_parse(argc, argv, &serve_cmd, &common, serve_apply, &a);
    if (rc == CLI_HELP) {
        rc = 0;
        goto out;
    }
    if (rc != CLI_OK) goto out;
    vntime_month(vntime_now_ms(), now);
    if (!a.month) a.month = now;
    if (cli_check_month(a.month, err, sizeof err) < 0) {
        rc = cli_usage_error(&serve_cmd, "%s", err);
        goto out;
    }
    if (!a.units && access(SERVE_DEFAULT_UNITS, R_OK) == 0) a.units = SERVE_DEFAULT_UNITS;
    if (a.units && strcmp(a.units, "none") != 0 && !(reg = registry_load(a.units, err, sizeof err))) {
        rc = cli_usage_error(&serve_cmd, "--units: %s", err);
        goto out;
    }
    for (size_t i = 0; reg && i < a.nprovinces; i++) {
        const registry_unit *u = registry_find(reg, a.provinces[i]);
        if (!u || u->level != REGISTRY_PROVINCE) {
            rc = cli_usage_error(&serve_cmd, "unknown province %s: %s has no province with that code", a.provinces[i],
                                 a.units);
            goto out;
        }
    }
    /* A page shows a new status within 2 s only if the reader asks the
     * broker often: librdkafka's default long poll (500 ms) plus its
     * fetch back-off measured 1.5-1.8 s from delivery to page here; the
     * cost is a fetch per broker every 100 ms. -X overrides. */
    for (size_t i = 0; i < sizeof serve_fetch_props / sizeof serve_fetch_props[0]; i++) {
        size_t klen = strcspn(serve_fetch_props[i], "=");
        int given = 0;
        for (size_t k = 0; k < common.props.n; k++)
            given |= strncmp(common.props.key[k], serve_fetch_props[i], klen) == 0 && common.props.key[k][klen] == '\0';
        if (!given && kafka_props_add(&common.props, serve_fetch_props[i], err, sizeof err) < 0) {
            rc = cli_usage_error(&serve_cmd, "%s", err);
            goto out;
        }
    }
    rc = 1;
    /* Closed or reset connections of browsers must not kill the server. */
    signal(SIGPIPE, SIG_IGN);
    if (!(sc.base = event_base_new())) {
        cli_fail(&serve_cmd, "cannot create the event loop");
        goto out;
    }
    if (!(ds = dash_state_new(a.month, reg, err, sizeof err))) {
        cli_fail(&serve_cmd, "%s", err);
        goto out;
    }
    dash_state_set_recruit(ds, &a.rp);
    if (quota_topics_pick(&serve_cmd, &common, reg, a.provinces, a.nprovinces, &topics, &ntopics, err,
                          sizeof err) < 0) {
        cli_fail(&serve_cmd, "%s", err);
        goto out;
    }
    /* Listening first: a port in use fails at once, not after the read of
     * every topic; connections wait in the backlog until the loop runs. */
    if (!(sc.http = dash_http_new(sc.base, a.listen, ds, err, sizeof err))) {
        cli_fail(&serve_cmd, "%s", err);
        goto out;
    }
    if (!(feed = dash_feed_start(sc.base, common.bootstrap, &common.props, common.prefix, (const char *const *)topics,
                                 ntopics, ds, on_changes, &sc, err, sizeof err))) {
        cli_fail(&serve_cmd, "%s", err);
        goto out;
    }
    sigint = evsignal_new(sc.base, SIGINT, on_signal, sc.base);
    sigterm = evsignal_new(sc.base, SIGTERM, on_signal, sc.base);
    if (!sigint || !sigterm || event_add(sigint, NULL) < 0 || event_add(sigterm, NULL) < 0) {
        cli_fail(&serve_cmd, "cannot handle signals");
        goto out;
    }
    log_info("ispeedctl", "serve: listening listen=%s month=%s topics=%zu records=%llu", a.listen, a.month, ntopics,
             (unsigned long long)dash_state_records(ds));
    /* The first line on stdout says the server is up, for scripts. */
    printf("serving http://%s/ month=%s\n", a.listen, a.month);
    fflush(stdout);
    event_base_dispatch(sc.base);
    rc = 0;
out:
    if (sigint) event_free(sigint);
    if (sigterm) event_free(sigterm);
    dash_http_free(sc.http);
    dash_feed_stop(feed);
    dash_state_free(ds);
    quota_topics_free(topics);
    registry_free(reg);
    if (sc.base) event_base_free(sc.base);
    cli_common_clear(&common);
    return rc;
}
