/* cache_internal: the client's layout, shared by cache.c (client,
 * operations), cache_ns.c (namespaces, keys, generations, flush) and
 * cache_stats.c (the ops page's server stats). Nothing outside app/cache/
 * includes it. */
#ifndef TALLY_CACHE_INTERNAL_H
#define TALLY_CACHE_INTERNAL_H

#include <libmemcached/memcached.h>
#include <stdbool.h>
#include <stddef.h>
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

/* cache_ns.c, for cache.c. */
/* The ring slot of the current second (claimed and zeroed on first use). */
struct cache_rate_slot *cache_rate_slot_now(struct cache_shared *sh);
/* Registers the `health` namespace at index 0 of an empty table. */
void cache_ns_ensure_health(struct cache_shared *sh);
/* A namespace by name (logged and CACHE_NS_NONE when unknown). */
enum cache_ns cache_ns_of(struct cache *c, const char *name);
/* The key of an operation: with the namespace's current generation. */
size_t cache_key_op(struct cache *c, enum cache_ns ns, const char *key, size_t key_len,
                    char out[LIMIT_CACHE_KEY_BYTES + 1]);

/* cache.c, for cache_ns.c. */
/* Index of the server that owns a built key. */
uint32_t cache_server_of(const struct cache *c, const char *k, size_t klen);
/* true while the server's timeout breaker is open (its operations fail at once). */
bool cache_server_open(const struct cache *c, uint32_t s);
/* Feeds an operation's outcome to the server's breaker. */
void cache_server_outcome(struct cache *c, uint32_t s, memcached_return_t rc);
/* A configured client and a valid namespace. */
bool cache_usable(const struct cache *c, enum cache_ns ns);

#endif
