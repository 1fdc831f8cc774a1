/* opportunities_http: the HTTP routes of opportunities (see
 * opportunities.h for the service). A thin layer: it reads the path, the
 * query and the body, decides whose rows the token may reach and renders
 * the service's answer or error. */
#include "opportunities_http.h"
#include "opportunities_admin.h"
#include "opportunities.h"
#include "../core/jsonx.h"
#include "../core/module.h"
#include "../core/parse.h"
#include "../core/request.h"
#include "../core/response.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

static void oh_ctx(struct request *req, struct tally_ctx **ctx, struct opp_actor *who)
{
    *ctx = req->ctx;
    who->admin = req->auth_admin;
    who->user_id = req->auth_user_id;
}

/* Renders a service result: 4xx with the service's field and message. */
static int oh_answer(struct request *req, struct response *res, enum err e, int status, char *json, size_t len,
                     const struct opp_error *oe)
{
    if (e == ERR_NONE) {
        response_body_owned(res, status, "application/json", json, len);
        return ERR_NONE;
    }
    if (oe->message[0] != '\0')
        return request_fail(req, e, oe->field, "%s", oe->message);
    return e;
}

/* The user whose rows a list/stats/preferences call is about: the token's
 * user, or ?user_id= (admin: any user, 0 = all when allow_all; a user
 * token: only its own). */
static enum err oh_target_user(struct request *req, bool allow_all, int64_t *user_id)
{
    const char *q = request_query(req, "user_id");
    int64_t asked = 0;
    if (q != NULL && parse_int64(q, strlen(q), 1, INT64_MAX, &asked) != 0)
        return request_fail(req, ERR_BAD_REQUEST, "user_id", "user_id must be a positive integer");
    if (!req->auth_admin) {
        if (asked != 0 && asked != req->auth_user_id)
            return request_fail(req, ERR_FORBIDDEN, "user_id", "this token cannot access user %" PRId64, asked);
        *user_id = req->auth_user_id;
        return ERR_NONE;
    }
    if (asked == 0 && !allow_all)
        return request_fail(req, ERR_BAD_REQUEST, "user_id", "an admin token must give ?user_id=");
    *user_id = asked;
    return ERR_NONE;
}

static enum err oh_body(struct request *req, struct json_object **body)
{
    *body = NULL;
    return jsonx_body_of(req, json_type_object, body);
}

static int oh_create(struct request *req, struct response *res)
{
    struct tally_ctx *ctx;
    struct opp_actor who;
    struct opp_error oe = {0};
    struct json_object *body;
    enum err e = oh_body(req, &body);
    if (e != ERR_NONE)
        return e;
    oh_ctx(req, &ctx, &who);
    char *json = NULL;
    size_t len = 0;
    e = opportunities_create(ctx, &who, body, &json, &len, &oe);
    json_object_put(body);
    return oh_answer(req, res, e, 201, json, len, &oe);
}

/* The {opportunity_id} routes: the id, the context, the actor. */
static enum err oh_one(struct request *req, struct tally_ctx **ctx, struct opp_actor *who, int64_t *id)
{
    enum err e = request_path_id(req, "opportunity_id", id);
    if (e == ERR_NONE)
        oh_ctx(req, ctx, who);
    return e;
}

static int oh_get(struct request *req, struct response *res)
{
    struct tally_ctx *ctx;
    struct opp_actor who;
    struct opp_error oe = {0};
    int64_t id;
    char *json = NULL;
    size_t len = 0;
    enum err e = oh_one(req, &ctx, &who, &id);
    if (e == ERR_NONE)
        e = opportunities_get(ctx, &who, id, &json, &len, &oe);
    return oh_answer(req, res, e, 200, json, len, &oe);
}

static int oh_patch(struct request *req, struct response *res)
{
    struct tally_ctx *ctx;
    struct opp_actor who;
    struct opp_error oe = {0};
    int64_t id;
    struct json_object *body = NULL;
    char *json = NULL;
    size_t len = 0;
    enum err e = oh_one(req, &ctx, &who, &id);
    if (e == ERR_NONE && (e = oh_body(req, &body)) == ERR_NONE)
        e = opportunities_patch(ctx, &who, id, body, &json, &len, &oe);
    json_object_put(body);
    return oh_answer(req, res, e, 200, json, len, &oe);
}

static int oh_delete(struct request *req, struct response *res)
{
    struct tally_ctx *ctx;
    struct opp_actor who;
    struct opp_error oe = {0};
    int64_t id;
    enum err e = oh_one(req, &ctx, &who, &id);
    if (e == ERR_NONE)
        e = opportunities_delete(ctx, &who, id, &oe);
    if (e == ERR_NONE) {
        response_body(res, 204, "application/json", "", 0);
        return ERR_NONE;
    }
    return oh_answer(req, res, e, 204, NULL, 0, &oe);
}

static const char *oh_nonempty(const struct request *req, const char *name)
{
    const char *v = request_query(req, name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

static int oh_list(struct request *req, struct response *res)
{
    struct tally_ctx *ctx;
    struct opp_actor who;
    struct opp_error oe = {0};
    struct opp_list_query lq = {0};
    enum err e = oh_target_user(req, true, &lq.user_id);
    if (e != ERR_NONE)
        return e;
    lq.tier = oh_nonempty(req, "tier");
    lq.status = oh_nonempty(req, "status");
    lq.min_score = oh_nonempty(req, "min_score");
    lq.q = oh_nonempty(req, "q");
    lq.sort = oh_nonempty(req, "sort");
    lq.limit = request_query(req, "limit");
    lq.cursor = oh_nonempty(req, "cursor");
    oh_ctx(req, &ctx, &who);
    char *json = NULL;
    size_t len = 0;
    e = opportunities_list(ctx, &lq, &json, &len, &oe);
    return oh_answer(req, res, e, 200, json, len, &oe);
}

/* GET answers about one target user (or all): stats and preferences. */
typedef enum err (*oh_user_read_fn)(struct tally_ctx *ctx, int64_t user_id, char **json, size_t *len);

static int oh_user_read(struct request *req, struct response *res, bool allow_all, oh_user_read_fn fn)
{
    struct tally_ctx *ctx;
    struct opp_actor who;
    struct opp_error oe = {0};
    int64_t user_id;
    enum err e = oh_target_user(req, allow_all, &user_id);
    if (e != ERR_NONE)
        return e;
    oh_ctx(req, &ctx, &who);
    char *json = NULL;
    size_t len = 0;
    e = fn(ctx, user_id, &json, &len);
    return oh_answer(req, res, e, 200, json, len, &oe);
}

static int oh_stats(struct request *req, struct response *res)
{
    return oh_user_read(req, res, true, opportunities_stats);
}

static int oh_prefs_get(struct request *req, struct response *res)
{
    return oh_user_read(req, res, false, opportunities_prefs_get);
}

static int oh_prefs_put(struct request *req, struct response *res)
{
    struct tally_ctx *ctx;
    struct opp_actor who;
    struct opp_error oe = {0};
    int64_t user_id;
    struct json_object *body;
    enum err e = oh_target_user(req, false, &user_id);
    if (e != ERR_NONE || (e = oh_body(req, &body)) != ERR_NONE)
        return e;
    oh_ctx(req, &ctx, &who);
    char *json = NULL;
    size_t len = 0;
    e = opportunities_prefs_put(ctx, user_id, body, &json, &len, &oe);
    json_object_put(body);
    return oh_answer(req, res, e, 200, json, len, &oe);
}

/* Literal paths before /{opportunity_id}: the router takes the first match. */
const struct route opportunities_routes[OPPORTUNITIES_ROUTE_COUNT] = {
    {"GET", "/api/v1/opportunities/stats", oh_stats, ROUTE_USER},
    {"GET", "/api/v1/opportunities/preferences", oh_prefs_get, ROUTE_USER},
    {"PUT", "/api/v1/opportunities/preferences", oh_prefs_put, ROUTE_USER},
    {"POST", "/api/v1/opportunities", oh_create, ROUTE_USER},
    {"GET", "/api/v1/opportunities", oh_list, ROUTE_USER},
    {"GET", "/api/v1/opportunities/{opportunity_id}", oh_get, ROUTE_USER},
    {"PATCH", "/api/v1/opportunities/{opportunity_id}", oh_patch, ROUTE_USER},
    {"DELETE", "/api/v1/opportunities/{opportunity_id}", oh_delete, ROUTE_USER},
    {"GET", "/admin/opportunities", opportunities_admin_page_list, ROUTE_PUBLIC},
    {"GET", "/admin/opportunities/{id}", opportunities_admin_page_one, ROUTE_PUBLIC},
};
const size_t opportunities_route_count = sizeof(opportunities_routes) / sizeof(opportunities_routes[0]);
