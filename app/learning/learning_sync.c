/* learning_sync: POST /api/extension/learning/sync's service. Each event is
 * validated on its own (a reject names its index and field); the valid ones
 * are normalised (host and family lower-cased, created_at in UTC, the
 * segment derived from the job title) into one JSON array that a single
 * statement expands with json_to_recordset: it upserts the form profiles,
 * inserts the events with ON CONFLICT (user_id, event_id) DO NOTHING (a
 * re-sent event is a duplicate, also when it races from another
 * connection), appends a learning_dirty mark for each form that got a new
 * event (the aggregator's work list) and adds the call's counts to
 * learning_state, all in one transaction.
 *
 * Lock order, the same in every call whatever the client's order: profile
 * rows by (host, schema_hash), then event keys by event_id, then the state
 * row; so concurrent syncs wait for each other but never deadlock. */
#define _GNU_SOURCE
#include "learning.h"
#include "learning_segment.h"
#include "../core/parse.h"
#include "../core/text.h"
#include "../store/db.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char LEARNING_SYNC_SQL[] =
    "WITH u AS (SELECT id FROM users WHERE id = $1::bigint),"
    " ev AS (SELECT x.* FROM json_to_recordset($2::json) AS x(i int, event_id text, host text, schema_hash text,"
    "   family text, gen_style_id text, applied boolean, edit_chars int, helpful boolean, job_title text,"
    "   job_normalized_title text, segment_key text, created_at timestamptz)"
    "   WHERE EXISTS (SELECT 1 FROM u)),"
    " forms AS (SELECT DISTINCT ON (host, schema_hash) host, schema_hash, family FROM ev"
    "   ORDER BY host, schema_hash, i DESC),"
    " prof AS (INSERT INTO learning_form_profiles AS p (host, schema_hash, family)"
    "   SELECT host, schema_hash, family FROM forms ORDER BY host, schema_hash"
    "   ON CONFLICT (host, schema_hash) DO UPDATE SET family = EXCLUDED.family"
    "   RETURNING p.id, p.host, p.schema_hash),"
    " ins AS (INSERT INTO learning_events (user_id, event_id, profile_id, family, gen_style_id, applied,"
    "   edit_chars, helpful, job_title, job_normalized_title, segment_key, created_at)"
    "   SELECT $1::bigint, ev.event_id, prof.id, ev.family, ev.gen_style_id, ev.applied, ev.edit_chars,"
    "   ev.helpful, ev.job_title, ev.job_normalized_title, ev.segment_key, coalesce(ev.created_at, now())"
    "   FROM ev JOIN prof ON prof.host = ev.host AND prof.schema_hash = ev.schema_hash"
    "   ORDER BY ev.event_id, ev.i"
    "   ON CONFLICT (user_id, event_id) DO NOTHING RETURNING profile_id),"
    " dirty AS (INSERT INTO learning_dirty (profile_id) SELECT DISTINCT profile_id FROM ins ORDER BY 1 RETURNING 1),"
    " counts AS (SELECT (SELECT count(*) FROM ins) AS accepted, (SELECT count(*) FROM ev) AS valid),"
    " st AS (UPDATE learning_state SET events_accepted = events_accepted + counts.accepted,"
    "   events_duplicate = events_duplicate + counts.valid - counts.accepted,"
    "   events_rejected = events_rejected + $3::bigint FROM counts WHERE id = 1 AND EXISTS (SELECT 1 FROM u) RETURNING 1)"
    " SELECT (SELECT count(*) FROM u), counts.accepted, counts.valid, (SELECT count(*) FROM st) FROM counts";

/* ---- one event ------------------------------------------------------------ */

struct ls_reject {
    const char *field;
    char message[160];
};

static bool learning_sync_reject(struct ls_reject *r, const char *field, const char *message)
{
    r->field = field;
    snprintf(r->message, sizeof(r->message), "%s", message);
    return false;
}

/* A string of 1..max bytes of UTF-8 without control characters. */
static bool learning_sync_text_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max || !text_is_utf8(s, n))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

/* Field key of ev: absent or null -> *present false; a string -> *out. */
static bool learning_sync_opt_string(struct json_object *ev, const char *key, size_t max, const char **out,
                                     struct ls_reject *r, const char *field)
{
    struct json_object *v = NULL;
    *out = NULL;
    if (!json_object_object_get_ex(ev, key, &v) || v == NULL)
        return true;
    if (!json_object_is_type(v, json_type_string) || !learning_sync_text_ok(json_object_get_string(v), max)) {
        char m[160];
        snprintf(m, sizeof(m), "%s must be a string of 1 to %zu bytes without control characters, or null",
                 field, max);
        return learning_sync_reject(r, field, m);
    }
    *out = json_object_get_string(v);
    return true;
}

static bool learning_sync_req_string(struct json_object *ev, const char *key, size_t max, const char **out,
                                     struct ls_reject *r)
{
    if (!learning_sync_opt_string(ev, key, max, out, r, key))
        return false;
    if (*out == NULL) {
        char m[160];
        snprintf(m, sizeof(m), "%s is required: a string of 1 to %zu bytes", key, max);
        return learning_sync_reject(r, key, m);
    }
    return true;
}

static int learning_sync_digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* RFC 3339 date-time: YYYY-MM-DD(T|t| )HH:MM:SS[.frac](Z|z|+HH:MM|-HH:MM).
 * Sets the Unix time (UTC) and microseconds. 0 or -1. */
static int learning_sync_parse_time(const char *s, int64_t *epoch, int *micros)
{
    size_t n = strlen(s);
    if (n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' ||
        s[16] != ':')
        return -1;
    int y = learning_sync_digits(s, 4), mo = learning_sync_digits(s + 5, 2), d = learning_sync_digits(s + 8, 2);
    int h = learning_sync_digits(s + 11, 2), mi = learning_sync_digits(s + 14, 2), se = learning_sync_digits(s + 17, 2);
    if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > parse_days_in_month(y, mo) || h < 0 || h > 23 ||
        mi < 0 || mi > 59 || se < 0 || se > 59)
        return -1;
    size_t i = 19;
    int us = 0, scale = 100000;
    if (s[i] == '.') {
        i++;
        size_t start = i;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
            us += (s[i] - '0') * scale;
            scale /= 10;
        }
        if (i == start || i - start > 9)
            return -1;
    }
    int offset_s = 0;
    if (i + 1 == n && (s[i] == 'Z' || s[i] == 'z')) {
        offset_s = 0;
    } else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        int oh = learning_sync_digits(s + i + 1, 2), om = learning_sync_digits(s + i + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return -1;
        offset_s = (oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
    } else {
        return -1;
    }
    *epoch = (int64_t)parse_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset_s;
    *micros = us;
    return 0;
}

/* Folded (lower case, accents removed, spaces collapsed) copy into out. */
static const char *learning_sync_fold(const char *s, char *out, size_t cap)
{
    text_fold(s, strlen(s), out, cap);
    return out;
}

static void learning_sync_ascii_lower(const char *s, char *out, size_t cap)
{
    size_t i = 0;
    for (; s[i] != '\0' && i + 1 < cap; i++)
        out[i] = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
    out[i] = '\0';
}

static void learning_sync_add_string(struct json_object *o, const char *key, const char *v)
{
    json_object_object_add(o, key, v != NULL ? json_object_new_string(v) : NULL);
}

/* Validates event i; on success appends its normalised record to rows. */
static bool learning_sync_event(struct json_object *ev, int index, int64_t now, struct json_object *rows,
                                struct ls_reject *r)
{
    if (!json_object_is_type(ev, json_type_object))
        return learning_sync_reject(r, "event", "each event must be a JSON object");
    const char *event_id, *host, *schema_hash, *family, *style, *title = NULL, *normalized = NULL, *created;
    if (!learning_sync_opt_string(ev, "event_id", LEARNING_EVENT_ID_BYTES, &event_id, r, "event_id") ||
        !learning_sync_req_string(ev, "host", LEARNING_HOST_BYTES, &host, r) ||
        !learning_sync_req_string(ev, "schema_hash", LEARNING_SCHEMA_HASH_BYTES, &schema_hash, r) ||
        !learning_sync_req_string(ev, "family", LEARNING_FAMILY_BYTES, &family, r) ||
        !learning_sync_opt_string(ev, "gen_style_id", LEARNING_STYLE_BYTES, &style, r, "gen_style_id"))
        return false;
    if (strpbrk(host, " /") != NULL)
        return learning_sync_reject(r, "host", "host must be a host name (no spaces or slashes)");
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(ev, "applied", &v) || !json_object_is_type(v, json_type_boolean))
        return learning_sync_reject(r, "applied", "applied is required: true or false");
    bool applied = json_object_get_boolean(v);
    if (!json_object_object_get_ex(ev, "edit_chars", &v) || !json_object_is_type(v, json_type_int) ||
        json_object_get_int64(v) < 0 || json_object_get_int64(v) > LEARNING_EDIT_CHARS_MAX) {
        char m[160];
        snprintf(m, sizeof(m), "edit_chars is required: an integer in [0, %d]", LEARNING_EDIT_CHARS_MAX);
        return learning_sync_reject(r, "edit_chars", m);
    }
    int64_t edit_chars = json_object_get_int64(v);
    int helpful = -1;                       /* -1: null */
    if (json_object_object_get_ex(ev, "helpful", &v) && v != NULL) {
        if (!json_object_is_type(v, json_type_boolean))
            return learning_sync_reject(r, "helpful", "helpful must be true, false or null");
        helpful = json_object_get_boolean(v);
    }
    struct json_object *job = NULL;
    if (json_object_object_get_ex(ev, "job", &job) && job != NULL) {
        if (!json_object_is_type(job, json_type_object))
            return learning_sync_reject(r, "job", "job must be an object or null");
        if (!learning_sync_opt_string(job, "title", LEARNING_TITLE_BYTES, &title, r, "job.title") ||
            !learning_sync_opt_string(job, "normalized_title", LEARNING_TITLE_BYTES, &normalized, r,
                                      "job.normalized_title"))
            return false;
    }
    char created_text[96] = "";
    if (!learning_sync_opt_string(ev, "created_at", 64, &created, r, "created_at"))
        return false;
    if (created != NULL) {
        int64_t epoch;
        int micros;
        if (learning_sync_parse_time(created, &epoch, &micros) != 0)
            return learning_sync_reject(r, "created_at", "created_at must be an RFC 3339 timestamp (2026-11-14T09:12:00Z)");
        if (epoch > now + LEARNING_FUTURE_SLACK_S)
            return learning_sync_reject(r, "created_at", "created_at is more than a day in the future");
        time_t t = (time_t)epoch;
        struct tm tm;
        gmtime_r(&t, &tm);
        snprintf(created_text, sizeof(created_text), "%04d-%02d-%02d %02d:%02d:%02d.%06d+00", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
    }
    const char *segment = NULL;
    if (normalized != NULL)
        segment = learning_segment_of(normalized);
    else if (title != NULL)
        segment = learning_segment_of(title);

    char host_lc[LEARNING_HOST_BYTES + 1], family_key[LEARNING_FAMILY_BYTES + 1];
    learning_sync_ascii_lower(host, host_lc, sizeof(host_lc));
    learning_sync_fold(family, family_key, sizeof(family_key));
    if (family_key[0] == '\0')
        return learning_sync_reject(r, "family", "family must not be blank");
    struct json_object *row = json_object_new_object();
    json_object_object_add(row, "i", json_object_new_int(index));
    learning_sync_add_string(row, "event_id", event_id);
    learning_sync_add_string(row, "host", host_lc);
    learning_sync_add_string(row, "schema_hash", schema_hash);
    learning_sync_add_string(row, "family", family_key);
    learning_sync_add_string(row, "gen_style_id", style);
    json_object_object_add(row, "applied", json_object_new_boolean(applied));
    json_object_object_add(row, "edit_chars", json_object_new_int64(edit_chars));
    json_object_object_add(row, "helpful", helpful < 0 ? NULL : json_object_new_boolean(helpful));
    learning_sync_add_string(row, "job_title", title);
    learning_sync_add_string(row, "job_normalized_title", normalized);
    learning_sync_add_string(row, "segment_key", segment);
    learning_sync_add_string(row, "created_at", created_text[0] ? created_text : NULL);
    json_object_array_add(rows, row);
    return true;
}

/* ---- the call --------------------------------------------------------------- */

enum err learning_sync(struct tally_ctx *ctx, int64_t user_id, struct json_object *events,
                       struct learning_sync_result *out, const char **field, char *msg, size_t msg_cap)
{
    out->accepted = out->duplicates = 0;
    out->rejected = NULL;
    *field = "events";
    if (events == NULL || !json_object_is_type(events, json_type_array)) {
        snprintf(msg, msg_cap, "events is required: an array of at most %d events", LEARNING_SYNC_EVENTS_MAX);
        return ERR_UNPROCESSABLE;
    }
    size_t count = json_object_array_length(events);
    if (count > LEARNING_SYNC_EVENTS_MAX) {
        snprintf(msg, msg_cap, "at most %d events per call (got %zu); split the batch", LEARNING_SYNC_EVENTS_MAX,
                 count);
        return ERR_UNPROCESSABLE;
    }
    struct json_object *rows = json_object_new_array();
    struct json_object *rejected = json_object_new_array();
    int64_t now = (int64_t)time(NULL);
    for (size_t i = 0; i < count; i++) {
        struct ls_reject r = {0};
        if (learning_sync_event(json_object_array_get_idx(events, i), (int)i, now, rows, &r))
            continue;
        struct json_object *rj = json_object_new_object();
        json_object_object_add(rj, "index", json_object_new_int((int)i));
        json_object_object_add(rj, "field", json_object_new_string(r.field));
        json_object_object_add(rj, "message", json_object_new_string(r.message));
        json_object_array_add(rejected, rj);
    }
    char uid[24], nrej[24];
    db_param_i64(uid, user_id);
    snprintf(nrej, sizeof(nrej), "%zu", json_object_array_length(rejected));
    const char *params[3] = {uid, json_object_to_json_string_ext(rows, JSON_C_TO_STRING_PLAIN), nrej};
    enum err e;
    db_result *res = db_query(ctx->db, &e, 0, LEARNING_SYNC_SQL, 3, params);
    json_object_put(rows);
    if (res == NULL) {
        json_object_put(rejected);
        *field = NULL;
        snprintf(msg, msg_cap, "the events could not be stored");
        return e;
    }
    bool user_found = db_int64(res, 0, 0) > 0;
    out->accepted = (long)db_int64(res, 0, 1);
    out->duplicates = (long)(db_int64(res, 0, 2) - db_int64(res, 0, 1));
    db_clear(res);
    if (!user_found) {
        json_object_put(rejected);
        *field = "user_id";
        snprintf(msg, msg_cap, "user %" PRId64 " not found", user_id);
        return ERR_NOT_FOUND;
    }
    out->rejected = rejected;
    return ERR_NONE;
}
