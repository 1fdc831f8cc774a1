/* admin_users: the users list (search, keyset pages, total) and one
 * user's page (the profile and this month's metrics read through the API's
 * read path, with the layer that answered; the last transactions). */
#define _GNU_SOURCE
#include "admin_internal.h"
#include "../modules/precompute.h"
#include "../modules/profiles.h"
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

/* Users whose name holds $1 (literally: LIKE wildcards escaped) or whose id is $1; '' = all. */
#define ADMIN_USERS_FILTER                                                                                \
    "($1 = '' OR u.name ILIKE '%' || replace(replace(replace($1, '\\', '\\\\'), '%', '\\%'), '_', '\\_') "  \
    "|| '%' OR u.id::text = $1)"


int admin_users_page(struct request *req, struct response *res)
{
    struct admin_session s;
    if (!admin_page_session(req, res, &s))
        return ERR_NONE;
    const char *q = request_query(req, "q");
    const char *after = request_query(req, "after");
    char after_buf[24] = "0", limit[16];
    if (after != NULL)
        snprintf(after_buf, sizeof(after_buf), "%lld", strtoll(after, NULL, 10));
    snprintf(limit, sizeof(limit), "%d", ADMIN_USERS_PAGE + 1);
    const char *params[] = {q ? q : "", after_buf, limit};
    enum err e = ERR_NONE;
    struct json_object *users = admin_page_query_json(
        req, &e,
        "SELECT coalesce(json_agg(t ORDER BY t.id), '[]') FROM (SELECT u.id, u.name, u.currency, u.language, "
        ADMIN_PAGE_TS("u.created_at") " AS created, (SELECT count(*) FROM transactions x WHERE x.user_id = u.id) "
        "AS transactions FROM users u WHERE u.id > $2::bigint AND " ADMIN_USERS_FILTER " "
        "ORDER BY u.id LIMIT $3::int) t",
        3, params);
    struct json_object *total = admin_page_query_json(
        req, &e,
        "SELECT to_json(count(*)) FROM users u WHERE " ADMIN_USERS_FILTER,
        1, params);
    struct json_object *d = json_object_new_object();
    admin_page_add(d, "total", total);
    admin_page_add(d, "filtered", json_object_new_boolean(q != NULL && q[0] != '\0'));
    if (users == NULL) {
        users = json_object_new_array();
        admin_page_add(d, "db_error", json_object_new_boolean(1));
    }
    size_t n = json_object_array_length(users);
    if (n > ADMIN_USERS_PAGE) {
        json_object_array_del_idx(users, ADMIN_USERS_PAGE, n - ADMIN_USERS_PAGE);
        struct json_object *last = json_object_array_get_idx(users, ADMIN_USERS_PAGE - 1);
        admin_page_add(d, "next_after", json_object_get(json_object_object_get(last, "id")));
    }
    admin_page_add(d, "q", json_object_new_string(q ? q : ""));
    admin_page_add(d, "users", users);
    admin_page_add(d, "empty", json_object_new_boolean(json_object_array_length(users) == 0));
    return admin_page_render(req, res, &s, "users", "Users", d, NULL);
}

/* The profile as the API renders it (profiles module: cached, created if missing). */
static struct json_object *admin_users_profile(struct request *req, int64_t id, enum err *e)
{
    char *text = NULL;
    size_t len;
    enum err pe = profiles_get_json(req->ctx, id, &text, &len);
    struct json_object *p = pe == ERR_NONE ? json_tokener_parse(text) : NULL;
    free(text);
    if (pe != ERR_NONE)
        *e = pe;
    struct json_object *stats = json_object_object_get(p, "stats");
    if (stats != NULL)
        admin_page_add(stats, "last_active", admin_page_ts_of_iso(json_object_object_get(stats, "last_active")));
    struct json_object *prefs = json_object_object_get(p, "preferences");
    if (prefs != NULL) {
        admin_page_add(prefs, "preferred_categories_text", admin_page_joined(json_object_object_get(prefs, "preferred_categories")));
        admin_page_add(prefs, "preferred_merchants_text", admin_page_joined(json_object_object_get(prefs, "preferred_merchants")));
    }
    return p;
}

/* This month's four metrics through the API's read path, each with the
 * layer that answered (source: cache, store or computed). */
static struct json_object *admin_users_metrics(struct request *req, int64_t id, enum err *e)
{
    static const char *const fields[] = {"metric_type", "period", "source", "computed_at", "expires_at",
                                         "computation_time_ms"};
    int y, m, day;
    parse_today_utc(&y, &m, &day);
    struct json_object *list = json_object_new_array();
    for (int t = 0; t < PRECOMPUTE_TYPES; t++) {
        char *body = NULL;
        size_t len;
        enum err me = precompute_read(req->ctx, id, (enum precompute_type)t, y, m, &body, &len);
        struct json_object *answer = me == ERR_NONE ? json_tokener_parse(body) : NULL;
        free(body);
        if (answer == NULL) {
            *e = me != ERR_NONE ? me : ERR_INTERNAL;
            continue;
        }
        struct json_object *row = json_object_new_object();
        for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
            struct json_object *v = json_object_object_get(answer, fields[f]);
            bool ts = strcmp(fields[f], "computed_at") == 0 || strcmp(fields[f], "expires_at") == 0;
            admin_page_add(row, fields[f], ts ? admin_page_ts_of_iso(v) : json_object_get(v));
        }
        json_object_put(answer);
        json_object_array_add(list, row);
    }
    return list;
}

int admin_users_page_one(struct request *req, struct response *res)
{
    struct admin_session s;
    if (!admin_page_session(req, res, &s))
        return ERR_NONE;
    int64_t id = 0;
    if (request_path_id(req, "id", &id) != ERR_NONE)
        return admin_auth_error_page(req, res, 404, "No such user.");
    char idt[24], lim[16];
    snprintf(idt, sizeof(idt), "%lld", (long long)id);
    snprintf(lim, sizeof(lim), "%d", ADMIN_USER_TRANSACTIONS);
    const char *params[] = {idt, lim};
    enum err e = ERR_NONE;
    struct json_object *user = admin_page_query_json(
        req, &e,
        "SELECT json_build_object('id', id, 'name', name, 'currency', currency, 'language', language, "
        "'created', " ADMIN_PAGE_TS("created_at") ", 'transactions', "
        "(SELECT count(*) FROM transactions WHERE user_id = users.id)) FROM users WHERE id = $1::bigint",
        1, params);
    if (user == NULL)
        return e == ERR_NOT_FOUND ? admin_auth_error_page(req, res, 404, "No such user.")
                                  : admin_auth_error_page(req, res, 503, "The database is unavailable.");
    e = ERR_NONE;
    struct json_object *d = json_object_new_object();
    admin_page_add(d, "user", user);
    admin_page_add(d, "recent", admin_page_query_json(
        req, &e,
        "SELECT coalesce(json_agg(t ORDER BY t.date DESC, t.id DESC), '[]') FROM (SELECT id, "
        "to_char(date, 'YYYY-MM-DD') AS date, (amount_cents / 100.0)::numeric(16,2)::text AS amount, currency, "
        "merchant, category FROM transactions WHERE user_id = $1::bigint ORDER BY date DESC, id DESC "
        "LIMIT $2::int) t",
        2, params));
    admin_page_add(d, "profile", admin_users_profile(req, id, &e));
    admin_page_add(d, "metrics", admin_users_metrics(req, id, &e));
    if (e != ERR_NONE)
        admin_page_add(d, "db_error", json_object_new_boolean(1));
    return admin_page_render(req, res, &s, "user", "User", d, NULL);
}
