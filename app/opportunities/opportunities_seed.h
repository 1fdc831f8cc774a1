/* opportunities_seed: demo opportunities and preferences for seed-demo. */
#ifndef TALLY_OPPORTUNITIES_SEED_H
#define TALLY_OPPORTUNITIES_SEED_H

#include <stdint.h>

struct tally_ctx;

/* Preferences and opportunities for the first users of user_ids (their
 * scoring is queued). Returns 0 or -1 (logged); *created counts the rows. */
int opportunities_seed_demo(struct tally_ctx *ctx, const int64_t *user_ids, int user_count, long *created);

#endif
