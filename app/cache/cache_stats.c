/* cache_stats: memcached's own figures for the ops pages, per server in
 * list order (`stats`, `stats slabs`, `stats items` through
 * memcached_stat_execute); a server that does not answer is marked down
 * and the others are still filled. */
#include "cache_internal.h"

#include "../core/log.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cache_stats_ctx {
    struct cache *c;
    struct cache_server_stats *out;
    int count;
};

/* The output row of the server a stats callback is about (NULL: not ours). */
static struct cache_server_stats *cache_stats_of(void *arg, const memcached_instance_st *server)
{
    struct cache_stats_ctx *x = arg;
    for (int i = 0; i < x->count; i++) {
        const memcached_instance_st *in = memcached_server_instance_by_position(x->c->memc, (uint32_t)i);
        if (in == server ||
            (in != NULL && memcached_server_port(in) == memcached_server_port(server) &&
             strcmp(memcached_server_name(in), memcached_server_name(server)) == 0))
            return &x->out[i];
    }
    return NULL;
}

static uint64_t cache_stat_u64(const char *v, size_t len)
{
    char tmp[32];
    if (len >= sizeof(tmp))
        len = sizeof(tmp) - 1;
    memcpy(tmp, v, len);
    tmp[len] = '\0';
    return strtoull(tmp, NULL, 10);
}

static bool cache_stat_is(const char *key, size_t klen, const char *want)
{
    return strlen(want) == klen && memcmp(key, want, klen) == 0;
}

static memcached_return_t cache_stat_general(const memcached_instance_st *server, const char *key, size_t klen,
                                             const char *value, size_t vlen, void *arg)
{
    struct cache_server_stats *s = cache_stats_of(arg, server);
    if (s == NULL)
        return MEMCACHED_SUCCESS;
    s->up = true;
    static const struct { const char *name; size_t off; } fields[] = {
        {"pid", offsetof(struct cache_server_stats, pid)},
        {"uptime", offsetof(struct cache_server_stats, uptime_s)},
        {"curr_items", offsetof(struct cache_server_stats, curr_items)},
        {"total_items", offsetof(struct cache_server_stats, total_items)},
        {"bytes", offsetof(struct cache_server_stats, bytes)},
        {"limit_maxbytes", offsetof(struct cache_server_stats, limit_maxbytes)},
        {"get_hits", offsetof(struct cache_server_stats, get_hits)},
        {"get_misses", offsetof(struct cache_server_stats, get_misses)},
        {"evictions", offsetof(struct cache_server_stats, evictions)},
        {"curr_connections", offsetof(struct cache_server_stats, curr_connections)},
        {"listen_disabled_num", offsetof(struct cache_server_stats, listen_disabled_num)},
        {"cmd_get", offsetof(struct cache_server_stats, cmd_get)},
        {"cmd_set", offsetof(struct cache_server_stats, cmd_set)},
    };
    if (cache_stat_is(key, klen, "version")) {
        size_t n = vlen < sizeof(s->version) - 1 ? vlen : sizeof(s->version) - 1;
        memcpy(s->version, value, n);
        s->version[n] = '\0';
        return MEMCACHED_SUCCESS;
    }
    for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++)
        if (cache_stat_is(key, klen, fields[f].name)) {
            *(uint64_t *)((char *)s + fields[f].off) = cache_stat_u64(value, vlen);
            break;
        }
    return MEMCACHED_SUCCESS;
}

/* The slab row of class id, added in first-seen order (bounded). */
static struct cache_slab_stats *cache_slab_row(struct cache_server_stats *s, uint32_t id)
{
    for (uint32_t i = 0; i < s->slab_count; i++)
        if (s->slabs[i].id == id)
            return &s->slabs[i];
    if (s->slab_count >= CACHE_SLABS_MAX)
        return NULL;
    struct cache_slab_stats *row = &s->slabs[s->slab_count++];
    memset(row, 0, sizeof(*row));
    row->id = id;
    return row;
}

/* `stats slabs` keys are "<id>:<field>" (plus totals without a colon);
 * `stats items` keys are "items:<id>:<field>". */
static memcached_return_t cache_stat_slabs(const memcached_instance_st *server, const char *key, size_t klen,
                                           const char *value, size_t vlen, void *arg)
{
    struct cache_server_stats *s = cache_stats_of(arg, server);
    if (s == NULL)
        return MEMCACHED_SUCCESS;
    char k[96];
    if (klen >= sizeof(k))
        return MEMCACHED_SUCCESS;
    memcpy(k, key, klen);
    k[klen] = '\0';
    if (strcmp(k, "total_malloced") == 0) {
        s->total_malloced = cache_stat_u64(value, vlen);
        return MEMCACHED_SUCCESS;
    }
    const char *p = strncmp(k, "items:", 6) == 0 ? k + 6 : k;
    char *end = NULL;
    unsigned long id = strtoul(p, &end, 10);
    if (end == p || *end != ':' || id == 0 || id > 4096)
        return MEMCACHED_SUCCESS;
    const char *field = end + 1;
    struct cache_slab_stats *row = cache_slab_row(s, (uint32_t)id);
    if (row == NULL)
        return MEMCACHED_SUCCESS;
    uint64_t v = cache_stat_u64(value, vlen);
    if (p == k) {
        if (strcmp(field, "chunk_size") == 0) row->chunk_size = v;
        else if (strcmp(field, "chunks_per_page") == 0) row->chunks_per_page = v;
        else if (strcmp(field, "total_pages") == 0) row->total_pages = v;
        else if (strcmp(field, "total_chunks") == 0) row->total_chunks = v;
        else if (strcmp(field, "used_chunks") == 0) row->used_chunks = v;
        else if (strcmp(field, "mem_requested") == 0) row->mem_requested = v;
    } else {
        if (strcmp(field, "number") == 0) row->items = v;
        else if (strcmp(field, "evicted") == 0) row->evicted = v;
        else if (strcmp(field, "evicted_unfetched") == 0) row->evicted_unfetched = v;
        else if (strcmp(field, "age") == 0) row->age_s = v;
    }
    return MEMCACHED_SUCCESS;
}

#define CACHE_STATS_TIMEOUT_MS 100

static void cache_stats_one(struct cache_stats_ctx *x, const char *host, unsigned port)
{
    memcached_st *m = memcached_create(NULL);
    if (m == NULL)
        return;
    memcached_behavior_set(m, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, CACHE_STATS_TIMEOUT_MS);
    memcached_behavior_set(m, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, CACHE_STATS_TIMEOUT_MS);
    memcached_behavior_set(m, MEMCACHED_BEHAVIOR_SND_TIMEOUT, CACHE_STATS_TIMEOUT_MS * 1000);
    memcached_behavior_set(m, MEMCACHED_BEHAVIOR_RCV_TIMEOUT, CACHE_STATS_TIMEOUT_MS * 1000);
    memcached_return_t rc = memcached_server_add(m, host, (in_port_t)port);
    if (rc == MEMCACHED_SUCCESS)
        rc = memcached_stat_execute(m, NULL, cache_stat_general, x);
    if (rc == MEMCACHED_SUCCESS) {
        memcached_stat_execute(m, "slabs", cache_stat_slabs, x);
        memcached_stat_execute(m, "items", cache_stat_slabs, x);
    } else {
        log_debug("cache: stats of %s:%u: %s", host, port, memcached_strerror(m, rc));
    }
    memcached_free(m);
}

int cache_server_stats(struct cache *c, struct cache_server_stats *out, int max)
{
    if (!cache_enabled(c) || max <= 0)
        return 0;
    struct cache_stats_ctx x = {.c = c, .out = out, .count = (int)c->server_count < max ? (int)c->server_count : max};
    memset(out, 0, sizeof(*out) * (size_t)x.count);
    for (int i = 0; i < x.count; i++) {
        const memcached_instance_st *in = memcached_server_instance_by_position(c->memc, (uint32_t)i);
        if (in != NULL) {
            snprintf(out[i].host, sizeof(out[i].host), "%s", memcached_server_name(in));
            out[i].port = (unsigned)memcached_server_port(in);
        }
    }
    /* One short-lived client per server: memcached_stat_execute over the
     * pool stops at the first server that fails (measured with one of three
     * killed: every server came back down), and a hung one must cost its
     * own poll timeouts only. The callbacks find the row by name and port. */
    for (int i = 0; i < x.count; i++)
        cache_stats_one(&x, out[i].host, out[i].port);
    return x.count;
}
