/* datasets_seed: the module's demo data (`tallyctl seed-demo`, through the
 * module table's seed_demo hook). For the first demo user: a bank export in
 * the French shape (`;`, DD/MM/YYYY, decimal comma, French headers, a quoted
 * amount with a thousands space) imported through datasets_import, so the
 * user has a `transactions-import` dataset and transactions carrying their
 * dataset_version; and a small `demo-scores` dataset with a two-step
 * transform chain, so the dashboard shows a lineage. Deterministic in seed
 * (the dates are the last 60 days before today). */
#define _GNU_SOURCE
#include "datasets_seed.h"
#include "datasets.h"
#include "datasets_import.h"
#include "../core/buf.h"
#include "../core/module.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define DATASETS_SEED_ROWS 40

static const char *const datasets_seed_merchants[][2] = {
    {"CB CARREFOUR MARKET", "Alimentation"}, {"CB MONOPRIX", "Alimentation"}, {"PRLV SNCF", "Transport"},
    {"CB CAFE DE FLORE", "Restaurant"}, {"PRLV NETFLIX.COM", "Loisirs"}, {"CB PHARMACIE DU CENTRE", "Santé"},
    {"CB LEROY MERLIN", "Bricolage"}, {"CB BOULANGERIE PAUL", "Alimentation"},
};

static uint64_t datasets_seed_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

int datasets_seed_demo(struct tally_ctx *ctx, uint64_t seed, const int64_t *user_ids, int user_count, FILE *out)
{
    if (user_count <= 0)
        return 0;
    uint64_t rng = seed ^ 0x6461746173657473ULL;
    if (rng == 0)
        rng = 1;
    struct buf b;
    buf_init(&b, 1 << 20);
    buf_puts(&b, "Date;Libellé;Montant;Catégorie\r\n");
    time_t now = time(NULL);
    for (int i = 0; i < DATASETS_SEED_ROWS; i++) {
        time_t t = now - (time_t)(datasets_seed_next(&rng) % 60) * 86400;
        struct tm tm;
        gmtime_r(&t, &tm);
        size_t m = datasets_seed_next(&rng) % (sizeof(datasets_seed_merchants) / sizeof(datasets_seed_merchants[0]));
        long cents = 150 + (long)(datasets_seed_next(&rng) % 12000);
        buf_printf(&b, "%02d/%02d/%04d;%s;-%ld,%02ld;%s\r\n", tm.tm_mday, tm.tm_mon + 1, tm.tm_year + 1900,
                   datasets_seed_merchants[m][0], cents / 100, cents % 100, datasets_seed_merchants[m][1]);
    }
    buf_puts(&b, "01/01/2026;VIR SALAIRE ACME SAS;\"2 345,67\";Salaire\r\n");
    struct datasets_who who = {0, true};
    struct datasets_error er;
    memset(&er, 0, sizeof(er));
    er.step = -1;
    struct datasets_import_result ir;
    struct json_object *rejected = NULL;
    int rc = 0;
    enum err e = b.overflow ? ERR_INTERNAL
                            : datasets_import(ctx, &who, user_ids[0], b.data, b.len, 0, &ir, &rejected, &er);
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
    e = datasets_upload(ctx, &who, user_ids[0], "demo-scores", scores, sizeof(scores) - 1, 0, false, &v, &created,
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
    fprintf(out, "datasets demo: user %" PRId64 ": bank export imported (%ld transactions, dataset %" PRId64
            " version %d), demo-scores with a transform\n", user_ids[0], ir.inserted, ir.dataset_id, ir.version);
out:
    buf_free(&b);
    return rc;
}
