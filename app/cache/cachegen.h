/* cachegen: per-user generations of the memcached copies of metrics,
 * profiles and opportunities, with PostgreSQL as the source of truth, so
 * that no process of any host, after any restart, serves a copy older than
 * the last write.
 *
 * PostgreSQL: metric_generations (sql/015, sql/016) holds per user a
 * metrics, a profile and an opportunity generation and a "synced" flag for
 * each. Triggers bump them and clear the flag in the same transaction as
 * the write (transactions insert, update, delete; user_profiles update;
 * opportunities insert, update, delete), whoever writes: tallyd, a job,
 * tallyctl, psql, a second tallyd on the same pool.
 *
 * memcached: per user and namespace a token `t:<uid>` holding the
 * generation (raised only, never lowered: cache_group_set_max), and entries
 * `"g<generation>\n<value>"`. An entry is served only when its generation
 * equals the token, read in the same round trip (cache_mget).
 *
 * The gap: a writer that cannot reach memcached (or dies) after its commit
 * leaves an older token there. The flag stays cleared, and every process
 * keeps the list of unsynced users, re-read from PostgreSQL at most every
 * CACHEGEN_POLL_MS and at once when a process of this host announces a
 * failure (shared memory); those users' copies are skipped (no read, no
 * write-back) until a process repairs the token and sets the flag. So a
 * memcached hiccup costs the users written meanwhile, not the namespace;
 * on another host (or after a tallyctl write) the window is one poll
 * period. While PostgreSQL cannot be asked, the last list read is used (a
 * process that never read one trusts memcached: it is all there is).
 *
 * A pool of N servers (docs/scale-out.md "memcached pool"):
 *   - Placement: a user's keys - the tokens and every entry, both
 *     namespaces - live on the server owning "u:<uid>" (cache groups,
 *     libmemcached *_by_key). Placed by their own names (before), a read
 *     needed the token's server AND the entry's: with one of three down,
 *     2/3 - 1/9 of the users missed (~56 %, 50-62 % measured by
 *     tests/scale/10_mcpool's load, depending on the lost node's share of
 *     the ring), not the lost node's third.
 *   - Nothing moves: failed servers are never ejected from the ring (cache.c
 *     explains why), so a key has one home for the life of the server list,
 *     on every host that lists the same servers. While its server is out,
 *     the user's reads miss fast (refused, or the timeout breaker open) and
 *     go to PostgreSQL; no copy of the user is written anywhere else.
 *   - A write meanwhile cannot raise the user's token: its commit cleared the
 *     synced flag, the sync fails, the flag stays cleared.
 *   - The server returns. Restarted, it is empty: the token is missing, the
 *     next read misses and writes back PostgreSQL's generation. Resumed
 *     (SIGSTOP, a partition) it still holds the user's old token and old
 *     entry, consistent with each other and older than PostgreSQL; every
 *     process keeps skipping the user (the unsynced list) until one raises
 *     the token on that server (cache_group_set_max: it never goes down) and only
 *     then sets the flag; from then on the old entry's generation is below
 *     the token: a miss. So the old copy is not served by any process whose
 *     list is current; on this host it is current before the next read (the
 *     failed sync announces itself), on another host within
 *     CACHEGEN_POLL_MS: the server would have to come back within that
 *     time of the write and the other host read it in between. The stage
 *     reads the written users continuously from the moment of the return.
 *   - Every host sharing a pool must place keys the same way: a tallyd from
 *     before the groups raises tokens where this one does not look (stop
 *     them all to upgrade).
 *
 * Several hosts on one memcached pool (config cache_shared_hosts,
 * docs/scale-out.md): the poll period is a window in which host B, told
 * nothing by host A, serves the copy A's failed token update left behind
 * once memcached answers again. Closed one of two ways, so that no host
 * serves a copy older than a write acknowledged before the read began:
 *   1  the write waits: a sync that fails holds the answer for
 *      CACHEGEN_POLL_MS + CACHEGEN_ACK_MARGIN_MS, after which the list of
 *      every process of every host that trusts anything was read after
 *      the commit, so it names the user. Readers pay nothing; each write
 *      made while memcached fails holds a worker that long.
 *   2  the read checks: every read a worker would serve from memcached
 *      first asks PostgreSQL for the user's synced flags (one primary-key
 *      SELECT); a cleared flag skips the copy (and repairs the token if
 *      memcached takes it). Writes never wait; every cached read pays a
 *      query.
 * Either way a process whose poll failed (PostgreSQL down) goes on with
 * its last list, as above. */
#ifndef TALLY_CACHEGEN_H
#define TALLY_CACHEGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache.h"

struct db;

#define CACHEGEN_POLL_MS          1000   /* unsynced users re-read at most this often per process */
#define CACHEGEN_POLL_RETRY_MS    5000   /* after a failed poll (PostgreSQL down) */
#define CACHEGEN_PENDING_MAX      1024   /* more unsynced users: the namespaces are skipped whole */
#define CACHEGEN_REPAIRS_PER_POLL 32     /* tokens a poll repairs */

/* After a committed write of the user's data: raises the user's tokens in
 * memcached to the PostgreSQL generations and sets the synced flags. On a
 * memcached failure the flags stay cleared and this host is told. */
void cachegen_sync_user(struct db *db, struct cache *cache, int64_t user_id);

/* false: the user's copies in namespace ns may be stale, or the cache is
 * unusable; do not read or write them. ns: "metrics", "profiles" or
 * "opportunities". May poll PostgreSQL (see above). */
bool cachegen_trusted(struct db *db, struct cache *cache, const char *ns, int64_t user_id);

#define CACHEGEN_ACK_MARGIN_MS    200    /* mode 1: beyond the poll period (a poll's own query time) */

/* This process's mode for several hosts (0: one host; 1, 2: see above),
 * config cache_shared_hosts, set by each worker at start. */
void cachegen_shared_hosts(int mode);

/* One round trip for the user's token and the entry at key. 1: hit, *value
 * (malloc'd, NUL-terminated) is the entry without its generation; 0: miss,
 * *token is the generation memcached holds (0 if none); -1: cache
 * unusable. */
int cachegen_lookup(struct cache *cache, const char *ns, int64_t user_id, const char *key, size_t key_len,
                    uint64_t *token, char **value, size_t *value_len);

/* Writes the entry computed from generation gen (read in the same snapshot
 * as the data) and raises the token to gen when token (from the lookup) is
 * lower. */
void cachegen_put(struct cache *cache, const char *ns, int64_t user_id, const char *key, size_t key_len,
                  uint64_t gen, uint64_t token, const char *value, size_t value_len, unsigned ttl_s);

#endif
