/* opportunities_module: the domain's line in the module table
 * (app/modules.c): its API routes, its job kinds, its cache namespace and
 * its /metrics lines, its demo data. The dashboard pages live with the admin module
 * (app/admin/admin.c, data from opportunities_admin.c). */
#include "opportunities.h"
#include "opportunities_http.h"
#include "opportunities_seed.h"
#include "../core/module.h"
#include "../jobs/jobs.h"

static const struct jobs_handler opportunities_jobs[] = {
    {"process_opportunity", opportunities_job_process},
    {"score_opportunities", opportunities_job_score_all},
};

static const char *const opportunities_namespaces[] = {OPP_CACHE_NS, NULL};

const struct tally_module opportunities_module = {
    .name = "opportunities",
    .routes = opportunities_routes,
    .route_count = OPPORTUNITIES_ROUTE_COUNT,
    .jobs = opportunities_jobs,
    .job_count = sizeof(opportunities_jobs) / sizeof(opportunities_jobs[0]),
    .cache_namespaces = opportunities_namespaces,
    .metrics = opportunities_metrics,
    .seed_demo = opportunities_seed_demo,
};
