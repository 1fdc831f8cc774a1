/* cache: see cache.h. */
#define _GNU_SOURCE
#include "cache.h"
#include "../core/sha256.h"

#include <libmemcached/memcached.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CACHE_CONNECT_TIMEOUT_MS 50
#define CACHE_POLL_TIMEOUT_MS    50
#define CACHE_FAILURE_LIMIT      2
#define CACHE_RETRY_TIMEOUT_S    1
#define CACHE_MGET_MAX           256

struct cache {
    memcached_st *memc;              /* NULL: cache disabled */
    struct cache_shared *shared;
    struct cache_shared private_counters;
};

static const char *const cache_ns_names[CACHE_NS_COUNT] = {
    [CACHE_NS_AUTH] = "auth",         [CACHE_NS_HEALTH] = "health",     [CACHE_NS_USERS] = "users",
    [CACHE_NS_METRICS] = "metrics",   [CACHE_NS_PROFILES] = "profiles", [CACHE_NS_SESSIONS] = "sessions",
};

#define cache_count(c, field) __atomic_fetch_add(&(c)->shared->field, 1, __ATOMIC_RELAXED)

const char *cache_ns_name(enum cache_ns ns)
{
    return (unsigned)ns < CACHE_NS_COUNT ? cache_ns_names[ns] : "unknown";
}

static bool cache_key_plain(const char *key, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)key[i];
        if (ch <= 0x20 || ch == 0x7f)
            return false;
    }
    return true;
}

size_t cache_key_build(enum cache_ns ns, const char *key, size_t key_len, char out[LIMIT_CACHE_KEY_BYTES + 1])
{
    const char *name = cache_ns_name(ns);
    size_t prefix = 6 + strlen(name) + 1;          /* "tally:" name ":" */
    memcpy(out, "tally:", 6);
    memcpy(out + 6, name, strlen(name));
    out[prefix - 1] = ':';
    if (prefix + key_len <= LIMIT_CACHE_KEY_BYTES && cache_key_plain(key, key_len)) {
        memcpy(out + prefix, key, key_len);
        out[prefix + key_len] = '\0';
        return prefix + key_len;
    }
    out[prefix] = '#';
    sha256_hex(key, key_len, out + prefix + 1);
    return prefix + 1 + 64;
}

struct cache *cache_create(const char *server_list, struct cache_shared *shared)
{
    struct cache *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->shared = shared ? shared : &c->private_counters;
    if (server_list == NULL || server_list[0] == '\0')
        return c;
    memcached_server_list_st servers = memcached_servers_parse(server_list);
    if (servers == NULL)
        return c;
    c->memc = memcached_create(NULL);
    if (c->memc != NULL) {
        memcached_server_push(c->memc, servers);
        memcached_st *m = c->memc;
        memcached_behavior_set(m, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 0);
        memcached_behavior_set(m, MEMCACHED_BEHAVIOR_DISTRIBUTION, MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA);
        memcached_behavior_set(m, MEMCACHED_BEHAVIOR_KETAMA_HASH, MEMCACHED_HASH_MD5);
        memcached_behavior_set(m, MEMCACHED_BEHAVIOR_NO_BLOCK, 1);
        memcached_behavior_set(m, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
        memcached_behavior_set(m, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, CACHE_CONNECT_TIMEOUT_MS);
        memcached_behavior_set(m, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, CACHE_POLL_TIMEOUT_MS);
        memcached_behavior_set(m, MEMCACHED_BEHAVIOR_SND_TIMEOUT, CACHE_POLL_TIMEOUT_MS * 1000);
        memcached_behavior_set(m, MEMCACHED_BEHAVIOR_RCV_TIMEOUT, CACHE_POLL_TIMEOUT_MS * 1000);
        memcached_behavior_set(m, MEMCACHED_BEHAVIOR_SERVER_FAILURE_LIMIT, CACHE_FAILURE_LIMIT);
        memcached_behavior_set(m, MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, CACHE_RETRY_TIMEOUT_S);
        memcached_behavior_set(m, MEMCACHED_BEHAVIOR_DEAD_TIMEOUT, CACHE_RETRY_TIMEOUT_S);
    }
    memcached_server_list_free(servers);
    return c;
}

void cache_destroy(struct cache *c)
{
    if (c == NULL)
        return;
    if (c->memc != NULL)
        memcached_free(c->memc);
    free(c);
}

/* Counts an error outcome and classifies it. */
static enum cache_result cache_fail(struct cache *c, enum cache_ns ns, memcached_return_t rc)
{
    cache_count(c, ns[ns].errors);
    if (rc == MEMCACHED_TIMEOUT)
        cache_count(c, timeouts);
    else if (rc == MEMCACHED_SERVER_MARKED_DEAD || rc == MEMCACHED_SERVER_TEMPORARILY_DISABLED ||
             rc == MEMCACHED_CONNECTION_FAILURE || rc == MEMCACHED_NO_SERVERS ||
             rc == MEMCACHED_UNKNOWN_READ_FAILURE || rc == MEMCACHED_WRITE_FAILURE ||
             rc == MEMCACHED_READ_FAILURE || rc == MEMCACHED_ERRNO)
        cache_count(c, server_failures);
    return CACHE_ERROR;
}

enum cache_result cache_get(struct cache *c, enum cache_ns ns, const char *key, size_t key_len, char **value,
                            size_t *value_len)
{
    *value = NULL;
    *value_len = 0;
    if (c == NULL || c->memc == NULL)
        return c ? cache_fail(c, ns, MEMCACHED_NO_SERVERS) : CACHE_ERROR;
    char k[LIMIT_CACHE_KEY_BYTES + 1];
    size_t klen = cache_key_build(ns, key, key_len, k);
    uint32_t flags = 0;
    memcached_return_t rc;
    char *v = memcached_get(c->memc, k, klen, value_len, &flags, &rc);
    if (rc == MEMCACHED_NOTFOUND) {
        cache_count(c, ns[ns].misses);
        free(v);
        return CACHE_MISS;
    }
    if (rc != MEMCACHED_SUCCESS || v == NULL) {
        free(v);
        *value_len = 0;
        return cache_fail(c, ns, rc);
    }
    if (*value_len == 0) {               /* libmemcached may return NULL-free empty values */
        free(v);
        v = calloc(1, 1);
        if (v == NULL)
            return cache_fail(c, ns, MEMCACHED_MEMORY_ALLOCATION_FAILURE);
    }
    cache_count(c, ns[ns].hits);
    *value = v;
    return CACHE_OK;
}

enum cache_result cache_set(struct cache *c, enum cache_ns ns, const char *key, size_t key_len, const char *value,
                            size_t value_len, unsigned ttl_s)
{
    if (c == NULL || c->memc == NULL || value_len > LIMIT_CACHE_VALUE_BYTES)
        return c ? cache_fail(c, ns, MEMCACHED_NO_SERVERS) : CACHE_ERROR;
    char k[LIMIT_CACHE_KEY_BYTES + 1];
    size_t klen = cache_key_build(ns, key, key_len, k);
    memcached_return_t rc = memcached_set(c->memc, k, klen, value, value_len, (time_t)ttl_s, 0);
    if (rc != MEMCACHED_SUCCESS)
        return cache_fail(c, ns, rc);
    cache_count(c, ns[ns].sets);
    return CACHE_OK;
}

enum cache_result cache_delete(struct cache *c, enum cache_ns ns, const char *key, size_t key_len)
{
    if (c == NULL || c->memc == NULL)
        return c ? cache_fail(c, ns, MEMCACHED_NO_SERVERS) : CACHE_ERROR;
    char k[LIMIT_CACHE_KEY_BYTES + 1];
    size_t klen = cache_key_build(ns, key, key_len, k);
    memcached_return_t rc = memcached_delete(c->memc, k, klen, 0);
    if (rc != MEMCACHED_SUCCESS && rc != MEMCACHED_NOTFOUND)
        return cache_fail(c, ns, rc);
    cache_count(c, ns[ns].deletes);
    return CACHE_OK;
}

int cache_mget(struct cache *c, enum cache_ns ns, const char *const *keys, const size_t *key_lens, size_t count,
               cache_mget_fn fn, void *arg)
{
    if (c == NULL || c->memc == NULL || count > CACHE_MGET_MAX) {
        if (c)
            cache_fail(c, ns, MEMCACHED_NO_SERVERS);
        return -1;
    }
    if (count == 0)
        return 0;
    char (*built)[LIMIT_CACHE_KEY_BYTES + 1] = malloc(count * sizeof(*built));
    const char **ptrs = malloc(count * sizeof(*ptrs));
    size_t *lens = malloc(count * sizeof(*lens));
    int hits = -1;
    if (built == NULL || ptrs == NULL || lens == NULL)
        goto out;
    for (size_t i = 0; i < count; i++) {
        lens[i] = cache_key_build(ns, keys[i], key_lens[i], built[i]);
        ptrs[i] = built[i];
    }
    memcached_return_t rc = memcached_mget(c->memc, ptrs, lens, count);
    if (rc != MEMCACHED_SUCCESS) {
        cache_fail(c, ns, rc);
        goto out;
    }
    hits = 0;
    memcached_result_st *result;
    while ((result = memcached_fetch_result(c->memc, NULL, &rc)) != NULL) {
        const char *k = memcached_result_key_value(result);
        size_t klen = memcached_result_key_length(result);
        for (size_t i = 0; i < count; i++) {
            if (lens[i] == klen && memcmp(ptrs[i], k, klen) == 0) {
                fn(arg, i, memcached_result_value(result), memcached_result_length(result));
                hits++;
                break;
            }
        }
        memcached_result_free(result);
    }
    __atomic_fetch_add(&c->shared->ns[ns].hits, (uint64_t)hits, __ATOMIC_RELAXED);
    __atomic_fetch_add(&c->shared->ns[ns].misses, (uint64_t)(count - (size_t)hits), __ATOMIC_RELAXED);
out:
    free(built);
    free(ptrs);
    free(lens);
    return hits;
}

bool cache_ping(struct cache *c, double *latency_ms)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    char *v = NULL;
    size_t len;
    enum cache_result r = cache_get(c, CACHE_NS_HEALTH, "probe", 5, &v, &len);
    free(v);
    clock_gettime(CLOCK_MONOTONIC, &b);
    *latency_ms = (double)(b.tv_sec - a.tv_sec) * 1000.0 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
    return r != CACHE_ERROR;
}
