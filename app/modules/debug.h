/* debug: routes that exist only when the config says debug_routes = 1
 * (the test stack): a request that sleeps, to exercise graceful stop, the
 * slow-request log and the master's request timeout. Admin only. */
#ifndef TALLY_DEBUG_H
#define TALLY_DEBUG_H

#include <stddef.h>

#include "../core/router.h"

extern const struct route debug_routes[];
extern const size_t debug_route_count;

#endif
