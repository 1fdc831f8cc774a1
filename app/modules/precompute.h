/* precompute: the pre-computed metrics of a user and a month
 * (monthly_total, category_breakdown, mom_comparison, trends_6m): their
 * computation from transactions (integer cents), the 3-layer read path
 * (memcached -> PostgreSQL row still valid -> computation, written back to
 * both), invalidation when transactions are inserted, and the batch work
 * behind `tallyctl precompute` / `cleanup` and the job queue.
 *
 * Invariant: a read never returns a value computed before the last
 * transaction insert of the user that had returned. Stored rows and
 * memcached entries carry the user's PostgreSQL generation
 * (metric_generations, bumped by a trigger in the inserting transaction)
 * read in the same snapshot as the transactions they were computed from;
 * memcached's side is app/cache/cachegen.h. Rules and
 * timings: docs/profiles-metrics.md. */
#ifndef TALLY_PRECOMPUTE_H
#define TALLY_PRECOMPUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/errors.h"
#include "../core/module.h"
#include "../core/router.h"

struct db;
struct cache;
struct tally_ctx;

#define PRECOMPUTE_CACHE_TTL_S        86400   /* memcached copy of a metric */
#define PRECOMPUTE_STORE_TTL_DAYS     30      /* a stored row is served this long unless invalidated */
#define PRECOMPUTE_CLEANUP_AFTER_DAYS 7       /* cleanup deletes rows expired at least this long ago */
#define PRECOMPUTE_ACTIVE_DAYS        30      /* precompute --all: users active in this many days */
#define PRECOMPUTE_TOP_CATEGORIES     5       /* category_breakdown: top N, the rest is "Others" */
#define PRECOMPUTE_TREND_MONTHS       6

enum precompute_type {
    PRECOMPUTE_MONTHLY_TOTAL = 0,
    PRECOMPUTE_CATEGORY_BREAKDOWN,
    PRECOMPUTE_MOM_COMPARISON,
    PRECOMPUTE_TRENDS_6M,
    PRECOMPUTE_TYPES
};

const char *precompute_type_name(enum precompute_type t);
/* 0 and *out, or -1 for an unknown name. */
int precompute_type_parse(const char *name, enum precompute_type *out);

/* The read path for one metric of (year, month). On success *body is the
 * complete JSON answer (malloc'd, caller frees), whose "source" names the
 * layer that served it. Errors: ERR_NOT_FOUND (no such user), ERR_UNAVAILABLE
 * (PostgreSQL down and the metric not in memcached), ERR_INTERNAL.
 * cache may be NULL or down; reads may be NULL (no counters). */
enum err precompute_read(struct tally_ctx *ctx, int64_t user_id, enum precompute_type type, int year, int month,
                         char **body, size_t *body_len);

/* Computes and stores (PostgreSQL upsert + memcached) all four metrics of
 * the user for (year, month) and the month before. 0 or -1 (logged). */
int precompute_user(struct db *db, struct cache *cache, int64_t user_id, int year, int month);

/* Progress of precompute_all: called after each user. */
typedef void (*precompute_progress_fn)(void *arg, long done, long total, long failed);
/* precompute_user for every user active in the last PRECOMPUTE_ACTIVE_DAYS
 * days (a transaction dated or inserted in that window, or an assistant
 * query / session / feedback: profile last_active). Returns 0 if every user
 * succeeded, -1 otherwise; *done and *failed count users. Safe to run twice
 * at once and beside tallyd: every write is an upsert. */
int precompute_all(struct db *db, struct cache *cache, int year, int month, precompute_progress_fn progress,
                   void *arg, long *done, long *failed);

/* Deletes the rows expired PRECOMPUTE_CLEANUP_AFTER_DAYS days ago or more
 * (expires_at < now() - 7 days). 0 or -1; *deleted = rows removed. */
int precompute_cleanup(struct db *db, long *deleted);

struct request;
/* The month a request is about: ?period=YYYY-MM, else the month of "now"
 * (the server's UTC clock, or the X-Tally-Now: YYYY-MM-DD header as in the
 * assistant). ERR_BAD_REQUEST with the field set on a malformed value. */
enum err precompute_request_period(struct request *req, int *year, int *month);

/* Reads since start by the layer that answered (all workers of this host). */
void precompute_read_counts(const struct tally_ctx *ctx, uint64_t *cache, uint64_t *store, uint64_t *computed);

/* tallyctl precompute | cleanup (precompute_cli.c). */
#define PRECOMPUTE_CLI_COMMANDS 2
extern const struct module_command precompute_cli_commands[PRECOMPUTE_CLI_COMMANDS];

/* Reads by the layer that answered, in the module's shared area. */
struct precompute_shared {
    uint64_t cache, store, computed;
};

extern const struct tally_module precompute_module;

#endif
