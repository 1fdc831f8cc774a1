/* admin_jobs: the jobs page (queue depths, schedules with their next run
 * and last result, recent jobs filtered by status and kind, failures) and
 * the retry button. */
#define _GNU_SOURCE
#include "admin_internal.h"
#include "../jobs/jobs.h"
#include <time.h>
#include "../cache/cache.h"
#include "../core/arena.h"
#include "../core/buf.h"
#include "../core/config.h"
#include "../core/log.h"
#include "../core/module.h"
#include "../core/parse.h"
#include "../core/request.h"
#include "../core/response.h"
#include "../core/shm.h"
#include "../store/db.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Schedules with their next slot (computed here from the cron text, as
 * the runner does) and the job of their latest slot. */
static struct json_object *admin_jobs_schedules(struct request *req, enum err *e)
{
    struct json_object *list = admin_page_query_json(
        req, e,
        "SELECT coalesce(json_agg(t ORDER BY t.name), '[]') FROM (SELECT s.name, s.kind, s.cron, s.enabled, "
        "extract(epoch FROM now())::bigint AS now_s, j.id AS last_id, j.status AS last_status, "
        ADMIN_PAGE_TS("j.schedule_slot") " AS last_slot, " ADMIN_PAGE_TS("j.finished_at") " AS last_finished, "
        "left(j.last_error, 200) AS last_error FROM job_schedules s LEFT JOIN LATERAL (SELECT id, status, "
        "schedule_slot, finished_at, last_error FROM jobs WHERE kind = s.kind AND schedule_slot IS NOT NULL "
        "ORDER BY schedule_slot DESC LIMIT 1) j ON true) t",
        0, NULL);
    size_t n = list != NULL ? json_object_array_length(list) : 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *row = json_object_array_get_idx(list, i);
        struct jobs_cron cron;
        int64_t now_s = json_object_get_int64(json_object_object_get(row, "now_s"));
        struct json_object *next = NULL;
        if (jobs_cron_parse(json_object_get_string(json_object_object_get(row, "cron")), &cron) == 0 &&
            json_object_get_boolean(json_object_object_get(row, "enabled"))) {
            int64_t slot = jobs_cron_next_slot(&cron, now_s, JOBS_NEXT_HORIZON_MIN);
            if (slot > 0) {
                time_t t = (time_t)slot;
                struct tm tm;
                char text[32];
                gmtime_r(&t, &tm);
                strftime(text, sizeof(text), "%Y-%m-%d %H:%M UTC", &tm);
                next = json_object_new_string(text);
            }
        }
        admin_page_add(row, "next_run", next);
        json_object_object_del(row, "now_s");
    }
    return list;
}

/* The newest jobs, filtered by ?status= and ?kind= (the JSON API's rules). */
static struct json_object *admin_jobs_recent(struct request *req, const char *status, const char *kind, enum err *e)
{
    enum err qe = ERR_NONE;
    db_result *r = jobs_list(req->ctx->db, &qe, status, kind, 0, ADMIN_RECENT_JOBS);
    struct json_object *list = json_object_new_array();
    if (r == NULL) {
        *e = qe;
        return list;
    }
    for (int i = 0; i < db_rows(r) && i < ADMIN_RECENT_JOBS; i++) {
        struct json_object *o = jobs_row_json(r, i);
        static const char *const ts[] = {"created_at", "started_at", "finished_at", "run_at"};
        for (size_t k = 0; k < sizeof(ts) / sizeof(ts[0]); k++)
            admin_page_add(o, ts[k], admin_page_ts_of_iso(json_object_object_get(o, ts[k])));
        json_object_array_add(list, o);
    }
    db_clear(r);
    return list;
}

static bool admin_jobs_status_ok(const char *s)
{
    static const char *const names[] = {"queued", "running", "succeeded", "failed", "dead"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(s, names[i]) == 0)
            return true;
    return false;
}

int admin_jobs_page(struct request *req, struct response *res)
{
    struct admin_session s;
    if (!admin_page_session(req, res, &s))
        return ERR_NONE;
    enum err e = ERR_NONE;
    char lim[16];
    snprintf(lim, sizeof(lim), "%d", ADMIN_JOB_FAILURES);
    const char *params[] = {lim};
    const char *status = request_query(req, "status");
    const char *kind = request_query(req, "kind");
    if (status != NULL && status[0] == '\0')
        status = NULL;
    if (kind != NULL && kind[0] == '\0')
        kind = NULL;
    if (status != NULL && !admin_jobs_status_ok(status))
        return admin_auth_error_page(req, res, 400, "status must be one of queued, running, succeeded, failed, dead.");
    if (kind != NULL && strlen(kind) >= JOBS_KIND_BYTES)
        return admin_auth_error_page(req, res, 400, "kind is too long.");
    struct json_object *d = json_object_new_object();
    admin_page_add(d, "depths", admin_page_query_json(
        req, &e,
        "SELECT coalesce(json_agg(t ORDER BY t.status), '[]') FROM (SELECT status, count(*) AS jobs, "
        "CASE WHEN status IN ('queued', 'failed') THEN count(*) FILTER (WHERE run_at <= now()) END AS ready "
        "FROM jobs GROUP BY status) t",
        0, NULL));
    admin_page_add(d, "schedules", admin_jobs_schedules(req, &e));
    admin_page_add(d, "recent", admin_jobs_recent(req, status, kind, &e));
    admin_page_add(d, "filter_status", json_object_new_string(status ? status : ""));
    admin_page_add(d, "filter_kind", json_object_new_string(kind ? kind : ""));
    struct json_object *statuses = json_object_new_array();
    static const char *const names[] = {"queued", "running", "succeeded", "failed", "dead"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct json_object *o = json_object_new_object();
        admin_page_add(o, "name", json_object_new_string(names[i]));
        admin_page_add(o, "selected", json_object_new_boolean(status != NULL && strcmp(status, names[i]) == 0));
        json_object_array_add(statuses, o);
    }
    admin_page_add(d, "statuses", statuses);
    admin_page_add(d, "failures", admin_page_query_json(
        req, &e,
        "SELECT coalesce(json_agg(t ORDER BY t.id DESC), '[]') FROM (SELECT id, kind, status, attempts, "
        "max_attempts, left(coalesce(last_error, ''), 300) AS last_error, "
        ADMIN_PAGE_TS("coalesce(finished_at, created_at)") " AS at FROM jobs WHERE status IN ('failed', 'dead') "
        "ORDER BY id DESC LIMIT $1::int) t",
        1, params));
    if (e != ERR_NONE)
        admin_page_add(d, "db_error", json_object_new_boolean(1));
    const char *retried = request_query(req, "retried");
    if (retried != NULL)
        admin_page_add(d, "retried", json_object_new_int64(strtoll(retried, NULL, 10)));
    return admin_page_render(req, res, &s, "jobs", "Jobs", d, NULL);
}

/* POST /admin/jobs/{id}/retry (csrf_token) */
int admin_jobs_form_retry(struct request *req, struct response *res)
{
    struct admin_session s;
    if (!admin_auth_post(req, res, &s))
        return ERR_NONE;
    int64_t id = 0;
    if (request_path_id(req, "id", &id) != ERR_NONE)
        return admin_auth_error_page(req, res, 404, "No such job.");
    enum err e = ERR_NONE;
    db_result *r = jobs_retry(req->ctx->db, &e, id);
    if (r == NULL)
        return admin_auth_error_page(req, res, err_lookup(e)->status,
                                     e == ERR_NOT_FOUND  ? "No such job."
                                     : e == ERR_CONFLICT ? "Only failed or dead jobs can be retried."
                                                         : "The database is unavailable.");
    db_clear(r);
    log_info("admin %s retried job %lld", s.username, (long long)id);
    return admin_auth_redirect(res, arena_sprintf(req->arena, "/admin/jobs?retried=%lld", (long long)id));
}
