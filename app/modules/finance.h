/* finance: users and transactions, the core of the finance API: bulk
 * all-or-nothing insert with external_id de-duplication, filtered search
 * with aggregates over the whole filtered set and keyset (cursor)
 * pagination, and grouped summaries. Amounts are integer cents end to end.
 * Category and merchant matching uses the folded keys stored beside them
 * (text_fold: lower case, accents removed), so it is case- and
 * accent-insensitive and can use an index. */
#ifndef TALLY_FINANCE_H
#define TALLY_FINANCE_H

#include <stddef.h>

#include "../core/module.h"
#include "../core/router.h"

extern const struct tally_module finance_module;

#endif
