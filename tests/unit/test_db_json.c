/* db_json: a result built with libpq's own functions (no server) turned
 * into JSON by a column table; the text is compared byte for byte. */
#include "store/db_json.h"
#include "check.h"

#include <json-c/json.h>
#include <libpq-fe.h>
#include <string.h>

#define COLS 10

/* One row per entry of values; NULL is SQL NULL. */
static PGresult *make_result(const char *const values[][COLS], int rows)
{
    PGresult *r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    PGresAttDesc att[COLS];
    static char names[COLS][8];
    memset(att, 0, sizeof(att));
    for (int i = 0; i < COLS; i++) {
        snprintf(names[i], sizeof(names[i]), "c%d", i);
        att[i].name = names[i];
        att[i].format = 0;
        att[i].typlen = -1;
        att[i].atttypmod = -1;
    }
    PQsetResultAttrs(r, COLS, att);
    for (int row = 0; row < rows; row++)
        for (int c = 0; c < COLS; c++)
            PQsetvalue(r, row, c, (char *)values[row][c], values[row][c] ? (int)strlen(values[row][c]) : -1);
    return r;
}

static struct json_object *pair(const db_result *r, int row, int col)
{
    struct json_object *a = json_object_new_array();
    json_object_array_add(a, json_object_new_string(db_value(r, row, col)));
    json_object_array_add(a, json_object_new_string(db_value(r, row, col + 1)));
    return a;
}

static const struct db_json_column spec[] = {
    {"id", 0, DB_JSON_INT64, NULL},
    {"name", 1, DB_JSON_TEXT, NULL},
    {"note", 2, DB_JSON_TEXT_OR_NULL, NULL},
    {"active", 3, DB_JSON_BOOL, NULL},
    {"amount", 4, DB_JSON_MONEY, NULL},
    {"total", 5, DB_JSON_MONEY_SUM, NULL},
    {"ratio", 6, DB_JSON_NUMBER, NULL},
    {"created_at", 7, DB_JSON_TIMESTAMP, NULL},
    {"payload", 8, DB_JSON_JSON, NULL},
    {"pair", 1, DB_JSON_CUSTOM, pair},
};

static void test_kinds(void)
{
    static const char *const rows[][COLS] = {
        {"42", "Café \"Zoé\"", "hello", "t", "-4210", "123456789012345678901234", "12.500",
         "2026-03-01T12:00:00Z", "{\"a\":[1,2]}", "x"},
        {"-9223372036854775808", "", NULL, "f", "5", "-7", NULL, NULL, NULL, NULL},
        {"0", NULL, "", NULL, "0", NULL, "0", "2026-12-31T23:59:59.999Z", "not json", "y"},
    };
    PGresult *r = make_result(rows, 3);
    struct json_object *o = db_json_row(r, 0, spec, DB_JSON_COUNT(spec));
    CHECK_STR(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
              "{\"id\":42,\"name\":\"Café \\\"Zoé\\\"\",\"note\":\"hello\",\"active\":true,\"amount\":-42.10,"
              "\"total\":1234567890123456789012.34,\"ratio\":12.500,\"created_at\":\"2026-03-01T12:00:00Z\","
              "\"payload\":{\"a\":[1,2]},\"pair\":[\"Café \\\"Zoé\\\"\",\"hello\"]}");
    json_object_put(o);
    o = db_json_row(r, 1, spec, DB_JSON_COUNT(spec));
    CHECK_STR(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
              "{\"id\":-9223372036854775808,\"name\":\"\",\"note\":null,\"active\":false,\"amount\":0.05,"
              "\"total\":-0.07,\"ratio\":null,\"created_at\":null,\"payload\":null,\"pair\":[\"\",\"\"]}");
    json_object_put(o);
    /* NULL in NOT NULL kinds: "" / false / 0.00; an empty string stays a string; bad JSON is null */
    o = db_json_row(r, 2, spec, DB_JSON_COUNT(spec));
    CHECK_STR(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
              "{\"id\":0,\"name\":\"\",\"note\":\"\",\"active\":false,\"amount\":0.00,\"total\":0.00,\"ratio\":0,"
              "\"created_at\":\"2026-12-31T23:59:59.999Z\",\"payload\":null,\"pair\":[\"\",\"\"]}");
    json_object_put(o);
    /* an optional integer: NULL is null (not 0 as DB_JSON_INT64), 0 stays 0 */
    struct json_object *a = db_json_values(r, 0, DB_JSON_INT64_OR_NULL, 0, 3);
    CHECK_STR(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN), "[42,-9223372036854775808,0]");
    json_object_put(a);
    a = db_json_values(r, 6, DB_JSON_INT64_OR_NULL, 1, 2);
    CHECK_STR(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN), "[null,0]");
    json_object_put(a);
    a = db_json_values(r, 6, DB_JSON_INT64, 1, 2);
    CHECK_STR(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN), "[0,0]");
    json_object_put(a);
    PQclear(r);
}

static void test_into_and_rows(void)
{
    static const char *const rows[][COLS] = {
        {"1", "a", NULL, "t", "100", "1", "1", NULL, "[]", NULL},
        {"2", "b", NULL, "f", "-1", "2", "2", NULL, "{}", NULL},
        {"3", "c", NULL, "t", "99", "3", "3", NULL, "3", NULL},
    };
    PGresult *r = make_result(rows, 3);
    /* into: after the keys already there, in the table's order */
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "first", json_object_new_string("kept"));
    db_json_row_into(o, r, 1, spec + 3, 2);
    CHECK_STR(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
              "{\"first\":\"kept\",\"active\":false,\"amount\":-0.01}");
    json_object_put(o);
    struct json_object *a = db_json_rows(r, 1, 5, spec, 2);   /* clamped to the 2 rows left */
    CHECK_STR(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN),
              "[{\"id\":2,\"name\":\"b\"},{\"id\":3,\"name\":\"c\"}]");
    json_object_put(a);
    a = db_json_rows(r, 0, 2, spec + 8, 1);                   /* a limit shorter than the result */
    CHECK_STR(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN), "[{\"payload\":[]},{\"payload\":{}}]");
    json_object_put(a);
    a = db_json_values(r, 5, DB_JSON_MONEY_SUM, 0, 2);       /* a chart's data: 2 of 3 rows */
    CHECK_STR(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN), "[0.01,0.02]");
    json_object_put(a);
    a = db_json_values(r, 1, DB_JSON_TEXT, 1, 10);
    CHECK_STR(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN), "[\"b\",\"c\"]");
    json_object_put(a);
    a = db_json_values(r, 2, DB_JSON_TEXT_OR_NULL, 0, 3);
    CHECK_STR(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN), "[null,null,null]");
    json_object_put(a);
    a = db_json_rows(r, 3, 1, spec, 1);
    CHECK_STR(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN), "[]");
    json_object_put(a);
    PQclear(r);
}

int main(void)
{
    test_kinds();
    test_into_and_rows();
    CHECK_DONE();
}
