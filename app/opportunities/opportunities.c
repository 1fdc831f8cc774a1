/* opportunities: see opportunities.h. Every statement is parameterised;
 * values travel as text parameters (NULL = SQL NULL) in the order of
 * opp_fields[]. A write, its job and its counter are one statement (CTEs),
 * so either all of it happens or none. */
#define _GNU_SOURCE
#include "opportunities.h"
#include "opportunities_score.h"
#include "../cache/cache.h"
#include "../cache/cachegen.h"
#include "../core/buf.h"
#include "../core/limits.h"
#include "../core/log.h"
#include "../core/module.h"
#include "../core/parse.h"
#include "../core/text.h"
#include "../jobs/jobs.h"
#include "../store/db.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPP_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* ---- fields ---------------------------------------------------------------- */

enum opp_kind { OPP_K_TEXT, OPP_K_LONGTEXT, OPP_K_EMAIL, OPP_K_ENUM, OPP_K_BOOL, OPP_K_INT, OPP_K_CURRENCY,
                OPP_K_TAGS };

enum opp_field_id { OPP_F_TITLE, OPP_F_COMPANY, OPP_F_RECRUITER, OPP_F_EMAIL, OPP_F_SOURCE, OPP_F_MESSAGE,
                    OPP_F_LOCATION, OPP_F_REMOTE, OPP_F_SALARY_MIN, OPP_F_SALARY_MAX, OPP_F_CURRENCY,
                    OPP_F_STATUS, OPP_F_TAGS, OPP_FIELDS };

struct opp_field {
    const char *name;
    enum opp_kind kind;
    int max_chars;
    bool nullable;
    bool scored;                         /* a change re-queues scoring */
    const char *const *values;           /* enums */
    const char *default_value;           /* on create; NULL = SQL NULL */
};

static const char *const opp_sources[] = {"linkedin", "email", "manual", "other", NULL};
static const char *const opp_statuses[] = {"new", "contacted", "interviewing", "offer", "rejected", "archived", NULL};
static const char *const opp_tiers[] = {"A", "B", "C", NULL};

static const struct opp_field opp_fields[OPP_FIELDS] = {
    [OPP_F_TITLE] = {"title", OPP_K_TEXT, OPP_TITLE_CHARS, false, true, NULL, NULL},
    [OPP_F_COMPANY] = {"company", OPP_K_TEXT, OPP_NAME_CHARS, true, true, NULL, NULL},
    [OPP_F_RECRUITER] = {"recruiter", OPP_K_TEXT, OPP_NAME_CHARS, true, false, NULL, NULL},
    [OPP_F_EMAIL] = {"recruiter_email", OPP_K_EMAIL, OPP_EMAIL_BYTES, true, false, NULL, NULL},
    [OPP_F_SOURCE] = {"source", OPP_K_ENUM, 0, false, false, opp_sources, "manual"},
    [OPP_F_MESSAGE] = {"message", OPP_K_LONGTEXT, OPP_MESSAGE_CHARS, true, true, NULL, NULL},
    [OPP_F_LOCATION] = {"location", OPP_K_TEXT, OPP_NAME_CHARS, true, false, NULL, NULL},
    [OPP_F_REMOTE] = {"remote", OPP_K_BOOL, 0, true, true, NULL, NULL},
    [OPP_F_SALARY_MIN] = {"salary_min", OPP_K_INT, 0, true, true, NULL, NULL},
    [OPP_F_SALARY_MAX] = {"salary_max", OPP_K_INT, 0, true, true, NULL, NULL},
    [OPP_F_CURRENCY] = {"currency", OPP_K_CURRENCY, 0, false, true, NULL, "EUR"},
    [OPP_F_STATUS] = {"status", OPP_K_ENUM, 0, false, false, opp_statuses, "new"},
    [OPP_F_TAGS] = {"tags", OPP_K_TAGS, 0, false, false, NULL, "[]"},
};

/* Fields a client may not write. */
static const char *const opp_read_only[] = {"id", "score", "tier", "score_details", "created_at", "updated_at",
                                            "scored_at", NULL};

/* Text values of the fields, malloc'd; NULL = SQL NULL. */
struct opp_vals {
    char *v[OPP_FIELDS];
    bool set[OPP_FIELDS];
};

static void opp_vals_free(struct opp_vals *vals)
{
    for (int i = 0; i < OPP_FIELDS; i++)
        free(vals->v[i]);
    memset(vals, 0, sizeof(*vals));
}

static enum err opp_fail(struct opp_error *oe, enum err e, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum err opp_fail(struct opp_error *oe, enum err e, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(oe->message, sizeof(oe->message), fmt, ap);
    va_end(ap);
    oe->field = field;
    return e;
}

static bool opp_in(const char *const *list, const char *s)
{
    for (int i = 0; list[i] != NULL; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

/* Characters (code points) of valid UTF-8. */
static size_t opp_chars(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            c++;
    return c;
}

/* 1..max_chars characters of UTF-8 without NUL or control characters
 * (multi_line also allows \n, \r and \t), not only spaces. */
static bool opp_text_ok(const char *s, size_t n, int max_chars, bool multi_line)
{
    if (n == 0 || !text_is_utf8(s, n) || opp_chars(s, n) > (size_t)max_chars)
        return false;
    bool visible = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == 0x7f || (c < 0x20 && !(multi_line && (c == '\n' || c == '\r' || c == '\t'))))
            return false;
        visible = visible || c > 0x20;
    }
    return visible;
}

/* local@domain: local 1..64 bytes of printable ASCII other than space, "(),:;<>@[\]
 * and no leading, trailing or double dot; domain: two or more labels of
 * letters, digits and inner hyphens, 1..63 bytes each; a last label of 2+ letters. */
static bool opp_email_ok(const char *s, size_t n)
{
    const char *at = memchr(s, '@', n);
    if (at == NULL || n > OPP_EMAIL_BYTES)
        return false;
    size_t local = (size_t)(at - s), dom = n - local - 1;
    if (local == 0 || local > 64 || dom < 4 || s[0] == '.' || at[-1] == '.')
        return false;
    for (size_t i = 0; i < local; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f || strchr("\"(),:;<>@[\\]", c) != NULL || (c == '.' && s[i + 1] == '.'))
            return false;
    }
    const char *d = at + 1;
    size_t label = 0, labels = 0, last_start = 0;
    for (size_t i = 0; i <= dom; i++) {
        unsigned char c = i < dom ? (unsigned char)d[i] : '.';
        if (c == '.') {
            if (label == 0 || label > 63 || d[i - 1] == '-')
                return false;
            labels++;
            label = 0;
            if (i < dom)
                last_start = i + 1;
            continue;
        }
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && !(c == '-' && label > 0))
            return false;
        label++;
    }
    if (labels < 2 || dom - last_start < 2)
        return false;
    for (size_t i = last_start; i < dom; i++)        /* top-level domain: letters only */
        if (!((d[i] >= 'a' && d[i] <= 'z') || (d[i] >= 'A' && d[i] <= 'Z')))
            return false;
    return true;
}

/* Validates one field's JSON value (NULL = JSON null) into *out (malloc'd, or
 * NULL for SQL NULL). */
static enum err opp_field_value(const struct opp_field *f, struct json_object *jv, char **out,
                                struct opp_error *oe)
{
    *out = NULL;
    if (jv == NULL) {
        if (f->nullable)
            return ERR_NONE;
        return opp_fail(oe, ERR_UNPROCESSABLE, f->name, "%s must not be null", f->name);
    }
    char num[32];
    switch (f->kind) {
    case OPP_K_TEXT:
    case OPP_K_LONGTEXT: {
        if (!json_object_is_type(jv, json_type_string))
            return opp_fail(oe, ERR_UNPROCESSABLE, f->name, "%s must be a string", f->name);
        const char *s = json_object_get_string(jv);
        size_t n = (size_t)json_object_get_string_len(jv);
        if (strlen(s) != n || !opp_text_ok(s, n, f->max_chars, f->kind == OPP_K_LONGTEXT))
            return opp_fail(oe, ERR_UNPROCESSABLE, f->name,
                            "%s must be 1 to %d characters of UTF-8 text, not only spaces, without control characters", f->name,
                            f->max_chars);
        *out = strndup(s, n);
        break;
    }
    case OPP_K_EMAIL: {
        const char *s = json_object_is_type(jv, json_type_string) ? json_object_get_string(jv) : NULL;
        if (s == NULL || strlen(s) != (size_t)json_object_get_string_len(jv) || !opp_email_ok(s, strlen(s)))
            return opp_fail(oe, ERR_UNPROCESSABLE, f->name, "%s must be an e-mail address (name@example.com)",
                            f->name);
        *out = strdup(s);
        break;
    }
    case OPP_K_ENUM: {
        const char *s = json_object_is_type(jv, json_type_string) ? json_object_get_string(jv) : NULL;
        if (s == NULL || !opp_in(f->values, s)) {
            char list[128] = "";
            for (int i = 0; f->values[i] != NULL; i++)
                snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "", f->values[i]);
            return opp_fail(oe, ERR_UNPROCESSABLE, f->name, "%s must be one of %s", f->name, list);
        }
        *out = strdup(s);
        break;
    }
    case OPP_K_BOOL:
        if (!json_object_is_type(jv, json_type_boolean))
            return opp_fail(oe, ERR_UNPROCESSABLE, f->name, "%s must be true, false or null", f->name);
        *out = strdup(json_object_get_boolean(jv) ? "t" : "f");
        break;
    case OPP_K_INT: {
        int64_t v = json_object_is_type(jv, json_type_int) ? json_object_get_int64(jv) : -1;
        if (v < 0 || v > OPP_SALARY_MAX)
            return opp_fail(oe, ERR_UNPROCESSABLE, f->name, "%s must be an integer from 0 to %d, or null", f->name,
                            OPP_SALARY_MAX);
        db_param_i64(num, v);
        *out = strdup(num);
        break;
    }
    case OPP_K_CURRENCY: {
        const char *s = json_object_is_type(jv, json_type_string) ? json_object_get_string(jv) : NULL;
        if (s == NULL || strlen(s) != 3 || !(s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' &&
                                             s[2] >= 'A' && s[2] <= 'Z'))
            return opp_fail(oe, ERR_UNPROCESSABLE, f->name, "%s must be a 3-letter ISO 4217 code (EUR)", f->name);
        *out = strdup(s);
        break;
    }
    case OPP_K_TAGS: {
        if (!json_object_is_type(jv, json_type_array) || json_object_array_length(jv) > OPP_TAGS_MAX)
            return opp_fail(oe, ERR_UNPROCESSABLE, f->name, "%s must be an array of at most %d strings", f->name,
                            OPP_TAGS_MAX);
        for (size_t i = 0; i < json_object_array_length(jv); i++) {
            struct json_object *t = json_object_array_get_idx(jv, i);
            const char *s = json_object_is_type(t, json_type_string) ? json_object_get_string(t) : NULL;
            if (s == NULL || strlen(s) != (size_t)json_object_get_string_len(t) ||
                !opp_text_ok(s, strlen(s), OPP_TAG_CHARS, false))
                return opp_fail(oe, ERR_UNPROCESSABLE, f->name,
                                "tags[%zu] must be a string of 1 to %d characters without control characters", i,
                                OPP_TAG_CHARS);
        }
        *out = strdup(json_object_to_json_string_ext(jv, JSON_C_TO_STRING_PLAIN));
        break;
    }
    }
    return *out != NULL ? ERR_NONE : ERR_INTERNAL;
}

/* Reads a JSON object body into vals (only the fields present are set).
 * *user_id_field: the "user_id" member (NULL if absent), allowed on create. */
static enum err opp_parse_body(struct json_object *body, bool create, struct opp_vals *vals,
                               struct json_object **user_id_field, struct opp_error *oe)
{
    *user_id_field = NULL;
    json_object_object_foreach(body, key, jv)
    {
        for (int r = 0; opp_read_only[r] != NULL; r++)
            if (strcmp(opp_read_only[r], key) == 0)
                return opp_fail(oe, ERR_UNPROCESSABLE, opp_read_only[r], "%s is read-only", key);
        if (strcmp(key, "user_id") == 0) {
            if (!create)
                return opp_fail(oe, ERR_UNPROCESSABLE, "user_id", "user_id cannot be changed");
            *user_id_field = jv;
            continue;
        }
        int i = 0;
        while (i < OPP_FIELDS && strcmp(opp_fields[i].name, key) != 0)
            i++;
        if (i == OPP_FIELDS)
            return opp_fail(oe, ERR_UNPROCESSABLE, NULL, "unknown field \"%.60s\"", key);
        enum err e = opp_field_value(&opp_fields[i], jv, &vals->v[i], oe);
        if (e != ERR_NONE)
            return e;
        vals->set[i] = true;
    }
    return ERR_NONE;
}

/* The cross-field rules on the complete values. */
static enum err opp_check_whole(const struct opp_vals *vals, struct opp_error *oe)
{
    if (vals->v[OPP_F_TITLE] == NULL)
        return opp_fail(oe, ERR_UNPROCESSABLE, "title", "title is required");
    if (vals->v[OPP_F_SALARY_MIN] != NULL && vals->v[OPP_F_SALARY_MAX] != NULL &&
        strtoll(vals->v[OPP_F_SALARY_MIN], NULL, 10) > strtoll(vals->v[OPP_F_SALARY_MAX], NULL, 10))
        return opp_fail(oe, ERR_UNPROCESSABLE, "salary_min", "salary_min must not be greater than salary_max");
    return ERR_NONE;
}

/* ---- rows ---------------------------------------------------------------------- */

/* The columns every answer reads, in opp_row_json's order (t: table alias). */
#define OPP_COLS(t)                                                                                              \
    t "id, " t "user_id, " t "title, " t "company, " t "recruiter, " t "recruiter_email, " t "source, " t       \
      "message, " t "location, " t "remote, " t "salary_min, " t "salary_max, " t "currency, " t "status, " t    \
      "tags::text, " t "score, " t "tier, " t "score_details::text, " OPP_TS(t "created_at") ", " OPP_TS(       \
          t "updated_at") ", " OPP_TS(t "scored_at") ", " t "rev"
enum { OPP_C_ID, OPP_C_USER, OPP_C_FIELDS, OPP_C_SCORE = OPP_C_FIELDS + OPP_FIELDS, OPP_C_TIER, OPP_C_DETAILS,
       OPP_C_CREATED, OPP_C_UPDATED, OPP_C_SCORED, OPP_C_REV };

static struct json_object *opp_parse_json(const char *text)
{
    struct json_object *o = json_tokener_parse(text);
    return o;
}

static struct json_object *opp_row_json(const db_result *r, int row)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(db_int64(r, row, OPP_C_ID)));
    json_object_object_add(o, "user_id", json_object_new_int64(db_int64(r, row, OPP_C_USER)));
    for (int i = 0; i < OPP_FIELDS; i++) {
        int c = OPP_C_FIELDS + i;
        struct json_object *v = NULL;
        if (!db_is_null(r, row, c)) {
            const char *text = db_value(r, row, c);
            switch (opp_fields[i].kind) {
            case OPP_K_BOOL:
                v = json_object_new_boolean(text[0] == 't');
                break;
            case OPP_K_INT:
                v = json_object_new_int64(db_int64(r, row, c));
                break;
            case OPP_K_TAGS:
                v = opp_parse_json(text);
                break;
            default:
                v = json_object_new_string(text);
            }
        }
        json_object_object_add(o, opp_fields[i].name, v);
    }
    json_object_object_add(o, "score", db_is_null(r, row, OPP_C_SCORE)
                                           ? NULL
                                           : json_object_new_int64(db_int64(r, row, OPP_C_SCORE)));
    json_object_object_add(o, "tier", db_is_null(r, row, OPP_C_TIER) ? NULL
                                                                     : json_object_new_string(db_value(r, row, OPP_C_TIER)));
    json_object_object_add(o, "score_details",
                           db_is_null(r, row, OPP_C_DETAILS) ? NULL : opp_parse_json(db_value(r, row, OPP_C_DETAILS)));
    json_object_object_add(o, "created_at", json_object_new_string(db_value(r, row, OPP_C_CREATED)));
    json_object_object_add(o, "updated_at", json_object_new_string(db_value(r, row, OPP_C_UPDATED)));
    json_object_object_add(o, "scored_at", db_is_null(r, row, OPP_C_SCORED)
                                               ? NULL
                                               : json_object_new_string(db_value(r, row, OPP_C_SCORED)));
    return o;
}

/* Serialises and frees o. */
static enum err opp_take_json(struct json_object *o, char **json, size_t *len)
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
static size_t opp_key(char out[48], char kind, int64_t user_id, int64_t id)
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
    struct opp_vals vals = {0};
    struct json_object *uid_field = NULL;
    enum err e = opp_parse_body(body, true, &vals, &uid_field, oe);
    if (e != ERR_NONE)
        goto out;
    int64_t owner = who->user_id;
    if (uid_field != NULL || who->admin) {
        int64_t asked = uid_field != NULL && json_object_is_type(uid_field, json_type_int)
                            ? json_object_get_int64(uid_field)
                            : 0;
        if (asked <= 0) {
            e = opp_fail(oe, ERR_UNPROCESSABLE, "user_id",
                         who->admin ? "an admin token must give user_id (a positive integer)"
                                    : "user_id must be a positive integer");
            goto out;
        }
        if (!who->admin && asked != who->user_id) {
            e = opp_fail(oe, ERR_FORBIDDEN, "user_id", "this token cannot create opportunities for user %" PRId64,
                         asked);
            goto out;
        }
        owner = asked;
    }
    for (int i = 0; i < OPP_FIELDS; i++)
        if (!vals.set[i] && opp_fields[i].default_value != NULL && (vals.v[i] = strdup(opp_fields[i].default_value)) == NULL) {
            e = ERR_INTERNAL;
            goto out;
        }
    if ((e = opp_check_whole(&vals, oe)) != ERR_NONE)
        goto out;
    char uid[24];
    db_param_i64(uid, owner);
    const char *params[1 + OPP_FIELDS];
    params[0] = uid;
    for (int i = 0; i < OPP_FIELDS; i++)
        params[1 + i] = vals.v[i];
    db_result *r = db_query(ctx->db, &e, 0, OPP_INSERT_SQL, 1 + OPP_FIELDS, params);
    if (r == NULL)
        goto out;
    if (db_rows(r) == 0) {
        db_clear(r);
        e = opp_fail(oe, ERR_UNPROCESSABLE, "user_id", "user %" PRId64 " does not exist", owner);
        goto out;
    }
    struct json_object *o = opp_row_json(r, 0);
    db_clear(r);
    cachegen_sync_user(ctx->db, ctx->cache, owner);   /* the trigger moved the generation: the stats changed */
    e = opp_take_json(o, json, len);
out:
    opp_vals_free(&vals);
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
        return opp_fail(oe, ERR_NOT_FOUND, "id", "opportunity %" PRId64 " not found", id);
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
    struct opp_vals patch = {0}, cur = {0};
    struct json_object *uid_field = NULL;
    enum err e = opp_parse_body(body, false, &patch, &uid_field, oe);
    for (int attempt = 0; e == ERR_NONE && attempt < OPP_PATCH_TRIES; attempt++) {
        db_result *r = opp_fetch(ctx, who, id, &e);
        if (r == NULL)
            break;
        if (db_rows(r) == 0) {
            db_clear(r);
            e = opp_fail(oe, ERR_NOT_FOUND, "id", "opportunity %" PRId64 " not found", id);
            break;
        }
        int64_t owner = db_int64(r, 0, OPP_C_USER);
        char rev[24];
        snprintf(rev, sizeof(rev), "%s", db_value(r, 0, OPP_C_REV));
        opp_vals_free(&cur);
        bool rescore = false;
        for (int i = 0; i < OPP_FIELDS && e == ERR_NONE; i++) {
            const char *old = db_is_null(r, 0, OPP_C_FIELDS + i) ? NULL : db_value(r, 0, OPP_C_FIELDS + i);
            const char *now = patch.set[i] ? patch.v[i] : old;
            if (opp_fields[i].scored && !opp_same(old, now))
                rescore = true;
            if (now != NULL && (cur.v[i] = strdup(now)) == NULL)
                e = ERR_INTERNAL;
        }
        db_clear(r);
        if (e != ERR_NONE || (e = opp_check_whole(&cur, oe)) != ERR_NONE)
            break;
        char idt[24];
        db_param_i64(idt, id);
        const char *params[3 + OPP_FIELDS];
        params[0] = idt;
        params[1] = rev;
        for (int i = 0; i < OPP_FIELDS; i++)
            params[2 + i] = cur.v[i];
        params[2 + OPP_FIELDS] = rescore ? "1" : "0";
        r = db_query(ctx->db, &e, 0, OPP_UPDATE_SQL, 3 + OPP_FIELDS, params);
        if (r == NULL)
            break;
        if (db_rows(r) == 0) {                 /* another write came first: read again */
            db_clear(r);
            e = attempt + 1 < OPP_PATCH_TRIES ? ERR_NONE
                                              : opp_fail(oe, ERR_CONFLICT, "id", "opportunity %" PRId64
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
    opp_vals_free(&patch);
    opp_vals_free(&cur);
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
        return opp_fail(oe, ERR_NOT_FOUND, "id", "opportunity %" PRId64 " not found", id);
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

#define OPP_LIST_PARAMS 8

enum err opportunities_list(struct tally_ctx *ctx, const struct opp_list_query *lq, char **json, size_t *len,
                            struct opp_error *oe)
{
    int64_t limit = LIMIT_LIST_DEFAULT, min_score = 0, ckey = 0, cid = 0;
    const char *sort = lq->sort != NULL && lq->sort[0] != '\0' ? lq->sort : "-created";
    bool by_score = strcmp(sort, "score") == 0 || strcmp(sort, "-score") == 0;
    bool desc = sort[0] == '-';
    if (!by_score && strcmp(sort, "created") != 0 && strcmp(sort, "-created") != 0)
        return opp_fail(oe, ERR_BAD_REQUEST, "sort", "sort must be one of score, -score, created, -created");
    if (lq->limit != NULL && parse_int64(lq->limit, strlen(lq->limit), 1, LIMIT_LIST_MAX, &limit) != 0)
        return opp_fail(oe, ERR_BAD_REQUEST, "limit", "limit must be an integer from 1 to %d", LIMIT_LIST_MAX);
    if (lq->tier != NULL && !opp_in(opp_tiers, lq->tier))
        return opp_fail(oe, ERR_BAD_REQUEST, "tier", "tier must be A, B or C");
    if (lq->status != NULL && !opp_in(opp_statuses, lq->status))
        return opp_fail(oe, ERR_BAD_REQUEST, "status",
                        "status must be one of new, contacted, interviewing, offer, rejected, archived");
    if (lq->min_score != NULL && parse_int64(lq->min_score, strlen(lq->min_score), 0, 100, &min_score) != 0)
        return opp_fail(oe, ERR_BAD_REQUEST, "min_score", "min_score must be an integer from 0 to 100");
    if (lq->q != NULL && (strlen(lq->q) > 4 * OPP_Q_CHARS || !opp_text_ok(lq->q, strlen(lq->q), OPP_Q_CHARS, false)))
        return opp_fail(oe, ERR_BAD_REQUEST, "q", "q must be 1 to %d characters without control characters",
                        OPP_Q_CHARS);
    bool has_cursor = lq->cursor != NULL && lq->cursor[0] != '\0';
    if (has_cursor && !opp_cursor_parse(lq->cursor, by_score ? 's' : 'c', &ckey, &cid))
        return opp_fail(oe, ERR_BAD_REQUEST, "cursor", "invalid cursor (or one made for another sort)");

    char sql[2048], uid[24], ms[24], ck[24], ci[24], lim[24];
    const char *params[OPP_LIST_PARAMS];
    int np = 0;
    char *like = NULL;
    const char *key_sql = by_score ? "coalesce(score, -1)" : "created_at";
    size_t n = (size_t)snprintf(sql, sizeof(sql), "SELECT " OPP_COLS("") ", %s FROM opportunities WHERE true",
                                by_score ? "coalesce(score, -1)::text"
                                         : "(extract(epoch FROM created_at) * 1000000)::bigint::text");
#define OPP_WHERE(...) (n += (size_t)snprintf(sql + n, sizeof(sql) - n, __VA_ARGS__))
    if (lq->user_id > 0) {
        db_param_i64(uid, lq->user_id);
        params[np++] = uid;
        OPP_WHERE(" AND user_id = $%d::bigint", np);
    }
    if (lq->tier != NULL) {
        params[np++] = lq->tier;
        OPP_WHERE(" AND tier = $%d", np);
    }
    if (lq->status != NULL) {
        params[np++] = lq->status;
        OPP_WHERE(" AND status = $%d", np);
    }
    if (lq->min_score != NULL) {
        db_param_i64(ms, min_score);
        params[np++] = ms;
        OPP_WHERE(" AND coalesce(score, -1) >= $%d::int", np);
    }
    if (lq->q != NULL) {
        if ((like = opp_like(lq->q)) == NULL)
            return ERR_INTERNAL;
        params[np++] = like;
        OPP_WHERE(" AND (title || E'\\n' || coalesce(company, '') || E'\\n' || coalesce(message, '')) ILIKE $%d", np);
    }
    if (has_cursor) {
        db_param_i64(ck, ckey);
        db_param_i64(ci, cid);
        params[np++] = ck;
        params[np++] = ci;
        if (by_score)
            OPP_WHERE(" AND (coalesce(score, -1), id) %s ($%d::int, $%d::bigint)", desc ? "<" : ">", np - 1, np);
        else
            OPP_WHERE(" AND (created_at, id) %s ('epoch'::timestamptz + $%d::bigint * interval '1 microsecond',"
                      " $%d::bigint)",
                      desc ? "<" : ">", np - 1, np);
    }
    db_param_i64(lim, limit + 1);
    params[np++] = lim;
    OPP_WHERE(" ORDER BY %s %s, id %s LIMIT $%d::int", key_sql, desc ? "DESC" : "ASC", desc ? "DESC" : "ASC", np);
#undef OPP_WHERE
    enum err e;
    db_result *r = db_query(ctx->db, &e, DB_RETRY_ON_RECONNECT, sql, np, params);
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

/* ---- stats ------------------------------------------------------------------------- */

/* Histogram buckets [0,10), [10,20), … [90,100] (the last one holds 100). */
static const char OPP_STATS_SQL[] =
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
static enum err opp_stats_render(struct tally_ctx *ctx, int64_t user_id, char **json, size_t *len, uint64_t *gen)
{
    char uid[24];
    db_param_i64(uid, user_id);
    const char *params[1] = {user_id > 0 ? uid : NULL};
    enum err e;
    db_result *r = db_query(ctx->db, &e, DB_RETRY_ON_RECONNECT, OPP_STATS_SQL, 1, params);
    if (r == NULL)
        return e;
    struct json_object *root = json_object_new_object(), *tiers = json_object_new_object();
    struct json_object *statuses = json_object_new_object(), *hist = json_object_new_array();
    json_object_object_add(root, "total", json_object_new_int64(db_int64(r, 0, 0)));
    static const char *const tier_keys[] = {"A", "B", "C", "unscored"};
    for (int i = 0; i < 4; i++)
        json_object_object_add(tiers, tier_keys[i], json_object_new_int64(db_int64(r, 0, 1 + i)));
    for (int i = 0; opp_statuses[i] != NULL; i++)
        json_object_object_add(statuses, opp_statuses[i], json_object_new_int64(db_int64(r, 0, 5 + i)));
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
    enum err e = opp_stats_render(ctx, user_id, json, len, &gen);
    if (e == ERR_NONE && cached == 0)
        cachegen_put(ctx->cache, OPP_CACHE_NS, user_id, key, klen, gen, token, *json, *len, OPP_STATS_CACHE_TTL_S);
    return e;
}

/* ---- preferences ------------------------------------------------------------------- */

static const char *const opp_pref_keys[] = {"keywords", "avoid", "seniority", "remote", "min_salary", "currency",
                                            NULL};
static const char *const opp_segments[] = {"intern", "junior", "senior", "default", NULL};

/* A keyword or avoided word: 1..64 bytes of text that has at least one word. */
static bool opp_word_ok(const char *s, size_t n)
{
    char norm[OPP_WORD_BYTES];
    return n > 0 && n < OPP_WORD_BYTES && opp_text_ok(s, n, OPP_WORD_BYTES - 1, false) &&
           opportunities_score_words(s, norm, sizeof(norm)) > 0;
}

/* Validates a preferences object into p. */
static enum err opp_prefs_parse(struct json_object *o, struct opportunities_prefs *p, struct opp_error *oe)
{
    memset(p, 0, sizeof(*p));
    p->remote = -1;
    strcpy(p->currency, "EUR");
    if (!json_object_is_type(o, json_type_object))
        return opp_fail(oe, ERR_BAD_REQUEST, "body", "expected a JSON object");
    json_object_object_foreach(o, key, jv)
    {
        (void)jv;
        if (!opp_in(opp_pref_keys, key))
            return opp_fail(oe, ERR_UNPROCESSABLE, NULL, "unknown field \"%.60s\"", key);
    }
    struct json_object *v;
    if (json_object_object_get_ex(o, "keywords", &v) && v != NULL) {
        if (!json_object_is_type(v, json_type_object) || json_object_object_length(v) > OPP_KEYWORDS_MAX)
            return opp_fail(oe, ERR_UNPROCESSABLE, "keywords",
                            "keywords must be an object of at most %d words and their weights", OPP_KEYWORDS_MAX);
        json_object_object_foreach(v, word, w)
        {
            int64_t weight = json_object_is_type(w, json_type_int) ? json_object_get_int64(w) : 0;
            if (!opp_word_ok(word, strlen(word)))
                return opp_fail(oe, ERR_UNPROCESSABLE, "keywords",
                                "keyword \"%.60s\" must be 1 to %d bytes holding a word", word, OPP_WORD_BYTES - 1);
            if (weight < 1 || weight > OPP_KEYWORD_WEIGHT_MAX)
                return opp_fail(oe, ERR_UNPROCESSABLE, "keywords", "the weight of \"%.60s\" must be an integer from 1 to %d",
                                word, OPP_KEYWORD_WEIGHT_MAX);
            strcpy(p->keywords[p->keyword_count].word, word);
            p->keywords[p->keyword_count++].weight = (int)weight;
        }
    }
    if (json_object_object_get_ex(o, "avoid", &v) && v != NULL) {
        if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) > OPP_AVOID_MAX)
            return opp_fail(oe, ERR_UNPROCESSABLE, "avoid", "avoid must be an array of at most %d words", OPP_AVOID_MAX);
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            struct json_object *w = json_object_array_get_idx(v, i);
            const char *s = json_object_is_type(w, json_type_string) ? json_object_get_string(w) : NULL;
            if (s == NULL || strlen(s) != (size_t)json_object_get_string_len(w) || !opp_word_ok(s, strlen(s)))
                return opp_fail(oe, ERR_UNPROCESSABLE, "avoid", "avoid[%zu] must be 1 to %d bytes holding a word", i,
                                OPP_WORD_BYTES - 1);
            strcpy(p->avoid[p->avoid_count++], s);
        }
    }
    if (json_object_object_get_ex(o, "seniority", &v) && v != NULL) {
        const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
        if (s == NULL || !opp_in(opp_segments, s))
            return opp_fail(oe, ERR_UNPROCESSABLE, "seniority",
                            "seniority must be intern, junior, senior, default or null");
        strcpy(p->seniority, s);
    }
    if (json_object_object_get_ex(o, "remote", &v) && v != NULL) {
        if (!json_object_is_type(v, json_type_boolean))
            return opp_fail(oe, ERR_UNPROCESSABLE, "remote", "remote must be true, false or null");
        p->remote = json_object_get_boolean(v) ? 1 : 0;
    }
    if (json_object_object_get_ex(o, "min_salary", &v) && v != NULL) {
        int64_t s = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;
        if (s < 0 || s > OPP_SALARY_MAX)
            return opp_fail(oe, ERR_UNPROCESSABLE, "min_salary", "min_salary must be an integer from 0 to %d, or null",
                            OPP_SALARY_MAX);
        p->has_min_salary = true;
        p->min_salary = s;
    }
    if (json_object_object_get_ex(o, "currency", &v) && v != NULL) {
        char *c = NULL;
        enum err e = opp_field_value(&opp_fields[OPP_F_CURRENCY], v, &c, oe);
        if (e != ERR_NONE)
            return e;
        strcpy(p->currency, c);
        free(c);
    }
    return ERR_NONE;
}

/* The canonical JSON of preferences (every key present). */
static struct json_object *opp_prefs_json(const struct opportunities_prefs *p)
{
    struct json_object *o = json_object_new_object(), *kw = json_object_new_object(), *avoid = json_object_new_array();
    for (int i = 0; i < p->keyword_count; i++)
        json_object_object_add(kw, p->keywords[i].word, json_object_new_int(p->keywords[i].weight));
    for (int i = 0; i < p->avoid_count; i++)
        json_object_array_add(avoid, json_object_new_string(p->avoid[i]));
    json_object_object_add(o, "keywords", kw);
    json_object_object_add(o, "avoid", avoid);
    json_object_object_add(o, "seniority", p->seniority[0] ? json_object_new_string(p->seniority) : NULL);
    json_object_object_add(o, "remote", p->remote < 0 ? NULL : json_object_new_boolean(p->remote));
    json_object_object_add(o, "min_salary", p->has_min_salary ? json_object_new_int64(p->min_salary) : NULL);
    json_object_object_add(o, "currency", json_object_new_string(p->currency));
    return o;
}

static const char OPP_PREFS_PUT_SQL[] =
    "WITH p AS (INSERT INTO opportunity_preferences (user_id, prefs) SELECT $1::bigint, $2::jsonb"
    " WHERE EXISTS (SELECT 1 FROM users WHERE id = $1::bigint)"
    " ON CONFLICT (user_id) DO UPDATE SET prefs = EXCLUDED.prefs, rev = opportunity_preferences.rev + 1,"
    " updated_at = now() RETURNING user_id),"
    " j AS (INSERT INTO jobs (kind, payload) SELECT 'score_opportunities', jsonb_build_object('user_id', user_id)"
    " FROM p)"
    " SELECT user_id FROM p";

enum err opportunities_prefs_put(struct tally_ctx *ctx, int64_t user_id, struct json_object *body, char **json,
                                 size_t *len, struct opp_error *oe)
{
    struct opportunities_prefs *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return ERR_INTERNAL;
    enum err e = opp_prefs_parse(body, p, oe);
    if (e != ERR_NONE) {
        free(p);
        return e;
    }
    struct json_object *o = opp_prefs_json(p);
    free(p);
    char uid[24];
    db_param_i64(uid, user_id);
    const char *params[2] = {uid, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)};
    db_result *r = db_query(ctx->db, &e, 0, OPP_PREFS_PUT_SQL, 2, params);
    if (r == NULL) {
        json_object_put(o);
        return e;
    }
    int rows = db_rows(r);
    db_clear(r);
    if (rows == 0) {
        json_object_put(o);
        return opp_fail(oe, ERR_NOT_FOUND, "user_id", "user %" PRId64 " not found", user_id);
    }
    return opp_take_json(o, json, len);
}

enum err opportunities_prefs_get(struct tally_ctx *ctx, int64_t user_id, char **json, size_t *len)
{
    char uid[24];
    db_param_i64(uid, user_id);
    const char *params[1] = {uid};
    enum err e;
    db_result *r = db_query(ctx->db, &e, DB_RETRY_ON_RECONNECT,
                            "SELECT prefs::text FROM opportunity_preferences WHERE user_id = $1::bigint", 1, params);
    if (r == NULL)
        return e;
    struct opportunities_prefs *p = calloc(1, sizeof(*p));
    struct opp_error oe;
    if (p == NULL) {
        db_clear(r);
        return ERR_INTERNAL;
    }
    struct json_object *stored = db_rows(r) > 0 ? json_tokener_parse(db_value(r, 0, 0)) : json_object_new_object();
    db_clear(r);
    e = opp_prefs_parse(stored, p, &oe);
    json_object_put(stored);
    struct json_object *o = e == ERR_NONE ? opp_prefs_json(p) : NULL;
    free(p);
    if (o == NULL)
        return ERR_INTERNAL;
    return opp_take_json(o, json, len);
}

/* ---- scoring ------------------------------------------------------------------------ */

static const char OPP_SCORE_READ_SQL[] =
    "SELECT o.user_id, o.title, o.company, o.message, o.remote, o.salary_min, o.salary_max, o.currency,"
    " o.content_rev, p.prefs::text, coalesce(p.rev, 0)"
    " FROM opportunities o LEFT JOIN opportunity_preferences p ON p.user_id = o.user_id WHERE o.id = $1::bigint";

/* Written only while the content and the preferences are those scored. */
static const char OPP_SCORE_WRITE_SQL[] =
    "WITH u AS (UPDATE opportunities o SET score = $4::smallint, tier = $5, score_details = $6::jsonb,"
    " scored_at = clock_timestamp(), rev = rev + 1"
    " WHERE o.id = $1::bigint AND o.content_rev = $2::bigint"
    " AND coalesce((SELECT rev FROM opportunity_preferences p WHERE p.user_id = o.user_id), 0) = $3::bigint"
    " RETURNING o.user_id),"
    " c AS (INSERT INTO opportunity_counters (name, label, value) SELECT 'scored', $4, 1 FROM u"
    " ON CONFLICT (name, label) DO UPDATE SET value = opportunity_counters.value + 1)"
    " SELECT user_id FROM u";

static struct json_object *opp_details_json(const struct opportunities_score *s)
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
static enum err opp_score_one(struct db *db, int64_t id, int64_t *owner, char *error, size_t error_cap)
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
        db_result *r = db_query(db, &e, DB_RETRY_ON_RECONNECT, OPP_SCORE_READ_SQL, 1, rp);
        if (r == NULL)
            goto out;
        if (db_rows(r) == 0) {
            db_clear(r);
            goto out;                          /* deleted: nothing to score */
        }
        *owner = db_int64(r, 0, 0);
        struct opp_error oe = {0};
        struct json_object *stored = db_is_null(r, 0, 9) ? json_object_new_object() : json_tokener_parse(db_value(r, 0, 9));
        e = opp_prefs_parse(stored, p, &oe);
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
        struct json_object *details = opp_details_json(s);
        const char *wp[6] = {idt, content_rev, prefs_rev, score, tier,
                             json_object_to_json_string_ext(details, JSON_C_TO_STRING_PLAIN)};
        r = db_query(db, &e, 0, OPP_SCORE_WRITE_SQL, 6, wp);
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

static int64_t opp_payload_id(struct json_object *payload, const char *key)
{
    struct json_object *v;
    if (!json_object_object_get_ex(payload, key, &v) || !json_object_is_type(v, json_type_int))
        return 0;
    return json_object_get_int64(v);
}

int opportunities_job_process(struct jobs_ctx *ctx, struct json_object *payload)
{
    int64_t id = opp_payload_id(payload, "opportunity_id"), owner = 0;
    if (id <= 0) {
        snprintf(ctx->error, sizeof(ctx->error), "payload needs a positive integer opportunity_id");
        return -1;
    }
    enum err e = opp_score_one(ctx->db, id, &owner, ctx->error, sizeof(ctx->error));
    if (owner > 0)
        cachegen_sync_user(ctx->db, ctx->cache, owner);
    return e == ERR_NONE ? 0 : -1;
}

#define OPP_SCORE_BATCH 500

int opportunities_job_score_all(struct jobs_ctx *ctx, struct json_object *payload)
{
    int64_t user_id = opp_payload_id(payload, "user_id"), after = 0, done = 0;
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
        snprintf(lim, sizeof(lim), "%d", OPP_SCORE_BATCH);
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
            e = opp_score_one(ctx->db, after, &owner, ctx->error, sizeof(ctx->error));
            done++;
            jobs_heartbeat(ctx);
        }
        db_clear(r);
        if (e != ERR_NONE || rows < OPP_SCORE_BATCH)
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
                if (strcmp(label, opp_sources[s]) == 0)
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
        buf_printf(out, "tally_opportunities_created_total{source=\"%s\"} %" PRId64 "\n", opp_sources[s], created[s]);
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
