/* router: method + path pattern -> route. Patterns are literal segments
 * and whole-segment parameters (`/api/v1/users/{id}/transactions`). The
 * route table is a plain array per module, registered at start; matching
 * walks it in order (a few dozen entries: no tree needed). Pure: no I/O. */
#ifndef TALLY_ROUTER_H
#define TALLY_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "limits.h"

struct request;
struct response;

enum route_auth { ROUTE_PUBLIC, ROUTE_USER, ROUTE_ADMIN };
/* Flags or'ed into a route's auth: ROUTE_STREAM_BODY hands the handler the
 * body as a bounded stream (request_body_read) instead of reading it whole
 * into the arena first. route_auth_of() strips them. */
#define ROUTE_STREAM_BODY 0x100
#define ROUTE_AUTH_MASK   0x0ff
static inline enum route_auth route_auth_of(int auth) { return (enum route_auth)(auth & ROUTE_AUTH_MASK); }

typedef int (*route_handler_fn)(struct request *req, struct response *res);

struct route {
    const char *method;          /* "GET", "POST", ... */
    const char *pattern;         /* also the route label in logs and /metrics */
    route_handler_fn handler;
    int auth;                    /* enum route_auth (ROUTE_USER: admin, or a user token whose id equals {id}),
                                  * | ROUTE_STREAM_BODY */
};

struct router {
    const struct route *routes[LIMIT_ROUTES];
    int count;
};

struct route_param {
    const char *name;            /* points into the pattern */
    size_t name_len;
    const char *value;           /* points into the path */
    size_t value_len;
};

enum router_result { ROUTER_FOUND, ROUTER_NOT_FOUND, ROUTER_METHOD_NOT_ALLOWED };

struct route_match {
    const struct route *route;
    int route_index;             /* index in the router, for per-route counters */
    int param_count;
    struct route_param params[LIMIT_PATH_PARAMS];
    char allow[64];              /* for 405: methods that match the path */
};

void router_init(struct router *r);
int router_add(struct router *r, const struct route *routes, size_t count);
enum router_result router_match(const struct router *r, const char *method, const char *path,
                                 struct route_match *m);
/* Finds a path parameter by name; NULL if absent. */
const struct route_param *router_param(const struct route_match *m, const char *name);

#endif
