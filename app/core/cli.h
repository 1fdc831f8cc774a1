/* cli: the option parser of tallyctl's commands and of the two mains.
 * A command declares its options (a flag, or one that takes a value:
 * `--x VALUE` or `--x=VALUE`) and how many positional arguments it takes;
 * cli_parse checks argv against that and says in plain words what is
 * wrong. `-h`/`--help` is always accepted. `--` ends the options.
 *
 * Conventions (those of a Unix tool): an unknown option, a missing value,
 * a value given to a flag and a surplus or missing argument are usage
 * errors (exit status 2); help goes to stdout with status 0. A value is the
 * next argument unless that is itself one of the command's options
 * (`--label --admin` is "option --label needs a value"; `--label=--admin`
 * is the way to mean it). The last of a repeated option wins.
 *
 * cli_parse, cli_int and cli_help are pure (no global state; cli_help
 * writes only to the FILE given). cli_start/cli_usage_error/cli_fail are
 * the thin printers the commands use. */
#ifndef TALLY_CLI_H
#define TALLY_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "errors.h"

struct db;

#define CLI_MAX_OPTIONS 16
#define CLI_MAX_ARGS    8
#define CLI_ERR_BYTES   256

enum cli_kind { CLI_FLAG, CLI_VALUE };

struct cli_option {
    const char *name;                  /* "--label" or "-c" */
    const char *alias;                 /* another spelling ("--config"), or NULL */
    enum cli_kind kind;
    const char *metavar;               /* "TEXT" in the help (CLI_VALUE) */
    const char *help;
};

struct cli_spec {
    const char *prog;                  /* "tallyctl token create": prefix of every message */
    const char *synopsis;              /* without the program name */
    const char *summary;               /* one sentence */
    const struct cli_option *options;
    size_t option_count;               /* <= CLI_MAX_OPTIONS */
    int min_args, max_args;            /* positionals; max_args <= CLI_MAX_ARGS */
    const char *arg_names;             /* "ID" for "missing ID" */
    bool stop_at_arg;                  /* options end at the first positional (a main's global options) */
    const char *details;               /* more lines for the help, or NULL */
};

struct cli_args {
    const char *values[CLI_MAX_OPTIONS];   /* by option index: the value, "" for a set flag, NULL if absent */
    const char *args[CLI_MAX_ARGS];
    int argc;                              /* positionals found */
    int rest;                              /* stop_at_arg: index in argv of the first positional (argc when none) */
    bool help;
};

enum cli_status { CLI_OK = 0, CLI_HELP = 1, CLI_USAGE = -1 };

/* Parses argv[1..argc-1] (argv[0] is the command's name). CLI_OK,
 * CLI_HELP, or CLI_USAGE with a message in err (without the prefix). */
int cli_parse(const struct cli_spec *spec, int argc, char *const *argv, struct cli_args *out, char *err,
              size_t err_cap);

/* The value of option `name` (either spelling), NULL if absent. */
const char *cli_value(const struct cli_spec *spec, const struct cli_args *a, const char *name);
bool cli_flag(const struct cli_spec *spec, const struct cli_args *a, const char *name);

/* Option `name` as an integer in [min, max]; dflt if absent. 0, or -1 with
 * a message in err ("--users must be an integer from 1 to 100000"). */
int cli_int(const struct cli_spec *spec, const struct cli_args *a, const char *name, int64_t min, int64_t max,
            int64_t dflt, int64_t *out, char *err, size_t err_cap);
/* Text s as an integer in [min, max] named `what`, as cli_int. */
int cli_int_text(const char *what, const char *s, int64_t min, int64_t max, int64_t *out, char *err,
                 size_t err_cap);

/* The help: usage line, summary, options (and -h). */
void cli_help(const struct cli_spec *spec, FILE *out);
/* Only its "options:" part (a main's help puts its commands before it). */
void cli_help_options(const struct cli_spec *spec, FILE *out);

/* Parses; on help prints it to stdout, on a usage error prints
 * "PROG: message" and the usage line to stderr. Returns CLI_GO to go on,
 * else the exit status (0 after help, 2 after an error). */
#define CLI_GO (-1)
int cli_start(const struct cli_spec *spec, int argc, char *const *argv, struct cli_args *out);
/* "PROG: message" on stderr; return 2 (usage) or 1 (failure). */
int cli_usage_error(const struct cli_spec *spec, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cli_fail(const struct cli_spec *spec, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A failed statement as cli_fail: "PROG: " + db_error_text (for
 * ERR_UNAVAILABLE: "cannot reach PostgreSQL at HOST:PORT: reason"). 1. */
int cli_db_fail(const struct cli_spec *spec, const struct db *db, enum err e);

#endif
