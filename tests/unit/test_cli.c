#define _GNU_SOURCE
/* Unit tests: the command-line option parser (core/cli): flags and values
 * in both spellings, aliases, `--`, positionals with their bounds, every
 * usage error's words, help anywhere, integer options and the help text. */
#include "check.h"
#include "core/cli.h"
#include "store/db.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const struct cli_option opts[] = {
    {"--user", NULL, CLI_VALUE, "ID", "the user"},
    {"--admin", NULL, CLI_FLAG, NULL, "admin"},
    {"--label", NULL, CLI_VALUE, "TEXT", "a note"},
    {"-c", "--config", CLI_VALUE, "CONFIG", "config file"},
};
static const struct cli_spec spec = {
    .prog = "tallyctl token create", .synopsis = "token create --user ID | --admin [--label TEXT]",
    .summary = "Creates a token.", .options = opts, .option_count = 4, .max_args = 0};
static const struct cli_spec two_args = {
    .prog = "tallyctl x", .synopsis = "x A [B]", .options = opts, .option_count = 4, .min_args = 1, .max_args = 2,
    .arg_names = "A"};
static const struct cli_spec global = {
    .prog = "tallyctl", .synopsis = "[-c CONFIG] COMMAND", .options = opts, .option_count = 4, .stop_at_arg = true};

static char err[CLI_ERR_BYTES];
static struct cli_args a;

/* Parses a NULL-terminated list of words after the command name. */
static int parse(const struct cli_spec *s, const char *first, ...)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = (char *)"cmd";
    va_list ap;
    va_start(ap, first);
    for (const char *w = first; w != NULL && argc < 31; w = va_arg(ap, const char *))
        argv[argc++] = (char *)w;
    va_end(ap);
    argv[argc] = NULL;
    return cli_parse(s, argc, argv, &a, err, sizeof(err));
}

static void test_values(void)
{
    CHECK_INT(parse(&spec, "--user", "42", "--label", "ci box", NULL), CLI_OK);
    CHECK_STR(cli_value(&spec, &a, "--user"), "42");
    CHECK_STR(cli_value(&spec, &a, "--label"), "ci box");
    CHECK(!cli_flag(&spec, &a, "--admin"));
    CHECK_INT(parse(&spec, "--user=7", "--label=", NULL), CLI_OK);      /* = form; an empty value is a value */
    CHECK_STR(cli_value(&spec, &a, "--user"), "7");
    CHECK_STR(cli_value(&spec, &a, "--label"), "");
    CHECK_INT(parse(&spec, "--label=a=b", NULL), CLI_OK);               /* only the first = splits */
    CHECK_STR(cli_value(&spec, &a, "--label"), "a=b");
    CHECK_INT(parse(&spec, "--admin", "--label", "-x", NULL), CLI_OK);  /* "-x" is no option here: a value */
    CHECK(cli_flag(&spec, &a, "--admin"));
    CHECK_STR(cli_value(&spec, &a, "--label"), "-x");
    CHECK_INT(parse(&spec, "--user", "1", "--user", "2", NULL), CLI_OK); /* the last wins */
    CHECK_STR(cli_value(&spec, &a, "--user"), "2");
    CHECK_INT(parse(&spec, "--config", "/etc/t.conf", NULL), CLI_OK);   /* alias */
    CHECK_STR(cli_value(&spec, &a, "-c"), "/etc/t.conf");
    CHECK_STR(cli_value(&spec, &a, "--config"), "/etc/t.conf");
    CHECK_INT(parse(&spec, "--label=--admin", NULL), CLI_OK);           /* the way to mean an option-like value */
    CHECK_STR(cli_value(&spec, &a, "--label"), "--admin");
    CHECK(!cli_flag(&spec, &a, "--admin"));
    CHECK_INT(parse(&spec, NULL), CLI_OK);
    CHECK(cli_value(&spec, &a, "--user") == NULL);
    CHECK(cli_value(&spec, &a, "--nope") == NULL);                      /* undeclared: never set */
}

static void test_errors(void)
{
    CHECK_INT(parse(&spec, "--bogus", NULL), CLI_USAGE);
    CHECK_STR(err, "unknown option --bogus");
    CHECK_INT(parse(&spec, "--bogus=1", NULL), CLI_USAGE);              /* named without its value */
    CHECK_STR(err, "unknown option --bogus");
    CHECK_INT(parse(&spec, "-x", NULL), CLI_USAGE);
    CHECK_STR(err, "unknown option -x");
    CHECK_INT(parse(&spec, "--use", "1", NULL), CLI_USAGE);             /* no prefix matching */
    CHECK_STR(err, "unknown option --use");
    CHECK_INT(parse(&spec, "--label", NULL), CLI_USAGE);
    CHECK_STR(err, "option --label needs a value");
    CHECK_INT(parse(&spec, "--label", "--admin", NULL), CLI_USAGE);     /* the next word is an option */
    CHECK_STR(err, "option --label needs a value");
    CHECK_INT(parse(&spec, "--label", "--user=3", NULL), CLI_USAGE);
    CHECK_STR(err, "option --label needs a value");
    CHECK_INT(parse(&spec, "-c", NULL), CLI_USAGE);
    CHECK_STR(err, "option -c needs a value");
    CHECK_INT(parse(&spec, "--config", NULL), CLI_USAGE);              /* the spelling used is named */
    CHECK_STR(err, "option --config needs a value");
    CHECK_INT(parse(&spec, "--admin=yes", NULL), CLI_USAGE);
    CHECK_STR(err, "option --admin takes no value");
    CHECK_INT(parse(&spec, "--admin", "extra", NULL), CLI_USAGE);
    CHECK_STR(err, "unexpected argument 'extra'");
    CHECK_INT(parse(&two_args, NULL), CLI_USAGE);
    CHECK_STR(err, "missing A");
    CHECK_INT(parse(&two_args, "a", "b", "c", NULL), CLI_USAGE);
    CHECK_STR(err, "unexpected argument 'c'");
}

static void test_positionals(void)
{
    CHECK_INT(parse(&two_args, "a", "--admin", "b", NULL), CLI_OK);     /* options between arguments */
    CHECK_INT(a.argc, 2);
    CHECK_STR(a.args[0], "a");
    CHECK_STR(a.args[1], "b");
    CHECK_INT(parse(&two_args, "--", "--admin", NULL), CLI_OK);         /* after --, words are arguments */
    CHECK_INT(a.argc, 1);
    CHECK_STR(a.args[0], "--admin");
    CHECK(!cli_flag(&two_args, &a, "--admin"));
    CHECK_INT(parse(&two_args, "-", NULL), CLI_OK);                     /* "-" is an argument (stdin) */
    CHECK_STR(a.args[0], "-");
}

static void test_help(void)
{
    CHECK_INT(parse(&spec, "--help", NULL), CLI_HELP);
    CHECK_INT(parse(&spec, "--user", "1", "-h", NULL), CLI_HELP);
    CHECK_INT(parse(&two_args, "-h", NULL), CLI_HELP);                  /* help wins over a missing argument */
    CHECK_INT(parse(&spec, "--bogus", "--help", NULL), CLI_USAGE);      /* an error met first stays an error */
    CHECK_INT(parse(&spec, "--", "--help", NULL), CLI_USAGE);           /* after --, "--help" is an argument */
    CHECK_STR(err, "unexpected argument '--help'");
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cli_help(&spec, f);
    fclose(f);
    CHECK(strncmp(text, "usage: tallyctl token create --user ID | --admin [--label TEXT]\nCreates a token.\n",
                  strlen("usage: tallyctl token create --user ID | --admin [--label TEXT]\nCreates a token.\n")) == 0);
    CHECK(strstr(text, "\n  --label TEXT ") != NULL);
    CHECK(strstr(text, "\n  -c, --config CONFIG ") != NULL);
    CHECK(strstr(text, "\n  --admin ") != NULL);
    CHECK(strstr(text, "\n  -h, --help ") != NULL);
    free(text);
}

static void test_global(void)
{
    /* A main's options end at the command word: the command's own options are left alone. */
    CHECK_INT(parse(&global, "-c", "x.conf", "token", "create", "--bogus", NULL), CLI_OK);
    CHECK_STR(cli_value(&global, &a, "-c"), "x.conf");
    CHECK_INT(a.rest, 3);
    CHECK_INT(parse(&global, "--bogus", "token", NULL), CLI_USAGE);
    CHECK_STR(err, "unknown option --bogus");
    CHECK_INT(parse(&global, "-c", NULL), CLI_USAGE);
    CHECK_STR(err, "option -c needs a value");
    CHECK_INT(parse(&global, NULL), CLI_OK);
    CHECK_INT(a.rest, 1);                                              /* = argc: no command */
    CHECK_INT(parse(&global, "token", "--help", NULL), CLI_OK);        /* the command's --help, not ours */
    CHECK(!a.help);
}

static void test_int(void)
{
    int64_t v = -1;
    CHECK_INT(parse(&spec, "--user", "100000", NULL), CLI_OK);
    CHECK_INT(cli_int(&spec, &a, "--user", 1, 100000, 5, &v, err, sizeof(err)), 0);
    CHECK_INT(v, 100000);
    CHECK_INT(parse(&spec, NULL), CLI_OK);
    CHECK_INT(cli_int(&spec, &a, "--user", 1, 100000, 5, &v, err, sizeof(err)), 0);
    CHECK_INT(v, 5);                                                   /* absent: the default */
    const char *bad[] = {"100001", "0", "-1", "1e3", "12abc", "", " 7", "007", "+3", "99999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_INT(parse(&spec, "--user", bad[i], NULL), CLI_OK);
        CHECK_INT(cli_int(&spec, &a, "--user", 1, 100000, 5, &v, err, sizeof(err)), -1);
        CHECK_STR(err, "--user must be an integer from 1 to 100000");
    }
    CHECK_INT(cli_int_text("--user", "0", 1, INT64_MAX, &v, err, sizeof(err)), -1);
    CHECK_STR(err, "--user must be a positive integer");
    CHECK_INT(cli_int_text("--seed", "-5", 0, INT64_MAX, &v, err, sizeof(err)), -1);
    CHECK_STR(err, "--seed must be an integer of at least 0");
    CHECK_INT(cli_int_text("--user", "9223372036854775807", 1, INT64_MAX, &v, err, sizeof(err)), 0);
    CHECK(v == INT64_MAX);
}

/* db_target: the host:port a conninfo names, for "cannot reach PostgreSQL at". */
static void check_target(const char *conninfo, const char *want)
{
    struct db *db = db_create(conninfo, NULL);      /* lazy: nothing is connected */
    char out[192];
    db_target(db, out, sizeof(out));
    CHECK_STR(out, want);
    db_destroy(db);
}

static void test_db_target(void)
{
    unsetenv("PGHOST");
    unsetenv("PGHOSTADDR");
    unsetenv("PGPORT");
    check_target("host=10.1.2.3 port=6543 dbname=x", "10.1.2.3:6543");
    check_target("postgresql://u@dbhost:7000/x", "dbhost:7000");
    check_target("hostaddr=192.0.2.7 dbname=x", "192.0.2.7:5432");
    check_target("host=/var/test/run port=16132 dbname=tally user=tally connect_timeout=2", "/var/test/run:16132");
    check_target("dbname=x", "/var/run/postgresql:5432");   /* libpq's defaults */
    setenv("PGHOST", "envhost", 1);
    setenv("PGPORT", "5999", 1);
    check_target("dbname=x", "envhost:5999");                /* as libpq would use them */
    check_target("host=h port=1", "h:1");                   /* the conninfo wins */
    unsetenv("PGHOST");
    unsetenv("PGPORT");
    check_target("not a conninfo ===", "/var/run/postgresql:5432");   /* unparsable: still a sentence */
}

int main(void)
{
    test_db_target();
    test_values();
    test_errors();
    test_positionals();
    test_help();
    test_global();
    test_int();
    CHECK_DONE();
}
