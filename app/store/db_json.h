/* db_json: result rows as JSON objects, from a table of columns.
 *
 * A handler describes its row once, {json key, column index, kind}, and
 * db_json_row emits the object with the keys in the table's order, so the
 * API's shapes live in one readable array per resource instead of a line of
 * json-c calls per field. The kinds are the API's conventions: NULL text is
 * JSON null where the API allows it, money is bigint cents printed with
 * exactly two decimals (jsonx_money), sums of money are numeric text
 * printed exactly (jsonx_money_wide), timestamps are formatted by the
 * statement itself (DB_SQL_TIMESTAMP) so every resource prints them alike. */
#ifndef TALLY_DB_JSON_H
#define TALLY_DB_JSON_H

#include <stddef.h>

#include "db.h"

struct json_object;

/* A timestamptz column as the API prints it: "2026-03-01T12:00:00Z"; the
 * _MS variant keeps milliseconds ("…T12:00:00.250Z", the job queue). */
#define DB_SQL_TIMESTAMP(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define DB_SQL_TIMESTAMP_MS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

enum db_json_kind {
    DB_JSON_TEXT,            /* string; NULL as "" (a NOT NULL column) */
    DB_JSON_TEXT_OR_NULL,    /* string, or null */
    DB_JSON_INT64,           /* integer; NULL as 0 */
    DB_JSON_INT64_OR_NULL,   /* integer, or null */
    DB_JSON_BOOL,            /* PostgreSQL boolean ("t"/"f"); NULL as false */
    DB_JSON_MONEY,           /* bigint cents -> 42.10 */
    DB_JSON_MONEY_SUM,       /* numeric cents (a sum) -> 42.10, exact at any size; NULL as 0.00 */
    DB_JSON_NUMBER,          /* numeric text kept as written (12.500); NULL as null */
    DB_JSON_TIMESTAMP,       /* text of DB_SQL_TIMESTAMP(_MS), or null */
    DB_JSON_JSON,            /* json/jsonb text as a value; NULL or not JSON as null */
    DB_JSON_CUSTOM,          /* custom(r, row, col): anything else (may read more columns) */
};

struct db_json_column {
    const char *key;
    int col;
    enum db_json_kind kind;
    struct json_object *(*custom)(const db_result *r, int row, int col);
};

/* The number of entries of a column table, for the count arguments. */
#define DB_JSON_COUNT(table) (sizeof(table) / sizeof((table)[0]))

/* One value of the given kind (for a key that is not a plain column). */
struct json_object *db_json_value(const db_result *r, int row, int col, enum db_json_kind kind);
/* A new object of row's columns, keys in the table's order. */
struct json_object *db_json_row(const db_result *r, int row, const struct db_json_column *columns, size_t count);
/* The same keys added to an existing object, after what it holds. */
void db_json_row_into(struct json_object *o, const db_result *r, int row, const struct db_json_column *columns,
                      size_t count);
/* An array of rows first .. first + count - 1 (clamped to the result). */
struct json_object *db_json_rows(const db_result *r, int first, int count, const struct db_json_column *columns,
                                 size_t ncolumns);
/* One column of rows first .. first + count - 1 (clamped) as an array of
 * values of the kind (not CUSTOM): a chart's labels or data. */
struct json_object *db_json_values(const db_result *r, int col, enum db_json_kind kind, int first, int count);

#endif
