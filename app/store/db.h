/* db: the worker's PostgreSQL connection, the only code that calls libpq.
 * The connection is opened lazily on first use and re-opened after a
 * failure, so PostgreSQL going away turns into ERR_UNAVAILABLE (503) and
 * coming back needs no restart. Every statement is parameterised
 * (PQexecParams, text parameters). Per-request time is accumulated for the
 * log line; totals go to the shared counters. */
#ifndef TALLY_DB_H
#define TALLY_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../core/errors.h"

struct pg_result;                       /* libpq's PGresult */
typedef struct pg_result db_result;
struct shm_db_stats;
struct db;

/* Flags for db_query. */
#define DB_RETRY_ON_RECONNECT 1         /* statement is safe to re-run after a lost connection */

struct db *db_create(const char *conninfo, struct shm_db_stats *stats);
/* Per-statement deadline for db_query/db_exec (0, the default: none). A
 * statement without an answer by then gives ERR_UNAVAILABLE and the
 * connection is dropped; it is never re-run. */
void db_set_timeout(struct db *db, int timeout_ms);
void db_destroy(struct db *db);
/* Runs sql with nparams text parameters (NULL = SQL NULL). Returns the
 * result (caller clears it with db_clear) or NULL with *err set:
 * ERR_UNAVAILABLE when the server cannot be reached, ERR_CONFLICT on a
 * unique violation, ERR_INTERNAL otherwise (details logged). */
db_result *db_query(struct db *db, enum err *err, int flags, const char *sql, int nparams,
                    const char *const *params);
/* Like db_query for statements whose result is not needed. */
enum err db_exec(struct db *db, int flags, const char *sql, int nparams, const char *const *params);
/* An int64 as a text parameter in buf (a char array of at least
 * DB_INT64_BYTES, checked at compile time); returns buf. */
#define DB_INT64_BYTES 21
#define db_param_i64(buf, v)                                                                        \
    (__extension__({                                                                               \
        _Static_assert(sizeof(buf) >= DB_INT64_BYTES, "db_param_i64: buffer too small");        \
        db_param_i64_into((buf), sizeof(buf), (v));                                                \
    }))
const char *db_param_i64_into(char *buf, size_t cap, int64_t v);
void db_clear(db_result *res);
int db_rows(const db_result *res);
const char *db_value(const db_result *res, int row, int col);   /* "" for NULL */
bool db_is_null(const db_result *res, int row, int col);
int64_t db_int64(const db_result *res, int row, int col);        /* 0 for NULL */
long db_affected(const db_result *res);
/* Runs a multi-statement script (migrations only: static SQL from sql/). */
enum err db_script(struct db *db, const char *sql, char *errbuf, size_t errcap);
/* COPY ... FROM STDIN: begin, feed rows, end. */
enum err db_copy_begin(struct db *db, const char *copy_sql);
enum err db_copy_data(struct db *db, const char *data, size_t len);
enum err db_copy_end(struct db *db);
/* SELECT 1 round trip; fills latency. */
bool db_ping(struct db *db, double *latency_ms);
bool db_connected(const struct db *db);
double db_take_request_ms(struct db *db);
const char *db_last_error(const struct db *db);
/* "HOST:PORT" the conninfo points at (PQconninfoParse; libpq's defaults for
 * what it leaves out): for messages. */
void db_target(const struct db *db, char *out, size_t cap);
/* The last failure in one plain sentence, for the command line: for
 * ERR_UNAVAILABLE "cannot reach PostgreSQL at HOST:PORT: <libpq reason>",
 * else the server's message without its severity. Returns out. */
const char *db_error_text(const struct db *db, enum err e, char *out, size_t cap);
/* A result as tab-separated lines for the command line: a header of the
 * column names, then the rows; NULL is "-", control characters become spaces. */
void db_write_tsv(const db_result *res, FILE *out);
/* One field of such a line (NULL: "-"), then a tab, or a newline if last. */
void db_write_tsv_field(FILE *out, const char *v, bool last);
/* LISTEN on channel (an identifier, quoted here). A reconnect loses it:
 * compare db_backend_pid() before and after to know when to LISTEN again. */
enum err db_listen(struct db *db, const char *channel);
/* Waits up to timeout_ms (0 = just check) for notifications on the LISTENing
 * connection and consumes them. Returns how many arrived (0 on timeout or a
 * signal), -1 if the connection is gone. */
int db_wait_notify(struct db *db, int timeout_ms);
/* PostgreSQL backend pid of the open connection, 0 if none. */
int db_backend_pid(const struct db *db);

#endif
