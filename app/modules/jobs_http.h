/* jobs_http: the admin API of the job queue (API.md "Admin and ops"):
 * list with filters and a cursor, enqueue, retry a dead or failed job.
 * All routes need an admin token. Queue statements live in jobs.c. */
#ifndef TALLY_JOBS_HTTP_H
#define TALLY_JOBS_HTTP_H

#include <stddef.h>

#include "../core/router.h"

extern const struct route jobs_http_routes[];
extern const size_t jobs_http_route_count;

#endif
