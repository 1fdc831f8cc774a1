/* jobs_http: admin routes of the job queue. See jobs_http.h. */
#define _GNU_SOURCE
#include "jobs_http.h"
#include "../core/module.h"
#include "jobs.h"
#include "jobs_cli.h"
#include "../core/config.h"
#include "../core/jsonx.h"
#include "../core/limits.h"
#include "../core/parse.h"
#include "../core/request.h"
#include "../core/response.h"
#include "../core/module.h"
#include "../store/db.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

/* GET /api/v1/admin/jobs?status=&kind=&limit=&cursor= (cursor: the last id shown). */
static int jobs_http_list(struct request *req, struct response *res)
{
    const char *status = request_query(req, "status");
    const char *kind = request_query(req, "kind");
    const char *cursor = request_query(req, "cursor");
    int limit = LIMIT_LIST_DEFAULT;
    int64_t before = 0;
    if (status != NULL && status[0] == '\0')
        status = NULL;
    if (kind != NULL && kind[0] == '\0')
        kind = NULL;
    if (status != NULL && !jobs_status_valid(status))
        return request_fail(req, ERR_BAD_REQUEST, "status",
                            "status must be one of queued, running, succeeded, failed, dead");
    if (kind != NULL && strlen(kind) >= JOBS_KIND_BYTES)
        return request_fail(req, ERR_BAD_REQUEST, "kind", "kind is at most %d bytes", JOBS_KIND_BYTES - 1);
    enum err le = request_limit(req, LIMIT_LIST_MAX, LIMIT_LIST_DEFAULT, &limit);
    if (le != ERR_NONE)
        return le;
    if (cursor != NULL && cursor[0] != '\0' && parse_int64(cursor, strlen(cursor), 1, INT64_MAX, &before) != 0)
        return request_fail(req, ERR_BAD_REQUEST, "cursor", "invalid cursor");
    enum err e;
    db_result *r = jobs_list(req->ctx->db, &e, status, kind, before, (int)limit);
    if (r == NULL)
        return e;
    int rows = db_rows(r);
    int shown = rows > limit ? (int)limit : rows;
    struct json_object *items = json_object_new_array_ext(shown);
    for (int i = 0; i < shown; i++)
        json_object_array_add(items, jobs_row_json(r, i));
    struct json_object *next = rows > limit ? json_object_new_string(db_value(r, shown - 1, 0)) : NULL;
    db_clear(r);
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "items", items);
    json_object_object_add(o, "next_cursor", next);
    return response_json(res, 200, o);
}

/* POST /api/v1/admin/jobs {"kind", "payload"?, "priority"?, "max_attempts"?} -> 201 the job. */
static int jobs_http_enqueue(struct request *req, struct response *res)
{
    struct json_object *body = NULL;
    enum err e = jsonx_body_of(req, json_type_object, &body);
    if (e != ERR_NONE)
        return e;
    int rc;
    bool wrong = false;
    const char *kind = jsonx_get_string(body, "kind", &wrong);
    if (kind == NULL || wrong || jobs_kind_index(req->ctx->cfg, kind) < 0) {
        rc = request_fail(req, ERR_UNPROCESSABLE, "kind", "kind must be a known job kind");
        goto out;
    }
    struct json_object *payload = NULL;
    if (json_object_object_get_ex(body, "payload", &payload) && payload != NULL &&
        !json_object_is_type(payload, json_type_object)) {
        rc = request_fail(req, ERR_UNPROCESSABLE, "payload", "payload must be a JSON object");
        goto out;
    }
    const char *priority_name = jsonx_get_string(body, "priority", &wrong);
    int priority = priority_name ? jobs_priority_parse(priority_name) : JOBS_PRIORITY_NORMAL;
    if (wrong || priority < 0) {
        rc = request_fail(req, ERR_UNPROCESSABLE, "priority", "priority must be high, normal or low");
        goto out;
    }
    int max_attempts = req->ctx->cfg->job_max_attempts;
    struct json_object *ma = NULL;
    if (json_object_object_get_ex(body, "max_attempts", &ma) && ma != NULL) {
        int64_t v = json_object_get_int64(ma);
        if (!json_object_is_type(ma, json_type_int) || v < 1 || v > 100) {
            rc = request_fail(req, ERR_UNPROCESSABLE, "max_attempts", "max_attempts must be an integer from 1 to 100");
            goto out;
        }
        max_attempts = (int)v;
    }
    const char *payload_json = payload ? json_object_to_json_string_ext(payload, JSON_C_TO_STRING_PLAIN) : "{}";
    db_result *r = jobs_enqueue(req->ctx->db, &e, kind, payload_json, priority, max_attempts);
    if (r == NULL) {
        rc = e;
        goto out;
    }
    rc = response_json(res, 201, jobs_row_json(r, 0));
    db_clear(r);
out:
    json_object_put(body);
    return rc;
}

/* POST /api/v1/admin/jobs/{id}/retry -> 200 the job, queued again. */
static int jobs_http_retry(struct request *req, struct response *res)
{
    int64_t id;
    enum err e = request_path_id(req, "id", &id);
    if (e != ERR_NONE)
        return e;
    db_result *r = jobs_retry(req->ctx->db, &e, id);
    if (r == NULL) {
        if (e == ERR_NOT_FOUND)
            return request_fail(req, ERR_NOT_FOUND, "id", "job %" PRId64 " not found", id);
        if (e == ERR_CONFLICT)
            return request_fail(req, ERR_CONFLICT, "id", "job %" PRId64 " is not dead or failed", id);
        return e;
    }
    int rc = response_json(res, 200, jobs_row_json(r, 0));
    db_clear(r);
    return rc;
}

static const struct route jobs_http_routes[] = {
    {"GET", "/api/v1/admin/jobs", jobs_http_list, ROUTE_ADMIN},
    {"POST", "/api/v1/admin/jobs", jobs_http_enqueue, ROUTE_ADMIN},
    {"POST", "/api/v1/admin/jobs/{id}/retry", jobs_http_retry, ROUTE_ADMIN},
};

const struct tally_module jobs_module = {
    .name = "jobs",
    .routes = jobs_http_routes,
    .route_count = sizeof(jobs_http_routes) / sizeof(jobs_http_routes[0]),
    .commands = jobs_cli_commands,
    .command_count = JOBS_CLI_COMMANDS,
    .jobs = jobs_builtin_kinds,
    .job_count = JOBS_BUILTIN_KINDS,
};

/* sleep and fail: test-only kinds, there only with debug_routes = 1. */
const struct tally_module jobs_debug_module = {
    .name = "jobs_debug",
    .jobs = jobs_debug_kinds,
    .job_count = JOBS_DEBUG_KINDS,
    .debug_only = true,
};
