/* ispeed-server: the HTTP test endpoint agents measure against. main owns
 * the options, the signals and the event loops: one per worker thread, each
 * with its own socket on the port (as nginx runs a worker per CPU, because
 * 200 parallel downloads keep more than one core busy in the kernel); http.c
 * serves, endpoints.c answers. Workers share nothing but read-only state
 * (endpoints, payload, log level) and the connection limit. */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conffile.h"
#include "endpoints.h"
#include "http.h"
#include "log.h"
#include "payload.h"
#include "sign.h"
#include "tickets.h"
#include "trust.h"

/* A ticket lives through its test (at most a few minutes) and the receipt
 * request after it; then it is dropped. */
#define TICKET_TTL_MS (10 * 60 * 1000)

typedef struct server_config {
    const char *listen;
    const char *id;
    const char *log_level;
    int idle_timeout_s;
    int header_timeout_s;
    int max_conns;
    int workers;
    const char *key;
    int max_tickets;
} server_config;

enum opt_type { OPT_STR, OPT_INT };

#define CONFIG_PATH "/etc/ispeed/server.conf"

/* Every option once: parsing, defaults, --help and the configuration file
 * (same names, under [server]) come from this table. */
static const struct server_option {
    const char *name;
    enum opt_type type;
    const char *def;
    const char *example; /* no default: what deploy/server.conf.example sets */
    size_t offset;
    const char *metavar;
    const char *help;
} options[] = {
    {"listen", OPT_STR, NULL, "0.0.0.0:8080", offsetof(server_config, listen), "ADDR:PORT",
     "address to serve on, e.g. 0.0.0.0:8080 or [::]:8080 (required)"},
    {"id", OPT_STR, NULL, NULL, offsetof(server_config, id), "NAME",
     "name reported by /ispeed/v1/info (default: host name)"},
    {"log-level", OPT_STR, "info", NULL, offsetof(server_config, log_level), "L", "error, warn, info or debug"},
    {"idle-timeout", OPT_INT, "30", NULL, offsetof(server_config, idle_timeout_s), "S",
     "close a connection idle or without progress for S seconds"},
    {"header-timeout", OPT_INT, "10", NULL, offsetof(server_config, header_timeout_s), "S",
     "a request header must arrive within S seconds"},
    {"max-conns", OPT_INT, "4096", NULL, offsetof(server_config, max_conns), "N", "most connections served at once"},
    {"workers", OPT_INT, NULL, NULL, offsetof(server_config, workers), "N",
     "event loops, each on its own thread (default: one per CPU, at most 16)"},
    {"key", OPT_STR, NULL, NULL, offsetof(server_config, key), "FILE",
     "Ed25519 key that signs test receipts, created (mode 0600) if missing (default: no attestation)"},
    {"max-tickets", OPT_INT, "4096", NULL, offsetof(server_config, max_tickets), "N",
     "most test tickets held at once; the oldest gives way"},
};
#define NOPTIONS (sizeof options / sizeof options[0])

static conffile_option conf_options[NOPTIONS];
static const conffile_spec conf_spec = {
    .program = "ispeed-server",
    .path = CONFIG_PATH,
    .section = "server",
    .options = conf_options,
    .noptions = NOPTIONS,
};

/* The file's view of the table. */
static void conf_spec_init(void) {
    for (size_t i = 0; i < NOPTIONS; i++)
        conf_options[i] = (conffile_option){.name = options[i].name,
                                            .has_arg = 1,
                                            .def = options[i].def,
                                            .example = options[i].example,
                                            .metavar = options[i].metavar,
                                            .help = options[i].help};
}

static void usage(FILE *out) {
    fprintf(out, "usage: ispeed-server [--config FILE] --listen ADDR:PORT [--id NAME] [options]\n\n"
                 "Serves ping, download, upload and info over HTTP/1.1 for ispeed agents,\n"
                 "and LibreSpeed's garbage.php, empty.php and getIP.php. Every option but\n"
                 "--config, --config-example and --help is also a key of the configuration\n"
                 "file, which the command line overrides.\n\noptions:\n");
    fprintf(out, "  %-26s %s\n", "--config FILE",
            "read options from this INI file first (default " CONFIG_PATH ", if it exists); "
            "the command line wins");
    for (size_t i = 0; i < NOPTIONS; i++) {
        char left[48];
        snprintf(left, sizeof left, "--%s %s", options[i].name, options[i].metavar);
        fprintf(out, "  %-26s %s", left, options[i].help);
        if (options[i].def) fprintf(out, " [%s]", options[i].def);
        fputc('\n', out);
    }
    fprintf(out, "  %-26s %s\n", "--config-example", "print every configuration key with its default");
    fprintf(out, "  %-26s %s\n", "--help", "show this help");
}

/* argv[i]'s place in the configuration file, if it came from there. */
static const conffile_args *conf_args;

static int option_set(server_config *cfg, const struct server_option *o, const char *value, int argi) {
    char *p = (char *)cfg + o->offset;
    const char *where = conffile_args_origin(conf_args, argi);

    if (o->type == OPT_STR) {
        enum log_level level;
        if (o->offset == offsetof(server_config, log_level) && log_parse_level(value, &level) < 0) {
            fprintf(stderr, "ispeed-server: %s%sbad --log-level '%s': use error, warn, info or debug\n",
                    where ? where : "", where ? ": " : "", value);
            return -1;
        }
        *(const char **)p = value;
        return 0;
    }
    char *end;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (errno || *end || end == value || v < 1 || v > 1000000) {
        fprintf(stderr, "ispeed-server: %s%s--%s must be a whole number from 1 to 1000000, got '%s'\n",
                where ? where : "", where ? ": " : "", o->name, value);
        return -1;
    }
    *(int *)p = (int)v;
    return 0;
}

/* 0 to run, 1 after --help, 2 after --config-example, -1 on bad usage
 * (already reported). */
static int parse_args(int argc, char **argv, server_config *cfg) {
    struct option longopts[NOPTIONS + 3];
    int c, idx;

    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < NOPTIONS; i++) {
        if (options[i].def && option_set(cfg, &options[i], options[i].def, -1) < 0) return -1;
        longopts[i] = (struct option){options[i].name, required_argument, NULL, (int)i};
    }
    longopts[NOPTIONS] = (struct option){"help", no_argument, NULL, 'h'};
    longopts[NOPTIONS + 1] = (struct option){"config-example", no_argument, NULL, 'E'};
    longopts[NOPTIONS + 2] = (struct option){NULL, 0, NULL, 0};
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, &idx)) != -1) {
        if (c == 'h') return 1;
        if (c == 'E') return 2;
        if (c == '?') {
            fprintf(stderr, "ispeed-server: unknown option '%s'; see ispeed-server --help\n", argv[optind - 1]);
            return -1;
        }
        if (c == ':') {
            fprintf(stderr, "ispeed-server: option '%s' needs a value; see ispeed-server --help\n", argv[optind - 1]);
            return -1;
        }
        if (option_set(cfg, &options[c], optarg, optind - 1) < 0) return -1;
    }
    if (optind < argc) {
        fprintf(stderr, "ispeed-server: unexpected argument '%s'; see ispeed-server --help\n", argv[optind]);
        return -1;
    }
    if (!cfg->listen) {
        fprintf(stderr, "ispeed-server: --listen ADDR:PORT is required, e.g. --listen 0.0.0.0:8080 or listen = "
                        "0.0.0.0:8080 in " CONFIG_PATH "\n");
        return -1;
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
    http_server_t *srv;
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
    enum log_level level;
    char host[65], err[512];
    struct event_base *base = NULL;
    struct event *sigint = NULL, *sigterm = NULL;
    endpoints_t *ep = NULL;
    tickets_t *tickets = NULL;
    http_server_t *srv = NULL;
    worker workers[MAX_WORKERS];
    int nworkers = 0, stop_pipe[2] = {-1, -1};
    sigset_t block, old;
    int rc = 2, r;
    conffile_args *ca;

    /* The configuration file's keys become options before the command
     * line's, so one parser reads both and the command line wins. */
    memset(workers, 0, sizeof workers);
    conf_spec_init();
    if (!(ca = conffile_args_new(&conf_spec, argc, argv, err, sizeof err))) {
        fprintf(stderr, "ispeed-server: %s\n", err);
        return 2;
    }
    conf_args = ca;
    r = parse_args(conffile_args_argc(ca), conffile_args_argv(ca), &cfg);
    if (r == 1 || r == 2) {
        if (r == 1) usage(stdout);
        else conffile_print_example(stdout, &conf_spec);
        rc = 0;
        goto done;
    }
    if (r < 0) goto done;
    if (log_parse_level(cfg.log_level, &level) < 0) {
        fprintf(stderr, "ispeed-server: bad --log-level '%s': use error, warn, info or debug\n", cfg.log_level);
        goto done;
    }
    log_set_level(level);
    if (!cfg.workers) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        cfg.workers = n < 1 ? 1 : n > 16 ? 16 : (int)n;
    }
    if (cfg.workers > MAX_WORKERS) {
        fprintf(stderr, "ispeed-server: --workers %d is too many: use 1 to %d\n", cfg.workers, MAX_WORKERS);
        goto done;
    }
    if (!cfg.id) {
        if (gethostname(host, sizeof host - 1) < 0 || !host[0]) snprintf(host, sizeof host, "ispeed-server");
        host[sizeof host - 1] = '\0';
        cfg.id = host;
    }
    ep = endpoints_new(cfg.id, err, sizeof err);
    if (!ep) {
        fprintf(stderr, "ispeed-server: %s\n", err);
        goto done;
    }
    if (cfg.max_tickets < 1) {
        fprintf(stderr, "ispeed-server: --max-tickets %d: use a positive number\n", cfg.max_tickets);
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
        printf("%s,%s,%s\n", tickets_server_id(tickets), hex, cfg.id);
        fflush(stdout);
        log_info("server", "attesting server_id=%s key=%s created=%d", tickets_server_id(tickets), cfg.key, created);
        endpoints_set_tickets(ep, tickets);
    }
    rc = 1;
    /* A client that vanishes mid-answer must cost an error code, not the process. */
    signal(SIGPIPE, SIG_IGN);
    if (payload_init(err, sizeof err) < 0) {
        fprintf(stderr, "ispeed-server: %s\n", err);
        goto done;
    }
    base = event_base_new();
    if (!base) {
        fprintf(stderr, "ispeed-server: cannot create the event loop\n");
        goto done;
    }
    srv = http_server_new(base,
                          &(http_server_opts){.listen = cfg.listen,
                                              .idle_timeout_s = cfg.idle_timeout_s,
                                              .header_timeout_s = cfg.header_timeout_s,
                                              .max_conns = (size_t)cfg.max_conns,
                                              .group = cfg.workers > 1 ? HTTP_LISTEN_GROUP_FIRST
                                                                       : HTTP_LISTEN_ALONE},
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
        w->srv = http_server_new(w->base,
                                 &(http_server_opts){.listen = http_server_address(srv),
                                                     .idle_timeout_s = cfg.idle_timeout_s,
                                                     .header_timeout_s = cfg.header_timeout_s,
                                                     .max_conns = (size_t)cfg.max_conns,
                                                     .group = HTTP_LISTEN_GROUP_JOIN},
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
    log_info("server", "listening addr=%s id=%s version=%s workers=%d", http_server_address(srv), cfg.id,
             ISPEED_VERSION, cfg.workers);
    if (event_base_dispatch(base) < 0) {
        log_error("server", "event loop failed");
        goto done;
    }
    rc = 0;
    log_info("server", "stopped addr=%s", http_server_address(srv));
done:
    /* Every worker sees end of file on the pipe and leaves its loop. */
    if (stop_pipe[1] >= 0) close(stop_pipe[1]);
    for (int i = 0; i < nworkers; i++) {
        worker *w = &workers[i];
        if (w->running) pthread_join(w->thread, NULL);
        if (w->stop) event_free(w->stop);
        http_server_free(w->srv);
        if (w->base) event_base_free(w->base);
    }
    if (stop_pipe[0] >= 0) close(stop_pipe[0]);
    if (sigint) event_free(sigint);
    if (sigterm) event_free(sigterm);
    http_server_free(srv);
    endpoints_free(ep);
    tickets_free(tickets);
    if (base) event_base_free(base);
    conffile_args_free(ca);
    return rc;
}
