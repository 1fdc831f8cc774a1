/* learning_cli: `tallyctl learning aggregate [--days N] [--full]` and
 * `tallyctl learning seed-demo [--seed S]`. The aggregation is one
 * transaction (one statement does the work), so there is no per-profile
 * progress to report: a line when it starts, then the summary, like
 * `precompute`. Exit status 0 ok, 1 failure, 2 usage. */
#define _GNU_SOURCE
#include "learning.h"
#include "../core/cli.h"
#include "../store/db.h"

#include <stdio.h>
#include <string.h>

#define LEARNING_CLI_STR2(x) #x
#define LEARNING_CLI_STR(x) LEARNING_CLI_STR2(x)

static const struct cli_spec learning_cli_spec = {
    .prog = "tallyctl learning", .synopsis = "learning aggregate | seed-demo  (learning SUBCOMMAND --help)",
    .summary = "The learning aggregator from the command line."};
static const struct cli_option learning_cli_aggregate_opts[] = {
    {"--days", NULL, CLI_VALUE, "N", "the window, in days (default: " LEARNING_CLI_STR(LEARNING_WINDOW_DAYS_DEFAULT) ")"},
    {"--full", NULL, CLI_FLAG, NULL, "every profile, not only those whose window changed"},
};
static const struct cli_spec learning_cli_aggregate_spec = {
    .prog = "tallyctl learning aggregate", .synopsis = "learning aggregate [--days N] [--full]",
    .summary = "Recomputes the style hints of the forms whose window changed (--full: every form).",
    .options = learning_cli_aggregate_opts, .option_count = 2};
static const struct cli_option learning_cli_seed_opts[] = {
    {"--seed", NULL, CLI_VALUE, "S", "the random seed (default 42): the same seed gives the same events"},
};
static const struct cli_spec learning_cli_seed_spec = {
    .prog = "tallyctl learning seed-demo", .synopsis = "learning seed-demo [--seed S]",
    .summary = "Demo learning events over the first 64 users, then a full aggregation.",
    .options = learning_cli_seed_opts, .option_count = 1};

/* Demo events over the first 64 users (tallyctl seed-demo does it too). */
static int learning_cli_seed(struct tally_ctx *ctx, int argc, char **argv)
{
    const struct cli_spec *spec = &learning_cli_seed_spec;
    struct cli_args a;
    int rc = cli_start(spec, argc, argv, &a);
    if (rc != CLI_GO)
        return rc;
    char err[CLI_ERR_BYTES];
    int64_t seed;
    if (cli_int(spec, &a, "--seed", 0, INT64_MAX, 42, &seed, err, sizeof(err)) != 0)
        return cli_usage_error(spec, "%s", err);
    enum err e;
    db_result *r = db_query(ctx->db, &e, 0, "SELECT id FROM users ORDER BY id LIMIT 64", 0, NULL);
    if (r == NULL)
        return cli_db_fail(spec, ctx->db, e);
    int64_t ids[64];
    int n = db_rows(r);
    for (int i = 0; i < n && i < 64; i++)
        ids[i] = db_int64(r, i, 0);
    db_clear(r);
    if (n == 0)
        return cli_fail(spec, "no users (tallyctl seed-demo makes some)");
    return learning_seed_demo(ctx, (uint64_t)seed, ids, n, stdout) == 0 ? 0 : 1;
}

static int learning_cli_aggregate(struct tally_ctx *ctx, int argc, char **argv)
{
    const struct cli_spec *spec = &learning_cli_aggregate_spec;
    struct cli_args a;
    int rc = cli_start(spec, argc, argv, &a);
    if (rc != CLI_GO)
        return rc;
    char err[CLI_ERR_BYTES];
    int64_t days;
    if (cli_int(spec, &a, "--days", 1, LEARNING_WINDOW_DAYS_MAX, LEARNING_WINDOW_DAYS_DEFAULT, &days, err,
                sizeof(err)) != 0)
        return cli_usage_error(spec, "%s", err);
    struct learning_aggregate_opts opts = {.days = (int)days, .full = cli_flag(spec, &a, "--full")};
    fprintf(stderr, "learning: aggregating the last %d days (%s)...\n", opts.days,
            opts.full ? "every profile" : "changed profiles only");
    struct learning_aggregate_result r;
    if (learning_aggregate(ctx, &opts, &r) != 0)
        return cli_fail(spec, "learning aggregation failed: %s", db_last_error(ctx->db));
    if (r.skipped) {
        printf("learning aggregation skipped: another run holds the lock (it covers the same changes)\n");
        return 0;
    }
    printf("learning aggregation (%s, %d days): %ld profiles updated from %ld events in %.1f ms\n",
           r.full ? "full" : "incremental", opts.days, r.updated_profiles, r.events_read, r.duration_ms);
    return 0;
}

static int learning_cli_run(struct tally_ctx *ctx, int argc, char **argv)
{
    const char *sub = argc >= 2 ? argv[1] : "";
    if (strcmp(sub, "aggregate") == 0)
        return learning_cli_aggregate(ctx, argc - 1, argv + 1);
    if (strcmp(sub, "seed-demo") == 0)
        return learning_cli_seed(ctx, argc - 1, argv + 1);
    struct cli_args top;
    int rc = sub[0] == '-' ? cli_start(&learning_cli_spec, argc, argv, &top) : CLI_GO;   /* --help: exit 0 */
    if (rc != CLI_GO)
        return rc;
    if (sub[0] == '\0')
        return cli_usage_error(&learning_cli_spec, "which subcommand? (aggregate, seed-demo)");
    return cli_usage_error(&learning_cli_spec, "unknown subcommand '%s' (aggregate, seed-demo)", sub);
}

const struct module_command learning_cli_commands[LEARNING_CLI_COMMAND_COUNT] = {
    {"learning", "learning aggregate [--days N] [--full] | seed-demo [--seed S]",
     "recompute the style hints of the forms whose window changed (--full: every form); demo events",
     learning_cli_run},
};
