/* libFuzzer target: configuration files, all read through the one option
 * table (common/opttab.c): the agent's own table (agent/config.c), and a
 * table shaped like the collector's and the server's, parsed as a whole
 * command line with --config. Volunteers and operators edit these files by
 * hand; a mistake must be reported with its key, never crash a daemon.
 *
 * Input: byte 0's low bit picks the collector-shaped table; the file is the
 * text up to the first NUL; after it, NUL-separated flag/value pairs for
 * config_set_flag (the agent) or extra command-line words. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "kafka.h"
#include "opttab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what) {
    fprintf(stderr, "fuzz_config: %s\n", what);
    abort();
}

/* The shape of the collector's and the server's tables: every value type,
 * sections of their own, a repeatable key, a deprecated alias and a Kafka
 * pass-through section. */
typedef struct shaped {
    char *units, *log_level, *bootstrap;
    int replay;
    int64_t checkpoint_ms, daily_cap;
    double behind_share;
    uint64_t max_bytes;
    int attestation;
    opttab_list target_level;
    kafka_props props;
} shaped;
#define OFF(f) offsetof(shaped, f)
static const opttab_def options[] = {
    {.name = "units", .type = OPTTAB_STRING, .offset = OFF(units), .section = "collector", .metavar = "FILE",
     .example = "/usr/share/ispeed/units.csv", .help = "registry"},
    {.name = "log-level", .type = OPTTAB_STRING, .offset = OFF(log_level), .section = "collector", .def = "info",
     .help = "log level"},
    {.name = "replay", .type = OPTTAB_FLAG, .offset = OFF(replay), .section = "collector", .help = "replay"},
    {.name = "checkpoint-interval", .type = OPTTAB_DURATION, .offset = OFF(checkpoint_ms), .section = "collector",
     .def = "1s", .lo = 100, .hi = 3600000, .bare_ms = 1, .help = "checkpoint interval"},
    {.name = "daily-cap", .type = OPTTAB_INT, .offset = OFF(daily_cap), .section = "quota", .def = "12", .lo = 0,
     .hi = 1000, .help = "daily cap"},
    {.name = "behind-share", .type = OPTTAB_FRACTION, .offset = OFF(behind_share), .section = "quota", .def = "0.8",
     .help = "behind share"},
    {.name = "max-bytes", .type = OPTTAB_SIZE, .offset = OFF(max_bytes), .section = "quota", .def = "1M", .lo = 1,
     .hi = 1 << 30, .help = "a size"},
    {.name = "attestation", .type = OPTTAB_CHOICE, .offset = OFF(attestation), .section = "trust",
     .def = "required", .choices = "required|optional", .help = "a choice"},
    {.name = "target-level", .type = OPTTAB_LIST, .offset = OFF(target_level), .section = "quota",
     .metavar = "L[:C]=N", .help = "target per level"},
    {.name = "bootstrap", .short_name = 'b', .type = OPTTAB_STRING, .offset = OFF(bootstrap), .section = "kafka",
     .alias = "brokers", .def = "localhost:9092", .help = "brokers"},
};
static const opttab_spec spec = {.program = "ispeed-fuzz", .usage = "usage", .config = 1, .defs = options,
                                 .ndefs = sizeof options / sizeof *options, .props = 1,
                                 .props_offset = OFF(props), .passthrough = "kafka"};

static void fuzz_agent(const char *path, char **words, size_t nwords) {
    agent_config cfg;
    char err[512];
    if (config_init(&cfg, err, sizeof err) < 0) die(err);
    err[0] = '\0';
    if (config_load_file(&cfg, path, err, sizeof err) < 0 && !err[0]) die("file refused without a message");
    for (size_t i = 0; i + 1 < nwords; i += 2) {
        err[0] = '\0';
        if (config_set_flag(&cfg, words[i], words[i + 1], err, sizeof err) < 0 && !err[0])
            die("flag refused without a message");
    }
    if (cfg.nservers > CONFIG_MAX_SERVERS) die("more servers than the table holds");
    for (size_t i = 0; i < cfg.nservers; i++)
        if (!cfg.servers[i] || strncmp(cfg.servers[i], "http", 4) != 0) die("a server that is not a URL");
    if (!cfg.commune || !cfg.state_dir || !cfg.bootstrap || !cfg.topic_prefix) die("a string option lost its value");
    if ((cfg.quiet_start_min < 0) != (cfg.quiet_end_min < 0) || cfg.quiet_start_min >= 24 * 60 ||
        cfg.quiet_end_min >= 24 * 60)
        die("quiet hours out of range");
    if (cfg.duration_s < 1 || cfg.duration_s > 60 || cfg.streams < 1 || cfg.streams > 16) die("an integer out of its bounds");
    config_free(&cfg);
}

static void fuzz_table(const char *path, char **words, size_t nwords) {
    char err[512];
    char **argv = calloc(nwords + 4, sizeof *argv);
    int argc = 0;
    argv[argc++] = "ispeed-fuzz";
    argv[argc++] = "--config";
    argv[argc++] = (char *)path;
    /* A --config of the input's would read any file of this machine. */
    for (size_t i = 0; i < nwords; i++)
        if (strncmp(words[i], "--config", 8) != 0 && strcmp(words[i], "--") != 0) argv[argc++] = words[i];
    shaped cfg;
    memset(&cfg, 0, sizeof cfg);
    err[0] = '\0';
    int nops = 0;
    int rc = opttab_parse(&spec, 0, &cfg, argc, argv, &nops, err, sizeof err);
    if (rc < 0 && !err[0]) die("refused without a message");
    if (rc == OPTTAB_OK) {
        /* What was accepted keeps the table's promises. */
        if (!cfg.log_level || !cfg.bootstrap) die("a string with a default lost its value");
        if (cfg.checkpoint_ms < 100 || cfg.checkpoint_ms > 3600000) die("a duration out of its bounds");
        if (cfg.daily_cap < 0 || cfg.daily_cap > 1000) die("an integer out of its bounds");
        if (!(cfg.behind_share > 0.0 && cfg.behind_share <= 1.0)) die("a fraction out of (0, 1]");
        if (cfg.max_bytes < 1 || cfg.max_bytes > (1u << 30)) die("a size out of its bounds");
        if (cfg.attestation < 0 || cfg.attestation > 1) die("a choice out of its list");
        for (size_t i = 0; i < cfg.target_level.n; i++)
            if (!cfg.target_level.v[i]) die("a NULL in a list");
        if (nops < 0 || nops > argc) die("operands out of range");
    }
    opttab_free(&spec, &cfg);
    free(argv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int table = data[0] & 1;
    const uint8_t *p = data + 1, *end = data + size;
    const uint8_t *nul = memchr(p, '\0', (size_t)(end - p));
    size_t flen = nul ? (size_t)(nul - p) : (size_t)(end - p);
    char path[64];
    int fd = memfd_create("fuzz.conf", MFD_CLOEXEC);
    if (fd < 0 || (flen && write(fd, p, flen) != (ssize_t)flen)) die("memfd");
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);

    /* The words after the file, each NUL-terminated (the last one too). */
    char *words_buf = NULL, *words[16];
    size_t nwords = 0;
    if (nul) {
        size_t wl = (size_t)(end - nul - 1);
        words_buf = malloc(wl + 1);
        memcpy(words_buf, nul + 1, wl);
        words_buf[wl] = '\0';
        for (char *w = words_buf; w <= words_buf + wl && nwords < 16; w += strlen(w) + 1) words[nwords++] = w;
    }
    if (table) fuzz_table(path, words, nwords);
    else fuzz_agent(path, words, nwords);
    free(words_buf);
    close(fd);
    return 0;
}
