/* sqlbuf: a statement built piece by piece that cannot overflow or drift.
 *
 * A fixed-capacity buffer (SQLBUF_BYTES of SQL, SQLBUF_MAX_PARAMS text
 * parameters) in the caller's frame. Text is appended as given (static SQL
 * only: never user input); a value is appended as its "$N" placeholder and
 * bound in the same call, so the numbers in the text and the params array
 * always agree. Any failure (too long, too many parameters, a reference to
 * no parameter) sets a sticky error: later appends do nothing, and
 * sqlbuf_query/sqlbuf_exec refuse to run the statement (ERR_INTERNAL, one
 * log line), so a truncated statement is never sent. The struct holds
 * pointers into itself (integer parameters): do not copy it once filled. */
#ifndef TALLY_SQLBUF_H
#define TALLY_SQLBUF_H

#include <stdint.h>

#include "db.h"

#define SQLBUF_BYTES 4096
#define SQLBUF_MAX_PARAMS 16

enum sqlbuf_error {
    SQLBUF_OK = 0,
    SQLBUF_TOO_LONG,              /* the text would not fit in SQLBUF_BYTES - 1 */
    SQLBUF_TOO_MANY_PARAMS,       /* more than SQLBUF_MAX_PARAMS values */
    SQLBUF_NO_SUCH_PARAM,         /* sqlbuf_ref to a parameter not bound */
};

struct sqlbuf {
    char sql[SQLBUF_BYTES];
    size_t len;
    const char *params[SQLBUF_MAX_PARAMS];
    char ints[SQLBUF_MAX_PARAMS][DB_INT64_BYTES];   /* storage of the integer parameters */
    int nparams;
    enum sqlbuf_error error;      /* sticky: the first failure */
};

void sqlbuf_init(struct sqlbuf *b);
/* Appends SQL text (static text of the program, never a value). */
void sqlbuf_add(struct sqlbuf *b, const char *sql);
/* Appends an integer literal (LIMIT 51): a number cannot inject. */
void sqlbuf_add_int(struct sqlbuf *b, int64_t v);
/* Binds value (NULL = SQL NULL; it must outlive the statement) and appends
 * its "$N". Returns N, or 0 after a failure. */
int sqlbuf_text(struct sqlbuf *b, const char *value);
/* The same for an integer, kept as text inside b. */
int sqlbuf_i64(struct sqlbuf *b, int64_t v);
/* Appends "$n" of a parameter bound before (1..nparams). */
void sqlbuf_ref(struct sqlbuf *b, int n);
/* Appends sql where every '?' is the "$N" of value, bound once: a condition
 * that uses the same value more than once. */
void sqlbuf_add_with(struct sqlbuf *b, const char *sql, const char *value);
/* NULL if b is whole, else what went wrong (static text). */
const char *sqlbuf_problem(const struct sqlbuf *b);
/* db_query/db_exec of the statement; a failed buffer is never run:
 * ERR_INTERNAL and a log line naming the problem. */
db_result *sqlbuf_query(struct db *db, enum err *e, int flags, const struct sqlbuf *b);
enum err sqlbuf_exec(struct db *db, int flags, const struct sqlbuf *b);

#endif
