/* test_ratelimit: the limiter's arithmetic (app/ratelimit), with values
 * worked out by hand from the definition: B requests per window of
 * 60000 * B / R ms, windows aligned on multiples of their length. */
#include "check.h"
#include "core/config.h"
#include "ratelimit/ratelimit.h"

#include <stdint.h>

static void test_class(void)
{
    CHECK_INT(ratelimit_class_of("POST", "/api/v1/conversation/chat"), RATELIMIT_HEAVY);
    CHECK_INT(ratelimit_class_of("POST", "/api/v1/users/{id}/transactions/import"), RATELIMIT_HEAVY);
    CHECK_INT(ratelimit_class_of("POST", "/api/v1/datasets/{id}/versions/{v}/transform"), RATELIMIT_HEAVY);
    /* Reads of the same resources, and look-alike segments, are normal. */
    CHECK_INT(ratelimit_class_of("GET", "/api/v1/conversation/chat"), RATELIMIT_NORMAL);
    CHECK_INT(ratelimit_class_of("POST", "/api/v1/users/{id}/transactions"), RATELIMIT_NORMAL);
    CHECK_INT(ratelimit_class_of("POST", "/api/v1/chat/history"), RATELIMIT_NORMAL);
    CHECK_INT(ratelimit_class_of("POST", "/api/v1/imports"), RATELIMIT_NORMAL);
    CHECK_INT(ratelimit_class_of("POST", "/api/v1/x/chatty"), RATELIMIT_NORMAL);
    CHECK_INT(ratelimit_class_of("POST", "chat"), RATELIMIT_HEAVY);
    CHECK_INT(ratelimit_class_of(NULL, "/chat"), RATELIMIT_NORMAL);
    CHECK_INT(ratelimit_class_of("POST", NULL), RATELIMIT_NORMAL);
}

static void test_limits(void)
{
    struct config cfg;
    config_defaults(&cfg);
    struct ratelimit_limits n = ratelimit_limits_of(&cfg, RATELIMIT_NORMAL);
    struct ratelimit_limits h = ratelimit_limits_of(&cfg, RATELIMIT_HEAVY);
    CHECK_INT(n.per_minute, 600);        /* API.md defaults */
    CHECK_INT(n.burst, 60);
    CHECK_INT(h.per_minute, 60);
    CHECK_INT(h.burst, 10);
    struct ratelimit_window w;
    CHECK(ratelimit_window_of(&n, 0, &w));
    CHECK_INT(w.length_ms, 6000);        /* 60 per 6 s = 600 per minute */
    CHECK(ratelimit_window_of(&h, 0, &w));
    CHECK_INT(w.length_ms, 10000);       /* 10 per 10 s = 60 per minute */
    char err[128];
    CHECK_INT(config_set(&cfg, "rate_limit_per_minute", "0", err, sizeof(err)), 0);
    CHECK(!ratelimit_window_of(&(struct ratelimit_limits){0, 60}, 1000, &w));
    CHECK_INT(config_set(&cfg, "rate_limit_burst", "0", err, sizeof(err)), -1);
    CHECK_INT(config_set(&cfg, "rate_limit_heavy_burst", "7", err, sizeof(err)), 0);
    CHECK_INT(config_module_int(&cfg, "rate_limit_heavy_burst"), 7);
    CHECK_INT(ratelimit_limits_of(&cfg, RATELIMIT_HEAVY).burst, 7);
    CHECK_INT(config_set(&cfg, "rate_limit_heavy_per_minute", "-1", err, sizeof(err)), -1);
}

static void test_window(void)
{
    /* R = 60/min, B = 3: 3 requests per 3000 ms. */
    struct ratelimit_limits l = {60, 3};
    struct ratelimit_window w;
    int64_t now = 1700000001234;         /* 1700000001234 / 3000 = 566666667 rem 234 */
    CHECK(ratelimit_window_of(&l, now, &w));
    CHECK_INT(w.length_ms, 3000);
    CHECK_INT(w.index, 566666667);
    CHECK_INT(w.end_ms, 1700000004000);
    struct ratelimit_verdict v;
    ratelimit_decide(&l, &w, now, 1, 1, &v);
    CHECK(v.allowed);
    CHECK_INT(v.remaining, 2);
    CHECK_INT(v.reset_s, 3);             /* 2766 ms left -> 3 s */
    ratelimit_decide(&l, &w, now, 3, 1, &v);
    CHECK(v.allowed);
    CHECK_INT(v.remaining, 0);
    ratelimit_decide(&l, &w, now, 4, 1, &v);
    CHECK(!v.allowed);
    CHECK_INT(v.remaining, 0);
    CHECK_INT(v.reset_s, 3);
    /* 1 ms before the end: still 1 s (never 0); at the end: the next window. */
    ratelimit_decide(&l, &w, 1700000003999, 9, 1, &v);
    CHECK_INT(v.reset_s, 1);
    CHECK(ratelimit_window_of(&l, 1700000004000, &w));
    CHECK_INT(w.index, 566666668);
    /* Exactly 2000 ms left: 2 s, not 3. */
    ratelimit_decide(&l, &w, 1700000005000, 1, 1, &v);
    CHECK_INT(v.reset_s, 2);
    /* Rates that do not divide a minute: 7 per 60000*7/1000 = 420 ms. */
    CHECK(ratelimit_window_of(&(struct ratelimit_limits){1000, 7}, 839, &w));
    CHECK_INT(w.length_ms, 420);
    CHECK_INT(w.index, 1);
    CHECK_INT(w.end_ms, 840);
    ratelimit_decide(&(struct ratelimit_limits){1000, 7}, &w, 839, 8, 1, &v);
    CHECK(!v.allowed);
    CHECK_INT(v.reset_s, 1);
    /* A huge rate gives windows of 1 ms, never 0. */
    CHECK(ratelimit_window_of(&(struct ratelimit_limits){60000000, 1}, 5, &w));
    CHECK_INT(w.length_ms, 1);
    CHECK_INT(w.index, 5);
    CHECK(!ratelimit_window_of(&l, -1, &w));
}

static void test_key(void)
{
    const char *hash = "0123456789abcdef0123456789abcdefFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF";
    struct ratelimit_window w = {6000, 283333333, 1700000004000};
    char out[128];
    size_t n = ratelimit_key(RATELIMIT_NORMAL, &w, hash, out, sizeof(out));
    CHECK_STR(out, "n6000:283333333:0123456789abcdef0123456789abcdef");
    CHECK_INT(n, 16 + 32);             /* "n6000:283333333:" + 32 hex */
    ratelimit_key(RATELIMIT_HEAVY, &w, hash, out, sizeof(out));
    CHECK_STR(out, "h6000:283333333:0123456789abcdef0123456789abcdef");
    CHECK_INT(ratelimit_key(RATELIMIT_HEAVY, &w, hash, out, 20), 0);
    CHECK_INT(ratelimit_ttl_s(&w), 8);
    CHECK_INT(ratelimit_ttl_s(&(struct ratelimit_window){420, 0, 420}), 3);
}

static void test_leases(void)
{
    /* Lease size: B / 8, at most lease_max, at least 1 (exact) ... */
    CHECK_INT(ratelimit_lease_size(&(struct ratelimit_limits){600, 60}, 32), 7);        /* the defaults */
    CHECK_INT(ratelimit_lease_size(&(struct ratelimit_limits){60, 10}, 32), 1);         /* heavy default */
    CHECK_INT(ratelimit_lease_size(&(struct ratelimit_limits){60, 3}, 32), 1);
    CHECK_INT(ratelimit_lease_size(&(struct ratelimit_limits){600, 15}, 32), 1);        /* 15 / 8 */
    CHECK_INT(ratelimit_lease_size(&(struct ratelimit_limits){600, 16}, 32), 2);
    CHECK_INT(ratelimit_lease_size(&(struct ratelimit_limits){600, 1000}, 32), 32);     /* capped */
    CHECK_INT(ratelimit_lease_size(&(struct ratelimit_limits){600, 1000}, 8), 8);
    CHECK_INT(ratelimit_lease_size(&(struct ratelimit_limits){600, 1000000}, 1), 1);    /* leases off */
    struct config cfg;
    config_defaults(&cfg);
    CHECK_INT(config_module_int(&cfg, "rate_limit_lease_max"), 32);
    char err[128];
    CHECK_INT(config_set(&cfg, "rate_limit_lease_max", "0", err, sizeof(err)), -1);
    /* B = 10, a reservation of k = 4 at a time: counters 4, 8, 12, 16. */
    struct ratelimit_limits l = {600, 10};
    struct ratelimit_window w;
    ratelimit_window_of(&l, 0, &w);
    struct ratelimit_verdict v;
    ratelimit_decide(&l, &w, 0, 4, 4, &v);      /* positions 1-4 */
    CHECK(v.allowed);
    CHECK_INT(v.granted, 4);
    CHECK_INT(v.remaining, 6 + 3);              /* 6 unreserved + 3 of ours unused */
    ratelimit_decide(&l, &w, 0, 12, 4, &v);     /* positions 9-12: 9 and 10 are <= B */
    CHECK(v.allowed);
    CHECK_INT(v.granted, 2);
    CHECK_INT(v.remaining, 0 + 1);
    ratelimit_decide(&l, &w, 0, 14, 4, &v);     /* 11-14 (another worker took 5-8, 9-10 went to a third) */
    CHECK(!v.allowed);
    CHECK_INT(v.granted, 0);
    CHECK_INT(v.remaining, 0);
    ratelimit_decide(&l, &w, 0, 10, 4, &v);     /* 7-10: all four */
    CHECK_INT(v.granted, 4);
    CHECK_INT(v.remaining, 3);
}

int main(void)
{
    test_class();
    test_limits();
    test_window();
    test_key();
    test_leases();
    CHECK_DONE();
}
