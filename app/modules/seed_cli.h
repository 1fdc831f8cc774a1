/* seed_cli: the `seed` module: `tallyctl seed-demo` (demo data from the
 * generator in seed.h, loaded with COPY). No routes, no jobs. */
#ifndef TALLY_SEED_CLI_H
#define TALLY_SEED_CLI_H

#include "../core/module.h"

extern const struct tally_module seed_module;

#endif
