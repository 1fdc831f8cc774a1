/* db: lazy, self-healing libpq connection. See db.h. */
#define _GNU_SOURCE
#include "db.h"
#include "sqlbuf.h"
#include "../core/clock.h"
#include "../core/log.h"
#include "../core/stats.h"

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct db {
    PGconn *conn;
    char *conninfo;
    struct shm_db_stats *stats;        /* may be NULL (tallyctl) */
    int timeout_ms;                    /* per statement; 0 = wait as long as it takes */
    double request_ms;
    char last_error[256];
};

struct db *db_create(const char *conninfo, struct shm_db_stats *stats)
{
    struct db *db = calloc(1, sizeof(*db));
    if (db == NULL)
        return NULL;
    db->conninfo = strdup(conninfo);
    if (db->conninfo == NULL) {
        free(db);
        return NULL;
    }
    db->stats = stats;
    return db;
}

void db_set_timeout(struct db *db, int timeout_ms)
{
    db->timeout_ms = timeout_ms > 0 ? timeout_ms : 0;
}

void db_destroy(struct db *db)
{
    if (db == NULL)
        return;
    if (db->conn != NULL)
        PQfinish(db->conn);
    free(db->conninfo);
    free(db);
}

static void db_note_error(struct db *db, const char *what)
{
    const char *msg = db->conn ? PQerrorMessage(db->conn) : "no connection";
    snprintf(db->last_error, sizeof(db->last_error), "%s: %s", what, msg);
    size_t n = strlen(db->last_error);
    while (n > 0 && (db->last_error[n - 1] == '\n' || db->last_error[n - 1] == ' '))
        db->last_error[--n] = '\0';
    if (db->stats)
        shm_add(&db->stats->errors, 1);
}

static void db_notice_ignore(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* An idle connection has nothing to say: a readable socket means the
 * server sent a FATAL (shutdown, pg_terminate_backend) and closed, or a
 * NOTIFY / parameter change, which PQconsumeInput keeps for later. Found
 * before use, a dead connection is replaced without failing the statement,
 * so writes recover from a PostgreSQL restart as reads do. One poll(2). */
static bool db_idle_alive(PGconn *conn)
{
    struct pollfd p = {.fd = PQsocket(conn), .events = POLLIN};
    if (p.fd < 0)
        return false;
    /* Twice: the first read takes the FATAL message, the second sees EOF. */
    for (int i = 0; i < 2; i++) {
        if (poll(&p, 1, 0) <= 0)
            return true;
        if (PQconsumeInput(conn) != 1 || PQstatus(conn) != CONNECTION_OK)
            return false;
    }
    return true;
}

/* Ensures a usable connection; returns false (and logs once) if none. */
static bool db_ensure(struct db *db)
{
    if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK && db_idle_alive(db->conn))
        return true;
    if (db->conn != NULL) {
        PQfinish(db->conn);
        db->conn = NULL;
        if (db->stats)
            shm_add(&db->stats->reconnects, 1);
    }
    db->conn = PQconnectdb(db->conninfo);
    if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
        db_note_error(db, "connect");
        if (db->conn != NULL) {
            PQfinish(db->conn);
            db->conn = NULL;
        }
        return false;
    }
    PQsetNoticeProcessor(db->conn, db_notice_ignore, NULL);
    return true;
}

bool db_connected(const struct db *db)
{
    return db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK;
}

static void db_account(struct db *db, double started_ms)
{
    double ms = clock_ms() - started_ms;
    db->request_ms += ms;
    if (db->stats == NULL)
        return;
    uint64_t us = (uint64_t)(ms * 1000.0);
    shm_add(&db->stats->queries, 1);
    shm_add(&db->stats->duration_sum_us, us);
    shm_add(&db->stats->duration_buckets[shm_duration_bucket(us)], 1);
}

static enum err db_classify(struct db *db, PGresult *res)
{
    if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK)
        return ERR_UNAVAILABLE;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (state != NULL && strcmp(state, "23505") == 0)
        return ERR_CONFLICT;
    if (state != NULL && (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
                          strcmp(state, "57P03") == 0))
        return ERR_UNAVAILABLE;
    return ERR_INTERNAL;
}

/* PQexecParams with a deadline (db->timeout_ms): a server that stops
 * answering (SIGSTOP, a partition, a lock held forever) costs at most the
 * timeout, then the connection is dropped (the next statement reconnects)
 * and *timed_out is set. Returns the last result, as PQexecParams does. */
static PGresult *db_exec_params(struct db *db, const char *sql, int nparams, const char *const *params,
                                bool *timed_out)
{
    *timed_out = false;
    if (db->timeout_ms == 0)
        return PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    if (!PQsendQueryParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0))
        return NULL;
    double deadline = clock_ms() + db->timeout_ms;
    PGresult *last = NULL;
    for (;;) {
        if (PQisBusy(db->conn)) {
            double left = deadline - clock_ms();
            if (left <= 0) {
                *timed_out = true;
                PQclear(last);
                return NULL;
            }
            struct pollfd p = {.fd = PQsocket(db->conn), .events = POLLIN};
            int rc = poll(&p, 1, (int)left + 1);
            if (rc < 0 && errno != EINTR) {
                *timed_out = true;             /* cannot wait: treated as no answer */
                PQclear(last);
                return NULL;
            }
            if (rc > 0 && PQconsumeInput(db->conn) == 0)
                break;                         /* connection lost: PQgetResult reports it */
            continue;
        }
        PGresult *r = PQgetResult(db->conn);
        if (r == NULL)
            break;
        PQclear(last);
        last = r;
    }
    return last;                               /* NULL after a lost connection: db_classify sees it */
}

db_result *db_query(struct db *db, enum err *err, int flags, const char *sql, int nparams,
                    const char *const *params)
{
    double started = clock_ms();
    for (int attempt = 0; attempt < 2; attempt++) {
        bool was_connected = db->conn != NULL;
        if (!db_ensure(db)) {
            *err = ERR_UNAVAILABLE;
            db_account(db, started);
            return NULL;
        }
        bool timed_out;
        PGresult *res = db_exec_params(db, sql, nparams, params, &timed_out);
        if (timed_out) {
            snprintf(db->last_error, sizeof(db->last_error), "query: no answer within %d ms (connection dropped)",
                     db->timeout_ms);
            if (db->stats)
                shm_add(&db->stats->errors, 1);
            PQfinish(db->conn);
            db->conn = NULL;
            *err = ERR_UNAVAILABLE;
            break;                             /* never re-run: the server may still be executing it */
        }
        ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
        if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
            db_account(db, started);
            *err = ERR_NONE;
            return (db_result *)res;
        }
        *err = db_classify(db, res);
        db_note_error(db, "query");
        PQclear(res);
        /* A connection that died while idle (server restart) is only
         * noticed on use: re-run once if the statement allows it. */
        if (*err == ERR_UNAVAILABLE && was_connected && (flags & DB_RETRY_ON_RECONNECT))
            continue;
        break;
    }
    if (*err == ERR_INTERNAL)
        log_error("db: %s", db->last_error);
    else
        log_warn("db: %s", db->last_error);
    db_account(db, started);
    return NULL;
}

enum err db_exec(struct db *db, int flags, const char *sql, int nparams, const char *const *params)
{
    enum err e;
    db_result *res = db_query(db, &e, flags, sql, nparams, params);
    db_clear(res);
    return e;
}

void db_clear(db_result *res)
{
    if (res != NULL)
        PQclear((PGresult *)res);
}

int db_rows(const db_result *res) { return PQntuples((const PGresult *)res); }

const char *db_value(const db_result *res, int row, int col)
{
    return PQgetvalue((const PGresult *)res, row, col);
}

bool db_is_null(const db_result *res, int row, int col)
{
    return PQgetisnull((const PGresult *)res, row, col) != 0;
}

int64_t db_int64(const db_result *res, int row, int col)
{
    if (db_is_null(res, row, col))
        return 0;
    return strtoll(db_value(res, row, col), NULL, 10);
}

long db_affected(const db_result *res)
{
    const char *n = PQcmdTuples((PGresult *)res);
    return n && *n ? strtol(n, NULL, 10) : 0;
}

enum err db_script(struct db *db, const char *sql, char *errbuf, size_t errcap)
{
    if (!db_ensure(db)) {
        snprintf(errbuf, errcap, "%s", db->last_error);
        return ERR_UNAVAILABLE;
    }
    PGresult *res = PQexec(db->conn, sql);
    ExecStatusType st = PQresultStatus(res);
    enum err e = ERR_NONE;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        e = db_classify(db, res);
        snprintf(errbuf, errcap, "%s", PQresultErrorMessage(res));
    }
    PQclear(res);
    return e;
}

enum err db_copy_begin(struct db *db, const char *copy_sql)
{
    if (!db_ensure(db))
        return ERR_UNAVAILABLE;
    PGresult *res = PQexec(db->conn, copy_sql);
    enum err e = PQresultStatus(res) == PGRES_COPY_IN ? ERR_NONE : db_classify(db, res);
    if (e != ERR_NONE)
        db_note_error(db, "copy");
    PQclear(res);
    return e;
}

enum err db_copy_data(struct db *db, const char *data, size_t len)
{
    if (PQputCopyData(db->conn, data, (int)len) != 1) {
        db_note_error(db, "copy data");
        return db_classify(db, NULL);
    }
    return ERR_NONE;
}

enum err db_copy_end(struct db *db)
{
    if (PQputCopyEnd(db->conn, NULL) != 1) {
        db_note_error(db, "copy end");
        return db_classify(db, NULL);
    }
    enum err e = ERR_NONE;
    PGresult *res;
    while ((res = PQgetResult(db->conn)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            e = db_classify(db, res);
            snprintf(db->last_error, sizeof(db->last_error), "copy: %s", PQresultErrorMessage(res));
        }
        PQclear(res);
    }
    return e;
}

bool db_ping(struct db *db, double *latency_ms)
{
    double started = clock_ms();
    enum err e = db_exec(db, DB_RETRY_ON_RECONNECT, "SELECT 1", 0, NULL);
    *latency_ms = clock_ms() - started;
    return e == ERR_NONE;
}

double db_take_request_ms(struct db *db)
{
    double ms = db->request_ms;
    db->request_ms = 0;
    return ms;
}

const char *db_last_error(const struct db *db)
{
    return db->last_error;
}

void db_target(const struct db *db, char *out, size_t cap)
{
    const char *host = NULL, *hostaddr = NULL, *port = NULL;
    PQconninfoOption *opts = PQconninfoParse(db->conninfo, NULL);
    PQconninfoOption *defs = PQconndefaults();   /* PGHOST, PGPORT and the built-in defaults */
    for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++) {
        if (o->val == NULL || o->val[0] == '\0')
            continue;
        if (strcmp(o->keyword, "host") == 0)
            host = o->val;
        else if (strcmp(o->keyword, "hostaddr") == 0)
            hostaddr = o->val;
        else if (strcmp(o->keyword, "port") == 0)
            port = o->val;
    }
    for (PQconninfoOption *o = defs; o != NULL && o->keyword != NULL; o++) {
        if (o->val == NULL || o->val[0] == '\0')
            continue;
        if (host == NULL && hostaddr == NULL && strcmp(o->keyword, "host") == 0)
            host = o->val;
        else if (port == NULL && strcmp(o->keyword, "port") == 0)
            port = o->val;
    }
    snprintf(out, cap, "%s:%s", host ? host : hostaddr ? hostaddr : "/var/run/postgresql", port ? port : "5432");
    PQconninfoFree(opts);
    PQconninfoFree(defs);
}

/* The reason in last_error, without our "connect: "/"query: " tag, libpq's
 * "connection to server at ... failed: " and severity prefixes, first line. */
static void db_reason(const struct db *db, char *out, size_t cap)
{
    const char *r = db->last_error;
    const char *colon = strstr(r, ": ");
    if (colon != NULL && (strncmp(r, "connect", 7) == 0 || strncmp(r, "query", 5) == 0))
        r = colon + 2;
    const char *failed = strncmp(r, "connection to server", 20) == 0 ? strstr(r, " failed: ") : NULL;
    if (failed != NULL)
        r = failed + 9;
    static const char *const severities[] = {"FATAL:  ", "ERROR:  "};
    for (size_t i = 0; i < 2; i++)
        if (strncmp(r, severities[i], strlen(severities[i])) == 0)
            r += strlen(severities[i]);
    size_t n = strcspn(r, "\n");
    if (n == 0) {
        r = "no answer";
        n = strlen(r);
    }
    snprintf(out, cap, "%.*s", (int)n, r);
}

void db_write_tsv_field(FILE *out, const char *v, bool last)
{
    for (v = v != NULL ? v : "-"; *v != '\0'; v++)
        fputc((unsigned char)*v < 0x20 || *v == 0x7f ? ' ' : *v, out);
    fputc(last ? '\n' : '\t', out);
}

void db_write_tsv(const db_result *res, FILE *out)
{
    const PGresult *r = (const PGresult *)res;
    int cols = PQnfields(r), rows = PQntuples(r);
    for (int c = 0; c < cols; c++)
        db_write_tsv_field(out, PQfname(r, c), c + 1 == cols);
    for (int i = 0; i < rows; i++)
        for (int c = 0; c < cols; c++)
            db_write_tsv_field(out, PQgetisnull(r, i, c) ? NULL : PQgetvalue(r, i, c), c + 1 == cols);
}

const char *db_error_text(const struct db *db, enum err e, char *out, size_t cap)
{
    char reason[256];
    db_reason(db, reason, sizeof(reason));
    if (e == ERR_UNAVAILABLE) {
        char target[192];
        db_target(db, target, sizeof(target));
        snprintf(out, cap, "cannot reach PostgreSQL at %s: %s", target, reason);
    } else {
        snprintf(out, cap, "%s", reason);
    }
    return out;
}

/* ---- LISTEN/NOTIFY (the job runner's wake-up) ---- */

enum err db_listen(struct db *db, const char *channel)
{
    if (!db_ensure(db))
        return ERR_UNAVAILABLE;
    char *ident = PQescapeIdentifier(db->conn, channel, strlen(channel));
    if (ident == NULL) {
        db_note_error(db, "listen");
        return ERR_INTERNAL;
    }
    struct sqlbuf b;                    /* a long channel name is refused, never cut */
    sqlbuf_init(&b);
    sqlbuf_add(&b, "LISTEN ");
    sqlbuf_add(&b, ident);              /* quoted by libpq: LISTEN takes no parameter */
    PQfreemem(ident);
    return sqlbuf_exec(db, 0, &b);
}

int db_backend_pid(const struct db *db)
{
    return db_connected(db) ? PQbackendPID(db->conn) : 0;
}

static int db_drain_notifies(struct db *db)
{
    int n = 0;
    PGnotify *note;
    while ((note = PQnotifies(db->conn)) != NULL) {
        PQfreemem(note);
        n++;
    }
    return n;
}

int db_wait_notify(struct db *db, int timeout_ms)
{
    if (!db_connected(db))
        return -1;
    if (PQconsumeInput(db->conn) == 0) {
        db_note_error(db, "notify");
        return -1;
    }
    int n = db_drain_notifies(db);
    if (n > 0 || timeout_ms <= 0)
        return n;
    struct pollfd pfd = {.fd = PQsocket(db->conn), .events = POLLIN};
    if (pfd.fd < 0)
        return -1;
    int rc = poll(&pfd, 1, timeout_ms);
    if (rc <= 0)
        return 0;                      /* timeout, or a signal: the caller checks its flags */
    if (PQconsumeInput(db->conn) == 0) {
        db_note_error(db, "notify");
        return -1;
    }
    return db_drain_notifies(db);
}

const char *db_param_i64_into(char *buf, size_t cap, int64_t v)
{
    snprintf(buf, cap, "%" PRId64, v);
    return buf;
}
