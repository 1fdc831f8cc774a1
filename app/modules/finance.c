/* finance: see finance.h. */
#define _GNU_SOURCE
#include "finance.h"
#include "auth.h"
#include "../core/arena.h"
#include "../core/jsonx.h"
#include "../core/limits.h"
#include "../core/parse.h"
#include "../core/request.h"
#include "../core/response.h"
#include "../core/text.h"
#include "../core/module.h"
#include "../store/db.h"
#include "../store/db_json.h"
#include "../store/sqlbuf.h"

#include <ctype.h>
#include <stdarg.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FINANCE_MAX_REJECTED_REPORTED 1000

/* ---- users ---------------------------------------------------------- */

/* A user: these columns, as finance_user_json. */
#define FINANCE_USER_COLUMNS "id, name, currency, language, " DB_SQL_TIMESTAMP("created_at")

static const struct db_json_column finance_user_json[] = {
    {"id", 0, DB_JSON_INT64, NULL},
    {"name", 1, DB_JSON_TEXT, NULL},
    {"currency", 2, DB_JSON_TEXT, NULL},
    {"language", 3, DB_JSON_TEXT, NULL},
    {"created_at", 4, DB_JSON_TEXT, NULL},
};

static bool finance_currency_ok(const char *s)
{
    return strlen(s) == 3 && isupper((unsigned char)s[0]) && isupper((unsigned char)s[1]) &&
           isupper((unsigned char)s[2]);
}

/* A text field: valid UTF-8, no control characters, bounded. */
static const char *finance_text_problem(const char *s, size_t max_bytes)
{
    size_t n = strlen(s);
    if (n > max_bytes)
        return "too long";
    if (!text_is_utf8(s, n))
        return "not valid UTF-8";
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 && s[i] != '\t')
            return "contains control characters";
    return NULL;
}

const char *finance_user_problem(const char *name, const char *currency, const char *language, const char **field,
                                 char *msg, size_t cap)
{
    *field = "name";
    if (name == NULL || name[0] == '\0') {
        snprintf(msg, cap, "name is required (a non-empty string)");
        return msg;
    }
    const char *problem = finance_text_problem(name, LIMIT_NAME_BYTES);
    if (problem != NULL) {
        snprintf(msg, cap, "name is %s", problem);
        return msg;
    }
    if (currency != NULL && !finance_currency_ok(currency)) {
        *field = "currency";
        snprintf(msg, cap, "currency must be a 3-letter ISO 4217 code such as EUR");
        return msg;
    }
    if (language != NULL && strcmp(language, "fr") != 0 && strcmp(language, "en") != 0) {
        *field = "language";
        snprintf(msg, cap, "language must be \"fr\" or \"en\"");
        return msg;
    }
    return NULL;
}

static int finance_user_create(struct request *req, struct response *res)
{
    struct json_object *body = NULL;
    enum err e = jsonx_body_of(req, json_type_object, &body);
    if (e != ERR_NONE)
        return e;
    int rc = ERR_NONE;
    bool wrong;
    const char *name = jsonx_get_string(body, "name", &wrong);
    const char *currency = jsonx_get_string(body, "currency", &wrong);
    if (wrong)
        currency = "";                   /* not a string: as invalid as a bad code */
    const char *language = jsonx_get_string(body, "language", &wrong);
    if (wrong)
        language = "";
    const char *field;
    char msg[128];
    if (finance_user_problem(name, currency, language, &field, msg, sizeof(msg)) != NULL) {
        rc = request_fail(req, ERR_UNPROCESSABLE, field, "%s", msg);
        goto out;
    }
    const char *params[3] = {name, currency ? currency : "EUR", language ? language : "fr"};
    db_result *r = db_query(req->ctx->db, &e, 0,
                            "INSERT INTO users (name, currency, language) VALUES ($1, $2, $3)"
                            " RETURNING " FINANCE_USER_COLUMNS, 3, params);
    if (r == NULL) {
        rc = e;
        goto out;
    }
    rc = response_json(res, 201, db_json_row(r, 0, finance_user_json, DB_JSON_COUNT(finance_user_json)));
    db_clear(r);
out:
    json_object_put(body);
    return rc;
}

static int finance_user_get(struct request *req, struct response *res)
{
    int64_t id;
    enum err e = request_path_id(req, "id", &id);
    if (e != ERR_NONE)
        return e;
    char idtext[32];
    db_param_i64(idtext, id);
    const char *params[1] = {idtext};
    db_result *r = db_query(req->ctx->db, &e, DB_RETRY_ON_RECONNECT,
                            "SELECT " FINANCE_USER_COLUMNS " FROM users WHERE id = $1", 1, params);
    if (r == NULL)
        return e;
    if (db_rows(r) == 0) {
        db_clear(r);
        return request_fail(req, ERR_NOT_FOUND, "id", "user %" PRId64 " not found", id);
    }
    int rc = response_json(res, 200, db_json_row(r, 0, finance_user_json, DB_JSON_COUNT(finance_user_json)));
    db_clear(r);
    return rc;
}

/* Looks the user up; ERR_NOT_FOUND if absent. Fills currency (4 bytes). */
static enum err finance_user_currency(struct request *req, int64_t user_id, char currency[4])
{
    char idtext[32];
    db_param_i64(idtext, user_id);
    const char *params[1] = {idtext};
    enum err e;
    db_result *r = db_query(req->ctx->db, &e, DB_RETRY_ON_RECONNECT,
                            "SELECT currency FROM users WHERE id = $1", 1, params);
    if (r == NULL)
        return e;
    if (db_rows(r) == 0) {
        db_clear(r);
        return request_fail(req, ERR_NOT_FOUND, "id", "user %" PRId64 " not found", user_id);
    }
    snprintf(currency, 4, "%s", db_value(r, 0, 0));
    db_clear(r);
    return ERR_NONE;
}

/* ---- transaction insert --------------------------------------------- */

struct finance_rejects {
    struct json_object *list;     /* array of {index, field, message} */
    int count;                    /* reasons */
    int items;                    /* invalid items */
};

static void finance_reject(struct finance_rejects *rj, size_t index, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void finance_reject(struct finance_rejects *rj, size_t index, const char *field, const char *fmt, ...)
{
    rj->count++;
    if (rj->count > FINANCE_MAX_REJECTED_REPORTED)
        return;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "index", json_object_new_int64((int64_t)index));
    json_object_object_add(o, "field", json_object_new_string(field));
    json_object_object_add(o, "message", json_object_new_string(msg));
    json_object_array_add(rj->list, o);
}

/* Reads an amount given as a JSON number or a decimal string, exactly. */
static int finance_amount(struct json_object *v, int64_t *cents)
{
    if (v == NULL)
        return -100;
    if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double) ||
        json_object_is_type(v, json_type_string)) {
        const char *text = json_object_get_string(v);   /* a number's original text */
        return parse_money(text, strlen(text), cents);
    }
    return -101;
}

/* Copies an optional text field into the row, folding a key if asked. */
static bool finance_text_field(struct json_object *item, struct json_object *row, size_t index,
                               const char *field, size_t max_bytes, const char *key_column,
                               struct finance_rejects *rj)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(item, field, &v) || v == NULL)
        return true;
    if (!json_object_is_type(v, json_type_string)) {
        finance_reject(rj, index, field, "%s must be a string", field);
        return false;
    }
    const char *s = json_object_get_string(v);
    const char *problem = finance_text_problem(s, max_bytes);
    if (problem != NULL) {
        finance_reject(rj, index, field, "%s is %s", field, problem);
        return false;
    }
    if (s[0] == '\0' && strcmp(field, "external_id") == 0) {
        /* "" would be stored as no id, so never deduplicated: say so instead */
        finance_reject(rj, index, field, "external_id must not be empty (leave it out for a transaction without id)");
        return false;
    }
    if (s[0] == '\0')
        return true;                      /* empty means absent */
    json_object_object_add(row, field, json_object_new_string(s));
    if (key_column != NULL) {
        char key[LIMIT_TEXT_FIELD_BYTES + 1];
        text_fold(s, strlen(s), key, sizeof(key));
        json_object_object_add(row, key_column, json_object_new_string(key));
    }
    return true;
}

/* Validates one item; on success appends its row to rows. */
static void finance_validate_item(struct json_object *item, size_t index, const char *user_currency,
                                  struct json_object *rows, struct finance_rejects *rj)
{
    if (!json_object_is_type(item, json_type_object)) {
        finance_reject(rj, index, "item", "each transaction must be a JSON object");
        rj->items++;
        return;
    }
    int before = rj->count;
    struct json_object *row = json_object_new_object();
    struct json_object *v = NULL;

    bool wrong;
    const char *date = jsonx_get_string(item, "date", &wrong);
    int y, m, d;
    if (wrong)
        finance_reject(rj, index, "date", "date must be a string YYYY-MM-DD");
    else if (date == NULL)
        finance_reject(rj, index, "date", "date is required (YYYY-MM-DD)");
    else if (parse_date(date, strlen(date), &y, &m, &d) != 0)
        finance_reject(rj, index, "date", "date must be a real calendar date YYYY-MM-DD, got \"%.40s\"", date);
    else
        json_object_object_add(row, "date", json_object_new_string(date));

    json_object_object_get_ex(item, "amount", &v);
    int64_t cents = 0;
    int perr = finance_amount(v, &cents);
    if (perr == -100)
        finance_reject(rj, index, "amount", "amount is required");
    else if (perr == -101)
        finance_reject(rj, index, "amount", "amount must be a number or a decimal string");
    else if (perr != 0)
        finance_reject(rj, index, "amount", "amount: %s", parse_error_message(perr));
    else if (cents == 0)
        finance_reject(rj, index, "amount", "amount must not be zero (negative = spending, positive = income)");
    else
        json_object_object_add(row, "amount_cents", json_object_new_int64(cents));

    const char *currency = jsonx_get_string(item, "currency", &wrong);
    if (wrong || (currency != NULL && !finance_currency_ok(currency)))
        finance_reject(rj, index, "currency", "currency must be a 3-letter ISO 4217 code such as EUR");
    else
        json_object_object_add(row, "currency", json_object_new_string(currency ? currency : user_currency));

    finance_text_field(item, row, index, "external_id", LIMIT_TEXT_FIELD_BYTES, NULL, rj);
    finance_text_field(item, row, index, "merchant", LIMIT_TEXT_FIELD_BYTES, "merchant_key", rj);
    finance_text_field(item, row, index, "category", LIMIT_TEXT_FIELD_BYTES, "category_key", rj);
    finance_text_field(item, row, index, "description", LIMIT_DESCRIPTION_BYTES, NULL, rj);

    if (rj->count == before) {
        json_object_array_add(rows, row);
    } else {
        rj->items++;
        json_object_put(row);
    }
}

struct json_object *finance_validate_items(struct json_object *items, const char *user_currency,
                                          struct json_object *rejected, int *invalid_items)
{
    struct finance_rejects rj = {rejected, 0, 0};
    struct json_object *rows = json_object_new_array();
    size_t count = json_object_array_length(items);
    for (size_t i = 0; i < count; i++)
        finance_validate_item(json_object_array_get_idx(items, i), i, user_currency, rows, &rj);
    *invalid_items = rj.items;
    return rows;
}

static const char FINANCE_INSERT_SQL[] =
    "WITH ins AS ("
    " INSERT INTO transactions (user_id, external_id, date, amount_cents, currency,"
    "   merchant, merchant_key, category, category_key, description, dataset_id, dataset_version)"
    " SELECT $1::bigint, x.external_id, x.date, x.amount_cents, x.currency,"
    "   x.merchant, x.merchant_key, x.category, x.category_key, x.description, $3::bigint, $4::int"
    " FROM jsonb_to_recordset($2::jsonb) AS x(external_id text, date date,"
    "   amount_cents bigint, currency text, merchant text, merchant_key text, category text,"
    "   category_key text, description text)"
    " ON CONFLICT (user_id, external_id) DO NOTHING"
    " RETURNING 1)"
    " SELECT count(*) FROM ins";

enum err finance_insert_rows(struct db *db, int64_t user_id, struct json_object *rows, int64_t dataset_id,
                             int dataset_version, int64_t *inserted)
{
    char idtext[32], dstext[32], vtext[16];
    db_param_i64(idtext, user_id);
    db_param_i64(dstext, dataset_id);
    snprintf(vtext, sizeof(vtext), "%d", dataset_version);
    const char *params[4] = {idtext, json_object_to_json_string_ext(rows, JSON_C_TO_STRING_PLAIN),
                             dataset_id > 0 ? dstext : NULL, dataset_id > 0 ? vtext : NULL};
    enum err e;
    db_result *r = db_query(db, &e, 0, FINANCE_INSERT_SQL, 4, params);
    if (r == NULL)
        return e;
    *inserted = db_int64(r, 0, 0);
    db_clear(r);
    return ERR_NONE;
}

static int finance_txn_insert(struct request *req, struct response *res)
{
    int64_t user_id;
    enum err e = request_path_id(req, "id", &user_id);
    if (e == ERR_NONE)
        e = request_require_content_type(req, "application/json");
    struct json_object *body = NULL;
    if (e == ERR_NONE)
        e = jsonx_parse_body(req, &body);
    if (e != ERR_NONE)
        return e;
    int rc = ERR_NONE;
    struct finance_rejects rj = {json_object_new_array(), 0, 0};
    struct json_object *rows = json_object_new_array();
    if (!json_object_is_type(body, json_type_array)) {
        rc = request_fail(req, ERR_BAD_REQUEST, "body", "expected a JSON array of transactions");
        goto out;
    }
    size_t count = json_object_array_length(body);
    if (count == 0) {
        rc = request_fail(req, ERR_UNPROCESSABLE, "body", "the array of transactions is empty");
        goto out;
    }
    if (count > LIMIT_TRANSACTIONS_PER_POST) {
        rc = request_fail(req, ERR_UNPROCESSABLE, "body", "at most %d transactions per request, got %zu",
                          LIMIT_TRANSACTIONS_PER_POST, count);
        goto out;
    }
    char currency[4];
    e = finance_user_currency(req, user_id, currency);
    if (e != ERR_NONE) {
        rc = e;
        goto out;
    }
    for (size_t i = 0; i < count; i++)
        finance_validate_item(json_object_array_get_idx(body, i), i, currency, rows, &rj);
    if (rj.count > 0) {
        const char *first_field = "transactions";
        struct json_object *first = json_object_array_get_idx(rj.list, 0), *f = NULL;
        if (first != NULL && json_object_object_get_ex(first, "field", &f))
            first_field = arena_strndup(req->arena, json_object_get_string(f), strlen(json_object_get_string(f)));
        rc = request_fail(req, ERR_UNPROCESSABLE, first_field,
                          "%d of %zu transactions are invalid; nothing was stored", rj.items, count);
        req->error_extra = json_object_new_object();
        json_object_object_add(req->error_extra, "rejected", json_object_get(rj.list));
        goto out;
    }
    int64_t inserted = 0;
    e = finance_insert_rows(req->ctx->db, user_id, rows, 0, 0, &inserted);
    if (e != ERR_NONE) {
        rc = e;
        goto out;
    }
    if (inserted > 0) {   /* derived data of the user is now out of date */
        module_publish(req->ctx, &(struct tally_event){TALLY_EVENT_TRANSACTIONS_CHANGED, user_id});
    }
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "inserted", json_object_new_int64(inserted));
    json_object_object_add(o, "duplicates", json_object_new_int64((int64_t)count - inserted));
    rc = response_json(res, inserted > 0 ? 201 : 200, o);
out:
    json_object_put(rows);
    json_object_put(rj.list);
    json_object_put(body);
    return rc;
}

/* ---- search --------------------------------------------------------- */

/* The filter of a list or a summary: read from the query once, then
 * written into each statement that needs it (finance_filter_sql). */
struct finance_filter {
    int64_t user_id;
    const char *from, *to, *category, *merchant, *q, *min_amount, *max_amount, *type;
    const char *cursor_date, *cursor_id;     /* set by finance_cursor */
};

static enum err finance_query_date(struct request *req, const char *name, const char **out)
{
    const char *v = request_query(req, name);
    *out = NULL;
    if (v == NULL || v[0] == '\0')
        return ERR_NONE;
    int y, m, d;
    if (parse_date(v, strlen(v), &y, &m, &d) != 0)
        return request_fail(req, ERR_BAD_REQUEST, name, "%s must be a date YYYY-MM-DD", name);
    *out = v;
    return ERR_NONE;
}

static enum err finance_query_folded(struct request *req, const char *name, const char **out)
{
    const char *v = request_query(req, name);
    *out = NULL;
    if (v == NULL || v[0] == '\0')
        return ERR_NONE;
    size_t n = strlen(v);
    if (n > LIMIT_TEXT_FIELD_BYTES)
        return request_fail(req, ERR_BAD_REQUEST, name, "%s is longer than %d bytes", name, LIMIT_TEXT_FIELD_BYTES);
    char *key = arena_alloc(req->arena, n + 1);
    if (key == NULL)
        return request_fail(req, ERR_INTERNAL, NULL, "out of memory");
    text_fold(v, n, key, n + 1);
    *out = key;
    return ERR_NONE;
}

static enum err finance_query_money(struct request *req, const char *name, const char **out)
{
    const char *v = request_query(req, name);
    *out = NULL;
    if (v == NULL || v[0] == '\0')
        return ERR_NONE;
    int64_t cents;
    int rc = parse_money(v, strlen(v), &cents);
    if (rc == PARSE_ERR_RANGE)
        return request_fail(req, ERR_BAD_REQUEST, name, "%s must be at most 999999999999.99", name);
    if (rc != 0 || cents < 0)
        return request_fail(req, ERR_BAD_REQUEST, name,
                            "%s must be a non-negative amount with at most 2 decimals and a dot (12.50)", name);
    *out = arena_sprintf(req->arena, "%" PRId64, cents);
    return ERR_NONE;
}

/* Reads the filter shared by the page and the aggregates. */
static enum err finance_filters(struct request *req, int64_t user_id, struct finance_filter *f)
{
    enum err e;
    memset(f, 0, sizeof(*f));
    f->user_id = user_id;
    if ((e = finance_query_date(req, "from", &f->from)) || (e = finance_query_date(req, "to", &f->to)) ||
        (e = finance_query_folded(req, "category", &f->category)) ||
        (e = finance_query_folded(req, "merchant", &f->merchant)) ||
        (e = finance_query_folded(req, "q", &f->q)) ||
        (e = finance_query_money(req, "min_amount", &f->min_amount)) ||
        (e = finance_query_money(req, "max_amount", &f->max_amount)))
        return e;
    const char *type = request_query(req, "type");
    if (type != NULL && type[0] != '\0' && strcmp(type, "debit") != 0 && strcmp(type, "credit") != 0)
        return request_fail(req, ERR_BAD_REQUEST, "type", "type must be debit or credit");
    f->type = type;
    if (f->from != NULL && f->to != NULL && strcmp(f->from, f->to) > 0)
        return request_fail(req, ERR_BAD_REQUEST, "from", "from is after to");
    return ERR_NONE;
}

/* The description folded in SQL as text_fold folds q: ASCII and the Latin
 * letters U+00C0-U+017F mapped by text_fold itself (translate() for a
 * one-letter result, replace() for "ae", "ss", ...) and runs of whitespace
 * made one space, whatever the database's ctype (lower() of a C ctype
 * leaves "É" alone). Built once from program data, never from input. */
static void finance_fold_put(char *out, size_t cap, size_t *used, const char *s, bool *ok)
{
    size_t n = strlen(s);
    if (!*ok || n >= cap - *used) {
        *ok = false;
        return;
    }
    memcpy(out + *used, s, n + 1);
    *used += n;
}

static const char *finance_description_key_sql(void)
{
    static char sql[3072];
    static bool built;
    if (built)
        return sql;
    char from[512] = "", to[256] = "", tail[1024] = "";
    size_t fu = 0, tu = 0, xu = 0, used = 0;
    int replaces = 0;
    bool ok = true;
    for (unsigned cp = 'A'; cp < 0x180 && ok; cp = cp == 'Z' ? 0xC0 : cp + 1) {
        char ch[3] = {(char)cp, 0, 0}, folded[8];
        if (cp >= 0x80) {
            ch[0] = (char)(0xC0 | (cp >> 6));
            ch[1] = (char)(0x80 | (cp & 0x3F));
        }
        size_t n = text_fold(ch, strlen(ch), folded, sizeof(folded));
        if (n == 0 || strcmp(folded, ch) == 0 || strchr(folded, '\'') != NULL)
            continue;
        if (n == 1) {
            finance_fold_put(from, sizeof(from), &fu, ch, &ok);
            finance_fold_put(to, sizeof(to), &tu, folded, &ok);
        } else {
            char piece[32];
            snprintf(piece, sizeof(piece), ", '%s', '%s')", ch, folded);
            finance_fold_put(tail, sizeof(tail), &xu, piece, &ok);
            replaces++;
        }
    }
    finance_fold_put(sql, sizeof(sql), &used, "regexp_replace(", &ok);
    for (int i = 0; i < replaces; i++)
        finance_fold_put(sql, sizeof(sql), &used, "replace(", &ok);
    finance_fold_put(sql, sizeof(sql), &used, "translate(description, '", &ok);
    finance_fold_put(sql, sizeof(sql), &used, from, &ok);
    finance_fold_put(sql, sizeof(sql), &used, "', '", &ok);
    finance_fold_put(sql, sizeof(sql), &used, to, &ok);
    finance_fold_put(sql, sizeof(sql), &used, "')", &ok);
    finance_fold_put(sql, sizeof(sql), &used, tail, &ok);
    finance_fold_put(sql, sizeof(sql), &used, ", '[[:space:]\xC2\xA0\xE2\x80\xAF]+', ' ', 'g')", &ok);
    if (!ok)
        snprintf(sql, sizeof(sql), "lower(description)");   /* cannot happen: the sizes fit the table */
    built = true;
    return sql;
}

/* Appends the filter's condition ("user_id = $N AND ..."), with the cursor
 * if asked and given. */
static void finance_filter_sql(struct sqlbuf *b, const struct finance_filter *f, bool with_cursor)
{
    sqlbuf_add(b, "user_id = ");
    sqlbuf_i64(b, f->user_id);
    if (f->from)
        sqlbuf_add_with(b, " AND date >= ?::date", f->from);
    if (f->to)
        sqlbuf_add_with(b, " AND date <= ?::date", f->to);
    if (f->category)
        sqlbuf_add_with(b, " AND category_key = ?", f->category);
    if (f->merchant)
        sqlbuf_add_with(b, " AND strpos(merchant_key, ?) > 0", f->merchant);
    if (f->q) {
        sqlbuf_add_with(b, " AND (strpos(merchant_key, ?) > 0 OR strpos(category_key, ?) > 0 OR strpos(", f->q);
        sqlbuf_add(b, finance_description_key_sql());
        sqlbuf_add(b, ", ");
        sqlbuf_ref(b, b->nparams);
        sqlbuf_add(b, ") > 0)");
    }
    if (f->min_amount)
        sqlbuf_add_with(b, " AND abs(amount_cents) >= ?::bigint", f->min_amount);
    if (f->max_amount)
        sqlbuf_add_with(b, " AND abs(amount_cents) <= ?::bigint", f->max_amount);
    if (f->type != NULL && strcmp(f->type, "debit") == 0)
        sqlbuf_add(b, " AND amount_cents < 0");
    if (f->type != NULL && strcmp(f->type, "credit") == 0)
        sqlbuf_add(b, " AND amount_cents > 0");
    if (with_cursor && f->cursor_date != NULL) {
        sqlbuf_add(b, " AND (date, id) < (");
        sqlbuf_text(b, f->cursor_date);
        sqlbuf_add(b, "::date, ");
        sqlbuf_text(b, f->cursor_id);
        sqlbuf_add(b, "::bigint)");
    }
}

/* Cursor: "<date>_<id>" of the last row of the previous page. */
static enum err finance_cursor(struct request *req, struct finance_filter *f)
{
    const char *c = request_query(req, "cursor");
    if (c == NULL || c[0] == '\0')
        return ERR_NONE;
    int y, m, d;
    int64_t id;
    size_t n = strlen(c);
    if (n < 12 || c[10] != '_' || parse_date(c, 10, &y, &m, &d) != 0 ||
        parse_int64(c + 11, n - 11, 1, INT64_MAX, &id) != 0)
        return request_fail(req, ERR_BAD_REQUEST, "cursor", "invalid cursor");
    f->cursor_date = arena_strndup(req->arena, c, 10);
    f->cursor_id = c + 11;
    if (f->cursor_date == NULL)
        return request_fail(req, ERR_INTERNAL, NULL, "out of memory");
    return ERR_NONE;
}

/* Aggregates of the filtered set; also tells whether the user exists, so a
 * list costs one round trip less. */
static struct json_object *finance_aggregates(struct request *req, const struct finance_filter *f, enum err *e)
{
    struct sqlbuf b;
    sqlbuf_init(&b);
    sqlbuf_add(&b, "SELECT count(*), coalesce(sum(-amount_cents) FILTER (WHERE amount_cents < 0), 0),"
                   " coalesce(sum(amount_cents) FILTER (WHERE amount_cents > 0), 0),"
                   " coalesce(sum(amount_cents), 0), EXISTS (SELECT 1 FROM users WHERE id = ");
    sqlbuf_i64(&b, f->user_id);
    sqlbuf_add(&b, "::bigint) FROM transactions WHERE ");
    finance_filter_sql(&b, f, false);
    db_result *r = sqlbuf_query(req->ctx->db, e, DB_RETRY_ON_RECONNECT, &b);
    if (r == NULL)
        return NULL;
    if (db_value(r, 0, 4)[0] != 't') {
        db_clear(r);
        *e = request_fail(req, ERR_NOT_FOUND, "id", "user %" PRId64 " not found", f->user_id);
        return NULL;
    }
    /* sums of bigint are numeric in PostgreSQL: exact at any row count */
    static const struct db_json_column columns[] = {
        {"count", 0, DB_JSON_INT64, NULL},
        {"total_spent", 1, DB_JSON_MONEY_SUM, NULL},
        {"total_income", 2, DB_JSON_MONEY_SUM, NULL},
    };
    int64_t count = db_int64(r, 0, 0);
    struct json_object *o = db_json_row(r, 0, columns, DB_JSON_COUNT(columns));
    json_object_object_add(o, "average", jsonx_money_wide(parse_round_div_wide(parse_wide(db_value(r, 0, 3)), count)));
    db_clear(r);
    return o;
}

/* The CSV import's dataset version (datasets module), columns 8 and 9 of
 * the list statement: {dataset_id, version}, or null for a transaction
 * posted by hand. */
static const struct db_json_column finance_dataset_version_columns[] = {
    {"dataset_id", 8, DB_JSON_INT64, NULL},
    {"version", 9, DB_JSON_INT64, NULL},
};

static struct json_object *finance_dataset_version_json(const db_result *r, int row, int col)
{
    if (db_is_null(r, row, col) || db_is_null(r, row, col + 1))
        return NULL;
    return db_json_row(r, row, finance_dataset_version_columns, DB_JSON_COUNT(finance_dataset_version_columns));
}

/* A transaction: the columns of the list statement, in this order. */
static const struct db_json_column finance_txn_json[] = {
    {"id", 0, DB_JSON_INT64, NULL},
    {"external_id", 1, DB_JSON_TEXT_OR_NULL, NULL},
    {"date", 2, DB_JSON_TEXT, NULL},
    {"amount", 3, DB_JSON_MONEY, NULL},
    {"currency", 4, DB_JSON_TEXT, NULL},
    {"merchant", 5, DB_JSON_TEXT_OR_NULL, NULL},
    {"category", 6, DB_JSON_TEXT_OR_NULL, NULL},
    {"description", 7, DB_JSON_TEXT_OR_NULL, NULL},
    {"dataset_version", 8, DB_JSON_CUSTOM, finance_dataset_version_json},
};

static int finance_txn_list(struct request *req, struct response *res)
{
    int64_t user_id;
    int limit = LIMIT_LIST_DEFAULT;
    enum err e;
    struct finance_filter f;
    if ((e = request_path_id(req, "id", &user_id)) || (e = request_limit(req, LIMIT_LIST_MAX, LIMIT_LIST_DEFAULT, &limit)))
        return e;
    if ((e = finance_filters(req, user_id, &f)))
        return e;
    struct json_object *aggregates = finance_aggregates(req, &f, &e);
    if (aggregates == NULL)
        return e;
    if ((e = finance_cursor(req, &f))) {
        json_object_put(aggregates);
        return e;
    }
    struct sqlbuf b;
    sqlbuf_init(&b);
    sqlbuf_add(&b, "SELECT id, external_id, date, amount_cents, currency, merchant, category, description,"
                   " dataset_id, dataset_version FROM transactions WHERE ");
    finance_filter_sql(&b, &f, true);
    sqlbuf_add(&b, " ORDER BY date DESC, id DESC LIMIT ");
    sqlbuf_add_int(&b, (int64_t)limit + 1);
    db_result *r = sqlbuf_query(req->ctx->db, &e, DB_RETRY_ON_RECONNECT, &b);
    if (r == NULL) {
        json_object_put(aggregates);
        return e;
    }
    int rows = db_rows(r);
    int shown = rows > limit ? limit : rows;
    struct json_object *items = db_json_rows(r, 0, shown, finance_txn_json, DB_JSON_COUNT(finance_txn_json));
    struct json_object *next = NULL;
    if (rows > limit) {
        char cursor[64];
        snprintf(cursor, sizeof(cursor), "%s_%s", db_value(r, shown - 1, 2), db_value(r, shown - 1, 0));
        next = json_object_new_string(cursor);
    }
    db_clear(r);
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "items", items);
    json_object_object_add(o, "next_cursor", next);
    json_object_object_add(o, "aggregates", aggregates);
    return response_json(res, 200, o);
}

static int finance_txn_summary(struct request *req, struct response *res)
{
    int64_t user_id;
    enum err e;
    if ((e = request_path_id(req, "id", &user_id)))
        return e;
    const char *group_by = request_query(req, "group_by");
    const char *key_sql, *label_sql;
    if (group_by == NULL || group_by[0] == '\0')
        group_by = "category";
    if (strcmp(group_by, "category") == 0) {
        key_sql = "category_key";
        label_sql = "min(category)";
    } else if (strcmp(group_by, "merchant") == 0) {
        key_sql = "merchant_key";
        label_sql = "min(merchant)";
    } else if (strcmp(group_by, "month") == 0) {
        key_sql = "to_char(date, 'YYYY-MM')";
        label_sql = "to_char(date, 'YYYY-MM')";
    } else {
        return request_fail(req, ERR_BAD_REQUEST, "group_by", "group_by must be category, merchant or month");
    }
    struct finance_filter f;
    char currency[4];
    if ((e = finance_filters(req, user_id, &f)) || (e = finance_user_currency(req, user_id, currency)))
        return e;
    struct sqlbuf b;
    sqlbuf_init(&b);
    sqlbuf_add(&b, "SELECT ");
    sqlbuf_add(&b, label_sql);
    sqlbuf_add(&b, ", count(*), sum(amount_cents) FROM transactions WHERE ");
    finance_filter_sql(&b, &f, false);
    sqlbuf_add(&b, " GROUP BY ");
    sqlbuf_add(&b, key_sql);
    sqlbuf_add(&b, " ORDER BY abs(sum(amount_cents)) DESC, 1 LIMIT 1000");
    db_result *r = sqlbuf_query(req->ctx->db, &e, DB_RETRY_ON_RECONNECT, &b);
    if (r == NULL)
        return e;
    static const struct db_json_column group_json[] = {
        {"key", 0, DB_JSON_TEXT_OR_NULL, NULL},
        {"count", 1, DB_JSON_INT64, NULL},
        {"total", 2, DB_JSON_MONEY_SUM, NULL},
    };
    struct json_object *groups = db_json_rows(r, 0, db_rows(r), group_json, DB_JSON_COUNT(group_json));
    db_clear(r);
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "group_by", json_object_new_string(group_by));
    json_object_object_add(o, "groups", groups);
    return response_json(res, 200, o);
}

/* "users": declared for the cache page; nothing of finance is cached yet. */
static const char *const finance_cache_namespaces[] = {"users", NULL};

static const struct route finance_routes[] = {
    {"POST", "/api/v1/users", finance_user_create, ROUTE_ADMIN},
    {"GET", "/api/v1/users/{id}", finance_user_get, ROUTE_USER},
    {"POST", "/api/v1/users/{id}/transactions", finance_txn_insert, ROUTE_USER},
    {"GET", "/api/v1/users/{id}/transactions", finance_txn_list, ROUTE_USER},
    {"GET", "/api/v1/users/{id}/transactions/summary", finance_txn_summary, ROUTE_USER},
};

const struct tally_module finance_module = {
    .name = "finance",
    .routes = finance_routes,
    .route_count = sizeof(finance_routes) / sizeof(finance_routes[0]),
    .commands = finance_cli_commands,
    .command_count = FINANCE_CLI_COMMANDS,
    .cache_namespaces = finance_cache_namespaces,
};
