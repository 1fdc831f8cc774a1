/* cache_internal: the client's layout, shared by cache.c (operations,
 * generations, flush) and cache_stats.c (the ops page's server stats).
 * Nothing outside app/cache/ includes it. */
#ifndef TALLY_CACHE_INTERNAL_H
#define TALLY_CACHE_INTERNAL_H

#include <libmemcached/memcached.h>
#include <stdint.h>

#include "cache.h"

/* What tally itself tracks per server, indexed like libmemcached's list. */
struct cache_server {
    uint32_t probe_id;                   /* "probe:<id>" hashes to this server; UINT32_MAX: none */
    uint32_t timeouts_in_row;
    double open_until_ms;                /* CLOCK_MONOTONIC; 0 = closed */
};

struct cache {
    memcached_st *memc;                  /* NULL: cache disabled */
    struct cache_shared *shared;         /* shm region, or &private_counters */
    struct cache_shared private_counters;
    struct cache_server *servers;
    uint32_t server_count;
    uint64_t generation_checked_s;       /* last read of `tally:generations` (CLOCK_MONOTONIC s) */
};

#endif
