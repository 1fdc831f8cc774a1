/* datasets_admin: the dashboard pages of datasets (routed by datasets_http). */
#ifndef TALLY_DATASETS_ADMIN_H
#define TALLY_DATASETS_ADMIN_H

struct request;
struct response;

int datasets_admin_list(struct request *req, struct response *res);        /* GET /admin/datasets */
int datasets_admin_dataset(struct request *req, struct response *res);     /* GET /admin/datasets/{dataset} */
int datasets_admin_pin(struct request *req, struct response *res);         /* POST …/versions/{v}/pin */

#endif
