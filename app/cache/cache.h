/* cache: the only code in tally that calls libmemcached. One client per
 * worker process, created after fork(). Keys are namespaced
 * (`tally:<ns>:<key>`); a key that would make the full key longer than
 * memcached's 250 bytes, that holds a byte the ASCII protocol forbids
 * (<= 0x20, 0x7f) or that starts with '#' becomes
 * `tally:<ns>:#<sha256 hex of key>` (fixed length). Every operation counts
 * its outcome per namespace in shared memory, so the totals cover all
 * workers. The cache is an optimisation: every error is reported as
 * CACHE_ERROR and callers fall back to the database.
 *
 * Behaviours: ASCII protocol, ketama consistent hashing over the server
 * list, connect and poll timeouts of 50 ms, TCP_NODELAY. A server failing
 * twice in a row is skipped for about 1 s (its operations fail at once),
 * then tried again: a memcached that comes back is used again without
 * recreating the client. Failed servers are not ejected from the ring (see
 * cache.c for why): with one server of N down, the keys it owns fail fast
 * and the others are untouched; keys that must be read together share a
 * server through a group (below). */
#ifndef TALLY_CACHE_H
#define TALLY_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/limits.h"

/* Namespaces are registered by name (the modules' tables, through
 * module_cache_namespaces) before the first fork, so every process sees
 * the same index for a name. Index 0 is the cache's own `health` (probe
 * keys). Callers name a namespace by its string: "metrics". */
#define CACHE_NS_MAX        16
#define CACHE_NS_NAME_BYTES 24
enum cache_ns { CACHE_NS_HEALTH = 0, CACHE_NS_NONE = CACHE_NS_MAX };

/* Updated with relaxed atomic adds by every worker. */
struct cache_ns_counters {
    uint64_t hits, misses, sets, deletes, errors;
};

/* One second of namespace counters in the last-minute ring (see
 * cache_ns_recent). `second` is the wall-clock second the slot holds. */
#define CACHE_RATE_SLOTS 64
struct cache_rate_slot {
    uint64_t second;
    struct cache_ns_counters ns[CACHE_NS_MAX];
};

/* Lives in the shared-memory region (zeroed by the master before fork). */
struct cache_shared {
    char ns_names[CACHE_NS_MAX][CACHE_NS_NAME_BYTES];
    uint32_t ns_count;                   /* registered names, health included */
    struct cache_ns_counters ns[CACHE_NS_MAX];
    uint64_t timeouts;                   /* operations that failed on a timeout */
    uint64_t server_failures;            /* failed on a connection error, or found the server backed off */
    /* Appended for the admin cache page (cache_flush_namespace, cache_ns_recent). */
    uint64_t ns_generation[CACHE_NS_MAX];   /* part of every key; bumped by a flush */
    uint64_t flushes;                          /* cache_flush_namespace calls */
    struct cache_rate_slot rate[CACHE_RATE_SLOTS];
    uint64_t unsynced_epoch;             /* bumped when a per-user generation could not reach memcached */
};

enum cache_result { CACHE_OK = 0, CACHE_MISS, CACHE_ERROR };

struct cache;

/* server_list "host:port,host:port"; NULL or "" gives a disabled cache whose
 * operations all return CACHE_ERROR (an unparsable list too, logged).
 * shared NULL = private counters. Returns NULL only when out of memory. */
struct cache *cache_create(const char *server_list, struct cache_shared *shared);
void cache_destroy(struct cache *c);
/* false for a disabled cache (no server list) or c == NULL. */
bool cache_enabled(const struct cache *c);
/* Registers name (idempotent) and returns its index, -1 when the table is
 * full or the name is invalid (1..CACHE_NS_NAME_BYTES-1 of [a-z0-9_]). */
int cache_ns_register(struct cache_shared *shared, const char *name);
int cache_ns_count(const struct cache_shared *shared);
const char *cache_ns_name(const struct cache_shared *shared, int ns);
/* Pure; writes the NUL-terminated memcached key and returns its length. */
size_t cache_key_build(const char *ns, const char *key, size_t key_len, char out[LIMIT_CACHE_KEY_BYTES + 1]);
/* *value is malloc'd and NUL-terminated (also when empty); the caller frees
 * it. On MISS or ERROR *value is NULL. */
enum cache_result cache_get(struct cache *c, const char *ns, const char *key, size_t key_len, char **value,
                            size_t *value_len);
/* ttl_s 0 = no expiry. Values over LIMIT_CACHE_VALUE_BYTES are refused
 * (CACHE_ERROR, counted); memcached's own item limit (-I, 1 MiB by default,
 * key and header included) can refuse slightly smaller ones. */
enum cache_result cache_set(struct cache *c, const char *ns, const char *key, size_t key_len, const char *value,
                            size_t value_len, unsigned ttl_s);
/* A key that is not there counts as deleted (CACHE_OK). A delete that
 * fails moves the namespace to a new generation (every entry of it is
 * orphaned on this host), so a failed invalidation never leaves a stale
 * entry readable. */
enum cache_result cache_delete(struct cache *c, const char *ns, const char *key, size_t key_len);
/* This host's "a generation did not reach memcached" counter (shared
 * memory): cachegen re-reads PostgreSQL's unsynced users when it moves. */
uint64_t cache_unsynced_epoch(const struct cache *c);
void cache_unsynced_announce(struct cache *c);
/* Atomic counter shared by every process of every host: adds delta to the
 * decimal counter at key and sets *value to the result. A counter that does
 * not exist is created holding delta, expiring after ttl_s (memcached
 * `incr`; on NOT_FOUND `add`; if another process's `add` won the race,
 * `incr` again). One round trip when the counter exists; an increment never
 * moves its expiry. Counts a hit (existing counter), or a miss and a set
 * (created). On ERROR *value is 0; CACHE_MISS is never returned. */
enum cache_result cache_incr(struct cache *c, const char *ns, const char *key, size_t key_len, uint32_t delta,
                             unsigned ttl_s, uint64_t *value);
/* value is valid only during the call and is not NUL-terminated. */
typedef void (*cache_mget_fn)(void *arg, size_t index, const char *value, size_t value_len);
/* Calls fn once per hit with the caller's index (never twice for one
 * index; a key given twice is answered at both, memcached returns it
 * twice); returns the hit count, or -1 on error or when count >
 * LIMIT_CACHE_MGET_KEYS. If only some servers fail, returns the hits from
 * the others (and counts one error). */
int cache_mget(struct cache *c, const char *ns, const char *const *keys, const size_t *key_lens, size_t count,
               cache_mget_fn fn, void *arg);
/* ---- groups: keys that live on one server --------------------------------
 * A group routes every key of a call to the server that owns the group's
 * key (libmemcached's *_by_key; the group key is only hashed, never sent),
 * so keys read or written together - a user's generation token and that
 * user's entries (cachegen) - are on the same server: with one server of N
 * down, a read misses only when that server owns the group (about 1/N),
 * not when either of two independently placed keys is on it (2/N - 1/N^2).
 * A key must always be used with the same group (or always without). */
struct cache_group {
    const char *key;
    size_t len;
};
/* cache_set and cache_mget on the group's server (group NULL: the key's
 * own). cache_group_set_max stores the decimal value under key unless the
 * key already holds a number >= value (gets + cas/add, retried on a race;
 * never lowers it, so two writers' sets cannot land in the wrong order). No
 * expiry. CACHE_OK when the key holds >= value afterwards. */
enum cache_result cache_group_set(struct cache *c, const char *ns, const struct cache_group *group, const char *key,
                                  size_t key_len, const char *value, size_t value_len, unsigned ttl_s);
enum cache_result cache_group_set_max(struct cache *c, const char *ns, const struct cache_group *group,
                                      const char *key, size_t key_len, uint64_t value);
int cache_group_mget(struct cache *c, const char *ns, const struct cache_group *group, const char *const *keys,
                     const size_t *key_lens, size_t count, cache_mget_fn fn, void *arg);

/* true if at least one server answers (a get of a probe key it owns: a miss
 * is an answer); the probes count as health-namespace gets. latency_ms is
 * the time spent, answered or not. */
bool cache_ping(struct cache *c, double *latency_ms);
/* One probe per server (as cache_ping), in server-list order: fills
 * out[0 .. min(servers, max)) and returns that count (0: cache disabled).
 * server is "host:port" as configured. */
struct cache_server_ping {
    char server[80];
    bool up;
    double latency_ms;
};
int cache_ping_each(struct cache *c, struct cache_server_ping *out, int max);

/* ---- admin: server stats, namespace flush, recent counters ----------------
 * Namespace flush by generation: every key of namespace ns is built as
 * `tally:<ns>.<gen>:<key>` once ns_generation[ns] > 0 (`tally:<ns>:<key>`
 * at 0, so nothing changes until a first flush). A flush bumps the
 * generation in shared memory, which every worker of this host reads with
 * one relaxed load per operation (no round trip), and stores the new
 * generations in memcached under `tally:generations`; each worker re-reads
 * that key at most every CACHE_GENERATION_REFRESH_S seconds (one get per
 * worker per period, never per operation) and keeps the larger value, so
 * tallyd on other hosts sharing the memcached pool stop seeing the old
 * entries within that period. Old entries are not deleted: memcached drops
 * them by TTL or LRU. The health namespace (probe keys) cannot be flushed. */
#define CACHE_GENERATION_REFRESH_S 5
#define CACHE_SERVERS_MAX          16
#define CACHE_SLABS_MAX            64

struct cache_slab_stats {
    uint32_t id;
    uint64_t chunk_size, chunks_per_page, total_pages, total_chunks, used_chunks, mem_requested;
    uint64_t items, evicted, evicted_unfetched, age_s;   /* from `stats items` */
};

struct cache_server_stats {
    char host[64];
    unsigned port;
    bool up;                             /* answered `stats` */
    char version[32];
    uint64_t pid, uptime_s, curr_items, total_items, bytes, limit_maxbytes, get_hits, get_misses, evictions,
        curr_connections, listen_disabled_num, cmd_get, cmd_set, total_malloced;
    uint32_t slab_count;
    struct cache_slab_stats slabs[CACHE_SLABS_MAX];
};

/* Asks every server for `stats`, `stats slabs` and `stats items`
 * (memcached_stat_execute). Fills out[0 .. min(servers, max)) in server
 * list order and returns that count (0 for a disabled cache); a server that
 * does not answer has up = false and zeros, the others are still filled. */
int cache_server_stats(struct cache *c, struct cache_server_stats *out, int max);
/* Invalidates every entry of ns (see above) and zeroes its counters (since
 * start and the recent ring). Returns CACHE_ERROR for the health namespace
 * or a disabled cache; CACHE_OK once the local generation is bumped, even
 * if memcached could not store it (other hosts then learn it later). */
enum cache_result cache_flush_namespace(struct cache *c, const char *ns);
/* Sums the ring slots of the last `seconds` (<= CACHE_RATE_SLOTS - 2) whole
 * seconds before now into out[CACHE_NS_MAX]. Approximate: a slot being
 * recycled can lose the counts of that instant. */
void cache_ns_recent(const struct cache_shared *shared, unsigned seconds, struct cache_ns_counters *out);
/* Index of a registered namespace, CACHE_NS_NONE if name is not one. */
enum cache_ns cache_ns_parse(const struct cache_shared *shared, const char *name);

#endif
