/* datasets_cli: `tallyctl datasets upload|import|retention` (the module's command). */
#ifndef TALLY_DATASETS_CLI_H
#define TALLY_DATASETS_CLI_H

struct tally_ctx;

int datasets_cli_run(struct tally_ctx *ctx, int argc, char **argv);

#endif
