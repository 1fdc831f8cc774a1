/* datasets_http: the routes of datasets and of the transactions CSV import. */
#ifndef TALLY_DATASETS_HTTP_H
#define TALLY_DATASETS_HTTP_H

#include <stddef.h>

#include "../core/router.h"

extern const struct route datasets_routes[];
extern const size_t datasets_route_count;

#endif
