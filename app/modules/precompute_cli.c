/* precompute_cli: `tallyctl precompute` and `tallyctl cleanup`, the batch
 * side of the precompute module (its `commands` in the module table). The
 * work is precompute_user / precompute_all / precompute_cleanup. */
#define _GNU_SOURCE
#include "precompute.h"
#include "../core/clock.h"
#include "../core/cli.h"
#include "../core/parse.h"
#include "../store/db.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char precompute_cli_syn[] = "precompute --all | --user ID [--month YYYY-MM]";
static const char precompute_cli_cleanup_syn[] = "cleanup";

static const struct cli_option precompute_cli_opts[] = {
    {"--all", NULL, CLI_FLAG, NULL, "every user active in the last 30 days"},
    {"--user", NULL, CLI_VALUE, "ID", "one user"},
    {"--month", NULL, CLI_VALUE, "YYYY-MM", "the month (default: the current one, UTC)"},
};
static const struct cli_spec precompute_cli_spec = {
    .prog = "tallyctl precompute", .synopsis = precompute_cli_syn,
    .summary = "Computes and stores the metrics of that month and the one before (PostgreSQL and memcached).",
    .options = precompute_cli_opts, .option_count = 3};
static const struct cli_spec precompute_cli_cleanup_spec = {
    .prog = "tallyctl cleanup", .synopsis = precompute_cli_cleanup_syn,
    .summary = "Deletes the pre-computed metrics that expired 7 or more days ago."};

struct precompute_cli_progress {
    double started;
    bool tty;
};

static void precompute_cli_show(void *arg, long done, long total, long failed)
{
    struct precompute_cli_progress *p = arg;
    if (!p->tty)
        return;
    double elapsed = (clock_ms() / 1000.0) - p->started;
    double rate = elapsed > 0 ? (double)done / elapsed : 0;
    double eta = rate > 0 ? (double)(total - done) / rate : 0;
    fprintf(stderr, "\rprecompute: %ld/%ld users, %ld failed, %.1f users/s, ETA %.0f s ", done, total, failed, rate,
            eta);
}

/* ERR_NONE if the user exists, else ERR_NOT_FOUND or the database's error. */
static enum err precompute_cli_user_exists(struct db *db, int64_t user_id)
{
    char id[24];
    db_param_i64(id, user_id);
    const char *params[1] = {id};
    enum err e;
    db_result *r = db_query(db, &e, DB_RETRY_ON_RECONNECT, "SELECT 1 FROM users WHERE id = $1::bigint", 1, params);
    if (r == NULL)
        return e;
    e = db_rows(r) == 1 ? ERR_NONE : ERR_NOT_FOUND;
    db_clear(r);
    return e;
}

static int precompute_cli_run(struct tally_ctx *ctx, int argc, char **argv)
{
    const struct cli_spec *spec = &precompute_cli_spec;
    struct cli_args a;
    int rc = cli_start(spec, argc, argv, &a);
    if (rc != CLI_GO)
        return rc;
    char err[CLI_ERR_BYTES];
    int64_t user = 0;
    if (cli_int(spec, &a, "--user", 1, INT64_MAX, 0, &user, err, sizeof(err)) != 0)
        return cli_usage_error(spec, "%s", err);
    bool all = cli_flag(spec, &a, "--all");
    if (all == (user > 0))
        return cli_usage_error(spec, "give exactly one of --all or --user ID");
    int year, month;
    const char *mtext = cli_value(spec, &a, "--month");
    if (mtext != NULL) {
        if (parse_period(mtext, strlen(mtext), &year, &month) != 0)
            return cli_usage_error(spec, "--month must be a month YYYY-MM");
    } else {
        int day;
        parse_today_utc(&year, &month, &day);
    }
    struct precompute_cli_progress p = {.started = (clock_ms() / 1000.0), .tty = isatty(2)};
    long done = 0, failed = 0;
    if (all) {
        rc = precompute_all(ctx->db, ctx->cache, year, month, precompute_cli_show, &p, &done, &failed);
        if (p.tty)
            fputc('\n', stderr);
        if (rc != 0 && done == 0 && failed == 0)
            return cli_db_fail(spec, ctx->db, db_connected(ctx->db) ? ERR_INTERNAL : ERR_UNAVAILABLE);
    } else {
        enum err e = precompute_cli_user_exists(ctx->db, user);
        if (e == ERR_NOT_FOUND)
            return cli_fail(spec, "user %" PRId64 " not found", user);
        if (e != ERR_NONE)
            return cli_db_fail(spec, ctx->db, e);
        rc = precompute_user(ctx->db, ctx->cache, user, year, month);
        done = 1;
        failed = rc != 0;
        if (failed)
            return cli_db_fail(spec, ctx->db, db_connected(ctx->db) ? ERR_INTERNAL : ERR_UNAVAILABLE);
    }
    double elapsed = (clock_ms() / 1000.0) - p.started;
    printf("precomputed %ld users (%ld failed), %d metrics each, %04d-%02d and the month before, in %.2f s (%.1f users/s)\n",
           done - failed, failed, 2 * PRECOMPUTE_TYPES, year, month, elapsed, elapsed > 0 ? (double)done / elapsed : 0);
    return failed == 0 ? 0 : 1;
}

static int precompute_cli_cleanup(struct tally_ctx *ctx, int argc, char **argv)
{
    const struct cli_spec *spec = &precompute_cli_cleanup_spec;
    struct cli_args a;
    int rc = cli_start(spec, argc, argv, &a);
    if (rc != CLI_GO)
        return rc;
    long deleted = 0;
    if (precompute_cleanup(ctx->db, &deleted) != 0)
        return cli_db_fail(spec, ctx->db, db_connected(ctx->db) ? ERR_INTERNAL : ERR_UNAVAILABLE);
    printf("deleted %ld pre-computed metrics expired %d+ days ago\n", deleted, PRECOMPUTE_CLEANUP_AFTER_DAYS);
    return 0;
}

const struct module_command precompute_cli_commands[PRECOMPUTE_CLI_COMMANDS] = {
    {"precompute", precompute_cli_syn, "compute and store a month's metrics (and the month before)",
     precompute_cli_run},
    {"cleanup", precompute_cli_cleanup_syn, "delete pre-computed metrics expired 7+ days ago",
     precompute_cli_cleanup},
};
