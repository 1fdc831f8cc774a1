/* metrics: GET /metrics, the Prometheus text exposition (format 0.0.4) of
 * the shared-memory counters, so every answer is the total of all workers.
 * Route labels are route patterns (bounded cardinality), never raw paths. */
#ifndef TALLY_METRICS_H
#define TALLY_METRICS_H

#include <stddef.h>

#include "../core/module.h"
#include "../core/router.h"

extern const struct tally_module metrics_module;

#endif
