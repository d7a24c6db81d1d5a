/* The typed option table (see opttab.h): defaults, INI file (libinih),
 * command line, --help and the example file from one description. */
#include "opttab.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "kafka.h"
#include "log.h"

static int takes(const opttab_def *d, unsigned cmd) { return d->cmds == 0 || cmd == 0 || (d->cmds & cmd) != 0; }

static int has_value(const opttab_def *d) {
    return d->type != OPTTAB_FLAG && d->type != OPTTAB_ACTION && d->type != OPTTAB_CALL_FLAG;
}

static kafka_props *props_of(const opttab_spec *spec, void *cfg) {
    return spec->props ? (kafka_props *)((char *)cfg + spec->props_offset) : NULL;
}

/* The file key of d, written into buf. */
static const char *key_of(const opttab_def *d, char *buf, size_t bufsz) {
    if (d->key) return d->key;
    size_t i = 0;
    for (; d->name[i] && i + 1 < bufsz; i++) buf[i] = d->name[i] == '-' ? '_' : d->name[i];
    buf[i] = '\0';
    return buf;
}

/* name == want, where '_' and '-' are the same letter. */
static int same_name(const char *name, const char *want) {
    for (; *name && *want; name++, want++)
        if (*name != *want && !((*name == '-' || *name == '_') && (*want == '-' || *want == '_'))) return 0;
    return *name == *want;
}

int opttab_parse_duration(const char *s, int64_t bare_ms, int64_t *ms) {
    char *end;
    if (!isdigit((unsigned char)*s)) return -1;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno) return -1;
    int64_t unit;
    if (*end == '\0') unit = bare_ms > 0 ? bare_ms : 1000;
    else if (strcmp(end, "ms") == 0) unit = 1;
    else if (strcmp(end, "s") == 0) unit = 1000;
    else if (strcmp(end, "m") == 0) unit = 60000;
    else if (strcmp(end, "h") == 0) unit = 3600000;
    else if (strcmp(end, "d") == 0) unit = 86400000;
    else if (strcmp(end, "w") == 0) unit = 7LL * 86400000;
    else return -1;
    if (v > INT64_MAX / unit) return -1;
    *ms = v * unit;
    return 0;
}

int opttab_parse_size(const char *s, uint64_t *bytes) {
    char *end;
    if (!isdigit((unsigned char)*s)) return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno) return -1;
    int shift = 0;
    switch (toupper((unsigned char)*end)) {
    case '\0': break;
    case 'K': shift = 10; break;
    case 'M': shift = 20; break;
    case 'G': shift = 30; break;
    case 'T': shift = 40; break;
    default: return -1;
    }
    if (*end && end[1] != '\0' && !(toupper((unsigned char)end[1]) == 'B' && end[2] == '\0')) return -1;
    if (shift && v > (UINT64_MAX >> shift)) return -1;
    *bytes = (uint64_t)v << shift;
    return 0;
}

static int list_add(opttab_list *l, const char *value) {
    char **v = realloc(l->v, (l->n + 1) * sizeof *v);
    if (!v) return -1;
    l->v = v;
    if (!(l->v[l->n] = strdup(value))) return -1;
    l->n++;
    return 0;
}

static int choice_index(const char *choices, const char *value) {
    size_t len = strlen(value);
    int i = 0;
    for (const char *p = choices; *p; i++) {
        size_t n = strcspn(p, "|");
        if (n == len && strncmp(p, value, n) == 0) return i;
        p += n;
        if (*p == '|') p++;
    }
    return -1;
}

/* Applies value to d's field. from_file: a list value splits at blanks and
 * commas, a flag reads true/false. */
static int apply(const opttab_spec *spec, const opttab_def *d, void *cfg, const char *value, int from_file,
                 const char *label, char *err, size_t errsz) {
    void *field = (char *)cfg + d->offset;
    switch (d->type) {
    case OPTTAB_STRING: {
        char *copy = strdup(value);
        if (!copy) goto oom;
        free(*(char **)field);
        *(char **)field = copy;
        return 0;
    }
    case OPTTAB_FLAG:
        if (!value || !from_file || !strcasecmp(value, "true") || !strcasecmp(value, "yes") || !strcmp(value, "1"))
            *(int *)field = 1;
        else if (!strcasecmp(value, "false") || !strcasecmp(value, "no") || !strcmp(value, "0"))
            *(int *)field = 0;
        else {
            snprintf(err, errsz, "%s must be true or false (yes/no, 1/0), not '%s'", label, value);
            return OPTTAB_USAGE;
        }
        return 0;
    case OPTTAB_INT: {
        char *end;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (*value == '\0' || *end != '\0' || errno || v < d->lo || v > d->hi) {
            snprintf(err, errsz, "%s must be a whole number %lld..%lld, not '%s'", label, (long long)d->lo,
                     (long long)d->hi, value);
            return OPTTAB_USAGE;
        }
        *(int64_t *)field = v;
        return 0;
    }
    case OPTTAB_FRACTION: {
        char *end;
        double f = strtod(value, &end);
        if (*value == '\0' || *end != '\0' || !(f > 0.0 && f <= 1.0)) {
            snprintf(err, errsz, "%s must be a fraction in (0, 1], e.g. 0.8, not '%s'", label, value);
            return OPTTAB_USAGE;
        }
        *(double *)field = f;
        return 0;
    }
    case OPTTAB_DURATION: {
        int64_t ms;
        if (opttab_parse_duration(value, d->bare_ms, &ms) < 0 || ms < d->lo || (d->hi && ms > d->hi)) {
            snprintf(err, errsz, "%s must be a duration like 250ms, 90s, 10m, 1h, 2d%s, not '%s'", label,
                     d->hi ? " within its bounds" : "", value);
            return OPTTAB_USAGE;
        }
        *(int64_t *)field = ms;
        return 0;
    }
    case OPTTAB_SIZE: {
        uint64_t b;
        if (opttab_parse_size(value, &b) < 0 || b < (uint64_t)d->lo || (d->hi && b > (uint64_t)d->hi)) {
            snprintf(err, errsz, "%s must be a size like 512K, 64M, 2G, not '%s'", label, value);
            return OPTTAB_USAGE;
        }
        *(uint64_t *)field = b;
        return 0;
    }
    case OPTTAB_CHOICE: {
        int i = choice_index(d->choices, value);
        if (i < 0) {
            snprintf(err, errsz, "%s must be one of %s, not '%s'", label, d->choices, value);
            return OPTTAB_USAGE;
        }
        *(int *)field = i;
        return 0;
    }
    case OPTTAB_LIST: {
        opttab_list *l = field;
        if (!from_file) return list_add(l, value) < 0 ? (snprintf(err, errsz, "out of memory"), OPTTAB_FAIL) : 0;
        char *copy = strdup(value), *save = NULL;
        if (!copy) goto oom;
        for (char *tok = strtok_r(copy, " ,\t", &save); tok; tok = strtok_r(NULL, " ,\t", &save)) {
            if (list_add(l, tok) < 0) {
                free(copy);
                goto oom;
            }
        }
        free(copy);
        return 0;
    }
    case OPTTAB_CUSTOM: {
        char msg[400];
        if (d->set(cfg, value, msg, sizeof msg) < 0) {
            snprintf(err, errsz, "%s %s", label, msg);
            return OPTTAB_USAGE;
        }
        return 0;
    }
    case OPTTAB_ACTION: return d->id;
    case OPTTAB_CALL:
    case OPTTAB_CALL_FLAG:
        if (d->type == OPTTAB_CALL_FLAG && from_file && value) {
            /* In a file a flag is true or false; only true acts. */
            if (!strcasecmp(value, "false") || !strcasecmp(value, "no") || !strcmp(value, "0")) return 0;
            value = NULL;
        }
        return spec->apply(cfg, d->id, value, err, errsz) < 0 ? OPTTAB_USAGE : 0;
    }
    return 0;
oom:
    snprintf(err, errsz, "out of memory");
    return OPTTAB_FAIL;
}

int opttab_defaults(const opttab_spec *spec, unsigned cmd, void *cfg, char *err, size_t errsz) {
    for (size_t i = 0; i < spec->ndefs; i++) {
        const opttab_def *d = &spec->defs[i];
        if (!d->def || !takes(d, cmd) || d->type == OPTTAB_ACTION) continue;
        if ((d->type == OPTTAB_FLAG || d->type == OPTTAB_CALL_FLAG) && strcmp(d->def, "true") != 0) continue;
        int rc = apply(spec, d, cfg, d->def, 1, d->name, err, errsz);
        if (rc < 0) return rc;
    }
    return 0;
}

static void warn_alias(const opttab_spec *spec, const opttab_def *d, const char *where, const char *spelled) {
    char kb[64];
    log_warn("config", "%s%s%s is deprecated, write %s%s instead program=%s", where ? where : "", where ? ": " : "",
             spelled, where ? "" : "--", where ? key_of(d, kb, sizeof kb) : d->name, spec->program);
}

static const opttab_def *find_flag(const opttab_spec *spec, const char *name, int *alias) {
    for (size_t i = 0; i < spec->ndefs; i++) {
        const opttab_def *d = &spec->defs[i];
        if (strcmp(d->name, name) == 0) {
            *alias = 0;
            return d;
        }
    }
    for (size_t i = 0; i < spec->ndefs; i++) {
        const opttab_def *d = &spec->defs[i];
        if (d->alias && same_name(d->alias, name)) {
            *alias = 1;
            return d;
        }
    }
    return NULL;
}

/* A file key in section ("" before any): the option of that key in that
 * section, else (*elsewhere) one of that key in another section. */
static const opttab_def *find_key(const opttab_spec *spec, const char *section, const char *key, int *alias,
                                  const opttab_def **elsewhere) {
    char kb[64];
    *elsewhere = NULL;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < spec->ndefs; i++) {
            const opttab_def *d = &spec->defs[i];
            if (!d->section) continue;
            int match = pass == 0 ? same_name(key_of(d, kb, sizeof kb), key) : d->alias && same_name(d->alias, key);
            if (!match) continue;
            if (!*section || strcmp(section, d->section) == 0) {
                *alias = pass;
                return d;
            }
            if (!*elsewhere) *elsewhere = d;
        }
    }
    return NULL;
}

int opttab_set(const opttab_spec *spec, void *cfg, const char *name, const char *value, char *err, size_t errsz) {
    int alias;
    const opttab_def *d = find_flag(spec, name, &alias);
    if (!d) return 1;
    char label[80];
    if (alias) warn_alias(spec, d, NULL, name);
    snprintf(label, sizeof label, "--%s", d->name);
    return apply(spec, d, cfg, value, 0, label, err, errsz);
}

/* fgets that counts lines, so a key's error can name its line (the system
 * libinih is built without INI_HANDLER_LINENO). libinih reads a line into a
 * fixed buffer and would take the rest of a longer one as a line of its
 * own: the rest is dropped here and the line reported as too long. */
typedef struct line_reader {
    FILE *f;
    int line;
    int too_long; /* first line longer than the buffer, 0 none */
    int max;
} line_reader;

static char *read_line(char *str, int num, void *stream) {
    line_reader *r = stream;
    char *s = fgets(str, num, r->f);
    if (!s) return NULL;
    size_t n = strlen(s);
    r->line++;
    if (n > 0 && s[n - 1] != '\n' && !feof(r->f)) {
        int ch;
        while ((ch = fgetc(r->f)) != EOF && ch != '\n') {}
        if (!r->too_long) {
            r->too_long = r->line;
            r->max = num - 2;
        }
    }
    return s;
}

typedef struct load_ctx {
    const opttab_spec *spec;
    void *cfg;
    const char *path;
    line_reader *rd;
    char *err;
    size_t errsz;
    int rc;
} load_ctx;

static int known_section(const opttab_spec *spec, const char *section) {
    if (!*section) return 1;
    if (spec->passthrough && strcmp(section, spec->passthrough) == 0) return 1;
    for (size_t i = 0; i < spec->ndefs; i++)
        if (spec->defs[i].section && strcmp(spec->defs[i].section, section) == 0) return 1;
    return 0;
}

static int on_key(void *user, const char *section, const char *key, const char *value) {
    load_ctx *c = user;
    const opttab_spec *spec = c->spec;
    char where[300], msg[400];
    int alias = 0;
    const opttab_def *elsewhere;
    if (c->rc) return 0;
    snprintf(where, sizeof where, "%s:%d: %s", c->path, c->rd->line, key);
    if (!known_section(spec, section)) {
        snprintf(c->err, c->errsz, "%s:%d: unknown section [%s]; see %s's example configuration", c->path,
                 c->rd->line, section, spec->program);
        goto fail;
    }
    const opttab_def *d = find_key(spec, section, key, &alias, &elsewhere);
    if (!d && elsewhere) {
        snprintf(c->err, c->errsz, "%s belongs in [%s], not [%s]", where, elsewhere->section, section);
        goto fail;
    }
    if (!d && spec->props && spec->passthrough && strcmp(section, spec->passthrough) == 0) {
        char kv[1024];
        snprintf(kv, sizeof kv, "%s=%s", key, value);
        if (kafka_props_add(props_of(spec, c->cfg), kv, msg, sizeof msg) < 0) {
            snprintf(c->err, c->errsz, "%s: %s", where, msg);
            goto fail;
        }
        return 1;
    }
    if (!d) {
        snprintf(c->err, c->errsz, "%s:%d: unknown key '%s'%s%s%s; see %s's example configuration", c->path,
                 c->rd->line, key,
                 *section ? " in [" : "", section, *section ? "]" : "", spec->program);
        goto fail;
    }
    if (alias) warn_alias(spec, d, where, key);
    if (!*value && d->type != OPTTAB_STRING) return 1; /* "key =" keeps the default */
    int rc = apply(spec, d, c->cfg, value, 1, where, c->err, c->errsz);
    if (rc < 0) {
        c->rc = rc;
        return 0;
    }
    return 1;
fail:
    c->rc = OPTTAB_USAGE;
    return 0;
}

int opttab_load_file(const opttab_spec *spec, void *cfg, const char *path, char *err, size_t errsz) {
    line_reader rd = {.f = fopen(path, "r")};
    if (!rd.f) {
        /* A file named on the command line or a packaged default that
         * cannot be read is the user's to fix: a usage error, as before. */
        snprintf(err, errsz, "cannot read configuration %s: %s", path, strerror(errno));
        return OPTTAB_USAGE;
    }
    load_ctx c = {.spec = spec, .cfg = cfg, .path = path, .rd = &rd, .err = err, .errsz = errsz};
    int rc = ini_parse_stream(read_line, &rd, on_key, &c);
    int rerr = ferror(rd.f);
    fclose(rd.f);
    if (rd.too_long) {
        snprintf(err, errsz, "%s:%d: line longer than %d characters", path, rd.too_long, rd.max);
        return OPTTAB_USAGE;
    }
    if (c.rc) return c.rc;
    if (rerr) {
        snprintf(err, errsz, "cannot read configuration %s", path);
        return OPTTAB_USAGE;
    }
    if (rc != 0) {
        snprintf(err, errsz, "%s:%d: not key = value, [section] or a comment", path, rc);
        return OPTTAB_USAGE;
    }
    return 0;
}

/* The file to read: --config's, else the default one if it exists, none
 * when --help or another action is asked for (it must work whatever the
 * file holds). */
static int find_config(const opttab_spec *spec, int argc, char **argv, const char **path, char *err, size_t errsz) {
    int explicit = 0;
    *path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) break;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) goto action;
        if (strncmp(a, "--", 2) == 0) {
            int alias;
            char name[64];
            size_t n = strcspn(a + 2, "=");
            snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name ? n : sizeof name - 1), a + 2);
            const opttab_def *d = find_flag(spec, name, &alias);
            if (d && d->type == OPTTAB_ACTION) goto action;
        }
        if (!spec->config) continue;
        if (strcmp(a, "--config") == 0) {
            if (i + 1 >= argc) {
                snprintf(err, errsz, "--config needs a FILE");
                return OPTTAB_USAGE;
            }
            *path = argv[++i];
            explicit = 1;
        } else if (strncmp(a, "--config=", 9) == 0) {
            *path = a + 9;
            explicit = 1;
        }
    }
    if (!explicit && spec->config_path && access(spec->config_path, F_OK) == 0) *path = spec->config_path;
    return 0;
action:
    *path = NULL;
    return 1;
}

int opttab_parse(const opttab_spec *spec, unsigned cmd, void *cfg, int argc, char **argv, int *nops, char *err,
                 size_t errsz) {
    const char *path;
    int rc, ops = 0, only_ops = 0;
    if ((rc = opttab_defaults(spec, cmd, cfg, err, errsz)) < 0) return rc;
    if ((rc = find_config(spec, argc, argv, &path, err, errsz)) < 0) return rc;
    if (path && (rc = opttab_load_file(spec, cfg, path, err, errsz)) < 0) return rc;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i], name[64];
        const char *value = NULL;
        const opttab_def *d = NULL;
        int alias = 0, is_props = 0;
        if (only_ops || a[0] != '-' || a[1] == '\0') {
            argv[1 + ops++] = a; /* never ahead of i: safe in place */
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_ops = 1;
            continue;
        }
        if (a[1] == '-') {
            const char *eq = strchr(a + 2, '=');
            size_t n = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
            snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name ? n : sizeof name - 1), a + 2);
            if (eq) value = eq + 1;
            if (spec->config && strcmp(name, "config") == 0) {
                if (!eq) i++; /* read above */
                continue;
            }
            if (spec->props && strcmp(name, "property") == 0) is_props = 1;
            else if (!(d = find_flag(spec, name, &alias)) || !takes(d, cmd)) {
                snprintf(err, errsz, "unknown option '--%s'", name);
                return OPTTAB_USAGE;
            }
        } else {
            snprintf(name, sizeof name, "-%c", a[1]);
            if (a[2]) value = a + 2;
            if (spec->props && a[1] == 'X') is_props = 1;
            else if (a[1] == 'h' && !a[2]) {
                d = find_flag(spec, "help", &alias);
                if (!d) {
                    snprintf(err, errsz, "unknown option '-h'");
                    return OPTTAB_USAGE;
                }
            } else {
                for (size_t k = 0; k < spec->ndefs && !d; k++)
                    if (spec->defs[k].short_name == a[1] && takes(&spec->defs[k], cmd)) d = &spec->defs[k];
                if (!d) {
                    snprintf(err, errsz, "unknown option '%.2s'", a);
                    return OPTTAB_USAGE;
                }
            }
        }
        if (is_props || (d && has_value(d))) {
            if (!value) {
                if (i + 1 >= argc) {
                    snprintf(err, errsz, "option %s%s needs a value", a[1] == '-' ? "--" : "", a[1] == '-' ? name : a);
                    return OPTTAB_USAGE;
                }
                value = argv[++i];
            }
        } else if (value) {
            snprintf(err, errsz, "option --%s takes no value", name);
            return OPTTAB_USAGE;
        }
        if (is_props) {
            if (kafka_props_add(props_of(spec, cfg), value, err, errsz) < 0) return OPTTAB_USAGE;
            continue;
        }
        if (alias) warn_alias(spec, d, NULL, name);
        char label[80];
        snprintf(label, sizeof label, "--%s", d->name);
        rc = apply(spec, d, cfg, value, 0, label, err, errsz);
        if (rc != 0) return rc; /* an error, or an action */
    }
    if (nops) *nops = ops;
    return OPTTAB_OK;
}

int opttab_main(const opttab_spec *spec, void *cfg, int argc, char **argv, int max_ops, int *nops, int *action) {
    char err[600];
    int ops = 0, alias;
    int rc = opttab_parse(spec, 0, cfg, argc, argv, &ops, err, sizeof err);
    if (action) *action = 0;
    if (rc > 0) {
        const opttab_def *help = find_flag(spec, "help", &alias);
        if (help && help->type == OPTTAB_ACTION && help->id == rc) {
            opttab_print_help(stdout, spec, 0);
            return 0;
        }
        if (action) {
            *action = rc;
            return -1;
        }
        return 0;
    }
    if (rc == 0 && ops > max_ops) {
        snprintf(err, sizeof err, "unexpected argument '%s'", argv[1 + max_ops]);
        rc = OPTTAB_USAGE;
    }
    if (rc < 0) {
        fprintf(stderr, "%s: %s%s%s%s\n", spec->program, err, rc == OPTTAB_USAGE ? "; see " : "",
                rc == OPTTAB_USAGE ? spec->program : "", rc == OPTTAB_USAGE ? " --help" : "");
        return rc == OPTTAB_USAGE ? 2 : 1;
    }
    if (nops) *nops = ops;
    return -1;
}

void opttab_free(const opttab_spec *spec, void *cfg) {
    if (!cfg) return;
    for (size_t i = 0; i < spec->ndefs; i++) {
        const opttab_def *d = &spec->defs[i];
        void *field = (char *)cfg + d->offset;
        if (d->type == OPTTAB_STRING) {
            free(*(char **)field);
            *(char **)field = NULL;
        } else if (d->type == OPTTAB_LIST) {
            opttab_list *l = field;
            for (size_t k = 0; k < l->n; k++) free(l->v[k]);
            free(l->v);
            l->v = NULL;
            l->n = 0;
        }
    }
    if (spec->props) kafka_props_clear(props_of(spec, cfg));
}

static void left_column(char *buf, size_t bufsz, char short_name, const char *name, const char *metavar) {
    int n = short_name ? snprintf(buf, bufsz, "-%c, ", short_name) : snprintf(buf, bufsz, "    ");
    snprintf(buf + n, bufsz - (size_t)n, "--%s%s%s", name, metavar ? " " : "", metavar ? metavar : "");
}

void opttab_print_help(FILE *out, const opttab_spec *spec, unsigned cmd) {
    char left[80];
    if (spec->usage) fprintf(out, "%s\n\noptions:\n", spec->usage);
    for (size_t i = 0; i < spec->ndefs; i++) {
        const opttab_def *d = &spec->defs[i];
        if (!takes(d, cmd)) continue;
        left_column(left, sizeof left, d->short_name, d->name, has_value(d) ? (d->metavar ? d->metavar : "V") : NULL);
        fprintf(out, "  %-30s %s", left, d->help);
        if (d->def && *d->def && has_value(d)) fprintf(out, " (default %s)", d->def);
        fputc('\n', out);
    }
    if (spec->config) {
        left_column(left, sizeof left, 0, "config", "FILE");
        fprintf(out, "  %-30s read the options from this INI file first", left);
        if (spec->config_path) fprintf(out, " (default %s, if it exists)", spec->config_path);
        fputs("; the command line wins\n", out);
    }
    if (spec->props) {
        left_column(left, sizeof left, 'X', "property", "PROP=VALUE");
        fprintf(out, "  %-30s librdkafka property, repeatable (e.g. -X security.protocol=ssl)\n", left);
    }
    if (spec->epilog) fprintf(out, "\n%s\n", spec->epilog);
}

static void print_entry(FILE *out, const opttab_def *d) {
    char kb[64];
    const char *key = key_of(d, kb, sizeof kb);
    fprintf(out, "# %s [--%s%s%s]%s\n", d->help, d->name, has_value(d) && d->metavar ? " " : "",
            has_value(d) && d->metavar ? d->metavar : "",
            d->type == OPTTAB_LIST ? "; several: separate them with spaces" : "");
    if (!has_value(d))
        fprintf(out, "%s = %s\n", key, d->def && *d->def ? d->def : "false");
    else if (d->def && *d->def)
        fprintf(out, "%s = %s\n", key, d->def);
    else if (d->example)
        fprintf(out, "%s = %s\n", key, d->example);
    else
        fprintf(out, "# %s =\n", key);
}

void opttab_print_example(FILE *out, const opttab_spec *spec) {
    int passthrough_done = 0;
    fprintf(out,
            "# %s: %s's configuration (INI).\n"
            "# Each key is the long option named beside it, which overrides it on the\n"
            "# command line. Keys with a default show it; an empty value keeps the default.\n"
            "# Generated from the program's option table; do not edit by hand in deploy/.\n",
            spec->config_path ? spec->config_path : "", spec->program);
    for (size_t i = 0; i < spec->ndefs; i++) {
        const char *sec = spec->defs[i].section;
        size_t j;
        if (!sec) continue;
        for (j = 0; j < i; j++)
            if (spec->defs[j].section && strcmp(spec->defs[j].section, sec) == 0) break;
        if (j < i) continue; /* printed with its first option */
        fprintf(out, "\n[%s]\n", sec);
        for (j = i; j < spec->ndefs; j++)
            if (spec->defs[j].section && strcmp(spec->defs[j].section, sec) == 0) print_entry(out, &spec->defs[j]);
        if (!spec->passthrough || strcmp(sec, spec->passthrough) != 0) continue;
        passthrough_done = 1;
        fputs("# Any other key here is a librdkafka property, as -X key=value on the\n"
              "# command line; for example:\n# security.protocol = ssl\n# message.timeout.ms = 60000\n",
              out);
    }
    if (spec->passthrough && !passthrough_done)
        fprintf(out, "\n[%s]\n# Every key here is a librdkafka property, as -X key=value on the command\n"
                     "# line; for example:\n# security.protocol = ssl\n",
                spec->passthrough);
}
