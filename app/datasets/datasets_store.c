/* datasets_store: see datasets_store.h. */
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

#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DATASETS_CHUNKS_PER_FETCH 32                /* about 1 MiB of CSV per round trip */

/* ---- reading stored rows -------------------------------------------- */

/* Calls fn for rows [from, to) of v, in order (to < 0: all). */
static enum err datasets_scan(struct tally_ctx *ctx, const struct datasets_version *v, size_t ncols, long from,
                              long to, datasets_row_fn fn, void *ud)
{
    if (v->purged)
        return ERR_GONE;
    char id[32], fromtext[32], totext[32], seqtext[32];
    db_param_i64(id, v->id);
    db_param_i64(fromtext, from);
    db_param_i64(totext, to < 0 ? (long)v->rows : to);
    int seq = 0;
    for (;;) {
        db_param_i64(seqtext, seq);
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
enum err datasets_load(struct tally_ctx *ctx, const struct datasets_version *v, struct datasets_table *t)
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
    char id[32], seqtext[DB_INT64_BYTES];
    db_param_i64(id, v->id);
    long rows = 0;
    for (int seq = 0;;) {
        db_param_i64(seqtext, seq);
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

/* ---- storing a version ------------------------------------------------ */


void datasets_store_init(struct datasets_store_ctx *sc, struct tally_ctx *ctx, int64_t version_id)
{
    memset(sc, 0, sizeof(*sc));
    sc->ctx = ctx;
    db_param_i64(sc->version_id, version_id);
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
    /* 80 bytes of head, then at most 2 + 30 per tuple (", ($1, $NN, $NN,
     * $NN, $NN)" with 3-digit numbers): sized so it always fits; a tuple
     * that would not (a larger DATASETS_STORE_BATCH) fails the write
     * rather than run a truncated statement. */
    char sql[80 + DATASETS_STORE_BATCH * 40];
    const char *params[1 + DATASETS_STORE_BATCH * 4];
    size_t pos = (size_t)snprintf(sql, sizeof(sql),
                                  "INSERT INTO dataset_chunks (version_id, seq, first_row, row_count, data) VALUES ");
    params[0] = sc->version_id;
    for (int i = 0; i < sc->n; i++) {
        int p = 2 + i * 4;
        int w = snprintf(sql + pos, sizeof(sql) - pos, "%s($1, $%d, $%d, $%d, $%d)", i ? ", " : "", p, p + 1, p + 2,
                         p + 3);
        if (w < 0 || (size_t)w >= sizeof(sql) - pos) {
            sc->err = ERR_INTERNAL;
            return -1;
        }
        pos += (size_t)w;
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

int datasets_store_chunk(void *ud, int seq, long first_row, long row_count, const char *data, size_t len)
{
    struct datasets_store_ctx *sc = ud;
    if (seq < 0)
        return datasets_store_write(sc);
    db_param_i64(sc->meta[sc->n][0], seq);
    db_param_i64(sc->meta[sc->n][1], first_row);
    db_param_i64(sc->meta[sc->n][2], row_count);
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

void datasets_store_free(struct datasets_store_ctx *sc)
{
    buf_free(&sc->data);
}

/* The dataset row of (owner, name), created if missing, locked for the transaction. */
enum err datasets_lock_dataset(struct tally_ctx *ctx, int64_t owner, const char *name, int64_t *id)
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
enum err datasets_insert_version(struct tally_ctx *ctx, const struct datasets_who *who, int64_t dataset_id,
                                        int parent, struct json_object *steps, const char *sha, long rows,
                                        struct json_object *columns, uint64_t bytes, int64_t *version_id)
{
    char idtext[32], parenttext[DB_INT64_BYTES], rowstext[32], bytestext[32], bytext[32];
    db_param_i64(idtext, dataset_id);
    db_param_i64(parenttext, parent);
    db_param_i64(rowstext, rows);
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

enum err datasets_tx_end(struct tally_ctx *ctx, enum err e, bool in_tx)
{
    if (in_tx)
        return e;
    if (e == ERR_NONE)
        return db_exec(ctx->db, 0, "COMMIT", 0, NULL);
    db_exec(ctx->db, 0, "ROLLBACK", 0, NULL);
    return e;
}

