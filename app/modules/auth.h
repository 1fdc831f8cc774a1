/* auth: bearer tokens. A token is shown once at creation (tallyctl) and
 * only its SHA-256 is stored. Lookups go worker cache (auth_cache_ttl_s,
 * default 5 s) -> memcached (60 s) -> PostgreSQL, so a request costs no
 * PostgreSQL round trip once warm. Revocation deletes the memcached entry;
 * the worker caches forget it within auth_cache_ttl_s. */
#ifndef TALLY_AUTH_H
#define TALLY_AUTH_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "../core/errors.h"
#include "../core/module.h"
#include "../core/router.h"

struct request;
struct db;
struct cache;

#define AUTH_TOKEN_PREFIX "tly_"
#define AUTH_MEMCACHED_TTL_S 60
#define AUTH_NEGATIVE_TTL_S 10

/* Authenticates and authorises req for a route of the given kind. */
enum err auth_check(struct request *req, enum route_auth need);
/* User-scoped check for handlers whose user id is not a path param. */
enum err auth_require_user(struct request *req, int64_t user_id);

/* tallyctl: creates a token (user_id 0 = admin), writes it (NUL-terminated) into out. */
enum err auth_token_create(struct db *db, int64_t user_id, const char *label, char *out, size_t out_cap,
                           int64_t *token_id);
/* tallyctl: revokes a token by id, and drops it from memcached. */
enum err auth_token_revoke(struct db *db, struct cache *cache, int64_t token_id);

extern const struct tally_module auth_module;

#endif
