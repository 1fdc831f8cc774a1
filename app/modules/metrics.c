/* metrics: see metrics.h. Counters are read with relaxed atomic loads; a
 * scrape is a consistent-enough snapshot (each value is exact, the set is
 * not taken at one instant). Histograms are stored non-cumulative and
 * summed here. */
#include "metrics.h"
#include "../jobs/jobs.h"
#include "../cache/cache.h"
#include "../core/buf.h"
#include "../core/request.h"
#include "../core/response.h"
#include "../core/shm.h"
#include "../core/module.h"
#include "../store/db.h"

#include <inttypes.h>
#include <stdio.h>

#define METRICS_BODY_LIMIT (4 * 1024 * 1024)

#define metrics_header buf_metric_header

static void metrics_le(char *out, size_t cap, int bucket)
{
    uint64_t us = shm_duration_bucket_us[bucket];
    if (us == UINT64_MAX)
        snprintf(out, cap, "+Inf");
    else
        snprintf(out, cap, "%g", (double)us / 1e6);
}

/* One histogram series from non-cumulative buckets. labels: `k="v",` or "". */
static void metrics_histogram(struct buf *b, const char *name, const char *labels, const uint64_t *buckets,
                              uint64_t sum_us)
{
    uint64_t cumulative = 0;
    char le[32];
    for (int i = 0; i < SHM_DURATION_BUCKETS; i++) {
        cumulative += shm_load(&buckets[i]);
        metrics_le(le, sizeof(le), i);
        buf_printf(b, "%s_bucket{%sle=\"%s\"} %" PRIu64 "\n", name, labels, le, cumulative);
    }
    size_t n = 0;
    while (labels[n] != '\0')
        n++;
    /* labels end with ',' when non-empty: drop it for _sum/_count. */
    buf_printf(b, "%s_sum{%.*s} %.6f\n", name, n ? (int)n - 1 : 0, labels, (double)sum_us / 1e6);
    buf_printf(b, "%s_count{%.*s} %" PRIu64 "\n", name, n ? (int)n - 1 : 0, labels, cumulative);
}

static void metrics_route_label(const struct router *r, int i, const char **pattern, const char **method)
{
    if (i < r->count) {
        *pattern = r->routes[i]->pattern;
        *method = r->routes[i]->method;
    } else {
        *pattern = "unmatched";
        *method = "any";
    }
}

static bool metrics_route_used(const struct shm_route_stats *rs)
{
    for (int s = 0; s < SHM_STATUS_CODES; s++)
        if (shm_load(&rs->by_status[s]) != 0)
            return true;
    return false;
}

static void metrics_http(struct buf *b, const struct shm *shm, const struct router *r)
{
    metrics_header(b, "tally_http_requests_total", "counter", "HTTP requests answered, by route pattern, method and status.");
    for (int i = 0; i < LIMIT_ROUTES; i++) {
        if (i >= r->count && i != LIMIT_ROUTES - 1)
            continue;
        const char *pattern, *method;
        metrics_route_label(r, i, &pattern, &method);
        for (int s = 0; s < SHM_STATUS_CODES; s++) {
            uint64_t v = shm_load(&shm->routes[i].by_status[s]);
            if (v == 0)
                continue;
            char status[8];
            if (shm_status_codes[s] == 0)
                snprintf(status, sizeof(status), "other");
            else
                snprintf(status, sizeof(status), "%d", shm_status_codes[s]);
            buf_printf(b, "tally_http_requests_total{route=\"%s\",method=\"%s\",status=\"%s\"} %" PRIu64 "\n",
                       pattern, method, status, v);
        }
    }
    metrics_header(b, "tally_http_request_duration_seconds", "histogram", "Time from request start to response written, per route.");
    for (int i = 0; i < LIMIT_ROUTES; i++) {
        if ((i >= r->count && i != LIMIT_ROUTES - 1) || !metrics_route_used(&shm->routes[i]))
            continue;
        const char *pattern, *method;
        metrics_route_label(r, i, &pattern, &method);
        char labels[160];
        snprintf(labels, sizeof(labels), "route=\"%s\",method=\"%s\",", pattern, method);
        metrics_histogram(b, "tally_http_request_duration_seconds", labels, shm->routes[i].duration_buckets,
                          shm_load(&shm->routes[i].duration_sum_us));
    }
}

static void metrics_cache(struct buf *b, const struct shm *shm)
{
    static const char *const ops[][2] = {{"get", "hit"}, {"get", "miss"}, {"set", "ok"}, {"delete", "ok"}, {"any", "error"}};
    metrics_header(b, "tally_cache_operations_total", "counter", "memcached operations by namespace, operation and result.");
    for (int ns = 0; ns < cache_ns_count(&shm->cache); ns++) {
        const struct cache_ns_counters *c = &shm->cache.ns[ns];
        const uint64_t values[] = {shm_load(&c->hits), shm_load(&c->misses), shm_load(&c->sets),
                                   shm_load(&c->deletes), shm_load(&c->errors)};
        for (size_t k = 0; k < sizeof(values) / sizeof(values[0]); k++)
            buf_printf(b, "tally_cache_operations_total{namespace=\"%s\",op=\"%s\",result=\"%s\"} %" PRIu64 "\n",
                       cache_ns_name(&shm->cache, ns), ops[k][0], ops[k][1], values[k]);
    }
    metrics_header(b, "tally_cache_timeouts_total", "counter", "memcached operations that timed out.");
    buf_printf(b, "tally_cache_timeouts_total %" PRIu64 "\n", shm_load(&shm->cache.timeouts));
    metrics_header(b, "tally_cache_server_failures_total", "counter", "memcached operations that found a server failed or ejected.");
    buf_printf(b, "tally_cache_server_failures_total %" PRIu64 "\n", shm_load(&shm->cache.server_failures));
}

static void metrics_db(struct buf *b, const struct shm *shm)
{
    metrics_header(b, "tally_db_queries_total", "counter", "PostgreSQL statements run by workers.");
    buf_printf(b, "tally_db_queries_total %" PRIu64 "\n", shm_load(&shm->db.queries));
    metrics_header(b, "tally_db_errors_total", "counter", "PostgreSQL statements or connections that failed.");
    buf_printf(b, "tally_db_errors_total %" PRIu64 "\n", shm_load(&shm->db.errors));
    metrics_header(b, "tally_db_reconnects_total", "counter", "PostgreSQL connections re-opened after a failure.");
    buf_printf(b, "tally_db_reconnects_total %" PRIu64 "\n", shm_load(&shm->db.reconnects));
    metrics_header(b, "tally_db_query_duration_seconds", "histogram", "PostgreSQL statement time, including the round trip.");
    metrics_histogram(b, "tally_db_query_duration_seconds", "", shm->db.duration_buckets, shm_load(&shm->db.duration_sum_us));
}

static void metrics_workers(struct buf *b, const struct shm *shm)
{
    int idle = 0, busy = 0, starting = 0;
    for (int i = 0; i < LIMIT_WORKER_SLOTS; i++) {
        if (shm_load(&shm->workers[i].pid) == 0)
            continue;
        int state = shm_load(&shm->workers[i].state);
        if (state == SHM_WORKER_BUSY)
            busy++;
        else if (state == SHM_WORKER_IDLE)
            idle++;
        else if (state == SHM_WORKER_STARTING)
            starting++;
    }
    busy--;                       /* the worker answering this scrape is not load */
    if (busy < 0)
        busy = 0;
    else
        idle++;
    metrics_header(b, "tally_workers", "gauge", "Worker processes by state (the scraping worker counts as idle).");
    buf_printf(b, "tally_workers{state=\"idle\"} %d\ntally_workers{state=\"busy\"} %d\ntally_workers{state=\"starting\"} %d\n",
               idle, busy, starting);
    metrics_header(b, "tally_worker_restarts_total", "counter", "Workers respawned after an unexpected exit (crash, kill, timeout).");
    buf_printf(b, "tally_worker_restarts_total %" PRIu64 "\n", shm_load(&shm->worker_restarts));
    metrics_header(b, "tally_worker_recycles_total", "counter", "Workers replaced after max_requests.");
    buf_printf(b, "tally_worker_recycles_total %" PRIu64 "\n", shm_load(&shm->worker_recycles));
    metrics_header(b, "tally_worker_timeouts_total", "counter", "Workers killed by the master for exceeding request_timeout_ms.");
    buf_printf(b, "tally_worker_timeouts_total %" PRIu64 "\n", shm_load(&shm->worker_timeouts));
    metrics_header(b, "tally_slow_requests_total", "counter", "Requests that ran longer than slowlog_ms.");
    buf_printf(b, "tally_slow_requests_total %" PRIu64 "\n", shm_load(&shm->slow_requests));
    metrics_header(b, "tally_requests_accepted_total", "counter", "Requests accepted by all workers.");
    buf_printf(b, "tally_requests_accepted_total %" PRIu64 "\n", shm_load(&shm->accepted));
}

/* Job attempts from the runner's shared counters; queue depth from one
 * indexed count (omitted when PostgreSQL is unreachable). */
static void metrics_jobs(struct buf *b, const struct config *cfg, const struct shm *shm, struct db *db)
{
    static const char *const outcomes[SHM_JOB_OUTCOMES] = {"succeeded", "failed", "dead"};
    metrics_header(b, "tally_jobs_total", "counter", "Job attempts run by the supervised job runner, by kind and outcome.");
    for (int k = 0; k <= jobs_kind_count(); k++) {
        if (k < jobs_kind_count() && jobs_kind_index(cfg, jobs_kind_name(k)) != k)
            continue;                   /* a debug-only kind (sleep, fail) without debug_routes */
        for (int o = 0; o < SHM_JOB_OUTCOMES; o++)
            buf_printf(b, "tally_jobs_total{kind=\"%s\",status=\"%s\"} %" PRIu64 "\n", jobs_kind_name(k), outcomes[o],
                       shm_load(&shm->jobs.by_kind[k][o]));
    }
    metrics_header(b, "tally_jobs_stale_requeued_total", "counter", "Running jobs re-queued because their lock expired.");
    buf_printf(b, "tally_jobs_stale_requeued_total %" PRIu64 "\n", shm_load(&shm->jobs.stale_requeued));
    metrics_header(b, "tally_jobs_runner_restarts_total", "counter", "Job runner child respawned after an exit the master did not ask for.");
    buf_printf(b, "tally_jobs_runner_restarts_total %" PRIu64 "\n", shm_load(&shm->jobs.runner_restarts));
    enum err e;
    db_result *r = db_query(db, &e, DB_RETRY_ON_RECONNECT,
                            "SELECT priority, count(*) FROM jobs WHERE status IN ('queued', 'failed') GROUP BY priority",
                            0, NULL);
    if (r == NULL)
        return;
    int64_t depth[3] = {0, 0, 0};
    for (int i = 0; i < db_rows(r); i++) {
        int64_t p = db_int64(r, i, 0);
        if (p >= 0 && p < 3)
            depth[p] = db_int64(r, i, 1);
    }
    db_clear(r);
    metrics_header(b, "tally_jobs_queue_depth", "gauge", "Jobs queued or waiting for a retry, by priority queue.");
    for (int p = 0; p < 3; p++)
        buf_printf(b, "tally_jobs_queue_depth{queue=\"%s\"} %" PRId64 "\n", jobs_priority_name(p), depth[p]);
}

static int metrics_get(struct request *req, struct response *res)
{
    const struct shm *shm = req->ctx->shm;
    struct buf b;
    buf_init(&b, METRICS_BODY_LIMIT);
    metrics_header(&b, "tally_build_info", "gauge", "Build information.");
    buf_printf(&b, "tally_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
    metrics_header(&b, "tally_process_start_time_seconds", "gauge", "Start time of the tallyd master, Unix seconds.");
    buf_printf(&b, "tally_process_start_time_seconds %.3f\n", (double)shm->master_started_ms / 1000.0);
    metrics_http(&b, shm, req->ctx->router);
    metrics_cache(&b, shm);
    metrics_db(&b, shm);
    metrics_workers(&b, shm);
    metrics_jobs(&b, req->ctx->cfg, shm, req->ctx->db);
    module_metrics(req->ctx, &b);
    if (b.overflow) {
        buf_free(&b);
        return request_fail(req, ERR_INTERNAL, NULL, "metrics exposition larger than %d bytes", METRICS_BODY_LIMIT);
    }
    size_t len;
    char *body = buf_take(&b, &len);
    response_body_owned(res, 200, "text/plain; version=0.0.4; charset=utf-8", body, len);
    return ERR_NONE;
}

static const struct route metrics_routes[] = {
    {"GET", "/metrics", metrics_get, ROUTE_PUBLIC},
};

const struct tally_module metrics_module = {
    .name = "metrics",
    .routes = metrics_routes,
    .route_count = sizeof(metrics_routes) / sizeof(metrics_routes[0]),
};
