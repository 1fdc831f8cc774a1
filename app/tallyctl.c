/* tallyctl: the command line for operators: migrations, tokens, users,
 * demo data. It talks to PostgreSQL and memcached through the same store
 * and cache modules as the server. Exit status: 0 ok, 1 failure, 2 usage. */
#define _GNU_SOURCE
#include "cache/cache.h"
#include "core/arena.h"
#include "core/config.h"
#include "core/module.h"
#include "core/limits.h"
#include "core/parse.h"
#include "core/text.h"
#include "admin/admin_auth.h"
#include "modules/auth.h"
#include "jobs/jobs_cli.h"
#include "modules/precompute.h"
#include "modules/seed.h"
#include "store/db.h"
#include "store/migrate.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct ctl {
    struct config cfg;
    struct db *db;
    struct cache *cache;
    int argc;
    char **argv;
};

static void ctl_usage(FILE *out)
{
    fprintf(out,
            "usage: tallyctl [-c CONFIG] COMMAND ...\n"
            "  migrate up | down [N|--all] | status\n"
            "  token create --user ID | --admin [--label TEXT]   prints the token once\n"
            "  token revoke ID\n"
            "  user create --name NAME [--currency EUR] [--language fr|en]\n"
            "  user count\n"
            "  seed-demo [--users N] [--months M] [--seed S] [--end YYYY-MM-DD]\n"
            "  worker [--once] [--drain] [--name NAME]   run jobs until SIGTERM (finishes the job in hand)\n"
            "  jobs list [--status S] [--kind K] [--limit N]\n"
            "  jobs enqueue KIND [--payload JSON] [--priority high|normal|low] [--max-attempts N]\n"
            "  jobs retry ID\n"
            "  admin create --username U [--replace]   password read from stdin (one line; prompted on a tty)\n"
            "  precompute --all | --user ID [--month YYYY-MM]   metrics of that month (default: now) and the one before\n"
            "  cleanup   delete pre-computed metrics expired 7+ days ago\n"
            );
    module_commands_usage(out);
    fprintf(out, "The config file and TALLY_<KEY> environment variables are read as by tallyd.\n");
}

/* Value of --name in argv, or NULL. */
static const char *ctl_opt(const struct ctl *c, const char *name)
{
    for (int i = 0; i + 1 < c->argc; i++)
        if (strcmp(c->argv[i], name) == 0)
            return c->argv[i + 1];
    return NULL;
}

static int ctl_flag(const struct ctl *c, const char *name)
{
    for (int i = 0; i < c->argc; i++)
        if (strcmp(c->argv[i], name) == 0)
            return 1;
    return 0;
}

static int ctl_int_opt(const struct ctl *c, const char *name, int64_t min, int64_t max, int64_t dflt, int64_t *out)
{
    const char *v = ctl_opt(c, name);
    *out = dflt;
    if (v == NULL)
        return 0;
    if (parse_int64(v, strlen(v), min, max, out) != 0) {
        fprintf(stderr, "tallyctl: %s must be an integer in [%" PRId64 ", %" PRId64 "]\n", name, min, max);
        return -1;
    }
    return 0;
}

static int ctl_migrate(struct ctl *c)
{
    const char *sub = c->argc > 1 ? c->argv[1] : "";
    if (strcmp(sub, "up") == 0)
        return migrate_up(c->db, c->cfg.sql_dir, stdout) == 0 ? 0 : 1;
    if (strcmp(sub, "status") == 0)
        return migrate_status(c->db, c->cfg.sql_dir, stdout) == 0 ? 0 : 1;
    if (strcmp(sub, "down") == 0) {
        int64_t steps = 1;
        if (c->argc > 2 && strcmp(c->argv[2], "--all") == 0)
            steps = -1;
        else if (c->argc > 2 && parse_int64(c->argv[2], strlen(c->argv[2]), 1, 100000, &steps) != 0) {
            fprintf(stderr, "tallyctl: migrate down takes a positive count or --all\n");
            return 2;
        }
        return migrate_down(c->db, c->cfg.sql_dir, (int)steps, stdout) == 0 ? 0 : 1;
    }
    ctl_usage(stderr);
    return 2;
}

static int ctl_token(struct ctl *c)
{
    const char *sub = c->argc > 1 ? c->argv[1] : "";
    if (strcmp(sub, "create") == 0) {
        int64_t user_id = 0;
        if (ctl_int_opt(c, "--user", 1, INT64_MAX, 0, &user_id) != 0)
            return 2;
        int admin = ctl_flag(c, "--admin");
        if ((user_id > 0) == admin) {
            fprintf(stderr, "tallyctl: token create needs exactly one of --user ID or --admin\n");
            return 2;
        }
        char token[128];
        int64_t id;
        enum err e = auth_token_create(c->db, user_id, ctl_opt(c, "--label"), token, sizeof(token), &id);
        if (e != ERR_NONE) {
            fprintf(stderr, "tallyctl: cannot create token: %s\n",
                    e == ERR_INTERNAL ? db_last_error(c->db) : "user not found or database unavailable");
            return 1;
        }
        printf("%s\n", token);
        fprintf(stderr, "token %" PRId64 " created for %s; it is shown only once\n", id,
                admin ? "admin" : "the user");
        return 0;
    }
    if (strcmp(sub, "revoke") == 0 && c->argc > 2) {
        int64_t id;
        if (parse_int64(c->argv[2], strlen(c->argv[2]), 1, INT64_MAX, &id) != 0) {
            fprintf(stderr, "tallyctl: token revoke takes a token id\n");
            return 2;
        }
        enum err e = auth_token_revoke(c->db, c->cache, id);
        if (e == ERR_NOT_FOUND) {
            fprintf(stderr, "tallyctl: no active token %" PRId64 "\n", id);
            return 1;
        }
        if (e != ERR_NONE) {
            fprintf(stderr, "tallyctl: %s\n", db_last_error(c->db));
            return 1;
        }
        printf("token %" PRId64 " revoked\n", id);
        return 0;
    }
    ctl_usage(stderr);
    return 2;
}

static int ctl_user(struct ctl *c)
{
    const char *sub = c->argc > 1 ? c->argv[1] : "";
    enum err e;
    if (strcmp(sub, "count") == 0) {
        db_result *r = db_query(c->db, &e, 0, "SELECT count(*) FROM users", 0, NULL);
        if (r == NULL) {
            fprintf(stderr, "tallyctl: %s\n", db_last_error(c->db));
            return 1;
        }
        printf("%s\n", db_value(r, 0, 0));
        db_clear(r);
        return 0;
    }
    if (strcmp(sub, "create") == 0) {
        const char *name = ctl_opt(c, "--name");
        const char *currency = ctl_opt(c, "--currency");
        const char *language = ctl_opt(c, "--language");
        if (name == NULL || name[0] == '\0') {
            fprintf(stderr, "tallyctl: user create needs --name\n");
            return 2;
        }
        const char *params[3] = {name, currency ? currency : "EUR", language ? language : "fr"};
        db_result *r = db_query(c->db, &e, 0,
                                "INSERT INTO users (name, currency, language) VALUES ($1, $2, $3) RETURNING id",
                                3, params);
        if (r == NULL) {
            fprintf(stderr, "tallyctl: %s\n", db_last_error(c->db));
            return 1;
        }
        printf("%s\n", db_value(r, 0, 0));
        db_clear(r);
        return 0;
    }
    ctl_usage(stderr);
    return 2;
}

/* ---- seed-demo: the generator's rows go to PostgreSQL through COPY ---- */

#define CTL_SEED_BUF_BYTES (256 * 1024)

struct ctl_seed {
    struct ctl *ctl;
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

static double ctl_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* COPY text format: escape backslash, tab, newline, carriage return. */
static void ctl_copy_field(struct ctl_seed *s, const char *v, bool last)
{
    if (v == NULL) {
        memcpy(s->buf + s->used, "\\N", 2);
        s->used += 2;
    } else {
        for (; *v != '\0' && s->used + 4 < CTL_SEED_BUF_BYTES; v++) {
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

static void ctl_seed_flush(struct ctl_seed *s)
{
    if (s->used > 0 && s->err == ERR_NONE)
        s->err = db_copy_data(s->ctl->db, s->buf, s->used);
    s->used = 0;
}

static void ctl_seed_progress(struct ctl_seed *s, bool final)
{
    double elapsed = ctl_now() - s->started;
    double rate = elapsed > 0 ? s->users_done / elapsed : 0;
    double eta = rate > 0 ? (s->users - s->users_done) / rate : 0;
    if (s->tty || final)
        fprintf(stderr, "%sseed-demo: %d/%d users, %ld transactions, %.1f users/s, ETA %.0f s%s",
                s->tty ? "\r" : "", s->users_done, s->users, s->txns, rate, eta, final || !s->tty ? "\n" : "");
}

static int ctl_seed_on_user(void *arg, const struct seed_user *u)
{
    struct ctl_seed *s = arg;
    const char *params[3] = {u->name, u->currency, u->language};
    enum err e;
    db_result *r = db_query(s->ctl->db, &e, 0,
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

static int ctl_seed_on_txn(void *arg, const struct seed_txn *t)
{
    struct ctl_seed *s = arg;
    if (s->used + 8192 > CTL_SEED_BUF_BYTES)
        ctl_seed_flush(s);
    if (s->err != ERR_NONE)
        return -1;
    char uid[24], date[16], cents[24], mkey[LIMIT_TEXT_FIELD_BYTES + 1], ckey[LIMIT_TEXT_FIELD_BYTES + 1];
    snprintf(uid, sizeof(uid), "%" PRId64, s->user_ids[t->user_index]);
    snprintf(date, sizeof(date), "%04d-%02d-%02d", t->year, t->month, t->day);
    snprintf(cents, sizeof(cents), "%" PRId64, t->amount_cents);
    text_fold(t->merchant, strlen(t->merchant), mkey, sizeof(mkey));
    text_fold(t->category, strlen(t->category), ckey, sizeof(ckey));
    const char *fields[10] = {uid, t->external_id, date, cents, t->currency, t->merchant, mkey,
                              t->category, ckey, t->description};
    for (int i = 0; i < 10; i++)
        ctl_copy_field(s, fields[i], i == 9);
    s->txns++;
    return 0;
}

/* Users are generated one at a time so progress can be shown per user. */
static int ctl_seed_demo(struct ctl *c)
{
    int64_t users, months, seed;
    if (ctl_int_opt(c, "--users", 1, 100000, 5, &users) || ctl_int_opt(c, "--months", 1, 120, 12, &months) ||
        ctl_int_opt(c, "--seed", 0, INT64_MAX, 42, &seed))
        return 2;
    struct seed_opts opts = {.seed = (uint64_t)seed, .users = 1, .months = (int)months};
    const char *end = ctl_opt(c, "--end");
    if (end != NULL) {
        if (parse_date(end, strlen(end), &opts.end_year, &opts.end_month, &opts.end_day) != 0) {
            fprintf(stderr, "tallyctl: --end must be YYYY-MM-DD\n");
            return 2;
        }
    } else {
        parse_today_utc(&opts.end_year, &opts.end_month, &opts.end_day);
    }
    struct ctl_seed s = {.ctl = c, .users = (int)users, .started = ctl_now(), .tty = isatty(2)};
    s.user_ids = calloc((size_t)users, sizeof(int64_t));
    s.buf = malloc(CTL_SEED_BUF_BYTES);
    int rc = 1;
    if (s.user_ids == NULL || s.buf == NULL)
        goto out;
    for (int64_t i = 0; i < users; i++) {
        /* The generator's data for user k depends only on (seed, k). */
        struct seed_opts one = opts;
        one.users = (int)i + 1;
        one.first_user = (int)i;
        if (db_exec(c->db, 0, "BEGIN", 0, NULL) != ERR_NONE)
            goto fail;
        if (seed_generate(&one, ctl_seed_on_user, NULL, &s) != 0)
            goto fail;
        if ((s.err = db_copy_begin(c->db, "COPY transactions (user_id, external_id, date, amount_cents,"
                                          " currency, merchant, merchant_key, category, category_key,"
                                          " description) FROM STDIN")) != ERR_NONE)
            goto fail;
        seed_generate(&one, NULL, ctl_seed_on_txn, &s);
        ctl_seed_flush(&s);
        enum err end_err = db_copy_end(c->db);
        if (s.err != ERR_NONE || end_err != ERR_NONE || db_exec(c->db, 0, "COMMIT", 0, NULL) != ERR_NONE)
            goto fail;
        s.users_done++;
        ctl_seed_progress(&s, false);
    }
    ctl_seed_progress(&s, true);
    printf("seeded %d users, %ld transactions in %.2f s\n", s.users_done, s.txns, ctl_now() - s.started);
    rc = 0;
    goto out;
fail:
    db_exec(c->db, 0, "ROLLBACK", 0, NULL);
    fprintf(stderr, "\ntallyctl: seed-demo failed after %d users: %s\n", s.users_done, db_last_error(c->db));
out:
    free(s.user_ids);
    free(s.buf);
    return rc;
}

/* ---- precompute / cleanup: the precompute module does the work ---------- */

struct ctl_progress {
    double started;
    bool tty;
};

static void ctl_precompute_progress(void *arg, long done, long total, long failed)
{
    struct ctl_progress *p = arg;
    if (!p->tty)
        return;
    double elapsed = ctl_now() - p->started;
    double rate = elapsed > 0 ? (double)done / elapsed : 0;
    double eta = rate > 0 ? (double)(total - done) / rate : 0;
    fprintf(stderr, "\rprecompute: %ld/%ld users, %ld failed, %.1f users/s, ETA %.0f s ", done, total, failed, rate,
            eta);
}

static int ctl_precompute(struct ctl *c)
{
    int year, month;
    const char *mtext = ctl_opt(c, "--month");
    if (mtext != NULL) {
        if (parse_period(mtext, strlen(mtext), &year, &month) != 0) {
            fprintf(stderr, "tallyctl: --month must be YYYY-MM\n");
            return 2;
        }
    } else {
        int day;
        parse_today_utc(&year, &month, &day);
    }
    struct ctl_progress p = {.started = ctl_now(), .tty = isatty(2)};
    long done = 0, failed = 0;
    int rc;
    if (ctl_flag(c, "--all")) {
        rc = precompute_all(c->db, c->cache, year, month, ctl_precompute_progress, &p, &done, &failed);
        if (p.tty)
            fputc('\n', stderr);
        if (rc != 0 && done == 0 && failed == 0) {
            fprintf(stderr, "tallyctl: precompute failed: %s\n", db_last_error(c->db));
            return 1;
        }
    } else if (ctl_opt(c, "--user") != NULL) {
        int64_t user;
        if (ctl_int_opt(c, "--user", 1, INT64_MAX, 0, &user))
            return 2;
        rc = precompute_user(c->db, c->cache, user, year, month);
        done = 1;
        failed = rc != 0;
    } else {
        ctl_usage(stderr);
        return 2;
    }
    double elapsed = ctl_now() - p.started;
    printf("precomputed %ld users (%ld failed), %d metrics each, %04d-%02d and the month before, in %.2f s (%.1f users/s)\n",
           done - failed, failed, 2 * PRECOMPUTE_TYPES, year, month, elapsed, elapsed > 0 ? (double)done / elapsed : 0);
    return failed == 0 ? 0 : 1;
}

static int ctl_cleanup(struct ctl *c)
{
    long deleted = 0;
    if (precompute_cleanup(c->db, &deleted) != 0) {
        fprintf(stderr, "tallyctl: cleanup failed: %s\n", db_last_error(c->db));
        return 1;
    }
    printf("deleted %ld pre-computed metrics expired %d+ days ago\n", deleted, PRECOMPUTE_CLEANUP_AFTER_DAYS);
    return 0;
}

/* admin create --username U [--replace]: the password is one line of stdin
 * (prompted without echo on a terminal), never an argument (ps shows those). */
static int ctl_admin(struct ctl *c)
{
    const char *sub = c->argc > 1 ? c->argv[1] : "";
    const char *username = ctl_opt(c, "--username");
    if (strcmp(sub, "create") != 0 || username == NULL || username[0] == '\0' ||
        strlen(username) > ADMIN_AUTH_USERNAME_BYTES) {
        ctl_usage(stderr);
        return 2;
    }
    char line[ADMIN_AUTH_PASSWORD_BYTES + 2];
    const char *password = NULL;
    if (isatty(STDIN_FILENO)) {
        password = getpass("Password: ");
    } else if (fgets(line, sizeof(line), stdin) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        password = line;
    }
    if (password == NULL || strlen(password) < 8 || strlen(password) > ADMIN_AUTH_PASSWORD_BYTES) {
        fprintf(stderr, "tallyctl: the password must be 8 to %d bytes\n", ADMIN_AUTH_PASSWORD_BYTES);
        return 2;
    }
    enum err e = admin_auth_user_create(c->db, username, password, ctl_flag(c, "--replace"));
    if (e == ERR_CONFLICT) {
        fprintf(stderr, "tallyctl: admin user %s exists (use --replace to set a new password)\n", username);
        return 1;
    }
    if (e != ERR_NONE) {
        fprintf(stderr, "tallyctl: %s\n", db_last_error(c->db));
        return 1;
    }
    printf("admin user %s ready\n", username);
    return 0;
}

/* A command a module brings (its line in the module table): it runs with
 * a CLI context, the module states made as in a worker. */
static int ctl_module_command(struct ctl *c, const struct module_command *mc)
{
    static struct tally_ctx ctx;
    struct arena arena;
    arena_init(&arena);
    ctx = (struct tally_ctx){.kind = TALLY_CTX_CLI, .cfg = &c->cfg, .db = c->db, .cache = c->cache,
                             .arena = &arena, .worker_slot = -1, .listen_fd = -1};
    int rc = 1;
    if (module_init_children(&ctx) == 0) {
        rc = mc->run(&ctx, c->argc, c->argv);
        module_free_children(&ctx);
    }
    arena_free(&arena);
    return rc;
}

int main(int argc, char **argv)
{
    static struct ctl c;
    const char *config_path = NULL;
    int argi = 1;
    if (argi + 1 < argc && strcmp(argv[argi], "-c") == 0) {
        config_path = argv[argi + 1];
        argi += 2;
    }
    if (argi >= argc || strcmp(argv[argi], "-h") == 0 || strcmp(argv[argi], "--help") == 0) {
        ctl_usage(argi >= argc ? stderr : stdout);
        return argi >= argc ? 2 : 0;
    }
    char err[512];
    config_defaults(&c.cfg);
    if (config_load(&c.cfg, config_path, err, sizeof(err)) != 0) {
        fprintf(stderr, "tallyctl: %s\n", err);
        return 1;
    }
    c.argc = argc - argi;
    c.argv = argv + argi;
    c.db = db_create(c.cfg.pg_conninfo, NULL);
    c.cache = cache_create(c.cfg.memcached_servers, NULL);
    const char *cmd = c.argv[0];
    int rc;
    if (strcmp(cmd, "migrate") == 0)
        rc = ctl_migrate(&c);
    else if (strcmp(cmd, "token") == 0)
        rc = ctl_token(&c);
    else if (strcmp(cmd, "user") == 0)
        rc = ctl_user(&c);
    else if (strcmp(cmd, "seed-demo") == 0)
        rc = ctl_seed_demo(&c);
    else if (strcmp(cmd, "worker") == 0)
        rc = jobs_cli_worker(&c.cfg, c.argc, c.argv);
    else if (strcmp(cmd, "admin") == 0)
        rc = ctl_admin(&c);
    else if (strcmp(cmd, "jobs") == 0)
        rc = jobs_cli_jobs(&c.cfg, c.db, c.argc, c.argv);
    else if (strcmp(cmd, "precompute") == 0)
        rc = ctl_precompute(&c);
    else if (strcmp(cmd, "cleanup") == 0)
        rc = ctl_cleanup(&c);
    else if (module_command_find(cmd) != NULL)
        rc = ctl_module_command(&c, module_command_find(cmd));
    else {
        fprintf(stderr, "tallyctl: unknown command \"%s\"\n", cmd);
        ctl_usage(stderr);
        rc = 2;
    }
    cache_destroy(c.cache);
    db_destroy(c.db);
    return rc;
}
