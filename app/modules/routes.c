/* routes: the list of module route tables. Adding a module = one line. */
#include "routes.h"
#include "assistant.h"
#include "debug.h"
#include "finance.h"
#include "health.h"
#include "jobs_http.h"
#include "metrics.h"
#include "../core/config.h"
#include "../core/router.h"

int routes_register(struct router *r, const struct config *cfg)
{
    router_init(r);
    if (router_add(r, health_routes, health_route_count) != 0 ||
        router_add(r, finance_routes, finance_route_count) != 0 ||
        router_add(r, assistant_routes, assistant_route_count) != 0 ||
        router_add(r, metrics_routes, metrics_route_count) != 0 ||
        router_add(r, jobs_http_routes, jobs_http_route_count) != 0)
        return -1;
    if (cfg->debug_routes && router_add(r, debug_routes, debug_route_count) != 0)
        return -1;
    return 0;
}
