/* cache: see cache.h. Owns the libmemcached client of one worker: its
 * behaviours, the server list and the per-server timeout breaker, the
 * operations (get, set, incr, delete, set_max, mget) and the health probe.
 * The namespaces, the key scheme and the generations are cache_ns.c's.
 * Invariants: every public operation counts exactly one outcome per key in
 * its namespace (hit, miss, set, delete or error); no libmemcached type
 * leaks out of app/cache/. */
#define _GNU_SOURCE
#include "cache.h"
#include "../core/clock.h"
#include "../core/log.h"

#include <libmemcached/memcached.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Timeouts are in tens of milliseconds because a cache that is slower than
 * the database it fronts is worse than none: a dead or hung memcached must
 * cost a request at most one short wait, never the library's default of
 * seconds. */
#define CACHE_CONNECT_TIMEOUT_MS 50
#define CACHE_POLL_TIMEOUT_MS    50
#define CACHE_FAILURE_LIMIT      2     /* consecutive failures before a server is backed off */
#define CACHE_RETRY_TIMEOUT_S    1     /* backed-off server is tried again after this (1-2 s) */
#define CACHE_PROBE_SEARCH       4096  /* candidate probe keys tried per server at create */

/* MEMCACHED_BEHAVIOR_REMOVE_FAILED_SERVERS is off, on purpose. Measured
 * with libmemcached 1.1.4 and memcached 1.6.18, two servers, one killed for
 * 3 s and restarted (a throwaway loop of set+get on 20 keys; one-server
 * cases are in tests/unit/cache_live.c):
 *   - off: ops on the dead server's keys fail in < 0.3 ms (connection
 *     refused, then backed off); the other server is unaffected; ~1 s after
 *     the restart the same client uses the server again.
 *   - on, with DEAD_TIMEOUT 1 s: the dead server's keys move to the other
 *     server within ~2 s, and the server is put back in the ring after it
 *     returns. Works.
 *   - on, WITHOUT DEAD_TIMEOUT: the server goes back in the ring but every
 *     connect to it is refused by the library (MEMCACHED_SERVER_MARKED_DEAD)
 *     for the life of the client: its keys fail forever. A trap.
 * Even working, ejection moves keys while a server is unreachable, so
 * deletes done meanwhile land on the wrong server; if the server returns
 * with its data (a network blip, not a restart), entries invalidated
 * meanwhile, such as a revoked token in the auth namespace, are served
 * again until their TTL. A few more misses are the better failure.
 * Kept as a compile-time switch only to repeat the experiment. */
#ifndef CACHE_REMOVE_FAILED_SERVERS
#define CACHE_REMOVE_FAILED_SERVERS 0
#endif

#include "cache_internal.h"

#define cache_add(c, field, n) __atomic_fetch_add(&(c)->shared->field, (uint64_t)(n), __ATOMIC_RELAXED)
#define cache_count(c, field)  cache_add(c, field, 1)
/* A namespace counter: since start, and in the current second's ring slot. */
#define cache_ns_add(c, ns_, field, n)                                                             \
    do {                                                                                           \
        uint64_t cache_n_ = (uint64_t)(n);                                                         \
        cache_add(c, ns[ns_].field, cache_n_);                                                     \
        __atomic_fetch_add(&cache_rate_slot_now((c)->shared)->ns[ns_].field, cache_n_, __ATOMIC_RELAXED); \
    } while (0)


/* ---- outcomes -------------------------------------------------------------- */

static bool cache_rc_server_failure(memcached_return_t rc)
{
    switch (rc) {
    case MEMCACHED_SERVER_MARKED_DEAD:
    case MEMCACHED_SERVER_TEMPORARILY_DISABLED:
    case MEMCACHED_CONNECTION_FAILURE:
    case MEMCACHED_HOST_LOOKUP_FAILURE:
    case MEMCACHED_NO_SERVERS:
    case MEMCACHED_UNKNOWN_READ_FAILURE:
    case MEMCACHED_READ_FAILURE:
    case MEMCACHED_WRITE_FAILURE:
    case MEMCACHED_ERRNO:
    case MEMCACHED_ERROR:              /* == CONNECTION_SOCKET_CREATE_FAILURE */
        return true;
    default:
        return false;
    }
}

/* Counts a failed libmemcached call: an error in the namespace, plus a
 * timeout or a server failure (exclusive: a timeout is not also counted as a
 * server failure). */
static enum cache_result cache_fail(struct cache *c, enum cache_ns ns, memcached_return_t rc)
{
    cache_ns_add(c, ns, errors, 1);
    if (rc == MEMCACHED_TIMEOUT)
        cache_count(c, timeouts);
    else if (cache_rc_server_failure(rc))
        cache_count(c, server_failures);
    log_debug("cache %s: %s", cache_ns_name(c->shared, ns), memcached_strerror(c->memc, rc));
    return CACHE_ERROR;
}

/* Counts an operation refused before reaching memcached (cache disabled,
 * value too large, bad argument). */
static enum cache_result cache_refuse(struct cache *c, enum cache_ns ns)
{
    if (c == NULL)
        return CACHE_ERROR;
    if ((unsigned)ns < CACHE_NS_MAX)
        cache_ns_add(c, ns, errors, 1);
    return CACHE_ERROR;
}

bool cache_usable(const struct cache *c, enum cache_ns ns)
{
    return c != NULL && c->memc != NULL && (unsigned)ns < CACHE_NS_MAX;
}

/* ---- timeout breaker ------------------------------------------------------ */

/* libmemcached's own back-off (SERVER_FAILURE_LIMIT, RETRY_TIMEOUT) only
 * counts failed connects. A hung memcached (stopped, overloaded, half-dead
 * host) still accepts TCP connections in the kernel, so every reconnect
 * "succeeds", resets the failure count, and every operation waits the full
 * poll timeout: measured, 50 ms per get or set for as long as it hangs. So
 * tally counts timeouts per server itself: CACHE_FAILURE_LIMIT in a row and
 * the server's operations fail at once for CACHE_RETRY_TIMEOUT_S; then one
 * operation is let through, and one more timeout opens it again. */

/* Index of the server that owns a built key. */
uint32_t cache_server_of(const struct cache *c, const char *k, size_t klen)
{
    return c->server_count > 1 ? memcached_generate_hash(c->memc, k, klen) : 0;
}

bool cache_server_open(const struct cache *c, uint32_t s)
{
    return s < c->server_count && c->servers[s].open_until_ms != 0 &&
           c->servers[s].open_until_ms > clock_ms();
}

void cache_server_outcome(struct cache *c, uint32_t s, memcached_return_t rc)
{
    if (s >= c->server_count)
        return;
    struct cache_server *sv = &c->servers[s];
    if (rc == MEMCACHED_TIMEOUT) {
        if (++sv->timeouts_in_row < CACHE_FAILURE_LIMIT)
            return;
        if (sv->open_until_ms == 0) {
            const memcached_instance_st *in = memcached_server_instance_by_position(c->memc, s);
            log_warn("cache: memcached %s:%u timed out %u times in a row; skipping it for %d s",
                     in ? memcached_server_name(in) : "?", in ? (unsigned)memcached_server_port(in) : 0,
                     sv->timeouts_in_row, CACHE_RETRY_TIMEOUT_S);
        }
        sv->open_until_ms = clock_ms() + CACHE_RETRY_TIMEOUT_S * 1000.0;
    } else if (rc == MEMCACHED_SUCCESS || rc == MEMCACHED_NOTFOUND) {
        if (sv->open_until_ms != 0)
            log_info("cache: memcached server #%u answers again", s);
        sv->timeouts_in_row = 0;
        sv->open_until_ms = 0;
    }
}

/* ---- life cycle ------------------------------------------------------------ */

static void cache_behavior(memcached_st *m, memcached_behavior_t flag, uint64_t value, const char *name)
{
    memcached_return_t rc = memcached_behavior_set(m, flag, value);
    if (rc != MEMCACHED_SUCCESS)
        log_warn("cache: setting %s failed: %s", name, memcached_strerror(m, rc));
}

static void cache_configure(memcached_st *m)
{
    cache_behavior(m, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 0, "binary_protocol");
    cache_behavior(m, MEMCACHED_BEHAVIOR_DISTRIBUTION, MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA, "distribution");
    cache_behavior(m, MEMCACHED_BEHAVIOR_KETAMA_HASH, MEMCACHED_HASH_MD5, "ketama_hash");
    cache_behavior(m, MEMCACHED_BEHAVIOR_NO_BLOCK, 1, "no_block");
    cache_behavior(m, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1, "tcp_nodelay");
    cache_behavior(m, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, CACHE_CONNECT_TIMEOUT_MS, "connect_timeout");
    cache_behavior(m, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, CACHE_POLL_TIMEOUT_MS, "poll_timeout");
    /* Socket-level bounds (microseconds) in case a send or recv ever blocks. */
    cache_behavior(m, MEMCACHED_BEHAVIOR_SND_TIMEOUT, CACHE_POLL_TIMEOUT_MS * 1000, "snd_timeout");
    cache_behavior(m, MEMCACHED_BEHAVIOR_RCV_TIMEOUT, CACHE_POLL_TIMEOUT_MS * 1000, "rcv_timeout");
    cache_behavior(m, MEMCACHED_BEHAVIOR_SERVER_FAILURE_LIMIT, CACHE_FAILURE_LIMIT, "server_failure_limit");
    cache_behavior(m, MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, CACHE_RETRY_TIMEOUT_S, "retry_timeout");
#if CACHE_REMOVE_FAILED_SERVERS
    cache_behavior(m, MEMCACHED_BEHAVIOR_REMOVE_FAILED_SERVERS, 1, "remove_failed_servers");
    cache_behavior(m, MEMCACHED_BEHAVIOR_DEAD_TIMEOUT, CACHE_RETRY_TIMEOUT_S, "dead_timeout");
#endif
}

/* For each server, finds a key that ketama maps to it, so cache_ping can ask
 * every server rather than whichever one owns a single probe key. */
static int cache_servers_setup(struct cache *c)
{
    uint32_t count = memcached_server_count(c->memc);
    c->servers = calloc(count ? count : 1, sizeof(*c->servers));
    if (c->servers == NULL)
        return -1;
    c->server_count = count;
    for (uint32_t i = 0; i < count; i++)
        c->servers[i].probe_id = UINT32_MAX;
    uint32_t found = 0;
    for (uint32_t n = 0; n < CACHE_PROBE_SEARCH && found < count; n++) {
        char key[LIMIT_CACHE_KEY_BYTES + 1], probe[32];
        int plen = snprintf(probe, sizeof(probe), "probe:%u", n);
        size_t klen = cache_key_build("health", probe, (size_t)plen, key);
        uint32_t s = cache_server_of(c, key, klen);
        if (s < count && c->servers[s].probe_id == UINT32_MAX) {
            c->servers[s].probe_id = n;
            found++;
        }
    }
    return 0;
}

struct cache *cache_create(const char *server_list, struct cache_shared *shared)
{
    memcached_server_list_st servers = NULL;
    struct cache *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->shared = shared ? shared : &c->private_counters;
    cache_ns_ensure_health(c->shared);
    if (server_list == NULL || server_list[0] == '\0')
        return c;                        /* disabled on purpose */
    servers = memcached_servers_parse(server_list);
    if (servers == NULL || memcached_server_list_count(servers) == 0) {
        log_error("cache: cannot parse memcached server list \"%s\"; cache disabled", server_list);
        goto out;
    }
    c->memc = memcached_create(NULL);
    if (c->memc == NULL)
        goto fail;
    cache_configure(c->memc);            /* before the push: the ring is built once */
    memcached_return_t rc = memcached_server_push(c->memc, servers);
    if (rc != MEMCACHED_SUCCESS) {
        log_error("cache: adding servers \"%s\": %s; cache disabled", server_list,
                  memcached_strerror(c->memc, rc));
        goto fail;
    }
    if (cache_servers_setup(c) != 0)
        goto fail;
    goto out;
fail:
    if (c->memc != NULL)
        memcached_free(c->memc);
    c->memc = NULL;
    free(c->servers);
    c->servers = NULL;
    c->server_count = 0;
out:
    if (servers != NULL)
        memcached_server_list_free(servers);
    return c;
}

void cache_destroy(struct cache *c)
{
    if (c == NULL)
        return;
    if (c->memc != NULL)
        memcached_free(c->memc);
    free(c->servers);
    free(c);
}

bool cache_enabled(const struct cache *c)
{
    return c != NULL && c->memc != NULL;
}

/* ---- operations ------------------------------------------------------------ */

/* Builds the key and finds its server (the group's when group is given);
 * false (counted) when that server's breaker is open. */
static bool cache_route(struct cache *c, enum cache_ns ns, const struct cache_group *group, const char *key,
                        size_t key_len, char k[LIMIT_CACHE_KEY_BYTES + 1], size_t *klen, uint32_t *server)
{
    *klen = cache_key_op(c, ns, key, key_len, k);
    *server = group != NULL ? cache_server_of(c, group->key, group->len) : cache_server_of(c, k, *klen);
    if (!cache_server_open(c, *server))
        return true;
    cache_fail(c, ns, MEMCACHED_SERVER_TEMPORARILY_DISABLED);
    return false;
}

enum cache_result cache_get(struct cache *c, const char *ns_name, const char *key, size_t key_len, char **value,
                            size_t *value_len)
{
    enum cache_ns ns = c != NULL ? cache_ns_of(c, ns_name) : CACHE_NS_NONE;
    *value = NULL;
    *value_len = 0;
    if (!cache_usable(c, ns))
        return cache_refuse(c, ns);
    char k[LIMIT_CACHE_KEY_BYTES + 1];
    size_t klen;
    uint32_t server;
    if (!cache_route(c, ns, NULL, key, key_len, k, &klen, &server))
        return CACHE_ERROR;
    uint32_t flags = 0;
    size_t len = 0;
    memcached_return_t rc = MEMCACHED_FAILURE;
    char *v = memcached_get(c->memc, k, klen, &len, &flags, &rc);
    cache_server_outcome(c, server, rc);
    if (rc == MEMCACHED_NOTFOUND) {
        free(v);
        cache_ns_add(c, ns, misses, 1);
        return CACHE_MISS;
    }
    if (rc != MEMCACHED_SUCCESS) {
        free(v);
        return cache_fail(c, ns, rc);
    }
    if (v == NULL) {                     /* a stored empty value comes back as NULL */
        v = calloc(1, 1);
        if (v == NULL)
            return cache_fail(c, ns, MEMCACHED_MEMORY_ALLOCATION_FAILURE);
        len = 0;
    }
    cache_ns_add(c, ns, hits, 1);
    *value = v;                          /* libmemcached NUL-terminates it */
    *value_len = len;
    return CACHE_OK;
}

/* The master key of a *_by_key call: the group's, else the key itself
 * (memcached_set_by_key with the key as master is memcached_set). */
#define CACHE_MASTER(group, k, klen) ((group) != NULL ? (group)->key : (k)), ((group) != NULL ? (group)->len : (klen))

enum cache_result cache_group_set(struct cache *c, const char *ns_name, const struct cache_group *group,
                                  const char *key, size_t key_len, const char *value, size_t value_len, unsigned ttl_s)
{
    enum cache_ns ns = c != NULL ? cache_ns_of(c, ns_name) : CACHE_NS_NONE;
    if (!cache_usable(c, ns) || value_len > LIMIT_CACHE_VALUE_BYTES)
        return cache_refuse(c, ns);
    char k[LIMIT_CACHE_KEY_BYTES + 1];
    size_t klen;
    uint32_t server;
    if (!cache_route(c, ns, group, key, key_len, k, &klen, &server))
        return CACHE_ERROR;
    memcached_return_t rc =
        memcached_set_by_key(c->memc, CACHE_MASTER(group, k, klen), k, klen, value, value_len, (time_t)ttl_s, 0);
    cache_server_outcome(c, server, rc);
    if (rc != MEMCACHED_SUCCESS)
        return cache_fail(c, ns, rc);
    cache_ns_add(c, ns, sets, 1);
    return CACHE_OK;
}

enum cache_result cache_set(struct cache *c, const char *ns_name, const char *key, size_t key_len, const char *value,
                            size_t value_len, unsigned ttl_s)
{
    return cache_group_set(c, ns_name, NULL, key, key_len, value, value_len, ttl_s);
}

enum cache_result cache_incr(struct cache *c, const char *ns_name, const char *key, size_t key_len, uint32_t delta,
                             unsigned ttl_s, uint64_t *value)
{
    enum cache_ns ns = c != NULL ? cache_ns_of(c, ns_name) : CACHE_NS_NONE;
    *value = 0;
    if (!cache_usable(c, ns))
        return cache_refuse(c, ns);
    char k[LIMIT_CACHE_KEY_BYTES + 1];
    size_t klen;
    uint32_t server;
    if (!cache_route(c, ns, NULL, key, key_len, k, &klen, &server))
        return CACHE_ERROR;
    char initial[16];
    int initial_len = snprintf(initial, sizeof(initial), "%u", (unsigned)delta);
    /* incr, add, incr: a counter that expires between the add losing and
     * the second incr is a failure of this call, not a loop. */
    for (int attempt = 0; attempt < 2; attempt++) {
        uint64_t v = 0;
        memcached_return_t rc = memcached_increment(c->memc, k, klen, delta, &v);
        cache_server_outcome(c, server, rc);
        if (rc == MEMCACHED_SUCCESS) {
            cache_ns_add(c, ns, hits, 1);
            *value = v;
            return CACHE_OK;
        }
        if (rc != MEMCACHED_NOTFOUND || attempt == 1)
            return cache_fail(c, ns, rc);
        cache_ns_add(c, ns, misses, 1);
        rc = memcached_add(c->memc, k, klen, initial, (size_t)initial_len, (time_t)ttl_s, 0);
        cache_server_outcome(c, server, rc);
        if (rc == MEMCACHED_SUCCESS) {
            cache_ns_add(c, ns, sets, 1);
            *value = delta;
            return CACHE_OK;
        }
        if (rc != MEMCACHED_NOTSTORED && rc != MEMCACHED_DATA_EXISTS)
            return cache_fail(c, ns, rc);
    }
    return cache_fail(c, ns, MEMCACHED_FAILURE);
}

/* A delete that could not be sent leaves an entry that is now wrong, and
 * other workers (whose client does not see the server as failing: it may
 * have just come back, or be reachable from them only) would keep serving
 * it. So the namespace's generation moves on (shared memory: every worker of
 * this host at once) and every entry of the namespace is orphaned. Costs a
 * cold namespace while memcached is failing anyway; never a stale read. */
static enum cache_result cache_delete_failed(struct cache *c, enum cache_ns ns)
{
    uint64_t gen = __atomic_add_fetch(&c->shared->ns_generation[ns], 1, __ATOMIC_RELAXED);
    log_warn("cache: a %s delete failed; namespace moved to generation %llu", cache_ns_name(c->shared, ns),
             (unsigned long long)gen);
    return CACHE_ERROR;
}

enum cache_result cache_delete(struct cache *c, const char *ns_name, const char *key, size_t key_len)
{
    enum cache_ns ns = c != NULL ? cache_ns_of(c, ns_name) : CACHE_NS_NONE;
    if (!cache_usable(c, ns))
        return cache_refuse(c, ns);      /* no cache configured: nothing was cached either */
    char k[LIMIT_CACHE_KEY_BYTES + 1];
    size_t klen;
    uint32_t server;
    if (!cache_route(c, ns, NULL, key, key_len, k, &klen, &server))
        return cache_delete_failed(c, ns);
    memcached_return_t rc = memcached_delete(c->memc, k, klen, 0);
    cache_server_outcome(c, server, rc);
    if (rc != MEMCACHED_SUCCESS && rc != MEMCACHED_NOTFOUND) {
        cache_fail(c, ns, rc);
        return cache_delete_failed(c, ns);
    }
    cache_ns_add(c, ns, deletes, 1);
    return CACHE_OK;
}

/* The number a cache_group_set_max key holds; false when absent or not a number. */
static bool cache_fetch_number(struct cache *c, uint64_t *value, uint64_t *cas, bool *found, memcached_return_t *rc)
{
    bool number = false;
    memcached_return_t frc;
    memcached_result_st *res;
    *found = false;
    while ((res = memcached_fetch_result(c->memc, NULL, &frc)) != NULL) {
        size_t len = memcached_result_length(res);
        const char *v = memcached_result_value(res);
        char text[24];
        *found = true;
        *cas = memcached_result_cas(res);
        number = len > 0 && len < sizeof(text) && strspn(v, "0123456789") >= len;
        if (number) {
            memcpy(text, v, len);
            text[len] = '\0';
            *value = strtoull(text, NULL, 10);
        }
        memcached_result_free(res);
    }
    if (frc != MEMCACHED_END && frc != MEMCACHED_SUCCESS && frc != MEMCACHED_NOTFOUND)
        *rc = frc;
    return number;
}

enum cache_result cache_group_set_max(struct cache *c, const char *ns_name, const struct cache_group *group,
                                      const char *key, size_t key_len, uint64_t value)
{
    enum cache_ns ns = c != NULL ? cache_ns_of(c, ns_name) : CACHE_NS_NONE;
    if (!cache_usable(c, ns))
        return cache_refuse(c, ns);
    char k[LIMIT_CACHE_KEY_BYTES + 1], text[24];
    size_t klen;
    uint32_t server;
    if (!cache_route(c, ns, group, key, key_len, k, &klen, &server))
        return CACHE_ERROR;
    size_t tlen = (size_t)snprintf(text, sizeof(text), "%llu", (unsigned long long)value);
    memcached_return_t rc = MEMCACHED_FAILURE;
    for (int attempt = 0; attempt < 4; attempt++) {
        const char *keys[1] = {k};
        size_t lens[1] = {klen};
        uint64_t have = 0, cas = 0;
        bool found = false, number = false;
        /* `gets` only for this call: the other reads need no CAS ids. */
        memcached_behavior_set(c->memc, MEMCACHED_BEHAVIOR_SUPPORT_CAS, 1);
        rc = memcached_mget_by_key(c->memc, CACHE_MASTER(group, k, klen), keys, lens, 1);
        if (rc == MEMCACHED_SUCCESS)
            number = cache_fetch_number(c, &have, &cas, &found, &rc);
        memcached_behavior_set(c->memc, MEMCACHED_BEHAVIOR_SUPPORT_CAS, 0);
        if (rc != MEMCACHED_SUCCESS)
            break;
        if (number && have >= value)
            break;
        rc = found ? memcached_cas_by_key(c->memc, CACHE_MASTER(group, k, klen), k, klen, text, tlen, 0, 0, cas)
                   : memcached_add_by_key(c->memc, CACHE_MASTER(group, k, klen), k, klen, text, tlen, 0, 0);
        if (rc != MEMCACHED_DATA_EXISTS && rc != MEMCACHED_NOTSTORED && rc != MEMCACHED_NOTFOUND)
            break;                       /* stored, or a real failure; else someone raced us: again */
    }
    cache_server_outcome(c, server, rc);
    if (rc != MEMCACHED_SUCCESS)
        return cache_fail(c, ns, rc);
    cache_ns_add(c, ns, sets, 1);
    return CACHE_OK;
}

uint64_t cache_unsynced_epoch(const struct cache *c)
{
    return c != NULL ? __atomic_load_n(&c->shared->unsynced_epoch, __ATOMIC_ACQUIRE) : 0;
}

void cache_unsynced_announce(struct cache *c)
{
    if (c != NULL)
        __atomic_fetch_add(&c->shared->unsynced_epoch, 1, __ATOMIC_RELEASE);
}

/* One cache_mget call: the caller's keys built, and which of them are sent
 * (not on a server whose breaker is open) and answered. */
struct cache_mget_req {
    char (*storage)[LIMIT_CACHE_KEY_BYTES + 1];
    const char **built;                  /* sent keys, compacted */
    size_t *lens;
    size_t *index;                       /* sent position -> caller's index */
    bool *answered;                      /* by sent position */
    size_t sent;
    uint32_t server;                     /* the one server of all sent keys, or UINT32_MAX */
};

static int cache_mget_prepare(struct cache *c, enum cache_ns ns, const struct cache_group *group,
                              struct cache_mget_req *rq, const char *const *keys, const size_t *key_lens, size_t count)
{
    rq->storage = malloc(count * sizeof(*rq->storage));
    rq->built = malloc(count * sizeof(*rq->built));
    rq->lens = malloc(count * sizeof(*rq->lens));
    rq->index = malloc(count * sizeof(*rq->index));
    rq->answered = calloc(count, sizeof(*rq->answered));
    if (rq->storage == NULL || rq->built == NULL || rq->lens == NULL || rq->index == NULL || rq->answered == NULL)
        return -1;
    bool skipped = false;
    for (size_t i = 0; i < count; i++) {
        size_t len = cache_key_op(c, ns, keys[i], key_lens[i], rq->storage[i]);
        uint32_t s = group != NULL ? cache_server_of(c, group->key, group->len) : cache_server_of(c, rq->storage[i], len);
        if (cache_server_open(c, s)) {
            skipped = true;
            continue;
        }
        rq->server = rq->sent == 0 || rq->server == s ? s : UINT32_MAX;
        rq->built[rq->sent] = rq->storage[i];
        rq->lens[rq->sent] = len;
        rq->index[rq->sent++] = i;
    }
    if (skipped)
        cache_fail(c, ns, MEMCACHED_SERVER_TEMPORARILY_DISABLED);
    return 0;
}

static void cache_mget_release(struct cache_mget_req *rq)
{
    free(rq->storage);
    free(rq->built);
    free(rq->lens);
    free(rq->index);
    free(rq->answered);
}

/* Sent position of the first unanswered key equal to k. */
static size_t cache_mget_match(const struct cache_mget_req *rq, const char *k, size_t klen)
{
    for (size_t i = 0; i < rq->sent; i++)
        if (!rq->answered[i] && rq->lens[i] == klen && memcmp(rq->built[i], k, klen) == 0)
            return i;
    return rq->sent;
}

/* Fetches the answers; returns the hit count, *rc the first failure seen. */
static int cache_mget_fetch(struct cache *c, struct cache_mget_req *rq, cache_mget_fn fn, void *arg,
                            memcached_return_t *rc)
{
    int hits = 0;
    memcached_return_t frc;
    memcached_result_st *result;
    while ((result = memcached_fetch_result(c->memc, NULL, &frc)) != NULL) {
        size_t i = cache_mget_match(rq, memcached_result_key_value(result), memcached_result_key_length(result));
        if (i < rq->sent) {
            rq->answered[i] = true;
            fn(arg, rq->index[i], memcached_result_value(result), memcached_result_length(result));
            hits++;
        }
        memcached_result_free(result);
    }
    if (frc != MEMCACHED_END && frc != MEMCACHED_SUCCESS && frc != MEMCACHED_NOTFOUND && *rc == MEMCACHED_SUCCESS)
        *rc = frc;
    return hits;
}

int cache_mget(struct cache *c, const char *ns_name, const char *const *keys, const size_t *key_lens, size_t count,
               cache_mget_fn fn, void *arg)
{
    return cache_group_mget(c, ns_name, NULL, keys, key_lens, count, fn, arg);
}

int cache_group_mget(struct cache *c, const char *ns_name, const struct cache_group *group, const char *const *keys,
                     const size_t *key_lens, size_t count, cache_mget_fn fn, void *arg)
{
    enum cache_ns ns = c != NULL ? cache_ns_of(c, ns_name) : CACHE_NS_NONE;
    if (!cache_usable(c, ns) || count > LIMIT_CACHE_MGET_KEYS) {
        cache_refuse(c, ns);
        return -1;
    }
    if (count == 0)
        return 0;
    struct cache_mget_req rq = {0};
    int hits = -1;
    if (cache_mget_prepare(c, ns, group, &rq, keys, key_lens, count) != 0) {
        cache_fail(c, ns, MEMCACHED_MEMORY_ALLOCATION_FAILURE);
        goto out;
    }
    hits = 0;
    if (rq.sent > 0) {
        /* SOME_ERRORS: a server could not be asked; the others still answer. */
        memcached_return_t rc =
            group != NULL ? memcached_mget_by_key(c->memc, group->key, group->len, rq.built, rq.lens, rq.sent)
                          : memcached_mget(c->memc, rq.built, rq.lens, rq.sent);
        if (rc != MEMCACHED_SUCCESS && rc != MEMCACHED_SOME_ERRORS) {
            cache_fail(c, ns, rc);
            hits = -1;
            goto out;
        }
        hits = cache_mget_fetch(c, &rq, fn, arg, &rc);
        /* Only an mget that went to one server can blame it for a timeout. */
        if (rq.server != UINT32_MAX)
            cache_server_outcome(c, rq.server, rc);
        if (rc != MEMCACHED_SUCCESS)
            cache_fail(c, ns, rc);       /* one error for the call */
    }
    /* Keys not returned count as misses, whatever the reason. */
    cache_ns_add(c, ns, hits, hits);
    cache_ns_add(c, ns, misses, count - (size_t)hits);
out:
    cache_mget_release(&rq);
    return hits;
}

/* memcached_version() is no probe: libmemcached asks each server once and
 * then answers from memory. A get of a key is a real round trip (a miss is
 * an answer), one key per server (cache_ping_each); the probes count as
 * gets in the health namespace. */
bool cache_ping(struct cache *c, double *latency_ms)
{
    double start = clock_ms();
    bool answered = false;
    struct cache_server_ping ping[CACHE_SERVERS_MAX];
    if (!cache_usable(c, CACHE_NS_HEALTH))
        cache_refuse(c, CACHE_NS_HEALTH);
    int n = cache_ping_each(c, ping, CACHE_SERVERS_MAX);
    for (int i = 0; i < n; i++)
        answered = answered || ping[i].up;
    *latency_ms = clock_ms() - start;
    return answered;
}

/* Each server by its own probe key: a server whose breaker is open (hung,
 * or refused twice) is down at once, without a wait. */
int cache_ping_each(struct cache *c, struct cache_server_ping *out, int max)
{
    int n = 0;
    if (!cache_usable(c, CACHE_NS_HEALTH))
        return 0;
    for (uint32_t s = 0; s < c->server_count && n < max; s++, n++) {
        struct cache_server_ping *p = &out[n];
        const memcached_instance_st *in = memcached_server_instance_by_position(c->memc, s);
        snprintf(p->server, sizeof(p->server), "%s:%u", in ? memcached_server_name(in) : "?",
                 in ? (unsigned)memcached_server_port(in) : 0);
        double start = clock_ms();
        p->up = false;
        if (c->servers[s].probe_id != UINT32_MAX) {
            char probe[32], *v = NULL;
            size_t len;
            int plen = snprintf(probe, sizeof(probe), "probe:%u", c->servers[s].probe_id);
            p->up = cache_get(c, "health", probe, (size_t)plen, &v, &len) != CACHE_ERROR;
            free(v);
        }
        p->latency_ms = clock_ms() - start;
    }
    return n;
}
