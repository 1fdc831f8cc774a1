/* opportunities_jobs: the scoring jobs (process_opportunity: one row;
 * score_opportunities: every row of a user). A score is written only while
 * the content and the preferences are those scored, and each write is
 * followed by cachegen_sync_user of the owner. */
#define _GNU_SOURCE
#include "opportunities.h"
#include "opportunities_internal.h"
#include "opportunities_score.h"
#include "../cache/cachegen.h"
#include "../core/log.h"
#include "../jobs/jobs.h"
#include "../store/db.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- scoring ------------------------------------------------------------------------ */

static const char OJ_READ_SQL[] =
    "SELECT o.user_id, o.title, o.company, o.message, o.remote, o.salary_min, o.salary_max, o.currency,"
    " o.content_rev, p.prefs::text, coalesce(p.rev, 0)"
    " FROM opportunities o LEFT JOIN opportunity_preferences p ON p.user_id = o.user_id WHERE o.id = $1::bigint";

/* Written only while the content and the preferences are those scored. */
static const char OJ_WRITE_SQL[] =
    "WITH u AS (UPDATE opportunities o SET score = $4::smallint, tier = $5, score_details = $6::jsonb,"
    " scored_at = clock_timestamp(), rev = rev + 1"
    " WHERE o.id = $1::bigint AND o.content_rev = $2::bigint"
    " AND coalesce((SELECT rev FROM opportunity_preferences p WHERE p.user_id = o.user_id), 0) = $3::bigint"
    " RETURNING o.user_id),"
    " c AS (INSERT INTO opportunity_counters (name, label, value) SELECT 'scored', $4, 1 FROM u"
    " ON CONFLICT (name, label) DO UPDATE SET value = opportunity_counters.value + 1)"
    " SELECT user_id FROM u";

static struct json_object *oj_details_json(const struct opportunities_score *s)
{
    struct json_object *o = json_object_new_object(), *rules = json_object_new_array();
    for (int i = 0; i < s->rule_count; i++) {
        struct json_object *r = json_object_new_object();
        json_object_object_add(r, "rule", json_object_new_string(s->rules[i].rule));
        json_object_object_add(r, "points", json_object_new_int(s->rules[i].points));
        json_object_object_add(r, "detail", json_object_new_string(s->rules[i].detail));
        json_object_array_add(rules, r);
    }
    json_object_object_add(o, "rules", rules);
    json_object_object_add(o, "raw", json_object_new_int(s->raw));
    json_object_object_add(o, "score", json_object_new_int(s->score));
    return o;
}

/* Scores the current content of opportunity id. *owner: its user (0 when
 * it does not exist any more: nothing to do). Returns ERR_NONE also when
 * the row kept changing (each change has queued its own job). */
static enum err oj_score_one(struct db *db, int64_t id, int64_t *owner, char *error, size_t error_cap)
{
    char idt[24];
    db_param_i64(idt, id);
    *owner = 0;
    struct opportunities_prefs *p = malloc(sizeof(*p));
    struct opportunities_score *s = malloc(sizeof(*s));
    enum err e = ERR_NONE;
    if (p == NULL || s == NULL) {
        e = ERR_INTERNAL;
        goto out;
    }
    for (int attempt = 0; attempt < OPP_SCORE_TRIES; attempt++) {
        const char *rp[1] = {idt};
        db_result *r = db_query(db, &e, DB_RETRY_ON_RECONNECT, OJ_READ_SQL, 1, rp);
        if (r == NULL)
            goto out;
        if (db_rows(r) == 0) {
            db_clear(r);
            goto out;                          /* deleted: nothing to score */
        }
        *owner = db_int64(r, 0, 0);
        struct opp_error oe = {0};
        struct json_object *stored = db_is_null(r, 0, 9) ? json_object_new_object() : json_tokener_parse(db_value(r, 0, 9));
        e = opr_parse(stored, p, &oe);
        json_object_put(stored);
        if (e != ERR_NONE) {
            snprintf(error, error_cap, "preferences of user %" PRId64 " unreadable: %s", *owner, oe.message);
            db_clear(r);
            e = ERR_INTERNAL;
            goto out;
        }
        struct opportunities_input in = {
            .title = db_value(r, 0, 1),
            .company = db_is_null(r, 0, 2) ? NULL : db_value(r, 0, 2),
            .message = db_is_null(r, 0, 3) ? NULL : db_value(r, 0, 3),
            .remote = db_is_null(r, 0, 4) ? -1 : db_value(r, 0, 4)[0] == 't',
            .has_salary_min = !db_is_null(r, 0, 5),
            .has_salary_max = !db_is_null(r, 0, 6),
            .salary_min = db_int64(r, 0, 5),
            .salary_max = db_int64(r, 0, 6),
            .currency = db_value(r, 0, 7),
        };
        if (opportunities_score_compute(p, &in, s) != 0) {
            db_clear(r);
            e = ERR_INTERNAL;
            goto out;
        }
        char score[8], tier[2] = {s->tier, '\0'}, content_rev[24], prefs_rev[24];
        snprintf(score, sizeof(score), "%d", s->score);
        snprintf(content_rev, sizeof(content_rev), "%s", db_value(r, 0, 8));
        snprintf(prefs_rev, sizeof(prefs_rev), "%s", db_value(r, 0, 10));
        db_clear(r);
        struct json_object *details = oj_details_json(s);
        const char *wp[6] = {idt, content_rev, prefs_rev, score, tier,
                             json_object_to_json_string_ext(details, JSON_C_TO_STRING_PLAIN)};
        r = db_query(db, &e, 0, OJ_WRITE_SQL, 6, wp);
        json_object_put(details);
        if (r == NULL)
            goto out;
        int rows = db_rows(r);
        db_clear(r);
        if (rows > 0)
            goto out;
        /* changed (or deleted) between the read and the write: score what is there now */
    }
out:
    if (e != ERR_NONE && error[0] == '\0')
        snprintf(error, error_cap, "scoring opportunity %" PRId64 " failed (%s)", id, err_lookup(e)->code);
    free(p);
    free(s);
    return e;
}

static int64_t oj_payload_id(struct json_object *payload, const char *key)
{
    struct json_object *v;
    if (!json_object_object_get_ex(payload, key, &v) || !json_object_is_type(v, json_type_int))
        return 0;
    return json_object_get_int64(v);
}

int opportunities_job_process(struct jobs_ctx *ctx, struct json_object *payload)
{
    int64_t id = oj_payload_id(payload, "opportunity_id"), owner = 0;
    if (id <= 0) {
        snprintf(ctx->error, sizeof(ctx->error), "payload needs a positive integer opportunity_id");
        return -1;
    }
    enum err e = oj_score_one(ctx->db, id, &owner, ctx->error, sizeof(ctx->error));
    if (owner > 0)
        cachegen_sync_user(ctx->db, ctx->cache, owner);
    return e == ERR_NONE ? 0 : -1;
}

#define OJ_BATCH 500

int opportunities_job_score_all(struct jobs_ctx *ctx, struct json_object *payload)
{
    int64_t user_id = oj_payload_id(payload, "user_id"), after = 0, done = 0;
    if (user_id <= 0) {
        snprintf(ctx->error, sizeof(ctx->error), "payload needs a positive integer user_id");
        return -1;
    }
    char uid[24];
    db_param_i64(uid, user_id);
    enum err e = ERR_NONE;
    for (;;) {
        char aft[24], lim[16];
        db_param_i64(aft, after);
        snprintf(lim, sizeof(lim), "%d", OJ_BATCH);
        const char *params[3] = {uid, aft, lim};
        db_result *r = db_query(ctx->db, &e, DB_RETRY_ON_RECONNECT,
                                "SELECT id FROM opportunities WHERE user_id = $1::bigint AND id > $2::bigint"
                                " ORDER BY id LIMIT $3::int",
                                3, params);
        if (r == NULL)
            break;
        int rows = db_rows(r);
        for (int i = 0; i < rows && e == ERR_NONE; i++) {
            int64_t owner;
            after = db_int64(r, i, 0);
            e = oj_score_one(ctx->db, after, &owner, ctx->error, sizeof(ctx->error));
            done++;
            jobs_heartbeat(ctx);
        }
        db_clear(r);
        if (e != ERR_NONE || rows < OJ_BATCH)
            break;
        /* each batch becomes visible as it is written */
        cachegen_sync_user(ctx->db, ctx->cache, user_id);
    }
    cachegen_sync_user(ctx->db, ctx->cache, user_id);
    if (e != ERR_NONE) {
        if (ctx->error[0] == '\0')
            snprintf(ctx->error, sizeof(ctx->error), "scoring the opportunities of user %" PRId64 " failed", user_id);
        return -1;
    }
    log_info("job %" PRId64 ": scored %" PRId64 " opportunities of user %" PRId64, ctx->job_id, done, user_id);
    return 0;
}
