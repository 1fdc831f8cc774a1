/* learning_http: the thin HTTP handlers of the learning routes. They parse
 * and check the request and call the services with the request's ctx. */
#define _GNU_SOURCE
#include "learning.h"
#include "../core/config.h"
#include "../core/jsonx.h"
#include "../core/parse.h"
#include "../core/request.h"
#include "../core/response.h"
#include "../core/router.h"
#include "../modules/auth.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

/* POST /api/extension/learning/sync */
static int learning_http_sync(struct request *req, struct response *res)
{
    struct json_object *body = NULL;
    enum err e = request_require_content_type(req, "application/json");
    if (e == ERR_NONE)
        e = jsonx_parse_body(req, &body);
    if (e != ERR_NONE)
        return e;
    int rc;
    if (!json_object_is_type(body, json_type_object)) {
        rc = request_fail(req, ERR_BAD_REQUEST, "body", "expected a JSON object");
        goto out;
    }
    int64_t user_id = req->auth_user_id;
    struct json_object *v = NULL;
    if (json_object_object_get_ex(body, "user_id", &v) && v != NULL) {
        if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) <= 0) {
            rc = request_fail(req, ERR_UNPROCESSABLE, "user_id", "user_id must be a positive integer");
            goto out;
        }
        user_id = json_object_get_int64(v);
    }
    if (user_id <= 0) {
        rc = request_fail(req, ERR_UNPROCESSABLE, "user_id", "user_id is required with an admin token");
        goto out;
    }
    if ((e = auth_require_user(req, user_id)) != ERR_NONE) {
        rc = e;
        goto out;
    }
    struct json_object *events = NULL;
    json_object_object_get_ex(body, "events", &events);
    struct tally_ctx *ctx = req->ctx;
    struct learning_sync_result sr;
    const char *field = NULL;
    char msg[200];
    e = learning_sync(ctx, user_id, events, &sr, &field, msg, sizeof(msg));
    if (e != ERR_NONE) {
        rc = request_fail(req, e, field, "%s", msg);
        goto out;
    }
    struct json_object *answer = json_object_new_object();
    json_object_object_add(answer, "accepted", json_object_new_int64(sr.accepted));
    json_object_object_add(answer, "duplicates", json_object_new_int64(sr.duplicates));
    json_object_object_add(answer, "rejected", sr.rejected);
    rc = response_json(res, 200, answer);
out:
    json_object_put(body);
    return rc;
}

/* GET /api/extension/learning/profile?host=&schema_hash= */
static int learning_http_profile(struct request *req, struct response *res)
{
    const char *host = request_query(req, "host");
    const char *schema_hash = request_query(req, "schema_hash");
    if (host == NULL || host[0] == '\0' || strlen(host) > LEARNING_HOST_BYTES)
        return request_fail(req, ERR_BAD_REQUEST, "host", "host is required (1 to %d bytes)", LEARNING_HOST_BYTES);
    if (schema_hash == NULL || schema_hash[0] == '\0' || strlen(schema_hash) > LEARNING_SCHEMA_HASH_BYTES)
        return request_fail(req, ERR_BAD_REQUEST, "schema_hash", "schema_hash is required (1 to %d bytes)",
                            LEARNING_SCHEMA_HASH_BYTES);
    char host_lc[LEARNING_HOST_BYTES + 1];
    size_t i = 0;
    for (; host[i] != '\0'; i++)
        host_lc[i] = host[i] >= 'A' && host[i] <= 'Z' ? (char)(host[i] - 'A' + 'a') : host[i];
    host_lc[i] = '\0';
    struct tally_ctx *ctx = req->ctx;
    char *json;
    size_t len;
    enum err e = learning_profile_json(ctx, host_lc, schema_hash, &json, &len);
    if (e == ERR_NOT_FOUND)
        return request_fail(req, e, "host", "no form profile for this host and schema_hash");
    if (e != ERR_NONE)
        return e;
    response_body_owned(res, 200, "application/json", json, len);
    return ERR_NONE;
}

/* POST /api/v1/admin/learning/aggregate?days=30[&full=1][&now=…] */
static int learning_http_aggregate(struct request *req, struct response *res)
{
    struct learning_aggregate_opts opts = {.days = LEARNING_WINDOW_DAYS_DEFAULT};
    const char *days = request_query(req, "days");
    const char *full = request_query(req, "full");
    const char *now = request_query(req, "now");
    int64_t d;
    if (days != NULL) {
        if (parse_int64(days, strlen(days), 1, LEARNING_WINDOW_DAYS_MAX, &d) != 0)
            return request_fail(req, ERR_BAD_REQUEST, "days", "days must be an integer in [1, %d]",
                                LEARNING_WINDOW_DAYS_MAX);
        opts.days = (int)d;
    }
    if (full != NULL) {
        if (strcmp(full, "1") != 0 && strcmp(full, "0") != 0 && strcmp(full, "true") != 0 &&
            strcmp(full, "false") != 0)
            return request_fail(req, ERR_BAD_REQUEST, "full", "full must be 1, 0, true or false");
        opts.full = full[0] == '1' || full[0] == 't';
    }
    if (now != NULL && !req->ctx->cfg->debug_routes)
        return request_fail(req, ERR_BAD_REQUEST, "now", "now is accepted only with debug_routes (tests)");
    if (now != NULL && strlen(now) > 40)
        return request_fail(req, ERR_BAD_REQUEST, "now", "now must be a timestamp");
    struct tally_ctx *ctx = req->ctx;
    struct learning_aggregate_result r;
    if (learning_aggregate_at(ctx, &opts, now, &r) != 0)
        return request_fail(req, ERR_UNAVAILABLE, NULL, "the aggregation failed (see the log); nothing was written");
    struct json_object *answer = json_object_new_object();
    char ms[32];
    snprintf(ms, sizeof(ms), "%.1f", r.duration_ms);
    json_object_object_add(answer, "updated_profiles", json_object_new_int64(r.updated_profiles));
    json_object_object_add(answer, "events_read", json_object_new_int64(r.events_read));
    json_object_object_add(answer, "duration_ms", json_object_new_double_s(r.duration_ms, ms));
    json_object_object_add(answer, "days", json_object_new_int(opts.days));
    json_object_object_add(answer, "full", json_object_new_boolean(r.full));
    json_object_object_add(answer, "skipped", json_object_new_boolean(r.skipped));
    return response_json(res, 200, answer);
}

/* GET /api/v1/admin/learning/stats */
static int learning_http_stats(struct request *req, struct response *res)
{
    struct tally_ctx *ctx = req->ctx;
    struct json_object *stats;
    enum err e = learning_stats(ctx, &stats);
    if (e != ERR_NONE)
        return e;
    return response_json(res, 200, stats);
}

const struct route learning_http_routes[LEARNING_HTTP_ROUTE_COUNT] = {
    {"POST", "/api/extension/learning/sync", learning_http_sync, ROUTE_USER},
    {"GET", "/api/extension/learning/profile", learning_http_profile, ROUTE_USER},
    {"POST", "/api/v1/admin/learning/aggregate", learning_http_aggregate, ROUTE_ADMIN},
    {"GET", "/api/v1/admin/learning/stats", learning_http_stats, ROUTE_ADMIN},
    {"GET", "/admin/learning", learning_admin_page, ROUTE_PUBLIC},
    {"POST", "/admin/learning/aggregate", learning_admin_form_aggregate, ROUTE_PUBLIC},
};
const size_t learning_http_route_count = LEARNING_HTTP_ROUTE_COUNT;
