/* cli: declared options and positionals for the command line. See cli.h. */
#include "cli.h"
#include "parse.h"
#include "../store/db.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

static bool cli_is_help(const char *s)
{
    return strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0;
}

/* Index of the option spelled name (len bytes), -1 if none. */
static int cli_find(const struct cli_spec *spec, const char *name, size_t len)
{
    for (size_t i = 0; i < spec->option_count; i++) {
        const struct cli_option *o = &spec->options[i];
        if ((strlen(o->name) == len && strncmp(o->name, name, len) == 0) ||
            (o->alias != NULL && strlen(o->alias) == len && strncmp(o->alias, name, len) == 0))
            return (int)i;
    }
    return -1;
}

/* Does s look like one of the options (or help), so it cannot be a value? */
static bool cli_is_option(const struct cli_spec *spec, const char *s)
{
    if (s[0] != '-')
        return false;
    if (cli_is_help(s))
        return true;
    const char *eq = strchr(s, '=');
    return cli_find(spec, s, eq ? (size_t)(eq - s) : strlen(s)) >= 0;
}

int cli_parse(const struct cli_spec *spec, int argc, char *const *argv, struct cli_args *out, char *err,
              size_t err_cap)
{
    memset(out, 0, sizeof(*out));
    out->rest = argc;
    err[0] = '\0';
    bool options_done = false;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        bool is_opt = !options_done && s[0] == '-' && s[1] != '\0';
        if (is_opt && strcmp(s, "--") == 0) {
            options_done = true;
            continue;
        }
        if (!is_opt) {
            if (spec->stop_at_arg) {
                out->rest = i;
                return out->help ? CLI_HELP : CLI_OK;
            }
            if (out->argc >= spec->max_args || out->argc >= CLI_MAX_ARGS) {
                snprintf(err, err_cap, "unexpected argument '%s'", s);
                return CLI_USAGE;
            }
            out->args[out->argc++] = s;
            continue;
        }
        if (cli_is_help(s)) {
            out->help = true;
            continue;
        }
        const char *eq = strncmp(s, "--", 2) == 0 ? strchr(s, '=') : NULL;
        size_t len = eq ? (size_t)(eq - s) : strlen(s);
        int k = cli_find(spec, s, len);
        if (k < 0) {
            snprintf(err, err_cap, "unknown option %.*s", (int)len, s);
            return CLI_USAGE;
        }
        const struct cli_option *o = &spec->options[k];
        if (o->kind == CLI_FLAG) {
            if (eq != NULL) {
                snprintf(err, err_cap, "option %.*s takes no value", (int)len, s);
                return CLI_USAGE;
            }
            out->values[k] = "";
        } else if (eq != NULL) {
            out->values[k] = eq + 1;
        } else if (i + 1 < argc && !cli_is_option(spec, argv[i + 1])) {
            out->values[k] = argv[++i];
        } else {
            snprintf(err, err_cap, "option %.*s needs a value", (int)len, s);   /* as typed */
            return CLI_USAGE;
        }
    }
    if (out->help)
        return CLI_HELP;
    if (!spec->stop_at_arg && out->argc < spec->min_args) {
        snprintf(err, err_cap, "missing %s", spec->arg_names ? spec->arg_names : "argument");
        return CLI_USAGE;
    }
    return CLI_OK;
}

static int cli_index(const struct cli_spec *spec, const char *name)
{
    return cli_find(spec, name, strlen(name));
}

const char *cli_value(const struct cli_spec *spec, const struct cli_args *a, const char *name)
{
    int k = cli_index(spec, name);
    return k >= 0 ? a->values[k] : NULL;
}

bool cli_flag(const struct cli_spec *spec, const struct cli_args *a, const char *name)
{
    return cli_value(spec, a, name) != NULL;
}

int cli_int_text(const char *what, const char *s, int64_t min, int64_t max, int64_t *out, char *err,
                 size_t err_cap)
{
    if (parse_int64(s, strlen(s), min, max, out) == 0)
        return 0;
    if (max == INT64_MAX && min == 1)
        snprintf(err, err_cap, "%s must be a positive integer", what);
    else if (max == INT64_MAX)
        snprintf(err, err_cap, "%s must be an integer of at least %" PRId64, what, min);
    else
        snprintf(err, err_cap, "%s must be an integer from %" PRId64 " to %" PRId64, what, min, max);
    return -1;
}

int cli_int(const struct cli_spec *spec, const struct cli_args *a, const char *name, int64_t min, int64_t max,
            int64_t dflt, int64_t *out, char *err, size_t err_cap)
{
    const char *v = cli_value(spec, a, name);
    *out = dflt;
    return v == NULL ? 0 : cli_int_text(name, v, min, max, out, err, err_cap);
}

/* "usage: tallyctl SYNOPSIS": the program is the first word of prog. */
static void cli_usage_line(const struct cli_spec *spec, FILE *out)
{
    fprintf(out, "usage: %.*s %s\n", (int)strcspn(spec->prog, " "), spec->prog, spec->synopsis);
}

void cli_help(const struct cli_spec *spec, FILE *out)
{
    cli_usage_line(spec, out);
    if (spec->summary != NULL)
        fprintf(out, "%s\n", spec->summary);
    if (spec->details != NULL)
        fprintf(out, "%s", spec->details);
    cli_help_options(spec, out);
}

void cli_help_options(const struct cli_spec *spec, FILE *out)
{
    fprintf(out, "\noptions:\n");
    for (size_t i = 0; i < spec->option_count; i++) {
        const struct cli_option *o = &spec->options[i];
        char left[64];
        snprintf(left, sizeof(left), "%s%s%s%s%s", o->name, o->alias ? ", " : "", o->alias ? o->alias : "",
                 o->kind == CLI_VALUE ? " " : "", o->kind == CLI_VALUE ? (o->metavar ? o->metavar : "VALUE") : "");
        fprintf(out, "  %-24s %s\n", left, o->help ? o->help : "");
    }
    fprintf(out, "  %-24s %s\n", "-h, --help", "show this help and exit");
}

int cli_start(const struct cli_spec *spec, int argc, char *const *argv, struct cli_args *out)
{
    char err[CLI_ERR_BYTES];
    int rc = cli_parse(spec, argc, argv, out, err, sizeof(err));
    if (rc == CLI_HELP) {
        cli_help(spec, stdout);
        return 0;
    }
    if (rc == CLI_USAGE) {
        fprintf(stderr, "%s: %s\n", spec->prog, err);
        cli_usage_line(spec, stderr);
        return 2;
    }
    return CLI_GO;
}

static void cli_vsay(const struct cli_spec *spec, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    fprintf(stderr, "%s: %s\n", spec->prog, msg);
}

int cli_usage_error(const struct cli_spec *spec, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cli_vsay(spec, fmt, ap);
    va_end(ap);
    return 2;
}

int cli_fail(const struct cli_spec *spec, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cli_vsay(spec, fmt, ap);
    va_end(ap);
    return 1;
}

int cli_db_fail(const struct cli_spec *spec, const struct db *db, enum err e)
{
    char msg[512];
    return cli_fail(spec, "%s", db_error_text(db, e, msg, sizeof(msg)));
}
