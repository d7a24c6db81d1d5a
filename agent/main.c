/* ispeed-agent: command-line entry. `test` runs one speed test now (with
 * --produce it is signed, spooled and sent to Kafka); `enroll` sends the
 * agent's public key; `run` is the scheduling daemon; `status` shows what
 * the agent has done and holds. */
#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentstate.h"
#include "config.h"
#include "daemon.h"
#include "identity.h"
#include "log.h"
#include "vntime.h"
#include "measure.h"
#include "session.h"
#include "trust.h"
#include "vntime.h"

#define AGENT_FLUSH_MS 10000

typedef struct agent_cli {
    agent_config cfg;
} agent_cli;

#define USAGE                                                                                                  \
    "usage: ispeed-agent test --server URL [--json] [--duration S] [--streams N]\n"                            \
    "                         [--commune CODE -b BOOTSTRAP --produce]\n"                                       \
    "       ispeed-agent enroll --commune CODE -b BOOTSTRAP [--token T] [--state-dir DIR]\n"                   \
    "       ispeed-agent withdraw --commune CODE -b BOOTSTRAP [--state-dir DIR]\n"                            \
    "       ispeed-agent run [--config FILE]\n"                                                               \
    "       ispeed-agent status [--json] [--state-dir DIR]\n"                                                 \
    "       ispeed-agent config-example\n"                                                                    \
    "\n"                                                                                                      \
    "Measures Internet speed against ispeed-server or a LibreSpeed backend and\n"                             \
    "reports signed samples to Kafka for Vietnam's per-commune quota. Every\n"                                \
    "sample is stored in a durable spool before it is sent and leaves it only\n"                              \
    "when Kafka has acknowledged it. run reads " CONFIG_DEFAULT_PATH " unless\n"                              \
    "--config names another file; the flags override the file."

static void usage(FILE *out) {
    config_print_help(out, USAGE, 0);
    fprintf(out, "\nExit status: 0 success (also when Kafka is unreachable and the sample stays\n"
                 "spooled), 1 failure, 2 bad usage.\n\n" VNTIME_HELP "\n");
}

static int bad_usage(const char *what) {
    fprintf(stderr, "ispeed-agent: %s; see ispeed-agent --help\n", what);
    return 2;
}

/* Reads the flags after the command: defaults, the file, then the flags,
 * whatever their order. Returns 0, 2 on bad usage (message printed) or -1
 * when --help was answered. */
static int parse_cli(int argc, char **argv, unsigned cmd, const char *default_config, agent_cli *cli) {
    char err[600];
    int rc = config_parse_args(&cli->cfg, cmd, argc, argv, default_config, err, sizeof err);
    if (rc == CONFIG_ACT_HELP) {
        usage(stdout);
        return -1;
    }
    if (rc < 0) return bad_usage(err);
    enum log_level level;
    if (log_parse_level(cli->cfg.log_level, &level) < 0) return bad_usage("log_level must be error, warn, info or debug");
    log_set_level(level);
    if (vntime_clock_start("ispeed-agent") < 0) return 2;
    return 0;
}

/* Waits for Kafka's acknowledgements; what is not acknowledged stays in the
 * spool for the next run or the daemon. Returns what is still spooled. */
static uint64_t flush_or_warn(session *s) {
    uint64_t left = outbox_flush(s->outbox, AGENT_FLUSH_MS);
    session_save_state(s);
    if (left)
        log_warn("agent", "Kafka at %s did not confirm within %d s; %" PRIu64
                 " record(s) stay spooled in %s/spool and go out with the next run",
                 s->cfg->bootstrap, AGENT_FLUSH_MS / 1000, left, s->cfg->state_dir);
    return left;
}

static int cmd_test(agent_cli *cli) {
    char err[512];
    session s;
    measure_result r;
    struct event_base *base = NULL;
    int have_session = 0;
    agent_config *cfg = &cli->cfg;

    if (cfg->nservers == 0) return bad_usage("test needs --server URL");
    if (cli->cfg.produce && (!*cfg->commune || !*cfg->bootstrap))
        return bad_usage("--produce needs --commune CODE and -b BOOTSTRAP");
    /* The commune, registry and state are checked before a byte is spent. */
    if (cli->cfg.produce) {
        if (session_open(&s, cfg, 30000, err, sizeof err) < 0) goto fail;
        have_session = 1;
        if (session_enroll(&s, 0, err, sizeof err) < 0) goto fail;
    }
    measure_opts mo = {.servers = (const char *const *)cfg->servers, .nservers = cfg->nservers,
                       .duration_s = (int)cfg->duration_s, .streams = (int)cfg->streams,
                       .max_bytes = cfg->max_bytes, .pings = 10};
    /* Only a produced sample needs a receipt: a plain test stays unattested. */
    if (have_session) mo.tickets = session_get_tickets(&s);
    if (!(base = event_base_new())) {
        snprintf(err, sizeof err, "cannot create the event loop");
        goto fail;
    }
    if (measure_run(base, &mo, &r, err, sizeof err) < 0) goto fail;
    if (cli->cfg.json)
        measure_print_json(stdout, &r);
    else
        measure_print_human(stdout, &r);
    fflush(stdout);
    if (have_session) {
        uint64_t seq;
        if (session_put_result(&s, &r, &seq, err, sizeof err) < 0) goto fail;
        if (flush_or_warn(&s) == 0)
            log_info("agent", "sample delivered agent=%s seq=%" PRIu64 " commune=%s outcome=%s",
                     identity_agent_id(s.id), seq, s.ctx.commune->code, measure_outcome_name(r.outcome));
        session_close(&s);
    }
    event_base_free(base);
    return 0;
fail:
    fprintf(stderr, "ispeed-agent: %s\n", err);
    if (have_session) session_close(&s);
    if (base) event_base_free(base);
    return 1;
}

static int cmd_enroll(agent_cli *cli) {
    char err[512];
    session s;
    if (!*cli->cfg.commune || !*cli->cfg.bootstrap) return bad_usage("enroll needs --commune CODE and -b BOOTSTRAP");
    if (*cli->cfg.token) {
        /* A token pasted wrong, or for another commune, is said here rather
         * than found out as a rejected enrollment at the collector. */
        trust_token t;
        int named = 0;
        if (trust_token_decode(cli->cfg.token, &t, err, sizeof err) != TRUST_OK) {
            fprintf(stderr, "ispeed-agent: --token: %s; paste the whole ispt1.... string your province gave\n", err);
            return 2;
        }
        for (size_t i = 0; i < t.ncommunes; i++) named |= strcmp(t.communes[i], cli->cfg.commune) == 0;
        if (!named) {
            fprintf(stderr, "ispeed-agent: --token does not name commune %s; ask your province for a token for it\n",
                    cli->cfg.commune);
            return 2;
        }
    }
    if (session_open(&s, &cli->cfg, 30000, err, sizeof err) < 0) goto fail;
    if (session_enroll(&s, *cli->cfg.token != '\0', err, sizeof err) < 0) goto fail_session;
    if (outbox_flush(s.outbox, AGENT_FLUSH_MS) != 0 || !identity_is_enrolled(s.id, s.ctx.commune->code)) {
        session_save_state(&s);
        snprintf(err, sizeof err, "Kafka at %s did not confirm the enrollment within %d s; it stays spooled in %s "
                 "and goes out with the next test or the daemon; check -b", cli->cfg.bootstrap, AGENT_FLUSH_MS / 1000,
                 cli->cfg.state_dir);
        goto fail_session;
    }
    session_save_state(&s);
    printf("enrolled agent %s for commune %s (%s)\n", identity_agent_id(s.id), s.ctx.commune->code,
           s.ctx.commune->name);
    session_close(&s);
    return 0;
fail_session:
    session_close(&s);
fail:
    fprintf(stderr, "ispeed-agent: %s\n", err);
    return 1;
}

/* Withdraws this agent from ispeed.agents with a record signed by its own
 * key: the collector honours no unsigned tombstone. */
static int cmd_withdraw(agent_cli *cli) {
    char err[512];
    session s;
    uint8_t *buf = NULL;
    size_t len;
    if (!*cli->cfg.commune || !*cli->cfg.bootstrap) return bad_usage("withdraw needs --commune CODE and -b BOOTSTRAP");
    if (session_open(&s, &cli->cfg, 30000, err, sizeof err) < 0) goto fail;
    if (record_withdrawal(&s.ctx, vntime_now_ms(), &buf, &len, err, sizeof err) < 0) goto fail_session;
    int rc = outbox_put(s.outbox, "agents", identity_agent_id(s.id), buf, len, err, sizeof err);
    free(buf);
    if (rc < 0) goto fail_session;
    if (outbox_flush(s.outbox, AGENT_FLUSH_MS) != 0) {
        session_save_state(&s);
        snprintf(err, sizeof err, "Kafka at %s did not confirm the withdrawal within %d s; it stays spooled in %s; check -b",
                 cli->cfg.bootstrap, AGENT_FLUSH_MS / 1000, cli->cfg.state_dir);
        goto fail_session;
    }
    session_save_state(&s);
    printf("withdrew agent %s (signed with its key)\n", identity_agent_id(s.id));
    session_close(&s);
    return 0;
fail_session:
    session_close(&s);
fail:
    fprintf(stderr, "ispeed-agent: %s\n", err);
    return 1;
}

static int cmd_status(agent_cli *cli) {
    char err[512];
    agentstate st;
    /* Read-only: never creates an identity, never takes the daemon's lock. */
    identity_t *id = identity_open(cli->cfg.state_dir, 0, err, sizeof err);
    if (!id && errno != ENOENT) goto fail;
    if (agentstate_load(cli->cfg.state_dir, &st, err, sizeof err) < 0) goto fail;
    snprintf(st.enrolled_commune, sizeof st.enrolled_commune, "%s", id ? identity_enrolled_commune(id) : "");
    agentstate_print(stdout, &st, id ? identity_agent_id(id) : "", cli->cfg.json);
    identity_close(id);
    return 0;
fail:
    identity_close(id);
    fprintf(stderr, "ispeed-agent: %s\n", err);
    return 1;
}

static int cmd_run(agent_cli *cli) {
    char err[512];
    if (daemon_run(&cli->cfg, err, sizeof err) < 0) {
        fprintf(stderr, "ispeed-agent: %s\n", err);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    static const struct {
        const char *name;
        int (*run)(agent_cli *);
        unsigned cmd;
        const char *default_config;
    } commands[] = {
        {"test", cmd_test, CONFIG_CMD_TEST, NULL},
        {"enroll", cmd_enroll, CONFIG_CMD_ENROLL, NULL},
        {"withdraw", cmd_withdraw, CONFIG_CMD_WITHDRAW, NULL},
        {"status", cmd_status, CONFIG_CMD_STATUS, NULL},
        {"run", cmd_run, CONFIG_CMD_RUN, CONFIG_DEFAULT_PATH},
    };
    agent_cli cli;
    memset(&cli, 0, sizeof cli);
    /* One malloc arena for all threads (librdkafka's, the resolver's): the
     * agent allocates little and rarely, and each extra arena costs resident
     * pages on a volunteer's small machine. */
    mallopt(M_ARENA_MAX, 1);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("ispeed-agent %s\n", ISPEED_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "config-example") == 0) {
        config_print_example(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
        if (strcmp(argv[1], commands[i].name) != 0) continue;
        int rc = parse_cli(argc - 1, argv + 1, commands[i].cmd, commands[i].default_config, &cli);
        if (rc == 0) rc = commands[i].run(&cli);
        config_free(&cli.cfg);
        return rc < 0 ? 0 : rc;
    }
    char msg[128];
    snprintf(msg, sizeof msg, "unknown command '%.40s' (test, enroll, withdraw, run, status or config-example)", argv[1]);
    return bad_usage(msg);
}
