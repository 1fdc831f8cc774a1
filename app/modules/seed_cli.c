/* seed_cli: `tallyctl seed-demo`, the demo data of app/modules/seed.c
 * (the generator, pure) sent to PostgreSQL: one INSERT per user, its
 * transactions through COPY, one database transaction per user, progress on
 * a terminal. The `seed` line of the module table. */
#define _GNU_SOURCE
#include "seed_cli.h"
#include "../core/clock.h"
#include "seed.h"
#include "../core/cli.h"
#include "../core/limits.h"
#include "../core/parse.h"
#include "../core/text.h"
#include "../store/db.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SEED_CLI_BUF_BYTES (256 * 1024)

struct seed_cli {
    struct db *db;
    int64_t *user_ids;            /* generator index -> database id */
    int users;
    char *buf;                    /* COPY rows not yet sent */
    size_t used;
    long txns;
    int users_done;
    double started;
    bool tty;
    enum err err;
};

/* COPY text format: escape backslash, tab, newline, carriage return. */
static void seed_cli_copy_field(struct seed_cli *s, const char *v, bool last)
{
    if (v == NULL) {
        memcpy(s->buf + s->used, "\\N", 2);
        s->used += 2;
    } else {
        for (; *v != '\0' && s->used + 4 < SEED_CLI_BUF_BYTES; v++) {
            char ch = *v;
            if (ch == '\\' || ch == '\t' || ch == '\n' || ch == '\r') {
                s->buf[s->used++] = '\\';
                ch = ch == '\t' ? 't' : ch == '\n' ? 'n' : ch == '\r' ? 'r' : '\\';
            }
            s->buf[s->used++] = ch;
        }
    }
    s->buf[s->used++] = last ? '\n' : '\t';
}

static void seed_cli_flush(struct seed_cli *s)
{
    if (s->used > 0 && s->err == ERR_NONE)
        s->err = db_copy_data(s->db, s->buf, s->used);
    s->used = 0;
}

static void seed_cli_progress(struct seed_cli *s, bool final)
{
    double elapsed = (clock_ms() / 1000.0) - s->started;
    double rate = elapsed > 0 ? s->users_done / elapsed : 0;
    double eta = rate > 0 ? (s->users - s->users_done) / rate : 0;
    if (s->tty || final)
        fprintf(stderr, "%sseed-demo: %d/%d users, %ld transactions, %.1f users/s, ETA %.0f s%s",
                s->tty ? "\r" : "", s->users_done, s->users, s->txns, rate, eta, final || !s->tty ? "\n" : "");
}

static int seed_cli_on_user(void *arg, const struct seed_user *u)
{
    struct seed_cli *s = arg;
    const char *params[3] = {u->name, u->currency, u->language};
    enum err e;
    db_result *r = db_query(s->db, &e, 0,
                            "INSERT INTO users (name, currency, language) VALUES ($1, $2, $3) RETURNING id",
                            3, params);
    if (r == NULL) {
        s->err = e;
        return -1;
    }
    s->user_ids[u->index] = db_int64(r, 0, 0);
    db_clear(r);
    return 0;
}

static int seed_cli_on_txn(void *arg, const struct seed_txn *t)
{
    struct seed_cli *s = arg;
    if (s->used + 8192 > SEED_CLI_BUF_BYTES)
        seed_cli_flush(s);
    if (s->err != ERR_NONE)
        return -1;
    char uid[24], date[16], cents[24], mkey[LIMIT_TEXT_FIELD_BYTES + 1], ckey[LIMIT_TEXT_FIELD_BYTES + 1];
    db_param_i64(uid, s->user_ids[t->user_index]);
    snprintf(date, sizeof(date), "%04d-%02d-%02d", t->year, t->month, t->day);
    db_param_i64(cents, t->amount_cents);
    text_fold(t->merchant, strlen(t->merchant), mkey, sizeof(mkey));
    text_fold(t->category, strlen(t->category), ckey, sizeof(ckey));
    const char *fields[10] = {uid, t->external_id, date, cents, t->currency, t->merchant, mkey,
                              t->category, ckey, t->description};
    for (int i = 0; i < 10; i++)
        seed_cli_copy_field(s, fields[i], i == 9);
    s->txns++;
    return 0;
}

static const char seed_cli_syn[] = "seed-demo [--users N] [--months M] [--seed S] [--end YYYY-MM-DD]";
static const struct cli_option seed_cli_opts[] = {
    {"--users", NULL, CLI_VALUE, "N", "users to create (default 5, at most 100000)"},
    {"--months", NULL, CLI_VALUE, "M", "months of history per user (default 12, at most 120)"},
    {"--seed", NULL, CLI_VALUE, "S", "generator seed (default 42): the same seed gives the same data"},
    {"--end", NULL, CLI_VALUE, "YYYY-MM-DD", "last day of the history (default today, UTC)"},
};
static const struct cli_spec seed_cli_spec = {
    .prog = "tallyctl seed-demo", .synopsis = seed_cli_syn,
    .summary = "Adds deterministic demo users and their transactions (COPY, one transaction per user).",
    .options = seed_cli_opts, .option_count = 4};

/* Users are generated one at a time so progress can be shown per user. */
static int seed_cli_run(struct tally_ctx *ctx, int argc, char **argv)
{
    const struct cli_spec *spec = &seed_cli_spec;
    struct cli_args a;
    int rc = cli_start(spec, argc, argv, &a);
    if (rc != CLI_GO)
        return rc;
    char err[CLI_ERR_BYTES];
    int64_t users, months, seed;
    if (cli_int(spec, &a, "--users", 1, 100000, 5, &users, err, sizeof(err)) ||
        cli_int(spec, &a, "--months", 1, 120, 12, &months, err, sizeof(err)) ||
        cli_int(spec, &a, "--seed", 0, INT64_MAX, 42, &seed, err, sizeof(err)))
        return cli_usage_error(spec, "%s", err);
    struct seed_opts opts = {.seed = (uint64_t)seed, .users = 1, .months = (int)months};
    const char *end = cli_value(spec, &a, "--end");
    if (end != NULL) {
        if (parse_date(end, strlen(end), &opts.end_year, &opts.end_month, &opts.end_day) != 0)
            return cli_usage_error(spec, "--end must be a date YYYY-MM-DD");
    } else {
        parse_today_utc(&opts.end_year, &opts.end_month, &opts.end_day);
    }
    struct db *db = ctx->db;
    struct seed_cli s = {.db = db, .users = (int)users, .started = (clock_ms() / 1000.0), .tty = isatty(2)};
    s.user_ids = calloc((size_t)users, sizeof(int64_t));
    s.buf = malloc(SEED_CLI_BUF_BYTES);
    rc = 1;
    if (s.user_ids == NULL || s.buf == NULL)
        goto out;
    for (int64_t i = 0; i < users; i++) {
        /* The generator's data for user k depends only on (seed, k). */
        struct seed_opts one = opts;
        one.users = (int)i + 1;
        one.first_user = (int)i;
        if (db_exec(db, 0, "BEGIN", 0, NULL) != ERR_NONE)
            goto fail;
        if (seed_generate(&one, seed_cli_on_user, NULL, &s) != 0)
            goto fail;
        if ((s.err = db_copy_begin(db, "COPY transactions (user_id, external_id, date, amount_cents,"
                                          " currency, merchant, merchant_key, category, category_key,"
                                          " description) FROM STDIN")) != ERR_NONE)
            goto fail;
        seed_generate(&one, NULL, seed_cli_on_txn, &s);
        seed_cli_flush(&s);
        enum err end_err = db_copy_end(db);
        if (s.err != ERR_NONE || end_err != ERR_NONE || db_exec(db, 0, "COMMIT", 0, NULL) != ERR_NONE)
            goto fail;
        s.users_done++;
        seed_cli_progress(&s, false);
    }
    seed_cli_progress(&s, true);
    printf("seeded %d users, %ld transactions in %.2f s\n", s.users_done, s.txns, (clock_ms() / 1000.0) - s.started);
    const char *failed_module = NULL;
    if (module_seed_demo(ctx, (uint64_t)seed, s.user_ids, s.users_done, stdout, &failed_module) != 0) {
        char msg[512];
        db_error_text(db, db_connected(db) ? ERR_INTERNAL : ERR_UNAVAILABLE, msg, sizeof(msg));
        cli_fail(spec, "demo data of %s failed: %s", failed_module, msg);
        goto out;
    }
    rc = 0;
    goto out;
fail:
    {
        enum err failed = s.err != ERR_NONE ? s.err : db_connected(db) ? ERR_INTERNAL : ERR_UNAVAILABLE;
        char msg[512];
        db_error_text(db, failed, msg, sizeof(msg));   /* before ROLLBACK replaces the last error */
        db_exec(db, 0, "ROLLBACK", 0, NULL);
        if (s.tty && s.users_done > 0)
            fputc('\n', stderr);
        cli_fail(spec, "failed after %d users: %s", s.users_done, msg);
    }
out:
    free(s.user_ids);
    free(s.buf);
    return rc;
}

static const struct module_command seed_cli_commands[] = {
    {"seed-demo", seed_cli_syn, "add deterministic demo users and transactions", seed_cli_run},
};

const struct tally_module seed_module = {
    .name = "seed",
    .commands = seed_cli_commands,
    .command_count = sizeof(seed_cli_commands) / sizeof(seed_cli_commands[0]),
};
