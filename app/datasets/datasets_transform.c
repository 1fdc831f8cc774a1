/* datasets_transform: a chain of steps validated as a whole, run on the
 * version in memory, previewed or stored as the next version. */
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

/* ---- transform ---------------------------------------------------------- */

struct json_object *datasets_table_columns_json(const struct datasets_table *t)
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

