/* finance_cli: the `tallyctl user create | count | list` commands of the
 * finance module (its `commands` in the module table). user create checks
 * its input with finance_user_problem, as POST /api/v1/users does. */
#define _GNU_SOURCE
#include "finance.h"
#include "../core/cli.h"
#include "../store/db.h"
#include "../store/db_json.h"

#include <inttypes.h>
#include <stdio.h>

/* ---- tallyctl user create | count | list ------------------------------------ */

static const char finance_create_syn[] = "user create --name NAME [--currency EUR] [--language fr|en]";
static const char finance_count_syn[] = "user count";
static const char finance_list_syn[] = "user list [--limit N] [--after ID]";

static const struct cli_option finance_create_opts[] = {
    {"--name", NULL, CLI_VALUE, "NAME", "the user's name (required)"},
    {"--currency", NULL, CLI_VALUE, "CODE", "ISO 4217 code of the user's money (default EUR)"},
    {"--language", NULL, CLI_VALUE, "fr|en", "the assistant's language (default fr)"},
};
static const struct cli_spec finance_create_spec = {
    .prog = "tallyctl user create", .synopsis = finance_create_syn,
    .summary = "Creates a user, as POST /api/v1/users does, and prints its id.",
    .options = finance_create_opts, .option_count = 3};
static const struct cli_spec finance_count_spec = {
    .prog = "tallyctl user count", .synopsis = finance_count_syn, .summary = "Prints how many users there are."};
static const struct cli_option finance_list_opts[] = {
    {"--limit", NULL, CLI_VALUE, "N", "at most N users (default 100, at most 100000)"},
    {"--after", NULL, CLI_VALUE, "ID", "users with an id above ID (the next page)"},
};
static const struct cli_spec finance_list_spec = {
    .prog = "tallyctl user list", .synopsis = finance_list_syn,
    .summary = "Lists users by id (tab-separated: id, name, currency, language, created_at, transactions).",
    .options = finance_list_opts, .option_count = 2};

static int finance_cli_create(struct tally_ctx *ctx, int argc, char **argv)
{
    const struct cli_spec *spec = &finance_create_spec;
    struct cli_args a;
    int rc = cli_start(spec, argc, argv, &a);
    if (rc != CLI_GO)
        return rc;
    const char *name = cli_value(spec, &a, "--name");
    const char *currency = cli_value(spec, &a, "--currency");
    const char *language = cli_value(spec, &a, "--language");
    const char *field;
    char msg[128];
    if (finance_user_problem(name, currency, language, &field, msg, sizeof(msg)) != NULL)
        return cli_usage_error(spec, "%s", msg);
    const char *params[3] = {name, currency ? currency : "EUR", language ? language : "fr"};
    enum err e;
    db_result *r = db_query(ctx->db, &e, 0, "INSERT INTO users (name, currency, language) VALUES ($1, $2, $3) RETURNING id",
                            3, params);
    if (r == NULL)
        return cli_db_fail(spec, ctx->db, e);
    printf("%s\n", db_value(r, 0, 0));
    db_clear(r);
    return 0;
}

static int finance_cli_count(struct tally_ctx *ctx, int argc, char **argv)
{
    const struct cli_spec *spec = &finance_count_spec;
    struct cli_args a;
    int rc = cli_start(spec, argc, argv, &a);
    if (rc != CLI_GO)
        return rc;
    enum err e;
    db_result *r = db_query(ctx->db, &e, DB_RETRY_ON_RECONNECT, "SELECT count(*) FROM users", 0, NULL);
    if (r == NULL)
        return cli_db_fail(spec, ctx->db, e);
    printf("%s\n", db_value(r, 0, 0));
    db_clear(r);
    return 0;
}

static int finance_cli_list(struct tally_ctx *ctx, int argc, char **argv)
{
    const struct cli_spec *spec = &finance_list_spec;
    struct cli_args a;
    int rc = cli_start(spec, argc, argv, &a);
    if (rc != CLI_GO)
        return rc;
    char err[CLI_ERR_BYTES];
    int64_t limit, after;
    if (cli_int(spec, &a, "--limit", 1, 100000, 100, &limit, err, sizeof(err)) != 0 ||
        cli_int(spec, &a, "--after", 0, INT64_MAX, 0, &after, err, sizeof(err)) != 0)
        return cli_usage_error(spec, "%s", err);
    char limit_text[24], after_text[24];
    db_param_i64(limit_text, limit);
    db_param_i64(after_text, after);
    const char *params[2] = {after_text, limit_text};
    enum err e;
    db_result *r = db_query(ctx->db, &e, DB_RETRY_ON_RECONNECT,
                            "SELECT u.id, u.name, u.currency, u.language,"
                            " " DB_SQL_TIMESTAMP("u.created_at") " AS created_at,"
                            " (SELECT count(*) FROM transactions t WHERE t.user_id = u.id) AS transactions"
                            " FROM users u WHERE u.id > $1::bigint ORDER BY u.id LIMIT $2::int",
                            2, params);
    if (r == NULL)
        return cli_db_fail(spec, ctx->db, e);
    db_write_tsv(r, stdout);
    db_clear(r);
    return 0;
}

const struct module_command finance_cli_commands[FINANCE_CLI_COMMANDS] = {
    {"user create", finance_create_syn, "create a user (prints its id)", finance_cli_create},
    {"user count", finance_count_syn, "print the number of users", finance_cli_count},
    {"user list", finance_list_syn, "list users: id, name, currency, language, created, transactions",
     finance_cli_list},
};
