/* learning_admin: the learning dashboard page (hint sources and segments
 * as charts, the families table, a host search showing one profile's
 * per-style stats at each level with its explanation) and the button that
 * runs the aggregator (CSRF). Figures come from the learning services; the
 * frame is app/admin/admin_page.h. */
#define _GNU_SOURCE
#include "learning.h"
#include "../admin/admin_page.h"
#include "../core/arena.h"
#include "../core/log.h"
#include "../core/request.h"
#include "../core/response.h"

#include <json-c/json.h>
#include <stdlib.h>

/* Chart data: hint sources and profile segments, from the stats object. */
static struct json_object *learning_admin_chart(struct json_object *stats)
{
    static const char *const sources[] = {"form", "segment", "family", "none"};
    static const char *const segments[] = {"intern", "junior", "senior", "default"};
    struct json_object *chart = json_object_new_object();
    struct json_object *sl = json_object_new_array(), *sv = json_object_new_array();
    struct json_object *gl = json_object_new_array(), *gv = json_object_new_array();
    struct json_object *src = json_object_object_get(stats, "sources"), *seg = json_object_object_get(stats, "segments");
    for (int i = 0; i < 4; i++) {
        json_object_array_add(sl, json_object_new_string(sources[i]));
        json_object_array_add(sv, json_object_get(json_object_object_get(src, sources[i])));
        json_object_array_add(gl, json_object_new_string(segments[i]));
        json_object_array_add(gv, json_object_get(json_object_object_get(seg, segments[i])));
    }
    struct json_object *a = json_object_new_object(), *b = json_object_new_object();
    admin_page_add(a, "labels", sl);
    admin_page_add(a, "values", sv);
    admin_page_add(b, "labels", gl);
    admin_page_add(b, "values", gv);
    admin_page_add(chart, "learning_sources", a);
    admin_page_add(chart, "learning_segments", b);
    return chart;
}

int learning_admin_page(struct request *req, struct response *res)
{
    struct admin_session s;
    if (!admin_page_session(req, res, &s))
        return ERR_NONE;
    const char *q = request_query(req, "host");
    struct json_object *d = NULL;
    if (learning_dashboard(req->ctx, q, &d) != ERR_NONE)
        return admin_auth_error_page(req, res, 503, "The database is unavailable.");
    struct json_object *chart = learning_admin_chart(json_object_object_get(d, "stats"));
    admin_page_add(d, "host", json_object_new_string(q ? q : ""));
    struct json_object *search = json_object_object_get(d, "search");
    if (q != NULL && q[0] != '\0' && json_object_array_length(search) == 0)
        admin_page_add(d, "search_empty", json_object_new_boolean(1));
    const char *aggregated = request_query(req, "aggregated");
    if (aggregated != NULL)
        admin_page_add(d, "aggregated", json_object_new_int64(strtoll(aggregated, NULL, 10)));
    if (request_query(req, "skipped") != NULL)
        admin_page_add(d, "skipped", json_object_new_boolean(1));
    return admin_page_render(req, res, &s, "learning", "Learning", d, chart);
}

/* POST /admin/learning/aggregate (csrf_token): an incremental run now. */
int learning_admin_form_aggregate(struct request *req, struct response *res)
{
    struct admin_session s;
    if (!admin_auth_post(req, res, &s))
        return ERR_NONE;
    struct learning_aggregate_opts opts = {.days = LEARNING_WINDOW_DAYS_DEFAULT};
    struct learning_aggregate_result r;
    if (learning_aggregate(req->ctx, &opts, &r) != 0)
        return admin_auth_error_page(req, res, 503, "The aggregation failed; nothing was written.");
    log_info("admin %s ran the learning aggregation: %ld profiles", s.username, r.updated_profiles);
    return admin_auth_redirect(res, r.skipped ? "/admin/learning?skipped=1"
                                              : arena_sprintf(req->arena, "/admin/learning?aggregated=%ld",
                                                              r.updated_profiles));
}
