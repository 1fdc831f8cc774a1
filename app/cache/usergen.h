/* usergen: per-user cache generations over any cache namespace, the scheme
 * precompute.c uses for the metrics (and which it can move onto): one
 * token entry "g:<uid>" per user (16 random hex) and data entries stored as
 * "<token>\n<value>". A data entry counts only while its token is the
 * user's current one, so replacing the token (usergen_bump) orphans every
 * entry of that user at once - memcached cannot delete by pattern.
 *
 * Freshness argument: a reader takes the token before it reads PostgreSQL
 * and writes back with that token; a writer changes PostgreSQL first and
 * bumps after. So a value read from rows older than a write always carries
 * a token the write has since replaced. A missing token (evicted, memcached
 * restarted) is replaced by a fresh one. A bump that cannot be stored falls
 * back to deleting the token, and a failed delete moves the whole namespace
 * to a new generation (cache_delete), so an unreachable or hung memcached
 * never leaves an old entry readable once it answers again. */
#ifndef TALLY_USERGEN_H
#define TALLY_USERGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache.h"

#define USERGEN_TOKEN_BYTES 17              /* 16 hex + NUL */

/* One round trip: the user's token and `key`. Returns 1 (hit: *value is
 * malloc'd and NUL-terminated, the token stripped), 0 (miss: token holds
 * the token to write back with), -1 (cache unusable: do not write back). */
int usergen_lookup(struct cache *c, const char *ns, int64_t user_id, const char *key, size_t key_len,
                   char token[USERGEN_TOKEN_BYTES], char **value, size_t *value_len);
/* Stores "<token>\n<value>" under key. */
void usergen_put(struct cache *c, const char *ns, const char *key, size_t key_len, const char *token,
                 const char *value, size_t value_len, unsigned ttl_s);
/* Orphans every entry of the user (after the write to PostgreSQL). */
void usergen_bump(struct cache *c, const char *ns, int64_t user_id);

#endif
