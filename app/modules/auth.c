/* auth: bearer-token authentication and the user/admin authorisation rule.
 * See auth.h for the lookup chain. */
#define _GNU_SOURCE
#include "auth.h"
#include "../core/config.h"
#include "../core/module.h"
#include "../cache/cache.h"
#include "../core/limits.h"
#include "../core/request.h"
#include "../core/sha256.h"
#include "../core/text.h"
#include "../core/shm.h"
#include "../store/db.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define AUTH_TOKEN_MAX_BYTES 256

struct auth_entry {
    char hash[65];
    bool valid;                  /* token exists and is not revoked */
    bool admin;
    int64_t user_id;
    uint64_t expires_mono_ms;
};

struct auth_cache {
    struct auth_entry entries[LIMIT_TOKEN_CACHE_ENTRIES];
};

struct auth_identity {
    bool valid;
    bool admin;
    int64_t user_id;
};

static int auth_init_child(struct tally_ctx *ctx, void **state)
{
    (void)ctx;
    *state = calloc(1, sizeof(struct auth_cache));
    return *state != NULL ? 0 : -1;
}

static void auth_free_child(struct tally_ctx *ctx, void *state)
{
    (void)ctx;
    free(state);
}

static struct auth_entry *auth_cache_slot(struct auth_cache *ac, const char *hash)
{
    unsigned idx = (unsigned)strtoul((char[9]){hash[0], hash[1], hash[2], hash[3], hash[4], hash[5],
                                               hash[6], hash[7], '\0'}, NULL, 16);
    return &ac->entries[idx % LIMIT_TOKEN_CACHE_ENTRIES];
}

/* memcached value: "a" admin, "u:<id>" user, "-" no such token. */
static void auth_encode(const struct auth_identity *id, char *out, size_t cap)
{
    if (!id->valid)
        snprintf(out, cap, "-");
    else if (id->admin)
        snprintf(out, cap, "a");
    else
        snprintf(out, cap, "u:%" PRId64, id->user_id);
}

static bool auth_decode(const char *v, struct auth_identity *id)
{
    memset(id, 0, sizeof(*id));
    if (strcmp(v, "-") == 0)
        return true;
    if (strcmp(v, "a") == 0) {
        id->valid = id->admin = true;
        return true;
    }
    if (strncmp(v, "u:", 2) == 0) {
        char *end;
        id->user_id = strtoll(v + 2, &end, 10);
        id->valid = *end == '\0' && id->user_id > 0;
        return id->valid;
    }
    return false;
}

static enum err auth_lookup_store(struct request *req, const char *hash, struct auth_identity *id)
{
    const char *params[1] = {hash};
    enum err e;
    db_result *res = db_query(req->ctx->db, &e, DB_RETRY_ON_RECONNECT,
                              "SELECT user_id, is_admin FROM api_tokens"
                              " WHERE token_hash = $1 AND revoked_at IS NULL",
                              1, params);
    if (res == NULL)
        return e;
    memset(id, 0, sizeof(*id));
    if (db_rows(res) == 1) {
        id->valid = true;
        id->admin = db_value(res, 0, 1)[0] == 't';
        id->user_id = db_int64(res, 0, 0);
    }
    db_clear(res);
    return ERR_NONE;
}

static enum err auth_lookup(struct request *req, const char *hash, struct auth_identity *id)
{
    struct tally_ctx *ctx = req->ctx;
    uint64_t now = shm_now_mono_ms();
    struct auth_entry *slot = auth_cache_slot(module_state(ctx, "auth"), hash);
    if (strcmp(slot->hash, hash) == 0 && slot->expires_mono_ms > now) {
        id->valid = slot->valid;
        id->admin = slot->admin;
        id->user_id = slot->user_id;
        return ERR_NONE;
    }
    char *cached = NULL;
    size_t cached_len = 0;
    enum cache_result cr = cache_get(ctx->cache, "auth", hash, 64, &cached, &cached_len);
    bool found = cr == CACHE_OK && auth_decode(cached, id);
    free(cached);
    if (found) {
        req->cache_hits++;
    } else {
        req->cache_misses++;
        enum err e = auth_lookup_store(req, hash, id);
        if (e != ERR_NONE)
            return e;
        char value[32];
        auth_encode(id, value, sizeof(value));
        cache_set(ctx->cache, "auth", hash, 64, value, strlen(value),
                  id->valid ? AUTH_MEMCACHED_TTL_S : AUTH_NEGATIVE_TTL_S);
    }
    memcpy(slot->hash, hash, 65);
    slot->valid = id->valid;
    slot->admin = id->admin;
    slot->user_id = id->user_id;
    slot->expires_mono_ms = now + (uint64_t)ctx->cfg->auth_cache_ttl_s * 1000u;
    return ERR_NONE;
}

static enum err auth_authenticate(struct request *req)
{
    const char *h = request_header(req, "HTTP_AUTHORIZATION");
    if (h == NULL)
        return request_fail(req, ERR_UNAUTHENTICATED, "Authorization", "missing bearer token");
    if (strncasecmp(h, "Bearer ", 7) != 0)
        return request_fail(req, ERR_UNAUTHENTICATED, "Authorization", "Authorization must be 'Bearer <token>'");
    const char *token = h + 7;
    while (*token == ' ')
        token++;
    size_t len = strlen(token);
    if (len == 0 || len > AUTH_TOKEN_MAX_BYTES)
        return request_fail(req, ERR_UNAUTHENTICATED, "Authorization", "invalid bearer token");
    char hash[65];
    sha256_hex(token, len, hash);
    struct auth_identity id;
    enum err e = auth_lookup(req, hash, &id);
    if (e != ERR_NONE)
        return e;
    if (!id.valid)
        return request_fail(req, ERR_UNAUTHENTICATED, "Authorization", "invalid or revoked bearer token");
    req->auth_ok = true;
    req->auth_admin = id.admin;
    req->auth_user_id = id.user_id;
    return ERR_NONE;
}

enum err auth_require_user(struct request *req, int64_t user_id)
{
    if (!req->auth_ok)
        return request_fail(req, ERR_UNAUTHENTICATED, "Authorization", "missing bearer token");
    if (req->auth_admin || req->auth_user_id == user_id)
        return ERR_NONE;
    return request_fail(req, ERR_FORBIDDEN, NULL, "this token cannot access user %" PRId64, user_id);
}

enum err auth_check(struct request *req, enum route_auth need)
{
    if (need == ROUTE_PUBLIC)
        return ERR_NONE;
    enum err e = auth_authenticate(req);
    if (e != ERR_NONE)
        return e;
    if (need == ROUTE_ADMIN) {
        if (!req->auth_admin)
            return request_fail(req, ERR_FORBIDDEN, NULL, "an admin token is required");
        return ERR_NONE;
    }
    if (router_param(&req->match, "id") == NULL)
        return ERR_NONE;                 /* handler checks the user itself */
    int64_t user_id;
    e = request_path_id(req, "id", &user_id);
    if (e != ERR_NONE)
        return e;
    return auth_require_user(req, user_id);
}

enum err auth_token_create(struct db *db, int64_t user_id, const char *label, char *out, size_t out_cap,
                           int64_t *token_id)
{
    unsigned char raw[32];
    char token[AUTH_TOKEN_MAX_BYTES];
    arc4random_buf(raw, sizeof(raw));
    size_t n = (size_t)snprintf(token, sizeof(token), "%s", AUTH_TOKEN_PREFIX);
    text_hex(raw, sizeof(raw), token + n);
    n += 2 * sizeof(raw);
    if (n + 1 > out_cap)
        return ERR_INTERNAL;
    char hash[65];
    sha256_hex(token, n, hash);
    char uid[32];
    snprintf(uid, sizeof(uid), "%" PRId64, user_id);
    const char *params[4] = {hash, user_id > 0 ? uid : NULL, user_id > 0 ? "f" : "t", label};
    enum err e;
    db_result *res = db_query(db, &e, 0,
                              "INSERT INTO api_tokens (token_hash, user_id, is_admin, label)"
                              " VALUES ($1, $2, $3, $4) RETURNING id",
                              4, params);
    if (res == NULL)
        return e;
    *token_id = db_int64(res, 0, 0);
    db_clear(res);
    memcpy(out, token, n + 1);
    return ERR_NONE;
}

enum err auth_token_revoke(struct db *db, struct cache *cache, int64_t token_id)
{
    char id[32];
    snprintf(id, sizeof(id), "%" PRId64, token_id);
    const char *params[1] = {id};
    enum err e;
    db_result *res = db_query(db, &e, 0,
                              "UPDATE api_tokens SET revoked_at = now()"
                              " WHERE id = $1 AND revoked_at IS NULL RETURNING token_hash",
                              1, params);
    if (res == NULL)
        return e;
    if (db_rows(res) == 0) {
        db_clear(res);
        return ERR_NOT_FOUND;
    }
    cache_delete(cache, "auth", db_value(res, 0, 0), 64);
    db_clear(res);
    return ERR_NONE;
}

/* The request filter: every matched route is authorised here. */
static int auth_filter(struct request *req, struct response *res)
{
    (void)res;
    return auth_check(req, req->match.route->auth);
}

static const char *const auth_cache_namespaces[] = {"auth", NULL};

const struct tally_module auth_module = {
    .name = "auth",
    .cache_namespaces = auth_cache_namespaces,
    .filter = auth_filter,
    .init_child = auth_init_child,
    .free_child = auth_free_child,
};
