/* The pool side of app/cache without a running memcached: the per-server
 * probe (health names each server of the list, in order) and the group
 * calls on a disabled cache and on servers that refuse connections
 * (127.0.0.1 ports 1-3: nothing listens there; a refused connect fails at
 * once). tests/scale/10_mcpool covers a live pool of three. */
#include "check.h"
#include "cache/cache.h"

#include <stdlib.h>

static int mget_calls;

static void mget_fn(void *arg, size_t index, const char *value, size_t value_len)
{
    (void)arg;
    (void)index;
    (void)value;
    (void)value_len;
    mget_calls++;
}

int main(void)
{
    struct cache_server_ping ping[CACHE_SERVERS_MAX];
    const struct cache_group group = {"u:42", 4};
    const char *keys[2] = {"t:42", "42:monthly_total:2026-10"};
    const size_t lens[2] = {4, 24};

    /* Disabled: no server to name, every group call an error. */
    struct cache *off = cache_create("", NULL);
    CHECK(off != NULL);
    CHECK_INT(cache_ping_each(off, ping, CACHE_SERVERS_MAX), 0);
    CHECK_INT(cache_group_set(off, "metrics", &group, keys[1], lens[1], "v", 1, 0), CACHE_ERROR);
    CHECK_INT(cache_group_set_max(off, "metrics", &group, keys[0], lens[0], 7), CACHE_ERROR);
    CHECK_INT(cache_group_mget(off, "metrics", &group, keys, lens, 2, mget_fn, NULL), -1);
    cache_destroy(off);

    /* Three servers that refuse: each named as configured, in order, down. */
    static struct cache_shared sh;
    int metrics = cache_ns_register(&sh, "metrics");
    CHECK(metrics > 0);
    struct cache *c = cache_create("127.0.0.1:1,127.0.0.1:2,127.0.0.1:3", &sh);
    CHECK(cache_enabled(c));
    int n = cache_ping_each(c, ping, CACHE_SERVERS_MAX);
    CHECK_INT(n, 3);
    CHECK_STR(ping[0].server, "127.0.0.1:1");
    CHECK_STR(ping[1].server, "127.0.0.1:2");
    CHECK_STR(ping[2].server, "127.0.0.1:3");
    for (int i = 0; i < n; i++) {
        CHECK(!ping[i].up);
        CHECK(ping[i].latency_ms >= 0 && ping[i].latency_ms < 1000);
    }
    /* max bounds what is filled */
    CHECK_INT(cache_ping_each(c, ping, 2), 2);
    double ms = -1;
    CHECK(!cache_ping(c, &ms));
    CHECK(ms >= 0);

    /* A grouped read of two keys on a refused server: no hit, both keys
     * counted as misses, the failure as one error; writes fail. */
    uint64_t errors0 = sh.ns[metrics].errors;
    mget_calls = 0;
    int hits = cache_group_mget(c, "metrics", &group, keys, lens, 2, mget_fn, NULL);
    CHECK(hits <= 0);
    CHECK_INT(mget_calls, 0);
    CHECK(sh.ns[metrics].errors > errors0);
    CHECK_INT(cache_group_set(c, "metrics", &group, keys[1], lens[1], "v", 1, 0), CACHE_ERROR);
    CHECK_INT(cache_group_set_max(c, "metrics", &group, keys[0], lens[0], 7), CACHE_ERROR);
    CHECK_INT(sh.ns[metrics].hits, 0);
    CHECK_INT(sh.ns[metrics].sets, 0);
    cache_destroy(c);
    CHECK_DONE();
}
