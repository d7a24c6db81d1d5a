/* A program's INI configuration file read as long options placed before the
 * command line, so main keeps one option parser and the command line wins
 * (it comes later). The agent has its own typed table (agent/config.c); the
 * collector and the server describe their options to this module. */
#ifndef ISPEED_CONFFILE_H
#define ISPEED_CONFFILE_H

#include <stddef.h>
#include <stdio.h>

/* One long option as the file knows it. The key is the option's name with
 * '_' for '-' (log_level for --log-level); either spelling is accepted. */
typedef struct conffile_option {
    const char *name;    /* long option, without "--" */
    int has_arg;         /* 0: a flag; true/yes/1 gives --name, false/no/0 leaves it out */
    const char *section; /* the [section] it belongs in; NULL: the spec's own section */
    const char *def;     /* default, given before the file; the example writes "key = def" */
    const char *example; /* no default: the value the example sets (a packaged path); NULL: "# key =" */
    const char *metavar; /* what the value is, for the example's comment */
    const char *help;
    int repeatable;      /* each occurrence adds one (documentation only: any key may repeat) */
} conffile_option;

typedef struct conffile_spec {
    const char *program;      /* "ispeed-collector", for messages and the example's header */
    const char *path;         /* default file, read only if it exists: /etc/ispeed/collector.conf */
    const char *section;      /* section of options that name none: "collector" */
    const conffile_option *options;
    size_t noptions;
    const char *passthrough;  /* "kafka": its keys that are no option become -X key=value; NULL: none */
    char passthrough_flag;    /* 'X' */
} conffile_spec;

typedef struct conffile_args conffile_args;

/* Builds argv[0], every option's default (--name=def), the file's options
 * in file order (one element per key: --name=value, --name or -Xkey=value),
 * then argv[1..] without --config FILE. The file is --config's, else
 * spec->path if it exists; none is read when --help or -h is given. NULL
 * with "path:line: ..." naming the key, or "cannot read ...", in err. */
conffile_args *conffile_args_new(const conffile_spec *spec, int argc, char **argv, char *err, size_t errsz);
void conffile_args_free(conffile_args *a);

int conffile_args_argc(const conffile_args *a);
char **conffile_args_argv(const conffile_args *a);
/* The file read, or NULL. */
const char *conffile_args_path(const conffile_args *a);
/* "path:line: key" when argv[i] came from the file, else NULL. Stable while
 * getopt parses: the file's elements are all options and come first. */
const char *conffile_args_origin(const conffile_args *a, int i);

/* The example file: every key under its section with its help, its
 * default, and whether it repeats. */
void conffile_print_example(FILE *out, const conffile_spec *spec);

#endif
