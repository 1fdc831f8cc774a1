/* jobs_cli: the `tallyctl worker` and `tallyctl jobs` commands. argv[0]
 * is the command name. Return an exit status (0 ok, 1 failure, 2 usage). */
#ifndef TALLY_JOBS_CLI_H
#define TALLY_JOBS_CLI_H

struct config;
struct db;

/* worker [--once] [--drain] [--name NAME]: the runner loop, standalone. */
int jobs_cli_worker(const struct config *cfg, int argc, char **argv);
/* jobs list [--status S] [--kind K] [--limit N] | enqueue KIND [--payload JSON]
 * [--priority P] [--max-attempts N] | retry ID */
int jobs_cli_jobs(const struct config *cfg, struct db *db, int argc, char **argv);

#endif
