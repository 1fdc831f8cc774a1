/* datasets_admin: the dashboard pages of datasets. /admin/datasets lists
 * every dataset; /admin/datasets/{dataset}?v=&against= shows its versions
 * (pin / unpin forms, CSRF), one version's columns with their stats and
 * first rows, the lineage chain (parent -> child, the steps on each edge)
 * and the diff of two versions. The data comes from the same service calls
 * as the JSON API (an admin identity), rendered by the dashboard's
 * templates (templates/datasets*.mustache) through admin_auth. */
#define _GNU_SOURCE
#include "datasets_admin.h"
#include "datasets.h"
#include "../admin/admin_page.h"
#include "../core/arena.h"
#include "../core/log.h"
#include "../core/module.h"
#include "../core/parse.h"
#include "../core/request.h"
#include "../core/response.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DATASETS_ADMIN_ROWS 20

static void datasets_admin_add(struct json_object *o, const char *k, struct json_object *v)
{
    json_object_object_add(o, k, v);
}

/* A page's start: the session (false: the response is set), the context
 * and an admin identity. */
static bool datasets_admin_begin(struct request *req, struct response *res, struct admin_session *s,
                                 struct tally_ctx *ctx, struct datasets_who *who)
{
    if (!admin_page_session(req, res, s))
        return false;
    *ctx = *req->ctx;
    ctx->arena = req->arena;
    who->user_id = 0;
    who->admin = true;
    return true;
}

int datasets_admin_list(struct request *req, struct response *res)
{
    struct admin_session s;
    struct tally_ctx ctx;
    struct datasets_who who;
    if (!datasets_admin_begin(req, res, &s, &ctx, &who))
        return ERR_NONE;
    struct json_object *list = NULL, *d = json_object_new_object();
    if (datasets_list(&ctx, &who, NULL, &list) == ERR_NONE) {
        struct json_object *items = NULL;
        json_object_object_get_ex(list, "items", &items);
        datasets_admin_add(d, "datasets", json_object_get(items));
        json_object_put(list);
    } else {
        datasets_admin_add(d, "db_error", json_object_new_boolean(1));
    }
    return admin_page_render(req, res, &s, "datasets", "Datasets", d, NULL);
}

static const char *datasets_admin_text(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    return json_object_object_get_ex(o, key, &v) && v != NULL ? json_object_get_string(v) : "";
}

/* The version's columns with display strings of their stats. */
static struct json_object *datasets_admin_columns(const struct datasets_version *v)
{
    struct json_object *a = json_object_new_array();
    size_t n = json_object_array_length(v->columns);
    for (size_t i = 0; i < n; i++) {
        struct json_object *c = json_object_array_get_idx(v->columns, i), *x = NULL;
        struct json_object *o = json_object_new_object();
        const char *keys[] = {"name", "type", "missing", "distinct", "min", "max", "mean"};
        for (int k = 0; k < 7; k++)
            if (json_object_object_get_ex(c, keys[k], &x) && x != NULL)
                datasets_admin_add(o, keys[k], json_object_new_string(json_object_get_string(x)));
        json_object_array_add(a, o);
    }
    return a;
}

/* Rows as [{cells: [{v}]}] with missing shown as an empty cell. */
static struct json_object *datasets_admin_rows(struct json_object *rows)
{
    struct json_object *a = json_object_new_array();
    size_t n = rows ? json_object_array_length(rows) : 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *r = json_object_array_get_idx(rows, i), *cells = json_object_new_array();
        for (size_t k = 0; k < json_object_array_length(r); k++) {
            struct json_object *v = json_object_array_get_idx(r, k), *cell = json_object_new_object();
            datasets_admin_add(cell, "v", v ? json_object_new_string(json_object_get_string(v)) : NULL);
            datasets_admin_add(cell, "missing", json_object_new_boolean(v == NULL));
            json_object_array_add(cells, cell);
        }
        struct json_object *o = json_object_new_object();
        datasets_admin_add(o, "cells", cells);
        json_object_array_add(a, o);
    }
    return a;
}

static int datasets_admin_query_int(struct request *req, const char *name, int *out)
{
    const char *s = request_query(req, name);
    int64_t n;
    if (s == NULL || parse_int64(s, strlen(s), 1, 1000000000, &n) != 0)
        return -1;
    *out = (int)n;
    return 0;
}

static void datasets_admin_version(struct request *req, struct tally_ctx *ctx, const struct datasets_who *who,
                                   const struct datasets_version *v, struct json_object *d)
{
    struct json_object *sel = datasets_version_json(v, true);
    datasets_admin_add(sel, "columns_view", datasets_admin_columns(v));
    struct json_object *page = NULL;
    if (!v->purged && datasets_rows(ctx, v, 0, DATASETS_ADMIN_ROWS, &page) == ERR_NONE) {
        struct json_object *rows = NULL, *cols = NULL;
        json_object_object_get_ex(page, "rows", &rows);
        json_object_object_get_ex(page, "columns", &cols);
        datasets_admin_add(sel, "header", json_object_get(cols));
        datasets_admin_add(sel, "first_rows", datasets_admin_rows(rows));
        datasets_admin_add(sel, "has_first_rows", json_object_new_boolean(rows && json_object_array_length(rows) > 0));
        json_object_put(page);
    }
    datasets_admin_add(d, "selected", sel);
    struct json_object *lineage = NULL;
    if (datasets_lineage(ctx, v, &lineage) == ERR_NONE) {
        /* Oldest first: each entry is a node, its edge from the parent carries the steps. */
        struct json_object *chain = json_object_new_array();
        for (size_t i = json_object_array_length(lineage); i-- > 0;) {
            struct json_object *e = json_object_array_get_idx(lineage, i), *steps = NULL, *x = NULL;
            struct json_object *o = json_object_new_object();
            datasets_admin_add(o, "version", json_object_new_string(datasets_admin_text(e, "version")));
            if (json_object_object_get_ex(e, "parent", &x) && x != NULL)
                datasets_admin_add(o, "parent", json_object_new_string(json_object_get_string(x)));
            struct json_object *ops = json_object_new_array();
            json_object_object_get_ex(e, "steps", &steps);
            for (size_t k = 0; steps && k < json_object_array_length(steps); k++) {
                struct json_object *st = json_object_array_get_idx(steps, k), *step = json_object_new_object();
                datasets_admin_add(step, "op", json_object_new_string(datasets_admin_text(st, "op")));
                datasets_admin_add(step, "json", json_object_new_string(
                                   json_object_to_json_string_ext(st, JSON_C_TO_STRING_PLAIN)));
                json_object_array_add(ops, step);
            }
            datasets_admin_add(o, "steps", ops);
            datasets_admin_add(o, "created_at", json_object_new_string(datasets_admin_text(e, "created_at")));
            json_object_array_add(chain, o);
        }
        datasets_admin_add(d, "has_lineage", json_object_new_boolean(json_object_array_length(chain) > 0));
        datasets_admin_add(d, "lineage", chain);
        json_object_put(lineage);
    }
    int against;
    if (datasets_admin_query_int(req, "against", &against) == 0) {
        struct datasets_version w;
        struct json_object *diff = NULL;
        if (datasets_find(ctx, who, v->dataset_id, against, &w) == ERR_NONE) {
            enum err e = datasets_diff(ctx, v, &w, &diff);
            datasets_version_free(&w);
            if (e == ERR_NONE) {
                struct json_object *x = NULL;
                const char *keys[] = {"sample_only_in_version", "sample_only_in_against"};
                for (int k = 0; k < 2; k++)
                    if (json_object_object_get_ex(diff, keys[k], &x)) {
                        datasets_admin_add(diff, k ? "only_against_view" : "only_version_view", datasets_admin_rows(x));
                        datasets_admin_add(diff, k ? "has_only_against" : "has_only_version",
                                           json_object_new_boolean(json_object_array_length(x) > 0));
                    }
                datasets_admin_add(d, "diff", diff);
            } else {
                datasets_admin_add(d, "diff_gone", json_object_new_boolean(1));
            }
        } else {
            datasets_admin_add(d, "diff_missing", json_object_new_int(against));
        }
    }
}

int datasets_admin_dataset(struct request *req, struct response *res)
{
    struct admin_session s;
    struct tally_ctx ctx;
    struct datasets_who who;
    if (!datasets_admin_begin(req, res, &s, &ctx, &who))
        return ERR_NONE;
    int64_t id;
    if (request_path_id(req, "dataset", &id) != ERR_NONE)
        return admin_auth_error_page(req, res, 404, "No such dataset.");
    struct json_object *ds = NULL, *versions = NULL, *items = NULL;
    enum err e = datasets_get(&ctx, &who, id, &ds);
    if (e == ERR_NOT_FOUND)
        return admin_auth_error_page(req, res, 404, "No such dataset.");
    if (e != ERR_NONE || datasets_versions(&ctx, &who, id, &versions) != ERR_NONE) {
        if (ds != NULL)
            json_object_put(ds);
        return admin_auth_error_page(req, res, 503, "The database is unavailable.");
    }
    struct json_object *d = json_object_new_object();
    datasets_admin_add(d, "dataset", ds);
    json_object_object_get_ex(versions, "items", &items);
    int latest = 0;
    for (size_t i = 0; i < json_object_array_length(items); i++) {
        struct json_object *v = json_object_array_get_idx(items, i), *x = NULL;
        json_object_object_get_ex(v, "version", &x);
        latest = json_object_get_int(x);
        const char *sha = datasets_admin_text(v, "sha256");
        datasets_admin_add(v, "sha_short", json_object_new_string_len(sha, strlen(sha) > 12 ? 12 : (int)strlen(sha)));
    }
    datasets_admin_add(d, "versions", json_object_get(items));
    json_object_put(versions);
    int want = latest;
    datasets_admin_query_int(req, "v", &want);
    struct datasets_version v;
    if (latest > 0 && datasets_find(&ctx, &who, id, want, &v) == ERR_NONE) {
        datasets_admin_version(req, &ctx, &who, &v, d);
        datasets_version_free(&v);
    }
    const char *pinned = request_query(req, "pinned");
    if (pinned != NULL)
        datasets_admin_add(d, "pinned_msg", json_object_new_string(pinned));
    return admin_page_render(req, res, &s, "dataset", "Dataset", d, NULL);
}

/* POST /admin/datasets/{dataset}/versions/{v}/pin (csrf_token, action=pin|unpin) */
int datasets_admin_pin(struct request *req, struct response *res)
{
    struct admin_session s;
    if (!admin_auth_post(req, res, &s))
        return ERR_NONE;
    struct tally_ctx ctx = *req->ctx;
    ctx.arena = req->arena;
    struct datasets_who who = {0, true};
    int64_t id = 0, number = 0;
    const struct route_param *p = router_param(&req->match, "v");
    if (request_path_id(req, "dataset", &id) != ERR_NONE || p == NULL ||
        parse_int64(p->value, p->value_len, 1, 1000000000, &number) != 0)
        return admin_auth_error_page(req, res, 404, "No such version.");
    const char *action = admin_auth_form(req, "action");
    bool pin = action != NULL && strcmp(action, "pin") == 0;
    if (action == NULL || (!pin && strcmp(action, "unpin") != 0))
        return admin_auth_error_page(req, res, 422, "action must be pin or unpin.");
    struct datasets_version v;
    enum err e = datasets_find(&ctx, &who, id, (int)number, &v);
    if (e != ERR_NONE)
        return admin_auth_error_page(req, res, e == ERR_NOT_FOUND ? 404 : 503,
                                     e == ERR_NOT_FOUND ? "No such version." : "The database is unavailable.");
    if (pin && v.purged) {
        datasets_version_free(&v);
        return admin_auth_error_page(req, res, 410, "This version is past retention: its rows are gone.");
    }
    e = datasets_pin(&ctx, &v, pin);
    datasets_version_free(&v);
    if (e != ERR_NONE)
        return admin_auth_error_page(req, res, 503, "The database is unavailable.");
    log_info("admin %s %s dataset %" PRId64 " version %" PRId64, s.username, pin ? "pinned" : "unpinned", id, number);
    return admin_auth_redirect(res, arena_sprintf(req->arena, "/admin/datasets/%" PRId64 "?v=%" PRId64 "&pinned=%s",
                                                  id, number, pin ? "pinned" : "unpinned"));
}
