/* debug: see debug.h. */
#define _GNU_SOURCE
#include "debug.h"
#include "../core/module.h"
#include "../core/parse.h"
#include "../core/request.h"
#include "../core/response.h"

#include <json-c/json.h>
#include <string.h>
#include <time.h>

#define DEBUG_SLEEP_MAX_MS 60000

static int debug_sleep(struct request *req, struct response *res)
{
    const char *v = request_query(req, "ms");
    int64_t ms;
    if (v == NULL || parse_int64(v, strlen(v), 0, DEBUG_SLEEP_MAX_MS, &ms) != 0)
        return request_fail(req, ERR_BAD_REQUEST, "ms", "ms must be an integer from 0 to %d", DEBUG_SLEEP_MAX_MS);
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "slept_ms", json_object_new_int64(ms));
    return response_json(res, 200, o);
}

static const struct route debug_routes[] = {
    {"GET", "/api/v1/debug/sleep", debug_sleep, ROUTE_ADMIN},
};

const struct tally_module debug_module = {
    .name = "debug",
    .routes = debug_routes,
    .route_count = sizeof(debug_routes) / sizeof(debug_routes[0]),
    .debug_only = true,
};
