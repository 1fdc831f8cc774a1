/* opportunities_admin: the data of the dashboard pages /admin/opportunities
 * and /admin/opportunities/{id} (rendered by app/modules/admin.c with
 * templates/opportunities.mustache and opportunity.mustache), built from
 * the service's own answers so the page shows what the API shows. */
#ifndef TALLY_OPPORTUNITIES_ADMIN_H
#define TALLY_OPPORTUNITIES_ADMIN_H

#include <stdint.h>

#include "../core/errors.h"

struct json_object;
struct request;
struct response;
struct tally_ctx;

#define OPP_ADMIN_PAGE_ROWS 50

/* The list page: filters (NULL = any; a bad one is shown as filter_error),
 * stats of every user, a page of rows. *chart: the chart data (owned by the
 * caller). *e: the first error of a part that could not be loaded. */
struct json_object *opportunities_admin_list(struct tally_ctx *ctx, const char *tier, const char *status,
                                             const char *cursor, struct json_object **chart, enum err *e);
/* One opportunity with its score details; NULL with *e = ERR_NOT_FOUND if absent. */
struct json_object *opportunities_admin_one(struct tally_ctx *ctx, int64_t id, enum err *e);

/* GET /admin/opportunities (?tier, ?status, ?cursor) and /admin/opportunities/{id}. */
int opportunities_admin_page_list(struct request *req, struct response *res);
int opportunities_admin_page_one(struct request *req, struct response *res);

#endif
