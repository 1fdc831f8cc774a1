/* tallyctl: the command line for operators. Every command but `migrate`
 * (the store's) comes from the module table: a domain lists its commands in
 * its struct tally_module (`commands`), and this file finds them, builds
 * the usage text from them and runs them with a CLI context (db, cache,
 * config, module states). Command names are one word ("cleanup") or two
 * ("token create"); the first word of a two-word name is a group whose
 * commands `tallyctl token --help` lists.
 *
 * Conventions: options are parsed by core/cli (unknown option, missing
 * value, surplus argument: exit 2), `--help` anywhere prints help (exit 0),
 * errors are one line of plain words on stderr (JSON logging is off, except
 * for the job runner), exit status 0 ok, 1 failure, 2 usage. */
#define _GNU_SOURCE
#include "cache/cache.h"
#include "core/arena.h"
#include "core/cli.h"
#include "core/config.h"
#include "core/log.h"
#include "core/module.h"
#include "store/db.h"
#include "store/migrate.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- migrate: the store's commands, built in -------------------------------- */

static const char ctl_up_syn[] = "migrate up";
static const char ctl_down_syn[] = "migrate down [N | --all]";
static const char ctl_status_syn[] = "migrate status";

static const struct cli_spec ctl_up_spec = {
    .prog = "tallyctl migrate up", .synopsis = ctl_up_syn, .summary = "Applies the pending migrations of sql/."};
static const struct cli_spec ctl_status_spec = {
    .prog = "tallyctl migrate status", .synopsis = ctl_status_syn,
    .summary = "Lists the migrations of sql/, applied or pending."};
static const struct cli_option ctl_down_opts[] = {
    {"--all", NULL, CLI_FLAG, NULL, "revert every applied migration"},
};
static const struct cli_spec ctl_down_spec = {
    .prog = "tallyctl migrate down", .synopsis = ctl_down_syn,
    .summary = "Reverts the last N applied migrations (default 1).",
    .options = ctl_down_opts, .option_count = 1, .max_args = 1, .arg_names = "N"};

static int ctl_migrate_up(struct tally_ctx *ctx, int argc, char **argv)
{
    struct cli_args a;
    int rc = cli_start(&ctl_up_spec, argc, argv, &a);
    if (rc != CLI_GO)
        return rc;
    return migrate_up(ctx->db, ctx->cfg->sql_dir, stdout) == 0 ? 0 : 1;
}

static int ctl_migrate_status(struct tally_ctx *ctx, int argc, char **argv)
{
    struct cli_args a;
    int rc = cli_start(&ctl_status_spec, argc, argv, &a);
    if (rc != CLI_GO)
        return rc;
    return migrate_status(ctx->db, ctx->cfg->sql_dir, stdout) == 0 ? 0 : 1;
}

static int ctl_migrate_down(struct tally_ctx *ctx, int argc, char **argv)
{
    struct cli_args a;
    int rc = cli_start(&ctl_down_spec, argc, argv, &a);
    if (rc != CLI_GO)
        return rc;
    int64_t steps = 1;
    char err[CLI_ERR_BYTES];
    bool all = cli_flag(&ctl_down_spec, &a, "--all");
    if (all && a.argc > 0)
        return cli_usage_error(&ctl_down_spec, "give either N or --all");
    if (all)
        steps = -1;
    else if (a.argc > 0 && cli_int_text("N", a.args[0], 1, 100000, &steps, err, sizeof(err)) != 0)
        return cli_usage_error(&ctl_down_spec, "%s", err);
    return migrate_down(ctx->db, ctx->cfg->sql_dir, (int)steps, stdout) == 0 ? 0 : 1;
}

static const struct module_command ctl_builtin[] = {
    {"migrate up", ctl_up_syn, "apply the pending migrations", ctl_migrate_up},
    {"migrate down", ctl_down_syn, "revert the last N migrations (default 1)", ctl_migrate_down},
    {"migrate status", ctl_status_syn, "list migrations, applied or pending", ctl_migrate_status},
};
#define CTL_BUILTIN_COUNT (sizeof(ctl_builtin) / sizeof(ctl_builtin[0]))

/* ---- finding a command ------------------------------------------------------ */

static const struct module_command *ctl_find(const char *name)
{
    for (size_t i = 0; i < CTL_BUILTIN_COUNT; i++)
        if (strcmp(ctl_builtin[i].name, name) == 0)
            return &ctl_builtin[i];
    return module_command_find(name);
}

static bool ctl_in_group(const char *name, const char *group)
{
    size_t n = strlen(group);
    return strncmp(name, group, n) == 0 && name[n] == ' ';
}

/* Prints the lines of every command (group NULL) or of one group's (out
 * NULL: only counts them); returns how many. */
static int ctl_list(FILE *out, const char *group)
{
    int n = 0;
    for (size_t i = 0; i < CTL_BUILTIN_COUNT; i++)
        if (group == NULL || ctl_in_group(ctl_builtin[i].name, group)) {
            if (out != NULL)
                module_command_line(out, &ctl_builtin[i]);
            n++;
        }
    for (int i = 0; tally_modules[i] != NULL; i++)
        for (size_t k = 0; k < tally_modules[i]->command_count; k++) {
            const struct module_command *c = &tally_modules[i]->commands[k];
            if (group != NULL && !ctl_in_group(c->name, group))
                continue;
            if (out != NULL)
                module_command_line(out, c);
            n++;
        }
    return n;
}

/* ---- main --------------------------------------------------------------------- */

static const struct cli_option ctl_options[] = {
    {"-c", "--config", CLI_VALUE, "CONFIG", "config file (key = value lines); TALLY_<KEY> env vars override it"},
    {"-V", "--version", CLI_FLAG, NULL, "print the version and exit"},
};
static const struct cli_spec ctl_spec = {
    .prog = "tallyctl", .synopsis = "[-c CONFIG] COMMAND [OPTIONS] [ARGS]",
    .summary = "The command line of tally: migrations, tokens, users, demo data, jobs, metrics.",
    .options = ctl_options, .option_count = 2, .stop_at_arg = true};

static void ctl_usage(FILE *out)
{
    fprintf(out, "usage: tallyctl %s\n%s\n\ncommands:\n", ctl_spec.synopsis, ctl_spec.summary);
    ctl_list(out, NULL);
    cli_help_options(&ctl_spec, out);
    enum config_source source;
    const char *path = config_discover(NULL, &source);
    fprintf(out, "\nCOMMAND --help shows a command's options. The config file is found as by tallyd\n"
                 "(-c FILE, else $TALLY_CONF, else the installed default); TALLY_<KEY> environment\n"
                 "variables override it. Without -c this reads: %s (%s).\n"
                 "Exit status: 0 ok, 1 failure, 2 usage error.\n",
            path != NULL ? path : "no file", config_source_text(source));
}

/* Resolves argv (from the command word on) to a command; *words = 1 or 2.
 * NULL after printing why (*status is then the exit status). */
static const struct module_command *ctl_resolve(int argc, char **argv, int *words, int *status)
{
    char name[128];
    if (argc >= 2 && argv[1][0] != '-') {
        snprintf(name, sizeof(name), "%s %s", argv[0], argv[1]);
        const struct module_command *c = ctl_find(name);
        if (c != NULL) {
            *words = 2;
            return c;
        }
    }
    const struct module_command *c = ctl_find(argv[0]);
    if (c != NULL) {
        *words = 1;
        return c;
    }
    bool help = argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0);
    if (ctl_list(NULL, argv[0]) > 0) {            /* a group: "token", "jobs" ... */
        FILE *out = help ? stdout : stderr;
        if (!help && argc < 2)
            fprintf(stderr, "tallyctl %s: missing subcommand\n", argv[0]);
        else if (!help)
            fprintf(stderr, "tallyctl %s: unknown subcommand '%s'\n", argv[0], argv[1]);
        fprintf(out, "usage: tallyctl [-c CONFIG] %s SUBCOMMAND [OPTIONS] [ARGS]\n", argv[0]);
        ctl_list(out, argv[0]);
        fprintf(out, "tallyctl %s SUBCOMMAND --help shows one.\n", argv[0]);
        *status = help ? 0 : 2;
        return NULL;
    }
    fprintf(stderr, "tallyctl: unknown command '%s' (tallyctl --help lists them)\n", argv[0]);
    *status = 2;
    return NULL;
}

/* `COMMAND ... --help` needs no configuration: every command's run starts
 * with cli_start, which prints the help (or a usage error) before any work. */
static bool ctl_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return true;
    return false;
}

int main(int argc, char **argv)
{
    static struct config cfg;
    struct cli_args g;
    char err[CLI_ERR_BYTES];
    int prc = cli_parse(&ctl_spec, argc, argv, &g, err, sizeof(err));
    if (prc == CLI_USAGE) {
        fprintf(stderr, "tallyctl: %s\n", err);
        fprintf(stderr, "usage: tallyctl %s (tallyctl --help lists the commands)\n", ctl_spec.synopsis);
        return 2;
    }
    if (prc == CLI_HELP) {
        ctl_usage(stdout);
        return 0;
    }
    if (cli_flag(&ctl_spec, &g, "--version")) {
        printf("tallyctl %s\n", PACKAGE_VERSION);
        return 0;
    }
    if (g.rest >= argc) {
        fprintf(stderr, "tallyctl: missing COMMAND\n");
        ctl_usage(stderr);
        return 2;
    }
    int cargc = argc - g.rest;
    char **cargv = argv + g.rest;
    int words = 1, status = 2;
    const struct module_command *mc = ctl_resolve(cargc, cargv, &words, &status);
    if (mc == NULL)
        return status;
    log_set_level(LOG_OFF);              /* one plain line per failure; `worker` turns logging on */
    config_defaults(&cfg);
    enum config_source source;
    const char *config_path = config_discover(cli_value(&ctl_spec, &g, "-c"), &source);
    if (!ctl_wants_help(cargc, cargv) && config_load(&cfg, config_path, err, sizeof(err)) != 0) {
        fprintf(stderr, "tallyctl: %s\n", err);
        return 1;
    }
    static struct tally_ctx ctx;
    struct arena arena;
    arena_init(&arena);
    ctx = (struct tally_ctx){.kind = TALLY_CTX_CLI, .cfg = &cfg, .worker_slot = -1, .listen_fd = -1,
                             .arena = &arena};
    ctx.db = db_create(cfg.pg_conninfo, NULL);
    ctx.cache = cache_create(cfg.memcached_servers, NULL);
    int rc = 1;
    if (ctx.db == NULL) {
        fprintf(stderr, "tallyctl: out of memory\n");
    } else if (module_init_children(&ctx) != 0) {
        fprintf(stderr, "tallyctl: a module could not start (out of memory?)\n");
    } else {
        /* argv[0] of the command is its last word: "create" of "token create". */
        rc = mc->run(&ctx, cargc - (words - 1), cargv + (words - 1));
        module_free_children(&ctx);
    }
    cache_destroy(ctx.cache);
    db_destroy(ctx.db);
    arena_free(&arena);
    return rc;
}
