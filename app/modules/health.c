/* health: see health.h. */
#define _GNU_SOURCE
#include "health.h"
#include "../core/clock.h"
#include "../core/config.h"
#include "../core/module.h"
#include "../cache/cache.h"
#include "../core/request.h"
#include "../core/response.h"
#include "../core/shm.h"
#include "../store/db.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct health_cache {
    uint64_t checked_mono_ms;     /* 0 = never */
    bool pg_ok, mc_ok;
    double pg_ms, mc_ms;
    char body[4096];              /* the serialised answer (16 servers fit) */
};

static struct json_object *health_check_json(bool ok, double ms)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "ok", json_object_new_boolean(ok));
    char text[32];
    snprintf(text, sizeof(text), "%.3f", ms);
    json_object_object_add(o, "latency_ms", json_object_new_double_s(ms, text));
    return o;
}

/* checks.memcached: ok only when every server of the pool answers (one
 * down is `degraded`, naming it in servers[]); latency_ms is the sum. */
static struct json_object *health_memcached(struct tally_ctx *ctx, struct health_cache *hc)
{
    struct cache_server_ping ping[CACHE_SERVERS_MAX];
    int n = cache_ping_each(ctx->cache, ping, CACHE_SERVERS_MAX);
    int up = 0;
    hc->mc_ms = 0;
    struct json_object *servers = json_object_new_array();
    for (int i = 0; i < n; i++) {
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "server", json_object_new_string(ping[i].server));
        json_object_object_add(o, "state", json_object_new_string(ping[i].up ? "up" : "down"));
        json_object_array_add(servers, o);
        hc->mc_ms += ping[i].latency_ms;
        up += ping[i].up;
    }
    hc->mc_ok = n > 0 && up == n;
    struct json_object *check = health_check_json(hc->mc_ok, hc->mc_ms);
    json_object_object_add(check, "servers", servers);
    return check;
}

/* Re-probes when the cached result is older than health_cache_ms and keeps
 * the serialised body, so a cached answer costs no JSON work. */
static void health_refresh(struct tally_ctx *ctx, struct health_cache *hc)
{
    hc->pg_ok = db_ping(ctx->db, &hc->pg_ms);
    struct json_object *memcached = health_memcached(ctx, hc);
    hc->checked_mono_ms = clock_mono_ms();
    const char *status = !hc->pg_ok ? "down" : !hc->mc_ok ? "degraded" : "ok";
    struct json_object *root = json_object_new_object();
    struct json_object *checks = json_object_new_object();
    json_object_object_add(root, "status", json_object_new_string(status));
    json_object_object_add(root, "version", json_object_new_string(PACKAGE_VERSION));
    json_object_object_add(checks, "postgres", health_check_json(hc->pg_ok, hc->pg_ms));
    json_object_object_add(checks, "memcached", memcached);
    json_object_object_add(root, "checks", checks);
    snprintf(hc->body, sizeof(hc->body), "%s", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
    json_object_put(root);
}

static int health_get(struct request *req, struct response *res)
{
    struct tally_ctx *ctx = req->ctx;
    struct health_cache *hc = module_state(ctx, "health");
    if (hc == NULL)
        return ERR_INTERNAL;
    uint64_t now = clock_mono_ms();
    if (hc->checked_mono_ms == 0 || now - hc->checked_mono_ms >= (uint64_t)ctx->cfg->health_cache_ms)
        health_refresh(ctx, hc);
    response_header(res, "Cache-Control", "no-store");
    response_body(res, hc->pg_ok ? 200 : 503, "application/json", hc->body, strlen(hc->body));
    return ERR_NONE;
}

static int health_init_child(struct tally_ctx *ctx, void **state)
{
    (void)ctx;
    *state = calloc(1, sizeof(struct health_cache));
    return *state != NULL ? 0 : -1;
}

static void health_free_child(struct tally_ctx *ctx, void *state)
{
    (void)ctx;
    free(state);
}

static const struct route health_routes[] = {
    {"GET", "/api/v1/health", health_get, ROUTE_PUBLIC},
};

const struct tally_module health_module = {
    .name = "health",
    .routes = health_routes,
    .route_count = sizeof(health_routes) / sizeof(health_routes[0]),
    .init_child = health_init_child,
    .free_child = health_free_child,
};
