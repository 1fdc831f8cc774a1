/* metrics: GET /metrics, the Prometheus text exposition (format 0.0.4) of
 * the shared-memory counters, so every answer is the total of all workers.
 * Route labels are route patterns (bounded cardinality), never raw paths. */
#ifndef TALLY_METRICS_H
#define TALLY_METRICS_H

#include <stddef.h>

#include "../core/router.h"

extern const struct route metrics_routes[];
extern const size_t metrics_route_count;

#endif
