/* sqlbuf: placeholders and parameters stay in step; every overflow is
 * caught, sticky, and keeps the statement from running. */
#include "store/sqlbuf.h"
#include "core/log.h"
#include "check.h"

#include <stdint.h>
#include <string.h>

static void test_placeholders_follow_params(void)
{
    struct sqlbuf b;
    sqlbuf_init(&b);
    sqlbuf_add(&b, "SELECT 1 FROM t WHERE user_id = ");
    CHECK_INT(sqlbuf_i64(&b, -9223372036854775807LL - 1), 1);
    sqlbuf_add(&b, " AND name = ");
    CHECK_INT(sqlbuf_text(&b, "O'Brien; DROP TABLE t"), 2);
    sqlbuf_add(&b, " AND note IS NOT DISTINCT FROM ");
    CHECK_INT(sqlbuf_text(&b, NULL), 3);
    sqlbuf_add(&b, " LIMIT ");
    sqlbuf_add_int(&b, 51);
    CHECK(sqlbuf_problem(&b) == NULL);
    CHECK_STR(b.sql, "SELECT 1 FROM t WHERE user_id = $1 AND name = $2 AND note IS NOT DISTINCT FROM $3 LIMIT 51");
    CHECK_INT(b.nparams, 3);
    CHECK_STR(b.params[0], "-9223372036854775808");
    CHECK_STR(b.params[1], "O'Brien; DROP TABLE t");   /* a value, never in the text */
    CHECK(b.params[2] == NULL);
    CHECK_INT(b.len, strlen(b.sql));
}

static void test_add_with_binds_once(void)
{
    struct sqlbuf b;
    sqlbuf_init(&b);
    sqlbuf_add(&b, "user_id = ");
    sqlbuf_i64(&b, 7);
    sqlbuf_add_with(&b, " AND (strpos(a, ?) > 0 OR strpos(b, ?) > 0 OR c = ?)", "caf");
    sqlbuf_add_with(&b, " AND d >= ?::date", "2026-01-31");
    sqlbuf_add_with(&b, " AND e", "unused");          /* no '?': still bound, still numbered */
    sqlbuf_add(&b, " AND f = ");
    sqlbuf_text(&b, "x");
    CHECK_STR(b.sql, "user_id = $1 AND (strpos(a, $2) > 0 OR strpos(b, $2) > 0 OR c = $2) AND d >= $3::date"
                     " AND e AND f = $5");
    CHECK_INT(b.nparams, 5);
    CHECK_STR(b.params[1], "caf");
    CHECK_STR(b.params[2], "2026-01-31");
    CHECK_STR(b.params[4], "x");
}

static void test_ref(void)
{
    struct sqlbuf b;
    sqlbuf_init(&b);
    sqlbuf_add(&b, "a = ");
    sqlbuf_i64(&b, 1);
    sqlbuf_add(&b, " OR b = ");
    sqlbuf_ref(&b, 1);
    CHECK_STR(b.sql, "a = $1 OR b = $1");
    CHECK(sqlbuf_problem(&b) == NULL);
    sqlbuf_ref(&b, 2);                                 /* never bound */
    CHECK_INT(b.error, SQLBUF_NO_SUCH_PARAM);
    CHECK_STR(b.sql, "a = $1 OR b = $1");
    sqlbuf_init(&b);
    sqlbuf_ref(&b, 0);
    CHECK_INT(b.error, SQLBUF_NO_SUCH_PARAM);
}

static void test_too_long_is_sticky_and_whole(void)
{
    static char big[SQLBUF_BYTES + 10];
    struct sqlbuf b;
    /* exactly the capacity (with its NUL) fits; one byte more does not */
    memset(big, 'x', sizeof(big));
    big[SQLBUF_BYTES - 1] = '\0';
    sqlbuf_init(&b);
    sqlbuf_add(&b, big);
    CHECK(sqlbuf_problem(&b) == NULL);
    CHECK_INT(b.len, SQLBUF_BYTES - 1);
    sqlbuf_add(&b, "");
    CHECK(sqlbuf_problem(&b) == NULL);                 /* nothing to add always fits */
    sqlbuf_add(&b, "y");
    CHECK_INT(b.error, SQLBUF_TOO_LONG);
    CHECK_INT(b.len, SQLBUF_BYTES - 1);
    CHECK(b.sql[b.len] == '\0' && b.sql[b.len - 1] == 'x');

    /* a long piece in the middle: nothing of it is written, later pieces neither */
    sqlbuf_init(&b);
    sqlbuf_add(&b, "SELECT ");
    memset(big, 'z', sizeof(big));
    big[SQLBUF_BYTES - 7] = '\0';                      /* 7 + 4089 = 4096: one too many */
    sqlbuf_add(&b, big);
    CHECK_INT(b.error, SQLBUF_TOO_LONG);
    CHECK_STR(b.sql, "SELECT ");
    sqlbuf_add(&b, "1");
    CHECK_INT(sqlbuf_text(&b, "v"), 0);
    CHECK_INT(sqlbuf_i64(&b, 5), 0);
    sqlbuf_add_int(&b, 5);
    sqlbuf_add_with(&b, " AND ?", "w");
    CHECK_STR(b.sql, "SELECT ");
    CHECK_INT(b.nparams, 0);
    CHECK_INT(b.error, SQLBUF_TOO_LONG);               /* the first failure stays */
    CHECK(sqlbuf_problem(&b) != NULL);
}

static void test_placeholder_without_room(void)
{
    static char big[SQLBUF_BYTES];
    struct sqlbuf b;
    memset(big, 'x', sizeof(big));
    big[SQLBUF_BYTES - 2] = '\0';                      /* room for 1 more byte: "$1" needs 2 */
    sqlbuf_init(&b);
    sqlbuf_add(&b, big);
    CHECK(sqlbuf_problem(&b) == NULL);
    CHECK_INT(sqlbuf_text(&b, "v"), 0);
    CHECK_INT(b.error, SQLBUF_TOO_LONG);
    CHECK_INT(b.nparams, 0);                           /* not bound: text and params agree */
    CHECK_INT(b.len, SQLBUF_BYTES - 2);

    /* add_with whose '?' has no room */
    sqlbuf_init(&b);
    big[SQLBUF_BYTES - 2] = 'x';
    big[SQLBUF_BYTES - 4] = '\0';                      /* " = " fits, its "$1" does not */
    sqlbuf_add(&b, big);
    sqlbuf_add_with(&b, " = ?", "v");
    CHECK_INT(b.error, SQLBUF_TOO_LONG);
}

static void test_too_many_params(void)
{
    struct sqlbuf b;
    sqlbuf_init(&b);
    sqlbuf_add(&b, "SELECT 1 WHERE");
    for (int i = 1; i <= SQLBUF_MAX_PARAMS; i++) {
        sqlbuf_add(&b, " AND x = ");
        CHECK_INT(sqlbuf_i64(&b, i * 10), i);
    }
    CHECK(sqlbuf_problem(&b) == NULL);
    CHECK_STR(b.params[SQLBUF_MAX_PARAMS - 1], "160");
    CHECK_STR(b.params[0], "10");                      /* each integer keeps its own storage */
    size_t len = b.len;
    CHECK_INT(sqlbuf_i64(&b, 170), 0);
    CHECK_INT(b.error, SQLBUF_TOO_MANY_PARAMS);
    CHECK_INT(b.nparams, SQLBUF_MAX_PARAMS);
    CHECK_INT(b.len, len);
    sqlbuf_init(&b);
    for (int i = 0; i < SQLBUF_MAX_PARAMS; i++)
        sqlbuf_text(&b, "t");
    sqlbuf_add_with(&b, " ?", "u");
    CHECK_INT(b.error, SQLBUF_TOO_MANY_PARAMS);
}

static void test_failed_buffer_is_not_run(void)
{
    struct sqlbuf b;
    static char big[SQLBUF_BYTES + 1];
    memset(big, 'x', sizeof(big) - 1);
    sqlbuf_init(&b);
    sqlbuf_add(&b, big);
    enum err e = ERR_NONE;
    /* db NULL: reaching libpq would crash, so returning proves it was not reached */
    CHECK(sqlbuf_query(NULL, &e, 0, &b) == NULL);
    CHECK_INT(e, ERR_INTERNAL);
    CHECK_INT(sqlbuf_exec(NULL, 0, &b), ERR_INTERNAL);
}

int main(void)
{
    log_set_level(LOG_OFF);
    test_placeholders_follow_params();
    test_add_with_binds_once();
    test_ref();
    test_too_long_is_sticky_and_whole();
    test_placeholder_without_room();
    test_too_many_params();
    test_failed_buffer_is_not_run();
    CHECK_DONE();
}
