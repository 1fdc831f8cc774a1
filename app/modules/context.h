/* context: GET /api/v1/users/{id}/context, the enriched context the
 * assistant works with: the last messages of a conversation (the given one
 * or the user's latest), the profile (profiles module) and the current
 * month's monthly_total, category_breakdown and mom_comparison (precompute's
 * read path). Each part that cannot be loaded is null; the answer is still
 * 200 (only an unknown user is 404). */
#ifndef TALLY_CONTEXT_H
#define TALLY_CONTEXT_H

#include <stddef.h>

#include "../core/module.h"
#include "../core/router.h"

#define CONTEXT_HISTORY_DEFAULT 10   /* messages, ?limit= */
#define CONTEXT_HISTORY_MAX     50

extern const struct tally_module context_module;

#endif
