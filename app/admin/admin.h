/* admin: the HTML dashboard pages (/admin/, /admin/cache, /admin/users,
 * /admin/users/{id}, /admin/jobs) and their JSON twins under
 * /api/v1/admin/ (cache stats and flush, workers, overview). Pages are
 * Mustache templates (templates.c) fed with the same json-c objects the
 * JSON twins return, so the figures agree by construction. Login, sessions
 * and CSRF are admin_auth.c's. */
#ifndef TALLY_ADMIN_H
#define TALLY_ADMIN_H

#include <stddef.h>

#include "../core/module.h"
#include "../core/router.h"

#define ADMIN_STATS_CACHE_MS     1000   /* memcached stats reused this long per worker */
#define ADMIN_RECENT_SECONDS     60     /* "last minute" window of the cache counters */
#define ADMIN_REFRESH_S          5      /* <meta http-equiv=refresh> of the cache page */
#define ADMIN_USERS_PAGE         50
#define ADMIN_USER_TRANSACTIONS  20
#define ADMIN_JOB_FAILURES       20
#define ADMIN_RECENT_JOBS        50     /* jobs page: newest jobs shown */

struct tally_ctx;
struct templates;
/* This process's compiled dashboard templates (NULL if they failed to load). */
struct templates *admin_templates(struct tally_ctx *ctx);

extern const struct tally_module admin_module;

#endif
