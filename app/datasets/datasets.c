/* datasets: see datasets.h. Metadata: versions, finding, listing,
 * lineage, pinning, retention (rows: datasets_store.c; upload, transform,
 * diff: their own files). */
#define _GNU_SOURCE
#include "datasets.h"
#include "datasets_store.h"
#include "datasets_table.h"
#include "../core/arena.h"
#include "../core/buf.h"
#include "../core/config.h"
#include "../core/module.h"
#include "../csv/csv.h"
#include "../store/db.h"
#include "../store/db_json.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DATASETS_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
#define DATASETS_LINEAGE_MAX 10000

#define DATASETS_VERSION_COLUMNS \
    "v.id, v.dataset_id, d.name, v.version, v.parent_version, v.steps, v.sha256, v.row_count, v.columns," \
    " v.content_bytes, v.pinned, v.purged_at IS NOT NULL, " DATASETS_TS("v.created_at") ", v.created_by, d.user_id"

void datasets_limits_get(const struct tally_ctx *ctx, struct datasets_limits *out)
{
    long rows = config_module_int(ctx->cfg, "dataset_max_rows");
    long cols = config_module_int(ctx->cfg, "dataset_max_columns");
    long keep = config_module_int(ctx->cfg, "dataset_keep_versions");
    out->max_rows = rows > 0 ? rows : DATASETS_MAX_ROWS_DEFAULT;
    out->max_columns = cols > 0 && cols <= DATASETS_MAX_COLUMNS ? cols : DATASETS_MAX_COLUMNS;
    out->keep_versions = keep > 0 ? (int)keep : DATASETS_KEEP_DEFAULT;
}

enum err datasets_fail(struct datasets_error *er, enum err e, const char *field, const char *fmt, ...)
{
    if (er != NULL) {
        er->field = field;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(er->message, sizeof(er->message), fmt, ap);
        va_end(ap);
    }
    return e;
}

void datasets_version_free(struct datasets_version *v)
{
    if (v->columns != NULL)
        json_object_put(v->columns);
    if (v->steps != NULL)
        json_object_put(v->steps);
    v->columns = v->steps = NULL;
}

void datasets_version_read(struct tally_ctx *ctx, const db_result *r, int row, struct datasets_version *v)
{
    memset(v, 0, sizeof(*v));
    v->id = db_int64(r, row, 0);
    v->dataset_id = db_int64(r, row, 1);
    v->name = arena_strndup(ctx->arena, db_value(r, row, 2), strlen(db_value(r, row, 2)));
    v->version = (int)db_int64(r, row, 3);
    v->parent = (int)db_int64(r, row, 4);
    v->steps = db_is_null(r, row, 5) ? NULL : json_tokener_parse(db_value(r, row, 5));
    v->sha256 = arena_strndup(ctx->arena, db_value(r, row, 6), 64);
    v->rows = db_int64(r, row, 7);
    v->columns = json_tokener_parse(db_value(r, row, 8));
    v->content_bytes = db_int64(r, row, 9);
    v->pinned = db_value(r, row, 10)[0] == 't';
    v->purged = db_value(r, row, 11)[0] == 't';
    v->created_at = arena_strndup(ctx->arena, db_value(r, row, 12), strlen(db_value(r, row, 12)));
    v->created_by = db_int64(r, row, 13);
    v->owner = db_int64(r, row, 14);
    if (v->columns == NULL)
        v->columns = json_object_new_array();
}

struct json_object *datasets_version_json(const struct datasets_version *v, bool with_stats)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "dataset_id", json_object_new_int64(v->dataset_id));
    json_object_object_add(o, "name", json_object_new_string(v->name));
    json_object_object_add(o, "version", json_object_new_int(v->version));
    json_object_object_add(o, "parent", v->parent ? json_object_new_int(v->parent) : NULL);
    json_object_object_add(o, "sha256", json_object_new_string(v->sha256));
    json_object_object_add(o, "rows", json_object_new_int64(v->rows));
    struct json_object *cols = json_object_new_array();
    size_t n = json_object_array_length(v->columns);
    for (size_t i = 0; i < n; i++) {
        struct json_object *c = json_object_array_get_idx(v->columns, i);
        if (with_stats) {
            json_object_array_add(cols, json_object_get(c));
            continue;
        }
        struct json_object *s = json_object_new_object(), *x = NULL;
        const char *keys[] = {"name", "type", "missing"};
        for (int k = 0; k < 3; k++)
            if (json_object_object_get_ex(c, keys[k], &x))
                json_object_object_add(s, keys[k], json_object_get(x));
        json_object_array_add(cols, s);
    }
    json_object_object_add(o, "columns", cols);
    json_object_object_add(o, "steps", v->steps ? json_object_get(v->steps) : NULL);
    json_object_object_add(o, "content_bytes", json_object_new_int64(v->content_bytes));
    json_object_object_add(o, "pinned", json_object_new_boolean(v->pinned));
    json_object_object_add(o, "purged", json_object_new_boolean(v->purged));
    json_object_object_add(o, "created_at", json_object_new_string(v->created_at));
    json_object_object_add(o, "created_by", v->created_by ? json_object_new_int64(v->created_by) : NULL);
    return o;
}

/* Names and types of a version's columns (arena). */
int datasets_schema(struct tally_ctx *ctx, const struct datasets_version *v, char ***names,
                           enum datasets_type **types, size_t *ncols)
{
    size_t n = json_object_array_length(v->columns);
    *names = arena_alloc(ctx->arena, (n + 1) * sizeof(**names));
    *types = arena_alloc(ctx->arena, (n + 1) * sizeof(**types));
    if (*names == NULL || *types == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        struct json_object *c = json_object_array_get_idx(v->columns, i), *x = NULL;
        const char *name = json_object_object_get_ex(c, "name", &x) ? json_object_get_string(x) : "";
        (*names)[i] = arena_strndup(ctx->arena, name, strlen(name));
        int t = json_object_object_get_ex(c, "type", &x) ? datasets_type_parse(json_object_get_string(x)) : -1;
        (*types)[i] = t < 0 ? DATASETS_STRING : (enum datasets_type)t;
    }
    *ncols = n;
    return (n > 0 && (*names)[n - 1] != NULL) || n == 0 ? 0 : -1;
}

/* ---- finding ---------------------------------------------------------- */

static bool datasets_visible(const struct datasets_who *who, int64_t owner)
{
    return who->admin || (owner != 0 && owner == who->user_id);
}

enum err datasets_find(struct tally_ctx *ctx, const struct datasets_who *who, int64_t dataset_id, int version,
                       struct datasets_version *out)
{
    static const char sql[] = "SELECT " DATASETS_VERSION_COLUMNS
                              " FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id"
                              " WHERE v.dataset_id = $1 AND v.version = $2";
    char idtext[32], vtext[DB_INT64_BYTES];
    db_param_i64(idtext, dataset_id);
    db_param_i64(vtext, version);
    const char *params[2] = {idtext, vtext};
    enum err e;
    db_result *r = db_query(ctx->db, &e, DB_RETRY_ON_RECONNECT, sql, 2, params);
    if (r == NULL)
        return e;
    if (db_rows(r) == 0 || !datasets_visible(who, db_int64(r, 0, 14))) {
        db_clear(r);
        return ERR_NOT_FOUND;
    }
    datasets_version_read(ctx, r, 0, out);
    db_clear(r);
    return ERR_NONE;
}

/* ---- listing ---------------------------------------------------------- */

#define DATASETS_SUMMARY_SQL \
    "SELECT d.id, d.name, d.user_id, " DATASETS_TS("d.created_at") "," \
    " (SELECT max(version) FROM dataset_versions x WHERE x.dataset_id = d.id)," \
    " (SELECT count(*) FROM dataset_versions x WHERE x.dataset_id = d.id)" \
    " FROM datasets d"

/* A dataset: the columns of DATASETS_SUMMARY_SQL, in this order. */
static const struct db_json_column datasets_summary_json[] = {
    {"id", 0, DB_JSON_INT64, NULL},
    {"name", 1, DB_JSON_TEXT, NULL},
    {"user_id", 2, DB_JSON_INT64_OR_NULL, NULL},
    {"created_at", 3, DB_JSON_TEXT, NULL},
    {"latest_version", 4, DB_JSON_INT64, NULL},
    {"versions", 5, DB_JSON_INT64, NULL},
};

enum err datasets_list(struct tally_ctx *ctx, const struct datasets_who *who, const char *name,
                       struct json_object **out)
{
    static const char sql[] = DATASETS_SUMMARY_SQL
        " WHERE ($1::bigint IS NULL OR d.user_id = $1::bigint) AND ($2::text IS NULL OR d.name = $2)"
        " ORDER BY d.id LIMIT 1000";
    char uid[32];
    db_param_i64(uid, who->user_id);
    const char *params[2] = {who->admin ? NULL : uid, name};
    enum err e;
    db_result *r = db_query(ctx->db, &e, DB_RETRY_ON_RECONNECT, sql, 2, params);
    if (r == NULL)
        return e;
    struct json_object *items = db_json_rows(r, 0, db_rows(r), datasets_summary_json,
                                             DB_JSON_COUNT(datasets_summary_json));
    db_clear(r);
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "items", items);
    json_object_object_add(o, "next_cursor", NULL);
    *out = o;
    return ERR_NONE;
}

enum err datasets_get(struct tally_ctx *ctx, const struct datasets_who *who, int64_t dataset_id,
                      struct json_object **out)
{
    static const char sql[] = DATASETS_SUMMARY_SQL " WHERE d.id = $1";
    char idtext[32];
    db_param_i64(idtext, dataset_id);
    const char *params[1] = {idtext};
    enum err e;
    db_result *r = db_query(ctx->db, &e, DB_RETRY_ON_RECONNECT, sql, 1, params);
    if (r == NULL)
        return e;
    if (db_rows(r) == 0 || !datasets_visible(who, db_int64(r, 0, 2))) {
        db_clear(r);
        return ERR_NOT_FOUND;
    }
    *out = db_json_row(r, 0, datasets_summary_json, DB_JSON_COUNT(datasets_summary_json));
    db_clear(r);
    return ERR_NONE;
}

enum err datasets_versions(struct tally_ctx *ctx, const struct datasets_who *who, int64_t dataset_id,
                           struct json_object **out)
{
    struct json_object *ds = NULL;
    enum err e = datasets_get(ctx, who, dataset_id, &ds);
    if (e != ERR_NONE)
        return e;
    json_object_put(ds);
    static const char sql[] = "SELECT " DATASETS_VERSION_COLUMNS
                              " FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id"
                              " WHERE v.dataset_id = $1 ORDER BY v.version";
    char idtext[32];
    db_param_i64(idtext, dataset_id);
    const char *params[1] = {idtext};
    db_result *r = db_query(ctx->db, &e, DB_RETRY_ON_RECONNECT, sql, 1, params);
    if (r == NULL)
        return e;
    struct json_object *items = json_object_new_array();
    for (int i = 0; i < db_rows(r); i++) {
        struct datasets_version v;
        datasets_version_read(ctx, r, i, &v);
        json_object_array_add(items, datasets_version_json(&v, false));
        datasets_version_free(&v);
    }
    db_clear(r);
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "items", items);
    json_object_object_add(o, "next_cursor", NULL);
    *out = o;
    return ERR_NONE;
}

/* steps: the jsonb array, [] for an upload (NULL). */
static struct json_object *datasets_steps_json(const db_result *r, int row, int col)
{
    return db_is_null(r, row, col) ? json_object_new_array() : json_tokener_parse(db_value(r, row, col));
}

/* A lineage entry: the columns of the chain statement, in this order. */
static const struct db_json_column datasets_lineage_json[] = {
    {"version", 0, DB_JSON_INT64, NULL},
    {"parent", 1, DB_JSON_INT64_OR_NULL, NULL},
    {"steps", 2, DB_JSON_CUSTOM, datasets_steps_json},
    {"created_at", 3, DB_JSON_TEXT, NULL},
    {"created_by", 4, DB_JSON_INT64_OR_NULL, NULL},
};

enum err datasets_lineage(struct tally_ctx *ctx, const struct datasets_version *v, struct json_object **out)
{
    char idtext[32], vtext[DB_INT64_BYTES], maxtext[DB_INT64_BYTES];
    db_param_i64(idtext, v->dataset_id);
    db_param_i64(vtext, v->version);
    db_param_i64(maxtext, DATASETS_LINEAGE_MAX);
    const char *params[3] = {idtext, vtext, maxtext};
    enum err e;
    db_result *r = db_query(ctx->db, &e, DB_RETRY_ON_RECONNECT,
                            "WITH RECURSIVE chain AS ("
                            " SELECT version, parent_version, steps, created_at, created_by, 0 AS depth"
                            " FROM dataset_versions WHERE dataset_id = $1 AND version = $2"
                            " UNION ALL"
                            " SELECT p.version, p.parent_version, p.steps, p.created_at, p.created_by, c.depth + 1"
                            " FROM dataset_versions p JOIN chain c ON p.dataset_id = $1 AND p.version = c.parent_version"
                            " WHERE c.depth < $3::int)"
                            " SELECT version, parent_version, steps, " DATASETS_TS("created_at") ", created_by"
                            " FROM chain ORDER BY depth",
                            3, params);
    if (r == NULL)
        return e;
    struct json_object *a =
        db_json_rows(r, 0, db_rows(r), datasets_lineage_json, DB_JSON_COUNT(datasets_lineage_json));
    db_clear(r);
    *out = a;
    return ERR_NONE;
}

enum err datasets_find_by_id(struct tally_ctx *ctx, int64_t version_id, struct datasets_version *out)
{
    static const char sql[] = "SELECT " DATASETS_VERSION_COLUMNS
                              " FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id WHERE v.id = $1";
    char idtext[32];
    db_param_i64(idtext, version_id);
    const char *params[1] = {idtext};
    enum err e;
    db_result *r = db_query(ctx->db, &e, 0, sql, 1, params);
    if (r == NULL)
        return e;
    if (db_rows(r) == 0) {
        db_clear(r);
        return ERR_INTERNAL;
    }
    datasets_version_read(ctx, r, 0, out);
    db_clear(r);
    return ERR_NONE;
}


/* ---- pinning and retention ------------------------------------------------ */

enum err datasets_pin(struct tally_ctx *ctx, const struct datasets_version *v, bool pin)
{
    char idtext[32];
    db_param_i64(idtext, v->id);
    const char *params[2] = {idtext, pin ? "t" : "f"};
    return db_exec(ctx->db, 0, "UPDATE dataset_versions SET pinned = $2 WHERE id = $1", 2, params);
}

enum err datasets_retention(struct tally_ctx *ctx, int keep, long *purged)
{
    char keeptext[DB_INT64_BYTES];
    db_param_i64(keeptext, keep);
    const char *params[1] = {keeptext};
    enum err e;
    db_result *r = db_query(ctx->db, &e, 0,
                            "WITH old AS ("
                            " SELECT id FROM (SELECT id, pinned, purged_at, row_number() OVER"
                            "  (PARTITION BY dataset_id ORDER BY version DESC) AS newer_and_self"
                            "  FROM dataset_versions) x"
                            " WHERE newer_and_self > $1::int AND purged_at IS NULL AND NOT pinned),"
                            " gone AS (DELETE FROM dataset_chunks WHERE version_id IN (SELECT id FROM old)),"
                            " upd AS (UPDATE dataset_versions SET purged_at = now()"
                            "  WHERE id IN (SELECT id FROM old) RETURNING 1)"
                            " SELECT count(*) FROM upd",
                            1, params);
    if (r == NULL)
        return e;
    *purged = (long)db_int64(r, 0, 0);
    db_clear(r);
    return ERR_NONE;
}

