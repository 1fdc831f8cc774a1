/* datasets_seed: the module's demo data (`tallyctl seed-demo`, through the
 * module table's seed_demo hook). For the first demo user: the user's own
 * seeded transactions written out as a bank export in the French shape (`;`,
 * DD/MM/YYYY, decimal comma with a thousands space, French headers,
 * `Référence` = their external_id) and imported through datasets_import, so
 * the user has a `transactions-import` dataset whose rows are all
 * duplicates (seed-demo's counts and window stay exact); and a small
 * `demo-scores` dataset with a three-step transform, so the dashboard shows
 * a lineage. Deterministic: it only reads what seed-demo wrote. */
#define _GNU_SOURCE
#include "datasets_seed.h"
#include "datasets.h"
#include "datasets_import.h"
#include "../core/buf.h"
#include "../core/module.h"
#include "../csv/csv.h"
#include "../store/db.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DATASETS_SEED_ROWS "200"

static int datasets_seed_emit(void *ud, const char *d, size_t n)
{
    return buf_append(ud, d, n) ? 0 : -1;
}

/* "-1 234,56" from cents. */
static void datasets_seed_amount(int64_t cents, char out[32])
{
    int64_t a = cents < 0 ? -cents : cents;
    int64_t units = a / 100;
    if (units >= 1000)
        snprintf(out, 32, "%s%" PRId64 " %03" PRId64 ",%02" PRId64, cents < 0 ? "-" : "", units / 1000, units % 1000,
                 a % 100);
    else
        snprintf(out, 32, "%s%" PRId64 ",%02" PRId64, cents < 0 ? "-" : "", units, a % 100);
}

/* The user's transactions as a French bank export into b. */
static enum err datasets_seed_export(struct tally_ctx *ctx, int64_t user_id, struct buf *b, int *rows)
{
    char idtext[32];
    db_param_i64(idtext, user_id);
    const char *params[1] = {idtext};
    enum err e;
    db_result *r = db_query(ctx->db, &e, 0,
                            "SELECT to_char(date, 'DD/MM/YYYY'), coalesce(merchant, ''), amount_cents,"
                            " coalesce(category, ''), external_id FROM transactions"
                            " WHERE user_id = $1 AND external_id IS NOT NULL ORDER BY date, id LIMIT " DATASETS_SEED_ROWS,
                            1, params);
    if (r == NULL)
        return e;
    buf_puts(b, "Date;Libellé;Montant;Catégorie;Référence\r\n");
    for (int i = 0; i < db_rows(r); i++) {
        char amount[32];
        datasets_seed_amount(db_int64(r, i, 2), amount);
        const char *vals[5] = {db_value(r, i, 0), db_value(r, i, 1), amount, db_value(r, i, 3), db_value(r, i, 4)};
        size_t lens[5];
        for (int k = 0; k < 5; k++)
            lens[k] = strlen(vals[k]);
        for (int k = 0; k < 5; k++) {
            if (k > 0)
                buf_append(b, ";", 1);
            csv_write_field(vals[k], lens[k], ';', datasets_seed_emit, b);
        }
        buf_append(b, "\r\n", 2);
    }
    *rows = db_rows(r);
    db_clear(r);
    return b->overflow ? ERR_INTERNAL : ERR_NONE;
}

int datasets_seed_demo(struct tally_ctx *ctx, uint64_t seed, const int64_t *user_ids, int user_count, FILE *out)
{
    if (user_count <= 0)
        return 0;
    (void)seed;
    struct buf b;
    buf_init(&b, 1 << 22);
    int rows = 0;
    struct datasets_who who = {0, true};
    struct datasets_error er;
    memset(&er, 0, sizeof(er));
    er.step = -1;
    struct datasets_import_result ir;
    struct json_object *rejected = NULL;
    int rc = 0;
    enum err e = datasets_seed_export(ctx, user_ids[0], &b, &rows);
    if (e == ERR_NONE && rows > 0)
        e = datasets_import(ctx, &who, user_ids[0], &(struct datasets_input){.data = b.data, .len = b.len}, 0, &ir, &rejected, &er);
    else if (e == ERR_NONE)
        memset(&ir, 0, sizeof(ir));
    if (rejected != NULL)
        json_object_put(rejected);
    if (e != ERR_NONE) {
        fprintf(out, "datasets demo: import failed: %s\n", er.message[0] ? er.message : err_lookup(e)->code);
        rc = -1;
        goto out;
    }
    if (ir.inserted > 0)
        module_publish(ctx, &(struct tally_event){TALLY_EVENT_TRANSACTIONS_CHANGED, user_ids[0]});
    static const char scores[] = "name,age,city,score\nann,30,Paris,12.5\nbob,,Lyon,7\ncid,41,,9.25\n"
                                 "dan,27,Nice,\nann,30,Paris,12.5\neve,35,Paris,15\n";
    struct datasets_version v;
    bool created;
    e = datasets_upload(ctx, &who, user_ids[0], "demo-scores",
                        &(struct datasets_input){.data = scores, .len = sizeof(scores) - 1}, 0, false, &v, &created,
                        &er);
    if (e == ERR_NONE) {
        struct json_object *body = json_tokener_parse(
            "{\"steps\": [{\"op\": \"dedupe\"}, {\"op\": \"fill_missing\", \"column\": \"age\", \"strategy\": "
            "\"median\"}, {\"op\": \"scale\", \"column\": \"score\", \"method\": \"minmax\"}]}");
        struct json_object *made = NULL;
        bool applied;
        if (created)
            e = datasets_transform(ctx, &who, &v, body, &made, &applied, &er);
        json_object_put(body);
        if (made != NULL)
            json_object_put(made);
        datasets_version_free(&v);
    }
    if (e != ERR_NONE) {
        fprintf(out, "datasets demo: demo-scores failed: %s\n", er.message[0] ? er.message : err_lookup(e)->code);
        rc = -1;
        goto out;
    }
    fprintf(out, "datasets demo: user %" PRId64 ": a bank export of %d of its transactions imported as dataset %" PRId64
            " version %d (%ld duplicates), demo-scores with a transform\n", user_ids[0], rows, ir.dataset_id, ir.version,
            ir.duplicates);
out:
    buf_free(&b);
    return rc;
}
