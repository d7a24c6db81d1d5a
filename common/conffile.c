/* INI file -> long options before the command line, validated against the
 * program's option table; and the example file printed from that table. */
#include "conffile.h"

#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct conffile_args {
    int argc, cap;
    char **argv;    /* argc elements and a NULL */
    char **origin;  /* parallel to argv: "path:line: key" or NULL */
    char **owned;   /* parallel to argv: what to free (the caller's argv is borrowed) */
    char *path;
};

static int push(conffile_args *a, char *arg, int own, char *origin) {
    if (a->argc + 2 > a->cap) {
        int cap = a->cap ? 2 * a->cap : 32;
        char **v = realloc(a->argv, (size_t)cap * sizeof *v);
        if (v) a->argv = v;
        char **o = realloc(a->origin, (size_t)cap * sizeof *o);
        if (o) a->origin = o;
        char **w = realloc(a->owned, (size_t)cap * sizeof *w);
        if (w) a->owned = w;
        if (!v || !o || !w) goto oom;
        a->cap = cap;
    }
    a->argv[a->argc] = arg;
    a->origin[a->argc] = origin;
    a->owned[a->argc] = own ? arg : NULL;
    a->argc++;
    a->argv[a->argc] = NULL;
    return 0;
oom:
    if (own) free(arg);
    free(origin);
    return -1;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...) {
    va_list ap;
    char *s;
    va_start(ap, f);
    int n = vasprintf(&s, f, ap);
    va_end(ap);
    return n < 0 ? NULL : s;
}

static const char *section_of(const conffile_spec *spec, const conffile_option *o) {
    return o->section ? o->section : spec->section;
}

static const conffile_option *find_option(const conffile_spec *spec, const char *key) {
    char name[128];
    size_t n = strlen(key);
    if (n >= sizeof name) return NULL;
    for (size_t i = 0; i <= n; i++) name[i] = key[i] == '_' ? '-' : key[i];
    for (size_t i = 0; i < spec->noptions; i++)
        if (strcmp(spec->options[i].name, name) == 0) return &spec->options[i];
    return NULL;
}

static int known_section(const conffile_spec *spec, const char *section) {
    if (!*section || strcmp(section, spec->section) == 0) return 1;
    if (spec->passthrough && strcmp(section, spec->passthrough) == 0) return 1;
    for (size_t i = 0; i < spec->noptions; i++)
        if (strcmp(section_of(spec, &spec->options[i]), section) == 0) return 1;
    return 0;
}

/* fgets that counts lines, so a key's error can name its line (the system
 * libinih is built without INI_HANDLER_LINENO). libinih reads a line into
 * a fixed buffer and would take the rest of a longer one as a line of its
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
    const conffile_spec *spec;
    conffile_args *a;
    line_reader *rd;
    char *err;
    size_t errsz;
    int failed;
} load_ctx;

static int on_key(void *user, const char *section, const char *key, const char *value) {
    load_ctx *c = user;
    const conffile_spec *spec = c->spec;
    const char *path = c->a->path;
    int line = c->rd->line;
    if (c->failed) return 0;
    if (!known_section(spec, section)) {
        snprintf(c->err, c->errsz, "%s:%d: %s: unknown section [%s]; see %s --config-example", path, line, key,
                 section, spec->program);
        goto fail;
    }
    const conffile_option *o = find_option(spec, key);
    int passthrough = spec->passthrough && strcmp(section, spec->passthrough) == 0;
    if (o && *section && strcmp(section, section_of(spec, o)) != 0) {
        snprintf(c->err, c->errsz, "%s:%d: %s belongs in [%s], not [%s]", path, line, key, section_of(spec, o),
                 section);
        goto fail;
    }
    char *arg = NULL;
    if (!o && passthrough) {
        arg = fmt("-%c%s=%s", spec->passthrough_flag, key, value);
    } else if (!o) {
        snprintf(c->err, c->errsz, "%s:%d: unknown key '%s'%s%s%s; see %s --config-example", path, line, key,
                 *section ? " in [" : "", section, *section ? "]" : "", spec->program);
        goto fail;
    } else if (!*value) {
        return 1; /* "key =" leaves the default */
    } else if (!o->has_arg) {
        if (!strcasecmp(value, "true") || !strcasecmp(value, "yes") || !strcmp(value, "1")) {
            arg = fmt("--%s", o->name);
        } else if (!strcasecmp(value, "false") || !strcasecmp(value, "no") || !strcmp(value, "0")) {
            return 1;
        } else {
            snprintf(c->err, c->errsz, "%s:%d: %s must be true or false (yes/no, 1/0), not '%s'", path, line, key,
                     value);
            goto fail;
        }
    } else {
        arg = fmt("--%s=%s", o->name, value);
    }
    char *origin = arg ? fmt("%s:%d: %s", path, line, key) : NULL;
    if (!arg || !origin || push(c->a, arg, 1, origin) < 0) {
        if (!origin) free(arg);
        snprintf(c->err, c->errsz, "%s: out of memory", path);
        goto fail;
    }
    return 1;
fail:
    c->failed = 1;
    return 0;
}

static int load_file(const conffile_spec *spec, conffile_args *a, char *err, size_t errsz) {
    line_reader rd = {.f = fopen(a->path, "r")};
    if (!rd.f) {
        snprintf(err, errsz, "cannot read configuration %s: %s", a->path, strerror(errno));
        return -1;
    }
    load_ctx c = {.spec = spec, .a = a, .rd = &rd, .err = err, .errsz = errsz};
    int rc = ini_parse_stream(read_line, &rd, on_key, &c);
    int rerr = ferror(rd.f);
    fclose(rd.f);
    if (rd.too_long) {
        snprintf(err, errsz, "%s:%d: line longer than %d characters", a->path, rd.too_long, rd.max);
        return -1;
    }
    if (c.failed) return -1;
    if (rerr) {
        snprintf(err, errsz, "cannot read configuration %s", a->path);
        return -1;
    }
    if (rc != 0) {
        snprintf(err, errsz, "%s:%d: not key = value, [section] or a comment", a->path, rc);
        return -1;
    }
    return 0;
}

conffile_args *conffile_args_new(const conffile_spec *spec, int argc, char **argv, char *err, size_t errsz) {
    conffile_args *a = calloc(1, sizeof *a);
    const char *path = NULL;
    int help = 0, explicit = 0;
    if (!a) goto oom;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) break;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) help = 1;
        if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc) {
                snprintf(err, errsz, "--config needs a FILE");
                goto fail;
            }
            path = argv[++i];
            explicit = 1;
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            path = argv[i] + 9;
            explicit = 1;
        }
    }
    if (!explicit && spec->path && access(spec->path, F_OK) == 0) path = spec->path;
    if (push(a, argc > 0 ? argv[0] : (char *)spec->program, 0, NULL) < 0) goto oom;
    for (size_t i = 0; i < spec->noptions; i++) {
        const conffile_option *o = &spec->options[i];
        char *arg = NULL;
        if (!o->def || !*o->def) continue;
        if (o->has_arg)
            arg = fmt("--%s=%s", o->name, o->def);
        else if (!strcmp(o->def, "true"))
            arg = fmt("--%s", o->name);
        else
            continue;
        if (!arg || push(a, arg, 1, NULL) < 0) goto oom;
    }
    if (path && !help) {
        if (!(a->path = strdup(path))) goto oom;
        if (load_file(spec, a, err, errsz) < 0) goto fail;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            for (; i < argc; i++)
                if (push(a, argv[i], 0, NULL) < 0) goto oom;
            break;
        }
        if (strcmp(argv[i], "--config") == 0) {
            i++;
            continue;
        }
        if (strncmp(argv[i], "--config=", 9) == 0) continue;
        if (push(a, argv[i], 0, NULL) < 0) goto oom;
    }
    return a;
oom:
    snprintf(err, errsz, "out of memory");
fail:
    conffile_args_free(a);
    return NULL;
}

void conffile_args_free(conffile_args *a) {
    if (!a) return;
    for (int i = 0; i < a->argc; i++) {
        free(a->owned[i]);
        free(a->origin[i]);
    }
    free(a->argv);
    free(a->origin);
    free(a->owned);
    free(a->path);
    free(a);
}

int conffile_args_argc(const conffile_args *a) { return a->argc; }
char **conffile_args_argv(const conffile_args *a) { return a->argv; }
const char *conffile_args_path(const conffile_args *a) { return a->path; }

const char *conffile_args_origin(const conffile_args *a, int i) {
    return a && i >= 0 && i < a->argc ? a->origin[i] : NULL;
}

static void print_key(FILE *out, const conffile_option *o) {
    for (const char *p = o->name; *p; p++) fputc(*p == '-' ? '_' : *p, out);
}

static void print_option(FILE *out, const conffile_option *o) {
    fprintf(out, "# %s [--%s%s%s]%s\n", o->help, o->name, o->has_arg && o->metavar ? " " : "",
            o->has_arg && o->metavar ? o->metavar : "", o->repeatable ? "; one per line, repeat the key" : "");
    if (!o->has_arg) {
        print_key(out, o);
        fprintf(out, " = %s\n", o->def && *o->def ? o->def : "false");
    } else if (o->def && *o->def) {
        print_key(out, o);
        fprintf(out, " = %s\n", o->def);
    } else if (o->example) {
        print_key(out, o);
        fprintf(out, " = %s\n", o->example);
    } else {
        fputs("# ", out);
        print_key(out, o);
        fputs(" =\n", out);
    }
}

void conffile_print_example(FILE *out, const conffile_spec *spec) {
    int passthrough_done = 0;
    fprintf(out,
            "# %s: %s's configuration (INI).\n"
            "# Each key is the long option of the same name (log_level is --log-level) and\n"
            "# may stand under its [section] or before any; the command line overrides the\n"
            "# file. Keys with a default show it; an empty value keeps the default.\n"
            "# Generated by `%s --config-example`; do not edit by hand in deploy/.\n",
            spec->path ? spec->path : "", spec->program, spec->program);
    for (size_t i = 0; i < spec->noptions; i++) {
        const char *sec = section_of(spec, &spec->options[i]);
        size_t j;
        for (j = 0; j < i; j++)
            if (strcmp(section_of(spec, &spec->options[j]), sec) == 0) break;
        if (j < i) continue; /* printed with its first option */
        fprintf(out, "\n[%s]\n", sec);
        for (j = i; j < spec->noptions; j++)
            if (strcmp(section_of(spec, &spec->options[j]), sec) == 0) print_option(out, &spec->options[j]);
        if (!spec->passthrough || strcmp(sec, spec->passthrough) != 0) continue;
        passthrough_done = 1;
        fprintf(out, "# Any other key here is a librdkafka property, as -%c key=value on the\n"
                     "# command line; for example:\n# security.protocol = ssl\n# message.timeout.ms = 60000\n",
                spec->passthrough_flag);
    }
    if (spec->passthrough && !passthrough_done)
        fprintf(out, "\n[%s]\n# Every key here is a librdkafka property, as -%c key=value on the command\n"
                     "# line; for example:\n# security.protocol = ssl\n",
                spec->passthrough, spec->passthrough_flag);
}
