/* ratelimit: see ratelimit.h. The arithmetic is pure and unit-tested
 * (tests/unit/test_ratelimit.c); ratelimit_check is the one place that
 * talks to the cache and the response. */
#define _GNU_SOURCE
#include "ratelimit.h"
#include "../core/clock.h"
#include "../cache/cache.h"
#include "../core/arena.h"
#include "../core/buf.h"
#include "../core/config.h"
#include "../core/log.h"
#include "../core/module.h"
#include "../core/request.h"
#include "../core/response.h"
#include "../core/sha256.h"
#include "../core/shm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RATELIMIT_TTL_SLACK_S 2
#define RATELIMIT_NOW_HEADER  "HTTP_X_TALLY_RATELIMIT_NOW"
#define RATELIMIT_NS          "ratelimit"

#define RATELIMIT_SLOTS 256                /* 18 KB of the modules' shared area (LIMIT_MODULE_SHM_BYTES) */
#define RATELIMIT_WAYS  4

/* Positions of one (token, class, window) this host reserved and has not
 * used yet (see "host leases" below). */
struct ratelimit_slot {
    uint32_t lock;                         /* try-lock: 0 free, 1 held */
    int32_t cls;
    char token[32];                        /* first 32 hex of the token's SHA-256 */
    int64_t window_length_ms, window_index;
    int64_t left;                          /* reserved, unused */
    int64_t unreserved;                    /* B - counter at the latest reservation, >= 0 */
};

/* Shared memory of the module (module_shm): counters by class, host leases. */
struct ratelimit_shared {
    uint64_t allowed[RATELIMIT_CLASSES], limited[RATELIMIT_CLASSES], fail_open[RATELIMIT_CLASSES];
    uint64_t leased[RATELIMIT_CLASSES];    /* allowed from a host lease, no round trip */
    uint64_t lease_lost;                   /* reserved positions no slot could keep */
    uint64_t exempt;                       /* admin-token requests, never limited */
    uint64_t fail_open_logged_s;           /* wall second of the last fail-open log line (one per second per host) */
    struct ratelimit_slot slots[RATELIMIT_SLOTS];
};

/* Per process: the limits, read from the config once at start (a SIGHUP
 * makes new workers). */
struct ratelimit_state {
    struct ratelimit_limits limits[RATELIMIT_CLASSES];
    int lease_max;
    bool debug_clock;                      /* debug_routes: X-Tally-Ratelimit-Now is honoured */
};

static const struct module_config_key ratelimit_config[] = {
    {"rate_limit_per_minute", "600", 0, 60000000, "per bearer token, normal class: steady rate R; 0 = not limited"},
    {"rate_limit_burst", "60", 1, 1000000, "normal class: B requests at once, at most B per window of B / R minutes"},
    {"rate_limit_heavy_per_minute", "60", 0, 60000000, "heavy class (POST chat, import, transform); 0 = not limited"},
    {"rate_limit_heavy_burst", "10", 1, 1000000, "heavy class burst"},
    {"rate_limit_lease_max", "32", 1, 1000, "positions a host may reserve per memcached incr (B / 8 at most); 1 = none"},
};

static const char *const ratelimit_class_names[RATELIMIT_CLASSES] = {"normal", "heavy"};

/* Heavy: POST routes whose last pattern segment names an expensive action.
 * By pattern, so route tables of other modules need no flag. */
enum ratelimit_class ratelimit_class_of(const char *method, const char *route_pattern)
{
    static const char *const heavy_actions[] = {"chat", "import", "transform"};
    if (method == NULL || route_pattern == NULL || strcmp(method, "POST") != 0)
        return RATELIMIT_NORMAL;
    const char *last = strrchr(route_pattern, '/');
    last = last != NULL ? last + 1 : route_pattern;
    for (size_t i = 0; i < sizeof(heavy_actions) / sizeof(heavy_actions[0]); i++)
        if (strcmp(last, heavy_actions[i]) == 0)
            return RATELIMIT_HEAVY;
    return RATELIMIT_NORMAL;
}

struct ratelimit_limits ratelimit_limits_of(const struct config *cfg, enum ratelimit_class cls)
{
    struct ratelimit_limits l;
    bool heavy = cls == RATELIMIT_HEAVY;
    l.per_minute = config_module_int(cfg, heavy ? "rate_limit_heavy_per_minute" : "rate_limit_per_minute");
    l.burst = config_module_int(cfg, heavy ? "rate_limit_heavy_burst" : "rate_limit_burst");
    return l;
}

bool ratelimit_window_of(const struct ratelimit_limits *lim, int64_t now_ms, struct ratelimit_window *w)
{
    if (lim->per_minute <= 0 || lim->burst < 1 || now_ms < 0)
        return false;
    /* B requests per B/R minutes; both bounded by the config (<= 1e6, 6e7). */
    int64_t len = 60000 * lim->burst / lim->per_minute;
    w->length_ms = len > 0 ? len : 1;
    w->index = now_ms / w->length_ms;
    w->end_ms = (w->index + 1) * w->length_ms;
    return true;
}

int64_t ratelimit_lease_size(const struct ratelimit_limits *lim, int lease_max)
{
    int64_t k = lim->burst / RATELIMIT_LEASE_SHARE;
    if (k > lease_max)
        k = lease_max;
    return k < 1 ? 1 : k;
}

void ratelimit_decide(const struct ratelimit_limits *lim, const struct ratelimit_window *w, int64_t now_ms,
                      uint64_t count, int64_t k, struct ratelimit_verdict *v)
{
    /* Reserved positions count-k+1 .. count; those <= B are granted. */
    int64_t before = (int64_t)count - k;                 /* positions taken before ours */
    int64_t free_after = lim->burst - (int64_t)count;    /* unreserved positions left */
    v->granted = lim->burst - before;
    if (v->granted < 0)
        v->granted = 0;
    if (v->granted > k)
        v->granted = k;
    v->allowed = v->granted >= 1;
    v->remaining = v->allowed ? (free_after > 0 ? free_after : 0) + v->granted - 1 : 0;
    int64_t left_ms = w->end_ms - now_ms;                /* > 0: now is inside the window */
    v->reset_s = (left_ms + 999) / 1000;
    if (v->reset_s < 1)
        v->reset_s = 1;
}

size_t ratelimit_key(enum ratelimit_class cls, const struct ratelimit_window *w, const char *token_hash, char *out,
                     size_t cap)
{
    /* The window length is part of the key: a config change starts fresh
     * counters instead of reading old ones with a different meaning. */
    int n = snprintf(out, cap, "%c%" PRId64 ":%" PRId64 ":%.32s", cls == RATELIMIT_HEAVY ? 'h' : 'n', w->length_ms,
                     w->index, token_hash);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

unsigned ratelimit_ttl_s(const struct ratelimit_window *w)
{
    return (unsigned)((w->length_ms + 999) / 1000) + RATELIMIT_TTL_SLACK_S;
}

/* ---- request pipeline ---------------------------------------------------- */

/* The clock: wall time (windows must be the same on every host), or the
 * test header when debug routes are on. */
static enum err ratelimit_now(struct request *req, bool debug_clock, int64_t *now_ms)
{
    const char *fake = debug_clock ? request_header(req, RATELIMIT_NOW_HEADER) : NULL;
    if (fake == NULL) {
        *now_ms = (int64_t)clock_wall_ms();
        return ERR_NONE;
    }
    char *end = NULL;
    errno = 0;
    long long v = strtoll(fake, &end, 10);
    if (errno != 0 || end == fake || *end != '\0' || v < 0)
        return request_fail(req, ERR_BAD_REQUEST, "X-Tally-Ratelimit-Now", "expected milliseconds since the epoch");
    *now_ms = (int64_t)v;
    return ERR_NONE;
}

/* auth accepted the header, so it is "Bearer <token>". */
static void ratelimit_token_hash(const struct request *req, char hash[65])
{
    const char *h = request_header(req, "HTTP_AUTHORIZATION");
    const char *token = h != NULL && strncasecmp(h, "Bearer ", 7) == 0 ? h + 7 : "";
    while (*token == ' ')
        token++;
    sha256_hex(token, strlen(token), hash);
}

static enum err ratelimit_fail_open(struct ratelimit_shared *st, enum ratelimit_class cls)
{
    shm_add(&st->fail_open[cls], 1);
    uint64_t now_s = clock_wall_ms() / 1000;
    uint64_t last = shm_load(&st->fail_open_logged_s);
    if (last != now_s &&
        __atomic_compare_exchange_n(&st->fail_open_logged_s, &last, now_s, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        log_warn("ratelimit: memcached unreachable; requests pass unlimited (fail open, %" PRIu64 " so far)",
                 shm_load(&st->fail_open[0]) + shm_load(&st->fail_open[1]));
    return ERR_NONE;
}

/* ---- host leases ---------------------------------------------------------
 * Positions this host reserved in memcached (incr by k) and has not used
 * yet, in shared memory: every worker of the host takes from them, so on
 * one host no reserved position is ever stranded (the limit stays exact);
 * other hosts' unused reservations can refuse at most (k - 1) each early.
 * A slot is one token, class and window; RATELIMIT_WAYS slots per set, and
 * a slot holding unused positions of a live window is never taken over, so
 * none are lost. Each slot has a try-lock held for a few instructions (never
 * across a round trip); a worker finding it busy just skips the slot (a
 * worker killed while holding one degrades that slot to one incr per
 * request, nothing worse). */

static int ratelimit_init_child(struct tally_ctx *ctx, void **state)
{
    struct ratelimit_state *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return -1;
    for (int c = 0; c < RATELIMIT_CLASSES; c++)
        st->limits[c] = ratelimit_limits_of(ctx->cfg, (enum ratelimit_class)c);
    st->lease_max = (int)config_module_int(ctx->cfg, "rate_limit_lease_max");
    st->debug_clock = ctx->cfg->debug_routes != 0;
    *state = st;
    return 0;
}

static void ratelimit_free_child(struct tally_ctx *ctx, void *state)
{
    (void)ctx;
    free(state);
}

static bool ratelimit_slot_lock(struct ratelimit_slot *s)
{
    uint32_t free_ = 0;
    return __atomic_compare_exchange_n(&s->lock, &free_, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static void ratelimit_slot_unlock(struct ratelimit_slot *s)
{
    __atomic_store_n(&s->lock, 0, __ATOMIC_RELEASE);
}

static struct ratelimit_slot *ratelimit_slot_set(struct ratelimit_shared *sh, const char *hash,
                                                 enum ratelimit_class cls)
{
    unsigned idx = (unsigned)strtoul((char[7]){hash[0], hash[1], hash[2], hash[3], hash[4], hash[5], '\0'}, NULL, 16);
    unsigned sets = RATELIMIT_SLOTS / RATELIMIT_WAYS;
    return &sh->slots[((idx * 2 + (unsigned)cls) % sets) * RATELIMIT_WAYS];
}

static bool ratelimit_slot_is(const struct ratelimit_slot *s, const char *hash, enum ratelimit_class cls,
                              const struct ratelimit_window *win)
{
    return s->cls == (int32_t)cls && s->window_index == win->index && s->window_length_ms == win->length_ms &&
           memcmp(s->token, hash, 32) == 0;
}

/* Takes one reserved position of (token, class, window); false if none. */
static bool ratelimit_lease_take(struct ratelimit_shared *sh, const char *hash, enum ratelimit_class cls,
                                 const struct ratelimit_window *win, int64_t now_ms, struct ratelimit_verdict *v)
{
    struct ratelimit_slot *set = ratelimit_slot_set(sh, hash, cls);
    for (int i = 0; i < RATELIMIT_WAYS; i++) {
        struct ratelimit_slot *s = &set[i];
        if (!ratelimit_slot_lock(s))
            continue;
        bool taken = s->left > 0 && ratelimit_slot_is(s, hash, cls, win);
        if (taken) {
            s->left--;
            v->allowed = true;
            v->granted = 1;
            v->remaining = s->unreserved + s->left;
        }
        ratelimit_slot_unlock(s);
        if (taken) {
            v->reset_s = (win->end_ms - now_ms + 999) / 1000;
            if (v->reset_s < 1)
                v->reset_s = 1;
            return true;
        }
    }
    return false;
}

/* Whether (token, class, window) has a slot or a free one exists now:
 * without one, reserving more than one position would strand them. */
static bool ratelimit_lease_room(struct ratelimit_shared *sh, const char *hash, enum ratelimit_class cls,
                                 const struct ratelimit_window *win, int64_t now_ms)
{
    struct ratelimit_slot *set = ratelimit_slot_set(sh, hash, cls);
    for (int i = 0; i < RATELIMIT_WAYS; i++) {
        struct ratelimit_slot *s = &set[i];
        if (!ratelimit_slot_lock(s))
            return true;                 /* busy: its holder may free it; keep decides under the lock */
        bool room = s->left <= 0 || (s->window_index + 1) * s->window_length_ms <= now_ms ||
                    ratelimit_slot_is(s, hash, cls, win);
        ratelimit_slot_unlock(s);
        if (room)
            return true;
    }
    return false;
}

/* Stores `extra` reserved positions (counter at `count` after them). Into
 * the slot of (token, class, window) if there is one, else a free one: no
 * positions, or a window that has ended. None free: they are given up
 * (counted), which can only refuse early. */
static void ratelimit_lease_keep(struct ratelimit_shared *sh, const char *hash, enum ratelimit_class cls,
                                 const struct ratelimit_window *win, int64_t now_ms, int64_t extra, int64_t burst,
                                 uint64_t count)
{
    int64_t unreserved = burst > (int64_t)count ? burst - (int64_t)count : 0;
    struct ratelimit_slot *set = ratelimit_slot_set(sh, hash, cls);
    for (int pass = 0; pass < 2; pass++) {       /* 0: the token's own slot; 1: a free one */
        for (int i = 0; i < RATELIMIT_WAYS; i++) {
            struct ratelimit_slot *s = &set[i];
            if (!ratelimit_slot_lock(s))
                continue;
            bool mine = ratelimit_slot_is(s, hash, cls, win);
            bool use = pass == 0 ? mine
                                 : s->left <= 0 || (s->window_index + 1) * s->window_length_ms <= now_ms;
            if (use) {
                if (!mine) {
                    memcpy(s->token, hash, 32);
                    s->cls = (int32_t)cls;
                    s->window_index = win->index;
                    s->window_length_ms = win->length_ms;
                    s->left = 0;
                    s->unreserved = unreserved;
                }
                s->left += extra;
                if (unreserved < s->unreserved)
                    s->unreserved = unreserved;    /* the larger counter is the later one */
            }
            ratelimit_slot_unlock(s);
            if (use)
                return;
        }
    }
    shm_add(&sh->lease_lost, (uint64_t)extra);
}

enum err ratelimit_check(struct request *req, struct response *res)
{
    if (!req->auth_ok)
        return ERR_NONE;
    struct tally_ctx *ctx = req->ctx;
    struct ratelimit_shared *sh = module_shm(ctx->shm, "ratelimit");
    struct ratelimit_state *st = module_state(ctx, "ratelimit");
    if (sh == NULL || st == NULL)
        return ERR_NONE;                 /* not a worker (no shared counters): nothing to limit */
    if (req->auth_admin) {
        shm_add(&sh->exempt, 1);
        return ERR_NONE;
    }
    enum ratelimit_class cls = ratelimit_class_of(req->method, req->route_label);
    const struct ratelimit_limits lim = st->limits[cls];
    int64_t now_ms = 0;
    enum err e = ratelimit_now(req, st->debug_clock, &now_ms);
    if (e != ERR_NONE)
        return e;
    struct ratelimit_window win;
    if (!ratelimit_window_of(&lim, now_ms, &win))
        return ERR_NONE;

    char hash[65];
    ratelimit_token_hash(req, hash);
    int64_t k = ratelimit_lease_size(&lim, st->lease_max);
    struct ratelimit_verdict v;
    if (k > 1 && ratelimit_lease_take(sh, hash, cls, &win, now_ms, &v)) {
        shm_add(&sh->leased[cls], 1);
    } else {
        if (k > 1 && !ratelimit_lease_room(sh, hash, cls, &win, now_ms))
            k = 1;                       /* every slot of the set holds other tokens' live positions */
        char key[128];
        size_t klen = ratelimit_key(cls, &win, hash, key, sizeof(key));
        uint64_t count = 0;
        if (klen == 0 ||
            cache_incr(ctx->cache, RATELIMIT_NS, key, klen, (uint32_t)k, ratelimit_ttl_s(&win), &count) != CACHE_OK)
            return ratelimit_fail_open(sh, cls);
        ratelimit_decide(&lim, &win, now_ms, count, k, &v);
        if (k > 1 && v.granted > 1)
            ratelimit_lease_keep(sh, hash, cls, &win, now_ms, v.granted - 1, lim.burst, count);
        /* Refused, but another worker of this host may have stored positions
         * meanwhile (its incr came before ours): they are this token's. */
        if (k > 1 && !v.allowed && ratelimit_lease_take(sh, hash, cls, &win, now_ms, &v))
            shm_add(&sh->leased[cls], 1);
    }
    char *reset = arena_sprintf(req->arena, "%" PRId64, v.reset_s);
    response_header(res, "RateLimit-Limit", arena_sprintf(req->arena, "%" PRId64, lim.burst));
    response_header(res, "RateLimit-Remaining", arena_sprintf(req->arena, "%" PRId64, v.remaining));
    response_header(res, "RateLimit-Reset", reset);
    if (v.allowed) {
        shm_add(&sh->allowed[cls], 1);
        return ERR_NONE;
    }
    shm_add(&sh->limited[cls], 1);
    response_header(res, "Retry-After", reset);
    return request_fail(req, ERR_RATE_LIMITED, NULL,
                        "rate limit of %" PRId64 " %s requests per %" PRId64 " ms exceeded for this token; retry in %"
                        PRId64 " s", lim.burst, ratelimit_class_names[cls], win.length_ms, v.reset_s);
}

static void ratelimit_metrics(const struct tally_ctx *ctx, struct buf *b)
{
    const struct ratelimit_shared *st = module_shm(ctx->shm, "ratelimit");
    if (st == NULL)
        return;
    buf_printf(b, "# HELP tally_ratelimit_requests_total Bearer-token requests seen by the rate limiter, by class and"
                  " outcome.\n# TYPE tally_ratelimit_requests_total counter\n");
    for (int c = 0; c < RATELIMIT_CLASSES; c++) {
        buf_printf(b, "tally_ratelimit_requests_total{class=\"%s\",result=\"allowed\"} %" PRIu64 "\n",
                   ratelimit_class_names[c], shm_load(&st->allowed[c]));
        buf_printf(b, "tally_ratelimit_requests_total{class=\"%s\",result=\"limited\"} %" PRIu64 "\n",
                   ratelimit_class_names[c], shm_load(&st->limited[c]));
        buf_printf(b, "tally_ratelimit_requests_total{class=\"%s\",result=\"fail_open\"} %" PRIu64 "\n",
                   ratelimit_class_names[c], shm_load(&st->fail_open[c]));
    }
    buf_printf(b, "# HELP tally_ratelimit_leased_total Allowed requests served from positions this host reserved"
                  " (no memcached round trip; included in allowed).\n# TYPE tally_ratelimit_leased_total counter\n");
    for (int c = 0; c < RATELIMIT_CLASSES; c++)
        buf_printf(b, "tally_ratelimit_leased_total{class=\"%s\"} %" PRIu64 "\n", ratelimit_class_names[c],
                   shm_load(&st->leased[c]));
    buf_printf(b, "# HELP tally_ratelimit_lease_lost_total Reserved positions given up because no lease slot was"
                  " free (each can refuse one request early).\n# TYPE tally_ratelimit_lease_lost_total counter\n");
    buf_printf(b, "tally_ratelimit_lease_lost_total %" PRIu64 "\n", shm_load(&st->lease_lost));
    buf_printf(b, "# HELP tally_ratelimit_fail_open_total Requests let through unlimited because memcached was"
                  " unreachable.\n# TYPE tally_ratelimit_fail_open_total counter\n");
    buf_printf(b, "tally_ratelimit_fail_open_total %" PRIu64 "\n",
               shm_load(&st->fail_open[0]) + shm_load(&st->fail_open[1]));
    buf_printf(b, "# HELP tally_ratelimit_exempt_total Admin-token requests (never rate limited).\n"
                  "# TYPE tally_ratelimit_exempt_total counter\n");
    buf_printf(b, "tally_ratelimit_exempt_total %" PRIu64 "\n", shm_load(&st->exempt));
}

static int ratelimit_filter(struct request *req, struct response *res)
{
    return ratelimit_check(req, res);
}

static const char *const ratelimit_cache_namespaces[] = {RATELIMIT_NS, NULL};

const struct tally_module ratelimit_module = {
    .name = "ratelimit",
    .config = ratelimit_config,
    .config_count = sizeof(ratelimit_config) / sizeof(ratelimit_config[0]),
    .cache_namespaces = ratelimit_cache_namespaces,
    .shm_bytes = sizeof(struct ratelimit_shared),
    .filter = ratelimit_filter,
    .init_child = ratelimit_init_child,
    .free_child = ratelimit_free_child,
    .metrics = ratelimit_metrics,
};
