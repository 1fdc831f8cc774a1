/* learning: the profile read (cache -> PostgreSQL), the admin stats, the
 * /metrics lines, the learning_aggregate job kind and the module entry.
 * Answers are built as JSON by PostgreSQL (jsonb_build_object) from the
 * stored hint, so the cached text and a fresh read are byte-identical.
 * Only aggregated profiles are cached: a never-aggregated one reports a
 * live run count that a cached copy would let go stale. */
#define _GNU_SOURCE
#include "learning.h"
#include "../cache/cache.h"
#include "../core/buf.h"
#include "../core/log.h"
#include "../jobs/jobs.h"
#include "../store/db.h"
#include "../store/db_json.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* ---- profile read ------------------------------------------------------ */

/* Cache key: host, a newline (never in either part), schema_hash. */
static size_t learning_key(char *out, size_t cap, const char *host, const char *schema_hash)
{
    int n = snprintf(out, cap, "%s\n%s", host, schema_hash);
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

void learning_profile_invalidate(struct tally_ctx *ctx, const char *host, const char *schema_hash)
{
    char key[LEARNING_HOST_BYTES + LEARNING_SCHEMA_HASH_BYTES + 2];
    size_t klen = learning_key(key, sizeof(key), host, schema_hash);
    if (klen > 0 && cache_enabled(ctx->cache) && cache_delete(ctx->cache, "learning", key, klen) != CACHE_OK)
        log_warn("learning: cached profile %s not deleted", host);
}

static const char LEARNING_PROFILE_SQL[] =
    "SELECT json_build_object('host', p.host, 'schema_hash', p.schema_hash, 'family', p.family,"
    " 'runs', CASE WHEN p.aggregated_at IS NULL THEN (SELECT count(*) FROM learning_events e"
    "   WHERE e.profile_id = p.id AND e.created_at >= now() - make_interval(days => $3::int)) ELSE p.runs END,"
    " 'segment_key', p.segment_key, 'style_hint', p.style_hint, 'explanation', p.explanation,"
    " 'aggregated_at', " DB_SQL_TIMESTAMP("p.aggregated_at") ")::text, p.aggregated_at IS NOT NULL"
    " FROM learning_form_profiles p WHERE p.host = $1 AND p.schema_hash = $2";

enum err learning_profile_json(struct tally_ctx *ctx, const char *host, const char *schema_hash, char **json,
                               size_t *len)
{
    char key[LEARNING_HOST_BYTES + LEARNING_SCHEMA_HASH_BYTES + 2];
    size_t klen = learning_key(key, sizeof(key), host, schema_hash);
    *json = NULL;
    if (klen > 0 && cache_get(ctx->cache, "learning", key, klen, json, len) == CACHE_OK)
        return ERR_NONE;
    char days[16];
    snprintf(days, sizeof(days), "%d", LEARNING_WINDOW_DAYS_DEFAULT);
    const char *params[3] = {host, schema_hash, days};
    enum err e;
    db_result *r = db_query(ctx->db, &e, DB_RETRY_ON_RECONNECT, LEARNING_PROFILE_SQL, 3, params);
    if (r == NULL)
        return e;
    if (db_rows(r) == 0) {
        db_clear(r);
        return ERR_NOT_FOUND;
    }
    *json = strdup(db_value(r, 0, 0));
    *len = *json != NULL ? strlen(*json) : 0;
    bool aggregated = strcmp(db_value(r, 0, 1), "t") == 0;
    db_clear(r);
    if (*json == NULL)
        return ERR_INTERNAL;
    if (aggregated && klen > 0)
        cache_set(ctx->cache, "learning", key, klen, *json, *len, LEARNING_CACHE_TTL_S);
    return ERR_NONE;
}

/* ---- stats --------------------------------------------------------------- */

#define LEARNING_SOURCE_COUNTS                                                                            \
    " count(*) FILTER (WHERE style_hint->>'source' = 'form') AS form,"                                   \
    " count(*) FILTER (WHERE style_hint->>'source' = 'segment') AS segment,"                             \
    " count(*) FILTER (WHERE style_hint->>'source' = 'family') AS family,"                               \
    " count(*) FILTER (WHERE aggregated_at IS NOT NULL AND style_hint->>'source' IS NULL) AS none,"       \
    " count(*) FILTER (WHERE aggregated_at IS NULL) AS not_aggregated"

static const char LEARNING_STATS_SQL[] =
    "WITH p AS (SELECT count(*) AS profiles," LEARNING_SOURCE_COUNTS ","
    "   count(*) FILTER (WHERE segment_key = 'intern') AS intern,"
    "   count(*) FILTER (WHERE segment_key = 'junior') AS junior,"
    "   count(*) FILTER (WHERE segment_key = 'senior') AS senior,"
    "   count(*) FILTER (WHERE segment_key = 'default') AS dflt FROM learning_form_profiles)"
    " SELECT json_build_object('profiles', p.profiles,"
    "   'sources', json_build_object('form', p.form, 'segment', p.segment, 'family', p.family, 'none', p.none),"
    "   'not_aggregated', p.not_aggregated,"
    "   'segments', json_build_object('intern', p.intern, 'junior', p.junior, 'senior', p.senior, 'default', p.dflt),"
    "   'events_last_24h', (SELECT count(*) FROM learning_events WHERE received_at >= now() - interval '24 hours'),"
    "   'events_total', (SELECT count(*) FROM learning_events),"
    "   'aggregation', json_build_object('runs', s.runs_total, 'skipped', s.skipped_total,"
    "     'last_run_at', " DB_SQL_TIMESTAMP("s.last_run_at") ", 'last_duration_ms', s.last_duration_ms,"
    "     'window_days', s.window_days))::text"
    " FROM p, learning_state s WHERE s.id = 1";

enum err learning_stats(struct tally_ctx *ctx, struct json_object **out)
{
    enum err e;
    *out = NULL;
    db_result *r = db_query(ctx->db, &e, DB_RETRY_ON_RECONNECT, LEARNING_STATS_SQL, 0, NULL);
    if (r == NULL)
        return e;
    if (db_rows(r) == 1)
        *out = json_tokener_parse(db_value(r, 0, 0));
    db_clear(r);
    return *out != NULL ? ERR_NONE : ERR_INTERNAL;
}

/* ---- dashboard ------------------------------------------------------------ */

static const char LEARNING_FAMILIES_SQL[] =
    "SELECT coalesce(json_agg(t ORDER BY t.profiles DESC, t.name), '[]')::text FROM ("
    " SELECT family AS name, count(*) AS profiles,"
    " count(*) FILTER (WHERE style_hint->>'source' = 'form') AS form,"
    " count(*) FILTER (WHERE style_hint->>'source' = 'segment') AS segment,"
    " count(*) FILTER (WHERE style_hint->>'source' = 'family') AS family_level,"
    " count(*) FILTER (WHERE aggregated_at IS NOT NULL AND style_hint->>'source' IS NULL) AS none,"
    " count(*) FILTER (WHERE aggregated_at IS NULL) AS not_aggregated, coalesce(sum(runs), 0) AS events"
    " FROM learning_form_profiles GROUP BY family ORDER BY count(*) DESC, family LIMIT $1::int) t";

/* $1 host substring (LIKE wildcards escaped), $2 limit. Per-style stats of
 * each level over the last run's window (default window if none ran). */
static const char LEARNING_SEARCH_SQL[] =
    "WITH w AS (SELECT now() - make_interval(days => coalesce(window_days, $3::int)) AS t FROM learning_state"
    "   WHERE id = 1),"
    " p AS (SELECT * FROM learning_form_profiles WHERE host LIKE '%' || replace(replace(replace(lower($1),"
    "   '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%' ORDER BY host, schema_hash LIMIT $2::int),"
    " ev AS (SELECT p.id, 1 AS o, 'form' AS level, e.gen_style_id, e.helpful, e.edit_chars FROM p"
    "   JOIN learning_events e ON e.profile_id = p.id, w WHERE e.created_at >= w.t"
    "   UNION ALL SELECT p.id, 2, 'segment', e.gen_style_id, e.helpful, e.edit_chars FROM p"
    "   JOIN learning_events e ON e.family = p.family AND e.segment_key = p.segment_key, w WHERE e.created_at >= w.t"
    "   UNION ALL SELECT p.id, 3, 'family', e.gen_style_id, e.helpful, e.edit_chars FROM p"
    "   JOIN learning_events e ON e.family = p.family, w WHERE e.created_at >= w.t),"
    " st AS (SELECT id, o, level, gen_style_id AS style, count(*) AS runs,"
    "   round(count(*) FILTER (WHERE helpful)::numeric / nullif(count(helpful), 0), 2) AS helpful_ratio,"
    "   round(avg(edit_chars), 2) AS avg_edit_chars FROM ev WHERE gen_style_id IS NOT NULL GROUP BY 1, 2, 3, 4)"
    " SELECT coalesce(json_agg(json_build_object('host', p.host, 'schema_hash', p.schema_hash, 'family', p.family,"
    "   'segment_key', p.segment_key, 'runs', p.runs, 'source', p.style_hint->>'source',"
    "   'preferred_style_id', p.style_hint->>'preferred_style_id', 'explanation', p.explanation,"
    "   'aggregated_at', " DB_SQL_TIMESTAMP("p.aggregated_at") ","
    "   'levels', (SELECT coalesce(json_agg(json_build_object('level', st.level, 'style', st.style, 'runs', st.runs,"
    "     'helpful_ratio', st.helpful_ratio, 'helpful_ratio_text', coalesce(st.helpful_ratio::text, '\xe2\x80\x93'),"
    "     'avg_edit_chars', st.avg_edit_chars,"
    "     'preferred', st.level = p.style_hint->>'source' AND st.style = p.style_hint->>'preferred_style_id')"
    "     ORDER BY st.o, st.runs DESC, st.style COLLATE \"C\"), '[]') FROM st WHERE st.id = p.id))"
    "   ORDER BY p.host, p.schema_hash), '[]')::text FROM p";

static struct json_object *learning_json_query(struct tally_ctx *ctx, enum err *e, const char *sql, int n,
                                               const char *const *params)
{
    enum err qe;
    db_result *r = db_query(ctx->db, &qe, DB_RETRY_ON_RECONNECT, sql, n, params);
    if (r == NULL) {
        *e = qe;
        return NULL;
    }
    struct json_object *v = db_rows(r) == 1 ? json_tokener_parse(db_value(r, 0, 0)) : NULL;
    db_clear(r);
    if (v == NULL)
        *e = ERR_INTERNAL;
    return v;
}

enum err learning_dashboard(struct tally_ctx *ctx, const char *host_query, struct json_object **out)
{
    enum err e = ERR_NONE;
    *out = NULL;
    struct json_object *stats = NULL;
    if ((e = learning_stats(ctx, &stats)) != ERR_NONE)
        return e;
    char lim[16], slim[16], days[16];
    snprintf(lim, sizeof(lim), "%d", LEARNING_FAMILIES_MAX);
    snprintf(slim, sizeof(slim), "%d", LEARNING_SEARCH_MAX);
    snprintf(days, sizeof(days), "%d", LEARNING_WINDOW_DAYS_DEFAULT);
    const char *fp[1] = {lim};
    struct json_object *families = learning_json_query(ctx, &e, LEARNING_FAMILIES_SQL, 1, fp);
    struct json_object *search = NULL;
    if (e == ERR_NONE && host_query != NULL && host_query[0] != '\0') {
        const char *sp[3] = {host_query, slim, days};
        search = learning_json_query(ctx, &e, LEARNING_SEARCH_SQL, 3, sp);
    }
    if (e != ERR_NONE) {
        json_object_put(stats);
        json_object_put(families);
        json_object_put(search);
        return e;
    }
    struct json_object *d = json_object_new_object();
    json_object_object_add(d, "stats", stats);
    json_object_object_add(d, "families", families);
    if (search != NULL)
        json_object_object_add(d, "search", search);
    *out = d;
    return ERR_NONE;
}

/* ---- /metrics -------------------------------------------------------------- */

static const char LEARNING_METRICS_SQL[] =
    "SELECT s.events_accepted, s.events_duplicate, s.events_rejected, s.runs_total, s.skipped_total,"
    " s.duration_ms_total, coalesce(s.last_duration_ms, 0), p.form, p.segment, p.family, p.none, p.not_aggregated"
    " FROM learning_state s, (SELECT" LEARNING_SOURCE_COUNTS " FROM learning_form_profiles) p WHERE s.id = 1";

static void learning_metric_header(struct buf *b, const char *name, const char *type, const char *help)
{
    buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Counters live in PostgreSQL (learning_state), so every worker and host
 * reports the same totals and a restart loses none. Omitted when
 * PostgreSQL is unreachable. */
void learning_metrics(const struct tally_ctx *ctx, struct buf *b)
{
    enum err e;
    db_result *r = db_query(ctx->db, &e, DB_RETRY_ON_RECONNECT, LEARNING_METRICS_SQL, 0, NULL);
    if (r == NULL || db_rows(r) != 1) {
        db_clear(r);
        return;
    }
    learning_metric_header(b, "tally_learning_events_total", "counter",
                           "Autofill events sent to the learning sync, by outcome.");
    static const char *const outcomes[3] = {"accepted", "duplicate", "rejected"};
    for (int i = 0; i < 3; i++)
        buf_printf(b, "tally_learning_events_total{outcome=\"%s\"} %s\n", outcomes[i], db_value(r, 0, i));
    learning_metric_header(b, "tally_learning_hints", "gauge",
                           "Form profiles by the level their style hint came from (none: aggregated, no hint).");
    static const char *const sources[5] = {"form", "segment", "family", "none", "not_aggregated"};
    for (int i = 0; i < 5; i++)
        buf_printf(b, "tally_learning_hints{source=\"%s\"} %s\n", sources[i], db_value(r, 0, 7 + i));
    learning_metric_header(b, "tally_learning_aggregation_runs_total", "counter",
                           "Learning aggregation runs: completed, or skipped because another held the lock.");
    buf_printf(b, "tally_learning_aggregation_runs_total{outcome=\"completed\"} %s\n", db_value(r, 0, 3));
    buf_printf(b, "tally_learning_aggregation_runs_total{outcome=\"skipped\"} %s\n", db_value(r, 0, 4));
    learning_metric_header(b, "tally_learning_aggregation_duration_seconds_total", "counter",
                           "Time spent in completed learning aggregation runs.");
    buf_printf(b, "tally_learning_aggregation_duration_seconds_total %.6f\n", strtod(db_value(r, 0, 5), NULL) / 1000.0);
    learning_metric_header(b, "tally_learning_aggregation_last_duration_seconds", "gauge",
                           "Duration of the last completed learning aggregation run.");
    buf_printf(b, "tally_learning_aggregation_last_duration_seconds %.6f\n", strtod(db_value(r, 0, 6), NULL) / 1000.0);
    db_clear(r);
}

/* ---- job kind ----------------------------------------------------------------- */

int learning_aggregate_job(struct jobs_ctx *jctx, struct json_object *payload)
{
    struct learning_aggregate_opts opts = {.days = LEARNING_WINDOW_DAYS_DEFAULT};
    struct json_object *v = NULL;
    if (json_object_object_get_ex(payload, "days", &v)) {
        if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1 ||
            json_object_get_int64(v) > LEARNING_WINDOW_DAYS_MAX) {
            snprintf(jctx->error, sizeof(jctx->error), "payload.days must be an integer in [1, %d]",
                     LEARNING_WINDOW_DAYS_MAX);
            return -1;
        }
        opts.days = (int)json_object_get_int64(v);
    }
    if (json_object_object_get_ex(payload, "full", &v)) {
        if (!json_object_is_type(v, json_type_boolean)) {
            snprintf(jctx->error, sizeof(jctx->error), "payload.full must be true or false");
            return -1;
        }
        opts.full = json_object_get_boolean(v);
    }
    struct tally_ctx local = {.kind = TALLY_CTX_RUNNER, .cfg = jctx->cfg, .db = jctx->db, .cache = jctx->cache};
    struct tally_ctx *ctx = jctx->tally != NULL ? jctx->tally : &local;
    struct learning_aggregate_result res;
    if (learning_aggregate(ctx, &opts, &res) != 0) {
        snprintf(jctx->error, sizeof(jctx->error), "learning aggregation failed: %s", db_last_error(jctx->db));
        return -1;
    }
    log_info("job %" PRId64 ": learning aggregation %s: %ld profiles, %ld events, %.1f ms", jctx->job_id,
             res.skipped ? "skipped (another run held the lock)" : "done", res.updated_profiles, res.events_read,
             res.duration_ms);
    return 0;
}

/* ---- the module ------------------------------------------------------------------ */

static const struct jobs_handler learning_jobs[] = {
    {"learning_aggregate", learning_aggregate_job},
};

static const char *const learning_cache_namespaces[] = {"learning", NULL};

const struct tally_module learning_module = {
    .name = "learning",
    .routes = learning_http_routes,
    .route_count = LEARNING_HTTP_ROUTE_COUNT,
    .jobs = learning_jobs,
    .job_count = sizeof(learning_jobs) / sizeof(learning_jobs[0]),
    .commands = learning_cli_commands,
    .command_count = LEARNING_CLI_COMMAND_COUNT,
    .cache_namespaces = learning_cache_namespaces,
    .metrics = learning_metrics,
    .seed_demo = learning_seed_demo,
};
