/* opportunities_seed: demo opportunities and preferences for seed-demo. */
#ifndef TALLY_OPPORTUNITIES_SEED_H
#define TALLY_OPPORTUNITIES_SEED_H

#include <stdint.h>
#include <stdio.h>

struct tally_ctx;

/* The module table's seed_demo hook: preferences and opportunities for
 * the first users of user_ids (their scoring is queued); one line on out.
 * Returns 0 or -1 (logged). The rows do not depend on seed. */
int opportunities_seed_demo(struct tally_ctx *ctx, uint64_t seed, const int64_t *user_ids, int user_count,
                            FILE *out);

#endif
