/* cache: the only code in tally that calls libmemcached. One client per
 * worker process, created after fork(). Keys are namespaced
 * (`tally:<ns>:<key>`); a key that would be longer than memcached's 250
 * bytes or holds bytes the ASCII protocol forbids (space, control) becomes
 * `tally:<ns>:#<sha256 hex of key>`. Every operation counts its outcome per
 * namespace in shared memory, so the totals cover all workers.
 *
 * Behaviours: ASCII protocol, ketama consistent hashing over the server
 * list, connect and poll timeouts of 50 ms, a server failing twice in a row
 * is marked dead and skipped for 1 s, then retried: a memcached that comes
 * back is used again without recreating the client. */
#ifndef TALLY_CACHE_H
#define TALLY_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/limits.h"

enum cache_ns { CACHE_NS_AUTH, CACHE_NS_HEALTH, CACHE_NS_USERS, CACHE_NS_METRICS, CACHE_NS_PROFILES,
                CACHE_NS_SESSIONS, CACHE_NS_COUNT };

struct cache_ns_counters {
    uint64_t hits, misses, sets, deletes, errors;
};

/* Lives in the shared-memory region (zeroed by the master). */
struct cache_shared {
    struct cache_ns_counters ns[CACHE_NS_COUNT];
    uint64_t timeouts;
    uint64_t server_failures;
};

enum cache_result { CACHE_OK = 0, CACHE_MISS, CACHE_ERROR };

struct cache;

/* server_list "host:port,host:port"; NULL or "" gives a disabled cache whose
 * operations all return CACHE_ERROR. shared NULL = private counters. */
struct cache *cache_create(const char *server_list, struct cache_shared *shared);
void cache_destroy(struct cache *c);
const char *cache_ns_name(enum cache_ns ns);
size_t cache_key_build(enum cache_ns ns, const char *key, size_t key_len, char out[LIMIT_CACHE_KEY_BYTES + 1]);
/* *value is malloc'd and NUL-terminated; the caller frees it. */
enum cache_result cache_get(struct cache *c, enum cache_ns ns, const char *key, size_t key_len, char **value,
                            size_t *value_len);
enum cache_result cache_set(struct cache *c, enum cache_ns ns, const char *key, size_t key_len, const char *value,
                            size_t value_len, unsigned ttl_s);
/* A key that is not there counts as deleted (CACHE_OK). */
enum cache_result cache_delete(struct cache *c, enum cache_ns ns, const char *key, size_t key_len);
typedef void (*cache_mget_fn)(void *arg, size_t index, const char *value, size_t value_len);
/* Calls fn once per hit with the caller's index; returns the hit count or -1. */
int cache_mget(struct cache *c, enum cache_ns ns, const char *const *keys, const size_t *key_lens, size_t count,
               cache_mget_fn fn, void *arg);
/* true if a server answers (a get of a probe key: a miss is an answer). */
bool cache_ping(struct cache *c, double *latency_ms);

#endif
