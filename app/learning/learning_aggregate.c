/* learning_aggregate: window events -> one style hint per form profile
 * (API.md "Aggregation", docs/learning.md). One run is one transaction:
 *
 *   1. pg_try_advisory_xact_lock: a second run started meanwhile skips
 *      (counted) instead of doing the same work; the lock goes with the
 *      transaction, so nothing stays locked after a crash, and no session
 *      state is kept (PgBouncer-safe).
 *   2. The work list (temp table la_todo): every profile on a full run
 *      (asked for, first run, another window length, a window moved back);
 *      else the forms with a learning_dirty mark or with events that left
 *      the window since the last run ("own" changes), plus the profiles of the same families
 *      whose hint did not come from their own form (their segment or family
 *      pool changed; a form-level hint depends on the form's events only).
 *      So an incremental run rewrites exactly the hints a full run could
 *      change, and gives the same hints.
 *   3. One scan groups the work list's window events by (form, style,
 *      segment) into la_fs; then one statement computes and writes the
 *      hints of the work list: per level the style stats, the best style among those with the level's
 *      threshold of runs (helpful ratio desc, avg edit chars asc, runs desc,
 *      style id asc; a style without a rated event ranks last), the first
 *      level that qualifies, and the explanation.
 *   4. The marks read are deleted (only those), the state row records the
 *      window and the run; commit; then the cached answers of the rewritten
 *      profiles are deleted (after the commit, so no reader re-caches the
 *      old hint).
 * Thresholds come from learning.h as parameters: the SQL holds none. */
#define _GNU_SOURCE
#include "learning.h"
#include "../core/clock.h"
#include "../core/log.h"
#include "../store/db.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LA_TS_BYTES 64
#define LA_WORK_MEM "64MB"             /* per sort / hash of the aggregation, its transaction only */

/* $1 now override (NULL: now()), $2 days. */
static const char LA_LOCK_SQL[] =
    "SELECT pg_try_advisory_xact_lock(" LEARNING_LOCK_KEY "), coalesce($1::timestamptz, now()),"
    " coalesce($1::timestamptz, now()) - make_interval(days => $2::int), window_start, window_days,"
    " coalesce($1::timestamptz, now()) - make_interval(days => $2::int) < window_start"
    " FROM learning_state WHERE id = 1";

static const char LA_TODO_TABLE_SQL[] = "CREATE TEMP TABLE la_todo (id bigint PRIMARY KEY) ON COMMIT DROP";
static const char LA_MARKS_TABLE_SQL[] = "CREATE TEMP TABLE la_marks (mark bigint PRIMARY KEY) ON COMMIT DROP";

static const char LA_MARKS_SQL[] = "INSERT INTO la_marks SELECT mark FROM learning_dirty";

static const char LA_TODO_FULL_SQL[] = "INSERT INTO la_todo SELECT id FROM learning_form_profiles";

/* $1 old window start, $2 new window start. */
static const char LA_TODO_INCREMENTAL_SQL[] =
    "WITH lost AS (SELECT profile_id, family FROM learning_events"
    "   WHERE created_at >= $1::timestamptz AND created_at < $2::timestamptz),"
    " own AS (SELECT d.profile_id AS id FROM learning_dirty d JOIN la_marks m USING (mark)"
    "   UNION SELECT profile_id FROM lost),"
    " fam AS (SELECT p.family FROM learning_form_profiles p JOIN own USING (id) UNION SELECT family FROM lost)"
    " INSERT INTO la_todo SELECT p.id FROM learning_form_profiles p"
    " WHERE p.id IN (SELECT id FROM own)"
    "   OR (p.family IN (SELECT family FROM fam)"
    "       AND (p.style_hint IS NULL OR (p.style_hint->>'source') IS DISTINCT FROM 'form'))";

/* The form-level pass: one scan of the window's events (of the work list
 * only, unless full) grouped by (form, style, segment), materialised once
 * for the hint statement's several readers (a CTE read four times cost a
 * third of the run). CREATE TABLE AS takes no parameter: the window start
 * comes from la_window. */
#define LA_FS_SQL(filter)                                                                                        \
    "CREATE TEMP TABLE la_fs ON COMMIT DROP AS SELECT e.profile_id, e.gen_style_id, e.segment_key,"            \
    " count(*) AS n, count(*) FILTER (WHERE e.helpful) AS hn, count(e.helpful) AS rated, sum(e.edit_chars) AS es," \
    " max(e.created_at) AS latest, max(e.id) AS latest_id FROM learning_events e"                             \
    " WHERE e.created_at >= (SELECT ws FROM la_window)" filter " GROUP BY 1, 2, 3"
static const char LA_FS_FULL_SQL[] = LA_FS_SQL("");
static const char LA_FS_INCREMENTAL_SQL[] = LA_FS_SQL(" AND e.profile_id IN (SELECT id FROM la_todo)");

/* $1 window start, $2 form threshold, $3 segment threshold, $4 family threshold.
 * Returns (host, schema_hash) of every rewritten profile, and on every row
 * the events read: the forms' window events, plus the window events of the
 * families whose pools were needed (profiles whose form level failed).
 * Averages are sum / count in numeric, exact as avg() would be. */
static const char LA_COMPUTE_SQL[] =
    "WITH d AS (SELECT p.id, p.family FROM la_todo t JOIN learning_form_profiles p USING (id)),"
    " fs AS (SELECT la_fs.* FROM la_fs JOIN d ON d.id = la_fs.profile_id),"
    " fruns AS (SELECT profile_id, sum(n) AS n FROM fs GROUP BY 1),"
    " seg AS (SELECT DISTINCT ON (profile_id) profile_id, segment_key FROM ("
    "     SELECT profile_id, segment_key, sum(n) AS n, max(latest) AS latest, max(latest_id) AS latest_id"
    "     FROM fs WHERE segment_key IS NOT NULL GROUP BY 1, 2) s"
    "   ORDER BY profile_id, n DESC, latest DESC, latest_id DESC),"
    " form_st AS (SELECT profile_id AS pid, gen_style_id AS style, sum(n) AS runs, sum(hn) AS hn,"
    "   sum(rated) AS rated, sum(es)::numeric / sum(n) AS avg_edit"
    "   FROM fs WHERE gen_style_id IS NOT NULL GROUP BY 1, 2),"
    " form_best AS (SELECT DISTINCT ON (pid) * FROM form_st WHERE runs >= $2::int"
    "   ORDER BY pid, hn::numeric / nullif(rated, 0) DESC NULLS LAST, avg_edit, runs DESC, style COLLATE \"C\"),"
    /* Only the profiles whose form level fails read the family pools, in one
     * pass grouped by (family, segment, style). */
    " need AS (SELECT d.id, d.family FROM d WHERE NOT EXISTS (SELECT 1 FROM form_best fb WHERE fb.pid = d.id)),"
    " fams AS (SELECT DISTINCT family FROM need),"
    " pairs AS (SELECT DISTINCT need.family, seg.segment_key FROM need JOIN seg ON seg.profile_id = need.id),"
    " pool AS (SELECT e.family, e.segment_key, e.gen_style_id AS style, count(*) AS n,"
    "   count(*) FILTER (WHERE e.helpful) AS hn, count(e.helpful) AS rated, sum(e.edit_chars) AS es"
    "   FROM learning_events e WHERE e.family IN (SELECT family FROM fams) AND e.created_at >= $1::timestamptz"
    "   GROUP BY 1, 2, 3),"
    " fam_st AS (SELECT family, style, sum(n) AS runs, sum(hn) AS hn, sum(rated) AS rated,"
    "   sum(es)::numeric / sum(n) AS avg_edit FROM pool WHERE style IS NOT NULL GROUP BY 1, 2),"
    " seg_st AS (SELECT pool.family, pool.segment_key, style, sum(n) AS runs, sum(hn) AS hn, sum(rated) AS rated,"
    "   sum(es)::numeric / sum(n) AS avg_edit"
    "   FROM pool JOIN pairs ON pairs.family = pool.family AND pairs.segment_key = pool.segment_key"
    "   WHERE style IS NOT NULL GROUP BY 1, 2, 3),"
    " form_max AS (SELECT pid, max(runs) AS m FROM form_st GROUP BY 1),"
    " fam_max AS (SELECT family, max(runs) AS m FROM fam_st GROUP BY 1),"
    " seg_max AS (SELECT family, segment_key, max(runs) AS m FROM seg_st GROUP BY 1, 2),"
    " seg_best AS (SELECT DISTINCT ON (family, segment_key) * FROM seg_st WHERE runs >= $3::int"
    "   ORDER BY family, segment_key, hn::numeric / nullif(rated, 0) DESC NULLS LAST, avg_edit, runs DESC,"
    "   style COLLATE \"C\"),"
    " fam_best AS (SELECT DISTINCT ON (family) * FROM fam_st WHERE runs >= $4::int"
    "   ORDER BY family, hn::numeric / nullif(rated, 0) DESC NULLS LAST, avg_edit, runs DESC, style COLLATE \"C\"),"
    " r AS (SELECT d.id, d.family, seg.segment_key, coalesce(fruns.n, 0) AS runs,"
    "   coalesce(fm.m, 0) AS form_m, sm.m AS seg_m, coalesce(am.m, 0) AS fam_m,"
    "   CASE WHEN fb.pid IS NOT NULL THEN 'form' WHEN sb.family IS NOT NULL THEN 'segment'"
    "     WHEN ab.family IS NOT NULL THEN 'family' END AS source,"
    "   CASE WHEN fb.pid IS NOT NULL THEN fb.style WHEN sb.family IS NOT NULL THEN sb.style ELSE ab.style END AS style,"
    "   CASE WHEN fb.pid IS NOT NULL THEN fb.runs WHEN sb.family IS NOT NULL THEN sb.runs ELSE ab.runs END AS s_runs,"
    "   CASE WHEN fb.pid IS NOT NULL THEN fb.hn WHEN sb.family IS NOT NULL THEN sb.hn ELSE ab.hn END AS s_hn,"
    "   CASE WHEN fb.pid IS NOT NULL THEN fb.rated WHEN sb.family IS NOT NULL THEN sb.rated ELSE ab.rated END AS s_rated,"
    "   CASE WHEN fb.pid IS NOT NULL THEN fb.avg_edit WHEN sb.family IS NOT NULL THEN sb.avg_edit"
    "     ELSE ab.avg_edit END AS s_edit"
    "   FROM d LEFT JOIN fruns ON fruns.profile_id = d.id LEFT JOIN seg ON seg.profile_id = d.id"
    "   LEFT JOIN form_max fm ON fm.pid = d.id LEFT JOIN form_best fb ON fb.pid = d.id"
    "   LEFT JOIN seg_max sm ON sm.family = d.family AND sm.segment_key = seg.segment_key"
    "   LEFT JOIN seg_best sb ON sb.family = d.family AND sb.segment_key = seg.segment_key"
    "   LEFT JOIN fam_max am ON am.family = d.family LEFT JOIN fam_best ab ON ab.family = d.family),"
    " x AS (SELECT r.*, concat_ws('; ',"
    "     format('form: %s runs %s %s', form_m, CASE WHEN form_m >= $2::int THEN '\xe2\x89\xa5' ELSE '<' END, $2::int),"
    "     CASE WHEN source IS DISTINCT FROM 'form' THEN CASE WHEN segment_key IS NULL THEN 'segment: no segment'"
    "       ELSE format('segment %s/%s: %s runs %s %s', segment_key, family, coalesce(seg_m, 0),"
    "         CASE WHEN coalesce(seg_m, 0) >= $3::int THEN '\xe2\x89\xa5' ELSE '<' END, $3::int) END END,"
    "     CASE WHEN source IS NULL OR source = 'family' THEN format('family %s: %s runs %s %s', family, fam_m,"
    "       CASE WHEN fam_m >= $4::int THEN '\xe2\x89\xa5' ELSE '<' END, $4::int) END)"
    "     || ' \xe2\x86\x92 ' || coalesce(source, 'none') AS explanation FROM r),"
    " upd AS (UPDATE learning_form_profiles p SET segment_key = x.segment_key, runs = x.runs,"
    "   explanation = x.explanation, aggregated_at = now(),"
    "   style_hint = jsonb_build_object('preferred_style_id', x.style, 'source', x.source,"
    "     'segment_key', x.segment_key, 'runs', CASE WHEN x.source IS NOT NULL THEN x.s_runs END,"
    "     'helpful_ratio', round(x.s_hn::numeric / nullif(x.s_rated, 0), 2), 'avg_edit_chars', round(x.s_edit, 2))"
    "   FROM x WHERE p.id = x.id RETURNING p.host, p.schema_hash)"
    " , nread AS (SELECT coalesce((SELECT sum(n) FROM fs), 0) + coalesce((SELECT sum(n) FROM pool), 0) AS n)"
    " SELECT upd.host, upd.schema_hash, nread.n FROM upd, nread"
    " UNION ALL SELECT NULL, NULL, nread.n FROM nread WHERE NOT EXISTS (SELECT 1 FROM upd)";

/* $1 window start, $2 days, $3 duration ms, $4 profiles updated. */
static const char LA_STATE_SQL[] =
    "UPDATE learning_state SET window_start = $1::timestamptz, window_days = $2::int, runs_total = runs_total + 1,"
    " duration_ms_total = duration_ms_total + $3::float8, last_duration_ms = $3::float8, last_run_at = now(),"
    " profiles_updated_total = profiles_updated_total + $4::bigint WHERE id = 1";

static int learning_aggregate_fail(struct tally_ctx *ctx, const char *step)
{
    log_warn("learning: aggregation failed at %s: %s", step, db_last_error(ctx->db));
    db_exec(ctx->db, 0, "ROLLBACK", 0, NULL);
    return -1;
}

int learning_aggregate(struct tally_ctx *ctx, const struct learning_aggregate_opts *opts,
                       struct learning_aggregate_result *out)
{
    return learning_aggregate_at(ctx, opts, NULL, out);
}

int learning_aggregate_at(struct tally_ctx *ctx, const struct learning_aggregate_opts *opts, const char *now_override,
                          struct learning_aggregate_result *out)
{
    memset(out, 0, sizeof(*out));
    double started = clock_ms();
    int days = opts->days > 0 ? opts->days : LEARNING_WINDOW_DAYS_DEFAULT;
    char days_text[16], ws[LA_TS_BYTES], old_ws[LA_TS_BYTES];
    snprintf(days_text, sizeof(days_text), "%d", days);
    enum err e;
    /* One long analytic statement: JIT compilation would cost seconds for
     * little, and the hash aggregates want room. */
    if (db_exec(ctx->db, 0, "BEGIN", 0, NULL) != ERR_NONE ||
        db_exec(ctx->db, 0, "SET LOCAL jit = off", 0, NULL) != ERR_NONE ||
        db_exec(ctx->db, 0, "SET LOCAL work_mem = '" LA_WORK_MEM "'", 0, NULL) != ERR_NONE)
        return learning_aggregate_fail(ctx, "begin");
    const char *lock_params[2] = {now_override, days_text};
    db_result *r = db_query(ctx->db, &e, 0, LA_LOCK_SQL, 2, lock_params);
    if (r == NULL || db_rows(r) != 1) {
        db_clear(r);
        return learning_aggregate_fail(ctx, "lock");
    }
    if (strcmp(db_value(r, 0, 0), "t") != 0) {
        db_clear(r);
        db_exec(ctx->db, 0, "ROLLBACK", 0, NULL);
        db_exec(ctx->db, 0, "UPDATE learning_state SET skipped_total = skipped_total + 1 WHERE id = 1", 0, NULL);
        out->skipped = true;
        out->duration_ms = clock_ms() - started;
        return 0;
    }
    snprintf(ws, sizeof(ws), "%s", db_value(r, 0, 2));
    snprintf(old_ws, sizeof(old_ws), "%s", db_value(r, 0, 3));
    /* Full when asked, on the first run, with another window length, or
     * when the window moved back (a clock set back, a test's "now"):
     * events it gained are not in learning_dirty. */
    bool full = opts->full || db_is_null(r, 0, 3) || db_is_null(r, 0, 4) || db_int64(r, 0, 4) != days ||
                strcmp(db_value(r, 0, 5), "t") == 0;
    db_clear(r);
    out->full = full;

    if (db_exec(ctx->db, 0, LA_TODO_TABLE_SQL, 0, NULL) != ERR_NONE ||
        db_exec(ctx->db, 0, LA_MARKS_TABLE_SQL, 0, NULL) != ERR_NONE)
        return learning_aggregate_fail(ctx, "temp tables");
    if (db_exec(ctx->db, 0, LA_MARKS_SQL, 0, NULL) != ERR_NONE)
        return learning_aggregate_fail(ctx, "marks");
    const char *todo_params[2] = {old_ws, ws};
    if ((full ? db_exec(ctx->db, 0, LA_TODO_FULL_SQL, 0, NULL)
              : db_exec(ctx->db, 0, LA_TODO_INCREMENTAL_SQL, 2, todo_params)) != ERR_NONE)
        return learning_aggregate_fail(ctx, "work list");
    const char *ws_param[1] = {ws};
    if (db_exec(ctx->db, 0, "ANALYZE la_todo", 0, NULL) != ERR_NONE ||
        db_exec(ctx->db, 0, "CREATE TEMP TABLE la_window (ws timestamptz NOT NULL) ON COMMIT DROP", 0, NULL) !=
            ERR_NONE ||
        db_exec(ctx->db, 0, "INSERT INTO la_window VALUES ($1::timestamptz)", 1, ws_param) != ERR_NONE)
        return learning_aggregate_fail(ctx, "window");
    double t_fs = clock_ms();
    if (db_exec(ctx->db, 0, full ? LA_FS_FULL_SQL : LA_FS_INCREMENTAL_SQL, 0, NULL) != ERR_NONE)
        return learning_aggregate_fail(ctx, "form stats");

    char tf[16], ts[16], tfam[16];
    snprintf(tf, sizeof(tf), "%d", LEARNING_THRESHOLD_FORM);
    snprintf(ts, sizeof(ts), "%d", LEARNING_THRESHOLD_SEGMENT);
    snprintf(tfam, sizeof(tfam), "%d", LEARNING_THRESHOLD_FAMILY);
    const char *params[4] = {ws, tf, ts, tfam};
    double t_compute = clock_ms();
    db_result *rows = db_query(ctx->db, &e, 0, LA_COMPUTE_SQL, 4, params);
    double t_written = clock_ms();
    if (rows == NULL)
        return learning_aggregate_fail(ctx, "compute");
    int n = db_rows(rows);
    long updated = 0;
    for (int i = 0; i < n; i++)
        if (!db_is_null(rows, i, 0))
            updated++;
    out->updated_profiles = updated;
    out->events_read = n > 0 ? (long)db_int64(rows, 0, 2) : 0;

    if (db_exec(ctx->db, 0,
                "DELETE FROM learning_dirty WHERE mark IN (SELECT mark FROM la_marks)", 0, NULL) != ERR_NONE) {
        db_clear(rows);
        return learning_aggregate_fail(ctx, "marks delete");
    }
    char dur[32], upd[24];
    snprintf(dur, sizeof(dur), "%.3f", clock_ms() - started);
    snprintf(upd, sizeof(upd), "%ld", updated);
    const char *state_params[4] = {ws, days_text, dur, upd};
    if (db_exec(ctx->db, 0, LA_STATE_SQL, 4, state_params) != ERR_NONE) {
        db_clear(rows);
        return learning_aggregate_fail(ctx, "state");
    }
    if (db_exec(ctx->db, 0, "COMMIT", 0, NULL) != ERR_NONE) {
        db_clear(rows);
        return learning_aggregate_fail(ctx, "commit");
    }
    for (int i = 0; i < n; i++)
        if (!db_is_null(rows, i, 0))
            learning_profile_invalidate(ctx, db_value(rows, i, 0), db_value(rows, i, 1));
    db_clear(rows);
    out->duration_ms = clock_ms() - started;
    log_info("learning: aggregation (%s, %d days) rewrote %ld profiles from %ld events in %.1f ms"
             " (work list %.1f, form pass %.1f, hints %.1f, commit and cache %.1f)",
             full ? "full" : "incremental", days, out->updated_profiles, out->events_read, out->duration_ms,
             t_fs - started, t_compute - t_fs, t_written - t_compute, started + out->duration_ms - t_written);
    return 0;
}
