/* jobs_cli: the `tallyctl worker` and `tallyctl jobs list | enqueue |
 * retry | schedules` commands, the jobs module's `commands` in the module
 * table (jobs_module is in jobs_http.c). Input is checked with the same
 * rules and words as the admin API. */
#ifndef TALLY_JOBS_CLI_H
#define TALLY_JOBS_CLI_H

#include "../core/module.h"

#define JOBS_CLI_COMMANDS 5
extern const struct module_command jobs_cli_commands[JOBS_CLI_COMMANDS];

#endif
