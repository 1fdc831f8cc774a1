/* migrate: the schema migrations runner. Files in sql_dir are named
 * NNN_name.up.sql / NNN_name.down.sql; applied versions are recorded in
 * schema_migrations. Each migration runs in its own transaction together
 * with its bookkeeping row, and the whole run holds an advisory lock so two
 * runners never interleave. Progress goes to `out`. */
#ifndef TALLY_MIGRATE_H
#define TALLY_MIGRATE_H

#include <stdio.h>

struct db;

int migrate_up(struct db *db, const char *sql_dir, FILE *out);
/* Reverts the `steps` most recent migrations (all of them if steps < 0). */
int migrate_down(struct db *db, const char *sql_dir, int steps, FILE *out);
int migrate_status(struct db *db, const char *sql_dir, FILE *out);

#endif
