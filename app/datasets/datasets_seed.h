/* datasets_seed: demo data of datasets (the module's seed_demo hook). */
#ifndef TALLY_DATASETS_SEED_H
#define TALLY_DATASETS_SEED_H

#include <stdint.h>
#include <stdio.h>

struct tally_ctx;

int datasets_seed_demo(struct tally_ctx *ctx, uint64_t seed, const int64_t *user_ids, int user_count, FILE *out);

#endif
