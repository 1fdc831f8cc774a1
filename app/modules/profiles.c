/* profiles: see profiles.h. Every write is one upsert statement (the row is
 * created by whichever write comes first), followed by raising the user's
 * memcached generation (cachegen_sync_user). */
#define _GNU_SOURCE
#include "profiles.h"
#include "../core/module.h"
#include "../cache/cache.h"
#include "../cache/cachegen.h"
#include "../core/jsonx.h"
#include "../core/log.h"
#include "../core/parse.h"
#include "../core/request.h"
#include "../core/response.h"
#include "../core/text.h"
#include "../store/db.h"
#include "../store/db_json.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROFILES_USER_EXISTS "EXISTS (SELECT 1 FROM users WHERE id = $1::bigint)"

static size_t profiles_key(char out[32], int64_t user_id)
{
    return (size_t)snprintf(out, 32, "%" PRId64, user_id);
}

void profiles_invalidate(struct tally_ctx *ctx, int64_t user_id)
{
    cachegen_sync_user(ctx->db, ctx->cache, user_id);   /* the write's trigger moved the generation */
}

/* An id or intent name: 1..PROFILES_ID_BYTES bytes of UTF-8 without control characters. */
static bool profiles_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > PROFILES_ID_BYTES || !text_is_utf8(s, n))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

/* ---- writes -------------------------------------------------------------- */

static const char PROFILES_QUERY_SQL[] =
    "INSERT INTO user_profiles (user_id, query_frequency, frequent_query_patterns, total_queries, last_active)"
    " SELECT $1::bigint, jsonb_build_object($2::text, 1),"
    " CASE WHEN 1 >= $3::int THEN jsonb_build_array($2::text) ELSE '[]'::jsonb END, 1, now() WHERE " PROFILES_USER_EXISTS
    " ON CONFLICT (user_id) DO UPDATE SET"
    " query_frequency = user_profiles.query_frequency || jsonb_build_object($2::text,"
    "   coalesce((user_profiles.query_frequency->>$2::text)::bigint, 0) + 1),"
    " frequent_query_patterns = CASE WHEN coalesce((user_profiles.query_frequency->>$2::text)::bigint, 0) + 1 >= $3::int"
    "   AND NOT user_profiles.frequent_query_patterns ? $2::text"
    "   THEN user_profiles.frequent_query_patterns || jsonb_build_array($2::text)"
    "   ELSE user_profiles.frequent_query_patterns END,"
    " total_queries = user_profiles.total_queries + 1, last_active = now(), updated_at = now()";

static const char PROFILES_QUERY_NO_INTENT_SQL[] =
    "INSERT INTO user_profiles (user_id, total_queries, last_active) SELECT $1::bigint, 1, now() WHERE " PROFILES_USER_EXISTS
    " ON CONFLICT (user_id) DO UPDATE SET total_queries = user_profiles.total_queries + 1, last_active = now(),"
    " updated_at = now()";

int profiles_record_query(struct tally_ctx *ctx, int64_t user_id, const char *intent_name)
{
    char uid[24], threshold[16];
    db_param_i64(uid, user_id);
    snprintf(threshold, sizeof(threshold), "%d", PROFILES_PATTERN_THRESHOLD);
    bool with_intent = intent_name != NULL && intent_name[0] != '\0';
    if (with_intent && !profiles_name_ok(intent_name)) {
        log_warn("profiles: user %" PRId64 ": intent name refused", user_id);
        return -1;
    }
    const char *params[3] = {uid, intent_name, threshold};
    enum err e = with_intent ? db_exec(ctx->db, 0, PROFILES_QUERY_SQL, 3, params)
                             : db_exec(ctx->db, 0, PROFILES_QUERY_NO_INTENT_SQL, 1, params);
    profiles_invalidate(ctx, user_id);
    if (e != ERR_NONE) {
        log_warn("profiles: recording a query of user %" PRId64 " failed (%s)", user_id, err_lookup(e)->code);
        return -1;
    }
    return 0;
}

/* ---- read ---------------------------------------------------------------- */

static const char PROFILES_GET_SQL[] =
    "WITH ins AS (INSERT INTO user_profiles (user_id) SELECT $1::bigint WHERE " PROFILES_USER_EXISTS
    "   ON CONFLICT (user_id) DO NOTHING RETURNING *),"
    " p AS (SELECT * FROM ins UNION ALL SELECT * FROM user_profiles WHERE user_id = $1::bigint)"
    " SELECT p.preferred_categories::text, p.preferred_merchants::text, p.notification_preference,"
    " p.frequent_query_patterns::text, p.query_frequency::text, p.accepted_recommendations::text,"
    " p.dismissed_recommendations::text, p.total_queries, p.total_sessions,"
    " CASE WHEN p.total_sessions > 0 THEN round(p.session_seconds_sum / p.total_sessions, 3) ELSE 0 END,"
    " CASE WHEN p.total_sessions > 0 THEN round(p.session_queries_sum::numeric / p.total_sessions, 3) ELSE 0 END,"
    " " DB_SQL_TIMESTAMP("p.last_active") ", u.currency, u.language,"
    " coalesce((SELECT profile_generation FROM metric_generations WHERE user_id = $1::bigint), 0)"
    " FROM p JOIN users u ON u.id = p.user_id LIMIT 1";

/* Spending per category ('c') and merchant ('m'), and the number of months
 * with any transaction ('n'). */
static const char PROFILES_SPENDING_SQL[] =
    "SELECT 'c', coalesce(min(category), 'Uncategorized'), sum(-amount_cents) FROM transactions"
    "  WHERE user_id = $1::bigint AND amount_cents < 0 GROUP BY category_key"
    " UNION ALL SELECT 'm', min(merchant), sum(-amount_cents) FROM transactions"
    "  WHERE user_id = $1::bigint AND amount_cents < 0 AND merchant_key IS NOT NULL AND merchant_key <> ''"
    "  GROUP BY merchant_key"
    " UNION ALL SELECT 'n', '', count(DISTINCT date_trunc('month', date))::bigint FROM transactions"
    "  WHERE user_id = $1::bigint"
    " ORDER BY 1, 3 DESC, 2";

static struct json_object *profiles_parse(const char *text, enum json_type want)
{
    struct json_object *o = json_tokener_parse(text);
    if (o == NULL || !json_object_is_type(o, want)) {
        json_object_put(o);
        o = want == json_type_array ? json_object_new_array() : json_object_new_object();
    }
    return o;
}

/* *gen: the profile generation in the snapshot of the first query. */
static enum err profiles_render(struct tally_ctx *ctx, int64_t user_id, char **json, size_t *len, uint64_t *gen)
{
    char uid[24];
    db_param_i64(uid, user_id);
    const char *params[1] = {uid};
    enum err e;
    db_result *r = db_query(ctx->db, &e, DB_RETRY_ON_RECONNECT, PROFILES_GET_SQL, 1, params);
    if (r == NULL)
        return e;
    if (db_rows(r) == 0) {
        db_clear(r);
        return ERR_NOT_FOUND;
    }
    *gen = (uint64_t)db_int64(r, 0, 14);
    db_result *sp = db_query(ctx->db, &e, DB_RETRY_ON_RECONNECT, PROFILES_SPENDING_SQL, 1, params);
    if (sp == NULL) {
        db_clear(r);
        return e;
    }
    int64_t months = 0;
    for (int i = 0; i < db_rows(sp); i++)
        if (db_value(sp, i, 0)[0] == 'n')
            months = db_int64(sp, i, 2);
    struct json_object *avg = json_object_new_object();
    struct json_object *top_cats = json_object_new_array(), *top_merchants = json_object_new_array();
    for (int i = 0; i < db_rows(sp); i++) {
        char kind = db_value(sp, i, 0)[0];
        const char *name = db_value(sp, i, 1);
        if (kind == 'c') {
            json_object_object_add(avg, name,   /* a numeric sum: exact, never "bigint out of range" */
                                   jsonx_money_wide(parse_round_div_wide(parse_wide(db_value(sp, i, 2)), months)));
            if (json_object_array_length(top_cats) < PROFILES_TOP_PREFERRED)
                json_object_array_add(top_cats, json_object_new_string(name));
        } else if (kind == 'm' && json_object_array_length(top_merchants) < PROFILES_TOP_PREFERRED) {
            json_object_array_add(top_merchants, json_object_new_string(name));
        }
    }
    db_clear(sp);

    struct json_object *pref_cats = profiles_parse(db_value(r, 0, 0), json_type_array);
    struct json_object *pref_merchants = profiles_parse(db_value(r, 0, 1), json_type_array);
    if (json_object_array_length(pref_cats) == 0) {
        json_object_put(pref_cats);
        pref_cats = json_object_get(top_cats);
    }
    if (json_object_array_length(pref_merchants) == 0) {
        json_object_put(pref_merchants);
        pref_merchants = json_object_get(top_merchants);
    }
    json_object_put(top_cats);
    json_object_put(top_merchants);
    struct json_object *patterns = profiles_parse(db_value(r, 0, 3), json_type_array);
    struct json_object *accepted = profiles_parse(db_value(r, 0, 5), json_type_array);
    struct json_object *dismissed = profiles_parse(db_value(r, 0, 6), json_type_array);
    int64_t total_queries = db_int64(r, 0, 7), total_sessions = db_int64(r, 0, 8);

    /* Completeness: 7 signals of equal weight (docs/profiles-metrics.md). */
    int signals = (total_queries > 0) + (json_object_array_length(patterns) > 0) + (total_sessions > 0) +
                  (total_sessions >= 3) +
                  (json_object_array_length(accepted) + json_object_array_length(dismissed) > 0) +
                  (json_object_object_length(avg) > 0) + (json_object_array_length(pref_merchants) > 0);
    char completeness[16];
    snprintf(completeness, sizeof(completeness), "%.2f", signals / 7.0);

    struct json_object *root = json_object_new_object();
    struct json_object *prefs = json_object_new_object(), *habits = json_object_new_object();
    struct json_object *inter = json_object_new_object(), *stats = json_object_new_object();
    json_object_object_add(root, "user_id", json_object_new_int64(user_id));
    json_object_object_add(prefs, "preferred_categories", pref_cats);
    json_object_object_add(prefs, "preferred_merchants", pref_merchants);
    static const struct db_json_column prefs_json[] = {
        {"currency", 12, DB_JSON_TEXT, NULL},
        {"language", 13, DB_JSON_TEXT, NULL},
        {"notification_preference", 2, DB_JSON_TEXT_OR_NULL, NULL},
    };
    db_json_row_into(prefs, r, 0, prefs_json, DB_JSON_COUNT(prefs_json));
    json_object_object_add(habits, "frequent_query_patterns", patterns);
    json_object_object_add(habits, "query_frequency", profiles_parse(db_value(r, 0, 4), json_type_object));
    json_object_object_add(habits, "average_spending_by_category", avg);
    json_object_object_add(inter, "accepted_recommendations", accepted);
    json_object_object_add(inter, "dismissed_recommendations", dismissed);
    static const struct db_json_column stats_json[] = {
        {"total_queries", 7, DB_JSON_INT64, NULL},
        {"total_sessions", 8, DB_JSON_INT64, NULL},
        {"avg_session_duration_s", 9, DB_JSON_NUMBER, NULL},
        {"avg_queries_per_session", 10, DB_JSON_NUMBER, NULL},
    };
    db_json_row_into(stats, r, 0, stats_json, DB_JSON_COUNT(stats_json));
    json_object_object_add(stats, "profile_completeness", json_object_new_double_s(signals / 7.0, completeness));
    json_object_object_add(stats, "last_active", db_json_value(r, 0, 11, DB_JSON_TIMESTAMP));
    json_object_object_add(root, "preferences", prefs);
    json_object_object_add(root, "habits", habits);
    json_object_object_add(root, "interactions", inter);
    json_object_object_add(root, "stats", stats);
    db_clear(r);
    size_t n;
    const char *text = json_object_to_json_string_length(root, JSON_C_TO_STRING_PLAIN, &n);
    *json = strndup(text, n);
    *len = n;
    json_object_put(root);
    return *json ? ERR_NONE : ERR_INTERNAL;
}

enum err profiles_get_json(struct tally_ctx *ctx, int64_t user_id, char **json, size_t *len)
{
    char key[32];
    size_t klen = profiles_key(key, user_id);
    *json = NULL;
    uint64_t token = 0, gen = 0;
    int cached = cachegen_trusted(ctx->db, ctx->cache, "profiles", user_id)
                     ? cachegen_lookup(ctx->cache, "profiles", user_id, key, klen, &token, json, len)
                     : -1;
    if (cached == 1)
        return ERR_NONE;
    enum err e = profiles_render(ctx, user_id, json, len, &gen);
    if (e == ERR_NONE && cached == 0)
        cachegen_put(ctx->cache, "profiles", user_id, key, klen, gen, token, *json, *len, PROFILES_CACHE_TTL_S);
    return e;
}

/* ---- HTTP ---------------------------------------------------------------- */

static int profiles_answer(struct request *req, struct response *res, int64_t user_id)
{
    char *json;
    size_t len;
    enum err e = profiles_get_json(req->ctx, user_id, &json, &len);
    if (e == ERR_NOT_FOUND)
        return request_fail(req, e, "id", "user %" PRId64 " not found", user_id);
    if (e != ERR_NONE)
        return e;
    response_body_owned(res, 200, "application/json", json, len);
    return ERR_NONE;
}

static int profiles_get(struct request *req, struct response *res)
{
    int64_t user_id;
    enum err e = request_path_id(req, "id", &user_id);
    if (e != ERR_NONE)
        return e;
    return profiles_answer(req, res, user_id);
}

/* The path's user id and a JSON object body; ERR_* with the error set. */
static enum err profiles_body(struct request *req, int64_t *user_id, struct json_object **body)
{
    enum err e = request_path_id(req, "id", user_id);
    if (e == ERR_NONE)
        e = jsonx_body_of(req, json_type_object, body);
    return e;
}

/* Runs a write returning a row when the user exists; then answers the profile. */
static int profiles_write(struct request *req, struct response *res, int64_t user_id, const char *sql, int nparams,
                    const char *const *params)
{
    enum err e;
    db_result *r = db_query(req->ctx->db, &e, 0, sql, nparams, params);
    if (r == NULL)
        return e;
    int rows = db_rows(r);
    db_clear(r);
    profiles_invalidate(req->ctx, user_id);
    if (rows == 0)
        return request_fail(req, ERR_NOT_FOUND, "id", "user %" PRId64 " not found", user_id);
    return profiles_answer(req, res, user_id);
}

static const char PROFILES_SESSION_SQL[] =
    "INSERT INTO user_profiles (user_id, total_sessions, session_seconds_sum, session_queries_sum, last_active)"
    " SELECT $1::bigint, 1, $2::numeric, $3::bigint, now() WHERE " PROFILES_USER_EXISTS
    " ON CONFLICT (user_id) DO UPDATE SET total_sessions = user_profiles.total_sessions + 1,"
    " session_seconds_sum = user_profiles.session_seconds_sum + EXCLUDED.session_seconds_sum,"
    " session_queries_sum = user_profiles.session_queries_sum + EXCLUDED.session_queries_sum,"
    " last_active = now(), updated_at = now() RETURNING 1";

static int profiles_session(struct request *req, struct response *res)
{
    int64_t user_id;
    struct json_object *body = NULL;
    enum err e = profiles_body(req, &user_id, &body);
    if (e != ERR_NONE)
        return e;
    int rc;
    struct json_object *d = NULL, *q = NULL;
    json_object_object_get_ex(body, "duration_s", &d);
    json_object_object_get_ex(body, "queries", &q);
    double duration = d ? json_object_get_double(d) : -1;
    if (d == NULL || !(json_object_is_type(d, json_type_int) || json_object_is_type(d, json_type_double)) ||
        !isfinite(duration) || duration < 0 || duration > PROFILES_MAX_SESSION_S) {
        rc = request_fail(req, ERR_UNPROCESSABLE, "duration_s", "duration_s must be a number of seconds in [0, %d]",
                          PROFILES_MAX_SESSION_S);
        goto out;
    }
    int64_t queries = q && json_object_is_type(q, json_type_int) ? json_object_get_int64(q) : -1;
    if (queries < 0 || queries > PROFILES_MAX_SESSION_QUERIES) {
        rc = request_fail(req, ERR_UNPROCESSABLE, "queries", "queries must be an integer in [0, %d]",
                          PROFILES_MAX_SESSION_QUERIES);
        goto out;
    }
    char uid[24], dur[32], qs[24];
    db_param_i64(uid, user_id);
    snprintf(dur, sizeof(dur), "%.3f", duration);
    db_param_i64(qs, queries);
    const char *params[3] = {uid, dur, qs};
    rc = profiles_write(req, res, user_id, PROFILES_SESSION_SQL, 3, params);
out:
    json_object_put(body);
    return rc;
}

/* Idempotent per recommendation id: the id ends up in exactly the list of
 * the last action given for it. */
static const char PROFILES_FEEDBACK_SQL[] =
    "INSERT INTO user_profiles (user_id, accepted_recommendations, dismissed_recommendations, last_active)"
    " SELECT $1::bigint,"
    " CASE WHEN $3 = 'accepted' THEN jsonb_build_array($2::text) ELSE '[]'::jsonb END,"
    " CASE WHEN $3 = 'dismissed' THEN jsonb_build_array($2::text) ELSE '[]'::jsonb END, now()"
    " WHERE " PROFILES_USER_EXISTS
    " ON CONFLICT (user_id) DO UPDATE SET"
    " accepted_recommendations = CASE WHEN $3 <> 'accepted' THEN user_profiles.accepted_recommendations - $2::text"
    "   WHEN user_profiles.accepted_recommendations ? $2::text THEN user_profiles.accepted_recommendations"
    "   ELSE user_profiles.accepted_recommendations || jsonb_build_array($2::text) END,"
    " dismissed_recommendations = CASE WHEN $3 <> 'dismissed' THEN user_profiles.dismissed_recommendations - $2::text"
    "   WHEN user_profiles.dismissed_recommendations ? $2::text THEN user_profiles.dismissed_recommendations"
    "   ELSE user_profiles.dismissed_recommendations || jsonb_build_array($2::text) END,"
    " last_active = now(), updated_at = now() RETURNING 1";

static int profiles_feedback(struct request *req, struct response *res)
{
    int64_t user_id;
    struct json_object *body = NULL;
    enum err e = profiles_body(req, &user_id, &body);
    if (e != ERR_NONE)
        return e;
    int rc;
    bool wrong = false;
    const char *rid = jsonx_get_string(body, "recommendation_id", &wrong);
    if (rid == NULL || !profiles_name_ok(rid)) {
        rc = request_fail(req, ERR_UNPROCESSABLE, "recommendation_id",
                          "recommendation_id must be a string of 1 to %d bytes", PROFILES_ID_BYTES);
        goto out;
    }
    const char *action = jsonx_get_string(body, "action", &wrong);
    if (action == NULL || (strcmp(action, "accepted") != 0 && strcmp(action, "dismissed") != 0)) {
        rc = request_fail(req, ERR_UNPROCESSABLE, "action", "action must be \"accepted\" or \"dismissed\"");
        goto out;
    }
    char uid[24];
    db_param_i64(uid, user_id);
    const char *params[3] = {uid, rid, action};
    rc = profiles_write(req, res, user_id, PROFILES_FEEDBACK_SQL, 3, params);
out:
    json_object_put(body);
    return rc;
}

/* Transactions changed: nothing here. The insert trigger already moved
 * the user's profile generation, and precompute's subscriber raises the
 * user's memcached tokens, profiles' included, in the same
 * cachegen_sync_user (one SELECT per write, not one per subscriber). */
static void profiles_on_event(struct tally_ctx *ctx, const struct tally_event *ev)
{
    if (ev->kind == TALLY_EVENT_PROFILE_CHANGED)
        profiles_invalidate(ctx, ev->user_id);
}

static const char *const profiles_cache_namespaces[] = {"profiles", NULL};

static const struct route profiles_routes[] = {
    {"GET", "/api/v1/users/{id}/profile", profiles_get, ROUTE_USER},
    {"POST", "/api/v1/users/{id}/profile/feedback", profiles_feedback, ROUTE_USER},
    {"POST", "/api/v1/users/{id}/sessions", profiles_session, ROUTE_USER},
};

const struct tally_module profiles_module = {
    .name = "profiles",
    .routes = profiles_routes,
    .route_count = sizeof(profiles_routes) / sizeof(profiles_routes[0]),
    .cache_namespaces = profiles_cache_namespaces,
    .on_event = profiles_on_event,
};
