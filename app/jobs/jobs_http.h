/* jobs_http: the admin API of the job queue (API.md "Admin and ops"):
 * list with filters and a cursor, enqueue, retry a dead or failed job.
 * All routes need an admin token. Queue statements live in jobs.c. */
#ifndef TALLY_JOBS_HTTP_H
#define TALLY_JOBS_HTTP_H

#include <stddef.h>

#include "../core/module.h"
#include "../core/router.h"

extern const struct tally_module jobs_module;
extern const struct tally_module jobs_debug_module;   /* sleep, fail: debug_routes = 1 only */

#endif
