/* debug: routes that exist only when the config says debug_routes = 1
 * (the test stack): a request that sleeps, to exercise graceful stop, the
 * slow-request log and the master's request timeout. Admin only. */
#ifndef TALLY_DEBUG_H
#define TALLY_DEBUG_H

#include <stddef.h>

#include "../core/module.h"
#include "../core/router.h"

extern const struct tally_module debug_module;

#endif
