/* opportunities_admin: see opportunities_admin.h. */
#include "opportunities_admin.h"
#include "opportunities.h"
#include "../admin/admin_page.h"
#include "../core/module.h"
#include "../core/request.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct json_object *oa_parse(enum err got, char *text, enum err *e)
{
    struct json_object *o = got == ERR_NONE ? json_tokener_parse(text) : NULL;
    free(text);
    if (o == NULL && *e == ERR_NONE)
        *e = got != ERR_NONE ? got : ERR_INTERNAL;
    return o;
}

static struct json_object *oa_str(struct json_object *o, const char *key)
{
    return json_object_get(json_object_object_get(o, key));
}

/* Select options with the chosen one marked. */
static struct json_object *oa_options(const char *const *values, const char *chosen)
{
    struct json_object *a = json_object_new_array();
    for (int i = 0; values[i] != NULL; i++) {
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "value", json_object_new_string(values[i]));
        if (chosen != NULL && strcmp(chosen, values[i]) == 0)
            json_object_object_add(o, "selected", json_object_new_boolean(1));
        json_object_array_add(a, o);
    }
    return a;
}

/* One table row: every cell as text (mustache treats 0 as a value, null as none). */
static struct json_object *oa_row(struct json_object *item)
{
    struct json_object *r = json_object_new_object();
    static const char *const keys[] = {"id", "user_id", "title", "company", "status", "source", "created_at"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        json_object_object_add(r, keys[i], oa_str(item, keys[i]));
    struct json_object *score = json_object_object_get(item, "score");
    char text[16] = "–";
    if (score != NULL)
        snprintf(text, sizeof(text), "%d", json_object_get_int(score));
    json_object_object_add(r, "score_text", json_object_new_string(text));
    struct json_object *tier = json_object_object_get(item, "tier");
    json_object_object_add(r, "tier_text", json_object_new_string(tier ? json_object_get_string(tier) : "unscored"));
    return r;
}

struct json_object *opportunities_admin_list(struct tally_ctx *ctx, const char *tier, const char *status,
                                             const char *cursor, struct json_object **chart, enum err *e)
{
    static const char *const tiers[] = {"A", "B", "C", NULL};
    static const char *const statuses[] = {"new", "contacted", "interviewing", "offer", "rejected", "archived", NULL};
    struct json_object *d = json_object_new_object();
    *chart = NULL;
    json_object_object_add(d, "tiers", oa_options(tiers, tier));
    json_object_object_add(d, "statuses", oa_options(statuses, status));

    char *text = NULL;
    size_t len;
    enum err se = opportunities_stats(ctx, 0, &text, &len);
    struct json_object *stats = oa_parse(se, text, e);
    if (stats != NULL) {
        struct json_object *by_tier = json_object_object_get(stats, "by_tier");
        struct json_object *hist = json_object_object_get(stats, "score_histogram");
        struct json_object *ch = json_object_new_object(), *tl = json_object_new_array(), *tv = json_object_new_array();
        struct json_object *hl = json_object_new_array(), *hv = json_object_new_array();
        struct json_object *tier_rows = json_object_new_array();
        static const char *const tier_keys[] = {"A", "B", "C", "unscored"};
        for (int i = 0; i < 4; i++) {
            struct json_object *row = json_object_new_object();
            json_object_object_add(row, "tier", json_object_new_string(tier_keys[i]));
            json_object_object_add(row, "count", oa_str(by_tier, tier_keys[i]));
            json_object_array_add(tier_rows, row);
            json_object_array_add(tl, json_object_new_string(tier_keys[i]));
            json_object_array_add(tv, oa_str(by_tier, tier_keys[i]));
        }
        for (size_t b = 0; b < json_object_array_length(hist); b++) {
            struct json_object *bucket = json_object_array_get_idx(hist, b);
            char label[16];
            int from = json_object_get_int(json_object_object_get(bucket, "from"));
            snprintf(label, sizeof(label), "%d–%d", from, b + 1 == json_object_array_length(hist) ? 100 : from + 9);
            json_object_array_add(hl, json_object_new_string(label));
            json_object_array_add(hv, oa_str(bucket, "count"));
        }
        struct json_object *t = json_object_new_object(), *h = json_object_new_object();
        json_object_object_add(t, "labels", tl);
        json_object_object_add(t, "values", tv);
        json_object_object_add(h, "labels", hl);
        json_object_object_add(h, "values", hv);
        json_object_object_add(ch, "opp_tiers", t);
        json_object_object_add(ch, "opp_hist", h);
        *chart = ch;
        json_object_object_add(d, "total", oa_str(stats, "total"));
        json_object_object_add(d, "tier_counts", tier_rows);
        json_object_put(stats);
    }

    struct opp_list_query lq = {.tier = tier, .status = status, .cursor = cursor, .sort = "-created"};
    char limit[16];
    snprintf(limit, sizeof(limit), "%d", OPP_ADMIN_PAGE_ROWS);
    lq.limit = limit;
    struct opp_error oe = {0};
    text = NULL;
    enum err le = opportunities_list(ctx, &lq, &text, &len, &oe);
    if (le != ERR_NONE && oe.message[0] != '\0') {
        free(text);
        json_object_object_add(d, "filter_error", json_object_new_string(oe.message));
        return d;
    }
    struct json_object *page = oa_parse(le, text, e);
    struct json_object *rows = json_object_new_array();
    struct json_object *items = page ? json_object_object_get(page, "items") : NULL;
    for (size_t i = 0; items != NULL && i < json_object_array_length(items); i++)
        json_object_array_add(rows, oa_row(json_object_array_get_idx(items, i)));
    json_object_object_add(d, "rows", rows);
    json_object_object_add(d, "empty", json_object_new_boolean(json_object_array_length(rows) == 0));
    struct json_object *next = page ? json_object_object_get(page, "next_cursor") : NULL;
    if (next != NULL) {
        char q[160];
        snprintf(q, sizeof(q), "tier=%s&status=%s&cursor=%s", tier ? tier : "", status ? status : "",
                 json_object_get_string(next));
        json_object_object_add(d, "next_query", json_object_new_string(q));
    }
    json_object_put(page);
    return d;
}

struct json_object *opportunities_admin_one(struct tally_ctx *ctx, int64_t id, enum err *e)
{
    struct opp_actor admin = {.admin = true};
    struct opp_error oe = {0};
    char *text = NULL;
    size_t len;
    enum err ge = opportunities_get(ctx, &admin, id, &text, &len, &oe);
    struct json_object *o = oa_parse(ge, text, e);
    if (o == NULL)
        return NULL;
    struct json_object *d = oa_row(o);
    json_object_object_add(d, "opp_title", oa_str(o, "title"));   /* "title" is the page's */
    static const char *const more[] = {"recruiter", "recruiter_email", "location", "message", "currency",
                                       "updated_at", "scored_at"};
    for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++)
        json_object_object_add(d, more[i], oa_str(o, more[i]));
    struct json_object *remote = json_object_object_get(o, "remote");
    json_object_object_add(d, "remote_text",
                           json_object_new_string(remote == NULL ? "not stated" : json_object_get_boolean(remote) ? "yes" : "no"));
    char salary[64] = "";
    struct json_object *lo = json_object_object_get(o, "salary_min"), *hi = json_object_object_get(o, "salary_max");
    if (lo != NULL || hi != NULL)
        snprintf(salary, sizeof(salary), "%s – %s", lo ? json_object_get_string(lo) : "…", hi ? json_object_get_string(hi) : "…");
    json_object_object_add(d, "salary_text", json_object_new_string(salary));
    struct json_object *details = json_object_object_get(o, "score_details");
    struct json_object *rules = json_object_new_array();
    struct json_object *list = details ? json_object_object_get(details, "rules") : NULL;
    for (size_t i = 0; list != NULL && i < json_object_array_length(list); i++) {
        struct json_object *r = json_object_array_get_idx(list, i), *row = json_object_new_object();
        char pts[16];
        snprintf(pts, sizeof(pts), "%+d", json_object_get_int(json_object_object_get(r, "points")));
        json_object_object_add(row, "rule", oa_str(r, "rule"));
        json_object_object_add(row, "points", json_object_new_string(pts));
        json_object_object_add(row, "detail", oa_str(r, "detail"));
        json_object_array_add(rules, row);
    }
    json_object_object_add(d, "has_rules", json_object_new_boolean(json_object_array_length(rules) > 0));
    json_object_object_add(d, "rules", rules);
    if (details != NULL)
        json_object_object_add(d, "raw", oa_str(details, "raw"));
    json_object_put(o);
    return d;
}

/* ---- the pages (the dashboard frame of app/admin/admin_page.h) ---- */

/* The opportunities pages: data from app/opportunities/opportunities_admin.c. */
static const char *opportunities_admin_query(struct request *req, const char *name)
{
    const char *v = request_query(req, name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

int opportunities_admin_page_list(struct request *req, struct response *res)
{
    struct admin_session s;
    if (!admin_page_session(req, res, &s))
        return ERR_NONE;
    enum err e = ERR_NONE;
    struct json_object *chart = NULL;
    struct json_object *d = opportunities_admin_list(req->ctx, opportunities_admin_query(req, "tier"),
                                                     opportunities_admin_query(req, "status"),
                                                     opportunities_admin_query(req, "cursor"), &chart, &e);
    if (e != ERR_NONE)
        admin_page_add(d, "db_error", json_object_new_boolean(1));
    return admin_page_render(req, res, &s, "opportunities", "Opportunities", d, chart);
}

int opportunities_admin_page_one(struct request *req, struct response *res)
{
    struct admin_session s;
    if (!admin_page_session(req, res, &s))
        return ERR_NONE;
    int64_t id;
    if (request_path_id(req, "id", &id) != ERR_NONE)
        return admin_auth_error_page(req, res, 400, "The opportunity id must be a positive integer.");
    enum err e = ERR_NONE;
    struct json_object *d = opportunities_admin_one(req->ctx, id, &e);
    if (d == NULL)
        return admin_auth_error_page(req, res, e == ERR_NOT_FOUND ? 404 : 503,
                                     e == ERR_NOT_FOUND ? "No such opportunity." : "The database is unavailable.");
    return admin_page_render(req, res, &s, "opportunity", "Opportunity", d, NULL);
}
