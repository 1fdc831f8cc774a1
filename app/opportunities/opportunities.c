/* opportunities: see opportunities.h. Owns the rows: create, read (cache-
 * aside on cachegen), patch, delete and the filtered, keyset-paginated
 * list, and the row -> JSON shape every answer uses. Every statement is
 * parameterised; values travel as text parameters (NULL = SQL NULL) in the
 * order of opf_fields[] (opportunities_fields.c). A write, its job and its
 * counter are one statement (CTEs), so either all of it happens or none. */
#define _GNU_SOURCE
#include "opportunities.h"
#include "opportunities_fields.h"
#include "opportunities_internal.h"
#include "../cache/cache.h"
#include "../cache/cachegen.h"
#include "../core/limits.h"
#include "../core/module.h"
#include "../core/parse.h"
#include "../store/db.h"
#include "../store/db_json.h"
#include "../store/sqlbuf.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- rows ---------------------------------------------------------------------- */

/* The columns every answer reads, in opp_row_json's order (t: table alias). */
#define OPP_COLS(t)                                                                                              \
    t "id, " t "user_id, " t "title, " t "company, " t "recruiter, " t "recruiter_email, " t "source, " t       \
      "message, " t "location, " t "remote, " t "salary_min, " t "salary_max, " t "currency, " t "status, " t    \
      "tags::text, " t "score, " t "tier, " t "score_details::text, " DB_SQL_TIMESTAMP(t "created_at") ", "        \
      DB_SQL_TIMESTAMP(t "updated_at") ", " DB_SQL_TIMESTAMP(t "scored_at") ", " t "rev"
enum { OPP_C_ID, OPP_C_USER, OPP_C_FIELDS, OPP_C_SCORE = OPP_C_FIELDS + OPF_FIELDS, OPP_C_TIER, OPP_C_DETAILS,
       OPP_C_CREATED, OPP_C_UPDATED, OPP_C_SCORED, OPP_C_REV };

/* The columns after the fields, in OPP_COLS's order. */
static const struct db_json_column opp_tail_json[] = {
    {"score", OPP_C_SCORE, DB_JSON_INT64_OR_NULL, NULL},
    {"tier", OPP_C_TIER, DB_JSON_TEXT_OR_NULL, NULL},
    {"score_details", OPP_C_DETAILS, DB_JSON_JSON, NULL},
    {"created_at", OPP_C_CREATED, DB_JSON_TEXT, NULL},
    {"updated_at", OPP_C_UPDATED, DB_JSON_TEXT, NULL},
    {"scored_at", OPP_C_SCORED, DB_JSON_TIMESTAMP, NULL},
};

/* A field's column as db_json reads it when not NULL. */
static enum db_json_kind opp_field_kind(enum opf_kind k)
{
    switch (k) {
    case OPF_K_BOOL:
        return DB_JSON_BOOL;
    case OPF_K_INT:
        return DB_JSON_INT64;
    case OPF_K_TAGS:
        return DB_JSON_JSON;
    default:
        return DB_JSON_TEXT;
    }
}

static struct json_object *opp_row_json(const db_result *r, int row)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(db_int64(r, row, OPP_C_ID)));
    json_object_object_add(o, "user_id", json_object_new_int64(db_int64(r, row, OPP_C_USER)));
    for (int i = 0; i < OPF_FIELDS; i++) {
        int c = OPP_C_FIELDS + i;
        /* every field may be null: null, whatever its kind */
        json_object_object_add(o, opf_fields[i].name,
                               db_is_null(r, row, c) ? NULL
                                                     : db_json_value(r, row, c, opp_field_kind(opf_fields[i].kind)));
    }
    db_json_row_into(o, r, row, opp_tail_json, DB_JSON_COUNT(opp_tail_json));
    return o;
}

/* Serialises and frees o. */
enum err opp_take_json(struct json_object *o, char **json, size_t *len)
{
    size_t n;
    const char *text = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &n);
    *json = strndup(text, n);
    *len = n;
    json_object_put(o);
    return *json != NULL ? ERR_NONE : ERR_INTERNAL;
}

/* Entries are per user ("o:<user>:<id>", "s:<user>"): a generation is a
 * small number that another user's token can equal, so a key must never be
 * readable under another user's token. */
size_t opp_key(char out[48], char kind, int64_t user_id, int64_t id)
{
    if (kind == 's')
        return (size_t)snprintf(out, 48, "s:%" PRId64, user_id);
    return (size_t)snprintf(out, 48, "%c:%" PRId64 ":%" PRId64, kind, user_id, id);
}

/* ---- create ---------------------------------------------------------------------- */

static const char OPP_INSERT_SQL[] =
    "WITH o AS (INSERT INTO opportunities (user_id, title, company, recruiter, recruiter_email, source, message,"
    " location, remote, salary_min, salary_max, currency, status, tags)"
    " SELECT $1::bigint, $2, $3, $4, $5, $6, $7, $8, $9::boolean, $10::bigint, $11::bigint, $12, $13, $14::jsonb"
    " WHERE EXISTS (SELECT 1 FROM users WHERE id = $1::bigint) RETURNING *),"
    " j AS (INSERT INTO jobs (kind, payload) SELECT 'process_opportunity', jsonb_build_object('opportunity_id', id)"
    " FROM o),"
    " c AS (INSERT INTO opportunity_counters (name, label, value) SELECT 'created', source, 1 FROM o"
    " ON CONFLICT (name, label) DO UPDATE SET value = opportunity_counters.value + 1)"
    " SELECT " OPP_COLS("o.") " FROM o";

enum err opportunities_create(struct tally_ctx *ctx, const struct opp_actor *who, struct json_object *body,
                              char **json, size_t *len, struct opp_error *oe)
{
    struct opf_vals vals = {0};
    struct json_object *uid_field = NULL;
    enum err e = opf_parse_body(body, true, &vals, &uid_field, oe);
    if (e != ERR_NONE)
        goto out;
    int64_t owner = who->user_id;
    if (uid_field != NULL || who->admin) {
        int64_t asked = uid_field != NULL && json_object_is_type(uid_field, json_type_int)
                            ? json_object_get_int64(uid_field)
                            : 0;
        if (asked <= 0) {
            e = opf_fail(oe, ERR_UNPROCESSABLE, "user_id",
                         who->admin ? "an admin token must give user_id (a positive integer)"
                                    : "user_id must be a positive integer");
            goto out;
        }
        if (!who->admin && asked != who->user_id) {
            e = opf_fail(oe, ERR_FORBIDDEN, "user_id", "this token cannot create opportunities for user %" PRId64,
                         asked);
            goto out;
        }
        owner = asked;
    }
    for (int i = 0; i < OPF_FIELDS; i++)
        if (!vals.set[i] && opf_fields[i].default_value != NULL && (vals.v[i] = strdup(opf_fields[i].default_value)) == NULL) {
            e = ERR_INTERNAL;
            goto out;
        }
    if ((e = opf_check_whole(&vals, oe)) != ERR_NONE)
        goto out;
    char uid[24];
    db_param_i64(uid, owner);
    const char *params[1 + OPF_FIELDS];
    params[0] = uid;
    for (int i = 0; i < OPF_FIELDS; i++)
        params[1 + i] = vals.v[i];
    db_result *r = db_query(ctx->db, &e, 0, OPP_INSERT_SQL, 1 + OPF_FIELDS, params);
    if (r == NULL)
        goto out;
    if (db_rows(r) == 0) {
        db_clear(r);
        e = opf_fail(oe, ERR_UNPROCESSABLE, "user_id", "user %" PRId64 " does not exist", owner);
        goto out;
    }
    struct json_object *o = opp_row_json(r, 0);
    db_clear(r);
    cachegen_sync_user(ctx->db, ctx->cache, owner);   /* the trigger moved the generation: the stats changed */
    e = opp_take_json(o, json, len);
out:
    opf_vals_free(&vals);
    return e;
}

/* ---- read ---------------------------------------------------------------------- */

/* The owner's opportunity generation (cachegen) comes in the same snapshot
 * as the row, at column OPP_C_REV + 1. */
static const char OPP_GET_SQL[] =
    "SELECT " OPP_COLS("") ", coalesce((SELECT g.opportunity_generation FROM metric_generations g"
    " WHERE g.user_id = opportunities.user_id), 0) FROM opportunities"
    " WHERE id = $1::bigint AND ($2::bigint IS NULL OR user_id = $2::bigint)";

/* The row of id visible to who (rows 0 when it is not). */
static db_result *opp_fetch(struct tally_ctx *ctx, const struct opp_actor *who, int64_t id, enum err *e)
{
    char idt[24], uid[24];
    db_param_i64(idt, id);
    db_param_i64(uid, who->user_id);
    const char *params[2] = {idt, who->admin ? NULL : uid};
    return db_query(ctx->db, e, DB_RETRY_ON_RECONNECT, OPP_GET_SQL, 2, params);
}

enum err opportunities_get(struct tally_ctx *ctx, const struct opp_actor *who, int64_t id, char **json,
                           size_t *len, struct opp_error *oe)
{
    char key[48];
    size_t klen = opp_key(key, 'o', who->user_id, id);
    uint64_t token = 0;
    int cached = -1;
    *json = NULL;
    /* Admins read PostgreSQL: the entry is keyed by its owner's generation,
     * which an admin does not know before reading the row. */
    if (!who->admin && cachegen_trusted(ctx->db, ctx->cache, OPP_CACHE_NS, who->user_id)) {
        cached = cachegen_lookup(ctx->cache, OPP_CACHE_NS, who->user_id, key, klen, &token, json, len);
        if (cached == 1)
            return ERR_NONE;
    }
    enum err e;
    db_result *r = opp_fetch(ctx, who, id, &e);
    if (r == NULL)
        return e;
    if (db_rows(r) == 0) {
        db_clear(r);
        return opf_fail(oe, ERR_NOT_FOUND, "id", "opportunity %" PRId64 " not found", id);
    }
    struct json_object *o = opp_row_json(r, 0);
    uint64_t gen = (uint64_t)db_int64(r, 0, OPP_C_REV + 1);
    db_clear(r);
    e = opp_take_json(o, json, len);
    if (e == ERR_NONE && cached == 0)
        cachegen_put(ctx->cache, OPP_CACHE_NS, who->user_id, key, klen, gen, token, *json, *len, OPP_CACHE_TTL_S);
    return e;
}

/* ---- patch ------------------------------------------------------------------------ */

static const char OPP_UPDATE_SQL[] =
    "WITH u AS (UPDATE opportunities SET title = $3, company = $4, recruiter = $5, recruiter_email = $6,"
    " source = $7, message = $8, location = $9, remote = $10::boolean, salary_min = $11::bigint,"
    " salary_max = $12::bigint, currency = $13, status = $14, tags = $15::jsonb, rev = rev + 1,"
    " content_rev = content_rev + $16::int, updated_at = clock_timestamp()"
    " WHERE id = $1::bigint AND rev = $2::bigint RETURNING *),"
    " j AS (INSERT INTO jobs (kind, payload) SELECT 'process_opportunity', jsonb_build_object('opportunity_id', id)"
    " FROM u WHERE $16::int = 1)"
    " SELECT " OPP_COLS("u.") " FROM u";

static bool opp_same(const char *a, const char *b)
{
    return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

enum err opportunities_patch(struct tally_ctx *ctx, const struct opp_actor *who, int64_t id,
                             struct json_object *body, char **json, size_t *len, struct opp_error *oe)
{
    struct opf_vals patch = {0}, cur = {0};
    struct json_object *uid_field = NULL;
    enum err e = opf_parse_body(body, false, &patch, &uid_field, oe);
    for (int attempt = 0; e == ERR_NONE && attempt < OPP_PATCH_TRIES; attempt++) {
        db_result *r = opp_fetch(ctx, who, id, &e);
        if (r == NULL)
            break;
        if (db_rows(r) == 0) {
            db_clear(r);
            e = opf_fail(oe, ERR_NOT_FOUND, "id", "opportunity %" PRId64 " not found", id);
            break;
        }
        int64_t owner = db_int64(r, 0, OPP_C_USER);
        char rev[24];
        snprintf(rev, sizeof(rev), "%s", db_value(r, 0, OPP_C_REV));
        opf_vals_free(&cur);
        bool rescore = false;
        for (int i = 0; i < OPF_FIELDS && e == ERR_NONE; i++) {
            const char *old = db_is_null(r, 0, OPP_C_FIELDS + i) ? NULL : db_value(r, 0, OPP_C_FIELDS + i);
            const char *now = patch.set[i] ? patch.v[i] : old;
            if (opf_fields[i].scored && !opp_same(old, now))
                rescore = true;
            if (now != NULL && (cur.v[i] = strdup(now)) == NULL)
                e = ERR_INTERNAL;
        }
        db_clear(r);
        if (e != ERR_NONE || (e = opf_check_whole(&cur, oe)) != ERR_NONE)
            break;
        char idt[24];
        db_param_i64(idt, id);
        const char *params[3 + OPF_FIELDS];
        params[0] = idt;
        params[1] = rev;
        for (int i = 0; i < OPF_FIELDS; i++)
            params[2 + i] = cur.v[i];
        params[2 + OPF_FIELDS] = rescore ? "1" : "0";
        r = db_query(ctx->db, &e, 0, OPP_UPDATE_SQL, 3 + OPF_FIELDS, params);
        if (r == NULL)
            break;
        if (db_rows(r) == 0) {                 /* another write came first: read again */
            db_clear(r);
            e = attempt + 1 < OPP_PATCH_TRIES ? ERR_NONE
                                              : opf_fail(oe, ERR_CONFLICT, "id", "opportunity %" PRId64
                                                         " is being changed concurrently, try again", id);
            if (e != ERR_NONE)
                break;
            continue;
        }
        struct json_object *o = opp_row_json(r, 0);
        db_clear(r);
        cachegen_sync_user(ctx->db, ctx->cache, owner);
        e = opp_take_json(o, json, len);
        break;
    }
    opf_vals_free(&patch);
    opf_vals_free(&cur);
    return e;
}

/* ---- delete ------------------------------------------------------------------------ */

enum err opportunities_delete(struct tally_ctx *ctx, const struct opp_actor *who, int64_t id,
                              struct opp_error *oe)
{
    char idt[24], uid[24];
    db_param_i64(idt, id);
    db_param_i64(uid, who->user_id);
    const char *params[2] = {idt, who->admin ? NULL : uid};
    enum err e;
    db_result *r = db_query(ctx->db, &e, 0,
                            "DELETE FROM opportunities WHERE id = $1::bigint"
                            " AND ($2::bigint IS NULL OR user_id = $2::bigint) RETURNING user_id",
                            2, params);
    if (r == NULL)
        return e;
    if (db_rows(r) == 0) {
        db_clear(r);
        return opf_fail(oe, ERR_NOT_FOUND, "id", "opportunity %" PRId64 " not found", id);
    }
    int64_t owner = db_int64(r, 0, 0);
    db_clear(r);
    cachegen_sync_user(ctx->db, ctx->cache, owner);
    return ERR_NONE;
}

/* ---- list -------------------------------------------------------------------------- */

/* Cursor: "<c|s><key>.<id>" - c: created_at in Unix microseconds, s: the
 * sort score (coalesce(score, -1)). It must match the sort it came from. */
static bool opp_cursor_parse(const char *s, char want, int64_t *key, int64_t *id)
{
    if (s[0] != want)
        return false;
    const char *dot = strchr(s, '.');
    if (dot == NULL)
        return false;
    return parse_int64(s + 1, (size_t)(dot - s - 1), want == 's' ? -1 : INT64_MIN / 2, want == 's' ? 100 : INT64_MAX / 2,
                       key) == 0 &&
           parse_int64(dot + 1, strlen(dot + 1), 1, INT64_MAX, id) == 0;
}

/* LIKE pattern matching s anywhere: %s% with \ % _ escaped. */
static char *opp_like(const char *s)
{
    size_t n = strlen(s);
    char *p = malloc(2 * n + 3);
    if (p == NULL)
        return NULL;
    size_t o = 0;
    p[o++] = '%';
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' || s[i] == '%' || s[i] == '_')
            p[o++] = '\\';
        p[o++] = s[i];
    }
    p[o++] = '%';
    p[o] = '\0';
    return p;
}


enum err opportunities_list(struct tally_ctx *ctx, const struct opp_list_query *lq, char **json, size_t *len,
                            struct opp_error *oe)
{
    int64_t limit = LIMIT_LIST_DEFAULT, min_score = 0, ckey = 0, cid = 0;
    const char *sort = lq->sort != NULL && lq->sort[0] != '\0' ? lq->sort : "-created";
    bool by_score = strcmp(sort, "score") == 0 || strcmp(sort, "-score") == 0;
    bool desc = sort[0] == '-';
    if (!by_score && strcmp(sort, "created") != 0 && strcmp(sort, "-created") != 0)
        return opf_fail(oe, ERR_BAD_REQUEST, "sort", "sort must be one of score, -score, created, -created");
    if (lq->limit != NULL && parse_int64(lq->limit, strlen(lq->limit), 1, LIMIT_LIST_MAX, &limit) != 0)
        return opf_fail(oe, ERR_BAD_REQUEST, "limit", "limit must be an integer from 1 to %d", LIMIT_LIST_MAX);
    if (lq->tier != NULL && !opf_in(opf_tiers, lq->tier))
        return opf_fail(oe, ERR_BAD_REQUEST, "tier", "tier must be A, B or C");
    if (lq->status != NULL && !opf_in(opf_statuses, lq->status))
        return opf_fail(oe, ERR_BAD_REQUEST, "status",
                        "status must be one of new, contacted, interviewing, offer, rejected, archived");
    if (lq->min_score != NULL && parse_int64(lq->min_score, strlen(lq->min_score), 0, 100, &min_score) != 0)
        return opf_fail(oe, ERR_BAD_REQUEST, "min_score", "min_score must be an integer from 0 to 100");
    if (lq->q != NULL && (strlen(lq->q) > 4 * OPP_Q_CHARS || !opf_text_ok(lq->q, strlen(lq->q), OPP_Q_CHARS, false)))
        return opf_fail(oe, ERR_BAD_REQUEST, "q", "q must be 1 to %d characters without control characters",
                        OPP_Q_CHARS);
    bool has_cursor = lq->cursor != NULL && lq->cursor[0] != '\0';
    if (has_cursor && !opp_cursor_parse(lq->cursor, by_score ? 's' : 'c', &ckey, &cid))
        return opf_fail(oe, ERR_BAD_REQUEST, "cursor", "invalid cursor (or one made for another sort)");

    char *like = NULL;
    const char *key_sql = by_score ? "coalesce(score, -1)" : "created_at";
    const char *order = desc ? " DESC" : " ASC";
    struct sqlbuf b;
    sqlbuf_init(&b);
    sqlbuf_add(&b, "SELECT " OPP_COLS("") ", ");
    sqlbuf_add(&b, by_score ? "coalesce(score, -1)::text" : "(extract(epoch FROM created_at) * 1000000)::bigint::text");
    sqlbuf_add(&b, " FROM opportunities WHERE true");
    if (lq->user_id > 0) {
        sqlbuf_add(&b, " AND user_id = ");
        sqlbuf_i64(&b, lq->user_id);
        sqlbuf_add(&b, "::bigint");
    }
    if (lq->tier != NULL)
        sqlbuf_add_with(&b, " AND tier = ?", lq->tier);
    if (lq->status != NULL)
        sqlbuf_add_with(&b, " AND status = ?", lq->status);
    if (lq->min_score != NULL) {
        sqlbuf_add(&b, " AND coalesce(score, -1) >= ");
        sqlbuf_i64(&b, min_score);
        sqlbuf_add(&b, "::int");
    }
    if (lq->q != NULL) {
        if ((like = opp_like(lq->q)) == NULL)
            return ERR_INTERNAL;
        /* A q with non-ASCII letters is matched under an ICU collation: ILIKE of
         * a C-ctype database folds only ASCII ("DÉV" would miss "Dév"). An
         * ASCII q keeps the default collation, so the trigram index serves it. */
        bool ascii = true;
        for (const char *c = lq->q; *c != '\0'; c++)
            ascii = ascii && (unsigned char)*c < 0x80;
        sqlbuf_add_with(&b, ascii ? " AND (title || E'\\n' || coalesce(company, '') || E'\\n' || coalesce(message, '')) ILIKE ?"
                                  : " AND (title || E'\\n' || coalesce(company, '') || E'\\n' || coalesce(message, ''))"
                                    " ILIKE (? COLLATE \"und-x-icu\")",
                        like);
    }
    if (has_cursor) {
        sqlbuf_add(&b, by_score ? " AND (coalesce(score, -1), id) " : " AND (created_at, id) ");
        sqlbuf_add(&b, desc ? "< (" : "> (");
        if (by_score) {
            sqlbuf_i64(&b, ckey);
            sqlbuf_add(&b, "::int, ");
        } else {
            sqlbuf_add(&b, "'epoch'::timestamptz + ");
            sqlbuf_i64(&b, ckey);
            sqlbuf_add(&b, "::bigint * interval '1 microsecond', ");
        }
        sqlbuf_i64(&b, cid);
        sqlbuf_add(&b, "::bigint)");
    }
    sqlbuf_add(&b, " ORDER BY ");
    sqlbuf_add(&b, key_sql);
    sqlbuf_add(&b, order);
    sqlbuf_add(&b, ", id");
    sqlbuf_add(&b, order);
    sqlbuf_add(&b, " LIMIT ");
    sqlbuf_add_int(&b, limit + 1);
    enum err e;
    db_result *r = sqlbuf_query(ctx->db, &e, DB_RETRY_ON_RECONNECT, &b);
    free(like);
    if (r == NULL)
        return e;
    int rows = db_rows(r), shown = rows > limit ? (int)limit : rows;
    struct json_object *root = json_object_new_object(), *items = json_object_new_array();
    for (int i = 0; i < shown; i++)
        json_object_array_add(items, opp_row_json(r, i));
    struct json_object *next = NULL;
    if (rows > limit) {
        char cursor[64];
        snprintf(cursor, sizeof(cursor), "%c%s.%s", by_score ? 's' : 'c', db_value(r, shown - 1, OPP_C_REV + 1),
                 db_value(r, shown - 1, OPP_C_ID));
        next = json_object_new_string(cursor);
    }
    db_clear(r);
    json_object_object_add(root, "items", items);
    json_object_object_add(root, "next_cursor", next);
    return opp_take_json(root, json, len);
}
