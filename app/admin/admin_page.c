/* admin_page: the dashboard's page frame. See admin_page.h. */
#define _GNU_SOURCE
#include "admin_page.h"
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

struct json_object *admin_page_u64(uint64_t v)
{
    return json_object_new_int64(v > INT64_MAX ? INT64_MAX : (int64_t)v);
}

/* hits / (hits + misses), or JSON null when there was no read. */
struct json_object *admin_page_ratio(uint64_t hits, uint64_t misses)
{
    return hits + misses == 0 ? NULL : json_object_new_double((double)hits / (double)(hits + misses));
}

void admin_page_pct_text(struct json_object *obj, const char *key, struct json_object *ratio)
{
    char text[32];
    if (ratio == NULL)
        snprintf(text, sizeof(text), "–");
    else
        snprintf(text, sizeof(text), "%.1f%%", json_object_get_double(ratio) * 100.0);
    admin_page_add(obj, key, json_object_new_string(text));
}

struct json_object *admin_page_ts_of_iso(struct json_object *iso)
{
    const char *t = json_object_is_type(iso, json_type_string) ? json_object_get_string(iso) : NULL;
    if (t == NULL || strlen(t) < 16 || t[10] != 'T')
        return iso != NULL ? json_object_get(iso) : NULL;
    char out[32];
    snprintf(out, sizeof(out), "%.10s %.5s UTC", t, t + 11);
    return json_object_new_string(out);
}

/* ["a", "b"] -> "a, b" (NULL when empty or not an array). */
struct json_object *admin_page_joined(struct json_object *list)
{
    size_t n = json_object_is_type(list, json_type_array) ? json_object_array_length(list) : 0;
    if (n == 0)
        return NULL;
    struct buf b;
    buf_init(&b, 4096);
    for (size_t i = 0; i < n; i++)
        buf_printf(&b, "%s%s", i ? ", " : "", json_object_get_string(json_object_array_get_idx(list, i)));
    struct json_object *o = b.overflow ? NULL : json_object_new_string(b.data != NULL ? b.data : "");
    buf_free(&b);
    return o;
}

/* Runs a query whose one row and column is JSON built by PostgreSQL
 * (json_agg / json_build_object) and parses it. NULL on failure, with the
 * error in *e (ERR_NOT_FOUND: no row); *e is never reset, so a page making
 * several queries keeps the first error. */
struct json_object *admin_page_query_json(struct request *req, enum err *e, const char *sql, int nparams,
                                            const char *const *params)
{
    enum err qe;
    db_result *r = db_query(req->ctx->db, &qe, DB_RETRY_ON_RECONNECT, sql, nparams, params);
    if (r == NULL) {
        *e = qe;
        return NULL;
    }
    struct json_object *v = NULL;
    if (db_rows(r) == 1 && !db_is_null(r, 0, 0))
        v = json_tokener_parse(db_value(r, 0, 0));
    if (v == NULL)
        *e = db_rows(r) == 0 ? ERR_NOT_FOUND : ERR_INTERNAL;
    db_clear(r);
    return v;
}

/* JSON safe inside a <script type="application/json"> element: json-c
 * escapes '/', and '<' becomes \u003c, so no "</script" or "<!--" can occur. */
static char *admin_page_script_json(struct request *req, struct json_object *v)
{
    const char *s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
    size_t n = 0;
    for (const char *p = s; *p; p++)
        n += *p == '<' ? 6 : 1;
    char *out = arena_alloc(req->arena, n + 1), *o = out;
    if (out == NULL)
        return NULL;
    for (const char *p = s; *p; p++) {
        if (*p == '<') {
            memcpy(o, "\\u003c", 6);
            o += 6;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return out;
}

/* Renders page template tpl inside the layout. Takes data. */
int admin_page_render_status(struct request *req, struct response *res, int status, const struct admin_session *s,
                             const char *tpl, const char *title, struct json_object *data, struct json_object *chart)
{
    admin_page_add(data, "title", json_object_new_string(title));
    admin_page_add(data, "username", json_object_new_string(s->username));
    admin_page_add(data, "csrf_token", json_object_new_string(s->csrf));
    admin_page_add(data, "logged_in", json_object_new_boolean(1));
    char nav[48];
    snprintf(nav, sizeof(nav), "nav_%s", tpl);
    admin_page_add(data, nav, json_object_new_boolean(1));
    if (chart != NULL) {
        char *js = admin_page_script_json(req, chart);
        json_object_put(chart);
        if (js != NULL)
            admin_page_add(data, "chart_json", json_object_new_string(js));
    }
    return admin_auth_html(req, res, status, tpl, data);
}

int admin_page_render(struct request *req, struct response *res, const struct admin_session *s, const char *tpl,
                      const char *title, struct json_object *data, struct json_object *chart)
{
    return admin_page_render_status(req, res, 200, s, tpl, title, data, chart);
}

/* Session check of a GET page: false with the response set (303 or 503). */
bool admin_page_session(struct request *req, struct response *res, struct admin_session *s)
{
    enum err e = admin_auth_session(req, s);
    if (e == ERR_NONE)
        return true;
    if (e == ERR_UNAUTHENTICATED)
        admin_auth_redirect(res, "/admin/login");
    else
        admin_auth_error_page(req, res, 503, "The database is unavailable.");
    return false;
}
