/* auth: bearer-token authentication and the user/admin authorisation rule.
 * See auth.h for the lookup chain. */
#define _GNU_SOURCE
#include "auth.h"
#include "../core/clock.h"
#include "../core/cli.h"
#include "../core/config.h"
#include "../core/module.h"
#include "../cache/cache.h"
#include "../core/limits.h"
#include "../core/request.h"
#include "../core/sha256.h"
#include "../core/text.h"
#include "../core/shm.h"
#include "../store/db.h"
#include "../store/db_json.h"

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
    uint64_t now = clock_mono_ms();
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
    db_param_i64(uid, user_id);
    const char *params[4] = {hash, user_id > 0 ? uid : NULL, user_id > 0 ? "f" : "t", label};
    enum err e;
    /* No row when the user does not exist: ERR_NOT_FOUND, not a foreign-key error. */
    db_result *res = db_query(db, &e, 0,
                              "INSERT INTO api_tokens (token_hash, user_id, is_admin, label)"
                              " SELECT $1, $2::bigint, $3::boolean, $4"
                              " WHERE $2::bigint IS NULL OR EXISTS (SELECT 1 FROM users WHERE id = $2::bigint)"
                              " RETURNING id",
                              4, params);
    if (res == NULL)
        return e;
    if (db_rows(res) == 0) {
        db_clear(res);
        return ERR_NOT_FOUND;
    }
    *token_id = db_int64(res, 0, 0);
    db_clear(res);
    memcpy(out, token, n + 1);
    return ERR_NONE;
}

enum err auth_token_revoke(struct db *db, struct cache *cache, int64_t token_id)
{
    char id[32];
    db_param_i64(id, token_id);
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

/* ---- tallyctl token create | revoke | list ---------------------------------- */

static const char auth_create_syn[] = "token create --user ID | --admin [--label TEXT]";
static const char auth_revoke_syn[] = "token revoke ID";
static const char auth_list_syn[] = "token list [--user ID] [--all]";

static const struct cli_option auth_create_opts[] = {
    {"--user", NULL, CLI_VALUE, "ID", "a token of this user (user routes of that user only)"},
    {"--admin", NULL, CLI_FLAG, NULL, "an admin token (every route)"},
    {"--label", NULL, CLI_VALUE, "TEXT", "a note kept with the token (token list shows it)"},
};
static const struct cli_spec auth_create_spec = {
    .prog = "tallyctl token create", .synopsis = auth_create_syn,
    .summary = "Creates a bearer token and prints it on stdout; it is shown only this once.",
    .options = auth_create_opts, .option_count = 3};
static const struct cli_spec auth_revoke_spec = {
    .prog = "tallyctl token revoke", .synopsis = auth_revoke_syn,
    .summary = "Revokes token ID (its id, as token list and token create show it).",
    .min_args = 1, .max_args = 1, .arg_names = "token ID"};
static const struct cli_option auth_list_opts[] = {
    {"--user", NULL, CLI_VALUE, "ID", "only the tokens of this user"},
    {"--all", NULL, CLI_FLAG, NULL, "revoked tokens too"},
};
static const struct cli_spec auth_list_spec = {
    .prog = "tallyctl token list", .synopsis = auth_list_syn,
    .summary = "Lists the active tokens (tab-separated: id, user or \"admin\", label, created_at, revoked_at)."
               " The time of a token's last use is not recorded.",
    .options = auth_list_opts, .option_count = 2};

static int auth_cli_create(struct tally_ctx *ctx, int argc, char **argv)
{
    const struct cli_spec *spec = &auth_create_spec;
    struct cli_args a;
    int rc = cli_start(spec, argc, argv, &a);
    if (rc != CLI_GO)
        return rc;
    char err[CLI_ERR_BYTES];
    int64_t user_id = 0;
    if (cli_int(spec, &a, "--user", 1, INT64_MAX, 0, &user_id, err, sizeof(err)) != 0)
        return cli_usage_error(spec, "%s", err);
    bool admin = cli_flag(spec, &a, "--admin");
    if ((user_id > 0) == admin)
        return cli_usage_error(spec, "give exactly one of --user ID or --admin");
    char token[128];
    int64_t id;
    enum err e = auth_token_create(ctx->db, user_id, cli_value(spec, &a, "--label"), token, sizeof(token), &id);
    if (e == ERR_NOT_FOUND)
        return cli_fail(spec, "user %" PRId64 " not found", user_id);
    if (e != ERR_NONE)
        return cli_db_fail(spec, ctx->db, e);
    printf("%s\n", token);
    fprintf(stderr, "token %" PRId64 " created for %s; it is shown only once\n", id, admin ? "admin" : "the user");
    return 0;
}

static int auth_cli_revoke(struct tally_ctx *ctx, int argc, char **argv)
{
    const struct cli_spec *spec = &auth_revoke_spec;
    struct cli_args a;
    int rc = cli_start(spec, argc, argv, &a);
    if (rc != CLI_GO)
        return rc;
    char err[CLI_ERR_BYTES];
    int64_t id;
    if (cli_int_text("the token ID", a.args[0], 1, INT64_MAX, &id, err, sizeof(err)) != 0)
        return cli_usage_error(spec, "%s", err);
    enum err e = auth_token_revoke(ctx->db, ctx->cache, id);
    if (e == ERR_NOT_FOUND)
        return cli_fail(spec, "no active token %" PRId64, id);
    if (e != ERR_NONE)
        return cli_db_fail(spec, ctx->db, e);
    printf("token %" PRId64 " revoked\n", id);
    return 0;
}

static int auth_cli_list(struct tally_ctx *ctx, int argc, char **argv)
{
    const struct cli_spec *spec = &auth_list_spec;
    struct cli_args a;
    int rc = cli_start(spec, argc, argv, &a);
    if (rc != CLI_GO)
        return rc;
    char err[CLI_ERR_BYTES];
    int64_t user_id = 0;
    if (cli_int(spec, &a, "--user", 1, INT64_MAX, 0, &user_id, err, sizeof(err)) != 0)
        return cli_usage_error(spec, "%s", err);
    const char *uid = cli_value(spec, &a, "--user");
    const char *params[2] = {uid, cli_flag(spec, &a, "--all") ? "t" : "f"};
    enum err e;
    db_result *r = db_query(ctx->db, &e, DB_RETRY_ON_RECONNECT,
                            "SELECT id, CASE WHEN is_admin THEN 'admin' ELSE user_id::text END AS \"user\", label,"
                            " " DB_SQL_TIMESTAMP("created_at") " AS created_at,"
                            " " DB_SQL_TIMESTAMP("revoked_at") " AS revoked_at"
                            " FROM api_tokens WHERE ($1::bigint IS NULL OR user_id = $1::bigint)"
                            " AND ($2::boolean OR revoked_at IS NULL) ORDER BY id",
                            2, params);
    if (r == NULL)
        return cli_db_fail(spec, ctx->db, e);
    db_write_tsv(r, stdout);
    db_clear(r);
    return 0;
}

static const struct module_command auth_commands[] = {
    {"token create", auth_create_syn, "create a token (printed once on stdout)", auth_cli_create},
    {"token revoke", auth_revoke_syn, "revoke a token by id", auth_cli_revoke},
    {"token list", auth_list_syn, "list tokens: id, user, label, created, revoked", auth_cli_list},
};

/* The request filter: every matched route is authorised here. */
static int auth_filter(struct request *req, struct response *res)
{
    (void)res;
    return auth_check(req, route_auth_of(req->match.route->auth));
}

static const char *const auth_cache_namespaces[] = {"auth", NULL};

const struct tally_module auth_module = {
    .name = "auth",
    .cache_namespaces = auth_cache_namespaces,
    .commands = auth_commands,
    .command_count = sizeof(auth_commands) / sizeof(auth_commands[0]),
    .filter = auth_filter,
    .init_child = auth_init_child,
    .free_child = auth_free_child,
};
