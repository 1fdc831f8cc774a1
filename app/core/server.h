/* server: the tallyd master, a small paranoid supervisor (php-fpm's process
 * manager, kore's parent). It opens the listen socket, creates the shared
 * counters, forks the workers and watches them: respawn with backoff on a
 * crash loop, recycle after max_requests, kill a worker stuck in one
 * request longer than request_timeout_ms, log slow requests, reload on
 * SIGHUP by starting a new generation before retiring the old one, and stop
 * gracefully on SIGTERM. It never touches PostgreSQL or memcached. */
#ifndef TALLY_SERVER_H
#define TALLY_SERVER_H

#include "config.h"

struct router;

/* Runs the master until stopped; returns the process exit code. */
int server_run(const char *config_path, struct config *cfg, const struct router *router);

#endif
