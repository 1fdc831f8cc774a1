/* admin: the dashboard's module line. It owns the per-worker state (the
 * compiled templates, checked by the master at start; a 1 s cache of
 * memcached server stats), the HTML error pages under /admin/, and the
 * route table of the admin's own pages and JSON twins, which live by
 * concern in admin_status.c (overview, workers), admin_cache.c (cache
 * stats, flush), admin_users.c and admin_jobs.c. The page frame every
 * domain's pages use is admin_page.c; login, sessions and CSRF are
 * admin_auth.c's. Invariants: every page handler checks the session first;
 * every POST goes through admin_auth_post (session + CSRF). */
#define _GNU_SOURCE
#include "admin_internal.h"
#include "templates.h"
#include "../core/config.h"
#include "../core/log.h"
#include "../core/module.h"
#include "../core/router.h"

#include <json-c/json.h>
#include <stdlib.h>

struct templates *admin_templates(struct tally_ctx *ctx)
{
    struct admin_state *st = module_state(ctx, "admin");
    return st != NULL ? st->templates : NULL;
}

/* The master checks the templates once (tallyd refuses to start on a
 * syntax error); each worker compiles its own copy, so SIGHUP reloads. */
static int admin_init_master(const struct config *cfg, char *err, size_t err_cap)
{
    struct templates *t = templates_load(cfg->templates_dir, err, err_cap);
    if (t == NULL)
        return -1;
    templates_free(t);
    return 0;
}

static int admin_init_child(struct tally_ctx *ctx, void **state)
{
    struct admin_state *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return -1;
    if (ctx->kind == TALLY_CTX_WORKER) {
        char terr[256];
        st->templates = templates_load(ctx->cfg->templates_dir, terr, sizeof(terr));
        if (st->templates == NULL)   /* the API still works; dashboard pages answer 500 */
            log_error("admin: templates: %s", terr);
    }
    *state = st;
    return 0;
}

static void admin_free_child(struct tally_ctx *ctx, void *state)
{
    (void)ctx;
    struct admin_state *st = state;
    if (st != NULL)
        templates_free(st->templates);
    free(st);
}

/* Errors under /admin/ (an unknown page, a wrong method) in the
 * dashboard's layout rather than as JSON. */
static int admin_error_page(struct request *req, struct response *res, int status, const char *message)
{
    struct admin_session s;
    if (admin_auth_session(req, &s) != ERR_NONE)   /* logged out: the plain page, no navigation */
        return admin_auth_error_page(req, res, status, message);
    struct json_object *d = json_object_new_object();
    admin_page_add(d, "status", json_object_new_int(status));
    admin_page_add(d, "message", json_object_new_string(message));
    return admin_page_render_status(req, res, status, &s, "error", status == 404 ? "Not found" : "Error", d, NULL);
}

static const struct route admin_routes[] = {
    {"GET", "/admin/", admin_status_page, ROUTE_PUBLIC},
    {"GET", "/admin/cache", admin_cache_page, ROUTE_PUBLIC},
    {"POST", "/admin/cache/flush", admin_cache_form_flush, ROUTE_PUBLIC},
    {"GET", "/admin/users", admin_users_page, ROUTE_PUBLIC},
    {"GET", "/admin/users/{id}", admin_users_page_one, ROUTE_PUBLIC},
    {"GET", "/admin/jobs", admin_jobs_page, ROUTE_PUBLIC},
    {"POST", "/admin/jobs/{id}/retry", admin_jobs_form_retry, ROUTE_PUBLIC},
    {"GET", "/api/v1/admin/cache/stats", admin_cache_api_stats, ROUTE_ADMIN},
    {"POST", "/api/v1/admin/cache/flush", admin_cache_api_flush, ROUTE_ADMIN},
    {"GET", "/api/v1/admin/workers", admin_status_api_workers, ROUTE_ADMIN},
    {"GET", "/api/v1/admin/overview", admin_status_api_overview, ROUTE_ADMIN},
};

const struct tally_module admin_module = {
    .name = "admin",
    .routes = admin_routes,
    .route_count = sizeof(admin_routes) / sizeof(admin_routes[0]),
    .error_page_prefix = "/admin/",
    .error_page = admin_error_page,
    .init_master = admin_init_master,
    .init_child = admin_init_child,
    .free_child = admin_free_child,
};
