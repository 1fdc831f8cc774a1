/* cache_ns: the namespaces of the cache (see cache.h). Owns the registry
 * of names (shared memory, filled before fork), the per-namespace counters'
 * last-minute ring, the key scheme (`tally:<ns>[.<gen>]:<key>`, hashed when
 * it cannot be carried verbatim) and the namespace generations: a flush, and
 * the periodic re-read of `tally:generations` that spreads flushes across
 * hosts. The libmemcached client itself is cache.c's. */
#define _GNU_SOURCE
#include "cache_internal.h"
#include "../core/clock.h"
#include "../core/log.h"
#include "../core/sha256.h"

#include <libmemcached/memcached.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void cache_ns_zero(struct cache_ns_counters *n)
{
    __atomic_store_n(&n->hits, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&n->misses, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&n->sets, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&n->deletes, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&n->errors, 0, __ATOMIC_RELAXED);
}

/* The ring slot of the current second, claimed (and zeroed) by the first
 * process that counts in a new second. A count landing between another
 * process's claim and its zeroing is lost: the ring is an approximation,
 * the since-start counters are exact. */
struct cache_rate_slot *cache_rate_slot_now(struct cache_shared *sh)
{
    uint64_t sec = (uint64_t)time(NULL);
    struct cache_rate_slot *slot = &sh->rate[sec % CACHE_RATE_SLOTS];
    uint64_t seen = __atomic_load_n(&slot->second, __ATOMIC_RELAXED);
    if (seen != sec && __atomic_compare_exchange_n(&slot->second, &seen, sec, false, __ATOMIC_RELAXED,
                                                   __ATOMIC_RELAXED))
        for (int i = 0; i < CACHE_NS_MAX; i++)
            cache_ns_zero(&slot->ns[i]);
    return slot;
}

static bool cache_ns_valid_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= CACHE_NS_NAME_BYTES)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
            return false;
    return true;
}

void cache_ns_ensure_health(struct cache_shared *sh)
{
    if (sh->ns_count == 0) {
        snprintf(sh->ns_names[CACHE_NS_HEALTH], CACHE_NS_NAME_BYTES, "%s", "health");
        sh->ns_count = 1;
    }
}

int cache_ns_register(struct cache_shared *sh, const char *name)
{
    cache_ns_ensure_health(sh);
    if (!cache_ns_valid_name(name))
        return -1;
    enum cache_ns found = cache_ns_parse(sh, name);
    if (found != CACHE_NS_NONE)
        return (int)found;
    if (sh->ns_count >= CACHE_NS_MAX)
        return -1;
    snprintf(sh->ns_names[sh->ns_count], CACHE_NS_NAME_BYTES, "%s", name);
    return (int)sh->ns_count++;
}

int cache_ns_count(const struct cache_shared *sh)
{
    return sh->ns_count == 0 ? 1 : (int)sh->ns_count;
}

const char *cache_ns_name(const struct cache_shared *sh, int ns)
{
    if (ns == CACHE_NS_HEALTH)
        return "health";
    return ns > 0 && ns < cache_ns_count(sh) ? sh->ns_names[ns] : "unknown";
}

enum cache_ns cache_ns_parse(const struct cache_shared *sh, const char *name)
{
    if (name == NULL)
        return CACHE_NS_NONE;
    if (strcmp(name, "health") == 0)
        return CACHE_NS_HEALTH;
    for (int i = 1; i < cache_ns_count(sh); i++)
        if (strcmp(name, sh->ns_names[i]) == 0)
            return (enum cache_ns)i;
    return CACHE_NS_NONE;
}

/* A namespace by name. A process with private counters (tallyctl) learns
 * names as it meets them; in shared memory only the master registers
 * (before fork), so an unknown name there is a programming error. */
enum cache_ns cache_ns_of(struct cache *c, const char *name)
{
    enum cache_ns ns = cache_ns_parse(c->shared, name);
    if (ns == CACHE_NS_NONE && c->shared == &c->private_counters) {
        int i = cache_ns_register(c->shared, name);
        ns = i < 0 ? CACHE_NS_NONE : (enum cache_ns)i;
    }
    if (ns == CACHE_NS_NONE)
        log_error("cache: namespace \"%s\" is not registered (a module's cache_namespaces)", name);
    return ns;
}

/* ---- keys ---------------------------------------------------------------- */

/* A key stays verbatim if memcached's ASCII protocol can carry it (no space
 * or control byte) and it does not start with '#': hashed keys, and only
 * they, start with '#', so a caller cannot pick a key equal to the hashed
 * form of another one. */
static bool cache_key_plain(const char *key, size_t len)
{
    if (len > 0 && key[0] == '#')
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)key[i];
        if (ch <= 0x20 || ch == 0x7f)
            return false;
    }
    return true;
}

/* gen 0: `tally:<ns>:`; gen > 0: `tally:<ns>.<gen>:` (namespace names have
 * no '.', so the two forms never collide). */
static size_t cache_key_build_gen(const char *ns_name, uint64_t gen, const char *key, size_t key_len,
                                  char out[LIMIT_CACHE_KEY_BYTES + 1])
{
    char name[48];
    size_t name_len = gen == 0 ? (size_t)snprintf(name, sizeof(name), "%s", ns_name)
                               : (size_t)snprintf(name, sizeof(name), "%s.%llu", ns_name, (unsigned long long)gen);
    size_t prefix = 6 + name_len + 1;             /* "tally:" name ":" */
    memcpy(out, "tally:", 6);
    memcpy(out + 6, name, name_len);
    out[prefix - 1] = ':';
    if (key_len <= LIMIT_CACHE_KEY_BYTES - prefix && cache_key_plain(key, key_len)) {
        memcpy(out + prefix, key, key_len);
        out[prefix + key_len] = '\0';
        return prefix + key_len;
    }
    out[prefix] = '#';
    sha256_hex(key, key_len, out + prefix + 1);
    return prefix + 1 + 64;
}

size_t cache_key_build(const char *ns, const char *key, size_t key_len, char out[LIMIT_CACHE_KEY_BYTES + 1])
{
    return cache_key_build_gen(ns, 0, key, key_len, out);
}

static void cache_generation_refresh(struct cache *c);

/* The key of an operation: with the namespace's current generation. */
size_t cache_key_op(struct cache *c, enum cache_ns ns, const char *key, size_t key_len,
                           char out[LIMIT_CACHE_KEY_BYTES + 1])
{
    cache_generation_refresh(c);
    uint64_t gen = ns == CACHE_NS_HEALTH ? 0 : __atomic_load_n(&c->shared->ns_generation[ns], __ATOMIC_RELAXED);
    return cache_key_build_gen(cache_ns_name(c->shared, ns), gen, key, key_len, out);
}

/* ---- admin: generations, flush, recent counters, server stats ------------- */

#define CACHE_GENERATIONS_KEY "tally:generations"

/* Parses "auth=3 users=1 ..." and raises the shared generations to it. */
static void cache_generations_merge(struct cache *c, const char *v, size_t len)
{
    char text[512];
    if (len >= sizeof(text))
        return;
    memcpy(text, v, len);
    text[len] = '\0';
    char *save = NULL;
    for (char *tok = strtok_r(text, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        if (eq == NULL)
            continue;
        *eq = '\0';
        enum cache_ns ns = cache_ns_parse(c->shared, tok);
        if (ns == CACHE_NS_NONE || ns == CACHE_NS_HEALTH)
            continue;
        uint64_t remote = strtoull(eq + 1, NULL, 10);
        uint64_t local = __atomic_load_n(&c->shared->ns_generation[ns], __ATOMIC_RELAXED);
        while (remote > local &&
               !__atomic_compare_exchange_n(&c->shared->ns_generation[ns], &local, remote, false,
                                            __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            ;
    }
}

/* At most once per CACHE_GENERATION_REFRESH_S per process: one get. A
 * failure is not retried before the next period. */
static void cache_generation_refresh(struct cache *c)
{
    uint64_t now_s = (uint64_t)(clock_ms() / 1000.0) + 1;   /* +1: 0 means never checked */
    if (c->generation_checked_s != 0 && now_s < c->generation_checked_s + CACHE_GENERATION_REFRESH_S)
        return;
    c->generation_checked_s = now_s;
    size_t klen = strlen(CACHE_GENERATIONS_KEY);
    uint32_t server = cache_server_of(c, CACHE_GENERATIONS_KEY, klen);
    if (cache_server_open(c, server))
        return;
    uint32_t flags = 0;
    size_t len = 0;
    memcached_return_t rc = MEMCACHED_FAILURE;
    char *v = memcached_get(c->memc, CACHE_GENERATIONS_KEY, klen, &len, &flags, &rc);
    cache_server_outcome(c, server, rc);
    if (rc == MEMCACHED_SUCCESS && v != NULL)
        cache_generations_merge(c, v, len);
    free(v);
}


enum cache_result cache_flush_namespace(struct cache *c, const char *ns_name)
{
    enum cache_ns ns = c != NULL ? cache_ns_of(c, ns_name) : CACHE_NS_NONE;
    if (!cache_usable(c, ns) || ns == CACHE_NS_HEALTH)
        return CACHE_ERROR;
    c->generation_checked_s = 0;
    cache_generation_refresh(c);          /* start from the newest known generation */
    __atomic_fetch_add(&c->shared->ns_generation[ns], 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&c->shared->flushes, 1, __ATOMIC_RELAXED);
    cache_ns_zero(&c->shared->ns[ns]);
    for (int i = 0; i < CACHE_RATE_SLOTS; i++)
        cache_ns_zero(&c->shared->rate[i].ns[ns]);
    char text[512];
    size_t len = 0;
    for (int i = 0; i < cache_ns_count(c->shared) && len < sizeof(text); i++)
        len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%s=%llu", i ? " " : "", cache_ns_name(c->shared, i),
                                (unsigned long long)__atomic_load_n(&c->shared->ns_generation[i], __ATOMIC_RELAXED));
    if (len >= sizeof(text))
        return CACHE_OK;
    memcached_return_t rc =
        memcached_set(c->memc, CACHE_GENERATIONS_KEY, strlen(CACHE_GENERATIONS_KEY), text, len, 0, 0);
    if (rc != MEMCACHED_SUCCESS)
        log_warn("cache: storing namespace generations: %s (other hosts learn the flush later)",
                 memcached_strerror(c->memc, rc));
    log_info("cache: namespace %s flushed (generation %llu)", cache_ns_name(c->shared, ns),
             (unsigned long long)__atomic_load_n(&c->shared->ns_generation[ns], __ATOMIC_RELAXED));
    return CACHE_OK;
}

void cache_ns_recent(const struct cache_shared *shared, unsigned seconds, struct cache_ns_counters *out)
{
    memset(out, 0, sizeof(*out) * CACHE_NS_MAX);
    if (seconds > CACHE_RATE_SLOTS - 2)
        seconds = CACHE_RATE_SLOTS - 2;
    uint64_t now = (uint64_t)time(NULL);
    for (int i = 0; i < CACHE_RATE_SLOTS; i++) {
        const struct cache_rate_slot *slot = &shared->rate[i];
        uint64_t sec = __atomic_load_n(&slot->second, __ATOMIC_RELAXED);
        if (sec == 0 || sec >= now || sec + seconds < now)
            continue;                    /* the current, partial second is left out */
        for (int n = 0; n < CACHE_NS_MAX; n++) {
            out[n].hits += __atomic_load_n(&slot->ns[n].hits, __ATOMIC_RELAXED);
            out[n].misses += __atomic_load_n(&slot->ns[n].misses, __ATOMIC_RELAXED);
            out[n].sets += __atomic_load_n(&slot->ns[n].sets, __ATOMIC_RELAXED);
            out[n].deletes += __atomic_load_n(&slot->ns[n].deletes, __ATOMIC_RELAXED);
            out[n].errors += __atomic_load_n(&slot->ns[n].errors, __ATOMIC_RELAXED);
        }
    }
}
