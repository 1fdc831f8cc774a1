/* health: GET /api/v1/health. The result of the PostgreSQL and memcached
 * probes is cached per worker for health_cache_ms (default 1 s) so that a
 * load balancer polling it costs almost nothing. */
#ifndef TALLY_HEALTH_H
#define TALLY_HEALTH_H

#include <stddef.h>

#include "../core/module.h"
#include "../core/router.h"

extern const struct tally_module health_module;

#endif
