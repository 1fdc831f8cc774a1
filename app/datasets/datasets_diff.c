/* datasets_diff: two versions compared as multisets of rows over their
 * common columns, columns added / removed / retyped, stats side by side. */
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

