/* jobs: the engine's own job kinds, the kind numbering over the module
 * table, and the queue statements shared by the admin API and tallyctl.
 * The cron subset is jobs_cron.c's, the runner loop jobs_runner.c's. See
 * jobs.h and docs/jobs.md. */
#define _GNU_SOURCE
#include "jobs.h"
#include "../core/clock.h"
#include "../cache/cache.h"
#include "../core/arena.h"
#include "../core/config.h"
#include "../core/module.h"
#include "../core/log.h"
#include "../core/parse.h"
#include "../core/shm.h"
#include "../store/db_json.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

/* ---- handlers ---------------------------------------------------------- */

void jobs_heartbeat(struct jobs_ctx *ctx)
{
    uint64_t every = (uint64_t)ctx->cfg->job_lock_timeout_s * 1000 / 3;
    if (every > JOBS_HEARTBEAT_MAX_MS)
        every = JOBS_HEARTBEAT_MAX_MS;
    uint64_t now = clock_mono_ms();
    if (now - ctx->beat_ms < every)
        return;
    ctx->beat_ms = now;
    char id[24];
    db_param_i64(id, ctx->job_id);
    const char *params[2] = {id, ctx->runner};
    enum err e;
    db_result *r = db_query(ctx->db, &e, 0,
                            "UPDATE jobs SET locked_at = now() WHERE id = $1::bigint AND status = 'running'"
                            " AND locked_by = $2 RETURNING 1",
                            2, params);
    if (r != NULL && db_rows(r) == 0)   /* the handler goes on: its outcome is recorded, the retry races */
        log_warn("job %" PRId64 ": lock lost (re-queued by another runner)", ctx->job_id);
    db_clear(r);
}

static int jobs_handle_noop(struct jobs_ctx *ctx, struct json_object *payload)
{
    (void)ctx;
    (void)payload;
    return 0;
}

/* Sleeps payload.ms, resuming after a signal: a stop request must not cut
 * the job short. */
static int jobs_handle_sleep(struct jobs_ctx *ctx, struct json_object *payload)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(payload, "ms", &v) || !json_object_is_type(v, json_type_int)) {
        snprintf(ctx->error, sizeof(ctx->error), "payload.ms must be an integer");
        return -1;
    }
    int64_t ms = json_object_get_int64(v);
    if (ms < 0 || ms > JOBS_SLEEP_MAX_MS) {
        snprintf(ctx->error, sizeof(ctx->error), "payload.ms must be in [0, %d]", JOBS_SLEEP_MAX_MS);
        return -1;
    }
    /* In slices of at most 100 ms, renewing the lock as it goes. */
    uint64_t end = clock_mono_ms() + (uint64_t)ms;
    for (uint64_t now = clock_mono_ms(); now < end; now = clock_mono_ms()) {
        uint64_t slice = end - now < 100 ? end - now : 100;
        struct timespec left = {0, (long)slice * 1000000L};
        while (nanosleep(&left, &left) != 0 && errno == EINTR)
            ;
        jobs_heartbeat(ctx);
    }
    return 0;
}

/* Fails the first payload.times attempts (tests of retries and dead jobs). */
static int jobs_handle_fail(struct jobs_ctx *ctx, struct json_object *payload)
{
    struct json_object *v = NULL;
    int64_t times = 1;
    if (json_object_object_get_ex(payload, "times", &v)) {
        if (!json_object_is_type(v, json_type_int)) {
            snprintf(ctx->error, sizeof(ctx->error), "payload.times must be an integer");
            return -1;
        }
        times = json_object_get_int64(v);
    }
    if (ctx->attempt <= times) {
        snprintf(ctx->error, sizeof(ctx->error), "fail: attempt %d of %" PRId64 " planned failures",
                 ctx->attempt, times);
        return -1;
    }
    return 0;
}

/* The engine's own kind (smoke checks); the domains bring theirs through
 * the module table. */
const struct jobs_handler jobs_builtin_kinds[JOBS_BUILTIN_KINDS] = {
    {"noop", jobs_handle_noop},
};

/* Test-only kinds: registered by jobs_debug_module (debug_only). */
const struct jobs_handler jobs_debug_kinds[JOBS_DEBUG_KINDS] = {
    {"sleep", jobs_handle_sleep},
    {"fail", jobs_handle_fail},
};

/* Kinds are numbered in module-table order; past the last is "other". */
int jobs_kind_count(void)
{
    int n = module_job_count();
    return n < SHM_JOB_KINDS - 1 ? n : SHM_JOB_KINDS - 1;
}

const char *jobs_kind_name(int index)
{
    const struct jobs_handler *h = index < jobs_kind_count() ? module_job_at(index) : NULL;
    return h != NULL ? h->kind : "other";
}

int jobs_kind_index(const struct config *cfg, const char *kind)
{
    int i = module_job_index(kind, cfg->debug_routes != 0);
    return i < jobs_kind_count() ? i : -1;
}

static const char *const jobs_priority_names[] = {"high", "normal", "low"};

int jobs_priority_parse(const char *name)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(jobs_priority_names[i], name) == 0)
            return i;
    return -1;
}

bool jobs_status_valid(const char *status)
{
    static const char *const statuses[] = {"queued", "running", "succeeded", "failed", "dead"};
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
        if (strcmp(statuses[i], status) == 0)
            return true;
    return false;
}

const char *jobs_priority_name(int priority)
{
    return priority >= 0 && priority < 3 ? jobs_priority_names[priority] : "normal";
}

/* ---- queue statements ---------------------------------------------------- */


#define JOBS_COLUMNS                                                                                        \
    "id, kind, status, priority, attempts, max_attempts, " DB_SQL_TIMESTAMP_MS("run_at") ", last_error, payload::text, "   \
    DB_SQL_TIMESTAMP_MS("created_at") ", " DB_SQL_TIMESTAMP_MS("started_at") ", "                           \
    DB_SQL_TIMESTAMP_MS("finished_at") ", locked_by"


static struct json_object *jobs_priority_json(const db_result *r, int row, int col)
{
    return json_object_new_string(jobs_priority_name((int)db_int64(r, row, col)));
}

/* The payload column is NOT NULL jsonb: an object, {} if it cannot be read. */
static struct json_object *jobs_payload_json(const db_result *r, int row, int col)
{
    struct json_object *payload = json_tokener_parse(db_value(r, row, col));
    return payload ? payload : json_object_new_object();
}

static const struct db_json_column jobs_json_columns[] = {
    {"id", 0, DB_JSON_INT64, NULL},
    {"kind", 1, DB_JSON_TEXT, NULL},
    {"status", 2, DB_JSON_TEXT, NULL},
    {"priority", 3, DB_JSON_CUSTOM, jobs_priority_json},
    {"attempts", 4, DB_JSON_INT64, NULL},
    {"max_attempts", 5, DB_JSON_INT64, NULL},
    {"run_at", 6, DB_JSON_TEXT, NULL},
    {"last_error", 7, DB_JSON_TEXT_OR_NULL, NULL},
    {"payload", 8, DB_JSON_CUSTOM, jobs_payload_json},
    {"created_at", 9, DB_JSON_TEXT, NULL},
    {"started_at", 10, DB_JSON_TIMESTAMP, NULL},
    {"finished_at", 11, DB_JSON_TIMESTAMP, NULL},
    {"locked_by", 12, DB_JSON_TEXT_OR_NULL, NULL},
};

struct json_object *jobs_row_json(const db_result *r, int row)
{
    return db_json_row(r, row, jobs_json_columns, DB_JSON_COUNT(jobs_json_columns));
}

db_result *jobs_enqueue(struct db *db, enum err *e, const char *kind, const char *payload_json, int priority,
                        int max_attempts)
{
    char prio[8], attempts[16];
    snprintf(prio, sizeof(prio), "%d", priority);
    snprintf(attempts, sizeof(attempts), "%d", max_attempts);
    const char *params[4] = {kind, payload_json, prio, attempts};
    return db_query(db, e, 0,
                    "INSERT INTO jobs (kind, payload, priority, max_attempts) VALUES ($1, $2::jsonb, $3::smallint,"
                    " $4::integer) RETURNING " JOBS_COLUMNS, 4, params);
}

db_result *jobs_retry(struct db *db, enum err *e, int64_t id)
{
    char idtext[24];
    db_param_i64(idtext, id);
    const char *params[1] = {idtext};
    db_result *r = db_query(db, e, 0,
                            "UPDATE jobs SET status = 'queued', run_at = now(), locked_by = NULL, locked_at = NULL,"
                            " finished_at = NULL, attempts = CASE WHEN status = 'dead' THEN 0 ELSE attempts END"
                            " WHERE id = $1::bigint AND status IN ('dead', 'failed') RETURNING " JOBS_COLUMNS,
                            1, params);
    if (r == NULL || db_rows(r) > 0)
        return r;
    db_clear(r);
    r = db_query(db, e, 0, "SELECT status FROM jobs WHERE id = $1::bigint", 1, params);
    if (r == NULL)
        return NULL;
    *e = db_rows(r) == 0 ? ERR_NOT_FOUND : ERR_CONFLICT;
    db_clear(r);
    return NULL;
}

db_result *jobs_list(struct db *db, enum err *e, const char *status, const char *kind, int64_t before_id,
                     int limit)
{
    char before[24], lim[16];
    db_param_i64(before, before_id);
    snprintf(lim, sizeof(lim), "%d", limit + 1);
    const char *params[4] = {status, kind, before, lim};
    return db_query(db, e, DB_RETRY_ON_RECONNECT,
                    "SELECT " JOBS_COLUMNS " FROM jobs WHERE ($1::text IS NULL OR status = $1)"
                    " AND ($2::text IS NULL OR kind = $2) AND ($3::bigint = 0 OR id < $3::bigint)"
                    " ORDER BY id DESC LIMIT $4::integer", 4, params);
}

