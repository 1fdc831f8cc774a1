/* opportunities_stats: a user's (or every user's) counts by tier, status
 * and score bucket, cache-aside on cachegen for one user, and the business
 * lines of /metrics from the opportunity_counters table (the same on every
 * host, since they live in PostgreSQL). */
#define _GNU_SOURCE
#include "opportunities.h"
#include "opportunities_fields.h"
#include "opportunities_internal.h"
#include "opportunities_score.h"
#include "../cache/cachegen.h"
#include "../core/buf.h"
#include "../core/module.h"
#include "../store/db.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- stats ------------------------------------------------------------------------- */

/* Histogram buckets [0,10), [10,20), … [90,100] (the last one holds 100). */
static const char OST_SQL[] =
    "SELECT count(*), count(*) FILTER (WHERE tier = 'A'), count(*) FILTER (WHERE tier = 'B'),"
    " count(*) FILTER (WHERE tier = 'C'), count(*) FILTER (WHERE score IS NULL),"
    " count(*) FILTER (WHERE status = 'new'), count(*) FILTER (WHERE status = 'contacted'),"
    " count(*) FILTER (WHERE status = 'interviewing'), count(*) FILTER (WHERE status = 'offer'),"
    " count(*) FILTER (WHERE status = 'rejected'), count(*) FILTER (WHERE status = 'archived'),"
    " count(*) FILTER (WHERE score < 10), count(*) FILTER (WHERE score >= 10 AND score < 20),"
    " count(*) FILTER (WHERE score >= 20 AND score < 30), count(*) FILTER (WHERE score >= 30 AND score < 40),"
    " count(*) FILTER (WHERE score >= 40 AND score < 50), count(*) FILTER (WHERE score >= 50 AND score < 60),"
    " count(*) FILTER (WHERE score >= 60 AND score < 70), count(*) FILTER (WHERE score >= 70 AND score < 80),"
    " count(*) FILTER (WHERE score >= 80 AND score < 90), count(*) FILTER (WHERE score >= 90)"
    ", coalesce((SELECT opportunity_generation FROM metric_generations WHERE user_id = $1::bigint), 0)"
    " FROM opportunities WHERE $1::bigint IS NULL OR user_id = $1::bigint";

/* *gen: the user's opportunity generation in the snapshot of the counts. */
static enum err ost_render(struct tally_ctx *ctx, int64_t user_id, char **json, size_t *len, uint64_t *gen)
{
    char uid[24];
    db_param_i64(uid, user_id);
    const char *params[1] = {user_id > 0 ? uid : NULL};
    enum err e;
    db_result *r = db_query(ctx->db, &e, DB_RETRY_ON_RECONNECT, OST_SQL, 1, params);
    if (r == NULL)
        return e;
    struct json_object *root = json_object_new_object(), *tiers = json_object_new_object();
    struct json_object *statuses = json_object_new_object(), *hist = json_object_new_array();
    json_object_object_add(root, "total", json_object_new_int64(db_int64(r, 0, 0)));
    static const char *const tier_keys[] = {"A", "B", "C", "unscored"};
    for (int i = 0; i < 4; i++)
        json_object_object_add(tiers, tier_keys[i], json_object_new_int64(db_int64(r, 0, 1 + i)));
    for (int i = 0; opf_statuses[i] != NULL; i++)
        json_object_object_add(statuses, opf_statuses[i], json_object_new_int64(db_int64(r, 0, 5 + i)));
    for (int b = 0; b < 10; b++) {
        struct json_object *bucket = json_object_new_object();
        json_object_object_add(bucket, "from", json_object_new_int(b * 10));
        json_object_object_add(bucket, "to", json_object_new_int(b * 10 + 10));
        json_object_object_add(bucket, "count", json_object_new_int64(db_int64(r, 0, 11 + b)));
        json_object_array_add(hist, bucket);
    }
    *gen = (uint64_t)db_int64(r, 0, 21);
    db_clear(r);
    json_object_object_add(root, "by_tier", tiers);
    json_object_object_add(root, "by_status", statuses);
    json_object_object_add(root, "score_histogram", hist);
    return opp_take_json(root, json, len);
}

enum err opportunities_stats(struct tally_ctx *ctx, int64_t user_id, char **json, size_t *len)
{
    char key[48];
    size_t klen = opp_key(key, 's', user_id, 0);
    uint64_t token = 0, gen = 0;
    int cached = -1;
    *json = NULL;
    if (user_id > 0 && cachegen_trusted(ctx->db, ctx->cache, OPP_CACHE_NS, user_id)) {
        cached = cachegen_lookup(ctx->cache, OPP_CACHE_NS, user_id, key, klen, &token, json, len);
        if (cached == 1)
            return ERR_NONE;
    }
    enum err e = ost_render(ctx, user_id, json, len, &gen);
    if (e == ERR_NONE && cached == 0)
        cachegen_put(ctx->cache, OPP_CACHE_NS, user_id, key, klen, gen, token, *json, *len, OPP_STATS_CACHE_TTL_S);
    return e;
}


/* ---- /metrics ------------------------------------------------------------------------ */

void opportunities_metrics(const struct tally_ctx *ctx, struct buf *out)
{
    enum err e;
    db_result *r = db_query(ctx->db, &e, DB_RETRY_ON_RECONNECT,
                            "SELECT name, label, value FROM opportunity_counters", 0, NULL);
    if (r == NULL)
        return;
    int64_t created[4] = {0}, tiers[3] = {0}, buckets[10] = {0}, count = 0, sum = 0;
    for (int i = 0; i < db_rows(r); i++) {
        const char *name = db_value(r, i, 0), *label = db_value(r, i, 1);
        int64_t v = db_int64(r, i, 2);
        if (strcmp(name, "created") == 0) {
            for (int s = 0; s < 4; s++)
                if (strcmp(label, opf_sources[s]) == 0)
                    created[s] += v;
        } else if (strcmp(name, "scored") == 0) {
            int score = atoi(label);
            if (score < 0 || score > 100)
                continue;
            char t = opportunities_tier_of(score);
            tiers[t - 'A'] += v;
            count += v;
            sum += v * score;
            for (int b = 0; b < 10; b++)        /* le = 10, 20, … 100: non-cumulative here */
                if (score <= 10 * (b + 1)) {
                    buckets[b] += v;
                    break;
                }
        }
    }
    db_clear(r);
    buf_printf(out, "# HELP tally_opportunities_created_total Opportunities created, by source.\n"
                    "# TYPE tally_opportunities_created_total counter\n");
    for (int s = 0; s < 4; s++)
        buf_printf(out, "tally_opportunities_created_total{source=\"%s\"} %" PRId64 "\n", opf_sources[s], created[s]);
    buf_printf(out, "# HELP tally_opportunities_scored_total Scores written by the scoring jobs, by tier.\n"
                    "# TYPE tally_opportunities_scored_total counter\n");
    for (int t = 0; t < 3; t++)
        buf_printf(out, "tally_opportunities_scored_total{tier=\"%c\"} %" PRId64 "\n", 'A' + t, tiers[t]);
    buf_printf(out, "# HELP tally_opportunity_score Scores written by the scoring jobs (0-100).\n"
                    "# TYPE tally_opportunity_score histogram\n");
    int64_t cumulative = 0;
    for (int b = 0; b < 10; b++) {
        cumulative += buckets[b];
        buf_printf(out, "tally_opportunity_score_bucket{le=\"%d\"} %" PRId64 "\n", 10 * (b + 1), cumulative);
    }
    buf_printf(out, "tally_opportunity_score_bucket{le=\"+Inf\"} %" PRId64 "\n", count);
    buf_printf(out, "tally_opportunity_score_sum %" PRId64 "\ntally_opportunity_score_count %" PRId64 "\n", sum,
               count);
}
