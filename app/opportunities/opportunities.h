/* opportunities: recruiter opportunities of a user (docs/opportunities.md,
 * "Opportunities" in the API contract). This header is the service, in
 * files by concern: opportunities.c (the rows: create, read, patch, delete,
 * list), opportunities_fields.c (validation), opportunities_stats.c (stats,
 * /metrics lines), opportunities_prefs.c (preferences), opportunities_jobs.c
 * (the scoring jobs). It takes a struct tally_ctx (db, cache), never the
 * worker, so the same code runs from a request, a job runner or tallyctl.
 * The HTTP layer is opportunities_http.c.
 *
 * Invariants: every write of a user's opportunities moves the user's
 * opportunity generation in the same transaction (triggers, sql/016),
 * whoever writes, and tallyd follows its own writes (create, patch, delete,
 * a score written by a job) with cachegen_sync_user, so a cached
 * opportunity or stats answer is never served after the write; a
 * create and a patch of a scored field queue `process_opportunity` in the
 * same statement as the write, a preferences change queues
 * `score_opportunities` in the same statement, so no write is left
 * unscored. */
#ifndef TALLY_OPPORTUNITIES_H
#define TALLY_OPPORTUNITIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/errors.h"

struct buf;
struct json_object;
struct jobs_ctx;
struct tally_ctx;

#define OPP_CACHE_NS             "opportunities"   /* the cache namespace */
#define OPP_CACHE_TTL_S          1800   /* one opportunity: 30 min */
#define OPP_STATS_CACHE_TTL_S    300    /* stats: 5 min */
#define OPP_TITLE_CHARS          200
#define OPP_NAME_CHARS           200    /* company, recruiter, location */
#define OPP_EMAIL_BYTES          254
#define OPP_MESSAGE_CHARS        20000
#define OPP_TAGS_MAX             20
#define OPP_TAG_CHARS            40
#define OPP_SALARY_MAX           1000000000
#define OPP_Q_CHARS              200
#define OPP_PATCH_TRIES          5      /* optimistic retries of a patch racing another write */
#define OPP_SCORE_TRIES          3      /* re-reads of a row that changed while being scored */

/* Who asks: an admin (any user's rows) or a user (only its own). */
struct opp_actor {
    bool admin;
    int64_t user_id;                    /* the token's user; 0 for admin */
};

/* The detail of a refused request: the field and a message. */
struct opp_error {
    const char *field;
    char message[200];
};

/* Each returns ERR_NONE with *json malloc'd (*len its length), or an error
 * with *oe filled for 4xx. */
enum err opportunities_create(struct tally_ctx *ctx, const struct opp_actor *who, struct json_object *body,
                              char **json, size_t *len, struct opp_error *oe);
enum err opportunities_get(struct tally_ctx *ctx, const struct opp_actor *who, int64_t id, char **json,
                           size_t *len, struct opp_error *oe);
enum err opportunities_patch(struct tally_ctx *ctx, const struct opp_actor *who, int64_t id,
                             struct json_object *body, char **json, size_t *len, struct opp_error *oe);
enum err opportunities_delete(struct tally_ctx *ctx, const struct opp_actor *who, int64_t id,
                              struct opp_error *oe);

/* List query (already split from the query string; NULL = absent). */
struct opp_list_query {
    int64_t user_id;                    /* 0 = every user (admin only) */
    const char *tier, *status, *min_score, *q, *sort, *limit, *cursor;
};
enum err opportunities_list(struct tally_ctx *ctx, const struct opp_list_query *lq, char **json, size_t *len,
                            struct opp_error *oe);
/* user_id 0 = every user (admin; not cached). */
enum err opportunities_stats(struct tally_ctx *ctx, int64_t user_id, char **json, size_t *len);

enum err opportunities_prefs_put(struct tally_ctx *ctx, int64_t user_id, struct json_object *body, char **json,
                                 size_t *len, struct opp_error *oe);
enum err opportunities_prefs_get(struct tally_ctx *ctx, int64_t user_id, char **json, size_t *len);

/* Job handlers (kinds process_opportunity {"opportunity_id": N} and
 * score_opportunities {"user_id": N}); 0 or -1 with ctx->error set. */
int opportunities_job_process(struct jobs_ctx *ctx, struct json_object *payload);
int opportunities_job_score_all(struct jobs_ctx *ctx, struct json_object *payload);

/* Business metrics (Prometheus lines) from the counters table; nothing when
 * PostgreSQL does not answer. */
void opportunities_metrics(const struct tally_ctx *ctx, struct buf *out);

#endif
