/* admin_internal: what the admin module's files share: its per-process
 * state and the handlers of its route table (admin.c). Not for other
 * domains: they use admin_page.h. */
#ifndef TALLY_ADMIN_INTERNAL_H
#define TALLY_ADMIN_INTERNAL_H

#include <stdint.h>

#include "admin.h"
#include "admin_page.h"
#include "../cache/cache.h"

struct templates;

/* Per worker: the compiled templates, and memcached stats at most
 * ADMIN_STATS_CACHE_MS old, so a burst of page views costs memcached one
 * round of stats per worker. */
struct admin_state {
    struct templates *templates;         /* loaded at start; NULL: pages answer 500 */
    struct cache_server_stats stats[CACHE_SERVERS_MAX];
    int stats_count;
    uint64_t stats_at_ms;
};

/* admin_status.c: overview, worker status (php-fpm-like), request figures. */
int admin_status_page(struct request *req, struct response *res);
int admin_status_api_workers(struct request *req, struct response *res);
int admin_status_api_overview(struct request *req, struct response *res);
/* admin_cache.c: the cache stats page, its JSON twin and the flush. */
int admin_cache_page(struct request *req, struct response *res);
int admin_cache_form_flush(struct request *req, struct response *res);
int admin_cache_api_stats(struct request *req, struct response *res);
int admin_cache_api_flush(struct request *req, struct response *res);
/* admin_users.c: users list and one user. */
int admin_users_page(struct request *req, struct response *res);
int admin_users_page_one(struct request *req, struct response *res);
/* admin_jobs.c: queue depths, schedules, recent jobs, failures, retry. */
int admin_jobs_page(struct request *req, struct response *res);
int admin_jobs_form_retry(struct request *req, struct response *res);

#endif
