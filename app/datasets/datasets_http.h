/* datasets_http: the routes of datasets and of the transactions CSV import,
 * and the domain's line of the module table. */
#ifndef TALLY_DATASETS_HTTP_H
#define TALLY_DATASETS_HTTP_H

#include "../core/module.h"

extern const struct tally_module datasets_module;

#endif
