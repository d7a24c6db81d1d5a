/* The one typed option table every program reads its options through: the
 * command line, the INI configuration file, --help, the generated example
 * file and the parsing of durations and sizes all come from one table of
 * opttab_def, as Fluent Bit's config_map does. Each entry names a field of
 * the program's own configuration struct (offsetof) and its type; the file
 * key is the long option with '_' for '-' (log_level is --log-level), under
 * the entry's [section]. The order of precedence is defaults, then the
 * file, then the command line. */
#ifndef ISPEED_OPTTAB_H
#define ISPEED_OPTTAB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum opttab_type {
    OPTTAB_STRING,   /* char *, a copy (freed by opttab_free) */
    OPTTAB_FLAG,     /* int: given on the command line = 1; in the file true/false, yes/no, 1/0 */
    OPTTAB_INT,      /* int64_t within [lo, hi] */
    OPTTAB_FRACTION, /* double in (0, 1] */
    OPTTAB_DURATION, /* int64_t milliseconds within [lo, hi] (hi 0: no bound): see opttab_parse_duration */
    OPTTAB_SIZE,     /* uint64_t bytes within [lo, hi] (hi 0: no bound): see opttab_parse_size */
    OPTTAB_CHOICE,   /* int: the index of the value in choices, "token|open" */
    OPTTAB_LIST,     /* opttab_list: each occurrence adds; a file value splits at blanks and commas */
    OPTTAB_CUSTOM,   /* set() parses the value into the struct */
    OPTTAB_ACTION,   /* no value, no field: opttab_parse stops and returns id (--help, --config-example) */
    OPTTAB_CALL,     /* spec->apply(cfg, id, value): for options that act rather than set (filters, checks) */
    OPTTAB_CALL_FLAG, /* the same without a value (value NULL) */
} opttab_type;

typedef struct opttab_list {
    char **v;
    size_t n;
} opttab_list;

typedef struct opttab_def {
    const char *name;     /* long option without "--" */
    char short_name;      /* -b, or 0 */
    opttab_type type;
    size_t offset;        /* of the field in the configuration struct */
    const char *section;  /* its [section] in the file; NULL: command line only */
    const char *key;      /* its key in the file when not the name with '_' for '-' */
    const char *def;      /* default, applied as if given first; NULL: none */
    const char *metavar;  /* what the value is: FILE, ADDR:PORT */
    const char *help;
    int64_t lo, hi;       /* bounds of INT, DURATION (ms) and SIZE */
    const char *choices;  /* CHOICE: "a|b|c" */
    /* CUSTOM: parses value into cfg; on error -1 and a message that
     * continues the option's name ("must be HH:MM-HH:MM, not '7'"). */
    int (*set)(void *cfg, const char *value, char *err, size_t errsz);
    const char *example;  /* no default: the value the example file sets (a packaged path) */
    const char *alias;    /* a deprecated spelling (flag and key), accepted with a warning */
    unsigned cmds;        /* subcommands that take it, bit per command; 0: all */
    int id;               /* ACTION: what opttab_parse returns */
    int64_t bare_ms;      /* DURATION: what a number without unit means, in ms; 0: seconds */
} opttab_def;

typedef struct opttab_spec {
    const char *program;     /* "ispeed-agent", for messages */
    const char *usage;       /* printed by --help before the options: usage lines and a paragraph */
    const char *epilog;      /* printed after the options, or NULL */
    const char *config_path; /* default file, read if it exists; NULL: only --config's */
    int config;              /* --config FILE is an option (the file is read before the command line) */
    const opttab_def *defs;
    size_t ndefs;
    /* -X key=value, and every key of the passthrough section that is no
     * option, go to a kafka_props at props_offset (when props is set). */
    int props;
    size_t props_offset;
    const char *passthrough; /* "kafka" */
    /* CALL and CALL_FLAG options: 0, or -1 with a whole sentence in err. */
    int (*apply)(void *cfg, int id, const char *value, char *err, size_t errsz);
} opttab_spec;

#define OPTTAB_OK 0
#define OPTTAB_USAGE -2 /* bad usage, a bad or unreadable file: err says what and where; exit 2 */
#define OPTTAB_FAIL -1  /* out of memory; exit 1 */

/* Every default of the options cmd takes, then the file, then argv[1..argc)
 * (argv[0] is the program or subcommand name). Operands (arguments that are
 * no option, and all after "--") are moved, in order, to argv[1..1+*nops).
 * Returns OPTTAB_OK, an ACTION's id (> 0) when one was given (help is not
 * printed here: the caller prints it with opttab_print_help, so it can add
 * its own lines), or OPTTAB_USAGE / OPTTAB_FAIL with err set. cmd is the
 * subcommand's bit, 0 for a program without subcommands. */
int opttab_parse(const opttab_spec *spec, unsigned cmd, void *cfg, int argc, char **argv, int *nops, char *err,
                 size_t errsz);

/* The usual main() of a program without subcommands: opttab_parse, then
 * --help printed (the ACTION named "help"), a usage error printed in one
 * line "PROGRAM: what; see PROGRAM --help", more than max_ops operands
 * refused. Returns -1 to go on (operands in argv[1..1+*nops), nops may be
 * NULL), else the exit status (0 after --help, 2 on bad usage, 1 when out
 * of memory); other ACTIONs come back as their id in *action (may be NULL:
 * then none is expected). */
int opttab_main(const opttab_spec *spec, void *cfg, int argc, char **argv, int max_ops, int *nops, int *action);

/* The pieces opttab_parse is made of, for programs that need them apart. */
int opttab_defaults(const opttab_spec *spec, unsigned cmd, void *cfg, char *err, size_t errsz);
/* Reads an INI file over cfg. Unknown keys and sections are errors (a typo
 * must not silently mean "default"), except in the passthrough section;
 * err names "path:line: key". */
int opttab_load_file(const opttab_spec *spec, void *cfg, const char *path, char *err, size_t errsz);
/* Applies one option by its long name (or alias) or file key: 0, 1 when no
 * option has that name, OPTTAB_USAGE with err for a bad value. */
int opttab_set(const opttab_spec *spec, void *cfg, const char *name, const char *value, char *err, size_t errsz);
/* Frees what the table's strings, lists and properties hold. Accepts NULL. */
void opttab_free(const opttab_spec *spec, void *cfg);

/* usage, then one line per option cmd takes: "  -b, --bootstrap BOOTSTRAP  help (default X)". */
void opttab_print_help(FILE *out, const opttab_spec *spec, unsigned cmd);
/* The example configuration file: every key under its section with its help
 * and flag, its default (or example value) or commented out. */
void opttab_print_example(FILE *out, const opttab_spec *spec);

/* "250ms", "90s", "10m", "1h", "2d", "1w", or a bare number of bare_ms
 * (0: seconds). -1 on anything else or overflow. */
int opttab_parse_duration(const char *s, int64_t bare_ms, int64_t *ms);
/* "512", "64K", "64M", "2G", "1T", with an optional B (powers of 1024). */
int opttab_parse_size(const char *s, uint64_t *bytes);

#endif
