/* routes: every module's route table, registered in one place. */
#ifndef TALLY_ROUTES_H
#define TALLY_ROUTES_H

struct router;
struct config;

/* Registers all routes; returns 0, or -1 if the table is full. */
int routes_register(struct router *r, const struct config *cfg);

#endif
