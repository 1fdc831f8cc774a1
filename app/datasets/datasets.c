/* datasets: see datasets.h. */
#define _GNU_SOURCE
#include "datasets.h"
#include "datasets_table.h"
#include "../core/arena.h"
#include "../core/buf.h"
#include "../core/config.h"
#include "../core/module.h"
#include "../csv/csv.h"
#include "../store/db.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DATASETS_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
#define DATASETS_CHUNKS_PER_FETCH 32                /* about 1 MiB of CSV per round trip */
#define DATASETS_LINEAGE_MAX 10000

static const char DATASETS_VERSION_COLUMNS[] =
    "v.id, v.dataset_id, d.name, v.version, v.parent_version, v.steps, v.sha256, v.row_count, v.columns,"
    " v.content_bytes, v.pinned, v.purged_at IS NOT NULL, " DATASETS_TS("v.created_at") ", v.created_by, d.user_id";

void datasets_limits_get(const struct tally_ctx *ctx, struct datasets_limits *out)
{
    long rows = config_module_int(ctx->cfg, "dataset_max_rows");
    long cols = config_module_int(ctx->cfg, "dataset_max_columns");
    long keep = config_module_int(ctx->cfg, "dataset_keep_versions");
    out->max_rows = rows > 0 ? rows : DATASETS_MAX_ROWS_DEFAULT;
    out->max_columns = cols > 0 && cols <= DATASETS_MAX_COLUMNS ? cols : DATASETS_MAX_COLUMNS;
    out->keep_versions = keep > 0 ? (int)keep : DATASETS_KEEP_DEFAULT;
}

static enum err datasets_fail(struct datasets_error *er, enum err e, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum err datasets_fail(struct datasets_error *er, enum err e, const char *field, const char *fmt, ...)
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

static void datasets_version_read(struct tally_ctx *ctx, const db_result *r, int row, struct datasets_version *v)
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
static int datasets_schema(struct tally_ctx *ctx, const struct datasets_version *v, char ***names,
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

/* ---- reading stored rows -------------------------------------------- */

/* A row callback: 0 goes on, DATASETS_NO_MEMORY stops (ERR_PAYLOAD_TOO_LARGE), another < 0 fails. */
typedef int (*datasets_row_fn)(void *ud, long row, const struct csv_field *f, size_t n);
#define DATASETS_NO_MEMORY (-2)

/* Calls fn for rows [from, to) of v, in order (to < 0: all). */
static enum err datasets_scan(struct tally_ctx *ctx, const struct datasets_version *v, size_t ncols, long from,
                              long to, datasets_row_fn fn, void *ud)
{
    if (v->purged)
        return ERR_GONE;
    char id[32], fromtext[32], totext[32], seqtext[32];
    db_param_i64(id, v->id);
    snprintf(fromtext, sizeof(fromtext), "%ld", from);
    snprintf(totext, sizeof(totext), "%ld", to < 0 ? (long)v->rows : to);
    int seq = 0;
    for (;;) {
        snprintf(seqtext, sizeof(seqtext), "%d", seq);
        const char *params[4] = {id, fromtext, totext, seqtext};
        enum err e;
        db_result *r = db_query(ctx->db, &e, DB_RETRY_ON_RECONNECT,
                                "SELECT seq, first_row, row_count, data FROM dataset_chunks"
                                " WHERE version_id = $1 AND first_row + row_count > $2::bigint"
                                " AND first_row < $3::bigint AND seq >= $4::int ORDER BY seq LIMIT "
                                "32", 4, params);
        if (r == NULL)
            return e;
        int n = db_rows(r);
        for (int i = 0; i < n; i++) {
            long first = (long)db_int64(r, i, 1);
            const char *data = db_value(r, i, 3);
            struct csv_reader rd;
            if (csv_reader_init_mem(&rd, data, strlen(data), ',', DATASETS_MAX_ROW_BYTES + 16, ncols + 1) != 0) {
                db_clear(r);
                return ERR_INTERNAL;
            }
            csv_reader_expect(&rd, ncols);
            long row = first;
            enum csv_status st;
            int stop = 0;
            while (stop == 0 && (to < 0 || row < to) && (st = csv_next(&rd)) == CSV_ROW) {
                if (row >= from)
                    stop = fn(ud, row, rd.fields, rd.nfields);
                row++;
            }
            bool bad = stop == 0 && rd.err_msg[0] != '\0';
            csv_reader_free(&rd);
            if (stop < 0 || bad) {
                db_clear(r);
                return stop == DATASETS_NO_MEMORY ? ERR_PAYLOAD_TOO_LARGE : ERR_INTERNAL;
            }
            seq = (int)db_int64(r, i, 0) + 1;
        }
        db_clear(r);
        if (n < DATASETS_CHUNKS_PER_FETCH)
            return ERR_NONE;
    }
}

static int datasets_load_row(void *ud, long row, const struct csv_field *f, size_t n)
{
    struct datasets_table *t = ud;
    const char *vals[DATASETS_MAX_COLUMNS];
    size_t lens[DATASETS_MAX_COLUMNS];
    if (n != t->ncols)
        return -1;
    for (size_t i = 0; i < n; i++) {
        vals[i] = f[i].ptr;
        lens[i] = f[i].len;
    }
    (void)row;
    return datasets_table_add_row(t, vals, lens) == 0 ? 0 : DATASETS_NO_MEMORY;   /* the arena's cap */
}

/* The whole version in memory (the arena). */
static enum err datasets_load(struct tally_ctx *ctx, const struct datasets_version *v, struct datasets_table *t)
{
    char **names;
    enum datasets_type *types;
    size_t ncols;
    if (datasets_schema(ctx, v, &names, &types, &ncols) != 0)
        return ERR_INTERNAL;
    if (datasets_table_init(t, ctx->arena, ncols, (size_t)v->rows + 1) != 0)
        return ERR_PAYLOAD_TOO_LARGE;                /* the arena's cap */
    memcpy(t->names, names, ncols * sizeof(*names));
    memcpy(t->types, types, ncols * sizeof(*types));
    return datasets_scan(ctx, v, ncols, 0, -1, datasets_load_row, t);
}

struct datasets_rows_ctx {
    struct json_object *rows;
    const enum datasets_type *types;
};

static int datasets_rows_row(void *ud, long row, const struct csv_field *f, size_t n)
{
    struct datasets_rows_ctx *rc = ud;
    struct json_object *a = json_object_new_array_ext((int)n);
    for (size_t i = 0; i < n; i++)
        json_object_array_add(a, datasets_value_json(f[i].len ? f[i].ptr : NULL, rc->types[i]));
    json_object_array_add(rc->rows, a);
    (void)row;
    return 0;
}

static struct json_object *datasets_names_json(char *const *names, size_t n)
{
    struct json_object *a = json_object_new_array();
    for (size_t i = 0; i < n; i++)
        json_object_array_add(a, json_object_new_string(names[i]));
    return a;
}

/* The schema of a version whose rows are still kept. */
static enum err datasets_readable(struct tally_ctx *ctx, const struct datasets_version *v, char ***names,
                                  enum datasets_type **types, size_t *ncols)
{
    if (v->purged)
        return ERR_GONE;
    return datasets_schema(ctx, v, names, types, ncols) == 0 ? ERR_NONE : ERR_INTERNAL;
}

enum err datasets_rows(struct tally_ctx *ctx, const struct datasets_version *v, long offset, long limit,
                       struct json_object **out)
{
    char **names;
    enum datasets_type *types;
    size_t ncols;
    enum err re = datasets_readable(ctx, v, &names, &types, &ncols);
    if (re != ERR_NONE)
        return re;
    struct datasets_rows_ctx rc = {json_object_new_array(), types};
    enum err e = ERR_NONE;
    if (offset < v->rows)
        e = datasets_scan(ctx, v, ncols, offset, offset + limit, datasets_rows_row, &rc);
    if (e != ERR_NONE) {
        json_object_put(rc.rows);
        return e;
    }
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "columns", datasets_names_json(names, ncols));
    json_object_object_add(o, "rows", rc.rows);
    json_object_object_add(o, "total", json_object_new_int64(v->rows));
    json_object_object_add(o, "offset", json_object_new_int64(offset));
    *out = o;
    return ERR_NONE;
}

static int datasets_buf_emit(void *ud, const char *d, size_t n)
{
    return buf_append(ud, d, n) ? 0 : -1;
}

enum err datasets_download_check(struct tally_ctx *ctx, const struct datasets_version *v)
{
    char **names;
    enum datasets_type *types;
    size_t ncols;
    return datasets_readable(ctx, v, &names, &types, &ncols);
}

/* The stored chunks are canonical CSV rows already: the download is the
 * header then the chunks' text in seq order, DATASETS_CHUNKS_PER_FETCH at a
 * time, each handed to emit as it comes (no parse, no copy of the file). */
enum err datasets_download(struct tally_ctx *ctx, const struct datasets_version *v, csv_emit_fn emit, void *ud)
{
    char **names;
    enum datasets_type *types;
    size_t ncols;
    enum err e = datasets_readable(ctx, v, &names, &types, &ncols);
    if (e != ERR_NONE)
        return e;
    size_t lens[DATASETS_MAX_COLUMNS];
    for (size_t i = 0; i < ncols; i++)
        lens[i] = strlen(names[i]);
    struct buf head;
    buf_init(&head, (size_t)DATASETS_MAX_COLUMNS * 1024);
    int rc = csv_write_row((const char *const *)names, lens, ncols, ',', datasets_buf_emit, &head);
    if (rc == 0 && !head.overflow)
        rc = emit(ud, head.data, head.len);
    buf_free(&head);
    if (rc != 0)
        return ERR_INTERNAL;
    char id[32], seqtext[16];
    db_param_i64(id, v->id);
    long rows = 0;
    for (int seq = 0;;) {
        snprintf(seqtext, sizeof(seqtext), "%d", seq);
        const char *params[2] = {id, seqtext};
        db_result *r = db_query(ctx->db, &e, DB_RETRY_ON_RECONNECT,
                                "SELECT seq, row_count, data FROM dataset_chunks WHERE version_id = $1"
                                " AND seq >= $2::int ORDER BY seq LIMIT 32",
                                2, params);
        if (r == NULL)
            return e;
        int n = db_rows(r);
        for (int i = 0; i < n; i++) {
            const char *data = db_value(r, i, 2);
            if (emit(ud, data, strlen(data)) != 0) {
                db_clear(r);
                return ERR_INTERNAL;
            }
            rows += (long)db_int64(r, i, 1);
            seq = (int)db_int64(r, i, 0) + 1;
        }
        db_clear(r);
        if (n < DATASETS_CHUNKS_PER_FETCH)
            return rows == v->rows ? ERR_NONE : ERR_GONE;      /* purged while being read */
    }
}

/* ---- finding ---------------------------------------------------------- */

static bool datasets_visible(const struct datasets_who *who, int64_t owner)
{
    return who->admin || (owner != 0 && owner == who->user_id);
}

enum err datasets_find(struct tally_ctx *ctx, const struct datasets_who *who, int64_t dataset_id, int version,
                       struct datasets_version *out)
{
    char idtext[32], vtext[16], sql[768];
    db_param_i64(idtext, dataset_id);
    snprintf(vtext, sizeof(vtext), "%d", version);
    snprintf(sql, sizeof(sql),
             "SELECT %s FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id"
             " WHERE v.dataset_id = $1 AND v.version = $2",
             DATASETS_VERSION_COLUMNS);
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

static const char DATASETS_SUMMARY_SQL[] =
    "SELECT d.id, d.name, d.user_id, " DATASETS_TS("d.created_at") ","
    " (SELECT max(version) FROM dataset_versions x WHERE x.dataset_id = d.id),"
    " (SELECT count(*) FROM dataset_versions x WHERE x.dataset_id = d.id)"
    " FROM datasets d";

static struct json_object *datasets_summary_json(const db_result *r, int row)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(db_int64(r, row, 0)));
    json_object_object_add(o, "name", json_object_new_string(db_value(r, row, 1)));
    json_object_object_add(o, "user_id", db_is_null(r, row, 2) ? NULL : json_object_new_int64(db_int64(r, row, 2)));
    json_object_object_add(o, "created_at", json_object_new_string(db_value(r, row, 3)));
    json_object_object_add(o, "latest_version", json_object_new_int64(db_int64(r, row, 4)));
    json_object_object_add(o, "versions", json_object_new_int64(db_int64(r, row, 5)));
    return o;
}

enum err datasets_list(struct tally_ctx *ctx, const struct datasets_who *who, const char *name,
                       struct json_object **out)
{
    char uid[32], sql[1024];
    db_param_i64(uid, who->user_id);
    snprintf(sql, sizeof(sql),
             "%s WHERE ($1::bigint IS NULL OR d.user_id = $1::bigint) AND ($2::text IS NULL OR d.name = $2)"
             " ORDER BY d.id LIMIT 1000",
             DATASETS_SUMMARY_SQL);
    const char *params[2] = {who->admin ? NULL : uid, name};
    enum err e;
    db_result *r = db_query(ctx->db, &e, DB_RETRY_ON_RECONNECT, sql, 2, params);
    if (r == NULL)
        return e;
    struct json_object *items = json_object_new_array();
    for (int i = 0; i < db_rows(r); i++)
        json_object_array_add(items, datasets_summary_json(r, i));
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
    char idtext[32], sql[1024];
    db_param_i64(idtext, dataset_id);
    snprintf(sql, sizeof(sql), "%s WHERE d.id = $1", DATASETS_SUMMARY_SQL);
    const char *params[1] = {idtext};
    enum err e;
    db_result *r = db_query(ctx->db, &e, DB_RETRY_ON_RECONNECT, sql, 1, params);
    if (r == NULL)
        return e;
    if (db_rows(r) == 0 || !datasets_visible(who, db_int64(r, 0, 2))) {
        db_clear(r);
        return ERR_NOT_FOUND;
    }
    *out = datasets_summary_json(r, 0);
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
    char idtext[32], sql[768];
    db_param_i64(idtext, dataset_id);
    snprintf(sql, sizeof(sql),
             "SELECT %s FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id"
             " WHERE v.dataset_id = $1 ORDER BY v.version",
             DATASETS_VERSION_COLUMNS);
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

enum err datasets_lineage(struct tally_ctx *ctx, const struct datasets_version *v, struct json_object **out)
{
    char idtext[32], vtext[16], maxtext[16];
    db_param_i64(idtext, v->dataset_id);
    snprintf(vtext, sizeof(vtext), "%d", v->version);
    snprintf(maxtext, sizeof(maxtext), "%d", DATASETS_LINEAGE_MAX);
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
    struct json_object *a = json_object_new_array();
    for (int i = 0; i < db_rows(r); i++) {
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "version", json_object_new_int64(db_int64(r, i, 0)));
        json_object_object_add(o, "parent", db_is_null(r, i, 1) ? NULL : json_object_new_int64(db_int64(r, i, 1)));
        json_object_object_add(o, "steps", db_is_null(r, i, 2) ? json_object_new_array()
                                                               : json_tokener_parse(db_value(r, i, 2)));
        json_object_object_add(o, "created_at", json_object_new_string(db_value(r, i, 3)));
        json_object_object_add(o, "created_by", db_is_null(r, i, 4) ? NULL : json_object_new_int64(db_int64(r, i, 4)));
        json_object_array_add(a, o);
    }
    db_clear(r);
    *out = a;
    return ERR_NONE;
}

/* ---- storing a version ------------------------------------------------ */

/* Chunks are written DATASETS_STORE_BATCH to a statement: a round trip
 * per 32 KiB was most of an upload's wall time on a loaded machine. */
#define DATASETS_STORE_BATCH 16

struct datasets_store_ctx {
    struct tally_ctx *ctx;
    char version_id[32];
    enum err err;
    int n;                                     /* chunks waiting */
    char meta[DATASETS_STORE_BATCH][3][24];    /* seq, first_row, row_count */
    size_t off[DATASETS_STORE_BATCH + 1];      /* each chunk's start in data */
    struct buf data;                           /* the waiting chunks' text, each NUL-terminated */
};

static void datasets_store_init(struct datasets_store_ctx *sc, struct tally_ctx *ctx, int64_t version_id)
{
    memset(sc, 0, sizeof(*sc));
    sc->ctx = ctx;
    snprintf(sc->version_id, sizeof(sc->version_id), "%" PRId64, version_id);
    buf_init(&sc->data, (size_t)DATASETS_STORE_BATCH * DATASETS_CHUNK_BYTES * 80);
}

static int datasets_store_write(struct datasets_store_ctx *sc)
{
    if (sc->n == 0)
        return 0;
    if (sc->data.overflow) {
        sc->err = ERR_INTERNAL;
        return -1;
    }
    char sql[64 + DATASETS_STORE_BATCH * 40];
    const char *params[1 + DATASETS_STORE_BATCH * 4];
    size_t pos = (size_t)snprintf(sql, sizeof(sql),
                                  "INSERT INTO dataset_chunks (version_id, seq, first_row, row_count, data) VALUES ");
    params[0] = sc->version_id;
    for (int i = 0; i < sc->n; i++) {
        int p = 2 + i * 4;
        pos += (size_t)snprintf(sql + pos, sizeof(sql) - pos, "%s($1, $%d, $%d, $%d, $%d)", i ? ", " : "", p, p + 1,
                                p + 2, p + 3);
        params[p - 1] = sc->meta[i][0];
        params[p] = sc->meta[i][1];
        params[p + 1] = sc->meta[i][2];
        params[p + 2] = sc->data.data + sc->off[i];
    }
    sc->err = db_exec(sc->ctx->db, 0, sql, 1 + sc->n * 4, params);
    sc->n = 0;
    sc->data.len = 0;
    return sc->err == ERR_NONE ? 0 : -1;
}

static int datasets_store_chunk(void *ud, int seq, long first_row, long row_count, const char *data, size_t len)
{
    struct datasets_store_ctx *sc = ud;
    if (seq < 0)
        return datasets_store_write(sc);
    snprintf(sc->meta[sc->n][0], sizeof(sc->meta[sc->n][0]), "%d", seq);
    snprintf(sc->meta[sc->n][1], sizeof(sc->meta[sc->n][1]), "%ld", first_row);
    snprintf(sc->meta[sc->n][2], sizeof(sc->meta[sc->n][2]), "%ld", row_count);
    sc->off[sc->n] = sc->data.len;
    if (!buf_append(&sc->data, data, len) || !buf_append(&sc->data, "", 1)) {
        sc->err = ERR_INTERNAL;
        return -1;
    }
    sc->n++;
    return sc->n == DATASETS_STORE_BATCH || sc->data.len >= (size_t)DATASETS_STORE_BATCH * DATASETS_CHUNK_BYTES
               ? datasets_store_write(sc)
               : 0;
}

static void datasets_store_free(struct datasets_store_ctx *sc)
{
    buf_free(&sc->data);
}

/* The dataset row of (owner, name), created if missing, locked for the transaction. */
static enum err datasets_lock_dataset(struct tally_ctx *ctx, int64_t owner, const char *name, int64_t *id)
{
    char ownertext[32];
    db_param_i64(ownertext, owner);
    const char *params[2] = {owner ? ownertext : NULL, name};
    enum err e = db_exec(ctx->db, 0,
                         "INSERT INTO datasets (user_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING", 2, params);
    if (e != ERR_NONE)
        return e;
    db_result *r = db_query(ctx->db, &e, 0,
                            "SELECT id FROM datasets WHERE user_id IS NOT DISTINCT FROM $1::bigint AND name = $2"
                            " FOR UPDATE",
                            2, params);
    if (r == NULL)
        return e;
    if (db_rows(r) == 0) {
        db_clear(r);
        return ERR_INTERNAL;
    }
    *id = db_int64(r, 0, 0);
    db_clear(r);
    return ERR_NONE;
}

/* Inserts the version row; fills out (id, number, created_at). */
static enum err datasets_insert_version(struct tally_ctx *ctx, const struct datasets_who *who, int64_t dataset_id,
                                        int parent, struct json_object *steps, const char *sha, long rows,
                                        struct json_object *columns, uint64_t bytes, int64_t *version_id)
{
    char idtext[32], parenttext[16], rowstext[32], bytestext[32], bytext[32];
    db_param_i64(idtext, dataset_id);
    snprintf(parenttext, sizeof(parenttext), "%d", parent);
    snprintf(rowstext, sizeof(rowstext), "%ld", rows);
    snprintf(bytestext, sizeof(bytestext), "%" PRIu64, bytes);
    db_param_i64(bytext, who->user_id);
    const char *params[8] = {idtext, parent ? parenttext : NULL,
                             steps ? json_object_to_json_string_ext(steps, JSON_C_TO_STRING_PLAIN) : NULL,
                             sha, rowstext, json_object_to_json_string_ext(columns, JSON_C_TO_STRING_PLAIN),
                             bytestext, who->admin ? NULL : bytext};
    enum err e;
    db_result *r = db_query(ctx->db, &e, 0,
                            "INSERT INTO dataset_versions (dataset_id, version, parent_version, steps, sha256,"
                            " row_count, columns, content_bytes, created_by)"
                            " SELECT $1, coalesce(max(version), 0) + 1, $2, $3::jsonb, $4, $5, $6::jsonb, $7, $8"
                            " FROM dataset_versions WHERE dataset_id = $1 RETURNING id",
                            8, params);
    if (r == NULL)
        return e;
    *version_id = db_int64(r, 0, 0);
    db_clear(r);
    return ERR_NONE;
}

static enum err datasets_find_by_id(struct tally_ctx *ctx, int64_t version_id, struct datasets_version *out)
{
    char idtext[32], sql[768];
    db_param_i64(idtext, version_id);
    snprintf(sql, sizeof(sql),
             "SELECT %s FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id WHERE v.id = $1",
             DATASETS_VERSION_COLUMNS);
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

/* ---- upload ----------------------------------------------------------- */

struct datasets_parsed {
    size_t ncols;
    char **names;
    long rows;
    char sha[65];
    uint64_t bytes;
    struct datasets_stats *stats;      /* ncols, or NULL */
};

/* One pass over the CSV: header checks, every row into the sink (and the
 * stats when asked). */
static enum err datasets_parse(struct tally_ctx *ctx, const struct datasets_input *in, char delim,
                               struct datasets_sink *sink, struct datasets_parsed *p, bool want_stats,
                               struct datasets_error *er)
{
    struct datasets_limits lim;
    datasets_limits_get(ctx, &lim);
    struct csv_reader rd;
    int rc = in->read != NULL
                 ? csv_reader_init(&rd, in->read, in->read_ud, delim, DATASETS_MAX_ROW_BYTES, (size_t)lim.max_columns)
                 : csv_reader_init_mem(&rd, in->data, in->len, delim, DATASETS_MAX_ROW_BYTES, (size_t)lim.max_columns);
    if (rc != 0)
        return ERR_INTERNAL;
    enum err e = ERR_NONE;
    enum csv_status st = csv_next(&rd);
    if (st == CSV_END) {
        e = datasets_fail(er, ERR_UNPROCESSABLE, "body", "the file is empty: a header row is required");
        er->line = 1;
        er->column = 1;
        goto out;
    }
    if (st == CSV_ERROR)
        goto csv_error;
    if (in->hook != NULL && (e = in->hook(in->hook_ud, &rd, er)) != ERR_NONE)
        goto out;
    p->ncols = rd.nfields;
    p->names = arena_alloc(ctx->arena, (p->ncols + 1) * sizeof(*p->names));
    if (p->names == NULL) {
        e = ERR_INTERNAL;
        goto out;
    }
    for (size_t i = 0; i < p->ncols; i++) {
        if (rd.fields[i].len == 0 || rd.fields[i].len > 200) {
            e = datasets_fail(er, ERR_UNPROCESSABLE, "body", "header name %zu is %s", i + 1,
                              rd.fields[i].len ? "longer than 200 bytes" : "empty (every column needs a name)");
            er->line = csv_row_line(&rd);
            er->column = (long)i + 1;
            goto out;
        }
        p->names[i] = arena_strndup(ctx->arena, rd.fields[i].ptr, rd.fields[i].len);
        for (size_t k = 0; k < i; k++)
            if (strcmp(p->names[k], p->names[i]) == 0) {
                e = datasets_fail(er, ERR_UNPROCESSABLE, "body", "header name \"%.100s\" appears twice (columns %zu "
                                  "and %zu)", p->names[i], k + 1, i + 1);
                er->line = csv_row_line(&rd);
                er->column = (long)i + 1;
                goto out;
            }
    }
    if (want_stats) {
        p->stats = arena_alloc(ctx->arena, (p->ncols + 1) * sizeof(*p->stats));
        if (p->stats == NULL) {
            e = ERR_INTERNAL;
            goto out;
        }
        for (size_t i = 0; i < p->ncols; i++)
            datasets_stats_init(&p->stats[i]);
    }
    if (datasets_sink_header(sink, (const char *const *)p->names, p->ncols) != 0) {
        e = ERR_INTERNAL;
        goto out;
    }
    const char *vals[DATASETS_MAX_COLUMNS];
    size_t lens[DATASETS_MAX_COLUMNS];
    p->rows = 0;
    while ((st = csv_next(&rd)) == CSV_ROW) {
        if (p->rows >= lim.max_rows) {
            e = datasets_fail(er, ERR_PAYLOAD_TOO_LARGE, "body", "more than %ld rows (dataset_max_rows)",
                              lim.max_rows);
            er->line = csv_row_line(&rd);
            goto out;
        }
        for (size_t i = 0; i < rd.nfields; i++) {
            vals[i] = rd.fields[i].ptr;
            lens[i] = rd.fields[i].len;
        }
        if (want_stats && datasets_stats_add_row(p->stats, vals, lens, rd.nfields) != 0) {
            e = ERR_INTERNAL;
            goto out;
        }
        if (in->hook != NULL && (e = in->hook(in->hook_ud, &rd, er)) != ERR_NONE)
            goto out;
        if (datasets_sink_row(sink, vals, lens, rd.nfields) != 0) {
            struct datasets_store_ctx *sc = sink->ud;
            e = sc != NULL && sc->err != ERR_NONE ? sc->err : ERR_INTERNAL;
            goto out;
        }
        p->rows++;
    }
    if (st == CSV_ERROR)
        goto csv_error;
    if (datasets_sink_finish(sink, p->sha) != 0) {
        struct datasets_store_ctx *sc = sink->ud;
        e = sc != NULL && sc->err != ERR_NONE ? sc->err : ERR_INTERNAL;
        goto out;
    }
    p->bytes = sink->bytes;
    goto out;
csv_error:
    /* The field is the header name of the column the error is in (a bad
     * quote, bad UTF-8, an over-long value), or "body" for the header line
     * itself and a row with too many or too few fields. */
    e = datasets_fail(er, ERR_UNPROCESSABLE,
                      p->names != NULL && rd.err_field >= 0 && (size_t)rd.err_field < p->ncols
                          ? p->names[rd.err_field]
                          : "body",
                      "line %ld, column %ld: %s", rd.err_line, rd.err_col, rd.err_msg);
    er->line = rd.err_line;
    er->column = rd.err_col;
out:
    csv_reader_free(&rd);
    return e;
}

static void datasets_parsed_free(struct datasets_parsed *p)
{
    for (size_t i = 0; p->stats != NULL && i < p->ncols; i++)
        datasets_stats_free(&p->stats[i]);
    p->stats = NULL;
}

static enum err datasets_tx_end(struct tally_ctx *ctx, enum err e, bool in_tx)
{
    if (in_tx)
        return e;
    if (e == ERR_NONE)
        return db_exec(ctx->db, 0, "COMMIT", 0, NULL);
    db_exec(ctx->db, 0, "ROLLBACK", 0, NULL);
    return e;
}

enum err datasets_upload(struct tally_ctx *ctx, const struct datasets_who *who, int64_t owner, const char *name,
                         const struct datasets_input *in, char delim, bool in_tx, struct datasets_version *out,
                         bool *created, struct datasets_error *er)
{
    /* One pass inside a savepoint: the version row first (the dataset row
     * locked, so its number is final), then parse + stats + digest + chunks;
     * an equal table already kept turns the savepoint back. */
    static const char placeholder[65] = "0000000000000000000000000000000000000000000000000000000000000000";
    struct datasets_parsed p;
    memset(&p, 0, sizeof(p));
    struct datasets_sink sink;
    struct json_object *columns = NULL;
    int64_t dataset_id = 0, version_id = 0, existing = 0;
    *created = false;
    enum err e = ERR_NONE;
    if (!in_tx && (e = db_exec(ctx->db, 0, "BEGIN", 0, NULL)) != ERR_NONE)
        return e;
    if ((e = db_exec(ctx->db, 0, "SAVEPOINT datasets_upload", 0, NULL)) != ERR_NONE)
        goto out_tx;
    e = datasets_lock_dataset(ctx, owner, name, &dataset_id);
    if (e == ERR_NONE) {
        struct json_object *none = json_object_new_array();
        e = datasets_insert_version(ctx, who, dataset_id, 0, NULL, placeholder, 0, none, 0, &version_id);
        json_object_put(none);
    }
    if (e != ERR_NONE)
        goto out_tx;
    struct datasets_store_ctx sc;
    datasets_store_init(&sc, ctx, version_id);
    datasets_sink_init(&sink, datasets_store_chunk, &sc);
    e = datasets_parse(ctx, in, delim, &sink, &p, true, er);
    datasets_sink_free(&sink);
    datasets_store_free(&sc);
    if (e != ERR_NONE)
        goto out_tx;
    columns = json_object_new_array();
    for (size_t i = 0; i < p.ncols; i++)
        json_object_array_add(columns, datasets_stats_json(&p.stats[i], p.names[i],
                                                           datasets_type_of_fits(p.stats[i].fits)));
    char idtext[32];
    db_param_i64(idtext, dataset_id);
    const char *params[3] = {idtext, p.sha, sc.version_id};
    db_result *r = db_query(ctx->db, &e, 0,
                            "SELECT id FROM dataset_versions WHERE dataset_id = $1 AND sha256 = $2"
                            " AND purged_at IS NULL AND id <> $3 ORDER BY version DESC LIMIT 1",
                            3, params);
    if (r == NULL)
        goto out_tx;
    existing = db_rows(r) > 0 ? db_int64(r, 0, 0) : 0;
    db_clear(r);
    if (existing != 0) {
        e = db_exec(ctx->db, 0, "ROLLBACK TO SAVEPOINT datasets_upload", 0, NULL);
        version_id = existing;
        goto out_tx;
    }
    char rows[32], bytes[32];
    snprintf(rows, sizeof(rows), "%ld", p.rows);
    snprintf(bytes, sizeof(bytes), "%" PRIu64, p.bytes);
    const char *up[5] = {sc.version_id, p.sha, rows, json_object_to_json_string_ext(columns, JSON_C_TO_STRING_PLAIN),
                         bytes};
    e = db_exec(ctx->db, 0,
                "UPDATE dataset_versions SET sha256 = $2, row_count = $3, columns = $4::jsonb, content_bytes = $5"
                " WHERE id = $1",
                5, up);
    *created = e == ERR_NONE;
out_tx:
    if (e != ERR_NONE && in_tx)          /* leave the caller's transaction usable */
        db_exec(ctx->db, 0, "ROLLBACK TO SAVEPOINT datasets_upload", 0, NULL);
    e = datasets_tx_end(ctx, e, in_tx);
    if (e == ERR_NONE)
        e = datasets_find_by_id(ctx, version_id, out);
    datasets_parsed_free(&p);
    if (columns != NULL)
        json_object_put(columns);
    return e;
}

/* ---- transform ---------------------------------------------------------- */

static struct json_object *datasets_table_columns_json(const struct datasets_table *t)
{
    struct json_object *a = json_object_new_array();
    for (size_t c = 0; c < t->ncols; c++) {
        struct datasets_stats s;
        datasets_stats_init(&s);
        datasets_stats_add_column(&s, t->cols[c], t->nrows);
        json_object_array_add(a, datasets_stats_json(&s, t->names[c], t->types[c]));
        datasets_stats_free(&s);
    }
    return a;
}

/* Name, type and missing count of each column (the preview's, cheap). */
static struct json_object *datasets_table_columns_brief(const struct datasets_table *t)
{
    struct json_object *a = json_object_new_array();
    for (size_t c = 0; c < t->ncols; c++) {
        long missing = 0;
        for (size_t r = 0; r < t->nrows; r++)
            missing += t->cols[c][r] == NULL;
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(t->names[c]));
        json_object_object_add(o, "type", json_object_new_string(datasets_type_name(t->types[c])));
        json_object_object_add(o, "missing", json_object_new_int64(missing));
        json_object_array_add(a, o);
    }
    return a;
}

static bool datasets_json_bool(struct json_object *body, const char *key, bool dflt, bool *wrong)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(body, key, &v) || v == NULL)
        return dflt;
    if (!json_object_is_type(v, json_type_boolean)) {
        *wrong = true;
        return dflt;
    }
    return json_object_get_boolean(v);
}

enum err datasets_transform(struct tally_ctx *ctx, const struct datasets_who *who, const struct datasets_version *v,
                            struct json_object *body, struct json_object **out, bool *created,
                            struct datasets_error *er)
{
    *created = false;
    if (!json_object_is_type(body, json_type_object))
        return datasets_fail(er, ERR_BAD_REQUEST, "body", "expected a JSON object {\"steps\": [...]}");
    bool wrong = false;
    bool preview = datasets_json_bool(body, "preview", false, &wrong);
    if (wrong)
        return datasets_fail(er, ERR_UNPROCESSABLE, "preview", "preview must be true or false");
    bool force = datasets_json_bool(body, "force", false, &wrong);
    if (wrong)
        return datasets_fail(er, ERR_UNPROCESSABLE, "force", "force must be true or false");
    if (v->purged)
        return datasets_fail(er, ERR_GONE, NULL, "version %d is past retention: its rows are no longer kept",
                             v->version);
    char **names;
    enum datasets_type *types;
    size_t ncols;
    if (datasets_schema(ctx, v, &names, &types, &ncols) != 0)
        return ERR_INTERNAL;
    struct json_object *steps = NULL;
    json_object_object_get_ex(body, "steps", &steps);
    struct datasets_plan *plan = arena_alloc(ctx->arena, sizeof(*plan));
    if (plan == NULL)
        return ERR_INTERNAL;
    if (datasets_ops_validate(ctx->arena, steps, names, types, ncols, plan, &er->step, er->reason) != 0) {
        if (er->step < 0)
            return datasets_fail(er, ERR_UNPROCESSABLE, "steps", "%s", er->reason);
        return datasets_fail(er, ERR_UNPROCESSABLE, "steps", "step %d (%s): %s", er->step,
                             plan->steps[er->step].op_name ? plan->steps[er->step].op_name : "?", er->reason);
    }
    if (v->rows == 0)
        return datasets_fail(er, ERR_UNPROCESSABLE, "version", "version %d is empty: there are no rows to transform",
                             v->version);
    struct datasets_table t;
    enum err e = datasets_load(ctx, v, &t);
    if (e == ERR_PAYLOAD_TOO_LARGE)
        return datasets_fail(er, e, "version", "version %d (%" PRId64 " rows) does not fit in one request's memory "
                             "to be transformed", v->version, v->rows);
    if (e != ERR_NONE)
        return e;
    size_t *rows_after = arena_alloc(ctx->arena, (plan->nsteps + 1) * sizeof(*rows_after));
    struct json_object *warnings = json_object_new_array();
    if (rows_after == NULL || datasets_ops_run(plan, &t, rows_after, warnings) != 0) {
        json_object_put(warnings);
        return ERR_INTERNAL;
    }
    long before = (long)v->rows, after = (long)t.nrows;
    bool big_loss = after == 0 || after * 2 < before;
    if (big_loss && before > 0) {
        char w[128];
        snprintf(w, sizeof(w), "the result keeps %ld of %ld rows (loses %ld %%)", after, before,
                 (long)((100.0 * (double)(before - after)) / (double)before + 0.5));
        json_object_array_add(warnings, json_object_new_string(w));
    }
    if (preview) {
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "rows_before", json_object_new_int64(before));
        json_object_object_add(o, "rows_after", json_object_new_int64(after));
        json_object_object_add(o, "columns", datasets_table_columns_brief(&t));
        struct json_object *ps = json_object_new_array();
        for (size_t i = 0; i < plan->nsteps; i++) {
            struct json_object *s = json_object_new_object();
            json_object_object_add(s, "op", json_object_new_string(plan->steps[i].op_name));
            json_object_object_add(s, "rows_after", json_object_new_int64((int64_t)rows_after[i]));
            json_object_array_add(ps, s);
        }
        json_object_object_add(o, "per_step", ps);
        struct json_object *sample = json_object_new_array();
        for (size_t r = 0; r < t.nrows && r < DATASETS_SAMPLE_ROWS; r++)
            json_object_array_add(sample, datasets_table_row_json(&t, r));
        json_object_object_add(o, "sample", sample);
        json_object_object_add(o, "warnings", warnings);
        json_object_object_add(o, "force_needed", json_object_new_boolean(big_loss));
        *out = o;
        return ERR_NONE;
    }
    json_object_put(warnings);
    if (big_loss && !force)
        return datasets_fail(er, ERR_UNPROCESSABLE, "force",
                             after == 0 ? "the transform removes every row; send \"force\": true to store it anyway"
                                        : "the transform removes more than 50 %% of the rows (%ld of %ld kept); "
                                          "send \"force\": true to store it anyway",
                             after, before);
    struct json_object *columns = datasets_table_columns_json(&t);
    /* One pass: the version row (digest still unknown), its chunks while
     * hashing, then the digest and size, all in one transaction. */
    static const char placeholder[65] = "0000000000000000000000000000000000000000000000000000000000000000";
    struct datasets_sink sink;
    char sha[65];
    int64_t version_id = 0, dataset_id = 0;
    if ((e = db_exec(ctx->db, 0, "BEGIN", 0, NULL)) != ERR_NONE)
        goto out;
    e = datasets_lock_dataset(ctx, v->owner, v->name, &dataset_id);
    if (e == ERR_NONE)
        e = datasets_insert_version(ctx, who, dataset_id, v->version, steps, placeholder, after, columns, 0,
                                    &version_id);
    if (e == ERR_NONE) {
        struct datasets_store_ctx sc;
        datasets_store_init(&sc, ctx, version_id);
        datasets_sink_init(&sink, datasets_store_chunk, &sc);
        if (datasets_table_write(&t, &sink) != 0 || datasets_sink_finish(&sink, sha) != 0)
            e = sc.err != ERR_NONE ? sc.err : ERR_INTERNAL;
        char bytes[32];
        snprintf(bytes, sizeof(bytes), "%" PRIu64, sink.bytes);
        datasets_sink_free(&sink);
        const char *params[3] = {sc.version_id, sha, bytes};
        if (e == ERR_NONE)
            e = db_exec(ctx->db, 0, "UPDATE dataset_versions SET sha256 = $2, content_bytes = $3 WHERE id = $1", 3,
                        params);
        datasets_store_free(&sc);
    }
    e = datasets_tx_end(ctx, e, false);
    if (e == ERR_NONE) {
        struct datasets_version nv;
        e = datasets_find_by_id(ctx, version_id, &nv);
        if (e == ERR_NONE) {
            *out = datasets_version_json(&nv, true);
            datasets_version_free(&nv);
            *created = true;
        }
    }
out:
    json_object_put(columns);
    return e;
}

/* ---- diff --------------------------------------------------------------- */

struct datasets_key {
    const char *key;
    size_t row;
};

static int datasets_key_cmp(const void *a, const void *b)
{
    const struct datasets_key *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c != 0)
        return c;
    return x->row < y->row ? -1 : x->row > y->row;
}

/* Row keys over the given columns (indices into t), sorted. */
static struct datasets_key *datasets_keys(struct arena *a, const struct datasets_table *t, const size_t *cols,
                                          size_t n)
{
    struct datasets_key *k = arena_alloc(a, (t->nrows + 1) * sizeof(*k));
    if (k == NULL)
        return NULL;
    struct buf b;
    buf_init(&b, DATASETS_MAX_ROW_BYTES * 2);
    for (size_t r = 0; r < t->nrows; r++) {
        b.len = 0;
        for (size_t i = 0; i < n; i++) {
            const char *v = t->cols[cols[i]][r];
            buf_append(&b, v ? "v" : "m", 1);
            if (v)
                buf_append(&b, v, strlen(v));
            buf_append(&b, "\x1f", 1);
        }
        k[r].key = arena_strndup(a, b.data ? b.data : "", b.len);
        k[r].row = r;
        if (k[r].key == NULL) {
            buf_free(&b);
            return NULL;
        }
    }
    buf_free(&b);
    qsort(k, t->nrows, sizeof(*k), datasets_key_cmp);
    return k;
}

static int datasets_col_index(const struct datasets_table *t, const char *name)
{
    for (size_t i = 0; i < t->ncols; i++)
        if (strcmp(t->names[i], name) == 0)
            return (int)i;
    return -1;
}

static struct json_object *datasets_diff_sample(const struct datasets_table *t, const bool *only)
{
    struct json_object *a = json_object_new_array();
    for (size_t r = 0, n = 0; r < t->nrows && n < DATASETS_DIFF_SAMPLE; r++)
        if (only[r]) {
            json_object_array_add(a, datasets_table_row_json(t, r));
            n++;
        }
    return a;
}

enum err datasets_diff(struct tally_ctx *ctx, const struct datasets_version *v, const struct datasets_version *w,
                       struct json_object **out)
{
    struct datasets_table tv, tw;
    enum err e = datasets_load(ctx, v, &tv);
    if (e == ERR_NONE)
        e = datasets_load(ctx, w, &tw);
    if (e != ERR_NONE)
        return e;
    size_t *cv = arena_alloc(ctx->arena, (tv.ncols + 1) * sizeof(*cv));
    size_t *cw = arena_alloc(ctx->arena, (tv.ncols + 1) * sizeof(*cw));
    bool *only_v = arena_alloc(ctx->arena, tv.nrows + 1), *only_w = arena_alloc(ctx->arena, tw.nrows + 1);
    if (cv == NULL || cw == NULL || only_v == NULL || only_w == NULL)
        return ERR_INTERNAL;
    struct json_object *added = json_object_new_array(), *removed = json_object_new_array();
    struct json_object *retyped = json_object_new_array(), *compared = json_object_new_array();
    struct json_object *stats = json_object_new_array();
    size_t ncommon = 0;
    for (size_t i = 0; i < tv.ncols; i++) {
        int j = datasets_col_index(&tw, tv.names[i]);
        if (j < 0) {
            json_object_array_add(added, json_object_new_string(tv.names[i]));
            continue;
        }
        cv[ncommon] = i;
        cw[ncommon] = (size_t)j;
        ncommon++;
        json_object_array_add(compared, json_object_new_string(tv.names[i]));
        if (tv.types[i] != tw.types[j]) {
            struct json_object *o = json_object_new_object();
            json_object_object_add(o, "name", json_object_new_string(tv.names[i]));
            json_object_object_add(o, "from", json_object_new_string(datasets_type_name(tw.types[j])));
            json_object_object_add(o, "to", json_object_new_string(datasets_type_name(tv.types[i])));
            json_object_array_add(retyped, o);
        }
    }
    for (size_t j = 0; j < tw.ncols; j++)
        if (datasets_col_index(&tv, tw.names[j]) < 0)
            json_object_array_add(removed, json_object_new_string(tw.names[j]));
    /* Multiset difference of the rows over the common columns. */
    struct datasets_key *kv = datasets_keys(ctx->arena, &tv, cv, ncommon);
    struct datasets_key *kw = datasets_keys(ctx->arena, &tw, cw, ncommon);
    long n_only_v = 0, n_only_w = 0;
    if (kv == NULL || kw == NULL) {
        e = ERR_INTERNAL;
        goto out;
    }
    memset(only_v, 0, tv.nrows + 1);
    memset(only_w, 0, tw.nrows + 1);
    size_t i = 0, j = 0;
    while (i < tv.nrows || j < tw.nrows) {
        int c = i == tv.nrows ? 1 : j == tw.nrows ? -1 : strcmp(kv[i].key, kw[j].key);
        if (c == 0) {
            i++;
            j++;
        } else if (c < 0) {
            only_v[kv[i++].row] = true;
            n_only_v++;
        } else {
            only_w[kw[j++].row] = true;
            n_only_w++;
        }
    }
    struct json_object *sv = datasets_table_columns_json(&tv), *sw = datasets_table_columns_json(&tw);
    for (size_t k = 0; k < tv.ncols; k++) {
        struct json_object *o = json_object_new_object();
        int jw = datasets_col_index(&tw, tv.names[k]);
        json_object_object_add(o, "name", json_object_new_string(tv.names[k]));
        json_object_object_add(o, "version", json_object_get(json_object_array_get_idx(sv, k)));
        json_object_object_add(o, "against", jw < 0 ? NULL : json_object_get(json_object_array_get_idx(sw, (size_t)jw)));
        json_object_array_add(stats, o);
    }
    for (size_t k = 0; k < tw.ncols; k++) {
        if (datasets_col_index(&tv, tw.names[k]) >= 0)
            continue;
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(tw.names[k]));
        json_object_object_add(o, "version", NULL);
        json_object_object_add(o, "against", json_object_get(json_object_array_get_idx(sw, k)));
        json_object_array_add(stats, o);
    }
    json_object_put(sv);
    json_object_put(sw);
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "version", json_object_new_int(v->version));
    json_object_object_add(o, "against", json_object_new_int(w->version));
    json_object_object_add(o, "compared_columns", compared);
    json_object_object_add(o, "rows_only_in_version", json_object_new_int64(n_only_v));
    json_object_object_add(o, "rows_only_in_against", json_object_new_int64(n_only_w));
    json_object_object_add(o, "sample_only_in_version", datasets_diff_sample(&tv, only_v));
    json_object_object_add(o, "sample_only_in_against", datasets_diff_sample(&tw, only_w));
    json_object_object_add(o, "columns_added", added);
    json_object_object_add(o, "columns_removed", removed);
    json_object_object_add(o, "columns_retyped", retyped);
    json_object_object_add(o, "stats", stats);
    *out = o;
    return ERR_NONE;
out:
    json_object_put(added);
    json_object_put(removed);
    json_object_put(retyped);
    json_object_put(compared);
    json_object_put(stats);
    return e;
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
    char keeptext[16];
    snprintf(keeptext, sizeof(keeptext), "%d", keep);
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
