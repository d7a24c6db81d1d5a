/* ispeed-server: the HTTP test endpoint agents measure against. main owns
 * the options, the signals and the event loops: one per worker thread, each
 * with its own socket on the port (as nginx runs a worker per CPU, because
 * 200 parallel downloads keep more than one core busy in the kernel); http.c
 * serves, endpoints.c answers. Workers share nothing but read-only state
 * (endpoints, payload, log level) and the connection limit. */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "endpoints.h"
#include "testhttp.h"
#include "vntime.h"
#include "log.h"
#include "opttab.h"
#include "payload.h"
#include "sign.h"
#include "tickets.h"
#include "trust.h"

/* A ticket lives through its test (at most a few minutes) and the receipt
 * request after it; then it is dropped. */
#define TICKET_TTL_MS (10 * 60 * 1000)

typedef struct server_config {
    char *listen;
    char *id;
    char *log_level;
    int64_t idle_timeout_s;
    int64_t header_timeout_s;
    int64_t max_conns;
    int64_t workers;
    char *key;
    int64_t max_tickets;
} server_config;

#define CONFIG_PATH "/etc/ispeed/server.conf"

enum { ACT_HELP = 1, ACT_EXAMPLE };

static int set_log_level(void *cfg, const char *value, char *err, size_t errsz) {
    enum log_level level;
    if (log_parse_level(value, &level) < 0) {
        snprintf(err, errsz, "must be error, warn, info or debug, not '%s'", value);
        return -1;
    }
    log_set_level(level);
    free(((server_config *)cfg)->log_level);
    ((server_config *)cfg)->log_level = strdup(value);
    return 0;
}

#define OFF(f) offsetof(server_config, f)
/* Every option once: parsing, defaults, --help and the configuration file
 * (same names, under [server]) come from this table. */
static const opttab_def options[] = {
    {.name = "listen", .type = OPTTAB_STRING, .offset = OFF(listen), .section = "server", .example = "0.0.0.0:8080",
     .metavar = "ADDR:PORT", .help = "address to serve on, e.g. 0.0.0.0:8080 or [::]:8080 (required)"},
    {.name = "id", .type = OPTTAB_STRING, .offset = OFF(id), .section = "server", .metavar = "NAME",
     .help = "name reported by /ispeed/v1/info (default: host name)"},
    {.name = "log-level", .type = OPTTAB_CUSTOM, .set = set_log_level, .section = "server", .def = "info",
     .metavar = "L", .help = "error, warn, info or debug"},
    {.name = "idle-timeout", .type = OPTTAB_INT, .offset = OFF(idle_timeout_s), .section = "server", .def = "30",
     .lo = 1, .hi = 1000000, .metavar = "S", .help = "close a connection idle or without progress for S seconds"},
    {.name = "header-timeout", .type = OPTTAB_INT, .offset = OFF(header_timeout_s), .section = "server",
     .def = "10", .lo = 1, .hi = 1000000, .metavar = "S", .help = "a request header must arrive within S seconds"},
    {.name = "max-conns", .type = OPTTAB_INT, .offset = OFF(max_conns), .section = "server", .def = "4096", .lo = 1,
     .hi = 1000000, .metavar = "N", .help = "most connections served at once"},
    {.name = "workers", .type = OPTTAB_INT, .offset = OFF(workers), .section = "server", .lo = 1, .hi = 64,
     .metavar = "N", .help = "event loops, each on its own thread (default: one per CPU, at most 16)"},
    {.name = "key", .type = OPTTAB_STRING, .offset = OFF(key), .section = "server", .metavar = "FILE",
     .help = "Ed25519 key that signs test receipts, created (mode 0600) if missing (default: no attestation)"},
    {.name = "max-tickets", .type = OPTTAB_INT, .offset = OFF(max_tickets), .section = "server", .def = "4096",
     .lo = 1, .hi = 10000000, .metavar = "N", .help = "most test tickets held at once; the oldest gives way"},
    {.name = "config-example", .type = OPTTAB_ACTION, .id = ACT_EXAMPLE,
     .help = "print every configuration key with its default"},
    {.name = "help", .short_name = 'h', .type = OPTTAB_ACTION, .id = ACT_HELP, .help = "show this help"},
};

static const opttab_spec spec = {
    .program = "ispeed-server",
    .usage = "usage: ispeed-server [--config FILE] --listen ADDR:PORT [--id NAME] [options]\n\n"
             "Serves ping, download, upload and info over HTTP/1.1 for ispeed agents,\n"
             "and LibreSpeed's garbage.php, empty.php and getIP.php. Every option but\n"
             "--config, --config-example and --help is also a key of the configuration\n"
             "file, which the command line overrides.",
    .epilog = VNTIME_HELP,
    .config_path = CONFIG_PATH,
    .config = 1,
    .defs = options,
    .ndefs = sizeof options / sizeof *options,
};

/* 0 to run, 1 after --help or --config-example, 2 on bad usage, -1 on a
 * failure (all reported). */
static int parse_args(int argc, char **argv, server_config *cfg) {
    int action;
    memset(cfg, 0, sizeof *cfg);
    int ex = opttab_main(&spec, cfg, argc, argv, 0, NULL, &action);
    if (action == ACT_EXAMPLE) opttab_print_example(stdout, &spec);
    if (ex >= 0 || action) return ex == 0 || action ? 1 : ex == 2 ? 2 : -1;
    if (!cfg->listen || !*cfg->listen) {
        fprintf(stderr, "ispeed-server: --listen ADDR:PORT is required, e.g. --listen 0.0.0.0:8080 or listen = "
                        "0.0.0.0:8080 in " CONFIG_PATH "\n");
        return 2;
    }
    return 0;
}

#define MAX_WORKERS 64

/* A worker beyond the first: its own loop and server on a thread. */
typedef struct worker {
    pthread_t thread;
    int running;
    struct event_base *base;
    struct event *stop;
    testhttp_t *srv;
} worker;

/* The stop pipe's write end was closed: leave the loop. */
static void on_stop(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

static void *worker_run(void *arg) {
    worker *w = arg;
    if (event_base_dispatch(w->base) < 0) log_error("server", "worker event loop failed");
    return NULL;
}

static void on_signal(evutil_socket_t sig, short what, void *arg) {
    struct event_base *base = arg;
    (void)what;
    log_info("server", "stopping signal=%s", sig == SIGINT ? "SIGINT" : "SIGTERM");
    event_base_loopbreak(base);
}

int main(int argc, char **argv) {
    server_config cfg;
    char host[65], err[512];
    struct event_base *base = NULL;
    struct event *sigint = NULL, *sigterm = NULL;
    endpoints_t *ep = NULL;
    testhttp_t *srv = NULL;
    payload_t *pl = NULL;
    tickets_t *tickets = NULL;
    worker workers[MAX_WORKERS];
    int nworkers = 0, stop_pipe[2] = {-1, -1};
    sigset_t block, old;
    int rc = 2, r;

    memset(workers, 0, sizeof workers);
    memset(&cfg, 0, sizeof cfg);
    if (vntime_clock_start("ispeed-server") < 0) return 2;
    r = parse_args(argc, argv, &cfg);
    if (r != 0) {
        rc = r == 1 ? 0 : r == 2 ? 2 : 1;
        goto done;
    }
    if (!cfg.workers) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        cfg.workers = n < 1 ? 1 : n > 16 ? 16 : n;
    }
    if (!cfg.id) {
        if (gethostname(host, sizeof host - 1) < 0 || !host[0]) snprintf(host, sizeof host, "ispeed-server");
        host[sizeof host - 1] = '\0';
    }
    const char *id = cfg.id ? cfg.id : host;
    ep = endpoints_new(id, err, sizeof err);
    if (!ep) {
        fprintf(stderr, "ispeed-server: %s\n", err);
        goto done;
    }
    if (cfg.key) {
        uint8_t pk[SIGN_PUBLIC_BYTES], sk[SIGN_SECRET_BYTES];
        char hex[2 * SIGN_PUBLIC_BYTES + 1];
        int created = 0;
        rc = 1;
        if (sign_init() < 0 || trust_key_load(cfg.key, 1, pk, sk, &created, err, sizeof err) < 0 ||
            !(tickets = tickets_new(sk, (size_t)cfg.max_tickets, TICKET_TTL_MS, err, sizeof err))) {
            fprintf(stderr, "ispeed-server: --key: %s\n", err);
            goto done;
        }
        trust_hex(pk, SIGN_PUBLIC_BYTES, hex);
        /* The line for the collector's servers.csv, on stdout so a script can keep it. */
        printf("%s,%s,%s\n", tickets_server_id(tickets), hex, id);
        fflush(stdout);
        log_info("server", "attesting server_id=%s key=%s created=%d", tickets_server_id(tickets), cfg.key, created);
        endpoints_set_tickets(ep, tickets);
    }
    rc = 1;
    /* A client that vanishes mid-answer must cost an error code, not the process. */
    signal(SIGPIPE, SIG_IGN);
    if (!(pl = payload_new(PAYLOAD_DEFAULT_SIZE, err, sizeof err))) {
        fprintf(stderr, "ispeed-server: %s\n", err);
        goto done;
    }
    base = event_base_new();
    if (!base) {
        fprintf(stderr, "ispeed-server: cannot create the event loop\n");
        goto done;
    }
    srv = testhttp_new(base,
                          &(testhttp_opts){.listen = cfg.listen,
                                              .idle_timeout_s = (int)cfg.idle_timeout_s,
                                              .header_timeout_s = (int)cfg.header_timeout_s,
                                              .max_conns = (size_t)cfg.max_conns,
                                              .payload = pl,
                                              .group = cfg.workers > 1 ? TESTHTTP_LISTEN_GROUP_FIRST
                                                                       : TESTHTTP_LISTEN_ALONE},
                          ep, err, sizeof err);
    if (!srv) {
        fprintf(stderr, "ispeed-server: %s\n", err);
        goto done;
    }
    sigint = evsignal_new(base, SIGINT, on_signal, base);
    sigterm = evsignal_new(base, SIGTERM, on_signal, base);
    if (!sigint || !sigterm || event_add(sigint, NULL) < 0 || event_add(sigterm, NULL) < 0) {
        fprintf(stderr, "ispeed-server: cannot install signal handlers\n");
        goto done;
    }
    if (pipe2(stop_pipe, O_CLOEXEC) < 0) {
        fprintf(stderr, "ispeed-server: cannot create a pipe: %s\n", strerror(errno));
        goto done;
    }
    /* Signals are the first loop's: the workers' threads never take them. */
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    for (nworkers = 0; nworkers < cfg.workers - 1; nworkers++) {
        worker *w = &workers[nworkers];
        w->base = event_base_new();
        if (!w->base) {
            snprintf(err, sizeof err, "cannot start worker %d: no event loop", nworkers + 2);
            break;
        }
        w->srv = testhttp_new(w->base,
                                 &(testhttp_opts){.listen = testhttp_address(srv),
                                                     .idle_timeout_s = (int)cfg.idle_timeout_s,
                                                     .header_timeout_s = (int)cfg.header_timeout_s,
                                                     .max_conns = (size_t)cfg.max_conns,
                                                     .payload = pl,
                                                     .group = TESTHTTP_LISTEN_GROUP_JOIN},
                                 ep, err, sizeof err);
        w->stop = event_new(w->base, stop_pipe[0], EV_READ, on_stop, w->base);
        if (!w->srv || !w->stop || event_add(w->stop, NULL) < 0) break;
        if (pthread_create(&w->thread, NULL, worker_run, w) != 0) {
            snprintf(err, sizeof err, "cannot start worker thread %d", nworkers + 2);
            break;
        }
        w->running = 1;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (nworkers < cfg.workers - 1) {
        nworkers++; /* the one that failed is cleaned up too */
        fprintf(stderr, "ispeed-server: %s\n", err);
        goto done;
    }
    log_info("server", "listening addr=%s id=%s version=%s workers=%d", testhttp_address(srv), id,
             ISPEED_VERSION, (int)cfg.workers);
    if (event_base_dispatch(base) < 0) {
        log_error("server", "event loop failed");
        goto done;
    }
    rc = 0;
    log_info("server", "stopped addr=%s", testhttp_address(srv));
done:
    /* Every worker sees end of file on the pipe and leaves its loop. */
    if (stop_pipe[1] >= 0) close(stop_pipe[1]);
    for (int i = 0; i < nworkers; i++) {
        worker *w = &workers[i];
        if (w->running) pthread_join(w->thread, NULL);
        if (w->stop) event_free(w->stop);
        testhttp_free(w->srv);
        if (w->base) event_base_free(w->base);
    }
    if (stop_pipe[0] >= 0) close(stop_pipe[0]);
    if (sigint) event_free(sigint);
    if (sigterm) event_free(sigterm);
    testhttp_free(srv);
    endpoints_free(ep);
    payload_free(pl);
    tickets_free(tickets);
    if (base) event_base_free(base);
    opttab_free(&spec, &cfg);
    free(cfg.log_level); /* set by set_log_level, which opttab does not own */
    return rc;
}
