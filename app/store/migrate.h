/* migrate: the schema migrations runner. Files in sql_dir are named
 * NNN_name.up.sql / NNN_name.down.sql; applied versions are recorded in
 * schema_migrations. Each migration runs in its own transaction together
 * with its bookkeeping row under a transaction-level advisory lock (so it
 * holds through PgBouncer in transaction mode), re-checking schema_migrations
 * under the lock: two runners never interleave, the second skips what the
 * first did. Progress goes to `out`. */
#ifndef TALLY_MIGRATE_H
#define TALLY_MIGRATE_H

#include <stdio.h>

struct db;

int migrate_up(struct db *db, const char *sql_dir, FILE *out);
/* Reverts the `steps` most recent migrations (all of them if steps < 0). */
int migrate_down(struct db *db, const char *sql_dir, int steps, FILE *out);
int migrate_status(struct db *db, const char *sql_dir, FILE *out);

#endif
