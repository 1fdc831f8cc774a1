/* learning: the browser extension's autofill learning (API.md "Learning
 * (autofill)", docs/learning.md). The extension syncs autofill events;
 * the aggregator turns a window of them into one style hint per form
 * profile, with the level it came from (form -> segment -> family -> none)
 * and why; the extension reads a form's hint (cached).
 *
 * Files: learning_segment (title -> segment, pure), learning_sync (event
 * validation and the one-statement insert), learning_aggregate (the
 * incremental aggregation), learning (profile read, stats, /metrics, the
 * module entry), learning_http (the thin handlers), learning_cli (tallyctl).
 * Every service function takes a struct tally_ctx. */
#ifndef TALLY_LEARNING_H
#define TALLY_LEARNING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../core/errors.h"
#include "../core/module.h"
#include "../core/router.h"

struct json_object;
struct route;
struct jobs_handler;
struct jobs_ctx;

/* ---- the thresholds and bounds: the one place they are written --------- */
#define LEARNING_THRESHOLD_FORM      5     /* runs of one style on the form itself */
#define LEARNING_THRESHOLD_SEGMENT   5     /* runs of one style in (family, segment) */
#define LEARNING_THRESHOLD_FAMILY    10    /* runs of one style in the family */
#define LEARNING_WINDOW_DAYS_DEFAULT 30
#define LEARNING_WINDOW_DAYS_MAX     3650
#define LEARNING_SYNC_EVENTS_MAX     1000  /* events per sync call */
#define LEARNING_HOST_BYTES          255
#define LEARNING_SCHEMA_HASH_BYTES   128
#define LEARNING_FAMILY_BYTES        64
#define LEARNING_STYLE_BYTES         64
#define LEARNING_EVENT_ID_BYTES      128
#define LEARNING_TITLE_BYTES         512   /* = LEARNING_SEGMENT_TITLE_BYTES */
#define LEARNING_EDIT_CHARS_MAX      1000000
#define LEARNING_FUTURE_SLACK_S      86400 /* created_at at most this far ahead of the server clock */
#define LEARNING_CACHE_TTL_S         3600  /* cached profile answers (deleted on change anyway) */
#define LEARNING_LOCK_KEY            "7455001"   /* pg advisory lock of the aggregator */

/* ---- sync ---------------------------------------------------------------- */
struct learning_sync_result {
    long accepted;
    long duplicates;
    struct json_object *rejected;      /* array of {index, field, message}; owned by the caller */
};

/* Validates body (the parsed request object) for user_id, stores the valid
 * events in one statement. ERR_NONE with *out filled (also when events were
 * rejected), or an error for the whole call with *field / msg set
 * (ERR_UNPROCESSABLE, ERR_NOT_FOUND for an unknown user, store errors). */
enum err learning_sync(struct tally_ctx *ctx, int64_t user_id, struct json_object *events,
                       struct learning_sync_result *out, const char **field, char *msg, size_t msg_cap);

/* ---- aggregation --------------------------------------------------------- */
struct learning_aggregate_opts {
    int days;                          /* window; LEARNING_WINDOW_DAYS_DEFAULT when 0 */
    bool full;                         /* recompute every profile, not only the changed ones */
};

struct learning_aggregate_result {
    long updated_profiles;             /* profiles recomputed and written */
    long events_read;                  /* window events read for them (all levels) */
    double duration_ms;
    bool skipped;                      /* another aggregation held the lock */
    bool full;                         /* ran over every profile (asked, or the window length changed) */
};

/* One aggregation run in one transaction under an advisory lock: a second
 * run started meanwhile skips (result.skipped) instead of doing the work
 * twice. Deletes the cached answers of the profiles it rewrote after the
 * commit. 0 or -1 (store error, logged). */
int learning_aggregate(struct tally_ctx *ctx, const struct learning_aggregate_opts *opts,
                       struct learning_aggregate_result *out);
/* As learning_aggregate, with "now" given as a timestamptz text (NULL: the
 * clock): tests of the window's moves; HTTP passes it only with debug_routes. */
int learning_aggregate_at(struct tally_ctx *ctx, const struct learning_aggregate_opts *opts, const char *now_override,
                          struct learning_aggregate_result *out);

/* ---- reads --------------------------------------------------------------- */
/* The profile answer of API.md as JSON text (malloc'd, *json), from the
 * cache or PostgreSQL. ERR_NOT_FOUND for an unknown form. */
enum err learning_profile_json(struct tally_ctx *ctx, const char *host, const char *schema_hash, char **json,
                               size_t *len);
/* Drops the cached answer of one form. */
void learning_profile_invalidate(struct tally_ctx *ctx, const char *host, const char *schema_hash);
/* GET /api/v1/admin/learning/stats's object (new reference in *out). */
enum err learning_stats(struct tally_ctx *ctx, struct json_object **out);
/* The dashboard's figures (/admin/learning): "stats" (as learning_stats),
 * "families" (per family: name, profiles by source, window events), and when
 * host_query is non-empty "search": up to LEARNING_SEARCH_MAX profiles whose
 * host contains it (literally, case-insensitive), each with its hint, its
 * explanation and the per-style stats at each level ("levels"). */
#define LEARNING_SEARCH_MAX   20
#define LEARNING_FAMILIES_MAX 50
enum err learning_dashboard(struct tally_ctx *ctx, const char *host_query, struct json_object **out);
/* Prometheus lines (the module's metrics callback). */
void learning_metrics(const struct tally_ctx *ctx, struct buf *out);

/* ---- demo data ------------------------------------------------------------ */
/* Deterministic demo events for seed over the given users (at most 64
 * used), then a full aggregation; a summary line on out. 0 or -1. */
int learning_seed_demo(struct tally_ctx *ctx, uint64_t seed, const int64_t *user_ids, int user_count, FILE *out);

/* ---- entry points ----------------------------------------------------------- */
struct request;
struct response;
/* learning_admin.c: GET /admin/learning (?host) and POST /admin/learning/aggregate. */
int learning_admin_page(struct request *req, struct response *res);
int learning_admin_form_aggregate(struct request *req, struct response *res);
#define LEARNING_HTTP_ROUTE_COUNT 6   /* the API, then the two dashboard routes */
#define LEARNING_CLI_COMMAND_COUNT 1
extern const struct route learning_http_routes[LEARNING_HTTP_ROUTE_COUNT];
extern const size_t learning_http_route_count;
/* Job kind learning_aggregate: payload {"days": N?, "full": bool?}. */
int learning_aggregate_job(struct jobs_ctx *jctx, struct json_object *payload);
extern const struct module_command learning_cli_commands[LEARNING_CLI_COMMAND_COUNT];
extern const size_t learning_cli_command_count;
extern const struct tally_module learning_module;

#endif
