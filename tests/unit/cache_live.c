/* cache_live: manual integration check of app/cache against a real
 * memcached (not part of `make check`: it needs a server and sleeps).
 *
 *   cache_live SERVERS                           functional checks
 *   cache_live SERVERS --recovery STOP START     server killed, then restarted
 *   cache_live SERVERS --stall STOP CONT         server hung (SIGSTOP), resumed
 *
 * STOP/START/CONT are shell commands run with system(), e.g.
 *   'kill $(cat /tmp/mc.pid)'  'memcached -u nobody -l 127.0.0.1 -p 23411 -d -P /tmp/mc.pid'
 * The failure modes print what they measure (latency of failing operations,
 * time to recover) and check the behaviour cache.h promises: operations fail
 * fast while the server is away, and the same client uses it again within
 * about the retry timeout once it is back. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "cache/cache.h"

#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#define LIVE_FAIL_FAST_MS     120.0   /* one connect/poll timeout (50 ms) plus slack */
#define LIVE_RECOVER_MAX_MS   4000.0  /* retry timeout is 1 s; seconds are coarse */
#define LIVE_DOWN_SECONDS     3

static double live_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

static void live_sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static int live_run(const char *cmd)
{
    printf("  $ %s\n", cmd);
    fflush(stdout);
    return system(cmd);
}

static void live_print_counters(const struct cache_shared *sh)
{
    for (int ns = 0; ns < cache_ns_count(sh); ns++) {
        const struct cache_ns_counters *n = &sh->ns[ns];
        if (n->hits + n->misses + n->sets + n->deletes + n->errors == 0)
            continue;
        printf("  %-8s hits=%llu misses=%llu sets=%llu deletes=%llu errors=%llu\n", cache_ns_name(sh, ns),
               (unsigned long long)n->hits, (unsigned long long)n->misses, (unsigned long long)n->sets,
               (unsigned long long)n->deletes, (unsigned long long)n->errors);
    }
    printf("  timeouts=%llu server_failures=%llu\n", (unsigned long long)sh->timeouts,
           (unsigned long long)sh->server_failures);
}

/* Checks a get returns exactly want. */
static void live_expect(struct cache *c, const char *ns, const char *key, const char *want, size_t want_len)
{
    char *v = NULL;
    size_t len = 99;
    enum cache_result r = cache_get(c, ns, key, strlen(key), &v, &len);
    CHECK_INT(r, CACHE_OK);
    CHECK_INT(len, want_len);
    CHECK(v != NULL && memcmp(v, want, want_len) == 0 && v[want_len] == '\0');
    free(v);
}

static void live_expect_miss(struct cache *c, const char *ns, const char *key)
{
    char *v = (char *)1;
    size_t len = 99;
    CHECK_INT(cache_get(c, ns, key, strlen(key), &v, &len), CACHE_MISS);
    CHECK(v == NULL);
    CHECK_INT(len, 0);
}

struct live_mget {
    int seen[8];
    char values[8][16];
};

static void live_mget_cb(void *arg, size_t index, const char *value, size_t value_len)
{
    struct live_mget *m = arg;
    if (index >= 8 || value_len >= sizeof(m->values[0]))
        return;
    m->seen[index]++;
    memcpy(m->values[index], value, value_len);
    m->values[index][value_len] = '\0';
}

static void live_mget(struct cache *c)
{
    const char *keys[] = {"m0", "m1", "m2", "m3", "m1", "long key with spaces"};
    size_t lens[6];
    for (int i = 0; i < 6; i++)
        lens[i] = strlen(keys[i]);
    CHECK_INT(cache_set(c, "metrics", "m0", 2, "v0", 2, 60), CACHE_OK);
    CHECK_INT(cache_set(c, "metrics", "m1", 2, "v1", 2, 60), CACHE_OK);
    CHECK_INT(cache_delete(c, "metrics", "m2", 2), CACHE_OK);
    CHECK_INT(cache_set(c, "metrics", "m3", 2, "v3", 2, 60), CACHE_OK);
    CHECK_INT(cache_set(c, "metrics", keys[5], lens[5], "v5", 2, 60), CACHE_OK);
    struct live_mget m = {0};
    int hits = cache_mget(c, "metrics", keys, lens, 6, live_mget_cb, &m);
    printf("  mget: %d hits of 6 keys (one missing, one duplicate)\n", hits);
    CHECK(hits == 4 || hits == 5);       /* the duplicate is answered at most once more */
    CHECK_INT(m.seen[0], 1);
    CHECK_STR(m.values[0], "v0");
    CHECK_INT(m.seen[1], 1);
    CHECK_STR(m.values[1], "v1");
    CHECK_INT(m.seen[2], 0);
    CHECK_STR(m.values[3], "v3");
    CHECK_STR(m.values[5], "v5");
    CHECK_INT(cache_mget(c, "metrics", keys, lens, 0, live_mget_cb, &m), 0);
    CHECK_INT(cache_mget(c, "metrics", keys, lens, LIMIT_CACHE_MGET_KEYS + 1, live_mget_cb, &m), -1);
}

static void live_values(struct cache *c)
{
    /* Binary value with NULs, empty value. */
    static const char bin[] = {'a', 0, 'b', 0, 'c'};
    CHECK_INT(cache_set(c, "users", "bin", 3, bin, sizeof(bin), 60), CACHE_OK);
    live_expect(c, "users", "bin", bin, sizeof(bin));
    CHECK_INT(cache_set(c, "users", "empty", 5, "", 0, 60), CACHE_OK);
    live_expect(c, "users", "empty", "", 0);

    /* Oversized values are refused before the network; memcached's own
     * limit (-I 1m, key and item header included) may refuse a bit less. */
    size_t big = LIMIT_CACHE_VALUE_BYTES + 1;
    char *buf = malloc(big);
    if (buf == NULL)
        return;
    memset(buf, 'x', big);
    CHECK_INT(cache_set(c, "users", "big", 3, buf, big, 60), CACHE_ERROR);
    enum cache_result at_limit = cache_set(c, "users", "big", 3, buf, LIMIT_CACHE_VALUE_BYTES, 60);
    printf("  set of exactly LIMIT_CACHE_VALUE_BYTES (%d): %s\n", LIMIT_CACHE_VALUE_BYTES,
           at_limit == CACHE_OK ? "stored" : "refused by memcached");
    size_t fits = 1000 * 1000;
    CHECK_INT(cache_set(c, "users", "big", 3, buf, fits, 60), CACHE_OK);
    char *v = NULL;
    size_t len = 0;
    CHECK_INT(cache_get(c, "users", "big", 3, &v, &len), CACHE_OK);
    CHECK_INT(len, fits);
    free(v);
    free(buf);
}

static void live_keys(struct cache *c)
{
    char longkey[600];
    memset(longkey, 'L', sizeof(longkey) - 1);
    longkey[sizeof(longkey) - 1] = '\0';
    CHECK_INT(cache_set(c, "profiles", longkey, strlen(longkey), "long", 4, 60), CACHE_OK);
    live_expect(c, "profiles", longkey, "long", 4);
    CHECK_INT(cache_set(c, "profiles", "a b\r\nc", 6, "ctl", 3, 60), CACHE_OK);
    live_expect(c, "profiles", "a b\r\nc", "ctl", 3);
    live_expect_miss(c, "profiles", "a");           /* the injection did not split */
    /* Same key, different namespaces. */
    CHECK_INT(cache_set(c, "sessions", "same", 4, "s", 1, 60), CACHE_OK);
    CHECK_INT(cache_set(c, "users", "same", 4, "u", 1, 60), CACHE_OK);
    live_expect(c, "sessions", "same", "s", 1);
    live_expect(c, "users", "same", "u", 1);
}

/* cache_incr: created at delta, then incremented; several processes on
 * one counter never lose an increment; the expiry set at creation holds. */
static void live_counter(struct cache *c)
{
    char key[64];
    int kl = snprintf(key, sizeof(key), "counter:%u", (unsigned)getpid() ^ (unsigned)time(NULL));
    uint64_t v = 99;
    CHECK_INT(cache_incr(c, "ratelimit", key, (size_t)kl, 1, 60, &v), CACHE_OK);
    CHECK_INT(v, 1);
    CHECK_INT(cache_incr(c, "ratelimit", key, (size_t)kl, 5, 60, &v), CACHE_OK);
    CHECK_INT(v, 6);
    /* 4 processes x 250 increments of a fresh counter, each creating it if
     * it sees none: the total is exact. */
    kl = snprintf(key, sizeof(key), "race:%u", (unsigned)getpid() ^ (unsigned)time(NULL));
    fflush(stdout);
    pid_t kids[4];
    for (int k = 0; k < 4; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            struct cache *mine = cache_create(getenv("CACHE_LIVE_SERVERS"), NULL);
            int bad = 0;
            for (int i = 0; i < 250; i++) {
                uint64_t got = 0;
                bad += cache_incr(mine, "ratelimit", key, (size_t)kl, 1, 60, &got) != CACHE_OK;
            }
            cache_destroy(mine);
            _exit(bad ? 1 : 0);
        }
    }
    for (int k = 0; k < 4; k++) {
        int status = -1;
        waitpid(kids[k], &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    char *text = NULL;
    size_t len = 0;
    CHECK_INT(cache_get(c, "ratelimit", key, (size_t)kl, &text, &len), CACHE_OK);
    CHECK_STR(text, "1000");
    free(text);
    /* A non-numeric value is an error, not a reset. */
    CHECK_INT(cache_set(c, "ratelimit", "text", 4, "abc", 3, 60), CACHE_OK);
    CHECK_INT(cache_incr(c, "ratelimit", "text", 4, 1, 60, &v), CACHE_ERROR);
    CHECK_INT(v, 0);
    /* Expiry from creation: increments do not extend it. */
    CHECK_INT(cache_incr(c, "ratelimit", "ttl", 3, 1, 1, &v), CACHE_OK);
    CHECK_INT(cache_incr(c, "ratelimit", "ttl", 3, 1, 1, &v), CACHE_OK);
    CHECK_INT(v, 2);
    printf("  waiting 2 s for a counter's 1 s TTL...\n");
    live_sleep_ms(2100);
    CHECK_INT(cache_incr(c, "ratelimit", "ttl", 3, 1, 1, &v), CACHE_OK);
    CHECK_INT(v, 1);
}

/* A shared counter block gets its namespaces from the module table in
 * tallyd; here, the ones these checks use. */
static void live_register(struct cache_shared *sh)
{
    static const char *const names[] = {"auth", "users", "metrics", "profiles", "sessions", "ratelimit"};
    memset(sh, 0, sizeof(*sh));
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        cache_ns_register(sh, names[i]);
}

static int live_functional(const char *servers)
{
    struct cache_shared sh;
    live_register(&sh);
    struct cache *c = cache_create(servers, &sh);
    CHECK(c != NULL && cache_enabled(c));
    if (c == NULL)
        CHECK_DONE();

    double ms = -1;
    CHECK(cache_ping(c, &ms));
    printf("  ping: %.3f ms\n", ms);

    CHECK_INT(cache_set(c, "auth", "tok", 3, "user=1", 6, 60), CACHE_OK);
    live_expect(c, "auth", "tok", "user=1", 6);
    CHECK_INT(cache_set(c, "auth", "tok", 3, "user=2", 6, 60), CACHE_OK);
    live_expect(c, "auth", "tok", "user=2", 6);
    CHECK_INT(cache_delete(c, "auth", "tok", 3), CACHE_OK);
    live_expect_miss(c, "auth", "tok");
    CHECK_INT(cache_delete(c, "auth", "tok", 3), CACHE_OK);   /* not found is OK */

    live_values(c);
    live_keys(c);
    live_mget(c);
    setenv("CACHE_LIVE_SERVERS", servers, 1);
    live_counter(c);

    CHECK_INT(cache_set(c, "sessions", "ttl", 3, "short", 5, 1), CACHE_OK);
    live_expect(c, "sessions", "ttl", "short", 5);
    printf("  waiting 2 s for a 1 s TTL...\n");
    live_sleep_ms(2100);
    live_expect_miss(c, "sessions", "ttl");

    /* Counters: exact values for the auth namespace. */
    CHECK_INT(sh.ns[cache_ns_parse(&sh, "auth")].sets, 2);
    CHECK_INT(sh.ns[cache_ns_parse(&sh, "auth")].hits, 2);
    CHECK_INT(sh.ns[cache_ns_parse(&sh, "auth")].misses, 1);
    CHECK_INT(sh.ns[cache_ns_parse(&sh, "auth")].deletes, 2);
    CHECK_INT(sh.ns[cache_ns_parse(&sh, "auth")].errors, 0);
    CHECK(sh.ns[cache_ns_parse(&sh, "users")].errors >= 1);               /* the oversized set */
    CHECK_INT(sh.timeouts, 0);
    CHECK_INT(sh.server_failures, 0);
    live_print_counters(&sh);
    cache_destroy(c);

    /* A disabled cache: every op is an error, nothing crashes. */
    live_register(&sh);
    c = cache_create("", &sh);
    CHECK(c != NULL && !cache_enabled(c));
    char *v = NULL;
    size_t len;
    CHECK_INT(cache_get(c, "auth", "k", 1, &v, &len), CACHE_ERROR);
    CHECK_INT(cache_set(c, "auth", "k", 1, "v", 1, 0), CACHE_ERROR);
    CHECK_INT(cache_delete(c, "auth", "k", 1), CACHE_ERROR);
    CHECK(!cache_ping(c, &ms));
    CHECK_INT(sh.ns[cache_ns_parse(&sh, "auth")].errors, 3);
    CHECK_INT(sh.server_failures, 0);
    cache_destroy(c);
    cache_destroy(NULL);
    CHECK_INT(cache_get(NULL, "auth", "k", 1, &v, &len), CACHE_ERROR);
    CHECK_DONE();
}

/* One round of traffic: a set and a get of a fresh key; returns ms taken and
 * whether both succeeded. */
static bool live_round(struct cache *c, unsigned n, double *ms)
{
    char key[32], val[32];
    int kl = snprintf(key, sizeof(key), "r%u", n), vl = snprintf(val, sizeof(val), "v%u", n);
    double t0 = live_now_ms();
    bool ok = cache_set(c, "users", key, (size_t)kl, val, (size_t)vl, 60) == CACHE_OK;
    char *v = NULL;
    size_t len = 0;
    enum cache_result r = cache_get(c, "users", key, (size_t)kl, &v, &len);
    if (r == CACHE_OK && (len != (size_t)vl || memcmp(v, val, len) != 0)) {
        fprintf(stderr, "  WRONG VALUE for %s: got %.*s\n", key, (int)len, v);
        CHECK(0);
    }
    ok = ok && r == CACHE_OK;
    free(v);
    *ms = live_now_ms() - t0;
    return ok;
}

/* Traffic every 20 ms for `seconds` while the server is away: every round
 * must fail, and fail fast. */
static void live_while_down(struct cache *c, int seconds, unsigned *n)
{
    double worst = 0, total = 0;
    int rounds = 0, ok = 0;
    for (double end = live_now_ms() + seconds * 1000.0; live_now_ms() < end; rounds++) {
        double ms;
        ok += live_round(c, (*n)++, &ms);
        total += ms;
        if (ms > worst)
            worst = ms;
        live_sleep_ms(20);
    }
    printf("  while away: %d rounds (set+get), %d succeeded, mean %.3f ms, worst %.3f ms\n", rounds, ok,
           rounds ? total / rounds : 0.0, worst);
    CHECK_INT(ok, 0);
    CHECK(worst < 2 * LIVE_FAIL_FAST_MS);
}

/* Traffic every 20 ms until a round succeeds; returns ms until then. */
static double live_until_back(struct cache *c, unsigned *n)
{
    double t0 = live_now_ms(), ms;
    int rounds = 0;
    while (!live_round(c, (*n)++, &ms) && live_now_ms() - t0 < 3 * LIVE_RECOVER_MAX_MS) {
        rounds++;
        live_sleep_ms(20);
    }
    double took = live_now_ms() - t0;
    printf("  back after %.0f ms (%d failed rounds first)\n", took, rounds);
    return took;
}

static int live_failure(const char *servers, const char *mode, const char *stop, const char *start)
{
    struct cache_shared sh;
    live_register(&sh);
    struct cache *c = cache_create(servers, &sh);
    unsigned n = 0;
    double ms;
    CHECK(c != NULL && live_round(c, n++, &ms));
    CHECK_INT(cache_set(c, "auth", "before", 6, "kept", 4, 600), CACHE_OK);
    printf("  healthy round: %.3f ms\n", ms);

    live_run(stop);
    /* memcached notices SIGTERM on its next clock tick (up to 1 s) and keeps
     * serving meanwhile: wait until it stops answering. */
    double pms, t0 = live_now_ms();
    while (cache_ping(c, &pms) && live_now_ms() - t0 < 5000)
        live_sleep_ms(20);
    printf("  server stopped answering after %.0f ms\n", live_now_ms() - t0);
    live_register(&sh);
    live_while_down(c, LIVE_DOWN_SECONDS, &n);
    bool pinged = cache_ping(c, &pms);
    printf("  ping while away: %s in %.3f ms\n", pinged ? "answered" : "no answer", pms);
    CHECK(!pinged);
    live_print_counters(&sh);
    CHECK(sh.ns[cache_ns_parse(&sh, "users")].errors > 0);
    CHECK(sh.timeouts + sh.server_failures > 0);

    live_run(start);
    double took = live_until_back(c, &n);
    CHECK(took < LIVE_RECOVER_MAX_MS);
    /* The first rounds after recovery must all succeed and return their own
     * values (a hung connection answering late must not desync replies). */
    int ok = 0;
    for (int i = 0; i < 50; i++) {
        ok += live_round(c, n++, &ms);
        live_sleep_ms(5);
    }
    printf("  after recovery: %d/50 rounds ok\n", ok);
    CHECK_INT(ok, 50);
    CHECK(cache_ping(c, &pms));
    if (strcmp(mode, "--stall") == 0)
        live_expect(c, "auth", "before", "kept", 4);     /* a hung server keeps its data */
    live_print_counters(&sh);
    cache_destroy(c);
    CHECK_DONE();
}

int main(int argc, char **argv)
{
    if (argc == 2)
        return live_functional(argv[1]);
    if (argc == 5 && (strcmp(argv[2], "--recovery") == 0 || strcmp(argv[2], "--stall") == 0))
        return live_failure(argv[1], argv[2], argv[3], argv[4]);
    fprintf(stderr, "usage: %s SERVERS [--recovery STOP START | --stall STOP CONT]\n", argv[0]);
    return 2;
}
