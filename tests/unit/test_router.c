/* Unit tests: router matching, path parameters, 404 vs 405, literal
 * segments over parameters. */
#include "check.h"
#include "core/router.h"

static int h_dummy(struct request *req, struct response *res)
{
    (void)req;
    (void)res;
    return 0;
}

static const struct route test_routes[] = {
    {"GET", "/api/v1/health", h_dummy, ROUTE_PUBLIC},
    {"POST", "/api/v1/users", h_dummy, ROUTE_ADMIN},
    {"GET", "/api/v1/users/{id}", h_dummy, ROUTE_USER},
    {"GET", "/api/v1/users/{id}/transactions", h_dummy, ROUTE_USER},
    {"POST", "/api/v1/users/{id}/transactions", h_dummy, ROUTE_USER},
    {"GET", "/api/v1/users/{id}/transactions/summary", h_dummy, ROUTE_USER},
    {"GET", "/api/v1/users/{id}/metrics/{type}", h_dummy, ROUTE_USER},
};

/* Parameter routes first, on purpose: the order must not matter. */
static const struct route literal_routes[] = {
    {"GET", "/api/v1/opportunities/{opportunity_id}", h_dummy, ROUTE_USER},
    {"PATCH", "/api/v1/opportunities/{opportunity_id}", h_dummy, ROUTE_USER},
    {"DELETE", "/api/v1/opportunities/{opportunity_id}", h_dummy, ROUTE_USER},
    {"GET", "/api/v1/opportunities/stats", h_dummy, ROUTE_USER},
    {"GET", "/api/v1/opportunities/preferences", h_dummy, ROUTE_USER},
    {"PUT", "/api/v1/opportunities/preferences", h_dummy, ROUTE_USER},
    {"POST", "/api/v1/k/{b}/z", h_dummy, ROUTE_USER},
    {"GET", "/api/v1/k/x/{c}", h_dummy, ROUTE_USER},
};

static void param_is(const struct route_match *m, const char *name, const char *want)
{
    const struct route_param *p = router_param(m, name);
    CHECK(p != NULL);
    if (p == NULL)
        return;
    CHECK_INT(p->value_len, strlen(want));
    CHECK(strncmp(p->value, want, p->value_len) == 0);
}

int main(void)
{
    struct router r;
    struct route_match m;
    router_init(&r);
    CHECK_INT(router_add(&r, test_routes, sizeof(test_routes) / sizeof(test_routes[0])), 0);

    CHECK_INT(router_match(&r, "GET", "/api/v1/health", &m), ROUTER_FOUND);
    CHECK_STR(m.route->pattern, "/api/v1/health");
    CHECK_INT(m.route_index, 0);
    CHECK_INT(m.param_count, 0);

    CHECK_INT(router_match(&r, "GET", "/api/v1/users/42", &m), ROUTER_FOUND);
    CHECK_STR(m.route->pattern, "/api/v1/users/{id}");
    param_is(&m, "id", "42");
    CHECK(router_param(&m, "type") == NULL);

    CHECK_INT(router_match(&r, "GET", "/api/v1/users/7/transactions/summary", &m), ROUTER_FOUND);
    CHECK_STR(m.route->pattern, "/api/v1/users/{id}/transactions/summary");

    CHECK_INT(router_match(&r, "POST", "/api/v1/users/7/transactions", &m), ROUTER_FOUND);
    CHECK_STR(m.route->method, "POST");

    CHECK_INT(router_match(&r, "GET", "/api/v1/users/9/metrics/monthly_total", &m), ROUTER_FOUND);
    param_is(&m, "id", "9");
    param_is(&m, "type", "monthly_total");

    /* Params match any one segment; the handler validates them. */
    CHECK_INT(router_match(&r, "GET", "/api/v1/users/abc", &m), ROUTER_FOUND);
    param_is(&m, "id", "abc");

    /* HEAD is served by GET routes. */
    CHECK_INT(router_match(&r, "HEAD", "/api/v1/health", &m), ROUTER_FOUND);

    /* 405 lists the allowed methods. */
    CHECK_INT(router_match(&r, "DELETE", "/api/v1/users/7/transactions", &m), ROUTER_METHOD_NOT_ALLOWED);
    CHECK_STR(m.allow, "GET, POST");
    CHECK_INT(router_match(&r, "GET", "/api/v1/users", &m), ROUTER_METHOD_NOT_ALLOWED);
    CHECK_STR(m.allow, "POST");

    /* 404: unknown paths, empty segments, trailing slash, prefixes. */
    CHECK_INT(router_match(&r, "GET", "/api/v1/nothing", &m), ROUTER_NOT_FOUND);
    CHECK_INT(router_match(&r, "GET", "/api/v1/users/", &m), ROUTER_NOT_FOUND);
    CHECK_INT(router_match(&r, "GET", "/api/v1/users//transactions", &m), ROUTER_NOT_FOUND);
    CHECK_INT(router_match(&r, "GET", "/api/v1/health/", &m), ROUTER_NOT_FOUND);
    CHECK_INT(router_match(&r, "GET", "/api/v1", &m), ROUTER_NOT_FOUND);
    CHECK_INT(router_match(&r, "GET", "/api/v1/users/1/transactions/summary/x", &m), ROUTER_NOT_FOUND);
    CHECK_INT(router_match(&r, "GET", "", &m), ROUTER_NOT_FOUND);
    CHECK_INT(router_match(&r, "GET", "api/v1/health", &m), ROUTER_NOT_FOUND);

    /* A literal segment beats a parameter, whatever the order in the table
     * and whatever the method: a literal path with other methods is a 405
     * with its own Allow, never a call of the parameter route. */
    struct router lit;
    router_init(&lit);
    CHECK_INT(router_add(&lit, literal_routes, sizeof(literal_routes) / sizeof(literal_routes[0])), 0);
    CHECK_INT(router_match(&lit, "GET", "/api/v1/opportunities/stats", &m), ROUTER_FOUND);
    CHECK_STR(m.route->pattern, "/api/v1/opportunities/stats");
    CHECK_INT(m.route_index, 3);
    CHECK_INT(m.param_count, 0);
    CHECK_INT(router_match(&lit, "HEAD", "/api/v1/opportunities/stats", &m), ROUTER_FOUND);
    CHECK_STR(m.route->pattern, "/api/v1/opportunities/stats");
    CHECK_INT(router_match(&lit, "PATCH", "/api/v1/opportunities/stats", &m), ROUTER_METHOD_NOT_ALLOWED);
    CHECK_STR(m.allow, "GET");
    CHECK(m.route == NULL);
    CHECK_INT(m.param_count, 0);
    CHECK_INT(router_match(&lit, "DELETE", "/api/v1/opportunities/preferences", &m), ROUTER_METHOD_NOT_ALLOWED);
    CHECK_STR(m.allow, "GET, PUT");
    CHECK_INT(router_match(&lit, "PUT", "/api/v1/opportunities/preferences", &m), ROUTER_FOUND);
    CHECK_STR(m.route->pattern, "/api/v1/opportunities/preferences");
    /* other ids still reach the parameter routes, with their parameter */
    CHECK_INT(router_match(&lit, "PATCH", "/api/v1/opportunities/12", &m), ROUTER_FOUND);
    CHECK_STR(m.route->pattern, "/api/v1/opportunities/{opportunity_id}");
    CHECK_STR(m.route->method, "PATCH");
    param_is(&m, "opportunity_id", "12");
    CHECK_INT(router_match(&lit, "PUT", "/api/v1/opportunities/12", &m), ROUTER_METHOD_NOT_ALLOWED);
    CHECK_STR(m.allow, "GET, PATCH, DELETE");
    /* "statsx" and "stat" are not the literal */
    CHECK_INT(router_match(&lit, "PATCH", "/api/v1/opportunities/statsx", &m), ROUTER_FOUND);
    param_is(&m, "opportunity_id", "statsx");
    CHECK_INT(router_match(&lit, "DELETE", "/api/v1/opportunities/stat", &m), ROUTER_FOUND);
    /* the first segment where two patterns differ decides: {a}/x/{c} beats {a}/{b}/z */
    CHECK_INT(router_match(&lit, "GET", "/api/v1/k/x/z", &m), ROUTER_FOUND);
    CHECK_STR(m.route->pattern, "/api/v1/k/x/{c}");
    param_is(&m, "c", "z");
    CHECK(router_param(&m, "b") == NULL);
    CHECK_INT(router_match(&lit, "POST", "/api/v1/k/x/z", &m), ROUTER_METHOD_NOT_ALLOWED);
    CHECK_STR(m.allow, "GET");
    CHECK_INT(router_match(&lit, "POST", "/api/v1/k/y/z", &m), ROUTER_FOUND);
    CHECK_STR(m.route->pattern, "/api/v1/k/{b}/z");
    param_is(&m, "b", "y");
    /* unrelated paths are still 404 */
    CHECK_INT(router_match(&lit, "GET", "/api/v1/opportunities/stats/x", &m), ROUTER_NOT_FOUND);

    /* The table is bounded. */
    struct router full;
    router_init(&full);
    int added = 0;
    while (router_add(&full, test_routes, 1) == 0)
        added++;
    CHECK_INT(added, LIMIT_ROUTES);
    CHECK_DONE();
}
