/* db_json: see db_json.h. */
#include "db_json.h"
#include "../core/jsonx.h"
#include "../core/parse.h"

#include <json-c/json.h>
#include <stdlib.h>

struct json_object *db_json_value(const db_result *r, int row, int col, enum db_json_kind kind)
{
    bool null = db_is_null(r, row, col);
    const char *v = db_value(r, row, col);
    switch (kind) {
    case DB_JSON_TEXT:
        return json_object_new_string(v);
    case DB_JSON_TEXT_OR_NULL:
    case DB_JSON_TIMESTAMP:
        return null ? NULL : json_object_new_string(v);
    case DB_JSON_INT64:
        return json_object_new_int64(db_int64(r, row, col));
    case DB_JSON_INT64_OR_NULL:
        return null ? NULL : json_object_new_int64(db_int64(r, row, col));
    case DB_JSON_BOOL:
        return json_object_new_boolean(v[0] == 't');
    case DB_JSON_MONEY:
        return jsonx_money(db_int64(r, row, col));
    case DB_JSON_MONEY_SUM:
        return jsonx_money_wide(null ? 0 : parse_wide(v));
    case DB_JSON_NUMBER:
        return null ? NULL : json_object_new_double_s(strtod(v, NULL), v);
    case DB_JSON_JSON:
        return null ? NULL : json_tokener_parse(v);
    case DB_JSON_CUSTOM:
        break;                         /* needs its function: db_json_row_into */
    }
    return NULL;
}

void db_json_row_into(struct json_object *o, const db_result *r, int row, const struct db_json_column *columns,
                      size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const struct db_json_column *c = &columns[i];
        struct json_object *v = c->kind == DB_JSON_CUSTOM ? (c->custom ? c->custom(r, row, c->col) : NULL)
                                                          : db_json_value(r, row, c->col, c->kind);
        json_object_object_add(o, c->key, v);
    }
}

struct json_object *db_json_row(const db_result *r, int row, const struct db_json_column *columns, size_t count)
{
    struct json_object *o = json_object_new_object();
    db_json_row_into(o, r, row, columns, count);
    return o;
}

/* The rows first .. first + count - 1 that the result has. */
static int db_json_last(const db_result *r, int first, int count)
{
    int rows = db_rows(r);
    return first + count < rows ? first + count : rows;
}

struct json_object *db_json_values(const db_result *r, int col, enum db_json_kind kind, int first, int count)
{
    int last = db_json_last(r, first, count);
    struct json_object *a = json_object_new_array_ext(last > first ? last - first : 0);
    for (int i = first; i < last; i++)
        json_object_array_add(a, db_json_value(r, i, col, kind));
    return a;
}

struct json_object *db_json_rows(const db_result *r, int first, int count, const struct db_json_column *columns,
                                 size_t ncolumns)
{
    int last = db_json_last(r, first, count);
    struct json_object *a = json_object_new_array_ext(last > first ? last - first : 0);
    for (int i = first; i < last; i++)
        json_object_array_add(a, db_json_row(r, i, columns, ncolumns));
    return a;
}
