/* datasets_import: see datasets_import.h. */
#define _GNU_SOURCE
#include "datasets_import.h"
#include "datasets_store.h"
#include "../core/arena.h"
#include "../core/module.h"
#include "../core/parse.h"
#include "../core/sha256.h"
#include "../core/text.h"
#include "../csv/csv.h"
#include "../modules/finance.h"
#include "../store/db.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum datasets_import_field { DI_DATE, DI_AMOUNT, DI_MERCHANT, DI_CATEGORY, DI_DESCRIPTION, DI_EXTERNAL_ID,
                             DI_CURRENCY, DI_DEBIT, DI_CREDIT, DI_FIELDS };

static const char *const datasets_import_keys[DI_FIELDS] = {"date", "amount", "merchant", "category", "description",
                                                            "external_id", "currency", "debit", "credit"};

/* Folded header names (text_fold: lower case, no accents) -> field. */
static const struct {
    const char *name;
    enum datasets_import_field field;
} datasets_import_names[] = {
    {"date", DI_DATE}, {"date operation", DI_DATE}, {"date d'operation", DI_DATE}, {"transaction date", DI_DATE},
    {"amount", DI_AMOUNT}, {"montant", DI_AMOUNT}, {"montant (eur)", DI_AMOUNT}, {"amount (eur)", DI_AMOUNT},
    {"merchant", DI_MERCHANT}, {"marchand", DI_MERCHANT}, {"libelle", DI_MERCHANT}, {"payee", DI_MERCHANT},
    {"category", DI_CATEGORY}, {"categorie", DI_CATEGORY},
    {"description", DI_DESCRIPTION}, {"memo", DI_DESCRIPTION}, {"details", DI_DESCRIPTION},
    {"external_id", DI_EXTERNAL_ID}, {"reference", DI_EXTERNAL_ID}, {"transaction id", DI_EXTERNAL_ID},
    {"currency", DI_CURRENCY}, {"devise", DI_CURRENCY},
    {"debit", DI_DEBIT}, {"debit euros", DI_DEBIT}, {"credit", DI_CREDIT}, {"credit euros", DI_CREDIT},
};

static enum err datasets_import_fail(struct datasets_error *er, enum err e, const char *field, long line,
                                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static enum err datasets_import_fail(struct datasets_error *er, enum err e, const char *field, long line,
                                     const char *fmt, ...)
{
    er->field = field;
    er->line = line;
    er->column = line > 0 ? 1 : 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(er->message, sizeof(er->message), fmt, ap);
    va_end(ap);
    return e;
}

int datasets_import_amount(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    const char *last_sep = NULL;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == ' ' || c == '\'')
            continue;
        if (c == 0xC2 && (unsigned char)p[1] == 0xA0) {           /* no-break space */
            p++;
            continue;
        }
        if (c == 0xE2 && (unsigned char)p[1] == 0x80 && (unsigned char)p[2] == 0xAF) {   /* narrow nbsp */
            p += 2;
            continue;
        }
        if (c == ',' || c == '.')
            last_sep = p;
        if (!(c == '-' || c == '+' || c == ',' || c == '.' || (c >= '0' && c <= '9')))
            return -1;
    }
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (n + 1 >= cap)
            return -1;                         /* too long: left as is (never cut) */
        if (c == ',' || c == '.') {
            if (p == last_sep)
                out[n++] = '.';                /* the last separator is the decimal one */
            continue;                          /* the others group thousands */
        }
        if ((c >= '0' && c <= '9') || c == '-' || c == '+')
            out[n++] = (char)c;
    }
    out[n] = '\0';
    return n > 0 ? 0 : -1;
}

void datasets_import_date(const char *s, char out[16])
{
    if (strlen(s) == 10 && s[2] == '/' && s[5] == '/') {
        snprintf(out, 16, "%.4s-%.2s-%.2s", s + 6, s + 3, s);
        return;
    }
    snprintf(out, 16, "%.15s", s);
}

/* The date finance is given: the ISO form of a real DD/MM/YYYY (or ISO)
 * date, else the text exactly as written, so that finance's error quotes
 * what the file says (not "2026-02-31" for 31/02/2026, nor a cut copy). */
static const char *datasets_import_date_text(const char *s, size_t len, char buf[16])
{
    int y, m, d;
    datasets_import_date(s, buf);
    return len <= 10 && parse_date(buf, strlen(buf), &y, &m, &d) == 0 ? buf : s;
}

/* Maps header fields to import fields; -1 where a column is not used. */
static enum err datasets_import_header(const struct csv_reader *rd, int *map, struct datasets_error *er)
{
    int seen[DI_FIELDS];
    for (int f = 0; f < DI_FIELDS; f++)
        seen[f] = -1;
    for (size_t i = 0; i < rd->nfields; i++) {
        char key[128];
        text_fold(rd->fields[i].ptr, rd->fields[i].len, key, sizeof(key));
        map[i] = -1;
        for (size_t k = 0; k < sizeof(datasets_import_names) / sizeof(datasets_import_names[0]); k++) {
            if (strcmp(key, datasets_import_names[k].name) != 0)
                continue;
            int f = datasets_import_names[k].field;
            if (seen[f] >= 0)
                return datasets_import_fail(er, ERR_UNPROCESSABLE, "body", 1,
                                            "columns %d and %zu both give the %s", seen[f] + 1, i + 1,
                                            datasets_import_keys[f]);
            seen[f] = (int)i;
            map[i] = f;
        }
    }
    if (seen[DI_DATE] < 0)
        return datasets_import_fail(er, ERR_UNPROCESSABLE, "body", 1,
                                    "the header has no date column (date, or in French date)");
    if (seen[DI_AMOUNT] < 0 && seen[DI_DEBIT] < 0 && seen[DI_CREDIT] < 0)
        return datasets_import_fail(er, ERR_UNPROCESSABLE, "body", 1,
                                    "the header has no amount column (amount, or in French montant)");
    if (seen[DI_AMOUNT] >= 0 && (seen[DI_DEBIT] >= 0 || seen[DI_CREDIT] >= 0))
        return datasets_import_fail(er, ERR_UNPROCESSABLE, "body", 1,
                                    "give either an amount column or debit/credit columns, not both");
    return ERR_NONE;
}

/* A normalised amount that is zero ("0.00", "-0"). */
static bool datasets_import_zero(const char *s)
{
    for (; *s; s++)
        if (*s >= '1' && *s <= '9')
            return false;
    return true;
}

/* One CSV row as a transaction item for finance_validate_items. */
static struct json_object *datasets_import_item(const struct csv_reader *rd, const int *map, const char **problem)
{
    *problem = NULL;
    struct json_object *item = json_object_new_object();
    const char *debit = NULL, *credit = NULL;
    for (size_t i = 0; i < rd->nfields; i++) {
        int f = map[i];
        const char *v = rd->fields[i].ptr;
        if (f < 0 || rd->fields[i].len == 0)
            continue;
        char buf[64];
        if (f == DI_DATE) {
            /* not DD/MM/YYYY of a real day: finance judges (and quotes) what was written */
            json_object_object_add(item, "date", json_object_new_string(
                                   datasets_import_date_text(v, rd->fields[i].len, buf)));
        } else if (f == DI_AMOUNT) {
            json_object_object_add(item, "amount", json_object_new_string(
                                   datasets_import_amount(v, buf, sizeof(buf)) == 0 ? buf : v));
        } else if (f == DI_DEBIT) {
            debit = v;
        } else if (f == DI_CREDIT) {
            credit = v;
        } else {        /* a line break inside a quoted bank field is layout: one space */
            char *text = strndup(v, rd->fields[i].len);
            for (char *p = text; p != NULL && *p; p++)
                if (*p == '\n' || *p == '\t')
                    *p = ' ';
            json_object_object_add(item, datasets_import_keys[f], json_object_new_string(text ? text : v));
            free(text);
        }
    }
    if (debit != NULL || credit != NULL) {
        /* A debit is spending, whatever its sign in the file; a credit keeps
         * its sign. A 0,00 in the other column counts as empty; a debit and
         * a credit on one row is refused (neither is dropped silently). */
        char dbuf[64], cbuf[64], signed_amount[72];
        int dok = debit != NULL ? datasets_import_amount(debit, dbuf, sizeof(dbuf)) : -1;
        int cok = credit != NULL ? datasets_import_amount(credit, cbuf, sizeof(cbuf)) : -1;
        bool dzero = dok == 0 && datasets_import_zero(dbuf), czero = cok == 0 && datasets_import_zero(cbuf);
        if (debit != NULL && credit != NULL && !dzero && !czero)
            *problem = "a row has both a debit and a credit amount; give one of them";
        else if (debit != NULL && credit != NULL && dzero)
            debit = NULL;                      /* 0,00 debit beside a credit */
        if (debit != NULL && dok == 0) {
            const char *digits = dbuf[0] == '-' || dbuf[0] == '+' ? dbuf + 1 : dbuf;
            snprintf(signed_amount, sizeof(signed_amount), "-%s", digits);
            json_object_object_add(item, "amount", json_object_new_string(signed_amount));
        } else if (debit != NULL) {
            json_object_object_add(item, "amount", json_object_new_string(debit));
        } else {
            json_object_object_add(item, "amount", json_object_new_string(cok == 0 ? cbuf : credit));
        }
    }
    return item;
}

static const char *datasets_import_str(struct json_object *row, const char *key)
{
    struct json_object *v = NULL;
    return json_object_object_get_ex(row, key, &v) && v != NULL ? json_object_get_string(v) : "";
}

struct datasets_import_key {
    const char *key;               /* NULL: the row has its own external_id */
    size_t index;
};

static int datasets_import_key_cmp(const void *x, const void *y)
{
    const struct datasets_import_key *a = x, *b = y;
    int c = strcmp(a->key ? a->key : "", b->key ? b->key : "");
    if (c != 0)
        return c;
    return a->index < b->index ? -1 : a->index > b->index;
}

/* Gives every row without an external_id its documented content hash; the
 * rank among equal rows comes from sorting (key, position). */
static int datasets_import_ids(struct arena *a, struct json_object *rows)
{
    size_t n = json_object_array_length(rows);
    struct datasets_import_key *keys = arena_alloc(a, (n + 1) * sizeof(*keys));
    if (keys == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        struct json_object *row = json_object_array_get_idx(rows, i), *x = NULL;
        keys[i].index = i;
        keys[i].key = NULL;
        if (json_object_object_get_ex(row, "external_id", &x) && x != NULL)
            continue;
        keys[i].key = arena_sprintf(a, "%s\x1f%s\x1f%s\x1f%s", datasets_import_str(row, "date"),
                                    datasets_import_str(row, "amount_cents"), datasets_import_str(row, "merchant"),
                                    datasets_import_str(row, "description"));
        if (keys[i].key == NULL)
            return -1;
    }
    qsort(keys, n, sizeof(*keys), datasets_import_key_cmp);
    long rank = 0;
    for (size_t i = 0; i < n; i++) {
        if (keys[i].key == NULL)
            continue;
        rank = i > 0 && keys[i - 1].key != NULL && strcmp(keys[i - 1].key, keys[i].key) == 0 ? rank + 1 : 1;
        char *text = arena_sprintf(a, "%s\x1f%ld", keys[i].key, rank);
        if (text == NULL)
            return -1;
        char hex[65], id[40];
        sha256_hex(text, strlen(text), hex);
        snprintf(id, sizeof(id), "csv-%.32s", hex);
        json_object_object_add(json_object_array_get_idx(rows, keys[i].index), "external_id",
                               json_object_new_string(id));
    }
    return 0;
}

static enum err datasets_import_currency(struct tally_ctx *ctx, int64_t user_id, char currency[4])
{
    char idtext[32];
    db_param_i64(idtext, user_id);
    const char *params[1] = {idtext};
    enum err e;
    db_result *r = db_query(ctx->db, &e, DB_RETRY_ON_RECONNECT, "SELECT currency FROM users WHERE id = $1", 1,
                            params);
    if (r == NULL)
        return e;
    if (db_rows(r) == 0) {
        db_clear(r);
        return ERR_NOT_FOUND;
    }
    snprintf(currency, 4, "%s", db_value(r, 0, 0));
    db_clear(r);
    return ERR_NONE;
}

/* The import's view of the upload's one pass: the header mapped, then each
 * row turned into an item (its physical line kept for the rejects). */
struct datasets_import_pass {
    struct tally_ctx *ctx;
    struct datasets_import_result *out;
    struct json_object *items;
    struct json_object *own_rejects;   /* the import's own verdicts ({index, field, message}) */
    long *lines;
    int *map;
    size_t n;
};

static enum err datasets_import_row(void *ud, const struct csv_reader *rd, struct datasets_error *er)
{
    struct datasets_import_pass *ip = ud;
    if (rd->rows_read == 1) {
        ip->out->delimiter = rd->delim;
        ip->map = arena_alloc(ip->ctx->arena, (rd->nfields + 1) * sizeof(*ip->map));
        ip->lines = arena_alloc(ip->ctx->arena, (DATASETS_IMPORT_MAX_ROWS + 1) * sizeof(*ip->lines));
        if (ip->map == NULL || ip->lines == NULL)
            return ERR_INTERNAL;
        return datasets_import_header(rd, ip->map, er);
    }
    if (ip->n == DATASETS_IMPORT_MAX_ROWS)
        return datasets_import_fail(er, ERR_PAYLOAD_TOO_LARGE, "body", csv_row_line(rd),
                                    "at most %d transactions per import", DATASETS_IMPORT_MAX_ROWS);
    const char *problem;
    ip->lines[ip->n++] = csv_row_line(rd);
    json_object_array_add(ip->items, datasets_import_item(rd, ip->map, &problem));
    if (problem != NULL) {
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "index", json_object_new_int64((int64_t)ip->n - 1));
        json_object_object_add(o, "field", json_object_new_string("amount"));
        json_object_object_add(o, "message", json_object_new_string(problem));
        json_object_array_add(ip->own_rejects, o);
    }
    return ERR_NONE;
}

static int64_t datasets_import_reject_index(struct json_object *o)
{
    struct json_object *x = NULL;
    return json_object_object_get_ex(o, "index", &x) ? json_object_get_int64(x) : 0;
}

static int datasets_import_reject_cmp(const void *a, const void *b)
{
    int64_t x = datasets_import_reject_index(*(struct json_object *const *)a);
    int64_t y = datasets_import_reject_index(*(struct json_object *const *)b);
    return x < y ? -1 : x > y;
}

/* finance's verdict on the items: ERR_NONE, or 422 with *rejected naming
 * each bad row's CSV line. */
static enum err datasets_import_validate(struct datasets_import_pass *ip, const char *currency,
                                         struct json_object **rows, struct json_object **rejected,
                                         struct datasets_error *er)
{
    struct json_object *rj = json_object_new_array();
    int invalid = 0;
    *rows = finance_validate_items(ip->items, currency, rj, &invalid);
    size_t own = json_object_array_length(ip->own_rejects);
    if (own > 0) {                       /* merged in row order; invalid counts rows, not rejects */
        for (size_t i = 0; i < own; i++)
            json_object_array_add(rj, json_object_get(json_object_array_get_idx(ip->own_rejects, i)));
        json_object_array_sort(rj, datasets_import_reject_cmp);
        invalid = 0;
        int64_t prev = -1;
        for (size_t i = 0; i < json_object_array_length(rj); i++) {
            int64_t idx = datasets_import_reject_index(json_object_array_get_idx(rj, i));
            invalid += idx != prev;
            prev = idx;
        }
    }
    if (invalid == 0) {
        json_object_put(rj);
        return ERR_NONE;
    }
    long first_line = 0;
    const char *first_field = "body";
    for (size_t i = 0; i < json_object_array_length(rj); i++) {
        struct json_object *o = json_object_array_get_idx(rj, i), *x = NULL;
        int64_t index = json_object_object_get_ex(o, "index", &x) ? json_object_get_int64(x) : 0;
        long line = index >= 0 && (size_t)index < ip->n ? ip->lines[index] : 0;
        json_object_object_add(o, "line", json_object_new_int64(line));
        if (i == 0) {
            first_line = line;
            if (json_object_object_get_ex(o, "field", &x))
                first_field = arena_strndup(ip->ctx->arena, json_object_get_string(x),
                                            strlen(json_object_get_string(x)));
        }
    }
    *rejected = rj;
    datasets_import_fail(er, ERR_UNPROCESSABLE, first_field, first_line,
                         "%d of %zu transactions are invalid (first at line %ld); nothing was stored", invalid,
                         ip->n, first_line);
    er->column = 0;
    return ERR_UNPROCESSABLE;
}

enum err datasets_import(struct tally_ctx *ctx, const struct datasets_who *who, int64_t user_id,
                         const struct datasets_input *in, char delim, struct datasets_import_result *out,
                         struct json_object **rejected, struct datasets_error *er)
{
    memset(out, 0, sizeof(*out));
    *rejected = NULL;
    char currency[4];
    enum err e = datasets_import_currency(ctx, user_id, currency);
    if (e == ERR_NOT_FOUND)
        return datasets_import_fail(er, e, "id", 0, "user %" PRId64 " not found", user_id);
    if (e != ERR_NONE)
        return e;
    /* One pass over the file, inside one transaction: the upload stores it
     * as a version while the hook collects the items; then finance
     * validates them and the rows go in, or everything is rolled back. */
    struct datasets_import_pass ip = {ctx, out, json_object_new_array(), json_object_new_array(), NULL, NULL, 0};
    struct json_object *rows = NULL;
    struct datasets_input pass = *in;
    pass.hook = datasets_import_row;
    pass.hook_ud = &ip;
    if ((e = db_exec(ctx->db, 0, "BEGIN", 0, NULL)) != ERR_NONE)
        goto out;
    struct datasets_version v;
    memset(&v, 0, sizeof(v));
    bool created;
    e = datasets_upload(ctx, who, user_id, DATASETS_IMPORT_NAME, &pass, delim, true, &v, &created, er);
    if (e == ERR_NONE && ip.n == 0)
        e = datasets_import_fail(er, ERR_UNPROCESSABLE, "body", 0, "the file has a header but no transactions");
    if (e == ERR_NONE)
        e = datasets_import_validate(&ip, currency, &rows, rejected, er);
    if (e == ERR_NONE && datasets_import_ids(ctx->arena, rows) != 0)
        e = ERR_INTERNAL;
    /* In batches, so that no one statement runs into db_timeout_ms. */
    for (size_t from = 0; e == ERR_NONE && from < ip.n; from += DATASETS_IMPORT_BATCH) {
        struct json_object *batch = json_object_new_array();
        for (size_t i = from; i < ip.n && i < from + DATASETS_IMPORT_BATCH; i++)
            json_object_array_add(batch, json_object_get(json_object_array_get_idx(rows, i)));
        int64_t got = 0;
        e = finance_insert_rows(ctx->db, user_id, batch, v.dataset_id, v.version, &got);
        json_object_put(batch);
        out->inserted += (long)got;
    }
    if (e == ERR_NONE) {
        out->duplicates = (long)ip.n - out->inserted;
        out->dataset_id = v.dataset_id;
        out->version = v.version;
    }
    datasets_version_free(&v);
    e = datasets_tx_end(ctx, e, false);
out:
    json_object_put(ip.items);
    json_object_put(ip.own_rejects);
    if (rows != NULL)
        json_object_put(rows);
    return e;
}
