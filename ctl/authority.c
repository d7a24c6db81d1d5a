/* A province's enrollment authority: `ispeedctl authority init` makes its
 * Ed25519 key, `ispeedctl token issue` signs enrollment tokens with it
 * (formats in common/trust.h). Neither needs Kafka. */
#include "authority.h"

#include <errno.h>
#include <getopt.h>
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

static void authority_usage(FILE *out) {
    fputs("usage: ispeedctl authority init --province P --out DIR [--name NAME]\n\n"
          "Creates DIR/" AUTHORITY_KEY_FILE " (an Ed25519 key, mode 0600) for province P, or for\n"
          "every province with P = '*' (a national authority), and prints the line to add\n"
          "to the collector's authorities.csv (province,public_key_hex,name), also kept in\n"
          "DIR/" AUTHORITY_CSV_FILE ". Refuses to overwrite an existing key.\n\n"
          "  --province P   province code (01, 79, ...) or '*'\n"
          "  --out DIR      directory for the key (created if missing)\n"
          "  --name NAME    the authority's name in authorities.csv (default: authority-P)\n",
          out);
}

static void token_usage(FILE *out) {
    fputs("usage: ispeedctl token issue --key FILE --commune C [--commune C2 ...] [--uses N]\n"
          "                             [--expires 30d] [--units FILE]\n\n"
          "Prints one enrollment token, signed by the authority key FILE (from 'ispeedctl\n"
          "authority init'), for volunteers to pass to 'ispeed-agent enroll --token'. It\n"
          "names the authority's province, the communes, a number of uses and an expiry.\n\n"
          "  --key FILE     the authority key; its province is read from authority.csv beside it\n"
          "  --commune C    a commune code the token enrolls (1 to 16 of them)\n"
          "  --uses N       enrollments the token allows (default 1)\n"
          "  --expires D    validity from now: 90s, 30m, 12h, 30d, 2w (default " AUTHORITY_DEFAULT_EXPIRY ")\n"
          "  --units FILE   registry to check the communes against (default " AUTHORITY_DEFAULT_UNITS
          " if present, none: without)\n",
          out);
}

static int province_ok(const char *p) {
    size_t n = strlen(p);
    return strcmp(p, "*") == 0 || (n >= 1 && n <= TRUST_CODE_MAX && strspn(p, "0123456789") == n);
}

static int authority_init(int argc, char **argv) {
    static const struct option opts[] = {{"province", required_argument, NULL, 'p'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"name", required_argument, NULL, 'n'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0, 0, 0, 0}};
    const char *province = NULL, *dir = NULL, *name = NULL;
    char path[4096], err[8192], line[256], hex[2 * SIGN_PUBLIC_BYTES + 1], defname[64];
    uint8_t pk[SIGN_PUBLIC_BYTES], sk[SIGN_SECRET_BYTES];
    int c, created = 0;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': province = optarg; break;
        case 'o': dir = optarg; break;
        case 'n': name = optarg; break;
        case 'h': authority_usage(stdout); return 0;
        default: fputs("ispeedctl authority: see 'ispeedctl authority --help'\n", stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ispeedctl authority init: unexpected argument '%s'; see 'ispeedctl authority --help'\n",
                argv[optind]);
        return 2;
    }
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
    static const struct option opts[] = {{"key", required_argument, NULL, 'k'},
                                         {"commune", required_argument, NULL, 'c'},
                                         {"uses", required_argument, NULL, 'u'},
                                         {"expires", required_argument, NULL, 'e'},
                                         {"units", required_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0, 0, 0, 0}};
    const char *key = NULL, *expires = AUTHORITY_DEFAULT_EXPIRY, *units = NULL;
    char err[8192], out[TRUST_TOKEN_MAX_CHARS + 1];
    uint8_t pk[SIGN_PUBLIC_BYTES], sk[SIGN_SECRET_BYTES];
    trust_token t;
    int64_t ttl;
    registry_t *reg = NULL;
    int c, rc = 2;

    memset(&t, 0, sizeof t);
    t.uses = 1;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'k': key = optarg; break;
        case 'c':
            if (t.ncommunes == TRUST_MAX_COMMUNES) {
                fputs("ispeedctl token issue: at most 16 --commune per token\n", stderr);
                return 2;
            }
            if (strlen(optarg) > TRUST_CODE_MAX || strlen(optarg) == 0 ||
                strspn(optarg, "0123456789") != strlen(optarg)) {
                fprintf(stderr, "ispeedctl token issue: commune '%.40s' is not a commune code (digits, e.g. 00004)\n",
                        optarg);
                return 2;
            }
            strcpy(t.communes[t.ncommunes++], optarg);
            break;
        case 'u': {
            char *end;
            unsigned long v = strtoul(optarg, &end, 10);
            if (end == optarg || *end || v < 1 || v > 100000) {
                fprintf(stderr, "ispeedctl token issue: --uses '%s' must be a number from 1 to 100000\n", optarg);
                return 2;
            }
            t.uses = (uint32_t)v;
            break;
        }
        case 'e': expires = optarg; break;
        case 'r': units = optarg; break;
        case 'h': token_usage(stdout); return 0;
        default: fputs("ispeedctl token: see 'ispeedctl token --help'\n", stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ispeedctl token issue: unexpected argument '%s'; see 'ispeedctl token --help'\n", argv[optind]);
        return 2;
    }
    if (!key || t.ncommunes == 0) {
        fputs("ispeedctl token issue: --key and at least one --commune are required; see 'ispeedctl token --help'\n",
              stderr);
        return 2;
    }
    if (opttab_parse_duration(expires, 86400000, &ttl) < 0 || ttl <= 0) {
        fprintf(stderr, "ispeedctl token issue: --expires must be a duration such as 30d or 12h, not '%s'\n", expires);
        return 2;
    }
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
    return rc;
}

int authority_main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "init") == 0) return authority_init(argc - 1, argv + 1);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        authority_usage(stdout);
        return 0;
    }
    fputs("ispeedctl authority: the only subcommand is 'init'; see 'ispeedctl authority --help'\n", stderr);
    return 2;
}

int token_main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "issue") == 0) return token_issue(argc - 1, argv + 1);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        token_usage(stdout);
        return 0;
    }
    fputs("ispeedctl token: the only subcommand is 'issue'; see 'ispeedctl token --help'\n", stderr);
    return 2;
}
