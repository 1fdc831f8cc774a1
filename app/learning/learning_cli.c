/* learning_cli: `tallyctl learning aggregate [--days N] [--full]` and
 * `tallyctl learning seed-demo [--seed S]`. The aggregation is one
 * transaction (one statement does the work), so there is no per-profile
 * progress to report: a line when it starts, then the summary, like
 * `precompute`. Exit status 0 ok, 1 failure, 2 usage. */
#define _GNU_SOURCE
#include "learning.h"
#include "../core/parse.h"
#include "../store/db.h"

#include <stdio.h>
#include <string.h>

static int learning_cli_usage(void)
{
    fprintf(stderr, "usage: tallyctl learning aggregate [--days N] [--full] | seed-demo [--seed S]\n");
    return 2;
}

/* Demo events over the first 64 users (tallyctl seed-demo does it too). */
static int learning_cli_seed(struct tally_ctx *ctx, int argc, char **argv)
{
    int64_t seed = 42;
    if (argc == 4 && strcmp(argv[2], "--seed") == 0) {
        if (parse_int64(argv[3], strlen(argv[3]), 0, INT64_MAX, &seed) != 0)
            return learning_cli_usage();
    } else if (argc != 2) {
        return learning_cli_usage();
    }
    enum err e;
    db_result *r = db_query(ctx->db, &e, 0, "SELECT id FROM users ORDER BY id LIMIT 64", 0, NULL);
    if (r == NULL) {
        fprintf(stderr, "tallyctl: %s\n", db_last_error(ctx->db));
        return 1;
    }
    int64_t ids[64];
    int n = db_rows(r);
    for (int i = 0; i < n && i < 64; i++)
        ids[i] = db_int64(r, i, 0);
    db_clear(r);
    if (n == 0) {
        fprintf(stderr, "tallyctl: no users (tallyctl seed-demo makes some)\n");
        return 1;
    }
    return learning_seed_demo(ctx, (uint64_t)seed, ids, n, stdout) == 0 ? 0 : 1;
}

static int learning_cli_run(struct tally_ctx *ctx, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "seed-demo") == 0)
        return learning_cli_seed(ctx, argc, argv);
    if (argc < 2 || strcmp(argv[1], "aggregate") != 0)
        return learning_cli_usage();
    struct learning_aggregate_opts opts = {.days = LEARNING_WINDOW_DAYS_DEFAULT};
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--full") == 0) {
            opts.full = true;
        } else if (strcmp(argv[i], "--days") == 0 && i + 1 < argc) {
            int64_t d;
            i++;
            if (parse_int64(argv[i], strlen(argv[i]), 1, LEARNING_WINDOW_DAYS_MAX, &d) != 0) {
                fprintf(stderr, "tallyctl: --days must be an integer in [1, %d]\n", LEARNING_WINDOW_DAYS_MAX);
                return 2;
            }
            opts.days = (int)d;
        } else {
            return learning_cli_usage();
        }
    }
    fprintf(stderr, "learning: aggregating the last %d days (%s)...\n", opts.days,
            opts.full ? "every profile" : "changed profiles only");
    struct learning_aggregate_result r;
    if (learning_aggregate(ctx, &opts, &r) != 0) {
        fprintf(stderr, "tallyctl: learning aggregation failed: %s\n", db_last_error(ctx->db));
        return 1;
    }
    if (r.skipped) {
        printf("learning aggregation skipped: another run holds the lock (it covers the same changes)\n");
        return 0;
    }
    printf("learning aggregation (%s, %d days): %ld profiles updated from %ld events in %.1f ms\n",
           r.full ? "full" : "incremental", opts.days, r.updated_profiles, r.events_read, r.duration_ms);
    return 0;
}

const struct module_command learning_cli_commands[LEARNING_CLI_COMMAND_COUNT] = {
    {"learning", "learning aggregate [--days N] [--full] | seed-demo [--seed S]",
     "recompute the style hints of the forms whose window changed (--full: every form); demo events",
     learning_cli_run},
};

int learning_cli_main(struct tally_ctx *ctx, int argc, char **argv)
{
    return learning_cli_run(ctx, argc, argv);
}
