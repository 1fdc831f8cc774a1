/* cachegen: see cachegen.h. Owns the per-process list of unsynced users
 * (plain process memory: each worker, the job runner and tallyctl have
 * their own, filled after fork by the first poll), the token keys and the
 * entry format. */
#define _GNU_SOURCE
#include "cachegen.h"
#include "../core/clock.h"
#include "../core/log.h"
#include "../store/db.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The namespaces under a PostgreSQL generation, in metric_generations'
 * column order (CACHEGEN_COLS). */
enum { CG_METRICS = 0, CG_PROFILES, CG_OPPORTUNITIES, CG_KINDS };
static const char *const cachegen_ns[CG_KINDS] = {"metrics", "profiles", "opportunities"};
#define CACHEGEN_COLS                                                                                        \
    "generation, profile_generation, opportunity_generation, metrics_synced, profiles_synced,"              \
    " opportunities_synced"
#define CACHEGEN_UNSYNCED "NOT (metrics_synced AND profiles_synced AND opportunities_synced)"

struct cachegen_state {
    double polled_ms;                    /* CLOCK_MONOTONIC of the last poll; 0: never */
    double next_poll_ms;
    uint64_t epoch_seen;                 /* cache_unsynced_epoch at the last poll */
    bool overflow;                       /* more than CACHEGEN_PENDING_MAX: trust nobody */
    int shared_hosts;                    /* cachegen_shared_hosts */
    size_t count[CG_KINDS];
    int64_t users[CG_KINDS][CACHEGEN_PENDING_MAX];   /* sorted */
};

static struct cachegen_state cachegen_state;

static int cachegen_kind(const char *ns)
{
    for (int k = 0; k < CG_KINDS; k++)
        if (strcmp(ns, cachegen_ns[k]) == 0)
            return k;
    return -1;
}

/* "t:", not the random-token scheme's "g:": a token left by an older tallyd
 * (16 hex digits, sometimes all decimal) must never pass for a generation,
 * nor sit above the real one where cache_group_set_max could not lower it. */
static size_t cachegen_token_key(char out[32], int64_t user_id)
{
    return (size_t)snprintf(out, 32, "t:%" PRId64, user_id);
}

/* Every key of a user (token and entries, both namespaces) lives on the
 * server that owns "u:<uid>" (cachegen.h: why). */
struct cachegen_group {
    char text[32];
    struct cache_group group;
};

static const struct cache_group *cachegen_group(struct cachegen_group *g, int64_t user_id)
{
    g->group.key = g->text;
    g->group.len = (size_t)snprintf(g->text, sizeof(g->text), "u:%" PRId64, user_id);
    return &g->group;
}

/* ---- sync: PostgreSQL generations -> memcached tokens ---------------------- */

static const char CACHEGEN_MARK_SQL[] =
    "UPDATE metric_generations SET metrics_synced = metrics_synced OR (generation = $2::bigint AND $5::boolean),"
    " profiles_synced = profiles_synced OR (profile_generation = $3::bigint AND $6::boolean),"
    " opportunities_synced = opportunities_synced OR (opportunity_generation = $4::bigint AND $7::boolean)"
    " WHERE user_id = $1::bigint";

/* Raises the tokens that are not synced (row of CACHEGEN_COLS at columns
 * col..col+2*CG_KINDS-1) and marks the ones raised; a generation bumped
 * meanwhile stays unsynced. true = all synced. */
static bool cachegen_push(struct db *db, struct cache *cache, int64_t user_id, const db_result *r, int row, int col)
{
    bool done[CG_KINDS], any = false, all = true;
    char key[32], uid[24], gen[CG_KINDS][24];
    size_t klen = cachegen_token_key(key, user_id);
    struct cachegen_group g;
    const struct cache_group *group = cachegen_group(&g, user_id);
    for (int k = 0; k < CG_KINDS; k++) {
        snprintf(gen[k], sizeof(gen[k]), "%s", db_value(r, row, col + k));
        done[k] = false;
        if (db_value(r, row, col + CG_KINDS + k)[0] == 't')
            continue;
        done[k] = cache_group_set_max(cache, cachegen_ns[k], group, key, klen, (uint64_t)db_int64(r, row, col + k)) == CACHE_OK;
        any = any || done[k];
        all = all && done[k];
    }
    if (!any)
        return all;
    db_param_i64(uid, user_id);
    const char *params[1 + 2 * CG_KINDS] = {uid};
    for (int k = 0; k < CG_KINDS; k++) {
        params[1 + k] = gen[k];
        params[1 + CG_KINDS + k] = done[k] ? "t" : "f";
    }
    if (db_exec(db, 0, CACHEGEN_MARK_SQL, 1 + 2 * CG_KINDS, params) != ERR_NONE)
        return false;
    return all;
}

/* The user's row (CACHEGEN_COLS: the generations, then the synced flags),
 * only when one of them is not synced if unsynced_only; NULL when
 * PostgreSQL does not answer. */
static db_result *cachegen_user_row(struct db *db, int64_t user_id, bool unsynced_only)
{
    char uid[24];
    db_param_i64(uid, user_id);
    const char *params[2] = {uid, unsynced_only ? "t" : "f"};
    enum err e;
    return db_query(db, &e, DB_RETRY_ON_RECONNECT,
                    "SELECT " CACHEGEN_COLS " FROM metric_generations WHERE user_id = $1::bigint"
                    " AND (NOT $2::boolean OR " CACHEGEN_UNSYNCED ")",
                    2, params);
}

/* Mode 1 (cachegen.h): holds the caller until every other process's list
 * in use was read after the write's commit. */
static void cachegen_wait_for_hosts(void)
{
    long ms = CACHEGEN_POLL_MS + CACHEGEN_ACK_MARGIN_MS;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

void cachegen_sync_user(struct db *db, struct cache *cache, int64_t user_id)
{
    if (!cache_enabled(cache))
        return;                          /* no memcached here: whoever has one repairs */
    db_result *r = cachegen_user_row(db, user_id, true);
    bool failed = r == NULL || (db_rows(r) == 1 && !cachegen_push(db, cache, user_id, r, 0, 0));
    db_clear(r);
    if (!failed)
        return;
    log_warn("cachegen: memcached generations of user %" PRId64 " not raised (its copies are skipped until "
             "repaired)", user_id);
    cache_unsynced_announce(cache);
    if (cachegen_state.shared_hosts == 1)
        cachegen_wait_for_hosts();
}

/* ---- the unsynced list ------------------------------------------------------ */

static const char CACHEGEN_POLL_SQL[] =
    "SELECT user_id, " CACHEGEN_COLS " FROM metric_generations WHERE " CACHEGEN_UNSYNCED
    " ORDER BY user_id LIMIT $1::int";

static void cachegen_poll(struct db *db, struct cache *cache, double now)
{
    struct cachegen_state *st = &cachegen_state;
    uint64_t epoch = cache_unsynced_epoch(cache);
    char limit[16];
    snprintf(limit, sizeof(limit), "%d", CACHEGEN_PENDING_MAX + 1);
    const char *params[1] = {limit};
    enum err e;
    db_result *r = db_query(db, &e, DB_RETRY_ON_RECONNECT, CACHEGEN_POLL_SQL, 1, params);
    if (r == NULL) {                     /* keep the last list; PostgreSQL is needed for misses anyway */
        st->next_poll_ms = now + CACHEGEN_POLL_RETRY_MS;
        return;
    }
    int rows = db_rows(r), repaired = 0;
    st->overflow = rows > CACHEGEN_PENDING_MAX;
    for (int k = 0; k < CG_KINDS; k++)
        st->count[k] = 0;
    for (int i = 0; i < rows && i < CACHEGEN_PENDING_MAX; i++) {
        int64_t user_id = db_int64(r, i, 0);
        if (repaired < CACHEGEN_REPAIRS_PER_POLL) {
            repaired++;
            if (cachegen_push(db, cache, user_id, r, i, 1))
                continue;
        }
        for (int k = 0; k < CG_KINDS; k++)
            if (db_value(r, i, 1 + CG_KINDS + k)[0] != 't')
                st->users[k][st->count[k]++] = user_id;
    }
    db_clear(r);
    st->epoch_seen = epoch;
    st->polled_ms = now;
    st->next_poll_ms = now + CACHEGEN_POLL_MS;
}

void cachegen_shared_hosts(int mode)
{
    cachegen_state.shared_hosts = mode;
}

/* The user's flag of kind k, read now; not synced: one repair attempt.
 * fallback when PostgreSQL does not answer. */
static bool cachegen_synced_now(struct db *db, struct cache *cache, int k, int64_t user_id, bool fallback)
{
    db_result *r = cachegen_user_row(db, user_id, false);
    if (r == NULL)
        return fallback;
    /* No row: nothing written yet, so no token and no entry can match. */
    bool synced = db_rows(r) != 1 || db_value(r, 0, CG_KINDS + k)[0] == 't';
    if (!synced && cachegen_push(db, cache, user_id, r, 0, 0))
        synced = true;                   /* the token now holds the generation read above */
    db_clear(r);
    return synced;
}

static int cachegen_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

bool cachegen_trusted(struct db *db, struct cache *cache, const char *ns, int64_t user_id)
{
    struct cachegen_state *st = &cachegen_state;
    int k = cachegen_kind(ns);
    if (k < 0 || !cache_enabled(cache))
        return false;
    double now = clock_ms();
    if (st->polled_ms == 0 || now >= st->next_poll_ms || cache_unsynced_epoch(cache) != st->epoch_seen)
        cachegen_poll(db, cache, now);
    /* Never read the list (PostgreSQL down since this process started):
     * trusted, as the entries are all there is while it is down (the
     * degradation table); a miss would be 503 anyway. Too long a list: no one. */
    if (st->overflow)
        return false;
    if (bsearch(&user_id, st->users[k], st->count[k], sizeof(int64_t), cachegen_cmp) != NULL)
        return false;
    return st->shared_hosts != 2 || cachegen_synced_now(db, cache, k, user_id, true);
}

/* ---- entries ---------------------------------------------------------------- */

struct cachegen_found {
    bool have_token;
    uint64_t token;
    char *value;                         /* the entry, malloc'd */
    size_t value_len;
};

static bool cachegen_number(const char *v, size_t len, uint64_t *out)
{
    char text[24];
    if (len == 0 || len >= sizeof(text))
        return false;
    memcpy(text, v, len);
    text[len] = '\0';
    if (strspn(text, "0123456789") != len)
        return false;
    *out = strtoull(text, NULL, 10);
    return true;
}

static void cachegen_hit(void *arg, size_t index, const char *value, size_t value_len)
{
    struct cachegen_found *f = arg;
    if (index == 0)
        f->have_token = cachegen_number(value, value_len, &f->token);
    else if (f->value == NULL && (f->value = malloc(value_len + 1)) != NULL) {
        memcpy(f->value, value, value_len);
        f->value[value_len] = '\0';
        f->value_len = value_len;
    }
}

int cachegen_lookup(struct cache *cache, const char *ns, int64_t user_id, const char *key, size_t key_len,
                    uint64_t *token, char **value, size_t *value_len)
{
    *token = 0;
    *value = NULL;
    *value_len = 0;
    char tkey[32];
    const char *keys[2] = {tkey, key};
    size_t lens[2] = {cachegen_token_key(tkey, user_id), key_len};
    struct cachegen_found f = {0};
    struct cachegen_group g;
    if (cache_group_mget(cache, ns, cachegen_group(&g, user_id), keys, lens, 2, cachegen_hit, &f) < 0) {
        free(f.value);
        return -1;
    }
    *token = f.have_token ? f.token : 0;
    const char *nl = f.value != NULL ? memchr(f.value, '\n', f.value_len) : NULL;
    uint64_t gen;   /* "g<generation>\n": the 'g' tells it from an older tallyd's "<hex token>\n" */
    if (f.have_token && nl != NULL && f.value[0] == 'g' &&
        cachegen_number(f.value + 1, (size_t)(nl - f.value) - 1, &gen) && gen == f.token) {
        size_t head = (size_t)(nl - f.value) + 1;
        *value_len = f.value_len - head;
        memmove(f.value, f.value + head, *value_len);
        f.value[*value_len] = '\0';
        *value = f.value;
        return 1;
    }
    free(f.value);
    return 0;
}

void cachegen_put(struct cache *cache, const char *ns, int64_t user_id, const char *key, size_t key_len,
                  uint64_t gen, uint64_t token, const char *value, size_t value_len, unsigned ttl_s)
{
    char head[32];
    size_t hlen = (size_t)snprintf(head, sizeof(head), "g%" PRIu64 "\n", gen);
    char *v = malloc(hlen + value_len);
    if (v == NULL)
        return;
    memcpy(v, head, hlen);
    memcpy(v + hlen, value, value_len);
    struct cachegen_group g;
    const struct cache_group *group = cachegen_group(&g, user_id);
    if (cache_group_set(cache, ns, group, key, key_len, v, hlen + value_len, ttl_s) == CACHE_OK &&
        (token < gen || token == 0)) {
        char tkey[32];
        cache_group_set_max(cache, ns, group, tkey, cachegen_token_key(tkey, user_id), gen);
    }
    free(v);
}
