/* profiles: the user profile (user_profiles): preferences, habits, recommendation
 * feedback and session statistics. Created on first read. What is derived
 * from transactions (average spending by category, preferred categories and
 * merchants when none were set) is computed on read, so it is always in step
 * with the transactions; the rendered profile is cached in memcached
 * (CACHE_NS_PROFILES) and the entry is deleted by every profile write and by
 * every transaction insert (profiles_invalidate). Completeness formula and
 * thresholds: docs/profiles-metrics.md. */
#ifndef TALLY_PROFILES_H
#define TALLY_PROFILES_H

#include <stddef.h>
#include <stdint.h>

#include "../core/errors.h"
#include "../core/module.h"
#include "../core/router.h"

struct tally_ctx;

#define PROFILES_CACHE_TTL_S        300    /* memcached copy of a rendered profile */
#define PROFILES_PATTERN_THRESHOLD  5      /* an intent asked this many times joins frequent_query_patterns */
#define PROFILES_TOP_PREFERRED      3      /* derived preferred categories / merchants */
#define PROFILES_ID_BYTES           128    /* recommendation ids, intent names */
#define PROFILES_MAX_SESSION_S      604800 /* one session lasts at most a week */
#define PROFILES_MAX_SESSION_QUERIES 100000

/* Records one assistant question of the user: query_frequency[intent] + 1
 * (intent_name NULL or "" counts only in total_queries), the intent joins
 * frequent_query_patterns when its count reaches PROFILES_PATTERN_THRESHOLD
 * (exactly at the 5th occurrence; once), total_queries + 1, last_active =
 * now. Creates the profile if missing. Invalidates the cached profile.
 * Returns 0, or -1 (logged; unknown user, PostgreSQL down, bad intent): the
 * caller's answer should not fail because of it. */
int profiles_record_query(struct tally_ctx *ctx, int64_t user_id, const char *intent_name);

/* The profile as JSON text (malloc'd, caller frees), from memcached or
 * PostgreSQL (get-or-create). ERR_NOT_FOUND (no such user), ERR_UNAVAILABLE. */
enum err profiles_get_json(struct tally_ctx *ctx, int64_t user_id, char **json, size_t *len);

/* Drops the cached profile (after a write, or a transaction insert). */
void profiles_invalidate(struct tally_ctx *ctx, int64_t user_id);

extern const struct tally_module profiles_module;

#endif
