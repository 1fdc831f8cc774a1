/* precompute_module: what the pre-computed metrics plug into the module
 * table (app/modules.c): the HTTP route GET /api/v1/users/{id}/metrics/{type},
 * the job kinds (precompute_user_metrics, precompute_all_users,
 * cleanup_expired_metrics), the transactions-changed subscriber that syncs
 * the user's cache generations, the cache namespace, the shared read
 * counters and their /metrics lines. The computation and the read path are
 * precompute.c's. */
#define _GNU_SOURCE
#include "precompute.h"
#include "../cache/cachegen.h"
#include "../core/buf.h"
#include "../core/log.h"
#include "../core/parse.h"
#include "../core/request.h"
#include "../core/response.h"
#include "../core/shm.h"
#include "../jobs/jobs.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

/* ---- HTTP ------------------------------------------------------------------ */

static int precompute_module_get(struct request *req, struct response *res)
{
    int64_t user_id;
    enum err e = request_path_id(req, "id", &user_id);
    if (e != ERR_NONE)
        return e;
    const struct route_param *tp = router_param(&req->match, "type");
    char tname[32];
    enum precompute_type type;
    if (tp == NULL || tp->value_len >= sizeof(tname))
        return request_fail(req, ERR_NOT_FOUND, "type", "unknown metric type");
    memcpy(tname, tp->value, tp->value_len);
    tname[tp->value_len] = '\0';
    if (precompute_type_parse(tname, &type) != 0)
        return request_fail(req, ERR_NOT_FOUND, "type",
                            "unknown metric type; one of monthly_total, category_breakdown, mom_comparison, trends_6m");
    int y, m;
    e = precompute_request_period(req, &y, &m);
    if (e != ERR_NONE)
        return e;
    char *body = NULL;
    size_t len = 0;
    e = precompute_read(req->ctx, user_id, type, y, m, &body, &len);
    if (e == ERR_NOT_FOUND)
        return request_fail(req, e, "id", "user %" PRId64 " not found", user_id);
    if (e != ERR_NONE)
        return e;
    response_body_owned(res, 200, "application/json", body, len);
    return ERR_NONE;
}

/* ---- jobs ------------------------------------------------------------------ */

/* The month a metric job is about: payload.period "YYYY-MM", else now (UTC). */
static int precompute_module_job_month(struct jobs_ctx *ctx, struct json_object *payload, int *year, int *month)
{
    struct json_object *v = NULL;
    if (json_object_object_get_ex(payload, "period", &v)) {
        const char *p = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
        if (parse_period(p, strlen(p), year, month) != 0) {
            snprintf(ctx->error, sizeof(ctx->error), "payload.period must be YYYY-MM");
            return -1;
        }
        return 0;
    }
    int d;
    parse_today_utc(year, month, &d);
    return 0;
}

/* payload {"user_id": N, "period": "YYYY-MM"?}: the four metrics of the
 * month and the month before (precompute_user). */
static int precompute_module_job_precompute_user(struct jobs_ctx *ctx, struct json_object *payload)
{
    struct json_object *v = NULL;
    int year, month;
    if (!json_object_object_get_ex(payload, "user_id", &v) || !json_object_is_type(v, json_type_int) ||
        json_object_get_int64(v) <= 0) {
        snprintf(ctx->error, sizeof(ctx->error), "payload.user_id must be a positive integer");
        return -1;
    }
    if (precompute_module_job_month(ctx, payload, &year, &month) != 0)
        return -1;
    int64_t user_id = json_object_get_int64(v);
    if (precompute_user(ctx->db, ctx->cache, user_id, year, month) != 0) {
        snprintf(ctx->error, sizeof(ctx->error), "precompute of user %" PRId64 " failed", user_id);
        return -1;
    }
    return 0;
}

static void precompute_module_job_progress(void *arg, long done, long total, long failed)
{
    (void)done;
    (void)total;
    (void)failed;
    jobs_heartbeat(arg);
}

/* payload {"period": "YYYY-MM"?}: every user active in the last 30 days. */
static int precompute_module_job_precompute_all(struct jobs_ctx *ctx, struct json_object *payload)
{
    int year, month;
    long done = 0, failed = 0;
    if (precompute_module_job_month(ctx, payload, &year, &month) != 0)
        return -1;
    if (precompute_all(ctx->db, ctx->cache, year, month, precompute_module_job_progress, ctx, &done, &failed) != 0) {
        snprintf(ctx->error, sizeof(ctx->error), "precompute: %ld of %ld users failed", failed, done);
        return -1;
    }
    log_info("job %" PRId64 ": precomputed %ld users", ctx->job_id, done);
    return 0;
}

static int precompute_module_job_cleanup_metrics(struct jobs_ctx *ctx, struct json_object *payload)
{
    (void)payload;
    long deleted = 0;
    if (precompute_cleanup(ctx->db, &deleted) != 0) {
        snprintf(ctx->error, sizeof(ctx->error), "cleanup of expired metrics failed");
        return -1;
    }
    log_info("job %" PRId64 ": deleted %ld expired metrics", ctx->job_id, deleted);
    return 0;
}

/* ---- invalidation ------------------------------------------------------- */

/* The insert's trigger already moved the user's generations (sql/015) in
 * its transaction; this pushes them to memcached (app/cache/cachegen.h). */
/* The one subscriber that syncs a user's generations after a transactions
 * write: cachegen_sync_user raises the metrics and the profile tokens. */
static void precompute_module_on_event(struct tally_ctx *ctx, const struct tally_event *ev)
{
    if (ev->kind == TALLY_EVENT_TRANSACTIONS_CHANGED)
        cachegen_sync_user(ctx->db, ctx->cache, ev->user_id);
}

/* ---- the module ------------------------------------------------------------ */

static void precompute_module_metrics(const struct tally_ctx *ctx, struct buf *b)
{
    const struct precompute_shared *r = module_shm(ctx->shm, "precompute");
    if (r == NULL)
        return;
    buf_metric_header(b, "tally_metrics_reads_total", "counter",
                      "Pre-computed metric reads by the layer that answered (cache, store, computed).");
    buf_printf(b, "tally_metrics_reads_total{source=\"cache\"} %" PRIu64 "\n", shm_load(&r->cache));
    buf_printf(b, "tally_metrics_reads_total{source=\"store\"} %" PRIu64 "\n", shm_load(&r->store));
    buf_printf(b, "tally_metrics_reads_total{source=\"computed\"} %" PRIu64 "\n", shm_load(&r->computed));
}

static const struct route precompute_module_routes[] = {
    {"GET", "/api/v1/users/{id}/metrics/{type}", precompute_module_get, ROUTE_USER},
};

static const struct jobs_handler precompute_module_jobs[] = {
    {"precompute_user_metrics", precompute_module_job_precompute_user},
    {"precompute_all_users", precompute_module_job_precompute_all},
    {"cleanup_expired_metrics", precompute_module_job_cleanup_metrics},
};

static const char *const precompute_module_namespaces[] = {"metrics", NULL};

const struct tally_module precompute_module = {
    .name = "precompute",
    .routes = precompute_module_routes,
    .route_count = sizeof(precompute_module_routes) / sizeof(precompute_module_routes[0]),
    .jobs = precompute_module_jobs,
    .job_count = sizeof(precompute_module_jobs) / sizeof(precompute_module_jobs[0]),
    .commands = precompute_cli_commands,
    .command_count = PRECOMPUTE_CLI_COMMANDS,
    .cache_namespaces = precompute_module_namespaces,
    .shm_bytes = sizeof(struct precompute_shared),
    .metrics = precompute_module_metrics,
    .on_event = precompute_module_on_event,
};
