/* A province's enrollment authority: `ispeedctl authority init` makes its
 * Ed25519 key, `ispeedctl token issue` signs enrollment tokens with it
 * (formats in common/trust.h). Neither needs Kafka. */
#include "authority.h"

#include <errno.h>
#include <stddef.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "fsutil.h"
#include "registry.h"
#include "opttab.h"
#include "sign.h"
#include "trust.h"
#include "vntime.h"

#define AUTHORITY_KEY_FILE "authority.key"
#define AUTHORITY_CSV_FILE "authority.csv" /* this authority's line of authorities.csv */
#define AUTHORITY_DEFAULT_UNITS "/usr/share/ispeed-collector/units.csv"
#define AUTHORITY_DEFAULT_EXPIRY "30d"

struct init_args {
    char *province, *out, *name;
};
struct issue_args {
    char *key, *units;
    opttab_list commune;
    int64_t uses, expires_ms;
};
enum { ACT_HELP = 1 };

static const opttab_def init_opts[] = {
    {.name = "province", .type = OPTTAB_STRING, .offset = offsetof(struct init_args, province), .metavar = "P",
     .help = "province code (01, 79, ...) or '*' (required)"},
    {.name = "out", .type = OPTTAB_STRING, .offset = offsetof(struct init_args, out), .metavar = "DIR",
     .help = "directory for the key, created if missing (required)"},
    {.name = "name", .type = OPTTAB_STRING, .offset = offsetof(struct init_args, name), .metavar = "NAME",
     .help = "the authority's name in authorities.csv (default: authority-P)"},
    {.name = "help", .short_name = 'h', .type = OPTTAB_ACTION, .id = ACT_HELP, .help = "this text"},
};
static const opttab_spec init_spec = {
    .program = "ispeedctl authority init",
    .usage = "usage: ispeedctl authority init --province P --out DIR [--name NAME]\n\n"
             "Creates DIR/" AUTHORITY_KEY_FILE " (an Ed25519 key, mode 0600) for province P, or for\n"
             "every province with P = '*' (a national authority), and prints the line to add\n"
             "to the collector's authorities.csv (province,public_key_hex,name), also kept in\n"
             "DIR/" AUTHORITY_CSV_FILE ". Refuses to overwrite an existing key.",
    .defs = init_opts,
    .ndefs = sizeof init_opts / sizeof *init_opts,
};

static const opttab_def issue_opts[] = {
    {.name = "key", .type = OPTTAB_STRING, .offset = offsetof(struct issue_args, key), .metavar = "FILE",
     .help = "the authority key; its province is read from authority.csv beside it (required)"},
    {.name = "commune", .type = OPTTAB_LIST, .offset = offsetof(struct issue_args, commune), .metavar = "C",
     .help = "a commune code the token enrolls (1 to 16 of them; repeatable)"},
    {.name = "uses", .type = OPTTAB_INT, .offset = offsetof(struct issue_args, uses), .def = "1", .lo = 1,
     .hi = 100000, .metavar = "N", .help = "enrollments the token allows"},
    {.name = "expires", .type = OPTTAB_DURATION, .offset = offsetof(struct issue_args, expires_ms),
     .def = AUTHORITY_DEFAULT_EXPIRY, .lo = 1000, .bare_ms = 86400000, .metavar = "D",
     .help = "validity from now: 90s, 30m, 12h, 30d, 2w (a bare number is days)"},
    {.name = "units", .type = OPTTAB_STRING, .offset = offsetof(struct issue_args, units), .metavar = "FILE",
     .help = "registry to check the communes against (default " AUTHORITY_DEFAULT_UNITS " if present; none: without)"},
    {.name = "help", .short_name = 'h', .type = OPTTAB_ACTION, .id = ACT_HELP, .help = "this text"},
};
static const opttab_spec issue_spec = {
    .program = "ispeedctl token issue",
    .usage = "usage: ispeedctl token issue --key FILE --commune C [--commune C2 ...] [--uses N]\n"
             "                             [--expires 30d] [--units FILE]\n\n"
             "Prints one enrollment token, signed by the authority key FILE (from 'ispeedctl\n"
             "authority init'), for volunteers to pass to 'ispeed-agent enroll --token'. It\n"
             "names the authority's province, the communes, a number of uses and an expiry.",
    .defs = issue_opts,
    .ndefs = sizeof issue_opts / sizeof *issue_opts,
};

static int province_ok(const char *p) {
    size_t n = strlen(p);
    return strcmp(p, "*") == 0 || (n >= 1 && n <= TRUST_CODE_MAX && strspn(p, "0123456789") == n);
}

/* The key and its authorities.csv line, once the options are read. */
static int authority_create(const char *province, const char *dir, const char *name) {
    char path[4096], err[8192], line[256], hex[2 * SIGN_PUBLIC_BYTES + 1], defname[64];
    uint8_t pk[SIGN_PUBLIC_BYTES], sk[SIGN_SECRET_BYTES];
    int created = 0;

    if (!province || !dir) {
        fputs("ispeedctl authority init: --province and --out are required; see 'ispeedctl authority --help'\n", stderr);
        return 2;
    }
    if (!province_ok(province)) {
        fprintf(stderr, "ispeedctl authority init: province '%s' is not a province code (01, 79) or '*'\n", province);
        return 2;
    }
    if (!name) {
        snprintf(defname, sizeof defname, "authority-%s", strcmp(province, "*") == 0 ? "national" : province);
        name = defname;
    }
    if (strpbrk(name, ",\r\n") || strlen(name) > 100) {
        fputs("ispeedctl authority init: --name must be at most 100 characters, without commas or newlines\n", stderr);
        return 2;
    }
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        fprintf(stderr, "ispeedctl authority init: cannot create %s: %s\n", dir, strerror(errno));
        return 1;
    }
    snprintf(path, sizeof path, "%s/%s", dir, AUTHORITY_KEY_FILE);
    if (access(path, F_OK) == 0) {
        fprintf(stderr, "ispeedctl authority init: %s exists; an authority key is never overwritten (move it away first)\n",
                path);
        return 1;
    }
    if (sign_init() < 0 || trust_key_load(path, 1, pk, sk, &created, err, sizeof err) < 0) {
        fprintf(stderr, "ispeedctl authority init: %s\n", err);
        return 1;
    }
    trust_hex(pk, SIGN_PUBLIC_BYTES, hex);
    snprintf(line, sizeof line, "%s,%s,%s\n", province, hex, name);
    if (fsutil_replace(dir, AUTHORITY_CSV_FILE, line, strlen(line), 0644, err, sizeof err) < 0) {
        fprintf(stderr, "ispeedctl authority init: %s\n", err);
        return 1;
    }
    fputs(line, stdout);
    return 0;
}

static int authority_init(int argc, char **argv) {
    struct init_args args;
    memset(&args, 0, sizeof args);
    int rc = opttab_main(&init_spec, &args, argc, argv, 0, NULL, NULL);
    if (rc < 0) rc = authority_create(args.province, args.out, args.name);
    opttab_free(&init_spec, &args);
    return rc;
}

/* The province in the authority.csv beside the key file. */
static int read_province(const char *keypath, char *out, size_t outsz, char *err, size_t errsz) {
    char path[4096], line[256];
    const char *slash = strrchr(keypath, '/');
    int n = slash ? snprintf(path, sizeof path, "%.*s/%s", (int)(slash - keypath), keypath, AUTHORITY_CSV_FILE)
                  : snprintf(path, sizeof path, "%s", AUTHORITY_CSV_FILE);
    if (n < 0 || (size_t)n >= sizeof path) {
        snprintf(err, errsz, "key path too long");
        return -1;
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errsz, "cannot read %s (written by 'ispeedctl authority init' beside the key): %s", path,
                 strerror(errno));
        return -1;
    }
    char *got = fgets(line, sizeof line, f);
    fclose(f);
    size_t pl = got ? strcspn(line, ",") : 0;
    if (!got || pl == 0 || pl >= outsz || line[pl] != ',') {
        snprintf(err, errsz, "%s is not a 'province,public_key_hex,name' line", path);
        return -1;
    }
    memcpy(out, line, pl);
    out[pl] = '\0';
    if (!province_ok(out)) {
        snprintf(err, errsz, "%s names no valid province", path);
        return -1;
    }
    return 0;
}

static int token_issue(int argc, char **argv) {
    struct issue_args args;
    char err[8192], out[TRUST_TOKEN_MAX_CHARS + 1];
    uint8_t pk[SIGN_PUBLIC_BYTES], sk[SIGN_SECRET_BYTES];
    trust_token t;
    registry_t *reg = NULL;
    int rc;

    memset(&t, 0, sizeof t);
    memset(&args, 0, sizeof args);
    memset(sk, 0, sizeof sk);
    if ((rc = opttab_main(&issue_spec, &args, argc, argv, 0, NULL, NULL)) >= 0) goto out;
    rc = 2;
    const char *key = args.key, *units = args.units;
    if (!key || args.commune.n == 0) {
        fputs("ispeedctl token issue: --key and at least one --commune are required; see 'ispeedctl token --help'\n",
              stderr);
        goto out;
    }
    if (args.commune.n > TRUST_MAX_COMMUNES) {
        fprintf(stderr, "ispeedctl token issue: at most %d --commune per token\n", TRUST_MAX_COMMUNES);
        goto out;
    }
    for (size_t i = 0; i < args.commune.n; i++) {
        const char *c = args.commune.v[i];
        if (strlen(c) > TRUST_CODE_MAX || !*c || strspn(c, "0123456789") != strlen(c)) {
            fprintf(stderr, "ispeedctl token issue: commune '%.40s' is not a commune code (digits, e.g. 00004)\n", c);
            goto out;
        }
        strcpy(t.communes[t.ncommunes++], c);
    }
    t.uses = (uint32_t)args.uses;
    int64_t ttl = args.expires_ms;
    rc = 1;
    if (sign_init() < 0 || trust_key_load(key, 0, pk, sk, NULL, err, sizeof err) < 0 ||
        read_province(key, t.province, sizeof t.province, err, sizeof err) < 0) {
        fprintf(stderr, "ispeedctl token issue: %s\n", err);
        goto out;
    }
    if (!units && access(AUTHORITY_DEFAULT_UNITS, R_OK) == 0) units = AUTHORITY_DEFAULT_UNITS;
    if (units && strcmp(units, "none") != 0) {
        if (!(reg = registry_load(units, err, sizeof err))) {
            fprintf(stderr, "ispeedctl token issue: --units: %s\n", err);
            rc = 2;
            goto out;
        }
        /* A token the collector would refuse is better refused here. */
        for (size_t i = 0; i < t.ncommunes; i++) {
            const registry_unit *u = registry_find(reg, t.communes[i]);
            if (!u || u->level != REGISTRY_COMMUNE) {
                fprintf(stderr, "ispeedctl token issue: %s is not a commune of %s\n", t.communes[i], units);
                rc = 2;
                goto out;
            }
            if (strcmp(t.province, "*") != 0 && strcmp(u->province->code, t.province) != 0) {
                fprintf(stderr, "ispeedctl token issue: commune %s is in province %s, not this authority's %s\n",
                        t.communes[i], u->province->code, t.province);
                rc = 2;
                goto out;
            }
        }
    }
    t.issued_ms = vntime_now_ms();
    t.expires_ms = t.issued_ms + ttl;
    if (trust_token_issue(sk, &t, out, sizeof out, err, sizeof err) != TRUST_OK) {
        fprintf(stderr, "ispeedctl token issue: %s\n", err);
        goto out;
    }
    puts(out);
    rc = 0;
out:
    sodium_memzero(sk, sizeof sk);
    registry_free(reg);
    opttab_free(&issue_spec, &args);
    return rc;
}

int authority_main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "init") == 0) return authority_init(argc - 1, argv + 1);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        opttab_print_help(stdout, &init_spec, 0);
        return 0;
    }
    fputs("ispeedctl authority: the only subcommand is 'init'; see 'ispeedctl authority --help'\n", stderr);
    return 2;
}

int token_main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "issue") == 0) return token_issue(argc - 1, argv + 1);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        opttab_print_help(stdout, &issue_spec, 0);
        return 0;
    }
    fputs("ispeedctl token: the only subcommand is 'issue'; see 'ispeedctl token --help'\n", stderr);
    return 2;
}
