/* datasets_upload: one pass over a CSV (a buffer or a streamed body):
 * header checks, statistics, canonical digest and stored chunks, in one
 * transaction (a savepoint inside the import's). */
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
    db_param_i64(rows, p.rows);
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

