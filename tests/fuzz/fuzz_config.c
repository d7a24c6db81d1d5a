/* libFuzzer target: configuration files. The agent's (agent/config.c: its
 * option table over inih, then command-line flags over the file) and the
 * collector's and server's (common/conffile.c: the file turned into long
 * options before the command line). Volunteers edit agent.conf by hand; a
 * mistake must be reported with its key, never crash the daemon.
 *
 * Input: byte 0's low bit picks conffile; the file is the text up to the
 * first NUL; after it, NUL-separated flag/value pairs for config_set_flag
 * (the agent) or extra command-line words (conffile). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "conffile.h"
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what) {
    fprintf(stderr, "fuzz_config: %s\n", what);
    abort();
}

/* The shape of the collector's and the server's tables: options with and
 * without values, a section of their own, a repeatable key, and a Kafka
 * pass-through section. */
static const conffile_option options[] = {
    {"units", 1, NULL, NULL, "/usr/share/ispeed/units.csv", "FILE", "registry", 0},
    {"log-level", 1, NULL, "info", NULL, "LEVEL", "log level", 0},
    {"replay", 0, NULL, NULL, NULL, NULL, "count every sample in its month", 0},
    {"checkpoint-interval", 1, NULL, "1000", NULL, "MS", "checkpoint interval", 0},
    {"target-level", 1, "quota", NULL, NULL, "L[:C]=N", "target per level", 1},
    {"daily-cap", 1, "quota", "12", NULL, "N", "daily cap", 0},
    {"bootstrap", 1, "kafka", "localhost:9092", NULL, "HOST:PORT", "brokers", 0},
};
static const conffile_spec spec = {"ispeed-fuzz", NULL, "collector", options, sizeof options / sizeof *options,
                                   "kafka", 'X'};

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
    if (!cfg.commune || !cfg.state_dir || !cfg.brokers || !cfg.topic_prefix) die("a string option lost its value");
    if ((cfg.quiet_start_min < 0) != (cfg.quiet_end_min < 0) || cfg.quiet_start_min >= 24 * 60 ||
        cfg.quiet_end_min >= 24 * 60)
        die("quiet hours out of range");
    if (cfg.duration_s < 1 || cfg.duration_s > 60 || cfg.streams < 1 || cfg.streams > 16) die("an integer out of its bounds");
    config_free(&cfg);
}

static void fuzz_conffile(const char *path, char **words, size_t nwords) {
    char err[512];
    char **argv = calloc(nwords + 4, sizeof *argv);
    int argc = 0;
    argv[argc++] = "ispeed-fuzz";
    argv[argc++] = "--config";
    argv[argc++] = (char *)path;
    /* A --config of the input's would read any file of this machine. */
    for (size_t i = 0; i < nwords; i++)
        if (strncmp(words[i], "--config", 8) != 0) argv[argc++] = words[i];
    err[0] = '\0';
    conffile_args *a = conffile_args_new(&spec, argc, argv, err, sizeof err);
    if (!a) {
        if (!err[0]) die("refused without a message");
        free(argv);
        return;
    }
    int n = conffile_args_argc(a);
    char **out = conffile_args_argv(a);
    if (n < 1 || out[n] != NULL) die("argv not NULL-terminated");
    for (int i = 0; i < n; i++) {
        if (!out[i]) die("a NULL in argv");
        if (strcmp(out[i], "--config") == 0) die("--config passed on");
        const char *o = conffile_args_origin(a, i);
        if (o && strncmp(o, path, strlen(path)) != 0) die("origin does not name the file");
        if (o && out[i][0] != '-') die("a file element that is not an option");
    }
    conffile_args_free(a);
    free(argv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int conffile = data[0] & 1;
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
    if (conffile) fuzz_conffile(path, words, nwords);
    else fuzz_agent(path, words, nwords);
    free(words_buf);
    close(fd);
    return 0;
}
