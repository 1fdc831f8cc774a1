/* routes: the list of module route tables. Adding a module = one line. */
#include "routes.h"
#include "admin.h"
#include "admin_auth.h"
#include "assistant.h"
#include "context.h"
#include "debug.h"
#include "finance.h"
#include "health.h"
#include "jobs_http.h"
#include "metrics.h"
#include "precompute.h"
#include "profiles.h"
#include "../datasets/datasets_http.h"
#include "../core/config.h"
#include "../core/router.h"

int routes_register(struct router *r, const struct config *cfg)
{
    router_init(r);
    if (router_add(r, health_routes, health_route_count) != 0 ||
        router_add(r, finance_routes, finance_route_count) != 0 ||
        router_add(r, assistant_routes, assistant_route_count) != 0 ||
        router_add(r, metrics_routes, metrics_route_count) != 0 ||
        router_add(r, jobs_http_routes, jobs_http_route_count) != 0 ||
        router_add(r, profiles_routes, profiles_route_count) != 0 ||
        router_add(r, precompute_routes, precompute_route_count) != 0 ||
        router_add(r, context_routes, context_route_count) != 0 ||
        router_add(r, admin_auth_routes, admin_auth_route_count) != 0 ||
        router_add(r, admin_routes, admin_route_count) != 0 ||
        router_add(r, datasets_routes, datasets_route_count) != 0)
        return -1;
    if (cfg->debug_routes && router_add(r, debug_routes, debug_route_count) != 0)
        return -1;
    return 0;
}
