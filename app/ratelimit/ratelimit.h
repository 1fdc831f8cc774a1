/* ratelimit: per bearer token request limits, shared by every worker of
 * every host through one memcached counter per token, class and window.
 *
 * Algorithm (docs/ratelimit.md says why): a fixed window of B / R minutes
 * in which at most B requests pass (B = burst, R = per-minute rate), so B
 * requests pass at once and the long-run rate is R. Windows are aligned on
 * the wall clock (ms since the epoch), so every host agrees on them without
 * talking. At most one memcached `incr` per request (an `add` on the first
 * request of a window): the count is exact and race-free across processes.
 * For bursts of 16 and more a host reserves k = min(32, B / 8) positions
 * per `incr` into shared memory, used by all its workers (host leases):
 * still exact on one host, one round trip per k requests.
 *
 * Two classes, each with its own counter: normal, and heavy (chat, CSV
 * imports, dataset transforms: a POST whose route's last segment is `chat`,
 * `import` or `transform`). Admin tokens are exempt; public routes (no
 * token checked) are not limited here (nginx's limit_req guards them).
 * memcached unreachable: the request passes (fail open), counted in
 * /metrics and logged at most once per second per host. */
#ifndef TALLY_RATELIMIT_H
#define TALLY_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/errors.h"

struct config;
struct request;
struct response;
struct tally_module;

enum ratelimit_class { RATELIMIT_NORMAL = 0, RATELIMIT_HEAVY = 1, RATELIMIT_CLASSES };

struct ratelimit_limits {
    int64_t per_minute;                  /* R; 0 = class not limited */
    int64_t burst;                       /* B */
};

/* The window a request falls in. */
struct ratelimit_window {
    int64_t length_ms;                   /* 60000 * B / R, at least 1 */
    int64_t index;                       /* floor(now / length) */
    int64_t end_ms;                      /* (index + 1) * length */
};

struct ratelimit_verdict {
    bool allowed;                        /* this request got a position <= B */
    int64_t granted;                     /* positions of the reservation that are <= B (0..k) */
    int64_t remaining;                   /* B - count + unused granted, at least 0: RateLimit-Remaining */
    int64_t reset_s;                     /* ceil((end - now) / 1 s), >= 1: RateLimit-Reset, Retry-After */
};

/* ---- pure (unit-tested) ------------------------------------------------- */
enum ratelimit_class ratelimit_class_of(const char *method, const char *route_pattern);
struct ratelimit_limits ratelimit_limits_of(const struct config *cfg, enum ratelimit_class cls);
/* false when the class is not limited (per_minute 0 or burst < 1). now_ms >= 0. */
bool ratelimit_window_of(const struct ratelimit_limits *lim, int64_t now_ms, struct ratelimit_window *w);
/* Positions a host reserves per memcached increment (host leases, see
 * docs/ratelimit.md): B / RATELIMIT_LEASE_SHARE, at most lease_max (config
 * rate_limit_lease_max), at least 1 (1 = every request one increment). */
#define RATELIMIT_LEASE_SHARE 8
int64_t ratelimit_lease_size(const struct ratelimit_limits *lim, int lease_max);
/* count: the counter after this host added k (it reserved positions
 * count-k+1 .. count); the first of them is this request's. */
void ratelimit_decide(const struct ratelimit_limits *lim, const struct ratelimit_window *w, int64_t now_ms,
                      uint64_t count, int64_t k, struct ratelimit_verdict *v);
/* memcached key of a counter (token_hash: 64 hex; its first 32 are used).
 * Returns its length, or 0 if cap is too small. */
size_t ratelimit_key(enum ratelimit_class cls, const struct ratelimit_window *w, const char *token_hash, char *out,
                     size_t cap);
/* Counter expiry: the window plus 2 s of slack, in whole seconds. */
unsigned ratelimit_ttl_s(const struct ratelimit_window *w);

/* ---- request pipeline ---------------------------------------------------- */
/* The module's request filter, after auth: sets the RateLimit-* headers on res (every response of a
 * limited token) and returns ERR_RATE_LIMITED (with Retry-After) when over
 * the limit. With debug_routes = 1 the header X-Tally-Ratelimit-Now (ms
 * since the epoch) replaces the clock, so tests can do exact arithmetic. */
enum err ratelimit_check(struct request *req, struct response *res);

/* The module (app/modules.c, right after auth: its filter needs the token
 * identity): config keys, the "ratelimit" cache namespace, shared counters,
 * the request filter (ratelimit_check), host leases in shared memory, /metrics. */
extern const struct tally_module ratelimit_module;

#endif
