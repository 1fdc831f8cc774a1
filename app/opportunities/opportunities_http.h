/* opportunities_http: the routes of /api/v1/opportunities (see
 * opportunities_http.c). */
#ifndef TALLY_OPPORTUNITIES_HTTP_H
#define TALLY_OPPORTUNITIES_HTTP_H

#include <stddef.h>

#include "../core/router.h"

#define OPPORTUNITIES_ROUTE_COUNT 10   /* the API, then the two dashboard pages */
extern const struct route opportunities_routes[OPPORTUNITIES_ROUTE_COUNT];
extern const size_t opportunities_route_count;

/* The module table entry (opportunities_module.c). */
struct tally_module;
extern const struct tally_module opportunities_module;

#endif
