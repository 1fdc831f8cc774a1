/* sqlbuf: see sqlbuf.h. Every append checks the room first and writes
 * nothing on failure, so the text is always a prefix of whole pieces. */
#include "sqlbuf.h"
#include "../core/log.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void sqlbuf_init(struct sqlbuf *b)
{
    b->sql[0] = '\0';
    b->len = 0;
    b->nparams = 0;
    b->error = SQLBUF_OK;
}

static void sqlbuf_fail(struct sqlbuf *b, enum sqlbuf_error e)
{
    if (b->error == SQLBUF_OK)
        b->error = e;
}

/* Appends n bytes of text, all or nothing. */
static void sqlbuf_put(struct sqlbuf *b, const char *s, size_t n)
{
    if (b->error != SQLBUF_OK)
        return;
    if (n >= sizeof(b->sql) - b->len) {
        sqlbuf_fail(b, SQLBUF_TOO_LONG);
        return;
    }
    memcpy(b->sql + b->len, s, n);
    b->len += n;
    b->sql[b->len] = '\0';
}

static void sqlbuf_put_placeholder(struct sqlbuf *b, int n)
{
    char num[16];
    int len = snprintf(num, sizeof(num), "$%d", n);
    sqlbuf_put(b, num, (size_t)len);
}

void sqlbuf_add(struct sqlbuf *b, const char *sql)
{
    sqlbuf_put(b, sql, strlen(sql));
}

void sqlbuf_add_int(struct sqlbuf *b, int64_t v)
{
    char num[DB_INT64_BYTES];
    db_param_i64(num, v);
    sqlbuf_add(b, num);
}

/* Binds value as the next parameter without writing text; returns N or 0. */
static int sqlbuf_bind(struct sqlbuf *b, const char *value)
{
    if (b->error != SQLBUF_OK)
        return 0;
    if (b->nparams >= SQLBUF_MAX_PARAMS) {
        sqlbuf_fail(b, SQLBUF_TOO_MANY_PARAMS);
        return 0;
    }
    b->params[b->nparams++] = value;
    return b->nparams;
}

int sqlbuf_text(struct sqlbuf *b, const char *value)
{
    if (b->error != SQLBUF_OK)
        return 0;
    char num[16];
    int len = snprintf(num, sizeof(num), "$%d", b->nparams + 1);
    if ((size_t)len >= sizeof(b->sql) - b->len) {     /* check the room before binding */
        sqlbuf_fail(b, SQLBUF_TOO_LONG);
        return 0;
    }
    int n = sqlbuf_bind(b, value);
    if (n != 0)
        sqlbuf_put(b, num, (size_t)len);
    return n;
}

int sqlbuf_i64(struct sqlbuf *b, int64_t v)
{
    if (b->error != SQLBUF_OK || b->nparams >= SQLBUF_MAX_PARAMS)
        return sqlbuf_text(b, NULL);   /* records the failure */
    char *slot = b->ints[b->nparams];
    db_param_i64_into(slot, DB_INT64_BYTES, v);
    return sqlbuf_text(b, slot);
}

void sqlbuf_ref(struct sqlbuf *b, int n)
{
    if (n < 1 || n > b->nparams) {
        sqlbuf_fail(b, SQLBUF_NO_SUCH_PARAM);
        return;
    }
    sqlbuf_put_placeholder(b, n);
}

void sqlbuf_add_with(struct sqlbuf *b, const char *sql, const char *value)
{
    int n = sqlbuf_bind(b, value);
    if (n == 0)
        return;
    for (const char *p = sql; *p != '\0' && b->error == SQLBUF_OK;) {
        const char *q = strchr(p, '?');
        size_t run = q != NULL ? (size_t)(q - p) : strlen(p);
        sqlbuf_put(b, p, run);
        if (q == NULL)
            break;
        sqlbuf_put_placeholder(b, n);
        p = q + 1;
    }
}

const char *sqlbuf_problem(const struct sqlbuf *b)
{
    switch (b->error) {
    case SQLBUF_OK:
        return NULL;
    case SQLBUF_TOO_LONG:
        return "statement longer than the SQL buffer";
    case SQLBUF_TOO_MANY_PARAMS:
        return "more parameters than the SQL buffer holds";
    case SQLBUF_NO_SUCH_PARAM:
        return "placeholder of a parameter never bound";
    }
    return "unknown SQL buffer error";
}

/* A failed buffer is logged with the start of its text, and not run. */
static bool sqlbuf_refuse(const struct sqlbuf *b)
{
    const char *problem = sqlbuf_problem(b);
    if (problem == NULL)
        return false;
    log_msg(LOG_ERROR, "sqlbuf: %s (%zu bytes, %d parameters): statement not run: %.80s", problem, b->len,
            b->nparams, b->sql);
    return true;
}

db_result *sqlbuf_query(struct db *db, enum err *e, int flags, const struct sqlbuf *b)
{
    if (sqlbuf_refuse(b)) {
        *e = ERR_INTERNAL;
        return NULL;
    }
    return db_query(db, e, flags, b->sql, b->nparams, b->params);
}

enum err sqlbuf_exec(struct db *db, int flags, const struct sqlbuf *b)
{
    if (sqlbuf_refuse(b))
        return ERR_INTERNAL;
    return db_exec(db, flags, b->sql, b->nparams, b->params);
}
