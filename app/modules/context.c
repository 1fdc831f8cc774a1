/* context: see context.h. */
#define _GNU_SOURCE
#include "context.h"
#include "precompute.h"
#include "profiles.h"
#include "../core/parse.h"
#include "../core/request.h"
#include "../core/response.h"
#include "../core/shm.h"
#include "../core/module.h"
#include "../store/db.h"
#include "../store/db_json.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The given conversation (if it is the user's) or the latest one, and its
 * last $3 messages in order. No row: no such conversation. */
static const char CONTEXT_HISTORY_SQL[] =
    "WITH c AS (SELECT id FROM conversations WHERE user_id = $1::bigint AND ($2::text IS NULL OR id = $2::text)"
    "  ORDER BY updated_at DESC, created_at DESC LIMIT 1)"
    " SELECT c.id, m.role, m.content, m.intent, m.id, m.entities::text FROM c LEFT JOIN LATERAL (SELECT id, role,"
    "  content, intent, entities"
    "  FROM conversation_messages WHERE conversation_id = c.id ORDER BY id DESC LIMIT $3::int) m ON true"
    " ORDER BY m.id";

/* Fills root's conversation_id and conversation_history; null history on failure. */
static void context_history(struct request *req, struct json_object *root, int64_t user_id, const char *conv_id,
                            int limit)
{
    char uid[24], lim[16];
    db_param_i64(uid, user_id);
    snprintf(lim, sizeof(lim), "%d", limit);
    const char *params[3] = {uid, conv_id, lim};
    enum err e;
    db_result *r = db_query(req->ctx->db, &e, DB_RETRY_ON_RECONNECT, CONTEXT_HISTORY_SQL, 3, params);
    if (r == NULL || db_rows(r) == 0) {
        /* no conversation yet: an empty history; an unknown id or a failure: null */
        json_object_object_add(root, "conversation_id", conv_id ? json_object_new_string(conv_id) : NULL);
        json_object_object_add(root, "conversation_history",
                               r != NULL && conv_id == NULL ? json_object_new_array() : NULL);
        db_clear(r);
        return;
    }
    static const struct db_json_column message_json[] = {
        {"content", 2, DB_JSON_TEXT, NULL},
    };
    static const struct db_json_column user_json[] = {
        {"intent", 3, DB_JSON_TEXT_OR_NULL, NULL},
        {"entities", 5, DB_JSON_JSON, NULL},   /* what the assistant understood (follow-ups reuse it) */
    };
    struct json_object *list = json_object_new_array();
    for (int i = 0; i < db_rows(r); i++) {
        if (db_is_null(r, i, 1))
            continue;
        bool user = strcmp(db_value(r, i, 1), "user") == 0;
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "type", json_object_new_string(user ? "user_message" : "assistant_response"));
        db_json_row_into(o, r, i, message_json, DB_JSON_COUNT(message_json));
        if (user)
            db_json_row_into(o, r, i, user_json, DB_JSON_COUNT(user_json));
        json_object_array_add(list, o);
    }
    json_object_object_add(root, "conversation_id", db_json_value(r, 0, 0, DB_JSON_TEXT));
    json_object_object_add(root, "conversation_history", list);
    db_clear(r);
}

static int context_get(struct request *req, struct response *res)
{
    int64_t user_id;
    enum err e = request_path_id(req, "id", &user_id);
    if (e != ERR_NONE)
        return e;
    int limit;
    e = request_limit(req, CONTEXT_HISTORY_MAX, CONTEXT_HISTORY_DEFAULT, &limit);
    if (e != ERR_NONE)
        return e;
    const char *conv_id = request_query(req, "conversation_id");
    if (conv_id != NULL && conv_id[0] == '\0')
        conv_id = NULL;
    int y, m;
    e = precompute_request_period(req, &y, &m);
    if (e != ERR_NONE)
        return e;

    struct tally_ctx *ctx = req->ctx;
    struct json_object *root = json_object_new_object();
    context_history(req, root, user_id, conv_id, (int)limit);
    json_object_object_add(root, "user_id", json_object_new_int64(user_id));

    bool unknown_user = false;
    char *text = NULL;
    size_t len;
    e = profiles_get_json(ctx, user_id, &text, &len);
    unknown_user = e == ERR_NOT_FOUND;
    json_object_object_add(root, "user_profile", e == ERR_NONE ? json_tokener_parse(text) : NULL);
    free(text);

    static const enum precompute_type types[] = {PRECOMPUTE_MONTHLY_TOTAL, PRECOMPUTE_CATEGORY_BREAKDOWN,
                                                 PRECOMPUTE_MOM_COMPARISON};
    struct json_object *metrics = json_object_new_object();
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        e = precompute_read(ctx, user_id, types[i], y, m, &text, &len);
        unknown_user = unknown_user && e == ERR_NOT_FOUND;
        json_object_object_add(metrics, precompute_type_name(types[i]), e == ERR_NONE ? json_tokener_parse(text) : NULL);
        free(text);
    }
    json_object_object_add(root, "metrics", metrics);
    if (unknown_user) {
        json_object_put(root);
        return request_fail(req, ERR_NOT_FOUND, "id", "user %" PRId64 " not found", user_id);
    }
    return response_json(res, 200, root);
}

static const struct route context_routes[] = {
    {"GET", "/api/v1/users/{id}/context", context_get, ROUTE_USER},
};

const struct tally_module context_module = {
    .name = "context",
    .routes = context_routes,
    .route_count = sizeof(context_routes) / sizeof(context_routes[0]),
};
