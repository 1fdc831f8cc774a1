/* opportunities_module: the domain's entry of the module table
 * (app/core/module.h). Until main wires the table in, the same pieces are
 * registered the old way: routes in app/modules/routes.c, job kinds in
 * app/modules/jobs.c, /metrics lines in app/modules/metrics.c. */
#include "opportunities.h"
#include "opportunities_http.h"
#include "../core/module.h"
#include "../modules/jobs.h"

static const struct jobs_handler opportunities_jobs[] = {
    {"process_opportunity", opportunities_job_process},
    {"score_opportunities", opportunities_job_score_all},
};

static const char *const opportunities_namespaces[] = {"opportunities", NULL};

extern const struct tally_module opportunities_module;
const struct tally_module opportunities_module = {
    .name = "opportunities",
    .routes = opportunities_routes,
    .route_count = OPPORTUNITIES_ROUTE_COUNT,
    .jobs = opportunities_jobs,
    .job_count = sizeof(opportunities_jobs) / sizeof(opportunities_jobs[0]),
    .cache_namespaces = opportunities_namespaces,
    .metrics = opportunities_metrics,
};
